"""Objects in memory, as etcd behind kube-apiserver holds them.

One global resourceVersion counter (as etcd's revision), objects keyed by storage key
(``apps/deployments`` whichever group version wrote them), a bounded event history per storage
key for watches, and list helpers: label and field selectors, limit/continue pagination.
"""

from __future__ import annotations

import base64
import bisect
import copy
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import ApiError

WATCH_HISTORY = 5000


@dataclass
class Event:
    """One change to one object, as a watch delivers it."""
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict[str, Any]


@dataclass
class _Bucket:
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    history: deque = field(default_factory=lambda: deque(maxlen=WATCH_HISTORY))
    # Sorted (namespace, name) keys, so lists and pagination are stable and cheap.
    keys: list[tuple[str, str]] = field(default_factory=list)


class Store:
    """Thread-safe object store with etcd-like revisions and watch history."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._buckets: dict[str, _Bucket] = {}
        self._rv = 1

    @property
    def revision(self) -> int:
        """The newest resourceVersion handed out."""
        return self._rv

    def _bucket(self, key: str) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        return bucket

    def get(self, key: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A deep copy of the stored object, or None."""
        with self._lock:
            obj = self._bucket(key).objects.get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def peek(self, key: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object itself (callers must not mutate it)."""
        with self._lock:
            return self._bucket(key).objects.get((namespace, name))

    def items(self, key: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """The stored objects themselves, in (namespace, name) order; callers must not mutate."""
        with self._lock:
            bucket = self._bucket(key)
            if namespace is None:
                return [bucket.objects[k] for k in bucket.keys]
            start = bisect.bisect_left(bucket.keys, (namespace, ""))
            out = []
            for k in bucket.keys[start:]:
                if k[0] != namespace:
                    break
                out.append(bucket.objects[k])
            return out

    def namespaces_in_use(self) -> Iterator[tuple[str, str, str]]:
        """(storage key, namespace, name) of every namespaced object."""
        with self._lock:
            for key, bucket in self._buckets.items():
                for namespace, name in list(bucket.objects):
                    if namespace:
                        yield key, namespace, name

    def create(self, key: str, obj: dict[str, Any], generation: bool) -> dict[str, Any]:
        """Store a new object, setting uid, resourceVersion, creationTimestamp (and generation)."""
        with self._lock:
            meta = obj.setdefault("metadata", {})
            k = (meta.get("namespace", ""), meta["name"])
            bucket = self._bucket(key)
            if k in bucket.objects:
                raise KeyError(k)
            self._rv += 1
            meta["uid"] = meta.get("uid") or str(uuid.uuid4())
            meta["resourceVersion"] = str(self._rv)
            if generation:
                meta["generation"] = 1
            bucket.objects[k] = obj
            bisect.insort(bucket.keys, k)
            self._record(bucket, "ADDED", obj)
            return copy.deepcopy(obj)

    def update(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace a stored object, bumping its resourceVersion."""
        with self._lock:
            meta = obj["metadata"]
            k = (meta.get("namespace", ""), meta["name"])
            bucket = self._bucket(key)
            if k not in bucket.objects:
                raise KeyError(k)
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            bucket.objects[k] = obj
            self._record(bucket, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def delete(self, key: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Remove an object; the DELETED event carries a new resourceVersion, as etcd's does."""
        with self._lock:
            bucket = self._bucket(key)
            obj = bucket.objects.pop((namespace, name), None)
            if obj is None:
                return None
            idx = bisect.bisect_left(bucket.keys, (namespace, name))
            del bucket.keys[idx]
            self._rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._record(bucket, "DELETED", obj)
            return obj

    def _record(self, bucket: _Bucket, kind: str, obj: dict[str, Any]) -> None:
        bucket.history.append(Event(self._rv, kind, copy.deepcopy(obj)))
        self.changed.notify_all()

    def events_since(self, key: str, rv: int) -> list[Event]:
        """Events after ``rv``; 410 Gone when the history no longer reaches back that far."""
        with self._lock:
            history = self._bucket(key).history
            if history and rv < history[0].rv - 1 and len(history) == history.maxlen:
                raise ApiError(410, "Expired", f"too old resource version: {rv} ({history[0].rv - 1})")
            return [ev for ev in history if ev.rv > rv]


# ------------------------------------------------------------------ selectors

_REQ = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_selector(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += char
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """Parse ``a=b,c!=d,e in (f,g),!h,i`` into (key, op, values); 400 on bad syntax as the real server."""
    reqs = []
    for part in _split_selector(text or ""):
        match = _REQ.match(part)
        if not match:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {part.strip()}")
        neg, key, op, value, setop, values = match.groups()
        if neg:
            if op or setop:
                raise ApiError(400, "BadRequest", f"unable to parse requirement: {part.strip()}")
            reqs.append((key, "!", ()))
        elif op:
            reqs.append((key, "!=" if op == "!=" else "=", (value,)))
        elif setop:
            reqs.append((key, setop, tuple(v.strip() for v in values.split(",") if v.strip())))
        else:
            reqs.append((key, "exists", ()))
    return reqs


def label_matches(labels: dict[str, str] | None, reqs: list[tuple[str, str, tuple[str, ...]]]) -> bool:
    """Whether labels satisfy every requirement."""
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        if op == "=" and labels.get(key) != values[0]:
            return False
        if op == "!=" and present and labels[key] == values[0]:
            return False
        if op == "in" and (not present or labels[key] not in values):
            return False
        if op == "notin" and present and labels[key] in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


# Fields each resource can be selected on, beyond metadata.name and metadata.namespace.
FIELD_LABELS = {
    "pods": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP",
             "status.nominatedNodeName"),
    "nodes": ("spec.unschedulable",),
    "namespaces": ("status.phase",),
    "secrets": ("type",),
    "events": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "source", "type"),
    "replicasets": ("status.replicas",),
    "jobs": ("status.successful",),
}


def parse_field_selector(text: str, resource: str, kind: str, api_version: str) -> list[tuple[str, bool, str]]:
    """Parse ``metadata.name=x,spec.nodeName!=y`` into (field, equal, value); 400 for unsupported fields."""
    reqs = []
    for part in [p for p in (text or "").split(",") if p.strip()]:
        match = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand '{part}'")
        name, op, value = match.groups()
        if name not in ("metadata.name", "metadata.namespace") and name not in FIELD_LABELS.get(resource, ()):
            raise ApiError(400, "BadRequest", f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"'
                           if resource not in FIELD_LABELS else
                           f'field label not supported: {name}')
        reqs.append((name, op != "!=", value))
    return reqs


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_matches(obj: dict[str, Any], reqs: list[tuple[str, bool, str]]) -> bool:
    """Whether the object satisfies every field requirement."""
    return all((_field_value(obj, name) == value) == equal for name, equal, value in reqs)


# ------------------------------------------------------------------ pagination

def encode_continue(rv: int, start_after: tuple[str, str]) -> str:
    """An opaque continue token, like kube-apiserver's (base64 JSON)."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "/".join(start_after) + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    """The (resourceVersion, last key) in a continue token; 400 when it is not one of ours."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        namespace, _unused, name = raw["start"].rstrip("\x00").partition("/")
        return int(raw["rv"]), (namespace, name)
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "BadRequest", "continue key is not valid: illegal base64 data at input byte 0") from exc
