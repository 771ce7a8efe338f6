# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Falco rules files: checks before anything is applied, and assembly into ConfigMap files.

Pure functions over parsed YAML (and YAML text); no I/O. The checks follow Falco's own rules
loader (falcosecurity/falco userspace/engine rule_loader_reader.cpp, rule_loader_collector.cpp,
rule_loader_compiler.cpp and filter_macro_resolver.cpp @0.44.1) and the rules reference at falco.org:
what Falco rejects is a problem, what Falco only warns about is a warning.

Two layers: the structure of each item (``review_items``), then, in ``assemble``, what Falco does
with all of them after its default rules (names in falco_default_rules.py): an append or override
needs an item of that name loaded before it; after each file, lists are pasted into conditions,
conditions are parsed with Falco's grammar (falco_condition.py), every macro used must be defined
where Falco looks (a macro sees the macros before it, a file the files before it) with no loop, and
rules' exceptions must fit. Field names are checked for their shape only, and outputs not at all:
which fields exist is Falco's (and its plugins') to say when it loads the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re
from collections import OrderedDict

from ansible_collections.seclog.falco_efk.plugins.module_utils import falco_condition, falco_default_rules
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import yaml_documents

try:
    import yaml
    HAS_YAML = True
except ImportError:  # the module reports the missing library
    yaml = None
    HAS_YAML = False

KINDS = ("rule", "macro", "list", "required_engine_version", "required_plugin_versions")
PRIORITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "info", "debug")
RULE_REQUIRED = ("desc", "condition", "output", "priority")
KNOWN_KEYS = {
    "rule": frozenset(("rule", "desc", "condition", "output", "priority", "exceptions", "enabled", "tags", "warn_evttypes",
                       "skip-if-unknown-filter", "source", "append", "override", "capture", "capture_duration")),
    "macro": frozenset(("macro", "condition", "append", "override")),
    "list": frozenset(("list", "items", "append", "override")),
    "required_engine_version": frozenset(("required_engine_version",)),
    "required_plugin_versions": frozenset(("required_plugin_versions",)),
}
# What an override may name, per kind and action (falco.org, "Overriding Rules").
OVERRIDABLE = {
    "rule": {"append": ("condition", "output", "desc", "tags", "exceptions"),
             "replace": ("condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes",
                         "skip-if-unknown-filter")},
    "macro": {"append": ("condition",), "replace": ("condition",)},
    "list": {"append": ("items",), "replace": ("items",)},
}
BOOL_KEYS = ("enabled", "append", "warn_evttypes", "skip-if-unknown-filter", "capture")
INLINE_FILE = "00-inline.yaml"
INLINE_SOURCE = "inline rules"
NEW_RULE_HINT = "A new rule needs desc, condition, output and priority; to change an existing rule use append: true or override."
SYNTAX_HINT = "A rules file is a YAML list of items such as '- rule: ...', '- macro: ...' and '- list: ...'."


class _Review:
    """Problems and warnings for one source, each prefixed with where it is."""

    def __init__(self, source):
        self.source = source
        self.problems = []
        self.warnings = []

    def where(self, position, kind=None, name=None, document=None):
        place = "%s, item %d" % (self.source, position) if document is None else "%s, document %d, item %d" % (
            self.source, document, position)
        if kind is None:
            return place
        return "%s (%s %s)" % (place, kind, _quote(name))


def _quote(name):
    return "'%s'" % name if isinstance(name, str) else "with no valid name"


def _is_str(value):
    return isinstance(value, str)


def _is_bool(value):
    return isinstance(value, bool)


def _type_name(value):
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(type(value), "a string")


def _join(words):
    words = list(words)
    if len(words) < 2:
        return "".join(words)
    return "%s and %s" % (", ".join(words[:-1]), words[-1])


def item_kind(item):
    """The kind key of one item, or None when it has none or several."""
    kinds = [kind for kind in KINDS if kind in item] if isinstance(item, dict) else []
    return kinds[0] if len(kinds) == 1 else None


def rule_action(item):
    """How a rule item acts: C(define), C(append), C(override) or C(enable) (changes only enabled)."""
    if isinstance(item.get("override"), dict) and item["override"]:
        return "override"
    if item.get("append") is True:
        return "append"
    if not any(key in item for key in RULE_REQUIRED):
        return "enable"
    return "define"


def item_action(item, kind):
    """How an item of any kind acts; macros and lists define unless they append or override."""
    if kind == "rule":
        return rule_action(item)
    if kind in ("macro", "list"):
        if isinstance(item.get("override"), dict) and item["override"]:
            return "override"
        return "append" if item.get("append") is True else "define"
    return "define"


def item_name(item, kind):
    """The name the summary shows for an item."""
    value = item.get(kind)
    if kind == "required_plugin_versions":
        plugins = value if isinstance(value, list) else []
        return ", ".join(str(plugin.get("name")) for plugin in plugins if isinstance(plugin, dict))
    if kind == "required_engine_version":
        return str(value)
    return value if _is_str(value) else str(value)


def _check_types(review, here, item, kind):
    """Type checks shared by every form of a rule, macro or list."""
    wrong = []
    for key in ("desc", "condition", "output", "source"):
        if key in item and not _is_str(item[key]):
            wrong.append("%s must be a string, not %s" % (key, _type_name(item[key])))
    if "priority" in item:
        priority = item["priority"]
        if not _is_str(priority) or priority.lower() not in PRIORITIES:
            wrong.append("priority %r is not one of %s (any case)" % (priority, ", ".join(PRIORITIES)))
    for key in BOOL_KEYS:
        if key in item and not _is_bool(item[key]):
            wrong.append("%s must be true or false, not %r" % (key, item[key]))
    if "tags" in item:
        tags = item["tags"]
        if not isinstance(tags, list) or not all(_is_str(tag) for tag in tags):
            wrong.append("tags must be a list of strings, for example tags: [container, shell]")
    if kind == "list" and "items" in item and not isinstance(item["items"], list):
        wrong.append("items must be a list, for example items: [bash, sh], not %s" % _type_name(item["items"]))
    if wrong:
        review.problems.append("%s: %s." % (here, "; ".join(wrong)))


def _check_exceptions(review, here, item, action):
    if "exceptions" not in item or item["exceptions"] is None:
        return
    exceptions = item["exceptions"]
    if not isinstance(exceptions, list):
        review.problems.append("%s: exceptions must be a list of mappings, each with a name (and fields, comps, values)." % here)
        return
    for index, exception in enumerate(exceptions, 1):
        if not isinstance(exception, dict) or not _is_str(exception.get("name")) or not exception.get("name"):
            review.problems.append("%s: exception %d needs a name: each exception is a mapping such as "
                                   "{name: known_writers, fields: [proc.name], values: [[nginx]]}." % (here, index))
            continue
        label = "exception '%s'" % exception["name"]
        if action == "define" and "fields" not in exception:
            review.problems.append("%s: %s needs fields (the fields its values are compared with); only an exception "
                                   "appended to an existing rule may leave them out." % (here, label))
        if "values" in exception and not isinstance(exception["values"], list):
            review.problems.append("%s: %s: values must be a list." % (here, label))


def _check_override(review, here, item, kind):
    """The override mapping: append/replace per key, keys Falco can override, each key present, none left out."""
    override = item["override"]
    if not isinstance(override, dict) or not override:
        review.problems.append("%s: override must be a mapping of key to append or replace, for example "
                               "override: {condition: append}." % here)
        return
    if item.get("append") is True:
        review.problems.append("%s: append: true and override cannot be used together; keep override." % here)
    for key, how in override.items():
        if how not in ("append", "replace"):
            review.problems.append("%s: override of %s is %r; it must be append or replace." % (here, key, how))
        elif key not in OVERRIDABLE[kind][how]:
            other = "append" if how == "replace" else "replace"
            also = "; %s can only be %sd" % (key, other) if key in OVERRIDABLE[kind][other] else ""
            review.problems.append("%s: Falco cannot %s %s of a %s; it can %s %s%s." % (
                here, how, key, kind, how, _join(OVERRIDABLE[kind][how]), also))
        elif key not in item:
            review.problems.append("%s: override says to %s %s but the item has no %s; add it, or remove %s from override." % (
                here, how, key, key, key))
    if kind == "rule":
        overridable = set(OVERRIDABLE["rule"]["append"]) | set(OVERRIDABLE["rule"]["replace"])
        stray = [key for key in item if key in overridable and key not in override]
        if stray:
            review.problems.append("%s: %s given without an override entry; add %s under override (append or replace), "
                                   "or remove %s." % (here, _join(stray), _join(stray), "it" if len(stray) == 1 else "them"))


def _check_rule(review, here, item):
    action = rule_action(item)
    _check_types(review, here, item, "rule")
    if "override" in item:
        _check_override(review, here, item, "rule")
    elif action == "enable":
        if "enabled" not in item:
            review.problems.append("%s: missing %s. %s" % (here, ", ".join(RULE_REQUIRED), NEW_RULE_HINT))
        else:
            review.warnings.append("%s: a rule item with only enabled is deprecated in recent Falco releases; "
                                   "use override: {enabled: replace}." % here)
    elif action == "append":
        review.warnings.append("%s: append: true is deprecated in recent Falco releases; use override, for example "
                               "override: {condition: append}." % here)
    else:
        missing = [key for key in RULE_REQUIRED if key not in item]
        if missing:
            review.problems.append("%s: missing %s. %s" % (here, ", ".join(missing), NEW_RULE_HINT))
    # Exceptions that define or replace need their fields; appended ones may reuse the rule's.
    replaces = isinstance(item.get("override"), dict) and item["override"].get("exceptions") == "replace"
    _check_exceptions(review, here, item, "define" if action == "define" or replaces else "change")


def _check_macro_or_list(review, here, item, kind):
    body = "condition" if kind == "macro" else "items"
    _check_types(review, here, item, kind)
    if body not in item:
        example = "condition: container.id != host" if kind == "macro" else "items: [bash, sh]"
        review.problems.append("%s: missing %s. Every %s needs %s (%s), also when it appends or overrides." % (
            here, body, kind, body, example))
    if "override" in item:
        _check_override(review, here, item, kind)
    elif item.get("append") is True:
        review.warnings.append("%s: append: true is deprecated in recent Falco releases; use override: {%s: append}." % (
            here, body))


def _check_engine_version(review, here, item):
    version = item["required_engine_version"]
    if isinstance(version, bool) or not (isinstance(version, int) or (_is_str(version) and re.match(r"^\d+(\.\d+\.\d+)?$", version))):
        review.problems.append("%s: required_engine_version must be a number (for example 26) or a version "
                               "x.y.z (for example 0.31.0), not %r." % (here, version))


def _check_plugin_versions(review, here, item):
    plugins = item["required_plugin_versions"]
    if not isinstance(plugins, list):
        review.problems.append("%s: required_plugin_versions must be a list of {name, version} mappings." % here)
        return
    for index, plugin in enumerate(plugins, 1):
        entries = [plugin] + (plugin.get("alternatives") if isinstance(plugin, dict) and isinstance(plugin.get("alternatives"), list) else [])
        if isinstance(plugin, dict) and "alternatives" in plugin and not isinstance(plugin["alternatives"], list):
            review.problems.append("%s: plugin %d: alternatives must be a list of {name, version} mappings." % (here, index))
        for entry in entries:
            if not isinstance(entry, dict) or not _is_str(entry.get("name")) or not _is_str(entry.get("version")):
                review.problems.append("%s: plugin %d needs a name and a version, both strings, for example "
                                       "{name: k8saudit, version: 0.7.0}." % (here, index))
                break


def _check_item(review, position, item, document, seen):
    if item is None:
        review.warnings.append("%s: empty item; Falco skips it." % review.where(position, document=document))
        return None
    if not isinstance(item, dict):
        review.problems.append("%s: is %s, not a mapping. %s" % (review.where(position, document=document), _type_name(item), SYNTAX_HINT))
        return None
    kinds = [kind for kind in KINDS if kind in item]
    if len(kinds) != 1:
        found = "has none of %s" % ", ".join(KINDS) if not kinds else "has %s; an item has exactly one of them" % _join(kinds)
        review.problems.append("%s: %s. %s" % (review.where(position, document=document), found, SYNTAX_HINT))
        return None
    kind = kinds[0]
    name = item[kind]
    named = kind in ("rule", "macro", "list")
    here = review.where(position, kind, name, document) if named else "%s (%s)" % (review.where(position, document=document), kind)
    if named and (not _is_str(name) or not name.strip()):
        review.problems.append("%s: the %s name must be a non-empty string, not %r." % (here, kind, name))
    unknown = sorted(key for key in item if key not in KNOWN_KEYS[kind])
    if unknown:
        review.warnings.append("%s: unknown key%s %s; Falco ignores %s." % (
            here, "s" if len(unknown) > 1 else "", ", ".join(unknown), "them" if len(unknown) > 1 else "it"))
    if kind == "rule":
        _check_rule(review, here, item)
    elif kind in ("macro", "list"):
        _check_macro_or_list(review, here, item, kind)
    elif kind == "required_engine_version":
        _check_engine_version(review, here, item)
    else:
        _check_plugin_versions(review, here, item)
    if named and _is_str(name) and item_action(item, kind) == "define":
        key = (kind, name)
        if key in seen:
            review.problems.append("%s: defines %s '%s' again (first at item %d). Rename one, or change the first "
                                   "with override." % (here, kind, name, seen[key]))
        else:
            seen[key] = position
    return kind


def review_items(items, source, document=None, seen=None):
    """(problems, warnings) for one rules document, a list of items; ``source`` names where it came from."""
    review = _Review(source)
    seen = {} if seen is None else seen
    if not isinstance(items, list):
        review.problems.append("%s: is %s, not a list. %s" % (source, _type_name(items), SYNTAX_HINT))
        return review.problems, review.warnings
    for position, item in enumerate(items, 1):
        _check_item(review, position, item, document, seen)
    return review.problems, review.warnings


def check_items(items, source):
    """The problems (strings) of one rules document; each names the item, the cause and the remedy."""
    return review_items(items, source)[0]


# ---------------------------------------------------------------- what Falco compiles
# Falco's rules loader, over your items and the default rules' names (falcosecurity/falco userspace/engine
# rule_loader_reader.cpp, rule_loader_collector.cpp, rule_loader_compiler.cpp and filter_macro_resolver.cpp @0.44.1):
# items are collected in load order (defaults first), an append or override needs an earlier item of that name, and
# after each file everything is compiled: lists are pasted into conditions, conditions parsed, macros resolved (a
# macro sees only the macros defined before its last change; a rule sees them all), rules' exceptions built.

DEFAULTS = "Falco's default rules (%s)" % falco_default_rules.SOURCE
PLACEHOLDER_ITEM = "_item"  # stands for an item of a default list: a bare string that is not an identifier
PLACEHOLDER_CONDITION = "(evt.num exists)"  # stands for a default condition, which is known to parse
CONDITIONS_HINT = ("A condition joins checks (a field, an operator and a value, such as proc.name = bash), macro names and "
                   "lists in parentheses with and, or, not and parentheses: https://falco.org/docs/concepts/rules/conditions/.")
APPEND_HINT = ("To add to a macro, use override: {condition: append} with only the added text, for example "
               "condition: or proc.name = nginx.")
FALCO_NO_PREVIOUS = {  # rule_loading_messages.h and rule_loader_collector.cpp @0.44.1
    "list": "List uses 'append' or 'override.items: append' but no list by that name already exists",
    "macro": "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
    "append": "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
    "replace": "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists",
    "enable": "Rule has 'enabled' key but no rule by that name already exists",
}
EXCEPTION_VALUES_HINT = ("With fields a list, values is a list of rows, each a list with one value per field, for example "
                         "fields: [proc.name, proc.pname] and values: [[bash, sshd]]; with a single field, values is a list "
                         "of strings, for example fields: proc.name, comps: in and values: [bash, zsh].")
# falcosecurity/falco userspace/engine/falco_load_result.cpp @0.44.1: fields Falco warns about in a condition.
DEPRECATED_FIELDS = dict([("evt.dir", "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and "
                                      "'evt.dir = >' always evaluates to false; remove the check on evt.dir")]
                         + [(field, "the field is not available due to the drop of enter events; remove it") for field in
                            ("evt.latency", "evt.latency.s", "evt.latency.ns", "evt.latency.human", "evt.wait_latency")])


class _Part:
    """A piece of a condition and the item that wrote it; ``text`` None is a default rule's own condition."""

    def __init__(self, text, here, label="condition", refs=()):
        self.text = text
        self.here = here
        self.label = label
        self.refs = refs

    @property
    def body(self):
        return PLACEHOLDER_CONDITION if self.text is None else self.text


class _Entry:
    """A rule, macro or list as Falco's collector holds it: where it stands in load order and what it is now."""

    def __init__(self, kind, name, index, here, default):
        self.kind = kind
        self.name = name
        self.index = index
        self.visibility = index
        self.here = here
        self.default = default  # a name of the default rules (used by them, whatever you do with it)
        self.parts = []
        self.items = []
        self.source = "syscall"
        self.exceptions = None if default else []  # a default rule's own exceptions are not known here
        self.exceptions_here = here
        self.compile = not default  # a rule: whether its condition holds text of yours

    def owner(self):
        """The item of yours that last wrote this entry's condition (the default rules when none did)."""
        mine = [part.here for part in self.parts if part.text is not None]
        return mine[-1] if mine else self.here


class _Sink:
    """Messages in the order found, each once (the same mistake is found again by every later compile)."""

    def __init__(self):
        self.messages = []
        self.seen = set()

    def add(self, message):
        if message not in self.seen:
            self.seen.add(message)
            self.messages.append(message)

    def take(self, start):
        return self.messages[start:]


def _scalar_text(value):
    """A YAML scalar as the text Falco reads (None for what is not a scalar)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) or _is_str(value):
        return str(value)
    return None


def _suggest(name, names):
    close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.8)
    return " (did you mean '%s'?)" % close[0] if close else ""


def _unwrap(origin):
    """(part, offset, list name) of a character's origin; the list is the one whose items were pasted there."""
    pasted = None
    while origin[0] == "list":
        pasted = pasted or origin[1]
        origin = origin[2]
    return origin[0], origin[1], pasted


def _snippet(text, offset):
    """The line of ``text`` at ``offset``, at most 40 characters each side, with >>> where the parser stopped."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end == -1 else end
    before, after = text[max(start, offset - 40):offset], text[offset:min(end, offset + 40)]
    return "%s%s>>>%s%s" % ("..." if offset - 40 > start else "", before, after, "..." if offset + 40 < end else "")


def _position(text, offset):
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Falco:
    """Falco's collector and compiler over names (see above); problems and warnings go to two sinks."""

    def __init__(self, later):
        self.later = later  # (kind, name) -> where your rules first define it, to say so when it is used too early
        self.counter = 0
        self.tables = {"list": OrderedDict(), "macro": OrderedDict(), "rule": OrderedDict()}
        self.problems = _Sink()
        self.warnings = _Sink()
        self.used_lists = set()
        self.used_macros = set()
        for name, count in falco_default_rules.LISTS:
            self._new("list", name, DEFAULTS, True).items = [PLACEHOLDER_ITEM] * count
        for name, refs in falco_default_rules.MACROS:
            self._new("macro", name, DEFAULTS, True).parts = [_Part(None, DEFAULTS, refs=refs)]
        for name in falco_default_rules.RULES:
            self._new("rule", name, DEFAULTS, True).parts = [_Part(None, DEFAULTS)]

    def _next(self):
        self.counter += 1
        return self.counter - 1

    def _new(self, kind, name, here, default=False):
        entry = _Entry(kind, name, self._next(), here, default)
        self.tables[kind][name] = entry
        return entry

    def _define(self, kind, name, here):
        """collector::define: a new entry, or the one of that name replaced where it stands (define_info)."""
        prev = self.tables[kind].get(name)
        if prev is None:
            return self._new(kind, name, here)
        prev.visibility, prev.here = self._next(), here
        prev.parts, prev.items, prev.exceptions, prev.exceptions_here, prev.compile = [], [], [], here, True
        return prev

    def _missing(self, here, kind, name, falco, action):
        later = self.later.get((kind, name))
        verb = {"append": "appends to", "override": "overrides", "enable": "enables"}[action]
        if later:
            remedy = "Your rules define it only later, at %s: move this item after that one." % later
        elif action == "enable":
            remedy = "Correct the name%s." % _suggest(name, self.tables[kind])
        else:
            remedy = "Define the %s instead (%swithout append or override), or correct the name%s." % (
                kind, "with desc, condition, output and priority, " if kind == "rule" else "", _suggest(name, self.tables[kind]))
        self.problems.add("%s: %s %s '%s', but neither Falco's default rules nor your items before this one define it "
                          "(Falco: %s). %s" % (here, verb, kind, name, falco, remedy))

    # ------------------------------------------------------------ reading (rule_loader_reader.cpp, collector)

    def read(self, here, item, kind):
        """Collect one item, as Falco's reader and collector do; what they refuse becomes a problem."""
        name = item.get(kind)
        if item.get("condition") == "" and kind != "list":
            self.problems.add("%s: the condition is empty (Falco: Value must be non-empty). Give a condition, or leave the "
                              "key out where the item may do without one." % here)
        elif kind in ("list", "macro", "rule") and _is_str(name) and name.strip():
            getattr(self, "_read_" + kind)(here, item, name)

    @staticmethod
    def _appends(item, key):
        override = item.get("override")
        return item.get("append") is True or (isinstance(override, dict) and override.get(key) == "append")

    def _read_list(self, here, item, name):
        if not isinstance(item.get("items"), list):
            return
        if not falco_condition.is_bare_string(name):
            self.warnings.add("%s: Falco warns that the list name is invalid (it must match [^()\"'[:space:]=,]+), "
                              "and a condition cannot use it; rename the list." % here)
        items = [text for text in (_scalar_text(value) for value in item["items"]) if text is not None]
        if self._appends(item, "items"):
            prev = self.tables["list"].get(name)
            if prev is None:
                self._missing(here, "list", name, FALCO_NO_PREVIOUS["list"], "append")
            else:
                prev.items = prev.items + items
                prev.visibility = self._next()
        else:
            self._define("list", name, here).items = items

    def _read_macro(self, here, item, name):
        if not _is_str(item.get("condition")):
            return
        if not falco_condition.is_identifier(name):
            self.warnings.add("%s: Falco warns that the macro name is invalid (it must be a letter, then letters, digits or "
                              "_), and a condition cannot use it; rename the macro." % here)
        if self._appends(item, "condition"):
            prev = self.tables["macro"].get(name)
            if prev is None:
                self._missing(here, "macro", name, FALCO_NO_PREVIOUS["macro"], "append")
            else:
                prev.parts = prev.parts + [_Part(item["condition"], here, "appended condition")]
                prev.visibility = self._next()
        else:
            self._define("macro", name, here).parts = [_Part(item["condition"], here)]

    def _read_rule(self, here, item, name):
        action = rule_action(item)
        source = item.get("source") if _is_str(item.get("source")) else ""
        source = source or ("syscall" if action == "define" else "")
        prev = self.tables["rule"].get(name)
        if prev is not None and prev.source and source and prev.source != source and action != "enable":
            self.problems.add("%s: rule '%s' has source %s, but %s defines it with source %s (Falco: Rule has been "
                              "re-defined with a different source). Give this rule a name of its own." % (
                                  here, name, source, prev.here, prev.source))
            return
        condition = item.get("condition") if _is_str(item.get("condition")) else None
        if action == "enable":
            if _is_bool(item.get("enabled")) and prev is None:
                self._missing(here, "rule", name, FALCO_NO_PREVIOUS["enable"], "enable")
        elif action == "define":
            if condition is not None:
                entry = self._define("rule", name, here)
                entry.parts, entry.source = [_Part(condition, here)], source
                entry.exceptions = self._new_exceptions(here, self._exceptions(item), entry.exceptions, define=True)
        elif action == "append":
            if prev is None:
                self._missing(here, "rule", name, FALCO_NO_PREVIOUS["append"], "append")
            else:
                self._append_rule(here, item, prev, condition)
        elif isinstance(item.get("override"), dict):
            self._override_rule(here, item, name, prev, condition)

    def _append_rule(self, here, item, prev, condition):
        if condition:
            prev.parts = prev.parts + [_Part(condition, here, "appended condition")]
            prev.compile = True
        if isinstance(item.get("exceptions"), list):
            self._append_exceptions(here, prev, self._exceptions(item))
        prev.visibility = self._next()

    def _override_rule(self, here, item, name, prev, condition):
        override = item["override"]
        appended = [key for key, how in override.items() if how == "append"]
        replaced = [key for key, how in override.items() if how == "replace"]
        if prev is None:  # Falco stops at the first of the two
            falco = FALCO_NO_PREVIOUS["append" if appended else "replace"]
            if appended or replaced:
                self._missing(here, "rule", name, falco, "override")
            return
        if appended:
            self._append_rule(here, dict((key, item.get(key)) for key in appended if key in item), prev,
                              condition if "condition" in appended else None)
        if replaced:
            if "condition" in replaced and condition is not None:
                prev.parts, prev.compile = [_Part(condition, here)], True
            if "exceptions" in replaced and isinstance(item.get("exceptions"), list):
                prev.exceptions, prev.exceptions_here, prev.compile = self._exceptions(item), here, True
            prev.visibility = self._next()

    # ------------------------------------------------------------ exceptions (reader, collector, compiler)

    @staticmethod
    def _exceptions(item):
        """The exceptions of an item as Falco decodes them (what the structure checks refuse is left out)."""
        decoded = []
        for exception in item.get("exceptions") or []:
            if not isinstance(exception, dict) or not _is_str(exception.get("name")):
                continue
            fields, comps = exception.get("fields"), exception.get("comps")
            values = exception.get("values") if isinstance(exception.get("values"), list) else []
            decoded.append({"name": exception["name"], "fields": _exception_entry(fields), "comps": _exception_entry(comps),
                            "values": [_exception_entry(value) for value in values]})
        return decoded

    def _new_exceptions(self, here, exceptions, known, define=False):
        """Validate exceptions new to a rule (validate_exception_info); the valid ones added to ``known``."""
        for exception in exceptions:
            label = "%s: exception '%s'" % (here, exception["name"])
            if exception["fields"] is None:
                if not define:
                    self.problems.add("%s is new to the rule, so it needs fields and comps (Falco: Rule exception must "
                                      "have fields property with a list of fields); or correct its name." % label)
                continue
            if not define and not exception["values"]:
                self.problems.add("%s is new to the rule, so it needs values (Falco: Rule exception must have values "
                                  "property with a list of values)." % label)
                continue
            error = _exception_error(exception)
            if error:
                self.problems.add("%s: %s (Falco: %s)." % (label, error[1], error[0]))
            elif known is not None:
                known.append(exception)
        return known

    def _append_exceptions(self, here, rule, exceptions):
        if rule.exceptions is None:  # a default rule: which exceptions it has is not known here
            self._new_exceptions(here, [exception for exception in exceptions if exception["fields"] is not None], None)
            return
        for exception in exceptions:
            existing = [known for known in rule.exceptions if known["name"] == exception["name"]]
            if not existing:
                self._new_exceptions(here, [exception], rule.exceptions)
                rule.compile = True
            elif exception["fields"] is not None or exception["comps"] is not None:
                self.problems.add("%s: exception '%s' is already the rule's, so only values can be added to it (Falco: Can "
                                  "not append exception %s to existing exception, only values); remove its %s." % (
                                      here, exception["name"], "fields" if exception["fields"] is not None else "comps",
                                      "fields and comps" if exception["comps"] is not None else "fields"))
            else:
                existing[0]["values"] = existing[0]["values"] + exception["values"]

    # ------------------------------------------------------------ compiling (rule_loader_compiler.cpp)

    def compile(self):
        """Compile what was read so far, as Falco does after each file; problems and warnings go to the sinks."""
        lists = sorted(self.tables["list"].values(), key=lambda entry: entry.index)
        pasted = [(entry.name, self._list_items(entry)) for entry in lists]
        macros = sorted(self.tables["macro"].values(), key=lambda entry: entry.index)
        refs = dict((macro.name, self._references(macro, pasted, problem=True)) for macro in macros)
        done = set()
        for macro in macros:
            self._resolve(macro, refs, done)
            done.add(macro.name)
        for rule in sorted(self.tables["rule"].values(), key=lambda entry: entry.index):
            if rule.compile:
                for name, origin in self._references(rule, pasted, problem=rule.source == "syscall") or []:
                    if name not in self.tables["macro"]:
                        self._undefined(rule, [name], origin)

    def _list_items(self, entry):
        """compile_list_infos: an item naming a list defined before this one stands for that list's items."""
        items = []
        for item in entry.items:
            ref = self.tables["list"].get(item)
            if ref is not None and ref.index < entry.visibility:
                items.extend(ref.items)
                self.used_lists.add(ref.name)
            else:
                items.append(item)
        return items

    def _text(self, entry):
        """The condition Falco parses for an entry (lists not yet pasted), and each character's origin."""
        text, origins = "", []
        for number, part in enumerate(entry.parts):
            if number:
                previous = entry.parts[number - 1]
                text += " "
                origins.append((previous, len(previous.body)))
            text += part.body
            origins.extend((part, offset) for offset in range(len(part.body)))
        if entry.kind == "rule" and entry.exceptions:
            try:
                built = falco_condition.exception_condition(
                    [(ex["fields"], _exception_comps(ex), ex["values"]) for ex in entry.exceptions])
            except ValueError as exc:
                self.problems.add("%s: the exceptions' values do not fit their fields (Falco: %s). %s" % (
                    entry.exceptions_here, exc, EXCEPTION_VALUES_HINT))
                return None, None
            first, last = origins[0], origins[-1]
            part = _Part(built, entry.exceptions_here, "condition Falco builds from the exceptions")
            text = "(%s)%s" % (text, built)
            origins = [first] + origins + [(last[0], last[1] + 1)] + [(part, offset) for offset in range(len(built))]
        return text, origins

    def _references(self, entry, pasted, problem):
        """[(macro name, origin)] of an entry's condition, or None when it does not parse (a problem, or a warning)."""
        if all(part.text is None for part in entry.parts) and not (entry.kind == "rule" and entry.exceptions):
            return [(name, (entry.parts[0], 0)) for name in entry.parts[0].refs]
        text, origins = self._text(entry)
        if text is None:
            return None
        text, origins, used = falco_condition.paste_lists(text, origins, pasted)
        self.used_lists.update(used)
        try:
            parsed = falco_condition.parse(text)
        except falco_condition.ConditionError as exc:
            (self.problems if problem else self.warnings).add(self._syntax(entry, exc, origins, problem))
            return None
        found = [(name, (part, 0)) for part in entry.parts if part.text is None for name in part.refs]
        found.extend((name, origins[index]) for name, index in parsed.identifiers)
        self.used_macros.update(name for name, _origin in found)
        for field, index in parsed.fields:
            part = _unwrap(origins[index])[0]
            if field in DEPRECATED_FIELDS and part.text is not None:
                self.warnings.add("%s: the %s uses %s, which Falco deprecates: %s." % (
                    part.here, part.label, field, DEPRECATED_FIELDS[field]))
        return found

    def _syntax(self, entry, exc, origins, problem):
        part, offset, pasted = _unwrap(origins[min(exc.index, len(origins) - 1)])
        body = part.body
        if pasted and body[:offset].rstrip(" \t\r\n")[-1:] in ("(", ","):
            # the list stands in a value list, as it should: the mistake is after it
            offset, pasted = offset + (len(pasted) if body.startswith(pasted, offset) else 0), None
        elif exc.index >= len(origins) and not pasted:
            offset += 1  # the parser stopped at the end of the text
        line, column = _position(body, offset)
        here = part.here if part.text is not None else entry.owner()
        if pasted:
            hint = ("Falco pasted the items of list '%s' there: it replaces a list's name with its items wherever the name "
                    "stands alone, so use a list only inside parentheses, as in proc.name in (%s)." % (pasted, pasted))
        elif "escape" in exc.message:
            hint = ("In a quoted string Falco knows only the escapes \\b \\f \\n \\r \\t \\\\ \\/ and the escaped quote; "
                    "write a backslash as \\\\.")
        else:
            hint = CONDITIONS_HINT
        message = "%s: the %s does not parse: %s (line %d, column %d: '%s'). %s" % (
            here, part.label, exc.message, line, column, _snippet(body, offset), hint)
        return message if problem else self._elsewhere(entry, message)

    @staticmethod
    def _elsewhere(entry, message):
        return "%s Falco compiles a rule of source %s only when a plugin provides that source." % (message, entry.source)

    def _resolve(self, macro, refs, done):
        """filter_macro_resolver: each macro used must be visible to this one, with no loop through it."""
        visible = set(name for name, entry in self.tables["macro"].items() if entry.index < macro.visibility)
        for name, origin in refs.get(macro.name) or []:
            outcome = self._walk(name, [macro.name], visible, refs, done)
            if outcome and outcome[0] == "loop":
                part = _unwrap(origin)[0]
                cycle = outcome[1]
                remedy = APPEND_HINT if len(cycle) == 2 else "Remove one of these uses (%s)." % ", ".join(
                    "%s uses %s" % (cycle[step], cycle[step + 1]) for step in range(len(cycle) - 1))
                self.problems.add("%s: macro loop %s (Falco: reference loop in macro '%s'). A macro cannot use itself, "
                                  "directly or through other macros. %s" % (
                                      part.here if part.text is not None else macro.owner(), " -> ".join(cycle), cycle[-1],
                                      remedy))
                return
            if outcome:
                self._undefined(macro, outcome[1][1:], origin)

    def _walk(self, name, path, visible, refs, done):
        if name not in visible:
            return "undefined", path + [name]
        if name in path:
            return "loop", path + [name]
        if name in done:
            return None
        for used, _origin in refs.get(name) or []:
            outcome = self._walk(used, path + [name], visible, refs, done)
            if outcome:
                return outcome
        return None

    def _undefined(self, entry, chain, origin):
        part, _offset, pasted = _unwrap(origin)
        here = part.here if part.text is not None else entry.owner()
        name = chain[-1]
        through = "".join(" uses '%s', which" % step for step in chain[:-1])
        later = self.later.get(("macro", name))
        macro = self.tables["macro"].get(name)
        what = "is not a macro of Falco's default rules nor of yours"
        if name == entry.name and entry.kind == "macro":
            what, hint = "is this macro itself", "A new macro cannot use itself. %s" % APPEND_HINT
        elif macro is not None and entry.kind == "macro":
            what = "is defined only after this macro"
            hint = "A macro sees only the macros defined before it: move the definition at %s above this one." % macro.here
        elif later:
            what = "is defined only later, at %s" % later
            hint = ("Falco checks each rules file with only what was loaded before it: define the macro in the same file "
                    "or an earlier one%s." % (" (and before this macro)" if entry.kind == "macro" else ""))
        elif pasted:
            hint = ("'%s' is an item of list '%s', pasted there because the list's name stands outside parentheses; "
                    "write proc.name in (%s)." % (name, pasted, pasted))
        else:
            hint = ("Define macro '%s' before this item, or correct the name%s; if '%s' is a value, compare a field with it, "
                    "as in proc.name = %s." % (name, _suggest(name, self.tables["macro"]), name, name))
        message = "%s: the %s%s uses '%s', which %s (Falco: Undefined macro '%s' used in filter.). %s" % (
            here, "condition" if part.text is None else part.label, through, name, what, name, hint)
        if entry.kind == "rule" and entry.source != "syscall":
            self.warnings.add(self._elsewhere(entry, message))
        else:
            self.problems.add(message)

    def unused(self):
        """Falco's warnings for macros and lists of yours that nothing uses (when the rules compile at all)."""
        if self.problems.messages:
            return
        for kind, used in (("macro", self.used_macros), ("list", self.used_lists)):
            for entry in self.tables[kind].values():
                if not entry.default and entry.name not in used:
                    self.warnings.add("%s: no rule or macro uses %s '%s' (Falco warns: %s not referred to by any other "
                                      "rule/macro)." % (entry.here, kind, entry.name, kind.capitalize()))


def _exception_entry(value):
    """A fields, comps or values entry as Falco decodes it: text, a list of entries, or None when absent or empty."""
    if isinstance(value, list):
        return [entry for entry in (_exception_entry(part) for part in value) if entry is not None]
    text = _scalar_text(value)
    return text if text else None


def _exception_comps(exception):
    """The comparisons Falco uses: the ones given (trimmed), = per field, or in for a single field."""
    comps, fields = exception["comps"], exception["fields"]
    if comps is None:
        return ["="] * len(fields) if isinstance(fields, list) else "in"
    return [comp.strip() for comp in comps] if isinstance(comps, list) else comps.strip()


def _exception_error(exception):
    """(Falco's message, remedy) when an exception's fields and comps do not fit (validate_exception_info)."""
    fields, comps = exception["fields"], exception["comps"]
    if isinstance(fields, list):
        if comps is not None and (not isinstance(comps, list) or len(comps) != len(fields)):
            return ("Fields and comps lists must have equal length", "give one comparison per field in comps")
        for comp in _exception_comps(exception):
            if not falco_condition.is_comparison(comp, single_field=False):
                return ("'%s' is not a supported comparison operator" % comp,
                        "'%s' is not an operator Falco knows; use one of %s" % (comp, ", ".join(falco_condition.OPERATORS)))
        return None
    if isinstance(comps, list):
        return ("Fields and comps must both be strings", "with a single field, comps is a single operator too")
    comp = _exception_comps(exception)
    if not falco_condition.is_comparison(comp, single_field=True):
        return ("When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator "
                "(e.g. startswith oneof)", "with a single field, comps must be in, pmatch or intersects (or an operator "
                "with oneof, anyof or allof), not '%s'" % comp)
    return None


def parse_documents(text, source):
    """(documents, problem): the non-empty YAML documents of a rules text, or the parse error with its line."""
    return yaml_documents(text, source)


def file_name(position, path, width=2):
    """The ConfigMap key for the rules file at ``position`` (1-based): NN-<basename>.yaml, sanitised."""
    base = re.sub(r"\.ya?ml$", "", path.replace("\\", "/").rstrip("/").split("/")[-1].lower())
    base = re.sub(r"[^a-z0-9._-]+", "-", base).strip(".-") or "rules"
    return "%0*d-%s.yaml" % (width, position, base)


class _RulesDumper(yaml.SafeDumper if HAS_YAML else object):
    """SafeDumper that writes multi-line strings (conditions, outputs) as literal blocks, as people write them."""


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


if HAS_YAML:
    _RulesDumper.add_representer(str, _represent_str)


def dump_documents(documents):
    """YAML text of rules documents, item and key order kept (a block scalar falls back to quotes where it must)."""
    return yaml.dump_all(documents, Dumper=_RulesDumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=100000, explicit_start=len(documents) > 1)


def _summarise(documents, source, output):
    summary = []
    for items in documents:
        for item in items:
            kind = item_kind(item)
            if kind:
                summary.append({"source": source, "file": output, "kind": kind, "name": item_name(item, kind),
                                "action": item_action(item, kind)})
    return summary


def _source_documents(value, label):
    """(documents, problems) of one source: a list of items, or YAML text of one or more lists."""
    if isinstance(value, list):
        return [value], []
    if _is_str(value):
        documents, problem = parse_documents(value, label)
        return documents, [problem] if problem else []
    return [], ["%s: must be a list of items or YAML text of a list, not %s. %s" % (label, _type_name(value), SYNTAX_HINT)]


def _placed(documents, label):
    """(where, item, kind) of every rule, macro and list of a source's documents, in load order."""
    for number, items in enumerate(documents, 1):
        if not isinstance(items, list):
            continue
        review = _Review(label)
        for position, item in enumerate(items, 1):
            kind = item_kind(item)
            if kind in ("rule", "macro", "list"):
                yield review.where(position, kind, item[kind], number if len(documents) > 1 else None), item, kind


def _first_definitions(sources):
    """(kind, name) -> where your rules first define it."""
    first = {}
    for _output, _source, label, documents, _found in sources:
        for here, item, kind in _placed(documents, label):
            if _is_str(item[kind]) and item_action(item, kind) == "define":
                first.setdefault((kind, item[kind]), here)
    return first


def assemble(inline, files, inline_source=INLINE_SOURCE):
    """(rules_files, summary, warnings, problems) for inline items and (path, text) files.

    ``rules_files`` maps a ConfigMap key to YAML text: ``00-inline.yaml`` for the inline items, then
    ``NN-<basename>.yaml`` per file in the order given, so Falco, which loads a directory sorted, loads
    them in that order. It is empty when there are problems.

    Each source is checked for structure, then, as Falco does after loading each file, everything loaded so
    far (the default rules first) is compiled: problems found then are listed with the source that brought them.
    """
    sources = []
    if inline:
        sources.append((INLINE_FILE, inline_source, inline_source, inline))
    width = max(2, len(str(len(files))))
    for position, (path, text) in enumerate(files, 1):
        sources.append((file_name(position, path, width), path, "rules file %s" % path, text))
    sources = [(output, source, label) + tuple(_source_documents(value, label)) for output, source, label, value in sources]
    falco = _Falco(_first_definitions(sources))
    rules_files, summary, warnings, problems = {}, [], [], []
    for output, source, label, documents, found in sources:
        problems.extend(found)
        seen = {}
        for number, items in enumerate(documents, 1):
            document = number if len(documents) > 1 else None
            where = label if document is None else "%s, document %d" % (label, number)
            doc_problems, doc_warnings = review_items(items, label, document=document, seen=seen) if isinstance(items, list) \
                else (["%s: is %s, not a list. %s" % (where, _type_name(items), SYNTAX_HINT)], [])
            problems.extend(doc_problems)
            warnings.extend(doc_warnings)
        known_problems, known_warnings = len(falco.problems.messages), len(falco.warnings.messages)
        for here, item, kind in _placed(documents, label):
            falco.read(here, item, kind)
        falco.compile()
        problems.extend(falco.problems.take(known_problems))
        warnings.extend(falco.warnings.take(known_warnings))
        if not found and all(isinstance(items, list) for items in documents):
            rules_files[output] = dump_documents(documents) if documents else "[]\n"
            summary.extend(_summarise(documents, source, output))
    known_warnings = len(falco.warnings.messages)
    falco.unused()
    warnings.extend(falco.warnings.take(known_warnings))
    if problems:
        rules_files = {}
    return rules_files, summary, warnings, problems


def count(summary):
    """Kind -> number of items, rules, macros and lists always present."""
    totals = dict((kind, 0) for kind in ("rule", "macro", "list"))
    for entry in summary:
        totals[entry["kind"]] = totals.get(entry["kind"], 0) + 1
    return totals
