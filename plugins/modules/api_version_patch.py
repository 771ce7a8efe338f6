#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: api_version_patch
short_description: Rewrite Kubernetes manifests to API versions the cluster serves
version_added: 0.1.0
description:
  - The runbook's second step, automated. Upstream manifests name API versions a cluster may not serve
    (C(apps/v1) on 1.8, C(extensions/v1beta1) on 1.16 and later, PodSecurityPolicy on 1.25 and later).
    This module rewrites each object to a version the target serves, converting the fields that differ
    between versions, and explains every change.
  - The target is what the connected cluster serves (discovery, the default), or an offline
    O(kubernetes_version) from a built-in table of what each release served.
  - It never writes to the cluster. C(changed) means some object was rewritten or dropped; in diff mode
    the before and after manifests are shown.
  - Each output object is validated against the target version's OpenAPI schema where one is bundled
    with kubernetes-validate (Kubernetes 1.25 and later); the report says when none exists.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  definitions:
    description:
      - The objects, as a list of dicts, one dict, or YAML text with one or more documents.
      - Exactly one of O(definitions) and O(src) is required.
    type: raw
  src:
    description: Files of (multi-document) YAML to read the objects from, in order.
    type: list
    elements: path
  kubernetes_version:
    description:
      - Patch for this release (for example C(1.8), C(1.16), C(1.30)) instead of asking the cluster.
      - Without it, the cluster's discovery decides, using the connection options.
    type: str
  unsupported:
    description:
      - What to do with an object whose kind the target serves in no version.
      - C(fail) stops with an error naming the object, C(skip) leaves it out with a warning, C(warn)
        passes it through unchanged with a warning.
      - PodSecurityPolicies on clusters without them are always dropped, with a warning naming the Pod
        Security Admission labels to use instead.
    type: str
    choices: [fail, skip, warn]
    default: fail
  validate:
    description: Validate each output object against the target version's schema (kubernetes-validate).
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0 (for discovery)
  - kubernetes-validate (for O(validate))
  - PyYAML
"""

EXAMPLES = r"""
- name: Patch the upstream addon manifests for the connected cluster
  seclog.falco_efk.api_version_patch:
    src:
      - files/es-statefulset.yaml
      - files/fluentd-es-ds.yaml
  register: patched

- name: Apply what the cluster can take
  kubernetes.core.k8s:
    definition: "{{ item }}"
  loop: "{{ patched.definitions }}"

- name: Plan for a 1.8 cluster offline
  seclog.falco_efk.api_version_patch:
    definitions: "{{ lookup('ansible.builtin.file', 'falco-daemonset.yaml') }}"
    kubernetes_version: "1.8"
"""

RETURN = r"""
definitions:
  description: The rewritten objects, in their original order (dropped ones left out).
  returned: always
  type: list
  elements: dict
report:
  description: One entry per input object.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: The object's kind.
      type: str
    name:
      description: The object's name.
      type: str
    namespace:
      description: The object's namespace, when it has one.
      type: str
    from:
      description: The apiVersion it had.
      type: str
    to:
      description: The apiVersion it has now (null when dropped).
      type: str
    action:
      description: C(unchanged), C(converted), C(dropped) or C(skipped).
      type: str
    changes:
      description: The field changes the conversion made.
      type: list
      elements: str
    warnings:
      description: What the user should know (defaults that differ, semantics that change).
      type: list
      elements: str
    validation:
      description: C(valid), the schema error, or why nothing was validated.
      type: str
target:
  description: What the objects were patched for.
  returned: always
  type: dict
  contains:
    source:
      description: C(discovery) or C(table).
      type: str
    version:
      description: The Kubernetes version.
      type: str
"""

import copy
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.seclog.falco_efk.plugins.module_utils import api_versions
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import yaml_documents
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import Cluster, ClusterError, auth_argument_spec, discover

try:
    import yaml
    YAML_IMPORT_ERROR = None
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()

try:
    import kubernetes_validate
    VALIDATE_IMPORT_ERROR = None
except ImportError:
    kubernetes_validate = None
    VALIDATE_IMPORT_ERROR = traceback.format_exc()

OLDEST_SCHEMA = (1, 25)


def argument_spec():
    """The module's options plus kubernetes.core's connection options."""
    spec = auth_argument_spec()
    spec.update(
        definitions=dict(type="raw"),
        src=dict(type="list", elements="path"),
        kubernetes_version=dict(type="str"),
        unsupported=dict(type="str", default="fail", choices=["fail", "skip", "warn"]),
        validate=dict(type="bool", default=True),
    )
    return spec


def load_definitions(params):
    """The objects from ``definitions`` or ``src``, as a list; ValueError names what could not be read."""
    if params["definitions"] is not None:
        return _documents(params["definitions"], "definitions")
    objects = []
    for path in params["src"]:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            raise ValueError("src file %s: could not be read (%s). Check the path; it is read on the host the module runs on (the "
                             "controller with delegate_to: localhost)." % (path, exc.strerror or exc))
        objects.extend(_documents(text, "src file %s" % path))
    return objects


def _documents(value, where):
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        documents, problem = yaml_documents(value, where)
        if problem:
            raise ValueError(problem)
        return documents
    raise ValueError("%s: %.80r is not a Kubernetes object. Give a list of objects, one object, or YAML text of them." % (where, value))


def served_from_cluster(module):
    """Group version -> kinds, from the connected cluster's discovery."""
    cluster = Cluster(module)
    version, _versions, resources = discover(cluster)
    served = dict((gv, frozenset(r["kind"] for r in found)) for gv, found in resources.items())
    return served, to_text(version.get("gitVersion", "%s.%s" % (version.get("major"), version.get("minor"))))


def _minor(version):
    match = re.match(r"^v?(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def validate(obj, version):
    """Validation against the target's OpenAPI schema, as one line for the report."""
    if kubernetes_validate is None:
        return "not validated: kubernetes-validate is not installed (pip install kubernetes-validate)"
    minor = _minor(version)
    newest = _minor(kubernetes_validate.latest_version())
    if minor is None or minor < OLDEST_SCHEMA or minor > newest:
        return "not validated: kubernetes-validate has no schema for Kubernetes %s (it has %d.%d to %d.%d)" % (
            version, OLDEST_SCHEMA[0], OLDEST_SCHEMA[1], newest[0], newest[1])
    try:
        kubernetes_validate.validate(obj, "%d.%d" % minor, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return "not validated: no schema for %s %s in Kubernetes %d.%d (a custom resource?)" % (
            obj.get("apiVersion"), obj.get("kind"), minor[0], minor[1])
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(part) for part in exc.path) or "(object)"
        return "invalid at %s: %s" % (where, exc.message)
    return "valid"


def run(module):
    """Load, patch, validate, report."""
    params = module.params
    if YAML_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    try:
        definitions = load_definitions(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if params["kubernetes_version"]:
        try:
            served = api_versions.served_by_release(params["kubernetes_version"])
        except api_versions.UnknownRelease as exc:
            module.fail_json(msg=str(exc))
        target = {"source": "table", "version": params["kubernetes_version"]}
    else:
        try:
            served, version = served_from_cluster(module)
        except ClusterError as exc:
            module.fail_json(msg="Could not ask the cluster which API versions it serves: %s Or set kubernetes_version to patch offline."
                                 % exc)
        target = {"source": "discovery", "version": version}
    try:
        result = api_versions.patch(definitions, served, unsupported=params["unsupported"],
                                    target="this cluster" if target["source"] == "discovery" else "Kubernetes %s" % target["version"])
    except (api_versions.UnsupportedKind, api_versions.InvalidDefinition) as exc:
        module.fail_json(msg=str(exc), target=target)
    report = result["report"]
    outputs = iter(result["definitions"])
    for entry in report:
        if entry["action"] in ("dropped", "skipped"):
            entry["validation"] = "not validated: %s" % entry["action"]
            continue
        obj = next(outputs)
        entry["validation"] = validate(obj, target["version"]) if params["validate"] else "not validated: validate is false"
    for entry in report:
        for warning in entry["warnings"]:
            module.warn(warning)  # each already names its object
    output = dict(changed=result["changed"], definitions=result["definitions"], report=report, target=target)
    if module._diff and result["changed"]:  # pylint: disable=protected-access
        output["diff"] = dict(before=yaml.safe_dump_all(copy.deepcopy(definitions), sort_keys=False),
                              after=yaml.safe_dump_all(result["definitions"], sort_keys=False),
                              before_header="definitions (as given)", after_header="definitions (for %s)" % target["version"])
    module.exit_json(**output)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("definitions", "src")], required_one_of=[("definitions", "src")])
    run(module)


if __name__ == "__main__":
    main()
