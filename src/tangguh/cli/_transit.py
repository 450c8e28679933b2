"""`tangguh transit …`: GTFS and rail stations import, stops, departures."""

from __future__ import annotations

import typer

__all__ = ["register", "transit_app"]

transit_app = typer.Typer(
    help="Transit: GTFS, stops, access (SDG 11.2.1), TOD / "
    "Transportasi umum: GTFS, halte, akses (SDG 11.2.1), TOD",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``transit`` command group to ``app``."""
    app.add_typer(transit_app, name="transit")
