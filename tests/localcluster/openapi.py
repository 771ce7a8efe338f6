"""``/openapi/v2`` and ``/openapi/v3`` documents, as far as kubectl and the clients need them.

Built from ``schema.py``'s definitions (one schema release, 1.30) and the profile's served
resources (``resources.py``):

* every served kind, its List kind and the Scale/Eviction kinds of served subresources get a
  definition carrying ``x-kubernetes-group-version-kind`` for exactly that group version. Group
  versions the schema release no longer knows (``extensions/v1beta1`` Deployment, ``apps/v1beta2``,
  ``batch/v1beta1`` CronJob...) get a copy of the closest definition, renamed the way kube-apiserver
  named it (``io.k8s.api.extensions.v1beta1.Deployment``). PodSecurityPolicy, gone from the schema
  release altogether, is written out here.
* the schemas are made OpenAPI-shaped again: single ``type``, no ``null``, no ``enum`` on
  apiVersion/kind, no ``additionalProperties: false``, IntOrString as ``int-or-string`` string.
  ``x-kubernetes-patch-merge-key`` and friends pass through untouched: kubectl's strategic merge
  patch reads them.
* ``paths`` hold the collection, item, ``status`` and ``scale`` operations of each served resource,
  with the query parameters that release accepted. Watch paths, proxy/exec/log connect paths and
  discovery paths are left out.

v3 (``/openapi/v3``) only exists on 1.30: 1.8 and 1.15 answered 404 there, which is what makes
kubectl fall back to v2. Documents are memoized per profile as serialized JSON; every call returns
a fresh dict, so callers cannot corrupt the cache.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from typing import Any

from . import resources, schema

_DEFS = "#/$defs/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_STATUS = _META + "Status"
_DELETE_OPTIONS = _META + "DeleteOptions"
_WATCH_EVENT = _META + "WatchEvent"
_PATCH = _META + "Patch"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"

_JSON_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
_LIST_TYPES = _JSON_TYPES + ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"]


# --- definitions ------------------------------------------------------------------------------

def _obj(description: str, props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description, "properties": props, "type": "object"}
    if required:
        body["required"] = list(required)
    return body


def _str(description: str) -> dict[str, Any]:
    return {"description": description, "type": "string"}


def _bool(description: str) -> dict[str, Any]:
    return {"description": description, "type": "boolean"}


def _strings(description: str) -> dict[str, Any]:
    return {"description": description, "items": {"type": "string"}, "type": "array"}


def _refs(description: str, name: str) -> dict[str, Any]:
    return {"description": description, "items": {"$ref": _DEFS + name}, "type": "array"}


def _psp_definitions() -> dict[str, dict[str, Any]]:
    """PodSecurityPolicy as policy/v1beta1 published it (1.8 to 1.24); the 1.30 schema lacks it."""
    pkg = "io.k8s.api.policy.v1beta1."
    id_range = {"$ref": _DEFS + pkg + "IDRange"}

    def strategy(description: str, with_ranges: bool = True) -> dict[str, Any]:
        props: dict[str, Any] = {"rule": _str("rule is the strategy that will dictate what the value is set to.")}
        if with_ranges:
            props["ranges"] = {"description": "ranges are the allowed ranges.", "items": id_range, "type": "array"}
        return _obj(description, props)

    spec = _obj("PodSecurityPolicySpec defines the policy enforced.", {
        "allowPrivilegeEscalation": _bool("allowPrivilegeEscalation determines if a pod can request to allow privilege escalation."),
        "allowedCSIDrivers": _refs("AllowedCSIDrivers is an allowlist of inline CSI drivers that must be explicitly set to be embedded "
                                   "within a pod spec.", pkg + "AllowedCSIDriver"),
        "allowedCapabilities": _strings("allowedCapabilities is a list of capabilities that can be requested to add to the container."),
        "allowedFlexVolumes": _refs("allowedFlexVolumes is an allowlist of Flexvolumes.", pkg + "AllowedFlexVolume"),
        "allowedHostPaths": _refs("allowedHostPaths is an allowlist of host paths.", pkg + "AllowedHostPath"),
        "allowedProcMountTypes": _strings("AllowedProcMountTypes is an allowlist of allowed ProcMountTypes."),
        "allowedUnsafeSysctls": _strings("allowedUnsafeSysctls is a list of explicitly allowed unsafe sysctls."),
        "defaultAddCapabilities": _strings("defaultAddCapabilities is the default set of capabilities that will be added to the container."),
        "defaultAllowPrivilegeEscalation": _bool("defaultAllowPrivilegeEscalation controls the default setting for whether a process "
                                                 "can gain more privileges than its parent process."),
        "forbiddenSysctls": _strings("forbiddenSysctls is a list of explicitly forbidden sysctls."),
        "fsGroup": {"$ref": _DEFS + pkg + "FSGroupStrategyOptions",
                    "description": "fsGroup is the strategy that will dictate what fs group is used by the SecurityContext."},
        "hostIPC": _bool("hostIPC determines if the policy allows the use of HostIPC in the pod spec."),
        "hostNetwork": _bool("hostNetwork determines if the policy allows the use of HostNetwork in the pod spec."),
        "hostPID": _bool("hostPID determines if the policy allows the use of HostPID in the pod spec."),
        "hostPorts": _refs("hostPorts determines which host port ranges are allowed to be exposed.", pkg + "HostPortRange"),
        "privileged": _bool("privileged determines if a pod can request to be run as privileged."),
        "readOnlyRootFilesystem": _bool("readOnlyRootFilesystem when set to true will force containers to run with a read only root "
                                        "file system."),
        "requiredDropCapabilities": _strings("requiredDropCapabilities are the capabilities that will be dropped from the container."),
        "runAsGroup": {"$ref": _DEFS + pkg + "RunAsGroupStrategyOptions",
                       "description": "RunAsGroup is the strategy that will dictate the allowable RunAsGroup values that may be set."},
        "runAsUser": {"$ref": _DEFS + pkg + "RunAsUserStrategyOptions",
                      "description": "runAsUser is the strategy that will dictate the allowable RunAsUser values that may be set."},
        "seLinux": {"$ref": _DEFS + pkg + "SELinuxStrategyOptions",
                    "description": "seLinux is the strategy that will dictate the allowable labels that may be set."},
        "supplementalGroups": {"$ref": _DEFS + pkg + "SupplementalGroupsStrategyOptions",
                               "description": "supplementalGroups is the strategy that will dictate what supplemental groups are used "
                                              "by the SecurityContext."},
        "volumes": _strings("volumes is an allowlist of volume plugins. Empty indicates that no volumes may be used."),
    }, ("seLinux", "runAsUser", "supplementalGroups", "fsGroup"))
    return {
        pkg + "PodSecurityPolicy": _obj(
            "PodSecurityPolicy governs the ability to make requests that affect the Security Context that will be applied to a pod "
            "and container.", {
                "apiVersion": _str("APIVersion defines the versioned schema of this representation of an object."),
                "kind": _str("Kind is a string value representing the REST resource this object represents."),
                "metadata": {"$ref": _DEFS + _META + "ObjectMeta", "description": "Standard object's metadata."},
                "spec": {"$ref": _DEFS + pkg + "PodSecurityPolicySpec", "description": "spec defines the policy enforced."},
            }),
        pkg + "PodSecurityPolicyList": _obj("PodSecurityPolicyList is a list of PodSecurityPolicy objects.", {
            "apiVersion": _str("APIVersion defines the versioned schema of this representation of an object."),
            "items": _refs("items is a list of schema objects.", pkg + "PodSecurityPolicy"),
            "kind": _str("Kind is a string value representing the REST resource this object represents."),
            "metadata": {"$ref": _DEFS + _META + "ListMeta", "description": "Standard list metadata."},
        }, ("items",)),
        pkg + "PodSecurityPolicySpec": spec,
        pkg + "AllowedCSIDriver": _obj("AllowedCSIDriver represents a single inline CSI Driver that is allowed to be used.",
                                       {"name": _str("Name is the registered name of the CSI driver")}, ("name",)),
        pkg + "AllowedFlexVolume": _obj("AllowedFlexVolume represents a single Flexvolume that is allowed to be used.",
                                        {"driver": _str("driver is the name of the Flexvolume driver.")}, ("driver",)),
        pkg + "AllowedHostPath": _obj("AllowedHostPath defines the host volume conditions that will be enabled by a policy for pods to use.", {
            "pathPrefix": _str("pathPrefix is the path prefix that the host volume must match."),
            "readOnly": _bool("when set to true, will allow host volumes matching the pathPrefix only if all volume mounts are readOnly."),
        }),
        pkg + "HostPortRange": _obj("HostPortRange defines a range of host ports that will be enabled by a policy for pods to use.", {
            "max": {"description": "max is the end of the range, inclusive.", "format": "int32", "type": "integer"},
            "min": {"description": "min is the start of the range, inclusive.", "format": "int32", "type": "integer"},
        }, ("min", "max")),
        pkg + "IDRange": _obj("IDRange provides a min/max of an allowed range of IDs.", {
            "max": {"description": "max is the end of the range, inclusive.", "format": "int64", "type": "integer"},
            "min": {"description": "min is the start of the range, inclusive.", "format": "int64", "type": "integer"},
        }, ("min", "max")),
        pkg + "FSGroupStrategyOptions": strategy("FSGroupStrategyOptions defines the strategy type and options used to create the strategy."),
        pkg + "RunAsGroupStrategyOptions": strategy("RunAsGroupStrategyOptions defines the strategy type and any options used to create the "
                                                    "strategy."),
        pkg + "RunAsUserStrategyOptions": strategy("RunAsUserStrategyOptions defines the strategy type and any options used to create the "
                                                   "strategy."),
        pkg + "SupplementalGroupsStrategyOptions": strategy("SupplementalGroupsStrategyOptions defines the strategy type and options used "
                                                            "to create the strategy."),
        pkg + "SELinuxStrategyOptions": _obj("SELinuxStrategyOptions defines the strategy type and any options used to create the strategy.", {
            "rule": _str("rule is the strategy that will dictate the allowable labels that may be set."),
            "seLinuxOptions": {"$ref": _DEFS + "io.k8s.api.core.v1.SELinuxOptions",
                               "description": "seLinuxOptions required to run as; required for MustRunAs"},
        }, ("rule",)),
    }


@functools.lru_cache(maxsize=None)
def _source_definitions() -> dict[str, dict[str, Any]]:
    defs = dict(schema.definitions())
    defs.update(_psp_definitions())
    return defs


def _source_name(group: str, version: str, kind: str) -> str | None:
    if kind.startswith("PodSecurityPolicy"):
        return "io.k8s.api.policy.v1beta1." + kind
    return schema.definition_name(group, version, kind)


def _gvk_of(name: str, defs: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """The (group, version) a definition was written for, from its marker or its name."""
    markers = defs[name].get("x-kubernetes-group-version-kind")
    if markers and len(markers) == 1:
        return markers[0].get("group", ""), markers[0]["version"]
    return None


def _target_name(source: str, source_gv: tuple[str, str] | None, group: str, version: str, kind: str) -> str:
    """How kube-apiserver named the definition of ``group/version`` ``kind``."""
    if source_gv == (group, version):
        return source
    prefix, _version, _kind = source.rsplit(".", 2)
    if source_gv is not None and source_gv[0] == group:
        return f"{prefix}.{version}.{kind}"
    package = {"": "core"}.get(group, group.split(".")[0])
    return f"io.k8s.api.{package}.{version}.{kind}"


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value[len(_DEFS):] in renames:
                out[key] = _DEFS + renames[value[len(_DEFS):]]
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _kinds_of(profile: str) -> list[tuple[str, str, str]]:
    """Every (group, version, kind) the profile's documents must mark: served kinds, lists, subresource kinds."""
    seen: dict[tuple[str, str, str], None] = {}
    for res in resources.served(profile):
        seen[(res.group, res.version, res.kind)] = None
        if "list" in res.verbs:
            seen[(res.group, res.version, res.list_kind)] = None
    for res in resources.served(profile):
        for sub in ("scale", "eviction"):
            gvk = res.subresource_gvk(sub)
            if gvk:
                seen[gvk] = None
    return list(seen)


@functools.lru_cache(maxsize=None)
def _marked(profile: str) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str, str], str]]:  # pylint: disable=too-many-locals
    """All definitions for the profile (still in schema form) and the definition name of each marked GVK."""
    source = _source_definitions()
    defs: dict[str, dict[str, Any]] = {}
    names: dict[tuple[str, str, str], str] = {}
    kinds = _kinds_of(profile)
    for group, version, kind in kinds:
        src = _source_name(group, version, kind)
        if src is None:
            raise LookupError(f"no schema for {group}/{version} {kind}")
        names[(group, version, kind)] = _target_name(src, _gvk_of(src, source), group, version, kind)
    # A copied List must list copied items: rename refs from each source kind to its target.
    for (group, version, kind), target in names.items():
        src = _source_name(group, version, kind)
        assert src is not None
        body = copy.deepcopy(source[src])
        if kind.endswith("List"):
            item_src = _source_name(group, version, kind[:-4])
            item_target = names.get((group, version, kind[:-4]))
            if item_src and item_target:
                body = _rewrite_refs(body, {item_src: item_target})
        body["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
        defs[target] = body
    served_gvs = [(group, version) for group, versions, _unused in resources.groups(profile) for version in versions]
    for name in (_DELETE_OPTIONS, _WATCH_EVENT):
        body = copy.deepcopy(source[name])
        kind = name.rsplit(".", 1)[1]
        body["x-kubernetes-group-version-kind"] = [{"group": g, "kind": kind, "version": v} for g, v in served_gvs]
        defs[name] = body
    status = copy.deepcopy(source[_STATUS])
    status["x-kubernetes-group-version-kind"] = [{"group": "", "kind": "Status", "version": "v1"}]
    defs[_STATUS] = status
    defs[_PATCH] = copy.deepcopy(source[_PATCH])
    return defs, names


def _closure(roots: list[str], defs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``roots`` and every definition they reference, directly or not."""
    source = _source_definitions()
    out: dict[str, dict[str, Any]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        body = defs.get(name)
        if body is None:
            body = {k: v for k, v in source[name].items() if k != "x-kubernetes-group-version-kind"}
        out[name] = body
        todo.extend(_refs_in(body))
    return dict(sorted(out.items()))


def _refs_in(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value[len(_DEFS):])
            else:
                found.extend(_refs_in(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_refs_in(item))
    return found


_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and "
                       "unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field "
                       "that can accept a name or number.",
        "format": "int-or-string", "type": "string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON "
                       "and YAML, in addition to String() and AsInt64() accessors.",
        "type": "string"},
}


def _openapi_schema(node: Any, ref_prefix: str, v3: bool) -> Any:
    """A schema-form node made OpenAPI-shaped (see the module docstring)."""
    if isinstance(node, list):
        return [_openapi_schema(item, ref_prefix, v3) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        # Keys are checked with their value's type: JSONSchemaProps has *properties* named
        # "$ref", "enum", "type" and "additionalProperties", which must stay.
        if key == "type" and isinstance(value, list):
            out[key] = next(t for t in value if t != "null")
        elif key == "enum" and isinstance(value, list):
            continue
        elif key == "additionalProperties" and value is False:
            continue
        elif key == "$ref" and isinstance(value, str):
            out[key] = ref_prefix + value[len(_DEFS):]
        else:
            out[key] = _openapi_schema(value, ref_prefix, v3)
    if v3 and isinstance(out.get("$ref"), str) and len(out) > 1:
        # OpenAPI 3.0 ignores siblings of $ref; kube-apiserver wraps the ref in allOf instead.
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


def _definitions(defs: dict[str, dict[str, Any]], ref_prefix: str, v3: bool) -> dict[str, Any]:
    return {name: copy.deepcopy(_SPECIAL[name]) if name in _SPECIAL else _openapi_schema(body, ref_prefix, v3)
            for name, body in defs.items()}


# --- paths ------------------------------------------------------------------------------------

_PARAMS: dict[str, dict[str, Any]] = {
    "allowWatchBookmarks": {"type": "boolean", "description": "allowWatchBookmarks requests watch events with type \"BOOKMARK\". "
                            "Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's "
                            "discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they "
                            "assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is "
                            "ignored."},
    "continue": {"type": "string", "description": "The continue option should be set when retrieving more results from the server. "
                 "Since this value is server defined, clients may only use the continue value from a previous query result with "
                 "identical query parameters (except for the value of continue) and the server may reject a continue value it does "
                 "not recognize."},
    "dryRun": {"type": "string", "description": "When present, indicates that modifications should not be persisted. An invalid or "
               "unrecognized dryRun directive will result in an error response and no further processing of the request. Valid "
               "values are: - All: all dry run stages will be processed"},
    "exact": {"type": "boolean", "description": "Should the export be exact.  Exact export maintains cluster-specific fields like "
              "'Namespace'."},
    "export": {"type": "boolean", "description": "Should this value be exported.  Export strips fields that a user can not specify."},
    "fieldManager": {"type": "string", "description": "fieldManager is a name associated with the actor or entity that is making "
                     "these changes. The value must be less than or 128 characters long, and only contain printable characters, as "
                     "defined by https://golang.org/pkg/unicode/#IsPrint."},
    "fieldSelector": {"type": "string", "description": "A selector to restrict the list of returned objects by their fields. Defaults "
                      "to everything."},
    "fieldValidation": {"type": "string", "description": "fieldValidation instructs the server on how to handle objects in the "
                        "request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict"},
    "force": {"type": "boolean", "description": "Force is going to \"force\" Apply requests. It means user will re-acquire "
              "conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."},
    "gracePeriodSeconds": {"type": "integer", "description": "The duration in seconds before the object should be deleted. Value "
                           "must be non-negative integer. The value zero indicates delete immediately."},
    "includeUninitialized": {"type": "boolean", "description": "If true, partially initialized resources are included in the "
                             "response."},
    "labelSelector": {"type": "string", "description": "A selector to restrict the list of returned objects by their labels. "
                      "Defaults to everything."},
    "limit": {"type": "integer", "description": "limit is a maximum number of responses to return for a list call. If more items "
              "exist, the server will set the `continue` field on the list metadata to a value that can be used with the same "
              "initial query to retrieve the next set of results."},
    "orphanDependents": {"type": "boolean", "description": "Deprecated: please use the PropagationPolicy, this field will be "
                         "deprecated in 1.7. Should the dependent objects be orphaned."},
    "pretty": {"type": "string", "description": "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent "
               "indicates a browser or command-line HTTP tool (curl and wget)."},
    "propagationPolicy": {"type": "string", "description": "Whether and how garbage collection will be performed. Either this field "
                          "or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan', 'Background', "
                          "'Foreground'."},
    "resourceVersion": {"type": "string", "description": "resourceVersion sets a constraint on what resource versions a request may "
                        "be served from. Defaults to unset"},
    "resourceVersionMatch": {"type": "string", "description": "resourceVersionMatch determines how resourceVersion is applied to "
                             "list calls. Defaults to unset"},
    "sendInitialEvents": {"type": "boolean", "description": "`sendInitialEvents=true` may be set together with `watch=true`. In that "
                          "case, the watch stream will begin with synthetic events to produce the current state of objects in the "
                          "collection."},
    "timeoutSeconds": {"type": "integer", "description": "Timeout for the list/watch call. This limits the duration of the call, "
                       "regardless of any activity or inactivity."},
    "watch": {"type": "boolean", "description": "Watch for changes to the described resources and return them as a stream of add, "
              "update, and remove notifications. Specify resourceVersion."},
}

# Query parameters per operation and release: what kube-apiserver's installer accepted then.
_QUERY = {
    "1.8": {
        "list": ("fieldSelector", "includeUninitialized", "labelSelector", "resourceVersion", "timeoutSeconds", "watch"),
        "read": ("exact", "export"),
        "post": (), "put": (), "patch": (),
        "delete": ("gracePeriodSeconds", "orphanDependents", "propagationPolicy"),
        "deletecollection": ("fieldSelector", "includeUninitialized", "labelSelector", "resourceVersion", "timeoutSeconds", "watch"),
    },
    "1.15": {
        "list": ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "timeoutSeconds",
                 "watch"),
        "read": ("exact", "export"),
        "post": ("dryRun", "fieldManager"), "put": ("dryRun", "fieldManager"), "patch": ("dryRun", "fieldManager", "force"),
        "delete": ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"),
        "deletecollection": ("continue", "dryRun", "fieldSelector", "gracePeriodSeconds", "labelSelector", "limit", "orphanDependents",
                             "propagationPolicy", "resourceVersion", "timeoutSeconds"),
    },
    "1.30": {
        "list": ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
                 "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch"),
        "read": (),
        "post": ("dryRun", "fieldManager", "fieldValidation"), "put": ("dryRun", "fieldManager", "fieldValidation"),
        "patch": ("dryRun", "fieldManager", "fieldValidation", "force"),
        "delete": ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"),
        "deletecollection": ("continue", "dryRun", "fieldSelector", "gracePeriodSeconds", "labelSelector", "limit", "orphanDependents",
                             "propagationPolicy", "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds"),
    },
}

_PATCH_TYPES = {
    "1.8": ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"],
    "1.15": ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
             "application/apply-patch+yaml"],
    "1.30": ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
             "application/apply-patch+yaml"],
}


def _camel_group(group: str) -> str:
    if not group:
        return "Core"
    return "".join(part[:1].upper() + part[1:] for part in group.removesuffix(".k8s.io").split("."))


def _tag(group: str, version: str) -> str:
    camel = _camel_group(group)
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


def _op(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        profile: str, action: str, op_id: str, description: str, gvk: tuple[str, str, str], tag: str,
        body: str | None, responses: dict[str, str | None]) -> dict[str, Any]:
    """The release-neutral form of one operation; rendered to v2 or v3 later."""
    return {
        "action": action, "operationId": op_id, "description": description, "tag": tag,
        "gvk": {"group": gvk[0], "kind": gvk[2], "version": gvk[1]},
        "query": _QUERY[profile]["read" if action == "get" else action],
        "body": body, "responses": responses,
        "consumes": _PATCH_TYPES[profile] if action == "patch" else ["*/*"],
        "produces": _LIST_TYPES if action == "list" else _JSON_TYPES,
    }


def _resource_paths(profile: str, res: resources.Resource,  # pylint: disable=too-many-locals
                    names: dict[tuple[str, str, str], str]) -> dict[str, dict[str, Any]]:
    """Path -> {"parameters": [...path-level...], method: op} for one served resource."""
    prefix = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    scope = "/namespaces/{namespace}" if res.namespaced else ""
    nsd = "Namespaced" if res.namespaced else ""
    grp, ver = _camel_group(res.group), res.version[:1].upper() + res.version[1:]
    gvk = (res.group, res.version, res.kind)
    kind_def = names[gvk]
    list_def = names.get((res.group, res.version, res.list_kind))
    tag = _tag(res.group, res.version)
    verbs = set(res.verbs)
    path_params = (["namespace"] if res.namespaced else []) + ["pretty"]
    collection: dict[str, Any] = {}
    if "list" in verbs and list_def:
        collection["get"] = _op(profile, "list", f"list{grp}{ver}{nsd}{res.kind}", f"list or watch objects of kind {res.kind}", gvk, tag,
                                None, {"200": list_def})
    if "create" in verbs:
        collection["post"] = _op(profile, "post", f"create{grp}{ver}{nsd}{res.kind}", f"create a {res.kind}", gvk, tag, kind_def,
                                 {"200": kind_def, "201": kind_def, "202": kind_def})
    if "deletecollection" in verbs:
        collection["delete"] = _op(profile, "deletecollection", f"delete{grp}{ver}Collection{nsd}{res.kind}",
                                   f"delete collection of {res.kind}", gvk, tag, _DELETE_OPTIONS, {"200": _STATUS})
    paths: dict[str, dict[str, Any]] = {}
    if collection:
        paths[f"{prefix}{scope}/{res.name}"] = {"parameters": path_params, "ops": collection}
    if res.namespaced and "list" in verbs and list_def:
        paths[f"{prefix}/{res.name}"] = {"parameters": ["pretty"], "ops": {"get": _op(
            profile, "list", f"list{grp}{ver}{res.kind}ForAllNamespaces", f"list or watch objects of kind {res.kind}", gvk, tag,
            None, {"200": list_def})}}
    item = _item_ops(profile, f"{grp}{ver}{nsd}{res.kind}", f"the specified {res.kind}", gvk, tag, kind_def, verbs)
    item_params = [("name", res.kind)] + path_params
    if item:
        paths[f"{prefix}{scope}/{res.name}/{{name}}"] = {"parameters": item_params, "ops": item}
    for sub_name, _sub_kind, sub_verbs in res.subresources:
        sub_gvk = res.subresource_gvk(sub_name)
        if sub_name not in ("status", "scale") or not sub_gvk:
            continue
        sub_def = kind_def if sub_name == "status" else names[sub_gvk]
        ops = _item_ops(profile, f"{grp}{ver}{nsd}{res.kind}{sub_name.capitalize()}", f"{sub_name} of the specified {res.kind}",
                        sub_gvk, tag, sub_def, set(sub_verbs), subresource=True)
        paths[f"{prefix}{scope}/{res.name}/{{name}}/{sub_name}"] = {"parameters": [("name", sub_gvk[2])] + path_params, "ops": ops}
    return paths


def _item_ops(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        profile: str, name: str, what: str, gvk: tuple[str, str, str], tag: str, kind_def: str, verbs: set[str],
        subresource: bool = False) -> dict[str, Any]:
    ops: dict[str, Any] = {}
    if "get" in verbs:
        ops["get"] = _op(profile, "get", f"read{name}", f"read {what}", gvk, tag, None, {"200": kind_def})
    if "update" in verbs:
        ops["put"] = _op(profile, "put", f"replace{name}", f"replace {what}", gvk, tag, kind_def, {"200": kind_def, "201": kind_def})
    if "patch" in verbs:
        codes = {"200": kind_def, "201": kind_def} if profile == "1.30" else {"200": kind_def}
        ops["patch"] = _op(profile, "patch", f"patch{name}", f"partially update {what}", gvk, tag, _PATCH, codes)
    if "delete" in verbs and not subresource:
        codes = {"200": _STATUS} if profile == "1.8" else {"200": _STATUS, "202": _STATUS}
        ops["delete"] = _op(profile, "delete", f"delete{name}", f"delete {what.replace('the specified ', 'a ')}", gvk, tag,
                            _DELETE_OPTIONS, codes)
    return ops


def _path_param(param: Any) -> dict[str, Any]:
    """The v2 form of a path-level parameter: "namespace", "pretty" or ("name", kind)."""
    if isinstance(param, tuple):
        return {"description": f"name of the {param[1]}", "in": "path", "name": "name", "required": True, "type": "string",
                "uniqueItems": True}
    if param == "namespace":
        return {"description": "object name and auth scope, such as for teams and projects", "in": "path", "name": "namespace",
                "required": True, "type": "string", "uniqueItems": True}
    return {"description": _PARAMS[param]["description"], "in": "query", "name": param, "type": "string", "uniqueItems": True}


def _query_param(name: str) -> dict[str, Any]:
    spec = _PARAMS[name]
    return {"description": spec["description"], "in": "query", "name": name, "type": spec["type"], "uniqueItems": True}


def _v3_param(v2: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in v2.items() if k not in ("type", "uniqueItems")}
    out["schema"] = {"type": v2["type"], "uniqueItems": True}
    return out


def _render_op_v2(op: dict[str, Any]) -> dict[str, Any]:
    params = []
    if op["body"]:
        params.append({"in": "body", "name": "body", "required": op["action"] in ("post", "put", "patch"),
                       "schema": {"$ref": "#/definitions/" + op["body"]}})
    params.extend(_query_param(name) for name in op["query"])
    responses: dict[str, Any] = {}
    for code, def_name in op["responses"].items():
        responses[code] = {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
                           "schema": {"$ref": "#/definitions/" + def_name}} if def_name else {"description": "OK"}
    responses["401"] = {"description": "Unauthorized"}
    out = {
        "consumes": op["consumes"], "description": op["description"], "operationId": op["operationId"], "produces": op["produces"],
        "responses": responses, "schemes": ["https"], "tags": [op["tag"]], "x-kubernetes-action": op["action"],
        "x-kubernetes-group-version-kind": op["gvk"],
    }
    if params:
        out["parameters"] = params
    return out


def _render_op_v3(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": op["description"], "operationId": op["operationId"], "tags": [op["tag"]]}
    if op["query"]:
        out["parameters"] = [_v3_param(_query_param(name)) for name in op["query"]]
    if op["body"]:
        out["requestBody"] = {"content": {media: {"schema": {"$ref": "#/components/schemas/" + op["body"]}} for media in op["consumes"]},
                              "required": op["action"] in ("post", "put", "patch")}
    responses: dict[str, Any] = {}
    for code, def_name in op["responses"].items():
        responses[code] = {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
                           "content": {media: {"schema": {"$ref": "#/components/schemas/" + def_name}} for media in op["produces"]}}
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["x-kubernetes-action"] = op["action"]
    out["x-kubernetes-group-version-kind"] = op["gvk"]
    return out


def _render_paths(raw: dict[str, dict[str, Any]], v3: bool) -> dict[str, Any]:
    out = {}
    for path, spec in sorted(raw.items()):
        item: dict[str, Any] = {}
        for method, op in spec["ops"].items():
            item[method] = _render_op_v3(op) if v3 else _render_op_v2(op)
        params = [_path_param(param) for param in spec["parameters"]]
        item["parameters"] = [_v3_param(param) for param in params] if v3 else params
        out[path] = item
    return out


def _raw_paths(profile: str, group_version: tuple[str, str] | None = None) -> dict[str, dict[str, Any]]:
    _defs, names = _marked(profile)
    paths: dict[str, dict[str, Any]] = {}
    for res in resources.served(profile):
        if group_version is None or (res.group, res.version) == group_version:
            paths.update(_resource_paths(profile, res, names))
    return paths


def _referenced(paths: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for spec in paths.values():
        for op in spec["ops"].values():
            found.extend(name for name in [op["body"], *op["responses"].values()] if name)
    return found


# --- documents --------------------------------------------------------------------------------

_SECURITY = {"BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization", "type": "apiKey"}}


@functools.lru_cache(maxsize=None)
def openapi_v2_json(profile: str) -> bytes:
    """``/openapi/v2`` serialized (memoized per profile)."""
    defs, names = _marked(profile)
    raw = _raw_paths(profile)
    roots = list(names.values()) + [_STATUS, _DELETE_OPTIONS, _WATCH_EVENT, _PATCH] + _referenced(raw)
    doc = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": resources.git_version(profile)},
        "paths": _render_paths(raw, v3=False),
        "definitions": _definitions(_closure(roots, defs), "#/definitions/", v3=False),
        "securityDefinitions": _SECURITY,
        "security": [{"BearerToken": []}],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def openapi_v2(profile: str) -> dict[str, Any]:
    """The swagger 2.0 document kube-apiserver of that release served at ``/openapi/v2`` (a fresh copy)."""
    return json.loads(openapi_v2_json(profile))


def _v3_available(profile: str, group: str, version: str) -> bool:
    # /openapi/v3 went beta (on by default) in 1.24; the older releases answered 404.
    return profile == "1.30" and any(g == group and version in versions for g, versions, _unused in resources.groups(profile))


@functools.lru_cache(maxsize=None)
def openapi_v3_group_json(profile: str, group: str, version: str) -> bytes | None:
    """``/openapi/v3/apis/<group>/<version>`` serialized, or None (a 404) when not served."""
    if not _v3_available(profile, group, version):
        return None
    defs, names = _marked(profile)
    raw = _raw_paths(profile, (group, version))
    roots = [name for (g, v, _k), name in names.items() if (g, v) == (group, version)]
    roots += [_STATUS, _DELETE_OPTIONS, _WATCH_EVENT, _PATCH] + _referenced(raw)
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": resources.git_version(profile)},
        "paths": _render_paths(raw, v3=True),
        "components": {
            "schemas": _definitions(_closure(roots, defs), "#/components/schemas/", v3=True),
            "securitySchemes": {"BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization",
                                                "type": "apiKey"}},
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def openapi_v3_group(profile: str, group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of one group version (``""``/``v1`` for ``/openapi/v3/api/v1``), or None (a 404)."""
    raw = openapi_v3_group_json(profile, group, version)
    return json.loads(raw) if raw is not None else None


def openapi_v3_hash(profile: str, group: str, version: str) -> str | None:
    """The ``hash`` kube-apiserver puts in the index URL: the document's SHA-512, upper-case hex."""
    raw = openapi_v3_group_json(profile, group, version)
    return hashlib.sha512(raw).hexdigest().upper() if raw is not None else None


def openapi_v3_path(group: str, version: str) -> str:
    """The index key of a group version: ``api/v1`` or ``apis/apps/v1``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index(profile: str) -> dict[str, Any] | None:
    """The ``/openapi/v3`` index, or None (a 404) for releases that did not serve OpenAPI v3."""
    if profile not in resources.PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    if profile != "1.30":
        return None
    paths = {}
    for group, versions, _unused in resources.groups(profile):
        for version in versions:
            key = openapi_v3_path(group, version)
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={openapi_v3_hash(profile, group, version)}"}
    return {"paths": dict(sorted(paths.items()))}
