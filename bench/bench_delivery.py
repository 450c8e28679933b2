"""Alert delivery: fan-out enqueue of 500,000 households, and worker throughput.

(a) ``enqueue`` of one alert to 500,000 active subscribers (one webhook channel each)
    on a GeoPackage bank: the whole call (unit expansion, message rendering, the one
    ``INSERT … SELECT`` with its unique idempotency index). Baseline, same run: a bare
    ``INSERT INTO plain_table SELECT …`` of the same rows with sqlite3, no indexes.
    Target: <= 2 s.
(b) delivery to a loopback webhook receiver (aiohttp.web in another process): our
    worker (claim with lease, send, record receipts) vs a bare aiohttp client posting
    the same messages (the same webhook bodies: rendered alert in the household's
    language, links, idempotency key) with the same concurrency to the same receiver.
    Target: >= 50 % of the bare client's messages/s.

    python bench/bench_delivery.py [--subscribers 500000] [--messages 20000]
                                   [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _webhook_receiver import Receiver, make_alert

RW = "rw:3171010001001"
KEL = "kelurahan:3171010001"


def make_bank(path: Path, n: int, address: str) -> None:
    """A bank with the small demo city's units and ``n`` active subscribers in one RW."""
    from tangguh.admin.store import save_units
    from tangguh.bank import open_bank
    from tangguh.bank._schema import to_micros
    from tangguh.demo import build_city

    with open_bank(str(path), create=True) as bank:
        save_units(bank, build_city("small").layers["admin_units"], source="demo", synthetic=True)
    now = to_micros(datetime.now(UTC))
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO tg_subscriber (subscriber_id, language, status, rw_id, kelurahan_id, "
            "created, confirmed, token_hash) VALUES (?, ?, 'active', ?, ?, ?, ?, ?)",
            (
                (f"b{i:09d}", "en" if i % 3 == 0 else "id", RW, KEL, now, now, f"h{i}")
                for i in range(n)
            ),
        )
        con.execute(
            "INSERT INTO tg_subscriber_channel SELECT subscriber_id, 'webhook', ?, 1 "
            "FROM tg_subscriber",
            (address,),
        )
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def bench_enqueue(n: int) -> None:
    from tangguh.bank import open_bank
    from tangguh.warning.delivery import enqueue

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fanout.gpkg"
        t0 = time.perf_counter()
        make_bank(path, n, "https://example.org/hook")
        setup = time.perf_counter() - t0

        con = sqlite3.connect(path)
        con.execute("CREATE TABLE plain (m INT, s TEXT, c TEXT, l TEXT, st TEXT, a INT, n INT)")
        t0 = time.perf_counter()
        with con:
            con.execute(
                "INSERT INTO plain SELECT 1, s.subscriber_id, c.channel, s.language, 'queued', "
                "0, 0 FROM tg_subscriber s JOIN tg_subscriber_channel c "
                "ON c.subscriber_id = s.subscriber_id WHERE s.status = 'active' "
                "AND s.rw_id IN (?)",
                (RW,),
            )
        base = time.perf_counter() - t0
        con.execute("DROP TABLE plain")
        con.close()

        with open_bank(str(path)) as bank:
            t0 = time.perf_counter()
            added = enqueue(bank, make_alert([RW], alert_id="BENCH"))
            ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = enqueue(bank, make_alert([RW], alert_id="BENCH"))
            repeat = time.perf_counter() - t0
    print(f"(a) enqueue: {n:,} subscribers (setup {setup:.1f} s)")
    print(f"    baseline bare INSERT…SELECT, no indexes: {base:.2f} s")
    print(
        f"    tangguh enqueue: {ours:.2f} s for {added:,} rows (target <= 2 s: "
        f"{'OK' if ours <= 2 else 'MISSED'}); ratio ours/baseline {ours / base:.2f}x"
    )
    print(f"    enqueue again (idempotent, adds {again}): {repeat:.2f} s")


def same_messages(bank_path: Path, n: int) -> list[dict[str, object]]:
    """The webhook bodies the worker will send (same content, links and key lengths)."""
    import secrets

    from tangguh.bank import open_bank
    from tangguh.warning.delivery import outbox
    from tangguh.warning.delivery.render import links, render_for

    with open_bank(str(bank_path)) as bank:
        (content,) = outbox.messages(bank, [1]).values()
    bodies = []
    for i in range(n):
        lang = "en" if i % 3 == 0 else "id"
        link = links(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        key = f"SEND:1:b{i:09d}:webhook"
        bodies.append(
            {"idempotency_key": key, **render_for(content, lang, "webhook", link)["payload"]}
        )
    return bodies


async def bare_client(url: str, bodies: list[dict[str, object]], concurrency: int) -> float:
    """The baseline: a bare aiohttp client posting the same bodies, same concurrency."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: dict[str, object]) -> None:
            async with sem:
                headers = {"Idempotency-Key": f"bare:{body['idempotency_key']}"}
                async with session.post(url, json=body, headers=headers) as resp:
                    await resp.read()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - t0


def bench_delivery(n: int, concurrency: int) -> None:
    from tangguh.bank import open_bank
    from tangguh.warning.delivery import enqueue, run_worker

    os.environ["TANGGUH_DELIVERY_ALLOW_HTTP"] = "1"
    with tempfile.TemporaryDirectory() as tmp, Receiver() as rx:
        path = Path(tmp) / "send.gpkg"
        make_bank(path, n, rx.url)
        with open_bank(str(path)) as bank:
            enqueue(bank, make_alert([RW], alert_id="SEND"))
        bodies = same_messages(path, n)
        asyncio.run(bare_client(rx.url, bodies[:2000], concurrency))  # warm-up
        base = asyncio.run(bare_client(rx.url, bodies, concurrency))
        t0 = time.perf_counter()
        stats = run_worker(str(path), concurrency=concurrency, stop_when_idle=True)
        ours = time.perf_counter() - t0
        seen = rx.stats()
    assert stats.sent == n, stats
    print(f"(b) delivery: {n:,} webhook messages, concurrency {concurrency}")
    print(f"    baseline bare aiohttp client: {n / base:,.0f} msg/s ({base:.2f} s)")
    print(
        f"    tangguh worker (claim, send, record receipts): {n / ours:,.0f} msg/s "
        f"({ours:.2f} s); ratio {base / ours:.0%} of bare (target >= 50 %: "
        f"{'OK' if base / ours >= 0.5 else 'MISSED'})"
    )
    print(f"    receiver saw {seen['accepted']:,} accepted POSTs in total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=500_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    bench_enqueue(args.subscribers)
    bench_delivery(args.messages, args.concurrency)


if __name__ == "__main__":
    main()
