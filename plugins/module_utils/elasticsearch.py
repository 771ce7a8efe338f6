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
ALERT_FIELDS = {"rule": "rule", "priority": "priority", "node": "kubernetes.host", "pod": "output_fields.k8s_pod_name"}
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


def shard_failures(body):
    """``<index>: <reason>`` for each shard a search answer says failed (it answered with the other shards' results)."""
    shards = (body or {}).get("_shards") if isinstance(body, dict) else None
    out = []
    for failure in (shards or {}).get("failures") or ():
        if isinstance(failure, dict):
            reason = failure.get("reason") or {}
            out.append("%s: %s" % (failure.get("index", "?"), reason.get("reason", reason) if isinstance(reason, dict) else reason))
    return sorted(set(out))


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


# ---------------------------------------------------------------------------------------------- fields the dashboard aggregates on
def _coverage(entries, index):
    """Whether a field's ``_field_caps`` entries say it is aggregatable in ``index``."""
    for ftype, entry in (entries or {}).items():
        if ftype == "unmapped" or not isinstance(entry, dict):
            continue
        inside = entry.get("indices") is None or index in entry["indices"]
        if inside and (entry.get("aggregatable") or (entry.get("non_aggregatable_indices") and index not in entry["non_aggregatable_indices"])):
            return True
    return False


def _everywhere(entries):
    """Whether a field is aggregatable, with one type, in every index (no unmapped ones)."""
    return (len(entries or {}) == 1 and "unmapped" not in entries
            and all(e.get("aggregatable") and not e.get("non_aggregatable_indices") for e in entries.values()))


def _types(entries):
    return ", ".join("%s in %s" % (ftype, ", ".join(e.get("indices") or ["every index"]))
                     for ftype, e in sorted((entries or {}).items()) if ftype != "unmapped")


def resolve_fields(caps, wanted, index):
    """The field to aggregate on for each of ``wanted``, from a ``_field_caps`` answer (``include_unmapped``) over ``index``.

    A field the efk role's index template maps as keyword is used as it is; one Elasticsearch mapped dynamically (text
    with a ``.keyword`` sub-field, as the 2018 setup or a Fluentd that wrote first left it) through its ``.keyword``.
    Returns ``(resolved, problems, mixed)``: ``resolved`` maps each wanted field to the one to use; ``problems`` names
    the fields neither way aggregates; ``mixed`` names fields whose mapping differs across indices (the one aggregatable
    in the newest index is used: older indices then drop out of the dashboard until they are reindexed or age out).
    """
    fields = (caps or {}).get("fields") or {}
    indices = sorted((caps or {}).get("indices") or [])
    newest = indices[-1] if indices else None
    resolved, problems, mixed = {}, [], []
    for field in wanted:
        candidates = [field, field + ".keyword"] if not field.endswith(".keyword") else [field]
        whole = [name for name in candidates if _everywhere(fields.get(name))]
        if whole:
            resolved[field] = whole[0]
            continue
        recent = [name for name in candidates if newest and _coverage(fields.get(name), newest)]
        if recent:
            resolved[field] = recent[0]
            mixed.append("%s is mapped differently across the %s indices: %s%s. The dashboard uses %s, aggregatable in %s, the "
                         "newest; the alerts of the indices where it is not are left out (Kibana reports their shards as failed). "
                         "Reindex the older indices into the index template's mapping (POST _reindex into a new %s index, then "
                         "delete the old one), or wait until they age out: Fluentd writes a new index each day." % (
                             field, index, _types(fields.get(field)),
                             " (%s: %s)" % (field + ".keyword", _types(fields.get(field + ".keyword"))) if fields.get(field + ".keyword") else "",
                             recent[0], newest, index))
            continue
        seen = _types(fields.get(field)) or "not mapped"
        problems.append("%s: neither %s nor %s.keyword can be aggregated in %s (%s: %s). Map it as keyword (the efk role's index "
                        "template does), or point the visualization at a field that is." % (field, field, field, index, field, seen))
    return resolved, problems, mixed


def field_caps_query(wanted):
    """The query of ``GET <index>/_field_caps`` for ``wanted`` fields and their ``.keyword`` sub-fields."""
    names = []
    for field in wanted:
        names.extend([field] if field.endswith(".keyword") else [field, field + ".keyword"])
    return {"fields": ",".join(names), "include_unmapped": "true", "ignore_unavailable": "true", "allow_no_indices": "true"}
