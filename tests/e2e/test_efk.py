"""Stage 3 against the local cluster: the efk role converges the stack in order, idempotently, and cleans up."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
import yaml
from kubernetes import client
from tls import certificate_secret

SITE = "playbooks/site.yml"
TEARDOWN = "playbooks/teardown.yml"
SECRETS = ("elasticsearch-logging-elastic", "kibana-logging-credentials", "fluentd-es-credentials", "elasticsearch-logging-certs")
FAST = {"falco_efk_stage_prerequisites": "false", "falco_efk_stage_falco": "false", "falco_efk_stage_kibana_dashboards": "false",
        "efk_wait_timeout": "60"}
# The life-cycle test starts one release behind, so that its version change is an upgrade (a downgrade is refused).
PREVIOUS = "8.19.9"
LATEST = "8.19.10"
FAST_PREVIOUS = dict(FAST, efk_elasticsearch_version=PREVIOUS)


def _core(cluster):
    return client.CoreV1Api(cluster.api_client())


def _apps(cluster):
    return client.AppsV1Api(cluster.api_client())


def _secret(cluster, name, namespace="logging") -> dict[str, str]:
    data = _core(cluster).read_namespaced_secret(name, namespace).data
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def _es(cluster, path: str, password: str | None) -> tuple[int, dict]:
    """GET on the Elasticsearch emulator directly, as a user with a URL (ingress, port-forward) would."""
    request = urllib.request.Request(cluster.endpoints["elasticsearch"]["url"] + path)
    if password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"elastic:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _sts_images(cluster, namespace="logging") -> list[str]:
    pods = _core(cluster).list_namespaced_pod(namespace, label_selector="app.kubernetes.io/name=elasticsearch").items
    return sorted(p.spec.containers[0].image for p in pods)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
class TestDefaultStack:
    """One cluster through the whole life cycle: check mode, converge, re-run, credentials, upgrade, absent, purge."""

    def test_check_mode_on_an_empty_cluster_writes_nothing(self, localcluster, playbook):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, "--check", "--diff", **FAST_PREVIOUS)
        assert run.rc == 0 and run.recap["changed"] > 0, run
        assert localcluster.writes() == []
        # the namespace does not exist yet, so nothing can be dry-run into it: the run says what would come
        assert "StatefulSet elasticsearch-logging" in run.out and "Secret elasticsearch-logging-elastic" in run.out

    def test_converge_brings_every_component_up_in_order(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, **FAST_PREVIOUS)
        assert run.rc == 0, run
        order = [line for line in run.out.splitlines() if line.startswith("TASK [seclog.falco_efk.efk : Converge the objects")]
        assert [line.split(": ")[-1].rstrip("* ]") for line in order] == ["Namespace", "Elasticsearch", "Fluentd", "Kibana"]
        assert run.out.index("Wait for Elasticsearch health") < run.out.index("Converge the objects: Fluentd")
        assert run.out.index("Converge the objects: Kibana") < run.out.index("Wait for Kibana to report available")
        sts = _apps(localcluster).read_namespaced_stateful_set("elasticsearch-logging", "logging")
        assert sts.status.ready_replicas == 1
        ds = _apps(localcluster).read_namespaced_daemon_set("fluentd-es", "logging")
        assert ds.status.number_ready == ds.status.desired_number_scheduled == 3
        deployment = _apps(localcluster).read_namespaced_deployment("kibana-logging", "logging")
        assert deployment.status.available_replicas == 1
        pvcs = _core(localcluster).list_namespaced_persistent_volume_claim("logging").items
        assert [p.metadata.name for p in pvcs] == ["data-elasticsearch-logging-0"]

    def test_verify_sees_each_component_up(self, localcluster, playbook):
        run = playbook("playbooks/verify.yml", localcluster.kubeconfig, falco_efk_stage_falco="false",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc == 0, run
        assert "Elasticsearch is green, Fluentd runs on 3 nodes, Kibana is available." in run.out

    def test_second_run_changes_nothing_and_sends_no_write(self, localcluster, playbook):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, **FAST_PREVIOUS)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        # Not even a no-op patch: apply_plan leaves objects that match their last apply alone. The run lock is taken,
        # renewed and released (a Lease, the run's bookkeeping), and is gone again.
        assert localcluster.writes() == []
        assert [r["method"] for r in localcluster.lock_writes()] == ["POST", "PUT", "DELETE"]
        assert localcluster.http("GET", "/apis/coordination.k8s.io/v1/namespaces/logging/leases/seclog-falco-efk-run")[0] == 404

    def test_credentials_are_generated_once_and_never_printed(self, localcluster, playbook):
        before = {name: _secret(localcluster, name) for name in SECRETS}
        assert before["kibana-logging-credentials"]["username"] == "seclog-kibana"
        assert len(before["elasticsearch-logging-elastic"]["password"]) == 32
        run = playbook(SITE, localcluster.kubeconfig, "-vvv", **FAST_PREVIOUS)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert {name: _secret(localcluster, name) for name in SECRETS} == before
        for secret in before.values():
            for key, value in secret.items():
                if key != "username":
                    assert value not in run.out, key
        for config in _core(localcluster).list_namespaced_config_map("logging").items:
            text = json.dumps(config.data)
            assert not [v for s in before.values() for k, v in s.items() if k != "username" and v in text]

    def test_elastic_password_from_the_secret_works_and_health_is_open_to_anonymous_only(self, localcluster):
        password = _secret(localcluster, "elasticsearch-logging-elastic")["password"]
        status, body = _es(localcluster, "/_security/_authenticate", password)
        assert status == 200 and body["username"] == "elastic", body
        status, body = _es(localcluster, "/_cluster/health", None)
        assert status == 200 and body["status"] in ("yellow", "green"), body
        status, body = _es(localcluster, "/logstash-*/_search", None)
        assert status == 403, body

    def test_fluentd_installs_the_index_template_and_falco_alerts_arrive_as_fields(self, localcluster):
        from localcluster.pytest_plugin import wait_for, workload  # pylint: disable=import-outside-toplevel
        password = _secret(localcluster, "elasticsearch-logging-elastic")["password"]
        status, body = _es(localcluster, "/_index_template/logstash", password)
        assert status == 200, body
        assert body["index_templates"][0]["index_template"]["index_patterns"] == ["logstash-*"]
        # Falco in its own namespace, where Fluentd's JSON parsing looks for it (efk_fluentd_json_containers).
        _core(localcluster).create_namespace({"metadata": {"name": "falco"}})
        _apps(localcluster).create_namespaced_daemon_set("falco", workload("DaemonSet", "falco", labels={"app.kubernetes.io/name": "falco"}))
        wait_for(lambda: _es(localcluster, "/logstash-*/_count", password)[1].get("count", 0) > 0, timeout=30)
        status, mapping = _es(localcluster, "/logstash-*/_mapping", password)
        properties = next(iter(mapping.values()))["mappings"]["properties"]
        assert properties["rule"]["type"] == properties["priority"]["type"] == "keyword", properties["rule"]
        assert properties["output_fields"]["properties"]["k8s_pod_name"]["type"] == "keyword"
        status, body = _es(localcluster, "/logstash-*/_search?q=rule:*&size=1", password)
        assert body["hits"]["hits"][0]["_source"]["kubernetes"]["container_name"] == "falco"
        _core(localcluster).delete_namespace("falco")

    def test_version_change_rolls_elasticsearch_and_kibana(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, **dict(FAST, efk_elasticsearch_version=LATEST))
        assert run.rc == 0 and run.recap["changed"] >= 2, run
        assert _sts_images(localcluster) == ["docker.elastic.co/elasticsearch/elasticsearch:" + LATEST]
        sts = _apps(localcluster).read_namespaced_stateful_set("elasticsearch-logging", "logging")
        assert sts.status.update_revision == sts.status.current_revision and sts.status.ready_replicas == 1
        kibana = _apps(localcluster).read_namespaced_deployment("kibana-logging", "logging")
        assert kibana.spec.template.spec.containers[0].image.endswith(":" + LATEST) and kibana.status.updated_replicas == 1
        run = playbook(SITE, localcluster.kubeconfig, **dict(FAST, efk_elasticsearch_version=LATEST))
        assert run.rc == 0 and run.recap["changed"] == 0, run

    def test_absent_removes_the_stack_but_keeps_data_and_credentials(self, localcluster, playbook):
        localcluster.clear_requests()
        run = playbook(TEARDOWN, localcluster.kubeconfig, "--check")
        assert run.rc == 0 and run.recap["changed"] > 0 and localcluster.writes() == [], run
        run = playbook(TEARDOWN, localcluster.kubeconfig)
        assert run.rc == 0 and run.recap["changed"] > 0, run
        assert not _apps(localcluster).list_namespaced_stateful_set("logging").items
        assert not _apps(localcluster).list_namespaced_daemon_set("logging").items
        assert not client.RbacAuthorizationV1Api(localcluster.api_client()).list_cluster_role(
            label_selector="app.kubernetes.io/part-of=seclog-falco-efk").items
        assert [p.metadata.name for p in _core(localcluster).list_namespaced_persistent_volume_claim("logging").items] == \
            ["data-elasticsearch-logging-0"]
        assert sorted(s.metadata.name for s in _core(localcluster).list_namespaced_secret("logging").items) == sorted(SECRETS)
        run = playbook(TEARDOWN, localcluster.kubeconfig)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        run = playbook("playbooks/verify.yml", localcluster.kubeconfig, falco_efk_verify_timeout="3", falco_efk_stage_falco="false",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc != 0 and "did not reach yellow" in run.out, run

    def test_purge_removes_data_credentials_and_the_namespace(self, localcluster, playbook):
        run = playbook(TEARDOWN, localcluster.kubeconfig, efk_purge_data="true")
        assert run.rc == 0 and run.recap["changed"] > 0, run
        names = [n.metadata.name for n in _core(localcluster).list_namespace().items]
        assert "logging" not in names


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "7.17")], indirect=True)
class TestThreeNodeClusterBootstrapsOnce:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_three_node_cluster_bootstraps_once_and_then_drops_initial_master_nodes(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, efk_elasticsearch_version="7.17.29", efk_elasticsearch_replicas="3", **FAST)
        assert run.rc == 0, run
        assert "Retire cluster.initial_master_nodes" in run.out
        config = yaml.safe_load(_core(localcluster).read_namespaced_config_map("elasticsearch-logging-config", "logging").data["elasticsearch.yml"])
        assert config["discovery.seed_hosts"] == ["elasticsearch-logging-headless"] and "cluster.initial_master_nodes" not in config
        assert len(_sts_images(localcluster)) == 3
        # the cluster formed; a re-run must not bring the bootstrap setting back
        run = playbook(SITE, localcluster.kubeconfig, efk_elasticsearch_version="7.17.29", efk_elasticsearch_replicas="3", **FAST)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        run = playbook(SITE, localcluster.kubeconfig, efk_elasticsearch_version="7.17.29", efk_elasticsearch_replicas="4", **FAST)
        assert run.rc == 0 and run.recap["changed"] >= 1, run
        assert len(_sts_images(localcluster)) == 4


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "transport-tls")], indirect=True)
class TestThreeSecuredNodesFormWith:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_three_secured_nodes_form_with_transport_tls_from_the_given_secret(self, localcluster, playbook):
        _core(localcluster).create_namespace({"metadata": {"name": "logging"}})
        _core(localcluster).create_namespaced_secret("logging", certificate_secret("logging", ["elasticsearch-logging.logging.svc"]))
        secured = {"efk_elasticsearch_replicas": "3", "efk_elasticsearch_tls_secret": "es-certs", **FAST}
        run = playbook(SITE, localcluster.kubeconfig, **secured)
        assert run.rc == 0, run
        config = yaml.safe_load(_core(localcluster).read_namespaced_config_map("elasticsearch-logging-config", "logging").data["elasticsearch.yml"])
        assert config["xpack.security.transport.ssl.enabled"] is True and "cluster.initial_master_nodes" not in config
        assert _apps(localcluster).read_namespaced_stateful_set("elasticsearch-logging", "logging").status.ready_replicas == 3
        run = playbook(SITE, localcluster.kubeconfig, **secured)
        assert run.rc == 0 and run.recap["changed"] == 0, run


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "kube-system")], indirect=True)
class TestTheRunbooksKubeSystemNamespace:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_the_runbooks_kube_system_namespace_is_used_but_never_created_or_deleted(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, efk_namespace="kube-system", **FAST)
        assert run.rc == 0, run
        assert _apps(localcluster).read_namespaced_stateful_set("elasticsearch-logging", "kube-system").status.ready_replicas == 1
        run = playbook(TEARDOWN, localcluster.kubeconfig, efk_namespace="kube-system", efk_purge_data="true",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc == 0, run
        assert "kube-system" in [n.metadata.name for n in _core(localcluster).list_namespace().items]
        assert not _core(localcluster).list_namespaced_persistent_volume_claim("kube-system").items


@pytest.mark.parametrize("localcluster", [("1.8", "gke", "8")], indirect=True)
class TestA18ClusterGets:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_a_1_8_cluster_gets_the_stack_through_api_version_patch(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, prerequisites_fail_on="never", efk_wait_timeout="60", falco_efk_stage_falco="false",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc == 0, run
        sts = localcluster.http("GET", "/apis/apps/v1beta2/namespaces/logging/statefulsets/elasticsearch-logging")[1]
        assert sts["status"]["readyReplicas"] == 1, sts
        assert localcluster.http("GET", "/apis/policy/v1beta1/namespaces/logging/poddisruptionbudgets/elasticsearch-logging")[0] == 200
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, prerequisites_fail_on="never", efk_wait_timeout="60", falco_efk_stage_falco="false",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert localcluster.writes() == []  # the run lock aside (taken and released)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "bad-input")], indirect=True)
class TestBadInputFailsClearlyBefore:
    """A cluster of its own (xdist gives each class its own worker)."""

    @pytest.mark.parametrize("extra, message", [
        ({"efk_elasticsearch_replicas": "2"}, "must be 1, or 3 or more"),
        ({"efk_elasticsearch_security": "false", "efk_elasticsearch_http_tls": "true"}, "efk_elasticsearch_http_tls: HTTPS needs security on"),
        ({"efk_elasticsearch_memory": "4GB"}, "efk_elasticsearch_memory must be a whole number of Mi or Gi"),
        ({"efk_elasticsearch_version": "latest"}, "efk_elasticsearch_version must look like 8.19.10"),
        ({"efk_elasticsearch_tls_secret": "Es_Certs"}, "efk_elasticsearch_tls_secret: Es_Certs is not a Secret name"),
        ({"efk_state": "gone"}, "efk_state"),
    ])
    def test_bad_input_fails_clearly_before_any_write(self, localcluster, playbook, extra, message):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, **FAST, **extra)
        assert run.rc != 0 and message in run.out, run
        assert localcluster.writes() == []


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "own")], indirect=True)
class TestHttpTlsGetsReadyWhen:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_http_tls_gets_ready_when_the_certificate_names_the_service_and_says_why_not_when_it_does_not(self, localcluster, playbook):
        # The readiness probe verifies the certificate as Fluentd and Kibana do, for the Service's name (the names cert-manager
        # is usually asked for); a certificate of yours that names something else is refused before any write, naming the
        # variable and the name it lacks (on a real cluster Elasticsearch would stay unready, its probe failing).
        tls = {"efk_elasticsearch_tls_secret": "es-certs", "efk_elasticsearch_http_tls": "true", "falco_efk_stage_falco": "false",
               "falco_efk_stage_kibana_dashboards": "false", **FAST}
        for namespace, names in (("logging", ["elasticsearch-logging.logging.svc"]), ("elsewhere", ["localhost"])):
            _core(localcluster).create_namespace({"metadata": {"name": namespace}})
            _core(localcluster).create_namespaced_secret(namespace, certificate_secret(namespace, names))
        run = playbook(SITE, localcluster.kubeconfig, **tls)
        assert run.rc == 0, run
        assert _apps(localcluster).read_namespaced_stateful_set("elasticsearch-logging", "logging").status.ready_replicas == 1
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, **dict(tls, efk_namespace="elsewhere", efk_wait_timeout="5"))
        assert run.rc != 0, run
        assert "efk_elasticsearch_tls_secret: Secret elsewhere/es-certs cannot serve Elasticsearch" in run.out, run
        assert "elasticsearch-logging.elsewhere.svc" in run.out and "Nothing was written" in run.out, run
        assert localcluster.writes() == []
        assert _core(localcluster).read_namespaced_secret("es-certs", "elsewhere").metadata.labels is None
