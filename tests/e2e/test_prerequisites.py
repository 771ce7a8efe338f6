"""Stage 1 against the local cluster: the preflight's findings per node set and user, fail_on, and the grant."""

from __future__ import annotations

import pytest
from kubernetes import client

SITE = "playbooks/site.yml"


@pytest.fixture(name="playbook")
def stage_one_only(playbook):
    """The site playbook with stage 1 only: these tests are about the preflight and the grant."""

    def run(path, kubeconfig, *args, **extra_vars):
        return playbook(path, kubeconfig, *args, falco_efk_stage_efk="false", falco_efk_stage_falco="false",
                        falco_efk_stage_kibana_dashboards="false", **extra_vars)

    return run


# The runbook's n1-standard-2 (and e2-standard-2): GKE leaves 1930m and 5.5 to 5.9 GiB of them, room for Elasticsearch's pod
# beside Falco's and Fluentd's.
@pytest.mark.parametrize("localcluster", [("1.30", "gke"), ("1.30", "runbook"), ("1.30", "e2-standard-2")], indirect=True)
def test_gke_like_nodes_pass_with_no_findings_and_no_writes(localcluster, playbook):
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig)
    assert run.rc == 0 and run.recap["changed"] == 0, run
    assert "No findings: the cluster is ready for Falco and EFK." in run.out
    assert localcluster.writes() == []


@pytest.mark.parametrize("localcluster, extra, finding, remedy", [
    (("1.30", "small"), {}, "elasticsearch.node_size", "e2-standard-2"),
    (("1.30", "cos"), {"prerequisites_falco_driver": "kmod"}, "falco.driver.kmod", "UBUNTU_CONTAINERD"),
    (("1.30", "old-kernel"), {}, "falco.driver.modern_ebpf", "kernel of 5.8 or newer"),
], indirect=["localcluster"])
def test_errors_fail_the_run_with_their_remedy_unless_fail_on_never(localcluster, playbook, extra, finding, remedy):
    run = playbook(SITE, localcluster.kubeconfig, **extra)
    assert run.rc != 0, run
    assert f"ERROR [{finding}]" in run.out and remedy in run.out
    assert "problem(s) at or above 'error'" in run.out
    run = playbook(SITE, localcluster.kubeconfig, prerequisites_fail_on="never", **extra)
    assert run.rc == 0, run


@pytest.mark.parametrize("localcluster", [("1.30", "gke-logging")], indirect=True)
def test_a_running_gke_logging_agent_warns_and_fails_only_on_warning(localcluster, playbook):
    run = playbook(SITE, localcluster.kubeconfig)
    assert run.rc == 0 and "WARNING [logging.gke_agent]" in run.out and "--logging=NONE" in run.out, run
    run = playbook(SITE, localcluster.kubeconfig, prerequisites_fail_on="warning")
    assert run.rc != 0 and "at or above 'warning'" in run.out, run


@pytest.mark.parametrize("localcluster", [("1.30", "gke")], indirect=True)
def test_restricted_user_is_told_what_it_lacks_and_the_grant_fixes_it(localcluster, playbook):
    run = playbook(SITE, localcluster.kubeconfig_restricted)
    assert run.rc != 0, run
    assert "ERROR [rbac.missing]" in run.out and "create clusterrolebindings.rbac.authorization.k8s.io" in run.out
    assert "prerequisites_grant_cluster_admin" in run.out
    assert "WARNING [preflight.unreadable]" in run.out  # may not list nodes either

    grant = {"prerequisites_grant_cluster_admin": "true", "prerequisites_cluster_admin_user": "restricted"}
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, "--check", **grant)
    assert run.rc == 0 and run.recap["changed"] == 1, run  # would bind
    assert localcluster.writes() == []

    run = playbook(SITE, localcluster.kubeconfig, **grant)
    assert run.rc == 0 and run.recap["changed"] == 1, run
    bindings = client.RbacAuthorizationV1Api(localcluster.api_client()).list_cluster_role_binding(
        label_selector="app.kubernetes.io/part-of=seclog-falco-efk").items
    assert [(b.role_ref.name, b.subjects[0].name) for b in bindings] == [("cluster-admin", "restricted")]
    run = playbook(SITE, localcluster.kubeconfig, **grant)
    assert run.rc == 0 and run.recap["changed"] == 0, run

    run = playbook(SITE, localcluster.kubeconfig_restricted)
    assert run.rc == 0 and "No findings" in run.out, run


# A cluster of its own ("gke:3" is "gke"): the test above leaves the restricted user bound to cluster-admin.
@pytest.mark.parametrize("localcluster", [("1.30", "gke:3")], indirect=True)
def test_grant_defaults_to_the_user_the_server_says_you_are(localcluster, playbook):
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig_restricted, prerequisites_grant_cluster_admin="true")
    # The restricted user may not create the binding itself: the error names the refused request, and nothing is written.
    assert run.rc != 0 and "403" in run.out and "forbidden" in run.out.lower(), run
    assert localcluster.writes() == []


@pytest.mark.parametrize("localcluster", [("1.8", "gke")], indirect=True)
def test_grant_on_a_server_that_cannot_say_who_you_are_asks_for_the_user(localcluster, playbook):
    run = playbook(SITE, localcluster.kubeconfig, prerequisites_grant_cluster_admin="true", prerequisites_fail_on="never")
    assert run.rc != 0 and "Set prerequisites_cluster_admin_user" in run.out, run
