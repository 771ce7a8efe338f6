#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kibana_status
short_description: Wait until Kibana reports itself available or degraded
version_added: 0.1.0
description:
  - Polls Kibana's C(GET /api/status) until its overall status reaches I(level) or better (available is better
    than degraded), within I(timeout) seconds.
  - Reads Kibana 8 (C(status.overall.level)) and Kibana 6.x and 7.x, 7.17 included (the legacy
    C(status.overall.state), where green is available, yellow degraded and red unavailable).
  - Reaches Kibana at I(kibana_url) when given, else through the Kubernetes API server's service proxy to
    I(kibana_service). kube-apiserver removes the Authorization header there, so with I(kibana_username) and
    I(kibana_password) the module logs in to Kibana's basic provider when Kibana answers with the anonymous
    status, and reads the full status (version, reason) with the session cookie; it logs out at the end.
  - Without credentials through the proxy, Kibana with security on must let anonymous users read its status
    (C(status.allowAnonymous), which the efk role sets); Kibana 8 then tells them only the level, not the reason.
  - On timeout the failure names the status last seen with Kibana's own summary when it gave one (or the last
    error, such as C(Kibana server is not ready yet), a missing Service or a Service without endpoints), and the
    pods behind I(kibana_service) that are not ready, with their phase and the reason Kubernetes gives.
  - Never changes anything; check mode behaves the same.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - seclog.falco_efk.kibana
options:
  level:
    description: The status to wait for; C(degraded) is also satisfied by C(available).
    type: str
    choices: [available, degraded]
    default: available
  timeout:
    description: Seconds to wait in all, 1 or more.
    type: int
    default: 300
requirements:
  - kubernetes >= 24.2.0
notes:
  - The diagnostics on timeout read the Service and list its pods with the Kubernetes connection options; when
    the Kubernetes API cannot be reached (for example I(kibana_url) without a kubeconfig) the failure says so
    instead.
"""

EXAMPLES = r"""
- name: Wait for Kibana through the API server's service proxy
  seclog.falco_efk.kibana_status:
    kubeconfig: ~/.kube/config
    kibana_namespace: logging
    timeout: 600

- name: Wait for Kibana through the proxy and read its version and reason, logged in as the elastic user
  seclog.falco_efk.kibana_status:
    kibana_username: elastic
    kibana_password: "{{ elastic_password }}"

- name: Accept a degraded Kibana at a direct address, with the elastic user's password
  seclog.falco_efk.kibana_status:
    kibana_url: https://kibana.example.com
    kibana_username: elastic
    kibana_password: "{{ elastic_password }}"
    kibana_ca_path: /etc/ssl/certs/es-ca.pem
    level: degraded
  register: kibana

- name: Show what Kibana said
  ansible.builtin.debug:
    msg: "Kibana {{ kibana.version | default('(version not shown)') }} is {{ kibana.status }} after {{ kibana.elapsed }} s"
"""

RETURN = r"""
status:
  description:
    - The overall level Kibana last reported, C(available), C(degraded), C(unavailable) or C(critical) (legacy
      states mapped onto them); null when Kibana never answered with a status.
  returned: always
  type: str
  sample: available
version:
  description:
    - Kibana's version, when its answer names it (Kibana 8 leaves it out for anonymous callers; give
      I(kibana_username) and I(kibana_password)).
  returned: when known
  type: str
  sample: 8.15.3
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 4.2
route:
  description: How Kibana was reached, C(url) (I(kibana_url)) or C(service_proxy).
  returned: always
  type: str
  sample: service_proxy
attempts:
  description: Requests sent to Kibana, retries and a session login included.
  returned: always
  type: int
  sample: 2
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import HttpError, client_for_module
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import check_names, refused_credentials
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import auth_argument_spec, diagnose_service
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana import (
    describe_status, kibana_argument_spec, kibana_client, kibana_constraints, level_reached, redacted, status_level, version)

# Longest single request, so a poll never hangs on one connection.
MAX_WAIT_PER_CALL = 30
# Pause between polls that did not see the level wanted.
POLL_PAUSE = 1.0
STATUS_PATH = "api/status"


def argument_spec():
    """kubernetes.core's connection options, the kibana_* options and the module's own."""
    spec = auth_argument_spec()
    spec.update(kibana_argument_spec())
    spec.update(
        level=dict(type="str", default="available", choices=["available", "degraded"]),
        timeout=dict(type="int", default=300),
    )
    return spec


def poll(client, deadline, clock):
    """One status read: (body when Kibana answered with its status, else None; the error, else None).

    An anonymous answer from a client with a session logs in and reads again (the session may also have ended: the
    status route then answers as to anonymous callers, not 401); a failed login is the error, beside the body."""
    body, error = read_status(client, deadline, clock)
    if body is not None and redacted(body) and client.session is not None:
        try:
            client.log_in(deadline=deadline)
        except HttpError as exc:
            return body, exc
        body, error = read_status(client, deadline, clock)
    return body, error


def read_status(client, deadline, clock):
    """One status request: (body when Kibana answered with its status, else None; the error, else None)."""
    try:
        answer = client.get(STATUS_PATH, timeout=max(min(deadline - clock(), MAX_WAIT_PER_CALL), 1), deadline=deadline)
    except HttpError as exc:
        if status_level(exc.body) is not None:
            # Kibana answers 503 with its full status while it is unavailable.
            return exc.body, None
        return None, exc
    if status_level(answer.body) is None:
        return None, "GET /%s on %s answered HTTP %s without a Kibana status (is that Kibana, at its base path?)" % (
            STATUS_PATH, client.where, answer.status)
    return answer.body, None


def wait_for_status(client, wanted, timeout, clock=time.time, sleep=time.sleep):
    """Poll until Kibana's level reaches ``wanted`` or ``timeout`` seconds pass; (reached, last status body, last error)."""
    deadline = clock() + timeout
    body = None
    while True:
        seen, error = poll(client, deadline, clock)
        body = seen if seen is not None else body
        if isinstance(error, HttpError) and (error.status in (401, 403) or error.certificate):
            # Credentials, privileges or an untrusted certificate: waiting longer will not change the answer.
            return False, body, error
        if seen is not None and level_reached(status_level(seen), wanted):
            return True, body, None
        if clock() >= deadline:
            return False, body, error
        sleep(max(min(POLL_PAUSE, deadline - clock()), 0))


def describe_wait(body, error, session=False):
    """What the wait saw last: the status with Kibana's reason, and the last error. ``session``: whether credentials
    could log in (through the proxy)."""
    if body is None:
        seen = "never got a status"
    elif redacted(body) and session:
        seen = "last saw status %s (the anonymous answer, with the level only: the session login did not succeed)" % status_level(body)
    elif redacted(body):
        seen = ("last saw status %s (Kibana tells anonymous callers only the level: give kibana_username and kibana_password "
                "to read its reason)" % status_level(body))
    else:
        seen = "last saw status %s" % describe_status(body)
    if error is not None:
        seen += "%s the last error was: %s" % (";" if body is not None else ",", str(error).rstrip("."))
    return seen


def run(module):
    """Validate, wait, and report."""
    params = module.params
    check_names(module, namespaces=["kibana_namespace"], services=["kibana_service"])
    clusters, client = client_for_module(module, kibana_client, "Kibana", "kibana_")
    started = time.time()
    reached, body, error = wait_for_status(client, params["level"], params["timeout"])
    result = dict(changed=False, status=status_level(body), elapsed=round(time.time() - started, 2), route=client.route,
                  attempts=client.requests)
    client.close()
    if version(body):
        result["version"] = version(body)
    if reached:
        module.exit_json(**result)
    if isinstance(error, HttpError) and error.status in (401, 403):
        hint = " " + refused_credentials("kibana_") if error.status == 401 and client.route == "url" and params["kibana_password"] else ""
        module.fail_json(msg="Kibana refused the status request: %s%s" % (error, hint), **result)
    if isinstance(error, HttpError) and error.certificate:
        module.fail_json(msg="Could not read Kibana's status: %s" % error, **result)
    pods = diagnose_service(clusters, params["kibana_namespace"], params["kibana_service"], "kibana_namespace", "Deployment")
    message = "Kibana (%s) did not report %s within %d s: %s. %s" % (client.where, params["level"], params["timeout"],
                                                                     describe_wait(body, error, client.session is not None), pods)
    module.fail_json(msg=message, **result)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **kibana_constraints())
    run(module)


if __name__ == "__main__":
    main()
