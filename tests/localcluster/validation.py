"""kube-apiserver defaulting and validation for the kinds the collection deploys.

Everything here is pure: objects go in as JSON dicts and come back as new dicts or lists of
``Status`` causes. The server calls :func:`apply_defaults` first and :func:`validate` on the
defaulted object, like the real registry (decode -> default -> validate).

Messages are built the way apimachinery builds them (``field.Error.ErrorBody``): the cause
message is ``<type string>[: <bad value>][: <detail>]`` and the bad value is rendered the way
Go's ``fmt`` renders it in the releases we emulate (strings quoted, structs and maps with
``%#v``), because clients and humans match on these texts.
"""

from __future__ import annotations

# The validators mirror kube-apiserver's Go functions one to one (same branches, same order of
# causes) so that they can be checked side by side against the upstream source.
# pylint: disable=too-many-lines,too-many-branches,too-many-locals,too-many-statements,too-many-return-statements
# pylint: disable=too-many-arguments,too-many-positional-arguments

import base64
import copy
import json
import re
from typing import Any, Callable

from localcluster import schema
from localcluster.errors import ApiError

Cause = dict[str, str]

DEFAULT_PROFILE = "1.30"

RBAC_GROUP = "rbac.authorization.k8s.io"
MAX_INT32 = 2147483647
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

_IMMUTABLE = "field is immutable"
_IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
_SELECTOR_MISMATCH = "`selector` does not match template `labels`"
_NEGATIVE = "must be greater than or equal to 0"
_PORT_RANGE = "must be between 1 and 65535, inclusive"

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")


def _profile(profile: str) -> tuple[int, int]:
    major, minor = profile.split(".")[:2]
    return int(major), int(minor)


# ---------------------------------------------------------------------------------------------
# Go value rendering (field.Error bad values)
# ---------------------------------------------------------------------------------------------

class GoValue(str):
    """A bad value already rendered the way Go prints it (used for maps, structs, slices)."""


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string (close enough for printable text: JSON escaping is a subset)."""
    return json.dumps(text, ensure_ascii=False)


def _render(value: Any) -> str:
    if isinstance(value, GoValue):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_quote(json.dumps(value))


def go_string_map(value: dict[str, str] | None) -> GoValue:
    """``%#v`` of a ``map[string]string``: Go prints nil maps as ``(nil)`` and sorts keys."""
    if value is None:
        return GoValue("map[string]string(nil)")
    inner = ", ".join(f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted(value.items()))
    return GoValue("map[string]string{" + inner + "}")


def _go_string_slice(value: list[str] | None) -> str:
    if value is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(v)) for v in value) + "}"


def go_label_selector(selector: dict[str, Any] | None) -> GoValue:
    """``%#v`` of a dereferenced ``*metav1.LabelSelector`` (the package is named ``v1``)."""
    selector = selector or {}
    exprs = selector.get("matchExpressions")
    if exprs is None:
        rendered_exprs = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = [f"v1.LabelSelectorRequirement{{Key:{go_quote(e.get('key', ''))}, Operator:{go_quote(e.get('operator', ''))}, "
                 f"Values:{_go_string_slice(e.get('values'))}}}" for e in exprs]
        rendered_exprs = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return GoValue(f"v1.LabelSelector{{MatchLabels:{go_string_map(selector.get('matchLabels'))}, MatchExpressions:{rendered_exprs}}}")


def go_int_or_string(value: Any) -> GoValue:
    """``%#v`` of an ``intstr.IntOrString`` (Type 0 is Int, 1 is String)."""
    if isinstance(value, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}")
    return GoValue(f"intstr.IntOrString{{Type:0, IntVal:{int(value or 0)}, StrVal:\"\"}}")


def go_role_ref(ref: dict[str, Any] | None) -> GoValue:
    """``%#v`` of the internal ``rbac.RoleRef``."""
    ref = ref or {}
    return GoValue(f"rbac.RoleRef{{APIGroup:{go_quote(ref.get('apiGroup', ''))}, Kind:{go_quote(ref.get('kind', ''))}, "
                   f"Name:{go_quote(ref.get('name', ''))}}}")


# ---------------------------------------------------------------------------------------------
# Causes
# ---------------------------------------------------------------------------------------------

def _cause(reason: str, path: str, body: str) -> Cause:
    return {"reason": reason, "message": body, "field": path}


def _with_detail(body: str, detail: str) -> str:
    return f"{body}: {detail}" if detail else body


def required(path: str, detail: str = "") -> Cause:
    """``field.Required``."""
    return _cause("FieldValueRequired", path, _with_detail("Required value", detail))


def invalid(path: str, value: Any, detail: str = "") -> Cause:
    """``field.Invalid``."""
    return _cause("FieldValueInvalid", path, _with_detail(f"Invalid value: {_render(value)}", detail))


def not_supported(path: str, value: Any, valid: list[str]) -> Cause:
    """``field.NotSupported``; ``valid`` is listed in the order the Go code passes it."""
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return _cause("FieldValueNotSupported", path, _with_detail(f"Unsupported value: {_render(value)}", detail))


def duplicate(path: str, value: Any) -> Cause:
    """``field.Duplicate``."""
    return _cause("FieldValueDuplicate", path, f"Duplicate value: {_render(value)}")


def forbidden(path: str, detail: str) -> Cause:
    """``field.Forbidden``."""
    return _cause("FieldValueForbidden", path, _with_detail("Forbidden", detail))


def not_found(path: str, value: Any) -> Cause:
    """``field.NotFound``."""
    return _cause("FieldValueNotFound", path, f"Not found: {_render(value)}")


def too_long(path: str, limit: int, profile: str = DEFAULT_PROFILE) -> Cause:
    """``field.TooLong`` (the unit word changed from characters to bytes in 1.28)."""
    unit = "bytes" if _profile(profile) >= (1, 28) else "characters"
    return _cause("FieldValueTooLong", path, f"Too long: must have at most {limit} {unit}")


# ---------------------------------------------------------------------------------------------
# Name and key syntax (k8s.io/apimachinery/pkg/util/validation)
# ---------------------------------------------------------------------------------------------

def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    # The doubled space after each comma is what RegexError really produces.
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def _full(fmt: str, value: str) -> bool:
    return re.fullmatch(fmt, value) is not None


def is_dns1123_label(value: str, profile: str = DEFAULT_PROFILE) -> list[str]:
    """``IsDNS1123Label`` messages."""
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _full(_DNS1123_LABEL_FMT, value):
        what = "a lowercase RFC 1123 label" if _profile(profile) >= (1, 20) else "a DNS-1123 label"
        errs.append(_regex_error(f"{what} must consist of lower case alphanumeric characters or '-', and must start and end with an "
                                 "alphanumeric character", _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str, profile: str = DEFAULT_PROFILE) -> list[str]:
    """``IsDNS1123Subdomain`` messages."""
    errs = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _full(_DNS1123_SUBDOMAIN_FMT, value):
        what = "a lowercase RFC 1123 subdomain" if _profile(profile) >= (1, 20) else "a DNS-1123 subdomain"
        errs.append(_regex_error(f"{what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
                                 "alphanumeric character", _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str, profile: str = DEFAULT_PROFILE) -> list[str]:
    """``IsDNS1035Label`` messages (Service names)."""
    del profile  # unchanged across the emulated releases
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _full(_DNS1035_LABEL_FMT, value):
        errs.append(_regex_error("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, "
                                 "and end with an alphanumeric character", _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_path_segment_name(value: str, profile: str = DEFAULT_PROFILE) -> list[str]:
    """``path.IsValidPathSegmentName`` (RBAC object names)."""
    del profile
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in value]


def is_qualified_name(value: str, profile: str = DEFAULT_PROFILE) -> list[str]:
    """``IsQualifiedName`` messages (label and annotation keys)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix, profile))
    else:
        return ["a qualified name " + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _full(_QUALIFIED_NAME_FMT, name):
        errs.append("name part " + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """``IsValidLabelValue`` messages."""
    errs = []
    if len(value) > 63:
        errs.append(_max_len(63))
    if not _full(_LABEL_VALUE_FMT, value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_config_map_key(value: str) -> list[str]:
    """``IsConfigMapKey`` messages (ConfigMap and Secret data keys)."""
    errs = []
    if len(value) > 253:
        errs.append(_max_len(253))
    if not _full(_CONFIG_KEY_FMT, value):
        errs.append(_regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", _CONFIG_KEY_FMT,
                                 "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_valid_port_name(value: str) -> list[str]:
    """``IsValidPortName`` messages (IANA service names)."""
    errs = []
    if len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not _full("[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _port_ok(port: Any) -> bool:
    return isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535


# ---------------------------------------------------------------------------------------------
# Defaulting
# ---------------------------------------------------------------------------------------------

def _image_pull_policy(image: str) -> str:
    # parsers.ParseImageName: no tag and no digest means "latest"; a digest alone means no tag.
    name, _unused, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ("" if digest or not image else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(probe: dict[str, Any] | None) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    _default_handler(probe)


def _default_handler(handler: dict[str, Any] | None) -> None:
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        handler["httpGet"].setdefault("path", "/")
        handler["httpGet"].setdefault("scheme", "HTTP")


def _default_field_ref(holder: dict[str, Any] | None) -> None:
    if isinstance(holder, dict) and isinstance(holder.get("fieldRef"), dict):
        holder["fieldRef"].setdefault("apiVersion", "v1")


def _default_container(ctr: dict[str, Any], host_network: bool, profile: str) -> None:
    ctr.setdefault("terminationMessagePath", "/dev/termination-log")
    ctr.setdefault("terminationMessagePolicy", "File")
    if not ctr.get("imagePullPolicy"):
        ctr["imagePullPolicy"] = _image_pull_policy(ctr.get("image") or "")
    ctr.setdefault("resources", {})
    for port in ctr.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        # Pod templates stopped getting hostPort defaulted from containerPort in 1.28 (DefaultHostNetworkHostPortsInPodTemplates).
        if host_network and _profile(profile) < (1, 28) and not port.get("hostPort") and port.get("containerPort"):
            port["hostPort"] = port["containerPort"]
    for env in ctr.get("env") or []:
        _default_field_ref(env.get("valueFrom"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(ctr.get(probe))
    lifecycle = ctr.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_handler(lifecycle.get("postStart"))
        _default_handler(lifecycle.get("preStop"))


_VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi", "glusterfs",
                   "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap",
                   "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos",
                   "csi", "ephemeral", "image")


def _default_volume(vol: dict[str, Any]) -> None:
    if not any(vol.get(src) is not None for src in _VOLUME_SOURCES):
        vol["emptyDir"] = {}
    for src in ("configMap", "secret", "downwardAPI", "projected"):
        if isinstance(vol.get(src), dict):
            vol[src].setdefault("defaultMode", 420)
    if isinstance(vol.get("hostPath"), dict):
        vol["hostPath"].setdefault("type", "")
    if isinstance(vol.get("downwardAPI"), dict):
        for item in vol["downwardAPI"].get("items") or []:
            _default_field_ref(item)
    if isinstance(vol.get("projected"), dict):
        for source in vol["projected"].get("sources") or []:
            if isinstance(source.get("downwardAPI"), dict):
                for item in source["downwardAPI"].get("items") or []:
                    _default_field_ref(item)
            if isinstance(source.get("serviceAccountToken"), dict):
                source["serviceAccountToken"].setdefault("expirationSeconds", 3600)


def _default_pod_spec(spec: dict[str, Any], profile: str) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers"):
        for ctr in spec.get(key) or []:
            _default_container(ctr, host_network, profile)
    for vol in spec.get("volumes") or []:
        _default_volume(vol)


def _default_template(template: dict[str, Any], profile: str) -> None:
    # ObjectMeta.creationTimestamp is not omitempty: the server always writes it as null in templates.
    meta = template.setdefault("metadata", {})
    meta.setdefault("creationTimestamp", None)
    _default_pod_spec(template.setdefault("spec", {}), profile)


def _default_selector_from_template(obj: dict[str, Any]) -> None:
    # extensions/v1beta1 and apps/v1beta1 (not apps/v1beta2, apps/v1) copy template labels into an absent selector and labels.
    spec = obj.get("spec") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if labels:
        if not spec.get("selector"):
            spec["selector"] = {"matchLabels": dict(labels)}
        meta = obj.setdefault("metadata", {})
        if not meta.get("labels"):
            meta["labels"] = dict(labels)


def _legacy_selector_defaulting(group: str, version: str) -> bool:
    return (group, version) in (("extensions", "v1beta1"), ("apps", "v1beta1"))


def _default_deployment(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    legacy = group == "extensions"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1 if legacy else "25%")
        rolling.setdefault("maxSurge", 1 if legacy else "25%")
    if legacy:
        # MaxInt32 means "unset"; 1.8 did not default these at all.
        if _profile(profile) >= (1, 9):
            spec.setdefault("revisionHistoryLimit", MAX_INT32)
            spec.setdefault("progressDeadlineSeconds", MAX_INT32)
    else:
        spec.setdefault("revisionHistoryLimit", 2 if (group, version) == ("apps", "v1beta1") else 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    _default_template(spec.setdefault("template", {}), profile)
    if _legacy_selector_defaulting(group, version):
        _default_selector_from_template(obj)


def _default_replicaset(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del version
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_template(spec.setdefault("template", {}), profile)
    if group == "extensions":
        _default_selector_from_template(obj)


def _default_daemonset(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del version
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    if group == "extensions":
        strategy.setdefault("type", "OnDelete")
        spec.setdefault("templateGeneration", 1)
    else:
        strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        if _profile(profile) >= (1, 21):
            rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _default_template(spec.setdefault("template", {}), profile)
    if group == "extensions":
        _default_selector_from_template(obj)


def _default_pvc(pvc: dict[str, Any], profile: str, in_template: bool = False) -> None:
    spec = pvc.setdefault("spec", {})
    if _profile(profile) >= (1, 13):
        spec.setdefault("volumeMode", "Filesystem")
    status = pvc.setdefault("status", {})
    status.setdefault("phase", "Pending")
    if in_template:
        pvc.setdefault("apiVersion", "v1")
        pvc.setdefault("kind", "PersistentVolumeClaim")
        pvc.setdefault("metadata", {}).setdefault("creationTimestamp", None)


def _default_statefulset(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if (group, version) == ("apps", "v1beta1"):
        strategy.setdefault("type", "OnDelete")
    else:
        strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    if _profile(profile) >= (1, 27):
        policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
        policy.setdefault("whenDeleted", "Retain")
        policy.setdefault("whenScaled", "Retain")
    _default_template(spec.setdefault("template", {}), profile)
    for pvc in spec.get("volumeClaimTemplates") or []:
        _default_pvc(pvc, profile, in_template=True)
    if _legacy_selector_defaulting(group, version):
        _default_selector_from_template(obj)


def _default_job_spec(spec: dict[str, Any], profile: str) -> None:
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    if _profile(profile) >= (1, 21):
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
    if _profile(profile) >= (1, 29):
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _default_template(spec.setdefault("template", {}), profile)


def _default_job(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    _default_job_spec(obj.setdefault("spec", {}), profile)


def _default_cronjob(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    job_template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    job_spec = job_template.setdefault("spec", {})
    # CronJob job templates are not defaulted like Jobs: only the pod template inside is.
    _default_template(job_spec.setdefault("template", {}), profile)


def _default_pod(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    spec = obj.setdefault("spec", {})
    _default_pod_spec(spec, profile)
    if _profile(profile) >= (1, 13):
        spec.setdefault("enableServiceLinks", True)


def _default_service(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if _profile(profile) >= (1, 22) and spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if _profile(profile) >= (1, 24) and spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def _default_secret(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version, profile
    if not obj.get("type"):
        obj["type"] = "Opaque"
    # Conversion to the internal type folds stringData into data; stringData is never stored or returned.
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def _default_namespace(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    name = (obj.get("metadata") or {}).get("name")
    if _profile(profile) >= (1, 21) and name:
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name


def _default_pvc_kind(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    _default_pvc(obj, profile)


def _default_binding(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version, profile
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in obj.get("subjects") or []:
        if subject.get("kind") in ("User", "Group") and not subject.get("apiGroup"):
            subject["apiGroup"] = RBAC_GROUP


def _default_network_policy(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version, profile
    spec = obj.setdefault("spec", {})
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in rule.get("ports") or []:
                if not port.get("protocol"):
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _default_storage_class(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version, profile
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def _default_priority_class(obj: dict[str, Any], group: str, version: str, profile: str) -> None:
    del group, version
    if _profile(profile) >= (1, 24):
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


_DEFAULTERS: dict[str, Callable[[dict[str, Any], str, str, str], None]] = {
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replicaset,
    "DaemonSet": _default_daemonset,
    "StatefulSet": _default_statefulset,
    "Job": _default_job,
    "CronJob": _default_cronjob,
    "Pod": _default_pod,
    "Service": _default_service,
    "Secret": _default_secret,
    "Namespace": _default_namespace,
    "PersistentVolumeClaim": _default_pvc_kind,
    "RoleBinding": _default_binding,
    "ClusterRoleBinding": _default_binding,
    "NetworkPolicy": _default_network_policy,
    "StorageClass": _default_storage_class,
    "PriorityClass": _default_priority_class,
}


def apply_defaults(obj: dict[str, Any], group: str, version: str, kind: str, profile: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """A copy of ``obj`` with the defaults kube-apiserver writes for ``group/version kind`` in ``profile``.

    Server-allocated values (clusterIP, nodePorts, uid, resourceVersion, Job selectors) are left to the server.
    ConfigMap, ServiceAccount and PodDisruptionBudget have no defaulted fields.
    """
    out = copy.deepcopy(obj)
    defaulter = _DEFAULTERS.get(kind)
    if defaulter:
        defaulter(out, group, version, profile)
    return out


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

NameFn = Callable[[str, str], list[str]]


def _name_fn(kind: str, profile: str) -> NameFn:
    del profile
    if kind == "Namespace":
        return is_dns1123_label
    if kind == "Service":
        return is_dns1035_label
    if kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        return is_path_segment_name
    return is_dns1123_subdomain


def _mask_trailing_dash(name: str) -> str:
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_labels(labels: Any, path: str, profile: str = DEFAULT_PROFILE) -> list[Cause]:
    """``ValidateLabels``: every key a qualified name, every value a label value (sorted, Go maps have no order)."""
    causes: list[Cause] = []
    for key, value in sorted((labels or {}).items()):
        causes.extend(invalid(path, key, msg) for msg in is_qualified_name(key, profile))
        causes.extend(invalid(path, value, msg) for msg in is_valid_label_value("" if value is None else str(value)))
    return causes


def validate_annotations(annotations: Any, path: str, profile: str = DEFAULT_PROFILE) -> list[Cause]:
    """``ValidateAnnotations``: keys are qualified names (lower-cased first), total size at most 256 KiB."""
    causes: list[Cause] = []
    total = 0
    for key, value in sorted((annotations or {}).items()):
        causes.extend(invalid(path, key, msg) for msg in is_qualified_name(key.lower(), profile))
        total += len(key) + len(value or "")
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT, profile))
    return causes


def _validate_object_meta(meta: dict[str, Any], kind: str, namespaced: bool, profile: str, create: bool) -> list[Cause]:
    causes: list[Cause] = []
    name_fn = _name_fn(kind, profile)
    if create:
        generate_name = meta.get("generateName") or ""
        if generate_name:
            causes.extend(invalid("metadata.generateName", generate_name, msg) for msg in name_fn(_mask_trailing_dash(generate_name), profile))
        name = meta.get("name") or ""
        if not name:
            causes.append(required("metadata.name", "name or generateName is required"))
        else:
            causes.extend(invalid("metadata.name", name, msg) for msg in name_fn(name, profile))
        namespace = meta.get("namespace") or ""
        if namespaced:
            if not namespace:
                causes.append(required("metadata.namespace"))
            else:
                causes.extend(invalid("metadata.namespace", namespace, msg) for msg in is_dns1123_label(namespace, profile))
        elif namespace:
            causes.append(forbidden("metadata.namespace", "not allowed on this type"))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        causes.append(invalid("metadata.generation", generation, _NEGATIVE))
    causes.extend(validate_labels(meta.get("labels"), "metadata.labels", profile))
    causes.extend(validate_annotations(meta.get("annotations"), "metadata.annotations", profile))
    return causes


def _validate_object_meta_update(meta: dict[str, Any], old_meta: dict[str, Any]) -> list[Cause]:
    causes = []
    for key in ("name", "namespace", "uid"):
        new, previous = meta.get(key) or "", old_meta.get(key) or ""
        if previous and new != previous:
            causes.append(invalid(f"metadata.{key}", new, _IMMUTABLE))
    return causes


def _validate_nonnegative(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, _NEGATIVE)]
    return []


# --- label selectors ---------------------------------------------------------------------------

def _validate_label_selector(selector: dict[str, Any] | None, path: str, profile: str) -> list[Cause]:
    if selector is None:
        return []
    causes: list[Cause] = []
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        epath = f"{path}.matchExpressions[{i}]"
        operator = expr.get("operator")
        if operator in ("In", "NotIn"):
            if not expr.get("values"):
                causes.append(required(f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if expr.get("values"):
                causes.append(forbidden(f"{epath}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            causes.append(invalid(f"{epath}.operator", operator or "", "not a valid selector operator"))
        causes.extend(invalid(f"{epath}.key", expr.get("key") or "", msg) for msg in is_qualified_name(expr.get("key") or "", profile))
    causes.extend(validate_labels(selector.get("matchLabels"), f"{path}.matchLabels", profile))
    return causes


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """``LabelSelectorAsSelector(selector).Matches(labels)``: a nil selector matches nothing, an empty one everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _selector_is_empty(selector: dict[str, Any]) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


# --- pod spec ----------------------------------------------------------------------------------

def _validate_container_ports(ports: list[dict[str, Any]], path: str, profile: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    protocols = ["SCTP", "TCP", "UDP"] if _profile(profile) >= (1, 12) else ["TCP", "UDP"]
    for i, port in enumerate(ports):
        ppath = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                causes.extend(invalid(f"{ppath}.name", name, msg) for msg in msgs)
            elif name in names:
                causes.append(duplicate(f"{ppath}.name", name))
            else:
                names.add(name)
        container_port = port.get("containerPort") or 0
        if container_port == 0:
            causes.append(required(f"{ppath}.containerPort"))
        elif not _port_ok(container_port):
            causes.append(invalid(f"{ppath}.containerPort", container_port, _PORT_RANGE))
        host_port = port.get("hostPort") or 0
        if host_port and not _port_ok(host_port):
            causes.append(invalid(f"{ppath}.hostPort", host_port, _PORT_RANGE))
        protocol = port.get("protocol") or ""
        if not protocol:
            causes.append(required(f"{ppath}.protocol"))
        elif protocol not in protocols:
            causes.append(not_supported(f"{ppath}.protocol", protocol, protocols))
    return causes


def _validate_container(ctr: dict[str, Any], path: str, volume_names: set[str], profile: str) -> list[Cause]:
    causes: list[Cause] = []
    name = ctr.get("name") or ""
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        causes.extend(invalid(f"{path}.name", name, msg) for msg in is_dns1123_label(name, profile))
    if not ctr.get("image"):
        causes.append(required(f"{path}.image"))
    policy = ctr.get("terminationMessagePolicy") or ""
    if not policy:
        causes.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in ("File", "FallbackToLogsOnError"):
        causes.append(not_supported(f"{path}.terminationMessagePolicy", policy, ["File", "FallbackToLogsOnError"]))
    causes.extend(_validate_container_ports(ctr.get("ports") or [], f"{path}.ports", profile))
    for i, env in enumerate(ctr.get("env") or []):
        if not env.get("name"):
            causes.append(required(f"{path}.env[{i}].name"))
    mount_paths: set[str] = set()
    for i, mount in enumerate(ctr.get("volumeMounts") or []):
        mpath = f"{path}.volumeMounts[{i}]"
        mount_name = mount.get("name") or ""
        if not mount_name:
            causes.append(required(f"{mpath}.name"))
        elif mount_name not in volume_names:
            causes.append(not_found(f"{mpath}.name", mount_name))
        mount_path = mount.get("mountPath") or ""
        if not mount_path:
            causes.append(required(f"{mpath}.mountPath"))
        elif mount_path in mount_paths:
            causes.append(invalid(f"{mpath}.mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
    pull = ctr.get("imagePullPolicy") or ""
    if not pull:
        causes.append(required(f"{path}.imagePullPolicy"))
    elif pull not in ("Always", "IfNotPresent", "Never"):
        causes.append(not_supported(f"{path}.imagePullPolicy", pull, ["Always", "IfNotPresent", "Never"]))
    return causes


def _validate_pod_spec(spec: dict[str, Any], path: str, profile: str) -> list[Cause]:
    causes: list[Cause] = []
    volume_names: set[str] = set()
    for i, vol in enumerate(spec.get("volumes") or []):
        vpath = f"{path}.volumes[{i}]"
        if not any(vol.get(src) is not None for src in _VOLUME_SOURCES):
            causes.append(required(vpath, "must specify a volume type"))
        vname = vol.get("name") or ""
        if not vname:
            causes.append(required(f"{vpath}.name"))
        else:
            causes.extend(invalid(f"{vpath}.name", vname, msg) for msg in is_dns1123_label(vname, profile))
        if vname in volume_names:
            causes.append(duplicate(f"{vpath}.name", vname))
        else:
            volume_names.add(vname)
    containers = spec.get("containers") or []
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        causes.extend(_validate_container(ctr, cpath, volume_names, profile))
        cname = ctr.get("name") or ""
        if cname in names:
            causes.append(duplicate(f"{cpath}.name", cname))
        names.add(cname)
    for i, ctr in enumerate(spec.get("initContainers") or []):
        cpath = f"{path}.initContainers[{i}]"
        causes.extend(_validate_container(ctr, cpath, volume_names, profile))
        cname = ctr.get("name") or ""
        if cname in names:
            causes.append(duplicate(f"{cpath}.name", cname))
        names.add(cname)
    restart = spec.get("restartPolicy") or ""
    if not restart:
        causes.append(required(f"{path}.restartPolicy"))
    elif restart not in ("Always", "OnFailure", "Never"):
        causes.append(not_supported(f"{path}.restartPolicy", restart, ["Always", "OnFailure", "Never"]))
    dns = spec.get("dnsPolicy") or ""
    dns_policies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
    if not dns:
        causes.append(required(f"{path}.dnsPolicy"))
    elif dns not in dns_policies:
        causes.append(not_supported(f"{path}.dnsPolicy", dns, dns_policies))
    grace = spec.get("terminationGracePeriodSeconds")
    causes.extend(_validate_nonnegative(grace, f"{path}.terminationGracePeriodSeconds"))
    return causes


def _validate_pod_template(template: dict[str, Any], path: str, profile: str) -> list[Cause]:
    meta = template.get("metadata") or {}
    # ValidatePodTemplateSpec hands the template's ObjectMeta fields to fldPath.Child("labels"): no ".metadata".
    causes = validate_labels(meta.get("labels"), f"{path}.labels", profile)
    causes.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations", profile))
    causes.extend(_validate_pod_spec(template.get("spec") or {}, f"{path}.spec", profile))
    return causes


def _validate_template_for_controller(spec: dict[str, Any], kind_word: str, profile: str) -> list[Cause]:
    """ValidatePodTemplateSpecForReplicaSet (Deployment, ReplicaSet)."""
    template = spec.get("template") or {}
    selector = spec.get("selector")
    causes: list[Cause] = []
    labels = (template.get("metadata") or {}).get("labels")
    if selector is None or not _selector_is_empty(selector):
        if not selector_matches(selector, labels):
            causes.append(invalid("spec.template.metadata.labels", go_string_map(labels), _SELECTOR_MISMATCH))
    causes.extend(_validate_pod_template(template, "spec.template", profile))
    causes.extend(_restart_always(template, kind_word))
    return causes


def _restart_always(template: dict[str, Any], kind_word: str) -> list[Cause]:
    tspec = template.get("spec") or {}
    causes = []
    restart = tspec.get("restartPolicy") or ""
    if restart != "Always":
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden("spec.template.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {kind_word} is not Supported"))
    return causes


def _validate_selector_required(spec: dict[str, Any], word: str, profile: str) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required("spec.selector")]
    causes = _validate_label_selector(selector, "spec.selector", profile)
    if _selector_is_empty(selector):
        causes.append(invalid("spec.selector", go_label_selector(selector), f"empty selector is invalid for {word}"))
    return causes


def _is_percent(value: Any) -> bool:
    return isinstance(value, str) and _full("[0-9]+%", value)


def _int_or_percent_value(value: Any) -> int:
    if _is_percent(value):
        return int(value[:-1])
    return value if isinstance(value, int) else 0


def _validate_int_or_percent(value: Any, path: str) -> list[Cause]:
    if isinstance(value, str):
        if not _is_percent(value):
            return [invalid(path, go_int_or_string(value),
                            _regex_error("a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"))]
        return []
    return _validate_nonnegative(value, path)


def _not_over_100(value: Any, path: str) -> list[Cause]:
    if _is_percent(value) and int(value[:-1]) > 100:
        return [invalid(path, go_int_or_string(value), "must not be greater than 100%")]
    return []


def _validate_deployment_strategy(strategy: dict[str, Any]) -> list[Cause]:
    kind = strategy.get("type") or ""
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind == "RollingUpdate":
        if rolling is None:
            return [required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil")]
        path = "spec.strategy.rollingUpdate"
        causes = _validate_int_or_percent(rolling.get("maxUnavailable"), f"{path}.maxUnavailable")
        causes.extend(_validate_int_or_percent(rolling.get("maxSurge"), f"{path}.maxSurge"))
        if _int_or_percent_value(rolling.get("maxUnavailable")) == 0 and _int_or_percent_value(rolling.get("maxSurge")) == 0:
            causes.append(invalid(f"{path}.maxUnavailable", go_int_or_string(rolling.get("maxUnavailable")), "may not be 0 when `maxSurge` is 0"))
        causes.extend(_not_over_100(rolling.get("maxUnavailable"), f"{path}.maxUnavailable"))
        return causes
    rendered = GoValue(f"apps.DeploymentStrategy{{Type:{go_quote(kind)}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}")
    return [not_supported("spec.strategy", rendered, ["Recreate", "RollingUpdate"])]


def _validate_deployment(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    spec = obj.get("spec") or {}
    causes = _validate_nonnegative(spec.get("replicas"), "spec.replicas")
    causes.extend(_validate_selector_required(spec, "deployment", profile))
    causes.extend(_validate_template_for_controller(spec, "ReplicaSet", profile))
    causes.extend(_validate_deployment_strategy(spec.get("strategy") or {}))
    causes.extend(_validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    causes.extend(_validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        causes.extend(_validate_nonnegative(deadline, "spec.progressDeadlineSeconds"))
        if isinstance(deadline, int) and deadline <= (spec.get("minReadySeconds") or 0):
            causes.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    return causes


def _validate_replicaset(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    spec = obj.get("spec") or {}
    causes = _validate_nonnegative(spec.get("replicas"), "spec.replicas")
    causes.extend(_validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    # ReplicaSet reuses the Deployment wording for an empty selector.
    causes.extend(_validate_selector_required(spec, "deployment", profile))
    causes.extend(_validate_template_for_controller(spec, "ReplicaSet", profile))
    return causes


def _validate_daemonset(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels")
    # DaemonSet has no "Required" for a missing selector: a nil selector simply matches nothing.
    causes = _validate_label_selector(selector, "spec.selector", profile)
    if not selector_matches(selector, labels):
        causes.append(invalid("spec.template.metadata.labels", go_string_map(labels), _SELECTOR_MISMATCH))
    if selector is not None and _selector_is_empty(selector):
        causes.append(invalid("spec.selector", go_label_selector(selector), "empty selector is invalid for daemonset"))
    causes.extend(_validate_pod_template(template, "spec.template", profile))
    causes.extend(_restart_always(template, "DaemonSet"))
    causes.extend(_validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    causes.extend(_validate_nonnegative(spec.get("templateGeneration"), "spec.templateGeneration"))
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type") or ""
    if stype == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if rolling is None:
            causes.append(required("spec.updateStrategy.rollingUpdate"))
        else:
            path = "spec.updateStrategy.rollingUpdate"
            causes.extend(_validate_int_or_percent(rolling.get("maxUnavailable"), f"{path}.maxUnavailable"))
            causes.extend(_validate_int_or_percent(rolling.get("maxSurge"), f"{path}.maxSurge"))
            causes.extend(_not_over_100(rolling.get("maxUnavailable"), f"{path}.maxUnavailable"))
            causes.extend(_not_over_100(rolling.get("maxSurge"), f"{path}.maxSurge"))
            has_unavailable = _int_or_percent_value(rolling.get("maxUnavailable")) != 0
            has_surge = _int_or_percent_value(rolling.get("maxSurge")) != 0
            if has_unavailable and has_surge:
                causes.append(invalid(f"{path}.maxSurge", go_int_or_string(rolling.get("maxSurge")), "may not be set when maxUnavailable is non-zero"))
            elif not has_unavailable and not has_surge:
                causes.append(required(f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    elif stype != "OnDelete":
        rendered = GoValue(f"apps.DaemonSetUpdateStrategy{{Type:{go_quote(stype)}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}")
        causes.append(not_supported("spec.updateStrategy", rendered, ["RollingUpdate", "OnDelete"]))
    causes.extend(_validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    return causes


def _validate_statefulset(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    policy = spec.get("podManagementPolicy") or ""
    if not policy:
        causes.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        causes.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type") or ""
    if not stype:
        causes.append(required("spec.updateStrategy"))
    elif stype == "OnDelete":
        if strategy.get("rollingUpdate") is not None:
            partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
            causes.append(invalid("spec.updateStrategy.rollingUpdate", GoValue(f"apps.RollingUpdateStatefulSetStrategy{{Partition:{partition}}}"),
                                  "only allowed for updateStrategy 'RollingUpdate'"))
    elif stype == "RollingUpdate":
        causes.extend(_validate_nonnegative((strategy.get("rollingUpdate") or {}).get("partition"), "spec.updateStrategy.rollingUpdate.partition"))
    else:
        causes.append(invalid("spec.updateStrategy", GoValue(f"apps.StatefulSetUpdateStrategy{{Type:{go_quote(stype)}}}"),
                              "must be 'RollingUpdate' or 'OnDelete'"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(retention, dict):
        for key in ("whenDeleted", "whenScaled"):
            value = retention.get(key) or ""
            if value not in ("Retain", "Delete"):
                causes.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", value, ["Retain", "Delete"]))
    causes.extend(_validate_nonnegative(spec.get("replicas"), "spec.replicas"))
    causes.extend(_validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    selector = spec.get("selector")
    if selector is None:
        causes.append(required("spec.selector"))
    else:
        causes.extend(_validate_label_selector(selector, "spec.selector", profile))
        if _selector_is_empty(selector):
            word = "empty selector is invalid for statefulset" if _profile(profile) >= (1, 10) else "empty selector is not valid for statefulset."
            causes.append(invalid("spec.selector", go_label_selector(selector), word))
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels")
    if (selector is None or not _selector_is_empty(selector)) and not selector_matches(selector, labels):
        causes.append(invalid("spec.template.metadata.labels", go_string_map(labels), _SELECTOR_MISMATCH))
    # StatefulSet validation deliberately skips the pod spec (upstream TODO): only template labels and annotations.
    meta = template.get("metadata") or {}
    causes.extend(validate_labels(meta.get("labels"), "spec.template.labels", profile))
    causes.extend(validate_annotations(meta.get("annotations"), "spec.template.annotations", profile))
    tspec = template.get("spec") or {}
    restart = tspec.get("restartPolicy") or ""
    if restart != "Always":
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported"))
    return causes


def _validate_job_spec(spec: dict[str, Any], path: str, profile: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"):
        causes.extend(_validate_nonnegative(spec.get(key), f"{path}.{key}"))
    template = spec.get("template") or {}
    causes.extend(_validate_pod_template(template, f"{path}.template", profile))
    restart = (template.get("spec") or {}).get("restartPolicy") or ""
    if restart not in ("OnFailure", "Never"):
        causes.append(not_supported(f"{path}.template.spec.restartPolicy", restart, ["OnFailure", "Never"]))
    return causes


def _validate_job(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    return _validate_job_spec(obj.get("spec") or {}, "spec", profile)


def _validate_cronjob(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    causes: list[Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    # Jobs get an 11-character suffix, and the result must stay a 63-character label.
    if len(name) > 52:
        causes.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    spec = obj.get("spec") or {}
    if not spec.get("schedule"):
        causes.append(required("spec.schedule"))
    policy = spec.get("concurrencyPolicy") or ""
    if not policy:
        causes.append(required("spec.concurrencyPolicy"))
    elif policy not in ("Allow", "Forbid", "Replace"):
        causes.append(not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    causes.extend(_validate_nonnegative(spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds"))
    causes.extend(_validate_nonnegative(spec.get("successfulJobsHistoryLimit"), "spec.successfulJobsHistoryLimit"))
    causes.extend(_validate_nonnegative(spec.get("failedJobsHistoryLimit"), "spec.failedJobsHistoryLimit"))
    causes.extend(_validate_job_spec(((spec.get("jobTemplate") or {}).get("spec") or {}), "spec.jobTemplate.spec", profile))
    return causes


def _validate_pod(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    return _validate_pod_spec(obj.get("spec") or {}, "spec", profile)


_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _validate_service(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    stype = spec.get("type") or ""
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if not ports and not headless and stype != "ExternalName":
        causes.append(required("spec.ports"))
    if stype == "ExternalName":
        external = spec.get("externalName") or ""
        if not external:
            causes.append(required("spec.externalName"))
        else:
            causes.extend(invalid("spec.externalName", external, msg) for msg in is_dns1123_subdomain(external.rstrip("."), profile))
    names: set[str] = set()
    protocols = ["SCTP", "TCP", "UDP"] if _profile(profile) >= (1, 12) else ["TCP", "UDP"]
    for i, port in enumerate(ports):
        ppath = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            causes.append(required(f"{ppath}.name"))
        elif name:
            causes.extend(invalid(f"{ppath}.name", name, msg) for msg in is_dns1123_label(name, profile))
            if name in names:
                causes.append(duplicate(f"{ppath}.name", name))
            names.add(name)
        if not _port_ok(port.get("port")):
            causes.append(invalid(f"{ppath}.port", port.get("port") or 0, _PORT_RANGE))
        protocol = port.get("protocol") or ""
        if not protocol:
            causes.append(required(f"{ppath}.protocol"))
        elif protocol not in protocols:
            causes.append(not_supported(f"{ppath}.protocol", protocol, protocols))
        target = port.get("targetPort")
        if isinstance(target, str):
            causes.extend(invalid(f"{ppath}.targetPort", target, msg) for msg in is_valid_port_name(target))
        elif isinstance(target, int) and not _port_ok(target):
            causes.append(invalid(f"{ppath}.targetPort", target, _PORT_RANGE))
        node_port = port.get("nodePort")
        if node_port and stype == "ClusterIP":
            causes.append(forbidden(f"{ppath}.nodePort", "may not be used when `type` is 'ClusterIP'"))
    if spec.get("selector") is not None:
        causes.extend(validate_labels(spec.get("selector"), "spec.selector", profile))
    affinity = spec.get("sessionAffinity") or ""
    if not affinity:
        causes.append(required("spec.sessionAffinity"))
    elif affinity not in ("ClientIP", "None"):
        causes.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if not stype:
        causes.append(required("spec.type"))
    elif stype not in _SERVICE_TYPES:
        causes.append(not_supported("spec.type", stype, _SERVICE_TYPES))
    return causes


def _validate_data_keys(obj: dict[str, Any], keys: tuple[str, ...]) -> list[Cause]:
    causes: list[Cause] = []
    for section in keys:
        for key in sorted(obj.get(section) or {}):
            causes.extend(invalid(f"{section}[{key}]", key, msg) for msg in is_config_map_key(key))
    return causes


def _validate_configmap(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version, profile
    causes = _validate_data_keys(obj, ("data", "binaryData"))
    data = obj.get("data") or {}
    for key in sorted(obj.get("binaryData") or {}):
        if key in data:
            causes.append(invalid(f"binaryData[{key}]", key, "duplicate of key present in data"))
    return causes


def _validate_secret(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version, profile
    causes = _validate_data_keys(obj, ("data",))
    data = obj.get("data") or {}
    stype = obj.get("type") or ""
    if stype == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                causes.append(required(f"data[{key}]"))
    elif stype == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" not in data:
        causes.append(required("data[.dockerconfigjson]"))
    elif stype == "kubernetes.io/service-account-token":
        if not ((obj.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/service-account.name"):
            causes.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    return causes


def _validate_pvc(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version, profile
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(required("spec.accessModes", "at least 1 access mode is required"))
    valid_modes = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
    for mode in modes:
        if mode not in valid_modes:
            causes.append(not_supported("spec.accessModes", mode, valid_modes))
    if "storage" not in ((spec.get("resources") or {}).get("requests") or {}):
        causes.append(required("spec.resources[storage]"))
    return causes


def _validate_policy_rules(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for i, rule in enumerate(obj.get("rules") or []):
        path = f"rules[{i}]"
        if not rule.get("verbs"):
            causes.append(required(f"{path}.verbs", "verbs must contain at least one value"))
        if rule.get("nonResourceURLs"):
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                causes.append(invalid(f"{path}.nonResourceURLs", GoValue(_go_string_slice(rule["nonResourceURLs"])),
                                      "rules cannot apply to both regular resources and non-resource URLs"))
            continue
        if not rule.get("apiGroups"):
            causes.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            causes.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return causes


def _validate_role(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version, profile
    return _validate_policy_rules(obj)


def _validate_subject(subject: dict[str, Any], path: str, namespaced: bool, profile: str) -> list[Cause]:
    causes: list[Cause] = []
    name = subject.get("name") or ""
    if not name:
        causes.append(required(f"{path}.name"))
    kind = subject.get("kind") or ""
    api_group = subject.get("apiGroup") or ""
    if kind == "ServiceAccount":
        if name:
            causes.extend(invalid(f"{path}.name", name, msg) for msg in is_dns1123_subdomain(name, profile))
        if api_group:
            causes.append(not_supported(f"{path}.apiGroup", api_group, [""]))
        if not namespaced and not subject.get("namespace"):
            causes.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if api_group != RBAC_GROUP:
            causes.append(not_supported(f"{path}.apiGroup", api_group, [RBAC_GROUP]))
    else:
        causes.append(not_supported(f"{path}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return causes


def _validate_binding(obj: dict[str, Any], group: str, version: str, profile: str, cluster: bool) -> list[Cause]:
    del group, version
    causes: list[Cause] = []
    ref = obj.get("roleRef") or {}
    if (ref.get("apiGroup") or "") != RBAC_GROUP:
        causes.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", [RBAC_GROUP]))
    valid_kinds = ["ClusterRole"] if cluster else ["Role", "ClusterRole"]
    if (ref.get("kind") or "") not in valid_kinds:
        causes.append(not_supported("roleRef.kind", ref.get("kind") or "", valid_kinds))
    ref_name = ref.get("name") or ""
    if not ref_name:
        causes.append(required("roleRef.name"))
    else:
        causes.extend(invalid("roleRef.name", ref_name, msg) for msg in is_path_segment_name(ref_name))
    for i, subject in enumerate(obj.get("subjects") or []):
        causes.extend(_validate_subject(subject, f"subjects[{i}]", not cluster, profile))
    return causes


def _validate_role_binding(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    return _validate_binding(obj, group, version, profile, cluster=False)


def _validate_cluster_role_binding(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    return _validate_binding(obj, group, version, profile, cluster=True)


def _validate_pdb(obj: dict[str, Any], group: str, version: str, profile: str) -> list[Cause]:
    del group, version
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        causes.append(invalid("spec", GoValue("policy.PodDisruptionBudgetSpec{...}"), "minAvailable and maxUnavailable cannot be both set"))
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            causes.extend(_validate_int_or_percent(spec[key], f"spec.{key}"))
            causes.extend(_not_over_100(spec[key], f"spec.{key}"))
    causes.extend(_validate_label_selector(spec.get("selector"), "spec.selector", profile))
    return causes


_VALIDATORS: dict[str, Callable[[dict[str, Any], str, str, str], list[Cause]]] = {
    "Deployment": _validate_deployment,
    "ReplicaSet": _validate_replicaset,
    "DaemonSet": _validate_daemonset,
    "StatefulSet": _validate_statefulset,
    "Job": _validate_job,
    "CronJob": _validate_cronjob,
    "Pod": _validate_pod,
    "Service": _validate_service,
    "ConfigMap": _validate_configmap,
    "Secret": _validate_secret,
    "PersistentVolumeClaim": _validate_pvc,
    "Role": _validate_role,
    "ClusterRole": _validate_role,
    "RoleBinding": _validate_role_binding,
    "ClusterRoleBinding": _validate_cluster_role_binding,
    "PodDisruptionBudget": _validate_pdb,
}

# Group versions in which the registry does not enforce selector immutability (kept for compatibility).
_MUTABLE_SELECTOR = {
    "Deployment": {("extensions", "v1beta1"), ("apps", "v1beta1")},
    "DaemonSet": {("extensions", "v1beta1")},
    "ReplicaSet": {("extensions", "v1beta1")},
}


def _statefulset_forbidden_message(profile: str) -> str:
    if _profile(profile) >= (1, 27):
        return ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
    if _profile(profile) >= (1, 10):
        return "updates to statefulset spec for fields other than 'replicas', 'template', and 'updateStrategy' are forbidden"
    return "updates to statefulset spec for fields other than 'replicas', 'template', and 'updateStrategy' are forbidden."


def _update_causes(obj: dict[str, Any], old: dict[str, Any], group: str, version: str, kind: str, profile: str) -> tuple[list[Cause], list[Cause]]:
    """(causes that come before the kind's validation, causes that come after it), as the registry orders them."""
    before: list[Cause] = []
    after: list[Cause] = []
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if kind in _MUTABLE_SELECTOR and (group, version) not in _MUTABLE_SELECTOR[kind]:
        if spec.get("selector") != old_spec.get("selector"):
            after.append(invalid("spec.selector", go_label_selector(spec.get("selector")), _IMMUTABLE))
    if kind == "StatefulSet":
        mutable = ("replicas", "template", "updateStrategy")
        if _profile(profile) >= (1, 27):
            mutable += ("ordinals", "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
        rest = {k: v for k, v in spec.items() if k not in mutable}
        old_rest = {k: v for k, v in old_spec.items() if k not in mutable}
        if rest != old_rest:
            after.append(forbidden("spec", _statefulset_forbidden_message(profile)))
    if kind == "Service":
        after.extend(_service_cluster_ip_update(spec, old_spec, profile))
    if kind in ("ConfigMap", "Secret"):
        if kind == "Secret" and (obj.get("type") or "") != (old.get("type") or ""):
            before.append(invalid("type", obj.get("type") or "", _IMMUTABLE))
        if old.get("immutable") is True:
            if obj.get("immutable") is not True:
                before.append(forbidden("immutable", _IMMUTABLE_WHEN_SET))
            sections = ("data", "binaryData") if kind == "ConfigMap" else ("data",)
            for section in sections:
                if (obj.get(section) or {}) != (old.get(section) or {}):
                    before.append(forbidden(section, _IMMUTABLE_WHEN_SET))
    if kind in ("RoleBinding", "ClusterRoleBinding") and (obj.get("roleRef") or {}) != (old.get("roleRef") or {}):
        after.append(invalid("roleRef", go_role_ref(obj.get("roleRef")), "cannot change roleRef"))
    return before, after


def _service_cluster_ip_update(spec: dict[str, Any], old_spec: dict[str, Any], profile: str) -> list[Cause]:
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    old_ip = old_spec.get("clusterIP") or ""
    new_ip = spec.get("clusterIP") or ""
    if _profile(profile) >= (1, 20):
        # The REST layer copies allocated IPs into an update that omits them (patchAllocatedValues).
        if not new_ip and not spec.get("clusterIPs"):
            return []
        old_ips = old_spec.get("clusterIPs") or ([old_ip] if old_ip else [])
        new_ips = spec.get("clusterIPs") or ([new_ip] if new_ip else [])
        if old_ip == "None" and new_ip == "None":
            return []
        if len(old_ips) == len(new_ips):
            return [invalid(f"spec.clusterIPs[{i}]", GoValue(_go_string_slice(new_ips)), "may not change once set")
                    for i, ip in enumerate(old_ips) if ip != new_ips[i]]
        if new_ips and old_ips and new_ips[0] != old_ips[0]:
            return [invalid("spec.clusterIPs[0]", GoValue(_go_string_slice(new_ips)), "may not change once set")]
        return []
    if old_ip and new_ip != old_ip:
        return [invalid("spec.clusterIP", new_ip, _IMMUTABLE)]
    return []


def validate(obj: dict[str, Any], group: str, version: str, kind: str, old: dict[str, Any] | None = None,
             namespaced: bool = True, profile: str = DEFAULT_PROFILE) -> list[Cause]:
    """The causes kube-apiserver returns for creating (``old`` None) or updating ``obj``, in the server's order.

    ``obj`` (and ``old``) must already be defaulted, as in the real request pipeline. An empty list means valid.
    """
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    before: list[Cause] = []
    after: list[Cause] = []
    if old is not None:
        causes.extend(_validate_object_meta_update(meta, old.get("metadata") or {}))
        before, after = _update_causes(obj, old, group, version, kind, profile)
    causes.extend(_validate_object_meta(meta, kind, namespaced, profile, create=old is None))
    causes.extend(before)
    validator = _VALIDATORS.get(kind)
    if validator:
        causes.extend(validator(obj, group, version, profile))
    causes.extend(after)
    return causes


# ---------------------------------------------------------------------------------------------
# Status errors
# ---------------------------------------------------------------------------------------------

def aggregate_message(causes: list[Cause]) -> str:
    """``ErrorList.ToAggregate().Error()``: duplicates dropped, one message bare, several in brackets."""
    seen: list[str] = []
    for cause in causes:
        text = f"{cause['field']}: {cause['message']}" if cause.get("field") else cause["message"]
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def invalid_error(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    """``apierrors.NewInvalid``: 422 ``Kind.group "name" is invalid: <aggregate>`` with the causes in details."""
    qualified = f"{kind}.{group}" if group else kind
    message = f'{qualified} "{name}" is invalid'
    if causes:
        message += ": " + aggregate_message(causes)
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": [dict(c) for c in causes]}
    if group:
        details["group"] = group
    return ApiError(422, "Invalid", message, details)


# ---------------------------------------------------------------------------------------------
# Unknown fields (fieldValidation=Strict / Warn)
# ---------------------------------------------------------------------------------------------

# Fields of old group versions that the (newer) stand-in schema no longer has.
_EXTRA_FIELDS: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("extensions", "v1beta1", "Deployment"): (".spec.rollbackTo",),
    ("apps", "v1beta1", "Deployment"): (".spec.rollbackTo",),
    ("extensions", "v1beta1", "DaemonSet"): (".spec.templateGeneration",),
}


def _strip_indices(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path)


def _walk_unknown(value: Any, node: dict[str, Any] | None, path: str, extras: tuple[str, ...], out: list[str]) -> None:
    node = schema.resolve(node)
    if not node:
        return
    if isinstance(value, dict):
        props = node.get("properties")
        extra_schema = node.get("additionalProperties")
        for key, child in value.items():
            child_path = f"{path}.{key}"
            if props and key in props:
                _walk_unknown(child, props[key], child_path, extras, out)
            elif isinstance(extra_schema, dict):
                _walk_unknown(child, extra_schema, child_path, extras, out)
            elif props is not None and extra_schema is False and _strip_indices(child_path) not in extras:
                out.append(child_path)
    elif isinstance(value, list):
        item_schema = schema.items_schema(node)
        for index, item in enumerate(value):
            _walk_unknown(item, item_schema, f"{path}[{index}]", extras, out)


def unknown_fields(obj: dict[str, Any], group: str, version: str, kind: str) -> list[str]:
    """Paths (``.spec.foo``, ``.spec.template.spec.containers[0].bogus``) of fields the kind's schema does not know.

    Free-form objects (``fieldsV1``, ``RawExtension``) and maps (labels, data) accept anything; a kind the
    schema release does not know yields no paths.
    """
    root = schema.object_schema(group, version, kind)
    if root is None:
        return []
    out: list[str] = []
    _walk_unknown(obj, root, "", _EXTRA_FIELDS.get((group, version, kind), ()), out)
    return out


def _unknown_field_text(path: str) -> str:
    return f'unknown field "{path.lstrip(".")}"'


def strict_decoding_message(paths: list[str]) -> str:
    """``runtime.strictDecodingError.Error()``."""
    return "strict decoding error: " + ", ".join(_unknown_field_text(p) for p in paths)


def field_validation_error(kind: str, paths: list[str], version: str | None = None) -> ApiError:
    """The 400 BadRequest for ``fieldValidation=Strict``.

    With ``version`` (create and update decode the body) the message is wrapped the way
    ``transformDecodeError`` does: ``Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ...``;
    without it (patches) it is the bare strict decoding error.
    """
    message = strict_decoding_message(paths)
    if version is not None:
        message = f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
    return ApiError(400, "BadRequest", message)


def field_validation_warnings(paths: list[str]) -> list[str]:
    """The ``Warning`` header texts for ``fieldValidation=Warn`` (one per unknown field)."""
    return [_unknown_field_text(p) for p in paths]
