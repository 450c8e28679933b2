"""Citizen flood reports: send (citizen, rate-limited), list and view (public), review
(operator).

A report is a point inside the city (the admin units' extent, and inside a unit of
the bank), a depth 0-500 cm, a text up to 1000 characters and an optional photo (a real
PNG or JPEG by its bytes, at most 5 MB, metadata stripped). The reporter's user id is
stored but never returned by any endpoint; the RW and kelurahan are matched with
``tangguh.admin.store.lookup``. Photos: next to an embedded bank in ``<bank>.media/
reports/<report_id>.png|jpg``; in PostGIS in a bytea column (``tg_web_photo.data``).
Rejected reports and their photos are shown to operators only.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import insert, select, update

from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.web.api._core import (
    PREFIX,
    ApiError,
    ApiState,
    api_state,
    call,
    iso,
    limited,
    parse_time,
    require,
    who,
    write,
)
from tangguh.web.api._images import MAX_PHOTO_BYTES, sniff, strip_metadata
from tangguh.web.api._models import ReportIn, ReportOut, ReviewIn
from tangguh.web.api.security import Principal
from tangguh.web.api.units import city_bounds, point_units
from tangguh.web.tables import tg_web_photo, tg_web_report

__all__ = ["media_dir", "router"]

router = APIRouter(tags=["reports"])

#: Largest request body: the photo plus room for the form fields.
MAX_BODY = MAX_PHOTO_BYTES + 64 * 1024
PUBLIC_STATUSES = ("new", "verified")
STATUSES = ("new", "verified", "rejected")
_EXT = {"image/png": "png", "image/jpeg": "jpg"}


def media_dir(bank: Bank) -> Path | None:
    """``<bank>.media/reports`` for an embedded bank; None for PostGIS (bytea)."""
    from tangguh.bank.gpkg import GpkgBank

    if isinstance(bank, GpkgBank):
        return Path(bank.path).with_suffix(".media") / "reports"
    return None


def _too_large() -> ApiError:
    return ApiError(
        413,
        f"the request is larger than {MAX_BODY // (1024 * 1024)} MB; a photo may have at "
        f"most {MAX_PHOTO_BYTES // (1024 * 1024)} MB",
        message_id=f"permintaan lebih besar dari {MAX_BODY // (1024 * 1024)} MB; foto paling "
        f"besar {MAX_PHOTO_BYTES // (1024 * 1024)} MB",
        where="photo",
        hint="send a smaller photo (e.g. 1600 px wide JPEG)",
        hint_id="kirim foto yang lebih kecil (mis. JPEG lebar 1600 px)",
    )


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _bad_body(what: str, what_id: str) -> InputError:
    return InputError(
        f"unreadable report: {what}",
        where="body",
        hint="send JSON {lon, lat, depth_cm, text} or multipart/form-data with those "
        "fields and an optional 'photo' file",
        message_id=f"laporan tidak terbaca: {what_id}",
        hint_id="kirim JSON {lon, lat, depth_cm, text} atau multipart/form-data dengan "
        "kolom tersebut dan berkas 'photo' (opsional)",
    )


def _parse(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes | None]:
    """The form fields and the photo bytes (None when no photo)."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _bad_body("invalid JSON", "JSON tidak sah") from exc
        if not isinstance(data, dict):
            raise _bad_body("JSON must be an object", "JSON harus berupa objek")
        return data, None
    if ctype != "multipart/form-data":
        raise ApiError(
            415,
            f"unsupported content type {ctype or '(none)'}",
            message_id=f"jenis konten {ctype or '(kosong)'} tidak didukung",
            where="Content-Type",
            hint="use application/json or multipart/form-data",
            hint_id="gunakan application/json atau multipart/form-data",
        )
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    try:
        msg = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    except Exception as exc:  # the stdlib parser is lenient; belt and braces
        raise _bad_body("malformed multipart body", "isi multipart rusak") from exc
    if not msg.is_multipart():
        raise _bad_body("malformed multipart body", "isi multipart rusak")
    fields: dict[str, Any] = {}
    photo: bytes | None = None
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or payload is None:
            continue
        if name == "photo":
            if part.get_filename() is not None or payload:
                photo = bytes(payload) if payload else None
            continue
        try:
            fields[name] = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_body(f"field {name} is not UTF-8", f"kolom {name} bukan UTF-8") from exc
    return fields, photo


def _check_photo(photo: bytes) -> tuple[str, bytes]:
    if len(photo) > MAX_PHOTO_BYTES:
        raise _too_large()
    kind = sniff(photo)
    if kind is None:
        raise ApiError(
            415,
            "the photo is not a PNG or JPEG image",
            message_id="foto bukan gambar PNG atau JPEG",
            where="photo",
            hint="send a photo taken with a camera or phone (JPEG) or a PNG",
            hint_id="kirim foto dari kamera atau ponsel (JPEG) atau PNG",
        )
    return kind, strip_metadata(photo, kind)


def _report_json(row: Any) -> dict[str, Any]:
    out = {
        k: iso(row[k])
        for k in (
            "report_id",
            "t",
            "lon",
            "lat",
            "depth_cm",
            "text",
            "status",
            "rw_id",
            "kelurahan_id",
        )
    }
    out["photo_url"] = (
        f"{PREFIX}/reports/{row['report_id']}/photo" if row["photo_type"] is not None else None
    )
    return out


def _store(
    bank: Bank,
    st: ApiState,
    report: ReportIn,
    photo: tuple[str, bytes] | None,
    reporter_id: str,
    staged: list[Path],
) -> dict[str, Any]:
    minx, miny, maxx, maxy = city_bounds(bank, st)
    inside = minx <= report.lon <= maxx and miny <= report.lat <= maxy
    units = point_units(bank, st, report.lon, report.lat) if inside else {}
    if not units.get("kelurahan"):
        raise InputError(
            f"the point lon={report.lon}, lat={report.lat} is outside the city",
            where="lon/lat",
            hint=f"the city spans lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f} "
            "(longitude first)",
            message_id=f"titik lon={report.lon}, lat={report.lat} berada di luar kota",
            hint_id=f"kota mencakup lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f} "
            "(bujur dahulu)",
        )
    rid = uuid.uuid4().hex[:16]
    now = datetime.now(UTC)
    rw = units.get("rw")
    row = {
        "report_id": rid,
        "t": now,
        "lon": report.lon,
        "lat": report.lat,
        "depth_cm": report.depth_cm,
        "text": report.text.strip() or None,
        "reporter_id": reporter_id,
        "rw_id": rw["unit_id"] if rw else None,
        "kelurahan_id": units["kelurahan"]["unit_id"],
        "status": "new",
        "photo_type": photo[0] if photo else None,
    }
    with bank.begin() as conn:
        conn.execute(insert(tg_web_report).values(**row))
        if photo is not None:
            kind, data = photo
            folder = media_dir(bank)
            name = f"{rid}.{_EXT[kind]}"
            values: dict[str, Any] = {
                "report_id": rid,
                "media_type": kind,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "path": name if folder is not None else None,
                "data": None if folder is not None else data,
            }
            conn.execute(insert(tg_web_photo).values(**values))
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
                tmp.write_bytes(data)
                staged.append(tmp)
                os.replace(tmp, folder / name)
                staged.append(folder / name)
    return _report_json(row)


def _list(
    bank: Bank, status: str | None, since: datetime | None, limit: int, operator: bool
) -> list[dict[str, Any]]:
    r = tg_web_report
    cols = [c for c in r.c if c.name != "reporter_id"]
    query = select(*cols).order_by(r.c.t.desc(), r.c.report_id).limit(limit)
    if status is not None:
        query = query.where(r.c.status == status)
    elif not operator:
        query = query.where(r.c.status.in_(PUBLIC_STATUSES))
    if since is not None:
        query = query.where(r.c.t >= since)
    with bank.connect() as conn:
        return [_report_json(row) for row in conn.execute(query).mappings()]


def _not_found(report_id: str) -> NotFoundError:
    return NotFoundError(
        f"no report {report_id!r}",
        where="report_id",
        hint="list reports with GET /api/v1/reports",
        message_id=f"tidak ada laporan {report_id!r}",
        hint_id="lihat daftar laporan dengan GET /api/v1/reports",
    )


def _get(bank: Bank, report_id: str, operator: bool) -> dict[str, Any]:
    r = tg_web_report
    cols = [c for c in r.c if c.name != "reporter_id"]
    with bank.connect() as conn:
        row = conn.execute(select(*cols).where(r.c.report_id == report_id)).mappings().first()
    if row is None or (row["status"] not in PUBLIC_STATUSES and not operator):
        raise _not_found(report_id)
    return _report_json(row)


def _photo(bank: Bank, report_id: str, operator: bool) -> tuple[bytes, str]:
    _get(bank, report_id, operator)
    with bank.connect() as conn:
        row = (
            conn.execute(select(tg_web_photo).where(tg_web_photo.c.report_id == report_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFoundError(
            f"report {report_id} has no photo",
            where="report_id",
            message_id=f"laporan {report_id} tidak memiliki foto",
        )
    folder = media_dir(bank)
    if row["data"] is not None:
        return bytes(row["data"]), str(row["media_type"])
    if folder is None or row["path"] is None or not (folder / row["path"]).is_file():
        raise NotFoundError(
            f"the photo file of report {report_id} is missing",
            where=str(folder),
            hint="restore the <bank>.media folder from the backup",
            message_id=f"berkas foto laporan {report_id} hilang",
            hint_id="pulihkan folder <bank>.media dari cadangan",
        )
    return (folder / row["path"]).read_bytes(), str(row["media_type"])


def _review(bank: Bank, report_id: str, status: str, actor: str) -> dict[str, Any]:
    _get(bank, report_id, True)
    with bank.begin() as conn:
        conn.execute(
            update(tg_web_report)
            .where(tg_web_report.c.report_id == report_id)
            .values(status=status, reviewed_by=actor, reviewed_at=datetime.now(UTC))
        )
    return _get(bank, report_id, True)


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ReportIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["lon", "lat", "depth_cm"],
                    "properties": {
                        "lon": {"type": "number"},
                        "lat": {"type": "number"},
                        "depth_cm": {"type": "number", "minimum": 0, "maximum": 500},
                        "text": {"type": "string", "maxLength": 1000},
                        "photo": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    },
    "responses": {
        "413": {"description": "Photo or request too large"},
        "415": {"description": "Not a PNG/JPEG photo, or an unsupported body type"},
        "429": {"description": "Too many reports from this address"},
    },
}


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    summary="Send a flood report (citizen) / Kirim laporan banjir (warga)",
    description="JSON or multipart/form-data (with an optional `photo`, PNG/JPEG ≤ 5 MB).",
    dependencies=[Depends(limited("reports"))],
    openapi_extra=_BODY_DOC,
)
async def send_report(
    request: Request, principal: Principal = Depends(require("citizen"))
) -> dict[str, Any]:
    body = await _read_body(request)
    fields, raw_photo = _parse(request.headers.get("content-type", ""), body)
    try:
        report = ReportIn.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc
    photo = _check_photo(raw_photo) if raw_photo else None
    st = api_state(request)
    reporter = principal.id or principal.actor
    staged: list[Path] = []
    try:
        return await write(
            request,
            principal,
            lambda bank: _store(bank, st, report, photo, reporter, staged),
            object_id=lambda d: str(d["report_id"]),
            status=201,
        )
    except BaseException:
        for path in staged:  # nothing stored: remove a photo whose row was rolled back
            path.unlink(missing_ok=True)
        raise


@router.get(
    "/reports",
    response_model=list[ReportOut],
    summary="Citizen flood reports / Laporan banjir warga",
    description="Newest first, without the reporters' identity. Rejected reports are "
    "listed for operators only (status=rejected).",
)
async def list_reports(
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    principal: Principal = Depends(who),
) -> list[dict[str, Any]]:
    operator = principal.at_least("operator")
    if status is not None and status not in STATUSES:
        raise InputError(
            f"unknown report status {status!r}",
            where="status",
            hint=f"use one of {list(STATUSES)}",
            message_id=f"status laporan {status!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(STATUSES)}",
        )
    if status == "rejected" and not operator:
        raise ApiError(
            403,
            "rejected reports are shown to operators only",
            message_id="laporan yang ditolak hanya ditampilkan kepada operator",
            where="status",
        )
    start = parse_time(since, "since")
    return await call(request, _list, status, start, limit, operator)


@router.get("/reports/{report_id}", response_model=ReportOut, summary="One report / Satu laporan")
async def get_report(
    request: Request, report_id: str, principal: Principal = Depends(who)
) -> dict[str, Any]:
    return await call(request, _get, report_id, principal.at_least("operator"))


@router.get(
    "/reports/{report_id}/photo",
    summary="The photo of a report / Foto laporan",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
async def report_photo(
    request: Request, report_id: str, principal: Principal = Depends(who)
) -> Response:
    data, kind = await call(request, _photo, report_id, principal.at_least("operator"))
    return Response(data, media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


@router.post(
    "/reports/{report_id}/review",
    response_model=ReportOut,
    summary="Verify or reject a report (operator) / Verifikasi atau tolak laporan (operator)",
)
async def review_report(
    request: Request,
    report_id: str,
    body: ReviewIn,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    return await write(
        request,
        principal,
        lambda bank: _review(bank, report_id, body.status, principal.actor),
        object_id=report_id,
    )
