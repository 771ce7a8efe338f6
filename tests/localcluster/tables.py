"""Server-side printing: the ``meta.k8s.io`` ``Table`` kube-apiserver answers GET and list with.

kubectl asks for a Table with ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`` and
prints whatever columns the server sends, so the columns and cells here follow the server's own
printers (``pkg/printers/internalversion/printers.go``) release by release:

* ``"1.30"``: the 1.30 printers (pod RESTARTS as ``"2 (5m ago)"``, sidecar-aware READY, PVC
  VOLUMEATTRIBUTESCLASS, StorageClass RECLAIMPOLICY/VOLUMEBINDINGMODE/ALLOWVOLUMEEXPANSION);
  resources without a printer get the generic ``rest.NewDefaultTableConvertor`` table: ``Name``
  and ``Created At`` (type ``date``, RFC 3339 cell).
* ``"1.15"``: the 1.15 printers (integer RESTARTS, role bindings with ROLE only in wide output,
  StorageClass with PROVISIONER only), same generic table.
* ``"1.8"``: server-side printing was alpha and only ``meta.k8s.io/v1alpha1`` Tables existed;
  the generic printer there is ``Name`` + ``Age`` with the short duration format.

The server always prints with ``Wide: true``: priority-1 columns are in every Table and kubectl
drops them unless ``-o wide``. Cells keep the Go types: ``int64`` becomes a JSON number, ``bool``
a JSON boolean.
"""

from __future__ import annotations

import copy
import datetime
import functools
from typing import Any, Callable

from . import errors, schema

# Table versions each release's apiserver converts to (meta.k8s.io/v1 arrived in 1.15,
# v1alpha1 became v1beta1 in 1.10).
TABLE_VERSIONS = {"1.8": ("v1alpha1",), "1.15": ("v1beta1", "v1"), "1.30": ("v1", "v1beta1")}

INCLUDE_OBJECT = ("None", "Metadata", "Object")

_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_CORE = "io.k8s.api.core.v1."
_APPS = "io.k8s.api.apps.v1."
_TEMPLATE_NAMES = "Names of each container in the template."
_TEMPLATE_IMAGES = "Images referenced by each container in the template."

# A column: (name, type, description, priority, format). A description written as
# "Definition.field" is looked up in the OpenAPI definitions, as SwaggerDoc() does upstream.
Column = tuple[str, str, str, int, str]
Row = tuple[list[Any], list[dict[str, str]]]


def _name_col(priority: int = 0) -> Column:
    return ("Name", "string", _META + ".name", priority, "name")


def _age_col() -> Column:
    return ("Age", "string", _META + ".creationTimestamp", 0, "")


def _col(name: str, typ: str, description: str, priority: int = 0) -> Column:
    return (name, typ, description, priority, "")


# ---------------------------------------------------------------------------------------------
# Accept header negotiation


def _parse_accept(header: str) -> list[tuple[str, str, float, dict[str, str]]]:
    clauses = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        mtype, _sep, subtype = pieces[0].lower().partition("/")
        params: dict[str, str] = {}
        quality = 1.0
        for piece in pieces[1:]:
            key, _sep, value = piece.partition("=")
            key, value = key.strip(), value.strip().strip('"')
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            elif key:
                params[key] = value
        clauses.append((mtype, subtype or "*", quality, params))
    return _goautoneg_sort(clauses)


def _goautoneg_sort(clauses: list[tuple[str, str, float, dict[str, str]]]) -> list[tuple[str, str, float, dict[str, str]]]:
    """goautoneg's order: an insertion sort with its (not quite total) Less, reproduced as is."""

    def less(a: tuple[str, str, float, dict[str, str]], b: tuple[str, str, float, dict[str, str]]) -> bool:
        if a[2] > b[2]:
            return True
        if a[0] != "*" and b[0] == "*":
            return True
        return a[1] != "*" and b[1] == "*"

    ordered = list(clauses)
    for i in range(1, len(ordered)):
        j = i
        while j > 0 and less(ordered[j], ordered[j - 1]):
            ordered[j], ordered[j - 1] = ordered[j - 1], ordered[j]
            j -= 1
    return ordered


_PLAIN_TYPES = {("application", "json"), ("application", "yaml"), ("application", "vnd.kubernetes.protobuf"),
                ("application", "*"), ("*", "*")}


def wants_table(accept_header: str | None, profile: str = "1.30") -> str | None:
    """The ``meta.k8s.io`` Table version the Accept header gets from ``profile``'s apiserver, or None.

    Clauses are tried in goautoneg order; the first the server can serve wins. A Table clause
    counts only as ``application/json;as=Table;g=meta.k8s.io;v=<version>`` with a version the
    release knows (1.8: v1alpha1 only, so today's kubectl falls back to plain JSON there). A
    plain media type that comes first means the object itself: None.
    """
    if not accept_header:
        return None
    versions = TABLE_VERSIONS.get(profile, TABLE_VERSIONS["1.30"])
    for mtype, subtype, quality, params in _parse_accept(accept_header):
        if quality <= 0:
            continue
        if "as" in params:
            if params["as"] != "Table" or params.get("g") != "meta.k8s.io":
                if params.get("g") == "meta.k8s.io" and params.get("v") in versions and params["as"].startswith("PartialObjectMetadata"):
                    return None  # served, but it is not a Table
                continue
            # Tables are only rendered as JSON (or YAML, which we do not serve): protobuf is refused.
            if (mtype, subtype) == ("application", "json") and params.get("v") in versions:
                return params["v"]
            continue
        if (mtype, subtype) in _PLAIN_TYPES:
            return None
    return None


# ---------------------------------------------------------------------------------------------
# Durations and timestamps


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration``: ``"45s"``, ``"3m20s"``, ``"5h10m"``, ``"2d3h"``, ``"2y179d"``."""
    secs = int(seconds)  # Go's int(d.Seconds()) truncates toward zero
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """``ShortHumanDuration``, the age format of 1.8's printers: ``"45s"``, ``"3m"``, ``"5h"``, ``"2d"``, ``"2y"``."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    if secs // 60 < 60:
        return f"{secs // 60}m"
    hours = secs // 3600
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def _epoch(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


class _Ctx:  # pylint: disable=too-few-public-methods
    """What every printer needs besides the object: the release and the clock."""

    def __init__(self, profile: str, now: float):
        self.profile = profile
        self.now = now

    def since(self, timestamp: str | None) -> str:
        """translateTimestampSince: ``<unknown>`` for a zero time."""
        epoch = _epoch(timestamp)
        if epoch is None:
            return "<unknown>"
        if self.profile == "1.8":
            return short_human_duration(self.now - epoch)
        return human_duration(self.now - epoch)


# ---------------------------------------------------------------------------------------------
# Formatting helpers shared by the printers


def _format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels."""
    if not labels:
        return "<none>"
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _selector_string(selector: dict[str, Any] | None) -> str | None:
    """LabelSelectorAsSelector(selector).String(); None where Go returns an error."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        if operator in ("In", "NotIn"):
            if not values:
                return None
            reqs.append((key, f"{key} {operator.lower()} ({','.join(values)})"))
        elif operator == "Exists":
            reqs.append((key, key))
        elif operator == "DoesNotExist":
            reqs.append((key, "!" + key))
        else:
            return None
    return ",".join(text for _key, text in sorted(reqs, key=lambda req: req[0]))


def _format_label_selector(selector: dict[str, Any] | None) -> str:
    """metav1.FormatLabelSelector."""
    text = _selector_string(selector)
    if text is None:
        return "<error>"
    return text or "<none>"


def _containers(template: dict[str, Any] | None) -> tuple[str, str]:
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _int_or_string(value: Any) -> str:
    return str(value) if value is not None else "N/A"


# ---------------------------------------------------------------------------------------------
# Printers: each returns the cells (wide included) and the row conditions.

_POD_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]
_POD_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def _pod_columns(profile: str) -> list[Column]:
    restarts = (_col("Restarts", "integer", "The number of times the containers in this pod have been restarted.") if profile != "1.30" else
                _col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container "
                     "in this pod has restarted."))
    cols = [_name_col(), _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", "string", "The aggregate status of the containers in this pod."), restarts, _age_col(),
            _col("IP", "string", _CORE + "PodStatus.podIP", 1), _col("Node", "string", _CORE + "PodSpec.nodeName", 1)]
    if profile != "1.8":
        cols += [_col("Nominated Node", "string", _CORE + "PodStatus.nominatedNodeName", 1),
                 _col("Readiness Gates", "string", _CORE + "PodSpec.readinessGates", 1)]
    return cols


def _terminated_reason(terminated: dict[str, Any], prefix: str) -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def _later(current: float | None, status: dict[str, Any]) -> float | None:
    finished = _epoch((((status.get("lastState") or {}).get("terminated")) or {}).get("finishedAt"))
    if finished is not None and (current is None or finished > current):
        return finished
    return current


def _condition_true(conditions: list[dict[str, Any]] | None, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions or [])


def _pod(obj: dict[str, Any], ctx: _Ctx) -> Row:  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, _meta(obj)
    modern = ctx.profile == "1.30"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}

    def sidecar(name: str) -> bool:
        # Restartable init containers (sidecars) only exist from 1.28 on.
        return modern and (init_specs.get(name) or {}).get("restartPolicy") == "Always"

    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    if modern and any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in status.get("conditions") or []):
        reason = "SchedulingGated"
    conditions = _POD_SUCCEEDED if phase == "Succeeded" else _POD_FAILED if phase == "Failed" else []
    total = len(spec.get("containers") or []) + sum(1 for name in init_specs if sidecar(name))
    ready = restarts = sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for index, cstatus in enumerate(init_statuses):
        restarts += _int(cstatus.get("restartCount"))
        last_restart = _later(last_restart, cstatus)
        is_sidecar = sidecar(cstatus.get("name", ""))
        if is_sidecar:
            sidecar_restarts += _int(cstatus.get("restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, cstatus)
        state = cstatus.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if is_sidecar and cstatus.get("started"):
            ready += 1 if cstatus.get("ready") else 0
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    if not initializing or (modern and _condition_true(status.get("conditions"), "Initialized")):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cstatus in reversed(status.get("containerStatuses") or []):
            restarts += _int(cstatus.get("restartCount"))
            last_restart = _later(last_restart, cstatus)
            state = cstatus.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated, "")
            elif cstatus.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if not modern or _condition_true(status.get("conditions"), "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and (not modern or phase not in ("Succeeded", "Failed")):
        reason = "Terminating"

    restarts_cell: Any = restarts
    if modern:
        restarts_cell = str(restarts)
        if restarts and last_restart is not None:
            restarts_cell = f"{restarts} ({human_duration(ctx.now - last_restart)} ago)"

    cells: list[Any] = [meta.get("name", ""), f"{ready}/{total}", reason, restarts_cell, ctx.since(meta.get("creationTimestamp"))]
    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip", "") if pod_ips and modern else "") or status.get("podIP", "") or "<none>"
    cells += [pod_ip, spec.get("nodeName") or "<none>"]
    if ctx.profile != "1.8":
        gates = spec.get("readinessGates") or []
        readiness = "<none>"
        if gates:
            true = 0
            for gate in gates:
                for cond in status.get("conditions") or []:
                    if cond.get("type") == gate.get("conditionType"):
                        true += 1 if cond.get("status") == "True" else 0
                        break
            readiness = f"{true}/{len(gates)}"
        cells += [status.get("nominatedNodeName") or "<none>", readiness]
    return cells, conditions


def _node_columns(profile: str) -> list[Column]:
    cols = [_name_col(), _col("Status", "string", "The status of the node"), _col("Roles", "string", "The roles of the node"), _age_col(),
            _col("Version", "string", _CORE + "NodeSystemInfo.kubeletVersion")]
    if profile != "1.8":
        cols.append(_col("Internal-IP", "string", _CORE + "NodeStatus.addresses", 1))
    return cols + [_col("External-IP", "string", _CORE + "NodeStatus.addresses", 1),
                   _col("OS-Image", "string", _CORE + "NodeSystemInfo.osImage", 1),
                   _col("Kernel-Version", "string", _CORE + "NodeSystemInfo.kernelVersion", 1),
                   _col("Container-Runtime", "string", _CORE + "NodeSystemInfo.containerRuntimeVersion", 1)]


def _node_address(node: dict[str, Any], kind: str) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == kind:
            return address.get("address", "")
    return "<none>"


def _node(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, status = _meta(obj), obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = [("Ready" if ready[-1].get("status") == "True" else "NotReady")] if ready else ["Unknown"]
    if (obj.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for key, value in (meta.get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    info = status.get("nodeInfo") or {}
    cells: list[Any] = [meta.get("name", ""), ",".join(states), ",".join(sorted(roles)) or "<none>", ctx.since(meta.get("creationTimestamp")),
                        info.get("kubeletVersion", "")]
    if ctx.profile != "1.8":
        cells.append(_node_address(obj, "InternalIP"))
    cells += [_node_address(obj, "ExternalIP"), info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
              info.get("containerRuntimeVersion") or "<unknown>"]
    return cells, []


def _namespace(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta = _meta(obj)
    return [meta.get("name", ""), (obj.get("status") or {}).get("phase", ""), ctx.since(meta.get("creationTimestamp"))], []


_SERVICE_COLUMNS = [_name_col(), _col("Type", "string", _CORE + "ServiceSpec.type"), _col("Cluster-IP", "string", _CORE + "ServiceSpec.clusterIP"),
                    _col("External-IP", "string", _CORE + "ServiceSpec.externalIPs"), _col("Port(s)", "string", _CORE + "ServiceSpec.ports"),
                    _age_col(), _col("Selector", "string", _CORE + "ServiceSpec.selector", 1)]


def _service_external_ip(svc: dict[str, Any]) -> str:
    spec = svc.get("spec") or {}
    kind, external = spec.get("type", ""), spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        # The server prints wide, so the 16-character clip of the balancer address never applies.
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        balancers = sorted({i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")})
        if external:
            return ",".join(balancers + external)
        return ",".join(balancers) if balancers else "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec = _meta(obj), obj.get("spec") or {}
    if ctx.profile == "1.30":
        cluster_ip = (spec.get("clusterIPs") or [spec.get("clusterIP") or "<none>"])[0]
    else:
        cluster_ip = spec.get("clusterIP") or "<none>"
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        if _int(port.get("nodePort")) > 0:
            ports.append(f"{_int(port.get('port'))}:{_int(port.get('nodePort'))}/{protocol}")
        else:
            ports.append(f"{_int(port.get('port'))}/{protocol}")
    return [meta.get("name", ""), spec.get("type", ""), cluster_ip, _service_external_ip(obj), ",".join(ports) or "<none>",
            ctx.since(meta.get("creationTimestamp")), _format_labels(spec.get("selector"))], []


def _configmap(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta = _meta(obj)
    return [meta.get("name", ""), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), ctx.since(meta.get("creationTimestamp"))], []


def _secret(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta = _meta(obj)
    return [meta.get("name", ""), obj.get("type", ""), len(obj.get("data") or {}), ctx.since(meta.get("creationTimestamp"))], []


def _serviceaccount(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta = _meta(obj)
    return [meta.get("name", ""), len(obj.get("secrets") or []), ctx.since(meta.get("creationTimestamp"))], []


def _deployment_columns(profile: str) -> list[Column]:
    if profile == "1.8":
        head = [_col("Desired", "string", _APPS + "DeploymentSpec.replicas"), _col("Current", "string", _APPS + "DeploymentStatus.replicas")]
    else:
        head = [_col("Ready", "string", "Number of the pod with ready state")]
    return [_name_col(), *head, _col("Up-to-date", "string", _APPS + "DeploymentStatus.updatedReplicas"),
            _col("Available", "string", _APPS + "DeploymentStatus.availableReplicas"), _age_col(),
            _col("Containers", "string", _TEMPLATE_NAMES, 1), _col("Images", "string", _TEMPLATE_IMAGES, 1),
            _col("Selector", "string", _APPS + "DeploymentSpec.selector", 1)]


def _deployment(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    desired = _int(spec.get("replicas", 1))
    if ctx.profile == "1.8":
        head: list[Any] = [desired, _int(status.get("replicas"))]
    else:
        head = [f"{_int(status.get('readyReplicas'))}/{desired}"]
    names, images = _containers(spec.get("template"))
    selector = _selector_string(spec.get("selector"))
    return [meta.get("name", ""), *head, _int(status.get("updatedReplicas")), _int(status.get("availableReplicas")),
            ctx.since(meta.get("creationTimestamp")), names, images, "<invalid>" if selector is None else selector], []


_REPLICASET_COLUMNS = [_name_col(), _col("Desired", "integer", _APPS + "ReplicaSetSpec.replicas"),
                       _col("Current", "integer", _APPS + "ReplicaSetStatus.replicas"),
                       _col("Ready", "integer", _APPS + "ReplicaSetStatus.readyReplicas"), _age_col(),
                       _col("Containers", "string", _TEMPLATE_NAMES, 1), _col("Images", "string", _TEMPLATE_IMAGES, 1),
                       _col("Selector", "string", _APPS + "ReplicaSetSpec.selector", 1)]


def _replicaset(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(spec.get("template"))
    return [meta.get("name", ""), _int(spec.get("replicas", 1)), _int(status.get("replicas")), _int(status.get("readyReplicas")),
            ctx.since(meta.get("creationTimestamp")), names, images, _format_label_selector(spec.get("selector"))], []


def _statefulset_columns(profile: str) -> list[Column]:
    if profile == "1.8":
        head = [_col("Desired", "string", _APPS + "StatefulSetSpec.replicas"), _col("Current", "string", _APPS + "StatefulSetStatus.replicas")]
    else:
        head = [_col("Ready", "string", "Number of the pod with ready state")]
    return [_name_col(), *head, _age_col(), _col("Containers", "string", _TEMPLATE_NAMES, 1), _col("Images", "string", _TEMPLATE_IMAGES, 1)]


def _statefulset(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    desired = _int(spec.get("replicas", 1))
    head: list[Any] = [desired, _int(status.get("replicas"))] if ctx.profile == "1.8" else [f"{_int(status.get('readyReplicas'))}/{desired}"]
    names, images = _containers(spec.get("template"))
    return [meta.get("name", ""), *head, ctx.since(meta.get("creationTimestamp")), names, images], []


_DAEMONSET_COLUMNS = [_name_col(), _col("Desired", "integer", _APPS + "DaemonSetStatus.desiredNumberScheduled"),
                      _col("Current", "integer", _APPS + "DaemonSetStatus.currentNumberScheduled"),
                      _col("Ready", "integer", _APPS + "DaemonSetStatus.numberReady"),
                      _col("Up-to-date", "integer", _APPS + "DaemonSetStatus.updatedNumberScheduled"),
                      _col("Available", "integer", _APPS + "DaemonSetStatus.numberAvailable"),
                      _col("Node Selector", "string", _CORE + "PodSpec.nodeSelector"), _age_col(),
                      _col("Containers", "string", _TEMPLATE_NAMES, 1), _col("Images", "string", _TEMPLATE_IMAGES, 1),
                      _col("Selector", "string", _APPS + "DaemonSetSpec.selector", 1)]


def _daemonset(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    template = spec.get("template") or {}
    names, images = _containers(template)
    return [meta.get("name", ""), _int(status.get("desiredNumberScheduled")), _int(status.get("currentNumberScheduled")),
            _int(status.get("numberReady")), _int(status.get("updatedNumberScheduled")), _int(status.get("numberAvailable")),
            _format_labels((template.get("spec") or {}).get("nodeSelector")), ctx.since(meta.get("creationTimestamp")),
            names, images, _format_label_selector(spec.get("selector"))], []


def _pvc_columns(profile: str) -> list[Column]:
    cols = [_name_col(), _col("Status", "string", _CORE + "PersistentVolumeClaimStatus.phase"),
            _col("Volume", "string", _CORE + "PersistentVolumeClaimSpec.volumeName"),
            _col("Capacity", "string", _CORE + "PersistentVolumeClaimStatus.capacity"),
            _col("Access Modes", "string", _CORE + "PersistentVolumeClaimStatus.accessModes"),
            _col("StorageClass", "string", "StorageClass of the pvc")]
    if profile == "1.30":
        cols.append(_col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"))
    cols.append(_age_col())
    if profile != "1.8":
        cols.append(_col("VolumeMode", "string", _CORE + "PersistentVolumeClaimSpec.volumeMode", 1))
    return cols


def _access_modes(modes: list[str] | None, profile: str) -> str:
    known = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX")]
    if profile == "1.30":
        known.append(("ReadWriteOncePod", "RWOP"))
    return ",".join(short for mode, short in known if mode in (modes or []))


def _pvc(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "")
    capacity = access = ""
    if spec.get("volumeName"):
        access = _access_modes(status.get("accessModes"), ctx.profile)
        capacity = str((status.get("capacity") or {}).get("storage") or "0")
    # GetPersistentVolumeClaimClass: the beta annotation still wins over the field.
    klass = (meta.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class") or spec.get("storageClassName") or ""
    cells: list[Any] = [meta.get("name", ""), phase, spec.get("volumeName", ""), capacity, access, klass]
    if ctx.profile == "1.30":
        cells.append(spec.get("volumeAttributesClassName") or "<unset>")
    cells.append(ctx.since(meta.get("creationTimestamp")))
    if ctx.profile != "1.8":
        cells.append(spec.get("volumeMode") or "<unset>")
    return cells, []


def _binding_columns(profile: str, what: str) -> list[Column]:
    role = f"io.k8s.api.rbac.v1.{what[0].upper()}{what[1:]}.roleRef"
    noun = "roleBinding" if profile == "1.8" else what  # 1.8 described both kinds as roleBinding, with its "Gruops" typo
    subjects = [_col("Users", "string", f"Users in the {noun}", 1), _col("Groups", "string", f"{'Gruops' if profile == '1.8' else 'Groups'} in the {noun}", 1),
                _col("ServiceAccounts", "string", f"ServiceAccounts in the {noun}", 1)]
    if profile == "1.30":
        return [_name_col(), _col("Role", "string", role), _age_col(), *subjects]
    # In 1.8 and 1.15 ROLE was a wide column after AGE.
    return [_name_col(), _age_col(), _col("Role", "string", role, 1), *subjects]


def _binding(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, ref = _meta(obj), obj.get("roleRef") or {}
    users, groups, sas = [], [], []
    for subject in obj.get("subjects") or []:
        kind = subject.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
        elif kind == "User":
            users.append(subject.get("name", ""))
        elif kind == "Group":
            groups.append(subject.get("name", ""))
    role = f"{ref.get('kind', '')}/{ref.get('name', '')}"
    age = ctx.since(meta.get("creationTimestamp"))
    head = [meta.get("name", ""), role, age] if ctx.profile == "1.30" else [meta.get("name", ""), age, role]
    return [*head, ", ".join(users), ", ".join(groups), ", ".join(sas)], []


_PRIORITYCLASS_COLUMNS = [_name_col(), _col("Value", "integer", "io.k8s.api.scheduling.v1.PriorityClass.value"),
                          _col("Global-Default", "boolean", "io.k8s.api.scheduling.v1.PriorityClass.globalDefault"), _age_col()]


def _priorityclass(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta = _meta(obj)
    return [meta.get("name", ""), _int(obj.get("value")), bool(obj.get("globalDefault")), ctx.since(meta.get("creationTimestamp"))], []


def _storageclass_columns(profile: str) -> list[Column]:
    sc = "io.k8s.api.storage.v1.StorageClass."
    cols = [_name_col(), _col("Provisioner", "string", sc + "provisioner")]
    if profile == "1.30":
        cols += [_col("ReclaimPolicy", "string", sc + "reclaimPolicy"), _col("VolumeBindingMode", "string", sc + "volumeBindingMode"),
                 _col("AllowVolumeExpansion", "string", sc + "allowVolumeExpansion")]
    return cols + [_age_col()]


def _storageclass(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta = _meta(obj)
    annotations = meta.get("annotations") or {}
    name = meta.get("name", "")
    if "true" in (annotations.get("storageclass.kubernetes.io/is-default-class"), annotations.get("storageclass.beta.kubernetes.io/is-default-class")):
        name += " (default)"
    cells: list[Any] = [name, obj.get("provisioner", "")]
    if ctx.profile == "1.30":
        cells += [obj.get("reclaimPolicy") or "Delete", obj.get("volumeBindingMode") or "Immediate", bool(obj.get("allowVolumeExpansion"))]
    return cells + [ctx.since(meta.get("creationTimestamp"))], []


_PDB_COLUMNS = [_name_col(), _col("Min Available", "string", "The minimum number of pods that must be available."),
                _col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
                _col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."), _age_col()]


def _pdb(obj: dict[str, Any], ctx: _Ctx) -> Row:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    return [meta.get("name", ""), _int_or_string(spec.get("minAvailable")), _int_or_string(spec.get("maxUnavailable")),
            _int(status.get("disruptionsAllowed")), ctx.since(meta.get("creationTimestamp"))], []


def _event_columns(profile: str) -> list[Column]:
    ev, ref = _CORE + "Event.", _CORE + "ObjectReference."
    if profile == "1.8":
        return [_col("Last Seen", "string", ev + "lastTimestamp"), _col("First Seen", "string", ev + "firstTimestamp"),
                _col("Count", "string", ev + "count"), _name_col(), _col("Kind", "string", ref + "kind"),
                _col("Subobject", "string", ref + "fieldPath"), _col("Type", "string", ev + "type"), _col("Reason", "string", ev + "reason"),
                _col("Source", "string", ev + "source"), _col("Message", "string", ev + "message")]
    return [_col("Last Seen", "string", ev + "lastTimestamp"), _col("Type", "string", ev + "type"), _col("Reason", "string", ev + "reason"),
            _col("Object", "string", ev + "involvedObject"), _col("Subobject", "string", ref + "fieldPath", 1),
            _col("Source", "string", ev + "source", 1), _col("Message", "string", ev + "message"),
            _col("First Seen", "string", ev + "firstTimestamp", 1), _col("Count", "string", ev + "count", 1), _name_col(1)]


def _as_core_event(obj: dict[str, Any]) -> dict[str, Any]:
    """An events.k8s.io Event read back in the core shape the printer knows (they share storage)."""
    if "regarding" not in obj and "note" not in obj and "deprecatedSource" not in obj:
        return obj
    return {"metadata": obj.get("metadata") or {}, "involvedObject": obj.get("regarding") or {}, "message": obj.get("note", ""),
            "type": obj.get("type", ""), "reason": obj.get("reason", ""), "source": obj.get("deprecatedSource") or {},
            "firstTimestamp": obj.get("deprecatedFirstTimestamp"), "lastTimestamp": obj.get("deprecatedLastTimestamp"),
            "count": obj.get("deprecatedCount"), "eventTime": obj.get("eventTime"), "series": obj.get("series"),
            "reportingComponent": obj.get("reportingController", ""), "reportingInstance": obj.get("reportingInstance", "")}


def _event(obj: dict[str, Any], ctx: _Ctx) -> Row:
    event = _as_core_event(obj)
    meta, involved, source = _meta(event), event.get("involvedObject") or {}, event.get("source") or {}
    first = ctx.since(event.get("firstTimestamp")) if event.get("firstTimestamp") else ctx.since(event.get("eventTime"))
    last = ctx.since(event.get("lastTimestamp")) if event.get("lastTimestamp") else first
    count = _int(event.get("count"))
    component, host = source.get("component", ""), source.get("host", "")
    if ctx.profile == "1.30":
        series = event.get("series")
        if series:
            last, count = ctx.since(series.get("lastObservedTime")), _int(series.get("count"))
        elif count == 0:
            count = 1  # singleton events of the new API carry no count
        component = component or event.get("reportingComponent", "")
        host = host or event.get("reportingInstance", "")
    source_text = f"{component}, {host}" if host else component
    if ctx.profile == "1.8":
        return [last, first, count, meta.get("name", ""), involved.get("kind", ""), involved.get("fieldPath", ""), event.get("type", ""),
                event.get("reason", ""), source_text, event.get("message", "")], []
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last, event.get("type", ""), event.get("reason", ""), target, involved.get("fieldPath", ""), source_text,
            (event.get("message") or "").strip(), first, count, meta.get("name", "")], []


def _fixed(columns: list[Column]) -> Callable[[str], list[Column]]:
    return lambda _profile: columns


_NAMESPACE_COLUMNS = [_name_col(), _col("Status", "string", "The status of the namespace"), _age_col()]
_CONFIGMAP_COLUMNS = [_name_col(), _col("Data", "string", _CORE + "ConfigMap.data"), _age_col()]
_SECRET_COLUMNS = [_name_col(), _col("Type", "string", _CORE + "Secret.type"), _col("Data", "string", _CORE + "Secret.data"), _age_col()]
_SERVICEACCOUNT_COLUMNS = [_name_col(), _col("Secrets", "string", _CORE + "ServiceAccount.secrets"), _age_col()]

_WORKLOAD_GROUPS = ("apps", "extensions")

# (groups, kind) -> (columns for a profile, printer, profiles that had the printer)
_PRINTERS: dict[tuple[tuple[str, ...], str], tuple[Callable[[str], list[Column]], Callable[[dict[str, Any], _Ctx], Row], tuple[str, ...]]] = {
    (("",), "Pod"): (_pod_columns, _pod, ("1.8", "1.15", "1.30")),
    (("",), "Node"): (_node_columns, _node, ("1.8", "1.15", "1.30")),
    (("",), "Namespace"): (_fixed(_NAMESPACE_COLUMNS), _namespace, ("1.8", "1.15", "1.30")),
    (("",), "Service"): (_fixed(_SERVICE_COLUMNS), _service, ("1.8", "1.15", "1.30")),
    (("",), "ConfigMap"): (_fixed(_CONFIGMAP_COLUMNS), _configmap, ("1.8", "1.15", "1.30")),
    (("",), "Secret"): (_fixed(_SECRET_COLUMNS), _secret, ("1.8", "1.15", "1.30")),
    (("",), "ServiceAccount"): (_fixed(_SERVICEACCOUNT_COLUMNS), _serviceaccount, ("1.8", "1.15", "1.30")),
    (("",), "PersistentVolumeClaim"): (_pvc_columns, _pvc, ("1.8", "1.15", "1.30")),
    (("", "events.k8s.io"), "Event"): (_event_columns, _event, ("1.8", "1.15", "1.30")),
    (_WORKLOAD_GROUPS, "Deployment"): (_deployment_columns, _deployment, ("1.8", "1.15", "1.30")),
    (_WORKLOAD_GROUPS, "ReplicaSet"): (_fixed(_REPLICASET_COLUMNS), _replicaset, ("1.8", "1.15", "1.30")),
    (_WORKLOAD_GROUPS, "StatefulSet"): (_statefulset_columns, _statefulset, ("1.8", "1.15", "1.30")),
    (_WORKLOAD_GROUPS, "DaemonSet"): (_fixed(_DAEMONSET_COLUMNS), _daemonset, ("1.8", "1.15", "1.30")),
    (("rbac.authorization.k8s.io",), "RoleBinding"): (lambda p: _binding_columns(p, "roleBinding"), _binding, ("1.8", "1.15", "1.30")),
    (("rbac.authorization.k8s.io",), "ClusterRoleBinding"): (lambda p: _binding_columns(p, "clusterRoleBinding"), _binding,
                                                             ("1.8", "1.15", "1.30")),
    # PriorityClass got its printer in 1.13; the 1.8 apiserver printed it generically.
    (("scheduling.k8s.io",), "PriorityClass"): (_fixed(_PRIORITYCLASS_COLUMNS), _priorityclass, ("1.15", "1.30")),
    (("storage.k8s.io",), "StorageClass"): (_storageclass_columns, _storageclass, ("1.8", "1.15", "1.30")),
    (("policy",), "PodDisruptionBudget"): (_fixed(_PDB_COLUMNS), _pdb, ("1.8", "1.15", "1.30")),
}


def _printer(profile: str, group: str, kind: str) -> tuple[Callable[[str], list[Column]], Callable[[dict[str, Any], _Ctx], Row]] | None:
    for (groups, printer_kind), (columns, printer, profiles) in _PRINTERS.items():
        if printer_kind == kind and group in groups and profile in profiles:
            return columns, printer
    return None


def has_printer(profile: str, group: str, kind: str) -> bool:
    """Whether ``profile``'s apiserver has a dedicated printer for ``kind`` (else the generic Name/Created At table)."""
    return _printer(profile, group, kind) is not None


# ---------------------------------------------------------------------------------------------
# Column definitions and the Table


@functools.lru_cache(maxsize=None)
def _description(text: str) -> str:
    """A literal description, or ``Definition.field`` looked up in the OpenAPI definitions."""
    if not text.startswith("io.k8s."):
        return text
    definition, _sep, field = text.rpartition(".")
    body = schema.definitions().get(definition) or {}
    return ((body.get("properties") or {}).get(field) or {}).get("description", "")


def _column_definitions(columns: list[Column]) -> list[dict[str, Any]]:
    return [{"name": name, "type": typ, "format": fmt, "description": _description(description), "priority": priority}
            for name, typ, description, priority, fmt in columns]


def column_definitions(profile: str, group: str, kind: str) -> list[dict[str, Any]]:
    """The ``columnDefinitions`` of ``kind``'s Table on ``profile`` (wide columns carry priority 1)."""
    found = _printer(profile, group, kind)
    if found:
        return _column_definitions(found[0](profile))
    if profile == "1.8":
        return _column_definitions([_name_col(), _age_col()])
    return _column_definitions([_name_col(), ("Created At", "date", _META + ".creationTimestamp", 0, "")])


def _row_object(obj: dict[str, Any], include_object: str, table_version: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return copy.deepcopy(obj)
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{table_version}", "metadata": copy.deepcopy(_meta(obj))}


def _default_cells(obj: dict[str, Any], ctx: _Ctx) -> list[Any]:
    meta = _meta(obj)
    if ctx.profile == "1.8":
        return [meta.get("name", ""), ctx.since(meta.get("creationTimestamp"))]
    created = _epoch(meta.get("creationTimestamp"))
    # The generic convertor formats the zero time rather than "<unknown>".
    if created is None:
        return [meta.get("name", ""), "0001-01-01T00:00:00Z"]
    return [meta.get("name", ""), datetime.datetime.fromtimestamp(int(created), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")]


def to_table(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
        profile: str, group: str, resource: str, kind: str, objects: list[dict[str, Any]],
        list_meta: dict[str, Any] | None, now: float, include_object: str = "Metadata", table_version: str = "v1") -> dict[str, Any]:
    """The ``Table`` kube-apiserver answers a GET (one object) or list (``objects``) of ``resource`` with.

    ``list_meta`` is the list's metadata (``resourceVersion``, ``continue``,
    ``remainingItemCount``); for a single GET pass None and the object's resourceVersion is used.
    ``now`` is epoch seconds for AGE cells. ``include_object`` is the ``includeObject`` query
    parameter (``""`` means Metadata, kubectl's default); an unknown value is the 400 the
    apiserver answers. ``resource`` is accepted for symmetry with the request path; printers are
    chosen by group and kind, as the apiserver chooses them by Go type.
    """
    del resource  # printers are keyed by type, not by path
    if include_object == "":
        include_object = "Metadata"
    if include_object not in INCLUDE_OBJECT:
        raise errors.bad_request(f'unrecognized includeObject value: "{include_object}"')
    ctx = _Ctx(profile, now)
    found = _printer(profile, group, kind)
    rows: list[dict[str, Any]] | None = [] if found or objects else None
    for obj in objects:
        if found:
            cells, conditions = found[1](obj, ctx)
        else:
            cells, conditions = _default_cells(obj, ctx), []
        row: dict[str, Any] = {"cells": cells}
        if conditions:
            row["conditions"] = copy.deepcopy(conditions)
        row["object"] = _row_object(obj, include_object, table_version)
        rows.append(row)  # type: ignore[union-attr]
    if list_meta is None:
        rv = _meta(objects[0]).get("resourceVersion") if len(objects) == 1 else None
        metadata: dict[str, Any] = {"resourceVersion": rv} if rv else {}
    else:
        metadata = {key: list_meta[key] for key in ("resourceVersion", "continue") if list_meta.get(key)}
        if list_meta.get("remainingItemCount") is not None:
            metadata["remainingItemCount"] = list_meta["remainingItemCount"]
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{table_version}",
        "metadata": metadata,
        "columnDefinitions": column_definitions(profile, group, kind),
        # The generic convertor leaves Rows nil for an empty list, which encodes as null.
        "rows": rows,
    }
