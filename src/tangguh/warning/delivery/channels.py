"""Senders, one per channel; every send carries ``Idempotency-Key: <delivery key>``.

* ``webhook``: JSON POST to the subscriber's https URL.
* ``sms``, ``whatsapp``: JSON POST to a gateway (``TANGGUH_SMS_GATEWAY_URL`` /
  ``TANGGUH_WHATSAPP_GATEWAY_URL``, bearer token ``…_TOKEN``) with ``to`` and ``text``.
* ``telegram``: Bot API ``sendMessage`` at ``TANGGUH_TELEGRAM_API_BASE`` (default
  ``https://api.telegram.org``) with ``TANGGUH_TELEGRAM_BOT_TOKEN``.
* ``email``: SMTP (``TANGGUH_SMTP_HOST``/``PORT``/``USER``/``PASSWORD``/``FROM``,
  ``TANGGUH_SMTP_STARTTLS=1``), stdlib ``smtplib`` in a thread; ``Message-ID`` is
  derived from the key so mail systems can drop a re-send.
* ``webpush``: a POST without payload to the subscription endpoint with ``TTL``,
  ``Urgency`` and ``Topic`` (the service worker then fetches the current alerts).
  Payload encryption (RFC 8291) and VAPID (RFC 8292) need a crypto library that is not
  a dependency; a push service that requires VAPID answers 401/403 (recorded as dead).

Errors record the exception class or HTTP status only: never a URL or an address.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import smtplib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiohttp

from tangguh.warning.delivery.outbox import Claimed
from tangguh.warning.delivery.render import links, render_for

log = logging.getLogger("tangguh.warning.delivery.channels")

__all__ = [
    "DEFAULT_RATES",
    "ChannelConfig",
    "SendResult",
    "Sender",
    "TokenBucket",
]

#: Messages per second per worker and channel (None: unlimited). Telegram allows ~30/s
#: per bot; gateways publish their own limits.
DEFAULT_RATES: dict[str, float | None] = {
    "webhook": None,
    "webpush": None,
    "sms": 50.0,
    "whatsapp": 50.0,
    "telegram": 25.0,
    "email": 20.0,
}


@dataclass
class SendResult:
    ok: bool
    retryable: bool = True
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass
class ChannelConfig:
    """Where gateways live and how fast to send; :meth:`from_env` reads ``TANGGUH_*``."""

    sms_url: str | None = None
    sms_token: str | None = None
    whatsapp_url: str | None = None
    whatsapp_token: str | None = None
    telegram_base: str = "https://api.telegram.org"
    telegram_token: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "peringatan@tangguh.invalid"
    smtp_starttls: bool = False
    timeout: float = 15.0
    #: VAPID key (PEM, or the base64url raw private key) and subject ("mailto:…") for
    #: web push (RFC 8292); without a key, pushes go unsigned (many services refuse them)
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:peringatan@tangguh.invalid"
    rates: dict[str, float | None] = field(default_factory=lambda: dict(DEFAULT_RATES))

    @classmethod
    def from_env(cls, rates: dict[str, float | None] | None = None) -> ChannelConfig:
        env = os.environ.get
        merged = dict(DEFAULT_RATES)
        for ch in merged:
            value = env(f"TANGGUH_RATE_{ch.upper()}")
            if value:
                merged[ch] = None if float(value) <= 0 else float(value)
        merged.update(rates or {})
        return cls(
            sms_url=env("TANGGUH_SMS_GATEWAY_URL"),
            sms_token=env("TANGGUH_SMS_GATEWAY_TOKEN"),
            whatsapp_url=env("TANGGUH_WHATSAPP_GATEWAY_URL"),
            whatsapp_token=env("TANGGUH_WHATSAPP_GATEWAY_TOKEN"),
            telegram_base=env("TANGGUH_TELEGRAM_API_BASE", "https://api.telegram.org"),
            telegram_token=env("TANGGUH_TELEGRAM_BOT_TOKEN"),
            smtp_host=env("TANGGUH_SMTP_HOST"),
            smtp_port=int(env("TANGGUH_SMTP_PORT", "25")),
            smtp_user=env("TANGGUH_SMTP_USER"),
            smtp_password=env("TANGGUH_SMTP_PASSWORD"),
            smtp_from=env("TANGGUH_SMTP_FROM", "peringatan@tangguh.invalid"),
            smtp_starttls=env("TANGGUH_SMTP_STARTTLS") == "1",
            timeout=float(env("TANGGUH_DELIVERY_TIMEOUT", "15")),
            vapid_private_key=env("TANGGUH_VAPID_PRIVATE_KEY"),
            vapid_subject=env("TANGGUH_VAPID_SUBJECT", "mailto:peringatan@tangguh.invalid"),
            rates=merged,
        )


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``burst``; ``take`` waits for a token."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = self.burst
        self.t = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
                self.t = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def _classify(status: int, retry_after: str | None) -> SendResult:
    if 200 <= status < 300:
        return SendResult(ok=True, http_status=status)
    retryable = status in (408, 425, 429) or status >= 500
    after = None
    if retry_after:
        try:
            after = float(retry_after)
        except ValueError:
            after = None
    return SendResult(
        ok=False, retryable=retryable, http_status=status, error=f"HTTP {status}", retry_after=after
    )


class Sender:
    """Sends claimed deliveries over one shared ``aiohttp.ClientSession``."""

    def __init__(self, session: aiohttp.ClientSession, config: ChannelConfig) -> None:
        self.session = session
        self.config = config
        self._cache: dict[tuple[int, str, str], dict[str, Any]] = {}
        self._timeout = aiohttp.ClientTimeout(total=config.timeout)
        self._vapid_key: Any = None
        self._webhook_json: dict[tuple[int, str], str] = {}

    def _render(self, item: Claimed, content: dict[str, Any]) -> dict[str, Any]:
        link = links(item.ack_token, item.unsubscribe_token)
        return render_for(content, item.language, item.channel, link)

    async def send(self, item: Claimed, content: dict[str, Any]) -> SendResult:
        try:
            return await self._send(item, content)
        except (TimeoutError, aiohttp.ClientError, OSError, smtplib.SMTPException) as exc:
            permanent = isinstance(exc, smtplib.SMTPRecipientsRefused)
            return SendResult(ok=False, retryable=not permanent, error=type(exc).__name__)
        except Exception as exc:  # a bad address or payload: never stall the worker
            log.warning("delivery %s failed: %s", item.outbox_id, type(exc).__name__)
            return SendResult(ok=False, retryable=False, error=type(exc).__name__)

    async def _post(
        self, url: str, key: str, payload: dict[str, Any] | None, headers: dict[str, str]
    ) -> SendResult:
        headers = {"Idempotency-Key": key, **headers}
        async with self.session.post(
            url, json=payload, headers=headers, timeout=self._timeout
        ) as resp:
            await resp.read()
            return _classify(resp.status, resp.headers.get("Retry-After"))

    def _webhook_body(self, item: Claimed, msg: dict[str, Any]) -> bytes:
        """``{"idempotency_key", **payload}`` as JSON; the part shared by every household
        of one message and language is encoded once."""
        payload = msg["payload"]
        cache_key = (item.message_id, payload["language"])
        shared = self._webhook_json.get(cache_key)
        if shared is None:
            rest = {k: v for k, v in payload.items() if k != "links"}
            shared = json.dumps(rest)[1:-1]
            if len(self._webhook_json) > 1000:  # a long-running worker: keep it small
                self._webhook_json.clear()
            self._webhook_json[cache_key] = shared
        text = (
            f'{{"idempotency_key": {json.dumps(item.key)}, {shared}, '
            f'"links": {json.dumps(payload["links"])}}}'
        )
        return text.encode()

    async def _post_raw(self, url: str, key: str, body: bytes) -> SendResult:
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        async with self.session.post(
            url, data=body, headers=headers, timeout=self._timeout
        ) as resp:
            await resp.read()
            return _classify(resp.status, resp.headers.get("Retry-After"))

    async def _send(self, item: Claimed, content: dict[str, Any]) -> SendResult:
        cfg = self.config
        msg = self._render(item, content)
        ch = item.channel
        if ch == "webhook":
            return await self._post_raw(item.address, item.key, self._webhook_body(item, msg))
        if ch in ("sms", "whatsapp"):
            url = cfg.sms_url if ch == "sms" else cfg.whatsapp_url
            token = cfg.sms_token if ch == "sms" else cfg.whatsapp_token
            if not url:
                return SendResult(ok=False, error=f"{ch} gateway not configured")
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {
                "to": item.address,
                "text": msg["text"],
                "channel": ch,
                "language": item.language,
                "idempotency_key": item.key,
            }
            return await self._post(url, item.key, body, headers)
        if ch == "telegram":
            if not cfg.telegram_token:
                return SendResult(ok=False, error="telegram bot not configured")
            url = f"{cfg.telegram_base.rstrip('/')}/bot{cfg.telegram_token}/sendMessage"
            body = {"chat_id": item.address, "text": msg["text"], "disable_web_page_preview": True}
            return await self._post(url, item.key, body, {})
        if ch == "webpush":
            return await self._webpush(item, content)
        if ch == "email":
            if not cfg.smtp_host:
                return SendResult(ok=False, error="SMTP not configured")
            await asyncio.to_thread(self._smtp, item, msg)
            return SendResult(ok=True)
        return SendResult(ok=False, retryable=False, error=f"unknown channel {ch}")

    async def _webpush(self, item: Claimed, content: dict[str, Any]) -> SendResult:
        """Web push (RFC 8030): the message encrypted for the browser (RFC 8291,
        aes128gcm, with pywebpush/http_ece) and signed with VAPID (RFC 8292).

        The address is the browser's PushSubscription as JSON (``endpoint`` and
        ``keys.p256dh``/``keys.auth``); a bare endpoint URL gets an empty push (the
        service worker then fetches the alert).
        """
        sub: dict[str, Any] = (
            json.loads(item.address) if item.address.startswith("{") else {"endpoint": item.address}
        )
        endpoint = str(sub["endpoint"])
        alert = content["alert"]
        ttl = 3600
        if alert.get("expires"):
            left = datetime.fromisoformat(alert["expires"]) - datetime.now(UTC)
            ttl = max(60, min(86_400, int(left.total_seconds())))
        headers = {
            "Idempotency-Key": item.key,
            "TTL": str(ttl),
            "Urgency": "high" if int(alert.get("level") or 4) <= 2 else "normal",
            "Topic": hashlib.sha256(str(alert["alert_id"]).encode()).hexdigest()[:32],
        }
        body = b""
        keys = sub.get("keys") or {}
        if keys.get("p256dh") and keys.get("auth"):
            from pywebpush import WebPusher

            msg = self._render(item, content)
            data = json.dumps(
                {"title": msg["subject"], "body": msg["text"], "alert_id": alert["alert_id"]},
                ensure_ascii=False,
            ).encode()
            encoded = WebPusher(sub).encode(data, content_encoding="aes128gcm")
            body = encoded["body"]
            headers["Content-Encoding"] = "aes128gcm"
            headers["Content-Type"] = "application/octet-stream"
        headers["Content-Length"] = str(len(body))
        if self.config.vapid_private_key:
            headers.update(self._vapid(endpoint))
        async with self.session.post(
            endpoint, data=body, headers=headers, timeout=self._timeout
        ) as resp:
            await resp.read()
            result = _classify(resp.status, resp.headers.get("Retry-After"))
        if resp.status in (404, 410):  # subscription gone
            result.retryable = False
        return result

    def _vapid(self, endpoint: str) -> dict[str, str]:
        """The VAPID Authorization header for the push service of ``endpoint``."""
        from urllib.parse import urlsplit

        from py_vapid import Vapid

        key = self.config.vapid_private_key or ""
        if self._vapid_key is None:
            self._vapid_key = (
                Vapid.from_pem(key.encode()) if "BEGIN" in key else Vapid.from_string(key)
            )
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self.config.vapid_subject,
            "exp": int(time.time()) + 12 * 3600,
        }
        signed = self._vapid_key.sign(claims)
        return {k: str(v) for k, v in signed.items()}

    def _smtp(self, item: Claimed, msg: dict[str, Any]) -> None:
        cfg = self.config
        assert cfg.smtp_host is not None
        email = EmailMessage()
        email["From"] = cfg.smtp_from
        email["To"] = item.address
        email["Subject"] = msg["subject"]
        digest = hashlib.sha256(item.key.encode()).hexdigest()[:32]
        email["Message-ID"] = f"<{digest}@tangguh>"
        email["Idempotency-Key"] = item.key
        link = links(item.ack_token, item.unsubscribe_token)
        email["List-Unsubscribe"] = f"<{link['unsubscribe']}>"
        email.set_content(msg["text"])
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls()
            if cfg.smtp_user:
                smtp.login(cfg.smtp_user, cfg.smtp_password or "")
            smtp.send_message(email)
