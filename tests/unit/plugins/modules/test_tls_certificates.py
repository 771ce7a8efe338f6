"""tls_certificates against the local cluster: created once, left alone while it serves, the certificate issued again
under the same CA when a name is missing or it expires, a CA near its end refused, a Secret of yours never written."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509

from ansible_collections.seclog.falco_efk.plugins.module_utils import k8s, tls
from ansible_collections.seclog.falco_efk.plugins.modules import tls_certificates

NAMESPACE = "default"
NAMES = ["elasticsearch-logging", "elasticsearch-logging.default.svc", "*.elasticsearch-logging-headless.default.svc"]
LABELS = {"app.kubernetes.io/part-of": "seclog-falco-efk", "app.kubernetes.io/managed-by": "seclog.falco_efk"}
NOW = datetime.datetime.now(datetime.timezone.utc)


def _params(localcluster, name, **extra):
    return dict({"kubeconfig": localcluster.kubeconfig, "namespace": NAMESPACE, "name": name, "dns_names": NAMES,
                 "labels": LABELS}, **extra)


def _path(name):
    return "/api/v1/namespaces/%s/secrets/%s" % (NAMESPACE, name)


def _files(localcluster, name):
    status, body, _headers = localcluster.http("GET", _path(name))
    return tls.decode_secret_data(body) if status == 200 else None


def _put_secret(localcluster, name, files, labels=None):
    body = {"metadata": {"name": name, "labels": labels or {}}, "type": "kubernetes.io/tls", "data": tls.encode_secret_data(files)}
    status, answer, _headers = localcluster.http("POST", "/api/v1/namespaces/%s/secrets" % NAMESPACE, body)
    assert status == 201, answer


def _no_keys(result, files):
    """Neither private key appears in the result or its diff, in PEM or base64."""
    text = str(result)
    assert "PRIVATE KEY" not in text
    for key in ("ca.key", "tls.key"):
        if files.get(key):
            assert base64.b64encode(files[key]).decode() not in text and files[key].decode() not in text


def test_check_mode_says_it_would_create_and_writes_nothing(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-check"), check_mode=True)
    result = exited.result
    assert not exited.failed and result["changed"] and result["created"] and not result["renewed"], result
    assert result["ca_crt"] == "" and result["dns_names"] == NAMES and result["diff"]["before"] == {}
    assert result["diff"]["after"]["certificate"]["issuer"] == "CN=seclog.falco_efk CA default"
    assert localcluster.writes() == [] and _files(localcluster, "tls-check") is None
    assert "PRIVATE KEY" not in str(result)


def test_created_once_then_left_alone(localcluster, run_module):
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-once"))
    result = exited.result
    assert not exited.failed and result["changed"] and result["created"] and result["owned"], result
    status, secret, _headers = localcluster.http("GET", _path("tls-once"))
    assert status == 200 and secret["type"] == "kubernetes.io/tls" and secret["metadata"]["labels"] == LABELS
    files = tls.decode_secret_data(secret)
    assert sorted(files) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]
    assert result["ca_crt"] == files["ca.crt"].decode() and result["secret"] == "tls-once"
    assert result["dns_names"] == NAMES and result["ip_addresses"] == ["127.0.0.1"]
    leaf = x509.load_pem_x509_certificate(files["tls.crt"])
    assert result["not_after"] == tls.iso(tls.not_after(leaf))
    _no_keys(result, files)

    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-once"))
    result = exited.result
    assert not exited.failed and not result["changed"] and not result["created"] and not result["renewed"], result
    assert result["owned"] and result["reason"] == "" and result["ca_crt"] == files["ca.crt"].decode()
    assert result["diff"]["before"] == result["diff"]["after"]
    assert localcluster.writes() == [] and _files(localcluster, "tls-once") == files
    _no_keys(result, files)


def test_a_name_added_is_covered_by_a_certificate_of_the_same_ca(localcluster, run_module):
    run_module(tls_certificates.main, _params(localcluster, "tls-names"))
    before = _files(localcluster, "tls-names")
    more = NAMES + ["elasticsearch-logging.default.svc.cluster.local"]

    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-names", dns_names=more), check_mode=True)
    assert exited.result["renewed"] and localcluster.writes() == [] and _files(localcluster, "tls-names") == before

    exited = run_module(tls_certificates.main, _params(localcluster, "tls-names", dns_names=more))
    result = exited.result
    assert not exited.failed and result["changed"] and result["renewed"] and not result["created"], result
    assert result["reason"] == "tls.crt does not cover elasticsearch-logging.default.svc.cluster.local"
    after = _files(localcluster, "tls-names")
    assert after["ca.crt"] == before["ca.crt"] and after["ca.key"] == before["ca.key"] and after["tls.key"] != before["tls.key"]
    assert tls.Inspection(after, more, ["127.0.0.1"], NOW, 30).reasons == []
    assert result["dns_names"] == more and result["ca_crt"] == before["ca.crt"].decode()
    assert result["diff"]["after"]["certificate"]["dns_names"] == more and result["diff"]["before"]["certificate"]["dns_names"] == NAMES
    puts = [w for w in localcluster.writes() if w["method"] == "PUT"]
    assert len(puts) == 1 and puts[0]["path"] == _path("tls-names"), localcluster.writes()
    _no_keys(result, before)
    _no_keys(result, after)


def test_an_expiring_certificate_is_issued_again(localcluster, run_module):
    # Made 720 days ago for 730: 10 days left, within the 30 of renew_before_days.
    files = tls.new_secret_files(NAMESPACE, "es", NAMES, ["127.0.0.1"], NOW - datetime.timedelta(days=720), 3650, 730)
    _put_secret(localcluster, "tls-expiring", files, LABELS)
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-expiring"))
    result = exited.result
    assert not exited.failed and result["renewed"], result
    assert result["reason"].startswith("tls.crt expires on ") and "within renew_before_days (30)" in result["reason"]
    after = _files(localcluster, "tls-expiring")
    assert after["ca.crt"] == files["ca.crt"] and tls.Inspection(after, NAMES, ["127.0.0.1"], NOW, 30).reasons == []
    assert result["not_after"] > tls.iso(NOW + datetime.timedelta(days=700))
    _no_keys(result, files)


def test_a_ca_near_its_end_is_refused_with_the_way_out(localcluster, run_module):
    files = tls.new_secret_files(NAMESPACE, "es", NAMES, ["127.0.0.1"], NOW - datetime.timedelta(days=3640), 3650, 730)
    _put_secret(localcluster, "tls-old-ca", files, LABELS)
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-old-ca"))
    msg = exited.result["msg"]
    assert exited.failed and "its CA (ca.crt) expires on " in msg and "does not replace a CA by itself" in msg, exited.result
    assert "kubectl -n default delete secret tls-old-ca" in msg and "restart the pods that mount it" in msg
    assert localcluster.writes() == [] and _files(localcluster, "tls-old-ca") == files
    _no_keys(exited.result, files)


def test_ours_without_ca_key_is_refused_when_it_needs_a_new_certificate(localcluster, run_module):
    files = tls.new_secret_files(NAMESPACE, "es", NAMES, ["127.0.0.1"], NOW, 3650, 730)
    del files["ca.key"]
    _put_secret(localcluster, "tls-no-ca-key", files, LABELS)
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-no-ca-key"))
    assert not exited.failed and not exited.result["changed"], "a certificate that serves needs no ca.key"
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-no-ca-key", dns_names=NAMES + ["es.example"]))
    msg = exited.result["msg"]
    assert exited.failed and "(tls.crt does not cover es.example), but it has no ca.key" in msg, exited.result
    assert localcluster.writes() == []


def test_ours_without_a_usable_ca_is_refused_with_the_way_out(localcluster, run_module):
    files = tls.new_secret_files(NAMESPACE, "es", NAMES, ["127.0.0.1"], NOW, 3650, 730)
    files["ca.crt"] = b"not a certificate"
    _put_secret(localcluster, "tls-no-ca", files, LABELS)
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-no-ca"))
    msg = exited.result["msg"]
    assert exited.failed and "has no usable CA: ca.crt is not a PEM certificate" in msg, exited.result
    assert "kubectl -n default delete secret tls-no-ca" in msg and localcluster.writes() == []
    _no_keys(exited.result, files)


def test_yours_that_serves_is_left_alone(localcluster, run_module):
    files = tls.new_secret_files(NAMESPACE, "es", NAMES, [], NOW, 3650, 730)
    _put_secret(localcluster, "tls-yours", files)
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-yours"))
    result = exited.result
    assert not exited.failed and not result["changed"] and not result["owned"] and result["ip_addresses"] == [], result
    assert result["ca_crt"] == files["ca.crt"].decode() and localcluster.writes() == []
    _no_keys(result, files)


def test_yours_without_the_names_is_refused_and_never_written(localcluster, run_module):
    files = tls.new_secret_files(NAMESPACE, "es", ["es.example"], [], NOW, 3650, 730)
    _put_secret(localcluster, "tls-yours-wrong", files, {"app.kubernetes.io/managed-by": "cert-manager"})
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-yours-wrong"))
    msg = exited.result["msg"]
    assert exited.failed and msg.startswith("Secret default/tls-yours-wrong cannot serve Elasticsearch: tls.crt does not cover "
                                            "elasticsearch-logging, elasticsearch-logging.default.svc, "
                                            "*.elasticsearch-logging-headless.default.svc."), exited.result
    assert "it lacks the labels" in msg and "or name another Secret" in msg and "Nothing was written" in msg
    assert localcluster.writes() == [] and _files(localcluster, "tls-yours-wrong") == files
    _no_keys(exited.result, files)


def test_yours_without_its_keys_is_refused_naming_them(localcluster, run_module):
    localcluster.http("POST", "/api/v1/namespaces/%s/secrets" % NAMESPACE, {"metadata": {"name": "tls-yours-empty"}, "stringData": {"x": "y"}})
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-yours-empty"))
    assert exited.failed and "ca.crt is missing; tls.crt is missing; tls.key is missing" in exited.result["msg"], exited.result


def test_a_race_lost_reads_the_other_runs_secret(localcluster, run_module, monkeypatch):
    theirs = tls.new_secret_files(NAMESPACE, "es", NAMES, ["127.0.0.1"], NOW, 3650, 730)
    _put_secret(localcluster, "tls-race", theirs, LABELS)
    real_get, reads = k8s.Cluster.get, []

    # This run read before the other run's create landed: it saw no Secret, so its create meets a 409.
    def get(self, path, **kw):
        reads.append(path)
        return None if len(reads) == 1 else real_get(self, path, **kw)

    monkeypatch.setattr(k8s.Cluster, "get", get)
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-race"))
    result = exited.result
    assert not exited.failed and not result["changed"] and not result["created"] and result["owned"], result
    assert result["ca_crt"] == theirs["ca.crt"].decode() and _files(localcluster, "tls-race") == theirs


def test_a_change_between_read_and_replace_is_refused(localcluster, run_module, monkeypatch):
    run_module(tls_certificates.main, _params(localcluster, "tls-conflict"))
    real_get = k8s.Cluster.get

    def get(self, path, **kw):
        found = real_get(self, path, **kw)
        localcluster.http("PATCH", _path("tls-conflict"), {"metadata": {"annotations": {"touched": "yes"}}},
                          content_type="application/merge-patch+json")
        return found

    monkeypatch.setattr(k8s.Cluster, "get", get)
    before = _files(localcluster, "tls-conflict")
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-conflict", dns_names=NAMES + ["es.example"]))
    msg = exited.result["msg"]
    assert exited.failed and "another run changed the Secret after this run read it" in msg and "(409)" in msg, exited.result
    assert "run again" in msg and _files(localcluster, "tls-conflict") == before


def test_a_failed_read_names_the_step_without_a_traceback(localcluster, run_module):
    localcluster.hook("faults", "POST", {"pattern": "^GET /api/v1/namespaces/default/secrets/tls-broken$", "status": 500, "count": 1,
                                         "hang": 0})
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-broken"))
    assert exited.failed and "Traceback" not in str(exited.result), exited.result
    assert exited.result["msg"].startswith("Could not read Secret default/tls-broken: GET /api/v1/namespaces/default/secrets/"
                                           "tls-broken failed (500)"), exited.result
    assert exited.result["msg"].endswith("Nothing was written; running again is safe.")
    localcluster.hook("faults", "DELETE")


def test_a_throttled_create_is_sent_again(localcluster, run_module):
    localcluster.hook("faults", "POST", {"pattern": "^POST /api/v1/namespaces/default/secrets$", "status": 429, "count": 1, "hang": 0})
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-throttled"))
    assert not exited.failed and exited.result["created"], exited.result
    localcluster.hook("faults", "DELETE")


def test_inconsistent_options_are_refused_before_any_request(localcluster, run_module):
    localcluster.clear_requests()
    exited = run_module(tls_certificates.main, _params(localcluster, "tls-bad", validity_days=30, ip_addresses=["10.0.0.300"],
                                                       labels={}))
    msg = exited.result["msg"]
    assert exited.failed and "ip_addresses: '10.0.0.300' is not an IP address." in msg, exited.result
    assert "labels is empty" in msg and "renew_before_days (30) must be less than validity_days (30)" in msg
    assert localcluster.requests() == []
