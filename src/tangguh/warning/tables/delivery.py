"""Tables of the warning stage 'delivery' (created by migration 5).

``tg_subscriber``          one household (or person): language, unit, quiet hours, state
``tg_subscriber_channel``  its contacts, one per channel (the only table holding contacts)
``tg_outbox_message``      the text of one alert version, rendered once per language
``tg_outbox``              one delivery per (alert version, subscriber, channel)
``tg_receipt``             every attempt and acknowledgement (append-only log)

The idempotency key of a delivery is ``f"{alert_id}:{version}:{subscriber_id}:{channel}"``;
its uniqueness is the ``UNIQUE (message_id, subscriber_id, channel)`` constraint of
``tg_outbox`` (``message_id`` stands for one ``(alert_id, version)``), which keeps the
index of a 500,000-row fan-out small.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tangguh.bank import _schema as S

__all__ = [
    "TABLES",
    "tg_outbox",
    "tg_outbox_message",
    "tg_receipt",
    "tg_subscriber",
    "tg_subscriber_channel",
]

#: Integer primary key: a rowid alias in SQLite, bigint in PostgreSQL.
_ID = BigInteger().with_variant(Integer(), "sqlite")

tg_subscriber = Table(
    "tg_subscriber",
    S.metadata,
    Column("subscriber_id", String(40), primary_key=True),
    Column("language", String(2), nullable=False),
    # pending | active | unsubscribed
    Column("status", String(16), nullable=False),
    Column("rw_id", String(190)),
    Column("kelurahan_id", String(190)),
    # local (WIB) minutes after midnight, both set or both NULL
    Column("quiet_start", Integer),
    Column("quiet_end", Integer),
    Column("created", S.UTCInstant, nullable=False),
    Column("confirmed", S.UTCInstant),
    Column("unsubscribed", S.UTCInstant),
    Column("token_hash", String(64), nullable=False, unique=True),
)
Index("ix_tg_subscriber_rw", tg_subscriber.c.rw_id)
Index("ix_tg_subscriber_kelurahan", tg_subscriber.c.kelurahan_id)

tg_subscriber_channel = Table(
    "tg_subscriber_channel",
    S.metadata,
    Column("subscriber_id", String(40), primary_key=True),
    # webpush | email | sms | whatsapp | telegram | webhook
    Column("channel", String(16), primary_key=True),
    Column("address", Text, nullable=False),
    Column("confirmed", Boolean, nullable=False, default=False),
)

tg_outbox_message = Table(
    "tg_outbox_message",
    S.metadata,
    Column("message_id", _ID, primary_key=True, autoincrement=True),
    Column("alert_id", String(190), nullable=False),
    Column("version", Integer, nullable=False),
    Column("identifier", String(190)),
    Column("msg_type", String(16)),
    Column("level", Integer),
    # {"id": {"subject":…, "text":…, "short":…}, "en": {…}, "alert": {…}}
    Column("content", S._JSON, nullable=False),
    Column("created", S.UTCInstant, nullable=False),
    UniqueConstraint("alert_id", "version", name="uq_tg_outbox_message"),
)

tg_outbox = Table(
    "tg_outbox",
    S.metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("message_id", _ID, nullable=False),
    Column("subscriber_id", String(40), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("language", String(2), nullable=False),
    # queued | sending | sent | dead | cancelled
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", S.UTCInstant, nullable=False),
    Column("lease_until", S.UTCInstant),
    Column("worker_id", String(120)),
    Column("created", S.UTCInstant, nullable=False),
    Column("sent_at", S.UTCInstant),
    Column("acked_at", S.UTCInstant),
    Column("last_error", String(500)),
    UniqueConstraint("message_id", "subscriber_id", "channel", name="uq_tg_outbox_key"),
)
Index("ix_tg_outbox_due", tg_outbox.c.status, tg_outbox.c.next_attempt_at)

tg_receipt = Table(
    "tg_receipt",
    S.metadata,
    Column("receipt_id", _ID, primary_key=True, autoincrement=True),
    Column("outbox_id", _ID, nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    # sent | failed | dead | cancelled | ack
    Column("outcome", String(12), nullable=False),
    Column("t", S.UTCInstant, nullable=False),
    Column("http_status", Integer),
    Column("error", String(500)),
    Column("worker_id", String(120)),
)

TABLES: list[Table] = [
    tg_subscriber,
    tg_subscriber_channel,
    tg_outbox_message,
    tg_outbox,
    tg_receipt,
]
