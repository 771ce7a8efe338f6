"""The collection as users get it: built, installed from the tarball, and its playbooks run by FQCN."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module", name="installed")
def installed_collection(tmp_path_factory):
    """Build the tarball and install it into an empty collections path."""
    work = tmp_path_factory.mktemp("installed")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work), ROOT],
                   check=True, capture_output=True, text=True)
    tarball = glob.glob(str(work / "seclog-falco_efk-*.tar.gz"))[0]
    path = work / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(path))
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(path), tarball],
                   check=True, capture_output=True, text=True, env=env)
    return path


def run(installed, kubeconfig: str, *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook as a user runs it: only the installed copy and kubernetes.core are visible, not the checkout."""
    config = installed.parent / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CONFIG=str(config))
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), *args, "-e", f"falco_efk_kubeconfig={kubeconfig}"],
                          capture_output=True, text=True, env=env, cwd=str(installed), timeout=300, check=False)


@pytest.mark.parametrize("playbook", ["seclog.falco_efk.site", "seclog.falco_efk.verify", "seclog.falco_efk.teardown"])
def test_playbooks_run_by_fqcn_from_the_installed_tarball(installed, localcluster, playbook):
    result = run(installed, localcluster.kubeconfig, playbook)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", result.stdout), result.stdout


def test_site_in_check_mode_writes_nothing(installed, localcluster):
    localcluster.clear_requests()
    result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.site", "--check", "--diff")
    assert result.returncode == 0, result.stdout + result.stderr
    assert localcluster.requests(), "the playbook did not reach the cluster"
    assert localcluster.writes() == []


def test_site_with_a_missing_kubeconfig_fails_naming_the_option(installed, tmp_path):
    missing = str(tmp_path / "nope")
    result = run(installed, missing, "seclog.falco_efk.site")
    assert result.returncode != 0
    assert "The kubeconfig file given in 'kubeconfig' (or K8S_AUTH_KUBECONFIG) does not exist" in result.stdout
    assert missing not in result.stdout  # kubeconfig is no_log: its value never reaches the output
