"""The run lock's rules: free, ours, expired or held by another run, and what the other run is told."""

from __future__ import annotations

import datetime

from ansible_collections.seclog.falco_efk.plugins.module_utils import run_lock

NOW = datetime.datetime(2026, 12, 7, 21, 0, 0)


def _lease(holder, renewed=NOW, duration=3600):
    spec = {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": run_lock.micro_time(renewed),
            "renewTime": run_lock.micro_time(renewed)}
    return {"metadata": {"resourceVersion": "7"}, "spec": spec}


def test_a_missing_or_empty_lease_is_free():
    assert run_lock.held_by_other(None, "me", NOW) is None
    assert run_lock.held_by_other({"spec": {}}, "me", NOW) is None


def test_ours_is_ours_and_anothers_is_theirs_until_it_expires():
    assert run_lock.held_by_other(_lease("me"), "me", NOW) is None
    assert run_lock.held_by_other(_lease("AWX job 1"), "me", NOW) == "AWX job 1"
    expired = _lease("AWX job 1", renewed=NOW - datetime.timedelta(seconds=61), duration=60)
    assert run_lock.held_by_other(expired, "me", NOW) is None


def test_a_renewal_keeps_the_acquire_time_and_the_resource_version():
    earlier = NOW - datetime.timedelta(minutes=5)
    body = run_lock.lease_body("logging", "lock", "me", 900, NOW, _lease("me", renewed=earlier))
    assert body["metadata"]["resourceVersion"] == "7"
    assert body["spec"]["acquireTime"] == run_lock.micro_time(earlier) and body["spec"]["renewTime"] == run_lock.micro_time(NOW)
    taken_over = run_lock.lease_body("logging", "lock", "me", 900, NOW, _lease("someone else", renewed=earlier))
    assert taken_over["spec"]["acquireTime"] == run_lock.micro_time(NOW)


def test_the_refusal_names_the_holder_the_expiry_and_the_way_out():
    message = run_lock.refusal("logging", "seclog-falco-efk-run", _lease("AWX job 4711"), NOW + datetime.timedelta(minutes=10))
    assert "held by AWX job 4711 since 2026-12-07 21:00:00 UTC, until 2026-12-07 22:00:00 UTC (3000 s from now)" in message
    assert "kubectl -n logging delete lease seclog-falco-efk-run" in message and "Nothing was written." in message


def test_times_parse_as_kubernetes_writes_them():
    assert run_lock.parse_time("2026-12-07T21:00:00.000000Z") == NOW
    assert run_lock.parse_time("2026-12-07T21:00:00Z") == NOW
    assert run_lock.parse_time("yesterday") is None and run_lock.parse_time(None) is None
