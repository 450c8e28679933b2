"""JSON API: transit endpoints (see docs/architecture.md)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["transit"])
