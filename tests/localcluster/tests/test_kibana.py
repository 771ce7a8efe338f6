"""Tests of the emulated Kibana: engine (Kibana.handle) and HTTP (KibanaServer), profiles 7.17 and 8."""
# Test names state the behaviour under test; a docstring would only repeat them.
# pylint: disable=missing-function-docstring

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from localcluster.hooks import Hooks
from localcluster.kibana import Kibana, KibanaError, KibanaServer, broken_objects, encode_version

PROFILES = ["7.17", "8"]
XSRF = {"kbn-xsrf": "true", "Content-Type": "application/json"}
FIELDS = {
    "@timestamp": {"type": "date", "searchable": True, "aggregatable": True},
    "rule": {"type": "text", "searchable": True, "aggregatable": False},
    "rule.keyword": {"type": "keyword", "searchable": True, "aggregatable": True},
    "priority.keyword": {"type": "keyword", "searchable": True, "aggregatable": True},
}


def basic(user: str, password: str) -> str:
    """An Authorization header for basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeEs:
    """The duck-typed Elasticsearch the emulator depends on."""

    def __init__(self, fields: dict[str, dict] | None = None):
        self.fields = FIELDS if fields is None else fields
        self.users = {basic("elastic", "changeme"): {"username": "elastic", "roles": ["superuser"], "authentication_type": "realm"},
                      basic("reader", "pw"): {"username": "reader", "roles": ["viewer"], "authentication_type": "realm"},
                      basic("nobody", "pw"): {"username": "nobody", "roles": ["monitoring_user"], "authentication_type": "realm"},
                      "ApiKey a2V5OnNlY3JldA==": {"username": "elastic", "roles": ["superuser"], "authentication_type": "api_key"}}

    def field_caps(self, pattern: str) -> dict[str, dict]:
        """Fields for logstash-*, nothing for other patterns."""
        return dict(self.fields) if pattern.startswith("logstash") else {}

    def resolve_names(self, pattern: str) -> list[str]:
        """One index for logstash-*, none for other patterns."""
        return ["logstash-1"] if pattern.startswith("logstash") else []

    def field_capabilities(self, names: list[str]) -> dict[str, dict]:
        """_field_caps' fields, one type each."""
        return {name: {cap["type"]: {"metadata_field": False, **cap}} for name, cap in self.fields.items()} if names else {}

    def authenticate(self, header: str) -> dict | None:
        """The user behind a header, or None."""
        return self.users.get(header)

    def count(self, pattern: str) -> int:
        """Documents matching a pattern."""
        return 10 if pattern.startswith("logstash") else 0


ADMIN = {**XSRF, "Authorization": basic("elastic", "changeme")}


def make(profile: str, **kwargs: Any) -> Kibana:
    """A Kibana with the fake ES; security as the profile defaults."""
    return Kibana(profile, es=kwargs.pop("es", FakeEs()), **kwargs)


def call(kibana: Kibana, method: str, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any]:
    """One request through the engine, as the admin (the header is ignored when security is off)."""
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    response = kibana.handle(method, path, ADMIN if headers is None else headers, data)
    try:
        return response.status, response.json()
    except ValueError:
        return response.status, response.body.decode()


def multipart(ndjson: str, filename: str = "export.ndjson") -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, as curl -F file=@export.ndjson sends."""
    boundary = "----localcluster" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/ndjson\r\n\r\n{ndjson}\r\n--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def do_import(kibana: Kibana, ndjson: str, query: str = "", filename: str = "export.ndjson", space: str = "") -> tuple[int, Any]:
    """POST _import with a file."""
    body, ctype = multipart(ndjson, filename)
    headers = {**ADMIN, "Content-Type": ctype}
    response = kibana.handle("POST", f"{space}/api/saved_objects/_import{query}", headers, body)
    return response.status, response.json()


def falco_objects(kibana: Kibana, space: str = "") -> None:
    """The runbook's shape: a data view, a saved search, a visualization on it, a dashboard."""
    call(kibana, "POST", f"{space}/api/saved_objects/index-pattern/logstash", {"attributes": {"title": "logstash-*", "timeFieldName": "@timestamp"}})
    call(kibana, "POST", f"{space}/api/saved_objects/search/falco", {
        "attributes": {"title": "Falco Alerts", "columns": ["rule"], "sort": [["@timestamp", "desc"]],
                       "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"})}},
        "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": "logstash"}]})
    call(kibana, "POST", f"{space}/api/saved_objects/visualization/rules", {
        "attributes": {"title": "Top rules", "savedSearchRefName": "search_0", "uiStateJSON": "{}",
                       "visState": json.dumps({"title": "Top rules", "type": "pie", "aggs": [
                           {"id": "1", "type": "count", "schema": "metric", "params": {}},
                           {"id": "2", "type": "terms", "schema": "segment", "params": {"field": "rule.keyword", "size": 10}}]}),
                       "kibanaSavedObjectMeta": {"searchSourceJSON": "{}"}},
        "references": [{"name": "search_0", "type": "search", "id": "falco"}]})
    call(kibana, "POST", f"{space}/api/saved_objects/dashboard/falco-dash", {
        "attributes": {"title": "Falco", "optionsJSON": "{}", "panelsJSON": json.dumps([{"panelIndex": "1", "panelRefName": "panel_0"}]),
                       "kibanaSavedObjectMeta": {"searchSourceJSON": "{}"}},
        "references": [{"name": "panel_0", "type": "visualization", "id": "rules"}]})


# ---------------------------------------------------------------------- create / get / overwrite / conflict
@pytest.mark.parametrize("profile", PROFILES)
def test_create_then_get_returns_the_attributes_and_references(profile):
    kibana = make(profile)
    refs = [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": "lp"}]
    code, created = call(kibana, "POST", "/api/saved_objects/search/s1", {"attributes": {"title": "S"}, "references": refs})
    assert code == 200 and created["id"] == "s1" and created["references"] == refs
    code, got = call(kibana, "GET", "/api/saved_objects/search/s1")
    assert code == 200 and got["attributes"] == {"title": "S"} and got["references"] == refs and got["namespaces"] == ["default"]


@pytest.mark.parametrize("profile", PROFILES)
def test_create_without_id_generates_a_uuid(profile):
    code, created = call(make(profile), "POST", "/api/saved_objects/index-pattern", {"attributes": {"title": "x-*"}})
    assert code == 200 and uuid.UUID(created["id"])


@pytest.mark.parametrize("profile", PROFILES)
def test_create_existing_without_overwrite_is_a_409_conflict(profile):
    kibana = make(profile)
    call(kibana, "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "a"}})
    code, body = call(kibana, "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "b"}})
    assert (code, body) == (409, {"statusCode": 409, "error": "Conflict", "message": "Saved object [index-pattern/x] conflict"})


@pytest.mark.parametrize("profile", PROFILES)
def test_overwrite_replaces_attributes_and_bumps_version(profile):
    kibana = make(profile)
    _code, first = call(kibana, "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "a", "timeFieldName": "t"}})
    code, second = call(kibana, "POST", "/api/saved_objects/index-pattern/x?overwrite=true", {"attributes": {"title": "b"}})
    assert code == 200 and second["attributes"] == {"title": "b"} and second["version"] != first["version"]
    assert call(kibana, "GET", "/api/saved_objects/index-pattern/x")[1]["attributes"] == {"title": "b"}


@pytest.mark.parametrize("profile", PROFILES)
def test_get_missing_object_is_404_with_kibana_message(profile):
    assert call(make(profile), "GET", "/api/saved_objects/dashboard/nope") == (
        404, {"statusCode": 404, "error": "Not Found", "message": "Saved object [dashboard/nope] not found"})


@pytest.mark.parametrize("profile", PROFILES)
def test_unknown_type_on_create_is_400_unsupported(profile):
    assert call(make(profile), "POST", "/api/saved_objects/foo/x", {"attributes": {}}) == (
        400, {"statusCode": 400, "error": "Bad Request", "message": "Unsupported saved object type: 'foo': Bad Request"})


@pytest.mark.parametrize("body,message", [
    ({"attributes": "x"}, "[request body.attributes]: expected value of type [object] but got [string]"),
    ({}, "[request body.attributes]: expected value of type [object] but got [undefined]"),
    ({"attributes": {}, "bogus": 1}, "[request body.bogus]: definition for this key is missing"),
    ({"attributes": {}, "references": [{"type": "search", "id": "x"}]},
     "[request body.references.0.name]: expected value of type [string] but got [undefined]"),
])
def test_invalid_create_bodies_are_400_with_schema_messages(body, message):
    assert call(make("8"), "POST", "/api/saved_objects/search/x", body) == (400, {"statusCode": 400, "error": "Bad Request", "message": message})


def test_malformed_json_body_is_400():
    assert call(make("8"), "POST", "/api/saved_objects/search/x", b"{nope")[1]["message"] == "Invalid request payload JSON format"


def test_overwrite_must_be_boolean():
    code, body = call(make("8"), "POST", "/api/saved_objects/search/x?overwrite=yes", {"attributes": {}})
    assert code == 400 and body["message"] == "[request query.overwrite]: expected value of type [boolean] but got [string]"


# ---------------------------------------------------------------------- server-managed fields
def test_817_create_sets_migration_version_and_no_8x_fields():
    _code, obj = call(make("7.17"), "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})
    assert obj["migrationVersion"] == {"index-pattern": "7.11.0"} and obj["coreMigrationVersion"] == "7.17.25"
    assert not {"typeMigrationVersion", "created_at", "managed"} & set(obj)
    assert obj["version"] == "WzEsMV0=" and obj["namespaces"] == ["default"]


def test_8_create_sets_type_and_core_migration_versions_created_at_and_managed():
    _code, obj = call(make("8"), "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})
    assert obj["typeMigrationVersion"] == "8.0.0" and obj["coreMigrationVersion"] == "8.8.0"
    assert obj["managed"] is False and obj["created_at"] == obj["updated_at"] and obj["namespaces"] == ["default"]


def test_version_is_base64_of_seq_no_and_primary_term():
    assert encode_version(1, 1) == "WzEsMV0=" and json.loads(base64.b64decode(encode_version(12, 3))) == [12, 3]


def test_created_at_survives_update_but_updated_at_moves():
    ticks = iter(range(1_700_000_000, 1_700_000_100))
    kibana = make("8", clock=lambda: float(next(ticks)))
    _code, created = call(kibana, "POST", "/api/saved_objects/search/x", {"attributes": {"title": "a"}})
    call(kibana, "PUT", "/api/saved_objects/search/x", {"attributes": {"title": "b"}})
    _code, got = call(kibana, "GET", "/api/saved_objects/search/x")
    assert got["created_at"] == created["created_at"] and got["updated_at"] > created["updated_at"]


# ---------------------------------------------------------------------- update / delete
@pytest.mark.parametrize("profile", PROFILES)
def test_update_merges_attributes_and_replaces_references(profile):
    kibana = make(profile)
    call(kibana, "POST", "/api/saved_objects/visualization/v", {"attributes": {"title": "a", "visState": "{}"}})
    refs = [{"name": "search_0", "type": "search", "id": "s"}]
    code, body = call(kibana, "PUT", "/api/saved_objects/visualization/v", {"attributes": {"title": "b"}, "references": refs})
    assert code == 200 and body["attributes"] == {"title": "b"} and body["references"] == refs
    _code, got = call(kibana, "GET", "/api/saved_objects/visualization/v")
    assert got["attributes"] == {"title": "b", "visState": "{}"} and got["references"] == refs


def test_update_with_stale_version_is_409():
    kibana = make("8")
    _code, created = call(kibana, "POST", "/api/saved_objects/search/x", {"attributes": {"title": "a"}})
    call(kibana, "PUT", "/api/saved_objects/search/x", {"attributes": {"title": "b"}})
    assert call(kibana, "PUT", "/api/saved_objects/search/x", {"attributes": {"title": "c"}, "version": created["version"]})[0] == 409


def test_update_of_missing_object_is_404():
    assert call(make("8"), "PUT", "/api/saved_objects/search/x", {"attributes": {"title": "c"}})[0] == 404


@pytest.mark.parametrize("profile", PROFILES)
def test_delete_removes_the_object(profile):
    kibana = make(profile)
    call(kibana, "POST", "/api/saved_objects/search/x", {"attributes": {"title": "a"}})
    assert call(kibana, "DELETE", "/api/saved_objects/search/x") == (200, {})
    assert call(kibana, "GET", "/api/saved_objects/search/x")[0] == 404
    assert call(kibana, "DELETE", "/api/saved_objects/search/x")[0] == 404


# ---------------------------------------------------------------------- xsrf / kbn-version
@pytest.mark.parametrize("method,path", [("POST", "/api/saved_objects/search/x"), ("PUT", "/api/saved_objects/search/x"),
                                         ("DELETE", "/api/saved_objects/search/x"), ("POST", "/api/saved_objects/_bulk_create")])
@pytest.mark.parametrize("profile", PROFILES)
def test_writes_without_kbn_xsrf_are_400(profile, method, path):
    headers = {"Authorization": basic("elastic", "changeme"), "Content-Type": "application/json"}
    assert call(make(profile), method, path, {"attributes": {}}, headers) == (
        400, {"statusCode": 400, "error": "Bad Request", "message": "Request must contain a kbn-xsrf header."})


def test_kbn_version_header_satisfies_xsrf_but_must_match():
    kibana = make("8")
    headers = {"Authorization": basic("elastic", "changeme"), "kbn-version": "8.15.3"}
    assert call(kibana, "POST", "/api/saved_objects/search/x", {"attributes": {}}, headers)[0] == 200
    code, body = call(kibana, "GET", "/api/saved_objects/search/x", None, {**headers, "kbn-version": "8.0.0"})
    assert code == 400 and body["attributes"] == {"expected": "8.15.3", "got": "8.0.0"}


def test_reads_do_not_need_kbn_xsrf():
    assert call(make("7.17"), "GET", "/api/saved_objects/_find?type=search", None, {})[0] == 200


# ---------------------------------------------------------------------- bulk
@pytest.mark.parametrize("profile", PROFILES)
def test_bulk_create_reports_conflicts_per_object(profile):
    kibana = make(profile)
    call(kibana, "POST", "/api/saved_objects/search/a", {"attributes": {"title": "a"}})
    code, body = call(kibana, "POST", "/api/saved_objects/_bulk_create", [
        {"type": "search", "id": "a", "attributes": {"title": "a2"}}, {"type": "search", "id": "b", "attributes": {"title": "b"}},
        {"type": "nope", "id": "c", "attributes": {}}])
    items = body["saved_objects"]
    assert code == 200 and items[0]["error"]["statusCode"] == 409 and items[1]["attributes"] == {"title": "b"}
    assert items[2]["error"]["message"] == "Unsupported saved object type: 'nope': Bad Request"


def test_bulk_create_with_overwrite_replaces():
    kibana = make("8")
    call(kibana, "POST", "/api/saved_objects/search/a", {"attributes": {"title": "a"}})
    _code, body = call(kibana, "POST", "/api/saved_objects/_bulk_create?overwrite=true", [{"type": "search", "id": "a", "attributes": {"title": "z"}}])
    assert body["saved_objects"][0]["attributes"] == {"title": "z"}


@pytest.mark.parametrize("profile", PROFILES)
def test_bulk_get_returns_objects_and_404_errors_in_order(profile):
    kibana = make(profile)
    call(kibana, "POST", "/api/saved_objects/search/a", {"attributes": {"title": "a", "columns": ["x"]}})
    _code, body = call(kibana, "POST", "/api/saved_objects/_bulk_get",
                       [{"type": "search", "id": "missing"}, {"type": "search", "id": "a", "fields": ["title"]}])
    missing, found = body["saved_objects"]
    assert missing == {"id": "missing", "type": "search",
                       "error": {"statusCode": 404, "error": "Not Found", "message": "Saved object [search/missing] not found"}}
    assert found["attributes"] == {"title": "a"}


# ---------------------------------------------------------------------- find
@pytest.mark.parametrize("profile", PROFILES)
def test_find_filters_by_type_search_and_paginates(profile):
    kibana = make(profile)
    falco_objects(kibana)
    _code, body = call(kibana, "GET", "/api/saved_objects/_find?type=search&type=visualization&search_fields=title&search=falco")
    assert [o["id"] for o in body["saved_objects"]] == ["falco"] and body["total"] == 1
    _code, body = call(kibana, "GET", "/api/saved_objects/_find?type=search&type=visualization&per_page=1&page=2")
    assert (body["page"], body["per_page"], body["total"], len(body["saved_objects"])) == (2, 1, 2, 1)


def test_find_prefix_search_and_fields_projection():
    kibana = make("8")
    falco_objects(kibana)
    _code, body = call(kibana, "GET", "/api/saved_objects/_find?type=visualization&search=Top*&fields=title")
    assert body["saved_objects"][0]["attributes"] == {"title": "Top rules"} and "score" in body["saved_objects"][0]


def test_find_requires_type_and_ignores_unknown_types():
    kibana = make("8")
    assert call(kibana, "GET", "/api/saved_objects/_find")[1]["message"] == \
        "[request query.type]: expected at least one defined value but got [undefined]"
    assert call(kibana, "GET", "/api/saved_objects/_find?type=nope")[1] == {"page": 1, "per_page": 20, "total": 0, "saved_objects": []}


def test_find_has_reference():
    kibana = make("8")
    falco_objects(kibana)
    ref = json.dumps({"type": "index-pattern", "id": "logstash"})
    _code, body = call(kibana, "GET", f"/api/saved_objects/_find?type=search&type=visualization&has_reference={ref}")
    assert [o["id"] for o in body["saved_objects"]] == ["falco"]


# ---------------------------------------------------------------------- export / import
def export(kibana: Kibana, body: dict, space: str = "") -> tuple[list[dict], dict]:
    """Objects and the details line of an export."""
    response = kibana.handle("POST", f"{space}/api/saved_objects/_export", ADMIN, json.dumps(body).encode())
    assert response.status == 200 and response.headers["Content-Type"] == "application/ndjson"
    lines = [json.loads(line) for line in response.body.decode().split("\n")]
    return lines[:-1], lines[-1]


@pytest.mark.parametrize("profile", PROFILES)
def test_export_deep_puts_references_first_and_counts(profile):
    kibana = make(profile)
    falco_objects(kibana)
    objects, details = export(kibana, {"objects": [{"type": "dashboard", "id": "falco-dash"}], "includeReferencesDeep": True})
    assert [o["type"] for o in objects] == ["index-pattern", "search", "visualization", "dashboard"]
    assert details == {"excludedObjects": [], "excludedObjectsCount": 0, "exportedCount": 4, "missingRefCount": 0, "missingReferences": []}
    assert "namespaces" not in objects[0]


def test_export_lines_have_sorted_keys_and_version_specific_fields():
    kibana8, kibana7 = make("8"), make("7.17")
    for kibana in (kibana8, kibana7):
        call(kibana, "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})
    raw = kibana8.handle("POST", "/api/saved_objects/_export", ADMIN, b'{"type":"index-pattern"}').body.decode().split("\n")[0]
    assert list(json.loads(raw)) == sorted(json.loads(raw))
    assert {"typeMigrationVersion", "created_at", "managed"} <= set(json.loads(raw)) and "migrationVersion" not in json.loads(raw)
    obj7 = export(kibana7, {"type": "index-pattern"})[0][0]
    assert obj7["migrationVersion"] == {"index-pattern": "7.11.0"} and "typeMigrationVersion" not in obj7


def test_export_reports_missing_references_when_deep():
    kibana = make("8")
    refs = [{"name": "r", "type": "index-pattern", "id": "gone"}]
    call(kibana, "POST", "/api/saved_objects/search/s", {"attributes": {"title": "s"}, "references": refs})
    _objects, details = export(kibana, {"type": "search", "includeReferencesDeep": True})
    assert details["missingRefCount"] == 1 and details["missingReferences"] == [{"id": "gone", "type": "index-pattern"}]


@pytest.mark.parametrize("body,message", [
    ({}, "Either `type` or `objects` are required."),
    ({"type": "nope"}, "Trying to export non-exportable type(s): nope"),
])
def test_export_validation_messages(body, message):
    assert call(make("8"), "POST", "/api/saved_objects/_export", body)[1]["message"] == message


def test_export_of_missing_object_is_400_with_fetch_error():
    code, body = call(make("8"), "POST", "/api/saved_objects/_export", {"objects": [{"type": "search", "id": "x"}]})
    assert code == 400 and body["message"] == "Error fetching objects to export"
    assert body["attributes"]["objects"][0]["error"]["statusCode"] == 404


MANAGED = {"version", "updated_at", "created_at", "migrationVersion", "coreMigrationVersion", "typeMigrationVersion", "managed", "namespaces"}


@pytest.mark.parametrize("profile", PROFILES)
def test_export_import_round_trip_into_a_fresh_kibana(profile):
    source, target = make(profile), make(profile)
    falco_objects(source)
    raw = source.handle("POST", "/api/saved_objects/_export", ADMIN,
                        json.dumps({"type": ["index-pattern", "search", "visualization", "dashboard"]}).encode()).body.decode()
    code, result = do_import(target, raw)
    assert code == 200 and result["success"] is True and result["successCount"] == 4 and result["warnings"] == []
    assert {r["id"] for r in result["successResults"]} == {"logstash", "falco", "rules", "falco-dash"}

    def strip(objs):
        return sorted(({k: v for k, v in o.items() if k not in MANAGED} for o in objs), key=lambda o: (o["type"], o["id"]))
    assert strip(source.objects()) == strip(target.objects())


@pytest.mark.parametrize("profile", PROFILES)
def test_import_with_missing_index_pattern_reports_missing_references(profile):
    line = json.dumps({"type": "search", "id": "s", "attributes": {"title": "S"},
                       "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": "lp"}]})
    kibana = make(profile)
    _code, result = do_import(kibana, line)
    assert result["success"] is False and result["successCount"] == 0
    error = result["errors"][0]
    assert error["error"] == {"type": "missing_references", "references": [{"type": "index-pattern", "id": "lp"}]}
    assert error["meta"] == {"title": "S", "icon": "discoverApp"} and ("title" in error) == (profile == "7.17")
    assert kibana.get("search", "s") is None


def test_import_conflict_without_overwrite_and_success_with_it():
    kibana = make("8")
    call(kibana, "POST", "/api/saved_objects/index-pattern/lp", {"attributes": {"title": "old"}})
    line = json.dumps({"type": "index-pattern", "id": "lp", "attributes": {"title": "new"}, "references": []})
    _code, result = do_import(kibana, line)
    assert result["errors"][0]["error"] == {"type": "conflict"} and kibana.get("index-pattern", "lp")["attributes"]["title"] == "old"
    _code, result = do_import(kibana, line, "?overwrite=true")
    assert result["successResults"][0]["overwrite"] is True and kibana.get("index-pattern", "lp")["attributes"]["title"] == "new"


def test_import_create_new_copies_regenerates_ids_and_references():
    kibana = make("8")
    falco_objects(kibana)
    raw = kibana.handle("POST", "/api/saved_objects/_export", ADMIN, b'{"type":["index-pattern","search"]}').body.decode()
    _code, result = do_import(kibana, raw, "?createNewCopies=true")
    dest = {r["id"]: r["destinationId"] for r in result["successResults"]}
    assert result["success"] and set(dest) == {"logstash", "falco"}
    copy_ = kibana.get("search", dest["falco"])
    assert copy_["references"][0]["id"] == dest["logstash"] and copy_["originId"] == "falco"


@pytest.mark.parametrize("query,filename,message", [
    ("?overwrite=true&createNewCopies=true", "export.ndjson", "[request query]: cannot use [overwrite] with [createNewCopies]"),
    ("", "export.json", "Invalid file extension .json"),
])
def test_import_rejections(query, filename, message):
    assert do_import(make("8"), "", query, filename) == (400, {"statusCode": 400, "error": "Bad Request", "message": message})


def test_import_of_8x_export_into_817_fails_per_object():
    kibana8 = make("8")
    call(kibana8, "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})
    raw = kibana8.handle("POST", "/api/saved_objects/_export", ADMIN, b'{"type":"index-pattern"}').body.decode()
    _code, result = do_import(make("7.17"), raw)
    assert result["success"] is False and "more recent version of Kibana [8.0.0]" in result["errors"][0]["error"]["message"]


def test_import_unsupported_type_is_reported():
    _code, result = do_import(make("8"), json.dumps({"type": "nope", "id": "x", "attributes": {}}))
    assert result["errors"][0]["error"] == {"type": "unsupported_type"}


# ---------------------------------------------------------------------- spaces
@pytest.mark.parametrize("profile", PROFILES)
def test_objects_are_per_space(profile):
    kibana = make(profile)
    assert call(kibana, "POST", "/api/spaces/space", {"id": "ops", "name": "Ops"})[0] == 200
    call(kibana, "POST", "/s/ops/api/saved_objects/search/x", {"attributes": {"title": "in ops"}})
    assert call(kibana, "GET", "/s/ops/api/saved_objects/search/x")[1]["namespaces"] == ["ops"]
    assert call(kibana, "GET", "/api/saved_objects/search/x")[0] == 404
    assert [s["id"] for s in call(kibana, "GET", "/api/spaces/space")[1]] == ["default", "ops"]


def test_8_multi_namespace_ids_are_unique_across_spaces_but_817_not():
    kibana8, kibana7 = make("8"), make("7.17")
    for kibana in (kibana8, kibana7):
        call(kibana, "POST", "/api/spaces/space", {"id": "ops", "name": "Ops"})
        call(kibana, "POST", "/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})
    assert call(kibana8, "POST", "/s/ops/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})[0] == 409
    assert call(kibana7, "POST", "/s/ops/api/saved_objects/index-pattern/x", {"attributes": {"title": "t"}})[0] == 200


@pytest.mark.parametrize("body,code,message", [
    ({"id": "Bad Id", "name": "x"}, 400, "[request body.id]: must be lower case, a-z, 0-9, '_', and '-' are allowed"),
    ({"id": "default", "name": "x"}, 409, "A space with the identifier default already exists."),
])
def test_space_create_errors(body, code, message):
    assert call(make("8"), "POST", "/api/spaces/space", body)[0:2] == (code, {
        "statusCode": code, "error": "Bad Request" if code == 400 else "Conflict", "message": message})


# ---------------------------------------------------------------------- data views
def test_data_view_create_resolves_fields_from_field_caps():
    kibana = make("8")
    code, body = call(kibana, "POST", "/api/data_views/data_view",
                      {"data_view": {"id": "lp", "title": "logstash-*", "timeFieldName": "@timestamp", "name": "Logs"}})
    view = body["data_view"]
    assert code == 200 and view["id"] == "lp" and view["timeFieldName"] == "@timestamp" and view["name"] == "Logs"
    assert view["fields"]["rule.keyword"]["aggregatable"] is True and view["fields"]["rule"]["type"] == "string"
    assert view["fields"]["@timestamp"]["type"] == "date" and view["namespaces"] == ["default"]
    assert kibana.get("index-pattern", "lp")["attributes"]["title"] == "logstash-*"


def test_data_view_duplicate_and_override():
    kibana = make("8")
    call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "a", "title": "logstash-*"}})
    assert call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "b", "title": "logstash-*"}})[1]["message"] == \
        "Duplicate data view: logstash-*"
    assert call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "b", "title": "logstash-*"}, "override": True})[0] == 200
    assert [v["id"] for v in call(kibana, "GET", "/api/data_views")[1]["data_view"]] == ["b"]


def test_data_view_get_delete_and_404():
    kibana = make("8")
    call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "a", "title": "logstash-*"}})
    assert call(kibana, "GET", "/api/data_views/data_view/a")[1]["data_view"]["title"] == "logstash-*"
    assert call(kibana, "DELETE", "/api/data_views/data_view/a")[0] == 200
    assert call(kibana, "GET", "/api/data_views/data_view/a") == (
        404, {"statusCode": 404, "error": "Not Found", "message": "Saved object [index-pattern/a] not found"})


def test_817_serves_index_patterns_api_but_not_data_views():
    kibana = make("7.17")
    code, body = call(kibana, "POST", "/api/index_patterns/index_pattern", {"index_pattern": {"id": "a", "title": "logstash-*"}})
    assert code == 200 and "@timestamp" in body["index_pattern"]["fields"]
    assert call(kibana, "POST", "/api/index_patterns/index_pattern", {"index_pattern": {"title": "logstash-*"}})[1]["message"] == \
        "Duplicate index pattern: logstash-*"
    assert call(kibana, "GET", "/api/data_views")[0] == 404


@pytest.mark.parametrize("version,name_taken", [("8.3.3", False), ("8.4.0", True), ("8.19.10", True)])
def test_a_data_view_name_is_refused_before_8_4(version, name_taken):
    """dataViewSpecSchema (src/plugins/data_views/server/rest_api_routes/util/schemas.ts) knows name since 8.4, refuses unknown keys."""
    kibana = make("8", version=version)
    code, body = call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "a", "title": "logstash-*", "name": "Logs"}})
    if name_taken:
        assert code == 200 and body["data_view"]["name"] == "Logs"
    else:
        assert (code, body["message"]) == (400, "[request body.data_view.name]: definition for this key is missing")
        assert kibana.objects() == []
        assert call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "a", "title": "logstash-*"}})[0] == 200
    assert call(kibana, "POST", "/api/data_views/data_view", {"data_view": {"id": "b", "title": "x-*", "colour": "red"}})[1]["message"] \
        == "[request body.data_view.colour]: definition for this key is missing"


@pytest.mark.parametrize("version,strict", [("7.17.29", False), ("8.7.1", False), ("8.8.0", True), ("8.19.10", True)])
@pytest.mark.parametrize("type_", ["search", "dashboard"])
def test_search_and_dashboard_attributes_are_strict_from_8_8(version, strict, type_):
    """Saved searches and dashboards validate their attributes from 8.8 (saved_search schema.ts, dashboard schema v1)."""
    kibana = make("7.17" if version.startswith("7") else "8", version=version)
    code, body = call(kibana, "POST", "/api/saved_objects/%s/x" % type_, {"attributes": {"title": "T", "colour": "red"}})
    if strict:
        assert (code, body["message"]) == (400, "[attributes.colour]: definition for this key is missing")
    else:
        assert code == 200
    assert call(kibana, "POST", "/api/saved_objects/%s/y" % type_, {"attributes": {"title": "T", "description": ""}})[0] == 200


def test_data_view_title_is_required():
    assert call(make("8"), "POST", "/api/data_views/data_view", {"data_view": {}})[1]["message"] == \
        "[request body.data_view.title]: expected value of type [string] but got [undefined]"


# ---------------------------------------------------------------------- auth
def test_8_without_credentials_is_401():
    assert call(make("8"), "GET", "/api/saved_objects/_find?type=search", None, {}) == (
        401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"})


def test_8_bad_basic_credentials_are_401_with_es_reason():
    code, body = call(make("8"), "GET", "/api/saved_objects/_find?type=search", None, {"Authorization": basic("elastic", "wrong")})
    assert code == 401 and "unable to authenticate user [elastic]" in body["message"]


def test_8_api_key_is_accepted():
    assert call(make("8"), "GET", "/api/saved_objects/_find?type=search", None, {"Authorization": "ApiKey a2V5OnNlY3JldA=="})[0] == 200


def test_8_user_without_kibana_privileges_gets_403():
    headers = {**XSRF, "Authorization": basic("nobody", "pw")}
    assert call(make("8"), "POST", "/api/saved_objects/search/x", {"attributes": {}}, headers) == (
        403, {"statusCode": 403, "error": "Forbidden", "message": "Unable to create search"})


def test_8_viewer_can_read_but_not_write():
    kibana = make("8")
    headers = {**XSRF, "Authorization": basic("reader", "pw")}
    assert call(kibana, "GET", "/api/saved_objects/_find?type=search", None, headers)[0] == 200
    assert call(kibana, "DELETE", "/api/saved_objects/search/x", None, headers)[0] == 403


def test_817_has_no_security_by_default():
    assert call(make("7.17"), "POST", "/api/saved_objects/search/x", {"attributes": {}}, {"kbn-xsrf": "1"})[0] == 200


# ---------------------------------------------------------------------- status
def test_8_status_is_available_and_redacted_without_credentials():
    kibana = make("8")
    code, body = call(kibana, "GET", "/api/status")
    assert code == 200 and body["version"]["number"] == "8.15.3" and body["status"]["overall"]["level"] == "available"
    assert call(kibana, "GET", "/api/status", None, {}) == (200, {"status": {"overall": {"level": "available"}}})


def test_817_status_is_legacy_green_unless_v8format():
    kibana = make("7.17")
    _code, body = call(kibana, "GET", "/api/status")
    assert body["version"]["number"] == "7.17.25" and body["status"]["overall"]["state"] == "green"
    assert call(kibana, "GET", "/api/status?v8format=true")[1]["status"]["overall"]["level"] == "available"


def test_kbn_name_header_on_every_answer():
    response = make("8").handle("GET", "/api/nothing-here", ADMIN)
    assert response.status == 404 and response.headers["kbn-name"] == "kibana"


# ---------------------------------------------------------------------- base path
BP = "/api/v1/namespaces/kube-system/services/kibana-logging/proxy"


@pytest.mark.parametrize("profile", PROFILES)
def test_base_path_without_rewrite_serves_unprefixed_and_redirects_with_prefix(profile):
    kibana = make(profile, base_path=BP)
    response = kibana.handle("GET", "/", ADMIN)
    assert response.status == 302 and response.headers["Location"] == BP + "/app/home"
    assert kibana.handle("GET", "/api/status", ADMIN).status == 200
    assert kibana.handle("GET", BP + "/api/status", ADMIN).status == 404


def test_base_path_with_rewrite_requires_prefix():
    kibana = make("8", base_path=BP, rewrite_base_path=True)
    assert kibana.handle("GET", BP + "/api/status", ADMIN).status == 200
    assert kibana.handle("GET", "/api/status", ADMIN).status == 404
    assert kibana.handle("GET", BP + "/s/default/api/saved_objects/_find?type=search", ADMIN).status == 200


def test_8_unauthenticated_page_redirects_to_login_under_base_path():
    response = make("8", base_path=BP).handle("GET", "/app/home", {})
    assert response.status == 302 and response.headers["Location"].startswith(BP + "/login?next=")


# ---------------------------------------------------------------------- broken objects
def reasons(kibana: Kibana) -> list[tuple[str, str, str]]:
    """broken_objects as sortable tuples."""
    return sorted((b["type"], b["id"], b["reason"]) for b in broken_objects(kibana))


@pytest.mark.parametrize("profile", PROFILES)
def test_intact_falco_objects_are_not_broken(profile):
    kibana = make(profile)
    falco_objects(kibana)
    assert not broken_objects(kibana)


def test_missing_reference_is_broken():
    kibana = make("8")
    falco_objects(kibana)
    call(kibana, "DELETE", "/api/saved_objects/index-pattern/logstash")
    assert ("search", "falco", "missing reference index-pattern/logstash (kibanaSavedObjectMeta.searchSourceJSON.index)") in reasons(kibana)


@pytest.mark.parametrize("attr", ["visState", "uiStateJSON", "kibanaSavedObjectMeta.searchSourceJSON"])
def test_unparsable_json_attribute_is_broken(attr):
    kibana = make("8")
    falco_objects(kibana)
    attributes = kibana.get("visualization", "rules")["attributes"]
    if "." in attr:
        attributes["kibanaSavedObjectMeta"]["searchSourceJSON"] = "{oops"
    else:
        attributes[attr] = "{oops"
    call(kibana, "PUT", "/api/saved_objects/visualization/rules", {"attributes": attributes})
    assert ("visualization", "rules", f"invalid JSON in {attr}") in reasons(kibana)


def test_dashboard_panel_ref_without_reference_is_broken():
    kibana = make("7.17")
    falco_objects(kibana)
    call(kibana, "PUT", "/api/saved_objects/dashboard/falco-dash", {"attributes": {}, "references": []})
    assert reasons(kibana) == [("dashboard", "falco-dash", "panel 1 panelRefName panel_0 names no reference")]


def test_index_ref_name_without_reference_is_broken():
    kibana = make("8")
    falco_objects(kibana)
    call(kibana, "PUT", "/api/saved_objects/search/falco", {"attributes": {}, "references": []})
    assert ("search", "falco", "indexRefName kibanaSavedObjectMeta.searchSourceJSON.index names no reference") in reasons(kibana)


@pytest.mark.parametrize("field,expected", [
    ("output_fields.k8s.pod.name.keyword", "aggregation 2 (terms) on field output_fields.k8s.pod.name.keyword missing from data view logstash-*"),
    ("rule", "aggregation 2 (terms) on field rule not aggregatable in data view logstash-*"),
])
def test_visualization_agg_on_unusable_field_is_broken(field, expected):
    kibana = make("8")
    falco_objects(kibana)
    attributes = kibana.get("visualization", "rules")["attributes"]
    vis = json.loads(attributes["visState"])
    vis["aggs"][1]["params"]["field"] = field
    call(kibana, "PUT", "/api/saved_objects/visualization/rules", {"attributes": {"visState": json.dumps(vis)}})
    assert reasons(kibana) == [("visualization", "rules", expected)]


def test_saved_search_column_and_sort_on_missing_fields_are_broken():
    kibana = make("8")
    falco_objects(kibana)
    call(kibana, "PUT", "/api/saved_objects/search/falco", {"attributes": {"columns": ["nope"], "sort": [["gone", "asc"]]}})
    assert reasons(kibana) == [("search", "falco", "column nope missing from data view logstash-*"),
                               ("search", "falco", "sort on field gone missing from data view logstash-*")]


def test_broken_objects_are_per_space():
    kibana = make("7.17")
    call(kibana, "POST", "/api/spaces/space", {"id": "ops", "name": "Ops"})
    call(kibana, "POST", "/s/ops/api/saved_objects/search/s", {"attributes": {"title": "s"},
                                                               "references": [{"name": "r", "type": "index-pattern", "id": "x"}]})
    assert not broken_objects(kibana) and len(broken_objects(kibana, "ops")) == 1


# ---------------------------------------------------------------------- engine API
def test_engine_create_raises_kibana_error_on_conflict():
    kibana = make("8")
    kibana.create("search", {"title": "a"}, "x")
    with pytest.raises(KibanaError) as err:
        kibana.create("search", {"title": "a"}, "x")
    assert err.value.status == 409


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError):
        Kibana("6.8")


def test_engine_is_thread_safe_under_concurrent_creates():
    kibana = make("8")
    threads = [threading.Thread(target=lambda i=i: kibana.create("search", {"title": str(i)}, f"s{i}")) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = {o["version"] for o in kibana.objects()}
    assert len(kibana.objects()) == 40 and len(versions) == 40


# ---------------------------------------------------------------------- HTTP
@pytest.fixture(name="served")
def fixture_served():
    """A KibanaServer (8, security on) in a thread."""
    hooks = Hooks()
    server = KibanaServer(make("8"), hooks=hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def over_http(server: KibanaServer, method: str, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any, Any]:
    """One request over HTTP with urllib."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=ADMIN if headers is None else headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw and "application/json" in response.headers.get("Content-Type", "") else raw, response.headers
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None, err.headers


def test_http_create_get_and_kbn_name_header(served):
    code, body, _headers = over_http(served, "POST", "/api/saved_objects/index-pattern/lp", {"attributes": {"title": "logstash-*"}})
    assert code == 200 and body["id"] == "lp"
    code, body, headers = over_http(served, "GET", "/api/saved_objects/index-pattern/lp")
    assert code == 200 and body["attributes"]["title"] == "logstash-*" and headers["kbn-name"] == "kibana"


def test_http_401_and_xsrf(served):
    assert over_http(served, "GET", "/api/data_views", None, {})[0:2] == (401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"})
    assert over_http(served, "POST", "/api/saved_objects/search/x", {"attributes": {}}, {"Authorization": basic("elastic", "changeme")})[1]["message"] \
        == "Request must contain a kbn-xsrf header."


def test_http_import_export_round_trip(served):
    falco = make("8")
    falco_objects(falco)
    raw = falco.handle("POST", "/api/saved_objects/_export", ADMIN, b'{"type":["index-pattern","search"]}').body.decode()
    body, ctype = multipart(raw)
    code, result, _headers = over_http(served, "POST", "/api/saved_objects/_import?overwrite=true", body, {**ADMIN, "Content-Type": ctype})
    assert code == 200 and result["successCount"] == 2
    code, raw_export, headers = over_http(served, "POST", "/api/saved_objects/_export", {"type": "search"})
    assert code == 200 and headers["Content-Disposition"] == 'attachment; filename="export.ndjson"'
    assert json.loads(raw_export.decode().split("\n")[0])["id"] == "falco"


def test_http_records_requests_with_user_and_serves_hooks_without_auth(served):
    over_http(served, "GET", "/api/status")
    over_http(served, "GET", "/api/status", None, {})
    _code, log, _headers = over_http(served, "GET", "/_localcluster/requests", None, {})
    assert [(r["path"], r["code"], r["user"]) for r in log["requests"]] == [("/api/status", 200, "elastic"), ("/api/status", 200, None)]


def test_http_faults_are_honoured(served):
    over_http(served, "POST", "/_localcluster/faults", {"pattern": "GET /api/status", "count": 1, "status": 503}, {"Content-Type": "application/json"})
    assert over_http(served, "GET", "/api/status")[0] == 503
    assert over_http(served, "GET", "/api/status")[0] == 200


def test_http_keep_alive_serves_several_requests_on_one_connection(served):
    connection = http.client.HTTPConnection(served.server_address[0], served.server_address[1], timeout=10)
    for _attempt in range(3):
        connection.request("GET", "/api/status", headers=ADMIN)
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["version"]["number"] == "8.15.3"
    connection.close()
