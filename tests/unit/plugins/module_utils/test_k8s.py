"""The Kubernetes client of this collection's modules: connection errors and pagination."""

from __future__ import annotations

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import k8s


class Module:
    """The part of AnsibleModule the client uses."""

    def __init__(self, **params):
        self.params = dict({name: None for name in k8s.auth_argument_spec()}, **params)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_auth_options_are_kubernetes_cores_with_secrets_hidden():
    spec = k8s.auth_argument_spec()
    assert {"kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert"} <= set(spec)
    assert spec["api_key"]["no_log"] and spec["kubeconfig"]["no_log"] and spec["password"]["no_log"]


def test_missing_kubeconfig_is_named_by_its_option(tmp_path):
    with pytest.raises(k8s.ClusterError, match="The kubeconfig file given in 'kubeconfig'"):
        k8s.Cluster(Module(kubeconfig=str(tmp_path / "absent")))


def test_unreachable_server_says_so(tmp_path, localcluster):
    config = open(localcluster.kubeconfig, encoding="utf-8").read().replace(localcluster.url, "https://127.0.0.1:1")
    path = tmp_path / "kubeconfig"
    path.write_text(config)
    with pytest.raises(k8s.ClusterError, match="Could not reach the Kubernetes API server: .*Connection refused"):
        k8s.Cluster(Module(kubeconfig=str(path)))


def test_forbidden_carries_the_servers_message_and_a_hint(localcluster):
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig_restricted))
    with pytest.raises(k8s.ClusterError) as err:
        cluster.request("GET", "/api/v1/nodes")
    assert err.value.status == 403
    assert 'User "restricted" cannot list resource "nodes"' in str(err.value) and "lacks this right" in str(err.value)


def test_get_answers_none_for_404(localcluster):
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig))
    assert cluster.get("/api/v1/namespaces/absent") is None


def test_list_all_follows_continue_tokens(localcluster):
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig))
    items, pages = cluster.list_all("/api/v1/nodes", page_size=2)
    assert len(items) == 3 and pages == 2 and cluster.requests == 2
