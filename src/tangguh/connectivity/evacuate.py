"""Evacuation under a flood: shelters, flood-avoiding routes, capacity-aware assignment.

The chain (formulas and choices in docs/evacuation.md):

1. **Flood scenario** (:class:`FloodScenario`): flood polygons from a hazard layer of the
   bank (all polygons, or those whose value in a column passes a threshold), or the RWs
   whose current flood state (``tg_web_rw_state``, set on the dashboard) is at least N.
2. **Open network**: the walking network of the roads layer without every street edge
   that touches the flood (:meth:`WalkNetwork.edges_within` + :meth:`WalkNetwork.without`).
3. **Shelters** (:func:`load_shelters`): any point or polygon layer with a capacity
   column. A shelter inside the flood is unusable (``flooded``); one with no open street
   within ``max_offset`` metres too (``no_open_street``).
4. **Origins** (:func:`rw_origins`): each RW's population spread over its buildings
   (equal share per building; the RW's own point when it has none); the evacuees are the
   people at homes inside the flood (``demand="flooded"``) or everyone
   (``demand="all"``). One origin per RW at the evacuees' weighted centre, snapped onto
   the nearest *open* street: the straight metres to it (wading when the origin is in
   the water) are counted in the walk and reported as ``wade_m``.
5. **Candidates** (:func:`shelter_distances`): one limited Dijkstra per usable shelter
   (in chunks, ``scipy.sparse.csgraph``) gives every (RW, shelter) pair within
   ``max_walk`` metres.
6. **Assignment** (:func:`solve_assignment`): a transportation problem solved with
   HiGHS (``scipy.optimize.linprog``): no shelter above its capacity, as many people
   placed as possible, then the fewest person-metres; an RW may be split across
   shelters. People without a place are the RW's shortfall, with a reason.
7. **Routes**: the street path of each (RW, shelter) assignment, with metres and minutes
   at the walking speed (default 1.0 m/s, elderly and children included), stored as a
   plan record (``tg_evac_plan`` + rows) and a version of the ``evacuation_routes``
   layer, in one transaction.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import dijkstra
from sqlalchemy import desc, insert, select

from tangguh._spatial import points_in_polygons
from tangguh.connectivity.network import Snap, WalkNetwork, network_for
from tangguh.connectivity.tables.evacuate import tg_evac_plan, tg_evac_rw, tg_evac_shelter
from tangguh.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from tangguh.bank import Bank

__all__ = [
    "DEFAULT_MAX_OFFSET_M",
    "DEFAULT_MAX_WALK_M",
    "DEFAULT_SPEED_MPS",
    "REASONS",
    "ROUTES_LAYER",
    "EvacuationPlan",
    "FloodScenario",
    "flood_from_layer",
    "flood_from_rw_states",
    "flood_scenario",
    "frame_records",
    "greedy_assignment",
    "latest_plan",
    "load_plan",
    "load_shelters",
    "plan_evacuation",
    "plan_routes",
    "plan_shortfall",
    "plans",
    "rw_origins",
    "save_plan",
    "shelter_distances",
    "solve_assignment",
]

#: Layer holding the route lines of the plans (one version per plan).
ROUTES_LAYER = "evacuation_routes"
#: Longest walk from an RW to a shelter (metres): 3 km is about 50 minutes at 1 m/s.
DEFAULT_MAX_WALK_M = 3000.0
#: Longest straight walk from an origin or a shelter to the nearest open street.
DEFAULT_MAX_OFFSET_M = 500.0
#: Evacuation walking speed (m/s): slower than the 1.2-1.4 m/s of healthy adults, for
#: elderly people, children and people with disabilities walking with them.
DEFAULT_SPEED_MPS = 1.0
#: Why an RW (or part of it) has no place.
REASONS: dict[str, tuple[str, str]] = {
    "no_open_street": (
        "no open street within reach of the RW (every street near it is flooded)",
        "tidak ada jalan terbuka yang terjangkau dari RW (semua jalan di dekatnya tergenang)",
    ),
    "beyond_limit": (
        "no usable shelter within the maximum walk on open streets",
        "tidak ada tempat pengungsian yang dapat dipakai dalam batas jarak jalan kaki",
    ),
    "shelters_full": (
        "every shelter within reach is full",
        "semua tempat pengungsian yang terjangkau sudah penuh",
    ),
}
#: Shelter states that make it unusable.
SHELTER_REASONS: dict[str, tuple[str, str]] = {
    "flooded": ("inside the flood", "di dalam area banjir"),
    "no_open_street": ("no open street nearby", "tidak ada jalan terbuka di dekatnya"),
}
#: Values of a flood flag column that mean "not flooded".
_NOT_FLOODED = frozenset({"", "0", "no", "n", "false", "f", "tidak", "none", "dry", "kering"})
#: Shelters per Dijkstra call (rows of the dense distance block).
_CHUNK = 64
#: How many offending rows an error message names.
_SHOW = 10


def _rows(labels: Sequence[object]) -> str:
    shown = ", ".join(str(v) for v in labels[:_SHOW])
    return shown + (f" … (+{len(labels) - _SHOW})" if len(labels) > _SHOW else "")


# -- flood scenario ---------------------------------------------------------------------
@dataclass(frozen=True)
class FloodScenario:
    """Flood polygons and where they came from.

    Attributes
    ----------
    key:
        Short, stable key: ``layer:<id>@<version>[:<field>>=<min>]`` or
        ``rw-states>=<N>``.
    areas:
        Flood polygons (EPSG:4326).
    info:
        The scenario in full (kind, layer, version, field, threshold, polygon count).
    """

    key: str
    areas: gpd.GeoDataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready description (no geometry)."""
        return {"key": self.key, **self.info, "polygons": len(self.areas)}


def _polygons_only(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kind = shapely.get_type_id(geoms)
    keep = np.isin(kind, (3, 6)) & ~shapely.is_empty(geoms)
    out = frame.loc[keep].copy()
    out["geometry"] = shapely.make_valid(np.asarray(out.geometry.values, dtype=object))
    return out


def flood_from_layer(
    bank: Bank,
    layer: str,
    *,
    field: str | None = None,
    min_value: float | None = None,
    version: int | None = None,
) -> FloodScenario:
    """Flood polygons from a hazard layer of the bank.

    Parameters
    ----------
    layer:
        Layer id of flood polygons (e.g. the 2007 flooded RWs, PetaBencana states,
        modelled depth polygons imported for ``tangguh impact``).
    field:
        Optional column: with ``min_value``, polygons whose numeric value is at least
        ``min_value`` (e.g. ``state`` >= 2, ``depth_cm`` >= 30); without it, polygons
        whose value is a flag meaning flooded (anything but empty, 0, no, false, tidak).
    min_value:
        Threshold on ``field``.
    version:
        Layer version (default: current).

    Raises
    ------
    NotFoundError
        When the layer does not exist.
    InputError
        Missing column, non-numeric values with a threshold, or no flooded polygon.
    """
    info = bank.layer(layer)
    ver = int(version if version is not None else info.current_version)
    frame = bank.read_layer(layer, version=ver)
    if min_value is not None and field is None:
        raise InputError(
            "a flood threshold needs the column it applies to",
            where=f"layer {layer}",
            hint="give the field too, e.g. --flood-field state --flood-min 2",
            message_id="ambang banjir memerlukan kolom tempat ambang itu berlaku",
            hint_id="berikan juga kolomnya, mis. --flood-field state --flood-min 2",
        )
    if field is not None:
        if field not in frame.columns:
            cols = [c for c in frame.columns if c != "geometry"]
            raise InputError(
                f"the flood layer {layer!r} has no column {field!r}",
                where=f"layer {layer}",
                hint=f"use one of: {', '.join(map(str, cols))}",
                message_id=f"lapisan banjir {layer!r} tidak memiliki kolom {field!r}",
                hint_id=f"gunakan salah satu: {', '.join(map(str, cols))}",
            )
        raw = frame[field]
        if min_value is not None:
            values = pd.to_numeric(raw, errors="coerce")
            bad = values.isna() & raw.notna()
            if bad.any():
                labels = list(frame.index[bad.to_numpy()])
                raise InputError(
                    f"{len(labels)} values of {field!r} are not numbers",
                    where=f"layer {layer}, rows {_rows(labels)}, field {field}",
                    hint="use a numeric column with --flood-min, or drop --flood-min to "
                    "read the column as a flooded flag",
                    message_id=f"{len(labels)} nilai {field!r} bukan angka",
                    hint_id="gunakan kolom angka dengan --flood-min, atau hapus --flood-min "
                    "agar kolom dibaca sebagai penanda banjir",
                )
            frame = frame[(values >= float(min_value)).to_numpy()]
        else:
            text = raw.astype("string").str.strip().str.lower().fillna("")
            frame = frame[~text.isin(_NOT_FLOODED).to_numpy()]
    areas = _polygons_only(frame)
    key = f"layer:{layer}@{ver}"
    if field is not None:
        key += f":{field}" + (f">={min_value:g}" if min_value is not None else "")
    if areas.empty:
        raise InputError(
            f"no flooded polygon in layer {layer!r}" + (f" ({key})" if field else ""),
            where=f"layer {layer}",
            hint="check the layer holds polygons and the field/threshold select some",
            message_id=f"tidak ada poligon banjir di lapisan {layer!r}",
            hint_id="pastikan lapisan berisi poligon dan kolom/ambang memilih sebagian",
        )
    return FloodScenario(
        key,
        gpd.GeoDataFrame(geometry=areas.geometry.to_numpy(), crs="EPSG:4326"),
        {
            "kind": "layer",
            "layer": layer,
            "version": ver,
            "field": field,
            "min_value": min_value,
        },
    )


def flood_from_rw_states(bank: Bank, min_state: int = 1) -> FloodScenario:
    """The RWs whose current flood state (``tg_web_rw_state``) is at least ``min_state``.

    States are the PetaBencana / BPBD REM codes: 1 use caution, 2 10-70 cm,
    3 71-150 cm, 4 above 150 cm.

    Raises
    ------
    InputError
        When ``min_state`` is not 1-4 or no RW has such a state.
    """
    from tangguh.admin.store import load_units
    from tangguh.web.tables import tg_web_rw_state

    if not 1 <= int(min_state) <= 4:
        raise InputError(
            f"flood state must be 1-4, not {min_state}",
            where="--rw-states",
            hint="1 use caution, 2 10-70 cm, 3 71-150 cm, 4 above 150 cm",
            message_id=f"status banjir harus 1-4, bukan {min_state}",
            hint_id="1 waspada, 2 10-70 cm, 3 71-150 cm, 4 di atas 150 cm",
        )
    t = tg_web_rw_state
    with bank.connect() as conn:
        rows = conn.execute(
            select(t.c.unit_id, t.c.state, t.c.t).where(t.c.state >= int(min_state))
        ).all()
    if not rows:
        raise InputError(
            f"no RW has a flood state of {min_state} or more",
            where="tg_web_rw_state",
            hint="set RW states on the dashboard or PUT /api/v1/rw-states/{unit_id}, "
            "or use a flood layer (--flood)",
            message_id=f"tidak ada RW dengan status banjir {min_state} atau lebih",
            hint_id="atur status RW di dasbor atau PUT /api/v1/rw-states/{unit_id}, "
            "atau pakai lapisan banjir (--flood)",
        )
    ids = sorted(r[0] for r in rows)
    units = load_units(bank)
    areas = _polygons_only(units[units["unit_id"].isin(ids)])
    latest = max(r[2] for r in rows)
    return FloodScenario(
        f"rw-states>={int(min_state)}",
        gpd.GeoDataFrame(
            {"unit_id": areas["unit_id"].to_numpy()},
            geometry=areas.geometry.to_numpy(),
            crs="EPSG:4326",
        ),
        {
            "kind": "rw_states",
            "min_state": int(min_state),
            "rw": len(areas),
            "latest_change": latest.isoformat() if hasattr(latest, "isoformat") else str(latest),
        },
    )


def flood_scenario(
    bank: Bank,
    *,
    flood: str | None = None,
    rw_states: int | None = None,
    field: str | None = None,
    min_value: float | None = None,
) -> FloodScenario:
    """Exactly one of a flood layer or a minimum RW flood state (CLI and HTTP helper)."""
    if (flood is None) == (rw_states is None):
        raise InputError(
            "give exactly one flood scenario: a flood layer or a minimum RW flood state",
            where="--flood / --rw-states",
            hint="e.g. --flood flood_2007, or --rw-states 2",
            message_id="berikan tepat satu skenario banjir: lapisan banjir atau status "
            "banjir RW minimum",
            hint_id="mis. --flood flood_2007, atau --rw-states 2",
        )
    if flood is not None:
        return flood_from_layer(bank, flood, field=field, min_value=min_value)
    assert rw_states is not None
    return flood_from_rw_states(bank, rw_states)


# -- shelters ---------------------------------------------------------------------------
_ID_COLUMNS = ("shelter_id", "id", "kode", "code", "OBJECTID", "objectid")
_NAME_COLUMNS = ("name", "nama", "NAMOBJ", "namobj", "Name", "NAME")


def load_shelters(
    bank: Bank,
    layer: str = "shelters",
    *,
    capacity: str = "capacity",
    version: int | None = None,
) -> gpd.GeoDataFrame:
    """Shelters with a capacity from any point or polygon layer.

    Returns
    -------
    geopandas.GeoDataFrame
        ``shelter_id`` (the layer's id column, else ``<layer>:<row>``), ``name``,
        ``capacity`` (int, people) and a point per shelter (polygons: a point inside).

    Raises
    ------
    InputError
        Empty layer, no capacity column, a missing, non-numeric, negative or fractional
        capacity, or a row without a geometry (each naming the rows).
    """
    info = bank.layer(layer)
    ver = int(version if version is not None else info.current_version)
    frame = bank.read_layer(layer, version=ver)
    if frame.empty:
        raise InputError(
            f"the shelter layer {layer!r} is empty",
            where=f"layer {layer} (version {ver})",
            hint="import shelters (points or polygons with a capacity column), e.g. "
            "`tangguh layers import posko.geojson --id shelters`",
            message_id=f"lapisan tempat pengungsian {layer!r} kosong",
            hint_id="impor tempat pengungsian (titik atau poligon dengan kolom kapasitas), "
            "mis. `tangguh layers import posko.geojson --id shelters`",
        )
    if capacity not in frame.columns:
        cols = [c for c in frame.columns if c != "geometry"]
        raise InputError(
            f"the shelter layer {layer!r} has no capacity column {capacity!r}",
            where=f"layer {layer}",
            hint=f"name the column with --capacity; columns: {', '.join(map(str, cols))}",
            message_id=f"lapisan tempat pengungsian {layer!r} tidak memiliki kolom "
            f"kapasitas {capacity!r}",
            hint_id=f"sebutkan kolomnya dengan --capacity; kolom: {', '.join(map(str, cols))}",
        )
    id_col = next((c for c in _ID_COLUMNS if c in frame.columns), None)
    ids = (
        frame[id_col].astype("string").fillna("").to_numpy(dtype=object)
        if id_col
        else np.array([f"{layer}:{i}" for i in frame.index], dtype=object)
    )
    raw = frame[capacity]
    cap = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
    bad = ~np.isfinite(cap) | (cap < 0) | (np.abs(cap - np.round(cap)) > 1e-9)
    if bad.any():
        labels = [f"{ids[i]} ({raw.iloc[i]!r})" for i in np.flatnonzero(bad)]
        raise InputError(
            f"{len(labels)} shelters have no valid capacity",
            where=f"layer {layer}, rows {_rows(labels)}, field {capacity}",
            hint="capacity is a whole number of people, 0 or more; fix or remove the rows",
            message_id=f"{len(labels)} tempat pengungsian tidak memiliki kapasitas yang sah",
            hint_id="kapasitas adalah jumlah orang (bilangan bulat, 0 atau lebih); perbaiki "
            "atau hapus barisnya",
        )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kind = shapely.get_type_id(geoms)
    missing = ~np.isin(kind, (0, 3, 4, 6)) | shapely.is_empty(geoms)
    if missing.any():
        labels = [str(ids[i]) for i in np.flatnonzero(missing)]
        raise InputError(
            f"{len(labels)} shelters have no point or polygon geometry",
            where=f"layer {layer}, rows {_rows(labels)}",
            hint="give every shelter a location (point or building polygon)",
            message_id=f"{len(labels)} tempat pengungsian tidak memiliki geometri titik "
            "atau poligon",
            hint_id="beri setiap tempat pengungsian lokasi (titik atau poligon bangunan)",
        )
    name_col = next((c for c in _NAME_COLUMNS if c in frame.columns), None)
    names = frame[name_col].astype("string").fillna("").to_numpy(dtype=object) if name_col else ids
    pts = np.where(kind == 0, geoms, shapely.point_on_surface(geoms))
    multi = kind == 4
    if multi.any():
        pts[multi] = shapely.get_geometry(geoms[multi], 0)
    out = gpd.GeoDataFrame(
        {"shelter_id": ids, "name": names, "capacity": np.round(cap).astype(np.int64)},
        geometry=pts,
        crs="EPSG:4326",
    )
    out.attrs["layer"] = layer
    out.attrs["version"] = ver
    dup = out["shelter_id"].duplicated(keep=False)
    if dup.any():
        out["shelter_id"] = [
            f"{s}#{i}" if d else s
            for i, (s, d) in enumerate(zip(out["shelter_id"], dup, strict=True))
        ]
    return out


# -- origins ----------------------------------------------------------------------------
def rw_origins(
    bank: Bank,
    flood: FloodScenario | gpd.GeoDataFrame | None = None,
    *,
    buildings: str | None = "buildings",
    demand: Literal["flooded", "all"] = "flooded",
    versions: dict[str, int] | None = None,
) -> gpd.GeoDataFrame:
    """One evacuation origin per RW: the people-weighted centre of its evacuees' homes.

    People come from :func:`tangguh.connectivity.population.population_points` (each
    RW's population spread over its residential buildings by floor area, else a grid or
    the RW's point); with ``demand="flooded"`` only the points inside the flood
    evacuate. Leaf units without RW (a kelurahan with no RW boundaries) are origins too.

    Returns
    -------
    geopandas.GeoDataFrame
        ``unit_id``, ``name``, ``parent_id``, ``population``, ``evacuees`` (int),
        ``homes`` (evacuating points), ``in_flood`` (the origin lies in the water) and the
        origin point (EPSG:4326); only units with evacuees.
    """
    from tangguh.admin.store import load_units
    from tangguh.connectivity.population import population_points

    versions = versions if versions is not None else {}
    if buildings is not None and not bank.has_layer(buildings):
        buildings = None
    pop = population_points(bank, buildings=buildings)
    for layer_id, ver in pop.versions.items():
        if isinstance(ver, int | np.integer):
            versions.setdefault(str(layer_id), int(ver))
    x, y, w, leaf = pop.x, pop.y, pop.people, pop.leaf
    n = len(pop.leaf_ids)
    areas = flood.areas if isinstance(flood, FloodScenario) else flood
    if demand == "all":
        wet = np.ones(len(x), dtype=bool)
    elif areas is None or len(areas) == 0:
        wet = np.zeros(len(x), dtype=bool)
    else:
        flood_geoms = np.asarray(areas.geometry.values, dtype=object)
        hit, _ = points_in_polygons(x, y, flood_geoms, predicate="intersects")
        wet = np.zeros(len(x), dtype=bool)
        wet[hit] = True
    ww = np.where(wet, w, 0.0)
    evac = np.bincount(leaf, weights=ww, minlength=n)
    homes = np.bincount(leaf, weights=wet.astype(float), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.bincount(leaf, weights=ww * x, minlength=n) / evac
        cy = np.bincount(leaf, weights=ww * y, minlength=n) / evac
    evacuees = np.round(evac).astype(np.int64)
    keep = evacuees > 0
    origin = np.asarray(shapely.points(cx[keep], cy[keep]), dtype=object)
    in_flood = np.zeros(int(keep.sum()), dtype=bool)
    if areas is not None and len(areas) and keep.any():
        tree = shapely.STRtree(np.asarray(areas.geometry.values, dtype=object))
        inside, _ = tree.query(origin, predicate="intersects")
        in_flood[inside] = True
    units = load_units(bank).set_index("unit_id")
    ids = pd.Index(pop.leaf_ids)[keep]
    names = units["name"].reindex(ids)
    parents = units["parent_id"].reindex(ids)
    out = gpd.GeoDataFrame(
        {
            "unit_id": ids.to_numpy(dtype=object),
            "name": names.astype(object).where(names.notna(), None).to_numpy(),
            "parent_id": parents.astype(object).where(parents.notna(), None).to_numpy(),
            "population": np.round(pop.leaf_population[keep]).astype(np.int64),
            "evacuees": evacuees[keep],
            "homes": homes[keep].astype(np.int64),
            "in_flood": in_flood,
        },
        geometry=origin,
        crs="EPSG:4326",
    )
    methods = pop.method.value_counts()
    out.attrs["population_method"] = ", ".join(f"{k}: {int(v)}" for k, v in methods.items())
    return out


# -- candidate distances ----------------------------------------------------------------
def _graph_with_sources(net: WalkNetwork, sources: Snap) -> sparse.csr_matrix:
    """The open graph plus one virtual node per source, joined to its edge's two ends."""
    n = net.n_nodes
    k = len(sources)
    e = sources.edge
    w_u = np.maximum(sources.offset + sources.along, 1e-3)
    w_v = np.maximum(sources.offset + net.edge_length[e] - sources.along, 1e-3)
    base = net.graph
    data = np.concatenate([base.data, np.column_stack([w_u, w_v]).ravel()])
    cols = np.concatenate(
        [base.indices, np.column_stack([net.edge_u[e], net.edge_v[e]]).ravel()]
    ).astype(np.int32)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + 2 * np.arange(1, k + 1)]).astype(
        np.int32
    )
    return sparse.csr_matrix((data, cols, indptr), shape=(n + k, n + k))


def shelter_distances(
    net: WalkNetwork, shelters: Snap, origins: Snap, *, limit: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every (origin, shelter) pair within ``limit`` metres of walk on ``net``.

    One limited Dijkstra per shelter (``_CHUNK`` shelters per call); the walk is the
    shelter's offset to its street + along the streets + the origin's offset, as in
    :meth:`Distances.to_points`. Shelters and origins must be snapped (``edge >= 0``).

    Returns
    -------
    (origin index, shelter index, metres), sorted by origin then metres.
    """
    n = net.n_nodes
    o_ok = np.flatnonzero(origins.ok)
    oe = origins.edge[o_ok]
    ou, ov = net.edge_u[oe], net.edge_v[oe]
    o_along = origins.along[o_ok]
    o_rest = net.edge_length[oe] - o_along
    o_off = origins.offset[o_ok]
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []
    s_ok = np.flatnonzero(shelters.ok & (shelters.offset <= limit))
    for start in range(0, len(s_ok), _CHUNK):
        chunk = s_ok[start : start + _CHUNK]
        snap = shelters.subset(chunk)
        graph = _graph_with_sources(net, snap)
        k = len(chunk)
        dist = dijkstra(graph, directed=True, indices=np.arange(n, n + k), limit=limit)
        dist = np.asarray(dist)[:, :n]
        walk = np.minimum(dist[:, ou] + o_along, dist[:, ov] + o_rest) + o_off
        # A shelter on the origin's own edge: straight along it.
        for j in range(k):
            same = np.flatnonzero(oe == snap.edge[j])
            if len(same):
                direct = np.abs(o_along[same] - snap.along[j]) + o_off[same] + snap.offset[j]
                walk[j, same] = np.minimum(walk[j, same], direct)
        sj, oi = np.nonzero(walk <= limit)
        rows.append(o_ok[oi])
        cols.append(chunk[sj])
        vals.append(walk[sj, oi])
    if not rows:
        empty_i = np.zeros(0, dtype=np.int64)
        return empty_i, empty_i.copy(), np.zeros(0)
    r = np.concatenate(rows).astype(np.int64)
    c = np.concatenate(cols).astype(np.int64)
    d = np.concatenate(vals).astype(np.float64)
    order = np.lexsort((d, r))
    return r[order], c[order], d[order]


# -- assignment -------------------------------------------------------------------------
def solve_assignment(
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    origin: npt.ArrayLike,
    shelter: npt.ArrayLike,
    metres: npt.ArrayLike,
) -> npt.NDArray[np.int64]:
    """People sent along each candidate (origin, shelter) pair: a transportation problem.

    minimise  Σ metres·x + P·Σ short   subject to
    Σ_shelters x[o,·] + short[o] = demand[o],  Σ_origins x[·,s] <= capacity[s],  x, short >= 0

    with the penalty P = (max metres + 1)·(shelters + 1), larger than the cost of any
    augmenting path, so the most people are placed first and, among those plans, the
    fewest person-metres walked. Solved with HiGHS (dual simplex: a vertex, which is
    whole numbers here because the constraint matrix is totally unimodular).

    Returns
    -------
    numpy.ndarray
        People per pair (same order as the pairs).
    """
    dem = np.asarray(demand, dtype=np.int64)
    cap = np.asarray(capacity, dtype=np.int64)
    o = np.asarray(origin, dtype=np.int64)
    s = np.asarray(shelter, dtype=np.int64)
    d = np.asarray(metres, dtype=np.float64)
    p = len(o)
    flows = np.zeros(p, dtype=np.int64)
    use = (dem[o] > 0) & (cap[s] > 0) if p else np.zeros(0, dtype=bool)
    if not use.any():
        return flows
    idx = np.flatnonzero(use)
    # Compact the origins and shelters that take part.
    uo, oi = np.unique(o[idx], return_inverse=True)
    us, si = np.unique(s[idx], return_inverse=True)
    no, ns, npair = len(uo), len(us), len(idx)
    penalty = (float(d[idx].max()) + 1.0) * (ns + 1)
    c = np.concatenate([d[idx], np.full(no, penalty)])
    a_eq = sparse.csr_matrix(
        (
            np.ones(npair + no),
            (np.concatenate([oi, np.arange(no)]), np.arange(npair + no)),
        ),
        shape=(no, npair + no),
    )
    a_ub = sparse.csr_matrix((np.ones(npair), (si, np.arange(npair))), shape=(ns, npair + no))
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=cap[us].astype(float),
        A_eq=a_eq,
        b_eq=dem[uo].astype(float),
        bounds=(0, None),
        method="highs-ds",
    )
    if res.status != 0 or res.x is None:  # pragma: no cover - the problem is always feasible
        raise InputError(
            f"the assignment solver failed: {res.message}",
            where="solve_assignment",
            hint="report this with the plan's inputs",
            message_id=f"pemecah penugasan gagal: {res.message}",
            hint_id="laporkan ini beserta masukan rencana",
        )
    x = np.maximum(np.round(res.x[:npair]), 0).astype(np.int64)
    # Guard the rounding: never above a shelter's capacity or an RW's evacuees.
    x = _trim(x, si, cap[us])
    x = _trim(x, oi, dem[uo])
    flows[idx] = x
    return flows


def _trim(
    x: npt.NDArray[np.int64], group: npt.NDArray[np.int64], limit: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    total = np.bincount(group, weights=x, minlength=len(limit)).astype(np.int64)
    over = np.flatnonzero(total > limit)
    for g in over:
        excess = int(total[g] - limit[g])
        for i in np.flatnonzero(group == g)[::-1]:
            take = min(excess, int(x[i]))
            x[i] -= take
            excess -= take
            if excess == 0:
                break
    return x


def greedy_assignment(
    demand: npt.ArrayLike,
    capacity: npt.ArrayLike,
    origin: npt.ArrayLike,
    shelter: npt.ArrayLike,
    metres: npt.ArrayLike,
) -> npt.NDArray[np.int64]:
    """Baseline: nearest first. Pairs in order of metres, each sends what still fits.

    Respects capacities like :func:`solve_assignment` but neither places the most
    people nor walks the fewest person-metres in general (for the benchmark).
    """
    dem = np.asarray(demand, dtype=np.int64).copy()
    cap = np.asarray(capacity, dtype=np.int64).copy()
    o = np.asarray(origin, dtype=np.int64)
    s = np.asarray(shelter, dtype=np.int64)
    d = np.asarray(metres, dtype=np.float64)
    flows = np.zeros(len(o), dtype=np.int64)
    for i in np.argsort(d, kind="stable"):
        a, b = int(o[i]), int(s[i])
        take = min(int(dem[a]), int(cap[b]))
        if take > 0:
            flows[i] = take
            dem[a] -= take
            cap[b] -= take
    return flows


# -- the plan ---------------------------------------------------------------------------
@dataclass
class EvacuationPlan:
    """An evacuation plan: the assignment, the routes and what is left without a place.

    Attributes
    ----------
    rw:
        Per RW with evacuees: ``unit_id``, ``name``, ``parent_id``, ``evacuees``,
        ``placed``, ``shortfall``, ``reason`` (None, ``no_open_street``,
        ``beyond_limit``, ``shelters_full``), ``wade_m``, ``shelters``, ``lon``, ``lat``.
    shelters:
        Per shelter: ``shelter_id``, ``name``, ``capacity``, ``load``, ``usable``,
        ``reason`` (None, ``flooded``, ``no_open_street``), ``lon``, ``lat``.
    routes:
        One line per (RW, shelter) assignment: ``plan_id``, ``unit_id``, ``rw_name``,
        ``shelter_id``, ``shelter_name``, ``people``, ``metres``, ``minutes``,
        ``wade_m``, geometry (EPSG:4326) from the RW's origin along open streets to the
        shelter.
    """

    plan_id: str
    created: datetime
    scenario: dict[str, Any]
    params: dict[str, Any]
    inputs: dict[str, int]
    summary: dict[str, Any]
    rw: pd.DataFrame
    shelters: pd.DataFrame
    routes: gpd.GeoDataFrame
    timings: dict[str, float]
    author: str | None = None
    routes_version: int | None = None

    @property
    def without_route(self) -> pd.DataFrame:
        """RWs with nobody placed (no safe route, or every shelter in reach full)."""
        return self.rw[(self.rw["placed"] == 0) & (self.rw["evacuees"] > 0)]

    def to_json(self, *, rows: bool = True) -> dict[str, Any]:
        """JSON-ready plan (RW and shelter rows with ``rows``; no route geometry)."""
        data: dict[str, Any] = {
            "plan_id": self.plan_id,
            "created": self.created.isoformat(),
            "author": self.author,
            "flood": self.scenario,
            "params": self.params,
            "inputs": self.inputs,
            "summary": self.summary,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "routes_layer": ROUTES_LAYER,
            "routes_version": self.routes_version,
        }
        if rows:
            data["rw"] = frame_records(self.rw)
            data["shelters"] = frame_records(self.shelters)
        return data


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN -> None, numpy scalars -> Python)."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): _plain(v) for k, v in r.items()} for r in out]


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _new_id(now: datetime) -> str:
    return f"evac-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def plan_evacuation(
    bank: Bank,
    flood: FloodScenario,
    *,
    shelters: str = "shelters",
    capacity: str = "capacity",
    roads: str = "roads",
    buildings: str | None = "buildings",
    max_walk: float = DEFAULT_MAX_WALK_M,
    max_offset: float = DEFAULT_MAX_OFFSET_M,
    speed: float = DEFAULT_SPEED_MPS,
    demand: Literal["flooded", "all"] = "flooded",
    solver: Literal["highs", "greedy"] = "highs",
    save: bool = True,
    author: str | None = None,
) -> EvacuationPlan:
    """Assign every RW's evacuees to shelters over open streets and draw the routes.

    Parameters
    ----------
    flood:
        The flood scenario (:func:`flood_from_layer`, :func:`flood_from_rw_states`).
    shelters, capacity:
        Shelter layer and its capacity column (people).
    roads:
        Roads layer of the walking network.
    buildings:
        Buildings layer to spread RW populations over (None: one point per RW).
    max_walk:
        Longest walk (metres) from an RW's origin to a shelter.
    max_offset:
        Longest straight walk from an origin or a shelter to an open street (metres).
    speed:
        Walking speed (m/s) for the minutes.
    demand:
        ``flooded``: people at homes inside the flood; ``all``: everyone in every RW.
    solver:
        ``highs`` (capacity-aware optimum) or ``greedy`` (nearest first; for comparison).
    save:
        Store the plan and its routes layer version in the bank (one transaction).

    Raises
    ------
    InputError
        Bad parameters or shelters (see :func:`load_shelters`).
    """
    for name, value in (("max_walk", max_walk), ("max_offset", max_offset), ("speed", speed)):
        if not np.isfinite(value) or value <= 0:
            raise InputError(
                f"{name} must be a positive number, not {value}",
                where=f"--{name.replace('_', '-')}",
                hint="e.g. --max-walk 3000 --max-offset 500 --speed 1.0",
                message_id=f"{name} harus bilangan positif, bukan {value}",
                hint_id="mis. --max-walk 3000 --max-offset 500 --speed 1.0",
            )
    if demand not in ("flooded", "all"):
        raise InputError(
            f"demand must be 'flooded' or 'all', not {demand!r}",
            where="--demand",
            hint="flooded: people whose homes are in the flood; all: everyone",
            message_id=f"demand harus 'flooded' atau 'all', bukan {demand!r}",
            hint_id="flooded: warga yang rumahnya di area banjir; all: semua warga",
        )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    versions: dict[str, int] = {}
    sh = load_shelters(bank, shelters, capacity=capacity)
    versions[shelters] = int(sh.attrs["version"])
    if flood.info.get("kind") == "layer":
        versions[str(flood.info["layer"])] = int(flood.info["version"])
    versions[roads] = bank.layer(roads).current_version
    net = network_for(bank, roads, version=versions[roads])
    timings["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    blocked = net.edges_within(flood.areas)
    open_net = net.without(blocked)
    timings["network"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    origins = rw_origins(bank, flood, buildings=buildings, demand=demand, versions=versions)
    o_snap = open_net.snap_open(origins.geometry, max_distance=max_offset)
    flood_geoms = np.asarray(flood.areas.geometry.values, dtype=object)
    sh_pts = np.asarray(sh.geometry.values, dtype=object)
    wet_idx, _ = points_in_polygons(
        shapely.get_x(sh_pts), shapely.get_y(sh_pts), flood_geoms, predicate="intersects"
    )
    sh_flooded = np.zeros(len(sh), dtype=bool)
    sh_flooded[wet_idx] = True
    s_snap = open_net.snap_open(sh.geometry, max_distance=max_offset)
    s_usable = ~sh_flooded & s_snap.ok
    s_use = Snap(
        np.where(s_usable, s_snap.edge, -1), s_snap.along, np.where(s_usable, s_snap.offset, np.inf)
    )
    timings["snap"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    pair_o, pair_s, pair_d = shelter_distances(open_net, s_use, o_snap, limit=max_walk)
    timings["distances"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    evac = origins["evacuees"].to_numpy(np.int64)
    cap = np.where(s_usable, sh["capacity"].to_numpy(np.int64), 0)
    assign = solve_assignment if solver == "highs" else greedy_assignment
    flows = assign(evac, cap, pair_o, pair_s, pair_d)
    timings["solve"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    now = datetime.now(UTC)
    plan_id = _new_id(now)
    routes = _routes(open_net, origins, sh, o_snap, s_use, pair_o, pair_s, pair_d, flows, max_walk)
    routes.insert(0, "plan_id", plan_id)
    routes["minutes"] = np.round(routes["metres"].to_numpy(float) / speed / 60.0, 1)
    timings["routes"] = time.perf_counter() - t0

    rw = _rw_table(origins, o_snap, pair_o, flows, cap, pair_s)
    load = np.bincount(pair_s, weights=flows, minlength=len(sh)).astype(np.int64)
    shelter_reason = np.full(len(sh), None, dtype=object)
    shelter_reason[~s_snap.ok] = "no_open_street"
    shelter_reason[sh_flooded] = "flooded"
    shelters_tab = pd.DataFrame(
        {
            "shelter_id": sh["shelter_id"].to_numpy(),
            "name": sh["name"].to_numpy(),
            "capacity": sh["capacity"].to_numpy(np.int64),
            "load": load,
            "usable": s_usable,
            "reason": shelter_reason,
            "lon": shapely.get_x(sh_pts),
            "lat": shapely.get_y(sh_pts),
        }
    )
    params = {
        "shelters": shelters,
        "capacity": capacity,
        "roads": roads,
        "buildings": buildings,
        "max_walk_m": float(max_walk),
        "max_offset_m": float(max_offset),
        "speed_mps": float(speed),
        "demand": demand,
        "solver": solver,
        "population_method": origins.attrs.get("population_method"),
    }
    summary = _summary(rw, shelters_tab, routes, blocked, flows, pair_d)
    plan = EvacuationPlan(
        plan_id=plan_id,
        created=now,
        scenario=flood.to_json(),
        params=params,
        inputs=versions,
        summary=summary,
        rw=rw,
        shelters=shelters_tab,
        routes=routes,
        timings=timings,
        author=author,
    )
    if save:
        t0 = time.perf_counter()
        save_plan(bank, plan)
        timings["save"] = time.perf_counter() - t0
    return plan


def _routes(
    net: WalkNetwork,
    origins: gpd.GeoDataFrame,
    sh: gpd.GeoDataFrame,
    o_snap: Snap,
    s_snap: Snap,
    pair_o: npt.NDArray[np.int64],
    pair_s: npt.NDArray[np.int64],
    pair_d: npt.NDArray[np.float64],
    flows: npt.NDArray[np.int64],
    max_walk: float,
) -> gpd.GeoDataFrame:
    """The street path of every used pair, from the RW's origin to the shelter."""
    used = np.flatnonzero(flows > 0)
    lines: list[Any] = [None] * len(used)
    o_pts = np.asarray(origins.geometry.values, dtype=object)
    s_pts = np.asarray(sh.geometry.values, dtype=object)
    for j in np.unique(pair_s[used]):
        dist = net.distances(s_snap.subset([int(j)]), limit=max_walk, predecessors=True)
        for k in np.flatnonzero(pair_s[used] == j):
            i = int(pair_o[used[k]])
            if _same_spot(o_snap, i, s_snap, int(j)):
                # Both snapped onto the same spot: no street to walk (route() would
                # return a point).
                xy = np.zeros((0, 2))
            else:
                street = net.route(dist, o_snap, i)
                if street is None:  # pragma: no cover - every used pair was reached
                    continue
                # The route runs shelter -> origin; evacuees walk origin -> shelter.
                xy = shapely.get_coordinates(street)[::-1]
            o_xy = shapely.get_coordinates(o_pts[i])
            s_xy = shapely.get_coordinates(s_pts[j])
            lines[k] = shapely.linestrings(np.vstack([o_xy, xy, s_xy]))
    oi = pair_o[used]
    si = pair_s[used]
    return gpd.GeoDataFrame(
        {
            "unit_id": origins["unit_id"].to_numpy()[oi],
            "rw_name": origins["name"].to_numpy()[oi],
            "shelter_id": sh["shelter_id"].to_numpy()[si],
            "shelter_name": sh["name"].to_numpy()[si],
            "people": flows[used],
            "metres": np.round(pair_d[used], 1),
            "wade_m": np.round(o_snap.offset[oi], 1),
        },
        geometry=np.asarray(lines, dtype=object),
        crs="EPSG:4326",
    )


def _same_spot(a: Snap, i: int, b: Snap, j: int) -> bool:
    return bool(a.edge[i] == b.edge[j] and abs(float(a.along[i]) - float(b.along[j])) < 1e-6)


def _rw_table(
    origins: gpd.GeoDataFrame,
    o_snap: Snap,
    pair_o: npt.NDArray[np.int64],
    flows: npt.NDArray[np.int64],
    cap: npt.NDArray[np.int64],
    pair_s: npt.NDArray[np.int64],
) -> pd.DataFrame:
    n = len(origins)
    evac = origins["evacuees"].to_numpy(np.int64)
    placed = np.bincount(pair_o, weights=flows, minlength=n).astype(np.int64)
    short = evac - placed
    # Candidates are usable shelters within the walk, full or not.
    has_cand = np.bincount(pair_o, minlength=n) > 0
    used = np.bincount(pair_o[flows > 0], minlength=n)
    reason = np.full(n, None, dtype=object)
    reason[(short > 0) & has_cand] = "shelters_full"
    reason[(short > 0) & ~has_cand] = "beyond_limit"
    reason[~o_snap.ok] = "no_open_street"
    pts = np.asarray(origins.geometry.values, dtype=object)
    return pd.DataFrame(
        {
            "unit_id": origins["unit_id"].to_numpy(),
            "name": origins["name"].to_numpy(),
            "parent_id": origins["parent_id"].to_numpy(),
            "evacuees": evac,
            "placed": placed,
            "shortfall": short,
            "reason": reason,
            "wade_m": np.where(o_snap.ok, np.round(o_snap.offset, 1), np.nan),
            "shelters": used.astype(np.int64),
            "lon": shapely.get_x(pts),
            "lat": shapely.get_y(pts),
        }
    )


def _summary(
    rw: pd.DataFrame,
    shelters: pd.DataFrame,
    routes: gpd.GeoDataFrame,
    blocked: npt.NDArray[np.bool_],
    flows: npt.NDArray[np.int64],
    pair_d: npt.NDArray[np.float64],
) -> dict[str, Any]:
    people = int(rw["evacuees"].sum())
    placed = int(rw["placed"].sum())
    person_m = float((flows * pair_d).sum())
    usable = shelters["usable"].to_numpy(bool)
    minutes = routes["minutes"].to_numpy(float) if len(routes) else np.zeros(0)
    weights = routes["people"].to_numpy(float) if len(routes) else np.zeros(0)
    reasons = rw["reason"].dropna().value_counts()
    return {
        "rw": len(rw),
        "evacuees": people,
        "placed": placed,
        "shortfall": people - placed,
        "rw_with_shortfall": int((rw["shortfall"] > 0).sum()),
        "rw_without_route": int(((rw["placed"] == 0) & (rw["evacuees"] > 0)).sum()),
        "reasons": {str(k): int(v) for k, v in reasons.items()},
        "shelters": len(shelters),
        "shelters_usable": int(usable.sum()),
        "shelters_flooded": int((shelters["reason"] == "flooded").sum()),
        "shelters_no_street": int((shelters["reason"] == "no_open_street").sum()),
        "shelters_used": int((shelters["load"] > 0).sum()),
        "capacity_usable": int(shelters["capacity"].to_numpy()[usable].sum()),
        "routes": len(routes),
        "person_metres": round(person_m, 1),
        "mean_metres": round(person_m / placed, 1) if placed else None,
        "mean_minutes": round(float(np.average(minutes, weights=weights)), 1) if placed else None,
        "max_minutes": round(float(minutes.max()), 1) if len(minutes) else None,
        "edges_flooded": int(blocked.sum()),
    }


# -- storage ----------------------------------------------------------------------------
def save_plan(bank: Bank, plan: EvacuationPlan) -> EvacuationPlan:
    """Store the plan, its RW and shelter rows and its routes layer version (one
    transaction)."""
    from tangguh.bank.base import LayerMeta

    synthetic = any(
        bank.layer(layer_id).synthetic for layer_id in plan.inputs if bank.has_layer(layer_id)
    )
    meta = LayerMeta(
        title_id="Rute evakuasi",
        title_en="Evacuation routes",
        description_id="Rute jalan kaki dari setiap RW ke tempat pengungsian yang menghindari "
        "jalan tergenang, satu versi per rencana evakuasi (kolom plan_id).",
        description_en="Walking routes from each RW to its shelters avoiding flooded streets, "
        "one version per evacuation plan (column plan_id).",
        theme="mobility",
        source="tangguh evacuate plan",
        keywords=["evacuation", "evakuasi", "shelter", "pengungsian", "route", "rute"],
        synthetic=synthetic,
    )
    with bank.transaction():
        version = bank.write_layer(
            ROUTES_LAYER,
            plan.routes,
            meta,
            author=plan.author,
            message=f"{plan.plan_id} ({plan.scenario.get('key')})",
        )
        plan.routes_version = version.version
        with bank.begin() as conn:
            conn.execute(
                insert(tg_evac_plan).values(
                    plan_id=plan.plan_id,
                    created=plan.created,
                    author=plan.author,
                    flood_key=str(plan.scenario.get("key"))[:190],
                    scenario=plan.scenario,
                    params=plan.params,
                    inputs=plan.inputs,
                    summary=plan.summary,
                    timings={k: round(v, 4) for k, v in plan.timings.items()},
                    routes_layer=ROUTES_LAYER,
                    routes_version=plan.routes_version,
                )
            )
            rw_rows = [{"plan_id": plan.plan_id, **r} for r in frame_records(plan.rw)]
            if rw_rows:
                conn.execute(insert(tg_evac_rw), rw_rows)
            sh_rows = [{"plan_id": plan.plan_id, **r} for r in frame_records(plan.shelters)]
            if sh_rows:
                conn.execute(insert(tg_evac_shelter), sh_rows)
    return plan


def plans(bank: Bank, *, flood_key: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Stored plans, newest first (plan_id, created, flood key, summary)."""
    t = tg_evac_plan
    query = select(t).order_by(desc(t.c.created)).limit(limit)
    if flood_key is not None:
        query = query.where(t.c.flood_key == flood_key)
    with bank.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return [_plan_row(r) for r in rows]


def _plan_row(r: dict[str, Any]) -> dict[str, Any]:
    created = r["created"]
    return {
        "plan_id": r["plan_id"],
        "created": created.isoformat() if hasattr(created, "isoformat") else created,
        "author": r["author"],
        "flood_key": r["flood_key"],
        "flood": r["scenario"],
        "params": r["params"],
        "inputs": r["inputs"],
        "summary": r["summary"],
        "timings": r["timings"],
        "routes_layer": r["routes_layer"],
        "routes_version": r["routes_version"],
    }


def _no_plan(flood_key: str | None) -> NotFoundError:
    what = f" for flood {flood_key!r}" if flood_key else ""
    what_id = f" untuk banjir {flood_key!r}" if flood_key else ""
    return NotFoundError(
        f"no evacuation plan{what}",
        where="tg_evac_plan",
        hint="compute one: `tangguh evacuate plan --flood LAYER` or POST /api/v1/evacuation/plan",
        message_id=f"belum ada rencana evakuasi{what_id}",
        hint_id="hitung dulu: `tangguh evacuate plan --flood LAPISAN` atau "
        "POST /api/v1/evacuation/plan",
    )


def latest_plan(bank: Bank, *, flood_key: str | None = None) -> dict[str, Any]:
    """The newest stored plan (optionally of one flood scenario key), with its rows.

    Raises
    ------
    NotFoundError
        When no plan is stored.
    """
    found = plans(bank, flood_key=flood_key, limit=1)
    if not found:
        raise _no_plan(flood_key)
    return load_plan(bank, found[0]["plan_id"])


def load_plan(bank: Bank, plan_id: str) -> dict[str, Any]:
    """One stored plan: its record plus ``rw`` and ``shelters`` rows.

    Raises
    ------
    NotFoundError
        When the plan does not exist.
    """
    with bank.connect() as conn:
        row = conn.execute(select(tg_evac_plan).where(tg_evac_plan.c.plan_id == plan_id)).mappings()
        rec = next(iter(row), None)
        if rec is None:
            raise NotFoundError(
                f"no evacuation plan {plan_id!r}",
                where="plan_id",
                hint="list plans with `tangguh evacuate plans` or GET /api/v1/evacuation/plan",
                message_id=f"tidak ada rencana evakuasi {plan_id!r}",
                hint_id="lihat daftar rencana dengan `tangguh evacuate plans` atau "
                "GET /api/v1/evacuation/plan",
            )
        data = _plan_row(dict(rec))
        rw = pd.DataFrame.from_records(
            [
                dict(r)
                for r in conn.execute(
                    select(tg_evac_rw)
                    .where(tg_evac_rw.c.plan_id == plan_id)
                    .order_by(tg_evac_rw.c.unit_id)
                ).mappings()
            ],
            columns=[c.name for c in tg_evac_rw.columns],
        )
        sh = pd.DataFrame.from_records(
            [
                dict(r)
                for r in conn.execute(
                    select(tg_evac_shelter)
                    .where(tg_evac_shelter.c.plan_id == plan_id)
                    .order_by(tg_evac_shelter.c.shelter_id)
                ).mappings()
            ],
            columns=[c.name for c in tg_evac_shelter.columns],
        )
    data["rw"] = frame_records(rw.drop(columns=["plan_id"], errors="ignore"))
    data["shelters"] = frame_records(sh.drop(columns=["plan_id"], errors="ignore"))
    return data


def plan_routes(bank: Bank, plan_id: str | None = None) -> gpd.GeoDataFrame:
    """Route lines of a stored plan (the newest when ``plan_id`` is None)."""
    rec = load_plan(bank, plan_id) if plan_id else latest_plan(bank)
    version = rec["routes_version"]
    if version is None:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    frame = bank.read_layer(ROUTES_LAYER, version=int(version), where={"plan_id": rec["plan_id"]})
    return frame.sort_values(["unit_id", "metres"]).reset_index(drop=True)


def plan_shortfall(bank: Bank, plan_id: str | None = None) -> pd.DataFrame:
    """RWs of a stored plan with people without a place, with the reason, worst first."""
    rec = load_plan(bank, plan_id) if plan_id else latest_plan(bank)
    rw = pd.DataFrame(rec["rw"])
    if rw.empty:
        return rw
    out = rw[rw["shortfall"] > 0].sort_values(["shortfall", "unit_id"], ascending=[False, True])
    out = out.reset_index(drop=True)
    out.attrs["plan_id"] = rec["plan_id"]
    return out
