# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Elasticsearch's certificates (pure): a CA of the collection's own, a server certificate it signs, and what an
existing kubernetes.io/tls Secret's files are worth (chain, names, expiry, key).

Files are PEM bytes keyed as the Secret keys them (``ca.crt``, ``ca.key``, ``tls.crt``, ``tls.key``); times are
timezone-aware UTC datetimes, passed in so the tests choose the clock. Nothing here writes keys anywhere: callers
put them into a Secret and nowhere else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import ipaddress
import traceback

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    if not hasattr(x509.Certificate, "verify_directly_issued_by"):
        raise ImportError("cryptography 40.0 or newer is needed (verify_directly_issued_by)")
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

CA_CRT, CA_KEY, TLS_CRT, TLS_KEY = "ca.crt", "ca.key", "tls.crt", "tls.key"
# Certificates start a little in the past: a node whose clock lags would otherwise refuse them for a while.
CLOCK_SKEW = datetime.timedelta(minutes=5)
# X.509 limits a common name to 64 characters (ub-common-name).
MAX_COMMON_NAME = 64


def ca_common_name(namespace):
    """The CA's subject CN for a namespace."""
    return ("seclog.falco_efk CA %s" % namespace)[:MAX_COMMON_NAME]


def iso(moment):
    """A UTC datetime as ISO 8601, to the second (``2028-05-01T10:00:00Z``)."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_after(cert):
    """When ``cert`` expires, as an aware UTC datetime (cryptography before 42 has only the naive attribute)."""
    moment = getattr(cert, "not_valid_after_utc", None)
    return moment if moment is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------------------------------------- Secret data
def decode_secret_data(secret):
    """A Secret's ``data`` as {key: bytes}; a value that is not base64 is left out (as if absent)."""
    files = {}
    for key, value in ((secret or {}).get("data") or {}).items():
        try:
            files[key] = base64.b64decode(value or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            continue
    return files


def encode_secret_data(files):
    """{key: bytes} as a Secret's ``data``."""
    return dict((key, base64.b64encode(value).decode("ascii")) for key, value in files.items())


# ---------------------------------------------------------------------------------------------- generation
def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def generate_ca(namespace, now, validity_days):
    """A new CA (ECDSA P-256, path length 0): (ca.crt PEM, ca.key PEM)."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_common_name(namespace))])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW).not_valid_after(now + datetime.timedelta(days=validity_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    return _cert_pem(cert), _key_pem(key)


def issue_certificate(ca_crt, ca_key, common_name, dns_names, ip_addresses, now, validity_days):
    """A server and client certificate (ECDSA P-256) for ``dns_names`` and ``ip_addresses``, signed by the CA:
    (tls.crt PEM, tls.key PEM). It never outlives the CA."""
    ca_cert = x509.load_pem_x509_certificate(ca_crt)
    signer = serialization.load_pem_private_key(ca_key, password=None)
    key = _new_key()
    end = min(now + datetime.timedelta(days=validity_days), not_after(ca_cert))
    sans = [x509.DNSName(name) for name in dns_names] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - CLOCK_SKEW).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            # clientAuth too: Elasticsearch's transport layer presents the same certificate to its peers.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            # An empty subject makes the names critical (RFC 5280 4.2.1.6).
            .add_extension(x509.SubjectAlternativeName(sans), critical=not common_name)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(signer, hashes.SHA256()))
    return _cert_pem(cert), _key_pem(key)


def new_secret_files(namespace, common_name, dns_names, ip_addresses, now, ca_validity_days, validity_days):
    """ca.crt, ca.key, tls.crt and tls.key for a new Secret."""
    ca_crt, ca_key = generate_ca(namespace, now, ca_validity_days)
    tls_crt, tls_key = issue_certificate(ca_crt, ca_key, common_name, dns_names, ip_addresses, now, validity_days)
    return {CA_CRT: ca_crt, CA_KEY: ca_key, TLS_CRT: tls_crt, TLS_KEY: tls_key}


# ---------------------------------------------------------------------------------------------- inspection
def load_certificates(pem):
    """Every certificate of a PEM bundle, in order; [] when there is none or it does not parse."""
    try:
        return list(x509.load_pem_x509_certificates(pem or b""))
    except ValueError:
        return []


def load_private_key(pem):
    """An unencrypted PEM private key, or None."""
    try:
        return serialization.load_pem_private_key(pem or b"", password=None)
    except (ValueError, TypeError):
        return None


def _public_bytes(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert, key):
    """Whether ``key`` is the private key of ``cert``."""
    return key is not None and _public_bytes(cert.public_key()) == _public_bytes(key.public_key())


def _directly_issued_by(cert, issuer):
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def issued_by(cert, ca_certs, intermediates=()):
    """Whether ``cert`` chains up to one of ``ca_certs``, directly or through ``intermediates`` (tls.crt's chain)."""
    current, seen = cert, 0
    while seen <= len(intermediates):
        if any(_directly_issued_by(current, ca) for ca in ca_certs):
            return True
        parent = next((i for i in intermediates if i is not current and _directly_issued_by(current, i)), None)
        if parent is None:
            return False
        current, seen = parent, seen + 1
    return False


def san(cert):
    """(DNS names, IP addresses as strings) of a certificate's subjectAltName."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return names.get_values_for_type(x509.DNSName), [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]


def _dns_covers(held, wanted):
    held, wanted = held.lower().rstrip("."), wanted.lower().rstrip(".")
    if held == wanted:
        return True
    # A wildcard covers exactly one leftmost label (RFC 6125 6.4.3); a wildcard asked for must be held as such.
    return (held.startswith("*.") and not wanted.startswith("*.") and "." in wanted
            and wanted.split(".", 1)[1] == held[2:])


def missing_names(cert, dns_names, ip_addresses=()):
    """The names of ``dns_names`` and ``ip_addresses`` that ``cert`` does not cover, in the order asked."""
    held_dns, held_ips = san(cert)
    held_ips = set(ipaddress.ip_address(ip) for ip in held_ips)
    missing = [name for name in dns_names if not any(_dns_covers(held, name) for held in held_dns)]
    return missing + [ip for ip in ip_addresses if ipaddress.ip_address(ip) not in held_ips]


def describe(cert):
    """What a certificate says, for diffs and results (no key material)."""
    if cert is None:
        return {}
    dns_names, ip_addresses = san(cert)
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(), "dns_names": dns_names,
            "ip_addresses": ip_addresses, "not_after": iso(not_after(cert))}


def expiry_reason(what, cert, now, renew_before_days):
    """``tls.crt expires on ...`` when ``cert`` ends within ``renew_before_days`` (or has ended), else None."""
    end = not_after(cert)
    if end <= now:
        return "%s expired on %s" % (what, iso(end))
    if end - now <= datetime.timedelta(days=renew_before_days):
        return "%s expires on %s, within renew_before_days (%d)" % (what, iso(end), renew_before_days)
    return None


class Inspection:
    """What an existing Secret's files are worth against the names asked for.

    ``ca_problem``: why ca.crt is unusable (missing, not PEM), or None; ``ca_certs``/``ca``: its certificates and the
    first; ``leaf``: the server certificate (None when tls.crt is unusable); ``problems``: why tls.crt and tls.key
    cannot serve as they are (missing, unreadable, names not covered, not signed by ca.crt, key mismatch), expiry
    aside; ``expiry``: why tls.crt is due for renewal, or None; ``expired``: whether it has ended already.
    """

    def __init__(self, files, dns_names, ip_addresses, now, renew_before_days):
        self.ca_certs = load_certificates(files.get(CA_CRT))
        chain = load_certificates(files.get(TLS_CRT))
        key = load_private_key(files.get(TLS_KEY))
        self.ca = self.ca_certs[0] if self.ca_certs else None
        self.leaf = chain[0] if chain else None
        self.ca_problem = _file_problem(files, CA_CRT, self.ca)
        self.problems = [p for p in (_file_problem(files, TLS_CRT, self.leaf), _file_problem(files, TLS_KEY, key)) if p]
        self.expiry, self.expired = None, False
        if self.leaf is None:
            return
        missing = missing_names(self.leaf, dns_names, ip_addresses)
        if missing:
            self.problems.append("tls.crt does not cover %s" % ", ".join(missing))
        if self.ca is not None and not issued_by(self.leaf, self.ca_certs, chain[1:]):
            self.problems.append("tls.crt is not signed by ca.crt")
        if key is not None and not key_matches(self.leaf, key):
            self.problems.append("tls.key does not match tls.crt")
        self.expiry = expiry_reason(TLS_CRT, self.leaf, now, renew_before_days)
        self.expired = not_after(self.leaf) <= now

    @property
    def reasons(self):
        """Every reason to issue tls.crt and tls.key again."""
        return self.problems + ([self.expiry] if self.expiry else [])


def _file_problem(files, name, loaded):
    if not files.get(name):
        return "%s is missing" % name
    if loaded is None:
        return "%s is not %s" % (name, "an unencrypted PEM private key" if name == TLS_KEY else "a PEM certificate")
    return None


def ca_key_problem(files, ca_cert):
    """Why ca.key cannot sign for ``ca_cert`` (missing, unreadable, another CA's), or None."""
    if not files.get(CA_KEY):
        return "it has no ca.key"
    key = load_private_key(files[CA_KEY])
    if key is None:
        return "its ca.key is not an unencrypted PEM private key"
    if not key_matches(ca_cert, key):
        return "its ca.key is not the key of ca.crt"
    return None
