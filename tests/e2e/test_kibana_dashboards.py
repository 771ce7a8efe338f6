"""Stage 5 against the Kibana emulator (7.17 and 8): objects created and unbroken, idempotent, restored when edited."""

from __future__ import annotations

import base64
import json
import time

import pytest
from kubernetes import client

from localcluster.alerts import AlertStream, FalcoPod, dedot
from localcluster.kibana import broken_objects, run_visualization
from localcluster.pytest_plugin import wait_for

SITE = "playbooks/site.yml"
KIBANA_ONLY = {"falco_efk_stage_prerequisites": "false", "falco_efk_stage_efk": "false", "falco_efk_stage_falco": "false"}
IDS = ["seclog-falco-logstash", "seclog-falco-alerts", "seclog-falco-alerts-over-time", "seclog-falco-top-rules-pie",
       "seclog-falco-priorities-pie", "seclog-falco-top-rules-table", "seclog-falco-nodes-table", "seclog-falco-pods-table",
       "seclog-falco-dashboard"]


def _kibana_writes(cluster) -> list[dict]:
    return [r for r in list(cluster.cluster.stack.kibana_hooks.requests) if r["method"] in ("POST", "PUT", "DELETE")
            and "/internal/security/" not in r["path"] and "/api/security/" not in r["path"]
            and r["path"] != "/api/console/proxy"]  # searches (falco_alerts_info) go through Kibana's console as POSTs


def _password(cluster) -> str:
    """elastic's password from the efk stage's Secret (none with 7.17, where security stays off)."""
    secrets = client.CoreV1Api(cluster.api_client()).list_namespaced_secret("logging", field_selector="metadata.name=elasticsearch-logging-elastic")
    return base64.b64decode(secrets.items[0].data["password"]).decode() if secrets.items else ""


def _kibana(cluster, method: str, path: str, body=None):
    """A request to the Kibana emulator as elastic (the password from the efk stage's Secret)."""
    headers = {"kbn-xsrf": "true", "Content-Type": "application/json",
               "Authorization": "Basic " + base64.b64encode(f"elastic:{_password(cluster)}".encode()).decode()}
    answer = cluster.cluster.stack.kibana.handle(method, path, headers, json.dumps(body).encode() if body is not None else b"")
    return answer.status, answer.json() if answer.body else None


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8"), ("1.30", "gke", "7.17")], indirect=True)
class TestDashboards:
    """The whole site on one cluster per Kibana major, then the Kibana stage alone."""

    def test_site_creates_every_object_and_none_is_broken(self, localcluster, playbook):
        version = "7.17.29" if localcluster.cluster.stack.config.profile == "7.17" else "8.19.10"
        run = playbook(SITE, localcluster.kubeconfig, falco_efk_stage_prerequisites="false", falco_event_generator="true",
                       efk_wait_timeout="60", falco_wait_timeout="60", kibana_dashboards_wait_timeout="60", efk_elasticsearch_version=version)
        assert run.rc == 0, run
        for object_id in IDS[1:]:
            kind = "dashboard" if object_id.endswith("dashboard") else "search" if object_id.endswith("alerts") else "visualization"
            status, body = _kibana(localcluster, "GET", f"/api/saved_objects/{kind}/{object_id}")
            assert status == 200, (object_id, body)
        status, body = _kibana(localcluster, "GET", "/api/saved_objects/dashboard/seclog-falco-dashboard")
        panels = json.loads(body["attributes"]["panelsJSON"])
        assert len(panels) == 7 and [r["id"] for r in body["references"]] == IDS[2:8] + ["seclog-falco-alerts"]
        wait_for(lambda: localcluster.cluster.stack.es.count("logstash-*") > 0, timeout=30)
        assert broken_objects(localcluster.cluster.stack.kibana) == []

    def test_check_mode_after_an_edit_reports_it_and_writes_nothing(self, localcluster, playbook):
        status, body = _kibana(localcluster, "GET", "/api/saved_objects/search/seclog-falco-alerts")
        _kibana(localcluster, "PUT", "/api/saved_objects/search/seclog-falco-alerts", {"attributes": dict(body["attributes"], title="Mine")})
        localcluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})
        run = playbook(SITE, localcluster.kubeconfig, "--check", "--diff", **KIBANA_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 1 and "search/seclog-falco-alerts" in run.out, run
        assert _kibana_writes(localcluster) == []
        run = playbook(SITE, localcluster.kubeconfig, **KIBANA_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 1, run

    def test_second_run_writes_nothing_to_kibana(self, localcluster, playbook):
        localcluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})
        run = playbook(SITE, localcluster.kubeconfig, **KIBANA_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert _kibana_writes(localcluster) == []

    def test_an_object_edited_in_kibana_is_reported_and_restored(self, localcluster, playbook):
        status, body = _kibana(localcluster, "GET", "/api/saved_objects/visualization/seclog-falco-nodes-table")
        status, _unused = _kibana(localcluster, "PUT", "/api/saved_objects/visualization/seclog-falco-nodes-table",
                                  {"attributes": dict(body["attributes"], title="Edited by hand")})
        assert status == 200
        run = playbook(SITE, localcluster.kubeconfig, "--diff", **KIBANA_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 1, run
        assert "changed: [localhost] => (item=visualization/seclog-falco-nodes-table)" in run.out
        status, body = _kibana(localcluster, "GET", "/api/saved_objects/visualization/seclog-falco-nodes-table")
        assert body["attributes"]["title"] == "Falco alerts by Kubernetes node"

    def test_a_deleted_data_view_is_recreated_once(self, localcluster, playbook):
        path = ("/api/data_views/data_view/seclog-falco-logstash" if localcluster.cluster.stack.kibana.is8
                else "/api/index_patterns/index_pattern/seclog-falco-logstash")
        status, _unused = _kibana(localcluster, "DELETE", path)
        assert status == 200
        run = playbook(SITE, localcluster.kubeconfig, **KIBANA_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 1, run
        status, found = _kibana(localcluster, "GET", "/api/saved_objects/_find?type=index-pattern&per_page=100")
        assert [o["id"] for o in found["saved_objects"]] == ["seclog-falco-logstash"]
        assert broken_objects(localcluster.cluster.stack.kibana) == []

    def test_a_data_view_of_the_users_is_reused_never_replaced(self, localcluster, playbook):
        """The runbook's hand-made logstash-* data view: the stage refuses to replace it, and reuses it when told to. On 8.x,
        where Kibana keeps one data view per name (7.17 reads a reused index pattern the same way, through the same tasks)."""
        engine = localcluster.cluster.stack.kibana
        if not engine.is8:
            pytest.skip("one data view per name is Kibana 8's rule; the reuse path is the same on 7.17")
        route = "/api/data_views/data_view"
        assert _kibana(localcluster, "DELETE", route + "/seclog-falco-logstash")[0] == 200
        theirs = {"id": "runbook-logstash", "title": "logstash-*", "timeFieldName": "@timestamp"}
        status, body = _kibana(localcluster, "POST", route, {"data_view": theirs})
        assert status == 200, body
        before = engine.get("index-pattern", "runbook-logstash")
        # Kibana keeps one data view per name: creating ours would be refused, or with override delete theirs.
        localcluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})
        run = playbook(SITE, localcluster.kubeconfig, **KIBANA_ONLY)
        assert run.rc != 0 and "Kibana already has data view logstash-* (id runbook-logstash)" in run.out, run
        assert "kibana_dashboards_data_view_id" in run.out and _kibana_writes(localcluster) == []
        reuse = dict(KIBANA_ONLY, kibana_dashboards_data_view_id="runbook-logstash")
        run = playbook(SITE, localcluster.kubeconfig, **reuse)
        assert run.rc == 0, run
        refs = engine.get("search", "seclog-falco-alerts")["references"]
        assert [r["id"] for r in refs] == ["runbook-logstash"]
        assert engine.get("index-pattern", "seclog-falco-logstash") is None and broken_objects(engine) == []
        run = playbook(SITE, localcluster.kubeconfig, **reuse)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        run = playbook(SITE, localcluster.kubeconfig, kibana_dashboards_state="absent", **reuse)
        assert run.rc == 0 and engine.get("search", "seclog-falco-alerts") is None, run
        assert engine.get("index-pattern", "runbook-logstash")["attributes"] == before["attributes"]
        # Back to the role's own data view, for the tests that follow.
        assert _kibana(localcluster, "DELETE", route + "/runbook-logstash")[0] == 200
        run = playbook(SITE, localcluster.kubeconfig, **KIBANA_ONLY)
        assert run.rc == 0, run

    def test_an_older_dynamically_mapped_index_is_reported_and_the_dashboard_still_counts(self, localcluster, playbook):
        """A logstash-* index from before the template (the 2018 setup's): rule is text there. The stage says so, with the
        remedy, and the visualizations count the templated indices while Elasticsearch reports the older one's shard."""
        es = localcluster.cluster.stack.es
        auth = {"Authorization": "Basic " + base64.b64encode(f"elastic:{_password(localcluster)}".encode()).decode(),
                "Content-Type": "application/json"}
        template = es.handle("GET", "/_index_template/logstash", auth).json()["index_templates"][0]["index_template"]
        assert es.handle("DELETE", "/_index_template/logstash", auth).status == 200
        old = "logstash-2018.05.01"
        pod = FalcoPod(node="node-1", pod_name="falco-old", namespace="falco", pod_uid="u-old", container_id="containerd://" + "e" * 64)
        docs = [dedot(d) for d in AlertStream(seed=5).alerts([pod], 1525132800, 1525133400, frozenset({"node-1"}))]
        assert not [i for i in es.index_documents(old, docs) if "error" in i["index"]]
        assert es.handle("PUT", "/_index_template/logstash", auth, json.dumps(template).encode()).status == 200
        # Fluentd ships every container's lines, not only Falco's: the background the pod table's significant terms stand out from.
        today = [n for n in es.resolve_names("logstash-*") if n != old][-1]
        lines = [{"@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - i)), "stream": "stdout",
                  "log": "GET /healthz 200", "kubernetes": {"container_name": "web", "namespace_name": "shop", "pod_name": "web-%d" % (i % 3),
                                                            "host": "node-1"}} for i in range(300)]
        assert not [i for i in es.index_documents(today, lines) if "error" in i["index"]]
        try:
            run = playbook(SITE, localcluster.kubeconfig, **KIBANA_ONLY)
            assert run.rc == 0 and run.recap["changed"] == 0, run
            assert "rule is mapped differently across the logstash-* indices" in run.out and "Reindex the older indices" in run.out
            for vis in IDS[2:8]:
                answer = run_visualization(localcluster.cluster.stack.kibana, vis)
                assert answer["aggregations"]["2"]["buckets"], vis
                failed = [f["index"] for f in answer["_shards"].get("failures", [])]
                assert failed == ([] if vis == "seclog-falco-alerts-over-time" else [old]), (vis, answer["_shards"])
        finally:
            es.handle("DELETE", "/" + old, auth)

    def test_verify_sees_alerts_arrive_and_every_object_in_place(self, localcluster, playbook):
        run = playbook("playbooks/verify.yml", localcluster.kubeconfig, kibana_dashboards_verify_timeout="60")
        assert run.rc == 0, run
        assert "Falco alerts in the last 15m:" in run.out and "/app/dashboards#/view/seclog-falco-dashboard" in run.out

    def test_verify_fails_clearly_once_falco_is_gone(self, localcluster, playbook):
        run = playbook("playbooks/teardown.yml", localcluster.kubeconfig, "--tags", "falco")
        assert run.rc == 0, run
        time.sleep(3)  # what Fluentd still held is delivered; nothing new comes
        run = playbook("playbooks/verify.yml", localcluster.kubeconfig, falco_efk_stage_falco="false", kibana_dashboards_verify_since="2s",
                       kibana_dashboards_verify_timeout="3")
        assert run.rc != 0 and "0 Falco alert(s) in the last 2s" in run.out, run


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_without_any_logstash_index_the_stage_waits_then_says_so_and_writes_no_object(localcluster, playbook):
    run = playbook(SITE, localcluster.kubeconfig, falco_efk_stage_prerequisites="false", falco_efk_stage_falco="false",
                   efk_wait_timeout="60", kibana_dashboards_wait_timeout="3")
    assert run.rc != 0 and "no logstash-* index exists yet" in run.out, run
    assert _kibana_writes(localcluster) == []
