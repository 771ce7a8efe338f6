"""Stage 2 against the local cluster: the runbook's manifests, rejected as they are where their version is not
served, and accepted by every profile once patched."""

from __future__ import annotations

import os

import pytest
import yaml
from kubernetes import client

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "runbook")
PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "runbook_manifests.yml")

# What each profile refuses as the upstream files stand.
REJECTED = {
    "1.8": {("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("Deployment", "apps/v1")},
    "1.15": set(),
    "1.30": {("DaemonSet", "extensions/v1beta1"), ("Deployment", "extensions/v1beta1"), ("ClusterRole", "rbac.authorization.k8s.io/v1beta1"),
             ("ClusterRoleBinding", "rbac.authorization.k8s.io/v1beta1")},
}


def runbook_objects():
    objects = []
    for name in sorted(os.listdir(FIXTURES)):
        with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
            objects.extend(doc for doc in yaml.safe_load_all(handle) if doc)
    return objects


def collection_path(obj: dict) -> str:
    group_version = obj["apiVersion"]
    base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    plural = {"ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
              "StatefulSet": "statefulsets", "DaemonSet": "daemonsets", "Deployment": "deployments"}[obj["kind"]]
    namespaced = obj["kind"] not in ("ClusterRole", "ClusterRoleBinding")
    return f"{base}/namespaces/{obj['metadata']['namespace']}/{plural}" if namespaced else f"{base}/{plural}"


@pytest.mark.parametrize("localcluster", [("1.8", "gke"), ("1.15", "gke"), ("1.30", "gke")], indirect=True)
def test_runbook_manifests_unpatched_are_rejected_where_unserved_then_patched_are_accepted(localcluster, playbook):
    profile = localcluster.cluster.profile
    rejected = set()
    for obj in runbook_objects():
        code, body, _unused = localcluster.http("POST", collection_path(obj) + "?dryRun=All", obj)
        if code == 404 and body.get("message") == "the server could not find the requested resource":
            rejected.add((obj["kind"], obj["apiVersion"]))
        else:
            assert code == 201, (obj["kind"], obj["apiVersion"], code, body)
    assert rejected == REJECTED[profile]

    run = playbook(PLAYBOOK, localcluster.kubeconfig)
    assert run.rc == 0, run
    apps = client.AppsV1Api(localcluster.api_client()) if profile != "1.8" else None
    served = {"1.8": "apps/v1beta2", "1.15": "apps/v1", "1.30": "apps/v1"}[profile]
    for kind, name in (("statefulsets", "elasticsearch-logging"), ("daemonsets", "fluentd-es-v2.0.4"), ("deployments", "kibana-logging"),
                       ("daemonsets", "falco"), ("deployments", "falco-event-generator-deployment")):
        code, body, _unused = localcluster.http("GET", f"/apis/{served}/namespaces/kube-system/{kind}/{name}")
        assert code == 200, (kind, name, body)
    if apps is not None:
        falco = apps.read_namespaced_daemon_set("falco", "kube-system")
        # The extensions default, written out so the move to apps/v1 does not change behaviour.
        assert falco.spec.update_strategy.type == "OnDelete"
        assert falco.spec.selector.match_labels == {"name": "falco", "app": "demo", "role": "security"}

    again = playbook(PLAYBOOK, localcluster.kubeconfig)
    assert again.rc == 0 and again.recap["changed"] <= 1, again  # only the patch step reports changed
