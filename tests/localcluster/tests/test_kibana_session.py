"""Kibana's basic-provider session login in the emulator: the engine (7.17 and 8) and through the API server's proxy."""
# Test names state the behaviour under test; a docstring would only repeat them.
# pylint: disable=missing-function-docstring

from __future__ import annotations

import json
from typing import Any

import pytest

from localcluster.kibana import Kibana
from localcluster.pytest_plugin import serve, wait_for
from localcluster.tests.test_kibana import FakeEs, basic

PROFILES = ["7.17", "8"]
BP = "/api/v1/namespaces/logging/services/kibana-logging/proxy"
XSRF = {"kbn-xsrf": "true", "Content-Type": "application/json"}
FIND = "/api/saved_objects/_find?type=dashboard"
LOGIN_FAILED = ("[security_exception\n\tRoot causes:\n\t\tsecurity_exception: unable to authenticate user [elastic] for REST request "
                "[/_security/_authenticate]]: unable to authenticate user [elastic] for REST request [/_security/_authenticate]")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def login_body(username: str = "elastic", password: str = "changeme", current: str = "/login", **extra: Any) -> dict[str, Any]:
    return dict({"providerType": "basic", "providerName": "basic", "currentURL": current,
                 "params": {"username": username, "password": password}}, **extra)


def make(profile: str, **kwargs: Any) -> Kibana:
    """A Kibana with security on (7.17 too) and the fake Elasticsearch users."""
    return Kibana(profile, es=FakeEs(), security=kwargs.pop("security", True), **kwargs)


def login(kibana: Kibana, body: Any = None, headers: dict | None = None):
    return kibana.handle("POST", "/internal/security/login", XSRF if headers is None else headers,
                         json.dumps(login_body() if body is None else body).encode())


def cookie_of(response) -> str:
    """The Cookie header a client sends back for the Set-Cookie of ``response``."""
    return response.headers["Set-Cookie"].split(";", 1)[0]


# ---------------------------------------------------------------------------------------------- the engine
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("base_path, path", [("", "/"), (BP, BP)])
def test_login_sets_an_http_only_sid_cookie_on_the_base_path_and_answers_the_location(profile, base_path, path):
    kibana = make(profile, base_path=base_path)
    response = login(kibana, login_body(current=base_path + "/login"))
    assert response.status == 200 and response.json() == {"location": base_path + "/"}
    name, value = cookie_of(response).split("=", 1)
    assert name == "sid" and value.startswith("Fe26.2**")
    assert response.headers["Set-Cookie"] == f"sid={value}; HttpOnly; Path={path}"
    assert kibana.sessions() == ["elastic"]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_cookie_authenticates_later_requests_as_that_user(profile):
    kibana = make(profile)
    sid = cookie_of(login(kibana))
    found = kibana.handle("GET", FIND, {"Cookie": "theme=dark; " + sid})
    assert found.status == 200 and found.json()["total"] == 0 and found.headers["X-Localcluster-User"] == "elastic"
    created = kibana.handle("POST", "/api/saved_objects/config/x", {**XSRF, "Cookie": sid}, b'{"attributes": {}}')
    assert created.status == 200
    me = kibana.handle("GET", "/internal/security/me", {"Cookie": sid}).json()
    assert me["username"] == "elastic" and me["authentication_provider"] == {"type": "basic", "name": "basic"}
    assert kibana.handle("GET", FIND, {}).status == 401


def test_a_viewer_session_reads_but_cannot_write():
    kibana = make("8")
    sid = cookie_of(login(kibana, login_body("reader", "pw")))
    assert kibana.handle("GET", FIND, {"Cookie": sid}).status == 200
    refused = kibana.handle("POST", "/api/saved_objects/config/x", {**XSRF, "Cookie": sid}, b'{"attributes": {}}')
    assert refused.status == 403 and refused.json()["message"] == "Unable to create config"


def test_the_status_with_a_session_is_the_full_one():
    kibana = make("8")
    anonymous = kibana.handle("GET", "/api/status", {}).json()
    full = kibana.handle("GET", "/api/status", {"Cookie": cookie_of(login(kibana))}).json()
    assert "version" not in anonymous and full["version"]["number"] == "8.15.3"


@pytest.mark.parametrize("profile", PROFILES)
def test_a_wrong_password_is_401_with_kibanas_message_and_no_cookie(profile):
    kibana = make(profile)
    response = login(kibana, login_body(password="wrong"))
    assert response.status == 401 and "Set-Cookie" not in response.headers
    assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": LOGIN_FAILED}
    assert kibana.sessions() == []


@pytest.mark.parametrize("profile", PROFILES)
def test_login_without_kbn_xsrf_is_400(profile):
    response = login(make(profile), headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.json()["message"] == "Request must contain a kbn-xsrf header."


@pytest.mark.parametrize("body, message", [
    ({"providerName": "basic", "currentURL": "/"}, "[request body.providerType]: expected value of type [string] but got [undefined]"),
    (login_body(params={"username": "elastic"}), "[request body.params.password]: expected value of type [string] but got [undefined]"),
    (login_body(params={"username": "elastic", "password": ""}),
     "[request body.params.password]: value has length [0] but it must have a minimum length of [1]."),
    (login_body(extra=1), "[request body.extra]: definition for this key is missing"),
])
def test_login_bodies_are_validated_as_config_schema_does(body, message):
    response = login(make("8"), body)
    assert response.status == 400 and response.json()["message"] == message


def test_a_provider_that_is_not_configured_does_not_handle_the_login():
    response = login(make("8"), login_body(providerName="cloud-basic"))
    assert response.status == 401 and response.json()["message"] == "Unauthorized"


def test_login_redirects_to_next_only_inside_this_kibana():
    kibana = make("8", base_path=BP)
    assert login(kibana, login_body(current=f"{BP}/login?next={BP}%2Fapp%2Fdiscover")).json() == {"location": BP + "/app/discover"}
    assert login(kibana, login_body(current=f"{BP}/login?next=https%3A%2F%2Fevil.example%2F")).json() == {"location": BP + "/"}


def test_idle_timeout_defaults_follow_the_profile():
    assert make("8").session_idle_timeout == 3 * 86400 and make("7.17").session_idle_timeout is None


@pytest.mark.parametrize("profile, reason", [("8", "SESSION_EXPIRED"), ("7.17", None)])
def test_an_idle_session_expires_and_the_cookie_is_cleared(profile, reason):
    clock = Clock()
    kibana = make(profile, clock=clock, session_idle_timeout=60)
    sid = cookie_of(login(kibana))
    clock.now += 59
    assert kibana.handle("GET", FIND, {"Cookie": sid}).status == 200  # a request slides the expiry
    clock.now += 59
    assert kibana.handle("GET", FIND, {"Cookie": sid}).status == 200
    clock.now += 61
    expired = kibana.handle("GET", FIND, {"Cookie": sid})
    assert expired.status == 401 and expired.json()["message"] == "Unauthorized"
    assert expired.headers.get("kbn-session-error-reason") == reason
    assert expired.headers["Set-Cookie"] == "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/"
    assert kibana.sessions() == [] and kibana.handle("GET", FIND, {"Cookie": sid}).status == 401


def test_the_status_answers_an_expired_session_as_an_anonymous_caller():
    kibana = make("8")
    sid = cookie_of(login(kibana))
    kibana.expire_sessions()
    response = kibana.handle("GET", "/api/status", {"Cookie": sid})
    assert response.status == 200 and response.json() == {"status": {"overall": {"level": "available"}}}


def test_without_an_idle_timeout_sessions_do_not_expire():
    clock = Clock()
    kibana = make("7.17", clock=clock)
    sid = cookie_of(login(kibana))
    clock.now += 365 * 86400
    assert kibana.handle("GET", FIND, {"Cookie": sid}).status == 200


@pytest.mark.parametrize("profile", PROFILES)
def test_logout_ends_the_session_and_redirects_to_the_login_page(profile):
    kibana = make(profile, base_path=BP)
    sid = cookie_of(login(kibana))
    ajax = kibana.handle("GET", "/api/security/logout", {"Cookie": sid, "kbn-xsrf": "true"})
    assert ajax.status == 400 and ajax.json()["message"] == "Client should be able to process redirect response."
    out = kibana.handle("GET", "/api/security/logout", {"Cookie": sid})
    assert out.status == 302 and out.headers["Location"] == BP + "/login?msg=LOGGED_OUT"
    assert out.headers["Set-Cookie"] == f"sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path={BP}"
    assert kibana.handle("GET", FIND, {"Cookie": sid}).status == 401
    again = kibana.handle("GET", "/api/security/logout", {})
    assert again.status == 302 and again.headers["Location"] == BP + "/" and "Set-Cookie" not in again.headers


def test_an_authorization_header_wins_over_the_cookie():
    kibana = make("8")
    sid = cookie_of(login(kibana))
    assert kibana.handle("GET", FIND, {"Cookie": sid, "Authorization": basic("elastic", "wrong")}).status == 401
    me = kibana.handle("GET", "/internal/security/me", {"Cookie": sid, "Authorization": basic("reader", "pw")}).json()
    assert me["username"] == "reader" and me["authentication_provider"] == {"type": "http", "name": "__http__"}


def test_a_forged_cookie_is_401():
    kibana = make("8")
    response = kibana.handle("GET", FIND, {"Cookie": "sid=Fe26.2**forged"})
    assert response.status == 401 and "kbn-session-error-reason" not in response.headers


def test_with_security_off_login_fails_as_elasticsearch_refuses_and_cookies_change_nothing():
    kibana = make("7.17", security=False)
    response = login(kibana)
    assert response.status == 401 and "Security must be explicitly enabled when using a [basic] license" in response.json()["message"]
    assert kibana.handle("GET", FIND, {"Cookie": "sid=whatever"}).status == 200


def test_cookie_attributes_follow_the_security_settings():
    kibana = make("8", same_site="Strict", secure_cookies=True)
    assert login(kibana).headers["Set-Cookie"].endswith("; Secure; HttpOnly; SameSite=Strict; Path=/")


def test_restricted_internal_apis_need_the_internal_origin_header():
    kibana = make("8", restrict_internal_apis=True)
    refused = login(kibana)
    assert refused.status == 400 and refused.json()["message"] == (
        "uri [/internal/security/login] with method [post] exists but is not available with the current configuration")
    assert login(kibana, headers={**XSRF, "x-elastic-internal-origin": "Kibana"}).status == 200
    assert make("8").restrict_internal_apis is False


# ---------------------------------------------------------------------------------------------- through the proxy
KB8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
LABELS = {"app.kubernetes.io/name": "kibana", "app.kubernetes.io/instance": "kibana-logging"}


@pytest.fixture(name="proxied_kibana")
def fixture_proxied_kibana(localcluster):
    """Kibana 8 behind Service logging/kibana-logging, served under the proxy path as the efk role deploys it."""
    engine = localcluster.server.cluster.stack.kibana
    if engine.base_path != BP:
        apps = serve(localcluster, "logging", "Deployment", "kibana-logging", LABELS, {"name": "ui", "port": 5601},
                     "stand-in.localcluster.test/kibana:8.15.3",
                     {"name": "kibana", "env": [{"name": "SERVER_BASEPATH", "value": BP}, {"name": "SERVER_REWRITEBASEPATH", "value": "false"}]})
        wait_for(lambda: apps.read_namespaced_deployment_status("kibana-logging", "logging").status.ready_replicas)
        wait_for(lambda: engine.base_path == BP)
    return engine


def proxy_login(localcluster, password: str | None = None, headers: dict | None = None):
    es = localcluster.endpoints["elasticsearch"]
    body = login_body(es["username"], es["password"] if password is None else password, current=BP + "/login")
    return localcluster.http("POST", BP + "/internal/security/login", body, headers={"kbn-xsrf": "true"} if headers is None else headers)


def header(headers: dict, name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


@KB8
def test_through_the_proxy_login_then_find_with_the_cookie(localcluster, proxied_kibana):
    code, body, headers = proxy_login(localcluster)
    assert code == 200 and body == {"location": BP + "/"}
    set_cookie = header(headers, "Set-Cookie")
    assert set_cookie.startswith("sid=Fe26.2**") and set_cookie.endswith("; HttpOnly; Path=" + BP)
    sid = set_cookie.split(";", 1)[0]
    code, found, headers = localcluster.http("GET", BP + FIND, headers={"Cookie": sid})
    assert code == 200 and found["saved_objects"] == []
    code, me, _headers = localcluster.http("GET", BP + "/internal/security/me", headers={"Cookie": sid})
    assert code == 200 and me["username"] == "elastic" and me["authentication_provider"] == {"type": "basic", "name": "basic"}
    # Without the cookie Kibana sees no credentials: the API server dropped the caller's Authorization header.
    assert localcluster.http("GET", BP + FIND)[0] == 401
    assert proxied_kibana.sessions().count("elastic") >= 1


@KB8
def test_through_the_proxy_a_wrong_password_and_a_missing_kbn_xsrf_are_refused(localcluster, proxied_kibana):
    code, body, headers = proxy_login(localcluster, password="not-the-password")
    assert code == 401 and "unable to authenticate user [elastic]" in body["message"] and header(headers, "Set-Cookie") is None
    code, body, _headers = proxy_login(localcluster, headers={})
    assert code == 400 and body["message"] == "Request must contain a kbn-xsrf header."


@KB8
def test_through_the_proxy_an_expired_session_is_401_with_the_reason(localcluster, proxied_kibana):
    sid = header(proxy_login(localcluster)[2], "Set-Cookie").split(";", 1)[0]
    proxied_kibana.expire_sessions()
    code, body, headers = localcluster.http("GET", BP + FIND, headers={"Cookie": sid})
    assert code == 401 and body["message"] == "Unauthorized" and header(headers, "kbn-session-error-reason") == "SESSION_EXPIRED"
    assert header(headers, "Set-Cookie").startswith("sid=; Max-Age=0;")
