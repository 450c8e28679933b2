"""Tables of the web layer: users, keys, tokens, citizen reports, RW flood states, audit.

Created by migration 7 (see ``tangguh.bank.migrations``).
"""

from __future__ import annotations

from sqlalchemy import Table

from tangguh.bank import _schema as S  # noqa: F401  (tables register on S.metadata)

__all__ = ["TABLES"]

TABLES: list[Table] = []
