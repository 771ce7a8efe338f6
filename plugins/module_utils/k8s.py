# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes side of this collection's modules: auth options as kubernetes.core defines them,
one client per module run, raw JSON requests and paginated lists, and errors that say what failed.

Auth options, their environment variables (K8S_AUTH_*) and the client itself come from
kubernetes.core, so one ``module_defaults`` block (``group/seclog.falco_efk.efk``) configures our
modules and kubernetes.core's alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import is_certificate_failure

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    KUBERNETES_CORE_IMPORT_ERROR = None
except ImportError:
    AUTH_ARG_SPEC = {}
    KUBERNETES_CORE_IMPORT_ERROR = traceback.format_exc()

try:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    ApiException = Urllib3Error = None
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


# The collection's retry policy, the same as its kubernetes.core tasks' (tests/unit/test_retry_policy.py): kube-apiserver
# answers 429 (API Priority and Fairness, max-in-flight) before it does anything, with Retry-After, and a load balancer or
# an apiserver restarting answers 502, 503 or 504 for a moment. client-go waits and sends the request again, whatever its
# verb; the kubernetes client's urllib3 retries only reads. Three more attempts, as the tasks' retries: 3.
RETRY_STATUSES = (429, 502, 503, 504)
RETRY_ATTEMPTS = 4
RETRY_DELAY = 2
MAX_RETRY_AFTER = 5


CERTIFICATE_ADVICE = ("The API server's TLS certificate did not verify against the CA this client trusts. Give the cluster's CA: "
                      "certificate-authority or certificate-authority-data in the kubeconfig's cluster entry, or ca_cert "
                      "(K8S_AUTH_SSL_CA_CERT); validate_certs: false (K8S_AUTH_VERIFY_SSL=false) skips the check, not for production.")


class ClusterError(Exception):
    """A request the cluster refused or that never reached it, worded for the user."""

    def __init__(self, message, status=None, body=None):
        super(ClusterError, self).__init__(message)
        self.status = status
        self.body = body


def auth_argument_spec():
    """kubernetes.core's connection options (kubeconfig, context, host, api_key, ...)."""
    return dict((name, dict(spec)) for name, spec in AUTH_ARG_SPEC.items())


def check_libraries(module):
    """Fail the module with install advice when kubernetes.core or the kubernetes client is missing."""
    if KUBERNETES_CORE_IMPORT_ERROR:
        module.fail_json(msg="The kubernetes.core collection (5.0.0 or newer) is required: ansible-galaxy collection install "
                             "kubernetes.core, or pip install ansible.", exception=KUBERNETES_CORE_IMPORT_ERROR)
    if KUBERNETES_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)


class Cluster:
    """A connection to the API server for one module run, counting the requests it makes."""

    def __init__(self, module):
        check_libraries(module)
        self.requests = 0
        self.sleep = time.sleep
        auth = dict((name, module.params.get(name)) for name in AUTH_ARG_SPEC)
        kubeconfig = auth.get("kubeconfig") or os.environ.get("K8S_AUTH_KUBECONFIG")
        if isinstance(kubeconfig, str):
            missing = [path for path in kubeconfig.split(os.pathsep) if not os.path.exists(os.path.expanduser(path))]
            if missing:
                # The path itself is masked in module output (kubeconfig is no_log: it may hold credentials).
                raise ClusterError("The kubeconfig file given in 'kubeconfig' (or K8S_AUTH_KUBECONFIG) does not exist. Point it at "
                                   "your cluster's kubeconfig file.")
        try:
            self.client = get_api_client(**auth).client
        except CoreException as exc:
            raise ClusterError("Could not connect to Kubernetes: %s. Check kubeconfig/context (or K8S_AUTH_* variables)."
                               % str(exc).rstrip("."))
        except (Urllib3Error, OSError) as exc:
            # The client asks the server for /version while it is being built.
            if is_certificate_failure(exc):
                raise ClusterError("Could not reach the Kubernetes API server: %s. %s" % (exc, CERTIFICATE_ADVICE))
            raise ClusterError("Could not reach the Kubernetes API server: %s. Check the server address in the kubeconfig, the "
                               "network, and that the cluster is up." % exc)
        except Exception as exc:  # pylint: disable=broad-except
            # kubernetes' config loader raises plain exceptions for a missing or broken kubeconfig.
            raise ClusterError("Could not load the Kubernetes configuration: %s. Check kubeconfig/context (or K8S_AUTH_* "
                               "variables)." % exc)

    def request(self, method, path, body=None, **params):
        """One request (sent again after a 429, 502, 503 or 504, as client-go does); returns the decoded JSON body. Raises ClusterError
        with the server's own message."""
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                # serialize=False: the raw answer, since discovery and reviews are not ResourceInstances.
                answer = self.client.request(method, path, body=body, serialize=False, **params)
                break
            except ApiException as exc:
                if exc.status in RETRY_STATUSES and attempt < RETRY_ATTEMPTS:
                    self.sleep(retry_after(exc.headers, default=1 if exc.status == 429 else RETRY_DELAY))
                    continue
                raise _api_error(method, path, exc, attempt)
            except (Urllib3Error, OSError) as exc:
                if is_certificate_failure(exc):
                    raise ClusterError("%s %s: %s. %s" % (method, path, exc, CERTIFICATE_ADVICE))
                raise ClusterError("%s %s did not reach the API server: %s" % (method, path, exc))
        try:
            return json.loads(answer.data)
        except ValueError:
            raise ClusterError("%s %s answered with something other than JSON: %r" % (method, path, answer.data[:200]))

    def get(self, path, **params):
        """GET a path; None when it answers 404."""
        try:
            return self.request("GET", path, **params)
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    def list_all(self, path, page_size=500, **params):
        """Every item of a list, fetched ``page_size`` at a time; returns (items, pages)."""
        items, token, pages = [], None, 0
        while True:
            answer = self.request("GET", path, limit=page_size, _continue=token, **params)
            pages += 1
            items.extend(answer.get("items") or ())
            token = (answer.get("metadata") or {}).get("continue")
            if not token:
                return items, pages


def discover(cluster, groups=None):
    """What the server serves: (``/version``, every group version, resources of the group versions asked for).

    ``groups`` limits which API groups get their resource lists read (one request per group version);
    None reads them all. Resources are ``{"name", "kind", "namespaced"}``, subresources left out.
    """
    version = cluster.request("GET", "/version")
    resources = {"v1": _resources(cluster.request("GET", "/api/v1"))}
    versions = ["v1"]
    for group in cluster.request("GET", "/apis").get("groups", ()):
        for entry in group.get("versions", ()):
            versions.append(entry["groupVersion"])
            if groups is None or group["name"] in groups:
                resources[entry["groupVersion"]] = _resources(cluster.get("/apis/" + entry["groupVersion"]) or {})
    return version, versions, resources


def _resources(resource_list):
    return [{"name": r["name"], "kind": r["kind"], "namespaced": r.get("namespaced", False)}
            for r in resource_list.get("resources", ()) if "/" not in r["name"]]


def retry_after(headers, default=1, limit=MAX_RETRY_AFTER):
    """Seconds a Retry-After header asks to wait (a number; 1 when absent or a date), at most ``limit``."""
    value = None
    for name, found in (headers or {}).items():
        if str(name).lower() == "retry-after":
            value = found
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = default
    return min(max(seconds, 0), limit)


def _api_error(method, path, exc, attempts=1):
    message = exc.reason
    body = None
    try:
        body = json.loads(exc.body)
        message = body.get("message") or message
    except (TypeError, ValueError):
        pass
    hint = {401: " The credentials were refused: check the token or client certificate in the kubeconfig.",
            403: " Your user lacks this right; see the preflight's rbac findings or ask a cluster administrator."}.get(exc.status, "")
    tries = " (%d attempts)" % attempts if attempts > 1 else ""
    return ClusterError("%s %s failed (%s)%s: %s.%s" % (method, path, exc.status, tries, message, hint), exc.status, body)


class LazyCluster:
    """One Cluster per module run, built on first call; a connection failure is kept and raised again.

    For modules that reach a service by URL and need the Kubernetes API only for the proxy route or diagnostics.
    """

    def __init__(self, module):
        self.module = module
        self.cluster = None
        self.error = None

    def __call__(self):
        if self.cluster is None and self.error is None:
            try:
                self.cluster = Cluster(self.module)
            except ClusterError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error
        return self.cluster


def diagnose_service(clusters, namespace, service, namespace_option, workload):
    """Why a Service has no ready backend, in a sentence or two; never raises.

    ``clusters`` is a LazyCluster; ``namespace_option`` names the option that chose the namespace and ``workload``
    the kind that should create the pods, for the hints.
    """
    try:
        cluster = clusters()
        found = cluster.get("/api/v1/namespaces/%s/services/%s" % (namespace, service))
        if found is None:
            return "Service %s/%s does not exist (is the efk role applied, and %s right?)." % (namespace, service, namespace_option)
        selector = (found.get("spec") or {}).get("selector") or {}
        pods = []
        if selector:
            pods = cluster.list_all("/api/v1/namespaces/%s/pods" % namespace, label_selector=selector_string(selector))[0]
        return describe_backing_pods(found, pods, workload)
    except ClusterError as exc:
        return "The pods behind Service %s/%s could not be checked: %s" % (namespace, service, str(exc).rstrip(".") + ".")


# ---------------------------------------------------------------------------------------------- pods behind a Service
def selector_string(selector):
    """``a=b,c=d`` for a Service's selector (a plain label map)."""
    return ",".join("%s=%s" % (key, selector[key]) for key in sorted(selector or {}))


def pod_ready(pod):
    """Whether the pod's Ready condition is True."""
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def describe_pod(pod):
    """Why a pod is not ready, e.g. ``es-1 (Pending: 0/3 nodes are available: 3 Insufficient memory)``."""
    name = (pod.get("metadata") or {}).get("name", "?")
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "%s (Terminating)" % name
    phase = status.get("phase") or "Unknown"
    details = []
    scheduled = next((c for c in status.get("conditions") or () if c.get("type") == "PodScheduled"), None)
    if scheduled and scheduled.get("status") == "False":
        details.append((scheduled.get("message") or scheduled.get("reason") or "not scheduled").strip().rstrip("."))
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in status.get(key) or ():
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
                details.append("container %s %s%s" % (container.get("name"), waiting.get("reason"),
                                                      ": " + waiting["message"].strip().rstrip(".") if waiting.get("message") else ""))
            elif terminated and terminated.get("exitCode"):
                details.append("container %s exited %s%s" % (container.get("name"), terminated.get("exitCode"),
                                                             " (%s)" % terminated["reason"] if terminated.get("reason") else ""))
            elif key == "containerStatuses" and state.get("running") and not container.get("ready"):
                details.append("container %s running, not ready" % container.get("name"))
    if not details and status.get("reason"):
        details.append(status.get("message") or status["reason"])
    return "%s (%s%s)" % (name, phase, ": " + "; ".join(details) if details else "")


def describe_backing_pods(service, pods, workload="StatefulSet"):
    """What stands behind a Service: its unready pods named with their reasons, or that none match
    (``workload``, the kind meant to create them, goes into that hint)."""
    meta = service.get("metadata") or {}
    where = "%s/%s" % (meta.get("namespace"), meta.get("name"))
    selector = (service.get("spec") or {}).get("selector")
    if not selector:
        return "Service %s has no selector, so no pods back it." % where
    if not pods:
        return "No pod matches the selector %s of Service %s (is the %s created?)." % (selector_string(selector), where, workload)
    unready = [describe_pod(p) for p in sorted(pods, key=lambda p: p["metadata"].get("name", "")) if not pod_ready(p)]
    if not unready:
        return "All %d pod(s) behind Service %s are ready." % (len(pods), where)
    return "Pods not ready behind Service %s: %s." % (where, ", ".join(unready))
