"""Authentication and RBAC over HTTPS: tokens, 401/403 bodies, bindings taking effect, reviews."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException


def test_bad_token_is_401(localcluster):
    code, body, _unused = localcluster.http("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
    assert code == 401 and body["reason"] == "Unauthorized" and body["message"] == "Unauthorized"


def test_restricted_user_gets_the_real_403(localcluster):
    core = client.CoreV1Api(localcluster.api_client(restricted=True))
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("logging")
    assert err.value.status == 403
    assert ('configmaps is forbidden: User \\"restricted\\" cannot list resource \\"configmaps\\" in API group \\"\\" '
            'in the namespace \\"logging\\"') in err.value.body


def test_a_binding_grants_what_its_role_allows_and_no_more(localcluster):
    rbac_api = client.RbacAuthorizationV1Api(localcluster.api_client())
    rbac_api.create_cluster_role({"metadata": {"name": "cm-reader"},
                                  "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]})
    rbac_api.create_namespaced_role_binding("default", {
        "metadata": {"name": "restricted-cm"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cm-reader"},
        "subjects": [{"kind": "User", "name": "restricted", "apiGroup": "rbac.authorization.k8s.io"}]})
    assert localcluster.http("GET", "/api/v1/namespaces/default/configmaps", restricted=True)[0] == 200
    assert localcluster.http("GET", "/api/v1/namespaces/kube-system/configmaps", restricted=True)[0] == 403
    assert localcluster.http("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "x"}}, restricted=True)[0] == 403


def test_self_subject_access_review_answers_for_the_caller(localcluster):
    api = client.AuthorizationV1Api(localcluster.api_client(restricted=True))
    review = api.create_self_subject_access_review({"spec": {"resourceAttributes": {
        "verb": "create", "group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings"}}})
    assert review.status.allowed is False
    admin = client.AuthorizationV1Api(localcluster.api_client())
    review = admin.create_self_subject_access_review({"spec": {"resourceAttributes": {
        "verb": "create", "group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings"}}})
    assert review.status.allowed is True


def test_self_subject_rules_review_lists_rules(localcluster):
    api = client.AuthorizationV1Api(localcluster.api_client(restricted=True))
    review = api.create_self_subject_rules_review({"spec": {"namespace": "default"}})
    verbs = {v for rule in review.status.resource_rules for v in rule.verbs}
    assert "create" in verbs  # system:basic-user may create access reviews
    assert review.status.incomplete is False


def test_self_subject_review_says_who_i_am(localcluster):
    code, body, _unused = localcluster.http("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, restricted=True)
    assert code == 201 and body["status"]["userInfo"]["username"] == "restricted"
    assert "system:authenticated" in body["status"]["userInfo"]["groups"]


def test_test_hooks_refuse_non_admins(localcluster):
    assert localcluster.http("GET", "/_localcluster/requests", restricted=True)[0] == 403
