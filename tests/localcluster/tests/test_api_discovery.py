"""Discovery per profile: what each Kubernetes release served, and the 404 for what it did not."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

GIT_VERSION_PREFIX = {"1.8": "v1.8.", "1.15": "v1.15.", "1.30": "v1.30."}


def test_version_matches_the_profile(any_profile):
    info = client.VersionApi(any_profile.api_client()).get_code()
    assert info.git_version.startswith(GIT_VERSION_PREFIX[any_profile.cluster.profile])
    assert info.major == "1"


def test_core_v1_lists_resources_with_kind_namespaced_verbs_and_short_names(any_profile):
    code, body, _unused = any_profile.http("GET", "/api/v1")
    assert code == 200 and body["kind"] == "APIResourceList" and body["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in body["resources"]}
    assert by_name["namespaces"]["namespaced"] is False and "ns" in by_name["namespaces"]["shortNames"]
    assert by_name["configmaps"]["kind"] == "ConfigMap" and by_name["configmaps"]["namespaced"] is True
    assert set(by_name["pods"]["verbs"]) >= {"create", "delete", "get", "list", "patch", "update", "watch"}
    assert "services/proxy" in by_name


SERVED = {
    "1.8": {"apps/v1": False, "apps/v1beta2": True, "extensions/v1beta1": True, "rbac.authorization.k8s.io/v1": True},
    "1.15": {"apps/v1": True, "extensions/v1beta1": True, "policy/v1beta1": True},
    "1.30": {"apps/v1": True, "extensions/v1beta1": False, "batch/v1beta1": False, "policy/v1beta1": False,
             "authentication.k8s.io/v1": True},
}


def test_group_versions_served_per_profile(any_profile):
    code, groups, _unused = any_profile.http("GET", "/apis")
    listed = {v["groupVersion"] for g in groups["groups"] for v in g["versions"]}
    for group_version, served in SERVED[any_profile.cluster.profile].items():
        code, body, _unused = any_profile.http("GET", f"/apis/{group_version}")
        assert (code == 200) is served, group_version
        assert (group_version in listed) is served, group_version
        if not served:
            assert body["reason"] == "NotFound" and body["message"] == "the server could not find the requested resource"


@pytest.mark.parametrize("localcluster", [("1.8", "gke")], indirect=True)
def test_requests_to_unserved_versions_get_the_real_404(localcluster):
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    code, body, _unused = localcluster.http("POST", "/apis/apps/v1/namespaces/default/deployments", body)
    assert code == 404 and body["message"] == "the server could not find the requested resource"


def test_dynamic_client_finds_kinds_by_api_version(any_profile):
    dyn = DynamicClient(any_profile.api_client())
    profile = any_profile.cluster.profile
    daemonsets = dyn.resources.get(api_version="extensions/v1beta1" if profile != "1.30" else "apps/v1", kind="DaemonSet")
    assert daemonsets.namespaced and daemonsets.short_names == ["ds"]
    if profile == "1.8":
        with pytest.raises(ResourceNotFoundError):
            dyn.resources.get(api_version="apps/v1", kind="Deployment")


def test_openapi_v2_is_served_as_json_with_kind_markers(localcluster):
    code, body, _unused = localcluster.http("GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert code == 200 and body["swagger"] == "2.0"
    assert any(d.get("x-kubernetes-group-version-kind", [{}])[0].get("kind") == "Deployment" for d in body["definitions"].values())
