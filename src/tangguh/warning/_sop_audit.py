"""The audit log of the SOP module: who did what, when, to which object.

Every write of :mod:`tangguh.warning.sop` calls :func:`write_audit` on the connection of
its own transaction, so the change and its audit row commit (or roll back) together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from tangguh.bank.base import Bank
from tangguh.errors import InputError
from tangguh.warning.tables.sop import tg_audit

__all__ = ["AuditEntry", "audit_log", "check_actor", "write_audit"]


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    incident_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "incident_id": self.incident_id,
            "detail": self.detail,
        }


def check_actor(actor: str) -> str:
    """Return ``actor`` stripped, or raise when it is empty or too long."""
    text = (actor or "").strip()
    if not text or len(text) > 128:
        raise InputError(
            f"invalid actor {actor!r}: give who does this (1-128 characters)",
            message_id=f"pelaku {actor!r} tidak sah: sebutkan siapa pelakunya (1-128 karakter)",
            where="actor",
            hint="pass --actor NAME (default: $USER)",
            hint_id="berikan --actor NAMA (bawaan: $USER)",
        )
    return text


def write_audit(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    incident_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row on ``conn`` (the caller's transaction)."""
    conn.execute(
        insert(tg_audit).values(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            incident_id=incident_id,
            detail=detail or {},
        )
    )


def audit_log(bank: Bank, object_id: str | None = None) -> list[AuditEntry]:
    """Audit rows in the order they were written.

    Parameters
    ----------
    object_id:
        Only rows about this object; for an incident id this includes the rows of its
        tasks. ``None`` gives the whole log.
    """
    query = select(tg_audit).order_by(tg_audit.c.seq)
    if object_id is not None:
        query = query.where(
            or_(tg_audit.c.object_id == object_id, tg_audit.c.incident_id == object_id)
        )
    with bank.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        AuditEntry(
            seq=int(r["seq"]),
            at=r["at"],
            actor=r["actor"],
            action=r["action"],
            object_type=r["object_type"],
            object_id=r["object_id"],
            incident_id=r["incident_id"],
            detail=dict(r["detail"] or {}),
        )
        for r in rows
    ]
