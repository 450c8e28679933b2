"""Building footprints of the demo city and the facilities that live in them.

Buildings are small rectangles placed on a fine lattice so that they never overlap:
the RW polygons, the roads and the rivers are burnt into a raster
(:func:`rasterio.features.rasterize`); a lattice cell can hold a building when it and
its eight neighbours lie in the same RW and touch no road or river, so every
footprint lies inside its RW. Most buildings take one cell (8 to ~15 m sides);
schools, hospitals, markets, shops and offices take a 2 x 2 block (up to 25 m sides).
The count per RW follows its population, capped by the room the RW has. Everything
is vectorised (numpy + :func:`shapely.box` on arrays): a million buildings take a
few seconds.

Schools, hospitals, markets and shelters are points at the centroids of the
buildings of that use, so facility layers and footprints agree.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine

from tangguh.demo._admin import allocate
from tangguh.demo._geo import KM_PER_DEG_LAT, KM_PER_DEG_LON, IntArray

__all__ = ["BUILDING_COUNTS", "build_buildings", "facilities_from_buildings"]

BUILDING_COUNTS = {"small": 3_000, "full": 1_000_000}
#: Lattice cell in degrees: 0.00015 deg ~ 16.6 m (full), 0.00025 deg ~ 27.7 m (small).
_CELL = {"small": 0.00025, "full": 0.00015}
_LARGE_SHARE = 0.06
#: Facilities per size: they are drawn from the large buildings.
FACILITY_COUNTS: dict[str, dict[str, int]] = {
    "small": {"school": 60, "hospital": 5, "market": 8, "shelter": 15},
    "full": {"school": 4700, "hospital": 190, "market": 420, "shelter": 500},
}
_LARGE_USES = ("commercial", "office", "industrial", "religious", "public", "warehouse")
_LARGE_P = (0.35, 0.15, 0.15, 0.15, 0.10, 0.10)
_SMALL_USES = ("residential", "commercial", "religious")
_SMALL_P = (0.93, 0.06, 0.01)
#: Storeys (low, high) per use.
_LEVELS = {
    "residential": (1, 3), "commercial": (1, 4), "religious": (1, 2), "office": (3, 40),
    "industrial": (1, 2), "public": (1, 4), "warehouse": (1, 1), "school": (2, 4),
    "hospital": (3, 10), "market": (1, 3),
}  # fmt: skip


def _rank_within(groups: IntArray, rng: np.random.Generator) -> IntArray:
    """A random 0-based rank of every element within its group (groups >= 0)."""
    key = (groups << 32) | rng.integers(0, 2**32, len(groups), dtype=np.int64)
    order = np.argsort(key)
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - starts
    return rank


def _burn_segments(
    grid: npt.NDArray[np.bool_], roads: gpd.GeoDataFrame, x0: float, y0: float, c: float
) -> None:
    """Mark the lattice cells the two-point road segments pass through (sampled at c/4)."""
    xy = shapely.get_coordinates(roads.geometry.values).reshape(-1, 2, 2)
    d = xy[:, 1] - xy[:, 0]
    steps = np.ceil(np.hypot(d[:, 0], d[:, 1]) / (c / 4.0)).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(xy)), steps)
    first = np.cumsum(steps) - steps
    t = (np.arange(len(seg)) - first[seg]) / (steps[seg] - 1)
    px = xy[seg, 0, 0] + t * d[seg, 0]
    py = xy[seg, 0, 1] + t * d[seg, 1]
    rows = np.clip(((y0 - py) / c).astype(np.int64), 0, grid.shape[0] - 1)
    cols = np.clip(((px - x0) / c).astype(np.int64), 0, grid.shape[1] - 1)
    grid[rows, cols] = True


def _fill(weights: npt.NDArray[np.float64], cap: IntArray, total: int) -> IntArray:
    """Integers ~ ``weights`` summing to ``total`` with ``out <= cap`` (water filling)."""
    if cap.sum() < total:
        raise RuntimeError(f"demo city: room for {cap.sum()} buildings, {total} asked")
    out = np.zeros(len(weights), dtype=np.int64)
    free = cap > 0
    left = total
    while left > 0:
        share = np.zeros(len(weights), dtype=np.int64)
        share[free] = allocate(weights[free], left)
        out = np.minimum(out + share, cap)
        left = total - int(out.sum())
        free = out < cap
    return out


def build_buildings(
    admin: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    rivers: gpd.GeoDataFrame,
    size: Literal["small", "full"],
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Non-overlapping building rectangles inside the RWs (EPSG:4326)."""
    rw = admin[admin["level"] == "rw"]
    c = _CELL[size]
    minx, miny, maxx, maxy = rw.total_bounds
    shape = (int(np.ceil((maxy - miny) / c)) + 2, int(np.ceil((maxx - minx) / c)) + 2)
    transform = Affine(c, 0.0, minx - c, 0.0, -c, maxy + c)  # north-up lattice
    river_m = (rivers["width_m"].to_numpy() / 2.0 + 10.0) / (KM_PER_DEG_LAT * 1000.0)
    river_zone = shapely.buffer(rivers.geometry.values, river_m)
    with warnings.catch_warnings():
        # rasterio uses affine's `*` operator, which affine >= 3.1 flags as pending deprecation
        warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
        labels = rasterize(
            zip(rw.geometry.values, range(1, len(rw) + 1), strict=True),
            out_shape=shape,
            transform=transform,
            fill=0,
            dtype="int32",
        ).astype(np.int64)
        blocked = rasterize(
            ((g, 1) for g in river_zone),
            out_shape=shape,
            transform=transform,
            fill=0,
            all_touched=True,
            dtype="uint8",
        ).astype(bool)
    _burn_segments(blocked, roads, minx - c, maxy + c, c)
    ok = (labels > 0) & ~blocked
    padded = np.pad(labels, 1)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            ok &= padded[1 + dr : shape[0] + 1 + dr, 1 + dc : shape[1] + 1 + dc] == labels

    n_rw = len(rw)
    pop = rw["population"].to_numpy().astype(float)
    total = BUILDING_COUNTS[size]
    # large buildings on even-aligned 2 x 2 blocks (never overlapping each other)
    h2, w2 = shape[0] // 2, shape[1] // 2
    blk = ok[: 2 * h2, : 2 * w2].reshape(h2, 2, w2, 2).all(axis=(1, 3))
    br, bc = np.nonzero(blk)
    br, bc = br * 2, bc * 2
    blk_label = labels[br, bc] - 1
    n_large = _fill(pop, np.bincount(blk_label, minlength=n_rw), round(total * _LARGE_SHARE))
    pick = _rank_within(blk_label, rng) < n_large[blk_label]
    br, bc, blk_label = br[pick], bc[pick], blk_label[pick]
    for dr in (0, 1):
        for dc in (0, 1):
            ok[br + dr, bc + dc] = False
    # single-cell buildings in the remaining room, the RW's share of population capped at 90 %
    sr, sc = np.nonzero(ok)
    s_label = labels[sr, sc] - 1
    room = (np.bincount(s_label, minlength=n_rw) * 0.9).astype(np.int64)
    n_small = _fill(pop, room, total - len(br))
    pick = _rank_within(s_label, rng) < n_small[s_label]
    sr, sc, s_label = sr[pick], sc[pick], s_label[pick]

    large = np.concatenate([np.zeros(len(sr), bool), np.ones(len(br), bool)])
    row = np.concatenate([sr, br]).astype(float)
    col = np.concatenate([sc, bc]).astype(float)
    label = np.concatenate([s_label, blk_label])
    span = np.where(large, 2.0, 1.0)  # cells per side
    cx = minx - c + (col + span / 2.0) * c
    cy = maxy + c - (row + span / 2.0) * c
    cell_m = c * KM_PER_DEG_LAT * 1000.0
    lo = np.where(large, min(18.0, 2 * cell_m - 4.0), 8.0)
    hi = np.where(large, min(25.0, 2 * cell_m - 2.0), min(18.0, cell_m - 2.0))
    w_m = rng.uniform(lo, hi)
    h_m = rng.uniform(lo, hi)
    cx += rng.uniform(-0.45, 0.45, len(cx)) * (span * cell_m - w_m) / (KM_PER_DEG_LON * 1000.0)
    cy += rng.uniform(-0.45, 0.45, len(cy)) * (span * cell_m - h_m) / (KM_PER_DEG_LAT * 1000.0)
    hx = w_m / 2.0 / (KM_PER_DEG_LON * 1000.0)
    hy = h_m / 2.0 / (KM_PER_DEG_LAT * 1000.0)
    geoms = shapely.box(cx - hx, cy - hy, cx + hx, cy + hy)

    use = _uses(large, size, rng)
    lev_lo = _lookup(use, 0)
    lev_hi = _lookup(use, 1)
    u = rng.random(len(use))
    levels = lev_lo + np.floor(u**3 * (lev_hi - lev_lo + 1)).astype(np.int64)
    frame = gpd.GeoDataFrame(
        {
            "building_id": np.arange(1, len(use) + 1, dtype=np.int64),
            "building": use,
            "levels": levels.astype(np.int64),
            "unit_id": rw["unit_id"].to_numpy()[label],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    return frame


def _lookup(use: npt.NDArray[Any], which: int) -> IntArray:
    keys = np.array(list(_LEVELS))
    vals = np.array([v[which] for v in _LEVELS.values()], dtype=np.int64)
    order = np.argsort(keys)
    return vals[order][np.searchsorted(keys[order], use)]


def _uses(large: npt.NDArray[np.bool_], size: str, rng: np.random.Generator) -> npt.NDArray[Any]:
    """Building use per footprint; the facility counts are taken from the large ones."""
    use = np.empty(len(large), dtype=object)
    n_small = int((~large).sum())
    use[~large] = rng.choice(_SMALL_USES, n_small, p=_SMALL_P)
    big = np.flatnonzero(large)
    use[big] = rng.choice(_LARGE_USES, len(big), p=_LARGE_P)
    order = rng.permutation(big)
    start = 0
    for kind in ("school", "hospital", "market"):
        n = FACILITY_COUNTS[size][kind]
        use[order[start : start + n]] = kind
        start += n
    return use.astype(str)


def _numbered(base: pd.Series) -> pd.Series:
    """``base`` with " 2", " 3", ... appended to repeats, so names are unique."""
    n = base.groupby(base).cumcount() + 1
    return base.where(n == 1, base + " " + n.astype(str))


def facilities_from_buildings(
    buildings: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, size: str, rng: np.random.Generator
) -> dict[str, gpd.GeoDataFrame]:
    """Schools, hospitals, markets and shelters at the centroids of their buildings."""
    use = buildings["building"].to_numpy()
    sub = np.flatnonzero(np.isin(use, ["school", "hospital", "market", "religious", "public"]))
    units = admin.set_index("unit_id")
    unit_id = buildings["unit_id"].to_numpy()[sub]
    kel_name = units.loc[units.loc[unit_id, "parent_id"].to_numpy(), "name"].to_numpy()
    geoms = buildings.geometry.values[sub]
    centroid = shapely.centroid(geoms)
    area_m2 = shapely.area(geoms) * KM_PER_DEG_LAT * KM_PER_DEG_LON * 1e6
    base = pd.DataFrame({"kel": kel_name, "unit_id": unit_id})
    levels_all = buildings["levels"].to_numpy()[sub]
    use = use[sub]

    def points(mask: npt.NDArray[np.bool_], cols: dict[str, Any]) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(cols, geometry=centroid[mask], crs="EPSG:4326")

    out: dict[str, gpd.GeoDataFrame] = {}

    m = use == "school"
    n = int(m.sum())
    level = rng.choice(["SD", "SMP", "SMA"], n, p=[0.6, 0.25, 0.15])
    names = _numbered(pd.Series(level) + "N " + pd.Series(base["kel"].to_numpy()[m]))
    out["schools"] = points(
        m,
        {
            "school_id": [f"school_{i:05d}" for i in range(1, n + 1)],
            "name": names.to_numpy(),
            "level": level,
            "students": rng.integers(150, 900, n),
            "unit_id": base["unit_id"].to_numpy()[m],
        },
    )

    m = use == "hospital"
    n = int(m.sum())
    kind = rng.choice(["RSU", "RSUD", "RSIA", "RS Khusus"], n, p=[0.45, 0.2, 0.25, 0.1])
    out["hospitals"] = points(
        m,
        {
            "hospital_id": [f"hospital_{i:04d}" for i in range(1, n + 1)],
            "name": _numbered(
                pd.Series(kind) + " " + pd.Series(base["kel"].to_numpy()[m])
            ).to_numpy(),
            "type": kind,
            "beds": rng.integers(40, 600, n),
            "unit_id": base["unit_id"].to_numpy()[m],
        },
    )

    m = use == "market"
    n = int(m.sum())
    out["markets"] = points(
        m,
        {
            "market_id": [f"market_{i:04d}" for i in range(1, n + 1)],
            "name": _numbered("Pasar " + pd.Series(base["kel"].to_numpy()[m])).to_numpy(),
            "kind": rng.choice(["traditional", "modern"], n, p=[0.7, 0.3]),
            "unit_id": base["unit_id"].to_numpy()[m],
        },
    )

    # shelters (posko pengungsian) in schools, mosques and public halls
    candidates = np.flatnonzero(np.isin(use, ["school", "religious", "public"]) & (area_m2 > 150))
    n = min(FACILITY_COUNTS[size]["shelter"], len(candidates))
    chosen = np.sort(rng.choice(candidates, n, replace=False))
    m = np.zeros(len(use), dtype=bool)
    m[chosen] = True
    levels = levels_all[m]
    capacity = np.maximum(20, (area_m2[m] * np.minimum(levels, 2) * 0.6 / 3.5)).astype(np.int64)
    kind_map = {"school": "school", "religious": "mosque", "public": "community hall"}
    out["shelters"] = points(
        m,
        {
            "shelter_id": [f"shelter_{i:04d}" for i in range(1, n + 1)],
            "name": _numbered("Posko " + pd.Series(base["kel"].to_numpy()[m])).to_numpy(),
            "kind": [kind_map[u] for u in use[m].tolist()],
            "capacity": capacity,
            "unit_id": base["unit_id"].to_numpy()[m],
        },
    )
    return out
