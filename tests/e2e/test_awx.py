"""The collection as AWX runs it: no kubeconfig file, only the K8S_AUTH_* variables that AWX's
"OpenShift or Kubernetes API Bearer Token" credential injects, and every input as an extra variable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def _awx_run(localcluster, tmp_path, playbook: str, *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook with the environment an AWX job has: a credential's K8S_AUTH_*, an empty home."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    api = localcluster.endpoints["kubernetes"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("K8S_AUTH_", "KUBECONFIG"))}
    env.update(HOME=str(home), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               K8S_AUTH_HOST=api["url"], K8S_AUTH_API_KEY=api["admin_token"], K8S_AUTH_SSL_CA_CERT=api["ca"], K8S_AUTH_VERIFY_SSL="true")
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, playbook), *args], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), timeout=600, check=False)


def _survey_answers(tmp_path, playbook: str, **answers) -> str:
    """The extra variables AWX passes for a survey of docs/awx/ answered with its defaults (and these answers)."""
    with open(os.path.join(ROOT, "docs", "awx", f"{playbook}-survey.json"), encoding="utf-8") as handle:
        spec = json.load(handle)["spec"]
    values = {question["variable"]: question["default"] for question in spec}
    assert set(answers) <= set(values), "answers to questions the survey does not ask"
    values.update(answers)
    path = tmp_path / f"{playbook}-answers.json"
    path.write_text(json.dumps(values))
    return "@" + str(path)


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_site_and_verify_run_on_a_bearer_token_credential_alone(localcluster, tmp_path):
    """site with the survey's answers (strings, as AWX passes multiple-choice answers) and the credential's K8S_AUTH_*."""
    site = _awx_run(localcluster, tmp_path, "playbooks/site.yml", "-e", _survey_answers(tmp_path, "site", falco_event_generator="true"),
                    "-e", "efk_wait_timeout=60", "-e", "falco_wait_timeout=60", "-e", "kibana_dashboards_wait_timeout=60")
    assert site.returncode == 0, site.stdout[-4000:] + site.stderr[-2000:]
    assert localcluster.kubectl("-n", "logging", "get", "daemonset", "falco", "fluentd-es").returncode == 0
    assert localcluster.endpoints["kubernetes"]["admin_token"] not in site.stdout + site.stderr

    verify = _awx_run(localcluster, tmp_path, "playbooks/verify.yml", "-e", "falco_efk_verify_timeout=60")
    assert verify.returncode == 0, verify.stdout[-4000:] + verify.stderr[-2000:]
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", verify.stdout), verify.stdout[-2000:]


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
