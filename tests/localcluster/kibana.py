"""An emulated Kibana (7.17 and 8.x): saved objects, data views, spaces, status, auth and base path.

``Kibana`` is the engine: thread-safe, no sockets; ``Kibana.handle`` answers one HTTP request
(method, path with query, headers, body) the way real Kibana would, so tests can drive it without
a socket. ``KibanaServer`` serves an engine over HTTP/1.1 with the shared test hooks (request log,
fault injection under ``/_localcluster/``). ``broken_objects`` lists what Kibana would render as
broken (missing references, unparsable ``*JSON`` attributes, fields the data view lacks).

Elasticsearch is reached only through a duck-typed ``es`` object: ``field_caps(pattern)``,
``authenticate(authorization_header)`` and ``count(pattern)``.

Shapes follow Kibana's source: ``SavedObjectsSerializer.rawToSavedObject`` (create, bulk_create,
find), ``getSavedObjectFromSource`` (get, bulk_get), ``json-stable-stringify`` for export lines,
``importSavedObjectsFromStream`` for import results, core's lifecycle handlers for kbn-xsrf,
kbn-version and kbn-name.

The Dev Tools console proxy (``POST /api/console/proxy?path=<es path[?query]>&method=<verb>``, console plugin's
``create_handler.ts``) forwards the request body to ``es.handle`` with ``pretty=true`` added, as the authenticated user:
the caller's Authorization header, or the one the security plugin keeps for a session (the login's basic credentials);
with security off, no credentials. 7.17 answers with Elasticsearch's own status; 8.x (since the fix for
elastic/kibana#140536) always answers 200 and puts Elasticsearch's status in ``x-console-proxy-status-code`` /
``x-console-proxy-status-text``, so a 401 or 403 from Elasticsearch does not look like the Kibana session ending.

Sessions follow the security plugin's basic provider (7.10+ server-side sessions): ``POST /internal/security/login``
checks the credentials with Elasticsearch and sets a ``sid`` cookie (HttpOnly, Path = the base path or ``/``, no
SameSite unless configured); a request with that cookie and no Authorization header is that user until the session
has been idle longer than ``session_idle_timeout`` (8.x default 3 days since 8.10, none on 7.17);
``GET /api/security/logout`` ends it. The cookie value is opaque (an iron seal in real Kibana), a key here.
"""

# pylint: disable=too-many-lines,too-many-arguments,too-many-positional-arguments

from __future__ import annotations

import base64
import copy
import http
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from .hooks import EngineServer, Fault

PROFILES: dict[str, dict[str, Any]] = {
    "7.17": {
        "version": "7.17.25", "build_number": 46534, "build_hash": "0f8bc4bd8c0d8dc6a8f1c1ff4bb5b5bcbb0fc7c5",
        "core_migration_version": "7.17.25",
        # 7.17 stores migrationVersion per type; every type here is single-namespace.
        "migration_versions": {"index-pattern": "7.11.0", "search": "7.9.3", "visualization": "7.17.0", "dashboard": "7.17.3",
                               "config": "7.13.0", "lens": "7.16.0", "query": "7.16.0", "tag": "7.12.0", "url": "7.12.0", "map": "7.16.0"},
        "multi_namespace": frozenset(),
        "security": False,
        # xpack.security.session.idleTimeout: no default before 8.0
        "session_idle_timeout": None,
    },
    "8": {
        "version": "8.15.3", "build_number": 77079, "build_hash": "7c1a1a4e1bd0e1d2b0fc2b1f6fd1b7b8a3c9e1a0",
        "build_date": "2024-10-09T13:58:49.000Z",
        "core_migration_version": "8.8.0",
        "migration_versions": {"index-pattern": "8.0.0", "search": "10.2.0", "visualization": "8.5.0", "dashboard": "10.2.0",
                               "config": "8.9.0", "lens": "8.9.0", "query": "8.0.0", "tag": "8.0.0", "url": "8.0.0", "map": "8.4.0"},
        # Since 8.0 these are 'multiple-isolated': one raw id across all spaces, shown in one space.
        "multi_namespace": frozenset({"index-pattern", "search", "visualization", "dashboard", "lens", "query", "tag", "url", "map"}),
        "security": True,
        # xpack.security.session.idleTimeout: 3d since 8.10 (8h in 8.0-8.9)
        "session_idle_timeout": 3 * 86400.0,
    },
}

# The keys of a data view spec (POST /api/data_views/data_view and /api/index_patterns/index_pattern) every version takes.
DATA_VIEW_SPEC_KEYS = ("title", "version", "id", "type", "timeFieldName", "sourceFilters", "fields", "typeMeta", "fieldFormats",
                       "fieldAttrs", "allowNoIndex", "runtimeFieldMap")
# The attributes Kibana 8.8+ accepts for these types (saved_search schema.ts SCHEMA_SEARCH_V8_8_0 and its model versions;
# dashboard_saved_object/schema/v1 dashboardAttributesSchema, unknowns: forbid).
STRICT_ATTRIBUTES = {
    "search": frozenset({"title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "hideChart", "breakdownField",
                         "kibanaSavedObjectMeta", "isTextBasedQuery", "usesAdHocDataView", "timeRestore", "timeRange", "refreshInterval",
                         "viewMode", "hideAggregatedPreview", "hits", "version", "sampleSize", "headerRowHeight", "visContext", "density"}),
    "dashboard": frozenset({"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo", "refreshInterval",
                            "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version"}),
}
ICONS = {"index-pattern": "indexPatternApp", "search": "discoverApp", "visualization": "visualizeApp", "dashboard": "dashboardApp",
         "config": "advancedSettingsApp", "lens": "lensApp", "query": "discoverApp", "tag": "tag", "url": "link", "map": "gisApp"}
# Only these reference types are checked on import (validate_references.ts, REF_TYPES_TO_VALIDATE).
IMPORT_VALIDATED_REF_TYPES = ("index-pattern", "search")
JSON_ATTRIBUTES = ("visState", "uiStateJSON", "panelsJSON", "optionsJSON", "kibanaSavedObjectMeta.searchSourceJSON")
ANALYTICS_TYPES = frozenset({"index-pattern", "search", "visualization", "dashboard", "lens", "query", "tag", "url", "map"})
SPACE_ID_RE = re.compile(r"^[a-z0-9_\-]+$")
ES_TO_KBN_TYPE = {
    "text": "string", "keyword": "string", "match_only_text": "string", "constant_keyword": "string", "wildcard": "string", "version": "string",
    "long": "number", "integer": "number", "short": "number", "byte": "number", "double": "number", "float": "number",
    "half_float": "number", "scaled_float": "number", "unsigned_long": "number", "date": "date", "date_nanos": "date",
    "boolean": "boolean", "ip": "ip", "geo_point": "geo_point", "geo_shape": "geo_shape", "nested": "nested",
    "_id": "string", "_index": "string", "_source": "_source", "_score": "number",
}
ELASTIC_USERNAME_FORBIDDEN = ('value of "elastic" is forbidden. This is a superuser account that cannot write to system indices that Kibana needs to '
                              "function. Use a service account token instead. Learn more: "
                              "https://www.elastic.co/guide/en/elasticsearch/reference/8.0/service-accounts.html")
NODES_VERSION_PATH = "/_nodes?filter_path=nodes.*.version%2Cnodes.*.http.publish_address%2Cnodes.*.ip"  # Kibana's first ES request
DEFAULT_ROLE_PRIVILEGES = {"superuser": "all", "kibana_admin": "all", "editor": "all", "viewer": "read"}
SESSION_COOKIE = "sid"  # xpack.security.cookieName
SESSION_ERROR_REASON_HEADER = "kbn-session-error-reason"
CLEARED_COOKIE_ATTRIBUTES = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
ES_SECURITY_DISABLED = ("Security must be explicitly enabled when using a [basic] license. Enable security by setting "
                        "[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.")
_PROFILE_DEFAULT: Any = object()
STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               413: "Request Entity Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class Response:
    """One HTTP answer from the engine."""
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body) if self.body else None


class KibanaError(Exception):
    """An error answered as Kibana's Boom payload ``{statusCode, error, message[, attributes]}``."""

    def __init__(self, status: int, message: str, attributes: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.attributes = attributes
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        """The JSON body Kibana sends."""
        body: dict[str, Any] = {"statusCode": self.status, "error": STATUS_TEXT.get(self.status, "Error"), "message": self.message}
        if self.attributes is not None:
            body["attributes"] = self.attributes
        return body


def _bad_request(message: str, attributes: Any = None) -> KibanaError:
    return KibanaError(400, message, attributes)


def _not_found(type_: str, id_: str) -> KibanaError:
    return KibanaError(404, f"Saved object [{type_}/{id_}] not found")


def _conflict(type_: str, id_: str) -> KibanaError:
    return KibanaError(409, f"Saved object [{type_}/{id_}] conflict")


def _unsupported_type(type_: str) -> KibanaError:
    # SavedObjectsErrorHelpers.createUnsupportedTypeError decorates Boom 'Bad Request' with a reason.
    return _bad_request(f"Unsupported saved object type: '{type_}': Bad Request")


def encode_version(seq_no: int, primary_term: int) -> str:
    """Kibana's saved object ``version``: base64 of the JSON ``[seq_no,primary_term]`` (``WzEsMV0=`` for 1, 1)."""
    return base64.b64encode(json.dumps([seq_no, primary_term], separators=(",", ":")).encode()).decode()


def _type_name(value: Any) -> str:
    """How @kbn/config-schema names a value's type in its messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "Array"
    return "Object"


def _expect(value: Any, kind: str, where: str, required: bool = True) -> None:
    """Raise the config-schema 400 when ``value`` is not of ``kind`` (object, string, array, boolean, number)."""
    if value is None and not required:
        return
    checks: dict[str, Callable[[Any], bool]] = {
        "object": lambda v: isinstance(v, dict), "string": lambda v: isinstance(v, str), "array": lambda v: isinstance(v, list),
        "boolean": lambda v: isinstance(v, bool), "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not checks[kind](value):
        got = "undefined" if value is None else _type_name(value)
        raise _bad_request(f"[{where}]: expected value of type [{kind}] but got [{got}]")


def _check_keys(body: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in body:
        if key not in allowed:
            raise _bad_request(f"[{where}.{key}]: definition for this key is missing")


def _check_references(references: Any, where: str) -> None:
    _expect(references, "array", where, required=False)
    for index, ref in enumerate(references or []):
        _expect(ref, "object", f"{where}.{index}")
        for key in ("name", "type", "id"):
            _expect(ref.get(key), "string", f"{where}.{index}.{key}")


def _now_iso(clock: Callable[[], float]) -> str:
    now = clock()
    return datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(now * 1000) % 1000:03d}Z"


def _words(text: str) -> list[str]:
    """Tokens as Elasticsearch's standard analyzer makes them (roughly: lower-cased alphanumeric runs)."""
    return re.findall(r"[0-9a-z_]+", text.lower())


def _get_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _stable_json(value: Any) -> str:
    """json-stable-stringify: sorted keys, no spaces (what Kibana's export route writes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """Parts of a multipart/form-data body: name -> (filename, content)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}
    boundary = b"--" + match.group(1).encode()
    parts: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _sep, content = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                disposition = line
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            parts[name.group(1)] = (filename.group(1) if filename else None, content)
    return parts


@dataclass
class _Doc:  # pylint: disable=too-many-instance-attributes
    """One stored saved object (the raw document's content)."""
    type: str
    id: str
    attributes: dict[str, Any]
    references: list[dict[str, Any]]
    namespaces: list[str]
    created_at: str
    updated_at: str
    seq_no: int
    primary_term: int = 1
    origin_id: str | None = None


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    space: str = "default"
    user: dict[str, Any] | None = None

    def json(self) -> Any:
        """The body as JSON (None when empty); 400 when it does not parse."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise _bad_request("Invalid request payload JSON format") from exc

    def q(self, name: str) -> str | None:
        """The last value of a query parameter."""
        values = self.query.get(name)
        return values[-1] if values else None

    def qlist(self, name: str) -> list[str]:
        """Every value of a repeated query parameter."""
        return list(self.query.get(name) or [])

    def qbool(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter, validated as config-schema does."""
        value = self.q(name)
        if value is None:
            return default
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _bad_request(f"[request query.{name}]: expected value of type [boolean] but got [string]")

    def qint(self, name: str, default: int) -> int:
        """A number query parameter, validated as config-schema does."""
        value = self.q(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise _bad_request(f"[request query.{name}]: expected value of type [number] but got [string]") from exc


class Kibana:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """The Kibana engine: saved objects per space, data views, spaces, status; ``handle`` answers HTTP requests."""

    def __init__(self, profile: str = "8", es: Any = None, security: bool | None = None, base_path: str = "",
                 rewrite_base_path: bool = False, name: str = "kibana", role_privileges: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time, session_idle_timeout: float | None = _PROFILE_DEFAULT,
                 same_site: str | None = None, secure_cookies: bool = False, restrict_internal_apis: bool = False,
                 version: str | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown Kibana profile {profile!r}; known: {sorted(PROFILES)}")
        self.profile = profile
        self._p = PROFILES[profile]
        # A release of the profile's major other than its default: the schemas follow it (data view name from 8.4, ...).
        self.version: str = version or self._p["version"]
        self.es = es
        self.security = self._p["security"] if security is None else security
        self.base_path = base_path.rstrip("/")
        self.rewrite_base_path = rewrite_base_path
        self.name = name
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kibana/{name}/{profile}"))
        self.role_privileges = dict(DEFAULT_ROLE_PRIVILEGES if role_privileges is None else role_privileges)
        # elasticsearch.username / elasticsearch.password (ELASTICSEARCH_USERNAME / _PASSWORD); None: not configured, the
        # emulator then assumes a working connection as before
        self.es_username: str | None = None
        self.es_password: str | None = None
        # xpack.security.session.idleTimeout in seconds (None: sessions never go idle), xpack.security.sameSiteCookies,
        # xpack.security.secureCookies, server.restrictInternalApis (9.0's default; settable only on serverless in 8.x)
        self.session_idle_timeout = self._p["session_idle_timeout"] if session_idle_timeout is _PROFILE_DEFAULT else session_idle_timeout
        self.same_site = same_site
        self.secure_cookies = secure_cookies
        self.restrict_internal_apis = restrict_internal_apis
        # console.proxyFilter (7.x only; removed in 8.0): regular expressions the proxied path must match
        self.console_proxy_filter: list[str] = [".*"]
        self._sessions: dict[str, dict[str, Any]] = {}
        self._clock = clock
        self._lock = threading.RLock()
        self._docs: dict[tuple[str, str, str], _Doc] = {}
        self._seq: dict[str, int] = {}
        self._spaces: dict[str, dict[str, Any]] = {"default": {
            "id": "default", "name": "Default", "description": "This is your default space!", "color": "#00bfb3",
            "disabledFeatures": [], "_reserved": True}}
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ storage
    @property
    def is8(self) -> bool:
        """Whether this is the 8.x profile."""
        return self.profile == "8"

    def known_types(self) -> list[str]:
        """Saved object types the HTTP APIs serve."""
        return sorted(self._p["migration_versions"])

    def _multi(self, type_: str) -> bool:
        return type_ in self._p["multi_namespace"]

    def _key(self, space: str, type_: str, id_: str) -> tuple[str, str, str]:
        # A multiple-isolated type has one raw id (type:id) across all spaces; single-namespace ones are per space.
        return ("*" if self._multi(type_) else space, type_, id_)

    def _find_doc(self, space: str, type_: str, id_: str) -> _Doc | None:
        doc = self._docs.get(self._key(space, type_, id_))
        return doc if doc is not None and space in doc.namespaces else None

    def _next_seq(self, type_: str) -> int:
        index = ".kibana_analytics" if self.is8 and type_ in ANALYTICS_TYPES else ".kibana"
        self._seq[index] = self._seq.get(index, 0) + 1
        return self._seq[index]

    def _write(self, space: str, type_: str, id_: str | None, attributes: dict, references: list | None, overwrite: bool,
               version: str | None = None, origin_id: str | None = None) -> _Doc:
        """Create (or overwrite) one object, raising the conflicts real Kibana raises."""
        if type_ not in self._p["migration_versions"]:
            raise _unsupported_type(type_)
        id_ = id_ or str(uuid.uuid4())
        key = self._key(space, type_, id_)
        existing = self._docs.get(key)
        if existing is not None:
            # preflightCheckForCreate: an object of a multi-namespace type in another space can never be overwritten from here.
            if not overwrite or space not in existing.namespaces:
                raise _conflict(type_, id_)
            if version is not None and version != encode_version(existing.seq_no, existing.primary_term):
                raise _conflict(type_, id_)
        now = _now_iso(self._clock)
        doc = _Doc(type_, id_, copy.deepcopy(attributes), copy.deepcopy(references or []), [space], now, now, self._next_seq(type_),
                   origin_id=origin_id if origin_id is not None else (existing.origin_id if existing else None))
        self._docs[key] = doc
        return doc

    # ------------------------------------------------------------------ shapes
    def _migration_fields(self, type_: str) -> dict[str, Any]:
        mv = self._p["migration_versions"][type_]
        if self.is8:
            # The HTTP routes ask for migrationVersionCompatibility 'compatible': migrationVersion is derived from typeMigrationVersion.
            return {"migrationVersion": {type_: mv}, "coreMigrationVersion": self._p["core_migration_version"], "typeMigrationVersion": mv}
        return {"migrationVersion": {type_: mv}, "coreMigrationVersion": self._p["core_migration_version"]}

    def _raw_shape(self, doc: _Doc, space: str) -> dict[str, Any]:
        """rawToSavedObject plus the repository's namespaces fix-up: create, bulk_create and find answer this."""
        out: dict[str, Any] = {"type": doc.type, "id": doc.id}
        if self._multi(doc.type):
            out["namespaces"] = list(doc.namespaces)
        if doc.origin_id:
            out["originId"] = doc.origin_id
        out["attributes"] = copy.deepcopy(doc.attributes)
        out["references"] = copy.deepcopy(doc.references)
        mig = self._migration_fields(doc.type)
        if self.is8:
            out["managed"] = False
        out.update(mig)
        out["updated_at"] = doc.updated_at
        if self.is8:
            out["created_at"] = doc.created_at
        out["version"] = encode_version(doc.seq_no, doc.primary_term)
        if not self._multi(doc.type):
            out["namespaces"] = [space]
        return out

    def _get_shape(self, doc: _Doc) -> dict[str, Any]:
        """getSavedObjectFromSource: get and bulk_get answer this."""
        out: dict[str, Any] = {"id": doc.id, "type": doc.type, "namespaces": list(doc.namespaces)}
        if doc.origin_id:
            out["originId"] = doc.origin_id
        out["updated_at"] = doc.updated_at
        if self.is8:
            out["created_at"] = doc.created_at
        out["version"] = encode_version(doc.seq_no, doc.primary_term)
        out["attributes"] = copy.deepcopy(doc.attributes)
        out["references"] = copy.deepcopy(doc.references)
        out.update(self._migration_fields(doc.type))
        if self.is8:
            out["managed"] = False
        return out

    def _export_shape(self, doc: _Doc) -> dict[str, Any]:
        """What an export line holds: the raw object without namespaces (and, on 8.x, without the derived migrationVersion)."""
        out: dict[str, Any] = {"attributes": copy.deepcopy(doc.attributes), "coreMigrationVersion": self._p["core_migration_version"],
                               "id": doc.id, "references": copy.deepcopy(doc.references), "type": doc.type,
                               "updated_at": doc.updated_at, "version": encode_version(doc.seq_no, doc.primary_term)}
        mv = self._p["migration_versions"][doc.type]
        if self.is8:
            out.update({"created_at": doc.created_at, "managed": False, "typeMigrationVersion": mv})
        else:
            out["migrationVersion"] = {doc.type: mv}
        if doc.origin_id:
            out["originId"] = doc.origin_id
        return out

    # ------------------------------------------------------------------ programmatic API
    def create(self, type_: str, attributes: dict[str, Any], id_: str | None = None, references: list[dict[str, Any]] | None = None,
               overwrite: bool = False, space: str = "default") -> dict[str, Any]:
        """Create a saved object as ``POST /api/saved_objects/<type>/<id>`` does; raises KibanaError."""
        with self._lock:
            return self._raw_shape(self._write(space, type_, id_, attributes, references, overwrite), space)

    def get(self, type_: str, id_: str, space: str = "default") -> dict[str, Any] | None:
        """The object as ``GET /api/saved_objects/<type>/<id>`` shows it, or None."""
        with self._lock:
            doc = self._find_doc(space, type_, id_)
            return self._get_shape(doc) if doc else None

    def objects(self, space: str = "default") -> list[dict[str, Any]]:
        """Every saved object visible in a space, in creation order (GET shape)."""
        with self._lock:
            return [self._get_shape(d) for d in self._docs.values() if space in d.namespaces]

    def spaces(self) -> list[str]:
        """Ids of the existing spaces."""
        with self._lock:
            return list(self._spaces)

    def field_specs(self, pattern: str) -> dict[str, dict[str, Any]]:
        """A data view's field map for ``pattern`` as Kibana builds it from _field_caps (empty without es or indices).

        As readFieldCapsResponse (elastic/kibana src/plugins/data_views/server/fetcher/lib/field_capabilities/
        field_caps_response.ts): a field is searchable / aggregatable when any of its types is; it is a "conflict" only
        when its types map to different Kibana types (keyword in one index and text in another are both "string")."""
        names = self.es.resolve_names(pattern) if self.es is not None else []
        caps = self.es.field_capabilities(names) if names else {}
        fields: dict[str, dict[str, Any]] = {}
        for fname, by_type in sorted(caps.items()):
            types = list(by_type)
            if set(types) & {"object", "nested"}:
                continue
            searchable = any(c.get("searchable") or c.get("non_searchable_indices") for c in by_type.values())
            aggregatable = any(c.get("aggregatable") or c.get("non_aggregatable_indices") for c in by_type.values())
            kbn_types = {ES_TO_KBN_TYPE.get(t, "unknown") for t in types}
            field = {"count": 0, "name": fname, "type": kbn_types.pop() if len(kbn_types) == 1 else "conflict", "esTypes": types,
                     "scripted": False, "searchable": searchable, "aggregatable": aggregatable,
                     "readFromDocValues": aggregatable and len(types) == 1 and types[0] not in ("text", "_source"),
                     "shortDotsEnable": False, "isMapped": True}
            if field["type"] == "conflict":
                field["conflictDescriptions"] = {t: c.get("indices") for t, c in by_type.items()}
            fields[fname] = field
        if fields:
            for meta, kbn_type, searchable, aggregatable in (("_id", "string", True, not self.is8), ("_index", "string", True, True),
                                                             ("_score", "number", False, False), ("_source", "_source", False, False)):
                fields.setdefault(meta, {"count": 0, "name": meta, "type": kbn_type, "esTypes": [meta], "scripted": False,
                                         "searchable": searchable, "aggregatable": aggregatable, "readFromDocValues": False,
                                         "shortDotsEnable": False, "isMapped": True})
        return fields

    # ------------------------------------------------------------------ connection to Elasticsearch
    def es_connection_problem(self) -> str | None:
        """Why Kibana cannot work with its configured Elasticsearch credentials now (the message Kibana logs), or None."""
        username = self.es_username
        if username is None:
            return None
        if self.is8 and username == "elastic":
            # Kibana 8's config schema refuses it and the process exits (FATAL) before serving anything.
            return f"[config validation of [elasticsearch].username]: {ELASTIC_USERNAME_FORBIDDEN}"
        if self.es is None or not getattr(self.es, "security", False):
            return None
        header = "Basic " + base64.b64encode(f"{username}:{self.es_password or ''}".encode()).decode()
        if self.es.authenticate(header) is not None:
            return None
        return ("Unable to retrieve version information from Elasticsearch nodes. security_exception: [security_exception] Reason: "
                f"unable to authenticate user [{username}] for REST request [{NODES_VERSION_PATH}]")

    # ------------------------------------------------------------------ HTTP entry point
    def handle(self, method: str, target: str, headers: Mapping[str, str] | None = None, body: bytes = b"") -> Response:
        """Answer one HTTP request (``target`` is the path with its query string) as Kibana would."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        parsed = urllib.parse.urlsplit(target)
        req = _Request(method.upper(), urllib.parse.unquote(parsed.path) or "/", urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                       lowered, body)
        try:
            with self._lock:
                response = self._handle(req)
        except KibanaError as err:
            response = Response(err.status, json.dumps(err.payload(), separators=(",", ":")).encode(),
                                {"Content-Type": "application/json; charset=utf-8", **err.headers})
        response.headers = {**self._common_headers(), **response.headers}
        if req.user is not None:
            response.headers["X-Localcluster-User"] = str(req.user.get("username", ""))
        return response

    def _common_headers(self) -> dict[str, str]:
        # createCustomHeadersPreResponseHandler: kbn-name on every answer, plus the default security headers.
        headers = {"kbn-name": self.name, "X-Content-Type-Options": "nosniff",
                   "Referrer-Policy": "strict-origin-when-cross-origin" if self.is8 else "no-referrer-when-downgrade",
                   "Cache-Control": "private, no-cache, no-store, must-revalidate"}
        headers["kbn-license-sig"] = "f1a7c5b2e0d94c0c8a3b0d1e2f3a4b5c6d7e8f90"
        return headers

    def _handle(self, req: _Request) -> Response:
        path = req.path
        if self.base_path and self.rewrite_base_path:
            if path != self.base_path and not path.startswith(self.base_path + "/"):
                raise KibanaError(404, "Not Found")
            path = path[len(self.base_path):] or "/"
        match = re.match(r"^/s/([a-z0-9_\-]+)(/.*)?$", path)
        if match:
            req.space, path = match.group(1), match.group(2) or "/"
        req.path = path
        not_ready = self.es_connection_problem() is not None
        for method, pattern, handler, auth in self._routes:
            route_match = re.match(pattern, path)
            if route_match and (method == req.method or (method == "GET" and req.method == "HEAD")):
                if not_ready and handler != self._status:  # pylint: disable=comparison-with-callable
                    # Without a working Elasticsearch connection Kibana never leaves its not-ready stage.
                    raise KibanaError(503, "Kibana server is not ready yet")
                if self.restrict_internal_apis and path.startswith("/internal/") and "x-elastic-internal-origin" not in req.headers:
                    raise _bad_request(f"uri [{req.path}] with method [{req.method.lower()}] exists but is not available with the "
                                       "current configuration")
                redirect = self._authenticate(req, auth)
                if redirect is not None:
                    return redirect
                self._post_auth(req)
                return handler(req, *route_match.groups())
        raise KibanaError(404, "Not Found")

    def _build_routes(self) -> list[tuple[str, str, Callable[..., Response], str]]:
        so = r"^/api/saved_objects"
        routes: list[tuple[str, str, Callable[..., Response], str]] = [
            ("GET", r"^/api/status/?$", self._status, "optional"),
            ("GET", r"^/?$", self._root, "page"),
            ("GET", r"^/(app/[^?]*)$", self._app, "page"),
            ("GET", r"^/(login)$", self._app, "none"),
            ("POST", r"^/internal/security/login/?$", self._login, "none"),
            ("GET", r"^/api/security/logout/?$", self._logout, "none"),
            ("GET", r"^/internal/security/me/?$", self._me, "user"),
            ("POST", r"^/api/console/proxy/?$", self._console_proxy, "user"),
            ("GET", r"^/api/spaces/space/?$", self._spaces_list, "read"),
            ("GET", r"^/api/spaces/space/([^/]+)$", self._space_get, "read"),
            ("POST", r"^/api/spaces/space/?$", self._space_create, "admin"),
            ("DELETE", r"^/api/spaces/space/([^/]+)$", self._space_delete, "admin"),
            ("GET", so + r"/_find/?$", self._so_find, "so"),
            ("POST", so + r"/_bulk_get/?$", self._so_bulk_get, "so"),
            ("POST", so + r"/_bulk_create/?$", self._so_bulk_create, "so"),
            ("POST", so + r"/_export/?$", self._so_export, "read"),
            ("POST", so + r"/_import/?$", self._so_import, "write"),
            ("GET", so + r"/([^/_][^/]*)/(.+)$", self._so_get, "so"),
            ("POST", so + r"/([^/_][^/]*)(?:/(.+))?$", self._so_create, "so"),
            ("PUT", so + r"/([^/_][^/]*)/(.+)$", self._so_update, "so"),
            ("DELETE", so + r"/([^/_][^/]*)/(.+)$", self._so_delete, "so"),
        ]
        if self.is8:
            routes += [
                ("GET", r"^/api/data_views/?$", self._dv_list, "read"),
                ("POST", r"^/api/data_views/data_view/?$", self._dv_create_dv, "write"),
                ("GET", r"^/api/data_views/data_view/([^/]+)$", self._dv_get_dv, "read"),
                ("DELETE", r"^/api/data_views/data_view/([^/]+)$", self._dv_delete, "write"),
            ]
        # The index patterns API exists since 7.11 and is still served (as a legacy alias) on 8.x.
        routes += [
            ("POST", r"^/api/index_patterns/index_pattern/?$", self._dv_create_ip, "write"),
            ("GET", r"^/api/index_patterns/index_pattern/([^/]+)$", self._dv_get_ip, "read"),
            ("DELETE", r"^/api/index_patterns/index_pattern/([^/]+)$", self._dv_delete, "write"),
        ]
        return routes

    # ------------------------------------------------------------------ lifecycle: auth, xsrf, version
    def _authenticate(self, req: _Request, mode: str) -> Response | None:
        """Authenticate through Elasticsearch; a browser page without credentials is sent to the login page."""
        if not self.security or mode == "none":
            return None
        header = req.headers.get("authorization", "")
        if not header and self._session_user(req, mode):
            return None
        if not header:
            if mode == "optional":
                return None
            if mode == "page":
                target = self.base_path + req.path
                return Response(302, b"", {"Location": f"{self.base_path}/login?next={urllib.parse.quote(target, safe='')}"})
            raise KibanaError(401, "Unauthorized")
        user = self.es.authenticate(header) if self.es is not None else None
        if user is None:
            raise KibanaError(401, self._auth_failure_message(header), headers={"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'})
        req.user = user
        return None

    def _session_user(self, req: _Request, mode: str) -> bool:
        """Authenticate ``req`` by its session cookie; True when it names a live session. An expired or unknown session
        answers 401 (and clears the cookie) on routes that need a user; optional and page routes go on anonymously."""
        sid = _cookies(req.headers.get("cookie", "")).get(SESSION_COOKIE)
        if not sid:
            return False
        session = self._sessions.get(sid)
        now = self._clock()
        expired = session is not None and self.session_idle_timeout is not None and now - session["last"] > self.session_idle_timeout
        if session is not None and not expired:
            session["last"] = now
            req.user = session["user"]
            return True
        self._sessions.pop(sid, None)
        if mode in ("optional", "page"):
            return False
        headers = {"Set-Cookie": self._cookie("", clear=True)}
        if expired and self.is8:
            headers[SESSION_ERROR_REASON_HEADER] = "SESSION_EXPIRED"
        raise KibanaError(401, "Unauthorized", headers=headers)

    def _cookie(self, value: str, clear: bool = False) -> str:
        """A Set-Cookie value as hapi's statehood writes Kibana's session cookie."""
        parts = [f"{SESSION_COOKIE}={value}"]
        if clear:
            parts.append(CLEARED_COOKIE_ATTRIBUTES)
        if self.secure_cookies:
            parts.append("Secure")
        parts.append("HttpOnly")
        if self.same_site:
            parts.append(f"SameSite={self.same_site}")
        parts.append(f"Path={self.base_path or '/'}")
        return "; ".join(parts)

    def sessions(self) -> list[str]:
        """Usernames of the live sessions (expired ones included until used)."""
        with self._lock:
            return [s["user"].get("username", "") for s in self._sessions.values()]

    def expire_sessions(self) -> None:
        """Age every session past the idle timeout (a test's shortcut for waiting)."""
        with self._lock:
            for session in self._sessions.values():
                session["last"] = float("-inf")

    @staticmethod
    def _auth_failure_message(header: str) -> str:
        # The Elasticsearch client's ResponseError text, as Kibana forwards it for a failed HTTP authentication.
        scheme, _sep, cred = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                username = base64.b64decode(cred.strip()).decode("utf-8", "replace").partition(":")[0]
            except ValueError:
                username = ""
            reason = f"unable to authenticate user [{username}] for REST request [/_security/_authenticate]"
        else:
            reason = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
        return f"[security_exception\n\tRoot causes:\n\t\tsecurity_exception: {reason}]: {reason}"

    def _privilege(self, req: _Request) -> str:
        """'all', 'read' or 'none' for the request's user (everything when security is off)."""
        if not self.security:
            return "all"
        best = "none"
        for role in (req.user or {}).get("roles", []):
            granted = self.role_privileges.get(role, "none")
            if granted == "all":
                return "all"
            if granted == "read":
                best = "read"
        return best

    def _require(self, req: _Request, need: str, action: str | None = None, types: list[str] | None = None) -> None:
        have = self._privilege(req)
        if have == "all" or (need == "read" and have == "read"):
            return
        if action and types:
            raise KibanaError(403, f"Unable to {action} {','.join(sorted(set(types)))}")
        raise KibanaError(403, "Forbidden")

    def _post_auth(self, req: _Request) -> None:
        requested = req.headers.get("kbn-version")
        if requested and requested != self.version:
            raise KibanaError(400, f'Browser client is out of date, please refresh the page ("kbn-version" header was "{requested}" but '
                                   f'should be "{self.version}")', {"expected": self.version, "got": requested})
        if req.method not in ("GET", "HEAD") and "kbn-xsrf" not in req.headers and "kbn-version" not in req.headers:
            raise _bad_request("Request must contain a kbn-xsrf header.")

    # ------------------------------------------------------------------ responses
    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(status, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
                        {"Content-Type": "application/json; charset=utf-8"})

    # ------------------------------------------------------------------ status and pages
    def _status(self, req: _Request) -> Response:
        problem = self.es_connection_problem()
        if self.security and req.user is None:
            # /api/status answers 503 whenever the overall level is unavailable (consistent codes since 8.9)
            level = "unavailable" if problem else "available"
            return self._json({"status": {"overall": {"level": level}}}, 503 if problem else 200)
        p = self._p
        version: dict[str, Any] = {"number": self.version, "build_hash": p["build_hash"], "build_number": p["build_number"],
                                   "build_snapshot": False}
        v7format = req.qbool("v7format") if req.q("v7format") is not None else None
        v8format = req.qbool("v8format") if req.q("v8format") is not None else None
        if v7format is not None and v8format is not None:
            raise _bad_request("[request query]: provide only one format option: v7format or v8format")
        # 7.x answers the legacy shape unless ?v8format=true; 8.x the new one unless ?v7format=true.
        legacy = bool(v7format) if self.is8 else not v8format
        since = _now_iso(self._clock)
        core = {"elasticsearch": {"level": "available", "summary": "Elasticsearch is available"},
                "savedObjects": {"level": "available", "summary": "SavedObjects service has completed migrations and is available"}}
        if problem:
            core["elasticsearch"] = {"level": "unavailable", "summary": problem}
            # (sic) Kibana 8.x's own spelling of this summary
            core["savedObjects"] = {"level": "unavailable",
                                    "summary": "SavedObjects service is not available without a healthy Elasticearch connection"}
        if problem and legacy:
            status: dict[str, Any] = {
                "overall": {"since": since, "state": "red", "title": "Red", "nickname": "Danger Will Robinson! Danger!", "icon": "danger",
                            "uiColor": "danger"},
                "statuses": [{"id": f"core:{k}@{self.version}", "message": v["summary"], "since": since,
                              "state": "red" if v["level"] == "unavailable" else "green", "icon": "danger", "uiColor": "danger"}
                             for k, v in core.items()]}
        elif problem:
            status = {"overall": {"level": "unavailable", "summary": f"[elasticsearch]: {problem}"}, "core": core, "plugins": {}}
        elif legacy:
            status = {
                "overall": {"since": since, "state": "green", "title": "Green", "nickname": "Looking good", "icon": "success",
                            "uiColor": "secondary"},
                "statuses": [{"id": f"core:{k}@{self.version}", "message": v["summary"], "since": since, "state": "green",
                              "icon": "success", "uiColor": "secondary"} for k, v in core.items()]}
        else:
            status = {"overall": {"level": "available", "summary": "All services are available"}, "core": core, "plugins": {}}
        if self.is8:
            version["build_date"] = p["build_date"]
            version["build_flavor"] = "traditional"
        body = {"name": self.name, "uuid": self.uuid, "version": version, "status": status,
                "metrics": {"last_updated": since, "collection_interval_in_millis": 10000}}
        return self._json(body, 503 if problem else 200)

    def _root(self, req: _Request) -> Response:
        del req
        return Response(302, b"", {"Location": f"{self.base_path}/app/home"})

    def _app(self, req: _Request, app: str) -> Response:
        del req
        metadata = json.dumps({"version": self.version, "basePath": self.base_path, "serverBasePath": self.base_path, "app": app})
        page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Elastic</title></head><body>"
                f"<kbn-injected-metadata data=\"{json.dumps(metadata)[1:-1]}\"></kbn-injected-metadata></body></html>")
        return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    # ------------------------------------------------------------------ security: login, logout, me
    def _login(self, req: _Request) -> Response:
        """The login form's request (security plugin, routes/authentication/common.ts); only the basic provider here."""
        body = req.json()
        _expect(body, "object", "request body")
        for key in ("providerType", "providerName", "currentURL"):
            _expect(body.get(key), "string", f"request body.{key}")
        _check_keys(body, ("providerType", "providerName", "currentURL", "params"), "request body")
        if body["providerType"] in ("basic", "token"):
            params = body.get("params")
            _expect(params, "object", "request body.params")
            for key in ("username", "password"):
                _expect(params.get(key), "string", f"request body.params.{key}")
                if not params[key]:
                    raise _bad_request(f"[request body.params.{key}]: value has length [0] but it must have a minimum length of [1].")
        elif body.get("params") is not None:
            raise _bad_request("[request body.params]: a value wasn't expected to be present")
        if body["providerType"] != "basic" or body["providerName"] != "basic":
            # Only xpack.security.authc.providers.basic.basic is configured: any other provider does not handle the attempt.
            raise KibanaError(401, "Unauthorized")
        header = "Basic " + base64.b64encode(f"{params['username']}:{params['password']}".encode()).decode()
        if not self.security:
            # Kibana still asks Elasticsearch, which refuses: security is off there.
            raise KibanaError(401, f"[security_exception\n\tRoot causes:\n\t\tsecurity_exception: {ES_SECURITY_DISABLED}]: "
                                   f"{ES_SECURITY_DISABLED}")
        user = self.es.authenticate(header) if self.es is not None else None
        if user is None:
            raise KibanaError(401, self._auth_failure_message(header))
        old = _cookies(req.headers.get("cookie", "")).get(SESSION_COOKIE)
        if old:
            self._sessions.pop(old, None)
        sid = f"Fe26.2**{secrets.token_hex(32)}*{secrets.token_urlsafe(16)}*{secrets.token_urlsafe(32)}"
        # The security plugin keeps the credentials with the session and hands them to Elasticsearch for each request
        # made as this user (the auth headers core attaches to the request; the console proxy forwards them).
        self._sessions[sid] = {"user": dict(user), "provider": {"type": "basic", "name": "basic"}, "last": self._clock(),
                               "authorization": header}
        req.user = user
        response = self._json({"location": self._next_url(body["currentURL"])})
        response.headers["Set-Cookie"] = self._cookie(sid)
        return response

    def _next_url(self, current_url: str) -> str:
        """parseNextURL: the ``next`` of the login page's URL when it stays inside this Kibana, else the base path."""
        values = urllib.parse.parse_qs(urllib.parse.urlsplit(current_url).query).get("next")
        wanted = values[0] if values else ""
        inside = wanted.startswith("/") and not wanted.startswith("//") and (
            not self.base_path or wanted == self.base_path or wanted.startswith(self.base_path + "/"))
        return wanted if inside else f"{self.base_path}/"

    def _logout(self, req: _Request) -> Response:
        if "kbn-xsrf" in req.headers or "kbn-version" in req.headers:
            # canRedirectRequest: an AJAX request cannot follow the redirect that logging out answers.
            raise _bad_request("Client should be able to process redirect response.")
        sid = _cookies(req.headers.get("cookie", "")).get(SESSION_COOKIE)
        if not sid or self._sessions.pop(sid, None) is None or not self.security:
            return Response(302, b"", {"Location": f"{self.base_path}/"})
        return Response(302, b"", {"Location": f"{self.base_path}/login?msg=LOGGED_OUT", "Set-Cookie": self._cookie("", clear=True)})

    def _me(self, req: _Request) -> Response:
        user = dict(req.user or {})
        sid = _cookies(req.headers.get("cookie", "")).get(SESSION_COOKIE)
        session = self._sessions.get(sid or "") if not req.headers.get("authorization") else None
        user["authentication_provider"] = session["provider"] if session else {"type": "http", "name": "__http__"}
        return self._json(user)

    # ------------------------------------------------------------------ console proxy
    def _console_query(self, req: _Request) -> tuple[str, str, bool]:
        """routeValidationConfig.query: method (a known verb, any case), path (non-empty) and, on 8.x, withProductOrigin."""
        allowed = ("method", "path", "withProductOrigin") if self.is8 else ("method", "path")
        values: dict[str, str] = {}
        for key in ("method", "path", "withProductOrigin"):
            got = req.query.get(key)
            if key not in allowed or got is None:
                continue
            if len(got) > 1:
                raise _bad_request(f"[request query.{key}]: expected value of type [{'boolean' if key == 'withProductOrigin' else 'string'}] "
                                   "but got [Array]")
            values[key] = got[0]
        if "method" not in values:
            raise _bad_request("[request query.method]: expected value of type [string] but got [undefined]")
        if values["method"].upper() not in ("HEAD", "GET", "POST", "PUT", "DELETE"):
            raise _bad_request("[request query.method]: Method must be one of, case insensitive ['HEAD', 'GET', 'POST', 'PUT', "
                               f"'DELETE']. Received '{values['method']}'.")
        if "path" not in values:
            raise _bad_request("[request query.path]: expected value of type [string] but got [undefined]")
        if values["path"] == "":
            raise _bad_request("[request query.path]: Expected non-empty string")
        origin = False
        if "withProductOrigin" in values:
            origin = req.qbool("withProductOrigin")
        for key in req.query:
            if key not in allowed:
                raise _bad_request(f"[request query.{key}]: definition for this key is missing")
        return values["method"].upper(), values["path"], origin

    def _console_authorization(self, req: _Request) -> str | None:
        """The credentials the proxy sends: the caller's Authorization header, else its session's; none with security off."""
        if not self.security:
            return None
        header = req.headers.get("authorization")
        if header:
            return header
        session = self._sessions.get(_cookies(req.headers.get("cookie", "")).get(SESSION_COOKIE) or "")
        return session.get("authorization") if session else None

    def _console_proxy(self, req: _Request) -> Response:
        """POST /api/console/proxy: the request to Elasticsearch as the authenticated user, Elasticsearch's answer back."""
        method, path, origin = self._console_query(req)
        self._require(req, "read")  # the dev_tools feature: its read and all privileges both grant the console API
        if not self.is8 and not any(re.search(pattern, path) for pattern in self.console_proxy_filter):
            return Response(403, f"Error connecting to '{path}':\n\nUnable to send requests to that path.".encode(),
                            {"Content-Type": "text/plain"})
        if self.es is None or not hasattr(self.es, "handle"):
            message = "connect ECONNREFUSED 127.0.0.1:9200"
            headers = {"x-console-proxy-status-code": "502", "x-console-proxy-status-text": "Bad Gateway"} if self.is8 else {}
            raise KibanaError(502, message, headers=headers)
        pathname, _sep, query = path.partition("?")
        query = query.replace("+", "%2b")  # toURL: a literal '+' would reach Elasticsearch as a space
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if not any(k == "pretty" and v for k, v in pairs):
            query = (query + "&" if query else "") + "pretty=true"
        target = "/" + pathname.lstrip("/") + "?" + query
        headers: dict[str, str] = {}
        authorization = self._console_authorization(req)
        if authorization:
            headers["Authorization"] = authorization
        if req.headers.get("content-type"):
            headers["Content-Type"] = req.headers["content-type"]
        if origin:
            headers["x-elastic-product-origin"] = "kibana"
        answer = self.es.handle(method, target, headers, req.body if method != "HEAD" else b"")
        # hapi passes the upstream response's headers through (not its status, which the handler sets).
        out = {k: v for k, v in answer.headers.items() if k.lower() not in ("x-localcluster-user", "content-length", "warning")}
        out["warning"] = next((v for k, v in answer.headers.items() if k.lower() == "warning"), "")
        text = _status_text(answer.status)
        body = answer.body
        if method == "HEAD":
            body = f"{answer.status} - {text}".encode()
            out = {k: v for k, v in out.items() if k.lower() != "content-type"}
            out["Content-Type"] = "text/plain"
        if not self.is8:
            return Response(answer.status, body, out)
        out["x-console-proxy-status-code"] = str(answer.status)
        out["x-console-proxy-status-text"] = text
        return Response(200, body, out)

    # ------------------------------------------------------------------ spaces
    def _spaces_list(self, req: _Request) -> Response:
        self._require(req, "read")
        return self._json(list(copy.deepcopy(self._spaces).values()))

    def _space_get(self, req: _Request, space_id: str) -> Response:
        self._require(req, "read")
        if space_id not in self._spaces:
            raise KibanaError(404, "Not Found")
        return self._json(copy.deepcopy(self._spaces[space_id]))

    def _space_create(self, req: _Request) -> Response:
        self._require(req, "all")
        body = req.json()
        _expect(body, "object", "request body")
        _check_keys(body, ("id", "name", "description", "initials", "color", "disabledFeatures", "imageUrl", "_reserved", "solution"),
                    "request body")
        _expect(body.get("id"), "string", "request body.id")
        if not SPACE_ID_RE.match(body["id"]):
            raise _bad_request("[request body.id]: must be lower case, a-z, 0-9, '_', and '-' are allowed")
        _expect(body.get("name"), "string", "request body.name")
        if not body["name"]:
            raise _bad_request("[request body.name]: value has length [0] but it must have a minimum length of [1].")
        if body["id"] in self._spaces:
            raise KibanaError(409, f"A space with the identifier {body['id']} already exists.")
        space = {"id": body["id"], "name": body["name"], "disabledFeatures": list(body.get("disabledFeatures") or [])}
        for key in ("description", "initials", "color", "imageUrl"):
            if key in body:
                space[key] = body[key]
        self._spaces[body["id"]] = space
        return self._json(copy.deepcopy(space))

    def _space_delete(self, req: _Request, space_id: str) -> Response:
        self._require(req, "all")
        if space_id not in self._spaces:
            raise KibanaError(404, "Not Found")
        if self._spaces[space_id].get("_reserved"):
            raise _bad_request("The default space cannot be deleted because it is reserved.")
        del self._spaces[space_id]
        for key, doc in list(self._docs.items()):
            if space_id in doc.namespaces:
                del self._docs[key]
        return Response(204)

    # ------------------------------------------------------------------ saved objects CRUD
    def _so_get(self, req: _Request, type_: str, id_: str) -> Response:
        self._require(req, "read", "get", [type_])
        if type_ not in self._p["migration_versions"]:
            raise _not_found(type_, id_)
        doc = self._find_doc(req.space, type_, id_)
        if doc is None:
            raise _not_found(type_, id_)
        return self._json(self._get_shape(doc))

    def _so_create(self, req: _Request, type_: str, id_: str | None) -> Response:
        overwrite = req.qbool("overwrite")
        body = req.json()
        _expect(body, "object", "request body")
        _check_keys(body, ("attributes", "migrationVersion", "coreMigrationVersion", "typeMigrationVersion", "references",
                           "initialNamespaces", "enforceRandomId"), "request body")
        _expect(body.get("attributes"), "object", "request body.attributes")
        self._check_attributes(type_, body["attributes"])
        _check_references(body.get("references"), "request body.references")
        self._require(req, "all", "create", [type_])
        doc = self._write(req.space, type_, id_, body["attributes"], body.get("references"), overwrite)
        return self._json(self._raw_shape(doc, req.space))

    def _check_attributes(self, type_: str, attributes: dict) -> None:
        """Kibana 8.8+ validates a saved search's and a dashboard's attributes against their type's schema, unknown keys refused."""
        allowed = STRICT_ATTRIBUTES.get(type_)
        if allowed is None or _version_tuple(self.version) < (8, 8):
            return
        for key in attributes:
            if key not in allowed:
                raise _bad_request(f"[attributes.{key}]: definition for this key is missing")

    def _so_update(self, req: _Request, type_: str, id_: str) -> Response:
        body = req.json()
        _expect(body, "object", "request body")
        _check_keys(body, ("attributes", "version", "references", "upsert"), "request body")
        _expect(body.get("attributes"), "object", "request body.attributes")
        _expect(body.get("version"), "string", "request body.version", required=False)
        _check_references(body.get("references"), "request body.references")
        self._require(req, "all", "update", [type_])
        if type_ not in self._p["migration_versions"]:
            raise _not_found(type_, id_)
        doc = self._find_doc(req.space, type_, id_)
        if doc is None:
            if body.get("upsert") is None:
                raise _not_found(type_, id_)
            doc = self._write(req.space, type_, id_, {**body["upsert"], **body["attributes"]}, body.get("references"), False)
        else:
            if body.get("version") is not None and body["version"] != encode_version(doc.seq_no, doc.primary_term):
                raise _conflict(type_, id_)
            # An update is a partial document merge at the attribute level.
            doc.attributes = {**doc.attributes, **copy.deepcopy(body["attributes"])}
            if body.get("references") is not None:
                doc.references = copy.deepcopy(body["references"])
            doc.updated_at = _now_iso(self._clock)
            doc.seq_no = self._next_seq(type_)
        out: dict[str, Any] = {"id": id_, "type": type_, "updated_at": doc.updated_at,
                               "version": encode_version(doc.seq_no, doc.primary_term), "namespaces": list(doc.namespaces)}
        if doc.origin_id:
            out["originId"] = doc.origin_id
        if body.get("references") is not None:
            out["references"] = copy.deepcopy(body["references"])
        out["attributes"] = copy.deepcopy(body["attributes"])
        return self._json(out)

    def _so_delete(self, req: _Request, type_: str, id_: str) -> Response:
        req.qbool("force")
        self._require(req, "all", "delete", [type_])
        if type_ not in self._p["migration_versions"]:
            raise _not_found(type_, id_)
        doc = self._find_doc(req.space, type_, id_)
        if doc is None:
            raise _not_found(type_, id_)
        del self._docs[self._key(req.space, type_, id_)]
        return self._json({})

    def _so_bulk_get(self, req: _Request) -> Response:
        body = req.json()
        _expect(body, "array", "request body")
        for index, item in enumerate(body):
            _expect(item, "object", f"request body.{index}")
            _expect(item.get("type"), "string", f"request body.{index}.type")
            _expect(item.get("id"), "string", f"request body.{index}.id")
        self._require(req, "read", "bulk_get", [item["type"] for item in body])
        out = []
        for item in body:
            type_, id_ = item["type"], item["id"]
            if type_ not in self._p["migration_versions"]:
                out.append({"id": id_, "type": type_, "error": _unsupported_type(type_).payload()})
                continue
            doc = self._find_doc(req.space, type_, id_)
            if doc is None:
                out.append({"id": id_, "type": type_, "error": _not_found(type_, id_).payload()})
                continue
            shape = self._get_shape(doc)
            if item.get("fields"):
                shape["attributes"] = {k: v for k, v in shape["attributes"].items() if k in item["fields"]}
            out.append(shape)
        return self._json({"saved_objects": out})

    def _so_bulk_create(self, req: _Request) -> Response:
        overwrite = req.qbool("overwrite")
        body = req.json()
        _expect(body, "array", "request body")
        for index, item in enumerate(body):
            _expect(item, "object", f"request body.{index}")
            _expect(item.get("type"), "string", f"request body.{index}.type")
            _expect(item.get("id"), "string", f"request body.{index}.id", required=False)
            _expect(item.get("attributes"), "object", f"request body.{index}.attributes")
            _check_references(item.get("references"), f"request body.{index}.references")
        self._require(req, "all", "bulk_create", [item["type"] for item in body])
        out = []
        for item in body:
            try:
                doc = self._write(req.space, item["type"], item.get("id"), item["attributes"], item.get("references"), overwrite,
                                  version=item.get("version") if overwrite else None)
                out.append(self._raw_shape(doc, req.space))
            except KibanaError as err:
                out.append({"id": item.get("id"), "type": item["type"], "error": err.payload()})
        return self._json({"saved_objects": out})

    def _so_find(self, req: _Request) -> Response:  # pylint: disable=too-many-locals,too-many-branches
        types = req.qlist("type")
        if not types:
            raise _bad_request("[request query.type]: expected at least one defined value but got [undefined]")
        per_page = req.qint("per_page", 20)
        page = req.qint("page", 1)
        search = req.q("search")
        search_fields = [f.split("^")[0] for f in req.qlist("search_fields")]
        fields = req.qlist("fields")
        operator = (req.q("default_search_operator") or "OR").upper()
        has_reference = req.q("has_reference")
        refs_wanted: list[dict] = []
        if has_reference:
            try:
                parsed = json.loads(has_reference)
            except ValueError as exc:
                raise _bad_request("[request query.has_reference]: could not parse object value from json input") from exc
            refs_wanted = parsed if isinstance(parsed, list) else [parsed]
        allowed = [t for t in types if t in self._p["migration_versions"]]
        if self._privilege(req) == "none":
            allowed = []
        hits: list[tuple[float, _Doc]] = []
        for doc in self._docs.values():
            if doc.type not in allowed or req.space not in doc.namespaces:
                continue
            if refs_wanted and not any(r.get("type") == ref["type"] and r.get("id") == ref["id"] for r in refs_wanted for ref in doc.references):
                continue
            score = 0.0
            if search:
                score = _search_score(doc.attributes, search, search_fields, operator)
                if score <= 0:
                    continue
            hits.append((score, doc))
        sort_field = req.q("sort_field")
        if sort_field:
            def sort_key(hit: tuple[float, _Doc]) -> Any:
                doc = hit[1]
                value = {"updated_at": doc.updated_at, "created_at": doc.created_at, "type": doc.type, "id": doc.id}.get(
                    sort_field, doc.attributes.get(sort_field))
                return "" if value is None else str(value)
            hits.sort(key=sort_key, reverse=(req.q("sort_order") or "asc").lower() == "desc")
        elif search:
            hits.sort(key=lambda hit: -hit[0])
        selected = hits[(page - 1) * per_page: page * per_page] if page > 0 and per_page >= 0 else []
        out = []
        for score, doc in selected:
            shape = self._raw_shape(doc, req.space)
            if fields:
                shape["attributes"] = {k: v for k, v in shape["attributes"].items() if k in fields}
            shape["score"] = score
            out.append(shape)
        return self._json({"page": page, "per_page": per_page, "total": len(hits), "saved_objects": out})

    # ------------------------------------------------------------------ export / import
    def _so_export(self, req: _Request) -> Response:  # pylint: disable=too-many-branches,too-many-locals,too-many-statements
        body = req.json()
        _expect(body, "object", "request body")
        _check_keys(body, ("type", "hasReference", "objects", "search", "includeReferencesDeep", "excludeExportDetails"), "request body")
        deep = body.get("includeReferencesDeep", False)
        _expect(deep, "boolean", "request body.includeReferencesDeep")
        exclude_details = body.get("excludeExportDetails", False)
        _expect(exclude_details, "boolean", "request body.excludeExportDetails")
        types = body.get("type")
        types = [types] if isinstance(types, str) else types
        objects = body.get("objects")
        if not types and not objects:
            raise _bad_request("Either `type` or `objects` are required.")
        if types and objects:
            raise _bad_request("Can't specify both \"types\" and \"objects\" properties when exporting")
        supported = self._p["migration_versions"]
        if objects:
            bad = [f"{o.get('type')}:{o.get('id')}" for o in objects if o.get("type") not in supported]
            if bad:
                raise _bad_request(f"Trying to export object(s) with non-exportable types: {', '.join(bad)}")
            docs: list[_Doc] = []
            errors = []
            for obj in objects:
                doc = self._find_doc(req.space, obj["type"], obj["id"])
                if doc is None:
                    errors.append({"id": obj["id"], "type": obj["type"], "error": _not_found(obj["type"], obj["id"]).payload()})
                else:
                    docs.append(doc)
            if errors:
                raise _bad_request("Error fetching objects to export", {"objects": errors})
        else:
            bad_types = [t for t in types if t not in supported]
            if bad_types:
                raise _bad_request(f"Trying to export non-exportable type(s): {', '.join(bad_types)}")
            docs = sorted((d for d in self._docs.values() if d.type in types and req.space in d.namespaces), key=lambda d: d.id)
            if body.get("search"):
                docs = [d for d in docs if _search_score(d.attributes, body["search"], [], "OR") > 0]
        missing: list[dict[str, str]] = []
        if deep:
            seen = {(d.type, d.id) for d in docs}
            queue = list(docs)
            while queue:
                for ref in queue.pop(0).references:
                    key = (ref["type"], ref["id"])
                    if key in seen:
                        continue
                    seen.add(key)
                    found = self._find_doc(req.space, ref["type"], ref["id"])
                    if found is None:
                        missing.append({"id": ref["id"], "type": ref["type"]})
                    else:
                        docs.append(found)
                        queue.append(found)
        lines = [_stable_json(self._export_shape(d)) for d in _sort_by_references(docs)]
        if not exclude_details:
            lines.append(_stable_json({"excludedObjects": [], "excludedObjectsCount": 0, "exportedCount": len(lines),
                                       "missingRefCount": len(missing), "missingReferences": missing}))
        return Response(200, "\n".join(lines).encode(), {"Content-Type": "application/ndjson",
                                                         "Content-Disposition": 'attachment; filename="export.ndjson"'})

    def _so_import(self, req: _Request) -> Response:  # pylint: disable=too-many-branches,too-many-locals,too-many-statements
        overwrite = req.qbool("overwrite")
        new_copies = req.qbool("createNewCopies")
        compat = req.qbool("compatibilityMode") if self.is8 else False
        if overwrite and new_copies:
            raise _bad_request("[request query]: cannot use [overwrite] with [createNewCopies]")
        if new_copies and compat:
            raise _bad_request("[request query]: cannot use [createNewCopies] with [compatibilityMode]")
        content_type = req.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            raise KibanaError(415, "Unsupported Media Type")
        parts = _parse_multipart(req.body, content_type)
        if "file" not in parts:
            raise _bad_request("[request body.file]: expected value of type [Stream] but got [undefined]")
        filename, content = parts["file"]
        ext = ("." + filename.rsplit(".", 1)[1].lower()) if filename and "." in filename else ""
        if ext != ".ndjson":
            raise _bad_request(f"Invalid file extension {ext}")
        objects: list[dict[str, Any]] = []
        for line in content.decode("utf-8").split("\n"):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise _bad_request(f"Unexpected token in JSON at position {exc.pos if hasattr(exc, 'pos') else 0}") from exc
            if isinstance(obj, dict) and "exportedCount" in obj:
                continue
            objects.append(obj)
        self._require(req, "all", "bulk_create", [str(o.get("type")) for o in objects] or ["index-pattern"])
        errors: list[dict[str, Any]] = []
        supported = self._p["migration_versions"]

        def failure(obj: dict, error: dict) -> dict[str, Any]:
            title = (obj.get("attributes") or {}).get("title")
            item: dict[str, Any] = {"id": obj.get("id"), "type": obj.get("type")}
            if not self.is8:  # 7.x failures still carried a top-level title beside meta
                item["title"] = title
            item["meta"] = {"title": title, "icon": ICONS.get(str(obj.get("type")))}
            item["error"] = error
            return item

        collected = []
        for obj in objects:
            if obj.get("type") not in supported:
                errors.append(failure(obj, {"type": "unsupported_type"}))
            else:
                collected.append(obj)
        in_file = {(o["type"], o["id"]) for o in collected}
        ok = []
        for obj in collected:
            missing_refs = [{"type": r["type"], "id": r["id"]} for r in obj.get("references") or []
                            if r.get("type") in IMPORT_VALIDATED_REF_TYPES and (r["type"], r["id"]) not in in_file
                            and self._find_doc(req.space, r["type"], r["id"]) is None]
            if missing_refs:
                errors.append(failure(obj, {"type": "missing_references", "references": missing_refs}))
            else:
                ok.append(obj)
        destinations: dict[tuple[str, str], str] = {}
        to_create = []
        for obj in ok:
            newer = self._too_new(obj)
            if newer:
                errors.append(failure(obj, {"statusCode": 400, "error": "Bad Request", "message": newer, "type": "unknown"}))
                continue
            key = (obj["type"], obj["id"])
            existing = self._docs.get(self._key(req.space, obj["type"], obj["id"]))
            if new_copies:
                destinations[key] = str(uuid.uuid4())
            elif existing is not None and req.space not in existing.namespaces:
                # An unresolvable conflict (the id is taken in another space): 8.x imports it under a new id.
                destinations[key] = str(uuid.uuid4())
            elif existing is not None and not overwrite:
                errors.append(failure(obj, {"type": "conflict"}))
                continue
            to_create.append((obj, existing is not None and key not in destinations))
        results = []
        for obj, overwriting in to_create:
            key = (obj["type"], obj["id"])
            refs = [{**r, "id": destinations.get((r["type"], r["id"]), r["id"])} for r in obj.get("references") or []]
            dest = destinations.get(key)
            origin = (obj.get("originId") or obj["id"]) if dest and new_copies else obj.get("originId")
            doc = self._write(req.space, obj["type"], dest or obj["id"], obj.get("attributes") or {}, refs, True, origin_id=origin)
            result: dict[str, Any] = {"type": doc.type, "id": obj["id"],
                                      "meta": {"title": doc.attributes.get("title"), "icon": ICONS.get(doc.type)}}
            if overwriting:
                result["overwrite"] = True
            if dest:
                result["destinationId"] = dest
                if not new_copies:
                    result["createNewCopy"] = True
            results.append(result)
        answer: dict[str, Any] = {"successCount": len(results), "success": not errors, "warnings": []}
        if results:
            answer["successResults"] = results
        if errors:
            answer["errors"] = errors
        return self._json(answer)

    def _too_new(self, obj: dict[str, Any]) -> str | None:
        """The migrator's refusal of a document from a newer Kibana (what importing an 8.x export into 7.17 meets)."""
        latest = self._p["migration_versions"][obj["type"]]
        declared = obj.get("typeMigrationVersion") or (obj.get("migrationVersion") or {}).get(obj["type"])
        if declared and _version_tuple(declared) > _version_tuple(latest):
            return (f"Document \"{obj['id']}\" has property \"{obj['type']}\" which belongs to a more recent version of Kibana "
                    f"[{declared}]. The last known version is [{latest}]")
        core = obj.get("coreMigrationVersion")
        if core and _version_tuple(core)[0] > _version_tuple(self.version)[0]:
            return (f"Document \"{obj['id']}\" has a coreMigrationVersion [{core}] that is newer than this Kibana "
                    f"[{self._p['core_migration_version']}]")
        return None

    # ------------------------------------------------------------------ data views / index patterns
    def _dv_spec(self, doc: _Doc) -> dict[str, Any]:
        attrs = doc.attributes

        def loads(name: str, default: Any) -> Any:
            try:
                return json.loads(attrs[name]) if isinstance(attrs.get(name), str) else attrs.get(name, default) or default
            except ValueError:
                return default
        fields = self.field_specs(attrs.get("title", ""))
        for scripted in loads("fields", []):
            if isinstance(scripted, dict) and scripted.get("name"):
                fields[scripted["name"]] = scripted
        for rname, rfield in loads("runtimeFieldMap", {}).items():
            fields[rname] = {"count": 0, "name": rname, "type": ES_TO_KBN_TYPE.get(rfield.get("type", ""), "unknown"),
                             "esTypes": [rfield.get("type")], "scripted": False, "searchable": True, "aggregatable": True,
                             "readFromDocValues": False, "shortDotsEnable": False, "runtimeField": rfield}
        spec: dict[str, Any] = {"id": doc.id, "version": encode_version(doc.seq_no, doc.primary_term), "title": attrs.get("title")}
        if attrs.get("timeFieldName"):
            spec["timeFieldName"] = attrs["timeFieldName"]
        spec.update({"sourceFilters": loads("sourceFilters", []), "fields": fields, "typeMeta": loads("typeMeta", {}),
                     "fieldFormats": loads("fieldFormatMap", {}), "runtimeFieldMap": loads("runtimeFieldMap", {}),
                     "fieldAttrs": loads("fieldAttrs", {}), "allowNoIndex": bool(attrs.get("allowNoIndex"))})
        if self.is8:
            spec.update({"name": attrs.get("name", ""), "allowHidden": bool(attrs.get("allowHidden")), "namespaces": list(doc.namespaces)})
        return spec

    def _dv_create(self, req: _Request, key: str) -> Response:
        body = req.json()
        _expect(body, "object", "request body")
        _check_keys(body, ("override", "refresh_fields", key), "request body")
        override = body.get("override", False)
        _expect(override, "boolean", "request body.override")
        spec = body.get(key)
        _expect(spec, "object", f"request body.{key}")
        _expect(spec.get("title"), "string", f"request body.{key}.title")
        if not spec["title"]:
            raise _bad_request(f"[request body.{key}.title]: value has length [0] but it must have a minimum length of [1].")
        # dataViewSpecSchema (src/plugins/data_views/server/rest_api_routes/util/schemas.ts): no unknown keys; name since 8.4.
        allowed = DATA_VIEW_SPEC_KEYS + (("name", "namespaces", "allowHidden") if _version_tuple(self.version) >= (8, 4) else ())
        _check_keys(spec, allowed, f"request body.{key}")
        for opt, kind in (("id", "string"), ("name", "string"), ("timeFieldName", "string"), ("allowNoIndex", "boolean")):
            _expect(spec.get(opt), kind, f"request body.{key}.{opt}", required=False)
        # 8.x looks for a duplicate by name (falling back to title); 7.17 by title.
        wanted = (spec.get("name") or spec["title"]) if self.is8 else spec["title"]
        dupe = next((d for d in self._docs.values() if d.type == "index-pattern" and req.space in d.namespaces
                     and ((d.attributes.get("name") or d.attributes.get("title")) if self.is8 else d.attributes.get("title")) == wanted), None)
        if dupe is not None:
            if not override:
                label = "data view" if self.is8 else "index pattern"
                raise _bad_request(f"Duplicate {label}: {wanted}")
            del self._docs[self._key(req.space, "index-pattern", dupe.id)]
        attrs: dict[str, Any] = {"fieldAttrs": json.dumps(spec.get("fieldAttrs") or {}), "title": spec["title"]}
        if spec.get("timeFieldName"):
            attrs["timeFieldName"] = spec["timeFieldName"]
        attrs.update({"sourceFilters": json.dumps(spec.get("sourceFilters") or []), "fields": "[]",
                      "fieldFormatMap": json.dumps(spec.get("fieldFormats") or {}), "typeMeta": json.dumps(spec.get("typeMeta") or {}),
                      "runtimeFieldMap": json.dumps(spec.get("runtimeFieldMap") or {})})
        if spec.get("allowNoIndex"):
            attrs["allowNoIndex"] = True
        if self.is8:
            attrs["name"] = spec.get("name", "")
            attrs["allowHidden"] = bool(spec.get("allowHidden"))
        doc = self._write(req.space, "index-pattern", spec.get("id"), attrs, [], False)
        return self._json({key: self._dv_spec(doc)})

    def _dv_create_dv(self, req: _Request) -> Response:
        self._require(req, "all")
        return self._dv_create(req, "data_view")

    def _dv_create_ip(self, req: _Request) -> Response:
        self._require(req, "all")
        return self._dv_create(req, "index_pattern")

    def _dv_get(self, req: _Request, id_: str, key: str) -> Response:
        self._require(req, "read")
        doc = self._find_doc(req.space, "index-pattern", id_)
        if doc is None:
            raise _not_found("index-pattern", id_)
        return self._json({key: self._dv_spec(doc)})

    def _dv_get_dv(self, req: _Request, id_: str) -> Response:
        return self._dv_get(req, id_, "data_view")

    def _dv_get_ip(self, req: _Request, id_: str) -> Response:
        return self._dv_get(req, id_, "index_pattern")

    def _dv_delete(self, req: _Request, id_: str) -> Response:
        self._require(req, "all")
        if self._find_doc(req.space, "index-pattern", id_) is None:
            raise _not_found("index-pattern", id_)
        del self._docs[self._key(req.space, "index-pattern", id_)]
        return Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})

    def _dv_list(self, req: _Request) -> Response:
        self._require(req, "read")
        views = []
        for doc in self._docs.values():
            if doc.type == "index-pattern" and req.space in doc.namespaces:
                item: dict[str, Any] = {"id": doc.id, "namespaces": list(doc.namespaces), "title": doc.attributes.get("title")}
                type_meta = doc.attributes.get("typeMeta")
                if type_meta:
                    item["typeMeta"] = json.loads(type_meta) if isinstance(type_meta, str) else type_meta
                if doc.attributes.get("name"):
                    item["name"] = doc.attributes["name"]
                views.append(item)
        return self._json({"data_view": views})


def _status_text(status: int) -> str:
    """The reason phrase Node's http module gives a status (statusMessage)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _cookies(header: str) -> dict[str, str]:
    """The name=value pairs of a Cookie request header."""
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            found.setdefault(name, value)
    return found


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def _search_score(attributes: dict[str, Any], search: str, search_fields: list[str], operator: str) -> float:  # pylint: disable=too-many-locals
    """A simple_query_string match over text attributes: words, ``prefix*`` and ``-excluded``; OR unless AND is asked."""
    names = search_fields or [k for k, v in attributes.items() if isinstance(v, str)]
    words: list[str] = []
    for name in names:
        value = _get_path(attributes, name)
        if isinstance(value, str):
            words += _words(value)
    terms = [t for t in re.findall(r'"[^"]*"|\S+', search) if t not in ("|", "+", "OR", "AND")]
    matched, needed = 0, 0
    for term in terms:
        negate = term.startswith("-")
        term = term.lstrip("+-").strip('"')
        prefix = term.endswith("*")
        tokens = _words(term.rstrip("*"))
        if not tokens:
            if prefix:  # a bare '*' matches everything
                matched += 1
                needed += 1
            continue
        hit = all(any(w == t or (prefix and i == len(tokens) - 1 and w.startswith(t)) for w in words) for i, t in enumerate(tokens))
        if negate:
            if hit:
                return 0.0
            continue
        needed += 1
        matched += 1 if hit else 0
    if needed == 0:
        return 1.0
    if operator == "AND" and matched < needed:
        return 0.0
    return float(matched)


def _sort_by_references(docs: list[_Doc]) -> list[_Doc]:
    """sortObjects from the exporter: every object after the objects it references."""
    by_key = {(d.type, d.id): d for d in docs}
    ordered: dict[tuple[str, str], _Doc] = {}
    path: set[tuple[str, str]] = set()

    def include(doc: _Doc) -> None:
        key = (doc.type, doc.id)
        if key in ordered or key in path:
            return
        path.add(key)
        for ref in doc.references:
            target = by_key.get((ref["type"], ref["id"]))
            if target is not None:
                include(target)
        path.discard(key)
        ordered[key] = doc

    for doc in docs:
        include(doc)
    return list(ordered.values())


# ---------------------------------------------------------------------- broken objects
def _json_attributes(obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The parsed ``*JSON`` attributes of an object, and the names of those that do not parse."""
    parsed: dict[str, Any] = {}
    bad: list[str] = []
    attrs = obj.get("attributes") or {}
    for name in JSON_ATTRIBUTES:
        raw = _get_path(attrs, name)
        if raw is None:
            continue
        if not isinstance(raw, str):
            bad.append(name)
            continue
        try:
            parsed[name] = json.loads(raw) if raw.strip() else {}
        except ValueError:
            bad.append(name)
    return parsed, bad


def broken_objects(kibana: Kibana, space: str = "default") -> list[dict[str, str]]:  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
    """What Kibana would show as broken when rendering the objects of a space: a list of ``{type, id, reason}``.

    Reasons: a reference to a missing object; a ``*JSON`` attribute that does not parse; an ``indexRefName`` /
    ``savedSearchRefName`` / dashboard ``panelRefName`` that names no reference; a visualization aggregation on a field
    the data view lacks (or cannot aggregate); a saved search column or sort on a field the data view lacks.
    """
    objects = kibana.objects(space)
    by_key = {(o["type"], o["id"]): o for o in objects}
    problems: list[dict[str, str]] = []
    parsed_cache: dict[tuple[str, str], dict[str, Any]] = {}
    field_cache: dict[str, dict[str, dict[str, Any]]] = {}

    def report(obj: dict[str, Any], reason: str) -> None:
        problems.append({"type": obj["type"], "id": obj["id"], "reason": reason})

    def parsed_of(obj: dict[str, Any]) -> dict[str, Any]:
        key = (obj["type"], obj["id"])
        if key not in parsed_cache:
            parsed_cache[key] = _json_attributes(obj)[0]
        return parsed_cache[key]

    def ref_named(obj: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((r for r in obj.get("references") or [] if r.get("name") == name), None)

    def data_view_of(obj: dict[str, Any], depth: int = 0) -> dict[str, Any] | None:
        source = parsed_of(obj).get("kibanaSavedObjectMeta.searchSourceJSON") or {}
        if isinstance(source, dict) and source.get("indexRefName"):
            ref = ref_named(obj, source["indexRefName"])
            return by_key.get(("index-pattern", ref["id"])) if ref and ref.get("type") == "index-pattern" else None
        if isinstance(source, dict) and isinstance(source.get("index"), str):
            return by_key.get(("index-pattern", source["index"]))
        name = (obj.get("attributes") or {}).get("savedSearchRefName")
        if name and depth < 3:
            ref = ref_named(obj, name)
            search = by_key.get(("search", ref["id"])) if ref else None
            return data_view_of(search, depth + 1) if search else None
        return None

    def fields_of(view: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
        if kibana.es is None:
            return None
        title = (view.get("attributes") or {}).get("title", "")
        if view["id"] not in field_cache:
            fields = kibana.field_specs(title)
            attrs = view.get("attributes") or {}
            for extra in _loads_or(attrs.get("fields"), []):
                if isinstance(extra, dict) and extra.get("name"):
                    fields[extra["name"]] = {"aggregatable": True, **extra}
            for rname in _loads_or(attrs.get("runtimeFieldMap"), {}):
                fields[rname] = {"name": rname, "aggregatable": True}
            field_cache[view["id"]] = fields
        return field_cache[view["id"]]

    for obj in objects:
        attrs = obj.get("attributes") or {}
        for ref in obj.get("references") or []:
            if (ref.get("type"), ref.get("id")) not in by_key:
                report(obj, f"missing reference {ref.get('type')}/{ref.get('id')} ({ref.get('name')})")
        parsed, bad = _json_attributes(obj)
        for name in bad:
            report(obj, f"invalid JSON in {name}")
        source = parsed.get("kibanaSavedObjectMeta.searchSourceJSON")
        if isinstance(source, dict):
            if source.get("indexRefName") and ref_named(obj, source["indexRefName"]) is None:
                report(obj, f"indexRefName {source['indexRefName']} names no reference")
            if isinstance(source.get("index"), str) and not source.get("indexRefName") and ("index-pattern", source["index"]) not in by_key:
                report(obj, f"missing reference index-pattern/{source['index']} (searchSourceJSON.index)")
        if attrs.get("savedSearchRefName") and ref_named(obj, attrs["savedSearchRefName"]) is None:
            report(obj, f"savedSearchRefName {attrs['savedSearchRefName']} names no reference")
        if obj["type"] == "dashboard" and isinstance(parsed.get("panelsJSON"), list):
            for index, panel in enumerate(parsed["panelsJSON"]):
                if not isinstance(panel, dict):
                    continue
                ref_name = panel.get("panelRefName")
                if ref_name and ref_named(obj, ref_name) is None:
                    report(obj, f"panel {panel.get('panelIndex', index)} panelRefName {ref_name} names no reference")
                elif not ref_name and panel.get("id") and panel.get("type") and (panel["type"], panel["id"]) not in by_key:
                    report(obj, f"missing reference {panel['type']}/{panel['id']} (panel {panel.get('panelIndex', index)})")
        if obj["type"] not in ("visualization", "search"):
            continue
        view = data_view_of(obj)
        fields = fields_of(view) if view else None
        if fields is None or view is None:
            continue
        title = (view.get("attributes") or {}).get("title")
        if obj["type"] == "visualization" and isinstance(parsed.get("visState"), dict):
            for agg in parsed["visState"].get("aggs") or []:
                fname = (agg.get("params") or {}).get("field") if isinstance(agg, dict) else None
                if not isinstance(fname, str) or not fname:
                    continue
                if fname not in fields:
                    report(obj, f"aggregation {agg.get('id')} ({agg.get('type')}) on field {fname} missing from data view {title}")
                elif not fields[fname].get("aggregatable"):
                    report(obj, f"aggregation {agg.get('id')} ({agg.get('type')}) on field {fname} not aggregatable in data view {title}")
        if obj["type"] == "search":
            for column in attrs.get("columns") or []:
                if column != "_source" and column not in fields:
                    report(obj, f"column {column} missing from data view {title}")
            sort = attrs.get("sort") or []
            pairs = [sort] if sort and isinstance(sort[0], str) else sort
            for pair in pairs:
                if isinstance(pair, list) and pair and pair[0] not in ("_score", "_doc") and pair[0] not in fields:
                    report(obj, f"sort on field {pair[0]} missing from data view {title}")
    return problems


# ----------------------------------------------------------------------------------------- rendering a visualization
_KQL_CLAUSE = re.compile(r'^(not\s+)?([A-Za-z0-9_@.\[\]-]+)\s*:\s*(\*|"[^"]*"|[^\s"()]+)$')
# Kibana's date histogram intervals as the request it sends names them (useNormalizedEsInterval: one calendar unit).
_ES_INTERVALS = {"ms": ("fixed_interval", "1ms"), "s": ("calendar_interval", "1s"), "m": ("calendar_interval", "1m"),
                 "h": ("calendar_interval", "1h"), "d": ("calendar_interval", "1d"), "w": ("calendar_interval", "1w"),
                 "M": ("calendar_interval", "1M"), "y": ("calendar_interval", "1y"), "auto": ("fixed_interval", "30s")}


def kql_to_dsl(query: str) -> dict[str, Any]:
    """The Elasticsearch query Kibana sends for a KQL query of ``field: value`` / ``field: *`` clauses joined by one of
    ``and`` / ``or`` (optionally ``not``), as @kbn/es-query's toElasticsearchQuery writes them; raises ValueError for
    anything else (the emulator translates what the collection's searches use, not all of KQL)."""
    text = (query or "").strip()
    if not text:
        return {"match_all": {}}
    joiners = {j for j in ("and", "or") if re.search(rf"\s{j}\s", text, re.IGNORECASE)}
    if len(joiners) > 1 or "(" in text:
        raise ValueError(f"KQL the local Kibana does not translate: {query!r}")
    joiner = joiners.pop() if joiners else "and"
    clauses = []
    for part in re.split(rf"\s{joiner}\s", text, flags=re.IGNORECASE):
        match = _KQL_CLAUSE.match(part.strip())
        if not match:
            raise ValueError(f"KQL the local Kibana does not translate: {query!r}")
        negate, field_name, value = match.groups()
        inner = {"exists": {"field": field_name}} if value == "*" else \
            {"match_phrase" if value.startswith('"') else "match": {field_name: value.strip('"')}}
        clause = {"bool": {"should": [inner], "minimum_should_match": 1}}
        clauses.append({"bool": {"must_not": clause}} if negate else clause)
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"filter": clauses}} if joiner == "and" else {"bool": {"should": clauses, "minimum_should_match": 1}}


def visualization_request(kibana: Kibana, vis_id: str, space: str = "default",
                          time_range: tuple[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """(index pattern, search body) Kibana sends to render an aggregation-based visualization: its saved search's query
    and its own, the time range on the data view's time field, and its bucket aggregation as AggConfigs writes it
    (terms ordered by count, significant_terms, date_histogram per interval); the count metric is each bucket's
    doc_count. Raises ValueError when the visualization cannot be rendered."""
    by_key = {(o["type"], o["id"]): o for o in kibana.objects(space)}
    vis = by_key.get(("visualization", vis_id))
    if vis is None:
        raise ValueError(f"no visualization {vis_id}")
    queries, view, current = [], None, vis
    for _depth in range(3):
        parsed = _json_attributes(current)[0]
        source = parsed.get("kibanaSavedObjectMeta.searchSourceJSON") or {}
        if (source.get("query") or {}).get("query"):
            if source["query"].get("language", "kuery") != "kuery":
                raise ValueError(f"{current['type']}/{current['id']}: only KQL queries are rendered here")
            queries.append(kql_to_dsl(source["query"]["query"]))
        refs = {r.get("name"): r for r in current.get("references") or []}
        if source.get("indexRefName"):
            ref = refs.get(source["indexRefName"]) or {}
            view = by_key.get(("index-pattern", ref.get("id")))
            break
        search_ref = refs.get((current.get("attributes") or {}).get("savedSearchRefName")) or {}
        current = by_key.get(("search", search_ref.get("id")))
        if current is None:
            break
    if view is None:
        raise ValueError(f"visualization/{vis_id}: no data view")
    attrs = view.get("attributes") or {}
    filters = list(queries)
    if time_range and attrs.get("timeFieldName"):
        filters.append({"range": {attrs["timeFieldName"]: {"gte": time_range[0], "lte": time_range[1], "format": "strict_date_optional_time"}}})
    aggs: dict[str, Any] = {}
    for agg in (_json_attributes(vis)[0].get("visState") or {}).get("aggs") or []:
        params = agg.get("params") or {}
        if agg.get("type") == "count":
            continue
        if agg.get("type") == "terms":
            order_key = "_count" if str(params.get("orderBy", "1")) == "1" else "_key"
            aggs[agg["id"]] = {"terms": {"field": params["field"], "size": params.get("size", 5), "order": {order_key: params.get("order", "desc")}}}
        elif agg.get("type") == "significant_terms":
            aggs[agg["id"]] = {"significant_terms": {"field": params["field"], "size": params.get("size", 5)}}
        elif agg.get("type") == "date_histogram":
            key, value = _ES_INTERVALS[params.get("interval", "auto")]
            aggs[agg["id"]] = {"date_histogram": {"field": params["field"], key: value, "min_doc_count": params.get("min_doc_count", 1),
                                                  "time_zone": "UTC"}}
        else:
            raise ValueError(f"visualization/{vis_id}: aggregation {agg.get('type')} is not rendered here")
    return attrs.get("title", ""), {"size": 0, "track_total_hits": True, "query": {"bool": {"must": [], "filter": filters}}, "aggs": aggs}


def run_visualization(kibana: Kibana, vis_id: str, space: str = "default", time_range: tuple[str, str] | None = None) -> dict[str, Any]:
    """Elasticsearch's answer to the search that renders the visualization (``_shards.failures`` when some indices failed,
    as Kibana shows them beside partial data); raises EsError when Elasticsearch refuses it whole."""
    pattern, body = visualization_request(kibana, vis_id, space, time_range)
    return kibana.es.search(pattern, body)


def _loads_or(value: Any, default: Any) -> Any:
    if not isinstance(value, str):
        return value if value is not None else default
    try:
        return json.loads(value)
    except ValueError:
        return default


# ---------------------------------------------------------------------- HTTP server
FAULT_MESSAGES = {500: "An internal server error occurred.", 503: "Kibana server is not ready yet",
                  429: "Too Many Requests", 504: "Gateway Timeout"}


class KibanaServer(EngineServer):
    """A Kibana engine served over HTTP/1.1 (keep-alive), with the shared request log and faults."""

    engine: Kibana

    def fault_response(self, fault: Fault) -> tuple[int, bytes, dict[str, str]]:
        """An injected fault, worded as Kibana words that status."""
        response = Kibana._json({"statusCode": fault.status, "error": STATUS_TEXT.get(fault.status, "Error"),  # pylint: disable=protected-access
                                 "message": FAULT_MESSAGES.get(fault.status, "injected fault")}, fault.status)
        return response.status, response.body, response.headers

    def unknown_hook_response(self, path: str, method: str) -> tuple[int, bytes, dict[str, str]]:
        """Kibana's 404."""
        response = Kibana._json({"statusCode": 404, "error": "Not Found", "message": "Not Found"}, 404)  # pylint: disable=protected-access
        return response.status, response.body, response.headers
