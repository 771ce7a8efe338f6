"""Elasticsearch, Fluentd and Kibana configure themselves from the manifests the efk role applies: anonymous access,
the file realm, roles.yml, the bootstrap password, Fluentd's index template and user, Kibana's Elasticsearch credentials.

The engine tests talk to the emulator directly; the cluster tests build the contract's objects with the kubernetes client
and watch the stack follow them (they share one cluster and run in file order)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

import pytest
from kubernetes import client

from localcluster.elasticsearch import Elasticsearch
from localcluster.pytest_plugin import wait_for, workload
from localcluster.stack import flatten_settings, fluent_conf_template

NS = "logging"
ELASTIC_PW = "bootstrap-pw-1"
KIBANA_PW = "kibana-secret-pw"
FLUENTD_PW = "fluentd-secret-pw"
ANONYMOUS = {"username": "seclog-health", "roles": ["seclog_health"], "authz_exception": True}
FILE_ROLES = {"seclog_health": {"cluster": ["monitor"]},
              "seclog_fluentd_writer": {"cluster": ["monitor", "manage_index_templates"],
                                        "indices": [{"names": ["logstash-*"], "privileges": ["create_doc", "create_index", "view_index_metadata"]}]}}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def engine(**anonymous) -> Elasticsearch:
    eng = Elasticsearch("8", elastic_password="changeme")
    eng.configure_security(enabled=True, file_roles=FILE_ROLES, anonymous={**ANONYMOUS, **anonymous},
                           file_users={"seclog-fluentd": {"password": FLUENTD_PW, "roles": ["seclog_fluentd_writer"]},
                                       "seclog-kibana": {"password": KIBANA_PW, "roles": ["kibana_system"]}})
    return eng


# ------------------------------------------------------------------ the engine
def test_anonymous_may_check_health_but_not_search():
    eng = engine()
    health = eng.handle("GET", "/_cluster/health", {})
    assert health.status == 200 and health.headers["X-Localcluster-User"] == "seclog-health"
    who = eng.handle("GET", "/_security/_authenticate", {}).json()
    assert who["username"] == "seclog-health" and who["roles"] == ["seclog_health"]
    assert who["authentication_realm"] == {"name": "__anonymous", "type": "__anonymous"} and who["authentication_type"] == "anonymous"
    eng.index_documents("logstash-2024.05.01", [{"rule": "x"}])
    denied = eng.handle("GET", "/logstash-2024.05.01/_search", {})
    assert denied.status == 403 and denied.json()["error"]["type"] == "security_exception"
    assert denied.json()["error"]["reason"].startswith(
        "action [indices:data/read/search] is unauthorized for user [seclog-health] with effective roles [seclog_health] on indices "
        "[logstash-2024.05.01]")


def test_bad_credentials_get_401_even_with_anonymous_access():
    eng = engine()
    bad = eng.handle("GET", "/_cluster/health", {"Authorization": basic("seclog-fluentd", "wrong-password")})
    assert bad.status == 401 and bad.json()["error"]["reason"] == "unable to authenticate user [seclog-fluentd] for REST request [/_cluster/health]"
    assert eng.authenticate(basic("nobody", "whatever")) is None


def test_anonymous_without_authz_exception_is_asked_to_authenticate():
    eng = engine(authz_exception=False)
    assert eng.handle("GET", "/_cluster/health", {}).status == 200
    denied = eng.handle("GET", "/_security/user", {})
    assert denied.status == 401 and denied.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert denied.json()["error"]["reason"] == "action [cluster:admin/xpack/security/user/get] requires authentication"


def test_no_anonymous_roles_means_no_anonymous_access():
    eng = Elasticsearch("8")
    eng.configure_security(anonymous={"username": "x", "roles": []})
    assert eng.handle("GET", "/_cluster/health", {}).status == 401


def test_file_realm_users_and_file_roles():
    eng = engine()
    who = eng.authenticate(basic("seclog-fluentd", FLUENTD_PW))
    assert who["authentication_realm"] == {"name": "file", "type": "file"} and who["lookup_realm"] == {"name": "file", "type": "file"}
    assert who["roles"] == ["seclog_fluentd_writer"] and who["authentication_type"] == "realm"
    fluentd = {"Authorization": basic("seclog-fluentd", FLUENTD_PW), "Content-Type": "application/json"}
    put = eng.handle("PUT", "/_index_template/logstash", fluentd, json.dumps({"index_patterns": ["logstash-*"]}).encode())
    assert put.status == 200  # manage_index_templates from roles.yml
    bulk = eng.handle("POST", "/_bulk", {**fluentd, "Content-Type": "application/x-ndjson"},
                      b'{"index":{"_index":"logstash-2024.05.02"}}\n{"rule":"r"}\n{"index":{"_index":"other"}}\n{"rule":"r"}\n')
    items = bulk.json()["items"]
    assert items[0]["index"]["status"] == 201 and items[1]["index"]["status"] == 403
    # a builtin role named by a file user works too
    assert eng.handle("GET", "/.kibana_1/_mapping", {"Authorization": basic("seclog-kibana", KIBANA_PW)}).status == 404
    # configure_security replaces the file realm: a removed user no longer authenticates
    eng.configure_security(file_roles=FILE_ROLES, anonymous=ANONYMOUS)
    assert eng.authenticate(basic("seclog-fluentd", FLUENTD_PW)) is None


def test_create_doc_alone_does_not_auto_create_an_index():
    eng = engine()
    eng.configure_security(file_users={"w": {"password": "writer-pw", "roles": ["w"]}},
                           file_roles={"w": {"indices": [{"names": ["logstash-*"], "privileges": ["create_doc"]}]}})
    headers = {"Authorization": basic("w", "writer-pw"), "Content-Type": "application/x-ndjson"}
    item = eng.handle("POST", "/_bulk", headers, b'{"index":{"_index":"logstash-2024.05.03"}}\n{"a":1}\n').json()["items"][0]["index"]
    assert item["status"] == 403 and "[indices:admin/auto_create]" in item["error"]["reason"]
    assert "index privileges [auto_configure,create_index,manage,all]" in item["error"]["reason"]
    eng.index_documents("logstash-2024.05.03", [{"a": 0}])
    assert eng.handle("POST", "/_bulk", headers, b'{"index":{"_index":"logstash-2024.05.03"}}\n{"a":1}\n').json()["errors"] is False


def test_bootstrap_password_is_kept_when_it_changes():
    eng = Elasticsearch("8", elastic_password="changeme")
    eng.configure_security(elastic_bootstrap_password="first-password")
    assert eng.authenticate(basic("elastic", "first-password"))["authentication_realm"]["type"] == "reserved"
    eng.configure_security(elastic_bootstrap_password="second-password")
    assert eng.authenticate(basic("elastic", "second-password")) is None
    assert eng.authenticate(basic("elastic", "first-password")) is not None
    eng.reset_node()
    eng.configure_security(elastic_bootstrap_password="second-password")
    assert eng.authenticate(basic("elastic", "second-password")) is not None


def test_settings_and_fluent_conf_parsing():
    assert flatten_settings({"xpack": {"security": {"enabled": True, "authc.anonymous": {"roles": "a,b"}}}, "cluster.name": "c"}) == {
        "xpack.security.enabled": True, "xpack.security.authc.anonymous.roles": "a,b", "cluster.name": "c"}
    conf = FLUENT_CONF + "\n<match other>\n  @type stdout\n</match>\n"
    assert fluent_conf_template(conf) == {"name": "logstash", "file": "/fluentd/etc/index-template.json", "overwrite": True, "legacy": False}
    assert fluent_conf_template("<match **>\n  @type elasticsearch\n</match>") is None
    # a nested <buffer> has its own @type: it is not the output's
    buffered = ("<match **>\n  @type elasticsearch\n  template_name t\n  <buffer>\n    @type file\n    path /b\n  </buffer>\n"
                "  template_file /fluentd/etc/t.json\n</match>\n")
    assert fluent_conf_template(buffered) == {"name": "t", "file": "/fluentd/etc/t.json", "overwrite": False, "legacy": True}


# ------------------------------------------------------------------ the stack inside a cluster
ES_YML = """cluster.name: elasticsearch-logging
xpack.security.enabled: true
xpack.security.authc.anonymous.username: seclog-health
xpack.security.authc.anonymous.roles: seclog_health
xpack.security.authc.anonymous.authz_exception: true
"""
FLUENT_CONF = """<source>
  @type tail
  path /var/log/containers/falco-*.log
</source>
<match **>
  @type elasticsearch
  host elasticsearch-logging
  user "#{ENV['FLUENT_ELASTICSEARCH_USER']}"
  password "#{ENV['FLUENT_ELASTICSEARCH_PASSWORD']}"
  logstash_format true
  logstash_prefix logstash
  template_name logstash
  template_file /fluentd/etc/index-template.json
  template_overwrite true
  use_legacy_template false
</match>
"""
INDEX_TEMPLATE = {"index_patterns": ["logstash-*"], "priority": 200,
                  "template": {"settings": {"number_of_replicas": 0}, "mappings": {"properties": {"rule": {"type": "keyword"}}}}}
# every cluster test asks for the same module-scoped cluster: 1.30, GKE-like nodes, the 8.x stack
STACK8 = pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)


def secret_ref(name: str, key: str = "password") -> dict:
    return {"secretKeyRef": {"name": name, "key": key}}


def roles_yml(fluentd_cluster: list[str]) -> str:
    roles = json.loads(json.dumps(FILE_ROLES))
    roles["seclog_fluentd_writer"]["cluster"] = fluentd_cluster
    return json.dumps(roles)  # JSON is YAML


def put_secret(core, name: str, password: str) -> None:
    body = {"metadata": {"name": name}, "stringData": {"password": password}}
    try:
        core.create_namespaced_secret(NS, body)
    except client.ApiException as err:
        if err.status != 409:
            raise
        core.patch_namespaced_secret(name, NS, body)


def put_config_map(core, name: str, data: dict) -> None:
    body = {"metadata": {"name": name}, "data": data}
    try:
        core.create_namespaced_config_map(NS, body)
    except client.ApiException as err:
        if err.status != 409:
            raise
        core.patch_namespaced_config_map(name, NS, body)


def direct(handle, path: str, auth: str | None = None, which: str = "elasticsearch") -> tuple[int, dict]:
    headers = {"Authorization": auth} if auth else {}
    request = urllib.request.Request(handle.endpoints[which]["url"] + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def ready(apps, kind: str, name: str) -> bool:
    if kind == "StatefulSet":
        return (apps.read_namespaced_stateful_set(name, NS).status.ready_replicas or 0) >= 1
    if kind == "DaemonSet":
        status = apps.read_namespaced_daemon_set(name, NS).status
        return status.desired_number_scheduled > 0 and status.number_ready == status.desired_number_scheduled
    return (apps.read_namespaced_deployment(name, NS).status.ready_replicas or 0) >= 1


def elasticsearch_statefulset() -> dict:
    labels = {"app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": "elasticsearch-logging"}
    sts = workload("StatefulSet", "elasticsearch-logging", labels, replicas=1, image="stand-in.localcluster.test/elasticsearch:8.15.0")
    spec = sts["spec"]["template"]["spec"]
    spec["containers"][0].update(name="elasticsearch", env=[{"name": "ELASTIC_PASSWORD", "valueFrom": secret_ref("elasticsearch-logging-elastic")}],
                                 volumeMounts=[{"name": "config", "mountPath": "/usr/share/elasticsearch/config/elasticsearch.yml",
                                                "subPath": "elasticsearch.yml"}])
    spec["volumes"] = [{"name": "config", "configMap": {"name": "elasticsearch-logging-config"}}]
    spec["initContainers"] = [{"name": "file-realm", "image": "stand-in.localcluster.test/elasticsearch:8.15.0", "env": [
        {"name": "FILE_REALM_USERS", "value": "KIBANA FLUENTD"},
        {"name": "KIBANA_USERNAME", "value": "seclog-kibana"}, {"name": "KIBANA_PASSWORD", "valueFrom": secret_ref("kibana-logging-credentials")},
        {"name": "KIBANA_ROLES", "value": "kibana_system"},
        {"name": "FLUENTD_USERNAME", "value": "seclog-fluentd"}, {"name": "FLUENTD_PASSWORD", "valueFrom": secret_ref("fluentd-es-credentials")},
        {"name": "FLUENTD_ROLES", "value": "seclog_fluentd_writer"}]}]
    return sts


@STACK8
def test_stack_applies_the_elasticsearch_manifests(localcluster):
    api = localcluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    stack = localcluster.cluster.stack
    core.create_namespace({"metadata": {"name": NS}})
    put_config_map(core, "elasticsearch-logging-config", {"elasticsearch.yml": ES_YML, "roles.yml": roles_yml(["monitor", "manage_index_templates"])})
    put_secret(core, "kibana-logging-credentials", KIBANA_PW)
    put_secret(core, "fluentd-es-credentials", FLUENTD_PW)
    apps.create_namespaced_stateful_set(NS, elasticsearch_statefulset())
    labels = {"app.kubernetes.io/name": "elasticsearch"}
    core.create_namespaced_service(NS, {"metadata": {"name": "elasticsearch-logging"},
                                        "spec": {"selector": labels, "ports": [{"name": "http", "port": 9200}]}})
    wait_for(lambda: ready(apps, "StatefulSet", "elasticsearch-logging"))
    # The elastic Secret is missing: the container could not start, its bootstrap password is not applied, and it is reported.
    wait_for(lambda: any('secret "elasticsearch-logging-elastic" not found' in p for p in stack.problems))
    assert stack.es.authenticate(basic("elastic", ELASTIC_PW)) is None
    put_secret(core, "elasticsearch-logging-elastic", ELASTIC_PW)
    wait_for(lambda: stack.es.authenticate(basic("elastic", ELASTIC_PW)) is not None)
    assert not any("elasticsearch" in p for p in stack.problems)
    # Through the API server's proxy only unauthenticated requests arrive: anonymous may check health, nothing else.
    proxy = f"/api/v1/namespaces/{NS}/services/elasticsearch-logging:9200/proxy"
    code, health, _unused = localcluster.http("GET", proxy + "/_cluster/health")
    assert code == 200 and health["status"] in ("yellow", "green")
    code, body, _unused = localcluster.http("GET", proxy + "/_security/user")
    assert code == 403 and "is unauthorized for user [seclog-health]" in body["error"]["reason"]
    # The init container's users are in the file realm.
    code, who = direct(localcluster, "/_security/_authenticate", basic("seclog-fluentd", FLUENTD_PW))
    assert code == 200 and who["authentication_realm"] == {"name": "file", "type": "file"} and who["roles"] == ["seclog_fluentd_writer"]
    assert direct(localcluster, "/_security/_authenticate", basic("seclog-kibana", KIBANA_PW))[1]["roles"] == ["kibana_system"]
    # A later ELASTIC_PASSWORD does not change elastic's password (the security index exists by now).
    put_secret(core, "elasticsearch-logging-elastic", "bootstrap-pw-2")
    time.sleep(0.8)
    assert stack.es.authenticate(basic("elastic", "bootstrap-pw-2")) is None
    assert stack.es.authenticate(basic("elastic", ELASTIC_PW)) is not None


def fluentd_daemonset() -> dict:
    fluentd = workload("DaemonSet", "fluentd-es", {"app.kubernetes.io/name": "fluentd"}, image="stand-in.localcluster.test/fluentd:v1.17")
    spec = fluentd["spec"]["template"]["spec"]
    spec["tolerations"] = [{"operator": "Exists"}]
    spec["containers"][0].update(name="fluentd", env=[
        {"name": "FLUENT_ELASTICSEARCH_HOST", "value": "elasticsearch-logging"},
        {"name": "FLUENT_ELASTICSEARCH_USER", "value": "seclog-fluentd"},
        {"name": "FLUENT_ELASTICSEARCH_PASSWORD", "valueFrom": secret_ref("fluentd-es-credentials")}],
        volumeMounts=[{"name": "config", "mountPath": "/fluentd/etc"}])
    spec["volumes"] = [{"name": "config", "configMap": {"name": "fluentd-es-config"}}]
    return fluentd


@STACK8
def test_fluentd_without_template_privilege_delivers_nothing(localcluster):
    api = localcluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    stack = localcluster.cluster.stack
    put_config_map(core, "elasticsearch-logging-config", {"elasticsearch.yml": ES_YML, "roles.yml": roles_yml(["monitor"])})
    put_config_map(core, "fluentd-es-config", {"fluent.conf": FLUENT_CONF, "index-template.json": json.dumps(INDEX_TEMPLATE)})
    localcluster.hook("settings", "POST", {"alert_speed": 3600})
    apps.create_namespaced_daemon_set(NS, fluentd_daemonset())
    falco = workload("DaemonSet", "falco", {"app.kubernetes.io/name": "falco"}, image="stand-in.localcluster.test/falco:0.41.3")
    falco["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    apps.create_namespaced_daemon_set(NS, falco)
    wait_for(lambda: ready(apps, "DaemonSet", "falco") and ready(apps, "DaemonSet", "fluentd-es"))
    problem = wait_for(lambda: next((p for p in stack.problems if p.startswith("fluentd: Failed to install template logstash")), None))
    assert "403" in problem and "is unauthorized for user [seclog-fluentd]" in problem and "indices:admin/index_template/put" in problem
    wait_for(lambda: stack.pending, timeout=20)
    assert stack.es.count("logstash-*") == 0 and stack.delivered == 0
    assert stack.es.handle("GET", "/_index_template/logstash", {"Authorization": basic("elastic", ELASTIC_PW)}).status == 404


@STACK8
def test_fluentd_installs_its_template_as_its_user_then_documents_land(localcluster):
    api = localcluster.api_client()
    core = client.CoreV1Api(api)
    stack = localcluster.cluster.stack
    put_config_map(core, "elasticsearch-logging-config", {"elasticsearch.yml": ES_YML, "roles.yml": roles_yml(["monitor", "manage_index_templates"])})
    wait_for(lambda: stack.es.count("logstash-*") > 0, timeout=20)
    assert not any(p.startswith("fluentd") for p in stack.problems)
    admin = {"Authorization": basic("elastic", ELASTIC_PW)}
    template = stack.es.handle("GET", "/_index_template/logstash", admin).json()["index_templates"][0]["index_template"]
    assert template["priority"] == 200 and template["index_patterns"] == ["logstash-*"]
    index = next(iter(stack.es.handle("GET", "/logstash-*/_mapping", admin).json()))
    assert stack.es.handle("GET", f"/{index}/_mapping", admin).json()[index]["mappings"]["properties"]["rule"] == {"type": "keyword"}
    # A wrong Fluentd password: authentication fails, the buffer is kept, the reason is reported.
    put_secret(core, "fluentd-es-credentials", "not-the-file-realm-password")
    # Fluentd names a user the file realm does not know: authentication fails, the buffer is kept, the reason is reported.
    apps = client.AppsV1Api(api)
    fluentd = fluentd_daemonset()
    fluentd["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "seclog-nobody"
    apps.replace_namespaced_daemon_set("fluentd-es", NS, fluentd)
    problem = wait_for(lambda: next((p for p in stack.problems if p.startswith("fluentd: GET / answered 401")), None))
    assert "unable to authenticate user [seclog-nobody]" in problem
    before = stack.delivered
    time.sleep(0.8)
    assert stack.delivered == before and stack.pending
    apps.replace_namespaced_daemon_set("fluentd-es", NS, fluentd_daemonset())
    wait_for(lambda: stack.delivered > before, timeout=20)


def kibana_deployment(username: str) -> dict:
    kibana = workload("Deployment", "kibana-logging", {"app.kubernetes.io/name": "kibana"}, image="stand-in.localcluster.test/kibana:8.15.0")
    kibana["spec"]["template"]["spec"]["containers"][0].update(name="kibana", env=[
        {"name": "ELASTICSEARCH_HOSTS", "value": "http://elasticsearch-logging:9200"},
        {"name": "ELASTICSEARCH_USERNAME", "value": username},
        {"name": "ELASTICSEARCH_PASSWORD", "valueFrom": secret_ref("kibana-logging-credentials")},
        {"name": "SERVER_BASEPATH", "value": f"/api/v1/namespaces/{NS}/services/kibana-logging/proxy"},
        {"name": "SERVER_REWRITEBASEPATH", "value": "false"}, {"name": "STATUS_ALLOWANONYMOUS", "value": "true"}])
    return kibana


@STACK8
def test_kibana_status_follows_its_credentials(localcluster):
    api = localcluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    stack = localcluster.cluster.stack
    core.create_namespaced_service(NS, {"metadata": {"name": "kibana-logging"},
                                        "spec": {"selector": {"app.kubernetes.io/name": "kibana"}, "ports": [{"port": 5601}]}})
    apps.create_namespaced_deployment(NS, kibana_deployment("seclog-kibana"))
    wait_for(lambda: ready(apps, "Deployment", "kibana-logging"))
    status_path = f"/api/v1/namespaces/{NS}/services/kibana-logging/proxy/api/status"
    wait_for(lambda: stack.kibana.es_username == "seclog-kibana")
    code, body, _unused = localcluster.http("GET", status_path)
    assert code == 200 and body == {"status": {"overall": {"level": "available"}}}
    # Kibana names a user Elasticsearch does not know: unavailable, with Kibana's message.
    apps.replace_namespaced_deployment("kibana-logging", NS, kibana_deployment("seclog-nobody"))
    # (while the Deployment rolls the API server itself may answer 503: wait for Kibana's own answer)
    wait_for(lambda: localcluster.http("GET", status_path)[1] == {"status": {"overall": {"level": "unavailable"}}})
    assert localcluster.http("GET", status_path)[0] == 503
    code, full = direct(localcluster, "/api/status", basic("elastic", ELASTIC_PW), which="kibana")
    assert code == 503 and full["status"]["overall"]["level"] == "unavailable"
    assert full["status"]["core"]["elasticsearch"]["summary"].startswith(
        "Unable to retrieve version information from Elasticsearch nodes. security_exception: [security_exception] Reason: "
        "unable to authenticate user [seclog-nobody] for REST request [/_nodes?")
    assert any(p.startswith("kibana: Unable to retrieve version information") for p in stack.problems)
    apps.replace_namespaced_deployment("kibana-logging", NS, kibana_deployment("seclog-kibana"))
    wait_for(lambda: localcluster.http("GET", status_path)[0] == 200)
    # Kibana 8 refuses elastic as its Elasticsearch user at startup.
    apps.replace_namespaced_deployment("kibana-logging", NS, kibana_deployment("elastic"))
    wait_for(lambda: stack.kibana.es_username == "elastic")
    code, full = direct(localcluster, "/api/status", basic("elastic", ELASTIC_PW), which="kibana")
    assert code == 503 and full["status"]["core"]["elasticsearch"]["summary"] == (
        '[config validation of [elasticsearch].username]: value of "elastic" is forbidden. This is a superuser account that cannot '
        "write to system indices that Kibana needs to function. Use a service account token instead. Learn more: "
        "https://www.elastic.co/guide/en/elasticsearch/reference/8.0/service-accounts.html")
    assert direct(localcluster, "/api/saved_objects/_find?type=index-pattern", basic("elastic", ELASTIC_PW), which="kibana")[0] == 503
