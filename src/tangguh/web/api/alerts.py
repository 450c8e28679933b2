"""Alerts: list, one, CAP XML, the Atom feed (public); approve and cancel (operator).

Everything goes through :mod:`tangguh.warning.alerts`; approving issues the alert in
the same transaction as the audit row, and the chain's issue hooks
(:func:`tangguh.warning.chain.install_hooks`) queue the deliveries and open the
incident in that transaction too.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tangguh.bank import Bank
from tangguh.errors import InputError
from tangguh.warning import alerts as A
from tangguh.warning import chain
from tangguh.warning.model import AlertRecord
from tangguh.web._context import context
from tangguh.web.api._core import PREFIX, call, iso, require, write
from tangguh.web.api._models import AlertOut, CancelIn
from tangguh.web.api.security import Principal

__all__ = ["alert_json", "router"]

router = APIRouter(tags=["alerts"])

CAP_XML = "application/cap+xml"
ATOM = "application/atom+xml"
STATUSES = ("draft", "approved", "issued", "updated", "cancelled", "expired")


def alert_json(rec: AlertRecord) -> dict[str, Any]:
    data = {k: iso(v) for k, v in asdict(rec).items()}
    data["cap_url"] = f"{PREFIX}/alerts/{rec.alert_id}/cap.xml"
    return data


def _list(bank: Bank, status: str | None, active: bool) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise InputError(
            f"unknown alert status {status!r}",
            where="status",
            hint=f"use one of {list(STATUSES)}",
            message_id=f"status peringatan {status!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(STATUSES)}",
        )
    return [alert_json(a) for a in A.list_alerts(bank, status=status, active_only=active)]


@router.get(
    "/alerts",
    response_model=list[AlertOut],
    summary="Alerts / Peringatan",
    description="Most recently updated first; active=true: issued or updated ones.",
)
async def list_alerts(
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    active: bool = False,
) -> list[dict[str, Any]]:
    return await call(request, _list, status, active)


@router.get(
    "/alerts/feed.atom",
    summary="Atom feed of issued alerts / Umpan Atom peringatan terbit",
    response_class=Response,
    responses={200: {"content": {ATOM: {"schema": {"type": "string"}}}}},
)
async def alerts_feed(request: Request) -> Response:
    base = context(request).base(request) + PREFIX
    body = await call(request, A.feed, base)
    return Response(body, media_type=ATOM)


@router.get("/alerts/{alert_id}", response_model=AlertOut, summary="One alert / Satu peringatan")
async def get_alert(request: Request, alert_id: str) -> dict[str, Any]:
    return alert_json(await call(request, A.get, alert_id))


@router.get(
    "/alerts/{alert_id}/cap.xml",
    summary="CAP 1.2 XML of the current version / XML CAP 1.2 versi terkini",
    response_class=Response,
    responses={200: {"content": {CAP_XML: {"schema": {"type": "string"}}}}},
)
async def alert_cap(request: Request, alert_id: str) -> Response:
    return Response(await call(request, A.cap_xml, alert_id), media_type=CAP_XML)


@router.get(
    "/alerts/{alert_id}/{version}.xml",
    summary="CAP 1.2 XML of one version / XML CAP 1.2 satu versi",
    response_class=Response,
    responses={200: {"content": {CAP_XML: {"schema": {"type": "string"}}}}},
)
async def alert_cap_version(request: Request, alert_id: str, version: str) -> Response:
    if not version.isdigit() or len(version) > 9:
        raise InputError(
            f"invalid version {version!r}",
            where="version",
            hint="a version number, e.g. /alerts/<id>/1.xml",
            message_id=f"versi {version!r} tidak sah",
            hint_id="nomor versi, mis. /alerts/<id>/1.xml",
        )
    xml = await call(request, A.cap_xml, alert_id, int(version))
    return Response(xml, media_type=CAP_XML)


@router.post(
    "/alerts/{alert_id}/approve",
    response_model=AlertOut,
    summary="Approve and issue a draft alert (operator) / Setujui dan terbitkan (operator)",
)
async def approve(
    request: Request,
    alert_id: str,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    chain.install_hooks()
    rec = await write(
        request,
        principal,
        lambda bank: A.approve(bank, alert_id, actor=principal.actor),
        object_id=alert_id,
    )
    return alert_json(rec)


@router.post(
    "/alerts/{alert_id}/cancel",
    response_model=AlertOut,
    summary="Cancel an open alert (operator) / Cabut peringatan (operator)",
)
async def cancel(
    request: Request,
    alert_id: str,
    body: CancelIn,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    chain.install_hooks()
    rec = await write(
        request,
        principal,
        lambda bank: A.cancel(
            bank,
            alert_id,
            actor=principal.actor,
            reason_en=body.reason_en,
            reason_id=body.reason_id,
        ),
        object_id=alert_id,
    )
    return alert_json(rec)
