"""The PyPI kubectl against the local cluster: get, apply -f, diff, delete."""

from __future__ import annotations

import json

import pytest

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata:
  name: kubectl-test
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kubectl-test
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""


def test_kubectl_get_nodes(localcluster):
    out = localcluster.kubectl("get", "nodes", "-o", "json").stdout
    assert len(json.loads(out)["items"]) == 3
    table = localcluster.kubectl("get", "nodes").stdout
    assert table.split("\n")[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert table.count(" Ready ") == 3 and "v1.30.5" in table


def test_kubectl_apply_diff_delete(localcluster, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    out = localcluster.kubectl("apply", "-f", str(path)).stdout
    assert "namespace/kubectl-test created" in out and "deployment.apps/web created" in out
    assert "unchanged" in localcluster.kubectl("apply", "-f", str(path)).stdout
    assert localcluster.kubectl("diff", "-f", str(path), check=False).returncode == 0
    path.write_text(MANIFEST.replace("nginx:1.27", "nginx:1.28"))
    diff = localcluster.kubectl("diff", "-f", str(path), check=False)
    assert diff.returncode == 1 and "nginx:1.28" in diff.stdout
    assert localcluster.kubectl("get", "deploy", "web", "-n", "kubectl-test", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
                                ).stdout == "nginx:1.27"
    assert "deleted" in localcluster.kubectl("delete", "-f", str(path), "--wait=false").stdout


def test_kubectl_as_restricted_user_is_forbidden(localcluster):
    result = localcluster.kubectl("get", "pods", "-n", "kube-system", restricted=True, check=False)
    assert result.returncode != 0
    assert 'User "restricted" cannot list resource "pods" in API group "" in the namespace "kube-system"' in result.stderr


OLD_MANIFEST = MANIFEST.replace("kubectl-test", "kubectl-old")


@pytest.mark.parametrize("localcluster, api_version", [(("1.8", "gke"), "apps/v1beta2"), (("1.15", "gke"), "apps/v1")], indirect=["localcluster"])
def test_kubectl_validates_and_applies_on_old_profiles(localcluster, api_version, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(OLD_MANIFEST.replace("apps/v1", api_version))
    assert "deployment.apps/web created" in localcluster.kubectl("apply", "-f", str(path)).stdout
    # kubectl validates against the server's OpenAPI (protobuf on servers without /openapi/v3).
    path.write_text(OLD_MANIFEST.replace("apps/v1", api_version).replace("replicas: 1", "replicaz: 1"))
    result = localcluster.kubectl("apply", "-f", str(path), check=False)
    assert result.returncode != 0 and 'unknown field "replicaz"' in result.stderr
