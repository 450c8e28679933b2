"""Tables of services/refresh.py (created by migration 8).

- ``tg_svc_source``: configured sources (where the data is, the layer it feeds, the
  schedule) with the state the scheduler needs (last attempt, last good import).
- ``tg_svc_run``: one row per refresh run: start, end, status, counts, per-source
  outcomes, the underserved list of the run's snapshot.
- ``tg_svc_snapshot``: the indicators computed by a run, one row per unit and indicator.
- ``tg_svc_notice``: operator notices (a source failed, indicators failed), bilingual,
  with an acknowledged flag.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from tangguh.bank import _schema as S

__all__ = ["TABLES", "tg_svc_notice", "tg_svc_run", "tg_svc_snapshot", "tg_svc_source"]

tg_svc_source = Table(
    "tg_svc_source",
    S.metadata,
    Column("source_id", String(80), primary_key=True),
    #: the bank layer the source feeds
    Column("layer_id", String(63), nullable=False),
    #: service layer kind (tangguh.services.model), informative when the model is absent
    Column("kind", String(64)),
    Column("url", Text),
    Column("path", Text),
    Column("schedule", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    #: everything else of the TOML entry: read options, key, catalogue fields
    Column("config", S._JSON, nullable=False),
    Column("created", S.UTCInstant, nullable=False),
    Column("updated", S.UTCInstant, nullable=False),
    #: state kept by the runs
    Column("last_attempt", S.UTCInstant),
    Column("last_status", String(16)),
    Column("last_ok", S.UTCInstant),
    Column("last_sha256", String(64)),
    Column("last_version", Integer),
)

tg_svc_run = Table(
    "tg_svc_run",
    S.metadata,
    Column("run_id", String(32), primary_key=True),
    Column("started", S.UTCInstant, nullable=False),
    Column("finished", S.UTCInstant),
    #: running | ok | partial | failed
    Column("status", String(16), nullable=False),
    #: manual | scheduler | api
    Column("trigger", String(16), nullable=False),
    Column("sources_ok", Integer, nullable=False, default=0),
    Column("sources_failed", Integer, nullable=False, default=0),
    Column("features_read", Integer, nullable=False, default=0),
    Column("layers_changed", Integer, nullable=False, default=0),
    Column("indicators", Integer, nullable=False, default=0),
    Column("snapshot_rows", Integer, nullable=False, default=0),
    #: the instant the indicators describe (the snapshot's taken_at)
    Column("taken_at", S.UTCInstant),
    Column("message_en", Text),
    Column("message_id", Text),
    #: per source: {source_id, status, sha256, features_read, layer_version, changed,
    #: seconds, error_en, error_id}
    Column("sources", S._JSON),
    #: underserved units of the snapshot: [{unit_id, level, reasons}]
    Column("underserved", S._JSON),
    Column("timings", S._JSON),
    Index("ix_tg_svc_run_started", "started"),
)

tg_svc_snapshot = Table(
    "tg_svc_snapshot",
    S.metadata,
    Column("run_id", String(32), nullable=False),
    Column("taken_at", S.UTCInstant, nullable=False),
    Column("unit_id", String(128), nullable=False),
    Column("level", String(16), nullable=False),
    Column("indicator", String(64), nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("run_id", "indicator", "unit_id"),
    Index("ix_tg_svc_snapshot_unit", "unit_id", "indicator", "taken_at"),
    Index("ix_tg_svc_snapshot_taken", "taken_at"),
)

tg_svc_notice = Table(
    "tg_svc_notice",
    S.metadata,
    Column("notice_id", Integer, primary_key=True, autoincrement=True),
    Column("t", S.UTCInstant, nullable=False),
    #: the failed source (None for a failure of the indicators)
    Column("source_id", String(80)),
    Column("run_id", String(32)),
    Column("message_en", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("hint_en", Text),
    Column("hint_id", Text),
    Column("acknowledged", Boolean, nullable=False, default=False),
    Column("acknowledged_by", Text),
    Column("acknowledged_at", S.UTCInstant),
    Index("ix_tg_svc_notice_open", "acknowledged", "t"),
)

TABLES: list[Table] = [tg_svc_source, tg_svc_run, tg_svc_snapshot, tg_svc_notice]
