"""Tables of the warning stage 'sop' (created by migration 5).

Agencies, versioned playbooks, incidents, their tasks, the alert versions each incident
has seen, and the audit log. Every write of :mod:`tangguh.warning.sop` adds a
``tg_audit`` row in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from tangguh.bank import _schema as S

__all__ = [
    "TABLES",
    "tg_agency",
    "tg_audit",
    "tg_incident",
    "tg_incident_alert",
    "tg_playbook",
    "tg_task",
]

tg_agency = Table(
    "tg_agency",
    S.metadata,
    Column("code", String(64), primary_key=True),
    Column("name_id", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("short_id", String(128)),
    Column("short_en", String(128)),
    Column("kind", String(64)),
    Column("parent", String(64)),
    Column("updated", S.UTCInstant, nullable=False),
)

#: One row per (version, hazard, level). A version is a complete set of playbooks; an
#: import of a file replaces the hazards it defines and carries the others over.
tg_playbook = Table(
    "tg_playbook",
    S.metadata,
    Column("version", Integer, nullable=False),
    Column("hazard", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column("title_id", Text),
    Column("title_en", Text),
    #: list of task dicts (id, title_id, title_en, agency, deadline_minutes, checklist…)
    Column("tasks", S._JSON, nullable=False),
    #: list of template dicts with the message texts resolved (channel, key, text_id, text_en)
    Column("templates", S._JSON, nullable=False),
    Column("source", Text),
    Column("digest", String(64), nullable=False),
    Column("imported", S.UTCInstant, nullable=False),
    Column("actor", String(128)),
    PrimaryKeyConstraint("version", "hazard", "level"),
)

tg_incident = Table(
    "tg_incident",
    S.metadata,
    Column("incident_id", String(64), primary_key=True),
    Column("hazard", String(64), nullable=False),
    #: most severe Siaga level reached (1 highest); drives which tasks exist
    Column("level", Integer, nullable=False),
    #: level of the latest alert version seen
    Column("current_level", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened", S.UTCInstant, nullable=False),
    Column("closed", S.UTCInstant),
    Column("updated", S.UTCInstant, nullable=False),
    Column("station_id", String(128)),
    Column("alert_id", String(128)),
    Column("alert_status", String(32)),
    Column("unit_ids", S._JSON),
    Column("title_id", Text),
    Column("title_en", Text),
    Column("playbook_version", Integer),
    Column("close_note", Text),
    #: "<hazard>|<station_id>" while open, NULL once closed: at most one open incident
    #: per hazard and station, enforced by the database.
    Column("open_key", String(190), unique=True),
)

#: Which alert versions an incident has processed (idempotency of open_incident).
tg_incident_alert = Table(
    "tg_incident_alert",
    S.metadata,
    Column("alert_id", String(128), nullable=False),
    Column("alert_version", Integer, nullable=False),
    Column("incident_id", String(64), nullable=False, index=True),
    Column("msg_type", String(16)),
    Column("level", Integer),
    Column("at", S.UTCInstant, nullable=False),
    PrimaryKeyConstraint("alert_id", "alert_version"),
)

tg_task = Table(
    "tg_task",
    S.metadata,
    Column("task_id", String(190), primary_key=True),
    Column("incident_id", String(64), nullable=False, index=True),
    Column("playbook_task_id", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column("title_id", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("agency", String(64), nullable=False),
    Column("checklist", S._JSON),
    Column("due", S.UTCInstant, nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(128)),
    Column("created", S.UTCInstant, nullable=False),
    Column("assigned_at", S.UTCInstant),
    Column("acknowledged_at", S.UTCInstant),
    Column("done_at", S.UTCInstant),
    Column("cancelled_at", S.UTCInstant),
    Column("note", Text),
)

tg_audit = Table(
    "tg_audit",
    S.metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", S.UTCInstant, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(190), nullable=False),
    #: the incident the object belongs to (so an incident's log includes its tasks)
    Column("incident_id", String(64)),
    Column("detail", S._JSON),
)
Index("ix_tg_audit_object", tg_audit.c.object_id)
Index("ix_tg_audit_incident", tg_audit.c.incident_id)

TABLES: list[Table] = [tg_agency, tg_playbook, tg_incident, tg_incident_alert, tg_task, tg_audit]
