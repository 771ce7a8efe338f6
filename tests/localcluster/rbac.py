"""The RBAC authorizer of kube-apiserver, over stored Roles and bindings as plain dicts.

Mirrors ``plugin/pkg/auth/authorizer/rbac`` (rule matching, the rule resolver and its
"allowed by" reasons), the ClusterRole aggregation controller, the bootstrap policy of each
profile, the 403 body of ``responsewriters.Forbidden`` and the SelfSubjectAccessReview /
SelfSubjectRulesReview answers. Everything here is pure: it takes dicts and returns new ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

from localcluster.errors import ApiError, bad_request

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
PROFILES = ("1.8", "1.15", "1.30")

SYSTEM_MASTERS = "system:masters"
ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"

AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"

_RULE_KEYS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


@dataclass(frozen=True)
class UserInfo:
    """The authenticated user of a request (user.Info)."""

    username: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: dict | None = None


@dataclass(frozen=True)
class Attributes:  # pylint: disable=too-many-instance-attributes
    """The authorizer attributes kube-apiserver derives from a request (authorizer.AttributesRecord)."""

    verb: str
    resource_request: bool
    path: str
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""


def resource_attributes(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        verb: str, resource: str, namespace: str = "", name: str = "", api_group: str = "",
        subresource: str = "", api_version: str = "", path: str = "") -> Attributes:
    """Attributes of a resource request (``path`` only matters for logging in the real server)."""
    return Attributes(verb=verb, resource_request=True, path=path, api_group=api_group, api_version=api_version,
                      resource=resource, subresource=subresource, name=name, namespace=namespace)


def non_resource_attributes(verb: str, path: str) -> Attributes:
    """Attributes of a non-resource request such as ``GET /apis``."""
    return Attributes(verb=verb, resource_request=False, path=path)


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    """The user a service account token authenticates as, with the groups the authenticator adds."""
    return UserInfo(username=f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                    groups=(SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}", ALL_AUTHENTICATED), uid=uid)


# ---------------------------------------------------------------------------------------------
# Rule matching (pkg/apis/rbac/v1/evaluation_helpers.go)
# ---------------------------------------------------------------------------------------------

def _verb_matches(rule: dict[str, Any], verb: str) -> bool:
    return any(v in ("*", verb) for v in rule.get("verbs") or ())


def _group_matches(rule: dict[str, Any], group: str) -> bool:
    return any(g in ("*", group) for g in rule.get("apiGroups") or ())


def _resource_matches(rule: dict[str, Any], combined: str, subresource: str) -> bool:
    for wanted in rule.get("resources") or ():
        if wanted in ("*", combined):
            return True
        # "*/scale" grants the scale subresource of every resource, but never a main resource.
        if subresource and wanted == "*/" + subresource:
            return True
    return False


def _name_matches(rule: dict[str, Any], name: str) -> bool:
    names = rule.get("resourceNames") or ()
    # A request without a name (list, create, watch of a collection) never matches a rule that lists names.
    return not names or name in names


def _url_matches(rule: dict[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attrs: Attributes, rule: dict[str, Any]) -> bool:
    """Whether one PolicyRule grants the request (RuleAllows)."""
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (_verb_matches(rule, attrs.verb) and _group_matches(rule, attrs.api_group)
                and _resource_matches(rule, combined, attrs.subresource) and _name_matches(rule, attrs.name))
    return _verb_matches(rule, attrs.verb) and _url_matches(rule, attrs.path)


# ---------------------------------------------------------------------------------------------
# The rule resolver (pkg/registry/rbac/validation/rule.go)
# ---------------------------------------------------------------------------------------------

def _applies_to(user: UserInfo, subject: dict[str, Any], namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind == "User":
        return user.username == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        # A RoleBinding may leave the service account's namespace out: it defaults to the binding's own.
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.username == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}"
    return False


def _describe_subject(subject: dict[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


def _aggregate_errors(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message bare, several deduplicated in brackets."""
    unique = list(dict.fromkeys(errors))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def _name_of(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def _namespace_of(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


class Policy:
    """The RBAC authorizer over a snapshot of the stored Roles, ClusterRoles and their bindings."""

    def __init__(self, roles: Iterable[dict[str, Any]] = (), cluster_roles: Iterable[dict[str, Any]] = (),
                 role_bindings: Iterable[dict[str, Any]] = (), cluster_role_bindings: Iterable[dict[str, Any]] = ()):
        # Copies, so later writes to the store cannot change a decision half-way.
        self._roles = {(_namespace_of(r), _name_of(r)): copy.deepcopy(r) for r in roles}
        self._cluster_roles = {_name_of(r): copy.deepcopy(r) for r in cluster_roles}
        self._role_bindings = [copy.deepcopy(b) for b in role_bindings]
        self._cluster_role_bindings = [copy.deepcopy(b) for b in cluster_role_bindings]

    def _role_ref_rules(self, role_ref: dict[str, Any], namespace: str) -> tuple[list[dict[str, Any]], str]:
        kind, name = role_ref.get("kind", ""), role_ref.get("name", "")
        if kind == "Role":
            role = self._roles.get((namespace, name))
            if role is None:
                return [], f'role.{RBAC_GROUP} "{name}" not found'
            return list(role.get("rules") or ()), ""
        if kind == "ClusterRole":
            cluster_role = self._cluster_roles.get(name)
            if cluster_role is None:
                return [], f'clusterrole.{RBAC_GROUP} "{name}" not found'
            return list(cluster_role.get("rules") or ()), ""
        return [], f'unsupported role reference kind: "{kind}"'

    def _visit(self, user: UserInfo, namespace: str):
        """Yield (source description, rule, error) like VisitRulesFor: cluster-wide bindings first."""
        for binding in self._cluster_role_bindings:
            subject = next((s for s in binding.get("subjects") or () if _applies_to(user, s, "")), None)
            if subject is None:
                continue
            role_ref = binding.get("roleRef") or {}
            rules, error = self._role_ref_rules(role_ref, "")
            if error:
                yield "", None, error
                continue
            source = (f'ClusterRoleBinding "{_name_of(binding)}" of {role_ref.get("kind", "")} "{role_ref.get("name", "")}" '
                      f'to {_describe_subject(subject, "")}')
            for rule in rules:
                yield source, rule, ""
        if not namespace:
            return
        for binding in self._role_bindings:
            if _namespace_of(binding) != namespace:
                continue
            subject = next((s for s in binding.get("subjects") or () if _applies_to(user, s, namespace)), None)
            if subject is None:
                continue
            role_ref = binding.get("roleRef") or {}
            # A RoleBinding to a ClusterRole grants the ClusterRole's rules inside the binding's namespace only,
            # which holds because role bindings are only consulted for requests in their own namespace.
            rules, error = self._role_ref_rules(role_ref, namespace)
            if error:
                yield "", None, error
                continue
            source = (f'RoleBinding "{_name_of(binding)}/{namespace}" of {role_ref.get("kind", "")} "{role_ref.get("name", "")}" '
                      f'to {_describe_subject(subject, namespace)}')
            for rule in rules:
                yield source, rule, ""

    def authorize(self, user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason) of the RBAC authorizer alone.

        Allowed: ``RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to Group "z"``.
        Denied: "" unless a binding points at a missing role, then ``RBAC: <errors>``.
        """
        errors = []
        for source, rule, error in self._visit(user, attrs.namespace):
            if rule is not None and rule_allows(attrs, rule):
                return True, f"RBAC: allowed by {source}"
            if error:
                errors.append(error)
        return False, f"RBAC: {_aggregate_errors(errors)}" if errors else ""

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict[str, Any]], str]:
        """All rules that apply to the user in the namespace, and the resolution error text ("" if none)."""
        rules, errors = [], []
        for _source, rule, error in self._visit(user, namespace):
            if rule is not None:
                rules.append(copy.deepcopy(rule))
            if error:
                errors.append(error)
        return rules, _aggregate_errors(errors) if errors else ""


def authorize(user: UserInfo, attrs: Attributes, policy: Policy) -> tuple[bool, str]:
    """The server's whole authorizer chain: system:masters first (reason ""), then RBAC.

    kube-apiserver puts a privileged-group authorizer for system:masters in front of the
    configured modes, so members are allowed even without the cluster-admin binding and the
    decision carries no RBAC reason.
    """
    if SYSTEM_MASTERS in user.groups:
        return True, ""
    return policy.authorize(user, attrs)


# ---------------------------------------------------------------------------------------------
# ClusterRole aggregation (pkg/controller/clusterroleaggregation)
# ---------------------------------------------------------------------------------------------

def _expression_matches(expression: dict[str, Any], labels: dict[str, str]) -> bool:
    key, operator, values = expression.get("key", ""), expression.get("operator", ""), expression.get("values") or ()
    checks = {
        "In": lambda: key in labels and labels[key] in values,
        "NotIn": lambda: key not in labels or labels[key] not in values,
        "Exists": lambda: key in labels,
        "DoesNotExist": lambda: key not in labels,
    }
    # An unknown operator makes the selector invalid; the controller then selects nothing with it.
    return operator in checks and checks[operator]()


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or ())


def _normal_rule(rule: dict[str, Any]) -> tuple:
    # Semantic equality: a missing list and an empty list are the same rule.
    return tuple(tuple(rule.get(key) or ()) for key in _RULE_KEYS)


def _aggregated_rules(role: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for selector in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or ():
        for name in sorted(by_name):
            if name == _name_of(role):
                continue
            other = by_name[name]
            if not _selector_matches(selector, (other.get("metadata") or {}).get("labels") or {}):
                continue
            for rule in other.get("rules") or ():
                if _normal_rule(rule) not in seen:
                    seen.add(_normal_rule(rule))
                    rules.append(copy.deepcopy(rule))
    return rules


def aggregate(cluster_roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ClusterRoles with every aggregated role's ``rules`` replaced by the union of the selected roles' rules.

    Like the controller, rules are collected per selector from matching roles sorted by name,
    duplicates dropped, the role itself skipped. The controller re-syncs every aggregated role
    whenever any ClusterRole changes, so chains (view -> edit -> admin) settle; this runs to that
    fixed point. Roles without ``aggregationRule`` come back unchanged (as copies).
    """
    by_name = {_name_of(r): copy.deepcopy(r) for r in cluster_roles}
    for _unused in range(len(by_name) + 1):
        changed = False
        for name in sorted(by_name):
            role = by_name[name]
            if not role.get("aggregationRule"):
                continue
            rules = _aggregated_rules(role, by_name)
            if [_normal_rule(r) for r in rules] != [_normal_rule(r) for r in role.get("rules") or ()]:
                role["rules"] = rules
                changed = True
        if not changed:
            break
    return [by_name[_name_of(r)] for r in cluster_roles]


# ---------------------------------------------------------------------------------------------
# Bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go)
# ---------------------------------------------------------------------------------------------

_READ = ("get", "list", "watch")
_WRITE = ("create", "update", "patch", "delete", "deletecollection")
_READ_WRITE = _READ + _WRITE


def _rule(verbs: Iterable[str], groups: Iterable[str] = (), resources: Iterable[str] = (), urls: Iterable[str] = ()) -> dict[str, Any]:
    # rbacv1helpers.NewRule(...).RuleOrDie() sorts every list.
    rule: dict[str, Any] = {"verbs": sorted(verbs)}
    if resources:
        rule["apiGroups"] = sorted(groups)
        rule["resources"] = sorted(resources)
    if urls:
        rule["nonResourceURLs"] = sorted(urls)
    return rule


def _meta(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "labels": {**(labels or {}), BOOTSTRAP_LABEL: "rbac-defaults"},
            "annotations": {AUTOUPDATE_ANNOTATION: "true"}}


def _cluster_role(name: str, rules: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None,
                  aggregate_to: str = "") -> dict[str, Any]:
    role: dict[str, Any] = {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": _meta(name, labels)}
    if aggregate_to:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {f"{RBAC_GROUP}/aggregate-to-{aggregate_to}": "true"}}]}
    if rules is not None:
        role["rules"] = rules
    return role


def _cluster_role_binding(name: str, groups: Iterable[str]) -> dict[str, Any]:
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group} for group in groups]}


def _view_rules(profile: str) -> list[dict[str, Any]]:
    core_read = ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                 "endpoints", "persistentvolumeclaims", "configmaps"]
    if profile != "1.8":
        core_read += ["services/status", "persistentvolumeclaims/status"]
    rules = [
        _rule(_READ, [""], core_read),
        _rule(_READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
                            "namespaces/status", "replicationcontrollers/status", "pods/log"]),
        # Reading namespaces at namespace scope means reading *this* namespace: how users find theirs.
        _rule(_READ, [""], ["namespaces"]),
    ]
    if profile == "1.30":
        rules.append(_rule(_READ, ["discovery.k8s.io"], ["endpointslices"]))
    rules += [
        _rule(_READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale", "daemonsets",
                                "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets",
                                "replicasets/status", "replicasets/scale"]),
        _rule(_READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        _rule(_READ, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
        _rule(_READ, ["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
                                      "ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status",
                                      "replicationcontrollers/scale", "networkpolicies"]),
        _rule(_READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    ]
    rules.append(_rule(_READ, ["networking.k8s.io"], ["networkpolicies"] if profile == "1.8" else
                       ["networkpolicies", "ingresses", "ingresses/status"]))
    return rules


def _edit_rules(profile: str) -> list[dict[str, Any]]:
    core_write = ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/proxy",
                  "persistentvolumeclaims", "configmaps", "secrets"]
    if profile != "1.30":
        # Write access to endpoints left edit/admin in 1.22 (CVE-2021-25740).
        core_write.append("endpoints")
    rules = [
        # Reading the escalating resources is only granted from edit upwards.
        _rule(_READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"]),
        _rule(["impersonate"], [""], ["serviceaccounts"]),
        _rule(_WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
    ]
    if profile == "1.30":
        rules.append(_rule(["create"], [""], ["pods/eviction"]))
    rules += [
        _rule(_WRITE, [""], core_write),
        _rule(_WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
                                 "deployments/rollback", "replicasets", "replicasets/scale"]),
        _rule(_WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
        _rule(_WRITE, ["batch"], ["jobs", "cronjobs"]),
        _rule(_WRITE, ["extensions"], ["daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
                                       "replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"]),
        _rule(_WRITE, ["policy"], ["poddisruptionbudgets"]),
        _rule(_WRITE, ["networking.k8s.io"], ["networkpolicies"] if profile == "1.8" else ["networkpolicies", "ingresses"]),
    ]
    return rules


def _admin_rules() -> list[dict[str, Any]]:
    return [
        _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
        _rule(_READ_WRITE, [RBAC_GROUP], ["roles", "rolebindings"]),
    ]


def _discovery_urls(profile: str) -> list[str]:
    if profile == "1.8":
        return ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/swagger-2.0.0.pb-v1", "/swagger.json", "/swaggerapi",
                "/swaggerapi/*", "/version"]
    urls = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/openapi", "/openapi/*", "/version", "/version/"]
    if profile == "1.30":
        urls += ["/livez", "/readyz"]
    return urls


def bootstrap_policy(profile: str) -> list[dict[str, Any]]:
    """The default ClusterRoles and ClusterRoleBindings the server of ``profile`` creates (the ones that matter here).

    1.8 predates aggregation (1.9): admin/edit/view carry their rules directly and discovery and
    basic-user are bound to unauthenticated users too. From 1.14 on, admin/edit/view aggregate the
    ``system:aggregate-to-*`` roles, unauthenticated users only get system:public-info-viewer, and
    the aggregated roles are returned with rules filled in as the controller leaves them.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    view, edit, admin = _view_rules(profile), _edit_rules(profile), _admin_rules()
    basic_user = [_rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"])]
    if profile == "1.30":
        basic_user.append(_rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]))
    roles = [
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _rule(["*"], urls=["*"])]),
        _cluster_role("system:discovery", [_rule(["get"], urls=_discovery_urls(profile))]),
        _cluster_role("system:basic-user", basic_user),
    ]
    if profile == "1.8":
        # Before aggregation each role spelled out everything below it, with full read-write verbs.
        edit_flat = [_rule(_READ_WRITE, r["apiGroups"], r["resources"]) if r["verbs"] == sorted(_WRITE) else r for r in edit]
        roles += [
            _cluster_role("admin", edit_flat + view + admin),
            _cluster_role("edit", edit_flat + view),
            _cluster_role("view", view),
        ]
        bindings = [
            _cluster_role_binding("cluster-admin", [SYSTEM_MASTERS]),
            _cluster_role_binding("system:discovery", [ALL_AUTHENTICATED, ALL_UNAUTHENTICATED]),
            _cluster_role_binding("system:basic-user", [ALL_AUTHENTICATED, ALL_UNAUTHENTICATED]),
        ]
        return roles + bindings
    public_urls = ["/healthz", "/version", "/version/"] + (["/livez", "/readyz"] if profile == "1.30" else [])
    roles += [
        _cluster_role("system:public-info-viewer", [_rule(["get"], urls=public_urls)]),
        _cluster_role("admin", aggregate_to="admin"),
        _cluster_role("edit", labels={f"{RBAC_GROUP}/aggregate-to-admin": "true"}, aggregate_to="edit"),
        _cluster_role("view", labels={f"{RBAC_GROUP}/aggregate-to-edit": "true"}, aggregate_to="view"),
        _cluster_role("system:aggregate-to-admin", admin, labels={f"{RBAC_GROUP}/aggregate-to-admin": "true"}),
        _cluster_role("system:aggregate-to-edit", edit, labels={f"{RBAC_GROUP}/aggregate-to-edit": "true"}),
        _cluster_role("system:aggregate-to-view", view, labels={f"{RBAC_GROUP}/aggregate-to-view": "true"}),
    ]
    bindings = [
        _cluster_role_binding("cluster-admin", [SYSTEM_MASTERS]),
        _cluster_role_binding("system:discovery", [ALL_AUTHENTICATED]),
        _cluster_role_binding("system:basic-user", [ALL_AUTHENTICATED]),
        _cluster_role_binding("system:public-info-viewer", [ALL_AUTHENTICATED, ALL_UNAUTHENTICATED]),
    ]
    return aggregate(roles) + bindings


# ---------------------------------------------------------------------------------------------
# 403 bodies (responsewriters.Forbidden + apierrors.NewForbidden)
# ---------------------------------------------------------------------------------------------

def _sanitize(text: str) -> str:
    # responsewriters escapes these so a crafted path cannot inject markup into the message.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden_message(user: UserInfo | None, attrs: Attributes, profile: str = "1.30") -> str:
    """forbiddenMessage(): the part after ``... is forbidden: ``.

    1.8 still used the old wording (``cannot list deployments.apps in the namespace "x"``); the
    ``resource "..." in API group "..."`` wording came in 1.12 and is used for 1.15 and 1.30.
    """
    username = user.username if user else ""
    if not attrs.resource_request:
        return f'User "{username}" cannot {attrs.verb} path "{attrs.path}"'
    if profile == "1.8":
        resource = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
        if attrs.subresource:
            resource += "/" + attrs.subresource
        scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        return f'User "{username}" cannot {attrs.verb} {resource} {scope}'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'User "{username}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" {scope}'


def forbidden_error(user: UserInfo | None, attrs: Attributes, reason: str = "", profile: str = "1.30") -> ApiError:
    """The 403 Forbidden kube-apiserver answers for a denied request.

    ``reason`` is the authorizer's reason (empty for a plain RBAC denial); when present it is
    appended after a colon (quoted on 1.8). ``details`` holds name, group and kind (the resource),
    each only when non-empty; for non-resource requests it is ``{}``.
    """
    message = _sanitize(forbidden_message(user, attrs, profile))
    if reason:
        message += f': "{reason}"' if profile == "1.8" else f": {reason}"
    resource, group = (attrs.resource, attrs.api_group) if attrs.resource_request else ("", "")
    name = attrs.name if attrs.resource_request else ""
    qualified = f"{resource}.{group}" if group else resource
    if not qualified:
        full = f"forbidden: {message}"
    elif not name:
        full = f"{qualified} is forbidden: {message}"
    else:
        full = f'{qualified} "{name}" is forbidden: {message}'
    details = {key: value for key, value in (("name", name), ("group", group), ("kind", resource)) if value}
    return ApiError(403, "Forbidden", full, details)


# ---------------------------------------------------------------------------------------------
# SelfSubjectAccessReview / SelfSubjectRulesReview
# ---------------------------------------------------------------------------------------------

def _invalid_review(field: str, detail: str) -> ApiError:
    message = f'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: {field}: Invalid value: "null": {detail}'
    return ApiError(422, "Invalid", message, {
        "group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview",
        "causes": [{"reason": "FieldValueInvalid", "message": f'Invalid value: "null": {detail}', "field": field}]})


def review_attributes(spec: dict[str, Any]) -> Attributes:
    """The authorizer attributes of a (Self)SubjectAccessReview spec; an empty version means all versions."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        raise _invalid_review("spec.nonResourceAttributes", "cannot be specified in combination with resourceAttributes")
    if resource is None and non_resource is None:
        raise _invalid_review("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified")
    if resource is not None:
        return Attributes(verb=resource.get("verb", ""), resource_request=True, path="", api_group=resource.get("group", ""),
                          api_version=resource.get("version") or "*", resource=resource.get("resource", ""),
                          subresource=resource.get("subresource", ""), name=resource.get("name", ""),
                          namespace=resource.get("namespace", ""))
    return Attributes(verb=non_resource.get("verb", ""), resource_request=False, path=non_resource.get("path", ""))


def access_review(user: UserInfo, spec: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The ``status`` of a SelfSubjectAccessReview with this ``spec``, as the full authorizer chain decides it.

    Allowed carries the RBAC reason (none for system:masters, allowed before RBAC is asked);
    denied is ``{"allowed": False}`` plus a reason only when a binding's role is missing.
    """
    allowed, reason = authorize(user, review_attributes(spec), policy)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def rules_review(user: UserInfo, namespace: str, policy: Policy) -> dict[str, Any]:
    """The ``status`` of a SelfSubjectRulesReview for ``namespace``: resourceRules, nonResourceRules, incomplete."""
    if not namespace:
        raise bad_request("no namespace on request")
    rules, error = policy.rules_for(user, namespace)
    resource_rules, non_resource_rules = [], []
    for rule in rules:
        if rule.get("resources"):
            entry: dict[str, Any] = {"verbs": list(rule.get("verbs") or ())}
            for key in ("apiGroups", "resources", "resourceNames"):
                if rule.get(key):
                    entry[key] = list(rule[key])
            resource_rules.append(entry)
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": list(rule.get("verbs") or ()), "nonResourceURLs": list(rule["nonResourceURLs"])})
    status: dict[str, Any] = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    if error:
        status["evaluationError"] = error
    return status
