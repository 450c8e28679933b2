"""What every web router shares: the bank, the catalogue, the fast source, settings."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request

from tangguh.bank import Bank
from tangguh.web._store import Catalogue, Collection, FeatureSource

__all__ = ["Settings", "WebContext", "context"]

T = TypeVar("T")

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]


@dataclass
class Settings:
    """Server settings (``create_app(**settings)``).

    title:           API title on the landing page and in /api.
    default_limit:   items per page when ``limit`` is not given (OGC default 10).
    max_limit:       largest page; a larger ``limit`` is clamped to it (not an error).
    threads:         worker threads (and so database connections) for queries.
    catalogue_ttl:   seconds the catalogue is cached (new layers appear after this).
    base_url:        public URL of the server for links (default: from the request).
    """

    title: str = "Tangguh open data / Data terbuka Tangguh"
    default_limit: int = 10
    max_limit: int = 10_000
    threads: int = 8
    catalogue_ttl: float = 5.0
    base_url: str | None = None


@dataclass
class WebContext:
    """Shared state of the app (``app.state.tangguh``); other routers use it too."""

    bank: Bank
    bank_url: str
    catalogue: Catalogue
    source: FeatureSource
    settings: Settings
    executor: ThreadPoolExecutor
    #: Conformance classes; a router adding an OGC API part appends its URIs here.
    conformance: list[str] = field(default_factory=lambda: list(CONFORMANCE))
    #: Extra landing-page links (dicts with rel, type, title, href relative to the root).
    landing_links: list[dict[str, str]] = field(default_factory=list)

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (database, GEOS, GDAL) on the worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    async def collection(self, collection_id: str) -> Collection:
        """A catalogue collection (404 NotFoundError if unknown); no thread hop when the
        cached catalogue is fresh."""
        if self.catalogue.fresh:
            return self.catalogue.get(collection_id)
        return await self.run(self.catalogue.get, collection_id)

    def base(self, request: Request) -> str:
        return (self.settings.base_url or str(request.base_url)).rstrip("/")

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.source.close()
        self.bank.close()


def context(request: Request) -> WebContext:
    """The :class:`WebContext` of the app serving ``request``."""
    ctx: WebContext = request.app.state.tangguh
    return ctx
