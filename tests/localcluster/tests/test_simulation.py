"""Tests of the workload simulation: node sets, controllers, scheduler and kubelet."""
# pylint: disable=missing-function-docstring  # test names say what each one checks

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

import pytest

from localcluster import simulation as sim
from localcluster.simulation import Action, SimSettings, node_set, reconcile

T0 = 1_720_000_000.0
RESOURCES = ("nodes", "pods", "deployments", "replicasets", "statefulsets", "daemonsets", "persistentvolumeclaims")


class Cluster:
    """A tiny store: applies Actions as the server would (uids, generation, creationTimestamp)."""

    def __init__(self, nodes: str = "gke", profile: str = "1.30", settings: SimSettings | None = None):
        self.profile = profile
        self.settings = settings or SimSettings(profile=profile)
        self.now = T0
        self.store: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
        node_objs, extras = node_set(nodes, profile)
        for node in node_objs:
            self.create("nodes", node)
        for extra in extras:
            self.create(extra["kind"].lower() + "s", extra)
        self.writes: list[Action] = []

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as kube-apiserver would on create."""
        obj = sim._clone(obj)  # pylint: disable=protected-access
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", "" if resource == "nodes" else "default")
        meta["uid"] = str(uuid.uuid4())
        meta.setdefault("creationTimestamp", sim.rfc3339(self.now))
        if resource not in ("pods", "nodes"):
            meta["generation"] = 1
        self.store[resource][f"{meta['namespace']}/{meta['name']}"] = obj
        return obj

    def edit(self, resource: str, name: str, change, namespace: str = "default") -> None:
        """A user's update: spec changes bump metadata.generation."""
        obj = self.store[resource][f"{namespace}/{name}"]
        before = copy.deepcopy(obj.get("spec"))
        change(obj)
        if obj.get("spec") != before:
            obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1

    def delete(self, resource: str, name: str, namespace: str = "default") -> None:
        """A user's delete."""
        del self.store[resource][f"{namespace}/{name}"]

    def objects(self) -> dict[str, list[dict[str, Any]]]:
        """What the server hands to reconcile."""
        return {r: list(v.values()) for r, v in self.store.items()}

    def apply(self, actions: list[Action]) -> None:
        """Apply what reconcile returned."""
        for action in actions:
            key = f"{action.namespace}/{action.name}"
            if action.op == "create":
                assert key not in self.store[action.resource], f"create of existing {action.resource} {key}"
                self.create(action.resource, action.body)
            elif action.op == "delete":
                self.store[action.resource].pop(key, None)
            else:
                assert key in self.store[action.resource], f"{action.op} of missing {action.resource} {key}"
                current = self.store[action.resource][key]
                body = sim._clone(action.body)  # pylint: disable=protected-access
                body["metadata"]["uid"] = current["metadata"]["uid"]
                if action.op == "update_status":
                    assert {k: v for k, v in body.items() if k != "status"} == \
                        {k: v for k, v in current.items() if k != "status"}, "update_status changed more than status"
                self.store[action.resource][key] = body
        self.writes.extend(actions)

    def step(self, dt: float = 0.1) -> list[Action]:
        """One reconcile call at the current time, applied; then time moves on."""
        actions = reconcile(self.objects(), self.now, self.settings)
        self.apply(actions)
        self.now += dt
        return actions

    def settle(self, limit: int = 400, dt: float = 0.1) -> int:
        """Step until a call returns no action; the number of calls it took."""
        for count in range(limit):
            if not self.step(dt):
                # Nothing now; give ready delays a chance to elapse before calling it steady.
                idle = True
                for _unused in range(int(max(self.settings.ready_delay, 0) / dt) + 3):
                    if self.step(dt):
                        idle = False
                        break
                if idle:
                    return count
        raise AssertionError("no steady state")

    def get(self, resource: str, name: str, namespace: str = "default") -> dict[str, Any]:
        """One stored object."""
        return self.store[resource][f"{namespace}/{name}"]

    def pods(self, prefix: str = "", namespace: str = "default") -> list[dict[str, Any]]:
        """Pods whose name starts with prefix, by name."""
        return sorted((p for p in self.store["pods"].values()
                       if p["metadata"]["namespace"] == namespace and p["metadata"]["name"].startswith(prefix)),
                      key=lambda p: p["metadata"]["name"])

    def node_names(self) -> list[str]:
        """All node names."""
        return [n["metadata"]["name"] for n in self.store["nodes"].values()]


def container(name: str = "app", cpu: str | None = "100m", memory: str | None = "128Mi", image: str = "nginx:1.25") -> dict:
    """A container with requests."""
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"name": name, "image": image, "resources": {"requests": requests} if requests else {}}


def template(labels: dict[str, str], containers: list[dict] | None = None, **spec: Any) -> dict:
    """A pod template."""
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": containers or [container()], **spec}}


def deployment(name: str = "web", replicas: int = 3, api_version: str = "apps/v1", **spec: Any) -> dict:
    """A Deployment as a user writes it."""
    labels = {"app": name}
    body = {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template(labels)}
    body.update(spec)
    return {"apiVersion": api_version, "kind": "Deployment", "metadata": {"name": name, "namespace": "default"}, "spec": body}


def statefulset(name: str = "es", replicas: int = 3, claims: bool = True, **spec: Any) -> dict:
    """A StatefulSet with one volumeClaimTemplate."""
    labels = {"app": name}
    body: dict[str, Any] = {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                            "template": template(labels)}
    if claims:
        body["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}]
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": "default"}, "spec": body}


def daemonset(name: str = "falco", api_version: str = "apps/v1", **pod_spec: Any) -> dict:
    """A DaemonSet."""
    labels = {"app": name}
    return {"apiVersion": api_version, "kind": "DaemonSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}, "template": template(labels, **pod_spec)}}


def condition(obj: dict, ctype: str) -> dict | None:
    """A status condition by type."""
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == ctype), None)


def is_ready(pod: dict) -> bool:
    """What kubectl shows as READY for every container."""
    cond = condition(pod, "Ready")
    return pod["status"].get("phase") == "Running" and cond is not None and cond["status"] == "True"


# ------------------------------------------------------------------------------------------------
# Node sets


def test_default_node_set_is_three_ready_gke_nodes_with_gke_names():
    nodes, extras = node_set("gke", "1.30")
    assert len(nodes) == 3 and not extras
    for node in nodes:
        assert re.fullmatch(r"gke-seclog-default-pool-[0-9a-f]{8}-[a-z0-9]{4}", node["metadata"]["name"])
        assert condition(node, "Ready")["status"] == "True"
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == node["metadata"]["name"]


def test_node_names_are_deterministic_per_spec_and_differ_between_specs():
    first = [n["metadata"]["name"] for n in node_set("gke:5", "1.30")[0]]
    again = [n["metadata"]["name"] for n in node_set("gke:5", "1.30")[0]]
    other = [n["metadata"]["name"] for n in node_set("cos:5", "1.30")[0]]
    assert first == again and len(set(first)) == 5
    assert not set(first) & set(other)


@pytest.mark.parametrize("profile,present,absent", [
    ("1.30", ["kubernetes.io/os", "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone",
              "cloud.google.com/machine-family", "beta.kubernetes.io/arch"],
     ["failure-domain.beta.kubernetes.io/zone", "beta.kubernetes.io/instance-type"]),
    ("1.15", ["kubernetes.io/os", "beta.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/zone"],
     ["topology.kubernetes.io/zone", "node.kubernetes.io/instance-type"]),
    ("1.8", ["beta.kubernetes.io/os", "beta.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region"],
     ["kubernetes.io/os", "topology.kubernetes.io/region"]),
])
def test_node_labels_follow_the_release(profile, present, absent):
    labels = node_set("gke", profile)[0][0]["metadata"]["labels"]
    for key in present:
        assert key in labels, key
    for key in absent:
        assert key not in labels, key
    assert labels["cloud.google.com/gke-nodepool"] == "default-pool"
    assert labels["cloud.google.com/gke-os-distribution"] == "ubuntu"


@pytest.mark.parametrize("profile,kubelet,runtime", [
    ("1.30", r"v1\.30\.\d+-gke\.\d+", r"containerd://1\.7\.\d+"),
    ("1.15", r"v1\.15\.\d+-gke\.\d+", r"docker://"),
    ("1.8", r"v1\.8\.\d+-gke\.\d+", r"docker://17\.3\.2"),
])
def test_node_info_matches_the_profile(profile, kubelet, runtime):
    info = node_set("gke", profile)[0][0]["status"]["nodeInfo"]
    assert re.fullmatch(kubelet, info["kubeletVersion"])
    assert re.match(runtime, info["containerRuntimeVersion"])
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"


def _kernel(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


@pytest.mark.parametrize("spec,os_image,distribution,modern", [
    ("gke", "Ubuntu 22.04.4 LTS", "ubuntu", True),
    ("cos", "Container-Optimized OS from Google", "cos", True),
    ("old-kernel", "Ubuntu", "ubuntu", False),
])
def test_node_kinds_have_their_os_and_kernel(spec, os_image, distribution, modern):
    for node in node_set(spec, "1.30")[0]:
        info = node["status"]["nodeInfo"]
        assert info["osImage"].startswith(os_image)
        assert node["metadata"]["labels"]["cloud.google.com/gke-os-distribution"] == distribution
        assert (_kernel(info["kernelVersion"]) >= (5, 8)) is modern


def test_old_kernel_nodes_run_4_15():
    assert node_set("old-kernel", "1.30")[0][0]["status"]["nodeInfo"]["kernelVersion"] == "4.15.0-1027-gke"


def test_gke_nodes_have_e2_standard_4_capacity_and_allocatable():
    status = node_set("gke", "1.30")[0][0]["status"]
    assert status["capacity"]["cpu"] == "4" and status["allocatable"]["cpu"] == "3920m"
    assert status["allocatable"]["pods"] == "110"
    assert sim.parse_quantity(status["allocatable"]["memory"]) > 12 * 2 ** 30


def test_small_nodes_are_below_elasticsearch_minimum():
    for node in node_set("small:2", "1.30")[0]:
        allocatable = node["status"]["allocatable"]
        assert sim.parse_quantity(allocatable["cpu"]) < 2
        assert sim.parse_quantity(allocatable["memory"]) < 7.5 * 2 ** 30


def test_notready_set_has_last_node_not_ready_and_tainted():
    nodes = node_set("notready", "1.30")[0]
    assert [condition(n, "Ready")["status"] for n in nodes] == ["True", "True", "False"]
    taints = {(t["key"], t["effect"]) for t in nodes[-1]["spec"]["taints"]}
    assert ("node.kubernetes.io/not-ready", "NoSchedule") in taints
    assert ("node.kubernetes.io/not-ready", "NoExecute") in taints
    assert "taints" not in nodes[0]["spec"]


def test_notready_node_has_no_taints_on_1_8_which_had_no_taint_nodes_by_condition():
    assert not node_set("notready", "1.8")[0][-1]["spec"].get("taints")


def test_gke_logging_seeds_fluentbit_gke_daemonset():
    nodes, extras = node_set("gke-logging", "1.30")
    assert len(nodes) == 3 and len(extras) == 1
    ds = extras[0]
    assert (ds["kind"], ds["metadata"]["namespace"], ds["metadata"]["name"]) == ("DaemonSet", "kube-system", "fluentbit-gke")
    assert ds["spec"]["template"]["metadata"]["labels"]["k8s-app"] == "fluentbit-gke"


def test_mixed_has_one_node_of_each_kind():
    nodes = node_set("mixed", "1.30")[0]
    pools = [n["metadata"]["labels"]["cloud.google.com/gke-nodepool"] for n in nodes]
    assert pools == ["default-pool", "small-pool", "cos-pool", "legacy-pool", "default-pool"]
    assert [condition(n, "Ready")["status"] for n in nodes].count("False") == 1


@pytest.mark.parametrize("spec,count", [("gke:7", 7), ("cos:1", 1), ("notready:4", 4), ("small", 3)])
def test_node_count_comes_from_the_spec(spec, count):
    assert len(node_set(spec, "1.30")[0]) == count


@pytest.mark.parametrize("spec", ["bogus", "gke:0", "gke:x"])
def test_bad_node_set_specs_are_rejected(spec):
    with pytest.raises(ValueError):
        node_set(spec, "1.30")


def test_five_thousand_nodes_have_unique_names_and_cidrs():
    nodes = node_set("gke:5000", "1.30")[0]
    assert len({n["metadata"]["name"] for n in nodes}) == 5000
    assert len({n["spec"]["podCIDR"] for n in nodes}) == 5000
    assert len({n["status"]["addresses"][0]["address"] for n in nodes}) == 5000


# ------------------------------------------------------------------------------------------------
# Helpers


@pytest.mark.parametrize("text,value", [("3920m", 3.92), ("4", 4), ("1Gi", 2 ** 30), ("128Mi", 128 * 2 ** 20),
                                        ("7.5Gi", 7.5 * 2 ** 30), ("1e3", 1000), ("2k", 2000), ("500M", 5e8), (2, 2)])
def test_quantities_parse(text, value):
    assert sim.parse_quantity(text) == pytest.approx(value)


def test_template_hash_is_ten_safe_characters_and_stable():
    tpl = template({"app": "x"})
    value = sim.template_hash(tpl)
    assert re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]{10}", value)
    assert sim.template_hash(copy.deepcopy(tpl)) == value
    assert sim.template_hash(template({"app": "y"})) != value


def test_reconcile_does_not_mutate_its_arguments():
    cluster = Cluster()
    cluster.create("deployments", deployment())
    for _unused in range(5):
        before = copy.deepcopy(cluster.objects())
        objects = cluster.objects()
        actions = reconcile(objects, cluster.now, cluster.settings)
        assert objects == before
        cluster.apply(actions)
        cluster.now += 0.5


def test_idle_cluster_makes_no_writes():
    cluster = Cluster()
    assert not reconcile(cluster.objects(), cluster.now, cluster.settings)


# ------------------------------------------------------------------------------------------------
# Deployments


def test_deployment_becomes_available_with_real_status():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=3))
    cluster.settle()
    dep = cluster.get("deployments", "web")
    status = dep["status"]
    assert status["observedGeneration"] == 1
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3, 3)
    assert "unavailableReplicas" not in status
    assert [c["type"] for c in status["conditions"]] == ["Available", "Progressing"]
    assert condition(dep, "Available")["reason"] == "MinimumReplicasAvailable"
    progressing = condition(dep, "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable" and progressing["status"] == "True"
    (rs,) = cluster.store["replicasets"].values()
    assert progressing["message"] == f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.'
    assert dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


def test_deployment_replicaset_and_pods_are_named_and_owned_like_the_real_ones():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=2))
    cluster.settle()
    (rs,) = cluster.store["replicasets"].values()
    hash_ = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{hash_}" and len(hash_) == 10
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": hash_}
    ref = rs["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"], ref["uid"]) == \
        ("Deployment", "web", True, cluster.get("deployments", "web")["metadata"]["uid"])
    assert rs["status"] == {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                            "observedGeneration": 1}
    pods = cluster.pods("web-")
    assert len(pods) == 2
    for pod in pods:
        assert re.fullmatch(rf"web-{hash_}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", pod["metadata"]["name"])
        assert pod["metadata"]["labels"]["pod-template-hash"] == hash_
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]


def test_running_pod_status_looks_like_a_kubelet_wrote_it():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=1))
    cluster.settle()
    (pod,) = cluster.pods("web-")
    status = pod["status"]
    assert status["phase"] == "Running"
    assert [c["type"] for c in status["conditions"]] == \
        ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["status"] == "True" for c in status["conditions"])
    node = cluster.get("nodes", pod["spec"]["nodeName"], namespace="")
    assert status["hostIP"] == node["status"]["addresses"][0]["address"]
    assert status["podIP"].startswith(node["spec"]["podCIDR"].rsplit(".", 2)[0])
    assert status["qosClass"] == "Burstable"
    (cstatus,) = status["containerStatuses"]
    assert cstatus["ready"] is True and cstatus["started"] is True and "running" in cstatus["state"]
    assert cstatus["image"] == "docker.io/library/nginx:1.25"
    assert cstatus["containerID"].startswith("containerd://")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["startTime"])


def test_pods_become_ready_only_after_ready_delay():
    cluster = Cluster(settings=SimSettings(ready_delay=5.0))
    cluster.create("deployments", deployment(replicas=1))
    for _unused in range(10):
        cluster.step(0.1)
    (pod,) = cluster.pods("web-")
    assert pod["spec"].get("nodeName")
    assert pod["status"]["phase"] == "Pending"
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    assert not is_ready(pod)
    cluster.now += 5
    cluster.settle()
    assert is_ready(cluster.pods("web-")[0])


def test_sub_second_ready_delay_uses_the_created_at_annotation():
    cluster = Cluster(settings=SimSettings(ready_delay=0.3))
    cluster.create("deployments", deployment(replicas=1))
    for _unused in range(3):
        cluster.step(0.01)
    (pod,) = cluster.pods("web-")
    created = float(pod["metadata"]["annotations"][sim.CREATED_AT_ANNOTATION])
    assert created == pytest.approx(cluster.now - 0.02, abs=0.015)
    assert not is_ready(pod)
    cluster.now = created + 0.31
    cluster.step(0.01)
    assert is_ready(cluster.pods("web-")[0])


def test_never_ready_deployment_pods_run_but_are_not_ready():
    cluster = Cluster(settings=SimSettings(never_ready=frozenset({"default/web"})))
    cluster.create("deployments", deployment(replicas=2, progressDeadlineSeconds=30))
    cluster.settle()
    dep = cluster.get("deployments", "web")
    pods = cluster.pods("web-")
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
    assert not any(is_ready(p) for p in pods)
    ready = condition(pods[0], "Ready")
    assert ready["reason"] == "ContainersNotReady" and ready["message"] == "containers with unready status: [app]"
    assert dep["status"]["unavailableReplicas"] == 2
    assert "readyReplicas" not in dep["status"] and "availableReplicas" not in dep["status"]
    assert condition(dep, "Available")["status"] == "False"
    assert condition(dep, "Progressing")["status"] == "True"
    cluster.now += 31
    cluster.settle()
    dep = cluster.get("deployments", "web")
    progressing = condition(dep, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"].endswith("has timed out progressing.")


def test_unschedulable_pods_stay_pending_with_the_schedulers_message():
    cluster = Cluster()
    dep = deployment(replicas=1)
    dep["spec"]["template"]["spec"]["containers"] = [container(cpu="1", memory="64Gi")]
    cluster.create("deployments", dep)
    cluster.settle()
    (pod,) = cluster.pods("web-")
    assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]
    cond = condition(pod, "PodScheduled")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"] == ("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
                               "3 No preemption victims found for incoming pod.")
    assert cluster.get("deployments", "web")["status"]["unavailableReplicas"] == 1


@pytest.mark.parametrize("profile,message", [
    ("1.15", "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory."),
    ("1.8", "No nodes are available that match all of the predicates: Insufficient cpu (3), Insufficient memory (3)."),
])
def test_unschedulable_message_format_follows_the_release(profile, message):
    cluster = Cluster(profile=profile)
    dep = deployment(replicas=1, api_version="apps/v1beta2" if profile == "1.8" else "apps/v1")
    dep["spec"]["template"]["spec"]["containers"] = [container(cpu="16", memory="64Gi")]
    cluster.create("deployments", dep)
    cluster.settle()
    assert condition(cluster.pods("web-")[0], "PodScheduled")["message"] == message


def test_scheduler_reports_taints_of_not_ready_nodes_and_fills_the_rest():
    cluster = Cluster(nodes="notready")
    dep = deployment(replicas=3)
    dep["spec"]["template"]["spec"]["containers"] = [container(cpu="3", memory="1Gi")]
    cluster.create("deployments", dep)
    cluster.settle()
    pods = cluster.pods("web-")
    placed = [p for p in pods if p["spec"].get("nodeName")]
    assert len(placed) == 2 and len({p["spec"]["nodeName"] for p in placed}) == 2
    (pending,) = [p for p in pods if not p["spec"].get("nodeName")]
    assert condition(pending, "PodScheduled")["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")


def test_scheduler_honours_node_selector():
    cluster = Cluster(nodes="mixed")
    dep = deployment(replicas=2)
    dep["spec"]["template"]["spec"]["nodeSelector"] = {"cloud.google.com/gke-os-distribution": "cos"}
    cluster.create("deployments", dep)
    cluster.settle()
    nodes = {p["spec"]["nodeName"] for p in cluster.pods("web-")}
    assert len(nodes) == 1 and "cos-pool" in nodes.pop()


def test_scale_up_and_down_changes_pod_count_and_status():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=2))
    cluster.settle()
    cluster.edit("deployments", "web", lambda d: d["spec"].update(replicas=4))
    cluster.settle()
    assert len(cluster.pods("web-")) == 4
    assert cluster.get("deployments", "web")["status"]["availableReplicas"] == 4
    cluster.edit("deployments", "web", lambda d: d["spec"].update(replicas=1))
    cluster.settle()
    assert len(cluster.pods("web-")) == 1
    status = cluster.get("deployments", "web")["status"]
    assert (status["replicas"], status["observedGeneration"]) == (1, 3)


def test_template_change_rolls_to_a_new_replicaset_and_scales_the_old_to_zero():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=4))
    cluster.settle()
    (old,) = cluster.store["replicasets"].values()
    cluster.edit("deployments", "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:1.26"))
    peak = 0
    for _unused in range(200):
        cluster.step(0.1)
        live = cluster.pods("web-")
        peak = max(peak, len(live))
        available = sum(1 for p in live if is_ready(p))
        assert available >= 3 or cluster.now - T0 < 1, "maxUnavailable 25% of 4 allows one pod down"
    assert peak <= 5, "maxSurge 25% of 4 allows one extra pod"
    cluster.settle()
    rss = {r["metadata"]["name"]: r for r in cluster.store["replicasets"].values()}
    assert len(rss) == 2 and rss[old["metadata"]["name"]]["spec"]["replicas"] == 0
    (new,) = [r for n, r in rss.items() if n != old["metadata"]["name"]]
    assert new["spec"]["replicas"] == 4
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    dep = cluster.get("deployments", "web")
    assert dep["status"]["updatedReplicas"] == 4 and dep["status"]["observedGeneration"] == 2
    assert condition(dep, "Progressing")["message"] == f'ReplicaSet "{new["metadata"]["name"]}" has successfully progressed.'
    assert all(p["spec"]["containers"][0]["image"] == "nginx:1.26" for p in cluster.pods("web-"))


def test_recreate_strategy_removes_old_pods_before_new_ones_start():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=2, strategy={"type": "Recreate"}))
    cluster.settle()
    old_hash = cluster.pods("web-")[0]["metadata"]["labels"]["pod-template-hash"]
    cluster.edit("deployments", "web", lambda d: d["spec"]["template"]["metadata"]["labels"].update(v="2"))
    for _unused in range(100):
        cluster.step(0.1)
        hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in cluster.pods("web-")}
        assert not (old_hash in hashes and len(hashes) > 1)
    assert len(cluster.pods("web-")) == 2


@pytest.mark.parametrize("api_version", ["extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"])
def test_old_api_versions_deploy_alike(api_version):
    cluster = Cluster(profile="1.15")
    dep = deployment(replicas=2, api_version=api_version)
    if api_version == "extensions/v1beta1":
        del dep["spec"]["selector"]
    cluster.create("deployments", dep)
    cluster.settle()
    assert cluster.get("deployments", "web")["status"]["availableReplicas"] == 2
    assert len(cluster.pods("web-")) == 2


def test_extensions_v1beta1_deployment_without_deadline_has_no_progressing_condition():
    cluster = Cluster(profile="1.8")
    dep = deployment(replicas=1, api_version="extensions/v1beta1")
    cluster.create("deployments", dep)
    cluster.settle()
    dep = cluster.get("deployments", "web")
    assert [c["type"] for c in dep["status"]["conditions"]] == ["Available"]


def test_deleting_a_deployment_deletes_its_replicasets_and_pods():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=2))
    cluster.settle()
    cluster.delete("deployments", "web")
    cluster.settle()
    assert not cluster.store["replicasets"] and not cluster.store["pods"]


def test_pods_of_an_unrelated_owner_are_left_alone():
    cluster = Cluster()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job-x", "namespace": "default",
                                                           "ownerReferences": [{"kind": "Job", "name": "j", "uid": "1",
                                                                                "controller": True}]},
           "spec": {"containers": [container()]}, "status": {"phase": "Pending"}}
    cluster.create("pods", pod)
    cluster.settle()
    assert is_ready(cluster.get("pods", "job-x"))


def test_steady_cluster_stops_writing():
    cluster = Cluster()
    cluster.create("deployments", deployment(replicas=2))
    cluster.create("statefulsets", statefulset(replicas=2))
    cluster.create("daemonsets", daemonset())
    cluster.settle()
    cluster.now += 3600
    assert not reconcile(cluster.objects(), cluster.now, cluster.settings)


# ------------------------------------------------------------------------------------------------
# StatefulSets


def test_statefulset_starts_pods_one_at_a_time_in_order():
    cluster = Cluster(settings=SimSettings(ready_delay=1.0))
    cluster.create("statefulsets", statefulset(replicas=3))
    seen: list[list[str]] = []
    for _unused in range(80):
        cluster.step(0.1)
        names = [p["metadata"]["name"] for p in cluster.pods("es-")]
        if not seen or seen[-1] != names:
            seen.append(names)
        # a pod exists only once every lower ordinal is running and ready
        for ordinal in range(1, len(names)):
            assert is_ready(cluster.get("pods", f"es-{ordinal - 1}")), seen
    assert seen[-1] == ["es-0", "es-1", "es-2"]
    assert [s for s in seen if s] == [["es-0"], ["es-0", "es-1"], ["es-0", "es-1", "es-2"]]


def test_statefulset_status_and_pod_identity():
    cluster = Cluster()
    cluster.create("statefulsets", statefulset(replicas=2))
    cluster.settle()
    sts = cluster.get("statefulsets", "es")
    status = sts["status"]
    revision = status["updateRevision"]
    assert re.fullmatch(r"es-[bcdfghjklmnpqrstvwxz2456789]{10}", revision)
    assert status == {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                      "updatedReplicas": 2, "currentRevision": revision, "updateRevision": revision,
                      "collisionCount": 0, "availableReplicas": 2}
    pod = cluster.get("pods", "es-1")
    labels = pod["metadata"]["labels"]
    assert labels["controller-revision-hash"] == revision
    assert labels["statefulset.kubernetes.io/pod-name"] == "es-1"
    assert labels["apps.kubernetes.io/pod-index"] == "1"
    assert pod["spec"]["hostname"] == "es-1" and pod["spec"]["subdomain"] == "es"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-es-1"}} in pod["spec"]["volumes"]


def test_statefulset_claims_are_created_bound_and_kept_after_delete():
    cluster = Cluster()
    cluster.create("statefulsets", statefulset(replicas=2))
    cluster.settle()
    claims = cluster.store["persistentvolumeclaims"]
    assert sorted(claims) == ["default/data-es-0", "default/data-es-1"]
    claim = claims["default/data-es-0"]
    assert claim["status"]["phase"] == "Bound"
    assert claim["status"]["capacity"] == {"storage": "10Gi"}
    assert claim["spec"]["volumeName"].startswith("pvc-")
    assert claim["metadata"]["labels"] == {"app": "es"}
    cluster.delete("statefulsets", "es")
    cluster.settle()
    assert not cluster.store["pods"]
    assert len(cluster.store["persistentvolumeclaims"]) == 2


def test_statefulset_scale_down_removes_highest_ordinals_first():
    cluster = Cluster()
    cluster.create("statefulsets", statefulset(replicas=3))
    cluster.settle()
    cluster.edit("statefulsets", "es", lambda s: s["spec"].update(replicas=1))
    remaining = []
    for _unused in range(10):
        cluster.step()
        remaining.append([p["metadata"]["name"] for p in cluster.pods("es-")])
    assert ["es-0", "es-1"] in remaining
    assert remaining[-1] == ["es-0"]
    assert cluster.get("statefulsets", "es")["status"]["replicas"] == 1


def test_statefulset_rolling_update_recreates_pods_in_reverse_order():
    cluster = Cluster()
    cluster.create("statefulsets", statefulset(replicas=3))
    cluster.settle()
    first = cluster.get("statefulsets", "es")["status"]["updateRevision"]
    cluster.edit("statefulsets", "es", lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    deleted = []
    for _unused in range(100):
        for action in cluster.step():
            if action.op == "delete" and action.resource == "pods":
                deleted.append(action.name)
    assert deleted == ["es-2", "es-1", "es-0"]
    status = cluster.get("statefulsets", "es")["status"]
    assert status["currentRevision"] == status["updateRevision"] != first
    assert status["updatedReplicas"] == status["currentReplicas"] == 3
    assert all(p["spec"]["containers"][0]["image"] == "nginx:2" for p in cluster.pods("es-"))


def test_statefulset_mid_rollout_reports_current_and_update_revisions_apart():
    cluster = Cluster(settings=SimSettings(ready_delay=2.0))
    cluster.create("statefulsets", statefulset(replicas=2))
    cluster.settle()
    cluster.edit("statefulsets", "es", lambda s: s["spec"]["template"]["metadata"]["labels"].update(v="2"))
    for _unused in range(5):
        cluster.step()
    status = cluster.get("statefulsets", "es")["status"]
    assert status["currentRevision"] != status["updateRevision"]
    assert status["currentReplicas"] == 1


def test_parallel_statefulset_creates_all_pods_at_once():
    cluster = Cluster()
    cluster.create("statefulsets", statefulset(replicas=3, podManagementPolicy="Parallel"))
    cluster.step()
    assert [p["metadata"]["name"] for p in cluster.pods("es-")] == ["es-0", "es-1", "es-2"]


def test_statefulset_never_ready_stops_at_ordinal_zero():
    cluster = Cluster(settings=SimSettings(never_ready=frozenset({"default/es"})))
    cluster.create("statefulsets", statefulset(replicas=3))
    cluster.settle()
    assert [p["metadata"]["name"] for p in cluster.pods("es-")] == ["es-0"]
    status = cluster.get("statefulsets", "es")["status"]
    assert status["replicas"] == 1 and "readyReplicas" not in status and status["availableReplicas"] == 0


def test_statefulset_on_small_nodes_is_unschedulable_for_elasticsearch_sizes():
    cluster = Cluster(nodes="small")
    sts = statefulset(replicas=1)
    sts["spec"]["template"]["spec"]["containers"] = [container(cpu="2", memory="7.5Gi")]
    cluster.create("statefulsets", sts)
    cluster.settle()
    message = condition(cluster.get("pods", "es-0"), "PodScheduled")["message"]
    assert message.startswith("0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory.")


# ------------------------------------------------------------------------------------------------
# DaemonSets


def test_daemonset_runs_one_pod_per_node_with_real_status():
    cluster = Cluster()
    cluster.create("daemonsets", daemonset())
    cluster.settle()
    pods = cluster.pods("falco-")
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(cluster.node_names())
    status = cluster.get("daemonsets", "falco")["status"]
    assert status == {"currentNumberScheduled": 3, "numberMisscheduled": 0, "desiredNumberScheduled": 3,
                      "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3, "numberAvailable": 3}
    pod = pods[0]
    assert pod["metadata"]["labels"]["controller-revision-hash"]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")} <= keys
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchFields"][0]["values"] == [pod["spec"]["nodeName"]]


def test_daemonset_skips_not_ready_node_whose_no_schedule_taint_it_does_not_tolerate():
    cluster = Cluster(nodes="notready")
    cluster.create("daemonsets", daemonset())
    cluster.settle()
    status = cluster.get("daemonsets", "falco")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"]) == (2, 2)
    assert "numberUnavailable" not in status


def test_tolerant_daemonset_lands_on_not_ready_node_and_stays_pending_there():
    cluster = Cluster(nodes="notready")
    cluster.create("daemonsets", daemonset(tolerations=[{"operator": "Exists"}]))
    cluster.settle()
    status = cluster.get("daemonsets", "falco")["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberReady"],
            status["numberAvailable"], status["numberUnavailable"]) == (3, 3, 2, 2, 1)
    bad = cluster.node_names()[-1]
    (pod,) = [p for p in cluster.pods("falco-") if p["spec"]["nodeName"] == bad]
    assert pod["status"]["phase"] == "Pending"
    assert condition(pod, "PodScheduled")["status"] == "True"
    assert "containerStatuses" not in pod["status"]


def test_daemon_pod_on_a_node_gone_not_ready_turns_not_ready_and_ready_again_when_the_node_recovers():
    cluster = Cluster()
    cluster.create("daemonsets", daemonset(tolerations=[{"operator": "Exists"}]))
    cluster.settle()
    node = cluster.node_names()[-1]

    def set_ready(value: str):
        def change(obj):
            condition(obj, "Ready")["status"] = value
        cluster.edit("nodes", node, change, namespace="")

    set_ready("False")
    cluster.settle()
    assert cluster.get("daemonsets", "falco")["status"]["numberReady"] == 2
    (pod,) = [p for p in cluster.pods("falco-") if p["spec"]["nodeName"] == node]
    assert pod["status"]["phase"] == "Running" and not is_ready(pod)
    set_ready("True")
    cluster.settle()
    assert cluster.get("daemonsets", "falco")["status"]["numberReady"] == 3
    assert all(is_ready(p) for p in cluster.pods("falco-"))


def test_daemonset_lands_on_not_ready_node_on_1_8_without_taints():
    cluster = Cluster(nodes="notready", profile="1.8")
    cluster.create("daemonsets", daemonset(api_version="extensions/v1beta1"))
    cluster.settle()
    status = cluster.get("daemonsets", "falco")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"], status["numberUnavailable"]) == (3, 2, 1)


def test_daemonset_honours_node_selector_and_affinity():
    cluster = Cluster(nodes="mixed")
    cluster.create("daemonsets", daemonset(nodeSelector={"cloud.google.com/gke-nodepool": "cos-pool"}))
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "cloud.google.com/gke-nodepool", "operator": "In",
                               "values": ["small-pool", "legacy-pool"]}]}]}}}
    cluster.create("daemonsets", daemonset(name="agent", affinity=affinity))
    cluster.settle()
    assert [p["spec"]["nodeName"].split("-")[2] for p in cluster.pods("falco-")] == ["cos"]
    assert sorted(p["spec"]["nodeName"].split("-")[2] for p in cluster.pods("agent-")) == ["legacy", "small"]
    assert cluster.get("daemonsets", "agent")["status"]["desiredNumberScheduled"] == 2


def test_daemonset_rolling_update_replaces_pods_one_at_a_time():
    cluster = Cluster(nodes="gke:4")
    cluster.create("daemonsets", daemonset())
    cluster.settle()
    cluster.edit("daemonsets", "falco", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="falco:2"))
    for _unused in range(100):
        cluster.step()
        unavailable = 4 - sum(1 for p in cluster.pods("falco-") if is_ready(p))
        assert unavailable <= 1
    cluster.settle()
    assert all(p["spec"]["containers"][0]["image"] == "falco:2" for p in cluster.pods("falco-"))
    status = cluster.get("daemonsets", "falco")["status"]
    assert status["updatedNumberScheduled"] == 4 and status["observedGeneration"] == 2
    assert all(p["metadata"]["labels"]["pod-template-generation"] == "2" for p in cluster.pods("falco-"))


def test_daemonset_on_delete_keeps_old_pods():
    cluster = Cluster()
    ds = daemonset()
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    cluster.create("daemonsets", ds)
    cluster.settle()
    names = [p["metadata"]["name"] for p in cluster.pods("falco-")]
    cluster.edit("daemonsets", "falco", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="falco:2"))
    cluster.settle()
    assert [p["metadata"]["name"] for p in cluster.pods("falco-")] == names
    status = cluster.get("daemonsets", "falco")["status"]
    assert "updatedNumberScheduled" not in status and status["numberReady"] == 3


def test_gke_logging_daemonset_runs_on_every_node():
    cluster = Cluster(nodes="gke-logging")
    cluster.settle()
    pods = cluster.pods("fluentbit-gke-", namespace="kube-system")
    assert len(pods) == 3 and all(is_ready(p) for p in pods)
    assert all(p["metadata"]["labels"]["k8s-app"] == "fluentbit-gke" for p in pods)
    assert all(p["status"]["podIP"] == p["status"]["hostIP"] for p in pods)  # hostNetwork


def test_never_ready_daemonset_reports_unavailable():
    cluster = Cluster(settings=SimSettings(never_ready=frozenset({"default/falco"})))
    cluster.create("daemonsets", daemonset())
    cluster.settle()
    status = cluster.get("daemonsets", "falco")["status"]
    assert status["numberReady"] == 0 and status["numberUnavailable"] == 3 and "numberAvailable" not in status


def test_deleting_a_daemonset_deletes_its_pods():
    cluster = Cluster()
    cluster.create("daemonsets", daemonset())
    cluster.settle()
    cluster.delete("daemonsets", "falco")
    cluster.step()
    assert not cluster.store["pods"]


# ------------------------------------------------------------------------------------------------
# Scale


def test_reconcile_over_five_thousand_nodes_settles_and_then_has_nothing_to_do():
    # its speed is measured by `make bench`, not asserted here
    cluster = Cluster(nodes="gke:5000", settings=SimSettings(ready_delay=0.0))
    cluster.create("daemonsets", daemonset())
    cluster.create("daemonsets", daemonset(name="agent"))
    cluster.settle(limit=200)
    assert len(cluster.store["pods"]) == 10000
    assert not reconcile(cluster.objects(), cluster.now, cluster.settings)
    cluster.edit("daemonsets", "agent", lambda d: d["spec"]["template"]["metadata"]["labels"].update(v="2"))
    assert reconcile(cluster.objects(), cluster.now, cluster.settings)
    status = cluster.get("daemonsets", "falco")["status"]
    assert status["desiredNumberScheduled"] == status["numberReady"] == 5000
