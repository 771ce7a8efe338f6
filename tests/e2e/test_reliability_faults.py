"""Faults in the middle of each stage: the API server answering 500, 503, 429 or timing out, Elasticsearch and Kibana
unavailable or slow, Elasticsearch never healthy, a node going NotReady.

Each run either fails saying what failed and why (and, past the read-only preflight, that running again is safe), or
rides the fault out where a retry is right; the run after it converges, and nothing was lost or left half-done. One cluster goes through every scenario in
order, each run taking up where the one before left off: a stage's failed run is followed by its next run, which must
get past the point that failed.

Who retries what: one policy for every Kubernetes call. A 429 (the API server did nothing and asks to come back) and
a 502, 503 or 504 (briefly unavailable) are sent again three times, as client-go does: by the roles' kubernetes.core
tasks (until/retries, tests/unit/test_retry_policy.py; kubernetes.core itself does not retry a failed write) and by our
own modules (module_utils.k8s); a 500 fails the step at once. Elasticsearch and Kibana requests follow the same
statuses (module_utils.http_client); the health and status waits poll through any failure until their timeout.
"""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from localcluster.kibana import broken_objects
from localcluster.pytest_plugin import wait_for

SITE = "playbooks/site.yml"
STAGES = ("prerequisites", "efk", "falco", "kibana_dashboards")
# Waits that should succeed get room; a wait a test expects to time out gets WAIT_FAILS seconds.
TIMEOUTS = {"efk_wait_timeout": "20", "falco_wait_timeout": "20", "kibana_dashboards_wait_timeout": "20"}
WAIT_FAILS = "3"
SAFE = "Running the playbook again is safe"
NS = "/apis/apps/v1/namespaces/logging"
FALCO_NS = "/apis/apps/v1/namespaces/falco"
KIBANA_PROXY = "/api/v1/namespaces/logging/services/kibana-logging:5601/proxy"
# HTTPS by default: the API server's proxy speaks TLS to Elasticsearch (https: before the Service's name).
HEALTH_PROXY = "/api/v1/namespaces/logging/services/https:elasticsearch-logging:9200/proxy/_cluster/health"
ES_OBJECTS = ("ConfigMap elasticsearch-logging-config, Service elasticsearch-logging-headless, Service elasticsearch-logging, "
              "PodDisruptionBudget elasticsearch-logging, StatefulSet elasticsearch-logging")


def _stage(playbook, cluster, stage: str | tuple[str, ...], *args: str, **extra: str):
    """Run site.yml with only ``stage`` (or those stages)."""
    stages = (stage,) if isinstance(stage, str) else stage
    skip = {f"falco_efk_stage_{other}": "false" for other in STAGES if other not in stages}
    if "falco" in stages:
        skip["falco_event_generator"] = "true"  # alerts flow at once, for the Kibana stage's index wait
    return playbook(SITE, cluster.kubeconfig, *args, **{**skip, **TIMEOUTS, **extra})


def _failure(run) -> str:
    """The message of the run's last failed task, as the user reads it at the end of the output."""
    fatal = [line for line in run.out.splitlines() if line.startswith("fatal: [localhost]: FAILED! => ")]
    assert run.rc != 0 and fatal, run
    return " ".join(json.loads(fatal[-1].split("=> ", 1)[1])["msg"].split())


def _hooks(cluster, where: str):
    return {"es": cluster.cluster.stack.es_hooks, "kibana": cluster.cluster.stack.kibana_hooks}[where]


def _fault(cluster, pattern: str, status: int, count: int = 1, hang: float = 0.0, where: str = "kubernetes") -> None:
    """The next ``count`` requests matching ``pattern`` (``METHOD path``) to the API server, or to the Elasticsearch or
    Kibana emulator behind it, answer ``status`` (0: answered as usual, ``hang`` seconds late)."""
    fault = {"pattern": pattern, "status": status, "count": count, "hang": hang}
    if where == "kubernetes":
        cluster.hook("faults", "POST", fault)
    else:
        _hooks(cluster, where).serve("POST", "faults", {}, fault)


def _reset(cluster) -> None:
    """No fault pending, every workload may become ready, request logs empty."""
    cluster.hook("faults", "DELETE")
    cluster.hook("settings", "POST", {"never_ready": []})
    cluster.clear_requests()
    for where in ("es", "kibana"):
        _hooks(cluster, where).serve("DELETE", "faults", {}, {})
        _hooks(cluster, where).serve("DELETE", "requests", {}, {})


def _codes(cluster, method: str, path: str, where: str = "kubernetes") -> list[int]:
    """Status codes of the requests to ``path``, in order."""
    log = cluster.requests() if where == "kubernetes" else list(_hooks(cluster, where).requests)
    return [r["code"] for r in log if r["method"] == method and r["path"] == path]


def _written(cluster) -> list[str]:
    """``METHOD path`` of the writes to the API server, successful or not."""
    return [f"{r['method']} {r['path']}" for r in cluster.writes()]


def _kibana_writes(cluster) -> list[dict]:
    return [r for r in list(_hooks(cluster, "kibana").requests) if r["method"] in ("POST", "PUT", "DELETE")
            and "/security/" not in r["path"] and r["path"] != "/api/console/proxy"]


def _node_ready(cluster, name: str, ready: bool) -> None:
    """What the node's kubelet (or its absence) reports."""
    condition = {"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady" if ready else "KubeletNotReady",
                 "message": "kubelet is posting ready status" if ready else "PLEG is not healthy"}
    client.CoreV1Api(cluster.api_client()).patch_node_status(name, {"status": {"conditions": [condition]}})


@pytest.fixture(name="clean")
def clean_cluster(localcluster):
    """The cluster without pending faults or never-ready workloads, before and after the test."""
    _reset(localcluster)
    try:
        yield localcluster
    finally:
        _reset(localcluster)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
class TestFaultsMidStage:
    """One cluster, the stages in the runbook's order, a fault in the middle of each run."""

    @pytest.mark.parametrize("status", [500, 503, 504])
    def test_preflight_names_the_request_the_api_server_failed_and_writes_nothing(self, clean, playbook, status):
        # 503 and 504 are asked again three times (the retry policy): four of them fail the preflight.
        _fault(clean, "^POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews$", status, count=1 if status == 500 else 4)
        run = _stage(playbook, clean, "prerequisites")
        message = _failure(run)
        attempts = "" if status == 500 else " (4 attempts)"
        assert message.startswith("Preflight could not read the cluster: POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews "
                                  f"failed ({status}){attempts}: "), message
        assert _written(clean) == []

    def test_preflight_rides_out_throttling(self, clean, playbook):
        _fault(clean, "^POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews$", 429)
        _fault(clean, "^GET /api/v1/nodes$", 429)
        run = _stage(playbook, clean, "prerequisites")
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert _codes(clean, "GET", "/api/v1/nodes") == [429, 200]
        assert _codes(clean, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")[:2] == [429, 201]

    def test_efk_500_on_the_elasticsearch_write_stops_there_and_says_so(self, clean, playbook):
        _fault(clean, f"^POST {NS}/statefulsets$", 500)
        message = _failure(_stage(playbook, clean, "efk"))
        assert message.startswith("Elasticsearch: the Kubernetes API server answered HTTP 500 (InternalError: Internal error occurred: "
                                  f"injected fault) while applying {ES_OBJECTS} (in this order"), message
        assert SAFE in message
        written = _written(clean)
        assert f"POST {NS}/statefulsets" in written and "POST /api/v1/namespaces/logging/configmaps" in written
        assert not [w for w in written if "daemonsets" in w or "deployments" in w or "clusterroles" in w], written

    def test_efk_elasticsearch_never_healthy_fails_at_the_gate_and_nothing_after_it_is_written(self, clean, playbook):
        clean.hook("settings", "POST", {"never_ready": ["logging/elasticsearch-logging"]})
        message = _failure(_stage(playbook, clean, "efk", efk_wait_timeout=WAIT_FAILS))
        assert message.startswith("Elasticsearch (service logging/elasticsearch-logging through the API server proxy) did not reach "
                                  f"yellow within {WAIT_FAILS} s: never got health, the last error was: "), message
        assert "Pods not ready behind Service logging/elasticsearch-logging: elasticsearch-logging-0 (" in message
        assert f"Fluentd and Kibana were not applied (they come after this gate). {SAFE}" in message
        written = _written(clean)
        assert f"POST {NS}/statefulsets" in written  # the write the last run could not make
        assert not [w for w in written if "fluentd" in w or "kibana" in w or w.endswith(("daemonsets", "deployments"))], written

    def test_efk_503_on_the_fluentd_write_comes_after_a_healthy_elasticsearch(self, clean, playbook):
        # Called again three times (the retry policy), then the step fails naming what was written.
        _fault(clean, f"^POST {NS}/daemonsets$", 503, count=4)
        run = _stage(playbook, clean, "efk")
        message = _failure(run)
        assert "FAILED - RETRYING: [localhost]: Converge the objects: Fluentd (3 retries left)" in run.out
        assert _codes(clean, "POST", f"{NS}/daemonsets") == [503, 503, 503, 503]
        assert message.startswith("Fluentd: the Kubernetes API server answered HTTP 503 (ServiceUnavailable: the server is currently "
                                  "unable to handle the request) while applying ServiceAccount fluentd-es, ClusterRole fluentd-es, "
                                  "ClusterRoleBinding fluentd-es, ConfigMap fluentd-es-config, DaemonSet fluentd-es"), message
        assert SAFE in message
        assert _codes(clean, "GET", HEALTH_PROXY)[-1] == 200
        assert not [w for w in _written(clean) if "kibana" in w or w.endswith("deployments")]

    def test_efk_timeout_on_the_kibana_write(self, clean, playbook):
        _fault(clean, f"^POST {NS}/deployments$", 504, count=4, hang=1)
        message = _failure(_stage(playbook, clean, "efk"))
        assert message.startswith("Kibana: the Kubernetes API server answered HTTP 504 (Timeout: the server was unable to return a "
                                  "response in the time allotted, but may still be processing the request) while applying Service "
                                  "kibana-logging, Deployment kibana-logging"), message
        assert SAFE in message
        apps = client.AppsV1Api(clean.api_client())
        assert apps.read_namespaced_daemon_set("fluentd-es", "logging").status.number_ready == 3

    def test_efk_throttled_kibana_write_is_sent_again_and_a_kibana_never_ready_is_named(self, clean, playbook):
        _fault(clean, f"^POST {NS}/deployments$", 429)
        clean.hook("settings", "POST", {"never_ready": ["logging/kibana-logging"]})
        run = _stage(playbook, clean, "efk", efk_wait_timeout=WAIT_FAILS)
        message = _failure(run)
        assert "FAILED - RETRYING: [localhost]: Converge the objects: Kibana" in run.out
        assert _codes(clean, "POST", f"{NS}/deployments") == [429, 201]
        pods = client.CoreV1Api(clean.api_client()).list_namespaced_pod("logging", label_selector="app.kubernetes.io/name=kibana").items
        assert message.startswith(f"Kibana: Deployment logging/kibana-logging did not become ready within {WAIT_FAILS} s "
                                  f"(efk_wait_timeout). Pods not ready: {pods[0].metadata.name} ("), message
        assert f" on {pods[0].spec.node_name}" in message
        assert SAFE in message

    def test_efk_elasticsearch_unavailable_fails_at_the_gate_naming_it(self, clean, playbook):
        _fault(clean, "^GET /_cluster/health$", 503, count=1000, where="es")
        message = _failure(_stage(playbook, clean, "efk", efk_wait_timeout=WAIT_FAILS))
        assert message.startswith("Elasticsearch (service logging/elasticsearch-logging through the API server proxy) did not reach "
                                  f"yellow within {WAIT_FAILS} s: never got health, the last error was: GET /_cluster/health"), message
        assert "failed (HTTP 503)" in message and "All 1 pod(s) behind Service logging/elasticsearch-logging are ready." in message
        assert not [w for w in _written(clean) if "fluentd" in w or "kibana" in w]

    def test_efk_rerun_rides_out_a_slow_and_briefly_unavailable_elasticsearch_and_changes_nothing(self, clean, playbook):
        _fault(clean, "^GET /_cluster/health$", 503, count=2, where="es")
        _fault(clean, "^GET /_cluster/health$", 0, hang=2, where="es")
        run = _stage(playbook, clean, "efk")
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert _codes(clean, "GET", "/_cluster/health", where="es") == [503, 503, 200]
        apps = client.AppsV1Api(clean.api_client())
        assert apps.read_namespaced_deployment("kibana-logging", "logging").status.available_replicas == 1
        assert apps.read_namespaced_stateful_set("elasticsearch-logging", "logging").status.ready_replicas == 1

    def test_efk_a_read_the_api_server_fails_names_the_step_and_says_a_rerun_is_safe(self, clean, playbook):
        # A 500 is not retried (another call would not fix it); the stage names the step, never a traceback.
        _fault(clean, "^GET /api/v1/namespaces/logging/persistentvolumeclaims$", 500)
        message = _failure(_stage(playbook, clean, "efk"))
        assert message.startswith('Elasticsearch, Fluentd and Kibana: the step "Find the Elasticsearch data claims" failed: '), message
        assert "injected fault" in message and SAFE in message and "Traceback" not in message
        assert _codes(clean, "GET", "/api/v1/namespaces/logging/persistentvolumeclaims") == [500]

    def test_falco_503_on_its_daemonset_write_then_a_throttled_one_is_sent_again(self, clean, playbook):
        _fault(clean, f"^POST {FALCO_NS}/daemonsets$", 503, count=4)
        message = _failure(_stage(playbook, clean, "falco"))
        assert message.startswith("Falco: the Kubernetes API server answered HTTP 503 (ServiceUnavailable: the server is currently "
                                  "unable to handle the request) while applying "), message
        assert "DaemonSet falco (in this order" in message and SAFE in message and "Falco pods not ready" not in message
        clean.clear_requests()
        _fault(clean, f"^POST {FALCO_NS}/daemonsets$", 429)
        _fault(clean, "^GET /api/v1/namespaces/falco$", 503)
        run = _stage(playbook, clean, "falco")
        assert run.rc == 0 and run.recap["changed"] > 0, run
        assert "FAILED - RETRYING: [localhost]: Apply and wait: Falco" in run.out
        assert _codes(clean, "POST", f"{FALCO_NS}/daemonsets") == [429, 201]
        assert _codes(clean, "GET", "/api/v1/namespaces/falco")[:2] == [503, 200]  # a read rides out a 503 too

    def test_a_node_gone_notready_is_reported_by_the_preflight_and_named_by_the_falco_stage(self, clean, playbook):
        core = client.CoreV1Api(clean.api_client())
        busy = {p.spec.node_name for p in core.list_namespaced_pod("logging").items
                if (p.metadata.labels or {}).get("app.kubernetes.io/name") in ("elasticsearch", "kibana")}
        node = next(n.metadata.name for n in core.list_node().items if n.metadata.name not in busy)
        _node_ready(clean, node, False)
        try:
            run = _stage(playbook, clean, ("prerequisites", "falco"), falco_wait_timeout=WAIT_FAILS)
            # A warning: the preflight says it and goes on.
            assert f"WARNING [nodes.not_ready] 1 of 3 nodes are not Ready: {node}." in run.out, run
            message = _failure(run)
            pod = next(p.metadata.name for p in core.list_namespaced_pod("falco", label_selector="app.kubernetes.io/name=falco").items
                       if p.spec.node_name == node)
            assert message.startswith(f"Falco: DaemonSet falco/falco did not become ready within {WAIT_FAILS} s (falco_wait_timeout). "
                                      f"Falco pods not ready: node {node} ({pod}: Running)."), message
            assert SAFE in message
        finally:
            _node_ready(clean, node, True)
        wait_for(lambda: client.AppsV1Api(clean.api_client()).read_namespaced_daemon_set("falco", "falco").status.number_ready == 3)
        run = _stage(playbook, clean, "falco")
        assert run.rc == 0 and run.recap["changed"] == 0, run

    def test_kibana_unavailable_fails_naming_kibana_and_the_timeout_and_writes_nothing(self, clean, playbook):
        _fault(clean, f"^GET {KIBANA_PROXY}/api/status$", 503, count=1000)
        message = _failure(_stage(playbook, clean, "kibana_dashboards", kibana_dashboards_wait_timeout=WAIT_FAILS))
        assert message.startswith("Kibana (service logging/kibana-logging through the API server proxy) did not report available "
                                  f"within {WAIT_FAILS} s: never got a status, the last error was: GET /api/status"), message
        assert "failed (HTTP 503)" in message and SAFE in message
        assert _kibana_writes(clean) == []

    def test_kibana_objects_ride_out_503_429_and_504_and_a_500_fails_naming_the_object(self, clean, playbook):
        saved = f"{KIBANA_PROXY}/api/saved_objects"
        _fault(clean, f"^POST {saved}/search/seclog-falco-alerts$", 503)
        _fault(clean, f"^POST {saved}/visualization/seclog-falco-priorities-pie$", 429)
        _fault(clean, f"^POST {saved}/visualization/seclog-falco-nodes-table$", 504)
        _fault(clean, f"^POST {saved}/visualization/seclog-falco-top-rules-table$", 500)
        message = _failure(_stage(playbook, clean, "kibana_dashboards"))
        assert message.startswith("Could not write visualization/seclog-falco-top-rules-table: POST "
                                  "/api/saved_objects/visualization/seclog-falco-top-rules-table on service logging/kibana-logging "
                                  "through the API server proxy failed (HTTP 500): Internal error occurred: injected fault "
                                  "[answered by the Kubernetes API server]."), message
        assert f"The other objects were written. {SAFE}" in message
        assert _codes(clean, "POST", f"{saved}/search/seclog-falco-alerts") == [503, 200]
        assert _codes(clean, "POST", f"{saved}/visualization/seclog-falco-priorities-pie") == [429, 200]
        assert _codes(clean, "POST", f"{saved}/visualization/seclog-falco-nodes-table") == [504, 200]
        assert [(o["id"], o["reason"].split(" (")[0]) for o in broken_objects(clean.cluster.stack.kibana)] == [
            ("seclog-falco-dashboard", "missing reference visualization/seclog-falco-top-rules-table")]

    def test_a_slow_kibana_is_waited_for_and_the_rerun_writes_only_the_object_that_failed(self, clean, playbook):
        _fault(clean, "^GET /api/status$", 0, hang=2, where="kibana")
        _fault(clean, "^GET /api/saved_objects/dashboard/seclog-falco-dashboard$", 0, hang=2, where="kibana")
        run = _stage(playbook, clean, "kibana_dashboards")
        assert run.rc == 0 and run.recap["changed"] == 1, run
        assert "changed: [localhost] => (item=visualization/seclog-falco-top-rules-table)" in run.out
        assert [r["path"] for r in _kibana_writes(clean)] == ["/api/saved_objects/visualization/seclog-falco-top-rules-table"]
        assert broken_objects(clean.cluster.stack.kibana) == []
