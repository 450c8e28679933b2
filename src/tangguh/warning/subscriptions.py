"""Subscriptions down to the household: subscribe, confirm, unsubscribe, quiet hours.

A subscriber is one household (or person) with a language (``id`` or ``en``), the unit
it lives in (an RW and its kelurahan, or a kelurahan alone), optional quiet hours in
local time (WIB) and one contact per channel. The unit is resolved once, at subscribe
time: by an address point (``tangguh.admin.store.lookup``), by RW (its kelurahan is the
RW's parent) or by kelurahan (``rw_id`` stays NULL, so any warned RW of the kelurahan
reaches the household).

Contacts live only in ``tg_subscriber_channel``. Nothing here logs them, the public
view (:func:`get_public`) never returns them, and :class:`Subscription`'s ``repr``
masks them. A subscription starts ``pending``; the household confirms it with the
manage token returned once by :func:`subscribe` (only its SHA-256 is stored), and the
same token unsubscribes (one link).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, update

from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.warning.tables.delivery import (
    tg_outbox,
    tg_subscriber,
    tg_subscriber_channel,
)

__all__ = [
    "CHANNELS",
    "LANGUAGES",
    "Subscription",
    "confirm",
    "count_by_unit",
    "get_public",
    "mask_address",
    "parse_quiet_hours",
    "subscribe",
    "unsubscribe",
    "unsubscribe_token",
    "validate_address",
]

log = logging.getLogger("tangguh.warning.subscriptions")

#: Channels a household can be reached on.
CHANNELS: tuple[str, ...] = ("webpush", "email", "sms", "whatsapp", "telegram", "webhook")
LANGUAGES: tuple[str, ...] = ("id", "en")

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_TELEGRAM = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def mask_address(address: str) -> str:
    """A contact with all but a few characters hidden: ``'+6281…89'``, ``'a…@…'``."""
    if not address:
        return ""
    if "@" in address and not address.startswith("@"):
        return address[0] + "…@…"
    if address.startswith(("http://", "https://")):
        parts = urlsplit(address)
        return f"{parts.scheme}://…"
    if len(address) <= 4:
        return "…"
    return address[:3] + "…" + address[-2:]


def _bad_address(
    channel: str, address: str, en: str, id_: str, hint: str, hint_id: str
) -> InputError:
    return InputError(
        f"invalid {channel} contact {mask_address(address)!r}: {en}",
        where=f"channel {channel}",
        hint=hint,
        message_id=f"kontak {channel} {mask_address(address)!r} tidak sah: {id_}",
        hint_id=hint_id,
    )


def _allow_http() -> bool:
    return os.environ.get("TANGGUH_DELIVERY_ALLOW_HTTP") == "1"


def _check_url(channel: str, url: str) -> str:
    parts = urlsplit(url)
    ok_scheme = parts.scheme == "https" or (parts.scheme == "http" and _allow_http())
    if not ok_scheme or not parts.hostname:
        raise _bad_address(
            channel,
            url,
            "not an https URL",
            "bukan URL https",
            "give an https:// URL (http only for local tests with TANGGUH_DELIVERY_ALLOW_HTTP=1)",
            "berikan URL https:// (http hanya untuk uji lokal dengan "
            "TANGGUH_DELIVERY_ALLOW_HTTP=1)",
        )
    return url


def validate_address(channel: str, address: str) -> str:
    """Check one contact and return its normal form (phone numbers in E.164).

    email: ``name@domain.tld``; sms/whatsapp: E.164 (``+6281234567890``; a local
    ``0812…`` number is read as Indonesian, ``+62812…``); webhook: an https URL;
    telegram: a numeric chat id or ``@channel``; webpush: the https endpoint URL or the
    browser's subscription JSON (``{"endpoint": …, "keys": {…}}``).

    Raises
    ------
    InputError
        Unknown channel or a malformed contact (the message masks the contact).
    """
    if channel not in CHANNELS:
        raise InputError(
            f"unknown channel {channel!r}",
            where="channels",
            hint=f"use one of {list(CHANNELS)}",
            message_id=f"kanal {channel!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(CHANNELS)}",
        )
    value = (address or "").strip()
    if channel == "email":
        if len(value) > 254 or not _EMAIL.match(value):
            raise _bad_address(
                channel,
                value,
                "not an e-mail address",
                "bukan alamat e-mail",
                "give an address like name@example.org",
                "berikan alamat seperti nama@contoh.id",
            )
        return value
    if channel in ("sms", "whatsapp"):
        phone = re.sub(r"[\s\-().]", "", value)
        if phone.startswith("0"):
            phone = "+62" + phone[1:]
        elif phone.startswith("62"):
            phone = "+" + phone
        if not _E164.match(phone):
            raise _bad_address(
                channel,
                value,
                "not a phone number in E.164 form",
                "bukan nomor telepon berformat E.164",
                "give the number with its country code, e.g. +6281234567890",
                "berikan nomor dengan kode negara, mis. +6281234567890",
            )
        return phone
    if channel == "telegram":
        if not _TELEGRAM.match(value):
            raise _bad_address(
                channel,
                value,
                "not a Telegram chat id",
                "bukan ID obrolan Telegram",
                "give the numeric chat id (e.g. 123456789) or @channelname",
                "berikan ID obrolan berupa angka (mis. 123456789) atau @namakanal",
            )
        return value
    if channel == "webpush" and value.startswith("{"):
        try:
            sub = json.loads(value)
            endpoint = str(sub["endpoint"])
        except (ValueError, KeyError, TypeError):
            raise _bad_address(
                channel,
                "",
                "not a push subscription",
                "bukan langganan push",
                "give the endpoint URL or the JSON of PushSubscription.toJSON()",
                "berikan URL endpoint atau JSON dari PushSubscription.toJSON()",
            ) from None
        _check_url(channel, endpoint)
        keys = sub.get("keys") or {}
        if keys and not _push_keys_ok(keys):
            raise _bad_address(
                channel,
                "",
                "the push subscription keys are not a P-256 key (p256dh) and a 16-byte auth secret",
                "kunci langganan push bukan kunci P-256 (p256dh) dan rahasia auth 16 bita",
                "send PushSubscription.toJSON() from the browser unchanged",
                "kirim PushSubscription.toJSON() dari peramban tanpa diubah",
            )
        return json.dumps(sub, separators=(",", ":"), sort_keys=True)
    return _check_url(channel, value)


def _push_keys_ok(keys: Any) -> bool:
    """p256dh: an uncompressed P-256 point (65 bytes); auth: 16 bytes (base64url)."""
    import base64

    try:
        p256dh = base64.urlsafe_b64decode(str(keys["p256dh"]) + "==")
        auth = base64.urlsafe_b64decode(str(keys["auth"]) + "==")
    except (KeyError, TypeError, ValueError):
        return False
    return len(p256dh) == 65 and p256dh[0] == 4 and len(auth) == 16


def _minutes(text: str | int) -> int:
    if isinstance(text, int):
        if 0 <= text < 1440:
            return text
    else:
        m = _HHMM.match(text.strip())
        if m:
            return int(m.group(1)) * 60 + int(m.group(2))
    raise InputError(
        f"invalid time of day {text!r}",
        where="quiet hours",
        hint="give HH:MM (local time, WIB), e.g. 22:00-05:00",
        message_id=f"jam {text!r} tidak sah",
        hint_id="berikan JJ:MM (waktu setempat, WIB), mis. 22:00-05:00",
    )


def parse_quiet_hours(value: str | tuple[str | int, str | int] | None) -> tuple[int, int] | None:
    """``"22:00-05:00"`` or ``(start, end)`` (``"HH:MM"`` or minutes) -> WIB minutes.

    Quiet hours may wrap midnight. ``None`` or ``""`` means no quiet hours.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if "-" not in value:
            raise InputError(
                f"invalid quiet hours {value!r}",
                where="quiet hours",
                hint="give START-END in local time (WIB), e.g. 22:00-05:00",
                message_id=f"jam tenang {value!r} tidak sah",
                hint_id="berikan MULAI-SELESAI dalam waktu setempat (WIB), mis. 22:00-05:00",
            )
        start_text, end_text = value.split("-", 1)
        start, end = _minutes(start_text), _minutes(end_text)
    else:
        start, end = _minutes(value[0]), _minutes(value[1])
    if start == end:
        raise InputError(
            "quiet hours start and end at the same time",
            where="quiet hours",
            hint="give two different times, e.g. 22:00-05:00",
            message_id="jam tenang mulai dan selesai pada waktu yang sama",
            hint_id="berikan dua waktu yang berbeda, mis. 22:00-05:00",
        )
    return start, end


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unsubscribe_token(token_hash: str, subscriber_id: str) -> str:
    """A one-click unsubscribe token for messages: ``"<subscriber_id>.<hmac>"``.

    Keyed with the stored hash of the manage token, so the bank needs no other secret
    and the plain manage token is never stored.
    """
    sig = hmac.digest(token_hash.encode(), f"unsubscribe:{subscriber_id}".encode(), "sha256")
    return f"{subscriber_id}.{sig.hex()[:32]}"


@dataclass
class Subscription:
    """What :func:`subscribe` returns. ``token`` is shown once; store it nowhere else."""

    subscriber_id: str
    token: str
    status: str
    language: str
    rw_id: str | None
    kelurahan_id: str | None
    quiet_hours: tuple[int, int] | None
    channels: dict[str, str] = field(default_factory=dict)

    @property
    def confirm_url(self) -> str:
        return f"/subscribe/confirm?token={self.token}"

    @property
    def unsubscribe_url(self) -> str:
        return f"/subscribe/unsubscribe?token={self.token}"

    def __repr__(self) -> str:
        masked = {ch: mask_address(a) for ch, a in self.channels.items()}
        return (
            f"Subscription(subscriber_id={self.subscriber_id!r}, status={self.status!r}, "
            f"language={self.language!r}, rw_id={self.rw_id!r}, "
            f"kelurahan_id={self.kelurahan_id!r}, channels={masked!r}, token='…')"
        )

    __str__ = __repr__

    def to_json(self) -> dict[str, Any]:
        """Public fields plus the token and links (never the contacts)."""
        return {
            "subscriber_id": self.subscriber_id,
            "status": self.status,
            "language": self.language,
            "rw_id": self.rw_id,
            "kelurahan_id": self.kelurahan_id,
            "quiet_hours": _quiet_text(self.quiet_hours),
            "channels": sorted(self.channels),
            "token": self.token,
            "confirm_url": self.confirm_url,
            "unsubscribe_url": self.unsubscribe_url,
        }


def _quiet_text(quiet: tuple[int, int] | None) -> str | None:
    if quiet is None:
        return None
    s, e = quiet
    return f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"


def _resolve_unit(
    bank: Bank,
    point: tuple[float, float] | None,
    rw: str | None,
    kelurahan: str | None,
) -> tuple[str | None, str]:
    from tangguh.warning.delivery.outbox import unit_hierarchy

    given = [x for x in (point, rw, kelurahan) if x is not None]
    if len(given) != 1:
        raise InputError(
            "give exactly one of: an address point, an RW or a kelurahan",
            where="subscribe",
            hint="e.g. --rw rw:3171010001001, --kelurahan kelurahan:3171010001 or --lon/--lat",
            message_id="berikan tepat satu: titik alamat, RW, atau kelurahan",
            hint_id="mis. --rw rw:3171010001001, --kelurahan kelurahan:3171010001 atau --lon/--lat",
        )
    if point is not None:
        from tangguh.admin.store import lookup

        found = lookup(bank, [point]).iloc[0]
        kel = found.get("kelurahan") if "kelurahan" in found.index else None
        rw_found = found.get("rw") if "rw" in found.index else None
        if kel is None or (isinstance(kel, float)):
            raise NotFoundError(
                f"the point {point} is in no kelurahan of the bank",
                where="point",
                hint="check lon/lat order (longitude first, e.g. 106.85 -6.2) or subscribe "
                "by RW/kelurahan",
                message_id=f"titik {point} tidak berada di kelurahan mana pun di bank data",
                hint_id="periksa urutan lon/lat (bujur dahulu, mis. 106.85 -6.2) atau "
                "berlangganan per RW/kelurahan",
            )
        rw_id = None if rw_found is None or isinstance(rw_found, float) else str(rw_found)
        return rw_id, str(kel)
    levels = unit_hierarchy(bank)
    unit = rw if rw is not None else kelurahan
    assert unit is not None
    want = "rw" if rw is not None else "kelurahan"
    if levels is None or unit not in levels.level or levels.level[unit] != want:
        raise NotFoundError(
            f"no {want} {unit!r} in the bank",
            where=want,
            hint="list units with `tangguh admin tree` (ids look like rw:… or kelurahan:…)",
            message_id=f"tidak ada {want} {unit!r} di bank data",
            hint_id="lihat daftar unit dengan `tangguh admin tree` (ID seperti rw:… atau "
            "kelurahan:…)",
        )
    if rw is not None:
        parent = levels.kelurahan_of(rw)
        if parent is None:
            raise NotFoundError(
                f"RW {rw!r} has no kelurahan in the bank",
                where="rw",
                hint="re-import the admin units with their parents",
                message_id=f"RW {rw!r} tidak memiliki kelurahan di bank data",
                hint_id="impor ulang unit wilayah beserta induknya",
            )
        return rw, parent
    return None, unit


def subscribe(
    bank: Bank,
    *,
    point: tuple[float, float] | None = None,
    rw: str | None = None,
    kelurahan: str | None = None,
    language: str = "id",
    channels: dict[str, str],
    quiet_hours: str | tuple[str | int, str | int] | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
) -> Subscription:
    """Register a household; it receives alerts once confirmed.

    Parameters
    ----------
    point:
        ``(lon, lat)`` of the address (EPSG:4326); its RW and kelurahan are looked up.
    rw, kelurahan:
        A unit id of the bank instead of a point (exactly one of the three).
    language:
        ``"id"`` or ``"en"``: the language of every message.
    channels:
        ``{channel: contact}``, e.g. ``{"sms": "+6281234567890"}``; see
        :func:`validate_address`.
    quiet_hours:
        ``"22:00-05:00"`` (WIB): Siaga 3/4 messages wait until the end; Siaga 1-2 never.
    confirmed:
        Activate at once (an operator registering a household in person).

    Returns
    -------
    Subscription
        With the manage ``token`` (shown once) and the confirm/unsubscribe links.
    """
    if language not in LANGUAGES:
        raise InputError(
            f"unknown language {language!r}",
            where="language",
            hint="use 'id' (Bahasa Indonesia) or 'en' (English)",
            message_id=f"bahasa {language!r} tidak dikenal",
            hint_id="gunakan 'id' (Bahasa Indonesia) atau 'en' (English)",
        )
    if not channels:
        raise InputError(
            "give at least one channel",
            where="channels",
            hint=f"one of {list(CHANNELS)}, e.g. --sms +6281234567890",
            message_id="berikan paling sedikit satu kanal",
            hint_id=f"salah satu dari {list(CHANNELS)}, mis. --sms +6281234567890",
        )
    clean = {ch: validate_address(ch, addr) for ch, addr in channels.items()}
    quiet = parse_quiet_hours(quiet_hours)
    rw_id, kel_id = _resolve_unit(bank, point, rw, kelurahan)
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(24)
    sid = "s" + secrets.token_hex(8)
    status = "active" if confirmed else "pending"
    with bank.begin() as conn:
        conn.execute(
            insert(tg_subscriber).values(
                subscriber_id=sid,
                language=language,
                status=status,
                rw_id=rw_id,
                kelurahan_id=kel_id,
                quiet_start=quiet[0] if quiet else None,
                quiet_end=quiet[1] if quiet else None,
                created=now,
                confirmed=now if confirmed else None,
                token_hash=_hash(token),
            )
        )
        conn.execute(
            insert(tg_subscriber_channel),
            [
                {"subscriber_id": sid, "channel": ch, "address": a, "confirmed": confirmed}
                for ch, a in clean.items()
            ],
        )
    log.info("subscriber %s created (%s, %s)", sid, status, rw_id or kel_id)
    return Subscription(sid, token, status, language, rw_id, kel_id, quiet, clean)


def _by_token(conn: Any, token: str) -> dict[str, Any]:
    s = tg_subscriber
    token = (token or "").strip()
    row = None
    if "." in token and token.startswith("s"):
        sid, _sig = token.split(".", 1)
        cand = conn.execute(select(s).where(s.c.subscriber_id == sid)).mappings().first()
        if cand is not None and hmac.compare_digest(
            unsubscribe_token(cand["token_hash"], sid), token
        ):
            row = dict(cand)
            row["_one_click"] = True
    else:
        found = conn.execute(select(s).where(s.c.token_hash == _hash(token))).mappings().first()
        row = dict(found) if found is not None else None
    if row is None:
        raise NotFoundError(
            "unknown or expired subscription token",
            where="token",
            hint="use the link from the subscription message, or subscribe again",
            message_id="token langganan tidak dikenal atau sudah tidak berlaku",
            hint_id="gunakan tautan dari pesan langganan, atau berlangganan lagi",
        )
    return row


def confirm(bank: Bank, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Activate the subscription of ``token`` (idempotent); return its public view."""
    now = now or datetime.now(UTC)
    with bank.begin() as conn:
        row = _by_token(conn, token)
        if row.get("_one_click"):
            raise InputError(
                "an unsubscribe link cannot confirm a subscription",
                where="token",
                hint="use the confirm link you received when subscribing",
                message_id="tautan berhenti berlangganan tidak dapat mengonfirmasi langganan",
                hint_id="gunakan tautan konfirmasi yang diterima saat berlangganan",
            )
        sid = row["subscriber_id"]
        if row["status"] == "unsubscribed":
            raise InputError(
                "this subscription was cancelled",
                where=sid,
                hint="subscribe again",
                message_id="langganan ini sudah dibatalkan",
                hint_id="berlangganan lagi",
            )
        if row["status"] != "active":
            conn.execute(
                update(tg_subscriber)
                .where(tg_subscriber.c.subscriber_id == sid)
                .values(status="active", confirmed=now)
            )
            conn.execute(
                update(tg_subscriber_channel)
                .where(tg_subscriber_channel.c.subscriber_id == sid)
                .values(confirmed=True)
            )
    log.info("subscriber %s confirmed", sid)
    return get_public(bank, sid)


def unsubscribe(bank: Bank, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Stop all deliveries to the subscriber of ``token`` (manage or one-click token).

    Deliveries already queued for it are cancelled in the same transaction; the worker
    also checks the status before every send.
    """
    now = now or datetime.now(UTC)
    with bank.begin() as conn:
        row = _by_token(conn, token)
        sid = row["subscriber_id"]
        if row["status"] != "unsubscribed":
            conn.execute(
                update(tg_subscriber)
                .where(tg_subscriber.c.subscriber_id == sid)
                .values(status="unsubscribed", unsubscribed=now)
            )
            conn.execute(
                update(tg_outbox)
                .where(tg_outbox.c.subscriber_id == sid, tg_outbox.c.status == "queued")
                .values(status="cancelled", last_error="unsubscribed")
            )
    log.info("subscriber %s unsubscribed", sid)
    return get_public(bank, sid)


def get_public(bank: Bank, subscriber_id: str) -> dict[str, Any]:
    """The subscriber as anyone may see it: unit, language, state, channel names only."""
    s, c = tg_subscriber, tg_subscriber_channel
    with bank.connect() as conn:
        row = conn.execute(
            select(
                s.c.subscriber_id,
                s.c.language,
                s.c.status,
                s.c.rw_id,
                s.c.kelurahan_id,
                s.c.quiet_start,
                s.c.quiet_end,
                s.c.created,
                s.c.confirmed,
            ).where(s.c.subscriber_id == subscriber_id)
        ).first()
        if row is None:
            raise NotFoundError(
                f"no subscriber {subscriber_id!r}",
                where="subscriber_id",
                message_id=f"tidak ada pelanggan {subscriber_id!r}",
            )
        chans = conn.execute(
            select(c.c.channel).where(c.c.subscriber_id == subscriber_id).order_by(c.c.channel)
        ).scalars()
        names = list(chans)
    quiet = None if row.quiet_start is None else (int(row.quiet_start), int(row.quiet_end))
    return {
        "subscriber_id": row.subscriber_id,
        "language": row.language,
        "status": row.status,
        "rw_id": row.rw_id,
        "kelurahan_id": row.kelurahan_id,
        "quiet_hours": _quiet_text(quiet),
        "created": row.created.isoformat() if row.created else None,
        "confirmed": row.confirmed.isoformat() if row.confirmed else None,
        "channels": names,
    }


def count_by_unit(bank: Bank) -> list[dict[str, Any]]:
    """Subscribers per unit (RW, or kelurahan for kelurahan-wide ones) and state."""
    s = tg_subscriber
    unit = func.coalesce(s.c.rw_id, s.c.kelurahan_id)
    with bank.connect() as conn:
        rows = conn.execute(
            select(unit.label("unit_id"), s.c.status, func.count().label("n"))
            .group_by(unit, s.c.status)
            .order_by(unit)
        ).all()
    out: dict[str, dict[str, Any]] = {}
    for unit_id, status, n in rows:
        rec = out.setdefault(
            unit_id,
            {"unit_id": unit_id, "active": 0, "pending": 0, "unsubscribed": 0},
        )
        rec[status] = rec.get(status, 0) + int(n)
    return list(out.values())
