"""`tangguh services refresh|runs|changes|trend|sources …`: scheduled refresh with history."""

from __future__ import annotations

import typer

from tangguh.cli._services import services_app  # noqa: F401  (commands attach here)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Commands of this module are added to ``services_app`` (see ``_services``)."""
    del app  # commands attach to services_app at import
