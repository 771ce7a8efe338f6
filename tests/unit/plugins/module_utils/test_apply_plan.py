"""Which objects an apply would change: the comparison, without a cluster."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import apply_plan

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "es", "namespace": "logging", "labels": {"app": "es"}},
           "spec": {"selector": {"app": "es"}, "ports": [{"name": "http", "port": 9200}]}}


def live(desired, **status):
    """The object as the API server holds it after an apply: defaults added, last-applied annotation, status."""
    obj = copy.deepcopy(desired)
    obj["metadata"].update(uid="u-1", resourceVersion="7", generation=1,
                           annotations={apply_plan.LAST_APPLIED: json.dumps(desired, sort_keys=True, separators=(",", ":"))})
    if obj["kind"] == "Service":
        obj["spec"].update(clusterIP="10.0.0.7", type="ClusterIP", sessionAffinity="None")
        obj["spec"]["ports"][0].update(protocol="TCP", targetPort=9200)
    obj["status"] = status
    return obj


def test_an_applied_object_with_server_defaults_is_unchanged():
    assert apply_plan.verdict(SERVICE, live(SERVICE)) is None


def test_a_missing_object_is_created():
    assert apply_plan.verdict(SERVICE, None) == "create"


@pytest.mark.parametrize("edit", [
    lambda d: d["spec"]["ports"][0].update(port=9300),           # a value changed
    lambda d: d["spec"]["ports"].append({"name": "t", "port": 9300}),  # a list grew
    lambda d: d["metadata"]["labels"].pop("app"),                # a field removed: only last-applied tells
    lambda d: d["metadata"].setdefault("annotations", {}).update(note="x"),
])
def test_any_difference_from_the_last_apply_is_changed(edit):
    desired = copy.deepcopy(SERVICE)
    edit(desired)
    assert apply_plan.verdict(desired, live(SERVICE)) == "changed"


def test_drift_in_the_live_object_is_changed():
    drifted = live(SERVICE)
    drifted["spec"]["selector"]["app"] = "other"  # someone edited it by hand
    assert apply_plan.verdict(SERVICE, drifted) == "changed"


def test_an_object_not_created_by_apply_is_changed():
    plain = live(SERVICE)
    del plain["metadata"]["annotations"]
    assert apply_plan.verdict(SERVICE, plain) == "changed"
    plain["metadata"]["annotations"] = {apply_plan.LAST_APPLIED: "{not json"}
    assert apply_plan.verdict(SERVICE, plain) == "changed"


DAEMONSET = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "falco", "namespace": "logging"},
             "spec": {"selector": {"matchLabels": {"app": "falco"}},
                      "template": {"metadata": {"labels": {"app": "falco"}}, "spec": {"containers": [{"name": "falco", "image": "f"}]}}}}


def test_an_unchanged_workload_that_is_not_ready_is_applied_again_so_it_is_waited_for():
    ready = live(DAEMONSET, observedGeneration=1, desiredNumberScheduled=3, numberReady=3, updatedNumberScheduled=3)
    assert apply_plan.verdict(DAEMONSET, ready) is None
    unready = live(DAEMONSET, observedGeneration=1, desiredNumberScheduled=3, numberReady=2, updatedNumberScheduled=3)
    assert apply_plan.verdict(DAEMONSET, unready) == "not ready"
    stale = live(DAEMONSET, observedGeneration=0, desiredNumberScheduled=3, numberReady=3, updatedNumberScheduled=3)
    assert apply_plan.verdict(DAEMONSET, stale) == "not ready"


def test_statefulset_and_deployment_readiness():
    sts = dict(DAEMONSET, kind="StatefulSet", spec=dict(DAEMONSET["spec"], replicas=3))
    assert apply_plan.ready(live(sts, observedGeneration=1, readyReplicas=3, updatedReplicas=3, currentRevision="a", updateRevision="a"))
    assert not apply_plan.ready(live(sts, observedGeneration=1, readyReplicas=3, updatedReplicas=3, currentRevision="a", updateRevision="b"))
    deploy = dict(DAEMONSET, kind="Deployment", spec=dict(DAEMONSET["spec"], replicas=2))
    assert apply_plan.ready(live(deploy, observedGeneration=1, replicas=2, updatedReplicas=2, availableReplicas=2))
    assert not apply_plan.ready(live(deploy, observedGeneration=1, replicas=3, updatedReplicas=2, availableReplicas=2, unavailableReplicas=1))


def test_label_names_kind_namespace_and_name():
    assert apply_plan.label(SERVICE) == "Service logging/es"
    assert apply_plan.label({"kind": "ClusterRole", "metadata": {"name": "fluentd-es"}}) == "ClusterRole fluentd-es"
