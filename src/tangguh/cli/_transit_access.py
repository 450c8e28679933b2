"""`tangguh transit access|tod|network …`: SDG 11.2.1 and TOD scores."""

from __future__ import annotations

import typer

from tangguh.cli._transit import transit_app  # noqa: F401  (commands attach here)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Commands of this module are added to ``transit_app`` (see ``_transit``)."""
    del app  # commands attach to transit_app at import
