"""Message text: rendered once per alert version (both languages), shaped per channel.

``render_content`` runs once per alert version at enqueue time and is stored in
``tg_outbox_message``; ``render_for`` shapes it for one channel at send time (a few
string joins, cached by the worker per message/language/channel), adding the per
delivery links (acknowledge, unsubscribe).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from tangguh.warning.model import AlertRecord, Siaga

__all__ = ["SMS_LIMIT", "links", "render_content", "render_for"]

_WIB = timezone(timedelta(hours=7), "WIB")
#: Characters of a short message (SMS, WhatsApp preview): two GSM-7 segments.
SMS_LIMIT = 306

_PREFIX = {
    "Update": {"id": "PEMBARUAN", "en": "UPDATE"},
    "Cancel": {"id": "DICABUT", "en": "CANCELLED"},
}


def _wib(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(_WIB).strftime("%d-%m-%Y %H:%M WIB")


def render_content(alert: AlertRecord) -> dict[str, Any]:
    """Subject, full text and short text in ``id`` and ``en`` plus the alert's facts."""
    try:
        level = Siaga(alert.level)
        labels = {"id": level.label_id, "en": level.label_en}
    except ValueError:
        labels = {"id": f"Siaga {alert.level}", "en": f"Alert level {alert.level}"}
    eta = _wib(alert.eta)
    out: dict[str, Any] = {}
    for lang in ("id", "en"):
        headline = getattr(alert, f"headline_{lang}")
        description = getattr(alert, f"description_{lang}")
        instruction = getattr(alert, f"instruction_{lang}")
        prefix = _PREFIX.get(alert.msg_type, {}).get(lang)
        subject = f"[{labels[lang]}] {headline}"
        if prefix:
            subject = f"{prefix}: {subject}"
        lines = [subject]
        if eta:
            lines.append(("Perkiraan tiba: " if lang == "id" else "Expected arrival: ") + eta)
        lines += [t for t in (description, instruction) if t]
        short = subject
        if eta:
            short += (" (tiba ~" if lang == "id" else " (arrives ~") + eta + ")"
        if instruction:
            short += ". " + instruction
        out[lang] = {
            "subject": subject,
            "text": "\n\n".join(lines),
            "short": short[: SMS_LIMIT - 60],
        }
    out["alert"] = {
        "alert_id": alert.alert_id,
        "version": alert.version,
        "identifier": alert.identifier,
        "msg_type": alert.msg_type,
        "status": alert.status,
        "hazard": alert.hazard,
        "level": alert.level,
        "severity": alert.severity,
        "urgency": alert.urgency,
        "certainty": alert.certainty,
        "eta": alert.eta.isoformat() if alert.eta else None,
        "expires": alert.expires.isoformat() if alert.expires else None,
        "sent": alert.sent.isoformat() if alert.sent else None,
    }
    return out


def links(ack_token: str, unsubscribe_token: str) -> dict[str, str]:
    """Acknowledge and unsubscribe links (``TANGGUH_PUBLIC_URL`` + path)."""
    base = os.environ.get("TANGGUH_PUBLIC_URL", "").rstrip("/")
    return {
        # ":" may stand unescaped in a query (RFC 3986 §3.4); with it "safe", quote()
        # takes its fast path for our tokens (subscriber ids, keys, hex signatures).
        "ack": f"{base}/delivery/ack?token={quote(ack_token, safe=':')}",
        "unsubscribe": f"{base}/subscribe/unsubscribe?token={quote(unsubscribe_token, safe=':')}",
    }


def render_for(
    content: dict[str, Any], language: str, channel: str, link: dict[str, str]
) -> dict[str, Any]:
    """The pieces one channel sends: ``subject``, ``text`` and (webhook) ``payload``."""
    lang = language if language in ("id", "en") else "id"
    texts = content[lang]
    if lang == "id":
        ack_line = f"Konfirmasi terima: {link['ack']}"
        stop_line = f"Berhenti: {link['unsubscribe']}"
    else:
        ack_line = f"Acknowledge: {link['ack']}"
        stop_line = f"Stop: {link['unsubscribe']}"
    if channel in ("sms", "whatsapp", "telegram"):
        text = f"{texts['short']}\n{ack_line}" if channel != "sms" else texts["short"]
        return {"subject": texts["subject"], "text": text}
    if channel == "email":
        return {
            "subject": texts["subject"],
            "text": f"{texts['text']}\n\n{ack_line}\n{stop_line}\n",
        }
    return {
        "subject": texts["subject"],
        "text": texts["text"],
        "payload": {
            "language": lang,
            "subject": texts["subject"],
            "text": texts["text"],
            "alert": content["alert"],
            "links": link,
        },
    }
