"""Self-service subscriptions (public, rate-limited per address).

``POST subscriptions`` returns the manage token once (only its SHA-256 is stored); the
confirm and unsubscribe links carry it. No response ever contains the contacts: only
the channel names (``tangguh.warning.subscriptions.get_public``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from tangguh.bank import Bank
from tangguh.errors import InputError
from tangguh.warning import subscriptions as S
from tangguh.web.api._core import PREFIX, call, limited, mark_write, who, write
from tangguh.web.api._models import SubscribedOut, SubscribeIn, SubscriptionOut
from tangguh.web.api.security import Principal

__all__ = ["router"]

router = APIRouter(tags=["subscriptions"])

Token = Annotated[str, Query(min_length=8, max_length=200, description="the manage token")]


def _links(data: dict[str, Any], token: str) -> dict[str, Any]:
    data = dict(data)
    data["token"] = token
    data["confirm_url"] = f"{PREFIX}/subscriptions/confirm?token={token}"
    data["unsubscribe_url"] = f"{PREFIX}/subscriptions/unsubscribe?token={token}"
    return data


def _me(bank: Bank, token: str) -> dict[str, Any]:
    with bank.connect() as conn:
        row = S._by_token(conn, token)
    return S.get_public(bank, row["subscriber_id"])


@router.post(
    "/subscriptions",
    response_model=SubscribedOut,
    status_code=201,
    summary="Subscribe a household to alerts / Langganan peringatan untuk rumah tangga",
    description="Give exactly one of lon+lat, rw or kelurahan, and channels "
    '({"sms": "+62…", "email": "…"}). The token is returned once: keep the links.',
    dependencies=[Depends(limited("subscriptions"))],
)
async def subscribe(
    request: Request, body: SubscribeIn, principal: Principal = Depends(who)
) -> dict[str, Any]:
    if (body.lon is None) != (body.lat is None):
        raise InputError(
            "give both lon and lat, or neither",
            where="lon/lat",
            hint='e.g. {"lon": 106.85, "lat": -6.2}, or use rw / kelurahan',
            message_id="berikan lon dan lat sekaligus, atau tidak keduanya",
            hint_id='mis. {"lon": 106.85, "lat": -6.2}, atau gunakan rw / kelurahan',
        )
    point = (body.lon, body.lat) if body.lon is not None and body.lat is not None else None

    def run(bank: Bank) -> S.Subscription:
        return S.subscribe(
            bank,
            point=point,
            rw=body.rw,
            kelurahan=body.kelurahan,
            language=body.language,
            channels=body.channels,
            quiet_hours=body.quiet_hours,
        )

    sub = await write(request, principal, run, object_id=lambda s: s.subscriber_id, status=201)
    data = {k: v for k, v in sub.to_json().items() if k not in ("token",)}
    return _links(data, sub.token)


@router.get(
    "/subscriptions/confirm",
    response_model=SubscriptionOut,
    summary="Confirm a subscription / Konfirmasi langganan",
)
async def confirm(
    request: Request, token: Token, principal: Principal = Depends(who)
) -> dict[str, Any]:
    mark_write(request)
    return await write(
        request,
        principal,
        lambda bank: S.confirm(bank, token),
        object_id=lambda d: str(d["subscriber_id"]),
    )


async def _unsubscribe(request: Request, token: str, principal: Principal) -> dict[str, Any]:
    mark_write(request)
    return await write(
        request,
        principal,
        lambda bank: S.unsubscribe(bank, token),
        object_id=lambda d: str(d["subscriber_id"]),
    )


@router.get(
    "/subscriptions/unsubscribe",
    response_model=SubscriptionOut,
    summary="Unsubscribe (the link in messages) / Berhenti berlangganan (tautan di pesan)",
)
async def unsubscribe_link(
    request: Request, token: Token, principal: Principal = Depends(who)
) -> dict[str, Any]:
    return await _unsubscribe(request, token, principal)


@router.post(
    "/subscriptions/unsubscribe",
    response_model=SubscriptionOut,
    summary="Unsubscribe / Berhenti berlangganan",
)
async def unsubscribe(
    request: Request, token: Token, principal: Principal = Depends(who)
) -> dict[str, Any]:
    return await _unsubscribe(request, token, principal)


@router.get(
    "/subscriptions/me",
    response_model=SubscriptionOut,
    summary="My subscription, without contacts / Langganan saya, tanpa kontak",
)
async def me(request: Request, token: Token) -> dict[str, Any]:
    return await call(request, _me, token)
