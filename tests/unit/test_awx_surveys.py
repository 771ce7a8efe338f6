"""The AWX surveys in docs/awx/ are generated from the roles' argument specs and agree with them."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "awx_survey.py")
_SPEC = importlib.util.spec_from_file_location("awx_survey", TOOL)
awx_survey = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(awx_survey)


def _options(role: str) -> dict:
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def test_committed_surveys_are_what_the_generator_makes():
    result = subprocess.run([sys.executable, TOOL, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("playbook", sorted(awx_survey.SURVEYS))
def test_every_question_offers_only_what_the_role_accepts(playbook):
    with open(os.path.join(ROOT, "docs", "awx", f"{playbook}-survey.json"), encoding="utf-8") as handle:
        survey = json.load(handle)
    assert survey["name"] and survey["description"] and survey["spec"]
    roles = dict((variable, role) for role, variable in awx_survey.SURVEYS[playbook]["questions"])
    for item in survey["spec"]:
        spec = _options(roles[item["variable"]])[item["variable"]]
        assert item["type"] in ("text", "password", "integer", "multiplechoice")
        if spec["type"] == "bool":
            assert item["choices"] == ["true", "false"] and item["default"] in item["choices"]
        elif "choices" in spec:
            assert item["choices"] == [str(choice) for choice in spec["choices"]] and item["default"] in item["choices"]
        elif spec["type"] == "int":
            assert item["type"] == "integer" and isinstance(item["default"], int)
        assert item["required"] is False, "every variable has a default; AWX must not force an answer"


def test_site_survey_asks_for_the_knobs_the_readme_names():
    variables = [question[1] for question in awx_survey.SURVEYS["site"]["questions"]]
    for name in ("efk_namespace", "efk_elasticsearch_version", "falco_driver", "falco_event_generator", "prerequisites_fail_on"):
        assert name in variables


def _copy(tmp_path) -> str:
    for part in ("roles", "docs/awx"):
        shutil.copytree(os.path.join(ROOT, part), tmp_path / part)
    return str(tmp_path)


def test_a_changed_argument_spec_makes_the_survey_stale_until_regenerated(tmp_path):
    root = _copy(tmp_path)
    specs = tmp_path / "roles" / "falco" / "meta" / "argument_specs.yml"
    data = yaml.safe_load(specs.read_text())
    data["argument_specs"]["main"]["options"]["falco_driver"]["choices"].append("ebpf")
    specs.write_text(yaml.safe_dump(data))
    stale = subprocess.run([sys.executable, TOOL, "--check", "--root", root], capture_output=True, text=True, check=False)
    assert stale.returncode == 1 and "site: docs/awx/site-survey.json is stale" in stale.stdout and '"ebpf"' in stale.stdout
    assert subprocess.run([sys.executable, TOOL, "--root", root], capture_output=True, check=False).returncode == 0
    assert subprocess.run([sys.executable, TOOL, "--check", "--root", root], capture_output=True, check=False).returncode == 0


def test_a_question_the_role_does_not_take_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setitem(awx_survey.SURVEYS, "teardown", {"name": "x", "description": "y", "questions": [("efk", "efk_no_such_thing")]})
    with pytest.raises(awx_survey.SurveyError, match="efk has no variable efk_no_such_thing"):
        awx_survey.survey(ROOT, "teardown")


def test_a_jinja_default_is_refused_with_the_reason():
    with pytest.raises(awx_survey.SurveyError, match="Jinja expression"):
        awx_survey.question(ROOT, "efk", "efk_kibana_base_path", str)
