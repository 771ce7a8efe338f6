"""Validation our playbooks can trip on, with kube-apiserver's status codes and messages."""

from __future__ import annotations


def workload(kind: str, name: str, selector: dict | None, labels: dict) -> dict:
    spec = {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    if selector is not None:
        spec["selector"] = selector
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def test_apps_v1_deployment_without_selector_is_422_required(localcluster):
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments", workload("Deployment", "nosel", None, {"app": "a"}))
    assert code == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Deployment.apps "nosel" is invalid: [spec.selector: Required value, ')
    assert {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"} in body["details"]["causes"]


def test_apps_v1_daemonset_without_selector_is_the_error_falco_users_hit(localcluster):
    # A nil selector selects nothing, so the real server reports the mismatch, not a missing field.
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/daemonsets", workload("DaemonSet", "falco", None, {"app": "falco"}))
    assert code == 422
    assert body["message"] == ('DaemonSet.apps "falco" is invalid: spec.template.metadata.labels: Invalid value: '
                               'map[string]string{"app":"falco"}: `selector` does not match template `labels`')


def test_selector_not_matching_template_labels_is_422(localcluster):
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments",
                                            workload("Deployment", "mismatch", {"matchLabels": {"app": "x"}}, {"app": "y"}))
    assert code == 422
    assert "`selector` does not match template `labels`" in body["message"]


def test_changing_an_immutable_selector_is_422(localcluster):
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert localcluster.http("POST", path, workload("Deployment", "immut", {"matchLabels": {"app": "a"}}, {"app": "a", "v": "1"}))[0] == 201
    code, body, _unused = localcluster.http("PATCH", path + "/immut", {"spec": {"selector": {"matchLabels": {"app": "a", "v": "1"}}}},
                                            content_type="application/merge-patch+json")
    assert code == 422 and "field is immutable" in body["message"]


def test_strict_field_validation_rejects_unknown_fields(localcluster):
    body = workload("Deployment", "strict", {"matchLabels": {"app": "s"}}, {"app": "s"})
    body["spec"]["bogus"] = True
    code, status, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "spec.bogus"' in status["message"]


def test_warn_field_validation_accepts_with_a_warning_and_drops_the_field(localcluster):
    body = workload("Deployment", "warn", {"matchLabels": {"app": "w"}}, {"app": "w"})
    body["spec"]["bogus"] = True
    code, created, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn", body)
    assert code == 201 and "bogus" not in created["spec"]
    assert 'unknown field \\"spec.bogus\\"' in headers.get("Warning", "") or 'unknown field "spec.bogus"' in headers.get("Warning", "")


def test_api_version_in_body_must_match_the_url(localcluster):
    body = workload("Deployment", "wrongver", {"matchLabels": {"app": "v"}}, {"app": "v"})
    body["apiVersion"] = "apps/v1beta2"
    code, status, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments", body)
    assert code == 400 and "does not match the expected API version" in status["message"]
