"""The JSON API under ``/api/v1``: roles, auth, rate limits, audit, CORS.

Roles ``public < citizen < operator < admin``; bearer tokens (OAuth2 password flow at
``POST /api/v1/auth/token``) and API keys (``X-API-Key``); see docs/web-api.md for
every endpoint and who may call it. Each router module holds one resource:
:mod:`.units` (+ ``lookup``), :mod:`.riskat`, :mod:`.stations`, :mod:`.alerts`,
:mod:`.subscriptions`, :mod:`.reports`, :mod:`.analyses`, :mod:`.incidents`,
:mod:`.rwstates`, :mod:`.auth`, :mod:`.admin`; :mod:`.security` holds users, passwords
(scrypt), tokens and keys (also used by ``tangguh users`` / ``tangguh keys``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from tangguh.web._context import WebContext
from tangguh.web.api._core import PREFIX, install_core

__all__ = ["PREFIX", "install"]

_log = logging.getLogger("tangguh.web.api")


def _observations_router(ctx: WebContext) -> object | None:
    """Helper A's push endpoint (``POST /api/v1/observations``), if available."""
    try:
        from tangguh.warning import chain
        from tangguh.warning.http import observations_router
    except ImportError:  # pragma: no cover - the warning package is part of Tangguh
        _log.warning("tangguh.warning.http is not available: no POST /api/v1/observations")
        return None
    # A bank URL: the router opens its own bank per request, so its writes never share
    # the API's bank object across threads.
    return observations_router(ctx.bank_url, on_accepted=chain.on_accepted, prefix=PREFIX)


def install(app: FastAPI) -> None:
    """Mount the JSON API on ``app`` (called by :func:`tangguh.web.create_app`)."""
    from tangguh.warning import chain
    from tangguh.web.api import (
        admin,
        alerts,
        analyses,
        auth,
        evacuation,
        incidents,
        reports,
        riskat,
        rwstates,
        services,
        stations,
        subscriptions,
        transit,
        units,
    )

    install_core(app)
    chain.install_hooks()  # approving an alert queues deliveries and opens the incident
    for module in (
        units,
        riskat,
        stations,
        alerts,
        subscriptions,
        reports,
        analyses,
        incidents,
        rwstates,
        services,
        transit,
        evacuation,
        auth,
        admin,
    ):
        app.include_router(module.router, prefix=PREFIX)
    ctx: WebContext = app.state.tangguh
    obs = _observations_router(ctx)
    if obs is not None:
        from fastapi import APIRouter

        assert isinstance(obs, APIRouter)
        app.include_router(obs, tags=["stations"])
    ctx.landing_links.append(
        {
            "rel": "service",
            "type": "application/json",
            "title": "JSON API (units, stations, alerts, reports, …) / API JSON",
            "href": PREFIX + "/alerts",
        }
    )
