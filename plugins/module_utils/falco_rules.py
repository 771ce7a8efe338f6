# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Falco rules files: structure checks before anything is applied, and assembly into ConfigMap files.

Pure functions over parsed YAML (and YAML text); no I/O. The checks follow Falco's own rules
loader (rule_loader_reader.cpp) and the rules reference at falco.org: what Falco rejects is a
problem, what Falco only warns about is a warning. Conditions and outputs are not compiled here:
field names and filter syntax are Falco's to judge when it loads the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

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


def assemble(inline, files, inline_source=INLINE_SOURCE):
    """(rules_files, summary, warnings, problems) for inline items and (path, text) files.

    ``rules_files`` maps a ConfigMap key to YAML text: ``00-inline.yaml`` for the inline items, then
    ``NN-<basename>.yaml`` per file in the order given, so Falco, which loads a directory sorted, loads
    them in that order. It is empty when there are problems.
    """
    sources = []
    if inline:
        sources.append((INLINE_FILE, inline_source, inline_source, inline))
    width = max(2, len(str(len(files))))
    for position, (path, text) in enumerate(files, 1):
        sources.append((file_name(position, path, width), path, "rules file %s" % path, text))
    rules_files, summary, warnings, problems = {}, [], [], []
    for output, source, label, value in sources:
        documents, found = _source_documents(value, label)
        problems.extend(found)
        seen = {}
        for number, items in enumerate(documents, 1):
            document = number if len(documents) > 1 else None
            where = label if document is None else "%s, document %d" % (label, number)
            doc_problems, doc_warnings = review_items(items, label, document=document, seen=seen) if isinstance(items, list) \
                else (["%s: is %s, not a list. %s" % (where, _type_name(items), SYNTAX_HINT)], [])
            problems.extend(doc_problems)
            warnings.extend(doc_warnings)
        if not found and all(isinstance(items, list) for items in documents):
            rules_files[output] = dump_documents(documents) if documents else "[]\n"
            summary.extend(_summarise(documents, source, output))
    if problems:
        rules_files = {}
    return rules_files, summary, warnings, problems


def count(summary):
    """Kind -> number of items, rules, macros and lists always present."""
    totals = dict((kind, 0) for kind in ("rule", "macro", "list"))
    for entry in summary:
        totals[entry["kind"]] = totals.get(entry["kind"], 0) + 1
    return totals
