# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of module input that an argument spec cannot express.

Each returns problems worded ``<option>: <value> <what is wrong>. <how to fix>``, so a module fails before its
first request with a message naming the option (``check_names`` fails it so). Nothing here does I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import yaml
except ImportError:  # the modules report the missing library
    yaml = None

# RFC 1123 labels name namespaces; Services need RFC 1035 labels (a letter first).
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def name_problems(params, namespaces=(), services=()):
    """Problems with the options in ``namespaces`` (namespace names) and ``services`` (Service names); unset ones are
    left alone."""
    problems = []
    for option in namespaces:
        value = params.get(option)
        if value is not None and not DNS_LABEL.match(value):
            problems.append("%s: %r is not a namespace name, which must be a DNS label (lower case letters, digits and '-', "
                            "at most 63, starting and ending with a letter or digit). Use a name such as logging." % (option, value))
    for option in services:
        value = params.get(option)
        if value is not None and not DNS_1035_LABEL.match(value):
            problems.append("%s: %r is not a Service name, which must be a DNS label starting with a letter (lower case "
                            "letters, digits and '-', at most 63). Use the Service's name as kubectl get services shows it."
                            % (option, value))
    return problems


def check_names(module, namespaces=(), services=()):
    """Fail ``module`` with every problem of ``name_problems`` at once, before its first request."""
    problems = name_problems(module.params, namespaces, services)
    if problems:
        module.fail_json(msg=" ".join(problems))


def refused_credentials(prefix):
    """What to do when the service refused ``<prefix>username`` and ``<prefix>password`` (HTTP 401)."""
    return ("Give %spassword of %susername: the efk role keeps elastic's in the Secret elasticsearch-logging-elastic of the "
            "stack's namespace (key password)." % (prefix, prefix))


def yaml_documents(text, source):
    """(documents, problem): the non-empty YAML documents of ``text``, or a problem naming ``source`` and the line."""
    try:
        return [document for document in yaml.safe_load_all(text) if document is not None], None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        cause = exc.problem or exc.context or "invalid YAML"
        return [], "%s: not valid YAML%s: %s. Fix the YAML there (yamllint shows it too)." % (source, where, cause)
    except yaml.YAMLError as exc:
        return [], "%s: not valid YAML: %s. Fix the YAML." % (source, exc)
