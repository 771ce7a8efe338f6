"""Tests for localcluster.rbac: rule matching, bindings, aggregation, bootstrap policy, 403 bodies, reviews."""
# Test names state the behaviour under test; a docstring would only repeat them.
# pylint: disable=missing-function-docstring

from __future__ import annotations

import copy

import pytest

from localcluster import rbac
from localcluster.errors import ApiError
from localcluster.rbac import Attributes, Policy, UserInfo, non_resource_attributes, resource_attributes

ALICE = UserInfo("alice", ("system:authenticated",))
BOB = UserInfo("bob", ("devs", "system:authenticated"))
ADMIN = UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))
ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


def cluster_role(name, rules=None, labels=None, aggregation=None):
    """A ClusterRole; ``aggregation`` is its list of clusterRoleSelectors."""
    obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}}
    if labels:
        obj["metadata"]["labels"] = labels
    if rules is not None:
        obj["rules"] = rules
    if aggregation is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": aggregation}
    return obj


def role(name, namespace, rules):
    """A namespaced Role."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": rules}


def subject(kind, name, namespace=None):
    """A binding subject; only User and Group carry the rbac apiGroup."""
    found = {"kind": kind, "name": name}
    if kind != "ServiceAccount":
        found["apiGroup"] = "rbac.authorization.k8s.io"
    if namespace:
        found["namespace"] = namespace
    return found


def cluster_binding(name, role_name, *subjects):
    """A ClusterRoleBinding to a ClusterRole."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name}, "subjects": list(subjects)}


def binding(name, namespace, kind, role_name, *subjects):
    """A RoleBinding to a Role or ClusterRole."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name}, "subjects": list(subjects)}


def single_rule_policy(rule, user="alice"):
    """alice holds exactly one rule, cluster-wide."""
    return Policy(cluster_roles=[cluster_role("r", [rule])], cluster_role_bindings=[cluster_binding("b", "r", subject("User", user))])


def bootstrap(profile, extra_bindings=(), extra_role_bindings=()):
    """A Policy over the bootstrap objects of ``profile`` plus extra bindings."""
    objects = rbac.bootstrap_policy(profile)
    roles = [o for o in objects if o["kind"] == "ClusterRole"]
    bindings = [o for o in objects if o["kind"] == "ClusterRoleBinding"] + list(extra_bindings)
    return Policy(cluster_roles=roles, cluster_role_bindings=bindings, role_bindings=list(extra_role_bindings))


def by_name(objects, kind, name):
    """The object of ``kind`` called ``name``."""
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


# ----------------------------------------------------------------------------------- rule matching

RESOURCE_CASES = [
    # (rule, attributes, allowed)
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, resource_attributes("get", "pods", "ns"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, resource_attributes("list", "pods", "ns"), False),
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, resource_attributes("deletecollection", "pods", "ns"), True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments"]}, resource_attributes("get", "deployments", "ns", api_group="apps"), True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments"]},
     resource_attributes("get", "deployments", "ns", api_group="extensions"), False),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]},
     resource_attributes("get", "deployments", "ns", api_group="extensions"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, resource_attributes("get", "pods", "ns", api_group="apps"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}, resource_attributes("get", "secrets", "ns"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}, resource_attributes("get", "pods", "ns", subresource="log"), True),
    # A main resource does not grant its subresources ...
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}, resource_attributes("create", "pods", "ns", "web", subresource="exec"), False),
    # ... only resource/subresource does, and that one does not grant the main resource.
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}, resource_attributes("create", "pods", "ns", "web", subresource="exec"), True),
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}, resource_attributes("create", "pods", "ns"), False),
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}, resource_attributes("create", "pods", "ns", "w", subresource="attach"), False),
    ({"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]},
     resource_attributes("update", "deployments", "ns", "web", "apps", "scale"), True),
    ({"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]}, resource_attributes("update", "deployments", "ns", "web", "apps"), False),
    ({"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/scale"]},
     resource_attributes("update", "deployments", "ns", "web", "apps", "status"), False),
    ({"verbs": ["update"], "apiGroups": ["*"], "resources": ["deployments/scale"]},
     resource_attributes("update", "replicasets", "ns", "w", "apps", "scale"), False),
    # "*/le" must not match "scale" by suffix.
    ({"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/le"]}, resource_attributes("update", "deployments", "ns", "w", "apps", "scale"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     resource_attributes("get", "configmaps", "ns", "cfg"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     resource_attributes("get", "configmaps", "ns", "other"), False),
    # resourceNames never match requests without a name.
    ({"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     resource_attributes("list", "configmaps", "ns"), False),
    ({"verbs": ["watch"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     resource_attributes("watch", "configmaps", "ns"), False),
    ({"verbs": ["create"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]},
     resource_attributes("create", "configmaps", "ns"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, non_resource_attributes("get", "/pods"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["*"]}, resource_attributes("get", "pods", "ns"), False),
]


@pytest.mark.parametrize("rule,attrs,allowed", RESOURCE_CASES)
def test_resource_rule_matching_allows_exactly_what_kube_apiserver_allows(rule, attrs, allowed):
    assert single_rule_policy(rule).authorize(ALICE, attrs)[0] is allowed
    assert rbac.rule_allows(attrs, rule) is allowed


NON_RESOURCE_CASES = [
    (["/healthz"], "get", "/healthz", True),
    (["/healthz"], "get", "/healthz/etcd", False),
    (["/healthz"], "post", "/healthz", False),
    (["/apis/*"], "get", "/apis/apps/v1", True),
    (["/apis/*"], "get", "/apis/", True),
    (["/apis/*"], "get", "/apis", False),
    (["/api*"], "get", "/apis", True),
    (["*"], "get", "/anything/at/all", True),
    (["/version"], "get", "/version/", False),
]


@pytest.mark.parametrize("urls,verb,path,allowed", NON_RESOURCE_CASES)
def test_non_resource_url_rules_match_exactly_or_by_trailing_star(urls, verb, path, allowed):
    policy = single_rule_policy({"verbs": ["get"], "nonResourceURLs": urls})
    assert policy.authorize(ALICE, non_resource_attributes(verb, path))[0] is allowed


def test_rule_without_verbs_or_groups_allows_nothing():
    assert not single_rule_policy({"apiGroups": [""], "resources": ["pods"]}).authorize(ALICE, resource_attributes("get", "pods", "ns"))[0]
    assert not single_rule_policy({"verbs": ["get"], "resources": ["pods"]}).authorize(ALICE, resource_attributes("get", "pods", "ns"))[0]


# ----------------------------------------------------------------------------------- subjects and bindings

READ_PODS = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]


@pytest.mark.parametrize("subj,user,allowed", [
    (subject("User", "alice"), ALICE, True),
    (subject("User", "alice"), BOB, False),
    (subject("Group", "devs"), BOB, True),
    (subject("Group", "devs"), ALICE, False),
    (subject("Group", "system:authenticated"), ALICE, True),
    (subject("Group", "system:authenticated"), ANONYMOUS, False),
    (subject("ServiceAccount", "fluentd", "logging"), rbac.service_account_user("logging", "fluentd"), True),
    (subject("ServiceAccount", "fluentd", "logging"), rbac.service_account_user("other", "fluentd"), False),
    (subject("ServiceAccount", "fluentd", "logging"), rbac.service_account_user("logging", "fluent"), False),
    # A ClusterRoleBinding has no namespace to default to: a service account subject without one matches nobody.
    (subject("ServiceAccount", "fluentd"), rbac.service_account_user("logging", "fluentd"), False),
    (subject("Group", "system:serviceaccounts"), rbac.service_account_user("logging", "fluentd"), True),
    (subject("Group", "system:serviceaccounts:logging"), rbac.service_account_user("logging", "fluentd"), True),
    (subject("Group", "system:serviceaccounts:logging"), rbac.service_account_user("kube-system", "fluentd"), False),
    ({"kind": "Robot", "name": "alice"}, ALICE, False),
])
def test_cluster_role_binding_subjects_match_users_groups_and_service_accounts(subj, user, allowed):
    policy = Policy(cluster_roles=[cluster_role("reader", READ_PODS)], cluster_role_bindings=[cluster_binding("b", "reader", subj)])
    assert policy.authorize(user, resource_attributes("list", "pods", "anywhere"))[0] is allowed


def test_service_account_user_carries_the_groups_the_authenticator_adds():
    user = rbac.service_account_user("logging", "fluentd")
    assert user.username == "system:serviceaccount:logging:fluentd"
    assert set(user.groups) == {"system:serviceaccounts", "system:serviceaccounts:logging", "system:authenticated"}


def test_role_binding_service_account_without_namespace_defaults_to_the_binding_namespace():
    policy = Policy(cluster_roles=[cluster_role("reader", READ_PODS)],
                    role_bindings=[binding("b", "logging", "ClusterRole", "reader", subject("ServiceAccount", "fluentd"))])
    assert policy.authorize(rbac.service_account_user("logging", "fluentd"), resource_attributes("list", "pods", "logging"))[0]
    assert not policy.authorize(rbac.service_account_user("other", "fluentd"), resource_attributes("list", "pods", "logging"))[0]


def test_role_binding_to_cluster_role_grants_only_inside_its_namespace():
    policy = Policy(cluster_roles=[cluster_role("reader", READ_PODS)],
                    role_bindings=[binding("b", "logging", "ClusterRole", "reader", subject("User", "alice"))])
    assert policy.authorize(ALICE, resource_attributes("list", "pods", "logging"))[0]
    assert not policy.authorize(ALICE, resource_attributes("list", "pods", "default"))[0]
    assert not policy.authorize(ALICE, resource_attributes("list", "pods"))[0]


def test_role_binding_to_role_uses_the_role_of_its_own_namespace():
    policy = Policy(roles=[role("reader", "logging", READ_PODS), role("writer", "default", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])],
                    role_bindings=[binding("b", "logging", "Role", "reader", subject("User", "alice")),
                                   binding("w", "logging", "Role", "writer", subject("User", "alice"))])
    assert policy.authorize(ALICE, resource_attributes("get", "pods", "logging"))[0]
    # "writer" lives in default; the logging binding naming it resolves to nothing.
    assert not policy.authorize(ALICE, resource_attributes("delete", "pods", "logging"))[0]


def test_cluster_role_binding_grants_in_every_namespace_and_at_cluster_scope():
    policy = Policy(cluster_roles=[cluster_role("reader", READ_PODS)], cluster_role_bindings=[cluster_binding("b", "reader", subject("User", "alice"))])
    for namespace in ("a", "b", ""):
        assert policy.authorize(ALICE, resource_attributes("list", "pods", namespace))[0]


def test_allowed_reason_names_the_cluster_role_binding_role_and_subject():
    policy = bootstrap("1.30")
    assert policy.authorize(ADMIN, resource_attributes("delete", "nodes", name="n1")) == (
        True, 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"')


def test_allowed_reason_for_role_binding_names_binding_with_namespace_and_service_account_with_namespace():
    policy = Policy(roles=[role("reader", "logging", READ_PODS)],
                    role_bindings=[binding("read", "logging", "Role", "reader", subject("User", "bob"), subject("ServiceAccount", "fluentd"))])
    assert policy.authorize(rbac.service_account_user("logging", "fluentd"), resource_attributes("get", "pods", "logging")) == (
        True, 'RBAC: allowed by RoleBinding "read/logging" of Role "reader" to ServiceAccount "fluentd/logging"')


def test_denied_reason_is_empty_when_nothing_went_wrong():
    assert bootstrap("1.30").authorize(ALICE, resource_attributes("list", "pods", "default")) == (False, "")


def test_denied_reason_reports_bindings_whose_role_is_missing():
    policy = Policy(cluster_role_bindings=[cluster_binding("b", "ghost", subject("User", "alice"))],
                    role_bindings=[binding("r", "ns", "Role", "gone", subject("User", "alice"))])
    assert policy.authorize(ALICE, resource_attributes("get", "pods", "ns")) == (
        False, 'RBAC: [clusterrole.rbac.authorization.k8s.io "ghost" not found, role.rbac.authorization.k8s.io "gone" not found]')
    assert policy.authorize(ALICE, resource_attributes("get", "pods")) == (False, 'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found')


def test_missing_role_does_not_hide_a_grant_from_another_binding():
    policy = Policy(cluster_roles=[cluster_role("reader", READ_PODS)],
                    cluster_role_bindings=[cluster_binding("a", "ghost", subject("User", "alice")), cluster_binding("b", "reader", subject("User", "alice"))])
    assert policy.authorize(ALICE, resource_attributes("get", "pods", "ns"))[0]


def test_bindings_to_other_users_do_not_report_missing_roles():
    policy = Policy(cluster_role_bindings=[cluster_binding("b", "ghost", subject("User", "bob"))])
    assert policy.authorize(ALICE, resource_attributes("get", "pods", "ns")) == (False, "")


def test_unsupported_role_ref_kind_is_a_resolution_error():
    bad = cluster_binding("b", "x", subject("User", "alice"))
    bad["roleRef"]["kind"] = "Policy"
    assert Policy(cluster_role_bindings=[bad]).authorize(ALICE, resource_attributes("get", "pods")) == (
        False, 'RBAC: unsupported role reference kind: "Policy"')


def test_system_masters_is_allowed_by_the_server_chain_even_without_rbac_bindings():
    assert rbac.authorize(ADMIN, resource_attributes("delete", "namespaces", name="x"), Policy()) == (True, "")
    assert not Policy().authorize(ADMIN, resource_attributes("delete", "namespaces", name="x"))[0]
    assert rbac.authorize(ALICE, resource_attributes("get", "pods", "ns"), Policy()) == (False, "")


def test_policy_does_not_see_later_changes_to_the_objects_it_was_built_from():
    roles = [cluster_role("reader", copy.deepcopy(READ_PODS))]
    policy = Policy(cluster_roles=roles, cluster_role_bindings=[cluster_binding("b", "reader", subject("User", "alice"))])
    roles[0]["rules"][0]["verbs"] = []
    assert policy.authorize(ALICE, resource_attributes("get", "pods", "ns"))[0]


# ----------------------------------------------------------------------------------- aggregation

def test_aggregated_role_gets_the_union_of_selected_roles_rules():
    roles = [
        cluster_role("monitoring", aggregation=[{"matchLabels": {"agg": "monitoring"}}]),
        cluster_role("a", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], labels={"agg": "monitoring"}),
        cluster_role("b", [{"verbs": ["list"], "apiGroups": [""], "resources": ["services"]}], labels={"agg": "monitoring"}),
        cluster_role("c", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], labels={"agg": "other"}),
    ]
    result = rbac.aggregate(roles)
    assert result[0]["rules"] == [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
                                  {"verbs": ["list"], "apiGroups": [""], "resources": ["services"]}]
    assert result[1:] == roles[1:]


def test_aggregation_drops_duplicate_rules_and_orders_selected_roles_by_name():
    rule = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    roles = [cluster_role("agg", aggregation=[{"matchLabels": {"x": "1"}}]),
             cluster_role("zz", [rule, {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}], labels={"x": "1"}),
             cluster_role("aa", [dict(rule)], labels={"x": "1"})]
    assert rbac.aggregate(roles)[0]["rules"] == [rule, {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}]


def test_aggregation_replaces_stale_rules_and_follows_chains():
    roles = [
        cluster_role("top", [{"verbs": ["stale"], "apiGroups": [""], "resources": ["x"]}], aggregation=[{"matchLabels": {"to": "top"}}]),
        cluster_role("middle", labels={"to": "top"}, aggregation=[{"matchLabels": {"to": "middle"}}]),
        cluster_role("leaf", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], labels={"to": "middle"}),
    ]
    top, middle, _unused = rbac.aggregate(roles)
    assert middle["rules"] == [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]
    assert top["rules"] == [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]


def test_aggregation_supports_match_expressions():
    roles = [cluster_role("agg", aggregation=[{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                                                    {"key": "off", "operator": "DoesNotExist"}]}]),
             cluster_role("in", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], labels={"tier": "a"}),
             cluster_role("off", [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}], labels={"tier": "b", "off": "1"}),
             cluster_role("out", [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}], labels={"tier": "c"})]
    assert [r["resources"] for r in rbac.aggregate(roles)[0]["rules"]] == [["pods"]]


@pytest.mark.parametrize("expression,labels,matches", [
    ({"key": "k", "operator": "NotIn", "values": ["v"]}, {"k": "v"}, False),
    ({"key": "k", "operator": "NotIn", "values": ["v"]}, {"k": "w"}, True),
    ({"key": "k", "operator": "NotIn", "values": ["v"]}, {}, True),
    ({"key": "k", "operator": "Exists"}, {"k": ""}, True),
    ({"key": "k", "operator": "Exists"}, {}, False),
    ({"key": "k", "operator": "Bogus"}, {"k": "v"}, False),
])
def test_aggregation_selector_operators(expression, labels, matches):
    roles = [cluster_role("agg", aggregation=[{"matchExpressions": [expression]}]),
             cluster_role("child", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], labels=labels)]
    assert bool(rbac.aggregate(roles)[0].get("rules")) is matches


def test_aggregated_role_never_selects_itself():
    roles = [cluster_role("self", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], labels={"x": "1"},
                          aggregation=[{"matchLabels": {"x": "1"}}])]
    assert rbac.aggregate(roles)[0]["rules"] == []


def test_aggregate_does_not_mutate_its_argument():
    roles = [cluster_role("agg", aggregation=[{"matchLabels": {"x": "1"}}]),
             cluster_role("c", [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], labels={"x": "1"})]
    before = copy.deepcopy(roles)
    rbac.aggregate(roles)
    assert roles == before


def test_authorizer_uses_the_stored_rules_of_an_aggregated_role():
    roles = [cluster_role("agg", aggregation=[{"matchLabels": {"x": "1"}}]),
             cluster_role("c", READ_PODS, labels={"x": "1"})]
    bindings = [cluster_binding("b", "agg", subject("User", "alice"))]
    # Until the controller (aggregate) has filled the rules, the aggregated role grants nothing.
    assert not Policy(cluster_roles=roles, cluster_role_bindings=bindings).authorize(ALICE, resource_attributes("get", "pods", "n"))[0]
    assert Policy(cluster_roles=rbac.aggregate(roles), cluster_role_bindings=bindings).authorize(ALICE, resource_attributes("get", "pods", "n"))[0]


# ----------------------------------------------------------------------------------- bootstrap policy

@pytest.mark.parametrize("profile", rbac.PROFILES)
def test_bootstrap_objects_carry_the_default_labels_and_autoupdate_annotation(profile):
    for obj in rbac.bootstrap_policy(profile):
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert obj["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def test_bootstrap_rejects_unknown_profile():
    with pytest.raises(ValueError):
        rbac.bootstrap_policy("1.99")


@pytest.mark.parametrize("profile", rbac.PROFILES)
def test_cluster_admin_is_bound_to_system_masters(profile):
    objects = rbac.bootstrap_policy(profile)
    crb = by_name(objects, "ClusterRoleBinding", "cluster-admin")
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}
    assert crb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    assert by_name(objects, "ClusterRole", "cluster-admin")["rules"] == [
        {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}]


@pytest.mark.parametrize("profile", ["1.15", "1.30"])
def test_admin_edit_view_are_aggregated_with_the_real_labels(profile):
    objects = rbac.bootstrap_policy(profile)
    for name, label_to in (("admin", None), ("edit", "admin"), ("view", "edit")):
        obj = by_name(objects, "ClusterRole", name)
        assert obj["aggregationRule"] == {"clusterRoleSelectors": [{"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{name}": "true"}}]}
        assert obj["rules"], "aggregated rules are filled in"
        if label_to:
            assert obj["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{label_to}"] == "true"
    for child in ("system:aggregate-to-admin", "system:aggregate-to-edit", "system:aggregate-to-view"):
        assert by_name(objects, "ClusterRole", child)["rules"]


def test_1_8_roles_predate_aggregation():
    objects = rbac.bootstrap_policy("1.8")
    assert all("aggregationRule" not in o for o in objects)
    assert not [o for o in objects if o["metadata"]["name"].startswith("system:aggregate-to-")]


@pytest.mark.parametrize("profile", rbac.PROFILES)
@pytest.mark.parametrize("role_name,verb,resource,group,subresource,allowed", [
    ("view", "list", "pods", "", "", True),
    ("view", "watch", "deployments", "apps", "", True),
    ("view", "get", "pods", "", "log", True),
    ("view", "create", "pods", "", "", False),
    ("view", "delete", "deployments", "apps", "", False),
    ("view", "get", "secrets", "", "", False),
    ("view", "create", "pods", "", "exec", False),
    ("view", "list", "rolebindings", "rbac.authorization.k8s.io", "", False),
    ("view", "list", "daemonsets", "extensions", "", True),
    ("view", "list", "poddisruptionbudgets", "policy", "", True),
    ("view", "list", "cronjobs", "batch", "", True),
    ("edit", "create", "pods", "", "", True),
    ("edit", "get", "secrets", "", "", True),
    ("edit", "create", "pods", "", "exec", True),
    ("edit", "patch", "deployments", "apps", "scale", True),
    ("edit", "update", "daemonsets", "apps", "", True),
    ("edit", "create", "networkpolicies", "networking.k8s.io", "", True),
    ("edit", "create", "jobs", "batch", "", True),
    ("edit", "list", "configmaps", "", "", True),
    ("edit", "create", "rolebindings", "rbac.authorization.k8s.io", "", False),
    ("edit", "create", "roles", "rbac.authorization.k8s.io", "", False),
    ("edit", "update", "resourcequotas", "", "", False),
    ("admin", "create", "rolebindings", "rbac.authorization.k8s.io", "", True),
    ("admin", "delete", "roles", "rbac.authorization.k8s.io", "", True),
    ("admin", "create", "localsubjectaccessreviews", "authorization.k8s.io", "", True),
    ("admin", "create", "pods", "", "", True),
    ("admin", "list", "pods", "", "", True),
    ("admin", "create", "clusterroles", "rbac.authorization.k8s.io", "", False),
    ("admin", "update", "resourcequotas", "", "", False),
])
def test_default_roles_bound_in_a_namespace_grant_what_the_real_ones_grant(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        profile, role_name, verb, resource, group, subresource, allowed):
    policy = bootstrap(profile, extra_role_bindings=[binding("b", "logging", "ClusterRole", role_name, subject("User", "alice"))])
    attrs = resource_attributes(verb, resource, "logging", "x" if subresource else "", group, subresource)
    assert policy.authorize(ALICE, attrs)[0] is allowed


@pytest.mark.parametrize("profile", rbac.PROFILES)
def test_admin_bound_in_a_namespace_cannot_act_in_another_or_cluster_wide(profile):
    policy = bootstrap(profile, extra_role_bindings=[binding("b", "logging", "ClusterRole", "admin", subject("User", "alice"))])
    assert policy.authorize(ALICE, resource_attributes("create", "rolebindings", "logging", api_group="rbac.authorization.k8s.io"))[0]
    assert not policy.authorize(ALICE, resource_attributes("create", "rolebindings", "default", api_group="rbac.authorization.k8s.io"))[0]
    assert not policy.authorize(ALICE, resource_attributes("list", "nodes"))[0]


def test_endpoints_write_left_edit_in_1_30_but_not_before():
    attrs = resource_attributes("create", "endpoints", "logging")
    rb = [binding("b", "logging", "ClusterRole", "edit", subject("User", "alice"))]
    assert bootstrap("1.15", extra_role_bindings=rb).authorize(ALICE, attrs)[0]
    assert not bootstrap("1.30", extra_role_bindings=rb).authorize(ALICE, attrs)[0]


@pytest.mark.parametrize("profile", rbac.PROFILES)
@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/version", "/healthz"])
def test_authenticated_users_may_discover(profile, path):
    assert bootstrap(profile).authorize(ALICE, non_resource_attributes("get", path))[0]


@pytest.mark.parametrize("profile,path,allowed", [
    ("1.30", "/openapi/v2", True), ("1.30", "/openapi/v3", True), ("1.30", "/livez", True), ("1.30", "/readyz", True),
    ("1.15", "/openapi/v2", True), ("1.15", "/livez", False),
    ("1.8", "/swagger-2.0.0.pb-v1", True), ("1.8", "/swaggerapi/api/v1", True),
    ("1.30", "/metrics", False), ("1.30", "/logs", False),
])
def test_discovery_paths_per_profile(profile, path, allowed):
    assert bootstrap(profile).authorize(ALICE, non_resource_attributes("get", path))[0] is allowed


@pytest.mark.parametrize("profile,path,allowed", [
    ("1.8", "/apis", True), ("1.8", "/version", True),
    ("1.15", "/apis", False), ("1.15", "/version", True), ("1.15", "/healthz", True),
    ("1.30", "/apis", False), ("1.30", "/version", True), ("1.30", "/readyz", True), ("1.30", "/openapi/v2", False),
])
def test_unauthenticated_users_get_discovery_only_on_1_8_and_public_info_later(profile, path, allowed):
    assert bootstrap(profile).authorize(ANONYMOUS, non_resource_attributes("get", path))[0] is allowed


@pytest.mark.parametrize("profile", rbac.PROFILES)
def test_basic_user_may_review_its_own_access(profile):
    policy = bootstrap(profile)
    for resource in ("selfsubjectaccessreviews", "selfsubjectrulesreviews"):
        assert policy.authorize(ALICE, resource_attributes("create", resource, api_group="authorization.k8s.io"))[0]
    assert not policy.authorize(ALICE, resource_attributes("create", "subjectaccessreviews", api_group="authorization.k8s.io"))[0]
    whoami = policy.authorize(ALICE, resource_attributes("create", "selfsubjectreviews", api_group="authentication.k8s.io"))[0]
    assert whoami is (profile == "1.30")


def test_bootstrap_rules_are_sorted_like_the_real_rule_builder():
    edit = by_name(rbac.bootstrap_policy("1.30"), "ClusterRole", "system:aggregate-to-edit")
    for rule in edit["rules"]:
        assert rule["verbs"] == sorted(rule["verbs"]) and rule["resources"] == sorted(rule["resources"])


# ----------------------------------------------------------------------------------- 403 bodies

@pytest.mark.parametrize("attrs,message", [
    (resource_attributes("list", "deployments", "logging", api_group="apps"),
     'deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" in the namespace "logging"'),
    (resource_attributes("get", "namespaces", name=""),
     'namespaces is forbidden: User "alice" cannot get resource "namespaces" in API group "" at the cluster scope'),
    (resource_attributes("get", "namespaces", name="kube-system"),
     'namespaces "kube-system" is forbidden: User "alice" cannot get resource "namespaces" in API group "" at the cluster scope'),
    (resource_attributes("create", "pods", "logging", "fluentd-x", subresource="exec"),
     'pods "fluentd-x" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "logging"'),
    (resource_attributes("get", "deployments", "logging", "web", "apps"),
     'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" in the namespace "logging"'),
    (non_resource_attributes("get", "/apis"), 'forbidden: User "alice" cannot get path "/apis"'),
])
def test_forbidden_message_matches_kube_apiserver(attrs, message):
    error = rbac.forbidden_error(ALICE, attrs)
    assert isinstance(error, ApiError)
    assert (error.code, error.reason, error.message) == (403, "Forbidden", message)


@pytest.mark.parametrize("attrs,details", [
    (resource_attributes("get", "deployments", "logging", "web", "apps"), {"name": "web", "group": "apps", "kind": "deployments"}),
    (resource_attributes("list", "pods", "logging"), {"kind": "pods"}),
    (resource_attributes("create", "pods", "logging", "p", subresource="exec"), {"name": "p", "kind": "pods"}),
    (non_resource_attributes("get", "/apis"), {}),
])
def test_forbidden_details_hold_only_the_non_empty_name_group_and_kind(attrs, details):
    assert rbac.forbidden_error(ALICE, attrs).details == details


def test_forbidden_status_body_is_a_failure_status():
    body = rbac.forbidden_error(ALICE, resource_attributes("list", "pods", "ns")).status()
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == 403 and body["reason"] == "Forbidden"
    assert body["details"] == {"kind": "pods"}


def test_forbidden_message_appends_the_authorizer_reason():
    error = rbac.forbidden_error(ALICE, resource_attributes("list", "pods", "ns"), 'RBAC: clusterrole.rbac.authorization.k8s.io "x" not found')
    assert error.message == ('pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "ns": '
                             'RBAC: clusterrole.rbac.authorization.k8s.io "x" not found')


def test_forbidden_message_escapes_markup_in_paths():
    assert rbac.forbidden_error(ALICE, non_resource_attributes("get", "/<b>&")).message == 'forbidden: User "alice" cannot get path "/&lt;b&gt;&amp;"'


def test_forbidden_for_service_account_names_the_full_username():
    error = rbac.forbidden_error(rbac.service_account_user("logging", "fluentd"), resource_attributes("list", "pods"))
    assert error.message == ('pods is forbidden: User "system:serviceaccount:logging:fluentd" cannot list resource "pods" '
                             'in API group "" at the cluster scope')


@pytest.mark.parametrize("attrs,message", [
    (resource_attributes("list", "pods", "default"), 'pods is forbidden: User "alice" cannot list pods in the namespace "default"'),
    (resource_attributes("list", "deployments", "ns", api_group="extensions"),
     'deployments.extensions is forbidden: User "alice" cannot list deployments.extensions in the namespace "ns"'),
    (resource_attributes("get", "nodes", name="n1"), 'nodes "n1" is forbidden: User "alice" cannot get nodes at the cluster scope'),
    (resource_attributes("create", "pods", "ns", "p", subresource="exec"), 'pods "p" is forbidden: User "alice" cannot create pods/exec in the namespace "ns"'),
])
def test_forbidden_message_uses_the_old_wording_on_1_8(attrs, message):
    assert rbac.forbidden_error(ALICE, attrs, profile="1.8").message == message


# ----------------------------------------------------------------------------------- reviews

def test_access_review_allowed_carries_the_rbac_reason():
    policy = Policy(cluster_roles=[cluster_role("reader", READ_PODS)], cluster_role_bindings=[cluster_binding("readers", "reader", subject("Group", "devs"))])
    spec = {"resourceAttributes": {"namespace": "ns", "verb": "list", "resource": "pods"}}
    assert rbac.access_review(BOB, spec, policy) == {
        "allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding "readers" of ClusterRole "reader" to Group "devs"'}


def test_access_review_denied_has_no_reason():
    spec = {"resourceAttributes": {"namespace": "ns", "verb": "create", "resource": "pods"}}
    assert rbac.access_review(ALICE, spec, bootstrap("1.30")) == {"allowed": False}


def test_access_review_denied_reports_missing_roles():
    policy = Policy(cluster_role_bindings=[cluster_binding("b", "ghost", subject("User", "alice"))])
    spec = {"resourceAttributes": {"verb": "get", "resource": "pods"}}
    assert rbac.access_review(ALICE, spec, policy) == {"allowed": False, "reason": 'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found'}


def test_access_review_for_system_masters_is_allowed_before_rbac():
    spec = {"resourceAttributes": {"verb": "*", "group": "*", "resource": "*"}}
    assert rbac.access_review(ADMIN, spec, bootstrap("1.30")) == {"allowed": True}


@pytest.mark.parametrize("spec,allowed", [
    ({"resourceAttributes": {"namespace": "logging", "verb": "update", "group": "apps", "resource": "deployments", "subresource": "scale", "name": "w"}}, True),
    ({"resourceAttributes": {"namespace": "logging", "verb": "update", "group": "apps", "resource": "deployments", "subresource": "status",
                             "name": "w"}}, False),
    ({"resourceAttributes": {"namespace": "other", "verb": "update", "group": "apps", "resource": "deployments"}}, False),
    ({"nonResourceAttributes": {"verb": "get", "path": "/apis/apps"}}, True),
    ({"nonResourceAttributes": {"verb": "post", "path": "/apis/apps"}}, False),
])
def test_access_review_evaluates_resource_and_non_resource_specs(spec, allowed):
    policy = bootstrap("1.30", extra_role_bindings=[binding("b", "logging", "ClusterRole", "edit", subject("User", "alice"))])
    assert rbac.access_review(ALICE, spec, policy)["allowed"] is allowed


def test_access_review_attributes_default_the_version_to_all():
    attrs = rbac.review_attributes({"resourceAttributes": {"verb": "get", "resource": "pods"}})
    assert attrs == Attributes(verb="get", resource_request=True, path="", api_version="*", resource="pods")


@pytest.mark.parametrize("spec,field", [
    ({}, "spec.resourceAttributes"),
    ({"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"verb": "get", "path": "/"}}, "spec.nonResourceAttributes"),
])
def test_access_review_needs_exactly_one_kind_of_attributes(spec, field):
    with pytest.raises(ApiError) as caught:
        rbac.access_review(ALICE, spec, Policy())
    assert caught.value.code == 422 and caught.value.reason == "Invalid"
    assert caught.value.details["causes"][0]["field"] == field


def test_rules_review_lists_cluster_rules_then_namespace_rules():
    policy = Policy(
        roles=[role("cm", "ns", [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}])],
        cluster_roles=[cluster_role("disc", [{"verbs": ["get"], "nonResourceURLs": ["/apis", "/apis/*"]}, READ_PODS[0]])],
        cluster_role_bindings=[cluster_binding("d", "disc", subject("User", "alice"))],
        role_bindings=[binding("c", "ns", "Role", "cm", subject("User", "alice")), binding("o", "other", "Role", "cm", subject("User", "alice"))])
    assert rbac.rules_review(ALICE, "ns", policy) == {
        "resourceRules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                          {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}],
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/apis", "/apis/*"]}],
        "incomplete": False,
    }


def test_rules_review_for_a_stranger_has_empty_lists():
    assert rbac.rules_review(ALICE, "ns", Policy()) == {"resourceRules": [], "nonResourceRules": [], "incomplete": False}


def test_rules_review_reports_missing_roles_as_evaluation_error():
    policy = Policy(cluster_role_bindings=[cluster_binding("b", "ghost", subject("User", "alice"))])
    assert rbac.rules_review(ALICE, "ns", policy)["evaluationError"] == 'clusterrole.rbac.authorization.k8s.io "ghost" not found'


def test_rules_review_needs_a_namespace():
    with pytest.raises(ApiError) as caught:
        rbac.rules_review(ALICE, "", Policy())
    assert (caught.value.code, caught.value.message) == (400, "no namespace on request")


def test_rules_review_of_basic_user_on_1_30_includes_whoami_and_discovery():
    status = rbac.rules_review(ALICE, "default", bootstrap("1.30"))
    assert {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]} in status["resourceRules"]
    assert any("/apis/*" in r["nonResourceURLs"] for r in status["nonResourceRules"])
