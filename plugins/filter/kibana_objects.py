# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kibana_objects: the dashboard spec (data) -> the saved objects for a Kibana version, in creation order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.seclog.falco_efk.plugins.module_utils.saved_objects import SavedObjectError, build_all, dialect, validate_spec


def kibana_objects(spec, version):
    """Build every object of ``spec`` in the shape Kibana ``version`` stores; a clear error names each bad item."""
    problems = validate_spec(spec)
    if problems:
        raise AnsibleFilterError("The Kibana dashboard spec has %d problem(s): %s" % (len(problems), " ".join(problems)))
    try:
        return build_all(spec, dialect(str(version)))
    except SavedObjectError as exc:
        raise AnsibleFilterError("Cannot build the Kibana objects: %s" % exc)


class FilterModule(object):
    """The collection's filters."""

    def filters(self):
        """Filter name -> function."""
        return {"kibana_objects": kibana_objects}
