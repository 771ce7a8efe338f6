"""Falco's condition grammar, list pasting and exception text, as pure functions; and the default rules' names.

Cases marked "libs" are from falcosecurity/libs userspace/libsinsp/test/filter_parser.ut.cpp @0.25.4, the parser's own
tests at the libs version Falco 0.44.1 builds with; the default conditions are from falcosecurity/rules
rules/falco_rules.yaml @falco-rules-5.1.0.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
import yaml

from ansible_collections.seclog.falco_efk.plugins.module_utils import falco_condition, falco_default_rules
from ansible_collections.seclog.falco_efk.plugins.module_utils.falco_condition import ConditionError, parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

# Default conditions, as falco_rules.yaml @falco-rules-5.1.0 writes them (lists not yet pasted).
DEFAULT_CONDITIONS = {
    "open_write": "(evt.type in (open,openat,openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0)",
    "never_true": "(evt.num=0)",
    "proc_name_exists": '(not proc.name in ("<NA>","N/A"))',
    "spawned_process": "(evt.type in (execve, execveat))",
    "shell_procs": "(proc.name in (shell_binaries))",
    "sensitive_files": "(fd.name in (sensitive_file_names) or\n  fd.directory in (/etc/sudoers.d, /etc/pam.d))\n",
    "container": "(container.id != host)",
    "interactive": "((proc.aname=sshd and proc.name != sshd) or proc.name=systemd-logind or proc.name=login)\n",
    "private_key_or_password": ('(proc.args icontains "BEGIN PRIVATE" or\n proc.args icontains "BEGIN OPENSSH PRIVATE" or\n'
                                ' (grep_more and\n  (proc.args icontains " pass " or\n   proc.args icontains " user "))\n)\n'),
    "ptrace_attach_or_injection": ("(evt.type=ptrace and (evt.arg.request contains PTRACE_POKETEXT or evt.arg.request contains "
                                   "PTRACE_ATTACH))\n"),
    "Terminal shell in container": ("spawned_process and container and shell_procs and proc.tty != 0 and container_entrypoint "
                                    "and not user_expected_terminal_shell_in_container_conditions\n"),
    "Disallowed SSH Connection Non Standard Port": ("outbound and proc.exe endswith ssh and fd.l4proto=tcp and "
                                                    "ssh_non_standard_ports_network\n"),
}


def error(text):
    with pytest.raises(ConditionError) as raised:
        parse(text)
    return raised.value


# ---------------------------------------------------------------- what parses


@pytest.mark.parametrize("name", sorted(DEFAULT_CONDITIONS))
def test_default_conditions_parse_and_name_their_macros(name):
    parsed = parse(DEFAULT_CONDITIONS[name])
    macros = dict(falco_default_rules.MACROS)
    if name in macros:
        assert parsed.macros == list(macros[name])  # what the generator recorded
    assert all(macro in macros for macro in parsed.macros)


def test_references_and_fields_are_found_with_their_positions():
    parsed = parse("spawned_process and not container and proc.aname[2] in (sshd, 'my shell') and user_macro")
    assert parsed.identifiers == [("spawned_process", 0), ("container", 24), ("user_macro", 78)]
    assert parsed.fields == [("proc.aname", 38)]
    assert parsed.macros == ["spawned_process", "container", "user_macro"]


@pytest.mark.parametrize("text", [
    # libs
    "  a", "(a)", "a and b and(c)", "(a)or(b)or(c)", "not a", "not not a", "not(a)", "a or not b and c",
    "evt.arg[0] = value", 'evt.arg["key"] = value', "evt.arg[x] = y",
    "proc.name exists", "proc.aname[3]=nginx", "proc.name =nginx", "proc.name in ( nginx, apache)", "proc.name in ()",
    "fd.num>=0", "evt.rawarg.flags < 0x10", "evt.count > -1.5e+3", "proc.name != sshd", "fd.name pmatch (/etc, /var)",
    "proc.name intersects (a, b)", "proc.cmdline icontains \"a b\"", "proc.name glob 'ba*'", "fd.name regex '^/tmp/.*'",
    "proc.name bstartswith 7f45", "b64(evt.name) exists", "tolower(toupper(evt.type)) in val(some.field)",
    "proc.name=b64(tolower(some.field))", 'getopt(proc.args, "nt:")[t] = value', "proc.name = val(proc.pname)",
    "len(proc.args) > 2", "proc.name startswith oneof (a, b)", "proc.name = oneof and a", "proc.name contains allof my_list",
    # YAML block conditions: line breaks, tabs
    "spawned_process\nand\tcontainer\n", "evt.dir=<", "proc.pname in (runc:[0:PARENT], runc:[1:CHILD])",
])
def test_conditions_falco_accepts(text):
    parse(text)


# ---------------------------------------------------------------- what does not, with Falco's message and position


@pytest.mark.parametrize("text, message, index", [
    ("", "filter input string is empty", 0),
    ("spawned_process and and container", "unexpected token after 'and', expecting 'or', 'and'", 24),
    ("spawned_process container", "unexpected token after 'spawned_process', expecting 'or', 'and'", 16),
    ("a and", "expected blank or '(' after 'and'", 5),
    ("a or", "expected blank or '(' after 'or'", 4),
    ("(a and b", "expected a ')' token", 8),
    ("proc.name in (a, b", "expected a ')' token", 18),
    ("proc.name in (a, )", "expected a string value", 17),
    ("a and 'quoted'", "expected a '(' token, a field check, or an identifier", 6),
    ("proc.name", "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', "
                  "'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', "
                  "'in', 'pmatch'", 9),
    ("proc.name contains(a)", "expected a valid check operator", 10),
    ("fd.num >= a", "expected a number value or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', "
                    "'basename', 'len', 'join', 'concat', 'getopt'", 10),
    ("proc.name =", "expected a string value or a field with a valid transformer", 11),
    ("proc.name in", "expected a list, an identifier, or a field with a valid transformer", 12),
    ("evt.arg[] = value", "expected a valid field argument: a quoted string or a bare string", 8),  # libs
    ('evt.arg["x" = value', "expected a ']' token", 11),  # libs
    ("tolower(proc.name = a", "expected a ')' token closing the transformer", 18),
    ("tolower(x) = a", "expected field transformer argument: field, transformer, quoted string, number, or transformer list", 8),
    ("proc.name = val(x)", "expected a field within 'val' transformer", 16),
    ('proc.name = "C:\\d"', "unsupported string escape sequence: \\d", 18),
    ("proc.name = '\\\"'", "invalid \\\" escape in '-quoted string", 16),
    ('proc.name = "unterminated', "expected a string value or a field with a valid transformer", 12),
])
def test_conditions_falco_refuses_with_its_message_and_position(text, message, index):
    refused = error(text)
    assert refused.message.startswith(message), refused.message
    assert refused.index == index


def test_the_position_counts_lines_and_columns_as_falco_does():
    refused = error("spawned_process\n  and container\n  and and x")
    assert (refused.index, refused.line, refused.column) == (42, 3, 11)


def test_nesting_deeper_than_falco_allows_is_refused_not_a_crash():
    assert "exceeded max depth limit" in error("(" * 400 + "a" + ")" * 400).message
    with pytest.raises(ConditionError, match="exceeded max depth limit of 10"):
        parse("((((a))))", max_depth=10)


# ---------------------------------------------------------------- lists pasted before parsing, as Falco does


def paste(text, lists):
    pasted, origins, used = falco_condition.paste_lists(text, list(range(len(text))), lists)
    return pasted, origins, used


def test_a_list_in_parentheses_becomes_its_items_quoted_where_they_hold_a_space():
    pasted, origins, used = paste("proc.name in (shell_binaries)", [("shell_binaries", ["bash", "my shell"])])
    assert pasted == 'proc.name in ( bash, "my shell" )'
    assert used == ["shell_binaries"]
    assert origins[16] == ("list", "shell_binaries", 14)  # traced back to where the name was written
    parse(pasted)


def test_an_empty_list_takes_a_comma_with_it():
    assert paste("proc.name in (a, empty)", [("empty", [])])[0] == "proc.name in (a  )"
    assert paste("proc.name in (empty, a)", [("empty", [])])[0] == "proc.name in (   a)"
    assert paste("proc.name in (empty)", [("empty", [])])[0] == "proc.name in (  )"
    parse("proc.name in (  )")


def test_only_whole_names_between_delimiters_are_pasted():
    text = "proc.name in (my_shells) and fd.name startswith /shells and shells_x"
    assert paste(text, [("shells", ["x"])])[0] == text
    assert paste("proc.name=shells", [("shells", ["x", "y"])])[0] == "proc.name= x, y "


def test_a_list_outside_parentheses_breaks_the_condition_as_in_falco():
    pasted = paste("spawned_process and shell_binaries", [("shell_binaries", ["bash", "sh"])])[0]
    assert error(pasted).message == "unexpected token after 'bash', expecting 'or', 'and'"


# ---------------------------------------------------------------- exceptions, as Falco builds them


def test_exceptions_become_and_not_clauses_as_falco_writes_them():
    text = falco_condition.exception_condition([
        (["proc.name", "fd.name"], ["=", "in"], [["bash", "my_list"], ["sh", ["/a b", "/c"]]]),
        ("proc.pname", "in", ["sshd", "my shell"]),
    ])
    assert text == (' and not (( proc.name = bash and  fd.name in (my_list)) or ( proc.name = sh and  fd.name in ("/a b", /c)))'
                    ' and not (proc.pname in (sshd, "my shell"))')
    parse("(spawned_process)" + text)


@pytest.mark.parametrize("exceptions, message", [
    ([("proc.name", "in", [["a"]])], "Expected values array to contain a list of strings"),
    ([(["proc.name", "fd.name"], ["=", "="], [["a"]])], "Fields and values lists must have equal length"),
    ([(["proc.name"], ["="], ["a"])], "Fields and values lists must have equal length"),
])
def test_exception_values_that_do_not_fit_their_fields_are_refused(exceptions, message):
    with pytest.raises(ValueError, match=message):
        falco_condition.exception_condition(exceptions)


@pytest.mark.parametrize("comp, single, accepted", [
    ("in", True, True), ("pmatch", True, True), ("startswith oneof", True, True), ("=", True, False),
    ("=", False, True), ("exists", False, True), ("contains allof", False, True), ("equals", False, False),
    ("in oneof", False, False), (">= oneof", False, False), ("startswith  oneof", False, False),
])
def test_exception_comparisons_follow_falcos_collector(comp, single, accepted):
    assert falco_condition.is_comparison(comp, single) is accepted


@pytest.mark.parametrize("name, identifier, bare", [
    ("shell_procs", True, True), ("my-macro", False, True), ("_x", False, True), ("a b", False, False), ("x,y", False, False),
])
def test_names_falco_warns_about(name, identifier, bare):
    assert falco_condition.is_identifier(name) is identifier
    assert falco_condition.is_bare_string(name) is bare


# ---------------------------------------------------------------- the default rules' names


def test_the_default_rules_data_cites_its_source():
    assert falco_default_rules.SOURCE == "falcosecurity/rules rules/falco_rules.yaml @falco-rules-5.1.0"
    assert len(falco_default_rules.SHA256) == 64
    assert ("spawned_process", ()) in falco_default_rules.MACROS
    assert ("shell_binaries", 8) in falco_default_rules.LISTS
    assert "Terminal shell in container" in falco_default_rules.RULES


def test_each_default_macro_uses_only_macros_defined_before_it_so_there_is_no_loop():
    seen = set()
    for name, used in falco_default_rules.MACROS:
        assert set(used) <= seen, (name, set(used) - seen)
        seen.add(name)
    names = [name for name, _used in falco_default_rules.MACROS]
    assert len(names) == len(set(names))
    assert len(falco_default_rules.RULES) == len(set(falco_default_rules.RULES))


def test_default_names_are_names_a_condition_can_use():
    assert all(falco_condition.is_identifier(name) for name, _used in falco_default_rules.MACROS)
    assert all(falco_condition.is_bare_string(name) for name, _count in falco_default_rules.LISTS)


def _generator():
    spec = importlib.util.spec_from_file_location("falco_default_rules_tool", os.path.join(ROOT, "tools", "falco_default_rules.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SMALL_RULES = """\
- required_engine_version: 0.50.0
- list: shells
  items: [bash, sh]
- list: more_shells
  items: [shells, zsh]
- macro: spawned
  condition: evt.type in (execve, execveat)
- macro: shell
  condition: spawned and proc.name in (more_shells)
- rule: Shell
  desc: d
  condition: shell and later
  output: o
  priority: INFO
- macro: later
  condition: proc.tty != 0
"""


def test_the_generator_writes_names_and_references_only():
    text = _generator().render(SMALL_RULES, "falco-rules-0.0.0")
    namespace = {}
    exec(compile(text, "falco_default_rules.py", "exec"), namespace)  # pylint: disable=exec-used
    assert namespace["LISTS"] == (("shells", 2), ("more_shells", 3))
    assert namespace["MACROS"] == (("spawned", ()), ("shell", ("spawned",)), ("later", ()))
    assert namespace["RULES"] == ("Shell",)
    assert "@falco-rules-0.0.0" in text and "execve" not in text and "bash" not in text


@pytest.mark.parametrize("change, message", [
    (lambda text: text.replace("spawned and proc", "spawned and and proc"), "macro 'shell': unexpected token after 'and'"),
    (lambda text: text.replace("spawned and proc", "later and proc"), "macro 'shell' uses later, not defined before it"),
])
def test_the_generator_stops_on_a_default_condition_the_checks_could_not_rely_on(change, message):
    with pytest.raises(ValueError, match=message):
        _generator().render(change(SMALL_RULES), "falco-rules-0.0.0")


def test_the_generator_refuses_a_file_that_changes_items():
    items = yaml.safe_load(SMALL_RULES) + [{"list": "shells", "override": {"items": "append"}, "items": ["fish"]}]
    with pytest.raises(ValueError, match="changes an earlier item"):
        _generator().collect(items)


UPSTREAM = os.environ.get("FALCO_RULES_YAML")


@pytest.mark.skipif(not UPSTREAM, reason="FALCO_RULES_YAML names no falco_rules.yaml (read at falco-rules-5.1.0; never committed)")
def test_the_upstream_default_rules_parse_resolve_and_give_the_committed_names():
    """FALCO_RULES_YAML=/tmp/falco_rules.yaml: every default condition parses and uses macros it can see, as Falco needs."""
    from ansible_collections.seclog.falco_efk.plugins.module_utils import falco_rules  # pylint: disable=import-outside-toplevel

    with open(UPSTREAM, encoding="utf-8") as handle:
        text = handle.read()
    with open(os.path.join(ROOT, "plugins", "module_utils", "falco_default_rules.py"), encoding="utf-8") as handle:
        assert _generator().render(text, "falco-rules-5.1.0") == handle.read()
    assert falco_rules.assemble([], [(UPSTREAM, text)])[2:] == ([], [])  # the whole file again, as a file of yours
