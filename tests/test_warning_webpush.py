"""Web push: the message is encrypted for the browser (RFC 8291) and signed (VAPID).

A local push service (aiohttp in a thread) records what arrives; the test plays the
browser: it made the subscription's key pair, so it decrypts the body with http_ece and
checks the VAPID token against the server's public key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import http_ece
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid

from _webhook_receiver import free_port, make_alert
from tangguh.admin.store import save_units
from tangguh.bank import Bank
from tangguh.warning import subscriptions as subs
from tangguh.warning.delivery import enqueue, report, run_worker

RW1 = "rw:3171010001001"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def push_service() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A push service on loopback that records each push (headers and body)."""
    received: list[dict[str, Any]] = []
    port = free_port()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def endpoint(request: web.Request) -> web.Response:
        received.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=201)

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/push/{token}", endpoint)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_web_push_is_encrypted_for_the_browser_and_vapid_signed(
    bank: Bank, push_service: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tangguh.demo import build_city

    base, received = push_service
    monkeypatch.setenv("TANGGUH_DELIVERY_ALLOW_HTTP", "1")
    server = Vapid()
    server.generate_keys()
    monkeypatch.setenv("TANGGUH_VAPID_PRIVATE_KEY", server.private_pem().decode())
    monkeypatch.setenv("TANGGUH_VAPID_SUBJECT", "mailto:bpbd@example.org")
    # The browser's subscription: its own P-256 key pair and auth secret.
    browser = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    p256dh = browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    subscription = {
        "endpoint": f"{base}/push/abc123",
        "keys": {"p256dh": _b64(p256dh), "auth": _b64(auth)},
    }
    save_units(bank, build_city("small", seed=0).layers["admin_units"], source="demo")
    sub = subs.subscribe(
        bank, rw=RW1, language="en", channels={"webpush": json.dumps(subscription)}
    )
    subs.confirm(bank, sub.token)
    assert enqueue(bank, make_alert([RW1], level=2)) == 1
    stats = run_worker(bank.url, stop_when_idle=True)
    assert stats.sent == 1, stats
    (push,) = received
    headers = push["headers"]
    assert headers["Content-Encoding"] == "aes128gcm" and headers["Urgency"] == "high"
    assert int(headers["TTL"]) >= 60
    # The browser decrypts the message.
    clear = http_ece.decrypt(
        push["body"], private_key=browser, auth_secret=auth, version="aes128gcm"
    )
    message = json.loads(clear)
    assert message["alert_id"] == "A-TEST" and "Manggarai" in message["title"]
    # The push service checks the VAPID token: signed by our key, for its origin.
    scheme, _, params = headers["Authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    claims = json.loads(base64.urlsafe_b64decode(fields["t"].split(".")[1] + "=="))
    assert claims["aud"] == base and claims["sub"] == "mailto:bpbd@example.org"
    public = Vapid.from_raw_public(fields["k"].encode())
    assert public.verify_token(
        validation_token=fields["t"].rsplit(".", 1)[0].encode(),
        verification_token=fields["t"].rsplit(".", 1)[1],
    )
    assert report(bank, "A-TEST")["total"]["sent"] == 1
