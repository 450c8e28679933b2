"""Broker mode: Redis Streams carry the work, the bank outbox stays the source of truth.

* Publishing: new outbox rows are announced as *id ranges* (``lo``..``hi``, up to
  :data:`CHUNK` ids per stream entry, so a 500,000-row fan-out is ~1,000 ``XADD`` in one
  pipeline). A watermark in Redis (``<stream>:published``) remembers the highest id
  announced; :func:`publish` runs after the enqueueing transaction committed (any
  worker also publishes every ``sweep`` seconds, under a short Redis lock).
* Workers form one consumer group: ``XREADGROUP`` gives each an entry; the worker
  claims the rows of that range in the bank (same lease as embedded mode), sends, and
  ``XACK``s the entry once every claimed row's receipt is recorded.
* A crashed worker's entries stay pending; after ``reclaim_idle`` seconds another
  worker takes them with ``XAUTOCLAIM`` and claims whatever rows of the range are still
  queued or whose lease expired.
* Everything the stream does not carry — retries after a failure, rows deferred by
  quiet hours, rows taken back from a dead worker, rows committed after their range was
  announced — is found by a periodic *sweep* of the bank (due rows that are not fresh,
  or fresh rows older than ``stale_after``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio as aredis

from tangguh.bank import Bank
from tangguh.warning.delivery import outbox

if TYPE_CHECKING:
    from tangguh.warning.delivery.worker import Worker

__all__ = ["CHUNK", "GROUP", "broker_loop", "publish", "publish_async", "stream_name"]

log = logging.getLogger("tangguh.warning.delivery.broker")

#: Outbox ids per stream entry.
CHUNK = 500
GROUP = "tangguh-delivery"
#: Fresh rows not claimed through the stream after this many seconds are swept.
STALE_AFTER = 60.0


def stream_name(bank_url: str) -> str:
    """The stream of one bank: ``tangguh:outbox:<hash of the bank URL>``."""
    return "tangguh:outbox:" + hashlib.sha256(bank_url.encode()).hexdigest()[:16]


async def publish_async(client: Any, stream: str, top: int) -> int:
    """Announce outbox ids above the watermark up to ``top``; return entries added."""
    lock = f"{stream}:lock"
    if not await client.set(lock, "1", nx=True, px=10_000):
        return 0
    try:
        mark = int(await client.get(f"{stream}:published") or 0)
        if top <= mark:
            return 0
        pipe = client.pipeline(transaction=False)
        n = 0
        for lo in range(mark + 1, top + 1, CHUNK):
            hi = min(lo + CHUNK - 1, top)
            pipe.xadd(stream, {"lo": lo, "hi": hi}, maxlen=200_000, approximate=True)
            n += 1
        pipe.set(f"{stream}:published", top)
        await pipe.execute()
        return n
    finally:
        await client.delete(lock)


def publish(bank: Bank, redis_url: str) -> int:
    """Announce the bank's new outbox rows on its stream (call after the commit)."""
    client = redis.Redis.from_url(redis_url)
    stream = stream_name(bank.url)
    top = outbox.max_id(bank)
    try:
        if not client.set(f"{stream}:lock", "1", nx=True, px=10_000):
            return 0
        try:
            mark = int(client.get(f"{stream}:published") or 0)
            if top <= mark:
                return 0
            pipe = client.pipeline(transaction=False)
            n = 0
            for lo in range(mark + 1, top + 1, CHUNK):
                hi = min(lo + CHUNK - 1, top)
                pipe.xadd(stream, {"lo": lo, "hi": hi}, maxlen=200_000, approximate=True)
                n += 1
            pipe.set(f"{stream}:published", top)
            pipe.execute()
            return n
        finally:
            client.delete(f"{stream}:lock")
    finally:
        client.close()


async def _ensure_group(client: Any, stream: str) -> None:
    try:
        await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _swept(now: datetime) -> Any:
    """Rows the stream does not carry: retried, deferred, or fresh but stale."""
    from sqlalchemy import or_

    from tangguh.warning.tables.delivery import tg_outbox as o

    return or_(
        o.c.attempts > 0,
        o.c.next_attempt_at > o.c.created,
        o.c.created < now - timedelta(seconds=STALE_AFTER),
    )


async def broker_loop(worker: Worker) -> None:
    """The broker source of a :class:`~tangguh.warning.delivery.worker.Worker`."""
    cfg = worker.config
    assert cfg.broker is not None
    client = aredis.Redis.from_url(cfg.broker)
    stream = stream_name(worker.bank.url)
    consumer = cfg.worker_id
    await _ensure_group(client, stream)
    #: entry id -> outbox ids still to record; outbox id -> entry id
    open_entries: dict[bytes, set[int]] = {}
    owner: dict[int, bytes] = {}

    async def on_recorded(ids: list[int]) -> None:
        done: list[bytes] = []
        for i in ids:
            entry = owner.pop(i, None)
            if entry is None:
                continue
            left = open_entries.get(entry)
            if left is not None:
                left.discard(i)
                if not left:
                    done.append(entry)
                    del open_entries[entry]
        if done:
            await client.xack(stream, GROUP, *done)

    worker.on_recorded.append(on_recorded)
    last_sweep = 0.0
    try:
        while not worker.stopping:
            if time.monotonic() - last_sweep > cfg.sweep:
                last_sweep = time.monotonic()
                top = await worker.db(outbox.max_id, worker.bank)
                await publish_async(client, stream, top)
                await worker.db(outbox.reclaim_expired, worker.bank, max_attempts=cfg.max_attempts)
                if worker.backlog < cfg.batch:
                    now = datetime.now(UTC)
                    items = await worker.db(
                        outbox.claim,
                        worker.bank,
                        cfg.worker_id,
                        cfg.batch,
                        lease=cfg.lease,
                        extra=_swept(now),
                        now=now,
                    )
                    if items:
                        await worker.dispatch(items)
            if worker.backlog >= cfg.batch:
                worker._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker._room.wait(), timeout=cfg.sweep)
                continue
            claimed: Any = await client.xautoclaim(
                stream, GROUP, consumer, int(cfg.reclaim_idle * 1000), start_id="0-0", count=1
            )
            entries: list[tuple[bytes, dict[bytes, bytes]]] = list(claimed[1])
            if not entries:
                block = max(1, int(min(cfg.poll, cfg.sweep) * 1000))
                resp: Any = await client.xreadgroup(
                    GROUP, consumer, {stream: ">"}, count=1, block=block
                )
                for _name, items_ in resp or []:
                    entries.extend(items_)
            for entry_id, fields in entries:
                lo, hi = int(fields[b"lo"]), int(fields[b"hi"])
                items = await worker.db(
                    outbox.claim,
                    worker.bank,
                    cfg.worker_id,
                    hi - lo + 1,
                    lease=cfg.lease,
                    id_range=(lo, hi),
                )
                if not items:
                    await client.xack(stream, GROUP, entry_id)
                    continue
                open_entries[entry_id] = {i.outbox_id for i in items}
                for i in items:
                    owner[i.outbox_id] = entry_id
                await worker.dispatch(items)
            if not entries and not open_entries and await worker.idle_done():
                return
    finally:
        while worker.backlog > 0:  # let the recorder ack the entries still open
            worker._room.clear()
            await worker._room.wait()
        await client.aclose()
