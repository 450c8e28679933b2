"""The automatic chain: a reading arrives, the rule fires, the alert goes out.

``process(bank, readings)`` runs the accepted readings through the rule engine; each
trigger becomes (or updates) an alert, which the issue policy issues at once or leaves
for an operator. Issuing an alert, automatically here or later by ``approve``, runs the
issue hooks inside the same transaction: the deliveries to every subscribed household
of the warned units are queued and the SOP incident gets its tasks. So a reading that
crosses Siaga 3 ends, in one call, as an issued CAP message, queued messages and an
incident; nothing half-done is left if any stage fails.

Import this module (the CLI does) to register the hooks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tangguh.bank.base import Bank
from tangguh.warning import alerts, delivery, sop
from tangguh.warning.model import AlertRecord, Reading, Trigger
from tangguh.warning.rules import RuleEngine

__all__ = ["ChainResult", "after_issue", "install_hooks", "on_accepted", "process"]

log = logging.getLogger(__name__)


@dataclass
class ChainResult:
    """What one batch of readings caused."""

    triggers: list[Trigger] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    queued: int = 0
    incidents: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "transitions": [
                {
                    "station_id": t.transition.station_id,
                    "t": t.transition.t.isoformat(),
                    "from": t.transition.previous,
                    "to": t.transition.level,
                    "areas": len(t.areas),
                }
                for t in self.triggers
            ],
            "alerts": [
                {"alert_id": a.alert_id, "version": a.version, "status": a.status}
                for a in self.alerts
            ],
            "queued": self.queued,
            "incidents": self.incidents,
            "seconds": round(self.seconds, 3),
        }


# Counters of the hooks, per process, so ``process`` can report what issuing caused.
_last: dict[str, object] = {"queued": 0, "incidents": []}


def after_issue(bank: Bank, alert: AlertRecord) -> None:
    """Issue hook: queue the deliveries and open or escalate the incident.

    Runs inside the transaction that issues ``alert``: if either stage fails, the
    alert stays unissued.
    """
    queued = delivery.enqueue(bank, alert)
    _last["queued"] = int(_last["queued"]) + queued  # type: ignore[call-overload]
    # A Cancel (all clear) also goes to the households; the incident records it and
    # stays open until an operator closes it.
    incident = sop.open_incident(bank, alert, actor="rules")
    ids = _last["incidents"]
    assert isinstance(ids, list)
    if incident.incident_id not in ids:
        ids.append(incident.incident_id)
    log.info("alert %s v%s issued: %s deliveries queued", alert.alert_id, alert.version, queued)


def install_hooks() -> None:
    """Register :func:`after_issue` with the alerts module (idempotent)."""
    alerts.register_issue_hook(after_issue)


def process(
    bank: Bank,
    readings: Sequence[Reading],
    *,
    policy: alerts.IssuePolicy | None = None,
    now: datetime | None = None,
) -> ChainResult:
    """Run accepted readings through rules → alerts → (policy) → deliveries + incident."""
    install_hooks()
    started = time.perf_counter()
    _last["queued"] = 0
    _last["incidents"] = []
    result = ChainResult()
    good = [r for r in readings if r.quality in ("ok", "good", "")]
    if good:
        with bank.begin():
            result.triggers = RuleEngine(bank).evaluate(good)
            for trigger in result.triggers:
                record = alerts.create_from_trigger(bank, trigger, policy=policy, now=now)
                if record is not None:  # None: back to normal with no open alert
                    result.alerts.append(record)
    result.queued = int(_last["queued"])  # type: ignore[call-overload]
    ids = _last["incidents"]
    assert isinstance(ids, list)
    result.incidents = list(ids)
    result.seconds = time.perf_counter() - started
    return result


def on_accepted(bank: Bank, readings: list[Reading]) -> None:
    """Callback for ``ingest.accept`` / ``MqttIngest``: run accepted readings through the chain."""
    result = process(bank, readings)
    if result.alerts:
        log.info(
            "%d transition(s) -> alerts %s, %d deliveries queued, incidents %s",
            len(result.triggers),
            [f"{a.alert_id} v{a.version} {a.status}" for a in result.alerts],
            result.queued,
            result.incidents,
        )
