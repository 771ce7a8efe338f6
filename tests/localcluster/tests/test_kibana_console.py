"""Kibana's Dev Tools console proxy in the emulator: POST /api/console/proxy forwards to Elasticsearch as the caller
(basic header or session), and answers as 7.17 (Elasticsearch's status) or 8.x (200, status in x-console-proxy-* headers)."""
# Test names state the behaviour under test; a docstring would only repeat them.
# pylint: disable=missing-function-docstring

from __future__ import annotations

import json
import urllib.parse

import pytest

from localcluster.elasticsearch import Elasticsearch
from localcluster.kibana import Kibana
from localcluster.tests.test_kibana import basic

PROFILES = ["7.17", "8"]
XSRF = {"kbn-xsrf": "true", "Content-Type": "application/json"}
ELASTIC = basic("elastic", "changeme")
DOC = {"rule": "Terminal shell in container", "priority": "Notice", "@timestamp": "2026-01-01T00:00:00Z"}


def stack(profile: str, kibana_security: bool = True, es_security: bool = True, **kwargs) -> tuple[Kibana, Elasticsearch]:
    es = Elasticsearch(profile, security=es_security)
    es.configure_security(file_users={"mon": {"password": "mon-secret", "roles": ["monitoring_user"]}})
    es.index_documents("logstash-2026.01.01", [DOC, DOC])
    kibana = Kibana(profile, es=es, security=kibana_security,
                    role_privileges=kwargs.pop("role_privileges", {"superuser": "all", "monitoring_user": "read"}), **kwargs)
    return kibana, es


def proxy(kibana: Kibana, path: str, method: str = "GET", body: object = None, headers: dict | None = None, **extra: str):
    query = urllib.parse.urlencode(dict({"path": path, "method": method}, **extra))
    data = json.dumps(body).encode() if body is not None else b""
    return kibana.handle("POST", "/api/console/proxy?" + query, dict(XSRF, **(headers or {})), data)


def es_status(profile: str, response) -> int:
    """Elasticsearch's status as a console client reads it."""
    if profile == "8":
        assert response.status == 200
        return int(response.headers["x-console-proxy-status-code"])
    assert "x-console-proxy-status-code" not in response.headers
    return response.status


def login(kibana: Kibana, username: str = "elastic", password: str = "changeme") -> str:
    response = kibana.handle("POST", "/internal/security/login", XSRF, json.dumps(
        {"providerType": "basic", "providerName": "basic", "currentURL": "/login",
         "params": {"username": username, "password": password}}).encode())
    assert response.status == 200
    return response.headers["Set-Cookie"].split(";", 1)[0]


@pytest.mark.parametrize("profile", PROFILES)
def test_search_goes_to_elasticsearch_with_the_callers_basic_credentials(profile):
    kibana, _es = stack(profile)
    response = proxy(kibana, "logstash-*/_search?size=0", "POST", {"query": {"term": {"priority.keyword": "Notice"}}},
                     {"Authorization": ELASTIC})
    assert es_status(profile, response) == 200
    assert response.json()["hits"]["total"] == {"value": 2, "relation": "eq"}
    assert response.headers["X-Elastic-Product"] == "Elasticsearch" and response.headers["warning"] == ""
    assert response.headers["Content-Type"].startswith("application/json")
    # toURL adds pretty=true: Elasticsearch formats the JSON
    assert response.body.startswith(b"{\n  ")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_session_cookie_stands_for_the_user_who_logged_in(profile):
    kibana, _es = stack(profile)
    cookie = login(kibana)
    response = proxy(kibana, "_security/_authenticate", headers={"Cookie": cookie})
    assert es_status(profile, response) == 200 and response.json()["username"] == "elastic"
    assert response.headers["X-Localcluster-User"] == "elastic"


@pytest.mark.parametrize("profile", PROFILES)
def test_without_credentials_kibana_answers_401_and_elasticsearch_is_not_asked(profile):
    kibana, _es = stack(profile)
    response = proxy(kibana, "logstash-*/_search")
    assert response.status == 401 and response.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
    assert "x-console-proxy-status-code" not in response.headers


@pytest.mark.parametrize("profile", PROFILES)
def test_an_ended_session_is_refused_by_kibana_itself(profile):
    kibana, _es = stack(profile, session_idle_timeout=60.0)
    cookie = login(kibana)
    kibana.expire_sessions()
    response = proxy(kibana, "_cat/indices?format=json", headers={"Cookie": cookie})
    assert response.status == 401 and "sid=;" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("profile", PROFILES)
def test_elasticsearch_errors_come_back_with_elasticsearchs_status_and_body(profile):
    kibana, _es = stack(profile)
    response = proxy(kibana, "nothing-here/_search", "POST", {}, {"Authorization": ELASTIC})
    assert es_status(profile, response) == 404
    assert response.json()["error"]["type"] == "index_not_found_exception"
    if profile == "8":
        assert response.headers["x-console-proxy-status-text"] == "Not Found"


@pytest.mark.parametrize("profile", PROFILES)
def test_a_user_without_read_on_the_index_gets_elasticsearchs_403(profile):
    kibana, _es = stack(profile)
    response = proxy(kibana, "logstash-2026.01.01/_search", "POST", {}, {"Authorization": basic("mon", "mon-secret")})
    assert es_status(profile, response) == 403
    reason = response.json()["error"]["reason"]
    assert reason.startswith("action [indices:data/read/search] is unauthorized for user [mon]")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_user_without_the_dev_tools_privilege_is_refused_by_kibana(profile):
    kibana, _es = stack(profile, role_privileges={"superuser": "all"})
    response = proxy(kibana, "_search", headers={"Authorization": basic("mon", "mon-secret")})
    assert response.status == 403 and response.json()["message"] == "Forbidden"


@pytest.mark.parametrize("profile", PROFILES)
def test_with_security_off_no_credentials_are_forwarded(profile):
    kibana, _es = stack(profile, kibana_security=False, es_security=True)
    response = proxy(kibana, "_cat/indices?format=json", headers={"Authorization": ELASTIC})
    assert es_status(profile, response) == 401
    assert response.json()["error"]["reason"].startswith("missing authentication credentials for REST request [/_cat/indices")


@pytest.mark.parametrize("profile", PROFILES)
def test_head_answers_the_status_line_as_text(profile):
    kibana, _es = stack(profile)
    response = proxy(kibana, "logstash-2026.01.01", "HEAD", headers={"Authorization": ELASTIC})
    assert es_status(profile, response) == 200
    assert response.body == b"200 - OK" and response.headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("query, message", [
    ({"path": "_search"}, "[request query.method]: expected value of type [string] but got [undefined]"),
    ({"path": "_search", "method": "PATCH"},
     "[request query.method]: Method must be one of, case insensitive ['HEAD', 'GET', 'POST', 'PUT', 'DELETE']. Received 'PATCH'."),
    ({"method": "GET"}, "[request query.path]: expected value of type [string] but got [undefined]"),
    ({"method": "GET", "path": ""}, "[request query.path]: Expected non-empty string"),
    ({"method": "GET", "path": "_search", "host": "http://elsewhere:9200"}, "[request query.host]: definition for this key is missing"),
])
def test_the_query_is_validated_as_the_route_schema_does(profile, query, message):
    kibana, _es = stack(profile)
    response = kibana.handle("POST", "/api/console/proxy?" + urllib.parse.urlencode(query), dict(XSRF, Authorization=ELASTIC))
    assert response.status == 400 and response.json()["message"] == message


@pytest.mark.parametrize("profile", PROFILES)
def test_the_method_is_case_insensitive_and_kbn_xsrf_is_required(profile):
    kibana, _es = stack(profile)
    assert es_status(profile, proxy(kibana, "_cat/indices?format=json", "get", headers={"Authorization": ELASTIC})) == 200
    refused = kibana.handle("POST", "/api/console/proxy?path=_search&method=GET", {"Authorization": ELASTIC})
    assert refused.status == 400 and refused.json()["message"] == "Request must contain a kbn-xsrf header."


def test_817_refuses_paths_outside_console_proxy_filter_as_plain_text():
    kibana, _es = stack("7.17")
    kibana.console_proxy_filter = [r"^_cat/"]
    response = proxy(kibana, "logstash-*/_search", headers={"Authorization": ELASTIC})
    assert response.status == 403 and response.headers["Content-Type"] == "text/plain"
    assert response.body == b"Error connecting to 'logstash-*/_search':\n\nUnable to send requests to that path."


@pytest.mark.parametrize("profile", PROFILES)
def test_no_elasticsearch_is_a_502(profile):
    kibana = Kibana(profile, es=None, security=False)
    response = proxy(kibana, "_search")
    assert response.status == 502 and response.json()["error"] == "Bad Gateway"
    assert ("x-console-proxy-status-code" in response.headers) == (profile == "8")
