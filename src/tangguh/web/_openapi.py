"""The API definition at ``/api`` as OpenAPI **3.0** (the OGC "OpenAPI 3.0" class).

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12 flavoured schemas). This module asks it
for the document, then rewrites the few 3.1-only constructs into their 3.0 form
(``anyOf [X, null]`` -> ``nullable``, ``const`` -> ``enum``, numeric
``exclusiveMinimum`` -> boolean, ``examples`` in schemas -> ``example``), replaces
FastAPI's 422 responses by the 400 problem+json this server really sends, and documents
the query parameters of the features endpoints, which the handlers parse themselves.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tangguh import __version__
from tangguh.web.crs import SUPPORTED

__all__ = ["openapi_30"]

_PROBLEM = {
    "type": "object",
    "description": "RFC 7807 problem details, in English (detail) and Bahasa Indonesia "
    "(detail_id).",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "title_id": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "detail_id": {"type": "string"},
        "instance": {"type": "string"},
        "where": {"type": "string"},
        "hint": {"type": "string"},
        "hint_id": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _param(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


def _f(values: list[str]) -> dict[str, Any]:
    return _param(
        "f",
        {"type": "string", "enum": values},
        "Response format (default: JSON, or HTML for browsers).",
        style="form",
        explode=False,
    )


def items_parameters(default_limit: int, max_limit: int) -> list[dict[str, Any]]:
    crs_enum = list(SUPPORTED)
    return [
        _param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
            f"Features per page (default {default_limit}; larger values are clamped to "
            f"{max_limit}). With f=csv|gpkg|fgb: no limit unless given.",
            style="form",
            explode=False,
        ),
        _param(
            "bbox",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "Only features intersecting this box: minx,miny,maxx,maxy in bbox-crs axis "
            "order (default CRS84: lon,lat).",
            style="form",
            explode=False,
        ),
        _param(
            "bbox-crs",
            {"type": "string", "format": "uri", "enum": crs_enum},
            "CRS of bbox (default CRS84).",
            style="form",
            explode=False,
        ),
        _param(
            "crs",
            {"type": "string", "format": "uri", "enum": crs_enum},
            "CRS of the returned geometries (default CRS84).",
            style="form",
            explode=False,
        ),
        _param(
            "datetime",
            {"type": "string"},
            "RFC 3339 instant, date or interval (start/end, '..' for open ends), matched "
            "against the layer's time column or its temporal extent.",
            style="form",
            explode=False,
        ),
        _param(
            "sortby",
            {
                "type": "array",
                "items": {"type": "string", "pattern": "^[+-]?[A-Za-z_][A-Za-z0-9_]*$"},
            },
            "Comma-separated properties, '+' ascending (default) or '-' descending.",
            style="form",
            explode=False,
        ),
        _param(
            "offset",
            {"type": "integer", "minimum": 0, "default": 0},
            "Features to skip (used by the next links when sorting).",
            style="form",
            explode=False,
        ),
        _param(
            "after",
            {"type": "integer"},
            "Keyset paging: features with an id greater than this (next links).",
            style="form",
            explode=False,
        ),
        _param(
            "before",
            {"type": "integer"},
            "Keyset paging: the page just before this id (prev links).",
            style="form",
            explode=False,
        ),
        _f(["json", "html", "csv", "gpkg", "fgb"]),
    ]


def _fix_schema(node: Any) -> Any:
    """A JSON Schema written for OpenAPI 3.1 -> the OpenAPI 3.0 subset."""
    if isinstance(node, list):
        return [_fix_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _fix_schema(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if types else "string"
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for key in ("$schema", "$id", "contentMediaType", "contentEncoding", "prefixItems", "$defs"):
        out.pop(key, None)
    return out


def _walk_operations(doc: dict[str, Any]) -> Any:
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and method in ("get", "post", "put", "patch", "delete"):
                yield path, method, op


def openapi_30(app: FastAPI, *, default_limit: int, max_limit: int) -> dict[str, Any]:
    """The app's API definition as a valid OpenAPI 3.0.3 document."""
    doc = get_openapi(
        title=app.title,
        version=__version__,
        openapi_version="3.0.3",
        description=app.description,
        routes=app.routes,
    )
    doc = copy.deepcopy(doc)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in list(schemas):
        schemas[name] = _fix_schema(schemas[name])
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = _PROBLEM
    problem = {
        "description": "Problem details (RFC 7807)",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    for path, _method, op in _walk_operations(doc):
        for param in op.get("parameters", []):
            if "schema" in param:
                param["schema"] = _fix_schema(param["schema"])
        body = op.get("requestBody", {})
        for media in body.get("content", {}).values():
            if "schema" in media:
                media["schema"] = _fix_schema(media["schema"])
        responses = op.setdefault("responses", {})
        responses.pop("422", None)
        for code, resp in responses.items():
            for media in resp.get("content", {}).values():
                if isinstance(media, dict) and "schema" in media:
                    media["schema"] = _fix_schema(media["schema"])
            if code.startswith(("4", "5")) and not resp.get("content"):
                resp["content"] = copy.deepcopy(problem["content"])
        responses.setdefault("400", copy.deepcopy(problem))
        if "{" in path:
            responses.setdefault("404", copy.deepcopy(problem))
        if op.pop("x-tangguh-items", False):
            op.setdefault("parameters", []).extend(items_parameters(default_limit, max_limit))
        elif path.startswith("/collections") and path.endswith("{featureId}"):
            crs = {"type": "string", "format": "uri", "enum": list(SUPPORTED)}
            op.setdefault("parameters", []).extend(
                [
                    _param(
                        "crs",
                        crs,
                        "CRS of the returned geometry (default CRS84).",
                        style="form",
                        explode=False,
                    ),
                    _f(["json", "html"]),
                ]
            )
        elif (
            path in ("/", "/conformance", "/collections", "/collections/{collectionId}")
            or path == "/api"
        ):
            op.setdefault("parameters", []).append(_f(["json", "html"]))
    return doc
