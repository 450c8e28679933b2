"""Tables of the warning stage 'alerts' (created by migration 5).

- ``tg_alert``: one row per alert, holding its *current* version (what
  :class:`tangguh.warning.model.AlertRecord` shows).
- ``tg_alert_version``: every version of every alert, with the CAP XML that was built
  for it (XSD-validated before it was stored), who made it and who approved/issued it.
- ``tg_alert_event``: the audit trail: every state change (created, approved, issued,
  superseded, cancelled, expired, relayed) with actor and time.
- ``tg_alert_policy``: the bank's issue policy (see :class:`tangguh.warning.alerts.IssuePolicy`).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from tangguh.bank import _schema as S

__all__ = ["TABLES", "tg_alert", "tg_alert_event", "tg_alert_policy", "tg_alert_version"]

tg_alert = Table(
    "tg_alert",
    S.metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("identifier", String(190), nullable=False),
    Column("status", String(16), nullable=False),
    Column("msg_type", String(16), nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("level", Integer, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("certainty", String(16), nullable=False),
    Column("station_id", String(128)),
    Column("unit_ids", S._JSON, nullable=False),
    Column("headline_id", Text, nullable=False),
    Column("headline_en", Text, nullable=False),
    Column("description_id", Text, nullable=False),
    Column("description_en", Text, nullable=False),
    Column("instruction_id", Text, nullable=False),
    Column("instruction_en", Text, nullable=False),
    Column("origin", String(190), nullable=False),
    #: CAP identifier of the original message of a relayed (external) alert
    Column("external_id", String(190)),
    #: the last version that was issued (None while nothing has been sent)
    Column("issued_version", Integer),
    Column("created", S.UTCInstant, nullable=False),
    Column("updated", S.UTCInstant, nullable=False),
    Column("sent", S.UTCInstant),
    Column("onset", S.UTCInstant),
    Column("expires", S.UTCInstant),
    Column("eta", S.UTCInstant),
    #: extra inputs: transition value/unit/time, external areas, ...
    Column("data", S._JSON),
    Index("ix_tg_alert_station", "station_id", "hazard", "status"),
)

tg_alert_version = Table(
    "tg_alert_version",
    S.metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("identifier", String(190), nullable=False, unique=True),
    Column("msg_type", String(16), nullable=False),
    #: draft | approved | issued | superseded | discarded
    Column("status", String(16), nullable=False),
    Column("level", Integer, nullable=False),
    Column("cap_xml", Text, nullable=False),
    #: CAP sender of this version (references name it)
    Column("sender", String(190), nullable=False),
    Column("sent", S.UTCInstant, nullable=False),
    #: who made this version ("rules", an operator, "external:<sender>")
    Column("actor", String(190), nullable=False),
    Column("note", Text),
    Column("created", S.UTCInstant, nullable=False),
    Column("approved_by", String(190)),
    Column("approved_at", S.UTCInstant),
    Column("issued_by", String(190)),
    Column("issued_at", S.UTCInstant),
    #: CAP identifier of the external message this version relays
    Column("external_identifier", String(190)),
    #: the AlertRecord of this version (JSON), for the feed and the history
    Column("record", S._JSON, nullable=False),
    Index("ix_tg_alert_version_ext", "external_identifier"),
)

tg_alert_event = Table(
    "tg_alert_event",
    S.metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("t", S.UTCInstant, nullable=False),
    Column("actor", String(190), nullable=False),
    #: created | updated | approved | issued | superseded | cancelled | discarded | expired
    Column("action", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", Text),
)

tg_alert_policy = Table(
    "tg_alert_policy",
    S.metadata,
    Column("name", String(64), primary_key=True),
    Column("policy", S._JSON, nullable=False),
    Column("updated", S.UTCInstant, nullable=False),
    Column("actor", String(190), nullable=False),
)

TABLES: list[Table] = [tg_alert, tg_alert_version, tg_alert_event, tg_alert_policy]
