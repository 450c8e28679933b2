"""The data bank: one storage contract, two backends (GeoPackage, PostGIS)."""

from __future__ import annotations

import os
from pathlib import Path

from tangguh.bank.base import (
    RESULT_COLUMNS,
    THEMES,
    AnalysisRecord,
    Bank,
    LayerInfo,
    LayerMeta,
    VersionInfo,
    validate_layer_id,
)

__all__ = [
    "DEFAULT_BANK",
    "RESULT_COLUMNS",
    "THEMES",
    "AnalysisRecord",
    "Bank",
    "LayerInfo",
    "LayerMeta",
    "VersionInfo",
    "open_bank",
    "resolve_bank_url",
    "validate_layer_id",
]

#: Used when neither --bank nor TANGGUH_BANK is given.
DEFAULT_BANK = "tangguh.gpkg"


def resolve_bank_url(url: str | os.PathLike[str] | None = None) -> str:
    """The bank URL to use: ``url``, else ``$TANGGUH_BANK``, else ``tangguh.gpkg``."""
    if url:
        return str(url)
    return os.environ.get("TANGGUH_BANK") or DEFAULT_BANK


def open_bank(url: str | os.PathLike[str] | None = None, *, create: bool = True) -> Bank:
    """Open (or create) a bank.

    ``postgresql://…`` (or ``postgres://``) opens a PostGIS bank (an optional
    ``?schema=NAME`` keeps its tables in that schema); a path or ``gpkg://path`` opens a
    GeoPackage file.
    """
    target = resolve_bank_url(url)
    if target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from tangguh.bank.postgis import PostgisBank

        return PostgisBank(target, create=create)
    if target.startswith("gpkg://"):
        target = target[len("gpkg://") :]
    from tangguh.bank.gpkg import GpkgBank

    return GpkgBank(Path(target), create=create)
