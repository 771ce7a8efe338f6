"""The logging stack beside the emulated Kubernetes API: Elasticsearch and Kibana emulators, and
the alert stream that stands in for Falco -> Fluentd on real nodes.

What ties them to the cluster, as on a real one:
- The service proxy reaches them through the Services the efk role creates (names and
  namespaces below), and only while a ready pod backs the Service.
- Elasticsearch's health follows its StatefulSet: red until a pod is ready, then yellow or green.
- Kibana's base path follows its Deployment's SERVER_BASEPATH / SERVER_REWRITEBASEPATH env.
- Alerts flow only from nodes where a Falco pod AND a Fluentd pod are ready, and only into an
  Elasticsearch that is up (Fluentd buffers meanwhile); the event generator raises the rate on
  its node. Without Falco there are no alerts: the stream never makes a broken deployment look
  healthy.

Configuration from manifests (the efk role's contract, /tmp/efk/contract.md while it is being written):
- Elasticsearch reads its StatefulSet's pod template as the node would: elasticsearch.yml and roles.yml from the ``config``
  ConfigMap volume, ELASTIC_PASSWORD (the bootstrap password, honoured once), and the file realm users written by the
  ``file-realm`` init container (FILE_REALM_USERS prefixes: P_USERNAME, P_PASSWORD, P_ROLES).
- Fluentd (a DaemonSet with FLUENT_ELASTICSEARCH_USER or a ``config`` volume) talks to Elasticsearch through its REST handler
  as its user: GET /, the index template named by fluent.conf, then _bulk (Falco's records de-dotted where fluent.conf has a
  dedot filter for them). Without either it delivers in-process, as the efk role's Fluentd would (de-dotted).
- Kibana checks its ELASTICSEARCH_USERNAME / ELASTICSEARCH_PASSWORD against Elasticsearch for its status.
- Env values resolve through value / secretKeyRef / configMapKeyRef; what a kubelet would refuse (missing Secret, key,
  ConfigMap) is not applied and is listed in ``Stack.problems`` instead.

Label contract (what the collection's roles put on their pods, as upstream does):
  Falco pods          app.kubernetes.io/name=falco or app=falco
  Fluentd pods        app.kubernetes.io/name=fluentd or k8s-app=fluentd-es
  event generator     app.kubernetes.io/name=event-generator or app=event-generator
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import yaml

import contracts

from . import alerts, images, resources
from .elasticsearch import Elasticsearch, ElasticsearchServer
from .hooks import Hooks
from .kibana import Kibana, KibanaServer

PODS = resources.storage_key("", "pods")
STATEFULSETS = resources.storage_key("apps", "statefulsets")
DEPLOYMENTS = resources.storage_key("apps", "deployments")
DAEMONSETS = resources.storage_key("apps", "daemonsets")
SECRETS = resources.storage_key("", "secrets")
CONFIGMAPS = resources.storage_key("", "configmaps")
NODES = resources.storage_key("", "nodes")

FALCO_LABELS = (("app.kubernetes.io/name", "falco"), ("app", "falco"))
FLUENTD_LABELS = (("app.kubernetes.io/name", "fluentd"), ("k8s-app", "fluentd-es"))
GENERATOR_LABELS = (("app.kubernetes.io/name", "event-generator"), ("app", "event-generator"))


@dataclass
class StackConfig:
    """Names as the efk role creates them; the runbook's kube-system works too."""
    profile: str = "8"
    namespaces: tuple[str, ...] = ("logging", "kube-system")
    elasticsearch_service: str = "elasticsearch-logging"
    elasticsearch_statefulset: str = "elasticsearch-logging"
    kibana_service: str = "kibana-logging"
    kibana_deployment: str = "kibana-logging"
    elastic_password: str = "changeme"
    seed: int = 0
    alert_speed: float = 1.0
    tick: float = 0.25


def _has_label(pod: dict[str, Any], choices: tuple[tuple[str, str], ...]) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return any(labels.get(key) == value for key, value in choices)


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or ())


class Unresolvable(Exception):
    """An env var or volume the kubelet could not provide (the pod would sit in CreateContainerConfigError / ContainerCreating)."""


def resolve_env(store, namespace: str, env: list[dict[str, Any]] | None) -> tuple[dict[str, str], list[str]]:
    """The values of a container's ``env`` list as the kubelet computes them: (values, problems).

    ``value`` is taken as is ($(VAR) references are not expanded); ``valueFrom.secretKeyRef`` reads the Secret's base64
    ``data`` (the API server folds stringData into data, so data is all there is); ``configMapKeyRef`` reads ``data``.
    A missing object or key is a problem (the kubelet's wording) unless the reference is ``optional``; other sources
    (fieldRef, resourceFieldRef) are left out.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    for item in env or ():
        name = item.get("name")
        if not name:
            continue
        if "value" in item:
            values[name] = "" if item["value"] is None else str(item["value"])
            continue
        source = item.get("valueFrom") or {}
        try:
            if "secretKeyRef" in source:
                value = _key_ref(store, namespace, source["secretKeyRef"], secret=True)
            elif "configMapKeyRef" in source:
                value = _key_ref(store, namespace, source["configMapKeyRef"], secret=False)
            else:
                continue
        except Unresolvable as err:
            problems.append(str(err))
            continue
        if value is not None:
            values[name] = value
    return values, problems


def _key_ref(store, namespace: str, ref: dict[str, Any], secret: bool) -> str | None:
    obj_name, key = ref.get("name", ""), ref.get("key", "")
    obj = store.peek(SECRETS if secret else CONFIGMAPS, namespace, obj_name)
    kind = "Secret" if secret else "ConfigMap"
    if obj is None:
        if ref.get("optional"):
            return None
        raise Unresolvable(f'{"secret" if secret else "configmap"} "{obj_name}" not found')
    data = obj.get("data") or {}
    if key not in data and not (not secret and key in (obj.get("binaryData") or {})):
        if ref.get("optional"):
            return None
        raise Unresolvable(f"couldn't find key {key} in {kind} {namespace}/{obj_name}")
    if secret:
        return base64.b64decode(data[key]).decode("utf-8", "replace")
    if key in data:
        return str(data[key])
    return base64.b64decode(obj["binaryData"][key]).decode("utf-8", "replace")


def flatten_settings(value: Any, prefix: str = "") -> dict[str, Any]:
    """elasticsearch.yml as flat dotted keys: ES accepts nested maps and dotted keys alike (and mixes of both)."""
    out: dict[str, Any] = {}
    if not isinstance(value, dict):
        return out
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(flatten_settings(item, path + "."))
        else:
            out[path] = item
    return out


def _as_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _as_list(value: Any) -> list[str]:
    # ES list settings accept a YAML list or a comma-separated string
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload.get("spec", {}).get("template", {}).get("spec", {}) or {}


def _container(spec: dict[str, Any], name: str, init: bool = False) -> dict[str, Any] | None:
    containers = spec.get("initContainers" if init else "containers") or []
    named = next((c for c in containers if c.get("name") == name), None)
    return named if named is not None or init else next(iter(containers), None)


def _config_map_volume(spec: dict[str, Any], volume: str = "config") -> str | None:
    for vol in spec.get("volumes") or ():
        if vol.get("name") == volume and vol.get("configMap"):
            return vol["configMap"].get("name")
    return None


def fluent_conf_template(conf: str) -> dict[str, Any] | None:
    """template_name / template_file / template_overwrite / use_legacy_template of fluent.conf's elasticsearch output, or None.

    Only the first ``<match>`` section whose ``@type`` is elasticsearch counts (the one Fluentd ships alerts with).
    """
    for section in re.finditer(r"<match\b[^>]*>(.*?)</match>", conf, re.S):
        params: dict[str, str] = {}
        depth = 0  # parameters of nested sections (<buffer>, <format>) are not the output's own
        for line in section.group(1).splitlines():
            stripped = line.strip()
            if stripped.startswith("</"):
                depth -= 1
                continue
            if stripped.startswith("<"):
                depth += 1
                continue
            parts = [] if stripped.startswith("#") or depth else stripped.split(None, 1)
            if len(parts) == 2:
                params[parts[0]] = parts[1].strip().strip("\"'")
        if params.get("@type") != "elasticsearch":
            continue
        if not params.get("template_name") or not params.get("template_file"):
            return None
        return {"name": params["template_name"], "file": params["template_file"],
                "overwrite": _as_bool(params.get("template_overwrite"), False),
                "legacy": _as_bool(params.get("use_legacy_template"), True)}  # the plugin's defaults
    return None


@dataclass
class FluentdSetup:
    """How the Fluentd DaemonSet reaches Elasticsearch; ``blocked`` says why it cannot start at all."""
    namespace: str
    name: str
    user: str | None = None
    password: str | None = None
    template: dict[str, Any] | None = None  # name, body, overwrite, legacy
    # fluent.conf's dedot filters (tag pattern, de_dot_nested): the records they match reach Elasticsearch with "_" for ".".
    dedot: list[tuple[str, bool]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def key(self) -> str:
        """What identifies one Fluentd start: a change means the pods restart and install their template again."""
        return json.dumps([self.namespace, self.name, self.user, self.password, self.template], sort_keys=True)

    def headers(self) -> dict[str, str]:
        """The plugin's request headers (Basic auth when user and password are set)."""
        headers = {"Content-Type": "application/json"}
        if self.user is not None and self.password is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return headers


class Stack:
    """Elasticsearch and Kibana servers plus the alert loop, attached to one Cluster."""

    def __init__(self, cluster, config: StackConfig | None = None):
        self.cluster = cluster
        self.config = config or StackConfig()
        self.es_hooks, self.kibana_hooks = Hooks(), Hooks()
        self.es = Elasticsearch(profile=self.config.profile, elastic_password=self.config.elastic_password, health=self.elasticsearch_health)
        self.kibana = Kibana(profile=self.config.profile, es=self.es)
        self.es_server = ElasticsearchServer(self.es, hooks=self.es_hooks)
        self.kibana_server = KibanaServer(self.kibana, hooks=self.kibana_hooks)
        # Elasticsearch and Kibana at addresses of their own over TLS, as an ingress serves them (serve_ingress).
        self.ingress: dict[str, Any] = {}
        self.stream = alerts.AlertStream(seed=self.config.seed)
        self.pending: list[dict[str, Any]] = []
        self.delivered = 0
        # What a kubelet or the pods' logs would show right now (missing Secrets, refused credentials, 403s); rebuilt every tick.
        self.problems: list[str] = []
        self._es_applied: dict[str, Any] | None = None
        self._fluentd_started: str | None = None
        self._last = time.time()
        self._stop = threading.Event()
        for namespace in self.config.namespaces:
            cluster.backends[(namespace, self.config.elasticsearch_service)] = self.es_server.url
            cluster.backends[(namespace, self.config.kibana_service)] = self.kibana_server.url
        cluster.stack = self

    # -------------------------------------------------------------- cluster state
    def _find(self, key: str, name: str) -> dict[str, Any] | None:
        for namespace in self.config.namespaces:
            obj = self.cluster.store.peek(key, namespace, name)
            if obj is not None:
                return obj
        return None

    def elasticsearch_health(self) -> tuple[int, int] | None:
        """(ready, desired) pods of the Elasticsearch StatefulSet; None while none is ready."""
        sts = self._find(STATEFULSETS, self.config.elasticsearch_statefulset)
        if sts is None:
            return None
        ready = int(sts.get("status", {}).get("readyReplicas") or 0)
        return (ready, int(sts.get("spec", {}).get("replicas", 1))) if ready else None

    def _find_ns(self, key: str, name: str) -> tuple[str, dict[str, Any]] | None:
        for namespace in self.config.namespaces:
            obj = self.cluster.store.peek(key, namespace, name)
            if obj is not None:
                return namespace, obj
        return None

    def _kibana_base_path(self, problems: list[str] | None = None) -> None:
        found = self._find_ns(DEPLOYMENTS, self.config.kibana_deployment)
        if found is None:
            return
        namespace, deployment = found
        env: dict[str, str] = {}
        for container in _pod_spec(deployment).get("containers") or ():
            values, missing = resolve_env(self.cluster.store, namespace, container.get("env"))
            env.update(values)
            if problems is not None:
                problems.extend(f"kibana: {container.get('name')}: CreateContainerConfigError: {m}" for m in missing)
        self.kibana.base_path = (env.get("SERVER_BASEPATH") or "").rstrip("/")
        self.kibana.rewrite_base_path = str(env.get("SERVER_REWRITEBASEPATH", "false")).lower() == "true"
        # Kibana's own connection to Elasticsearch (None when the Deployment names no user: the old behaviour)
        self.kibana.es_username = env.get("ELASTICSEARCH_USERNAME")
        self.kibana.es_password = env.get("ELASTICSEARCH_PASSWORD")
        problem = self.kibana.es_connection_problem()
        if problem and problems is not None:
            problems.append(f"kibana: {problem}")

    # -------------------------------------------------------------- Elasticsearch configuration
    def _configure_elasticsearch(self, problems: list[str]) -> None:
        """Apply the StatefulSet's config ConfigMap, ELASTIC_PASSWORD and file realm to the emulator when they changed."""
        found = self._find_ns(STATEFULSETS, self.config.elasticsearch_statefulset)
        if found is None:
            return
        namespace, sts = found
        spec = _pod_spec(sts)
        main = _container(spec, "elasticsearch")
        init = _container(spec, "file-realm", init=True)
        config_name = _config_map_volume(spec)
        env, missing = resolve_env(self.cluster.store, namespace, (main or {}).get("env"))
        if config_name is None and init is None and "ELASTIC_PASSWORD" not in env and not missing:
            return  # a bare StatefulSet (older tests): the emulator keeps its constructor settings
        previous = self._es_applied or {}
        desired: dict[str, Any] = {"enabled": previous.get("enabled"), "file_roles": previous.get("file_roles"),
                                   "anonymous": previous.get("anonymous"), "file_users": previous.get("file_users"),
                                   "elastic_bootstrap_password": env.get("ELASTIC_PASSWORD")}
        problems.extend(f"elasticsearch: elasticsearch: CreateContainerConfigError: {m}" for m in missing)
        if config_name is not None:
            config_map = self.cluster.store.peek(CONFIGMAPS, namespace, config_name)
            if config_map is None:
                problems.append(f'elasticsearch: MountVolume.SetUp failed for volume "config" : configmap "{config_name}" not found')
            else:
                self._read_es_config(config_map.get("data") or {}, desired, problems)
        if init is not None:
            users = self._file_realm_users(namespace, init, problems)
            if users is not None:
                desired["file_users"] = users
        if desired != self._es_applied:
            self.es.configure_security(**desired)
            self._es_applied = desired

    def _read_es_config(self, data: dict[str, str], desired: dict[str, Any], problems: list[str]) -> None:
        try:
            settings = flatten_settings(yaml.safe_load(data.get("elasticsearch.yml") or "") or {})
            roles = yaml.safe_load(data.get("roles.yml") or "") or {}
        except yaml.YAMLError as err:
            # the node refuses to start on an unparsable file; nothing of it is applied
            problems.append(f"elasticsearch: cannot parse the config ConfigMap: {err}")
            return
        desired["enabled"] = _as_bool(settings.get("xpack.security.enabled"), self.config.profile != "7.17")
        desired["file_roles"] = roles if isinstance(roles, dict) else {}
        anonymous_roles = _as_list(settings.get("xpack.security.authc.anonymous.roles"))
        desired["anonymous"] = None if not anonymous_roles else {
            "username": str(settings.get("xpack.security.authc.anonymous.username") or "_anonymous"), "roles": anonymous_roles,
            "authz_exception": _as_bool(settings.get("xpack.security.authc.anonymous.authz_exception"), True)}

    def _file_realm_users(self, namespace: str, init: dict[str, Any], problems: list[str]) -> dict[str, dict[str, Any]] | None:
        """The users ``elasticsearch-users useradd`` writes from the init container's env; None when it cannot run."""
        env, missing = resolve_env(self.cluster.store, namespace, init.get("env"))
        if missing:
            problems.extend(f"elasticsearch: file-realm: CreateContainerConfigError: {m}" for m in missing)
            return None
        users: dict[str, dict[str, Any]] = {}
        for prefix in (env.get("FILE_REALM_USERS") or "").split():
            username, password = env.get(f"{prefix}_USERNAME"), env.get(f"{prefix}_PASSWORD")
            if not username or password is None:
                problems.append(f"elasticsearch: file-realm: {prefix}_USERNAME / {prefix}_PASSWORD not set")
                return None
            if len(password) < 6:
                # elasticsearch-users refuses it and the init container fails
                problems.append("elasticsearch: file-realm: ERROR: Invalid password...passwords must be at least [6] characters long")
                return None
            users[username] = {"password": password, "roles": _as_list(env.get(f"{prefix}_ROLES"))}
        return users

    # -------------------------------------------------------------- Fluentd
    def _fluentd_setup(self, problems: list[str]) -> FluentdSetup | None:
        """The Fluentd DaemonSet's connection settings; None for a bare DaemonSet (in-process delivery, as before)."""
        for namespace in self.config.namespaces:
            for daemonset in self.cluster.store.items(DAEMONSETS, namespace):
                labels = (daemonset.get("spec", {}).get("template", {}).get("metadata") or {}).get("labels") or {}
                if not any(labels.get(k) == v for k, v in FLUENTD_LABELS):
                    continue
                return self._fluentd_from(namespace, daemonset, problems)
        return None

    def _fluentd_from(self, namespace: str, daemonset: dict[str, Any], problems: list[str]) -> FluentdSetup | None:
        spec = _pod_spec(daemonset)
        container = _container(spec, "fluentd") or {}
        declared = {e.get("name") for e in container.get("env") or ()}
        config_name = _config_map_volume(spec)
        if "FLUENT_ELASTICSEARCH_USER" not in declared and config_name is None:
            return None
        setup = FluentdSetup(namespace, daemonset["metadata"]["name"])
        env, missing = resolve_env(self.cluster.store, namespace, container.get("env"))
        setup.blocked.extend(f"fluentd: {container.get('name')}: CreateContainerConfigError: {m}" for m in missing)
        setup.user, setup.password = env.get("FLUENT_ELASTICSEARCH_USER"), env.get("FLUENT_ELASTICSEARCH_PASSWORD")
        if config_name is not None:
            config_map = self.cluster.store.peek(CONFIGMAPS, namespace, config_name)
            if config_map is None:
                setup.blocked.append(f'fluentd: MountVolume.SetUp failed for volume "config" : configmap "{config_name}" not found')
            else:
                self._fluentd_template(setup, config_map.get("data") or {})
        problems.extend(setup.blocked)
        return setup

    @staticmethod
    def _fluentd_template(setup: FluentdSetup, data: dict[str, str]) -> None:
        conf = contracts.fluentd.parse(data.get("fluent.conf") or "")
        setup.dedot = [(d.arg, d.params.get("de_dot_nested") == "true") for d in contracts.fluentd.dedot_filters(conf)]
        wanted = fluent_conf_template(data.get("fluent.conf") or "")
        if wanted is None:
            return
        key = wanted["file"].rsplit("/", 1)[-1]
        if key not in data:
            # the plugin cannot read template_file and fails to start
            setup.blocked.append(f"fluentd: template_file {wanted['file']} not found (no key {key} in the config ConfigMap)")
            return
        try:
            body = json.loads(data[key])
        except ValueError as err:
            setup.blocked.append(f"fluentd: template_file {wanted['file']} is not JSON: {err}")
            return
        setup.template = {"name": wanted["name"], "body": body, "overwrite": wanted["overwrite"], "legacy": wanted["legacy"]}

    def _es_call(self, setup: FluentdSetup, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = setup.headers()
        if path.endswith("_bulk"):
            headers["Content-Type"] = "application/x-ndjson"
        response = self.es.handle(method, path, headers, data)
        try:
            return response.status, response.json()
        except ValueError:
            return response.status, None

    def _start_fluentd(self, setup: FluentdSetup, problems: list[str]) -> bool:
        """What the plugin does before its first write: check the cluster (GET /), then install its template. True when done."""
        if self._fluentd_started == setup.key():
            return True
        status, body = self._es_call(setup, "GET", "/")
        if status != 200:
            problems.append(f"fluentd: GET / answered {status}: {_reason(body)}")
            return False
        template = setup.template
        if template is not None:
            path = ("/_template/" if template["legacy"] else "/_index_template/") + template["name"]
            install = True
            if not template["overwrite"]:
                status, body = self._es_call(setup, "HEAD", path)
                if status not in (200, 404):
                    problems.append(f"fluentd: HEAD {path} answered {status}: {_reason(body)}")
                    return False
                install = status == 404
            if install:
                status, body = self._es_call(setup, "PUT", path, template["body"])
                if status != 200:
                    problems.append(f"fluentd: Failed to install template {template['name']}: PUT {path} answered {status}: {_reason(body)}")
                    return False
        self._fluentd_started = setup.key()
        return True

    def _bulk(self, setup: FluentdSetup, problems: list[str]) -> int:
        """Send the buffer as one _bulk as the Fluentd user; keep what was refused for a retry. The number delivered."""
        lines = []
        for doc in self.pending:
            lines.append(json.dumps({"index": {"_index": alerts.index_name(_epoch(doc))}}))
            lines.append(json.dumps(_through_dedot(doc, setup.dedot)))
        status, body = self._es_call(setup, "POST", "/_bulk", ("\n".join(lines) + "\n").encode())
        if status != 200:
            problems.append(f"fluentd: _bulk answered {status}: {_reason(body)}")
            return 0
        kept, delivered = [], 0
        for doc, item in zip(self.pending, body.get("items") or ()):
            result = next(iter(item.values()))
            if "error" not in result:
                delivered += 1
            elif int(result.get("status", 500)) in (401, 403, 429) or int(result.get("status", 500)) >= 500:
                kept.append(doc)  # retried from the buffer, as the plugin does for these
                if not any(p.startswith("fluentd: _bulk item") for p in problems):
                    problems.append(f"fluentd: _bulk item {result.get('status')}: {_reason({'error': result['error']})}")
            # other item errors (mapping conflicts) go to the plugin's error stream: dropped
        self.pending = kept
        return delivered

    def _sources(self) -> tuple[list[alerts.FalcoPod], frozenset[str], dict[str, alerts.GeneratorLoop], dict[str, alerts.Workload]]:
        pods = [p for p in self.cluster.store.items(PODS) if _ready(p) and p.get("spec", {}).get("nodeName")]
        shipping = {p["spec"]["nodeName"] for p in pods if _has_label(p, FLUENTD_LABELS)}
        check = getattr(self.cluster, "images", None)
        falco = []
        for pod in pods:
            node = pod["spec"]["nodeName"]
            if node in shipping and _has_label(pod, FALCO_LABELS):
                meta = pod["metadata"]
                container = next(iter(pod["spec"].get("containers") or ()), {})
                statuses = pod.get("status", {}).get("containerStatuses") or [{}]
                node_obj = self.cluster.store.peek(NODES, "", node) or {}
                # What its configuration makes of its alerts, as the real image would (the image contracts).
                degrades = frozenset(images.degradations(check, pod, node_obj)) if check else frozenset()
                priority = images.falco_priority(check, pod, node_obj) if check else "debug"
                falco.append(alerts.FalcoPod(node=node, pod_name=meta["name"], namespace=meta["namespace"], pod_uid=meta.get("uid", ""),
                                             container_id=statuses[0].get("containerID", ""), labels=dict(meta.get("labels") or {}),
                                             image=container.get("image", "falcosecurity/falco"), degrades=degrades,
                                             minimum_priority=priority))
        generators = frozenset(p["spec"]["nodeName"] for p in pods if _has_label(p, GENERATOR_LABELS))
        priorities = {f.node: f.minimum_priority for f in falco}
        loops: dict[str, alerts.GeneratorLoop] = {}
        actors: dict[str, alerts.Workload] = {}
        for pod in pods:
            node = pod["spec"]["nodeName"]
            if node in priorities and _has_label(pod, GENERATOR_LABELS):
                actors[node] = _generator_workload(pod)
                found = images.generator_loop(check, pod, self.cluster.store.peek(NODES, "", node) or {}, priorities[node]) if check else None
                if found is not None:
                    loops[node] = alerts.GeneratorLoop(per_hour=found[0], weights=found[1])
        return falco, generators, loops, actors

    # -------------------------------------------------------------- the loop
    def tick(self, now: float | None = None) -> int:
        """Generate the alerts since the last tick and deliver what Elasticsearch can take."""
        now = time.time() if now is None else now
        problems: list[str] = []
        try:
            self._configure_elasticsearch(problems)
            self._kibana_base_path(problems)
            return self._deliver(now, problems)
        finally:
            self.problems = problems

    def _deliver(self, now: float, problems: list[str]) -> int:
        falco, generators, loops, actors = self._sources()
        if falco:
            self.pending.extend(self.stream.alerts(falco, self._last, now, generators, self.config.alert_speed, loops=loops,
                                                   generators=actors))
        self._last = now
        setup = self._fluentd_setup(problems)
        if setup is not None:
            if setup.blocked or self.elasticsearch_health() is None or not self._fluentd_running():
                return 0  # pods not running, or Elasticsearch down: Fluentd keeps its buffer
            if not self._start_fluentd(setup, problems) or not self.pending:
                return 0
            count = self._bulk(setup, problems)
            self.delivered += count
            return count
        if not self.pending or self.elasticsearch_health() is None:
            return 0  # Fluentd keeps its buffer until Elasticsearch answers
        by_index: dict[str, list[dict[str, Any]]] = {}
        for doc in self.pending:
            by_index.setdefault(alerts.index_name(_epoch(doc)), []).append(doc)
        for index, docs in by_index.items():
            self.es.index_documents(index, [alerts.dedot(doc) for doc in docs])  # as the efk role's fluent.conf stores Falco's records
        count, self.pending = len(self.pending), []
        self.delivered += count
        return count

    def _fluentd_running(self) -> bool:
        return any(_ready(p) and _has_label(p, FLUENTD_LABELS) for p in self.cluster.store.items(PODS))

    def serve_ingress(self, cert: str, key: str, ca_path: str) -> None:
        """Also serve Elasticsearch and Kibana over HTTPS at addresses of their own (certificate ``cert``/``key``, signed by
        the CA at ``ca_path``), as an ingress or load balancer in front of the Services would: clients reach them
        without the API server's service proxy. Same engines, same request logs and faults."""
        self.ingress = {"elasticsearch": ElasticsearchServer(self.es, hooks=self.es_hooks, tls=(cert, key),
                                                             backend_down=lambda: not self._serving(self.config.elasticsearch_service)),
                        "kibana": KibanaServer(self.kibana, hooks=self.kibana_hooks, tls=(cert, key),
                                               backend_down=lambda: not self._serving(self.config.kibana_service)),
                        "ca": ca_path}

    def _serving(self, service_name: str) -> bool:
        """Whether the Service has a ready endpoint in one of the stack's namespaces (what an ingress forwards to)."""
        for namespace in self.config.namespaces:
            service = self.cluster.store.peek(resources.storage_key("", "services"), namespace, service_name)
            if service is not None and self.cluster.has_ready_endpoints(service):
                return True
        return False

    def _servers(self) -> list[Any]:
        return [self.es_server, self.kibana_server] + [s for k, s in self.ingress.items() if k != "ca"]

    def start(self) -> None:
        """Serve Elasticsearch and Kibana and run the alert loop in the background."""
        for server in self._servers():
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        threading.Thread(target=self._loop, name="localcluster-alerts", daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.wait(self.config.tick):
            try:
                self.tick()
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()

    def stop(self) -> None:
        """Stop the loop and both servers."""
        self._stop.set()
        for server in self._servers():
            server.shutdown()
            server.server_close()

    def endpoints(self) -> dict[str, Any]:
        """What endpoints.json says about the stack."""
        services = [{"namespace": ns, "service": svc, "backend": url}
                    for ns in self.config.namespaces
                    for svc, url in ((self.config.elasticsearch_service, self.es_server.url), (self.config.kibana_service, self.kibana_server.url))]
        found = {
            "stack": self.config.profile,
            "elasticsearch": {"url": self.es_server.url, "username": "elastic", "password": self.config.elastic_password,
                              "version": self.es.version, "hooks": self.es_server.url + "/_localcluster"},
            "kibana": {"url": self.kibana_server.url, "version": self.kibana.version, "hooks": self.kibana_server.url + "/_localcluster"},
            "services": services,
        }
        if self.ingress:
            # https://127.0.0.1:<port>, with the CA that signed its certificate.
            for name in ("elasticsearch", "kibana"):
                found[name].update(ingress_url=self.ingress[name].url, ca=self.ingress["ca"])
        return found


def _through_dedot(doc: dict[str, Any], filters: list[tuple[str, bool]]) -> dict[str, Any]:
    """The document after the dedot filters whose pattern matches in_tail's tag for its container's log."""
    meta = doc.get("kubernetes") or {}
    tag = contracts.fluentd.container_tag(meta.get("pod_name", ""), meta.get("namespace_name", ""), meta.get("container_name", ""))
    for pattern, nested in filters:
        if contracts.fluentd.tag_matches(pattern, tag):
            doc = alerts.dedot(doc, nested)
    return doc


def _generator_workload(pod: dict[str, Any]) -> alerts.Workload:
    """The event-generator pod as Falco sees its processes: its pod and container, image and command line."""
    meta = pod["metadata"]
    container = next(iter(pod["spec"].get("containers") or ()), {})
    status = next(iter((pod.get("status") or {}).get("containerStatuses") or ()), {})
    image = alerts.qualified_image(container.get("image", "falcosecurity/event-generator"))
    repository, _sep, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    args = [str(a) for a in container.get("args") or ()]
    return alerts.Workload(pod_name=meta["name"], namespace=meta["namespace"], container_name=container.get("name", "event-generator"),
                           image_repository=repository, image_tag=tag, container_id=status.get("containerID", "").split("://")[-1],
                           process="event-generator", cmdline=" ".join(["event-generator"] + args), exepath="/bin/event-generator",
                           pod_ip=(pod.get("status") or {}).get("podIP") or "10.244.0.10")


def _reason(body: Any) -> str:
    """An Elasticsearch error body's type and reason, as the plugin logs them."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f"[{body['error'].get('type')}] {body['error'].get('reason')}"
    return json.dumps(body) if body is not None else "(no body)"


def _epoch(doc: dict[str, Any]) -> float:
    """The alert's event time in epoch seconds (Falco's evt.time is in nanoseconds)."""
    return int(doc["output_fields"]["evt.time"]) / 1e9
