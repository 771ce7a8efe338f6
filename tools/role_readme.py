"""Each role's README variables table, generated from its argument spec and its defaults.

For every role under ``roles/``, the rows come from ``meta/argument_specs.yml`` (entry point ``main``,
its options in file order) and ``defaults/main.yml``, and go between two marker lines in the README's
"## Variables" section. Text outside the markers is left as it is.

    python tools/role_readme.py [--check] [--root DIR] [ROLE ...]

Without ``--check`` it rewrites the READMEs that differ and says which. With ``--check`` it writes
nothing, prints a diff per stale README and exits 1 (the unit tests run it so).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADING = "## Variables"
BEGIN = "<!-- variables: generated from meta/argument_specs.yml by tools/role_readme.py (make readmes); do not edit by hand -->"
END = "<!-- end of variables -->"
HEADER = ["| variable | default | meaning |", "|---|---|---|"]
LONGEST_DEFAULT = 80
HINT = "run `make readmes` (python tools/role_readme.py)"

# Ansible's documentation markup. A macro's argument may escape ")" (and "," in L()) with a backslash.
_MARKUP = re.compile(
    r"\bL\((?P<text>(?:[^\\),]|\\.)*),(?P<url>(?:[^\\)]|\\.)*)\)"
    r"|\b(?P<macro>RV|[BCEIMOPUV])\((?P<arg>(?:[^\\)]|\\.)*)\)"
)
_HEADING_LINE = re.compile(r"^#{1,2}\s")


class ReadmeError(Exception):
    """A role's files cannot be turned into its variables table."""


def code(text: str) -> str:
    """Markdown code span of text (a longer fence when the text holds a backtick)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def markup_to_markdown(text: str) -> str:
    """Convert Ansible markup (O(), V(), C(), M(), E(), P(), RV(), I(), B(), U(), L()) to Markdown."""

    def convert(match: re.Match) -> str:
        if match.group("macro") is None:
            return f"[{_unescape(match.group('text')).strip()}]({_unescape(match.group('url')).strip()})"
        macro, arg = match.group("macro"), _unescape(match.group("arg"))
        if macro == "I":
            return f"*{arg}*"
        if macro == "B":
            return f"**{arg}**"
        if macro == "U":
            return arg
        if macro == "P":
            # P(fqcn#type): the plugin's name is what a reader looks for.
            return code(arg.split("#", 1)[0])
        return code(arg)

    return _MARKUP.sub(convert, text)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def cell(text: str) -> str:
    """Text fit for one table cell: on one line, with ``|`` escaped."""
    return " ".join(text.splitlines()).strip().replace("|", "\\|")


def meaning_cell(description: object) -> str:
    """The meaning cell of an option's description (a string, or a list of paragraphs joined with spaces)."""
    if description is None:
        return ""
    if isinstance(description, list):
        description = " ".join(str(part) for part in description)
    return cell(markup_to_markdown(str(description)))


def _flow_yaml(value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip()
    # A lone scalar is dumped as a document of its own, ended with "...".
    return text[:-len("...")].rstrip() if text.endswith("\n...") else text


def value_cell(value: object, source: str) -> str:
    """A default as a cell: strings as they are, anything else as compact flow YAML, too long ones by reference to source."""
    if isinstance(value, str):
        if value == "":
            return '`""`'
        if "\n" in value:
            return f"see `{source}`"
        return cell(code(value))
    text = _flow_yaml(value)
    if len(text) > LONGEST_DEFAULT or "\n" in text:
        return f"see `{source}`"
    return cell(code(text))


def default_cell(name: str, spec: dict, defaults: dict) -> str:
    """The default cell: the role default if defaults/main.yml has one, else the spec's default, else unset."""
    if name in defaults:
        value = defaults[name]
        if "default" not in spec and isinstance(value, str) and "{{" in value and len(value) > LONGEST_DEFAULT:
            # Computed at run time and with no static default in the spec: a long expression reads better in its file.
            return "see `defaults/main.yml`"
        return value_cell(value, "defaults/main.yml")
    if "default" in spec:
        return value_cell(spec["default"], "meta/argument_specs.yml")
    return "unset"


def _load(role_dir: str, relative: str) -> object:
    role = os.path.basename(role_dir)
    try:
        with open(os.path.join(role_dir, relative), encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise ReadmeError(f"role {role}: roles/{role}/{relative} is not valid YAML ({error}); fix the file") from error


def table(role_dir: str) -> list[str]:
    """The variables block of the role at role_dir: markers, header and one row per option of entry point main."""
    role = os.path.basename(role_dir)
    specs = _load(role_dir, "meta/argument_specs.yml")
    try:
        options = specs["argument_specs"]["main"].get("options") or {}
    except (KeyError, TypeError, AttributeError) as error:
        raise ReadmeError(f"role {role}: meta/argument_specs.yml has no entry point `main`; add argument_specs.main.options") from error
    defaults = (_load(role_dir, "defaults/main.yml") if os.path.exists(os.path.join(role_dir, "defaults", "main.yml")) else None) or {}
    rows = []
    for name, spec in options.items():
        spec = spec or {}
        rows.append(f"| {cell(code(name))} | {default_cell(name, spec, defaults)} | {meaning_cell(spec.get('description'))} |")
    return [BEGIN, *HEADER, *rows, END]


def _outside_fences(lines: list[str]) -> list[bool]:
    """For each line, whether it is outside fenced code (where a "## Variables" line would be an example, not a heading)."""
    outside, fenced = [], False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            outside.append(False)
        else:
            outside.append(not fenced)
    return outside


def update_readme(text: str, block: list[str]) -> str:
    """text with its variables block replaced by block.

    Between existing markers; else in place of the first table under "## Variables" (a README from before the
    generator); else at the end of that section; else in a new "## Variables" section at the end.
    """
    lines = text.splitlines()
    stripped = [line.strip() for line in lines]
    if BEGIN in stripped:
        start = stripped.index(BEGIN)
        if END not in stripped[start:]:
            raise ReadmeError(f"the line `{END}` is missing after the begin marker; restore it, or delete the begin marker")
        lines[start:stripped.index(END, start) + 1] = block
        return "\n".join(lines) + "\n"
    outside = _outside_fences(lines)
    heading = next((index for index, line in enumerate(stripped) if line == HEADING and outside[index]), None)
    if heading is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ([""] if lines else []) + [HEADING, ""] + block
        return "\n".join(lines) + "\n"
    end = next((index for index in range(heading + 1, len(lines)) if outside[index] and _HEADING_LINE.match(lines[index])), len(lines))
    first = next((index for index in range(heading + 1, end) if outside[index] and stripped[index].startswith("|")), None)
    if first is None:
        last = max(index for index in range(heading, end) if stripped[index])
        lines[last + 1:last + 1] = [""] + block
        return "\n".join(lines) + "\n"
    after = first
    while after < end and stripped[after].startswith("|"):
        after += 1
    lines[first:after] = block
    return "\n".join(lines) + "\n"


def roles(root: str) -> list[str]:
    """The roles under root/roles that have an argument spec (a role without one has no table to generate)."""
    roles_dir = os.path.join(root, "roles")
    return sorted(name for name in os.listdir(roles_dir) if os.path.isfile(os.path.join(roles_dir, name, "meta", "argument_specs.yml")))


def render(root: str, role: str) -> tuple[str, str]:
    """(the README of role as it is, as it should be)."""
    role_dir = os.path.join(root, "roles", role)
    if not os.path.isfile(os.path.join(role_dir, "meta", "argument_specs.yml")):
        raise ReadmeError(f"role {role}: no roles/{role}/meta/argument_specs.yml under {root}; name a role that has one")
    path = os.path.join(role_dir, "README.md")
    current = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    try:
        return current, update_readme(current, table(role_dir))
    except ReadmeError as error:
        raise ReadmeError(f"role {role}: roles/{role}/README.md: {error}") from error


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with --check, compare) the variables table of each role's README."""
    parser = argparse.ArgumentParser(description="Generate each role's README variables table from meta/argument_specs.yml and defaults/main.yml.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff when a README is stale")
    parser.add_argument("--root", default=ROOT, help="the collection root (default: this checkout)")
    parser.add_argument("roles", nargs="*", metavar="ROLE", help="roles to handle (default: every role with an argument spec)")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    stale = []
    try:
        for role in args.roles or roles(root):
            current, wanted = render(root, role)
            if current == wanted:
                continue
            stale.append(role)
            readme = f"roles/{role}/README.md"
            if args.check:
                print(f"{role}: {readme} is stale")
                for line in difflib.unified_diff(current.splitlines(), wanted.splitlines(), readme, f"{readme} (generated)", lineterm=""):
                    print(line)
            else:
                with open(os.path.join(root, readme), "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(wanted)
                print(f"{role}: {readme} updated")
    except (OSError, ReadmeError) as error:
        print(f"role_readme: {error}", file=sys.stderr)
        return 2
    if args.check and stale:
        print(f"role_readme: the variables table of {', '.join(stale)} is stale; {HINT}")
        return 1
    if not stale:
        print("role_readme: every role README is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
