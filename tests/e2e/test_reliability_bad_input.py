"""Malformed input to every module and role fails at once, with a message naming the input, and writes nothing.

Every case of tests/e2e/playbooks/bad_input.yml runs in one ansible-playbook run against one local cluster (with the
Elasticsearch and Kibana emulators): each is a block whose rescue records the failure message under the case's id. The
tests then hold each message to its fragments, and the cluster's and Kibana's request logs to no write at all. The
``unit`` cases call the pure checks in module_utils directly.

The catalogue, one row per case: (id, the bad input, fragments the message must hold). A fragment list names the input
(the option or variable, the object), says what is wrong and how to fix it.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import api_versions, falco_rules, preflight, saved_objects

BAD_INPUT = "tests/e2e/playbooks/bad_input.yml"
WRONG_PASSWORD = "not-the-password"
WRONG_TOKEN = "expired-or-revoked-token"
QUANTITY_FIX = "is not a Kubernetes quantity. Write a number with an optional unit"
RULES_FIX = "Fix each item named above and run again"

CASES = [
    # ------------------------------------------------------------------ api_version_patch
    ("avp-src-bad-yaml", "src: a manifest whose flow list is never closed",
     ["src file ", "manifest-bad-yaml.yaml: not valid YAML at line 7, column 3", "Fix the YAML there"]),
    ("avp-inline-bad-yaml", "definitions: YAML text with an unclosed list",
     ["definitions: not valid YAML at line 4, column 1", "Fix the YAML there"]),
    ("avp-unknown-kind", "kind LogPipeline (logging.example.com/v1), served by no API of the cluster",
     ["LogPipeline logging/falco: logging.example.com/v1 is not served by this cluster", "install the CustomResourceDefinition"]),
    ("avp-missing-kind", "an object without kind",
     ["definitions[0] (logging/fluentd-es) has no kind", "every definition needs apiVersion, kind and metadata.name"]),
    ("avp-not-an-object", "definitions: 42",
     ["definitions: 42 is not a Kubernetes object. Give a list of objects, one object, or YAML text"]),
    ("avp-release-banana", "kubernetes_version: banana",
     ["Kubernetes release 'banana' is not a version like 1.30", "pass the server's gitVersion"]),
    ("avp-release-outside-table", "kubernetes_version: 2.0",
     ["Kubernetes release 2.0 is outside the releases this table covers (1.8 to", "use the versions the cluster's discovery"]),
    ("avp-kind-not-served-by-target", "a scheduling.k8s.io/v1 PriorityClass for kubernetes_version 1.8",
     ["PriorityClass seclog-falco: scheduling.k8s.io/v1 is not served by Kubernetes 1.8", "Use a Kubernetes release that serves"]),
    # ------------------------------------------------------------------ cluster_preflight: connection and thresholds
    ("preflight-missing-kubeconfig", "kubeconfig: a path that does not exist",
     ["kubeconfig", "does not exist. Point it at your cluster's kubeconfig file"]),
    ("preflight-garbage-kubeconfig", "kubeconfig: a file that is not YAML",
     ["Could not load the Kubernetes configuration", "line 2, column 1", "Check kubeconfig/context"]),
    ("preflight-wrong-context", "context: production, which the kubeconfig lacks",
     ["Expected object with name production", "contexts list", "Check kubeconfig/context"]),
    ("preflight-bad-token", "a kubeconfig whose token the cluster does not know (the API server answers 401)",
     ["(401): Unauthorized", "The credentials were refused: check the token or client certificate in the kubeconfig"]),
    ("preflight-min-cpu-two", "es_min_cpu: two",
     ["es_min_cpu: 'two' is not a CPU quantity (examples: 2, 1500m)", "Set it to what an Elasticsearch pod requests"]),
    ("preflight-replicas-zero", "es_replicas: 0", ["es_replicas: 0 is not a count. Give 1 or more."]),
    ("preflight-namespace-not-dns", "namespace: Logging_NS",
     ["namespace: 'Logging_NS' is not a namespace name, which must be a DNS label", "Use a name such as logging"]),
    # ------------------------------------------------------------------ elasticsearch_health
    ("es-health-url-no-scheme", "es_url: elasticsearch-logging:9200",
     ["Invalid es_url: elasticsearch-logging:9200 is not an http:// or https:// URL"]),
    ("es-health-url-ftp", "es_url: ftp://127.0.0.1:9200", ["Invalid es_url: ftp://127.0.0.1:9200 is not an http:// or https:// URL"]),
    ("es-health-scheme-choice", "es_scheme: tls", ["value of es_scheme must be one of: http, https, got: tls"]),
    ("es-health-status-choice", "status: purple", ["value of status must be one of: green, yellow, got: purple"]),
    ("es-health-timeout-zero", "timeout: 0", ["timeout must be 1 second or more (got 0)"]),
    ("es-health-port-out-of-range", "es_port: 92000", ["es_port must be a port number, 1 to 65535 (got 92000)"]),
    # ------------------------------------------------------------------ kibana_status, kibana_saved_object, falco_alerts_info
    ("kibana-status-timeout-negative", "timeout: -5", ["timeout must be 1 second or more (got -5)"]),
    ("kibana-status-timeout-words", "timeout: ten minutes",
     ["argument 'timeout' is of type str and we were unable to convert to int", "ten minutes"]),
    ("kso-wrong-password", "kibana_password wrong, against the Kibana emulator",
     ["Could not read Kibana's version", "(HTTP 401)", "Give kibana_password of kibana_username",
      "Secret elasticsearch-logging-elastic"]),
    ("kso-space-invalid", "space: Security Team", ["space 'Security Team' is not a Kibana space id (lower case a-z, 0-9, '_' and '-')"]),
    ("kso-no-attributes", "state present without attributes", ["state is present but all of the following are missing: attributes"]),
    ("kso-reference-without-id", "a reference without id", ["missing required arguments: id found in references"]),
    ("alerts-since-words", "since: yesterday", ["since must be one Elasticsearch date math amount such as 15m, 2h or 1d (got yesterday)"]),
    ("alerts-wrong-password", "kibana_password wrong",
     ["falco_alerts_info via kibana", "(HTTP 401)", "Give kibana_password of kibana_username"]),
    # ------------------------------------------------------------------ falco_rules
    ("rules-missing-condition", "a new rule without condition",
     ["inline rules, item 1 (rule 'Shell in prod'): missing condition", "A new rule needs desc, condition, output and priority", RULES_FIX]),
    ("rules-priority-typo", "priority: SEVERE",
     ["inline rules, item 1 (rule 'Shell in prod'): priority 'SEVERE' is not one of emergency, alert", RULES_FIX]),
    ("rules-file-not-yaml", "a rules file with a tab and an unclosed quote",
     ["rules-not-yaml.yaml: not valid YAML at line 2, column 1", "Fix the YAML there", RULES_FIX]),
    ("rules-file-mapping", "a rules file holding one mapping",
     ["rules-mapping.yaml: is a mapping, not a list", "A rules file is a YAML list of items", RULES_FIX]),
    ("rules-file-missing", "a rules file that does not exist",
     ["no-such-rules.yaml: could not be read (No such file or directory). Check the path", RULES_FIX]),
    # ------------------------------------------------------------------ role prerequisites
    ("prerequisites-fail-on-sometimes", "prerequisites_fail_on: sometimes",
     ["value of prerequisites_fail_on must be one of: error, warning, never, got: sometimes"]),
    ("prerequisites-replicas-three", "prerequisites_es_replicas: three",
     ["argument 'prerequisites_es_replicas' is of type str and we were unable to convert to int"]),
    ("prerequisites-min-memory-lots", "prerequisites_es_min_memory: lots",
     ["prerequisites_es_min_memory: lots " + QUANTITY_FIX, "7.5Gi", "This stage has written nothing"]),
    # ------------------------------------------------------------------ role efk
    ("efk-replicas-three-words", "efk_elasticsearch_replicas: three",
     ["argument 'efk_elasticsearch_replicas' is of type str and we were unable to convert to int"]),
    ("efk-replicas-two", "efk_elasticsearch_replicas: 2",
     ["efk_elasticsearch_replicas must be 1, or 3 or more (2 master-eligible nodes cannot survive losing one), got 2",
      "This stage has written nothing"]),
    ("efk-version-7.10", "efk_elasticsearch_version: 7.10.2",
     ["efk_elasticsearch_version: 7.10.2 is not 7.17.x or 8.x, the versions this collection deploys and checks",
      "Set it to 8.19.10 (the default) or 7.17.29."]),
    ("efk-version-banana", "efk_elasticsearch_version: banana",
     ["efk_elasticsearch_version must look like 8.19.10 (7.17.x or 8.x, three numbers and nothing else), got banana"]),
    ("efk-kibana-version-mismatch", "efk_kibana_image_tag: 7.17.29 beside Elasticsearch 8.19.10",
     ["efk_kibana_image_tag: 7.17.29 is not efk_elasticsearch_version 8.19.10", "Leave efk_kibana_image_tag unset"]),
    ("efk-namespace-not-dns", "efk_namespace: Logging_NS",
     ["efk_namespace: Logging_NS is not a DNS label", "Use a name such as logging", "This stage has written nothing"]),
    ("efk-storage-size-lots", "efk_elasticsearch_storage_size: lots", ["efk_elasticsearch_storage_size: lots " + QUANTITY_FIX, "30Gi"]),
    ("efk-memory-words", "efk_elasticsearch_memory: four gigs",
     ["efk_elasticsearch_memory must be a whole number of Mi or Gi (e.g. 4Gi), got four gigs"]),
    ("efk-fluentd-memory-mb", "efk_fluentd_memory_limit: 512MB", ["efk_fluentd_memory_limit: 512MB " + QUANTITY_FIX, "512Mi"]),
    ("efk-cpu-words", "efk_kibana_cpu_request: half a core", ["efk_kibana_cpu_request: half a core " + QUANTITY_FIX, "500m for CPU"]),
    ("efk-wait-timeout-zero", "efk_wait_timeout: 0",
     ["efk_wait_timeout: 0 seconds leaves no time to wait. Give 1 or more (600 by default), or efk_wait: false"]),
    ("efk-state-typo", "efk_state: installed", ["value of efk_state must be one of: present, absent, got: installed"]),
    # ------------------------------------------------------------------ role falco
    ("falco-driver-ebpf2", "falco_driver: ebpf2", ["value of falco_driver must be one of: modern_ebpf, kmod, auto, got: ebpf2"]),
    ("falco-rules-missing-condition", "falco_rules: a new rule without condition",
     ["falco_rules, item 1 (rule 'Shell in prod'): missing condition", RULES_FIX]),
    ("falco-rules-file-not-yaml", "falco_rules_files: a file that is not YAML", ["rules-not-yaml.yaml: not valid YAML at line 2", RULES_FIX]),
    ("falco-rules-mapping", "falco_rules: one mapping instead of a list of items",
     ["falco_rules: must be a list of items or YAML text of a list, not a mapping", RULES_FIX]),
    ("falco-wait-timeout-negative", "falco_wait_timeout: -1",
     ["falco_wait_timeout: -1 seconds leaves no time to wait. Give 1 or more", "This stage has written nothing"]),
    ("falco-memory-lots", "falco_memory_limit: lots", ["falco_memory_limit: lots " + QUANTITY_FIX, "512Mi"]),
    ("falco-namespace-not-dns", "falco_namespace: Falco_NS", ["falco_namespace: Falco_NS is not a DNS label", "Use a name such as falco"]),
    # ------------------------------------------------------------------ role kibana_dashboards
    ("dashboards-wrong-password", "kibana_dashboards_password wrong (kibana_dashboards_url: the emulator)",
     ["Kibana refused the status request", "(HTTP 401)", "Give kibana_dashboards_password of kibana_dashboards_username"]),
    ("dashboards-spec-unknown-kind", "kibana_dashboards_spec: a visualization of kind radar",
     ["kibana_dashboards_spec: it has 1 problem(s): visualizations[0] (seclog-falco-rules-radar): kind 'radar' is not one of area,",
      "Fix those entries", "This stage has written nothing"]),
    ("dashboards-spec-unknown-field", "kibana_dashboards_spec: a visualization with colour: red",
     ["kibana_dashboards_spec: it has 1 problem(s): visualizations[0] (seclog-falco-top-rules-pie): unknown option 'colour'; known: id,"]),
    ("dashboards-timeout-zero", "kibana_dashboards_wait_timeout: 0",
     ["kibana_dashboards_wait_timeout: 0 seconds leaves no time to wait for Kibana. Give 1 or more (600 by default)."]),
]

# The pure checks behind some of the cases above, called directly: (id, the call, fragments of the error).
UNIT_CASES = [
    ("unit-release-too-old", lambda: api_versions.served_by_release("1.7"), ["Kubernetes release 1.7 is outside the releases"]),
    ("unit-memory-quantity", lambda: preflight.memory_mib("lots"), ["'lots' is not a memory quantity (examples: 7.5Gi, 7680Mi, 8G)"]),
    ("unit-kibana-version", lambda: saved_objects.dialect("7.10.2"), ["Kibana 7.10.2 is older than 7.17", "falco_efk_stage_kibana_dashboards"]),
    ("unit-spec-interval", lambda: _raise(saved_objects.validate_spec(dict(saved_objects.DEFAULT_SPEC, visualizations=[
        {"id": "x", "title": "X", "kind": "area", "field": "@timestamp", "interval": "fortnight"}]))),
     ["visualizations[0] (x)", "interval 'fortnight'"]),
    ("unit-rules-list-without-items", lambda: _raise(falco_rules.assemble([{"list": "shells"}], [])[3]),
     ["inline rules, item 1 (list 'shells')", "items"]),
]


def _raise(problems):
    if problems:
        raise ValueError(" ".join(problems))


def _kibana_writes(cluster) -> list[dict]:
    """What Kibana was asked to write (logins, and searches through its console, are not writes)."""
    return [r for r in list(cluster.cluster.stack.kibana_hooks.requests) if r["method"] in ("POST", "PUT", "DELETE")
            and "/internal/security/" not in r["path"] and "/api/security/" not in r["path"] and r["path"] != "/api/console/proxy"]


def _bad_files(directory, cluster) -> None:
    """The broken files the cases read: manifests and rules that are not YAML, a rules mapping, kubeconfigs that do not work."""
    with open(cluster.kubeconfig, encoding="utf-8") as handle:
        config = json.load(handle)
    config["users"][0]["user"]["token"] = WRONG_TOKEN
    files = {
        "kubeconfig-bad-token": json.dumps(config),
        "kubeconfig-garbage": "this is not a kubeconfig: [\n",
        "manifest-bad-yaml.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: elasticsearch-logging\nspec:\n"
                                  "  ports: [{port: 9200, targetPort: db}\n  selector:\n    k8s-app: elasticsearch-logging\n",
        "rules-not-yaml.yaml": '- rule: Shell in container\n\tdesc: "A shell was spawned\n  condition: spawned_process and container\n',
        "rules-mapping.yaml": "rule: Shell in container\ndesc: A shell.\ncondition: spawned_process\noutput: shell\npriority: WARNING\n",
    }
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            handle.write(text)


_RUNS: dict[str, dict] = {}


@pytest.fixture(name="outcome")
def outcome_fixture(localcluster, playbook, tmp_path_factory):
    """The one run of the playbook for this cluster: messages by case id, the writes it made, the run itself (cached)."""
    if localcluster.url not in _RUNS:
        directory = tmp_path_factory.mktemp("bad_input")
        _bad_files(str(directory), localcluster)
        localcluster.clear_requests()
        localcluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})
        started = time.monotonic()
        run = playbook(BAD_INPUT, localcluster.kubeconfig, bad_input_out=str(directory / "messages.json"), bad_input_dir=str(directory),
                       bad_input_kibana_url=localcluster.endpoints["kibana"]["url"], bad_input_kibana_password=WRONG_PASSWORD)
        seconds = time.monotonic() - started
        assert run.rc == 0, run
        with open(directory / "messages.json", encoding="utf-8") as handle:
            messages = json.load(handle)
        _RUNS[localcluster.url] = {"messages": messages, "writes": localcluster.writes(), "kibana_writes": _kibana_writes(localcluster),
                                   "run": run, "seconds": seconds}
    return _RUNS[localcluster.url]


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.parametrize("case, given, fragments", CASES, ids=[case[0] for case in CASES])
def test_bad_input_fails_with_a_message_naming_it(outcome, case, given, fragments):
    message = outcome["messages"].get(case)
    assert message is not None, "%s (%s) did not fail" % (case, given)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, "%s (%s): %r lacks %r" % (case, given, message, missing)
    assert "Traceback" not in message and "Exception" not in message


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_no_case_wrote_to_the_cluster_or_to_kibana_nor_showed_a_secret(outcome):
    assert outcome["writes"] == []
    assert outcome["kibana_writes"] == []
    assert WRONG_PASSWORD not in outcome["run"].out and WRONG_TOKEN not in outcome["run"].out
    assert sorted(outcome["messages"]) == sorted(case[0] for case in CASES), "the playbook and the table list the same cases"


@pytest.mark.parametrize("case, call, fragments", UNIT_CASES, ids=[case[0] for case in UNIT_CASES])
def test_pure_checks_name_the_bad_input(case, call, fragments):
    with pytest.raises(ValueError) as raised:
        call()
    missing = [fragment for fragment in fragments if fragment not in str(raised.value)]
    assert not missing, "%s: %r lacks %r" % (case, str(raised.value), missing)
