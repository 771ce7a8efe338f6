"""``/openapi/v2`` as protobuf: a swagger 2.0 dict encoded as gnostic's ``openapi.v2.Document``.

kubectl (client-go's ``OpenAPISchema``) asks ``/openapi/v2`` for protobuf only, so on releases
without ``/openapi/v3`` (1.8, 1.15) ``apply``, ``explain`` and field validation need this encoding.
kube-apiserver produces it with kube-openapi's ``ToProtoBinary``: the JSON document is parsed by
gnostic (``openapiv2/OpenAPIv2.proto``) and marshalled with Go protobuf. This module writes the
same wire format with the stdlib, message by message:

* every swagger key maps to its numbered proto field; proto3 scalars at their zero value are left
  out, except inside a ``oneof`` (``AdditionalPropertiesItem.boolean = false`` is still written).
* gnostic's wrappers are kept: ``type`` is a ``TypeItem`` (repeated string), ``items`` an
  ``ItemsItem`` (repeated Schema), parameters are ``ParametersItem`` -> ``Parameter`` ->
  ``BodyParameter`` or ``NonBodyParameter`` -> ``<in>ParameterSubSchema``, responses are
  ``ResponseValue`` -> ``Response`` -> ``SchemaItem``.
* ``x-*`` keys become ``NamedAny`` whose ``Any.yaml`` holds the value as YAML, which is where
  kube-openapi's ``VendorExtensionToMap`` (and so kubectl) reads ``x-kubernetes-*`` from; so do
  ``enum``, ``default`` and ``example`` values.

A key gnostic would reject (not in the proto, not ``x-``) raises ``ValueError`` rather than being
dropped, so a document drifting away from what is encodable shows up in tests, not in kubectl.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Callable, Mapping

import yaml

# What client-go asks for, and what kube-openapi answers with for either protobuf Accept.
PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_Yaml = Callable[[Any], str]
_Out = list[bytes]

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# --- wire primitives --------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    if value < 0:
        # int64 negatives are ten-byte two's complement varints on the wire.
        value += 1 << 64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _len(out: _Out, field: int, payload: bytes) -> None:
    out.append(_key(field, 2))
    out.append(_varint(len(payload)))
    out.append(payload)


def _msg(out: _Out, field: int, parts: _Out) -> None:
    _len(out, field, b"".join(parts))


def _string(out: _Out, field: int, value: Any) -> None:
    if value is None or value == "":
        return
    if not isinstance(value, str):
        raise ValueError(f"field {field}: expected a string, got {value!r}")
    _len(out, field, value.encode("utf-8"))


def _strings(out: _Out, field: int, values: Any) -> None:
    for value in _as_list(values):
        # Repeated strings are never packed and keep their empty members.
        if not isinstance(value, str):
            raise ValueError(f"field {field}: expected strings, got {value!r}")
        _len(out, field, value.encode("utf-8"))


def _bool(out: _Out, field: int, value: Any, force: bool = False) -> None:
    if value or force:
        out.append(_key(field, 0))
        out.append(b"\x01" if value else b"\x00")


def _int64(out: _Out, field: int, value: Any) -> None:
    if value:
        out.append(_key(field, 0))
        out.append(_varint(int(value)))


def _double(out: _Out, field: int, value: Any) -> None:
    if value:
        out.append(_key(field, 1))
        out.append(struct.pack("<d", float(value)))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {value!r}")
    return value


# --- Any / NamedAny ---------------------------------------------------------------------------

def _yaml_text(value: Any) -> str:
    """The YAML gnostic stores for a value: block style, keys in document order, no ``...`` end."""
    text = yaml.dump(value, Dumper=_DUMPER, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 30)
    if text.endswith("\n...\n"):
        text = text[:-4]
    return text


def _yaml_cache() -> _Yaml:
    """A per-call memo of ``_yaml_text``: documents repeat the same few GVKs and strategies hundreds of times."""
    seen: dict[str, str] = {}

    def encode(value: Any) -> str:
        key = json.dumps(value, separators=(",", ":"))
        text = seen.get(key)
        if text is None:
            text = seen[key] = _yaml_text(value)
        return text
    return encode


def _any(value: Any, ymls: _Yaml) -> _Out:
    parts: _Out = []
    _len(parts, 2, ymls(value).encode("utf-8"))
    return parts


def _named_any(out: _Out, field: int, name: str, value: Any, ymls: _Yaml) -> None:
    parts: _Out = []
    _string(parts, 1, name)
    _msg(parts, 2, _any(value, ymls))
    _msg(out, field, parts)


def _anys(out: _Out, field: int, values: Any, ymls: _Yaml) -> None:
    for value in _as_list(values):
        _msg(out, field, _any(value, ymls))


def _fields(out: _Out, node: Mapping[str, Any], table: Mapping[str, tuple[int, str]],  # pylint: disable=too-many-arguments,too-many-positional-arguments
            extension_field: int | None, ymls: _Yaml, where: str) -> None:
    """Writes the flat fields of ``node`` listed in ``table`` (key -> field number, kind)."""
    for key, value in node.items():
        spec = table.get(key)
        if spec is None:
            if extension_field is not None and key.startswith("x-"):
                _named_any(out, extension_field, key, value, ymls)
                continue
            raise ValueError(f"{where}: {key!r} is not a swagger 2.0 field gnostic knows")
        field, kind = spec
        if kind == "string":
            _string(out, field, value)
        elif kind == "strings":
            _strings(out, field, value)
        elif kind == "bool":
            _bool(out, field, value)
        elif kind == "int64":
            _int64(out, field, value)
        elif kind == "double":
            _double(out, field, value)
        elif kind == "any":
            _msg(out, field, _any(value, ymls))
        elif kind == "anys":
            _anys(out, field, value, ymls)
        else:  # a nested message with its own encoder
            _NESTED[kind](out, field, value, ymls, f"{where}.{key}")


# --- messages ---------------------------------------------------------------------------------

_SCHEMA_FIELDS: dict[str, tuple[int, str]] = {
    "$ref": (1, "string"), "format": (2, "string"), "title": (3, "string"), "description": (4, "string"),
    "default": (5, "any"), "multipleOf": (6, "double"), "maximum": (7, "double"), "exclusiveMaximum": (8, "bool"),
    "minimum": (9, "double"), "exclusiveMinimum": (10, "bool"), "maxLength": (11, "int64"), "minLength": (12, "int64"),
    "pattern": (13, "string"), "maxItems": (14, "int64"), "minItems": (15, "int64"), "uniqueItems": (16, "bool"),
    "maxProperties": (17, "int64"), "minProperties": (18, "int64"), "required": (19, "strings"), "enum": (20, "anys"),
    "additionalProperties": (21, "additional"), "type": (22, "type"), "items": (23, "items"), "allOf": (24, "schemas"),
    "properties": (25, "properties"), "discriminator": (26, "string"), "readOnly": (27, "bool"), "xml": (28, "xml"),
    "externalDocs": (29, "external_docs"), "example": (30, "any"),
}
_SCHEMA_EXTENSIONS = 31

_PRIMITIVES_FIELDS: dict[str, tuple[int, str]] = {
    "type": (1, "string"), "format": (2, "string"), "items": (3, "primitives"), "collectionFormat": (4, "string"),
    "default": (5, "any"), "maximum": (6, "double"), "exclusiveMaximum": (7, "bool"), "minimum": (8, "double"),
    "exclusiveMinimum": (9, "bool"), "maxLength": (10, "int64"), "minLength": (11, "int64"), "pattern": (12, "string"),
    "maxItems": (13, "int64"), "minItems": (14, "int64"), "uniqueItems": (15, "bool"), "enum": (16, "anys"),
    "multipleOf": (17, "double"),
}
_PRIMITIVES_EXTENSIONS = 18

# Header/path (sub schema field order: required, in, description, name, then the primitive block).
_HEADER_PARAM_FIELDS: dict[str, tuple[int, str]] = {
    "required": (1, "bool"), "in": (2, "string"), "description": (3, "string"), "name": (4, "string"),
    **{key: (field + 4, kind) for key, (field, kind) in _PRIMITIVES_FIELDS.items()},
}
_PATH_PARAM_FIELDS = _HEADER_PARAM_FIELDS
# Query/formData also carry allowEmptyValue at 5, which shifts the primitive block by one.
_QUERY_PARAM_FIELDS: dict[str, tuple[int, str]] = {
    "required": (1, "bool"), "in": (2, "string"), "description": (3, "string"), "name": (4, "string"),
    "allowEmptyValue": (5, "bool"),
    **{key: (field + 5, kind) for key, (field, kind) in _PRIMITIVES_FIELDS.items()},
}
_FORM_PARAM_FIELDS = _QUERY_PARAM_FIELDS
# NonBodyParameter's oneof: which sub schema, its field tables and where its extensions go.
_NON_BODY: dict[str, tuple[int, dict[str, tuple[int, str]], int]] = {
    "header": (1, _HEADER_PARAM_FIELDS, 22),
    "formData": (2, _FORM_PARAM_FIELDS, 23),
    "query": (3, _QUERY_PARAM_FIELDS, 23),
    "path": (4, _PATH_PARAM_FIELDS, 22),
}
_BODY_FIELDS: dict[str, tuple[int, str]] = {
    "description": (1, "string"), "name": (2, "string"), "in": (3, "string"), "required": (4, "bool"), "schema": (5, "schema"),
}
_HEADER_FIELDS: dict[str, tuple[int, str]] = {
    **_PRIMITIVES_FIELDS, "description": (18, "string"),
}

_OPERATION_FIELDS: dict[str, tuple[int, str]] = {
    "tags": (1, "strings"), "summary": (2, "string"), "description": (3, "string"), "externalDocs": (4, "external_docs"),
    "operationId": (5, "string"), "produces": (6, "strings"), "consumes": (7, "strings"), "parameters": (8, "parameters"),
    "responses": (9, "responses"), "schemes": (10, "strings"), "deprecated": (11, "bool"), "security": (12, "security"),
}
_PATH_ITEM_FIELDS: dict[str, tuple[int, str]] = {
    "$ref": (1, "string"), "get": (2, "operation"), "put": (3, "operation"), "post": (4, "operation"),
    "delete": (5, "operation"), "options": (6, "operation"), "head": (7, "operation"), "patch": (8, "operation"),
    "parameters": (9, "parameters"),
}
_RESPONSE_FIELDS: dict[str, tuple[int, str]] = {
    "description": (1, "string"), "schema": (2, "schema_item"), "headers": (3, "headers"), "examples": (4, "named_anys"),
}
_INFO_FIELDS: dict[str, tuple[int, str]] = {
    "title": (1, "string"), "version": (2, "string"), "description": (3, "string"), "termsOfService": (4, "string"),
    "contact": (5, "contact"), "license": (6, "license"),
}
_DOCUMENT_FIELDS: dict[str, tuple[int, str]] = {
    "swagger": (1, "string"), "info": (2, "info"), "host": (3, "string"), "basePath": (4, "string"),
    "schemes": (5, "strings"), "consumes": (6, "strings"), "produces": (7, "strings"), "paths": (8, "paths"),
    "definitions": (9, "definitions"), "parameters": (10, "parameter_definitions"), "responses": (11, "response_definitions"),
    "security": (12, "security"), "securityDefinitions": (13, "security_definitions"), "tags": (14, "tags"),
    "externalDocs": (15, "external_docs"),
}
_DOCUMENT_EXTENSIONS = 16

# SecurityDefinitionsItem's oneof, chosen by ``type`` (and ``flow`` for oauth2): field, fields, extensions.
_SECURITY_SCHEMES: dict[str, tuple[int, dict[str, tuple[int, str]], int]] = {
    "basic": (1, {"type": (1, "string"), "description": (2, "string")}, 3),
    "apiKey": (2, {"type": (1, "string"), "name": (2, "string"), "in": (3, "string"), "description": (4, "string")}, 5),
    "implicit": (3, {"type": (1, "string"), "flow": (2, "string"), "scopes": (3, "named_strings"),
                     "authorizationUrl": (4, "string"), "description": (5, "string")}, 6),
    "password": (4, {"type": (1, "string"), "flow": (2, "string"), "scopes": (3, "named_strings"),
                     "tokenUrl": (4, "string"), "description": (5, "string")}, 6),
    "application": (5, {"type": (1, "string"), "flow": (2, "string"), "scopes": (3, "named_strings"),
                        "tokenUrl": (4, "string"), "description": (5, "string")}, 6),
    "accessCode": (6, {"type": (1, "string"), "flow": (2, "string"), "scopes": (3, "named_strings"),
                       "authorizationUrl": (4, "string"), "tokenUrl": (5, "string"), "description": (6, "string")}, 7),
}


def _flat(table: Mapping[str, tuple[int, str]], extension_field: int | None) -> Callable[[_Out, int, Any, _Yaml, str], None]:
    def encode(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
        parts: _Out = []
        _fields(parts, _object(value, where), table, extension_field, ymls, where)
        _msg(out, field, parts)
    return encode


def _schema_parts(node: Any, ymls: _Yaml, where: str) -> _Out:
    parts: _Out = []
    _fields(parts, _object(node, where), _SCHEMA_FIELDS, _SCHEMA_EXTENSIONS, ymls, where)
    return parts


def _schema(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    _msg(out, field, _schema_parts(value, ymls, where))


def _schemas(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    for index, item in enumerate(_as_list(value)):
        _schema(out, field, item, ymls, f"{where}[{index}]")


def _type_item(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:  # pylint: disable=unused-argument
    parts: _Out = []
    _strings(parts, 1, value)
    _msg(out, field, parts)


def _items_item(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    parts: _Out = []
    _schemas(parts, 1, value, ymls, where)
    _msg(out, field, parts)


def _additional(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    parts: _Out = []
    if isinstance(value, bool):
        _bool(parts, 2, value, force=True)
    else:
        _schema(parts, 1, value, ymls, where)
    _msg(out, field, parts)


def _named(encode_value: Callable[[_Out, int, Any, _Yaml, str], None]) -> Callable[[_Out, int, Any, _Yaml, str], None]:
    """A map as gnostic writes it: a message of repeated ``Named<X>`` (name = 1, value = 2) at field 1."""
    def encode(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
        parts: _Out = []
        for name, item in _object(value, where).items():
            pair: _Out = []
            _string(pair, 1, name)
            encode_value(pair, 2, item, ymls, f"{where}.{name}")
            _msg(parts, 1, pair)
        _msg(out, field, parts)
    return encode


def _named_anys(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    parts: _Out = []
    for name, item in _object(value, where).items():
        _named_any(parts, 1, name, item, ymls)
    _msg(out, field, parts)


def _named_strings(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:  # pylint: disable=unused-argument
    parts: _Out = []
    for name, item in _object(value, where).items():
        pair: _Out = []
        _string(pair, 1, name)
        _string(pair, 2, item)
        _msg(parts, 1, pair)
    _msg(out, field, parts)


def _json_reference(out: _Out, field: int, node: Mapping[str, Any], where: str) -> None:
    unknown = set(node) - {"$ref", "description"}
    if unknown:
        raise ValueError(f"{where}: a $ref carries {sorted(unknown)}")
    parts: _Out = []
    _string(parts, 1, node["$ref"])
    _string(parts, 2, node.get("description"))
    _msg(out, field, parts)


def _parameter(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    """A ``Parameter``: body -> BodyParameter (1), else NonBodyParameter (2) with its ``in`` sub schema."""
    node = _object(value, where)
    location = node.get("in")
    parts: _Out = []
    if location == "body":
        _flat(_BODY_FIELDS, 6)(parts, 1, node, ymls, where)
    elif location in _NON_BODY:
        sub_field, table, extensions = _NON_BODY[location]
        wrapper: _Out = []
        _flat(table, extensions)(wrapper, sub_field, node, ymls, where)
        _msg(parts, 2, wrapper)
    else:
        raise ValueError(f"{where}: parameter location {location!r} is not body, header, formData, query or path")
    _msg(out, field, parts)


def _parameters(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    """Repeated ``ParametersItem``: a Parameter (1) or a JsonReference (2)."""
    for index, item in enumerate(_as_list(value)):
        node = _object(item, f"{where}[{index}]")
        parts: _Out = []
        if "$ref" in node:
            _json_reference(parts, 2, node, f"{where}[{index}]")
        else:
            _parameter(parts, 1, node, ymls, f"{where}[{index}]")
        _msg(out, field, parts)


def _schema_item(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    """``SchemaItem``: a response schema of type ``file`` is a FileSchema (2), anything else a Schema (1)."""
    node = _object(value, where)
    parts: _Out = []
    if node.get("type") == "file":
        _flat(_FILE_SCHEMA_FIELDS, 10)(parts, 2, node, ymls, where)
    else:
        _schema(parts, 1, node, ymls, where)
    _msg(out, field, parts)


_FILE_SCHEMA_FIELDS: dict[str, tuple[int, str]] = {
    "format": (1, "string"), "title": (2, "string"), "description": (3, "string"), "default": (4, "any"),
    "required": (5, "strings"), "type": (6, "string"), "readOnly": (7, "bool"), "externalDocs": (8, "external_docs"),
    "example": (9, "any"),
}


def _response_value(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    node = _object(value, where)
    parts: _Out = []
    if "$ref" in node:
        _json_reference(parts, 2, node, where)
    else:
        _flat(_RESPONSE_FIELDS, 5)(parts, 1, node, ymls, where)
    _msg(out, field, parts)


def _responses(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    """``Responses``: status codes as NamedResponseValue (1), ``x-`` keys as NamedAny (2)."""
    parts: _Out = []
    for code, item in _object(value, where).items():
        if code.startswith("x-"):
            _named_any(parts, 2, code, item, ymls)
            continue
        pair: _Out = []
        _string(pair, 1, code)
        _response_value(pair, 2, item, ymls, f"{where}.{code}")
        _msg(parts, 1, pair)
    _msg(out, field, parts)


def _paths(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    """``Paths``: ``x-`` keys as NamedAny (1), each path as NamedPathItem (2)."""
    parts: _Out = []
    for path, item in _object(value, where).items():
        if path.startswith("x-"):
            _named_any(parts, 1, path, item, ymls)
            continue
        pair: _Out = []
        _string(pair, 1, path)
        _flat(_PATH_ITEM_FIELDS, 10)(pair, 2, item, ymls, f"{where}[{path}]")
        _msg(parts, 2, pair)
    _msg(out, field, parts)


def _security(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:  # pylint: disable=unused-argument
    """Repeated ``SecurityRequirement``: each a map of scheme name to ``StringArray`` of scopes."""
    for index, requirement in enumerate(_as_list(value)):
        parts: _Out = []
        for name, scopes in _object(requirement, f"{where}[{index}]").items():
            pair: _Out = []
            _string(pair, 1, name)
            array: _Out = []
            _strings(array, 1, scopes)
            _msg(pair, 2, array)
            _msg(parts, 1, pair)
        _msg(out, field, parts)


def _security_definitions(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    parts: _Out = []
    for name, item in _object(value, where).items():
        node = _object(item, f"{where}.{name}")
        scheme = node.get("flow") if node.get("type") == "oauth2" else node.get("type")
        if scheme not in _SECURITY_SCHEMES:
            raise ValueError(f"{where}.{name}: unknown security scheme {scheme!r}")
        sub_field, table, extensions = _SECURITY_SCHEMES[scheme]
        pair: _Out = []
        _string(pair, 1, name)
        wrapper: _Out = []
        _flat(table, extensions)(wrapper, sub_field, node, ymls, f"{where}.{name}")
        _msg(pair, 2, wrapper)
        _msg(parts, 1, pair)
    _msg(out, field, parts)


def _tags(out: _Out, field: int, value: Any, ymls: _Yaml, where: str) -> None:
    for index, item in enumerate(_as_list(value)):
        _flat(_TAG_FIELDS, 4)(out, field, item, ymls, f"{where}[{index}]")


_TAG_FIELDS: dict[str, tuple[int, str]] = {"name": (1, "string"), "description": (2, "string"), "externalDocs": (3, "external_docs")}

_NESTED: dict[str, Callable[[_Out, int, Any, _Yaml, str], None]] = {
    "schema": _schema,
    "schemas": _schemas,
    "type": _type_item,
    "items": _items_item,
    "additional": _additional,
    "properties": _named(_schema),
    "definitions": _named(_schema),
    "xml": _flat({"name": (1, "string"), "namespace": (2, "string"), "prefix": (3, "string"), "attribute": (4, "bool"),
                  "wrapped": (5, "bool")}, 6),
    "external_docs": _flat({"description": (1, "string"), "url": (2, "string")}, 3),
    "primitives": _flat(_PRIMITIVES_FIELDS, _PRIMITIVES_EXTENSIONS),
    "parameters": _parameters,
    "parameter_definitions": _named(_parameter),
    "responses": _responses,
    "response_definitions": _named(_flat(_RESPONSE_FIELDS, 5)),
    "schema_item": _schema_item,
    "headers": _named(_flat(_HEADER_FIELDS, 19)),
    "named_anys": _named_anys,
    "named_strings": _named_strings,
    "operation": _flat(_OPERATION_FIELDS, 13),
    "paths": _paths,
    "security": _security,
    "security_definitions": _security_definitions,
    "tags": _tags,
    "info": _flat(_INFO_FIELDS, 7),
    "contact": _flat({"name": (1, "string"), "url": (2, "string"), "email": (3, "string")}, 4),
    "license": _flat({"name": (1, "string"), "url": (2, "string")}, 3),
}


# --- public -----------------------------------------------------------------------------------

def openapi_v2_protobuf(document: Mapping[str, Any]) -> bytes:
    """The swagger 2.0 ``document`` as gnostic's ``openapi.v2.Document`` protobuf bytes, as kube-apiserver serves it.

    Pure: the argument is only read; equal documents give identical bytes. Raises ``ValueError``
    for a key gnostic's swagger 2.0 model has no field for (vendor ``x-`` keys are always accepted).
    """
    parts: _Out = []
    _fields(parts, _object(document, "document"), _DOCUMENT_FIELDS, _DOCUMENT_EXTENSIONS, _yaml_cache(), "document")
    return b"".join(parts)
