"""Tables of the warning stage 'obs' (created by migration 5)."""

from __future__ import annotations

from sqlalchemy import Table

from tangguh.bank import _schema as S  # noqa: F401  (tables register on S.metadata)

__all__ = ["TABLES"]

TABLES: list[Table] = []
