"""The FastAPI application of :mod:`tangguh.web` (imported lazily by the package)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any

from fastapi import FastAPI

from tangguh import __version__
from tangguh.bank import open_bank, resolve_bank_url
from tangguh.errors import InputError
from tangguh.web import problems
from tangguh.web._context import Settings, WebContext
from tangguh.web._store import Catalogue, make_source

__all__ = ["create_app", "create_app_from_env"]

#: Environment variable carrying JSON-free settings for worker processes (see _serve).
_ENV_PREFIX = "TANGGUH_WEB_"


def _settings(values: dict[str, Any]) -> Settings:
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(
            f"unknown web settings {unknown}",
            where="create_app(**settings)",
            hint=f"use {sorted(known)}",
            message_id=f"pengaturan web tidak dikenal: {unknown}",
            hint_id=f"gunakan {sorted(known)}",
        )
    settings = Settings(**values)
    if settings.default_limit < 1 or settings.max_limit < settings.default_limit:
        raise InputError(
            "need 1 <= default_limit <= max_limit",
            where="create_app(default_limit=, max_limit=)",
            message_id="harus 1 <= default_limit <= max_limit",
        )
    if settings.threads < 1:
        raise InputError(
            "threads must be at least 1",
            where="create_app(threads=)",
            message_id="threads paling sedikit 1",
        )
    return settings


def create_app(bank_url: str | None = None, **settings: Any) -> FastAPI:
    """A FastAPI app serving the bank at ``bank_url`` (default: ``$TANGGUH_BANK``,
    then ``tangguh.gpkg``).

    ``settings`` are the fields of :class:`Settings` (``title``, ``default_limit``,
    ``max_limit``, ``threads``, ``catalogue_ttl``, ``base_url``). The bank must exist
    (``tangguh demo`` or ``tangguh import`` first); it is closed when the app shuts down.
    """
    cfg = _settings(settings)
    url = resolve_bank_url(bank_url)
    bank = open_bank(url, create=False)
    catalogue = Catalogue(bank, ttl=cfg.catalogue_ttl)
    ctx = WebContext(
        bank=bank,
        bank_url=url,
        catalogue=catalogue,
        source=make_source(bank, url, catalogue),
        settings=cfg,
        executor=ThreadPoolExecutor(max_workers=cfg.threads, thread_name_prefix="tangguh-web"),
    )
    catalogue.all()  # fail early on an old schema or an unreachable database

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            ctx.close()

    app = FastAPI(
        title=cfg.title,
        version=__version__,
        description="Open data of the Tangguh resilience data bank: OGC API – Features over "
        "every catalogue layer. / Data terbuka bank data Tangguh: OGC API – Features untuk "
        "setiap lapisan katalog.",
        openapi_url=None,  # the OpenAPI 3.0 document is served at /api
        docs_url=None,  # Swagger UI / ReDoc load scripts from a CDN: not offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.openapi_version = "3.0.3"
    app.state.tangguh = ctx
    problems.install(app)
    from tangguh.web import api, ui
    from tangguh.web.features import router

    api.install(app)  # JSON API, auth and roles under /api/v1
    ui.install(app)  # operators' dashboard and citizens' portal
    app.include_router(router)
    return app


def create_app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` / several worker processes.

    Reads the bank from ``TANGGUH_BANK`` and settings from ``TANGGUH_WEB_<NAME>``
    (e.g. ``TANGGUH_WEB_THREADS=8``).
    """
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = os.environ.get(_ENV_PREFIX + f.name.upper())
        if raw is None:
            continue
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
        if kind.startswith("int"):
            values[f.name] = int(raw)
        elif kind.startswith("float"):
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    return create_app(os.environ.get("TANGGUH_BANK"), **values)
