"""Test hooks shared by the emulators (the request log and fault injection), and the HTTP front of
the Elasticsearch and Kibana emulators.

Each emulator (Kubernetes API, Elasticsearch, Kibana) owns one ``Hooks``; its HTTP handler
records every request with ``record`` and asks ``take_fault`` before serving one. Tests reach
them over HTTP under ``/_localcluster/`` (``requests``, ``faults``), which ``serve`` answers.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

PREFIX = "/_localcluster"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Fault:
    """The next ``count`` requests whose ``METHOD path`` matches ``pattern`` fail with ``status``.

    ``hang`` seconds are waited first (past a client's timeout, the client sees a timeout). With ``status`` 0 the
    requests do not fail: they are only slow, answered as usual after ``hang`` seconds.
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
        """The fault that applies to this request, consuming one of its count; a slow one (status 0) is waited out
        here, and the request is then served as usual (None)."""
        with self._lock:
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is None:
                return None
            fault.count -= 1
        if not fault.status:
            time.sleep(fault.hang)
            return None
        return fault

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


INGRESS_UNAVAILABLE = (b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
                       b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


class EngineServer(ThreadingHTTPServer):
    """An in-process engine served over HTTP/1.1 (keep-alive), with the request log and faults.

    The engine answers ``handle(method, target, headers, body)`` with an object carrying ``status``,
    ``body`` (bytes) and ``headers`` (dict); a ``X-Localcluster-User`` header names the caller for
    the log and is not sent. Subclasses say how their product words injected faults and unknown hooks.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, engine: Any, address: tuple[str, int] = ("127.0.0.1", 0), hooks: Hooks | None = None,
                 tls: tuple[str, str] | None = None, backend_down: Callable[[], bool] | None = None) -> None:
        super().__init__(address, EngineHandler)
        self.engine = engine
        self.hooks = hooks if hooks is not None else Hooks()
        # For an ingress: whether the Service behind it has no ready endpoint now (then every request is a 503).
        self.backend_down = backend_down
        if tls is not None:
            # An ingress in front of the engine: TLS with a certificate (cert, key) the cluster's CA signed.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def url(self) -> str:
        """http://<host>:<port>, https:// with TLS."""
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{self.server_address[0]}:{self.server_address[1]}"

    def fault_response(self, fault: Fault) -> tuple[int, bytes, dict[str, str]]:
        """The answer to an injected fault, as (status, body, headers)."""
        return fault.status, json.dumps({"error": "injected fault", "status": fault.status}).encode(), {"Content-Type": "application/json"}

    def unknown_hook_response(self, path: str, method: str) -> tuple[int, bytes, dict[str, str]]:
        """The answer to a /_localcluster/ path no hook serves."""
        return 404, json.dumps({"error": f"no hook at {path} for {method}"}).encode(), {"Content-Type": "application/json"}


class EngineHandler(BaseHTTPRequestHandler):
    """One connection to an EngineServer."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and delayed ACKs add 40 ms a request.
    disable_nagle_algorithm = True
    server: EngineServer
    sys_version = ""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is the record."""

    def do_GET(self):  # pylint: disable=invalid-name
        """Every method goes through one dispatcher."""
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    @property
    def server_version(self) -> str:  # type: ignore[override]
        """The Server header: the engine's class name."""
        return "localcluster-" + type(self.server.engine).__name__.lower()

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "x-localcluster-user"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _dispatch(self) -> None:
        started = time.time()
        parsed = urllib.parse.urlsplit(self.path)
        code, user, recorded = 0, None, False
        internal = parsed.path.startswith(PREFIX + "/")
        try:
            body = self._read_body()
            if internal:
                query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
                served = self.server.hooks.serve(self.command, parsed.path[len(PREFIX) + 1:].strip("/"), query,
                                                 json.loads(body) if body.strip() else {})
                if served is None:
                    status, data, headers = self.server.unknown_hook_response(parsed.path, self.command)
                else:
                    status, data, headers = 200, json.dumps(served).encode(), {"Content-Type": "application/json"}
            else:
                fault = self.server.hooks.take_fault(self.command, parsed.path)
                if fault is not None:
                    if fault.hang:
                        time.sleep(fault.hang)
                    status, data, headers = self.server.fault_response(fault)
                    if fault.status in (429, 503):
                        headers = dict(headers, **{"Retry-After": "1"})
                elif self.server.backend_down is not None and self.server.backend_down():
                    # An ingress before the Service has ready endpoints (ingress-nginx's default backend page).
                    status, data, headers = 503, INGRESS_UNAVAILABLE, {"Content-Type": "text/html"}
                else:
                    response = self.server.engine.handle(self.command, self.path, dict(self.headers.items()), body)
                    status, data, headers = response.status, response.body, response.headers
                    user = headers.get("X-Localcluster-User")
            code = status
            # Recorded before the answer goes out: a client that reads the log next finds it there.
            recorded = self._record(internal, parsed, code, started, user)
            self._send(status, data, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            if not recorded:
                self._record(internal, parsed, code, started, user)

    def _record(self, internal: bool, parsed: urllib.parse.SplitResult, code: int, started: float, user: str | None) -> bool:
        if not internal:
            self.server.hooks.record(self.command, parsed.path, code, started, user=user, query=parsed.query)
        return True
