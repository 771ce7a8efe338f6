#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: apply_plan
short_description: Tell which Kubernetes objects an apply would change
version_added: 0.1.0
description:
  - Reads each object from the cluster and splits the definitions into those an apply
    (M(kubernetes.core.k8s) with O(kubernetes.core.k8s#module:apply=true), or C(kubectl apply)) would change
    and those it would leave alone, so that a converged cluster sees no write at all.
  - An object is left alone when it exists, its last-applied configuration equals the definition, every field
    the definition sets has that value in the live object, and, for a Deployment, DaemonSet or StatefulSet, it
    has rolled out and is ready. Anything else is returned in RV(pending), with the reason in RV(plan).
  - kubernetes.core sends a merge patch on every apply of an object that has lists, even when nothing differs;
    this module is how the roles of this collection avoid those writes.
  - It only reads. C(changed) is always false.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  definitions:
    description: The objects to apply, as a list of dicts (for example RV(seclog.falco_efk.api_version_patch#module:definitions)).
    type: list
    elements: dict
    required: true
  return_live:
    description:
      - Also return the objects as the cluster has them (RV(live)), for checks against what runs (a version, a setting,
        an owner label). Only metadata is needed of a definition then (apiVersion, kind, metadata.name and namespace).
    type: bool
    default: false
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode as otherwise.
  diff_mode:
    support: none
    description: It changes nothing, so there is nothing to show.
notes:
  - Objects of kinds the cluster does not serve are returned in RV(pending), so that the apply reports the error.
"""

EXAMPLES = r"""
- name: Find what differs
  seclog.falco_efk.apply_plan:
    definitions: "{{ patched.definitions }}"
  register: plan

- name: Apply only that
  when: plan.pending | length > 0
  kubernetes.core.k8s:
    definition: "{{ plan.pending }}"
    apply: true
    wait: true
"""

RETURN = r"""
pending:
  description: The definitions an apply would change, in the order given.
  returned: always
  type: list
  elements: dict
unchanged:
  description: C(Kind namespace/name) of each object an apply would leave alone.
  returned: always
  type: list
  elements: str
  sample: ["Service logging/elasticsearch-logging"]
plan:
  description: One entry per definition, in order, with its label and C(action) (C(create), C(changed), C(not ready) or C(none)).
  returned: always
  type: list
  elements: dict
  sample: [{"object": "StatefulSet logging/elasticsearch-logging", "action": "none"}]
live:
  description: With O(return_live), each object as the cluster has it, in the order given, or null where there is none
    (or its kind is not served).
  returned: when O(return_live=true)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils import apply_plan
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster, ClusterError, auth_argument_spec, discover


def argument_spec():
    """The module's options plus kubernetes.core's connection options."""
    spec = auth_argument_spec()
    spec.update(definitions=dict(type="list", elements="dict", required=True), return_live=dict(type="bool", default=False))
    return spec


def object_path(definition, resources):
    """The REST path of ``definition``, or None when its kind is not served."""
    group_version = definition.get("apiVersion") or ""
    for resource in resources.get(group_version, ()):
        if resource["kind"] == definition.get("kind"):
            base = "/api/v1" if group_version == "v1" else "/apis/" + group_version
            metadata = definition.get("metadata") or {}
            if resource["namespaced"]:
                base += "/namespaces/%s" % (metadata.get("namespace") or "default")
            return "%s/%s/%s" % (base, resource["name"], metadata.get("name"))
    return None


def run(module):
    """Read each object, compare, report."""
    definitions = module.params["definitions"]
    for index, definition in enumerate(definitions):
        if not definition.get("kind") or not definition.get("apiVersion") or not (definition.get("metadata") or {}).get("name"):
            module.fail_json(msg="definitions[%d] (%s): every definition needs apiVersion, kind and metadata.name."
                                 % (index, apply_plan.label(definition)))
    groups = set(d["apiVersion"].rpartition("/")[0] for d in definitions if "/" in d["apiVersion"])
    plan, pending, unchanged, live = [], [], [], []
    try:
        cluster = Cluster(module)
        resources = discover(cluster, groups=groups)[2] if definitions else {}
        for definition in definitions:
            path = object_path(definition, resources)
            current = None if path is None else cluster.get(path)
            live.append(current)
            action = "changed" if path is None else apply_plan.verdict(definition, current)
            plan.append(dict(object=apply_plan.label(definition), action=action or "none"))
            if action:
                pending.append(definition)
            else:
                unchanged.append(apply_plan.label(definition))
    except ClusterError as exc:
        remedy = (" The preflight (stage 1) lists every right the stages need, and prerequisites_grant_cluster_admin: true binds "
                  "cluster-admin to you (the runbook's step)." if exc.status == 403 else "")
        module.fail_json(msg="Could not read the objects to compare them with their definitions: %s%s This step wrote nothing; running again is safe."
                             % (str(exc).rstrip(), remedy))
    extra = dict(live=live) if module.params["return_live"] else {}
    module.exit_json(changed=False, pending=pending, unchanged=unchanged, plan=plan, **extra)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
