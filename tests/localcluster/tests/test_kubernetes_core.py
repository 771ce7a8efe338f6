"""kubernetes.core.k8s applies and waits on the local cluster; a second run changes nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "workloads.yml")


def run_playbook(localcluster, *extra: str) -> subprocess.CompletedProcess:
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return subprocess.run([playbook, PLAYBOOK, "-e", f"kubeconfig={localcluster.kubeconfig}", *extra],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


def recap(output: str) -> dict[str, int]:
    match = re.search(r"localhost\s*:\s*(.*)", output.split("PLAY RECAP")[-1])
    assert match, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_k8s_applies_waits_and_is_idempotent(localcluster):
    first = run_playbook(localcluster)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["changed"] == 2
    revision = localcluster.cluster.store.revision
    second = run_playbook(localcluster)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout)["changed"] == 0
    # kubernetes.core sends its definition as a PATCH even when nothing differs; the server must
    # treat that as the no-op it is: no object gets a new resourceVersion.
    assert localcluster.cluster.store.revision == revision


def test_check_mode_makes_no_writes(localcluster):
    localcluster.clear_requests()
    result = run_playbook(localcluster, "--check", "-e", "unused=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert localcluster.writes() == []
