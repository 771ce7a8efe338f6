"""falco_rules as Ansible runs it: inline rules and files checked, assembled, and every problem reported at once."""

from __future__ import annotations

from unittest import mock

import yaml
from ansible.module_utils import basic

from ansible_collections.seclog.falco_efk.plugins.modules import falco_rules

RULE = {"rule": "Shell in container", "desc": "A shell was started in a container.",
        "condition": "spawned_process and container and proc.name in (shell_binaries)",
        "output": "Shell in container (user=%user.name cmdline=%proc.cmdline)", "priority": "WARNING"}
FILE_TEXT = """\
- list: shell_binaries
  items: [bash, sh]
- macro: spawned_process
  condition: evt.type in (execve, execveat) and evt.dir=<
"""


def test_inline_rules_and_files_are_assembled_in_order(run_module, tmp_path):
    custom = tmp_path / "Custom Rules.yaml"
    custom.write_text(FILE_TEXT)
    exited = run_module(falco_rules.main, {"rules": [RULE], "files": [str(custom)]})
    assert not exited.failed and exited.result["changed"] is False
    rules_files = exited.result["rules_files"]
    assert list(rules_files) == ["00-inline.yaml", "01-custom-rules.yaml"]
    assert yaml.safe_load(rules_files["00-inline.yaml"]) == [RULE]
    assert yaml.safe_load(rules_files["01-custom-rules.yaml"]) == yaml.safe_load(FILE_TEXT)
    assert [(s["kind"], s["name"]) for s in exited.result["summary"]] == [
        ("rule", "Shell in container"), ("list", "shell_binaries"), ("macro", "spawned_process")]
    assert exited.result["count"] == {"rule": 1, "macro": 1, "list": 1}


def test_inline_rules_may_be_yaml_text(run_module):
    exited = run_module(falco_rules.main, {"rules": yaml.safe_dump([RULE])})
    assert not exited.failed and yaml.safe_load(exited.result["rules_files"]["00-inline.yaml"]) == [RULE]


def test_no_rules_at_all_assembles_nothing(run_module):
    exited = run_module(falco_rules.main, {})
    assert not exited.failed and exited.result["rules_files"] == {} and exited.result["summary"] == []


def test_every_problem_is_reported_at_once_with_how_to_fix_it(run_module, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- macro: spawned_process\n- list: l\n  items: bash\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("- rule: x\n  desc: [\n")
    missing = tmp_path / "missing.yaml"
    exited = run_module(falco_rules.main, {"rules": [dict(RULE, priority="loud"), {"rule": "Other"}],
                                           "files": [str(bad), str(missing), str(broken)]})
    assert exited.failed
    problems = exited.result["problems"]
    assert len(problems) == 6
    assert problems[0].startswith("rules file %s: could not be read (No such file or directory)" % missing)
    assert "inline rules, item 1 (rule 'Shell in container'): priority 'loud'" in problems[1]
    assert "inline rules, item 2 (rule 'Other'): missing desc, condition, output, priority." in problems[2]
    assert problems[3].startswith("rules file %s, item 1 (macro 'spawned_process'): missing condition." % bad)
    assert problems[4].startswith("rules file %s, item 2 (list 'l'): items must be a list" % bad)
    assert problems[5].startswith("rules file %s: not valid YAML at line 3" % broken)
    msg = exited.result["msg"]
    assert msg.startswith("6 problems in the Falco rules; nothing was assembled:\n- ")
    assert all(problem in msg for problem in problems)
    assert msg.endswith("https://falco.org/docs/reference/rules/rule-fields/.")


def test_a_missing_file_alone_fails_naming_it(run_module, tmp_path):
    exited = run_module(falco_rules.main, {"files": [str(tmp_path / "nope.yaml")]})
    assert exited.failed and exited.result["msg"].startswith("1 problem in the Falco rules")
    assert str(tmp_path / "nope.yaml") in exited.result["msg"]


def test_a_file_that_is_not_utf8_fails_naming_it(run_module, tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"- list: l\n  items: [caf\xe9]\n")
    exited = run_module(falco_rules.main, {"files": [str(latin)]})
    assert exited.failed and "rules file %s: is not UTF-8 text" % latin in exited.result["msg"]


def test_warnings_reach_the_play_without_failing_it(run_module):
    with mock.patch.object(basic.AnsibleModule, "warn") as warn:
        exited = run_module(falco_rules.main, {"rules": [dict(RULE, prority="ERROR")]})
    assert not exited.failed and list(exited.result["rules_files"]) == ["00-inline.yaml"]
    warn.assert_called_once_with("inline rules, item 1 (rule 'Shell in container'): unknown key prority; Falco ignores it.")


def test_check_mode_assembles_the_same_and_changes_nothing(run_module, tmp_path):
    custom = tmp_path / "custom.yaml"
    custom.write_text(FILE_TEXT)
    args = {"rules": [RULE], "files": [str(custom)]}
    checked, applied = run_module(falco_rules.main, args, check_mode=True), run_module(falco_rules.main, args)
    assert not checked.failed and checked.result["changed"] is False
    assert checked.result["rules_files"] == applied.result["rules_files"]


def test_a_rule_falco_would_refuse_to_compile_fails_naming_it(run_module, tmp_path):
    custom = tmp_path / "custom.yaml"
    custom.write_text("- macro: shells_spawned\n  condition: spawned_process and\n    proc.name in (shell_binaries\n")
    exited = run_module(falco_rules.main, {"rules": [dict(RULE, condition="shells_spawned and contaner")], "files": [str(custom)]})
    assert exited.failed and exited.result["msg"].startswith("3 problems in the Falco rules; nothing was assembled:\n- ")
    later, typo, syntax = exited.result["problems"]
    assert later.startswith("inline rules, item 1 (rule 'Shell in container'): the condition uses 'shells_spawned', which is "
                            "defined only later, at rules file %s, item 1 (macro 'shells_spawned')" % custom)
    assert "uses 'contaner', which is not a macro of Falco's default rules nor of yours" in typo
    assert syntax.startswith("rules file %s, item 1 (macro 'shells_spawned'): the condition does not parse: expected a ')' token "
                             "(line 1, column 49: '...process and proc.name in (shell_binaries>>>')." % custom)
    assert all(problem in exited.result["msg"] for problem in exited.result["problems"])
