"""Test hooks: the request log and fault injection, as tests of the collection use them."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localcluster.pytest_plugin import workload


def test_request_log_records_method_path_user_type_and_code(localcluster):
    localcluster.clear_requests()
    localcluster.http("PATCH", "/api/v1/namespaces/default/configmaps/absent", {"data": {}}, content_type="application/merge-patch+json",
                      restricted=True)
    entry = localcluster.requests()[-1]
    assert (entry["method"], entry["path"], entry["user"], entry["content_type"], entry["code"]) == (
        "PATCH", "/api/v1/namespaces/default/configmaps/absent", "restricted", "application/merge-patch+json", 403)


@pytest.mark.parametrize("status, reason", [(500, "InternalError"), (503, "ServiceUnavailable"), (429, "TooManyRequests")])
def test_faults_fail_the_next_matching_requests_then_clear(localcluster, status, reason):
    localcluster.hook("faults", "POST", {"pattern": "^GET /api/v1/namespaces/default/configmaps$", "count": 2, "status": status})
    core = client.CoreV1Api(localcluster.api_client())
    for _unused in range(2):
        with pytest.raises(ApiException) as err:
            core.list_namespaced_config_map("default")
        assert err.value.status == status and reason in err.value.body
    assert core.list_namespaced_config_map("default").kind == "ConfigMapList"


def test_hanging_fault_outlasts_the_client_timeout(localcluster):
    localcluster.hook("faults", "POST", {"pattern": "^GET /api/v1/namespaces/default/secrets$", "count": 1, "hang": 1.5})
    core = client.CoreV1Api(localcluster.api_client())
    with pytest.raises(Exception) as err:
        core.list_namespaced_secret("default", _request_timeout=0.5)
    assert "timed out" in str(err.value).lower() or "timeout" in type(err.value).__name__.lower()


def test_a_slow_fault_delays_the_answer_and_then_serves_it(localcluster):
    localcluster.hook("faults", "DELETE")
    faults = localcluster.hook("faults", "POST", {"pattern": "^GET /api/v1/namespaces/default/services$", "count": 1, "status": 0,
                                                  "hang": 0.2})
    assert faults["faults"][0]["count"] == 1
    core = client.CoreV1Api(localcluster.api_client())
    assert core.list_namespaced_service("default").kind == "ServiceList"
    assert localcluster.requests()[-1]["code"] == 200
    assert localcluster.hook("faults")["faults"][0]["count"] == 0


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        body = f"path={self.path} auth={self.headers.get('Authorization')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_service_proxy_forwards_to_ready_endpoints_without_the_callers_token(localcluster):
    backend = http.server.HTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    try:
        localcluster.hook("backends", "POST", {"namespace": "default", "service": "kibana-logging",
                                               "url": f"http://127.0.0.1:{backend.server_address[1]}"})
        path = "/api/v1/namespaces/default/services/kibana-logging/proxy/api/status"
        code, body, _unused = localcluster.http("GET", path)
        assert code == 404 and body["message"] == 'services "kibana-logging" not found'
        client.CoreV1Api(localcluster.api_client()).create_namespaced_service("default", {
            "metadata": {"name": "kibana-logging"}, "spec": {"ports": [{"port": 5601}], "selector": {"app": "kibana-logging"}}})
        code, body, _unused = localcluster.http("GET", path)
        assert code == 503 and body["message"] == 'no endpoints available for service "kibana-logging"'
        client.AppsV1Api(localcluster.api_client()).create_namespaced_deployment("default", workload("Deployment", "kibana-logging"))
        deadline = time.time() + 10
        while localcluster.http("GET", path)[0] == 503 and time.time() < deadline:
            time.sleep(0.05)
        code, body, _unused = localcluster.http("GET", path + "?pretty=true")
        assert code == 200 and body == "path=/api/status?pretty=true auth=None"
        # The query goes on as it came, a repeated parameter too (Kibana's _find takes fields=title&fields=name).
        code, body, _unused = localcluster.http("GET", path + "?fields=title&fields=name&type=index-pattern")
        assert code == 200 and body == "path=/api/status?fields=title&fields=name&type=index-pattern auth=None"
        assert localcluster.http("GET", path, restricted=True)[0] == 403
    finally:
        backend.shutdown()
