"""kibana_status as Ansible runs it, against the local cluster and its Kibana emulator.

Tests of one stack profile share a cluster and run in file order: the Kibana Deployment goes from absent, to
unschedulable, to ready, to misconfigured.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from base64 import b64encode

import pytest

from ansible_collections.seclog.falco_efk.plugins.modules import kibana_status
from localcluster.pytest_plugin import serve, wait_for

KB8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
KB7 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "7.17")], indirect=True)
# A workload that stands in for Kibana (no image contract applies to it).
KIBANA_STAND_IN = "stand-in.localcluster.test/kibana:8.15.3"
NAME = "kibana-logging"
LABELS = {"app.kubernetes.io/name": "kibana", "app.kubernetes.io/instance": NAME}
HINT = "Give kibana_password of kibana_username: the efk role keeps elastic's in the Secret elasticsearch-logging-elastic"
FORBIDDEN_ELASTIC = ('[elasticsearch]: [config validation of [elasticsearch].username]: value of "elastic" is forbidden. This is a '
                     "superuser account that cannot write to system indices that Kibana needs to function.")


def kibana(localcluster, namespace, memory="1Gi", service=True, env=()):
    """The Namespace and Service (once) and the Deployment the efk role would create, served under the proxy path."""
    base_path = "/api/v1/namespaces/%s/services/%s/proxy" % (namespace, NAME)
    return serve(localcluster, namespace, "Deployment", NAME, LABELS, {"name": "ui", "port": 5601}, KIBANA_STAND_IN,
                 {"name": "kibana", "resources": {"requests": {"memory": memory}},
                  "env": [{"name": "SERVER_BASEPATH", "value": base_path}, {"name": "SERVER_REWRITEBASEPATH", "value": "false"}] + list(env)},
                 service=service)


def ready(apps, namespace):
    wait_for(lambda: apps.read_namespaced_deployment_status(NAME, namespace).status.ready_replicas)


def direct(localcluster, **extra):
    es = localcluster.endpoints["elasticsearch"]
    return dict({"kibana_url": localcluster.endpoints["kibana"]["url"], "kibana_username": es["username"],
                 "kibana_password": es["password"], "timeout": 3}, **extra)


def proxied(localcluster, **extra):
    return dict({"kubeconfig": localcluster.kubeconfig, "timeout": 2}, **extra)


def credentials(localcluster, password=None):
    es = localcluster.endpoints["elasticsearch"]
    return {"kibana_username": es["username"], "kibana_password": es["password"] if password is None else password}


def kibana_engine(localcluster):
    return localcluster.server.cluster.stack.kibana


def kibana_hook(localcluster, what, method="GET", body=None):
    request = urllib.request.Request(localcluster.endpoints["kibana"]["hooks"] + "/" + what, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def anonymous_status_code(localcluster):
    try:
        with urllib.request.urlopen(localcluster.endpoints["kibana"]["url"] + "/api/status", timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


# ---------------------------------------------------------------------------------------------- Kibana 8 (security on)
@KB8
def test_proxy_before_the_service_exists_times_out_naming_the_missing_service(localcluster, run_module):
    exited = run_module(kibana_status.main, proxied(localcluster))
    message = exited.result["msg"]
    assert exited.failed and exited.result["route"] == "service_proxy" and exited.result["changed"] is False
    assert exited.result["status"] is None and "version" not in exited.result
    assert message.startswith("Kibana (service logging/kibana-logging through the API server proxy) did not report available "
                              "within 2 s: never got a status, the last error was: GET /api/status")
    assert '(HTTP 404): services "kibana-logging" not found' in message
    assert message.endswith("Service logging/kibana-logging does not exist (is the efk role applied, and kibana_namespace right?).")
    assert 2 <= exited.result["elapsed"] < 4


@KB8
def test_without_ready_endpoints_the_timeout_names_the_unready_pods(localcluster, run_module):
    kibana(localcluster, "logging", memory="100Gi")
    exited = run_module(kibana_status.main, proxied(localcluster))
    message = exited.result["msg"]
    assert exited.failed and exited.result["status"] is None and exited.result["attempts"] >= 2
    assert 'failed (HTTP 503): no endpoints available for service "kibana-logging:5601" [answered by the Kubernetes API ' \
           'server]' in message
    assert re.search(r"Pods not ready behind Service logging/kibana-logging: kibana-logging-[a-z0-9]+-[a-z0-9]+ \(Pending: 0/3 nodes "
                     r"are available: 3 Insufficient memory\. .*\)\.$", message), message


@KB8
def test_available_through_the_proxy_without_the_version_kibana_keeps_from_anonymous_callers(localcluster, run_module):
    ready(kibana(localcluster, "logging", service=False), "logging")
    exited = run_module(kibana_status.main, proxied(localcluster, timeout=5))
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result["status"] == "available" and "version" not in exited.result
    assert exited.result["route"] == "service_proxy" and exited.result["attempts"] == 1 and exited.result["elapsed"] < 3


@KB8
def test_credentials_through_the_proxy_log_in_read_the_version_and_log_out(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(kibana_status.main, proxied(localcluster, timeout=5, **credentials(localcluster)))
    assert not exited.failed and exited.result["changed"] is False
    # The anonymous status, the login, the status with the session cookie (the logout is not counted).
    assert exited.result == dict(exited.result, status="available", version="8.15.3", route="service_proxy", attempts=3)
    proxied_paths = [r["path"].split("/proxy", 1)[1] for r in localcluster.requests() if "/proxy/" in r["path"]]
    # The kubernetes client follows the logout's redirect to the login page.
    assert proxied_paths == ["/api/status", "/internal/security/login", "/api/status", "/api/security/logout", "/login"]
    assert kibana_engine(localcluster).sessions() == []
    assert localcluster.endpoints["elasticsearch"]["password"] not in json.dumps(exited.result)


@KB8
def test_wrong_password_through_the_proxy_fails_at_once_naming_the_login_without_showing_it(localcluster, run_module):
    exited = run_module(kibana_status.main, proxied(localcluster, timeout=5, **credentials(localcluster, "not-the-Password-42")))
    message = exited.result["msg"]
    assert exited.failed and exited.result["status"] == "available" and "version" not in exited.result
    assert message.startswith("Kibana refused the status request: POST /internal/security/login on service logging/kibana-logging "
                              "through the API server proxy failed (HTTP 401): Unauthorized: [security_exception")
    assert "unable to authenticate user [elastic]" in message and message.endswith(
        "Check kibana_username and kibana_password: through the API server proxy they log in to Kibana's basic provider "
        "(Kibana 7.10 or later, security on) for a session cookie.")
    assert "removes the Authorization header" not in message and "not-the-Password-42" not in json.dumps(exited.result)


@KB8
def test_available_via_url_names_the_version(localcluster, run_module):
    exited = run_module(kibana_status.main, direct(localcluster, level="degraded"))
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result == dict(exited.result, status="available", version="8.15.3", route="url", attempts=1)


@KB8
def test_check_mode_reports_the_same_and_changes_nothing(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(kibana_status.main, direct(localcluster, kubeconfig=localcluster.kubeconfig), check_mode=True)
    assert not exited.failed and exited.result["changed"] is False and exited.result["status"] == "available"
    assert localcluster.writes() == []


@KB8
def test_wrong_password_via_url_fails_at_once_without_showing_it(localcluster, run_module):
    exited = run_module(kibana_status.main, direct(localcluster, kibana_password="not-the-Password-42"))
    message = exited.result["msg"]
    assert exited.failed and exited.result["route"] == "url" and exited.result["attempts"] == 1
    assert message.startswith("Kibana refused the status request: GET /api/status on %s failed (HTTP 401): "
                              % localcluster.endpoints["kibana"]["url"])
    assert "unable to authenticate user [elastic]" in message and "Check the username and password or the API key." in message
    assert HINT in message
    assert "not-the-Password-42" not in json.dumps(exited.result)
    assert b64encode(b"elastic:not-the-Password-42").decode() not in json.dumps(exited.result)


@KB8
def test_not_ready_yet_is_shown_as_the_last_error(localcluster, run_module):
    kibana_hook(localcluster, "faults", "POST", {"pattern": "GET /api/status", "count": 1000, "status": 503})
    try:
        exited = run_module(kibana_status.main, direct(localcluster, kubeconfig=localcluster.kubeconfig, timeout=2))
    finally:
        kibana_hook(localcluster, "faults", "DELETE")
    message = exited.result["msg"]
    assert exited.failed and exited.result["status"] is None
    assert "never got a status, the last error was: GET /api/status on %s failed (HTTP 503): Service Unavailable: Kibana server " \
           "is not ready yet." % localcluster.endpoints["kibana"]["url"] in message
    assert message.endswith("All 1 pod(s) behind Service logging/kibana-logging are ready.")


@KB8
def test_elastic_as_kibanas_own_user_leaves_it_unavailable_and_the_failure_says_why(localcluster, run_module):
    ready(kibana(localcluster, "logging", service=False, env=[{"name": "ELASTICSEARCH_USERNAME", "value": "elastic"}]), "logging")
    wait_for(lambda: anonymous_status_code(localcluster) == 503)
    by_url = run_module(kibana_status.main, direct(localcluster, kubeconfig=localcluster.kubeconfig, timeout=2))
    message = by_url.result["msg"]
    assert by_url.failed and by_url.result["status"] == "unavailable" and by_url.result["version"] == "8.15.3"
    assert message.startswith("Kibana (%s) did not report available within 2 s: last saw status unavailable (%s"
                              % (localcluster.endpoints["kibana"]["url"], FORBIDDEN_ELASTIC))
    assert "the last error" not in message and localcluster.endpoints["elasticsearch"]["password"] not in message
    assert message.endswith(") on Kibana 8.15.3. All 1 pod(s) behind Service logging/kibana-logging are ready.")

    by_proxy = run_module(kibana_status.main, proxied(localcluster, level="degraded"))
    assert by_proxy.failed and by_proxy.result["status"] == "unavailable" and "version" not in by_proxy.result
    assert "did not report degraded within 2 s: last saw status unavailable (Kibana tells anonymous callers only the level: give " \
           "kibana_username and kibana_password to read its reason)." in by_proxy.result["msg"]

    logged_in = run_module(kibana_status.main, proxied(localcluster, level="degraded", **credentials(localcluster)))
    message = logged_in.result["msg"]
    assert logged_in.failed and logged_in.result["status"] == "unavailable" and "version" not in logged_in.result
    assert "last saw status unavailable (the anonymous answer, with the level only: the session login did not succeed); the " \
           "last error was: POST /internal/security/login on service logging/kibana-logging through the API server proxy " \
           "failed (HTTP 503): Service Unavailable: Kibana server is not ready yet" in message, message
    assert localcluster.endpoints["elasticsearch"]["password"] not in json.dumps(logged_in.result)


# ---------------------------------------------------------------------------------------------- Kibana 7.17 (security off)
@KB7
def test_available_through_the_proxy_in_kube_system_reads_the_legacy_state(localcluster, run_module):
    ready(kibana(localcluster, "kube-system"), "kube-system")
    exited = run_module(kibana_status.main, proxied(localcluster, kibana_namespace="kube-system", timeout=5))
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result == dict(exited.result, status="available", version="7.17.25", route="service_proxy", attempts=1)
    checked = run_module(kibana_status.main, proxied(localcluster, kibana_namespace="kube-system", level="degraded"), check_mode=True)
    assert not checked.failed and checked.result["changed"] is False and checked.result["status"] == "available"


@KB7
@pytest.mark.parametrize("args, message", [
    ({"level": "green"}, "value of level must be one of: available, degraded, got: green"),
    ({"timeout": 0}, "timeout must be 1 second or more (got 0)"),
    ({"kibana_port": 0}, "kibana_port must be a port number, 1 to 65535 (got 0)"),
    ({"kibana_scheme": "ftp"}, "value of kibana_scheme must be one of: http, https, got: ftp"),
    ({"kibana_username": "u", "kibana_password": "p", "kibana_api_key": "k"},
     "parameters are mutually exclusive: kibana_password|kibana_api_key"),
    ({"kibana_password": "p"}, "missing parameter(s) required by 'kibana_password': kibana_username"),
    ({"kibana_url": "kibana.example.com:5601"}, "Invalid kibana_url: kibana.example.com:5601 is not an http:// or https:// URL."),
    ({"kibana_namespace": "Logging_NS"}, "kibana_namespace: 'Logging_NS' is not a namespace name, which must be a DNS label"),
    ({"kibana_service": "Kibana"}, "kibana_service: 'Kibana' is not a Service name"),
])
def test_bad_options_fail_clearly_before_any_request(localcluster, run_module, args, message):
    localcluster.clear_requests()
    exited = run_module(kibana_status.main, dict(args, kubeconfig=localcluster.kubeconfig))
    assert exited.failed and message in exited.result["msg"]
    assert not [r for r in localcluster.requests() if "/proxy/" in r["path"]]
