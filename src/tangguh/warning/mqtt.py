"""MQTT subscriber feeding :func:`tangguh.warning.ingest.accept` (paho-mqtt 2.x).

Topic per station: ``<prefix>/<station_id>`` (prefix ``tangguh/obs`` by default). The
payload is JSON, ``{"t": "2026-01-05T07:00:00+07:00", "parameter": "water_level",
"value": 650}`` or the short form ``{"t": ..., "water_level": 650}`` (several parameters
allowed), or a list of such objects. A ``station_id`` in the payload must match the
topic. Every message goes through ``ingest.accept`` with source ``mqtt``.

A bad message (not JSON, wrong topic, rejected readings) is counted and logged with its
topic and reason, never its payload, and never stops the loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tangguh.bank import open_bank
from tangguh.bank.base import Bank
from tangguh.errors import FetchError, TangguhError
from tangguh.warning import ingest, qc

__all__ = ["MqttIngest", "MqttStats"]

log = logging.getLogger(__name__)


@dataclass
class MqttStats:
    """Counters since start."""

    messages: int = 0
    accepted: int = 0
    flagged: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: messages that could not be read at all (not JSON, bad topic)
    bad_messages: int = 0
    #: the last reasons (topic + reason, English), newest last
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=50))

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "accepted": self.accepted,
            "flagged": self.flagged,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "bad_messages": self.bad_messages,
            "errors": list(self.errors),
        }


class MqttIngest:
    """Subscribe to ``<prefix>/+`` and ingest every message.

    Parameters
    ----------
    bank:
        A bank URL (opened by the subscriber, the usual case) or a :class:`Bank` that no
        other thread uses while the subscriber runs (bank objects are not thread-safe;
        messages are handled on paho's network thread).
    host, port, prefix:
        Broker and topic prefix.
    on_accepted:
        Passed to ``ingest.accept`` (e.g. the chain's rule engine).
    """

    def __init__(
        self,
        bank: Bank | str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        prefix: str = "tangguh/obs",
        qos: int = 1,
        on_accepted: ingest.OnAccepted | None = None,
        config: qc.QCConfig | None = None,
        client_id: str | None = None,
        keepalive: int = 30,
    ) -> None:
        self._bank_arg = bank
        self._bank: Bank | None = bank if isinstance(bank, Bank) else None
        self.host = host
        self.port = port
        self.prefix = prefix.rstrip("/")
        self.qos = qos
        self.on_accepted = on_accepted
        self.config = config
        self.keepalive = keepalive
        self.stats = MqttStats()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"tangguh-ingest-{uuid.uuid4().hex[:8]}",
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._running = False

    @property
    def topic(self) -> str:
        return f"{self.prefix}/+"

    # -- paho callbacks (network thread) -----------------------------------------------------
    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT connect refused by %s:%s: %s", self.host, self.port, reason)
            return
        client.subscribe(self.topic, qos=self.qos)

    def _on_subscribe(self, _c: paho.Client, _u: Any, _mid: Any, _rc: Any, _p: Any) -> None:
        self._ready.set()

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        try:
            self.handle(message.topic, bytes(message.payload))
        except Exception as exc:  # never let one message stop the loop
            self.stats.bad_messages += 1
            self._note(message.topic, f"internal error: {type(exc).__name__}: {exc}")
            log.exception("MQTT message on %s failed", message.topic)

    def _note(self, topic: str, reason: str) -> None:
        self.stats.errors.append(f"{topic}: {reason}")
        log.warning("MQTT %s: %s", topic, reason)

    # -- handling ---------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> ingest.IngestReport | None:
        """Ingest one message (also usable without a broker); None for a bad message."""
        with self._lock:
            self.stats.messages += 1
            station = topic[len(self.prefix) + 1 :] if topic.startswith(self.prefix + "/") else ""
            if not station or "/" in station:
                self.stats.bad_messages += 1
                self._note(topic, f"topic is not {self.prefix}/<station_id>")
                return None
            try:
                data = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                self.stats.bad_messages += 1
                self._note(topic, f"payload is not JSON ({type(exc).__name__})")
                return None
            if not isinstance(data, dict | list):
                self.stats.bad_messages += 1
                self._note(topic, "payload is not a JSON object or list")
                return None
            records: list[dict[str, Any] | None] = []
            for rec in ingest.records_from_payload(data):
                given = None if rec is None else rec.get("station_id")
                if given is not None and str(given) != station:
                    self.stats.rejected += 1
                    self._note(topic, "station_id in the payload differs from the topic")
                    continue
                records.append(None if rec is None else {**rec, "station_id": station})
            try:
                report = ingest.accept(
                    self.bank,
                    records,
                    source="mqtt",
                    on_accepted=self.on_accepted,
                    config=self.config,
                )
            except TangguhError as exc:
                self.stats.bad_messages += 1
                self._note(topic, exc.message)
                return None
            self.stats.accepted += report.accepted
            self.stats.flagged += report.flagged
            self.stats.duplicates += report.duplicates
            self.stats.rejected += len(report.rejected)
            for rej in report.rejected:
                self._note(topic, f"reading {rej.row} rejected: {rej.reason_en}")
            return report

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def bank(self) -> Bank:
        if self._bank is None:
            assert isinstance(self._bank_arg, str)
            self._bank = open_bank(self._bank_arg, create=False)
        return self._bank

    def start(self, *, timeout: float = 10.0) -> None:
        """Connect, subscribe and run the network loop in the background.

        Returns once the subscription is active; raises :class:`FetchError` if the
        broker cannot be reached within ``timeout`` seconds.
        """
        _ = self.bank
        try:
            self._client.connect(self.host, self.port, keepalive=self.keepalive)
        except OSError as exc:
            raise FetchError(
                f"cannot connect to the MQTT broker {self.host}:{self.port}: {exc}",
                where=f"mqtt://{self.host}:{self.port}",
                hint="check --host/--port and that the broker runs",
                message_id=f"tidak dapat terhubung ke broker MQTT {self.host}:{self.port}: {exc}",
                hint_id="periksa --host/--port dan bahwa broker berjalan",
            ) from exc
        self._client.loop_start()
        self._running = True
        if not self._ready.wait(timeout):
            self.stop()
            raise FetchError(
                f"no subscription to {self.topic} within {timeout:g} s",
                where=f"mqtt://{self.host}:{self.port}",
                hint="check the broker's access rules for this topic",
                message_id=f"tidak ada langganan ke {self.topic} dalam {timeout:g} detik",
                hint_id="periksa aturan akses broker untuk topik ini",
            )

    def stop(self) -> None:
        """Disconnect and stop the loop; close the bank if the subscriber opened it."""
        if self._running:
            self._client.disconnect()
            self._client.loop_stop()
            self._running = False
        # paho closes its internal socket pair only in __del__, which a reference cycle
        # (our callbacks) delays to some garbage collection (paho issue #627).
        reset = getattr(self._client, "_reset_sockets", None)
        if callable(reset):
            reset()
        if isinstance(self._bank_arg, str) and self._bank is not None:
            self._bank.close()
            self._bank = None

    def run(self, seconds: float | None = None) -> MqttStats:
        """Blocking: run until ``seconds`` have passed (forever if None) or Ctrl-C."""
        self.start()
        try:
            end = None if seconds is None else time.monotonic() + seconds
            while end is None or time.monotonic() < end:
                time.sleep(0.2 if end is None else max(0.0, min(0.2, end - time.monotonic())))
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return self.stats

    def __enter__(self) -> MqttIngest:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
