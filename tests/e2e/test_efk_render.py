"""The efk role's objects as rendered, held to a security list and to the schema of the target Kubernetes release."""

from __future__ import annotations

import json

import pytest
import yaml

RENDER = "tests/e2e/playbooks/efk_render.yml"
VARIANTS = {
    "default": {},
    "es7-three-nodes": {"efk_elasticsearch_version": "7.17.29", "efk_elasticsearch_replicas": 3},
    "es8-three-nodes-tls": {"efk_elasticsearch_replicas": 3, "efk_elasticsearch_tls_secret": "es-certs", "efk_elasticsearch_http_tls": True,
                            "efk_elasticsearch_persistence": False, "efk_elasticsearch_sysctl_init_container": False,
                            "efk_elasticsearch_anti_affinity": "hard", "efk_elasticsearch_storage_class": "fast"},
}
_CACHE: dict[tuple[str, str], dict] = {}


@pytest.fixture(name="render")
def render_fixture(playbook, tmp_path_factory):
    """render(variant, release) -> {'rendered': {component: [objects]}, 'patched': [...], 'report': [...]} (cached)."""

    def render(variant: str, release: str = "1.30") -> dict:
        key = (variant, release)
        if key not in _CACHE:
            out = tmp_path_factory.mktemp("render") / "objects.json"
            extra = tmp_path_factory.mktemp("vars") / "vars.json"
            extra.write_text(json.dumps(dict(VARIANTS[variant], efk_render_out=str(out), efk_render_release=release)))
            run = playbook(RENDER, "unused", "-e", f"@{extra}")
            assert run.rc == 0, run
            _CACHE[key] = json.loads(out.read_text())
        return _CACHE[key]

    return render


def _objects(rendered: dict) -> list[dict]:
    return [obj for component in rendered["rendered"].values() for obj in component]


def _pod_specs(objects: list[dict]) -> dict[str, dict]:
    return {f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"] for o in objects
            if o["kind"] in ("StatefulSet", "DaemonSet", "Deployment")}


def _containers(objects: list[dict]):
    for owner, spec in _pod_specs(objects).items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield owner, container


def _of(objects: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_validates_against_the_1_30_schema(render, variant):
    report = render(variant)["report"]
    assert {r["validation"] for r in report} == {"valid"}, [r for r in report if r["validation"] != "valid"]


@pytest.mark.parametrize("release, workloads, pdb", [("1.8", "apps/v1beta2", "policy/v1beta1"), ("1.15", "apps/v1", "policy/v1beta1"),
                                                     ("1.30", "apps/v1", "policy/v1")])
def test_objects_are_rewritten_to_what_each_release_serves(render, release, workloads, pdb):
    versions = {o["kind"]: o["apiVersion"] for o in render("default", release)["patched"]}
    assert versions["StatefulSet"] == versions["DaemonSet"] == versions["Deployment"] == workloads
    assert versions["PodDisruptionBudget"] == pdb


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_only_the_sysctl_init_container_is_privileged(render, variant):
    privileged = [(owner, c["name"]) for owner, c in _containers(_objects(render(variant))) if (c.get("securityContext") or {}).get("privileged")]
    expected = [] if variant == "es8-three-nodes-tls" else [("StatefulSet/elasticsearch-logging", "sysctl")]
    assert privileged == expected


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_other_container_drops_all_capabilities_and_cannot_escalate(render, variant):
    for owner, container in _containers(_objects(render(variant))):
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            continue
        assert context.get("allowPrivilegeEscalation") is False, (owner, container["name"])
        assert context["capabilities"]["drop"] == ["ALL"], (owner, container["name"])
        assert set(context["capabilities"].get("add", [])) <= {"DAC_READ_SEARCH"}, (owner, container["name"])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_container_has_requests_and_limits(render, variant):
    for owner, container in _containers(_objects(render(variant))):
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            assert set(resources.get(kind, {})) >= {"cpu", "memory"}, (owner, container["name"], kind)


def test_fluentd_may_only_read_pods_and_namespaces(render):
    objects = _objects(render("default"))
    role = _of(objects, "ClusterRole", "fluentd-es")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}]
    binding = _of(objects, "ClusterRoleBinding", "fluentd-es")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fluentd-es", "namespace": "logging"}]
    assert [o["kind"] for o in objects if o["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")] == \
        ["ClusterRole", "ClusterRoleBinding"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_configmap_holds_a_secret_and_credentials_come_from_secrets(render, variant):
    objects = _objects(render(variant))
    for config in (o for o in objects if o["kind"] == "ConfigMap"):
        for key, text in config["data"].items():
            for line in text.splitlines():
                if "password" in line.lower():
                    assert "ENV[" in line, (config["metadata"]["name"], key, line)
    assert not [o for o in objects if o["kind"] == "Secret"]  # generated at apply time, never rendered
    for owner, container in _containers(objects):
        for env in container.get("env", []):
            if any(word in env["name"] for word in ("PASSWORD", "ENCRYPTIONKEY")):
                assert "secretKeyRef" in env.get("valueFrom", {}), (owner, env)


def test_pods_that_never_talk_to_the_kubernetes_api_get_no_token(render):
    specs = _pod_specs(_objects(render("default")))
    assert specs["StatefulSet/elasticsearch-logging"]["automountServiceAccountToken"] is False
    assert specs["Deployment/kibana-logging"]["automountServiceAccountToken"] is False
    assert specs["DaemonSet/fluentd-es"]["serviceAccountName"] == "fluentd-es"


def test_default_elasticsearch_is_a_secured_single_node_with_a_heap_of_half_its_memory(render):
    objects = _objects(render("default"))
    config = yaml.safe_load(_of(objects, "ConfigMap", "elasticsearch-logging-config")["data"]["elasticsearch.yml"])
    assert config["discovery.type"] == "single-node" and "cluster.initial_master_nodes" not in config
    assert config["xpack.security.enabled"] is True and config["xpack.security.authc.anonymous.roles"] == "seclog_health"
    roles = yaml.safe_load(_of(objects, "ConfigMap", "elasticsearch-logging-config")["data"]["roles.yml"])
    assert roles["seclog_health"] == {"cluster": ["monitor"]}
    sts = _of(objects, "StatefulSet", "elasticsearch-logging")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "ES_JAVA_OPTS", "value": "-Xms2048m -Xmx2048m"} in container["env"]
    assert container["resources"]["limits"]["memory"] == container["resources"]["requests"]["memory"] == "4Gi"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "30Gi"
    assert "storageClassName" not in sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert "health?wait_for_status=yellow" in " ".join(container["readinessProbe"]["exec"]["command"])


@pytest.mark.parametrize("memory, heap", [("64Gi", "31744m"), ("3Gi", "1536m"), ("1000Mi", "500m")])
def test_heap_is_half_the_memory_capped_below_32_gib(playbook, tmp_path, memory, heap):
    out = tmp_path / "objects.json"
    run = playbook(RENDER, "unused", efk_render_out=str(out), efk_render_release="1.30", efk_elasticsearch_memory=memory)
    assert run.rc == 0, run
    sts = _of(_objects(json.loads(out.read_text())), "StatefulSet", "elasticsearch-logging")
    assert {"name": "ES_JAVA_OPTS", "value": f"-Xms{heap} -Xmx{heap}"} in sts["spec"]["template"]["spec"]["containers"][0]["env"]


def test_elasticsearch_7_runs_without_security_and_fluentd_matches_its_major(render):
    objects = _objects(render("es7-three-nodes"))
    config = yaml.safe_load(_of(objects, "ConfigMap", "elasticsearch-logging-config")["data"]["elasticsearch.yml"])
    assert config["xpack.security.enabled"] is False and config["discovery.seed_hosts"] == ["elasticsearch-logging-headless"]
    specs = _pod_specs(objects)
    assert [c["name"] for c in specs["StatefulSet/elasticsearch-logging"]["initContainers"]] == ["sysctl"]
    assert specs["DaemonSet/fluentd-es"]["containers"][0]["image"].endswith("-debian-elasticsearch7-1.1")
    assert specs["Deployment/kibana-logging"]["containers"][0]["image"] == "docker.elastic.co/kibana/kibana:7.17.29"
    assert not [e for e in specs["DaemonSet/fluentd-es"]["containers"][0]["env"] if "PASSWORD" in e["name"]]


def test_a_multi_node_cluster_spreads_and_uses_tls_from_the_given_secret(render):
    objects = _objects(render("es8-three-nodes-tls"))
    config = yaml.safe_load(_of(objects, "ConfigMap", "elasticsearch-logging-config")["data"]["elasticsearch.yml"])
    assert config["xpack.security.transport.ssl.enabled"] is True and config["xpack.security.http.ssl.enabled"] is True
    assert "cluster.initial_master_nodes" not in config  # rendered outside a bootstrap
    sts = _of(objects, "StatefulSet", "elasticsearch-logging")
    spec = sts["spec"]["template"]["spec"]
    assert sts["spec"]["podManagementPolicy"] == "Parallel" and "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "data", "emptyDir": {}} in spec["volumes"]
    items = [{"key": "ca.crt", "path": "ca.crt"}, {"key": "tls.crt", "path": "tls.crt"}, {"key": "tls.key", "path": "tls.key"}]
    assert {"name": "certs", "secret": {"secretName": "es-certs", "items": items}} in spec["volumes"]
    assert spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "kubernetes.io/hostname"
    fluentd = _of(objects, "ConfigMap", "fluentd-es-config")["data"]["fluent.conf"]
    assert "scheme \"#{ENV['FLUENT_ELASTICSEARCH_SCHEME']}\"" in fluentd and "ssl_verify true" in fluentd
    assert _of(objects, "Service", "elasticsearch-logging-headless")["spec"]["publishNotReadyAddresses"] is True


def test_fluentd_lifts_json_lines_keeps_falco_time_and_bounds_its_buffer(render):
    objects = _objects(render("default"))
    conf = _of(objects, "ConfigMap", "fluentd-es-config")["data"]["fluent.conf"]
    for line in ("path /var/log/containers/*.log", "@type kubernetes_metadata", "key_name log", "reserve_data true", "keep_time_key true",
                 "logstash_format true", "suppress_type_name true", "overflow_action block", "total_limit_size 2GB",
                 "retry_type exponential_backoff", "template_name logstash", "use_legacy_template false"):
        assert line in conf, line
    assert "remove_key_name_field" not in conf
    assert "format json" in conf and "(?<stream>stdout|stderr) (?<logtag>[PF])" in conf  # Docker and CRI lines
    tolerations = _pod_specs(objects)["DaemonSet/fluentd-es"]["tolerations"]
    assert tolerations == [{"operator": "Exists"}]


def test_index_template_maps_falco_fields_for_aggregation_and_bounds_the_field_count(render):
    objects = _objects(render("default"))
    template = json.loads(_of(objects, "ConfigMap", "fluentd-es-config")["data"]["index-template.json"])
    assert template["index_patterns"] == ["logstash-*"]
    mappings = template["template"]["mappings"]
    assert mappings["properties"]["rule"]["type"] == mappings["properties"]["priority"]["type"] == "keyword"
    assert mappings["properties"]["output"]["type"] == "text"
    assert mappings["properties"]["kubernetes"]["properties"]["labels"]["type"] == "flattened"
    output_fields = next(t["falco_output_fields"] for t in mappings["dynamic_templates"] if "falco_output_fields" in t)
    assert output_fields["path_match"] == "output_fields.*" and output_fields["mapping"]["type"] == "keyword"
    assert template["template"]["settings"]["index.number_of_replicas"] == 0  # a single node would stay yellow otherwise


@pytest.mark.parametrize("version", ["7.17.29", "8.19.10"])
def test_both_majors_get_the_composable_template_and_falco_fields_de_dotted(playbook, tmp_path, version):
    out = tmp_path / "objects.json"
    run = playbook(RENDER, "unused", efk_render_out=str(out), efk_render_release="1.30", efk_elasticsearch_version=version)
    assert run.rc == 0, run
    config = _of(_objects(json.loads(out.read_text())), "ConfigMap", "fluentd-es-config")["data"]
    template = json.loads(config["index-template.json"])
    assert template["priority"] == 200 and "order" not in template and "_doc" not in template["template"]["mappings"]
    assert template["template"]["mappings"]["dynamic_templates"][0] == {"falco_output_fields": {
        "path_match": "output_fields.*", "match_mapping_type": "*", "mapping": {"type": "keyword", "ignore_above": 1024}}}
    conf = config["fluent.conf"]
    assert "use_legacy_template false" in conf and "suppress_type_name true" in conf and "\n  type_name" not in conf
    assert "  @type dedot\n  de_dot_separator _\n  de_dot_nested true\n" in conf


def test_kibana_is_served_under_the_api_server_proxy_path_and_probes_its_status(render):
    kibana = _pod_specs(_objects(render("default")))["Deployment/kibana-logging"]["containers"][0]
    env = {e["name"]: e.get("value") for e in kibana["env"]}
    assert env["SERVER_BASEPATH"] == "/api/v1/namespaces/logging/services/kibana-logging/proxy"
    assert env["SERVER_REWRITEBASEPATH"] == "false"
    # HTTPS by default (security on), verified against the generated CA.
    assert env["ELASTICSEARCH_HOSTS"] == "https://elasticsearch-logging.logging.svc:9200"
    assert env["ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES"] == "/usr/share/kibana/config/certs/ca.crt"
    assert kibana["readinessProbe"]["httpGet"] == {"path": "/api/status", "port": "ui"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_namespace_enforces_the_level_fluentd_needs_and_audits_at_restricted(render, variant):
    labels = _of(_objects(render(variant)), "Namespace", "logging")["metadata"]["labels"]
    # Fluentd reads the nodes' logs through hostPath volumes, which baseline forbids: privileged is the strictest level
    # every pod of the stack passes, whatever the sysctl init container does.
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == "privileged"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_elasticsearch_and_kibana_pass_restricted_without_the_sysctl_init_container(render):
    """Only Fluentd needs more than restricted once the sysctl init container is off (the Elasticsearch docs' way)."""
    from ansible_collections.seclog.falco_efk.plugins.module_utils.pod_security import namespace_level

    report = namespace_level(_objects(render("es8-three-nodes-tls")))
    assert [need["object"] for need in report["needs"]] == ["DaemonSet fluentd-es"]
    assert report["needs"][0]["reasons"][0] == 'non-default capabilities (container "fluentd" must not include "DAC_READ_SEARCH" in ' \
                                               'securityContext.capabilities.add)'
    default = namespace_level(_objects(render("default")))
    assert {need["object"]: need["level"] for need in default["needs"]} == {
        "StatefulSet elasticsearch-logging": "privileged", "DaemonSet fluentd-es": "privileged"}
    assert any("sysctl" in reason for reason in default["needs"][0]["reasons"] + default["needs"][1]["reasons"])
