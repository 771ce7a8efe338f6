#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: credentials
short_description: Create the stack's credential Secrets once, and never write over them
version_added: 0.1.0
description:
  - Creates each Secret of O(secrets) that does not exist, and only those. A Secret that exists is never read back into
    the output, patched or replaced, whoever made it; so a second run (or two runs at once) cannot put new passwords
    over the ones Elasticsearch already holds.
  - A create answered with 409 (AlreadyExists) means another run made the Secret meanwhile; theirs is kept and
    reported in RV(kept).
  - The values are never printed (O(secrets[].string_data) is C(no_log)).
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace of the Secrets; it must exist (in check mode a missing one reports every Secret as to be created).
    type: str
    required: true
  secrets:
    description: The Secrets to create when absent (their values, O(secrets[].string_data), are never logged).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The Secret's name.
        type: str
        required: true
      string_data:
        description: Its keys and values (Secret C(stringData)).
        type: dict
        required: true
      labels:
        description: Its labels (the collection's own mark, which teardown's purge looks for).
        type: dict
        default: {}
attributes:
  check_mode:
    support: full
    description: Reads whether each Secret exists; creates nothing.
  diff_mode:
    support: full
    description: Names the Secrets before and after, never their values.
"""

EXAMPLES = r"""
- name: Generate the credentials that do not exist yet
  seclog.falco_efk.credentials:
    namespace: logging
    secrets:
      - name: elasticsearch-logging-elastic
        string_data:
          password: "{{ lookup('ansible.builtin.password', '/dev/null', length=32) }}"
        labels: {app.kubernetes.io/managed-by: seclog.falco_efk}
"""

RETURN = r"""
created:
  description: The Secrets this run created (or, in check mode, would create).
  returned: always
  type: list
  elements: str
  sample: [elasticsearch-logging-elastic]
kept:
  description: The Secrets that existed already, or that another run created meanwhile; they are left as they are.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster, ClusterError, auth_argument_spec


def argument_spec():
    """The module's options plus kubernetes.core's connection options."""
    spec = auth_argument_spec()
    spec.update(namespace=dict(type="str", required=True),
                secrets=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
                    name=dict(type="str", required=True), string_data=dict(type="dict", required=True, no_log=True),
                    labels=dict(type="dict", default={}))))
    return spec


def create_missing(module, cluster):
    """Create each absent Secret; return (created, kept)."""
    namespace = module.params["namespace"]
    collection = "/api/v1/namespaces/%s/secrets" % namespace
    created, kept = [], []
    namespace_exists = cluster.get("/api/v1/namespaces/%s" % namespace) is not None
    for secret in module.params["secrets"]:
        if namespace_exists and cluster.get("%s/%s" % (collection, secret["name"])) is not None:
            kept.append(secret["name"])
            continue
        if module.check_mode:
            created.append(secret["name"])
            continue
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "stringData": secret["string_data"],
                "metadata": {"name": secret["name"], "namespace": namespace, "labels": secret["labels"]}}
        try:
            cluster.request("POST", collection, body=body)
            created.append(secret["name"])
        except ClusterError as exc:
            if exc.status != 409:
                module.fail_json(msg="Could not create Secret %s/%s: %s Created before it: %s. Running again is safe: credentials "
                                     "that exist are never replaced." % (namespace, secret["name"], str(exc).rstrip(),
                                                                         ", ".join(created) or "none"), created=created, kept=kept)
            kept.append(secret["name"])
    return created, kept


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        created, kept = create_missing(module, Cluster(module))
    except ClusterError as exc:
        module.fail_json(msg="Could not read the stack's credentials in namespace %s: %s Nothing was created; running again is safe."
                             % (module.params["namespace"], str(exc).rstrip()))
    diff = dict(before={"secrets": ["Secret " + name for name in sorted(kept)]},
                after={"secrets": ["Secret " + name for name in sorted(kept + created)]})
    module.exit_json(changed=bool(created), created=created, kept=kept, diff=diff)


if __name__ == "__main__":
    main()
