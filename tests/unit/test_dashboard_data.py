"""The dashboard shows real alerts whatever mapping logstash-* has: with the efk role's index template, with an index
Elasticsearch mapped dynamically before it (text fields with .keyword sub-fields, as the 2018 setup left them), and with
both (a dynamic index from before and a templated one since), on Elasticsearch and Kibana 7.17 and 8.

Each case runs the Kibana stage's own logic in process: falco_alerts_info's look() resolves the fields the visualizations
use from _field_caps, the kibana_objects filter builds the objects on them, the Kibana emulator stores them, and each of the
six visualizations is rendered as Kibana would (its saved search's query, its bucket aggregation) against the Elasticsearch
emulator. The buckets are checked against the documents, and falco_alerts_info's counts against the buckets.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections import Counter

import pytest

from ansible_collections.seclog.falco_efk.plugins.filter.kibana_objects import kibana_objects
from ansible_collections.seclog.falco_efk.plugins.module_utils import saved_objects as so
from ansible_collections.seclog.falco_efk.plugins.module_utils.elasticsearch import ALERT_FIELDS
from ansible_collections.seclog.falco_efk.plugins.modules import falco_alerts_info
import efk_template
from localcluster.alerts import AlertStream, FalcoPod, dedot
from localcluster.elasticsearch import Elasticsearch
from localcluster.kibana import Kibana, broken_objects, run_visualization

ADMIN = "Basic " + base64.b64encode(b"elastic:changeme").decode()
HEADERS = {"kbn-xsrf": "true", "Content-Type": "application/json", "Authorization": ADMIN}
OLD, NEW = "logstash-2023.11.13", "logstash-2023.11.14"
DAY = 86400
START = 1699920000  # 2023-11-14T00:00:00Z
PODS = [FalcoPod(node="node-%d" % n, pod_name="falco-x%d" % n, namespace="falco", pod_uid="uid-%d" % n,
                 container_id="containerd://" + str(n) * 64) for n in (1, 2)]
SEARCH_FIELDS = ["rule", "priority", "kubernetes.host", "output_fields.k8s_pod_name"]
PROFILES = [("7.17", "7.17.29"), ("8", "8.19.10")]


def alerts(start):
    """Ten minutes of Falco alerts on two nodes (the event generator on node-1), as the efk role's Fluentd stores them."""
    return [dedot(d) for d in AlertStream(seed=7).alerts(PODS, start, start + 600, frozenset({"node-1"}))]


def app_logs(start, count=200):
    """Other containers' lines, which Fluentd ships to the same indices (the background significant_terms compares with)."""
    return [{"@timestamp": "%sZ" % _iso(start + i), "stream": "stdout", "log": "GET /healthz 200",
             "kubernetes": {"container_name": "web", "namespace_name": "shop", "pod_name": "web-%d" % (i % 3), "host": "node-%d" % (i % 2 + 1)}}
            for i in range(count)]


def _iso(epoch):
    import datetime  # pylint: disable=import-outside-toplevel
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000")


def seed(es, case):
    """The indices of one case; the documents of each index, by index name."""
    docs = {}
    if case in ("dynamic", "mixed"):
        start = START - DAY if case == "mixed" else START
        name = OLD if case == "mixed" else NEW
        docs[name] = alerts(start) + app_logs(start)
        assert all("error" not in i["index"] for i in es.index_documents(name, docs[name]))
    if case in ("template", "mixed"):
        efk_template.install(es, ADMIN)
        docs[NEW] = alerts(START) + app_logs(START)
        assert all("error" not in i["index"] for i in es.index_documents(NEW, docs[NEW]))
    return docs


class EsSearch:
    """falco_alerts_info's Search, straight to the Elasticsearch emulator."""

    via = "elasticsearch"

    def __init__(self, es):
        self.es = es

    def call(self, method, path, query=None, body=None, deadline=None):  # pylint: disable=unused-argument
        target = "/" + path + ("?" + urllib.parse.urlencode(query) if query else "")
        answer = self.es.handle(method, target, {"Authorization": ADMIN, "Content-Type": "application/json"},
                                json.dumps(body).encode() if body is not None else b"")
        assert answer.status == 200, answer.body
        return answer.json()


def look(es):
    """What falco_alerts_info sees (as the Kibana stage asks it: resolve the visualizations' fields, count the alerts)."""
    params = {"index": "logstash-*", "since": "3650d", "top": 20, "query": None, "resolve_fields": SEARCH_FIELDS}
    _indices, exists, total, counts, _others, resolution, failed = falco_alerts_info.look(EsSearch(es), params, dict(ALERT_FIELDS), None)
    assert exists
    # The older index of the mixed case is left out, and said to be.
    assert [f.split(":")[0] for f in failed] == ([OLD] if OLD in es.resolve_names("logstash-*") and resolution[2] else [])
    return total, counts, resolution


def top(counter, size):
    """A terms aggregation's buckets: the most frequent first, ties by key (as Elasticsearch orders _count desc)."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:size])


def value(doc, field):
    node = doc
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@pytest.fixture(name="stack", params=[(p, v, c) for p, v in PROFILES for c in ("template", "dynamic", "mixed")],
                ids=lambda p: "%s-%s" % (p[0], p[2]))
def fixture_stack(request):
    profile, version, case = request.param
    es = Elasticsearch(profile, clock=lambda: START + DAY)
    docs = seed(es, case)
    total, counts, (resolved, problems, mixed) = look(es)
    kibana = Kibana(profile, es=es)
    for obj in kibana_objects(so.DEFAULT_SPEC, version, resolved):
        body = json.dumps({"attributes": obj["attributes"], "references": obj["references"]}).encode()
        answer = kibana.handle("POST", "/api/saved_objects/%s/%s?overwrite=true" % (obj["type"], obj["id"]), HEADERS, body)
        assert answer.status == 200, answer.body
    return {"case": case, "profile": profile, "es": es, "kibana": kibana, "docs": docs, "total": total, "counts": counts,
            "resolved": resolved, "problems": problems, "mixed": mixed}


def test_fields_resolve_to_what_elasticsearch_can_aggregate(stack):
    suffix = ".keyword" if stack["case"] == "dynamic" else ""
    assert stack["resolved"] == {f: f + suffix for f in SEARCH_FIELDS}
    assert stack["problems"] == []
    if stack["case"] == "mixed":
        assert len(stack["mixed"]) == len(SEARCH_FIELDS)
        assert all("Reindex the older indices" in m and NEW in m for m in stack["mixed"]), stack["mixed"]
        assert stack["mixed"][0].startswith(
            "kubernetes.host is mapped differently across the logstash-* indices: keyword in %s, text in %s (kubernetes.host.keyword: "
            "keyword in %s). The dashboard uses kubernetes.host, aggregatable in %s, the newest;" % (NEW, OLD, OLD, NEW)), stack["mixed"][0]
    else:
        assert stack["mixed"] == []


def test_no_object_is_broken_in_kibana(stack):
    assert broken_objects(stack["kibana"]) == []


def test_every_visualization_aggregates_the_alerts(stack):
    """Each of the six visualizations, rendered as Kibana renders it, counts the Falco alerts of the indices it can read."""
    def falco_in(names):
        return [d for name in names for d in stack["docs"][name] if value(d, "kubernetes.container_name") == "falco"]
    every = falco_in(sorted(stack["docs"]))
    falco = falco_in([NEW])  # in the mixed case the older index fails its shard where a field is text there
    answers = {}
    for item in so.DEFAULT_SPEC["visualizations"]:
        answer = run_visualization(stack["kibana"], item["id"])
        answers[item["id"]] = answer
        buckets = answer["aggregations"]["2"]["buckets"]
        assert buckets, item["id"]
        if item.get("kind") in so.TIME_KINDS:
            # @timestamp is a date in every index: the chart over time counts every alert.
            assert answer["_shards"]["failed"] == 0
            assert answer["hits"]["total"]["value"] == sum(b["doc_count"] for b in buckets) == len(every)
            continue
        if stack["case"] == "mixed":
            # The older, dynamically mapped index fails its shard (a text field); Kibana shows the newer one's data and the failure.
            assert answer["_shards"]["failed"] == 1 and answer["_shards"]["failures"][0]["index"] == OLD, answer["_shards"]
            assert "Text fields are not optimised" in json.dumps(answer["_shards"]["failures"]) or \
                "Fielddata is disabled on text fields" in json.dumps(answer["_shards"]["failures"])
        else:
            assert answer["_shards"]["failed"] == 0
        assert answer["hits"]["total"]["value"] == len(falco), item["id"]
        field = item["field"]
        expected = Counter(value(d, field) for d in falco if value(d, field) is not None)
        got = {b["key"]: b["doc_count"] for b in buckets}
        if item.get("agg") == "significant_terms":
            # The runbook's pod table: the pods whose share of the alerts exceeds their share of all the log lines.
            assert set(got) <= set(expected) and all(got[k] == expected[k] for k in got), (got, expected)
        else:
            assert got == top(expected, item.get("size", 10)), item["id"]
    # falco_alerts_info agrees with the dashboard: the same total and the same top rules, priorities, nodes and pods.
    assert stack["total"] == len(falco)
    by_rule = {c["key"]: c["count"] for c in stack["counts"]["rule"]}
    assert by_rule == {b["key"]: b["doc_count"] for b in answers["seclog-falco-top-rules-table"]["aggregations"]["2"]["buckets"]}
    assert {c["key"]: c["count"] for c in stack["counts"]["priority"]} == \
        {b["key"]: b["doc_count"] for b in answers["seclog-falco-priorities-pie"]["aggregations"]["2"]["buckets"]}
    assert {c["key"]: c["count"] for c in stack["counts"]["node"]} == \
        {b["key"]: b["doc_count"] for b in answers["seclog-falco-nodes-table"]["aggregations"]["2"]["buckets"]}
    assert {c["key"]: c["count"] for c in stack["counts"]["pod"]} == top(
        Counter(value(d, "output_fields.k8s_pod_name") for d in falco if value(d, "output_fields.k8s_pod_name")), 20)


def test_after_reindexing_the_older_index_the_dashboard_covers_both_days():
    """The remedy the mixed-mapping report gives: reindex the older index into one the template maps, drop the older one."""
    es = Elasticsearch("8", clock=lambda: START + DAY)
    docs = seed(es, "mixed")
    headers = {"Authorization": ADMIN, "Content-Type": "application/json"}
    for method, path, body in (("POST", "/_reindex", {"source": {"index": OLD}, "dest": {"index": OLD + "-reindexed"}}),
                               ("DELETE", "/" + OLD, None)):
        answer = es.handle(method, path, headers, json.dumps(body).encode() if body else b"")
        assert answer.status == 200, answer.body
    total, _counts, (resolved, problems, mixed) = look(es)
    assert (resolved, problems, mixed) == ({f: f for f in SEARCH_FIELDS}, [], [])
    falco = [d for name in (OLD, NEW) for d in docs[name] if value(d, "kubernetes.container_name") == "falco"]
    assert total == len(falco)
