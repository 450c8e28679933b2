"""`tangguh services …`: basic services layers and coverage indicators."""

from __future__ import annotations

import typer

__all__ = ["register", "services_app"]

services_app = typer.Typer(
    help="Basic services: water, sanitation and waste coverage per unit / "
    "Layanan dasar: cakupan air bersih, sanitasi dan sampah per wilayah",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``services`` command group to ``app``."""
    app.add_typer(services_app, name="services")
