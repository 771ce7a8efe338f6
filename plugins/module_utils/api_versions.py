# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""apiVersion conversion for Kubernetes objects, as pure functions over tables.

Upstream manifests name API versions a cluster may not serve (``extensions/v1beta1`` DaemonSets
on 1.16+, ``apps/v1`` on 1.8). ``patch`` rewrites each object to the first version the cluster
serves from the kind's preference list (``KIND_VERSIONS``), applying the kind's conversion steps
(``CONVERSIONS``) so the object means the same thing in the new version: defaults that differ are
written explicitly, fields the target lacks are removed and reported, and anything that cannot be
kept is a warning that names the object, the cause and the remedy.

``served`` maps a group version (``"apps/v1"``, ``"v1"``) to the kinds it serves; it comes from
``served_by_release`` (a table of what each release served by default) or from discovery.
Nothing here talks to a cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import copy
import marshal
import re

FIRST_RELEASE = 8
LAST_RELEASE = 35
UNSUPPORTED_MODES = ("fail", "skip", "warn")

# The Go defaulting code stores "no limit" as MaxInt32.
MAX_INT32 = 2147483647

PSA_REMEDY = ("label the namespaces it admitted pods for with Pod Security Admission instead, e.g. "
              "pod-security.kubernetes.io/enforce: privileged on the Falco namespace (baseline or restricted for stricter policies)")


class ApiVersionError(ValueError):
    """Base class of the errors raised here."""


class UnknownRelease(ApiVersionError):
    """A Kubernetes release string that cannot be parsed or lies outside the table."""


class UnsupportedKind(ApiVersionError):
    """An object whose kind the cluster serves in no version this module can convert to."""


class InvalidDefinition(ApiVersionError):
    """An item of ``definitions`` that is not a Kubernetes object."""


# --------------------------------------------------------------------------------------------
# What each release served by default: (group version, kinds, first minor, last minor or None).
# Alpha versions are left out: they are off unless the API server enables them.
# --------------------------------------------------------------------------------------------
_CORE_KINDS = ("Namespace", "ConfigMap", "Secret", "Service", "ServiceAccount", "PersistentVolumeClaim", "PersistentVolume", "Pod",
               "Endpoints", "Event", "LimitRange", "ResourceQuota", "ReplicationController", "PodTemplate", "Node")
_RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
_WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")

SERVED_TABLE = (
    ("v1", _CORE_KINDS, 0, None),
    ("apps/v1", ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet", "ControllerRevision"), 9, None),
    ("apps/v1beta2", ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet", "ControllerRevision"), 8, 15),
    ("apps/v1beta1", ("Deployment", "StatefulSet", "ControllerRevision"), 0, 15),
    ("extensions/v1beta1", ("Deployment", "DaemonSet", "ReplicaSet", "NetworkPolicy", "PodSecurityPolicy"), 0, 15),
    ("extensions/v1beta1", ("Ingress",), 0, 21),
    ("networking.k8s.io/v1", ("NetworkPolicy",), 7, None),
    ("networking.k8s.io/v1", ("Ingress", "IngressClass"), 19, None),
    ("networking.k8s.io/v1beta1", ("Ingress",), 14, 21),
    ("networking.k8s.io/v1beta1", ("IngressClass",), 18, 21),
    ("policy/v1beta1", ("PodDisruptionBudget",), 0, 24),
    ("policy/v1beta1", ("PodSecurityPolicy",), 10, 24),
    ("policy/v1", ("PodDisruptionBudget",), 21, None),
    ("rbac.authorization.k8s.io/v1", _RBAC_KINDS, 8, None),
    ("rbac.authorization.k8s.io/v1beta1", _RBAC_KINDS, 0, 21),
    ("batch/v1", ("Job",), 0, None),
    ("batch/v1", ("CronJob",), 21, None),
    ("batch/v1beta1", ("CronJob",), 8, 24),
    ("autoscaling/v1", ("HorizontalPodAutoscaler",), 0, None),
    ("autoscaling/v2beta1", ("HorizontalPodAutoscaler",), 8, 24),
    ("autoscaling/v2beta2", ("HorizontalPodAutoscaler",), 12, 25),
    ("autoscaling/v2", ("HorizontalPodAutoscaler",), 23, None),
    ("scheduling.k8s.io/v1beta1", ("PriorityClass",), 11, 21),
    ("scheduling.k8s.io/v1", ("PriorityClass",), 14, None),
    ("storage.k8s.io/v1", ("StorageClass",), 6, None),
    ("storage.k8s.io/v1beta1", ("StorageClass",), 0, 21),
    ("apiextensions.k8s.io/v1", ("CustomResourceDefinition",), 16, None),
    ("apiextensions.k8s.io/v1beta1", ("CustomResourceDefinition",), 7, 21),
    ("admissionregistration.k8s.io/v1", _WEBHOOK_KINDS, 16, None),
    ("admissionregistration.k8s.io/v1beta1", _WEBHOOK_KINDS, 9, 21),
    ("coordination.k8s.io/v1", ("Lease",), 14, None),
)

_RELEASE_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$")


def parse_release(version):
    """Return the minor number of a Kubernetes 1.x release string ("1.30", "v1.30.5", "1.30.5-gke.1").

    Raises UnknownRelease when the string is not a release or lies outside 1.8 to 1.35.
    """
    match = _RELEASE_RE.match(version.strip()) if isinstance(version, str) else None
    if not match:
        raise UnknownRelease("Kubernetes release %r is not a version like 1.30 or v1.30.5-gke.1; pass the server's gitVersion "
                             "(kubectl version) or major.minor." % (version,))
    major, minor = int(match.group(1)), int(match.group(2))
    if major != 1 or not FIRST_RELEASE <= minor <= LAST_RELEASE:
        raise UnknownRelease("Kubernetes release %s is outside the releases this table covers (1.%d to 1.%d); use the versions "
                             "the cluster's discovery reports instead." % (version, FIRST_RELEASE, LAST_RELEASE))
    return minor


def served_by_release(version):
    """Map each group version to the frozenset of kinds Kubernetes ``version`` served by default."""
    minor = parse_release(version)
    kinds_by_version = {}
    for group_version, kinds, first, last in SERVED_TABLE:
        if first <= minor and (last is None or minor <= last):
            kinds_by_version.setdefault(group_version, set()).update(kinds)
    return dict((group_version, frozenset(kinds)) for group_version, kinds in kinds_by_version.items())


# --------------------------------------------------------------------------------------------
# Preference lists: the versions each kind can be converted between, newest stable first.
# --------------------------------------------------------------------------------------------
_WORKLOAD_VERSIONS = ("apps/v1", "apps/v1beta2", "apps/v1beta1", "extensions/v1beta1")
_RBAC_VERSIONS = ("rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1")
_PSP_KIND = "PodSecurityPolicy"

KIND_VERSIONS = {
    "Deployment": _WORKLOAD_VERSIONS,
    "DaemonSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "ReplicaSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "StatefulSet": ("apps/v1", "apps/v1beta2", "apps/v1beta1"),
    "NetworkPolicy": ("networking.k8s.io/v1", "extensions/v1beta1"),
    "Ingress": ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"),
    "IngressClass": ("networking.k8s.io/v1", "networking.k8s.io/v1beta1"),
    "PodSecurityPolicy": ("policy/v1beta1", "extensions/v1beta1"),
    "Role": _RBAC_VERSIONS,
    "ClusterRole": _RBAC_VERSIONS,
    "RoleBinding": _RBAC_VERSIONS,
    "ClusterRoleBinding": _RBAC_VERSIONS,
    "CronJob": ("batch/v1", "batch/v1beta1"),
    "Job": ("batch/v1",),
    "PodDisruptionBudget": ("policy/v1", "policy/v1beta1"),
    # autoscaling/v1 is served by every release, so a v1 HPA never needs converting.
    "HorizontalPodAutoscaler": ("autoscaling/v2", "autoscaling/v2beta2", "autoscaling/v2beta1"),
    # v1alpha1 only when discovery says the cluster enabled it.
    "PriorityClass": ("scheduling.k8s.io/v1", "scheduling.k8s.io/v1beta1", "scheduling.k8s.io/v1alpha1"),
    "StorageClass": ("storage.k8s.io/v1", "storage.k8s.io/v1beta1"),
}
KIND_VERSIONS.update(dict((kind, ("v1",)) for kind in _CORE_KINDS))


# --------------------------------------------------------------------------------------------
# Workload traits per (kind, version), from pkg/apis/{extensions,apps}/*/defaults.go and types.
#   selector_defaulted: the server fills spec.selector from the template labels (else required)
#   strategy: (default type, rollingUpdate defaults applied when the type is RollingUpdate)
#   fields: spec fields only this version has
#   defaults: other spec defaults that differ between versions
# --------------------------------------------------------------------------------------------
_DEPLOYMENT_ROLLING_APPS = ("RollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
_DAEMONSET_ROLLING = ("RollingUpdate", {"maxUnavailable": 1})
_STATEFULSET_ROLLING = ("RollingUpdate", {"partition": 0})
_APPS_DEPLOYMENT_DEFAULTS = {"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}

_Traits = collections.namedtuple("_Traits", ("selector_defaulted", "strategy", "fields", "defaults"))

WORKLOAD_TRAITS = {
    ("Deployment", "extensions/v1beta1"): _Traits(True, ("RollingUpdate", {"maxUnavailable": 1, "maxSurge": 1}), ("rollbackTo",),
                                                  {"revisionHistoryLimit": MAX_INT32, "progressDeadlineSeconds": MAX_INT32}),
    ("Deployment", "apps/v1beta1"): _Traits(True, _DEPLOYMENT_ROLLING_APPS, ("rollbackTo",),
                                            {"revisionHistoryLimit": 2, "progressDeadlineSeconds": 600}),
    ("Deployment", "apps/v1beta2"): _Traits(False, _DEPLOYMENT_ROLLING_APPS, (), _APPS_DEPLOYMENT_DEFAULTS),
    ("Deployment", "apps/v1"): _Traits(False, _DEPLOYMENT_ROLLING_APPS, (), _APPS_DEPLOYMENT_DEFAULTS),
    ("DaemonSet", "extensions/v1beta1"): _Traits(True, ("OnDelete", {"maxUnavailable": 1}), ("templateGeneration",), {}),
    ("DaemonSet", "apps/v1beta2"): _Traits(False, _DAEMONSET_ROLLING, (), {}),
    ("DaemonSet", "apps/v1"): _Traits(False, _DAEMONSET_ROLLING, (), {}),
    ("ReplicaSet", "extensions/v1beta1"): _Traits(True, None, (), {}),
    ("ReplicaSet", "apps/v1beta2"): _Traits(False, None, (), {}),
    ("ReplicaSet", "apps/v1"): _Traits(False, None, (), {}),
    ("StatefulSet", "apps/v1beta1"): _Traits(True, ("OnDelete", {"partition": 0}), (), {}),
    ("StatefulSet", "apps/v1beta2"): _Traits(False, _STATEFULSET_ROLLING, (), {}),
    ("StatefulSet", "apps/v1"): _Traits(False, _STATEFULSET_ROLLING, (), {}),
}

_STRATEGY_FIELD = {"Deployment": "strategy", "DaemonSet": "updateStrategy", "StatefulSet": "updateStrategy"}
_DEFAULT_MEANING = {("revisionHistoryLimit", MAX_INT32): "unlimited (every old ReplicaSet kept)",
                    ("progressDeadlineSeconds", MAX_INT32): "no deadline"}
_FIELD_REMEDY = {"rollbackTo": "the rollback it requested will not happen; run kubectl rollout undo instead",
                 "templateGeneration": None}
_SELECTOR_KEYS = ("matchLabels", "matchExpressions")


class _Notes:
    """What a conversion did to one object; warnings carry the object's name so they stand alone."""

    __slots__ = ("label", "changes", "warnings")

    def __init__(self, label):
        self.label = label
        self.changes = []
        self.warnings = []

    def change(self, text):
        self.changes.append(text)

    def warn(self, text):
        self.warnings.append("%s: %s" % (self.label, text))


def _fmt(value):
    """Render a value as compact flow YAML for messages."""
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (key, _fmt(item)) for key, item in value.items())
    if isinstance(value, list):
        return "[%s]" % ", ".join(_fmt(item) for item in value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _copy(value):
    """Deep copy of YAML/JSON data, several times faster than copy.deepcopy (copying is most of the cost of a patch)."""
    try:
        # A marshal round trip copies plain dicts, lists, strings and numbers in C, keeping key order and types.
        return marshal.loads(marshal.dumps(value))
    except ValueError:
        # Dates from YAML, dict subclasses and other types marshal refuses.
        return _copy_slow(value)


def _copy_slow(value):
    if isinstance(value, dict):
        return {key: _copy_slow(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_slow(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)


def _put(mapping, key, value, before=None):
    """Set mapping[key], placing a new key before ``before`` so the YAML reads in the usual order."""
    if key in mapping or before not in mapping:
        mapping[key] = value
        return
    items = list(mapping.items())
    mapping.clear()
    for existing, item in items:
        if existing == before:
            mapping[key] = value
        mapping[existing] = item


def _spec(obj):
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else None


def _dict_at(mapping, *path):
    for key in path:
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping if isinstance(mapping, dict) else None


def selector_matches(selector, labels):
    """Whether a LabelSelector (matchLabels and matchExpressions) selects a set of labels; empty selects nothing here."""
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in expressions:
        if not isinstance(expression, dict):
            return False
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Workload steps
# --------------------------------------------------------------------------------------------
def _workload_selector(obj, source, target, notes):
    """spec.selector: fix the `selector: {app: x}` shorthand, add matchLabels where required, check it selects the template."""
    spec = _spec(obj)
    if spec is None:
        return
    labels = _dict_at(spec, "template", "metadata", "labels") or {}
    selector = spec.get("selector")
    if isinstance(selector, dict):
        stray = [key for key in selector if key not in _SELECTOR_KEYS]
        if stray and all(isinstance(selector[key], (str, int, float, bool)) for key in stray):
            match_labels = dict(selector.get("matchLabels") or {})
            for key in stray:
                match_labels.setdefault(key, selector[key])
            fixed = {"matchLabels": match_labels}
            if "matchExpressions" in selector:
                fixed["matchExpressions"] = selector["matchExpressions"]
            spec["selector"] = selector = fixed
            notes.change('spec.selector: moved %s into matchLabels; a label selector has only matchLabels and matchExpressions '
                         '(%s rejects unknown field "%s")' % (", ".join(stray), target, stray[0]))
        elif stray:
            notes.warn('spec.selector has unknown field(s) %s that %s rejects; write them as spec.selector.matchLabels.'
                       % (", ".join(stray), target))
    if selector is None:
        if WORKLOAD_TRAITS[(obj["kind"], target)].selector_defaulted:
            return
        if labels:
            _put(spec, "selector", {"matchLabels": _copy(labels)}, before="template")
            why = " (%s defaulted it from the same labels)" % source if WORKLOAD_TRAITS[(obj["kind"], source)].selector_defaulted else ""
            notes.change("spec.selector.matchLabels: added from spec.template.metadata.labels; %s requires a selector%s" % (target, why))
        else:
            notes.warn("has no spec.selector and no spec.template.metadata.labels; %s requires a selector that matches the "
                       "template labels. Add labels to the pod template and the same spec.selector.matchLabels." % target)
    elif isinstance(selector, dict) and not selector_matches(selector, labels):
        notes.warn("spec.selector %s does not select spec.template.metadata.labels %s; %s rejects it. Make the template labels "
                   "include the selector's matchLabels." % (_fmt(selector), _fmt(labels), target))


def _effective_strategy(strategy, default):
    """The strategy the server would store: the object's own values with a version's defaults filled in."""
    default_type, rolling_defaults = default
    strategy = strategy if isinstance(strategy, dict) else {}
    strategy_type = strategy.get("type") or default_type
    effective = {"type": strategy_type}
    if strategy_type == "RollingUpdate":
        rolling = dict(rolling_defaults)
        rolling.update(strategy.get("rollingUpdate") or {})
        effective["rollingUpdate"] = rolling
    return effective


def _workload_strategy(obj, source, target, notes):
    """strategy/updateStrategy: written explicitly when the source version's default differs from the target's."""
    kind = obj["kind"]
    field = _STRATEGY_FIELD.get(kind)
    spec = _spec(obj)
    if field is None or spec is None:
        return
    source_default = WORKLOAD_TRAITS[(kind, source)].strategy
    target_default = WORKLOAD_TRAITS[(kind, target)].strategy
    current = spec.get(field)
    intended = _effective_strategy(current, source_default)
    if intended == _effective_strategy(current, target_default):
        return
    _put(spec, field, intended, before="template")
    notes.change("spec.%s: wrote %s explicitly; %s defaults it differently from %s, so the update behaviour stays the same"
                 % (field, _fmt(intended), target, source))


def _workload_fields(obj, source, target, notes):
    """spec.rollbackTo, spec.templateGeneration: removed where the target version has no such field."""
    spec = _spec(obj)
    if spec is None:
        return
    kind = obj["kind"]
    kept = WORKLOAD_TRAITS[(kind, target)].fields
    for field in WORKLOAD_TRAITS[(kind, source)].fields:
        if field in spec and field not in kept:
            value = spec.pop(field)
            notes.change("spec.%s: removed (%s); %s has no such field" % (field, _fmt(value), target))
            if _FIELD_REMEDY.get(field):
                notes.warn("spec.%s was removed because %s has no such field; %s." % (field, target, _FIELD_REMEDY[field]))


def _describe_default(field, value):
    meaning = _DEFAULT_MEANING.get((field, value))
    return "%s, %s" % (value, meaning) if meaning else str(value)


def _workload_defaults(obj, source, target, notes):
    """revisionHistoryLimit, progressDeadlineSeconds: warn when left unset and the defaults differ."""
    spec = _spec(obj)
    if spec is None:
        return
    kind = obj["kind"]
    source_defaults = WORKLOAD_TRAITS[(kind, source)].defaults
    target_defaults = WORKLOAD_TRAITS[(kind, target)].defaults
    for field, value in source_defaults.items():
        if field not in spec and target_defaults.get(field, value) != value:
            notes.warn("spec.%s defaults to %s in %s but %s in %s; set spec.%s: %s to keep the old behaviour."
                       % (field, _describe_default(field, value), source, _describe_default(field, target_defaults[field]),
                          target, field, value))


# --------------------------------------------------------------------------------------------
# Ingress steps (extensions/v1beta1 and networking.k8s.io/v1beta1 share one schema)
# --------------------------------------------------------------------------------------------
_INGRESS_V1 = "networking.k8s.io/v1"
_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def _ingress_backends(spec):
    """Yield (holder, key, path) for every backend: the default one and each rule path's."""
    for key in ("backend", "defaultBackend"):
        if isinstance(spec.get(key), dict):
            yield spec, key, "spec.%s" % key
    for rule_index, rule in enumerate(spec.get("rules") or []):
        paths = _dict_at(rule, "http") and rule["http"].get("paths") or []
        for path_index, path in enumerate(paths):
            if isinstance(path, dict) and isinstance(path.get("backend"), dict):
                yield path, "backend", "spec.rules[%d].http.paths[%d].backend" % (rule_index, path_index)


def _backend_to_v1(backend):
    if "serviceName" not in backend and "servicePort" not in backend:
        return backend
    port = backend.get("servicePort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    service = {"name": backend.get("serviceName")}
    if port is not None:
        service["port"] = {"number": port} if isinstance(port, int) else {"name": port}
    converted = {"service": service}
    converted.update((key, value) for key, value in backend.items() if key not in ("serviceName", "servicePort"))
    return converted


def _backend_to_beta(backend):
    service = backend.get("service")
    if not isinstance(service, dict):
        return backend
    converted = {"serviceName": service.get("name")}
    port = service.get("port") or {}
    if "number" in port:
        converted["servicePort"] = port["number"]
    elif "name" in port:
        converted["servicePort"] = port["name"]
    converted.update((key, value) for key, value in backend.items() if key != "service")
    return converted


def _ingress_backend_shape(obj, source, target, notes):
    """Backends: serviceName/servicePort <-> service: {name, port: {number|name}}; spec.backend <-> spec.defaultBackend."""
    spec = _spec(obj)
    if spec is None or (source == _INGRESS_V1) == (target == _INGRESS_V1):
        return
    upward = target == _INGRESS_V1
    convert = _backend_to_v1 if upward else _backend_to_beta
    converted = 0
    for holder, key, path in list(_ingress_backends(spec)):
        new_backend = convert(holder[key])
        if new_backend is not holder[key]:
            holder[key] = new_backend
            converted += 1
    if converted:
        notes.change("backends: rewrote %d backend(s) as %s" % (converted, "service: {name, port}" if upward else "serviceName/servicePort"))
    old_key, new_key = ("backend", "defaultBackend") if upward else ("defaultBackend", "backend")
    if old_key in spec:
        items = [(new_key if key == old_key else key, value) for key, value in spec.items()]
        spec.clear()
        spec.update(items)
        notes.change("spec.%s: renamed to spec.%s" % (old_key, new_key))


def _ingress_path_type(obj, source, target, notes):
    """pathType: ImplementationSpecific written where v1 requires it, and removed again going down (the v1beta1 default)."""
    spec = _spec(obj)
    if spec is None or (source == _INGRESS_V1) == (target == _INGRESS_V1):
        return
    upward = target == _INGRESS_V1
    touched = 0
    for rule in spec.get("rules") or []:
        for path in (_dict_at(rule, "http") or {}).get("paths") or []:
            if not isinstance(path, dict):
                continue
            if upward and "pathType" not in path:
                _put(path, "pathType", "ImplementationSpecific", before="backend")
                touched += 1
            elif not upward and path.get("pathType") == "ImplementationSpecific":
                del path["pathType"]
                touched += 1
    if touched and upward:
        notes.change("pathType: set ImplementationSpecific (the v1beta1 behaviour) on %d path(s); %s requires it" % (touched, target))
    elif touched:
        notes.change("pathType: removed ImplementationSpecific, the %s default, from %d path(s) so releases before 1.18 accept them"
                     % (target, touched))


def _ingress_class(obj, source, target, notes):
    """spec.ingressClassName <-> annotation kubernetes.io/ingress.class, which is what controllers read before v1."""
    spec = _spec(obj)
    if spec is None or (source == _INGRESS_V1) == (target == _INGRESS_V1):
        return
    metadata = obj["metadata"]
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else {}
    annotated = annotations.get(_INGRESS_CLASS_ANNOTATION)
    named = spec.get("ingressClassName")
    if annotated is not None and named is not None:
        if annotated != named:
            notes.warn("sets both spec.ingressClassName %s and annotation %s: %s; the API server rejects the pair. Keep one."
                       % (named, _INGRESS_CLASS_ANNOTATION, annotated))
        return
    if target == _INGRESS_V1 and annotated is not None:
        annotations = dict(annotations)
        del annotations[_INGRESS_CLASS_ANNOTATION]
        if annotations:
            metadata["annotations"] = annotations
        else:
            del metadata["annotations"]
        _put(spec, "ingressClassName", annotated, before="rules" if "rules" in spec else None)
        notes.change("spec.ingressClassName: set to %s from annotation %s, which %s deprecates (an IngressClass %s must exist)"
                     % (annotated, _INGRESS_CLASS_ANNOTATION, target, annotated))
    elif target != _INGRESS_V1 and named is not None:
        del spec["ingressClassName"]
        metadata["annotations"] = dict(annotations)
        metadata["annotations"][_INGRESS_CLASS_ANNOTATION] = named
        notes.change("spec.ingressClassName: moved to annotation %s: %s, which controllers read for %s"
                     % (_INGRESS_CLASS_ANNOTATION, named, target))


# --------------------------------------------------------------------------------------------
# HorizontalPodAutoscaler steps: autoscaling/v2beta1 metric shapes <-> v2beta2 and v2 (one schema)
# --------------------------------------------------------------------------------------------
_HPA_V2BETA1 = "autoscaling/v2beta1"
# v2beta1 field -> (v2 target type, v2 target field), per metric source type.
_HPA_TARGETS = {
    "Resource": (("targetAverageUtilization", "Utilization", "averageUtilization"), ("targetAverageValue", "AverageValue", "averageValue")),
    "ContainerResource": (("targetAverageUtilization", "Utilization", "averageUtilization"),
                          ("targetAverageValue", "AverageValue", "averageValue")),
    "Pods": (("targetAverageValue", "AverageValue", "averageValue"),),
    "Object": (("targetValue", "Value", "value"), ("averageValue", "AverageValue", "averageValue")),
    "External": (("targetValue", "Value", "value"), ("targetAverageValue", "AverageValue", "averageValue")),
}
# v2beta1 metric identity fields -> v2 metric identifier fields (Resource kinds keep name at the top).
_HPA_IDENTIFIERS = {"Pods": ("selector",), "Object": ("selector",), "External": ("metricSelector",)}


def _source_key(metric_type):
    return metric_type[:1].lower() + metric_type[1:]


def _pop_resource_identity(source):
    """Resource metrics name their resource (and container) at the top in every version; keep those keys first."""
    return {key: source.pop(key) for key in ("name", "container") if key in source}


def _metric_to_v2(metric):
    metric_type = metric.get("type")
    key = _source_key(metric_type or "")
    source = metric.get(key)
    if metric_type not in _HPA_TARGETS or not isinstance(source, dict):
        return metric, False
    rest = dict(source)
    converted = _pop_resource_identity(rest)
    if metric_type in _HPA_IDENTIFIERS:
        identifier = {"name": rest.pop("metricName", None)}
        for selector_field in _HPA_IDENTIFIERS[metric_type]:
            if selector_field in rest:
                identifier["selector"] = rest.pop(selector_field)
        if metric_type == "Object" and "target" in rest:
            converted["describedObject"] = rest.pop("target")
        converted["metric"] = identifier
    for old_field, target_type, new_field in _HPA_TARGETS[metric_type]:
        if old_field in rest:
            converted["target"] = {"type": target_type, new_field: rest.pop(old_field)}
            break
    converted.update(rest)
    result = dict(metric)
    result[key] = converted
    return result, True


def _metric_to_v2beta1(metric):
    metric_type = metric.get("type")
    key = _source_key(metric_type or "")
    source = metric.get(key)
    if metric_type not in _HPA_TARGETS or not isinstance(source, dict):
        return metric, False
    rest = dict(source)
    converted = _pop_resource_identity(rest)
    if metric_type in _HPA_IDENTIFIERS:
        if "describedObject" in rest:
            converted["target"] = rest.pop("describedObject")
        identifier = rest.pop("metric", None) or {}
        converted["metricName"] = identifier.get("name")
        if "selector" in identifier:
            converted[_HPA_IDENTIFIERS[metric_type][0]] = identifier["selector"]
    target = rest.pop("target", None) or {}
    for old_field, target_type, new_field in _HPA_TARGETS[metric_type]:
        if target.get("type") == target_type:
            converted[old_field] = target.get(new_field)
            break
    converted.update(rest)
    result = dict(metric)
    result[key] = converted
    return result, True


def _hpa_metrics(obj, source, target, notes):
    """spec.metrics: targetAverageUtilization <-> target: {type: Utilization, averageUtilization} and the other target shapes."""
    spec = _spec(obj)
    if spec is None or (source == _HPA_V2BETA1) == (target == _HPA_V2BETA1):
        return
    convert = _metric_to_v2beta1 if target == _HPA_V2BETA1 else _metric_to_v2
    metrics = spec.get("metrics")
    if not isinstance(metrics, list):
        return
    rewritten = 0
    for index, metric in enumerate(metrics):
        if isinstance(metric, dict):
            metrics[index], done = convert(metric)
            rewritten += done
    if rewritten:
        notes.change("spec.metrics: rewrote %d metric(s) in the %s target shape" % (rewritten, target))


def _hpa_behavior(obj, source, target, notes):
    """spec.behavior: removed going to autoscaling/v2beta1, which has no scaling policies."""
    spec = _spec(obj)
    if spec is None or target != _HPA_V2BETA1 or "behavior" not in spec:
        return
    del spec["behavior"]
    notes.change("spec.behavior: removed; %s has no scaling behavior" % target)
    notes.warn("spec.behavior was removed because %s has no scaling policies, so the default scale-up and scale-down rates "
               "apply; serve autoscaling/v2beta2 or v2 (1.12+) to keep them." % target)


# --------------------------------------------------------------------------------------------
# Smaller kinds
# --------------------------------------------------------------------------------------------
def _network_policy_egress(obj, source, target, notes):
    """egress/policyTypes: warn going to extensions/v1beta1, which gained them only in 1.8 (older servers drop them)."""
    spec = _spec(obj)
    if spec is None or target != "extensions/v1beta1":
        return
    present = [field for field in ("egress", "policyTypes") if field in spec]
    if present:
        notes.warn("spec.%s kept for %s, which has it only from Kubernetes 1.8; older API servers drop it and the policy "
                   "stops limiting egress. Serve networking.k8s.io/v1 to be sure." % ("/".join(present), target))


def _pdb_empty_selector(obj, source, target, notes):
    """spec.selector: warn when empty, which selects no pods in policy/v1beta1 but every pod of the namespace in policy/v1."""
    spec = _spec(obj)
    if spec is None:
        return
    selector = spec.get("selector")
    if isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions"):
        before, after = ("no pods", "every pod in the namespace") if target == "policy/v1" else ("every pod in the namespace", "no pods")
        notes.warn("spec.selector is empty: it selected %s in %s but selects %s in %s. Give it matchLabels for the pods it protects."
                   % (before, source, after, target))
    if target == "policy/v1beta1" and "unhealthyPodEvictionPolicy" in spec:
        value = spec.pop("unhealthyPodEvictionPolicy")
        notes.change("spec.unhealthyPodEvictionPolicy: removed (%s); %s has no such field" % (value, target))
        notes.warn("spec.unhealthyPodEvictionPolicy was removed because %s has no such field; the IfHealthyBudget behaviour applies."
                   % target)


def _cronjob_time_zone(obj, source, target, notes):
    """spec.timeZone: warn going to batch/v1beta1; servers before the CronJobTimeZone feature ignore it."""
    spec = _spec(obj)
    if spec is not None and target == "batch/v1beta1" and "timeZone" in spec:
        notes.warn("spec.timeZone is honoured only where CronJobTimeZone is enabled (1.25+); older servers drop it and run the "
                   "schedule in the kube-controller-manager's time zone. Write the schedule in that zone.")


Step = collections.namedtuple("Step", ("summary", "convert"))


def _steps(*functions):
    # The summary is the docstring's first line, so the table documents itself (python -OO strips docstrings).
    return tuple(Step((function.__doc__ or function.__name__).strip().splitlines()[0], function) for function in functions)


_WORKLOAD_STEPS = _steps(_workload_selector, _workload_strategy, _workload_fields, _workload_defaults)

# Kind -> conversion steps, applied in order to a copy of the object. Each step gets
# (object, source version, target version, notes) and acts only where the two versions differ.
# Kinds in KIND_VERSIONS without steps share one schema across their versions: only apiVersion changes.
CONVERSIONS = {
    "Deployment": _WORKLOAD_STEPS,
    "DaemonSet": _WORKLOAD_STEPS,
    "ReplicaSet": _WORKLOAD_STEPS,
    "StatefulSet": _WORKLOAD_STEPS,
    "Ingress": _steps(_ingress_backend_shape, _ingress_path_type, _ingress_class),
    "HorizontalPodAutoscaler": _steps(_hpa_metrics, _hpa_behavior),
    "NetworkPolicy": _steps(_network_policy_egress),
    "PodDisruptionBudget": _steps(_pdb_empty_selector),
    "CronJob": _steps(_cronjob_time_zone),
}


def convert(definition, target):
    """Return a converted copy of one object and its notes: ``(object, changes, warnings)``.

    ``target`` must be one of ``KIND_VERSIONS[kind]``, as must the object's own apiVersion.
    """
    kind, source = definition["kind"], definition["apiVersion"]
    versions = KIND_VERSIONS.get(kind, ())
    if source not in versions or target not in versions:
        raise UnsupportedKind("%s: no conversion from %s to %s is known; the versions of %s this module converts between are %s."
                              % (_label(definition), source, target, kind, ", ".join(versions) or "none"))
    result = _copy(definition)
    notes = _Notes(_label(definition))
    if source != target:
        result["apiVersion"] = target
        for step in CONVERSIONS.get(kind, ()):
            step.convert(result, source, target, notes)
    return result, notes.changes, notes.warnings


# --------------------------------------------------------------------------------------------
# patch
# --------------------------------------------------------------------------------------------
def _label(definition):
    metadata = definition.get("metadata") or {}
    namespace = metadata.get("namespace")
    return "%s %s%s" % (definition.get("kind"), "%s/" % namespace if namespace else "", metadata.get("name"))


def _check(definition, index):
    where = "definitions[%d]" % index
    if not isinstance(definition, dict):
        raise InvalidDefinition("%s is a %s, not a Kubernetes object; give each definition as a mapping with apiVersion, kind and "
                                "metadata.name." % (where, type(definition).__name__))
    missing = [field for field in ("apiVersion", "kind") if not isinstance(definition.get(field), str) or not definition[field]]
    metadata = definition.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        missing.append("metadata.name")
    if missing:
        # Only the parts it has, so a missing kind or name does not show as None.
        name = metadata.get("name") if isinstance(metadata, dict) and isinstance(metadata.get("name"), str) else ""
        namespace = metadata.get("namespace") if name and isinstance(metadata.get("namespace"), str) else ""
        label = " ".join(part for part in ("kind" not in missing and definition["kind"], "/".join(p for p in (namespace, name) if p)) if part)
        raise InvalidDefinition("%s%s has no %s; every definition needs apiVersion, kind and metadata.name (generateName is not "
                                "supported here)." % (where, " (%s)" % label if label else "", " or ".join(missing)))


def _crd_served(definitions):
    """Group versions and kinds that CustomResourceDefinitions in the same batch will serve once applied."""
    extra = {}
    for definition in definitions:
        if not isinstance(definition, dict) or definition.get("kind") != "CustomResourceDefinition":
            continue
        spec = _spec(definition) or {}
        kind = _dict_at(spec, "names") and spec["names"].get("kind")
        versions = [version.get("name") for version in spec.get("versions") or [] if isinstance(version, dict) and version.get("served", True)]
        if spec.get("version"):
            versions.append(spec["version"])
        for version in versions:
            extra.setdefault("%s/%s" % (spec.get("group"), version), set()).add(kind)
    return extra


def _entry(definition, target, action, changes=None, warnings=None):
    metadata = definition["metadata"]
    return {"kind": definition["kind"], "name": metadata["name"], "namespace": metadata.get("namespace"), "from": definition["apiVersion"],
            "to": target, "changes": changes or [], "warnings": warnings or [], "action": action}


def _unsupported_message(definition, served, versions, target="this cluster"):
    kind, source = definition["kind"], definition["apiVersion"]
    label = _label(definition)
    if not versions:
        elsewhere = sorted(group_version for group_version, kinds in served.items() if kind in kinds)
        cause = ("it serves %s in %s, but no conversion for %s is known" % (kind, ", ".join(elsewhere), kind) if elsewhere
                 else "it serves %s in no version" % kind)
        remedy = ("Rewrite the manifest for a served version, install the CustomResourceDefinition or API first, or set "
                  "unsupported to skip to leave the object out.")
    elif source not in versions:
        cause = "%s is not a version of %s this module converts from (%s)" % (source, kind, ", ".join(versions))
        remedy = "Fix the apiVersion in the manifest, or set unsupported to skip to leave the object out."
    else:
        cause = "it serves none of %s" % ", ".join(versions)
        remedy = ("Use a Kubernetes release that serves %s, enable its API group on the API server (--runtime-config), or set "
                  "unsupported to skip to leave the object out." % kind)
    return "%s: %s is not served by %s; %s. %s" % (label, source, target, cause, remedy)


def _serves(served, extra, group_version, kind):
    return kind in served.get(group_version, ()) or kind in extra.get(group_version, ())


def patch(definitions, served, unsupported="fail", target="this cluster"):
    """Rewrite Kubernetes objects to API versions the cluster serves.

    ``definitions`` is a list of objects (dicts); ``served`` maps group version to the kinds it serves (see
    ``served_by_release``); ``unsupported`` says what happens to an object whose kind the cluster serves in no
    version: "fail" raises UnsupportedKind, "skip" leaves it out, "warn" passes it through unchanged. ``target`` names
    what ``served`` describes in messages ("this cluster", "Kubernetes 1.8").

    Returns ``{"definitions": [...], "report": [...], "changed": bool}``; inputs are never modified.
    """
    if unsupported not in UNSUPPORTED_MODES:
        raise ValueError("unsupported must be one of %s, not %r." % (", ".join(UNSUPPORTED_MODES), unsupported))
    if not isinstance(definitions, (list, tuple)):
        raise InvalidDefinition("definitions is a %s; give a list of Kubernetes objects." % type(definitions).__name__)
    for index, definition in enumerate(definitions):
        _check(definition, index)
    extra = _crd_served(definitions)
    output, report = [], []
    for definition in definitions:
        kind, source = definition["kind"], definition["apiVersion"]
        if _serves(served, extra, source, kind):
            output.append(_copy(definition))
            report.append(_entry(definition, source, "unchanged"))
            continue
        versions = KIND_VERSIONS.get(kind, ())
        targets = [version for version in versions if _serves(served, extra, version, kind)] if source in versions else []
        if targets:
            converted, changes, warnings = convert(definition, targets[0])
            output.append(converted)
            report.append(_entry(definition, targets[0], "converted", changes, warnings))
        elif kind == _PSP_KIND and source in versions:
            report.append(_entry(definition, None, "dropped", ["left out: the cluster serves no PodSecurityPolicy version"], [
                "%s: left out because %s serves PodSecurityPolicy in no version (removed in Kubernetes 1.25); %s."
                % (_label(definition), target, PSA_REMEDY)]))
        else:
            message = _unsupported_message(definition, served, versions, target)
            if unsupported == "fail":
                raise UnsupportedKind(message)
            if unsupported == "skip":
                report.append(_entry(definition, None, "skipped", ["left out: unsupported is skip"], [message]))
            else:
                output.append(_copy(definition))
                report.append(_entry(definition, source, "unchanged", [], [message]))
    changed = any(entry["action"] in ("converted", "dropped", "skipped") for entry in report)
    return {"definitions": output, "report": report, "changed": changed}
