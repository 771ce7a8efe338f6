"""The collection as users get it: built, installed from the tarball, and its playbooks run by FQCN.

The life cycle runs as AWX runs a job: no kubeconfig file and an empty home, only the K8S_AUTH_* variables that
AWX's "OpenShift or Kubernetes API Bearer Token" credential injects, and the survey's answers (docs/awx/) as
extra variables, strings as AWX passes multiple-choice answers.
"""

from __future__ import annotations

import glob
import json
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
    return _playbook(installed, {}, *args, "-e", f"falco_efk_kubeconfig={kubeconfig}")


def awx(installed, localcluster, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    """ansible-playbook as an AWX job runs it: a bearer token credential's K8S_AUTH_* variables (the admin's token
    unless ``token``) and an empty home."""
    api = localcluster.endpoints["kubernetes"]
    home = installed.parent / "home"
    home.mkdir(exist_ok=True)
    return _playbook(installed, {"HOME": str(home), "K8S_AUTH_HOST": api["url"], "K8S_AUTH_API_KEY": token or api["admin_token"],
                                 "K8S_AUTH_SSL_CA_CERT": api["ca"], "K8S_AUTH_VERIFY_SSL": "true"}, *args)


def _playbook(installed, extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    config = installed.parent / "ansible.cfg"
    config.write_text("[defaults]\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("K8S_AUTH_", "KUBECONFIG"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_CONFIG=str(config), **extra_env)
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), *args], capture_output=True, text=True, env=env, cwd=str(installed),
                          timeout=300, check=False)


def survey(installed, playbook: str, **answers) -> tuple[str, str]:
    """("-e", "@answers.json"): the extra variables AWX passes for docs/awx/<playbook>-survey.json answered with its defaults."""
    with open(os.path.join(ROOT, "docs", "awx", f"{playbook}-survey.json"), encoding="utf-8") as handle:
        values = {question["variable"]: question["default"] for question in json.load(handle)["spec"]}
    assert set(answers) <= set(values), "answers to questions the survey does not ask"
    values.update(answers)
    path = installed.parent / f"{playbook}-answers.json"
    path.write_text(json.dumps(values))
    return "-e", "@" + str(path)


FAST = ("-e", "efk_wait_timeout=60")


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
class TestInstalledPlaybooks:
    """site, verify and teardown by FQCN, in the order a user runs them, on one cluster, as AWX jobs."""

    def test_site_in_check_mode_writes_nothing(self, installed, localcluster):
        localcluster.clear_requests()
        result = awx(installed, localcluster, "seclog.falco_efk.site", "--check", "--diff", *survey(installed, "site"), *FAST)
        assert result.returncode == 0, result.stdout + result.stderr
        assert localcluster.requests(), "the playbook did not reach the cluster"
        assert localcluster.writes() == []

    def test_site_converges_and_a_second_run_changes_nothing(self, installed, localcluster):
        answers = survey(installed, "site", falco_event_generator="true")
        result = awx(installed, localcluster, "seclog.falco_efk.site", *answers, *FAST)
        assert result.returncode == 0, result.stdout + result.stderr
        assert not re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s", result.stdout), result.stdout
        assert localcluster.endpoints["kubernetes"]["admin_token"] not in result.stdout + result.stderr
        result = awx(installed, localcluster, "seclog.falco_efk.site", *answers, *FAST)
        assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", result.stdout), result.stdout

    def test_verify_passes(self, installed, localcluster):
        result = awx(installed, localcluster, "seclog.falco_efk.verify")
        assert result.returncode == 0 and "Kibana is available" in result.stdout, result.stdout + result.stderr

    def test_teardown_removes_and_then_has_nothing_left_to_do(self, installed, localcluster):
        result = awx(installed, localcluster, "seclog.falco_efk.teardown", *survey(installed, "teardown"), *FAST)
        assert result.returncode == 0 and not re.search(r"ok=\d+\s+changed=0\s", result.stdout), result.stdout + result.stderr
        result = awx(installed, localcluster, "seclog.falco_efk.teardown", *survey(installed, "teardown"), *FAST)
        assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", result.stdout), result.stdout


def test_site_with_a_missing_kubeconfig_fails_naming_the_option(installed, tmp_path):
    missing = str(tmp_path / "nope")
    result = run(installed, missing, "seclog.falco_efk.site")
    assert result.returncode != 0
    assert "The kubeconfig file given in 'kubeconfig' (or K8S_AUTH_KUBECONFIG) does not exist" in result.stdout
    assert missing not in result.stdout  # kubeconfig is no_log: its value never reaches the output


@pytest.mark.parametrize("localcluster", [("1.30", "gke")], indirect=True)
def test_a_wrong_token_fails_naming_the_credential_and_writes_nothing(installed, localcluster):
    localcluster.clear_requests()
    result = awx(installed, localcluster, "seclog.falco_efk.site", token="not-the-token")
    assert result.returncode != 0
    assert "401" in result.stdout or "Unauthorized" in result.stdout, result.stdout[-3000:]
    assert "not-the-token" not in result.stdout + result.stderr
    assert localcluster.writes() == []
