"""The Pod Security level rendered objects need: each check, worded as the admission controller words it."""

from __future__ import annotations

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils.pod_security import (
    baseline_violations, namespace_level, pod_level, restricted_violations, summary)

RESTRICTED_CONTAINER = {"name": "app",
                        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}}
RESTRICTED_POD = {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [RESTRICTED_CONTAINER],
                  "volumes": [{"name": "config", "configMap": {"name": "c"}}, {"name": "data", "persistentVolumeClaim": {"claimName": "d"}}]}


def _workload(kind, name, spec):
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": {"template": {"spec": spec}}}


def test_a_hardened_pod_passes_restricted():
    assert pod_level(RESTRICTED_POD) == ("restricted", [])


@pytest.mark.parametrize("change, expected", [
    ({"hostPID": True, "hostNetwork": True}, "host namespaces (hostNetwork=true, hostPID=true)"),
    ({"volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}]}, 'hostPath volumes (volume "varlog")'),
    ({"initContainers": [{"name": "sysctl", "securityContext": {"privileged": True}}]},
     'privileged (container "sysctl" must not set securityContext.privileged=true)'),
    ({"containers": [{"name": "fluentd", "securityContext": {"capabilities": {"add": ["DAC_READ_SEARCH", "CHOWN"]}}}]},
     'non-default capabilities (container "fluentd" must not include "DAC_READ_SEARCH" in securityContext.capabilities.add)'),
    ({"containers": [{"name": "web", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}, 'hostPort (container "web" uses hostPort 8080)'),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
     'seccompProfile ("pod" must not set securityContext.seccompProfile.type to "Unconfined")'),
])
def test_what_baseline_forbids_is_named(change, expected):
    spec = dict(RESTRICTED_POD, **change)
    assert expected in baseline_violations(spec)
    assert pod_level(spec)[0] == "privileged"


@pytest.mark.parametrize("context, expected", [
    ({"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
     'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)'),
    ({"allowPrivilegeEscalation": False, "runAsNonRoot": True},
     'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])'),
    ({"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
     'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)'),
    ({"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 0, "capabilities": {"drop": ["ALL"]}},
     'runAsUser=0 (pod or container "app" must not set runAsUser=0)'),
])
def test_what_restricted_asks_for_is_named(context, expected):
    spec = dict(RESTRICTED_POD, containers=[{"name": "app", "securityContext": context}])
    assert expected in restricted_violations(spec)
    assert pod_level(spec) == ("baseline", restricted_violations(spec))


def test_restricted_needs_a_seccomp_profile_and_allowed_volume_types():
    spec = dict(RESTRICTED_POD, securityContext={}, volumes=[{"name": "nfs", "nfs": {"server": "x", "path": "/"}}])
    violations = restricted_violations(spec)
    assert 'restricted volume types (volume "nfs")' in violations
    assert any(v.startswith('seccompProfile (pod or container "app" must set') for v in violations)


def test_pod_level_settings_count_for_every_container():
    spec = dict(RESTRICTED_POD, securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                containers=[{"name": "app", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}])
    assert pod_level(spec) == ("restricted", [])


def test_the_namespace_takes_the_level_of_its_most_demanding_pod_and_says_which():
    fluentd = dict(RESTRICTED_POD, volumes=[{"name": "varlog", "hostPath": {"path": "/var/log"}}])
    kibana = dict(RESTRICTED_POD, containers=[{"name": "kibana", "securityContext": {"runAsNonRoot": True}}])
    objects = [{"kind": "ConfigMap", "metadata": {"name": "c"}}, _workload("Deployment", "kibana", kibana),
               _workload("DaemonSet", "fluentd", fluentd), _workload("StatefulSet", "es", RESTRICTED_POD)]
    report = namespace_level(objects)
    assert report["level"] == "privileged"
    assert [need["object"] for need in report["needs"]] == ["DaemonSet fluentd", "Deployment kibana"]
    assert summary(report)[0] == 'DaemonSet fluentd needs privileged: hostPath volumes (volume "varlog").'


def test_a_cronjob_is_read_through_its_job_template_and_no_pods_means_restricted():
    cronjob = {"kind": "CronJob", "metadata": {"name": "c"},
               "spec": {"jobTemplate": {"spec": {"template": {"spec": dict(RESTRICTED_POD, hostIPC=True)}}}}}
    assert namespace_level([cronjob])["level"] == "privileged"
    assert namespace_level([]) == {"level": "restricted", "needs": []}
