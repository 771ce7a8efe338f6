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


FAST = ("-e", "efk_wait_timeout=60")


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
class TestInstalledPlaybooks:
    """site, verify and teardown by FQCN, in the order a user runs them, on one cluster."""

    def test_site_in_check_mode_writes_nothing(self, installed, localcluster):
        localcluster.clear_requests()
        result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.site", "--check", "--diff", *FAST)
        assert result.returncode == 0, result.stdout + result.stderr
        assert localcluster.requests(), "the playbook did not reach the cluster"
        assert localcluster.writes() == []

    def test_site_converges_and_a_second_run_changes_nothing(self, installed, localcluster):
        result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.site", *FAST)
        assert result.returncode == 0, result.stdout + result.stderr
        assert not re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s", result.stdout), result.stdout
        result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.site", *FAST)
        assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", result.stdout), result.stdout

    def test_verify_passes(self, installed, localcluster):
        result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.verify")
        assert result.returncode == 0 and "Kibana is available" in result.stdout, result.stdout + result.stderr

    def test_teardown_removes_and_then_has_nothing_left_to_do(self, installed, localcluster):
        result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.teardown", *FAST)
        assert result.returncode == 0 and not re.search(r"ok=\d+\s+changed=0\s", result.stdout), result.stdout + result.stderr
        result = run(installed, localcluster.kubeconfig, "seclog.falco_efk.teardown", *FAST)
        assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", result.stdout), result.stdout


def test_site_with_a_missing_kubeconfig_fails_naming_the_option(installed, tmp_path):
    missing = str(tmp_path / "nope")
    result = run(installed, missing, "seclog.falco_efk.site")
    assert result.returncode != 0
    assert "The kubeconfig file given in 'kubeconfig' (or K8S_AUTH_KUBECONFIG) does not exist" in result.stdout
    assert missing not in result.stdout  # kubeconfig is no_log: its value never reaches the output
