"""Value types shared by the stages of the warning chain.

Siaga levels follow the DSDA convention: 4 is normal, 1 the highest alert. A *higher
alert* is therefore a *smaller* number; use :func:`more_severe` rather than ``<``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

__all__ = [
    "AlertRecord",
    "Reading",
    "Siaga",
    "Transition",
    "Trigger",
    "WarnedArea",
    "more_severe",
]


class Siaga(IntEnum):
    """DSDA alert levels: SIAGA_4 normal ... SIAGA_1 highest ("bencana")."""

    SIAGA_1 = 1
    SIAGA_2 = 2
    SIAGA_3 = 3
    SIAGA_4 = 4

    @property
    def label_id(self) -> str:
        return f"Siaga {int(self)}" if self != Siaga.SIAGA_4 else "Siaga 4 (normal)"

    @property
    def label_en(self) -> str:
        names = {1: "Alert level 1 (highest)", 2: "Alert level 2", 3: "Alert level 3"}
        return names.get(int(self), "Alert level 4 (normal)")


def more_severe(a: int, b: int) -> bool:
    """True when Siaga level ``a`` is a higher alert than ``b`` (1 is the highest)."""
    return a < b


@dataclass(frozen=True)
class Reading:
    """One observation of a station as it arrives (``t`` is tz-aware)."""

    station_id: str
    parameter: str
    t: datetime
    value: float | None
    unit: str | None = None
    source: str | None = None
    #: "ok" or a QC flag ("range", "spike", "flat", "stale", ...); flagged readings are
    #: stored but never trigger an alert on their own.
    quality: str = "ok"


@dataclass(frozen=True)
class Transition:
    """A station's Siaga level changed (after dwell/hysteresis)."""

    station_id: str
    parameter: str
    t: datetime
    previous: int
    level: int
    value: float | None
    rule_id: str
    reason_en: str
    reason_id: str

    @property
    def rising(self) -> bool:
        return more_severe(self.level, self.previous)


@dataclass(frozen=True)
class WarnedArea:
    """An admin unit warned by a transition, with the expected arrival time."""

    unit_id: str
    via_station: str
    lead_minutes: int | None = None
    eta: datetime | None = None


@dataclass
class Trigger:
    """A transition and the areas it warns: what an alert is made from."""

    transition: Transition
    hazard: str = "flood"
    areas: list[WarnedArea] = field(default_factory=list)


@dataclass
class AlertRecord:
    """The current version of an alert, as the stages after ``alerts`` see it.

    ``alert_id`` is stable across versions; ``identifier`` is the CAP identifier of this
    version (CAP updates and cancels reference the previous identifiers).
    """

    alert_id: str
    version: int
    identifier: str
    #: draft | approved | issued | updated | cancelled | expired
    status: str
    #: CAP msgType of this version: Alert | Update | Cancel
    msg_type: str
    hazard: str
    #: Siaga level 1..4 (1 highest); external alerts map their severity onto it
    level: int
    severity: str
    urgency: str
    certainty: str
    station_id: str | None
    #: admin units warned (RW and/or kelurahan ``unit_id``s of the bank)
    unit_ids: list[str]
    headline_id: str
    headline_en: str
    description_id: str
    description_en: str
    instruction_id: str
    instruction_en: str
    #: "rules" | "operator" | "external:<sender>"
    origin: str
    created: datetime
    updated: datetime
    sent: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    #: earliest expected arrival over the warned areas (from river links)
    eta: datetime | None = None
