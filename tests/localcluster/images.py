"""What the collection's images do with a pod when it starts: the image contracts (tests/contracts), applied.

A real node runs the containers; a container whose configuration breaks what its image needs exits, never passes its
readiness probe, or is refused by the kubelet. The kubelet simulation asks :class:`ImageCheck` (``SimSettings.pod_check``)
once a pod is due to start and reports the answer as a kubelet would (``simulation.Outcome``). What only degrades the
output (alerts without pod names, ...) is left to the stack, which reads :func:`degradations`.
"""

from __future__ import annotations

import threading
from typing import Any

import contracts
from contracts import Cluster as Objects, Node

from . import resources, simulation

CONFIGMAPS = resources.storage_key("", "configmaps")
SECRETS = resources.storage_key("", "secrets")
# The order in which a kubelet meets failures: refused before started, init containers before the others.
_ORDER = {"refused": 0, "crash": 1, "unready": 2}


def _minor(profile: str) -> tuple:
    major, minor = profile.split(".", 1)
    return int(major), int(minor)


class ImageCheck:
    """Violations of the pods' image contracts, per pod (a pod's spec never changes, so each is checked once)."""

    def __init__(self, cluster: Any):
        self.cluster = cluster
        self._cache: dict[tuple[str, str], list[contracts.Violation]] = {}
        self._memo: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def violations(self, pod: dict[str, Any], node: dict[str, Any]) -> list[contracts.Violation]:
        """What the pod's containers break on ``node``."""
        meta = pod.get("metadata") or {}
        key = (meta.get("uid", "") or f"{meta.get('namespace')}/{meta.get('name')}", (node.get("metadata") or {}).get("name", ""))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        namespace = meta.get("namespace", "")
        found = contracts.check_pod(pod, namespace, self.objects(namespace), Node.from_object(node) if node else Node())
        with self._lock:
            if len(self._cache) > 20000:
                self._cache.clear()
            self._cache[key] = found
        return found

    def memo(self, what: str, pod: dict[str, Any], node: dict[str, Any], compute: Any) -> Any:
        """``compute()`` once per pod and node (a pod's spec never changes)."""
        meta = pod.get("metadata") or {}
        key = (what, meta.get("uid", "") or f"{meta.get('namespace')}/{meta.get('name')}", (node.get("metadata") or {}).get("name", ""))
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            if len(self._memo) > 20000:
                self._memo.clear()
            self._memo[key] = value
        return value

    def objects(self, namespace: str) -> Objects:
        """What a pod in ``namespace`` may mount or read: its ConfigMaps and Secrets, and the cluster's version."""
        store = self.cluster.store
        return Objects.from_objects(store.items(CONFIGMAPS, namespace) + store.items(SECRETS, namespace),
                                    kubernetes=_minor(self.cluster.profile), elasticsearch_major=self._es_major())

    def _es_major(self) -> int | None:
        stack = getattr(self.cluster, "stack", None)
        return int(str(stack.config.profile).split(".", 1)[0]) if stack is not None else None

    def __call__(self, pod: dict[str, Any], node: dict[str, Any]) -> simulation.Outcome | None:
        """The first failure a kubelet would report for the pod, or None when it runs ready."""
        inits = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or ()}
        failing = [v for v in self.violations(pod, node) if v.effect in _ORDER]
        if not failing:
            return None
        first = min(failing, key=lambda v: (_ORDER[v.effect] if v.effect == "refused" else 1, v.container not in inits, _ORDER[v.effect]))
        return simulation.Outcome(effect=first.effect, container=first.container, message=first.message, init=first.container in inits)


def degradations(check: ImageCheck, pod: dict[str, Any], node: dict[str, Any]) -> set[str]:
    """How the pod's output is degraded (the contract facts' ``degrades``: no_pod_metadata, no_fields, ...)."""
    return {v.degrades for v in check.violations(pod, node) if v.effect == "degraded"}


def falco_priority(check: ImageCheck, pod: dict[str, Any], node: dict[str, Any]) -> str:
    """The minimum priority the pod's Falco emits (its configuration's ``priority``, debug by default)."""
    def compute() -> str:
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        config = contracts.falco_config(pod, namespace, check.objects(namespace), Node.from_object(node) if node else Node())
        return str(config.get("priority", "debug")).lower()
    return check.memo("priority", pod, node, compute)


def generator_loop(check: ImageCheck, pod: dict[str, Any], node: dict[str, Any], minimum_priority: str):
    """(alerts an hour, alerts a loop per rule) of the pod's event generator, as its arguments and privileges allow; None
    for a pod that is no event generator of a contract (a stand-in)."""
    def compute():
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        loop = contracts.generator_loop(pod, namespace, check.objects(namespace), Node.from_object(node) if node else Node(),
                                        minimum_priority)
        if loop is None:
            return None
        weights: dict[str, float] = {}
        for (rule, _priority), count in loop.alerts.items():
            weights[rule] = weights.get(rule, 0) + count
        return loop.per_hour, weights
    return check.memo("generator/" + minimum_priority, pod, node, compute)
