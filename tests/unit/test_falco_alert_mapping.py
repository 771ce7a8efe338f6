"""Falco's alerts reach Elasticsearch whole: every alert of the sample set (tests/fixtures/falco-alerts.yml, every output field
of the rulesets Falco ships and the shapes real alerts take) is indexed on Elasticsearch 7.17 and 8.x as the efk role's
Fluentd stores it, de-dotted under the role's index template. Stored with their dots, as the 0.1.0 Fluentd sent them,
alerts whose field names are prefixes of each other are rejected, with Elasticsearch's own error.
"""

from __future__ import annotations

import base64
import json
import os
import re

import pytest
import yaml

import efk_template
from localcluster.alerts import dedot
from localcluster.elasticsearch import Elasticsearch

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "falco-alerts.yml")
SAMPLES = yaml.safe_load(open(FIXTURE, encoding="utf-8"))  # pylint: disable=consider-using-with
PROFILES = ["7.17", "8"]
ADMIN = "Basic " + base64.b64encode(b"elastic:changeme").decode()
INDEX = "logstash-2026.12.07"
# The efk role's index template before this release: only string values of output_fields were keyword.
OLD_TEMPLATE = {"index_patterns": ["logstash-*"], "priority": 200, "template": {"mappings": {
    "dynamic_templates": [{"falco_output_fields": {"path_match": "output_fields.*", "match_mapping_type": "string",
                                                   "mapping": {"type": "keyword", "ignore_above": 1024}}}]}}}


def _value(field, seq):
    """A value of the field's JSON type, as Falco's formatter writes it (the fixture's ``numeric`` fields are numbers)."""
    if field in SAMPLES["numeric"]:
        return 1796637600000000000 + seq if field == "evt.time" else seq
    return "%s-%d" % (field, seq)


def ruleset_alerts():
    """One alert per ruleset carrying every field its rules print, and what Falco appends to each."""
    out = []
    for seq, (ruleset, fields) in enumerate(sorted(SAMPLES["rulesets"].items()), start=10):
        names = list(fields) + [f for f in SAMPLES["appended"] if f not in fields]
        out.append({"hostname": "node-1", "output": "every field of " + ruleset, "priority": "Notice", "rule": "Every field of " + ruleset,
                    "source": "syscall", "tags": [ruleset], "time": "2026-12-07T10:00:%02d.000000000Z" % seq,
                    "output_fields": {name: _value(name, seq) for name in names}})
    return out


def sample_alerts():
    return [sample["alert"] for sample in SAMPLES["alerts"]] + ruleset_alerts()


def record(alert):
    """Falco's stdout line as Fluentd ships it: the JSON's keys at the top beside the line and the pod's metadata."""
    line = json.dumps(alert, separators=(",", ":"))
    meta = {"container_name": "falco", "namespace_name": "falco", "pod_name": "falco-8x2kq", "host": alert["hostname"]}
    return dict(alert, log=line, stream="stdout", kubernetes=meta, **{"@timestamp": alert["time"][:23] + "Z"})


def put_template(es, body):
    answer = es.handle("PUT", "/_index_template/logstash", {"Content-Type": "application/json", "Authorization": ADMIN},
                       json.dumps(body).encode())
    assert answer.status == 200, answer.body


def failures(items):
    return [(i, item["index"]["status"], item["index"]["error"]) for i, item in enumerate(items) if "error" in item["index"]]


def test_the_sample_set_has_the_collisions_it_is_for():
    """The samples hold field names of which one is another's prefix (within one alert and across alerts)."""
    names = sorted({f for alert in sample_alerts() for f in alert["output_fields"]})
    prefixes = {(a, b) for a in names for b in names if b.startswith(a + ".")}
    assert {("container.image", "container.image.repository"), ("evt.time", "evt.time.iso8601"), ("fd.sip", "fd.sip.name"),
            ("fd.rip", "fd.rip.name")} <= prefixes


@pytest.mark.parametrize("profile", PROFILES)
def test_every_sample_alert_is_indexed_as_the_efk_role_stores_it(profile):
    es = Elasticsearch(profile)
    efk_template.install(es, ADMIN)
    alerts = sample_alerts()
    items = es.index_documents(INDEX, [dedot(record(a)) for a in alerts])
    assert failures(items) == []
    assert es.count(INDEX) == len(alerts)
    caps = es.field_caps(INDEX)
    # Every output field, whatever its JSON type, is one aggregatable keyword: no later alert can meet a type it does not fit.
    fields = {k: v for k, v in caps.items() if k.startswith("output_fields.")}
    assert {v["type"] for v in fields.values()} == {"keyword"} and all(v["aggregatable"] for v in fields.values())
    for name in ("k8s_pod_name", "container_image", "container_image_repository", "evt_time", "evt_time_iso8601", "fd_sip",
                 "fd_sip_name", "proc_aname[7]", "evt_failed", "k8s_pod_labels", "user_uid"):
        assert "output_fields." + name in fields, name


@pytest.mark.parametrize("profile", PROFILES)
def test_de_dotted_alerts_also_fit_an_index_mapped_before_the_template(profile):
    """A logstash-* index Elasticsearch mapped dynamically (made before the template): de-dotting alone keeps every alert."""
    es = Elasticsearch(profile)
    items = es.index_documents(INDEX, [dedot(record(a)) for a in sample_alerts()])
    assert failures(items) == []
    assert es.field_caps(INDEX)["output_fields.k8s_pod_name.keyword"]["aggregatable"]


# With their dots, as 0.1.0's Fluentd stored them: each alert Elasticsearch rejects, and why (in the sample set's order).
REJECTED = {
    # The first sample mapped output_fields.container.image as an object (for .repository and .tag).
    "Read sensitive file untrusted": "object mapping for [output_fields.container.image] tried to parse field [container.image] as "
                                     "object, but found a concrete value",
    # evt.time first, evt.time.iso8601 after it in the same alert.
    "Terminal shell in container": "Could not dynamically add mapping for field [evt.time.iso8601]. Existing mapping for "
                                   "[output_fields.evt.time] must be of type object but found [{evt_time}].",
    # The incubating ruleset's fd.rip.name and fd.sip.name came first: the other rulesets' fd.rip and fd.sip cannot follow.
    "Every field of falco-sandbox_rules-6.1.0": "object mapping for [output_fields.fd.rip] tried to parse field [fd.rip] as object, "
                                                "but found a concrete value",
    "Every field of falco_rules-5.1.0": "object mapping for [output_fields.fd.sip] tried to parse field [fd.sip] as object, but found "
                                        "a concrete value",
}


@pytest.mark.parametrize("profile,kind", [("7.17", "mapper_parsing_exception"), ("8", "document_parsing_exception")])
@pytest.mark.parametrize("template,evt_time", [("0.1.0", "long"), ("current", "keyword")])
def test_alerts_stored_with_their_dots_are_rejected_as_elasticsearch_rejects_them(profile, kind, template, evt_time):
    es = Elasticsearch(profile)
    put_template(es, OLD_TEMPLATE if template == "0.1.0" else efk_template.index_template())
    alerts = sample_alerts()
    items = es.index_documents(INDEX, [record(a) for a in alerts])
    found = {}
    for i, status, error in failures(items):
        assert (status, error["type"]) == (400, kind)
        # 8.x puts where in the document it stopped ([line:column]) before the reason.
        found[alerts[i]["rule"]] = re.sub(r"^\[1:[0-9]+\] ", "", error["reason"]) if profile == "8" else error["reason"]
        assert error["reason"].startswith("[1:") is (profile == "8")
    assert found == {rule: reason.format(evt_time=evt_time) for rule, reason in REJECTED.items()}
    assert es.count(INDEX) == len(alerts) - len(REJECTED)


@pytest.mark.parametrize("profile", PROFILES)
def test_one_alert_whose_own_fields_collide_is_rejected_alone(profile):
    """container.image then container.image.repository in one alert, on an empty index."""
    es = Elasticsearch(profile)
    efk_template.install(es, ADMIN)
    alert = SAMPLES["alerts"][1]["alert"]
    (_i, status, error), = failures(es.index_documents(INDEX, [record(alert)]))
    assert status == 400 and error["reason"].endswith(
        "Could not dynamically add mapping for field [container.image.repository]. Existing mapping for [output_fields.container.image] "
        "must be of type object but found [keyword].")
    assert failures(es.index_documents(INDEX, [dedot(record(alert))])) == []
