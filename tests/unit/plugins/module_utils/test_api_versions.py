"""apiVersion conversion: what each release served, and every conversion both ways, as pure functions."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.seclog.falco_efk.plugins.module_utils import api_versions as av

WORKLOAD_KINDS = ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet")
RELEASES = ["1.%d" % minor for minor in range(av.FIRST_RELEASE, av.LAST_RELEASE + 1)]


def obj(kind, api_version, name="falco", namespace="falco", spec=None, **metadata):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta.update(metadata)
    result = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        result["spec"] = spec
    return result


def pod_template(labels=None):
    template = {"spec": {"containers": [{"name": "falco", "image": "falcosecurity/falco:0.39.2"}]}}
    if labels is not None:
        template["metadata"] = {"labels": labels}
    return template


def workload(kind, api_version, labels=None, **spec):
    spec["template"] = pod_template({"app": "falco"} if labels is None else labels)
    return obj(kind, api_version, spec=spec)


def served(*pairs):
    """served("apps/v1 DaemonSet", ...) -> {"apps/v1": {"DaemonSet"}}"""
    result = {}
    for pair in pairs:
        group_version, kind = pair.split()
        result.setdefault(group_version, set()).add(kind)
    return result


def convert_one(definition, *served_pairs, **kwargs):
    result = av.patch([definition], served(*served_pairs), **kwargs)
    return result["definitions"][0] if result["definitions"] else None, result["report"][0], result


# ---------------------------------------------------------------------------------------------
# served_by_release
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("release, group_version, kind, expected", [
    ("1.8", "apps/v1beta2", "DaemonSet", True),
    ("1.8", "apps/v1", "Deployment", False),
    ("1.8", "extensions/v1beta1", "DaemonSet", True),
    ("1.8", "rbac.authorization.k8s.io/v1", "ClusterRole", True),
    ("1.8", "batch/v1beta1", "CronJob", True),
    ("1.8", "batch/v2alpha1", "CronJob", False),
    ("1.8", "policy/v1beta1", "PodSecurityPolicy", False),
    ("1.8", "autoscaling/v2beta1", "HorizontalPodAutoscaler", True),
    ("1.9", "apps/v1", "DaemonSet", True),
    ("1.10", "policy/v1beta1", "PodSecurityPolicy", True),
    ("1.11", "scheduling.k8s.io/v1beta1", "PriorityClass", True),
    ("1.11", "scheduling.k8s.io/v1alpha1", "PriorityClass", False),
    ("1.15", "extensions/v1beta1", "Deployment", True),
    ("1.15", "apps/v1beta1", "StatefulSet", True),
    ("1.16", "extensions/v1beta1", "Deployment", False),
    ("1.16", "extensions/v1beta1", "DaemonSet", False),
    ("1.16", "extensions/v1beta1", "ReplicaSet", False),
    ("1.16", "extensions/v1beta1", "NetworkPolicy", False),
    ("1.16", "extensions/v1beta1", "PodSecurityPolicy", False),
    ("1.16", "apps/v1beta2", "Deployment", False),
    ("1.16", "extensions/v1beta1", "Ingress", True),
    ("1.18", "networking.k8s.io/v1", "Ingress", False),
    ("1.19", "networking.k8s.io/v1", "Ingress", True),
    ("1.19", "networking.k8s.io/v1", "IngressClass", True),
    ("1.21", "batch/v1", "CronJob", True),
    ("1.21", "policy/v1", "PodDisruptionBudget", True),
    ("1.21", "rbac.authorization.k8s.io/v1beta1", "Role", True),
    ("1.22", "rbac.authorization.k8s.io/v1beta1", "Role", False),
    ("1.22", "extensions/v1beta1", "Ingress", False),
    ("1.22", "networking.k8s.io/v1beta1", "Ingress", False),
    ("1.22", "scheduling.k8s.io/v1beta1", "PriorityClass", False),
    ("1.23", "autoscaling/v2", "HorizontalPodAutoscaler", True),
    ("1.24", "policy/v1beta1", "PodSecurityPolicy", True),
    ("1.25", "policy/v1beta1", "PodSecurityPolicy", False),
    ("1.25", "batch/v1beta1", "CronJob", False),
    ("1.25", "autoscaling/v2beta1", "HorizontalPodAutoscaler", False),
    ("1.25", "autoscaling/v2beta2", "HorizontalPodAutoscaler", True),
    ("1.26", "autoscaling/v2beta2", "HorizontalPodAutoscaler", False),
    ("1.30", "batch/v1beta1", "CronJob", False),
    ("1.30", "batch/v1", "Job", True),
    ("1.35", "apps/v1", "DaemonSet", True),
    ("1.35", "storage.k8s.io/v1", "StorageClass", True),
])
def test_release_serves_kind_in_group_version(release, group_version, kind, expected):
    assert (kind in av.served_by_release(release).get(group_version, frozenset())) is expected


@pytest.mark.parametrize("release", ["1.25", "1.30", "1.35"])
def test_releases_from_1_25_serve_pod_security_policy_in_no_version(release):
    assert not any("PodSecurityPolicy" in kinds for kinds in av.served_by_release(release).values())


@pytest.mark.parametrize("release", RELEASES)
def test_every_release_serves_core_kinds_and_each_workload_somewhere(release):
    table = av.served_by_release(release)
    assert {"Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "PersistentVolumeClaim", "Pod"} <= table["v1"]
    assert all(isinstance(kinds, frozenset) for kinds in table.values())
    for kind in WORKLOAD_KINDS:
        assert any(kind in table.get(version, ()) for version in av.KIND_VERSIONS[kind]), kind


@pytest.mark.parametrize("spelling", ["1.30", "v1.30", "1.30.5", "v1.30.5", "1.30.5-gke.1", "v1.30.5+k3s1", " 1.30 "])
def test_release_spellings_resolve_to_the_same_table(spelling):
    assert av.served_by_release(spelling) == av.served_by_release("1.30")


@pytest.mark.parametrize("version, words", [
    ("", "is not a version"), ("abc", "is not a version"), ("1", "is not a version"), ("1.x", "is not a version"),
    (None, "is not a version"), (1.3, "is not a version"),
    ("1.7", "outside the releases"), ("1.36", "outside the releases"), ("2.0", "outside the releases"),
])
def test_unknown_release_is_rejected_with_the_remedy(version, words):
    with pytest.raises(av.UnknownRelease) as error:
        av.served_by_release(version)
    assert words in str(error.value)
    assert "1.8 to 1.35" in str(error.value) or "kubectl version" in str(error.value)


# ---------------------------------------------------------------------------------------------
# Passing through
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("definition", [
    workload("DaemonSet", "apps/v1", selector={"matchLabels": {"app": "falco"}}),
    dict(obj("ConfigMap", "v1"), data={"falco.yaml": "json_output: true"}),
    obj("FalcoRule", "falco.org/v1alpha1", spec={"rules": [{"rule": "x"}]}),
])
def test_served_object_passes_through_as_an_equal_copy(definition):
    table = dict(av.served_by_release("1.30"), **{"falco.org/v1alpha1": frozenset(["FalcoRule"])})
    result = av.patch([definition], table)
    assert result["definitions"] == [definition]
    assert result["definitions"][0] is not definition
    assert result["changed"] is False
    assert result["report"] == [{"kind": definition["kind"], "name": "falco", "namespace": "falco", "from": definition["apiVersion"],
                                 "to": definition["apiVersion"], "changes": [], "warnings": [], "action": "unchanged"}]


def test_report_keeps_input_order_and_dropped_objects_leave_definitions():
    batch = [obj("Namespace", "v1", name="falco", namespace=None), obj("PodSecurityPolicy", "policy/v1beta1", namespace=None, spec={}),
             workload("DaemonSet", "extensions/v1beta1")]
    result = av.patch(batch, av.served_by_release("1.30"))
    assert [entry["action"] for entry in result["report"]] == ["unchanged", "dropped", "converted"]
    assert [definition["kind"] for definition in result["definitions"]] == ["Namespace", "DaemonSet"]
    assert result["changed"] is True


# ---------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, source, release, target", [
    ("Deployment", "extensions/v1beta1", "1.8", "extensions/v1beta1"),
    ("Deployment", "extensions/v1beta1", "1.16", "apps/v1"),
    ("Deployment", "apps/v1", "1.8", "apps/v1beta2"),
    ("DaemonSet", "apps/v1", "1.8", "apps/v1beta2"),
    ("DaemonSet", "extensions/v1beta1", "1.16", "apps/v1"),
    ("StatefulSet", "apps/v1beta1", "1.30", "apps/v1"),
    ("ReplicaSet", "extensions/v1beta1", "1.22", "apps/v1"),
])
def test_workload_target_is_the_newest_version_the_release_serves(kind, source, release, target):
    result = av.patch([workload(kind, source)], av.served_by_release(release))
    assert result["definitions"][0]["apiVersion"] == target
    assert result["report"][0]["to"] == target


def test_extensions_deployment_gains_selector_from_template_labels():
    converted, entry, result = convert_one(workload("Deployment", "extensions/v1beta1"), "apps/v1 Deployment")
    assert converted["spec"]["selector"] == {"matchLabels": {"app": "falco"}}
    assert list(converted["spec"]) == ["selector", "strategy", "template"]
    assert any("spec.selector.matchLabels: added" in change for change in entry["changes"])
    assert entry["action"] == "converted" and result["changed"] is True


def test_apps_v1_deployment_going_down_keeps_its_selector():
    source = workload("Deployment", "apps/v1", selector={"matchLabels": {"app": "falco"}})
    converted, entry, _result = convert_one(source, "extensions/v1beta1 Deployment")
    assert converted["spec"]["selector"] == {"matchLabels": {"app": "falco"}}


def test_falco_selector_shorthand_becomes_match_labels():
    # The upstream Falco users' error: unknown field "app" in DaemonSet.spec.selector.
    source = workload("DaemonSet", "extensions/v1beta1", selector={"app": "falco"})
    converted, entry, _result = convert_one(source, "apps/v1 DaemonSet")
    assert converted["spec"]["selector"] == {"matchLabels": {"app": "falco"}}
    assert any('unknown field "app"' in change for change in entry["changes"])


def test_selector_shorthand_merges_with_existing_match_labels_and_expressions():
    expressions = [{"key": "tier", "operator": "Exists"}]
    source = workload("Deployment", "extensions/v1beta1", labels={"app": "falco", "tier": "x"},
                      selector={"app": "falco", "matchExpressions": expressions})
    converted, entry, _result = convert_one(source, "apps/v1 Deployment")
    assert converted["spec"]["selector"] == {"matchLabels": {"app": "falco"}, "matchExpressions": expressions}
    assert entry["warnings"][:1] != ["spec.selector"]


@pytest.mark.parametrize("selector", [{"matchLabels": {"app": "fluentd"}}, {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["falco"]}]},
                                      {}])
def test_selector_that_misses_the_template_labels_warns(selector):
    source = workload("DaemonSet", "extensions/v1beta1", selector=selector)
    converted, entry, _result = convert_one(source, "apps/v1 DaemonSet")
    assert converted["spec"]["selector"] == selector
    assert any("does not select spec.template.metadata.labels" in warning and warning.startswith("DaemonSet falco/falco:")
               for warning in entry["warnings"])


def test_workload_without_template_labels_warns_instead_of_inventing_a_selector():
    converted, entry, _result = convert_one(workload("DaemonSet", "extensions/v1beta1", labels={}), "apps/v1 DaemonSet")
    assert "selector" not in converted["spec"]
    assert any("requires a selector" in warning and "Add labels" in warning for warning in entry["warnings"])


@pytest.mark.parametrize("kind, source, target, spec, expected", [
    ("DaemonSet", "extensions/v1beta1", "apps/v1", {}, {"type": "OnDelete"}),
    ("DaemonSet", "apps/v1", "extensions/v1beta1", {}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}),
    ("DaemonSet", "extensions/v1beta1", "apps/v1", {"updateStrategy": {"type": "RollingUpdate"}}, {"type": "RollingUpdate"}),
    ("Deployment", "extensions/v1beta1", "apps/v1", {}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}),
    ("Deployment", "extensions/v1beta1", "apps/v1", {"strategy": {"rollingUpdate": {"maxSurge": 3}}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 3}}),
    ("Deployment", "extensions/v1beta1", "apps/v1", {"strategy": {"type": "Recreate"}}, {"type": "Recreate"}),
    ("Deployment", "apps/v1", "extensions/v1beta1", {}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("Deployment", "apps/v1beta1", "apps/v1", {}, None),
    ("StatefulSet", "apps/v1beta1", "apps/v1", {}, {"type": "OnDelete"}),
    ("StatefulSet", "apps/v1", "apps/v1beta1", {}, {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ("StatefulSet", "apps/v1beta2", "apps/v1", {}, None),
])
def test_update_strategy_is_written_when_the_versions_default_it_differently(kind, source, target, spec, expected):
    field = "strategy" if kind == "Deployment" else "updateStrategy"
    spec.setdefault("selector", {"matchLabels": {"app": "falco"}})
    converted, entry, _result = convert_one(workload(kind, source, **spec), "%s %s" % (target, kind))
    assert converted["spec"].get(field) == expected
    rewritten = converted["spec"].get(field) != spec.get(field)
    assert any(change.startswith("spec.%s: wrote" % field) for change in entry["changes"]) is rewritten


@pytest.mark.parametrize("kind, source, target, field", [
    ("Deployment", "extensions/v1beta1", "apps/v1", "rollbackTo"),
    ("Deployment", "apps/v1beta1", "apps/v1beta2", "rollbackTo"),
    ("DaemonSet", "extensions/v1beta1", "apps/v1", "templateGeneration"),
])
def test_fields_the_target_lacks_are_removed_and_reported(kind, source, target, field):
    value = {"revision": 3} if field == "rollbackTo" else 4
    converted, entry, _result = convert_one(workload(kind, source, **{field: value}), "%s %s" % (target, kind))
    assert field not in converted["spec"]
    assert any(change.startswith("spec.%s: removed" % field) for change in entry["changes"])
    assert any("kubectl rollout undo" in warning for warning in entry["warnings"]) is (field == "rollbackTo")


def test_rollback_to_is_kept_between_versions_that_both_have_it():
    converted, entry, _result = convert_one(workload("Deployment", "extensions/v1beta1", rollbackTo={"revision": 1}), "apps/v1beta1 Deployment")
    assert converted["spec"]["rollbackTo"] == {"revision": 1}


@pytest.mark.parametrize("source, target, spec, warned", [
    ("extensions/v1beta1", "apps/v1", {}, ["revisionHistoryLimit", "progressDeadlineSeconds"]),
    ("apps/v1beta1", "apps/v1", {}, ["revisionHistoryLimit"]),
    ("apps/v1", "apps/v1beta1", {}, ["revisionHistoryLimit"]),
    ("apps/v1beta2", "apps/v1", {}, []),
    ("extensions/v1beta1", "apps/v1", {"revisionHistoryLimit": 5, "progressDeadlineSeconds": 120}, []),
])
def test_deployment_defaults_that_differ_are_warned_about(source, target, spec, warned):
    _converted, entry, _result = convert_one(workload("Deployment", source, **spec), "%s Deployment" % target)
    mentioned = [field for field in ("revisionHistoryLimit", "progressDeadlineSeconds")
                 if any("spec.%s defaults to" % field in warning for warning in entry["warnings"])]
    assert mentioned == warned


# ---------------------------------------------------------------------------------------------
# Other kinds, each way
# ---------------------------------------------------------------------------------------------
NETPOL_SPEC = {"podSelector": {"matchLabels": {"app": "falco"}}, "policyTypes": ["Ingress", "Egress"],
               "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}


@pytest.mark.parametrize("source, target, warned", [
    ("extensions/v1beta1", "networking.k8s.io/v1", False),
    ("networking.k8s.io/v1", "extensions/v1beta1", True),
])
def test_network_policy_converts_both_ways_and_warns_about_egress_going_down(source, target, warned):
    converted, entry, _result = convert_one(obj("NetworkPolicy", source, spec=copy.deepcopy(NETPOL_SPEC)), "%s NetworkPolicy" % target)
    assert converted["spec"] == NETPOL_SPEC and converted["apiVersion"] == target
    assert bool(entry["warnings"]) is warned


INGRESS_BETA = obj("Ingress", "extensions/v1beta1", annotations={"kubernetes.io/ingress.class": "nginx"}, spec={
    "backend": {"serviceName": "kibana", "servicePort": 5601},
    "rules": [{"host": "kibana.example", "http": {"paths": [
        {"path": "/", "backend": {"serviceName": "kibana", "servicePort": "http"}},
        {"path": "/api", "backend": {"serviceName": "es", "servicePort": "9200"}}]}}]})
INGRESS_V1 = obj("Ingress", "networking.k8s.io/v1", spec={
    "defaultBackend": {"service": {"name": "kibana", "port": {"number": 5601}}},
    "ingressClassName": "nginx",
    "rules": [{"host": "kibana.example", "http": {"paths": [
        {"path": "/", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "kibana", "port": {"name": "http"}}}},
        {"path": "/api", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "es", "port": {"number": 9200}}}}]}}]})


def test_ingress_goes_up_to_service_backends_path_type_and_class_name():
    converted, entry, _result = convert_one(INGRESS_BETA, "networking.k8s.io/v1 Ingress")
    assert converted == INGRESS_V1
    assert len(entry["changes"]) == 4


def test_ingress_goes_down_to_service_name_and_class_annotation():
    converted, entry, _result = convert_one(INGRESS_V1, "networking.k8s.io/v1beta1 Ingress")
    expected = copy.deepcopy(INGRESS_BETA)
    expected["apiVersion"] = "networking.k8s.io/v1beta1"
    expected["spec"]["rules"][0]["http"]["paths"][1]["backend"]["servicePort"] = 9200
    assert converted == expected


def test_ingress_between_the_two_beta_versions_changes_only_api_version():
    converted, entry, _result = convert_one(INGRESS_BETA, "networking.k8s.io/v1beta1 Ingress")
    assert dict(converted, apiVersion="extensions/v1beta1") == INGRESS_BETA and entry["changes"] == []


def test_ingress_keeps_an_explicit_path_type_going_down():
    source = copy.deepcopy(INGRESS_V1)
    source["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = "Prefix"
    converted, _entry, _result = convert_one(source, "extensions/v1beta1 Ingress")
    assert converted["spec"]["rules"][0]["http"]["paths"][0]["pathType"] == "Prefix"
    assert "pathType" not in converted["spec"]["rules"][0]["http"]["paths"][1]


def test_ingress_with_both_class_name_and_annotation_warns():
    source = copy.deepcopy(INGRESS_BETA)
    source["spec"]["ingressClassName"] = "traefik"
    _converted, entry, _result = convert_one(source, "networking.k8s.io/v1 Ingress")
    assert any("rejects the pair" in warning for warning in entry["warnings"])


RBAC_OBJECTS = [
    dict(obj("ClusterRole", "rbac.authorization.k8s.io/v1beta1", namespace=None), rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
    dict(obj("ClusterRoleBinding", "rbac.authorization.k8s.io/v1beta1", namespace=None),
         roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "falco"},
         subjects=[{"kind": "ServiceAccount", "name": "falco", "namespace": "falco"}]),
    dict(obj("Role", "rbac.authorization.k8s.io/v1beta1"), rules=[]),
    dict(obj("RoleBinding", "rbac.authorization.k8s.io/v1beta1"), roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"}),
]
SAME_SCHEMA = [(definition, "rbac.authorization.k8s.io/v1") for definition in RBAC_OBJECTS] + [
    (obj("CronJob", "batch/v1beta1", spec={"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": pod_template()}}}), "batch/v1"),
    (obj("CronJob", "batch/v1", spec={"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": pod_template()}}}), "batch/v1beta1"),
    (dict(obj("PriorityClass", "scheduling.k8s.io/v1beta1", namespace=None), value=1000000), "scheduling.k8s.io/v1"),
    (dict(obj("PriorityClass", "scheduling.k8s.io/v1", namespace=None), value=1000000), "scheduling.k8s.io/v1beta1"),
    (obj("PodSecurityPolicy", "extensions/v1beta1", namespace=None, spec={"privileged": True}), "policy/v1beta1"),
    (obj("PodSecurityPolicy", "policy/v1beta1", namespace=None, spec={"privileged": True}), "extensions/v1beta1"),
    (obj("PodDisruptionBudget", "policy/v1beta1", spec={"maxUnavailable": 1, "selector": {"matchLabels": {"app": "es"}}}), "policy/v1"),
    (obj("PodDisruptionBudget", "policy/v1", spec={"maxUnavailable": 1, "selector": {"matchLabels": {"app": "es"}}}), "policy/v1beta1"),
    (obj("HorizontalPodAutoscaler", "autoscaling/v2beta2", spec={"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}), "autoscaling/v2"),
    (obj("HorizontalPodAutoscaler", "autoscaling/v2", spec={"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}), "autoscaling/v2beta2"),
]


@pytest.mark.parametrize("definition, target", SAME_SCHEMA, ids=lambda value: value["kind"] + ":" + value["apiVersion"] if isinstance(value, dict) else value)
def test_kinds_with_one_schema_change_only_api_version(definition, target):
    converted, entry, _result = convert_one(definition, "%s %s" % (target, definition["kind"]))
    assert dict(converted, apiVersion=definition["apiVersion"]) == definition
    assert converted["apiVersion"] == target
    assert (entry["action"], entry["changes"], entry["warnings"]) == ("converted", [], [])


@pytest.mark.parametrize("source, target, words", [
    ("policy/v1beta1", "policy/v1", "selected no pods in policy/v1beta1 but selects every pod"),
    ("policy/v1", "policy/v1beta1", "selected every pod in the namespace in policy/v1 but selects no pods"),
])
def test_pdb_with_empty_selector_warns_that_its_meaning_flips(source, target, words):
    definition = obj("PodDisruptionBudget", source, spec={"minAvailable": 1, "selector": {}})
    _converted, entry, _result = convert_one(definition, "%s PodDisruptionBudget" % target)
    assert any(words in warning for warning in entry["warnings"])


def test_pdb_going_down_loses_unhealthy_pod_eviction_policy_with_a_warning():
    spec = {"minAvailable": 1, "selector": {"matchLabels": {"app": "es"}}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    definition = obj("PodDisruptionBudget", "policy/v1", spec=spec)
    converted, entry, _result = convert_one(definition, "policy/v1beta1 PodDisruptionBudget")
    assert "unhealthyPodEvictionPolicy" not in converted["spec"] and entry["warnings"]


def test_cronjob_time_zone_going_down_warns():
    definition = obj("CronJob", "batch/v1", spec={"schedule": "0 3 * * *", "timeZone": "Etc/UTC"})
    converted, entry, _result = convert_one(definition, "batch/v1beta1 CronJob")
    assert converted["spec"]["timeZone"] == "Etc/UTC" and "CronJobTimeZone" in entry["warnings"][0]


HPA_METRICS = [  # (autoscaling/v2beta1 metric, autoscaling/v2 metric)
    ({"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 80}},
     {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}),
    ({"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "1Gi"}},
     {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}}),
    ({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "es", "targetAverageUtilization": 60}},
     {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "es", "target": {"type": "Utilization", "averageUtilization": 60}}}),
    ({"type": "Pods", "pods": {"metricName": "qps", "selector": {"matchLabels": {"v": "1"}}, "targetAverageValue": "10"}},
     {"type": "Pods", "pods": {"metric": {"name": "qps", "selector": {"matchLabels": {"v": "1"}}}, "target": {"type": "AverageValue", "averageValue": "10"}}}),
    ({"type": "Object", "object": {"target": {"kind": "Service", "name": "es"}, "metricName": "rps", "targetValue": "100"}},
     {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "es"}, "metric": {"name": "rps"},
                                   "target": {"type": "Value", "value": "100"}}}),
    ({"type": "Object", "object": {"target": {"kind": "Service", "name": "es"}, "metricName": "rps", "averageValue": "5"}},
     {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "es"}, "metric": {"name": "rps"},
                                   "target": {"type": "AverageValue", "averageValue": "5"}}}),
    ({"type": "External", "external": {"metricName": "queue", "metricSelector": {"matchLabels": {"q": "a"}}, "targetValue": "30"}},
     {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "a"}}}, "target": {"type": "Value", "value": "30"}}}),
    ({"type": "External", "external": {"metricName": "queue", "targetAverageValue": "3"}},
     {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "3"}}}),
]


def hpa(api_version, metrics, **spec):
    spec.update({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "kibana"}, "minReplicas": 1, "maxReplicas": 3,
                 "metrics": metrics})
    return obj("HorizontalPodAutoscaler", api_version, spec=spec)


@pytest.mark.parametrize("old, new", HPA_METRICS, ids=["%s-%d" % (old["type"], index) for index, (old, _new) in enumerate(HPA_METRICS)])
@pytest.mark.parametrize("upper", ["autoscaling/v2", "autoscaling/v2beta2"])
def test_hpa_metric_targets_convert_both_ways(old, new, upper):
    up, entry, _result = convert_one(hpa("autoscaling/v2beta1", [old]), "%s HorizontalPodAutoscaler" % upper)
    assert up == hpa(upper, [new]) and entry["changes"]
    down, _entry, _result = convert_one(hpa(upper, [new]), "autoscaling/v2beta1 HorizontalPodAutoscaler")
    assert down == hpa("autoscaling/v2beta1", [old])


def test_hpa_behavior_is_removed_with_a_warning_going_to_v2beta1():
    source = hpa("autoscaling/v2", [], behavior={"scaleUp": {"stabilizationWindowSeconds": 0}})
    converted, entry, _result = convert_one(source, "autoscaling/v2beta1 HorizontalPodAutoscaler")
    assert "behavior" not in converted["spec"]
    assert any("scaling policies" in warning for warning in entry["warnings"])


# ---------------------------------------------------------------------------------------------
# PodSecurityPolicy and unsupported kinds
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["policy/v1beta1", "extensions/v1beta1"])
def test_pod_security_policy_is_dropped_where_no_version_serves_it(source):
    definition = obj("PodSecurityPolicy", source, namespace=None, spec={"privileged": True})
    converted, entry, result = convert_one(definition, "v1 Namespace")
    assert converted is None and result["definitions"] == [] and result["changed"] is True
    assert (entry["action"], entry["to"]) == ("dropped", None)
    assert "pod-security.kubernetes.io/enforce: privileged" in entry["warnings"][0]
    assert entry["warnings"][0].startswith("PodSecurityPolicy falco:")


def test_pod_security_policy_is_kept_in_policy_v1beta1_on_1_24():
    definition = obj("PodSecurityPolicy", "extensions/v1beta1", namespace=None, spec={})
    assert av.patch([definition], av.served_by_release("1.24"))["definitions"][0]["apiVersion"] == "policy/v1beta1"


def fluentd():
    return obj("DaemonSet", "apps/v1", name="fluentd", namespace="logging",
               spec={"selector": {"matchLabels": {"app": "fluentd"}}, "template": pod_template({"app": "fluentd"})})


def test_unsupported_kind_fails_naming_object_cause_and_remedy():
    with pytest.raises(av.UnsupportedKind) as error:
        av.patch([fluentd()], served("v1 Namespace"))
    message = str(error.value)
    assert message.startswith("DaemonSet logging/fluentd: apps/v1 is not served by this cluster; it serves none of apps/v1, apps/v1beta2, ")
    assert "--runtime-config" in message and "skip" in message


def test_unsupported_kind_is_skipped_with_a_warning():
    _converted, entry, result = convert_one(fluentd(), "v1 Namespace", unsupported="skip")
    assert result["definitions"] == [] and result["changed"] is True
    assert (entry["action"], entry["to"]) == ("skipped", None)
    assert entry["warnings"][0].startswith("DaemonSet logging/fluentd:")


def test_unsupported_kind_passes_through_unchanged_with_a_warning():
    converted, entry, result = convert_one(fluentd(), "v1 Namespace", unsupported="warn")
    assert converted == fluentd() and result["changed"] is False
    assert entry["action"] == "unchanged" and "not served" in entry["warnings"][0]


@pytest.mark.parametrize("definition, table, words", [
    (obj("FalcoRule", "falco.org/v1alpha1"), served("v1 Namespace"), "it serves FalcoRule in no version"),
    (obj("FalcoRule", "falco.org/v1alpha1"), served("falco.org/v1 FalcoRule"), "it serves FalcoRule in falco.org/v1, but no conversion"),
    (obj("Deployment", "apps/v1beta3"), served("apps/v1 Deployment"), "apps/v1beta3 is not a version of Deployment"),
    (obj("Job", "batch/v2"), served("batch/v1 Job"), "batch/v2 is not a version of Job"),
])
def test_unknown_kinds_and_versions_are_unsupported(definition, table, words):
    with pytest.raises(av.UnsupportedKind) as error:
        av.patch([definition], table)
    assert words in str(error.value)


def test_custom_resource_passes_when_its_definition_is_in_the_same_batch():
    crd = obj("CustomResourceDefinition", "apiextensions.k8s.io/v1", name="falcorules.falco.org", namespace=None,
              spec={"group": "falco.org", "names": {"kind": "FalcoRule"}, "versions": [{"name": "v1alpha1", "served": True}]})
    result = av.patch([crd, obj("FalcoRule", "falco.org/v1alpha1")], av.served_by_release("1.30"))
    assert [entry["action"] for entry in result["report"]] == ["unchanged", "unchanged"]


# ---------------------------------------------------------------------------------------------
# Invalid input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    ("kind: Pod", "definitions[1] is a str"),
    (None, "definitions[1] is a NoneType"),
    ({"kind": "Pod", "metadata": {"name": "x"}}, "definitions[1] (Pod x) has no apiVersion"),
    ({"apiVersion": "v1", "metadata": {"name": "x"}}, "has no kind"),
    ({"apiVersion": "v1", "kind": "Pod"}, "has no metadata.name"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "x-"}}, "has no metadata.name"),
    ({"apiVersion": 1, "kind": "Pod", "metadata": {"name": "x"}}, "has no apiVersion"),
])
def test_invalid_definition_names_its_position(bad, words):
    with pytest.raises(av.InvalidDefinition) as error:
        av.patch([obj("Namespace", "v1", namespace=None), bad], av.served_by_release("1.30"))
    assert words in str(error.value)


def test_definitions_must_be_a_list_and_the_mode_known():
    with pytest.raises(av.InvalidDefinition):
        av.patch({"kind": "Pod"}, {})
    with pytest.raises(ValueError, match="fail, skip, warn"):
        av.patch([], {}, unsupported="ignore")


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def test_conversion_tables_are_consistent_and_self_describing():
    all_served = set()
    for release in RELEASES:
        all_served.update((group_version, kind) for group_version, kinds in av.served_by_release(release).items() for kind in kinds)
    for kind, versions in av.KIND_VERSIONS.items():
        for version in versions:
            assert (version, kind) in all_served or version.endswith("alpha1"), (kind, version)
    for kind, steps in av.CONVERSIONS.items():
        assert kind in av.KIND_VERSIONS
        assert all(step.summary and callable(step.convert) for step in steps)
    for kind in WORKLOAD_KINDS:
        assert all((kind, version) in av.WORKLOAD_TRAITS for version in av.KIND_VERSIONS[kind])


def test_convert_refuses_versions_outside_the_preference_list():
    with pytest.raises(av.UnsupportedKind, match="no conversion from extensions/v1beta1 to apps/v1beta1"):
        av.convert(workload("DaemonSet", "extensions/v1beta1"), "apps/v1beta1")


# ---------------------------------------------------------------------------------------------
# Purity and speed
# ---------------------------------------------------------------------------------------------
MIXED_BATCH = [workload("Deployment", "extensions/v1beta1", selector={"app": "falco"}, rollbackTo={"revision": 1}),
               workload("DaemonSet", "extensions/v1beta1"), INGRESS_BETA, hpa("autoscaling/v2beta1", [old for old, _new in HPA_METRICS]),
               obj("PodSecurityPolicy", "policy/v1beta1", namespace=None, spec={}), obj("ConfigMap", "v1")]


@pytest.mark.parametrize("release", ["1.8", "1.15", "1.22", "1.30"])
def test_inputs_are_never_modified_and_outputs_share_nothing_with_them(release):
    batch = copy.deepcopy(MIXED_BATCH)
    result = av.patch(batch, av.served_by_release(release))
    assert batch == MIXED_BATCH
    for definition in result["definitions"]:
        definition["metadata"]["name"] = "changed"
        for value in definition.get("spec", {}).values():
            if isinstance(value, dict):
                value["mutated"] = True
    assert batch == MIXED_BATCH


def test_ten_thousand_objects_convert():
    batch = [workload(kind, version, labels={"app": "falco", "n": str(index)}) for index in range(2500)
             for kind, version in (("Deployment", "extensions/v1beta1"), ("DaemonSet", "extensions/v1beta1"),
                                   ("StatefulSet", "apps/v1beta1"), ("ReplicaSet", "extensions/v1beta1"))]
    table = av.served_by_release("1.30")
    result = av.patch(batch, table)  # its speed is measured by `make bench`, not asserted here
    assert len(result["definitions"]) == 10000 and all(entry["action"] == "converted" for entry in result["report"])


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------
LABEL_KEYS = st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)
LABEL_VALUES = st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)
CONTAINERS = st.lists(st.fixed_dictionaries({"name": LABEL_KEYS, "image": LABEL_VALUES},
                                            optional={"args": st.lists(st.text(max_size=8), max_size=3),
                                                      "ports": st.lists(st.fixed_dictionaries({"containerPort": st.integers(1, 65535)}), max_size=2)}),
                      min_size=1, max_size=3)
STRATEGIES = {
    "Deployment": st.one_of(st.just({"type": "Recreate"}), st.just({"type": "RollingUpdate"}),
                            st.fixed_dictionaries({"rollingUpdate": st.fixed_dictionaries({}, optional={
                                "maxSurge": st.sampled_from([0, 1, "50%"]), "maxUnavailable": st.sampled_from([0, 2, "10%"])})})),
    "DaemonSet": st.one_of(st.just({"type": "OnDelete"}), st.just({"type": "RollingUpdate"}),
                           st.just({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 3}})),
    "StatefulSet": st.one_of(st.just({"type": "OnDelete"}), st.just({"type": "RollingUpdate"}),
                             st.just({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})),
}


@st.composite
def workloads(draw, kinds_versions=None):
    kind, version = draw(st.sampled_from(kinds_versions or [(kind, version) for kind in WORKLOAD_KINDS for version in av.KIND_VERSIONS[kind]]))
    labels = draw(st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=4))
    spec = {"template": {"metadata": {"labels": labels}, "spec": {"containers": draw(CONTAINERS)}}}
    selector = draw(st.sampled_from(["none", "match", "shorthand"] if labels else ["none"]))
    if selector == "match":
        spec["selector"] = {"matchLabels": dict(labels)}
    elif selector == "shorthand":
        spec["selector"] = dict(labels)
    if kind in STRATEGIES and draw(st.booleans()):
        spec["strategy" if kind == "Deployment" else "updateStrategy"] = draw(STRATEGIES[kind])
    if draw(st.booleans()):
        spec["replicas"] = draw(st.integers(0, 5))
    return obj(kind, version, name=draw(LABEL_KEYS), spec=spec)


@settings(max_examples=300, deadline=None, database=None)
@given(definition=workloads(), release=st.sampled_from(RELEASES))
def test_patching_twice_changes_nothing_the_second_time(definition, release):
    original = copy.deepcopy(definition)
    table = av.served_by_release(release)
    first = av.patch([definition], table)
    assert definition == original
    assert first["definitions"][0]["kind"] in table[first["definitions"][0]["apiVersion"]]
    second = av.patch(first["definitions"], table)
    assert second["changed"] is False
    assert second["definitions"] == first["definitions"]


ROUND_TRIPS = [("Deployment", "extensions/v1beta1"), ("DaemonSet", "extensions/v1beta1"), ("ReplicaSet", "extensions/v1beta1"),
               ("StatefulSet", "apps/v1beta1"), ("Deployment", "apps/v1beta1")]


@settings(max_examples=300, deadline=None, database=None)
@given(definition=workloads(ROUND_TRIPS))
def test_up_and_down_again_keeps_the_pod_template(definition):
    kind, old = definition["kind"], definition["apiVersion"]
    up = av.patch([definition], served("apps/v1 %s" % kind))["definitions"][0]
    down = av.patch([up], served("%s %s" % (old, kind)))["definitions"][0]
    assert up["apiVersion"] == "apps/v1" and down["apiVersion"] == old
    assert up["spec"]["template"] == definition["spec"]["template"] == down["spec"]["template"]
    # Going up again from the round trip lands on the same object as the first time.
    assert av.patch([down], served("apps/v1 %s" % kind))["definitions"][0] == up
