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

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import (
    connect_endpoint, endpoint_argument_spec, endpoint_constraints)
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
    return endpoint_argument_spec("es_", "elasticsearch-logging", 9200)


def elasticsearch_constraints():
    """AnsibleModule keyword arguments that go with the ``es_*`` options."""
    return endpoint_constraints("es_")


def elasticsearch_client(module, cluster, retry=None, timeout=30):
    """An HttpClient for the ``es_*`` options: ``es_url`` when given, else the Service through the API server proxy.

    ``cluster`` is a module_utils.k8s.Cluster or a callable returning one (only called for the proxy route).
    """
    return connect_endpoint(module, "es_", cluster, retry=retry, unauthorized_hint=PROXY_UNAUTHORIZED_HINT, timeout=timeout)


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


# ---------------------------------------------------------------------------------------------- Falco alerts
# Falco's own lines as Fluentd stores them: the falco container's log, with the JSON alert's keys lifted to the top.
FALCO_ALERTS_QUERY = {"bool": {"filter": [{"term": {"kubernetes.container_name": "falco"}}, {"exists": {"field": "rule"}}]}}
# What the runbook's dashboard counts by, as the efk role's index template maps them (keyword, no .keyword sub-field).
ALERT_FIELDS = {"rule": "rule", "priority": "priority", "node": "kubernetes.host", "pod": "output_fields.k8s.pod.name"}
# Elasticsearch date math units (y M w d h H m s), one amount: 15m, 2h, 1d.
SINCE_UNITS = "yMwdhHms"
TEXT_FIELD_MARKERS = ("Text fields are not optimised", "Fielddata is disabled on text fields")


def valid_since(since):
    """Whether ``since`` is one date math amount Elasticsearch reads after ``now-`` (``15m``, ``2h``, ``1d``)."""
    return bool(since) and since[-1] in SINCE_UNITS and since[:-1].isdigit() and int(since[:-1]) > 0


def alerts_search_body(since, fields, top, query=None, timestamp_field="@timestamp"):
    """One ``_search`` body: no hits, the exact total, a range on ``timestamp_field`` since ``now-<since>``, ``query``
    (default: Falco's alerts) and a terms aggregation of the ``top`` values per entry of ``fields`` (name -> field)."""
    window = {"range": {timestamp_field: {"gte": "now-%s" % since}}}
    aggs = dict((name, {"terms": {"field": field, "size": top}}) for name, field in sorted(fields.items()))
    return {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [window, query or FALCO_ALERTS_QUERY]}},
            "aggs": aggs}


def search_total(body):
    """``hits.total`` of a search answer: a number on 6.x, ``{value, relation}`` since 7.0; 0 when absent."""
    total = ((body or {}).get("hits") or {}).get("total") if isinstance(body, dict) else None
    if isinstance(total, dict):
        total = total.get("value")
    return int(total) if isinstance(total, int) else 0


def alert_counts(body, names):
    """(total, {name: [{key, count}]}, {name: count beyond the top}) from an ``alerts_search_body`` answer."""
    aggregations = (body or {}).get("aggregations") or {} if isinstance(body, dict) else {}
    counts, others = {}, {}
    for name in names:
        agg = aggregations.get(name) or {}
        counts[name] = [{"key": b.get("key_as_string", b.get("key")), "count": int(b.get("doc_count", 0))}
                        for b in agg.get("buckets") or () if isinstance(b, dict)]
        others[name] = int(agg.get("sum_other_doc_count") or 0)
    return search_total(body), counts, others


def searched_shards(body):
    """How many shards a search ran on (0 when no index matched the pattern)."""
    shards = (body or {}).get("_shards") if isinstance(body, dict) else None
    return int((shards or {}).get("total") or 0)


def text_field_error(message):
    """Whether Elasticsearch refused an aggregation because the field is ``text`` (no doc values)."""
    return any(marker in (message or "") for marker in TEXT_FIELD_MARKERS)


def console_proxy_query(method, path, query=None):
    """The query of Kibana's ``POST /api/console/proxy`` for an Elasticsearch request: ``path`` (with its own query
    string) and ``method``."""
    from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import encode_query
    encoded = encode_query(query)
    return {"path": path.lstrip("/") + ("?" + encoded if encoded else ""), "method": method}


def console_proxy_status(status, headers):
    """Elasticsearch's status behind a console proxy answer: Kibana 8.x answers 200 and puts it in
    ``x-console-proxy-status-code``; 6.x and 7.x answer with it."""
    found = (headers or {}).get("x-console-proxy-status-code")
    try:
        return int(found) if found else status
    except ValueError:
        return status
