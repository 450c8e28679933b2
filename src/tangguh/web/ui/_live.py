"""Live data of the operators' dashboard: a public snapshot of the gauges and the active
alerts, and a Server-Sent Events stream that pushes a new snapshot when it changes.

The snapshot holds public information only (stations, their Siaga level, the latest
reading and 48 hours of history, issued alerts); drafts, incidents, subscribers and
reporters are never in it. Clients read the rest from the JSON API (``/api/v1``) and
re-read it when ``changes`` in the snapshot differ from what they saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tangguh.bank import _schema as S
from tangguh.bank.base import Bank

__all__ = ["GAUGE_KINDS", "fingerprint", "snapshot", "stream"]

#: Station kinds shown as gauges, with the parameter each is drawn with.
GAUGE_KINDS: dict[str, str] = {
    "river_gauge": "water_level",
    "tide_gauge": "water_level",
    "reservoir": "water_level",
    "rain_gauge": "rainfall",
}
#: Hours of history sent with each gauge (up to its latest reading).
HISTORY_HOURS = 48
#: Most points of history per gauge (longer series are thinned evenly).
HISTORY_POINTS = 192
#: An alert is active while open with a version out (an escalation may be a draft).
_OPEN = ("draft", "approved", "issued", "updated")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _gauges(bank: Bank) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(station_id, kind, parameter, row) of every station shown as a gauge."""
    st = S.tg_station
    with bank.connect() as conn:
        rows = conn.execute(select(st).order_by(st.c.station_id)).mappings().all()
    out = []
    for row in rows:
        kind = str(row["kind"] or "")
        if kind in GAUGE_KINDS:
            out.append((str(row["station_id"]), kind, GAUGE_KINDS[kind], dict(row)))
    return out


def _latest_times(bank: Bank, keys: list[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    obs = S.tg_observation
    out: dict[tuple[str, str], datetime] = {}
    with bank.connect() as conn:
        for sid, param in keys:  # one primary-key range lookup each
            t = conn.execute(
                select(func.max(obs.c.t)).where(obs.c.station_id == sid, obs.c.parameter == param)
            ).scalar()
            if t is not None:
                out[(sid, param)] = t
    return out


def _rule_levels(bank: Bank) -> dict[tuple[str, str], tuple[int, datetime | None, datetime]]:
    from tangguh.warning.tables.rules import tg_rule_state as rs

    with bank.connect() as conn:
        rows = conn.execute(
            select(rs.c.station_id, rs.c.parameter, rs.c.level, rs.c.since, rs.c.updated)
        ).all()
    return {(str(r[0]), str(r[1])): (int(r[2]), r[3], r[4]) for r in rows}


def _alert_rows(bank: Bank) -> list[dict[str, Any]]:
    from tangguh.warning.tables.alerts import tg_alert as ta

    cols = [
        ta.c.alert_id,
        ta.c.version,
        ta.c.status,
        ta.c.msg_type,
        ta.c.hazard,
        ta.c.level,
        ta.c.station_id,
        ta.c.unit_ids,
        ta.c.headline_id,
        ta.c.headline_en,
        ta.c.instruction_id,
        ta.c.instruction_en,
        ta.c.updated,
        ta.c.issued_version,
        ta.c.sent,
        ta.c.expires,
    ]
    with bank.connect() as conn:
        return [dict(r) for r in conn.execute(select(*cols)).mappings().all()]


def fingerprint(bank: Bank) -> str:
    """A short hash that changes whenever a snapshot would change (cheap to compute)."""
    keys = [(sid, param) for sid, _k, param, _r in _gauges(bank)]
    parts: list[Any] = [
        sorted((f"{k[0]}/{k[1]}", _iso(v)) for k, v in _latest_times(bank, keys).items()),
        sorted((f"{k[0]}/{k[1]}", v[0], _iso(v[2])) for k, v in _rule_levels(bank).items()),
        sorted(
            (a["alert_id"], a["version"], a["status"], _iso(a["updated"]))
            for a in _alert_rows(bank)
        ),
    ]
    raw = json.dumps(parts, default=str, separators=(",", ":")).encode()
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:16]


def _thresholds(
    bank: Bank, sid: str, param: str, attrs: dict[str, Any], t: datetime
) -> dict[int, float]:
    from tangguh.warning import rules

    try:
        values = rules.thresholds_at(bank, sid, param, t)
    except Exception:  # a bad stored version must not break the dashboard
        values = {}
    if values or param != "water_level":
        return {int(k): float(v) for k, v in values.items()}
    out: dict[int, float] = {}
    for level in (1, 2, 3):  # thresholds kept on the station itself (demo, DSDA import)
        raw = attrs.get(f"siaga{level}")
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            out[level] = float(raw)
    return out


def _level_of(value: float | None, thresholds: dict[int, float]) -> int | None:
    if value is None or not thresholds:
        return None
    for level in (1, 2, 3):
        if level in thresholds and value >= thresholds[level]:
            return level
    return 4


def snapshot(bank: Bank) -> dict[str, Any]:
    """Gauges with level, latest reading and history; issued alerts; a change marker."""
    gauges = _gauges(bank)
    latest = _latest_times(bank, [(sid, param) for sid, _k, param, _r in gauges])
    levels = _rule_levels(bank)
    stations: list[dict[str, Any]] = []
    for sid, kind, param, row in gauges:
        attrs = row.get("attributes") if isinstance(row.get("attributes"), dict) else {}
        assert isinstance(attrs, dict)
        last_t = latest.get((sid, param))
        history: list[list[Any]] = []
        value: float | None = None
        unit: str | None = None
        if last_t is not None:
            frame = bank.observations(
                sid,
                start=last_t - timedelta(hours=HISTORY_HOURS),
                end=last_t + timedelta(microseconds=1),
                parameter=param,
            )
            if len(frame):
                step = max(1, math.ceil(len(frame) / HISTORY_POINTS))
                part = frame.iloc[::-1].iloc[::step].iloc[::-1]  # thin, keep the latest
                for t, v in zip(part["t"], part["value"], strict=True):
                    fv = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                    history.append([_iso(t.to_pydatetime()), fv])
                value = history[-1][1] if history else None
                if "unit" in frame.columns:
                    units = [str(u) for u in frame["unit"].dropna()]
                    unit = units[-1] if units else None
        thresholds = _thresholds(bank, sid, param, attrs, last_t or datetime.now(UTC))
        state = levels.get((sid, param))
        level: int | None
        if state is not None:
            level, since, source = state[0], state[1], "rules"
        else:
            level, since, source = _level_of(value, thresholds), None, "thresholds"
        stations.append(
            {
                "station_id": sid,
                "name": row.get("name") or sid,
                "kind": kind,
                "river": row.get("river"),
                "lon": row.get("lon"),
                "lat": row.get("lat"),
                "parameter": param,
                "unit": unit or ("cm" if param == "water_level" else "mm/h"),
                "level": level if param == "water_level" else None,
                "level_since": _iso(since),
                "level_source": source if param == "water_level" else None,
                "thresholds": {str(k): v for k, v in sorted(thresholds.items())},
                "latest": {"t": _iso(last_t), "value": value},
                "history": history,
            }
        )
    stations.sort(key=lambda s: (s["parameter"] != "water_level", s["station_id"]))
    alerts = []
    for a in _alert_rows(bank):
        if a["status"] not in _OPEN or a["issued_version"] is None:
            continue  # new drafts are for operators (JSON API with a token), not this feed
        alerts.append(
            {
                "alert_id": a["alert_id"],
                "version": a["version"],
                "issued_version": a["issued_version"],
                "status": a["status"],
                "msg_type": a["msg_type"],
                "hazard": a["hazard"],
                "level": a["level"],
                "station_id": a["station_id"],
                "unit_ids": list(a["unit_ids"] or []),
                "headline_id": a["headline_id"],
                "headline_en": a["headline_en"],
                "instruction_id": a["instruction_id"],
                "instruction_en": a["instruction_en"],
                "sent": _iso(a["sent"]),
                "expires": _iso(a["expires"]),
                "updated": _iso(a["updated"]),
            }
        )
    alerts.sort(key=lambda a: (a["level"], a["updated"] or ""))
    return {
        "generated": _iso(datetime.now(UTC)),
        "fingerprint": fingerprint(bank),
        "stations": stations,
        "alerts": alerts,
    }


async def stream(
    ctx: Any,
    is_disconnected: Any,
    *,
    interval: float = 1.0,
    keepalive: float = 15.0,
    once: bool = False,
) -> AsyncIterator[str]:
    """SSE frames: ``event: snapshot`` at once and whenever the fingerprint changes,
    a comment line every ``keepalive`` seconds so proxies keep the connection."""
    seen: str | None = None
    quiet = 0.0
    yield "retry: 3000\n\n"
    while True:
        if await is_disconnected():
            return
        fp = await ctx.run(fingerprint, ctx.bank)
        if fp != seen:
            data = await ctx.run(snapshot, ctx.bank)
            seen = data["fingerprint"]
            body = json.dumps(data, separators=(",", ":"))
            yield f"event: snapshot\nid: {seen}\ndata: {body}\n\n"
            quiet = 0.0
            if once:
                return
        elif quiet >= keepalive:
            yield ": keepalive\n\n"
            quiet = 0.0
        await asyncio.sleep(interval)
        quiet += interval
