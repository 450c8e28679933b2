"""Plumbing shared by the JSON API routers: errors, state, roles, audit, rate limits.

- :class:`ApiError` — a Tangguh error with an HTTP status (401, 403, 409, 413, 415,
  429) rendered as bilingual problem+json like every other error.
- :class:`ApiState` (``app.state.tangguh_api``) — the lock serialising bank work of
  the API (a ``Bank`` object is not thread-safe: it keeps the open transaction on the
  instance), the rate limiter, token lifetime, caches.
- :func:`who` / :func:`require` — FastAPI dependencies resolving the caller from
  ``Authorization: Bearer …`` or ``X-API-Key`` and enforcing a minimum role.
- :func:`write` — run a write in one bank transaction together with its audit row.
- :class:`AuditMiddleware` — records the writes that did not reach :func:`write`
  (refused, failed, rate-limited) in a separate transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import Connection, insert, select
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tangguh.bank import Bank
from tangguh.errors import InputError, TangguhError
from tangguh.web import problems
from tangguh.web._context import WebContext, context
from tangguh.web.api.security import ANONYMOUS, Principal, principal_for_key, principal_for_token
from tangguh.web.tables import tg_web_audit, tg_web_secret

__all__ = [
    "PREFIX",
    "ApiError",
    "ApiState",
    "RateLimiter",
    "api_state",
    "call",
    "parse_time",
    "require",
    "who",
    "write",
]

T = TypeVar("T")
PREFIX = "/api/v1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiError(TangguhError):
    """A refused request with its HTTP status (and optional response headers)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        message_id: str,
        where: str | None = None,
        hint: str | None = None,
        hint_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, where=where, hint=hint, message_id=message_id, hint_id=hint_id)
        self.status = status
        self.headers = headers or {}


#: Indonesian titles of the statuses ``tangguh.web.problems`` has no title for.
_TITLES_ID = {
    401: "Perlu autentikasi",
    403: "Dilarang",
    409: "Konflik",
    413: "Permintaan terlalu besar",
    415: "Jenis media tidak didukung",
    429: "Terlalu banyak permintaan",
}


def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    response = problems.problem_response(
        exc.status,
        exc.message,
        detail_id=exc.message_id,
        instance=request.url.path,
        where=exc.where,
        hint=exc.hint,
        hint_id=exc.hint_id,
        headers=exc.headers or None,
    )
    body = json.loads(bytes(response.body))
    body["title_id"] = _TITLES_ID.get(exc.status, body["title_id"])
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=exc.status,
        media_type=problems.PROBLEM_JSON,
        headers=exc.headers or None,
    )


def unauthorized(reason: str, reason_id: str) -> ApiError:
    return ApiError(
        401,
        reason,
        message_id=reason_id,
        where="Authorization",
        hint="log in at POST /api/v1/auth/token and send 'Authorization: Bearer <token>', "
        "or send an API key in 'X-API-Key'",
        hint_id="masuk lewat POST /api/v1/auth/token lalu kirim 'Authorization: Bearer "
        "<token>', atau kirim kunci API di 'X-API-Key'",
        headers={"WWW-Authenticate": 'Bearer realm="tangguh"'},
    )


# -- rate limits ---------------------------------------------------------------------


@dataclass
class RateLimiter:
    """Token buckets per (bucket, client address), in memory, per server process.

    Each bucket holds up to ``burst`` requests and refills at ``per_minute`` requests a
    minute. With several worker processes each has its own buckets (so the effective
    limit is multiplied by the number of workers).
    """

    burst: float = 10.0
    per_minute: float = 10.0
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, bucket: str, client: str) -> float:
        """Take one request; return 0 when allowed, else the seconds until one is."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get((bucket, client), (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[(bucket, client)] = (tokens - 1.0, now)
                if len(self._buckets) > 50_000:
                    self._prune(now, rate)
                return 0.0
            self._buckets[(bucket, client)] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 3600.0

    def _prune(self, now: float, rate: float) -> None:
        full = [
            k for k, (tok, last) in self._buckets.items() if tok + (now - last) * rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise InputError(
            f"{name}={raw!r} is not a positive number",
            where=name,
            hint=f"e.g. {name}={default:g}",
            message_id=f"{name}={raw!r} bukan bilangan positif",
            hint_id=f"mis. {name}={default:g}",
        )
    return value


@dataclass
class ApiState:
    """State of the JSON API in one app (``app.state.tangguh_api``)."""

    limiter: RateLimiter
    token_ttl: timedelta
    cors_origins: list[str]
    lock: threading.RLock = field(default_factory=threading.RLock)
    audit_key: bytes | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    #: Largest request body (bytes) of a write that is not multipart (JSON, forms).
    max_body: int = 1_048_576

    @classmethod
    def from_env(cls) -> ApiState:
        """Settings from the environment (see docs/web-api.md)."""
        limiter = RateLimiter(
            burst=_env_float("TANGGUH_WEB_RATE_BURST", 10.0),
            per_minute=_env_float("TANGGUH_WEB_RATE_PER_MINUTE", 10.0),
        )
        minutes = _env_float("TANGGUH_WEB_TOKEN_MINUTES", 480.0)
        origins = [
            o.strip()
            for o in os.environ.get("TANGGUH_WEB_CORS_ORIGINS", "").split(",")
            if o.strip()
        ]
        max_body = int(_env_float("TANGGUH_WEB_MAX_BODY_BYTES", 1_048_576.0))
        return cls(
            limiter=limiter,
            token_ttl=timedelta(minutes=minutes),
            cors_origins=origins,
            max_body=max_body,
        )


def api_state(request: Request) -> ApiState:
    st: ApiState = request.app.state.tangguh_api
    return st


async def call(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking bank work on a worker thread, one API bank call at a time."""
    ctx = context(request)
    st = api_state(request)

    def work() -> T:
        with st.lock:
            return fn(ctx.bank, *args, **kwargs)

    return await ctx.run(work)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _audit_key(st: ApiState, conn: Connection) -> bytes:
    if st.audit_key is None:
        value = conn.execute(
            select(tg_web_secret.c.value).where(tg_web_secret.c.name == "audit_ip_key")
        ).scalar()
        if value is None:
            value = secrets.token_hex(32)
            conn.execute(insert(tg_web_secret).values(name="audit_ip_key", value=value))
        st.audit_key = str(value).encode()
    return st.audit_key


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "error"
    return "rejected"


def audit_row(
    conn: Connection,
    st: ApiState,
    *,
    principal: Principal,
    ip: str,
    method: str,
    path: str,
    object_id: str | None,
    status: int,
) -> None:
    """Append one row to the web audit log on ``conn`` (the caller's transaction)."""
    key = _audit_key(st, conn)
    conn.execute(
        _AUDIT_INSERT,
        {
            "t": datetime.now(UTC),
            "actor": principal.actor[:190],
            "role": principal.role,
            "ip_hash": hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:16],
            "method": method[:8],
            "path": path[:190],
            "object_id": None if object_id is None else str(object_id)[:190],
            "status": status,
            "outcome": _outcome(status),
        },
    )


#: The audit insert, built once (every API write runs it).
_AUDIT_INSERT = insert(tg_web_audit)


def mark_write(request: Request, object_id: str | None = None) -> None:
    """Declare this request a write (also a GET one, e.g. a confirm link) for the audit."""
    request.state.tangguh_write = True
    if object_id is not None:
        request.state.tangguh_object = object_id


async def write(
    request: Request,
    principal: Principal,
    fn: Callable[[Bank], T],
    *,
    object_id: str | Callable[[T], str | None] | None = None,
    status: int = 200,
) -> T:
    """Run ``fn(bank)`` and its audit row in one bank transaction."""
    ctx: WebContext = context(request)
    st = api_state(request)
    mark_write(request, object_id if isinstance(object_id, str) else None)
    ip = client_ip(request)
    method, path = request.method, request.url.path

    def work() -> T:
        with st.lock, ctx.bank.begin() as conn:
            result = fn(ctx.bank)
            oid = object_id(result) if callable(object_id) else object_id
            audit_row(
                conn,
                st,
                principal=principal,
                ip=ip,
                method=method,
                path=path,
                object_id=oid,
                status=status,
            )
            return result

    result = await ctx.run(work)
    request.state.tangguh_audited = True
    return result


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once a request body passes its limit."""


#: Extra room for a multipart body beyond its photo (form fields, part headers).
_MULTIPART_SLACK = 256 * 1024


class BodyLimitMiddleware:
    """Refuse API writes whose body is too large with a 413 problem, before reading it.

    JSON and form bodies may hold ``max_body`` bytes; multipart bodies (a report with
    its photo) the photo limit plus form fields. A declared ``Content-Length`` over the
    limit is refused at once; a chunked body is counted as it arrives and refused as
    soon as it passes the limit, so nothing of it is stored.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_multipart: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_multipart = max_multipart

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in WRITE_METHODS
            or not str(scope.get("path", "")).startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").lower()
        limit = self.max_multipart if ctype.startswith(b"multipart/") else self.max_body
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        over = False
        replaced = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _BodyTooLarge
            return message

        async def watch(message: Message) -> None:
            # The framework turns a failed body read into its own 400: send the 413.
            nonlocal replaced
            if not over:
                await send(message)
            elif not replaced and message["type"] == "http.response.start":
                replaced = True
                await self._refuse(scope, receive, send, limit)

        try:
            await self.app(scope, counted, watch)
        except _BodyTooLarge:
            if not replaced:
                await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problems.problem_response(
            413,
            f"the request body is larger than {limit:,} bytes",
            detail_id=f"isi permintaan lebih besar dari {limit:,} byte",
            instance=str(scope.get("path", "")),
            where="body",
            hint="send less data (photos: JPEG or PNG of at most 5 MB)",
            hint_id="kirim data lebih sedikit (foto: JPEG atau PNG paling besar 5 MB)",
        )
        scope.setdefault("state", {})["tangguh_write"] = True
        await response(scope, receive, send)


class AuditMiddleware:
    """Audit rows for API writes that ended without one (refused or failed).

    Pure ASGI, and a no-op for everything but writes under ``/api/v1``, so the OGC API
    reads pay nothing for it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            is_write = scope.get("method") in WRITE_METHODS or state.get("tangguh_write")
            if is_write and not state.get("tangguh_audited"):
                await self._record(scope, state, status["code"])

    async def _record(self, scope: Scope, state: dict[str, Any], code: int) -> None:
        app = scope["app"]
        ctx: WebContext = app.state.tangguh
        st: ApiState = app.state.tangguh_api
        principal = state.get("tangguh_principal") or ANONYMOUS
        client = scope.get("client")
        ip = client[0] if client else "unknown"

        def work() -> None:
            with st.lock, ctx.bank.begin() as conn:
                audit_row(
                    conn,
                    st,
                    principal=principal,
                    ip=ip,
                    method=str(scope.get("method", "")),
                    path=str(scope.get("path", "")),
                    object_id=state.get("tangguh_object"),
                    status=code,
                )

        try:
            await ctx.run(work)
        except Exception:  # the audit must never turn an answer into a crash
            problems._log.exception("could not write the web audit row")


# -- who is calling ------------------------------------------------------------------

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def who(
    request: Request,
    token: str | None = Depends(oauth2),
    key: str | None = Depends(api_key_header),
) -> Principal:
    """The caller: an API key, a bearer token, or anonymous (role public).

    A key or token that is sent but unknown, expired or revoked is a 401, never a
    silent downgrade to public.
    """
    principal = ANONYMOUS
    if key:
        found = await call(request, principal_for_key, key)
        if found is None:
            raise unauthorized("unknown or revoked API key", "kunci API tidak dikenal atau dicabut")
        principal = found
    elif token:
        found = await call(request, principal_for_token, token)
        if found is None:
            raise unauthorized(
                "invalid or expired bearer token",
                "token bearer tidak sah atau sudah kedaluwarsa",
            )
        principal = found
    elif request.headers.get("authorization"):
        raise unauthorized(
            "unsupported Authorization header (use 'Bearer <token>')",
            "header Authorization tidak didukung (gunakan 'Bearer <token>')",
        )
    request.state.tangguh_principal = principal
    return principal


_ROLE_ID = {"citizen": "warga", "operator": "operator", "admin": "admin"}


def require(role: str) -> Callable[..., Any]:
    """A dependency returning the caller if it has at least ``role`` (else 401/403)."""

    async def dependency(principal: Principal = Depends(who)) -> Principal:
        if principal.at_least(role):
            return principal
        if principal.kind == "anonymous":
            raise unauthorized(
                f"this needs a login with role {role} or higher",
                f"ini memerlukan login dengan peran {_ROLE_ID.get(role, role)} atau lebih tinggi",
            )
        raise ApiError(
            403,
            f"role {principal.role} may not do this; it needs {role} or higher",
            message_id=f"peran {principal.role} tidak boleh melakukan ini; perlu "
            f"{_ROLE_ID.get(role, role)} atau lebih tinggi",
            where=principal.actor,
            hint="ask an administrator for the right role",
            hint_id="minta peran yang sesuai kepada administrator",
        )

    dependency.__name__ = f"require_{role}"
    return dependency


async def rate_limit(request: Request, bucket: str) -> None:
    """Take one request from the caller's ``bucket``; 429 with Retry-After when empty."""
    wait = api_state(request).limiter.take(bucket, client_ip(request))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"too many requests to {bucket} from this address; retry in {seconds} s",
            message_id=f"terlalu banyak permintaan ke {bucket} dari alamat ini; coba lagi "
            f"dalam {seconds} detik",
            where=bucket,
            hint="wait before sending again",
            hint_id="tunggu sebelum mengirim lagi",
            headers={"Retry-After": str(seconds)},
        )


def limited(bucket: str) -> Callable[..., Any]:
    """A dependency applying the per-address rate limit of ``bucket``."""

    async def dependency(request: Request) -> None:
        await rate_limit(request, bucket)

    dependency.__name__ = f"rate_limit_{bucket}"
    return dependency


# -- small parsers -----------------------------------------------------------------------


def parse_time(value: str | None, where: str) -> datetime | None:
    """An ISO 8601 instant with a zone (or a date ``YYYY-MM-DD`` = its start in UTC)."""
    if value is None or value == "":
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        stamp = None
    if stamp is None:
        raise InputError(
            f"unreadable time {value!r}",
            where=where,
            hint="use ISO 8601 with a zone, e.g. 2024-02-01T07:00:00+07:00",
            message_id=f"waktu {value!r} tidak terbaca",
            hint_id="gunakan ISO 8601 dengan zona waktu, mis. 2024-02-01T07:00:00+07:00",
        )
    if stamp.tzinfo is None:
        if len(value.strip()) == 10:  # a date: its start in UTC
            return stamp.replace(tzinfo=UTC)
        raise InputError(
            f"time {value!r} has no time zone",
            where=where,
            hint="add a zone: Z or +07:00 (WIB)",
            message_id=f"waktu {value!r} tidak memiliki zona waktu",
            hint_id="tambahkan zona waktu: Z atau +07:00 (WIB)",
        )
    return stamp


def check_point(lon: float, lat: float) -> tuple[float, float]:
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (
        -180 <= lon <= 180 and -90 <= lat <= 90
    ):
        raise InputError(
            f"invalid point lon={lon}, lat={lat}",
            where="lon/lat",
            hint="longitude -180..180 first, latitude -90..90 second, e.g. lon=106.85&lat=-6.2",
            message_id=f"titik lon={lon}, lat={lat} tidak sah",
            hint_id="bujur -180..180 dahulu, lintang -90..90 kedua, mis. lon=106.85&lat=-6.2",
        )
    return lon, lat


def iso(value: Any) -> Any:
    """Datetimes as ISO 8601 text (for JSON)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def install_core(app: FastAPI) -> ApiState:
    """The API state, the ApiError handler and the audit middleware."""
    try:
        st = ApiState.from_env()
    except InputError:
        app.state.tangguh.close()  # create_app fails: do not leak the bank it opened
        raise
    app.state.tangguh_api = st
    app.add_exception_handler(ApiError, _api_error)
    from tangguh.web.api._images import MAX_PHOTO_BYTES

    app.add_middleware(
        BodyLimitMiddleware,
        max_body=st.max_body,
        max_multipart=max(st.max_body, MAX_PHOTO_BYTES + _MULTIPART_SLACK),
    )
    app.add_middleware(AuditMiddleware)  # outside the body limit: refusals are audited
    if st.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=st.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "Accept-Language"],
            expose_headers=["Retry-After", "Content-Crs"],
            allow_credentials=False,
            max_age=600,
        )
    return st
