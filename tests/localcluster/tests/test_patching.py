"""Tests for localcluster.patching: JSON patch, merge patch, strategic merge patch, SSA and managedFields."""
# pylint: disable=missing-function-docstring

from __future__ import annotations

import copy

import pytest

from localcluster.errors import ApiError
from localcluster.patching import json_patch, merge_patch, server_side_apply, strategic_merge_patch, update_managed_fields

T0 = "2026-11-26T12:00:00Z"
T1 = "2026-11-26T13:00:00Z"


def deployment(**spec_overrides):
    spec = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{
                    "name": "web", "image": "nginx:1",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }],
                "initContainers": [{"name": "init", "image": "busybox"}],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "tolerations": [{"key": "a", "operator": "Exists"}],
                "imagePullSecrets": [{"name": "pull"}],
            },
        },
    }
    spec.update(spec_overrides)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}, "annotations": {"a": "1"},
                         "finalizers": ["f1"], "ownerReferences": [{"uid": "u1", "name": "o", "kind": "K", "apiVersion": "v1"}]},
            "spec": spec}


def service():
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def smp(obj, patch):
    return strategic_merge_patch(obj, patch, "apps", "v1", "Deployment")


def tpl(pod_patch):
    return {"spec": {"template": {"spec": pod_patch}}}


# ------------------------------------------------------------------------------------------ JSON patch

@pytest.mark.parametrize("ops,path,expected", [
    ([{"op": "replace", "path": "/spec/replicas", "value": 3}], ("spec", "replicas"), 3),
    ([{"op": "add", "path": "/metadata/labels/new", "value": "x"}], ("metadata", "labels", "new"), "x"),
    ([{"op": "remove", "path": "/metadata/labels/app"}], ("metadata", "labels"), {}),
    ([{"op": "add", "path": "/metadata/finalizers/-", "value": "f2"}], ("metadata", "finalizers"), ["f1", "f2"]),
    ([{"op": "add", "path": "/metadata/finalizers/0", "value": "f0"}], ("metadata", "finalizers"), ["f0", "f1"]),
    ([{"op": "test", "path": "/spec/replicas", "value": 1}, {"op": "replace", "path": "/spec/replicas", "value": 2}], ("spec", "replicas"), 2),
    ([{"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"}], ("metadata", "annotations"), {"app": "web"}),
    ([{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/role"}], ("metadata", "labels"), {"role": "web"}),
    ([{"op": "add", "path": "/metadata/annotations/a~1b", "value": "s"}], ("metadata", "annotations", "a/b"), "s"),
    # evanphx/json-patch v4 (what the server links) treats replace of a missing object key as add.
    ([{"op": "replace", "path": "/metadata/labels/missing", "value": "m"}], ("metadata", "labels", "missing"), "m"),
])
def test_json_patch_applies_operations(ops, path, expected):
    result = json_patch(deployment(), ops)
    for key in path:
        result = result[key]
    assert result == expected


@pytest.mark.parametrize("ops,cause", [
    ([{"op": "test", "path": "/spec/replicas", "value": 5}], "testing value /spec/replicas failed: test failed"),
    ([{"op": "replace", "path": "/spec/nope/x", "value": 1}], "replace operation does not apply: doc is missing path: /spec/nope/x: missing value"),
    ([{"op": "add", "path": "/spec/nope/x", "value": 1}], 'add operation does not apply: doc is missing path: "/spec/nope/x": missing value'),
    ([{"op": "remove", "path": "/metadata/labels/zzz"}],
     "error in remove for path: '/metadata/labels/zzz': Unable to remove nonexistent key: zzz: missing value"),
    ([{"op": "remove", "path": "/metadata/finalizers/5"}],
     "error in remove for path: '/metadata/finalizers/5': Unable to access invalid index: 5: invalid index referenced"),
    ([{"op": "replace", "path": "/metadata/finalizers/5", "value": "x"}],
     "replace operation does not apply: doc is missing key: /metadata/finalizers/5: missing value"),
    ([{"op": "add", "path": "/metadata/finalizers/9", "value": "x"}],
     "error in add for path: '/metadata/finalizers/9': Unable to access invalid index: 9: invalid index referenced"),
    ([{"op": "frobnicate", "path": "/spec"}], "Unexpected kind: frobnicate"),
    ([{"path": "/spec"}], "Unexpected kind: unknown"),
    ([{"op": "add", "value": 1}], "add operation failed to decode path: missing value"),
    ([{"op": "move", "path": "/a"}], "move operation failed to decode from: operation, missing from field: missing value"),
])
def test_json_patch_failure_is_422_with_library_cause(ops, cause):
    with pytest.raises(ApiError) as err:
        json_patch(deployment(), ops)
    assert (err.value.code, err.value.reason) == (422, "Invalid")
    assert err.value.message == "the server rejected our request due to an error in our request"
    assert err.value.details == {"causes": [{"reason": "UnexpectedServerResponse", "message": cause}]}


@pytest.mark.parametrize("body,validation,message", [
    ({"op": "add"}, "Warn", "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"),
    ("x", "Strict", "error decoding patch: json: cannot unmarshal string into Go value of type []handlers.jsonPatchOp"),
    ([1], "Warn", "error decoding patch: json: cannot unmarshal number into Go value of type handlers.jsonPatchOp"),
    ([{"op": 1, "path": "/a"}], "Warn", "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string"),
    ({"op": "add"}, "Ignore", "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
])
def test_json_patch_body_that_is_not_a_list_of_operations_is_400(body, validation, message):
    with pytest.raises(ApiError) as err:
        json_patch(deployment(), body, field_validation=validation)
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", message)


def test_json_patch_with_too_many_operations_is_413():
    ops = [{"op": "test", "path": "/kind", "value": "Deployment"}] * 10001
    with pytest.raises(ApiError) as err:
        json_patch(deployment(), ops)
    assert err.value.code == 413 and err.value.reason == "RequestEntityTooLarge"
    assert err.value.message.endswith("The allowed maximum operations in a JSON patch is 10000, got 10001")


def test_json_patch_does_not_mutate_inputs_even_when_it_fails_midway():
    obj, ops = deployment(), [{"op": "add", "path": "/metadata/labels/x", "value": {"deep": 1}},
                              {"op": "test", "path": "/spec/replicas", "value": 9}]
    before = copy.deepcopy((obj, ops))
    with pytest.raises(ApiError):
        json_patch(obj, ops)
    result = json_patch(obj, ops[:1])
    result["metadata"]["labels"]["x"]["deep"] = 2
    assert (obj, ops) == before


# ------------------------------------------------------------------------------------------ merge patch

@pytest.mark.parametrize("patch,check", [
    ({"spec": {"replicas": 4}}, lambda r: r["spec"]["replicas"] == 4 and r["spec"]["selector"]),
    ({"metadata": {"labels": {"app": None, "b": "2"}}}, lambda r: r["metadata"]["labels"] == {"b": "2"}),
    ({"metadata": {"annotations": None}}, lambda r: "annotations" not in r["metadata"]),
    ({"metadata": {"finalizers": ["x"]}}, lambda r: r["metadata"]["finalizers"] == ["x"]),
    ({"spec": {"template": {"spec": {"containers": [{"name": "only"}]}}}}, lambda r: pod_spec(r)["containers"] == [{"name": "only"}]),
    ({"status": {"a": {"b": None, "c": 1}}}, lambda r: r["status"] == {"a": {"c": 1}}),
    ({"spec": {"replicas": {"x": None, "y": 1}}}, lambda r: r["spec"]["replicas"] == {"y": 1}),
])
def test_merge_patch_follows_rfc7386(patch, check):
    assert check(merge_patch(deployment(), patch))


@pytest.mark.parametrize("patch,validation,message", [
    ([1], "Warn", "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"),
    ("s", "Strict", "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}"),
    (3, "Ignore", "Invalid JSON Patch"),
])
def test_merge_patch_that_is_not_an_object_is_400(patch, validation, message):
    with pytest.raises(ApiError) as err:
        merge_patch(deployment(), patch, field_validation=validation)
    assert (err.value.code, err.value.message) == (400, message)


def test_merge_patch_does_not_mutate_inputs():
    obj, patch = deployment(), {"metadata": {"labels": {"app": None}}, "spec": {"new": {"a": 1}}}
    before = copy.deepcopy((obj, patch))
    result = merge_patch(obj, patch)
    result["spec"]["new"]["a"] = 2
    assert (obj, patch) == before


# ------------------------------------------------------------------------------------------ strategic merge patch

@pytest.mark.parametrize("pod_patch,field,expected", [
    ({"containers": [{"name": "web", "image": "nginx:2"}]}, "containers",
     [("web", "nginx:2")]),
    ({"containers": [{"name": "side", "image": "busybox"}]}, "containers",
     [("side", "busybox"), ("web", "nginx:1")]),
    ({"initContainers": [{"name": "init", "image": "alpine"}]}, "initContainers", [("init", "alpine")]),
    ({"initContainers": [{"name": "init2", "image": "alpine"}]}, "initContainers", [("init2", "alpine"), ("init", "busybox")]),
])
def test_smp_merges_containers_by_name(pod_patch, field, expected):
    result = pod_spec(smp(deployment(), tpl(pod_patch)))[field]
    assert [(c["name"], c["image"]) for c in result] == expected


def test_smp_merging_a_container_keeps_its_other_fields():
    container = pod_spec(smp(deployment(), tpl({"containers": [{"name": "web", "image": "nginx:2"}]})))["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}] and len(container["env"]) == 2


@pytest.mark.parametrize("container_patch,field,expected", [
    ({"env": [{"name": "B", "value": "22"}]}, "env", [{"name": "A", "value": "1"}, {"name": "B", "value": "22"}]),
    ({"env": [{"name": "C", "value": "3"}]}, "env", [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
    ({"env": [{"name": "A", "$patch": "delete"}]}, "env", [{"name": "B", "value": "2"}]),
    ({"ports": [{"containerPort": 80, "name": "http"}]}, "ports", [{"containerPort": 80, "protocol": "TCP", "name": "http"}]),
    ({"ports": [{"containerPort": 443}]}, "ports", [{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}]),
    ({"volumeMounts": [{"mountPath": "/data", "readOnly": True}]}, "volumeMounts", [{"name": "data", "mountPath": "/data", "readOnly": True}]),
    ({"volumeMounts": [{"mountPath": "/data", "$patch": "delete"}]}, "volumeMounts", []),
])
def test_smp_merges_container_lists_by_their_merge_keys(container_patch, field, expected):
    patch = tpl({"containers": [dict(container_patch, name="web")]})
    assert pod_spec(smp(deployment(), patch))["containers"][0][field] == expected


@pytest.mark.parametrize("pod_patch,field,expected", [
    ({"volumes": [{"name": "cfg", "configMap": {"name": "c"}}]}, "volumes",
     [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "data", "emptyDir": {}}]),
    ({"volumes": [{"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}, "volumes",
     [{"name": "data", "hostPath": {"path": "/x"}}]),
    ({"imagePullSecrets": [{"name": "other"}]}, "imagePullSecrets", [{"name": "other"}, {"name": "pull"}]),
    # tolerations carry no patch strategy (x-kubernetes-list-type atomic): the list is replaced.
    ({"tolerations": [{"key": "b", "operator": "Exists"}]}, "tolerations", [{"key": "b", "operator": "Exists"}]),
    ({"containers": [{"$patch": "replace"}, {"name": "new", "image": "x"}]}, "containers", [{"name": "new", "image": "x"}]),
    ({"volumes": [{"name": "data", "$patch": "delete"}]}, "volumes", []),
    ({"tolerations": None}, "tolerations", None),
])
def test_smp_pod_spec_lists(pod_patch, field, expected):
    assert pod_spec(smp(deployment(), tpl(pod_patch))).get(field) == expected


@pytest.mark.parametrize("meta_patch,field,expected", [
    ({"labels": {"tier": "fe"}}, "labels", {"app": "web", "tier": "fe"}),
    ({"labels": {"app": None}}, "labels", {}),
    ({"annotations": {"a": "2", "b": "3"}}, "annotations", {"a": "2", "b": "3"}),
    ({"annotations": {"$patch": "replace", "z": "9"}}, "annotations", {"z": "9"}),
    ({"annotations": {"$patch": "delete"}}, "annotations", {}),
    ({"finalizers": ["f2"]}, "finalizers", ["f2", "f1"]),
    ({"finalizers": ["f1"]}, "finalizers", ["f1"]),
    ({"$deleteFromPrimitiveList/finalizers": ["f1"]}, "finalizers", []),
    ({"$setElementOrder/finalizers": ["f1", "f2"], "finalizers": ["f2"]}, "finalizers", ["f1", "f2"]),
    ({"ownerReferences": [{"uid": "u1", "controller": True}]}, "ownerReferences",
     [{"uid": "u1", "name": "o", "kind": "K", "apiVersion": "v1", "controller": True}]),
    ({"ownerReferences": [{"uid": "u2", "name": "p"}]}, "ownerReferences",
     [{"uid": "u2", "name": "p"}, {"uid": "u1", "name": "o", "kind": "K", "apiVersion": "v1"}]),
    ({"ownerReferences": [{"uid": "u1", "$patch": "delete"}]}, "ownerReferences", []),
])
def test_smp_metadata(meta_patch, field, expected):
    assert smp(deployment(), {"metadata": meta_patch})["metadata"][field] == expected


def test_smp_set_element_order_orders_merged_list():
    patch = tpl({"containers": [{"name": "web", "$setElementOrder/env": [{"name": "B"}, {"name": "A"}, {"name": "C"}],
                                 "env": [{"name": "C", "value": "3"}]}],
                 "$setElementOrder/containers": [{"name": "web"}]})
    env = pod_spec(smp(deployment(), patch))["containers"][0]["env"]
    assert [e["name"] for e in env] == ["B", "A", "C"]
    assert not any(k.startswith("$") for k in pod_spec(smp(deployment(), patch)))


def test_smp_service_ports_merge_by_port():
    result = strategic_merge_patch(service(), {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443, "name": "https"}]}},
                                   "", "v1", "Service")
    assert result["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 9090}, {"port": 443, "name": "https"}]


def test_smp_retain_keys_clears_other_keys_of_deployment_strategy():
    obj = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    result = smp(obj, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_null_in_newly_added_subtree_is_dropped():
    result = smp(deployment(), {"spec": {"newField": {"a": None, "b": 1}}})
    assert result["spec"]["newField"] == {"b": 1}


@pytest.mark.parametrize("patch,code,reason,message", [
    (tpl({"containers": [{"image": "nginx"}]}), 500, "", "map: map[image:nginx] does not contain declared merge key: name"),
    ({"spec": {"template": {"spec": {"volumes": [{"hostPath": {"path": "/p"}}]}}}}, 500, "",
     "map: map[hostPath:map[path:/p]] does not contain declared merge key: name"),
    (tpl({"containers": [{"$patch": "delete"}]}), 500, "", "map: map[$patch:delete] does not contain declared merge key: name"),
    (tpl({"containers": [{"name": "web", "$patch": "merge"}]}), 500, "", "merging lists cannot yet be specified in the patch"),
    ({"metadata": {"labels": {"$patch": "merge"}}}, 500, "", "unknown patch type: merge in map: map[$patch:merge]"),
    ({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, 400, "BadRequest", "invalid patch format of retainKeys"),
    ({"spec": {"strategy": {"$retainKeys": "type"}}}, 400, "BadRequest", "invalid patch format of retainKeys"),
    ([1], 400, "BadRequest", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
])
def test_smp_errors_match_the_server(patch, code, reason, message):
    with pytest.raises(ApiError) as err:
        smp(deployment(strategy={"type": "RollingUpdate"}), patch)
    assert (err.value.code, err.value.reason, err.value.message) == (code, reason, message)


def test_smp_on_custom_resource_is_415():
    with pytest.raises(ApiError) as err:
        strategic_merge_patch({"kind": "Thing"}, {}, "example.com", "v1", "Thing")
    assert err.value.code == 415 and err.value.reason == "UnsupportedMediaType"


def test_smp_does_not_mutate_inputs():
    obj = deployment()
    patch = tpl({"containers": [{"name": "web", "env": [{"name": "C", "value": "3"}]}], "$setElementOrder/containers": [{"name": "web"}]})
    patch["metadata"] = {"$deleteFromPrimitiveList/finalizers": ["f1"], "labels": {"app": None}}
    before = copy.deepcopy((obj, patch))
    result = smp(obj, patch)
    pod_spec(result)["containers"][0]["image"] = "changed"
    assert (obj, patch) == before


# ------------------------------------------------------------------------------------------ managedFields on updates

def created(obj=None, manager="kubectl-create"):
    obj = obj or deployment()
    out = copy.deepcopy(obj)
    out["metadata"]["managedFields"] = update_managed_fields(None, obj, manager, "Update", "apps/v1", T0)
    return out


def fields_of(obj, manager, operation=None):
    for entry in obj["metadata"].get("managedFields", []):
        if entry["manager"] == manager and (operation is None or entry["operation"] == operation):
            return entry["fieldsV1"]
    return None


def test_create_records_update_entry_in_fieldsv1_encoding():
    entries = created()["metadata"]["managedFields"]
    assert len(entries) == 1
    entry = entries[0]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "time", "fieldsType")} == {
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1", "time": T0, "fieldsType": "FieldsV1"}
    fields = entry["fieldsV1"]
    assert fields["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    assert fields["f:metadata"]["f:finalizers"] == {".": {}, 'v:"f1"': {}}
    assert "f:name" not in fields["f:metadata"] and "f:apiVersion" not in fields
    assert "." not in fields["f:spec"] and "." not in fields["f:spec"]["f:template"]
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert container["."] == {} and container["f:image"] == {}
    assert container["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {".": {}, "f:containerPort": {}, "f:protocol": {}}
    assert fields["f:spec"]["f:template"]["f:spec"]["f:tolerations"] == {}
    assert fields["f:spec"]["f:selector"] == {}


def test_update_takes_changed_fields_from_other_managers():
    live = created()
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 5
    entries = update_managed_fields(live, new, "kubectl-scale", "Update", "apps/v1", T1)
    by_manager = {e["manager"]: e for e in entries}
    assert by_manager["kubectl-scale"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert by_manager["kubectl-scale"]["time"] == T1
    assert "f:replicas" not in by_manager["kubectl-create"]["fieldsV1"]["f:spec"]
    assert by_manager["kubectl-create"]["time"] == T0


def test_update_without_changes_keeps_entries_and_times():
    live = created()
    assert update_managed_fields(live, copy.deepcopy(live), "other", "Update", "apps/v1", T1) == live["metadata"]["managedFields"]


def test_update_removing_field_drops_it_from_its_owner():
    live = created()
    new = copy.deepcopy(live)
    del new["metadata"]["annotations"]
    entries = update_managed_fields(live, new, "editor", "Update", "apps/v1", T1)
    assert [e["manager"] for e in entries] == ["kubectl-create"]
    assert "f:annotations" not in entries[0]["fieldsV1"]["f:metadata"]


def test_update_with_empty_managed_fields_resets_them():
    live = created()
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    new["spec"]["replicas"] = 2
    entries = update_managed_fields(live, new, "resetter", "Update", "apps/v1", T1)
    assert [(e["manager"], e["fieldsV1"]) for e in entries] == [("resetter", {"f:spec": {"f:replicas": {}}})]


def test_status_changes_are_not_owned_through_main_resource_but_through_status_subresource():
    live = created()
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 1}
    assert update_managed_fields(live, new, "x", "Update", "apps/v1", T1) == live["metadata"]["managedFields"]
    entries = update_managed_fields(live, new, "kube-controller-manager", "Update", "apps/v1", T1, subresource="status")
    status_entry = [e for e in entries if e["manager"] == "kube-controller-manager"][0]
    assert status_entry["subresource"] == "status" and status_entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


def test_managed_fields_are_sorted_apply_first_then_by_time():
    live = created()
    applied = server_side_apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                                       "spec": {"paused": True}}, "ssa", False, "apps", "v1", "Deployment", T1)
    assert [(e["manager"], e["operation"]) for e in applied["metadata"]["managedFields"]] == [("ssa", "Apply"), ("kubectl-create", "Update")]


def test_update_managed_fields_does_not_mutate_inputs():
    live = created()
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 9
    before = copy.deepcopy((live, new))
    update_managed_fields(live, new, "m", "Update", "apps/v1", T1)
    assert (live, new) == before


# ------------------------------------------------------------------------------------------ server-side apply

def config(**spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"}, "spec": spec}


def apply(live, cfg, manager="mgr", force=False, now=T1):
    return server_side_apply(live, cfg, manager, force, "apps", "v1", "Deployment", now)


def test_apply_create_owns_exactly_the_applied_fields():
    cfg = config(replicas=2, template={"spec": {"containers": [{"name": "c", "image": "i"}]}})
    cfg["metadata"]["labels"] = {"app": "x"}
    result = apply(None, cfg)
    entry = result["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["time"]) == ("mgr", "Apply", "apps/v1", T1)
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}},
                                 "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                                     'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}}}}}
    assert result["spec"]["replicas"] == 2


def test_apply_conflict_is_409_with_causes():
    live = created()
    with pytest.raises(ApiError) as err:
        apply(live, config(replicas=3))
    assert (err.value.code, err.value.reason) == (409, "Conflict")
    assert err.value.message == 'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas'
    assert err.value.details == {"causes": [{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-create" using apps/v1',
                                             "field": ".spec.replicas"}]}


def test_apply_conflicts_list_every_field():
    live = created()
    cfg = config(replicas=3, template={"spec": {"containers": [{"name": "web", "image": "nginx:9"}]}})
    with pytest.raises(ApiError) as err:
        apply(live, cfg)
    assert err.value.message == ('Apply failed with 2 conflicts: conflicts with "kubectl-create" using apps/v1:\n'
                                 '- .spec.replicas\n- .spec.template.spec.containers[name="web"].image')
    assert [c["field"] for c in err.value.details["causes"]] == [".spec.replicas", '.spec.template.spec.containers[name="web"].image']


def test_apply_conflict_with_another_applier_names_it_without_version():
    live = apply(None, config(replicas=1), manager="first")
    with pytest.raises(ApiError) as err:
        apply(live, config(replicas=2), manager="second")
    assert err.value.message == 'Apply failed with 1 conflict: conflict with "first": .spec.replicas'


def test_apply_same_value_as_other_manager_shares_ownership_without_conflict():
    live = created()
    result = apply(live, config(replicas=1))
    assert fields_of(result, "mgr") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" in fields_of(result, "kubectl-create")["f:spec"]


def test_apply_force_takes_ownership():
    result = apply(created(), config(replicas=3), force=True)
    assert result["spec"]["replicas"] == 3
    assert "f:replicas" not in fields_of(result, "kubectl-create")["f:spec"]
    assert fields_of(result, "mgr") == {"f:spec": {"f:replicas": {}}}


def test_apply_removes_fields_no_longer_applied():
    cfg = config(replicas=1, paused=True)
    cfg["metadata"]["labels"] = {"a": "1", "b": "2"}
    first = apply(None, cfg)
    second_cfg = config(replicas=1)
    second_cfg["metadata"]["labels"] = {"a": "1"}
    second = apply(first, second_cfg, now="2026-11-26T14:00:00Z")
    assert "paused" not in second["spec"] and second["metadata"]["labels"] == {"a": "1"}
    assert fields_of(second, "mgr") == {"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:replicas": {}}}


def test_apply_keeps_dropped_field_another_manager_also_owns():
    cfg = config(replicas=1, paused=True)
    first = apply(None, cfg)
    shared = apply(first, config(paused=True), manager="other")
    result = apply(shared, config(replicas=1))
    assert result["spec"]["paused"] is True


def test_apply_removes_dropped_list_item_but_keeps_items_of_others():
    first = apply(None, config(template={"spec": {"containers": [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]}}))
    other = apply(first, config(template={"spec": {"containers": [{"name": "c", "image": "c"}]}}), manager="other")
    result = apply(other, config(template={"spec": {"containers": [{"name": "a", "image": "a"}]}}))
    assert [c["name"] for c in pod_spec(result)["containers"]] == ["a", "c"]


@pytest.mark.parametrize("live_spec,cfg_spec,expected", [
    # containers: list-type map keyed by name, merged per item.
    ({"containers": [{"name": "a", "image": "a", "tty": True}]}, {"containers": [{"name": "a", "image": "a2"}, {"name": "b", "image": "b"}]},
     {"containers": [{"name": "a", "image": "a2", "tty": True}, {"name": "b", "image": "b"}]}),
    # tolerations: atomic, replaced.
    ({"tolerations": [{"key": "x"}]}, {"tolerations": [{"key": "y"}]}, {"tolerations": [{"key": "y"}]}),
])
def test_apply_list_semantics(live_spec, cfg_spec, expected):
    live = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": live_spec}
    result = server_side_apply(live, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": cfg_spec},
                               "m", False, "", "v1", "Pod", T1)
    assert result["spec"] == expected


def test_apply_set_list_merges_as_set_and_encodes_values():
    live = apply(None, dict(config(), metadata={"name": "web", "finalizers": ["a"]}), manager="one")
    result = apply(live, dict(config(), metadata={"name": "web", "finalizers": ["b"]}), manager="two")
    assert result["metadata"]["finalizers"] == ["a", "b"]
    assert fields_of(result, "two") == {"f:metadata": {"f:finalizers": {'v:"b"': {}}}}


def test_apply_empty_struct_is_not_owned():
    assert fields_of(apply(None, config(replicas=1, strategy={})), "mgr") == {"f:spec": {"f:replicas": {}}}


def test_smp_retain_keys_on_field_missing_from_object_is_not_checked():
    result = smp(deployment(), {"spec": {"strategy": {"$retainKeys": "bogus", "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_apply_atomic_map_selector_is_owned_as_a_whole():
    result = apply(None, config(selector={"matchLabels": {"a": "b"}}))
    assert fields_of(result, "mgr") == {"f:spec": {"f:selector": {}}}


def test_apply_without_changes_keeps_time():
    first = apply(None, config(replicas=1))
    again = apply(first, config(replicas=1), now="2030-01-01T00:00:00Z")
    assert again["metadata"]["managedFields"][0]["time"] == T1


def test_apply_service_ports_are_keyed_by_port_and_protocol():
    result = server_side_apply(None, service(), "m", False, "", "v1", "Service", T1)
    assert 'k:{"port":80,"protocol":"TCP"}' in fields_of(result, "m")["f:spec"]["f:ports"]


def test_apply_list_map_item_missing_key_is_an_error():
    cfg = config(template={"spec": {"containers": [{"image": "x"}]}})
    with pytest.raises(ApiError) as err:
        apply(None, cfg)
    assert err.value.code == 500
    assert err.value.message == ('failed to create typed patch object (apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: '
                                 'associative list with keys has an element that omits key field "name" (and doesn\'t have default value)')


def test_apply_with_managed_fields_in_config_is_400():
    cfg = config()
    cfg["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(ApiError) as err:
        apply(None, cfg)
    assert (err.value.code, err.value.message) == (400, "metadata.managedFields must be nil")


def test_apply_does_not_mutate_inputs():
    live = created()
    cfg = config(replicas=3)
    before = copy.deepcopy((live, cfg))
    result = apply(live, cfg, force=True)
    result["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    assert (live, cfg) == before
