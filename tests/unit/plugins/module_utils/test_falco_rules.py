"""Falco rules checks and assembly as pure functions over items and YAML text."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.seclog.falco_efk.plugins.module_utils import falco_rules

SOURCE = "rules file /x/custom.yaml"
RULE = {"rule": "Shell in container", "desc": "A shell was started in a container.",
        "condition": "spawned_process and container and proc.name in (shell_binaries)",
        "output": "Shell in container (user=%user.name cmdline=%proc.cmdline)", "priority": "WARNING",
        "tags": ["container", "shell"], "source": "syscall", "enabled": True}
MACRO = {"macro": "spawned_process", "condition": "evt.type in (execve, execveat) and evt.dir=<"}
LIST = {"list": "shell_binaries", "items": ["bash", "sh", "zsh"]}


def without(item, *keys):
    return dict((key, value) for key, value in item.items() if key not in keys)


def review(*items):
    return falco_rules.review_items(list(items), SOURCE)


@pytest.mark.parametrize("item", [
    RULE, MACRO, LIST,
    {"required_engine_version": 26},
    {"required_engine_version": "0.31.0"},
    {"required_plugin_versions": [{"name": "k8saudit", "version": "0.7.0",
                                   "alternatives": [{"name": "k8saudit-eks", "version": "0.4.0"}]}]},
    dict(RULE, priority="informational"), dict(RULE, priority="Info"), dict(RULE, priority="debug"),
    dict(RULE, exceptions=[{"name": "known_shells", "fields": ["proc.name"], "comps": ["="], "values": [["bash"]]}]),
    {"rule": "Shell in container", "override": {"condition": "append"}, "condition": "and not proc.pname=sshd"},
    {"rule": "Shell in container", "override": {"priority": "replace", "tags": "append"}, "priority": "ERROR", "tags": ["pci"]},
    {"rule": "Shell in container", "override": {"enabled": "replace"}, "enabled": False},
    {"rule": "Shell in container", "override": {"exceptions": "append"}, "exceptions": [{"name": "known_shells", "values": [["zsh"]]}]},
    {"macro": "spawned_process", "override": {"condition": "replace"}, "condition": "evt.type=execve"},
    {"list": "shell_binaries", "override": {"items": "append"}, "items": ["fish"]},
])
def test_well_formed_items_have_no_problems(item):
    problems, warnings = review(item)
    assert problems == [] and warnings == []


@pytest.mark.parametrize("item", [
    {"rule": "Shell in container", "append": True, "condition": "and not proc.pname=sshd"},
    {"rule": "Shell in container", "append": True, "exceptions": [{"name": "known_shells", "values": [["zsh"]]}]},
    {"rule": "Shell in container", "enabled": False},
    {"macro": "spawned_process", "append": True, "condition": "or evt.type=execveat"},
    {"list": "shell_binaries", "append": True, "items": ["fish"]},
])
def test_changes_to_existing_items_need_only_what_they_change_and_warn_when_falco_deprecates_the_form(item):
    problems, warnings = review(item)
    assert problems == []
    assert len(warnings) == 1 and "deprecated" in warnings[0] and "override" in warnings[0]


@pytest.mark.parametrize("missing", ["desc", "condition", "output", "priority"])
def test_a_new_rule_missing_one_key_names_it_and_the_remedy(missing):
    (problem,) = check(without(RULE, missing))
    assert problem == ("rules file /x/custom.yaml, item 1 (rule 'Shell in container'): missing %s. A new rule needs desc, "
                       "condition, output and priority; to change an existing rule use append: true or override." % missing)


def check(*items):
    return falco_rules.check_items(list(items), SOURCE)


def test_missing_keys_are_listed_together_in_falco_order():
    (problem,) = falco_rules.check_items([MACRO, LIST, without(RULE, "output", "desc")], SOURCE)
    assert problem.startswith("rules file /x/custom.yaml, item 3 (rule 'Shell in container'): missing desc, output. ")


def test_a_rule_with_no_keys_at_all_needs_them_all():
    (problem,) = check({"rule": "Bare"})
    assert "item 1 (rule 'Bare'): missing desc, condition, output, priority." in problem


@pytest.mark.parametrize("item, expected", [
    (dict(RULE, priority="loud"), "priority 'loud' is not one of emergency, alert, critical, error, warning, notice"),
    (dict(RULE, priority=3), "priority 3 is not one of"),
    (dict(RULE, tags="container"), "tags must be a list of strings"),
    (dict(RULE, tags=["container", 7]), "tags must be a list of strings"),
    (dict(RULE, enabled="no"), "enabled must be true or false, not 'no'"),
    (dict(RULE, condition=["a", "b"]), "condition must be a string, not a list"),
    (dict(RULE, source=1), "source must be a string"),
    (dict(RULE, exceptions={"name": "x"}), "exceptions must be a list of mappings"),
    (dict(RULE, exceptions=[{"fields": ["proc.name"]}]), "exception 1 needs a name"),
    (dict(RULE, exceptions=["known"]), "exception 1 needs a name"),
    (dict(RULE, exceptions=[{"name": "known"}]), "exception 'known' needs fields"),
    (dict(RULE, exceptions=[{"name": "known", "fields": ["proc.name"], "values": "bash"}]), "exception 'known': values must be a list"),
    (without(MACRO, "condition"), "item 1 (macro 'spawned_process'): missing condition. Every macro needs condition"),
    (dict(MACRO, condition=None), "condition must be a string, not empty"),
    (without(LIST, "items"), "item 1 (list 'shell_binaries'): missing items. Every list needs items"),
    (dict(LIST, items="bash"), "items must be a list"),
    ({"list": "shell_binaries", "append": True}, "missing items"),
    ({"rule": " ", "enabled": False}, "item 1 (rule ' '): the rule name must be a non-empty string"),
    ({"macro": 5, "condition": "a"}, "item 1 (macro with no valid name): the macro name must be a non-empty string, not 5"),
    ({"required_engine_version": "newest"}, "item 1 (required_engine_version): required_engine_version must be a number"),
    ({"required_plugin_versions": {"name": "k8saudit"}}, "required_plugin_versions must be a list"),
    ({"required_plugin_versions": [{"name": "k8saudit"}]}, "plugin 1 needs a name and a version"),
    ({"required_plugin_versions": [{"name": "k8saudit", "version": "0.7.0", "alternatives": [{"name": "x"}]}]}, "plugin 1 needs"),
    ("rule: x", "item 1: is a string, not a mapping. A rules file is a YAML list"),
    ({"desc": "no kind"}, "item 1: has none of rule, macro, list, required_engine_version, required_plugin_versions"),
    ({"rule": "x", "macro": "y"}, "item 1: has rule and macro; an item has exactly one of them"),
])
def test_malformed_items_name_the_cause(item, expected):
    problems = check(item)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize("item, expected", [
    ({"rule": "R", "override": "append", "condition": "x"}, "override must be a mapping of key to append or replace"),
    ({"rule": "R", "override": {"condition": "add"}, "condition": "x"}, "override of condition is 'add'; it must be append or replace"),
    ({"rule": "R", "override": {"priority": "append"}, "priority": "ERROR"},
     "Falco cannot append priority of a rule; it can append condition, output, desc, tags and exceptions; priority can only be replaced"),
    ({"rule": "R", "override": {"condition": "append"}}, "override says to append condition but the item has no condition"),
    ({"rule": "R", "override": {"condition": "append"}, "condition": "x", "desc": "d"}, "desc given without an override entry"),
    ({"rule": "R", "override": {"condition": "append"}, "condition": "x", "append": True}, "append: true and override cannot be used together"),
    ({"macro": "m", "override": {"items": "append"}, "condition": "x"}, "Falco cannot append items of a macro; it can append condition"),
    ({"list": "l", "override": {"items": "replace", "condition": "replace"}, "items": []}, "Falco cannot replace condition of a list"),
])
def test_overrides_follow_falcos_rules(item, expected):
    problems = check(item)
    assert len(problems) == 1 and expected in problems[0], problems


def test_unknown_keys_are_warnings_not_problems():
    problems, warnings = review(dict(RULE, prority="ERROR", note="x"))
    assert problems == []
    assert warnings == ["rules file /x/custom.yaml, item 1 (rule 'Shell in container'): unknown keys note, prority; Falco ignores them."]


def test_empty_items_are_skipped_with_a_warning_as_falco_does():
    problems, warnings = review(None, LIST)
    assert problems == [] and warnings == ["rules file /x/custom.yaml, item 1: empty item; Falco skips it."]


def test_every_problem_of_a_document_is_reported():
    problems = check(without(RULE, "desc"), dict(MACRO, condition=1), {"list": "l"}, "junk")
    assert [p.split(":")[0] for p in problems] == [
        "rules file /x/custom.yaml, item 1 (rule 'Shell in container')", "rules file /x/custom.yaml, item 2 (macro 'spawned_process')",
        "rules file /x/custom.yaml, item 3 (list 'l')", "rules file /x/custom.yaml, item 4"]


def test_a_second_definition_of_the_same_name_and_kind_is_a_problem():
    (problem,) = check(LIST, MACRO, dict(LIST, items=["csh"]))
    assert problem.startswith("rules file /x/custom.yaml, item 3 (list 'shell_binaries'): defines list 'shell_binaries' again "
                              "(first at item 1).")


def test_changing_an_item_defined_earlier_in_the_same_source_is_not_a_duplicate():
    changes = [{"list": "shell_binaries", "override": {"items": "append"}, "items": ["fish"]},
               {"rule": "Shell in container", "override": {"enabled": "replace"}, "enabled": False},
               {"rule": "Shell in container", "append": True, "condition": "and not proc.pname=sshd"}]
    assert check(LIST, RULE, *changes) == []


def test_same_name_in_different_kinds_or_sources_is_not_a_duplicate():
    assert check(RULE, {"macro": "Shell in container", "condition": "a"}) == []
    assert falco_rules.assemble([LIST], [("/x/a.yaml", yaml.safe_dump([LIST]))])[3] == []


def test_the_document_must_be_a_list():
    (problem,) = falco_rules.check_items({"rule": "x"}, SOURCE)
    assert problem.startswith("rules file /x/custom.yaml: is a mapping, not a list.")


@pytest.mark.parametrize("text, expected", [
    ("- rule: a\n  desc: [unclosed\n", "rules file /x/bad.yaml: not valid YAML at line 3, column 1"),
    ("- rule: a\n desc: b\n", "rules file /x/bad.yaml: not valid YAML at line 2, column"),
    ("rule: a\ndesc: b\n", "rules file /x/bad.yaml: is a mapping, not a list."),
    ("just text", "rules file /x/bad.yaml: is a string, not a list."),
    ("- rule: a\n---\nrule: b\n", "rules file /x/bad.yaml, document 2: is a mapping, not a list."),
])
def test_files_that_are_not_yaml_lists_are_problems_naming_the_file(text, expected):
    rules_files, _summary, _warnings, problems = falco_rules.assemble([], [("/x/bad.yaml", text)])
    assert rules_files == {}
    assert any(p.startswith(expected) for p in problems), problems


def test_inline_yaml_text_parse_errors_name_the_inline_rules():
    problems = falco_rules.assemble("- rule: [\n", [])[3]
    assert problems[0].startswith("inline rules: not valid YAML at line 2")


def test_inline_that_is_neither_a_list_nor_text_is_a_problem():
    problems = falco_rules.assemble({"rule": "x"}, [])[3]
    assert problems == ["inline rules: must be a list of items or YAML text of a list, not a mapping. A rules file is a YAML "
                        "list of items such as '- rule: ...', '- macro: ...' and '- list: ...'."]


def test_problems_from_every_source_are_reported_together():
    problems = falco_rules.assemble([{"rule": "x"}], [("/x/a.yaml", "- macro: m\n"), ("/x/b.yaml", "{")])[3]
    assert [p.split(",")[0].split(":")[0] for p in problems] == ["inline rules", "rules file /x/a.yaml", "rules file /x/b.yaml"]


@pytest.mark.parametrize("paths, expected", [
    (["/r/custom.yaml"], ["00-inline.yaml", "01-custom.yaml"]),
    (["/r/b.yaml", "/r/a.yml", "/s/b.yaml"], ["00-inline.yaml", "01-b.yaml", "02-a.yaml", "03-b.yaml"]),
    (["/r/My Rules (PCI).YAML"], ["00-inline.yaml", "01-my-rules-pci.yaml"]),
    (["C:\\rules\\win.yaml", "/r/..yaml", "/r/rules.json"], ["00-inline.yaml", "01-win.yaml", "02-rules.yaml", "03-rules.json.yaml"]),
    (["/r/%d.yaml" % n for n in range(100)], ["00-inline.yaml"] + ["%03d-%d.yaml" % (n + 1, n) for n in range(100)]),
])
def test_files_are_named_so_that_falcos_sorted_load_order_is_the_order_given(paths, expected):
    rules_files = falco_rules.assemble([LIST], [(path, yaml.safe_dump([MACRO])) for path in paths])[0]
    assert list(rules_files) == expected
    assert sorted(rules_files) == expected


def test_no_inline_rules_means_no_inline_file():
    assert list(falco_rules.assemble([], [("/r/a.yaml", "- " + "list: l\n  items: []\n")])[0]) == ["01-a.yaml"]
    assert falco_rules.assemble("", [])[0] == {}


def test_an_empty_file_becomes_an_empty_list_falco_accepts():
    assert falco_rules.assemble([], [("/r/empty.yaml", "# nothing yet\n")])[0] == {"01-empty.yaml": "[]\n"}


def test_summary_names_every_item_in_load_order():
    changes = {"rule": "Shell in container", "override": {"enabled": "replace"}, "enabled": False}
    files = [("/r/c.yaml", yaml.safe_dump([{"required_engine_version": 26}, MACRO, changes]))]
    summary = falco_rules.assemble([LIST, RULE], files)[1]
    assert [(s["source"], s["file"], s["kind"], s["name"], s["action"]) for s in summary] == [
        ("inline rules", "00-inline.yaml", "list", "shell_binaries", "define"),
        ("inline rules", "00-inline.yaml", "rule", "Shell in container", "define"),
        ("/r/c.yaml", "01-c.yaml", "required_engine_version", "26", "define"),
        ("/r/c.yaml", "01-c.yaml", "macro", "spawned_process", "define"),
        ("/r/c.yaml", "01-c.yaml", "rule", "Shell in container", "override")]
    assert falco_rules.count(summary) == {"rule": 2, "macro": 1, "list": 1, "required_engine_version": 1}


FILE_TEXT = """\
- required_engine_version: 26
- list: package_managers
  items: [apt, "yes", 1, dnf]
- macro: package_mgmt
  condition: >
    proc.name in (package_managers)
    and not container
- rule: Package manager in container
  desc: A package manager ran in a container.
  condition: |
    spawned_process and container
    and package_mgmt\x20\x20\x20
  output: "Package manager in container (cmd=%proc.cmdline: %container.name)"
  priority: notice
  tags: []
  exceptions:
    - name: allowed_images
      fields: [container.image.repository]
      values: [[docker.io/library/debian]]
"""


def test_assembled_yaml_parses_back_to_the_same_items_in_the_same_order():
    inline = [RULE, {"rule": "Terminal shell in container", "enabled": False}]
    rules_files, _summary, warnings, problems = falco_rules.assemble(inline, [("/r/custom.yaml", FILE_TEXT)])
    assert problems == [] and len(warnings) == 1
    assert yaml.safe_load(rules_files["00-inline.yaml"]) == inline
    assert yaml.safe_load(rules_files["01-custom.yaml"]) == yaml.safe_load(FILE_TEXT)
    for text, expected in ((rules_files["00-inline.yaml"], inline), (rules_files["01-custom.yaml"], yaml.safe_load(FILE_TEXT))):
        for parsed, original in zip(yaml.safe_load(text), expected):
            assert list(parsed) == list(original)  # key order kept


def test_multi_line_conditions_are_written_as_literal_blocks():
    text = falco_rules.assemble([dict(MACRO, condition="a and\nb\n")], [])[0]["00-inline.yaml"]
    assert text == "- macro: spawned_process\n  condition: |\n    a and\n    b\n"


def test_multi_document_files_stay_multi_document():
    text = "- list: a\n  items: [x]\n---\n- list: b\n  items: [y]\n"
    rules_files = falco_rules.assemble([], [("/r/two.yaml", text)])[0]
    assert list(yaml.safe_load_all(rules_files["01-two.yaml"])) == list(yaml.safe_load_all(text))
