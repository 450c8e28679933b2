"""Tables of services/reports.py: citizen reports with their lifecycle (migration 8).

- ``tg_svc_report``: one row per report (type, point, units, status, responsible
  unit, SLA due times, near-duplicate cluster, abuse flags). ``reporter_id``,
  ``token_hash`` and ``ip_hash`` are private: no public read path returns them.
- ``tg_svc_report_event``: every transition (who, when, from, to, note).
- ``tg_svc_report_photo``: the report photo and the resolution photos; the file lives in
  ``<bank>.media/reports/`` for an embedded bank (``path``), the bytes in ``data``
  (bytea) for PostGIS.
- ``tg_svc_report_config``: versions of the responsible-units and SLA configuration.

:func:`after_create` copies the citizen flood reports of the web layer
(``tg_web_report`` / ``tg_web_photo``, migration 7) into these tables, so a bank that
had reports keeps them (status, photo, review) with a ``submit`` event each.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    column,
    inspect,
    select,
    table,
)

from tangguh.bank import _schema as S

__all__ = [
    "TABLES",
    "after_create",
    "tg_svc_report",
    "tg_svc_report_config",
    "tg_svc_report_event",
    "tg_svc_report_photo",
]

tg_svc_report = Table(
    "tg_svc_report",
    S.metadata,
    Column("report_id", String(32), primary_key=True),
    #: flood | water_outage | water_quality | waste_pile | blocked_drain |
    #: damaged_infrastructure
    Column("type", String(32), nullable=False),
    Column("t", S.UTCInstant, nullable=False, index=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    #: water depth (flood reports only)
    Column("depth_cm", Float),
    Column("text", Text),
    #: private: the user id of the reporter (never in a public response)
    Column("reporter_id", String(64), nullable=False, index=True),
    #: private: SHA-256 of the reporter token returned once at submit (confirm/reopen)
    Column("token_hash", String(64)),
    #: private: keyed hash of the client address (abuse checks), when known
    Column("ip_hash", String(32), index=True),
    Column("rw_id", String(190), index=True),
    Column("kelurahan_id", String(190)),
    #: new | verified | rejected | assigned | in_progress | resolved | confirmed | reopened
    Column("status", String(16), nullable=False, index=True),
    Column("updated", S.UTCInstant, nullable=False),
    #: responsible unit (code and display name) once assigned
    Column("unit", String(128)),
    Column("unit_name", Text),
    #: first time the report reached a unit (the 6 h SLA)
    Column("assigned_at", S.UTCInstant),
    Column("resolved_at", S.UTCInstant),
    Column("closed_at", S.UTCInstant),
    #: SLA due times, fixed at submit from the configuration of that moment
    Column("reach_due", S.UTCInstant, nullable=False),
    Column("resolve_due", S.UTCInstant, nullable=False),
    #: near-duplicate cluster: the report_id of the earliest report of the cluster
    Column("cluster_id", String(32), nullable=False, index=True),
    #: abuse flags set at submit (list of strings)
    Column("flags", S._JSON),
)
Index("ix_tg_svc_report_type_t", tg_svc_report.c.type, tg_svc_report.c.t)

tg_svc_report_event = Table(
    "tg_svc_report_event",
    S.metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(32), nullable=False, index=True),
    Column("t", S.UTCInstant, nullable=False),
    #: submit | verify | reject | restore | assign | start | resolve | confirm | reopen
    Column("action", String(16), nullable=False),
    Column("status_from", String(16)),
    Column("status_to", String(16), nullable=False),
    #: ``user:<name>``, ``key:<id>``, ``reporter``, ``system`` or a CLI user
    Column("actor", String(190), nullable=False),
    Column("note", Text),
    Column("unit", String(128)),
)

tg_svc_report_photo = Table(
    "tg_svc_report_photo",
    S.metadata,
    Column("photo_id", String(40), primary_key=True),
    Column("report_id", String(32), nullable=False, index=True),
    #: report (sent with the report) | resolution (proof of the fix)
    Column("role", String(16), nullable=False),
    Column("t", S.UTCInstant, nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    #: SHA-256 of the stored (metadata-free) bytes: reused photos are flagged
    Column("sha256", String(64), nullable=False, index=True),
    Column("path", String(190)),
    Column("data", LargeBinary),
)

tg_svc_report_config = Table(
    "tg_svc_report_config",
    S.metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    #: the validated configuration (units, types with SLA, overrides, thresholds)
    Column("data", S._JSON, nullable=False),
    Column("source", Text),
    Column("digest", String(64), nullable=False),
    Column("imported", S.UTCInstant, nullable=False),
    Column("actor", String(190)),
)

TABLES: list[Table] = [
    tg_svc_report,
    tg_svc_report_event,
    tg_svc_report_photo,
    tg_svc_report_config,
]

#: The web layer's report tables (migration 7), named here without importing the web
#: package; only the columns read by :func:`after_create`.
_web_report = table(
    "tg_web_report",
    column("report_id", String),
    column("t", S.UTCInstant),
    column("lon", Float),
    column("lat", Float),
    column("depth_cm", Float),
    column("text", Text),
    column("reporter_id", String),
    column("rw_id", String),
    column("kelurahan_id", String),
    column("status", String),
    column("reviewed_by", String),
    column("reviewed_at", S.UTCInstant),
)
_web_photo = table(
    "tg_web_photo",
    column("report_id", String),
    column("media_type", String),
    column("size", Integer),
    column("sha256", String),
    column("path", String),
    column("data", LargeBinary),
)


def after_create(conn: Connection) -> None:
    """Copy the web layer's flood reports (if any) into ``tg_svc_report``.

    Each becomes a ``flood`` report in its own cluster with the default SLA of floods,
    a ``submit`` event, a ``verify``/``reject`` event when it was reviewed, and its
    photo row (the file stays where it is: same folder, same name).
    """
    names = set(inspect(conn).get_table_names())
    if "tg_web_report" not in names:
        return
    from datetime import timedelta

    from tangguh.services.reports import load_config

    sla = load_config().rule("flood")
    rows = list(conn.execute(select(_web_report).order_by(_web_report.c.t)).mappings())
    if not rows:
        return
    reports, events = [], []
    for r in rows:
        status = r["status"] if r["status"] in ("new", "verified", "rejected") else "new"
        reports.append(
            {
                "report_id": r["report_id"],
                "type": "flood",
                "t": r["t"],
                "lon": r["lon"],
                "lat": r["lat"],
                "depth_cm": r["depth_cm"],
                "text": r["text"],
                "reporter_id": r["reporter_id"],
                "token_hash": None,
                "ip_hash": None,
                "rw_id": r["rw_id"],
                "kelurahan_id": r["kelurahan_id"],
                "status": status,
                "updated": r["reviewed_at"] or r["t"],
                "reach_due": r["t"] + timedelta(hours=sla.reach_hours),
                "resolve_due": r["t"] + timedelta(hours=sla.resolve_hours),
                "cluster_id": r["report_id"],
                "flags": [],
            }
        )
        events.append(
            {
                "report_id": r["report_id"],
                "t": r["t"],
                "action": "submit",
                "status_from": None,
                "status_to": "new",
                "actor": "migration",
                "note": "copied from tg_web_report",
            }
        )
        if status != "new" and r["reviewed_at"] is not None:
            events.append(
                {
                    "report_id": r["report_id"],
                    "t": r["reviewed_at"],
                    "action": "verify" if status == "verified" else "reject",
                    "status_from": "new",
                    "status_to": status,
                    "actor": r["reviewed_by"] or "migration",
                    "note": None,
                }
            )
    conn.execute(tg_svc_report.insert(), reports)
    conn.execute(tg_svc_report_event.insert(), events)
    if "tg_web_photo" in names:
        times = {r["report_id"]: r["t"] for r in rows}
        photos = [
            {
                "photo_id": p["report_id"],
                "report_id": p["report_id"],
                "role": "report",
                "t": times.get(p["report_id"], rows[-1]["t"]),
                "media_type": p["media_type"],
                "size": p["size"],
                "sha256": p["sha256"],
                "path": p["path"],
                "data": p["data"],
            }
            for p in conn.execute(select(_web_photo)).mappings()
            if p["report_id"] in times
        ]
        if photos:
            conn.execute(tg_svc_report_photo.insert(), photos)
