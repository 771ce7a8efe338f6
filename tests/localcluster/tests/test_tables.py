"""Server-side printing: Accept negotiation, ages, and the Table each kind's printer returns."""

from __future__ import annotations

import copy

import pytest

from localcluster import errors, tables

NOW = 1714565100.0  # 2024-05-01T12:05:00Z
FIVE_MIN_AGO = "2024-05-01T12:00:00Z"
KUBECTL_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


def _meta(name: str, namespace: str | None = "default", **extra) -> dict:
    meta = {"name": name, "uid": f"uid-{name}", "resourceVersion": "7", "creationTimestamp": FIVE_MIN_AGO}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def _template(*containers: tuple[str, str], **spec) -> dict:
    return {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": n, "image": i} for n, i in containers], **spec}}


def _table(kind: str, group: str, objects: list[dict], profile: str = "1.30", **kwargs) -> dict:
    return tables.to_table(profile, group, kind.lower() + "s", kind, objects, {"resourceVersion": "99"}, NOW, **kwargs)


def _cells(kind: str, group: str, obj: dict, profile: str = "1.30") -> list:
    return _table(kind, group, [obj], profile)["rows"][0]["cells"]


def _headers(kind: str, group: str, profile: str = "1.30", wide: bool = False) -> list[str]:
    cols = tables.column_definitions(profile, group, kind)
    return [c["name"] for c in cols if wide or c["priority"] == 0]


# --- ages --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (0.9, "0s"), (-1, "0s"), (-1.5, "0s"), (-2, "<invalid>"), (5, "5s"), (119, "119s"), (120, "2m"), (200, "3m20s"),
    (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"), (5 * 3600 + 10 * 60, "5h10m"), (7 * 3600 + 59 * 60, "7h59m"),
    (8 * 3600 + 59 * 60, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (51 * 3600, "2d3h"), (8 * 86400, "8d"), (729 * 86400, "729d"),
    (730 * 86400, "2y"), ((730 + 179) * 86400, "2y179d"), (8 * 365 * 86400, "8y"), (20 * 365 * 86400, "20y"),
])
def test_human_duration_matches_apimachinery(seconds, text):
    assert tables.human_duration(seconds) == text


@pytest.mark.parametrize("seconds, text", [
    (59, "59s"), (60, "1m"), (200, "3m"), (3599, "59m"), (3600, "1h"), (86399, "23h"), (86400, "1d"), (364 * 86400, "364d"),
    (365 * 86400, "1y"), (-5, "<invalid>"),
])
def test_short_human_duration_is_the_1_8_age_format(seconds, text):
    assert tables.short_human_duration(seconds) == text


@pytest.mark.parametrize("profile, age", [("1.30", "3m20s"), ("1.15", "3m20s"), ("1.8", "3m")])
def test_age_cell_uses_the_release_duration_format(profile, age):
    ns = {"metadata": _meta("falco", None, creationTimestamp="2024-05-01T12:01:40Z"), "status": {"phase": "Active"}}
    assert _cells("Namespace", "", ns, profile)[-1] == age


def test_age_of_an_object_without_creation_timestamp_is_unknown():
    ns = {"metadata": {"name": "x"}, "status": {"phase": "Active"}}
    assert _cells("Namespace", "", ns)[-1] == "<unknown>"


# --- Accept negotiation --------------------------------------------------------------------------

@pytest.mark.parametrize("profile, accept, expected", [
    ("1.30", KUBECTL_ACCEPT, "v1"),
    ("1.15", KUBECTL_ACCEPT, "v1"),
    ("1.8", KUBECTL_ACCEPT, None),
    ("1.30", "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "v1beta1"),
    ("1.30", "application/json;as=Table;g=meta.k8s.io;v=v1", "v1"),
    ("1.30", "application/json", None),
    ("1.30", "*/*", None),
    ("1.30", "", None),
    ("1.30", None, None),
    ("1.30", "application/json, application/json;as=Table;v=v1;g=meta.k8s.io", None),
    ("1.30", "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json", None),
    ("1.30", "application/json;as=Table;v=v1alpha1;g=meta.k8s.io,application/json", None),
    ("1.30", "application/json;as=Table;v=v1;g=other.io,application/json", None),
    ("1.30", "application/json;as=Table;v=v1,application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"),
    ("1.30", "application/json;as=Table;v=v2;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"),
    ("1.30", "application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io", "v1"),
    ("1.30", "application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json", None),
    ("1.30", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io", None),
    ("1.15", "application/json;as=Table;v=v1beta1;g=meta.k8s.io", "v1beta1"),
    ("1.8", "application/json;as=Table;v=v1;g=meta.k8s.io", None),
    ("1.8", "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", None),
    ("1.8", "application/json;as=Table;v=v1alpha1;g=meta.k8s.io,application/json", "v1alpha1"),
])
def test_wants_table_picks_the_first_table_version_the_release_serves(profile, accept, expected):
    assert tables.wants_table(accept, profile) == expected


# --- the Table envelope ----------------------------------------------------------------------------

def _configmap(name: str = "cfg") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, labels={"a": "b"}), "data": {"x": "1", "y": "2"}}


def test_table_envelope_is_a_meta_v1_table_with_list_metadata():
    table = tables.to_table("1.30", "", "configmaps", "ConfigMap", [_configmap()], {"resourceVersion": "99", "continue": "tok", "remainingItemCount": 3},
                            NOW)
    assert list(table) == ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert table["metadata"] == {"resourceVersion": "99", "continue": "tok", "remainingItemCount": 3}


def test_single_get_table_carries_the_object_resource_version():
    table = tables.to_table("1.30", "", "configmaps", "ConfigMap", [_configmap()], None, NOW)
    assert table["metadata"] == {"resourceVersion": "7"}


def test_rows_carry_partial_object_metadata_by_default():
    row = _table("ConfigMap", "", [_configmap()])["rows"][0]
    assert row == {"cells": ["cfg", 2, "5m"],
                   "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _configmap()["metadata"]}}


@pytest.mark.parametrize("version", ["v1beta1", "v1alpha1"])
def test_partial_object_metadata_follows_the_table_version(version):
    table = _table("ConfigMap", "", [_configmap()], table_version=version)
    assert table["apiVersion"] == f"meta.k8s.io/{version}"
    assert table["rows"][0]["object"]["apiVersion"] == f"meta.k8s.io/{version}"


@pytest.mark.parametrize("include, expected", [("Object", _configmap()), ("None", None), ("", {
    "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": _configmap()["metadata"]})])
def test_include_object_selects_what_each_row_carries(include, expected):
    assert _table("ConfigMap", "", [_configmap()], include_object=include)["rows"][0]["object"] == expected


def test_unknown_include_object_is_a_bad_request():
    with pytest.raises(errors.ApiError) as caught:
        _table("ConfigMap", "", [_configmap()], include_object="Everything")
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert caught.value.message == 'unrecognized includeObject value: "Everything"'


def test_empty_list_with_a_printer_has_empty_rows():
    assert _table("ConfigMap", "", [])["rows"] == []


def test_empty_list_through_the_generic_convertor_has_null_rows():
    assert _table("ClusterRole", "rbac.authorization.k8s.io", [])["rows"] is None


def test_to_table_does_not_mutate_its_arguments():
    objects, list_meta = [_configmap()], {"resourceVersion": "99"}
    before = copy.deepcopy((objects, list_meta))
    table = tables.to_table("1.30", "", "configmaps", "ConfigMap", objects, list_meta, NOW, include_object="Object")
    table["rows"][0]["object"]["metadata"]["name"] = "changed"
    assert (objects, list_meta) == before


def test_column_definitions_have_all_five_fields_and_openapi_descriptions():
    cols = tables.column_definitions("1.30", "", "ConfigMap")
    assert all(list(c) == ["name", "type", "format", "description", "priority"] for c in cols)
    assert cols[0]["format"] == "name" and cols[0]["description"].startswith("Name must be unique within a namespace.")
    assert cols[2]["description"].startswith("CreationTimestamp is a timestamp")


# --- headers per kind --------------------------------------------------------------------------------

@pytest.mark.parametrize("group, kind, narrow, wide", [
    ("", "Pod", ["Name", "Ready", "Status", "Restarts", "Age"], ["IP", "Node", "Nominated Node", "Readiness Gates"]),
    ("", "Node", ["Name", "Status", "Roles", "Age", "Version"], ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"]),
    ("", "Namespace", ["Name", "Status", "Age"], []),
    ("", "Service", ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], ["Selector"]),
    ("", "ConfigMap", ["Name", "Data", "Age"], []),
    ("", "Secret", ["Name", "Type", "Data", "Age"], []),
    ("", "ServiceAccount", ["Name", "Secrets", "Age"], []),
    ("", "PersistentVolumeClaim", ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age"],
     ["VolumeMode"]),
    ("", "Event", ["Last Seen", "Type", "Reason", "Object", "Message"], ["Subobject", "Source", "First Seen", "Count", "Name"]),
    ("events.k8s.io", "Event", ["Last Seen", "Type", "Reason", "Object", "Message"], ["Subobject", "Source", "First Seen", "Count", "Name"]),
    ("apps", "Deployment", ["Name", "Ready", "Up-to-date", "Available", "Age"], ["Containers", "Images", "Selector"]),
    ("extensions", "Deployment", ["Name", "Ready", "Up-to-date", "Available", "Age"], ["Containers", "Images", "Selector"]),
    ("apps", "ReplicaSet", ["Name", "Desired", "Current", "Ready", "Age"], ["Containers", "Images", "Selector"]),
    ("apps", "StatefulSet", ["Name", "Ready", "Age"], ["Containers", "Images"]),
    ("apps", "DaemonSet", ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"],
     ["Containers", "Images", "Selector"]),
    ("rbac.authorization.k8s.io", "RoleBinding", ["Name", "Role", "Age"], ["Users", "Groups", "ServiceAccounts"]),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", ["Name", "Role", "Age"], ["Users", "Groups", "ServiceAccounts"]),
    ("rbac.authorization.k8s.io", "ClusterRole", ["Name", "Created At"], []),
    ("rbac.authorization.k8s.io", "Role", ["Name", "Created At"], []),
    ("scheduling.k8s.io", "PriorityClass", ["Name", "Value", "Global-Default", "Age"], []),
    ("storage.k8s.io", "StorageClass", ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"], []),
    ("policy", "PodDisruptionBudget", ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"], []),
    ("apiextensions.k8s.io", "CustomResourceDefinition", ["Name", "Created At"], []),
    ("example.com", "Pod", ["Name", "Created At"], []),
])
def test_headers_match_the_1_30_printers(group, kind, narrow, wide):
    cols = tables.column_definitions("1.30", group, kind)
    assert [c["name"] for c in cols if c["priority"] == 0] == narrow
    assert [c["name"] for c in cols if c["priority"] == 1] == wide
    assert [c["name"] for c in cols] == [c["name"] for c in cols if c["priority"] == 0 or c["name"] in wide]


@pytest.mark.parametrize("group, kind, column, typ", [
    ("", "Pod", "Restarts", "string"), ("apps", "DaemonSet", "Desired", "integer"), ("apps", "Deployment", "Up-to-date", "string"),
    ("scheduling.k8s.io", "PriorityClass", "Global-Default", "boolean"), ("policy", "PodDisruptionBudget", "Allowed Disruptions", "integer"),
    ("rbac.authorization.k8s.io", "ClusterRole", "Created At", "date"), ("apps", "ReplicaSet", "Ready", "integer"),
])
def test_column_types_match_the_printers(group, kind, column, typ):
    assert {c["name"]: c["type"] for c in tables.column_definitions("1.30", group, kind)}[column] == typ


@pytest.mark.parametrize("profile, group, kind, headers", [
    ("1.15", "", "Pod", ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]),
    ("1.8", "", "Pod", ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node"]),
    ("1.8", "", "Node", ["Name", "Status", "Roles", "Age", "Version", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"]),
    ("1.15", "", "PersistentVolumeClaim", ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "Age", "VolumeMode"]),
    ("1.15", "rbac.authorization.k8s.io", "RoleBinding", ["Name", "Age", "Role", "Users", "Groups", "ServiceAccounts"]),
    ("1.15", "storage.k8s.io", "StorageClass", ["Name", "Provisioner", "Age"]),
    ("1.15", "rbac.authorization.k8s.io", "ClusterRole", ["Name", "Created At"]),
    ("1.8", "rbac.authorization.k8s.io", "ClusterRole", ["Name", "Age"]),
    ("1.8", "extensions", "Deployment", ["Name", "Desired", "Current", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]),
    ("1.8", "apps", "StatefulSet", ["Name", "Desired", "Current", "Age", "Containers", "Images"]),
    ("1.8", "", "Event", ["Last Seen", "First Seen", "Count", "Name", "Kind", "Subobject", "Type", "Reason", "Source", "Message"]),
])
def test_headers_follow_the_release(profile, group, kind, headers):
    assert _headers(kind, group, profile, wide=True) == headers


def test_pod_restarts_column_is_an_integer_before_1_30():
    assert {c["name"]: c["type"] for c in tables.column_definitions("1.15", "", "Pod")}["Restarts"] == "integer"


# --- representative rows --------------------------------------------------------------------------------

def _running_pod(**status_extra) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta("falco-abcde", "falco"),
            "spec": {"nodeName": "node-1", "containers": [{"name": "falco", "image": "falco:0.37"}]},
            "status": {"phase": "Running", "podIP": "10.4.0.7", "podIPs": [{"ip": "10.4.0.7"}],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "falco", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": FIVE_MIN_AGO}}}],
                       **status_extra}}


_DAEMONSET = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta("falco", "falco"),
              "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "falco"}},
                       "template": _template(("falco", "falcosecurity/falco:0.37.1"), ("driver", "falcosecurity/driver-loader:0.37.1"))},
              "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}}

_ROWS = [
    ("apps", "DaemonSet", _DAEMONSET,
     ["falco", 3, 3, 3, 3, 3, "<none>", "5m", "falco,driver", "falcosecurity/falco:0.37.1,falcosecurity/driver-loader:0.37.1", "app.kubernetes.io/name=falco"]),
    ("", "Pod", _running_pod(), ["falco-abcde", "1/1", "Running", "0", "5m", "10.4.0.7", "node-1", "<none>", "<none>"]),
    ("", "Node", {"metadata": _meta("node-1", None, labels={"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}),
                  "spec": {"unschedulable": True},
                  "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                             "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "node-1"}],
                             "nodeInfo": {"kubeletVersion": "v1.30.2", "osImage": "Ubuntu 22.04", "kernelVersion": "6.1.0",
                                          "containerRuntimeVersion": "containerd://1.7.2"}}},
     ["node-1", "Ready,SchedulingDisabled", "control-plane,worker", "5m", "v1.30.2", "10.0.0.1", "<none>", "Ubuntu 22.04", "6.1.0", "containerd://1.7.2"]),
    ("", "Namespace", {"metadata": _meta("falco", None), "status": {"phase": "Active"}}, ["falco", "Active", "5m"]),
    ("", "Service", {"metadata": _meta("kibana", "efk"), "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"],
                                                                  "ports": [{"port": 5601, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                                                                  "selector": {"b": "2", "a": "1"}}},
     ["kibana", "ClusterIP", "10.96.0.12", "<none>", "5601/TCP,53/UDP", "5m", "a=1,b=2"]),
    ("", "Service", {"metadata": _meta("es", "efk"), "spec": {"type": "NodePort", "clusterIP": "None", "clusterIPs": ["None"],
                                                              "ports": [{"port": 9200, "nodePort": 30920, "protocol": "TCP"}]}},
     ["es", "NodePort", "None", "<none>", "9200:30920/TCP", "5m", "<none>"]),
    ("", "Service", {"metadata": _meta("lb", "efk"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.9"], "ports": []},
                     "status": {"loadBalancer": {}}},
     ["lb", "LoadBalancer", "10.96.0.9", "<pending>", "<none>", "5m", "<none>"]),
    ("", "Service", {"metadata": _meta("ext", "efk"), "spec": {"type": "ExternalName", "externalName": "example.com"}},
     ["ext", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"]),
    ("", "ConfigMap", {"metadata": _meta("cfg"), "data": {"a": "1"}, "binaryData": {"b": "AA=="}}, ["cfg", 2, "5m"]),
    ("", "Secret", {"metadata": _meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}, ["tls", "kubernetes.io/tls", 2, "5m"]),
    ("", "ServiceAccount", {"metadata": _meta("falco"), "secrets": [{"name": "falco-token"}]}, ["falco", 1, "5m"]),
    ("", "ServiceAccount", {"metadata": _meta("default")}, ["default", 0, "5m"]),
    ("", "PersistentVolumeClaim", {"metadata": _meta("data-es-0", "efk"),
                                   "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Filesystem",
                                            "resources": {"requests": {"storage": "10Gi"}}},
                                   "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}},
     ["data-es-0", "Bound", "pv-1", "10Gi", "RWO,RWX", "standard", "<unset>", "5m", "Filesystem"]),
    ("", "PersistentVolumeClaim", {"metadata": _meta("pending"), "spec": {"resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}},
     ["pending", "Pending", "", "", "", "", "<unset>", "5m", "<unset>"]),
    ("apps", "Deployment", {"metadata": _meta("kibana", "efk"),
                            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "kibana"}}, "template": _template(("kibana", "kibana:8.13.4"))},
                            "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}},
     ["kibana", "1/2", 2, 1, "5m", "kibana", "kibana:8.13.4", "app=kibana"]),
    ("apps", "ReplicaSet", {"metadata": _meta("kibana-5d9"),
                            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "kibana", "pod-template-hash": "5d9"}},
                                     "template": _template(("kibana", "kibana:8.13.4"))},
                            "status": {"replicas": 2, "readyReplicas": 2}},
     ["kibana-5d9", 2, 2, 2, "5m", "kibana", "kibana:8.13.4", "app=kibana,pod-template-hash=5d9"]),
    ("apps", "StatefulSet", {"metadata": _meta("es", "efk"), "spec": {"replicas": 3, "template": _template(("es", "elasticsearch:8.13.4"))},
                             "status": {"replicas": 3, "readyReplicas": 2}},
     ["es", "2/3", "5m", "es", "elasticsearch:8.13.4"]),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding",
     {"metadata": _meta("falco", None), "roleRef": {"kind": "ClusterRole", "name": "falco"},
      "subjects": [{"kind": "ServiceAccount", "name": "falco", "namespace": "falco"}, {"kind": "User", "name": "alice"},
                   {"kind": "Group", "name": "ops"}, {"kind": "User", "name": "bob"}]},
     ["falco", "ClusterRole/falco", "5m", "alice, bob", "ops", "falco/falco"]),
    ("rbac.authorization.k8s.io", "RoleBinding", {"metadata": _meta("rb"), "roleRef": {"kind": "Role", "name": "r"}}, ["rb", "Role/r", "5m", "", "", ""]),
    ("rbac.authorization.k8s.io", "ClusterRole", {"metadata": _meta("view", None), "rules": []}, ["view", FIVE_MIN_AGO]),
    ("scheduling.k8s.io", "PriorityClass", {"metadata": _meta("system-node-critical", None), "value": 2000001000},
     ["system-node-critical", 2000001000, False, "5m"]),
    ("storage.k8s.io", "StorageClass", {"metadata": _meta("standard", None, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
                                        "provisioner": "kubernetes.io/gce-pd", "allowVolumeExpansion": True},
     ["standard (default)", "kubernetes.io/gce-pd", "Delete", "Immediate", True, "5m"]),
    ("storage.k8s.io", "StorageClass", {"metadata": _meta("fast", None), "provisioner": "pd.csi.storage.gke.io", "reclaimPolicy": "Retain",
                                        "volumeBindingMode": "WaitForFirstConsumer"},
     ["fast", "pd.csi.storage.gke.io", "Retain", "WaitForFirstConsumer", False, "5m"]),
    ("policy", "PodDisruptionBudget", {"metadata": _meta("es"), "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}}, ["es", "2", "N/A", 1, "5m"]),
    ("policy", "PodDisruptionBudget", {"metadata": _meta("k"), "spec": {"maxUnavailable": "25%"}}, ["k", "N/A", "25%", 0, "5m"]),
    ("", "Event", {"metadata": _meta("falco.17c"), "involvedObject": {"kind": "Pod", "name": "falco-abcde", "fieldPath": "spec.containers{falco}"},
                   "reason": "Pulled", "message": "Container image pulled\n", "type": "Normal", "count": 3,
                   "source": {"component": "kubelet", "host": "node-1"}, "firstTimestamp": "2024-05-01T11:00:00Z", "lastTimestamp": "2024-05-01T12:04:00Z"},
     ["60s", "Normal", "Pulled", "pod/falco-abcde", "spec.containers{falco}", "kubelet, node-1", "Container image pulled", "65m", 3, "falco.17c"]),
    ("events.k8s.io", "Event", {"metadata": _meta("ev"), "regarding": {"kind": "Node", "name": "node-1"}, "note": "ok", "type": "Normal",
                                "reason": "Starting", "reportingController": "kubelet", "eventTime": "2024-05-01T12:03:20.000000Z"},
     ["100s", "Normal", "Starting", "node/node-1", "", "kubelet", "ok", "100s", 1, "ev"]),
]


@pytest.mark.parametrize("group, kind, obj, cells", _ROWS, ids=[f"{r[1]}-{r[2]['metadata']['name']}" for r in _ROWS])
def test_row_cells_match_the_1_30_printers(group, kind, obj, cells):
    assert _cells(kind, group, obj) == cells
    assert len(cells) == len(tables.column_definitions("1.30", group, kind))


def test_ready_daemonset_narrow_cells_are_what_kubectl_get_shows():
    assert _cells("DaemonSet", "apps", _DAEMONSET)[:8] == ["falco", 3, 3, 3, 3, 3, "<none>", "5m"]


# --- pod status column ---------------------------------------------------------------------------------

def _pod_with(container_state: dict, ready: bool = False, **extra) -> dict:
    pod = _running_pod()
    pod["status"]["containerStatuses"][0].update({"ready": ready, "state": container_state, **extra})
    return pod


@pytest.mark.parametrize("pod, ready, status", [
    (_pod_with({"waiting": {"reason": "CrashLoopBackOff"}}), "0/1", "CrashLoopBackOff"),
    (_pod_with({"waiting": {"reason": "ErrImagePull"}}), "0/1", "ErrImagePull"),
    (_pod_with({"terminated": {"exitCode": 0, "reason": "Completed"}}), "0/1", "Completed"),
    (_pod_with({"terminated": {"exitCode": 137}}), "0/1", "ExitCode:137"),
    (_pod_with({"terminated": {"exitCode": 1, "signal": 9}}), "0/1", "Signal:9"),
    (_pod_with({"running": {}}, ready=False), "0/1", "Running"),
])
def test_pod_status_reflects_container_states(pod, ready, status):
    assert _cells("Pod", "", pod)[1:3] == [ready, status]


def test_pod_waiting_on_an_init_container_shows_init_progress():
    pod = _running_pod(phase="Pending", initContainerStatuses=[{"name": "setup", "ready": False, "restartCount": 0, "state": {"running": {}}}])
    pod["spec"]["initContainers"] = [{"name": "setup", "image": "busybox"}]
    pod["status"]["containerStatuses"][0].update({"ready": False, "state": {"waiting": {"reason": "PodInitializing"}}})
    assert _cells("Pod", "", pod)[1:3] == ["0/1", "Init:0/1"]


def test_pod_sidecar_init_container_counts_towards_ready():
    pod = _running_pod(initContainerStatuses=[{"name": "proxy", "ready": True, "started": True, "restartCount": 0, "state": {"running": {}}}])
    pod["spec"]["initContainers"] = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    assert _cells("Pod", "", pod)[1:3] == ["2/2", "Running"]


def test_pod_being_deleted_is_terminating():
    pod = _running_pod()
    pod["metadata"]["deletionTimestamp"] = "2024-05-01T12:04:00Z"
    assert _cells("Pod", "", pod)[2] == "Terminating"


def test_succeeded_pod_row_carries_the_completed_condition():
    pod = _pod_with({"terminated": {"exitCode": 0, "reason": "Completed"}}, phase="Succeeded")
    pod["status"]["phase"] = "Succeeded"
    row = _table("Pod", "", [pod])["rows"][0]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]
    assert list(row) == ["cells", "conditions", "object"]


def test_running_pod_row_has_no_conditions():
    assert "conditions" not in _table("Pod", "", [_running_pod()])["rows"][0]


def test_pod_restarts_show_when_the_last_restart_was():
    pod = _pod_with({"running": {}}, ready=True, restartCount=4, lastState={"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T12:02:00Z"}})
    assert _cells("Pod", "", pod)[3] == "4 (3m ago)"


def test_pod_restarts_are_a_bare_integer_on_1_15():
    pod = _pod_with({"running": {}}, ready=True, restartCount=4, lastState={"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T12:02:00Z"}})
    assert _cells("Pod", "", pod, "1.15")[3] == 4


def test_pod_readiness_gates_count_true_conditions():
    pod = _running_pod()
    pod["spec"]["readinessGates"] = [{"conditionType": "example.com/a"}, {"conditionType": "example.com/b"}]
    pod["status"]["conditions"].append({"type": "example.com/a", "status": "True"})
    assert _cells("Pod", "", pod)[-1] == "1/2"


# --- node status column ---------------------------------------------------------------------------------

@pytest.mark.parametrize("conditions, unschedulable, status", [
    ([{"type": "Ready", "status": "True"}], False, "Ready"),
    ([{"type": "Ready", "status": "False"}], False, "NotReady"),
    ([{"type": "Ready", "status": "Unknown"}], False, "NotReady"),
    ([], False, "Unknown"),
    ([{"type": "Ready", "status": "True"}], True, "Ready,SchedulingDisabled"),
    ([{"type": "Ready", "status": "False"}], True, "NotReady,SchedulingDisabled"),
])
def test_node_status_column(conditions, unschedulable, status):
    node = {"metadata": _meta("n", None), "spec": {"unschedulable": unschedulable}, "status": {"conditions": conditions}}
    cells = _cells("Node", "", node)
    assert cells[1] == status
    assert (cells[2], cells[-3:]) == ("<none>", ["<unknown>", "<unknown>", "<unknown>"])


# --- selectors and older releases -----------------------------------------------------------------------

def test_selector_column_prints_match_expressions_sorted_by_key():
    ds = copy.deepcopy(_DAEMONSET)
    ds["spec"]["selector"] = {"matchLabels": {"z": "1"},
                              "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}, {"key": "canary", "operator": "DoesNotExist"},
                                                   {"key": "env", "operator": "Exists"}]}
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    cells = _cells("DaemonSet", "apps", ds)
    assert cells[6] == "kubernetes.io/os=linux"
    assert cells[-1] == "!canary,env,tier in (api,web),z=1"


def test_rolebinding_on_1_15_puts_role_after_age():
    rb = {"metadata": _meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Group", "name": "g"}]}
    assert _cells("RoleBinding", "rbac.authorization.k8s.io", rb, "1.15") == ["rb", "5m", "ClusterRole/view", "", "g", ""]


def test_generic_table_on_1_8_prints_name_and_short_age():
    assert _cells("ClusterRole", "rbac.authorization.k8s.io", {"metadata": _meta("view", None)}, "1.8") == ["view", "5m"]


def test_priority_class_has_no_printer_on_1_8():
    assert not tables.has_printer("1.8", "scheduling.k8s.io", "PriorityClass")
    assert tables.has_printer("1.15", "scheduling.k8s.io", "PriorityClass")


def test_deployment_on_1_8_prints_desired_and_current_numbers():
    dep = {"metadata": _meta("k"), "spec": {"replicas": 2, "template": _template(("k", "k:1"))}, "status": {"replicas": 2, "updatedReplicas": 2}}
    assert _cells("Deployment", "extensions", dep, "1.8")[:6] == ["k", 2, 2, 2, 0, "5m"]


def test_service_on_1_15_reads_the_single_cluster_ip():
    svc = {"metadata": _meta("s"), "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.3", "ports": [{"port": 80}]}}
    assert _cells("Service", "", svc, "1.15")[2:5] == ["10.0.0.3", "<none>", "80/TCP"]
