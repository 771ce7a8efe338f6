"""elasticsearch_health as Ansible runs it, against the local cluster and its Elasticsearch emulator.

Tests of one stack profile share a cluster and run in file order: the Elasticsearch StatefulSet goes from
absent, to unschedulable, to ready.
"""

from __future__ import annotations

import json
import urllib.request
from base64 import b64encode
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.seclog.falco_efk.plugins.modules import elasticsearch_health
from localcluster.pytest_plugin import serve, wait_for

ES8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
ES7 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "7.17")], indirect=True)
NAME = "elasticsearch-logging"
LABELS = {"app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": NAME}
HINT = "Give es_password of es_username: the efk role keeps elastic's in the Secret elasticsearch-logging-elastic"


def elasticsearch(localcluster, namespace, memory="1Gi", service=True):
    """The Service (once) and the StatefulSet the efk role would create, each pod asking for ``memory``."""
    return serve(localcluster, namespace, "StatefulSet", NAME, LABELS, {"name": "http", "port": 9200},
                 "stand-in.localcluster.test/elasticsearch:8.15.3",
                 {"name": "elasticsearch", "resources": {"requests": {"memory": memory}}}, service=service)


def ready(apps, namespace):
    wait_for(lambda: apps.read_namespaced_stateful_set_status(NAME, namespace).status.ready_replicas)


def direct(localcluster, **extra):
    es = localcluster.endpoints["elasticsearch"]
    return dict({"es_url": es["url"], "es_username": es["username"], "es_password": es["password"], "timeout": 3}, **extra)


def proxied(localcluster, **extra):
    return dict({"kubeconfig": localcluster.kubeconfig, "timeout": 2}, **extra)


# ---------------------------------------------------------------------------------------------- Elasticsearch 8 (security on)
@ES8
def test_proxy_before_the_service_exists_times_out_naming_the_missing_service(localcluster, run_module):
    exited = run_module(elasticsearch_health.main, proxied(localcluster))
    message = exited.result["msg"]
    assert exited.failed and exited.result["route"] == "service_proxy" and exited.result["changed"] is False
    assert message.startswith("Elasticsearch (service logging/elasticsearch-logging through the API server proxy) did not reach "
                              "yellow within 2 s: never got health, the last error was: GET /_cluster/health")
    assert '(HTTP 404): services "elasticsearch-logging" not found' in message
    assert message.endswith("Service logging/elasticsearch-logging does not exist (is the efk role applied, and es_namespace right?).")
    assert 2 <= exited.result["elapsed"] < 4


@ES8
def test_wrong_password_via_url_fails_at_once_without_showing_it(localcluster, run_module):
    exited = run_module(elasticsearch_health.main, direct(localcluster, es_password="not-the-Password-42"))
    message = exited.result["msg"]
    assert exited.failed and exited.result["route"] == "url" and exited.result["attempts"] == 1
    assert message.startswith("Elasticsearch refused the health check: GET /_cluster/health on %s failed (HTTP 401): security_exception: "
                              "unable to authenticate user [elastic]" % localcluster.endpoints["elasticsearch"]["url"])
    assert "Check the username and password or the API key. %s" % HINT in message
    assert "not-the-Password-42" not in json.dumps(exited.result)
    assert b64encode(b"elastic:not-the-Password-42").decode() not in json.dumps(exited.result)


@ES8
def test_without_ready_endpoints_the_timeout_names_the_unready_pods(localcluster, run_module):
    elasticsearch(localcluster, "logging", memory="100Gi")
    exited = run_module(elasticsearch_health.main, proxied(localcluster))
    message = exited.result["msg"]
    assert exited.failed and exited.result["health"] == {} and exited.result["status"] is None
    assert 'failed (HTTP 503): no endpoints available for service "elasticsearch-logging:9200" [answered by the Kubernetes API ' \
           'server]' in message
    assert message.endswith("Pods not ready behind Service logging/elasticsearch-logging: elasticsearch-logging-0 (Pending: 0/3 "
                            "nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption "
                            "victims found for incoming pod).")
    assert exited.result["attempts"] >= 2


@ES8
def test_via_url_the_timeout_shows_elasticsearchs_error_and_the_pods(localcluster, run_module):
    exited = run_module(elasticsearch_health.main, direct(localcluster, kubeconfig=localcluster.kubeconfig, timeout=2))
    message = exited.result["msg"]
    assert exited.failed and "failed (HTTP 503): master_not_discovered_exception" in message
    assert "elasticsearch-logging-0 (Pending: 0/3 nodes are available: 3 Insufficient memory" in message


@ES8
def test_via_url_without_a_kubeconfig_the_diagnostics_say_they_could_not_run(localcluster, run_module, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("K8S_AUTH_KUBECONFIG", "KUBECONFIG", "K8S_AUTH_HOST", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    exited = run_module(elasticsearch_health.main, direct(localcluster, timeout=2))
    message = exited.result["msg"]
    assert exited.failed and "master_not_discovered_exception" in message
    assert "The pods behind Service logging/elasticsearch-logging could not be checked: Could not connect to Kubernetes" in message
    assert "Traceback" not in message and "exception" not in exited.result


@ES8
def test_healthy_via_url_with_basic_auth(localcluster, run_module):
    ready(elasticsearch(localcluster, "logging", service=False), "logging")
    exited = run_module(elasticsearch_health.main, direct(localcluster, status="green"))
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result["status"] == "green" and exited.result["health"]["number_of_nodes"] == 1
    assert exited.result["route"] == "url" and exited.result["attempts"] == 1 and exited.result["elapsed"] < 3


@ES8
def test_check_mode_reports_the_same_and_changes_nothing(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(elasticsearch_health.main, direct(localcluster, kubeconfig=localcluster.kubeconfig), check_mode=True)
    assert not exited.failed and exited.result["changed"] is False and exited.result["status"] == "green"
    assert localcluster.writes() == []


@ES8
def test_401_through_the_proxy_explains_the_stripped_authorization_header(localcluster, run_module):
    warnings = []
    with mock.patch.object(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text)):
        exited = run_module(elasticsearch_health.main, proxied(localcluster, es_username="elastic", es_password="pw-shown-nowhere"))
    message = exited.result["msg"]
    assert exited.failed and exited.result["attempts"] == 1
    assert message.startswith("Elasticsearch refused the health check: GET /_cluster/health on service logging/elasticsearch-logging "
                              "through the API server proxy failed (HTTP 401): security_exception: missing authentication credentials")
    assert "kube-apiserver removes the Authorization header" in message and "give es_url" in message
    assert "efk_elasticsearch_anonymous_health" in message
    assert len(warnings) == 1 and "they are not sent" in warnings[0]
    assert "pw-shown-nowhere" not in json.dumps(exited.result) + warnings[0]


@ES8
def test_green_wanted_but_yellow_seen_times_out_with_the_health(localcluster, run_module):
    es = localcluster.endpoints["elasticsearch"]
    request = urllib.request.Request(es["url"] + "/logs-one-replica", method="PUT",
                                     data=json.dumps({"settings": {"number_of_shards": 1, "number_of_replicas": 1}}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Basic " + b64encode(
                                         ("elastic:" + es["password"]).encode()).decode()})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    exited = run_module(elasticsearch_health.main, direct(localcluster, kubeconfig=localcluster.kubeconfig, status="green", timeout=2))
    message = exited.result["msg"]
    assert exited.failed and exited.result["status"] == "yellow" and exited.result["health"]["unassigned_shards"] == 1
    assert message == ("Elasticsearch (%s) did not reach green within 2 s: last saw health yellow, 1 node(s), 1 unassigned shard(s). "
                       "All 1 pod(s) behind Service logging/elasticsearch-logging are ready." % es["url"])
    assert run_module(elasticsearch_health.main, direct(localcluster, status="yellow")).result["status"] == "yellow"


# ---------------------------------------------------------------------------------------------- Elasticsearch 7.17 (security off)
@ES7
def test_healthy_through_the_proxy_in_kube_system(localcluster, run_module):
    ready(elasticsearch(localcluster, "kube-system"), "kube-system")
    exited = run_module(elasticsearch_health.main, proxied(localcluster, es_namespace="kube-system", timeout=5))
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result["route"] == "service_proxy" and exited.result["status"] == "green" and exited.result["attempts"] == 1
    assert exited.result["health"]["cluster_name"] == "elasticsearch-logging"
    checked = run_module(elasticsearch_health.main, proxied(localcluster, es_namespace="kube-system"), check_mode=True)
    assert not checked.failed and checked.result["changed"] is False and checked.result["status"] == "green"


@ES7
@pytest.mark.parametrize("args, message", [
    ({"status": "red"}, "value of status must be one of: green, yellow, got: red"),
    ({"timeout": 0}, "timeout must be 1 second or more (got 0)"),
    ({"es_port": 70000}, "es_port must be a port number, 1 to 65535 (got 70000)"),
    ({"es_scheme": "ftp"}, "value of es_scheme must be one of: http, https, got: ftp"),
    ({"es_username": "u", "es_password": "p", "es_api_key": "k"}, "parameters are mutually exclusive: es_password|es_api_key"),
    ({"es_password": "p"}, "missing parameter(s) required by 'es_password': es_username"),
    ({"es_url": "es.example.com:9200"}, "Invalid es_url: es.example.com:9200 is not an http:// or https:// URL."),
    ({"es_namespace": "Logging_NS"}, "es_namespace: 'Logging_NS' is not a namespace name, which must be a DNS label"),
    ({"es_service": "elasticsearch.logging"}, "es_service: 'elasticsearch.logging' is not a Service name"),
])
def test_bad_options_fail_clearly_before_any_request(localcluster, run_module, args, message):
    localcluster.clear_requests()
    exited = run_module(elasticsearch_health.main, dict(args, kubeconfig=localcluster.kubeconfig))
    assert exited.failed and message in exited.result["msg"]
    assert not [r for r in localcluster.requests() if "/proxy/" in r["path"]]
