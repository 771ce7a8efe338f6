# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run lock's rules (pure): a coordination.k8s.io/v1 Lease held by one run at a time, until it expires.

Times are Kubernetes MicroTime strings (``2026-12-07T21:47:33.000000Z``), compared as UTC datetimes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def micro_time(moment):
    """A datetime (UTC) as Kubernetes writes a MicroTime."""
    return moment.strftime(FORMAT)


def parse_time(text):
    """A MicroTime or Time string as a naive UTC datetime, or None."""
    if not text:
        return None
    for pattern in (FORMAT, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def lease_body(namespace, name, holder, duration, now, previous=None, labels=None):
    """The Lease to write: ours from ``now`` for ``duration`` seconds; a renewal keeps its acquireTime and resourceVersion."""
    spec = {"holderIdentity": holder, "leaseDurationSeconds": int(duration), "renewTime": micro_time(now), "acquireTime": micro_time(now)}
    metadata = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if previous is not None:
        metadata["resourceVersion"] = previous["metadata"]["resourceVersion"]
        if (previous.get("spec") or {}).get("holderIdentity") == holder and previous["spec"].get("acquireTime"):
            spec["acquireTime"] = previous["spec"]["acquireTime"]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}


def expires(lease):
    """When ``lease`` runs out (renewTime + leaseDurationSeconds), or None when it says nothing of it."""
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    if renewed is None or not spec.get("leaseDurationSeconds"):
        return None
    return renewed + datetime.timedelta(seconds=int(spec["leaseDurationSeconds"]))


def held_by_other(lease, holder, now):
    """The holder that keeps ``holder`` out of ``lease`` at ``now``, or None when it is free, expired or ours."""
    if lease is None:
        return None
    other = (lease.get("spec") or {}).get("holderIdentity")
    if not other or other == holder:
        return None
    end = expires(lease)
    if end is not None and end <= now:
        return None
    return other


def refusal(namespace, name, lease, now):
    """Why this run may not write: who holds the lock, since when, until when, and what to do."""
    spec = lease.get("spec") or {}
    end = expires(lease)
    until = ("until %s UTC (%d s from now)" % (micro_time(end)[:19].replace("T", " "), max(0, int((end - now).total_seconds())))
             if end is not None else "with no expiry")
    return ("Another run holds the lock of this stack: Lease %s/%s is held by %s since %s, %s. Two runs at once would write over "
            "each other. Wait for that run to finish (it releases the lock at its end) and run again; if it died, the lock "
            "expires by itself, or remove it once you are sure: kubectl -n %s delete lease %s. Nothing was written."
            % (namespace, name, spec.get("holderIdentity"), (spec.get("acquireTime") or "?")[:19].replace("T", " ") + " UTC", until,
               namespace, name))
