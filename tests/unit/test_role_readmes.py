"""Each role's README lists every variable of its argument spec, with the same default, as tools/role_readme.py writes it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(name for name in os.listdir(os.path.join(ROOT, "roles")) if os.path.isdir(os.path.join(ROOT, "roles", name)))


def _rows(readme: str) -> dict[str, str]:
    """{variable: default cell} from the README's variables table."""
    rows = {}
    for line in readme.partition("## Variables")[2].splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| (.*?) \| ", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_variable_of_the_argument_spec(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(ROOT, "roles", role, "README.md"), encoding="utf-8") as handle:
        rows = _rows(handle.read())
    assert sorted(set(options) - set(rows)) == [], "variables missing from the README's table"
    assert sorted(set(rows) - set(options)) == [], "README documents variables the role does not take"
    for name, spec in options.items():
        default = spec.get("default")
        if isinstance(default, (str, int)) and not isinstance(default, bool) and "{{" not in str(default) and default != "":
            assert str(default) in rows[name], (name, default, rows[name])


# ---------------------------------------------------------------- the generator, tools/role_readme.py
GENERATOR = os.path.join(ROOT, "tools", "role_readme.py")


def _generator():
    spec = importlib.util.spec_from_file_location("role_readme", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_readme = _generator()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, GENERATOR, *args], capture_output=True, text=True, check=False)


def test_committed_readmes_match_their_argument_specs():
    result = _run("--check", "--root", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_names_the_stale_role_until_the_generator_rewrites_its_readme(tmp_path):
    shutil.copytree(os.path.join(ROOT, "roles", "prerequisites"), tmp_path / "roles" / "prerequisites")
    specs_path = tmp_path / "roles" / "prerequisites" / "meta" / "argument_specs.yml"
    specs = yaml.safe_load(specs_path.read_text(encoding="utf-8"))
    specs["argument_specs"]["main"]["options"]["prerequisites_fail_on"]["description"] = "Fail on C(error|warning) findings, see O(prerequisites_namespace)."
    specs_path.write_text(yaml.safe_dump(specs, sort_keys=False), encoding="utf-8")

    stale = _run("--check", "--root", str(tmp_path))
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "prerequisites" in stale.stdout and "make readmes" in stale.stdout
    assert "+| `prerequisites_fail_on` |" in stale.stdout

    assert _run("--root", str(tmp_path)).returncode == 0
    fresh = _run("--check", "--root", str(tmp_path))
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    readme = (tmp_path / "roles" / "prerequisites" / "README.md").read_text(encoding="utf-8")
    assert "| `error` | Fail on `error\\|warning` findings, see `prerequisites_namespace`. |" in readme
    assert "The binding is named" in readme.partition(role_readme.END)[2], "text after the table is kept"


@pytest.mark.parametrize(("description", "cell"), [
    ("V(present) installs; O(efk_state=absent) removes.", "`present` installs; `efk_state=absent` removes."),
    ("C(module_defaults) for M(kubernetes.core.k8s), E(KUBECONFIG)", "`module_defaults` for `kubernetes.core.k8s`, `KUBECONFIG`"),
    ("I(only) once, B(never) printed", "*only* once, **never** printed"),
    ("L(the docs, https://example.com/a) or U(https://example.com)", "[the docs](https://example.com/a) or https://example.com"),
    ("P(seclog.falco_efk.api_version_patch#module) first", "`seclog.falco_efk.api_version_patch` first"),
    ("C(a \\) b) and RV(changed)", "`a ) b` and `changed`"),
    ("V(a|b), or c | d", "`a\\|b`, or c \\| d"),
    (["First paragraph.", "Second, with C(code)."], "First paragraph. Second, with `code`."),
    ("ABC(not markup)", "ABC(not markup)"),
])
def test_meaning_cell_turns_ansible_markup_into_markdown(description, cell):
    assert role_readme.meaning_cell(description) == cell


@pytest.mark.parametrize(("spec", "defaults", "cell"), [
    ({"default": "x"}, {"v": "logging"}, "`logging`"),
    ({"default": ""}, {"v": ""}, '`""`'),
    ({}, {"v": "{{ a | int >= 8 }}"}, "`{{ a \\| int >= 8 }}`"),
    ({}, {"v": "{{ " + "a" * 80 + " }}"}, "see `defaults/main.yml`"),
    ({"default": [{"operator": "Exists"}]}, {}, "`[{operator: Exists}]`"),
    ({"default": 600}, {}, "`600`"),
    ({"default": {"key": "v" * 80}}, {}, "see `meta/argument_specs.yml`"),
    ({}, {}, "unset"),
])
def test_default_cell_prefers_the_role_default_then_the_spec(spec, defaults, cell):
    assert role_readme.default_cell("v", spec, defaults) == cell


def test_markers_replace_the_old_table_once_then_stay():
    block = [role_readme.BEGIN, *role_readme.HEADER, "| `v` | `1` | new |", role_readme.END]
    old = "# r\n\n## Variables\n\nIntro.\n\n| variable | default | meaning |\n|---|---|---|\n| `v` | `0` | old |\n\nAfter.\n"
    new = role_readme.update_readme(old, block)
    assert new == "# r\n\n## Variables\n\nIntro.\n\n" + "\n".join(block) + "\n\nAfter.\n"
    assert role_readme.update_readme(new, block) == new
    assert role_readme.update_readme("# r\n\nText.\n", block) == "# r\n\nText.\n\n## Variables\n\n" + "\n".join(block) + "\n"
