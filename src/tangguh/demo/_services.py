"""Transit stops, TPS (waste collection points) and piped-water service zones.

Transit stops sit on road nodes: BRT halte every third node of the primary roads
(about 500 m apart), bus stops along secondary roads, and commuter-rail stations
on a few straight corridors. TPS sit at the middle of residential and tertiary road
segments. Water service zones group kelurahan into contiguous zones served by two
operators split west/east (as the Jakarta concession was), with lower coverage
towards the coast.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from tangguh.demo._admin import group_contiguous
from tangguh.demo._network import RoadGrid

__all__ = ["build_tps", "build_transit_stops", "build_water_zones", "kelurahan_names_at"]

_TPS_COUNT = {"small": 30, "full": 1200}
_ZONE_COUNT = {"small": 3, "full": 24}
#: Rail corridors as grid column (N-S) / row (E-W) positions as a share of the extent.
_RAIL = {"small": (("col", 0.55),), "full": (("col", 0.35), ("col", 0.62), ("row", 0.78))}


def kelurahan_names_at(
    admin: gpd.GeoDataFrame, pts: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """RW unit_id and kelurahan name at each point (nearest RW for a point on an edge)."""
    rw = admin[admin["level"] == "rw"]
    tree = shapely.STRtree(rw.geometry.values)
    idx = tree.query_nearest(pts, all_matches=False)[1]
    names = admin.set_index("unit_id")["name"]
    rw_ids = rw["unit_id"].to_numpy()[idx]
    kel = names.loc[rw["parent_id"].to_numpy()[idx]].to_numpy()
    return rw_ids.astype(str), kel.astype(str)


def _numbered(base: pd.Series) -> npt.NDArray[np.str_]:
    n = base.groupby(base).cumcount() + 1
    return base.where(n == 1, base + " " + n.astype(str)).to_numpy().astype(str)


def build_transit_stops(
    grid: RoadGrid, admin: gpd.GeoDataFrame, size: Literal["small", "full"]
) -> gpd.GeoDataFrame:
    """BRT, bus and rail stops on road nodes, with route ids ("BRT-01,BRT-07")."""
    roads = grid.roads
    ii, jj = grid.node_ij[:, 0], grid.node_ij[:, 1]
    stops: dict[int, tuple[str, set[str]]] = {}

    def on_class(cls: str) -> npt.NDArray[np.bool_]:
        sel = roads[roads["highway"] == cls]
        mask = np.zeros(len(grid.node_xy), dtype=bool)
        mask[sel["u"].to_numpy()] = True
        mask[sel["v"].to_numpy()] = True
        return mask

    for cls, mode, every in (("primary", "BRT", 3), ("secondary", "bus", 4)):
        on = on_class(cls)
        line_row = (jj % 12 == (6 if cls == "primary" else 0)) & on
        line_col = (ii % 12 == (6 if cls == "primary" else 0)) & on
        tag = "BRT" if mode == "BRT" else "BUS"
        for sel, along, line, axis in ((line_row, ii, jj, "H"), (line_col, jj, ii, "V")):
            for node in np.flatnonzero(sel & (along % every == 0)).tolist():
                route = f"{tag}-{axis}{int(line[node]) // 12 + 1:02d}"
                m, node_routes = stops.get(node, (mode, set()))
                node_routes.add(route)
                stops[node] = (m, node_routes)
    used = grid.node_used
    n_i, n_j = int(ii.max()) + 1, int(jj.max()) + 1
    rail_nodes: dict[int, set[str]] = {}
    for k, (axis, share) in enumerate(_RAIL[size], start=1):
        if axis == "col":
            sel = (ii == round(share * n_i)) & used & (jj % 8 == 4)
        else:
            sel = (jj == round(share * n_j)) & used & (ii % 8 == 4)
        for node in np.flatnonzero(sel).tolist():
            rail_nodes.setdefault(node, set()).add(f"KRL-{chr(64 + k)}")

    nodes = sorted(stops)
    rail = sorted(rail_nodes)
    all_nodes = np.array(nodes + rail, dtype=np.int64)
    modes = [stops[n][0] for n in nodes] + ["rail"] * len(rail)
    routes = [",".join(sorted(stops[n][1])) for n in nodes] + [
        ",".join(sorted(rail_nodes[n])) for n in rail
    ]
    pts = np.asarray(shapely.points(grid.node_xy[all_nodes]), dtype=object)
    rw_ids, kel = kelurahan_names_at(admin, pts)
    label = {"BRT": "Halte BRT ", "rail": "Stasiun ", "bus": "Halte "}
    stop_names = [label[m] + k for m, k in zip(modes, kel.tolist(), strict=True)]
    frame = gpd.GeoDataFrame(
        {
            "stop_id": [f"stop_{i:05d}" for i in range(1, len(all_nodes) + 1)],
            "name": _numbered(pd.Series(stop_names, dtype=object)),
            "mode": modes,
            "route_ids": routes,
            "unit_id": rw_ids,
        },
        geometry=pts,
        crs="EPSG:4326",
    )
    return frame


def build_tps(
    grid: RoadGrid,
    admin: gpd.GeoDataFrame,
    size: Literal["small", "full"],
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """TPS points at the middle of residential/tertiary road segments."""
    roads = grid.roads
    cand = np.flatnonzero(roads["highway"].isin(["residential", "tertiary"]).to_numpy())
    n = min(_TPS_COUNT[size], len(cand))
    chosen = np.sort(rng.choice(cand, n, replace=False))
    pts = np.asarray(
        shapely.line_interpolate_point(roads.geometry.values[chosen], 0.5, normalized=True),
        dtype=object,
    )
    rw_ids, kel = kelurahan_names_at(admin, pts)
    return gpd.GeoDataFrame(
        {
            "tps_id": [f"tps_{i:04d}" for i in range(1, n + 1)],
            "name": _numbered(pd.Series(["TPS " + k for k in kel.tolist()], dtype=object)),
            "capacity_m3": rng.choice(np.array([6, 8, 10, 14, 20, 30], dtype=np.int64), n),
            "unit_id": rw_ids,
        },
        geometry=pts,
        crs="EPSG:4326",
    )


def build_water_zones(
    admin: gpd.GeoDataFrame, size: Literal["small", "full"], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Piped-water service zones: contiguous groups of kelurahan, two operators."""
    kel = admin[admin["level"] == "kelurahan"]
    geoms = kel.geometry.values
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    labels, zones = group_contiguous(geoms, centres, _ZONE_COUNT[size], rng)
    zc = shapely.get_coordinates(shapely.centroid(zones))
    order = np.lexsort((zc[:, 0], -zc[:, 1]))  # number zones from the north-west
    zones, zc = zones[order], zc[order]
    mid_x = float(np.median(centres[:, 0]))
    span_y = float(centres[:, 1].max() - centres[:, 1].min()) or 1.0
    inland = (centres[:, 1].max() - zc[:, 1]) / span_y  # 0 at the coast, 1 far inland
    coverage = np.clip(35.0 + 55.0 * inland + rng.normal(0.0, 6.0, len(zones)), 15.0, 98.0)
    operator = np.where(zc[:, 0] < mid_x, "PAM Demo Barat", "PAM Demo Timur")
    counts = np.bincount(labels, minlength=len(order))[order]
    return gpd.GeoDataFrame(
        {
            "zone_id": [f"zone_{i:02d}" for i in range(1, len(zones) + 1)],
            "name": [f"Zona Layanan {i}" for i in range(1, len(zones) + 1)],
            "operator": operator,
            "coverage_pct": np.round(coverage, 1),
            "kelurahan_count": counts.astype(np.int64),
        },
        geometry=zones,
        crs="EPSG:4326",
    )
