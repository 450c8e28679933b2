"""Delivery: outbox fan-out, channels, worker retries/rate limits, crash safety, report."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from _webhook_receiver import Receiver, bulk_subscribers, make_alert
from conftest import drop_pg_schema, new_pg_url
from tangguh.admin.store import save_units
from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.errors import InputError, NotFoundError
from tangguh.warning import subscriptions as subs
from tangguh.warning.delivery import acknowledge, enqueue, idempotency_key, report, run_worker
from tangguh.warning.delivery.outbox import WIB, ack_token
from tangguh.warning.subscriptions import _hash
from tangguh.warning.tables.delivery import tg_outbox, tg_outbox_message, tg_receipt

RW1 = "rw:3171010001001"
RW2 = "rw:3171010001002"
KEL1 = "kelurahan:3171010001"
RW_OTHER = "rw:3171010002001"
KEL_OTHER = "kelurahan:3171010002"
TANGGUH = str(Path(sys.executable).with_name("tangguh"))


@lru_cache(maxsize=1)
def _units() -> Any:
    from tangguh.demo import build_city

    return build_city("small", seed=0).layers["admin_units"]


@pytest.fixture
def city(bank: Bank) -> Bank:
    save_units(bank, _units(), source="demo", synthetic=True)
    return bank


@pytest.fixture(autouse=True)
def _allow_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGGUH_DELIVERY_ALLOW_HTTP", "1")


def _browser_push_keys() -> dict[str, str]:
    """Keys as a browser's PushSubscription has them (a fresh P-256 pair, 16-byte auth)."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return {"p256dh": b64(point), "auth": b64(os.urandom(16))}


def _rows(bank: Bank) -> list[dict[str, Any]]:
    with bank.connect() as conn:
        return [dict(r) for r in conn.execute(select(tg_outbox)).mappings()]


# -- enqueue -------------------------------------------------------------------------------
def test_enqueue_matches_units_languages_and_is_idempotent(city: Bank) -> None:
    hook = "https://example.org/h"
    rw1 = subs.subscribe(city, rw=RW1, language="id", channels={"webhook": hook}, confirmed=True)
    rw2 = subs.subscribe(
        city,
        rw=RW2,
        language="en",
        channels={"webhook": hook, "sms": "+6281111111111"},
        confirmed=True,
    )
    kel = subs.subscribe(
        city, kelurahan=KEL1, language="en", channels={"webhook": hook}, confirmed=True
    )
    subs.subscribe(city, rw=RW_OTHER, language="id", channels={"webhook": hook}, confirmed=True)

    # an RW warned: its households and the kelurahan-wide ones, not the neighbour RW
    assert enqueue(city, make_alert([RW2])) == 3
    got = {(r["subscriber_id"], r["channel"], r["language"]) for r in _rows(city)}
    assert got == {
        (rw2.subscriber_id, "webhook", "en"),
        (rw2.subscriber_id, "sms", "en"),
        (kel.subscriber_id, "webhook", "en"),
    }
    # the same version again: nothing new; the message text is stored once per version
    assert enqueue(city, make_alert([RW2])) == 0
    # a kelurahan warned reaches every RW of it; a kecamatan every kelurahan below
    assert enqueue(city, make_alert([KEL1], alert_id="A-KEL")) == 4
    assert enqueue(city, make_alert(["kecamatan:3171010"], alert_id="A-KEC")) == 5
    assert enqueue(city, make_alert([RW1], version=2, msg_type="Update")) == 2
    with city.connect() as conn:
        msgs = conn.execute(select(func.count()).select_from(tg_outbox_message)).scalar()
        content = conn.execute(
            select(tg_outbox_message.c.content).where(tg_outbox_message.c.version == 2)
        ).scalar_one()
    assert msgs == 4
    assert content["id"]["subject"].startswith("PEMBARUAN: [Siaga 2]")
    assert content["en"]["subject"].startswith("UPDATE: [Alert level 2]")
    assert rw1.subscriber_id in {r["subscriber_id"] for r in _rows(city)}
    draft = dataclasses.replace(make_alert([RW1], alert_id="A-DRAFT"), status="draft")
    assert enqueue(city, draft) == 0
    rep = report(city, "A-TEST")
    assert rep["versions"] == [1, 2]
    assert rep["total"]["targeted"] == 5 and rep["channels"]["sms"]["queued"] == 1
    with pytest.raises(NotFoundError) as info:
        report(city, "nope")
    assert info.value.message_id


def test_quiet_hours_defer_siaga_3_and_4_but_not_1_and_2(city: Bank) -> None:
    hook = "https://example.org/h"
    now = datetime(2025, 1, 15, 23, 30, 10, tzinfo=WIB)  # 23:30 WIB
    night = subs.subscribe(
        city,
        rw=RW1,
        language="id",
        channels={"webhook": hook},
        quiet_hours="22:00-05:30",
        confirmed=True,
    )
    day = subs.subscribe(
        city,
        rw=RW1,
        language="id",
        channels={"webhook": hook},
        quiet_hours="09:00-17:00",
        confirmed=True,
    )
    assert enqueue(city, make_alert([RW1], level=3), now=now) == 2
    assert enqueue(city, make_alert([RW1], alert_id="A-HIGH", level=1), now=now) == 2
    due = {(r["subscriber_id"], r["message_id"]): r["next_attempt_at"] for r in _rows(city)}
    first, high = sorted({m for _, m in due})
    assert due[(night.subscriber_id, first)] == datetime(2025, 1, 16, 5, 30, tzinfo=WIB)
    assert due[(day.subscriber_id, first)] == now
    assert due[(night.subscriber_id, high)] == now


# -- the worker --------------------------------------------------------------------------------
def test_worker_retries_until_the_receiver_accepts(city: Bank) -> None:
    with Receiver(fail_first=5) as rx:
        for lang in ("id", "en", "id"):
            subs.subscribe(
                city, rw=RW1, language=lang, channels={"webhook": rx.url}, confirmed=True
            )
        assert enqueue(city, make_alert([RW1])) == 3
        stats = run_worker(
            city.url, stop_when_idle=True, backoff_base=0.05, concurrency=2, idle_horizon=10
        )
        keys = rx.keys()
        assert stats.sent == 3 and stats.failed == 5
        assert rx.stats()["posts"] == 8
    assert sorted(keys.values()) == [1, 1, 1]
    rep = report(city, "A-TEST")["total"]
    assert (rep["sent"], rep["failed"], rep["dead"]) == (3, 0, 0)
    with city.connect() as conn:
        outcomes = conn.execute(
            select(tg_receipt.c.outcome, func.count()).group_by(tg_receipt.c.outcome)
        ).all()
    assert dict(outcomes) == {"sent": 3, "failed": 5}


def test_gives_up_after_max_attempts(city: Bank) -> None:
    with Receiver(fail_first=1000) as rx:
        subs.subscribe(city, rw=RW1, language="en", channels={"webhook": rx.url}, confirmed=True)
        enqueue(city, make_alert([RW1]))
        stats = run_worker(
            city.url, stop_when_idle=True, backoff_base=0.01, max_attempts=3, idle_horizon=10
        )
    assert (stats.sent, stats.failed, stats.dead) == (0, 2, 1)
    rep = report(city, "A-TEST")["total"]
    assert rep["dead"] == 1
    assert _rows(city)[0]["last_error"] == "HTTP 500"


def test_rate_limit_is_respected(city: Bank) -> None:
    with Receiver() as rx:
        for _ in range(30):
            subs.subscribe(
                city, kelurahan=KEL1, language="id", channels={"webhook": rx.url}, confirmed=True
            )
        enqueue(city, make_alert([KEL1]))
        start = time.monotonic()
        run_worker(city.url, stop_when_idle=True, rates={"webhook": 20.0}, concurrency=16)
        elapsed = time.monotonic() - start
        times = sorted(rx.times())
    assert len(times) == 30
    # a bucket of 20/s with a burst of 2: 30 sends take at least (30 - 2) / 20 s
    assert times[-1] - times[0] >= (30 - 2) / 20 * 0.95
    assert elapsed >= 1.3
    window = [t for t in times if t - times[0] <= 1.0]
    assert len(window) <= 20 + 2 + 1


class _SmtpResponder:
    """Just enough SMTP to accept mail: records each message's raw text."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.messages: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:
                f.write(b"220 test ESMTP\r\n")
                f.flush()
                while line := f.readline():
                    cmd = line.strip().upper()
                    if cmd == b"DATA":
                        f.write(b"354 go\r\n")
                        f.flush()
                        body = []
                        while (row := f.readline()) not in (b".\r\n", b""):
                            body.append(row)
                        self.messages.append(b"".join(body).decode())
                        f.write(b"250 queued\r\n")
                    elif cmd == b"QUIT":
                        f.write(b"221 bye\r\n")
                        f.flush()
                        break
                    else:
                        f.write(b"250 ok\r\n")
                    f.flush()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[_SmtpResponder]:
    server = _SmtpResponder()
    monkeypatch.setenv("TANGGUH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TANGGUH_SMTP_PORT", str(server.port))
    yield server
    server.close()


def test_every_channel_and_no_contact_in_logs(
    city: Bank, smtp: _SmtpResponder, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    with Receiver() as rx:
        monkeypatch.setenv("TANGGUH_SMS_GATEWAY_URL", rx.base + "/sms")
        monkeypatch.setenv("TANGGUH_SMS_GATEWAY_TOKEN", "gw-token")
        monkeypatch.setenv("TANGGUH_WHATSAPP_GATEWAY_URL", rx.base + "/wa")
        monkeypatch.setenv("TANGGUH_TELEGRAM_API_BASE", rx.base + "/tg")
        monkeypatch.setenv("TANGGUH_TELEGRAM_BOT_TOKEN", "123:abc")
        contacts = {
            "email": "ibu.siti.rw01@example.org",
            "sms": "+6281298765432",
            "whatsapp": "+6281377778888",
            "telegram": "987654321",
            "webhook": rx.url + "/private-path-q9z",
            "webpush": json.dumps(
                {"endpoint": rx.base + "/push/endpoint-x7y", "keys": _browser_push_keys()}
            ),
        }
        sub = subs.subscribe(city, rw=RW1, language="id", channels=contacts)
        subs.confirm(city, sub.token)
        assert enqueue(city, make_alert([RW1])) == 6
        stats = run_worker(city.url, stop_when_idle=True)
        keys = rx.keys()
        runner = CliRunner()
        as_json = runner.invoke(app, ["deliveries", "A-TEST", "--bank", city.url, "--json"])
        table = runner.invoke(app, ["deliveries", "A-TEST", "--bank", city.url])
    assert stats.sent == 6, stats
    expected = {idempotency_key("A-TEST", 1, sub.subscriber_id, ch) for ch in contacts}
    assert set(keys) | {idempotency_key("A-TEST", 1, sub.subscriber_id, "email")} == expected
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert f"Idempotency-Key: A-TEST:1:{sub.subscriber_id}:email" in mail
    assert "Subject: [Siaga 2] Banjir di Manggarai" in mail and "Message-ID:" in mail
    assert json.loads(as_json.output)["total"]["sent"] == 6
    assert "total" in table.output and table.exit_code == 0
    text = (
        caplog.text
        + as_json.output
        + table.output
        + repr(sub)
        + json.dumps(subs.get_public(city, sub.subscriber_id))
    )
    assert sub.subscriber_id in caplog.text  # the logs do talk about the subscriber …
    for contact in [*contacts.values(), "private-path-q9z", "endpoint-x7y"]:
        assert contact not in text  # … never about its contacts


def test_acknowledge_by_signed_link_or_receipt_key(city: Bank) -> None:
    with Receiver() as rx:
        sub = subs.subscribe(
            city, rw=RW1, language="en", channels={"webhook": rx.url}, confirmed=True
        )
        enqueue(city, make_alert([RW1]))
        res = CliRunner().invoke(
            app, ["worker", "--once", "--bank", city.url, "--concurrency", "4", "--json"]
        )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["sent"] == 1
    key = idempotency_key("A-TEST", 1, sub.subscriber_id, "webhook")
    with pytest.raises(NotFoundError):
        acknowledge(city, key + ".deadbeef")
    token = ack_token(_hash(sub.token), key)
    assert acknowledge(city, token) == {"key": key, "acknowledged": True, "first": True}
    assert acknowledge(city, key)["first"] is False  # a gateway receipt later: no change
    assert report(city, "A-TEST")["total"]["acknowledged"] == 1
    with pytest.raises(InputError):
        acknowledge(city, "nonsense")


# -- the acceptance test: kill -9 in the middle of the fan-out --------------------------------
N_CRASH = 20_000


def _worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TANGGUH_DELIVERY_ALLOW_HTTP": "1"}
    cmd = [TANGGUH, "worker", "--bank", url, "--idle-exit", "--lease", "3", *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(rx: Receiver, at_least: int, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen = rx.stats()["accepted"]
        if seen >= at_least:
            return seen
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.01)
    raise AssertionError("the worker made no progress")


def _check_exactly_once(bank: Bank, keys: dict[str, int], concurrency: int) -> None:
    with bank.connect() as conn:
        rows = conn.execute(
            select(tg_outbox.c.id, tg_outbox.c.status, tg_outbox.c.subscriber_id)
        ).all()
        per_row = conn.execute(
            select(tg_receipt.c.outbox_id, func.count())
            .where(tg_receipt.c.outcome == "sent")
            .group_by(tg_receipt.c.outbox_id)
        ).all()
    expected = {idempotency_key("A-CRASH", 1, r.subscriber_id, "webhook") for r in rows}
    assert len(rows) == N_CRASH
    assert set(keys) == expected  # every key reached the receiver at least once
    duplicates = sum(n - 1 for n in keys.values())
    assert duplicates <= concurrency, duplicates  # re-sends only of what was in flight
    assert {r.status for r in rows} == {"sent"}
    assert len(per_row) == N_CRASH and {n for _, n in per_row} == {1}  # recorded once


def _crash_setup(bank: Bank, rx: Receiver) -> None:
    save_units(bank, _units(), source="demo", synthetic=True)
    bulk_subscribers(bank, N_CRASH, RW1, KEL1, "webhook", rx.url)
    assert enqueue(bank, make_alert([RW1], alert_id="A-CRASH")) == N_CRASH


@pytest.mark.slow
def test_crash_embedded_worker_gpkg(tmp_path: Path) -> None:
    url = str(tmp_path / "crash.gpkg")
    concurrency = 32
    with Receiver() as rx, open_bank(url, create=True) as bank:
        _crash_setup(bank, rx)
        first = _worker(url, "--concurrency", str(concurrency), "--batch", "200")
        seen = _wait_for(rx, N_CRASH // 5, first)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = rx.stats()["accepted"]
        assert seen <= before < N_CRASH  # killed in the middle
        assert report(bank, "A-CRASH")["total"]["sending"] > 0  # rows left leased
        second = _worker(url, "--concurrency", str(concurrency), "--batch", "200")
        assert second.wait(timeout=300) == 0, second.stderr.read() if second.stderr else ""
        _check_exactly_once(bank, rx.keys(), concurrency)
        if first.stderr:
            first.stderr.close()
        if second.stderr:
            second.stderr.close()


@pytest.mark.slow
@pytest.mark.postgis
def test_crash_broker_workers_postgis(tmp_path: Path) -> None:
    import redis

    from tangguh.warning.delivery.broker import publish, stream_name

    url = new_pg_url() + f"&rasters={tmp_path / 'r'}"
    client = redis.Redis()
    concurrency = 16
    try:
        with Receiver() as rx, open_bank(url, create=True) as bank:
            _crash_setup(bank, rx)
            assert publish(bank, "redis://127.0.0.1:6379/0") == N_CRASH // 500
            opts = [
                "--broker",
                "redis://127.0.0.1:6379/0",
                "--reclaim-idle",
                "2",
                "--concurrency",
                str(concurrency),
            ]
            a = _worker(url, *opts, "--worker-id", "A")
            b = _worker(url, *opts, "--worker-id", "B")
            _wait_for(rx, N_CRASH // 5, a)
            a.send_signal(signal.SIGKILL)
            a.wait()
            assert rx.stats()["accepted"] < N_CRASH
            a2 = _worker(url, *opts, "--worker-id", "A2")
            for proc in (b, a2):
                assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
            _check_exactly_once(bank, rx.keys(), concurrency)
            pending = client.xpending(stream_name(bank.url), "tangguh-delivery")
            assert pending["pending"] == 0  # every entry acknowledged (the dead one's too)
            for proc in (a, b, a2):
                if proc.stderr:
                    proc.stderr.close()
    finally:
        with open_bank(url) as bank:
            name = stream_name(bank.url)
        client.delete(name, f"{name}:published", f"{name}:lock")
        client.close()
        drop_pg_schema(url)
