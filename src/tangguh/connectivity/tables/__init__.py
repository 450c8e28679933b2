"""Tables of connectivity, one module per part; migration 9 creates them all.

A module may define ``after_create(conn)``: called by :func:`upgrade` after the tables
exist (e.g. to copy rows from an older table).
"""

from __future__ import annotations

from sqlalchemy import Connection, Table

from tangguh.bank import _schema as S
from tangguh.connectivity.tables import access, evacuate, transit

__all__ = ["TABLES", "upgrade"]

_MODULES = (transit, access, evacuate)
TABLES: list[Table] = [t for module in _MODULES for t in module.TABLES]


def upgrade(conn: Connection) -> None:
    """Create every services table, then run each module's ``after_create`` hook."""
    S.metadata.create_all(conn, tables=TABLES)
    for module in _MODULES:
        hook = getattr(module, "after_create", None)
        if hook is not None:
            hook(conn)
