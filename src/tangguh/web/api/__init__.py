"""Web api (being built; see docs/architecture.md)."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add this part's routes to app."""
