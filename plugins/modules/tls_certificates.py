#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_certificates
short_description: Keep a CA and a server certificate for Elasticsearch in a kubernetes.io/tls Secret
version_added: 0.1.0
description:
  - Makes sure Secret O(name) in O(namespace) holds a certificate Elasticsearch can serve HTTPS and transport TLS with,
    signed by a CA that Fluentd, Kibana and this collection's modules trust (C(ca.crt), returned as RV(ca_crt)).
  - B(When the Secret is absent), the module generates a CA (ECDSA P-256, CN C(seclog.falco_efk CA <namespace>), path
    length 0) and a certificate it signs (ECDSA P-256, for O(dns_names) and O(ip_addresses), server and client
    authentication), and creates the Secret, of type C(kubernetes.io/tls) with O(labels), holding C(ca.crt),
    C(tls.crt), C(tls.key) and C(ca.key). It only creates it; when another run created it meanwhile (409
    AlreadyExists), theirs is read and checked as an existing one.
  - B(When the Secret exists and carries) O(labels), the collection made it. When C(tls.crt) is signed by C(ca.crt),
    covers every name of O(dns_names) and O(ip_addresses), matches C(tls.key) and does not expire within
    O(renew_before_days), nothing is written. Otherwise C(tls.crt) and C(tls.key) alone are issued again with the same
    CA (C(ca.key)), and the Secret is replaced with the resourceVersion read, so a change made meanwhile is refused
    rather than lost; RV(reason) says why. Clients keep trusting the same C(ca.crt).
  - The CA is never replaced by the module, since every client trusts it. When it expires within
    O(renew_before_days), the module fails and says how to start over (delete the Secret, run again, restart the pods
    that mount it).
  - B(When the Secret exists without) O(labels), it is yours (cert-manager's, for example) and never written. It must
    hold C(ca.crt), C(tls.crt) and C(tls.key), with C(tls.crt) covering every name of O(dns_names) (O(ip_addresses)
    are not asked of it), signed by C(ca.crt) (through the chain in C(tls.crt) if need be), matching C(tls.key) and
    not expired; otherwise the module fails naming what is missing. A certificate expiring within
    O(renew_before_days) is a warning.
  - Private keys are never returned, logged or put into a diff.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
requirements:
  - cryptography >= 40.0 (ansible-core installs it)
  - kubernetes >= 24.2.0
notes:
  - The Secret holds the CA's private key (C(ca.key)) so that the certificate can be issued again with the same CA. Whoever
    can read Secrets in O(namespace) can therefore mint certificates this CA signs; mount only C(ca.crt), C(tls.crt) and
    C(tls.key) into pods (a Secret volume's C(items)).
  - Elasticsearch reloads its certificate files when they change, as a Secret volume mounted without C(subPath) changes
    them after a renewal; the CA staying the same, its clients need no restart.
options:
  namespace:
    description: Namespace of the Secret.
    type: str
    required: true
  name:
    description: Name of the Secret.
    type: str
    required: true
  common_name:
    description:
      - Subject common name of the certificate (64 characters at most). Clients check O(dns_names), not this.
      - Default is the first name of O(dns_names) that fits; with none, the subject is empty.
    type: str
  dns_names:
    description:
      - The DNS names the certificate must cover, such as the Service's short and qualified names
        (C(elasticsearch-logging), C(elasticsearch-logging.logging.svc.cluster.local)) and a wildcard for the pods of
        a headless Service (C(*.elasticsearch-logging-headless.logging.svc)).
      - A wildcard held by the certificate covers one leftmost label; a wildcard asked for must be held as such.
    type: list
    elements: str
    required: true
  ip_addresses:
    description: The IP addresses the certificate this module issues covers (C(127.0.0.1) lets a pod reach itself).
    type: list
    elements: str
    default: ['127.0.0.1']
  labels:
    description:
      - Labels of the Secret the module creates; an existing Secret carrying them all is taken as the module's own,
        whose certificate it may issue again. Must not be empty.
    type: dict
    default: {app.kubernetes.io/managed-by: seclog.falco_efk}
  ca_validity_days:
    description: Days the CA is valid, from its creation.
    type: int
    default: 3650
  validity_days:
    description: Days a certificate is valid, from its issue (never beyond the CA's end).
    type: int
    default: 730
  renew_before_days:
    description:
      - The certificate is issued again when it expires within this many days; the module fails when the CA does.
      - Must be less than O(validity_days) and O(ca_validity_days).
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: Reads the Secret only; reports what it would create or renew, and fails where a run would.
  diff_mode:
    support: full
    description: The certificates before and after (subject, issuer, names, expiry), never key material.
"""

EXAMPLES = r"""
- name: Elasticsearch's certificate, in a Secret the collection keeps
  seclog.falco_efk.tls_certificates:
    namespace: logging
    name: elasticsearch-logging-certs
    dns_names:
      - elasticsearch-logging
      - elasticsearch-logging.logging
      - elasticsearch-logging.logging.svc
      - elasticsearch-logging.logging.svc.cluster.local
      - "*.elasticsearch-logging-headless.logging.svc"
    labels:
      app.kubernetes.io/part-of: seclog-falco-efk
      app.kubernetes.io/managed-by: seclog.falco_efk
  register: es_certs

- name: Trust its CA on the controller
  ansible.builtin.copy:
    content: "{{ es_certs.ca_crt }}"
    dest: "{{ playbook_dir }}/elasticsearch-ca.crt"
    mode: "0644"

- name: Check a Secret of yours (cert-manager's) without writing it
  seclog.falco_efk.tls_certificates:
    namespace: logging
    name: es-certs-from-cert-manager
    dns_names: [elasticsearch-logging, elasticsearch-logging.logging.svc]
"""

RETURN = r"""
secret:
  description: Name of the Secret.
  returned: always
  type: str
  sample: elasticsearch-logging-certs
owned:
  description: Whether the Secret is this collection's (it carries O(labels)), so the module may issue its certificate again.
  returned: always
  type: bool
created:
  description: Whether the Secret was created (in check mode, would be).
  returned: always
  type: bool
renewed:
  description: Whether the certificate was issued again (in check mode, would be).
  returned: always
  type: bool
reason:
  description: Why the certificate was issued again (names not covered, expiry, not signed by ca.crt); empty otherwise.
  returned: always
  type: str
  sample: "tls.crt does not cover elasticsearch-logging.logging.svc; tls.crt expires on 2027-01-31T10:00:00Z, within renew_before_days (30)"
ca_crt:
  description:
    - The CA certificate (PEM) clients trust; public. Empty in check mode when the Secret would be created.
  returned: always
  type: str
not_after:
  description: When the certificate expires (ISO 8601, UTC).
  returned: always
  type: str
  sample: "2028-05-01T10:00:00Z"
dns_names:
  description: The DNS names the certificate holds.
  returned: always
  type: list
  elements: str
ip_addresses:
  description: The IP addresses the certificate holds.
  returned: always
  type: list
  elements: str
"""

import datetime
import ipaddress

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.seclog.falco_efk.plugins.module_utils import tls
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster, ClusterError, auth_argument_spec

OWN_MARK = {"app.kubernetes.io/managed-by": "seclog.falco_efk"}


def argument_spec():
    """The module's options plus kubernetes.core's connection options."""
    spec = auth_argument_spec()
    spec.update(namespace=dict(type="str", required=True), name=dict(type="str", required=True),
                common_name=dict(type="str"), dns_names=dict(type="list", elements="str", required=True),
                ip_addresses=dict(type="list", elements="str", default=["127.0.0.1"]),
                labels=dict(type="dict", default=dict(OWN_MARK)), ca_validity_days=dict(type="int", default=3650),
                validity_days=dict(type="int", default=730), renew_before_days=dict(type="int", default=30))
    return spec


def input_errors(params):
    """What is wrong with the options, as sentences (empty when nothing)."""
    errors = []
    names = params["dns_names"]
    if not names:
        errors.append("dns_names is empty: give the names clients reach Elasticsearch by.")
    for name in names:
        if not name or any(c.isspace() for c in name) or not all(ord(c) < 128 for c in name):
            errors.append("dns_names: %r is not a DNS name (ASCII, no spaces; an internationalized name in its xn-- form)." % name)
    for address in params["ip_addresses"]:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            errors.append("ip_addresses: %r is not an IP address." % address)
    if not params["labels"]:
        errors.append("labels is empty: they are how the module tells its own Secret from one of yours.")
    if params["common_name"] is not None and not 0 < len(params["common_name"]) <= tls.MAX_COMMON_NAME:
        errors.append("common_name must be 1 to %d characters long." % tls.MAX_COMMON_NAME)
    for option in ("ca_validity_days", "validity_days"):
        if params[option] < 1:
            errors.append("%s must be at least 1." % option)
    if params["renew_before_days"] < 0:
        errors.append("renew_before_days must not be negative.")
    for option in ("validity_days", "ca_validity_days"):
        if params["renew_before_days"] >= params[option] >= 1:
            errors.append("renew_before_days (%d) must be less than %s (%d), or every run would renew."
                          % (params["renew_before_days"], option, params[option]))
    return errors


def common_name(params):
    """The subject CN: the option, else the first DNS name that fits, else none."""
    if params["common_name"]:
        return params["common_name"]
    return next((n for n in params["dns_names"] if len(n) <= tls.MAX_COMMON_NAME), None)


def owned(secret, labels):
    """Whether the Secret carries every label of ``labels``."""
    held = (secret.get("metadata") or {}).get("labels") or {}
    return all(held.get(key) == str(value) for key, value in labels.items())


def summary(where, files, is_ours):
    """The diff's view of a Secret: its certificates, never its keys."""
    certs = tls.load_certificates(files.get(tls.CA_CRT))
    leaf = tls.load_certificates(files.get(tls.TLS_CRT))
    ca = tls.describe(certs[0] if certs else None)
    return {"secret": where, "owned": is_ours, "ca": {"subject": ca.get("subject"), "not_after": ca.get("not_after")},
            "certificate": tls.describe(leaf[0] if leaf else None)}


class Run:
    """One run of the module: reads the Secret, then creates it, issues its certificate again, or leaves it."""

    def __init__(self, module, cluster, now):
        self.module, self.cluster, self.now = module, cluster, now
        self.params = module.params
        self.where = "%s/%s" % (self.params["namespace"], self.params["name"])
        self.collection = "/api/v1/namespaces/%s/secrets" % self.params["namespace"]
        self.path = "%s/%s" % (self.collection, self.params["name"])

    def fail(self, msg):
        self.module.fail_json(msg=msg, secret=self.params["name"])

    def fail_step(self, step, exc, written="Nothing was written"):
        self.fail("Could not %s: %s %s; running again is safe." % (step, str(exc).rstrip(), written))

    def read(self, step):
        try:
            return self.cluster.get(self.path)
        except ClusterError as exc:
            self.fail_step(step, exc)

    def converge(self):
        secret = self.read("read Secret %s" % self.where)
        if secret is None:
            files = self.new_files()
            if self.module.check_mode:
                return dict(self.result(files, True, created=True, before={}), ca_crt="")
            secret = self.create(files)
            if secret is None:
                return self.result(files, True, created=True, before={})
        files = tls.decode_secret_data(secret)
        if owned(secret, self.params["labels"]):
            return self.keep_ours(secret, files)
        return self.check_theirs(files)

    def new_files(self):
        p = self.params
        return tls.new_secret_files(p["namespace"], common_name(p), p["dns_names"], p["ip_addresses"], self.now,
                                    p["ca_validity_days"], p["validity_days"])

    def create(self, files):
        """Create the Secret: None when created, else the Secret another run created meanwhile (409 AlreadyExists)."""
        labels = dict((key, str(value)) for key, value in self.params["labels"].items())
        body = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "data": tls.encode_secret_data(files),
                "metadata": {"name": self.params["name"], "namespace": self.params["namespace"], "labels": labels}}
        try:
            self.cluster.request("POST", self.collection, body=body)
            return None
        except ClusterError as exc:
            if exc.status != 409:
                self.fail_step("create Secret %s" % self.where, exc)
        theirs = self.read("read Secret %s, which another run created meanwhile" % self.where)
        if theirs is None:
            self.fail("Secret %s was created by another run meanwhile, then deleted. Nothing was written; running again is "
                      "safe." % self.where)
        return theirs

    def keep_ours(self, secret, files):
        p = self.params
        found = tls.Inspection(files, p["dns_names"], p["ip_addresses"], self.now, p["renew_before_days"])
        restart = ("delete the Secret (kubectl -n %s delete secret %s), run again to create a new CA and certificate, then "
                   "restart the pods that mount it (Elasticsearch, then Fluentd and Kibana, which trust its ca.crt)"
                   % (p["namespace"], p["name"]))
        if found.ca_problem:
            self.fail("Secret %s (this collection's) has no usable CA: %s, so its certificate cannot be checked or issued "
                      "again. To start over, %s. Nothing was written." % (self.where, found.ca_problem, restart))
        ca_expiry = tls.expiry_reason("its CA (ca.crt)", found.ca, self.now, p["renew_before_days"])
        if ca_expiry:
            self.fail("Secret %s (this collection's): %s. The module does not replace a CA by itself, since Elasticsearch's "
                      "clients trust this one. To start over with a new CA, %s. Nothing was written." % (self.where, ca_expiry, restart))
        reasons = found.reasons
        if not reasons:
            return self.result(files, True)
        problem = tls.ca_key_problem(files, found.ca)
        if problem:
            self.fail("Secret %s (this collection's) needs its certificate issued again (%s), but %s, so it cannot be signed "
                      "by the same CA. To start over, %s. Nothing was written." % (self.where, "; ".join(reasons), problem, restart))
        renewed = dict(files)
        renewed[tls.TLS_CRT], renewed[tls.TLS_KEY] = tls.issue_certificate(
            files[tls.CA_CRT], files[tls.CA_KEY], common_name(p), p["dns_names"], p["ip_addresses"], self.now, p["validity_days"])
        if not self.module.check_mode:
            data = dict(secret.get("data") or {})
            data.update(tls.encode_secret_data({tls.TLS_CRT: renewed[tls.TLS_CRT], tls.TLS_KEY: renewed[tls.TLS_KEY]}))
            body = dict(secret, data=data)
            try:
                # The resourceVersion read goes with the body: a change made since is refused (409), not overwritten.
                self.cluster.request("PUT", self.path, body=body)
            except ClusterError as exc:
                if exc.status == 409:
                    self.fail("Could not renew the certificate in Secret %s: another run changed the Secret after this run read "
                              "it (%s). Nothing was written; run again, it reads the Secret afresh." % (self.where, str(exc).rstrip(".")))
                self.fail_step("replace Secret %s to renew its certificate" % self.where, exc)
        return self.result(renewed, True, renewed=True, reason="; ".join(reasons), before=files)

    def check_theirs(self, files):
        p = self.params
        found = tls.Inspection(files, p["dns_names"], (), self.now, p["renew_before_days"])
        problems = ([found.ca_problem] if found.ca_problem else []) + found.problems
        if found.expired:
            problems.append(found.expiry)
        if problems:
            self.fail("Secret %s cannot serve Elasticsearch: %s. It is not this collection's (it lacks the labels %s), so it was "
                      "not changed. Issue its certificate again with ca.crt, tls.crt and tls.key for %s (with cert-manager: the "
                      "Certificate's dnsNames), or name another Secret, or one that does not exist, which the module then "
                      "creates. Nothing was written." % (self.where, "; ".join(problems), ", ".join(
                          "%s=%s" % item for item in sorted(p["labels"].items())), ", ".join(p["dns_names"])))
        if found.expiry:
            self.module.warn("Secret %s (yours): %s; renew it before then, Elasticsearch's clients refuse an expired certificate."
                             % (self.where, found.expiry))
        return self.result(files, False)

    def result(self, files, is_ours, created=False, renewed=False, reason="", before=None):
        leaf = tls.load_certificates(files.get(tls.TLS_CRT))[0]
        dns_names, ip_addresses = tls.san(leaf)
        after = summary(self.where, files, is_ours)
        diff = dict(before=after if before is None else (summary(self.where, before, is_ours) if before else {}), after=after)
        return dict(changed=created or renewed, secret=self.params["name"], owned=is_ours, created=created, renewed=renewed,
                    reason=reason, ca_crt=files[tls.CA_CRT].decode("ascii", "replace"), not_after=tls.iso(tls.not_after(leaf)),
                    dns_names=dns_names, ip_addresses=ip_addresses, diff=diff)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not tls.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography >= 40.0"), exception=tls.CRYPTOGRAPHY_IMPORT_ERROR)
    errors = input_errors(module.params)
    if errors:
        module.fail_json(msg=" ".join(errors) + " Nothing was read or written.")
    where = "%s/%s" % (module.params["namespace"], module.params["name"])
    try:
        cluster = Cluster(module)
    except ClusterError as exc:
        module.fail_json(msg="Could not read Secret %s: %s Nothing was written; running again is safe." % (where, str(exc).rstrip()),
                         secret=module.params["name"])
    module.exit_json(**Run(module, cluster, datetime.datetime.now(datetime.timezone.utc)).converge())


if __name__ == "__main__":
    main()
