# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_security: the Pod Security Standards level rendered objects need, and which pod needs what."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.seclog.falco_efk.plugins.module_utils.pod_security import namespace_level, summary


def pod_security(objects):
    """``{"level": ..., "needs": [...], "summary": [...]}`` for the pods and workloads among ``objects``."""
    report = namespace_level(objects)
    report["summary"] = summary(report)
    return report


class FilterModule(object):
    """The collection's Pod Security filter."""

    def filters(self):
        """Filter name -> function."""
        return {"pod_security": pod_security}
