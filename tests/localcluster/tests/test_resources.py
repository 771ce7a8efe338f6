"""What each profile serves, as kube-apiserver of that release listed it in discovery."""

from __future__ import annotations

import dataclasses

import pytest

from localcluster import resources

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@pytest.mark.parametrize("profile,group,version,plural,served", [
    # apps: v1 only arrived in 1.9; the betas went away in 1.16.
    ("1.8", "apps", "v1", "deployments", False),
    ("1.8", "apps", "v1beta2", "deployments", True),
    ("1.8", "apps", "v1beta1", "deployments", True),
    ("1.8", "apps", "v1beta1", "daemonsets", False),
    ("1.15", "apps", "v1", "deployments", True),
    ("1.15", "apps", "v1beta2", "statefulsets", True),
    ("1.15", "apps", "v1beta1", "deployments", True),
    ("1.30", "apps", "v1", "deployments", True),
    ("1.30", "apps", "v1beta2", "deployments", False),
    ("1.30", "apps", "v1beta1", "deployments", False),
    ("1.8", "apps", "v1beta2", "controllerrevisions", True),
    ("1.30", "apps", "v1", "controllerrevisions", True),
    # extensions/v1beta1
    ("1.8", "extensions", "v1beta1", "deployments", True),
    ("1.15", "extensions", "v1beta1", "deployments", True),
    ("1.30", "extensions", "v1beta1", "deployments", False),
    ("1.15", "extensions", "v1beta1", "podsecuritypolicies", True),
    ("1.15", "extensions", "v1beta1", "ingresses", True),
    ("1.15", "extensions", "v1beta1", "networkpolicies", True),
    # policy
    ("1.8", "policy", "v1beta1", "podsecuritypolicies", True),
    ("1.15", "policy", "v1beta1", "podsecuritypolicies", True),
    ("1.30", "policy", "v1beta1", "podsecuritypolicies", False),
    ("1.30", "policy", "v1", "podsecuritypolicies", False),
    ("1.30", "policy", "v1", "poddisruptionbudgets", True),
    ("1.15", "policy", "v1", "poddisruptionbudgets", False),
    # batch
    ("1.8", "batch", "v1beta1", "cronjobs", True),
    ("1.8", "batch", "v2alpha1", "cronjobs", False),
    ("1.15", "batch", "v1beta1", "cronjobs", True),
    ("1.15", "batch", "v1", "cronjobs", False),
    ("1.30", "batch", "v1beta1", "cronjobs", False),
    ("1.30", "batch", "v1", "cronjobs", True),
    ("1.8", "batch", "v1", "jobs", True),
    # rbac: GA in 1.8, v1alpha1 off by default
    ("1.8", "rbac.authorization.k8s.io", "v1", "clusterroles", True),
    ("1.8", "rbac.authorization.k8s.io", "v1beta1", "rolebindings", True),
    ("1.8", "rbac.authorization.k8s.io", "v1alpha1", "roles", False),
    ("1.15", "rbac.authorization.k8s.io", "v1beta1", "roles", True),
    ("1.30", "rbac.authorization.k8s.io", "v1beta1", "roles", False),
    # networking
    ("1.8", "networking.k8s.io", "v1", "networkpolicies", True),
    ("1.8", "networking.k8s.io", "v1beta1", "ingresses", False),
    ("1.15", "networking.k8s.io", "v1beta1", "ingresses", True),
    ("1.15", "networking.k8s.io", "v1", "ingresses", False),
    ("1.30", "networking.k8s.io", "v1", "ingresses", True),
    ("1.30", "networking.k8s.io", "v1", "ingressclasses", True),
    ("1.30", "networking.k8s.io", "v1beta1", "ingresses", False),
    # scheduling: alpha (off) in 1.8
    ("1.8", "scheduling.k8s.io", "v1alpha1", "priorityclasses", False),
    ("1.15", "scheduling.k8s.io", "v1", "priorityclasses", True),
    ("1.15", "scheduling.k8s.io", "v1beta1", "priorityclasses", True),
    ("1.30", "scheduling.k8s.io", "v1", "priorityclasses", True),
    # authentication / authorization
    ("1.30", "authentication.k8s.io", "v1", "selfsubjectreviews", True),
    ("1.15", "authentication.k8s.io", "v1", "selfsubjectreviews", False),
    ("1.8", "authentication.k8s.io", "v1", "tokenreviews", True),
    ("1.8", "authorization.k8s.io", "v1", "selfsubjectrulesreviews", True),
    ("1.30", "authorization.k8s.io", "v1beta1", "subjectaccessreviews", False),
    # others
    ("1.8", "apiextensions.k8s.io", "v1beta1", "customresourcedefinitions", True),
    ("1.15", "apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    ("1.30", "apiextensions.k8s.io", "v1", "customresourcedefinitions", True),
    ("1.30", "apiextensions.k8s.io", "v1beta1", "customresourcedefinitions", False),
    ("1.8", "coordination.k8s.io", "v1", "leases", False),
    ("1.15", "coordination.k8s.io", "v1", "leases", True),
    ("1.8", "events.k8s.io", "v1beta1", "events", False),
    ("1.15", "events.k8s.io", "v1beta1", "events", True),
    ("1.30", "events.k8s.io", "v1", "events", True),
    ("1.8", "admissionregistration.k8s.io", "v1alpha1", "initializerconfigurations", False),
    ("1.15", "admissionregistration.k8s.io", "v1beta1", "validatingwebhookconfigurations", True),
    ("1.30", "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", True),
    ("1.8", "storage.k8s.io", "v1", "storageclasses", True),
    ("1.30", "autoscaling", "v2", "horizontalpodautoscalers", True),
    ("1.15", "autoscaling", "v2", "horizontalpodautoscalers", False),
    ("1.15", "autoscaling", "v2beta2", "horizontalpodautoscalers", True),
    ("1.30", "discovery.k8s.io", "v1", "endpointslices", True),
    ("1.15", "discovery.k8s.io", "v1beta1", "endpointslices", False),
])
def test_lookup_answers_only_for_what_the_release_served(profile, group, version, plural, served):
    assert (resources.lookup(profile, group, version, plural) is not None) is served


@pytest.mark.parametrize("profile", resources.PROFILES)
@pytest.mark.parametrize("plural", [
    "pods", "services", "endpoints", "namespaces", "nodes", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims",
    "persistentvolumes", "events", "limitranges", "resourcequotas", "replicationcontrollers", "componentstatuses", "podtemplates",
    "bindings",
])
def test_core_v1_resources_are_served_on_every_profile(profile, plural):
    res = resources.lookup(profile, "", "v1", plural)
    assert res is not None and res.group_version == "v1"


@pytest.mark.parametrize("profile,group,versions,preferred", [
    ("1.8", "apps", ["v1beta2", "v1beta1"], "v1beta2"),
    ("1.15", "apps", ["v1", "v1beta2", "v1beta1"], "v1"),
    ("1.30", "apps", ["v1"], "v1"),
    ("1.8", "rbac.authorization.k8s.io", ["v1", "v1beta1"], "v1"),
    ("1.8", "batch", ["v1", "v1beta1"], "v1"),
    ("1.30", "autoscaling", ["v2", "v1"], "v2"),
    ("1.15", "autoscaling", ["v1", "v2beta1", "v2beta2"], "v1"),
    ("1.15", "scheduling.k8s.io", ["v1", "v1beta1"], "v1"),
    ("1.30", "policy", ["v1"], "v1"),
    ("1.8", "policy", ["v1beta1"], "v1beta1"),
    ("1.8", "extensions", ["v1beta1"], "v1beta1"),
    ("1.30", "flowcontrol.apiserver.k8s.io", ["v1", "v1beta3"], "v1"),
])
def test_groups_list_versions_in_preference_order(profile, group, versions, preferred):
    assert (group, versions, preferred) in resources.groups(profile)


@pytest.mark.parametrize("profile,group", [
    ("1.30", "extensions"), ("1.8", "scheduling.k8s.io"), ("1.8", "admissionregistration.k8s.io"), ("1.8", "events.k8s.io"),
    ("1.8", "coordination.k8s.io"), ("1.15", "discovery.k8s.io"), ("1.30", "settings.k8s.io"), ("1.30", "resource.k8s.io"),
])
def test_groups_leave_out_groups_not_served(profile, group):
    assert group not in [entry[0] for entry in resources.groups(profile)]
    assert resources.api_group_body(profile, group) is None


@pytest.mark.parametrize("plural,short", [
    ("deployments", ["deploy"]), ("daemonsets", ["ds"]), ("statefulsets", ["sts"]), ("replicasets", ["rs"]),
    ("services", ["svc"]), ("namespaces", ["ns"]), ("configmaps", ["cm"]), ("serviceaccounts", ["sa"]),
    ("persistentvolumeclaims", ["pvc"]), ("persistentvolumes", ["pv"]), ("poddisruptionbudgets", ["pdb"]),
    ("podsecuritypolicies", ["psp"]), ("cronjobs", ["cj"]), ("ingresses", ["ing"]), ("priorityclasses", ["pc"]),
    ("storageclasses", ["sc"]), ("customresourcedefinitions", ["crd", "crds"]), ("networkpolicies", ["netpol"]),
    ("pods", ["po"]), ("nodes", ["no"]), ("endpoints", ["ep"]), ("events", ["ev"]), ("limitranges", ["limits"]),
    ("resourcequotas", ["quota"]), ("replicationcontrollers", ["rc"]), ("componentstatuses", ["cs"]),
    ("horizontalpodautoscalers", ["hpa"]), ("certificatesigningrequests", ["csr"]),
])
def test_short_names_match_kube_apiserver_on_every_version_serving_them(plural, short):
    found = [res for profile in resources.PROFILES for res in resources.served(profile) if res.name == plural]
    assert found
    assert all(list(res.short_names) == short for res in found)


@pytest.mark.parametrize("plural,short", [("secrets", []), ("jobs", []), ("roles", []), ("controllerrevisions", [])])
def test_resources_without_short_names_have_none(plural, short):
    res = resources.lookup("1.30", {"jobs": "batch", "roles": "rbac.authorization.k8s.io", "controllerrevisions": "apps"}.get(plural, ""),
                           "v1", plural)
    assert list(res.short_names) == short


@pytest.mark.parametrize("profile,group,version,plural,in_all", [
    ("1.30", "", "v1", "pods", True), ("1.30", "", "v1", "services", True), ("1.30", "apps", "v1", "deployments", True),
    ("1.30", "apps", "v1", "daemonsets", True), ("1.30", "apps", "v1", "statefulsets", True), ("1.30", "apps", "v1", "replicasets", True),
    ("1.30", "batch", "v1", "jobs", True), ("1.30", "batch", "v1", "cronjobs", True), ("1.30", "", "v1", "replicationcontrollers", True),
    ("1.15", "extensions", "v1beta1", "deployments", True), ("1.8", "batch", "v1beta1", "cronjobs", True),
    ("1.30", "", "v1", "configmaps", False), ("1.30", "", "v1", "secrets", False), ("1.30", "apps", "v1", "controllerrevisions", False),
    ("1.30", "networking.k8s.io", "v1", "ingresses", False),
])
def test_category_all_covers_workloads_and_services_only(profile, group, version, plural, in_all):
    assert ("all" in resources.lookup(profile, group, version, plural).categories) is in_all


@pytest.mark.parametrize("profile", resources.PROFILES)
@pytest.mark.parametrize("plural", ["selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews",
                                    "localsubjectaccessreviews"])
def test_access_reviews_only_accept_create(profile, plural):
    assert resources.lookup(profile, "authorization.k8s.io", "v1", plural).verbs == ("create",)


@pytest.mark.parametrize("profile,group,version,plural,namespaced", [
    ("1.30", "", "v1", "nodes", False), ("1.30", "", "v1", "namespaces", False), ("1.30", "", "v1", "persistentvolumes", False),
    ("1.30", "", "v1", "pods", True), ("1.30", "rbac.authorization.k8s.io", "v1", "clusterroles", False),
    ("1.30", "rbac.authorization.k8s.io", "v1", "roles", True), ("1.15", "policy", "v1beta1", "podsecuritypolicies", False),
    ("1.15", "extensions", "v1beta1", "podsecuritypolicies", False), ("1.30", "authorization.k8s.io", "v1", "selfsubjectaccessreviews", False),
    ("1.30", "authorization.k8s.io", "v1", "localsubjectaccessreviews", True), ("1.30", "storage.k8s.io", "v1", "storageclasses", False),
    ("1.30", "scheduling.k8s.io", "v1", "priorityclasses", False), ("1.30", "apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    ("1.30", "coordination.k8s.io", "v1", "leases", True), ("1.30", "networking.k8s.io", "v1", "ingressclasses", False),
])
def test_scope_matches_the_real_resource(profile, group, version, plural, namespaced):
    assert resources.lookup(profile, group, version, plural).namespaced is namespaced


@pytest.mark.parametrize("profile,plural,verbs", [
    ("1.8", "pods", ["create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"]),
    ("1.15", "pods", ALL_VERBS),
    ("1.30", "pods", ALL_VERBS),
    ("1.8", "services", ["create", "delete", "get", "list", "patch", "proxy", "update", "watch"]),
    ("1.15", "services", ["create", "delete", "get", "list", "patch", "update", "watch"]),
    ("1.30", "services", ALL_VERBS),
    ("1.30", "namespaces", ["create", "delete", "get", "list", "patch", "update", "watch"]),
    ("1.30", "componentstatuses", ["get", "list"]),
    ("1.30", "bindings", ["create"]),
])
def test_core_verbs_follow_the_release(profile, plural, verbs):
    assert list(resources.lookup(profile, "", "v1", plural).verbs) == verbs


@pytest.mark.parametrize("profile,group,version,plural,sub,gvk", [
    ("1.30", "apps", "v1", "deployments", "scale", ("autoscaling", "v1", "Scale")),
    ("1.15", "apps", "v1", "statefulsets", "scale", ("autoscaling", "v1", "Scale")),
    ("1.8", "apps", "v1beta2", "deployments", "scale", ("apps", "v1beta2", "Scale")),
    ("1.8", "apps", "v1beta1", "deployments", "scale", ("apps", "v1beta1", "Scale")),
    ("1.15", "extensions", "v1beta1", "deployments", "scale", ("extensions", "v1beta1", "Scale")),
    ("1.30", "", "v1", "replicationcontrollers", "scale", ("autoscaling", "v1", "Scale")),
    ("1.30", "apps", "v1", "deployments", "status", ("apps", "v1", "Deployment")),
    ("1.30", "", "v1", "pods", "eviction", ("policy", "v1", "Eviction")),
    ("1.15", "", "v1", "pods", "eviction", ("policy", "v1beta1", "Eviction")),
    ("1.30", "", "v1", "pods", "log", ("", "v1", "Pod")),
    ("1.30", "", "v1", "pods", "exec", ("", "v1", "PodExecOptions")),
    ("1.30", "", "v1", "services", "proxy", ("", "v1", "ServiceProxyOptions")),
    ("1.30", "", "v1", "namespaces", "finalize", ("", "v1", "Namespace")),
    ("1.30", "", "v1", "serviceaccounts", "token", ("authentication.k8s.io", "v1", "TokenRequest")),
    ("1.8", "", "v1", "serviceaccounts", "token", None),
    ("1.15", "", "v1", "pods", "ephemeralcontainers", None),
    ("1.30", "", "v1", "pods", "ephemeralcontainers", ("", "v1", "Pod")),
    ("1.8", "extensions", "v1beta1", "deployments", "rollback", ("extensions", "v1beta1", "DeploymentRollback")),
    ("1.30", "apps", "v1", "deployments", "rollback", None),
])
def test_subresources_name_the_kind_they_read_and_write(profile, group, version, plural, sub, gvk):
    assert resources.lookup(profile, group, version, plural).subresource_gvk(sub) == gvk


@pytest.mark.parametrize("group,plural,key", [
    ("extensions", "deployments", "apps/deployments"),
    ("apps", "deployments", "apps/deployments"),
    ("extensions", "daemonsets", "apps/daemonsets"),
    ("apps", "daemonsets", "apps/daemonsets"),
    ("extensions", "replicasets", "apps/replicasets"),
    ("extensions", "networkpolicies", "networking.k8s.io/networkpolicies"),
    ("networking.k8s.io", "networkpolicies", "networking.k8s.io/networkpolicies"),
    ("extensions", "podsecuritypolicies", "policy/podsecuritypolicies"),
    ("policy", "podsecuritypolicies", "policy/podsecuritypolicies"),
    ("extensions", "ingresses", "networking.k8s.io/ingresses"),
    ("networking.k8s.io", "ingresses", "networking.k8s.io/ingresses"),
    ("batch", "cronjobs", "batch/cronjobs"),
    ("", "pods", "core/pods"),
    ("apps", "statefulsets", "apps/statefulsets"),
])
def test_storage_key_joins_groups_that_share_objects(group, plural, key):
    assert resources.storage_key(group, plural) == key


def test_storage_key_keeps_core_and_named_groups_apart():
    assert resources.storage_key("", "events") != resources.storage_key("events.k8s.io", "events")
    assert resources.storage_key("", "deployments") != resources.storage_key("apps", "deployments")


@pytest.mark.parametrize("profile", resources.PROFILES)
def test_every_served_resource_has_a_storage_key_shared_by_all_its_versions(profile):
    by_kind: dict[tuple[str, str], set[str]] = {}
    for res in resources.served(profile):
        by_kind.setdefault((res.group, res.name), set()).add(resources.storage_key(res.group, res.name))
    assert all(len(keys) == 1 for keys in by_kind.values())


@pytest.mark.parametrize("profile,git_version,minor", [("1.8", "v1.8.8-gke.0", "8+"), ("1.15", "v1.15.12", "15"), ("1.30", "v1.30.5", "30")])
def test_version_body_identifies_the_release(profile, git_version, minor):
    body = resources.version_body(profile)
    assert body["gitVersion"] == git_version and body["minor"] == minor and body["major"] == "1"
    assert set(body) == {"major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"}
    assert len(body["gitCommit"]) == 40 and body["gitTreeState"] == "clean" and body["platform"] == "linux/amd64"
    assert int(body["minor"].rstrip("+")) == int(git_version.split(".")[1])


def test_version_body_is_a_fresh_dict():
    resources.version_body("1.30")["gitVersion"] = "x"
    assert resources.version_body("1.30")["gitVersion"] == "v1.30.5"


@pytest.mark.parametrize("profile", resources.PROFILES)
def test_api_versions_body_lists_v1_and_the_server_address(profile):
    body = resources.api_versions_body(profile, server_address="10.0.0.1:443")
    assert body == {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:443"}]}


@pytest.mark.parametrize("profile", resources.PROFILES)
def test_api_group_list_has_no_core_group_and_prefers_the_first_version(profile):
    body = resources.api_group_list_body(profile)
    assert body["kind"] == "APIGroupList" and body["apiVersion"] == "v1"
    names = [group["name"] for group in body["groups"]]
    assert "" not in names and len(names) == len(set(names))
    for group in body["groups"]:
        assert group["preferredVersion"] == group["versions"][0]
        assert all(v["groupVersion"] == f"{group['name']}/{v['version']}" for v in group["versions"])


def test_api_group_list_starts_with_apiregistration_like_kube_apiserver():
    assert resources.api_group_list_body("1.30")["groups"][0]["name"] == "apiregistration.k8s.io"
    assert [g["name"] for g in resources.api_group_list_body("1.8")["groups"]][:3] == ["apiregistration.k8s.io", "extensions", "apps"]


def test_api_group_body_names_its_versions():
    assert resources.api_group_body("1.15", "apps") == {
        "kind": "APIGroup", "apiVersion": "v1", "name": "apps",
        "versions": [{"groupVersion": "apps/v1", "version": "v1"}, {"groupVersion": "apps/v1beta2", "version": "v1beta2"},
                     {"groupVersion": "apps/v1beta1", "version": "v1beta1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
    }


def test_api_group_body_has_no_core_group():
    assert resources.api_group_body("1.30", "") is None


def _entries(profile, group, version):
    return {entry["name"]: entry for entry in resources.api_resource_list_body(profile, group, version)["resources"]}


def test_core_resource_list_has_no_api_version_like_kube_apiserver():
    body = resources.api_resource_list_body("1.30", "", "v1")
    assert "apiVersion" not in body and body["kind"] == "APIResourceList" and body["groupVersion"] == "v1"
    assert resources.api_resource_list_body("1.30", "apps", "v1")["apiVersion"] == "v1"


@pytest.mark.parametrize("profile,group,version", [("1.8", "apps", "v1"), ("1.30", "extensions", "v1beta1"), ("1.30", "nope", "v1"),
                                                   ("1.30", "", "v2")])
def test_resource_list_of_an_unserved_group_version_is_none(profile, group, version):
    assert resources.api_resource_list_body(profile, group, version) is None


def test_resource_list_entries_are_sorted_with_subresources_after_their_parent():
    names = [entry["name"] for entry in resources.api_resource_list_body("1.30", "", "v1")["resources"]]
    assert names == sorted(names)
    assert names.index("pods") < names.index("pods/log") < names.index("podtemplates")


@pytest.mark.parametrize("name,expected", [
    ("deployments/scale", {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling", "version": "v1",
                           "kind": "Scale", "verbs": ["get", "patch", "update"]}),
    ("deployments/status", {"name": "deployments/status", "singularName": "", "namespaced": True, "kind": "Deployment",
                            "verbs": ["get", "patch", "update"]}),
    ("deployments", {"name": "deployments", "singularName": "deployment", "namespaced": True, "kind": "Deployment",
                     "verbs": ALL_VERBS, "shortNames": ["deploy"], "categories": ["all"]}),
    ("controllerrevisions", {"name": "controllerrevisions", "singularName": "controllerrevision", "namespaced": True,
                             "kind": "ControllerRevision", "verbs": ALL_VERBS}),
])
def test_apps_v1_discovery_entries_on_1_30(name, expected):
    assert _entries("1.30", "apps", "v1")[name] == expected


@pytest.mark.parametrize("name,kind,verbs", [
    ("pods/log", "Pod", ["get"]), ("pods/exec", "PodExecOptions", ["create", "get"]), ("pods/attach", "PodAttachOptions", ["create", "get"]),
    ("pods/portforward", "PodPortForwardOptions", ["create", "get"]), ("pods/binding", "Binding", ["create"]),
    ("services/proxy", "ServiceProxyOptions", ["create", "delete", "get", "patch", "update"]),
    ("nodes/proxy", "NodeProxyOptions", ["create", "delete", "get", "patch", "update"]),
    ("namespaces/finalize", "Namespace", ["update"]), ("namespaces/status", "Namespace", ["get", "patch", "update"]),
    ("replicationcontrollers/scale", "Scale", ["get", "patch", "update"]),
])
def test_core_subresource_entries(name, kind, verbs):
    entry = _entries("1.15", "", "v1")[name]
    assert entry["kind"] == kind and entry["verbs"] == verbs and entry["singularName"] == ""


@pytest.mark.parametrize("profile,singular", [("1.8", ""), ("1.15", ""), ("1.30", "pod")])
def test_singular_name_is_only_published_from_1_27(profile, singular):
    assert _entries(profile, "", "v1")["pods"]["singularName"] == singular


def test_entries_without_short_names_or_categories_omit_the_keys():
    entry = _entries("1.30", "", "v1")["secrets"]
    assert "shortNames" not in entry and "categories" not in entry


def test_pod_eviction_entry_names_policy_group_version():
    assert _entries("1.8", "", "v1")["pods/eviction"]["version"] == "v1beta1"
    assert _entries("1.30", "", "v1")["pods/eviction"]["group"] == "policy"


def test_crd_entry_on_1_30_is_in_api_extensions_category():
    entry = _entries("1.30", "apiextensions.k8s.io", "v1")["customresourcedefinitions"]
    assert entry["shortNames"] == ["crd", "crds"] and entry["categories"] == ["api-extensions"] and entry["namespaced"] is False


@pytest.mark.parametrize("profile", resources.PROFILES)
def test_every_served_group_version_has_a_resource_list_of_its_resources(profile):
    for group, versions, _unused in resources.groups(profile):
        for version in versions:
            body = resources.api_resource_list_body(profile, group, version)
            tops = [e["name"] for e in body["resources"] if "/" not in e["name"]]
            assert sorted(tops) == sorted(r.name for r in resources.served(profile) if (r.group, r.version) == (group, version))


@pytest.mark.parametrize("profile", resources.PROFILES)
def test_plurals_and_kinds_are_unique_within_a_group_version(profile):
    seen_names, seen_kinds = set(), set()
    for res in resources.served(profile):
        assert (res.group, res.version, res.name) not in seen_names
        assert (res.group, res.version, res.kind) not in seen_kinds
        seen_names.add((res.group, res.version, res.name))
        seen_kinds.add((res.group, res.version, res.kind))


@pytest.mark.parametrize("profile,group,version,kind,plural", [
    ("1.30", "apps", "v1", "Deployment", "deployments"), ("1.15", "extensions", "v1beta1", "PodSecurityPolicy", "podsecuritypolicies"),
    ("1.30", "", "v1", "Endpoints", "endpoints"), ("1.30", "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
])
def test_lookup_kind_finds_the_plural(profile, group, version, kind, plural):
    assert resources.lookup_kind(profile, group, version, kind).name == plural


def test_lookup_kind_returns_none_when_not_served():
    assert resources.lookup_kind("1.30", "extensions", "v1beta1", "Deployment") is None
    assert resources.lookup_kind("1.30", "apps", "v1", "Scale") is None


def test_lookup_does_not_answer_for_subresource_names():
    assert resources.lookup("1.30", "apps", "v1", "deployments/status") is None


def test_group_version_of_core_and_named_groups():
    assert resources.lookup("1.30", "", "v1", "pods").group_version == "v1"
    assert resources.lookup("1.30", "apps", "v1", "deployments").group_version == "apps/v1"


def test_group_versions_reads_like_kubectl_api_versions():
    assert resources.group_versions("1.8")[:3] == ["v1", "apiregistration.k8s.io/v1beta1", "extensions/v1beta1"]
    assert "apps/v1" not in resources.group_versions("1.8")


def test_resources_are_immutable():
    res = resources.lookup("1.30", "", "v1", "pods")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.verbs = ()  # type: ignore[misc]


def test_served_returns_a_new_list_each_time():
    first = resources.served("1.30")
    first.clear()
    assert resources.served("1.30")


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match="unknown profile"):
        resources.served("1.99")
    with pytest.raises(ValueError):
        resources.version_body("1.16")
