# -*- coding: utf-8 -*-
# Copyright: (c) 2026, seclog maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which objects an apply would change, as pure functions over the desired and the live objects.

An apply (kubectl's, and kubernetes.core's ``apply: true``) computes a three-way patch from the object's
last-applied configuration, the desired object and the live one. When the desired object equals its
last-applied configuration (nothing was removed or changed since) and every field it sets already has that
value live, the patch is empty: the apply would change nothing. kubernetes.core sends a PATCH even then for
objects with lists; skipping those objects keeps a converged cluster free of writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Workloads whose readiness an apply with wait waits for; an unchanged one that is not ready is applied (and
# waited for) again, so a re-run after a failed wait still waits and reports.
WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet")


def contained(desired, live):
    """Whether every field ``desired`` sets has the same value in ``live`` (lists element by element)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(key in live and contained(value, live[key]) for key, value in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(contained(d, v) for d, v in zip(desired, live))
    return desired == live


def last_applied(live):
    """The live object's last-applied configuration (a dict), or None."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _without_last_applied(obj):
    """``obj`` without the last-applied annotation, and without empty annotations (kubectl records ``annotations: {}``)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "annotations" not in metadata:
        return obj
    annotations = dict((k, v) for k, v in (metadata["annotations"] or {}).items() if k != LAST_APPLIED)
    clone = dict(obj, metadata=dict(metadata, annotations=annotations))
    if not annotations:
        del clone["metadata"]["annotations"]
    return clone


def ready(live):
    """Whether a workload has rolled out and is ready (other kinds: True), as kubernetes.core's waits judge it."""
    kind = live.get("kind")
    spec, status = live.get("spec") or {}, live.get("status") or {}
    metadata = live.get("metadata") or {}
    if kind not in WORKLOADS:
        return True
    if status.get("observedGeneration", 0) < metadata.get("generation", 0):
        return False
    if kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        return status.get("numberReady", 0) == desired and status.get("updatedNumberScheduled", desired) == desired
    replicas = spec.get("replicas", 1)
    if kind == "StatefulSet":
        return (status.get("readyReplicas", 0) == replicas and status.get("updatedReplicas", replicas) == replicas
                and status.get("currentRevision") == status.get("updateRevision"))
    return (status.get("availableReplicas", 0) == replicas and status.get("updatedReplicas", replicas) == replicas
            and status.get("replicas", replicas) == replicas and not status.get("unavailableReplicas"))


def verdict(desired, live):
    """Why ``desired`` must be applied ("create", "changed", "not ready"), or None when an apply would change nothing."""
    if live is None:
        return "create"
    previous = last_applied(live)
    desired = _without_last_applied(desired)
    if previous is None or _without_last_applied(previous) != desired or not contained(desired, live):
        return "changed"
    if not ready(live):
        return "not ready"
    return None


def label(obj):
    """``Kind namespace/name`` (or ``Kind name``) for reports."""
    metadata = obj.get("metadata") or {}
    where = "%s/" % metadata["namespace"] if metadata.get("namespace") else ""
    return "%s %s%s" % (obj.get("kind"), where, metadata.get("name"))
