"""The Siaga state machine: readings -> demanded/held levels -> transitions -> triggers.

Per (station, parameter) one state machine runs over the good readings in time order:

* every rule turns each reading into a *demanded* level (the level the reading asks for:
  the level rule compares the value with the thresholds in force at its time; rate, rain
  and combined rules demand their level when their condition holds) and a *held* level
  (the level rule compares with threshold - hysteresis margin; other rules hold what they
  demand);
* going UP is immediate: a reading demanding a more severe level than the state enters it;
* going DOWN from level L needs every reading for at least ``dwell`` to hold a level less
  severe than L (the run starts at the first such reading and is broken by any good
  reading that holds L or higher); the state then drops to the least severe level whose
  run has lasted ``dwell``.

The demanded/held levels are computed with numpy/pandas for a whole series at once; the
dwell bookkeeping is one tight loop over the readings. See docs/warning-rules.md.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import delete, insert, select

from tangguh.bank import Bank
from tangguh.bank import _schema as S
from tangguh.errors import InputError
from tangguh.warning import _rules_store as store
from tangguh.warning.model import Reading, Transition, Trigger, WarnedArea
from tangguh.warning.tables import rules as T

__all__ = ["GOOD_QUALITY", "ReplayResult", "RuleEngine", "StationState", "replay", "rule_states"]

#: Quality values that drive the state machine; any other value is a QC flag and skipped.
GOOD_QUALITY = frozenset({"ok", "good", ""})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INF = math.inf


def _micros_to_dt(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(value))


def _unit_of(parameter: str) -> str:
    return {"water_level": " cm", "rain": " mm", "rainfall": " mm"}.get(parameter, "")


# -- configuration ------------------------------------------------------------------------------
@dataclass
class _Machine:
    station_id: str
    parameter: str
    #: valid_from (µs UTC) of each threshold version, ascending
    thr_from: NDArray[np.int64]
    #: thresholds of each version: columns Siaga 1, 2, 3 (inf = level not defined)
    thr_vals: NDArray[np.float64]
    margin_pct: float | None
    margin_cm: float | None
    dwell_us: int
    level_rule_id: str
    extra: list[store.Rule] = field(default_factory=list)

    @property
    def rule_ids(self) -> list[str]:
        return [self.level_rule_id, *(r.rule_id for r in self.extra)]

    @property
    def history_us(self) -> int:
        windows = [0]
        for r in self.extra:
            subs = r.config.get("rules", [r.config]) if r.kind == "combined" else [r.config]
            windows += [int(s.get("window_minutes", 0)) for s in subs]
        return max(windows) * 60_000_000


@dataclass
class _Config:
    machines: dict[tuple[str, str], _Machine]
    links: dict[str, list[tuple[str, int]]]
    areas: dict[str, list[tuple[str, int]]]
    _cache: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)

    def reach(self, station_id: str) -> list[tuple[str, str, int]]:
        """(unit_id, via_station, lead) warned by a transition at ``station_id``.

        The station's own areas, then the areas of every station downstream of it (over
        the river links, shortest total travel time), each with lead = travel time to
        that station + the area's own lead. A unit reached several ways keeps the
        smallest lead (the earliest arrival).
        """
        if station_id in self._cache:
            return self._cache[station_id]
        dist: dict[str, int] = {}
        heap: list[tuple[int, str]] = [(0, station_id)]
        while heap:
            d, s = heapq.heappop(heap)
            if s in dist:
                continue
            dist[s] = d
            for nxt, lead in self.links.get(s, []):
                if nxt not in dist:
                    heapq.heappush(heap, (d + lead, nxt))
        best: dict[str, tuple[int, str]] = {}
        for s, d in sorted(dist.items(), key=lambda kv: (kv[1], kv[0])):
            for unit, lead in self.areas.get(s, []):
                total = d + lead
                if unit not in best or total < best[unit][0]:
                    best[unit] = (total, s)
        out = [(u, via, lead) for u, (lead, via) in best.items()]
        out.sort(key=lambda x: (x[2], x[1], x[0]))
        self._cache[station_id] = out
        return out


def _load_config(bank: Bank) -> _Config:
    versions = store.all_threshold_versions(bank)
    by_key: dict[tuple[str, str], list[store.ThresholdVersion]] = defaultdict(list)
    for v in versions:
        by_key[(v.station_id, v.parameter)].append(v)
    for sid, pub in store.published_thresholds(bank).items():
        if (sid, pub.parameter) not in by_key:
            by_key[(sid, pub.parameter)].append(pub)
    level_rules: dict[tuple[str, str], store.Rule] = {}
    extra: dict[tuple[str, str], list[store.Rule]] = defaultdict(list)
    for r in store.rules(bank):
        if not r.enabled:
            continue
        key = (r.station_id, r.parameter)
        if r.kind == "level":
            level_rules.setdefault(key, r)
        else:
            extra[key].append(r)
    machines: dict[tuple[str, str], _Machine] = {}
    for key in sorted(set(by_key) | set(extra)):
        vs = sorted(by_key.get(key, []), key=lambda v: v.valid_from)
        thr_from = np.array([S.to_micros(v.valid_from) for v in vs], dtype=np.int64)
        thr_vals = np.array(
            [[v.values.get(level, _INF) for level in (1, 2, 3)] for v in vs], dtype=np.float64
        ).reshape(len(vs), 3)
        lr = level_rules.get(key)
        cfg = lr.config if lr else {}
        machines[key] = _Machine(
            station_id=key[0],
            parameter=key[1],
            thr_from=thr_from,
            thr_vals=thr_vals,
            margin_pct=None if "margin_cm" in cfg else float(cfg.get("margin_pct", 5.0)),
            margin_cm=float(cfg["margin_cm"]) if "margin_cm" in cfg else None,
            dwell_us=int(cfg.get("dwell_minutes", store.DEFAULT_DWELL_MINUTES)) * 60_000_000,
            level_rule_id=lr.rule_id if lr else f"level:{key[0]}:{key[1]}",
            extra=sorted(extra.get(key, []), key=lambda r: r.rule_id),
        )
    links: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for link in store.river_links(bank):
        links[link.upstream_station].append((link.downstream_station, link.lead_minutes))
    areas: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for a in store.station_areas(bank):
        areas[a.station_id].append((a.unit_id, a.lead_minutes))
    return _Config(machines=machines, links=dict(links), areas=dict(areas))


# -- demanded / held levels (vectorised) ----------------------------------------------------------
@dataclass
class _Drive:
    t: NDArray[np.int64]
    v: NDArray[np.float64]
    demand: NDArray[np.int8]
    hold: NDArray[np.int8]
    who: NDArray[np.intp]
    thr: NDArray[np.float64]
    margin: NDArray[np.float64]
    #: per extra rule: the measured quantity (rise, intensity) for reason texts
    aux: list[NDArray[np.float64] | None]


def _levels(v: NDArray[np.float64], thr: NDArray[np.float64]) -> NDArray[np.int8]:
    """Most severe level whose bound ``v`` reaches (thr columns: Siaga 1, 2, 3)."""
    out = np.full(len(v), 4, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        out[v >= thr[:, 2]] = 3
        out[v >= thr[:, 1]] = 2
        out[v >= thr[:, 0]] = 1
    return out


def _condition(
    kind: str,
    cfg: dict[str, Any],
    t: NDArray[np.int64],
    v: NDArray[np.float64],
    level_demand: NDArray[np.int8],
) -> tuple[NDArray[np.bool_], NDArray[np.float64] | None]:
    if kind == "level":
        return level_demand <= int(cfg["at_least"]), None
    series = pd.Series(v, index=pd.DatetimeIndex(t.astype("datetime64[us]")))
    window = f"{int(cfg['window_minutes'])}min"
    if kind == "rate":
        low = series.rolling(window, closed="both").min().to_numpy(dtype=np.float64)
        rise = v - low
        return rise >= float(cfg["rise"]) - 1e-9, rise
    total = series.rolling(window, closed="right").sum().to_numpy(dtype=np.float64)
    intensity = total / (int(cfg["window_minutes"]) / 60.0)
    return intensity >= float(cfg["mm_per_hour"]) - 1e-9, intensity


def _drive(m: _Machine, t: NDArray[np.int64], v: NDArray[np.float64]) -> _Drive:
    n = len(t)
    idx = np.searchsorted(m.thr_from, t, side="right") - 1
    thr = np.full((n, 3), _INF)
    has = idx >= 0
    if len(m.thr_from):
        thr[has] = m.thr_vals[idx[has]]
    if m.margin_cm is not None:
        margin = np.where(np.isfinite(thr), m.margin_cm, 0.0)
    else:
        margin = np.where(np.isfinite(thr), np.abs(thr) * (m.margin_pct or 0.0) / 100.0, 0.0)
    level_demand = _levels(v, thr)
    level_hold = _levels(v, thr - margin)
    demands = [level_demand]
    aux: list[NDArray[np.float64] | None] = []
    for r in m.extra:
        cfg = r.config
        if r.kind == "combined":
            conds = [_condition(s["kind"], s, t, v, level_demand)[0] for s in cfg["rules"]]
            stack = np.vstack(conds)
            met = stack.all(axis=0) if cfg["mode"] == "all" else stack.any(axis=0)
            aux.append(None)
        else:
            met, measured = _condition(r.kind, cfg, t, v, level_demand)
            aux.append(measured)
        demands.append(np.where(met, np.int8(cfg["level"]), np.int8(4)).astype(np.int8))
    stacked = np.vstack(demands)
    demand = stacked.min(axis=0).astype(np.int8)
    who = stacked.argmin(axis=0)
    hold = np.minimum(level_hold, stacked[1:].min(axis=0)) if len(demands) > 1 else level_hold
    return _Drive(t, v, demand, hold.astype(np.int8), who, thr, margin, aux)


# -- state machine (loop) ------------------------------------------------------------------------
@dataclass
class StationState:
    """Live state of one (station, parameter) machine, as kept in ``tg_rule_state``."""

    station_id: str
    parameter: str
    level: int = 4
    since: datetime | None = None
    last_t: datetime | None = None
    #: start (µs UTC) of the current run below (threshold - margin), per level 1..3
    below_since: dict[int, int] = field(default_factory=dict)
    raised_by: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "parameter": self.parameter,
            "level": self.level,
            "since": self.since.isoformat() if self.since else None,
            "last_t": self.last_t.isoformat() if self.last_t else None,
            "below_since": {
                str(k): _micros_to_dt(v).isoformat() for k, v in sorted(self.below_since.items())
            },
            "raised_by": {str(k): v for k, v in sorted(self.raised_by.items())},
        }


@dataclass
class _Event:
    i: int
    previous: int
    level: int
    rule_id: str
    below_from: int | None = None


def _run(d: _Drive, start: int, st: StationState, m: _Machine) -> list[_Event]:
    """Advance ``st`` over readings ``start..`` of ``d``; return the level changes."""
    ts = d.t.tolist()
    dem = d.demand.tolist()
    hol = d.hold.tolist()
    who = d.who.tolist()
    ids = m.rule_ids
    dwell = m.dwell_us
    level = st.level
    b1 = st.below_since.get(1)
    b2 = st.below_since.get(2)
    b3 = st.below_since.get(3)
    raised = st.raised_by
    events: list[_Event] = []
    for i in range(start, len(ts)):
        t = ts[i]
        h = hol[i]
        if h > 1:
            if b1 is None:
                b1 = t
        else:
            b1 = None
        if h > 2:
            if b2 is None:
                b2 = t
        else:
            b2 = None
        if h > 3:
            if b3 is None:
                b3 = t
        else:
            b3 = None
        want = dem[i]
        if want < level:
            rid = ids[who[i]]
            for lv in range(want, level):
                raised[lv] = rid
            events.append(_Event(i, level, want, rid))
            level = want
        elif level < 4:
            new = level
            since = None
            while new < 4:
                b = b1 if new == 1 else b2 if new == 2 else b3
                if b is None or t - b < dwell:
                    break
                since = b
                new += 1
            if new != level:
                rid = raised.get(level, m.level_rule_id)
                for lv in range(level, new):
                    raised.pop(lv, None)
                events.append(_Event(i, level, new, rid, since))
                level = new
    if len(ts) > start:
        st.last_t = _micros_to_dt(ts[-1])
    if events:
        st.since = _micros_to_dt(ts[events[-1].i])
    st.level = level
    st.below_since = {k: b for k, b in ((1, b1), (2, b2), (3, b3)) if b is not None}
    return events


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if math.isfinite(value) else "?"


def _transition(m: _Machine, d: _Drive, e: _Event) -> Transition:
    i = e.i
    value = float(d.v[i])
    unit = _unit_of(m.parameter)
    sid = m.station_id
    dwell_min = m.dwell_us // 60_000_000
    if e.level < e.previous:
        k = int(d.who[i])
        if k == 0:
            bound = float(d.thr[i, e.level - 1])
            en = (
                f"{sid} {m.parameter} {_fmt(value)}{unit} reached the Siaga {e.level} "
                f"threshold ({_fmt(bound)}{unit})"
            )
            id_ = (
                f"{sid} {m.parameter} {_fmt(value)}{unit} mencapai ambang Siaga {e.level} "
                f"({_fmt(bound)}{unit})"
            )
        else:
            rule = m.extra[k - 1]
            cfg = rule.config
            measured = d.aux[k - 1]
            amount = float(measured[i]) if measured is not None else math.nan
            win = cfg.get("window_minutes")
            if rule.kind == "rate":
                en = (
                    f"{sid} rose {_fmt(amount)}{unit} within {win} min (rule {rule.rule_id}: "
                    f">= {_fmt(cfg['rise'])}{unit} -> Siaga {cfg['level']})"
                )
                id_ = (
                    f"{sid} naik {_fmt(amount)}{unit} dalam {win} menit (aturan {rule.rule_id}: "
                    f">= {_fmt(cfg['rise'])}{unit} -> Siaga {cfg['level']})"
                )
            elif rule.kind == "rain":
                en = (
                    f"rain at {sid} {_fmt(amount)} mm/h over {win} min (rule {rule.rule_id}: "
                    f">= {_fmt(cfg['mm_per_hour'])} mm/h -> Siaga {cfg['level']})"
                )
                id_ = (
                    f"hujan di {sid} {_fmt(amount)} mm/jam selama {win} menit (aturan "
                    f"{rule.rule_id}: >= {_fmt(cfg['mm_per_hour'])} mm/jam -> Siaga {cfg['level']})"
                )
            else:
                kinds = ", ".join(s["kind"] for s in cfg["rules"])
                mode_id = "semua" if cfg["mode"] == "all" else "salah satu"
                en = (
                    f"combined rule {rule.rule_id} ({cfg['mode']} of: {kinds}) met at {sid} "
                    f"{_fmt(value)}{unit} -> Siaga {cfg['level']}"
                )
                id_ = (
                    f"aturan gabungan {rule.rule_id} ({mode_id} dari: {kinds}) terpenuhi di {sid} "
                    f"{_fmt(value)}{unit} -> Siaga {cfg['level']}"
                )
    else:
        bound = float(d.thr[i, e.previous - 1] - d.margin[i, e.previous - 1])
        since = _micros_to_dt(e.below_from).isoformat() if e.below_from is not None else "?"
        en = (
            f"{sid} {m.parameter} {_fmt(value)}{unit}: below Siaga {e.previous} "
            f"(threshold - margin = {_fmt(bound)}{unit}) and no rule holding it for at least "
            f"{dwell_min} min (since {since})"
        )
        id_ = (
            f"{sid} {m.parameter} {_fmt(value)}{unit}: di bawah Siaga {e.previous} "
            f"(ambang - margin = {_fmt(bound)}{unit}) dan tidak ada aturan yang "
            f"menahannya selama paling sedikit {dwell_min} menit (sejak {since})"
        )
    return Transition(
        station_id=sid,
        parameter=m.parameter,
        t=_micros_to_dt(int(d.t[i])),
        previous=e.previous,
        level=e.level,
        value=value,
        rule_id=e.rule_id,
        reason_en=en,
        reason_id=id_,
    )


def _trigger(cfg: _Config, tr: Transition) -> Trigger:
    reach = cfg.reach(tr.station_id)
    etas = {lead: tr.t + timedelta(minutes=lead) for lead in {x[2] for x in reach}}
    areas = [WarnedArea(unit, via, lead, etas[lead]) for unit, via, lead in reach]
    return Trigger(transition=tr, hazard="flood", areas=areas)


def _prepare(
    t: NDArray[np.int64], v: NDArray[np.float64], good: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Good readings with a value, sorted by time, one per instant (the last given)."""
    keep = good & np.isfinite(v)
    t, v = t[keep], v[keep]
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    if len(t) > 1:
        last = np.append(t[1:] != t[:-1], True)
        t, v = t[last], v[last]
    return t, v


# -- state persistence ----------------------------------------------------------------------------
def _load_states(bank: Bank) -> dict[tuple[str, str], StationState]:
    t = T.tg_rule_state
    with bank.connect() as conn:
        rows = conn.execute(select(t)).mappings().all()
    out = {}
    for r in rows:
        out[(r["station_id"], r["parameter"])] = StationState(
            station_id=r["station_id"],
            parameter=r["parameter"],
            level=int(r["level"]),
            since=r["since"],
            last_t=r["last_t"],
            below_since={int(k): int(v) for k, v in (r["below_since"] or {}).items()},
            raised_by={int(k): str(v) for k, v in (r["raised_by"] or {}).items()},
        )
    return out


def _save_states(bank: Bank, states: Sequence[StationState]) -> None:
    t = T.tg_rule_state
    now = datetime.now(UTC)
    with bank.begin() as conn:
        for st in states:
            conn.execute(
                delete(t).where((t.c.station_id == st.station_id) & (t.c.parameter == st.parameter))
            )
            conn.execute(
                insert(t).values(
                    station_id=st.station_id,
                    parameter=st.parameter,
                    level=st.level,
                    since=st.since,
                    last_t=st.last_t,
                    below_since={str(k): v for k, v in st.below_since.items()},
                    raised_by={str(k): v for k, v in st.raised_by.items()},
                    updated=now,
                )
            )


def rule_states(bank: Bank) -> list[StationState]:
    """The live state of every (station, parameter) machine that has evaluated readings."""
    return [v for _, v in sorted(_load_states(bank).items())]


# -- live engine -------------------------------------------------------------------------------
class RuleEngine:
    """Evaluate arriving readings against the stored rules, keeping state in the bank.

    The configuration (thresholds, rules, links, areas) is read at every call, so changes
    take effect at once; the state of each (station, parameter) is read from and written
    to ``tg_rule_state`` so evaluation continues across processes. Readings at or before
    the last reading already evaluated for their station are ignored (a late reading does
    not rewrite live history; use :func:`replay` for that).
    """

    def __init__(self, bank: Bank) -> None:
        self.bank = bank

    def evaluate(self, readings: Sequence[Reading], *, persist: bool = True) -> list[Trigger]:
        """One :class:`Trigger` per level change (rising or falling), in time order."""
        if not readings:
            return []
        cfg = _load_config(self.bank)
        groups: dict[tuple[str, str], list[Reading]] = defaultdict(list)
        for r in readings:
            if (r.station_id, r.parameter) in cfg.machines:
                groups[(r.station_id, r.parameter)].append(r)
        if not groups:
            return []
        states = _load_states(self.bank)
        triggers: list[Trigger] = []
        changed: list[StationState] = []
        for key in sorted(groups):
            m = cfg.machines[key]
            st = states.get(key) or StationState(key[0], key[1])
            after = S.to_micros(st.last_t) if st.last_t is not None else None
            t_list, v_list, ok_list = [], [], []
            for r in groups[key]:
                if r.t.tzinfo is None:
                    raise InputError(
                        f"reading of {r.station_id} at {r.t} has no time zone",
                        where=f"reading {r.station_id}/{r.parameter}",
                        hint="give tz-aware times (Jakarta data are WIB: +07:00)",
                        message_id=f"pembacaan {r.station_id} pada {r.t} tanpa zona waktu",
                        hint_id="berikan waktu dengan zona waktu (data Jakarta: WIB, +07:00)",
                    )
                micros = S.to_micros(r.t)
                t_list.append(micros)
                v_list.append(math.nan if r.value is None else float(r.value))
                ok_list.append(
                    (r.quality or "") in GOOD_QUALITY and (after is None or micros > after)
                )
            t_new, v_new = _prepare(
                np.array(t_list, dtype=np.int64),
                np.array(v_list, dtype=np.float64),
                np.array(ok_list, dtype=bool),
            )
            if not len(t_new):
                continue
            start = 0
            if m.history_us:
                hist = self.bank.observations(
                    key[0],
                    start=_micros_to_dt(int(t_new[0]) - m.history_us),
                    end=_micros_to_dt(int(t_new[0])),
                    parameter=key[1],
                )
                good = hist["quality"].fillna("").astype(str).isin(GOOD_QUALITY).to_numpy()
                h_t, h_v = _prepare(
                    _to_micros_array(hist["t"]), hist["value"].to_numpy(np.float64), good
                )
                start = len(h_t)
                t_new = np.concatenate([h_t, t_new])
                v_new = np.concatenate([h_v, v_new])
            d = _drive(m, t_new, v_new)
            for e in _run(d, start, st, m):
                triggers.append(_trigger(cfg, _transition(m, d, e)))
            changed.append(st)
        if persist and changed:
            _save_states(self.bank, changed)
        triggers.sort(key=lambda tr: (tr.transition.t, tr.transition.station_id))
        return triggers

    def state(self, station_id: str, parameter: str = "water_level") -> StationState:
        """The stored state of a machine (Siaga 4 with no history when never evaluated)."""
        return _load_states(self.bank).get(
            (station_id, parameter), StationState(station_id, parameter)
        )

    def reset(self, station_id: str | None = None) -> None:
        """Forget the live state (of one station, or all)."""
        t = T.tg_rule_state
        with self.bank.begin() as conn:
            query = delete(t)
            if station_id is not None:
                query = query.where(t.c.station_id == station_id)
            conn.execute(query)


def _to_micros_array(t: pd.Series) -> NDArray[np.int64]:
    stamps = pd.to_datetime(t, utc=True)
    naive = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    return naive.astype(np.int64)


# -- replay ----------------------------------------------------------------------------------
@dataclass
class ReplayResult:
    """What the rules would have done over a series (nothing was written to the bank)."""

    transitions: list[Transition]
    triggers: list[Trigger]
    #: readings evaluated per "station_id/parameter"
    readings: dict[str, int] = field(default_factory=dict)
    #: readings skipped (QC flag or no value) per "station_id/parameter"
    skipped: dict[str, int] = field(default_factory=dict)
    #: final level per "station_id/parameter"
    final: dict[str, int] = field(default_factory=dict)

    @property
    def alerts(self) -> list[Trigger]:
        """The rising transitions, with their warned areas: the alerts that would be raised."""
        return [tr for tr in self.triggers if tr.transition.rising]

    def to_frame(self) -> pd.DataFrame:
        """One row per transition (t in UTC) with the number of warned areas and first eta."""
        rows = []
        for tr in self.triggers:
            x = tr.transition
            etas = [a.eta for a in tr.areas if a.eta is not None]
            rows.append(
                {
                    "station_id": x.station_id,
                    "parameter": x.parameter,
                    "t": x.t,
                    "previous": x.previous,
                    "level": x.level,
                    "rising": x.rising,
                    "value": x.value,
                    "rule_id": x.rule_id,
                    "areas": len(tr.areas),
                    "eta": min(etas) if etas else None,
                    "reason_en": x.reason_en,
                    "reason_id": x.reason_id,
                }
            )
        columns = [
            "station_id",
            "parameter",
            "t",
            "previous",
            "level",
            "rising",
            "value",
            "rule_id",
            "areas",
            "eta",
            "reason_en",
            "reason_id",
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_json(self) -> dict[str, Any]:
        def area(a: WarnedArea) -> dict[str, Any]:
            return {
                "unit_id": a.unit_id,
                "via_station": a.via_station,
                "lead_minutes": a.lead_minutes,
                "eta": a.eta.isoformat() if a.eta else None,
            }

        def trig(tr: Trigger) -> dict[str, Any]:
            x = tr.transition
            return {
                "station_id": x.station_id,
                "parameter": x.parameter,
                "t": x.t.isoformat(),
                "previous": x.previous,
                "level": x.level,
                "rising": x.rising,
                "value": x.value,
                "rule_id": x.rule_id,
                "reason_en": x.reason_en,
                "reason_id": x.reason_id,
                "areas": [area(a) for a in tr.areas],
            }

        return {
            "readings": self.readings,
            "skipped": self.skipped,
            "final": self.final,
            "transitions": [trig(tr) for tr in self.triggers],
            "alerts": len(self.alerts),
        }


def replay(
    bank: Bank,
    series: pd.DataFrame | None = None,
    *,
    stations: list[str] | None = None,
    start: datetime | pd.Timestamp | str | None = None,
    end: datetime | pd.Timestamp | str | None = None,
) -> ReplayResult:
    """Run the stored rules over a series from Siaga 4, without touching ``tg_rule_state``.

    ``series`` is a long frame (station_id, parameter, t tz-aware, value[, quality]); when
    ``None`` the bank's stored observations of every station with thresholds or rules
    are used. ``stations`` and ``[start, end)`` narrow it down.
    """
    cfg = _load_config(bank)
    lo = None if start is None else store.parse_instant(start, where="start")
    hi = None if end is None else store.parse_instant(end, where="end")
    wanted = None if stations is None else set(stations)
    keys = [k for k in cfg.machines if wanted is None or k[0] in wanted]
    if series is None:
        frames = [
            bank.observations(sid, start=lo, end=hi, parameter=par) for sid, par in sorted(keys)
        ]
        frame = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["station_id", "parameter", "t", "value", "quality"])
        )
    else:
        frame = _check_series(series)
        if wanted is not None:
            frame = frame[frame["station_id"].isin(wanted)]
        if lo is not None:
            frame = frame[frame["t"] >= pd.Timestamp(lo)]
        if hi is not None:
            frame = frame[frame["t"] < pd.Timestamp(hi)]
    result = ReplayResult(transitions=[], triggers=[])
    if frame.empty:
        return result
    quality = (
        frame["quality"].fillna("").astype(str)
        if "quality" in frame.columns
        else pd.Series("", index=frame.index)
    )
    frame = frame.assign(_good=quality.isin(GOOD_QUALITY).to_numpy())
    for (sid, par), part in frame.groupby(["station_id", "parameter"], sort=True):
        key = (str(sid), str(par))
        m = cfg.machines.get(key)
        if m is None:
            continue
        t_all = _to_micros_array(part["t"])
        v_all = pd.to_numeric(part["value"], errors="coerce").to_numpy(np.float64)
        t, v = _prepare(t_all, v_all, part["_good"].to_numpy(bool))
        label = f"{key[0]}/{key[1]}"
        result.readings[label] = len(t)
        result.skipped[label] = len(part) - len(t)
        st = StationState(key[0], key[1])
        if len(t):
            d = _drive(m, t, v)
            for e in _run(d, 0, st, m):
                tr = _transition(m, d, e)
                result.transitions.append(tr)
                result.triggers.append(_trigger(cfg, tr))
        result.final[label] = st.level
    order = sorted(
        range(len(result.triggers)),
        key=lambda i: (result.transitions[i].t, result.transitions[i].station_id),
    )
    result.transitions = [result.transitions[i] for i in order]
    result.triggers = [result.triggers[i] for i in order]
    return result


def _check_series(series: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("station_id", "parameter", "t", "value") if c not in series.columns]
    if missing:
        raise InputError(
            f"series lacks columns {missing}",
            where="series",
            hint="give a long frame: station_id, parameter, t (with zone), value[, quality]",
            message_id=f"deret tidak memiliki kolom {missing}",
            hint_id="berikan tabel panjang: station_id, parameter, t (dengan zona waktu), "
            "value[, quality]",
        )
    t = pd.to_datetime(series["t"], errors="coerce")
    if t.isna().any():
        raise InputError(
            "unreadable or missing times in the series",
            where=f"series, row {int(np.flatnonzero(t.isna().to_numpy())[0])}, field t",
            hint="use tz-aware timestamps",
            message_id="waktu kosong atau tidak terbaca di deret",
            hint_id="gunakan waktu dengan zona waktu",
        )
    if getattr(t.dt, "tz", None) is None:
        raise InputError(
            "series times have no time zone",
            where="series, field t",
            hint="localise them, e.g. t.dt.tz_localize('Asia/Jakarta') for WIB",
            message_id="waktu deret tidak memiliki zona waktu",
            hint_id="tetapkan zonanya, mis. t.dt.tz_localize('Asia/Jakarta') untuk WIB",
        )
    out = series.copy()
    out["station_id"] = out["station_id"].astype(str)
    out["parameter"] = out["parameter"].astype(str)
    out["t"] = t.dt.tz_convert("UTC")
    return out
