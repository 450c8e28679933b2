"""Errors as RFC 7807 ``application/problem+json``, in English and Bahasa Indonesia.

Every error the web layer reports goes through :func:`problem_response`:

- :class:`tangguh.errors.TangguhError` subclasses raised anywhere (the web layer raises
  :class:`~tangguh.errors.InputError` for a bad parameter, :class:`~tangguh.errors.
  NotFoundError` for an unknown collection or feature) -> 400 / 404 / 503;
- Starlette's HTTP errors (unknown path -> 404, wrong method -> 405);
- FastAPI's request validation errors -> 400 (never 422: OGC API wants 400);
- anything else -> 500 with a generic text (the cause goes to the log, not the client).

The body: ``type``, ``title``, ``status``, ``detail`` (English), ``detail_id`` (Bahasa
Indonesia), ``instance`` (the path), and when known ``where``, ``hint``, ``hint_id``.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tangguh.errors import (
    BankError,
    InputError,
    NotFoundError,
    TangguhError,
)

__all__ = ["PROBLEM_JSON", "install", "problem_response", "status_for"]

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("tangguh.web")

#: Titles in both languages per status.
_TITLES_ID = {
    400: "Permintaan tidak sah",
    404: "Tidak ditemukan",
    405: "Metode tidak diizinkan",
    406: "Format tidak tersedia",
    413: "Permintaan terlalu besar",
    500: "Galat server",
    503: "Layanan tidak tersedia",
}


def status_for(exc: TangguhError) -> int:
    """HTTP status of a Tangguh error: bad input 400, not found 404, bank trouble 503."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, BankError):
        return 503
    return 500


def problem_response(
    status: int,
    detail: str,
    *,
    detail_id: str | None = None,
    instance: str | None = None,
    where: str | None = None,
    hint: str | None = None,
    hint_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An ``application/problem+json`` response (RFC 7807) in both languages."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "title_id": _TITLES_ID.get(status, title),
        "status": status,
        "detail": detail,
        "detail_id": detail_id or detail,
    }
    if instance:
        body["instance"] = instance
    if where:
        body["where"] = where
    if hint:
        body["hint"] = hint
        body["hint_id"] = hint_id or hint
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _tangguh(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TangguhError)
    status = status_for(exc)
    if status >= 500:
        _log.error("%s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        status,
        exc.message,
        detail_id=exc.message_id,
        instance=request.url.path,
        where=exc.where,
        hint=exc.hint,
        hint_id=exc.hint_id,
    )


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        detail, detail_id = (
            f"no resource at {request.url.path}",
            (f"tidak ada sumber daya di {request.url.path}"),
        )
        hint, hint_id = "start from the landing page /", "mulai dari halaman utama /"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
        detail_id = f"metode {request.method} tidak diizinkan pada {request.url.path}"
        hint, hint_id = "use GET", "gunakan GET"
    else:
        detail = str(exc.detail)
        detail_id, hint, hint_id = detail, None, None
    return problem_response(
        status,
        detail,
        detail_id=detail_id,
        instance=request.url.path,
        hint=hint,
        hint_id=hint_id,
        headers=dict(exc.headers) if exc.headers else None,
    )


def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    text = "; ".join(parts) or "invalid request"
    return problem_response(
        400,
        f"invalid request: {text}",
        detail_id=f"permintaan tidak sah: {text}",
        instance=request.url.path,
        hint="see the API definition at /api",
        hint_id="lihat definisi API di /api",
    )


def _unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "unexpected server error",
        detail_id="galat server yang tidak terduga",
        instance=request.url.path,
        hint="try again; if it persists, report it with the time and the URL",
        hint_id="coba lagi; jika masih terjadi, laporkan beserta waktu dan URL-nya",
    )


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app`` (routers added later share them)."""
    app.add_exception_handler(TangguhError, _tangguh)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
