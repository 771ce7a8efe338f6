#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kibana_saved_object_info
short_description: Read one Kibana saved object, such as a data view to reuse
version_added: 0.1.0
description:
  - Reads one saved object (C(GET /api/saved_objects/<type>/<id>)) and Kibana's version, and writes nothing.
  - With I(require=true) a missing object fails the task, saying which object and where it was looked for; the
    C(kibana_dashboards) role uses it so to reuse a data view of the user's (C(kibana_dashboards_data_view_id)).
  - Reaches Kibana as C(seclog.falco_efk.kibana_saved_object) does, at I(kibana_url) or through the Kubernetes API
    server's service proxy, logged in with I(kibana_username) and I(kibana_password) where Kibana keeps its objects from
    anonymous callers.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - seclog.falco_efk.kibana
options:
  type:
    description: The saved object type, such as C(index-pattern) (a data view on Kibana 8), C(search) or C(dashboard).
    type: str
    required: true
  id:
    description: The object's id.
    type: str
    required: true
  space:
    description: The Kibana space holding the object; it must exist.
    type: str
    default: default
  require:
    description: Fail when the object does not exist.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each request, 1 or more.
    type: int
    default: 30
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: It only reads.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: seclog.falco_efk.kibana_saved_object
"""

EXAMPLES = r"""
- name: The data view the dashboard should reuse, which must exist
  seclog.falco_efk.kibana_saved_object_info:
    kubeconfig: ~/.kube/config
    kibana_username: elastic
    kibana_password: "{{ elastic_password }}"
    type: index-pattern
    id: 90943e30-9a47-11e8-b64d-95841ca0b247
    require: true
  register: data_view

- name: Its index pattern
  ansible.builtin.debug:
    msg: "{{ data_view.object.attributes.title }}"
"""

RETURN = r"""
exists:
  description: Whether Kibana has the object.
  returned: always
  type: bool
  sample: true
object:
  description: The object as Kibana answers it; null when it does not exist.
  returned: always
  type: dict
  sample: {"type": "index-pattern", "id": "logs", "attributes": {"title": "logstash-*", "timeFieldName": "@timestamp"},
           "references": [], "namespaces": ["default"], "version": "WzEsMV0="}
version:
  description: Kibana's version, from C(GET /api/status).
  returned: success
  type: str
  sample: 8.19.10
route:
  description: How Kibana was reached, C(url) (I(kibana_url)) or C(service_proxy).
  returned: always
  type: str
  sample: service_proxy
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import client_for_module
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import check_names
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import auth_argument_spec
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana import kibana_argument_spec, kibana_client, kibana_constraints
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana_objects import (
    SPACE_ID_RE, Failure, check_space, label, read_object, read_version)


def argument_spec():
    """kubernetes.core's connection options, the kibana_* options and the module's own."""
    spec = auth_argument_spec()
    spec.update(kibana_argument_spec())
    spec.update(
        type=dict(type="str", required=True),
        id=dict(type="str", required=True),
        space=dict(type="str", default="default"),
        require=dict(type="bool", default=False),
        timeout=dict(type="int", default=30),
    )
    return spec


def run(module):
    """Validate, read, report."""
    params = module.params
    if not SPACE_ID_RE.match(params["space"]):
        module.fail_json(msg="space %r is not a Kibana space id (lower case a-z, 0-9, '_' and '-')." % params["space"])
    for name in ("type", "id"):
        if not params[name].strip():
            module.fail_json(msg="%s must not be empty." % name)
    if params["timeout"] < 1:
        module.fail_json(msg="timeout must be 1 or more (got %s)." % params["timeout"])
    check_names(module, namespaces=["kibana_namespace"], services=["kibana_service"])
    _clusters, client = client_for_module(module, kibana_client, "Kibana", "kibana_")
    client.timeout = params["timeout"]
    result = dict(changed=False, exists=False, object=None, route=client.route)
    try:
        result["version"] = read_version(client)
        check_space(client, params["space"])
        result["object"] = read_object(client, params["type"], params["id"], params["space"])
    except Failure as exc:
        client.close()
        module.fail_json(msg=str(exc), **result)
    client.close()
    result["exists"] = result["object"] is not None
    if params["require"] and not result["exists"]:
        module.fail_json(msg="Kibana (%s) has no %s. Check the id (Stack Management > Data Views or Saved Objects shows it) "
                             "and the space." % (client.where, label(params["type"], params["id"], params["space"])), **result)
    module.exit_json(**result)


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **kibana_constraints())
    run(module)


if __name__ == "__main__":
    main()
