"""kibana_saved_object as Ansible runs it, against the local cluster's Kibana emulator (7.17, security off; 8, security on).

Tests of one stack profile share a cluster and run in file order: the runbook's objects are created first, then run
again, edited in Kibana, deleted in Kibana, and so on. Kibana 7.17 is reached through the API server's service proxy,
Kibana 8 at its URL with the elastic user (and through the proxy with a session login, in its own tests).
"""

from __future__ import annotations

import base64
import copy
import json
import urllib.error
import urllib.request

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import saved_objects as so
from ansible_collections.seclog.falco_efk.plugins.modules import kibana_saved_object, kibana_saved_object_info
import efk_template
from localcluster.alerts import AlertStream, FalcoPod, dedot
from localcluster.kibana import PROFILES as KIBANA_PROFILES, broken_objects
from localcluster.pytest_plugin import serve, wait_for

BOTH = pytest.mark.parametrize("localcluster", [("1.30", "gke", "7.17"), ("1.30", "gke", "8")], indirect=True, ids=["kibana7", "kibana8"])
KB8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True, ids=["kibana8"])
# A workload that stands in for Kibana (no image contract applies to it).
KIBANA_STAND_IN = "stand-in.localcluster.test/kibana:8.15.3"
NAME = "kibana-logging"
LABELS = {"app.kubernetes.io/name": "kibana", "app.kubernetes.io/instance": NAME}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
SESSION_PATHS = ("/internal/security/login", "/api/security/logout")
WRONG = "not-the-Password-42"


# ---------------------------------------------------------------------------------------------- the stack
@pytest.fixture(name="stack", scope="module")
def fixture_stack(localcluster):
    """Elasticsearch and Kibana as the efk role deploys them (Kibana with the base path the proxy needs), and Falco alerts
    in logstash-* (what the broken-objects check reads the data view's fields from)."""
    es_apps = serve(localcluster, "logging", "StatefulSet", "elasticsearch-logging",
                    {"app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": "elasticsearch-logging"},
                    {"name": "http", "port": 9200}, "stand-in.localcluster.test/elasticsearch:8.15.3", {"name": "elasticsearch"})
    wait_for(lambda: es_apps.read_namespaced_stateful_set_status("elasticsearch-logging", "logging").status.ready_replicas)
    base_path = "/api/v1/namespaces/logging/services/%s/proxy" % NAME
    apps = serve(localcluster, "logging", "Deployment", NAME, LABELS, {"name": "ui", "port": 5601}, KIBANA_STAND_IN,
                 {"name": "kibana", "env": [{"name": "SERVER_BASEPATH", "value": base_path}, {"name": "SERVER_REWRITEBASEPATH", "value": "false"}]})
    wait_for(lambda: apps.read_namespaced_deployment_status(NAME, "logging").status.ready_replicas)
    es = localcluster.server.cluster.stack.es
    efk_template.install(es, admin_auth(localcluster))
    pods = [FalcoPod(node="node-1", pod_name="falco-x1", namespace="falco", pod_uid="uid-1", container_id="containerd://" + "a" * 64)]
    docs = AlertStream(seed=3).alerts(pods, 1700000000, 1700000600, frozenset({"node-1"}))
    es.index_documents("logstash-2023.11.14", [dedot(d) for d in docs])
    return localcluster


def admin_auth(localcluster, password=None):
    es = localcluster.endpoints["elasticsearch"]
    return "Basic " + base64.b64encode(("%s:%s" % (es["username"], password or es["password"])).encode()).decode()


def engine(localcluster):
    return localcluster.server.cluster.stack.kibana


def dialect(localcluster):
    return so.dialect(engine(localcluster).version)


def runbook(localcluster):
    """The runbook's objects in creation order (index pattern first), in this Kibana's dialect."""
    return so.build_all(None, dialect(localcluster))


def by_type(localcluster, type_):
    return next(obj for obj in runbook(localcluster) if obj["type"] == type_)


def connection(localcluster, **extra):
    """Kibana 8 at its URL as the elastic user; Kibana 7.17 (security off) through the API server's service proxy."""
    if engine(localcluster).is8:
        es = localcluster.endpoints["elasticsearch"]
        base = {"kibana_url": localcluster.endpoints["kibana"]["url"], "kibana_username": es["username"], "kibana_password": es["password"]}
    else:
        base = {"kubeconfig": localcluster.kubeconfig}
    return dict(base, timeout=5, **extra)


def proxied_login(localcluster, password=None, **extra):
    """Through the service proxy, logged in to Kibana with the elastic user's password (a session cookie)."""
    es = localcluster.endpoints["elasticsearch"]
    return dict({"kubeconfig": localcluster.kubeconfig, "kibana_username": es["username"], "kibana_password": password or es["password"],
                 "timeout": 5}, **extra)


def task(obj, **extra):
    return dict({"type": obj["type"], "id": obj["id"], "attributes": copy.deepcopy(obj["attributes"]),
                 "references": copy.deepcopy(obj["references"])}, **extra)


def kibana(localcluster, method, path, body=None, password=None):
    """A request straight to Kibana as the elastic user: (status, decoded body)."""
    headers = {"kbn-xsrf": "true", "Content-Type": "application/json", "Authorization": admin_auth(localcluster, password)}
    request = urllib.request.Request(localcluster.endpoints["kibana"]["url"] + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw, status = answer.read(), answer.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    return status, json.loads(raw) if raw.strip() else None


def kibana_log(localcluster, clear=False):
    """Kibana's request log (every request it received, by URL or through the proxy)."""
    request = urllib.request.Request(localcluster.endpoints["kibana"]["hooks"] + "/requests", method="DELETE" if clear else "GET")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer).get("requests", [])


def kibana_writes(localcluster):
    """``METHOD path`` of the writes Kibana received (session logins and logouts are not writes of objects)."""
    return ["%s %s" % (r["method"], r["path"]) for r in kibana_log(localcluster)
            if r["method"] in WRITES and not r["path"].endswith(SESSION_PATHS)]


def count(localcluster, type_, space="default"):
    prefix = "" if space == "default" else "/s/" + space
    status, body = kibana(localcluster, "GET", prefix + "/api/saved_objects/_find?type=%s&per_page=100" % type_)
    assert status == 200, body
    return body["total"]


def secrets_absent(result, *secrets):
    text = json.dumps(result)
    return all(s not in text for s in secrets if s)


# ---------------------------------------------------------------------------------------------- both profiles, in order
@BOTH
def test_every_runbook_object_is_created_index_pattern_first_and_none_is_broken(stack, run_module):
    kibana_log(stack, clear=True)
    objects = runbook(stack)
    assert objects[0]["type"] == "index-pattern"
    for obj in objects:
        exited = run_module(kibana_saved_object.main, connection(stack, **task(obj)))
        assert not exited.failed, exited.result["msg"]
        result = exited.result
        assert result["changed"] is True and result["differences"] == ["%s/%s: does not exist" % (obj["type"], obj["id"])]
        assert result["version"] == engine(stack).version and result["dialect"] == dialect(stack)
        assert result["object"]["id"] == obj["id"] and so.differences(obj, result["object"]) == []
    writes = kibana_writes(stack)
    if engine(stack).is8:
        assert writes[0] == "POST /api/data_views/data_view"
        assert exited.result["route"] == "url"
    else:
        assert writes[0] == "POST /api/saved_objects/index-pattern/seclog-falco-logstash"
        assert exited.result["route"] == "service_proxy"
    assert len(writes) == len(objects) and all(w.startswith("POST /api/saved_objects/") for w in writes[1:])
    assert broken_objects(engine(stack)) == []
    assert len(engine(stack).objects()) == 9


@BOTH
def test_a_second_run_of_each_object_changes_nothing_and_writes_nothing(stack, run_module):
    kibana_log(stack, clear=True)
    for obj in runbook(stack):
        exited = run_module(kibana_saved_object.main, connection(stack, **task(obj)))
        assert not exited.failed and exited.result["changed"] is False, exited.result
        assert exited.result["differences"] == [] and exited.result["api"] is None
        assert exited.result["object"]["id"] == obj["id"]
    assert kibana_writes(stack) == []


@BOTH
@pytest.mark.parametrize("edited", ["search", "index-pattern"])
def test_an_object_edited_in_kibana_is_the_only_one_changed_and_is_restored(stack, run_module, edited):
    obj = by_type(stack, edited)
    status, body = kibana(stack, "PUT", "/api/saved_objects/%s/%s" % (edited, obj["id"]), {"attributes": {"title": "Edited in Kibana"}})
    assert status == 200, body
    kibana_log(stack, clear=True)
    changed = {}
    for each in runbook(stack):
        exited = run_module(kibana_saved_object.main, connection(stack, **task(each)))
        assert not exited.failed, exited.result["msg"]
        if exited.result["changed"]:
            changed[each["id"]] = exited.result["differences"]
    assert changed == {obj["id"]: ['attributes.title: expected "%s", found "Edited in Kibana"' % obj["attributes"]["title"]]}
    status, body = kibana(stack, "GET", "/api/saved_objects/%s/%s" % (edited, obj["id"]))
    assert status == 200 and body["attributes"]["title"] == obj["attributes"]["title"]
    if edited == "index-pattern" and engine(stack).is8:
        # The data views API cannot overwrite an id: the data view is deleted and created again under it.
        assert kibana_writes(stack) == ["DELETE /api/data_views/data_view/seclog-falco-logstash", "POST /api/data_views/data_view"]
    else:
        assert kibana_writes(stack) == ["POST /api/saved_objects/%s/%s" % (edited, obj["id"])]
    assert count(stack, "index-pattern") == 1 and broken_objects(engine(stack)) == []


@BOTH
def test_a_data_view_deleted_in_kibana_is_created_again_once(stack, run_module):
    obj = by_type(stack, "index-pattern")
    path = "/api/data_views/data_view/" if engine(stack).is8 else "/api/saved_objects/index-pattern/"
    status, body = kibana(stack, "DELETE", path + obj["id"])
    assert status == 200, body
    assert count(stack, "index-pattern") == 0 and broken_objects(engine(stack))
    first = run_module(kibana_saved_object.main, connection(stack, **task(obj)))
    again = run_module(kibana_saved_object.main, connection(stack, **task(obj)))
    assert first.result["changed"] is True and first.result["differences"] == ["index-pattern/seclog-falco-logstash: does not exist"]
    assert first.result["api"] == ("data_views" if engine(stack).is8 else "saved_objects")
    assert again.result["changed"] is False and again.result["differences"] == []
    assert count(stack, "index-pattern") == 1 and broken_objects(engine(stack)) == []


@BOTH
def test_check_mode_with_diff_reports_the_change_and_writes_nothing(stack, run_module):
    obj = by_type(stack, "dashboard")
    status, body = kibana(stack, "PUT", "/api/saved_objects/dashboard/%s" % obj["id"], {"attributes": {"title": "Edited"}})
    assert status == 200, body
    kibana_log(stack, clear=True)
    checked = run_module(kibana_saved_object.main, connection(stack, _ansible_diff=True, **task(obj)), check_mode=True)
    result = checked.result
    assert not checked.failed and result["changed"] is True and result["api"] == "saved_objects"
    assert result["differences"] == ['attributes.title: expected "Falco security events", found "Edited"']
    assert result["object"]["attributes"]["title"] == "Edited"
    assert result["diff"]["before"]["attributes"]["title"] == "Edited"
    assert result["diff"]["after"]["attributes"]["title"] == "Falco security events"
    # *JSON strings are shown as data; only the attributes the task states, and the references.
    assert isinstance(result["diff"]["after"]["attributes"]["panelsJSON"], list)
    assert sorted(result["diff"]["before"]["attributes"]) == sorted(obj["attributes"])
    assert result["diff"]["before"]["references"] == result["diff"]["after"]["references"]
    assert kibana_writes(stack) == []
    restored = run_module(kibana_saved_object.main, connection(stack, _ansible_diff=True, **task(obj)))
    assert restored.result["changed"] is True and restored.result["object"]["attributes"]["title"] == "Falco security events"
    unchanged = run_module(kibana_saved_object.main, connection(stack, _ansible_diff=True, **task(obj)))
    assert unchanged.result["changed"] is False and unchanged.result["diff"]["before"] == unchanged.result["diff"]["after"]


@BOTH
def test_state_absent_deletes_once_and_check_mode_only_reports(stack, run_module):
    search = by_type(stack, "search")
    scratch = so.visualization("seclog-falco-scratch", "Scratch", "pie", search_id=search["id"], field="rule", dialect=dialect(stack))
    assert run_module(kibana_saved_object.main, connection(stack, **task(scratch))).result["changed"] is True
    gone = {"type": "visualization", "id": scratch["id"], "state": "absent"}
    checked = run_module(kibana_saved_object.main, connection(stack, **gone), check_mode=True)
    assert checked.result["changed"] is True and checked.result["object"]["id"] == scratch["id"]
    assert kibana(stack, "GET", "/api/saved_objects/visualization/" + scratch["id"])[0] == 200
    kibana_log(stack, clear=True)
    deleted = run_module(kibana_saved_object.main, connection(stack, _ansible_diff=True, **gone))
    assert deleted.result["changed"] is True and deleted.result["object"] is None
    assert deleted.result["differences"] == ["visualization/seclog-falco-scratch: exists"]
    assert deleted.result["diff"]["after"] == {} and deleted.result["diff"]["before"]["attributes"]["title"] == "Scratch"
    assert kibana_writes(stack) == ["DELETE /api/saved_objects/visualization/seclog-falco-scratch"]
    again = run_module(kibana_saved_object.main, connection(stack, **gone))
    assert again.result["changed"] is False and again.result["object"] is None and again.result["differences"] == []
    assert kibana(stack, "GET", "/api/saved_objects/visualization/" + scratch["id"])[0] == 404
    assert broken_objects(engine(stack)) == []


@BOTH
def test_an_index_pattern_absent_goes_through_the_api_that_made_it(stack, run_module):
    view = so.index_pattern("seclog-falco-scratch-view", "scratch-*", dialect=dialect(stack))
    assert run_module(kibana_saved_object.main, connection(stack, **task(view))).result["changed"] is True
    kibana_log(stack, clear=True)
    deleted = run_module(kibana_saved_object.main, connection(stack, type="index-pattern", id=view["id"], state="absent"))
    assert deleted.result["changed"] is True
    path = "/api/data_views/data_view/" if engine(stack).is8 else "/api/saved_objects/index-pattern/"
    assert kibana_writes(stack) == ["DELETE " + path + view["id"]]
    assert count(stack, "index-pattern") == 1


@BOTH
def test_objects_in_another_space_go_under_its_prefix(stack, run_module):
    status, body = kibana(stack, "POST", "/api/spaces/space", {"id": "security", "name": "Security"})
    assert status == 200, body
    view = so.index_pattern("seclog-falco-security-view", "logstash-*", dialect=dialect(stack))
    kibana_log(stack, clear=True)
    created = run_module(kibana_saved_object.main, connection(stack, space="security", **task(view)))
    assert not created.failed and created.result["changed"] is True, created.result
    writes = kibana_writes(stack)
    assert writes == (["POST /s/security/api/data_views/data_view"] if engine(stack).is8 else
                      ["POST /s/security/api/saved_objects/index-pattern/seclog-falco-security-view"])
    again = run_module(kibana_saved_object.main, connection(stack, space="security", **task(view)))
    assert again.result["changed"] is False
    assert count(stack, "index-pattern", "security") == 1 and count(stack, "index-pattern") == 1
    assert broken_objects(engine(stack), "security") == []


@BOTH
def test_an_unknown_space_fails_clearly_before_any_write(stack, run_module):
    kibana_log(stack, clear=True)
    exited = run_module(kibana_saved_object.main, connection(stack, space="nowhere", **task(by_type(stack, "dashboard"))))
    message = exited.result["msg"]
    assert exited.failed and exited.result["changed"] is False and exited.result["version"] == engine(stack).version
    assert message.startswith("Kibana space nowhere does not exist (GET /api/spaces/space/nowhere on ")
    assert "(HTTP 404): Not Found" in message and message.endswith("create it first (Stack Management > Spaces, or POST "
                                                                   "/api/spaces/space), or fix space.")
    assert kibana_writes(stack) == []


@BOTH
@pytest.mark.parametrize("args, message", [
    ({"state": "present"}, "state is present but all of the following are missing: attributes"),
    ({"state": "absent", "space": "Security Team"}, "space 'Security Team' is not a Kibana space id (lower case a-z, 0-9, '_' and '-')."),
    ({"state": "absent", "timeout": 0}, "timeout must be 1 second or more (got 0)"),
    ({"state": "absent", "id": " "}, "id must not be empty."),
    ({"state": "absent", "references": [{"name": "x", "type": "search"}]},
     "missing required arguments: id found in references"),
    ({"state": "absent", "kibana_namespace": "Logging_NS"}, "kibana_namespace: 'Logging_NS' is not a namespace name"),
])
def test_bad_options_fail_clearly_before_any_request(stack, run_module, args, message):
    kibana_log(stack, clear=True)
    options = dict({"type": "dashboard", "id": "seclog-falco-dashboard"}, **args)
    exited = run_module(kibana_saved_object.main, dict(connection(stack), **options))
    assert exited.failed and message in exited.result["msg"], exited.result["msg"]
    assert kibana_log(stack) == []


@BOTH
def test_an_unknown_type_fails_with_kibanas_message_and_the_object(stack, run_module):
    exited = run_module(kibana_saved_object.main, connection(stack, type="falco-rule", id="seclog-falco-x", attributes={"title": "X"}))
    message = exited.result["msg"]
    assert exited.failed and exited.result["changed"] is False
    assert message.startswith("Could not write falco-rule/seclog-falco-x: POST /api/saved_objects/falco-rule/seclog-falco-x on ")
    assert "failed (HTTP 400): Unsupported saved object type: 'falco-rule': Bad Request." in message
    assert message.endswith("This Kibana serves no saved object type falco-rule: check type.")


# ---------------------------------------------------------------------------------------------- Kibana 8
@KB8
def test_wrong_password_by_url_fails_with_the_401_and_not_the_password(stack, run_module):
    exited = run_module(kibana_saved_object.main, dict(connection(stack, **task(by_type(stack, "search"))), kibana_password=WRONG))
    message = exited.result["msg"]
    assert exited.failed and exited.result["changed"] is False and exited.result["version"] is None
    assert message.startswith("Could not read Kibana's version: GET /api/status on %s failed (HTTP 401): "
                              % stack.endpoints["kibana"]["url"])
    assert "unable to authenticate user [elastic]" in message and "Check the username and password or the API key. Give kibana_password " \
        "of kibana_username: the efk role keeps elastic's in the Secret elasticsearch-logging-elastic" in message
    assert secrets_absent(exited.result, WRONG, base64.b64encode(b"elastic:" + WRONG.encode()).decode())


@KB8
def test_through_the_proxy_without_credentials_asks_for_them(stack, run_module):
    exited = run_module(kibana_saved_object.main, dict(kubeconfig=stack.kubeconfig, **task(by_type(stack, "search"))))
    assert exited.failed and exited.result["route"] == "service_proxy"
    assert exited.result["msg"] == (
        "Kibana (service logging/kibana-logging through the API server proxy) tells anonymous callers no version and keeps its "
        "saved objects from them: give kibana_username and kibana_password (through the API server proxy they log in to Kibana "
        "for a session cookie), or kibana_url with kibana_api_key.")


@KB8
def test_through_the_proxy_a_session_login_reads_and_writes_and_logs_out(stack, run_module):
    kibana_log(stack, clear=True)
    for obj in runbook(stack):
        exited = run_module(kibana_saved_object.main, proxied_login(stack, **task(obj)))
        assert not exited.failed and exited.result["changed"] is False and exited.result["route"] == "service_proxy", exited.result
    assert kibana_writes(stack) == [] and engine(stack).sessions() == []
    logins = [r for r in kibana_log(stack) if r["path"].endswith("/internal/security/login")]
    assert len(logins) == len(runbook(stack))
    view = so.index_pattern("seclog-falco-proxy-view", "proxy-*", dialect="8")
    created = run_module(kibana_saved_object.main, proxied_login(stack, **task(view)))
    assert created.result["changed"] is True and created.result["api"] == "data_views"
    assert secrets_absent(created.result, stack.endpoints["elasticsearch"]["password"])
    removed = run_module(kibana_saved_object.main, proxied_login(stack, type="index-pattern", id=view["id"], state="absent"))
    assert removed.result["changed"] is True and engine(stack).sessions() == []


@KB8
def test_wrong_password_through_the_proxy_names_the_login_without_the_password(stack, run_module):
    exited = run_module(kibana_saved_object.main, proxied_login(stack, password=WRONG, **task(by_type(stack, "search"))))
    message = exited.result["msg"]
    assert exited.failed and exited.result["changed"] is False
    assert message.startswith("Could not read Kibana's version: POST /internal/security/login on service logging/kibana-logging "
                              "through the API server proxy failed (HTTP 401)")
    assert "unable to authenticate user [elastic]" in message and secrets_absent(exited.result, WRONG)


@KB8
def test_a_user_without_kibana_privileges_is_told_what_it_lacks(stack, run_module):
    es = stack.endpoints["elasticsearch"]
    request = urllib.request.Request(es["url"] + "/_security/user/reader", method="PUT",
                                     data=json.dumps({"password": "reader-Password-1", "roles": ["viewer"]}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": admin_auth(stack)})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    obj = by_type(stack, "search")
    edited = task(obj)
    edited["attributes"]["title"] = "Not allowed"
    exited = run_module(kibana_saved_object.main, dict(connection(stack, **edited), kibana_username="reader",
                                                       kibana_password="reader-Password-1"))
    message = exited.result["msg"]
    assert exited.failed and exited.result["changed"] is False
    assert message.startswith("Could not write search/seclog-falco-alerts: POST /api/saved_objects/search/seclog-falco-alerts")
    assert "(HTTP 403): Forbidden: Unable to create search." in message
    assert message.endswith("The Kibana user lacks privileges for search objects in space default: give it a role with the 'all' "
                            "privilege on the Saved Objects Management feature (or the type's application) in that space, such "
                            "as kibana_admin or editor.")


@KB8
def test_an_id_taken_in_another_space_is_a_conflict_with_a_remedy(stack, run_module):
    status, body = kibana(stack, "POST", "/api/spaces/space", {"id": "other", "name": "Other"})
    assert status == 200, body
    exited = run_module(kibana_saved_object.main, connection(stack, space="other", **task(by_type(stack, "dashboard"))))
    message = exited.result["msg"]
    assert exited.failed and exited.result["differences"] == ["dashboard/seclog-falco-dashboard: does not exist"]
    assert message.startswith("Could not write dashboard/seclog-falco-dashboard in space other: POST "
                              "/s/other/api/saved_objects/dashboard/seclog-falco-dashboard")
    assert "(HTTP 409): Conflict: Saved object [dashboard/seclog-falco-dashboard] conflict." in message
    assert "ids of index-pattern, search, visualization and dashboard objects are unique across spaces" in message


@KB8
def test_a_data_view_attribute_the_api_cannot_take_is_refused_before_any_write(stack, run_module):
    kibana_log(stack, clear=True)
    view = so.index_pattern("seclog-falco-logstash", dialect="8")
    coloured = task(view)
    coloured["attributes"]["colour"] = "red"
    exited = run_module(kibana_saved_object.main, connection(stack, **coloured))
    assert exited.failed and exited.result["msg"].startswith(
        "index-pattern/seclog-falco-logstash: Kibana 8.15.3 keeps index patterns as data views, whose API takes no colour; state only ")
    assert kibana_writes(stack) == []


@KB8
def test_a_data_view_lost_between_delete_and_create_says_so_and_counts_as_changed(stack, run_module):
    view = by_type(stack, "index-pattern")
    status, body = kibana(stack, "PUT", "/api/saved_objects/index-pattern/" + view["id"], {"attributes": {"timeFieldName": "time"}})
    assert status == 200, body
    fault = urllib.request.Request(stack.endpoints["kibana"]["hooks"] + "/faults", method="POST", headers={"Content-Type": "application/json"},
                                   data=json.dumps({"pattern": "^POST /api/data_views/data_view$", "count": 1, "status": 400}).encode())
    urllib.request.urlopen(fault, timeout=10).close()
    failed = run_module(kibana_saved_object.main, connection(stack, **task(view)))
    assert failed.failed and failed.result["changed"] is True and failed.result["api"] == "data_views"
    assert failed.result["differences"] == ['attributes.timeFieldName: expected "@timestamp", found "time"']
    assert "POST /api/data_views/data_view on %s failed (HTTP 400)" % stack.endpoints["kibana"]["url"] in failed.result["msg"]
    assert "The data view was deleted to be created again under its id: run the task again." in failed.result["msg"]
    assert count(stack, "index-pattern") == 0
    again = run_module(kibana_saved_object.main, connection(stack, **task(view)))
    assert again.result["changed"] is True and count(stack, "index-pattern") == 1 and broken_objects(engine(stack)) == []


@BOTH
def test_json_attributes_given_as_data_are_stored_as_strings(stack, run_module):
    pie = next(obj for obj in runbook(stack) if obj["id"] == "seclog-falco-top-rules-pie")
    as_data = task(pie)
    as_data["attributes"]["visState"] = json.loads(pie["attributes"]["visState"])
    meta = as_data["attributes"]["kibanaSavedObjectMeta"]
    meta["searchSourceJSON"] = json.loads(meta["searchSourceJSON"])
    exited = run_module(kibana_saved_object.main, connection(stack, **as_data))
    assert not exited.failed and exited.result["changed"] is False and exited.result["differences"] == []
    as_data["attributes"]["visState"]["title"] = "Top rules"
    exited = run_module(kibana_saved_object.main, connection(stack, **as_data))
    assert exited.result["differences"] == ['attributes.visState.title: expected "Top rules", found "Top 10 Falco rules"']
    stored = exited.result["object"]["attributes"]
    assert isinstance(stored["visState"], str) and json.loads(stored["visState"])["title"] == "Top rules"
    assert isinstance(stored["kibanaSavedObjectMeta"]["searchSourceJSON"], str)
    assert run_module(kibana_saved_object.main, connection(stack, **task(pie))).result["changed"] is True
    assert broken_objects(engine(stack)) == []


@BOTH
def test_info_reads_an_object_and_writes_nothing(stack, run_module):
    kibana_log(stack, clear=True)
    exited = run_module(kibana_saved_object_info.main, connection(stack, type="dashboard", id="seclog-falco-dashboard", require=True))
    assert not exited.failed and exited.result["changed"] is False and exited.result["exists"] is True
    assert exited.result["object"]["attributes"]["title"] == "Falco security events"
    assert exited.result["version"] == engine(stack).version and kibana_writes(stack) == []


@BOTH
def test_info_on_a_missing_object_says_so_and_fails_only_when_required(stack, run_module):
    missing = run_module(kibana_saved_object_info.main, connection(stack, type="index-pattern", id="no-such-view"))
    assert not missing.failed and missing.result["exists"] is False and missing.result["object"] is None
    required = run_module(kibana_saved_object_info.main, connection(stack, type="index-pattern", id="no-such-view", require=True))
    assert required.failed and "has no index-pattern/no-such-view. Check the id" in required.result["msg"]
    space = run_module(kibana_saved_object_info.main, connection(stack, type="index-pattern", id="x", space="nowhere"))
    assert space.failed and "Kibana space nowhere does not exist" in space.result["msg"]


KIBANA8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True, ids=["kibana8"])


@KIBANA8
def test_kibana_8_3_gets_a_data_view_without_the_name_its_schema_lacks(stack, run_module):
    """8.3 serves the data views API but its spec has no name (8.4 added it): sent, it would be refused with a 400."""
    kibana_engine = engine(stack)
    kibana_engine.version = "8.3.3"
    try:
        attributes = {"title": "falco83-*", "name": "falco83-*", "timeFieldName": "@timestamp"}
        args = connection(stack, type="index-pattern", id="seclog-test-83", attributes=attributes)
        exited = run_module(kibana_saved_object.main, args)
        assert not exited.failed and exited.result["changed"] is True, exited.result
        stored = kibana_engine.get("index-pattern", "seclog-test-83")
        assert stored["attributes"]["title"] == "falco83-*" and not stored["attributes"].get("name")
        kibana_log(stack, clear=True)
        again = run_module(kibana_saved_object.main, args)
        assert again.result["changed"] is False and kibana_writes(stack) == []
    finally:
        kibana_engine.version = KIBANA_PROFILES["8"]["version"]
        kibana(stack, "DELETE", "/api/data_views/data_view/seclog-test-83")


@KIBANA8
def test_a_data_view_of_someone_elses_with_the_name_is_refused_and_left_alone(stack, run_module):
    """Kibana keeps one data view per name, and override would delete theirs: the module refuses and names the way out."""
    status, body = kibana(stack, "POST", "/api/data_views/data_view", {"data_view": {"id": "theirs", "title": "shared-*", "name": "shared-*"}})
    assert status == 200, body
    try:
        kibana_log(stack, clear=True)
        exited = run_module(kibana_saved_object.main, connection(stack, type="index-pattern", id="seclog-test-ours",
                                                                 attributes={"title": "shared-*", "name": "shared-*"}))
        assert exited.failed
        assert "Kibana already has data view shared-* (id theirs), which this task did not create" in exited.result["msg"]
        assert "kibana_dashboards_data_view_id" in exited.result["msg"] and "Nothing was changed." in exited.result["msg"]
        assert kibana_writes(stack) == []
        assert engine(stack).get("index-pattern", "theirs") is not None
        # Another name over the same indices is no conflict: Kibana tells data views apart by name.
        other = run_module(kibana_saved_object.main, connection(stack, type="index-pattern", id="seclog-test-ours",
                                                                attributes={"title": "shared-*", "name": "Falco alerts"}))
        assert not other.failed and other.result["changed"] is True, other.result
        assert engine(stack).get("index-pattern", "theirs") is not None
    finally:
        for view in ("theirs", "seclog-test-ours"):
            kibana(stack, "DELETE", "/api/data_views/data_view/" + view)


@pytest.mark.parametrize("version, expected", [("7.17.25", False), ("8.2.3", False), ("8.3.0", True), ("8.15.3", True), ("9.1.0", True)])
def test_index_patterns_go_through_the_data_views_api_from_8_3(version, expected):
    assert kibana_saved_object.uses_data_views("index-pattern", version) is expected
    assert kibana_saved_object.uses_data_views("search", version) is False
