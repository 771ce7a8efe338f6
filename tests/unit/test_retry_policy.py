"""Every Kubernetes call the roles and playbooks make through kubernetes.core goes through one retry policy.

A 429 (the API server did nothing and asks to come back later) and a 502, 503 or 504 (briefly unavailable) are called
again, three times two seconds apart, as client-go retries them; anything else (a 500, a 403, a 422) fails at once with
the step's own wording. The policy is written on each task (Ansible has no module default for it), so this test holds
every task to the same lines.
"""

from __future__ import annotations

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))
               + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml")))
PATTERN = "[(](429|502|503|504)[)]|\"code\":[ ]?(429|502|503|504)[^0-9]"
UNTIL = "not ({register}.msg | default('') is search('" + PATTERN + "'))"


def _tasks(node):
    """Every task dict under ``node`` (plays, blocks, rescue and always included)."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if any(key.startswith("kubernetes.core.") for key in node):
            yield node
        for key in ("tasks", "block", "rescue", "always", "pre_tasks", "post_tasks", "handlers"):
            if key in node:
                yield from _tasks(node[key])


CALLS = [(os.path.relpath(path, ROOT), task) for path in FILES for task in _tasks(yaml.safe_load(open(path, encoding="utf-8")))]


def test_the_roles_and_playbooks_make_kubernetes_calls():
    assert len(CALLS) >= 25


@pytest.mark.parametrize("path, task", CALLS, ids=[f"{path}: {task.get('name')}" for path, task in CALLS])
def test_every_kubernetes_core_task_retries_throttling_and_brief_unavailability(path, task):
    assert task.get("register"), "the policy reads the registered result"
    assert task.get("until") == UNTIL.format(register=task["register"])
    assert (task.get("retries"), task.get("delay")) == (3, 2)


@pytest.mark.parametrize("message", [
    # kubernetes.core.k8s: the API server's Status body
    'Failed to create object: b\'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}\'',
    'Failed to patch object: b\'{"kind": "Status", "reason": "ServiceUnavailable", "code": 503}\'',
    # kubernetes.core.k8s_info: the client's ApiException text
    "(504)\nReason: Gateway Timeout\nHTTP response headers: HTTPHeaderDict({})",
    "(502)\nReason: Bad Gateway",
])
def test_throttling_and_brief_unavailability_are_retried(message):
    assert re.search(PATTERN, message)


@pytest.mark.parametrize("message", [
    'Failed to create object: b\'{"kind":"Status","reason":"InternalError","code":500}\'',
    "(403)\nReason: Forbidden",
    'Failed to create object: b\'{"kind":"Status","reason":"Invalid","code":422}\'',
    'Failed to create object: b\'{"kind":"Status","reason":"NotFound","code":404, "message": "port 5030 (5030)"}\'',
    "",
])
def test_what_another_call_would_not_fix_fails_at_once(message):
    assert not re.search(PATTERN, message)
