"""Kibana's /api/status as 8.x, 7.17 and 6.x answer it, read onto one scale; the kibana_* options."""

from __future__ import annotations

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import kibana

ES_DOWN = ("Unable to retrieve version information from Elasticsearch nodes. security_exception: [security_exception] Reason: "
           "unable to authenticate user [kibana_system] for REST request [/_nodes]")
V8_AVAILABLE = {"name": "kibana", "version": {"number": "8.15.3", "build_flavor": "traditional"},
                "status": {"overall": {"level": "available", "summary": "All services are available"}, "core": {}, "plugins": {}}}
V8_DEGRADED = {"version": {"number": "8.15.3"}, "status": {"overall": {
    "level": "degraded", "summary": "1 service is degraded: taskManager [degraded]: Task Manager is unhealthy"}}}
V8_UNAVAILABLE = {"version": {"number": "8.15.3"}, "status": {"overall": {"level": "unavailable", "summary": "[elasticsearch]: " + ES_DOWN}}}
V8_CRITICAL = {"version": {"number": "8.15.3"}, "status": {"overall": {"level": "critical", "summary": "Kibana is shutting down"}}}
V8_ANONYMOUS = {"status": {"overall": {"level": "unavailable"}}}
V717_GREEN = {"name": "kibana", "version": {"number": "7.17.25"}, "status": {
    "overall": {"state": "green", "title": "Green", "nickname": "Looking good", "icon": "success"},
    "statuses": [{"id": "core:elasticsearch@7.17.25", "state": "green", "message": "Elasticsearch is available"}]}}
V717_RED = {"version": {"number": "7.17.25"}, "status": {
    "overall": {"state": "red", "title": "Red", "nickname": "Danger Will Robinson! Danger!"},
    "statuses": [{"id": "core:elasticsearch@7.17.25", "state": "red", "message": ES_DOWN},
                 {"id": "core:savedObjects@7.17.25", "state": "green", "message": "SavedObjects service has completed migrations"}]}}
V717_V8FORMAT = {"version": {"number": "7.17.25"}, "status": {"overall": {"level": "degraded", "summary": "1 service is degraded"}}}
V6_YELLOW = {"name": "kibana", "version": {"number": "6.8.23", "build_snapshot": False}, "status": {
    "overall": {"state": "yellow", "title": "Yellow", "nickname": "I'll be back", "icon": "warning"},
    "statuses": [{"id": "plugin:elasticsearch@6.8.23", "state": "yellow", "message": "Waiting for Elasticsearch"},
                 {"id": "plugin:kibana@6.8.23", "state": "green", "message": "Ready"}]}}
V6_UNINITIALIZED = {"version": {"number": "6.2.4"}, "status": {"overall": {"state": "uninitialized", "title": "Uninitialized"}}}
V5_GREEN = {"version": "5.6.16", "status": {"overall": {"state": "green"}}}
NOT_READY = {"statusCode": 503, "error": "Service Unavailable", "message": "Kibana server is not ready yet"}
NO_ENDPOINTS = {"kind": "Status", "status": "Failure", "message": 'no endpoints available for service "kibana-logging:5601"', "code": 503}


@pytest.mark.parametrize("body, level, number, summary", [
    (V8_AVAILABLE, "available", "8.15.3", "All services are available"),
    (V8_DEGRADED, "degraded", "8.15.3", "1 service is degraded: taskManager [degraded]: Task Manager is unhealthy"),
    (V8_UNAVAILABLE, "unavailable", "8.15.3", "[elasticsearch]: " + ES_DOWN),
    (V8_CRITICAL, "critical", "8.15.3", "Kibana is shutting down"),
    (V8_ANONYMOUS, "unavailable", None, None),
    (V717_GREEN, "available", "7.17.25", None),
    (V717_RED, "unavailable", "7.17.25", "core:elasticsearch@7.17.25: " + ES_DOWN),
    (V717_V8FORMAT, "degraded", "7.17.25", "1 service is degraded"),
    (V6_YELLOW, "degraded", "6.8.23", "plugin:elasticsearch@6.8.23: Waiting for Elasticsearch"),
    (V6_UNINITIALIZED, "unavailable", "6.2.4", None),
    (V5_GREEN, "available", "5.6.16", None),
    (NOT_READY, None, None, None),
    (NO_ENDPOINTS, None, None, None),
    ({"status": "green"}, None, None, None),
    ({"status": {"overall": {"level": "purple"}}}, None, None, None),
    ("<html>Kibana</html>", None, None, None),
    (None, None, None, None),
], ids=["8-available", "8-degraded", "8-unavailable", "8-critical", "8-anonymous", "7.17-green", "7.17-red", "7.17-v8format",
        "6.x-yellow", "6.x-uninitialized", "5.x-version-string", "boom-503", "kube-status", "status-string", "unknown-level", "html",
        "empty"])
def test_status_level_version_and_summary_of_each_shape(body, level, number, summary):
    assert kibana.status_level(body) == level
    assert kibana.version(body) == number
    assert kibana.status_summary(body) == summary


@pytest.mark.parametrize("seen, wanted, reached", [
    ("available", "available", True),
    ("available", "degraded", True),
    ("degraded", "degraded", True),
    ("degraded", "available", False),
    ("unavailable", "degraded", False),
    ("critical", "degraded", False),
    (None, "degraded", False),
    ("green", "available", False),
])
def test_level_reached_orders_available_degraded_unavailable_critical(seen, wanted, reached):
    assert kibana.level_reached(seen, wanted) is reached


@pytest.mark.parametrize("body, line", [
    (V8_AVAILABLE, "available (All services are available) on Kibana 8.15.3"),
    (V8_ANONYMOUS, "unavailable"),
    (V717_GREEN, "available on Kibana 7.17.25"),
    (V6_YELLOW, "degraded (plugin:elasticsearch@6.8.23: Waiting for Elasticsearch) on Kibana 6.8.23"),
    (NOT_READY, "no status"),
])
def test_describe_status_is_one_line_with_kibanas_words(body, line):
    assert kibana.describe_status(body) == line


def test_only_the_anonymous_answer_counts_as_redacted():
    assert kibana.redacted(V8_ANONYMOUS)
    assert not [body for body in (V8_AVAILABLE, V717_GREEN, V6_UNINITIALIZED, NOT_READY, None) if kibana.redacted(body)]


def test_a_long_summary_is_cut_and_whitespace_folded():
    body = {"status": {"overall": {"level": "degraded", "summary": "  many\n\tplugins " + "x" * 600}}}
    summary = kibana.status_summary(body, limit=20)
    assert summary == "many plugins xxxxxxx..."


def test_kibana_argument_spec_hides_secrets_and_pairs_username_with_password():
    spec = kibana.kibana_argument_spec()
    assert spec["kibana_password"]["no_log"] and spec["kibana_api_key"]["no_log"]
    assert spec["kibana_service"]["default"] == "kibana-logging" and spec["kibana_namespace"]["default"] == "logging"
    assert spec["kibana_port"]["default"] == 5601 and spec["kibana_scheme"]["choices"] == ["http", "https"]
    assert spec["kibana_validate_certs"]["default"] is True and spec["kibana_ca_path"]["type"] == "path"
    assert not {"username", "password", "api_key", "validate_certs"} & set(spec)
    constraints = kibana.kibana_constraints()
    assert constraints["mutually_exclusive"] == [["kibana_password", "kibana_api_key"]]
    assert constraints["required_by"] == {"kibana_password": ["kibana_username"]}


class Module:
    """What kibana_client reads of an AnsibleModule."""

    def __init__(self, **params):
        self.params = dict((name, spec.get("default")) for name, spec in kibana.kibana_argument_spec().items())
        self.params.update(params)
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


class Proxy:
    prefix = "/api/v1/namespaces/logging/services/kibana-logging/proxy"


def test_kibana_session_logs_in_as_the_login_form_does():
    session = kibana.KibanaSession("elastic", "pw-Never-Shown-7")
    client = type("Client", (), {"transport": Proxy()})()
    method, path, body, headers = session.login_request(client)
    assert (method, path) == ("POST", "internal/security/login")
    assert body == {"providerType": "basic", "providerName": "basic", "currentURL": Proxy.prefix + "/login",
                    "params": {"username": "elastic", "password": "pw-Never-Shown-7"}}
    assert headers == {"kbn-xsrf": "true", "x-elastic-internal-origin": "Kibana"}
    # Logging out is a browser redirect: with kbn-xsrf Kibana refuses it as an AJAX call.
    assert session.logout_request(client) == ("GET", "api/security/logout", {})
    assert session.cookie_name == "sid" and "kibana_username and kibana_password" in session.unauthorized_hint


def test_kibana_client_through_the_proxy_logs_in_with_a_password_and_does_not_warn():
    module = Module(kibana_username="elastic", kibana_password="pw-Never-Shown-7")
    client = kibana.kibana_client(module, object)
    assert client.route == "service_proxy" and isinstance(client.session, kibana.KibanaSession) and module.warnings == []
    assert client.session.cookie is None and client.requests == 0  # lazily: nothing is sent yet


def test_kibana_client_warns_about_an_api_key_through_the_proxy_and_keeps_the_url_route_as_it_was():
    keyed = Module(kibana_api_key="a2V5OnNlY3JldA==")
    assert kibana.kibana_client(keyed, object).session is None and len(keyed.warnings) == 1
    assert "a2V5OnNlY3JldA==" not in keyed.warnings[0]
    direct = Module(kibana_url="https://kibana.example.com", kibana_username="elastic", kibana_password="pw")
    client = kibana.kibana_client(direct, object)
    assert client.route == "url" and client.session is None and client.transport.password == "pw" and direct.warnings == []
    anonymous = Module()
    assert kibana.kibana_client(anonymous, object).session is None and anonymous.warnings == []
