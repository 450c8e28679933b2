"""The delivery worker: claim with a lease, send concurrently, record receipts in batches.

Pipeline (one asyncio loop, bank calls on one dedicated thread):

* a *source* claims due rows (embedded: from the bank outbox; broker: ranges of outbox
  ids read from a Redis stream, see :mod:`.broker`) while fewer than ``batch`` are held;
* one task per delivery waits for its channel's token bucket, then for one of
  ``concurrency`` slots, sends, and hands the outcome to the recorder;
* the *recorder* writes every outcome waiting in one transaction and only then frees
  the slots. So at most ``concurrency`` deliveries are ever sent-but-not-recorded: a
  worker killed at any instant causes at most that many re-sends, each with the same
  ``Idempotency-Key``.

Leases are renewed while held (heartbeat) and expired ones are reclaimed, so a crashed
worker's rows go back to the queue after ``lease`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp

from tangguh.bank import Bank, open_bank
from tangguh.warning.delivery import outbox
from tangguh.warning.delivery.channels import ChannelConfig, Sender, TokenBucket
from tangguh.warning.delivery.outbox import Claimed, Outcome

__all__ = ["Worker", "WorkerConfig", "WorkerStats", "default_worker_id", "run_worker"]

log = logging.getLogger("tangguh.warning.delivery.worker")
T = TypeVar("T")


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class WorkerConfig:
    """How a worker runs (see ``docs/warning-delivery.md``)."""

    worker_id: str = field(default_factory=default_worker_id)
    batch: int = 500
    concurrency: int = 64
    #: seconds a claim is held before another worker may take it over (renewed while held)
    lease: float = 60.0
    max_attempts: int = 8
    backoff_base: float = 2.0
    backoff_cap: float = 3600.0
    #: seconds between polls of an empty queue
    poll: float = 0.5
    #: exit when nothing is due and nothing is in flight (``--idle-exit``) …
    stop_when_idle: bool = False
    #: … and nothing becomes due within this many seconds (``--once``: 0)
    idle_horizon: float = 30.0
    #: Redis URL for broker mode (None: embedded)
    broker: str | None = None
    #: broker: seconds a stream entry stays pending before another worker claims it
    reclaim_idle: float = 30.0
    #: broker: seconds between sweeps of the bank for retries and deferred rows
    sweep: float = 5.0
    rates: dict[str, float | None] = field(default_factory=dict)


@dataclass
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Worker:
    """One delivery worker process (or task). Use :func:`run_worker` for the common case."""

    def __init__(
        self, bank_url: str, config: WorkerConfig, channels: ChannelConfig | None = None
    ) -> None:
        self.bank_url = bank_url
        self.config = config
        self.channels = channels or ChannelConfig.from_env(config.rates)
        self.stats = WorkerStats()
        self.stopping = False
        self.backlog = 0
        self.contents: dict[int, dict[str, Any]] = {}
        self.buckets: dict[str, TokenBucket] = {
            ch: TokenBucket(rate) for ch, rate in self.channels.rates.items() if rate
        }
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tangguh-bank")
        self._pending: list[Outcome] = []
        self._unsent: list[int] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._bank: Bank | None = None
        self._slots: asyncio.Semaphore
        self._pending_event: asyncio.Event
        self._room: asyncio.Event
        self._sender: Sender
        #: called with the outbox ids of every recorded batch (broker acks)
        self.on_recorded: list[Callable[[list[int]], Any]] = []

    # -- plumbing -----------------------------------------------------------------------
    async def db(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a bank call on the worker's bank thread (one at a time)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: func(*args, **kwargs))

    @property
    def bank(self) -> Bank:
        assert self._bank is not None
        return self._bank

    def stop(self) -> None:
        """Stop claiming; finish what is in flight, give back what was not sent."""
        self.stopping = True
        self._room.set()

    # -- main -----------------------------------------------------------------------------
    async def run(self) -> WorkerStats:
        cfg = self.config
        start = time.perf_counter()
        self._slots = asyncio.Semaphore(cfg.concurrency)
        self._pending_event = asyncio.Event()
        self._room = asyncio.Event()
        self._bank = await self.db(open_bank, self.bank_url)
        try:
            await self.db(outbox.reclaim_expired, self.bank, max_attempts=cfg.max_attempts)
            connector = aiohttp.TCPConnector(limit=cfg.concurrency, ttl_dns_cache=300)
            async with aiohttp.ClientSession(connector=connector) as session:
                self._sender = Sender(session, self.channels)
                recorder = asyncio.create_task(self._recorder())
                heartbeat = asyncio.create_task(self._heartbeat())
                try:
                    if cfg.broker:
                        from tangguh.warning.delivery.broker import broker_loop

                        await broker_loop(self)
                    else:
                        await self._embedded_loop()
                    while self.backlog > 0:
                        self._room.clear()
                        await self._room.wait()
                finally:
                    heartbeat.cancel()
                    self._pending_event.set()
                    recorder.cancel()
                    await asyncio.gather(recorder, heartbeat, return_exceptions=True)
                    if self._pending:
                        await self._flush()
            if self._unsent:
                await self.db(outbox.release, self.bank, cfg.worker_id, self._unsent)
        finally:
            await self.db(self.bank.close)
            self._executor.shutdown(wait=True)
        self.stats.seconds = time.perf_counter() - start
        log.info("worker %s done: %s", cfg.worker_id, self.stats.to_json())
        return self.stats

    async def _embedded_loop(self) -> None:
        cfg = self.config
        last_reclaim = time.monotonic()
        while not self.stopping:
            if time.monotonic() - last_reclaim > cfg.lease / 2:
                await self.db(outbox.reclaim_expired, self.bank, max_attempts=cfg.max_attempts)
                last_reclaim = time.monotonic()
            if self.backlog >= cfg.batch:
                self._room.clear()
                await self._room.wait()
                continue
            items = await self.db(
                outbox.claim, self.bank, cfg.worker_id, cfg.batch, lease=cfg.lease
            )
            if items:
                await self.dispatch(items)
                continue
            if await self.idle_done():
                return
            await asyncio.sleep(cfg.poll)

    async def idle_done(self) -> bool:
        """With ``stop_when_idle``: True when nothing is in flight or due soon."""
        cfg = self.config
        if not cfg.stop_when_idle or self.backlog > 0:
            return False
        due = await self.db(outbox.next_due, self.bank)
        return due is None or due > datetime.now(UTC) + timedelta(seconds=cfg.idle_horizon)

    async def dispatch(self, items: list[Claimed]) -> None:
        """Start sending claimed deliveries."""
        missing = {i.message_id for i in items} - self.contents.keys()
        if missing:
            self.contents.update(await self.db(outbox.messages, self.bank, missing))
        self.stats.claimed += len(items)
        self.backlog += len(items)
        for item in items:
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, item: Claimed) -> None:
        bucket = self.buckets.get(item.channel)
        if bucket is not None and not self.stopping:
            await bucket.take()
        await self._slots.acquire()
        if self.stopping:
            self._slots.release()
            self._unsent.append(item.outbox_id)
            self._done(1)
            return
        result = await self._sender.send(item, self.contents[item.message_id])
        cfg = self.config
        if result.ok:
            out = Outcome(item.outbox_id, item.attempt, "sent", result.http_status)
        elif result.retryable and item.attempt < cfg.max_attempts:
            delay = outbox.backoff(item.attempt, cfg.backoff_base, cfg.backoff_cap)
            delay = max(delay, result.retry_after or 0.0)
            out = Outcome(
                item.outbox_id,
                item.attempt,
                "retry",
                result.http_status,
                result.error,
                datetime.now(UTC) + timedelta(seconds=delay),
            )
        else:
            out = Outcome(item.outbox_id, item.attempt, "dead", result.http_status, result.error)
        self._pending.append(out)
        self._pending_event.set()

    def _done(self, n: int) -> None:
        self.backlog -= n
        if self.backlog < self.config.batch:
            self._room.set()

    async def _recorder(self) -> None:
        while True:
            await self._pending_event.wait()
            self._pending_event.clear()
            if self._pending:
                try:
                    await self._flush()
                except Exception:  # the bank is briefly unavailable: keep and retry
                    log.exception("recording receipts failed; retrying")
                    await asyncio.sleep(1.0)
                    self._pending_event.set()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            await self.db(outbox.record, self.bank, self.config.worker_id, batch)
        except BaseException:
            self._pending[:0] = batch
            raise
        for out in batch:
            if out.outcome == "sent":
                self.stats.sent += 1
            elif out.outcome == "retry":
                self.stats.failed += 1
            else:
                self.stats.dead += 1
            self._slots.release()
        ids = [o.outbox_id for o in batch]
        for callback in self.on_recorded:
            res = callback(ids)
            if asyncio.iscoroutine(res):
                await res
        self._done(len(batch))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(max(0.2, self.config.lease / 3))
            if self.backlog:
                await self.db(
                    outbox.renew_leases, self.bank, self.config.worker_id, self.config.lease
                )


def run_worker(
    bank_url: str,
    *,
    worker_id: str | None = None,
    batch: int = 500,
    concurrency: int = 64,
    stop_when_idle: bool = False,
    broker: str | None = None,
    channels: ChannelConfig | None = None,
    handle_signals: bool = False,
    **options: Any,
) -> WorkerStats:
    """Run a worker until stopped (SIGTERM/SIGINT with ``handle_signals``) or idle.

    ``options`` are further :class:`WorkerConfig` fields (``lease``, ``max_attempts``,
    ``backoff_base``, ``rates``, ``idle_horizon``, ``reclaim_idle`` …).
    """
    config = WorkerConfig(
        worker_id=worker_id or default_worker_id(),
        batch=batch,
        concurrency=concurrency,
        stop_when_idle=stop_when_idle,
        broker=broker,
        **options,
    )
    worker = Worker(bank_url, config, channels)

    async def main() -> WorkerStats:
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, worker.stop)
        return await worker.run()

    return asyncio.run(main())
