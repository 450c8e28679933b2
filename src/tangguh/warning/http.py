"""HTTP push endpoint for observations: ``POST /api/v1/observations``.

The body is a JSON reading or a list of readings (see
:func:`tangguh.warning.ingest.records_from_payload`); the key goes in the
``X-Tangguh-Key`` header. The answer is the ingest report as JSON (200). Errors are
``application/problem+json`` (RFC 9457) with the text in both languages:
401 missing/unknown/revoked key, 403 station outside the key's scope, 422 a body that is
not JSON or has no acceptable reading (the report is included).

Mount the router in any FastAPI app::

    app.include_router(observations_router("tangguh.gpkg", on_accepted=chain_hook))
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tangguh.bank import open_bank
from tangguh.bank.base import Bank
from tangguh.errors import InputError, TangguhError
from tangguh.warning import ingest, qc

__all__ = ["observations_router", "problem"]

PROBLEM = "application/problem+json"


def problem(status: int, error: TangguhError, **extra: Any) -> JSONResponse:
    """A problem+json response for ``error`` (English title/detail, ``*_id`` Indonesian)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "status": status,
        "title": error.message,
        "title_id": error.message_id or error.message,
        "detail": error.hint or error.message,
        "detail_id": error.hint_id or error.hint or error.message_id or error.message,
    }
    if error.where:
        body["where"] = error.where
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def observations_router(
    bank: Bank | str | Callable[[], Bank],
    *,
    on_accepted: ingest.OnAccepted | None = None,
    config: qc.QCConfig | None = None,
    prefix: str = "/api/v1",
) -> APIRouter:
    """A router with ``POST {prefix}/observations``.

    ``bank`` is a :class:`Bank` (requests are then served one at a time, a bank object
    is not thread-safe), a bank URL (opened per request) or a factory returning a bank
    the endpoint closes after the request.
    """
    router = APIRouter(prefix=prefix)
    lock = threading.Lock()

    @contextmanager
    def use() -> Iterator[Bank]:
        if isinstance(bank, Bank):
            with lock:
                yield bank
            return
        opened = open_bank(bank, create=False) if isinstance(bank, str) else bank()
        try:
            yield opened
        finally:
            opened.close()

    async def handler(request: Request) -> JSONResponse:
        raw = await request.body()
        key = request.headers.get("x-tangguh-key")
        try:
            payload: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = None  # push() refuses it after checking the key (401 comes first)

        def work() -> ingest.IngestReport:
            with use() as b:
                return ingest.push(b, key, payload, on_accepted=on_accepted, config=config)

        try:
            report = await run_in_threadpool(work)
        except ingest.KeyError_ as exc:
            return problem(exc.status, exc)
        except TangguhError as exc:
            return problem(422, exc)
        data = report.to_json()
        if report.rejected and not report.accepted and not report.duplicates:
            error = InputError(
                "no reading was accepted",
                where="body",
                hint="see `rejected` for the reason of each reading",
                message_id="tidak ada bacaan yang diterima",
                hint_id="lihat `rejected` untuk alasan tiap bacaan",
            )
            return problem(422, error, report=data)
        return JSONResponse(data, status_code=200)

    router.add_api_route(
        "/observations",
        handler,
        methods=["POST"],
        summary="Push observations / Kirim data pengamatan",
        response_class=JSONResponse,
    )
    return router
