"""Patch and apply, the way kube-apiserver does them, as pure functions over plain dicts.

* ``json_patch``: RFC 6902 with the semantics and error texts of ``gopkg.in/evanphx/json-patch.v4``,
  the library kube-apiserver links (a ``replace`` of a missing object key adds it, negative array
  indices are allowed, a path not starting with ``/`` addresses the root's last segment).
* ``merge_patch``: RFC 7386 as the same library does it (nulls pruned from newly added subtrees).
* ``strategic_merge_patch``: ``k8s.io/apimachinery/pkg/util/strategicpatch`` with
  ``MergeParallelList`` and ``IgnoreUnmatchedNulls``, patch strategies and merge keys from the
  OpenAPI extensions in ``schema.py``.
* ``server_side_apply`` and ``update_managed_fields``: the field manager of
  ``k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager`` on top of structured-merge-diff, with
  ``managedFields`` in the ``FieldsV1`` encoding.
"""
# One module by design (DESIGN.md): JSON, merge and strategic patch, apply and managedFields share the schema walkers.
# pylint: disable=too-many-lines

from __future__ import annotations

import copy
import json
from typing import Any, Iterable

from localcluster import schema as oapi
from localcluster.errors import ApiError

__all__ = ["json_patch", "merge_patch", "strategic_merge_patch", "server_side_apply", "update_managed_fields"]

MAX_JSON_PATCH_OPERATIONS = 10000
_MISSING: Any = object()
_STRICT = ("Strict", "Warn")

Path = tuple[str, ...]
FieldSet = set[Path]


# ---------------------------------------------------------------------------------------------
# Go formatting helpers: messages embed Go's %v rendering of decoded JSON.
# ---------------------------------------------------------------------------------------------

def _go_json_type(value: Any) -> str:  # pylint: disable=too-many-return-statements
    """The JSON kind name encoding/json uses in UnmarshalTypeError messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "number"


def _go_fmt(value: Any) -> str:  # pylint: disable=too-many-return-statements
    """Go's ``%v`` of a decoded JSON value (maps print with sorted keys)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_fmt(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_fmt(item) for item in value) + "]"
    if isinstance(value, float):
        # apimachinery's JSON decoder turns integral numbers into int64, so only true floats print as %g.
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = f"{value:g}" if abs(value) >= 1e21 or abs(value) < 1e-4 else repr(value)
        return text
    return str(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _internal_error(message: str) -> ApiError:
    # Errors that are not a StatusError reach the client as code 500 with an empty reason.
    return ApiError(500, "", message)


def _invalid_patch(message: str) -> ApiError:
    # errors.NewGenericServerResponse(422, ...) as the patch handler builds it.
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]})


# ---------------------------------------------------------------------------------------------
# JSON patch (RFC 6902)
# ---------------------------------------------------------------------------------------------

class _PatchFailure(Exception):
    """An error of the json-patch library; its text becomes the 422 cause."""


def _decode_pointer_part(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _find_container(doc: Any, path: str) -> tuple[Any, str]:
    """evanphx ``findObject``: the container holding the last segment, or (None, "")."""
    split = path.split("/")
    if len(split) < 2:
        return None, ""
    current = doc
    for part in split[1:-1]:
        try:
            current = _container_get(current, _decode_pointer_part(part))
        except _PatchFailure:
            return None, ""
        if not isinstance(current, (dict, list)):
            return None, ""
    return current, _decode_pointer_part(split[-1])


def _array_index(key: str) -> int:
    try:
        return int(key, 10) if key.lstrip("-").isdigit() else int("x")
    except ValueError as exc:
        raise _PatchFailure(f'strconv.Atoi: parsing "{key}": invalid syntax') from exc


def _container_get(con: Any, key: str) -> Any:
    if isinstance(con, dict):
        return con.get(key)
    idx = _array_index(key)
    if idx < 0:
        if idx < -len(con):
            raise _PatchFailure(f"Unable to access invalid index: {idx}: invalid index referenced")
        idx += len(con)
    if idx >= len(con):
        raise _PatchFailure(f"Unable to access invalid index: {idx}: invalid index referenced")
    return con[idx]


def _container_add(con: Any, key: str, value: Any) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    if key == "-":
        con.append(value)
        return
    try:
        idx = _array_index(key)
    except _PatchFailure as exc:
        raise _PatchFailure(f"value was not a proper array index: '{key}': {exc}") from exc
    size = len(con) + 1
    if idx >= size or idx < -size:
        raise _PatchFailure(f"Unable to access invalid index: {idx}: invalid index referenced")
    if idx < 0:
        idx += size
    con.insert(idx, value)


def _container_remove(con: Any, key: str) -> None:
    if isinstance(con, dict):
        if key not in con:
            raise _PatchFailure(f"Unable to remove nonexistent key: {key}: missing value")
        del con[key]
        return
    idx = _array_index(key)
    if idx >= len(con) or idx < -len(con):
        raise _PatchFailure(f"Unable to access invalid index: {idx}: invalid index referenced")
    del con[idx]


def _op_string(operation: dict[str, Any], field: str, missing: str) -> str:
    value = operation.get(field)
    if value is None:
        raise _PatchFailure(missing)
    if not isinstance(value, str):
        raise _PatchFailure(f"json: cannot unmarshal {_go_json_type(value)} into Go value of type string")
    return value


def _op_path(operation: dict[str, Any]) -> str:
    return _op_string(operation, "path", "operation missing path field: missing value")


def _op_from(operation: dict[str, Any]) -> str:
    return _op_string(operation, "from", "operation, missing from field: missing value")


def _apply_operation(doc: Any, operation: dict[str, Any]) -> None:  # pylint: disable=too-many-branches,too-many-statements
    kind = operation.get("op")
    kind = kind if isinstance(kind, str) else "unknown"
    value = copy.deepcopy(operation.get("value"))
    if kind in ("add", "remove"):
        try:
            path = _op_path(operation)
        except _PatchFailure as exc:
            raise _PatchFailure(f"{kind} operation failed to decode path: missing value") from exc
        con, key = _find_container(doc, path)
        if con is None:
            raise _PatchFailure(f'{kind} operation does not apply: doc is missing path: "{path}": missing value')
        try:
            if kind == "add":
                _container_add(con, key, value)
            else:
                _container_remove(con, key)
        except _PatchFailure as exc:
            raise _PatchFailure(f"error in {kind} for path: '{path}': {exc}") from exc
    elif kind in ("replace", "test"):
        try:
            path = _op_path(operation)
        except _PatchFailure as exc:
            raise _PatchFailure(f"{kind} operation failed to decode path: {exc}") from exc
        con, key = _find_container(doc, path)
        if con is None:
            where = "doc is missing path" if kind == "replace" else "is missing path"
            raise _PatchFailure(f"{kind} operation does not apply: {where}: {path}: missing value")
        try:
            current = _container_get(con, key)
        except _PatchFailure as exc:
            if kind == "replace":
                raise _PatchFailure(f"replace operation does not apply: doc is missing key: {path}: missing value") from exc
            raise _PatchFailure(f"error in test for path: '{path}': {exc}") from exc
        if kind == "replace":
            if isinstance(con, dict):
                con[key] = value
            else:
                idx = _array_index(key)
                con[idx if idx >= 0 else idx + len(con)] = value
        elif _canonical(current) != _canonical(value):
            raise _PatchFailure(f"testing value {path} failed: test failed")
    elif kind in ("move", "copy"):
        try:
            source = _op_from(operation)
        except _PatchFailure as exc:
            raise _PatchFailure(f"{kind} operation failed to decode from: {exc}") from exc
        con, key = _find_container(doc, source)
        if con is None:
            raise _PatchFailure(f"{kind} operation does not apply: doc is missing from path: {source}: missing value")
        try:
            moved = copy.deepcopy(_container_get(con, key))
            if kind == "move":
                _container_remove(con, key)
        except _PatchFailure as exc:
            where = f"error in move for path: '{key}'" if kind == "move" else f"error in copy for from: '{source}'"
            raise _PatchFailure(f"{where}: {exc}") from exc
        try:
            path = _op_path(operation)
        except _PatchFailure as exc:
            raise _PatchFailure(f"{kind} operation failed to decode path: {exc}") from exc
        con, key = _find_container(doc, path)
        if con is None:
            raise _PatchFailure(f"{kind} operation does not apply: doc is missing destination path: {path}: missing value")
        try:
            _container_add(con, key, moved)
        except _PatchFailure as exc:
            where = f"error in move for path: '{path}'" if kind == "move" else "error while adding value during copy"
            raise _PatchFailure(f"{where}: {exc}") from exc
    else:
        raise _PatchFailure(f"Unexpected kind: {kind}")


def _check_json_patch_shape(operations: Any, field_validation: str) -> None:
    strict = field_validation in _STRICT
    if operations is None:
        return
    if not isinstance(operations, list):
        if strict:
            raise ApiError(400, "BadRequest", "error decoding patch: json: cannot unmarshal "
                           f"{_go_json_type(operations)} into Go value of type []handlers.jsonPatchOp")
        raise ApiError(400, "BadRequest", f"json: cannot unmarshal {_go_json_type(operations)} into Go value of type jsonpatch.Patch")
    for operation in operations:
        if operation is not None and not isinstance(operation, dict):
            if strict:
                raise ApiError(400, "BadRequest", "error decoding patch: json: cannot unmarshal "
                               f"{_go_json_type(operation)} into Go value of type handlers.jsonPatchOp")
            raise ApiError(400, "BadRequest",
                           f"json: cannot unmarshal {_go_json_type(operation)} into Go value of type jsonpatch.Operation")
        if strict and operation:
            for field in ("op", "path", "from"):
                value = operation.get(field)
                if value is not None and not isinstance(value, str):
                    raise ApiError(400, "BadRequest", "error decoding patch: json: cannot unmarshal "
                                   f"{_go_json_type(value)} into Go struct field jsonPatchOp.{field} of type string")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: The allowed maximum operations in a JSON patch is "
                       f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}")


def json_patch(obj: dict[str, Any], operations: Any, field_validation: str = "Warn") -> dict[str, Any]:
    """Apply an RFC 6902 JSON patch to ``obj`` like kube-apiserver.

    A body that is not a list of operation objects is a 400; an operation that cannot be applied
    (failed ``test``, missing path, bad index, unknown ``op``) is the 422 ``Invalid`` Status with
    the library's text in ``details.causes[0].message``. ``field_validation`` is the request's
    ``fieldValidation`` (the server default is ``Warn``); it only changes the decoding messages.
    """
    _check_json_patch_shape(operations, field_validation)
    doc = copy.deepcopy(obj)
    for operation in operations or ():
        try:
            _apply_operation(doc, operation or {})
        except _PatchFailure as exc:
            raise _invalid_patch(str(exc)) from None
    return doc


# ---------------------------------------------------------------------------------------------
# JSON merge patch (RFC 7386)
# ---------------------------------------------------------------------------------------------

def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _prune_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_prune_nulls(item) if item is not None else None for item in value]
    return value


def _merge_docs(doc: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
            continue
        current = doc.get(key)
        if current is None:
            doc[key] = _prune_nulls(copy.deepcopy(value))
        elif not isinstance(current, dict):
            doc[key] = _prune_nulls(copy.deepcopy(value))
        elif not isinstance(value, dict):
            doc[key] = copy.deepcopy(value)
        else:
            _merge_docs(current, value)


def merge_patch(obj: dict[str, Any], patch: Any, field_validation: str = "Warn") -> Any:
    """Apply an RFC 7386 JSON merge patch: maps merge, ``null`` deletes, anything else replaces.

    A patch that is not a JSON object is a 400 (its text depends on ``field_validation``, which
    defaults to the server default ``Warn``).
    """
    if patch is None:
        return copy.deepcopy(obj)
    if not isinstance(patch, dict):
        if field_validation in _STRICT:
            raise ApiError(400, "BadRequest", "error decoding patch: json: cannot unmarshal "
                           f"{_go_json_type(patch)} into Go value of type map[string]interface {{}}")
        if isinstance(patch, list):
            return _prune_nulls(copy.deepcopy(patch))
        raise ApiError(400, "BadRequest", "Invalid JSON Patch")
    doc = copy.deepcopy(obj)
    _merge_docs(doc, patch)
    return doc


# ---------------------------------------------------------------------------------------------
# Schema helpers shared by strategic merge patch and server-side apply
# ---------------------------------------------------------------------------------------------

def _ext(prop: dict[str, Any] | None, name: str) -> Any:
    """An ``x-kubernetes-*`` extension, on the property itself or on the definition it refers to."""
    if not prop:
        return None
    if name in prop:
        return prop[name]
    resolved = oapi.resolve(prop)
    return resolved.get(name) if resolved else None


def _child(prop: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    return oapi.property_schema(prop, key) if prop else None


def _items(prop: dict[str, Any] | None) -> dict[str, Any] | None:
    return oapi.items_schema(prop) if prop else None


def _is_named_field(prop: dict[str, Any] | None, key: str) -> bool:
    resolved = oapi.resolve(prop) if prop else None
    return bool(resolved and key in (resolved.get("properties") or {}))


def _group_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


# ---------------------------------------------------------------------------------------------
# Strategic merge patch
# ---------------------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList"
_SET_ORDER = "$setElementOrder"


def _patch_meta(prop: dict[str, Any] | None) -> tuple[str, str]:
    """(patch strategy without retainKeys, merge key) of a field."""
    strategies = [s for s in str(_ext(prop, "x-kubernetes-patch-strategy") or "").split(",") if s and s != "retainKeys"]
    if len(strategies) > 1:
        raise _internal_error(f"unexpected patch strategy: {_ext(prop, 'x-kubernetes-patch-strategy')}")
    return (strategies[0] if strategies else ""), str(_ext(prop, "x-kubernetes-patch-merge-key") or "")


def _go_type(value: Any) -> str:
    """What reflect.TypeOf tells apart in the strategic merge code."""
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "nil"


def _bad_arg_type(expected: str, actual: Any) -> ApiError:
    names = {"map": "map[string]interface {}", "slice": "[]interface {}", "bool": "bool", "number": "int64", "string": "string", "nil": "<nil>"}
    return _internal_error(f"expected a {names[expected]}, but received a {names[_go_type(actual)]}")


def _discard_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _discard_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_discard_nulls(item) for item in value]
    return value


def _remove_directives(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        out = {}
        for key, item in value.items():
            if key == _RETAIN_KEYS or key.startswith(_SET_ORDER + "/") or key.startswith(_DELETE_PRIMITIVE + "/"):
                continue
            new, keep = _remove_directives(item)
            if keep:
                out[key] = new
        return out, True
    if isinstance(value, list):
        kept = [_remove_directives(item) for item in value]
        return [item for item, keep in kept if keep], True
    return value, True


def _no_merge_key(item: dict[str, Any], key: str) -> ApiError:
    return _internal_error(f"map: {_go_fmt(item)} does not contain declared merge key: {key}")


def _find_by_key(items: list[Any], key: str, value: Any) -> int:
    for idx, item in enumerate(items):
        if not isinstance(item, dict):
            raise _internal_error(f"value for key {idx} is not a map")
        if key in item and _canonical(item[key]) == _canonical(value):
            return idx
    return -1


def _index_in(order: list[Any], item: Any, merge_key: str, is_map: bool) -> int:
    def val(entry: Any) -> str:
        return _canonical(entry.get(merge_key) if isinstance(entry, dict) else None) if is_map else _canonical(entry)
    wanted = val(item)
    for idx, entry in enumerate(order):
        if val(entry) == wanted:
            return idx
    return -1


def _normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    to_delete: list[Any] = []
    if is_map:
        for entry in list(to_sort) + list(order):
            if not isinstance(entry, dict):
                raise _bad_arg_type("map", entry)
            if merge_key not in entry:
                raise _no_merge_key(entry, merge_key)
        to_delete = [e for e in to_sort if e.get(_DIRECTIVE) == "delete"]
        to_sort = [e for e in to_sort if e.get(_DIRECTIVE) != "delete"]
    # sort.SliceStable with "found in order" ranks; every item we sort is found in its order list.
    ranked = sorted(enumerate(to_sort), key=lambda pair: (_index_in(order, pair[1], merge_key, is_map), pair[0]))
    return [item for _idx, item in ranked] + to_delete


def _normalize_element_order(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        patch_items: list[Any], server_only: list[Any], patch_order: list[Any], server_order: list[Any],
        merge_key: str, is_map: bool) -> list[Any]:
    right = _normalize_slice_order(patch_items, patch_order, merge_key, is_map)
    left = _normalize_slice_order(server_only, server_order, merge_key, is_map)
    out: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        li = _index_in(server_order, left[i], merge_key, is_map)
        ri = _index_in(server_order, right[j], merge_key, is_map)
        if 0 <= li < ri:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


def _partition(merged: list[Any], partition_by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    if not merge_key:
        wanted = {_canonical(v) for v in partition_by}
        for item in merged:
            (in_patch if _canonical(item) in wanted else server_only).append(item)
        return in_patch, server_only
    for item in merged:
        if not isinstance(item, dict):
            raise _bad_arg_type("map", item)
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        (in_patch if _find_by_key(partition_by, merge_key, item[merge_key]) >= 0 else server_only).append(item)
    return in_patch, server_only


def _slice_element_type(*lists: list[Any]) -> str:
    seen = None
    for items in lists:
        for item in items:
            kind = _go_type(item)
            if seen is None:
                seen = kind
                if kind == "slice":
                    raise _internal_error("lists of lists are not supported")
            elif seen != kind:
                raise _internal_error("list element types are not identical: " + _go_fmt(list(lists)))
    if seen is None:
        raise _internal_error("no elements in any of the given slices")
    return seen


def _dedup_scalars(items: list[Any]) -> list[Any]:
    # apimachinery's in-place dedup moves the last element into a duplicate's slot; keep that order.
    items = list(items)
    length = len(items) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if _canonical(items[i]) == _canonical(items[j]):
                items[j] = items[length]
                items = items[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return items


def _smp_merge_slice(original: list[Any], patch: list[Any], prop: dict[str, Any] | None, merge_key: str,
                     is_delete_list: bool) -> list[Any]:
    if not original and not patch:
        return original
    kind = _slice_element_type(original, patch)
    if kind != "map":
        if is_delete_list:
            doomed = {_canonical(v) for v in patch}
            return [v for v in original if _canonical(v) not in doomed]
        merged = _dedup_scalars(original + patch)
    else:
        if not merge_key:
            raise _internal_error(f"cannot merge lists without merge key for {_schema_name(prop)}")
        original, patch = _smp_special_elements(original, patch, merge_key)
        merged = list(original)
        for item in patch:
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            idx = _find_by_key(merged, merge_key, item[merge_key])
            if idx >= 0:
                merged[idx] = _smp_merge_map(merged[idx], item, _items(prop))
            else:
                # New items are decoded into typed objects on the server, which drops nulls and directives.
                merged.append(_remove_directives(_discard_nulls(item))[0])
    patch_items, server_only = _partition(merged, patch, merge_key if kind == "map" else "")
    return _normalize_element_order(patch_items, server_only, patch, original, merge_key, kind == "map")


def _schema_name(prop: dict[str, Any] | None) -> str:
    items = (oapi.resolve(prop) or {}).get("items") if prop else None
    ref = (items or {}).get("$ref", "")
    return ref.rsplit(".", 1)[-1] if ref else "unknown"


def _smp_special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    plain: list[Any] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            original = [o for o in original if not (isinstance(o, dict) and merge_key in o
                                                    and _canonical(o[merge_key]) == _canonical(item[merge_key]))]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _internal_error("merging lists cannot yet be specified in the patch")
        else:
            raise _internal_error(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(item)}")
    if replace:
        return [_remove_directives(_discard_nulls(p))[0] for p in plain], []
    return original, plain


def _smp_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise ApiError(400, "BadRequest", "invalid patch format of retainKeys")
    keep = {v for v in retain if isinstance(v, str)}
    for key, value in patch.items():
        if value is None or key.startswith(_DELETE_PRIMITIVE) or key.startswith(_SET_ORDER):
            continue
        if key not in keep:
            raise ApiError(400, "BadRequest", "invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


def _smp_set_element_order(  # pylint: disable=too-many-locals,too-many-branches
        original: dict[str, Any], patch: dict[str, Any], prop: dict[str, Any] | None) -> None:
    for key in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _bad_arg_type("slice", order)
        parts = key.split("/", 1)
        if len(parts) < 2 or parts[0] != _SET_ORDER:
            raise ApiError(400, "BadRequest", "invalid patch format of setElementOrder list")
        field = parts[1]
        found_original, found_patch = field in original, field in patch
        original_list = original.get(field) if found_original else []
        patch_list = patch.get(field) if found_patch else []
        if found_original and not isinstance(original_list, list):
            raise _bad_arg_type("slice", original_list)
        if found_patch and not isinstance(patch_list, list):
            raise _bad_arg_type("slice", patch_list)
        field_prop = _child(prop, field)
        strategy, merge_key = _patch_meta(field_prop)
        _validate_set_order(patch_list or [], order, merge_key)
        if found_original and not found_patch:
            merged = list(original_list or [])
        elif found_patch and not found_original:
            merged = _remove_directives(patch_list)[0]
        elif found_patch and found_original:
            merged = _smp_merge_slice(list(original_list or []), list(patch_list or []), field_prop, merge_key, False) \
                if strategy == "merge" else list(patch_list or [])
        else:
            continue
        patch_items, server_only = _partition(merged, order, merge_key)
        kind = _slice_element_type(original_list or [], patch_list or []) if (original_list or patch_list) else "map"
        original[field] = _normalize_element_order(patch_items, server_only, order, list(original_list or []), merge_key, kind == "map")
        patch.pop(field, None)


def _validate_set_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    if not patch_list or not order:
        return
    items = [p for p in patch_list if not (merge_key and isinstance(p, dict) and p.get(_DIRECTIVE) == "delete")]
    pi = si = 0
    while pi < len(items) and si < len(order):
        if isinstance(items[pi], dict) and _DIRECTIVE in items[pi]:
            pi += 1
            continue
        if merge_key:
            for entry in (items[pi], order[si]):
                if not isinstance(entry, dict):
                    raise _bad_arg_type("map", entry)
                if merge_key not in entry:
                    raise _no_merge_key(entry, merge_key)
            equal = _canonical(items[pi][merge_key]) == _canonical(order[si][merge_key])
        else:
            equal = _canonical(items[pi]) == _canonical(order[si])
        if equal:
            pi += 1
        si += 1
    if pi < len(items) and si >= len(order):
        raise _internal_error(f"the order in patch list:\n{_go_fmt(patch_list)}\n doesn't match {_SET_ORDER} list:\n{_go_fmt(order)}")


def _smp_merge_map(original: Any, patch: dict[str, Any], prop: dict[str, Any] | None) -> dict[str, Any]:  # pylint: disable=too-many-branches
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            return _remove_directives(_discard_nulls({k: v for k, v in patch.items() if k != _DIRECTIVE}))[0]
        if directive == "delete":
            return {}
        raise _internal_error(f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(patch)}")
    result: dict[str, Any] = dict(original) if isinstance(original, dict) else {}
    patch = dict(patch)
    _smp_retain_keys(result, patch)
    _smp_set_element_order(result, patch, prop)
    for key, value in patch.items():
        is_delete_list = False
        if key.startswith(_DELETE_PRIMITIVE):
            parts = key.split("/", 1)
            if len(parts) < 2 or parts[0] != _DELETE_PRIMITIVE:
                raise ApiError(400, "BadRequest", "invalid patch format of primitive list")
            key, is_delete_list = parts[1], True
        if value is None:
            result.pop(key, None)
            continue
        if key not in result or _go_type(result[key]) != _go_type(value):
            if not is_delete_list:
                new, keep = _remove_directives(_discard_nulls(value))
                if keep:
                    result[key] = new
                else:
                    result.pop(key, None)
            continue
        field_prop = _child(prop, key)
        strategy, merge_key = _patch_meta(field_prop)
        if isinstance(value, dict):
            result[key] = _remove_directives(_discard_nulls(value))[0] if strategy == "replace" else _smp_merge_map(result[key], value, field_prop)
        elif isinstance(value, list):
            if strategy == "merge" or is_delete_list:
                result[key] = _smp_merge_slice(list(result[key]), value, field_prop, merge_key, is_delete_list)
            else:
                result[key] = _remove_directives(_discard_nulls(value))[0]
        else:
            result[key] = value
    return result


def strategic_merge_patch(obj: dict[str, Any], patch: Any, group: str, version: str, kind: str) -> dict[str, Any]:
    """Apply a Kubernetes strategic merge patch to ``obj`` (a ``group/version`` ``kind``).

    Lists with ``x-kubernetes-patch-strategy: merge`` merge by their merge key (primitive lists
    are unioned), other lists are replaced; maps merge and ``null`` deletes a key. The directives
    ``$patch`` (replace/delete; merge is rejected as the server does), ``$retainKeys``,
    ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>`` are honoured. Kinds without
    a built-in schema (custom resources) get the 415 the server gives them.
    """
    root = oapi.object_schema(group, version, kind)
    if root is None:
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: "
                       "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    if not isinstance(patch, dict):
        if patch is None:
            return copy.deepcopy(obj)
        # Both decoders (strict or not) report the plain encoding/json error here.
        raise ApiError(400, "BadRequest", f"json: cannot unmarshal {_go_json_type(patch)} into Go value of type map[string]interface {{}}")
    return _smp_merge_map(copy.deepcopy(obj), copy.deepcopy(patch), root)


# ---------------------------------------------------------------------------------------------
# Field sets (structured-merge-diff) and the FieldsV1 encoding
# ---------------------------------------------------------------------------------------------

def _list_semantics(prop: dict[str, Any] | None) -> tuple[str, list[str]]:
    list_type = _ext(prop, "x-kubernetes-list-type") or "atomic"
    keys = list(_ext(prop, "x-kubernetes-list-map-keys") or [])
    return str(list_type), keys


def _map_atomic(prop: dict[str, Any] | None) -> bool:
    return _ext(prop, "x-kubernetes-map-type") == "atomic"


def _key_default(item_schema: dict[str, Any] | None, key: str) -> Any:
    prop = _child(item_schema, key)
    if prop and "default" in prop:
        return prop["default"]
    # Protocol defaults to TCP in every list keyed by it (ports); the schema bundle leaves the default out.
    return "TCP" if key == "protocol" else _MISSING


def _item_element(item: Any, prop: dict[str, Any] | None, index: int, strict: bool = False) -> str:
    """The path element of a list item: ``k:{...}`` for map lists, ``v:...`` for sets, ``i:N`` otherwise."""
    list_type, keys = _list_semantics(prop)
    if list_type == "set":
        return "v:" + json.dumps(item, separators=(",", ":"))
    if list_type == "map" and isinstance(item, dict):
        fields = {}
        for key in keys:
            value = item.get(key, _MISSING)
            if value is _MISSING:
                value = _key_default(_items(prop), key)
            if value is _MISSING:
                if strict:
                    raise _PatchFailure(f"element {index}: associative list with keys has an element that omits key field {json.dumps(key)} "
                                        "(and doesn't have default value)")
                return f"i:{index}"
            fields[key] = value
        return "k:" + json.dumps(dict(sorted(fields.items())), separators=(",", ":"))
    return f"i:{index}"


def _is_associative(prop: dict[str, Any] | None) -> bool:
    return _list_semantics(prop)[0] in ("map", "set")


def _path_string(path: Path) -> str:
    """A field path as structured-merge-diff prints it: ``.spec.containers[name="x"].image``."""
    def scalar(value: Any) -> str:
        if isinstance(value, str):
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return _go_fmt(value)
    out = []
    for element in path:
        prefix, body = element[:2], element[2:]
        if prefix == "f:":
            out.append("." + body)
        elif prefix == "k:":
            fields = json.loads(body)
            out.append("[" + ",".join(f"{key}={scalar(fields[key])}" for key in sorted(fields)) + "]")
        elif prefix == "v:":
            out.append("[=" + scalar(json.loads(body)) + "]")
        else:
            out.append("[" + body + "]")
    return "".join(out)


def _element_sort_key(element: str) -> tuple[int, Any]:
    rank = {"f:": 0, "k:": 1, "v:": 2, "i:": 3}.get(element[:2], 4)
    if rank == 3:
        return rank, int(element[2:])
    return rank, element[2:]


def _encode_fields(fields: Iterable[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in fields:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}

    def emit(node: dict[str, Any]) -> dict[str, Any]:
        children = sorted((k for k in node if k != "."), key=_element_sort_key)
        out: dict[str, Any] = {}
        if "." in node and children:
            out["."] = {}
        for key in children:
            out[key] = emit(node[key])
        return out

    return emit(tree)


def _decode_fields(encoded: Any, prefix: Path = ()) -> FieldSet:
    fields: FieldSet = set()
    if not isinstance(encoded, dict):
        return fields
    for key, child in encoded.items():
        if key == ".":
            if prefix:
                fields.add(prefix)
            continue
        path = prefix + (key,)
        if not child:
            fields.add(path)
        else:
            fields |= _decode_fields(child, path)
    return fields


def _to_field_set(value: Any, prop: dict[str, Any] | None, path: Path = ()) -> FieldSet:
    """structured-merge-diff ``ToFieldSet``: the leaves, set/map list items and untyped map keys of ``value``."""
    fields: FieldSet = set()
    if isinstance(value, dict):
        if _map_atomic(prop) and path:
            return {path}
        for key, item in value.items():
            child_path = path + ("f:" + key,)
            fields |= _to_field_set(item, _child(prop, key), child_path)
            if not _is_named_field(prop, key):
                fields.add(child_path)
        return fields
    if isinstance(value, list):
        if not _is_associative(prop):
            return {path}
        for index, item in enumerate(value):
            try:
                element = _item_element(item, prop, index, strict=True)
            except _PatchFailure as exc:
                raise _PatchFailure(f"{_path_string(path)}: {exc}") from None
            item_path = path + (element,)
            fields.add(item_path)
            if element.startswith("k:"):
                fields |= _to_field_set(item, _items(prop), item_path)
        return fields
    return {path}


def _compare(  # pylint: disable=too-many-branches,too-many-locals
        lhs: Any, rhs: Any, prop: dict[str, Any] | None, path: Path, result: dict[str, FieldSet]) -> None:
    """structured-merge-diff ``Compare``: fill ``added``/``modified``/``removed`` (lhs=_MISSING means absent)."""
    def leaf() -> None:
        if lhs is _MISSING:
            result["added"].add(path)
        elif rhs is _MISSING:
            result["removed"].add(path)
        elif _canonical(lhs) != _canonical(rhs):
            result["modified"].add(path)

    present = [v for v in (lhs, rhs) if v is not _MISSING]
    containers = {type(v) for v in present if isinstance(v, (dict, list))}
    if not containers or len(containers) > 1 or any(v is not None and not isinstance(v, (dict, list)) for v in present):
        leaf()
        return
    container = containers.pop()
    left = lhs if isinstance(lhs, container) else container()
    right = rhs if isinstance(rhs, container) else container()
    atomic = _map_atomic(prop) if container is dict else not _is_associative(prop)
    if atomic or (not left and not right):
        leaf()
        return
    if container is dict:
        for key in list(left) + [k for k in right if k not in left]:
            _compare(left.get(key, _MISSING), right.get(key, _MISSING), _child(prop, key), path + ("f:" + key,), result)
    else:
        left_items = _index_items(left, prop)
        right_items = _index_items(right, prop)
        for element in list(left_items) + [e for e in right_items if e not in left_items]:
            item_path = path + (element,)
            lchild, rchild = left_items.get(element, _MISSING), right_items.get(element, _MISSING)
            if element.startswith("v:"):
                if lchild is _MISSING:
                    result["added"].add(item_path)
                elif rchild is _MISSING:
                    result["removed"].add(item_path)
                continue
            _compare(lchild, rchild, _items(prop), item_path, result)
    if path and lhs is _MISSING:
        result["added"].add(path)
    elif path and rhs is _MISSING:
        result["removed"].add(path)


def _index_items(items: list[Any], prop: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, item in enumerate(items):
        out.setdefault(_item_element(item, prop, index), item)
    return out


def _merge_values(lhs: Any, rhs: Any, prop: dict[str, Any] | None) -> Any:
    """structured-merge-diff ``Merge``: ``rhs`` (the applied configuration) wins, granular parts merge."""
    if lhs is _MISSING:
        return copy.deepcopy(rhs)
    if rhs is _MISSING:
        return lhs
    if isinstance(rhs, dict) and isinstance(lhs, dict) and not _map_atomic(prop):
        out = dict(lhs)
        for key, value in rhs.items():
            out[key] = _merge_values(lhs.get(key, _MISSING), value, _child(prop, key))
        return out
    if isinstance(rhs, list) and isinstance(lhs, list) and _is_associative(prop):
        return _merge_lists(lhs, rhs, prop)
    return copy.deepcopy(rhs)


def _merge_lists(lhs: list[Any], rhs: list[Any], prop: dict[str, Any] | None) -> list[Any]:  # pylint: disable=too-many-locals,too-many-branches
    # The interleaving of structured-merge-diff's mergingWalker.visitListItems, so item order matches.
    lhs_items, rhs_items = _index_items(lhs, prop), _index_items(rhs, prop)
    lhs_order, rhs_order = list(lhs_items), list(rhs_items)
    shared = [e for e in rhs_order if e in lhs_items]
    next_shared = shared.pop(0) if shared else None
    merged_rhs: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    item_prop = _items(prop)

    def merge_item(element: str) -> Any:
        return _merge_values(lhs_items.get(element, _MISSING), rhs_items.get(element, _MISSING), item_prop)

    while li < len(lhs_order) or ri < len(rhs_order):
        if li < len(lhs_order) and ri < len(rhs_order):
            element = lhs_order[li]
            if element == rhs_order[ri]:
                merged_rhs.add(element)
                out.append(merge_item(element))
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in rhs_items and next_shared is not None and next_shared != element:
                li += 1
                continue
        if li < len(lhs_order):
            element = lhs_order[li]
            if element not in rhs_items:
                out.append(lhs_items[element])
                li += 1
                continue
            if element in merged_rhs:
                li += 1
                continue
        if ri < len(rhs_order):
            element = rhs_order[ri]
            merged_rhs.add(element)
            out.append(merge_item(element))
            ri += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


def _remove_path(obj: Any, path: Path, prop: dict[str, Any] | None) -> None:
    node, node_prop = obj, prop
    for depth, element in enumerate(path):
        last = depth == len(path) - 1
        if element.startswith("f:"):
            if not isinstance(node, dict) or element[2:] not in node:
                return
            if last:
                del node[element[2:]]
                return
            node, node_prop = node[element[2:]], _child(node_prop, element[2:])
        else:
            if not isinstance(node, list):
                return
            index = next((i for i, item in enumerate(node) if _item_element(item, node_prop, i) == element), -1)
            if index < 0:
                return
            if last:
                del node[index]
                return
            node, node_prop = node[index], _items(node_prop)


def _named_ancestors(path: Path, prop: dict[str, Any] | None) -> list[Path]:
    """Ancestors of ``path`` that are named fields of a struct (``EnsureNamedFieldsAreMembers``)."""
    out: list[Path] = []
    node_prop = prop
    for depth, element in enumerate(path[:-1]):
        if element.startswith("f:"):
            if _is_named_field(node_prop, element[2:]):
                out.append(path[:depth + 1])
            node_prop = _child(node_prop, element[2:])
        else:
            node_prop = _items(node_prop)
    return out


# ---------------------------------------------------------------------------------------------
# managedFields bookkeeping
# ---------------------------------------------------------------------------------------------

# Fields the field manager never records (stripMetaManager).
_STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
    ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:selfLink"), ("f:metadata", "f:uid"), ("f:metadata", "f:clusterName"),
    ("f:metadata", "f:generation"), ("f:metadata", "f:managedFields"), ("f:metadata", "f:resourceVersion"),
})

# Go struct fields that are not pointers: they exist (empty) in the zero object a create is compared with,
# so they are never "added" themselves. Lists here are non-omitempty and decode as null.
_ZERO_OBJECT_PATHS: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("metadata",), {}), (("spec",), {}), (("status",), {}),
    (("spec", "template"), {}), (("spec", "template", "metadata"), {}), (("spec", "template", "spec"), {}),
    (("spec", "template", "spec", "containers"), None), (("spec", "containers"), None),
    (("spec", "strategy"), {}), (("spec", "updateStrategy"), {}),
    (("spec", "jobTemplate"), {}), (("spec", "jobTemplate", "metadata"), {}), (("spec", "jobTemplate", "spec"), {}),
    (("spec", "jobTemplate", "spec", "template"), {}), (("spec", "jobTemplate", "spec", "template", "metadata"), {}),
    (("spec", "jobTemplate", "spec", "template", "spec"), {}), (("spec", "jobTemplate", "spec", "template", "spec", "containers"), None),
    (("rules",), None),
)

Identity = tuple[str, str, str, str]


def _identity(entry: dict[str, Any]) -> Identity:
    operation = entry.get("operation", "")
    return (entry.get("manager", ""), operation, "" if operation == "Apply" else entry.get("apiVersion", ""), entry.get("subresource", ""))


def _decode_managers(entries: Any) -> dict[Identity, dict[str, Any]]:
    managers: dict[Identity, dict[str, Any]] = {}
    for entry in entries or ():
        if not isinstance(entry, dict):
            continue
        ident = _identity(entry)
        fields = _decode_fields(entry.get("fieldsV1"))
        if ident in managers:
            managers[ident]["fields"] |= fields
        else:
            managers[ident] = {"fields": fields, "apiVersion": entry.get("apiVersion", ""), "time": entry.get("time")}
    return managers


def _encode_managers(managers: dict[Identity, dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for (manager, operation, _version, subresource), state in managers.items():
        fields = {p for p in state["fields"] if p not in _STRIPPED}
        if not fields:
            continue
        entry: dict[str, Any] = {"manager": manager, "operation": operation, "apiVersion": state["apiVersion"]}
        if state.get("time"):
            entry["time"] = state["time"]
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = _encode_fields(fields)
        if subresource:
            entry["subresource"] = subresource
        entries.append(entry)
    entries.sort(key=lambda e: (e["operation"], e.get("time") or "", e["manager"], e["apiVersion"], e.get("subresource", "")))
    return entries


def _ignored(path: Path, subresource: str, has_status: bool) -> bool:
    # The strategies' reset fields: writes to the main resource never own status, status writes own only status.
    if subresource == "status":
        return not path or path[0] != "f:status"
    return has_status and bool(path) and path[0] == "f:status"


def _without_managed_fields(obj: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    if isinstance(out.get("metadata"), dict):
        out["metadata"].pop("managedFields", None)
    return out


def _with_zero_fields(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(old)
    for path, zero in _ZERO_OBJECT_PATHS:
        parent_new, parent_old = new, out
        for key in path[:-1]:
            parent_new = parent_new.get(key) if isinstance(parent_new, dict) else None
            parent_old = parent_old.get(key) if isinstance(parent_old, dict) else None
        if isinstance(parent_new, dict) and isinstance(parent_old, dict) and path[-1] in parent_new and path[-1] not in parent_old:
            parent_old[path[-1]] = copy.deepcopy(zero)
    return out


def _is_reset(managed: Any) -> bool:
    return isinstance(managed, list) and (not managed or (len(managed) == 1 and managed[0] == {}))


def _has_status(root: dict[str, Any] | None) -> bool:
    return _is_named_field(root, "status")


def update_managed_fields(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
        old: dict[str, Any] | None, new: dict[str, Any], manager: str, operation: str, api_version: str, now: str,
        subresource: str = "") -> list[dict[str, Any]]:
    """The ``managedFields`` after a create/update/patch (``old`` is None for a create) by ``manager``.

    The writer's entry (``operation`` "Update", keyed by manager and ``api_version``) gains every
    field the write added or changed and gets ``time`` ``now``; other managers lose those fields
    and every removed field; entries left empty disappear. ``managedFields`` sent in ``new``
    replace the stored ones (``[]`` resets them), as on the real server; subresource writes
    ignore them.
    """
    old_obj = old if isinstance(old, dict) else {}
    new_meta = new.get("metadata") if isinstance(new.get("metadata"), dict) else {}
    stored = (old_obj.get("metadata") or {}).get("managedFields")
    sent = new_meta.get("managedFields")
    if subresource or sent is None:
        base = stored
    elif _is_reset(sent):
        base = []
    else:
        base = sent if _decode_managers(sent) else stored
    group, version = _group_version(api_version)
    root = oapi.object_schema(group, version, new.get("kind") or old_obj.get("kind") or "")
    has_status = _has_status(root)
    before, after = _without_managed_fields(old_obj), _without_managed_fields(new)
    result: dict[str, FieldSet] = {"added": set(), "modified": set(), "removed": set()}
    _compare(_with_zero_fields(before, after), after, root, (), result)
    for name in result:
        result[name] = {p for p in result[name] if not _ignored(p, subresource, has_status)}
    changed = result["added"] | result["modified"]
    managers = _decode_managers(copy.deepcopy(base))
    for state in managers.values():
        state["fields"] = state["fields"] - changed - result["removed"]
    own = {p for p in changed if p not in _STRIPPED}
    ident: Identity = (manager, operation, "" if operation == "Apply" else api_version, subresource)
    if own:
        previous = managers.get(ident, {"fields": set()})
        managers[ident] = {"fields": previous["fields"] | own, "apiVersion": api_version, "time": now}
    return _encode_managers(managers)


# ---------------------------------------------------------------------------------------------
# Server-side apply
# ---------------------------------------------------------------------------------------------

def _manager_label(ident: Identity, api_version: str) -> str:
    manager, operation, _version, subresource = ident
    text = json.dumps(manager)
    if subresource:
        text += f" with subresource {json.dumps(subresource)}"
    if operation == "Update":
        text += f" using {api_version}"
    return text


def _conflict_error(conflicts: list[tuple[Identity, str, Path]]) -> ApiError:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_manager_label(ident, version)}", "field": _path_string(path)}
              for ident, version, path in conflicts]
    if len(conflicts) == 1:
        ident, version, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_manager_label(ident, version)}: {_path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for ident, version, path in conflicts:
            by_manager.setdefault(_manager_label(ident, version), []).append(_path_string(path))
        lines = []
        # Go sorts the encoded manager identifiers; their JSON starts with the manager name.
        for label in sorted(by_manager):
            lines.append(f"conflicts with {label}:")
            lines.extend(f"- {p}" for p in by_manager[label])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def server_side_apply(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals,too-many-branches
        live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool, group: str, version: str,
        kind: str, now: str, subresource: str = "") -> dict[str, Any]:
    """Server-side apply ``applied`` (the configuration) onto ``live`` (None to create) for ``manager``.

    Returns the new object with ``metadata.managedFields`` updated: the manager's "Apply" entry
    owns exactly the applied fields. Fields another manager owns with a different value are a 409
    ``Conflict`` (causes of reason ``FieldManagerConflict``) unless ``force``, which takes them
    over. Fields the manager applied last time and omits now are removed unless someone else
    still owns them. ``map`` lists merge per key, ``set`` lists as sets, atomic lists/maps are replaced.
    """
    api_version = f"{group}/{version}" if group else version
    root = oapi.object_schema(group, version, kind)
    config = _strip_nulls(copy.deepcopy(applied))
    if not isinstance(config, dict):
        raise ApiError(400, "BadRequest", "error decoding patch: json: cannot unmarshal "
                       f"{_go_json_type(applied)} into Go value of type map[string]interface {{}}")
    if (config.get("metadata") or {}).get("managedFields"):
        raise ApiError(400, "BadRequest", "metadata.managedFields must be nil")
    has_status = _has_status(root)
    if subresource == "status":
        config = {k: v for k, v in config.items() if k in ("apiVersion", "kind", "metadata", "status")}
    elif has_status:
        config.pop("status", None)
    live_obj = _without_managed_fields(live) if live else {}
    managers = _decode_managers(copy.deepcopy(((live or {}).get("metadata") or {}).get("managedFields")))
    try:
        config_fields = {p for p in _to_field_set(config, root) if not _ignored(p, subresource, has_status)}
    except _PatchFailure as exc:
        gvk = f"{api_version}, Kind={kind}" if group else f"/{version}, Kind={kind}"
        raise _internal_error(f"failed to create typed patch object ({gvk}): {exc}") from None
    ident: Identity = (manager, "Apply", "", subresource)
    last = managers.get(ident)
    merged = _merge_values(live_obj, config, root) if live_obj else copy.deepcopy(config)
    managers[ident] = {"fields": config_fields, "apiVersion": api_version, "time": last["time"] if last else None}
    if last and last["fields"]:
        merged = _prune(merged, root, managers, last["fields"])
    result: dict[str, FieldSet] = {"added": set(), "modified": set(), "removed": set()}
    _compare(_with_zero_fields(live_obj, merged), merged, root, (), result)
    for name in result:
        result[name] = {p for p in result[name] if not _ignored(p, subresource, has_status)}
    changed = result["added"] | result["modified"]
    conflicts = []
    for other, state in managers.items():
        if other == ident:
            continue
        for path in sorted(state["fields"] & changed, key=lambda p: [_element_sort_key(e) for e in p]):
            conflicts.append((other, state["apiVersion"], path))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for other, state in managers.items():
        if other != ident:
            state["fields"] = state["fields"] - changed - result["removed"]
    if _canonical(merged) != _canonical(live_obj):
        managers[ident]["time"] = now
    merged.setdefault("metadata", {})
    entries = _encode_managers(managers)
    if entries:
        merged["metadata"]["managedFields"] = entries
    return merged


def _prune(merged: dict[str, Any], root: dict[str, Any] | None, managers: dict[Identity, dict[str, Any]], last_fields: FieldSet) -> dict[str, Any]:
    owned: set[Path] = set()
    for state in managers.values():
        owned |= state["fields"]
    # The configuration always carries these, so their parents stay.
    owned |= {("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace")}
    prefixes: set[Path] = set()
    for path in owned:
        for depth in range(1, len(path) + 1):
            prefixes.add(path[:depth])
    candidates: set[Path] = set(last_fields)
    for path in last_fields:
        candidates.update(_named_ancestors(path, root))
    out = copy.deepcopy(merged)
    for path in sorted(candidates, key=len):
        if path not in prefixes:
            _remove_path(out, path, root)
    return out
