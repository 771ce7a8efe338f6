"""Objects over HTTPS: the verbs, server-set metadata, selectors, pagination, conflicts, dry run."""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localcluster.pytest_plugin import workload


def deployment(name: str, labels: dict | None = None) -> dict:
    body = workload("Deployment", name, labels, replicas=1, image="nginx:1.27")
    body["metadata"]["labels"] = body["spec"]["template"]["metadata"]["labels"]
    return body


def configmap(name: str, data: dict | None = None, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}, "data": data or {"k": "v"}}


@pytest.fixture(name="core")
def core_api(localcluster):
    return client.CoreV1Api(localcluster.api_client())


@pytest.fixture(name="apps")
def apps_api(localcluster):
    return client.AppsV1Api(localcluster.api_client())


def test_create_sets_server_metadata_and_defaults(apps):
    created = apps.create_namespaced_deployment("default", deployment("meta"))
    meta = created.metadata
    assert meta.uid and meta.resource_version and meta.creation_timestamp
    assert meta.generation == 1
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert created.spec.revision_history_limit == 10


def test_resource_versions_increase_with_every_write(core):
    first = core.create_namespaced_config_map("default", configmap("rv"))
    second = core.patch_namespaced_config_map("rv", "default", {"data": {"k": "w"}})
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)


def test_generation_bumps_on_spec_change_only(apps):
    apps.create_namespaced_deployment("default", deployment("gen"))
    labelled = apps.patch_namespaced_deployment("gen", "default", {"metadata": {"labels": {"app": "gen", "extra": "1"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", "default", {"spec": {"replicas": 2}})
    assert scaled.metadata.generation == 2


def test_create_twice_is_409_already_exists(core):
    core.create_namespaced_config_map("default", configmap("twice"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", configmap("twice"))
    assert err.value.status == 409
    assert '"reason":"AlreadyExists"' in err.value.body.replace(" ", "")
    assert 'configmaps \\"twice\\" already exists' in err.value.body


def test_get_missing_is_404_with_the_real_status(localcluster):
    code, body, _unused = localcluster.http("GET", "/apis/apps/v1/namespaces/default/deployments/nope")
    assert code == 404
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": 'deployments.apps "nope" not found', "reason": "NotFound",
                    "details": {"name": "nope", "group": "apps", "kind": "deployments"}, "code": 404}


def test_create_in_missing_namespace_is_404_namespace_not_found(localcluster):
    code, body, _unused = localcluster.http("POST", "/api/v1/namespaces/ghost/configmaps", configmap("x"))
    assert code == 404
    assert body["message"] == 'namespaces "ghost" not found'


def test_replace_with_stale_resource_version_is_409_conflict(core):
    created = core.create_namespaced_config_map("default", configmap("stale"))
    core.patch_namespaced_config_map("stale", "default", {"data": {"k": "changed"}})
    body = configmap("stale", {"k": "mine"})
    body["metadata"]["resourceVersion"] = created.metadata.resource_version
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("stale", "default", body)
    assert err.value.status == 409
    assert "the object has been modified; please apply your changes to the latest version and try again" in err.value.body


def test_label_selector_filters_lists(core):
    for name, tier in (("sel-a", "web"), ("sel-b", "db"), ("sel-c", "web")):
        core.create_namespaced_config_map("default", configmap(name, labels={"tier": tier, "suite": "sel"}))

    def names(selector):
        return sorted(i.metadata.name for i in core.list_namespaced_config_map("default", label_selector=selector).items)

    assert names("suite=sel,tier=web") == ["sel-a", "sel-c"]
    assert names("suite=sel,tier!=web") == ["sel-b"]
    assert names("suite=sel,tier in (db)") == ["sel-b"]
    assert names("suite=sel,!tier") == []


def test_bad_label_selector_is_400(localcluster):
    code, body, _unused = localcluster.http("GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20b")
    assert code == 400
    assert body["reason"] == "BadRequest"


def test_field_selector_on_name_and_unsupported_field(localcluster, core):
    core.create_namespaced_config_map("default", configmap("by-field"))
    items = core.list_namespaced_config_map("default", field_selector="metadata.name=by-field").items
    assert [i.metadata.name for i in items] == ["by-field"]
    code, body, _unused = localcluster.http("GET", "/api/v1/namespaces/default/configmaps?fieldSelector=spec.bogus%3Dx")
    assert code == 400


def test_limit_and_continue_paginate_every_item_once(core):
    for i in range(7):
        core.create_namespaced_config_map("default", configmap(f"page-{i}", labels={"suite": "page"}))
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map("default", label_selector="suite=page", limit=3, _continue=token)
        seen += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert sorted(seen) == [f"page-{i}" for i in range(7)]
    assert pages == 3


def test_list_items_carry_no_type_meta_as_the_real_server_sends(localcluster, core):
    core.create_namespaced_config_map("default", configmap("typemeta"))
    code, body, _unused = localcluster.http("GET", "/api/v1/namespaces/default/configmaps")
    assert code == 200 and body["kind"] == "ConfigMapList" and body["apiVersion"] == "v1"
    assert all("kind" not in item for item in body["items"])


def test_strategic_merge_patch_merges_containers_by_name(apps):
    body = deployment("smp")
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    apps.create_namespaced_deployment("default", body)
    patched = apps.patch_namespaced_deployment("smp", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "busybox:1.37"}]}}}})
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"main": "nginx:1.27", "sidecar": "busybox:1.37"}


def test_merge_patch_replaces_lists(localcluster, apps):
    body = deployment("mp")
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    apps.create_namespaced_deployment("default", body)
    code, patched, _unused = localcluster.http("PATCH", "/apis/apps/v1/namespaces/default/deployments/mp",
                                               {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x:1"}]}}}},
                                               content_type="application/merge-patch+json")
    assert code == 200
    assert [c["name"] for c in patched["spec"]["template"]["spec"]["containers"]] == ["only"]


def test_json_patch_applies_operations(localcluster, core):
    core.create_namespaced_config_map("default", configmap("jp", {"a": "1"}))
    code, patched, _unused = localcluster.http("PATCH", "/api/v1/namespaces/default/configmaps/jp",
                                               [{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/data/a"}],
                                               content_type="application/json-patch+json")
    assert code == 200 and patched["data"] == {"b": "2"}


def test_unsupported_patch_type_is_415(localcluster, core):
    core.create_namespaced_config_map("default", configmap("ct"))
    code, body, _unused = localcluster.http("PATCH", "/api/v1/namespaces/default/configmaps/ct", {"data": {}}, content_type="text/plain")
    assert code == 415 and body["reason"] == "UnsupportedMediaType"


def test_server_side_apply_creates_then_owns_fields(localcluster):
    path = "/api/v1/namespaces/default/configmaps/ssa?fieldManager=seclog"
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1", "b": "2"}}
    code, created, _unused = localcluster.http("PATCH", path, applied, content_type="application/apply-patch+yaml")
    assert code == 201
    assert any(m["manager"] == "seclog" and m["operation"] == "Apply" for m in created["metadata"]["managedFields"])
    applied["data"] = {"a": "1"}
    code, updated, _unused = localcluster.http("PATCH", path, applied, content_type="application/apply-patch+yaml")
    assert code == 200 and updated["data"] == {"a": "1"}


def test_server_side_apply_conflict_is_409_unless_forced(localcluster):
    base = "/api/v1/namespaces/default/configmaps/ssa-conflict"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-conflict"}, "data": {"a": "1"}}
    assert localcluster.http("PATCH", base + "?fieldManager=one", body, content_type="application/apply-patch+yaml")[0] == 201
    body["data"]["a"] = "2"
    code, status, _unused = localcluster.http("PATCH", base + "?fieldManager=two", body, content_type="application/apply-patch+yaml")
    assert code == 409 and status["reason"] == "Conflict"
    code, forced, _unused = localcluster.http("PATCH", base + "?fieldManager=two&force=true", body, content_type="application/apply-patch+yaml")
    assert code == 200 and forced["data"]["a"] == "2"


def test_dry_run_create_answers_like_a_create_and_stores_nothing(localcluster, core):
    localcluster.clear_requests()
    made = core.create_namespaced_config_map("default", configmap("dry"), dry_run="All")
    assert made.metadata.uid and made.metadata.name == "dry"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("dry", "default")
    assert err.value.status == 404
    assert localcluster.writes() == []


def test_dry_run_patch_and_delete_change_nothing(localcluster, core):
    core.create_namespaced_config_map("default", configmap("dry2", {"k": "v"}))
    patched = core.patch_namespaced_config_map("dry2", "default", {"data": {"k": "new"}}, dry_run="All")
    assert patched.data == {"k": "new"}
    core.delete_namespaced_config_map("dry2", "default", dry_run="All")
    assert core.read_namespaced_config_map("dry2", "default").data == {"k": "v"}


def test_delete_answers_success_status_and_removes(localcluster, apps):
    apps.create_namespaced_deployment("default", deployment("gone"))
    code, body, _unused = localcluster.http("DELETE", "/apis/apps/v1/namespaces/default/deployments/gone")
    assert code == 200 and body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "gone" and body["details"]["group"] == "apps"
    assert localcluster.http("GET", "/apis/apps/v1/namespaces/default/deployments/gone")[0] == 404


def test_deleting_a_namespace_removes_its_objects(localcluster, core):
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", configmap("inside"))
    code, answer, _unused = localcluster.http("DELETE", "/api/v1/namespaces/doomed")
    assert code == 200 and answer["kind"] == "Namespace" and answer["status"]["phase"] == "Terminating"
    for _unused in range(100):
        if localcluster.http("GET", "/api/v1/namespaces/doomed")[0] == 404:
            break
        time.sleep(0.05)
    assert localcluster.http("GET", "/api/v1/namespaces/doomed")[0] == 404
    assert localcluster.http("GET", "/api/v1/namespaces/doomed/configmaps/inside")[0] == 404


def test_create_namespace_mismatch_is_400(localcluster):
    body = configmap("mismatch")
    body["metadata"]["namespace"] = "kube-system"
    code, status, _unused = localcluster.http("POST", "/api/v1/namespaces/default/configmaps", body)
    assert code == 400
    assert status["message"] == "the namespace of the provided object does not match the namespace sent on the request"


def test_service_gets_cluster_ip_and_port_defaults(core):
    svc = core.create_namespaced_service("default", {"metadata": {"name": "web"},
                                                     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip and svc.spec.type == "ClusterIP"
    assert svc.spec.ports[0].protocol == "TCP" and svc.spec.ports[0].target_port == 80
