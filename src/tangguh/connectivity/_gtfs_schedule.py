"""Service days and departures per stop and hour of a GTFS schedule (pure functions).

Inputs are the parsed tables of :mod:`tangguh.connectivity._gtfs_read` (or the same
columns read back from the bank): ``services`` (service_id, days, start_date,
end_date), ``exceptions`` (service_id, date, exception_type), ``trips`` (trip_id,
service_id), ``stop_times`` (trip_id, stop_id, stop_sequence, departure, pickup_type,
times in seconds of the service day) and ``frequencies`` (trip_id, start_time,
end_time, headway_secs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from tangguh.errors import InputError

__all__ = [
    "DEFAULT_PEAK",
    "PeakWindow",
    "active_services",
    "departures_by_hour",
    "parse_peak",
    "resolve_day",
]

#: Default peak window (local time): the morning and evening commutes.
DEFAULT_PEAK = "06:00-09:00,16:00-19:00"

_DAY_NAMES: dict[str, tuple[int, ...]] = {
    "weekday": (0, 1, 2, 3, 4),
    "hari-kerja": (0, 1, 2, 3, 4),
    "monday": (0,), "tuesday": (1,), "wednesday": (2,), "thursday": (3,), "friday": (4,),
    "saturday": (5,), "sunday": (6,),
    "senin": (0,), "selasa": (1,), "rabu": (2,), "kamis": (3,), "jumat": (4,),
    "sabtu": (5,), "minggu": (6,),
}  # fmt: skip
_WINDOW = re.compile(r"^(\d{1,2}):00-(\d{1,2}):00$")


@dataclass(frozen=True)
class PeakWindow:
    """Whole clock hours of the peak window (``hours`` = starts of the counted hours)."""

    text: str
    hours: tuple[int, ...]


def parse_peak(text: str = DEFAULT_PEAK) -> PeakWindow:
    """Parse ``"06:00-09:00,16:00-19:00"`` (whole hours, local time) into a window."""
    hours: set[int] = set()
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        match = _WINDOW.match(part)
        start, end = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
        if not match or not 0 <= start < end <= 24:
            raise InputError(
                f"invalid peak window {part!r}",
                where="peak window",
                hint="give whole-hour ranges HH:00-HH:00 separated by commas, "
                "e.g. 06:00-09:00,16:00-19:00",
                message_id=f"jendela jam sibuk {part!r} tidak sah",
                hint_id="berikan rentang jam bulat HH:00-HH:00 dipisah koma, "
                "mis. 06:00-09:00,16:00-19:00",
            )
        hours.update(range(start, end))
    if not hours:
        raise InputError(
            "empty peak window",
            where="peak window",
            hint="e.g. 06:00-09:00,16:00-19:00",
            message_id="jendela jam sibuk kosong",
            hint_id="mis. 06:00-09:00,16:00-19:00",
        )
    return PeakWindow(text=text.replace(" ", ""), hours=tuple(sorted(hours)))


def _service_matrix(
    services: pd.DataFrame, exceptions: pd.DataFrame, days: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Service ids and a (len(days), len(ids)) boolean matrix: service runs on the day."""
    ids = sorted(set(services["service_id"]) | set(exceptions["service_id"]))
    index = {sid: i for i, sid in enumerate(ids)}
    active = np.zeros((len(days), len(ids)), dtype=bool)
    if len(services):
        cols = np.array([index[s] for s in services["service_id"]], dtype=np.int64)
        flags = np.array([[c == "1" for c in d] for d in services["days"]], dtype=bool)
        start = pd.to_datetime(services["start_date"]).to_numpy().astype("datetime64[D]")
        end = pd.to_datetime(services["end_date"]).to_numpy().astype("datetime64[D]")
        weekday = (days.astype(np.int64) + 3) % 7
        on = flags[:, weekday].T & (start[None, :] <= days[:, None]) & (days[:, None] <= end)
        active[:, cols] = on
    if len(exceptions) and len(days):
        ex_days = pd.to_datetime(exceptions["date"]).to_numpy().astype("datetime64[D]")
        pos = np.searchsorted(days, ex_days)
        inside = (pos < len(days)) & (days[np.minimum(pos, len(days) - 1)] == ex_days)
        rows = pos[inside]
        cols = np.array([index[s] for s in exceptions["service_id"]], dtype=np.int64)[inside]
        active[rows, cols] = exceptions["exception_type"].to_numpy()[inside] == 1
    return ids, active


def active_services(services: pd.DataFrame, exceptions: pd.DataFrame, day: date) -> set[str]:
    """Service ids running on ``day`` (calendar.txt weekdays and dates, then exceptions)."""
    days = np.array([np.datetime64(day, "D")])
    ids, active = _service_matrix(services, exceptions, days)
    return {sid for sid, on in zip(ids, active[0], strict=True) if on}


def _parse_day(day: date | str) -> date | tuple[int, ...]:
    if isinstance(day, date):
        return day
    text = day.strip().lower()
    if text in _DAY_NAMES:
        return _DAY_NAMES[text]
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return pd.to_datetime(text, format=fmt).date()
        except ValueError:
            continue
    raise InputError(
        f"invalid day {day!r}",
        where="day",
        hint="give a date (2024-06-04) or weekday, monday … sunday, saturday, sunday "
        "(also senin … minggu)",
        message_id=f"hari {day!r} tidak sah",
        hint_id="berikan tanggal (2024-06-04) atau weekday, monday … sunday (juga senin … minggu)",
    )


def resolve_day(
    day: date | str,
    services: pd.DataFrame,
    exceptions: pd.DataFrame,
    trips: pd.DataFrame,
    *,
    valid_from: date | None,
    valid_to: date | None,
    reference: date | None,
) -> date:
    """The service date a day specification stands for.

    A date is itself. A weekday name (``monday`` … ``sunday``, ``senin`` … ``minggu``)
    or ``weekday`` (Monday to Friday) stands for the date of that kind, within the
    feed's validity, on which the most trips run; among equally busy dates the first
    on or after ``reference`` (the feed's publication date) wins, else the last before.
    """
    parsed = _parse_day(day)
    if isinstance(parsed, date):
        return parsed
    starts = [d for d in (valid_from,) if d is not None]
    ends = [d for d in (valid_to,) if d is not None]
    if not starts or not ends:
        raise InputError(
            "the feed has no service dates (calendar.txt / calendar_dates.txt)",
            where="day",
            hint="give an explicit date with --day YYYY-MM-DD",
            message_id="feed tidak memiliki tanggal layanan (calendar.txt / calendar_dates.txt)",
            hint_id="berikan tanggal dengan --day YYYY-MM-DD",
        )
    first = np.datetime64(starts[0], "D")
    last = np.datetime64(ends[0], "D")
    days = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7
    days = days[np.isin(weekday, parsed)]
    if len(days) == 0:
        return starts[0] + timedelta(days=(parsed[0] - starts[0].weekday()) % 7)
    ids, active = _service_matrix(services, exceptions, days)
    per_service = trips["service_id"].value_counts().reindex(ids, fill_value=0).to_numpy()
    counts = active.astype(np.int64) @ per_service.astype(np.int64)
    best = days[counts == counts.max()]
    ref = np.datetime64(reference, "D") if reference is not None else best[0]
    after = best[best >= ref]
    chosen = after[0] if len(after) else best[-1]
    return pd.Timestamp(chosen).date()


def departures_by_hour(
    trips: pd.DataFrame,
    stop_times: pd.DataFrame,
    frequencies: pd.DataFrame,
    services: set[str],
) -> pd.DataFrame:
    """Departures per stop and hour of the day for trips of the given services.

    A stop time counts as a departure unless its ``pickup_type`` is 1 (no pickup).
    Trips listed in ``frequencies`` run from ``start_time`` every ``headway_secs``
    while the start is before ``end_time`` (``end_time`` excluded); each stop's
    departure is the run's start plus the stop's offset from the trip's first
    departure in stop_times. Other trips depart at their stop_times. Hours are
    ``(seconds // 3600) % 24``: times past 24:00 count in the early hours.

    Returns
    -------
    pandas.DataFrame
        ``stop_id``, ``hour`` (0..23), ``departures`` (> 0 only), sorted.
    """
    run = set(trips.loc[trips["service_id"].isin(services), "trip_id"])
    st = stop_times[stop_times["trip_id"].isin(run)]
    if st.empty:
        return pd.DataFrame(
            {"stop_id": pd.Series(dtype=object), "hour": pd.Series(dtype=np.int64),
             "departures": pd.Series(dtype=np.int64)}
        )  # fmt: skip
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    first_dep = st.groupby("trip_id", sort=False)["departure"].transform("first")
    st = st.assign(offset=st["departure"].to_numpy() - first_dep.to_numpy())
    st = st[st["pickup_type"].to_numpy() != 1]
    stop_codes, stop_names = pd.factorize(st["stop_id"])
    st = st.assign(code=stop_codes)
    freq = frequencies[frequencies["trip_id"].isin(run)]
    freq_trips = set(freq["trip_id"])
    fixed = st[~st["trip_id"].isin(freq_trips)]
    codes = [fixed["code"].to_numpy(np.int64)]
    hours = [(fixed["departure"].to_numpy(np.int64) // 3600) % 24]
    if len(freq):
        pairs = freq.merge(st[st["trip_id"].isin(freq_trips)], on="trip_id")
        start = pairs["start_time"].to_numpy(np.int64)
        headway = pairs["headway_secs"].to_numpy(np.int64)
        runs = -((start - pairs["end_time"].to_numpy(np.int64)) // headway)  # ceil
        runs = np.maximum(runs, 0)
        total = int(runs.sum())
        k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(runs) - runs, runs)
        times = np.repeat(start + pairs["offset"].to_numpy(np.int64), runs)
        times += k * np.repeat(headway, runs)
        codes.append(np.repeat(pairs["code"].to_numpy(np.int64), runs))
        hours.append((times // 3600) % 24)
    flat = np.concatenate(codes) * 24 + np.concatenate(hours)
    counts = np.bincount(flat, minlength=len(stop_names) * 24).reshape(-1, 24)
    stop_idx, hour = np.nonzero(counts)
    return pd.DataFrame(
        {
            "stop_id": np.asarray(stop_names, dtype=object)[stop_idx],
            "hour": hour.astype(np.int64),
            "departures": counts[stop_idx, hour].astype(np.int64),
        }
    ).sort_values(["stop_id", "hour"], ignore_index=True)
