"""The efk role's index template for ``logstash-*``, rendered from the role's own Jinja file without an Ansible run, for
tests that index Falco alerts the way the role's Fluentd stores them (de-dotted, see ``localcluster.alerts.dedot``)."""

from __future__ import annotations

import json
import os

import jinja2
from ansible.plugins.filter.core import to_nice_json

TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles", "efk", "templates", "index-template.json.j2")


def index_template(prefix: str = "logstash", replicas: int = 1) -> dict:
    """The body Fluentd's ``template_file`` installs as the composable template ``<prefix>``."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["to_nice_json"] = to_nice_json
    with open(TEMPLATE, encoding="utf-8") as handle:
        text = env.from_string(handle.read()).render(efk_fluentd_index_prefix=prefix, efk_elasticsearch_replicas=replicas)
    return json.loads(text)


def install(es, auth: str, prefix: str = "logstash") -> None:
    """PUT the template into an Elasticsearch emulator (``localcluster.elasticsearch.Elasticsearch``) as Fluentd does."""
    answer = es.handle("PUT", "/_index_template/" + prefix, {"Content-Type": "application/json", "Authorization": auth},
                       json.dumps(index_template(prefix)).encode())
    assert answer.status == 200, answer.body
