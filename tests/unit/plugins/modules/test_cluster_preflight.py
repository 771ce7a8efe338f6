"""cluster_preflight as Ansible runs it, against the local cluster."""

from __future__ import annotations

import pytest

from ansible_collections.seclog.falco_efk.plugins.modules import cluster_preflight


def test_reports_facts_for_the_apiversion_stage(localcluster, run_module):
    exited = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig})
    assert not exited.failed and exited.result["ok"] and exited.result["changed"] is False
    facts = exited.result["facts"]
    assert facts["server_version"]["gitVersion"].startswith("v1.30.")
    assert "apps/v1" in facts["served_versions"] and "extensions/v1beta1" not in facts["served_versions"]
    assert "daemonsets" in facts["served_resources"]["apps/v1"]
    assert facts["user"]["username"] == "admin" and facts["gke"] is True and facts["node_count"] == 3
    assert facts["nodes"][0]["instance_type"] == "e2-standard-4"


def test_check_mode_is_identical_and_writes_nothing(localcluster, run_module):
    normal = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig}).result
    localcluster.clear_requests()
    checked = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig}, check_mode=True).result
    assert checked["findings"] == normal["findings"] and checked["api_requests"] == normal["api_requests"]
    assert localcluster.writes() == []


def test_requests_grow_with_pages_not_nodes(localcluster, run_module):
    big = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig, "page_size": 500}).result["api_requests"]
    small = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig, "page_size": 1}).result["api_requests"]
    # 3 nodes and 0 DaemonSets: one page each at 500; three pages of nodes at 1.
    assert small - big == 2


@pytest.mark.parametrize("args, message", [
    ({"es_min_memory": "lots"}, "es_min_memory: 'lots' is not a memory quantity"),
    ({"es_min_cpu": "2 cores"}, "es_min_cpu: '2 cores' is not a CPU quantity"),
    ({"es_replicas": 0}, "es_replicas: 0 is not a count. Give 1 or more."),
    ({"page_size": -1}, "page_size: -1 is not a count."),
    ({"namespace": "Logging_NS"}, "namespace: 'Logging_NS' is not a namespace name, which must be a DNS label"),
    ({"falco_driver": "ebpf"}, "value of falco_driver must be one of: modern_ebpf, kmod, auto"),
])
def test_bad_input_fails_before_any_request(localcluster, run_module, args, message):
    localcluster.clear_requests()
    exited = run_module(cluster_preflight.main, dict(args, kubeconfig=localcluster.kubeconfig))
    assert exited.failed and message in exited.result["msg"]
    assert localcluster.requests() == []


@pytest.mark.parametrize("localcluster", [("1.30", "small")], indirect=True)
def test_fail_on_error_fails_with_the_findings_in_the_result(localcluster, run_module):
    exited = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig})
    assert exited.failed and not exited.result["ok"]
    assert exited.result["msg"].startswith("Preflight found 1 problem(s) at or above 'error': ERROR [elasticsearch.node_size]")
    assert [f["id"] for f in exited.result["findings"]] == ["elasticsearch.node_size"]
    passed = run_module(cluster_preflight.main, {"kubeconfig": localcluster.kubeconfig, "fail_on": "never"})
    assert not passed.failed and passed.result["ok"]
