"""Test hooks shared by the emulators: the request log and fault injection.

Each emulator (Kubernetes API, Elasticsearch, Kibana) owns one ``Hooks``; its HTTP handler
records every request with ``record`` and asks ``take_fault`` before serving one. Tests reach
them over HTTP under ``/_localcluster/`` (``requests``, ``faults``), which ``serve`` answers.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

PREFIX = "/_localcluster"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Fault:
    """The next ``count`` requests whose ``METHOD path`` matches ``pattern`` fail with ``status``.

    ``hang`` seconds are waited first (past a client's timeout, the client sees a timeout).
    """
    pattern: str
    count: int = 1
    status: int = 503
    hang: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request."""
        return self.count > 0 and re.search(self.pattern, f"{method} {path}") is not None


class Hooks:
    """A request log and a list of pending faults, safe across handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []

    def record(self, method: str, path: str, code: int, started: float, **extra: Any) -> None:
        """Append one request to the log (time, method, path, code, and whatever the emulator adds)."""
        with self._lock:
            self.requests.append({"time": started, "method": method, "path": path, "code": code,
                                  "duration": time.time() - started, **extra})

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, consuming one of its count."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    def serve(self, method: str, what: str, query: dict[str, str], payload: dict[str, Any]) -> dict[str, Any] | None:
        """Answer ``/_localcluster/<what>`` for ``requests`` and ``faults``; None for anything else."""
        if what == "requests":
            with self._lock:
                if method == "DELETE":
                    self.requests.clear()
                    return {"cleared": True}
                since = float(query.get("since") or 0)
                return {"requests": [r for r in self.requests if r["time"] >= since]}
        if what == "faults":
            with self._lock:
                if method == "DELETE":
                    self.faults.clear()
                elif method == "POST":
                    self.faults.append(Fault(str(payload["pattern"]), int(payload.get("count", 1)), int(payload.get("status", 503)),
                                             float(payload.get("hang", 0))))
                return {"faults": [asdict(f) for f in self.faults]}
        return None
