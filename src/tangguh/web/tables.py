"""Tables of the web layer: users, keys, tokens, citizen reports, RW flood states, audit.

Created by migration 7 (see ``tangguh.bank.migrations``). Secrets are never stored in
the clear: passwords as scrypt hashes, bearer tokens and API keys as SHA-256 of their
256 random bits. Reporters' identities (``reporter_id``) and the audit log stay
private: no public endpoint reads those columns.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from tangguh.bank import _schema as S

__all__ = [
    "TABLES",
    "tg_web_audit",
    "tg_web_key",
    "tg_web_photo",
    "tg_web_report",
    "tg_web_rw_state",
    "tg_web_rw_state_log",
    "tg_web_secret",
    "tg_web_token",
    "tg_web_user",
]

tg_web_user = Table(
    "tg_web_user",
    S.metadata,
    Column("user_id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    #: ``scrypt$n$r$p$<salt b64>$<hash b64>`` (see tangguh.web.api.security)
    Column("password_hash", String(255), nullable=False),
    #: citizen | operator | admin
    Column("role", String(16), nullable=False),
    Column("created", S.UTCInstant, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_by", String(128)),
)

tg_web_token = Table(
    "tg_web_token",
    S.metadata,
    #: SHA-256 (hex) of the bearer token; the token itself is only ever sent to the client
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False, index=True),
    Column("created", S.UTCInstant, nullable=False),
    Column("expires", S.UTCInstant, nullable=False),
)

tg_web_key = Table(
    "tg_web_key",
    S.metadata,
    Column("key_id", String(32), primary_key=True),
    #: SHA-256 (hex) of the whole key
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("label", String(190), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created", S.UTCInstant, nullable=False),
    Column("created_by", String(128)),
    Column("revoked", S.UTCInstant),
)

tg_web_report = Table(
    "tg_web_report",
    S.metadata,
    Column("report_id", String(32), primary_key=True),
    Column("t", S.UTCInstant, nullable=False, index=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("depth_cm", Float, nullable=False),
    Column("text", Text),
    #: private: the user id of the reporter (never in a public response)
    Column("reporter_id", String(32), nullable=False),
    Column("rw_id", String(190)),
    Column("kelurahan_id", String(190)),
    #: new | verified | rejected
    Column("status", String(16), nullable=False),
    Column("reviewed_by", String(128)),
    Column("reviewed_at", S.UTCInstant),
    #: image/png or image/jpeg when a photo was sent
    Column("photo_type", String(32)),
)

#: Report photos. Embedded bank: the file lives in ``<bank>.media/reports/`` and
#: ``path`` is relative to that folder; PostGIS: the bytes are in ``data`` (bytea).
tg_web_photo = Table(
    "tg_web_photo",
    S.metadata,
    Column("report_id", String(32), primary_key=True),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("path", String(190)),
    Column("data", LargeBinary),
)

tg_web_rw_state = Table(
    "tg_web_rw_state",
    S.metadata,
    Column("unit_id", String(190), primary_key=True),
    #: 0 none, 1 use caution, 2 low 10-70 cm, 3 medium 71-150 cm, 4 high > 150 cm
    Column("state", Integer, nullable=False),
    Column("t", S.UTCInstant, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("note", Text),
)

tg_web_rw_state_log = Table(
    "tg_web_rw_state_log",
    S.metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("unit_id", String(190), nullable=False),
    Column("state", Integer, nullable=False),
    Column("previous", Integer),
    Column("t", S.UTCInstant, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("note", Text),
)
Index("ix_tg_web_rw_state_log_unit", tg_web_rw_state_log.c.unit_id, tg_web_rw_state_log.c.t)

tg_web_audit = Table(
    "tg_web_audit",
    S.metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("t", S.UTCInstant, nullable=False, index=True),
    #: ``user:<username>``, ``key:<key_id>`` or ``anonymous``
    Column("actor", String(190), nullable=False),
    Column("role", String(16), nullable=False),
    #: keyed hash of the client address (HMAC-SHA-256 with a per-bank secret, 16 hex)
    Column("ip_hash", String(32)),
    Column("method", String(8), nullable=False),
    Column("path", String(190), nullable=False),
    Column("object_id", String(190)),
    Column("status", Integer, nullable=False),
    #: ok | denied (401/403) | rejected (other 4xx) | rate_limited | error (5xx)
    Column("outcome", String(16), nullable=False),
)

#: Per-bank secrets of the web layer (the audit IP-hash key).
tg_web_secret = Table(
    "tg_web_secret",
    S.metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(190), nullable=False),
)

TABLES: list[Table] = [
    tg_web_user,
    tg_web_token,
    tg_web_key,
    tg_web_report,
    tg_web_photo,
    tg_web_rw_state,
    tg_web_rw_state_log,
    tg_web_audit,
    tg_web_secret,
]
