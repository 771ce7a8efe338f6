#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: falco_alerts_info
short_description: Count the Falco alerts stored in Elasticsearch, by rule, priority, node and pod
version_added: 0.1.0
description:
  - Counts the Falco alerts Fluentd stored in the I(index) indices during the last I(since), with one C(_search)
    (no hits, a range on C(@timestamp), terms aggregations on I(fields)), and how many indices match I(index)
    (C(_cat/indices)).
  - With I(via=kibana) (the default) the requests go through Kibana's Dev Tools console proxy
    (C(POST /api/console/proxy)), sent by Kibana to Elasticsearch as the Kibana user. That is the route that works
    through the Kubernetes API server's service proxy when Elasticsearch security is on, since kube-apiserver removes
    the Authorization header there (so Elasticsearch would only see anonymous requests) while Kibana's session cookie
    passes, see I(kibana_url).
  - With I(via=elasticsearch) the requests go straight to Elasticsearch, at I(es_url) with I(es_username) and
    I(es_password) or I(es_api_key), or anonymously through the service proxy.
  - With I(min_count) or I(require_index) and a I(timeout), polls until enough alerts (or an index) are there, then
    fails saying what it saw, for example that no index matches I(index) yet, or that indices exist but hold no
    Falco alerts for the window.
  - Never changes anything; check mode behaves the same.
author:
  - seclog maintainers (@seclog)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - seclog.falco_efk.elasticsearch
  - seclog.falco_efk.kibana
options:
  via:
    description:
      - C(kibana) sends the Elasticsearch requests through Kibana's console proxy with the C(kibana_*) options;
        C(elasticsearch) sends them to Elasticsearch with the C(es_*) options.
      - Through the API server's service proxy with Elasticsearch security on, only C(kibana) with I(kibana_username)
        and I(kibana_password) can authenticate, hence the default.
    type: str
    choices: [elasticsearch, kibana]
    default: kibana
  index:
    description: Index pattern the alerts are in (Fluentd's C(logstash_format) writes C(logstash-YYYY.MM.DD)).
    type: str
    default: logstash-*
  since:
    description:
      - How far back to count, one Elasticsearch date math amount (C(15m), C(2h), C(1d)); the window is
        C(@timestamp >= now-<since>).
    type: str
    default: 15m
  query:
    description:
      - An Elasticsearch query (query DSL, not KQL) that selects the alerts, put beside the time range in a
        C(bool) filter.
      - 'Default, Falco''s own lines with an alert in them:
        C({"bool": {"filter": [{"term": {"kubernetes.container_name": "falco"}}, {"exists": {"field": "rule"}}]}}).'
    type: dict
  top:
    description: How many values to return for each entry of I(fields), most frequent first.
    type: int
    default: 10
  fields:
    description:
      - What to count by, a name (the result is C(by_<name>)) for each field; the fields must be aggregatable
        (C(keyword), as the efk role's index template maps these; with Elasticsearch's dynamic mapping use the
        C(.keyword) sub-fields, such as C(rule.keyword)).
      - 'Default C({rule: rule, priority: priority, node: kubernetes.host, pod: output_fields.k8s_pod_name}) (Falco''s
        C(k8s.pod.name), its dots as C(_) as the efk role''s Fluentd writes output_fields).'
    type: dict
  min_count:
    description:
      - Fail unless at least this many alerts are in the window; with a I(timeout), wait for them first.
    type: int
    default: 0
  require_index:
    description: Fail unless I(index) matches at least one index; with a I(timeout), wait for one first.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for I(min_count) and I(require_index); C(0) looks once.
    type: int
    default: 0
  resolve_fields:
    description:
      - Fields to find the aggregatable form of in I(index), besides those of I(fields) (which are always resolved
        before counting); the field itself where it is C(keyword) (the efk role's index template), else its
        C(.keyword) sub-field (Elasticsearch's dynamic mapping). See C(resolved_fields), C(field_problems) and
        C(mixed_mappings); the kibana_dashboards role builds its visualizations on them.
    type: list
    elements: str
    default: []
requirements:
  - kubernetes >= 24.2.0
notes:
  - The user (I(kibana_username) or I(es_username)) needs the C(read) privilege on I(index); counting the indices
    also needs C(monitor) on them (the C(indices) result is null when Elasticsearch refuses that, and whether an
    index exists is then read from the search). Through Kibana the user also needs the Dev Tools feature.
  - Kibana 8 answers console proxy requests with HTTP 200 and gives Elasticsearch's status in the
    C(x-console-proxy-status-code) header; Kibana 6.x and 7.x answer with Elasticsearch's status. Both are read.
"""

EXAMPLES = r"""
- name: Count the Falco alerts of the last 15 minutes through Kibana, behind the API server proxy
  seclog.falco_efk.falco_alerts_info:
    kubeconfig: ~/.kube/config
    kibana_username: elastic
    kibana_password: "{{ elastic_password }}"
  register: alerts

- name: Wait up to 5 minutes for the first 10 alerts, asking Elasticsearch directly
  seclog.falco_efk.falco_alerts_info:
    via: elasticsearch
    es_url: https://elasticsearch.example.com:9200
    es_username: elastic
    es_password: "{{ elastic_password }}"
    since: 1h
    min_count: 10
    require_index: true
    timeout: 300

- name: Show the busiest rules
  ansible.builtin.debug:
    msg: "{{ alerts.total }} alerts: {{ alerts.by_rule | map(attribute='key') | list }}"
"""

RETURN = r"""
total:
  description: Alerts in the window.
  returned: always
  type: int
  sample: 137
by_rule:
  description: The I(top) rules by alert count, C(key) and C(count), most first (one C(by_<name>) per entry of I(fields)).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "Terminal shell in container", "count": 12}]
by_priority:
  description: Alert counts per priority, as for I(by_rule).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "Warning", "count": 90}, {"key": "Notice", "count": 47}]
by_node:
  description: Alert counts per node (C(kubernetes.host)), as for I(by_rule).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "gke-cluster-pool-1-a", "count": 137}]
by_pod:
  description: Alert counts per pod that caused them (C(output_fields.k8s_pod_name)), as for I(by_rule).
  returned: always
  type: list
  elements: dict
  sample: [{"key": "event-generator-5b7d9c6f4-x2x9k", "count": 120}]
others:
  description: For each entry of I(fields), the alerts whose value is beyond the I(top) returned.
  returned: always
  type: dict
  sample: {"rule": 0, "priority": 0, "node": 0, "pod": 3}
indices:
  description: How many indices match I(index); null when Elasticsearch would not list them to this user.
  returned: always
  type: int
  sample: 2
since:
  description: The window, as given.
  returned: always
  type: str
  sample: 15m
via:
  description: Whether the requests went through C(kibana) or straight to C(elasticsearch).
  returned: always
  type: str
  sample: kibana
route:
  description: How that service was reached, C(url) or C(service_proxy).
  returned: always
  type: str
  sample: service_proxy
resolved_fields:
  description: For each field of I(fields) and I(resolve_fields), the one aggregations use (C(rule) or C(rule.keyword));
    empty while no index matches.
  returned: always
  type: dict
  sample: {"rule": "rule", "output_fields.k8s_pod_name": "output_fields.k8s_pod_name.keyword"}
field_problems:
  description: Fields of I(resolve_fields) that neither way can be aggregated in I(index), each with what it is mapped as.
  returned: always
  type: list
  elements: str
mixed_mappings:
  description: Fields mapped differently across the indices of I(index), with the one used and what to do about the others.
  returned: always
  type: list
  elements: str
shard_failures:
  description:
    - The indices Elasticsearch could not count in, each as its name, a colon and Elasticsearch's reason; for example an older index where a
      field is C(text). The counts cover the others, and a warning says so.
  returned: always
  type: list
  elements: str
elapsed:
  description: Seconds spent, waiting included.
  returned: always
  type: float
  sample: 0.4
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.seclog.falco_efk.plugins.module_utils.elasticsearch import (
    ALERT_FIELDS, alert_counts, alerts_search_body, console_proxy_query, console_proxy_status, elasticsearch_argument_spec,
    elasticsearch_client, elasticsearch_constraints, field_caps_query, resolve_fields, searched_shards, shard_failures, text_field_error,
    valid_since)
from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import (
    HttpError, RetryPolicy, server_message)
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import check_names, refused_credentials
from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import auth_argument_spec
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana import kibana_argument_spec, kibana_client, kibana_constraints

MAX_WAIT_PER_CALL = 30
POLL_PAUSE = 1.0
CONSOLE_PROXY_PATH = "api/console/proxy"
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


def argument_spec():
    """kubernetes.core's connection options, the es_* and kibana_* options and the module's own."""
    spec = auth_argument_spec()
    spec.update(elasticsearch_argument_spec())
    spec.update(kibana_argument_spec())
    spec.update(
        via=dict(type="str", default="kibana", choices=["elasticsearch", "kibana"]),
        index=dict(type="str", default="logstash-*"),
        since=dict(type="str", default="15m"),
        query=dict(type="dict"),
        top=dict(type="int", default=10),
        fields=dict(type="dict"),
        min_count=dict(type="int", default=0),
        require_index=dict(type="bool", default=False),
        timeout=dict(type="int", default=0),
        resolve_fields=dict(type="list", elements="str", default=[]),
    )
    return spec


class Refused(Exception):
    """Elasticsearch (or Kibana in front of it) answered with an error status; ``status`` 0 when nothing answered."""

    def __init__(self, message, status=0, by_kibana=False):
        super(Refused, self).__init__(message)
        self.status = status
        self.by_kibana = by_kibana


class Search:
    """Elasticsearch requests by one route: straight (an Elasticsearch client) or through Kibana's console proxy."""

    def __init__(self, client, via):
        self.client = client
        self.via = via

    @property
    def where(self):
        """What the requests reach, for messages."""
        if self.via == "kibana":
            return "Kibana's console proxy on %s" % self.client.where
        return self.client.where

    def call(self, method, path, query=None, body=None, deadline=None, clock=time.time):
        """Elasticsearch's answer body; Refused when Elasticsearch (or Kibana) refused or nothing answered."""
        wait = max(min(deadline - clock(), MAX_WAIT_PER_CALL), 1) if deadline is not None else MAX_WAIT_PER_CALL
        try:
            if self.via == "elasticsearch":
                return self.client.request(method, path, query=query, body=body, timeout=wait, deadline=deadline).body
            answer = self.client.post(CONSOLE_PROXY_PATH, body=body, query=console_proxy_query(method, path, query),
                                      headers={"kbn-xsrf": "true"}, timeout=wait, deadline=deadline)
        except HttpError as exc:
            # Kibana 6.x/7.x answer with Elasticsearch's status: an Elasticsearch error body says it was Elasticsearch.
            by_kibana = self.via == "kibana" and not _es_error(exc.body)
            raise Refused(str(exc), exc.status or 0, by_kibana)
        status = console_proxy_status(answer.status, answer.headers)
        if not 200 <= status < 300:
            said = server_message(answer.body)
            raise Refused("%s /%s through %s failed (HTTP %s)%s." % (method, path, self.where, status, ": " + said if said else ""),
                          status)
        return answer.body


def _es_error(body):
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "status" in body


def count_indices(search, index, deadline):
    """How many indices match ``index``, or None when Elasticsearch will not list them to this user (403)."""
    try:
        rows = search.call("GET", "_cat/indices/%s" % index, query={"format": "json", "h": "index"}, deadline=deadline)
    except Refused as exc:
        if exc.status == 403 and not exc.by_kibana:
            return None
        raise
    return len(rows) if isinstance(rows, list) else 0


def look(search, params, fields, deadline):
    """One look: (indices or None, whether an index matches, total, counts, others, (resolved, problems, mixed), the shards
    Elasticsearch left out of the counts)."""
    indices = count_indices(search, params["index"], deadline)
    if indices == 0:
        return 0, False, 0, dict((name, []) for name in fields), dict((name, 0) for name in fields), ({}, [], []), []
    wanted = sorted(set(fields.values()) | set(params["resolve_fields"]))
    caps = search.call("GET", "%s/_field_caps" % params["index"], query=field_caps_query(wanted), deadline=deadline)
    resolution = resolve_fields(caps, wanted, params["index"])
    counted = dict((name, resolution[0].get(field, field)) for name, field in fields.items())
    body = search.call("POST", "%s/_search" % params["index"],
                       body=alerts_search_body(params["since"], counted, params["top"], params["query"]), deadline=deadline)
    total, counts, others = alert_counts(body, list(fields))
    exists = indices > 0 if indices is not None else searched_shards(body) > 0
    return indices, exists, total, counts, others, resolution, shard_failures(body)


def satisfied(params, exists, total):
    """Whether what was seen meets require_index and min_count."""
    return (exists or not params["require_index"]) and total >= params["min_count"]


def shortfall(params, indices, exists, total):
    """What was missing, in words."""
    if not exists:
        return ("no %s index exists yet (Fluentd creates the daily index with the first record it ships: are Fluentd and "
                "Falco running, and can Fluentd write to Elasticsearch?)" % params["index"])
    matched = "%d indices match %s" % (indices, params["index"]) if indices is not None else "%s matches indices" % params["index"]
    return "%s but %d Falco alert(s) in the last %s%s (is Falco running? is the event generator on?)" % (
        matched, total, params["since"], ", %d wanted" % params["min_count"] if params["min_count"] else "")


def remedy(params, exc):
    """A failure message for a refusal: the route, Elasticsearch's or Kibana's words and what to do about it."""
    via = params["via"]
    prefix = "kibana_" if via == "kibana" else "es_"
    user = prefix + "username"
    message = str(exc).rstrip(".") + "."
    if exc.status == 401:
        if via == "kibana" and params.get("kibana_password") is None and "kibana_password" not in message:
            message += " Give kibana_username and kibana_password (a user with read on %s)." % params["index"]
        elif via == "elasticsearch" and not params.get("es_url"):
            message += " Give es_url with es_username/es_password or es_api_key, or use via: kibana."
        elif params.get(prefix + "password") and params.get(prefix + "url"):
            message += " " + refused_credentials(prefix)
    elif exc.status == 403 and exc.by_kibana:
        message += " The %s user lacks Kibana's Dev Tools (console) privilege; give it a role with Dev Tools, or use via: elasticsearch." % user
    elif exc.status == 403:
        message += (" The %s user lacks the read privilege on %s: give it a role with indices [{names: ['%s'], privileges: [read, "
                    "view_index_metadata]}]." % (user, params["index"], params["index"]))
    elif exc.status == 400 and text_field_error(message):
        message += (" A field of fields is text: map it as keyword (the efk role's index template does) or count by its .keyword "
                    "sub-field (for example rule.keyword).")
    return "falco_alerts_info via %s: %s" % (via, message)


def validate(module):
    """Fail on options that cannot work, before any request; the fields to count by."""
    params = module.params
    if not valid_since(params["since"]):
        module.fail_json(msg="since must be one Elasticsearch date math amount such as 15m, 2h or 1d (got %s)." % params["since"])
    for name in ("top", "timeout", "min_count"):
        if params[name] < (1 if name == "top" else 0):
            module.fail_json(msg="%s must be %s (got %s)." % (name, "1 or more" if name == "top" else "0 or more", params[name]))
    if not params["index"] or any(c.isspace() for c in params["index"]):
        module.fail_json(msg="index must be an index pattern such as logstash-* (got %r)." % params["index"])
    fields = params["fields"] if params["fields"] is not None else dict(ALERT_FIELDS)
    if not fields or not all(NAME_RE.match(str(k)) and isinstance(v, str) and v for k, v in fields.items()):
        module.fail_json(msg="fields must map names (lower case, digits, _) to field names, such as {rule: rule} (got %s)." % fields)
    bad = [f for f in params["resolve_fields"] if not f or any(c in f for c in " ,*")]
    if bad:
        module.fail_json(msg="resolve_fields must name fields, without spaces, commas or wildcards (got %s)." % ", ".join(map(repr, bad)))
    check_names(module, namespaces=["kibana_namespace", "es_namespace"], services=["kibana_service", "es_service"])
    prefix = "kibana_" if params["via"] == "kibana" else "es_"
    port = params[prefix + "port"]
    if port < 1 or port > 65535:
        module.fail_json(msg="%sport must be a port number, 1 to 65535 (got %s)." % (prefix, port))
    return fields


def connect(module):
    """The Search for the route asked for; fails the module when the API server cannot be reached or a URL is bad."""
    from ansible_collections.seclog.falco_efk.plugins.module_utils.k8s import ClusterError, LazyCluster
    params = module.params
    retry = RetryPolicy(attempts=3, backoff=0.5, max_delay=4.0)
    try:
        if params["via"] == "kibana":
            client = kibana_client(module, LazyCluster(module), retry=retry)
            client.unauthorized_hint = ("Give kibana_username and kibana_password: through the proxy they log in to Kibana "
                                        "for a session cookie.")
        else:
            client = elasticsearch_client(module, LazyCluster(module), retry=retry)
    except ClusterError as exc:
        module.fail_json(msg="Could not reach %s through the Kubernetes API server: %s" % (params["via"], exc), route="service_proxy")
    except ValueError as exc:
        module.fail_json(msg="Invalid %surl: %s." % ("kibana_" if params["via"] == "kibana" else "es_", exc))
    return Search(client, params["via"])


def run(module, clock=time.time, sleep=time.sleep):
    """Validate, look (until satisfied or the timeout), report."""
    params = module.params
    fields = validate(module)
    search = connect(module)
    started = clock()
    # Without a timeout each request gets the client's own time and retries; with one, they all end by the deadline.
    deadline = started + params["timeout"] if params["timeout"] else None
    seen, error = None, None
    try:
        while True:
            try:
                seen, error = look(search, params, fields, deadline), None
            except Refused as exc:
                error = exc
                if exc.status in (400, 401, 403):
                    break
            if (seen is not None and satisfied(params, seen[1], seen[2])) or deadline is None or clock() >= deadline:
                break
            sleep(max(min(POLL_PAUSE, deadline - clock()), 0))
    finally:
        search.client.close()
    result = dict(changed=False, since=params["since"], via=params["via"], route=search.client.route,
                  elapsed=round(clock() - started, 2), total=0, indices=None, others=dict((name, 0) for name in fields),
                  resolved_fields={}, field_problems=[], mixed_mappings=[], shard_failures=[])
    result.update(("by_" + name, []) for name in fields)
    if seen is None or (error is not None and error.status in (400, 401, 403)):
        module.fail_json(msg=remedy(params, error), **result)
    indices, exists, total, counts, others, (resolved, problems, mixed), failed = seen
    result.update(total=total, indices=indices, others=others, resolved_fields=resolved, field_problems=problems, mixed_mappings=mixed,
                  shard_failures=failed)
    if failed:
        module.warn("Elasticsearch left %d of the %s indices out of the counts (%s): the counts cover the others.%s" % (
            len(failed), params["index"], "; ".join(failed), " " + " ".join(mixed) if mixed else ""))
    result.update(("by_" + name, counts[name]) for name in fields)
    if not satisfied(params, exists, total):
        message = "falco_alerts_info via %s (%s): %s" % (params["via"], search.where, shortfall(params, indices, exists, total))
        if params["timeout"]:
            message += "; waited %d s" % params["timeout"]
        if error is not None:
            message += "; the last error was: %s" % str(error).rstrip(".")
        module.fail_json(msg=message + ".", **result)
    module.exit_json(**result)


def main():
    """Entry point."""
    constraints = elasticsearch_constraints()
    for key, value in kibana_constraints().items():
        if isinstance(value, list):
            constraints[key] = constraints.get(key, []) + value
        else:
            constraints[key] = dict(constraints.get(key, {}), **value)
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, **constraints)
    run(module)


if __name__ == "__main__":
    main()
