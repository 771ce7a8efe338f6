#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: elasticsearch_health
short_description: Wait until Elasticsearch cluster health is green or yellow
version_added: 0.1.0
description:
  - Polls C(_cluster/health) until Elasticsearch reports I(status) or better (green is better than yellow),
    within I(timeout) seconds. Each poll asks Elasticsearch itself to wait (C(wait_for_status)), for at most
    30 seconds a call.
  - Reaches Elasticsearch at I(es_url) when given, else through the Kubernetes API server's service proxy to
    I(es_service). Through the proxy requests are anonymous (kube-apiserver removes the Authorization
    header), so Elasticsearch with security on must allow anonymous health reads, as the efk role's
    C(efk_elasticsearch_anonymous_health) does.
  - On timeout the failure names the health last seen (or the last error) and the pods behind I(es_service)
    that are not ready, with their phase and the reason Kubernetes gives.
  - Never changes anything; check mode behaves the same.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - seclog.falco_efk.elasticsearch
options:
  status:
    description: The health to wait for; C(yellow) is also satisfied by C(green).
    type: str
    choices: [green, yellow]
    default: yellow
  timeout:
    description: Seconds to wait in all, 1 or more.
    type: int
    default: 300
requirements:
  - kubernetes >= 24.2.0
notes:
  - The diagnostics on timeout read the Service and list its pods with the Kubernetes connection options; when
    the Kubernetes API cannot be reached (for example I(es_url) without a kubeconfig) the failure says so
    instead.
"""

EXAMPLES = r"""
- name: Wait for Elasticsearch through the API server's service proxy (anonymous health access)
  seclog.falco_efk.elasticsearch_health:
    kubeconfig: ~/.kube/config
    es_namespace: logging
    status: yellow
    timeout: 600

- name: Wait for green at a direct address, with the elastic user's password
  seclog.falco_efk.elasticsearch_health:
    es_url: https://elasticsearch.example.com
    es_username: elastic
    es_password: "{{ elastic_password }}"
    es_ca_path: /etc/ssl/certs/es-ca.pem
    status: green
  register: es

- name: Show how long it took
  ansible.builtin.debug:
    msg: "{{ es.status }} after {{ es.elapsed }} s ({{ es.attempts }} requests by {{ es.route }})"
"""

RETURN = r"""
health:
  description: The last C(_cluster/health) body Elasticsearch answered with.
  returned: always
  type: dict
  sample: {"cluster_name": "elasticsearch-logging", "status": "green", "number_of_nodes": 3, "unassigned_shards": 0}
status:
  description: The status of I(health) (C(green), C(yellow) or C(red)).
  returned: always
  type: str
  sample: green
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 4.2
route:
  description: How Elasticsearch was reached, C(url) (I(es_url)) or C(service_proxy).
  returned: always
  type: str
  sample: service_proxy
attempts:
  description: Health requests sent, retries included.
  returned: always
  type: int
  sample: 2
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils.elasticsearch import (
    describe_health, elasticsearch_argument_spec, elasticsearch_client, elasticsearch_constraints, status_reached)
from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import HttpError, client_for_module
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import check_names, refused_credentials
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import auth_argument_spec, diagnose_service

# Longest single wait asked of Elasticsearch, so a poll never hangs on one connection.
MAX_WAIT_PER_CALL = 30
# Pause between polls that failed at once (no endpoints, refused connection).
POLL_PAUSE = 1.0


def argument_spec():
    """kubernetes.core's connection options, the es_* options and the module's own."""
    spec = auth_argument_spec()
    spec.update(elasticsearch_argument_spec())
    spec.update(
        status=dict(type="str", default="yellow", choices=["green", "yellow"]),
        timeout=dict(type="int", default=300),
    )
    return spec


def wait_for_health(client, wanted, timeout, clock=time.time, sleep=time.sleep):
    """Poll until health reaches ``wanted`` or ``timeout`` seconds pass; (reached, last health, last error)."""
    started = clock()
    deadline = started + timeout
    health, error = None, None
    while True:
        remaining = deadline - clock()
        wait = int(max(min(remaining - 1, MAX_WAIT_PER_CALL), 0))
        try:
            answer = client.get("_cluster/health", query={"wait_for_status": wanted, "timeout": "%ds" % wait}, ok=(200, 408),
                                timeout=wait + 10, deadline=deadline)
            health, error = answer.body if isinstance(answer.body, dict) else health, None
            if answer.status == 200 and status_reached((health or {}).get("status"), wanted):
                return True, health, None
        except HttpError as exc:
            error = exc
            if exc.status in (401, 403) or exc.certificate:
                # Credentials, privileges or an untrusted certificate: waiting longer will not change the answer.
                return False, health, error
        if clock() >= deadline:
            return False, health, error
        if error is not None or wait == 0:
            sleep(max(min(POLL_PAUSE, deadline - clock()), 0))


def run(module):
    """Validate, wait, and report."""
    params = module.params
    check_names(module, namespaces=["es_namespace"], services=["es_service"])
    clusters, client = client_for_module(module, elasticsearch_client, "Elasticsearch", "es_")
    started = time.time()
    reached, health, error = wait_for_health(client, params["status"], params["timeout"])
    result = dict(changed=False, health=health or {}, status=(health or {}).get("status"), elapsed=round(time.time() - started, 2),
                  route=client.route, attempts=client.requests)
    if reached:
        module.exit_json(**result)
    if error is not None and error.status in (401, 403):
        hint = " " + refused_credentials("es_") if error.status == 401 and client.route == "url" and params["es_password"] else ""
        module.fail_json(msg="Elasticsearch refused the health check: %s%s" % (error, hint), **result)
    if error is not None and error.certificate:
        module.fail_json(msg="Could not check Elasticsearch's health: %s" % error, **result)
    seen = "last saw health %s" % describe_health(health) if health else "never got health"
    if error is not None:
        seen += "%s the last error was: %s" % (";" if health else ",", str(error).rstrip("."))
    pods = diagnose_service(clusters, params["es_namespace"], params["es_service"], "es_namespace", "StatefulSet")
    message = "Elasticsearch (%s) did not reach %s within %d s: %s. %s" % (client.where, params["status"], params["timeout"], seen, pods)
    module.fail_json(msg=message, **result)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **elasticsearch_constraints())
    run(module)


if __name__ == "__main__":
    main()
