"""Alert lifecycle: draft -> approved -> issued -> updated -> cancelled / expired.

An alert (``alert_id``) is a series of CAP messages (versions). Triggers from the rule
engine (:func:`create_from_trigger`) and external CAP messages (:func:`ingest_external`)
make versions; the :class:`IssuePolicy` decides which versions are issued at once and
which wait for BPBD approval (:func:`approve`). Every version's CAP XML is validated
against the CAP 1.2 XSD before it is stored (drafts with CAP status ``Draft``; the
issued message is rebuilt with its real ``sent`` time). Every state change is logged
in ``tg_alert_event`` with actor and time.

Issue hooks (:func:`register_issue_hook`) run inside the same bank transaction as the
status change whenever a version is issued (Alert, Update, or a Cancel of an alert
that had been issued): delivery queueing and incident creation are atomic with the
issue, and a hook that raises rolls the issue back.
"""

from __future__ import annotations

import logging
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, RowMapping, insert, select, update

from tangguh.admin.store import ADMIN_LAYER
from tangguh.bank import Bank
from tangguh.bank import _schema as S
from tangguh.errors import InputError, NotFoundError
from tangguh.warning import cap as C
from tangguh.warning.model import AlertRecord, Siaga, Trigger, more_severe
from tangguh.warning.tables.alerts import (
    tg_alert,
    tg_alert_event,
    tg_alert_policy,
    tg_alert_version,
)

__all__ = [
    "DKI_BBOX",
    "OPEN_STATUSES",
    "IssueHook",
    "IssuePolicy",
    "approve",
    "cancel",
    "cap_xml",
    "clear_issue_hooks",
    "create_from_trigger",
    "events",
    "expire_due",
    "feed",
    "get",
    "ingest_external",
    "issue",
    "list_alerts",
    "load_policy",
    "register_issue_hook",
    "save_policy",
    "versions",
]

log = logging.getLogger(__name__)

#: Statuses of an alert that is still open (a trigger updates it rather than making a new one).
OPEN_STATUSES = ("draft", "approved", "issued", "updated")
#: Mainland DKI Jakarta (lon/lat), the city when the bank has no admin units.
DKI_BBOX = (106.68, -6.38, 106.98, -6.08)
AUTOMATIC = "automatic"
APPROVAL = "approval"
_MODES = (AUTOMATIC, APPROVAL)
_CAP_STATUSES = ("Actual", "Exercise", "Test")

IssueHook = Callable[[Bank, AlertRecord], None]
_hooks: list[IssueHook] = []


def register_issue_hook(fn: IssueHook) -> None:
    """Call ``fn(bank, record)`` inside the issuing transaction of every issued version."""
    if fn not in _hooks:
        _hooks.append(fn)


def clear_issue_hooks() -> None:
    """Forget all issue hooks (for tests)."""
    _hooks.clear()


# -- policy -----------------------------------------------------------------------------


def _policy_error(key: str, value: Any, allowed: str) -> InputError:
    return InputError(
        f"issue policy: {key} = {value!r} is not allowed",
        message_id=f"kebijakan penerbitan: {key} = {value!r} tidak diizinkan",
        where=f"policy {key}",
        hint=f"use {allowed}",
        hint_id=f"gunakan {allowed}",
    )


@dataclass
class IssuePolicy:
    """Which alert versions are issued at once and which wait for BPBD approval.

    Default (Jakarta): Siaga 3 automatic, Siaga 2 and Siaga 1 need BPBD approval;
    downgrades (an Update to a lower level) and cancellations are automatic, because
    delaying an all-clear or a lower level keeps people on a warning that no longer
    holds. External (relayed) alerts follow the level rule of the level their CAP
    severity maps to (``external = "by_level"``), or ``"automatic"``/``"approval"``.
    ``expires_hours``: an issued version expires this long after it is sent unless a
    newer version replaces it. ``cap_status``: ``Actual``, or ``Exercise``/``Test``
    for drills.
    """

    levels: dict[int, str] = field(default_factory=lambda: {1: APPROVAL, 2: APPROVAL, 3: AUTOMATIC})
    downgrade: str = AUTOMATIC
    cancel: str = AUTOMATIC
    external: str = "by_level"
    expires_hours: float = 6.0
    sender: str = "tangguh@bpbd.jakarta.go.id"
    sender_name: str = "BPBD DKI Jakarta"
    web: str | None = "https://bpbd.jakarta.go.id/"
    cap_status: str = "Actual"

    def mode(self, level: int) -> str:
        """``automatic`` or ``approval`` for a new alert or an escalation to ``level``."""
        return self.levels.get(int(level), APPROVAL)

    def to_dict(self) -> dict[str, Any]:
        """The flat form used in TOML files (``siaga_1 = "approval"`` …)."""
        out: dict[str, Any] = {f"siaga_{k}": v for k, v in sorted(self.levels.items())}
        out.update(
            downgrade=self.downgrade,
            cancel=self.cancel,
            external=self.external,
            expires_hours=self.expires_hours,
            sender=self.sender,
            sender_name=self.sender_name,
            cap_status=self.cap_status,
        )
        if self.web is not None:
            out["web"] = self.web
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IssuePolicy:
        """Read the flat form; missing keys keep the Jakarta defaults."""
        policy = cls()
        known = {f.name for f in fields(cls)} - {"levels"}
        for key, value in data.items():
            if key.startswith("siaga_"):
                try:
                    level = int(key.removeprefix("siaga_"))
                except ValueError:
                    level = 0
                if level not in (1, 2, 3):
                    raise _policy_error(key, value, "siaga_1, siaga_2, siaga_3")
                if value not in _MODES:
                    raise _policy_error(key, value, "'automatic' or 'approval'")
                policy.levels[level] = str(value)
            elif key in ("downgrade", "cancel"):
                if value not in _MODES:
                    raise _policy_error(key, value, "'automatic' or 'approval'")
                setattr(policy, key, str(value))
            elif key == "external":
                if value not in (*_MODES, "by_level"):
                    raise _policy_error(key, value, "'automatic', 'approval' or 'by_level'")
                policy.external = str(value)
            elif key == "expires_hours":
                if not isinstance(value, int | float) or not 0 < float(value) <= 72:
                    raise _policy_error(key, value, "a number of hours in (0, 72]")
                policy.expires_hours = float(value)
            elif key == "cap_status":
                if value not in _CAP_STATUSES:
                    raise _policy_error(key, value, "Actual, Exercise or Test")
                policy.cap_status = str(value)
            elif key in known:
                if not isinstance(value, str) or (
                    key == "sender" and ("," in value or " " in value)
                ):
                    raise _policy_error(key, value, "a text (sender without spaces or commas)")
                setattr(policy, key, value)
            else:
                raise _policy_error(key, value, "the keys documented in docs/warning-alerts.md")
        return policy

    @classmethod
    def from_toml(cls, path: Path) -> IssuePolicy:
        """Read a TOML file with the flat keys (a ``[policy]`` table is also accepted)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                f"cannot read the issue policy: {exc}",
                message_id=f"kebijakan penerbitan tidak dapat dibaca: {exc}",
                where=str(path),
                hint="give a TOML file like the example in docs/warning-alerts.md",
                hint_id="berikan berkas TOML seperti contoh di docs/warning-alerts.md",
            ) from None
        return cls.from_dict(data.get("policy", data))


def load_policy(bank: Bank) -> IssuePolicy:
    """The bank's stored issue policy, or the Jakarta default."""
    with bank.connect() as conn:
        row = conn.execute(
            select(tg_alert_policy.c.policy).where(tg_alert_policy.c.name == "issue")
        ).first()
    return IssuePolicy.from_dict(row[0]) if row is not None else IssuePolicy()


def save_policy(bank: Bank, policy: IssuePolicy, *, actor: str) -> None:
    """Store ``policy`` as the bank's issue policy (used when no policy is passed)."""
    now = datetime.now(UTC)
    with bank.begin() as conn:
        values = {"policy": policy.to_dict(), "updated": now, "actor": actor}
        done = conn.execute(
            update(tg_alert_policy).where(tg_alert_policy.c.name == "issue").values(**values)
        )
        if done.rowcount == 0:
            conn.execute(insert(tg_alert_policy).values(name="issue", **values))


# -- text ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _templates() -> dict[str, dict[str, str]]:
    text = (
        resources.files("tangguh.warning").joinpath("data/alert_templates.toml").read_text("utf-8")
    )
    return tomllib.loads(text)


def _tpl(hazard: str, key: str) -> str:
    table = _templates()
    return table.get(hazard, {}).get(key) or table["default"][key]


def _wib(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(C.WIB).strftime("%d/%m/%Y %H:%M WIB")


def _area_names(names: list[str]) -> str:
    if len(names) <= 15:
        return ", ".join(names) or "-"
    return ", ".join(names[:15]) + f" (+{len(names) - 15})"


_UNITS = {"water_level": "cm", "rain": "mm", "rainfall": "mm", "tide": "cm"}

_MAPPING = {
    # Siaga level -> (severity, certainty); urgency depends on the ETA (see _urgency)
    1: ("Extreme", "Likely"),
    2: ("Severe", "Likely"),
    3: ("Moderate", "Possible"),
}
#: CAP severity -> Siaga level, for external alerts
_SEVERITY_LEVEL = {"Extreme": 1, "Severe": 2, "Moderate": 3, "Minor": 3, "Unknown": 3}


def _urgency(level: int, eta: datetime | None, now: datetime) -> str:
    """Siaga 1 -> Immediate; otherwise Immediate if the ETA is within 1 h, Future if it is
    more than 6 h away, else Expected."""
    if level == 1:
        return "Immediate"
    if eta is None:
        return "Expected"
    minutes = (eta - now).total_seconds() / 60
    if minutes <= 60:
        return "Immediate"
    return "Future" if minutes > 360 else "Expected"


# -- rows and records --------------------------------------------------------------------------

_FIELDS = [f.name for f in fields(AlertRecord)]
_TIMES = ("created", "updated", "sent", "onset", "expires", "eta")


def _record(row: RowMapping) -> AlertRecord:
    values = {k: row[k] for k in _FIELDS}
    values["unit_ids"] = list(values["unit_ids"] or [])
    return AlertRecord(**values)


def _to_json(rec: AlertRecord) -> dict[str, Any]:
    data = asdict(rec)
    for key in _TIMES:
        data[key] = data[key].isoformat() if data[key] is not None else None
    return data


def _from_json(data: Mapping[str, Any]) -> AlertRecord:
    values = dict(data)
    for key in _TIMES:
        values[key] = datetime.fromisoformat(values[key]) if values.get(key) else None
    return AlertRecord(**{k: values[k] for k in _FIELDS})


def _area_json(area: C.CapArea) -> dict[str, Any]:
    return {
        "desc": area.area_desc,
        "polygons": [C._polygon_text(p) for p in area.polygons],
        "circles": [[c.lat, c.lon, c.radius_km] for c in area.circles],
        "geocodes": [list(g) for g in area.geocodes],
    }


def _area_from_json(data: Mapping[str, Any]) -> C.CapArea:
    polys = []
    for text in data.get("polygons", []):
        pts = [tuple(float(v) for v in pair.split(",")) for pair in text.split()]
        polys.append(Polygon([(lon, lat) for lat, lon in pts]))
    return C.CapArea(
        area_desc=data["desc"],
        polygons=polys,
        circles=[C.CapCircle(*c) for c in data.get("circles", [])],
        geocodes=[(g[0], g[1]) for g in data.get("geocodes", [])],
    )


def _not_found(alert_id: str) -> NotFoundError:
    return NotFoundError(
        f"no alert {alert_id!r}",
        message_id=f"tidak ada peringatan {alert_id!r}",
        where="tg_alert",
        hint="list alerts with `tangguh alerts list`",
        hint_id="lihat daftar peringatan dengan `tangguh alerts list`",
    )


def _row(conn: Connection, alert_id: str) -> RowMapping:
    row = conn.execute(select(tg_alert).where(tg_alert.c.alert_id == alert_id)).mappings().first()
    if row is None:
        raise _not_found(alert_id)
    return row


def _event(
    conn: Connection,
    rec: AlertRecord,
    action: str,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    conn.execute(
        insert(tg_alert_event).values(
            alert_id=rec.alert_id,
            version=rec.version,
            t=now,
            actor=actor,
            action=action,
            status=rec.status,
            note=note,
        )
    )


def _references(conn: Connection, alert_id: str) -> list[str]:
    """``sender,identifier,sent`` of every issued version of the alert, oldest first."""
    rows = conn.execute(
        select(tg_alert_version.c.sender, tg_alert_version.c.identifier, tg_alert_version.c.sent)
        .where(tg_alert_version.c.alert_id == alert_id, tg_alert_version.c.issued_at.is_not(None))
        .order_by(tg_alert_version.c.version)
    ).all()
    return [C.reference(s, i, t) for s, i, t in rows]


def _build(
    rec: AlertRecord, data: Mapping[str, Any], policy: IssuePolicy, refs: list[str], status: str
) -> bytes:
    event = data.get("event")
    return C.build_cap(
        rec,
        sender=policy.sender,
        areas=[_area_from_json(a) for a in data.get("areas", [])],
        references=[*data.get("relay_references", []), *refs],
        web=policy.web,
        status=status,
        sender_name=policy.sender_name,
        event=(event[0], event[1]) if event else None,
        category=data.get("category"),
        parameters=[(p[0], p[1]) for p in data.get("parameters", [])],
        source=data.get("source"),
    )


def _store_version(
    conn: Connection,
    rec: AlertRecord,
    data: dict[str, Any],
    policy: IssuePolicy,
    *,
    actor: str,
    now: datetime,
    note: str | None,
    new_alert: bool,
    issued_version: int | None,
    external_identifier: str | None = None,
) -> AlertRecord:
    """Supersede pending versions, store ``rec`` as a new draft version (CAP status Draft)."""
    if not new_alert:
        pending = conn.execute(
            select(tg_alert_version.c.version).where(
                tg_alert_version.c.alert_id == rec.alert_id,
                tg_alert_version.c.status.in_(("draft", "approved")),
            )
        ).all()
        for (version,) in pending:
            conn.execute(
                update(tg_alert_version)
                .where(
                    tg_alert_version.c.alert_id == rec.alert_id,
                    tg_alert_version.c.version == version,
                )
                .values(status="superseded")
            )
            _event(
                conn, replace(rec, version=version, status="superseded"), "superseded", actor, now
            )
    refs = _references(conn, rec.alert_id) if rec.msg_type in ("Update", "Cancel") else []
    xml = _build(rec, data, policy, refs, "Draft")
    conn.execute(
        insert(tg_alert_version).values(
            alert_id=rec.alert_id,
            version=rec.version,
            identifier=rec.identifier,
            msg_type=rec.msg_type,
            status="draft",
            level=rec.level,
            cap_xml=xml.decode("utf-8"),
            sender=policy.sender,
            sent=rec.updated,
            actor=actor,
            note=note,
            created=now,
            external_identifier=external_identifier,
            record=_to_json(rec),
        )
    )
    row = {k: getattr(rec, k) for k in _FIELDS}
    row.update(data=data, issued_version=issued_version)
    if new_alert:
        conn.execute(insert(tg_alert).values(**row, external_id=external_identifier))
    else:
        if external_identifier is not None:
            row["external_id"] = external_identifier
        conn.execute(update(tg_alert).where(tg_alert.c.alert_id == rec.alert_id).values(**row))
    _event(conn, rec, "created" if new_alert else "updated", actor, now, note)
    return rec


def _issue_in(
    conn: Connection,
    bank: Bank,
    alert_id: str,
    *,
    actor: str,
    now: datetime,
    policy: IssuePolicy,
    approved_by: str | None = None,
) -> AlertRecord:
    """Issue the current (pending) version: rebuild with sent=now, validate, store, hooks."""
    row = _row(conn, alert_id)
    rec = _record(row)
    data = dict(row["data"] or {})
    rec.sent = now
    rec.updated = now
    if rec.msg_type == "Cancel":
        rec.status = "cancelled"
    else:
        rec.status = "issued" if rec.msg_type == "Alert" else "updated"
        if not data.get("external_expires"):
            rec.expires = now + timedelta(hours=policy.expires_hours)
    xml = _build(
        rec,
        data,
        policy,
        _references(conn, alert_id) if rec.msg_type != "Alert" else [],
        policy.cap_status,
    )
    values: dict[str, Any] = {
        "status": "issued",
        "cap_xml": xml.decode("utf-8"),
        "sender": policy.sender,
        "sent": now,
        "issued_by": actor,
        "issued_at": now,
        "record": _to_json(rec),
    }
    if approved_by is not None:
        values.update(approved_by=approved_by, approved_at=now)
    conn.execute(
        update(tg_alert_version)
        .where(tg_alert_version.c.alert_id == alert_id, tg_alert_version.c.version == rec.version)
        .values(**values)
    )
    conn.execute(
        update(tg_alert)
        .where(tg_alert.c.alert_id == alert_id)
        .values(
            status=rec.status,
            sent=now,
            updated=now,
            expires=rec.expires,
            issued_version=rec.version,
        )
    )
    _event(conn, rec, "issued", actor, now)
    for hook in list(_hooks):
        hook(bank, rec)
    return rec


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise InputError(
            "naive time given as now",
            message_id="waktu 'now' tanpa zona waktu",
            where="now",
            hint="give a tz-aware datetime (WIB is +07:00)",
            hint_id="berikan datetime dengan zona waktu (WIB adalah +07:00)",
        )
    return now.astimezone(UTC).replace(microsecond=0)


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def _identifier(alert_id: str, version: int) -> str:
    return f"tangguh-{alert_id}-{version}"


# -- triggers ----------------------------------------------------------------------------------


_ADMIN_CACHE: dict[tuple[str, int], gpd.GeoDataFrame] = {}


def _units(bank: Bank) -> gpd.GeoDataFrame | None:
    """The admin units (read-only; cached per bank and layer version, like the hierarchy)."""
    if not bank.has_layer(ADMIN_LAYER):
        return None
    key = (bank.url, bank.layer(ADMIN_LAYER).current_version)
    if key not in _ADMIN_CACHE:
        _ADMIN_CACHE.clear()
        _ADMIN_CACHE[key] = bank.read_layer(ADMIN_LAYER)
    return _ADMIN_CACHE[key]


def _station(conn: Connection, station_id: str) -> tuple[str, float | None, float | None]:
    row = conn.execute(
        select(S.tg_station.c.name, S.tg_station.c.lon, S.tg_station.c.lat).where(
            S.tg_station.c.station_id == station_id
        )
    ).first()
    if row is None:
        return station_id, None, None
    return (row[0] or station_id), row[1], row[2]


def _trigger_texts(
    hazard: str,
    level: int,
    *,
    station: str,
    station_id: str,
    value: float | None,
    parameter: str,
    t: datetime,
    eta: datetime | None,
    names: list[str],
    cancel_reason: tuple[str, str] | None = None,
    normal: bool = False,
) -> dict[str, str]:
    haz = C.HAZARD_EVENTS.get(hazard, (hazard, hazard, "Other"))
    unit = _UNITS.get(parameter, "")
    shown = "-" if value is None else f"{value:g} {unit}".strip()
    siaga = Siaga(level)
    ctx: dict[str, Any] = {
        "station": station,
        "station_id": station_id,
        "level": level,
        "level_id": siaga.label_id,
        "level_en": siaga.label_en,
        "value": shown,
        "time": _wib(t),
        "eta": _wib(eta),
        "areas": _area_names(names),
        "count": len(names),
        "hazard_id": haz[0].lower(),
        "hazard_en": haz[1].lower(),
        "reason_id": cancel_reason[1] if cancel_reason else "",
        "reason_en": cancel_reason[0] if cancel_reason else "",
    }
    ctx["eta_sentence_id"] = _tpl(hazard, "eta_sentence_id").format(**ctx) if eta else ""
    ctx["eta_sentence_en"] = _tpl(hazard, "eta_sentence_en").format(**ctx) if eta else ""
    if cancel_reason is not None or normal:
        # back to normal: hazard text; operator cancellation: the generic one
        table = hazard if normal else "default"
        return {
            f"{part}_{lang}": _tpl(table, f"cancel_{part}_{lang}").format(**ctx).strip()
            for part in ("headline", "description", "instruction")
            for lang in ("id", "en")
        }
    out = {
        f"{part}_{lang}": _tpl(hazard, f"{part}_{lang}").format(**ctx).strip()
        for part in ("headline", "description")
        for lang in ("id", "en")
    }
    out["instruction_id"] = _tpl(hazard, f"instruction_id_{level}").format(**ctx)
    out["instruction_en"] = _tpl(hazard, f"instruction_en_{level}").format(**ctx)
    return out


def _open_alert(conn: Connection, station_id: str, hazard: str) -> RowMapping | None:
    return (
        conn.execute(
            select(tg_alert)
            .where(
                tg_alert.c.station_id == station_id,
                tg_alert.c.hazard == hazard,
                tg_alert.c.status.in_(OPEN_STATUSES),
                tg_alert.c.origin.not_like("external:%"),
            )
            .order_by(tg_alert.c.created.desc())
        )
        .mappings()
        .first()
    )


def create_from_trigger(
    bank: Bank,
    trigger: Trigger,
    *,
    policy: IssuePolicy | None = None,
    actor: str = "rules",
    now: datetime | None = None,
) -> AlertRecord | None:
    """Make or change the alert of the trigger's station and hazard; apply the policy.

    - rising, no open alert: a new draft (msgType Alert);
    - rising while an alert is open: a new version at the higher level (Update if a
      version was issued, else a new draft Alert replacing the pending one);
    - falling to a still elevated level: a new version at the lower level (a downgrade);
      with no open alert, a new alert at that level;
    - falling to Siaga 4 (normal): a Cancel version if the alert had been issued, else
      the draft is discarded (status cancelled); with no open alert nothing happens and
      None is returned.

    The policy (``policy``, else the bank's :func:`load_policy`) then issues the new
    version at once if automatic for its level (downgrade/cancel rules for Updates to a
    lower level and Cancels), calling the issue hooks in the same transaction; otherwise
    the version waits for :func:`approve`.
    """
    now = _now(now)
    policy = policy or load_policy(bank)
    tr = trigger.transition
    units = _units(bank)
    eta = min((a.eta for a in trigger.areas if a.eta is not None), default=None)
    new_units = list(dict.fromkeys(a.unit_id for a in trigger.areas))
    with bank.begin() as conn:
        station, slon, slat = _station(conn, tr.station_id)
        open_row = _open_alert(conn, tr.station_id, trigger.hazard)
        if open_row is not None and open_row["expires"] is not None and open_row["expires"] <= now:
            _expire(conn, open_row, now)
            open_row = None
        if tr.level >= int(Siaga.SIAGA_4):
            if open_row is None:
                return None
            reason = (tr.reason_en, tr.reason_id)
            return _close(
                conn,
                bank,
                open_row,
                policy,
                actor=actor,
                now=now,
                reason=reason,
                normal=True,
                value=tr.value,
                parameter=tr.parameter,
                t=tr.t,
                station=station,
                units=units,
            )
        level = int(tr.level)
        if open_row is None:
            unit_ids = new_units
        elif tr.rising:
            unit_ids = list(dict.fromkeys([*open_row["unit_ids"], *new_units]))
        else:
            unit_ids = new_units or list(open_row["unit_ids"])
        if (
            open_row is not None
            and open_row["level"] == level
            and set(unit_ids) == set(open_row["unit_ids"])
        ):
            return _record(open_row)
        names = _names(units, unit_ids)
        texts = _trigger_texts(
            trigger.hazard,
            level,
            station=station,
            station_id=tr.station_id,
            value=tr.value,
            parameter=tr.parameter,
            t=tr.t,
            eta=eta,
            names=names,
        )
        areas = C.areas_for_units(units if units is not None else _empty_units(), unit_ids)
        if not unit_ids and slon is not None and slat is not None:
            areas = [C.CapArea(area_desc=station, circles=[C.CapCircle(slat, slon, 2.0)])]
        severity, certainty = _MAPPING[level]
        issued_version = open_row["issued_version"] if open_row is not None else None
        version = (open_row["version"] + 1) if open_row is not None else 1
        alert_id = open_row["alert_id"] if open_row is not None else _new_id()
        rec = AlertRecord(
            alert_id=alert_id,
            version=version,
            identifier=_identifier(alert_id, version),
            status="draft",
            msg_type="Update" if issued_version is not None else "Alert",
            hazard=trigger.hazard,
            level=level,
            severity=severity,
            urgency=_urgency(level, eta, now),
            certainty=certainty,
            station_id=tr.station_id,
            unit_ids=unit_ids,
            origin=open_row["origin"] if open_row is not None else "rules",
            created=open_row["created"] if open_row is not None else now,
            updated=now,
            onset=eta,
            expires=now + timedelta(hours=policy.expires_hours),
            eta=eta,
            headline_id=texts["headline_id"],
            headline_en=texts["headline_en"],
            description_id=texts["description_id"],
            description_en=texts["description_en"],
            instruction_id=texts["instruction_id"],
            instruction_en=texts["instruction_en"],
        )
        data = {
            "areas": [_area_json(a) for a in areas],
            "parameters": [
                ["VALUE", "-" if tr.value is None else f"{tr.value:g}"],
                ["RULE", tr.rule_id],
            ],
            "transition": {
                "t": tr.t.isoformat(),
                "value": tr.value,
                "previous": tr.previous,
                "level": tr.level,
                "rule_id": tr.rule_id,
                "parameter": tr.parameter,
            },
        }
        downgrade = open_row is not None and more_severe(open_row["level"], level)
        note = tr.reason_en
        _store_version(
            conn,
            rec,
            data,
            policy,
            actor=actor,
            now=now,
            note=note,
            new_alert=open_row is None,
            issued_version=issued_version,
        )
        mode = policy.downgrade if downgrade and issued_version is not None else policy.mode(level)
        if mode == AUTOMATIC:
            return _issue_in(conn, bank, alert_id, actor=actor, now=now, policy=policy)
        return rec


def _empty_units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"unit_id": [], "name": []}, geometry=[], crs="EPSG:4326")


def _names(units: gpd.GeoDataFrame | None, unit_ids: list[str]) -> list[str]:
    if units is None or not len(units):
        return list(unit_ids)
    names = units.set_index("unit_id")["name"].to_dict()
    return [str(names.get(u) or u) for u in unit_ids]


def _close(
    conn: Connection,
    bank: Bank,
    row: RowMapping,
    policy: IssuePolicy,
    *,
    actor: str,
    now: datetime,
    reason: tuple[str, str],
    normal: bool,
    value: float | None = None,
    parameter: str = "water_level",
    t: datetime | None = None,
    station: str | None = None,
    units: gpd.GeoDataFrame | None = None,
    force_issue: bool = False,
) -> AlertRecord:
    """Cancel an open alert: a Cancel version if anything was issued, else discard it.

    The Cancel is issued at once when ``force_issue`` (an operator's cancel) or when
    ``policy.cancel`` is automatic.
    """
    current = _record(row)
    if row["issued_version"] is None:
        rec = _end(conn, current, "cancelled", now)
        _event(conn, rec, "discarded", actor, now, reason[0])
        return rec
    data = dict(row["data"] or {})
    if current.origin.startswith("external:"):
        texts = {
            "headline_id": f"DICABUT: {current.headline_id}",
            "headline_en": f"CANCELLED: {current.headline_en}",
            "description_id": f"{current.headline_id} dicabut. {reason[1]}".strip(),
            "description_en": f"{current.headline_en} is cancelled. {reason[0]}".strip(),
            "instruction_id": _tpl("default", "cancel_instruction_id"),
            "instruction_en": _tpl("default", "cancel_instruction_en"),
        }
    else:
        texts = _trigger_texts(
            current.hazard,
            min(current.level, 3),
            station=station or current.station_id or "-",
            station_id=current.station_id or "-",
            value=value,
            parameter=parameter,
            t=t or now,
            eta=None,
            names=_names(units, current.unit_ids),
            cancel_reason=reason,
            normal=normal,
        )
    version = current.version + 1
    rec = replace(
        current,
        version=version,
        identifier=_identifier(current.alert_id, version),
        status="draft",
        msg_type="Cancel",
        level=int(Siaga.SIAGA_4),
        severity="Minor",
        urgency="Past",
        certainty="Observed",
        updated=now,
        onset=None,
        headline_id=texts["headline_id"],
        headline_en=texts["headline_en"],
        description_id=texts["description_id"],
        description_en=texts["description_en"],
        instruction_id=texts["instruction_id"],
        instruction_en=texts["instruction_en"],
    )
    _store_version(
        conn,
        rec,
        data,
        policy,
        actor=actor,
        now=now,
        note=reason[0],
        new_alert=False,
        issued_version=row["issued_version"],
    )
    if force_issue or policy.cancel == AUTOMATIC:
        return _issue_in(conn, bank, current.alert_id, actor=actor, now=now, policy=policy)
    return rec


def _end(conn: Connection, current: AlertRecord, status: str, now: datetime) -> AlertRecord:
    """Close an alert without a new CAP version: discard pending versions, set ``status``."""
    conn.execute(
        update(tg_alert_version)
        .where(
            tg_alert_version.c.alert_id == current.alert_id,
            tg_alert_version.c.status.in_(("draft", "approved")),
        )
        .values(status="discarded")
    )
    conn.execute(
        update(tg_alert)
        .where(tg_alert.c.alert_id == current.alert_id)
        .values(status=status, updated=now)
    )
    return replace(current, status=status, updated=now)


def _expire(conn: Connection, row: RowMapping, now: datetime) -> AlertRecord:
    rec = _end(conn, _record(row), "expired", now)
    _event(conn, rec, "expired", "system", now)
    return rec


# -- operator actions ----------------------------------------------------------------------------


def _wrong_status(
    alert_id: str, status: str, action_en: str, action_id: str, allowed: str
) -> InputError:
    return InputError(
        f"alert {alert_id} is {status}; it cannot be {action_en}",
        message_id=f"peringatan {alert_id} berstatus {status}; tidak dapat {action_id}",
        where=f"alert {alert_id}",
        hint=f"only alerts with status {allowed} can be {action_en}; "
        f"see `tangguh alerts show {alert_id}`",
        hint_id=f"hanya peringatan berstatus {allowed} yang dapat {action_id}; "
        f"lihat `tangguh alerts show {alert_id}`",
    )


def approve(
    bank: Bank,
    alert_id: str,
    *,
    actor: str,
    issue_now: bool = True,
    policy: IssuePolicy | None = None,
    now: datetime | None = None,
) -> AlertRecord:
    """Approve the pending draft of an alert and (by default) issue it in the same step.

    With ``issue_now=False`` the alert becomes ``approved`` and :func:`issue` sends it.
    """
    now = _now(now)
    policy = policy or load_policy(bank)
    with bank.begin() as conn:
        row = _row(conn, alert_id)
        if row["status"] != "draft":
            raise _wrong_status(alert_id, row["status"], "approved", "disetujui", "draft")
        conn.execute(
            update(tg_alert_version)
            .where(
                tg_alert_version.c.alert_id == alert_id,
                tg_alert_version.c.version == row["version"],
            )
            .values(status="approved", approved_by=actor, approved_at=now)
        )
        conn.execute(
            update(tg_alert)
            .where(tg_alert.c.alert_id == alert_id)
            .values(status="approved", updated=now)
        )
        rec = replace(_record(row), status="approved", updated=now)
        _event(conn, rec, "approved", actor, now)
        if not issue_now:
            return rec
        return _issue_in(conn, bank, alert_id, actor=actor, now=now, policy=policy)


def issue(
    bank: Bank,
    alert_id: str,
    *,
    actor: str,
    policy: IssuePolicy | None = None,
    now: datetime | None = None,
) -> AlertRecord:
    """Issue an approved alert version (a draft needs :func:`approve` first)."""
    now = _now(now)
    policy = policy or load_policy(bank)
    with bank.begin() as conn:
        row = _row(conn, alert_id)
        if row["status"] != "approved":
            raise _wrong_status(alert_id, row["status"], "issued", "diterbitkan", "approved")
        return _issue_in(conn, bank, alert_id, actor=actor, now=now, policy=policy)


def cancel(
    bank: Bank,
    alert_id: str,
    *,
    actor: str,
    reason_en: str,
    reason_id: str,
    policy: IssuePolicy | None = None,
    now: datetime | None = None,
) -> AlertRecord:
    """Cancel an open alert: a CAP Cancel (issued at once) if a version had been issued,
    else the draft is discarded. The reason goes into the message and the audit log."""
    now = _now(now)
    policy = policy or load_policy(bank)
    units = _units(bank)
    with bank.begin() as conn:
        row = _row(conn, alert_id)
        if row["status"] not in OPEN_STATUSES:
            raise _wrong_status(
                alert_id, row["status"], "cancelled", "dicabut", ", ".join(OPEN_STATUSES)
            )
        return _close(
            conn,
            bank,
            row,
            policy,
            actor=actor,
            now=now,
            reason=(reason_en, reason_id),
            normal=False,
            units=units,
            force_issue=True,
        )


def expire_due(bank: Bank, now: datetime | None = None) -> list[AlertRecord]:
    """Mark open alerts whose ``expires`` has passed as expired (no CAP message: CAP
    recipients drop a message after its ``expires``); return them."""
    now = _now(now)
    with bank.begin() as conn:
        rows = (
            conn.execute(
                select(tg_alert).where(
                    tg_alert.c.status.in_(OPEN_STATUSES),
                    tg_alert.c.expires.is_not(None),
                    tg_alert.c.expires <= now,
                )
            )
            .mappings()
            .all()
        )
        return [_expire(conn, row, now) for row in rows]


# -- reading -------------------------------------------------------------------------------------


def get(bank: Bank, alert_id: str) -> AlertRecord:
    """The current version of an alert."""
    with bank.connect() as conn:
        return _record(_row(conn, alert_id))


def list_alerts(
    bank: Bank, *, status: str | None = None, active_only: bool = False
) -> list[AlertRecord]:
    """Alerts, most recently updated first; ``active_only``: issued or updated ones
    (a version is out and the alert is neither cancelled nor expired)."""
    query = select(tg_alert).order_by(tg_alert.c.updated.desc(), tg_alert.c.alert_id)
    if status is not None:
        query = query.where(tg_alert.c.status == status)
    if active_only:
        query = query.where(
            tg_alert.c.status.in_(OPEN_STATUSES), tg_alert.c.issued_version.is_not(None)
        )
    with bank.connect() as conn:
        return [_record(r) for r in conn.execute(query).mappings()]


def versions(bank: Bank, alert_id: str) -> list[dict[str, Any]]:
    """The versions of an alert (without the XML), oldest first."""
    cols = [c for c in tg_alert_version.c if c.name not in ("cap_xml", "record")]
    with bank.connect() as conn:
        _row(conn, alert_id)
        rows = conn.execute(
            select(*cols)
            .where(tg_alert_version.c.alert_id == alert_id)
            .order_by(tg_alert_version.c.version)
        ).mappings()
        return [dict(r) for r in rows]


def events(bank: Bank, alert_id: str) -> list[dict[str, Any]]:
    """The audit trail of an alert (every state change with actor and time), oldest first."""
    with bank.connect() as conn:
        _row(conn, alert_id)
        rows = conn.execute(
            select(tg_alert_event)
            .where(tg_alert_event.c.alert_id == alert_id)
            .order_by(tg_alert_event.c.event_id)
        ).mappings()
        return [dict(r) for r in rows]


def cap_xml(bank: Bank, alert_id: str, version: int | None = None) -> bytes:
    """The stored CAP XML of a version (default: the current one)."""
    with bank.connect() as conn:
        row = _row(conn, alert_id)
        number = version if version is not None else row["version"]
        xml = conn.execute(
            select(tg_alert_version.c.cap_xml).where(
                tg_alert_version.c.alert_id == alert_id, tg_alert_version.c.version == number
            )
        ).scalar()
    if xml is None:
        raise NotFoundError(
            f"alert {alert_id} has no version {number}",
            message_id=f"peringatan {alert_id} tidak memiliki versi {number}",
            where=f"alert {alert_id}",
            hint=f"versions 1..{row['version']}",
            hint_id=f"versi 1..{row['version']}",
        )
    return str(xml).encode("utf-8")


def feed(bank: Bank, base_url: str) -> bytes:
    """Atom feed of every issued version (Alert, Update, Cancel), newest first."""
    with bank.connect() as conn:
        rows = conn.execute(
            select(tg_alert_version.c.record).where(tg_alert_version.c.issued_at.is_not(None))
        ).all()
    return C.atom_feed([_from_json(r[0]) for r in rows], base_url=base_url)


# -- external CAP --------------------------------------------------------------------------------


def _hazard_of(event: str, categories: list[str]) -> str:
    text = event.lower()
    for words, hazard in (
        (("banjir rob", "rob ", "coastal"), "tide"),
        (("banjir", "flood"), "flood"),
        (("tsunami",), "tsunami"),
        (("gempa", "earthquake"), "earthquake"),
        (("longsor", "landslide"), "landslide"),
        (("kebakaran", "fire"), "fire"),
        (("hujan", "rain", "petir", "angin", "cuaca", "storm", "thunder"), "weather"),
    ):
        if any(w in text for w in words):
            return hazard
    return "weather" if "Met" in categories else "other"


def _city(units: gpd.GeoDataFrame | None, city_bounds: Any) -> BaseGeometry:
    if city_bounds is not None:
        if isinstance(city_bounds, BaseGeometry):
            return city_bounds
        return box(*city_bounds)
    if units is None or not len(units):
        return box(*DKI_BBOX)
    if "level" in units.columns:
        from tangguh.admin.units import LEVEL_RANK

        top = min(units["level"], key=lambda lv: LEVEL_RANK.get(str(lv), 99))
        units = units[units["level"] == top]
    return shapely.union_all(units.geometry.to_numpy())


def ingest_external(
    bank: Bank,
    xml: bytes,
    *,
    source: str,
    city_bounds: Any = None,
    policy: IssuePolicy | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> AlertRecord | None:
    """Relay an external CAP message (e.g. BMKG) when it touches the city.

    ``xml`` is validated and parsed (:func:`~tangguh.warning.cap.parse_cap`; a malformed
    message raises and nothing is stored). The city is ``city_bounds`` (a shapely
    geometry or a lon/lat bbox), else the union of the bank's top-level admin units,
    else :data:`DKI_BBOX`. The message touches the city when a polygon or circle
    intersects it or a geocode equals a unit's ``unit_id``/BPS/Kemendagri code; if not,
    or if its status is not ``Actual``, None is returned and nothing is stored.
    The same identifier twice returns the stored alert (idempotent). An ``Update``
    whose references name a relayed message becomes a new version of that alert, a
    ``Cancel`` cancels it. The relayed message keeps the original's areas, event and
    expiry, adds the original ``sender,identifier,sent`` to ``references`` and the
    parameters ``ORIGINAL_IDENTIFIER``/``ORIGINAL_SENDER``; its level comes from the
    CAP severity (Extreme 1, Severe 2, Moderate/Minor/Unknown 3) and ``policy.external``
    decides whether it is issued at once. A message already expired at ``now`` is
    stored as ``expired`` and not relayed.
    """
    parsed = C.parse_cap(xml)
    now = _now(now)
    if parsed.status != "Actual":
        log.info("external CAP %s has status %s: not relayed", parsed.identifier, parsed.status)
        return None
    with bank.connect() as conn:
        known = conn.execute(
            select(tg_alert_version.c.alert_id).where(
                tg_alert_version.c.external_identifier == parsed.identifier
            )
        ).first()
    if known is not None:
        return get(bank, known[0])
    policy = policy or load_policy(bank)
    origin = f"external:{parsed.sender}"
    actor = actor or origin
    units = _units(bank)
    city = _city(units, city_bounds)
    geom = parsed.geometry()
    touched: list[str] = []
    codes = {g[1] for a in parsed.areas() for g in a.geocodes}
    if units is not None and len(units):
        local = (
            units[units["level"].isin(["kelurahan", "rw"])] if "level" in units.columns else units
        )
        hit = (
            local.geometry.intersects(geom)
            if geom is not None
            else pd.Series(False, index=local.index)
        )
        by_code = local["unit_id"].isin(codes)
        for column in ("code_bps", "code_kemendagri"):
            if column in local.columns:
                by_code |= local[column].astype(str).isin(codes)
        touched = local.loc[hit | by_code, "unit_id"].astype(str).tolist()
    touches = bool(touched) or (geom is not None and geom.intersects(city))
    if not touches:
        return None
    with bank.begin() as conn:
        target = None
        if parsed.msg_type in ("Update", "Cancel"):
            ref = conn.execute(
                select(tg_alert_version.c.alert_id).where(
                    tg_alert_version.c.external_identifier.in_(parsed.referenced_identifiers)
                )
            ).first()
            if ref is not None:
                target = _row(conn, ref[0])
        if parsed.msg_type == "Cancel":
            if target is None or target["status"] not in OPEN_STATUSES:
                return None
            en = parsed.info("en")
            idn = parsed.info("id")
            reason = (
                f"Cancelled by {parsed.sender}: {en.headline if en and en.headline else ''}",
                f"Dicabut oleh {parsed.sender}: {idn.headline if idn and idn.headline else ''}",
            )
            return _close(
                conn,
                bank,
                target,
                policy,
                actor=actor,
                now=now,
                reason=reason,
                normal=False,
                units=units,
            )
        info_id = parsed.info("id") or (parsed.infos[0] if parsed.infos else None)
        if info_id is None:
            raise C._bad(
                "the external CAP message has no <info> to relay",
                "pesan CAP eksternal tidak memiliki <info> untuk diteruskan",
                f"CAP {parsed.identifier}",
            )
        info_en = parsed.info("en")
        level = min(_SEVERITY_LEVEL.get(i.severity, 3) for i in parsed.infos)
        who = info_id.sender_name or parsed.sender
        expires = max((i.expires for i in parsed.infos if i.expires), default=None)
        hazard = _hazard_of(info_id.event, info_id.categories)
        inst_id = info_id.instruction or _tpl(hazard, f"instruction_id_{level}")
        desc_id = info_id.description or info_id.headline or info_id.event
        version = (target["version"] + 1) if target is not None else 1
        alert_id = target["alert_id"] if target is not None else _new_id()
        issued_version = target["issued_version"] if target is not None else None
        rec = AlertRecord(
            alert_id=alert_id,
            version=version,
            identifier=_identifier(alert_id, version),
            status="draft",
            msg_type="Update" if issued_version is not None else "Alert",
            hazard=hazard,
            level=level,
            severity=info_id.severity,
            urgency=info_id.urgency,
            certainty=info_id.certainty,
            station_id=None,
            unit_ids=touched,
            headline_id=info_id.headline or info_id.event,
            headline_en=(
                info_en.headline
                if info_en and info_en.headline
                else f"{who}: {info_id.event} (relayed; original in Bahasa Indonesia)"
            ),
            description_id=f"Diteruskan dari {who}: {desc_id}",
            description_en=(
                f"Relayed from {who}: {info_en.description}"
                if info_en and info_en.description
                else f"Relayed from {who}. Original text (Bahasa Indonesia): {desc_id}"
            ),
            instruction_id=inst_id,
            instruction_en=(
                info_en.instruction
                if info_en and info_en.instruction
                else _tpl(hazard, f"instruction_en_{level}")
            ),
            origin=origin,
            created=target["created"] if target is not None else now,
            updated=now,
            onset=info_id.onset or info_id.effective,
            expires=expires,
            eta=info_id.onset or info_id.effective,
        )
        data = {
            "areas": [_area_json(a) for info in parsed.infos[:1] for a in info.areas],
            "event": [info_id.event, info_en.event if info_en else info_id.event],
            "category": info_id.categories[0] if info_id.categories else None,
            "relay_references": [C.reference(parsed.sender, parsed.identifier, parsed.sent)],
            "parameters": [
                ["ORIGINAL_IDENTIFIER", parsed.identifier],
                ["ORIGINAL_SENDER", parsed.sender],
            ],
            "source": source,
            "external_expires": expires is not None,
        }
        _store_version(
            conn,
            rec,
            data,
            policy,
            actor=actor,
            now=now,
            note=f"relay of {parsed.identifier} ({source})",
            new_alert=target is None,
            issued_version=issued_version,
            external_identifier=parsed.identifier,
        )
        if expires is not None and expires <= now:
            row = _row(conn, alert_id)
            return _expire(conn, row, now)
        mode = policy.mode(level) if policy.external == "by_level" else policy.external
        if mode == AUTOMATIC:
            return _issue_in(conn, bank, alert_id, actor=actor, now=now, policy=policy)
        return rec
