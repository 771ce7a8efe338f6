#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kibana_saved_object
short_description: Create, update or delete one Kibana saved object by its fixed id
version_added: 0.1.0
description:
  - Makes one Kibana saved object (index pattern or data view, saved search, visualization, dashboard, or any other
    type Kibana serves) hold the given I(attributes) and I(references), or makes it absent, idempotently.
  - Reads Kibana's version from C(GET /api/status) first; the major version decides how objects are written, and a
    Kibana older than 7.17 is refused before any write. Kibana 8
    tells anonymous callers no version, and its saved objects need a user anyway, so give I(kibana_username) and
    I(kibana_password) there (through the service proxy they log in to Kibana for a session cookie).
  - Reads the object (C(GET /api/saved_objects/<type>/<id>)) and compares it with what the task states, as
    C(seclog.falco_efk) compares saved objects - C(*JSON) attribute strings as data, and only the attributes the
    task states (attributes Kibana adds itself, such as an index pattern's C(fields), are left alone). It writes only
    when they differ.
  - Kibana 7.17, and Kibana 8 for every type but C(index-pattern), are written with
    C(POST /api/saved_objects/<type>/<id>?overwrite=true), which replaces the whole object. The single-object saved
    objects API is deprecated since Kibana 8.7 but still served (also by 9.x).
  - On Kibana 8.3 and later an C(index-pattern) goes through the data views API
    (C(POST /api/data_views/data_view) with the fixed id and C(override=true)). That route cannot overwrite an id
    that exists (Kibana answers 409), so a data view that differs is deleted and created again under the same id;
    objects referring to it by id keep working. Its attributes are sent as the data view's spec (C(title), C(name),
    C(timeFieldName), C(sourceFilters), C(fieldFormatMap), C(runtimeFieldMap), C(fieldAttrs), C(typeMeta),
    C(fields), C(allowNoIndex), C(allowHidden), C(type)); others are refused before any write.
  - With I(state=absent) the object is deleted (an C(index-pattern) through the data views API on Kibana 8.3 and
    later); an object that does not exist is left alone.
  - Failures give Kibana's own message with the HTTP status, name the object (C(dashboard/seclog-falco-dashboard))
    and say what to do. Credentials and session cookies are never shown.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - seclog.falco_efk.kibana
options:
  type:
    description:
      - The saved object type, such as C(index-pattern), C(search), C(visualization) or C(dashboard); any other
        type (C(lens), C(map), C(tag), ...) is passed to Kibana as it is.
    type: str
    required: true
  id:
    description: The object's fixed id, the same on every run (C(seclog-falco-dashboard)).
    type: str
    required: true
  attributes:
    description:
      - The object's attributes as Kibana stores them, C(*JSON) attributes (C(visState), C(panelsJSON),
        C(kibanaSavedObjectMeta.searchSourceJSON), ...) as strings of JSON, as the C(seclog.falco_efk) saved object
        builders write them; given as mappings or lists, they are sent as compact JSON strings. Required with
        I(state=present).
    type: dict
  references:
    description: The object's references; compared as a set, missing and unexpected ones alike.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The reference name the attributes use (C(kibanaSavedObjectMeta.searchSourceJSON.index), C(panel_0)).
        type: str
        required: true
      type:
        description: The referred object's type.
        type: str
        required: true
      id:
        description: The referred object's id.
        type: str
        required: true
  space:
    description:
      - The Kibana space holding the object; requests for any other than C(default) go to C(/s/<space>/api/...).
        The space must exist (the module checks it first).
    type: str
    default: default
  state:
    description: Whether the object should exist as stated or not at all.
    type: str
    choices: [present, absent]
    default: present
  timeout:
    description: Seconds to wait for each request, 1 or more.
    type: int
    default: 30
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Only reads (a session login included); reports what would change.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Before and after of the attributes the task states and of the references, with C(*JSON) strings as data.
requirements:
  - kubernetes >= 24.2.0
notes:
  - On Kibana 8 the ids of C(index-pattern), C(search), C(visualization) and C(dashboard) objects are unique across
    spaces; an id taken in another space makes Kibana answer 409.
  - Kibana 8 keeps one data view per name (a data view without a name goes by its title). Another data view of the same
    name under another id makes the task fail naming it, before anything is written; it is never replaced, since
    C(override) stays false.
  - The data view's C(name) is sent to Kibana 8.4 and later only (8.3's data view schema has none).
  - Kibana 8.0 to 8.2 have no data views API; their index patterns are written through the saved objects API, as on 7.x.
seealso:
  - module: seclog.falco_efk.kibana_status
"""

EXAMPLES = r"""
- name: The Falco index pattern, logged in to Kibana through the API server's service proxy
  seclog.falco_efk.kibana_saved_object:
    kubeconfig: ~/.kube/config
    kibana_username: elastic
    kibana_password: "{{ elastic_password }}"
    type: index-pattern
    id: seclog-falco-logstash
    attributes:
      title: logstash-*
      name: logstash-*
      timeFieldName: "@timestamp"

- name: A saved search on it, in the security space, at a direct address
  seclog.falco_efk.kibana_saved_object:
    kibana_url: https://kibana.example.com
    kibana_username: elastic
    kibana_password: "{{ elastic_password }}"
    space: security
    type: search
    id: seclog-falco-alerts
    attributes:
      title: Falco Alerts
      columns: [rule, priority, output]
      sort: [["@timestamp", "desc"]]
      kibanaSavedObjectMeta:
        searchSourceJSON: >-
          {"query":{"query":"kubernetes.container_name: falco","language":"kuery"},"filter":[],
          "indexRefName":"kibanaSavedObjectMeta.searchSourceJSON.index"}
    references:
      - name: kibanaSavedObjectMeta.searchSourceJSON.index
        type: index-pattern
        id: seclog-falco-logstash

- name: Remove the dashboard
  seclog.falco_efk.kibana_saved_object:
    type: dashboard
    id: seclog-falco-dashboard
    state: absent
"""

RETURN = r"""
object:
  description:
    - The object as Kibana holds it after the run (C(GET /api/saved_objects/<type>/<id>)); null when it does not
      exist. In check mode, the object as it is now.
  returned: always
  type: dict
  sample: {"type": "dashboard", "id": "seclog-falco-dashboard", "attributes": {"title": "Falco security events"},
           "references": [], "namespaces": ["default"], "version": "WzksMV0="}
differences:
  description:
    - "Where the object differed from what the task states, one entry per path with what was expected and found
      (C(attributes.title: expected \"Falco Alerts\", found \"Edited\")); C(<type>/<id>: does not exist) for a missing
      object. Empty when nothing differed. With I(state=absent), C(<type>/<id>: exists) when it existed."
  returned: always
  type: list
  elements: str
  sample: ['attributes.title: expected "Falco Alerts", found "Edited"']
version:
  description: Kibana's version, from C(GET /api/status).
  returned: always
  type: str
  sample: 8.15.3
dialect:
  description: The saved object dialect of that version (C(7) for 7.17, C(8) for 8.x and 9.x).
  returned: always
  type: str
  sample: "8"
api:
  description: The API the object was (or would be) written or deleted through, C(saved_objects) or C(data_views); null when nothing was to be done.
  returned: always
  type: str
  sample: data_views
route:
  description: How Kibana was reached, C(url) (I(kibana_url)) or C(service_proxy).
  returned: always
  type: str
  sample: service_proxy
"""

import json
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import HttpError, client_for_module
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import check_names
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import auth_argument_spec
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana import kibana_argument_spec, kibana_client, kibana_constraints
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana_objects import (
    SPACE_ID_RE, XSRF, Failure, check_space, label, object_path, read_object, read_version, remedy, space_prefix, with_remedy)
from ansible_collections.seclog.falco_efk.plugins.module_utils.saved_objects import (
    JSON_STRING_ATTRIBUTES, SavedObjectError, dialect as dialect_of, differences, normalise)

# Saved object attributes of an index pattern -> the data view spec's names (JSON strings there are data here).
DATA_VIEW_SPEC = {"title": "title", "name": "name", "timeFieldName": "timeFieldName", "allowNoIndex": "allowNoIndex",
                  "allowHidden": "allowHidden", "type": "type", "sourceFilters": "sourceFilters", "fieldFormatMap": "fieldFormats",
                  "runtimeFieldMap": "runtimeFieldMap", "fieldAttrs": "fieldAttrs", "typeMeta": "typeMeta", "fields": "fields"}


def argument_spec():
    """kubernetes.core's connection options, the kibana_* options and the module's own."""
    spec = auth_argument_spec()
    spec.update(kibana_argument_spec())
    spec.update(
        type=dict(type="str", required=True),
        id=dict(type="str", required=True),
        attributes=dict(type="dict"),
        references=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), type=dict(type="str", required=True), id=dict(type="str", required=True))),
        space=dict(type="str", default="default"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        timeout=dict(type="int", default=30),
    )
    return spec


def uses_data_views(type_, version_string):
    """Whether the object is written through the data views API: an index pattern on Kibana 8.3 or later."""
    if type_ != "index-pattern":
        return False
    numbers = [int(n) for n in re.findall(r"\d+", version_string)[:2]] + [0]
    return (numbers[0], numbers[1]) >= (8, 3)


def json_strings(attributes):
    """The attributes with every ``*JSON`` (and other JSON string) attribute given as data written as compact JSON,
    as Kibana stores them; nested mappings (``kibanaSavedObjectMeta``) too."""
    out = {}
    for name, value in attributes.items():
        is_json = name.endswith("JSON") or name in JSON_STRING_ATTRIBUTES
        if is_json and isinstance(value, (dict, list)):
            value = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, dict):
            value = json_strings(value)
        out[name] = value
    return out


def _json_data(value):
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError:
            return value
    return value


def _version(version_string):
    numbers = [int(n) for n in re.findall(r"\d+", version_string or "")[:2]] + [0, 0]
    return numbers[0], numbers[1]


def data_view_body(object_id, attributes, version_string="8.4.0"):
    """The body of ``POST /api/data_views/data_view`` for an index pattern's attributes on Kibana ``version_string``;
    (body, attributes the spec has no place for). The data view spec takes ``name`` only since 8.4 (8.3's schema refuses
    it). ``override`` stays false: with true, Kibana deletes any other data view of the same name first."""
    spec = {"id": object_id}
    unknown = []
    named = _version(version_string) >= (8, 4)
    for name, value in attributes.items():
        if name not in DATA_VIEW_SPEC or (name == "name" and not named):
            unknown.append(name)
            continue
        value = _json_data(value) if name not in ("title", "name", "timeFieldName", "type") else value
        if name == "fields" and isinstance(value, list):
            # The saved object keeps a list of field specs; the data view spec maps names to them.
            value = dict((field["name"], field) for field in value if isinstance(field, dict) and field.get("name"))
        if value is not None:
            spec[DATA_VIEW_SPEC[name]] = value
    if "title" in spec and "name" not in spec and named:
        spec["name"] = spec["title"]
    return {"override": False, "data_view": spec}, sorted(unknown)


def data_view_conflicts(client, object_id, attributes, space):
    """Other data views Kibana would count as this one (8.x looks for a duplicate by name, a data view without one by its
    title): creating ours would be refused, or with override replace theirs."""
    wanted = set([attributes.get("name") or attributes.get("title")]) - set([None, ""])
    found = []
    page = 1
    while True:
        try:
            body = client.get("%sapi/saved_objects/_find" % space_prefix(space),
                              query={"type": "index-pattern", "per_page": 1000, "page": page, "fields": ["title", "name"]}).body
        except HttpError as exc:
            raise Failure(with_remedy("Could not list the data views of space %s: %s" % (space, exc), remedy(exc.status, "index-pattern", space)))
        for item in body.get("saved_objects") or ():
            mine = item.get("attributes") or {}
            names = set([mine.get("name") or mine.get("title")]) - set([None, ""])
            if item.get("id") != object_id and names & wanted:
                found.append(item)
        if page * 1000 >= int(body.get("total") or 0):
            return found
        page += 1


def diff_view(obj, keys=None):
    """An object's attributes (only ``keys`` when given) and references, ``*JSON`` strings as data, for diff mode."""
    if obj is None:
        return {}
    shown = normalise(obj)
    attributes = shown["attributes"]
    if keys is not None:
        attributes = dict((k, v) for k, v in attributes.items() if k in keys)
    return {"attributes": attributes, "references": shown["references"]}


def write_object(client, desired, space, current, data_views, result, version_string="8.4.0"):
    """Create or overwrite the object; with ``data_views``, through the data views API (delete first when it exists,
    which already changes ``result``)."""
    type_, object_id = desired["type"], desired["id"]
    prefix = space_prefix(space)
    try:
        if data_views:
            body = data_view_body(object_id, desired["attributes"], version_string)[0]
            if current is not None:
                client.delete("%sapi/data_views/data_view/%s" % (prefix, quote(object_id, safe="")), headers=XSRF)
                result["changed"] = True
            client.post("%sapi/data_views/data_view" % prefix, body=body, headers=XSRF)
        else:
            body = {"attributes": desired["attributes"], "references": desired["references"]}
            client.post(object_path(space, type_, object_id), body=body, query={"overwrite": True}, headers=XSRF)
    except HttpError as exc:
        lost = ""
        if data_views and current is not None and exc.method == "POST":
            lost = " The data view was deleted to be created again under its id: run the task again."
        raise Failure(with_remedy("Could not write %s: %s%s" % (label(type_, object_id, space), exc, lost),
                                  remedy(exc.status, type_, space, exc.body)))


def delete_object(client, type_, object_id, space, data_views):
    """Delete the object; True when Kibana deleted it, False when it was already gone."""
    if data_views:
        path = "%sapi/data_views/data_view/%s" % (space_prefix(space), quote(object_id, safe=""))
    else:
        path = object_path(space, type_, object_id)
    try:
        client.delete(path, headers=XSRF)
    except HttpError as exc:
        if exc.status == 404:
            return False
        raise Failure(with_remedy("Could not delete %s: %s" % (label(type_, object_id, space), exc), remedy(exc.status, type_, space)))
    return True


# ---------------------------------------------------------------------------------------------- the module
def converge(module, client, result):
    """Read, compare and (unless in check mode) write or delete, filling in ``result``; the diff to report."""
    params = module.params
    type_, object_id, space, state = params["type"], params["id"], params["space"], params["state"]
    found = read_version(client)
    result["version"] = found
    try:
        result["dialect"] = dialect_of(found)
    except SavedObjectError as exc:
        raise Failure(str(exc))
    check_space(client, space)
    current = read_object(client, type_, object_id, space)
    result["object"] = current
    data_views = uses_data_views(type_, found)
    api = "data_views" if data_views else "saved_objects"
    if state == "absent":
        if current is None:
            return None
        result.update(api=api, differences=["%s/%s: exists" % (type_, object_id)])
        if module.check_mode:
            result["changed"] = True
        else:
            result["changed"] = delete_object(client, type_, object_id, space, data_views)
            result["object"] = None
        return {"before": diff_view(current), "after": {}}

    desired = {"type": type_, "id": object_id, "attributes": json_strings(params["attributes"]), "references": params["references"]}
    if type_ == "index-pattern" and _version(found) < (8, 4):
        desired["attributes"].pop("name", None)  # a data view has a name since Kibana 8.4 only
    if data_views:
        unused = data_view_body(object_id, desired["attributes"], found)[1] + (["references"] if desired["references"] else [])
        unused = [name for name in unused if name != "name"]  # Kibana 8.3 has no data view name: it is left out there
        if unused:
            raise Failure("%s: Kibana %s keeps index patterns as data views, whose API takes no %s; state only %s."
                          % (label(type_, object_id, space), found, ", ".join(unused), ", ".join(sorted(DATA_VIEW_SPEC))))
    result["differences"] = differences(desired, current)
    diff = {"before": diff_view(current, desired["attributes"]), "after": diff_view(desired)}
    if not result["differences"]:
        return diff
    result["api"] = api
    if data_views:
        # Never replace someone else's data view: Kibana keeps one per name, and would refuse ours or (override) delete theirs.
        others = data_view_conflicts(client, object_id, desired["attributes"], space)
        if others:
            raise Failure("%s: Kibana already has %s, which this task did not create; writing ours would replace it (Kibana "
                          "keeps one data view per name). Nothing was changed. Reuse it by its id (the kibana_dashboards role: "
                          "kibana_dashboards_data_view_id), or give this data view another title and name." % (
                              label(type_, object_id, space), ", ".join("data view %s (id %s)" % (
                                  (o.get("attributes") or {}).get("name") or (o.get("attributes") or {}).get("title"), o.get("id"))
                                  for o in others)))
    if module.check_mode:
        result["changed"] = True
        return diff
    write_object(client, desired, space, current, data_views, result, version_string=found)
    result["changed"] = True
    result["object"] = read_object(client, type_, object_id, space)
    still = differences(desired, result["object"])
    if still:
        module.warn("After writing it, Kibana holds %s differently from the task (%s); the next run will write it again."
                    % (label(type_, object_id, space), "; ".join(still)))
    return diff


def run(module):
    """Validate, converge, report."""
    params = module.params
    if not SPACE_ID_RE.match(params["space"]):
        module.fail_json(msg="space %r is not a Kibana space id (lower case a-z, 0-9, '_' and '-')." % params["space"])
    for name in ("type", "id"):
        if not params[name].strip():
            module.fail_json(msg="%s must not be empty." % name)
    check_names(module, namespaces=["kibana_namespace"], services=["kibana_service"])
    clusters, client = client_for_module(module, kibana_client, "Kibana", "kibana_")
    del clusters  # only the client is needed: Kibana is reached by URL or through the proxy
    client.timeout = params["timeout"]
    result = dict(changed=False, version=None, dialect=None, route=client.route, api=None, differences=[], object=None)
    try:
        diff = converge(module, client, result)
    except Failure as exc:
        client.close()
        module.fail_json(msg=str(exc), **result)
    client.close()
    if module._diff and diff is not None:
        result["diff"] = diff
    module.exit_json(**result)


def main():
    """Entry point."""
    constraints = kibana_constraints()
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[["state", "present", ["attributes"]]], **constraints)
    run(module)


if __name__ == "__main__":
    main()
