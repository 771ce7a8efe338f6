"""Stage 4 against the local cluster: Falco per driver, Pod Security, old clusters, user rules, readiness."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

SITE = "playbooks/site.yml"
TEARDOWN = "playbooks/teardown.yml"
ONLY_FALCO = {"falco_efk_stage_prerequisites": "false", "falco_efk_stage_efk": "false", "falco_efk_stage_kibana_dashboards": "false",
              "falco_wait_timeout": "60"}
MODERN_CAPS = ["BPF", "SYS_RESOURCE", "PERFMON", "SYS_PTRACE"]


def _apps(cluster):
    return client.AppsV1Api(cluster.api_client())


def _core(cluster):
    return client.CoreV1Api(cluster.api_client())


def _pod_spec(cluster, namespace="falco") -> dict:
    return cluster.http("GET", f"/apis/apps/v1/namespaces/{namespace}/daemonsets/falco")[1]["spec"]["template"]["spec"]


def _mounts(container: dict) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
class TestModernEbpfFalco:
    """Falco alone in its own namespace: check mode, converge, re-run, the event generator, absent."""

    def test_check_mode_writes_nothing(self, localcluster, playbook):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, "--check", falco_namespace="falco", **ONLY_FALCO)
        assert run.rc == 0 and run.recap["changed"] > 0, run
        assert localcluster.writes() == []
        assert "DaemonSet falco" in run.out

    def test_falco_runs_on_every_node_with_least_privilege(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, falco_namespace="falco", **ONLY_FALCO)
        assert run.rc == 0, run
        ds = _apps(localcluster).read_namespaced_daemon_set("falco", "falco")
        assert ds.status.number_ready == ds.status.desired_number_scheduled == 3
        spec = _pod_spec(localcluster, "falco")
        container = spec["containers"][0]
        # As the chart's least-privileged mode: four capabilities and AppArmor unconfined (the field on 1.30+).
        assert container["securityContext"] == {"privileged": False, "allowPrivilegeEscalation": False,
                                                "capabilities": {"drop": ["ALL"], "add": MODERN_CAPS},
                                                "appArmorProfile": {"type": "Unconfined"}}
        assert container["args"] == ["/usr/bin/falco", "-U"] and container["terminationMessagePolicy"] == "FallbackToLogsOnError"
        assert "initContainers" not in spec and spec["automountServiceAccountToken"] is False
        mounts = _mounts(container)
        assert {"/host/proc", "/host/etc", "/sys/kernel", "/etc/falco/rules.d"} <= set(mounts)
        # The nodes run containerd: its socket's directory, read-only, where the container plugin looks (HOST_ROOT=/host).
        runtime = [m for m in container["volumeMounts"] if m["name"].startswith("runtime-")]
        assert runtime == [{"name": "runtime-0", "mountPath": "/host/run/containerd", "readOnly": True}]
        assert not {"/host/dev", "/host/boot", "/host/lib/modules", "/host/usr"} & set(mounts)
        assert spec["tolerations"] == [{"operator": "Exists"}] and spec["priorityClassName"] == "seclog-falco"
        namespace = _core(localcluster).read_namespace("falco")
        assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "privileged"
        assert not client.RbacAuthorizationV1Api(localcluster.api_client()).list_cluster_role(
            label_selector="app.kubernetes.io/name=falco").items  # Falco 0.38+ reads nothing from the API

    def test_falco_config_asks_for_json_alerts_on_stdout(self, localcluster):
        import yaml  # pylint: disable=import-outside-toplevel
        config = yaml.safe_load(_core(localcluster).read_namespaced_config_map("falco-config", "falco").data["50-seclog.yaml"])
        assert config["json_output"] is True and config["json_include_output_property"] is True
        assert config["json_include_tags_property"] is True and config["stdout_output"] == {"enabled": True}
        assert config["priority"] == "notice" and config["engine"] == {"kind": "modern_ebpf"}
        assert config["load_plugins"] == ["container"]

    def test_verify_sees_falco_on_every_node(self, localcluster, playbook):
        run = playbook("playbooks/verify.yml", localcluster.kubeconfig, falco_namespace="falco", falco_efk_stage_efk="false",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc == 0 and "Falco runs on 3 nodes." in run.out, run

    def test_second_run_changes_nothing(self, localcluster, playbook):
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, falco_namespace="falco", **ONLY_FALCO)
        assert run.rc == 0 and run.recap["changed"] == 0, run
        assert localcluster.writes() == []  # the run lock aside (taken and released)

    def test_event_generator_comes_and_goes_with_its_switch(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, falco_namespace="falco", falco_event_generator="true", **ONLY_FALCO)
        assert run.rc == 0 and run.recap["changed"] == 1, run
        generator = _apps(localcluster).read_namespaced_deployment("falco-event-generator", "falco")
        assert generator.status.available_replicas == 1
        assert generator.spec.template.spec.containers[0].args == ["run", "--all", "^syscall", "--loop"]
        run = playbook(SITE, localcluster.kubeconfig, falco_namespace="falco", **ONLY_FALCO)
        assert run.rc == 0 and run.recap["changed"] == 1, run
        assert not _apps(localcluster).list_namespaced_deployment("falco").items

    def test_absent_removes_falco_and_the_namespace_it_created(self, localcluster, playbook):
        # Something of another team's in the namespace the role created: the namespace stays, saying why.
        _core(localcluster).create_namespaced_config_map("falco", {"metadata": {"name": "team-rules"}, "data": {"a": "b"}})
        run = playbook(TEARDOWN, localcluster.kubeconfig, falco_namespace="falco", falco_efk_stage_efk="false")
        assert run.rc == 0 and run.recap["changed"] > 0, run
        assert "Namespace falco stays: it holds what is not this collection's: ConfigMap team-rules." in run.out, run
        assert not _apps(localcluster).list_namespaced_daemon_set("falco").items
        _core(localcluster).delete_namespaced_config_map("team-rules", "falco")
        run = playbook(TEARDOWN, localcluster.kubeconfig, falco_namespace="falco", falco_efk_stage_efk="false")
        assert run.rc == 0 and run.recap["changed"] == 1, run
        assert "falco" not in [n.metadata.name for n in _core(localcluster).list_namespace().items]
        assert not client.SchedulingV1Api(localcluster.api_client()).list_priority_class(label_selector="app.kubernetes.io/part-of").items
        run = playbook(TEARDOWN, localcluster.kubeconfig, falco_namespace="falco", falco_efk_stage_efk="false")
        assert run.rc == 0 and run.recap["changed"] == 0, run
        run = playbook("playbooks/verify.yml", localcluster.kubeconfig, falco_namespace="falco", falco_efk_stage_efk="false",
                       falco_efk_stage_kibana_dashboards="false")
        assert run.rc != 0 and "Falco is ready on 0 of 0 nodes (its DaemonSet does not exist" in run.out, run


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_beside_the_efk_stack_alerts_flow_and_both_stages_stay_idempotent(localcluster, playbook):
    full = {"falco_efk_stage_prerequisites": "false", "falco_efk_stage_kibana_dashboards": "false", "efk_wait_timeout": "60",
            "falco_wait_timeout": "60", "falco_event_generator": "true"}
    run = playbook(SITE, localcluster.kubeconfig, **full)
    assert run.rc == 0, run
    # Falco in a namespace of its own, the only one labelled for privileged pods by the falco role; the logging namespace at
    # the level its own pods need (Fluentd's hostPath volumes: privileged), audited at restricted.
    core = _core(localcluster)
    assert core.list_namespaced_pod("logging", label_selector="app.kubernetes.io/name=falco").items == []
    assert core.list_namespaced_pod("falco", label_selector="app.kubernetes.io/name=falco").items
    falco_labels = core.read_namespace("falco").metadata.labels
    assert falco_labels["pod-security.kubernetes.io/enforce"] == "privileged"
    labels = core.read_namespace("logging").metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged" and labels["app.kubernetes.io/part-of"] == "seclog-falco-efk"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, **full)
    assert run.rc == 0 and run.recap["changed"] == 0, run
    assert localcluster.writes() == [], "a converged cluster sees no write, not even a no-op patch"
    from localcluster.pytest_plugin import wait_for  # pylint: disable=import-outside-toplevel
    wait_for(lambda: localcluster.cluster.stack.es.count("logstash-*", {"exists": {"field": "rule"}}) > 0, timeout=30)
    # Every alert names the pod it is about (the container plugin reaches the runtime socket), the generator's among them; Fluentd
    # stored Falco's output fields de-dotted (k8s.pod.name as k8s_pod_name), so none was rejected for a colliding name.
    docs = [h["_source"] for h in localcluster.cluster.stack.es.search("logstash-*", {"size": 500, "query": {"exists": {"field": "rule"}}})
            ["hits"]["hits"]]
    assert all(d["output_fields"]["k8s_pod_name"] for d in docs)
    assert any(d["output_fields"]["k8s_pod_name"].startswith("falco-event-generator-") for d in docs)
    assert not [k for d in docs for k in d["output_fields"] if "." in k]
    run = playbook(TEARDOWN, localcluster.kubeconfig)
    assert run.rc == 0, run
    # Falco's namespace, which the falco role created, is gone; the logging namespace stays (data kept) with the efk role's labels.
    assert "falco" not in [n.metadata.name for n in core.list_namespace().items]
    assert core.read_namespace("logging").metadata.labels["pod-security.kubernetes.io/audit"] == "restricted"


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.parametrize("driver", ["kmod", "auto"])
def test_kmod_and_auto_are_privileged_and_mount_what_the_driver_loader_needs(localcluster, playbook, driver):
    run = playbook(SITE, localcluster.kubeconfig, falco_driver=driver, **ONLY_FALCO)
    assert run.rc == 0, run
    spec = _pod_spec(localcluster)
    falco, loader = spec["containers"][0], spec["initContainers"][0]
    assert falco["securityContext"] == {"privileged": True} and loader["securityContext"] == {"privileged": True}
    assert loader["args"] == [driver]
    engine = _core(localcluster).read_namespaced_config_map("falco-config", "falco").data["50-seclog.yaml"]
    assert ("kind: kmod" in engine) == (driver == "kmod")  # auto: the loader writes the engine it picked
    assert {"/host/proc", "/host/boot", "/host/lib/modules", "/host/usr", "/host/etc", "/root/.falco"} <= set(_mounts(loader))
    assert {"/host/dev", "/host/proc", "/root/.falco"} <= set(_mounts(falco))
    volumes = {v["name"]: v.get("hostPath", {}).get("path") for v in spec["volumes"]}
    assert volumes["host-modules"] == "/lib/modules" and volumes["host-dev"] == "/dev"


@pytest.mark.parametrize("localcluster", [("1.30", "cos", "8")], indirect=True)
def test_kmod_on_container_optimized_os_stops_before_any_write(localcluster, playbook):
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, falco_driver="kmod", **ONLY_FALCO)
    assert run.rc != 0, run
    assert "Falco's kmod driver cannot run on 3 node(s)" in run.out and "falco_driver: modern_ebpf" in run.out
    assert localcluster.writes() == []


@pytest.mark.parametrize("localcluster", [("1.30", "old-kernel", "8")], indirect=True)
def test_falco_forced_onto_kernels_it_cannot_run_on_fails_naming_the_nodes_and_what_falco_said(localcluster, playbook):
    # falco_driver_check: false skips the preflight's verdict; the containers then exit as Falco would, and the run says why.
    run = playbook(SITE, localcluster.kubeconfig, **dict(ONLY_FALCO, falco_driver_check="false", falco_wait_timeout="10"))
    assert run.rc != 0, run
    assert "Falco pods not ready: node gke-seclog-legacy-pool-" in run.out
    assert "CrashLoopBackOff back-off 10s restarting failed container=falco" in run.out
    assert "it said: libpman: ring buffer map type is not supported (kernel 4.15.0-1027-gke)" in run.out
    assert "Running the playbook again is safe" in run.out


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_a_broken_user_rule_stops_the_run_before_any_write_naming_the_item(localcluster, playbook, tmp_path):
    rules = [{"rule": "Shell in prod", "desc": "a shell", "condition": "spawned_process and proc.name = bash", "output": "shell",
              "priority": "WARNING"}, {"rule": "Half a rule", "condition": "evt.type = open"}]
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"falco_rules": rules}))
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, "-e", f"@{extra}", **ONLY_FALCO)
    assert run.rc != 0 and "Half a rule" in run.out and "priority" in run.out, run
    assert localcluster.writes() == []
    extra.write_text(json.dumps({"falco_rules": rules[:1]}))
    run = playbook(SITE, localcluster.kubeconfig, "-e", f"@{extra}", **ONLY_FALCO)
    assert run.rc == 0, run
    data = _core(localcluster).read_namespaced_config_map("falco-rules", "falco").data
    assert "Shell in prod" in "".join(data.values())


@pytest.mark.parametrize("localcluster", [("1.30", "notready", "8")], indirect=True)
def test_a_node_where_falco_never_gets_ready_is_named(localcluster, playbook):
    run = playbook(SITE, localcluster.kubeconfig, falco_wait_timeout="5", falco_efk_stage_prerequisites="false",
                   falco_efk_stage_efk="false")
    assert run.rc != 0 and "Falco pods not ready" in run.out, run
    nodes = [n.metadata.name for n in _core(localcluster).list_node().items
             if any(c.type == "Ready" and c.status != "True" for c in n.status.conditions)]
    assert nodes and all(f"node {name}" in run.out for name in nodes), run


@pytest.mark.parametrize("localcluster, psp_api", [(("1.8", "gke", "8"), "extensions/v1beta1"), (("1.15", "gke", "8"), "policy/v1beta1")],
                         indirect=["localcluster"])
def test_old_clusters_get_kmod_falco_and_a_podsecuritypolicy_through_api_version_patch(localcluster, playbook, psp_api):
    settings = dict(ONLY_FALCO, falco_driver="kmod", falco_psp="true")
    run = playbook(SITE, localcluster.kubeconfig, **settings)
    assert run.rc == 0, run
    code, psp, _unused = localcluster.http("GET", f"/apis/{psp_api}/podsecuritypolicies/seclog-falco")
    assert code == 200 and psp["spec"]["privileged"] is True, psp
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, **settings)
    assert run.rc == 0 and run.recap["changed"] == 0, run
    assert localcluster.writes() == []  # the run lock aside (taken and released)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_psp_on_a_cluster_without_podsecuritypolicy_is_refused_clearly(localcluster, playbook):
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, falco_psp="true", **ONLY_FALCO)
    assert run.rc != 0 and "serves no PodSecurityPolicy" in run.out, run
    assert localcluster.writes() == []


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.parametrize("extra, message", [
    ({"falco_driver": "ebpf"}, "value of falco_driver must be one of: modern_ebpf, kmod, auto, got: ebpf"),
    ({"falco_minimum_priority": "loud"}, "falco_minimum_priority must be one of"),
    ({"falco_version": "0.41.3"}, "older than 0.42"),
])
def test_bad_input_fails_clearly_before_any_write(localcluster, playbook, extra, message):
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, **ONLY_FALCO, **extra)
    assert run.rc != 0 and message in run.out, run
    assert localcluster.writes() == []
