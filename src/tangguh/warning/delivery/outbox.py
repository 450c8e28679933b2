"""The outbox: fan-out of an alert version to its subscribers, claims, receipts, report.

``enqueue`` is one ``INSERT … SELECT`` (no loop per subscriber): the warned units are
expanded in Python (a kelurahan warned reaches all its households; an RW warned reaches
its RW's households and the kelurahan-wide ones of its kelurahan), the message is
rendered once per alert version (both languages, ``tg_outbox_message``), and every
(active subscriber, confirmed channel) pair becomes one ``tg_outbox`` row whose
idempotency key ``alert_id:version:subscriber_id:channel`` is unique — enqueueing the
same version again inserts nothing.

Workers claim rows with a lease (``queued`` -> ``sending``), send, and record the
outcome; the ``sent`` update is conditional on the lease still being theirs, so the
bank never records two deliveries for one key.
"""

from __future__ import annotations

import hmac
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from tangguh.bank import Bank
from tangguh.bank import _schema as S
from tangguh.errors import InputError, NotFoundError
from tangguh.warning.delivery.render import render_content
from tangguh.warning.model import AlertRecord
from tangguh.warning.tables.delivery import (
    tg_outbox,
    tg_outbox_message,
    tg_receipt,
    tg_subscriber,
    tg_subscriber_channel,
)

__all__ = [
    "BYPASS_QUIET_LEVELS",
    "WIB",
    "Claimed",
    "Outcome",
    "UnitHierarchy",
    "ack_token",
    "acknowledge",
    "claim",
    "enqueue",
    "idempotency_key",
    "next_due",
    "reclaim_expired",
    "record",
    "release",
    "renew_leases",
    "report",
    "unit_hierarchy",
]

log = logging.getLogger("tangguh.warning.delivery")

WIB = timezone(timedelta(hours=7), "WIB")
#: Siaga levels delivered even during a household's quiet hours (1 is the highest).
BYPASS_QUIET_LEVELS = frozenset({1, 2})
#: On SQLite, above this many matching subscribers a full scan beats the unit indexes.
_SCAN_THRESHOLD = 20_000


def idempotency_key(alert_id: str, version: int, subscriber_id: str, channel: str) -> str:
    """The key of one delivery, sent as the ``Idempotency-Key`` header."""
    return f"{alert_id}:{version}:{subscriber_id}:{channel}"


def _split_key(key: str) -> tuple[str, int, str, str]:
    try:
        alert_id, version, sid, channel = key.rsplit(":", 3)
        return alert_id, int(version), sid, channel
    except ValueError:
        raise InputError(
            f"not a delivery key: {key!r}",
            where="key",
            hint="a key looks like ALERT_ID:VERSION:SUBSCRIBER_ID:CHANNEL",
            message_id=f"bukan kunci pengiriman: {key!r}",
            hint_id="kunci berbentuk ALERT_ID:VERSI:SUBSCRIBER_ID:KANAL",
        ) from None


def ack_token(token_hash: str, key: str) -> str:
    """A signed acknowledgement token for a message link: ``"<key>.<hmac>"``."""
    sig = hmac.digest(token_hash.encode(), f"ack:{key}".encode(), "sha256")  # one-shot, C
    return f"{key}.{sig.hex()[:24]}"


# -- admin-unit hierarchy -------------------------------------------------------------
@dataclass
class UnitHierarchy:
    """``level`` and ``parent`` of every admin unit of the bank."""

    level: dict[str, str]
    parent: dict[str, str | None]

    def kelurahan_of(self, unit_id: str) -> str | None:
        cur: str | None = unit_id
        while cur is not None and self.level.get(cur) not in (None, "kelurahan"):
            cur = self.parent.get(cur)
        return cur if cur is not None and self.level.get(cur) == "kelurahan" else None

    def kelurahan_under(self, unit_id: str) -> set[str]:
        children: dict[str, list[str]] = {}
        for child, par in self.parent.items():
            if par is not None:
                children.setdefault(par, []).append(child)
        out: set[str] = set()
        stack = [unit_id]
        while stack:
            cur = stack.pop()
            if self.level.get(cur) == "kelurahan":
                out.add(cur)
                continue
            stack.extend(children.get(cur, []))
        return out


_HIERARCHY: dict[tuple[str, int], UnitHierarchy] = {}


def unit_hierarchy(bank: Bank) -> UnitHierarchy | None:
    """The admin hierarchy of the bank (cached per layer version), None without units."""
    from tangguh.admin.store import ADMIN_LAYER

    if not bank.has_layer(ADMIN_LAYER):
        return None
    version = bank.layer(ADMIN_LAYER).current_version
    key = (bank.url, version)
    if key not in _HIERARCHY:
        frame = bank.read_layer(ADMIN_LAYER, columns=["unit_id", "level", "parent_id"])
        level = dict(zip(frame["unit_id"].astype(str), frame["level"].astype(str), strict=True))
        parent = {
            str(u): (None if p is None or (isinstance(p, float)) else str(p))
            for u, p in zip(frame["unit_id"], frame["parent_id"], strict=True)
        }
        _HIERARCHY.clear()
        _HIERARCHY[key] = UnitHierarchy(level, parent)
    return _HIERARCHY[key]


def _unit_sets(bank: Bank, unit_ids: Iterable[str]) -> tuple[set[str], set[str], set[str]]:
    """(RW warned, kelurahan warned as a whole, kelurahan with some RW warned)."""
    hier = unit_hierarchy(bank)
    rws: set[str] = set()
    kel_all: set[str] = set()
    kel_part: set[str] = set()
    for unit in unit_ids:
        level = hier.level.get(unit) if hier else None
        if level is None:
            level = unit.split(":", 1)[0] if ":" in unit else None
        if level == "kelurahan":
            kel_all.add(unit)
        elif level in ("rw", "rt"):
            rw = unit
            if level == "rt":
                rw_parent = hier.parent.get(unit) if hier else None
                if rw_parent is None:
                    continue
                rw = rw_parent
            rws.add(rw)
            kel = hier.kelurahan_of(rw) if hier else None
            if kel is not None:
                kel_part.add(kel)
        elif level in ("kecamatan", "kota", "province") and hier is not None:
            kel_all |= hier.kelurahan_under(unit)
    return rws, kel_all, kel_part - kel_all


# -- enqueue --------------------------------------------------------------------------
def _message_id(conn: Connection, alert: AlertRecord, now: datetime) -> int:
    m = tg_outbox_message
    query = select(m.c.message_id).where(
        m.c.alert_id == alert.alert_id, m.c.version == alert.version
    )
    found = conn.execute(query).scalar()
    if found is not None:
        return int(found)
    conn.execute(
        insert(m).values(
            alert_id=alert.alert_id,
            version=alert.version,
            identifier=alert.identifier,
            msg_type=alert.msg_type,
            level=alert.level,
            content=render_content(alert),
            created=now,
        )
    )
    return int(conn.execute(query).scalar_one())


def _due_expr(dialect: str, alert: AlertRecord, now: datetime) -> ColumnElement[Any]:
    """next_attempt_at of each row: now, or the end of the subscriber's quiet hours."""
    s = tg_subscriber
    now_lit = literal(now, S.UTCInstant())
    if alert.level in BYPASS_QUIET_LEVELS:
        return now_lit
    local = now.astimezone(WIB)
    m = local.hour * 60 + local.minute
    minute_start = now - timedelta(seconds=local.second, microseconds=local.microsecond)
    qs, qe = s.c.quiet_start, s.c.quiet_end
    quiet = and_(
        qs.is_not(None),
        or_(
            and_(qs < qe, qs <= m, qe > m),
            and_(qs > qe, or_(qs <= m, qe > m)),
        ),
    )
    wait_min = (qe - m + 1440) % 1440
    deferred: ColumnElement[Any]
    if dialect == "postgresql":
        deferred = literal(minute_start, S.UTCInstant()) + func.make_interval(
            0, 0, 0, 0, 0, wait_min
        )
    else:
        deferred = literal(S.to_micros(minute_start)) + wait_min * 60_000_000
    return case((quiet, deferred), else_=now_lit)


def enqueue(bank: Bank, alert: AlertRecord, *, now: datetime | None = None) -> int:
    """Queue ``alert`` for every active subscriber of its warned units; return rows added.

    One ``INSERT … SELECT … ON CONFLICT DO NOTHING``: re-enqueueing the same version adds
    nothing; a new version (update, cancel) is a new message to the same households.
    Runs inside the caller's transaction when there is one (``bank.begin()`` nests).
    Drafts and expired alerts are not delivered (returns 0). Quiet hours defer Siaga 3
    and 4 to the end of the quiet period; Siaga 1 and 2 go out at once.
    """
    now = now or datetime.now(UTC)
    if alert.status in ("draft", "expired") or (
        alert.expires is not None and alert.expires <= now and alert.msg_type != "Cancel"
    ):
        log.info("alert %s v%s not delivered: %s", alert.alert_id, alert.version, alert.status)
        return 0
    rws, kel_all, kel_part = _unit_sets(bank, alert.unit_ids)
    if not (rws or kel_all or kel_part):
        return 0
    s, c, o = tg_subscriber, tg_subscriber_channel, tg_outbox
    with bank.begin() as conn:
        dialect = conn.dialect.name
        mid = _message_id(conn, alert, now)
        rw_col: ColumnElement[Any] = s.c.rw_id
        kel_col: ColumnElement[Any] = s.c.kelurahan_id
        if dialect == "sqlite" and _many(conn, rws, kel_all | kel_part):
            # Expressions hide the indexes: SQLite then scans once instead of an
            # index OR-union that is several times slower for large fan-outs.
            rw_col = s.c.rw_id + ""
            kel_col = s.c.kelurahan_id + ""
        match = or_(
            rw_col.in_(sorted(rws)),
            kel_col.in_(sorted(kel_all)),
            and_(s.c.rw_id.is_(None), kel_col.in_(sorted(kel_part))),
        )
        sel = (
            select(
                literal(mid),
                s.c.subscriber_id,
                c.c.channel,
                s.c.language,
                literal("queued"),
                literal(0),
                _due_expr(dialect, alert, now),
                literal(now, S.UTCInstant()),
            )
            .select_from(s.join(c, c.c.subscriber_id == s.c.subscriber_id))
            .where(s.c.status == "active", c.c.confirmed.is_(True), match)
        )
        cols = [
            "message_id",
            "subscriber_id",
            "channel",
            "language",
            "status",
            "attempts",
            "next_attempt_at",
            "created",
        ]
        if dialect == "postgresql":
            # psycopg reports no rowcount through SQLAlchemy here: count the RETURNING rows
            pg = postgresql.insert(o).from_select(cols, sel).on_conflict_do_nothing()
            added = pg.returning(literal(1)).cte("added")
            n = int(conn.execute(select(func.count()).select_from(added)).scalar_one())
        else:
            lite = sqlite.insert(o).from_select(cols, sel).on_conflict_do_nothing()
            n = int(conn.execute(lite).rowcount or 0)
    log.info("alert %s v%s: %d deliveries queued", alert.alert_id, alert.version, n)
    return n


def _many(conn: Connection, rws: set[str], kels: set[str]) -> bool:
    s = tg_subscriber
    inner = (
        select(literal(1))
        .where(or_(s.c.rw_id.in_(sorted(rws)), s.c.kelurahan_id.in_(sorted(kels))))
        .limit(_SCAN_THRESHOLD)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(inner)).scalar_one()) >= (
        _SCAN_THRESHOLD
    )


# -- claims and receipts ----------------------------------------------------------------
@dataclass
class Claimed:
    """One delivery a worker holds: everything needed to send it."""

    outbox_id: int
    key: str
    message_id: int
    subscriber_id: str
    channel: str
    language: str
    attempt: int
    address: str = ""
    ack_token: str = ""
    unsubscribe_token: str = ""

    def __repr__(self) -> str:  # never print the contact
        return f"Claimed(id={self.outbox_id}, key={self.key!r}, attempt={self.attempt})"


@dataclass
class Outcome:
    """What happened to one claimed delivery."""

    outbox_id: int
    attempt: int
    #: sent | retry | dead
    outcome: str
    http_status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


def backoff(attempt: int, base: float = 2.0, cap: float = 3600.0) -> float:
    """Seconds before retry ``attempt + 1``: exponential with "equal jitter"."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.random() * delay / 2


def claim(
    bank: Bank,
    worker_id: str,
    n: int,
    *,
    lease: float = 60.0,
    id_range: tuple[int, int] | None = None,
    extra: ColumnElement[bool] | None = None,
    now: datetime | None = None,
) -> list[Claimed]:
    """Lease up to ``n`` due deliveries to ``worker_id`` (atomic; safe with many workers).

    PostgreSQL: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``;
    SQLite: the same statement in a ``BEGIN IMMEDIATE`` transaction. With ``id_range``
    (broker mode) only rows in that id range are taken, including rows whose lease
    expired (their worker died); ``extra`` narrows the rows further. Rows of
    unsubscribed households are cancelled here.
    """
    now = now or datetime.now(UTC)
    o = tg_outbox
    with bank.begin() as conn:
        due = and_(o.c.status == "queued", o.c.next_attempt_at <= now)
        if extra is not None:
            due = and_(due, extra)
        if id_range is not None:
            due = and_(
                o.c.id.between(*id_range),
                or_(due, and_(o.c.status == "sending", o.c.lease_until < now)),
            )
            sub = select(o.c.id).where(due).order_by(o.c.id).limit(n)
        else:
            sub = select(o.c.id).where(due).order_by(o.c.next_attempt_at, o.c.id).limit(n)
        if conn.dialect.name == "postgresql":
            sub = sub.with_for_update(skip_locked=True)
        stmt = (
            update(o)
            .where(o.c.id.in_(sub.scalar_subquery()))
            .values(
                status="sending",
                worker_id=worker_id,
                lease_until=now + timedelta(seconds=lease),
                attempts=o.c.attempts + 1,
            )
            .returning(o.c.id)
        )
        ids = [int(i) for i in conn.execute(stmt).scalars()]
        if not ids:
            return []
        return _details(conn, ids)


def _details(conn: Connection, ids: list[int]) -> list[Claimed]:
    from tangguh.warning.subscriptions import unsubscribe_token

    o = tg_outbox
    # Plain driver SQL: this runs for every claimed batch (SQLAlchemy rows cost more
    # than the query here).
    rows: list[Any] = []
    for i in range(0, len(ids), 900):
        part = sorted(ids[i : i + 900])
        marks = ", ".join("?" * len(part))
        sql = _driver_sql(
            conn,
            "SELECT o.id, o.message_id, o.subscriber_id, o.channel, o.language, o.attempts, "
            "m.alert_id, m.version, s.status, s.token_hash, c.address FROM tg_outbox o "
            "JOIN tg_outbox_message m ON m.message_id = o.message_id "
            "LEFT JOIN tg_subscriber s ON s.subscriber_id = o.subscriber_id "
            "LEFT JOIN tg_subscriber_channel c ON c.subscriber_id = o.subscriber_id "
            f"AND c.channel = o.channel WHERE o.id IN ({marks}) ORDER BY o.id",
        )
        rows += conn.exec_driver_sql(sql, tuple(part)).all()
    out: list[Claimed] = []
    gone: list[int] = []
    for oid, mid, sid, ch, lang, attempts, alert_id, version, status, th, address in rows:
        if status != "active" or address is None:
            gone.append(int(oid))
            continue
        key = idempotency_key(alert_id, int(version), sid, ch)
        out.append(
            Claimed(
                outbox_id=int(oid),
                key=key,
                message_id=int(mid),
                subscriber_id=sid,
                channel=ch,
                language=lang,
                attempt=int(attempts),
                address=address,
                ack_token=ack_token(th, key),
                unsubscribe_token=unsubscribe_token(th, sid),
            )
        )
    if gone:
        conn.execute(
            update(o)
            .where(o.c.id.in_(gone))
            .values(status="cancelled", lease_until=None, last_error="unsubscribed")
        )
    return out


def messages(bank: Bank, message_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Rendered content of messages by id (workers cache these)."""
    m = tg_outbox_message
    with bank.connect() as conn:
        rows = conn.execute(
            select(m.c.message_id, m.c.content).where(m.c.message_id.in_(sorted(set(message_ids))))
        ).all()
    return {int(r.message_id): dict(r.content) for r in rows}


def record(
    bank: Bank, worker_id: str, outcomes: Sequence[Outcome], *, now: datetime | None = None
) -> int:
    """Store the outcomes of one batch in one transaction; return deliveries marked sent.

    A row is marked ``sent`` only while this worker still holds its lease, so a row
    that another worker took over (lease expired) is never recorded twice.
    """
    if not outcomes:
        return 0
    now = now or datetime.now(UTC)
    o, r = tg_outbox, tg_receipt
    sent = [x for x in outcomes if x.outcome == "sent"]
    other = [x for x in outcomes if x.outcome != "sent"]
    receipts: list[dict[str, Any]] = []
    ok: set[int] = set()
    with bank.begin() as conn:
        if sent:
            # The hot path of every worker: plain driver SQL (SQLAlchemy's statement
            # building costs several times the database work for a batch of ~20 rows).
            ok = _mark_sent(conn, worker_id, [x.outbox_id for x in sent], now)
            receipts_sent = [
                (x.outbox_id, x.attempt, "sent", x.http_status, worker_id)
                for x in sent
                if x.outbox_id in ok
            ]
            _insert_receipts(conn, receipts_sent, now)
        if other:
            stmt2 = (
                update(o)
                .where(
                    o.c.id == bindparam("b_id"),
                    o.c.status == "sending",
                    o.c.worker_id == worker_id,
                )
                .values(
                    status=bindparam("b_status"),
                    next_attempt_at=bindparam("b_next", type_=S.UTCInstant()),
                    last_error=bindparam("b_error"),
                    lease_until=None,
                    worker_id=None,
                )
            )
            conn.execute(
                stmt2,
                [
                    {
                        "b_id": x.outbox_id,
                        "b_status": "queued" if x.outcome == "retry" else "dead",
                        "b_next": x.next_attempt_at or now,
                        "b_error": (x.error or "")[:500],
                    }
                    for x in other
                ],
            )
            receipts += [
                {
                    "outbox_id": x.outbox_id,
                    "attempt": x.attempt,
                    "outcome": "failed" if x.outcome == "retry" else "dead",
                    "t": now,
                    "http_status": x.http_status,
                    "error": (x.error or "")[:500],
                    "worker_id": worker_id,
                }
                for x in other
            ]
        if receipts:
            conn.execute(insert(r), receipts)
    return len(ok)


def _driver_sql(conn: Connection, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the driver's own paramstyle."""
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def _instant(conn: Connection, value: datetime) -> Any:
    """A UTC instant as the driver stores it (micros in SQLite, timestamptz in PostgreSQL)."""
    return S.to_micros(value) if conn.dialect.name == "sqlite" else value


def _mark_sent(conn: Connection, worker_id: str, ids: list[int], now: datetime) -> set[int]:
    ok: set[int] = set()
    at = _instant(conn, now)
    for i in range(0, len(ids), 900):
        part = ids[i : i + 900]
        marks = ", ".join("?" * len(part))
        sql = _driver_sql(
            conn,
            "UPDATE tg_outbox SET status = 'sent', sent_at = ?, lease_until = NULL, "
            f"last_error = NULL WHERE id IN ({marks}) AND status = 'sending' "
            "AND worker_id = ? RETURNING id",
        )
        ok.update(int(r[0]) for r in conn.exec_driver_sql(sql, (at, *part, worker_id)))
    return ok


def _insert_receipts(
    conn: Connection, rows: list[tuple[int, int, str, int | None, str]], now: datetime
) -> None:
    if not rows:
        return
    at = _instant(conn, now)
    sql = _driver_sql(
        conn,
        "INSERT INTO tg_receipt (outbox_id, attempt, outcome, t, http_status, error, "
        "worker_id) VALUES (?, ?, ?, ?, ?, NULL, ?)",
    )
    conn.exec_driver_sql(sql, [(o, a, out, at, h, w) for o, a, out, h, w in rows])


def release(bank: Bank, worker_id: str, ids: Sequence[int]) -> None:
    """Give back claimed rows that were never sent (graceful stop)."""
    if not ids:
        return
    o = tg_outbox
    with bank.begin() as conn:
        conn.execute(
            update(o)
            .where(o.c.id.in_(list(ids)), o.c.status == "sending", o.c.worker_id == worker_id)
            .values(status="queued", lease_until=None, worker_id=None, attempts=o.c.attempts - 1)
        )


def renew_leases(bank: Bank, worker_id: str, lease: float, *, now: datetime | None = None) -> int:
    """Extend the leases this worker holds (heartbeat)."""
    now = now or datetime.now(UTC)
    o = tg_outbox
    with bank.begin() as conn:
        res = conn.execute(
            update(o)
            .where(o.c.status == "sending", o.c.worker_id == worker_id)
            .values(lease_until=now + timedelta(seconds=lease))
        )
    return max(0, int(res.rowcount or 0))


def reclaim_expired(bank: Bank, *, max_attempts: int = 8, now: datetime | None = None) -> int:
    """Put rows whose lease expired (their worker died) back in the queue; return count.

    A row that already used ``max_attempts`` becomes ``dead``.
    """
    now = now or datetime.now(UTC)
    o = tg_outbox
    expired = and_(o.c.status == "sending", o.c.lease_until < now)
    with bank.begin() as conn:
        n = len(
            conn.execute(
                update(o)
                .where(expired, o.c.attempts < max_attempts)
                .values(status="queued", lease_until=None, worker_id=None, next_attempt_at=now)
                .returning(o.c.id)
            ).all()
        )
        conn.execute(
            update(o)
            .where(expired)
            .values(status="dead", lease_until=None, last_error="lease expired (worker lost)")
        )
    if n:
        log.info("reclaimed %d deliveries with an expired lease", n)
    return n


def next_due(bank: Bank) -> datetime | None:
    """When the next queued row is due or the next lease expires (None: nothing left)."""
    o = tg_outbox
    with bank.connect() as conn:
        q = conn.execute(select(func.min(o.c.next_attempt_at)).where(o.c.status == "queued"))
        first = q.scalar()
        lease = conn.execute(
            select(func.min(o.c.lease_until)).where(o.c.status == "sending")
        ).scalar()
    times = [t for t in (first, lease) if t is not None]
    if not times:
        return None
    return min(_aware(t) for t in times)


def _aware(value: Any) -> datetime:
    # min() over the TypeDecorator sometimes comes back raw (SQLite integer)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


def max_id(bank: Bank) -> int:
    """Highest outbox id (broker publishing watermark)."""
    with bank.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(tg_outbox.c.id), 0))).scalar_one())


# -- report and acknowledgements ---------------------------------------------------------
_STATES = ("queued", "sending", "sent", "failed", "dead", "cancelled")


def report(bank: Bank, alert_id: str) -> dict[str, Any]:
    """Deliveries of an alert (all versions) per channel and state.

    ``targeted`` every row; ``queued`` waiting (first try); ``sending`` leased to a
    worker; ``failed`` waiting for a retry after a failed attempt; ``sent``; ``dead``
    (gave up); ``cancelled`` (unsubscribed); ``acknowledged`` (receipt or link).
    """
    o, m = tg_outbox, tg_outbox_message
    state = case(
        (and_(o.c.status == "queued", o.c.attempts > 0), "failed"),
        else_=o.c.status,
    )
    with bank.connect() as conn:
        versions = [
            int(v)
            for v in conn.execute(
                select(m.c.version).where(m.c.alert_id == alert_id).order_by(m.c.version)
            ).scalars()
        ]
        if not versions:
            raise NotFoundError(
                f"no deliveries for alert {alert_id!r}",
                where="alert_id",
                hint="the alert was not issued yet, or the id is wrong (`tangguh alerts list`)",
                message_id=f"tidak ada pengiriman untuk peringatan {alert_id!r}",
                hint_id="peringatan belum diterbitkan, atau ID salah (`tangguh alerts list`)",
            )
        rows = conn.execute(
            select(
                o.c.channel,
                state.label("state"),
                func.count().label("n"),
                func.count(o.c.acked_at).label("acked"),
            )
            .select_from(o.join(m, m.c.message_id == o.c.message_id))
            .where(m.c.alert_id == alert_id)
            .group_by(o.c.channel, state)
        ).all()
    channels: dict[str, dict[str, int]] = {}
    total = dict.fromkeys(("targeted", *_STATES, "acknowledged"), 0)
    for ch, st, n, acked in rows:
        rec = channels.setdefault(ch, dict.fromkeys(("targeted", *_STATES, "acknowledged"), 0))
        for target in (rec, total):
            target["targeted"] += int(n)
            target[st] = target.get(st, 0) + int(n)
            target["acknowledged"] += int(acked)
    return {
        "alert_id": alert_id,
        "versions": versions,
        "channels": dict(sorted(channels.items())),
        "total": total,
    }


def acknowledge(bank: Bank, key_or_token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Mark a delivery acknowledged: a signed token from a message link, or a bare key
    (a gateway's delivery receipt, trusted callers only). Idempotent.
    """
    now = now or datetime.now(UTC)
    text = (key_or_token or "").strip()
    key, sig = text, ""
    if "." in text.rsplit(":", 1)[-1]:  # channel names have no dot: this is a token
        key, sig = text.rsplit(".", 1)
    alert_id, version, sid, channel = _split_key(key)
    o, m, s = tg_outbox, tg_outbox_message, tg_subscriber
    with bank.begin() as conn:
        row = conn.execute(
            select(o.c.id, o.c.acked_at, o.c.attempts, s.c.token_hash)
            .select_from(
                o.join(m, m.c.message_id == o.c.message_id).outerjoin(
                    s, s.c.subscriber_id == o.c.subscriber_id
                )
            )
            .where(
                m.c.alert_id == alert_id,
                m.c.version == version,
                o.c.subscriber_id == sid,
                o.c.channel == channel,
            )
        ).first()
        if row is None or (
            sig and not hmac.compare_digest(ack_token(row.token_hash or "", key), text)
        ):
            raise NotFoundError(
                "unknown delivery or invalid acknowledgement token",
                where="key",
                hint="use the link from the message as received",
                message_id="pengiriman tidak dikenal atau token tanda terima tidak sah",
                hint_id="gunakan tautan dari pesan sebagaimana diterima",
            )
        first = row.acked_at is None
        if first:
            conn.execute(update(o).where(o.c.id == row.id).values(acked_at=now))
            conn.execute(
                insert(tg_receipt).values(
                    outbox_id=row.id, attempt=int(row.attempts), outcome="ack", t=now
                )
            )
    return {"key": key, "acknowledged": True, "first": first}
