"""AWX/Tower survey specifications for the site and teardown job templates, from the roles' argument specs.

Each question is one role variable: its type, choices and default come from the role's
``meta/argument_specs.yml`` and ``defaults/main.yml``, so a survey cannot offer a value the role refuses.
The files land in ``docs/awx/<playbook>-survey.json``, ready for AWX's API
(``POST /api/v2/job_templates/<id>/survey_spec/``) or the ``awx.awx.job_template`` module's ``survey_spec``.

    python tools/awx_survey.py [--check] [--root DIR]
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HINT = "run `make readmes` (python tools/awx_survey.py)"

# The questions worth asking at launch, per job template. Connection and credentials come from the AWX
# credential (K8S_AUTH_*), stages are skipped with the job template's skip tags, and everything else
# stays at the role defaults (or the job template's extra variables).
SURVEYS = {
    "site": {
        "name": "Falco and EFK on Kubernetes",
        "description": "Install or update the stack. Every answer is a role variable; see the roles' README files.",
        "questions": [
            ("prerequisites", "prerequisites_fail_on"),
            ("prerequisites", "prerequisites_grant_cluster_admin"),
            ("prerequisites", "prerequisites_cluster_admin_user"),
            ("efk", "efk_namespace"),
            ("efk", "efk_elasticsearch_version"),
            ("efk", "efk_elasticsearch_replicas"),
            ("efk", "efk_elasticsearch_memory"),
            ("efk", "efk_elasticsearch_storage_class"),
            ("efk", "efk_elasticsearch_storage_size"),
            ("falco", "falco_driver"),
            ("falco", "falco_minimum_priority"),
            ("falco", "falco_event_generator"),
        ],
    },
    "teardown": {
        "name": "Remove Falco and EFK",
        "description": "Remove what site installed. Data and credentials stay unless you purge them.",
        "questions": [
            ("efk", "efk_namespace"),
            ("efk", "efk_purge_data"),
        ],
    },
}


class SurveyError(Exception):
    """A survey question cannot be made from the role's argument spec."""


def _markup():
    """markup_to_markdown from the README generator beside this file (one conversion for both)."""
    spec = importlib.util.spec_from_file_location("role_readme", os.path.join(os.path.dirname(os.path.abspath(__file__)), "role_readme.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.markup_to_markdown


def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def question(root: str, role: str, variable: str, markdown) -> dict:
    """One AWX survey question for a role variable."""
    options = _load(os.path.join(root, "roles", role, "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    if variable not in options:
        raise SurveyError(f"{role} has no variable {variable} in meta/argument_specs.yml; remove it from SURVEYS or add it to the role.")
    spec = options[variable]
    default = _load(os.path.join(root, "roles", role, "defaults", "main.yml")).get(variable, spec.get("default"))
    if isinstance(default, str) and "{{" in default:
        raise SurveyError(f"{role}.{variable} defaults to a Jinja expression, which a survey cannot show; leave it out of the survey.")
    description = spec.get("description", "")
    description = " ".join(description) if isinstance(description, list) else description
    item = {"question_name": variable, "question_description": markdown(description).replace("`", ""), "variable": variable, "required": False}
    kind = spec.get("type", "str")
    if kind == "bool":
        item.update(type="multiplechoice", choices=["true", "false"], default="true" if default else "false")
    elif spec.get("choices"):
        item.update(type="multiplechoice", choices=[str(choice) for choice in spec["choices"]], default=str(default))
    elif kind == "int":
        item.update(type="integer", min=0, max=1000000, default=int(default))
    elif kind in ("str", "raw"):
        item.update(type="password" if spec.get("no_log") else "text", min=0, max=1024, default="" if default is None else str(default))
    else:
        raise SurveyError(f"{role}.{variable} is of type {kind}, which a survey question cannot hold; leave it out of the survey.")
    return item


def survey(root: str, name: str) -> dict:
    """The survey specification for one job template."""
    markdown = _markup()
    definition = SURVEYS[name]
    return {"name": definition["name"], "description": definition["description"],
            "spec": [question(root, role, variable, markdown) for role, variable in definition["questions"]]}


def render(root: str, name: str) -> str:
    """The survey as the file holds it."""
    return json.dumps(survey(root, name), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or check) docs/awx/<playbook>-survey.json for each job template."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a survey file is stale")
    parser.add_argument("--root", default=ROOT, help="the collection root (default: this checkout)")
    args = parser.parse_args(argv)
    stale = 0
    for name in SURVEYS:
        path = os.path.join(args.root, "docs", "awx", f"{name}-survey.json")
        try:
            wanted = render(args.root, name)
        except SurveyError as err:
            print(f"{name}: {err}", file=sys.stderr)
            return 2
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else ""  # pylint: disable=consider-using-with
        if current == wanted:
            continue
        if args.check:
            stale += 1
            print(f"{name}: {os.path.relpath(path, args.root)} is stale")
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), "committed", "generated"))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(wanted)
            print(f"{name}: wrote {os.path.relpath(path, args.root)}")
    if stale:
        print(HINT)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
