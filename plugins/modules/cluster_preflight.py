#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cluster_preflight
short_description: Inspect a Kubernetes cluster before Falco and EFK are installed
version_added: 0.1.0
description:
  - Reads the cluster and reports, as findings with a severity and a remedy, what would break a first
    install of Falco and an EFK stack. It never writes; check mode behaves the same.
  - Checks that nodes have the allocatable room an Elasticsearch pod requests (beside the Falco and Fluentd
    pods), each node's OS and kernel against the chosen Falco driver, managed logging agents (GKE) and other
    log shippers, the caller's rights for every later stage (SelfSubjectAccessReview), a default StorageClass
    when Elasticsearch wants persistent volumes, and Pod Security (Pod Security Admission labels, PodSecurityPolicies).
  - Returns the server version and the API versions it serves, for the apiVersion stage to reuse.
  - Lists are read in pages, so the number of requests grows with pages, not with nodes.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace the stack will be installed into (its Pod Security labels are checked).
    type: str
    default: logging
  es_replicas:
    description: Elasticsearch replicas; at least this many schedulable nodes must be large enough.
    type: int
    default: 1
  es_min_cpu:
    description:
      - The CPU an Elasticsearch pod requests (a Kubernetes quantity); a node holds one when its allocatable CPU covers
        this plus I(daemonset_requests).
    type: str
    default: "1"
  es_min_memory:
    description:
      - The memory an Elasticsearch pod requests (a Kubernetes quantity); a node holds one when its allocatable memory
        covers this plus I(daemonset_requests).
    type: str
    default: 4Gi
  daemonset_requests:
    description:
      - What the DaemonSet pods every node runs (Falco, Fluentd) request, one item per pod, added to the Elasticsearch
        pod's needs on each node.
    type: list
    elements: dict
    default: []
    suboptions:
      cpu:
        description: CPU request (a Kubernetes quantity).
        type: str
        default: "0"
      memory:
        description: Memory request (a Kubernetes quantity).
        type: str
        default: "0"
  es_persistence:
    description: Whether Elasticsearch asks for persistent volumes (then a default StorageClass is needed).
    type: bool
    default: true
  falco_driver:
    description:
      - The Falco driver to check nodes against. C(modern_ebpf) needs kernel 5.8 or newer; C(kmod) cannot
        run on Container-Optimized OS; C(auto) takes modern_ebpf where the kernel allows, kmod elsewhere.
    type: str
    choices: [modern_ebpf, kmod, auto]
    default: modern_ebpf
  fail_on:
    description: Fail the task when a finding of this severity or worse is found; C(never) only reports.
    type: str
    choices: [error, warning, never]
    default: error
  page_size:
    description: Items per page when listing nodes and DaemonSets.
    type: int
    default: 500
requirements:
  - kubernetes >= 24.2.0
notes:
  - Needs read access to nodes, DaemonSets and StorageClasses; what the caller may not read is reported as a
    C(preflight.unreadable) warning rather than failing the run.
"""

EXAMPLES = r"""
- name: Inspect the cluster, failing on errors only
  seclog.falco_efk.cluster_preflight:
    kubeconfig: ~/.kube/config
    falco_driver: modern_ebpf
    es_replicas: 3
  register: preflight

- name: Report only, for a dashboard of findings
  seclog.falco_efk.cluster_preflight:
    fail_on: never
  register: preflight

- name: Show one line per finding
  ansible.builtin.debug:
    msg: "{{ preflight.summary }}"
"""

RETURN = r"""
ok:
  description: Whether no finding reaches I(fail_on).
  returned: always
  type: bool
findings:
  description: What was found, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable identifier, for example C(elasticsearch.node_size) or C(falco.driver.kmod).
      type: str
    severity:
      description: C(error), C(warning) or C(info).
      type: str
    message:
      description: What is wrong, naming the nodes or objects.
      type: str
    remedy:
      description: How to fix it.
      type: str
    objects:
      description: The nodes, objects or permissions concerned.
      type: list
      elements: str
summary:
  description: One readable line per finding, remedy included.
  returned: always
  type: list
  elements: str
facts:
  description: What the cluster said.
  returned: always
  type: dict
  contains:
    server_version:
      description: The server's C(/version) answer.
      type: dict
    served_versions:
      description: Every group version the server serves (C(v1), C(apps/v1), ...).
      type: list
      elements: str
    served_resources:
      description: Resources per group version, for the groups the later stages use.
      type: dict
    user:
      description: The user the caller authenticates as (SelfSubjectReview), when the server tells.
      type: dict
    gke:
      description: Whether the nodes are GKE nodes.
      type: bool
    nodes:
      description: Per node, allocatable CPU (millicores) and memory (MiB), instance type, OS image, kernel, runtime, taints, readiness.
      type: list
      elements: dict
    node_count:
      description: Number of nodes.
      type: int
api_requests:
  description: How many requests the preflight made.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import name_problems
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster, ClusterError, auth_argument_spec, discover
from ansible_collections.seclog.falco_efk.plugins.module_utils.preflight import (
    REQUIRED_ACCESS, PreflightError, cpu_millicores, evaluate, failing, finding, memory_mib, node_summary, summary_lines)

# Group versions whose resources the later stages ask about (the rest are listed by name only).
DETAILED_GROUPS = ("apps", "extensions", "policy", "rbac.authorization.k8s.io", "networking.k8s.io", "batch", "storage.k8s.io",
                   "scheduling.k8s.io", "authentication.k8s.io")


def argument_spec():
    """The module's options plus kubernetes.core's connection options."""
    spec = auth_argument_spec()
    spec.update(
        namespace=dict(type="str", default="logging"),
        es_replicas=dict(type="int", default=1),
        es_min_cpu=dict(type="str", default="1"),
        es_min_memory=dict(type="str", default="4Gi"),
        daemonset_requests=dict(type="list", elements="dict", default=[],
                                options=dict(cpu=dict(type="str", default="0"), memory=dict(type="str", default="0"))),
        es_persistence=dict(type="bool", default=True),
        falco_driver=dict(type="str", default="modern_ebpf", choices=["modern_ebpf", "kmod", "auto"]),
        fail_on=dict(type="str", default="error", choices=["error", "warning", "never"]),
        page_size=dict(type="int", default=500),
    )
    return spec


def whoami(cluster, served):
    """The caller's user info, from SelfSubjectReview where the server has it (1.28+)."""
    for group_version in ("authentication.k8s.io/v1", "authentication.k8s.io/v1beta1", "authentication.k8s.io/v1alpha1"):
        if "selfsubjectreviews" in served.get(group_version, ()):
            answer = cluster.request("POST", "/apis/%s/selfsubjectreviews" % group_version,
                                     body={"apiVersion": group_version, "kind": "SelfSubjectReview"})
            return (answer.get("status") or {}).get("userInfo") or {}
    return {}


def access_reviews(cluster, namespace):
    """One SelfSubjectAccessReview per right a later stage needs."""
    reviews = []
    for verb, group, resource, namespaced in REQUIRED_ACCESS:
        plural, _sep, subresource = resource.partition("/")
        attributes = {"verb": verb, "group": group, "resource": plural}
        if subresource:
            attributes["subresource"] = subresource
        if namespaced:
            attributes["namespace"] = namespace
        answer = cluster.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                 body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                       "spec": {"resourceAttributes": attributes}})
        reviews.append({"verb": verb, "group": group, "resource": resource, "namespace": namespace if namespaced else "",
                        "allowed": bool((answer.get("status") or {}).get("allowed"))})
    return reviews


def gather(cluster, params):
    """Everything the checks need; what the caller may not read becomes a finding instead."""
    unreadable = []
    version, versions, resources = discover(cluster, DETAILED_GROUPS)
    served = dict((gv, [r["name"] for r in found]) for gv, found in resources.items())
    apps = next((gv for gv in ("apps/v1", "apps/v1beta2", "extensions/v1beta1") if "daemonsets" in served.get(gv, ())), "apps/v1")

    def read_list(path):
        try:
            return cluster.list_all(path, params["page_size"])[0]
        except ClusterError as exc:
            if exc.status != 403:
                raise
            unreadable.append(path)
            return None

    nodes = read_list("/api/v1/nodes")
    daemonsets = read_list("/apis/%s/daemonsets" % apps)
    storage = read_list("/apis/storage.k8s.io/v1/storageclasses") if "storageclasses" in served.get("storage.k8s.io/v1", ()) else []
    psp_gv = next((gv for gv in ("policy/v1beta1", "extensions/v1beta1") if "podsecuritypolicies" in served.get(gv, ())), None)
    psps = read_list("/apis/%s/podsecuritypolicies" % psp_gv) if psp_gv else []
    try:
        namespace = cluster.get("/api/v1/namespaces/%s" % params["namespace"])
    except ClusterError as exc:
        if exc.status != 403:
            raise
        namespace = None
        unreadable.append("/api/v1/namespaces/%s" % params["namespace"])
    facts = {
        "server_version": version,
        "served_versions": versions,
        "served_resources": served,
        "user": whoami(cluster, served),
        "nodes": [node_summary(n) for n in nodes] if nodes is not None else None,
    }
    # None marks what could not be read: the checks that need it are skipped (and reported).
    data = {"nodes": facts["nodes"], "daemonsets": daemonsets or [], "storage_classes": storage,
            "access": access_reviews(cluster, params["namespace"]), "namespace": namespace, "served": served,
            "psp_count": len(psps or ())}
    return facts, data, unreadable


def run(module):
    """Gather, evaluate, and report."""
    params = module.params
    problems = name_problems(params, namespaces=["namespace"])
    for option, parse in (("es_min_cpu", cpu_millicores), ("es_min_memory", memory_mib)):
        try:
            parse(params[option])
        except PreflightError as exc:
            problems.append("%s: %s. Set it to what an Elasticsearch pod requests." % (option, exc))
    for index, item in enumerate(params["daemonset_requests"]):
        for key, parse in (("cpu", cpu_millicores), ("memory", memory_mib)):
            try:
                parse(item[key])
            except PreflightError as exc:
                problems.append("daemonset_requests[%d].%s: %s. Set it to what that DaemonSet's pod requests." % (index, key, exc))
    for option in ("es_replicas", "page_size"):
        if params[option] < 1:
            problems.append("%s: %s is not a count. Give 1 or more." % (option, params[option]))
    if problems:
        module.fail_json(msg=" ".join(problems))
    try:
        cluster = Cluster(module)
        facts, data, unreadable = gather(cluster, params)
    except ClusterError as exc:
        module.fail_json(msg="Preflight could not read the cluster: %s" % exc)
    options = dict((k, params[k]) for k in ("es_replicas", "es_min_cpu", "es_min_memory", "es_persistence", "falco_driver",
                                            "daemonset_requests"))
    findings = evaluate(data, options)
    if unreadable:
        findings.append(finding("preflight.unreadable", "warning",
                                "You may not read %s, so the checks that need them were skipped." % ", ".join(unreadable),
                                "Run the preflight as a user who may list nodes, DaemonSets and StorageClasses.", unreadable))
    facts["gke"] = any(n["gke_node_pool"] or n["gke_os_distribution"] for n in facts["nodes"] or ())
    facts["node_count"] = len(facts["nodes"] or ())
    failures = failing(findings, params["fail_on"])
    result = dict(changed=False, ok=not failures, findings=findings, summary=summary_lines(findings), facts=facts,
                  api_requests=cluster.requests)
    if failures:
        module.fail_json(msg="Preflight found %d problem(s) at or above '%s': %s" % (len(failures), params["fail_on"],
                                                                                     " | ".join(summary_lines(failures))), **result)
    module.exit_json(**result)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
