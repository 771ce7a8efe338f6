"""The emulated Elasticsearch: engine behaviour, and the official clients (elasticsearch7, elasticsearch8) over HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request

import elasticsearch7
import elasticsearch8
import pytest

from localcluster.elasticsearch import Elasticsearch, ElasticsearchServer, EsError, date_math, parse_date
from localcluster.hooks import Fault, Hooks

PASSWORD = "s3cret-pw"
NOW = parse_date("2024-05-01T12:00:00Z")


def alert(rule: str, priority: str, when: str, pod: str = "web-1", container: str = "falco") -> dict:
    """A Falco alert as Fluentd stores it."""
    return {"@timestamp": when, "rule": rule, "priority": priority, "output": f"{rule} (user=root)",
            "output_fields": {"k8s.pod.name": pod, "evt.time": 1714564800000000000, "proc.cmdline": "bash -i"},
            "kubernetes": {"container_name": container, "host": "node-1"}, "tags": ["shell", "mitre_execution"]}


ALERTS = [alert("Terminal shell in container", "Notice", "2024-05-01T11:58:10.123456789Z"),
          alert("Terminal shell in container", "Notice", "2024-05-01T11:58:40Z", pod="web-2"),
          alert("Write below etc", "Error", "2024-05-01T11:59:05Z"),
          alert("Read sensitive file untrusted", "Warning", "2024-05-01T10:00:00Z", container="nginx")]


@pytest.fixture(name="engine")
def engine_fixture() -> Elasticsearch:
    """An 8.x engine holding the four alerts in logstash-2024.05.01."""
    eng = Elasticsearch("8", elastic_password=PASSWORD, clock=lambda: NOW / 1000)
    eng.index_documents("logstash-2024.05.01", ALERTS)
    return eng


def hits(result: dict) -> list[str]:
    """Rules of the hits, in order."""
    return [h["_source"]["rule"] for h in result["hits"]["hits"]]


# ------------------------------------------------------------------ dynamic mapping
def test_strings_map_to_text_with_keyword_subfield(engine):
    caps = engine.field_caps("logstash-*")
    assert caps["rule"] == {"type": "text", "searchable": True, "aggregatable": False}
    assert caps["rule.keyword"] == {"type": "keyword", "searchable": True, "aggregatable": True}


@pytest.mark.parametrize("field_name,expected", [("@timestamp", "date"), ("output_fields.evt.time", "long"), ("tags.keyword", "keyword"),
                                                 ("output_fields.k8s.pod.name.keyword", "keyword"), ("kubernetes.host", "text")])
def test_dynamic_mapping_types(engine, field_name, expected):
    assert engine.field_caps("logstash-*")[field_name]["type"] == expected


def test_dotted_keys_become_object_paths_and_parents_are_left_out_of_field_caps(engine):
    caps = engine.field_caps("logstash-*")
    assert "output_fields.k8s.pod.name" in caps
    assert "output_fields.k8s" not in caps and "output_fields" not in caps


def test_floats_and_booleans_map_to_float_and_boolean():
    eng = Elasticsearch("8")
    eng.index_documents("x", [{"ratio": 0.5, "ok": True, "when": "not-a-date"}])
    caps = eng.field_caps("x")
    assert (caps["ratio"]["type"], caps["ok"]["type"], caps["when"]["type"]) == ("float", "boolean", "text")


def test_value_that_does_not_fit_the_mapping_fails_the_item():
    eng = Elasticsearch("8")
    eng.index_documents("x", [{"n": 1}])
    items = eng.index_documents("x", [{"n": "abc"}])
    error = items[0]["index"]["error"]
    assert items[0]["index"]["status"] == 400 and error["type"] == "document_parsing_exception"
    assert "failed to parse field [n] of type [long]" in error["reason"]


def test_total_fields_limit_is_enforced_with_the_real_message():
    eng = Elasticsearch("8", security=False)
    eng.handle("PUT", "/small", {}, json.dumps({"settings": {"index.mapping.total_fields.limit": 3}}).encode())
    items = eng.index_documents("small", [{"a": "x", "b": "y"}])  # 2 text + 2 keyword sub-fields = 4
    assert items[0]["index"]["error"]["type"] == "illegal_argument_exception"
    assert items[0]["index"]["error"]["reason"] == "Limit of total fields [3] has been exceeded while adding new fields [4]"


# ------------------------------------------------------------------ templates
def test_composable_template_with_highest_priority_applies_settings_mappings_and_dynamic_templates():
    eng = Elasticsearch("8", security=False)
    low = {"index_patterns": ["logstash-*"], "priority": 1, "template": {"settings": {"number_of_replicas": 2}}}
    high = {"index_patterns": ["logstash-*"], "priority": 5, "template": {
        "settings": {"index": {"number_of_replicas": 0}},
        "mappings": {"dynamic_templates": [{"ids": {"match_mapping_type": "string", "match": "*_id", "mapping": {"type": "keyword"}}},
                                           {"pods": {"path_match": "output_fields.k8s.*", "mapping": {"type": "keyword"}}}],
                     "properties": {"priority": {"type": "keyword"}}}}}
    assert eng.handle("PUT", "/_index_template/low", {}, json.dumps(low).encode()).status == 200
    assert eng.handle("PUT", "/_index_template/high", {}, json.dumps(high).encode()).status == 200
    eng.index_documents("logstash-1", [{"container_id": "abc", "priority": "Notice", "output_fields": {"k8s.pod.name": "p"}}])
    caps = eng.field_caps("logstash-1")
    assert caps["container_id"]["type"] == "keyword" and caps["priority"]["type"] == "keyword"
    assert caps["output_fields.k8s.pod.name"]["type"] == "keyword"
    assert eng.cluster_health("logstash-1")["status"] == "green"


def test_same_priority_overlapping_templates_are_refused():
    eng = Elasticsearch("8", security=False)
    eng.handle("PUT", "/_index_template/a", {}, b'{"index_patterns": ["logs-x*"]}')
    response = eng.handle("PUT", "/_index_template/b", {}, b'{"index_patterns": ["logs-x*"]}')
    assert response.status == 400
    assert "that have the same priority [0], multiple index templates may not match" in response.json()["error"]["reason"]


def test_legacy_template_on_8_works_with_a_deprecation_warning():
    eng = Elasticsearch("8", security=False)
    response = eng.handle("PUT", "/_template/old", {}, b'{"index_patterns": ["old-*"], "settings": {"number_of_replicas": 0}}')
    assert response.status == 200 and "Legacy index templates are deprecated" in response.headers["Warning"]
    eng.index_documents("old-1", [{"a": 1}])
    assert eng.cluster_health("old-1")["status"] == "green"
    assert eng.handle("GET", "/_template/old", {}).json()["old"]["settings"] == {"index": {"number_of_replicas": "0"}}
    assert eng.handle("GET", "/_template/missing", {}).status == 404


def test_legacy_template_on_717_has_no_warning():
    eng = Elasticsearch("7.17")
    response = eng.handle("PUT", "/_template/old", {}, b'{"index_patterns": ["old-*"]}')
    assert response.status == 200 and "Warning" not in response.headers


# ------------------------------------------------------------------ queries
@pytest.mark.parametrize("query,expected", [
    ({"match_all": {}}, 4),
    ({"term": {"rule.keyword": "Write below etc"}}, 1),
    ({"term": {"rule": "Write below etc"}}, 0),  # text fields hold lowercase tokens
    ({"term": {"rule": "write"}}, 1),
    ({"terms": {"priority.keyword": ["Notice", "Error"]}}, 3),
    ({"match": {"rule": "shell etc"}}, 3),
    ({"exists": {"field": "priority"}}, 4),
    ({"exists": {"field": "nope"}}, 0),
    ({"range": {"@timestamp": {"gte": "now-15m"}}}, 3),
    ({"range": {"@timestamp": {"gte": "now/d", "lt": "now-1h"}}}, 1),
    ({"range": {"output_fields.evt.time": {"gt": 1}}}, 4),
    ({"bool": {"must": [{"match": {"rule": "shell"}}], "must_not": [{"term": {"output_fields.k8s.pod.name.keyword": "web-2"}}]}}, 1),
    ({"bool": {"should": [{"term": {"priority.keyword": "Error"}}, {"term": {"priority.keyword": "Warning"}}]}}, 2),
    ({"bool": {"filter": [{"term": {"kubernetes.container_name.keyword": "falco"}}],
               "should": [{"term": {"priority.keyword": "Error"}}, {"term": {"rule.keyword": "Write below etc"}}], "minimum_should_match": 2}}, 1),
    ({"query_string": {"query": "kubernetes.container_name:falco AND _exists_:priority"}}, 3),
    ({"query_string": {"query": "priority:Error OR priority:Warning"}}, 2),
    ({"query_string": {"query": "NOT priority:Notice"}}, 2),
    ({"query_string": {"query": 'rule:"terminal shell"'}}, 2),
    ({"query_string": {"query": "*"}}, 4),
    ({"query_string": {"query": "sensitive"}}, 1),
])
def test_query_dsl(engine, query, expected):
    with_now = engine.search("logstash-*", {"query": query, "size": 0})
    assert engine.count("logstash-*", query) == expected == with_now["hits"]["total"]["value"]


def test_date_math_rounds_down_for_lower_and_up_for_upper_bounds():
    assert date_math("now/d", NOW) == parse_date("2024-05-01T00:00:00Z")
    assert date_math("now/d", NOW, round_up=True) == parse_date("2024-05-01T23:59:59.999Z")
    assert date_math("now-15m", NOW) == parse_date("2024-05-01T11:45:00Z")
    assert date_math("2024-05-01||+1M/M", NOW) == parse_date("2024-06-01T00:00:00Z")


def test_unknown_query_is_a_parsing_exception(engine):
    with pytest.raises(EsError) as info:
        engine.search("logstash-*", {"query": {"bogus": {}}})
    assert (info.value.status, info.value.etype, info.value.reason) == (400, "parsing_exception", "unknown query [bogus]")


def test_missing_concrete_index_is_404_and_missing_wildcard_is_empty(engine):
    with pytest.raises(EsError) as info:
        engine.search("nothere", {})
    body = info.value.body()
    assert body["status"] == 404 and body["error"]["root_cause"][0] == {
        "type": "index_not_found_exception", "reason": "no such index [nothere]", "resource.type": "index_or_alias",
        "resource.id": "nothere", "index_uuid": "_na_", "index": "nothere"}
    assert engine.search("nothere-*", {})["hits"]["total"] == {"value": 0, "relation": "eq"}


def test_sort_size_from_and_source_filtering(engine):
    result = engine.search("logstash-*", {"sort": [{"@timestamp": "desc"}], "size": 2, "from": 1, "_source": ["rule", "output_fields.*"]})
    assert hits(result) == ["Terminal shell in container", "Terminal shell in container"]
    first = result["hits"]["hits"][0]
    assert set(first["_source"]) == {"rule", "output_fields"} and first["_score"] is None
    assert first["sort"] == [parse_date("2024-05-01T11:58:40Z")]
    assert result["hits"]["max_score"] is None


def test_sort_on_text_field_fails_with_fielddata_message(engine):
    with pytest.raises(EsError) as info:
        engine.search("logstash-*", {"sort": ["rule"]})
    assert info.value.body()["error"]["root_cause"][0]["reason"].startswith("Text fields are not optimised")


def test_track_total_hits_and_size_zero(engine):
    assert engine.search("logstash-*", {"size": 0, "track_total_hits": 2})["hits"]["total"] == {"value": 2, "relation": "gte"}
    assert "total" not in engine.search("logstash-*", {"track_total_hits": False})["hits"]
    assert engine.search("logstash-*", {"size": 0})["hits"]["hits"] == []


# ------------------------------------------------------------------ aggregations
def test_terms_aggregation_orders_by_count_then_key_with_other_count(engine):
    aggs = engine.search("logstash-*", {"size": 0, "aggs": {"r": {"terms": {"field": "rule.keyword", "size": 2}}}})["aggregations"]["r"]
    assert aggs["buckets"] == [{"key": "Terminal shell in container", "doc_count": 2}, {"key": "Read sensitive file untrusted", "doc_count": 1}]
    assert aggs["sum_other_doc_count"] == 1 and aggs["doc_count_error_upper_bound"] == 0


def test_terms_on_text_field_is_the_real_illegal_argument(engine):
    with pytest.raises(EsError) as info:
        engine.search("logstash-*", {"aggs": {"r": {"terms": {"field": "rule"}}}})
    body = info.value.body()
    assert body["status"] == 400 and body["error"]["type"] == "search_phase_execution_exception"
    assert body["error"]["root_cause"][0]["reason"] == (
        "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these "
        "operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [rule] in order to "
        "load field data by uninverting the inverted index. Note that this can use significant memory.")


def test_date_histogram_fills_gaps_and_writes_key_as_string(engine):
    body = {"size": 0, "query": {"range": {"@timestamp": {"gte": "2024-05-01T11:00:00Z"}}},
            "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m"}, "aggs": {"p": {"cardinality": {"field": "priority.keyword"}}}}}}
    buckets = engine.search("logstash-*", body)["aggregations"]["t"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"], b["p"]["value"]) for b in buckets] == [
        ("2024-05-01T11:58:00.000Z", 2, 1), ("2024-05-01T11:59:00.000Z", 1, 1)]
    assert buckets[0]["key"] == parse_date("2024-05-01T11:58:00Z")


def test_date_histogram_calendar_interval_and_min_doc_count(engine):
    body = {"size": 0, "aggs": {"t": {"date_histogram": {"field": "@timestamp", "calendar_interval": "hour", "min_doc_count": 1}}}}
    buckets = engine.search("logstash-*", body)["aggregations"]["t"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in buckets] == [("2024-05-01T10:00:00.000Z", 1), ("2024-05-01T11:00:00.000Z", 3)]


def test_legacy_interval_is_rejected_on_8_and_deprecated_on_717(engine):
    with pytest.raises(EsError) as info:
        engine.search("logstash-*", {"aggs": {"t": {"date_histogram": {"field": "@timestamp", "interval": "1m"}}}})
    assert info.value.etype == "x_content_parse_exception" and "unknown field [interval] did you mean [fixed_interval]?" in info.value.reason
    old = Elasticsearch("7.17")
    old.index_documents("logstash-x", ALERTS)
    response = old.handle("POST", "/logstash-x/_search", {"Content-Type": "application/json"},
                          b'{"size":0,"aggs":{"t":{"date_histogram":{"field":"@timestamp","interval":"1h"}}}}')
    assert response.status == 200 and "[interval] on [date_histogram] is deprecated" in response.headers["Warning"]
    assert len(response.json()["aggregations"]["t"]["buckets"]) == 2


@pytest.mark.parametrize("agg,expected", [
    ({"value_count": {"field": "rule.keyword"}}, {"value": 4}),
    ({"cardinality": {"field": "rule.keyword"}}, {"value": 3}),
    ({"min": {"field": "@timestamp"}}, {"value": float(parse_date("2024-05-01T10:00:00Z")), "value_as_string": "2024-05-01T10:00:00.000Z"}),
    ({"max": {"field": "output_fields.evt.time"}}, {"value": 1714564800000000000.0}),
    ({"sum": {"field": "nope"}}, {"value": 0.0}),
    ({"avg": {"field": "nope"}}, {"value": None}),
])
def test_metric_aggregations(engine, agg, expected):
    assert engine.search("logstash-*", {"size": 0, "aggs": {"m": agg}})["aggregations"]["m"] == expected


def test_significant_terms_scores_foreground_against_the_index():
    eng = Elasticsearch("8")
    eng.index_documents("logstash-s", [alert("Shell", "Notice", "2024-05-01T11:00:00Z")] * 4 + [alert("Other", "Notice", "2024-05-01T11:00:00Z",
                                                                                                      container="nginx")] * 6)
    body = {"size": 0, "query": {"term": {"kubernetes.container_name.keyword": "falco"}},
            "aggs": {"s": {"significant_terms": {"field": "rule.keyword"}}}}
    agg = eng.search("logstash-*", body)["aggregations"]["s"]
    assert agg["doc_count"] == 4 and agg["bg_count"] == 10
    assert agg["buckets"] == [{"key": "Shell", "doc_count": 4, "score": pytest.approx((1 - 0.4) * (1 / 0.4)), "bg_count": 4}]


# ------------------------------------------------------------------ health
@pytest.mark.parametrize("state,replicas,expected", [((1, 1), 1, "yellow"), ((2, 2), 1, "green"), ((1, 1), 0, "green"), (None, 0, "red")])
def test_health_follows_ready_nodes_and_replicas(state, replicas, expected):
    eng = Elasticsearch("8", security=False, health=lambda: state)
    eng.handle("PUT", "/_index_template/t", {}, json.dumps({"index_patterns": ["i*"], "template": {"settings": {"number_of_replicas": replicas}}}).encode())
    eng.index_documents("i1", [{"a": 1}])
    assert eng.cluster_health()["status"] == expected


def test_without_a_ready_pod_apis_answer_master_not_discovered_but_root_answers():
    eng = Elasticsearch("8", security=False, health=lambda: None)
    response = eng.handle("GET", "/_cat/indices", {})
    assert response.status == 503 and response.json() == {
        "error": {"root_cause": [{"type": "master_not_discovered_exception", "reason": None}], "type": "master_not_discovered_exception",
                  "reason": None}, "status": 503}
    assert eng.handle("GET", "/", {}).status == 200


def test_health_wait_for_status_times_out_with_408_and_unblocks_when_reached():
    state = {"nodes": 1}
    eng = Elasticsearch("8", security=False, health=lambda: (state["nodes"], 2))
    eng.index_documents("i1", [{"a": 1}])
    response = eng.handle("GET", "/_cluster/health?wait_for_status=green&timeout=200ms", {})
    assert response.status == 408 and response.json()["timed_out"] is True and response.json()["status"] == "yellow"
    threading.Timer(0.2, lambda: state.update(nodes=2)).start()
    started = time.time()
    response = eng.handle("GET", "/_cluster/health?wait_for_status=green&timeout=5s", {})
    assert response.status == 200 and response.json()["status"] == "green" and time.time() - started < 3


# ------------------------------------------------------------------ REST details on the engine
def test_create_existing_index_and_bad_names():
    eng = Elasticsearch("8", security=False)
    assert eng.handle("PUT", "/a", {}).json() == {"acknowledged": True, "shards_acknowledged": True, "index": "a"}
    again = eng.handle("PUT", "/a", {}).json()["error"]
    assert again["type"] == "resource_already_exists_exception" and again["reason"].startswith("index [a/")
    assert eng.handle("PUT", "/Bad", {}).json()["error"]["reason"] == "Invalid index name [Bad], must be lowercase"
    bad_mapping = eng.handle("PUT", "/b", {}, b'{"mappings": {"properties": {"x": {"type": "nope"}}}}').json()["error"]
    assert (bad_mapping["type"], bad_mapping["reason"]) == ("mapper_parsing_exception", "No handler for type [nope] declared on field [x]")


def test_bulk_rejects_type_on_8_but_tolerates_doc_type_on_717():
    body = b'{"index": {"_index": "x", "_type": "_doc"}}\n{"a": 1}\n'
    response = Elasticsearch("8", security=False).handle("POST", "/_bulk", {"Content-Type": "application/x-ndjson"}, body)
    assert response.status == 400 and response.json()["error"]["reason"] == "Action/metadata line [1] contains an unknown parameter [_type]"
    old = Elasticsearch("7.17").handle("POST", "/_bulk", {"Content-Type": "application/x-ndjson"}, body).json()
    assert old["errors"] is False and old["items"][0]["index"]["_type"] == "_doc"


def test_bulk_create_conflict_is_a_per_item_error():
    eng = Elasticsearch("8", security=False)
    body = b'{"create": {"_index": "x", "_id": "1"}}\n{"a": 1}\n{"create": {"_index": "x", "_id": "1"}}\n{"a": 2}\n'
    result = eng.handle("POST", "/_bulk", {}, body).json()
    assert result["errors"] is True and result["items"][0]["create"]["status"] == 201
    assert result["items"][1]["create"]["error"]["type"] == "version_conflict_engine_exception"


def test_unknown_route_and_wrong_method():
    eng = Elasticsearch("8", security=False)
    assert eng.handle("GET", "/_nope/x/y", {}).json() == {"error": "no handler found for uri [/_nope/x/y] and method [GET]", "status": 400}
    assert eng.handle("POST", "/_cluster/health", {}).status == 405


def test_content_negotiation_answers_the_compatible_media_type():
    eng = Elasticsearch("8", security=False)
    vnd = "application/vnd.elasticsearch+json; compatible-with=8"
    response = eng.handle("GET", "/", {"Accept": vnd})
    assert response.headers["Content-Type"] == "application/vnd.elasticsearch+json;compatible-with=8"
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    assert eng.handle("GET", "/", {}).headers["Content-Type"] == "application/json"
    assert Elasticsearch("7.17").handle("GET", "/", {"Accept": vnd}).json()["error"]["type"] == "media_type_header_exception"


# ------------------------------------------------------------------ security on the engine
def basic(user: str, password: str) -> str:
    """An Authorization header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_authenticate_users_and_401_body():
    eng = Elasticsearch("8", elastic_password=PASSWORD)
    assert eng.authenticate(basic("elastic", PASSWORD))["authentication_realm"] == {"name": "reserved", "type": "reserved"}
    assert eng.authenticate(basic("elastic", "wrong")) is None
    assert eng.authenticate(basic("kibana_system", "")) is None  # no password until one is set
    response = eng.handle("GET", "/_cluster/health", {})
    assert response.status == 401 and response.headers["WWW-Authenticate"].startswith('Basic realm="security" charset="UTF-8"')
    assert response.json()["error"]["reason"] == "missing authentication credentials for REST request [/_cluster/health]"
    assert Elasticsearch("7.17").authenticate(None)["roles"] == ["superuser"]


def test_kibana_system_password_service_token_and_viewer_403():
    eng = Elasticsearch("8", elastic_password=PASSWORD)
    admin = {"Authorization": basic("elastic", PASSWORD)}
    assert eng.handle("POST", "/_security/user/kibana_system/_password", admin, b'{"password": "kibana-pw"}').status == 200
    assert eng.authenticate(basic("kibana_system", "kibana-pw"))["roles"] == ["kibana_system"]
    token = eng.handle("POST", "/_security/service/elastic/kibana/credential/token/t1", admin).json()
    assert token["created"] is True and token["token"]["name"] == "t1"
    who = eng.authenticate("Bearer " + token["token"]["value"])
    assert who["username"] == "elastic/kibana" and who["authentication_type"] == "token"
    assert eng.handle("PUT", "/_security/user/viewer1", admin, b'{"password": "viewer-pw", "roles": ["viewer"]}').json() == {"created": True}
    denied = eng.handle("PUT", "/logs", {"Authorization": basic("viewer1", "viewer-pw")})
    assert denied.status == 403 and denied.json()["error"]["reason"] == (
        "action [indices:admin/create] is unauthorized for user [viewer1] with effective roles [viewer] on indices [logs], "
        "this action is granted by the index privileges [create_index,manage,all]")


# ------------------------------------------------------------------ HTTP with the official clients
@pytest.fixture(name="server8")
def server8_fixture():
    """An 8.x server with security on."""
    hooks = Hooks()
    server = ElasticsearchServer(Elasticsearch("8", elastic_password=PASSWORD), hooks=hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(name="server7")
def server7_fixture():
    """A 7.17 server without security."""
    server = ElasticsearchServer(Elasticsearch("7.17"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def bulk_body() -> list[dict]:
    """Bulk operations for the alerts."""
    ops: list[dict] = []
    for doc in ALERTS:
        ops += [{"index": {"_index": "logstash-2024.05.01"}}, doc]
    return ops


def test_es8_client_basic_auth_bulk_search_aggs_health_templates_cat(server8):
    client = elasticsearch8.Elasticsearch(server8.url, basic_auth=("elastic", PASSWORD))
    assert client.info()["version"]["number"] == "8.15.3"
    client.indices.put_index_template(name="logstash", index_patterns=["logstash-*"], priority=10,
                                      template={"settings": {"number_of_replicas": 0}})
    assert client.bulk(operations=bulk_body(), refresh=True)["errors"] is False
    health = client.cluster.health(wait_for_status="green", timeout="2s")
    assert health["status"] == "green" and health["timed_out"] is False
    result = client.search(index="logstash-*", query={"query_string": {"query": "kubernetes.container_name:falco AND _exists_:priority"}},
                           aggs={"rules": {"terms": {"field": "rule.keyword"}}}, size=0)
    assert result["hits"]["total"]["value"] == 3 and result["aggregations"]["rules"]["buckets"][0]["doc_count"] == 2
    cat = client.cat.indices(format="json")
    assert cat.body[0]["index"] == "logstash-2024.05.01" and cat.body[0]["health"] == "green" and cat.body[0]["docs.count"] == "4"


def test_es8_client_with_api_key_and_401_without_credentials(server8):
    admin = elasticsearch8.Elasticsearch(server8.url, basic_auth=("elastic", PASSWORD))
    key = admin.security.create_api_key(name="fluentd")
    assert set(key.body) >= {"id", "name", "api_key", "encoded"}
    with_key = elasticsearch8.Elasticsearch(server8.url, api_key=key["encoded"])
    assert with_key.security.authenticate()["api_key"] == {"id": key["id"], "name": "fluentd"}
    assert with_key.index(index="logstash-k", document={"a": 1})["result"] == "created"
    admin.security.invalidate_api_key(ids=[key["id"]])
    with pytest.raises(elasticsearch8.AuthenticationException):
        with_key.info()
    with pytest.raises(elasticsearch8.AuthenticationException) as info:
        elasticsearch8.Elasticsearch(server8.url).info()
    assert info.value.meta.headers["X-Elastic-Product"] == "Elasticsearch"


def test_es8_client_sees_404_index_not_found(server8):
    client = elasticsearch8.Elasticsearch(server8.url, basic_auth=("elastic", PASSWORD))
    with pytest.raises(elasticsearch8.NotFoundError) as info:
        client.search(index="missing")
    assert info.value.error == "index_not_found_exception"


def test_requests_are_recorded_and_faults_answered_with_es_bodies(server8):
    hooks = server8.hooks
    hooks.faults.append(Fault(r"GET /_cluster/health", 1, 503))
    request = urllib.request.Request(server8.url + "/_cluster/health", headers={"Authorization": basic("elastic", PASSWORD)})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)  # pylint: disable=consider-using-with
    assert info.value.code == 503 and json.loads(info.value.read())["status"] == 503
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    with urllib.request.urlopen(server8.url + "/_localcluster/requests") as response:
        log = json.loads(response.read())["requests"]
    assert [(r["path"], r["code"], r["user"]) for r in log] == [("/_cluster/health", 503, None), ("/_cluster/health", 200, "elastic")]


def test_es7_client_bulk_search_aggs_health_template_cat(server7):
    client = elasticsearch7.Elasticsearch(server7.url)
    assert client.info()["version"]["number"] == "7.17.25"
    client.indices.put_index_template(name="logstash", body={"index_patterns": ["logstash-*"], "template": {"settings": {"number_of_replicas": 1}}})
    ops = []
    for doc in ALERTS:
        ops += [{"index": {"_index": "logstash-2024.05.01", "_type": "_doc"}}, doc]
    with pytest.warns(elasticsearch7.ElasticsearchWarning, match=r"\[types removal\]"):
        assert client.bulk(body=ops)["errors"] is False
    health = client.cluster.health(wait_for_status="yellow", timeout="1s")
    assert health["status"] == "yellow" and health["unassigned_shards"] == 1
    result = client.search(index="logstash-*", size=1, aggs={"p": {"terms": {"field": "priority.keyword"}}}, rest_total_hits_as_int=True)
    assert result["hits"]["total"] == 4 and result["hits"]["hits"][0]["_type"] == "_doc"
    assert {b["key"] for b in result["aggregations"]["p"]["buckets"]} == {"Notice", "Error", "Warning"}
    with pytest.raises(elasticsearch7.TransportError) as info:
        client.cluster.health(wait_for_status="green", timeout="100ms")
    assert info.value.status_code == 408
    assert client.cat.indices(format="json")[0]["rep"] == "1"


def test_head_root_and_cat_text_format():
    eng = Elasticsearch("7.17")
    eng.index_documents("logstash-a", [{"a": "x"}])
    head = eng.handle("HEAD", "/", {})
    assert head.status == 200 and head.headers["X-Elastic-Product"] == "Elasticsearch"
    text = eng.handle("GET", "/_cat/indices?v&h=health,index,docs.count", {})
    assert text.headers["Content-Type"].startswith("text/plain")
    assert text.body.decode().splitlines() == ["health index      docs.count", "yellow logstash-a          1"]


def test_total_fields_message_on_717_has_no_added_count():
    eng = Elasticsearch("7.17")
    eng.handle("PUT", "/small", {}, b'{"settings": {"index": {"mapping": {"total_fields": {"limit": 1}}}}}')
    assert eng.index_documents("small", [{"a": "x"}])[0]["index"]["error"]["reason"] == "Limit of total fields [1] has been exceeded"
