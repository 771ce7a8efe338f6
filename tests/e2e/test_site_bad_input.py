"""Bad input through site.yml and teardown.yml, as AWX runs them: refused before the run's first write, naming the variable.

Every case is a host of one inventory, its variables the case's input, and the playbook runs once for all of them (hosts
fail independently, so each one's message is its case's). AWX passes extra vars as text, so the values are text too,
except where a variable is a list or a mapping. The request logs of the cluster and of Kibana must show no write at all,
and each message must name what the user set (not an internal variable), once, without the argument spec.

The catalogue: (id, the variables, fragments the message must hold).
"""

from __future__ import annotations

import json
import re

import pytest
import yaml


SITE = "playbooks/site.yml"
TEARDOWN = "playbooks/teardown.yml"
WRITTEN = "Nothing was written (site.yml and teardown.yml check every enabled stage's inputs before their first write)."
QUANTITY = "is not a Kubernetes quantity"
NOT_A_SERVICE_NAME = "is not a name Kubernetes accepts for a Service"
RESERVED = "is reserved by Kubernetes"
GRANT = {"prerequisites_grant_cluster_admin": "true"}

SITE_CASES = [
    # ------------------------------------------------------------------ the stage switches
    ("switch-falco-nein", {"falco_efk_stage_falco": "nein"}, ["falco_efk_stage_falco: nein is not true or false", "Give true or false"]),
    ("switch-efk-maybe", {"falco_efk_stage_efk": "maybe"}, ["falco_efk_stage_efk: maybe is not true or false"]),
    ("switch-kibana-ja", {"falco_efk_stage_kibana_dashboards": "ja"}, ["falco_efk_stage_kibana_dashboards: ja is not true or false"]),
    # ------------------------------------------------------------------ efk
    ("efk-version-trailing-junk", {"efk_elasticsearch_version": "8.19.3+build!"},
     ["efk_elasticsearch_version must look like 8.19.10", "got 8.19.3+build!"]),
    ("efk-version-latest", {"efk_elasticsearch_version": "latest"}, ["efk_elasticsearch_version must look like 8.19.10", "got latest"]),
    ("efk-version-6", {"efk_elasticsearch_version": "6.8.23"}, ["efk_elasticsearch_version: 6.8.23 is not 7.17.x or 8.x"]),
    ("efk-version-9", {"efk_elasticsearch_version": "9.1.0"}, ["efk_elasticsearch_version: 9.1.0 is not 7.17.x or 8.x"]),
    ("efk-kibana-tag-mismatch", {"efk_kibana_image_tag": "8.18.0"}, ["efk_kibana_image_tag: 8.18.0 is not efk_elasticsearch_version"]),
    ("efk-es-name-upper", {"efk_elasticsearch_name": "ES_Logging"}, ["efk_elasticsearch_name: ES_Logging " + NOT_A_SERVICE_NAME]),
    ("efk-kibana-name-digit", {"efk_kibana_name": "1kibana"}, ["efk_kibana_name: 1kibana " + NOT_A_SERVICE_NAME]),
    ("efk-fluentd-name-long", {"efk_fluentd_name": "f" * 70}, ["efk_fluentd_name: " + "f" * 70 + " " + NOT_A_SERVICE_NAME]),
    ("efk-es-name-53", {"efk_elasticsearch_name": "e" * 53}, ["efk_elasticsearch_name: " + "e" * 53 + " is longer than 52 characters",
                                                              "controller-revision-hash"]),
    ("efk-namespace-kube-public", {"efk_namespace": "kube-public"}, ["efk_namespace: kube-public " + RESERVED]),
    ("efk-namespace-kube-node-lease", {"efk_namespace": "kube-node-lease"}, ["efk_namespace: kube-node-lease " + RESERVED]),
    ("efk-namespace-upper", {"efk_namespace": "Logging"}, ["efk_namespace: Logging is not a DNS label"]),
    ("efk-index-prefix-upper", {"efk_fluentd_index_prefix": "Logstash"},
     ["efk_fluentd_index_prefix: Logstash is not an index name Elasticsearch accepts"]),
    ("efk-index-prefix-underscore", {"efk_fluentd_index_prefix": "_logs"}, ["efk_fluentd_index_prefix: _logs is not an index name"]),
    ("efk-kibana-base-path-no-slash", {"efk_kibana_base_path": "kibana"},
     ["efk_kibana_base_path: kibana is not a base path Kibana starts with", "start with a slash and not end with one"]),
    ("efk-kibana-base-path-trailing-slash", {"efk_kibana_base_path": "/kibana/"}, ["efk_kibana_base_path: /kibana/ is not a base path"]),
    ("efk-heap-over-memory", {"efk_elasticsearch_heap": "8g"},
     ["efk_elasticsearch_heap: 8g does not fit in efk_elasticsearch_memory 4Gi", "at most half of it (2048m)"]),
    ("efk-heap-equal-memory", {"efk_elasticsearch_heap": "4096m"}, ["efk_elasticsearch_heap: 4096m does not fit"]),
    ("efk-heap-words", {"efk_elasticsearch_heap": "lots"}, ["efk_elasticsearch_heap must look like 2g or 2048m, got lots"]),
    ("efk-memory-tiny", {"efk_elasticsearch_memory": "512Mi"}, ["efk_elasticsearch_memory: 512Mi is less than 1Gi"]),
    ("efk-storage-zero", {"efk_elasticsearch_storage_size": "0"}, ["efk_elasticsearch_storage_size: 0 is outside 1Gi to 64Ti"]),
    ("efk-storage-exabyte", {"efk_elasticsearch_storage_size": "1Ei"}, ["efk_elasticsearch_storage_size: 1Ei is outside 1Gi to 64Ti"]),
    ("efk-storage-tiny", {"efk_elasticsearch_storage_size": "100Mi"}, ["efk_elasticsearch_storage_size: 100Mi is outside 1Gi to 64Ti"]),
    ("efk-storage-words", {"efk_elasticsearch_storage_size": "big"}, ["efk_elasticsearch_storage_size: big " + QUANTITY]),
    ("efk-replicas-words", {"efk_elasticsearch_replicas": "three"}, ["argument 'efk_elasticsearch_replicas' is of type str"]),
    ("efk-replicas-two", {"efk_elasticsearch_replicas": "2"}, ["efk_elasticsearch_replicas must be 1, or 3 or more"]),
    ("efk-persistence-nein", {"efk_elasticsearch_persistence": "nein"},
     ["argument 'efk_elasticsearch_persistence' is of type str and we were unable to convert to bool"]),
    ("efk-http-tls-without-security", {"efk_elasticsearch_security": "false", "efk_elasticsearch_http_tls": "true"},
     ["efk_elasticsearch_http_tls: HTTPS needs security on"]),
    ("efk-tls-secret-not-a-name", {"efk_elasticsearch_tls_secret": "Es_Certs"}, ["efk_elasticsearch_tls_secret: Es_Certs is not a Secret name"]),
    ("efk-wait-status-purple", {"efk_elasticsearch_wait_status": "purple"}, ["efk_elasticsearch_wait_status"]),
    ("efk-url-no-scheme", {"falco_efk_elasticsearch_url": "es.example.com:9200"},
     ["efk_elasticsearch_url: es.example.com:9200 is not an address such as https://es.example.com", "falco_efk_elasticsearch_url"]),
    ("efk-ca-missing", {"falco_efk_elasticsearch_url": "https://es.example.com", "falco_efk_elasticsearch_ca_path": "/nonexistent/ca.pem"},
     ["efk_elasticsearch_ca_path: /nonexistent/ca.pem is not a file on the controller"]),
    ("efk-state-typo", {"efk_state": "installed"}, ["value of efk_state must be one of: present, absent, got: installed"]),
    ("efk-fluentd-cpu-words", {"efk_fluentd_cpu_request": "a little"}, ["efk_fluentd_cpu_request: a little " + QUANTITY]),
    # ------------------------------------------------------------------ falco
    ("falco-version-latest", {"falco_version": "latest"}, ["falco_version must look like 0.44.1", "got latest"]),
    ("falco-version-trailing-junk", {"falco_version": "0.44.1-rc1"}, ["falco_version must look like 0.44.1", "got 0.44.1-rc1"]),
    ("falco-version-old", {"falco_version": "0.38.2"}, ["falco_version 0.38.2 is older than 0.42"]),
    ("falco-name-upper", {"falco_name": "Falco_DS"}, ["falco_name: Falco_DS is not a name Kubernetes accepts for a DaemonSet"]),
    ("falco-namespace-kube-public", {"falco_namespace": "kube-public"}, ["falco_namespace: kube-public " + RESERVED]),
    ("falco-namespace-shared", {"falco_namespace": "logging"},
     ["falco_namespace: logging is the namespace of Elasticsearch, Fluentd and Kibana (efk_namespace)", "a namespace of its own"]),
    ("falco-driver-typo", {"falco_driver": "ebpf"}, ["falco_driver", "ebpf"]),
    ("falco-priority-typo", {"falco_minimum_priority": "loud"}, ["falco_minimum_priority", "loud"]),
    ("falco-psp-maybe", {"falco_psp": "maybe"}, ["value of falco_psp must be one of: auto, true, false, got: maybe"]),
    ("falco-psp-true-without-psp", {"falco_psp": "true"}, ["falco_psp is true, but this cluster serves no PodSecurityPolicy"]),
    ("falco-generator-sleep-words", {"falco_event_generator": "true", "falco_event_generator_sleep": "soon"},
     ["falco_event_generator_sleep: soon is not a duration"]),
    ("falco-memory-words", {"falco_memory_limit": "plenty"}, ["falco_memory_limit: plenty " + QUANTITY]),
    ("falco-rules-without-condition", {"falco_rules": [{"rule": "Shell in prod", "desc": "d", "output": "o", "priority": "WARNING"}]},
     ["falco_rules, item 1 (rule 'Shell in prod'): missing condition"]),
    # ------------------------------------------------------------------ kibana_dashboards
    ("kibana-space-words", {"kibana_dashboards_space": "Security Team"}, ["kibana_dashboards_space: Security Team is not a Kibana space id"]),
    ("kibana-url-ftp", {"falco_efk_kibana_url": "ftp://kibana.example.com"}, ["kibana_url: ftp://kibana.example.com is not an address"]),
    ("kibana-timeout-zero", {"kibana_dashboards_wait_timeout": "0"}, ["kibana_dashboards_wait_timeout: 0 seconds leaves no time"]),
    ("kibana-data-view-id-spaces", {"kibana_dashboards_data_view_id": "my data view"},
     ["kibana_dashboards_data_view_id: my data view is not a saved object id"]),
    ("kibana-spec-radar", {"kibana_dashboards_spec": {"visualizations": [{"id": "r", "title": "R", "kind": "radar", "field": "rule"}]}},
     ["kibana_dashboards_spec: it has", "kind 'radar'"]),
    ("kibana-state-typo", {"kibana_dashboards_state": "gone"}, ["kibana_dashboards_state", "gone"]),
    # ------------------------------------------------------------------ prerequisites, and the names it derives from the stages'
    ("grant-anonymous", dict(GRANT, prerequisites_cluster_admin_user="system:anonymous"),
     ["prerequisites_cluster_admin_user: system:anonymous is the anonymous user"]),
    ("grant-unauthenticated", dict(GRANT, prerequisites_cluster_admin_user="system:unauthenticated"), ["is the anonymous user"]),
    ("grant-authenticated-group", dict(GRANT, prerequisites_cluster_admin_user="system:authenticated"),
     ["prerequisites_cluster_admin_user: system:authenticated is a group or one of the cluster's own identities"]),
    ("grant-masters", dict(GRANT, prerequisites_cluster_admin_user="system:masters"), ["system:masters is a group"]),
    ("grant-service-account", dict(GRANT, prerequisites_cluster_admin_user="system:serviceaccount:awx:default"),
     ["system:serviceaccount:awx:default is a service account not listed in prerequisites_cluster_admin_service_accounts"]),
    ("grant-two-users", dict(GRANT, prerequisites_cluster_admin_user="alice, bob"), ["'alice, bob' is not one user name"]),
    ("grant-allow-list-bad", {"prerequisites_cluster_admin_service_accounts": ["awx/default"]},
     ["prerequisites_cluster_admin_service_accounts: awx/default is not system:serviceaccount:NAMESPACE:NAME"]),
    ("prerequisites-fail-on-typo", {"prerequisites_fail_on": "sometimes"}, ["prerequisites_fail_on", "sometimes"]),
    ("prerequisites-cpu-named-as-set", {"falco_efk_stage_efk": "false", "efk_elasticsearch_cpu_request": "two cores"},
     ["efk_elasticsearch_cpu_request: two cores " + QUANTITY]),
    ("prerequisites-replicas-named-as-set", {"falco_efk_stage_efk": "false", "efk_elasticsearch_replicas": "three"},
     ["argument 'efk_elasticsearch_replicas' is of type str"]),
    ("prerequisites-namespace-named-as-set", {"falco_efk_stage_efk": "false", "efk_namespace": "Logging_NS"},
     ["efk_namespace: Logging_NS is not a DNS label"]),
]

TEARDOWN_CASES = [
    ("teardown-purge-maybe", {"efk_purge_data": "maybe"}, ["argument 'efk_purge_data' is of type str and we were unable to convert to bool"]),
    ("teardown-switch-nein", {"falco_efk_stage_efk": "nein"}, ["falco_efk_stage_efk: nein is not true or false"]),
    ("teardown-namespace-upper", {"efk_namespace": "Logging"}, ["efk_namespace: Logging is not a DNS label"]),
    ("teardown-grant-anonymous", dict(GRANT, prerequisites_cluster_admin_user="system:anonymous"),
     ["prerequisites_cluster_admin_user: system:anonymous is the anonymous user"]),
    ("teardown-kibana-url-ftp", {"falco_efk_kibana_url": "ftp://kibana.example.com"}, ["is not an address"]),
]

# What the cases share: short waits, in case one got past its check (the test would then see its writes).
COMMON = {"efk_wait_timeout": "5", "falco_wait_timeout": "5", "kibana_dashboards_wait_timeout": "5", "ansible_connection": "local"}
INTERNAL_NAMES = re.compile(r"\bprerequisites_(namespace|es_replicas|es_min_cpu|es_min_memory|falco_driver)\b")


def _kibana_writes(cluster) -> list[dict]:
    """What Kibana was asked to write (logins and searches are not writes)."""
    return [r for r in list(cluster.cluster.stack.kibana_hooks.requests) if r["method"] in ("POST", "PUT", "DELETE")
            and "/internal/security/" not in r["path"] and "/api/security/" not in r["path"] and r["path"] != "/api/console/proxy"]


def _inventory(directory, cases) -> str:
    path = directory / "inventory.yml"
    hosts = {case[0]: dict(COMMON, **case[1]) for case in cases}
    path.write_text(yaml.safe_dump({"all": {"children": {"cases": {"hosts": hosts}}}}), encoding="utf-8")
    return str(path)


def _messages(out: str) -> dict[str, str]:
    """The last failure each host reported (a rescued validation reports twice: the hidden one, then ours)."""
    messages = {}
    for host, body in re.findall(r"^fatal: \[([^\]]+)\]: FAILED! => (\{.*\})$", out, re.M):
        messages[host] = json.loads(body).get("msg", body)
    return messages


_RUNS: dict[str, dict] = {}


def _outcome(name, playbook_path, cases, localcluster, playbook, tmp_path_factory, monkeypatch) -> dict:
    if name not in _RUNS:
        monkeypatch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")
        inventory = _inventory(tmp_path_factory.mktemp(name), cases)
        localcluster.clear_requests()
        localcluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})
        run = playbook(playbook_path, localcluster.kubeconfig, "-i", inventory, "--forks", "25", falco_efk_hosts="cases")
        _RUNS[name] = {"messages": _messages(run.out), "writes": localcluster.writes(), "kibana_writes": _kibana_writes(localcluster),
                       "run": run}
    return _RUNS[name]


@pytest.fixture(name="site_outcome")
def site_outcome_fixture(localcluster, playbook, tmp_path_factory, monkeypatch):
    return _outcome("site", SITE, SITE_CASES, localcluster, playbook, tmp_path_factory, monkeypatch)


@pytest.fixture(name="teardown_outcome")
def teardown_outcome_fixture(localcluster, playbook, tmp_path_factory, monkeypatch):
    return _outcome("teardown", TEARDOWN, TEARDOWN_CASES, localcluster, playbook, tmp_path_factory, monkeypatch)


def _check(outcome, case, variables, fragments):
    message = outcome["messages"].get(case)
    assert message is not None, "%s (%s) did not fail:\n%r" % (case, variables, outcome["run"])
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, "%s (%s): %r lacks %r" % (case, variables, message, missing)
    assert message.count(fragments[0]) == 1, "%s: said more than once: %r" % (case, message)
    assert WRITTEN in message, message
    assert "argument_spec" not in message and "Traceback" not in message, message
    assert not INTERNAL_NAMES.search(message), "%s names an internal variable: %r" % (case, message)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.parametrize("case, variables, fragments", SITE_CASES, ids=[case[0] for case in SITE_CASES])
def test_site_refuses_bad_input_before_its_first_write(site_outcome, case, variables, fragments):
    _check(site_outcome, case, variables, fragments)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.parametrize("case, variables, fragments", TEARDOWN_CASES, ids=[case[0] for case in TEARDOWN_CASES])
def test_teardown_refuses_bad_input_before_its_first_write(teardown_outcome, case, variables, fragments):
    _check(teardown_outcome, case, variables, fragments)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_no_case_wrote_anything_and_every_case_failed(site_outcome, teardown_outcome):
    for outcome, cases in ((site_outcome, SITE_CASES), (teardown_outcome, TEARDOWN_CASES)):
        assert outcome["writes"] == [], outcome["writes"][:5]
        assert outcome["kibana_writes"] == []
        assert sorted(outcome["messages"]) == sorted(case[0] for case in cases), outcome["run"]
