"""pytest plugin: a local cluster per test module, and clients that talk to it as users do.

Enabled for the whole test suite by ``-p localcluster.pytest_plugin`` in pytest.ini.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from . import cli


_SELECTOR_FROM_LABELS = object()


def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (which is returned); AssertionError on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not reached within {timeout} s")


def workload(kind: str, name: str, labels: dict | None = None, selector: Any = _SELECTOR_FROM_LABELS, replicas: int | None = None,
             image: str = "busybox:1.36", api_version: str = "apps/v1") -> dict[str, Any]:
    """A minimal Deployment/DaemonSet/StatefulSet; ``selector=None`` leaves the selector out."""
    labels = labels or {"app": name}
    spec: dict[str, Any] = {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}}}
    if selector is _SELECTOR_FROM_LABELS:
        selector = {"matchLabels": labels}
    if selector is not None:
        spec["selector"] = selector
    if replicas is not None:
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


def serve(localcluster, namespace: str, kind: str, name: str, labels: dict, port: dict, image: str, container: dict,
          service: bool = True):
    """A Namespace (unless kube-system) and a Service (when ``service``) backed by a fresh Deployment or StatefulSet
    of one pod, as the efk role creates them; ``container`` updates the pod's only container. Returns the AppsV1Api."""
    from kubernetes import client  # pylint: disable=import-outside-toplevel
    api = localcluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    if namespace != "kube-system" and not core.list_namespace(field_selector="metadata.name=" + namespace).items:
        core.create_namespace({"metadata": {"name": namespace}})
    if service:
        core.create_namespaced_service(namespace, {"metadata": {"name": name}, "spec": {"selector": labels, "ports": [port]}})
    kinds = {"Deployment": ("deployment", apps.list_namespaced_deployment), "StatefulSet": ("stateful_set", apps.list_namespaced_stateful_set)}
    suffix, lister = kinds[kind]
    if lister(namespace, field_selector="metadata.name=" + name).items:
        getattr(apps, "delete_namespaced_" + suffix)(name, namespace)
        wait_for(lambda: not core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=" + name).items)
    obj = workload(kind, name, labels=labels, replicas=1, image=image)
    obj["spec"]["template"]["spec"]["containers"][0].update(container)
    getattr(apps, "create_namespaced_" + suffix)(namespace, obj)
    return apps


class LocalCluster:
    """A running local cluster and the ways a test reaches it."""

    def __init__(self, server, endpoints: dict[str, Any], directory: str):
        self.server = server
        self.cluster = server.cluster
        self.endpoints = endpoints
        self.dir = directory
        self.url = endpoints["kubernetes"]["url"]
        self.kubeconfig = endpoints["kubernetes"]["kubeconfig"]
        self.kubeconfig_restricted = endpoints["kubernetes"]["kubeconfig_restricted"]

    def api_client(self, restricted: bool = False):
        """A ``kubernetes.client.ApiClient`` from the kubeconfig, as kubernetes.core builds one."""
        from kubernetes import client, config  # pylint: disable=import-outside-toplevel
        configuration = client.Configuration()
        config.load_kube_config(config_file=self.kubeconfig_restricted if restricted else self.kubeconfig,
                                client_configuration=configuration)
        configuration.retries = 0
        return client.ApiClient(configuration)

    def hook(self, what: str, method: str = "GET", body: Any = None) -> Any:
        """Call a test hook (request log, faults, settings, backends) as the admin."""
        context = ssl.create_default_context(cafile=self.endpoints["kubernetes"]["ca"])
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_localcluster/{what}", data=data, method=method,
                                         headers={"Authorization": "Bearer " + self.endpoints["kubernetes"]["admin_token"],
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.load(answer)

    def http(self, method: str, path: str, body: Any = None, content_type: str = "application/json", restricted: bool = False,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        """A raw request as the admin (or restricted) user: (status, decoded JSON or text, headers)."""
        context = ssl.create_default_context(cafile=self.endpoints["kubernetes"]["ca"])
        token = self.endpoints["kubernetes"]["restricted_token" if restricted else "admin_token"]
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": "Bearer " + token, "Content-Type": content_type, **(headers or {})})
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as answer:
                code, raw, got = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as err:
            code, raw, got = err.code, err.read(), dict(err.headers)
        try:
            return code, json.loads(raw), got
        except ValueError:
            return code, raw.decode(errors="replace"), got

    def requests(self) -> list[dict[str, Any]]:
        """The request log."""
        return self.hook("requests")["requests"]

    def clear_requests(self) -> None:
        """Empty the request log."""
        self.hook("requests", "DELETE")

    def writes(self) -> list[dict[str, Any]]:
        """Requests that changed, or would have changed, the cluster (dry runs, access reviews and the run lock are not writes).

        Requests through the service proxy go to the backend (a Kibana login or search is a POST there): whether
        Elasticsearch or Kibana was written to is for their own request logs to say.
        """
        return [r for r in self.requests() if r["method"] in ("POST", "PUT", "PATCH", "DELETE") and not r["dry_run"]
                and not r["path"].endswith("reviews") and "/proxy/" not in r["path"] and not self.is_run_lock(r)]

    @staticmethod
    def is_run_lock(request: dict[str, Any]) -> bool:
        """The run lock (a Lease the playbooks take and release, as kubelets renew theirs) is the run's bookkeeping, not a
        change to the stack: a converged run takes and releases it and writes nothing else."""
        return request["path"].startswith("/apis/coordination.k8s.io/")

    def lock_writes(self) -> list[dict[str, Any]]:
        """The run lock's writes (see is_run_lock)."""
        return [r for r in self.requests() if r["method"] in ("POST", "PUT", "DELETE") and not r["dry_run"] and self.is_run_lock(r)]

    def kubectl(self, *args: str, restricted: bool = False, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run the PyPI kubectl against this cluster."""
        kubectl = os.path.join(os.path.dirname(sys.executable), "kubectl")
        env = dict(os.environ, KUBECONFIG=self.kubeconfig_restricted if restricted else self.kubeconfig, HOME=self.dir)
        result = subprocess.run([kubectl, *args], capture_output=True, text=True, env=env, input=stdin, timeout=120, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


def _start(tmp_path_factory, profile: str, nodes: str, stack: str | None = None) -> tuple[LocalCluster, Any]:
    directory = str(tmp_path_factory.mktemp(f"localcluster-{profile}"))
    server, endpoints = cli.start(directory, profile=profile, nodes=nodes, ready_delay=0.1, stack=stack, alert_speed=60.0)
    return LocalCluster(server, endpoints, directory), server


@pytest.fixture(scope="module")
def localcluster(request, tmp_path_factory):
    """A fresh cluster for the test module (profile 1.30, 3 GKE-like nodes, no logging stack unless
    parametrized indirectly with ``(profile, nodes)`` or ``(profile, nodes, stack)``; a fourth element, a
    label, gives a test a cluster of its own, which tests of the same parameters would otherwise share)."""
    params = tuple(getattr(request, "param", ("1.30", "gke")))
    handle, server = _start(tmp_path_factory, *params[:3])
    yield handle
    cli.stop(server)


@pytest.fixture(scope="module", params=["8", "7.17"])
def logging_stack(request, tmp_path_factory):
    """A 1.30 cluster with the Elasticsearch and Kibana emulators of each stack profile (alerts at 60x speed)."""
    handle, server = _start(tmp_path_factory, "1.30", "gke", request.param)
    yield handle
    cli.stop(server)


@pytest.fixture(scope="module", params=["1.8", "1.15", "1.30"])
def any_profile(request, tmp_path_factory):
    """One cluster per profile."""
    handle, server = _start(tmp_path_factory, request.param, "gke")
    yield handle
    cli.stop(server)
