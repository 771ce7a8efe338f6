# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch for this collection's modules: the ``es_*`` connection options (documented once in the
``seclog.falco_efk.elasticsearch`` doc fragment), a client built from them, and pure helpers that read
cluster health and explain why the pods behind a Service are not ready.

The option names avoid kubernetes.core's own username/password/api_key/validate_certs, which mean the
Kubernetes API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import connect

STATUS_RANK = {"green": 0, "yellow": 1, "red": 2}

PROXY_UNAUTHORIZED_HINT = (
    "Either give es_url (an ingress, load balancer or port-forward address) so es_username/es_password or es_api_key "
    "reach Elasticsearch, or enable anonymous health access in the efk role (efk_elasticsearch_anonymous_health: true, "
    "the default), which lets an anonymous user read cluster health.")


def elasticsearch_argument_spec():
    """The ``es_*`` options, as the ``seclog.falco_efk.elasticsearch`` doc fragment documents them."""
    return dict(
        es_url=dict(type="str"),
        es_service=dict(type="str", default="elasticsearch-logging"),
        es_namespace=dict(type="str", default="logging"),
        es_port=dict(type="int", default=9200),
        es_scheme=dict(type="str", default="http", choices=["http", "https"]),
        es_username=dict(type="str"),
        es_password=dict(type="str", no_log=True),
        es_api_key=dict(type="str", no_log=True),
        es_ca_path=dict(type="path"),
        es_validate_certs=dict(type="bool", default=True),
    )


def elasticsearch_constraints():
    """AnsibleModule keyword arguments that go with the ``es_*`` options."""
    return dict(mutually_exclusive=[["es_password", "es_api_key"]], required_by={"es_password": ["es_username"]})


def elasticsearch_client(module, cluster, retry=None, timeout=30):
    """An HttpClient for the ``es_*`` options: ``es_url`` when given, else the Service through the API server proxy.

    ``cluster`` is a module_utils.k8s.Cluster or a callable returning one (only called for the proxy route).
    """
    params = module.params
    return connect(module, url=params.get("es_url"), namespace=params["es_namespace"], service=params["es_service"],
                   port=params["es_port"], scheme=params["es_scheme"], username=params.get("es_username"),
                   password=params.get("es_password"), api_key=params.get("es_api_key"),
                   validate_certs=params["es_validate_certs"], ca_path=params.get("es_ca_path"), cluster=cluster, retry=retry,
                   unauthorized_hint=PROXY_UNAUTHORIZED_HINT, timeout=timeout)


# ---------------------------------------------------------------------------------------------- health
def status_reached(seen, wanted):
    """Whether health ``seen`` is at least as good as ``wanted`` (green > yellow > red)."""
    return seen in STATUS_RANK and STATUS_RANK[seen] <= STATUS_RANK[wanted]


def describe_health(health):
    """One line of a ``_cluster/health`` body, e.g. ``yellow, 1 node(s), 5 unassigned shard(s)``."""
    if not isinstance(health, dict):
        return "no health"
    return "%s, %s node(s), %s unassigned shard(s)" % (health.get("status", "unknown"), health.get("number_of_nodes", "?"),
                                                       health.get("unassigned_shards", "?"))


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


def describe_backing_pods(service, pods):
    """What stands behind a Service: its unready pods named with their reasons, or that none match."""
    meta = service.get("metadata") or {}
    where = "%s/%s" % (meta.get("namespace"), meta.get("name"))
    selector = (service.get("spec") or {}).get("selector")
    if not selector:
        return "Service %s has no selector, so no pods back it." % where
    if not pods:
        return "No pod matches the selector %s of Service %s (is the StatefulSet created?)." % (selector_string(selector), where)
    unready = [describe_pod(p) for p in sorted(pods, key=lambda p: p["metadata"].get("name", "")) if not pod_ready(p)]
    if not unready:
        return "All %d pod(s) behind Service %s are ready." % (len(pods), where)
    return "Pods not ready behind Service %s: %s." % (where, ", ".join(unready))
