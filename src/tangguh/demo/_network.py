"""Rivers and the road network of the demo city (lon/lat degrees, EPSG:4326).

Rivers are meandering lines from the southern hills to the sea, clipped to the land
so they end exactly on the coastline. Roads are a jittered grid: every node is
shared exactly by the segments that meet there, arterial grid lines carry higher
classes, and minor roads stop at rivers, so only primary and secondary roads
cross them (on bridges). Only the largest connected part is kept, so the whole
network is walkable end to end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import LineString, Polygon

from tangguh.demo._geo import KM_PER_DEG_LAT, KM_PER_DEG_LON, extent_for
from tangguh.demo._names import place_names, street_names

__all__ = ["RoadGrid", "build_rivers", "build_roads"]

#: Start longitude of each river at the southern edge, per size.
_RIVER_X = {
    "small": (106.809, 106.831, 106.853),
    "full": (106.742, 106.785, 106.822, 106.848, 106.885, 106.930),
}
#: Road grid spacing in degrees (~165 m full, ~230 m small).
_ROAD_SPACING = {"small": 0.0021, "full": 0.0015}
_ONEWAY_SHARE = {
    "primary": 0.0,
    "secondary": 0.1,
    "tertiary": 0.2,
    "residential": 0.1,
    "footway": 0.0,
}


def build_rivers(
    outline: Polygon, size: Literal["small", "full"], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Rivers flowing south to north into the sea; one LineString each, ending on the coast."""
    ext = extent_for(size)
    scale = 0.5 if size == "small" else 1.0
    names = place_names(rng, len(_RIVER_X[size]))
    rows = []
    geoms = []
    y = np.linspace(ext.south - 0.02, -6.06, 400)
    for i, x0 in enumerate(_RIVER_X[size]):
        ph = rng.uniform(0, 2 * np.pi, 3)
        t = y - y[0]
        x = (
            x0
            + scale * 0.006 * np.sin(2 * np.pi * t / 0.09 + ph[0])
            + scale * 0.002 * np.sin(2 * np.pi * t / 0.023 + ph[1])
            + scale * 0.0008 * np.sin(2 * np.pi * t / 0.009 + ph[2])
        )
        clipped = shapely.intersection(LineString(np.column_stack([x, y])), outline)
        parts = shapely.get_parts(clipped)
        line = parts[int(np.argmax(shapely.length(parts)))]
        rows.append(
            {
                "river_id": f"river_{i + 1:02d}",
                "name": f"Kali {names[i]}",
                "waterway": "river",
                "width_m": int(rng.integers(12, 40)),
            }
        )
        geoms.append(line)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")


@dataclass
class RoadGrid:
    """The road layer plus its node table (for transit stops and TPS placement)."""

    roads: gpd.GeoDataFrame
    node_xy: npt.NDArray[np.float64]  # (n, 2) lon/lat of every grid node
    node_ij: npt.NDArray[np.int64]  # (n, 2) grid column/row of every node
    node_used: npt.NDArray[np.bool_]  # node is an end of a kept segment


def _line_class(idx: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    out = np.full(idx.shape, "residential", dtype=object)
    out[idx % 3 == 0] = "tertiary"
    out[idx % 12 == 0] = "secondary"
    out[idx % 12 == 6] = "primary"
    return out.astype(str)


def _largest_component(
    n: int, u: npt.NDArray[np.int64], v: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Mask of the edges in the largest connected component (breadth-first search)."""
    order = np.argsort(np.concatenate([u, v]), kind="stable")
    ends = np.concatenate([v, u])[order]
    starts = np.searchsorted(np.concatenate([u, v])[order], np.arange(n + 1))
    comp = np.full(n, -1, dtype=np.int64)
    sizes: list[int] = []
    for s in np.unique(np.concatenate([u, v])).tolist():
        if comp[s] >= 0:
            continue
        c = len(sizes)
        comp[s] = c
        queue = deque([s])
        count = 0
        while queue:
            a = queue.popleft()
            count += 1
            for b in ends[starts[a] : starts[a + 1]].tolist():
                if comp[b] < 0:
                    comp[b] = c
                    queue.append(b)
        sizes.append(count)
    best = int(np.argmax(sizes))
    return comp[u] == best


def build_roads(
    outline: Polygon,
    rivers: gpd.GeoDataFrame,
    size: Literal["small", "full"],
    rng: np.random.Generator,
) -> RoadGrid:
    """A connected road network on a jittered grid, clipped to land, bridged over rivers."""
    s = _ROAD_SPACING[size]
    minx, miny, maxx, maxy = outline.bounds
    cols = np.arange(minx + s / 2, maxx, s)
    rows_ = np.arange(miny + s / 2, maxy, s)
    gi, gj = np.meshgrid(np.arange(len(cols)), np.arange(len(rows_)))
    ii, jj = gi.ravel(), gj.ravel()
    xy = np.column_stack([cols[ii], rows_[jj]]) + rng.uniform(-0.22, 0.22, (len(ii), 2)) * s
    n_x = len(cols)
    inside = shapely.contains_xy(outline, xy[:, 0], xy[:, 1])

    # horizontal edges (i, j) -> (i + 1, j) and vertical edges (i, j) -> (i, j + 1)
    node = jj * n_x + ii
    h = node[ii < n_x - 1]
    v = node[jj < len(rows_) - 1]
    u = np.concatenate([h, v]).astype(np.int64)
    w = np.concatenate([h + 1, v + n_x]).astype(np.int64)
    cls = np.concatenate([_line_class(jj[h]), _line_class(ii[v])])
    line_key = np.concatenate([jj[h] * 2, ii[v] * 2 + 1])  # one name per grid line
    keep = inside[u] & inside[w]
    u, w, cls, line_key = u[keep], w[keep], cls[keep], line_key[keep]
    geoms = shapely.linestrings(np.stack([xy[u], xy[w]], axis=1))
    shapely.prepare(outline)
    keep = np.asarray(shapely.within(geoms, outline), dtype=bool)

    # minor roads stop at rivers; primary and secondary roads cross on bridges
    river_union = shapely.union_all(rivers.geometry.values)
    shapely.prepare(river_union)
    crosses = np.asarray(shapely.intersects(geoms, river_union), dtype=bool)
    minor = ~np.isin(cls, ["primary", "secondary"])
    keep &= ~(crosses & minor)
    residential = cls == "residential"
    draw = rng.random(len(cls))
    keep &= ~(residential & (draw < 0.07))  # a few missing links make the grid less regular
    cls = np.where(residential & (draw >= 0.07) & (draw < 0.19), "footway", cls)

    sel = np.flatnonzero(keep)
    sel = sel[_largest_component(len(xy), u[sel], w[sel])]
    u, w, cls, line_key, crosses = u[sel], w[sel], cls[sel], line_key[sel], crosses[sel]
    geoms = np.asarray(geoms)[sel]

    keys, line_idx = np.unique(line_key, return_inverse=True)
    base = np.array(street_names(rng, len(keys)), dtype=object)[line_idx]
    prefix = np.where(cls == "primary", "Jl. Raya ", np.where(cls == "footway", "Gg. ", "Jl. "))
    names = np.char.add(prefix.astype(str), base.astype(str))
    share = np.vectorize(_ONEWAY_SHARE.__getitem__, otypes=[float])(cls)
    oneway = rng.random(len(cls)) < share
    d = xy[w] - xy[u]
    length_m = np.hypot(d[:, 0] * KM_PER_DEG_LON, d[:, 1] * KM_PER_DEG_LAT) * 1000.0
    roads = gpd.GeoDataFrame(
        {
            "road_id": np.arange(1, len(u) + 1, dtype=np.int64),
            "highway": cls.astype(str),
            "oneway": oneway,
            "bridge": crosses,
            "name": names,
            "length_m": np.round(length_m, 1),
            "u": u,
            "v": w,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    used = np.zeros(len(xy), dtype=bool)
    used[u] = True
    used[w] = True
    return RoadGrid(roads=roads, node_xy=xy, node_ij=np.column_stack([ii, jj]), node_used=used)
