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
import traceback

from ansible.module_utils.basic import missing_required_lib

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
            raise ClusterError("Could not reach the Kubernetes API server: %s. Check the server address in the kubeconfig, the "
                               "network, and that the cluster is up." % exc)
        except Exception as exc:  # pylint: disable=broad-except
            # kubernetes' config loader raises plain exceptions for a missing or broken kubeconfig.
            raise ClusterError("Could not load the Kubernetes configuration: %s. Check kubeconfig/context (or K8S_AUTH_* "
                               "variables)." % exc)

    def request(self, method, path, body=None, **params):
        """One request; returns the decoded JSON body. Raises ClusterError with the server's own message."""
        self.requests += 1
        try:
            # serialize=False: the raw answer, since discovery and reviews are not ResourceInstances.
            answer = self.client.request(method, path, body=body, serialize=False, **params)
        except ApiException as exc:
            raise _api_error(method, path, exc)
        except (Urllib3Error, OSError) as exc:
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


def _api_error(method, path, exc):
    message = exc.reason
    body = None
    try:
        body = json.loads(exc.body)
        message = body.get("message") or message
    except (TypeError, ValueError):
        pass
    hint = {401: " The credentials were refused: check the token or client certificate in the kubeconfig.",
            403: " Your user lacks this right; see the preflight's rbac findings or ask a cluster administrator."}.get(exc.status, "")
    return ClusterError("%s %s failed (%s): %s.%s" % (method, path, exc.status, message, hint), exc.status, body)
