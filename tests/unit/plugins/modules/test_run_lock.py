"""run_lock against the local cluster: taken, renewed, refused to another run naming it, released only by its holder."""

from __future__ import annotations

from ansible_collections.seclog.falco_efk.plugins.modules import run_lock

LEASE = "/apis/coordination.k8s.io/v1/namespaces/default/leases/seclog-falco-efk-run"


def _params(localcluster, holder, **extra):
    return dict({"kubeconfig": localcluster.kubeconfig, "namespace": "default", "holder": holder}, **extra)


def test_taken_renewed_refused_to_another_and_released(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(run_lock.main, _params(localcluster, "run A"), check_mode=True)
    assert exited.result["taken"] and localcluster.lock_writes() == []
    exited = run_module(run_lock.main, _params(localcluster, "run A"))
    assert exited.result["taken"] and exited.result["holder"] == "run A", exited.result
    assert localcluster.http("GET", LEASE)[1]["spec"]["holderIdentity"] == "run A"
    exited = run_module(run_lock.main, _params(localcluster, "run A"))
    assert exited.result["taken"], "the holder renews its own lock"
    exited = run_module(run_lock.main, _params(localcluster, "run B"))
    assert exited.failed and "is held by run A since" in exited.result["msg"], exited.result
    exited = run_module(run_lock.main, _params(localcluster, "run B", state="released"))
    assert not exited.result["changed"] and localcluster.http("GET", LEASE)[0] == 200, "only the holder releases"
    exited = run_module(run_lock.main, _params(localcluster, "run A", state="released"))
    assert exited.result["changed"] and localcluster.http("GET", LEASE)[0] == 404


def test_without_the_namespace_nothing_is_taken(localcluster, run_module):
    exited = run_module(run_lock.main, dict(_params(localcluster, "run A"), namespace="not-there-yet"))
    assert not exited.failed and not exited.result["taken"] and "does not exist yet" in exited.result["msg"]
