"""Stations of the demo city and one year (2024, hourly, UTC) of synthetic readings.

Stations: river gauges upstream / midstream / downstream on every river (with
Siaga 3/2/1 thresholds in cm above the local gauge zero), rain gauges, a tide gauge
on the coast, pump houses near the river mouths and reservoirs (waduk) behind
the coast. Only river gauges (``water_level``, cm) and rain gauges (``rainfall``,
mm/h) get observations.

Water level = seasonal base (higher in the wet season, Nov-Mar) + a damped response
to ordinary showers (capped below Siaga 3) + AR(1) noise + flood events. A flood
event is heavy rain over the city followed by a rise at the upstream gauge a few
hours later and at the mid- and downstream gauges after the travel time
(``lead_time_h``); each event reaches a chosen Siaga level per river, one of them
Siaga 1. Three sensor glitches are planted on purpose and left with quality
"good" (quality control is a later step): a one-hour spike on a water level, a
36-hour flat line, and a one-hour rain spike. Every event and glitch is listed in
``meta["events"]`` with its times, taken from the generated data.
"""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.demo._geo import FloatArray, coast_y, kmeans
from tangguh.demo._services import kelurahan_names_at

__all__ = ["SIAGA", "build_observations", "build_stations", "siaga_level"]

#: Siaga thresholds (cm above gauge zero) and normal levels per gauge position.
SIAGA: dict[str, dict[str, float]] = {
    "up": {"siaga3": 80, "siaga2": 150, "siaga1": 200, "dry": 20, "wet": 40, "bg": 25, "sd": 2.0},
    "mid": {
        "siaga3": 200,
        "siaga2": 270,
        "siaga1": 350,
        "dry": 80,
        "wet": 115,
        "bg": 50,
        "sd": 4.0,
    },
    "down": {
        "siaga3": 750,
        "siaga2": 850,
        "siaga1": 950,
        "dry": 600,
        "wet": 640,
        "bg": 60,
        "sd": 5.0,
    },
}
_POSITIONS = (("up", 0.12, "hulu"), ("mid", 0.50, "tengah"), ("down", 0.88, "hilir"))
_RAIN_GAUGES = {"small": 4, "full": 12}
_PUMPS_PER_RIVER = {"small": 1, "full": 2}
_RESERVOIRS = {"small": 2, "full": 8}
_RAIN_TO_UP_H = 3
#: Flood events: rain start (UTC) and the Siaga level reached per river (0 = no alert).
_EVENTS = (
    ("2024-01-14 08:00", (3, 2, 0, 3, 0, 2)),
    ("2024-02-05 09:00", (1, 2, 2, 3, 3, 2)),
    ("2024-03-10 07:00", (0, 0, 3, 0, 3, 0)),
    ("2024-11-18 08:00", (3, 2, 0, 2, 0, 3)),
    ("2024-12-27 09:00", (2, 3, 3, 0, 2, 0)),
)
_RAIN_PEAK = {0: 15.0, 3: 25.0, 2: 40.0, 1: 65.0}
_TIMES = pd.date_range("2024-01-01 00:00", "2024-12-31 23:00", freq="h", tz="UTC")


def _iso(i: int) -> str:
    """ISO 8601 text of hour ``i`` of 2024 (UTC)."""
    return pd.Timestamp(_TIMES[i]).isoformat()


def siaga_level(value: float, thresholds: dict[str, Any]) -> int:
    """Siaga level of a water level: 1 (highest alert), 2, 3, or 0 below Siaga 3."""
    for level in (1, 2, 3):
        if value >= thresholds[f"siaga{level}"]:
            return level
    return 0


def build_stations(
    admin: gpd.GeoDataFrame,
    rivers: gpd.GeoDataFrame,
    size: Literal["small", "full"],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The station table (river, rain and tide gauges, pump houses, reservoirs)."""
    rows: list[dict[str, Any]] = []

    def add(sid: str, name: str, kind: str, pt: Any, river: str | None, **attrs: Any) -> None:
        rows.append(
            {
                "station_id": sid,
                "name": name,
                "kind": kind,
                "lon": round(float(pt.x), 6),
                "lat": round(float(pt.y), 6),
                "river": river,
                "attributes": attrs,
                "source": "synthetic",
            }
        )

    for k, river in enumerate(rivers.to_dict("records"), start=1):
        line, rname, rid = river["geometry"], str(river["name"]), str(river["river_id"])
        lag_mid = int(rng.integers(3, 6))
        lag_down = int(rng.integers(2, 5))
        travel = {"up": lag_mid, "mid": lag_down, "down": 2}
        to_sea = {"up": lag_mid + lag_down + 2, "mid": lag_down + 2, "down": 2}
        following = {"up": f"wl_{k:02d}_mid", "mid": f"wl_{k:02d}_down", "down": "sea"}
        fractions = [f for _, f, _ in _POSITIONS]
        pts = np.asarray(shapely.line_interpolate_point(line, fractions, normalized=True))
        rw_ids, kel = kelurahan_names_at(admin, pts)
        for i, (pos, _, word) in enumerate(_POSITIONS):
            th = SIAGA[pos]
            add(
                f"wl_{k:02d}_{pos}",
                f"Pos {kel[i]} ({rname}, {word})",
                "river_gauge",
                pts[i],
                rname,
                siaga3=int(th["siaga3"]),
                siaga2=int(th["siaga2"]),
                siaga1=int(th["siaga1"]),
                datum="local gauge zero",
                position=pos,
                river_id=rid,
                downstream=following[pos],
                lead_time_h=travel[pos],
                lead_time_to_sea_h=to_sea[pos],
                unit_id=str(rw_ids[i]),
            )
        for p in range(_PUMPS_PER_RIVER[size]):
            at = shapely.line_interpolate_point(line, 0.96 - 0.05 * p, normalized=True)
            add(
                f"ph_{k:02d}_{p + 1}",
                f"Rumah Pompa {rname} {p + 1}",
                "pump_house",
                shapely.Point(at.x + 0.0012, at.y),
                rname,
                pumps=int(rng.integers(2, 8)),
                capacity_m3s=float(rng.integers(4, 30)),
                river_id=rid,
            )

    rw = admin[admin["level"] == "rw"]
    rw_pts = shapely.point_on_surface(rw.geometry.values)
    xy = shapely.get_coordinates(rw_pts)
    labels = kmeans(xy, _RAIN_GAUGES[size], rng)
    for g in range(_RAIN_GAUGES[size]):
        members = np.flatnonzero(labels == g)
        centre = xy[members].mean(axis=0)
        best = members[int(np.argmin(np.hypot(*(xy[members] - centre).T)))]
        _, kel = kelurahan_names_at(admin, rw_pts[[best]])
        unit_id = str(rw["unit_id"].iloc[best])
        add(f"rr_{g + 1:02d}", f"Pos Hujan {kel[0]}", "rain_gauge", rw_pts[best], None,
            unit_id=unit_id, interval="1h")  # fmt: skip

    xs = np.array([float(np.median(xy[:, 0]))])
    tide = shapely.Point(xs[0], float(coast_y(xs)[0]) - 0.0008)
    add("td_01", "Pos Pasang Surut Pelabuhan Demo", "tide_gauge", tide, None,
        datum="mean sea level", hat_cm=60, lat_cm=-55)  # fmt: skip

    coastal = np.flatnonzero(
        (xy[:, 1] > coast_y(xy[:, 0]) - 0.03) & (xy[:, 1] < coast_y(xy[:, 0]) - 0.008)
    )
    picks = np.sort(rng.choice(coastal, _RESERVOIRS[size], replace=False))
    for i, idx in enumerate(picks.tolist(), start=1):
        _, kel = kelurahan_names_at(admin, rw_pts[[idx]])
        area = float(rng.uniform(5, 80))
        volume = int(area * 1e4 * rng.uniform(2.0, 4.0))
        add(f"wd_{i:02d}", f"Waduk {kel[0]}", "reservoir", rw_pts[idx], None,
            area_ha=round(area, 1), capacity_m3=volume)  # fmt: skip
    return pd.DataFrame(rows)


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float = 0.9) -> FloatArray:
    eps = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):  # 8,784 steps per gauge: cheap
        acc = phi * acc + eps[i]
        out[i] = acc
    return out


def _event_shape(tau: FloatArray, rise: float, recession: float) -> FloatArray:
    """Hydrograph shape: 1 at the peak (tau = 0), Gaussian rise, exponential recession."""
    rising = np.exp(-((np.minimum(tau, 0.0) / rise) ** 2))
    falling = np.exp(-np.maximum(tau, 0.0) / recession)
    return np.where(tau <= 0, rising, falling)


def build_observations(
    stations: pd.DataFrame, size: Literal["small", "full"], rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Hourly readings of all river and rain gauges for 2024, plus the event list."""
    n = len(_TIMES)
    hours = np.arange(n, dtype=float)
    doy = _TIMES.day_of_year.to_numpy().astype(float)
    wet = 0.5 + 0.5 * np.cos(2 * np.pi * (doy - 20.0) / 366.0)
    diurnal = 1.0 + 0.9 * np.cos(2 * np.pi * (_TIMES.hour.to_numpy() - 9.0) / 24.0)
    t_index = {t: i for i, t in enumerate(_TIMES)}
    rain_ids = stations.loc[stations["kind"] == "rain_gauge", "station_id"].tolist()
    river_rows = stations[stations["kind"] == "river_gauge"]
    gauges: list[tuple[str, dict[str, Any]]] = [
        (str(sid), dict(a))
        for sid, a in zip(river_rows["station_id"], river_rows["attributes"], strict=True)
    ]
    lag = _lags_from_rain(gauges)

    # ordinary showers: city-wide storms, each gauge catching a share
    storm = np.zeros(n)
    starts = np.flatnonzero(rng.random(n) < (0.002 + 0.03 * wet) * diurnal)
    for first, d, amt in zip(
        starts, rng.integers(1, 5, len(starts)), rng.exponential(6.0, len(starts)), strict=True
    ):
        storm[first : first + d] += amt
    rain = {sid: storm * rng.lognormal(0.0, 0.5, n) * (rng.random(n) < 0.8) for sid in rain_ids}
    kernel = np.exp(-np.arange(48) / 10.0) * np.arange(48) / 10.0
    kernel /= kernel.sum()
    catchment = np.mean(list(rain.values()), axis=0)

    events: list[dict[str, Any]] = []
    planned: dict[tuple[int, str], int] = {}
    levels: dict[str, FloatArray] = {}
    river_ids = sorted({str(a["river_id"]) for _, a in gauges})
    for sid, a in gauges:
        th = SIAGA[a["position"]]
        response = np.convolve(catchment, kernel)[: n - lag[sid]]
        response = np.concatenate([np.zeros(lag[sid]), response])
        bg = th["bg"] * np.tanh(response / 5.0)
        levels[sid] = th["dry"] + (th["wet"] - th["dry"]) * wet + bg + _ar1(rng, n, th["sd"])

    # flood events
    for number, (start, sev_by_river) in enumerate(_EVENTS, start=1):
        i0 = t_index[pd.Timestamp(start, tz="UTC")]
        sev = dict(zip(river_ids, sev_by_river, strict=False))
        worst = min((s for s in sev.values() if s), default=0)
        peak_rain = _RAIN_PEAK[worst]
        duration = int(rng.integers(6, 11))
        profile = np.interp(np.arange(duration), [0, duration / 2, duration - 1], [0.2, 1.0, 0.2])
        for sid in rain_ids:
            rain[sid][i0 : i0 + duration] += peak_rain * profile * rng.uniform(0.7, 1.2)
        rain_peak = i0 + duration // 2
        record: dict[str, Any] = {
            "kind": "flood",
            "name": f"synthetic flood {number}",
            "rain_start": _iso(i0),
            "rain_peak": _iso(rain_peak),
            "rain_hours": duration,
            "max_siaga": worst,
            "gauges": {},
        }
        for sid, a in gauges:
            th = SIAGA[a["position"]]
            s = sev.get(a["river_id"], 0)
            tp = rain_peak + lag[sid]
            level = levels[sid]
            now = level[tp]
            # aim well inside the Siaga band, so noise cannot push the peak across a line
            frac = rng.uniform(0.3, 0.7)
            if s == 0:
                target = now + frac * 0.8 * (th["siaga3"] - now)
            elif s == 1:
                target = th["siaga1"] + frac * 0.4 * (th["siaga1"] - th["siaga2"])
            else:
                target = th[f"siaga{s}"] + frac * (th[f"siaga{s - 1}"] - th[f"siaga{s}"])
            rise, recession = {"up": (2.0, 8.0), "mid": (3.0, 12.0), "down": (4.0, 18.0)}[
                a["position"]
            ]
            level += (target - now) * _event_shape(hours - tp, rise, recession)
            record["gauges"][sid] = {"expected_siaga": s}
            planned[(number - 1, sid)] = tp
        events.append(record)

    values: dict[str, FloatArray] = {}
    for sid, v in levels.items():
        values[sid] = np.round(np.maximum(v, 0.0), 0).astype(np.float64)
    for sid, v in rain.items():
        values[sid] = np.round(np.maximum(v, 0.0), 1).astype(np.float64)
    events.extend(_plant_glitches(values, [sid for sid, _ in gauges], rain_ids, t_index))
    _measure_peaks(events, values, dict(gauges), planned)

    frames = []
    for sid, v in values.items():
        is_rain = sid in rain
        frames.append(
            pd.DataFrame(
                {
                    "station_id": sid,
                    "parameter": "rainfall" if is_rain else "water_level",
                    "t": _TIMES,
                    "value": v,
                    "unit": "mm/h" if is_rain else "cm",
                    "quality": "good",
                    "source": "synthetic",
                }
            )
        )
    obs = pd.concat(frames, ignore_index=True)
    return obs, events


def _lags_from_rain(gauges: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """Hours from the rain peak to the water-level peak at each river gauge."""
    to_sea_up = {
        a["river_id"]: int(a["lead_time_to_sea_h"]) for _, a in gauges if a["position"] == "up"
    }
    return {
        sid: _RAIN_TO_UP_H + to_sea_up[a["river_id"]] - int(a["lead_time_to_sea_h"])
        for sid, a in gauges
    }


def _plant_glitches(
    values: dict[str, FloatArray],
    ids: list[str],
    rain_ids: list[str],
    t_index: dict[pd.Timestamp, int],
) -> list[dict[str, Any]]:
    """Plant a one-hour spike, a flat line and a rain spike; return their descriptions."""
    spike_sid = next(s for s in ids if s.endswith("_mid"))
    flat_sid = [s for s in ids if s.endswith("_down")][1]
    i = t_index[pd.Timestamp("2024-07-15 04:00", tz="UTC")]
    values[spike_sid][i] += 150.0
    j0 = t_index[pd.Timestamp("2024-08-03 00:00", tz="UTC")]
    flat_value = float(values[flat_sid][j0])
    values[flat_sid][j0 : j0 + 36] = flat_value
    k = t_index[pd.Timestamp("2024-06-10 13:00", tz="UTC")]
    values[rain_ids[1]][k] = 150.0
    return [
        {"kind": "glitch_spike", "station_id": spike_sid, "parameter": "water_level",
         "t": _iso(i), "value": float(values[spike_sid][i]),
         "note": "one-hour sensor spike of +150 cm, not a flood; quality left 'good'"},
        {"kind": "glitch_flatline", "station_id": flat_sid, "parameter": "water_level",
         "start": _iso(j0), "end": _iso(j0 + 35), "hours": 36,
         "value": flat_value, "note": "sensor stuck at one value; quality left 'good'"},
        {"kind": "glitch_spike", "station_id": rain_ids[1], "parameter": "rainfall",
         "t": _iso(k), "value": 150.0,
         "note": "one-hour rain spike in the dry season; quality left 'good'"},
    ]  # fmt: skip


def _measure_peaks(
    events: list[dict[str, Any]],
    values: dict[str, FloatArray],
    attrs: dict[str, dict[str, Any]],
    planned: dict[tuple[int, str], int],
) -> None:
    """Fill every flood event with the observed peak (time, value, Siaga) per gauge."""
    for number, ev in enumerate(events):
        if ev["kind"] != "flood":
            continue
        for sid, info in ev["gauges"].items():
            tp = planned[(number, sid)]
            lo, hi = tp - 12, tp + 12
            window = values[sid][lo:hi]
            at = lo + int(np.argmax(window))
            info["peak_t"] = _iso(at)
            info["peak_cm"] = float(values[sid][at])
            info["siaga"] = siaga_level(float(values[sid][at]), attrs[sid])
