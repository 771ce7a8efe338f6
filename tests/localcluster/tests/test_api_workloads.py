"""Workload simulation seen through the API: nodes, and workloads that become ready as on a real cluster."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from localcluster.pytest_plugin import wait_for, workload


def test_gke_node_set_looks_like_gke_nodes(localcluster):
    nodes = client.CoreV1Api(localcluster.api_client()).list_node().items
    assert len(nodes) == 3
    for node in nodes:
        assert node.metadata.labels["cloud.google.com/gke-os-distribution"] in ("ubuntu", "cos")
        assert node.metadata.labels["node.kubernetes.io/instance-type"]
        assert node.status.node_info.kernel_version and node.status.node_info.container_runtime_version.startswith("containerd://")
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


def test_deployment_becomes_available_with_real_status_fields(localcluster):
    apps = client.AppsV1Api(localcluster.api_client())
    apps.create_namespaced_deployment("default", workload("Deployment", "web", replicas=2))
    status = wait_for(lambda: (d := apps.read_namespaced_deployment("web", "default")).status.ready_replicas == 2 and d.status)
    assert status.observed_generation == 1 and status.updated_replicas == 2 and status.available_replicas == 2
    assert any(c.type == "Available" and c.status == "True" for c in status.conditions)
    pods = client.CoreV1Api(localcluster.api_client()).list_namespaced_pod("default", label_selector="app=web").items
    assert len(pods) == 2 and all(p.spec.node_name for p in pods)


def test_daemonset_runs_one_ready_pod_per_node(localcluster):
    apps = client.AppsV1Api(localcluster.api_client())
    apps.create_namespaced_daemon_set("default", workload("DaemonSet", "agent"))
    status = wait_for(lambda: (d := apps.read_namespaced_daemon_set("agent", "default")).status.number_ready == 3 and d.status)
    assert status.desired_number_scheduled == 3 and status.number_available == 3 and status.observed_generation == 1


def test_statefulset_pods_start_in_order(localcluster):
    apps = client.AppsV1Api(localcluster.api_client())
    core = client.CoreV1Api(localcluster.api_client())
    apps.create_namespaced_stateful_set("default", workload("StatefulSet", "es", replicas=3))
    first_seen = {}

    def all_ready():
        for pod in core.list_namespaced_pod("default", label_selector="app=es").items:
            first_seen.setdefault(pod.metadata.name, time.time())
        return apps.read_namespaced_stateful_set("es", "default").status.ready_replicas == 3

    wait_for(all_ready)
    assert sorted(first_seen, key=first_seen.get) == ["es-0", "es-1", "es-2"]


def test_a_workload_kept_unready_never_becomes_ready(localcluster):
    localcluster.hook("settings", "POST", {"never_ready": ["default/stuck"]})
    apps = client.AppsV1Api(localcluster.api_client())
    apps.create_namespaced_deployment("default", workload("Deployment", "stuck"))
    time.sleep(1.0)
    status = apps.read_namespaced_deployment("stuck", "default").status
    assert not status.ready_replicas and status.replicas == 1


@pytest.mark.parametrize("localcluster", [("1.30", "notready")], indirect=True)
def test_daemonset_on_a_notready_node(localcluster):
    apps = client.AppsV1Api(localcluster.api_client())
    # An ordinary DaemonSet does not tolerate the not-ready:NoSchedule taint: the node is not even desired.
    apps.create_namespaced_daemon_set("default", workload("DaemonSet", "plain"))
    status = wait_for(lambda: (d := apps.read_namespaced_daemon_set("plain", "default")).status.number_ready == 2 and d.status)
    assert status.desired_number_scheduled == 2
    # One that tolerates everything (as Falco's does) lands there too, and its pod never becomes ready.
    body = workload("DaemonSet", "tolerant")
    body["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    apps.create_namespaced_daemon_set("default", body)
    status = wait_for(lambda: (d := apps.read_namespaced_daemon_set("tolerant", "default")).status.number_ready == 2 and d.status)
    time.sleep(0.5)
    status = apps.read_namespaced_daemon_set("tolerant", "default").status
    assert status.desired_number_scheduled == 3 and status.number_ready == 2 and status.number_unavailable == 1
