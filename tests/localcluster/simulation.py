"""Workload simulation: node sets, controllers, scheduler and kubelet, as pure functions.

The local cluster has no kube-controller-manager, scheduler or kubelet. This module stands in
for them the way kwok does for real clusters: :func:`reconcile` looks at the stored objects and
answers with the writes those components would make (:class:`Action`); the server applies them,
owns resourceVersions, uids and watch events, and calls again periodically and after writes.
Each call is one "sync" of every controller over a snapshot, so chains (Deployment ->
ReplicaSet -> Pod -> scheduled -> running) take a few calls, as they take a few syncs in a real
cluster. A call that finds nothing to do returns ``[]``: an idle cluster does no writes.

:func:`node_set` builds the Node objects (and extra seeded objects) of a named node set.
"""

# The controllers mirror kube-controller-manager's sync loops, whose size is in the domain itself.
# pylint: disable=too-many-lines,too-many-arguments,too-many-positional-arguments,too-many-locals
# pylint: disable=too-many-branches,too-many-statements,too-many-return-statements,too-many-instance-attributes,too-few-public-methods

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from localcluster import pod_security

Obj = dict[str, Any]

CREATED_AT_ANNOTATION = "localcluster.seclog.io/created-at"
"""Pods the simulation creates carry their creation time as an epoch float here.

``metadata.creationTimestamp`` only has whole seconds; readiness delays are sub-second.
"""

PROFILES = ("1.8", "1.15", "1.30")
NODE_KINDS = ("gke", "small", "cos", "old-kernel", "notready", "gke-logging", "mixed", "runbook", "e2-standard-2")

# Real controllers cap the pods one sync creates or deletes (ReplicaSet burstReplicas=500,
# DaemonSet BurstReplicas=250); the cap also keeps one call cheap on 5,000 nodes.
_RS_BURST = 500
_DS_BURST = 250

# utilrand.SafeEncodeString / utilrand.String alphabet: no vowels, no confusable digits.
_SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_NODE_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

# Node sets are built "now" for a fixed, plausible cluster age unless the caller says otherwise.
_DEFAULT_NODE_EPOCH = 1717200000.0  # 2024-06-01T00:00:00Z

_ZONE = "us-central1-a"
_REGION = "us-central1"
_PROJECT = "seclog-project"


# --------------------------------------------------------------------------------------------
# Public data types


@dataclass(frozen=True)
class SimSettings:
    """Knobs of the simulation.

    ``ready_delay``: seconds from a pod's creation until its containers run and are ready.
    ``never_ready``: ``"namespace/name"`` of workloads (Deployment, StatefulSet, DaemonSet,
    ReplicaSet) or bare pods whose pods run but never pass their readiness probe.
    ``profile``: the Kubernetes profile ("1.8", "1.15", "1.30"); it picks field sets and
    message formats that changed between releases.
    ``progress_deadline_default``: used when a Deployment has no progressDeadlineSeconds in an
    apiVersion that defaults it.
    """

    ready_delay: float = 0.3
    never_ready: frozenset[str] = field(default_factory=frozenset)
    profile: str = "1.30"
    progress_deadline_default: int = 600
    # What the pod's images make of it once it starts, as a real container would (see ``Outcome``); None: every pod runs.
    pod_check: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Outcome:
    """What happens to a pod's container when it starts, decided by ``SimSettings.pod_check(pod, node)``.

    ``effect`` is "refused" (the kubelet does not start it: CreateContainerConfigError), "crash" (it exits:
    CrashLoopBackOff, with ``message`` as its last log lines when it asks for FallbackToLogsOnError) or
    "unready" (it runs but its readiness probe fails: an Unhealthy event with ``message``). ``init`` marks an init
    container.
    """

    effect: str
    container: str
    message: str
    init: bool = False


@dataclass(frozen=True)
class Action:
    """One write the simulated components make.

    ``op`` is "create", "update" (metadata/spec changed: store ``body`` whole, status included,
    as the simulation is the controller and not a client), "update_status" (only ``status``
    changed) or "delete" (``body`` is None). ``resource`` is the plural resource name
    ("pods", "replicasets", ...); ``namespace`` is "" for cluster-scoped objects.
    """

    op: str
    resource: str
    namespace: str
    name: str
    body: Obj | None = None


# --------------------------------------------------------------------------------------------
# Small helpers


def _clone(value: Any) -> Any:
    """A deep copy of JSON data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def rfc3339(epoch: float) -> str:
    """Epoch seconds as Kubernetes writes times: ``2024-06-01T00:00:00Z``."""
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    """An RFC3339 time as epoch seconds, or None when missing or malformed."""
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash the controllers use for template hashes."""
    result = 0x811C9DC5
    for byte in data:
        result = ((result ^ byte) * 0x01000193) & 0xFFFFFFFF
    return result


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: map each byte into an alphabet without vowels."""
    return "".join(_SAFE_ALPHANUMS[ord(ch) % len(_SAFE_ALPHANUMS)] for ch in text)


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """A stable 10-character hash of a pod template (pod-template-hash, controller-revision-hash).

    The real controllers hash Go's spew dump of the template; we hash canonical JSON, with any
    pod-template-hash label removed so a ReplicaSet's template hashes like its Deployment's.
    """
    labels = (template.get("metadata") or {}).get("labels") or {}
    if "pod-template-hash" in labels:
        template = _clone(template)
        del template["metadata"]["labels"]["pod-template-hash"]
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    value = fnv32a(data + (str(collision_count).encode() if collision_count else b""))
    return safe_encode(f"{value:010d}")


def _random_suffix(seed: str, length: int = 5) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_SAFE_ALPHANUMS[b % len(_SAFE_ALPHANUMS)] for b in digest[:length])


_BINARY_SUFFIX = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL_SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def parse_quantity(value: Any) -> float:
    """A resource.Quantity (``"3920m"``, ``"7.5Gi"``, ``"1e3"``, ``2``) as a plain number."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        return 0.0
    if text[-2:] in _BINARY_SUFFIX:
        return float(text[:-2]) * _BINARY_SUFFIX[text[-2:]]
    if not text[-1].isdigit() and text[-1] in _DECIMAL_SUFFIX:
        return float(text[:-1]) * _DECIMAL_SUFFIX[text[-1]]
    return float(text)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _key(obj: Obj) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _controller_ref(obj: Obj) -> Obj | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def _owner_ref(owner: Obj, kind: str) -> Obj:
    meta = _meta(owner)
    ref = {"apiVersion": owner.get("apiVersion", "apps/v1"), "kind": kind, "name": meta.get("name"),
           "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}
    return ref


def _owned_by(obj: Obj, kind: str, owner: Obj) -> bool:
    ref = _controller_ref(obj)
    if not ref or ref.get("kind") != kind or ref.get("name") != _meta(owner).get("name"):
        return False
    uid, owner_uid = ref.get("uid"), _meta(owner).get("uid")
    return not uid or not owner_uid or uid == owner_uid


def _terminating(obj: Obj) -> bool:
    return bool(_meta(obj).get("deletionTimestamp"))


def match_selector(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Whether ``labels`` match a LabelSelector (matchLabels and matchExpressions)."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        if not _match_expression(expr, labels.get(expr.get("key", "")), expr.get("key", "") in labels):
            return False
    return True


def _match_expression(expr: Obj, value: str | None, present: bool) -> bool:
    operator, values = expr.get("operator"), expr.get("values") or []
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            left, right = int(value or ""), int(values[0])
        except ValueError:
            return False
        return left > right if operator == "Gt" else left < right
    return False


def _node_matches_term(term: Obj, node: Obj) -> bool:
    labels = _meta(node).get("labels") or {}
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    for expr in exprs:
        key = expr.get("key", "")
        if not _match_expression(expr, labels.get(key), key in labels):
            return False
    for expr in fields:
        if expr.get("key") != "metadata.name" or not _match_expression(expr, _meta(node).get("name"), True):
            return False
    return True


def node_matches_pod(pod_spec: Obj, node: Obj) -> bool:
    """Whether a node satisfies a pod spec's nodeSelector and required node affinity."""
    labels = _meta(node).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if terms is not None and required:
        return any(_node_matches_term(term, node) for term in terms)
    return True


def tolerates(tolerations: Iterable[Obj], taint: Obj) -> bool:
    """Whether any toleration tolerates ``taint`` (the rules of ``Toleration.ToleratesTaint``)."""
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        operator = tol.get("operator") or "Equal"
        if operator == "Exists":
            if not tol.get("key") or tol.get("key") == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _untolerated(taints: Iterable[Obj], tolerations: list[Obj], effects: tuple[str, ...]) -> Obj | None:
    for taint in taints:
        if taint.get("effect") in effects and not tolerates(tolerations, taint):
            return taint
    return None


def _node_ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _pod_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _pod_available(pod: Obj, min_ready: int, now: float) -> bool:
    if not _pod_ready(pod):
        return False
    if min_ready <= 0:
        return True
    for cond in pod["status"].get("conditions") or ():
        if cond.get("type") == "Ready":
            since = parse_time(cond.get("lastTransitionTime"))
            return since is not None and since + min_ready <= now
    return False


def _int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(value)


def _version_tuple(profile: str) -> tuple[int, int]:
    major, _unused, minor = profile.partition(".")
    return int(major), int(minor or 0)


def _selector(workload: Obj) -> Obj:
    """spec.selector, or the template labels that old API versions default it from."""
    spec = workload.get("spec") or {}
    sel = spec.get("selector")
    if sel:
        return sel
    return {"matchLabels": dict(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})}


def _replicas(workload: Obj) -> int:
    value = (workload.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _generation(obj: Obj) -> int:
    return int(_meta(obj).get("generation") or 1)


def _status_action(resource: str, obj: Obj, status: Obj) -> Action | None:
    if (obj.get("status") or {}) == status:
        return None
    body = _clone(obj)
    body["status"] = status
    meta = _meta(obj)
    return Action("update_status", resource, meta.get("namespace", ""), meta.get("name", ""), body)


def _put(status: Obj, key: str, value: int, omitempty: bool = True) -> None:
    if value or not omitempty:
        status[key] = value


# --------------------------------------------------------------------------------------------
# Node sets


@dataclass(frozen=True)
class _NodeKind:
    pool: str
    os: str  # "ubuntu" or "cos"
    machine: str
    old_kernel: bool = False


_KINDS = {
    "gke": _NodeKind("default-pool", "ubuntu", "e2-standard-4"),
    "small": _NodeKind("small-pool", "ubuntu", "e2-medium"),
    "cos": _NodeKind("cos-pool", "cos", "e2-standard-4"),
    "old-kernel": _NodeKind("legacy-pool", "ubuntu", "e2-standard-4", old_kernel=True),
    # The runbook's machine type, with the Ubuntu image it asked for.
    "runbook": _NodeKind("default-pool", "ubuntu", "n1-standard-2"),
    "e2-standard-2": _NodeKind("default-pool", "ubuntu", "e2-standard-2"),
}

# Allocatable as GKE reserves it (kube-reserved, system-reserved, eviction threshold).
_MACHINES = {
    "e2-standard-4": ({"cpu": "4", "memory": "16379772Ki"}, {"cpu": "3920m", "memory": "13206396Ki"}),
    # Shared-core: GKE leaves 940m of the 2 vCPUs and ~2.7 GiB; too small for Elasticsearch's pod (1 CPU, 4 GiB).
    "e2-medium": ({"cpu": "2", "memory": "4025360Ki"}, {"cpu": "940m", "memory": "2869776Ki"}),
    # 2 vCPUs: GKE reserves 70m CPU, and 25% of the first 4 GiB plus 20% of the rest and 100 MiB for eviction:
    # 1930m and about 5.5 GiB (n1-standard-2, 7.5 GB) or 5.9 GiB (e2-standard-2, 8 GB) stay allocatable.
    "n1-standard-2": ({"cpu": "2", "memory": "7656276Ki"}, {"cpu": "1930m", "memory": "5768532Ki"}),
    "e2-standard-2": ({"cpu": "2", "memory": "8148988Ki"}, {"cpu": "1930m", "memory": "6162428Ki"}),
}

_OS_IMAGES = {
    ("1.30", "ubuntu"): ("Ubuntu 22.04.4 LTS", "5.15.0-1067-gke"),
    ("1.30", "cos"): ("Container-Optimized OS from Google", "6.1.100+"),
    ("1.15", "ubuntu"): ("Ubuntu 18.04.4 LTS", "4.15.0-1069-gke"),
    ("1.15", "cos"): ("Container-Optimized OS from Google", "4.19.112+"),
    ("1.8", "ubuntu"): ("Ubuntu 16.04.4 LTS", "4.13.0-1019-gcp"),
    ("1.8", "cos"): ("Container-Optimized OS from Google", "4.4.111+"),
}
_OLD_KERNEL = ("Ubuntu 18.04.1 LTS", "4.15.0-1027-gke")
_KUBELET_VERSIONS = {"1.30": "v1.30.5-gke.1014001", "1.15": "v1.15.12-gke.20", "1.8": "v1.8.12-gke.0"}
_RUNTIMES = {"1.30": "containerd://1.7.22", "1.15": "docker://19.3.1", "1.8": "docker://17.3.2"}


def _parse_spec(spec: str) -> tuple[str, int | None]:
    name, _unused, count = (spec or "gke").partition(":")
    name = name.strip() or "gke"
    if name not in NODE_KINDS:
        raise ValueError(f"unknown node set {name!r}; known: {', '.join(NODE_KINDS)}")
    if count:
        number = int(count)
        if number < 1:
            raise ValueError(f"node set {spec!r}: the count must be at least 1")
        return name, number
    return name, None


def _node_name(spec: str, kind: _NodeKind, index: int, taken: set[str]) -> str:
    group = hashlib.sha256(f"{spec}/{kind.pool}".encode()).hexdigest()[:8]
    salt = 0
    while True:
        digest = hashlib.sha256(f"{spec}/{kind.pool}/{index}/{salt}".encode()).digest()
        suffix = "".join(_NODE_SUFFIX_ALPHABET[b % 36] for b in digest[:4])
        name = f"gke-seclog-{kind.pool}-{group}-{suffix}"
        if name not in taken:
            taken.add(name)
            return name
        salt += 1


def _hex_id(seed: str, length: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _node_labels(name: str, kind: _NodeKind, profile: str) -> dict[str, str]:
    version = _version_tuple(profile)
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux"}
    if version < (1, 17):
        labels["beta.kubernetes.io/instance-type"] = kind.machine
        labels["failure-domain.beta.kubernetes.io/region"] = _REGION
        labels["failure-domain.beta.kubernetes.io/zone"] = _ZONE
    labels["cloud.google.com/gke-nodepool"] = kind.pool
    labels["cloud.google.com/gke-os-distribution"] = kind.os
    if version >= (1, 14):
        labels["kubernetes.io/arch"] = "amd64"
        labels["kubernetes.io/os"] = "linux"
    labels["kubernetes.io/hostname"] = name
    if version >= (1, 17):
        labels.update({
            "cloud.google.com/gke-boot-disk": "pd-balanced",
            "cloud.google.com/gke-container-runtime": "containerd",
            "cloud.google.com/gke-logging-variant": "DEFAULT",
            "cloud.google.com/gke-max-pods-per-node": "110",
            "cloud.google.com/gke-provisioning": "standard",
            "cloud.google.com/machine-family": kind.machine.split("-", 1)[0],
            "cloud.google.com/private-node": "false",
            "node.kubernetes.io/instance-type": kind.machine,
            "topology.gke.io/zone": _ZONE,
            "topology.kubernetes.io/region": _REGION,
            "topology.kubernetes.io/zone": _ZONE,
        })
    return dict(sorted(labels.items()))


def _node_conditions(profile: str, ready: bool, stamp: str) -> list[Obj]:
    version = _version_tuple(profile)

    def cond(ctype: str, status: str, reason: str, message: str) -> Obj:
        return {"type": ctype, "status": status, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp,
                "reason": reason, "message": message}

    conds = [cond("NetworkUnavailable", "False", "RouteCreated", "NodeController create implicit route")]
    if version < (1, 12):
        conds.append(cond("OutOfDisk", "False", "KubeletHasSufficientDisk", "kubelet has sufficient disk space available"))
    conds.append(cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"))
    conds.append(cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"))
    if version >= (1, 14):
        conds.append(cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
    if ready:
        conds.append(cond("Ready", "True", "KubeletReady", "kubelet is posting ready status. AppArmor enabled"))
    else:
        conds.append(cond("Ready", "False", "KubeletNotReady",
                          "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                          "message:Network plugin returns error: cni plugin not initialized"))
    return conds


def _build_node(spec: str, kind: _NodeKind, index: int, serial: int, profile: str, ready: bool,
                taken: set[str], now: float) -> Obj:
    name = _node_name(spec, kind, index, taken)
    capacity, allocatable = _MACHINES[kind.machine]
    capacity = dict(capacity, pods="110", **{"ephemeral-storage": "98831908Ki"})
    allocatable = dict(allocatable, pods="110", **{"ephemeral-storage": "47060071478"})
    if _version_tuple(profile) >= (1, 10):
        for size in ("hugepages-1Gi", "hugepages-2Mi"):
            capacity[size] = allocatable[size] = "0"
    os_image, kernel = _OLD_KERNEL if kind.old_kernel else _OS_IMAGES[(profile, kind.os)]
    internal_ip = f"10.128.{serial // 250}.{serial % 250 + 2}"
    pod_cidr = f"10.{16 + serial // 256}.{serial % 256}.0/24"
    created = rfc3339(now - 86400)
    stamp = rfc3339(now)
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": _node_labels(name, kind, profile),
            "annotations": {
                "container.googleapis.com/instance_id": str(int(_hex_id(name, 15), 16)),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": created,
        },
        "spec": {"podCIDR": pod_cidr, "providerID": f"gce://{_PROJECT}/{_ZONE}/{name}"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": internal_ip}, {"type": "Hostname", "address": name}],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": _node_conditions(profile, ready, stamp),
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _uuid_like(name + "/boot"),
                "containerRuntimeVersion": _RUNTIMES[profile],
                "kernelVersion": kernel,
                "kubeProxyVersion": _KUBELET_VERSIONS[profile],
                "kubeletVersion": _KUBELET_VERSIONS[profile],
                "machineID": _hex_id(name + "/machine"),
                "operatingSystem": "linux",
                "osImage": os_image,
                "systemUUID": _uuid_like(name + "/system"),
            },
        },
    }
    if _version_tuple(profile) >= (1, 16):
        node["spec"]["podCIDRs"] = [pod_cidr]
    if not ready:
        node["spec"]["taints"] = _not_ready_taints(profile, stamp)
    return node


def _not_ready_taints(profile: str, stamp: str) -> list[Obj]:
    # 1.8 had neither TaintNodesByCondition nor TaintBasedEvictions on by default: no taints.
    if _version_tuple(profile) < (1, 12):
        return []
    return [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "timeAdded": stamp}]


def _uuid_like(seed: str) -> str:
    digest = _hex_id(seed)
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def node_set(spec: str, profile: str, now: float = _DEFAULT_NODE_EPOCH) -> tuple[list[Obj], list[Obj]]:
    """The Node objects of node set ``spec`` ("gke", "gke:5000", "mixed", ...) and extra objects to seed.

    Names are deterministic for a given spec. ``gke-logging`` adds GKE's own ``fluentbit-gke``
    DaemonSet in kube-system (its pods come from :func:`reconcile`). ``now`` stamps the node
    conditions; the default is a fixed time so the function stays pure.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    name, count = _parse_spec(spec)
    taken: set[str] = set()
    nodes: list[Obj] = []
    extras: list[Obj] = []
    if name == "mixed":
        plan = [(_KINDS[k], True) for k in ("gke", "small", "cos", "old-kernel")] + [(_KINDS["gke"], False)]
        plan = plan[:count] if count else plan
        per_pool: dict[str, int] = {}
        for serial, (kind, ready) in enumerate(plan):
            index = per_pool.get(kind.pool, 0)
            per_pool[kind.pool] = index + 1
            nodes.append(_build_node(spec, kind, index, serial, profile, ready, taken, now))
        return nodes, extras
    total = count or 3
    kind = _KINDS.get(name, _KINDS["gke"])
    for index in range(total):
        ready = not (name == "notready" and index == total - 1)
        nodes.append(_build_node(spec, kind, index, index, profile, ready, taken, now))
    if name == "gke-logging":
        extras.append(_fluentbit_daemonset(profile, now))
    return nodes, extras


def _fluentbit_daemonset(profile: str, now: float) -> Obj:
    version = _version_tuple(profile)
    api_version = "apps/v1" if version >= (1, 9) else "extensions/v1beta1"
    os_label = "kubernetes.io/os" if version >= (1, 14) else "beta.kubernetes.io/os"
    labels = {"k8s-app": "fluentbit-gke"}
    pod_spec: Obj = {
        "containers": [
            {"name": "fluentbit", "image": "gke.gcr.io/fluent-bit:v1.8.12-gke.25",
             "resources": {"limits": {"memory": "250Mi"}, "requests": {"cpu": "50m", "memory": "100Mi"}},
             "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"},
                              {"name": "varlibcontainers", "mountPath": "/var/lib/docker/containers", "readOnly": True}],
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
             "imagePullPolicy": "IfNotPresent"},
            {"name": "fluentbit-gke", "image": "gke.gcr.io/fluent-bit-gke-exporter:v0.24.0-gke.1",
             "resources": {"limits": {"memory": "250Mi"}, "requests": {"cpu": "5m", "memory": "50Mi"}},
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
             "imagePullPolicy": "IfNotPresent"},
        ],
        "dnsPolicy": "Default",
        "hostNetwork": True,
        "nodeSelector": {os_label: "linux"},
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccountName": "fluentbit-gke",
        "serviceAccount": "fluentbit-gke",
        "terminationGracePeriodSeconds": 120,
        "tolerations": [{"operator": "Exists", "effect": "NoExecute"}, {"operator": "Exists", "effect": "NoSchedule"}],
        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log", "type": ""}},
                    {"name": "varlibcontainers", "hostPath": {"path": "/var/lib/docker/containers", "type": ""}}],
    }
    if version >= (1, 11):
        pod_spec["priorityClassName"] = "system-node-critical"
    spec: Obj = {
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": dict(labels),
                                  "annotations": {"components.gke.io/component-name": "fluentbit"}},
                     "spec": pod_spec},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
        "revisionHistoryLimit": 10,
    }
    return {
        "apiVersion": api_version,
        "kind": "DaemonSet",
        "metadata": {"name": "fluentbit-gke", "namespace": "kube-system", "generation": 1,
                     "labels": {"addonmanager.kubernetes.io/mode": "Reconcile", "k8s-app": "fluentbit-gke"},
                     "creationTimestamp": rfc3339(now - 86400)},
        "spec": spec,
    }


# --------------------------------------------------------------------------------------------
# The tick: one sync of every controller over a snapshot


class _Tick:
    """Indexes of one snapshot and the actions decided so far; lives for one reconcile call."""

    def __init__(self, objects: dict[str, list[Obj]], now: float, settings: SimSettings):
        self.now = now
        self.settings = settings
        self.version = _version_tuple(settings.profile)
        self.stamp = rfc3339(now)
        self.actions: list[Action] = []
        self.deleted: set[tuple[str, str]] = set()  # (resource, "ns/name") deleted this tick
        self.written: dict[tuple[str, str], int] = {}  # (resource, "ns/name") -> index of its update
        self.nodes = {_meta(n).get("name"): n for n in objects.get("nodes") or ()}
        self.objects = {res: list(objects.get(res) or ()) for res in
                        ("pods", "deployments", "replicasets", "statefulsets", "daemonsets", "persistentvolumeclaims")}
        self.pods_by_owner: dict[tuple[str, str, str], list[Obj]] = {}
        self.rs_by_owner: dict[tuple[str, str], list[Obj]] = {}
        self.names: dict[str, set[str]] = {}  # namespace -> pod names, for unique generated names
        self.pvc_names = {_key(p) for p in self.objects["persistentvolumeclaims"]}
        # Pod Security Admission refuses the pods controllers create in a namespace whose enforce level they violate.
        self.namespaces = {_meta(n).get("name", ""): n for n in objects.get("namespaces") or ()} \
            if pod_security.served(settings.profile) else {}
        self.refusals: dict[str, str | None] = {}  # "resource/ns/name" of a controller -> why its pods are refused
        self.event_names = {_key(e) for e in objects.get("events") or ()}
        for pod in self.objects["pods"]:
            meta = _meta(pod)
            self.names.setdefault(meta.get("namespace", ""), set()).add(meta.get("name", ""))
            ref = _controller_ref(pod)
            if ref:
                self.pods_by_owner.setdefault((meta.get("namespace", ""), ref.get("kind", ""), ref.get("name", "")), []).append(pod)
        self.rs_parent: dict[str, str] = {}  # "ns/rs" -> "ns/deployment"
        for rs in self.objects["replicasets"]:
            ref = _controller_ref(rs)
            if ref and ref.get("kind") == "Deployment":
                self.rs_parent[_key(rs)] = f"{_meta(rs).get('namespace', '')}/{ref.get('name', '')}"
                self.rs_by_owner.setdefault((_meta(rs).get("namespace", ""), ref.get("name", "")), []).append(rs)

    def emit(self, action: Action | None) -> None:
        """Record an action; deletions hide the object from later steps of this tick.

        A second write to the same object in one tick folds into the first, so the server sees
        one write per object and no write carries a stale spec.
        """
        if action is None:
            return
        key = (action.resource, f"{action.namespace}/{action.name}")
        if action.op == "delete":
            self.deleted.add(key)
        elif action.op in ("update", "update_status") and key in self.written:
            index = self.written[key]
            previous = self.actions[index]
            op = "update" if "update" in (previous.op, action.op) else "update_status"
            self.actions[index] = Action(op, action.resource, action.namespace, action.name, action.body)
            return
        elif action.op in ("update", "update_status"):
            self.written[key] = len(self.actions)
        self.actions.append(action)

    def view(self, resource: str, obj: Obj) -> Obj:
        """The object as this tick's writes so far left it."""
        index = self.written.get((resource, _key(obj)))
        return obj if index is None else self.actions[index].body or obj

    def alive(self, resource: str, obj: Obj) -> bool:
        """Not deleted in this tick and not terminating."""
        return (resource, _key(obj)) not in self.deleted and not _terminating(obj)

    def owned_pods(self, kind: str, owner: Obj) -> list[Obj]:
        """Live pods whose controller is ``owner``."""
        meta = _meta(owner)
        pods = self.pods_by_owner.get((meta.get("namespace", ""), kind, meta.get("name", "")), [])
        return [p for p in pods if _owned_by(p, kind, owner) and self.alive("pods", p)]

    def pod_name(self, namespace: str, prefix: str, seed: str) -> str:
        """A fresh ``<prefix><5 chars>`` name, deterministic for the seed, unique in the namespace."""
        taken = self.names.setdefault(namespace, set())
        attempt = 0
        while True:
            name = prefix + _random_suffix(f"{seed}/{self.now}/{attempt}")
            if name not in taken:
                taken.add(name)
                return name
            attempt += 1

    def refusal(self, pod: Obj, owner_key: str | None = None) -> str | None:
        """Why kube-apiserver refuses to create ``pod`` (the error message a controller gets back), or None.

        ``owner_key`` caches the verdict for every pod of one controller in this tick: ReplicaSet and DaemonSet pods
        differ from their template only in fields no Pod Security check reads (name, node, tolerations, affinity).
        """
        meta = _meta(pod)
        namespace = self.namespaces.get(meta.get("namespace", ""))
        if namespace is None:
            return None
        if owner_key is not None and owner_key in self.refusals:
            text = self.refusals[owner_key]
        else:
            text = pod_security.admit_pod(namespace, pod).forbidden
            if owner_key is not None:
                self.refusals[owner_key] = text
        return pod_security.forbidden_message("pods", meta.get("name", ""), text) if text else None

    def failed_create(self, owner: Obj, kind: str, component: str, message: str) -> None:
        """The controller's FailedCreate event on ``owner``, once: later failures of the same owner fold into it."""
        meta = _meta(owner)
        namespace = meta.get("namespace", "")
        name = f"{meta.get('name', '')}.{_hex_id(_key(owner) + '/' + kind + '/FailedCreate', 16)}"
        if f"{namespace}/{name}" in self.event_names:
            return
        self.event_names.add(f"{namespace}/{name}")
        involved = {"apiVersion": owner.get("apiVersion", "apps/v1"), "kind": kind, "name": meta.get("name", ""), "namespace": namespace,
                    "uid": meta.get("uid", "")}
        if meta.get("resourceVersion"):
            involved["resourceVersion"] = meta["resourceVersion"]
        self.emit(Action("create", "events", namespace, name, {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved, "reason": "FailedCreate", "message": message, "type": "Warning", "count": 1,
            "firstTimestamp": self.stamp, "lastTimestamp": self.stamp, "source": {"component": component}}))

    def new_pod(self, owner: Obj, kind: str, name: str, template: Obj, extra_labels: dict[str, str],
                generate_name: str | None) -> Obj:
        """A pod as a controller creates it from ``template``."""
        tmeta = template.get("metadata") or {}
        meta: Obj = {"name": name, "namespace": _meta(owner).get("namespace", "default")}
        if generate_name:
            meta["generateName"] = generate_name
        meta["labels"] = dict(tmeta.get("labels") or {}, **extra_labels)
        meta["annotations"] = dict(tmeta.get("annotations") or {}, **{CREATED_AT_ANNOTATION: repr(float(self.now))})
        meta["ownerReferences"] = [_owner_ref(owner, kind)]
        meta["creationTimestamp"] = self.stamp
        spec = _clone(template.get("spec") or {})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
               "status": {"phase": "Pending", "qosClass": _qos_class(spec)}}
        return pod


def _qos_class(spec: Obj) -> str:
    containers = list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())
    any_set, guaranteed = False, True
    for container in containers:
        res = container.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or parse_quantity(requests.get(name, limits[name])) != parse_quantity(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _pod_requests(spec: Obj) -> tuple[float, float]:
    """(cpu cores, memory bytes) the scheduler accounts for a pod: sum of containers, max with init containers."""
    def of(container: Obj) -> tuple[float, float]:
        res = container.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        cpu = requests.get("cpu", limits.get("cpu", 0))
        mem = requests.get("memory", limits.get("memory", 0))
        return parse_quantity(cpu), parse_quantity(mem)

    cpu = mem = 0.0
    for container in spec.get("containers") or ():
        ccpu, cmem = of(container)
        cpu, mem = cpu + ccpu, mem + cmem
    for container in spec.get("initContainers") or ():
        ccpu, cmem = of(container)
        cpu, mem = max(cpu, ccpu), max(mem, cmem)
    return cpu, mem


def reconcile(objects: dict[str, list[Obj]], now: float, settings: SimSettings | None = None) -> list[Action]:
    """The writes the controllers, scheduler and kubelets of a cluster would make now.

    ``objects`` maps resource names ("nodes", "pods", "deployments", "replicasets",
    "statefulsets", "daemonsets", "persistentvolumeclaims", and optionally "events" and
    "namespaces") to the stored objects; ``now`` is epoch seconds. On profiles with Pod Security
    Admission (1.23+), controllers do not create pods that violate their namespace's enforce
    level: a FailedCreate event (and a ReplicaFailure condition on ReplicaSets and Deployments)
    says why, as kube-controller-manager reports the API server's refusal. Returns ``[]`` when
    the cluster is at rest. Arguments are not mutated.
    """
    tick = _Tick(objects, now, settings or SimSettings())
    _collect_garbage(tick)
    for deploy in tick.objects["deployments"]:
        if tick.alive("deployments", deploy):
            _sync_deployment(tick, deploy)
    for rs in tick.objects["replicasets"]:
        if tick.alive("replicasets", rs):
            _sync_replicaset(tick, tick.view("replicasets", rs))
    for sts in tick.objects["statefulsets"]:
        if tick.alive("statefulsets", sts):
            _sync_statefulset(tick, sts)
    for ds in tick.objects["daemonsets"]:
        if tick.alive("daemonsets", ds):
            _sync_daemonset(tick, ds)
    _bind_claims(tick)
    _schedule_and_run(tick)
    return tick.actions


# --------------------------------------------------------------------------------------------
# Garbage collection


_OWNER_RESOURCES = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
                    "Deployment": "deployments"}


def _collect_garbage(tick: _Tick) -> None:
    present: dict[str, dict[str, Obj]] = {
        kind: {_key(o): o for o in tick.objects[res]} for kind, res in _OWNER_RESOURCES.items()}
    # ReplicaSets first, so their pods go in the same tick as the Deployment's ReplicaSets.
    for resource in ("replicasets", "pods"):
        for obj in tick.objects[resource]:
            refs = _meta(obj).get("ownerReferences") or ()
            known = [r for r in refs if r.get("kind") in _OWNER_RESOURCES]
            if not known or len(known) != len(refs):
                continue
            namespace = _meta(obj).get("namespace", "")
            if all(_owner_gone(tick, present, r, namespace) for r in known) and (resource, _key(obj)) not in tick.deleted:
                tick.emit(Action("delete", resource, namespace, _meta(obj).get("name", "")))
    # PodGC: pods bound to nodes that no longer exist.
    for pod in tick.objects["pods"]:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name and node_name not in tick.nodes and tick.alive("pods", pod):
            tick.emit(Action("delete", "pods", _meta(pod).get("namespace", ""), _meta(pod).get("name", "")))


def _owner_gone(tick: _Tick, present: dict[str, dict[str, Obj]], ref: Obj, namespace: str) -> bool:
    owner = present[ref["kind"]].get(f"{namespace}/{ref.get('name')}")
    if owner is None or (_OWNER_RESOURCES[ref["kind"]], _key(owner)) in tick.deleted:
        return True
    uid = _meta(owner).get("uid")
    return bool(ref.get("uid") and uid and ref["uid"] != uid)


# --------------------------------------------------------------------------------------------
# Deployment controller


_REVISION = "deployment.kubernetes.io/revision"


def _deploy_limits(deploy: Obj, replicas: int) -> tuple[int, int]:
    strategy = (deploy.get("spec") or {}).get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    surge = _int_or_percent(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rs_replicas(rs: Obj) -> int:
    return _replicas(rs)


def _sync_deployment(tick: _Tick, deploy: Obj) -> None:
    meta, spec = _meta(deploy), deploy.get("spec") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    template = spec.get("template") or {}
    replicas = _replicas(deploy)
    collision = int((deploy.get("status") or {}).get("collisionCount") or 0)
    tpl_hash = template_hash(template, collision)
    owned = [rs for rs in tick.rs_by_owner.get((namespace, name), []) if _owned_by(rs, "Deployment", deploy)
             and tick.alive("replicasets", rs)]
    new_rs = next((rs for rs in owned if (_meta(rs).get("labels") or {}).get("pod-template-hash") == tpl_hash), None)
    old = sorted((rs for rs in owned if rs is not new_rs), key=lambda r: _meta(r).get("creationTimestamp") or "")
    surge, max_unavailable = _deploy_limits(deploy, replicas)
    recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
    created_rs = None
    max_revision = max((int((_meta(rs).get("annotations") or {}).get(_REVISION, "0") or 0) for rs in owned), default=0)
    updates: dict[str, int] = {}  # rs name -> new spec.replicas

    if not spec.get("paused"):
        if new_rs is None:
            if recreate and (any(_rs_replicas(rs) for rs in old) or any(tick.owned_pods("ReplicaSet", rs) for rs in old)):
                for rs in old:
                    if _rs_replicas(rs):
                        updates[_meta(rs)["name"]] = 0
            else:
                total = sum(_rs_replicas(rs) for rs in old)
                start = replicas if recreate or not old else max(0, min(replicas, replicas + surge - total))
                created_rs = _new_replicaset(deploy, template, tpl_hash, start, max_revision + 1, replicas + surge)
                tick.emit(Action("create", "replicasets", namespace, created_rs["metadata"]["name"], created_rs))
        else:
            current = _rs_replicas(new_rs)
            active_old = [rs for rs in old if _rs_replicas(rs)]
            if recreate:
                for rs in active_old:
                    updates[_meta(rs)["name"]] = 0
                if not active_old and not any(tick.owned_pods("ReplicaSet", rs) for rs in old) and current != replicas:
                    updates[_meta(new_rs)["name"]] = replicas
            elif not active_old:
                if current != replicas:
                    updates[_meta(new_rs)["name"]] = replicas
            else:
                updates.update(_rolling_step(new_rs, active_old, replicas, surge, max_unavailable))
        for rs in owned:
            target = updates.get(_meta(rs)["name"], _rs_replicas(rs))
            bump = rs is new_rs and (_rs_revision(rs) < max_revision or not _rs_revision(rs))
            _update_rs(tick, rs, target, replicas, surge, is_new=rs is new_rs, revision=max_revision + 1 if bump else None)

    if created_rs is not None:
        revision = max_revision + 1
    elif new_rs is not None:
        revision = _rs_revision(new_rs) if _rs_revision(new_rs) >= max_revision and _rs_revision(new_rs) else max_revision + 1
    else:
        revision = max_revision
    _deployment_status(tick, deploy, owned, (new_rs, created_rs), updates, replicas, max_unavailable, revision)


def _rs_revision(rs: Obj) -> int:
    return int((_meta(rs).get("annotations") or {}).get(_REVISION, "0") or 0)


def _rolling_step(new_rs: Obj, old: list[Obj], replicas: int, surge: int, max_unavailable: int) -> dict[str, int]:
    """One step of the rolling update: scale the new ReplicaSet up, or else old ones down."""
    everything = [new_rs] + old
    total = sum(_rs_replicas(rs) for rs in everything)
    current = _rs_replicas(new_rs)
    if current < replicas and total < replicas + surge:
        return {_meta(new_rs)["name"]: min(replicas, current + replicas + surge - total)}
    if current > replicas:
        return {_meta(new_rs)["name"]: replicas}
    min_available = replicas - max_unavailable
    new_status = new_rs.get("status") or {}
    new_unavailable = current - int(new_status.get("availableReplicas") or 0)
    max_scaled_down = total - min_available - new_unavailable
    result: dict[str, int] = {}
    if max_scaled_down <= 0:
        return result
    # Unhealthy old pods go first: removing them costs no availability.
    cleaned = 0
    sizes = {_meta(rs)["name"]: _rs_replicas(rs) for rs in old}
    for rs in old:
        status = rs.get("status") or {}
        unhealthy = sizes[_meta(rs)["name"]] - int(status.get("availableReplicas") or 0)
        if unhealthy <= 0 or cleaned >= max_scaled_down:
            continue
        step = min(max_scaled_down - cleaned, unhealthy)
        sizes[_meta(rs)["name"]] -= step
        cleaned += step
    available = sum(int((rs.get("status") or {}).get("availableReplicas") or 0) for rs in everything)
    budget = available - min_available
    for rs in old:
        if budget <= 0:
            break
        step = min(sizes[_meta(rs)["name"]], budget)
        sizes[_meta(rs)["name"]] -= step
        budget -= step
    for rs in old:
        if sizes[_meta(rs)["name"]] != _rs_replicas(rs):
            result[_meta(rs)["name"]] = sizes[_meta(rs)["name"]]
    return result


# ReplicaSets were never served by apps/v1beta1: its Deployments got apps/v1beta2 ones.
_RS_API_VERSION = {"extensions/v1beta1": "extensions/v1beta1", "apps/v1beta1": "apps/v1beta2",
                   "apps/v1beta2": "apps/v1beta2", "apps/v1": "apps/v1"}


def _new_replicaset(deploy: Obj, template: Obj, tpl_hash: str, replicas: int, revision: int, max_replicas: int) -> Obj:
    meta = _meta(deploy)
    selector = _clone(_selector(deploy))
    selector.setdefault("matchLabels", {})["pod-template-hash"] = tpl_hash
    rs_template = _clone(template)
    rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = tpl_hash
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in (_REVISION, "kubectl.kubernetes.io/last-applied-configuration")}
    annotations.update({"deployment.kubernetes.io/desired-replicas": str(_replicas(deploy)),
                        "deployment.kubernetes.io/max-replicas": str(max_replicas),
                        _REVISION: str(revision)})
    spec: Obj = {"replicas": replicas, "selector": selector, "template": rs_template}
    min_ready = (deploy.get("spec") or {}).get("minReadySeconds")
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {
        "apiVersion": _RS_API_VERSION.get(deploy.get("apiVersion", ""), "apps/v1"),
        "kind": "ReplicaSet",
        "metadata": {"name": f"{meta.get('name')}-{tpl_hash}", "namespace": meta.get("namespace", "default"),
                     "labels": dict(rs_template["metadata"]["labels"]), "annotations": annotations,
                     "ownerReferences": [_owner_ref(deploy, "Deployment")], "generation": 1},
        "spec": spec,
    }


def _update_rs(tick: _Tick, rs: Obj, target: int, desired: int, surge: int, is_new: bool, revision: int | None) -> None:
    annotations = _meta(rs).get("annotations") or {}
    wanted = dict(annotations)
    if is_new or target:
        wanted["deployment.kubernetes.io/desired-replicas"] = str(desired)
        wanted["deployment.kubernetes.io/max-replicas"] = str(desired + surge)
    if revision is not None:
        wanted[_REVISION] = str(revision)
    if target == _rs_replicas(rs) and wanted == annotations:
        return
    body = _clone(rs)
    body["metadata"]["annotations"] = wanted
    if target != _rs_replicas(rs):
        body["spec"]["replicas"] = target
        body["metadata"]["generation"] = _generation(rs) + 1
    tick.emit(Action("update", "replicasets", _meta(rs).get("namespace", ""), _meta(rs).get("name", ""), body))


def _set_condition(conditions: list[Obj], new: Obj, stamp: str) -> list[Obj]:
    """SetDeploymentCondition: unchanged when status and reason match, else moved to the end."""
    current = next((c for c in conditions if c.get("type") == new["type"]), None)
    if current and current.get("status") == new["status"] and current.get("reason") == new["reason"]:
        return conditions
    new = dict(new, lastUpdateTime=stamp, lastTransitionTime=stamp)
    if current and current.get("status") == new["status"]:
        new["lastTransitionTime"] = current.get("lastTransitionTime", stamp)
    ordered = {"type": new["type"], "status": new["status"], "lastUpdateTime": new["lastUpdateTime"],
               "lastTransitionTime": new["lastTransitionTime"], "reason": new["reason"], "message": new["message"]}
    return [c for c in conditions if c.get("type") != new["type"]] + [ordered]


def _deployment_status(tick: _Tick, deploy: Obj, owned: list[Obj], new_and_created: tuple[Obj | None, Obj | None],
                       updates: dict[str, int], replicas: int, max_unavailable: int,
                       revision: int) -> None:
    new_rs, created_rs = new_and_created
    old_status = deploy.get("status") or {}
    statuses = [rs.get("status") or {} for rs in owned]
    total = sum(int(s.get("replicas") or 0) for s in statuses)
    updated = int((new_rs or {}).get("status", {}).get("replicas") or 0) if new_rs else 0
    ready = sum(int(s.get("readyReplicas") or 0) for s in statuses)
    available = sum(int(s.get("availableReplicas") or 0) for s in statuses)
    status: Obj = {"observedGeneration": _generation(deploy)}
    _put(status, "replicas", total)
    _put(status, "updatedReplicas", updated)
    _put(status, "readyReplicas", ready)
    _put(status, "availableReplicas", available)
    _put(status, "unavailableReplicas", max(0, replicas - available))
    conditions = list(old_status.get("conditions") or [])
    if available >= replicas - max_unavailable:
        avail = {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability."}
    else:
        avail = {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability."}
    conditions = _set_condition(conditions, avail, tick.stamp)
    deadline = _progress_deadline(tick, deploy)
    spec = deploy.get("spec") or {}
    rs_name = _meta(created_rs or new_rs or {}).get("name", "")
    if deadline is not None:
        progressing = None
        stable = not updates and created_rs is None
        if spec.get("paused"):
            progressing = {"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
                           "message": "Deployment is paused"}
        elif created_rs is not None:
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated",
                           "message": f'Created new replica set "{rs_name}"'}
        elif stable and new_rs is not None and updated == replicas and total == replicas and available >= replicas:
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                           "message": f'ReplicaSet "{rs_name}" has successfully progressed.'}
        elif new_rs is not None and (updates or any(old_status.get(k, 0) != status.get(k, 0)
                                                    for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"))):
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": f'ReplicaSet "{rs_name}" is progressing.'}
            current = next((c for c in conditions if c.get("type") == "Progressing"), None)
            if current and current.get("reason") == "ReplicaSetUpdated" and current.get("status") == "True":
                # Progress refreshes lastUpdateTime, which is what the deadline is measured from.
                conditions = [dict(c, lastUpdateTime=tick.stamp) if c is current else c for c in conditions]
        else:
            current = next((c for c in conditions if c.get("type") == "Progressing"), None)
            if new_rs is not None and current is None:
                progressing = {"type": "Progressing", "status": "True", "reason": "FoundNewReplicaSet",
                               "message": f'Found new replica set "{rs_name}"'}
            elif current and current.get("reason") != "NewReplicaSetAvailable" and current.get("status") == "True":
                since = parse_time(current.get("lastUpdateTime"))
                if since is not None and since + deadline < tick.now:
                    progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                   "message": f'ReplicaSet "{rs_name}" has timed out progressing.'}
        if progressing:
            conditions = _set_condition(conditions, progressing, tick.stamp)
    conditions = _replica_failure(conditions, new_rs, owned)
    if conditions:
        status["conditions"] = conditions
    if old_status.get("collisionCount") is not None:
        status["collisionCount"] = old_status["collisionCount"]
    annotations = _meta(deploy).get("annotations") or {}
    if revision and annotations.get(_REVISION) != str(revision):
        body = _clone(deploy)
        body["metadata"].setdefault("annotations", {})[_REVISION] = str(revision)
        body["status"] = status
        tick.emit(Action("update", "deployments", _meta(deploy).get("namespace", ""), _meta(deploy).get("name", ""), body))
        return
    tick.emit(_status_action("deployments", deploy, status))


def _replica_failure(conditions: list[Obj], new_rs: Obj | None, owned: list[Obj]) -> list[Obj]:
    """getReplicaFailures: the new ReplicaSet's ReplicaFailure condition (else an old one's) as the Deployment's, or none."""
    def failures(sets: list[Obj]) -> list[Obj]:
        return [c for rs in sets for c in (rs.get("status") or {}).get("conditions") or () if c.get("type") == "ReplicaFailure"]

    found = failures([new_rs] if new_rs is not None else []) or failures(owned)
    current = next((c for c in conditions if c.get("type") == "ReplicaFailure"), None)
    if not found:
        return [c for c in conditions if c is not current]
    source = found[0]
    if current is not None and current.get("status") == source.get("status") and current.get("reason") == source.get("reason"):
        return conditions
    stamp = source.get("lastTransitionTime")
    new = {"type": "ReplicaFailure", "status": source.get("status", "True"), "lastUpdateTime": stamp,
           "lastTransitionTime": current.get("lastTransitionTime", stamp) if current and current.get("status") == source.get("status") else stamp,
           "reason": source.get("reason", ""), "message": source.get("message", "")}
    return [c for c in conditions if c is not current] + [new]


def _progress_deadline(tick: _Tick, deploy: Obj) -> int | None:
    value = (deploy.get("spec") or {}).get("progressDeadlineSeconds")
    if value is None:
        # extensions/v1beta1 did not default it, and without a deadline there is no Progressing condition.
        return None if deploy.get("apiVersion") == "extensions/v1beta1" else tick.settings.progress_deadline_default
    return None if int(value) >= 2 ** 31 - 1 else int(value)


# --------------------------------------------------------------------------------------------
# ReplicaSet controller


def _deletion_rank(pod: Obj) -> tuple[int, int, int, str]:
    """Pods to delete first sort first: unscheduled, pending, not ready, newest (ActivePodsWithRanks)."""
    status = pod.get("status") or {}
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", ""), 0)
    ready = 1 if _pod_ready(pod) else 0
    created = _meta(pod).get("creationTimestamp") or ""
    return scheduled, phase, ready, "".join(chr(0x10FFFF - ord(c)) for c in created)


def _sync_replicaset(tick: _Tick, rs: Obj) -> None:
    meta, spec = _meta(rs), rs.get("spec") or {}
    pods = tick.owned_pods("ReplicaSet", rs)
    want = _replicas(rs)
    diff = want - len(pods)
    template = spec.get("template") or {}
    refused = None  # manageReplicas' error: the first creation the API server refused
    if diff > 0:
        prefix = f"{meta.get('name')}-"
        for index in range(min(diff, _RS_BURST)):
            name = tick.pod_name(meta.get("namespace", ""), prefix, f"{_key(rs)}/{index}")
            pod = tick.new_pod(rs, "ReplicaSet", name, template, {}, prefix)
            refused = tick.refusal(pod, "replicasets/" + _key(rs))
            if refused:
                # slowStartBatch stops at the first error; the controller records it as an event and a condition.
                tick.failed_create(rs, "ReplicaSet", "replicaset-controller", f"Error creating: {refused}")
                break
            tick.emit(Action("create", "pods", meta.get("namespace", ""), name, pod))
    elif diff < 0:
        for pod in sorted(pods, key=_deletion_rank)[:min(-diff, _RS_BURST)]:
            tick.emit(Action("delete", "pods", meta.get("namespace", ""), _meta(pod)["name"]))
    min_ready = int(spec.get("minReadySeconds") or 0)
    tpl_labels = (template.get("metadata") or {}).get("labels") or {}
    status: Obj = {"replicas": len(pods)}
    _put(status, "fullyLabeledReplicas",
         sum(1 for p in pods if all((_meta(p).get("labels") or {}).get(k) == v for k, v in tpl_labels.items())))
    _put(status, "readyReplicas", sum(1 for p in pods if _pod_ready(p)))
    _put(status, "availableReplicas", sum(1 for p in pods if _pod_available(p, min_ready, tick.now)))
    status["observedGeneration"] = _generation(rs)
    conditions = list((rs.get("status") or {}).get("conditions") or ())
    failure = next((c for c in conditions if c.get("type") == "ReplicaFailure"), None)
    if refused and failure is None:
        conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": tick.stamp, "reason": "FailedCreate",
                           "message": refused})
    elif not refused and failure is not None:
        conditions.remove(failure)
    if conditions:
        status["conditions"] = conditions
    tick.emit(_status_action("replicasets", rs, status))


# --------------------------------------------------------------------------------------------
# StatefulSet controller


def _ordinal(sts_name: str, pod: Obj) -> int | None:
    name = _meta(pod).get("name", "")
    prefix = sts_name + "-"
    if name.startswith(prefix) and name[len(prefix):].isdigit():
        return int(name[len(prefix):])
    return None


def _sync_statefulset(tick: _Tick, sts: Obj) -> None:
    meta, spec = _meta(sts), sts.get("spec") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    replicas = _replicas(sts)
    template = spec.get("template") or {}
    update_revision = f"{name}-{template_hash(template, int((sts.get('status') or {}).get('collisionCount') or 0))}"
    old_status = sts.get("status") or {}
    current_revision = old_status.get("currentRevision") or update_revision
    parallel = spec.get("podManagementPolicy") == "Parallel"
    strategy = spec.get("updateStrategy") or {}
    on_delete = strategy.get("type") == "OnDelete"
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    by_ordinal: dict[int, Obj] = {}
    for pod in tick.owned_pods("StatefulSet", sts):
        ordinal = _ordinal(name, pod)
        if ordinal is not None:
            by_ordinal[ordinal] = pod

    def revision(pod: Obj) -> str:
        return (_meta(pod).get("labels") or {}).get("controller-revision-hash", "")

    blocked = False
    for ordinal in range(replicas):
        pod = by_ordinal.get(ordinal)
        if pod is None:
            _create_sts_pod(tick, sts, ordinal, update_revision)
            blocked = True
            if not parallel:
                break
        elif not _pod_ready(pod):
            blocked = True
            if not parallel:
                break
    condemned = sorted((o for o in by_ordinal if o >= replicas), reverse=True)
    if condemned and (parallel or not blocked):
        for ordinal in condemned if parallel else condemned[:1]:
            tick.emit(Action("delete", "pods", namespace, _meta(by_ordinal[ordinal])["name"]))
        blocked = True
    if not blocked and not on_delete:
        for ordinal in range(replicas - 1, partition - 1, -1):
            pod = by_ordinal.get(ordinal)
            if pod is not None and revision(pod) != update_revision:
                tick.emit(Action("delete", "pods", namespace, _meta(pod)["name"]))
                break
    pods = [p for p in by_ordinal.values() if tick.alive("pods", p)]
    min_ready = int(spec.get("minReadySeconds") or 0)
    status: Obj = {"observedGeneration": _generation(sts), "replicas": len(pods)}
    ready = sum(1 for p in pods if _pod_ready(p))
    updated = sum(1 for p in pods if revision(p) == update_revision)
    current = sum(1 for p in pods if revision(p) == current_revision)
    _put(status, "readyReplicas", ready)
    if not on_delete and updated == len(pods) and ready == len(pods) and len(pods) == replicas:
        current_revision, current = update_revision, updated
    _put(status, "currentReplicas", current)
    _put(status, "updatedReplicas", updated)
    status["currentRevision"] = current_revision
    status["updateRevision"] = update_revision
    status["collisionCount"] = int(old_status.get("collisionCount") or 0)
    if tick.version >= (1, 22):
        status["availableReplicas"] = sum(1 for p in pods if _pod_available(p, min_ready, tick.now))
    tick.emit(_status_action("statefulsets", sts, status))


def _create_sts_pod(tick: _Tick, sts: Obj, ordinal: int, revision: str) -> None:
    meta, spec = _meta(sts), sts.get("spec") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    pod_name = f"{name}-{ordinal}"
    labels = {"controller-revision-hash": revision}
    if tick.version >= (1, 9):
        labels["statefulset.kubernetes.io/pod-name"] = pod_name
    if tick.version >= (1, 28):
        labels["apps.kubernetes.io/pod-index"] = str(ordinal)
    pod = tick.new_pod(sts, "StatefulSet", pod_name, spec.get("template") or {}, labels, None)
    pod["spec"]["hostname"] = pod_name
    if spec.get("serviceName"):
        pod["spec"]["subdomain"] = spec["serviceName"]
    claims = spec.get("volumeClaimTemplates") or []
    if claims:
        volumes = [v for v in pod["spec"].get("volumes") or [] if v.get("name") not in
                   {_meta(c).get("name") for c in claims}]
        for claim in claims:
            claim_name = f"{_meta(claim).get('name')}-{name}-{ordinal}"
            volumes.append({"name": _meta(claim).get("name"), "persistentVolumeClaim": {"claimName": claim_name}})
            if f"{namespace}/{claim_name}" not in tick.pvc_names:
                tick.pvc_names.add(f"{namespace}/{claim_name}")
                tick.emit(Action("create", "persistentvolumeclaims", namespace, claim_name,
                                 _new_claim(tick, sts, claim, claim_name)))
        pod["spec"]["volumes"] = volumes
    tick.names.setdefault(namespace, set()).add(pod_name)
    # The claims come first, as createPersistentVolumeClaims runs before the pod's create; this pod is judged as
    # it is (claims may have replaced template volumes).
    refused = tick.refusal(pod)
    if refused:
        tick.failed_create(sts, "StatefulSet", "statefulset-controller", f"create Pod {pod_name} in StatefulSet {name} failed error: {refused}")
        return
    tick.emit(Action("create", "pods", namespace, pod_name, pod))


def _new_claim(tick: _Tick, sts: Obj, claim: Obj, claim_name: str) -> Obj:
    cmeta = _meta(claim)
    labels = dict(cmeta.get("labels") or {}, **(_selector(sts).get("matchLabels") or {}))
    body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim_name, "namespace": _meta(sts).get("namespace", "default"), "labels": labels,
                         "annotations": dict(cmeta.get("annotations") or {}), "creationTimestamp": tick.stamp},
            "spec": _clone(claim.get("spec") or {}), "status": {"phase": "Pending"}}
    return _bound_claim(tick, body)


def _bound_claim(tick: _Tick, claim: Obj) -> Obj:
    """A claim as dynamic provisioning leaves it: a volume named after it, Bound, protected."""
    body = _clone(claim)
    meta, spec = body["metadata"], body.setdefault("spec", {})
    spec.setdefault("storageClassName", "standard-rwo" if tick.version >= (1, 24) else "standard")
    if tick.version >= (1, 13):
        spec.setdefault("volumeMode", "Filesystem")
    spec.setdefault("volumeName", "pvc-" + _uuid_like(_key(claim)))
    annotations = meta.setdefault("annotations", {})
    provisioner = "pd.csi.storage.gke.io" if tick.version >= (1, 18) else "kubernetes.io/gce-pd"
    annotations.setdefault("pv.kubernetes.io/bind-completed", "yes")
    annotations.setdefault("pv.kubernetes.io/bound-by-controller", "yes")
    annotations.setdefault("volume.beta.kubernetes.io/storage-provisioner", provisioner)
    if tick.version >= (1, 23):
        annotations.setdefault("volume.kubernetes.io/storage-provisioner", provisioner)
    if tick.version >= (1, 11) and "kubernetes.io/pvc-protection" not in (meta.get("finalizers") or []):
        meta["finalizers"] = list(meta.get("finalizers") or []) + ["kubernetes.io/pvc-protection"]
    requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    body["status"] = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                      "capacity": {"storage": requested}}
    return body


def _bind_claims(tick: _Tick) -> None:
    for claim in tick.objects["persistentvolumeclaims"]:
        if not tick.alive("persistentvolumeclaims", claim):
            continue
        if (claim.get("status") or {}).get("phase") == "Bound":
            continue
        body = _bound_claim(tick, claim)
        op = "update_status" if {k: v for k, v in body.items() if k != "status"} == \
            {k: v for k, v in claim.items() if k != "status"} else "update"
        tick.emit(Action(op, "persistentvolumeclaims", _meta(claim).get("namespace", ""), _meta(claim).get("name", ""), body))


# --------------------------------------------------------------------------------------------
# DaemonSet controller


def _daemon_tolerations(spec: Obj, version: tuple[int, int]) -> list[Obj]:
    """The tolerations the DaemonSet controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations)."""
    tolerations = list(spec.get("tolerations") or [])
    if version < (1, 9):
        added = [("node.alpha.kubernetes.io/notReady", "NoExecute"), ("node.alpha.kubernetes.io/unreachable", "NoExecute"),
                 ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule")]
    else:
        added = [("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                 ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule")]
        if version >= (1, 12):
            added.append(("node.kubernetes.io/unschedulable", "NoSchedule"))
        if version >= (1, 14):
            added.append(("node.kubernetes.io/pid-pressure", "NoSchedule"))
        if spec.get("hostNetwork") and version >= (1, 12):
            added.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    for key, effect in added:
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return tolerations


def _sync_daemonset(tick: _Tick, ds: Obj) -> None:
    meta, spec = _meta(ds), ds.get("spec") or {}
    namespace = meta.get("namespace", "")
    template = spec.get("template") or {}
    pod_spec = template.get("spec") or {}
    tolerations = _daemon_tolerations(pod_spec, tick.version)
    tpl_hash = template_hash(template, int((ds.get("status") or {}).get("collisionCount") or 0))
    strategy = spec.get("updateStrategy") or {}
    # extensions/v1beta1 defaulted DaemonSets to OnDelete.
    default_strategy = "OnDelete" if ds.get("apiVersion") == "extensions/v1beta1" else "RollingUpdate"
    on_delete = (strategy.get("type") or default_strategy) == "OnDelete"
    min_ready = int(spec.get("minReadySeconds") or 0)
    by_node: dict[str, list[Obj]] = {}
    for pod in tick.owned_pods("DaemonSet", ds):
        by_node.setdefault((pod.get("spec") or {}).get("nodeName", ""), []).append(pod)

    def current_hash(pod: Obj) -> bool:
        labels = _meta(pod).get("labels") or {}
        if "controller-revision-hash" in labels:
            return labels["controller-revision-hash"] == tpl_hash
        return labels.get("pod-template-generation") == str(_generation(ds))

    desired = scheduled = ready = available = updated = misscheduled = 0
    creations = deletions = 0
    unavailable_nodes = 0
    old_pods: list[tuple[bool, Obj]] = []
    for node_name, node in tick.nodes.items():
        taints = (node.get("spec") or {}).get("taints") or ()
        fits = node_matches_pod(pod_spec, node)
        should_run = fits and (not taints or _untolerated(taints, tolerations, ("NoSchedule", "NoExecute")) is None)
        keep = fits and (not taints or _untolerated(taints, tolerations, ("NoExecute",)) is None)
        pods = by_node.pop(node_name, [])
        if should_run:
            desired += 1
        if pods:
            if should_run:
                scheduled += 1
            else:
                misscheduled += 1
            if not keep:
                for pod in pods:
                    tick.emit(Action("delete", "pods", namespace, _meta(pod)["name"]))
                continue
            if len(pods) > 1:
                # Keep the oldest daemon pod on a node, as the controller does.
                pods.sort(key=lambda p: _meta(p).get("creationTimestamp") or "")
                for extra in pods[1:]:
                    tick.emit(Action("delete", "pods", namespace, _meta(extra)["name"]))
            pod = pods[0]
            is_ready = _pod_ready(pod)
            is_available = _pod_available(pod, min_ready, tick.now)
            if should_run:
                ready += is_ready
                available += is_available
                if current_hash(pod):
                    updated += 1
                else:
                    old_pods.append((is_available, pod))
                if not is_available:
                    unavailable_nodes += 1
        elif should_run:
            unavailable_nodes += 1
            if creations < _DS_BURST:
                creations += 1
                if not _create_daemon_pod(tick, ds, node_name, template, tolerations, tpl_hash):
                    creations = _DS_BURST  # slowStartBatch stops at the first refused creation
    if old_pods and not on_delete:
        max_unavailable = _int_or_percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), desired, True)
        max_unavailable = max(max_unavailable, 1) if desired else 0
        budget = max_unavailable - unavailable_nodes
        for is_available, pod in sorted(old_pods, key=lambda item: item[0]):
            if not is_available:
                tick.emit(Action("delete", "pods", namespace, _meta(pod)["name"]))
            elif budget > 0 and deletions < _DS_BURST:
                budget -= 1
                deletions += 1
                tick.emit(Action("delete", "pods", namespace, _meta(pod)["name"]))
    status: Obj = {"currentNumberScheduled": scheduled, "numberMisscheduled": misscheduled,
                   "desiredNumberScheduled": desired, "numberReady": ready}
    status["observedGeneration"] = _generation(ds)
    _put(status, "updatedNumberScheduled", updated)
    _put(status, "numberAvailable", available)
    _put(status, "numberUnavailable", max(0, desired - available))
    old_status = ds.get("status") or {}
    if old_status.get("collisionCount") is not None:
        status["collisionCount"] = old_status["collisionCount"]
    if old_status.get("conditions"):
        status["conditions"] = old_status["conditions"]
    tick.emit(_status_action("daemonsets", ds, status))


def _create_daemon_pod(tick: _Tick, ds: Obj, node_name: str, template: Obj, tolerations: list[Obj], tpl_hash: str) -> bool:
    """Create the daemon pod for ``node_name``; False when the API server refused it (a FailedCreate event tells why)."""
    meta = _meta(ds)
    namespace = meta.get("namespace", "")
    prefix = f"{meta.get('name')}-"
    name = tick.pod_name(namespace, prefix, f"{_key(ds)}/{node_name}")
    labels = {"controller-revision-hash": tpl_hash, "pod-template-generation": str(_generation(ds))}
    pod = tick.new_pod(ds, "DaemonSet", name, template, labels, prefix)
    pod["spec"]["tolerations"] = _clone(tolerations)
    pod["spec"]["nodeName"] = node_name
    if tick.version >= (1, 12):
        # ScheduleDaemonSetPods: the controller pins the pod with node affinity on metadata.name.
        affinity = pod["spec"].setdefault("affinity", {})
        affinity.setdefault("nodeAffinity", {})["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    refused = tick.refusal(pod, "daemonsets/" + _key(ds))
    if refused:
        tick.failed_create(ds, "DaemonSet", "daemonset-controller", f"Error creating: {refused}")
        return False
    tick.emit(Action("create", "pods", namespace, name, pod))
    return True


# --------------------------------------------------------------------------------------------
# Scheduler and kubelet


class _NodeInfo:
    """What the scheduler needs of a node, with requests of the pods already bound to it."""

    __slots__ = ("node", "name", "ready", "unschedulable", "taints", "cpu", "memory", "pods", "used_cpu",
                 "used_memory", "used_pods", "ip", "cidr", "used_ips")

    def __init__(self, node: Obj):
        status, spec = node.get("status") or {}, node.get("spec") or {}
        allocatable = status.get("allocatable") or {}
        self.node = node
        self.name = _meta(node).get("name", "")
        self.ready = _node_ready(node)
        self.unschedulable = bool(spec.get("unschedulable"))
        self.taints = spec.get("taints") or []
        self.cpu = parse_quantity(allocatable.get("cpu", 0))
        self.memory = parse_quantity(allocatable.get("memory", 0))
        self.pods = parse_quantity(allocatable.get("pods", 110))
        self.used_cpu = self.used_memory = 0.0
        self.used_pods = 0
        self.ip = next((a.get("address") for a in status.get("addresses") or () if a.get("type") == "InternalIP"), "")
        self.cidr = spec.get("podCIDR") or ""
        self.used_ips: set[str] | None = None


def _schedule_and_run(tick: _Tick) -> None:
    infos: dict[str, _NodeInfo] = {}
    ready: dict[str, bool] = {name: _node_ready(node) for name, node in tick.nodes.items()}
    pending: list[Obj] = []
    bound: list[Obj] = []
    ips: dict[str, list[str]] = {}  # node -> pod IPs in use, for handing out new ones
    for pod in tick.objects["pods"]:
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed") or not tick.alive("pods", pod):
            continue
        node_name = spec.get("nodeName")
        if not node_name:
            pending.append(pod)
        elif node_name in ready:
            bound.append(pod)
            if status.get("podIP"):
                ips.setdefault(node_name, []).append(status["podIP"])

    def info_of(name: str) -> _NodeInfo:
        info = infos.get(name)
        if info is None:
            info = infos[name] = _NodeInfo(tick.nodes[name])
            info.used_ips = set(ips.get(name, ()))
        return info

    if pending:
        # Only a scheduling pass needs every node's free resources.
        order = [info_of(name) for name in tick.nodes]
        bodies = [p["spec"] for p in bound] + [a.body["spec"] for a in tick.actions  # daemon pods made this tick
                                               if a.op == "create" and a.resource == "pods" and a.body]
        for spec in bodies:
            info = infos.get(spec.get("nodeName", ""))
            if info is not None:
                cpu, mem = _pod_requests(spec)
                info.used_cpu += cpu
                info.used_memory += mem
                info.used_pods += 1
        for pod in sorted(pending, key=lambda p: _meta(p).get("creationTimestamp") or ""):
            _schedule(tick, pod, order)
    for pod in bound:
        _kubelet(tick, pod, ready[pod["spec"]["nodeName"]], info_of)


def _filter_node(tick: _Tick, info: _NodeInfo, spec: Obj, cpu: float, mem: float) -> list[str]:
    """Why a pod does not fit ``info``, in the words of this profile's scheduler; [] when it fits."""
    old = tick.version < (1, 9)
    mid = tick.version < (1, 17)
    stages = []
    if old and not info.ready:
        return ["NodeNotReady"]
    if info.unschedulable:
        unschedulable_tolerated = tolerates(spec.get("tolerations") or (), {"key": "node.kubernetes.io/unschedulable",
                                                                            "effect": "NoSchedule"})
        if not unschedulable_tolerated:
            return ["NodeUnschedulable"] if old else ["node(s) were unschedulable"]
    taint = _untolerated(info.taints, spec.get("tolerations") or [], ("NoSchedule", "NoExecute")) if info.taints else None
    taint_reason = None
    if taint is not None:
        if old:
            taint_reason = "PodToleratesNodeTaints"
        elif mid:
            taint_reason = "node(s) had taints that the pod didn't tolerate"
        else:
            taint_reason = f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    if taint_reason and not mid:
        return [taint_reason]
    if not node_matches_pod(spec, info.node):
        stages.append("MatchNodeSelector" if old else "node(s) didn't match node selector" if mid
                      else "node(s) didn't match Pod's node affinity/selector")
        return stages
    if info.used_pods + 1 > info.pods:
        stages.append("Insufficient pods" if old else "Too many pods")
    if cpu and info.used_cpu + cpu > info.cpu + 1e-9:
        stages.append("Insufficient cpu")
    if mem and info.used_memory + mem > info.memory:
        stages.append("Insufficient memory")
    if stages:
        return stages
    return [taint_reason] if taint_reason else []


def _schedule(tick: _Tick, pod: Obj, order: list[_NodeInfo]) -> None:
    spec = pod.get("spec") or {}
    if spec.get("schedulerName") not in (None, "", "default-scheduler"):
        return
    cpu, mem = _pod_requests(spec)
    best: _NodeInfo | None = None
    best_score = -1.0
    reasons: dict[str, int] = {}
    failures: dict[str, bool] = {}  # reason -> whether preemption could help
    feasible = 0
    for info in order:
        why = _filter_node(tick, info, spec, cpu, mem)
        if why:
            for reason in why:
                reasons[reason] = reasons.get(reason, 0) + 1
            failures[info.name] = why[0].startswith(("Insufficient", "Too many"))
            continue
        # LeastAllocated: spread pods over the emptiest nodes.
        score = (1 - (info.used_cpu + cpu) / info.cpu if info.cpu else 0) + \
            (1 - (info.used_memory + mem) / info.memory if info.memory else 0)
        if score > best_score:
            best, best_score = info, score
        feasible += 1
        if feasible >= 100:  # percentageOfNodesToScore: large clusters score a sample
            break
    meta = _meta(pod)
    if best is not None:
        best.used_cpu += cpu
        best.used_memory += mem
        best.used_pods += 1
        body = _clone(pod)
        body["spec"]["nodeName"] = best.name
        status = body.setdefault("status", {})
        status["phase"] = "Pending"
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": tick.stamp}]
        tick.emit(Action("update", "pods", meta.get("namespace", ""), meta.get("name", ""), body))
        return
    message = _fit_error(tick, len(order), reasons, failures)
    status = pod.get("status") or {}
    current = next((c for c in status.get("conditions") or () if c.get("type") == "PodScheduled"), None)
    if current and current.get("status") == "False" and current.get("message") == message:
        return
    new_status = _clone(status)
    new_status["phase"] = "Pending"
    cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": tick.stamp,
            "reason": "Unschedulable", "message": message}
    if current and current.get("status") == "False":
        cond["lastTransitionTime"] = current.get("lastTransitionTime", tick.stamp)
    new_status["conditions"] = [c for c in new_status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [cond]
    tick.emit(_status_action("pods", pod, new_status))


def _fit_error(tick: _Tick, total: int, reasons: dict[str, int], failures: dict[str, bool]) -> str:
    """The scheduler's FitError text, in the format of the profile's release."""
    if tick.version < (1, 9):
        parts = ", ".join(f"{reason} ({count})" for reason, count in sorted(reasons.items()))
        return f"No nodes are available that match all of the predicates: {parts}."
    if total == 0:
        return "no nodes available to schedule pods"
    parts = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    message = f"0/{total} nodes are available: {parts}."
    if tick.version >= (1, 24):
        helpful = sum(1 for could in failures.values() if could)
        hopeless = len(failures) - helpful
        pre = []
        if helpful:
            pre.append(f"{helpful} No preemption victims found for incoming pod")
        if hopeless:
            pre.append(f"{hopeless} Preemption is not helpful for scheduling")
        message += f" preemption: 0/{total} nodes are available: {', '.join(sorted(pre))}."
    return message


def _owner_keys(tick: _Tick, pod: Obj) -> list[str]:
    """``namespace/name`` of the pod and of its controllers up the chain (ReplicaSet -> Deployment)."""
    namespace = _meta(pod).get("namespace", "")
    keys = [_key(pod)]
    ref = _controller_ref(pod)
    if ref:
        keys.append(f"{namespace}/{ref.get('name')}")
        parent = tick.rs_parent.get(keys[-1]) if ref.get("kind") == "ReplicaSet" else None
        if parent:
            keys.append(parent)
    return keys


def _created_at(pod: Obj) -> float | None:
    meta = _meta(pod)
    raw = (meta.get("annotations") or {}).get(CREATED_AT_ANNOTATION)
    if raw is not None:
        try:
            return float(raw)
        except ValueError:
            pass
    return parse_time(meta.get("creationTimestamp"))


def _normalize_image(image: str) -> str:
    """How the container runtime reports an image: with registry, library/ and tag."""
    name = image or ""
    first, _unused, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + (("library/" + name) if not rest else name)
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in name:
        name += ":latest"
    return name


def _pod_ip(info: _NodeInfo, pod: Obj, host_network: bool) -> str:
    if host_network or not info.cidr:
        return info.ip
    if info.used_ips is None:
        info.used_ips = set()
    base = info.cidr.split("/", 1)[0].rsplit(".", 1)[0]
    start = 2 + int(_hex_id(_key(pod), 4), 16) % 250
    for offset in range(253):
        candidate = f"{base}.{2 + (start - 2 + offset) % 252}"
        if candidate not in info.used_ips:
            info.used_ips.add(candidate)
            return candidate
    return f"{base}.254"


def _kubelet(tick: _Tick, pod: Obj, node_ready: bool, info_of: Any) -> None:
    status = pod.get("status") or {}
    running = status.get("phase") == "Running" and bool(status.get("containerStatuses"))
    if running and node_ready and not tick.settings.never_ready and all(s.get("ready") for s in status["containerStatuses"]) \
            and _pod_ready(pod):
        return  # the common case on a big cluster: nothing to do, decided without lookups
    if node_ready and tick.settings.pod_check is not None and _failed_start(tick, pod, info_of):
        return
    if not node_ready:
        has_scheduled = any(c.get("type") == "PodScheduled" and c.get("status") == "True" for c in status.get("conditions") or ())
        # No kubelet: nothing but the scheduler's binding is recorded (1.8 bound daemon pods directly).
        if not has_scheduled and tick.version >= (1, 9) and not running:
            tick.emit(_status_action("pods", pod, _scheduled_status(tick, status)))
        elif running and _pod_ready(pod):
            new = _clone(status)
            for cond in new.get("conditions") or ():
                if cond.get("type") == "Ready":
                    cond.update(status="False", lastTransitionTime=tick.stamp)
            tick.emit(_status_action("pods", pod, new))
        return
    want_ready = not any(k in tick.settings.never_ready for k in _owner_keys(tick, pod)) if tick.settings.never_ready else True
    info = info_of(pod["spec"]["nodeName"])
    if running:
        statuses = status.get("containerStatuses") or []
        # A node back from NotReady: its kubelet reports the pods ready again (the node controller had marked them not ready).
        if all(bool(s.get("ready")) == want_ready for s in statuses) and _pod_ready(pod) == want_ready:
            return
        tick.emit(_status_action("pods", pod, _running_status(tick, pod, info, want_ready, status)))
        return
    created = _created_at(pod)
    due = created is None or tick.now >= created + tick.settings.ready_delay
    if due:
        tick.emit(_status_action("pods", pod, _running_status(tick, pod, info, want_ready, status)))
        return
    waiting = any(((s.get("state") or {}).get("waiting") or {}).get("reason") == "ContainerCreating"
                  for s in status.get("containerStatuses") or ())
    if not waiting:
        tick.emit(_status_action("pods", pod, _creating_status(tick, pod, info, status)))


def _failed_start(tick: _Tick, pod: Obj, info_of: Any) -> bool:
    """Whether the pod's image contract keeps it from running ready; if so, its status (and event) as a kubelet reports it."""
    status = pod.get("status") or {}
    created = _created_at(pod)
    if created is not None and tick.now < created + tick.settings.ready_delay:
        return False
    outcome = tick.settings.pod_check(pod, tick.nodes.get(pod["spec"]["nodeName"]) or {})
    if outcome is None:
        return False
    if _has_outcome(status, outcome):
        return True
    info = info_of(pod["spec"]["nodeName"])
    if outcome.effect == "unready":
        new = _running_status(tick, pod, info, False, status)
        tick.emit(_status_action("pods", pod, new))
        tick.emit(Action("create", "events", _meta(pod).get("namespace", ""), _event_name(pod),
                         _event(tick, pod, outcome, "Unhealthy", "Readiness probe failed: " + outcome.message.removeprefix("Readiness probe failed: "))))
        return True
    tick.emit(_status_action("pods", pod, _failed_status(tick, pod, info, outcome, status)))
    if outcome.effect == "refused":
        tick.emit(Action("create", "events", _meta(pod).get("namespace", ""), _event_name(pod),
                         _event(tick, pod, outcome, "Failed", "Error: " + outcome.message.removeprefix("CreateContainerConfigError: "))))
    return True


def _has_outcome(status: Obj, outcome: Outcome) -> bool:
    """Whether the status already shows the outcome (the kubelet reports a failure once, then keeps it)."""
    key = "initContainerStatuses" if outcome.init else "containerStatuses"
    entry = next((s for s in status.get(key) or () if s.get("name") == outcome.container), None)
    if entry is None:
        return False
    waiting = (entry.get("state") or {}).get("waiting") or {}
    if outcome.effect == "crash":
        return waiting.get("reason") == "CrashLoopBackOff"
    if outcome.effect == "refused":
        return waiting.get("reason") == "CreateContainerConfigError"
    return status.get("phase") == "Running" and not entry.get("ready") and "running" in (entry.get("state") or {})


def _failed_status(tick: _Tick, pod: Obj, info: _NodeInfo, outcome: Outcome, status: Obj) -> Obj:
    """A pod whose container was refused or keeps exiting, in the fields kubectl shows."""
    spec = pod.get("spec") or {}
    meta = _meta(pod)
    containers = sorted(spec.get("containers") or [], key=lambda c: c.get("name", ""))
    names = [c.get("name", "") for c in containers]
    in_init = outcome.init
    new: Obj = {"phase": "Running" if outcome.effect == "crash" and not in_init else "Pending",
                "conditions": _pod_conditions(tick, status, outcome.effect == "crash" and not in_init, False, names)}
    new.update(_host_fields(tick, info, status))
    if new["phase"] == "Running":
        new["podIP"] = status.get("podIP") or _pod_ip(info, pod, bool(spec.get("hostNetwork")))
        if tick.version >= (1, 16):
            new["podIPs"] = [{"ip": new["podIP"]}]

    def entry(container: Obj, init: bool) -> Obj:
        name = container.get("name", "")
        image = _normalize_image(container.get("image", ""))
        item: Obj = {"name": name, "lastState": {}, "ready": False, "restartCount": 0, "image": image,
                     "imageID": f"{image.split('@')[0].rsplit(':', 1)[0]}@sha256:{_hex_id(image, 64)}"}
        if tick.version >= (1, 16) and not init:
            item["started"] = False
        if name == outcome.container and init == in_init:
            if outcome.effect == "refused":
                detail = outcome.message.removeprefix("CreateContainerConfigError: ")
                item["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": detail}}
                item["imageID"] = ""
                return item
            cid = _runtime_prefix(tick) + _hex_id(f"{_key(pod)}/{name}/crash", 64)
            terminated: Obj = {"exitCode": 1, "reason": "Error", "startedAt": tick.stamp, "finishedAt": tick.stamp, "containerID": cid}
            if container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
                terminated["message"] = outcome.message + "\n"
            item.update(state={"waiting": {"reason": "CrashLoopBackOff", "message": (
                f"back-off 10s restarting failed container={name} pod={meta.get('name')}_{meta.get('namespace')}({meta.get('uid', '')})")}},
                lastState={"terminated": terminated}, restartCount=1, containerID=cid)
            return item
        if init and not in_init:
            cid = _runtime_prefix(tick) + _hex_id(f"{_key(pod)}/{name}/init", 64)
            item.update(state={"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": tick.stamp, "finishedAt": tick.stamp,
                                              "containerID": cid}}, ready=True, containerID=cid)
            return item
        if in_init or outcome.effect == "refused":
            item["state"] = {"waiting": {"reason": "PodInitializing" if in_init else "ContainerCreating"}}
            item["imageID"] = ""
            return item
        cid = _runtime_prefix(tick) + _hex_id(f"{_key(pod)}/{name}", 64)
        item.update(state={"running": {"startedAt": tick.stamp}}, containerID=cid)
        if tick.version >= (1, 16):
            item["started"] = True
        return item

    inits = [entry(c, True) for c in spec.get("initContainers") or ()]
    if inits:
        new["initContainerStatuses"] = inits
    new["containerStatuses"] = [entry(c, False) for c in containers]
    new["qosClass"] = status.get("qosClass") or _qos_class(spec)
    return new


def _event_name(pod: Obj) -> str:
    return f"{_meta(pod).get('name', '')}.{_hex_id(_key(pod) + '/event', 16)}"


def _event(tick: _Tick, pod: Obj, outcome: Outcome, reason: str, message: str) -> Obj:
    meta = _meta(pod)
    key = "initContainers" if outcome.init else "containers"
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": _event_name(pod), "namespace": meta.get("namespace", "")},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
                               "uid": meta.get("uid", ""), "fieldPath": f"spec.{key}{{{outcome.container}}}"},
            "reason": reason, "message": message, "type": "Warning", "count": 1,
            "firstTimestamp": tick.stamp, "lastTimestamp": tick.stamp,
            "source": {"component": "kubelet", "host": pod["spec"].get("nodeName", "")}}


def _scheduled_status(tick: _Tick, status: Obj) -> Obj:
    new = _clone(status)
    new.setdefault("phase", "Pending")
    new["conditions"] = [c for c in new.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": tick.stamp}]
    return new


def _kept_time(status: Obj, ctype: str, cstatus: str, stamp: str) -> str:
    for cond in status.get("conditions") or ():
        if cond.get("type") == ctype and cond.get("status") == cstatus:
            return cond.get("lastTransitionTime") or stamp
    return stamp


def _pod_conditions(tick: _Tick, status: Obj, started: bool, ready: bool, names: list[str]) -> list[Obj]:
    stamp = tick.stamp
    scheduled_at = _kept_time(status, "PodScheduled", "True", stamp)
    unready = f"containers with unready status: [{' '.join(names)}]"

    def cond(ctype: str, ok: bool, reason: str | None = None, message: str | None = None) -> Obj:
        value = "True" if ok else "False"
        out: Obj = {"type": ctype, "status": value, "lastProbeTime": None,
                    "lastTransitionTime": _kept_time(status, ctype, value, stamp)}
        if not ok and reason:
            out["reason"], out["message"] = reason, message
        return out

    conds = []
    if tick.version >= (1, 29):
        conds.append(cond("PodReadyToStartContainers", started))
    conds.append(cond("Initialized", True))
    conds.append(cond("Ready", ready, "ContainersNotReady", unready))
    if tick.version >= (1, 12):
        conds.append(cond("ContainersReady", ready, "ContainersNotReady", unready))
    conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": scheduled_at})
    return conds


def _host_fields(tick: _Tick, info: _NodeInfo, status: Obj) -> Obj:
    out: Obj = {"hostIP": info.ip}
    if tick.version >= (1, 28):
        out["hostIPs"] = [{"ip": info.ip}]
    out["startTime"] = status.get("startTime") or tick.stamp
    return out


def _creating_status(tick: _Tick, pod: Obj, info: _NodeInfo, status: Obj) -> Obj:
    spec = pod.get("spec") or {}
    containers = sorted(spec.get("containers") or [], key=lambda c: c.get("name", ""))
    names = [c.get("name", "") for c in containers]
    new: Obj = {"phase": "Pending", "conditions": _pod_conditions(tick, status, False, False, names)}
    new.update(_host_fields(tick, info, status))
    statuses = []
    for container in containers:
        entry: Obj = {"name": container.get("name"), "state": {"waiting": {"reason": "ContainerCreating"}},
                      "lastState": {}, "ready": False, "restartCount": 0, "image": container.get("image", ""),
                      "imageID": ""}
        if tick.version >= (1, 16):
            entry["started"] = False
        statuses.append(entry)
    new["containerStatuses"] = statuses
    new["qosClass"] = status.get("qosClass") or _qos_class(spec)
    return new


def _running_status(tick: _Tick, pod: Obj, info: _NodeInfo, ready: bool, status: Obj) -> Obj:
    spec = pod.get("spec") or {}
    containers = sorted(spec.get("containers") or [], key=lambda c: c.get("name", ""))
    names = [c.get("name", "") for c in containers]
    new: Obj = {"phase": "Running", "conditions": _pod_conditions(tick, status, True, ready, names)}
    new.update(_host_fields(tick, info, status))
    pod_ip = status.get("podIP") or _pod_ip(info, pod, bool(spec.get("hostNetwork")))
    new["podIP"] = pod_ip
    if tick.version >= (1, 16):
        new["podIPs"] = [{"ip": pod_ip}]
    previous = {s.get("name"): s for s in status.get("containerStatuses") or ()}
    init_statuses = []
    for container in spec.get("initContainers") or ():
        cid = _hex_id(f"{_key(pod)}/{container.get('name')}/init", 64)
        image = _normalize_image(container.get("image", ""))
        init_statuses.append({
            "name": container.get("name"),
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": tick.stamp,
                                     "finishedAt": tick.stamp, "containerID": _runtime_prefix(tick) + cid}},
            "lastState": {}, "ready": True, "restartCount": 0, "image": image,
            "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{_hex_id(image, 64)}", "containerID": _runtime_prefix(tick) + cid})
    if init_statuses:
        new["initContainerStatuses"] = init_statuses
    statuses = []
    for container in containers:
        name = container.get("name", "")
        before = previous.get(name) or {}
        started_at = ((before.get("state") or {}).get("running") or {}).get("startedAt") or tick.stamp
        cid = _hex_id(f"{_key(pod)}/{name}", 64)
        image = _normalize_image(container.get("image", ""))
        entry: Obj = {"name": name, "state": {"running": {"startedAt": started_at}}, "lastState": {},
                      "ready": ready, "restartCount": 0, "image": image,
                      "imageID": f"{image.split('@')[0].rsplit(':', 1)[0]}@sha256:{_hex_id(image, 64)}",
                      "containerID": _runtime_prefix(tick) + cid}
        if tick.version >= (1, 16):
            entry["started"] = True
        statuses.append(entry)
    new["containerStatuses"] = statuses
    new["qosClass"] = status.get("qosClass") or _qos_class(spec)
    return new


def _runtime_prefix(tick: _Tick) -> str:
    return "containerd://" if tick.version >= (1, 24) else "docker://"
