"""The OpenAPI 3.1 document, generated from the routes' declared operations and the
msgspec types they decode and send (:func:`gateway.api.operation`)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from gateway.api import Operation, operation_of
from gateway.errors import ErrorBody

METHODS = ("get", "post", "put", "patch", "delete")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def openapi_path(pattern: str) -> str:
    return _GROUP.sub(lambda m: "{" + m.group(1) + "}", pattern).rstrip("$")


def document(routes: list[tuple[str, type]], title: str, version: str) -> dict[str, Any]:
    operations: list[tuple[str, str, Operation]] = []
    for pattern, handler in routes:
        for method in METHODS:
            op = operation_of(handler, method)
            if op is not None:
                operations.append((openapi_path(pattern), method, op))
    types: set[type] = {ErrorBody}
    for _, _, op in operations:
        types.update(t for t in (op.body, op.response) if t not in (None, bytes))
    # by name, then by the whole type (``list[A]`` and ``list[B]`` share the name "list"):
    # the document must not depend on the process's hash seed
    ordered = sorted(types, key=lambda t: (getattr(t, "__name__", ""), repr(t)))
    schemas, components = msgspec.json.schema_components(
        ordered, ref_template="#/components/schemas/{name}")
    ref = dict(zip(ordered, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op in operations:
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag],
                                 "operationId": f"{method}_{_slug(path)}"}
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": path_schema(name)} for name in re.findall(r"{(\w+)}", path)]
        parameters += [{"name": name, "in": "query", "required": False,
                        "description": text, "schema": _query_schema(kind)}
                       for name, text, *kind in op.query]
        parameters += [{"name": name, "in": place, "required": False, "description": text,
                        "schema": {"type": "string"}}
                       for place, given in (("header", op.headers), ("cookie", op.cookies))
                       for name, text in given]
        if parameters:
            entry["parameters"] = parameters
        if op.upload:
            entry["requestBody"] = {"required": True, "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in op.upload}}
        if op.body is not None:
            entry["requestBody"] = {"required": op.status != 204 or op.body is not None,
                                    "content": {"application/json": {"schema": ref[op.body]}}}
        success: dict[str, Any] = {"description": "success"}
        if op.response is not None:
            success["content"] = {"application/json": {"schema": ref[op.response]}}
        error = {"description": "error", "content": {
            "application/json": {"schema": ref[ErrorBody]}}}
        entry["responses"] = {str(op.status): success, "4XX": error, "5XX": error}
        described = [op.description] if op.description else []
        if op.roles is not None:
            entry["security"] = [{"bearer": []}]
            described.append("Roles: " + ", ".join(op.roles))
        if described:
            entry["description"] = "\n\n".join(described)
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def _query_schema(kind: list[Any]) -> dict[str, Any]:
    """A query parameter's schema: its declared type's (a Literal: an enum), else text."""
    if not kind:
        return {"type": "string"}
    schema: dict[str, Any] = msgspec.json.schema(kind[0])
    if "enum" in schema:
        schema.setdefault("type", "string")
    return schema


# A row id in a path is a bigint; anything else there (out of range, not ASCII digits) is a
# 404 (gateway.handlers.trading.path_id). Risk events have text ids.
ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
TEXT_IDS = ("event_id",)


def path_schema(name: str) -> dict[str, Any]:
    return dict(ID) if name.endswith("_id") and name not in TEXT_IDS else {"type": "string"}


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
