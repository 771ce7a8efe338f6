"""Kubernetes OpenAPI definitions, as kube-apiserver publishes them.

The definitions come from the ``kubernetes-validate`` package (a runtime dependency of the
collection), which bundles the server's own schemas with their ``x-kubernetes-*``
extensions: patch merge keys for strategic merge patch, list map keys for server-side apply,
and ``additionalProperties: false`` for unknown-field detection.

The bundle starts at Kubernetes 1.25. Older profiles (1.8, 1.15) reuse the newest schema of
the same kind: merge keys and field names of the kinds we deploy did not change, and where an
old group version has no definition of its own (extensions/v1beta1 Deployment) the apps/v1
definition of that kind stands in.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

SCHEMA_RELEASE = "v1.30.0"

# Old group versions whose kinds moved: group -> the group their definitions live under now.
_MOVED_GROUPS = {
    "extensions": ("apps", "networking.k8s.io", "policy"),
    "apps": ("apps",),
}


@functools.lru_cache(maxsize=None)
def definitions() -> dict[str, dict[str, Any]]:
    """All definitions, keyed like ``io.k8s.api.apps.v1.Deployment``."""
    import kubernetes_validate  # pylint: disable=import-outside-toplevel

    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    path = os.path.join(base, SCHEMA_RELEASE + "-local-strict", "_definitions.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["$defs"]


@functools.lru_cache(maxsize=None)
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index = {}
    for name, body in definitions().items():
        for gvk in body.get("x-kubernetes-group-version-kind", ()):
            index[(gvk.get("group", ""), gvk["version"], gvk["kind"])] = name
    return index


@functools.lru_cache(maxsize=None)
def definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition that describes ``kind`` in ``group/version``, or the closest stand-in.

    Returns None for kinds the schema release does not know at all (PodSecurityPolicy).
    """
    index = _gvk_index()
    exact = index.get((group, version, kind))
    if exact:
        return exact
    candidates = [name for (grp, _ver, knd), name in index.items()
                  if knd == kind and (grp == group or grp in _MOVED_GROUPS.get(group, ()))]
    if not candidates:
        candidates = [name for (_grp, _ver, knd), name in index.items() if knd == kind]
    # Prefer GA over beta over alpha: "v1" sorts after "v1beta1" once we rank stability.
    return max(candidates, key=_stability, default=None)


def _stability(name: str) -> tuple[int, str]:
    version = name.rsplit(".", 2)[-2]
    rank = 0 if "alpha" in version else 1 if "beta" in version else 2
    return rank, version


def resolve(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Follow a ``$ref`` to its definition; other schemas are returned as they are."""
    if schema and "$ref" in schema:
        return definitions()[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def property_schema(schema: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    """The schema of ``schema.properties[key]`` (with ``$ref`` resolved), or None if unknown."""
    schema = resolve(schema)
    if not schema:
        return None
    props = schema.get("properties")
    if props and key in props:
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def items_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item schema of an array schema (with ``$ref`` resolved)."""
    schema = resolve(schema)
    return resolve(schema.get("items")) if schema else None


def object_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The top-level schema of an object, or None when the release does not know the kind."""
    name = definition_name(group, version, kind)
    return definitions()[name] if name else None
