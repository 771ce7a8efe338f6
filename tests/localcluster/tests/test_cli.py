"""`python -m localcluster up|down`: files written, a cluster that answers, nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def localcluster_cmd(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=TESTS_DIR)
    return subprocess.run([sys.executable, "-m", "localcluster", *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def test_up_writes_kubeconfigs_and_endpoints_and_down_leaves_no_process(tmp_path):
    directory = str(tmp_path / "lc")
    up = localcluster_cmd("up", "--dir", directory, "--profile", "1.15")
    assert up.returncode == 0, up.stderr
    try:
        with open(os.path.join(directory, "endpoints.json"), encoding="utf-8") as handle:
            endpoints = json.load(handle)
        assert endpoints["profile"] == "1.15" and endpoints["kubernetes"]["url"].startswith("https://127.0.0.1:")
        for name in ("kubeconfig", "kubeconfig-restricted"):
            assert os.stat(os.path.join(directory, name)).st_mode & 0o077 == 0
        kubectl = os.path.join(os.path.dirname(sys.executable), "kubectl")
        version = subprocess.run([kubectl, "version", "-o", "json", "--kubeconfig", os.path.join(directory, "kubeconfig")],
                                 capture_output=True, text=True, timeout=60, check=False)
        assert json.loads(version.stdout)["serverVersion"]["minor"].startswith("15")
        pid = endpoints["pid"]
        assert localcluster_cmd("up", "--dir", directory).returncode == 0  # already running: a no-op
    finally:
        down = localcluster_cmd("down", "--dir", directory)
    assert down.returncode == 0, down.stderr
    time.sleep(0.1)
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
