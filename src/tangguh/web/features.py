"""OGC API – Features (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS) over the bank.

Endpoints: ``/`` (landing page), ``/conformance``, ``/api``, ``/collections``,
``/collections/{collectionId}``, ``/collections/{collectionId}/queryables``,
``/collections/{collectionId}/items`` and ``/collections/{collectionId}/items/{featureId}``.
Every catalogue vector layer is a collection. See docs/web.md for the parameters.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.datastructures import QueryParams
from starlette.responses import FileResponse, HTMLResponse, Response

from tangguh.errors import InputError, NotFoundError
from tangguh.web import _html, _params
from tangguh.web._context import WebContext, context
from tangguh.web._render import DOWNLOADS, feature_strings, properties, write_download
from tangguh.web._store import Collection, Query
from tangguh.web.crs import CRS84, SUPPORTED, CrsDef, bbox_to_crs84, parse_crs

__all__ = ["router"]

router = APIRouter()

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

_ITEM_FORMATS = ("json", "html", "csv", "gpkg", "fgb")
#: Rows fetched for a first page, so that small selections need no count query.
_SPARE = 101


# -- small helpers -------------------------------------------------------------------------
def _lang(request: Request) -> str:
    accept = request.headers.get("accept-language", "").lower()
    return "id" if accept.startswith("id") or accept.startswith("in") else "en"


def _pick(lang: str, text_id: str | None, text_en: str | None) -> str | None:
    return (text_id or text_en) if lang == "id" else (text_en or text_id)


def _json(body: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type=media_type, headers=headers)


def _html_response(text: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(text, headers=headers)


def _url(base: str, path: str, params: list[tuple[str, str]] | None = None) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{base}{path}{query}"


def _with(params: QueryParams, drop: tuple[str, ...] = (), **add: str) -> list[tuple[str, str]]:
    """The request's parameters without ``drop`` and the keys of ``add``, plus ``add``."""
    removed = set(drop) | set(add)
    kept = [(k, v) for k, v in params.multi_items() if k not in removed]
    return kept + [(k.replace("_", "-"), v) for k, v in add.items()]


def _lnk(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _rfc3339(text: str | None, *, end: bool) -> str | None:
    interval = _params.layer_interval(text, None) if not end else _params.layer_interval(None, text)
    if interval is None:
        return None
    value = interval[1] if end else interval[0]
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _spdx_url(licence: str | None) -> str | None:
    if licence and " " not in licence.strip() and len(licence) < 64:
        return f"https://spdx.org/licenses/{quote(licence.strip())}.html"
    return None


# -- landing, conformance ---------------------------------------------------------------------
@router.get(
    "/",
    summary="Landing page / Halaman utama",
    response_class=Response,
    responses={200: {"content": {JSON: {}, HTML: {}}, "description": "The landing page"}},
    tags=["OGC API – Features"],
)
async def landing(request: Request) -> Response:
    ctx = context(request)
    _params.check_params(request.query_params, ("f",))
    fmt = _params.parse_format(
        request.query_params, request.headers.get("accept", ""), ("json", "html")
    )
    base = ctx.base(request)
    links = [
        _lnk(f"{base}/?f=json", "self" if fmt == "json" else "alternate", JSON, "This document"),
        _lnk(f"{base}/?f=html", "self" if fmt == "html" else "alternate", HTML, "This page"),
        _lnk(f"{base}/api", "service-desc", OPENAPI_30, "API definition (OpenAPI 3.0)"),
        _lnk(f"{base}/api?f=html", "service-doc", HTML, "API documentation"),
        _lnk(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
        _lnk(f"{base}/collections", "data", JSON, "Collections (layers)"),
    ]
    links += [{**link, "href": base + link["href"]} for link in ctx.landing_links]
    doc: dict[str, Any] = {
        "title": ctx.settings.title,
        "description": "Open data of the Tangguh resilience data bank (Jakarta) / "
        "Data terbuka bank data ketangguhan Tangguh (Jakarta)",
        "links": links,
    }
    if fmt == "html":
        rows = [
            (_html.link(link["href"], link["title"]), escape(link["rel"]), escape(link["type"]))
            for link in links
            if link["rel"] not in ("self",)
        ]
        body = (
            f"<h1>{escape(ctx.settings.title)}</h1><p>{escape(doc['description'])}</p>"
            f"<p>{_html.link(base + '/collections?f=html', 'Koleksi data / Collections')}</p>"
            + _html.table(
                [_html.label("Tautan", "Link"), "rel", _html.label("Jenis", "Type")], rows, raw=True
            )
        )
        return _html_response(
            _html.page(ctx.settings.title, body, base=base, json_href=f"{base}/?f=json")
        )
    return _json(doc)


@router.get(
    "/conformance",
    summary="Conformance classes / Kelas kesesuaian",
    response_class=Response,
    responses={200: {"content": {JSON: {}, HTML: {}}, "description": "Conformance classes"}},
    tags=["OGC API – Features"],
)
async def conformance(request: Request) -> Response:
    ctx = context(request)
    _params.check_params(request.query_params, ("f",))
    fmt = _params.parse_format(
        request.query_params, request.headers.get("accept", ""), ("json", "html")
    )
    if fmt == "html":
        base = ctx.base(request)
        body = "<h1>" + _html.label("Kelas kesesuaian", "Conformance classes") + "</h1>"
        body += _html.table(["URI"], [(c,) for c in ctx.conformance])
        return _html_response(
            _html.page(
                "Conformance",
                body,
                base=base,
                crumbs=[(base + "/", "Tangguh")],
                json_href=f"{base}/conformance?f=json",
            )
        )
    return _json({"conformsTo": ctx.conformance})


# -- collections --------------------------------------------------------------------------------
def _collection_doc(ctx: WebContext, coll: Collection, base: str, lang: str) -> dict[str, Any]:
    info = coll.info
    href = f"{base}/collections/{coll.id}"
    links = [
        _lnk(href, "self", JSON, "This collection"),
        _lnk(f"{href}?f=html", "alternate", HTML, "This collection as HTML"),
        _lnk(f"{href}/items", "items", GEOJSON, "Features as GeoJSON"),
        _lnk(f"{href}/items?f=html", "items", HTML, "Features as HTML"),
        _lnk(
            f"{href}/queryables",
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            SCHEMA_JSON,
            "Queryable properties",
        ),
    ]
    for fmt, (_, media, driver) in DOWNLOADS.items():
        links.append(
            _lnk(
                f"{href}/items?f={fmt}",
                "enclosure",
                media.split(";")[0],
                f"Download all features ({driver})",
            )
        )
    licence_url = _spdx_url(info.licence)
    if licence_url:
        links.append(_lnk(licence_url, "license", HTML, info.licence or ""))
    extent: dict[str, Any] = {}
    if info.bbox is not None:
        extent["spatial"] = {"bbox": [[float(v) for v in info.bbox]], "crs": CRS84}
    start = _rfc3339(info.temporal_start, end=False)
    end = _rfc3339(info.temporal_end, end=True)
    if start is None and end is None and coll.time_column:
        lo, hi = ctx.source.time_extent(coll)
        start, end = _rfc3339(lo, end=False), _rfc3339(hi, end=True)
    if start is not None or end is not None:
        extent["temporal"] = {"interval": [[start, end]], "trs": TRS}
    doc: dict[str, Any] = {
        "id": coll.id,
        "title": _pick(lang, info.title_id, info.title_en) or coll.id,
        "description": _pick(lang, info.description_id, info.description_en) or "",
        "keywords": list(info.keywords),
        "itemType": "feature",
        "crs": list(SUPPORTED),
        "storageCrs": CRS84,
        "extent": extent,
        "links": links,
    }
    if info.licence:
        doc["license"] = info.licence
    if info.attribution:
        doc["attribution"] = info.attribution
    doc["tangguh"] = {
        "title_id": info.title_id,
        "title_en": info.title_en,
        "description_id": info.description_id,
        "description_en": info.description_en,
        "theme": info.theme,
        "source": info.source,
        "synthetic": info.synthetic,
        "geometry_type": info.geometry_type,
        "feature_count": info.feature_count,
        "version": info.current_version,
        "updated": info.updated.isoformat() if info.updated else None,
        "update_frequency": info.update_frequency,
        "time_column": coll.time_column,
    }
    return doc


def _collections_docs(ctx: WebContext, base: str, lang: str) -> list[dict[str, Any]]:
    return [_collection_doc(ctx, c, base, lang) for c in ctx.catalogue.all()]


@router.get(
    "/collections",
    summary="Collections (catalogue layers) / Koleksi (lapisan katalog)",
    response_class=Response,
    responses={200: {"content": {JSON: {}, HTML: {}}, "description": "The collections"}},
    tags=["OGC API – Features"],
)
async def collections(request: Request) -> Response:
    ctx = context(request)
    _params.check_params(request.query_params, ("f",))
    fmt = _params.parse_format(
        request.query_params, request.headers.get("accept", ""), ("json", "html")
    )
    base = ctx.base(request)
    lang = _lang(request)
    docs = await ctx.run(_collections_docs, ctx, base, lang)
    if fmt == "html":
        rows = []
        for doc in docs:
            t = doc["tangguh"]
            href = f"{base}/collections/{doc['id']}"
            rows.append(
                (
                    _html.link(f"{href}?f=html", doc["id"]),
                    escape(t["title_id"] or ""),
                    escape(t["title_en"] or ""),
                    escape(t["theme"] or ""),
                    f"{t['feature_count']:,}",
                    _html.link(f"{href}/items?f=html", "HTML")
                    + " · "
                    + _html.link(f"{href}/items", "GeoJSON")
                    + "".join(
                        " · " + _html.link(f"{href}/items?f={f}", f.upper()) for f in DOWNLOADS
                    ),
                )
            )
        body = (
            "<h1>"
            + _html.label("Koleksi data", "Collections")
            + "</h1>"
            + _html.table(
                [
                    "id",
                    "Judul",
                    "Title",
                    _html.label("Tema", "Theme"),
                    _html.label("Fitur", "Features"),
                    _html.label("Data", "Data"),
                ],
                rows,
                raw=True,
            )
        )
        return _html_response(
            _html.page(
                "Collections",
                body,
                base=base,
                crumbs=[(base + "/", "Tangguh")],
                json_href=f"{base}/collections?f=json",
            )
        )
    return _json(
        {
            "links": [
                _lnk(f"{base}/collections", "self", JSON, "This document"),
                _lnk(f"{base}/collections?f=html", "alternate", HTML, "This document as HTML"),
            ],
            "collections": docs,
            "crs": list(SUPPORTED),
        }
    )


@router.get(
    "/collections/{collectionId}",
    summary="One collection / Satu koleksi",
    response_class=Response,
    responses={
        200: {"content": {JSON: {}, HTML: {}}, "description": "The collection"},
        404: {"description": "No such collection"},
    },
    tags=["OGC API – Features"],
)
async def collection(request: Request, collectionId: str) -> Response:
    ctx = context(request)
    _params.check_params(request.query_params, ("f",))
    fmt = _params.parse_format(
        request.query_params, request.headers.get("accept", ""), ("json", "html")
    )
    base = ctx.base(request)
    coll = await ctx.collection(collectionId)
    doc = await ctx.run(_collection_doc, ctx, coll, base, _lang(request))
    if fmt == "html":
        t = doc["tangguh"]
        href = f"{base}/collections/{coll.id}"
        extent = doc["extent"]
        rows = [
            (
                _html.label("Judul", "Title"),
                escape(f"{t['title_id'] or ''} / {t['title_en'] or ''}"),
            ),
            (
                _html.label("Deskripsi", "Description"),
                escape(t["description_id"] or "") + "<br>" + escape(t["description_en"] or ""),
            ),
            (_html.label("Tema", "Theme"), escape(t["theme"] or "")),
            (_html.label("Jumlah fitur", "Features"), f"{t['feature_count']:,}"),
            (_html.label("Jenis geometri", "Geometry type"), escape(t["geometry_type"] or "")),
            (_html.label("Kata kunci", "Keywords"), escape(", ".join(doc["keywords"]))),
            (_html.label("Lisensi", "Licence"), escape(doc.get("license", ""))),
            (_html.label("Atribusi", "Attribution"), escape(doc.get("attribution", ""))),
            (_html.label("Sumber", "Source"), escape(t["source"] or "")),
            (
                _html.label("Cakupan", "Extent"),
                escape(json.dumps(extent.get("spatial", {}).get("bbox"))),
            ),
            (
                _html.label("Waktu", "Time"),
                escape(json.dumps(extent.get("temporal", {}).get("interval"))),
            ),
            (_html.label("Versi", "Version"), str(t["version"])),
            (
                _html.label("Data", "Data"),
                _html.link(f"{href}/items?f=html", "HTML")
                + " · "
                + _html.link(f"{href}/items", "GeoJSON")
                + "".join(" · " + _html.link(f"{href}/items?f={f}", f.upper()) for f in DOWNLOADS),
            ),
            ("CRS", "<br>".join(escape(c) for c in doc["crs"])),
        ]
        body = f"<h1>{escape(doc['title'])}</h1>" + _html.table(["", ""], rows, raw=True)
        return _html_response(
            _html.page(
                doc["title"],
                body,
                base=base,
                crumbs=[
                    (base + "/", "Tangguh"),
                    (base + "/collections?f=html", "Koleksi / Collections"),
                ],
                json_href=f"{href}?f=json",
            )
        )
    return _json(doc)


_JSON_SCHEMA_TYPES: dict[str, dict[str, str]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}


@router.get(
    "/collections/{collectionId}/queryables",
    summary="Queryable properties / Properti yang dapat disaring",
    response_class=Response,
    responses={200: {"content": {SCHEMA_JSON: {}}, "description": "JSON Schema"}},
    tags=["OGC API – Features"],
)
async def queryables(request: Request, collectionId: str) -> Response:
    ctx = context(request)
    _params.check_params(request.query_params, ("f",))
    _params.parse_format(request.query_params, "", ("json",))
    coll = await ctx.collection(collectionId)
    base = ctx.base(request)
    props: dict[str, Any] = {
        name: {"title": name, **_JSON_SCHEMA_TYPES[kind]} for name, kind in coll.queryables
    }
    return _json(
        {
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{base}/collections/{coll.id}/queryables",
            "type": "object",
            "title": coll.info.title_en or coll.id,
            "properties": props,
            "additionalProperties": False,
        },
        media_type=SCHEMA_JSON,
    )


# -- items -----------------------------------------------------------------------------------
def _build_query(ctx: WebContext, coll: Collection, params: QueryParams) -> Query:
    q = Query(coll)
    bbox_text = params.get("bbox")
    if bbox_text is not None:
        bbox_crs = (
            parse_crs(params["bbox-crs"], param="bbox-crs")
            if "bbox-crs" in params
            else SUPPORTED[CRS84]
        )
        bbox = _params.parse_bbox(bbox_text, bbox_crs)
        q.bbox, q.region = bbox_to_crs84(bbox, bbox_crs)
    elif "bbox-crs" in params:
        parse_crs(params["bbox-crs"], param="bbox-crs")
    dt = params.get("datetime")
    if dt is not None:
        interval = _params.parse_datetime(dt)
        if coll.time_column:
            if interval != (None, None):
                q.interval = interval
        else:
            layer = _params.layer_interval(coll.info.temporal_start, coll.info.temporal_end)
            if layer is not None and not _params.overlaps(layer, interval):
                q.empty = True
    kinds = dict(coll.queryables)
    for name in dict.fromkeys(params.keys()):
        if name in _params.ITEMS_PARAMS:
            continue
        kind = kinds[name]
        values = [_params.parse_value(name, kind, v) for v in params.getlist(name)]
        if kind in ("datetime", "date"):
            values = [ctx.source._time_value(kind, v) for v in values]
        q.where.append((name, values))
    if "sortby" in params:
        q.sortby = _params.parse_sortby(params["sortby"], coll)
    return q


def _geojson_page(
    ctx: WebContext,
    q: Query,
    crs: CrsDef,
    limit: int,
    offset: int,
    after: int | None,
    before: int | None,
) -> tuple[bytes, int, int, list[Any]]:
    """Count, fetch and render one page (runs on a worker thread).

    The first page of a small selection (a bbox of a few streets) is fetched with some
    room to spare: when all of it fits, its length is ``numberMatched`` and the count
    query is skipped.
    """
    first_page = offset == 0 and after is None and before is None
    fetch = max(limit + 1, _SPARE) if first_page else limit + 1
    rows = ctx.source.rows(q, limit=fetch, offset=offset, after=after, before=before)
    matched = len(rows) if first_page and len(rows) < fetch else ctx.source.count(q)
    more = len(rows) > limit
    if more:
        rows = rows[len(rows) - limit :] if before is not None else rows[:limit]
    features = feature_strings(q.coll, rows, crs)
    return (
        ",".join(features).encode(),
        matched,
        len(rows),
        [more, rows[0][0] if rows else None, rows[-1][0] if rows else None],
    )


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection / Fitur dalam koleksi",
    response_class=Response,
    responses={
        200: {
            "content": {
                GEOJSON: {},
                HTML: {},
                "text/csv": {},
                "application/geopackage+sqlite3": {},
                "application/flatgeobuf": {},
            },
            "description": "The selected features",
        },
        400: {"description": "Invalid parameter"},
        404: {"description": "No such collection"},
    },
    tags=["OGC API – Features"],
    openapi_extra={"x-tangguh-items": True},
)
async def items(request: Request, collectionId: str) -> Response:
    ctx = context(request)
    params = request.query_params
    coll = await ctx.collection(collectionId)
    _params.check_params(params, (*_params.ITEMS_PARAMS, *(n for n, _ in coll.queryables)))
    fmt = _params.parse_format(params, request.headers.get("accept", ""), _ITEM_FORMATS)
    crs = parse_crs(params["crs"]) if "crs" in params else SUPPORTED[CRS84]
    download = fmt in DOWNLOADS
    limit = _params.parse_limit(
        params, None if download else ctx.settings.default_limit, ctx.settings.max_limit
    )
    offset = _params.parse_int(params, "offset", minimum=0) or 0
    after = _params.parse_int(params, "after")
    before = _params.parse_int(params, "before")
    if after is not None and before is not None:
        raise InputError(
            "give either after or before, not both",
            where="query parameters after, before",
            hint="follow the next/prev links of a page",
            message_id="berikan after atau before, bukan keduanya",
            hint_id="ikuti tautan next/prev dari sebuah halaman",
        )
    q = _build_query(ctx, coll, params)
    if q.sortby and (after is not None or before is not None):
        raise InputError(
            "after/before paging works only without sortby",
            where="query parameters after, before, sortby",
            hint="use offset with sortby",
            message_id="paging after/before hanya berlaku tanpa sortby",
            hint_id="gunakan offset bersama sortby",
        )
    if download:
        return await _download(ctx, q, crs, fmt, limit, offset, after, before)
    assert limit is not None
    base = ctx.base(request)
    path = f"/collections/{coll.id}/items"
    body, matched, returned, (more, first, last) = await ctx.run(
        _geojson_page, ctx, q, crs, limit, offset, after, before
    )
    page_type = HTML if fmt == "html" else GEOJSON
    page_f = {"f": "html"} if fmt == "html" else {}
    links = [
        _lnk(_url(base, path, _with(params)), "self", page_type, "This page"),
        _lnk(
            _url(base, path, _with(params, f="html" if fmt == "json" else "json")),
            "alternate",
            HTML if fmt == "json" else GEOJSON,
            "This page in another format",
        ),
        _lnk(f"{base}/collections/{coll.id}", "collection", JSON, "The collection"),
    ]
    drop = ("offset", "after", "before")
    if q.sortby or (offset and after is None and before is None):
        if offset + returned < matched:
            links.append(
                _lnk(
                    _url(base, path, _with(params, drop, offset=str(offset + returned), **page_f)),
                    "next",
                    page_type,
                    "Next page",
                )
            )
        if offset > 0:
            prev = max(0, offset - limit)
            extra = {"offset": str(prev)} if prev else {}
            links.append(
                _lnk(
                    _url(base, path, _with(params, drop, **extra, **page_f)),
                    "prev",
                    page_type,
                    "Previous page",
                )
            )
    else:
        has_next = more if before is None else last is not None
        has_prev = (after is not None and first is not None) or (before is not None and more)
        if has_next and last is not None:
            links.append(
                _lnk(
                    _url(base, path, _with(params, drop, after=str(last), **page_f)),
                    "next",
                    page_type,
                    "Next page",
                )
            )
        if has_prev and first is not None:
            links.append(
                _lnk(
                    _url(base, path, _with(params, drop, before=str(first), **page_f)),
                    "prev",
                    page_type,
                    "Previous page",
                )
            )
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if fmt == "html":
        return _html_response(
            _items_html(ctx, coll, base, body, matched, returned, links, crs), headers=headers
        )
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": returned,
            "timeStamp": _params.utc_now_text(),
            "links": links,
        },
        ensure_ascii=False,
    )
    content = head[:-1].encode() + b',"features":[' + body + b"]}"
    return Response(content, media_type=GEOJSON, headers=headers)


def _items_html(
    ctx: WebContext,
    coll: Collection,
    base: str,
    body: bytes,
    matched: int,
    returned: int,
    links: list[dict[str, str]],
    crs: CrsDef,
) -> str:
    features = json.loads(b"[" + body + b"]") if body else []
    names = [n for n, _ in coll.columns]
    href = f"{base}/collections/{coll.id}/items"
    rows = []
    for feat in features:
        geom = feat.get("geometry") or {}
        props = feat.get("properties") or {}
        rows.append(
            [
                _html.link(f"{href}/{feat['id']}?f=html", str(feat["id"])),
                escape(geom.get("type", "")),
            ]
            + [escape("" if props.get(n) is None else str(props.get(n))) for n in names]
        )
    pager = " ".join(
        _html.link(
            link["href"],
            {"prev": "‹ sebelumnya / previous", "next": "berikutnya / next ›"}[link["rel"]],
        )
        for link in links
        if link["rel"] in ("prev", "next")
    )
    title = coll.info.title_id or coll.info.title_en or coll.id
    text = (
        f"<h1>{escape(title)}</h1><p>"
        + _html.label("Cocok", "Matched")
        + f": {matched:,} · "
        + _html.label("Ditampilkan", "Returned")
        + f": {returned:,} · CRS: <code>{escape(crs.uri)}</code></p>"
        + f'<p class="pager">{pager}</p>'
        + _html.table(
            ["id", _html.label("Geometri", "Geometry"), *(escape(n) for n in names)], rows, raw=True
        )
        + f'<p class="pager">{pager}</p>'
    )
    json_href = next(link["href"] for link in links if link["rel"] == "alternate")
    return _html.page(
        title,
        text,
        base=base,
        crumbs=[
            (base + "/", "Tangguh"),
            (base + "/collections?f=html", "Koleksi / Collections"),
            (f"{base}/collections/{coll.id}?f=html", coll.id),
        ],
        json_href=json_href,
    )


async def _download(
    ctx: WebContext,
    q: Query,
    crs: CrsDef,
    fmt: str,
    limit: int | None,
    offset: int,
    after: int | None,
    before: int | None,
) -> Response:
    def work() -> tuple[Path, Path]:
        rows = ctx.source.rows(q, limit=limit, offset=offset, after=after, before=before)
        return write_download(q.coll, rows, crs, fmt)

    path, folder = await ctx.run(work)
    suffix, media, _ = DOWNLOADS[fmt]
    return FileResponse(
        path,
        media_type=media,
        filename=f"{q.coll.id}{suffix}",
        headers={"Content-Crs": f"<{crs.uri if not crs.geographic else SUPPORTED[CRS84].uri}>"},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# -- one feature ------------------------------------------------------------------------------
@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature / Satu fitur",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {}, HTML: {}}, "description": "The feature"},
        404: {"description": "No such collection or feature"},
    },
    tags=["OGC API – Features"],
)
async def item(request: Request, collectionId: str, featureId: str) -> Response:
    ctx = context(request)
    params = request.query_params
    _params.check_params(params, ("f", "crs"))
    fmt = _params.parse_format(params, request.headers.get("accept", ""), ("json", "html"))
    crs = parse_crs(params["crs"]) if "crs" in params else SUPPORTED[CRS84]
    coll = await ctx.collection(collectionId)
    fid = int(featureId) if featureId.isdigit() and len(featureId) < 19 else None
    row = await ctx.run(ctx.source.row, coll, fid) if fid is not None else None
    if row is None:
        raise NotFoundError(
            f"no feature {featureId!r} in collection {coll.id!r}",
            where="path /collections/{collectionId}/items/{featureId}",
            hint=f"list the features at /collections/{coll.id}/items",
            message_id=f"tidak ada fitur {featureId!r} di koleksi {coll.id!r}",
            hint_id=f"lihat daftar fitur di /collections/{coll.id}/items",
        )
    base = ctx.base(request)
    href = f"{base}/collections/{coll.id}/items/{featureId}"
    (text,) = await ctx.run(feature_strings, coll, [row], crs)
    headers = {"Content-Crs": f"<{crs.uri}>"}
    links = [
        _lnk(
            _url(href, "", _with(params)),
            "self",
            HTML if fmt == "html" else GEOJSON,
            "This feature",
        ),
        _lnk(
            _url(href, "", _with(params, f="html" if fmt == "json" else "json")),
            "alternate",
            HTML if fmt == "json" else GEOJSON,
            "This feature in another format",
        ),
        _lnk(f"{base}/collections/{coll.id}", "collection", JSON, "The collection"),
    ]
    if fmt == "html":
        props = properties(coll, row)
        feat = json.loads(text)
        rows = [(escape(k), escape("" if v is None else str(v))) for k, v in props.items()]
        geom = json.dumps(feat["geometry"])
        rows.append(
            (
                _html.label("Geometri", "Geometry"),
                f"<code>{escape(geom[:2000])}{'…' if len(geom) > 2000 else ''}</code>",
            )
        )
        title = f"{coll.id} {featureId}"
        page = _html.page(
            title,
            f"<h1>{escape(title)}</h1>" + _html.table(["", ""], rows, raw=True),
            base=base,
            crumbs=[
                (base + "/", "Tangguh"),
                (base + "/collections?f=html", "Koleksi / Collections"),
                (f"{base}/collections/{coll.id}/items?f=html", coll.id),
            ],
            json_href=links[1]["href"],
        )
        return _html_response(page, headers=headers)
    content = text[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return Response(content.encode(), media_type=GEOJSON, headers=headers)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- API definition ---------------------------------------------------------------------------
@router.get(
    "/api",
    summary="API definition (OpenAPI 3.0) / Definisi API",
    response_class=Response,
    responses={200: {"content": {OPENAPI_30: {}, HTML: {}}, "description": "OpenAPI 3.0"}},
    tags=["OGC API – Features"],
)
async def api(request: Request) -> Response:
    from tangguh.web._openapi import openapi_30

    ctx = context(request)
    _params.check_params(request.query_params, ("f",))
    fmt = _params.parse_format(
        request.query_params, request.headers.get("accept", ""), ("json", "html")
    )
    doc = getattr(request.app.state, "openapi_30", None)
    if doc is None:
        doc = openapi_30(
            request.app,
            default_limit=ctx.settings.default_limit,
            max_limit=ctx.settings.max_limit,
        )
        request.app.state.openapi_30 = doc
    if fmt == "html":
        base = ctx.base(request)
        rows = []
        for path, item_ in doc["paths"].items():
            for method, op in item_.items():
                params = ", ".join(
                    p["name"] for p in op.get("parameters", []) if p["in"] == "query"
                )
                rows.append((method.upper(), path, op.get("summary", ""), params))
        body = "<h1>" + _html.label("Definisi API", "API definition") + "</h1>"
        body += f"<p>OpenAPI 3.0: {_html.link(base + '/api?f=json', base + '/api')}</p>"
        body += _html.table(
            [
                _html.label("Metode", "Method"),
                _html.label("Jalur", "Path"),
                _html.label("Ringkasan", "Summary"),
                _html.label("Parameter", "Parameters"),
            ],
            rows,
        )
        return _html_response(
            _html.page(
                "API",
                body,
                base=base,
                crumbs=[(base + "/", "Tangguh")],
                json_href=f"{base}/api?f=json",
            )
        )
    return _json(doc, media_type=OPENAPI_30)
