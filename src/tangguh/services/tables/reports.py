"""Tables of services/reports.py (created by migration 8)."""

from __future__ import annotations

from sqlalchemy import Table

__all__ = ["TABLES"]

TABLES: list[Table] = []
