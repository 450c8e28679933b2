"""Population points and the distance from each to the nearest facility.

Access indicators ("share of people within 500 m of a TPS / hospital / school /
market") need to know where people live. :func:`population_points` places each leaf
admin unit's population (the finest units: RW, or a kelurahan without RW) on the
representative points of its buildings, in equal shares (the bank caches those points
per layer version, see ``bank.layer_points``); a leaf without buildings keeps one
point, its representative point. Counts missing at a level (the real RW have no
population) are estimated from the parent by area share (:func:`leaf_counts`).

Distances come from a :data:`DistanceFunction`: :func:`straight_line` (metres in UTM
48S, EPSG:32748, with a ``scipy.spatial.cKDTree`` nearest query) by default. A network
distance (e.g. a walking network) can be passed in with the same signature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import cKDTree

from tangguh._spatial import points_in_polygons
from tangguh.admin.units import LEVELS
from tangguh.bank import Bank
from tangguh.errors import InputError

__all__ = [
    "UTM_CRS",
    "AccessResult",
    "DistanceFunction",
    "PopulationPoints",
    "facility_points",
    "leaf_counts",
    "nearest_access",
    "population_points",
    "straight_line",
    "to_metres",
]

#: Metric CRS for distances and areas in Jakarta: UTM zone 48S.
UTM_CRS = "EPSG:32748"
_TO_UTM = Transformer.from_crs("EPSG:4326", UTM_CRS, always_xy=True)

#: ``(lon, lat of points, lon, lat of facilities, limit_m) -> (distance_m, nearest index)``.
#: The distance is ``inf`` and the index ``-1`` where no facility is found within
#: ``limit_m`` (``None`` = no limit). Implementations may use a network.
DistanceFunction = Callable[
    [NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
     float | None],
    tuple[NDArray[np.float64], NDArray[np.intp]],
]  # fmt: skip


def to_metres(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """lon/lat (EPSG:4326) -> x/y metres in UTM 48S (EPSG:32748)."""
    x, y = _TO_UTM.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def straight_line(
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    fx: NDArray[np.float64],
    fy: NDArray[np.float64],
    limit_m: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Straight-line distance in metres (UTM 48S) to the nearest facility, by KD-tree.

    Parameters
    ----------
    px, py:
        Points, lon/lat degrees.
    fx, fy:
        Facilities, lon/lat degrees (missing coordinates are ignored).
    limit_m:
        Search radius; points with no facility within it get ``inf`` and ``-1``.

    Returns
    -------
    (distance_m, index)
        Per point: the distance to the nearest facility and its position in ``fx``.
    """
    n = len(px)
    dist = np.full(n, np.inf)
    idx = np.full(n, -1, dtype=np.intp)
    ok_f = np.flatnonzero(np.isfinite(fx) & np.isfinite(fy))
    ok_p = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
    if ok_f.size == 0 or ok_p.size == 0:
        return dist, idx
    fxm, fym = to_metres(fx[ok_f], fy[ok_f])
    pxm, pym = to_metres(px[ok_p], py[ok_p])
    tree = cKDTree(np.column_stack([fxm, fym]))
    bound = np.inf if limit_m is None else float(limit_m) * (1 + 1e-12)
    d, i = tree.query(np.column_stack([pxm, pym]), k=1, distance_upper_bound=bound, workers=-1)
    hit = np.isfinite(d)
    dist[ok_p[hit]] = d[hit]
    idx[ok_p[hit]] = ok_f[i[hit]]
    return dist, idx


def leaf_counts(units: pd.DataFrame, *, household_size: float = 3.5) -> pd.DataFrame:
    """Population and households of every leaf unit (a unit with no child units).

    A count missing at a level is estimated top-down: the parent's count minus its
    children that have one, shared among the children without one by their area
    (UTM 48S). Households still missing are population / ``household_size``.

    Returns
    -------
    pandas.DataFrame
        Indexed by leaf ``unit_id``: ``level``, ``population``, ``households``,
        ``estimated`` (True where either count was estimated).
    """
    if household_size <= 0:
        raise InputError(
            f"household size must be positive, got {household_size}",
            where="household_size",
            hint="use the average people per household, e.g. 3.5",
            message_id=f"ukuran rumah tangga harus positif, yang diterima {household_size}",
            hint_id="gunakan rata-rata jiwa per rumah tangga, mis. 3,5",
        )
    frame = pd.DataFrame(
        {
            "level": units["level"].astype(str).to_numpy(),
            "parent_id": units["parent_id"].astype(object).where(units["parent_id"].notna(), None)
            .to_numpy(),
        },
        index=pd.Index(units["unit_id"].astype(str).to_numpy(), name="unit_id"),
    )  # fmt: skip
    geoms = gpd.GeoSeries(np.asarray(units.geometry.values), crs="EPSG:4326")
    frame["area"] = geoms.to_crs(UTM_CRS).area.to_numpy()
    estimated = pd.Series(False, index=frame.index)
    for col in ("population", "households"):
        raw = units[col] if col in units.columns else pd.Series(np.nan, index=units.index)
        values = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
        frame[col] = values
        for level in LEVELS[1:]:
            child = frame[(frame["level"] == level) & frame["parent_id"].notna()]
            if child.empty:
                continue
            parent_val = frame[col].reindex(child["parent_id"].to_numpy()).to_numpy()
            known = child[col].notna().to_numpy()
            known_sum = child[col].where(known, 0).groupby(child["parent_id"]).transform("sum")
            miss_area = child["area"].where(~known, 0).groupby(child["parent_id"]).transform("sum")
            remaining = np.maximum(parent_val - known_sum.to_numpy(), 0.0)
            share = np.divide(
                child["area"].to_numpy(),
                miss_area.to_numpy(),
                out=np.zeros(len(child)),
                where=miss_area.to_numpy() > 0,
            )
            fill = ~known & np.isfinite(parent_val)
            if fill.any():
                frame.loc[child.index[fill], col] = remaining[fill] * share[fill]
                estimated[child.index[fill]] = True
    no_hh = frame["households"].isna() & frame["population"].notna()
    frame.loc[no_hh, "households"] = frame.loc[no_hh, "population"] / household_size
    estimated |= no_hh
    parents = set(frame["parent_id"].dropna())
    leaves = frame[~frame.index.isin(parents)]
    out = leaves[["level", "population", "households"]].copy()
    out[["population", "households"]] = out[["population", "households"]].fillna(0.0)
    out["estimated"] = estimated.reindex(out.index).to_numpy()
    return out


@dataclass(frozen=True)
class PopulationPoints:
    """People placed on points: ``population[i]`` people and ``households[i]`` households
    live at ``(x[i], y[i])`` (lon/lat) in leaf unit ``leaf_ids[leaf[i]]``."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    population: NDArray[np.float64]
    households: NDArray[np.float64]
    leaf: NDArray[np.intp]
    leaf_ids: pd.Index
    method: str

    def __len__(self) -> int:
        return len(self.x)


def population_points(
    bank: Bank | None,
    units: gpd.GeoDataFrame,
    *,
    buildings: str | None = "buildings",
    counts: pd.DataFrame | None = None,
    household_size: float = 3.5,
) -> PopulationPoints:
    """Spread each leaf unit's population and households over its buildings.

    Parameters
    ----------
    bank:
        Bank holding the buildings layer (its cached representative points are used);
        ``None`` places everyone on the leaf units' representative points.
    units:
        The admin_units frame.
    buildings:
        Buildings layer id; ignored when absent from the bank.
    counts:
        Output of :func:`leaf_counts` (computed when not given).
    household_size:
        People per household where households are unknown.

    Returns
    -------
    PopulationPoints
        ``method`` is ``"buildings"`` (some leaves may still use their own point) or
        ``"unit_points"``.
    """
    counts = leaf_counts(units, household_size=household_size) if counts is None else counts
    leaf_ids = pd.Index(counts.index.astype(str), name="unit_id")
    by_id = units.set_index(units["unit_id"].astype(str))
    leaf_geoms = np.asarray(by_id.geometry.reindex(leaf_ids).to_numpy(), dtype=object)
    n_leaf = len(leaf_ids)
    bx = np.empty(0)
    by = np.empty(0)
    b_leaf = np.empty(0, dtype=np.intp)
    method = "unit_points"
    if bank is not None and buildings is not None and bank.has_layer(buildings):
        pts = bank.layer_points(buildings)
        if len(pts):
            pt, poly = points_in_polygons(pts.x, pts.y, leaf_geoms, predicate="intersects")
            # A building on a shared boundary goes to the first unit found.
            first = np.unique(pt, return_index=True)[1]
            pt, poly = pt[first], poly[first]
            bx, by, b_leaf = pts.x[pt], pts.y[pt], poly.astype(np.intp)
            method = "buildings"
    per_leaf = np.bincount(b_leaf, minlength=n_leaf)
    lonely = np.flatnonzero(per_leaf == 0)
    rep = shapely.point_on_surface(leaf_geoms[lonely])
    x = np.concatenate([bx, shapely.get_x(rep)])
    y = np.concatenate([by, shapely.get_y(rep)])
    leaf = np.concatenate([b_leaf, lonely.astype(np.intp)])
    share = 1.0 / np.maximum(np.bincount(leaf, minlength=n_leaf), 1)
    pop = counts["population"].to_numpy(dtype=float)
    hh = counts["households"].to_numpy(dtype=float)
    return PopulationPoints(
        x=np.asarray(x, dtype=np.float64),
        y=np.asarray(y, dtype=np.float64),
        population=(pop * share)[leaf],
        households=(hh * share)[leaf],
        leaf=leaf,
        leaf_ids=leaf_ids,
        method=method,
    )


def facility_points(frame: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """lon/lat of a representative point of each facility (NaN for missing geometry)."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    pts = shapely.point_on_surface(geoms)
    x = np.asarray(shapely.get_x(pts), dtype=np.float64)
    y = np.asarray(shapely.get_y(pts), dtype=np.float64)
    return x, y


@dataclass(frozen=True)
class AccessResult:
    """Distances from population points to the nearest facility.

    ``per_leaf`` (indexed by leaf unit_id) sums ``population``, ``within`` (people
    within ``walk_m``), ``households_within`` and ``distance_x_pop`` (people x metres,
    over people whose nearest facility was found; ``found_pop`` is their number), so
    any roll-up is a sum followed by one division.
    """

    distance: NDArray[np.float64]
    nearest: NDArray[np.intp]
    per_leaf: pd.DataFrame
    walk_m: float


def nearest_access(
    points: PopulationPoints,
    fx: NDArray[np.float64],
    fy: NDArray[np.float64],
    *,
    walk_m: float = 500.0,
    distance: DistanceFunction | None = None,
    limit_m: float | None = None,
) -> AccessResult:
    """Nearest facility of every population point and the sums per leaf unit.

    Parameters
    ----------
    points:
        From :func:`population_points`.
    fx, fy:
        Facility lon/lat (:func:`facility_points`).
    walk_m:
        Walking distance that counts as access (metres).
    distance:
        A :data:`DistanceFunction` (default :func:`straight_line`).
    limit_m:
        Passed to ``distance`` (``None``: find the nearest at any distance).
    """
    if not np.isfinite(walk_m) or walk_m <= 0:
        raise InputError(
            f"walking distance must be a positive number of metres, got {walk_m}",
            where="walk_m",
            hint="e.g. 500",
            message_id=f"jarak jalan kaki harus berupa meter positif, yang diterima {walk_m}",
            hint_id="mis. 500",
        )
    func = distance or straight_line
    dist, idx = func(points.x, points.y, fx, fy, limit_m)
    found = np.isfinite(dist)
    within = found & (dist <= walk_m)
    n = len(points.leaf_ids)
    leaf = points.leaf

    def total(weights: NDArray[Any]) -> NDArray[np.float64]:
        return np.asarray(np.bincount(leaf, weights=weights, minlength=n), dtype=np.float64)

    per_leaf = pd.DataFrame(
        {
            "population": total(points.population),
            "within": total(np.where(within, points.population, 0.0)),
            "households_within": total(np.where(within, points.households, 0.0)),
            "distance_x_pop": total(np.where(found, np.where(found, dist, 0) * points.population,
                                             0.0)),
            "found_pop": total(np.where(found, points.population, 0.0)),
        },
        index=points.leaf_ids,
    )  # fmt: skip
    return AccessResult(distance=dist, nearest=idx, per_leaf=per_leaf, walk_m=float(walk_m))
