"""Quality control of observations: flags, never drops.

Every reading gets a ``quality`` ("ok" or a flag) and a reason in English and Bahasa
Indonesia. Flagged readings are stored like the others; the rule engine ignores them
(see :class:`tangguh.warning.model.Reading`). Checks, in order of precedence:

``missing``
    The value is empty or not a finite number.
``range``
    The value lies outside ``[min, max]`` of its parameter (defaults below; a station
    overrides them in its attributes, see :meth:`QCConfig.for_station`).
``spike``
    The value jumps away from its neighbours and comes back.

    *Both neighbours known* (history, or a late reading): with ``d1 = v - prev`` and
    ``d2 = v - next``, a spike is ``d1`` and ``d2`` of the same sign, both larger than
    ``spike`` in size, and the neighbours agreeing with each other:
    ``|next - prev| <= spike_return * min(|d1|, |d2|)``. The last condition keeps a real
    flood peak (fast rise, slower fall: Katulampa 10 -> 180 -> 120 -> 80 cm) from being
    flagged. Neighbours further apart than ``spike_max_gap`` do not count.

    *Only the previous reading known* (live data: the next reading has not arrived): a
    spike is a value more than ``spike`` away from the median of the readings of the
    previous ``median_window`` AND changing faster than ``max_rate`` per hour from the
    previous reading. When the next reading arrives, the two-neighbour rule decides again
    (ingest revises the stored flag): a genuine jump that persists is un-flagged, and the
    next reading (close to it) is not a spike, so a real rise costs at most one reporting
    interval of delay.
``flat``
    The same value repeated for ``flat_hours`` or longer (and at least
    ``flat_min_readings`` readings): a stuck sensor. Only the readings from that point on
    are flagged, which is when a live system can know.

Stale stations (no reading within ``max_age``) are listed by :func:`stale_stations`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from tangguh.bank import _schema as S
from tangguh.errors import InputError

if TYPE_CHECKING:
    from tangguh.bank import Bank

__all__ = [
    "FLAGS",
    "OK",
    "ParameterQC",
    "QCConfig",
    "check",
    "evaluate",
    "is_ok",
    "stale_stations",
]

OK = "ok"
#: The flags QC sets (stored in ``tg_observation.quality``, at most 16 characters).
FLAGS = ("missing", "range", "spike", "flat")
#: Qualities that count as good (``good`` is what ``tangguh obs import`` writes).
_GOOD = frozenset({OK, "good", "", "None"})


def is_ok(quality: object) -> bool:
    """True for a reading that passed QC (``ok``, ``good`` or no quality at all)."""
    return (
        quality is None
        or (isinstance(quality, float) and math.isnan(quality))
        or (str(quality) in _GOOD)
    )


@dataclass(frozen=True)
class ParameterQC:
    """QC settings of one parameter; ``None`` switches a check off.

    Parameters
    ----------
    min, max:
        Plausible range (units of the parameter).
    spike:
        Jump (units) that counts as a spike.
    max_rate:
        Fastest plausible change per hour (live spike rule).
    flat_hours:
        Hours of identical values after which a reading is flagged ``flat``.
    """

    min: float | None = None
    max: float | None = None
    spike: float | None = None
    max_rate: float | None = None
    flat_hours: float | None = None


def default_parameters() -> dict[str, ParameterQC]:
    """Defaults per parameter (water levels in cm, rain in mm per reading).

    ``water_level`` 0..2000 cm (Manggarai's Siaga 1 is 950 cm), spike 50 cm, 300 cm/h
    (Katulampa's fastest real rise in 2021-2025 was 170 cm/h; a live reading is only
    called a spike when it is both far from the recent median and faster than this, so
    the limit sits well above real rises: an upstream flood wave must never wait for
    confirmation), flat after 24 h (the real 2021-2025 series is gap-filled, so long
    flat runs there are flagged, correctly; a flat run never hides a rise, because the
    first changed value ends it). Rain is often 0 for days, so it has no flat
    check. A tide gauge with a datum below zero needs its own ``min``.
    """
    return {
        "water_level": ParameterQC(0.0, 2000.0, 50.0, 300.0, 24.0),
        "tide_level": ParameterQC(-500.0, 500.0, 50.0, 100.0, 24.0),
        "rainfall": ParameterQC(0.0, 500.0, None, None, None),
        "discharge": ParameterQC(0.0, 10_000.0, None, None, 24.0),
    }


@dataclass(frozen=True)
class QCConfig:
    """QC settings; the defaults are documented in ``docs/warning-observe.md``.

    Parameters
    ----------
    parameters:
        :class:`ParameterQC` per parameter; a parameter not listed gets only the
        ``missing`` check.
    spike_return:
        The neighbours of a spike must agree within this fraction of the jump (0.5).
    spike_max_gap:
        Neighbours further apart than this do not count (3 h).
    median_window:
        Window of the median the live spike rule compares to (6 h).
    flat_min_readings:
        A flat run needs at least this many readings (4).
    """

    parameters: dict[str, ParameterQC] = field(default_factory=default_parameters)
    spike_return: float = 0.5
    spike_max_gap: timedelta = timedelta(hours=3)
    median_window: timedelta = timedelta(hours=6)
    flat_min_readings: int = 4

    def for_station(
        self, parameter: str, attributes: Mapping[str, Any] | None = None
    ) -> ParameterQC:
        """Settings of ``parameter`` with the station's overrides applied.

        A station overrides them in its attributes as
        ``{"qc": {"water_level": {"min": -50, "max_rate": 250, "flat_hours": 0}}}``;
        0 or ``null`` for ``spike``, ``max_rate`` or ``flat_hours`` switches that check off.
        """
        base = self.parameters.get(parameter, ParameterQC())
        qc = (attributes or {}).get("qc")
        over = qc.get(parameter) if isinstance(qc, Mapping) else None
        if not isinstance(over, Mapping):
            return base
        changes: dict[str, float | None] = {}
        for name in ("min", "max", "spike", "max_rate", "flat_hours"):
            if name in over:
                raw = over[name]
                value = None if raw is None else float(raw)
                if name in ("spike", "max_rate", "flat_hours") and value == 0:
                    value = None
                changes[name] = value
        return replace(base, **changes)

    def history_span(self) -> timedelta:
        """How far back (and forward) QC needs stored readings around new ones."""
        flat = (
            max((p.flat_hours or 0.0) for p in self.parameters.values()) if self.parameters else 0
        )
        return max(self.spike_max_gap, self.median_window, timedelta(hours=float(flat))) + (
            timedelta(hours=1)
        )


_REASONS: dict[str, tuple[str, str]] = {
    "missing": ("value is missing or not a number", "nilai kosong atau bukan angka"),
    "range": ("value {v:g} outside {lo}..{hi}", "nilai {v:g} di luar {lo}..{hi}"),
    "spike2": (
        "spike: {v:g} jumps {j:g} from both neighbours ({p:g}, {n:g})",
        "lonjakan: {v:g} melompat {j:g} dari kedua tetangga ({p:g}, {n:g})",
    ),
    "spike1": (
        "spike: {v:g} is {j:g} from the recent median {m:g} and changes {r:g}/h",
        "lonjakan: {v:g} berjarak {j:g} dari median terkini {m:g} dan berubah {r:g}/jam",
    ),
    "flat": (
        "flat line: the same value {v:g} for {h:g} h",
        "garis datar: nilai {v:g} yang sama selama {h:g} jam",
    ),
}


def _reason(key: str, **kw: Any) -> tuple[str, str]:
    en, id_ = _REASONS[key]
    return en.format(**kw), id_.format(**kw)


def _series_flags(
    t: pd.DatetimeIndex,
    v: np.ndarray[Any, np.dtype[np.float64]],
    p: ParameterQC,
    config: QCConfig,
) -> tuple[list[str], list[str], list[str]]:
    """Flags and reasons of one station/parameter series sorted by ``t``."""
    n = len(v)
    flags = [OK] * n
    en = [""] * n
    id_ = [""] * n
    finite = np.isfinite(v)
    usable = finite.copy()
    for i in np.flatnonzero(~finite):
        flags[i] = "missing"
        en[i], id_[i] = _reason("missing")
    lo = -np.inf if p.min is None else p.min
    hi = np.inf if p.max is None else p.max
    out = finite & ((v < lo) | (v > hi))
    for i in np.flatnonzero(out):
        flags[i] = "range"
        en[i], id_[i] = _reason("range", v=v[i], lo=_num(p.min), hi=_num(p.max))
    usable &= ~out
    idx = np.flatnonzero(usable)
    if len(idx) == 0:
        return flags, en, id_
    tu = t[idx]
    vu = v[idx]
    hours = np.asarray((tu - tu[0]) / pd.Timedelta(hours=1), dtype=float)
    gap = config.spike_max_gap.total_seconds() / 3600.0
    if p.spike is not None:
        thr = p.spike
        prev_v = np.r_[np.nan, vu[:-1]]
        next_v = np.r_[vu[1:], np.nan]
        dt_prev = np.r_[np.inf, np.diff(hours)]
        dt_next = np.r_[np.diff(hours), np.inf]
        has_prev = dt_prev <= gap
        has_next = dt_next <= gap
        d1 = vu - prev_v
        d2 = vu - next_v
        jump = np.minimum(np.abs(d1), np.abs(d2))
        with np.errstate(invalid="ignore"):
            two = (
                has_prev
                & has_next
                & (d1 * d2 > 0)
                & (jump > thr)
                & (np.abs(next_v - prev_v) <= config.spike_return * jump)
            )
        median = (
            pd.Series(vu, index=tu)
            .rolling(config.median_window, closed="left", min_periods=1)
            .median()
            .to_numpy()
        )
        rate = np.abs(d1) / np.maximum(dt_prev, 1 / 3600.0)
        with np.errstate(invalid="ignore"):
            one = (
                has_prev
                & ~has_next
                & (np.abs(vu - median) > thr)
                & (p.max_rate is not None)
                & (rate > (p.max_rate if p.max_rate is not None else np.inf))
            )
        for k in np.flatnonzero(two):
            i = idx[k]
            flags[i] = "spike"
            en[i], id_[i] = _reason("spike2", v=vu[k], j=jump[k], p=prev_v[k], n=next_v[k])
        for k in np.flatnonzero(one):
            i = idx[k]
            flags[i] = "spike"
            en[i], id_[i] = _reason(
                "spike1", v=vu[k], j=abs(vu[k] - median[k]), m=median[k], r=round(rate[k], 1)
            )
    if p.flat_hours is not None and len(vu) > 1:
        change = np.r_[True, vu[1:] != vu[:-1]]
        run_id = np.cumsum(change)
        run_start = hours[np.flatnonzero(change)][run_id - 1]
        position = np.arange(len(vu)) - np.flatnonzero(change)[run_id - 1] + 1
        span = hours - run_start
        flat = (span >= p.flat_hours) & (position >= config.flat_min_readings)
        for k in np.flatnonzero(flat):
            i = idx[k]
            if flags[i] == OK:
                flags[i] = "flat"
                en[i], id_[i] = _reason("flat", v=vu[k], h=round(span[k], 1))
    return flags, en, id_


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _times(frame: pd.DataFrame, what: str) -> pd.Series:
    t = pd.to_datetime(frame["t"], errors="coerce")
    if len(t) and getattr(t.dt, "tz", None) is None:
        raise InputError(
            f"{what}: times have no time zone",
            where="field t",
            hint="give tz-aware times, e.g. 2024-02-01T07:00:00+07:00",
            message_id=f"{what}: waktu tidak memiliki zona waktu",
            hint_id="berikan waktu dengan zona waktu, mis. 2024-02-01T07:00:00+07:00",
        )
    return t.dt.tz_convert("UTC") if len(t) else t


def evaluate(
    readings: pd.DataFrame,
    history: pd.DataFrame | None = None,
    config: QCConfig | None = None,
    *,
    stations: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run QC over readings and history together; return both with their flags.

    Returns ``(readings, history)``, each a copy with ``quality``, ``qc_reason`` and
    ``qc_reason_id`` (the history keeps its stored flag as ``quality_stored``; rows
    flagged ``range`` or ``missing`` there are left out). The history's flags are what QC
    says *now* that the new readings are its neighbours (ingest uses them to revise a
    stored live ``spike``). A history row with the same station, parameter and time as a
    reading is replaced by it.
    """
    config = config or QCConfig()
    stations = stations or {}
    cols = ["station_id", "parameter", "t", "value"]
    missing = [c for c in cols if c not in readings.columns]
    if missing:
        raise InputError(
            f"readings lack columns {missing}",
            hint="give station_id, parameter, t, value",
            message_id=f"data bacaan tidak memiliki kolom {missing}",
            hint_id="berikan station_id, parameter, t, value",
        )
    new = readings.copy()
    new["t"] = _times(new, "readings")
    new["value"] = pd.to_numeric(new["value"], errors="coerce").astype(float)
    new["_new"] = True
    new["_pos"] = np.arange(len(new))
    parts = [new]
    if history is not None and len(history):
        old = history.copy()
        old["t"] = _times(old, "history")
        old["value"] = pd.to_numeric(old["value"], errors="coerce").astype(float)
        old["_new"] = False
        old["_pos"] = np.arange(len(old))
        if "quality" in old.columns:
            # Readings already flagged out of range or missing stay out of the neighbours.
            old = old[~old["quality"].isin(["range", "missing"])]
            old = old.rename(columns={"quality": "quality_stored"})
        key = pd.MultiIndex.from_frame(new[["station_id", "parameter", "t"]])
        old = old[~pd.MultiIndex.from_frame(old[["station_id", "parameter", "t"]]).isin(key)]
        parts.append(old)
    both = pd.concat(parts, ignore_index=True).sort_values(
        ["station_id", "parameter", "t"], kind="stable"
    )
    # ``both`` keeps the labels 0..n-1 of the concat, so labels index these arrays.
    quality = np.full(len(both), OK, dtype=object)
    reason_en = np.full(len(both), "", dtype=object)
    reason_id = np.full(len(both), "", dtype=object)
    for (sid, parameter), group in both.groupby(["station_id", "parameter"], sort=False):
        settings = config.for_station(str(parameter), stations.get(str(sid)))
        group = group.drop_duplicates("t", keep="first")
        flags, en, id_ = _series_flags(
            pd.DatetimeIndex(group["t"]),
            group["value"].to_numpy(float),
            settings,
            config,
        )
        labels = group.index.to_numpy()
        quality[labels] = flags
        reason_en[labels] = en
        reason_id[labels] = id_
    both["quality"] = quality[both.index.to_numpy()]
    both["qc_reason"] = reason_en[both.index.to_numpy()]
    both["qc_reason_id"] = reason_id[both.index.to_numpy()]
    out_new = both[both["_new"]].sort_values("_pos")
    out_old = both[~both["_new"]].sort_values("_pos")
    result = readings.copy()
    result["quality"] = out_new["quality"].to_numpy()
    result["qc_reason"] = out_new["qc_reason"].to_numpy()
    result["qc_reason_id"] = out_new["qc_reason_id"].to_numpy()
    hist = out_old.drop(columns=["_new", "_pos"]).reset_index(drop=True)
    return result, hist


def check(
    readings: pd.DataFrame,
    history: pd.DataFrame | None = None,
    config: QCConfig | None = None,
    *,
    stations: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> pd.DataFrame:
    """QC ``readings`` (station_id, parameter, t, value) against ``history``.

    Returns a copy of ``readings`` with ``quality`` ("ok" or a flag from :data:`FLAGS`),
    ``qc_reason`` (English) and ``qc_reason_id`` (Bahasa Indonesia). Nothing is dropped.
    ``stations`` maps station ids to their attributes (per-station overrides).
    """
    return evaluate(readings, history, config, stations=stations)[0]


def station_attributes(bank: Bank, station_ids: list[str] | None = None) -> dict[str, Any]:
    """``{station_id: attributes}`` from the bank's registry."""
    query = select(S.tg_station.c.station_id, S.tg_station.c.attributes)
    if station_ids is not None:
        query = query.where(S.tg_station.c.station_id.in_(station_ids))
    with bank.connect() as conn:
        return {str(r[0]): (r[1] if isinstance(r[1], dict) else {}) for r in conn.execute(query)}


def stale_stations(
    bank: Bank,
    now: datetime | None = None,
    max_age: timedelta = timedelta(hours=2),
    *,
    kind: str | None = None,
    parameter: str | None = None,
) -> pd.DataFrame:
    """Stations with no reading within ``max_age`` before ``now``.

    Returns a frame (station_id, name, kind, last_t, age_hours) sorted by age, oldest
    first; a station that never reported has ``last_t`` NaT and ``age_hours`` NaN and
    comes first.
    """
    from datetime import UTC

    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError(
            "`now` has no time zone",
            hint="give a tz-aware time",
            message_id="`now` tidak memiliki zona waktu",
            hint_id="berikan waktu dengan zona waktu",
        )
    o = S.tg_observation
    last = select(o.c.station_id, func.max(o.c.t).label("last_t")).group_by(o.c.station_id)
    if parameter is not None:
        last = last.where(o.c.parameter == parameter)
    stations = select(S.tg_station.c.station_id, S.tg_station.c.name, S.tg_station.c.kind)
    if kind is not None:
        stations = stations.where(S.tg_station.c.kind == kind)
    with bank.connect() as conn:
        latest = {str(r[0]): r[1] for r in conn.execute(last)}
        rows = [tuple(r) for r in conn.execute(stations)]
    out = []
    for sid, name, skind in rows:
        t = latest.get(str(sid))
        age = None if t is None else now - t
        if age is None or age > max_age:
            out.append(
                {
                    "station_id": sid,
                    "name": name,
                    "kind": skind,
                    "last_t": pd.NaT if t is None else pd.Timestamp(t),
                    "age_hours": np.nan if age is None else age.total_seconds() / 3600.0,
                }
            )
    frame = pd.DataFrame(out, columns=["station_id", "name", "kind", "last_t", "age_hours"])
    frame["_order"] = frame["age_hours"].fillna(np.inf)
    return (
        frame.sort_values(["_order", "station_id"], ascending=[False, True])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
