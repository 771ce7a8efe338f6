"""An emulated Elasticsearch (7.17.25 or 8.15.3) for the local cluster: one node, HTTP, in memory.

``Elasticsearch`` is the engine (thread-safe, no sockets): indices with dynamic mapping and index
templates, the query DSL and aggregations the logging stack uses, cluster health following the
StatefulSet in the local cluster, and X-Pack security (users, API keys, service tokens, roles).
``ElasticsearchServer`` serves it over HTTP/1.1 with the shared request log and faults.

The official Python clients (``elasticsearch7``, ``elasticsearch8``) must not be able to tell it from
the real one: the ``X-Elastic-Product`` header, content negotiation with ``compatible-with``, error
bodies (``{"error": {"root_cause": [...], "type", "reason"}, "status"}``) and message texts follow
Elasticsearch. Documents are visible to search as soon as they are written (no refresh interval).
"""

from __future__ import annotations

import base64
import calendar
import copy
import datetime as dt
import fnmatch
import gzip
import hashlib
import json
import math
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

try:  # zoneinfo needs tzdata on some systems; fixed offsets work without it
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None  # type: ignore[assignment,misc]

from .hooks import EngineServer, Fault

PROFILES: dict[str, dict[str, str]] = {
    "7.17": {"number": "7.17.25", "build_hash": "f9b6b57d1d0f76e2d14291c04fb50abeb642cfbf", "build_date": "2024-10-16T22:06:36.904732810Z",
             "lucene_version": "8.11.3", "minimum_wire_compatibility_version": "6.8.0", "minimum_index_compatibility_version": "6.0.0-beta1",
             "index_created": "7172599"},
    "8": {"number": "8.15.3", "build_hash": "f97532e680b555c3a05e73a74c28afb666923018", "build_date": "2024-10-09T22:08:00.328917561Z",
          "lucene_version": "9.11.1", "minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0",
          "index_created": "8512000"},
}
TOTAL_FIELDS_LIMIT = 1000
MAX_RESULT_WINDOW = 10000
WWW_AUTHENTICATE = ['Basic realm="security" charset="UTF-8"', 'Bearer realm="security"', "ApiKey"]
TEXT_FIELDDATA = ("Text fields are not optimised for operations that require per-document field data like aggregations and sorting, "
                  "so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true "
                  "on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.")
SEARCH_KEYS = frozenset(("query", "size", "from", "sort", "_source", "aggs", "aggregations", "track_total_hits", "highlight", "fields",
                         "docvalue_fields", "stored_fields", "script_fields", "version", "seq_no_primary_term", "timeout", "terminate_after",
                         "min_score", "post_filter", "search_after", "explain", "runtime_mappings", "indices_boost", "collapse", "suggest",
                         "pit", "track_scores", "profile", "stats", "ext", "rescore"))


# ----------------------------------------------------------------------------------------- errors
class EsError(Exception):
    """An error Elasticsearch answers with ``{"error": {...}, "status": N}``.

    ``extra`` holds the exception's metadata (``index``, ``index_uuid``, ``resource.type``...), which
    Elasticsearch writes both in the root cause and in the error itself.
    """

    def __init__(self, status: int, etype: str, reason: str | None, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, root_cause: list[dict[str, Any]] | None = None,
                 caused_by: dict[str, Any] | None = None, error_fields: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.root_cause = root_cause
        self.caused_by = caused_by
        self.error_fields = dict(error_fields or {})

    def cause(self) -> dict[str, Any]:
        """The exception as one ``root_cause`` entry / bulk item ``error``."""
        return {"type": self.etype, "reason": self.reason, **self.extra}

    def body(self) -> dict[str, Any]:
        """The whole error answer."""
        error: dict[str, Any] = {"root_cause": self.root_cause if self.root_cause is not None else [self.cause()],
                                 "type": self.etype, "reason": self.reason, **self.extra, **self.error_fields}
        if self.caused_by is not None:
            error["caused_by"] = self.caused_by
        return {"error": error, "status": self.status}


def index_not_found(name: str) -> EsError:
    """404 ``index_not_found_exception`` for ``name``."""
    return EsError(404, "index_not_found_exception", f"no such index [{name}]",
                   {"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name})


def illegal_argument(reason: str) -> EsError:
    """400 ``illegal_argument_exception``."""
    return EsError(400, "illegal_argument_exception", reason)


def parsing_error(reason: str) -> EsError:
    """400 ``parsing_exception`` (Elasticsearch adds line/col from its parser; we have none)."""
    return EsError(400, "parsing_exception", reason, {"line": 1, "col": 1})


def _shard_failure(index: str, error: EsError) -> EsError:
    # A per-document failure found while searching comes back wrapped as "all shards failed".
    cause = error.cause()
    return EsError(error.status, "search_phase_execution_exception", "all shards failed", root_cause=[cause],
                   error_fields={"phase": "query", "grouped": True,
                                 "failed_shards": [{"shard": 0, "index": index, "node": "localcluster-node-id", "reason": cause}]},
                   caused_by={**cause, "caused_by": cause})


# ----------------------------------------------------------------------------------------- dates
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$")
_SLASH_DATE_RE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))? ([+-]\d{4})$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "H": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_date(value: Any) -> int | None:
    """Epoch milliseconds for a strict_date_optional_time string (or epoch millis number); None when it is no date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"-?\d+", text) and len(text) > 4:
        return int(text)
    match = _DATE_RE.match(text) or _SLASH_DATE_RE.match(text)
    if match is None:
        return None
    groups = match.groups()
    year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
    hour, minute, second = (int(g) if g else 0 for g in groups[3:6])
    frac = groups[6] if len(groups) > 7 else None
    zone = groups[-1]
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    millis = calendar.timegm(moment.timetuple()) * 1000 + (int((frac or "0").ljust(3, "0")[:3]))
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        millis -= sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0)) * 60_000
    return millis


def format_date(millis: int, zone: dt.tzinfo | None = None) -> str:
    """strict_date_optional_time as Elasticsearch prints it: millisecond precision, ``Z`` for UTC."""
    moment = dt.datetime.fromtimestamp(millis / 1000, tz=zone or dt.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}"
    offset = moment.utcoffset() or dt.timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _round_calendar(millis: int, unit: str, up: bool) -> int:
    moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.timezone.utc)
    start = _calendar_floor(moment, unit)
    if not up:
        return int(start.timestamp() * 1000)
    return int(_calendar_add(start, unit, 1).timestamp() * 1000) - 1


def _calendar_floor(moment: dt.datetime, unit: str) -> dt.datetime:
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "q":
        return moment.replace(month=(moment.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - dt.timedelta(days=day.weekday())
    if unit == "d":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in ("h", "H"):
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def _calendar_add(moment: dt.datetime, unit: str, amount: int) -> dt.datetime:
    if unit in ("y", "q", "M"):
        months = amount * {"y": 12, "q": 3, "M": 1}[unit]
        total = moment.year * 12 + moment.month - 1 + months
        year, month = divmod(total, 12)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        return moment.replace(year=year, month=month + 1, day=day)
    if unit == "w":
        return moment + dt.timedelta(weeks=amount)
    # wall-clock arithmetic in the zone, as Java's ZonedDateTime.plus does for days
    naive = moment.replace(tzinfo=None) + dt.timedelta(milliseconds=amount * _UNIT_MS[unit])
    return naive.replace(tzinfo=moment.tzinfo)


def date_math(expr: Any, now_ms: int, round_up: bool = False) -> int:
    """Resolve Elasticsearch date math (``now-15m``, ``now/d``, ``2018-03-01||+1M/d``) to epoch ms."""
    if not isinstance(expr, str):
        value = parse_date(expr)
        if value is None:
            raise illegal_argument(f"failed to parse date field [{expr}]")
        return value
    text = expr.strip()
    if text.startswith("now"):
        base, rest = now_ms, text[3:]
    elif "||" in text:
        anchor, rest = text.split("||", 1)
        parsed = parse_date(anchor)
        if parsed is None:
            raise _date_parse_error(expr)
        base = parsed
    else:
        parsed = parse_date(text)
        if parsed is None:
            raise _date_parse_error(expr)
        if round_up and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return parsed + 86_400_000 - 1  # a bare date as an upper bound covers its whole day
        return parsed
    value = base
    for match in re.finditer(r"([+-]\d*|/)([yMwdhHms]|ms)", rest):
        op, unit = match.groups()
        if op == "/":
            value = _round_calendar(value, unit, round_up)
        else:
            amount = int(op[1:] or 1) * (-1 if op[0] == "-" else 1)
            moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
            value = int(_calendar_add(moment, unit, amount).timestamp() * 1000) if unit in "yqMw" else value + amount * _UNIT_MS[unit]
    if re.sub(r"([+-]\d*|/)([yMwdhHms]|ms)", "", rest):
        raise _date_parse_error(expr)
    return value


def _date_parse_error(expr: str) -> EsError:
    return EsError(400, "parse_exception", f"failed to parse date field [{expr}] with format [strict_date_optional_time||epoch_millis]")


def _zone(name: str | None) -> dt.tzinfo:
    if not name or name in ("UTC", "Z", "+00:00", "Etc/UTC"):
        return dt.timezone.utc
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if match:
        delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return dt.timezone(delta if match.group(1) == "+" else -delta)
    if ZoneInfo is not None:
        try:
            return ZoneInfo(name)
        except Exception:  # pylint: disable=broad-except  # zoneinfo raises several kinds
            pass
    raise illegal_argument(f"Unknown time-zone ID: {name}")


# ----------------------------------------------------------------------------------------- analysis
_TOKEN_RE = re.compile(r"\w+(?:[.'\u2019]\w+)*")


def tokens(text: Any) -> list[str]:
    """Tokens as the standard analyzer makes them (roughly: lower-cased Unicode word runs, ``a.b`` kept together)."""
    if isinstance(text, bool):
        text = "true" if text else "false"
    return _TOKEN_RE.findall(str(text).lower())


# ----------------------------------------------------------------------------------------- mapping
def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dict):
        return "object"
    return "string"


def _dynamic_string_mapping() -> dict[str, Any]:
    return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


LEAF_TYPES = frozenset(("text", "keyword", "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "date",
                        "date_nanos", "boolean", "ip", "binary", "match_only_text", "wildcard", "constant_keyword", "flattened",
                        "unsigned_long", "geo_point", "version", "alias"))
NUMERIC_TYPES = frozenset(("long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"))


def _validate_mapping(props: dict[str, Any], prefix: str = "") -> None:
    for name, spec in props.items():
        if not isinstance(spec, dict):
            raise EsError(400, "mapper_parsing_exception", f"Expected map for property [fields] on field [{name}] but got a class java.lang.String")
        ftype = spec.get("type", "object" if "properties" in spec else None)
        if ftype is None:
            ftype = "object"
        if ftype not in LEAF_TYPES and ftype not in ("object", "nested"):
            raise EsError(400, "mapper_parsing_exception", f"No handler for type [{ftype}] declared on field [{name}]")
        if "properties" in spec:
            _validate_mapping(spec["properties"], prefix + name + ".")
        for sub, subspec in (spec.get("fields") or {}).items():
            _validate_mapping({sub: subspec}, prefix + name + ".")


def _merge_mapping(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge mapping ``extra`` into a copy of ``base`` (``properties`` recursively, other keys replaced)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(value, dict):
            props = out.setdefault("properties", {})
            for name, spec in value.items():
                if name in props and isinstance(spec, dict) and isinstance(props[name], dict):
                    old_type = props[name].get("type", "object")
                    new_type = spec.get("type", "object" if "properties" in spec else old_type)
                    if old_type != new_type:
                        raise illegal_argument(f"mapper [{name}] cannot be changed from type [{old_type}] to [{new_type}]")
                    props[name] = _merge_mapping(props[name], spec)
                else:
                    props[name] = copy.deepcopy(spec)
        elif key == "dynamic_templates" and isinstance(value, list):
            names = {next(iter(t)) for t in value if isinstance(t, dict) and t}
            kept = [t for t in out.get("dynamic_templates", []) if next(iter(t)) not in names]
            out["dynamic_templates"] = kept + copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _count_fields(props: dict[str, Any]) -> int:
    # Elasticsearch counts object mappers, field mappers and multi-fields alike against the limit.
    total = 0
    for spec in props.values():
        total += 1 + len(spec.get("fields") or {})
        if "properties" in spec:
            total += _count_fields(spec["properties"])
    return total


def _flat_fields(props: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every mapped field by full path; multi-fields carry ``_source_path`` (their parent's path)."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in props.items():
        path = prefix + name
        ftype = spec.get("type", "object")
        if "properties" in spec or ftype in ("object", "nested"):
            out[path] = {"type": ftype if ftype in ("object", "nested") else "object"}
            out.update(_flat_fields(spec.get("properties") or {}, path + "."))
            continue
        out[path] = {k: v for k, v in spec.items() if k != "fields"}
        for sub, subspec in (spec.get("fields") or {}).items():
            out[f"{path}.{sub}"] = {**subspec, "_source_path": path}
    return out


def flatten_source(source: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """Leaf values of a document by full path (dotted keys and nested objects alike; arrays flattened)."""
    out: dict[str, list[Any]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(sub, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, path)
        elif value is not None:
            out.setdefault(path, []).append(value)

    walk(source, prefix)
    return out


# ----------------------------------------------------------------------------------------- index
@dataclass
class _Doc:
    doc_id: str
    source: dict[str, Any]
    version: int
    seq_no: int
    flat: dict[str, list[Any]]
    size: int


@dataclass
class _Index:  # pylint: disable=too-many-instance-attributes
    name: str
    uuid: str
    settings: dict[str, Any]
    mappings: dict[str, Any]
    created: int
    aliases: dict[str, Any] = field(default_factory=dict)
    docs: dict[str, _Doc] = field(default_factory=dict)
    seq_no: int = -1
    deleted: int = 0
    _fields: dict[str, dict[str, Any]] | None = None

    def fields(self) -> dict[str, dict[str, Any]]:
        """Mapped fields by full path (cached until the mapping changes)."""
        if self._fields is None:
            self._fields = _flat_fields(self.mappings.get("properties") or {})
        return self._fields

    def set_mappings(self, mappings: dict[str, Any]) -> None:
        """Replace the mapping and drop the field cache."""
        self.mappings = mappings
        self._fields = None

    def replicas(self) -> int:
        """index.number_of_replicas as a number."""
        return int(self.settings.get("number_of_replicas", 1))

    def shards(self) -> int:
        """index.number_of_shards as a number."""
        return int(self.settings.get("number_of_shards", 1))

    def field_limit(self) -> int:
        """index.mapping.total_fields.limit."""
        return int(self.settings.get("mapping.total_fields.limit", TOTAL_FIELDS_LIMIT))


def _flat_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if isinstance(value, dict):
            out.update(_flat_settings(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return {(k[6:] if k.startswith("index.") else k): v for k, v in out.items()}


def _nest_settings(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value if isinstance(value, (str, list)) else (str(value).lower() if isinstance(value, bool) else str(value))
    return out


_BAD_INDEX_CHARS = '\\/*?"<>| ,#:'


def validate_index_name(name: str) -> None:
    """Raise ``invalid_index_name_exception`` as Elasticsearch does for a bad index name."""
    def bad(why: str) -> EsError:
        return EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {why}", {"index_uuid": "_na_", "index": name})
    if name != name.lower():
        raise bad("must be lowercase")
    if any(c in name for c in _BAD_INDEX_CHARS):
        raise bad('must not contain the following characters [\' \',\'"\',\'*\',\',\',\'/\',\'<\',\'>\',\'?\',\'\\\',\'|\']')
    if name[:1] in ("_", "-", "+"):
        raise bad("must not start with '_', '-', or '+'")
    if name in (".", ".."):
        raise bad("must not be '.' or '..'")
    if len(name.encode()) > 255:
        raise bad("index name is too long, (" + str(len(name.encode())) + " > 255)")


# ----------------------------------------------------------------------------------------- field values
def _coerce(ftype: str, value: Any, spec: dict[str, Any] | None = None) -> Any:
    """A source value as the field type indexes it; None when it does not fit."""
    if ftype in ("keyword", "constant_keyword", "wildcard", "version", "ip"):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if spec and len(text) > int(spec.get("ignore_above", 1 << 31)):
            return None
        return text
    if ftype in ("long", "integer", "short", "byte", "unsigned_long"):
        try:
            return int(float(value)) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
    if ftype in NUMERIC_TYPES:
        try:
            return float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
    if ftype in ("date", "date_nanos"):
        return parse_date(value)
    if ftype == "boolean":
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False, "": False}.get(str(value))
    return value


class _Ctx:
    """What evaluating a query or aggregation needs: the index (for its mapping) and the time of the request."""

    def __init__(self, index: _Index, now_ms: int, profile: str) -> None:
        self.index = index
        self.now_ms = now_ms
        self.profile = profile

    def spec(self, name: str) -> dict[str, Any] | None:
        """The mapping of a field, None when unmapped."""
        return self.index.fields().get(name)

    def values(self, doc: _Doc, name: str) -> tuple[str | None, list[Any]]:
        """(field type, indexed values) of one field of one document."""
        spec = self.spec(name)
        if spec is None:
            return None, []
        ftype = spec.get("type", "object")
        if ftype in ("object", "nested"):
            found = [v for path, vals in doc.flat.items() if path.startswith(name + ".") for v in vals]
            return ftype, found
        raw = doc.flat.get(spec.get("_source_path", name), [])
        if ftype in ("text", "match_only_text"):
            return ftype, raw
        out = [c for c in (_coerce(ftype, v, spec) for v in raw) if c is not None]
        return ftype, out

    def field_names(self, pattern: str) -> list[str]:
        """Mapped leaf fields matching a field-name pattern (``*``, ``output_fields.*``)."""
        if "*" not in pattern:
            return [pattern]
        return [n for n, s in self.index.fields().items() if fnmatch.fnmatchcase(n, pattern) and s.get("type") not in ("object", "nested")]


def _term_matches(ctx: _Ctx, doc: _Doc, name: str, value: Any, case_insensitive: bool = False) -> bool:
    ftype, vals = ctx.values(doc, name)
    if ftype is None:
        return False
    if ftype in ("text", "match_only_text"):
        wanted = str(value).lower() if case_insensitive else str(value)
        return any(wanted in tokens(v) for v in vals)
    target = _coerce(ftype, value)
    if target is None:
        return False
    if case_insensitive and isinstance(target, str):
        return any(str(v).lower() == target.lower() for v in vals)
    return target in vals


def _match_text(ctx: _Ctx, doc: _Doc, name: str, text: Any, operator: str = "or", minimum: Any = None) -> bool:
    ftype, vals = ctx.values(doc, name)
    if ftype is None:
        return False
    if ftype not in ("text", "match_only_text"):
        target = _coerce(ftype, text)
        return target is not None and target in vals
    wanted = tokens(text)
    if not wanted:
        return False
    have = {t for v in vals for t in tokens(v)}
    hits = sum(1 for t in wanted if t in have)
    if operator.lower() == "and":
        return hits == len(wanted)
    if minimum is not None:
        return hits >= _minimum_should_match(minimum, len(wanted))
    return hits > 0


def _phrase_matches(ctx: _Ctx, doc: _Doc, name: str, text: Any) -> bool:
    ftype, vals = ctx.values(doc, name)
    if ftype is None:
        return False
    if ftype not in ("text", "match_only_text"):
        target = _coerce(ftype, text)
        return target is not None and target in vals
    wanted = tokens(text)
    for value in vals:
        have = tokens(value)
        for start in range(len(have) - len(wanted) + 1):
            if have[start:start + len(wanted)] == wanted:
                return True
    return False


def _minimum_should_match(spec: Any, count: int) -> int:
    text = str(spec).strip()
    if text.endswith("%"):
        pct = int(text[:-1])
        value = int(count * abs(pct) / 100)
        return value if pct >= 0 else count - value
    number = int(text)
    return number if number >= 0 else max(count + number, 0)


def _wildcard_matches(ctx: _Ctx, doc: _Doc, name: str, pattern: str, case_insensitive: bool = False) -> bool:
    ftype, vals = ctx.values(doc, name)
    if ftype is None:
        return False
    candidates = [t for v in vals for t in tokens(v)] if ftype in ("text", "match_only_text") else [str(v) for v in vals]
    if case_insensitive:
        pattern = pattern.lower()
        candidates = [c.lower() for c in candidates]
    regex = re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.S)
    return any(regex.match(c) for c in candidates)


def _range_matches(ctx: _Ctx, doc: _Doc, name: str, bounds: dict[str, Any]) -> bool:
    ftype, vals = ctx.values(doc, name)
    if ftype is None or not vals:
        return False
    checks: list[tuple[str, Any]] = []
    for op in ("gte", "gt", "lte", "lt", "from", "to"):
        if op not in bounds or bounds[op] is None:
            continue
        real_op = {"from": "gte" if bounds.get("include_lower", True) else "gt",
                   "to": "lte" if bounds.get("include_upper", True) else "lt"}.get(op, op)
        raw = bounds[op]
        if ftype in ("date", "date_nanos"):
            value: Any = date_math(raw, ctx.now_ms, round_up=real_op in ("gt", "lte"))
        elif ftype in NUMERIC_TYPES:
            value = _coerce(ftype, raw)
            if value is None:
                raise EsError(400, "number_format_exception", f'For input string: "{raw}"')
        elif ftype in ("text", "match_only_text"):
            value = str(raw)
            vals = [t for v in vals for t in tokens(v)]
        else:
            value = _coerce(ftype, raw)
        checks.append((real_op, value))
    cmp = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}
    return any(all(cmp[op](v, bound) for op, bound in checks) for v in vals)


def _exists(ctx: _Ctx, doc: _Doc, name: str) -> bool:
    return any(ctx.values(doc, n)[1] for n in ctx.field_names(name))


def _single_field(kind: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, dict) or len(body) != 1:
        raise parsing_error(f"[{kind}] query doesn't support multiple fields, found [{', '.join(body)}]"
                            if isinstance(body, dict) and body else f"[{kind}] query malformed, no start_object after query name")
    return next(iter(body.items()))


def evaluate(query: dict[str, Any] | None, ctx: _Ctx, doc: _Doc) -> bool:  # pylint: disable=too-many-return-statements,too-many-branches
    """Whether ``doc`` matches the query DSL ``query``."""
    if query is None or query == {}:
        return True
    if not isinstance(query, dict) or len(query) != 1:
        raise parsing_error("[_na] query malformed, must start with start_object" if not isinstance(query, dict)
                            else f"[{next(iter(query))}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    kind, body = next(iter(query.items()))
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        return _bool_matches(body, ctx, doc)
    if kind == "constant_score":
        return evaluate(body.get("filter"), ctx, doc)
    if kind == "term":
        name, spec = _single_field(kind, body)
        value = spec.get("value") if isinstance(spec, dict) else spec
        return _term_matches(ctx, doc, name, value, bool(spec.get("case_insensitive")) if isinstance(spec, dict) else False)
    if kind == "terms":
        items = {k: v for k, v in body.items() if k != "boost"}
        name, values = _single_field(kind, items)
        if not isinstance(values, list):
            raise parsing_error(f"[terms] query does not support [{name}]")
        return any(_term_matches(ctx, doc, name, v) for v in values)
    if kind == "ids":
        return doc.doc_id in [str(v) for v in body.get("values", [])]
    if kind in ("match", "match_phrase", "match_phrase_prefix"):
        name, spec = _single_field(kind, body)
        text = spec.get("query") if isinstance(spec, dict) else spec
        if kind == "match":
            opts = spec if isinstance(spec, dict) else {}
            return _match_text(ctx, doc, name, text, str(opts.get("operator", "or")), opts.get("minimum_should_match"))
        return _phrase_matches(ctx, doc, name, text)
    if kind == "multi_match":
        names = [n for f in body.get("fields", ["*"]) for n in ctx.field_names(f.split("^")[0])]
        return any(_match_text(ctx, doc, n, body.get("query", ""), str(body.get("operator", "or"))) for n in names)
    if kind == "exists":
        return _exists(ctx, doc, str(body.get("field")))
    if kind == "range":
        name, bounds = _single_field(kind, body)
        return _range_matches(ctx, doc, name, bounds)
    if kind in ("prefix", "wildcard"):
        name, spec = _single_field(kind, body)
        value = str(spec.get("value", spec.get("wildcard", "")) if isinstance(spec, dict) else spec)
        pattern = value + "*" if kind == "prefix" else value
        return _wildcard_matches(ctx, doc, name, pattern, bool(spec.get("case_insensitive")) if isinstance(spec, dict) else False)
    if kind in ("query_string", "simple_query_string"):
        return _query_string_matches(body, ctx, doc)
    if kind == "dis_max":
        return any(evaluate(q, ctx, doc) for q in body.get("queries", []))
    if ctx.profile == "7.17":
        raise parsing_error(f"no [query] registered for [{kind}]")
    raise parsing_error(f"unknown query [{kind}]")


def _clauses(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _bool_matches(body: dict[str, Any], ctx: _Ctx, doc: _Doc) -> bool:
    unknown = set(body) - {"must", "filter", "should", "must_not", "minimum_should_match", "boost", "_name", "adjust_pure_negative"}
    if unknown:
        raise parsing_error(f"[bool] query does not support [{sorted(unknown)[0]}]")
    for clause in _clauses(body, "must") + _clauses(body, "filter"):
        if not evaluate(clause, ctx, doc):
            return False
    for clause in _clauses(body, "must_not"):
        if evaluate(clause, ctx, doc):
            return False
    should = _clauses(body, "should")
    if not should:
        return True
    if "minimum_should_match" in body:
        needed = _minimum_should_match(body["minimum_should_match"], len(should))
    else:
        # with a must/filter present, should clauses only score; alone, one must match
        needed = 0 if (_clauses(body, "must") or _clauses(body, "filter")) else 1
    if needed <= 0:
        return True
    return sum(1 for clause in should if evaluate(clause, ctx, doc)) >= needed


def _scores(query: dict[str, Any] | None) -> bool:
    """Whether a query scores (1.0) or only filters (0.0)."""
    if not query:
        return True
    kind, body = next(iter(query.items()))
    if kind == "constant_score":
        return True
    if kind == "bool":
        return bool(_clauses(body, "must") or _clauses(body, "should"))
    return True


# ----------------------------------------------------------------------------------------- query_string
_QS_TOKEN = re.compile(r'\s*(\(|\)|&&|\|\||!|"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|(?:[^\s()"\\]|\\.)+(?:"(?:[^"\\]|\\.)*")?)')


def _qs_tokenize(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        match = _QS_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip():
                raise _qs_error(text)
            break
        out.append(match.group(1))
        pos = match.end()
    # "field:" followed by a group or a range: glue them
    glued: list[str] = []
    for tok in out:
        if glued and glued[-1].endswith(":") and not glued[-1].endswith("\\:"):
            glued[-1] += tok
        else:
            glued.append(tok)
    return glued


def _qs_error(text: str) -> EsError:
    reason = f"Failed to parse query [{text}]"
    return EsError(400, "query_shard_exception", reason, {"index_uuid": "_na_", "index": "_na_"})


class _QsParser:
    """Lucene classic syntax, as far as saved searches use it: AND/OR/NOT, +/-, groups, field:value, phrases, ranges, wildcards."""

    def __init__(self, text: str, default_op: str) -> None:
        self.text = text
        self.toks = _qs_tokenize(text)
        self.pos = 0
        self.default_and = default_op.upper() == "AND"

    def parse(self) -> tuple:
        """The whole query as a tree of ("or"|"and", [...]), ("not", x), ("term", field, value)."""
        if not self.toks:
            return ("all",)
        node = self._or()
        if self.pos != len(self.toks):
            raise _qs_error(self.text)
        return node

    def _peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _or(self) -> tuple:
        parts = [self._and()]
        while self._peek() in ("OR", "||"):
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def _and(self) -> tuple:
        parts = [self._unary()]
        implicit: list[tuple] = []
        while True:
            tok = self._peek()
            if tok in ("AND", "&&"):
                self.pos += 1
                parts.append(self._unary())
            elif tok is not None and tok not in ("OR", "||", ")"):
                implicit.append(self._unary())
            else:
                break
        node = parts[0] if len(parts) == 1 else ("and", parts)
        if not implicit:
            return node
        if self.default_and:
            return ("and", [node] + implicit)
        return ("group", [node] + implicit)

    def _unary(self) -> tuple:
        tok = self._peek()
        if tok is None:
            raise _qs_error(self.text)
        if tok in ("NOT", "!"):
            self.pos += 1
            return ("not", self._unary())
        if tok.startswith("-") and len(tok) > 1:
            self.toks[self.pos] = tok[1:]
            return ("not", self._unary())
        if tok.startswith("+") and len(tok) > 1:
            self.toks[self.pos] = tok[1:]
            return ("req", self._unary())
        if tok == "(":
            self.pos += 1
            node = self._or()
            if self._peek() != ")":
                raise _qs_error(self.text)
            self.pos += 1
            return node
        self.pos += 1
        return self._term(tok)

    def _term(self, tok: str) -> tuple:
        fname, value = None, tok
        match = re.match(r"^((?:[^:\\\s]|\\.)+?):(.+)$", tok, re.S)
        if match and not tok.startswith('"'):
            fname, value = match.group(1).replace("\\", ""), match.group(2)
        if value.startswith("(") and value.endswith(")"):
            sub = _QsParser(value[1:-1], "AND" if self.default_and else "OR").parse()
            return ("field_group", fname, sub)
        if fname == "_exists_":
            return ("exists", value)
        if value[:1] in "[{" and value[-1:] in "]}":
            low, _to, high = value[1:-1].partition(" TO ")
            bounds: dict[str, Any] = {}
            if low.strip() not in ("*", ""):
                bounds["gte" if value[0] == "[" else "gt"] = low.strip().strip('"')
            if high.strip() not in ("*", ""):
                bounds["lte" if value[-1] == "]" else "lt"] = high.strip().strip('"')
            return ("range", fname, bounds)
        op_match = re.match(r"^(>=|<=|>|<)(.+)$", value)
        if op_match:
            return ("range", fname, {{">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}[op_match.group(1)]: op_match.group(2)})
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            return ("phrase", fname, value[1:-1].replace('\\"', '"'))
        return ("term", fname, re.sub(r"\\(.)", r"\1", value), bool(re.search(r"(?<!\\)[*?]", value)))


def _query_string_matches(body: dict[str, Any] | str, ctx: _Ctx, doc: _Doc) -> bool:
    if isinstance(body, str):
        body = {"query": body}
    text = str(body.get("query", ""))
    tree = _QsParser(text, str(body.get("default_operator", "or"))).parse()
    defaults = body.get("fields") or [body.get("default_field", "*")]
    return _qs_eval(tree, ctx, doc, [str(f).split("^", maxsplit=1)[0] for f in defaults])


def _qs_eval(node: tuple, ctx: _Ctx, doc: _Doc, fields: list[str]) -> bool:  # pylint: disable=too-many-return-statements
    kind = node[0]
    if kind == "all":
        return True
    if kind == "or":
        return any(_qs_eval(n, ctx, doc, fields) for n in node[1])
    if kind == "and":
        return all(_qs_eval(n, ctx, doc, fields) for n in node[1])
    if kind == "group":
        # Lucene: +required and -prohibited decide; plain clauses are optional unless nothing is required
        required = [n for n in node[1] if n[0] in ("req", "not")]
        optional = [n for n in node[1] if n[0] not in ("req", "not")]
        if not all(_qs_eval(n, ctx, doc, fields) for n in required):
            return False
        if any(n[0] == "req" for n in required) or not optional:
            return True
        return any(_qs_eval(n, ctx, doc, fields) for n in optional)
    if kind == "not":
        return not _qs_eval(node[1], ctx, doc, fields)
    if kind == "req":
        return _qs_eval(node[1], ctx, doc, fields)
    if kind == "exists":
        return _exists(ctx, doc, node[1])
    if kind == "field_group":
        return _qs_eval(node[2], ctx, doc, [node[1]] if node[1] else fields)
    names = [n for f in ([node[1]] if node[1] else fields) for n in ctx.field_names(f)]
    if kind == "range":
        return any(_lenient(lambda n: _range_matches(ctx, doc, n, node[2]), n) for n in names)
    if kind == "phrase":
        return any(_phrase_matches(ctx, doc, n, node[2]) for n in names)
    value, wild = node[2], node[3]
    if value == "*":
        return any(_exists(ctx, doc, n) for n in names) if node[1] else True
    if wild:
        return any(_wildcard_matches(ctx, doc, n, value, case_insensitive=True) for n in names)
    return any(_lenient(lambda n: _match_text(ctx, doc, n, value), n) for n in names)


def _lenient(check: Callable[[str], bool], name: str) -> bool:
    # query_string over many fields is lenient: a value that does not parse for a field just misses it
    try:
        return check(name)
    except EsError:
        return False


# ----------------------------------------------------------------------------------------- aggregations
_Pair = tuple[_Ctx, _Doc]
BUCKET_AGGS = ("terms", "significant_terms", "date_histogram", "histogram", "filter", "filters", "global", "missing")
METRIC_AGGS = ("value_count", "cardinality", "min", "max", "avg", "sum", "stats", "top_hits")
_CALENDAR_UNITS = {"1m": "m", "minute": "m", "1h": "h", "hour": "h", "1d": "d", "day": "d", "1w": "w", "week": "w",
                   "1M": "M", "month": "M", "1q": "q", "quarter": "q", "1y": "y", "year": "y", "1s": "s", "second": "s"}


def _agg_field_values(pairs: list[_Pair], name: str, agg: str) -> tuple[str | None, list[list[Any]]]:
    """(type, per-document values) for an aggregation on ``name``; text fields fail as without fielddata."""
    ftype: str | None = None
    out: list[list[Any]] = []
    for ctx, doc in pairs:
        spec = ctx.spec(name)
        if spec is not None:
            this_type = spec.get("type", "object")
            if this_type in ("text", "match_only_text") and not spec.get("fielddata"):
                raise _shard_failure(ctx.index.name, illegal_argument(TEXT_FIELDDATA.format(field=name)))
            if this_type in ("object", "nested"):
                raise _shard_failure(ctx.index.name, illegal_argument(
                    f"Field [{name}] of type [{this_type}] is not supported for aggregation [{agg}]"))
            ftype = ftype or this_type
        out.append(ctx.values(doc, name)[1] if spec is not None else [])
    return ftype, out


def _bucket_key(ftype: str | None, value: Any) -> dict[str, Any]:
    if ftype in ("date", "date_nanos"):
        return {"key": value, "key_as_string": format_date(value)}
    if ftype == "boolean":
        return {"key": 1 if value else 0, "key_as_string": "true" if value else "false"}
    return {"key": value}


def _order_buckets(buckets: list[dict[str, Any]], order: Any, default: list[tuple[str, str]]) -> list[dict[str, Any]]:
    specs: list[tuple[str, str]] = []
    for item in (order if isinstance(order, list) else [order] if order else []):
        specs.extend((str(k), str(v)) for k, v in item.items())
    if not any(k in ("_key", "_term") for k, _v in specs):
        specs = specs + [s for s in default if s[0] not in {k for k, _v in specs}]

    def value(bucket: dict[str, Any], key: str) -> Any:
        if key in ("_key", "_term"):
            return bucket["key"]
        if key == "_count":
            return bucket["doc_count"]
        agg, _dot, metric = key.partition(".")
        sub = bucket.get(agg.split(">")[0], {})
        got = sub.get(metric or "value") if isinstance(sub, dict) else None
        if got is None and "doc_count" in sub and not metric:
            got = sub["doc_count"]
        return got if got is not None else -math.inf

    out = list(buckets)
    for key, direction in reversed(specs):
        out.sort(key=lambda b, k=key: value(b, k), reverse=direction.lower() == "desc")
    return out


def _filter_terms(keys: Iterable[Any], spec: dict[str, Any]) -> list[Any]:
    include, exclude = spec.get("include"), spec.get("exclude")
    out = []
    for key in keys:
        text = str(key)
        if isinstance(include, list) and key not in include and text not in [str(i) for i in include]:
            continue
        if isinstance(include, str) and not re.fullmatch(include, text):
            continue
        if isinstance(exclude, list) and (key in exclude or text in [str(e) for e in exclude]):
            continue
        if isinstance(exclude, str) and re.fullmatch(exclude, text):
            continue
        out.append(key)
    return out


def _terms_agg(spec: dict[str, Any], pairs: list[_Pair], subs: dict[str, Any], env: _AggEnv) -> dict[str, Any]:
    name = spec.get("field")
    if not name:
        raise illegal_argument("Required one of fields [field, script], but none were specified. ")
    ftype, per_doc = _agg_field_values(pairs, name, "terms")
    groups: dict[Any, list[_Pair]] = {}
    for pair, vals in zip(pairs, per_doc):
        if not vals and "missing" in spec:
            vals = [_coerce(ftype or "keyword", spec["missing"])]
        for value in dict.fromkeys(vals):
            groups.setdefault(value, []).append(pair)
    size = int(spec.get("size", 10))
    min_count = int(spec.get("min_doc_count", 1))
    buckets = [{**_bucket_key(ftype, k), "doc_count": len(groups[k])} for k in _filter_terms(groups, spec) if len(groups[k]) >= min_count]
    by_key = {b["key"]: k for b, k in zip(buckets, [k for k in _filter_terms(groups, spec) if len(groups[k]) >= min_count])}
    for bucket in buckets:
        bucket.update(_aggregate(subs, groups[by_key[bucket["key"]]], env))
    ordered = _order_buckets(buckets, spec.get("order"), [("_count", "desc"), ("_key", "asc")])
    kept = ordered[:size]
    other = sum(b["doc_count"] for b in ordered[size:])
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": kept}


def _significant_terms_agg(spec: dict[str, Any], pairs: list[_Pair], subs: dict[str, Any], env: _AggEnv) -> dict[str, Any]:
    """JLH significance of each term: foreground = the documents in this bucket, background = all documents of the searched indices.

    An approximation of Elasticsearch's: one shard, exact counts, no background_filter, and buckets kept only when their
    score is positive and doc_count >= min_doc_count (default 3), as Elasticsearch's reduce does.
    """
    name = spec.get("field")
    ftype, per_doc = _agg_field_values(pairs, name, "significant_terms")
    _bg_type, bg_per_doc = _agg_field_values(env.background, name, "significant_terms")
    fg_counts: dict[Any, list[_Pair]] = {}
    for pair, vals in zip(pairs, per_doc):
        for value in dict.fromkeys(vals):
            fg_counts.setdefault(value, []).append(pair)
    bg_counts: dict[Any, int] = {}
    for vals in bg_per_doc:
        for value in dict.fromkeys(vals):
            bg_counts[value] = bg_counts.get(value, 0) + 1
    fg_size, bg_size = len(pairs), len(env.background)
    buckets = []
    for key in _filter_terms(fg_counts, spec):
        sub_df, sup_df = len(fg_counts[key]), bg_counts.get(key, 0)
        score = _jlh(sub_df, fg_size, sup_df, bg_size)
        if score > 0 and sub_df >= int(spec.get("min_doc_count", 3)):
            bucket = {**_bucket_key(ftype, key), "doc_count": sub_df, "score": score, "bg_count": sup_df}
            bucket.update(_aggregate(subs, fg_counts[key], env))
            buckets.append(bucket)
    buckets.sort(key=lambda b: (-b["score"], -b["doc_count"]))
    return {"doc_count": fg_size, "bg_count": bg_size, "buckets": buckets[:int(spec.get("size", 10))]}


def _jlh(subset_freq: int, subset_size: int, superset_freq: int, superset_size: int) -> float:
    if subset_size == 0 or superset_size == 0 or superset_freq == 0:
        return 0.0
    fg_pct = subset_freq / subset_size
    bg_pct = superset_freq / superset_size
    absolute_change = fg_pct - bg_pct
    if absolute_change <= 0:
        return 0.0
    return absolute_change * (fg_pct / bg_pct)


def _parse_fixed(text: str) -> int:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text))
    if match is None:
        raise illegal_argument(f"failed to parse setting [date_histogram.fixedInterval] with value [{text}] as a time value: "
                               "unit is missing or unrecognized")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _date_histogram_agg(spec: dict[str, Any], pairs: list[_Pair], subs: dict[str, Any],  # pylint: disable=too-many-locals,too-many-branches
                        env: _AggEnv) -> dict[str, Any]:
    name = spec.get("field")
    calendar_unit: str | None = None
    fixed_ms = 0
    if "interval" in spec or "date_histogram_interval" in spec:
        if env.profile != "7.17":
            raise EsError(400, "x_content_parse_exception", "[1:1] [date_histogram] unknown field [interval] did you mean [fixed_interval]?")
        env.warnings.append("[interval] on [date_histogram] is deprecated, use [fixed_interval] or [calendar_interval] in the future.")
        legacy = str(spec["interval"])
        if legacy in _CALENDAR_UNITS:
            calendar_unit = _CALENDAR_UNITS[legacy]
        else:
            fixed_ms = _parse_fixed(legacy)
    elif "calendar_interval" in spec:
        unit = _CALENDAR_UNITS.get(str(spec["calendar_interval"]))
        if unit is None:
            raise illegal_argument(f"The supplied interval [{spec['calendar_interval']}] could not be parsed as a calendar interval.")
        calendar_unit = unit
    elif "fixed_interval" in spec:
        fixed_ms = _parse_fixed(spec["fixed_interval"])
    else:
        raise illegal_argument("Invalid interval specified, must be non-null and non-empty")
    zone = _zone(spec.get("time_zone"))
    ftype, per_doc = _agg_field_values(pairs, name, "date_histogram")
    if ftype is not None and ftype not in ("date", "date_nanos"):
        raise _shard_failure(pairs[0][0].index.name,
                             illegal_argument(f"Field [{name}] of type [{ftype}] is not supported for aggregation [date_histogram]"))

    def floor(millis: int) -> int:
        if calendar_unit:
            local = dt.datetime.fromtimestamp(millis / 1000, tz=zone)
            return int(_calendar_floor(local, calendar_unit).timestamp() * 1000)
        offset = int((dt.datetime.fromtimestamp(millis / 1000, tz=zone).utcoffset() or dt.timedelta(0)).total_seconds() * 1000)
        return (millis + offset) // fixed_ms * fixed_ms - offset

    def step(key: int) -> int:
        if calendar_unit:
            local = dt.datetime.fromtimestamp(key / 1000, tz=zone)
            return int(_calendar_add(local, calendar_unit, 1).timestamp() * 1000)
        return key + fixed_ms

    groups: dict[int, list[_Pair]] = {}
    for pair, vals in zip(pairs, per_doc):
        for key in dict.fromkeys(floor(int(v)) for v in vals):
            groups.setdefault(key, []).append(pair)
    min_count = int(spec.get("min_doc_count", 0))
    keys = sorted(groups)
    bounds = spec.get("extended_bounds") or {}
    if min_count == 0 and (keys or bounds):
        low = [floor(date_math(bounds["min"], env.now_ms))] if "min" in bounds else []
        high = [floor(date_math(bounds["max"], env.now_ms))] if "max" in bounds else []
        start, end = min(keys + low), max(keys + high)
        keys, key = [], start
        while key <= end and len(keys) < 65536:
            keys.append(key)
            key = step(key)
    buckets = []
    for key in keys:
        members = groups.get(key, [])
        if len(members) < min_count:
            continue
        bucket = {"key_as_string": format_date(key, zone), "key": key, "doc_count": len(members)}
        bucket.update(_aggregate(subs, members, env))
        buckets.append(bucket)
    buckets = _order_buckets(buckets, spec.get("order"), [("_key", "asc")])
    return {"buckets": buckets}


def _histogram_agg(spec: dict[str, Any], pairs: list[_Pair], subs: dict[str, Any], env: _AggEnv) -> dict[str, Any]:
    interval = float(spec.get("interval", 0))
    if interval <= 0:
        raise illegal_argument(f"[interval] must be >0 for histogram aggregation [{spec.get('field')}]")
    _ftype, per_doc = _agg_field_values(pairs, spec.get("field"), "histogram")
    groups: dict[float, list[_Pair]] = {}
    for pair, vals in zip(pairs, per_doc):
        for key in dict.fromkeys(math.floor(float(v) / interval) * interval for v in vals):
            groups.setdefault(float(key), []).append(pair)
    min_count = int(spec.get("min_doc_count", 0))
    keys = sorted(groups)
    if min_count == 0 and keys:
        keys = [keys[0] + i * interval for i in range(int(round((keys[-1] - keys[0]) / interval)) + 1)]
    buckets = [{"key": k, "doc_count": len(groups.get(k, [])), **_aggregate(subs, groups.get(k, []), env)}
               for k in keys if len(groups.get(k, [])) >= min_count]
    return {"buckets": buckets}


def _metric_agg(kind: str, spec: dict[str, Any], pairs: list[_Pair]) -> dict[str, Any]:
    name = spec.get("field")
    if not name:
        raise illegal_argument("Required one of fields [field, script], but none were specified. ")
    ftype, per_doc = _agg_field_values(pairs, name, kind)
    if kind == "value_count":
        return {"value": sum(len(v) for v in per_doc)}
    if kind == "cardinality":
        return {"value": len({v for vals in per_doc for v in vals})}
    if ftype is not None and ftype not in NUMERIC_TYPES and ftype not in ("date", "date_nanos", "boolean"):
        raise _shard_failure(pairs[0][0].index.name if pairs else "_na_",
                             illegal_argument(f"Field [{name}] of type [{ftype}] is not supported for aggregation [{kind}]"))
    numbers = [float(v) for vals in per_doc for v in vals]
    if kind == "stats":
        return {"count": len(numbers), "min": min(numbers) if numbers else None, "max": max(numbers) if numbers else None,
                "avg": sum(numbers) / len(numbers) if numbers else None, "sum": float(sum(numbers))}
    value: float | None
    if kind == "sum":
        value = float(sum(numbers))
    elif not numbers:
        value = None
    else:
        value = {"min": min, "max": max, "avg": lambda n: sum(n) / len(n)}[kind](numbers)
    out: dict[str, Any] = {"value": value}
    if value is not None and ftype in ("date", "date_nanos"):
        out["value_as_string"] = format_date(int(value))
    return out


@dataclass
class _AggEnv:
    profile: str
    now_ms: int
    background: list[_Pair]
    warnings: list[str]
    hit_builder: Callable[[_Pair, dict[str, Any]], dict[str, Any]] | None = None


def _aggregate(aggs: dict[str, Any] | None, pairs: list[_Pair], env: _AggEnv) -> dict[str, Any]:  # pylint: disable=too-many-branches
    """Results of the aggregations ``aggs`` over the documents ``pairs``."""
    out: dict[str, Any] = {}
    for name, spec in (aggs or {}).items():
        if not isinstance(spec, dict):
            raise parsing_error(f"Expected [START_OBJECT] under [{name}], but got a [VALUE_STRING] in [{name}]")
        subs = spec.get("aggs") or spec.get("aggregations") or {}
        kinds = [k for k in spec if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1:
            if not kinds:
                raise parsing_error(f"Missing definition for aggregation [{name}]")
            raise parsing_error(f"Found two aggregation type definitions in [{name}]: [{kinds[0]}] and [{kinds[1]}]")
        kind, body = kinds[0], spec[kinds[0]]
        if kind == "terms":
            result = _terms_agg(body, pairs, subs, env)
        elif kind == "significant_terms":
            result = _significant_terms_agg(body, pairs, subs, env)
        elif kind == "date_histogram":
            result = _date_histogram_agg(body, pairs, subs, env)
        elif kind == "histogram":
            result = _histogram_agg(body, pairs, subs, env)
        elif kind == "filter":
            members = [p for p in pairs if evaluate(body, p[0], p[1])]
            result = {"doc_count": len(members), **_aggregate(subs, members, env)}
        elif kind == "filters":
            named = body.get("filters", {})
            items = named.items() if isinstance(named, dict) else enumerate(named)
            result_buckets: Any = {} if isinstance(named, dict) else []
            for key, query in items:
                members = [p for p in pairs if evaluate(query, p[0], p[1])]
                bucket = {"doc_count": len(members), **_aggregate(subs, members, env)}
                if isinstance(result_buckets, dict):
                    result_buckets[key] = bucket
                else:
                    result_buckets.append(bucket)
            result = {"buckets": result_buckets}
        elif kind == "global":
            result = {"doc_count": len(env.background), **_aggregate(subs, env.background, env)}
        elif kind == "missing":
            members = [p for p in pairs if not p[0].values(p[1], body.get("field"))[1]]
            result = {"doc_count": len(members), **_aggregate(subs, members, env)}
        elif kind == "top_hits":
            size = int(body.get("size", 3))
            ordered = _sort_pairs(pairs, body.get("sort"), env.profile)
            hits = [env.hit_builder(p, body) if env.hit_builder else {"_id": p[1].doc_id} for p in ordered[:size]]
            result = {"hits": {"total": {"value": len(pairs), "relation": "eq"}, "max_score": None, "hits": hits}}
        elif kind in METRIC_AGGS:
            result = _metric_agg(kind, body, pairs)
        else:
            raise EsError(400, "x_content_parse_exception", f"[1:1] Unknown aggregation type [{kind}]" if env.profile != "7.17"
                          else f"[1:1] Unknown aggregation type [{kind}] did you mean any of [terms]?")
        if "meta" in spec:
            result = {"meta": spec["meta"], **result}
        out[name] = result
    return out


# ----------------------------------------------------------------------------------------- sorting, _source
def _sort_specs(sort: Any) -> list[tuple[str, str, Any]]:
    """[(field, order, missing)] from every shape ``sort`` takes."""
    out = []
    for item in (sort if isinstance(sort, list) else [sort] if sort else []):
        if isinstance(item, str):
            fname, _colon, order = item.partition(":")
            out.append((fname, order or ("desc" if fname == "_score" else "asc"), "_last"))
        elif isinstance(item, dict):
            for fname, opts in item.items():
                if isinstance(opts, dict):
                    out.append((fname, str(opts.get("order", "desc" if fname == "_score" else "asc")), opts.get("missing", "_last")))
                else:
                    out.append((fname, str(opts), "_last"))
    return out


def _sort_pairs(pairs: list[_Pair], sort: Any, profile: str) -> list[_Pair]:  # pylint: disable=unused-argument
    specs = _sort_specs(sort)
    out = list(pairs)
    for fname, order, missing in reversed(specs):
        if fname in ("_score", "_doc"):
            continue
        for ctx, _doc in pairs:
            spec = ctx.spec(fname)
            if spec is not None and spec.get("type") in ("text", "match_only_text") and not spec.get("fielddata"):
                raise _shard_failure(ctx.index.name, illegal_argument(TEXT_FIELDDATA.format(field=fname)))
        desc = order.lower() == "desc"
        present = [p for p in out if p[0].values(p[1], fname)[1]]
        absent = [p for p in out if not p[0].values(p[1], fname)[1]]
        present.sort(key=lambda p, f=fname, d=desc: (max if d else min)(p[0].values(p[1], f)[1]), reverse=desc)
        out = absent + present if missing == "_first" else present + absent
    return out


def sort_values(pair: _Pair, sort: Any) -> list[Any]:
    """The ``sort`` array of one hit."""
    out: list[Any] = []
    for fname, order, _missing in _sort_specs(sort):
        if fname == "_score":
            out.append(1.0)
            continue
        if fname == "_doc":
            out.append(pair[1].seq_no)
            continue
        ftype, vals = pair[0].values(pair[1], fname)
        if not vals:
            out.append(-(2 ** 63) if order == "desc" and ftype in NUMERIC_TYPES | {"date"} else 2 ** 63 - 1 if ftype in NUMERIC_TYPES | {"date"} else None)
            continue
        value = (max if order == "desc" else min)(vals)
        out.append(int(value) if ftype in ("date", "date_nanos") else value)
    return out


def _path_matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") for p in patterns)


def _prefix_of_match(path: str, patterns: list[str]) -> bool:
    # keep an object when some include pattern may match below it
    return any(p.startswith(path + ".") or fnmatch.fnmatchcase(path, p.split(".")[0] if "." in p else p) or "*" in p.split(".")[0]
               for p in patterns)


def filter_source(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    """``_source`` filtering: false, a pattern, a list of patterns, or {includes, excludes}; None when _source is off."""
    if spec is None or spec is True:
        return source
    if spec is False:
        return None
    includes: list[str]
    excludes: list[str] = []
    if isinstance(spec, str):
        includes = [spec]
    elif isinstance(spec, list):
        includes = [str(s) for s in spec]
    else:
        inc = spec.get("includes", spec.get("include", []))
        exc = spec.get("excludes", spec.get("exclude", []))
        includes = [inc] if isinstance(inc, str) else list(inc)
        excludes = [exc] if isinstance(exc, str) else list(exc)

    def walk(obj: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            path = f"{prefix}{key}"
            if excludes and _path_matches(path, excludes):
                continue
            if isinstance(value, dict):
                if includes and _path_matches(path, includes):
                    sub = walk(value, path + ".") if excludes else value
                    out[key] = sub
                elif not includes or _prefix_of_match(path, includes):
                    sub = walk(value, path + ".")
                    if sub:
                        out[key] = sub
            elif not includes or _path_matches(path, includes):
                out[key] = value
        return out

    return walk(source, "")


# ----------------------------------------------------------------------------------------- dynamic mapping
def _detected_type(value: Any, date_detection: bool) -> str:
    kind = _json_type(value)
    if kind == "string" and date_detection and isinstance(value, str) and (
            re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", value) or _SLASH_DATE_RE.match(value)) and parse_date(value) is not None:
        return "date"
    return kind


def _template_mapping(templates: list[dict[str, Any]], name: str, path: str, detected: str) -> dict[str, Any] | None:
    for entry in templates:
        (_tname, spec), = entry.items()
        mmt = spec.get("match_mapping_type")
        mmt_list = mmt if isinstance(mmt, list) else [mmt] if mmt else []
        if mmt_list and "*" not in mmt_list and detected not in mmt_list:
            continue
        if detected == "object" and "object" not in mmt_list and spec.get("mapping", {}).get("type", "object") not in ("object", "nested"):
            continue  # a leaf mapping does not turn an object into a leaf
        regex = spec.get("match_pattern") == "regex"

        def hit(pattern: Any, text: str) -> bool:
            patterns = pattern if isinstance(pattern, list) else [pattern]
            return any(re.fullmatch(p, text) if regex else fnmatch.fnmatchcase(text, p) for p in patterns)
        if "match" in spec and not hit(spec["match"], name):
            continue
        if "unmatch" in spec and hit(spec["unmatch"], name):
            continue
        if "path_match" in spec and not hit(spec["path_match"], path):
            continue
        if "path_unmatch" in spec and hit(spec["path_unmatch"], path):
            continue
        dynamic_type = {"string": "text" if detected == "string" else detected, "double": "float"}.get(detected, detected)
        rendered = json.loads(json.dumps(spec.get("mapping", {})).replace("{name}", name).replace("{dynamic_type}", dynamic_type))
        if "type" not in rendered and detected != "object":
            rendered = {**_default_leaf(detected), **rendered}
        return rendered
    return None


def _default_leaf(detected: str) -> dict[str, Any]:
    if detected == "string":
        return _dynamic_string_mapping()
    return {"type": {"double": "float", "long": "long", "boolean": "boolean", "date": "date"}[detected]}


class _Mapper:
    """Applies one document to a copy of an index mapping, as dynamic mapping and field parsing do."""

    def __init__(self, index: _Index, doc_id: str, source: dict[str, Any], profile: str) -> None:
        self.mappings = copy.deepcopy(index.mappings)
        self.templates = self.mappings.get("dynamic_templates") or []
        self.date_detection = self.mappings.get("date_detection", True) is not False
        self.doc_id = doc_id
        self.profile = profile
        self.compact = json.dumps(source, separators=(",", ":"))

    def fail(self, path: str, ftype: str, value: Any, cause: str = "illegal_argument_exception") -> EsError:
        """A field value the mapping cannot take."""
        preview = value if not isinstance(value, dict) else "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
        preview = ("true" if preview else "false") if isinstance(preview, bool) else preview
        reason = f"failed to parse field [{path}] of type [{ftype}] in document with id '{self.doc_id}'. Preview of field's value: '{preview}'"
        caused = {"type": cause, "reason": f'For input string: "{value}"' if cause == "number_format_exception" else
                  f"failed to parse date field [{value}] with format [strict_date_optional_time||epoch_millis]" if ftype == "date" else
                  f"Failed to parse value [{value}] as only [true] or [false] are allowed." if ftype == "boolean" else "Cannot parse value"}
        return self.error(reason, path, caused)

    def error(self, reason: str, path: str, caused: dict[str, Any] | None = None, key: str | None = None) -> EsError:
        """mapper_parsing_exception (7.17) / document_parsing_exception (8) with the JSON location 8.x adds (of ``key`` as the
        document wrote it, by default the last part of ``path``)."""
        if self.profile == "7.17":
            return EsError(400, "mapper_parsing_exception", reason, caused_by=caused)
        key = '"' + (key or path.rsplit(".", 1)[-1]) + '":'
        col = self.compact.find(key)
        location = f"[1:{col + len(key) + 1 if col >= 0 else 1}] "
        return EsError(400, "document_parsing_exception", location + reason, caused_by=caused)

    def apply(self, source: dict[str, Any]) -> dict[str, Any]:
        """The mapping after this document (raises for values that do not fit)."""
        dynamic = self.mappings.get("dynamic", True)
        self._object(self.mappings.setdefault("properties", {}), source, "", dynamic)
        return self.mappings

    def _object(self, props: dict[str, Any], obj: dict[str, Any], prefix: str, dynamic: Any) -> None:
        for key, value in obj.items():
            parts = str(key).split(".")
            if any(p == "" for p in parts):
                raise illegal_argument(f"field name cannot contain only whitespace: ['{key}']" if not str(key).strip()
                                       else f"object field starting or ending with a [.] makes object resolution ambiguous: [{key}]")
            node, node_dynamic, path = props, dynamic, prefix
            for part in parts[:-1]:
                path = path + part + "."
                node, node_dynamic = self._child_object(node, part, path[:-1], node_dynamic, str(key))
                if node is None:
                    break
            if node is None:
                continue
            self._value(node, parts[-1], value, path + parts[-1], node_dynamic, str(key))

    def _child_object(self, props: dict[str, Any], name: str, path: str, dynamic: Any,
                      field_name: str = "") -> tuple[dict[str, Any] | None, Any]:
        spec = props.get(name)
        if spec is None:
            if not self._may_add(path, dynamic):
                return None, dynamic
            spec = props[name] = _template_mapping(self.templates, name, path, "object") or {}
            spec.pop("type", None) if spec.get("type") == "object" else None
            spec.setdefault("properties", {})
        if spec.get("type", "object") not in ("object", "nested"):
            # DocumentParser: the key as the document wrote it, the existing field by its full path; mapper_parsing_exception
            # (7.17), document_parsing_exception with the JSON location (8.x). The bulk item fails with a 400.
            written = field_name or path.rsplit(".", 1)[-1] + ".x"
            raise self.error(f"Could not dynamically add mapping for field [{written}]. Existing mapping for [{path}] "
                             f"must be of type object but found [{spec.get('type')}].", path, key=written)
        return spec.setdefault("properties", {}), spec.get("dynamic", dynamic)

    def _may_add(self, path: str, dynamic: Any) -> bool:
        if str(dynamic).lower() == "strict":
            parent, _dot, leaf = path.rpartition(".")
            raise EsError(400, "strict_dynamic_mapping_exception",
                          f"[{'_doc' if not parent else parent}] mapping set to strict, dynamic introduction of [{leaf}] within "
                          f"[{'_doc' if not parent else parent}] is not allowed" if self.profile != "7.17" else
                          f"mapping set to strict, dynamic introduction of [{leaf}] within [{parent or '_doc'}] is not allowed")
        return str(dynamic).lower() not in ("false", "runtime")

    def _value(self, props: dict[str, Any], name: str, value: Any, path: str, dynamic: Any, written: str = "") -> None:
        if value is None:
            return
        if isinstance(value, list):
            for item in value:
                self._value(props, name, item, path, dynamic, written)
            return
        spec = props.get(name)
        if isinstance(value, dict):
            if spec is not None and spec.get("type", "object") not in ("object", "nested"):
                if spec.get("type") in ("flattened", "geo_point"):
                    return
                raise self.fail(path, spec.get("type"), value)
            child, child_dynamic = self._child_object(props, name, path, dynamic)
            if child is not None:
                self._object(child, value, path + ".", child_dynamic)
            return
        if spec is None:
            if not self._may_add(path, dynamic):
                return
            detected = _detected_type(value, self.date_detection)
            props[name] = _template_mapping(self.templates, name, path, detected) or _default_leaf(detected)
            return
        ftype = spec.get("type", "object")
        if ftype in ("object", "nested"):
            raise self.error(f"object mapping for [{path}] tried to parse field [{written or name}] as object, but found a concrete value", path,
                             key=written or name)
        if spec.get("ignore_malformed"):
            return
        if ftype in NUMERIC_TYPES and _coerce(ftype, value) is None:
            raise self.fail(path, ftype, value, "number_format_exception")
        if ftype in ("date", "date_nanos") and parse_date(value) is None:
            raise self.fail(path, ftype, value)
        if ftype == "boolean" and _coerce(ftype, value) is None:
            raise self.fail(path, ftype, value)


# ----------------------------------------------------------------------------------------- security
CLUSTER_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "monitor": ("cluster:monitor/*",),
    "manage_index_templates": ("indices:admin/template/*", "indices:admin/index_template/*", "cluster:admin/component_template/*"),
    "manage_ilm": ("cluster:admin/ilm/*",),
    "manage_pipeline": ("cluster:admin/ingest/pipeline/*",),
    "manage_own_api_key": ("cluster:admin/xpack/security/api_key/*",),
    "manage_api_key": ("cluster:admin/xpack/security/api_key/*",),
    "manage_service_account": ("cluster:admin/xpack/security/service_account/*",),
    "manage_security": ("cluster:admin/xpack/security/*",),
    "manage": ("cluster:monitor/*", "cluster:admin/settings/*", "cluster:admin/ilm/*", "cluster:admin/ingest/*", "indices:admin/template/*",
               "indices:admin/index_template/*"),
    "all": ("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"),
}
_AUTO_CREATE = "indices:admin/auto_create"
INDEX_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "read": ("indices:data/read/*",),
    "view_index_metadata": ("indices:admin/get", "indices:admin/mappings/get", "indices:admin/mappings/fields/get", "indices:admin/aliases/get",
                            "indices:monitor/settings/get", "indices:admin/resolve/index"),
    "monitor": ("indices:monitor/*",),
    "maintenance": ("indices:admin/refresh*", "indices:admin/flush*", "indices:admin/forcemerge*"),
    # As IndexPrivilege.java: the document privileges do not auto-create an index; create_index / auto_configure do.
    "create_doc": ("indices:data/write/index", "indices:data/write/bulk*"),
    "create": ("indices:data/write/index", "indices:data/write/bulk*"),
    "index": ("indices:data/write/index", "indices:data/write/bulk*", "indices:data/write/update*"),
    "delete": ("indices:data/write/delete*", "indices:data/write/bulk*"),
    "write": ("indices:data/write/*",),
    "auto_configure": (_AUTO_CREATE,),  # listed first: 403 messages name it before create_index, as real ES does
    "create_index": ("indices:admin/create", _AUTO_CREATE),
    "delete_index": ("indices:admin/delete",),
    "manage": ("indices:admin/*", "indices:monitor/*"),
    "all": ("indices:*",),
}
BUILTIN_ROLES: dict[str, dict[str, Any]] = {
    "superuser": {"cluster": ["all"], "indices": [{"names": ["*"], "privileges": ["all"], "allow_restricted_indices": True}], "run_as": ["*"]},
    "kibana_system": {"cluster": ["monitor", "manage_index_templates", "manage_ilm", "manage_pipeline", "manage_own_api_key"],
                      "indices": [{"names": [".kibana*", ".reporting-*", ".apm-*", ".fleet*", ".monitoring-*", ".alerts*", ".internal.alerts*"],
                                   "privileges": ["all"], "allow_restricted_indices": True},
                                  {"names": ["*"], "privileges": ["view_index_metadata", "monitor"]}]},
    "viewer": {"cluster": [], "indices": [{"names": ["/~(([.]|ilm-history-).*)/"], "privileges": ["read", "view_index_metadata"]}]},
    "editor": {"cluster": [], "indices": [{"names": ["/~(([.]|ilm-history-).*)/"], "privileges": ["read", "view_index_metadata"]}]},
    "kibana_admin": {"cluster": [], "indices": []},
    "ingest_admin": {"cluster": ["manage_index_templates", "manage_pipeline"], "indices": []},
    "logstash_system": {"cluster": ["monitor"], "indices": []},
    "beats_system": {"cluster": ["monitor"], "indices": []},
    "monitoring_user": {"cluster": [], "indices": [{"names": [".monitoring-*"], "privileges": ["read"]}]},
}
RESERVED_USERS = {"elastic": ["superuser"], "kibana_system": ["kibana_system"], "kibana": ["kibana_system"], "logstash_system": ["logstash_system"],
                  "beats_system": ["beats_system"], "apm_system": ["apm_system"], "remote_monitoring_user": ["remote_monitoring_collector"]}
SERVICE_ACCOUNTS = {"elastic/kibana": "kibana_system", "elastic/fleet-server": "superuser"}


def _action_matches(action: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(action, p) for p in patterns)


def _index_name_matches(name: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern == "/~(([.]|ilm-history-).*)/":
            if not (name.startswith(".") or name.startswith("ilm-history-")):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False


@dataclass
class Principal:
    """An authenticated subject: what ``_authenticate`` shows and the role descriptors that bound it."""
    info: dict[str, Any]
    roles: list[dict[str, Any]]
    limited_by: list[dict[str, Any]] | None = None

    @property
    def username(self) -> str:
        """The user name (``elastic/kibana`` for a service account)."""
        return str(self.info.get("username"))

    def _grants(self, roles: list[dict[str, Any]], action: str, index: str | None) -> bool:
        for role in roles:
            if index is None:
                if any(_action_matches(action, CLUSTER_PRIVILEGES.get(p, (p,))) for p in role.get("cluster", [])):
                    return True
                continue
            for entry in role.get("indices", []):
                names = entry.get("names", [])
                names = [names] if isinstance(names, str) else names
                if _index_name_matches(index, names) and any(_action_matches(action, INDEX_PRIVILEGES.get(p, (p,))) for p in entry.get("privileges", [])):
                    return True
        return False

    def allowed(self, action: str, index: str | None = None) -> bool:
        """Whether the roles (and an API key's limits) grant ``action`` (on ``index`` for index actions)."""
        if not self._grants(self.roles, action, index):
            return False
        return self.limited_by is None or self._grants(self.limited_by, action, index)


def _granting(action: str, index_level: bool) -> list[str]:
    table = INDEX_PRIVILEGES if index_level else CLUSTER_PRIVILEGES
    return [name for name, patterns in table.items() if _action_matches(action, patterns) and name not in ("manage_own_api_key",)]


# ----------------------------------------------------------------------------------------- the engine
@dataclass
class Response:
    """An HTTP answer: status, body bytes, headers."""
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body) if self.body else None


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    compat: int | None
    principal: Principal | None = None
    warnings: list[str] = field(default_factory=list)

    def json(self, required: bool = False) -> Any:
        """The body as JSON ({} when empty unless required)."""
        if not self.body.strip():
            if required:
                raise parsing_error("request body is required")
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise EsError(400, "x_content_parse_exception",
                          f"[1:{getattr(exc, 'colno', 1)}] Unexpected character: {getattr(exc, 'msg', exc)}") from exc

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (present without value means true)."""
        if name not in self.query:
            return default
        return self.query[name] in ("", "true")


_ROUTES: list[tuple[str, str, str]] = []


def _route(methods: str, pattern: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        _ROUTES.append((methods, pattern, func.__name__))
        return func
    return register


def _format_bytes(count: int) -> str:
    for unit, size in (("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)):
        if count >= size:
            text = f"{count / size:.1f}"
            return (text[:-2] if text.endswith(".0") else text) + unit
    return f"{count}b"


def _parse_time(value: str | None, default: float) -> float:
    if value is None or value == "":
        return default
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|nanos|micros)?", value.strip())
    if match is None:
        raise illegal_argument(f"failed to parse setting [timeout] with value [{value}] as a time value: unit is missing or unrecognized")
    number, unit = int(match.group(1)), match.group(2) or "ms"
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "nanos": 1e-9, "micros": 1e-6}[unit]


class Elasticsearch:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """One Elasticsearch node in memory; ``handle`` answers REST requests, the other methods serve in-process callers."""

    def __init__(self, profile: str = "8", security: bool | None = None, elastic_password: str = "changeme",
                 health: Callable[[], tuple[int, int] | None] | None = None, cluster_name: str = "elasticsearch-logging",
                 clock: Callable[[], float] = time.time) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown Elasticsearch profile {profile!r}; known: {sorted(PROFILES)}")
        self.profile = profile
        self.info = PROFILES[profile]
        self.version = self.info["number"]
        self.security = (profile != "7.17") if security is None else bool(security)
        self.health = health if health is not None else (lambda: (1, 1))
        self.cluster_name = cluster_name
        self.clock = clock  # "now" in date math and range queries
        self.cluster_uuid = base64.urlsafe_b64encode(hashlib.sha256(cluster_name.encode()).digest()[:16]).decode().rstrip("=")
        self.node_name = f"{cluster_name}-0"
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._indices: dict[str, _Index] = {}
        self._templates: dict[str, dict[str, Any]] = {}
        self._component_templates: dict[str, dict[str, Any]] = {}
        self._legacy_templates: dict[str, dict[str, Any]] = {}
        self._cluster_settings: dict[str, dict[str, Any]] = {"persistent": {}, "transient": {}}
        self._users: dict[str, dict[str, Any]] = {name: {"username": name, "roles": roles, "full_name": None, "email": None,
                                                         "metadata": {"_reserved": True}, "enabled": True,
                                                         "password": elastic_password if name == "elastic" else None}
                                                  for name, roles in RESERVED_USERS.items()}
        self._roles: dict[str, dict[str, Any]] = {}
        self._initial_elastic_password = elastic_password
        # What the node's own files configure (elasticsearch.yml, users/users_roles, roles.yml): see configure_security.
        self._file_users: dict[str, dict[str, Any]] = {}
        self._file_roles: dict[str, dict[str, Any]] = {}
        self._anonymous: dict[str, Any] | None = None
        self._bootstrap_password: str | None = None
        self._api_keys: dict[str, dict[str, Any]] = {}
        self._service_tokens: dict[str, dict[str, Any]] = {}
        self._seq = 0

    # ------------------------------------------------------------------ in-process API
    def index_documents(self, index: str, docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Index documents with generated ids into ``index`` (auto-created), as one bulk request; the bulk items."""
        items = []
        with self._lock:
            for doc in docs:
                try:
                    items.append({"index": self._write(index, None, doc, "index")})
                except EsError as err:
                    items.append({"index": {"_index": index, "_id": None, "status": err.status, "error": err.cause()}})
            self._changed.notify_all()
        return items

    def search(self, pattern: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        """What ``POST /<pattern>/_search`` answers for ``body`` (raises EsError for what it would refuse)."""
        return self._search(pattern, body or {}, params or {}, [])

    def count(self, pattern: str, query: dict[str, Any] | None = None) -> int:
        """Number of documents in ``pattern`` matching ``query``."""
        with self._lock:
            now = int(self.clock() * 1000)
            return sum(1 for ctx, doc in self._pairs(self._resolve(pattern, {}), now) if evaluate(query, ctx, doc))

    def field_caps(self, pattern: str) -> dict[str, dict[str, Any]]:
        """{field: {type, searchable, aggregatable}} over the indices of ``pattern`` (object parents left out)."""
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            try:
                names = self._resolve(pattern, {"ignore_unavailable": "true"})
            except EsError:
                return {}
            for name in names:
                for fname, spec in self._indices[name].fields().items():
                    ftype = spec.get("type", "object")
                    if ftype in ("object", "nested"):
                        continue
                    aggregatable = ftype not in ("text", "match_only_text", "binary") or bool(spec.get("fielddata"))
                    searchable = spec.get("index", True) is not False and ftype != "binary"
                    current = out.get(fname)
                    if current is not None and current["type"] != ftype:
                        current["type"] = "conflict"
                        continue
                    out[fname] = {"type": ftype, "searchable": searchable, "aggregatable": aggregatable}
        return out

    def resolve_names(self, pattern: str) -> list[str]:
        """The indices ``pattern`` names (missing ones ignored), as a search or _field_caps resolves it."""
        with self._lock:
            try:
                return self._resolve(pattern, {"ignore_unavailable": "true"})
            except EsError:
                return []

    def field_capabilities(self, names: list[str], patterns: list[str] | None = None, include_unmapped: bool = False) -> dict[str, Any]:
        """The ``fields`` of a ``_field_caps`` answer over the indices ``names``, as FieldCapabilities builds it: one entry per
        type; ``indices`` only when the field's type differs across indices; ``non_searchable_indices`` /
        ``non_aggregatable_indices`` when those differ within a type; an ``unmapped`` entry (``include_unmapped``) for the
        indices without the field."""
        patterns = patterns or ["*"]
        per_index = {name: {f: c for f, c in self.field_caps(name).items() if any(fnmatch.fnmatchcase(f, p) for p in patterns)}
                     for name in names}
        caps: dict[str, dict[str, Any]] = {}
        for fname in sorted({f for fields in per_index.values() for f in fields}):
            by_type: dict[str, list[str]] = {}
            for name in names:
                cap = per_index[name].get(fname)
                by_type.setdefault(cap["type"] if cap else "unmapped", []).append(name)
            if not include_unmapped:
                by_type.pop("unmapped", None)
            entries: dict[str, Any] = {}
            for ftype, indices in by_type.items():
                caps_of = [per_index[n].get(fname) or {"searchable": False, "aggregatable": False} for n in indices]
                entry = {"type": ftype, "metadata_field": False, "searchable": all(c["searchable"] for c in caps_of),
                         "aggregatable": all(c["aggregatable"] for c in caps_of)}
                if len(by_type) > 1:
                    entry["indices"] = indices
                for key in ("searchable", "aggregatable"):
                    if any(c[key] for c in caps_of) and not entry[key] and ftype != "unmapped":
                        entry[f"non_{key}_indices"] = [n for n, c in zip(indices, caps_of) if not c[key]]
                entries[ftype] = entry
            caps[fname] = entries
        return caps

    def authenticate(self, authorization_header: str | None) -> dict[str, Any] | None:
        """What ``GET /_security/_authenticate`` returns for these credentials; None when they do not authenticate."""
        if not self.security:
            return {"username": "_anonymous", "roles": ["superuser"], "full_name": None, "email": None, "metadata": {}, "enabled": True,
                    "authentication_realm": {"name": "__anonymous", "type": "__anonymous"},
                    "lookup_realm": {"name": "__anonymous", "type": "__anonymous"}, "authentication_type": "anonymous"}
        principal = self._principal(authorization_header or "")
        return copy.deepcopy(principal.info) if principal is not None else None

    def configure_security(self, enabled: bool | None = None, elastic_bootstrap_password: str | None = None,
                           file_users: dict[str, dict[str, Any]] | None = None, file_roles: dict[str, dict[str, Any]] | None = None,
                           anonymous: dict[str, Any] | None = None) -> None:
        """Apply what the node's configuration files and environment say, all at once, as a (re)started node reads them.

        ``enabled``: xpack.security.enabled (None keeps the current value, the profile's default at first).
        ``elastic_bootstrap_password``: ELASTIC_PASSWORD; only the first one ever seen sets elastic's password (real ES uses it
        only while the security index does not exist yet, i.e. on the first start with an empty data dir).
        ``file_users``: the file realm, {username: {"password": str, "roles": [str]}}; None means no file users.
        ``file_roles``: roles.yml, {name: {"cluster": [...], "indices": [...]}}; None means none.
        ``anonymous``: {"username": str, "roles": [str], "authz_exception": bool} or None for no anonymous access.
        """
        with self._lock:
            if enabled is not None:
                self.security = bool(enabled)
            if elastic_bootstrap_password is not None and self._bootstrap_password is None:
                self._bootstrap_password = elastic_bootstrap_password
                self._users["elastic"]["password"] = elastic_bootstrap_password
            self._file_users = {str(name): {"password": None if user.get("password") is None else str(user["password"]),
                                            "roles": [str(r) for r in user.get("roles") or ()]}
                                for name, user in (file_users or {}).items()}
            self._file_roles = {str(name): {"cluster": list(role.get("cluster") or ()), "indices": copy.deepcopy(role.get("indices") or []),
                                            "run_as": list(role.get("run_as") or ())}
                                for name, role in (file_roles or {}).items() if isinstance(role, dict)}
            if anonymous is None or not anonymous.get("roles"):
                # Real ES enables anonymous access only when xpack.security.authc.anonymous.roles is set.
                self._anonymous = None
            else:
                self._anonymous = {"username": str(anonymous.get("username") or "_anonymous"), "roles": [str(r) for r in anonymous["roles"]],
                                   "authz_exception": bool(anonymous.get("authz_exception", True))}

    def reset_node(self) -> None:
        """Forget the bootstrap password and the node's file configuration, as a node started on an empty data dir would."""
        with self._lock:
            self._bootstrap_password = None
            self._users["elastic"]["password"] = self._initial_elastic_password
            self._file_users, self._file_roles, self._anonymous = {}, {}, None

    def cluster_health(self, pattern: str | None = None, level: str = "cluster") -> dict[str, Any]:
        """The ``_cluster/health`` body now (no waiting)."""
        with self._lock:
            return self._health(pattern, level)

    # ------------------------------------------------------------------ security
    def _role(self, name: str) -> dict[str, Any]:
        # The role stores in ES's order: reserved roles, then roles.yml, then the native (API-created) roles.
        return BUILTIN_ROLES.get(name) or self._file_roles.get(name) or self._roles.get(name) or {"cluster": [], "indices": []}

    def _realm_roles(self, names: list[str]) -> list[dict[str, Any]]:
        # With anonymous access on, ES also grants the anonymous roles to every user authenticated by a realm.
        extra = [r for r in (self._anonymous or {}).get("roles", []) if r not in names]
        return [self._role(r) for r in [*names, *extra]]

    def _anonymous_principal(self) -> Principal | None:
        if self._anonymous is None:
            return None
        realm = {"name": "__anonymous", "type": "__anonymous"}
        info = {"username": self._anonymous["username"], "roles": list(self._anonymous["roles"]), "full_name": None, "email": None,
                "metadata": {"_reserved": True}, "enabled": True, "authentication_realm": realm, "lookup_realm": dict(realm),
                "authentication_type": "anonymous"}
        return Principal(info, [self._role(r) for r in self._anonymous["roles"]])

    def _user_info(self, user: dict[str, Any], realm: dict[str, str]) -> dict[str, Any]:
        info = {k: copy.deepcopy(user[k]) for k in ("username", "roles", "full_name", "email", "metadata", "enabled")}
        info.update({"authentication_realm": realm, "lookup_realm": realm, "authentication_type": "realm"})
        return info

    def _principal(self, header: str) -> Principal | None:
        scheme, _sep, cred = header.strip().partition(" ")
        scheme, cred = scheme.lower(), cred.strip()
        with self._lock:
            if not header.strip():
                # No credentials at all: the anonymous user when configured (bad credentials never fall back to it).
                return self._anonymous_principal()
            if scheme == "basic":
                try:
                    username, _colon, password = base64.b64decode(cred, validate=False).decode("utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    return None
                return self._realm_principal(username, password)
            if scheme == "apikey":
                try:
                    key_id, _colon, secret = base64.b64decode(cred).decode("utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    return None
                key = self._api_keys.get(key_id)
                if key is None or key["invalidated"] or not secrets.compare_digest(key["secret"], secret):
                    return None
                if key.get("expiration") and key["expiration"] < time.time() * 1000:
                    return None
                info = {**copy.deepcopy(key["owner_info"]), "authentication_realm": {"name": "_es_api_key", "type": "_es_api_key"},
                        "lookup_realm": {"name": "_es_api_key", "type": "_es_api_key"}, "authentication_type": "api_key",
                        "api_key": {"id": key_id, "name": key["name"]}}
                info["roles"] = []  # an API key's privileges are its own descriptors, limited by the owner's roles
                limited = list(key["role_descriptors"].values()) or None
                return Principal(info, key["owner_roles"], limited)
            if scheme == "bearer":
                token = self._service_tokens.get(cred)
                if token is None:
                    return None
                account = token["account"]
                info = {"username": account, "roles": [], "full_name": f"Service account - {account}", "email": None,
                        "metadata": {"_elastic_service_account": True}, "enabled": True,
                        "authentication_realm": {"name": "_service_account", "type": "_service_account"},
                        "lookup_realm": {"name": "_service_account", "type": "_service_account"}, "authentication_type": "token",
                        "token": {"name": token["name"], "type": "_service_account_index"}}
                return Principal(info, [self._role(SERVICE_ACCOUNTS[account])])
        return None

    def _realm_principal(self, username: str, password: str) -> Principal | None:
        # The realm chain in ES's default order: reserved, file, native; a realm that knows the user but not the
        # password passes on to the next one.
        if username in RESERVED_USERS:
            user = self._users.get(username)
            if user is None or not user.get("enabled") or user.get("password") is None or not secrets.compare_digest(str(user["password"]), password):
                return None
            return Principal(self._user_info(user, {"name": "reserved", "type": "reserved"}), self._realm_roles(user["roles"]))
        file_user = self._file_users.get(username)
        if file_user is not None and file_user.get("password") is not None and secrets.compare_digest(str(file_user["password"]), password):
            info = {"username": username, "roles": list(file_user["roles"]), "full_name": None, "email": None, "metadata": {}, "enabled": True}
            return Principal(self._user_info(info, {"name": "file", "type": "file"}), self._realm_roles(file_user["roles"]))
        user = self._users.get(username)
        if user is None or not user.get("enabled") or user.get("password") is None or not secrets.compare_digest(str(user["password"]), password):
            return None
        return Principal(self._user_info(user, {"name": "default_native", "type": "native"}), self._realm_roles(user["roles"]))

    def _unauthenticated(self, req: _Request) -> EsError:
        header = req.headers.get("authorization", "")
        target = req.path + (("?" + urllib.parse.urlencode(req.query)) if req.query else "")
        scheme = header.partition(" ")[0].lower()
        extra: dict[str, Any] = {}
        if not header:
            reason = f"missing authentication credentials for REST request [{target}]"
        elif scheme == "basic":
            try:
                username = base64.b64decode(header.partition(" ")[2].strip()).decode("utf-8", "replace").partition(":")[0]
            except ValueError:
                username = ""
            reason = f"unable to authenticate user [{username}] for REST request [{target}]"
        else:
            reason = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
            extra["additional_unsuccessful_credentials"] = ("API key: invalid ApiKey value" if scheme == "apikey"
                                                            else "service account: invalid service token" if scheme == "bearer" else "")
        headers = {"WWW-Authenticate": ", ".join(WWW_AUTHENTICATE)}
        return EsError(401, "security_exception", reason, {**extra, "header": {"WWW-Authenticate": WWW_AUTHENTICATE}}, headers=headers)

    def _authorize(self, req: _Request, action: str, indices: list[str] | None = None) -> None:
        principal = req.principal
        if principal is None or not self.security:
            return
        denied = [i for i in indices if not principal.allowed(action, i)] if indices else []
        if indices is None and principal.allowed(action):
            return
        if indices is not None and not denied and indices:
            return
        if indices == [] and any(principal.allowed(action, probe) for probe in ("*", "logstash-x")):
            return
        if principal.info.get("authentication_type") == "anonymous" and not (self._anonymous or {}).get("authz_exception", True):
            # xpack.security.authc.anonymous.authz_exception: false -> authenticationRequired(action): a 401 asking for credentials.
            raise EsError(401, "security_exception", f"action [{action}] requires authentication",
                          {"header": {"WWW-Authenticate": WWW_AUTHENTICATE}}, headers={"WWW-Authenticate": ", ".join(WWW_AUTHENTICATE)})
        roles = ",".join(principal.info.get("roles", []))
        who = f"user [{principal.username}] with {'effective roles' if self.profile != '7.17' else 'roles'} [{roles}]"
        if principal.info.get("authentication_type") == "api_key":
            who = f"API key id [{principal.info['api_key']['id']}] of user [{principal.username}]"
        where = f" on indices [{','.join(denied)}]" if denied else ""
        level = "index" if indices is not None else "cluster"
        privileges = ",".join(_granting(action, indices is not None))
        raise EsError(403, "security_exception",
                      f"action [{action}] is unauthorized for {who}{where}, this action is granted by the {level} privileges [{privileges}]")

    def _visible(self, req: _Request | None, action: str, names: list[str]) -> list[str]:
        # wildcards resolve to the indices the user may act on, as Elasticsearch's index resolver does under security
        if req is None or req.principal is None or not self.security:
            return names
        return [n for n in names if req.principal.allowed(action, n)]

    # ------------------------------------------------------------------ indices
    def _resolve(self, pattern: str, params: dict[str, str], req: _Request | None = None, action: str = "indices:data/read/search") -> list[str]:
        """Concrete index names for a comma list of names and wildcards (``-x`` excludes); missing names raise 404."""
        ignore_unavailable = params.get("ignore_unavailable") in ("true", "")
        allow_no_indices = params.get("allow_no_indices", "true") != "false"
        parts = [p.strip() for p in (pattern or "_all").split(",") if p.strip()]
        chosen: list[str] = []
        for part in parts:
            if part in ("_all", "*"):
                chosen.extend(n for n in sorted(self._indices) if not n.startswith("."))
            elif part.startswith("-") and chosen:
                chosen = [n for n in chosen if not fnmatch.fnmatchcase(n, part[1:])]
            elif "*" in part or "?" in part:
                chosen.extend(n for n in sorted(self._indices)
                              if fnmatch.fnmatchcase(n, part) and (not n.startswith(".") or part.startswith(".")))
            elif part in self._indices:
                chosen.append(part)
            elif self._alias_targets(part):
                chosen.extend(self._alias_targets(part))
            elif not ignore_unavailable:
                raise index_not_found(part)
        chosen = list(dict.fromkeys(chosen))
        wildcard = any("*" in p or p == "_all" for p in parts)
        visible = self._visible(req, action, chosen) if wildcard else chosen
        if not visible and not allow_no_indices:
            raise index_not_found(pattern)
        return visible

    def _alias_targets(self, alias: str) -> list[str]:
        return [n for n, idx in sorted(self._indices.items()) if alias in idx.aliases]

    def _matching_template(self, name: str) -> tuple[str, dict[str, Any]] | None:
        best: tuple[str, dict[str, Any]] | None = None
        for tname, tmpl in self._templates.items():
            if any(fnmatch.fnmatchcase(name, p) for p in tmpl["index_patterns"]):
                if best is None or int(tmpl.get("priority", 0)) > int(best[1].get("priority", 0)):
                    best = (tname, tmpl)
        return best

    def _template_parts(self, name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(flat settings, mappings, aliases) the templates give a new index ``name``."""
        settings: dict[str, Any] = {}
        mappings: dict[str, Any] = {}
        aliases: dict[str, Any] = {}
        composable = self._matching_template(name)
        if composable is not None:
            layers = [self._component_templates.get(c, {}).get("template", {}) for c in composable[1].get("composed_of", [])]
            layers.append(composable[1].get("template", {}))
        else:
            legacy = sorted((t for t in self._legacy_templates.values() if any(fnmatch.fnmatchcase(name, p) for p in t["index_patterns"])),
                            key=lambda t: int(t.get("order", 0)))
            layers = legacy
        for layer in layers:
            settings.update(_flat_settings(layer.get("settings") or {}))
            mappings = _merge_mapping(mappings, layer.get("mappings") or {})
            aliases.update(copy.deepcopy(layer.get("aliases") or {}))
        return settings, mappings, aliases

    def _check_settings(self, flat: dict[str, Any]) -> None:
        known = {"number_of_shards", "number_of_replicas", "auto_expand_replicas", "refresh_interval", "mapping.total_fields.limit",
                 "mapping.depth.limit", "mapping.nested_fields.limit", "mapping.field_name_length.limit", "mapping.ignore_malformed",
                 "mapping.coerce", "max_result_window", "codec", "hidden", "priority", "default_pipeline", "final_pipeline",
                 "query.default_field", "max_docvalue_fields_search", "number_of_routing_shards", "provided_name", "creation_date", "uuid",
                 "version.created", "mapping.total_fields.ignore_dynamic_beyond_limit"}
        prefixes = ("analysis.", "routing.", "blocks.", "translog.", "lifecycle.", "unassigned.", "merge.", "search.", "indexing.",
                    "store.", "sort.", "highlight.", "write.", "similarity.", "shard.", "allocation.", "routing_partition_size")
        for key, value in flat.items():
            if key not in known and not key.startswith(prefixes):
                raise illegal_argument(f"unknown setting [index.{key}] please check that any required plugins are installed, or check the "
                                       "breaking changes documentation for removed settings")
            if key == "number_of_shards" and int(value) < 1:
                raise illegal_argument(f"Failed to parse value [{value}] for setting [index.number_of_shards] must be >= 1")
            if key == "number_of_replicas" and int(value) < 0:
                raise illegal_argument(f"Failed to parse value [{value}] for setting [index.number_of_replicas] must be >= 0")

    def _unwrap_typed(self, mappings: dict[str, Any], include_type_name: bool = False) -> dict[str, Any]:
        if isinstance(mappings, dict) and len(mappings) == 1 and "_doc" in mappings and isinstance(mappings["_doc"], dict):
            if self.profile == "7.17" and not include_type_name:
                raise illegal_argument("The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.")
            if self.profile != "7.17":
                raise EsError(400, "mapper_parsing_exception",
                              f"Root mapping definition has unsupported parameters:  [_doc : {self._java_map(mappings['_doc'])}]")
            return mappings["_doc"]
        return mappings

    @staticmethod
    def _java_map(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}={Elasticsearch._java_map(v)}" for k, v in value.items()) + "}"
        return str(value)

    def _create_index(self, name: str, body: dict[str, Any] | None = None) -> _Index:
        validate_index_name(name)
        if name in self._indices:
            existing = self._indices[name]
            raise EsError(400, "resource_already_exists_exception", f"index [{name}/{existing.uuid}] already exists",
                          {"index_uuid": existing.uuid, "index": name})
        body = body or {}
        unknown = set(body) - {"settings", "mappings", "aliases"}
        if unknown:
            raise parsing_error(f"unknown key [{sorted(unknown)[0]}] for create index")
        settings, mappings, aliases = self._template_parts(name)
        request_settings = _flat_settings(body.get("settings") or {})
        self._check_settings(request_settings)
        settings.update(request_settings)
        self._check_settings(settings)
        request_mappings = self._unwrap_typed(body.get("mappings") or {})
        _validate_mapping(request_mappings.get("properties") or {})
        mappings = _merge_mapping(mappings, request_mappings)
        aliases.update(body.get("aliases") or {})
        index_uuid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[:22]
        created = int(time.time() * 1000)
        settings.setdefault("number_of_shards", 1)
        settings.setdefault("number_of_replicas", 1)
        if _count_fields(mappings.get("properties") or {}) > int(settings.get("mapping.total_fields.limit", TOTAL_FIELDS_LIMIT)):
            raise illegal_argument(self._limit_message(int(settings.get("mapping.total_fields.limit", TOTAL_FIELDS_LIMIT)),
                                                       _count_fields(mappings.get("properties") or {})))
        index = _Index(name, index_uuid, settings, mappings, created, aliases)
        self._indices[name] = index
        self._changed.notify_all()
        return index

    def _limit_message(self, limit: int, added: int) -> str:
        if self.profile == "7.17":
            return f"Limit of total fields [{limit}] has been exceeded"
        return f"Limit of total fields [{limit}] has been exceeded while adding new fields [{added}]"

    def _write(self, index_name: str, doc_id: str | None, source: Any, op: str, auto_create: bool = True) -> dict[str, Any]:
        """Index one document; the bulk item / index API answer (without status)."""
        if not isinstance(source, dict):
            raise EsError(400, "mapper_parsing_exception" if self.profile == "7.17" else "document_parsing_exception",
                          "failed to parse, document is empty" if not source else "failed to parse")
        index = self._indices.get(index_name)
        if index is None:
            if not auto_create:
                raise index_not_found(index_name)
            index = self._create_index(index_name)
        doc_id = doc_id if doc_id is not None else self._new_id()
        if len(doc_id.encode()) > 512:
            raise EsError(400, "action_request_validation_exception",
                          f"Validation Failed: 1: id [{doc_id}] is too long, must be no longer than 512 bytes but was: {len(doc_id.encode())};")
        existing = index.docs.get(doc_id)
        if op == "create" and existing is not None:
            raise EsError(409, "version_conflict_engine_exception",
                          f"[{doc_id}]: version conflict, document already exists (current version [{existing.version}])",
                          {"index_uuid": index.uuid, "shard": "0", "index": index.name})
        mapper = _Mapper(index, doc_id, source, self.profile)
        new_mappings = mapper.apply(source)
        old_count = _count_fields(index.mappings.get("properties") or {})
        new_count = _count_fields(new_mappings.get("properties") or {})
        if new_count > index.field_limit() and new_count > old_count:
            raise illegal_argument(self._limit_message(index.field_limit(), new_count - old_count))
        if new_mappings != index.mappings:
            index.set_mappings(new_mappings)
        index.seq_no += 1
        version = existing.version + 1 if existing is not None else 1
        if existing is not None:
            index.deleted += 1
        stored = copy.deepcopy(source)
        index.docs[doc_id] = _Doc(doc_id, stored, version, index.seq_no, flatten_source(stored), len(json.dumps(stored)))
        result = {"_index": index.name, "_id": doc_id, "_version": version, "result": "updated" if existing is not None else "created",
                  "_shards": self._shards_info(index), "_seq_no": index.seq_no, "_primary_term": 1}
        if self.profile == "7.17":
            result = {"_index": index.name, "_type": "_doc", **{k: v for k, v in result.items() if k != "_index"}}
        result["status"] = 200 if existing is not None else 201
        return result

    def _shards_info(self, index: _Index) -> dict[str, int]:
        ready = (self.health() or (0, 0))[0]
        replicas = self._effective_replicas(index, ready)
        return {"total": 1 + index.replicas() if not index.settings.get("auto_expand_replicas") else 1 + replicas,
                "successful": 1 + min(replicas, max(ready - 1, 0)), "failed": 0}

    def _new_id(self) -> str:
        self._seq += 1
        raw = int(time.time() * 1000).to_bytes(6, "big") + self._seq.to_bytes(4, "big") + secrets.token_bytes(5)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:20]

    def _effective_replicas(self, index: _Index, ready: int) -> int:
        auto = index.settings.get("auto_expand_replicas")
        if auto and str(auto) != "false":
            low, _dash, high = str(auto).partition("-")
            top = max(ready - 1, 0) if high == "all" else int(high)
            return max(int(low), min(top, max(ready - 1, 0)))
        return index.replicas()

    # ------------------------------------------------------------------ health
    def _index_health(self, index: _Index, ready: int) -> dict[str, Any]:
        shards = index.shards()
        replicas = self._effective_replicas(index, ready)
        if ready <= 0:
            primaries, replica_copies = 0, 0
        else:
            primaries, replica_copies = shards, shards * min(replicas, ready - 1)
        unassigned = shards * (1 + replicas) - primaries - replica_copies
        status = "red" if primaries < shards else "yellow" if unassigned else "green"
        return {"status": status, "number_of_shards": shards, "number_of_replicas": replicas, "active_primary_shards": primaries,
                "active_shards": primaries + replica_copies, "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": unassigned}

    def _health(self, pattern: str | None, level: str = "cluster") -> dict[str, Any]:
        state = self.health()
        ready = state[0] if state else 0
        names = sorted(self._indices)
        missing = False
        if pattern and pattern not in ("_all", "*"):
            try:
                names = self._resolve(pattern, {"ignore_unavailable": "true"})
            except EsError:
                names = []
            missing = not names and not any("*" in p for p in pattern.split(","))
        per_index = {n: self._index_health(self._indices[n], ready) for n in names}
        shard_keys = ("active_primary_shards", "active_shards", "relocating_shards", "initializing_shards", "unassigned_shards")
        totals = {k: sum(h[k] for h in per_index.values()) for k in shard_keys}
        worst = max([{"green": 0, "yellow": 1, "red": 2}[h["status"]] for h in per_index.values()] + [0])
        status = "red" if state is None or missing else ("green", "yellow", "red")[worst]
        all_shards = totals["active_shards"] + totals["unassigned_shards"] + totals["initializing_shards"]
        body: dict[str, Any] = {"cluster_name": self.cluster_name, "status": status, "timed_out": False, "number_of_nodes": ready,
                                "number_of_data_nodes": ready, **{k: totals[k] for k in ("active_primary_shards", "active_shards",
                                                                                         "relocating_shards", "initializing_shards",
                                                                                         "unassigned_shards")},
                                "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
                                "task_max_waiting_in_queue_millis": 0,
                                "active_shards_percent_as_number": 100.0 if not all_shards else 100.0 * totals["active_shards"] / all_shards}
        if level in ("indices", "shards"):
            body["indices"] = per_index
        return body

    def _require_master(self, deadline: float | None = None) -> None:
        while self.health() is None:
            if deadline is None or time.time() >= deadline:
                raise EsError(503, "master_not_discovered_exception", None)
            time.sleep(min(0.05, max(deadline - time.time(), 0.001)))

    # ------------------------------------------------------------------ search
    def _pairs(self, names: list[str], now_ms: int) -> list[_Pair]:
        out: list[_Pair] = []
        for name in names:
            ctx = _Ctx(self._indices[name], now_ms, self.profile)
            out.extend((ctx, doc) for doc in ctx.index.docs.values())
        return out

    def _hit(self, pair: _Pair, body: dict[str, Any], score: float | None) -> dict[str, Any]:
        ctx, doc = pair
        hit: dict[str, Any] = {"_index": ctx.index.name}
        if self.profile == "7.17":
            hit["_type"] = "_doc"
        hit["_id"] = doc.doc_id
        if body.get("version"):
            hit["_version"] = doc.version
        if body.get("seq_no_primary_term"):
            hit.update({"_seq_no": doc.seq_no, "_primary_term": 1})
        hit["_score"] = score
        source = filter_source(doc.source, body.get("_source"))
        if source is not None:
            hit["_source"] = copy.deepcopy(source)
        if body.get("fields"):
            fields: dict[str, list[Any]] = {}
            for item in body["fields"]:
                pattern = item.get("field") if isinstance(item, dict) else str(item)
                for fname in ctx.field_names(pattern):
                    ftype, vals = ctx.values(doc, fname)
                    if vals:
                        fields[fname] = [format_date(v) if ftype in ("date", "date_nanos") else v for v in vals]
            if fields:
                hit["fields"] = fields
        if body.get("sort"):
            hit["sort"] = sort_values(pair, body["sort"])
        return hit

    def _search(self, pattern: str, body: dict[str, Any], params: dict[str, str],  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
                warnings: list[str], req: _Request | None = None) -> dict[str, Any]:
        started = time.time()
        if not isinstance(body, dict):
            raise parsing_error("Unknown key for a VALUE_STRING in [query].")
        for key, value in body.items():
            if key not in SEARCH_KEYS:
                token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY" if isinstance(value, list) else "VALUE_STRING" \
                    if isinstance(value, str) else "VALUE_NUMBER" if isinstance(value, (int, float)) and not isinstance(value, bool) else "VALUE_BOOLEAN"
                raise parsing_error(f"Unknown key for a {token} in [{key}].")
        body = dict(body)
        for key in ("size", "from"):
            if key in params:
                body[key] = int(params[key])
        if "sort" in params:
            body["sort"] = [s for s in params["sort"].split(",") if s]
        if "_source" in params:
            body["_source"] = {"true": True, "false": False}.get(params["_source"], params["_source"].split(","))
        if "_source_includes" in params or "_source_excludes" in params:
            body["_source"] = {"includes": [s for s in params.get("_source_includes", "").split(",") if s],
                               "excludes": [s for s in params.get("_source_excludes", "").split(",") if s]}
        if "track_total_hits" in params:
            body["track_total_hits"] = {"true": True, "false": False}.get(params["track_total_hits"], params["track_total_hits"])
        query = body.get("query")
        if params.get("q"):
            query = {"query_string": {"query": params["q"], "default_operator": params.get("default_operator", "or"),
                                      **({"default_field": params["df"]} if "df" in params else {})}}
        size, offset = int(body.get("size", 10)), int(body.get("from", 0))
        if size < 0:
            raise illegal_argument(f"[size] parameter cannot be negative, found [{size}]")
        if offset < 0:
            raise illegal_argument(f"[from] parameter cannot be negative, found [{offset}]")
        with self._lock:
            names = self._resolve(pattern, params, req)
            if offset + size > MAX_RESULT_WINDOW and names:
                raise _shard_failure(names[0], illegal_argument(
                    f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{offset + size}]. "
                    "See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the "
                    "[index.max_result_window] index level setting."))
            now = int(self.clock() * 1000)
            everything = self._pairs(names, now)
            matched = [p for p in everything if evaluate(query, p[0], p[1])]
            env = _AggEnv(self.profile, now, everything, warnings, lambda p, b: self._hit(p, b, 1.0))
            aggs = body.get("aggs", body.get("aggregations"))
            failures = self._failing_shards(aggs, names, everything, matched, env) if aggs else []
            if failures:
                failed = {f["index"] for f in failures}
                matched = [p for p in matched if p[0].index.name not in failed]
                env.background = [p for p in everything if p[0].index.name not in failed]
            aggregations = _aggregate(aggs, matched, env) if aggs else None
            if body.get("post_filter"):
                matched = [p for p in matched if evaluate(body["post_filter"], p[0], p[1])]
            sort = body.get("sort")
            ordered = _sort_pairs(matched, sort, self.profile) if sort else matched
            if body.get("search_after") is not None and sort:
                after = list(body["search_after"])
                specs = _sort_specs(sort)

                def beyond(pair: _Pair) -> bool:
                    for value, bound, spec in zip(sort_values(pair, sort), after, specs):
                        if value == bound:
                            continue
                        if value is None or bound is None:
                            return bound is None
                        return value < bound if spec[1].lower() == "desc" else value > bound
                    return False
                ordered = [p for p in ordered if beyond(p)]
            scored = _scores(query)
            score = (1.0 if scored else 0.0) if not sort or body.get("track_scores") else None
            hits = [self._hit(p, body, score) for p in ordered[offset:offset + size]]
            total_count = len(matched)
            track = body.get("track_total_hits", MAX_RESULT_WINDOW)
            shard_count = sum(self._indices[n].shards() for n in names)
            failed_count = sum(self._indices[f["index"]].shards() for f in failures)
        hits_obj: dict[str, Any] = {}
        if track is not False:
            limit = total_count if track is True else int(track)
            total: Any = {"value": min(total_count, limit), "relation": "eq" if total_count <= limit else "gte"}
            if params.get("rest_total_hits_as_int") in ("true", ""):
                total = total_count
            hits_obj["total"] = total
        hits_obj["max_score"] = score if hits and score is not None else None
        hits_obj["hits"] = hits
        shards: dict[str, Any] = {"total": shard_count, "successful": shard_count - failed_count, "skipped": 0, "failed": failed_count}
        if failures:
            shards["failures"] = failures
        result: dict[str, Any] = {"took": int((time.time() - started) * 1000), "timed_out": False, "_shards": shards, "hits": hits_obj}
        if aggregations is not None:
            result["aggregations"] = aggregations
        return result

    @staticmethod
    def _failing_shards(aggs: dict[str, Any], names: list[str], everything: list[_Pair], matched: list[_Pair],
                        env: _AggEnv) -> list[dict[str, Any]]:
        """The indices whose shards fail the aggregations (a text field without fielddata, ...), as ``_shards.failures``.

        As a search does: a shard that fails leaves its documents out and the answer is a 200 with the failures listed,
        unless every shard failed (then the first failure is the answer, "all shards failed")."""
        failures: list[dict[str, Any]] = []
        first: EsError | None = None
        for name in names:
            own = [p for p in everything if p[0].index.name == name]
            part = [p for p in matched if p[0].index.name == name] or own[:1]
            try:
                # Each shard aggregates its own documents, against its own background (significant_terms).
                _aggregate(aggs, part, _AggEnv(env.profile, env.now_ms, own, [], env.hit_builder))
            except EsError as err:
                if err.etype != "search_phase_execution_exception" or not err.root_cause:
                    raise
                first = first or err
                failures.append({"shard": 0, "index": name, "node": "localcluster-node-id", "reason": err.root_cause[0]})
        if first is not None and len(failures) == len(names):
            raise first
        return failures

    # ------------------------------------------------------------------ REST
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Response:
        """Answer one REST request (``target`` is path?query)."""
        headers = {k.lower(): v for k, v in headers.items()}
        parsed = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        path = urllib.parse.unquote(parsed.path) or "/"
        compat = None
        req = _Request(method.upper(), path, query, headers, body, compat)
        try:
            req.compat = self._negotiate(headers)
            if (headers.get("content-encoding") or "").lower() == "gzip" and body:
                req.body = gzip.decompress(body)
            if self.security:
                req.principal = self._principal(headers.get("authorization", ""))
                if req.principal is None:
                    raise self._unauthenticated(req)
            status, payload = self._dispatch(req)
        except EsError as err:
            status, payload = err.status, err.body()
            response = self._respond(req, status, payload)
            response.headers.update(err.headers)
            return response
        return self._respond(req, status, payload)

    def _negotiate(self, headers: dict[str, str]) -> int | None:
        versions = {}
        for name in ("accept", "content-type"):
            match = re.search(r"compatible-with\s*=\s*(\d+)", headers.get(name) or "")
            if match:
                versions[name] = int(match.group(1))
        if not versions:
            return None
        major = int(self.version.split(".", maxsplit=1)[0])
        for name, version in versions.items():
            if version not in (major, major - 1):
                label = "Accept" if name == "accept" else "Content-Type"
                raise EsError(400, "media_type_header_exception", "Invalid media-type value on headers [Accept, Content-Type]",
                              caused_by={"type": "status_exception",
                                         "reason": f"{label} version must be either version {major} or {major - 1}, but found {version}. "
                                                   f"{label}={headers.get(name)}"})
        if len(set(versions.values())) > 1 and "content-type" in versions:
            raise EsError(400, "media_type_header_exception", "Invalid media-type value on headers [Accept, Content-Type]",
                          caused_by={"type": "status_exception",
                                     "reason": "A compatible version is required on both Content-Type and Accept headers if either one has "
                                               "requested a compatible version and the compatible versions must match. "
                                               f"Accept={headers.get('accept')}, Content-Type={headers.get('content-type')}"})
        return next(iter(versions.values()))

    def _respond(self, req: _Request, status: int, payload: Any) -> Response:
        headers = {"X-Elastic-Product": "Elasticsearch"}
        if isinstance(payload, str):
            data = payload.encode()
            headers["Content-Type"] = "text/plain; charset=UTF-8"
        elif payload is None:
            data = b""
            headers["Content-Type"] = "application/json" if self.profile != "7.17" else "application/json; charset=UTF-8"
        else:
            pretty = req.flag("pretty")
            data = json.dumps(payload, indent=2 if pretty else None, separators=None if pretty else (",", ":")).encode()
            if req.compat is not None:
                headers["Content-Type"] = f"application/vnd.elasticsearch+json;compatible-with={req.compat}"
            else:
                headers["Content-Type"] = "application/json" if self.profile != "7.17" else "application/json; charset=UTF-8"
        if req.warnings:
            tag = f"Elasticsearch-{self.version}-{self.info['build_hash']}"
            headers["Warning"] = ", ".join(f'299 {tag} "{w}"' for w in dict.fromkeys(req.warnings))
        if req.principal is not None:
            headers["X-Localcluster-User"] = req.principal.username
        return Response(status, data, headers)

    def _dispatch(self, req: _Request) -> tuple[int, Any]:
        allowed: list[str] = []
        for methods, pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, req.path)
            if match is None:
                continue
            if req.method not in methods.split(","):
                allowed.extend(m for m in methods.split(",") if m not in allowed)
                continue
            if handler != "_rest_main":
                wait = _parse_time(req.query.get("master_timeout") or req.query.get("timeout"), 0) if handler == "_rest_health" else 0
                self._require_master(time.time() + min(wait, 30) if wait else None)
            return getattr(self, handler)(req, **{k: v for k, v in match.groupdict().items() if v is not None})
        if allowed:
            return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [{req.method}], allowed: [{', '.join(allowed)}]",
                         "status": 405}
        return 400, {"error": f"no handler found for uri [{req.path}] and method [{req.method}]", "status": 400}

    # -- cluster
    @_route("GET,HEAD", r"/")
    def _rest_main(self, req: _Request) -> tuple[int, Any]:
        self._authorize(req, "cluster:monitor/main")
        version = {"number": self.version, "build_flavor": "default", "build_type": "docker", "build_hash": self.info["build_hash"],
                   "build_date": self.info["build_date"], "build_snapshot": False, "lucene_version": self.info["lucene_version"],
                   "minimum_wire_compatibility_version": self.info["minimum_wire_compatibility_version"],
                   "minimum_index_compatibility_version": self.info["minimum_index_compatibility_version"]}
        return 200, {"name": self.node_name, "cluster_name": self.cluster_name, "cluster_uuid": self.cluster_uuid, "version": version,
                     "tagline": "You Know, for Search"}

    @_route("GET", r"/_cluster/health(?:/(?P<index>[^/]+))?")
    def _rest_health(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        self._authorize(req, "cluster:monitor/health")
        wanted = req.query.get("wait_for_status")
        if wanted is not None and wanted not in ("green", "yellow", "red"):
            raise illegal_argument(f"unknown cluster health status [{wanted}]")
        nodes = req.query.get("wait_for_nodes")
        waiting = wanted is not None or nodes is not None or req.query.get("wait_for_active_shards") not in (None, "0")
        deadline = time.time() + _parse_time(req.query.get("timeout"), 30.0)
        level = req.query.get("level", "cluster")
        rank = {"green": 0, "yellow": 1, "red": 2}
        while True:
            with self._lock:
                body = self._health(index, level)
            done = True
            if wanted is not None and rank[body["status"]] > rank[wanted]:
                done = False
            if nodes is not None and not _nodes_ok(body["number_of_nodes"], nodes):
                done = False
            if req.query.get("wait_for_active_shards") == "all" and body["unassigned_shards"]:
                done = False
            if done or not waiting:
                return 200, body
            if time.time() >= deadline:
                body["timed_out"] = True
                return 408, body
            time.sleep(0.02)

    @_route("GET,PUT", r"/_cluster/settings")
    def _rest_cluster_settings(self, req: _Request) -> tuple[int, Any]:
        if req.method == "GET":
            self._authorize(req, "cluster:monitor/settings")
            return 200, copy.deepcopy(self._cluster_settings)
        self._authorize(req, "cluster:admin/settings/update")
        body = req.json(required=True)
        with self._lock:
            for scope in ("persistent", "transient"):
                for key, value in _flat_settings(body.get(scope) or {}).items():
                    if value is None:
                        self._cluster_settings[scope].pop(key, None)
                    else:
                        self._cluster_settings[scope][key] = value
            return 200, {"acknowledged": True, "persistent": _nest_settings(self._cluster_settings["persistent"]),
                         "transient": _nest_settings(self._cluster_settings["transient"])}

    @_route("GET", r"/_license")
    def _rest_license(self, req: _Request) -> tuple[int, Any]:
        self._authorize(req, "cluster:monitor/xpack/license/get")
        return 200, {"license": {"status": "active", "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, self.cluster_uuid)), "type": "basic",
                                 "issue_date": "2024-10-20T00:00:00.000Z", "issue_date_in_millis": 1729382400000, "max_nodes": 1000,
                                 "max_resource_units": None, "issued_to": self.cluster_name, "issuer": "elasticsearch",
                                 "start_date_in_millis": -1}}

    @_route("GET", r"/_cat/health")
    def _rest_cat_health(self, req: _Request) -> tuple[int, Any]:
        self._authorize(req, "cluster:monitor/health")
        with self._lock:
            health = self._health(None)
        now = time.time()
        row = {"epoch": str(int(now)), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)), "cluster": self.cluster_name,
               "status": health["status"], "node.total": str(health["number_of_nodes"]), "node.data": str(health["number_of_data_nodes"]),
               "shards": str(health["active_shards"]), "pri": str(health["active_primary_shards"]), "relo": "0", "init": "0",
               "unassign": str(health["unassigned_shards"]), "pending_tasks": "0", "max_task_wait_time": "-",
               "active_shards_percent": f"{health['active_shards_percent_as_number']:.1f}%"}
        return self._cat(req, [row], list(row))

    @_route("GET", r"/_cat/indices(?:/(?P<index>[^/]+))?")
    def _rest_cat_indices(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        self._authorize(req, "indices:monitor/stats", [])
        raw_bytes = req.query.get("bytes") == "b"
        with self._lock:
            names = self._resolve(index or "*", {**req.query, "allow_no_indices": "true"}, req, "indices:monitor/stats")
            ready = (self.health() or (0, 0))[0]
            rows = []
            for name in names:
                idx = self._indices[name]
                health = self._index_health(idx, ready)
                primary = 225 + int(sum(d.size for d in idx.docs.values()) * 1.3)
                total = primary * (health["active_shards"] // max(health["active_primary_shards"], 1)) if health["active_primary_shards"] else 0
                fmt = str if raw_bytes else _format_bytes
                row = {"health": health["status"], "status": "open", "index": name, "uuid": idx.uuid, "pri": str(idx.shards()),
                       "rep": str(health["number_of_replicas"]), "docs.count": str(len(idx.docs)), "docs.deleted": str(idx.deleted),
                       "store.size": fmt(total), "pri.store.size": fmt(primary)}
                if self.profile != "7.17":
                    row["dataset.size"] = fmt(primary)
                rows.append(row)
        columns = list(rows[0]) if rows else ["health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size",
                                              "pri.store.size"] + (["dataset.size"] if self.profile != "7.17" else [])
        return self._cat(req, rows, columns)

    def _cat(self, req: _Request, rows: list[dict[str, str]], columns: list[str]) -> tuple[int, Any]:
        if req.query.get("h"):
            columns = [c for c in req.query["h"].split(",") if c in columns]
            rows = [{c: r.get(c) for c in columns} for r in rows]
        for key in reversed([s for s in req.query.get("s", "").split(",") if s]):
            name, _colon, order = key.partition(":")
            rows.sort(key=lambda r, n=name: (int(r[n]) if str(r.get(n, "")).isdigit() else str(r.get(n, ""))), reverse=order == "desc")
        fmt = req.query.get("format", "text")
        if fmt in ("json", "yaml"):
            return 200, rows
        table = ([columns] if req.flag("v") else []) + [[str(r.get(c) if r.get(c) is not None else "") for c in columns] for r in rows]
        widths = [max((len(line[i]) for line in table), default=0) for i in range(len(columns))]
        numeric = [all(re.fullmatch(r"[\d.]+[a-z%]*", r[i] or "0") for r in table[(1 if req.flag("v") else 0):]) for i in range(len(columns))]
        lines = [" ".join(cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() + "\n"
                 for line in table]
        return 200, "".join(lines)

    # -- security
    def _security_enabled(self) -> None:
        if not self.security:
            raise EsError(500 if self.profile == "7.17" else 400, "security_exception",
                          "Security must be explicitly enabled when using a [basic] license. Enable security by setting "
                          "[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.")

    @_route("GET", r"/_security/_authenticate")
    def _rest_authenticate(self, req: _Request) -> tuple[int, Any]:
        self._security_enabled()
        assert req.principal is not None
        return 200, copy.deepcopy(req.principal.info)

    @_route("POST,PUT", r"/_security/user/(?P<name>[^/]+)/_password|/_security/user/_password")
    def _rest_password(self, req: _Request, name: str | None = None) -> tuple[int, Any]:
        self._security_enabled()
        assert req.principal is not None
        name = name or req.principal.username
        if name != req.principal.username:
            self._authorize(req, "cluster:admin/xpack/security/user/change_password")
        body = req.json(required=True)
        password = body.get("password")
        if body.get("password_hash") is not None and password is None:
            raise illegal_argument("password_hash is not supported by this emulator")
        _check_password(password)
        with self._lock:
            user = self._users.get(name)
            if user is None:
                raise EsError(400, "validation_exception", f"Validation Failed: 1: user [{name}] does not exist;")
            user["password"] = password
        return 200, {}

    @_route("GET,PUT,POST,DELETE", r"/_security/user(?:/(?P<name>[^/]+))?")
    def _rest_user(self, req: _Request, name: str | None = None) -> tuple[int, Any]:
        self._security_enabled()
        if req.method == "GET":
            self._authorize(req, "cluster:admin/xpack/security/user/get")
            with self._lock:
                names = [n for n in self._users if name is None or n in name.split(",")]
                if name is not None and not names:
                    return 404, {}
                return 200, {n: {k: copy.deepcopy(v) for k, v in self._users[n].items() if k != "password"} for n in names}
        if name is None:
            return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [{req.method}], allowed: [GET]", "status": 405}
        if req.method == "DELETE":
            self._authorize(req, "cluster:admin/xpack/security/user/delete")
            with self._lock:
                if name in RESERVED_USERS:
                    raise illegal_argument(f"user [{name}] is reserved and cannot be deleted")
                found = self._users.pop(name, None) is not None
            return (200 if found else 404), {"found": found}
        self._authorize(req, "cluster:admin/xpack/security/user/put")
        body = req.json(required=True)
        if name in RESERVED_USERS:
            raise EsError(400, "action_request_validation_exception", f"Validation Failed: 1: Username [{name}] is reserved and may not be used.;")
        with self._lock:
            existing = self._users.get(name)
            if "password" in body:
                _check_password(body["password"])
            elif existing is None:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: passwords must be at least [6] characters long;")
            roles = body.get("roles")
            if roles is None:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: roles are missing;")
            self._users[name] = {"username": name, "roles": list(roles), "full_name": body.get("full_name"), "email": body.get("email"),
                                 "metadata": body.get("metadata") or {}, "enabled": body.get("enabled", True),
                                 "password": body.get("password", (existing or {}).get("password"))}
        return 200, {"created": existing is None}

    @_route("GET,PUT,POST,DELETE", r"/_security/role(?:/(?P<name>[^/]+))?")
    def _rest_role(self, req: _Request, name: str | None = None) -> tuple[int, Any]:
        self._security_enabled()
        if req.method == "GET":
            self._authorize(req, "cluster:admin/xpack/security/role/get")
            with self._lock:
                known = {**{n: {**r, "metadata": {"_reserved": True}} for n, r in BUILTIN_ROLES.items()}, **self._roles}
                names = [n for n in known if name is None or n in name.split(",")]
                if name is not None and not names:
                    return 404, {}
                return 200, {n: {"cluster": [], "indices": [], "applications": [], "run_as": [], "metadata": {},
                                 "transient_metadata": {"enabled": True}, **copy.deepcopy(known[n])} for n in names}
        if name is None:
            return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [{req.method}], allowed: [GET]", "status": 405}
        if req.method == "DELETE":
            self._authorize(req, "cluster:admin/xpack/security/role/delete")
            with self._lock:
                found = self._roles.pop(name, None) is not None
            return (200 if found else 404), {"found": found}
        self._authorize(req, "cluster:admin/xpack/security/role/put")
        if name in BUILTIN_ROLES:
            raise EsError(400, "action_request_validation_exception", f"Validation Failed: 1: Role [{name}] is reserved and may not be used.;")
        body = req.json(required=True)
        for priv in body.get("cluster", []):
            if priv not in CLUSTER_PRIVILEGES and ":" not in priv:
                raise illegal_argument(f"unknown cluster privilege [{priv}]. a privilege must be either one of the predefined cluster privilege "
                                       "names [...] or a pattern over one of the available cluster actions")
        with self._lock:
            created = name not in self._roles
            self._roles[name] = {"cluster": list(body.get("cluster", [])), "indices": copy.deepcopy(body.get("indices", [])),
                                 "run_as": list(body.get("run_as", [])), "metadata": body.get("metadata") or {}}
        return 200, {"role": {"created": created}}

    @_route("GET,POST,PUT,DELETE", r"/_security/api_key")
    def _rest_api_key(self, req: _Request) -> tuple[int, Any]:
        self._security_enabled()
        assert req.principal is not None
        if req.method in ("POST", "PUT"):
            self._authorize(req, "cluster:admin/xpack/security/api_key/create")
            body = req.json(required=True)
            if not body.get("name"):
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: api key name is required;")
            if req.principal.info.get("authentication_type") == "api_key":
                raise illegal_argument("creating derived api keys requires an explicit role descriptor that is empty (has no privileges)")
            key_id = base64.urlsafe_b64encode(secrets.token_bytes(15)).decode()[:20]
            secret = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")[:22]
            now_ms = int(time.time() * 1000)
            expiration = now_ms + int(_parse_time(body["expiration"], 0) * 1000) if body.get("expiration") else None
            descriptors = {n: {"cluster": list(d.get("cluster", [])), "indices": copy.deepcopy(d.get("indices", []))}
                           for n, d in (body.get("role_descriptors") or {}).items()}
            owner = {k: copy.deepcopy(v) for k, v in req.principal.info.items()
                     if k in ("username", "roles", "full_name", "email", "metadata", "enabled")}
            with self._lock:
                self._api_keys[key_id] = {"name": body["name"], "secret": secret, "owner_info": owner, "owner_roles": req.principal.roles,
                                          "role_descriptors": descriptors, "creation": now_ms, "expiration": expiration, "invalidated": False,
                                          "realm": req.principal.info["authentication_realm"]["name"], "metadata": body.get("metadata") or {}}
            out = {"id": key_id, "name": body["name"]}
            if expiration:
                out["expiration"] = expiration
            out["api_key"] = secret
            out["encoded"] = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
            return 200, out
        if req.method == "GET":
            self._authorize(req, "cluster:admin/xpack/security/api_key/get")
            with self._lock:
                keys = [{"id": k, "name": v["name"], "creation": v["creation"], "expiration": v["expiration"], "invalidated": v["invalidated"],
                         "username": v["owner_info"]["username"], "realm": v["realm"], "metadata": v["metadata"]}
                        for k, v in self._api_keys.items()
                        if (not req.query.get("id") or k == req.query["id"]) and (not req.query.get("name") or v["name"] == req.query["name"])]
            return 200, {"api_keys": keys}
        self._authorize(req, "cluster:admin/xpack/security/api_key/invalidate")
        body = req.json(required=True)
        ids = list(body.get("ids") or ([body["id"]] if body.get("id") else []))
        with self._lock:
            if body.get("name"):
                ids += [k for k, v in self._api_keys.items() if v["name"] == body["name"]]
            if body.get("username"):
                ids += [k for k, v in self._api_keys.items() if v["owner_info"]["username"] == body["username"]]
            if not ids and not body.get("name") and not body.get("username"):
                raise EsError(400, "action_request_validation_exception",
                              "Validation Failed: 1: One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false;")
            done, before, errors = [], [], []
            for key_id in dict.fromkeys(ids):
                key = self._api_keys.get(key_id)
                if key is None:
                    continue
                (before if key["invalidated"] else done).append(key_id)
                key["invalidated"] = True
        return 200, {"invalidated_api_keys": done, "previously_invalidated_api_keys": before, "error_count": len(errors)}

    @_route("POST,PUT,DELETE", r"/_security/service/(?P<account>[^/]+/[^/]+)/credential/token(?:/(?P<name>[^/]+))?")
    def _rest_service_token(self, req: _Request, account: str, name: str | None = None) -> tuple[int, Any]:
        self._security_enabled()
        if account not in SERVICE_ACCOUNTS:
            raise illegal_argument(f"service account [{account}] does not exist")
        if req.method == "DELETE":
            self._authorize(req, "cluster:admin/xpack/security/service_account/token/delete")
            with self._lock:
                found = [v for v, t in self._service_tokens.items() if t["account"] == account and t["name"] == name]
                for value in found:
                    del self._service_tokens[value]
            return (200 if found else 404), {"found": bool(found)}
        self._authorize(req, "cluster:admin/xpack/security/service_account/token/create")
        name = name or f"token_{secrets.token_hex(8)}"
        if not re.fullmatch(r"[a-zA-Z0-9-][a-zA-Z0-9_-]{0,255}", name):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: service account token name must have at least 1 character and at most 256 characters that are "
                          "alphanumeric (A-Z, a-z, 0-9) or hyphen (-) or underscore (_). "
                          "It must not begin with an underscore (_).;")
        with self._lock:
            if any(t["account"] == account and t["name"] == name for t in self._service_tokens.values()):
                raise EsError(409, "version_conflict_engine_exception",
                              f"[service_account_token-{account}/{name}]: version conflict, document already exists (current version [1])")
            secret = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
            value = base64.urlsafe_b64encode(b"\x00\x01\x00\x01" + f"{account}/{name}:{secret}".encode()).decode().rstrip("=")
            self._service_tokens[value] = {"account": account, "name": name, "creation": int(time.time() * 1000)}
        return 200, {"created": True, "token": {"name": name, "value": value}}

    @_route("GET", r"/_security/service/(?P<account>[^/]+/[^/]+)/credential")
    def _rest_service_credentials(self, req: _Request, account: str) -> tuple[int, Any]:
        self._security_enabled()
        self._authorize(req, "cluster:admin/xpack/security/service_account/credential/get")
        with self._lock:
            tokens_of = {t["name"]: {} for t in self._service_tokens.values() if t["account"] == account}
        return 200, {"service_account": account, "count": len(tokens_of), "tokens": tokens_of,
                     "nodes_credentials": {"_nodes": {"total": 1, "successful": 1, "failed": 0}, "file_tokens": {}}}

    # -- templates
    @_route("GET,HEAD,PUT,POST,DELETE", r"/_index_template(?:/(?P<name>[^/]+))?")
    def _rest_index_template(self, req: _Request, name: str | None = None) -> tuple[int, Any]:
        return self._composable(req, name, self._templates, "indices:admin/index_template", "index_template")

    @_route("GET,HEAD,PUT,POST,DELETE", r"/_component_template(?:/(?P<name>[^/]+))?")
    def _rest_component_template(self, req: _Request, name: str | None = None) -> tuple[int, Any]:
        return self._composable(req, name, self._component_templates, "cluster:admin/component_template", "component_template")

    def _composable(self, req: _Request, name: str | None, store: dict[str, dict[str, Any]], action: str, kind: str) -> tuple[int, Any]:
        if req.method in ("GET", "HEAD"):
            self._authorize(req, f"{action}/get")
            with self._lock:
                names = [n for n in sorted(store) if name is None or any(fnmatch.fnmatchcase(n, p) for p in name.split(","))]
                if name is not None and not names:
                    if req.method == "HEAD":
                        return 404, None
                    raise EsError(404, "resource_not_found_exception", f"{kind.replace('_', ' ')} matching [{name}] not found")
                if req.method == "HEAD":
                    return 200, None
                key = "index_templates" if kind == "index_template" else "component_templates"
                inner = "index_template" if kind == "index_template" else "component_template"
                return 200, {key: [{"name": n, inner: self._render_template(store[n])} for n in names]}
        if name is None:
            return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [{req.method}], allowed: [GET]", "status": 405}
        if req.method == "DELETE":
            self._authorize(req, f"{action}/delete")
            with self._lock:
                if name not in store:
                    raise EsError(404, "resource_not_found_exception", f"{kind} matching [{name}] not found" if kind == "index_template"
                                  else f"component_template matching [{name}] not found")
                del store[name]
            return 200, {"acknowledged": True}
        self._authorize(req, f"{action}/put")
        body = req.json(required=True)
        if not isinstance(body, dict):
            raise parsing_error("request body is required")
        allowed = {"index_patterns", "template", "priority", "version", "composed_of", "_meta", "data_stream", "allow_auto_create",
                   "ignore_missing_component_templates", "deprecated"} if kind == "index_template" else {"template", "version", "_meta", "deprecated"}
        unknown = set(body) - allowed
        if unknown:
            raise EsError(400, "x_content_parse_exception", f"[1:2] [{kind}] unknown field [{sorted(unknown)[0]}]")
        template = copy.deepcopy(body)
        inner = template.get("template") or {}
        settings = _flat_settings(inner.get("settings") or {})
        self._check_settings(settings)
        mappings = self._unwrap_typed(inner.get("mappings") or {})
        _validate_mapping(mappings.get("properties") or {})
        if kind == "index_template":
            patterns = template.get("index_patterns")
            if not patterns:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
            template["index_patterns"] = [patterns] if isinstance(patterns, str) else list(patterns)
            with self._lock:
                missing = [c for c in template.get("composed_of", []) if c not in self._component_templates]
                if missing and not template.get("ignore_missing_component_templates"):
                    raise EsError(400, "invalid_index_template_exception",
                                  f"index_template [{name}] invalid, cause [index template [{name}] specifies component templates {missing} "
                                  "that do not exist]", {"name": name})
                priority = int(template.get("priority", 0))
                clashes = {n: t["index_patterns"] for n, t in self._templates.items() if n != name and int(t.get("priority", 0)) == priority
                           and any(fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a) or a == b
                                   for a in template["index_patterns"] for b in t["index_patterns"])}
                if clashes:
                    listed = ", ".join(f"{n} => [{', '.join(p)}]" for n, p in clashes.items())
                    raise illegal_argument(
                        f"index template [{name}] has index patterns [{', '.join(template['index_patterns'])}] matching patterns from existing "
                        f"templates [{', '.join(clashes)}] with patterns ({listed}) that have the same priority [{priority}], multiple index "
                        "templates may not match during index creation, please use a different priority")
        if "create" in req.query and req.flag("create") and name in store:
            raise illegal_argument(f"{kind.replace('_', ' ')} [{name}] already exists")
        if inner:
            template["template"] = {**inner, **({"settings": _nest_settings(settings)} if settings else {}),
                                    **({"mappings": mappings} if mappings else {})}
        with self._lock:
            store[name] = template
        return 200, {"acknowledged": True}

    @staticmethod
    def _render_template(template: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(template)
        if "settings" in out.get("template", {}):
            out["template"]["settings"] = {"index": out["template"]["settings"]} if "index" not in out["template"]["settings"] \
                else out["template"]["settings"]
        if "index_patterns" in out:
            out.setdefault("composed_of", [])
        return out

    @_route("GET,HEAD,PUT,POST,DELETE", r"/_template(?:/(?P<name>[^/]+))?")
    def _rest_legacy_template(self, req: _Request, name: str | None = None) -> tuple[int, Any]:
        if req.method in ("GET", "HEAD"):
            self._authorize(req, "indices:admin/template/get")
            with self._lock:
                names = [n for n in sorted(self._legacy_templates) if name is None or any(fnmatch.fnmatchcase(n, p) for p in name.split(","))]
                if req.method == "HEAD":
                    return (200 if names else 404), None
                if name is not None and not names:
                    return 404, {}
                out = {}
                for tname in names:
                    tmpl = self._legacy_templates[tname]
                    entry = {"order": int(tmpl.get("order", 0))}
                    if "version" in tmpl:
                        entry["version"] = tmpl["version"]
                    settings = {f"index.{k}": v for k, v in _flat_settings(tmpl.get("settings") or {}).items()}
                    entry.update({"index_patterns": tmpl["index_patterns"], "settings": _nest_settings(settings),
                                  "mappings": tmpl.get("mappings") or {}, "aliases": tmpl.get("aliases") or {}})
                    out[tname] = entry
                return 200, out
        if name is None:
            return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [{req.method}], allowed: [GET]", "status": 405}
        if req.method == "DELETE":
            self._authorize(req, "indices:admin/template/delete")
            with self._lock:
                if name not in self._legacy_templates:
                    raise index_template_missing(name)
                del self._legacy_templates[name]
            return 200, {"acknowledged": True}
        self._authorize(req, "indices:admin/template/put")
        if self.profile != "7.17":
            req.warnings.append("Legacy index templates are deprecated in favor of composable templates.")
        body = copy.deepcopy(req.json(required=True))
        patterns = body.pop("index_patterns", None) or body.pop("template", None)
        if not patterns:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
        settings = _flat_settings(body.get("settings") or {})
        self._check_settings(settings)
        mappings = self._unwrap_typed(body.get("mappings") or {}, include_type_name=req.flag("include_type_name"))
        _validate_mapping(mappings.get("properties") or {})
        with self._lock:
            if req.flag("create") and name in self._legacy_templates:
                raise illegal_argument(f"index_template [{name}] already exists")
            self._legacy_templates[name] = {"order": body.get("order", 0), "index_patterns": [patterns] if isinstance(patterns, str) else patterns,
                                            "settings": settings, "mappings": mappings, "aliases": body.get("aliases") or {},
                                            **({"version": body["version"]} if "version" in body else {})}
        return 200, {"acknowledged": True}

    # -- documents
    @_route("POST,PUT", r"/(?:(?P<index>[^/_][^/]*)/)?_bulk")
    def _rest_bulk(self, req: _Request, index: str | None = None) -> tuple[int, Any]:  # pylint: disable=too-many-locals,too-many-branches
        started = time.time()
        text = req.body.decode("utf-8")
        if text and not text.endswith("\n"):
            raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
        lines = text.split("\n")
        items: list[dict[str, Any]] = []
        pos = 0
        operations: list[tuple[int, str, dict[str, Any], Any]] = []
        while pos < len(lines):
            line = lines[pos].strip()
            pos += 1
            if not line:
                continue
            try:
                action_line = json.loads(line)
            except ValueError as exc:
                raise EsError(400, "x_content_parse_exception", f"[1:1] Unexpected character in action/metadata line [{pos}]") from exc
            if not isinstance(action_line, dict) or len(action_line) != 1:
                raise illegal_argument(f"Malformed action/metadata line [{pos}], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]")
            action, meta = next(iter(action_line.items()))
            if action not in ("index", "create", "update", "delete"):
                raise illegal_argument(f"Malformed action/metadata line [{pos}], expected field [create], [delete], [index] or [update] "
                                       f"but found [{action}]")
            for key in meta:
                if key == "_type" and (self.profile == "7.17" or req.compat == 7):
                    req.warnings.append("[types removal] Specifying types in bulk requests is deprecated.")
                    continue
                if key not in ("_index", "_id", "routing", "pipeline", "op_type", "require_alias", "if_seq_no", "if_primary_term", "version",
                               "version_type", "retry_on_conflict", "dynamic_templates", "require_data_stream", "_source", "list_executed_pipelines"):
                    raise illegal_argument(f"Action/metadata line [{pos}] contains an unknown parameter [{key}]")
            source = None
            if action != "delete":
                if pos >= len(lines) or not lines[pos].strip():
                    raise illegal_argument("The bulk request must be terminated by a newline [\\n]")
                try:
                    source = json.loads(lines[pos])
                except ValueError as exc:
                    raise EsError(400, "x_content_parse_exception", f"[1:1] Unexpected character in line [{pos + 1}]") from exc
                pos += 1
            operations.append((pos, action, meta, source))
        if not operations:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
        with self._lock:
            for _line, action, meta, source in operations:
                target = meta.get("_index") or index
                doc_id = None if meta.get("_id") is None else str(meta["_id"])
                if action == "index" and meta.get("op_type") == "create":
                    action = "create"
                item: dict[str, Any]
                try:
                    if not target:
                        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
                    item = self._bulk_one(req, action, target, doc_id, source)
                except EsError as err:
                    item = {"_index": target, **({"_type": "_doc"} if self.profile == "7.17" else {}), "_id": doc_id,
                            "status": err.status, "error": err.cause() if err.caused_by is None else {**err.cause(), "caused_by": err.caused_by}}
                items.append({action: item})
            self._changed.notify_all()
        errors = any("error" in next(iter(i.values())) for i in items)
        return 200, {"took": int((time.time() - started) * 1000), "errors": errors, "items": items}

    def _bulk_one(self, req: _Request, action: str, target: str, doc_id: str | None, source: Any) -> dict[str, Any]:
        exists = target in self._indices
        write_action = {"delete": "indices:data/write/delete", "update": "indices:data/write/update"}.get(action, "indices:data/write/index")
        self._authorize(req, write_action, [target])
        if not exists and action != "delete":
            self._authorize(req, _AUTO_CREATE, [target])
        if action in ("index", "create"):
            return self._write(target, doc_id, source, action)
        if action == "delete":
            return self._delete_doc(target, doc_id or "")
        return self._update_doc(target, doc_id or "", source)

    def _delete_doc(self, target: str, doc_id: str) -> dict[str, Any]:
        index = self._indices.get(target)
        if index is None:
            raise index_not_found(target)
        doc = index.docs.pop(doc_id, None)
        index.seq_no += 1
        if doc is not None:
            index.deleted += 1
        out = {"_index": target, **({"_type": "_doc"} if self.profile == "7.17" else {}), "_id": doc_id,
               "_version": (doc.version + 1) if doc else 1, "result": "deleted" if doc else "not_found", "_shards": self._shards_info(index),
               "_seq_no": index.seq_no, "_primary_term": 1, "status": 200 if doc else 404}
        return out

    def _update_doc(self, target: str, doc_id: str, body: Any) -> dict[str, Any]:
        index = self._indices.get(target)
        doc = index.docs.get(doc_id) if index is not None else None
        if not isinstance(body, dict):
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;")
        if doc is None:
            if body.get("doc_as_upsert") and "doc" in body:
                return self._write(target, doc_id, body["doc"], "index")
            if "upsert" in body:
                return self._write(target, doc_id, body["upsert"], "index")
            if index is None:
                raise index_not_found(target)
            reason = f"[_doc][{doc_id}]: document missing" if self.profile == "7.17" else f"[{doc_id}]: document missing"
            raise EsError(404, "document_missing_exception", reason, {"index_uuid": index.uuid, "shard": "0", "index": target})
        merged = _deep_merge(doc.source, body.get("doc") or {})
        if merged == doc.source and body.get("detect_noop", True):
            return {"_index": target, **({"_type": "_doc"} if self.profile == "7.17" else {}), "_id": doc_id, "_version": doc.version,
                    "result": "noop", "_shards": {"total": 0, "successful": 0, "failed": 0}, "_seq_no": doc.seq_no, "_primary_term": 1,
                    "status": 200}
        return self._write(target, doc_id, merged, "index")

    def _doc_response(self, status_item: dict[str, Any]) -> tuple[int, Any]:
        item = dict(status_item)
        status = item.pop("status")
        return status, item

    @_route("POST,PUT", r"/(?P<index>[^/_][^/]*)/_doc(?:/(?P<doc_id>[^/]+))?|/(?P<cindex>[^/_][^/]*)/_create/(?P<cid>[^/]+)")
    def _rest_index_doc(self, req: _Request, index: str | None = None, doc_id: str | None = None, cindex: str | None = None,
                        cid: str | None = None) -> tuple[int, Any]:
        target = index or cindex or ""
        op = "create" if cindex or req.query.get("op_type") == "create" else "index"
        if req.method == "PUT" and doc_id is None and cid is None:
            return 405, {"error": f"Incorrect HTTP method for uri [{req.path}] and method [PUT], allowed: [POST]", "status": 405}
        source = req.json(required=True)
        with self._lock:
            self._authorize(req, "indices:data/write/index", [target])
            if target not in self._indices:
                self._authorize(req, _AUTO_CREATE, [target])
            result = self._write(target, cid or doc_id, source, op)
            self._changed.notify_all()
        if req.query.get("refresh") in ("true", ""):
            result["forced_refresh"] = True
        return self._doc_response(result)

    @_route("POST", r"/_reindex")
    def _rest_reindex(self, req: _Request) -> tuple[int, Any]:
        """Copy the documents of ``source.index`` (matching ``source.query``) into ``dest.index`` under their ids, as the
        reindex API does (the destination index is created by the first write, so index templates apply); ``failures``
        lists the documents the destination's mapping refused."""
        body = req.json(required=True)
        source, dest = body.get("source") or {}, body.get("dest") or {}
        if not source.get("index") or not dest.get("index"):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: " + ("1: use _all if you really want to copy from all existing indexes;" if not source.get("index")
                                                   else "1: index must be specified;"))
        started = time.time()
        with self._lock:
            self._authorize_read(req, source["index"], "indices:data/read/search")
            names = self._resolve(source["index"], {}, req)
            self._authorize(req, "indices:data/write/index", [dest["index"]])
            now = int(self.clock() * 1000)
            pairs = [p for p in self._pairs(names, now) if evaluate(source.get("query"), p[0], p[1])]
            created = updated = 0
            failures = []
            for ctx, doc in pairs:
                try:
                    result = self._write(dest["index"], doc.doc_id, copy.deepcopy(doc.source), dest.get("op_type", "index"))
                except EsError as err:
                    failures.append({"index": dest["index"], "id": doc.doc_id, "cause": err.cause(), "status": err.status})
                    continue
                created += result.get("result") == "created"
                updated += result.get("result") == "updated"
                del ctx
            self._changed.notify_all()
        return 200, {"took": int((time.time() - started) * 1000), "timed_out": False, "total": len(pairs), "updated": updated,
                     "created": created, "deleted": 0, "batches": 1 if pairs else 0, "version_conflicts": 0, "noops": 0,
                     "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0, "requests_per_second": -1.0,
                     "throttled_until_millis": 0, "failures": failures}

    @_route("POST", r"/(?P<index>[^/_][^/]*)/_update/(?P<doc_id>[^/]+)")
    def _rest_update_doc(self, req: _Request, index: str, doc_id: str) -> tuple[int, Any]:
        body = req.json(required=True)
        with self._lock:
            self._authorize(req, "indices:data/write/update", [index])
            return self._doc_response(self._update_doc(index, doc_id, body))

    @_route("GET,HEAD,DELETE", r"/(?P<index>[^/_][^/]*)/(?P<kind>_doc|_source)/(?P<doc_id>[^/]+)")
    def _rest_get_doc(self, req: _Request, index: str, kind: str, doc_id: str) -> tuple[int, Any]:
        with self._lock:
            if req.method == "DELETE":
                self._authorize(req, "indices:data/write/delete", [index])
                return self._doc_response(self._delete_doc(index, doc_id))
            self._authorize(req, "indices:data/read/get", [index])
            idx = self._indices.get(index)
            if idx is None:
                raise index_not_found(index)
            doc = idx.docs.get(doc_id)
            head = {"_index": index, **({"_type": "_doc"} if self.profile == "7.17" else {}), "_id": doc_id}
            if doc is None:
                if kind == "_source":
                    raise EsError(404, "resource_not_found_exception", f"Document not found [{index}]/[{doc_id}]")
                return 404, (None if req.method == "HEAD" else {**head, "found": False})
            if req.method == "HEAD":
                return 200, None
            source = filter_source(doc.source, {"true": True, "false": False}.get(req.query.get("_source", "true"), req.query.get("_source", "").split(",")))
            if kind == "_source":
                return 200, copy.deepcopy(source)
            out = {**head, "_version": doc.version, "_seq_no": doc.seq_no, "_primary_term": 1, "found": True}
            if source is not None:
                out["_source"] = copy.deepcopy(source)
            return 200, out

    # -- search
    @_route("GET,POST", r"/(?:(?P<index>[^/_][^/]*|_all)/)?_search")
    def _rest_search(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        body = req.json()
        if "source" in req.query and not body:
            body = json.loads(req.query["source"])
        pattern = index or "_all"
        with self._lock:
            self._authorize_read(req, pattern, "indices:data/read/search")
        return 200, self._search(pattern, body, req.query, req.warnings, req)

    def _authorize_read(self, req: _Request, pattern: str, action: str) -> None:
        concrete = [p for p in pattern.split(",") if p and "*" not in p and p != "_all" and not p.startswith("-") and p in self._indices]
        if concrete:
            self._authorize(req, action, concrete)
        elif any("*" in p or p == "_all" for p in pattern.split(",")):
            self._authorize(req, action, [])

    @_route("GET,POST", r"/(?:(?P<index>[^/_][^/]*|_all)/)?_count")
    def _rest_count(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        body = req.json()
        unknown = set(body) - {"query"}
        if unknown:
            raise parsing_error(f"request does not support [{sorted(unknown)[0]}]")
        query = body.get("query")
        if req.query.get("q"):
            query = {"query_string": {"query": req.query["q"]}}
        with self._lock:
            self._authorize_read(req, index or "_all", "indices:data/read/search")
            names = self._resolve(index or "_all", req.query, req)
            now = int(self.clock() * 1000)
            count = sum(1 for ctx, doc in self._pairs(names, now) if evaluate(query, ctx, doc))
            shards = sum(self._indices[n].shards() for n in names)
        return 200, {"count": count, "_shards": {"total": shards, "successful": shards, "skipped": 0, "failed": 0}}

    @_route("GET,POST", r"/(?:(?P<index>[^/_][^/]*|_all)/)?_field_caps")
    def _rest_field_caps(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        patterns = [p for p in req.query.get("fields", "").split(",") if p] or (req.json().get("fields") if req.body.strip() else None)
        if not patterns:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: specified fields can't be null or empty;")
        with self._lock:
            self._authorize_read(req, index or "_all", "indices:data/read/field_caps")
            names = self._resolve(index or "_all", req.query, req, "indices:data/read/field_caps")
        unmapped = req.query.get("include_unmapped", "false") == "true"
        caps = self.field_capabilities(names, patterns, unmapped)
        return 200, {"indices": names, "fields": caps}

    @_route("GET,POST", r"/(?:(?P<index>[^/_][^/]*|_all)/)?_refresh")
    def _rest_refresh(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        with self._lock:
            names = self._resolve(index or "_all", req.query, req, "indices:admin/refresh")
            if index and "*" not in index:
                self._authorize(req, "indices:admin/refresh", names)
            shards = sum(self._indices[n].shards() for n in names)
        return 200, {"_shards": {"total": shards * 2, "successful": shards, "failed": 0}}

    # -- index metadata
    @_route("GET,PUT,POST", r"/(?:(?P<index>[^/_][^/]*|_all)/)?_mapping")
    def _rest_mapping(self, req: _Request, index: str | None = None) -> tuple[int, Any]:
        with self._lock:
            if req.method == "GET":
                names = self._resolve(index or "_all", req.query, req, "indices:admin/mappings/get")
                self._authorize(req, "indices:admin/mappings/get", names if index and "*" not in index else [])
                return 200, {n: {"mappings": _sorted_mapping(self._indices[n].mappings)} for n in names}
            if not index:
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: mapping source is missing;")
            names = self._resolve(index, req.query, req, "indices:admin/mapping/put")
            self._authorize(req, "indices:admin/mapping/put", names)
            body = self._unwrap_typed(req.json(required=True))
            _validate_mapping(body.get("properties") or {})
            for name in names:
                idx = self._indices[name]
                merged = _merge_mapping(idx.mappings, body)
                if _count_fields(merged.get("properties") or {}) > idx.field_limit():
                    raise illegal_argument(self._limit_message(idx.field_limit(), _count_fields(merged.get("properties") or {})
                                                               - _count_fields(idx.mappings.get("properties") or {})))
                idx.set_mappings(merged)
            return 200, {"acknowledged": True}

    @_route("GET,PUT", r"/(?:(?P<index>[^/_][^/]*|_all)/)?_settings(?:/(?P<setting>[^/]+))?")
    def _rest_settings(self, req: _Request, index: str | None = None, setting: str | None = None) -> tuple[int, Any]:
        with self._lock:
            if req.method == "GET":
                names = self._resolve(index or "_all", req.query, req, "indices:monitor/settings/get")
                out = {}
                for name in names:
                    flat = {f"index.{k}": v for k, v in self._settings_view(self._indices[name]).items()}
                    if setting:
                        flat = {k: v for k, v in flat.items() if fnmatch.fnmatchcase(k, setting)}
                    out[name] = {"settings": {k: str(v) for k, v in flat.items()} if req.flag("flat_settings") else _nest_settings(flat)}
                return 200, out
            names = self._resolve(index or "_all", req.query, req, "indices:admin/settings/update")
            self._authorize(req, "indices:admin/settings/update", names)
            update = _flat_settings(req.json(required=True))
            for key in update:
                if key in ("number_of_shards", "provided_name", "creation_date", "uuid", "version.created"):
                    raise illegal_argument(f"final {names[0] if names else index} setting [index.{key}], not updateable" if key == "number_of_shards"
                                           else f"unknown setting [index.{key}]")
            self._check_settings(update)
            for name in names:
                for key, value in update.items():
                    if value is None:
                        self._indices[name].settings.pop(key, None)
                    else:
                        self._indices[name].settings[key] = value
            self._changed.notify_all()
            return 200, {"acknowledged": True}

    def _settings_view(self, index: _Index) -> dict[str, Any]:
        flat = dict(index.settings)
        flat.update({"provided_name": index.name, "creation_date": str(index.created), "uuid": index.uuid,
                     "version.created": self.info["index_created"]})
        if self.profile != "7.17":
            flat.setdefault("routing.allocation.include._tier_preference", "data_content")
        return flat

    @_route("PUT,GET,HEAD,DELETE", r"/(?P<index>[^/_][^/]*|_all)")
    def _rest_index(self, req: _Request, index: str) -> tuple[int, Any]:
        with self._lock:
            if req.method == "PUT":
                self._authorize(req, "indices:admin/create", [index])
                created = self._create_index(index, req.json())
                return 200, {"acknowledged": True, "shards_acknowledged": True, "index": created.name}
            if req.method == "DELETE":
                if index in ("_all", "*") or "*" in index:
                    if self.profile != "7.17" and req.query.get("allow_no_indices") is None and index in ("_all", "*"):
                        raise illegal_argument("Wildcard expressions or all indices are not allowed")
                names = self._resolve(index, req.query, req, "indices:admin/delete")
                self._authorize(req, "indices:admin/delete", names)
                for name in names:
                    del self._indices[name]
                self._changed.notify_all()
                return 200, {"acknowledged": True}
            try:
                names = self._resolve(index, req.query, req, "indices:admin/get")
            except EsError:
                if req.method == "HEAD":
                    return 404, None
                raise
            self._authorize(req, "indices:admin/get", names if "*" not in index else [])
            if req.method == "HEAD":
                return (200 if names else 404), None
            return 200, {n: {"aliases": copy.deepcopy(self._indices[n].aliases), "mappings": _sorted_mapping(self._indices[n].mappings),
                             "settings": _nest_settings({f"index.{k}": v for k, v in self._settings_view(self._indices[n]).items()})}
                         for n in names}


def _nodes_ok(count: int, spec: str) -> bool:
    match = re.fullmatch(r"(>=|<=|>|<|ge\(|le\(|gt\(|lt\()?(\d+)\)?", spec.strip())
    if match is None:
        raise illegal_argument(f"cannot parse wait_for_nodes value [{spec}]")
    op, number = match.group(1) or "==", int(match.group(2))
    return {"==": count == number, ">=": count >= number, "ge(": count >= number, "<=": count <= number, "le(": count <= number,
            ">": count > number, "gt(": count > number, "<": count < number, "lt(": count < number}[op]


def index_template_missing(name: str) -> EsError:
    """404 for a legacy template that does not exist."""
    return EsError(404, "index_template_missing_exception", f"index_template [{name}] missing", {"name": name})


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_password(password: Any) -> None:
    if not isinstance(password, str) or len(password) < 6:
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: passwords must be at least [6] characters long;")


# ----------------------------------------------------------------------------------------- HTTP
FAULT_ERRORS = {
    429: ("es_rejected_execution_exception",
          "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
          "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]"),
    500: ("exception", "injected fault"),
    502: ("exception", "injected fault"),
    503: ("cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"),
    504: ("exception", "injected fault"),
    401: ("security_exception", "unable to authenticate user for REST request"),
    403: ("security_exception", "action is unauthorized"),
    408: ("timeout_exception", "injected timeout"),
}


class ElasticsearchServer(EngineServer):
    """An Elasticsearch engine served over HTTP/1.1 (keep-alive), with the shared request log and faults."""

    engine: Elasticsearch

    def fault_response(self, fault: Fault) -> tuple[int, bytes, dict[str, str]]:
        """An injected fault, worded as Elasticsearch words that status."""
        etype, reason = FAULT_ERRORS.get(fault.status, ("exception", "injected fault"))
        return fault.status, json.dumps(EsError(fault.status, etype, reason).body()).encode(), dict(_PRODUCT_HEADERS)

    def unknown_hook_response(self, path: str, method: str) -> tuple[int, bytes, dict[str, str]]:
        """Elasticsearch's answer to a path it has no handler for."""
        body = {"error": f"no handler found for uri [{path}] and method [{method}]", "status": 400}
        return 400, json.dumps(body).encode(), dict(_PRODUCT_HEADERS)


_PRODUCT_HEADERS = {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}


def _sorted_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    """A mapping as Elasticsearch prints it: properties in name order."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if key in ("properties", "fields") and isinstance(value, dict):
            out[key] = {name: _sorted_mapping(value[name]) for name in sorted(value)}
        else:
            out[key] = copy.deepcopy(value)
    return out
