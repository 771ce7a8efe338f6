"""apply_plan against the local cluster: what kubectl apply put there is left alone, anything else is pending."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.seclog.falco_efk.plugins.modules import apply_plan

CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plan-cm", "namespace": "default"}, "data": {"a": "b"}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "plan-svc", "namespace": "default"},
           "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "plan-role"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}


@pytest.fixture(scope="module", name="applied")
def applied_objects(localcluster):
    """The three objects, applied with kubectl (last-applied annotation, server defaults)."""
    import yaml  # pylint: disable=import-outside-toplevel
    localcluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all([CONFIGMAP, SERVICE, ROLE]))
    return localcluster


def test_objects_as_last_applied_are_unchanged_and_nothing_is_written(applied, run_module):
    applied.clear_requests()
    exited = run_module(apply_plan.main, {"kubeconfig": applied.kubeconfig, "definitions": [CONFIGMAP, SERVICE, ROLE]}, check_mode=True)
    assert not exited.failed and not exited.result["changed"], exited.result
    assert exited.result["pending"] == []
    assert exited.result["unchanged"] == ["ConfigMap default/plan-cm", "Service default/plan-svc", "ClusterRole plan-role"]
    assert applied.writes() == []


def test_a_changed_and_a_missing_object_are_pending_in_order(applied, run_module):
    changed = copy.deepcopy(SERVICE)
    changed["spec"]["ports"][0]["port"] = 81
    missing = dict(CONFIGMAP, metadata={"name": "plan-new", "namespace": "default"})
    exited = run_module(apply_plan.main, {"kubeconfig": applied.kubeconfig, "definitions": [missing, CONFIGMAP, changed]})
    assert exited.result["pending"] == [missing, changed]
    assert [entry["action"] for entry in exited.result["plan"]] == ["create", "none", "changed"]


def test_a_kind_the_cluster_does_not_serve_is_left_to_the_apply_to_report(applied, run_module):
    odd = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}
    exited = run_module(apply_plan.main, {"kubeconfig": applied.kubeconfig, "definitions": [odd]})
    assert exited.result["pending"] == [odd]


def test_a_definition_without_a_name_is_refused_naming_it(applied, run_module):
    exited = run_module(apply_plan.main, {"kubeconfig": applied.kubeconfig, "definitions": [{"apiVersion": "v1", "kind": "ConfigMap"}]})
    assert exited.failed and "definitions[0]" in exited.result["msg"] and "metadata.name" in exited.result["msg"]


def test_an_unreachable_cluster_is_a_clear_failure(tmp_path, run_module):
    exited = run_module(apply_plan.main, {"kubeconfig": str(tmp_path / "missing"), "definitions": [CONFIGMAP]})
    assert exited.failed and exited.result["msg"].startswith("Could not read the objects to compare them with their definitions")


def test_a_user_who_may_not_read_is_told_the_remedy_and_nothing_changes(applied, run_module):
    applied.clear_requests()
    exited = run_module(apply_plan.main, {"kubeconfig": applied.kubeconfig_restricted, "definitions": [ROLE]})
    assert exited.failed and "(403)" in exited.result["msg"] and "prerequisites_grant_cluster_admin: true" in exited.result["msg"]
    assert exited.result["msg"].endswith("This step wrote nothing; running again is safe.") and applied.writes() == []
