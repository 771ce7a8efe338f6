"""``/openapi/v2`` as gnostic protobuf: wire-level round trips and kubectl reading it for real."""
# pylint: disable=missing-function-docstring  # test names say what each one checks

from __future__ import annotations

import copy
import http.server
import json
import os
import struct
import subprocess
import sys
import threading
from typing import Any

import pytest
import yaml

from localcluster import openapi, openapi_proto, resources

PROFILES = ("1.8", "1.15", "1.30")


# --- a test-side protobuf reader, transcribed independently from gnostic's OpenAPIv2.proto ------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def wire(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field, wire type, value) triples; LEN values stay bytes, I64 values are decoded as double."""
    fields, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, kind = key >> 3, key & 7
        if kind == 0:
            value, pos = _varint(buf, pos)
        elif kind == 1:
            value, pos = struct.unpack("<d", buf[pos:pos + 8])[0], pos + 8
        elif kind == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise AssertionError(f"unexpected wire type {kind} for field {field}")
        fields.append((field, kind, value))
    assert pos == len(buf)
    return fields


# message -> field number -> (name, type, repeated); types: string, bool, int64, double or a message name.
_PRIM = {"type": "string", "format": "string", "items": "PrimitivesItems", "collectionFormat": "string", "default": "Any",
         "maximum": "double", "exclusiveMaximum": "bool", "minimum": "double", "exclusiveMinimum": "bool", "maxLength": "int64",
         "minLength": "int64", "pattern": "string", "maxItems": "int64", "minItems": "int64", "uniqueItems": "bool", "enum": "Any*",
         "multipleOf": "double"}


def _numbered(*names: str, start: int = 1, types: dict[str, str]) -> dict[int, tuple[str, str, bool]]:
    out = {}
    for offset, name in enumerate(names):
        kind = types[name]
        out[start + offset] = (name, kind.rstrip("*"), kind.endswith("*"))
    return out


def _sub_schema(allow_empty: bool) -> dict[int, tuple[str, str, bool]]:
    head = ["required", "in", "description", "name"] + (["allowEmptyValue"] if allow_empty else [])
    types = {"required": "bool", "in": "string", "description": "string", "name": "string", "allowEmptyValue": "bool",
             "vendor_extension": "NamedAny*", **_PRIM}
    return _numbered(*head, *_PRIM, "vendor_extension", types=types)


PROTO: dict[str, dict[int, tuple[str, str, bool]]] = {
    "Document": _numbered("swagger", "info", "host", "basePath", "schemes", "consumes", "produces", "paths", "definitions",
                          "parameters", "responses", "security", "securityDefinitions", "tags", "externalDocs", "vendor_extension",
                          types={"swagger": "string", "info": "Info", "host": "string", "basePath": "string", "schemes": "string*",
                                 "consumes": "string*", "produces": "string*", "paths": "Paths", "definitions": "Definitions",
                                 "parameters": "ParameterDefinitions", "responses": "ResponseDefinitions",
                                 "security": "SecurityRequirement*", "securityDefinitions": "SecurityDefinitions", "tags": "Tag*",
                                 "externalDocs": "ExternalDocs", "vendor_extension": "NamedAny*"}),
    "Info": _numbered("title", "version", "description", "termsOfService", "contact", "license", "vendor_extension",
                      types={"title": "string", "version": "string", "description": "string", "termsOfService": "string",
                             "contact": "Contact", "license": "License", "vendor_extension": "NamedAny*"}),
    "Paths": {1: ("vendor_extension", "NamedAny", True), 2: ("path", "NamedPathItem", True)},
    "NamedPathItem": {1: ("name", "string", False), 2: ("value", "PathItem", False)},
    "PathItem": _numbered("$ref", "get", "put", "post", "delete", "options", "head", "patch", "parameters", "vendor_extension",
                          types={"$ref": "string", "get": "Operation", "put": "Operation", "post": "Operation",
                                 "delete": "Operation", "options": "Operation", "head": "Operation", "patch": "Operation",
                                 "parameters": "ParametersItem*", "vendor_extension": "NamedAny*"}),
    "Operation": _numbered("tags", "summary", "description", "externalDocs", "operationId", "produces", "consumes", "parameters",
                           "responses", "schemes", "deprecated", "security", "vendor_extension",
                           types={"tags": "string*", "summary": "string", "description": "string", "externalDocs": "ExternalDocs",
                                  "operationId": "string", "produces": "string*", "consumes": "string*",
                                  "parameters": "ParametersItem*", "responses": "Responses", "schemes": "string*",
                                  "deprecated": "bool", "security": "SecurityRequirement*", "vendor_extension": "NamedAny*"}),
    "ParametersItem": {1: ("parameter", "Parameter", False), 2: ("json_reference", "JsonReference", False)},
    "JsonReference": {1: ("$ref", "string", False), 2: ("description", "string", False)},
    "Parameter": {1: ("body_parameter", "BodyParameter", False), 2: ("non_body_parameter", "NonBodyParameter", False)},
    "BodyParameter": _numbered("description", "name", "in", "required", "schema", "vendor_extension",
                               types={"description": "string", "name": "string", "in": "string", "required": "bool",
                                      "schema": "Schema", "vendor_extension": "NamedAny*"}),
    "NonBodyParameter": {1: ("header", "HeaderParameterSubSchema", False), 2: ("formData", "FormDataParameterSubSchema", False),
                         3: ("query", "QueryParameterSubSchema", False), 4: ("path", "PathParameterSubSchema", False)},
    "HeaderParameterSubSchema": _sub_schema(False),
    "PathParameterSubSchema": _sub_schema(False),
    "QueryParameterSubSchema": _sub_schema(True),
    "FormDataParameterSubSchema": _sub_schema(True),
    "PrimitivesItems": _numbered(*_PRIM, "vendor_extension", types={**_PRIM, "vendor_extension": "NamedAny*"}),
    "Responses": {1: ("response_code", "NamedResponseValue", True), 2: ("vendor_extension", "NamedAny", True)},
    "NamedResponseValue": {1: ("name", "string", False), 2: ("value", "ResponseValue", False)},
    "ResponseValue": {1: ("response", "Response", False), 2: ("json_reference", "JsonReference", False)},
    "Response": {1: ("description", "string", False), 2: ("schema", "SchemaItem", False), 5: ("vendor_extension", "NamedAny", True)},
    "SchemaItem": {1: ("schema", "Schema", False), 2: ("file_schema", "FileSchema", False)},
    "Definitions": {1: ("additional_properties", "NamedSchema", True)},
    "Properties": {1: ("additional_properties", "NamedSchema", True)},
    "NamedSchema": {1: ("name", "string", False), 2: ("value", "Schema", False)},
    "Schema": {1: ("$ref", "string", False), 2: ("format", "string", False), 3: ("title", "string", False),
               4: ("description", "string", False), 5: ("default", "Any", False), 6: ("multipleOf", "double", False),
               7: ("maximum", "double", False), 9: ("minimum", "double", False), 11: ("maxLength", "int64", False),
               12: ("minLength", "int64", False), 13: ("pattern", "string", False), 14: ("maxItems", "int64", False),
               15: ("minItems", "int64", False), 16: ("uniqueItems", "bool", False), 19: ("required", "string", True),
               20: ("enum", "Any", True), 21: ("additionalProperties", "AdditionalPropertiesItem", False),
               22: ("type", "TypeItem", False), 23: ("items", "ItemsItem", False), 24: ("allOf", "Schema", True),
               25: ("properties", "Properties", False), 27: ("readOnly", "bool", False), 30: ("example", "Any", False),
               31: ("vendor_extension", "NamedAny", True)},
    "TypeItem": {1: ("value", "string", True)},
    "ItemsItem": {1: ("schema", "Schema", True)},
    "AdditionalPropertiesItem": {1: ("schema", "Schema", False), 2: ("boolean", "bool", False)},
    "NamedAny": {1: ("name", "string", False), 2: ("value", "Any", False)},
    "Any": {2: ("yaml", "string", False)},
    "SecurityRequirement": {1: ("additional_properties", "NamedStringArray", True)},
    "NamedStringArray": {1: ("name", "string", False), 2: ("value", "StringArray", False)},
    "StringArray": {1: ("value", "string", True)},
    "SecurityDefinitions": {1: ("additional_properties", "NamedSecurityDefinitionsItem", True)},
    "NamedSecurityDefinitionsItem": {1: ("name", "string", False), 2: ("value", "SecurityDefinitionsItem", False)},
    "SecurityDefinitionsItem": {2: ("api_key_security", "ApiKeySecurity", False)},
    "ApiKeySecurity": _numbered("type", "name", "in", "description", "vendor_extension",
                                types={"type": "string", "name": "string", "in": "string", "description": "string",
                                       "vendor_extension": "NamedAny*"}),
}


def decode(buf: bytes, message: str) -> dict[str, Any]:
    """The message as {proto field name: value}; repeated fields as lists, nested messages as dicts."""
    table = PROTO[message]
    out: dict[str, Any] = {}
    for field, kind, value in wire(buf):
        assert field in table, f"{message} has no field {field} here"
        name, typ, repeated = table[field]
        if typ == "string":
            assert kind == 2
            value = value.decode("utf-8")
        elif typ in ("bool", "int64"):
            assert kind == 0
            value = bool(value) if typ == "bool" else (value - (1 << 64) if value >> 63 else value)
        elif typ == "double":
            assert kind == 1
        else:
            assert kind == 2
            value = decode(value, typ)
        if repeated:
            out.setdefault(name, []).append(value)
        else:
            assert name not in out, f"{message}.{name} written twice"
            out[name] = value
    return out


# --- back from gnostic's shape to swagger's ----------------------------------------------------

def _extensions(node: dict[str, Any]) -> dict[str, Any]:
    return {pair["name"]: yaml.safe_load(pair["value"]["yaml"]) for pair in node.get("vendor_extension", ())}


def _named(node: dict[str, Any] | None, key: str, convert) -> dict[str, Any]:
    return {pair["name"]: convert(pair.get("value", {})) for pair in (node or {}).get(key, ())}


def to_schema(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type":
            values = value.get("value", [])
            out["type"] = values[0] if len(values) == 1 else values
        elif key == "items":
            schemas = [to_schema(s) for s in value.get("schema", [])]
            out["items"] = schemas[0] if len(schemas) == 1 else schemas
        elif key == "properties":
            out["properties"] = _named(value, "additional_properties", to_schema)
        elif key == "additionalProperties":
            out[key] = to_schema(value["schema"]) if "schema" in value else value["boolean"]
        elif key == "allOf":
            out[key] = [to_schema(s) for s in value]
        elif key in ("enum",):
            out[key] = [yaml.safe_load(a["yaml"]) for a in value]
        elif key in ("default", "example"):
            out[key] = yaml.safe_load(value["yaml"])
        elif key != "vendor_extension":
            out[key] = value
    out.update(_extensions(node))
    return out


def to_parameter(item: dict[str, Any]) -> dict[str, Any]:
    if "json_reference" in item:
        return item["json_reference"]
    param = item["parameter"]
    if "body_parameter" in param:
        body = dict(param["body_parameter"])
        body["schema"] = to_schema(body["schema"])
        return body
    ((location, sub),) = param["non_body_parameter"].items()
    assert sub["in"] == location
    return {k: v for k, v in sub.items() if k != "vendor_extension"} | _extensions(sub)


def to_response(value: dict[str, Any]) -> dict[str, Any]:
    response = dict(value["response"])
    if "schema" in response:
        response["schema"] = to_schema(response["schema"]["schema"])
    return response


def to_operation(node: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if k not in ("vendor_extension", "parameters", "responses")}
    if "parameters" in node:
        out["parameters"] = [to_parameter(p) for p in node["parameters"]]
    if "responses" in node:
        out["responses"] = _named(node["responses"], "response_code", to_response)
    return out | _extensions(node)


def to_path_item(node: dict[str, Any]) -> dict[str, Any]:
    out = {k: to_operation(v) for k, v in node.items() if k not in ("vendor_extension", "parameters", "$ref")}
    if "parameters" in node:
        out["parameters"] = [to_parameter(p) for p in node["parameters"]]
    return out | _extensions(node)


def to_swagger(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"swagger": doc["swagger"], "info": doc["info"]}
    out["paths"] = _named(doc.get("paths"), "path", to_path_item)
    out["definitions"] = _named(doc.get("definitions"), "additional_properties", to_schema)
    out["security"] = [{p["name"]: p["value"].get("value", []) for p in req["additional_properties"]} for req in doc.get("security", [])]
    out["securityDefinitions"] = _named(doc.get("securityDefinitions"), "additional_properties", lambda v: v["api_key_security"])
    return out


def without_proto3_defaults(node: Any) -> Any:
    """What proto3 cannot tell apart from absent: false and "" scalars (``required: false`` on parameters)."""
    if isinstance(node, dict):
        # Vendor extension values are YAML text on the wire and keep everything.
        return {k: v if k.startswith("x-") else without_proto3_defaults(v) for k, v in node.items()
                if k.startswith("x-") or not (v is False or v == "")}
    if isinstance(node, list):
        return [without_proto3_defaults(v) for v in node]
    return node


def encoded(document: dict[str, Any]) -> dict[str, Any]:
    return decode(openapi_proto.openapi_v2_protobuf(document), "Document")


# --- the real documents round-trip -------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_whole_document_round_trips_through_gnostic_protobuf(profile):
    document = openapi.openapi_v2(profile)
    assert to_swagger(encoded(document)) == without_proto3_defaults(document)


@pytest.fixture(scope="module", name="doc_1_15")
def _doc_1_15() -> dict[str, Any]:
    return encoded(openapi.openapi_v2("1.15"))


def _definition(doc: dict[str, Any], name: str) -> dict[str, Any]:
    (schema,) = [pair["value"] for pair in doc["definitions"]["additional_properties"] if pair["name"] == name]
    return schema


def _prop(schema: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [pair["value"] for pair in schema["properties"]["additional_properties"] if pair["name"] == name]
    return found


def test_document_header_fields(doc_1_15):
    assert doc_1_15["swagger"] == "2.0"
    assert doc_1_15["info"] == {"title": "Kubernetes", "version": "v1.15.12"}
    assert doc_1_15["security"] == [{"additional_properties": [{"name": "BearerToken", "value": {}}]}]
    (scheme,) = doc_1_15["securityDefinitions"]["additional_properties"]
    assert scheme["value"]["api_key_security"] == {"type": "apiKey", "name": "authorization", "in": "header",
                                                   "description": "Bearer Token authentication"}


def test_deployment_gvk_is_a_yaml_vendor_extension(doc_1_15):
    deployment = _definition(doc_1_15, "io.k8s.api.apps.v1.Deployment")
    (gvk,) = [e for e in deployment["vendor_extension"] if e["name"] == "x-kubernetes-group-version-kind"]
    assert yaml.safe_load(gvk["value"]["yaml"]) == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["type"] == {"value": ["object"]}
    assert _prop(deployment, "spec")["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"


def test_scalar_extension_yaml_has_no_document_end_marker(doc_1_15):
    containers = _prop(_definition(doc_1_15, "io.k8s.api.core.v1.PodSpec"), "containers")
    extensions = {e["name"]: e["value"]["yaml"] for e in containers["vendor_extension"]}
    assert extensions["x-kubernetes-patch-merge-key"] == "name\n"
    assert extensions["x-kubernetes-patch-strategy"] == "merge\n"


@pytest.mark.parametrize("name, merge_key, strategy", [
    ("env", "name", "merge"),
    ("ports", "containerPort", "merge"),
    ("volumeMounts", "mountPath", "merge"),
])
def test_container_list_merge_keys_survive(doc_1_15, name, merge_key, strategy):
    field = _prop(_definition(doc_1_15, "io.k8s.api.core.v1.Container"), name)
    extensions = {e["name"]: yaml.safe_load(e["value"]["yaml"]) for e in field["vendor_extension"]}
    assert extensions["x-kubernetes-patch-merge-key"] == merge_key
    assert extensions["x-kubernetes-patch-strategy"] == strategy
    assert field["type"] == {"value": ["array"]}
    assert field["items"]["schema"][0]["$ref"].startswith("#/definitions/io.k8s.api.core.v1.")


def test_string_map_is_additional_properties_schema(doc_1_15):
    labels = _prop(_definition(doc_1_15, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), "labels")
    assert labels["type"] == {"value": ["object"]}
    assert labels["additionalProperties"] == {"schema": {"type": {"value": ["string"]}}}


def test_required_is_repeated_string(doc_1_15):
    container = _definition(doc_1_15, "io.k8s.api.core.v1.Container")
    assert container["required"] == ["name"]


def test_deployment_patch_operation_parameters_use_gnostic_oneofs(doc_1_15):
    (item,) = [p["value"] for p in doc_1_15["paths"]["path"]
               if p["name"] == "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    extensions = {e["name"]: yaml.safe_load(e["value"]["yaml"]) for e in patch["vendor_extension"]}
    assert extensions == {"x-kubernetes-action": "patch",
                          "x-kubernetes-group-version-kind": {"group": "apps", "kind": "Deployment", "version": "v1"}}
    body = patch["parameters"][0]["parameter"]["body_parameter"]
    assert body["in"] == "body" and body["required"] is True
    assert body["schema"]["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    queries = [p["parameter"]["non_body_parameter"]["query"] for p in patch["parameters"][1:]]
    assert {q["name"] for q in queries} >= {"dryRun", "fieldManager"}
    assert all(q["in"] == "query" and q["uniqueItems"] is True for q in queries)
    paths = [p["parameter"]["non_body_parameter"]["path"] for p in item["parameters"]
             if "path" in p["parameter"]["non_body_parameter"]]
    assert {(p["name"], p["required"]) for p in paths} == {("name", True), ("namespace", True)}
    ok = [r["value"]["response"] for r in patch["responses"]["response_code"] if r["name"] == "200"]
    assert ok[0]["schema"]["schema"]["$ref"] == "#/definitions/io.k8s.api.apps.v1.Deployment"


# --- encoder behaviour on small documents ------------------------------------------------------

def _schema_of(schema: dict[str, Any]) -> dict[str, Any]:
    doc = encoded({"swagger": "2.0", "definitions": {"T": schema}})
    return doc["definitions"]["additional_properties"][0]["value"]


@pytest.mark.parametrize("schema, expected", [
    ({"additionalProperties": False}, {"additionalProperties": {"boolean": False}}),
    ({"additionalProperties": True}, {"additionalProperties": {"boolean": True}}),
    ({"type": ["string", "null"]}, {"type": {"value": ["string", "null"]}}),
    ({"items": [{"type": "string"}, {"type": "integer"}]},
     {"items": {"schema": [{"type": {"value": ["string"]}}, {"type": {"value": ["integer"]}}]}}),
    ({"minimum": -1.5, "maximum": 10, "multipleOf": 0.5}, {"minimum": -1.5, "maximum": 10.0, "multipleOf": 0.5}),
    ({"minLength": 3, "maxItems": 300, "uniqueItems": True}, {"minLength": 3, "maxItems": 300, "uniqueItems": True}),
    ({"minLength": 0, "uniqueItems": False, "description": ""}, {}),
    ({"allOf": [{"$ref": "#/definitions/A"}]}, {"allOf": [{"$ref": "#/definitions/A"}]}),
    ({"format": "int-or-string", "title": "t", "pattern": "^a$"}, {"format": "int-or-string", "title": "t", "pattern": "^a$"}),
])
def test_schema_fields_land_on_their_proto_fields(schema, expected):
    assert _schema_of(schema) == expected


@pytest.mark.parametrize("value", ["Always", 3, True, None, "true", "1.0", "a: b", ["x", "y"], {"k": "v"}])
def test_enum_default_and_example_are_any_yaml_that_reads_back(value):
    schema = _schema_of({"enum": [value], "default": value, "example": value})
    assert [yaml.safe_load(a["yaml"]) for a in schema["enum"]] == [value]
    assert yaml.safe_load(schema["default"]["yaml"]) == value
    assert yaml.safe_load(schema["example"]["yaml"]) == value


def test_vendor_extensions_keep_document_order():
    schema = _schema_of({"x-b": 1, "type": "object", "x-a": {"z": 1, "a": 2}})
    assert [e["name"] for e in schema["vendor_extension"]] == ["x-b", "x-a"]
    assert schema["vendor_extension"][1]["value"]["yaml"] == "z: 1\na: 2\n"


def test_large_varints_and_utf8_strings():
    schema = _schema_of({"maxLength": 2 ** 40, "description": "größe ✓"})
    assert schema == {"maxLength": 2 ** 40, "description": "größe ✓"}


def test_header_and_form_parameters_pick_their_sub_schemas():
    params = [{"in": "header", "name": "X-Trace", "type": "string"},
              {"in": "formData", "name": "f", "type": "file", "allowEmptyValue": True},
              {"$ref": "#/parameters/pretty"}]
    doc = encoded({"swagger": "2.0", "paths": {"/x": {"get": {"parameters": params}}}})
    items = doc["paths"]["path"][0]["value"]["get"]["parameters"]
    assert items[0]["parameter"]["non_body_parameter"] == {"header": {"in": "header", "name": "X-Trace", "type": "string"}}
    assert items[1]["parameter"]["non_body_parameter"] == {
        "formData": {"in": "formData", "name": "f", "type": "file", "allowEmptyValue": True}}
    assert items[2] == {"json_reference": {"$ref": "#/parameters/pretty"}}


@pytest.mark.parametrize("document, message", [
    ({"swagger": "2.0", "definitions": {"T": {"nullable": True}}}, "'nullable'"),
    ({"swagger": "2.0", "bogus": 1}, "'bogus'"),
    ({"swagger": "2.0", "paths": {"/x": {"get": {"parameters": [{"in": "cookie", "name": "c"}]}}}}, "'cookie'"),
])
def test_keys_gnostic_would_reject_raise_value_error(document, message):
    with pytest.raises(ValueError, match=message):
        openapi_proto.openapi_v2_protobuf(document)


def test_argument_is_not_mutated_and_output_is_deterministic():
    document = openapi.openapi_v2("1.8")
    before = copy.deepcopy(document)
    first = openapi_proto.openapi_v2_protobuf(document)
    assert document == before
    assert openapi_proto.openapi_v2_protobuf(copy.deepcopy(document)) == first


def test_the_largest_document_encodes():
    # its speed is measured by `make bench`, not asserted here
    assert len(openapi_proto.openapi_v2_protobuf(openapi.openapi_v2("1.15"))) > 100_000


# --- kubectl end to end against a throwaway server ----------------------------------------------

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  strategy:
    type: RollingUpdate
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
"""


class _Server:
    """A bare HTTP server answering as an old kube-apiserver for discovery and /openapi/v2 protobuf only."""

    def __init__(self, profile: str):
        self.profile = profile
        self.protobuf = openapi_proto.openapi_v2_protobuf(openapi.openapi_v2(profile))
        self.openapi_accepts: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            """Routes one request."""

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def do_GET(self):  # pylint: disable=invalid-name
                """Discovery, /version, /openapi/v2; everything else a 404 Status."""
                owner.answer(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _body(self, path: str) -> tuple[int, str, bytes]:
        if path == "/openapi/v2":
            return 200, openapi_proto.PROTOBUF_CONTENT_TYPE, self.protobuf
        if path == "/version":
            body: Any = resources.version_body(self.profile)
        elif path == "/api":
            body = resources.api_versions_body(self.profile)
        elif path == "/apis":
            body = resources.api_group_list_body(self.profile)
        else:
            parts = path.strip("/").split("/")
            body = None
            if parts[:1] == ["api"] and len(parts) == 2:
                body = resources.api_resource_list_body(self.profile, "", parts[1])
            elif parts[:1] == ["apis"] and len(parts) == 3:
                body = resources.api_resource_list_body(self.profile, parts[1], parts[2])
            if body is None:
                return 404, "application/json", json.dumps({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "the server could not find the requested resource", "reason": "NotFound",
                    "details": {}, "code": 404}).encode()
        return 200, "application/json", json.dumps(body).encode()

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        """Writes the answer for ``handler``'s request."""
        path = handler.path.split("?", 1)[0]
        if path == "/openapi/v2":
            self.openapi_accepts.append(handler.headers.get("Accept", ""))
        code, content_type, data = self._body(path)
        handler.send_response(code)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def kubectl(self, tmp_path, *args: str) -> subprocess.CompletedProcess:
        """The PyPI kubectl pointed at this server with no kubeconfig and a private cache."""
        kubectl = os.path.join(os.path.dirname(sys.executable), "kubectl")
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text("")
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(tmp_path))
        return subprocess.run([kubectl, "--server", self.url, "--cache-dir", str(tmp_path / "cache"), *args],
                              capture_output=True, text=True, env=env, timeout=120, check=False)


# Releases without /openapi/v3, and the Deployment group version each served.
OLD_RELEASES = [("1.8", "apps/v1beta2"), ("1.15", "apps/v1")]


@pytest.fixture(name="old_server", params=OLD_RELEASES, ids=[profile for profile, _release in OLD_RELEASES])
def _old_server(request):
    profile, api_version = request.param
    server = _Server(profile)
    server.thread.start()
    yield server, api_version
    server.httpd.shutdown()
    server.httpd.server_close()


def test_kubectl_explain_reads_protobuf_openapi(old_server, tmp_path):
    server, api_version = old_server
    result = server.kubectl(tmp_path, "explain", "deployment.spec.strategy", f"--api-version={api_version}")
    assert result.returncode == 0, result.stderr
    assert "KIND:" in result.stdout and "Deployment" in result.stdout and api_version in result.stdout
    assert "rollingUpdate" in result.stdout and "type" in result.stdout
    assert server.openapi_accepts == [openapi_proto.PROTOBUF_ACCEPT]


def test_kubectl_apply_dry_run_validates_against_protobuf_openapi(old_server, tmp_path):
    server, api_version = old_server
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(DEPLOYMENT.replace("apps/v1", api_version))
    result = server.kubectl(tmp_path, "apply", "--dry-run=client", "-f", str(manifest), "-o", "name")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deployment.apps/web"
    assert server.openapi_accepts and set(server.openapi_accepts) == {openapi_proto.PROTOBUF_ACCEPT}


def test_kubectl_apply_rejects_unknown_field_using_protobuf_schema(old_server, tmp_path):
    server, api_version = old_server
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(DEPLOYMENT.replace("apps/v1", api_version).replace("  replicas: 1\n", "  replicas: 1\n  replicaz: 2\n"))
    result = server.kubectl(tmp_path, "apply", "--dry-run=client", "-f", str(manifest), "-o", "name")
    assert result.returncode != 0
    assert 'unknown field "replicaz"' in result.stderr
