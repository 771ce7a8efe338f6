"""credentials against the local cluster: created once, never written over, a race lost keeps the winner's."""

from __future__ import annotations

import base64

from ansible_collections.seclog.falco_efk.plugins.module_utils import k8s
from ansible_collections.seclog.falco_efk.plugins.modules import credentials

NAMESPACE = "default"


def _secret(name, password):
    return {"name": name, "string_data": {"password": password}, "labels": {"app.kubernetes.io/managed-by": "seclog.falco_efk"}}


def _password(localcluster, name):
    status, body, _headers = localcluster.http("GET", "/api/v1/namespaces/%s/secrets/%s" % (NAMESPACE, name))
    return base64.b64decode(body["data"]["password"]).decode() if status == 200 else None


def test_check_mode_says_what_it_would_create_and_writes_nothing(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(credentials.main, {"kubeconfig": localcluster.kubeconfig, "namespace": NAMESPACE,
                                           "secrets": [_secret("cred-check", "one")]}, check_mode=True)
    assert exited.result["changed"] and exited.result["created"] == ["cred-check"], exited.result
    assert localcluster.writes() == [] and _password(localcluster, "cred-check") is None


def test_created_once_then_never_written_over(localcluster, run_module):
    params = {"kubeconfig": localcluster.kubeconfig, "namespace": NAMESPACE, "secrets": [_secret("cred-once", "first")]}
    exited = run_module(credentials.main, params)
    assert exited.result["created"] == ["cred-once"] and _password(localcluster, "cred-once") == "first"
    localcluster.clear_requests()
    exited = run_module(credentials.main, dict(params, secrets=[_secret("cred-once", "second")]))
    assert not exited.result["changed"] and exited.result["kept"] == ["cred-once"], exited.result
    assert localcluster.writes() == [] and _password(localcluster, "cred-once") == "first"
    assert "second" not in str(exited.result) and "first" not in str(exited.result)


def test_a_race_lost_keeps_the_other_runs_secret(localcluster, run_module, monkeypatch):
    localcluster.http("POST", "/api/v1/namespaces/%s/secrets" % NAMESPACE,
                      {"metadata": {"name": "cred-race"}, "stringData": {"password": "theirs"}})
    real_get = k8s.Cluster.get
    # This run read before the other run's create landed: it saw no Secret, so its create meets a 409.
    monkeypatch.setattr(k8s.Cluster, "get", lambda self, path, **kw: None if path.endswith("/cred-race") else real_get(self, path, **kw))
    exited = run_module(credentials.main, {"kubeconfig": localcluster.kubeconfig, "namespace": NAMESPACE,
                                           "secrets": [_secret("cred-race", "mine")]})
    assert not exited.failed and exited.result["kept"] == ["cred-race"] and not exited.result["changed"], exited.result
    assert _password(localcluster, "cred-race") == "theirs"


def test_a_throttled_create_is_sent_again_and_a_failed_read_is_named_without_a_traceback(localcluster, run_module):
    localcluster.hook("faults", "POST", {"pattern": "^POST /api/v1/namespaces/default/secrets$", "status": 429, "count": 1, "hang": 0})
    exited = run_module(credentials.main, {"kubeconfig": localcluster.kubeconfig, "namespace": NAMESPACE,
                                           "secrets": [_secret("cred-throttled", "one")]})
    assert not exited.failed and exited.result["created"] == ["cred-throttled"], exited.result
    localcluster.hook("faults", "POST", {"pattern": "^GET /api/v1/namespaces/default/secrets/cred-broken$", "status": 500, "count": 1,
                                         "hang": 0})
    exited = run_module(credentials.main, {"kubeconfig": localcluster.kubeconfig, "namespace": NAMESPACE,
                                           "secrets": [_secret("cred-broken", "one")]})
    assert exited.failed and "Traceback" not in str(exited.result), exited.result
    assert exited.result["msg"].startswith("Could not read the stack's credentials in namespace default: GET "
                                           "/api/v1/namespaces/default/secrets/cred-broken failed (500)"), exited.result
    assert "running again is safe" in exited.result["msg"]
    localcluster.hook("faults", "DELETE")
