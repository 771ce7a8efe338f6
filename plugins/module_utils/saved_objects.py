# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kibana saved objects as code, as pure functions: builders, comparison and spec validation.

The 2018 runbook clicked four things into Kibana: the ``logstash-*`` index pattern, the "Falco
Alerts" saved search (``kubernetes.container_name: falco`` and ``priority`` exists), six
aggregation-based visualizations and a dashboard holding them and the search. The builders here
write the same objects with fixed ids, each as ``{"type", "id", "attributes", "references"}``,
in the shape one Kibana major (the *dialect*) stores:

- ``"7"`` (7.17): ``references``, with ``indexRefName`` in
  ``searchSourceJSON``, ``savedSearchRefName`` on visualizations and ``panelRefName`` on panels.
- ``"8"`` (8.x and 9.x): as 7, with the pie legend as ``legendDisplay`` (8.1's pie migration) and
  the data view ``name``. Panel references keep 7's unprefixed ``panel_N`` names, which 8.x
  resolves too (without ``<panelIndex>:`` prefixed references it looks in all references).

Objects sent without ``migrationVersion`` are taken by Kibana as current, so each dialect writes
what that major itself saves; every ``*JSON`` attribute is a string of compact JSON.

``normalise`` and ``differences`` decide idempotence: JSON strings are compared as data, server
managed fields are dropped, and only what the desired object states counts (attributes Kibana
adds, such as an index pattern's ``fields``, are ignored unless desired). ``validate_spec``
checks the data-driven spec ``build_all`` takes (the shape the role defaults hold).
Nothing here talks to Kibana.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

DIALECTS = ("7", "8")
DEFAULT_DIALECT = "8"
# The Kibana version each dialect's shapes follow; written as a dashboard panel's "version".
SHAPE_VERSIONS = {"7": "7.17.0", "8": "8.15.0"}

TIME_KINDS = ("area", "histogram", "line")
TERMS_KINDS = ("pie", "table")
KINDS = TIME_KINDS + TERMS_KINDS
AGGS = ("terms", "significant_terms")
# Kibana's date histogram intervals ("m" is the runbook's "Minute").
INTERVALS = ("auto", "ms", "s", "m", "h", "d", "w", "M", "y")
SOURCES = ("search", "index_pattern")

ID_PREFIX = "seclog-falco-"
DEFAULT_INDEX_PATTERN = "logstash-*"
DEFAULT_TIME_FIELD = "@timestamp"
# The runbook's two filters (container name falco, priority exists) as one KQL query.
DEFAULT_QUERY = "kubernetes.container_name: falco and priority: *"
DEFAULT_LANGUAGE = "kuery"
DEFAULT_COLUMNS = ("rule", "priority", "output", "kubernetes.host")
DEFAULT_SORT = (("@timestamp", "desc"),)
# A plain top N by default; the runbook chose Significant Terms, which `agg: significant_terms` selects.
DEFAULT_AGG = "terms"
DEFAULT_SIZE = 10
DEFAULT_INTERVAL = "m"

INDEX_REF_NAME = "kibanaSavedObjectMeta.searchSourceJSON.index"
SEARCH_REF_NAME = "search_0"
PANEL_WIDTH = 24
PANEL_HEIGHT = 15
PANELS_PER_ROW = 2

# Attributes stored as strings of JSON (besides kibanaSavedObjectMeta.searchSourceJSON and any "*JSON").
JSON_STRING_ATTRIBUTES = ("visState", "fields", "fieldFormatMap", "sourceFilters", "fieldAttrs", "runtimeFieldMap", "typeMeta")

_VERSION_RE = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?\s*$")

DEFAULT_SPEC = {
    "index_pattern": {"id": ID_PREFIX + "logstash", "title": DEFAULT_INDEX_PATTERN, "time_field": DEFAULT_TIME_FIELD},
    "search": {"id": ID_PREFIX + "alerts", "title": "Falco Alerts", "query": DEFAULT_QUERY, "language": DEFAULT_LANGUAGE,
               "columns": list(DEFAULT_COLUMNS), "sort": [list(pair) for pair in DEFAULT_SORT]},
    "visualizations": [
        {"id": ID_PREFIX + "alerts-over-time", "title": "Falco alerts over time", "kind": "area",
         "field": DEFAULT_TIME_FIELD, "interval": DEFAULT_INTERVAL},
        {"id": ID_PREFIX + "top-rules-pie", "title": "Top 10 Falco rules", "kind": "pie", "field": "rule", "size": 10},
        {"id": ID_PREFIX + "priorities-pie", "title": "Falco alerts by priority", "kind": "pie", "field": "priority",
         "size": 10},
        {"id": ID_PREFIX + "top-rules-table", "title": "Top 20 Falco rules", "kind": "table", "field": "rule",
         "size": 20},
        {"id": ID_PREFIX + "nodes-table", "title": "Falco alerts by Kubernetes node", "kind": "table",
         "field": "kubernetes.host", "size": 20},
        # The runbook's pod table: significant terms, the pods that stand out among Falco's alerts. Falco's field
        # k8s.pod.name, with its dots as "_" (the efk role's Fluentd de-dots output_fields, see the index template).
        {"id": ID_PREFIX + "pods-table", "title": "Falco alerts by Kubernetes pod", "kind": "table",
         "field": "output_fields.k8s_pod_name", "size": 20, "agg": "significant_terms"},
    ],
    "dashboard": {"id": ID_PREFIX + "dashboard", "title": "Falco security events"},
}

_SECTION_KEYS = {
    "index_pattern": ("id", "title", "time_field", "name"),
    "search": ("id", "title", "query", "language", "columns", "sort", "description"),
    "visualization": ("id", "title", "kind", "field", "size", "agg", "interval", "source", "description"),
    "dashboard": ("id", "title", "description"),
}


class SavedObjectError(ValueError):
    """A version, builder argument or spec the builders cannot use."""


# --------------------------------------------------------------------------------------------
# Dialect
# --------------------------------------------------------------------------------------------
def dialect(version_string):
    """Return the dialect ("7" or "8") for a Kibana version string ("7.17.25", "v8.15.3", "8.15.3-SNAPSHOT").

    9.x answers "8": it still serves the same saved object shapes. Raises SavedObjectError for
    anything older than 7.17 (the oldest release this collection supports) or not a version.
    """
    match = _VERSION_RE.match(version_string) if isinstance(version_string, str) else None
    if not match:
        raise SavedObjectError("Kibana version %r is not a version like 7.17.25 or 8.15.3." % (version_string,))
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if (major, minor) < (7, 17):
        raise SavedObjectError("Kibana %s is older than 7.17: this collection supports Kibana 7.17 and 8.x (their saved object "
                               "shapes and APIs). Upgrade Kibana, or leave the Kibana stage out (falco_efk_stage_kibana_dashboards: false)."
                               % version_string.strip())
    return str(min(major, 8))


def _check_dialect(value):
    if value not in DIALECTS:
        raise SavedObjectError("Unknown saved object dialect %r; use one of %s (see dialect())." % (value, ", ".join(DIALECTS)))
    return value


def _dumps(value):
    """Compact JSON, as JSON.stringify writes it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def _saved_object(type_, object_id, attributes, references):
    if not isinstance(object_id, str) or not object_id:
        raise SavedObjectError("A %s needs a non-empty string id, got %r." % (type_, object_id))
    return {"type": type_, "id": object_id, "attributes": attributes, "references": references}


def _search_source(index_pattern_id=None, query="", language=DEFAULT_LANGUAGE, extra=None):
    """The searchSourceJSON string and the references it needs."""
    source = dict(extra or {})
    source["query"] = {"query": query, "language": language}
    source["filter"] = []
    references = []
    if index_pattern_id is not None:
        source["indexRefName"] = INDEX_REF_NAME
        references.append({"name": INDEX_REF_NAME, "type": "index-pattern", "id": index_pattern_id})
    return _dumps(source), references


# --------------------------------------------------------------------------------------------
# Index pattern / data view
# --------------------------------------------------------------------------------------------
def index_pattern(object_id, title=DEFAULT_INDEX_PATTERN, time_field=DEFAULT_TIME_FIELD,  # pylint: disable=redefined-outer-name
                  dialect=DEFAULT_DIALECT, name=None):
    """The index pattern saved object (type index-pattern in every dialect; 8.x calls it a data view).

    ``name`` (8 only) is the data view's display name, the title unless given.
    """
    _check_dialect(dialect)
    attributes = {"title": title}
    if time_field:
        attributes["timeFieldName"] = time_field
    if dialect == "8":
        attributes["name"] = title if name is None else name
    return _saved_object("index-pattern", object_id, attributes, [])


def data_view_body(object_id, title=DEFAULT_INDEX_PATTERN, time_field=DEFAULT_TIME_FIELD, name=None, override=False):
    """The body of ``POST /api/data_views/data_view`` (Kibana 8.3+)."""
    spec = {"id": object_id, "title": title, "name": title if name is None else name}
    if time_field:
        spec["timeFieldName"] = time_field
    return {"override": bool(override), "data_view": spec}


def index_pattern_body(object_id, title=DEFAULT_INDEX_PATTERN, time_field=DEFAULT_TIME_FIELD, override=False):
    """The body of ``POST /api/index_patterns/index_pattern`` (Kibana 7.11+, a legacy alias on 8.x)."""
    spec = {"id": object_id, "title": title}
    if time_field:
        spec["timeFieldName"] = time_field
    return {"override": bool(override), "index_pattern": spec}


# --------------------------------------------------------------------------------------------
# Saved search
# --------------------------------------------------------------------------------------------
def _sort_pairs(sort):
    """A sort as a list of [field, direction] pairs (accepts one flat pair too)."""
    if not sort:
        return []
    sort = list(sort)
    if isinstance(sort[0], str):
        sort = [sort]
    return [list(pair) for pair in sort]


def saved_search(object_id, title="Falco Alerts", index_pattern_id=None, query=DEFAULT_QUERY, columns=DEFAULT_COLUMNS,
                 sort=DEFAULT_SORT, language=DEFAULT_LANGUAGE, dialect=DEFAULT_DIALECT, description=""):  # pylint: disable=redefined-outer-name
    """The saved search Discover shows (the runbook's "Falco Alerts"): query, columns and sort on an index pattern."""
    _check_dialect(dialect)
    if not index_pattern_id:
        raise SavedObjectError("Saved search %s needs index_pattern_id." % object_id)
    search_source, references = _search_source(index_pattern_id, query, language,
                                               extra={"highlightAll": True, "version": True})
    pairs = _sort_pairs(sort)
    attributes = {
        "title": title, "description": description, "hits": 0, "columns": list(columns),
        "sort": pairs,
        "version": 1, "kibanaSavedObjectMeta": {"searchSourceJSON": search_source},
    }
    return _saved_object("search", object_id, attributes, references)


# --------------------------------------------------------------------------------------------
# Visualizations (aggregation-based)
# --------------------------------------------------------------------------------------------
def _time_chart_params(kind):
    """Vislib params of an area, line or histogram chart of the count over time."""
    series_mode = "normal" if kind == "line" else "stacked"
    params = {
        "type": kind,
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True, "style": {},
                          "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True, "style": {},
                       "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100}, "title": {"text": "Count"}}],
        "seriesParams": [{"show": True, "type": kind, "mode": series_mode, "data": {"label": "Count", "id": "1"},
                          "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "lineWidth": 2, "showCircles": True,
                          "interpolate": "linear"}],
        "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [], "addTimeMarker": False,
    }
    # What 7.12's vislib migration made every area, line and histogram chart carry.
    params.update({"palette": {"type": "palette", "name": "default"}, "isVislibVis": True, "detailedTooltip": True})
    if kind == "area":
        params["fittingFunction"] = "linear"
    return params


def _pie_params(dialect_):
    params = {"type": "pie", "addTooltip": True, "legendPosition": "right", "isDonut": True,
              "labels": {"show": False, "values": True, "last_level": True, "truncate": 100}}
    if dialect_ == "8":
        params["legendDisplay"] = "show"  # 8.1 replaced addLegend with legendDisplay
    else:
        params["addLegend"] = True
    params.update({"palette": {"type": "palette", "name": "default"}, "distinctColors": True})
    return params


def _table_params(dialect_):
    params = {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False, "totalFunc": "sum",
              "percentageCol": "", "showToolbar": True}
    if dialect_ == "8":
        params["autoFitRowToContent"] = False
    return params


def _bucket_agg(kind, field, size, agg, interval):
    if kind in TIME_KINDS:
        params = {"field": field or DEFAULT_TIME_FIELD, "interval": interval, "min_doc_count": 1, "extended_bounds": {},
                  "useNormalizedEsInterval": True, "scaleMetricValues": False, "drop_partials": False}
        return {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment", "params": params}
    if agg == "significant_terms":
        params = {"field": field, "size": size}
    else:
        params = {"field": field, "size": size, "order": "desc", "orderBy": "1", "otherBucket": False,
                  "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing"}
    # Pie charts split slices ("segment"), tables split rows ("bucket").
    return {"id": "2", "enabled": True, "type": agg, "schema": "segment" if kind == "pie" else "bucket", "params": params}


def visualization(object_id, title, kind, index_pattern_id=None, search_id=None, field=None, size=DEFAULT_SIZE, agg=DEFAULT_AGG,
                  interval=DEFAULT_INTERVAL, dialect=DEFAULT_DIALECT, description=""):  # pylint: disable=redefined-outer-name
    """An aggregation-based visualization counting documents of an index pattern or (exactly one of) a saved search.

    ``kind``: area, line or histogram (date histogram of ``field``, @timestamp unless given, per
    ``interval``); pie or table (top ``size`` of ``field`` by ``agg``: terms or significant_terms).
    """
    _check_dialect(dialect)
    if kind not in KINDS:
        raise SavedObjectError("Visualization %s: kind %r is not one of %s." % (object_id, kind, ", ".join(KINDS)))
    if bool(index_pattern_id) == bool(search_id):
        raise SavedObjectError("Visualization %s needs exactly one of index_pattern_id and search_id." % object_id)
    if kind in TERMS_KINDS:
        if not field:
            raise SavedObjectError("Visualization %s (%s) needs a field to split by." % (object_id, kind))
        if agg not in AGGS:
            raise SavedObjectError("Visualization %s: agg %r is not one of %s." % (object_id, agg, ", ".join(AGGS)))
        if not _positive_int(size):
            raise SavedObjectError("Visualization %s: size %r is not a positive integer." % (object_id, size))
    elif interval not in INTERVALS:
        raise SavedObjectError("Visualization %s: interval %r is not one of %s." % (object_id, interval, ", ".join(INTERVALS)))
    if kind in TIME_KINDS:
        params = _time_chart_params(kind)
    elif kind == "pie":
        params = _pie_params(dialect)
    else:
        params = _table_params(dialect)
    aggs = [{"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
            _bucket_agg(kind, field, size, agg, interval)]
    vis_state = {"title": title, "type": kind, "params": params, "aggs": aggs}
    search_source, references = _search_source(index_pattern_id, "", DEFAULT_LANGUAGE)
    attributes = {"title": title, "visState": _dumps(vis_state), "uiStateJSON": "{}", "description": description, "version": 1,
                  "kibanaSavedObjectMeta": {"searchSourceJSON": search_source}}
    if search_id:
        attributes["savedSearchRefName"] = SEARCH_REF_NAME
        references.append({"name": SEARCH_REF_NAME, "type": "search", "id": search_id})
    return _saved_object("visualization", object_id, attributes, references)


# --------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------
def grid_data(index):
    """The grid position of the ``index``-th panel: two per row, 24 wide and 15 high (Kibana's grid is 48 wide)."""
    return {"x": (index % PANELS_PER_ROW) * PANEL_WIDTH, "y": (index // PANELS_PER_ROW) * PANEL_HEIGHT,
            "w": PANEL_WIDTH, "h": PANEL_HEIGHT, "i": str(index + 1)}


def dashboard(object_id, title, panels, dialect=DEFAULT_DIALECT, description="", time_restore=False):  # pylint: disable=redefined-outer-name
    """A dashboard showing ``panels``, an ordered list of (type, id) pairs, left to right and top to bottom."""
    _check_dialect(dialect)
    panel_list = []
    references = []
    for index, pair in enumerate(panels):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(p, str) and p for p in pair):
            raise SavedObjectError("Dashboard %s: panel %d must be a (type, id) pair, got %r." % (object_id, index, pair))
        panel_type, panel_id = pair
        panel = {"version": SHAPE_VERSIONS[dialect], "type": panel_type, "gridData": grid_data(index),
                 "panelIndex": str(index + 1), "embeddableConfig": {}}
        ref_name = "panel_%d" % index
        panel["panelRefName"] = ref_name
        references.append({"name": ref_name, "type": panel_type, "id": panel_id})
        panel_list.append(panel)
    options = {"useMargins": True, "hidePanelTitles": False}
    search_source, _unused = _search_source(None, "", DEFAULT_LANGUAGE)
    attributes = {"title": title, "hits": 0, "description": description, "panelsJSON": _dumps(panel_list),
                  "optionsJSON": _dumps(options), "version": 1, "timeRestore": bool(time_restore),
                  "kibanaSavedObjectMeta": {"searchSourceJSON": search_source}}
    return _saved_object("dashboard", object_id, attributes, references)


# --------------------------------------------------------------------------------------------
# The data-driven entry
# --------------------------------------------------------------------------------------------
def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _nonempty_str(value):
    return isinstance(value, str) and value.strip() != ""


def _section(spec, key):
    """A spec section with the defaults filled in."""
    merged = copy.deepcopy(DEFAULT_SPEC[key])
    given = (spec or {}).get(key)
    if isinstance(given, dict):
        merged.update(given)
    return merged


def _vis_item(item):
    merged = {"size": DEFAULT_SIZE, "agg": DEFAULT_AGG, "interval": DEFAULT_INTERVAL, "source": "search"}
    merged.update(item)
    if merged.get("kind") in TIME_KINDS and not merged.get("field"):
        merged["field"] = DEFAULT_TIME_FIELD
    return merged


def _visualization_items(spec):
    given = (spec or {}).get("visualizations")
    items = copy.deepcopy(DEFAULT_SPEC["visualizations"] if given is None else given)
    if not isinstance(items, list):
        return items
    return [_vis_item(item) if isinstance(item, dict) else item for item in items]


def _label(where, item):
    object_id = item.get("id") if isinstance(item, dict) else None
    return "%s (%s)" % (where, object_id) if _nonempty_str(object_id) else where


def validate_spec(spec):
    """Return the problems of a ``build_all`` spec as messages naming the item; empty when it can be built.

    Sections left out take ``DEFAULT_SPEC``'s; a visualization item's size, agg, interval and
    source have defaults, its id, title, kind and (pie, table) field do not.
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return ["The saved objects spec must be a mapping with index_pattern, search, visualizations and dashboard, got %s."
                % type(spec).__name__]
    problems = []
    for key in sorted(spec):
        if key not in DEFAULT_SPEC:
            problems.append("Unknown spec key %r; known: %s." % (key, ", ".join(sorted(DEFAULT_SPEC))))
    for key in ("index_pattern", "search", "dashboard"):
        if key in spec and not isinstance(spec[key], dict):
            problems.append("%s must be a mapping, got %s." % (key, type(spec[key]).__name__))
    seen = {}

    def check_common(where, item, allowed):
        label = _label(where, item)
        for unknown in sorted(k for k in item if k not in allowed):
            problems.append("%s: unknown option %r; known: %s." % (label, unknown, ", ".join(allowed)))
        for required in ("id", "title"):
            if not _nonempty_str(item.get(required)):
                problems.append("%s: %s is missing or empty." % (label, required))
        if _nonempty_str(item.get("id")):
            if item["id"] in seen:
                problems.append("%s: id %s is already used by %s." % (label, item["id"], seen[item["id"]]))
            else:
                seen[item["id"]] = where
        return label

    index = _section(spec, "index_pattern")
    label = check_common("index_pattern", index, _SECTION_KEYS["index_pattern"])
    if index.get("time_field") is not None and not isinstance(index["time_field"], str):
        problems.append("%s: time_field must be a string (empty for none)." % label)
    search = _section(spec, "search")
    label = check_common("search", search, _SECTION_KEYS["search"])
    if not isinstance(search.get("query"), str):
        problems.append("%s: query must be a string." % label)
    if not isinstance(search.get("columns"), list) or not all(_nonempty_str(c) for c in search["columns"]):
        problems.append("%s: columns must be a list of field names." % label)
    try:
        pairs = _sort_pairs(search.get("sort"))
        bad_sort = any(len(p) != 2 or not _nonempty_str(p[0]) or p[1] not in ("asc", "desc") for p in pairs)
    except (TypeError, IndexError):
        bad_sort = True
    if bad_sort:
        problems.append("%s: sort must be [field, asc|desc] pairs, e.g. [['@timestamp', 'desc']]." % label)
    items = _visualization_items(spec)
    if not isinstance(items, list):
        problems.append("visualizations must be a list, got %s." % type(items).__name__)
        items = []
    for position, item in enumerate(items):
        where = "visualizations[%d]" % position
        if not isinstance(item, dict):
            problems.append("%s: must be a mapping with id, title, kind and field, got %s." % (where, type(item).__name__))
            continue
        label = check_common(where, item, _SECTION_KEYS["visualization"])
        kind = item.get("kind")
        if kind not in KINDS:
            problems.append("%s: kind %r is not one of %s." % (label, kind, ", ".join(KINDS)))
        elif kind in TERMS_KINDS:
            if not _nonempty_str(item.get("field")):
                problems.append("%s: field is missing (the field a %s splits by, e.g. rule)." % (label, kind))
            if item.get("agg") not in AGGS:
                problems.append("%s: agg %r is not one of %s." % (label, item.get("agg"), ", ".join(AGGS)))
            if not _positive_int(item.get("size")):
                problems.append("%s: size %r is not a positive integer." % (label, item.get("size")))
        elif item.get("interval") not in INTERVALS:
            problems.append("%s: interval %r is not one of %s." % (label, item.get("interval"), ", ".join(INTERVALS)))
        if item.get("source") not in SOURCES:
            problems.append("%s: source %r is not one of %s." % (label, item.get("source"), ", ".join(SOURCES)))
    check_common("dashboard", _section(spec, "dashboard"), _SECTION_KEYS["dashboard"])
    return problems


def with_fields(spec, fields):
    """``spec`` with each visualization's field replaced by the one ``fields`` maps it to (others as they are)."""
    out = copy.deepcopy(spec)
    for item in out.get("visualizations") or []:
        if isinstance(item, dict) and item.get("field") in fields:
            item["field"] = fields[item["field"]]
    return out


def build_all(spec=None, dialect=DEFAULT_DIALECT):  # pylint: disable=redefined-outer-name
    """Every object of ``spec`` in creation order: index pattern, search, visualizations, then the dashboard.

    The dashboard shows the visualizations in spec order and the saved search last. Raises
    SavedObjectError listing ``validate_spec``'s problems when the spec cannot be built.
    """
    _check_dialect(dialect)
    problems = validate_spec(spec)
    if problems:
        raise SavedObjectError("The saved objects spec has %d problem(s): %s" % (len(problems), " ".join(problems)))
    index = _section(spec, "index_pattern")
    search = _section(spec, "search")
    board = _section(spec, "dashboard")
    objects = [index_pattern(index["id"], index["title"], index.get("time_field"), dialect=dialect, name=index.get("name")),
               saved_search(search["id"], search["title"], index["id"], search["query"], search["columns"], search["sort"],
                            language=search.get("language", DEFAULT_LANGUAGE), dialect=dialect,
                            description=search.get("description", ""))]
    for item in _visualization_items(spec):
        on_search = item["source"] == "search"
        objects.append(visualization(item["id"], item["title"], item["kind"],
                                     index_pattern_id=None if on_search else index["id"],
                                     search_id=search["id"] if on_search else None, field=item.get("field"),
                                     size=item["size"], agg=item["agg"], interval=item["interval"], dialect=dialect,
                                     description=item.get("description", "")))
    panels = [("visualization", obj["id"]) for obj in objects[2:]] + [("search", search["id"])]
    objects.append(dashboard(board["id"], board["title"], panels, dialect=dialect, description=board.get("description", "")))
    return objects


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------
def _is_json_attribute(name):
    return name.endswith("JSON") or name in JSON_STRING_ATTRIBUTES


def _parsed(value):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value) if value.strip() else {}
    except ValueError:
        return value


def _parse_json_attributes(attributes):
    out = {}
    for name, value in attributes.items():
        if isinstance(value, dict):
            out[name] = _parse_json_attributes(value)
        elif _is_json_attribute(name):
            out[name] = _parsed(value)
        else:
            out[name] = copy.deepcopy(value)
    return out


def normalise(obj):
    """A saved object reduced to what a playbook declares, with ``*JSON`` strings parsed into data.

    Keeps type, id, attributes and references (sorted by name); drops what Kibana manages
    (updated_at, version, namespaces, migration versions, managed, originId, ...).
    """
    if not isinstance(obj, dict):
        raise SavedObjectError("A saved object must be a mapping, got %s." % type(obj).__name__)
    references = [dict(ref) for ref in obj.get("references") or []]
    references.sort(key=lambda ref: (str(ref.get("name")), str(ref.get("type")), str(ref.get("id"))))
    return {"type": obj.get("type"), "id": obj.get("id"), "attributes": _parse_json_attributes(obj.get("attributes") or {}),
            "references": references}


def _same_scalar(desired, current):
    if isinstance(desired, bool) or isinstance(current, bool):
        return isinstance(desired, bool) and isinstance(current, bool) and desired == current
    return desired == current


def _compare(desired, current, path, out):
    """Append to ``out`` where ``current`` differs from ``desired``; keys only ``current`` has are ignored."""
    if isinstance(desired, dict):
        if not isinstance(current, dict):
            out.append("%s: expected an object, found %s" % (path, json.dumps(current)))
            return
        for key in desired:
            sub = "%s.%s" % (path, key)
            if key not in current:
                out.append("%s: missing (expected %s)" % (sub, json.dumps(desired[key], sort_keys=True)))
            else:
                _compare(desired[key], current[key], sub, out)
    elif isinstance(desired, list):
        if not isinstance(current, list):
            out.append("%s: expected a list, found %s" % (path, json.dumps(current)))
        elif len(desired) != len(current):
            out.append("%s: expected %d items, found %d" % (path, len(desired), len(current)))
        else:
            for index, (want, have) in enumerate(zip(desired, current)):
                _compare(want, have, "%s[%d]" % (path, index), out)
    elif not _same_scalar(desired, current):
        out.append("%s: expected %s, found %s" % (path, json.dumps(desired), json.dumps(current)))


def differences(desired, current):
    """Where ``current`` (as Kibana returns it) differs from ``desired`` (a builder's object); empty when equal.

    Each entry names a path (``attributes.visState.aggs[1].params.size``) and what differs. Only
    the desired attributes count; references must match exactly (missing and unexpected ones).
    """
    if current is None:
        return ["%s/%s: does not exist" % (desired.get("type"), desired.get("id"))]
    want, have = normalise(desired), normalise(current)
    out = []
    for key in ("type", "id"):
        if want[key] != have[key]:
            out.append("%s: expected %s, found %s" % (key, json.dumps(want[key]), json.dumps(have[key])))
    _compare(want["attributes"], have["attributes"], "attributes", out)
    as_tuples = [set((r.get("name"), r.get("type"), r.get("id")) for r in side["references"]) for side in (want, have)]
    for ref in sorted(as_tuples[0] - as_tuples[1], key=str):
        out.append("references: missing %s -> %s/%s" % ref)
    for ref in sorted(as_tuples[1] - as_tuples[0], key=str):
        out.append("references: unexpected %s -> %s/%s" % ref)
    return out
