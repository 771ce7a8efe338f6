"""The logging stack inside the local cluster: Services and readiness gate the proxy, Elasticsearch
health follows its StatefulSet, Kibana follows its Deployment, and alerts flow only from ready
Falco pods on nodes where Fluentd ships them."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request

from kubernetes import client

from localcluster.pytest_plugin import wait_for, workload

NS = "logging"


def direct(stack_handle, which: str, path: str, auth: bool = True) -> tuple[int, dict]:
    """A request straight to the Elasticsearch or Kibana emulator (not through the API server)."""
    endpoints = stack_handle.endpoints
    headers = {"Content-Type": "application/json"}
    if auth:
        creds = f"{endpoints['elasticsearch']['username']}:{endpoints['elasticsearch']['password']}"
        headers["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
    request = urllib.request.Request(endpoints[which]["url"] + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def apply_namespace(api):
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
    except client.ApiException as err:
        if err.status != 409:
            raise


def service(name: str, port: int, selector: dict) -> dict:
    return {"metadata": {"name": name}, "spec": {"selector": selector, "ports": [{"port": port}]}}


def ready(apps, kind: str, name: str) -> bool:
    if kind == "StatefulSet":
        return (apps.read_namespaced_stateful_set(name, NS).status.ready_replicas or 0) >= 1
    if kind == "DaemonSet":
        status = apps.read_namespaced_daemon_set(name, NS).status
        return status.desired_number_scheduled > 0 and status.number_ready == status.desired_number_scheduled
    return (apps.read_namespaced_deployment(name, NS).status.ready_replicas or 0) >= 1


def test_endpoints_describe_the_stack(logging_stack):
    endpoints = logging_stack.endpoints
    assert endpoints["stack"] in ("8", "7.17")
    assert endpoints["elasticsearch"]["url"].startswith("http://127.0.0.1:")
    assert endpoints["kibana"]["url"].startswith("http://127.0.0.1:")
    services = {(s["namespace"], s["service"]) for s in endpoints["services"]}
    assert ("logging", "elasticsearch-logging") in services and ("kube-system", "kibana-logging") in services
    with open(os.path.join(logging_stack.dir, "endpoints.json"), encoding="utf-8") as handle:
        assert json.load(handle)["elasticsearch"]["password"] == endpoints["elasticsearch"]["password"]


def test_elasticsearch_is_red_until_its_statefulset_is_ready_then_proxied(logging_stack):
    api = logging_stack.api_client()
    apps = client.AppsV1Api(api)
    apply_namespace(api)
    code, health = direct(logging_stack, "elasticsearch", "/_cluster/health")
    assert code == 503 and health["error"]["type"] == "master_not_discovered_exception"  # no ready pod: no master
    proxy = f"/api/v1/namespaces/{NS}/services/elasticsearch-logging:9200/proxy/"
    assert logging_stack.http("GET", proxy)[0] == 404  # no Service yet
    labels = {"k8s-app": "elasticsearch-logging"}
    client.CoreV1Api(api).create_namespaced_service(NS, service("elasticsearch-logging", 9200, labels))
    assert logging_stack.http("GET", proxy)[0] == 503  # no ready endpoint yet
    apps.create_namespaced_stateful_set(NS, workload("StatefulSet", "elasticsearch-logging", labels, replicas=1))
    wait_for(lambda: ready(apps, "StatefulSet", "elasticsearch-logging"))
    code, health = direct(logging_stack, "elasticsearch", "/_cluster/health?wait_for_status=yellow&timeout=5s")
    assert code == 200 and health["status"] in ("yellow", "green")
    code, body, _unused = logging_stack.http("GET", proxy)
    if logging_stack.endpoints["stack"] == "8":
        # The API server consumed the caller's Authorization header: Elasticsearch sees no credentials.
        assert code == 401 and body["error"]["type"] == "security_exception"
    else:
        assert code == 200 and body["version"]["number"].startswith("7.17")


def test_no_falco_means_no_alerts(logging_stack):
    api = logging_stack.api_client()
    apply_namespace(api)
    apps = client.AppsV1Api(api)
    fluentd = workload("DaemonSet", "fluentd-es", {"k8s-app": "fluentd-es"})
    apps.create_namespaced_daemon_set(NS, fluentd)
    wait_for(lambda: ready(apps, "DaemonSet", "fluentd-es"))
    logging_stack.hook("settings", "POST", {"alert_speed": 3600})
    time.sleep(1.5)
    assert logging_stack.cluster.stack.es.count("logstash-*") == 0


def test_alerts_arrive_from_ready_falco_pods_in_fluentd_shape(logging_stack):
    api = logging_stack.api_client()
    apply_namespace(api)
    apps = client.AppsV1Api(api)
    stack = logging_stack.cluster.stack
    logging_stack.hook("settings", "POST", {"alert_speed": 3600})
    falco = workload("DaemonSet", "falco", {"app.kubernetes.io/name": "falco"}, image="stand-in.localcluster.test/falco:0.41.3")
    falco["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    apps.create_namespaced_daemon_set(NS, falco)
    wait_for(lambda: ready(apps, "DaemonSet", "falco"))
    wait_for(lambda: stack.es.count("logstash-*") > 0, timeout=20)
    hits = stack.es.search("logstash-*", {"size": 1, "query": {"match_all": {}}})["hits"]["hits"]
    doc = hits[0]["_source"]
    assert doc["kubernetes"]["container_name"] == "falco" and doc["kubernetes"]["namespace_name"] == NS
    assert doc["rule"] and doc["priority"] and "@timestamp" in doc and isinstance(doc["output_fields"], dict)
    nodes = {n.metadata.name for n in client.CoreV1Api(api).list_node().items}
    assert doc["hostname"] in nodes and doc["kubernetes"]["host"] == doc["hostname"]


def test_the_event_generator_raises_the_rate(logging_stack):
    api = logging_stack.api_client()
    apps = client.AppsV1Api(api)
    stack = logging_stack.cluster.stack
    logging_stack.hook("settings", "POST", {"alert_speed": 36})
    before = stack.delivered
    time.sleep(2)
    background = stack.delivered - before
    apps.create_namespaced_deployment(NS, workload("Deployment", "event-generator", {"app": "event-generator"}))
    wait_for(lambda: ready(apps, "Deployment", "event-generator"))
    before = stack.delivered
    time.sleep(2)
    # ~2,800/hour at 36x is ~28/s; the background of a few per node per hour is well below 1/s.
    assert stack.delivered - before > 10 * max(background, 1)


def test_kibana_follows_its_deployment_and_base_path(logging_stack):
    api = logging_stack.api_client()
    apply_namespace(api)
    apps = client.AppsV1Api(api)
    labels = {"k8s-app": "kibana-logging"}
    base = f"/api/v1/namespaces/{NS}/services/kibana-logging/proxy"
    client.CoreV1Api(api).create_namespaced_service(NS, service("kibana-logging", 5601, labels))
    kibana = workload("Deployment", "kibana-logging", labels)
    kibana["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "SERVER_BASEPATH", "value": base}, {"name": "SERVER_REWRITEBASEPATH", "value": "false"}]
    apps.create_namespaced_deployment(NS, kibana)
    wait_for(lambda: ready(apps, "Deployment", "kibana-logging"))
    wait_for(lambda: logging_stack.cluster.stack.kibana.base_path == base)
    code, status, _unused = logging_stack.http("GET", base + "/api/status")
    found, _find, _unused = logging_stack.http("GET", base + "/api/saved_objects/_find?type=index-pattern")
    if logging_stack.endpoints["stack"] == "8":
        # Kibana 8 tells anonymous callers only the overall level, and the API server dropped the caller's credentials.
        assert code == 200 and status == {"status": {"overall": {"level": "available"}}}
        assert found == 401
    else:
        assert code == 200 and status["version"]["number"].startswith("7.17") and found == 200
