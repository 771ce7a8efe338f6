"""Each role's README lists every variable of its argument spec, with the same default."""

from __future__ import annotations

import os
import re

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
