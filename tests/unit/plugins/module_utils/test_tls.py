"""Elasticsearch's certificates: the CA and the certificate it signs, the names they cover, the chain, expiry, and a
certificate issued again under the same CA."""

from __future__ import annotations

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.seclog.falco_efk.plugins.module_utils import tls

NOW = datetime.datetime(2026, 12, 7, 21, 0, 0, tzinfo=datetime.timezone.utc)
NAMES = ["elasticsearch-logging", "elasticsearch-logging.logging.svc", "*.elasticsearch-logging-headless.logging.svc"]


@pytest.fixture(name="files", scope="module")
def files_fixture():
    """A Secret's files as the module creates them."""
    return tls.new_secret_files("logging", "elasticsearch-logging", NAMES, ["127.0.0.1"], NOW, 3650, 730)


def _cert(pem):
    return x509.load_pem_x509_certificate(pem)


def _ext(cert, kind):
    return cert.extensions.get_extension_for_class(kind)


def test_the_ca_is_a_p256_ca_that_signs_certificates_only(files):
    ca = _cert(files["ca.crt"])
    assert ca.subject.rfc4514_string() == "CN=seclog.falco_efk CA logging" and ca.issuer == ca.subject
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and ca.public_key().curve.name == "secp256r1"
    constraints = _ext(ca, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = _ext(ca, x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert _ext(ca, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())
    assert tls.not_after(ca) == NOW + datetime.timedelta(days=3650)


def test_the_certificate_serves_and_authenticates_for_every_name_asked(files):
    leaf, ca = _cert(files["tls.crt"]), _cert(files["ca.crt"])
    assert leaf.subject.rfc4514_string() == "CN=elasticsearch-logging" and leaf.issuer == ca.subject
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey) and leaf.public_key().curve.name == "secp256r1"
    assert tls.san(leaf) == (NAMES, ["127.0.0.1"])
    assert list(_ext(leaf, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = _ext(leaf, x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    assert not _ext(leaf, x509.BasicConstraints).value.ca
    assert (_ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier
            == _ext(ca, x509.SubjectKeyIdentifier).value.digest)
    assert _ext(leaf, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(leaf.public_key())
    assert leaf.not_valid_before_utc == NOW - tls.CLOCK_SKEW and tls.not_after(leaf) == NOW + datetime.timedelta(days=730)
    leaf.verify_directly_issued_by(ca)


def test_private_keys_are_unencrypted_pkcs8_pem(files):
    for name in ("ca.key", "tls.key"):
        assert files[name].startswith(b"-----BEGIN PRIVATE KEY-----\n"), name
        assert tls.load_private_key(files[name]) is not None
    assert tls.key_matches(_cert(files["tls.crt"]), tls.load_private_key(files["tls.key"]))
    assert tls.key_matches(_cert(files["ca.crt"]), tls.load_private_key(files["ca.key"]))


def test_python_clients_verify_it_strictly_for_each_name_and_refuse_others(files, tmp_path):
    for name in ("ca.crt", "tls.crt", "tls.key"):
        (tmp_path / name).write_bytes(files[name])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    # Python 3.13 sets this by default: AKI, SKI, critical basicConstraints and keyUsage on the CA.
    client.verify_flags |= ssl.VERIFY_X509_STRICT

    def handshake(hostname):
        to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
        c = client.wrap_bio(to_client, to_server, server_hostname=hostname)
        s = server.wrap_bio(to_server, to_client, server_side=True)
        for _round in range(10):
            done = 0
            for end in (c, s):
                try:
                    end.do_handshake()
                    done += 1
                except ssl.SSLWantReadError:
                    pass
            if done == 2:
                return True
        return False

    assert handshake("elasticsearch-logging.logging.svc")
    assert handshake("elasticsearch-logging-0.elasticsearch-logging-headless.logging.svc")
    assert handshake("127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake("kibana-logging.logging.svc")


def test_the_certificate_never_outlives_its_ca():
    ca_crt, ca_key = tls.generate_ca("logging", NOW, 100)
    tls_crt, _key = tls.issue_certificate(ca_crt, ca_key, None, ["es"], [], NOW, 730)
    assert tls.not_after(_cert(tls_crt)) == tls.not_after(_cert(ca_crt))


def test_an_empty_subject_makes_the_names_critical():
    ca_crt, ca_key = tls.generate_ca("logging", NOW, 100)
    leaf = _cert(tls.issue_certificate(ca_crt, ca_key, None, ["es"], [], NOW, 30)[0])
    assert leaf.subject == x509.Name([]) and _ext(leaf, x509.SubjectAlternativeName).critical


def test_the_ca_name_fits_the_common_name_limit_for_the_longest_namespace():
    ca = _cert(tls.generate_ca("n" * 63, NOW, 10)[0])
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ("seclog.falco_efk CA " + "n" * 63)[:64]


def test_a_fresh_secret_needs_nothing(files):
    found = tls.Inspection(files, NAMES, ["127.0.0.1"], NOW, 30)
    assert found.reasons == [] and found.ca_problem is None and not found.expired


def test_names_not_covered_are_named_in_the_order_asked(files):
    leaf = _cert(files["tls.crt"])
    asked = ["elasticsearch-logging.logging", "ELASTICSEARCH-LOGGING.logging.svc.", "es-0.elasticsearch-logging-headless.logging.svc",
             "a.b.elasticsearch-logging-headless.logging.svc", "*.other.logging.svc"]
    assert tls.missing_names(leaf, asked, ["127.0.0.1", "::1", "10.0.0.1"]) == [
        "elasticsearch-logging.logging", "a.b.elasticsearch-logging-headless.logging.svc", "*.other.logging.svc", "::1", "10.0.0.1"]
    found = tls.Inspection(files, ["elasticsearch-logging.logging"], ["10.0.0.1"], NOW, 30)
    assert found.reasons == ["tls.crt does not cover elasticsearch-logging.logging, 10.0.0.1"]


def test_a_wildcard_asked_for_must_be_held_as_such():
    ca_crt, ca_key = tls.generate_ca("logging", NOW, 100)
    leaf = _cert(tls.issue_certificate(ca_crt, ca_key, "es", ["es-0.h.logging.svc"], [], NOW, 30)[0])
    assert tls.missing_names(leaf, ["*.h.logging.svc"]) == ["*.h.logging.svc"]


def test_expiry_within_renew_before_days_is_a_reason_naming_the_date(files):
    end = NOW + datetime.timedelta(days=730)
    assert tls.Inspection(files, NAMES, [], end - datetime.timedelta(days=31), 30).reasons == []
    soon = tls.Inspection(files, NAMES, [], end - datetime.timedelta(days=29), 30)
    assert soon.reasons == ["tls.crt expires on 2028-12-06T21:00:00Z, within renew_before_days (30)"] and not soon.expired
    gone = tls.Inspection(files, NAMES, [], end + datetime.timedelta(seconds=1), 30)
    assert gone.reasons == ["tls.crt expired on 2028-12-06T21:00:00Z"] and gone.expired
    assert tls.expiry_reason("its CA (ca.crt)", _cert(files["ca.crt"]), NOW + datetime.timedelta(days=3640), 30) == (
        "its CA (ca.crt) expires on 2036-12-04T21:00:00Z, within renew_before_days (30)")


def test_a_certificate_of_another_ca_is_not_signed_by_ca_crt(files):
    other = tls.new_secret_files("logging", "es", NAMES, ["127.0.0.1"], NOW, 3650, 730)
    mixed = dict(files, **{"tls.crt": other["tls.crt"], "tls.key": other["tls.key"]})
    assert tls.Inspection(mixed, NAMES, [], NOW, 30).reasons == ["tls.crt is not signed by ca.crt"]
    assert not tls.issued_by(_cert(other["tls.crt"]), [_cert(files["ca.crt"])])


def test_a_chain_in_tls_crt_is_followed_up_to_ca_crt(files):
    # An intermediate CA of the root, as cert-manager's CA issuer with an intermediate writes it: leaf then intermediate.
    root, root_key = _cert(files["ca.crt"]), tls.load_private_key(files["ca.key"])
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intermediate")])
    intermediate = (x509.CertificateBuilder().subject_name(name).issuer_name(root.subject).public_key(key.public_key())
                    .serial_number(2).not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=10))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                    .sign(root_key, hashes.SHA256()))
    intermediate_pem = intermediate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    leaf_pem, leaf_key = tls.issue_certificate(intermediate_pem, key_pem, "es", NAMES, [], NOW, 5)
    chained = {"ca.crt": files["ca.crt"], "tls.crt": leaf_pem + intermediate_pem, "tls.key": leaf_key}
    assert tls.Inspection(chained, NAMES, [], NOW, 1).reasons == []
    assert tls.Inspection(dict(chained, **{"tls.crt": leaf_pem}), NAMES, [], NOW, 1).reasons == ["tls.crt is not signed by ca.crt"]


def test_issued_again_under_the_same_ca_with_a_new_key(files):
    later = NOW + datetime.timedelta(days=700)
    tls_crt, tls_key = tls.issue_certificate(files["ca.crt"], files["ca.key"], "es", NAMES + ["es.example"], ["127.0.0.1"], later, 730)
    renewed = dict(files, **{"tls.crt": tls_crt, "tls.key": tls_key})
    assert tls.Inspection(renewed, NAMES + ["es.example"], ["127.0.0.1"], later, 30).reasons == []
    assert _cert(tls_crt).public_key() != _cert(files["tls.crt"]).public_key() and tls_key != files["tls.key"]
    assert _cert(tls_crt).serial_number != _cert(files["tls.crt"]).serial_number
    assert tls.not_after(_cert(tls_crt)) == later + datetime.timedelta(days=730)


def test_a_key_of_another_certificate_does_not_match(files):
    other = tls.new_secret_files("logging", "es", NAMES, [], NOW, 10, 5)
    assert tls.Inspection(dict(files, **{"tls.key": other["tls.key"]}), NAMES, [], NOW, 1).reasons == ["tls.key does not match tls.crt"]


def test_missing_and_unreadable_files_are_named(files):
    found = tls.Inspection({"tls.crt": b"not pem", "tls.key": files["tls.key"]}, NAMES, [], NOW, 30)
    assert found.ca_problem == "ca.crt is missing" and found.reasons == ["tls.crt is not a PEM certificate"] and found.leaf is None
    found = tls.Inspection({"ca.crt": b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"}, NAMES, [], NOW, 30)
    assert found.ca_problem == "ca.crt is not a PEM certificate"
    assert found.reasons == ["tls.crt is missing", "tls.key is missing"]
    encrypted = tls.load_private_key(files["tls.key"]).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))
    assert tls.Inspection(dict(files, **{"tls.key": encrypted}), NAMES, [], NOW, 30).reasons == [
        "tls.key is not an unencrypted PEM private key"]


def test_the_ca_key_must_be_there_and_be_the_cas(files):
    ca = _cert(files["ca.crt"])
    assert tls.ca_key_problem(files, ca) is None
    assert tls.ca_key_problem(dict(files, **{"ca.key": b""}), ca) == "it has no ca.key"
    assert tls.ca_key_problem(dict(files, **{"ca.key": b"junk"}), ca) == "its ca.key is not an unencrypted PEM private key"
    assert tls.ca_key_problem(dict(files, **{"ca.key": files["tls.key"]}), ca) == "its ca.key is not the key of ca.crt"


def test_secret_data_round_trips_and_bad_base64_counts_as_absent(files):
    data = tls.encode_secret_data(files)
    assert tls.decode_secret_data({"data": data}) == files
    assert tls.decode_secret_data({"data": {"tls.crt": "%%%", "ca.crt": data["ca.crt"]}}) == {"ca.crt": files["ca.crt"]}
    assert tls.decode_secret_data({}) == {} and tls.decode_secret_data(None) == {}


def test_describe_tells_the_certificate_and_no_key(files):
    described = tls.describe(_cert(files["tls.crt"]))
    assert described == {"subject": "CN=elasticsearch-logging", "issuer": "CN=seclog.falco_efk CA logging", "dns_names": NAMES,
                         "ip_addresses": ["127.0.0.1"], "not_after": "2028-12-06T21:00:00Z"}
    assert tls.describe(None) == {}
