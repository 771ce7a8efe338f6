"""Running the collection's playbooks from the checkout against the local cluster."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


class PlaybookRun:
    """The outcome of one ansible-playbook run."""

    def __init__(self, result: subprocess.CompletedProcess):
        self.rc = result.returncode
        self.out = result.stdout + result.stderr
        match = re.search(r"localhost\s*:\s*(ok=.*)", self.out.split("PLAY RECAP")[-1])
        self.recap = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))} if match else {}

    def __repr__(self):
        errors = [line for line in self.out.splitlines() if line.startswith(("fatal:", "failed:", "[ERROR]"))]
        return f"PlaybookRun(rc={self.rc}, recap={self.recap})\n" + "\n".join(errors)[:3000] + f"\n{self.out[-3000:]}"


@pytest.fixture(name="playbook")
def run_playbook():
    """Run a playbook of the checkout (or a path) with extra vars; returns a PlaybookRun."""

    def run(path: str, kubeconfig: str, *args: str, **extra_vars) -> PlaybookRun:
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        command = [os.path.join(BIN, "ansible-playbook"), path if os.path.isabs(path) else os.path.join(ROOT, path),
                   "-e", f"falco_efk_kubeconfig={kubeconfig}"]
        for key, value in extra_vars.items():
            command += ["-e", f"{key}={value}"]
        return PlaybookRun(subprocess.run(command + list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False))

    return run
