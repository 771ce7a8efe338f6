"""The OpenAPI documents kubectl reads for get/apply/diff/delete/explain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from localcluster import openapi, resources

PROFILES = resources.PROFILES


def _refs(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_refs(item))
    return found


def _gvk_index(defs: dict[str, Any]) -> dict[tuple[str, str, str], list[str]]:
    index: dict[tuple[str, str, str], list[str]] = {}
    for name, body in defs.items():
        for gvk in body.get("x-kubernetes-group-version-kind", ()):
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), []).append(name)
    return index


def _v3_docs():
    index = openapi.openapi_v3_index("1.30")
    for key in index["paths"]:
        parts = key.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        yield key, openapi.openapi_v3_group("1.30", group, version)


# --- v2 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_v2_is_swagger_2_titled_with_the_release(profile):
    doc = openapi.openapi_v2(profile)
    assert doc["swagger"] == "2.0"
    assert doc["info"] == {"title": "Kubernetes", "version": resources.version_body(profile)["gitVersion"]}


@pytest.mark.parametrize("profile", PROFILES)
def test_v2_refs_all_resolve_to_definitions(profile):
    doc = openapi.openapi_v2(profile)
    refs = set(_refs(doc))
    assert refs
    assert all(ref.startswith("#/definitions/") for ref in refs)
    missing = {ref for ref in refs if ref[len("#/definitions/"):] not in doc["definitions"]}
    assert not missing


@pytest.mark.parametrize("profile", PROFILES)
def test_v2_marks_every_served_kind_and_its_list_exactly_once(profile):
    index = _gvk_index(openapi.openapi_v2(profile)["definitions"])
    for res in resources.served(profile):
        assert len(index.get((res.group, res.version, res.kind), [])) == 1, res
        if "list" in res.verbs:
            assert len(index.get((res.group, res.version, res.list_kind), [])) == 1, res


@pytest.mark.parametrize("profile", PROFILES)
def test_v2_has_no_gvk_marked_by_two_definitions(profile):
    # kubectl's and the apiserver's type converters refuse documents with duplicate GVKs.
    index = _gvk_index(openapi.openapi_v2(profile)["definitions"])
    assert [gvk for gvk, names in index.items() if len(names) > 1] == []


@pytest.mark.parametrize("profile,name,gvk", [
    ("1.15", "io.k8s.api.extensions.v1beta1.Deployment", ("extensions", "v1beta1", "Deployment")),
    ("1.8", "io.k8s.api.extensions.v1beta1.DaemonSet", ("extensions", "v1beta1", "DaemonSet")),
    ("1.8", "io.k8s.api.apps.v1beta2.Deployment", ("apps", "v1beta2", "Deployment")),
    ("1.8", "io.k8s.api.apps.v1beta1.StatefulSet", ("apps", "v1beta1", "StatefulSet")),
    ("1.15", "io.k8s.api.apps.v1.Deployment", ("apps", "v1", "Deployment")),
    ("1.15", "io.k8s.api.batch.v1beta1.CronJob", ("batch", "v1beta1", "CronJob")),
    ("1.15", "io.k8s.api.policy.v1beta1.PodSecurityPolicy", ("policy", "v1beta1", "PodSecurityPolicy")),
    ("1.15", "io.k8s.api.extensions.v1beta1.PodSecurityPolicy", ("extensions", "v1beta1", "PodSecurityPolicy")),
    ("1.15", "io.k8s.api.networking.v1beta1.Ingress", ("networking.k8s.io", "v1beta1", "Ingress")),
    ("1.15", "io.k8s.api.rbac.v1beta1.ClusterRole", ("rbac.authorization.k8s.io", "v1beta1", "ClusterRole")),
    ("1.15", "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinition",
     ("apiextensions.k8s.io", "v1beta1", "CustomResourceDefinition")),
    ("1.15", "io.k8s.api.extensions.v1beta1.Scale", ("extensions", "v1beta1", "Scale")),
    ("1.8", "io.k8s.api.policy.v1beta1.Eviction", ("policy", "v1beta1", "Eviction")),
    ("1.30", "io.k8s.api.autoscaling.v1.Scale", ("autoscaling", "v1", "Scale")),
    ("1.30", "io.k8s.api.core.v1.Pod", ("", "v1", "Pod")),
])
def test_v2_names_definitions_the_way_kube_apiserver_did(profile, name, gvk):
    body = openapi.openapi_v2(profile)["definitions"][name]
    assert body["x-kubernetes-group-version-kind"] == [{"group": gvk[0], "kind": gvk[2], "version": gvk[1]}]


def test_v2_old_group_version_lists_hold_their_own_items():
    defs = openapi.openapi_v2("1.15")["definitions"]
    assert defs["io.k8s.api.extensions.v1beta1.DeploymentList"]["properties"]["items"]["items"] == {
        "$ref": "#/definitions/io.k8s.api.extensions.v1beta1.Deployment"}


@pytest.mark.parametrize("profile,name", [
    ("1.30", "io.k8s.api.apps.v1beta2.Deployment"), ("1.30", "io.k8s.api.extensions.v1beta1.Deployment"),
    ("1.30", "io.k8s.api.policy.v1beta1.PodSecurityPolicy"), ("1.8", "io.k8s.api.apps.v1.Deployment"),
    ("1.8", "io.k8s.api.networking.v1.Ingress"), ("1.8", "io.k8s.api.scheduling.v1.PriorityClass"),
])
def test_v2_leaves_out_kinds_the_release_did_not_serve(profile, name):
    assert name not in openapi.openapi_v2(profile)["definitions"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("definition,field,merge_key", [
    ("io.k8s.api.core.v1.PodSpec", "containers", "name"),
    ("io.k8s.api.core.v1.PodSpec", "volumes", "name"),
    ("io.k8s.api.core.v1.PodSpec", "initContainers", "name"),
    ("io.k8s.api.core.v1.PodSpec", "tolerations", None),
    ("io.k8s.api.core.v1.Container", "env", "name"),
    ("io.k8s.api.core.v1.Container", "ports", "containerPort"),
    ("io.k8s.api.core.v1.Container", "volumeMounts", "mountPath"),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", "port"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "uid"),
])
def test_v2_keeps_strategic_merge_patch_keys(profile, definition, field, merge_key):
    prop = openapi.openapi_v2(profile)["definitions"][definition]["properties"][field]
    assert prop.get("x-kubernetes-patch-merge-key") == merge_key
    if merge_key:
        assert prop["x-kubernetes-patch-strategy"].startswith("merge")


def test_v2_keeps_list_map_keys_for_server_side_apply():
    prop = openapi.openapi_v2("1.30")["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert prop["x-kubernetes-list-type"] == "map" and prop["x-kubernetes-list-map-keys"] == ["name"]


def test_v2_keeps_retain_keys_on_deployment_strategy():
    prop = openapi.openapi_v2("1.30")["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert prop["x-kubernetes-patch-strategy"] == "retainKeys"


@pytest.mark.parametrize("profile", PROFILES)
def test_v2_schemas_are_openapi_shaped(profile):
    text = openapi.openapi_v2_json(profile).decode()
    assert '"null"' not in text and "$defs" not in text and '"additionalProperties":false' not in text
    defs = json.loads(text)["definitions"]
    assert "enum" not in defs["io.k8s.api.core.v1.Pod"]["properties"]["apiVersion"]
    assert defs["io.k8s.api.core.v1.Pod"]["type"] == "object"
    assert defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"
    assert '"oneOf":[' not in text


def test_v2_keeps_properties_named_like_schema_keywords():
    props = openapi.openapi_v2("1.30")["definitions"][
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"]["properties"]
    assert {"$ref", "enum", "type", "additionalProperties"} <= set(props)


@pytest.mark.parametrize("profile,path,methods", [
    ("1.30", "/apis/apps/v1/namespaces/{namespace}/deployments", {"get", "post", "delete"}),
    ("1.30", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", {"get", "put", "patch", "delete"}),
    ("1.30", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status", {"get", "put", "patch"}),
    ("1.30", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", {"get", "put", "patch"}),
    ("1.30", "/apis/apps/v1/deployments", {"get"}),
    ("1.30", "/api/v1/namespaces", {"get", "post"}),
    ("1.30", "/api/v1/namespaces/{name}", {"get", "put", "patch", "delete"}),
    ("1.30", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {"post"}),
    ("1.15", "/apis/extensions/v1beta1/namespaces/{namespace}/deployments/{name}", {"get", "put", "patch", "delete"}),
    ("1.8", "/apis/apps/v1beta2/namespaces/{namespace}/deployments", {"get", "post", "delete"}),
    ("1.15", "/apis/policy/v1beta1/podsecuritypolicies/{name}", {"get", "put", "patch", "delete"}),
])
def test_v2_paths_offer_the_served_verbs(profile, path, methods):
    item = openapi.openapi_v2(profile)["paths"][path]
    assert set(item) - {"parameters"} == methods


@pytest.mark.parametrize("profile,path", [
    ("1.8", "/apis/apps/v1/namespaces/{namespace}/deployments"),
    ("1.30", "/apis/extensions/v1beta1/namespaces/{namespace}/deployments"),
    ("1.30", "/apis/policy/v1beta1/podsecuritypolicies"),
    ("1.30", "/apis/batch/v1beta1/namespaces/{namespace}/cronjobs"),
])
def test_v2_has_no_paths_for_unserved_resources(profile, path):
    assert path not in openapi.openapi_v2(profile)["paths"]


@pytest.mark.parametrize("method,action", [("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete")])
def test_v2_item_operations_carry_action_and_gvk(method, action):
    op = openapi.openapi_v2("1.30")["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"][method]
    assert op["x-kubernetes-action"] == action
    assert op["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert op["operationId"] == {"get": "read", "put": "replace"}.get(method, method) + "AppsV1NamespacedDeployment"


def test_v2_collection_operations_carry_list_create_and_deletecollection():
    item = openapi.openapi_v2("1.30")["paths"]["/api/v1/namespaces/{namespace}/pods"]
    assert item["get"]["x-kubernetes-action"] == "list" and item["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert item["post"]["x-kubernetes-action"] == "post"
    assert item["delete"]["x-kubernetes-action"] == "deletecollection"
    assert item["get"]["responses"]["200"]["schema"] == {"$ref": "#/definitions/io.k8s.api.core.v1.PodList"}


def test_v2_scale_subresource_answers_with_the_group_version_scale():
    paths = openapi.openapi_v2("1.15")["paths"]
    assert paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["get"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert paths["/apis/apps/v1beta2/namespaces/{namespace}/deployments/{name}/scale"]["get"]["responses"]["200"]["schema"] == {
        "$ref": "#/definitions/io.k8s.api.apps.v1beta2.Scale"}


def _query_names(profile: str, path: str, method: str) -> set[str]:
    op = openapi.openapi_v2(profile)["paths"][path][method]
    return {p["name"] for p in op.get("parameters", ()) if p["in"] == "query"}


@pytest.mark.parametrize("profile,param,present", [
    ("1.8", "dryRun", False), ("1.15", "dryRun", True), ("1.30", "dryRun", True),
    ("1.8", "fieldManager", False), ("1.15", "fieldManager", True), ("1.30", "fieldManager", True),
    ("1.8", "fieldValidation", False), ("1.15", "fieldValidation", False), ("1.30", "fieldValidation", True),
])
def test_v2_create_parameters_follow_the_release(profile, param, present):
    path = "/api/v1/namespaces/{namespace}/configmaps"
    assert (param in _query_names(profile, path, "post")) is present


@pytest.mark.parametrize("profile,present", [("1.8", False), ("1.15", True), ("1.30", True)])
def test_v2_patch_force_parameter_arrives_with_server_side_apply(profile, present):
    path = "/api/v1/namespaces/{namespace}/configmaps/{name}"
    assert ("force" in _query_names(profile, path, "patch")) is present


@pytest.mark.parametrize("profile,param,present", [
    ("1.8", "limit", False), ("1.15", "limit", True), ("1.8", "includeUninitialized", True), ("1.30", "includeUninitialized", False),
    ("1.15", "resourceVersionMatch", False), ("1.30", "resourceVersionMatch", True), ("1.30", "labelSelector", True),
])
def test_v2_list_parameters_follow_the_release(profile, param, present):
    assert (param in _query_names(profile, "/api/v1/namespaces/{namespace}/pods", "get")) is present


@pytest.mark.parametrize("profile,apply", [("1.8", False), ("1.15", True), ("1.30", True)])
def test_v2_patch_consumes_the_patch_types_of_the_release(profile, apply):
    op = openapi.openapi_v2(profile)["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in op["consumes"]
    assert ("application/apply-patch+yaml" in op["consumes"]) is apply


def test_v2_delete_options_are_marked_for_every_served_group_version():
    defs = openapi.openapi_v2("1.8")["definitions"]
    gvs = {(m["group"], m["version"]) for m in defs["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]["x-kubernetes-group-version-kind"]}
    assert ("extensions", "v1beta1") in gvs and ("apps", "v1beta2") in gvs and ("apps", "v1") not in gvs


@pytest.mark.parametrize("profile", PROFILES)
def test_v2_path_parameters_are_declared(profile):
    for path, item in openapi.openapi_v2(profile)["paths"].items():
        declared = {p["name"] for p in item["parameters"] if p["in"] == "path"}
        assert declared == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path


def test_v2_is_memoized_but_each_caller_gets_its_own_copy():
    first = openapi.openapi_v2("1.30")
    first["definitions"].clear()
    assert openapi.openapi_v2("1.30")["definitions"]
    assert openapi.openapi_v2_json("1.30") is openapi.openapi_v2_json("1.30")


def test_v2_size_stays_bounded():
    assert all(len(openapi.openapi_v2_json(p)) < 4_000_000 for p in PROFILES)


# --- v3 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["1.8", "1.15"])
def test_v3_is_not_served_before_1_24(profile):
    assert openapi.openapi_v3_index(profile) is None
    assert openapi.openapi_v3_group(profile, "", "v1") is None
    assert openapi.openapi_v3_group(profile, "apps", "v1") is None


def test_v3_index_lists_every_served_group_version_with_its_hash():
    paths = openapi.openapi_v3_index("1.30")["paths"]
    assert set(paths) == {openapi.openapi_v3_path(g, v) for g, versions, _unused in resources.groups("1.30") for v in versions}
    raw = openapi.openapi_v3_group_json("1.30", "apps", "v1")
    assert paths["apis/apps/v1"]["serverRelativeURL"] == "/openapi/v3/apis/apps/v1?hash=" + hashlib.sha512(raw).hexdigest().upper()
    assert paths["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")


@pytest.mark.parametrize("group,version", [("extensions", "v1beta1"), ("apps", "v1beta2"), ("nope", "v1"), ("", "v2")])
def test_v3_group_of_an_unserved_group_version_is_none(group, version):
    assert openapi.openapi_v3_group("1.30", group, version) is None


def test_v3_documents_resolve_every_ref_within_themselves():
    for key, doc in _v3_docs():
        assert doc["openapi"].startswith("3.0")
        schemas = doc["components"]["schemas"]
        for ref in set(_refs(doc)):
            assert ref.startswith("#/components/schemas/") and ref[len("#/components/schemas/"):] in schemas, (key, ref)


def test_v3_documents_mark_their_own_kinds():
    for key, doc in _v3_docs():
        index = _gvk_index(doc["components"]["schemas"])
        for res in resources.served("1.30"):
            if openapi.openapi_v3_path(res.group, res.version) == key:
                assert len(index.get((res.group, res.version, res.kind), [])) == 1, (key, res.kind)


def test_v3_only_holds_paths_of_its_group_version():
    doc = openapi.openapi_v3_group("1.30", "apps", "v1")
    assert doc["paths"] and all(path.startswith("/apis/apps/v1/") for path in doc["paths"])
    assert "io.k8s.api.core.v1.PodSpec" in doc["components"]["schemas"]
    assert "io.k8s.api.rbac.v1.Role" not in doc["components"]["schemas"]


def test_v3_wraps_refs_with_siblings_in_all_of():
    schemas = openapi.openapi_v3_group("1.30", "apps", "v1")["components"]["schemas"]
    spec = schemas["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    assert spec["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}] and "$ref" not in spec
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert containers["x-kubernetes-patch-merge-key"] == "name"


def test_v3_operations_use_request_bodies_and_typed_responses():
    item = openapi.openapi_v3_group("1.30", "", "v1")["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]
    patch = item["patch"]
    assert set(patch["requestBody"]["content"]) >= {"application/strategic-merge-patch+json", "application/apply-patch+yaml"}
    assert patch["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.ConfigMap"}
    assert {p["name"] for p in patch["parameters"]} >= {"dryRun", "fieldManager", "fieldValidation", "force"}
    assert all("schema" in p and "type" not in p for p in patch["parameters"])
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "ConfigMap", "version": "v1"}
