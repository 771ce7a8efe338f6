"""Issue 11, security and check mode: no secret in any output (even with -vvv), TLS verified unless turned off, a
user without rights told which permission it lacks, and check mode that writes nothing but shows what would change.

One cluster (stack 8) for the whole file, in file order: the restricted user on the empty cluster, one converge of
every stage with -vvv, check mode after a change, verify in check mode with -vvv, the modules that take a URL, teardown
in check mode with -vvv (the tasks a real teardown runs, dry); the last test looks for every secret in every output the
others recorded.

Covered elsewhere, and not repeated here: check mode of the whole site on an empty cluster (test_installed_collection, test_readme_examples: the README's
site playbook), the efk stage's -vvv re-run (test_efk), wrong passwords in the modules' own results (the module unit
tests), the preflight's rbac finding and the grant (test_prerequisites), the Kibana stage in check mode after an edit
(test_kibana_dashboards).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.server
import json
import os
import ssl
import threading
import urllib.parse

import pytest
import yaml
from kubernetes import client

SITE = "playbooks/site.yml"
VERIFY = "playbooks/verify.yml"
TEARDOWN = "playbooks/teardown.yml"
URL_MODULES = "tests/e2e/playbooks/url_modules.yml"
# Upper bounds only: the emulated workloads are ready in a fraction of a second.
EVERY_STAGE = {"falco_event_generator": "true", "efk_wait_timeout": "60", "falco_wait_timeout": "60",
               "kibana_dashboards_wait_timeout": "60"}
# An Elasticsearch API key as Elasticsearch hands them out (base64 of id:key); no server knows it.
API_KEY = base64.b64encode(b"seclog-key-id:not-a-real-api-key-0042").decode()
MODULES = {"es": "elasticsearch_health", "kibana": "kibana_status", "object": "kibana_saved_object", "alerts": "falco_alerts_info"}


def _kibana_writes(cluster) -> list[dict]:
    """Requests that wrote to Kibana: not its logins (/internal/security/), nor searches (POSTs to its console proxy)."""
    return [r for r in list(cluster.cluster.stack.kibana_hooks.requests) if r["method"] in ("POST", "PUT", "DELETE")
            and "/internal/security/" not in r["path"] and r["path"] != "/api/console/proxy"]


def _forget_requests(cluster) -> None:
    cluster.clear_requests()
    cluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})


def _secrets(cluster) -> dict[str, str]:
    """Every value in the Secrets of namespace logging but user names, by ``secret/key``."""
    found = {}
    for secret in client.CoreV1Api(cluster.api_client()).list_namespaced_secret("logging").items:
        for key, value in (secret.data or {}).items():
            if key != "username":
                found[f"{secret.metadata.name}/{key}"] = base64.b64decode(value).decode()
    return found


def _task_output(out: str, task: str) -> str:
    """What the task named ``task`` printed, up to the next task."""
    return out.split(f": {task}] *", 1)[1].split("\nTASK [", 1)[0]


def _forms(value: str) -> set[str]:
    """A secret as it could show: itself, base64, and base64 in a basic Authorization header."""
    texts = [value] + [f"{user}:{value}" for user in ("elastic", "seclog-kibana", "seclog-fluentd")]
    return {value} | {base64.b64encode(text.encode()).decode() for text in texts}


@contextlib.contextmanager
def _https_in_front_of(url: str, certificates: str):
    """An HTTPS server on 127.0.0.1 that forwards to ``url``, serving the local cluster's own certificate (its CA is in
    no trust store): an Elasticsearch or Kibana behind an ingress with a private CA, as the modules see it."""
    backend = urllib.parse.urlsplit(url)

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

        def forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            connection = http.client.HTTPConnection(backend.hostname, backend.port, timeout=30)
            connection.request(self.command, self.path, body=body or None,
                               headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")})
            answer = connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(certificates, "server.crt"), os.path.join(certificates, "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", name="seen")
def seen_fixture() -> dict:
    """What this file's tests saw: each playbook run's output by name, the secrets once the stack is up, the outcomes
    of the URL modules' cases."""
    return {"outputs": {}, "secrets": {}, "outcomes": {}}


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.usefixtures("localcluster")
class TestSecurityAndCheckMode:
    """The restricted user, a converge, check mode, verify, the URL modules, teardown; then no secret anywhere."""

    # ------------------------------------------------------------------------------------------ a user without rights
    def test_the_preflight_stops_a_user_without_rights_naming_what_it_lacks_before_any_write(self, localcluster, playbook, seen):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig_restricted)
        seen["outputs"]["site as the restricted user"] = run.out
        assert run.rc != 0 and "ERROR [rbac.missing]" in run.out, run
        assert "create daemonsets.apps" in run.out and "create secrets" in run.out
        assert "Set prerequisites_grant_cluster_admin: true" in run.out and "ask a cluster administrator" in run.out
        assert localcluster.writes() == []

    def test_the_preflight_names_the_namespace_where_a_right_is_missing(self, seen):
        assert "create daemonsets.apps in logging" in seen["outputs"]["site as the restricted user"]

    def test_without_the_preflight_the_first_refused_request_names_the_permission_and_the_remedy(self, localcluster, playbook, seen):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig_restricted, falco_efk_stage_prerequisites="false")
        seen["outputs"]["site as the restricted user, no preflight"] = run.out
        assert run.rc != 0 and "Traceback" not in run.out, run
        error = [line for line in run.out.splitlines() if line.startswith("[ERROR]")][-1]
        # The API server's own 403 message, readable, then what to do about it.
        assert 'User "restricted" cannot get resource "statefulsets" in API group "apps" in the namespace "logging"' in error, error
        assert "403" in error and "prerequisites_grant_cluster_admin" in error and "preflight" in error, error
        assert localcluster.writes() == []

    # ------------------------------------------------------------------------------------------ the stack, with -vvv
    def test_every_stage_converges_with_vvv(self, localcluster, playbook, seen):
        run = playbook(SITE, localcluster.kubeconfig, "-vvv", **EVERY_STAGE)
        seen["outputs"]["site -vvv"] = run.out
        assert run.rc == 0, run
        seen["secrets"].update(_secrets(localcluster))
        assert {"elasticsearch-logging-elastic/password", "kibana-logging-credentials/password",
                "fluentd-es-credentials/password"} <= set(seen["secrets"]), sorted(seen["secrets"])

    def test_check_mode_after_a_change_writes_nothing_and_the_diff_names_the_changed_fields(self, localcluster, playbook, seen):
        _forget_requests(localcluster)
        # Stages 1 and 5 only read here; their check mode is test_prerequisites' and test_kibana_dashboards'.
        run = playbook(SITE, localcluster.kubeconfig, "--check", "--diff", efk_kibana_replicas="2", falco_minimum_priority="warning",
                       falco_efk_stage_prerequisites="false", falco_efk_stage_kibana_dashboards="false", **EVERY_STAGE)
        seen["outputs"]["site --check --diff after a change"] = run.out
        assert run.rc == 0 and run.recap["changed"] == 2, run
        assert localcluster.writes() == []
        diff = _task_output(run.out, "Show what changes: Kibana")
        assert "(item=Deployment kibana-logging)" in diff and '"replicas": 1' in diff and '"replicas": 2' in diff, diff
        diff = _task_output(run.out, "Show what changes: Falco")
        assert "(item=ConfigMap falco-config)" in diff and "priority: notice" in diff and "priority: warning" in diff, diff
        deployment = client.AppsV1Api(localcluster.api_client()).read_namespaced_deployment("kibana-logging", "logging")
        assert deployment.spec.replicas == 1

    def test_verify_in_check_mode_with_vvv_writes_nothing(self, localcluster, playbook, seen):
        _forget_requests(localcluster)
        run = playbook(VERIFY, localcluster.kubeconfig, "--check", "-vvv", falco_efk_verify_timeout="60",
                       kibana_dashboards_verify_timeout="60")
        seen["outputs"]["verify --check -vvv"] = run.out
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert "Falco alerts in the last 15m:" in run.out
        assert localcluster.writes() == [] and _kibana_writes(localcluster) == []

    # ------------------------------------------------------------------------------------------ the modules with a URL
    def test_modules_with_a_url_verify_tls_unless_told_not_to(self, localcluster, playbook, seen, tmp_path):
        certificates = os.path.dirname(localcluster.endpoints["kubernetes"]["ca"])
        with open(localcluster.kubeconfig, encoding="utf-8") as handle:
            kubeconfig = yaml.safe_load(handle)
        for cluster in kubeconfig["clusters"]:
            cluster["cluster"].pop("certificate-authority-data", None)
            cluster["cluster"].pop("certificate-authority", None)
        (tmp_path / "kubeconfig-without-ca").write_text(yaml.safe_dump(kubeconfig))
        es, kibana = localcluster.endpoints["elasticsearch"]["url"], localcluster.endpoints["kibana"]["url"]
        with _https_in_front_of(es, certificates) as tls_es, _https_in_front_of(kibana, certificates) as tls_kibana:
            run = playbook(URL_MODULES, localcluster.kubeconfig, "-vvv", tls_es_url=tls_es, tls_kibana_url=tls_kibana,
                           tls_ca=localcluster.endpoints["kubernetes"]["ca"], es_url=es, kibana_url=kibana,
                           password=seen["secrets"]["elasticsearch-logging-elastic/password"], api_key=API_KEY,
                           kubeconfig_without_ca=str(tmp_path / "kubeconfig-without-ca"), outcomes_file=str(tmp_path / "outcomes.json"))
        seen["outputs"]["URL modules -vvv"] = run.out
        assert run.rc == 0, run
        seen["outcomes"].update(json.loads((tmp_path / "outcomes.json").read_text()))
        outcomes = seen["outcomes"]
        for case, module in MODULES.items():
            refused = outcomes[f"tls_{case}_default"]
            assert refused.get("failed") and "certificate verify failed" in refused["msg"], (module, refused)
        # The es_* and kibana_* TLS options live in module_utils (elasticsearch, kibana), shared by every module.
        for case in ("tls_es_ca", "tls_es_off", "tls_kibana_ca", "tls_kibana_off"):
            assert not outcomes[case].get("failed"), (case, outcomes[case])
        # Each module also failed above with elastic's password given; these fail with an API key given.
        for case in ("secret_es_api_key", "secret_kibana_api_key"):
            assert outcomes[case].get("failed") and "HTTP 401" in outcomes[case]["msg"], (case, outcomes[case])

    def test_a_certificate_that_does_not_verify_is_explained_with_the_options_that_fix_it(self, seen):
        for case, prefix in (("es", "es"), ("kibana", "kibana"), ("object", "kibana"), ("alerts", "kibana")):
            message = seen["outcomes"][f"tls_{case}_default"]["msg"]
            assert f"{prefix}_ca_path" in message and f"{prefix}_validate_certs: false" in message, message

    def test_a_kubeconfig_without_the_clusters_ca_fails_with_a_message_not_a_traceback(self, seen):
        for case in ("k8s_preflight_without_ca", "k8s_info_without_ca"):
            outcome = seen["outcomes"][case]
            assert outcome.get("failed") and "certificate verify failed" in outcome["msg"], (case, outcome)
            assert "Traceback" not in outcome.get("exception", ""), (case, outcome)
        assert "Traceback" not in seen["outputs"]["URL modules -vvv"]

    def test_a_kubeconfig_without_the_clusters_ca_is_explained_with_the_fix(self, seen):
        message = seen["outcomes"]["k8s_preflight_without_ca"]["msg"]
        assert "certificate-authority" in message and "validate_certs" in message, message

    # ------------------------------------------------------------------------------------------ teardown, last
    def test_teardown_in_check_mode_with_vvv_lists_what_it_would_remove_and_writes_nothing(self, localcluster, playbook, seen):
        _forget_requests(localcluster)
        run = playbook(TEARDOWN, localcluster.kubeconfig, "--check", "--diff", "-vvv", efk_purge_data="true")
        seen["outputs"]["teardown --check --diff -vvv"] = run.out
        assert run.rc == 0 and run.recap["changed"] > 0, run
        assert localcluster.writes() == [] and _kibana_writes(localcluster) == []
        for removed in ("dashboard/seclog-falco-dashboard", "DaemonSet falco", "Deployment falco-event-generator", "Deployment kibana-logging",
                        "DaemonSet fluentd-es", "StatefulSet elasticsearch-logging", "elasticsearch-logging-elastic", "Namespace logging"):
            assert f"(item={removed}) => {{" in run.out, removed
        assert client.AppsV1Api(localcluster.api_client()).list_namespaced_stateful_set("logging").items

    def test_no_secret_appears_in_any_output(self, localcluster, seen):
        secrets = dict(seen["secrets"], **{"admin token": localcluster.endpoints["kubernetes"]["admin_token"],
                                           "restricted token": localcluster.endpoints["kubernetes"]["restricted_token"],
                                           "Elasticsearch's bootstrap password": localcluster.endpoints["elasticsearch"]["password"],
                                           "the API key": API_KEY})
        assert len(seen["secrets"]) >= 4 and len(seen["outputs"]) == 7, (sorted(seen["secrets"]), sorted(seen["outputs"]))
        leaks = [(name, run) for name, value in secrets.items() for run, out in seen["outputs"].items()
                 if any(form in out for form in _forms(value))]
        assert leaks == []
