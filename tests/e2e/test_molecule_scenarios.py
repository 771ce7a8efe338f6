"""The molecule scenarios as far as this machine can run them.

The kind scenario needs Docker. Its create and destroy playbooks run here against a stand-in ``kind`` that
records its arguments and hands out the local cluster, so what they ask of kind, their idempotence and
their errors are tested. Its converge and verify are the default scenario's playbooks, which `make test`
runs on the local cluster; that they are the same files is asserted here.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE = os.path.join(ROOT, "extensions", "molecule")
KIND = os.path.join(MOLECULE, "kind")
BIN = os.path.dirname(sys.executable)

FAKE_KIND = textwrap.dedent('''\
    #!{python}
    """A stand-in for kind: records each call; "creating" a cluster hands out the local cluster's kubeconfig."""
    import json, os, sys
    import yaml
    state = os.environ["FAKE_KIND_STATE"]
    data = json.load(open(state)) if os.path.exists(state) else {{"clusters": [], "calls": []}}
    args = sys.argv[1:]
    data["calls"].append(args)
    flags = dict(arg[2:].split("=", 1) for arg in args if arg.startswith("--") and "=" in arg)
    if args[:1] == ["version"]:
        print("kind v0.33.0 go1.25.1 linux/amd64")
    elif args[:2] == ["get", "clusters"]:
        print("\\n".join(data["clusters"]) if data["clusters"] else "No kind clusters found.", file=sys.stdout if data["clusters"] else sys.stderr)
    elif args[:2] == ["create", "cluster"]:
        name = flags["name"]
        if name in data["clusters"]:
            sys.exit('ERROR: failed to create cluster: node(s) already exist for a cluster with the name "%s"' % name)
        config = yaml.safe_load(open(os.environ["FAKE_KIND_KUBECONFIG"]))
        config["contexts"][0]["name"] = "kind-" + name
        config["current-context"] = "kind-" + name
        os.makedirs(os.path.dirname(flags["kubeconfig"]), exist_ok=True)
        with open(flags["kubeconfig"], "w") as handle:
            yaml.safe_dump(config, handle)
        data["clusters"].append(name)
    elif args[:2] == ["delete", "cluster"]:
        data["clusters"] = [c for c in data["clusters"] if c != flags["name"]]
    json.dump(data, open(state, "w"))
''')


def _scenario(name: str) -> dict:
    with open(os.path.join(MOLECULE, name, "molecule.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _workflow() -> dict:
    with open(os.path.join(ROOT, ".github", "workflows", "ci.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class KindScenario:
    """Runs the kind scenario's own playbooks with its own inventory, as molecule would, with a stand-in kind."""

    def __init__(self, tmp_path, localcluster, with_kind: bool = True):
        self.tmp = tmp_path
        self.state = str(tmp_path / "kind-state.json")
        self.ephemeral = tmp_path / "ephemeral"
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        if with_kind:
            fake = self.bin / "kind"
            fake.write_text(FAKE_KIND.format(python=sys.executable))
            fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        self.inventory = tmp_path / "inventory.yml"
        self.inventory.write_text(yaml.safe_dump(_scenario("kind")["provisioner"]["inventory"]["hosts"]))
        self.localcluster = localcluster

    def run(self, playbook: str, **env) -> subprocess.CompletedProcess:
        environment = dict(os.environ, PATH=f"{self.bin}:{BIN}:/usr/bin:/bin", FAKE_KIND_STATE=self.state,
                           FAKE_KIND_KUBECONFIG=self.localcluster.kubeconfig, MOLECULE_SCENARIO_DIRECTORY=KIND,
                           MOLECULE_EPHEMERAL_DIRECTORY=str(self.ephemeral), MOLECULE_PROJECT_DIRECTORY=os.path.join(ROOT, "extensions"),
                           ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_LOCALHOST_WARNING="false", **env)
        if "KIND_NODE_IMAGE" not in env:
            environment.pop("KIND_NODE_IMAGE", None)  # CI's kind job sets it; the scenario's default is under test here
        return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(self.inventory), os.path.join(KIND, playbook)],
                              capture_output=True, text=True, env=environment, cwd=ROOT, timeout=300, check=False)

    def calls(self) -> list[list[str]]:
        """kind's calls that change something (create, delete)."""
        if not os.path.exists(self.state):
            return []
        with open(self.state, encoding="utf-8") as handle:
            return [call for call in json.load(handle)["calls"] if call[0] in ("create", "delete")]


def _changed(result: subprocess.CompletedProcess) -> int:
    return int(re.search(r"changed=(\d+)", result.stdout.split("PLAY RECAP")[-1]).group(1))


def test_kind_scenario_runs_the_default_scenarios_converge_and_verify():
    kind, default = _scenario("kind"), _scenario("default")
    for step in ("converge", "verify"):
        assert os.path.normpath(os.path.join(KIND, kind["provisioner"]["playbooks"][step])) == \
            os.path.normpath(os.path.join(MOLECULE, "default", default["provisioner"]["playbooks"][step]))
    sequence = kind["scenario"]["test_sequence"]
    assert [s for s in sequence if s in ("create", "converge", "idempotence", "verify")] == ["create", "converge", "idempotence", "verify"]
    assert sequence[-1] == "destroy"
    assert kind["driver"]["options"]["managed"] is True
    default_steps = default["scenario"]["test_sequence"]
    assert default_steps.index("converge") < default_steps.index("idempotence") < default_steps.index("verify")


def test_kind_nodes_carry_the_host_paths_falcos_drivers_need():
    with open(os.path.join(KIND, "kind-config.yaml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    for node in config["nodes"]:
        assert {m["containerPath"] for m in node.get("extraMounts", [])} >= {"/dev", "/lib/modules", "/usr/src"}, node["role"]


def test_ci_matrix_pins_kind_images_by_digest_and_the_scenario_defaults_to_the_newest():
    matrix = _workflow()["jobs"]["kind"]["strategy"]["matrix"]["include"]
    images = [entry["node_image"] for entry in matrix]
    assert len(images) >= 3
    for entry in matrix:
        assert re.fullmatch(r"kindest/node:v(\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}", entry["node_image"]), entry
        assert entry["node_image"].startswith(f"kindest/node:v{entry['kubernetes']}."), entry
    minors = [tuple(map(int, entry["kubernetes"].split("."))) for entry in matrix]
    assert minors == sorted(minors, reverse=True), "newest first"
    default_image = _scenario("kind")["provisioner"]["inventory"]["hosts"]["all"]["vars"]["falco_efk_kind_node_image"]
    assert images[0] in default_image


def test_ci_runs_make_test_and_the_kind_scenario_per_image():
    jobs = _workflow()["jobs"]
    assert any(step.get("run") == ".ci/run" for step in jobs["test"]["steps"])
    kind_steps = " ".join(step.get("run", "") for step in jobs["kind"]["steps"])
    assert "make molecule-kind" in kind_steps
    assert jobs["kind"]["env"]["KIND_NODE_IMAGE"] == "${{ matrix.node_image }}"


@pytest.mark.parametrize("localcluster", [("1.30", "gke")], indirect=True)
def test_kind_create_is_idempotent_and_destroy_removes_the_cluster(localcluster, tmp_path):
    scenario = KindScenario(tmp_path, localcluster)

    first = scenario.run("create.yml")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _changed(first) == 1
    (create,) = scenario.calls()
    assert create[:2] == ["create", "cluster"]
    assert "--name=seclog-falco-efk" in create
    assert "--config=" + os.path.join(KIND, "kind-config.yaml") in create
    assert "--kubeconfig=" + str(scenario.ephemeral / "kubeconfig") in create
    assert any(re.fullmatch(r"--image=kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}", arg) for arg in create), create

    again = scenario.run("create.yml")
    assert again.returncode == 0 and _changed(again) == 0, again.stdout
    assert len(scenario.calls()) == 1, "a second create must not call kind create"

    gone = scenario.run("destroy.yml")
    assert gone.returncode == 0 and _changed(gone) == 1, gone.stdout
    assert scenario.calls()[-1][:2] == ["delete", "cluster"] and "--name=seclog-falco-efk" in scenario.calls()[-1]
    idle = scenario.run("destroy.yml")
    assert idle.returncode == 0 and _changed(idle) == 0, idle.stdout
    assert len(scenario.calls()) == 2


@pytest.mark.parametrize("localcluster", [("1.30", "gke")], indirect=True)
def test_kind_node_image_comes_from_the_environment(localcluster, tmp_path):
    scenario = KindScenario(tmp_path, localcluster)
    image = "kindest/node:v1.34.11@sha256:" + "0" * 64
    result = scenario.run("create.yml", KIND_NODE_IMAGE=image)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--image=" + image in scenario.calls()[0]


@pytest.mark.parametrize("localcluster", [("1.30", "gke")], indirect=True)
def test_kind_create_without_kind_says_what_is_missing_and_the_alternative(localcluster, tmp_path):
    result = KindScenario(tmp_path, localcluster, with_kind=False).run("create.yml")
    assert result.returncode != 0
    assert "The kind scenario needs kind" in result.stdout
    assert "molecule test -s default" in result.stdout
