#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: run_lock
short_description: Take or release the lock that keeps two runs from writing one stack at once
version_added: 0.1.0
description:
  - A C(coordination.k8s.io/v1) Lease in the stack's namespace, held by one run (O(holder)) for O(duration) seconds.
  - O(state=acquired) takes it when nobody holds it, when it has expired, or when O(holder) holds it already (then it is
    renewed). When another run holds it, the module fails naming that run, since when and until when, and writes nothing.
  - O(state=released) removes it when O(holder) holds it, and leaves anyone else's alone.
  - Where the namespace does not exist yet (a first install), or the cluster serves no Leases (before Kubernetes 1.14),
    nothing is taken and RV(taken) is false; the module's message says why.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: The stack's namespace, where the Lease lives.
    type: str
    required: true
  name:
    description: The Lease's name.
    type: str
    default: seclog-falco-efk-run
  holder:
    description: Who this run is, as others will be told (for example C(alice@workstation, run 3f9a2c1d) or C(AWX job 4711)).
    type: str
    required: true
  duration:
    description: Seconds the lock holds without renewal; a run that died frees it after that long.
    type: int
    default: 1800
  state:
    description: V(acquired) to take (or renew) the lock, V(released) to give it back.
    type: str
    choices: [acquired, released]
    default: acquired
attributes:
  check_mode:
    support: full
    description: Reads only; fails as a run would when another run holds the lock.
  diff_mode:
    support: none
    description: The Lease holds no setting of yours.
"""

EXAMPLES = r"""
- name: Take the run lock
  seclog.falco_efk.run_lock:
    namespace: logging
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}, run {{ run_id }}"

- name: Give it back
  seclog.falco_efk.run_lock:
    namespace: logging
    holder: "{{ lookup('ansible.builtin.env', 'USER') }}, run {{ run_id }}"
    state: released
"""

RETURN = r"""
taken:
  description: Whether this run holds the lock now (false after O(state=released)).
  returned: always
  type: bool
holder:
  description: Who holds the lock after the module ran (empty when nobody).
  returned: always
  type: str
expires:
  description: When the lock runs out unless renewed (UTC), when it is held.
  returned: when held
  type: str
  sample: "2026-12-07T22:17:33.000000Z"
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils import run_lock
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster, ClusterError, auth_argument_spec

LEASES = "/apis/coordination.k8s.io/v1/namespaces/%s/leases"
LABELS = {"app.kubernetes.io/part-of": "seclog-falco-efk", "app.kubernetes.io/managed-by": "seclog.falco_efk"}


def argument_spec():
    """The module's options plus kubernetes.core's connection options."""
    spec = auth_argument_spec()
    spec.update(namespace=dict(type="str", required=True), name=dict(type="str", default="seclog-falco-efk-run"),
                holder=dict(type="str", required=True), duration=dict(type="int", default=1800),
                state=dict(type="str", choices=["acquired", "released"], default="acquired"))
    return spec


def acquire(module, cluster, now):
    """Take or renew the Lease; fail naming the other run when it holds it."""
    params = module.params
    collection = LEASES % params["namespace"]
    path = "%s/%s" % (collection, params["name"])
    lease = cluster.get(path)
    other = run_lock.held_by_other(lease, params["holder"], now)
    if other is not None:
        module.fail_json(msg=run_lock.refusal(params["namespace"], params["name"], lease, now), holder=other)
    body = run_lock.lease_body(params["namespace"], params["name"], params["holder"], params["duration"], now, lease, LABELS)
    if not module.check_mode:
        try:
            if lease is None:
                cluster.request("POST", collection, body=body)
            else:
                cluster.request("PUT", path, body=body)
        except ClusterError as exc:
            if exc.status != 409:
                raise
            # Another run took it between our read and our write.
            module.fail_json(msg=run_lock.refusal(params["namespace"], params["name"], cluster.get(path) or {}, now))
    return dict(changed=True, taken=True, holder=params["holder"], expires=run_lock.micro_time(run_lock.expires(body)))


def release(module, cluster):
    """Remove the Lease when this run holds it."""
    params = module.params
    path = "%s/%s" % (LEASES % params["namespace"], params["name"])
    lease = cluster.get(path)
    holder = ((lease or {}).get("spec") or {}).get("holderIdentity") or ""
    if lease is None or holder != params["holder"]:
        return dict(changed=False, taken=False, holder=holder)
    if not module.check_mode:
        try:
            cluster.request("DELETE", path, body={"preconditions": {"resourceVersion": lease["metadata"]["resourceVersion"]}})
        except ClusterError as exc:
            if exc.status not in (404, 409):
                raise
    return dict(changed=True, taken=False, holder="")


def run(module):
    """Check the namespace and the Lease API, then take or release."""
    params = module.params
    try:
        cluster = Cluster(module)
        if cluster.get("/apis/coordination.k8s.io/v1") is None:
            module.exit_json(changed=False, taken=False, holder="",
                             msg="This cluster serves no Leases (Kubernetes 1.14 and newer do): runs are not serialized.")
        if cluster.get("/api/v1/namespaces/%s" % params["namespace"]) is None:
            module.exit_json(changed=False, taken=False, holder="",
                             msg="Namespace %s does not exist yet, so there is no lock to take (a first install)." % params["namespace"])
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        result = acquire(module, cluster, now) if params["state"] == "acquired" else release(module, cluster)
    except ClusterError as exc:
        module.fail_json(msg="Could not %s the run lock (Lease %s/%s): %s Nothing else was written; running again is safe."
                             % ("take" if params["state"] == "acquired" else "release", params["namespace"], params["name"],
                                str(exc).rstrip()))
    module.exit_json(**result)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
