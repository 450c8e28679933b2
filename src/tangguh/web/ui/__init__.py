"""The operators' dashboard (``/dashboard``) and the citizens' portal (``/portal``, a PWA).

Both are static pages (plain ES modules, Leaflet vendored under ``static/vendor``; no
build step, no CDN) that talk to the JSON API (``/api/v1``) and OGC API – Features
(``/collections``). This package adds only what the pages need besides those APIs:

- ``GET /dashboard``, ``GET /portal``: the pages (HTML);
- ``GET /portal/manifest.webmanifest``, ``GET /portal/sw.js``: the PWA manifest and
  service worker (scope ``/portal``);
- ``GET /dashboard/snapshot``: gauges (Siaga level, latest reading, 48 h history) and
  issued alerts, public data only (:mod:`tangguh.web.ui._live`);
- ``GET /dashboard/live``: the same snapshot as Server-Sent Events, pushed again
  whenever a reading, a Siaga level or an alert changes;
- ``/static/ui/...``: the scripts, styles, icons and strings (``i18n.js``).

See docs/web-ui.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from tangguh import __version__
from tangguh.web._context import context
from tangguh.web.ui import _live

__all__ = ["STATIC", "install", "manifest"]

#: Directory of the pages' files (served at ``/static/ui``).
STATIC = Path(__file__).parent / "static"
#: Seconds between checks of the bank for changes by each live stream.
LIVE_INTERVAL = 1.0

_NO_CACHE = {"Cache-Control": "no-cache"}


def manifest() -> dict[str, Any]:
    """The portal's Web App Manifest (installable PWA)."""
    return {
        "name": "Tangguh — Siaga Banjir Jakarta",
        "short_name": "Tangguh",
        "description": "Cek risiko, langganan peringatan dan lapor banjir / "
        "Check your risk, subscribe to alerts and report floods",
        "lang": "id",
        "start_url": "/portal",
        "scope": "/portal",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5394",
        "icons": [
            {
                "src": "/static/ui/icons/icon-192.png",
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any maskable",
            },
            {
                "src": "/static/ui/icons/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any maskable",
            },
        ],
    }


def _page(name: str) -> HTMLResponse:
    text = (STATIC / name).read_text(encoding="utf-8").replace("{{version}}", __version__)
    return HTMLResponse(text, headers=_NO_CACHE)


def install(app: FastAPI) -> None:
    """Add the dashboard, the portal, their live feed and static files to ``app``."""
    ctx = app.state.tangguh
    ctx.landing_links.extend(
        [
            {
                "rel": "related",
                "type": "text/html",
                "title": "Operators' dashboard / Dasbor operator",
                "href": "/dashboard",
            },
            {
                "rel": "related",
                "type": "text/html",
                "title": "Citizens' portal / Portal warga",
                "href": "/portal",
            },
        ]
    )
    app.mount("/static/ui", StaticFiles(directory=STATIC), name="ui-static")

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        return _page("dashboard.html")

    @app.get("/dashboard/services", include_in_schema=False)
    async def dashboard_services() -> HTMLResponse:
        return _page("services.html")

    @app.get("/dashboard/reports", include_in_schema=False)
    async def dashboard_reports() -> HTMLResponse:
        return _page("reports.html")

    @app.get("/dashboard/connectivity", include_in_schema=False)
    async def dashboard_connectivity() -> HTMLResponse:
        return _page("connectivity.html")

    @app.get("/portal", include_in_schema=False)
    async def portal() -> HTMLResponse:
        return _page("portal.html")

    @app.get("/portal/manifest.webmanifest", include_in_schema=False)
    async def portal_manifest() -> Response:
        return Response(
            json.dumps(manifest(), ensure_ascii=False),
            media_type="application/manifest+json",
            headers=_NO_CACHE,
        )

    @app.get("/portal/sw.js", include_in_schema=False)
    async def portal_worker() -> Response:
        text = (STATIC / "sw.js").read_text(encoding="utf-8").replace("{{version}}", __version__)
        return Response(
            text,
            media_type="text/javascript",
            headers={**_NO_CACHE, "Service-Worker-Allowed": "/portal"},
        )

    @app.get("/dashboard/snapshot", include_in_schema=False)
    async def dashboard_snapshot(request: Request) -> JSONResponse:
        web = context(request)
        data = await web.run(_live.snapshot, web.bank)
        return JSONResponse(data, headers=_NO_CACHE)

    @app.get("/dashboard/live", include_in_schema=False)
    async def dashboard_live(request: Request) -> StreamingResponse:
        web = context(request)
        return StreamingResponse(
            _live.stream(web, request.is_disconnected, interval=LIVE_INTERVAL),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
