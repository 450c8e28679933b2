"""A loopback webhook receiver for delivery tests and the delivery benchmark.

Run as a subprocess: ``python tests/_webhook_receiver.py [--fail-first N]``; it prints
``PORT <n>`` once listening. Every POST is counted by its ``Idempotency-Key`` header;
the first N POSTs answer HTTP 500. ``GET /stats`` -> totals, ``GET /keys`` -> counts per
key, ``GET /times`` -> arrival times (monotonic seconds) of accepted POSTs.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from collections import Counter
from contextlib import closing
from typing import Any

from aiohttp import web


def make_app(fail_first: int = 0) -> web.Application:
    keys: Counter[str] = Counter()
    times: list[float] = []
    state: dict[str, Any] = {"posts": 0, "failed": 0}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        state["posts"] += 1
        if state["failed"] < fail_first:
            state["failed"] += 1
            return web.Response(status=500, text="try again")
        keys[request.headers.get("Idempotency-Key", "")] += 1
        times.append(time.monotonic())
        return web.Response(text="ok")

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "posts": state["posts"],
                "failed": state["failed"],
                "accepted": sum(keys.values()),
                "distinct": len(keys),
            }
        )

    async def all_keys(_request: web.Request) -> web.Response:
        return web.json_response(dict(keys))

    async def all_times(_request: web.Request) -> web.Response:
        return web.json_response(times)

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_get("/keys", all_keys)
    app.router.add_get("/times", all_times)
    app.router.add_post("/{tail:.*}", hook)
    return app


async def serve(fail_first: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(make_app(fail_first), access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock, backlog=1024)
    await site.start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.fail_first))
    except KeyboardInterrupt:
        sys.exit(0)


# -- helpers shared by the delivery tests and the benchmark --------------------------------
class Receiver:
    """The receiver in a subprocess: ``with Receiver() as r: r.url, r.stats(), r.keys()``."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first

    def __enter__(self) -> Receiver:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--fail-first", str(self.fail_first)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/hook"
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def _get(self, path: str) -> Any:
        import json
        import urllib.request

        with urllib.request.urlopen(self.base + path, timeout=30) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, int]:
        return self._get("/stats")  # type: ignore[no-any-return]

    def keys(self) -> dict[str, int]:
        return self._get("/keys")  # type: ignore[no-any-return]

    def times(self) -> list[float]:
        return self._get("/times")  # type: ignore[no-any-return]


def make_alert(
    unit_ids: list[str],
    *,
    alert_id: str = "A-TEST",
    version: int = 1,
    level: int = 2,
    msg_type: str = "Alert",
) -> Any:
    from datetime import UTC, datetime, timedelta

    from tangguh.warning.model import AlertRecord

    now = datetime.now(UTC)
    return AlertRecord(
        alert_id=alert_id,
        version=version,
        identifier=f"{alert_id}-{version}",
        status="issued" if version == 1 else "updated",
        msg_type=msg_type,
        hazard="flood",
        level=level,
        severity="Severe",
        urgency="Immediate",
        certainty="Likely",
        station_id="dsda_manggarai",
        unit_ids=unit_ids,
        headline_id="Banjir di Manggarai",
        headline_en="Flood at Manggarai",
        description_id="Tinggi muka air naik.",
        description_en="The water level is rising.",
        instruction_id="Siapkan evakuasi.",
        instruction_en="Prepare to evacuate.",
        origin="rules",
        created=now,
        updated=now,
        sent=now,
        eta=now + timedelta(hours=3),
        expires=now + timedelta(hours=12),
    )


def bulk_subscribers(
    bank: Any,
    n: int,
    rw_id: str,
    kelurahan_id: str,
    channel: str,
    address: str,
    *,
    prefix: str = "b",
) -> list[str]:
    """``n`` active subscribers in one RW, one channel each (tests and benchmarks only)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from tangguh.warning.tables.delivery import tg_subscriber, tg_subscriber_channel

    now = datetime.now(UTC)
    ids = [f"{prefix}{i:09d}" for i in range(n)]
    step = 50_000
    with bank.begin() as conn:
        for lo in range(0, n, step):
            part = ids[lo : lo + step]
            conn.execute(
                insert(tg_subscriber),
                [
                    {
                        "subscriber_id": sid,
                        "language": "en" if i % 3 == 0 else "id",
                        "status": "active",
                        "rw_id": rw_id,
                        "kelurahan_id": kelurahan_id,
                        "quiet_start": None,
                        "quiet_end": None,
                        "created": now,
                        "confirmed": now,
                        "unsubscribed": None,
                        "token_hash": f"{sid}-synthetic",
                    }
                    for i, sid in enumerate(part, start=lo)
                ],
            )
            conn.execute(
                insert(tg_subscriber_channel),
                [
                    {
                        "subscriber_id": sid,
                        "channel": channel,
                        "address": address,
                        "confirmed": True,
                    }
                    for sid in part
                ],
            )
    return ids
