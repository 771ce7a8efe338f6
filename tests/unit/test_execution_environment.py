"""The execution environment (execution-environment.yml), checked as far as a machine without a container engine can.

ansible-builder writes the build context from a freshly built collection tarball; the galaxy stage's
`ansible-galaxy collection install` is replayed here, with /build mapped to a temporary directory; and
`ansible-builder introspect` reports the Python and system requirements the builder stage would install.
Every step runs on copies in tmp_path, never in the checkout's tests/output, so parallel runs do not collide.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = "execution-environment.yml"
# Where the galaxy stage copies the context's _build/ and installs from (ansible-builder 3.x Containerfile).
IMAGE_BUILD_DIR = "/build"


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: run `make setup` (test-requirements.txt pins ansible-builder)")
    return str(path)


def _run(*command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    # No ansible.cfg from the checkout, no collections from `make units`' environment: only what the test installs.
    environ = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    environ.update(ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", **env)
    return subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120, check=False)


def _load(path: Path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


EE = _load(ROOT / EE_FILE)
GALAXY = _load(ROOT / "galaxy.yml")
TARBALL_GLOB = next((entry["src"] for entry in EE.get("additional_build_files", []) if entry["src"].endswith(".tar.gz")), "")


def _copy_ee(destination: Path, tarball: Path | None) -> Path:
    """The EE file, the requirements files it names and (unless None) the tarball where its glob looks."""
    destination.mkdir(parents=True)
    shutil.copy(ROOT / EE_FILE, destination / EE_FILE)
    for key in ("galaxy", "python", "system"):
        if isinstance(EE["dependencies"].get(key), str):
            (destination / EE["dependencies"][key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / EE["dependencies"][key], destination / EE["dependencies"][key])
    if tarball is not None:
        (destination / TARBALL_GLOB).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tarball, destination / Path(TARBALL_GLOB).parent / tarball.name)
    return destination / EE_FILE


def _create(ee_file: Path) -> tuple[subprocess.CompletedProcess, Path]:
    context = ee_file.parent / "context"
    result = _run(_tool("ansible-builder"), "create", "--file", str(ee_file), "--context", str(context),
                  "--output-filename", "Containerfile", cwd=ee_file.parent)
    return result, context


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("tarball")
    result = _run(_tool("ansible-galaxy"), "collection", "build", "--output-path", str(output), str(ROOT), cwd=output)
    assert result.returncode == 0, result.stderr
    (built,) = output.glob("*.tar.gz")
    return built


@pytest.fixture(scope="module")
def created(tmp_path_factory, tarball) -> tuple[subprocess.CompletedProcess, Path]:
    return _create(_copy_ee(tmp_path_factory.mktemp("ee") / "checkout", tarball))


@pytest.fixture(scope="module")
def containerfile(created) -> list[str]:
    result, context = created
    assert result.returncode == 0, result.stdout + result.stderr
    return (context / "Containerfile").read_text(encoding="utf-8").splitlines()


def _tarball_copy(containerfile: list[str]) -> tuple[str, str]:
    """(source glob in the context, destination in the image) of the step that renames the tarball."""
    lines = [line for line in containerfile if line.startswith("COPY _build/") and line.split()[1].endswith(".tar.gz")]
    assert len(lines) == 1, f"{EE_FILE}: expected one prepend_galaxy step that copies the tarball to a version-free name"
    source, destination = lines[0].split()[1:]
    return source, destination


def _file_requirements() -> list[str]:
    requirements = _load(ROOT / EE["dependencies"]["galaxy"])
    return [entry["name"] for entry in requirements["collections"] if entry.get("type") == "file"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, created, containerfile) -> tuple[subprocess.CompletedProcess, Path]:
    """The galaxy stage, replayed: _build/ copied to /build, the tarball renamed, then `ansible-galaxy collection
    install -r requirements.yml`, offline, with kubernetes.core (from Galaxy in the image) taken from the venv."""
    context = created[1]
    stage = tmp_path_factory.mktemp("galaxy-stage")
    build = stage / "build"
    shutil.copytree(context / "_build", build)
    source, destination = _tarball_copy(containerfile)
    (match,) = context.glob(source)
    local_destination = build / Path(destination).relative_to(IMAGE_BUILD_DIR)
    local_destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(match, local_destination)
    requirements = (build / "requirements.yml").read_text(encoding="utf-8").replace(f"{IMAGE_BUILD_DIR}/", f"{build}/")
    (stage / "requirements.yml").write_text(requirements, encoding="utf-8")

    collections = stage / "collections"
    kubernetes = collections / "ansible_collections" / "kubernetes"
    kubernetes.mkdir(parents=True)
    where = _run(sys.executable, "-c", "import ansible_collections.kubernetes.core as c; print(list(c.__path__)[0])", cwd=stage)
    assert where.returncode == 0, where.stderr
    (kubernetes / "core").symlink_to(where.stdout.strip())
    result = _run(_tool("ansible-galaxy"), "collection", "install", "--offline", "-r", str(stage / "requirements.yml"),
                  "-p", str(collections), cwd=build, ANSIBLE_COLLECTIONS_PATH=str(collections))
    return result, collections


@pytest.fixture(scope="module")
def introspected(installed) -> dict[str, dict[str, list[str]]]:
    """{"python"|"system": {collection: [requirement, ...]}} as `ansible-builder introspect` reports them."""
    collections = installed[1]
    result = _run(_tool("ansible-builder"), "introspect", str(collections), cwd=collections)
    assert result.returncode == 0, result.stdout + result.stderr
    report = yaml.safe_load(result.stdout)
    by_collection: dict[str, dict[str, list[str]]] = {"python": {}, "system": {}}
    for kind in by_collection:
        for line in report.get(kind) or []:
            requirement, collection = line.split("  # from collection ")
            by_collection[kind].setdefault(collection, []).append(requirement.strip())
    return by_collection


def _names(requirements: list[str]) -> set[str]:
    matches = (re.match(r"[A-Za-z0-9._-]+", requirement.strip()) for requirement in requirements)
    return {match.group(0).lower() for match in matches if match}


# ---------------------------------------------------------------- the definition
def test_ee_pins_the_ansible_core_that_make_test_checks_and_an_ansible_runner():
    pins = dict(line.split("==") for line in (ROOT / "test-requirements.txt").read_text(encoding="utf-8").splitlines()
                if re.match(r"^[A-Za-z0-9._-]+==", line))
    assert EE["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core=={pins['ansible-core']}"
    assert re.fullmatch(r"ansible-runner==2\.4\.\d+", EE["dependencies"]["ansible_runner"]["package_pip"])


def test_ee_python_is_one_ansible_core_2_19_supports():
    version = re.fullmatch(r"/usr/bin/python(\d+)\.(\d+)", EE["dependencies"]["python_interpreter"]["python_path"])
    assert version and (3, 11) <= tuple(map(int, version.groups())) <= (3, 13)
    assert EE["dependencies"]["python_interpreter"]["package_system"] == f"python{version.group(1)}.{version.group(2)}"


def test_ee_installs_kubernetes_core_in_the_range_galaxy_yml_declares():
    requirements = _load(ROOT / EE["dependencies"]["galaxy"])["collections"]
    assert {entry["name"]: entry.get("version") for entry in requirements if entry.get("type") != "file"} == GALAXY["dependencies"]


def test_ee_takes_the_tarball_from_where_make_build_writes_it(tarball):
    assert TARBALL_GLOB, f"{EE_FILE}: additional_build_files copies no collection tarball"
    assert fnmatch.fnmatch(tarball.name, Path(TARBALL_GLOB).name), f"{tarball.name} does not match {TARBALL_GLOB} in {EE_FILE}"
    assert tarball.name == f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    assert f"--output-path {Path(TARBALL_GLOB).parent} " in (ROOT / "Makefile").read_text(encoding="utf-8")


# ---------------------------------------------------------------- ansible-builder create
def test_create_writes_the_build_context_without_a_warning(created):
    result, context = created
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No matches" not in result.stdout + result.stderr
    assert (context / "Containerfile").is_file()


def test_containerfile_starts_from_the_base_image_with_the_ee_python(containerfile):
    assert f'ARG EE_BASE_IMAGE="{EE["images"]["base_image"]["name"]}"' in containerfile
    assert f'ARG PYCMD="{EE["dependencies"]["python_interpreter"]["python_path"]}"' in containerfile
    assert f'ARG PYPKG="{EE["dependencies"]["python_interpreter"]["package_system"]}"' in containerfile


def test_containerfile_installs_ansible_core_and_ansible_runner_at_the_pins(containerfile):
    refs = f'{EE["dependencies"]["ansible_core"]["package_pip"]} {EE["dependencies"]["ansible_runner"]["package_pip"]}'
    assert f'ARG ANSIBLE_INSTALL_REFS="{refs}"' in containerfile
    assert "RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS" in containerfile


def test_containerfile_installs_the_collections_with_the_requirements(containerfile, created):
    context = created[1]
    install = [line for line in containerfile if "ansible-galaxy collection install" in line]
    assert len(install) == 1 and " -r requirements.yml " in install[0], install
    assert (context / "_build" / "requirements.yml").read_text(encoding="utf-8") == \
        (ROOT / EE["dependencies"]["galaxy"]).read_text(encoding="utf-8")


def test_context_holds_the_tarball_and_the_image_renames_it_before_the_install(containerfile, created, tarball):
    context = created[1]
    source, destination = _tarball_copy(containerfile)
    assert [path.name for path in context.glob(source)] == [tarball.name], "the COPY needs exactly one source"
    assert (context / "_build").joinpath(*Path(source).parts[1:-1], tarball.name).read_bytes() == tarball.read_bytes()
    assert _file_requirements() == [destination]
    copy_at = containerfile.index(f"COPY _build/{Path(source).relative_to('_build')} {destination}")
    install_at = next(index for index, line in enumerate(containerfile) if "ansible-galaxy collection install" in line)
    assert containerfile.index(f"WORKDIR {IMAGE_BUILD_DIR}") < install_at and copy_at < install_at


def test_create_only_warns_when_the_tarball_is_missing_so_the_image_build_would_fail_at_copy(tmp_path, containerfile):
    # ansible-builder does not check additional_build_files: the context simply lacks the tarball, and the
    # container engine's COPY (no source file) is the first to fail. The tests above are what catch it here.
    result, context = _create(_copy_ee(tmp_path / "checkout", tarball=None))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"No matches for '{TARBALL_GLOB}' in additional_build_files." in result.stdout
    source = _tarball_copy(containerfile)[0]
    assert list(context.glob(source)) == []


# ---------------------------------------------------------------- the galaxy stage and introspection
def test_galaxy_stage_installs_this_collection_from_the_renamed_tarball(installed):
    result, collections = installed
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((collections / "ansible_collections" / "seclog" / "falco_efk" / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["collection_info"]["version"] == GALAXY["version"]
    assert manifest["collection_info"]["dependencies"] == GALAXY["dependencies"]
    assert "'kubernetes.core:" in result.stdout and "is already installed, skipping" in result.stdout
    assert f"{GALAXY['namespace']}.{GALAXY['name']}:{GALAXY['version']} was installed successfully" in result.stdout


def test_introspection_finds_our_python_requirements(introspected):
    assert _names(introspected["python"]["seclog.falco_efk"]) == {"kubernetes", "jsonpatch", "kubernetes-validate"}
    assert "kubernetes" in _names(introspected["python"]["kubernetes.core"])


def test_pyyaml_is_left_to_ansible_core_by_ansible_builder(introspected):
    # requirements.txt names PyYAML; ansible-builder drops it as "already present", since ansible-core needs it.
    ours = _names((ROOT / "requirements.txt").read_text(encoding="utf-8").split("\n"))
    assert "pyyaml" in ours and "pyyaml" not in _names(introspected["python"]["seclog.falco_efk"])
    assert "pyyaml" in _names(importlib.metadata.requires("ansible-core"))


def test_introspection_finds_our_system_requirements(introspected):
    assert "python3-pip [platform:rpm]" in introspected["system"]["seclog.falco_efk"]
