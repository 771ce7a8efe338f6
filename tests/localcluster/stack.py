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

Label contract (what the collection's roles put on their pods, as upstream does):
  Falco pods          app.kubernetes.io/name=falco or app=falco
  Fluentd pods        app.kubernetes.io/name=fluentd or k8s-app=fluentd-es
  event generator     app.kubernetes.io/name=event-generator or app=event-generator
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from . import alerts, resources
from .elasticsearch import Elasticsearch, ElasticsearchServer
from .hooks import Hooks
from .kibana import Kibana, KibanaServer

PODS = resources.storage_key("", "pods")
STATEFULSETS = resources.storage_key("apps", "statefulsets")
DEPLOYMENTS = resources.storage_key("apps", "deployments")

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
        self.stream = alerts.AlertStream(seed=self.config.seed)
        self.pending: list[dict[str, Any]] = []
        self.delivered = 0
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

    def _kibana_base_path(self) -> None:
        deployment = self._find(DEPLOYMENTS, self.config.kibana_deployment)
        if deployment is None:
            return
        env = {}
        for container in deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or ():
            env.update({e.get("name"): e.get("value") for e in container.get("env") or () if "value" in e})
        self.kibana.base_path = (env.get("SERVER_BASEPATH") or "").rstrip("/")
        self.kibana.rewrite_base_path = str(env.get("SERVER_REWRITEBASEPATH", "false")).lower() == "true"

    def _sources(self) -> tuple[list[alerts.FalcoPod], frozenset[str]]:
        pods = [p for p in self.cluster.store.items(PODS) if _ready(p) and p.get("spec", {}).get("nodeName")]
        shipping = {p["spec"]["nodeName"] for p in pods if _has_label(p, FLUENTD_LABELS)}
        falco = []
        for pod in pods:
            node = pod["spec"]["nodeName"]
            if node in shipping and _has_label(pod, FALCO_LABELS):
                meta = pod["metadata"]
                container = next(iter(pod["spec"].get("containers") or ()), {})
                statuses = pod.get("status", {}).get("containerStatuses") or [{}]
                falco.append(alerts.FalcoPod(node=node, pod_name=meta["name"], namespace=meta["namespace"], pod_uid=meta.get("uid", ""),
                                             container_id=statuses[0].get("containerID", ""), labels=dict(meta.get("labels") or {}),
                                             image=container.get("image", "falcosecurity/falco")))
        generators = frozenset(p["spec"]["nodeName"] for p in pods if _has_label(p, GENERATOR_LABELS))
        return falco, generators

    # -------------------------------------------------------------- the loop
    def tick(self, now: float | None = None) -> int:
        """Generate the alerts since the last tick and deliver what Elasticsearch can take."""
        now = time.time() if now is None else now
        self._kibana_base_path()
        falco, generators = self._sources()
        if falco:
            self.pending.extend(self.stream.alerts(falco, self._last, now, generators, self.config.alert_speed))
        self._last = now
        if not self.pending or self.elasticsearch_health() is None:
            return 0  # Fluentd keeps its buffer until Elasticsearch answers
        by_index: dict[str, list[dict[str, Any]]] = {}
        for doc in self.pending:
            by_index.setdefault(alerts.index_name(_epoch(doc)), []).append(doc)
        for index, docs in by_index.items():
            self.es.index_documents(index, docs)
        count, self.pending = len(self.pending), []
        self.delivered += count
        return count

    def start(self) -> None:
        """Serve Elasticsearch and Kibana and run the alert loop in the background."""
        for server in (self.es_server, self.kibana_server):
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
        for server in (self.es_server, self.kibana_server):
            server.shutdown()
            server.server_close()

    def endpoints(self) -> dict[str, Any]:
        """What endpoints.json says about the stack."""
        services = [{"namespace": ns, "service": svc, "backend": url}
                    for ns in self.config.namespaces
                    for svc, url in ((self.config.elasticsearch_service, self.es_server.url), (self.config.kibana_service, self.kibana_server.url))]
        return {
            "stack": self.config.profile,
            "elasticsearch": {"url": self.es_server.url, "username": "elastic", "password": self.config.elastic_password,
                              "version": self.es.version, "hooks": self.es_server.url + "/_localcluster"},
            "kibana": {"url": self.kibana_server.url, "version": self.kibana.version, "hooks": self.kibana_server.url + "/_localcluster"},
            "services": services,
        }


def _epoch(doc: dict[str, Any]) -> float:
    """The alert's event time in epoch seconds (Falco's evt.time is in nanoseconds)."""
    return int(doc["output_fields"]["evt.time"]) / 1e9
