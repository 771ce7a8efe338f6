"""api_version_patch as Ansible runs it: inputs, offline targets, discovery, validation, diff and errors."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.seclog.falco_efk.plugins.modules import api_version_patch

FALCO_DS = """
apiVersion: extensions/v1beta1
kind: DaemonSet
metadata: {name: falco, namespace: logging}
spec:
  template:
    metadata: {labels: {app: falco}}
    spec:
      containers: [{name: falco, image: "falcosecurity/falco:0.41.3"}]
"""
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "falco", "namespace": "logging"}, "data": {"a": "b"}}
PSP = {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "falco"},
       "spec": {"privileged": True, "seLinux": {"rule": "RunAsAny"}, "runAsUser": {"rule": "RunAsAny"},
                "supplementalGroups": {"rule": "RunAsAny"}, "fsGroup": {"rule": "RunAsAny"}, "volumes": ["*"]}}


def test_yaml_text_is_patched_offline_for_a_modern_release(run_module):
    exited = run_module(api_version_patch.main, {"definitions": FALCO_DS, "kubernetes_version": "1.30"})
    assert not exited.failed and exited.result["changed"]
    (daemonset,) = exited.result["definitions"]
    assert daemonset["apiVersion"] == "apps/v1" and daemonset["spec"]["selector"] == {"matchLabels": {"app": "falco"}}
    (entry,) = exited.result["report"]
    assert (entry["from"], entry["to"], entry["action"]) == ("extensions/v1beta1", "apps/v1", "converted")
    assert entry["validation"] == "valid"
    assert exited.result["target"] == {"source": "table", "version": "1.30"}


def test_objects_already_served_pass_through_untouched(run_module):
    exited = run_module(api_version_patch.main, {"definitions": [CONFIGMAP], "kubernetes_version": "1.30"})
    assert not exited.result["changed"] and exited.result["definitions"] == [CONFIGMAP]
    assert exited.result["report"][0]["action"] == "unchanged"


def test_old_releases_are_reported_as_not_validated(run_module):
    exited = run_module(api_version_patch.main, {"definitions": FALCO_DS.replace("extensions/v1beta1", "apps/v1"), "kubernetes_version": "1.8"})
    assert exited.result["definitions"][0]["apiVersion"] == "apps/v1beta2"
    assert exited.result["report"][0]["validation"].startswith("not validated: kubernetes-validate has no schema for Kubernetes 1.8")


def test_psp_is_dropped_on_clusters_without_it_with_the_psa_advice(run_module):
    exited = run_module(api_version_patch.main, {"definitions": [PSP, CONFIGMAP], "kubernetes_version": "1.30"})
    assert exited.result["definitions"] == [CONFIGMAP]
    assert exited.result["report"][0]["action"] == "dropped"
    assert any("pod-security.kubernetes.io/enforce" in w for w in exited.result["report"][0]["warnings"])


def test_src_files_are_read_in_order(run_module, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(FALCO_DS)
    second.write_text(yaml.safe_dump(CONFIGMAP))
    exited = run_module(api_version_patch.main, {"src": [str(first), str(second)], "kubernetes_version": "1.15"})
    assert [d["kind"] for d in exited.result["definitions"]] == ["DaemonSet", "ConfigMap"]
    assert not exited.result["changed"]  # 1.15 still serves extensions/v1beta1


def test_diff_mode_shows_before_and_after(run_module):
    exited = run_module(api_version_patch.main, {"definitions": FALCO_DS, "kubernetes_version": "1.30", "_ansible_diff": True})
    diff = exited.result["diff"]
    assert "extensions/v1beta1" in diff["before"] and "apps/v1" in diff["after"]


@pytest.mark.parametrize("args, message", [
    ({"definitions": "a: [", "kubernetes_version": "1.30"}, "definitions: not valid YAML at line 1, column 5"),
    ({"definitions": 42, "kubernetes_version": "1.30"}, "definitions: 42 is not a Kubernetes object. Give a list of objects"),
    ({"src": ["/nonexistent/x.yaml"], "kubernetes_version": "1.30"}, "src file /nonexistent/x.yaml: could not be read (No such file"),
    ({"definitions": [{"apiVersion": "v1", "metadata": {"name": "x", "namespace": "logging"}}], "kubernetes_version": "1.30"},
     "definitions[0] (logging/x) has no kind"),
    ({"definitions": [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "p"}}],
      "kubernetes_version": "1.8"}, "PriorityClass p: scheduling.k8s.io/v1 is not served by Kubernetes 1.8; it serves none of"),
    ({"definitions": [CONFIGMAP], "kubernetes_version": "one point eight"}, "one point eight"),
    ({"definitions": [CONFIGMAP], "src": ["/x"]}, "parameters are mutually exclusive: definitions|src"),
    ({"kubernetes_version": "1.30"}, "one of the following is required: definitions, src"),
])
def test_bad_input_fails_clearly(run_module, args, message):
    exited = run_module(api_version_patch.main, args)
    assert exited.failed and message in exited.result["msg"]


def test_unknown_kind_fails_naming_the_object_unless_told_otherwise(run_module):
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "logging"}}
    exited = run_module(api_version_patch.main, {"definitions": [widget], "kubernetes_version": "1.30"})
    assert exited.failed and "Widget logging/w" in exited.result["msg"]
    warned = run_module(api_version_patch.main, {"definitions": [widget], "kubernetes_version": "1.30", "unsupported": "warn"})
    assert not warned.failed and warned.result["definitions"] == [widget]
    skipped = run_module(api_version_patch.main, {"definitions": [widget], "kubernetes_version": "1.30", "unsupported": "skip"})
    assert skipped.result["definitions"] == [] and skipped.result["report"][0]["action"] == "skipped"


@pytest.mark.parametrize("localcluster", [("1.8", "gke")], indirect=True)
def test_discovery_is_the_default_target(run_module, localcluster):
    exited = run_module(api_version_patch.main, {"definitions": FALCO_DS.replace("extensions/v1beta1", "apps/v1"),
                                                 "kubeconfig": localcluster.kubeconfig})
    assert exited.result["target"]["source"] == "discovery" and exited.result["target"]["version"].startswith("v1.8.")
    assert exited.result["definitions"][0]["apiVersion"] == "apps/v1beta2"


def test_an_unreachable_cluster_suggests_patching_offline(run_module, tmp_path):
    exited = run_module(api_version_patch.main, {"definitions": FALCO_DS, "kubeconfig": str(tmp_path / "missing")})
    assert exited.failed and "Or set kubernetes_version to patch offline" in exited.result["msg"]
