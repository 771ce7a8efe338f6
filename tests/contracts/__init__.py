"""Image contracts: what each image the collection deploys needs to start and do its job, with the upstream file each fact
comes from, checked against pod templates.

The facts are data (``<image>.yml`` beside this file); the checks (``falco.py``, ``elastic.py``, ``fluentd.py``,
``generator.py``) read them. The unit tests hold every rendered manifest to them, and the local cluster's kubelet
simulation applies them, so a manifest that would crash a real container crashes there too.
"""

from __future__ import annotations

from typing import Any, Iterable

from . import elastic, falco, fluentd, generator
from .core import CONTRACTS, Cluster, Context, Node, Pod, Violation, contract_for, load

CHECKS = {**falco.CHECKS, **generator.CHECKS, **elastic.CHECKS, **fluentd.CHECKS}
WORKLOAD_KINDS = ("DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job")

__all__ = ["CONTRACTS", "CHECKS", "Cluster", "Node", "Violation", "check_pod", "check_objects", "falco_config", "generator_loop",
           "load", "contract_for"]


def check_pod(pod: dict[str, Any], namespace: str, cluster: Cluster, node: Node | None = None,
              owner: str = "") -> list[Violation]:
    """Every contract fact the pod (or pod template) breaks on ``node``; containers of images without a contract pass."""
    view = Pod(pod, namespace, cluster)
    if owner and not view.meta.get("name") and not view.meta.get("generateName"):
        view.meta = dict(view.meta, generateName=owner + "-")
    found: list[Violation] = []
    for init in (True, False):
        for container in view.containers(init=init):
            name, tag = contract_for(container.get("image", ""))
            if name is None:
                continue
            ctx = Context(pod=view, container=container, contract=name, tag=tag, node=node or Node(), init=init)
            found.extend(CHECKS[name](ctx).violations())
    return found


def check_objects(objects: Iterable[dict[str, Any]], cluster: Cluster | None = None, nodes: Iterable[Node] = (Node(),)) -> list[Violation]:
    """Every violation in the workloads among ``objects`` (their ConfigMaps and Secrets taken from the same list), per node kind."""
    objects = list(objects)
    cluster = cluster or Cluster()
    if not cluster.configmaps and not cluster.secrets:
        cluster = Cluster.from_objects(objects, cluster.kubernetes, cluster.elasticsearch_major)
    found: list[Violation] = []
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        meta = obj.get("metadata") or {}
        for node in nodes:
            for violation in check_pod((obj.get("spec") or {}).get("template") or {}, meta.get("namespace", ""), cluster, node,
                                       owner=meta.get("name", "")):
                if violation not in found:
                    found.append(violation)
    return found


def _context(pod: dict[str, Any], namespace: str, cluster: Cluster, node: Node | None, contract: str) -> Context | None:
    view = Pod(pod, namespace, cluster)
    for container in view.containers():
        name, tag = contract_for(container.get("image", ""))
        if name == contract:
            return Context(pod=view, container=container, contract=name, tag=tag, node=node or Node())
    return None


def falco_config(pod: dict[str, Any], namespace: str, cluster: Cluster, node: Node | None = None) -> dict[str, Any]:
    """The configuration the pod's Falco container runs with (the image's falco.yaml with config_files merged); {} without Falco."""
    ctx = _context(pod, namespace, cluster, node, falco.FALCO)
    return falco.FalcoCheck(ctx).config if ctx else {}


def generator_loop(pod: dict[str, Any], namespace: str, cluster: Cluster, node: Node | None = None,
                   minimum_priority: str = "debug") -> generator.Loop | None:
    """One loop of the pod's event generator as Falco sees it at ``minimum_priority``; None without a generator."""
    ctx = _context(pod, namespace, cluster, node, generator.GENERATOR)
    if ctx is None:
        return None
    return generator.loop(generator.generator_args(ctx.container), generator.what_it_has(ctx), minimum_priority)
