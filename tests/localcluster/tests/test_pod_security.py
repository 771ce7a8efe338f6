"""Tests for localcluster.pod_security: the Pod Security Standards checks, namespace policies and admission decisions.

Expected texts are the ones kubernetes/pod-security-admission v0.30.14 produces (its policy/check_*_test.go cases where
they exist).
"""
# Test names state the behaviour under test; a docstring would only repeat them.
# pylint: disable=missing-function-docstring

from __future__ import annotations

import copy

import pytest

from localcluster import pod_security as ps
from localcluster import simulation as sim

ENFORCE, WARN, AUDIT = ps.ENFORCE_LABEL, ps.WARN_LABEL, ps.AUDIT_LABEL

# A pod every level admits.
RESTRICTED_OK = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "nginx",
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "config", "configMap": {"name": "app"}}, {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "tmp", "emptyDir": {}}, {"name": "token", "projected": {"sources": []}}, {"name": "creds", "secret": {"secretName": "x"}},
                {"name": "info", "downwardAPI": {"items": []}}, {"name": "scratch", "ephemeral": {}}, {"name": "driver", "csi": {"driver": "x"}}],
}


def spec_with(**changes):
    """RESTRICTED_OK with top-level pod spec fields replaced."""
    spec = copy.deepcopy(RESTRICTED_OK)
    spec.update(changes)
    return spec


def container_with(**security):
    """RESTRICTED_OK whose container's securityContext gets ``security`` merged in."""
    spec = copy.deepcopy(RESTRICTED_OK)
    spec["containers"][0]["securityContext"].update(security)
    return spec


def texts(spec, level="restricted", version="latest", metadata=None):
    return [text for _unused, text in ps.evaluate(spec, level, version, metadata)]


def ids(spec, level="restricted", version="latest", metadata=None):
    return [check for check, _unused in ps.evaluate(spec, level, version, metadata)]


def namespace(name="logging", **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(name="p", spec=None, annotations=None):
    meta = {"name": name, "namespace": "logging"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(spec or RESTRICTED_OK)}


# ------------------------------------------------------------------------------------------------
# Levels


def test_a_restricted_pod_passes_every_level():
    for level in ps.LEVELS:
        assert not ps.evaluate(RESTRICTED_OK, level)


def test_privileged_allows_anything():
    spec = spec_with(hostNetwork=True, volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    assert ps.evaluate(spec, "privileged") == []


def test_an_unknown_level_is_a_programming_error():
    with pytest.raises(ValueError):
        ps.evaluate(RESTRICTED_OK, "strict")


def test_a_bare_pod_passes_baseline_and_fails_restricted_in_check_order():
    spec = {"containers": [{"name": "app", "image": "nginx"}]}
    assert ps.evaluate(spec, "baseline") == []
    assert ps.evaluate(spec, "restricted") == [
        ("allowPrivilegeEscalation", 'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)'),
        ("capabilities_restricted", 'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])'),
        ("runAsNonRoot", 'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)'),
        ("seccompProfile_restricted",
         'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'),
    ]


def test_check_ids_are_sorted_baseline_first_as_the_registry_orders_them():
    assert ps.CHECK_IDS == (
        "appArmorProfile", "capabilities_baseline", "hostNamespaces", "hostPathVolumes", "hostPorts", "privileged", "procMount",
        "seLinuxOptions", "seccompProfile_baseline", "sysctls", "windowsHostProcess",
        "allowPrivilegeEscalation", "capabilities_restricted", "restrictedVolumes", "runAsNonRoot", "runAsUser", "seccompProfile_restricted")


def test_fluentd_like_daemonset_violates_baseline_with_upstream_wording():
    spec = {
        "hostNetwork": True, "hostPID": True,
        "initContainers": [{"name": "sysctl", "image": "busybox", "securityContext": {"privileged": True}}],
        "containers": [{"name": "fluentd", "image": "fluentd", "securityContext": {"capabilities": {"add": ["DAC_READ_SEARCH"]}},
                        "ports": [{"containerPort": 24231, "hostPort": 8080}]}],
        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}},
                    {"name": "dockercontainers", "hostPath": {"path": "/var/lib/docker/containers"}}],
    }
    assert ps.forbidden_detail(ps.evaluate(spec, "baseline")) == (
        'non-default capabilities (container "fluentd" must not include "DAC_READ_SEARCH" in securityContext.capabilities.add), '
        "host namespaces (hostNetwork=true, hostPID=true), "
        'hostPath volumes (volumes "varlog", "dockercontainers"), '
        'hostPort (container "fluentd" uses hostPort 8080), '
        'privileged (container "sysctl" must not set securityContext.privileged=true)')
    assert ps.forbidden_reason(ps.evaluate(spec, "baseline")) == \
        "non-default capabilities, host namespaces, hostPath volumes, hostPort, privileged"


# ------------------------------------------------------------------------------------------------
# Baseline checks (they also run at restricted unless a restricted check replaces them)


def test_host_namespaces():
    spec = spec_with(hostNetwork=True, hostPID=False, hostIPC=True)
    assert texts(spec, "baseline") == ["host namespaces (hostNetwork=true, hostIPC=true)"]
    assert "host namespaces (hostNetwork=true, hostIPC=true)" in texts(spec)


def test_host_path_volumes_at_baseline_one_and_several():
    one = spec_with(volumes=[{"name": "varlog", "hostPath": {"path": "/var/log"}}])
    assert texts(one, "baseline") == ['hostPath volumes (volume "varlog")']
    several = spec_with(volumes=[{"name": "varlog", "hostPath": {"path": "/var/log"}}, {"name": "tmp", "emptyDir": {}},
                                 {"name": "dockercontainers", "hostPath": {"path": "/var/lib/docker/containers"}}])
    assert texts(several, "baseline") == ['hostPath volumes (volumes "varlog", "dockercontainers")']


def test_host_path_is_reported_as_a_restricted_volume_type_at_restricted():
    spec = spec_with(volumes=[{"name": "varlog", "hostPath": {"path": "/var/log"}}])
    assert ids(spec) == ["restrictedVolumes"]
    assert texts(spec) == ['restricted volume types (volume "varlog" uses restricted volume type "hostPath")']


def test_restricted_volume_types_several_volumes_and_types_sorted():
    spec = spec_with(volumes=[{"name": "a", "nfs": {"server": "x", "path": "/"}}, {"name": "b", "hostPath": {"path": "/"}},
                              {"name": "c", "gitRepo": {"repository": "x"}}, {"name": "d", "configMap": {"name": "x"}}])
    assert texts(spec) == ['restricted volume types (volumes "a", "b", "c" use restricted volume types "gitRepo", "hostPath", "nfs")']
    assert texts(spec, "baseline") == ['hostPath volumes (volume "b")']


def test_a_volume_without_source_is_defaulted_to_empty_dir_and_allowed():
    assert texts(spec_with(volumes=[{"name": "scratch"}])) == []


def test_host_ports_sorted_as_strings_and_pluralised():
    one = copy.deepcopy(RESTRICTED_OK)
    one["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]
    assert texts(one, "baseline") == ['hostPort (container "app" uses hostPort 8080)']
    two = copy.deepcopy(one)
    two["initContainers"] = [{"name": "init", "image": "x", "ports": [{"containerPort": 1, "hostPort": 10000}],
                              "securityContext": copy.deepcopy(one["containers"][0]["securityContext"])}]
    assert texts(two, "baseline") == ['hostPort (containers "init", "app" use hostPorts 10000, 8080)']


def test_privileged_containers():
    spec = container_with(privileged=True)
    assert texts(spec, "baseline") == ['privileged (container "app" must not set securityContext.privileged=true)']
    assert texts(container_with(privileged=False), "baseline") == []


def test_non_default_capabilities_at_baseline():
    spec = container_with(capabilities={"add": ["NET_ADMIN", "CHOWN", "DAC_READ_SEARCH"], "drop": ["ALL"]})
    assert texts(spec, "baseline") == [
        'non-default capabilities (container "app" must not include "DAC_READ_SEARCH", "NET_ADMIN" in securityContext.capabilities.add)']
    assert texts(container_with(capabilities={"add": ["CHOWN", "NET_BIND_SERVICE"]}), "baseline") == []


def test_capabilities_at_restricted_replace_the_baseline_check():
    spec = container_with(capabilities={"add": ["NET_ADMIN", "NET_BIND_SERVICE"]})
    assert ids(spec) == ["capabilities_restricted"]
    assert texts(spec) == ['unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; '
                           'container "app" must not include "NET_ADMIN" in securityContext.capabilities.add)']
    assert texts(container_with(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})) == []


def test_proc_mount():
    assert texts(container_with(procMount="Unmasked"), "baseline") == [
        'procMount (container "app" must not set securityContext.procMount to "Unmasked")']
    assert texts(container_with(procMount="Default"), "baseline") == []


def test_se_linux_options():
    spec = spec_with(securityContext=dict(RESTRICTED_OK["securityContext"], seLinuxOptions={"type": "spc_t", "user": "root"}))
    spec["containers"][0]["securityContext"]["seLinuxOptions"] = {"role": "sysadm_r", "type": "container_t"}
    assert texts(spec, "baseline") == [
        'seLinuxOptions (pod and container "app" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set; '
        "role may not be set)"]
    assert texts(container_with(seLinuxOptions={"type": "container_init_t", "level": "s0:c1"}), "baseline") == []


def test_seccomp_baseline_forbids_unconfined_but_not_unset():
    spec = spec_with(securityContext={"seccompProfile": {"type": "Unconfined"}})
    spec["containers"][0]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert texts(spec, "baseline") == [
        'seccompProfile (pod and container "app" must not set securityContext.seccompProfile.type to "Unconfined")']
    assert texts({"containers": [{"name": "app", "image": "x"}]}, "baseline") == []


def test_seccomp_restricted_pod_level_covers_containers_and_explicit_bad_values_win():
    assert texts(container_with(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})) == []
    spec = copy.deepcopy(RESTRICTED_OK)
    del spec["securityContext"]["seccompProfile"]
    spec["containers"].append({"name": "sidecar", "image": "x", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "Unconfined"}}})
    assert texts(spec) == ['seccompProfile (container "sidecar" must not set securityContext.seccompProfile.type to "Unconfined")']
    assert ids(spec) == ["seccompProfile_restricted"]


def test_seccomp_before_1_19_reads_the_alpha_annotations():
    annotations = {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                   "container.seccomp.security.alpha.kubernetes.io/app": "docker/default"}
    spec = {"containers": [{"name": "app", "image": "x"}]}
    assert texts(spec, "baseline", "v1.18", {"annotations": annotations}) == [
        'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")']
    assert texts(spec, "baseline", "v1.19", {"annotations": annotations}) == []


def test_sysctls_safe_set_grows_with_the_version():
    spec = spec_with(securityContext=dict(RESTRICTED_OK["securityContext"], sysctls=[
        {"name": "net.core.somaxconn", "value": "1"}, {"name": "net.ipv4.tcp_keepalive_time", "value": "1"},
        {"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "net.ipv4.ip_local_reserved_ports", "value": "1"}]))
    assert texts(spec, "baseline") == ["forbidden sysctls (net.core.somaxconn)"]
    assert texts(spec, "baseline", "v1.28") == ["forbidden sysctls (net.core.somaxconn, net.ipv4.tcp_keepalive_time)"]
    assert texts(spec, "baseline", "v1.26") == [
        "forbidden sysctls (net.core.somaxconn, net.ipv4.tcp_keepalive_time, net.ipv4.ip_local_reserved_ports)"]


def test_app_armor_fields_and_annotations():
    spec = spec_with(securityContext=dict(RESTRICTED_OK["securityContext"], appArmorProfile={"type": "Unconfined"}))
    assert texts(spec, "baseline") == ['forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")']
    annotations = {"container.apparmor.security.beta.kubernetes.io/app": "unconfined",
                   "container.apparmor.security.beta.kubernetes.io/b": "runtime/default",
                   "container.apparmor.security.beta.kubernetes.io/c": "localhost/x"}
    assert texts(RESTRICTED_OK, "baseline", metadata={"annotations": annotations}) == [
        'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
        '"container.apparmor.security.beta.kubernetes.io/app="unconfined"")']
    both = container_with(appArmorProfile={"type": "Unconfined"})
    assert texts(both, "baseline", metadata={"annotations": annotations}) == [
        'forbidden AppArmor profiles (container "app" and annotation must not set AppArmor profile type to '
        '"Unconfined", "container.apparmor.security.beta.kubernetes.io/app="unconfined"")']


def test_windows_host_process():
    spec = container_with(windowsOptions={"hostProcess": True})
    assert texts(spec, "baseline") == ['hostProcess (container "app" must not set securityContext.windowsOptions.hostProcess=true)']


# ------------------------------------------------------------------------------------------------
# Restricted checks


def test_allow_privilege_escalation_must_be_false_not_just_unset():
    assert texts(container_with(allowPrivilegeEscalation=True)) == [
        'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)']
    unset = copy.deepcopy(RESTRICTED_OK)
    del unset["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    assert ids(unset) == ["allowPrivilegeEscalation"]
    assert texts(container_with(allowPrivilegeEscalation=True), "baseline") == []


def test_run_as_non_root_explicit_false_and_missing():
    explicit = container_with(runAsNonRoot=False)
    assert texts(explicit) == ['runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)']
    pod_false = spec_with(securityContext={"runAsNonRoot": False, "seccompProfile": {"type": "RuntimeDefault"}})
    assert texts(pod_false) == ["runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"]
    missing = spec_with(securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    assert texts(missing) == ['runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)']
    per_container = container_with(runAsNonRoot=True)
    per_container["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
    assert texts(per_container) == []


def test_run_as_user_zero():
    spec = container_with(runAsUser=0)
    assert texts(spec) == ['runAsUser=0 (container "app" must not set runAsUser=0)']
    pod_root = spec_with(securityContext=dict(RESTRICTED_OK["securityContext"], runAsUser=0))
    assert texts(pod_root) == ["runAsUser=0 (pod must not set runAsUser=0)"]
    assert texts(container_with(runAsUser=1000)) == []
    assert texts(spec, "restricted", "v1.22") == []  # the check came with 1.23


def test_init_and_ephemeral_containers_are_checked_in_visit_order():
    spec = copy.deepcopy(RESTRICTED_OK)
    spec["initContainers"] = [{"name": "init", "image": "x", "securityContext": {"privileged": True}}]
    spec["ephemeralContainers"] = [{"name": "debug", "image": "x", "securityContext": {"privileged": True}}]
    assert texts(spec, "baseline") == ['privileged (containers "init", "debug" must not set securityContext.privileged=true)']
    assert 'allowPrivilegeEscalation != false (containers "init", "debug" must set securityContext.allowPrivilegeEscalation=false)' \
        in texts(spec)


def test_windows_pods_are_exempt_from_linux_only_restricted_checks_from_1_25():
    spec = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True}, "containers": [{"name": "app", "image": "x"}]}
    assert texts(spec) == []
    assert ids(spec, "restricted", "v1.24") == ["allowPrivilegeEscalation", "capabilities_restricted", "seccompProfile_restricted"]


def test_older_policy_versions_run_the_checks_of_their_release():
    spec = container_with(capabilities={"add": ["NET_ADMIN"]})
    assert ids(spec, "restricted", "v1.21") == ["capabilities_baseline"]  # capabilities_restricted came with 1.22
    assert ids(spec, "restricted", "v1.22") == ["capabilities_restricted"]
    bare = {"containers": [{"name": "app", "image": "x"}]}
    assert ids(bare, "restricted", "v1.7") == ["runAsNonRoot"]  # allowPrivilegeEscalation from 1.8, seccomp from 1.19
    assert ps.evaluate(bare, "restricted", "v1.99") == ps.evaluate(bare, "restricted", "latest")


def test_an_unparsable_version_is_evaluated_as_latest():
    bare = {"containers": [{"name": "app", "image": "x"}]}
    assert ps.evaluate(bare, "restricted", "1.25") == ps.evaluate(bare, "restricted")


def test_evaluate_does_not_mutate_its_arguments():
    spec = spec_with(hostNetwork=True)
    before = copy.deepcopy(spec)
    ps.evaluate(spec, "restricted")
    assert spec == before


# ------------------------------------------------------------------------------------------------
# Namespace labels -> policy


def test_unlabelled_namespaces_are_privileged():
    policy, causes = ps.policy_to_evaluate({})
    assert policy.fully_privileged() and not causes
    assert str(policy.enforce) == "privileged:latest"


def test_warn_follows_an_explicit_stricter_enforce_level_and_version():
    policy, _unused = ps.policy_to_evaluate({ENFORCE: "baseline", ps.ENFORCE_VERSION_LABEL: "v1.25"})
    assert str(policy.enforce) == "baseline:v1.25" and str(policy.warn) == "baseline:v1.25" and str(policy.audit) == "privileged:latest"
    policy, _unused = ps.policy_to_evaluate({ENFORCE: "restricted", WARN: "baseline"})
    assert str(policy.warn) == "baseline:latest"
    policy, _unused = ps.policy_to_evaluate({ENFORCE: "baseline", ps.WARN_VERSION_LABEL: "v1.24"})
    assert str(policy.warn) == "baseline:v1.24"


def test_invalid_labels_enforce_restricted_fail_open_for_warn_and_audit_and_are_reported():
    policy, causes = ps.policy_to_evaluate({ENFORCE: "strict", WARN: "loud", AUDIT: "x", ps.ENFORCE_VERSION_LABEL: "1.25"})
    assert str(policy.enforce) == "restricted:latest"
    assert policy.warn.level == "privileged" and policy.audit.level == "privileged"
    assert [c["field"] for c in causes] == ["metadata.labels[pod-security.kubernetes.io/enforce]",
                                            "metadata.labels[pod-security.kubernetes.io/enforce-version]",
                                            "metadata.labels[pod-security.kubernetes.io/audit]",
                                            "metadata.labels[pod-security.kubernetes.io/warn]"]
    assert causes[0]["message"] == 'Invalid value: "strict": must be one of privileged, baseline, restricted'
    assert causes[1]["message"] == 'Invalid value: "1.25": must be "latest" or "v1.x"'
    assert all(c["reason"] == "FieldValueInvalid" for c in causes)


@pytest.mark.parametrize("version, valid", [("latest", True), ("v1.0", True), ("v1.30", True), ("v1.05", False), ("v2.0", False),
                                            ("1.30", False), ("", False)])
def test_policy_versions(version, valid):
    assert (ps.parse_version(version) is not None) == valid


@pytest.mark.parametrize("profile, served", [("1.8", False), ("1.15", False), ("1.22", False), ("1.23", True), ("1.30", True)])
def test_pod_security_admission_is_served_from_1_23(profile, served):
    assert ps.served(profile) == served


# ------------------------------------------------------------------------------------------------
# Admission decisions


def test_a_violating_pod_is_refused_with_the_kube_apiserver_message():
    decision = ps.admit_pod(namespace(**{ENFORCE: "baseline"}), pod("fluentd", spec_with(volumes=[{"name": "varlog", "hostPath": {"path": "/"}}])))
    assert decision.forbidden == 'violates PodSecurity "baseline:latest": hostPath volumes (volume "varlog")'
    err = ps.forbidden_error("pods", "fluentd", decision.forbidden)
    assert err.code == 403 and err.reason == "Forbidden" and err.details == {"name": "fluentd", "kind": "pods"}
    assert err.message == 'pods "fluentd" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "varlog")'


def test_the_version_label_shows_in_the_message():
    decision = ps.admit_pod(namespace(**{ENFORCE: "baseline", ps.ENFORCE_VERSION_LABEL: "v1.29"}), pod(spec=spec_with(hostPID=True)))
    assert decision.forbidden == 'violates PodSecurity "baseline:v1.29": host namespaces (hostPID=true)'


def test_a_pod_passing_enforce_but_not_warn_is_admitted_with_a_warning():
    decision = ps.admit_pod(namespace(**{ENFORCE: "baseline", WARN: "restricted"}), pod(spec={"containers": [{"name": "app", "image": "x"}]}))
    assert decision.forbidden is None
    assert decision.warnings == [
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set '
        'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type '
        'to "RuntimeDefault" or "Localhost")']


def test_unlabelled_namespace_admits_anything_silently():
    decision = ps.admit_pod(namespace(), pod(spec=spec_with(hostNetwork=True)))
    assert decision.forbidden is None and decision.warnings == []


def test_an_invalid_enforce_label_enforces_restricted():
    decision = ps.admit_pod(namespace(**{ENFORCE: "strict"}), pod(spec={"containers": [{"name": "app", "image": "x"}]}))
    assert decision.forbidden.startswith('violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false')


def test_pod_updates_are_only_judged_when_images_or_containers_change():
    ns = namespace(**{ENFORCE: "baseline"})
    old = pod(spec=spec_with(hostNetwork=True))
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"] = {"a": "b"}
    assert ps.admit_pod(ns, relabelled, old).forbidden is None
    new_image = copy.deepcopy(old)
    new_image["spec"]["containers"][0]["image"] = "nginx:2"
    assert ps.admit_pod(ns, new_image, old).forbidden == 'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)'


def daemonset(spec):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "fluentd", "namespace": "logging"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": spec}}}


def test_controllers_are_never_refused_only_warned_at_the_warn_level():
    decision = ps.admit_controller(namespace(**{ENFORCE: "baseline"}), "apps", "daemonsets", daemonset(spec_with(hostNetwork=True)))
    assert decision.forbidden is None
    assert decision.warnings == ['would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)']
    quiet = ps.admit_controller(namespace(**{ENFORCE: "baseline", WARN: "privileged"}), "apps", "daemonsets",
                                daemonset(spec_with(hostNetwork=True)))
    assert quiet.warnings == []


def test_cronjob_and_pod_template_templates_are_found():
    cronjob = {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec_with(hostIPC=True)}}}}}
    decision = ps.admit_controller(namespace(**{WARN: "baseline"}), "batch", "cronjobs", cronjob)
    assert decision.warnings == ['would violate PodSecurity "baseline:latest": host namespaces (hostIPC=true)']
    template = {"template": {"spec": spec_with(hostIPC=True)}}
    assert ps.admit_controller(namespace(**{WARN: "baseline"}), "", "podtemplates", template).warnings == decision.warnings


def test_other_kinds_are_not_evaluated():
    assert ps.admit_controller(namespace(**{WARN: "restricted"}), "", "services", {"spec": {}}).warnings == []
    assert ps.pod_template("apps", "deployments", {"spec": {}}) is None


def test_namespace_labels_are_validated_on_create():
    causes, warnings = ps.admit_namespace(namespace(**{ENFORCE: "strict"}), None, [])
    assert [c["field"] for c in causes] == ["metadata.labels[pod-security.kubernetes.io/enforce]"] and warnings == []


def test_an_update_keeping_the_same_invalid_labels_is_let_through():
    old = namespace(**{ENFORCE: "strict"})
    new = copy.deepcopy(old)
    new["metadata"]["labels"]["team"] = "a"
    assert ps.admit_namespace(new, old, []) == ([], [])


def test_a_stricter_enforce_level_warns_about_existing_pods():
    pods = [pod("fluentd-b", spec_with(hostNetwork=True)), pod("fluentd-a", spec_with(hostNetwork=True)),
            pod("fluentd-c", spec_with(hostPID=True)), pod("web", container_with(privileged=True)), pod("ok")]
    causes, warnings = ps.admit_namespace(namespace(**{ENFORCE: "baseline"}), namespace(), pods)
    assert causes == []
    # Pods are grouped by their reasons alone (the details differ), named by the lexically first.
    assert warnings == ['existing pods in namespace "logging" violate the new PodSecurity enforce level "baseline:latest"',
                        "fluentd-a (and 2 other pods): host namespaces", "web: privileged"]


def test_relaxing_or_keeping_the_enforce_level_does_not_evaluate_pods():
    pods = [pod("fluentd", spec_with(hostNetwork=True))]
    assert ps.admit_namespace(namespace(**{ENFORCE: "baseline"}), namespace(**{ENFORCE: "restricted"}), pods) == ([], [])
    assert ps.admit_namespace(namespace(**{ENFORCE: "baseline", "x": "y"}), namespace(**{ENFORCE: "baseline"}), pods) == ([], [])
    assert ps.admit_namespace(namespace(**{ENFORCE: "privileged"}), namespace(**{ENFORCE: "baseline"}), pods) == ([], [])


# ------------------------------------------------------------------------------------------------
# Controllers in the simulation: refused pods are not created, and the controllers say why


T0 = 1_720_000_000.0


def run(objects, ticks=40, profile="1.30"):
    """Reconcile ``objects`` a number of times, applying creates and status updates as the server would."""
    settings = sim.SimSettings(profile=profile, ready_delay=0.0)
    now = T0
    for _unused in range(ticks):
        for action in sim.reconcile(objects, now, settings):
            bucket = objects.setdefault(action.resource, [])
            if action.op == "create":
                body = copy.deepcopy(action.body)
                body["metadata"].setdefault("uid", f"uid-{len(bucket)}")
                bucket.append(body)
            elif action.op in ("update", "update_status"):
                for index, obj in enumerate(bucket):
                    if obj["metadata"]["name"] == action.name and obj["metadata"].get("namespace", "") == action.namespace:
                        bucket[index] = dict(copy.deepcopy(action.body), metadata=dict(action.body["metadata"], uid=obj["metadata"].get("uid")))
            elif action.op == "delete":
                objects[action.resource] = [o for o in bucket if o["metadata"]["name"] != action.name]
        now += 0.5
    return objects


def cluster(workload, **labels):
    nodes, _unused = sim.node_set("gke", "1.30")
    workload = copy.deepcopy(workload)
    workload["metadata"].update(uid="owner-uid", generation=1)
    resource = workload["kind"].lower() + "s"
    return {"nodes": nodes, "namespaces": [namespace(**labels)], "events": [], resource: [workload]}


def fluentd():
    body = daemonset(spec_with(hostNetwork=True, volumes=[{"name": "varlog", "hostPath": {"path": "/var/log"}}]))
    body["spec"]["selector"] = {"matchLabels": {"app": "x"}}
    return body


def test_daemon_pods_violating_enforce_are_not_created_and_an_event_says_why():
    objects = run(cluster(fluentd(), **{ENFORCE: "baseline"}))
    assert not objects.get("pods")
    status = objects["daemonsets"][0]["status"]
    assert status["desiredNumberScheduled"] == 3 and status["numberReady"] == 0 and status["currentNumberScheduled"] == 0
    assert status["numberUnavailable"] == 3
    (event,) = objects["events"]
    assert event["reason"] == "FailedCreate" and event["type"] == "Warning" and event["source"] == {"component": "daemonset-controller"}
    assert event["involvedObject"]["kind"] == "DaemonSet" and event["involvedObject"]["name"] == "fluentd"
    assert event["message"].startswith('Error creating: pods "fluentd-')
    assert event["message"].endswith('" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
                                     'hostPath volumes (volume "varlog")')


def test_a_refused_controller_comes_to_rest():
    objects = run(cluster(fluentd(), **{ENFORCE: "baseline"}))
    assert sim.reconcile(objects, T0 + 100, sim.SimSettings(profile="1.30", ready_delay=0.0)) == []


def test_daemon_pods_are_created_in_a_privileged_namespace_and_on_old_profiles():
    assert len(run(cluster(fluentd(), **{ENFORCE: "privileged"}))["pods"]) == 3
    objects = cluster(fluentd(), **{ENFORCE: "restricted"})
    objects["nodes"], _unused = sim.node_set("gke", "1.15")
    assert len(run(objects, profile="1.15")["pods"]) == 3


def test_a_refused_replicaset_gets_a_replica_failure_condition_and_its_deployment_too():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "logging"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}}
    objects = run(cluster(deployment, **{ENFORCE: "restricted"}))
    assert not objects.get("pods")
    (rs,) = objects["replicasets"]
    failure = next(c for c in rs["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert failure["status"] == "True" and failure["reason"] == "FailedCreate"
    assert failure["message"].startswith(f'pods "{rs["metadata"]["name"]}-') and \
        'is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in failure["message"]
    deploy_failure = next(c for c in objects["deployments"][0]["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert deploy_failure["message"] == failure["message"] and deploy_failure["reason"] == "FailedCreate"
    assert not objects["deployments"][0]["status"].get("readyReplicas")
    (event,) = objects["events"]
    assert event["source"] == {"component": "replicaset-controller"} and event["message"] == "Error creating: " + failure["message"]


def test_the_replica_failure_goes_once_the_namespace_allows_the_pods():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "logging"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}}
    objects = run(cluster(deployment, **{ENFORCE: "restricted"}))
    objects["namespaces"] = [namespace()]
    objects = run(objects)
    assert len(objects["pods"]) == 1
    assert not any(c["type"] == "ReplicaFailure" for c in objects["replicasets"][0]["status"].get("conditions") or ())
    assert not any(c["type"] == "ReplicaFailure" for c in objects["deployments"][0]["status"].get("conditions") or ())


def test_a_refused_statefulset_pod_is_reported_as_the_statefulset_controller_words_it():
    statefulset = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "es", "namespace": "logging"},
                   "spec": {"replicas": 2, "serviceName": "es", "selector": {"matchLabels": {"app": "es"}},
                            "template": {"metadata": {"labels": {"app": "es"}},
                                         "spec": {"initContainers": [{"name": "sysctl", "image": "busybox", "securityContext": {"privileged": True}}],
                                                  "containers": [{"name": "es", "image": "es"}]}}}}
    objects = run(cluster(statefulset, **{ENFORCE: "baseline"}))
    assert not objects.get("pods")
    (event,) = objects["events"]
    assert event["source"] == {"component": "statefulset-controller"}
    assert event["message"] == ('create Pod es-0 in StatefulSet es failed error: pods "es-0" is forbidden: violates PodSecurity '
                                '"baseline:latest": privileged (container "sysctl" must not set securityContext.privileged=true)')
