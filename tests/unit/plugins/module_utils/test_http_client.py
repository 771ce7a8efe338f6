"""The HTTP client for Elasticsearch and Kibana: URLs, server messages, retries and secrets, with a fake transport."""

from __future__ import annotations

import json
import socket
import ssl

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import elasticsearch, http_client as http


class FakeTransport:
    """Answers from a script: each entry is (status, body) or an exception to raise."""

    route = "url"
    where = "https://es.example:9200"

    def __init__(self, *script, secrets=()):
        self.script = list(script)
        self.sent = []
        self._secrets = list(secrets)

    def secrets(self):
        return self._secrets

    def send(self, method, path, query=None, body=None, headers=None, timeout=30):
        self.sent.append({"method": method, "path": path, "query": query, "body": body, "headers": headers, "timeout": timeout})
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, body_out = step[:2]
        raw = json.dumps(body_out).encode() if isinstance(body_out, (dict, list)) else (body_out or "").encode()
        got = {"content-type": "application/json" if isinstance(body_out, (dict, list)) else "text/plain"}
        got.update(step[2] if len(step) > 2 else {})
        return status, raw, got


class ProxyFake(FakeTransport):
    route = "service_proxy"
    where = "service logging/elasticsearch-logging through the API server proxy"


class Module:
    """What connect() uses of an AnsibleModule: warn()."""

    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def client(transport, attempts=4, **kwargs):
    sleeps = []
    policy = http.RetryPolicy(attempts=attempts, backoff=0.5, max_delay=2.0, sleep=sleeps.append)
    return http.HttpClient(transport, retry=policy, **kwargs), sleeps


ES_401 = {"error": {"root_cause": [{"type": "security_exception", "reason": "missing authentication credentials for REST request [/]"}],
                    "type": "security_exception", "reason": "missing authentication credentials for REST request [/]"}, "status": 401}
KUBE_503 = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "ServiceUnavailable", "code": 503,
            "message": 'no endpoints available for service "elasticsearch-logging:9200"'}


# ---------------------------------------------------------------------------------------------- URLs
def test_join_url_puts_one_slash_between_and_encodes_the_query():
    assert http.join_url("https://es:9200/", "/_cluster/health", {"wait_for_status": "yellow", "timeout": "5s"}) == \
        "https://es:9200/_cluster/health?timeout=5s&wait_for_status=yellow"
    assert http.join_url("http://h/prefix", "_cat/indices", [("format", "json"), ("v", True), ("skip", None)]) == \
        "http://h/prefix/_cat/indices?format=json&v=true"


def test_proxy_path_spells_out_https_only():
    assert http.proxy_path("logging", "elasticsearch-logging", 9200) == \
        "/api/v1/namespaces/logging/services/elasticsearch-logging:9200/proxy"
    assert http.proxy_path("kube-system", "es", 9200, "https") == "/api/v1/namespaces/kube-system/services/https:es:9200/proxy"


def test_display_url_drops_user_info():
    assert http.display_url("https://elastic:s3cret@es.example:9200/x") == "https://es.example:9200/x"
    assert http.display_url("http://es:9200") == "http://es:9200"


def test_url_transport_refuses_what_is_not_http():
    with pytest.raises(ValueError, match="is not an http:// or https:// URL"):
        http.UrlTransport("es.example:9200")


# ---------------------------------------------------------------------------------------------- server messages
@pytest.mark.parametrize("body, message", [
    (ES_401, "security_exception: missing authentication credentials for REST request [/]"),
    ({"error": {"type": "search_phase_execution_exception", "reason": "all shards failed",
                "root_cause": [{"type": "x", "reason": "No mapping found for [ts]"}]}},
     "search_phase_execution_exception: all shards failed (root cause: No mapping found for [ts])"),
    (KUBE_503, 'no endpoints available for service "elasticsearch-logging:9200"'),
    ({"statusCode": 400, "error": "Bad Request", "message": "[request body.type]: expected value of type [string]"},
     "Bad Request: [request body.type]: expected value of type [string]"),
    ({"error": "Incorrect HTTP method for uri [/]", "status": 405}, "Incorrect HTTP method for uri [/]"),
    ("<html>\n<body>502 Bad Gateway</body></html>", "<html> <body>502 Bad Gateway</body></html>"),
    (None, ""),
])
def test_server_message_uses_the_servers_own_words(body, message):
    assert http.server_message(body) == message


def test_decode_body_answers_json_text_or_none():
    assert http.decode_body(b'{"a": 1}', "application/json") == {"a": 1}
    assert http.decode_body(b"green 1 0\n", "text/plain") == "green 1 0\n"
    assert http.decode_body(b"", "application/json") is None
    assert http.decode_body(b"{not json", "application/json") == "{not json"


def test_encode_body_serialises_json_and_keeps_other_bodies():
    assert http.encode_body({"a": 1}, None) == (b'{"a": 1}', {"Content-Type": "application/json"})
    body, headers = http.encode_body('{"index": {}}\n{"a": 1}\n', {"content-type": "application/x-ndjson"})
    assert body == b'{"index": {}}\n{"a": 1}\n' and headers == {"content-type": "application/x-ndjson"}


# ---------------------------------------------------------------------------------------------- retries
def test_retry_delays_grow_exponentially_and_stop_at_the_cap():
    policy = http.RetryPolicy(backoff=0.5, max_delay=2.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert all(policy.retry_status(s) for s in (429, 502, 503, 504)) and not policy.retry_status(500)


def test_503_then_200_is_retried_with_backoff():
    transport = FakeTransport((503, KUBE_503), (429, "slow down"), (200, {"status": "green"}))
    http_client, sleeps = client(transport)
    answer = http_client.get("_cluster/health")
    assert answer.status == 200 and answer.body == {"status": "green"} and answer.headers["content-type"] == "application/json"
    assert sleeps == [0.5, 1.0] and http_client.requests == 3


def test_retries_are_bounded():
    http_client, sleeps = client(FakeTransport(*[(502, "bad gateway")] * 5), attempts=3)
    with pytest.raises(http.HttpError) as err:
        http_client.get("/")
    assert err.value.status == 502 and len(sleeps) == 2 and http_client.requests == 3


def test_client_errors_are_not_retried():
    http_client, sleeps = client(FakeTransport((400, {"error": {"type": "illegal_argument_exception", "reason": "bad"}})))
    with pytest.raises(http.HttpError, match="illegal_argument_exception: bad"):
        http_client.post("x", body={"a": 1})
    assert sleeps == []


def test_resets_and_timeouts_are_retried_refusals_are_not():
    reset = http.classify_exception(ConnectionResetError(104, "Connection reset by peer"))
    timeout = http.classify_exception(socket.timeout("timed out"))
    refused = http.classify_exception(ConnectionRefusedError(111, "Connection refused"))
    assert reset.retryable and timeout.retryable and not refused.retryable
    http_client, sleeps = client(FakeTransport(reset, timeout, (200, {"ok": True})))
    assert http_client.get("/").body == {"ok": True} and sleeps == [0.5, 1.0]
    http_client, sleeps = client(FakeTransport(refused))
    with pytest.raises(http.HttpError) as err:
        http_client.get("/")
    assert err.value.status is None and sleeps == []
    assert str(err.value) == "GET / on https://es.example:9200 got no answer: [Errno 111] Connection refused."


def test_a_certificate_that_does_not_verify_is_not_retried_and_names_the_options_that_fix_it():
    failure = http.classify_exception(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                                                      "self-signed certificate (_ssl.c:1006)"))
    assert failure.certificate and not failure.retryable
    http_client, sleeps = client(FakeTransport(failure))
    http_client.certificate_hint = "Give the CA that signed it with es_ca_path (a PEM file), or set es_validate_certs: false"
    with pytest.raises(http.HttpError) as err:
        http_client.get("_cluster/health")
    assert sleeps == [] and err.value.certificate and err.value.status is None
    assert "the server's TLS certificate did not verify" in str(err.value)
    assert "es_ca_path" in str(err.value) and "es_validate_certs: false" in str(err.value)
    assert not http.classify_exception(ConnectionRefusedError(111, "Connection refused")).certificate


def test_deadline_stops_retrying_early():
    now = [100.0]
    policy = http.RetryPolicy(attempts=10, backoff=1.0, sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    transport = FakeTransport(*[(503, KUBE_503)] * 10)
    http_client = http.HttpClient(transport, retry=policy)
    with pytest.raises(http.HttpError):
        http_client.get("/", deadline=103.5)
    # waits 1 then 2 seconds; a third wait of 4 would pass the deadline
    assert http_client.requests == 3 and now[0] == 103.0
    assert transport.sent[-1]["timeout"] == 0.5


def test_ok_statuses_are_answers_not_errors():
    http_client, _sleeps = client(FakeTransport((408, {"status": "red", "timed_out": True})))
    assert http_client.get("_cluster/health", ok=(200, 408)).status == 408


# ---------------------------------------------------------------------------------------------- error text and secrets
def test_error_names_method_target_status_and_server_message():
    http_client, _sleeps = client(FakeTransport((404, {"error": {"type": "index_not_found_exception", "reason": "no such index [x]"}})))
    with pytest.raises(http.HttpError) as err:
        http_client.get("x/_doc/1")
    assert str(err.value) == ("GET /x/_doc/1 on https://es.example:9200 failed (HTTP 404): "
                              "index_not_found_exception: no such index [x].")
    assert err.value.method == "GET" and err.value.where == "https://es.example:9200"


def test_401_through_the_proxy_explains_the_stripped_authorization_header():
    http_client, _sleeps = client(ProxyFake((401, ES_401)), unauthorized_hint=elasticsearch.PROXY_UNAUTHORIZED_HINT)
    with pytest.raises(http.HttpError) as err:
        http_client.get("_cluster/health")
    message = str(err.value)
    assert message.startswith("GET /_cluster/health on service logging/elasticsearch-logging through the API server proxy failed "
                              "(HTTP 401): security_exception: missing authentication credentials")
    assert "removes the Authorization header" in message and "kubernetes/kubernetes#38775" in message
    assert "give es_url" in message and "efk_elasticsearch_anonymous_health" in message


def test_api_server_answers_through_the_proxy_are_marked_as_such():
    http_client, _sleeps = client(ProxyFake((503, KUBE_503)), attempts=1)
    with pytest.raises(http.HttpError, match=r'no endpoints available for service "elasticsearch-logging:9200" \[answered by the '
                                             r'Kubernetes API server\]'):
        http_client.get("_cluster/health")


def test_secrets_never_reach_messages():
    password, api_key = "hunter2-s3cret", "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
    basic = "ZWxhc3RpYzpodW50ZXIyLXMzY3JldA=="  # elastic:hunter2-s3cret
    echo = {"error": {"type": "security_exception", "reason": "bad header [Basic %s] or key [%s] for %s" % (basic, api_key, password)}}
    transport = http.UrlTransport("https://elastic:%s@es.example:9200" % password, username="elastic", password=password)
    assert set(transport.secrets()) >= {password, basic}
    reset = http.classify_exception(ConnectionResetError(104, "reset while sending " + api_key))
    fake = FakeTransport((401, echo), reset, secrets=transport.secrets() + [api_key])
    http_client, _sleeps = client(fake, attempts=1)
    for _attempt in range(2):
        with pytest.raises(http.HttpError) as err:
            http_client.get("/")
        for secret in (password, api_key, basic):
            assert secret not in str(err.value)
        assert http.MASK in str(err.value)
    assert transport.where == "https://es.example:9200"


def test_credentials_for_the_proxy_route_are_warned_about_once():
    module = Module()
    built = http.connect(module, namespace="logging", service="elasticsearch-logging", port=9200, username="elastic",
                         password="pw-not-shown", cluster=object)
    assert built.route == "service_proxy" and len(module.warnings) == 1
    assert "removes the Authorization header" in module.warnings[0] and "pw-not-shown" not in module.warnings[0]
    assert http.connect(module, url="https://es:9200", password="x", username="u").route == "url" and len(module.warnings) == 1


def test_elasticsearch_argument_spec_hides_secrets_and_pairs_username_with_password():
    spec = elasticsearch.elasticsearch_argument_spec()
    assert spec["es_password"]["no_log"] and spec["es_api_key"]["no_log"]
    assert spec["es_service"]["default"] == "elasticsearch-logging" and spec["es_namespace"]["default"] == "logging"
    assert spec["es_port"]["default"] == 9200 and spec["es_scheme"]["choices"] == ["http", "https"]
    assert not {"username", "password", "api_key", "validate_certs"} & set(spec)
    constraints = elasticsearch.elasticsearch_constraints()
    assert constraints["mutually_exclusive"] == [["es_password", "es_api_key"]]
    assert constraints["required_by"] == {"es_password": ["es_username"]}


def test_describe_pod_names_phase_and_the_reason_kubernetes_gives():
    pending = {"metadata": {"name": "elasticsearch-logging-1"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available: 3 Insufficient memory."}]}}
    assert elasticsearch.describe_pod(pending) == "elasticsearch-logging-1 (Pending: 0/3 nodes are available: 3 Insufficient memory)"
    pulling = {"metadata": {"name": "es-0"}, "status": {"phase": "Pending", "containerStatuses": [
        {"name": "elasticsearch", "ready": False, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}}
    assert elasticsearch.describe_pod(pulling) == "es-0 (Pending: container elasticsearch ImagePullBackOff: Back-off pulling image)"
    assert elasticsearch.status_reached("green", "yellow") and not elasticsearch.status_reached("yellow", "green")
    assert not elasticsearch.status_reached(None, "yellow")


# ---------------------------------------------------------------------------------------------- cookie sessions
SID = "Fe26.2**0123456789abcdef*c2VjcmV0*cookie-value"
KIBANA_401 = {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
LOGIN_401 = {"statusCode": 401, "error": "Unauthorized", "message": "[security_exception\n\tRoot causes:\n\t\tsecurity_exception: "
             "unable to authenticate user [elastic] for REST request [/_security/_authenticate]]: unable to authenticate user "
             "[elastic] for REST request [/_security/_authenticate]"}
LOGGED_IN = (200, {"location": "/"}, {"set-cookie": "sid=%s; HttpOnly; Path=/" % SID})
PASSWORD = "pw-Never-Shown-7"


class FormSession(http.CookieSession):
    """A cookie login as Kibana's form does it."""

    unauthorized_hint = "Check the form's username and password."

    def login_request(self, client):
        return "POST", "login", {"user": self.username, "password": self.password}, {"kbn-xsrf": "true"}

    def logout_request(self, client):
        return "GET", "logout", {}


def session_client(*script, attempts=4):
    transport = ProxyFake(*script)
    built, _sleeps = client(transport, attempts=attempts, session=FormSession("elastic", PASSWORD))
    return built, transport


def cookies(transport):
    return [(sent["path"], (sent["headers"] or {}).get("Cookie")) for sent in transport.sent]


@pytest.mark.parametrize("header, value", [
    ("sid=%s; HttpOnly; Path=/api/v1/namespaces/logging/services/kibana-logging/proxy" % SID, SID),
    ("other=1; Path=/\nsid=abc; Secure; HttpOnly; SameSite=Lax; Path=/", "abc"),
    ("sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/", ""),
    ("sidecar=1; Path=/", None),
    (None, None),
])
def test_parse_set_cookie_finds_the_named_cookie(header, value):
    assert http.parse_set_cookie(header, "sid") == value


def test_repeated_headers_are_joined_and_set_cookie_keeps_one_line_each():
    from urllib3 import HTTPHeaderDict  # pylint: disable=import-outside-toplevel
    headers = HTTPHeaderDict()
    for name, value in (("Set-Cookie", "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), ("Set-Cookie", "sid=x"), ("Vary", "a"),
                        ("Vary", "b")):
        headers.add(name, value)
    lowered = http._lower(headers)  # pylint: disable=protected-access
    assert lowered == {"set-cookie": "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT\nsid=x", "vary": "a, b"}
    assert http.parse_set_cookie(lowered["set-cookie"], "sid") == "x"


def test_a_401_logs_in_once_then_every_request_carries_the_cookie():
    built, transport = session_client((401, KIBANA_401), LOGGED_IN, (200, {"ok": 1}), (200, {"ok": 2}))
    assert built.get("api/saved_objects/_find").body == {"ok": 1}
    assert built.get("api/status").body == {"ok": 2}
    assert cookies(transport) == [("api/saved_objects/_find", None), ("login", None), ("api/saved_objects/_find", "sid=" + SID),
                                  ("api/status", "sid=" + SID)]
    login = transport.sent[1]
    assert login["method"] == "POST" and login["headers"]["kbn-xsrf"] == "true" and json.loads(login["body"])["user"] == "elastic"
    assert built.session.logins == 1 and built.requests == 4


def test_a_session_that_ends_mid_run_logs_in_again_once_per_request():
    built, transport = session_client(LOGGED_IN, (401, KIBANA_401, {"kbn-session-error-reason": "SESSION_EXPIRED"}),
                                      (200, {"location": "/"}, {"set-cookie": "sid=second; HttpOnly; Path=/"}), (200, {"ok": 1}),
                                      (401, KIBANA_401), (200, {"location": "/"}, {"set-cookie": "sid=third; Path=/"}), (401, KIBANA_401))
    assert built.log_in() is True
    assert built.get("api/status").body == {"ok": 1}
    with pytest.raises(http.HttpError) as err:
        built.get("api/status")
    assert err.value.status == 401 and built.session.logins == 3
    assert [c for p, c in cookies(transport) if p == "api/status"] == ["sid=" + SID, "sid=second", "sid=second", "sid=third"]
    assert str(err.value) == ("GET /api/status on service logging/elasticsearch-logging through the API server proxy failed (HTTP "
                              "401): Unauthorized. Check the form's username and password.")


def test_a_refused_login_names_the_login_never_the_password_nor_the_cookie():
    echo = dict(LOGIN_401, message="bad password %s for cookie %s" % (PASSWORD, SID))
    built, transport = session_client(LOGGED_IN, (401, KIBANA_401), (401, echo))
    built.log_in()
    with pytest.raises(http.HttpError) as err:
        built.post("api/saved_objects/config/x", body={"attributes": {}})
    message = str(err.value)
    assert message.startswith("POST /login on service logging/elasticsearch-logging through the API server proxy failed (HTTP "
                              "401): Unauthorized: bad password ")
    assert PASSWORD not in message and SID not in message and message.count(http.MASK) == 2
    assert message.endswith("Check the form's username and password.") and "removes the Authorization header" not in message
    assert len(transport.sent) == 3


def test_a_login_that_sets_no_cookie_says_so():
    built, _transport = session_client((401, KIBANA_401), (200, {"location": "/"}))
    with pytest.raises(http.HttpError) as err:
        built.get("api/status")
    assert str(err.value) == ("POST /login on service logging/elasticsearch-logging through the API server proxy answered HTTP 200 "
                              "without a sid session cookie; is the service's security on, with this login?")


def test_a_401_from_the_api_server_does_not_log_in():
    kube_401 = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Unauthorized", "code": 401, "message": "Unauthorized"}
    built, transport = session_client((401, kube_401))
    with pytest.raises(http.HttpError) as err:
        built.get("api/status")
    assert len(transport.sent) == 1 and built.session.logins == 0 and "[answered by the Kubernetes API server]" in str(err.value)


def test_login_retries_a_kibana_not_ready_yet_as_any_request():
    not_ready = {"statusCode": 503, "error": "Service Unavailable", "message": "Kibana server is not ready yet"}
    built, transport = session_client((401, KIBANA_401), (503, not_ready), LOGGED_IN, (200, {"ok": 1}))
    assert built.get("api/status").body == {"ok": 1}
    assert [sent["path"] for sent in transport.sent] == ["api/status", "login", "login", "api/status"]


def test_the_session_follows_refreshed_and_cleared_cookies():
    built, _transport = session_client(LOGGED_IN, (200, {}, {"set-cookie": "sid=refreshed; Path=/"}),
                                       (200, {}, {"set-cookie": "sid=; Max-Age=0; Path=/"}))
    built.log_in()
    built.get("a")
    assert built.session.cookie == "sid=refreshed"
    built.get("b")
    assert built.session.cookie is None


def test_close_logs_out_with_the_cookie_and_ignores_failures():
    built, transport = session_client(LOGGED_IN, (302, "", {"location": "/login?msg=LOGGED_OUT"}))
    built.close()
    assert len(transport.sent) == 0
    built.log_in()
    built.close()
    assert transport.sent[-1]["path"] == "logout" and transport.sent[-1]["headers"] == {"Cookie": "sid=" + SID}
    assert built.session.cookie is None
    failing, _transport = session_client(LOGGED_IN, (500, "boom"), attempts=1)
    failing.log_in()
    failing.close()
    assert failing.session.cookie is None


def test_a_client_without_session_does_not_log_in():
    built, _sleeps = client(ProxyFake())
    assert built.log_in() is False
    built.close()


def test_a_session_is_used_on_the_proxy_route_only_and_then_without_warning():
    module = Module()
    session = FormSession("elastic", PASSWORD)
    proxied = http.connect(module, namespace="logging", service="kibana-logging", port=5601, username="elastic", password=PASSWORD,
                           cluster=object, session=session)
    assert proxied.session is session and module.warnings == []
    direct = http.connect(module, url="https://kibana:5601", username="elastic", password=PASSWORD, session=session)
    assert direct.session is None and direct.transport.password == PASSWORD and module.warnings == []
    keyed = http.connect(module, namespace="logging", service="kibana-logging", port=5601, api_key="a2V5OnNlY3JldA==",
                         cluster=object, session=None)
    assert keyed.session is None and len(module.warnings) == 1 and "a2V5OnNlY3JldA==" not in module.warnings[0]


@pytest.mark.parametrize("query,expected", [
    ({"type": "index-pattern", "fields": ["title", "name"]}, "fields=title&fields=name&type=index-pattern"),
    ({"overwrite": True, "skip": None}, "overwrite=true"),
    ([("q", "a b"), ("q", "c")], "q=a+b&q=c"),
])
def test_a_list_value_repeats_its_parameter(query, expected):
    """Kibana's _find takes fields=title&fields=name; a list written as one string names no field at all."""
    assert http.encode_query(query) == expected
