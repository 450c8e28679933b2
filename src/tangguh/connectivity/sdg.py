"""SDG 11.2.1: the share of people with convenient access to public transport.

UN-Habitat's method (STANDARDS.md §5.5): a person has convenient access when they live
within **500 m walking distance of a low-capacity stop** (bus, BRT, minibus, tram) **or
1 km of a high-capacity one** (commuter rail, MRT, LRT, ferry), walking along streets.
Optionally only stops with at least *N* departures in the peak hour count.

Computation (one Dijkstra for both classes):

1. Stops (``tangguh.connectivity.gtfs.load_stops``, or the ``transit_stops`` layer
   classified with :func:`tangguh.connectivity.modes.capacity_of`) are snapped onto
   the walking network's edges; stops farther than ``max_snap_m`` from every street of
   the network's main piece are *off the network* and listed, never counted; stops more
   than ``far_m`` from a street are used (the offset is walked) and flagged.
2. Every usable stop becomes a source whose walk starts with a handicap of
   ``1000 − its limit`` metres (500 m for low-capacity stops, 0 for high-capacity
   ones), and one multi-source Dijkstra with a 1,000 m limit gives, per node,
   ``h(n) = min(d_low(n) + 500, d_high(n))``. A point is within 500 m of a low stop or
   1 km of a high stop exactly when ``h(n) + walk from n to the point <= 1000`` for one
   end ``n`` of its street (or along its own street from a stop on it).
3. Population points (:mod:`tangguh.connectivity.population`, snapped once per layer
   versions) are summed per leaf unit; RW, kelurahan, kecamatan and kota are sums of
   leaves: share = people reached / people.

Runs are stored as a time series (:func:`save_sdg`): one ``tg_transit_access_run`` row
(stops layer version and feeds, roads / buildings / admin versions, parameters,
summary, the stops not counted) with ``tg_transit_access_value`` rows per unit, plus a
new version of the ``sdg_11_2_1_<level>`` polygon layers for QGIS and OGC API clients.
:func:`refresh_sdg` recomputes only when an input layer changed since the last run of
the same question, so a scheduler can call it after every feed import.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from threading import Lock
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import insert, select

from tangguh import __version__
from tangguh._spatial import points_in_polygons
from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.bank import LayerMeta
from tangguh.connectivity.modes import WALK_LIMIT_M, capacity_of
from tangguh.connectivity.network import Snap, WalkNetwork, to_metric
from tangguh.connectivity.population import (
    SnappedPopulation,
    layer_versions,
    node_costs,
    snap_points,
    snapped_population,
    sources_graph,
)
from tangguh.connectivity.tables.access import tg_transit_access_run, tg_transit_access_value
from tangguh.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from tangguh.bank import Bank

__all__ = [
    "INDICATOR",
    "LAYER_PREFIX",
    "LEVELS",
    "STOPS_LAYER",
    "SdgResult",
    "read_stops",
    "refresh_sdg",
    "run_values",
    "runs",
    "save_sdg",
    "sdg_11_2_1",
    "trend",
]

INDICATOR = "sdg_11_2_1"
#: Layer ids of the stored indicator: ``sdg_11_2_1_rw``, ``…_kelurahan``, …
LAYER_PREFIX = "sdg_11_2_1_"
#: Levels the indicator is computed for.
LEVELS: tuple[str, ...] = ("rw", "kelurahan", "kecamatan", "kota")
STOPS_LAYER = "transit_stops"
#: The longest walk (high-capacity stops); low stops start with a handicap.
_LIMIT = max(WALK_LIMIT_M.values())
_VALUE_COLUMNS = ("unit_id", "level", "population", "reached", "share", "stops")
_REPORT_COLUMNS = ("stop_id", "name", "mode", "capacity", "used", "reason", "offset_m")


@dataclass
class SdgResult:
    """One SDG 11.2.1 computation.

    Attributes
    ----------
    values:
        One row per unit: ``unit_id``, ``level``, ``population``, ``reached``,
        ``share`` (NaN where nobody lives), ``stops`` (usable stops in the unit), and
        ``share_straight`` (straight-line buffers instead of walks) when asked.
    summary:
        City totals: ``population``, ``reached``, ``share``, stop counts.
    report_columns:
        Stops not counted or flagged, as arrays (:attr:`stop_report` as a frame):
        ``stop_id``, ``name``, ``mode``, ``capacity``, ``used``, ``reason``
        (``off_network``, ``unknown_mode``, ``few_departures``, ``flooded_street``,
        ``far_from_street``), ``offset_m``.
    inputs:
        Layer id -> version of every input layer.
    parameters:
        Everything needed to ask the same question again.
    """

    values: pd.DataFrame
    summary: dict[str, Any]
    report_columns: dict[str, npt.NDArray[Any]]
    inputs: dict[str, int | None]
    parameters: dict[str, Any]
    feeds: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    computed: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_id: str | None = None
    reached_points: npt.NDArray[np.bool_] | None = None

    @property
    def stop_report(self) -> pd.DataFrame:
        """Stops not counted or flagged (see the class docstring); built on first use."""
        hit = self.__dict__.get("_stop_report")
        if hit is None:
            hit = pd.DataFrame(self.report_columns, columns=list(_REPORT_COLUMNS))
            self.__dict__["_stop_report"] = hit
        return hit

    def at(self, level: str) -> pd.DataFrame:
        """The values of one level, sorted by unit id."""
        return self.values[self.values["level"] == level].sort_values("unit_id")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (no geometry)."""
        values = self.values.astype(object).where(self.values.notna(), None)
        report = self.stop_report.astype(object).where(self.stop_report.notna(), None)
        return {
            "indicator": INDICATOR,
            "run_id": self.run_id,
            "computed": self.computed.isoformat(),
            "summary": self.summary,
            "inputs": self.inputs,
            "feeds": self.feeds,
            "parameters": self.parameters,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "stop_report": report.to_dict("records"),
            "values": values.to_dict("records"),
        }


# -- stops ------------------------------------------------------------------------------
def read_stops(
    bank: Bank, *, layer: str = STOPS_LAYER, version: int | None = None
) -> gpd.GeoDataFrame:
    """Every stop with ``capacity`` (``"low"``/``"high"``/None) and ``peak_departures``.

    Uses :func:`tangguh.connectivity.gtfs.load_stops` for the ``transit_stops`` layer
    (GTFS stops and rail stations); any other layer with a ``mode`` column is classified
    with :func:`~tangguh.connectivity.modes.capacity_of`.
    """
    if layer == STOPS_LAYER:
        try:
            from tangguh.connectivity.gtfs import load_stops
        except ImportError:  # pragma: no cover - gtfs.py is part of Tangguh
            load_stops = None  # type: ignore[assignment]
        if load_stops is not None:
            return load_stops(bank, version=version, include_unknown=True)
    if not bank.has_layer(layer):
        raise NotFoundError(
            f"the bank has no stops layer {layer!r}",
            where=f"{bank.url}: layer {layer}",
            hint="import stops: `tangguh transit import-gtfs FEED.zip`, or build the demo city",
            message_id=f"bank data tidak memiliki lapisan halte {layer!r}",
            hint_id="impor halte: `tangguh transit import-gtfs FEED.zip`, atau buat kota demo",
        )
    frame = bank.read_layer(layer, version=version)
    return classify_stops(frame, where=f"layer {layer}")


def classify_stops(frame: gpd.GeoDataFrame, *, where: str = "stops") -> gpd.GeoDataFrame:
    """``frame`` with ``capacity`` (from ``mode`` where missing) and ``peak_departures``."""
    out = frame.copy()
    if "capacity" not in out.columns and "mode" not in out.columns:
        raise InputError(
            "the stops have neither a capacity nor a mode column",
            where=f"{where}, field mode",
            hint="give each stop a mode (bus, brt, rail, mrt, lrt, …) or a capacity (low/high)",
            message_id="halte tidak memiliki kolom capacity maupun mode",
            hint_id="beri setiap halte mode (bus, brt, rail, mrt, lrt, …) atau capacity (low/high)",
        )
    given = out["capacity"].astype(object) if "capacity" in out.columns else None
    if "mode" in out.columns:
        modes = out["mode"].astype(object).where(out["mode"].notna(), None)
        classes = {m: capacity_of(str(m)) for m in modes.dropna().unique()}
        derived = modes.map(lambda m: classes.get(m) if m is not None else None).astype(object)
    else:
        derived = pd.Series([None] * len(out), index=out.index, dtype=object)
    if given is None:
        out["capacity"] = derived
    else:
        out["capacity"] = given.where(given.isin(["low", "high"]), derived)
    if "peak_departures" not in out.columns:
        out["peak_departures"] = np.nan
    out["peak_departures"] = pd.to_numeric(out["peak_departures"], errors="coerce")
    if "stop_id" not in out.columns:
        out["stop_id"] = [str(i) for i in out.index]
    for col in ("name", "mode"):
        if col not in out.columns:
            out[col] = None
    return out


@dataclass(frozen=True)
class _PreparedStops:
    stops: gpd.GeoDataFrame
    snap: Snap
    leaf: npt.NDArray[np.intp]
    stop_id: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    mode: npt.NDArray[np.object_]
    capacity: npt.NDArray[np.object_]
    peak: npt.NDArray[np.float64]

    high: npt.NDArray[np.bool_]
    known: npt.NDArray[np.bool_]
    feeds: list[str]
    #: the sources graph per (network, min_departures): the same stops run again
    graphs: dict[tuple[int, float | None], tuple[WalkNetwork, Any]] = field(
        default_factory=dict, compare=False, repr=False
    )


_STOP_CACHE: OrderedDict[tuple[Any, ...], _PreparedStops] = OrderedDict()
_STOP_LOCK = Lock()


def _prepare_stops(
    stops: gpd.GeoDataFrame, sp: SnappedPopulation, max_snap_m: float
) -> _PreparedStops:
    """Snap stops onto the network and find their leaf unit."""
    geoms = np.asarray(stops.geometry.values, dtype=object)
    valid = shapely.get_type_id(geoms) == 0
    lon = np.full(len(stops), np.nan)
    lat = np.full(len(stops), np.nan)
    lon[valid] = shapely.get_x(geoms[valid])
    lat[valid] = shapely.get_y(geoms[valid])
    snap = snap_points(sp.network, lon, lat, max_distance=max_snap_m)
    leaf = np.full(len(stops), -1, dtype=np.intp)
    pt, poly = points_in_polygons(lon, lat, sp.points.leaf_geometry, predicate="intersects")
    leaf[pt] = poly
    cap = stops["capacity"].to_numpy(dtype=object)
    return _PreparedStops(
        stops,
        snap,
        leaf,
        stop_id=stops["stop_id"].astype(str).to_numpy(dtype=object),
        name=stops["name"].to_numpy(dtype=object),
        mode=stops["mode"].to_numpy(dtype=object),
        capacity=cap,
        peak=stops["peak_departures"].to_numpy(dtype=float),
        high=np.asarray(cap == "high", dtype=bool),
        known=np.asarray((cap == "high") | (cap == "low"), dtype=bool),
        feeds=sorted({str(f) for f in stops["feed_id"].dropna().unique()})
        if "feed_id" in stops.columns
        else [],
    )


def _bank_stops(
    bank: Bank,
    sp: SnappedPopulation,
    layer: str,
    version: int | None,
    max_snap_m: float,
    roads_version: int | None,
) -> _PreparedStops:
    """The bank's stops, classified and snapped, cached per (stops, roads) versions."""
    key = (str(bank.url), layer, version, roads_version, id(sp.network), max_snap_m)
    with _STOP_LOCK:
        hit = _STOP_CACHE.get(key)
    if hit is not None:
        return hit
    out = _prepare_stops(read_stops(bank, layer=layer, version=version), sp, max_snap_m)
    with _STOP_LOCK:
        _STOP_CACHE[key] = out
        while len(_STOP_CACHE) > 8:
            _STOP_CACHE.popitem(last=False)
    return out


def _parameters(
    *,
    min_departures: float | None,
    roads: str,
    stops_layer: str,
    buildings: str | None,
    raster: str | None,
    grid_m: float | None,
    max_snap_m: float,
    far_m: float,
    custom_network: bool,
    custom_stops: bool,
) -> dict[str, Any]:
    return {
        "min_departures": None if min_departures is None else float(min_departures),
        "walk_limit_m": dict(WALK_LIMIT_M),
        "roads": roads,
        "stops": stops_layer,
        "buildings": buildings,
        "raster": raster,
        "grid_m": grid_m,
        "max_snap_m": float(max_snap_m),
        "far_m": float(far_m),
        "custom_network": custom_network,
        "custom_stops": custom_stops,
    }


def _key(parameters: dict[str, Any]) -> str:
    return json.dumps(parameters, sort_keys=True, default=str)


# -- the indicator ------------------------------------------------------------------------
def sdg_11_2_1(
    bank: Bank,
    *,
    network: WalkNetwork | None = None,
    stops: gpd.GeoDataFrame | None = None,
    min_departures: float | None = None,
    roads: str = "roads",
    stops_layer: str = STOPS_LAYER,
    stops_version: int | None = None,
    buildings: str | None = "buildings",
    raster: str | None = None,
    grid_m: float | None = 100.0,
    levels: tuple[str, ...] | list[str] = LEVELS,
    max_snap_m: float = 500.0,
    far_m: float = 100.0,
    straight_line: bool = False,
    point_mask: bool = False,
) -> SdgResult:
    """SDG 11.2.1 per admin unit, walking along the streets (see the module docstring).

    Parameters
    ----------
    bank:
        The bank (admin units with population, roads, stops, buildings).
    network:
        A walking network; default the bank's ``roads`` network (cached per version).
        A flooded network (:meth:`WalkNetwork.without`) makes stops on blocked streets
        unusable and leaves people on blocked streets without access.
    stops:
        Stops to use instead of the bank's (columns ``stop_id``, ``name``, ``mode``
        and/or ``capacity``, optional ``peak_departures``; Point geometries, any CRS).
    min_departures:
        Count only stops with at least this many departures in their peak hour; stops
        without departure data (rail stations from a KML) are kept and counted in the
        summary. An error when no stop has departure data.
    roads, stops_layer, stops_version, buildings, raster, grid_m:
        Input layers (see :func:`tangguh.connectivity.population.population_points`).
    levels:
        Levels reported (any of ``rw``, ``kelurahan``, ``kecamatan``, ``kota``).
    max_snap_m:
        Stops farther than this from every street are off the network (listed, unused).
    far_m:
        Stops farther than this from a street are used but flagged ``far_from_street``.
    straight_line:
        Also compute ``share_straight`` with straight-line buffers (500 m / 1 km
        circles), the method the network share improves on.
    point_mask:
        Keep, per population point, whether it is reached (``reached_points``).

    Raises
    ------
    InputError
        Bad parameters, a ``min_departures`` filter on stops without departure data.
    NotFoundError
        No admin units, roads or stops in the bank.
    """
    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise InputError(
            f"unknown level(s) {bad}",
            where="levels",
            hint=f"use some of {list(LEVELS)}",
            message_id=f"tingkat tidak dikenal: {bad}",
            hint_id=f"gunakan beberapa dari {list(LEVELS)}",
        )
    if min_departures is not None and not (np.isfinite(min_departures) and min_departures >= 0):
        raise InputError(
            f"minimum departures must be a number >= 0, got {min_departures}",
            where="min_departures",
            hint="e.g. 4 (departures per peak hour)",
            message_id=f"keberangkatan minimum harus angka >= 0, yang diterima {min_departures}",
            hint_id="mis. 4 (keberangkatan per jam sibuk)",
        )
    for name, value in (("max_snap_m", max_snap_m), ("far_m", far_m)):
        if not (np.isfinite(value) and value > 0):
            raise InputError(
                f"{name} must be a positive number of metres, got {value}",
                where=name,
                hint="e.g. 500 for max_snap_m, 100 for far_m",
                message_id=f"{name} harus berupa meter positif, yang diterima {value}",
                hint_id="mis. 500 untuk max_snap_m, 100 untuk far_m",
            )

    # Network and population (cached per layer versions: one catalogue query when warm).
    t0 = time.perf_counter()
    versions = layer_versions(bank)
    if roads not in versions:
        raise NotFoundError(
            f"the bank has no roads layer {roads!r}",
            where=f"{bank.url}: layer {roads}",
            hint="import OSM roads (`tangguh import roads.geojson --layer roads`), or build "
            "the demo city",
            message_id=f"bank data tidak memiliki lapisan jalan {roads!r}",
            hint_id="impor jalan OSM (`tangguh import jalan.geojson --layer roads`), atau "
            "buat kota demo",
        )
    sp = snapped_population(bank, None, roads=roads, buildings=buildings, raster=raster,
                            grid_m=grid_m, versions=versions)  # fmt: skip
    base = sp.network
    net = base if network is None else network
    if not sp.fits(net):
        sp = snapped_population(bank, net, roads=roads, buildings=buildings, raster=raster,
                                grid_m=grid_m, versions=versions)  # fmt: skip
    timings["population"] = time.perf_counter() - t0

    # Stops: classify, filter, snap (the bank's stops: once per stops/roads versions).
    t0 = time.perf_counter()
    custom_stops = stops is not None
    if stops is None:
        if stops_version is None:
            stops_version = versions.get(stops_layer)
        prepared = _bank_stops(bank, sp, stops_layer, stops_version, max_snap_m,
                               versions.get(roads))  # fmt: skip
    else:
        frame = classify_stops(stops)
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs("EPSG:4326")
        prepared = _prepare_stops(frame, sp, max_snap_m)
    stops = prepared.stops
    snap = prepared.snap
    cap = prepared.capacity
    known = prepared.known
    high = prepared.high
    peak = prepared.peak
    few = np.zeros(len(stops), dtype=bool)
    no_info = 0
    if min_departures is not None:
        has_info = np.isfinite(peak)
        if not has_info[known].any():
            raise InputError(
                "a minimum of departures was asked but the stops have no departures data",
                where=f"stops ({stops_layer}), field peak_departures",
                hint="import a GTFS feed with `tangguh transit import-gtfs` (it counts "
                "departures per stop and hour), or leave out --min-departures",
                message_id="keberangkatan minimum diminta tetapi halte tidak memiliki data "
                "keberangkatan",
                hint_id="impor feed GTFS dengan `tangguh transit import-gtfs` (menghitung "
                "keberangkatan per halte per jam), atau hilangkan --min-departures",
            )
        few = has_info & (peak < float(min_departures))
        no_info = int((known & ~has_info).sum())
    blocked = net.blocked
    on_net = snap.ok
    wet = np.zeros(len(stops), dtype=bool)
    if blocked is not None and blocked.any():
        wet = on_net & blocked[np.where(on_net, snap.edge, 0)]
    used = known & on_net & ~few & ~wet
    far = used & (snap.offset > far_m)
    reason = np.full(len(stops), None, dtype=object)
    reason[far] = "far_from_street"
    reason[~wet & ~on_net] = "off_network"
    reason[wet] = "flooded_street"
    reason[few] = "few_departures"
    reason[~known] = "unknown_mode"
    flagged = reason != None  # noqa: E711  (object array comparison)
    offset = np.where(np.isfinite(snap.offset), snap.offset, np.nan)
    report_columns = {
        "stop_id": prepared.stop_id[flagged],
        "name": prepared.name[flagged],
        "mode": prepared.mode[flagged],
        "capacity": cap[flagged],
        "used": used[flagged],
        "reason": reason[flagged],
        "offset_m": np.round(offset[flagged], 1),
    }
    idx = np.flatnonzero(used)
    handicap = np.where(high[idx], _LIMIT - WALK_LIMIT_M["high"], _LIMIT - WALK_LIMIT_M["low"])
    sources = Snap(snap.edge[idx], snap.along[idx], snap.offset[idx] + handicap)
    timings["stops"] = time.perf_counter() - t0

    # One Dijkstra for both capacity classes, then the population shares.
    t0 = time.perf_counter()
    gkey = (id(net), min_departures)
    kept = prepared.graphs.get(gkey)
    if kept is None or kept[0] is not net:
        kept = (net, sources_graph(net, sources, _LIMIT))
        if len(prepared.graphs) > 4:
            prepared.graphs.clear()
        prepared.graphs[gkey] = kept
    cost = node_costs(net, sources, _LIMIT, graph=kept[1])
    timings["distances"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_leaf, mask = sp.reached(cost, _LIMIT, sources=sources, blocked=blocked,
                                with_mask=point_mask)  # fmt: skip
    points = sp.points
    pop_leaf = points.leaf_population
    n_leaf = len(points.leaf_ids)
    stops_leaf = np.bincount(prepared.leaf[idx][prepared.leaf[idx] >= 0], minlength=n_leaf)
    straight = _straight_line(sp, stops, used, cap) if straight_line else None
    stack = points.stacked(tuple(levels))
    k = len(stack.ids)
    pop = stack.population
    # Sums of the same people in another order: clip the last-bit rounding.
    got = np.minimum(stack.total(per_leaf), pop)
    columns: dict[str, npt.NDArray[Any]] = {
        "population": pop,
        "reached": got,
        "share": np.divide(got, pop, out=np.full(k, np.nan), where=pop > 0),
        "stops": np.rint(stack.total(stops_leaf.astype(float))).astype(np.int64),
    }
    if straight is not None:
        s_got = np.minimum(stack.total(straight), pop)
        columns["share_straight"] = np.divide(s_got, pop, out=np.full(k, np.nan), where=pop > 0)
    values = stack.frame(columns)
    timings["shares"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all

    population = float(pop_leaf.sum())
    reached = float(per_leaf.sum())
    summary = {
        "population": round(population, 1),
        "reached": round(reached, 1),
        "share": round(reached / population, 6) if population > 0 else None,
        "stops_total": len(stops),
        "stops_used": int(used.sum()),
        "stops_low": int((used & known & ~high).sum()),
        "stops_high": int((used & high).sum()),
        "stops_off_network": int((reason == "off_network").sum()),
        "stops_far_from_street": int(far.sum()),
        "stops_unknown_mode": int((~known).sum()),
        "stops_few_departures": int(few.sum()),
        "stops_flooded_street": int(wet.sum()),
        "stops_without_departures_kept": no_info,
        "population_off_network": round(float(sp.off_network.sum()), 1),
        "population_method": points.method_counts,
        "population_points": len(points),
        "network": _net_summary(net),
    }
    if straight is not None:
        summary["share_straight"] = (
            round(float(straight.sum()) / population, 6) if population else None
        )
    inputs: dict[str, int | None] = {
        ADMIN_LAYER: versions.get(ADMIN_LAYER),
        roads: versions.get(roads),
        stops_layer: None if custom_stops else stops_version,
    }
    if buildings is not None and buildings in versions:
        inputs[buildings] = versions[buildings]
    if raster is not None:
        inputs[raster] = versions.get(raster)
    feeds = list(prepared.feeds)
    parameters = _parameters(
        min_departures=min_departures, roads=roads, stops_layer=stops_layer,
        buildings=buildings, raster=raster, grid_m=grid_m, max_snap_m=max_snap_m,
        far_m=far_m, custom_network=network is not None and network is not base,
        custom_stops=custom_stops,
    )  # fmt: skip
    parameters["levels"] = list(levels)
    return SdgResult(
        values=values,
        summary=summary,
        report_columns=report_columns,
        inputs=inputs,
        parameters=parameters,
        feeds=feeds,
        timings=timings,
        reached_points=mask,
    )


_SUMMARIES: dict[int, tuple[WalkNetwork, dict[str, Any]]] = {}


def _net_summary(net: WalkNetwork) -> dict[str, Any]:
    hit = _SUMMARIES.get(id(net))
    if hit is None or hit[0] is not net:
        summary = net.summary()
        if net.blocked is not None:
            summary["edges_blocked"] = int(net.blocked.sum())
        if len(_SUMMARIES) > 8:
            _SUMMARIES.clear()
        hit = (net, summary)
        _SUMMARIES[id(net)] = hit
    return dict(hit[1])


def _straight_line(
    sp: SnappedPopulation,
    stops: gpd.GeoDataFrame,
    used: npt.NDArray[np.bool_],
    cap: npt.NDArray[np.object_],
) -> npt.NDArray[np.float64]:
    """People per leaf within 500 m / 1 km straight-line of a usable low / high stop."""
    points = sp.points
    pts = np.asarray(shapely.points(points.x, points.y), dtype=object)
    pxy = shapely.get_coordinates(to_metric(pts))
    sxy = shapely.get_coordinates(to_metric(np.asarray(stops.geometry.values, dtype=object)))
    inside = np.zeros(len(points), dtype=bool)
    for klass, limit in WALK_LIMIT_M.items():
        sel = used & (cap == klass)
        if sel.any():
            d, _ = cKDTree(sxy[sel]).query(pxy, k=1, distance_upper_bound=limit * (1 + 1e-9))
            inside |= np.isfinite(d)
    weights = np.where(inside, points.people, 0.0)
    return np.asarray(
        np.bincount(points.leaf, weights=weights, minlength=len(points.leaf_ids)), dtype=np.float64
    )


# -- storage: runs, values, layers ---------------------------------------------------------
def _new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def save_sdg(bank: Bank, result: SdgResult, *, author: str | None = None) -> str:
    """Store a result as a run (time series) and as ``sdg_11_2_1_<level>`` layers.

    Everything is written in one transaction. Returns the run id.
    """
    if result.parameters.get("custom_stops") or result.parameters.get("custom_network"):
        raise InputError(
            "only results on the bank's own stops and roads are stored in the time series",
            where="save_sdg",
            hint="compute without stops= / network= to store a run; keep what-if results "
            "(e.g. a flood) in memory",
            message_id="hanya hasil dengan halte dan jalan milik bank data yang disimpan "
            "dalam deret waktu",
            hint_id="hitung tanpa stops= / network= untuk menyimpan; hasil skenario (mis. "
            "banjir) cukup di memori",
        )
    run_id = _new_run_id(result.computed)
    units = load_units(bank)
    by_id = units.set_index(units["unit_id"].astype(str))
    values = result.values
    report = result.stop_report.astype(object).where(result.stop_report.notna(), None)
    stops_layer = str(result.parameters["stops"])
    roads = str(result.parameters["roads"])
    with bank.transaction():
        for level in values["level"].unique():
            part = values[values["level"] == level]
            geo = by_id.geometry.reindex(part["unit_id"].to_numpy())
            keep = geo.notna().to_numpy()
            frame = gpd.GeoDataFrame(
                {
                    "unit_id": part["unit_id"].to_numpy()[keep],
                    "name": by_id["name"].reindex(part["unit_id"]).to_numpy()[keep],
                    "parent_id": by_id["parent_id"].reindex(part["unit_id"]).to_numpy()[keep],
                    "population": part["population"].round(1).to_numpy()[keep],
                    "reached": part["reached"].round(1).to_numpy()[keep],
                    "share": part["share"].round(6).to_numpy()[keep],
                    "stops": part["stops"].to_numpy()[keep],
                    "run_id": run_id,
                    "computed": result.computed.isoformat(),
                },
                geometry=geo.to_numpy()[keep],
                crs="EPSG:4326",
            )
            bank.write_layer(
                f"{LAYER_PREFIX}{level}",
                frame,
                LayerMeta(
                    title_id=f"SDG 11.2.1 akses angkutan umum per {level}",
                    title_en=f"SDG 11.2.1 public transport access per {level}",
                    description_id="Porsi penduduk dalam 500 m jalan kaki dari halte berkapasitas "
                    "rendah atau 1 km dari stasiun berkapasitas tinggi (sepanjang jalan).",
                    description_en="Share of people within 500 m walk of a low-capacity stop or "
                    "1 km of a high-capacity station (along streets).",
                    theme="mobility",
                    source=f"tangguh {INDICATOR} run {run_id}",
                    keywords=["SDG 11.2.1", "transit", "akses"],
                    extra={"run_id": run_id},
                ),
                key="unit_id",
                author=author,
                message=f"{INDICATOR} run {run_id}",
            )
        with bank.begin() as conn:
            conn.execute(
                insert(tg_transit_access_run).values(
                    run_id=run_id,
                    indicator=INDICATOR,
                    computed=result.computed,
                    stops_layer=stops_layer,
                    stops_version=result.inputs.get(stops_layer),
                    feeds=list(result.feeds),
                    roads_layer=roads,
                    roads_version=result.inputs.get(roads),
                    inputs=dict(result.inputs),
                    parameters=result.parameters,
                    parameters_key=_key(_question(result.parameters)),
                    summary=json.loads(json.dumps(result.summary, default=str)),
                    stops_excluded=report.to_dict("records"),
                    timings={k: round(v, 4) for k, v in result.timings.items()},
                    software_version=__version__,
                    author=author,
                )
            )
            share = values["share"].to_numpy(dtype=float)
            rows = [
                {
                    "run_id": run_id,
                    "unit_id": uid,
                    "level": lvl,
                    "population": float(p),
                    "reached": float(got),
                    "share": None if not np.isfinite(sh) else float(sh),
                    "stops": int(n),
                }
                for uid, lvl, p, got, sh, n in zip(
                    values["unit_id"].astype(str),
                    values["level"].astype(str),
                    values["population"].to_numpy(dtype=float),
                    values["reached"].to_numpy(dtype=float),
                    share,
                    values["stops"].to_numpy(dtype=np.int64),
                    strict=True,
                )
            ]
            if rows:
                conn.execute(insert(tg_transit_access_value), rows)
    result.run_id = run_id
    return run_id


def _question(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters that make two runs comparable (levels reported do not)."""
    return {k: v for k, v in parameters.items() if k != "levels"}


def _run_json(row: Any) -> dict[str, Any]:
    out = dict(row)
    computed = out.get("computed")
    if isinstance(computed, datetime):
        out["computed"] = computed.isoformat()
    out.pop("parameters_key", None)
    return out


def runs(bank: Bank, *, limit: int = 100) -> list[dict[str, Any]]:
    """Stored SDG 11.2.1 runs, newest first."""
    t = tg_transit_access_run
    query = select(t).where(t.c.indicator == INDICATOR).order_by(t.c.computed.desc()).limit(limit)
    with bank.connect() as conn:
        return [_run_json(r) for r in conn.execute(query).mappings()]


def _latest(bank: Bank, key: str | None = None) -> dict[str, Any] | None:
    t = tg_transit_access_run
    query = select(t).where(t.c.indicator == INDICATOR)
    if key is not None:
        query = query.where(t.c.parameters_key == key)
    query = query.order_by(t.c.computed.desc(), t.c.run_id.desc()).limit(1)
    with bank.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else _run_json(row)


def run_values(bank: Bank, run_id: str | None = None, *, level: str | None = None) -> tuple[
    dict[str, Any], pd.DataFrame
]:  # fmt: skip
    """A run (default the latest) and its values (optionally one level)."""
    if run_id is None:
        run = _latest(bank)
    else:
        t = tg_transit_access_run
        with bank.connect() as conn:
            row = conn.execute(select(t).where(t.c.run_id == run_id)).mappings().first()
        run = None if row is None else _run_json(row)
    if run is None:
        raise NotFoundError(
            "no SDG 11.2.1 run stored" if run_id is None else f"no SDG 11.2.1 run {run_id!r}",
            where="tg_transit_access_run",
            hint="compute one: `tangguh transit access`",
            message_id="belum ada perhitungan SDG 11.2.1 tersimpan"
            if run_id is None
            else f"tidak ada perhitungan SDG 11.2.1 {run_id!r}",
            hint_id="hitung dulu: `tangguh transit access`",
        )
    v = tg_transit_access_value
    query = select(v).where(v.c.run_id == run["run_id"])
    if level is not None:
        query = query.where(v.c.level == level)
    with bank.connect() as conn:
        rows = conn.execute(query.order_by(v.c.level, v.c.unit_id)).all()
    frame = pd.DataFrame(rows, columns=list(v.c.keys()))
    return run, frame.drop(columns=["run_id"])


def trend(bank: Bank, unit_id: str | None = None) -> pd.DataFrame:
    """The time series: one row per run (oldest first) for a unit, or the city total.

    Columns: ``run_id``, ``computed``, ``stops_version``, ``roads_version``, ``feeds``,
    ``min_departures``, ``population``, ``reached``, ``share``, ``stops`` (unit) —
    ``change`` is the share minus the previous run's share of the same question.
    """
    r = tg_transit_access_run
    with bank.connect() as conn:
        run_rows = conn.execute(
            select(r).where(r.c.indicator == INDICATOR).order_by(r.c.computed, r.c.run_id)
        ).mappings().all()  # fmt: skip
        values: dict[str, dict[str, Any]] = {}
        if unit_id is not None:
            v = tg_transit_access_value
            for row in conn.execute(select(v).where(v.c.unit_id == unit_id)).mappings():
                values[str(row["run_id"])] = dict(row)
    if unit_id is not None and not values:
        raise NotFoundError(
            f"no SDG 11.2.1 value stored for {unit_id!r}",
            where="unit_id",
            hint="check the unit id (e.g. kelurahan:…) and compute: `tangguh transit access`",
            message_id=f"tidak ada nilai SDG 11.2.1 tersimpan untuk {unit_id!r}",
            hint_id="periksa ID unit (mis. kelurahan:…) lalu hitung: `tangguh transit access`",
        )
    out = []
    for run in run_rows:
        rid = str(run["run_id"])
        if unit_id is not None:
            if rid not in values:
                continue
            val = values[rid]
            pop, got, share, n = val["population"], val["reached"], val["share"], val["stops"]
        else:
            s = run["summary"] or {}
            pop, got, share, n = s.get("population"), s.get("reached"), s.get("share"), s.get(
                "stops_used")  # fmt: skip
        out.append(
            {
                "run_id": rid,
                "computed": run["computed"],
                "stops_version": run["stops_version"],
                "roads_version": run["roads_version"],
                "feeds": ",".join(run["feeds"] or []),
                "min_departures": (run["parameters"] or {}).get("min_departures"),
                "key": run["parameters_key"],
                "population": pop,
                "reached": got,
                "share": share,
                "stops": n,
            }
        )
    frame = pd.DataFrame(out, columns=[
        "run_id", "computed", "stops_version", "roads_version", "feeds", "min_departures",
        "key", "population", "reached", "share", "stops",
    ])  # fmt: skip
    frame["share"] = pd.to_numeric(frame["share"], errors="coerce")
    frame["change"] = frame.groupby("key")["share"].diff()
    return frame.drop(columns=["key"])


def refresh_sdg(
    bank: Bank,
    *,
    force: bool = False,
    author: str | None = None,
    **kwargs: Any,
) -> tuple[SdgResult | None, dict[str, Any]]:
    """Recompute and store SDG 11.2.1 when an input changed since the last same run.

    The question is the parameters (``kwargs`` of :func:`sdg_11_2_1`, except
    ``network``/``stops``, which make a what-if that is never stored). When the latest
    run of the same question used the current versions of the stops, roads, buildings
    and admin layers, nothing is computed and ``(None, that run)`` is returned;
    otherwise ``(result, new run)``.
    """
    for name in ("network", "stops"):
        if kwargs.get(name) is not None:
            raise InputError(
                f"refresh_sdg stores runs on the bank's own data: {name}= is not allowed",
                where=name,
                hint="call sdg_11_2_1 for what-if computations",
                message_id=f"refresh_sdg menyimpan hasil atas data bank sendiri: {name}= "
                "tidak diizinkan",
                hint_id="gunakan sdg_11_2_1 untuk perhitungan skenario",
            )
    params = _parameters(
        min_departures=kwargs.get("min_departures"),
        roads=kwargs.get("roads", "roads"),
        stops_layer=kwargs.get("stops_layer", STOPS_LAYER),
        buildings=kwargs.get("buildings", "buildings"),
        raster=kwargs.get("raster"),
        grid_m=kwargs.get("grid_m", 100.0),
        max_snap_m=kwargs.get("max_snap_m", 500.0),
        far_m=kwargs.get("far_m", 100.0),
        custom_network=False,
        custom_stops=False,
    )
    last = None if force else _latest(bank, _key(params))
    if last is not None:
        versions = layer_versions(bank)
        current = {layer: versions.get(layer) for layer in last["inputs"]}
        buildings = params["buildings"]
        if buildings is not None and buildings not in current and buildings in versions:
            current[buildings] = versions[buildings]
        stored = {k: (None if v is None else int(v)) for k, v in last["inputs"].items()}
        if current == stored:
            return None, last
    result = sdg_11_2_1(bank, **kwargs)
    save_sdg(bank, result, author=author)
    run = _latest(bank, _key(_question(result.parameters)))
    assert run is not None
    return result, run
