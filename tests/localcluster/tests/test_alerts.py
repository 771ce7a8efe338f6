"""Tests for localcluster.alerts: Falco alerts as Fluentd stores them in Elasticsearch."""

import copy
import dataclasses
import datetime
import json
import re
from collections import Counter

import pytest

from localcluster.alerts import (CONTAINER_SUGGESTED_OUTPUT, RULES, RULES_BY_NAME, AlertStream, FalcoPod, Workload,
                                 falco_time, index_name, logstash_timestamp, output_fields_of, qualified_image,
                                 render_output)

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z
HOUR = 3600.0
GEN_NODE = "gke-cluster-pool-1-a"
QUIET_NODE = "gke-cluster-pool-1-b"


def falco_pod(node: str, index: int = 0) -> FalcoPod:
    """A ready Falco pod on ``node`` as the chart's DaemonSet creates it."""
    return FalcoPod(node=node, pod_name=f"falco-{index:05d}", namespace="falco", pod_uid=f"0b5c7c5e-0000-4000-8000-{index:012d}",
                    container_id="containerd://" + f"{index:x}" * 64,
                    labels={"app.kubernetes.io/name": "falco", "app.kubernetes.io/instance": "falco", "pod-template-generation": "1"},
                    image="falcosecurity/falco:0.41.3")


PODS = [falco_pod(GEN_NODE, 1), falco_pod(QUIET_NODE, 2)]
GENERATOR = Workload(pod_name="event-generator-5b7d9c6f4-x2x9k", namespace="event-generator", container_name="event-generator",
                     image_repository="docker.io/falcosecurity/event-generator", image_tag="latest", container_id="e" * 64,
                     process="event-generator", cmdline="event-generator run syscall --loop", exepath="/bin/event-generator")


@pytest.fixture(name="hour_of_alerts", scope="module")
def fixture_hour_of_alerts() -> list:
    """One hour on a two-node cluster with the event generator on one node."""
    return AlertStream(seed=7).alerts(PODS, T0, T0 + HOUR, frozenset({GEN_NODE}), generators={GEN_NODE: GENERATOR})


def test_document_has_exactly_the_fluentd_record_keys(hour_of_alerts):
    expected = {"stream", "log", "docker", "kubernetes", "hostname", "output", "output_fields", "priority", "rule", "source",
                "tags", "time", "@timestamp"}
    assert {frozenset(doc) for doc in hour_of_alerts} == {frozenset(expected)}


def test_log_is_falco_json_line_with_sorted_keys_and_top_level_keys_lifted_from_it(hour_of_alerts):
    for doc in hour_of_alerts[:50]:
        falco = json.loads(doc["log"])
        assert list(falco) == ["hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"]
        assert doc["log"] == json.dumps(falco, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert "\n" not in doc["log"]
        for key, value in falco.items():
            assert doc[key] == value


def test_kubernetes_metadata_names_the_falco_container_as_the_filter_does(hour_of_alerts):
    doc = next(doc for doc in hour_of_alerts if doc["hostname"] == GEN_NODE)
    assert doc["kubernetes"] == {
        "container_name": "falco",
        "namespace_name": "falco",
        "pod_name": "falco-00001",
        "pod_id": "0b5c7c5e-0000-4000-8000-000000000001",
        "host": GEN_NODE,
        "container_image": "docker.io/falcosecurity/falco:0.41.3",
        "container_image_id": doc["kubernetes"]["container_image_id"],
        "labels": {"app_kubernetes_io/name": "falco", "app_kubernetes_io/instance": "falco", "pod-template-generation": "1"},
        "master_url": "https://10.96.0.1:443/api",
    }
    assert re.fullmatch(r"docker\.io/falcosecurity/falco@sha256:[0-9a-f]{64}", doc["kubernetes"]["container_image_id"])


def test_docker_container_id_is_the_bare_id_from_the_log_file_name(hour_of_alerts):
    doc = next(doc for doc in hour_of_alerts if doc["hostname"] == GEN_NODE)
    assert doc["docker"] == {"container_id": "1" * 64}
    assert doc["stream"] == "stdout"


@pytest.mark.parametrize("extra, key, value", [
    ({"namespace_uid": "ns-uid"}, "namespace_id", "ns-uid"),
    ({"pod_ip": "10.244.1.9"}, "pod_ip", "10.244.1.9"),
    ({"image_id": "docker.io/falcosecurity/falco@sha256:" + "0" * 64}, "container_image_id", "docker.io/falcosecurity/falco@sha256:" + "0" * 64),
])
def test_optional_pod_metadata_appears_only_when_known(extra, key, value):
    base = falco_pod(GEN_NODE, 3)
    pod = dataclasses.replace(base, **extra)
    stream = AlertStream(seed=1)
    with_it = stream.alerts([pod], T0, T0 + HOUR, frozenset({GEN_NODE}))[0]["kubernetes"]
    without = stream.alerts([base], T0, T0 + HOUR, frozenset({GEN_NODE}))[0]["kubernetes"]
    assert with_it[key] == value
    assert without.get(key) != value


def test_skip_master_url_leaves_it_out():
    doc = AlertStream(seed=1, master_url=None).alerts(PODS[:1], T0, T0 + HOUR, frozenset({GEN_NODE}))[0]
    assert "master_url" not in doc["kubernetes"]


def test_hostname_is_the_node_name_and_source_is_syscall(hour_of_alerts):
    assert {doc["hostname"] for doc in hour_of_alerts} == {GEN_NODE, QUIET_NODE}
    assert all(doc["hostname"] == doc["kubernetes"]["host"] for doc in hour_of_alerts)
    assert {doc["source"] for doc in hour_of_alerts} == {"syscall"}


def test_times_agree_across_falco_fields_and_timestamp(hour_of_alerts):
    for doc in hour_of_alerts[:200]:
        ns = doc["output_fields"]["evt.time"]
        assert isinstance(ns, int)
        assert doc["time"] == falco_time(ns)
        assert doc["@timestamp"] == logstash_timestamp(ns)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", doc["time"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00", doc["@timestamp"])
        assert doc["output"].startswith(f"{doc['time'][11:29]}: {doc['priority']} ")


def test_output_is_the_rule_template_rendered_with_the_output_fields(hour_of_alerts):
    for doc in hour_of_alerts[:300]:
        rule = RULES_BY_NAME[doc["rule"]]
        text = render_output(rule.output + CONTAINER_SUGGESTED_OUTPUT, doc["output_fields"])
        assert doc["output"] == f"{doc['time'][11:29]}: {doc['priority']} {text}"
        assert set(doc["output_fields"]) == set(output_fields_of(rule.output + CONTAINER_SUGGESTED_OUTPUT)) | {"evt.time"}


def test_tags_are_the_rule_tags_sorted_as_falco_prints_them(hour_of_alerts):
    for doc in hour_of_alerts[:100]:
        assert doc["tags"] == sorted(RULES_BY_NAME[doc["rule"]].tags)


def test_generator_alerts_name_the_generator_pod(hour_of_alerts):
    on_gen = [doc for doc in hour_of_alerts if doc["hostname"] == GEN_NODE]
    pods = Counter(doc["output_fields"]["k8s.pod.name"] for doc in on_gen)
    assert pods.most_common(1)[0][0] == GENERATOR.pod_name
    generated = [doc for doc in on_gen if doc["output_fields"]["k8s.pod.name"] == GENERATOR.pod_name]
    assert {doc["output_fields"]["container.id"] for doc in generated} == {"e" * 12}
    assert {doc["output_fields"]["container.image.repository"] for doc in generated} == {"docker.io/falcosecurity/event-generator"}


def test_generator_rules_fire_only_on_generator_nodes(hour_of_alerts):
    generator_only = {rule.name for rule in RULES if rule.weight_generator > 0 and rule.weight_background == 0}
    quiet = [doc for doc in hour_of_alerts if doc["hostname"] == QUIET_NODE]
    assert not {doc["rule"] for doc in quiet} & generator_only
    assert all(doc["output_fields"]["k8s.pod.name"] != GENERATOR.pod_name for doc in quiet)
    busy = {doc["rule"] for doc in hour_of_alerts if doc["hostname"] == GEN_NODE}
    assert generator_only <= busy


def test_generator_rate_is_about_2800_per_hour():
    docs = AlertStream(seed=3).alerts(PODS[:1], T0, T0 + 3 * HOUR, frozenset({GEN_NODE}))
    assert 3 * 2800 * 0.95 < len(docs) < 3 * 2800 * 1.05


def test_background_rate_is_a_few_per_hour_and_mostly_notice():
    docs = AlertStream(seed=4).alerts(PODS[1:], T0, T0 + 100 * HOUR)
    assert 200 < len(docs) < 400
    priorities = Counter(doc["priority"] for doc in docs)
    assert priorities["Notice"] > 0.7 * len(docs)
    assert Counter(doc["rule"] for doc in docs).most_common(1)[0][0] == "Contact K8S API Server From Container"


def test_generator_on_a_node_without_ready_falco_is_not_seen():
    docs = AlertStream(seed=5).alerts(PODS[1:], T0, T0 + HOUR, frozenset({GEN_NODE}))
    assert len(docs) < 20
    assert all(doc["hostname"] == QUIET_NODE for doc in docs)


@pytest.mark.parametrize("pods, start, end", [([], T0, T0 + 24 * HOUR), (PODS, T0, T0), (PODS, T0 + HOUR, T0)])
def test_no_pods_or_empty_window_gives_no_alerts(pods, start, end):
    assert not AlertStream(seed=6).alerts(pods, start, end, frozenset({GEN_NODE, QUIET_NODE}))


def test_speed_multiplies_the_rate():
    stream = AlertStream(seed=8)
    normal = stream.alerts(PODS[:1], T0, T0 + 600, frozenset({GEN_NODE}))
    fast = stream.alerts(PODS[:1], T0, T0 + 600, frozenset({GEN_NODE}), speed=10.0)
    assert 8 * len(normal) < len(fast) < 12 * len(normal)


def test_same_seed_pods_and_window_give_the_same_documents():
    first = AlertStream(seed=9).alerts(PODS, T0, T0 + 900, frozenset({GEN_NODE}))
    again = AlertStream(seed=9).alerts(PODS, T0, T0 + 900, frozenset({GEN_NODE}))
    other = AlertStream(seed=10).alerts(PODS, T0, T0 + 900, frozenset({GEN_NODE}))
    assert first == again
    assert first != other


@pytest.mark.parametrize("cut", [T0 + 0.5, T0 + 60, T0 + 61.123456789, T0 + 1799.999])
def test_consecutive_windows_add_up_to_the_whole(cut):
    stream = AlertStream(seed=11)
    whole = stream.alerts(PODS, T0, T0 + 1800, frozenset({GEN_NODE}))
    parts = stream.alerts(PODS, T0, cut, frozenset({GEN_NODE})) + stream.alerts(PODS, cut, T0 + 1800, frozenset({GEN_NODE}))
    assert parts == whole


def test_documents_are_in_time_order_and_inside_the_window():
    start, end = T0 + 17.25, T0 + 917.75
    docs = AlertStream(seed=12).alerts(PODS, start, end, frozenset({GEN_NODE}))
    times = [doc["output_fields"]["evt.time"] for doc in docs]
    assert times == sorted(times)
    assert start * 1e9 - 1e3 <= times[0] and times[-1] < end * 1e9 + 1e3


def test_arguments_are_not_mutated():
    pods = copy.deepcopy(PODS)
    nodes = frozenset({GEN_NODE})
    AlertStream(seed=13).alerts(pods, T0, T0 + 60, nodes, generators={GEN_NODE: GENERATOR})
    assert pods == PODS


@pytest.mark.parametrize("timestamp, expected", [
    (datetime.datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc).timestamp(), "logstash-2026.11.26"),
    (datetime.datetime(2026, 11, 27, 0, 0, 0, tzinfo=datetime.timezone.utc).timestamp(), "logstash-2026.11.27"),
    (datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc).timestamp(), "logstash-2026.12.31"),
    (datetime.datetime(2027, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc).timestamp(), "logstash-2027.01.01"),
    (datetime.datetime(2028, 2, 29, 12, 0, 0, tzinfo=datetime.timezone.utc).timestamp(), "logstash-2028.02.29"),
])
def test_index_name_is_the_utc_day(timestamp, expected):
    assert index_name(timestamp) == expected


def test_index_name_takes_a_prefix():
    assert index_name(T0, prefix="kubernetes") == "kubernetes-2026.09.21"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_every_rule_renders_without_leftover_placeholders(rule):
    stream = AlertStream(seed=14, rules=[dataclasses.replace(rule, weight_generator=1.0, weight_background=1.0)])
    docs = stream.alerts(PODS[:1], T0, T0 + 300, frozenset({GEN_NODE}))
    assert docs and {doc["rule"] for doc in docs} == {rule.name}
    for doc in docs[:5]:
        assert "%" not in doc["output"]
        assert doc["output"].count(" | ") >= 1


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_table_is_consistent(rule):
    assert rule.fields == output_fields_of(rule.output)
    assert rule.priority in {"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}
    assert rule.source == "syscall"
    assert any(tag.startswith("maturity_") for tag in rule.tags)
    assert any(re.fullmatch(r"T[A]?\d{4}(\.\d{3})?", tag) for tag in rule.tags)


def test_incubating_rules_never_fire_with_the_default_rules_file():
    docs = AlertStream(seed=15).alerts(PODS, T0, T0 + 2 * HOUR, frozenset({GEN_NODE}))
    incubating = {rule.name for rule in RULES if "maturity_incubating" in rule.tags}
    assert incubating and not incubating & {doc["rule"] for doc in docs}


@pytest.mark.parametrize("template, values, expected", [
    ("a=%proc.name b=%proc.aname[2]", {"proc.name": "sh"}, "a=sh b=<NA>"),
    ("uid=%user.loginuid fd_proto=fd.l4proto", {"user.loginuid": -1}, "uid=-1 fd_proto=fd.l4proto"),
])
def test_render_output_prints_missing_values_as_na(template, values, expected):
    assert render_output(template, values) == expected


@pytest.mark.parametrize("image, expected", [
    ("falcosecurity/falco:0.41.3", "docker.io/falcosecurity/falco:0.41.3"),
    ("busybox", "docker.io/library/busybox"),
    ("quay.io/fluentd_elasticsearch/fluentd:v3.1.0", "quay.io/fluentd_elasticsearch/fluentd:v3.1.0"),
    ("localhost:5000/falco:dev", "localhost:5000/falco:dev"),
])
def test_container_image_is_reported_fully_qualified(image, expected):
    assert qualified_image(image) == expected
