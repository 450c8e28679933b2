"""Log in (OAuth2 password flow), self-registration of citizens, who am I.

``POST auth/token`` takes the standard form (``grant_type=password``, ``username``,
``password``; ``application/x-www-form-urlencoded``) and returns a bearer token valid
for ``TANGGUH_WEB_TOKEN_MINUTES`` (default 480). Wrong credentials are a 401
problem+json (no hint whether the user exists). Login and registration are rate-limited
per client address like the other public writes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request

from tangguh.errors import InputError
from tangguh.web._context import context
from tangguh.web.api._core import (
    api_state,
    call,
    limited,
    mark_write,
    unauthorized,
    who,
    write,
)
from tangguh.web.api._models import MeOut, RegisterIn, TokenOut, UserOut
from tangguh.web.api.security import (
    Principal,
    add_user,
    check_login,
    find_login,
    hash_password,
    issue_token,
)

__all__ = ["router"]

router = APIRouter(tags=["auth"])

_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    },
    "responses": {
        "401": {"description": "Wrong username or password"},
        "429": {"description": "Too many attempts from this address"},
    },
}


def _form_error(what: str, what_id: str) -> InputError:
    return InputError(
        what,
        where="body",
        hint="send application/x-www-form-urlencoded: grant_type=password&username=…&password=…",
        message_id=what_id,
        hint_id="kirim application/x-www-form-urlencoded: "
        "grant_type=password&username=…&password=…",
    )


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="Log in: OAuth2 password flow / Masuk: alur kata sandi OAuth2",
    dependencies=[Depends(limited("login"))],
    openapi_extra=_FORM_DOC,
)
async def token(request: Request) -> dict[str, Any]:
    mark_write(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise _form_error(
            "the login form must be application/x-www-form-urlencoded",
            "formulir masuk harus application/x-www-form-urlencoded",
        )
    raw = await request.body()
    if len(raw) > 4096:
        raise _form_error("the login form is too long", "formulir masuk terlalu panjang")
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _form_error("unreadable login form", "formulir masuk tidak terbaca") from exc
    grant = form.get("grant_type", ["password"])[0]
    username = form.get("username", [""])[0]
    password = form.get("password", [""])[0]
    if grant != "password":
        raise _form_error(
            f"unsupported grant_type {grant!r}", f"grant_type {grant!r} tidak didukung"
        )
    if not username or not password:
        raise _form_error("give username and password", "berikan username dan password")
    request.state.tangguh_object = username[:64]
    found = await call(request, find_login, username)
    user = await context(request).run(check_login, found, password)
    if user is None:
        raise unauthorized("wrong username or password", "nama pengguna atau kata sandi salah")
    st = api_state(request)
    principal = Principal("user", user.role, user.user_id, user.username)
    request.state.tangguh_principal = principal
    tok, _expires = await write(
        request,
        principal,
        lambda bank: issue_token(bank, user, ttl=st.token_ttl),
        object_id=user.username,
    )
    return {
        "access_token": tok,
        "token_type": "bearer",
        "expires_in": int(st.token_ttl.total_seconds()),
        "role": user.role,
    }


@router.post(
    "/auth/register",
    response_model=UserOut,
    status_code=201,
    summary="Register as a citizen / Daftar sebagai warga",
    description="Creates a user with role citizen (report floods). Rate-limited.",
    dependencies=[Depends(limited("register"))],
)
async def register(
    request: Request, body: RegisterIn, principal: Principal = Depends(who)
) -> dict[str, Any]:
    digest = await context(request).run(hash_password, body.password)
    user = await write(
        request,
        principal,
        lambda bank: add_user(
            bank,
            body.username,
            body.password,
            role="citizen",
            created_by="self-registration",
            password_hash=digest,
        ),
        object_id=body.username,
        status=201,
    )
    return user.to_json()


@router.get("/auth/me", response_model=MeOut, summary="Who am I / Siapa saya")
async def me(principal: Principal = Depends(who)) -> dict[str, Any]:
    return {"kind": principal.kind, "role": principal.role, "name": principal.name}
