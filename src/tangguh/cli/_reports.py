"""`tangguh reports …`: citizen reports and their lifecycle."""

from __future__ import annotations

import typer

__all__ = ["register", "reports_app"]

reports_app = typer.Typer(
    help="Citizen reports: review, assign, resolve, SLA / "
    "Laporan warga: verifikasi, penugasan, penyelesaian, SLA",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``reports`` command group to ``app``."""
    app.add_typer(reports_app, name="reports")
