"""What a flood does to connectivity: unusable stops, the SDG 11.2.1 drop, lost facilities.

Given a flood scenario (:class:`tangguh.connectivity.evacuate.FloodScenario`):

1. **Streets**: every street edge touching the flood is removed from the walking network
   (:meth:`WalkNetwork.edges_within`, :meth:`WalkNetwork.without`).
2. **Stops and stations**: a stop inside the flood is unusable (``flooded``); a stop with
   no open street within 500 m is unusable too (``no_open_street``); the others are
   re-snapped onto the nearest open street.
3. **SDG 11.2.1 before and after** per kelurahan (and RW): the share of people within
   500 m walk of a low-capacity stop or 1 km of a high-capacity one
   (:data:`tangguh.connectivity.modes.WALK_LIMIT_M`), on the same population points as
   :mod:`tangguh.connectivity.sdg` (:func:`population.snapped_population`). One
   Dijkstra per state: low-capacity stops get a 500 m head start penalty so a single
   1 km search serves both classes. *After* the flood: the flooded network, only usable
   stops, and **people whose home is inside the flood count as not served** (they
   cannot walk out to a stop; they are the evacuees), so the drop measures both lost
   streets and flooded homes. The drop is in percentage points.
4. **Facilities per RW**: an RW *has walking access* to a hospital (default 2 km walk)
   or a market (default 1 km) when at least half of its people live within that walk of
   one; it *loses* access when it had it before the flood and not after (flooded
   network, facilities inside the flood unusable, flooded homes not served).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from tangguh._spatial import points_in_polygons
from tangguh.connectivity.evacuate import FloodScenario
from tangguh.connectivity.modes import WALK_LIMIT_M
from tangguh.connectivity.network import Snap, WalkNetwork, network_for
from tangguh.errors import InputError

if TYPE_CHECKING:
    from tangguh.bank import Bank
    from tangguh.connectivity.population import SnappedPopulation

__all__ = [
    "DEFAULT_HOSPITAL_WALK_M",
    "DEFAULT_MARKET_WALK_M",
    "MAJORITY",
    "CascadeResult",
    "flood_cascade",
]

#: Walk to a hospital counted as access (metres): about 30 minutes for most people.
DEFAULT_HOSPITAL_WALK_M = 2000.0
#: Walk to a market counted as access (metres): daily shopping on foot.
DEFAULT_MARKET_WALK_M = 1000.0
#: Share of an RW's people within the walk for the RW to "have access".
MAJORITY = 0.5
#: Farthest a stop or a facility may be from an open street (metres).
_SNAP_M = 500.0


@dataclass
class CascadeResult:
    """The cascade of one flood scenario.

    Attributes
    ----------
    stops:
        Per stop: ``stop_id``, ``name``, ``mode``, ``capacity``, ``usable``, ``reason``.
    sdg:
        Per kelurahan: ``unit_id``, ``name``, ``population``, ``flooded_people``,
        ``before_pct``, ``after_pct``, ``drop_pct`` (percentage points),
        ``people_losing`` (served before, not after).
    rw:
        Per RW: ``unit_id``, ``name``, ``parent_id``, ``population``,
        ``flooded_people``, SDG ``before_pct``/``after_pct``, and for each facility kind
        ``hospital_before_pct``, ``hospital_after_pct``, ``loses_hospital`` (and the same
        for ``market``).
    facilities:
        Per facility: ``kind``, ``facility_id``, ``name``, ``usable``, ``reason``.
    """

    scenario: dict[str, Any]
    params: dict[str, Any]
    stops: pd.DataFrame
    sdg: pd.DataFrame
    rw: pd.DataFrame
    facilities: pd.DataFrame
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready result."""
        from tangguh.connectivity.evacuate import frame_records

        return {
            "flood": self.scenario,
            "params": self.params,
            "summary": self.summary,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "sdg": frame_records(self.sdg),
            "rw": frame_records(self.rw),
            "stops": frame_records(self.stops),
            "facilities": frame_records(self.facilities),
        }


def _in_flood(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], flood: FloodScenario) -> Any:
    geoms = np.asarray(flood.areas.geometry.values, dtype=object)
    hit, _ = points_in_polygons(x, y, geoms, predicate="intersects")
    wet = np.zeros(len(x), dtype=bool)
    wet[hit] = True
    return wet


def _points_of(frame: gpd.GeoDataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """x, y of each feature (points as they are, polygons: a point inside; NaN if none)."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    pts = np.full(len(geoms), None, dtype=object)
    pts[ok] = shapely.point_on_surface(geoms[ok])
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[ok] = shapely.get_x(pts[ok])
    y[ok] = shapely.get_y(pts[ok])
    return x, y


def _usable(
    net: WalkNetwork, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], flood: FloodScenario
) -> tuple[Snap, npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
    """Snap onto open streets; unusable when inside the flood or far from every open street."""
    finite = np.isfinite(x) & np.isfinite(y)
    wet = np.zeros(len(x), dtype=bool)
    wet[finite] = _in_flood(x[finite], y[finite], flood)
    snap = net.snap_open(
        np.column_stack([np.nan_to_num(x), np.nan_to_num(y)]), max_distance=_SNAP_M
    )
    ok = snap.ok & finite & ~wet
    reason = np.full(len(x), None, dtype=object)
    reason[~(snap.ok & finite)] = "no_open_street"
    reason[wet] = "flooded"
    return (
        Snap(np.where(ok, snap.edge, -1), snap.along, np.where(ok, snap.offset, np.inf)),
        ok,
        reason,
    )


def _sdg_points(
    bank: Bank,
    sp: SnappedPopulation,
    net: WalkNetwork,
    stops: gpd.GeoDataFrame,
    roads: str,
    buildings: str | None,
    min_departures: float | None,
) -> tuple[npt.NDArray[np.bool_], pd.DataFrame]:
    """Per population point: reached by SDG 11.2.1 (:func:`sdg.sdg_11_2_1`) on ``net``."""
    from tangguh.connectivity.sdg import sdg_11_2_1

    if stops.empty:
        return np.zeros(len(sp.points), dtype=bool), pd.DataFrame(columns=["stop_id", "reason"])
    result = sdg_11_2_1(
        bank,
        network=net,
        stops=stops,
        min_departures=min_departures,
        roads=roads,
        buildings=buildings,
        levels=("kelurahan",),
        point_mask=True,
    )
    mask = result.reached_points
    if mask is None or len(mask) != len(sp.points):  # pragma: no cover - same cached points
        raise InputError(
            "the SDG 11.2.1 population points differ from the cascade's",
            where="sdg_11_2_1(point_mask=True)",
            hint="report this; both must use population_points with the same layers",
            message_id="titik penduduk SDG 11.2.1 berbeda dari titik penduduk cascade",
            hint_id="laporkan ini; keduanya harus memakai population_points dengan lapisan sama",
        )
    return np.asarray(mask, dtype=bool), result.stop_report


def _within(
    sp: SnappedPopulation, net: WalkNetwork, targets: Snap, limit: float
) -> npt.NDArray[np.bool_]:
    if not targets.ok.any():
        return np.zeros(len(sp.points), dtype=bool)
    dist = net.distances(targets, limit=limit)
    _, mask = sp.reached(dist.node, limit, sources=targets, blocked=net.blocked, with_mask=True)
    assert mask is not None
    return mask


def _read_facilities(bank: Bank, layer: str, kind: str) -> gpd.GeoDataFrame | None:
    if not bank.has_layer(layer):
        return None
    frame = bank.read_layer(layer)
    id_col = next(
        (c for c in (f"{kind}_id", "id", "OBJECTID", "objectid") if c in frame.columns), None
    )
    name_col = next((c for c in ("name", "nama", "NAMOBJ") if c in frame.columns), None)
    ids = (
        frame[id_col].astype("string").fillna("").to_numpy(dtype=object)
        if id_col
        else np.array([f"{layer}:{i}" for i in frame.index], dtype=object)
    )
    names = frame[name_col].astype("string").fillna("").to_numpy(dtype=object) if name_col else ids
    return gpd.GeoDataFrame(
        {"facility_id": ids, "name": names}, geometry=frame.geometry.to_numpy(), crs="EPSG:4326"
    )


def flood_cascade(
    bank: Bank,
    flood: FloodScenario,
    *,
    roads: str = "roads",
    stops: gpd.GeoDataFrame | None = None,
    hospitals: str | None = "hospitals",
    markets: str | None = "markets",
    hospital_walk: float = DEFAULT_HOSPITAL_WALK_M,
    market_walk: float = DEFAULT_MARKET_WALK_M,
    buildings: str | None = "buildings",
    min_peak_departures: float | None = None,
) -> CascadeResult:
    """Unusable stops, SDG 11.2.1 per kelurahan before/after, RWs losing facilities.

    Parameters
    ----------
    flood:
        The flood scenario.
    stops:
        Stops with ``stop_id``, ``name``, ``mode``, ``capacity`` (``low``/``high``) and
        points; default: :func:`tangguh.connectivity.gtfs.load_stops` of the bank.
    hospitals, markets:
        Facility layers (skipped when absent or None).
    hospital_walk, market_walk:
        Walk (metres) counted as access to each.
    min_peak_departures:
        Count only stops with at least this many departures in the peak hour.

    Raises
    ------
    InputError
        A walk that is not a positive number, stops without a capacity column.
    """
    from tangguh.connectivity.gtfs import load_stops
    from tangguh.connectivity.population import snapped_population

    for name, value in (("hospital_walk", hospital_walk), ("market_walk", market_walk)):
        if not np.isfinite(value) or value <= 0:
            raise InputError(
                f"{name} must be a positive number of metres, not {value}",
                where=f"--{name.replace('_', '-')}",
                hint="e.g. --hospital-walk 2000 --market-walk 1000",
                message_id=f"{name} harus meter positif, bukan {value}",
                hint_id="mis. --hospital-walk 2000 --market-walk 1000",
            )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    net = network_for(bank, roads)
    if buildings is not None and not bank.has_layer(buildings):
        buildings = None
    sp = snapped_population(bank, net, roads=roads, buildings=buildings)
    if stops is None:
        stops = load_stops(bank, min_peak_departures=min_peak_departures)
    if "capacity" not in stops.columns:
        raise InputError(
            "the stops have no capacity column (low/high)",
            where="stops",
            hint="load them with tangguh.connectivity.gtfs.load_stops",
            message_id="halte tidak memiliki kolom capacity (low/high)",
            hint_id="muat dengan tangguh.connectivity.gtfs.load_stops",
        )
    timings["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    blocked = net.edges_within(flood.areas)
    wet_net = net.without(blocked)
    pts = sp.points
    home_wet = _in_flood(pts.x, pts.y, flood)
    timings["network"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sx, sy = _points_of(stops)
    cap = stops["capacity"].astype(object).to_numpy()
    counted = np.isin(cap, ("low", "high"))
    _, stop_ok, stop_reason = _usable(wet_net, sx, sy, flood)
    served_before, _ = _sdg_points(bank, sp, net, stops, roads, buildings, min_peak_departures)
    served_after, report = _sdg_points(
        bank, sp, wet_net, stops[stop_ok], roads, buildings, min_peak_departures
    )
    # Stops outside the water whose street is flooded cannot be reached either.
    street = report[report["reason"] == "flooded_street"]["stop_id"].astype(str)
    on_wet_street = stops["stop_id"].astype(str).isin(set(street)).to_numpy() & stop_ok
    stop_reason[on_wet_street] = "flooded_street"
    stop_ok = stop_ok & ~on_wet_street
    served_after &= ~home_wet
    timings["sdg"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fac_rows: list[pd.DataFrame] = []
    access: dict[str, tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]] = {}
    for kind, layer, walk in (
        ("hospital", hospitals, hospital_walk),
        ("market", markets, market_walk),
    ):
        if layer is None:
            continue
        fac = _read_facilities(bank, layer, kind)
        if fac is None or fac.empty:
            continue
        fx, fy = _points_of(fac)
        finite = np.isfinite(fx) & np.isfinite(fy)
        snap_b = net.snap(
            np.column_stack([np.nan_to_num(fx), np.nan_to_num(fy)]), max_distance=_SNAP_M
        )
        snap_b = Snap(np.where(finite, snap_b.edge, -1), snap_b.along, snap_b.offset)
        snap_a, ok, reason = _usable(wet_net, fx, fy, flood)
        access[kind] = (
            _within(sp, net, snap_b, walk),
            _within(sp, wet_net, snap_a, walk) & ~home_wet,
        )
        fac_rows.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "layer": layer,
                    "facility_id": fac["facility_id"].to_numpy(),
                    "name": fac["name"].to_numpy(),
                    "usable": ok,
                    "reason": reason,
                }
            )
        )
    timings["facilities"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    units = pts.units
    leaf = pts.leaf
    people = pts.people
    n_leaf = len(pts.leaf_ids)

    def per_leaf(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        return np.asarray(
            np.bincount(leaf[mask], weights=people[mask], minlength=n_leaf), dtype=np.float64
        )

    leaf_pop = pts.leaf_population
    leaf_frame = pd.DataFrame(
        {
            "population": leaf_pop,
            "flooded_people": per_leaf(home_wet),
            "sdg_before": per_leaf(served_before),
            "sdg_after": per_leaf(served_after),
            "sdg_lost": per_leaf(served_before & ~served_after),
        },
        index=pd.Index(pts.leaf_ids, name="unit_id"),
    )
    for kind, (b, a) in access.items():
        leaf_frame[f"{kind}_before"] = per_leaf(b)
        leaf_frame[f"{kind}_after"] = per_leaf(a)
    admin = _unit_names(bank)
    sdg = _by_level(leaf_frame, units, "kelurahan", admin)
    rw = _by_level(leaf_frame, units, "rw", admin)
    rw_pop = rw["population"].replace(0, np.nan)
    for kind in access:
        had = rw.pop(f"{kind}_before") / rw_pop
        has = rw.pop(f"{kind}_after") / rw_pop
        rw[f"{kind}_before_pct"] = np.round(100 * had.fillna(0), 2)
        rw[f"{kind}_after_pct"] = np.round(100 * has.fillna(0), 2)
        rw[f"loses_{kind}"] = (had >= MAJORITY) & ~(has >= MAJORITY)
        sdg = sdg.drop(columns=[f"{kind}_before", f"{kind}_after"], errors="ignore")
    for kind in ("hospital", "market"):
        if f"loses_{kind}" not in rw.columns:
            rw[f"loses_{kind}"] = False
    timings["rollup"] = time.perf_counter() - t0

    stop_table = pd.DataFrame(
        {
            "stop_id": stops["stop_id"].to_numpy() if "stop_id" in stops else stops.index,
            "name": stops["name"].to_numpy() if "name" in stops else None,
            "mode": stops["mode"].to_numpy() if "mode" in stops else None,
            "capacity": cap,
            "usable": stop_ok,
            "reason": stop_reason,
        }
    )
    facilities = (
        pd.concat(fac_rows, ignore_index=True)
        if fac_rows
        else pd.DataFrame(columns=["kind", "layer", "facility_id", "name", "usable", "reason"])
    )
    total = float(leaf_pop.sum())
    summary = {
        "stops": int(counted.sum()),
        "stops_unusable": int((counted & ~stop_ok).sum()),
        "stops_flooded": int((counted & (stop_reason == "flooded")).sum()),
        "edges_flooded": int(blocked.sum()),
        "population": round(total),
        "flooded_people": round(float(leaf_frame["flooded_people"].sum())),
        "sdg_before_pct": round(100 * float(leaf_frame["sdg_before"].sum()) / total, 2)
        if total
        else None,
        "sdg_after_pct": round(100 * float(leaf_frame["sdg_after"].sum()) / total, 2)
        if total
        else None,
        "people_losing_transit": round(float(leaf_frame["sdg_lost"].sum())),
        "kelurahan_with_drop": int((sdg["drop_pct"] > 0).sum()) if len(sdg) else 0,
        "rw_losing_hospital": int(rw["loses_hospital"].sum()),
        "rw_losing_market": int(rw["loses_market"].sum()),
        "hospitals_unusable": int(
            ((facilities["kind"] == "hospital") & ~facilities["usable"].astype(bool)).sum()
        ),
        "markets_unusable": int(
            ((facilities["kind"] == "market") & ~facilities["usable"].astype(bool)).sum()
        ),
    }
    params = {
        "roads": roads,
        "hospitals": hospitals,
        "markets": markets,
        "hospital_walk_m": float(hospital_walk),
        "market_walk_m": float(market_walk),
        "walk_limits_m": dict(WALK_LIMIT_M),
        "majority": MAJORITY,
        "min_peak_departures": min_peak_departures,
        "flooded_homes": "not served",
    }
    return CascadeResult(
        scenario=flood.to_json(),
        params=params,
        stops=stop_table,
        sdg=sdg,
        rw=rw,
        facilities=facilities,
        summary=summary,
        timings=timings,
    )


def _unit_names(bank: Bank) -> pd.DataFrame:
    from tangguh.admin.store import load_units

    units = load_units(bank)
    return pd.DataFrame(
        {"name": units["name"].to_numpy(), "parent_id": units["parent_id"].to_numpy()},
        index=pd.Index(units["unit_id"].astype(str), name="unit_id"),
    )


def _by_level(
    leaf_frame: pd.DataFrame, units: pd.DataFrame, level: str, admin: pd.DataFrame
) -> pd.DataFrame:
    """Sum the leaf rows to ``level`` and turn SDG counts into percentages."""
    cols = [
        "unit_id",
        "name",
        "parent_id",
        "population",
        "flooded_people",
        "before_pct",
        "after_pct",
        "drop_pct",
        "people_losing",
    ]
    if level not in units.columns:
        return pd.DataFrame(columns=cols)
    key = units[level].reindex(leaf_frame.index)
    frame = leaf_frame[key.notna().to_numpy()]
    grouped = frame.groupby(key[key.notna()].astype(str).to_numpy()).sum()
    grouped.index.name = "unit_id"
    pop = grouped["population"].replace(0, np.nan)
    before = (100 * grouped.pop("sdg_before") / pop).fillna(0.0)
    after = (100 * grouped.pop("sdg_after") / pop).fillna(0.0)
    out = pd.DataFrame(
        {
            "name": admin["name"].reindex(grouped.index).to_numpy(),
            "parent_id": admin["parent_id"].reindex(grouped.index).to_numpy(),
            "population": np.round(grouped["population"]).astype(np.int64),
            "flooded_people": np.round(grouped["flooded_people"]).astype(np.int64),
            "before_pct": np.round(before, 2),
            "after_pct": np.round(after, 2),
            "drop_pct": np.round(before - after, 2),
            "people_losing": np.round(grouped.pop("sdg_lost")).astype(np.int64),
        },
        index=grouped.index,
    )
    for extra in grouped.columns:
        if extra.endswith(("_before", "_after")):
            out[extra] = grouped[extra]
    return out.reset_index()
