"""What the README promises AWX users and site playbook authors, beyond the AWX-style life cycle in
test_installed_collection.py (site, verify, teardown on a bearer token credential and the surveys' answers)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.mark.parametrize("localcluster", [("1.30", "gke")], indirect=True)
def test_a_wrong_token_fails_naming_the_credential_and_writes_nothing(localcluster, tmp_path):
    localcluster.clear_requests()
    api = localcluster.endpoints["kubernetes"]
    result = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks/site.yml")], capture_output=True, text=True, cwd=str(tmp_path),
        timeout=300, check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("K8S_AUTH_", "KUBECONFIG"))},
             "HOME": str(tmp_path), "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, "collections"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "K8S_AUTH_HOST": api["url"], "K8S_AUTH_API_KEY": "not-the-token",
             "K8S_AUTH_SSL_CA_CERT": api["ca"]})
    assert result.returncode != 0
    assert "401" in result.stdout or "Unauthorized" in result.stdout, result.stdout[-3000:]
    assert "not-the-token" not in result.stdout + result.stderr
    assert localcluster.writes() == []


def _readme_example() -> str:
    """The playbook under the README's "Inside a larger site playbook"."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("### Inside a larger site playbook", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_the_readmes_larger_site_playbook_runs_in_check_mode_and_writes_nothing(localcluster, playbook, tmp_path):
    path = tmp_path / "site.yml"
    path.write_text("---\n" + _readme_example())
    localcluster.clear_requests()
    run = playbook(str(path), localcluster.kubeconfig, "--check", "--diff", prod_kubeconfig=localcluster.kubeconfig, prod_context="localcluster")
    assert run.rc == 0, run
    assert "security-logging" in run.out, "the play's variables reach the roles"
    assert localcluster.writes() == []
