"""Tables of the connectivity evacuate stage (created by migration 9)."""

from __future__ import annotations

from sqlalchemy import Table

__all__ = ["TABLES"]

TABLES: list[Table] = []
