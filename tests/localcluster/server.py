"""The emulated kube-apiserver: HTTP routing, authentication, discovery, the REST verbs,
watch, the service proxy, and the test hooks (request log, fault injection, settings).

Everything kube-specific that can be pure lives in the sibling modules; this file wires it
to HTTP the way kube-apiserver's handler chain does: authenticate -> (faults) -> authorize ->
decode -> admit (defaults, validation) -> store -> encode.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import functools
import http.client
import ipaddress
import json
import re
import secrets
import ssl
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from . import images, openapi, openapi_proto, patching, pod_security, rbac, resources, simulation, tables, validation
from .errors import ApiError, already_exists, bad_request, conflict, no_such_path, not_found
from .hooks import PREFIX, Fault, Hooks
from .store import (Store, decode_continue, encode_continue, field_matches, label_matches, parse_field_selector,
                    parse_label_selector)

ADMIN_USER = rbac.UserInfo("admin", ("system:masters", "system:authenticated"))
RESTRICTED_USER = rbac.UserInfo("restricted", ("system:authenticated",))
ANONYMOUS_USER = rbac.UserInfo("system:anonymous", ("system:unauthenticated",))
CONTROLLER_USER = "system:kube-controller-manager"

# Kinds whose registry strategy keeps metadata.generation (spec changes bump it).
GENERATION_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "PodDisruptionBudget",
                    "NetworkPolicy", "Ingress", "CustomResourceDefinition", "HorizontalPodAutoscaler", "ReplicationController"}
# Resources whose DELETE answers with the object rather than a Success Status.
DELETE_RETURNS_OBJECT = {"pods", "namespaces", "customresourcedefinitions", "services"}
RBAC_KEYS = ("rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/clusterroles",
             "rbac.authorization.k8s.io/rolebindings", "rbac.authorization.k8s.io/clusterrolebindings")
SIM_RESOURCES = {name: resources.storage_key(group, name) for group, name in (
    ("", "nodes"), ("", "pods"), ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"), ("apps", "daemonsets"),
    ("", "persistentvolumeclaims"), ("", "events"), ("", "namespaces"))}
NAMESPACES = resources.storage_key("", "namespaces")
INTERNAL = PREFIX
INITIAL_STATUS = {
    "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0},
    "StatefulSet": {"replicas": 0},
    "ReplicaSet": {"replicas": 0},
}


def now_rfc3339() -> str:
    """Seconds-precision UTC time, as metav1.Time encodes."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Request:
    """What the handler knows about one API request once its path is parsed."""
    method: str
    path: str
    query: dict[str, str]
    user: rbac.UserInfo
    body: bytes = b""
    content_type: str = ""
    group: str = ""
    version: str = ""
    resource: resources.Resource | None = None
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    rest: str = ""  # what follows a proxy subresource
    raw_query: str = ""  # the query string as sent (the service proxy forwards it as it is, repeated parameters too)
    verb: str = ""
    warnings: list[str] = field(default_factory=list)


class Cluster:
    """One emulated cluster: its profile, objects, users, simulation and test hooks."""

    def __init__(self, profile: str = "1.30", nodes: str = "gke", ready_delay: float = 0.3, tick: float = 0.05):
        if profile not in resources.PROFILES:
            raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(resources.PROFILES)}")
        self.profile = profile
        self.store = Store()
        self.tokens = {secrets.token_hex(16): ADMIN_USER, secrets.token_hex(16): RESTRICTED_USER}
        self.hooks = Hooks()
        self.stack: Any = None  # the logging stack (stack.Stack) when one is attached
        self.backends: dict[tuple[str, str], str] = {}
        # The images' contracts decide what a started pod does, as the real images would (images.py).
        self.images = images.ImageCheck(self)
        self.sim = simulation.SimSettings(ready_delay=ready_delay, profile=profile, pod_check=self.images)
        self.tick = tick
        self.namespace_grace = 1.0
        self.terminating: dict[str, float] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._policy: rbac.Policy | None = None
        self._ip = ipaddress.ip_address("10.96.0.10")
        self._seed(nodes)

    # -------------------------------------------------------------- setup
    def token_for(self, username: str) -> str:
        """The bearer token of a built-in user."""
        return next(tok for tok, user in self.tokens.items() if user.username == username)

    def _seed(self, nodes: str) -> None:
        stamp = now_rfc3339()
        for name in ("default", "kube-system", "kube-public") + (("kube-node-lease",) if self.profile != "1.8" else ()):
            self._system_create("", "v1", "Namespace", {"metadata": {"name": name}}, stamp)
        for obj in rbac.bootstrap_policy(self.profile):
            group, _unused, version = obj["apiVersion"].rpartition("/")
            self._system_create(group, version, obj["kind"], obj, stamp)
        self._system_create("", "v1", "Service", {"metadata": {"name": "kubernetes", "namespace": "default",
                                                               "labels": {"component": "apiserver", "provider": "kubernetes"}},
                                                  "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]}}, stamp)
        if self.profile != "1.8":
            self._system_create("storage.k8s.io", "v1", "StorageClass", {
                "metadata": {"name": "standard-rwo", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "pd.csi.storage.gke.io", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
                "allowVolumeExpansion": True, "parameters": {"type": "pd-balanced"}}, stamp)
        # A node pool a week old, as a cluster someone runs this against would have.
        node_objs, extra = simulation.node_set(nodes, self.profile, now=time.time() - 7 * 86400)
        for obj in node_objs + extra:
            group, _unused, version = obj["apiVersion"].rpartition("/")
            meta = obj.setdefault("metadata", {})
            if meta.get("namespace") and not self.store.peek(NAMESPACES, "", meta["namespace"]):
                self._system_create("", "v1", "Namespace", {"metadata": {"name": meta["namespace"]}}, stamp)
            self._system_create(group, version, obj["kind"], obj, stamp)

    def _system_create(self, group: str, version: str, kind: str, obj: dict[str, Any], stamp: str) -> None:
        res = resources.lookup_kind(self.profile, group, version, kind)
        if res is None:
            return
        obj = validation.apply_defaults(obj, group, version, kind, profile=self.profile)
        obj["apiVersion"] = res.group_version
        obj["kind"] = kind
        obj["metadata"].setdefault("creationTimestamp", stamp)
        self._prepare_new(res, obj)
        self.store.create(resources.storage_key(res.group, res.name), obj, kind in GENERATION_KINDS)

    def _prepare_new(self, res: resources.Resource, obj: dict[str, Any]) -> None:
        """What registry strategies set on create: allocated IPs, initial status."""
        if res.subresource("status") is not None:
            # Status fields without omitempty in the Go types are always on the wire, zero at first.
            obj.setdefault("status", copy.deepcopy(INITIAL_STATUS.get(res.kind, {})))
            if res.kind == "StatefulSet" and self.profile == "1.30":
                obj["status"].setdefault("availableReplicas", 0)
        if res.kind == "Service" and obj.get("spec", {}).get("type") != "ExternalName":
            spec = obj["spec"]
            if spec.get("clusterIP") not in ("None",) and not spec.get("clusterIP"):
                with self._lock:
                    self._ip += 1
                    spec["clusterIP"] = str(self._ip)
            if self.profile == "1.30" and spec.get("clusterIP"):
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")
            obj.setdefault("status", {"loadBalancer": {}})
        elif res.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif res.kind == "Pod":
            obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        elif res.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}

    # -------------------------------------------------------------- policy
    def policy(self) -> rbac.Policy:
        """The RBAC policy as stored now (rebuilt after RBAC writes)."""
        with self._lock:
            if self._policy is None:
                lists = [self.store.items(key) for key in RBAC_KEYS]
                self._policy = rbac.Policy(*lists)
            return self._policy

    def _rbac_changed(self, key: str) -> None:
        if key not in RBAC_KEYS:
            return
        with self._lock:
            self._policy = None
            if key == "rbac.authorization.k8s.io/clusterroles":
                for role in rbac.aggregate(self.store.items(key)):
                    current = self.store.peek(key, "", role["metadata"]["name"])
                    if current is not None and current.get("rules") != role.get("rules"):
                        updated = copy.deepcopy(current)
                        updated["rules"] = role.get("rules")
                        self.store.update(key, updated)

    # -------------------------------------------------------------- simulation
    def start_simulation(self) -> threading.Thread:
        """Run the controllers in the background until ``stop``."""
        thread = threading.Thread(target=self._simulate_forever, name="localcluster-sim", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop the simulation (the HTTP server is stopped by its owner)."""
        self._stop.set()

    def _simulate_forever(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.simulate_once()
            except Exception:  # pylint: disable=broad-except
                # A controller bug must show in server.log, not silently stop every workload.
                traceback.print_exc()

    def simulate_once(self) -> int:
        """One reconcile pass; returns the number of writes it made."""
        with self._lock:
            objects = {name: self.store.items(key) for name, key in SIM_RESOURCES.items()}
            actions = simulation.reconcile(objects, time.time(), self.sim)
            for action in actions:
                self._apply_action(action)
            self._finish_namespace_deletions()
            return len(actions)

    def _apply_action(self, action: simulation.Action) -> None:
        key = SIM_RESOURCES[action.resource]
        current = self.store.peek(key, action.namespace or "", action.name)
        if action.op == "create" and current is None:
            body = copy.deepcopy(action.body)
            meta = body.setdefault("metadata", {})
            meta.setdefault("creationTimestamp", now_rfc3339())
            res = resources.lookup_kind(self.profile, *_gv(body.get("apiVersion", "v1")), body.get("kind", ""))
            if res is not None:
                self._prepare_new(res, body)
                body.setdefault("status", {}).update(action.body.get("status") or {})
            self.store.create(key, body, body.get("kind") in GENERATION_KINDS)
        elif action.op == "update" and current is not None:
            body = copy.deepcopy(action.body)
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.store.update(key, body)
        elif action.op == "update_status" and current is not None:
            body = copy.deepcopy(current)
            body["status"] = copy.deepcopy(action.body.get("status", {}))  # the simulation sends the whole object
            self.store.update(key, body)
        elif action.op == "delete" and current is not None:
            self.store.delete(key, action.namespace or "", action.name)

    def has_ready_endpoints(self, service: dict[str, Any]) -> bool:
        """Whether the Service has a ready endpoint: a ready pod its selector matches, or, for a
        Service without selector, an Endpoints object of its name with addresses."""
        meta = service["metadata"]
        selector = service.get("spec", {}).get("selector")
        if not selector:
            endpoints = self.store.peek(resources.storage_key("", "endpoints"), meta.get("namespace", ""), meta["name"])
            return bool(endpoints and any(subset.get("addresses") for subset in endpoints.get("subsets") or ()))
        for pod in self.store.items(SIM_RESOURCES["pods"], meta.get("namespace", "")):
            labels = pod["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in selector.items()) and _pod_ready(pod):
                return True
        return False

    def _finish_namespace_deletions(self) -> None:
        # The namespace controller empties a Terminating namespace over a second or more, not at
        # once: clients that delete a namespace and then its objects (kubectl delete -f) rely on it.
        for ns in list(self.store.items(NAMESPACES)):
            if ns["metadata"].get("deletionTimestamp"):
                name = ns["metadata"]["name"]
                started = self.terminating.setdefault(name, time.time())
                if time.time() - started < self.namespace_grace:
                    continue
                del self.terminating[name]
                for key, namespace, obj_name in list(self.store.namespaces_in_use()):
                    if namespace == name:
                        self.store.delete(key, namespace, obj_name)
                self.store.delete(NAMESPACES, "", name)


@functools.lru_cache(maxsize=None)
def _openapi_v2_protobuf(profile: str) -> bytes:
    return openapi_proto.openapi_v2_protobuf(openapi.openapi_v2(profile))


def _gv(api_version: str) -> tuple[str, str]:
    group, _unused, version = api_version.rpartition("/")
    return group, version


def _qualified(res: resources.Resource) -> str:
    return f"{res.name}.{res.group}" if res.group else res.name


def _kind_qualified(res: resources.Resource) -> str:
    return f"{res.kind}.{res.group}" if res.group else res.kind


class ApiServer(ThreadingHTTPServer):
    """HTTPS server bound to one Cluster."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, cluster: Cluster, address: tuple[str, int], cert: str | None = None, key: str | None = None):
        super().__init__(address, Handler)
        self.cluster = cluster
        if cert and key:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            context.set_alpn_protocols(["http/1.1"])
            self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def url(self) -> str:
        """https://127.0.0.1:<port> (or http:// without certificates)."""
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{self.server_address[0]}:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):  # pylint: disable=too-many-public-methods
    """One connection; HTTP/1.1 keep-alive as kube-apiserver's Go server offers."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle and delayed ACKs add 40 ms a request.
    disable_nagle_algorithm = True
    server: ApiServer
    server_version = "localcluster"
    sys_version = ""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is the record."""

    # Every method goes through one dispatcher.
    def do_GET(self):  # pylint: disable=invalid-name
        """GET"""
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -------------------------------------------------------------- plumbing
    @property
    def cluster(self) -> Cluster:
        """The cluster this server emulates."""
        return self.server.cluster

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send_json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(code, json.dumps(body, separators=(",", ":")).encode(), headers)

    def _send_bytes(self, code: int, data: bytes, headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", secrets.token_hex(8))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._code = code

    def _send_error(self, err: ApiError, headers: dict[str, str] | None = None) -> None:
        self._send_json(err.code, err.status(), headers)

    def _dispatch(self) -> None:
        self._code = 0
        self._started = time.time()
        self._recorded = False
        self._user: rbac.UserInfo | None = None
        self._req: Request | None = None
        parsed = urllib.parse.urlsplit(self.path)
        self._query = query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self._internal_path = parsed.path.startswith(INTERNAL)
        body = self._read_body()
        try:
            self._user = user = self._authenticate()
            if self._internal_path:
                self._internal(parsed.path, query, body, user)
                return
            fault = self.cluster.hooks.take_fault(self.command, parsed.path)
            if fault is not None:
                self._fault(fault)
                return
            self._req = Request(self.command, parsed.path, query, user, body, (self.headers.get("Content-Type") or "").split(";")[0].strip(),
                                raw_query=parsed.query)
            self._route(self._req)
        except ApiError as err:
            self._send_error(err, {"Retry-After": "1"} if err.code == 429 else None)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # pylint: disable=broad-except
            traceback.print_exc()  # an emulator bug: make it visible in server.log and pytest's output
            self._send_error(ApiError(500, "InternalError", f"Internal error occurred: {exc!r}"))
        finally:
            self._record(self._code)

    def send_response(self, code, message=None):
        """Record the request as its status goes out: a client that reads the log next finds it there."""
        self._record(code)
        super().send_response(code, message)

    def _record(self, code: int) -> None:
        if self._recorded or self._internal_path:
            return
        self._recorded = True
        req, user = self._req, self._user
        self.cluster.hooks.record(self.command, urllib.parse.urlsplit(self.path).path, code, self._started, query=self._query,
                                  user=user.username if user else None, content_type=req.content_type if req else "",
                                  verb=req.verb if req else "", dry_run=self._query.get("dryRun") == "All")

    def _fault(self, fault: Fault) -> None:
        if fault.hang:
            time.sleep(fault.hang)
        reasons = {500: ("InternalError", "Internal error occurred: injected fault"),
                   # As an admission or authorization policy refuses a request (a private control plane, services/proxy denied).
                   403: ("Forbidden", f"{self.path.split('?')[0]} is forbidden: injected policy"),
                   503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
                   429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
                   504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing "
                                    "the request")}
        reason, message = reasons.get(fault.status, ("InternalError", "injected fault"))
        details = {"retryAfterSeconds": 1} if fault.status == 429 else None
        self._send_error(ApiError(fault.status, reason, message, details), {"Retry-After": "1"} if fault.status == 429 else None)

    def _authenticate(self) -> rbac.UserInfo:
        header = self.headers.get("Authorization", "")
        if not header:
            return ANONYMOUS_USER
        scheme, _unused, token = header.partition(" ")
        user = self.cluster.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return user

    def _authorize(self, req: Request, attrs: rbac.Attributes) -> None:
        allowed, reason = rbac.authorize(req.user, attrs, self.cluster.policy())
        if not allowed:
            raise rbac.forbidden_error(req.user, attrs, reason, profile=self.cluster.profile)

    # -------------------------------------------------------------- routing
    def _route(self, req: Request) -> None:
        path = req.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        non_resource = {"/version", "/healthz", "/livez", "/readyz", "/api", "/apis", "/openapi/v2", "/openapi/v3", "/"}
        if path in non_resource or path.startswith("/openapi/") or (len(parts) == 2 and parts[0] == "api") or \
                (len(parts) in (2, 3) and parts[0] == "apis"):
            req.verb = req.method.lower()
            self._authorize(req, rbac.Attributes(verb="get" if req.method == "HEAD" else req.method.lower(), resource_request=False,
                                                 path=path))
            self._non_resource(req, path, parts)
            return
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise no_such_path()
        if (group, version) not in {(g, v) for g, versions, _pref in resources.groups(self.cluster.profile) for v in versions}:
            raise no_such_path()
        req.group, req.version = group, version
        watch_prefix = bool(rest) and rest[0] == "watch"
        if watch_prefix:
            rest = rest[1:]
            req.query["watch"] = "true"
        if len(rest) >= 3 and rest[0] == "namespaces" and resources.lookup(self.cluster.profile, group, version, rest[2]) is not None \
                and resources.lookup(self.cluster.profile, group, version, rest[2]).namespaced:
            req.namespace = rest[1]
            rest = rest[2:]
        res = resources.lookup(self.cluster.profile, group, version, rest[0])
        if res is None:
            raise no_such_path()
        req.resource = res
        req.name = rest[1] if len(rest) > 1 else ""
        req.subresource = rest[2] if len(rest) > 2 else ""
        req.rest = "/".join(rest[3:])
        if req.subresource and req.subresource != "proxy" and req.subresource not in {s[0] for s in res.subresources}:
            raise no_such_path()
        self._resource(req)

    def _non_resource(self, req: Request, path: str, parts: list[str]) -> None:
        profile = self.cluster.profile
        if req.method not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if path in ("/healthz", "/livez", "/readyz"):
            if path != "/healthz" and self.cluster.profile != "1.30":
                raise no_such_path()
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self._code = 200
            return
        if path == "/version":
            self._send_json(200, resources.version_body(profile))
        elif path == "/api":
            self._send_json(200, resources.api_versions_body(profile))
        elif path == "/apis":
            self._send_json(200, resources.api_group_list_body(profile))
        elif parts[0] == "api" and len(parts) == 2:
            if parts[1] != "v1":
                raise no_such_path()
            self._send_json(200, resources.api_resource_list_body(profile, "", "v1"))
        elif parts[0] == "apis" and len(parts) == 2:
            body = resources.api_group_body(profile, parts[1])
            if body is None:
                raise no_such_path()
            self._send_json(200, body)
        elif parts[0] == "apis" and len(parts) == 3:
            body = resources.api_resource_list_body(profile, parts[1], parts[2])
            if body is None:
                raise no_such_path()
            self._send_json(200, body)
        elif path == "/openapi/v2":
            if "protobuf" in self.headers.get("Accept", ""):
                # kubectl asks for gnostic's protobuf only, on servers without /openapi/v3 (1.8, 1.15).
                self._send_bytes(200, _openapi_v2_protobuf(profile), content_type=openapi_proto.PROTOBUF_CONTENT_TYPE)
            else:
                self._send_bytes(200, openapi.openapi_v2_json(profile))
        elif path == "/openapi/v3":
            index = openapi.openapi_v3_index(profile)
            if index is None:
                raise no_such_path()
            self._send_json(200, index)
        elif path.startswith("/openapi/v3/"):
            gv = path[len("/openapi/v3/"):].split("/")
            doc = None
            if gv[0] == "api" and len(gv) == 2:
                doc = openapi.openapi_v3_group_json(profile, "", gv[1])
            elif gv[0] == "apis" and len(gv) == 3:
                doc = openapi.openapi_v3_group_json(profile, gv[1], gv[2])
            if doc is None:
                raise no_such_path()
            self._send_bytes(200, doc)
        else:
            raise no_such_path()

    # -------------------------------------------------------------- resources
    def _verb(self, req: Request) -> str:
        method = req.method
        if method in ("GET", "HEAD"):
            if req.query.get("watch") in ("true", "1"):
                return "watch"
            return "get" if req.name else "list"
        if method == "POST":
            return "create"
        if method == "PUT":
            return "update"
        if method == "PATCH":
            return "patch"
        if method == "DELETE":
            return "delete" if req.name else "deletecollection"
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _resource(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        name = req.name
        if req.subresource == "proxy" and ":" in name:
            name = name.split(":", 1)[0]
        req.verb = self._verb(req)
        if req.subresource == "proxy":
            req.verb = req.method.lower() if req.method != "HEAD" else "get"
        attrs = rbac.Attributes(verb=req.verb, resource_request=True, path=req.path, api_group=res.group, api_version=req.version,
                                resource=res.name, subresource=req.subresource, name=name, namespace=req.namespace)
        self._authorize(req, attrs)
        allowed = set(res.verbs)
        if req.subresource:
            allowed = next((set(s[2]) for s in res.subresources if s[0] == req.subresource), set())
        if req.subresource != "proxy" and req.verb not in allowed:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if res.kind in ("SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview"):
            self._review(req)
            return
        if req.subresource == "proxy":
            self._proxy(req)
            return
        handler = {"get": self._get, "list": self._list, "watch": self._watch, "create": self._create,
                   "update": self._update, "patch": self._patch, "delete": self._delete,
                   "deletecollection": self._delete_collection}[req.verb]
        handler(req)

    def _key(self, req: Request) -> str:
        res = req.resource
        assert res is not None
        return resources.storage_key(res.group, res.name)

    def _present(self, req: Request, obj: dict[str, Any]) -> dict[str, Any]:
        """The stored object as the requested group version shows it."""
        res = req.resource
        assert res is not None
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = res.group_version
        obj["kind"] = res.kind
        return obj

    def _check_namespace(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        if res.namespaced and req.namespace and self.cluster.store.peek(NAMESPACES, "", req.namespace) is None:
            raise not_found("namespaces", "", req.namespace)

    def _get(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        obj = self.cluster.store.get(self._key(req), req.namespace if res.namespaced else "", req.name)
        if obj is None:
            raise not_found(res.name, res.group, req.name)
        if req.subresource == "scale":
            self._send_json(200, self._scale(req, obj))
            return
        table = self._table(req, [obj], None)
        self._send_json(200, table if table is not None else self._present(req, obj))

    def _table(self, req: Request, objects: list[dict[str, Any]], list_meta: dict[str, Any] | None) -> dict[str, Any] | None:
        """Server-side printing: a meta.k8s.io Table when the client asks for one (kubectl get does)."""
        version = tables.wants_table(self.headers.get("Accept"), self.cluster.profile)
        if version is None:
            return None
        res = req.resource
        assert res is not None
        objects = [self._present(req, o) for o in objects]
        return tables.to_table(self.cluster.profile, res.group, res.name, res.kind, objects, list_meta, time.time(),
                               include_object=req.query.get("includeObject", "Metadata"), table_version=version)

    def _scale(self, req: Request, obj: dict[str, Any]) -> dict[str, Any]:
        spec = obj.get("spec", {})
        selector = spec.get("selector", {}).get("matchLabels") or obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                             if k in obj["metadata"]},
                "spec": {"replicas": spec.get("replicas", 1)},
                "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}

    def _selected(self, req: Request) -> list[dict[str, Any]]:
        res = req.resource
        assert res is not None
        labels = parse_label_selector(req.query.get("labelSelector", ""))
        fields = parse_field_selector(req.query.get("fieldSelector", ""), res.name, res.kind, res.group_version)
        namespace = req.namespace if res.namespaced and req.namespace else None
        out = []
        for obj in self.cluster.store.items(self._key(req), namespace):
            if labels and not label_matches(obj["metadata"].get("labels"), labels):
                continue
            if fields and not field_matches(obj, fields):
                continue
            out.append(obj)
        return out

    def _list(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        store = self.cluster.store
        with store.changed:
            revision = store.revision
            items = self._selected(req)
            cont = req.query.get("continue")
            if cont:
                revision, after = decode_continue(cont)
                items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
            limit = int(req.query.get("limit") or 0)
            meta: dict[str, Any] = {"resourceVersion": str(revision)}
            if limit and len(items) > limit:
                remaining = len(items) - limit
                items = items[:limit]
                last = items[-1]["metadata"]
                meta["continue"] = encode_continue(revision, (last.get("namespace", ""), last["name"]))
                meta["remainingItemCount"] = remaining
            table = self._table(req, items, meta)
            # Built-in kinds list their items without apiVersion/kind, as kube-apiserver does.
            body = table if table is not None else {
                "kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta,
                "items": [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]}
            data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._code = 200

    def _watch(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        store = self.cluster.store
        key = self._key(req)
        timeout = float(req.query.get("timeoutSeconds") or 1800)
        deadline = time.time() + min(timeout, 1800)
        labels = parse_label_selector(req.query.get("labelSelector", ""))
        fields = parse_field_selector(req.query.get("fieldSelector", ""), res.name, res.kind, res.group_version)
        namespace = req.namespace if res.namespaced and req.namespace else None
        rv_param = req.query.get("resourceVersion", "")

        def wanted(obj: dict[str, Any]) -> bool:
            meta = obj["metadata"]
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            if req.name and meta["name"] != req.name:
                return False
            return (not labels or label_matches(meta.get("labels"), labels)) and (not fields or field_matches(obj, fields))

        expired = None
        with store.changed:
            if rv_param in ("", "0"):
                last = store.revision
                initial = [("ADDED", o) for o in store.items(key, namespace) if wanted(o)]
            else:
                last = int(rv_param)
                initial = []
                try:
                    store.events_since(key, last)
                except ApiError as err:
                    # The watch cache answers 200 and a single ERROR event carrying the 410 Status.
                    expired = err
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._code = 200

        def emit(kind: str, obj: dict[str, Any]) -> None:
            line = json.dumps({"type": kind, "object": self._present(req, obj)}, separators=(",", ":")).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        try:
            if expired is not None:
                line = json.dumps({"type": "ERROR", "object": expired.status()}, separators=(",", ":")).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n0\r\n\r\n")
                return
            for kind, obj in initial:
                emit(kind, obj)
            while time.time() < deadline and not self.cluster._stop.is_set():  # pylint: disable=protected-access
                with store.changed:
                    events = store.events_since(key, last)
                    if not events:
                        store.changed.wait(min(1.0, max(0.0, deadline - time.time())))
                        events = store.events_since(key, last)
                for event in events:
                    last = event.rv
                    if wanted(event.obj):
                        emit(event.type, event.obj)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    # -------------------------------------------------------------- writes
    def _decode(self, req: Request) -> dict[str, Any]:
        if not req.body:
            raise bad_request("the body of the request was in an unknown format - accepted media types include: "
                              "application/json, application/yaml, application/vnd.kubernetes.protobuf")
        try:
            if req.content_type in ("application/yaml", "application/apply-patch+yaml"):
                obj = yaml.safe_load(req.body)
            else:
                obj = json.loads(req.body)
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"error decoding request body: {exc}") from exc
        return obj

    def _dry_run(self, req: Request) -> bool:
        value = req.query.get("dryRun")
        if value is None:
            return False
        if value != "All":
            raise bad_request(f'Invalid dry run value "{value}": supported values: "All"')
        return True

    def _field_validation(self, req: Request, obj: dict[str, Any]) -> dict[str, Any]:
        """Apply the fieldValidation directive; returns the object with unknown fields pruned."""
        res = req.resource
        assert res is not None
        directive = req.query.get("fieldValidation", "")
        unknown = validation.unknown_fields(obj, res.group, req.version, res.kind)
        if not unknown:
            return obj
        if self.cluster.profile == "1.30" and directive == "Strict":
            raise validation.field_validation_error(res.kind, unknown, None if req.method == "PATCH" else req.version)
        if self.cluster.profile == "1.30" and directive in ("Warn", ""):
            req.warnings.extend(validation.field_validation_warnings(unknown))
        return _prune(obj, unknown)

    def _admit(self, req: Request, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        res = req.resource
        assert res is not None
        obj = self._field_validation(req, obj)
        obj = validation.apply_defaults(obj, res.group, req.version, res.kind, profile=self.cluster.profile)
        causes = validation.validate(obj, res.group, req.version, res.kind, old=old, namespaced=res.namespaced, profile=self.cluster.profile)
        if causes:
            raise validation.invalid_error(res.kind, res.group, obj.get("metadata", {}).get("name", ""), causes)
        return obj

    def _check_type(self, req: Request, obj: Any) -> None:
        res = req.resource
        assert res is not None
        if not isinstance(obj, dict):
            raise bad_request("the object provided is unrecognized (must be of type " + res.kind + ")")
        api_version = obj.get("apiVersion")
        if api_version and api_version != res.group_version:
            raise bad_request(f"the API version in the data ({api_version}) does not match the expected API version ({res.group_version})")
        kind = obj.get("kind")
        if kind and kind != res.kind:
            raise bad_request(f"the object provided is unrecognized (must be of type {res.kind}): "
                              f"couldn't get version/kind; json parse error (kind {kind!r})")

    def _respond_write(self, req: Request, code: int, obj: dict[str, Any]) -> None:
        headers = {"Warning": ", ".join(_warning_header(w) for w in req.warnings)} if req.warnings else None
        self._send_json(code, self._present(req, obj), headers)

    def _pod_security(self, req: Request, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """The PodSecurity admission plugin (1.23+), after validation as a validating admission plugin runs.

        A pod that violates its namespace's enforce level is refused (403); pods and pod templates that violate its warn
        level get a warning; a namespace's labels must be valid, and making its enforce level stricter warns about the
        existing pods that violate it. Subresources (status, scale, binding, ...) are not evaluated.
        """
        res = req.resource
        assert res is not None
        if req.subresource or not pod_security.served(self.cluster.profile):
            return
        name = obj.get("metadata", {}).get("name", "")
        if res.group == "" and res.name == "namespaces":
            pods = self.cluster.store.items(SIM_RESOURCES["pods"], name) if old is not None else []
            causes, warnings = pod_security.admit_namespace(obj, old, pods)
            if causes:
                raise validation.invalid_error("Namespace", "", name, causes)
            req.warnings.extend(warnings)
            return
        is_pod = res.group == "" and res.name == "pods"
        if not is_pod and (res.group, res.name) not in pod_security.POD_CONTROLLERS:
            return
        namespace = self.cluster.store.peek(NAMESPACES, "", req.namespace)
        if namespace is None:
            return  # the namespace lifecycle check answers first
        if is_pod:
            decision = pod_security.admit_pod(namespace, obj, old)
            if decision.forbidden:
                raise pod_security.forbidden_error(res.name, name, decision.forbidden)
        else:
            decision = pod_security.admit_controller(namespace, res.group, res.name, obj)
        req.warnings.extend(decision.warnings)

    def _manager(self, req: Request) -> str:
        manager = req.query.get("fieldManager")
        if manager:
            return manager
        agent = self.headers.get("User-Agent", "unknown")
        return agent.split("/")[0] if agent else "unknown"

    def _create(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        dry = self._dry_run(req)
        obj = self._decode(req)
        self._check_type(req, obj)
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != req.namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = req.namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        for server_field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation", "selfLink"):
            meta.pop(server_field, None)
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        obj = self._admit(req, obj, None)
        if res.namespaced:
            self._check_namespace(req)
            namespace = self.cluster.store.peek(NAMESPACES, "", req.namespace)
            if namespace and namespace["metadata"].get("deletionTimestamp"):
                raise ApiError(403, "Forbidden", f'{_qualified(res)} "{meta["name"]}" is forbidden: unable to create new content in namespace '
                               f'{req.namespace} because it is being terminated')
        self._pod_security(req, obj, None)
        meta = obj["metadata"]
        meta["creationTimestamp"] = now_rfc3339()
        if self.cluster.profile == "1.30":
            meta["managedFields"] = patching.update_managed_fields(None, obj, self._manager(req), "Update", res.group_version,
                                                                   meta["creationTimestamp"])
        self.cluster._prepare_new(res, obj)  # pylint: disable=protected-access
        key = self._key(req)
        if self.cluster.store.peek(key, meta.get("namespace", ""), meta["name"]) is not None:
            raise already_exists(res.name, res.group, meta["name"])
        if dry:
            meta["uid"] = str(uuid.uuid4())
            if res.kind in GENERATION_KINDS:
                meta["generation"] = 1
            self._respond_write(req, 201, obj)
            return
        try:
            stored = self.cluster.store.create(key, obj, res.kind in GENERATION_KINDS)
        except KeyError as exc:
            raise already_exists(res.name, res.group, meta["name"]) from exc
        self.cluster._rbac_changed(key)  # pylint: disable=protected-access
        self._respond_write(req, 201, stored)

    def _finish_update(self, req: Request, old: dict[str, Any], new: dict[str, Any], code: int = 200) -> None:
        """Shared tail of PUT and PATCH: admission, generation, managed fields, store."""
        res = req.resource
        assert res is not None
        dry = self._dry_run(req)
        status_only = req.subresource == "status"
        meta = new.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != old["metadata"]["name"]:
            raise bad_request(f'the name of the object ({meta["name"]}) does not match the name on the URL ({old["metadata"]["name"]})')
        # Server-owned metadata survives whatever the client sent.
        for server_field in ("uid", "creationTimestamp", "deletionTimestamp", "generation", "namespace", "name"):
            if server_field in old["metadata"]:
                meta[server_field] = old["metadata"][server_field]
            else:
                meta.pop(server_field, None)
        new["apiVersion"], new["kind"] = res.group_version, res.kind
        if status_only:
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status", {})
            new = merged
        elif any(s[0] == "status" for s in res.subresources) and "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        new = self._admit(req, new, old)
        self._pod_security(req, new, old)
        if res.kind in GENERATION_KINDS and not status_only and _spec_of(new) != _spec_of(old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if _comparable(new) == _comparable(old):
            self._respond_write(req, code, old)  # a no-op write keeps the resourceVersion, as etcd's guaranteed update does
            return
        if self.cluster.profile == "1.30" and req.content_type != "application/apply-patch+yaml":
            new["metadata"]["managedFields"] = patching.update_managed_fields(old, new, self._manager(req), "Update", res.group_version,
                                                                              now_rfc3339())
        if dry:
            self._respond_write(req, code, new)
            return
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        stored = self.cluster.store.update(self._key(req), new)
        self.cluster._rbac_changed(self._key(req))  # pylint: disable=protected-access
        self._respond_write(req, code, stored)

    def _update(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        obj = self._decode(req)
        self._check_type(req, obj)
        namespace = req.namespace if res.namespaced else ""
        with self.cluster.store.changed:
            old = self.cluster.store.get(self._key(req), namespace, req.name)
            if old is None:
                raise not_found(res.name, res.group, req.name)
            sent_rv = obj.get("metadata", {}).get("resourceVersion")
            if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise conflict(res.name, res.group, req.name, "the object has been modified; please apply your changes to the latest version "
                                                              "and try again")
            self._finish_update(req, old, obj)

    def _patch(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        namespace = req.namespace if res.namespaced else ""
        ctype = req.content_type
        supported = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"]
        if self.cluster.profile != "1.8":
            supported.append("application/apply-patch+yaml")
        if self.cluster.profile == "1.15" and ctype == "application/apply-patch+yaml":
            supported.remove("application/apply-patch+yaml")
        if ctype not in supported:
            raise ApiError(415, "UnsupportedMediaType",
                           f'the body of the request was in an unknown format - accepted media types include: {", ".join(supported)}')
        with self.cluster.store.changed:
            old = self.cluster.store.get(self._key(req), namespace, req.name)
            if ctype == "application/apply-patch+yaml":
                self._apply(req, old)
                return
            if old is None:
                raise not_found(res.name, res.group, req.name)
            try:
                patch = json.loads(req.body or b"null")
            except ValueError as exc:
                raise bad_request(f"error decoding patch: {exc}") from exc
            current = self._present(req, old)
            if ctype == "application/json-patch+json":
                new = patching.json_patch(current, patch)
            elif ctype == "application/merge-patch+json":
                new = patching.merge_patch(current, patch)
            else:
                new = patching.strategic_merge_patch(current, patch, res.group, req.version, res.kind)
            sent_rv = (new.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
                raise conflict(res.name, res.group, req.name, "the object has been modified; please apply your changes to the latest version "
                                                              "and try again")
            self._finish_update(req, old, new)

    def _apply(self, req: Request, old: dict[str, Any] | None) -> None:
        res = req.resource
        assert res is not None
        manager = req.query.get("fieldManager")
        if not manager:
            raise ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                           {"group": "meta.k8s.io", "kind": "PatchOptions",
                            "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                        "field": "fieldManager"}]})
        applied = self._decode(req)
        self._check_type(req, applied)
        force = req.query.get("force") in ("true", "1")
        if old is None:
            meta = applied.setdefault("metadata", {})
            if res.namespaced:
                meta["namespace"] = req.namespace
            if meta.get("name") and meta["name"] != req.name:
                raise bad_request(f'the name of the object ({meta["name"]}) does not match the name on the URL ({req.name})')
            meta["name"] = req.name
            new = patching.server_side_apply(None, applied, manager, force, res.group, req.version, res.kind, now_rfc3339())
            req.body = json.dumps(new).encode()
            req.content_type = "application/json"
            managed = new["metadata"].get("managedFields")
            self._create_from_apply(req, new, managed)
            return
        new = patching.server_side_apply(self._present(req, old), applied, manager, force, res.group, req.version, res.kind, now_rfc3339())
        self._finish_update(req, old, new)

    def _create_from_apply(self, req: Request, obj: dict[str, Any], managed: Any) -> None:
        res = req.resource
        assert res is not None
        dry = self._dry_run(req)
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        obj = self._admit(req, obj, None)
        self._check_namespace(req)
        self._pod_security(req, obj, None)
        meta = obj["metadata"]
        meta["creationTimestamp"] = now_rfc3339()
        if managed is not None:
            meta["managedFields"] = managed
        self.cluster._prepare_new(res, obj)  # pylint: disable=protected-access
        if dry:
            self._respond_write(req, 201, obj)
            return
        stored = self.cluster.store.create(self._key(req), obj, res.kind in GENERATION_KINDS)
        self.cluster._rbac_changed(self._key(req))  # pylint: disable=protected-access
        self._respond_write(req, 201, stored)

    def _delete(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        dry = self._dry_run(req)
        if req.body:
            options = self._decode(req)
            if isinstance(options, dict) and options.get("dryRun") == ["All"]:
                dry = True
        namespace = req.namespace if res.namespaced else ""
        key = self._key(req)
        with self.cluster.store.changed:
            old = self.cluster.store.get(key, namespace, req.name)
            if old is None:
                raise not_found(res.name, res.group, req.name)
            if res.kind == "Namespace" and req.name in ("default", "kube-system", "kube-public"):
                raise ApiError(403, "Forbidden", f'namespaces "{req.name}" is forbidden: this namespace may not be deleted')
            if dry:
                self._deleted_response(req, old)
                return
            if res.kind == "Namespace":
                old["metadata"]["deletionTimestamp"] = now_rfc3339()
                old["status"] = {"phase": "Terminating"}
                stored = self.cluster.store.update(key, old)
                self._send_json(200, self._present(req, stored))
                return
            gone = self.cluster.store.delete(key, namespace, req.name)
        self.cluster._rbac_changed(key)  # pylint: disable=protected-access
        self._deleted_response(req, gone or old)

    def _deleted_response(self, req: Request, obj: dict[str, Any]) -> None:
        res = req.resource
        assert res is not None
        if res.name in DELETE_RETURNS_OBJECT:
            self._send_json(200, self._present(req, obj))
            return
        details = {"name": obj["metadata"]["name"], "kind": res.name, "uid": obj["metadata"].get("uid")}
        if res.group:
            details["group"] = res.group
        self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})

    def _delete_collection(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        dry = self._dry_run(req)
        key = self._key(req)
        with self.cluster.store.changed:
            items = [copy.deepcopy(o) for o in self._selected(req)]
            if not dry:
                for obj in items:
                    self.cluster.store.delete(key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.cluster._rbac_changed(key)  # pylint: disable=protected-access
        self._send_json(200, {"kind": f"{res.kind}List", "apiVersion": res.group_version,
                              "metadata": {"resourceVersion": str(self.cluster.store.revision)},
                              "items": [self._present(req, o) for o in items]})

    # -------------------------------------------------------------- reviews
    def _review(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        if req.method != "POST":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        body = self._decode(req)
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type " + res.kind + ")")
        spec = body.get("spec") or {}
        user = req.user
        if res.kind == "SelfSubjectAccessReview":
            status = rbac.access_review(user, spec, self.cluster.policy())
        elif res.kind == "SelfSubjectRulesReview":
            status = rbac.rules_review(user, spec.get("namespace", ""), self.cluster.policy())
        else:
            status = {"userInfo": {"username": user.username, "groups": list(user.groups)}}
            if user.uid:
                status["userInfo"]["uid"] = user.uid
        out = {"kind": res.kind, "apiVersion": res.group_version, "metadata": {"creationTimestamp": None}, "status": status}
        if res.kind != "SelfSubjectReview":
            out["spec"] = spec
        self._send_json(201, out)

    # -------------------------------------------------------------- proxy
    def _proxy(self, req: Request) -> None:
        res = req.resource
        assert res is not None
        if res.kind != "Service":
            raise no_such_path()
        # services/[<scheme>:]<name>[:<port>] (utilnet.SplitSchemeNamePort): one backend per service here, and the pod side
        # speaks plain HTTP whatever the scheme asks (TLS to the pod is not emulated).
        parts = req.name.split(":")
        if len(parts) > 3 or (len(parts) == 3 and parts[0] not in ("", "http", "https")):
            raise bad_request(f'invalid service request "{req.name}"')
        name = parts[1] if len(parts) == 3 else parts[0]
        service = self.cluster.store.peek(resources.storage_key("", "services"), req.namespace, name)
        if service is None:
            raise not_found("services", "", name)
        backend = self.cluster.backends.get((req.namespace, name))
        if backend is None or not self.cluster.has_ready_endpoints(service):
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{req.name}"')
        target = urllib.parse.urlsplit(backend)
        path = "/" + req.rest
        query = req.raw_query or urllib.parse.urlencode(req.query)
        conn_cls = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        kwargs: dict[str, Any] = {"timeout": 60}
        if target.scheme == "https":
            kwargs["context"] = ssl._create_unverified_context()  # pylint: disable=protected-access
        conn = conn_cls(target.hostname, target.port, **kwargs)
        # kube-apiserver drops the caller's Authorization header once it has authenticated them.
        dropped = ("authorization", "host", "connection", "content-length", "transfer-encoding")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
        try:
            conn.request(req.method, path + ("?" + query if query else ""), body=req.body or None, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        except OSError as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from exc
        finally:
            conn.close()
        self.send_response(answer.status)
        for name_, value in answer.getheaders():
            if name_.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name_, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if req.method != "HEAD":
            self.wfile.write(data)
        self._code = answer.status

    # -------------------------------------------------------------- test hooks
    def _internal(self, path: str, query: dict[str, str], body: bytes, user: rbac.UserInfo) -> None:
        """Hooks for tests: request log, faults, settings, proxy backends (admin only)."""
        if user.username != ADMIN_USER.username:
            raise ApiError(403, "Forbidden", "the local cluster's test hooks are for the admin user")
        cluster = self.cluster
        what = path[len(INTERNAL):].strip("/")
        payload = json.loads(body) if body else {}
        served = cluster.hooks.serve(self.command, what, query, payload)
        if served is not None:
            self._send_json(200, served)
        elif what == "settings":
            if self.command in ("POST", "PUT", "PATCH"):
                if "never_ready" in payload:
                    cluster.sim = dataclasses.replace(cluster.sim, never_ready=frozenset(payload["never_ready"]))
                if "ready_delay" in payload:
                    cluster.sim = dataclasses.replace(cluster.sim, ready_delay=float(payload["ready_delay"]))
                if "alert_speed" in payload and cluster.stack is not None:
                    cluster.stack.config.alert_speed = float(payload["alert_speed"])
            self._send_json(200, {"never_ready": sorted(cluster.sim.never_ready), "ready_delay": cluster.sim.ready_delay,
                                  "profile": cluster.profile})
        elif what == "backends":
            if self.command == "POST":
                cluster.backends[(payload["namespace"], payload["service"])] = payload["url"]
            self._send_json(200, {"backends": [{"namespace": ns, "service": svc, "url": url}
                                               for (ns, svc), url in cluster.backends.items()]})
        else:
            raise no_such_path()


def _warning_header(text: str) -> str:
    """One warning as ``net.NewWarningHeader(299, "-", text)`` writes it: the text quoted, with ``"`` and ``\\`` escaped."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or ())


def _spec_of(obj: dict[str, Any]) -> Any:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _comparable(obj: dict[str, Any]) -> Any:
    out = copy.deepcopy(obj)
    meta = out.get("metadata", {})
    for key in ("resourceVersion", "managedFields"):
        meta.pop(key, None)
    return out


_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _prune(obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Drop unknown fields (``.spec.foo``, ``.spec.containers[0].bar``) as the decoder does."""
    obj = copy.deepcopy(obj)
    for path in paths:
        parts = [(m.group(1), m.group(2)) for m in _PATH_PART.finditer(path)]
        cur: Any = obj
        for key, index in parts[:-1]:
            cur = cur.get(key) if key is not None and isinstance(cur, dict) else (
                cur[int(index)] if index is not None and isinstance(cur, list) and int(index) < len(cur) else None)
            if cur is None:
                break
        last_key, _unused = parts[-1] if parts else (None, None)
        if isinstance(cur, dict) and last_key in cur:
            del cur[last_key]
    return obj
