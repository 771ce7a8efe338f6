#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: falco_rules
short_description: Check custom Falco rules as Falco would load them and assemble them into rules files
version_added: 0.1.0
description:
  - Checks your Falco rules, macros and lists before anything is applied, so a typo fails the play on the
    controller with every problem listed, rather than crash-looping Falco on every node.
  - Checks the structure Falco's rules loader enforces. A new rule needs C(desc), C(condition), C(output) and
    C(priority) (one of emergency, alert, critical, error, warning, notice, informational, info, debug, in any case).
    A rule that changes an existing one (C(append) true, an C(override) mapping, or only C(enabled)) needs only
    what it changes. It also checks that C(tags) is a list of strings, that each exception has a C(name), that macros
    have a C(condition), that lists have C(items), and that no source defines the same rule, macro or list twice.
  - Checks what Falco does with your items after its default rules (falcosecurity/rules C(falco_rules.yaml) at
    C(falco-rules-5.1.0), the file Falco 0.44.1 ships; its macro, list and rule names are built in). Every condition
    (and the one Falco builds from a rule's exceptions) must parse with Falco's filter grammar, once Falco has pasted
    the lists' items in; every macro a condition uses must be one of Falco's or yours, defined where Falco looks (a
    macro sees only the macros defined before it, and each file only itself and the files loaded before it); no macro
    may use itself, directly or through others; an C(append) or C(override) needs a rule, macro or list of that name
    loaded before it; and exceptions' C(comps) must be operators Falco accepts. Each problem names the source, the
    item, where in the condition, and the fix.
  - Unknown keys, forms recent Falco releases deprecate, invalid macro or list names, deprecated fields such as
    C(evt.dir), and macros or lists nothing uses give warnings, as Falco does. A rule of a source other than
    C(syscall) is only warned about, since Falco skips it unless a plugin provides that source.
  - Field names are checked for their shape only, and outputs not at all; which fields exist is Falco's (and its
    plugins') to say when it loads the files. The grammar is Falco 0.44.1's; Falco 0.42 lacks the C(oneof),
    C(anyof) and C(allof) operator modifiers and the C(join), C(concat) and C(getopt) transformers.
  - Assembles the inline rules and each file into ConfigMap keys, C(00-inline.yaml) then C(NN-<file name>.yaml)
    in the order given, so Falco, which loads a rules directory in sorted order, loads them in that order.
  - Talks to no cluster and writes nothing; C(changed) is always false.
author:
  - seclog maintainers (@seclog)
options:
  rules:
    description:
      - Inline rules, as a list of items (each a dict with one of C(rule), C(macro), C(list),
        C(required_engine_version), C(required_plugin_versions)) or YAML text of such a list.
    type: raw
    default: []
  rules_label:
    description:
      - What the messages call O(rules), such as the variable you set them in (the falco role passes C(falco_rules)),
        so a problem names where to fix it.
    type: str
    default: inline rules
  files:
    description:
      - Rules files to read, in load order. Each is a YAML list of items, as Falco reads them.
      - Paths on the host the module runs on (the controller when it runs on localhost); prefer absolute paths,
        for example built from C(playbook_dir) or C(role_path).
    type: list
    elements: path
    default: []
requirements:
  - PyYAML
notes:
  - Falco's rules syntax is described at U(https://falco.org/docs/concepts/rules/),
    U(https://falco.org/docs/concepts/rules/conditions/) and U(https://falco.org/docs/reference/rules/rule-fields/).
"""

EXAMPLES = r"""
- name: Check and assemble the custom rules
  seclog.falco_efk.falco_rules:
    rules:
      - list: shell_binaries
        items: [bash, sh, zsh]
      - rule: Shell in container
        desc: A shell was started in a container.
        condition: spawned_process and container and proc.name in (shell_binaries)
        output: Shell in container (user=%user.name container=%container.name cmdline=%proc.cmdline)
        priority: WARNING
        tags: [container, shell]
      - rule: Terminal shell in container
        enabled: false
    files:
      - "{{ playbook_dir }}/files/falco/custom-rules.yaml"
  delegate_to: localhost
  register: falco_user_rules

- name: Put them in the ConfigMap Falco reads its rules directory from
  kubernetes.core.k8s:
    definition:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: falco-rules
        namespace: logging
      data: "{{ falco_user_rules.rules_files }}"
"""

RETURN = r"""
rules_files:
  description:
    - ConfigMap key (file name) to rules YAML, in the order Falco loads them (sorted by name).
    - C(00-inline.yaml) holds the inline rules (left out when there are none); files follow as C(NN-<name>.yaml).
  returned: success
  type: dict
  sample:
    00-inline.yaml: "- rule: Terminal shell in container\n  enabled: false\n"
    01-custom-rules.yaml: "- list: shell_binaries\n  items:\n  - bash\n"
summary:
  description: One entry per item, in load order.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The file path, or C(inline rules).
      type: str
    file:
      description: The key of RV(rules_files) the item is in.
      type: str
    kind:
      description: C(rule), C(macro), C(list), C(required_engine_version) or C(required_plugin_versions).
      type: str
    name:
      description: The item's name (the version, or the plugin names, for the version requirements).
      type: str
    action:
      description:
        - C(define) (a new item), C(append), C(override), or C(enable) (a rule item that only sets C(enabled)).
      type: str
count:
  description: Number of items per kind; C(rule), C(macro) and C(list) are always present.
  returned: success
  type: dict
  sample: {"rule": 2, "macro": 0, "list": 1}
problems:
  description:
    - Every problem found, each naming the source, the item and the remedy; for a condition, also Falco's own message,
      the line and column, and the text around it (C(>>>) marks where Falco's parser stopped).
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.seclog.falco_efk.plugins.module_utils import falco_rules

FIX_HINT = ("Fix each item named above and run again; Falco's rules syntax is at "
            "https://falco.org/docs/reference/rules/rule-fields/.")


def argument_spec():
    """The module's options."""
    return dict(
        rules=dict(type="raw", default=[]),
        rules_label=dict(type="str", default=falco_rules.INLINE_SOURCE),
        files=dict(type="list", elements="path", default=[]),
    )


def read_files(paths):
    """((path, text) pairs, problems): every file that could be read, and one problem per file that could not."""
    texts, problems = [], []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                texts.append((path, to_text(handle.read(), errors="strict")))
        except (IOError, OSError) as exc:
            problems.append("rules file %s: could not be read (%s). Check the path; it is read on the host the module "
                            "runs on (the controller with delegate_to: localhost)." % (path, exc.strerror or exc))
        except UnicodeError as exc:
            problems.append("rules file %s: is not UTF-8 text (%s). Save it as UTF-8." % (path, exc))
    return texts, problems


def run(module):
    """Read, check, assemble, report."""
    if not falco_rules.HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"))
    texts, problems = read_files(module.params["files"])
    rules_files, summary, warnings, found = falco_rules.assemble(module.params["rules"], texts, module.params["rules_label"])
    problems.extend(found)
    for warning in warnings:
        module.warn(warning)  # each names its source and item
    if problems:
        module.fail_json(msg="%d problem%s in the Falco rules; nothing was assembled:\n- %s\n%s" % (
            len(problems), "" if len(problems) == 1 else "s", "\n- ".join(problems), FIX_HINT),
            problems=problems, summary=summary)
    module.exit_json(changed=False, rules_files=rules_files, summary=summary, count=falco_rules.count(summary))


def main():
    """Entry point."""
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run(module)


if __name__ == "__main__":
    main()
