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


SSAR = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "nodes"}}}


@pytest.fixture(name="faults")
def clear_faults(localcluster):
    """The cluster's fault hook, cleared after the test."""
    yield lambda **fault: localcluster.hook("faults", "POST", fault)
    localcluster.hook("faults", "DELETE")


def test_too_many_requests_on_a_write_is_sent_again_after_retry_after(localcluster, faults):
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig))
    waits = []
    cluster.sleep = waits.append
    faults(pattern="^POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews$", count=2, status=429)
    answer = cluster.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=SSAR)
    assert answer["status"]["allowed"] is True
    assert waits == [1.0, 1.0] and cluster.requests == 3


def test_too_many_requests_that_persist_fail_naming_the_attempts(localcluster, faults):
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig))
    cluster.sleep = lambda seconds: None
    faults(pattern="^POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews$", count=5, status=429)
    with pytest.raises(k8s.ClusterError) as err:
        cluster.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=SSAR)
    assert err.value.status == 429 and cluster.requests == k8s.RETRY_ATTEMPTS == 4
    assert str(err.value).startswith("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews failed (429) (4 attempts): "
                                     "the server has received too many requests")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_briefly_unavailable_server_is_asked_again_two_seconds_later(localcluster, faults, status):
    # The same policy as the roles' kubernetes.core tasks (tests/unit/test_retry_policy.py).
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig))
    waits = []
    cluster.sleep = waits.append
    faults(pattern="^POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews$", count=1, status=status)
    answer = cluster.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=SSAR)
    assert answer["status"]["allowed"] is True
    assert waits == [2] and cluster.requests == 2


@pytest.mark.parametrize("status", [500])
def test_server_errors_are_not_sent_again(localcluster, faults, status):
    cluster = k8s.Cluster(Module(kubeconfig=localcluster.kubeconfig))
    faults(pattern="^POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews$", count=1, status=status)
    with pytest.raises(k8s.ClusterError) as err:
        cluster.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=SSAR)
    assert err.value.status == status and cluster.requests == 1


@pytest.mark.parametrize("headers, seconds", [({"Retry-After": "3"}, 3.0), ({"retry-after": "120"}, 5.0), ({}, 1.0),
                                              ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1.0), (None, 1.0)])
def test_retry_after_is_read_in_seconds_and_capped(headers, seconds):
    assert k8s.retry_after(headers) == seconds
