"""What the README promises site playbook authors; the AWX-style life cycle (site, verify, teardown on a bearer token
credential and the surveys' answers, and a wrong token) is in test_installed_collection.py."""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
