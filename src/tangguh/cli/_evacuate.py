"""`tangguh evacuate …` (routes to shelters) and `tangguh transit cascade` (flood cascade)."""

from __future__ import annotations

import typer

__all__ = ["evacuate_app", "register"]

evacuate_app = typer.Typer(
    help="Evacuation routes to shelters that avoid flooded roads / "
    "Rute evakuasi ke tempat pengungsian yang menghindari jalan tergenang",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``evacuate`` command group to ``app``."""
    app.add_typer(evacuate_app, name="evacuate")
