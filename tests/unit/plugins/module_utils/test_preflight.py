"""The preflight's checks as pure functions over recorded node and discovery data."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
import yaml

from ansible_collections.seclog.falco_efk.plugins.module_utils import preflight

with open(os.path.join(os.path.dirname(__file__), "fixtures", "node_sets.json"), encoding="utf-8") as handle:
    RECORDED = json.load(handle)

SERVED_130 = {"v1": ["pods", "namespaces"], "apps/v1": ["deployments", "daemonsets", "statefulsets"], "policy/v1": ["poddisruptionbudgets"]}
SERVED_115 = dict(SERVED_130, **{"policy/v1beta1": ["poddisruptionbudgets", "podsecuritypolicies"],
                                 "extensions/v1beta1": ["deployments", "daemonsets", "podsecuritypolicies"]})
# The defaults site.yml passes: Elasticsearch's pod requests, and Falco's and Fluentd's on every node.
DAEMONS = [{"cpu": "100m", "memory": "512Mi"}, {"cpu": "100m", "memory": "256Mi"}]
OPTIONS = {"es_replicas": 1, "es_min_cpu": "1", "es_min_memory": "4Gi", "es_persistence": True, "falco_driver": "modern_ebpf",
           "daemonset_requests": DAEMONS}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
DEFAULT_SC = [{"metadata": {"name": "standard-rwo", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}]


def summaries(name):
    return [preflight.node_summary(n) for n in RECORDED[name]["nodes"]]


def facts(name="gke", **changes):
    base = {"nodes": summaries(name), "daemonsets": RECORDED[name]["daemonsets"], "storage_classes": DEFAULT_SC,
            "access": [{"verb": v, "group": g, "resource": r, "allowed": True} for v, g, r, _ns in preflight.REQUIRED_ACCESS],
            "namespace": None, "served": SERVED_130, "psp_count": 0}
    base.update(changes)
    return base


def ids(findings):
    return [f["id"] for f in findings]


@pytest.mark.parametrize("value, millicores", [("4", 4000), ("3920m", 3920), (2, 2000), ("0.5", 500), ("1500m", 1500)])
def test_cpu_quantities(value, millicores):
    assert preflight.cpu_millicores(value) == millicores


@pytest.mark.parametrize("value, mib", [("7.5Gi", 7680), ("13206396Ki", 12896), ("8G", 7629), ("512Mi", 512), ("1073741824", 1024)])
def test_memory_quantities(value, mib):
    assert preflight.memory_mib(value) == mib


@pytest.mark.parametrize("bad", ["two", "7.5 GB", "", "-1"])
def test_bad_quantities_say_what_a_quantity_looks_like(bad):
    with pytest.raises(preflight.PreflightError, match="quantity"):
        preflight.memory_mib(bad)


@pytest.mark.parametrize("text, version", [("5.15.0-1067-gke", (5, 15, 0)), ("6.1.100+", (6, 1, 100)), ("4.15.0-1027-gke", (4, 15, 0)),
                                           ("5.8", (5, 8, 0)), ("", None), ("unknown", None)])
def test_kernel_versions(text, version):
    assert preflight.kernel_version(text) == version


def test_node_summary_reads_gke_labels_and_node_info():
    summary = summaries("gke")[0]
    assert summary["instance_type"] == "e2-standard-4" and summary["gke_os_distribution"] == "ubuntu"
    assert summary["cpu_millicores"] == 3920 and summary["memory_mib"] > 7680
    assert summary["ready"] and summary["schedulable"] and not summary["cos"]
    assert summary["container_runtime"].startswith("containerd://")


def test_gke_node_set_passes_every_check():
    assert preflight.evaluate(facts("gke"), OPTIONS) == []


@pytest.mark.parametrize("node_set, memory_mib", [("runbook", 5633), ("e2-standard-2", 6017)])
def test_the_runbooks_two_vcpu_nodes_hold_elasticsearch_beside_falco_and_fluentd(node_set, memory_mib):
    # GKE leaves 1930m and 5.5 to 5.9 GiB of them allocatable: below the old 2 CPU / 7.5 GiB threshold, above what is requested.
    assert {(s["cpu_millicores"], s["memory_mib"]) for s in summaries(node_set)} == {(1930, memory_mib)}
    assert preflight.evaluate(facts(node_set), dict(OPTIONS, es_replicas=3)) == []


def test_small_nodes_fail_elasticsearch_sizing_naming_each_node_and_what_is_requested():
    found = preflight.evaluate(facts("small"), OPTIONS)
    assert ids(found) == ["elasticsearch.node_size"]
    assert found[0]["severity"] == "error" and len(found[0]["objects"]) == 3
    assert "e2-medium" in found[0]["message"] and "n1-standard-2" in found[0]["remedy"]
    assert found[0]["message"].startswith("An Elasticsearch pod requests 1 CPU and 4Gi memory, and the Falco and Fluentd pods on "
                                          "every node 200m CPU and 768Mi memory more; 1 schedulable node(s)")


def test_nodes_too_small_for_elasticsearch_are_a_warning_while_enough_others_hold_it():
    mixed = facts("gke", nodes=summaries("gke")[:1] + summaries("small"))
    found = preflight.evaluate(mixed, OPTIONS)
    assert ids(found) == ["elasticsearch.small_nodes"] and found[0]["severity"] == "warning"
    assert sorted(found[0]["objects"]) == sorted(s["name"] for s in summaries("small"))
    assert ids(preflight.evaluate(mixed, dict(OPTIONS, es_replicas=3))) == ["elasticsearch.node_size"]


def test_the_daemonset_pods_count_against_each_nodes_room():
    room = summaries("runbook")[0]
    exact = {"cpu": "%dm" % (room["cpu_millicores"] - 1000), "memory": "%dMi" % (room["memory_mib"] - 4096)}
    assert preflight.evaluate(facts("runbook"), dict(OPTIONS, daemonset_requests=[exact])) == []
    more = dict(exact, memory="%dMi" % (room["memory_mib"] - 4096 + 1))
    assert ids(preflight.evaluate(facts("runbook"), dict(OPTIONS, daemonset_requests=[more]))) == ["elasticsearch.node_size"]


def test_sizing_counts_nodes_against_replicas():
    three = dict(OPTIONS, es_replicas=3)
    assert preflight.evaluate(facts("gke"), three) == []
    assert ids(preflight.evaluate(facts("gke"), dict(OPTIONS, es_replicas=4))) == ["elasticsearch.node_size"]


def test_sizing_thresholds_are_variables():
    assert preflight.evaluate(facts("small"), dict(OPTIONS, es_min_cpu="500m", es_min_memory="2Gi", daemonset_requests=[])) == []


def test_notready_nodes_warn_and_do_not_count_for_elasticsearch():
    found = preflight.evaluate(facts("notready"), dict(OPTIONS, es_replicas=3))
    assert ids(found) == ["elasticsearch.node_size", "nodes.not_ready"]


def test_kmod_on_cos_is_an_error_with_the_node_image_remedy():
    found = preflight.evaluate(facts("cos"), dict(OPTIONS, falco_driver="kmod"))
    assert ids(found) == ["falco.driver.kmod"]
    assert "Container-Optimized OS" in found[0]["message"] and "modern_ebpf" in found[0]["remedy"]


def test_modern_ebpf_on_old_kernels_is_an_error():
    found = preflight.evaluate(facts("old-kernel"), OPTIONS)
    assert ids(found) == ["falco.driver.modern_ebpf"]
    assert "4.15.0-1027-gke" in found[0]["message"] and "5.8" in found[0]["message"]


def test_modern_ebpf_runs_on_cos():
    assert preflight.evaluate(facts("cos"), OPTIONS) == []


def test_kmod_on_ubuntu_warns_about_driver_builds():
    found = preflight.evaluate(facts("gke"), dict(OPTIONS, falco_driver="kmod"))
    assert ids(found) == ["falco.driver.kmod_build"] and found[0]["severity"] == "warning"


def test_auto_picks_per_node_and_reports_the_choice():
    found = preflight.evaluate(facts("old-kernel"), dict(OPTIONS, falco_driver="auto"))
    assert ids(found) == ["falco.driver.kmod_build", "falco.driver.auto"]
    assert "kmod on 3 node(s)" in found[1]["message"]


@pytest.mark.parametrize("kernel, driver, expected", [
    ("5.8.0", "modern_ebpf", ("modern_ebpf", None)),
    ("5.7.19", "auto", ("kmod", None)),
    ("6.1.100+", "auto", ("modern_ebpf", None)),
])
def test_driver_for_node_is_the_one_source_of_truth(kernel, driver, expected):
    summary = dict(summaries("gke")[0], kernel_version=kernel)
    assert preflight.driver_for_node(summary, driver) == expected


def test_unknown_driver_is_refused():
    with pytest.raises(preflight.PreflightError, match="modern_ebpf, kmod, auto"):
        preflight.driver_for_node(summaries("gke")[0], "ebpf")


def test_gke_logging_agent_is_a_warning_with_the_gcloud_remedy():
    found = preflight.evaluate(facts("gke-logging"), OPTIONS)
    assert ids(found) == ["logging.gke_agent"]
    assert found[0]["objects"] == ["kube-system/fluentbit-gke"] and "--logging=NONE" in found[0]["remedy"]


def test_other_log_shippers_are_info_and_ours_are_ignored():
    shipper = {"metadata": {"name": "promtail", "namespace": "monitoring"}}
    ours = {"metadata": {"name": "fluentd-es", "namespace": "logging", "labels": {"app.kubernetes.io/part-of": "seclog-falco-efk"}}}
    found = preflight.evaluate(facts("gke", daemonsets=[shipper, ours]), OPTIONS)
    assert ids(found) == ["logging.other_agent"] and found[0]["objects"] == ["monitoring/promtail"]


def test_non_gke_clusters_skip_gke_checks_with_an_info():
    plain = copy.deepcopy(RECORDED["gke"]["nodes"])
    for node in plain:
        node["metadata"]["labels"] = {k: v for k, v in node["metadata"]["labels"].items() if "cloud.google.com" not in k}
    found = preflight.evaluate(facts("gke", nodes=[preflight.node_summary(n) for n in plain]), OPTIONS)
    assert ids(found) == ["gke.not_gke"] and found[0]["severity"] == "info"


def test_missing_rights_are_an_error_listing_each_and_the_grant_remedy():
    access = [{"verb": v, "group": g, "resource": r, "namespace": "logging" if namespaced else "",
               "allowed": r not in ("clusterrolebindings", "daemonsets")}
              for v, g, r, namespaced in preflight.REQUIRED_ACCESS]
    found = preflight.evaluate(facts("gke", access=access), OPTIONS)
    assert ids(found) == ["rbac.missing"]
    assert "create clusterrolebindings.rbac.authorization.k8s.io" in found[0]["objects"]
    assert "create daemonsets.apps in logging" in found[0]["objects"]
    assert "create daemonsets.apps in logging" in found[0]["message"]
    assert "prerequisites_grant_cluster_admin" in found[0]["remedy"]


def test_escalate_alone_is_a_warning():
    access = [{"verb": v, "group": g, "resource": r, "allowed": v != "escalate"} for v, g, r, _ns in preflight.REQUIRED_ACCESS]
    found = preflight.evaluate(facts("gke", access=access), OPTIONS)
    assert ids(found) == ["rbac.escalate"] and found[0]["severity"] == "warning"


def test_remedies_name_variables_the_efk_role_takes():
    """A remedy that names a variable the role does not take sends the user nowhere."""
    with open(os.path.join(ROOT, "roles", "efk", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        known = set(yaml.safe_load(handle)["argument_specs"]["main"]["options"])
    with open(preflight.__file__, encoding="utf-8") as handle:
        named = set(re.findall(r"\befk_[a-z_]+", handle.read()))
    assert named and named <= known, sorted(named - known)


def test_persistent_elasticsearch_needs_a_default_storage_class():
    plain = [{"metadata": {"name": "slow"}}]
    assert ids(preflight.evaluate(facts("gke", storage_classes=plain), OPTIONS)) == ["storage.no_default_class"]
    assert preflight.evaluate(facts("gke", storage_classes=plain), dict(OPTIONS, es_persistence=False)) == []
    beta = [{"metadata": {"name": "old", "annotations": {"storageclass.beta.kubernetes.io/is-default-class": "true"}}}]
    assert preflight.evaluate(facts("gke", storage_classes=beta), OPTIONS) == []


@pytest.mark.parametrize("level, expected", [("restricted", ["podsecurity.enforced"]), ("baseline", ["podsecurity.enforced"]),
                                             ("privileged", [])])
def test_pod_security_admission_levels(level, expected):
    namespace = {"metadata": {"name": "logging", "labels": {"pod-security.kubernetes.io/enforce": level}}}
    assert ids(preflight.evaluate(facts("gke", namespace=namespace), OPTIONS)) == expected


@pytest.mark.parametrize("created_by", ["falco", "seclog.falco_efk"])
def test_a_namespace_the_collection_created_is_relabelled_by_its_roles_not_refused(created_by):
    namespace = {"metadata": {"name": "falco", "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                              "annotations": {"seclog.io/created-by": created_by}}}
    assert preflight.evaluate(facts("gke", namespace=namespace), OPTIONS) == []
    namespace["metadata"]["annotations"]["seclog.io/created-by"] = "someone-else"
    found = preflight.evaluate(facts("gke", namespace=namespace), OPTIONS)
    assert ids(found) == ["podsecurity.enforced"]
    assert "kubectl label namespace falco pod-security.kubernetes.io/enforce=privileged --overwrite" in found[0]["remedy"]


def test_psps_on_old_clusters_warn():
    assert ids(preflight.evaluate(facts("gke", served=SERVED_115, psp_count=2), OPTIONS)) == ["podsecurity.psp"]
    assert preflight.evaluate(facts("gke", served=SERVED_130, psp_count=2), OPTIONS) == []


def test_old_profile_nodes_have_old_kernels_for_modern_ebpf():
    found = preflight.evaluate(facts("gke-1.8"), OPTIONS)
    assert "falco.driver.modern_ebpf" in ids(found)


def test_unknown_nodes_skip_node_checks():
    assert preflight.evaluate(facts("gke", nodes=None), OPTIONS) == []


def test_findings_sort_errors_first():
    found = preflight.evaluate(facts("notready", daemonsets=RECORDED["gke-logging"]["daemonsets"]), dict(OPTIONS, es_replicas=3))
    assert [f["severity"] for f in found] == sorted((f["severity"] for f in found), key=["error", "warning", "info"].index)


@pytest.mark.parametrize("fail_on, expected", [("error", ["elasticsearch.node_size"]),
                                               ("warning", ["elasticsearch.node_size", "nodes.not_ready"]), ("never", [])])
def test_fail_on_selects_what_fails(fail_on, expected):
    found = preflight.evaluate(facts("notready"), dict(OPTIONS, es_replicas=3))
    assert ids(preflight.failing(found, fail_on)) == expected


def test_summary_lines_carry_severity_id_and_remedy():
    found = preflight.evaluate(facts("small"), OPTIONS)
    line = preflight.summary_lines(found)[0]
    assert line.startswith("ERROR [elasticsearch.node_size] ") and " Remedy: " in line


def test_inputs_are_not_mutated():
    data = facts("notready")
    before = copy.deepcopy(data)
    preflight.evaluate(data, OPTIONS)
    assert data == before
