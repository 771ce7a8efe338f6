"""Pod Security Admission seen through the API: refused pods, warned workloads whose pods never come, old profiles."""
# Test names state the behaviour under test; a docstring would only repeat them.
# pylint: disable=missing-function-docstring

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localcluster.pytest_plugin import wait_for, workload

ENFORCE = "pod-security.kubernetes.io/enforce"
WARN = "pod-security.kubernetes.io/warn"

FLUENTD_VIOLATIONS = 'host namespaces (hostNetwork=true), hostPath volumes (volume "varlog")'


def make_namespace(localcluster, name, **labels):
    code, body, _unused = localcluster.http("POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})
    assert code == 201, body


def fluentd_spec():
    return {"hostNetwork": True, "containers": [{"name": "fluentd", "image": "fluentd:v1.16",
                                                 "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}]}],
            "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}]}


def fluentd_pod(name="fluentd"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": fluentd_spec()}


def fluentd_daemonset(name="fluentd"):
    body = workload("DaemonSet", name)
    body["spec"]["template"]["spec"] = fluentd_spec()
    return body


def warnings_of(headers):
    return headers.get("Warning", "")


def test_a_pod_violating_the_enforce_level_is_refused_as_kube_apiserver_words_it(localcluster):
    make_namespace(localcluster, "psa-baseline", **{ENFORCE: "baseline"})
    code, body, _unused = localcluster.http("POST", "/api/v1/namespaces/psa-baseline/pods", fluentd_pod())
    assert code == 403
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": f'pods "fluentd" is forbidden: violates PodSecurity "baseline:latest": {FLUENTD_VIOLATIONS}',
                    "reason": "Forbidden", "details": {"name": "fluentd", "kind": "pods"}, "code": 403}
    core = client.CoreV1Api(localcluster.api_client())
    assert not core.list_namespaced_pod("psa-baseline").items


def test_the_python_client_sees_a_403_and_dry_run_is_refused_too(localcluster):
    make_namespace(localcluster, "psa-client", **{ENFORCE: "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"})
    core = client.CoreV1Api(localcluster.api_client())
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod("psa-client", fluentd_pod(), dry_run="All")
    assert caught.value.status == 403
    message = json.loads(caught.value.body)["message"]
    assert message.startswith('pods "fluentd" is forbidden: violates PodSecurity "restricted:v1.30": host namespaces (hostNetwork=true), '
                              'allowPrivilegeEscalation != false')
    assert 'restricted volume types (volume "varlog" uses restricted volume type "hostPath")' in message


def test_a_compliant_pod_is_created_in_a_restricted_namespace(localcluster):
    make_namespace(localcluster, "psa-compliant", **{ENFORCE: "restricted"})
    pod = {"metadata": {"name": "ok"}, "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "nginx",
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}
    code, _body, headers = localcluster.http("POST", "/api/v1/namespaces/psa-compliant/pods", pod)
    assert code == 201 and "Warning" not in headers


def test_a_daemonset_is_accepted_with_a_warning_and_never_becomes_ready(localcluster):
    make_namespace(localcluster, "psa-logging", **{ENFORCE: "baseline"})
    code, _body, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/psa-logging/daemonsets", fluentd_daemonset())
    assert code == 201
    assert warnings_of(headers) == (
        '299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostNetwork=true), '
        'hostPath volumes (volume \\"varlog\\")"')
    apps = client.AppsV1Api(localcluster.api_client())
    core = client.CoreV1Api(localcluster.api_client())
    events = wait_for(lambda: [e for e in core.list_namespaced_event("psa-logging").items if e.reason == "FailedCreate"])
    assert events[0].involved_object.kind == "DaemonSet" and events[0].source.component == "daemonset-controller"
    assert events[0].message.startswith('Error creating: pods "fluentd-')
    assert events[0].message.endswith(f'" is forbidden: violates PodSecurity "baseline:latest": {FLUENTD_VIOLATIONS}')
    time.sleep(1.0)  # several controller syncs and well past the ready delay
    status = apps.read_namespaced_daemon_set("fluentd", "psa-logging").status
    assert status.desired_number_scheduled == 3 and not status.number_ready and not status.current_number_scheduled
    assert status.number_unavailable == 3
    assert not core.list_namespaced_pod("psa-logging").items


def test_the_same_daemonset_runs_in_an_unlabelled_namespace_without_warnings(localcluster):
    make_namespace(localcluster, "psa-none")
    code, _body, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/psa-none/daemonsets", fluentd_daemonset())
    assert code == 201 and "Warning" not in headers
    apps = client.AppsV1Api(localcluster.api_client())
    wait_for(lambda: apps.read_namespaced_daemon_set("fluentd", "psa-none").status.number_ready == 3)
    code, _body, headers = localcluster.http("POST", "/api/v1/namespaces/psa-none/pods", fluentd_pod("bare"))
    assert code == 201 and "Warning" not in headers


def test_a_privileged_namespace_admits_the_daemonset_silently(localcluster):
    make_namespace(localcluster, "psa-privileged", **{ENFORCE: "privileged", WARN: "privileged"})
    code, _body, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/psa-privileged/daemonsets", fluentd_daemonset())
    assert code == 201 and "Warning" not in headers
    apps = client.AppsV1Api(localcluster.api_client())
    wait_for(lambda: apps.read_namespaced_daemon_set("fluentd", "psa-privileged").status.number_ready == 3)


def test_a_deployment_in_a_restricted_namespace_reports_the_replica_failure(localcluster):
    make_namespace(localcluster, "psa-restricted", **{ENFORCE: "restricted"})
    code, _body, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/psa-restricted/deployments", workload("Deployment", "web"))
    assert code == 201 and warnings_of(headers).startswith('299 - "would violate PodSecurity \\"restricted:latest\\": ')
    apps = client.AppsV1Api(localcluster.api_client())

    def failure():
        conditions = apps.read_namespaced_deployment("web", "psa-restricted").status.conditions or []
        return next((c for c in conditions if c.type == "ReplicaFailure"), None)

    condition = wait_for(failure)
    assert condition.status == "True" and condition.reason == "FailedCreate"
    assert 'is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "main" must set ' \
           'securityContext.allowPrivilegeEscalation=false)' in condition.message
    assert not apps.read_namespaced_deployment("web", "psa-restricted").status.ready_replicas


def test_kubectl_prints_the_warning(localcluster):
    make_namespace(localcluster, "psa-kubectl", **{ENFORCE: "baseline"})
    manifest = dict(fluentd_daemonset("fluentd-kubectl"), metadata={"name": "fluentd-kubectl", "namespace": "psa-kubectl"})
    result = localcluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert f'Warning: would violate PodSecurity "baseline:latest": {FLUENTD_VIOLATIONS}' in result.stderr


def test_invalid_namespace_labels_are_refused(localcluster):
    code, body, _unused = localcluster.http("POST", "/api/v1/namespaces", {"metadata": {"name": "psa-invalid", "labels": {ENFORCE: "strict"}}})
    assert code == 422 and body["reason"] == "Invalid"
    assert body["message"] == ('Namespace "psa-invalid" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
                               'Invalid value: "strict": must be one of privileged, baseline, restricted')


def test_labelling_a_namespace_stricter_warns_about_its_pods(localcluster):
    make_namespace(localcluster, "psa-relabel")
    assert localcluster.http("POST", "/api/v1/namespaces/psa-relabel/pods", fluentd_pod())[0] == 201
    code, _body, headers = localcluster.http("PATCH", "/api/v1/namespaces/psa-relabel", {"metadata": {"labels": {ENFORCE: "baseline"}}},
                                             content_type="application/merge-patch+json")
    assert code == 200
    assert warnings_of(headers) == (
        '299 - "existing pods in namespace \\"psa-relabel\\" violate the new PodSecurity enforce level \\"baseline:latest\\"", '
        '299 - "fluentd: host namespaces, hostPath volumes"')


@pytest.mark.parametrize("localcluster", [("1.15", "gke")], indirect=True)
def test_the_1_15_profile_ignores_the_labels(localcluster):
    make_namespace(localcluster, "psa-old", **{ENFORCE: "restricted"})
    code, _body, headers = localcluster.http("POST", "/api/v1/namespaces/psa-old/pods", fluentd_pod())
    assert code == 201 and "Warning" not in headers
    code, _body, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/psa-old/daemonsets", fluentd_daemonset())
    assert code == 201 and "Warning" not in headers
    apps = client.AppsV1Api(localcluster.api_client())
    wait_for(lambda: apps.read_namespaced_daemon_set("fluentd", "psa-old").status.number_ready == 3)
