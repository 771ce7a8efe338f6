"""Safe by construction, through site.yml and teardown.yml as AWX runs them: nothing the collection did not create is
modified or removed, and what would break the running stack (a downgrade, a silent security change, someone else's
Elasticsearch under the same name) is refused before the run's first write, with the request log as the witness."""

from __future__ import annotations

import datetime

import pytest
from kubernetes import client
from localcluster.pytest_plugin import workload

SITE = "playbooks/site.yml"
TEARDOWN = "playbooks/teardown.yml"
EFK_ONLY = {"falco_efk_stage_prerequisites": "false", "falco_efk_stage_falco": "false", "falco_efk_stage_kibana_dashboards": "false",
            "efk_wait_timeout": "60"}
GRANT_ONLY = {"falco_efk_stage_efk": "false", "falco_efk_stage_falco": "false", "falco_efk_stage_kibana_dashboards": "false",
              "prerequisites_fail_on": "never", "prerequisites_grant_cluster_admin": "true"}
WRITTEN = "Nothing was written (site.yml and teardown.yml check every enabled stage's inputs before their first write)."


def _core(cluster):
    return client.CoreV1Api(cluster.api_client())


def _rbac(cluster):
    return client.RbacAuthorizationV1Api(cluster.api_client())


def _bindings(cluster) -> dict[str, str]:
    """cluster-admin bindings the collection's name prefix names: binding name -> subject."""
    return {b.metadata.name: b.subjects[0].name for b in _rbac(cluster).list_cluster_role_binding().items
            if b.metadata.name.startswith("seclog-falco-efk-admin-")}


@pytest.mark.parametrize("localcluster", [("1.30", "gke", None, "grant")], indirect=True)
class TestTeardownRemovesTheClusterAdmin:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_teardown_removes_the_cluster_admin_binding_it_made_and_no_other(self, localcluster, playbook):
        for user in ("alice@example.com", "bob@example.com"):
            run = playbook(SITE, localcluster.kubeconfig, prerequisites_cluster_admin_user=user, **GRANT_ONLY)
            assert run.rc == 0 and f"cluster-admin (every verb on every resource, cluster-wide) for User {user}" in run.out, run
        bindings = _bindings(localcluster)
        assert sorted(bindings.values()) == ["alice@example.com", "bob@example.com"]
        bob = next(name for name, user in bindings.items() if user == "bob@example.com")
        # Someone takes bob's binding over: without the collection's labels it is theirs now.
        _rbac(localcluster).patch_cluster_role_binding(bob, {"metadata": {"labels": None}})

        run = playbook(TEARDOWN, localcluster.kubeconfig, prerequisites_cluster_admin_user="alice@example.com", **GRANT_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 1, run
        assert _bindings(localcluster) == {bob: "bob@example.com"}
        run = playbook(TEARDOWN, localcluster.kubeconfig, prerequisites_cluster_admin_user="bob@example.com", **GRANT_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 0 and "is not the one site.yml made" in run.out, run
        assert _bindings(localcluster) == {bob: "bob@example.com"}
        localcluster.clear_requests()
        run = playbook(TEARDOWN, localcluster.kubeconfig, prerequisites_cluster_admin_user="alice@example.com", **GRANT_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 0 and localcluster.writes() == [], run


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "purge")], indirect=True)
class TestPurgeRemovesOnlyWhatThe:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_purge_removes_only_what_the_collection_made(self, localcluster, playbook):
        core = _core(localcluster)
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0, run
        assert core.read_namespace("logging").metadata.annotations["seclog.io/created-by"] == "seclog.falco_efk"
        # Another team keeps a Secret, a ConfigMap and a claim in the namespace the collection created.
        core.create_namespaced_secret("logging", {"metadata": {"name": "team-token"}, "stringData": {"token": "t"}})
        core.create_namespaced_config_map("logging", {"metadata": {"name": "team-settings"}, "data": {"a": "b"}})
        core.create_namespaced_persistent_volume_claim("logging", {"metadata": {"name": "team-data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})

        run = playbook(TEARDOWN, localcluster.kubeconfig, efk_purge_data="true", **EFK_ONLY)
        assert run.rc == 0, run
        assert "Namespace logging stays: it holds what is not this collection's: " in run.out, run
        for kind in ("ConfigMap team-settings", "PersistentVolumeClaim team-data", "Secret team-token"):
            assert kind in run.out, run
        assert [s.metadata.name for s in core.list_namespaced_secret("logging").items] == ["team-token"]
        assert [c.metadata.name for c in core.list_namespaced_persistent_volume_claim("logging").items] == ["team-data"]
        assert [c.metadata.name for c in core.list_namespaced_config_map("logging").items] == ["team-settings"]

        # Once the team's objects are gone, the namespace the collection created goes too.
        core.delete_namespaced_secret("team-token", "logging")
        core.delete_namespaced_config_map("team-settings", "logging")
        assert localcluster.http("DELETE", "/api/v1/namespaces/logging/persistentvolumeclaims/team-data")[0] == 200
        run = playbook(TEARDOWN, localcluster.kubeconfig, efk_purge_data="true", **EFK_ONLY)
        assert run.rc == 0 and run.recap["changed"] >= 1, run
        assert "logging" not in [n.metadata.name for n in core.list_namespace().items]

        # A namespace the team made is used, and never removed.
        core.create_namespace({"metadata": {"name": "logging"}})
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0, run
        assert "seclog.io/created-by" not in (core.read_namespace("logging").metadata.annotations or {})
        run = playbook(TEARDOWN, localcluster.kubeconfig, efk_purge_data="true", **EFK_ONLY)
        assert run.rc == 0 and "Namespace logging stays: this collection did not create it" in run.out, run
        assert not core.list_namespaced_persistent_volume_claim("logging").items
        assert "logging" in [n.metadata.name for n in core.list_namespace().items]


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "refusals")], indirect=True)
class TestWhatWouldBreakTheRunning:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_what_would_break_the_running_stack_is_refused_before_any_write(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0, run
        refusals = [
            ({"efk_elasticsearch_version": "7.17.29", "efk_elasticsearch_security": "true"},
             "efk_elasticsearch_version 7.17.29 is older than the 8.19.10 running in logging/elasticsearch-logging"),
            ({"efk_elasticsearch_security": "false"},
             "This run would turn security off (efk_elasticsearch_security) and HTTPS off (efk_elasticsearch_http_tls) on the running "
             "Elasticsearch"),
            ({"efk_elasticsearch_http_tls": "false"}, "This run would turn HTTPS off (efk_elasticsearch_http_tls) on the running Elasticsearch"),
        ]
        for extra, message in refusals:
            localcluster.clear_requests()
            run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY, **extra)
            assert run.rc != 0 and message in run.out and WRITTEN in run.out, run
            failures = [line for line in run.out.splitlines() if line.startswith("fatal:")]
            assert len(failures) == 1 and failures[0].count(message) == 1, run
            assert localcluster.writes() == []
        # On purpose, the change goes through (shown in check mode: it would write).
        run = playbook(SITE, localcluster.kubeconfig, "--check", efk_elasticsearch_security="false", efk_elasticsearch_allow_security_change="true",
                       **EFK_ONLY)
        assert run.rc == 0 and run.recap["changed"] >= 1, run

        # Someone else's Elasticsearch under the stack's name is left alone.
        _core(localcluster).create_namespace({"metadata": {"name": "search"}})
        client.AppsV1Api(localcluster.api_client()).create_namespaced_stateful_set("search", workload("StatefulSet", "elasticsearch-logging"))
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, efk_namespace="search", **EFK_ONLY)
        assert run.rc != 0 and "StatefulSet search/elasticsearch-logging exists and was not made by this collection" in run.out, run
        assert localcluster.writes() == []

        # A namespace of yours whose Pod Security level would refuse the stack's pods (Fluentd's hostPath volumes, the
        # sysctl init container), or Falco's privileged ones: refused before any write, never relabelled.
        core = _core(localcluster)
        core.create_namespace({"metadata": {"name": "strict", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
        core.create_namespace({"metadata": {"name": "locked", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}})
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, efk_namespace="strict", **EFK_ONLY)
        assert run.rc != 0 and WRITTEN in run.out, run
        assert "efk_namespace: strict enforces the restricted Pod Security Standard" in run.out, run
        assert 'DaemonSet fluentd-es needs privileged: privileged (container "sysctl"' not in run.out
        assert 'DaemonSet fluentd-es needs privileged: ' in run.out and 'hostPath volumes (volumes "varlog", "dockercontainers")' in run.out
        assert "kubectl label namespace strict pod-security.kubernetes.io/enforce=privileged --overwrite" in run.out, run
        falco_only = {"falco_efk_stage_prerequisites": "false", "falco_efk_stage_efk": "false", "falco_efk_stage_kibana_dashboards": "false"}
        run = playbook(SITE, localcluster.kubeconfig, falco_namespace="locked", **falco_only)
        assert run.rc != 0 and WRITTEN in run.out, run
        assert "falco_namespace: Namespace locked enforces the baseline Pod Security Standard" in run.out, run
        assert localcluster.writes() == []
        assert core.read_namespace("strict").metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"

        # The data outlives a teardown, and says which version last wrote it: an older one is refused all the same.
        claim = core.read_namespaced_persistent_volume_claim("data-elasticsearch-logging-0", "logging")
        assert claim.metadata.annotations["seclog.io/elasticsearch-version"] == "8.19.10"
        run = playbook(TEARDOWN, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0, run
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, efk_elasticsearch_version="7.17.29", efk_elasticsearch_security="true", **EFK_ONLY)
        assert run.rc != 0 and WRITTEN in run.out, run
        assert ("efk_elasticsearch_version 7.17.29 is older than the 8.19.10 that last wrote the data kept in "
                "logging/data-elasticsearch-logging-0") in run.out, run
        assert localcluster.writes() == []


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "teardown-kibana")], indirect=True)
class TestTeardownRemovesTheKubernetesObjects:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_teardown_removes_the_kubernetes_objects_whatever_kibana_says(self, localcluster, playbook):
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0, run
        # elastic's password was rotated since: Kibana answers 401 to the one teardown is given.
        run = playbook(TEARDOWN, localcluster.kubeconfig, kibana_dashboards_password="rotated-since", kibana_dashboards_wait_timeout="10",
                       falco_efk_stage_falco="false")
        assert run.rc == 0, run
        assert "The Kibana objects could not be removed" in run.out and "(HTTP 401)" in run.out, run
        assert "kibana_dashboards_password" in run.out and "Give kibana_password" not in run.out, run
        assert "Stack Management > Saved objects" in run.out
        assert not client.AppsV1Api(localcluster.api_client()).list_namespaced_stateful_set("logging").items


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8", "concurrency")], indirect=True)
class TestASecondRunAtOnce:
    """A cluster of its own (xdist gives each class its own worker)."""

    def test_a_second_run_at_once_stops_naming_the_first_and_credentials_are_never_written_over(self, localcluster, playbook):
        core = _core(localcluster)
        core.create_namespace({"metadata": {"name": "logging"}})
        # Another run made elastic's credentials a moment ago: this run keeps them.
        core.create_namespaced_secret("logging", {"metadata": {"name": "elasticsearch-logging-elastic"}, "stringData": {"password": "theirs"}})
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0, run
        secret = core.read_namespaced_secret("elasticsearch-logging-elastic", "logging")
        assert secret.data == {"password": "dGhlaXJz"} and secret.metadata.resource_version, "kept as the other run made it"

        # Another run holds the lock, renewed a moment ago: this one stops before any write and says who holds it.
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        client.CoordinationV1Api(localcluster.api_client()).create_namespaced_lease("logging", {
            "metadata": {"name": "seclog-falco-efk-run"},
            "spec": {"holderIdentity": "AWX job 4711, run abcd1234", "leaseDurationSeconds": 3600, "acquireTime": now, "renewTime": now}})
        localcluster.clear_requests()
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc != 0 and "Another run holds the lock of this stack: Lease logging/seclog-falco-efk-run is held by AWX job 4711" in run.out
        assert "kubectl -n logging delete lease seclog-falco-efk-run" in run.out, run
        assert localcluster.writes() == [] and localcluster.lock_writes() == []
        # Its lock expired (the run died): the next run takes it over and converges.
        client.CoordinationV1Api(localcluster.api_client()).patch_namespaced_lease("seclog-falco-efk-run", "logging", {
            "spec": {"renewTime": "2026-01-01T00:00:00.000000Z", "leaseDurationSeconds": 60}})
        run = playbook(SITE, localcluster.kubeconfig, **EFK_ONLY)
        assert run.rc == 0 and run.recap["changed"] == 0, run
