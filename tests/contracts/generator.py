"""The event generator, checked against event-generator.yml; and the alerts one loop of it gives Falco's stable rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .core import Context, Violation, fact, load

GENERATOR = "event-generator"
PRIORITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")


@dataclass(frozen=True)
class Loop:
    """One loop of ``run ^syscall --loop``: how long it takes and the alerts it gives, per (rule, priority)."""

    seconds: float
    alerts: dict

    @property
    def per_hour(self) -> float:
        return 3600.0 / self.seconds * sum(self.alerts.values()) if self.seconds > 0 else 0.0


def _sleep_seconds(args: list[str]) -> float:
    for index, word in enumerate(args):
        value = word.split("=", 1)[1] if word.startswith("--sleep=") else (args[index + 1] if word == "--sleep" and index + 1 < len(args) else None)
        if value is not None:
            match = re.match(r"^([0-9.]+)(ms|s|m)?$", value)
            if match:
                number = float(match.group(1))
                return number / 1000 if match.group(2) == "ms" else number * 60 if match.group(2) == "m" else number
    return float(load(GENERATOR)["loop"]["default_sleep_seconds"])


def loop(args: list[str], has: Iterable[str], minimum_priority: str = "debug") -> Loop:
    """The loop the generator runs with ``args``, given what it ``has`` (root, privileged, container, network, writable_root and
    capability names), with Falco dropping alerts below ``minimum_priority``."""
    model = load(GENERATOR)["loop"]
    have = set(has)
    sleep = _sleep_seconds(args)
    keep = set(PRIORITIES[:PRIORITIES.index(minimum_priority) + 1])
    seconds, alerts = 0.0, {}
    for action in model["actions"]:
        seconds += sleep + float(action.get("seconds", 0))
        for item in (action, action.get("extra")):
            if item and set(item.get("needs", ())) <= have and item["priority"] in keep:
                count = action.get("alerts", 1) if item is action else 1
                if count:
                    alerts[(item["rule"], item["priority"])] = alerts.get((item["rule"], item["priority"]), 0) + count
    if "--all" in args:
        seconds += model["disabled_actions"] * sleep + float(model["disabled_seconds"])
    return Loop(seconds=seconds, alerts=alerts)


def what_it_has(ctx: Context) -> set[str]:
    """What the generator container has of what its actions need."""
    pod, container = ctx.pod, ctx.container
    security = pod.security(container)
    has = {"container", "network"}
    if security.get("runAsUser") in (None, 0) and not security.get("runAsNonRoot"):
        has.add("root")
    if security.get("privileged"):
        has.add("privileged")
    if not security.get("readOnlyRootFilesystem"):
        has.add("writable_root")
    default = fact(GENERATOR, "capabilities")["runtime_default"]
    has.update(cap for cap in default + ["SYS_ADMIN"] if pod.has_capability(container, cap, default))
    entrypoint = load(GENERATOR)["image_entrypoint"]
    if pod.spec.get("hostPID") or pod.spec.get("shareProcessNamespace") or (container.get("command") or entrypoint)[0] not in entrypoint:
        has.discard("container")  # not PID 1: the generator skips its container actions
    return has


def generator_args(container: dict) -> list[str]:
    command = [str(c) for c in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    return (command[1:] if command else []) + args


class GeneratorCheck:
    """The facts of one event-generator container."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.args = generator_args(ctx.container)
        self.has = what_it_has(ctx)

    def violations(self) -> Iterable[Violation]:
        for name in load(GENERATOR)["facts"]:
            yield from getattr(self, name)()

    def arguments(self):
        words = [a for a in self.args if not a.startswith("-")]
        if not words or words[0] != "run" or "--loop" not in self.args or (len(words) > 1 and "syscall" not in words[1]):
            yield self.ctx.violation("arguments")

    def pid_one(self):
        if "container" not in self.has:
            yield self.ctx.violation("pid_one")

    def root(self):
        if "root" not in self.has:
            yield self.ctx.violation("root")

    def capabilities(self):
        if not set(fact(GENERATOR, "capabilities")["needed"]) <= self.has:
            yield self.ctx.violation("capabilities")

    def writable_root(self):
        if "writable_root" not in self.has:
            yield self.ctx.violation("writable_root")


CHECKS = {GENERATOR: GeneratorCheck}
