# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch for this collection's modules: the ``es_*`` connection options (documented once in the
``seclog.falco_efk.elasticsearch`` doc fragment), a client built from them, and pure helpers that read
cluster health.

The option names avoid kubernetes.core's own username/password/api_key/validate_certs, which mean the
Kubernetes API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import connect
# The pod diagnostics moved to module_utils.k8s (Kibana uses them too); still importable from here.
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import (  # noqa: F401 pylint: disable=unused-import
    describe_backing_pods, describe_pod, pod_ready, selector_string)

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
