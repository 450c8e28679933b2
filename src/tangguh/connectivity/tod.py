"""TOD scores per station area: ITDP TOD Standard metrics computable from the bank.

A *station* is a high-capacity stop (rail, MRT, LRT) or a BRT stop; stops sharing a
name within 300 m (platforms of one station, two directions of a BRT halte) are one
station. Its *area* is what a person walks to in ``walk_m`` metres (800 m by default,
ITDP's 10-minute walk): the network nodes reached, drawn as a 40 m buffer around the
streets walked.

Metrics and scores (each 0-100, linear between the two thresholds, clipped; the formulas
and the reasons for the thresholds are in docs/transit-access.md):

============================  ===================================  ==========  ==========
metric                        formula                              score 0 at  score 100
============================  ===================================  ==========  ==========
residential density           people in the area / area (ha)       0 /ha       200 /ha
intersection density          nodes of degree >= 3 / area (km²)    50 /km²     150 /km²
street density                street km walked / area (km²)        5 km/km²    20 km/km²
block length                  street m / street segments (m)       250 m       110 m
transit frequency             peak-hour departures at the station  0 /h        20 /h
mix                           facility kinds present / kinds held  0          1
============================  ===================================  ==========  ==========

The total is the mean of the scores that could be computed (frequency needs GTFS
departures; mix needs facility layers: schools, markets, hospitals). Results are a
GeoDataFrame and, with :func:`save_tod`, the bank layer ``tod_station_areas``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import dijkstra

from tangguh._spatial import points_in_polygons
from tangguh.bank import LayerMeta
from tangguh.connectivity.network import METRIC_CRS, to_metric
from tangguh.connectivity.population import (
    graph_with_sources,
    layer_versions,
    snap_points,
    snapped_population,
)
from tangguh.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from tangguh.bank import Bank

__all__ = [
    "FACILITY_LAYERS",
    "LAYER",
    "SCORES",
    "TodResult",
    "save_tod",
    "score",
    "station_groups",
    "tod_scores",
]

LAYER = "tod_station_areas"
#: Facility layers counted for the mix metric, when the bank has them.
FACILITY_LAYERS = ("schools", "markets", "hospitals")
#: metric -> (value scoring 0, value scoring 100); a lower "100" value means less is better.
SCORES: dict[str, tuple[float, float]] = {
    "density": (0.0, 200.0),
    "intersections": (50.0, 150.0),
    "street_density": (5.0, 20.0),
    "block_m": (250.0, 110.0),
    "frequency": (0.0, 20.0),
    "mix": (0.0, 1.0),
}
#: Modes that make a stop a TOD station besides high-capacity ones.
STATION_MODES = frozenset({"brt"})
_MERGE_M = 300.0
_BATCH = 64
_AREA_BUFFER_M = 40.0


def score(metric: str, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 0-100 score of ``metric`` values (NaN stays NaN), see :data:`SCORES`."""
    lo, hi = SCORES[metric]
    v = np.asarray(value, dtype=float)
    return np.clip((v - lo) / (hi - lo), 0.0, 1.0) * 100.0


@dataclass
class TodResult:
    """Station areas with their metrics and scores (``areas``, EPSG:4326 polygons)."""

    areas: gpd.GeoDataFrame
    parameters: dict[str, Any]
    inputs: dict[str, int | None]
    timings: dict[str, float] = field(default_factory=dict)
    computed: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: parameters, inputs and one record per station (no geometry)."""
        table = pd.DataFrame(self.areas.drop(columns="geometry"))
        table = table.astype(object).where(table.notna(), None)
        return {
            "computed": self.computed.isoformat(),
            "parameters": self.parameters,
            "inputs": self.inputs,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "stations": table.to_dict("records"),
        }


def station_groups(stops: gpd.GeoDataFrame, merge_m: float = _MERGE_M) -> npt.NDArray[np.int64]:
    """A station number per stop: same name (case-insensitive) and within ``merge_m``."""
    n = len(stops)
    group = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return group
    xy = shapely.get_coordinates(to_metric(np.asarray(stops.geometry.values, dtype=object)))
    names = stops["name"].astype("string").str.strip().str.lower().fillna("")
    names = names.where(names != "", pd.Series([f"#{i}" for i in range(n)], index=stops.index))
    nxt = 0
    for _, idx in pd.Series(np.arange(n)).groupby(names.to_numpy()).groups.items():
        ids = np.asarray(idx, dtype=np.int64)
        if len(ids) == 1:
            group[ids] = nxt
            nxt += 1
            continue
        labels = fcluster(linkage(xy[ids], method="single"), t=merge_m, criterion="distance")
        group[ids] = nxt + labels - 1
        nxt += int(labels.max())
    return group


def _stations(stops: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    mode = stops["mode"].astype("string").str.lower()
    keep = (stops["capacity"] == "high").to_numpy() | mode.isin(STATION_MODES).fillna(
        False
    ).to_numpy(dtype=bool)
    sel = stops[keep].reset_index(drop=True)
    if sel.empty:
        return gpd.GeoDataFrame(
            {"station_id": [], "name": [], "mode": [], "capacity": [], "stops": [],
             "peak_departures": []},
            geometry=[], crs="EPSG:4326",
        )  # fmt: skip
    group = station_groups(sel)
    xy = shapely.get_coordinates(np.asarray(sel.geometry.values, dtype=object))
    frame = pd.DataFrame(
        {
            "group": group,
            "stop_id": sel["stop_id"].astype(str).to_numpy(),
            "name": sel["name"].to_numpy(dtype=object),
            "mode": mode[keep].to_numpy(dtype=object),
            "high": (sel["capacity"] == "high").to_numpy(),
            "peak": pd.to_numeric(sel["peak_departures"], errors="coerce").to_numpy(),
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
    agg = frame.groupby("group", sort=True).agg(
        station_id=("stop_id", "first"),
        name=("name", "first"),
        mode=("mode", "first"),
        high=("high", "max"),
        stops=("stop_id", "size"),
        peak_departures=("peak", lambda s: float(s.sum()) if s.notna().any() else np.nan),
        x=("x", "mean"),
        y=("y", "mean"),
    )
    return gpd.GeoDataFrame(
        {
            "station_id": agg["station_id"].to_numpy(),
            "name": agg["name"].to_numpy(),
            "mode": agg["mode"].to_numpy(),
            "capacity": np.where(agg["high"].to_numpy(), "high", "low"),
            "stops": agg["stops"].to_numpy(),
            "peak_departures": agg["peak_departures"].to_numpy(),
        },
        geometry=shapely.points(agg["x"].to_numpy(), agg["y"].to_numpy()),
        crs="EPSG:4326",
    )


def _facility_xy(bank: Bank, layer: str) -> npt.NDArray[np.float64]:
    frame = bank.read_layer(layer)
    pts = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
    return np.asarray(shapely.get_coordinates(to_metric(pts)), dtype=float)


def tod_scores(
    bank: Bank,
    *,
    walk_m: float = 800.0,
    roads: str = "roads",
    stops: gpd.GeoDataFrame | None = None,
    buildings: str | None = "buildings",
    facilities: tuple[str, ...] = FACILITY_LAYERS,
    max_snap_m: float = 500.0,
) -> TodResult:
    """TOD metrics and scores for every station area (see the module docstring).

    Raises
    ------
    InputError
        ``walk_m`` not positive, or no station (high-capacity or BRT stop) on the network.
    NotFoundError
        No roads, stops or admin units in the bank.
    """
    from tangguh.connectivity.sdg import classify_stops, read_stops

    if not (np.isfinite(walk_m) and walk_m > 0):
        raise InputError(
            f"walking distance must be a positive number of metres, got {walk_m}",
            where="walk_m",
            hint="ITDP uses 800 m (a 10-minute walk)",
            message_id=f"jarak jalan kaki harus berupa meter positif, yang diterima {walk_m}",
            hint_id="ITDP memakai 800 m (10 menit berjalan kaki)",
        )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    versions = layer_versions(bank)
    if roads not in versions:
        raise NotFoundError(
            f"the bank has no roads layer {roads!r}",
            where=f"{bank.url}: layer {roads}",
            hint="import OSM roads, or build the demo city",
            message_id=f"bank data tidak memiliki lapisan jalan {roads!r}",
            hint_id="impor jalan OSM, atau buat kota demo",
        )
    sp = snapped_population(bank, roads=roads, buildings=buildings, versions=versions)
    net = sp.network
    frame = read_stops(bank) if stops is None else classify_stops(stops)
    stations = _stations(frame)
    lon = shapely.get_x(np.asarray(stations.geometry.values, dtype=object))
    lat = shapely.get_y(np.asarray(stations.geometry.values, dtype=object))
    snap = snap_points(net, np.asarray(lon), np.asarray(lat), max_distance=max_snap_m)
    stations = stations[snap.ok].reset_index(drop=True)
    snap = snap.subset(snap.ok)
    if stations.empty:
        raise InputError(
            "no station (rail, MRT, LRT or BRT stop) on the walking network",
            where="stops",
            hint="import GTFS with BRT routes and rail stations "
            "(`tangguh transit import-gtfs`, `tangguh transit import-rail`)",
            message_id="tidak ada stasiun (KRL, MRT, LRT atau halte BRT) di jaringan jalan kaki",
            hint_id="impor GTFS dengan rute BRT dan stasiun kereta "
            "(`tangguh transit import-gtfs`, `tangguh transit import-rail`)",
        )
    timings["prepare"] = time.perf_counter() - t0

    # Reach of each station: batched single-source Dijkstra on the extended graph.
    t0 = time.perf_counter()
    n = net.n_nodes
    graph = graph_with_sources(net, snap)
    degree = np.diff(net.graph.indptr)
    crossing = degree >= 3
    k = len(stations)
    reach_nodes: list[npt.NDArray[np.int64]] = []
    for start in range(0, k, _BATCH):
        rows = np.arange(start, min(start + _BATCH, k))
        dist = np.asarray(dijkstra(graph, directed=True, indices=n + rows, limit=walk_m))[:, :n]
        for j in range(len(rows)):
            reach_nodes.append(np.flatnonzero(np.isfinite(dist[j])))
    timings["reach"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    polys = np.empty(k, dtype=object)
    inter = np.zeros(k)
    street_m = np.zeros(k)
    segments = np.zeros(k)
    for i, nodes in enumerate(reach_nodes):
        inside = np.zeros(n, dtype=bool)
        inside[nodes] = True
        edges = np.flatnonzero(inside[net.edge_u] & inside[net.edge_v])
        edges = np.union1d(edges, [snap.edge[i]])
        street_m[i] = float(net.edge_length[edges].sum())
        segments[i] = len(edges)
        inter[i] = float(crossing[nodes].sum())
        lines = shapely.multilinestrings(list(net.edge_geometry[edges]))
        polys[i] = shapely.buffer(lines, _AREA_BUFFER_M, quad_segs=2)
    area_m2 = shapely.area(polys)
    area_km2 = area_m2 / 1e6
    timings["areas"] = time.perf_counter() - t0

    # People and facilities inside each area.
    t0 = time.perf_counter()
    pts = sp.points
    pxy = sp._memo.get("metric_xy")
    if pxy is None:
        x, y = _metric(pts.x, pts.y)
        pxy = (x, y)
        sp._memo["metric_xy"] = pxy
    pi, ai = points_in_polygons(pxy[0], pxy[1], polys)
    people = np.bincount(ai, weights=pts.people[pi], minlength=k)
    present = [f for f in facilities if f in versions]
    counts: dict[str, npt.NDArray[np.float64]] = {}
    for layer in present:
        fxy = _facility_xy(bank, layer)
        _, fa = points_in_polygons(fxy[:, 0], fxy[:, 1], polys)
        counts[layer] = np.bincount(fa, minlength=k).astype(float)
    timings["inside"] = time.perf_counter() - t0

    with np.errstate(divide="ignore", invalid="ignore"):
        density = people / (area_m2 / 1e4)
        inter_km2 = inter / area_km2
        street_km2 = (street_m / 1000.0) / area_km2
        block = np.where(segments > 0, street_m / np.maximum(segments, 1), np.nan)
    freq = stations["peak_departures"].to_numpy(dtype=float)
    if present:
        kinds = np.sum([counts[f] > 0 for f in present], axis=0) / len(present)
    else:
        kinds = np.full(k, np.nan)
    out = pd.DataFrame(
        {
            "station_id": stations["station_id"].astype(str).to_numpy(),
            "name": stations["name"].to_numpy(dtype=object),
            "mode": stations["mode"].to_numpy(dtype=object),
            "capacity": stations["capacity"].to_numpy(dtype=object),
            "stops": stations["stops"].to_numpy(),
            "area_ha": np.round(area_m2 / 1e4, 2),
            "people": np.round(people, 1),
            "density_per_ha": np.round(density, 2),
            "intersections": inter.astype(int),
            "intersections_per_km2": np.round(inter_km2, 2),
            "street_km": np.round(street_m / 1000.0, 3),
            "street_km_per_km2": np.round(street_km2, 3),
            "block_m": np.round(block, 1),
            "peak_departures": freq,
        }
    )
    for layer in present:
        out[layer] = counts[layer].astype(int)
    out["mix"] = kinds
    scores = {
        "score_density": score("density", density),
        "score_intersections": score("intersections", inter_km2),
        "score_street_density": score("street_density", street_km2),
        "score_block": score("block_m", block),
        "score_frequency": score("frequency", freq),
        "score_mix": score("mix", kinds),
    }
    for name, values in scores.items():
        out[name] = np.round(values, 1)
    table = np.column_stack(list(scores.values()))
    have = np.isfinite(table)
    with np.errstate(invalid="ignore"):
        total = np.where(have.any(axis=1), np.nansum(table, axis=1) / have.sum(axis=1), np.nan)
    out["score_total"] = np.round(total, 1)
    out["scores_used"] = have.sum(axis=1)
    polys_wgs = gpd.GeoSeries(polys, crs=METRIC_CRS).to_crs("EPSG:4326")
    areas = gpd.GeoDataFrame(out, geometry=polys_wgs.to_numpy(), crs="EPSG:4326")
    inputs: dict[str, int | None] = {
        roads: versions.get(roads),
        "transit_stops": versions.get("transit_stops"),
    }
    for lid in (*present, buildings, "admin_units"):
        if lid is not None and lid in versions:
            inputs[lid] = versions[lid]
    return TodResult(
        areas=areas,
        parameters={
            "walk_m": float(walk_m),
            "thresholds": {k2: list(v) for k2, v in SCORES.items()},
            "facilities": list(present),
            "custom_stops": stops is not None,
        },
        inputs=inputs,
        timings=timings,
    )


def _metric(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def save_tod(bank: Bank, result: TodResult, *, author: str | None = None) -> int:
    """Write the station areas as a new version of the ``tod_station_areas`` layer."""
    frame = result.areas.copy()
    frame["computed"] = result.computed.isoformat()
    version = bank.write_layer(
        LAYER,
        frame,
        LayerMeta(
            title_id="Kawasan stasiun TOD (800 m jalan kaki) dan skornya",
            title_en="TOD station areas (800 m walk) and their scores",
            description_id="Metrik ITDP TOD Standard per kawasan stasiun: kepadatan penduduk, "
            "kepadatan persimpangan dan jalan, panjang blok, frekuensi, campuran guna lahan.",
            description_en="ITDP TOD Standard metrics per station area: residential density, "
            "intersection and street density, block length, frequency, mix of uses.",
            theme="mobility",
            source="tangguh transit tod",
            keywords=["TOD", "ITDP", "transit"],
            extra={"parameters": result.parameters},
        ),
        key="station_id",
        author=author,
        message=f"TOD scores, walk {result.parameters['walk_m']:.0f} m",
    )
    return int(version.version)
