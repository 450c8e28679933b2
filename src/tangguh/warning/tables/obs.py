"""Tables of the warning stage 'obs' (created by migration 5).

* ``tg_ingest_key``: push keys of the ingest API, one row per key. Only the SHA-256 hash
  of the secret is stored; the plain key is shown once, when it is created.
* ``tg_poll_state``: items a poller has already delivered (e.g. the guid of a BMKG CAP
  alert), so a restart does not deliver them again.
"""

from __future__ import annotations

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, Text

from tangguh.bank import _schema as S

__all__ = ["TABLES", "tg_ingest_key", "tg_poll_state"]

tg_ingest_key = Table(
    "tg_ingest_key",
    S.metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("source", String(128), nullable=False),
    #: None: the key may push for every station
    Column("station_id", String(128)),
    Column("note", Text),
    Column("created", S.UTCInstant, nullable=False),
    Column("revoked", S.UTCInstant),
)

tg_poll_state = Table(
    "tg_poll_state",
    S.metadata,
    #: the feed, e.g. "bmkg-cap:<sha256 of the URL, 16 hex>"
    Column("feed", String(64), nullable=False),
    #: the item within the feed (RSS guid or link), at most 190 characters
    Column("item", String(190), nullable=False),
    Column("seen", S.UTCInstant, nullable=False),
    Column("detail", Text),
    PrimaryKeyConstraint("feed", "item"),
)

TABLES: list[Table] = [tg_ingest_key, tg_poll_state]
