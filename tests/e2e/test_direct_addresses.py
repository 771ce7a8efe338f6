"""Elasticsearch and Kibana at addresses of the user's (an ingress over TLS, its own CA), on a cluster whose API server
refuses the service proxy (a private control plane, a policy on services/proxy): site.yml, verify.yml and teardown.yml
reach both through falco_efk_elasticsearch_url / falco_efk_kibana_url and never ask the proxy."""

from __future__ import annotations

import pytest

from localcluster.kibana import broken_objects

SITE, VERIFY, TEARDOWN = "playbooks/site.yml", "playbooks/verify.yml", "playbooks/teardown.yml"
PROXY = r"/services/[^/]+/proxy"


def _proxied(cluster) -> list[str]:
    """The service proxy requests the API server received (refused or not)."""
    return ["%s %s" % (r["method"], r["path"]) for r in cluster.requests() if "/proxy" in r["path"] and "/services/" in r["path"]]


def _addresses(cluster) -> dict[str, str]:
    es, kibana = cluster.endpoints["elasticsearch"], cluster.endpoints["kibana"]
    return {"falco_efk_elasticsearch_url": es["ingress_url"], "falco_efk_elasticsearch_ca_path": es["ca"],
            "falco_efk_kibana_url": kibana["ingress_url"], "falco_efk_kibana_ca_path": kibana["ca"]}


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_every_playbook_works_at_direct_addresses_with_the_proxy_refused(localcluster, playbook):
    localcluster.hook("faults", "POST", {"pattern": PROXY, "count": 100000, "status": 403})
    addresses = _addresses(localcluster)
    # Without the addresses, the refused proxy is where the run stops, and it says so.
    run = playbook(VERIFY, localcluster.kubeconfig, falco_efk_stage_falco="false", falco_efk_stage_kibana_dashboards="false",
                   falco_efk_verify_timeout="5")
    assert run.rc != 0 and "is forbidden: injected policy" in run.out, run
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, falco_efk_stage_prerequisites="false", falco_event_generator="true", efk_wait_timeout="90",
                   falco_wait_timeout="60", kibana_dashboards_wait_timeout="90", **addresses)
    assert run.rc == 0, run
    assert _proxied(localcluster) == []
    kibana = localcluster.cluster.stack.kibana
    assert kibana.get("dashboard", "seclog-falco-dashboard") is not None and broken_objects(kibana) == []
    # The health gate, the wait for Kibana and the Kibana stage went to the ingress addresses, over TLS.
    es_paths = [r["path"] for r in localcluster.cluster.stack.es_hooks.requests]
    assert any(p.startswith("/_cluster/health") for p in es_paths)
    run = playbook(SITE, localcluster.kubeconfig, falco_efk_stage_prerequisites="false", falco_event_generator="true", **addresses)
    assert run.rc == 0 and run.recap["changed"] == 0, run
    run = playbook(VERIFY, localcluster.kubeconfig, kibana_dashboards_verify_timeout="60", **addresses)
    assert run.rc == 0 and "Falco alerts in the last 15m:" in run.out, run
    run = playbook(TEARDOWN, localcluster.kubeconfig, **addresses)
    assert run.rc == 0 and kibana.get("dashboard", "seclog-falco-dashboard") is None, run
    assert _proxied(localcluster) == []


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_a_wrong_ca_or_address_is_refused_before_the_first_write(localcluster, playbook, tmp_path):
    addresses = _addresses(localcluster)
    localcluster.clear_requests()
    run = playbook(SITE, localcluster.kubeconfig, falco_efk_stage_prerequisites="false",
                   **dict(addresses, falco_efk_elasticsearch_ca_path=str(tmp_path / "missing.pem"), falco_efk_kibana_url="kibana.example.com"))
    assert run.rc != 0, run
    assert "efk_elasticsearch_ca_path: %s is not a file on the controller" % (tmp_path / "missing.pem") in run.out
    assert "efk_kibana_url: kibana.example.com is not an address such as https://es.example.com" in run.out
    assert localcluster.writes() == []
