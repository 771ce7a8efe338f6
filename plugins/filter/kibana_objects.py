# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kibana_objects: the dashboard spec (data) -> the saved objects for a Kibana version, in creation order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.seclog.falco_efk.plugins.module_utils.saved_objects import (
    SavedObjectError, build_all, dialect, validate_spec, with_fields)


def kibana_objects(spec, version, fields=None):
    """Build every object of ``spec`` in the shape Kibana ``version`` stores; a clear error names each bad item.

    ``fields`` maps a visualization's field to the one to aggregate on (``rule`` -> ``rule.keyword`` where Elasticsearch
    mapped it dynamically), as falco_alerts_info's ``resolved_fields`` says.
    """
    problems = validate_spec(spec)
    if problems:
        raise AnsibleFilterError("The Kibana dashboard spec has %d problem(s): %s" % (len(problems), " ".join(problems)))
    try:
        return build_all(with_fields(spec, fields or {}), dialect(str(version)))
    except SavedObjectError as exc:
        raise AnsibleFilterError("Cannot build the Kibana objects: %s" % exc)


class FilterModule(object):
    """The collection's filters."""

    def filters(self):
        """Filter name -> function."""
        return {"kibana_objects": kibana_objects}
