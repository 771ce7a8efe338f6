"""Tests for localcluster.validation: defaults, causes and Status wording as kube-apiserver writes them."""

from __future__ import annotations

# Test names say what they check; "== []" is deliberate: it also asserts that a list comes back.
# pylint: disable=missing-function-docstring,use-implicit-booleaness-not-comparison,too-many-arguments,too-many-positional-arguments

import copy
from typing import Any

import pytest

from localcluster import validation as v
from localcluster.errors import ApiError

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                 "with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                 r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an "
             "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end "
               "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
STS_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                 "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def deployment(selector: Any = "same", labels: Any = "default", group: str = "apps", version: str = "v1", **spec: Any) -> dict[str, Any]:
    """A small Deployment; ``selector='same'`` mirrors the template labels."""
    labels = {"app": "web"} if labels == "default" else labels
    body: dict[str, Any] = {
        "apiVersion": f"{group}/{version}", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
    }
    if labels is not None:
        body["spec"]["template"]["metadata"]["labels"] = labels
    if selector == "same":
        body["spec"]["selector"] = {"matchLabels": dict(labels or {})}
    elif selector is not None:
        body["spec"]["selector"] = selector
    body["spec"].update(spec)
    return body


def statefulset(**spec: Any) -> dict[str, Any]:
    """A small apps/v1 StatefulSet."""
    body = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}}}}
    body["spec"].update(spec)
    return body


def service(**spec: Any) -> dict[str, Any]:
    """A small Service."""
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    body["spec"].update(spec)
    return body


def checked(obj: dict[str, Any], group: str, version: str, kind: str, old: dict[str, Any] | None = None, profile: str = "1.30",
            namespaced: bool = True) -> list[dict[str, str]]:
    """Default then validate, the way the server pipeline does."""
    new = v.apply_defaults(obj, group, version, kind, profile=profile)
    previous = v.apply_defaults(old, group, version, kind, profile=profile) if old is not None else None
    return v.validate(new, group, version, kind, old=previous, namespaced=namespaced, profile=profile)


def messages(causes: list[dict[str, str]]) -> list[str]:
    """``field: message`` per cause."""
    return [f"{c['field']}: {c['message']}" for c in causes]


# --- defaults ----------------------------------------------------------------------------------

@pytest.mark.parametrize("group,version,key,expected", [
    ("apps", "v1", "revisionHistoryLimit", 10),
    ("apps", "v1beta2", "revisionHistoryLimit", 10),
    ("apps", "v1beta1", "revisionHistoryLimit", 2),
    ("extensions", "v1beta1", "revisionHistoryLimit", 2147483647),
    ("apps", "v1", "progressDeadlineSeconds", 600),
    ("apps", "v1beta1", "progressDeadlineSeconds", 600),
    ("extensions", "v1beta1", "progressDeadlineSeconds", 2147483647),
    ("apps", "v1", "replicas", 1),
    ("extensions", "v1beta1", "replicas", 1),
])
def test_deployment_spec_defaults_depend_on_group_version(group, version, key, expected):
    out = v.apply_defaults(deployment(group=group, version=version), group, version, "Deployment", profile="1.15")
    assert out["spec"][key] == expected


@pytest.mark.parametrize("group,version,expected", [
    ("apps", "v1", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("apps", "v1beta1", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("extensions", "v1beta1", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}),
])
def test_deployment_strategy_default(group, version, expected):
    out = v.apply_defaults(deployment(group=group, version=version), group, version, "Deployment")
    assert out["spec"]["strategy"] == expected


def test_recreate_strategy_gets_no_rolling_update():
    out = v.apply_defaults(deployment(strategy={"type": "Recreate"}), "apps", "v1", "Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_extensions_deployment_1_8_has_no_history_or_deadline_default():
    out = v.apply_defaults(deployment(group="extensions", version="v1beta1"), "extensions", "v1beta1", "Deployment", profile="1.8")
    assert "revisionHistoryLimit" not in out["spec"] and "progressDeadlineSeconds" not in out["spec"]


@pytest.mark.parametrize("group,version,defaulted", [
    ("extensions", "v1beta1", True), ("apps", "v1beta1", True), ("apps", "v1beta2", False), ("apps", "v1", False),
])
def test_selector_defaults_from_template_labels_only_on_old_versions(group, version, defaulted):
    out = v.apply_defaults(deployment(selector=None, group=group, version=version), group, version, "Deployment")
    assert ("selector" in out["spec"]) is defaulted
    if defaulted:
        assert out["spec"]["selector"] == {"matchLabels": {"app": "web"}}
        assert out["metadata"]["labels"] == {"app": "web"}


def test_selector_defaulting_keeps_explicit_selector():
    obj = deployment(selector={"matchLabels": {"tier": "x"}}, group="extensions", version="v1beta1")
    out = v.apply_defaults(obj, "extensions", "v1beta1", "Deployment")
    assert out["spec"]["selector"] == {"matchLabels": {"tier": "x"}}


@pytest.mark.parametrize("key,expected", [
    ("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30), ("dnsPolicy", "ClusterFirst"),
    ("securityContext", {}), ("schedulerName", "default-scheduler"),
])
def test_pod_template_spec_defaults(key, expected):
    out = v.apply_defaults(deployment(), "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"][key] == expected


def test_pod_template_metadata_gets_null_creation_timestamp():
    out = v.apply_defaults(deployment(), "apps", "v1", "Deployment")
    assert out["spec"]["template"]["metadata"] == {"labels": {"app": "web"}, "creationTimestamp": None}


@pytest.mark.parametrize("key,expected", [
    ("terminationMessagePath", "/dev/termination-log"), ("terminationMessagePolicy", "File"), ("resources", {}),
    ("imagePullPolicy", "IfNotPresent"),
])
def test_container_defaults(key, expected):
    out = v.apply_defaults(deployment(), "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"]["containers"][0][key] == expected


@pytest.mark.parametrize("image,policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("registry:5000/team/app", "Always"), ("registry:5000/team/app:v2", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"), ("nginx:latest@sha256:" + "a" * 64, "Always"),
    ("docker.elastic.co/elasticsearch/elasticsearch:8.13.0", "IfNotPresent"),
])
def test_image_pull_policy_default_follows_tag(image, policy):
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = image
    out = v.apply_defaults(obj, "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_explicit_image_pull_policy_is_kept():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0].update(image="nginx", imagePullPolicy="Never")
    out = v.apply_defaults(obj, "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_container_port_protocol_defaults_to_tcp():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]
    out = v.apply_defaults(obj, "apps", "v1", "Deployment")
    assert [p["protocol"] for p in out["spec"]["template"]["spec"]["containers"][0]["ports"]] == ["TCP", "UDP"]


@pytest.mark.parametrize("profile,host_port", [("1.15", 9200), ("1.30", None)])
def test_host_network_template_host_port_default_is_release_dependent(profile, host_port):
    obj = deployment()
    obj["spec"]["template"]["spec"]["hostNetwork"] = True
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 9200}]
    out = v.apply_defaults(obj, "apps", "v1", "Deployment", profile=profile)
    assert out["spec"]["template"]["spec"]["containers"][0]["ports"][0].get("hostPort") == host_port


@pytest.mark.parametrize("volume,expected", [
    ({"name": "c", "configMap": {"name": "x"}}, {"name": "c", "configMap": {"name": "x", "defaultMode": 420}}),
    ({"name": "s", "secret": {"secretName": "x"}}, {"name": "s", "secret": {"secretName": "x", "defaultMode": 420}}),
    ({"name": "s", "secret": {"secretName": "x", "defaultMode": 256}}, {"name": "s", "secret": {"secretName": "x", "defaultMode": 256}}),
    ({"name": "h", "hostPath": {"path": "/var/log"}}, {"name": "h", "hostPath": {"path": "/var/log", "type": ""}}),
    ({"name": "e"}, {"name": "e", "emptyDir": {}}),
    ({"name": "p", "persistentVolumeClaim": {"claimName": "x"}}, {"name": "p", "persistentVolumeClaim": {"claimName": "x"}}),
])
def test_volume_defaults(volume, expected):
    obj = deployment()
    obj["spec"]["template"]["spec"]["volumes"] = [volume]
    out = v.apply_defaults(obj, "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"]["volumes"] == [expected]


def test_env_field_ref_gets_api_version():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    out = v.apply_defaults(obj, "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "spec.nodeName", "apiVersion": "v1"}


@pytest.mark.parametrize("probe_kind", ["livenessProbe", "readinessProbe", "startupProbe"])
def test_probe_defaults(probe_kind):
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0][probe_kind] = {"httpGet": {"port": 8080}}
    out = v.apply_defaults(obj, "apps", "v1", "Deployment")
    assert out["spec"]["template"]["spec"]["containers"][0][probe_kind] == {
        "httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


@pytest.mark.parametrize("group,version,profile,expected", [
    ("apps", "v1", "1.30", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    ("apps", "v1", "1.15", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}),
    ("extensions", "v1beta1", "1.15", {"type": "OnDelete"}),
])
def test_daemonset_update_strategy_default(group, version, profile, expected):
    obj = deployment(group=group, version=version)
    obj["kind"] = "DaemonSet"
    out = v.apply_defaults(obj, group, version, "DaemonSet", profile=profile)
    assert out["spec"]["updateStrategy"] == expected
    assert out["spec"]["revisionHistoryLimit"] == 10


def test_extensions_daemonset_defaults_template_generation_and_selector():
    obj = deployment(selector=None, group="extensions", version="v1beta1")
    out = v.apply_defaults(obj, "extensions", "v1beta1", "DaemonSet", profile="1.8")
    assert out["spec"]["templateGeneration"] == 1
    assert out["spec"]["selector"] == {"matchLabels": {"app": "web"}}


@pytest.mark.parametrize("version,strategy", [
    ("v1", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ("v1beta2", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ("v1beta1", {"type": "OnDelete"}),
])
def test_statefulset_update_strategy_default(version, strategy):
    out = v.apply_defaults(statefulset(), "apps", version, "StatefulSet")
    assert out["spec"]["updateStrategy"] == strategy
    assert out["spec"]["podManagementPolicy"] == "OrderedReady"
    assert out["spec"]["replicas"] == 1
    assert out["spec"]["revisionHistoryLimit"] == 10


@pytest.mark.parametrize("profile,expected", [
    ("1.30", {"whenDeleted": "Retain", "whenScaled": "Retain"}), ("1.15", None), ("1.8", None),
])
def test_statefulset_pvc_retention_policy_only_on_new_releases(profile, expected):
    out = v.apply_defaults(statefulset(), "apps", "v1", "StatefulSet", profile=profile)
    assert out["spec"].get("persistentVolumeClaimRetentionPolicy") == expected


def test_statefulset_volume_claim_templates_are_defaulted_like_pvcs():
    obj = statefulset(volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}])
    out = v.apply_defaults(obj, "apps", "v1", "StatefulSet")
    claim = out["spec"]["volumeClaimTemplates"][0]
    assert claim["apiVersion"] == "v1" and claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["status"] == {"phase": "Pending"}


def test_apps_v1beta1_statefulset_defaults_selector_but_v1_does_not():
    obj = statefulset()
    del obj["spec"]["selector"]
    assert v.apply_defaults(obj, "apps", "v1beta1", "StatefulSet")["spec"]["selector"] == {"matchLabels": {"app": "db"}}
    assert "selector" not in v.apply_defaults(obj, "apps", "v1", "StatefulSet")["spec"]


@pytest.mark.parametrize("port,expected", [
    ({"port": 80}, {"port": 80, "protocol": "TCP", "targetPort": 80}),
    ({"port": 80, "targetPort": "http"}, {"port": 80, "protocol": "TCP", "targetPort": "http"}),
    ({"port": 53, "protocol": "UDP", "targetPort": 5353}, {"port": 53, "protocol": "UDP", "targetPort": 5353}),
    ({"port": 80, "targetPort": 0}, {"port": 80, "protocol": "TCP", "targetPort": 80}),
])
def test_service_port_defaults(port, expected):
    out = v.apply_defaults(service(ports=[port]), "", "v1", "Service")
    assert out["spec"]["ports"] == [expected]


def test_service_spec_defaults_without_cluster_ip_allocation():
    out = v.apply_defaults(service(), "", "v1", "Service")
    assert out["spec"]["type"] == "ClusterIP" and out["spec"]["sessionAffinity"] == "None"
    assert out["spec"]["internalTrafficPolicy"] == "Cluster"
    assert "clusterIP" not in out["spec"] and "clusterIPs" not in out["spec"]


def test_node_port_service_gets_external_traffic_policy():
    out = v.apply_defaults(service(type="NodePort"), "", "v1", "Service")
    assert out["spec"]["externalTrafficPolicy"] == "Cluster"


@pytest.mark.parametrize("obj,expected", [
    ({"kind": "Secret", "metadata": {"name": "s"}}, "Opaque"),
    ({"kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/tls"}, "kubernetes.io/tls"),
])
def test_secret_type_default(obj, expected):
    assert v.apply_defaults(obj, "", "v1", "Secret")["type"] == expected


def test_secret_string_data_is_folded_into_data():
    out = v.apply_defaults({"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}}, "", "v1", "Secret")
    assert out["data"] == {"a": "eA==", "b": "aGVsbG8="} and "stringData" not in out


@pytest.mark.parametrize("profile,labels", [
    ("1.30", {"kubernetes.io/metadata.name": "logging"}), ("1.15", None),
])
def test_namespace_defaults(profile, labels):
    out = v.apply_defaults({"metadata": {"name": "logging"}}, "", "v1", "Namespace", profile=profile)
    assert out["spec"] == {"finalizers": ["kubernetes"]}
    assert out["status"] == {"phase": "Active"}
    assert out["metadata"].get("labels") == labels


def test_pvc_defaults():
    out = v.apply_defaults({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}, "", "v1", "PersistentVolumeClaim")
    assert out["spec"]["volumeMode"] == "Filesystem" and out["status"] == {"phase": "Pending"}


@pytest.mark.parametrize("kind", ["RoleBinding", "ClusterRoleBinding"])
def test_binding_subject_api_group_defaults(kind):
    obj = {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
           "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "ops"},
                        {"kind": "ServiceAccount", "name": "fluentd", "namespace": "logging"}]}
    out = v.apply_defaults(obj, "rbac.authorization.k8s.io", "v1", kind)
    assert [s.get("apiGroup") for s in out["subjects"]] == ["rbac.authorization.k8s.io", "rbac.authorization.k8s.io", None]
    assert out["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"


@pytest.mark.parametrize("kind", ["ConfigMap", "ServiceAccount", "PodDisruptionBudget"])
def test_kinds_without_defaults_come_back_equal(kind):
    obj = {"metadata": {"name": "x"}, "data": {"a": "b"}}
    assert v.apply_defaults(obj, "", "v1", kind) == obj


def test_job_defaults_and_cronjob_defaults():
    job = v.apply_defaults({"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": []}}}}, "batch", "v1", "Job")
    assert (job["spec"]["parallelism"], job["spec"]["completions"], job["spec"]["backoffLimit"]) == (1, 1, 6)
    cron = v.apply_defaults({"metadata": {"name": "c"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {}}}}},
                            "batch", "v1", "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Allow"
    assert (cron["spec"]["successfulJobsHistoryLimit"], cron["spec"]["failedJobsHistoryLimit"]) == (3, 1)


def test_apply_defaults_does_not_mutate_argument():
    obj = deployment(selector=None, group="extensions", version="v1beta1")
    snapshot = copy.deepcopy(obj)
    v.apply_defaults(obj, "extensions", "v1beta1", "Deployment")
    assert obj == snapshot


def test_apply_defaults_is_idempotent():
    once = v.apply_defaults(deployment(), "apps", "v1", "Deployment")
    assert v.apply_defaults(once, "apps", "v1", "Deployment") == once


# --- validation: metadata ----------------------------------------------------------------------

@pytest.mark.parametrize("kind,name,message", [
    ("ConfigMap", "Bad_Name", f'Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'),
    ("ConfigMap", "a" * 254, 'Invalid value: "' + "a" * 254 + '": must be no more than 253 characters'),
    ("Namespace", "my.ns", f'Invalid value: "my.ns": {LABEL_MSG}'),
    ("Service", "1web", f'Invalid value: "1web": {DNS1035_MSG}'),
])
def test_invalid_names_use_the_kind_name_rule(kind, name, message):
    causes = checked({"metadata": {"name": name, "namespace": "default"}}, "", "v1", kind, namespaced=kind != "Namespace")
    assert {"reason": "FieldValueInvalid", "message": message, "field": "metadata.name"} in causes


@pytest.mark.parametrize("kind,name", [("ConfigMap", "my.config"), ("Namespace", "logging"), ("Service", "web-1"),
                                       ("ClusterRole", "system:aggregate-to-view"), ("ServiceAccount", "fluent-bit")])
def test_valid_names_pass(kind, name):
    namespaced = kind not in ("Namespace", "ClusterRole")
    meta = {"name": name, "namespace": "default"} if namespaced else {"name": name}
    assert not [c for c in checked({"metadata": meta}, "", "v1", kind, namespaced=namespaced) if c["field"] == "metadata.name"]


@pytest.mark.parametrize("name,message", [(".", "may not be '.'"), ("a/b", "may not contain '/'"), ("a%b", "may not contain '%'")])
def test_rbac_names_are_path_segments(name, message):
    causes = v.validate({"metadata": {"name": name}}, "rbac.authorization.k8s.io", "v1", "ClusterRole", namespaced=False)
    assert causes == [{"reason": "FieldValueInvalid", "message": f'Invalid value: "{name}": {message}', "field": "metadata.name"}]


def test_missing_name_is_required_with_generate_name_hint():
    causes = v.validate({"metadata": {"namespace": "default"}}, "", "v1", "ConfigMap")
    assert causes == [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]


def test_namespace_on_cluster_scoped_object_is_forbidden():
    causes = v.validate({"metadata": {"name": "x", "namespace": "default"}}, "", "v1", "Namespace", namespaced=False)
    assert messages(causes) == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_namespaced_object_without_namespace_requires_one():
    assert messages(v.validate({"metadata": {"name": "x"}}, "", "v1", "ConfigMap")) == ["metadata.namespace: Required value"]


@pytest.mark.parametrize("labels,expected", [
    ({"app": "web", "app.kubernetes.io/name": "x"}, []),
    ({"bad key": "v"}, ['metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', '
                        "and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ({"/x": "v"}, ['metadata.labels: Invalid value: "/x": prefix part must be non-empty']),
    ({"app": "a b"}, ['metadata.labels: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '
                      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                      "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ({"app": "x" * 64}, ['metadata.labels: Invalid value: "' + "x" * 64 + '": must be no more than 63 characters']),
    ({"a/b/c": "v"}, ['metadata.labels: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, \'-\', \'_\' or '
                      "'.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                      "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
                      "(e.g. 'example.com/MyName')"]),
])
def test_label_syntax(labels, expected):
    assert messages(v.validate({"metadata": {"name": "x", "namespace": "d", "labels": labels}}, "", "v1", "ConfigMap")) == expected


def test_annotation_keys_are_lowercased_before_checking_and_values_are_free():
    meta = {"name": "x", "namespace": "d", "annotations": {"Example.COM/Key": "any value at all!", "bad key": ""}}
    causes = v.validate({"metadata": meta}, "", "v1", "ConfigMap")
    assert [c["field"] for c in causes] == ["metadata.annotations"]
    assert causes[0]["message"].startswith('Invalid value: "bad key": name part must consist')


def test_annotations_over_256k_are_too_long():
    meta = {"name": "x", "namespace": "d", "annotations": {"big": "x" * 262142}}
    assert messages(v.validate({"metadata": meta}, "", "v1", "ConfigMap")) == ["metadata.annotations: Too long: must have at most 262144 bytes"]


def test_old_releases_word_dns_messages_differently():
    causes = v.validate({"metadata": {"name": "Bad", "namespace": "d"}}, "", "v1", "ConfigMap", profile="1.15")
    assert causes[0]["message"].startswith('Invalid value: "Bad": a DNS-1123 subdomain must consist of')


# --- validation: workloads ---------------------------------------------------------------------

def test_valid_deployment_has_no_causes():
    assert checked(deployment(), "apps", "v1", "Deployment") == []


def test_apps_v1_deployment_without_selector_reports_required_and_mismatch():
    assert messages(checked(deployment(selector=None), "apps", "v1", "Deployment")) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ]


def test_extensions_deployment_without_selector_is_valid_because_it_is_defaulted():
    assert checked(deployment(selector=None, group="extensions", version="v1beta1"), "extensions", "v1beta1", "Deployment") == []


@pytest.mark.parametrize("selector,labels,rendered", [
    ({"matchLabels": {"app": "api"}}, {"app": "web"}, 'map[string]string{"app":"web"}'),
    ({"matchLabels": {"app": "web"}}, None, "map[string]string(nil)"),
    ({"matchLabels": {"app": "web"}}, {}, "map[string]string{}"),
    ({"matchLabels": {"app": "web", "tier": "x"}}, {"tier": "x", "app": "web2"}, 'map[string]string{"app":"web2", "tier":"x"}'),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}, {"app": "web"}, 'map[string]string{"app":"web"}'),
])
def test_selector_mismatch_renders_template_labels_like_go(selector, labels, rendered):
    causes = checked(deployment(selector=selector, labels=labels), "apps", "v1", "Deployment")
    assert {"reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
            "message": f"Invalid value: {rendered}: `selector` does not match template `labels`"} in causes


@pytest.mark.parametrize("selector,labels", [
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, {"app": "web"}),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"app": "x"}),
    ({"matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}], "matchLabels": {"app": "web"}}, {"app": "web"}),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}, {"app": "web"}),
])
def test_selector_expressions_that_match_are_accepted(selector, labels):
    assert checked(deployment(selector=selector, labels=labels), "apps", "v1", "Deployment") == []


@pytest.mark.parametrize("selector,rendered", [
    ({}, "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"),
    ({"matchLabels": {}}, "v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"),
])
def test_empty_selector_is_invalid_for_deployment(selector, rendered):
    causes = checked(deployment(selector=selector), "apps", "v1", "Deployment")
    assert messages(causes) == [f"spec.selector: Invalid value: {rendered}: empty selector is invalid for deployment"]


def test_selector_expression_without_values_is_required():
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In"}]}
    causes = checked(deployment(selector=selector), "apps", "v1", "Deployment")
    assert "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'" in messages(causes)


@pytest.mark.parametrize("containers,expected", [
    ([], ["spec.template.spec.containers: Required value"]),
    ([{"image": "nginx"}], ["spec.template.spec.containers[0].name: Required value"]),
    ([{"name": "web"}], ["spec.template.spec.containers[0].image: Required value"]),
    ([{"name": "Web", "image": "nginx"}], [f'spec.template.spec.containers[0].name: Invalid value: "Web": {LABEL_MSG}']),
    ([{"name": "web", "image": "a"}, {"name": "web", "image": "b"}], ['spec.template.spec.containers[1].name: Duplicate value: "web"']),
])
def test_container_rules(containers, expected):
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"] = containers
    assert messages(checked(obj, "apps", "v1", "Deployment")) == expected


@pytest.mark.parametrize("port,expected", [
    ({"containerPort": 70000}, ["spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
    ({"containerPort": -1}, ["spec.template.spec.containers[0].ports[0].containerPort: Invalid value: -1: must be between 1 and 65535, inclusive"]),
    ({"containerPort": 0}, ["spec.template.spec.containers[0].ports[0].containerPort: Required value"]),
    ({"containerPort": 80, "hostPort": 65536}, ["spec.template.spec.containers[0].ports[0].hostPort: Invalid value: 65536: must be between 1 and 65535, "
                                                "inclusive"]),
    ({"containerPort": 80, "protocol": "HTTP"}, ['spec.template.spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: '
                                                 '"SCTP", "TCP", "UDP"']),
    ({"containerPort": 80, "name": "http_port"}, ['spec.template.spec.containers[0].ports[0].name: Invalid value: "http_port": must contain only '
                                                  'alpha-numeric characters (a-z, 0-9), and hyphens (-)']),
    ({"containerPort": 80, "name": "8080"}, ['spec.template.spec.containers[0].ports[0].name: Invalid value: "8080": must contain at least one '
                                             'letter (a-z)']),
    ({"containerPort": 80, "name": "http"}, []),
])
def test_container_port_rules(port, expected):
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [port]
    assert messages(checked(obj, "apps", "v1", "Deployment")) == expected


def test_duplicate_container_port_names():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]
    assert messages(checked(obj, "apps", "v1", "Deployment")) == ['spec.template.spec.containers[0].ports[1].name: Duplicate value: "http"']


def test_volume_mount_must_name_a_volume():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    assert messages(checked(obj, "apps", "v1", "Deployment")) == ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"']


def test_duplicate_volume_names():
    obj = deployment()
    obj["spec"]["template"]["spec"]["volumes"] = [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]
    assert messages(checked(obj, "apps", "v1", "Deployment")) == ['spec.template.spec.volumes[1].name: Duplicate value: "a"']


def test_template_label_errors_use_template_labels_path():
    obj = deployment(selector={"matchLabels": {"app": "web"}}, labels={"app": "web", "bad key": "x"})
    assert [c["field"] for c in checked(obj, "apps", "v1", "Deployment")] == ["spec.template.labels"]


def test_deployment_restart_policy_must_be_always():
    obj = deployment()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert messages(checked(obj, "apps", "v1", "Deployment")) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']


def test_unknown_restart_policy_also_fails_pod_spec_validation():
    obj = deployment()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Sometimes"
    assert messages(checked(obj, "apps", "v1", "Deployment")) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        'spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always"']


@pytest.mark.parametrize("spec,expected", [
    ({"replicas": -1}, ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
    ({"revisionHistoryLimit": -2}, ["spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0"]),
    ({"minReadySeconds": 600}, ["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"]),
    ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}},
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0']),
    ({"strategy": {"type": "Recreate", "rollingUpdate": {}}},
     ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]),
    ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "120%", "maxSurge": 1}}},
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"120%"}: must not be greater than 100%']),
])
def test_deployment_spec_rules(spec, expected):
    assert messages(checked(deployment(**spec), "apps", "v1", "Deployment")) == expected


def test_daemonset_mismatch_without_required_selector():
    obj = deployment(selector=None)
    obj["kind"] = "DaemonSet"
    assert messages(checked(obj, "apps", "v1", "DaemonSet")) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`']


def test_daemonset_empty_selector_is_invalid():
    obj = deployment(selector={})
    assert messages(checked(obj, "apps", "v1", "DaemonSet")) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
        "empty selector is invalid for daemonset"]


def test_daemonset_rolling_update_with_both_surge_and_unavailable():
    obj = deployment(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}})
    assert messages(checked(obj, "apps", "v1", "DaemonSet")) == [
        'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: '
        "may not be set when maxUnavailable is non-zero"]


def test_valid_statefulset_and_empty_selector():
    assert checked(statefulset(), "apps", "v1", "StatefulSet") == []
    assert messages(checked(statefulset(selector={}), "apps", "v1", "StatefulSet")) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
        "empty selector is invalid for statefulset"]


def test_statefulset_pod_management_policy_values():
    assert messages(checked(statefulset(podManagementPolicy="Random"), "apps", "v1", "StatefulSet")) == [
        "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"]


def test_job_restart_policy_defaulted_to_always_is_rejected():
    job = {"metadata": {"name": "j", "namespace": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    assert messages(checked(job, "batch", "v1", "Job")) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']


def test_cronjob_requires_schedule_and_short_name():
    cron = {"metadata": {"name": "c" * 53, "namespace": "d"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "b"}]}}}}}}
    assert messages(checked(cron, "batch", "v1", "CronJob")) == [
        'metadata.name: Invalid value: "' + "c" * 53 + '": must be no more than 52 characters', "spec.schedule: Required value"]


# --- validation: services and others -----------------------------------------------------------

def test_valid_service():
    assert checked(service(), "", "v1", "Service") == []


@pytest.mark.parametrize("spec,expected", [
    ({"ports": []}, ["spec.ports: Required value"]),
    ({"ports": [], "clusterIP": "None"}, []),
    ({"ports": [], "type": "ExternalName", "externalName": "example.com"}, []),
    # The defaulted targetPort copies the bad port, so the real server reports both.
    ({"ports": [{"port": 0}]}, ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ({"ports": [{"port": 70000, "targetPort": 80}]}, ["spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
    ({"ports": [{"port": 80}, {"port": 81}]}, ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
    ({"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]}, ['spec.ports[1].name: Duplicate value: "a"']),
    ({"type": "Magic"}, ['spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"']),
    ({"sessionAffinity": "Sticky"}, ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"']),
    ({"type": "ExternalName", "ports": []}, ["spec.externalName: Required value"]),
    ({"ports": [{"port": 80, "protocol": "ICMP"}]}, ['spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']),
])
def test_service_rules(spec, expected):
    assert messages(checked(service(**spec), "", "v1", "Service")) == expected


@pytest.mark.parametrize("profile,new_ip,expected", [
    ("1.30", "10.96.0.11", ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']),
    ("1.30", "", []),
    ("1.30", "10.96.0.10", []),
    ("1.15", "10.96.0.11", ['spec.clusterIP: Invalid value: "10.96.0.11": field is immutable']),
    ("1.15", "", ['spec.clusterIP: Invalid value: "": field is immutable']),
])
def test_service_cluster_ip_is_immutable(profile, new_ip, expected):
    old = service(clusterIP="10.96.0.10")
    new = service(clusterIP=new_ip) if new_ip else service()
    assert messages(checked(new, "", "v1", "Service", old=old, profile=profile)) == expected


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_immutable_data_cannot_change(kind):
    old = {"metadata": {"name": "c", "namespace": "d"}, "immutable": True, "data": {"a": "YQ=="}}
    new = copy.deepcopy(old)
    new["data"]["a"] = "Yg=="
    assert messages(checked(new, "", "v1", kind, old=old)) == ["data: Forbidden: field is immutable when `immutable` is set"]


def test_immutable_flag_cannot_be_unset():
    old = {"metadata": {"name": "c", "namespace": "d"}, "immutable": True, "data": {"a": "b"}}
    new = {"metadata": {"name": "c", "namespace": "d"}, "data": {"a": "b"}}
    assert messages(checked(new, "", "v1", "ConfigMap", old=old)) == ["immutable: Forbidden: field is immutable when `immutable` is set"]


def test_mutable_configmap_can_change():
    old = {"metadata": {"name": "c", "namespace": "d"}, "data": {"a": "b"}}
    new = {"metadata": {"name": "c", "namespace": "d"}, "data": {"a": "c"}}
    assert checked(new, "", "v1", "ConfigMap", old=old) == []


def test_secret_type_is_immutable():
    old = {"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"}
    new = {"metadata": {"name": "s", "namespace": "d"}, "type": "example.com/custom"}
    assert messages(checked(new, "", "v1", "Secret", old=old)) == ['type: Invalid value: "example.com/custom": field is immutable']


@pytest.mark.parametrize("key,expected", [
    ("fluent-bit.conf", []),
    ("bad key", ["data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                 "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]),
    ("..x", ["data[..x]: Invalid value: \"..x\": must not start with '..'"]),
])
def test_configmap_keys(key, expected):
    assert messages(v.validate({"metadata": {"name": "c", "namespace": "d"}, "data": {key: "v"}}, "", "v1", "ConfigMap")) == expected


def test_tls_secret_requires_cert_and_key():
    obj = {"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}
    assert messages(checked(obj, "", "v1", "Secret")) == ["data[tls.key]: Required value"]


def test_pvc_requires_access_modes_and_storage():
    assert messages(checked({"metadata": {"name": "p", "namespace": "d"}, "spec": {}}, "", "v1", "PersistentVolumeClaim")) == [
        "spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"]


def test_role_binding_role_ref_cannot_change():
    old = {"metadata": {"name": "b", "namespace": "d"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
           "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}
    new = copy.deepcopy(old)
    new["roleRef"]["name"] = "edit"
    assert messages(checked(new, "rbac.authorization.k8s.io", "v1", "RoleBinding", old=old)) == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef']


def test_cluster_role_binding_rules():
    obj = {"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "view"},
           "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "Robot", "name": "r"}]}
    assert messages(checked(obj, "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", namespaced=False)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value",
        'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"']


def test_role_rules_need_verbs_groups_and_resources():
    obj = {"metadata": {"name": "r", "namespace": "d"}, "rules": [{}]}
    assert messages(v.validate(obj, "rbac.authorization.k8s.io", "v1", "Role")) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        "rules[0].resources: Required value: resource rules must supply at least one resource"]


# --- update rules for workloads ----------------------------------------------------------------

def test_apps_v1_deployment_selector_is_immutable():
    old = deployment(selector={"matchLabels": {"app": "web"}}, labels={"app": "web", "tier": "x"})
    new = deployment(selector={"matchLabels": {"app": "web", "tier": "x"}}, labels={"app": "web", "tier": "x"})
    assert messages(checked(new, "apps", "v1", "Deployment", old=old)) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"]


@pytest.mark.parametrize("group,version", [("extensions", "v1beta1"), ("apps", "v1beta1")])
def test_legacy_deployment_selector_may_change(group, version):
    old = deployment(selector={"matchLabels": {"app": "web"}}, labels={"app": "web", "tier": "x"}, group=group, version=version)
    new = deployment(selector={"matchLabels": {"tier": "x"}}, labels={"app": "web", "tier": "x"}, group=group, version=version)
    assert checked(new, group, version, "Deployment", old=old) == []


def test_daemonset_selector_is_immutable_on_apps_v1():
    old = deployment(selector={"matchLabels": {"app": "web"}}, labels={"app": "web", "tier": "x"})
    new = deployment(selector={"matchLabels": {"tier": "x"}}, labels={"app": "web", "tier": "x"})
    assert [c["message"].endswith("field is immutable") for c in checked(new, "apps", "v1", "DaemonSet", old=old)] == [True]


def test_deployment_update_of_mutable_fields_is_valid():
    assert checked(deployment(replicas=3), "apps", "v1", "Deployment", old=deployment()) == []


@pytest.mark.parametrize("change,allowed", [
    ({"replicas": 5}, True), ({"updateStrategy": {"type": "OnDelete"}}, True), ({"minReadySeconds": 5}, True),
    ({"serviceName": "other"}, False), ({"podManagementPolicy": "Parallel"}, False),
    ({"selector": {"matchLabels": {"app": "db", "x": "y"}}}, False),
])
def test_statefulset_spec_updates(change, allowed):
    new = statefulset(**change)
    if "selector" in change:
        new["spec"]["template"]["metadata"]["labels"] = {"app": "db", "x": "y"}
    causes = checked(new, "apps", "v1", "StatefulSet", old=statefulset())
    assert causes == ([] if allowed else [{"reason": "FieldValueForbidden", "message": f"Forbidden: {STS_FORBIDDEN}", "field": "spec"}])


def test_statefulset_forbidden_wording_on_1_15():
    causes = checked(statefulset(serviceName="x"), "apps", "v1", "StatefulSet", old=statefulset(), profile="1.15")
    assert messages(causes) == ["spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'template', and 'updateStrategy' are forbidden"]


def test_name_change_on_update_is_immutable():
    old = {"metadata": {"name": "a", "namespace": "d"}}
    new = {"metadata": {"name": "b", "namespace": "d"}}
    assert messages(v.validate(new, "", "v1", "ConfigMap", old=old)) == ['metadata.name: Invalid value: "b": field is immutable']


def test_validate_does_not_mutate_arguments():
    obj, old = v.apply_defaults(deployment(replicas=2), "apps", "v1", "Deployment"), v.apply_defaults(deployment(), "apps", "v1", "Deployment")
    snapshot = copy.deepcopy((obj, old))
    v.validate(obj, "apps", "v1", "Deployment", old=old)
    assert (obj, old) == snapshot


# --- Status errors -----------------------------------------------------------------------------

def test_invalid_error_with_one_cause():
    err = v.invalid_error("Deployment", "apps", "web", [v.required("spec.selector")])
    assert isinstance(err, ApiError) and (err.code, err.reason) == (422, "Invalid")
    assert err.message == 'Deployment.apps "web" is invalid: spec.selector: Required value'
    assert err.details == {"name": "web", "group": "apps", "kind": "Deployment",
                           "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"}]}


def test_invalid_error_with_several_causes_uses_brackets():
    causes = checked(deployment(selector=None), "apps", "v1", "Deployment")
    err = v.invalid_error("Deployment", "apps", "web", causes)
    assert err.message == ('Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: '
                           'map[string]string{"app":"web"}: `selector` does not match template `labels`]')


def test_invalid_error_for_core_kind_has_no_group():
    err = v.invalid_error("Service", "", "web", [v.required("spec.ports")])
    assert err.message == 'Service "web" is invalid: spec.ports: Required value'
    assert "group" not in err.details
    assert err.status()["details"]["kind"] == "Service"


def test_invalid_error_deduplicates_message_but_keeps_causes():
    cause = v.required("spec.ports")
    err = v.invalid_error("Service", "", "web", [cause, cause])
    assert err.message == 'Service "web" is invalid: spec.ports: Required value'
    assert len(err.details["causes"]) == 2


def test_invalid_error_without_causes():
    assert v.invalid_error("Service", "", "web", []).message == 'Service "web" is invalid'


# --- unknown fields ----------------------------------------------------------------------------

@pytest.mark.parametrize("mutate,expected", [
    (lambda o: o["spec"].update(foo=1), [".spec.foo"]),
    (lambda o: o["spec"]["template"]["spec"]["containers"][0].update(bogus=True), [".spec.template.spec.containers[0].bogus"]),
    (lambda o: o["metadata"].update(nme="x"), [".metadata.nme"]),
    (lambda o: o.update(status={"replicas": 1, "oops": 2}), [".status.oops"]),
    (lambda o: o["metadata"].update(labels={"any": "thing"}, annotations={"a/b": "c"}), []),
    (lambda o: o["metadata"].update(managedFields=[{"manager": "m", "fieldsV1": {"f:spec": {"f:x": {}}}}]), []),
    (lambda o: o["spec"]["template"]["spec"]["containers"][0].update(resources={"limits": {"cpu": "1"}}), []),
    (lambda o: o["spec"]["strategy"].update(rollingUpdate={"maxSurge": 1, "maxSurgeX": 2}), [".spec.strategy.rollingUpdate.maxSurgeX"]),
])
def test_unknown_fields_paths(mutate, expected):
    obj = deployment(strategy={"type": "RollingUpdate"})
    mutate(obj)
    assert v.unknown_fields(obj, "apps", "v1", "Deployment") == expected


def test_known_object_has_no_unknown_fields_after_defaulting():
    obj = v.apply_defaults(statefulset(volumeClaimTemplates=[{"metadata": {"name": "d"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]),
                           "apps", "v1", "StatefulSet")
    assert v.unknown_fields(obj, "apps", "v1", "StatefulSet") == []


def test_extensions_deployment_keeps_its_own_fields():
    obj = deployment(group="extensions", version="v1beta1", rollbackTo={"revision": 1})
    assert v.unknown_fields(obj, "extensions", "v1beta1", "Deployment") == []
    assert v.unknown_fields(obj, "apps", "v1", "Deployment") == [".spec.rollbackTo"]


def test_configmap_data_is_a_free_map():
    assert v.unknown_fields({"metadata": {"name": "x"}, "data": {"anything": "goes"}, "extra": 1}, "", "v1", "ConfigMap") == [".extra"]


def test_field_validation_error_for_create_wraps_decode_error():
    err = v.field_validation_error("Deployment", [".spec.foo", ".spec.bar"], version="v1")
    assert (err.code, err.reason) == (400, "BadRequest")
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                           'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"')


def test_field_validation_error_for_patch_is_bare():
    assert v.field_validation_error("Deployment", [".spec.foo"]).message == 'strict decoding error: unknown field "spec.foo"'


def test_field_validation_warnings():
    assert v.field_validation_warnings([".spec.foo", ".spec.template.spec.containers[0].bogus"]) == [
        'unknown field "spec.foo"', 'unknown field "spec.template.spec.containers[0].bogus"']
