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
    text = falco_rules.assemble([dict(MACRO, condition="evt.type = execve and\ncontainer\n")], [])[0]["00-inline.yaml"]
    assert text == "- macro: spawned_process\n  condition: |\n    evt.type = execve and\n    container\n"


def test_multi_document_files_stay_multi_document():
    text = "- list: a\n  items: [x]\n---\n- list: b\n  items: [y]\n"
    rules_files = falco_rules.assemble([], [("/r/two.yaml", text)])[0]
    assert list(yaml.safe_load_all(rules_files["01-two.yaml"])) == list(yaml.safe_load_all(text))


# ---------------------------------------------------------------- what Falco compiles: syntax, macros, lists, changes


def compiled(*items, **files):
    """(problems, warnings) of assembling inline items (and files name -> items), as Falco would load them."""
    sources = [("/r/%s.yaml" % name, yaml.safe_dump(value)) for name, value in files.items()]
    _rules_files, _summary, warnings, problems = falco_rules.assemble(list(items), sources)
    return problems, warnings


def rule(name="Custom shell", condition="spawned_process and container and proc.name in (shell_binaries)", **keys):
    return dict({"rule": name, "desc": "d", "condition": condition, "output": "o (cmd=%proc.cmdline)", "priority": "WARNING"},
                **keys)


@pytest.mark.parametrize("items", [
    [rule()],
    [rule(enabled=False)],
    [{"macro": "spawned_process", "condition": "evt.type in (execve, execveat) and proc.name exists"}, rule()],
    [{"macro": "container", "override": {"condition": "replace"}, "condition": "container.id != host and k8s.ns.name exists"}],
    [{"macro": "spawned_process", "override": {"condition": "append"}, "condition": "and proc.pname != runc"}],
    [{"list": "shell_binaries", "override": {"items": "append"}, "items": ["fish", "my shell"]}, rule()],
    [{"list": "my_shells", "items": ["shell_binaries", "fish"]}, rule(condition="spawned_process and proc.name in (my_shells)")],
    [{"rule": "Terminal shell in container", "override": {"condition": "append"}, "condition": "and not proc.pname = sshd"}],
    [{"rule": "Terminal shell in container", "override": {"enabled": "replace"}, "enabled": False}],
    [rule(condition="custom_shell"), {"macro": "custom_shell", "condition": "spawned_process and proc.name = bash"}],
    [rule(exceptions=[{"name": "known", "fields": ["proc.name", "proc.pname"], "comps": ["=", "in"], "values": [["bash", ["sshd", "login"]]]},
                      {"name": "images", "fields": "container.image.repository", "comps": "startswith oneof",
                       "values": ["docker.io/library/debian", "my registry/x"]}])],
])
def test_rules_falco_compiles_have_no_problems_using_and_changing_the_defaults(items):
    problems, warnings = compiled(*items)
    assert problems == [] and not [w for w in warnings if "deprecated" not in w], (problems, warnings)


@pytest.mark.parametrize("item, expected", [
    (rule(condition="spawned_process and and container"),
     "inline rules, item 1 (rule 'Custom shell'): the condition does not parse: unexpected token after 'and', expecting 'or', 'and' "
     "(line 1, column 25: 'spawned_process and and >>>container'). A condition joins checks"),
    ({"macro": "my_shell", "condition": "proc.name in (bash, sh"},
     "inline rules, item 1 (macro 'my_shell'): the condition does not parse: expected a ')' token (line 1, column 23: "
     "'proc.name in (bash, sh>>>')."),
    (rule(condition="proc.name contains(bash)"), "expected a valid check operator: one of 'exists', '<='"),
    (rule(condition='proc.cmdline regex "\\d+"'), "unsupported string escape sequence: \\d (line 1, column 25"),
    (rule(condition="spawned_process and shell_binaries"),
     "expected a '(' token, a field check, or an identifier (line 1, column 21: 'spawned_process and >>>shell_binaries'). Falco "
     "pasted the items of list 'shell_binaries' there: it replaces a list's name with its items wherever the name stands alone, "
     "so use a list only inside parentheses, as in proc.name in (shell_binaries)."),
    (rule(condition="spawned_process\n  and proc.name in (bash)\n  or and x\n"), "(line 3, column 10: '  or and >>>x')"),
    (rule(condition=""), "inline rules, item 1 (rule 'Custom shell'): the condition is empty (Falco: Value must be non-empty)."),
    (rule(condition=" \n", exceptions=[{"name": "e", "fields": ["proc.name"], "values": [["x"]]}]),
     "the condition does not parse: expected a '(' token, a field check, or an identifier (line 2, column 1: '>>>')"),
    ({"macro": "m", "condition": ""}, "inline rules, item 1 (macro 'm'): the condition is empty"),
])
def test_a_condition_falco_cannot_parse_is_a_problem_naming_the_item_the_place_and_the_fix(item, expected):
    problems, _warnings = compiled(item)
    assert len(problems) == 1 and expected in problems[0], problems


def test_an_appended_condition_is_parsed_after_the_one_it_extends_and_blamed_on_the_item_that_appended():
    (problem,) = compiled({"macro": "spawned_process", "override": {"condition": "append"}, "condition": "and and proc.name = x"})[0]
    assert problem.startswith("inline rules, item 1 (macro 'spawned_process'): the appended condition does not parse: unexpected "
                              "token after 'and', expecting 'or', 'and' (line 1, column 9: 'and and >>>proc.name = x').")
    (problem,) = compiled(rule(), {"rule": "Custom shell", "override": {"condition": "append"}, "condition": "and (proc.name = x"})[0]
    assert problem.startswith("inline rules, item 2 (rule 'Custom shell'): the appended condition does not parse: expected a ')' "
                              "token (line 1, column 19: 'and (proc.name = x>>>').")


def test_an_undefined_macro_is_a_problem_with_a_suggestion():
    (problem,) = compiled(rule(condition="spawned_process and contaner"))[0]
    assert problem == ("inline rules, item 1 (rule 'Custom shell'): the condition uses 'contaner', which is not a macro of Falco's "
                       "default rules nor of yours (Falco: Undefined macro 'contaner' used in filter.). Define macro 'contaner' "
                       "before this item, or correct the name (did you mean 'container'?); if 'contaner' is a value, compare a "
                       "field with it, as in proc.name = contaner.")


def test_an_item_of_a_list_is_a_literal_not_a_reference():
    assert compiled({"list": "mine", "items": ["no_such_list", "bash"]}, rule(condition="proc.name in (mine)"))[0] == []


def test_a_macro_sees_only_the_macros_before_it():
    (problem,) = compiled({"macro": "first", "condition": "second"}, {"macro": "second", "condition": "proc.name = x"},
                          rule(condition="first"))[0]
    assert problem.startswith("inline rules, item 1 (macro 'first'): the condition uses 'second', which is defined only after "
                              "this macro (Falco: Undefined macro 'second' used in filter.). A macro sees only the macros defined "
                              "before it: move the definition at inline rules, item 2 (macro 'second') above this one.")


def test_a_file_sees_only_what_was_loaded_before_it():
    problems = compiled(rule(condition="spawned_process and later_macro"), b=[{"macro": "later_macro", "condition": "proc.name = x"}])[0]
    assert problems == ["inline rules, item 1 (rule 'Custom shell'): the condition uses 'later_macro', which is defined only later, "
                        "at rules file /r/b.yaml, item 1 (macro 'later_macro') (Falco: Undefined macro 'later_macro' used in "
                        "filter.). Falco checks each rules file with only what was loaded before it: define the macro in the "
                        "same file or an earlier one."]


@pytest.mark.parametrize("items, where, loop", [
    ([{"macro": "container", "override": {"condition": "replace"}, "condition": "container and k8s.ns.name exists"}],
     "item 1 (macro 'container')", "container -> container"),
    ([{"macro": "a", "condition": "proc.name = x"}, {"macro": "b", "condition": "a"},
      {"macro": "a", "override": {"condition": "append"}, "condition": "or b"}], "item 3 (macro 'a')", "a -> b -> a"),
    ([{"macro": "open_write", "override": {"condition": "append"}, "condition": "or spawned_process"},
      {"macro": "spawned_process", "override": {"condition": "append"}, "condition": "or open_write"}],
     "item 1 (macro 'open_write')", "open_write -> spawned_process -> open_write"),
    ([{"macro": "spawned_process", "condition": "evt.type = execve and shell_procs"},
      {"macro": "shell_procs", "override": {"condition": "append"}, "condition": "or spawned_process"}],
     "item 1 (macro 'spawned_process')", "spawned_process -> shell_procs -> spawned_process"),
])
def test_a_macro_loop_is_a_problem_naming_the_cycle(items, where, loop):
    (problem,) = compiled(*items)[0]
    steps = loop.split(" -> ")
    remedy = "To add to a macro, use override: {condition: append}" if len(steps) == 2 else "Remove one of these uses (%s)." % (
        ", ".join("%s uses %s" % pair for pair in zip(steps, steps[1:])))
    assert problem.startswith("inline rules, %s: macro loop %s (Falco: reference loop in macro '%s'). A macro cannot use itself, "
                              "directly or through other macros. %s" % (where, loop, steps[-1], remedy)), problem


def test_a_new_macro_that_uses_itself_is_undefined_in_falco_and_said_so():
    (problem,) = compiled({"macro": "mine", "condition": "mine or proc.name = x"}, rule(condition="mine"))[0]
    assert "the condition uses 'mine', which is this macro itself (Falco: Undefined macro 'mine' used in filter.). A new macro " \
           "cannot use itself." in problem


@pytest.mark.parametrize("item, expected", [
    ({"list": "my_shels", "override": {"items": "append"}, "items": ["fish"]},
     "item 1 (list 'my_shels'): appends to list 'my_shels', but neither Falco's default rules nor your items before this one "
     "define it (Falco: List uses 'append' or 'override.items: append' but no list by that name already exists). Define the list "
     "instead (without append or override), or correct the name."),
    ({"list": "shell_binarys", "append": True, "items": ["fish"]}, "or correct the name (did you mean 'shell_binaries'?)."),
    ({"macro": "mine", "override": {"condition": "append"}, "condition": "or x"},
     "(Falco: Macro uses 'append' or 'override.condition: append' but no macro by that name already exists)"),
    ({"rule": "Mine", "override": {"condition": "append"}, "condition": "and x"},
     "item 1 (rule 'Mine'): overrides rule 'Mine', but neither Falco's default rules nor your items before this one define it "
     "(Falco: Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists). Define the rule instead "
     "(with desc, condition, output and priority, without append or override), or correct the name."),
    ({"rule": "Mine", "append": True, "condition": "and x"}, "appends to rule 'Mine'"),
    ({"rule": "Mine", "override": {"priority": "replace"}, "priority": "ERROR"},
     "(Falco: An 'override.<key>: replace' to a rule was requested but no rule by that name already exists)"),
    ({"rule": "Termnal shell in container", "override": {"enabled": "replace"}, "enabled": False},
     "or correct the name (did you mean 'Terminal shell in container'?)."),
    ({"rule": "Terminal shell", "enabled": False},
     "item 1 (rule 'Terminal shell'): enables rule 'Terminal shell', but neither Falco's default rules nor your items before "
     "this one define it (Falco: Rule has 'enabled' key but no rule by that name already exists). Correct the name"),
])
def test_changing_an_item_that_does_not_exist_is_a_problem_as_in_falco(item, expected):
    (problem,) = compiled(item)[0]
    assert expected in problem, problem


def test_changing_an_item_before_it_is_defined_says_where_it_is():
    (problem,) = compiled({"list": "mine", "override": {"items": "append"}, "items": ["x"]}, b=[{"list": "mine", "items": ["y"]}])[0]
    assert problem.endswith("Your rules define it only later, at rules file /r/b.yaml, item 1 (list 'mine'): move this item after "
                            "that one.")


def test_a_rule_redefined_with_another_source_is_a_problem():
    (problem,) = compiled(rule(name="Terminal shell in container", source="k8s_audit", condition="ka.verb = create"))[0]
    assert "has source k8s_audit, but Falco's default rules" in problem and "Rule has been re-defined with a different source" in problem


def test_a_rule_of_another_source_is_only_warned_about_since_falco_skips_it_without_its_plugin():
    problems, warnings = compiled(rule(source="k8s_audit", condition="ka.verb = create and kcreate"))
    assert problems == []
    expected = "Falco compiles a rule of source k8s_audit only when a plugin provides that source."
    assert any("uses 'kcreate'" in w and w.endswith(expected) for w in warnings), warnings


@pytest.mark.parametrize("exceptions, expected", [
    ([{"name": "e", "fields": ["proc.name", "proc.pname"], "comps": ["=", "equals"], "values": [["a", "b"]]}],
     "exception 'e': 'equals' is not an operator Falco knows; use one of exists, <=, <"),
    ([{"name": "e", "fields": ["proc.name", "proc.pname"], "comps": ["="], "values": [["a", "b"]]}],
     "(Falco: Fields and comps lists must have equal length)"),
    ([{"name": "e", "fields": "proc.name", "comps": "=", "values": ["a"]}],
     "with a single field, comps must be in, pmatch or intersects (or an operator with oneof, anyof or allof), not '='"),
    ([{"name": "e", "fields": "proc.name", "comps": ["in"], "values": ["a"]}], "(Falco: Fields and comps must both be strings)"),
    ([{"name": "e", "fields": ["proc.name", "proc.pname"], "values": [["a"]]}],
     "item 1 (rule 'Custom shell'): the exceptions' values do not fit their fields (Falco: Fields and values lists must have "
     "equal length). With fields a list, values is a list of rows"),
    ([{"name": "e", "fields": "proc.name", "values": [["a"]]}], "(Falco: Expected values array to contain a list of strings)"),
    ([{"name": "e", "fields": ["proc name"], "values": [["a"]]}],
     "the condition Falco builds from the exceptions does not parse: expected a ')' token"),
])
def test_exceptions_falco_refuses_are_problems(exceptions, expected):
    (problem,) = compiled(rule(exceptions=exceptions))[0]
    assert expected in problem, problem


def test_exceptions_appended_to_a_rule_of_yours_follow_falcos_rules():
    base = rule(exceptions=[{"name": "known", "fields": ["proc.name"], "values": [["bash"]]}])
    change = {"rule": "Custom shell", "override": {"exceptions": "append"}}
    assert compiled(base, dict(change, exceptions=[{"name": "known", "values": [["zsh"]]}]))[0] == []
    problems = compiled(base, dict(change, exceptions=[
        {"name": "known", "fields": ["proc.name"], "values": [["zsh"]]}, {"name": "other", "values": [["zsh"]]}]))[0]
    assert [p.split(": ", 1)[1][:60] for p in problems] == [
        "exception 'known' is already the rule's, so only values can ", "exception 'other' is new to the rule, so it needs fields and"]


def test_what_falco_only_warns_about_is_a_warning():
    problems, warnings = compiled({"macro": "my-macro", "condition": "proc.name = x"}, {"list": "unused_list", "items": []},
                                  {"macro": "unused_macro", "condition": "evt.dir = < and proc.name = y"})
    assert problems == []
    assert warnings == [
        "inline rules, item 1 (macro 'my-macro'): Falco warns that the macro name is invalid (it must be a letter, then letters, "
        "digits or _), and a condition cannot use it; rename the macro.",
        "inline rules, item 3 (macro 'unused_macro'): the condition uses evt.dir, which Falco deprecates: due to the drop of enter "
        "events, 'evt.dir = <' always evaluates to true, and 'evt.dir = >' always evaluates to false; remove the check on evt.dir.",
        "inline rules, item 1 (macro 'my-macro'): no rule or macro uses macro 'my-macro' (Falco warns: Macro not referred to by "
        "any other rule/macro).",
        "inline rules, item 3 (macro 'unused_macro'): no rule or macro uses macro 'unused_macro' (Falco warns: Macro not referred "
        "to by any other rule/macro).",
        "inline rules, item 2 (list 'unused_list'): no rule or macro uses list 'unused_list' (Falco warns: List not referred to "
        "by any other rule/macro)."]


def test_compile_problems_come_after_the_structure_problems_of_the_source_that_brought_them_and_nothing_is_assembled():
    rules_files, _summary, _warnings, problems = falco_rules.assemble(
        [rule(condition="spawned_process and nope"), {"rule": "x"}],
        [("/r/a.yaml", yaml.safe_dump([{"macro": "m", "condition": "("}]))])
    assert rules_files == {}
    assert [p.split(":")[0] for p in problems] == ["inline rules, item 2 (rule 'x')", "inline rules, item 1 (rule 'Custom shell')",
                                                   "rules file /r/a.yaml, item 1 (macro 'm')"]


def test_the_same_mistake_is_reported_once_though_falco_would_meet_it_after_every_file():
    problems = compiled(rule(condition="nope"), a=[LIST], b=[LIST])[0]
    assert len(problems) == 1
