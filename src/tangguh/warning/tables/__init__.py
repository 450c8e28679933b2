"""Tables of the warning chain, one module per stage; migration 5 creates them all."""

from __future__ import annotations

from sqlalchemy import Table

from tangguh.warning.tables import alerts, delivery, obs, rules, sop

__all__ = ["TABLES"]

TABLES: list[Table] = [*obs.TABLES, *rules.TABLES, *alerts.TABLES, *delivery.TABLES, *sop.TABLES]
