"""Population points for walking-access indicators, snapped to the walking network once.

Where people live, as points with a number of people each:

1. **Buildings** (default, when the bank has a ``buildings`` layer): each leaf admin
   unit's population (RW, or a kelurahan without RW; counts missing at a level are
   estimated from the parent by area, :func:`tangguh.services.access.leaf_counts`) is
   spread over the unit's *residential* buildings in proportion to floor area
   (footprint m² in UTM 48S × levels; levels default 1, ``"10+"`` reads as 10,
   ``"4-7"`` as 5.5). Buildings whose class says they are not homes (commercial,
   office, school, mosque, …, see :data:`NON_RESIDENTIAL`) get no one, unless a unit has
   no other building. Each building is placed by its cached representative point
   (``bank.layer_points``) and assigned to a unit with the grid point-in-polygon join
   of :mod:`tangguh._spatial`, so a million buildings are never turned into points.
2. **A population raster** (``raster=`` a raster layer id): the unit's population is
   spread over the cells whose centre lies in it, in proportion to the cell values.
3. **A regular grid** (``grid_m`` metres, default 100) over units without buildings or
   raster cells: uniform density inside the unit (InaSAFE's aggregate-population
   assumption), which keeps walking distances honest for large units.
4. **The unit's representative point** when nothing else falls inside it.

:func:`snapped_population` snaps the points onto a :class:`WalkNetwork` once per
(roads, buildings, admin units) layer versions and keeps them in an in-process cache, so
an indicator run pays only for the stops and one Dijkstra. The snapped points are
grouped by (edge, leaf unit) with the walking cost from each end of the edge
(:meth:`SnappedPopulation.reached`, a compiled pass), so most groups are decided without
looking at their points.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from tangguh._spatial import points_in_polygons
from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.admin.units import LEVELS, ancestors
from tangguh.connectivity.network import METRIC_CRS, Snap, WalkNetwork, network_for
from tangguh.errors import InputError, NotFoundError
from tangguh.services.access import leaf_counts

if TYPE_CHECKING:
    from tangguh.bank import Bank

__all__ = [
    "NON_RESIDENTIAL",
    "PopulationPoints",
    "SnappedPopulation",
    "building_weights",
    "graph_with_sources",
    "node_costs",
    "population_points",
    "snap_points",
    "snapped_population",
    "sources_graph",
]

#: Words in a building's class (``building``, ``TYPE``, ``USE``, ``AMENITY`` columns,
#: lower case) that mark it as not a home.
NON_RESIDENTIAL = (
    "commercial",
    "industrial",
    "office",
    "warehouse",
    "public",
    "school",
    "education",
    "kindergarten",
    "university",
    "market",
    "retail",
    "shop",
    "hospital",
    "clinic",
    "medical",
    "religious",
    "worship",
    "mosque",
    "church",
    "temple",
    "government",
    "police",
    "sports",
    "stadium",
    "factory",
)
_NONRES = re.compile("|".join(NON_RESIDENTIAL))
_LEVEL_COLUMNS = ("levels", "building_levels", "building:levels", "LEVELS", "lantai")
_CLASS_COLUMNS = ("building", "BUILDING", "TYPE", "type", "USE", "use", "AMENITY", "amenity")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


@dataclass(frozen=True)
class Stacked:
    """Units of several levels in one table: leaf ``leaf[i]`` belongs to unit ``unit[i]``."""

    ids: npt.NDArray[np.object_]
    levels: npt.NDArray[np.object_]
    leaf: npt.NDArray[np.intp]
    unit: npt.NDArray[np.intp]
    population: npt.NDArray[np.float64]
    _base: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def frame(self, columns: dict[str, npt.NDArray[Any]]) -> pd.DataFrame:
        """A frame of ``unit_id``, ``level`` and ``columns`` (the id columns built once)."""
        base = self._base.get("ids")
        if base is None:
            base = pd.DataFrame({"unit_id": self.ids.astype(str), "level": self.levels})
            self._base["ids"] = base
        return pd.DataFrame(
            {"unit_id": base["unit_id"], "level": base["level"], **columns}, copy=False
        )

    def total(self, per_leaf: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Sum of a per-leaf value over each unit."""
        return np.asarray(
            np.bincount(self.unit, weights=np.asarray(per_leaf, dtype=float)[self.leaf],
                        minlength=len(self.ids)),
            dtype=np.float64,
        )  # fmt: skip


@dataclass(frozen=True)
class PopulationPoints:
    """People placed on points.

    Attributes
    ----------
    x, y:
        lon/lat (EPSG:4326) of each point.
    people:
        People living at each point.
    leaf:
        Index into ``leaf_ids`` of the leaf unit (RW, or kelurahan without RW) of each point.
    leaf_ids:
        The leaf units' ids.
    units:
        Indexed by ``leaf_ids``: the unit id at each level (``rw``, ``kelurahan``,
        ``kecamatan``, ``kota``, … as present), NA where the leaf has no unit there.
    method:
        Per leaf: ``buildings``, ``raster``, ``grid`` or ``unit_point``.
    versions:
        Layer versions used (``admin_units``, ``buildings``, raster id).
    """

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    people: npt.NDArray[np.float64]
    leaf: npt.NDArray[np.intp]
    leaf_ids: pd.Index
    units: pd.DataFrame
    method: pd.Series
    leaf_geometry: npt.NDArray[np.object_]
    versions: dict[str, Any] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.x)

    def stacked(self, levels: tuple[str, ...]) -> Stacked:
        """Sums per unit of several levels at once (cached per tuple of levels)."""
        hit: Stacked | None = self._memo.get(f"stacked:{levels}")
        if hit is None:
            codes: list[npt.NDArray[np.intp]] = []
            ids: list[npt.NDArray[np.object_]] = []
            names: list[npt.NDArray[np.object_]] = []
            base = 0
            for level in levels:
                c, u = self.rollup(level)
                codes.append(np.where(c >= 0, c + base, -1))
                ids.append(np.asarray(u.astype(str), dtype=object))
                names.append(np.full(len(u), level, dtype=object))
                base += len(u)
            table = np.column_stack(codes) if codes else np.zeros((len(self.leaf_ids), 0), int)
            rows, cols = np.nonzero(table >= 0)
            hit = Stacked(
                ids=np.concatenate(ids) if ids else np.empty(0, dtype=object),
                levels=np.concatenate(names) if names else np.empty(0, dtype=object),
                leaf=rows.astype(np.intp),
                unit=table[rows, cols].astype(np.intp),
                population=np.zeros(0),
            )
            hit = Stacked(hit.ids, hit.levels, hit.leaf, hit.unit, hit.total(self.leaf_population))
            self._memo[f"stacked:{levels}"] = hit
        return hit

    def rollup(self, level: str) -> tuple[npt.NDArray[np.intp], pd.Index]:
        """Per leaf, the index of its unit at ``level`` (-1: none), and those units' ids."""
        hit: tuple[npt.NDArray[np.intp], pd.Index] | None = self._memo.get(f"rollup:{level}")
        if hit is None:
            if level not in self.units.columns:
                codes, ids = np.full(len(self.leaf_ids), -1, dtype=np.intp), pd.Index([])
            else:
                c, u = pd.factorize(self.units[level], use_na_sentinel=True)
                codes, ids = c.astype(np.intp), pd.Index(u, name="unit_id")
            hit = (codes, ids)
            self._memo[f"rollup:{level}"] = hit
        return hit

    @property
    def leaf_population(self) -> npt.NDArray[np.float64]:
        """People per leaf unit (sum over its points)."""
        hit: npt.NDArray[np.float64] | None = self._memo.get("leaf_population")
        if hit is None:
            hit = np.asarray(
                np.bincount(self.leaf, weights=self.people, minlength=len(self.leaf_ids)),
                dtype=np.float64,
            )
            self._memo["leaf_population"] = hit
        return hit

    @property
    def method_counts(self) -> dict[str, int]:
        """Number of leaf units per placement method."""
        hit: dict[str, int] | None = self._memo.get("method_counts")
        if hit is None:
            hit = {str(k): int(v) for k, v in self.method.value_counts().items()}
            self._memo["method_counts"] = hit
        return dict(hit)


def _levels(values: pd.Series) -> npt.NDArray[np.float64]:
    """Storeys from a levels column: numbers, ``"10+"`` -> 10, ``"4-7"`` -> 5.5."""
    if pd.api.types.is_numeric_dtype(values):
        out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    else:
        out = np.full(len(values), np.nan)
        text = values.astype("string").fillna("")
        for i, s in enumerate(text.to_numpy()):
            nums = _NUMBER.findall(str(s))
            if nums:
                out[i] = float(np.mean([float(n.replace(",", ".")) for n in nums[:2]]))
    return np.where(np.isfinite(out) & (out >= 1), np.minimum(out, 200.0), 1.0)


def building_weights(frame: pd.DataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Floor area (m², footprint × levels) and a residential flag for each building.

    ``frame`` is a buildings GeoDataFrame (any CRS with a CRS set; EPSG:4326 assumed
    otherwise). Without polygons (points), the floor area is the number of levels.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object) if "geometry" in frame else None
    n = len(frame)
    area = np.ones(n)
    if geoms is not None and n:
        crs = getattr(frame, "crs", None)
        if crs is None or crs.to_epsg() == 4326:
            metric = shapely.transform(
                geoms, lambda xy: np.column_stack(_TO_METRIC.transform(xy[:, 0], xy[:, 1]))
            )
        else:
            metric = gpd.GeoSeries(geoms, crs=crs).to_crs(METRIC_CRS).values
        a = shapely.area(np.asarray(metric, dtype=object))
        area = np.where(np.isfinite(a) & (a > 0), a, 1.0)
    col = next((c for c in _LEVEL_COLUMNS if c in frame.columns), None)
    levels = _levels(frame[col]) if col is not None else np.ones(n)
    nonres = np.zeros(n, dtype=bool)
    for c in _CLASS_COLUMNS:
        if c in frame.columns:
            text = frame[c].astype("string").str.lower().fillna("")
            nonres |= text.str.contains(_NONRES).to_numpy(dtype=bool)
    return area * levels, ~nonres


def _grid_points(
    geoms: npt.NDArray[np.object_], grid_m: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Centres of a ``grid_m`` grid (UTM 48S) inside each polygon: lon, lat, polygon index."""
    metric = np.asarray(
        shapely.transform(
            geoms, lambda xy: np.column_stack(_TO_METRIC.transform(xy[:, 0], xy[:, 1]))
        ),
        dtype=object,
    )
    b = shapely.bounds(metric)
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        empty = np.empty(0)
        return empty, empty, np.empty(0, dtype=np.intp)
    x0, y0 = np.floor(b[ok, :2].min(axis=0) / grid_m) * grid_m
    x1, y1 = b[ok, 2:].max(axis=0)
    xs = np.arange(x0 + grid_m / 2, x1 + grid_m, grid_m)
    ys = np.arange(y0 + grid_m / 2, y1 + grid_m, grid_m)
    mx, my = np.meshgrid(xs, ys)
    gx, gy = mx.ravel(), my.ravel()
    pt, poly = points_in_polygons(gx, gy, metric)
    first = np.unique(pt, return_index=True)[1]
    pt, poly = pt[first], poly[first]
    lon, lat = _TO_WGS84.transform(gx[pt], gy[pt])
    return np.asarray(lon), np.asarray(lat), poly.astype(np.intp)


def _raster_points(
    bank: Bank, layer: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """lon, lat and value of every positive cell of a raster layer."""
    import rasterio
    from rasterio.warp import transform as warp

    with rasterio.open(bank.raster_path(layer)) as src:
        band = src.read(1, masked=True).astype(float).filled(np.nan)
        rows, cols = np.nonzero(np.isfinite(band) & (band > 0))
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
        value = band[rows, cols]
        crs = src.crs
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if crs is not None and crs.to_epsg() != 4326 and len(x):
        lon, lat = warp(crs, "EPSG:4326", x, y)
        x, y = np.asarray(lon), np.asarray(lat)
    return x, y, value


def _unit_table(units: gpd.GeoDataFrame, leaf_ids: pd.Index) -> pd.DataFrame:
    anc = ancestors(units).reindex(leaf_ids)
    cols = [lvl for lvl in LEVELS if lvl in anc.columns and lvl != "province"]
    return anc[cols].astype(object).where(anc[cols].notna(), None)


def _build_points(
    bank: Bank,
    versions: dict[str, int],
    *,
    buildings: str | None,
    raster: str | None,
    grid_m: float | None,
    admin: str,
) -> PopulationPoints:
    units = load_units(bank) if admin == ADMIN_LAYER else bank.read_layer(admin)
    counts = leaf_counts(units)
    leaf_ids = pd.Index(counts.index.astype(str), name="unit_id")
    n_leaf = len(leaf_ids)
    by_id = units.set_index(units["unit_id"].astype(str))
    leaf_geoms = np.asarray(by_id.geometry.reindex(leaf_ids).to_numpy(), dtype=object)
    pop = counts["population"].to_numpy(dtype=float)
    used: dict[str, Any] = {admin: versions.get(admin)}
    xs: list[npt.NDArray[np.float64]] = []
    ys: list[npt.NDArray[np.float64]] = []
    ws: list[npt.NDArray[np.float64]] = []
    leaves: list[npt.NDArray[np.intp]] = []
    method = np.full(n_leaf, "unit_point", dtype=object)
    covered = np.zeros(n_leaf, dtype=bool)

    def add(x: Any, y: Any, w: Any, leaf: Any, name: str) -> None:
        leaf = np.asarray(leaf, dtype=np.intp)
        xs.append(np.asarray(x, dtype=np.float64))
        ys.append(np.asarray(y, dtype=np.float64))
        ws.append(np.asarray(w, dtype=np.float64))
        leaves.append(leaf)
        has = np.bincount(leaf, minlength=n_leaf) > 0
        method[has & ~covered] = name
        covered[has] = True

    if buildings is not None and buildings in versions:
        version = versions[buildings]
        used[buildings] = version
        pts = bank.layer_points(buildings, version=version)
        if len(pts.fids):
            pt, poly = points_in_polygons(pts.x, pts.y, leaf_geoms, predicate="intersects")
            first = np.unique(pt, return_index=True)[1]
            pt, poly = pt[first], poly[first]
            keep_cols = [
                c for c in (*_LEVEL_COLUMNS, *_CLASS_COLUMNS) if c in _columns(bank, buildings)
            ]
            frame = bank.read_layer(buildings, version=version, columns=keep_cols)
            frame = frame.reindex(pts.fids[pt])
            floor, homes = building_weights(frame)
            # A unit whose buildings are all non-residential still houses its people there.
            has_home = np.bincount(poly, weights=homes.astype(float), minlength=n_leaf) > 0
            w = np.where(homes | ~has_home[poly], floor, 0.0)
            sel = w > 0
            add(pts.x[pt][sel], pts.y[pt][sel], w[sel], poly[sel], "buildings")
    if raster is not None:
        used[raster] = versions.get(raster)
        rx, ry, rv = _raster_points(bank, raster)
        todo = np.flatnonzero(~covered)
        if len(rx) and len(todo):
            pt, poly = points_in_polygons(rx, ry, leaf_geoms[todo])
            first = np.unique(pt, return_index=True)[1]
            pt, poly = pt[first], poly[first]
            add(rx[pt], ry[pt], rv[pt], todo[poly], "raster")
    if grid_m is not None:
        todo = np.flatnonzero(~covered)
        if len(todo):
            gx, gy, poly = _grid_points(leaf_geoms[todo], float(grid_m))
            add(gx, gy, np.ones(len(gx)), todo[poly], "grid")
    todo = np.flatnonzero(~covered)
    if len(todo):
        rep = shapely.point_on_surface(leaf_geoms[todo])
        add(shapely.get_x(rep), shapely.get_y(rep), np.ones(len(todo)), todo, "unit_point")
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    w = np.concatenate(ws)
    leaf = np.concatenate(leaves)
    total = np.bincount(leaf, weights=w, minlength=n_leaf)
    share = np.divide(w, total[leaf], out=np.zeros(len(w)), where=total[leaf] > 0)
    return PopulationPoints(
        x=x,
        y=y,
        people=pop[leaf] * share,
        leaf=leaf,
        leaf_ids=leaf_ids,
        units=_unit_table(units, leaf_ids),
        method=pd.Series(method, index=leaf_ids, name="method"),
        leaf_geometry=leaf_geoms,
        versions=used,
    )


def _columns(bank: Bank, layer: str) -> list[str]:
    """Attribute columns of a layer (an empty read: a bbox in the Arctic Ocean)."""
    head = bank.read_layer(layer, bbox=(179.99, 89.99, 180.0, 90.0))
    return [str(c) for c in head.columns if c != "geometry"]


_POINTS: OrderedDict[tuple[Any, ...], PopulationPoints] = OrderedDict()
_SNAPPED: OrderedDict[tuple[Any, ...], SnappedPopulation] = OrderedDict()
_LOCK = Lock()
_CACHE_SIZE = 4


def layer_versions(bank: Bank) -> dict[str, int]:
    """Current version of every layer of ``bank``, in one catalogue query."""
    return bank.layer_versions()


def _key_versions(versions: dict[str, int], layers: list[str | None]) -> tuple[Any, ...]:
    return tuple((layer, versions.get(layer) if layer is not None else None) for layer in layers)


def population_points(
    bank: Bank,
    *,
    buildings: str | None = "buildings",
    raster: str | None = None,
    grid_m: float | None = 100.0,
    admin: str = ADMIN_LAYER,
    versions: dict[str, int] | None = None,
) -> PopulationPoints:
    """Population points of ``bank`` (see the module docstring), cached per layer versions.

    Parameters
    ----------
    buildings:
        Buildings layer id (skipped when absent from the bank, or ``None``).
    raster:
        A population raster layer id (people or density per cell), or ``None``.
    grid_m:
        Grid spacing (metres) for units with neither buildings nor raster cells;
        ``None`` puts their people on the unit's representative point.
    admin:
        The admin units layer.
    versions:
        :func:`layer_versions` of the bank, when the caller has them already.

    Raises
    ------
    NotFoundError
        When the bank has no admin units or the raster layer does not exist.
    InputError
        When ``grid_m`` is not positive.
    """
    if grid_m is not None and not (np.isfinite(grid_m) and grid_m > 0):
        raise InputError(
            f"grid spacing must be a positive number of metres, got {grid_m}",
            where="grid_m",
            hint="e.g. 100",
            message_id=f"jarak grid harus berupa meter positif, yang diterima {grid_m}",
            hint_id="mis. 100",
        )
    versions = layer_versions(bank) if versions is None else versions
    if raster is not None and raster not in versions:
        raise NotFoundError(
            f"no raster layer {raster!r}",
            where="raster",
            hint="list layers with `tangguh layers`",
            message_id=f"tidak ada lapisan raster {raster!r}",
            hint_id="lihat daftar lapisan dengan `tangguh layers`",
        )
    if admin not in versions:
        load_units(bank)  # raises the NotFoundError that says how to import units
    key = (str(bank.url), _key_versions(versions, [admin, buildings, raster]), grid_m)
    with _LOCK:
        hit = _POINTS.get(key)
        if hit is not None:
            _POINTS.move_to_end(key)
            return hit
    points = _build_points(
        bank, versions, buildings=buildings, raster=raster, grid_m=grid_m, admin=admin
    )
    with _LOCK:
        _POINTS[key] = points
        while len(_POINTS) > _CACHE_SIZE:
            _POINTS.popitem(last=False)
    return points


@dataclass(frozen=True)
class SnappedPopulation:
    """Population points snapped onto a network, grouped by (edge, leaf unit).

    Per point (sorted by group, then by ``cost_u``): ``cost_u`` / ``cost_v`` are the
    metres walked from the point to the edge's first / second node (offset to the street
    plus the way along it). Per group: its people, its range of points and the least and
    greatest costs, so most groups are settled without looking at their points.
    """

    points: PopulationPoints
    network: WalkNetwork
    snap: Snap
    order: npt.NDArray[np.intp]
    cost_u: npt.NDArray[np.float64]
    cost_v: npt.NDArray[np.float64]
    people: npt.NDArray[np.float64]
    leaf: npt.NDArray[np.intp]
    along: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    g_edge: npt.NDArray[np.int64]
    g_leaf: npt.NDArray[np.intp]
    g_start: npt.NDArray[np.int64]
    g_stop: npt.NDArray[np.int64]
    g_people: npt.NDArray[np.float64]
    g_u: npt.NDArray[np.int32]
    g_v: npt.NDArray[np.int32]
    g_cu_min: npt.NDArray[np.float64]
    g_cu_max: npt.NDArray[np.float64]
    g_cv_min: npt.NDArray[np.float64]
    g_cv_max: npt.NDArray[np.float64]
    #: people per leaf unit whose point is off the network (never reached)
    off_network: npt.NDArray[np.float64]
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        points: PopulationPoints,
        network: WalkNetwork,
        *,
        max_distance: float = 500.0,
    ) -> SnappedPopulation:
        """Snap ``points`` onto ``network`` (largest connected piece) and group them."""
        snap = snap_points(network, points.x, points.y, max_distance=max_distance)
        ok = np.flatnonzero(snap.ok)
        n_leaf = len(points.leaf_ids)
        off = np.bincount(points.leaf[~snap.ok], weights=points.people[~snap.ok], minlength=n_leaf)
        e_ok = snap.edge[ok]
        cu_ok = snap.offset[ok] + snap.along[ok]
        order = ok[np.lexsort((cu_ok, points.leaf[ok], e_ok))]
        edge = snap.edge[order]
        leaf = points.leaf[order]
        along = snap.along[order]
        offset = snap.offset[order]
        cost_u = offset + along
        cost_v = offset + network.edge_length[edge] - along
        people = points.people[order]
        n = len(order)
        if n:
            new = np.r_[True, (edge[1:] != edge[:-1]) | (leaf[1:] != leaf[:-1])]
            start = np.flatnonzero(new).astype(np.int64)
        else:
            start = np.empty(0, dtype=np.int64)
        stop = np.r_[start[1:], n].astype(np.int64)
        g_edge = edge[start] if n else np.empty(0, dtype=np.int64)

        def red(fn: Any, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.asarray(fn.reduceat(values, start), dtype=np.float64) if n else np.empty(0)

        return cls(
            points=points,
            network=network,
            snap=snap,
            order=order.astype(np.intp),
            cost_u=cost_u,
            cost_v=cost_v,
            people=people,
            leaf=leaf.astype(np.intp),
            along=along,
            offset=offset,
            g_edge=g_edge.astype(np.int64),
            g_leaf=(leaf[start] if n else np.empty(0)).astype(np.intp),
            g_start=start,
            g_stop=stop,
            g_people=red(np.add, people),
            g_u=network.edge_u[g_edge].astype(np.int32),
            g_v=network.edge_v[g_edge].astype(np.int32),
            g_cu_min=red(np.minimum, cost_u),
            g_cu_max=red(np.maximum, cost_u),
            g_cv_min=red(np.minimum, cost_v),
            g_cv_max=red(np.maximum, cost_v),
            off_network=np.asarray(off, dtype=np.float64),
        )

    def _thresholds(
        self, limit: float
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """Per group, the node costs under which all / some of its points are reached."""
        memo = self._memo
        key = f"thresholds:{limit!r}"
        hit = memo.get(key)
        if hit is None:
            hit = (
                limit - self.g_cu_max,
                limit - self.g_cv_max,
                limit - self.g_cu_min,
                limit - self.g_cv_min,
            )
            memo[key] = hit
        return hit

    def fits(self, network: WalkNetwork) -> bool:
        """True when ``network`` has the same edges (e.g. it is ``self.network.without(...)``)."""
        base = self.network
        return network is base or (
            network.n_edges == base.n_edges
            and (network.edge_u is base.edge_u or np.array_equal(network.edge_u, base.edge_u))
            and np.array_equal(network.edge_length, base.edge_length)
        )

    def reached(
        self,
        node_cost: npt.NDArray[np.float64],
        limit: float,
        *,
        sources: Snap | None = None,
        blocked: npt.NDArray[np.bool_] | None = None,
        with_mask: bool = False,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_] | None]:
        """People reached per leaf unit, and (``with_mask``) per point whether reached.

        A point is reached when ``cost_u <= limit - node_cost[u]`` or
        ``cost_v <= limit - node_cost[v]`` for its edge ``(u, v)``, or, for ``sources``
        snapped on its own edge, ``|along - source along| + offset + source offset <=
        limit`` (the source offsets may carry a handicap, see
        :func:`tangguh.connectivity.sdg.sdg_11_2_1`). Points on ``blocked`` edges are
        never reached.

        One compiled pass over the groups (:mod:`tangguh.connectivity._kernels`): a
        group is settled whole when every point or none passes (its least and greatest
        costs), and only the points of the other groups are looked at. Points of a group
        with a source on its own edge that no node reaches are then checked along the
        edge (:func:`_same_edge_reach`). The mask is in the order of ``points``.
        """
        from tangguh.connectivity._kernels import reach_groups

        n_leaf = len(self.points.leaf_ids)
        on_src: npt.NDArray[np.bool_] | None = None
        if sources is not None and len(sources):
            use = sources.ok & (sources.offset <= limit)
            if use.any():
                on_src = np.zeros(self.network.n_edges, dtype=bool)
                on_src[sources.edge[use]] = True
        per_leaf, hit, cand, cand_group = reach_groups(
            node_cost,
            float(limit),
            self._groups(),
            self._thresholds(float(limit)),
            self._packed(),
            on_src=on_src,
            blocked=blocked if blocked is not None and blocked.any() else None,
            n_leaf=n_leaf,
            with_mask=with_mask,
        )
        if len(cand) and sources is not None:
            ok = _same_edge_reach(self, cand, cand_group, sources, limit)
            got = cand[ok]
            per_leaf += np.bincount(self.leaf[got], weights=self.people[got], minlength=n_leaf)
            if with_mask:
                hit[got] = True
        if not with_mask:
            return per_leaf, None
        mask = np.zeros(len(self.points), dtype=bool)
        mask[self.order[hit]] = True
        return per_leaf, mask

    def _groups(self) -> tuple[npt.NDArray[Any], ...]:
        """The per-group arrays the compiled pass reads, in its order (``g_u, g_v,
        g_edge, g_start, g_stop, g_leaf`` as int64, ``g_people``; contiguous)."""
        hit: tuple[npt.NDArray[Any], ...] | None = self._memo.get("groups")
        if hit is None:
            ints = (self.g_u, self.g_v, self.g_edge, self.g_start, self.g_stop, self.g_leaf)
            hit = (
                *(np.ascontiguousarray(a, dtype=np.int64) for a in ints),
                np.ascontiguousarray(self.g_people, dtype=np.float64),
            )
            self._memo["groups"] = hit
        return hit

    def _packed(self) -> npt.NDArray[np.float64]:
        """(points, 3): cost to u, cost to v and people side by side, so a group's points
        are one run of memory."""
        hit: npt.NDArray[np.float64] | None = self._memo.get("packed")
        if hit is None:
            hit = np.ascontiguousarray(
                np.column_stack([self.cost_u, self.cost_v, self.people]), dtype=np.float64
            )
            self._memo["packed"] = hit
        return hit


_TREES: OrderedDict[int, tuple[WalkNetwork, shapely.STRtree, npt.NDArray[np.int64]]] = OrderedDict()
#: First search radius of :func:`snap_points` (metres); farther points fall back to a
#: nearest-neighbour search up to ``max_distance``.
_NEAR_M = 60.0


def _main_tree(network: WalkNetwork) -> tuple[shapely.STRtree, npt.NDArray[np.int64]]:
    """STRtree over the edges of the network's largest connected piece (cached)."""
    with _LOCK:
        hit = _TREES.get(id(network))
        if hit is not None and hit[0] is network:
            return hit[1], hit[2]
    ids = np.flatnonzero(network.component[network.edge_u] == network.main).astype(np.int64)
    tree = shapely.STRtree(network.edge_geometry[ids])
    with _LOCK:
        _TREES[id(network)] = (network, tree, ids)
        while len(_TREES) > 2 * _CACHE_SIZE:
            _TREES.popitem(last=False)
    return tree, ids


def snap_points(
    network: WalkNetwork,
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    *,
    max_distance: float = 500.0,
) -> Snap:
    """Snap lon/lat points onto the nearest edge of the network's largest piece.

    The same answer as :meth:`WalkNetwork.snap` (``main_only=True``) — the nearest
    edge, its position along it and the offset — found faster for many points: one
    ``dwithin`` query of the edges within 60 m and vectorised distances, then the
    nearest-neighbour search only for the points left. Where a point is equally near
    to several edges (a stop on a crossing), the lowest edge index wins.
    """
    n = len(lon)
    edge = np.full(n, -1, dtype=np.int64)
    along = np.zeros(n)
    offset = np.full(n, np.inf)
    if n == 0 or network.n_edges == 0:
        return Snap(edge, along, offset)
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    valid = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    pts = np.asarray(shapely.points(np.asarray(x)[valid], np.asarray(y)[valid]), dtype=object)
    tree, ids = _main_tree(network)
    geoms = network.edge_geometry
    near = min(_NEAR_M, float(max_distance))
    qi, ti = tree.query(pts, predicate="dwithin", distance=near)
    e = ids[ti]
    d = shapely.distance(pts[qi], geoms[e])
    order = np.lexsort((e, d, qi))
    qi, e, d = qi[order], e[order], d[order]
    first = np.r_[True, qi[1:] != qi[:-1]] if len(qi) else np.zeros(0, dtype=bool)
    best_e = np.full(len(pts), -1, dtype=np.int64)
    best_d = np.full(len(pts), np.inf)
    best_e[qi[first]] = e[first]
    best_d[qi[first]] = d[first]
    miss = np.flatnonzero(best_e < 0)
    if len(miss) and max_distance > near:
        a, b = tree.query_nearest(pts[miss], max_distance=max_distance, all_matches=False)
        best_e[miss[a]] = ids[b]
        best_d[miss[a]] = shapely.distance(pts[miss[a]], geoms[ids[b]])
    hit = np.flatnonzero(best_e >= 0)
    idx = valid[hit]
    edge[idx] = best_e[hit]
    along[idx] = shapely.line_locate_point(geoms[best_e[hit]], pts[hit])
    offset[idx] = best_d[hit]
    return Snap(edge, along, offset)


def graph_with_sources(net: WalkNetwork, snap: Snap) -> csr_matrix:
    """The network's CSR plus one virtual node per snapped point, joined to its edge ends.

    Virtual node ``n + i`` (``n`` = nodes) starts at point ``i`` (every snap must be on
    the network): its two out-edges weigh the offset plus the way along the edge to each
    end. No edge leads into a virtual node, so no walk passes through one.
    """
    n, k = net.n_nodes, len(snap)
    e = snap.edge
    w_u = np.maximum(snap.offset + snap.along, 1e-3)
    w_v = np.maximum(snap.offset + net.edge_length[e] - snap.along, 1e-3)
    base = net.graph
    data = np.concatenate([base.data, np.column_stack([w_u, w_v]).ravel()])
    cols = np.concatenate([base.indices, np.column_stack([net.edge_u[e], net.edge_v[e]]).ravel()])
    indptr = np.concatenate([base.indptr, base.indptr[-1] + 2 * np.arange(1, k + 1)])
    return csr_matrix((data, cols.astype(np.int32), indptr.astype(np.int32)), shape=(n + k, n + k))


def node_costs(
    network: WalkNetwork,
    sources: Snap,
    limit: float,
    *,
    graph: csr_matrix | None = None,
) -> npt.NDArray[np.float64]:
    """Walk from the nearest source to every node (``inf`` beyond ``limit``), sources'
    offsets included: one Dijkstra from a virtual start joined to every source's edge ends.

    ``graph`` may be the :func:`sources_graph` of the same sources, kept by a caller that
    runs the same sources again.
    """
    n = network.n_nodes
    if graph is None:
        graph = sources_graph(network, sources, limit)
    if graph.shape[0] == n:
        return np.full(n, np.inf)
    dist = dijkstra(graph, directed=True, indices=[n], limit=limit, min_only=True)
    return np.asarray(dist, dtype=np.float64)[:n]


def sources_graph(network: WalkNetwork, sources: Snap, limit: float) -> csr_matrix:
    """The network's CSR plus one virtual start node joined to the ends of every source's
    edge (weight: the source's offset plus the way along to that end; the least weight
    where several sources reach the same node). Sources off the network or farther than
    ``limit`` from it are left out; with none, the network's own graph is returned.
    """
    use = np.flatnonzero(sources.ok & (sources.offset <= limit))
    base = network.graph
    if len(use) == 0:
        return base
    n = network.n_nodes
    e = sources.edge[use]
    off = sources.offset[use]
    along = sources.along[use]
    target = np.concatenate([network.edge_u[e], network.edge_v[e]])
    weight = np.maximum(np.concatenate([off + along, off + network.edge_length[e] - along]), 1e-3)
    order = np.lexsort((weight, target))
    target, weight = target[order], weight[order]
    first = np.r_[True, target[1:] != target[:-1]]
    target, weight = target[first], weight[first]
    data = np.concatenate([base.data, weight])
    cols = np.concatenate([base.indices, target]).astype(np.int32)
    indptr = np.concatenate([base.indptr, [base.indptr[-1] + len(target)]]).astype(np.int32)
    return csr_matrix((data, cols, indptr), shape=(n + 1, n + 1))


def _same_edge_reach(
    sp: SnappedPopulation,
    idx: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    sources: Snap,
    limit: float,
) -> npt.NDArray[np.bool_]:
    """Whether each point ``idx`` reaches a source on its own edge, walking along it.

    Along one edge the walk from source ``s`` to position ``a`` is ``|a - a_s| + o_s``:
    with the sources sorted by (edge, position), the best one behind ``a`` minimises
    ``o_s - a_s`` (a running minimum) and the best one ahead minimises ``o_s + a_s`` (a
    running minimum from the end), so each point needs one binary search.
    """
    use = np.flatnonzero(sources.ok & (sources.offset <= limit))
    out = np.zeros(len(idx), dtype=bool)
    if len(use) == 0 or len(idx) == 0:
        return out
    e = sources.edge[use]
    a_s = sources.along[use]
    o_s = sources.offset[use]
    span = float(sp.network.edge_length.max()) + 2.0
    key = e * span + a_s
    order = np.argsort(key, kind="stable")
    key, e, a_s, o_s = key[order], e[order], a_s[order], o_s[order]
    seg = np.r_[0, np.cumsum(e[1:] != e[:-1])].astype(float)
    huge = 4.0 * span + 2.0 * float(o_s.max()) + 1.0
    behind = np.minimum.accumulate((o_s - a_s) - seg * huge) + seg * huge
    ahead = (np.minimum.accumulate(((o_s + a_s) + seg * huge)[::-1]) - seg[::-1] * huge)[::-1]
    t_edge = sp.g_edge[groups]
    a = sp.along[idx]
    pos = np.searchsorted(key, t_edge * span + a, side="right")
    best = np.full(len(idx), np.inf)
    left = pos - 1
    ok_l = (left >= 0) & (e[np.maximum(left, 0)] == t_edge)
    best[ok_l] = a[ok_l] + behind[left[ok_l]]
    ok_r = (pos < len(key)) & (e[np.minimum(pos, len(key) - 1)] == t_edge)
    best[ok_r] = np.minimum(best[ok_r], ahead[pos[ok_r]] - a[ok_r])
    out[:] = best + sp.offset[idx] <= limit
    return out


def snapped_population(
    bank: Bank,
    network: WalkNetwork | None = None,
    *,
    roads: str = "roads",
    buildings: str | None = "buildings",
    raster: str | None = None,
    grid_m: float | None = 100.0,
    admin: str = ADMIN_LAYER,
    max_distance: float = 500.0,
    versions: dict[str, int] | None = None,
) -> SnappedPopulation:
    """The bank's population points snapped onto the walking network, cached.

    The cache key is (bank, roads version, buildings version, admin version, raster
    version, grid): snapping a million buildings happens once per process and layer
    versions, and a warm call costs one catalogue query. A ``network`` derived from the
    roads network with :meth:`WalkNetwork.without` (a flood) reuses the same snaps; any
    other network is snapped afresh (and cached by its identity). The roads network is
    ``SnappedPopulation.network``.
    """
    versions = layer_versions(bank) if versions is None else versions
    key: tuple[Any, ...] = (
        str(bank.url), _key_versions(versions, [roads, admin, buildings, raster]), grid_m,
        max_distance,
    )  # fmt: skip
    with _LOCK:
        hit = _SNAPPED.get(key)
        if hit is not None:
            _SNAPPED.move_to_end(key)
    if hit is None:
        points = population_points(bank, buildings=buildings, raster=raster, grid_m=grid_m,
                                   admin=admin, versions=versions)  # fmt: skip
        base = network_for(bank, roads, version=versions.get(roads))
        hit = SnappedPopulation.build(points, base, max_distance=max_distance)
        with _LOCK:
            _SNAPPED[key] = hit
            while len(_SNAPPED) > _CACHE_SIZE:
                _SNAPPED.popitem(last=False)
    if network is None or hit.fits(network):
        return hit
    other = (*key, id(network))
    with _LOCK:
        again = _SNAPPED.get(other)
    if again is not None and again.network is network:
        return again
    again = SnappedPopulation.build(hit.points, network, max_distance=max_distance)
    with _LOCK:
        _SNAPPED[other] = again
        while len(_SNAPPED) > _CACHE_SIZE:
            _SNAPPED.popitem(last=False)
    return again
