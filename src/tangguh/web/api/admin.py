"""Administration (admin role): users, API keys, the web audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from tangguh.bank import Bank
from tangguh.web._context import context
from tangguh.web.api._core import call, iso, parse_time, require, write
from tangguh.web.api._models import AuditOut, KeyCreated, KeyIn, KeyOut, UserIn, UserOut
from tangguh.web.api.security import (
    Principal,
    add_user,
    create_key,
    hash_password,
    list_keys,
    list_users,
    revoke_key,
)
from tangguh.web.tables import tg_web_audit

__all__ = ["audit_log", "router"]

router = APIRouter(tags=["admin"])
Admin = Depends(require("admin"))


def audit_log(
    bank: Bank,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    outcome: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Rows of the web audit log, newest first."""
    a = tg_web_audit
    query = select(a).order_by(a.c.seq.desc()).limit(limit)
    if since is not None:
        query = query.where(a.c.t >= since)
    if actor is not None:
        query = query.where(a.c.actor == actor)
    if outcome is not None:
        query = query.where(a.c.outcome == outcome)
    with bank.connect() as conn:
        return [{k: iso(v) for k, v in r.items()} for r in conn.execute(query).mappings()]


def _users(bank: Bank) -> list[dict[str, Any]]:
    return [u.to_json() for u in list_users(bank)]


def _keys(bank: Bank) -> list[dict[str, Any]]:
    return [k.to_json() for k in list_keys(bank)]


@router.get("/admin/users", response_model=list[UserOut], summary="Users / Pengguna (admin)")
async def users(request: Request, principal: Principal = Admin) -> list[dict[str, Any]]:
    return await call(request, _users)


@router.post(
    "/admin/users",
    response_model=UserOut,
    status_code=201,
    summary="Create a user / Buat pengguna (admin)",
)
async def create_user(
    request: Request, body: UserIn, principal: Principal = Admin
) -> dict[str, Any]:
    digest = await context(request).run(hash_password, body.password)
    user = await write(
        request,
        principal,
        lambda bank: add_user(
            bank,
            body.username,
            body.password,
            role=body.role,
            created_by=principal.actor,
            password_hash=digest,
        ),
        object_id=body.username,
        status=201,
    )
    return user.to_json()


@router.get("/admin/keys", response_model=list[KeyOut], summary="API keys / Kunci API (admin)")
async def keys(request: Request, principal: Principal = Admin) -> list[dict[str, Any]]:
    return await call(request, _keys)


@router.post(
    "/admin/keys",
    response_model=KeyCreated,
    status_code=201,
    summary="Create an API key (shown once) / Buat kunci API (ditampilkan sekali) (admin)",
)
async def new_key(request: Request, body: KeyIn, principal: Principal = Admin) -> dict[str, Any]:
    record, secret = await write(
        request,
        principal,
        lambda bank: create_key(bank, body.label, role=body.role, created_by=principal.actor),
        object_id=lambda r: r[0].key_id,
        status=201,
    )
    return {**record.to_json(), "key": secret}


@router.delete(
    "/admin/keys/{key_id}",
    response_model=KeyOut,
    summary="Revoke an API key / Cabut kunci API (admin)",
)
async def delete_key(request: Request, key_id: str, principal: Principal = Admin) -> dict[str, Any]:
    record = await write(
        request, principal, lambda bank: revoke_key(bank, key_id), object_id=key_id
    )
    return record.to_json()


@router.get(
    "/admin/audit",
    response_model=list[AuditOut],
    summary="Audit log of API writes / Log audit penulisan API (admin)",
)
async def audit(
    request: Request,
    since: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=190)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    principal: Principal = Admin,
) -> list[dict[str, Any]]:
    start = parse_time(since, "since")
    return await call(request, audit_log, since=start, actor=actor, outcome=outcome, limit=limit)
