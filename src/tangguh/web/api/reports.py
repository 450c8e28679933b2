"""Citizen reports over HTTP: submit (citizen), public list, operator lifecycle actions,
reporter confirm/reopen with the token returned once at submit, per-RW summary and RW
flood-state suggestions. The rules live in :mod:`tangguh.services.reports`.

- ``POST reports`` (citizen; JSON or multipart with ``photo``): the report and its
  ``token``, once; rate-limited per address and per reporter.
- ``GET reports`` (filters status, type, rw, kelurahan, unit, since, overdue, flagged),
  ``GET reports/{id}``, ``…/events``, ``…/photo``, ``…/photos/{photo_id}``,
  ``GET reports/summary``, ``GET reports/units``: public (operators see more).
- ``GET reports/overdue``, ``GET reports/suggestions``, ``GET reports/abuse``: operator.
- ``POST reports/{id}/verify|reject|restore|assign|start|review`` and
  ``POST reports/{id}/resolve`` (multipart with ``photo``): operator.
- ``POST reports/{id}/confirm`` (token), ``POST reports/{id}/reopen`` (token or operator).

The reporter's identity and the token are never returned by a read; operators see a
pseudonym (``reporter_key``) and the abuse flags. Photos: next to an embedded bank in
``<bank>.media/reports/``; in PostGIS in a bytea column. Errors: an action the status
does not allow is 409, a wrong token 403, a photo that is not an image 415, too large 413.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tangguh.bank import Bank
from tangguh.errors import InputError, TangguhError
from tangguh.services import reports as svc
from tangguh.web.api._core import (
    PREFIX,
    ApiError,
    ApiState,
    _audit_key,
    api_state,
    call,
    client_ip,
    limited,
    parse_time,
    require,
    who,
    write,
)
from tangguh.web.api.security import Principal

__all__ = ["router"]

router = APIRouter(tags=["reports"])
T = TypeVar("T")

MAX_PHOTO_BYTES = svc.MAX_PHOTO_BYTES
#: Largest request body: the photo plus room for the form fields.
MAX_BODY = MAX_PHOTO_BYTES + 64 * 1024
ReportTypeName = Literal[
    "flood", "water_outage", "water_quality", "waste_pile", "blocked_drain",
    "damaged_infrastructure",
]  # fmt: skip


# -- models ----------------------------------------------------------------------------------


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: ReportTypeName = "flood"
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    depth_cm: float | None = Field(default=None, ge=0, le=500, allow_inf_nan=False)
    text: str = Field(default="", max_length=1000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=1000)


class AssignIn(NoteIn):
    unit: str | None = Field(default=None, max_length=128)


class TokenIn(NoteIn):
    token: str | None = Field(default=None, max_length=256)


class ReviewBody(NoteIn):
    status: Literal["verified", "rejected", "new"]


class Sla(BaseModel):
    model_config = ConfigDict(extra="allow")
    reach_due: str
    resolve_due: str
    reach_overdue: bool
    resolve_overdue: bool
    overdue: bool


class ReportView(BaseModel):
    model_config = ConfigDict(extra="allow")
    report_id: str
    type: str
    t: str
    lon: float
    lat: float
    depth_cm: float | None = None
    text: str | None = None
    status: str
    rw_id: str | None = None
    kelurahan_id: str | None = None
    unit: str | None = None
    unit_name: str | None = None
    cluster_id: str
    cluster_size: int
    photo_url: str | None = None
    resolution_photo_urls: list[str] = []
    sla: Sla


class SubmittedView(ReportView):
    token: str


# -- body parsing ------------------------------------------------------------------------------


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
        f"unreadable request: {what}",
        where="body",
        hint="send JSON {type, lon, lat, depth_cm, text} or multipart/form-data with those "
        "fields and an optional 'photo' file",
        message_id=f"permintaan tidak terbaca: {what_id}",
        hint_id="kirim JSON {type, lon, lat, depth_cm, text} atau multipart/form-data dengan "
        "kolom tersebut dan berkas 'photo' (opsional)",
    )


_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))', re.IGNORECASE)
_NAME = re.compile(r'(?:^|;)\s*name="((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_FILENAME = re.compile(r"(?:^|;)\s*filename\*?=", re.IGNORECASE)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Fields and files of a ``multipart/form-data`` body (RFC 7578).

    A single pass of ``bytes.find`` over the body (no copy per line), so a 5 MB photo
    costs about as much as reading it.
    """
    found = _BOUNDARY.search(content_type)
    if not found:
        raise _bad_body("multipart without a boundary", "multipart tanpa boundary")
    delim = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
    pos = body.find(delim)
    if pos < 0:
        raise _bad_body("malformed multipart body", "isi multipart rusak")
    pos += len(delim)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    while not body.startswith(b"--", pos):
        if not body.startswith(b"\r\n", pos):
            raise _bad_body("malformed multipart body", "isi multipart rusak")
        pos += 2
        end = body.find(b"\r\n" + delim, pos)
        head_end = body.find(b"\r\n\r\n", pos, end if end >= 0 else None)
        if end < 0 or head_end < 0:
            raise _bad_body("malformed multipart body", "isi multipart rusak")
        disposition = ""
        for line in body[pos:head_end].decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        name = _NAME.search(disposition)
        content = body[head_end + 4 : end]
        pos = end + 2 + len(delim)
        if name is None:
            continue
        key = name.group(1)
        if _FILENAME.search(disposition):
            files[key] = content
            continue
        try:
            fields[key] = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_body(f"field {key} is not UTF-8", f"kolom {key} bukan UTF-8") from exc
    return fields, files


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
    fields, files = parse_multipart(content_type, body)
    form: dict[str, Any] = {k: v for k, v in fields.items() if not (k == "depth_cm" and v == "")}
    photo = files.get("photo") or None
    for extra in set(files) - {"photo"}:
        form[extra] = "(file)"  # refused by the model: unknown field
    return form, photo


def _photo(raw: bytes) -> svc.Photo:
    try:
        return svc.check_photo(raw)
    except svc.PhotoError as exc:
        raise ApiError(
            413 if exc.reason == "size" else 415,
            exc.message,
            message_id=exc.message_id or exc.message,
            where=exc.where,
            hint=exc.hint,
            hint_id=exc.hint_id,
        ) from exc


def _validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from exc


# -- views -------------------------------------------------------------------------------------


def _view(item: dict[str, Any]) -> dict[str, Any]:
    rid = item["report_id"]
    out = dict(item)
    out["photo_url"] = f"{PREFIX}/reports/{rid}/photo" if item.get("photo") else None
    out["resolution_photo_urls"] = [
        f"{PREFIX}/reports/{rid}/photos/{pid}" for pid in item.get("resolution_photos", [])
    ]
    out["events_url"] = f"{PREFIX}/reports/{rid}/events"
    return out


def _http_error(exc: TangguhError) -> TangguhError:
    """Domain errors with their HTTP status: 409 transition, 403 token, 413/415 photo."""
    status = 0
    if isinstance(exc, svc.TransitionError):
        status = 409
    elif isinstance(exc, svc.TokenError):
        status = 403
    elif isinstance(exc, svc.PhotoError):
        status = 413 if exc.reason == "size" else 415
    if not status:
        return exc
    return ApiError(
        status,
        exc.message,
        message_id=exc.message_id or exc.message,
        where=exc.where,
        hint=exc.hint,
        hint_id=exc.hint_id,
    )


async def _act(
    request: Request,
    principal: Principal,
    report_id: str,
    fn: Callable[[Bank], dict[str, Any]],
    staged: list[Path] | None = None,
) -> dict[str, Any]:
    try:
        return _view(await write(request, principal, fn, object_id=report_id))
    except TangguhError as exc:
        for path in staged or []:
            path.unlink(missing_ok=True)
        raise _http_error(exc) from exc
    except BaseException:
        for path in staged or []:
            path.unlink(missing_ok=True)
        raise


# -- submit ----------------------------------------------------------------------------------------

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ReportBody.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["lon", "lat"],
                    "properties": {
                        "type": {"type": "string", "enum": list(svc.TYPES), "default": "flood"},
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
        "429": {"description": "Too many reports from this address or reporter"},
    },
}


def _ip_hash(bank: Bank, st: ApiState, ip: str) -> str:
    with bank.connect() as conn:
        key = _audit_key(st, conn)
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:16]


@router.post(
    "/reports",
    response_model=SubmittedView,
    status_code=201,
    summary="Send a citizen report (citizen) / Kirim laporan warga (warga)",
    description="JSON or multipart/form-data with an optional `photo` (PNG/JPEG ≤ 5 MB, "
    "metadata stripped). `type` defaults to flood (then `depth_cm` is required). The "
    "answer carries a `token`, shown once: the reporter confirms or reopens the resolved "
    "report with it.",
    dependencies=[Depends(limited("reports"))],
    openapi_extra=_BODY_DOC,
)
async def send_report(
    request: Request, principal: Principal = Depends(require("citizen"))
) -> dict[str, Any]:
    st = api_state(request)
    reporter = principal.id or principal.actor
    wait = st.limiter.take("reports-reporter", reporter)
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        raise ApiError(
            429,
            f"too many reports from this reporter; retry in {seconds} s",
            message_id=f"terlalu banyak laporan dari pelapor ini; coba lagi dalam {seconds} detik",
            where="reporter",
            hint="wait before sending again",
            hint_id="tunggu sebelum mengirim lagi",
            headers={"Retry-After": str(seconds)},
        )
    body = await _read_body(request)
    fields, raw_photo = _parse(request.headers.get("content-type", ""), body)
    report = _validated(ReportBody, fields)
    photo = _photo(raw_photo) if raw_photo else None
    draft = svc.ReportDraft(report.lon, report.lat, report.type, report.depth_cm, report.text)
    ip = client_ip(request)
    staged: list[Path] = []

    def work(bank: Bank) -> svc.Submitted:
        return svc.submit(
            bank,
            draft,
            reporter_id=reporter,
            photo=photo,
            ip_hash=_ip_hash(bank, st, ip),
            staged=staged,
        )

    try:
        done = await write(
            request, principal, work, object_id=lambda d: str(d.report["report_id"]), status=201
        )
    except BaseException:
        for path in staged:  # nothing stored: remove a photo whose row was rolled back
            path.unlink(missing_ok=True)
        raise
    out = _public(done.report)
    out["token"] = done.token
    return out


def _public(item: dict[str, Any]) -> dict[str, Any]:
    out = _view(item)
    out.pop("flags", None)
    out.pop("reporter_key", None)
    return out


# -- reads ---------------------------------------------------------------------------------


@router.get(
    "/reports",
    response_model=list[ReportView],
    summary="Citizen reports / Laporan warga",
    description="Newest first, without the reporters' identity. Rejected reports are "
    "listed for operators only (status=rejected); operators also see abuse flags.",
)
async def list_reports(
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    rw: Annotated[str | None, Query(max_length=190)] = None,
    kelurahan: Annotated[str | None, Query(max_length=190)] = None,
    unit: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool = False,
    flagged: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    principal: Principal = Depends(who),
) -> list[dict[str, Any]]:
    operator = principal.at_least("operator")
    if status is not None:
        svc._check_status(status)
    if status == "rejected" and not operator:
        raise ApiError(
            403,
            "rejected reports are shown to operators only",
            message_id="laporan yang ditolak hanya ditampilkan kepada operator",
            where="status",
        )
    start = parse_time(since, "since")
    rows = await call(
        request,
        lambda bank: svc.list_reports(
            bank,
            status=status,
            types=type,
            rw=rw,
            kelurahan=kelurahan,
            unit=unit,
            since=start,
            overdue_only=overdue,
            flagged_only=flagged and operator,
            private=operator,
            limit=limit,
        ),
    )
    return [_view(x) if operator else _public(x) for x in rows]


@router.get(
    "/reports/summary",
    summary="Reports per RW or kelurahan / Laporan per RW atau kelurahan",
    description="Counts by type and status, open and overdue reports per unit.",
)
async def reports_summary(
    request: Request,
    level: Annotated[str, Query(max_length=16)] = "rw",
    since: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    start = parse_time(since, "since")
    return await call(request, lambda bank: svc.summary(bank, level=level, since=start))


@router.get(
    "/reports/units",
    summary="Responsible units and SLA per report type / Unit penanggung jawab dan SLA",
)
async def reports_units(request: Request) -> dict[str, Any]:
    return await call(request, lambda bank: svc.current_config(bank).to_json())


@router.get(
    "/reports/overdue",
    response_model=list[ReportView],
    summary="Reports past an SLA due time (operator) / Laporan melewati SLA (operator)",
)
async def reports_overdue(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    principal: Principal = Depends(require("operator")),
) -> list[dict[str, Any]]:
    rows = await call(request, lambda bank: svc.overdue(bank, limit=limit))
    return [_view(x) for x in rows]


@router.get(
    "/reports/suggestions",
    summary="Suggested RW flood states from reports (operator) / Saran status banjir RW",
    description="Per RW: the median depth of recent verified flood reports on the 0-4 "
    "scale of rw-states. Never applied: operators set states with PUT rw-states/{unit_id}.",
)
async def reports_suggestions(
    request: Request,
    window_hours: Annotated[float | None, Query(gt=0, le=720)] = None,
    principal: Principal = Depends(require("operator")),
) -> list[dict[str, Any]]:
    return await call(request, lambda bank: svc.suggestions(bank, window_hours=window_hours))


@router.get(
    "/reports/abuse",
    summary="Reporters with abuse signals (operator) / Pelapor dengan tanda penyalahgunaan",
)
async def reports_abuse(
    request: Request, principal: Principal = Depends(require("operator"))
) -> list[dict[str, Any]]:
    return await call(request, svc.abuse)


@router.get("/reports/{report_id}", response_model=ReportView, summary="One report / Satu laporan")
async def get_report(
    request: Request,
    report_id: str,
    principal: Principal = Depends(who),
    token: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The reporter token: the reporter also sees a rejected report",
        ),
    ] = None,
) -> dict[str, Any]:
    operator = principal.at_least("operator")
    try:
        item = await call(
            request, lambda bank: svc.get_report(bank, report_id, private=operator, token=token)
        )
    except svc.TokenError as exc:
        raise _http_error(exc) from exc
    return _view(item) if operator else _public(item)


@router.get(
    "/reports/{report_id}/events",
    summary="Lifecycle of a report / Riwayat laporan",
    description="Every transition; actors and notes for operators only.",
)
async def report_events(
    request: Request, report_id: str, principal: Principal = Depends(who)
) -> list[dict[str, Any]]:
    operator = principal.at_least("operator")
    return await call(request, lambda bank: svc.events(bank, report_id, private=operator))


@router.get(
    "/reports/{report_id}/photo",
    summary="The photo of a report / Foto laporan",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
async def report_photo(
    request: Request, report_id: str, principal: Principal = Depends(who)
) -> Response:
    operator = principal.at_least("operator")
    data, kind = await call(
        request, lambda bank: svc.photo_bytes(bank, report_id, private=operator)
    )
    return Response(data, media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


@router.get(
    "/reports/{report_id}/photos/{photo_id}",
    summary="A resolution photo of a report / Foto penyelesaian laporan",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
async def report_photo_by_id(
    request: Request, report_id: str, photo_id: str, principal: Principal = Depends(who)
) -> Response:
    operator = principal.at_least("operator")
    data, kind = await call(
        request, lambda bank: svc.photo_bytes(bank, report_id, photo_id, private=operator)
    )
    return Response(data, media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


# -- operator actions ----------------------------------------------------------------------------


@router.post(
    "/reports/{report_id}/review",
    response_model=ReportView,
    summary="Verify, reject or restore a report (operator) / Verifikasi atau tolak laporan",
    description="status=verified verifies and assigns the report to its unit; rejected "
    "rejects it; new restores a rejected report.",
)
async def review_report(
    request: Request,
    report_id: str,
    body: ReviewBody,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    fn = {"verified": svc.verify, "rejected": svc.reject, "new": svc.restore}[body.status]
    return await _act(
        request,
        principal,
        report_id,
        lambda bank: fn(bank, report_id, actor=principal.actor, note=body.note),
    )


def _simple(action: str, fn: Callable[..., dict[str, Any]], title: str) -> None:
    async def endpoint(
        request: Request,
        report_id: str,
        body: NoteIn | None = None,
        principal: Principal = Depends(require("operator")),
    ) -> dict[str, Any]:
        note = body.note if body else None
        return await _act(
            request,
            principal,
            report_id,
            lambda bank: fn(bank, report_id, actor=principal.actor, note=note),
        )

    endpoint.__name__ = f"report_{action}"
    router.post(f"/reports/{{report_id}}/{action}", response_model=ReportView, summary=title)(
        endpoint
    )


_simple(
    "verify",
    svc.verify,
    "Verify a report and assign it to its unit (operator) / Verifikasi dan tugaskan laporan",
)
_simple("reject", svc.reject, "Reject a report (operator) / Tolak laporan (operator)")
_simple("restore", svc.restore, "Restore a rejected report (operator) / Pulihkan laporan")
_simple("start", svc.start, "Work on a report started (operator) / Laporan mulai dikerjakan")


@router.post(
    "/reports/{report_id}/assign",
    response_model=ReportView,
    summary="Assign a report to a unit (operator) / Tugaskan laporan ke unit (operator)",
    description="Without `unit`, the routing rules choose (override, zone operator, type).",
)
async def assign_report(
    request: Request,
    report_id: str,
    body: AssignIn | None = None,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    unit = body.unit if body else None
    note = body.note if body else None
    return await _act(
        request,
        principal,
        report_id,
        lambda bank: svc.assign(bank, report_id, actor=principal.actor, unit=unit, note=note),
    )


@router.post(
    "/reports/{report_id}/resolve",
    response_model=ReportView,
    summary="Resolve a report with a photo (operator) / Selesaikan laporan dengan foto",
    description="multipart/form-data with `photo` (required, PNG/JPEG) and `note`.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["photo"],
                        "properties": {
                            "note": {"type": "string", "maxLength": 1000},
                            "photo": {"type": "string", "format": "binary"},
                        },
                    }
                }
            },
        }
    },
)
async def resolve_report(
    request: Request, report_id: str, principal: Principal = Depends(require("operator"))
) -> dict[str, Any]:
    body = await _read_body(request)
    fields, raw = _parse(request.headers.get("content-type", ""), body)
    note = _validated(NoteIn, fields).note
    photo = _photo(raw) if raw else None
    staged: list[Path] = []
    return await _act(
        request,
        principal,
        report_id,
        lambda bank: svc.resolve(
            bank, report_id, actor=principal.actor, photo=photo, note=note, staged=staged
        ),
        staged,
    )


@router.post(
    "/reports/{report_id}/confirm",
    response_model=ReportView,
    summary="Reporter confirms the fix (token) / Pelapor mengonfirmasi penyelesaian (token)",
    dependencies=[Depends(limited("reports-token"))],
)
async def confirm_report(
    request: Request, report_id: str, body: TokenIn, principal: Principal = Depends(who)
) -> dict[str, Any]:
    return await _act(
        request,
        principal,
        report_id,
        lambda bank: _public(svc.confirm(bank, report_id, token=body.token or "", note=body.note)),
    )


@router.post(
    "/reports/{report_id}/reopen",
    response_model=ReportView,
    summary="Reopen a resolved report (reporter token or operator) / Buka kembali laporan",
    dependencies=[Depends(limited("reports-token"))],
)
async def reopen_report(
    request: Request, report_id: str, body: TokenIn, principal: Principal = Depends(who)
) -> dict[str, Any]:
    operator = principal.at_least("operator") and not body.token
    return await _act(
        request,
        principal,
        report_id,
        lambda bank: _public(
            svc.reopen(
                bank,
                report_id,
                token=body.token,
                actor=principal.actor if operator else None,
                note=body.note,
            )
        ),
    )
