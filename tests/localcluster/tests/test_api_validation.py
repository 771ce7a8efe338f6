"""Validation our playbooks can trip on, with kube-apiserver's status codes and messages."""

from __future__ import annotations

from localcluster.pytest_plugin import workload


def test_apps_v1_deployment_without_selector_is_422_required(localcluster):
    body = workload("Deployment", "nosel", {"app": "a"}, selector=None)
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments", body)
    assert code == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Deployment.apps "nosel" is invalid: [spec.selector: Required value, ')
    assert {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"} in body["details"]["causes"]


def test_apps_v1_daemonset_without_selector_is_the_error_falco_users_hit(localcluster):
    # A nil selector selects nothing, so the real server reports the mismatch, not a missing field.
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/daemonsets", workload("DaemonSet", "falco", selector=None))
    assert code == 422
    assert body["message"] == ('DaemonSet.apps "falco" is invalid: spec.template.metadata.labels: Invalid value: '
                               'map[string]string{"app":"falco"}: `selector` does not match template `labels`')


def test_selector_not_matching_template_labels_is_422(localcluster):
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments",
                                            workload("Deployment", "mismatch", {"app": "y"}, selector={"matchLabels": {"app": "x"}}))
    assert code == 422
    assert "`selector` does not match template `labels`" in body["message"]


def test_changing_an_immutable_selector_is_422(localcluster):
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert localcluster.http("POST", path, workload("Deployment", "immut", {"app": "a", "v": "1"}, selector={"matchLabels": {"app": "a"}}))[0] == 201
    code, body, _unused = localcluster.http("PATCH", path + "/immut", {"spec": {"selector": {"matchLabels": {"app": "a", "v": "1"}}}},
                                            content_type="application/merge-patch+json")
    assert code == 422 and "field is immutable" in body["message"]


def test_strict_field_validation_rejects_unknown_fields(localcluster):
    body = workload("Deployment", "strict", {"app": "s"})
    body["spec"]["bogus"] = True
    code, status, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "spec.bogus"' in status["message"]


def test_warn_field_validation_accepts_with_a_warning_and_drops_the_field(localcluster):
    body = workload("Deployment", "warn", {"app": "w"})
    body["spec"]["bogus"] = True
    code, created, headers = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn", body)
    assert code == 201 and "bogus" not in created["spec"]
    assert 'unknown field \\"spec.bogus\\"' in headers.get("Warning", "") or 'unknown field "spec.bogus"' in headers.get("Warning", "")


def test_api_version_in_body_must_match_the_url(localcluster):
    body = workload("Deployment", "wrongver", {"app": "v"})
    body["apiVersion"] = "apps/v1beta2"
    code, status, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments", body)
    assert code == 400 and "does not match the expected API version" in status["message"]
