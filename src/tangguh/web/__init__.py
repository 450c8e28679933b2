"""Tangguh's web server: FastAPI over a bank (embedded GeoPackage or PostGIS).

>>> from tangguh.web import create_app
>>> app = create_app("demo.gpkg")          # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000)

:func:`create_app` opens the bank and mounts OGC API – Features (:mod:`tangguh.web.features`)
at the root; errors are RFC 7807 problem+json (:mod:`tangguh.web.problems`). Later
routers (JSON API, dashboard, portal) plug in with ``app.include_router(...)`` and reach
the shared state through :func:`tangguh.web._context.context` (bank, catalogue, worker
threads); they can add landing-page links (``ctx.landing_links``) and conformance
classes (``ctx.conformance``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tangguh.web._app import create_app, create_app_from_env
    from tangguh.web._context import Settings, WebContext, context

__all__ = ["Settings", "WebContext", "context", "create_app", "create_app_from_env"]

# FastAPI is imported only when the web app is used: opening a bank imports
# ``tangguh.web.tables`` (migration 7), and a CLI import should not pay for the server.
_LAZY = {
    "create_app": "tangguh.web._app",
    "create_app_from_env": "tangguh.web._app",
    "Settings": "tangguh.web._context",
    "WebContext": "tangguh.web._context",
    "context": "tangguh.web._context",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tangguh.web' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
