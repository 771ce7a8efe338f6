"""falco_alerts_info as Ansible runs it, against the local cluster's logging stack (Elasticsearch and Kibana emulators).

Tests of one stack profile share a cluster and run in file order: Elasticsearch and Kibana come up without any index,
then Fluentd, Falco and the event generator start and alerts flow (the local cluster runs them at 60x speed).
"""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client

from ansible_collections.seclog.falco_efk.plugins.modules import falco_alerts_info
import efk_template
from localcluster.pytest_plugin import serve, wait_for, workload

STACKS = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8"), ("1.30", "gke", "7.17")], indirect=True)
ES8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
NS = "logging"
KIBANA = "kibana-logging"
ES = "elasticsearch-logging"


def engines(localcluster):
    return localcluster.server.cluster.stack


def basic(username, password):
    return "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()


def elastic(localcluster):
    es = localcluster.endpoints["elasticsearch"]
    return es["username"], es["password"]


def es_call(localcluster, method, path, body=None):
    headers = {"Authorization": basic(*elastic(localcluster)), "Content-Type": "application/json"}
    answer = engines(localcluster).es.handle(method, path, headers, json.dumps(body).encode() if body is not None else b"")
    assert answer.status == 200, answer.body
    return answer.json()


def through_kibana(localcluster, **extra):
    username, password = elastic(localcluster)
    return dict({"kubeconfig": localcluster.kubeconfig, "kibana_username": username, "kibana_password": password}, **extra)


def direct_es(localcluster, **extra):
    username, password = elastic(localcluster)
    return dict({"via": "elasticsearch", "es_url": localcluster.endpoints["elasticsearch"]["url"], "es_username": username,
                 "es_password": password}, **extra)


def ready(read):
    wait_for(lambda: read().status.ready_replicas)


def start_stack(localcluster):
    """Elasticsearch and Kibana as the efk role deploys them, and the role's index template; no Fluentd or Falco yet."""
    base_path = "/api/v1/namespaces/%s/services/%s/proxy" % (NS, KIBANA)
    apps = serve(localcluster, NS, "StatefulSet", ES, {"k8s-app": ES}, {"name": "http", "port": 9200},
                 "stand-in.localcluster.test/elasticsearch:8.15.3", {"name": "elasticsearch"})
    serve(localcluster, NS, "Deployment", KIBANA, {"k8s-app": KIBANA}, {"name": "ui", "port": 5601},
          "stand-in.localcluster.test/kibana:8.15.3",
          {"name": "kibana", "env": [{"name": "SERVER_BASEPATH", "value": base_path}, {"name": "SERVER_REWRITEBASEPATH", "value": "false"}]})
    ready(lambda: apps.read_namespaced_stateful_set_status(ES, NS))
    ready(lambda: apps.read_namespaced_deployment_status(KIBANA, NS))
    wait_for(lambda: engines(localcluster).kibana.base_path == base_path)
    efk_template.install(engines(localcluster).es, basic(*elastic(localcluster)))


def start_alerts(localcluster):
    """Fluentd and Falco on every node, and the event generator on one: alerts flow."""
    apps = client.AppsV1Api(localcluster.api_client())
    falco = workload("DaemonSet", "falco", {"app.kubernetes.io/name": "falco"}, image="stand-in.localcluster.test/falco:0.41.3")
    falco["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    apps.create_namespaced_daemon_set(NS, workload("DaemonSet", "fluentd-es", {"k8s-app": "fluentd-es"}))
    apps.create_namespaced_daemon_set(NS, falco)
    apps.create_namespaced_deployment(NS, workload("Deployment", "event-generator", {"app": "event-generator"}))
    ready(lambda: apps.read_namespaced_deployment_status("event-generator", NS))


def added_up(counts, other, total):
    return sum(item["count"] for item in counts) + other == total


@STACKS
def test_require_index_wait_fails_clearly_before_any_index_exists(localcluster, run_module):
    start_stack(localcluster)
    exited = run_module(falco_alerts_info.main, through_kibana(localcluster, require_index=True, timeout=2))
    result = exited.result
    assert exited.failed and result["changed"] is False and result["via"] == "kibana" and result["route"] == "service_proxy"
    assert result["indices"] == 0 and result["total"] == 0 and result["by_rule"] == [] and 2 <= result["elapsed"] < 5
    assert result["msg"].startswith("falco_alerts_info via kibana (Kibana's console proxy on service logging/kibana-logging through "
                                    "the API server proxy): no logstash-* index exists yet (")
    assert result["msg"].endswith("; waited 2 s.")
    assert elastic(localcluster)[1] not in json.dumps(result)


@STACKS
def test_without_waiting_no_alerts_is_a_count_of_zero_not_a_failure(localcluster, run_module):
    exited = run_module(falco_alerts_info.main, through_kibana(localcluster))
    assert not exited.failed and exited.result["total"] == 0 and exited.result["indices"] == 0
    assert exited.result["since"] == "15m" and exited.result["others"] == {"rule": 0, "priority": 0, "node": 0, "pod": 0}


@STACKS
def test_min_count_waits_until_the_alerts_arrive(localcluster, run_module):
    start_alerts(localcluster)
    exited = run_module(falco_alerts_info.main, through_kibana(localcluster, min_count=20, require_index=True, timeout=30))
    assert not exited.failed, exited.result.get("msg")
    assert exited.result["total"] >= 20 and exited.result["indices"] >= 1


@STACKS
def test_counts_through_kibana_add_up_to_the_total(localcluster, run_module):
    exited = run_module(falco_alerts_info.main, through_kibana(localcluster, top=5))
    result = exited.result
    assert not exited.failed and result["changed"] is False and result["route"] == "service_proxy"
    assert result["total"] > 0 and len(result["by_rule"]) == 5 and result["others"]["rule"] > 0
    for name in ("rule", "priority", "node", "pod"):
        assert added_up(result["by_" + name], result["others"][name], result["total"]), name
    assert [item["count"] for item in result["by_rule"]] == sorted((item["count"] for item in result["by_rule"]), reverse=True)
    nodes = {n.metadata.name for n in client.CoreV1Api(localcluster.api_client()).list_node().items}
    assert {item["key"] for item in result["by_node"]} <= nodes
    assert result["by_pod"][0]["key"].startswith("event-generator-")
    assert {item["key"] for item in result["by_priority"]} <= {"Critical", "Error", "Warning", "Notice", "Informational"}


@STACKS
def test_es_url_and_kibana_count_the_same_alerts(localcluster, run_module):
    query = {"bool": {"filter": [{"term": {"kubernetes.container_name": "falco"}}, {"range": {"@timestamp": {"lt": "now-1s"}}}]}}
    by_es = run_module(falco_alerts_info.main, direct_es(localcluster, query=query, since="1h"))
    by_kibana = run_module(falco_alerts_info.main, through_kibana(localcluster, query=query, since="1h"))
    assert not by_es.failed and by_es.result["via"] == "elasticsearch" and by_es.result["route"] == "url"
    # Alerts keep arriving; the older ones stay put.
    assert 0 < by_es.result["total"] <= by_kibana.result["total"]
    assert by_es.result["by_priority"][0]["key"] == by_kibana.result["by_priority"][0]["key"]


@STACKS
def test_check_mode_reports_the_same_and_changes_nothing(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(falco_alerts_info.main, direct_es(localcluster, kubeconfig=localcluster.kubeconfig, min_count=1), check_mode=True)
    assert not exited.failed and exited.result["changed"] is False and exited.result["total"] >= 1
    assert localcluster.writes() == []


@STACKS
@pytest.mark.parametrize("args, message", [
    ({"since": "15 minutes"}, "since must be one Elasticsearch date math amount such as 15m, 2h or 1d (got 15 minutes)."),
    ({"top": 0}, "top must be 1 or more (got 0)."),
    ({"fields": {"Rule Name": "rule"}}, "fields must map names"),
    ({"via": "logstash"}, "value of via must be one of: elasticsearch, kibana, got: logstash"),
    ({"kibana_password": "p"}, "missing parameter(s) required by 'kibana_password': kibana_username"),
    ({"es_namespace": "Logging_NS"}, "es_namespace: 'Logging_NS' is not a namespace name"),
])
def test_bad_options_fail_before_any_request(localcluster, run_module, args, message):
    localcluster.clear_requests()
    exited = run_module(falco_alerts_info.main, dict(args, kubeconfig=localcluster.kubeconfig))
    assert exited.failed and message in exited.result["msg"]
    assert not [r for r in localcluster.requests() if "/proxy/" in r["path"]]


@ES8
def test_wrong_password_through_kibana_is_a_401_naming_the_login_without_showing_it(localcluster, run_module):
    exited = run_module(falco_alerts_info.main, through_kibana(localcluster, kibana_password="not-the-Password-42", min_count=1,
                                                               timeout=10))
    message = exited.result["msg"]
    assert exited.failed and exited.result["elapsed"] < 5
    assert message.startswith("falco_alerts_info via kibana: POST /internal/security/login on service logging/kibana-logging "
                              "through the API server proxy failed (HTTP 401)")
    assert "Check kibana_username and kibana_password" in message
    assert "not-the-Password-42" not in json.dumps(exited.result)


@ES8
def test_wrong_password_via_es_url_is_a_401_without_showing_it(localcluster, run_module):
    exited = run_module(falco_alerts_info.main, direct_es(localcluster, es_password="not-the-Password-42"))
    message = exited.result["msg"]
    assert exited.failed and "(HTTP 401)" in message and "unable to authenticate user [elastic]" in message
    assert "Check the username and password or the API key. Give es_password of es_username: the efk role keeps elastic's" in message
    assert "not-the-Password-42" not in json.dumps(exited.result)


@ES8
def test_a_user_without_read_on_the_index_is_told_so(localcluster, run_module):
    es_call(localcluster, "PUT", "/_security/user/dashboards", {"password": "dashboards-pw", "roles": ["kibana_admin"]})
    exited = run_module(falco_alerts_info.main, through_kibana(localcluster, kibana_username="dashboards",
                                                               kibana_password="dashboards-pw"))
    message = exited.result["msg"]
    assert exited.failed and "(HTTP 403)" in message and "is unauthorized for user [dashboards]" in message
    assert message.endswith("The kibana_username user lacks the read privilege on logstash-*: give it a role with indices "
                            "[{names: ['logstash-*'], privileges: [read, view_index_metadata]}].")


@ES8
def test_through_the_proxy_elasticsearch_itself_sees_no_credentials(localcluster, run_module):
    exited = run_module(falco_alerts_info.main, {"kubeconfig": localcluster.kubeconfig, "via": "elasticsearch",
                                                 "es_username": "elastic", "es_password": elastic(localcluster)[1]})
    message = exited.result["msg"]
    assert exited.failed and "(HTTP 401)" in message and "removes the Authorization header" in message
    assert message.endswith("Give es_url with es_username/es_password or es_api_key, or use via: kibana.")
