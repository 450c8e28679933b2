"""The admin-unit hierarchy as pure functions on (Geo)DataFrames.

The ``admin_units`` frame (one GeoDataFrame in EPSG:4326, lon/lat degrees) has the
columns of :data:`UNIT_COLUMNS`: ``unit_id`` (``"<level>:<code or slug>"``), ``level``
(one of :data:`LEVELS`), ``name``, ``name_norm``, ``parent_id`` (``None`` at the top),
``code_bps``, ``code_kemendagri``, ``population``, ``households``, ``pop_year``,
``pop_source`` and ``geometry`` (MultiPolygon). The bank stores it as a layer; the
functions here build it (:func:`units_from_frames`), walk it (:func:`ancestors`,
:func:`rollup`, :func:`children`, :func:`tree`) and query it (:func:`lookup_points`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from tangguh._spatial import points_in_polygons
from tangguh.admin._link import LinkReport, _link_frames
from tangguh.errors import InputError, NotFoundError

__all__ = [
    "LEVELS",
    "LEVEL_RANK",
    "UNIT_COLUMNS",
    "LinkReport",
    "ancestors",
    "children",
    "lookup_points",
    "rollup",
    "tree",
    "units_from_frames",
]

#: Admin levels from the top down.
LEVELS: tuple[str, ...] = ("province", "kota", "kecamatan", "kelurahan", "rw", "rt")
#: Rank of each level: province 1 ... rt 6 (as in the bank's ``tg_admin_level``).
LEVEL_RANK: dict[str, int] = {level: i + 1 for i, level in enumerate(LEVELS)}
#: Columns of the admin_units layer, in order.
UNIT_COLUMNS: tuple[str, ...] = (
    "unit_id",
    "level",
    "name",
    "name_norm",
    "parent_id",
    "code_bps",
    "code_kemendagri",
    "population",
    "households",
    "pop_year",
    "pop_source",
    "geometry",
)

How = Literal["sum", "mean", "min", "max", "count"]


def _check_level(level: str) -> str:
    if level not in LEVEL_RANK:
        raise InputError(
            f"unknown admin level {level!r}",
            where="level",
            hint=f"use one of {', '.join(LEVELS)}",
            message_id=f"tingkat wilayah {level!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {', '.join(LEVELS)}",
        )
    return level


def units_from_frames(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    name_fields: Mapping[str, str],
    code_fields: Mapping[str, str] | None = None,
    parent_name_fields: Mapping[str, str] | None = None,
    source: str,
) -> tuple[gpd.GeoDataFrame, LinkReport]:
    """Build the admin_units frame from one polygon frame per level.

    Each unit is linked to a unit of the next level up present in ``frames`` by
    spatial containment of its representative point (``shapely.point_on_surface``,
    queried in an STRtree of the parent polygons). Points on a shared boundary or in
    overlapping parents pick the parent whose name agrees with the parent-name field,
    else the lowest ``unit_id``. A unit whose point is in no parent is linked by the
    parent-name field when that names exactly one parent, else left without parent;
    both cases are reported. Invalid geometries are repaired (``shapely.make_valid``,
    polygonal parts kept) and reported.

    Parameters
    ----------
    frames:
        Level -> polygon GeoDataFrame (any CRS; reprojected to EPSG:4326).
    name_fields:
        Level -> column holding the unit's name (RW: the RW label).
    code_fields:
        Level -> column holding a BPS or Kemendagri code. The unit_id is then
        ``"<level>:<code>"``; otherwise a slug of the parent's slug and the name.
    parent_name_fields:
        Level -> column holding the parent's name, used to cross-check (and, for units
        outside every parent polygon, to link) the spatial parent.
    source:
        Short description of where the frames came from, kept in the report.

    Returns
    -------
    tuple[geopandas.GeoDataFrame, LinkReport]
        The units (columns :data:`UNIT_COLUMNS`, EPSG:4326) and what linking found.
    """
    for level in frames:
        _check_level(level)
        if level not in name_fields:
            raise InputError(
                f"no name field given for level {level!r}",
                where="name_fields",
                hint="pass name_fields={level: column} for every frame",
                message_id=f"tidak ada kolom nama untuk tingkat {level!r}",
                hint_id="berikan name_fields={level: kolom} untuk setiap kerangka data",
            )
    return _link_frames(
        frames,
        [lev for lev in LEVELS if lev in frames],
        name_fields,
        code_fields or {},
        parent_name_fields or {},
        source,
        UNIT_COLUMNS,
    )


def _validate_units(units: pd.DataFrame) -> None:
    missing = {"unit_id", "level", "parent_id"} - set(units.columns)
    if missing:
        raise InputError(
            f"admin units frame lacks columns {sorted(missing)}",
            where="units",
            hint="pass the frame returned by units_from_frames or read from the admin_units layer",
            message_id=f"kerangka unit wilayah tidak memiliki kolom {sorted(missing)}",
            hint_id="berikan kerangka hasil units_from_frames atau yang dibaca dari lapisan "
            "admin_units",
        )
    dup = units["unit_id"].duplicated()
    if dup.any():
        raise InputError(
            f"{int(dup.sum())} duplicate unit_id values, e.g. {units['unit_id'][dup].iloc[0]!r}",
            where="units.unit_id",
            hint="unit ids must be unique",
            message_id=f"{int(dup.sum())} nilai unit_id ganda, mis. "
            f"{units['unit_id'][dup].iloc[0]!r}",
            hint_id="unit_id harus unik",
        )
    bad = set(units["level"].unique()) - set(LEVEL_RANK)
    if bad:
        raise InputError(
            f"unknown levels {sorted(map(str, bad))}",
            where="units.level",
            message_id=f"tingkat tidak dikenal: {sorted(map(str, bad))}",
        )


def ancestors(units: pd.DataFrame) -> pd.DataFrame:
    """The ancestor of every unit at every level, by walking ``parent_id``.

    Built once, top-down (one vectorised step per level), so roll-ups and point
    lookups need no per-unit loops.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``, one column per level present in ``units`` (top-down);
        a unit's own level holds its own id, levels below it and missing links are NA.

    Raises
    ------
    InputError
        On duplicate ids or a parent that is not at a higher level than its child.
    """
    _validate_units(units)
    present = [lev for lev in LEVELS if lev in set(units["level"])]
    ids = units["unit_id"].astype(object).to_numpy()
    levels = units["level"].to_numpy()
    parents = units["parent_id"].astype(object).where(units["parent_id"].notna(), None)
    rank_of = dict(zip(ids, (LEVEL_RANK[str(v)] for v in levels), strict=True))
    anc = pd.DataFrame(None, index=pd.Index(ids, name="unit_id"), columns=present, dtype=object)
    for level in present:
        mask = levels == level
        rows = ids[mask]
        par = parents.to_numpy()[mask]
        known = np.array([p is not None and p in rank_of for p in par], dtype=bool)
        wrong = [
            (c, p)
            for c, p in zip(rows[known], par[known], strict=True)
            if rank_of[p] >= LEVEL_RANK[level]
        ]
        if wrong:
            raise InputError(
                f"parent of {wrong[0][0]!r} is {wrong[0][1]!r}, not at a higher level "
                f"({len(wrong)} such units)",
                where="units.parent_id",
                hint="parent_id must point to a unit of a higher level",
                message_id=f"induk dari {wrong[0][0]!r} adalah {wrong[0][1]!r}, bukan unit pada "
                "tingkat yang lebih tinggi "
                f"({len(wrong)} unit seperti ini)",
                hint_id="parent_id harus menunjuk ke unit pada tingkat yang lebih tinggi",
            )
        if known.any():
            anc.loc[rows[known], :] = anc.loc[par[known], :].to_numpy()
        anc.loc[rows, level] = rows
    return anc


def rollup(
    units: pd.DataFrame,
    values: pd.Series,
    *,
    to_level: str,
    how: How = "sum",
    from_level: str | None = None,
) -> pd.Series:
    """Aggregate a numeric attribute from one level up to a higher level.

    Parameters
    ----------
    units:
        The admin_units frame (``unit_id``, ``level``, ``parent_id``).
    values:
        Values indexed by ``unit_id``, all at one level (the source level).
    to_level:
        The level to aggregate to (higher than, or equal to, the source level).
    how:
        ``"sum"``, ``"mean"``, ``"min"``, ``"max"`` or ``"count"`` (number of children
        with a value).
    from_level:
        The source level; needed only when ``values`` is empty.

    Returns
    -------
    pandas.Series
        Indexed by the ``unit_id`` of every unit at ``to_level`` (named by the value
        series). A unit with no child value is NA (0 for ``"count"``). ``attrs`` tells
        what was left out: ``missing`` (to_level unit_id -> number of source-level
        units without a value), ``missing_total``, ``unlinked`` (source units with no
        ancestor at ``to_level``), ``from_level``, ``to_level`` and ``how``.
    """
    _check_level(to_level)
    if how not in ("sum", "mean", "min", "max", "count"):
        raise InputError(
            f"unknown aggregation {how!r}",
            hint="use sum, mean, min, max or count",
            message_id=f"agregasi {how!r} tidak dikenal",
            hint_id="gunakan sum, mean, min, max atau count",
        )
    anc = ancestors(units)
    unknown = values.index.difference(anc.index)
    if len(unknown):
        raise InputError(
            f"{len(unknown)} value ids are not admin units, e.g. {unknown[0]!r}",
            where="values.index",
            hint="index the values by unit_id of the admin_units frame",
            message_id=f"{len(unknown)} id nilai bukan unit wilayah, mis. {unknown[0]!r}",
            hint_id="beri indeks nilai dengan unit_id dari kerangka admin_units",
        )
    level_of = units.set_index("unit_id")["level"]
    src_levels = set(level_of.loc[values.index].astype(str))
    if from_level is None:
        if len(src_levels) != 1:
            raise InputError(
                f"values must be at exactly one level, got {sorted(src_levels) or 'none'}",
                where="values",
                hint="pass from_level= for an empty series; roll up one level at a time",
                message_id="nilai harus berada tepat pada satu tingkat, yang diterima "
                f"{sorted(src_levels) or 'tidak ada'}",
                hint_id="berikan from_level= untuk seri kosong; naikkan satu tingkat setiap kali",
            )
        from_level = src_levels.pop()
    elif src_levels - {from_level}:
        raise InputError(
            f"values include units not at level {from_level!r}",
            where="values",
            message_id=f"nilai mencakup unit yang tidak berada pada tingkat {from_level!r}",
        )
    _check_level(from_level)
    if LEVEL_RANK[to_level] > LEVEL_RANK[from_level]:
        raise InputError(
            f"cannot roll {from_level} values down to {to_level}",
            hint="to_level must be the same as or above the values' level",
            message_id=f"nilai {from_level} tidak dapat diturunkan ke {to_level}",
            hint_id="to_level harus sama dengan atau di atas tingkat nilai tersebut",
        )
    if to_level not in anc.columns:
        raise InputError(
            f"no units at level {to_level!r}",
            where="units",
            message_id=f"tidak ada unit pada tingkat {to_level!r}",
        )
    src_ids = level_of.index[level_of == from_level]
    vals = pd.to_numeric(values.reindex(src_ids), errors="raise")
    target = anc.loc[src_ids, to_level]
    frame = pd.DataFrame({"target": target.to_numpy(), "value": vals.to_numpy()}, index=src_ids)
    unlinked = frame.index[frame["target"].isna()].tolist()
    linked = frame[frame["target"].notna()]
    has_value = linked["value"].notna()
    agg = linked[has_value].groupby("target")["value"].agg(how)
    targets = level_of.index[level_of == to_level]
    result = agg.reindex(targets)
    if how == "count":
        result = result.fillna(0).astype("int64")
    result.index.name = "unit_id"
    result.name = values.name
    missing = linked[~has_value].groupby("target").size()
    result.attrs = {
        "missing": {str(k): int(v) for k, v in missing.items()},
        "missing_total": int((~has_value).sum()),
        "unlinked": [str(u) for u in unlinked],
        "from_level": from_level,
        "to_level": to_level,
        "how": how,
    }
    return result


def _points_xy(points: Any) -> tuple[NDArray[Any], NDArray[Any], pd.Index]:
    """lon, lat arrays (NaN for missing or empty points) and the index of ``points``."""
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is not None and not points.crs.equals("EPSG:4326"):
            points = points.to_crs("EPSG:4326")
        geoms = np.asarray(points.values, dtype=object)
        return shapely.get_x(geoms), shapely.get_y(geoms), points.index
    arr = np.asarray(points, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InputError(
            f"points must be a GeoSeries/GeoDataFrame or an (n, 2) array, got shape {arr.shape}",
            where="points",
            hint="pass lon/lat pairs in EPSG:4326",
            message_id="points harus GeoSeries/GeoDataFrame atau larik (n, 2), bentuk yang "
            f"diterima {arr.shape}",
            hint_id="berikan pasangan lon/lat dalam EPSG:4326",
        )
    return arr[:, 0].copy(), arr[:, 1].copy(), pd.RangeIndex(len(arr))


def lookup_points(
    units: gpd.GeoDataFrame,
    points: gpd.GeoSeries | gpd.GeoDataFrame | NDArray[Any] | Sequence[tuple[float, float]],
    *,
    levels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The unit containing each point, at every requested level.

    The finest requested level is queried once (a grid join with ``intersects_xy`` on
    prepared polygons, see :mod:`tangguh._spatial`, so boundary points count) and the
    coarser levels are filled from :func:`ancestors`, which keeps the answer consistent
    with the hierarchy.
    Only the points found in no unit of the finest level (gaps in e.g. the RW layer)
    are queried again at the next level up. A point on a boundary shared by several
    units takes the lowest ``unit_id``.

    Parameters
    ----------
    units:
        The admin_units GeoDataFrame (EPSG:4326).
    points:
        Points as a GeoSeries/GeoDataFrame (reprojected to EPSG:4326 when it has another
        CRS) or an ``(n, 2)`` array of lon/lat.
    levels:
        Levels to return (default: every level present in ``units``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``, one column of ``unit_id`` per level (NA outside).
    """
    _validate_units(units)
    present = [lev for lev in LEVELS if lev in set(units["level"])]
    wanted = present if levels is None else [_check_level(lev) for lev in levels]
    absent = [lev for lev in wanted if lev not in present]
    if absent:
        raise InputError(
            f"no units at levels {absent}",
            where="levels",
            message_id=f"tidak ada unit pada tingkat {absent}",
        )
    wanted = sorted(wanted, key=LEVEL_RANK.__getitem__)
    xs, ys, index = _points_xy(points)
    anc = ancestors(units)[wanted]
    anc_index, anc_values = anc.index, anc.to_numpy(dtype=object, copy=True)
    anc_values[pd.isna(anc_values)] = None
    out = np.full((len(xs), len(wanted)), None, dtype=object)
    todo = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))

    def locate(depth: int, rows: NDArray[np.intp]) -> NDArray[np.intp]:
        """Fill ``out`` for the points ``rows`` found at ``wanted[depth]``; return the rest."""
        layer = units[units["level"] == wanted[depth]]
        layer = layer[~(layer.geometry.isna() | layer.geometry.is_empty)].sort_values("unit_id")
        pieces, owner = _subdivide(np.asarray(layer.geometry.values, dtype=object))
        pt, piece = points_in_polygons(xs[rows], ys[rows], pieces, predicate="intersects")
        if pt.size == 0:
            return rows
        poly = owner[piece]  # position in ``layer``: lowest position = lowest unit_id
        order = np.lexsort((poly, pt))
        first_pt, first = np.unique(pt[order], return_index=True)
        hit_units = layer["unit_id"].to_numpy()[poly[order][first]]
        pos = anc_index.get_indexer(hit_units)
        out[rows[first_pt], : depth + 1] = anc_values[pos, : depth + 1]
        return np.delete(rows, first_pt)

    finest = len(wanted) - 1
    if todo.size:
        todo = locate(finest, todo)
    if todo.size and finest > 0:
        # Most points missed by the finest level are outside the whole area: drop them
        # with one query of the top level, then look for gaps level by level upwards.
        outside = locate(0, todo)
        rest = np.setdiff1d(todo, outside)
        for depth in range(finest - 1, 0, -1):
            if rest.size == 0:
                break
            rest = locate(depth, rest)
    return pd.DataFrame(out, index=index, columns=wanted, dtype=object)


def _subdivide(
    geoms: NDArray[Any], cell: float = 0.01, max_coords: int = 256
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Cut polygons with more than ``max_coords`` vertices along a grid of ``cell`` degrees.

    Like PostGIS ``ST_Subdivide``: small pieces have tight bounding boxes, so the
    STRtree rejects most points without a point-in-polygon test. Returns the pieces
    and, for each, the position of the polygon it came from.
    """
    sizes = shapely.get_num_coordinates(geoms)
    big = np.flatnonzero(sizes > max_coords)
    small = np.flatnonzero(sizes <= max_coords)
    if big.size == 0:
        return geoms, np.arange(len(geoms))
    x0, y0, x1, y1 = shapely.total_bounds(geoms[big])
    xs = np.arange(x0, x1 + cell, cell)
    ys = np.arange(y0, y1 + cell, cell)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell, gy.ravel() + cell)
    gi, ci = shapely.STRtree(cells).query(geoms[big], predicate="intersects")
    pieces = shapely.intersection(geoms[big][gi], cells[ci])
    keep = ~shapely.is_empty(pieces)
    return (
        np.concatenate([geoms[small], pieces[keep]]),
        np.concatenate([small, big[gi[keep]]]),
    )


def children(units: pd.DataFrame, unit_id: str) -> pd.DataFrame:
    """The units whose parent is ``unit_id`` (ordered by ``unit_id``).

    Raises
    ------
    NotFoundError
        When ``unit_id`` is not in ``units``.
    """
    if not (units["unit_id"] == unit_id).any():
        raise NotFoundError(
            f"no admin unit {unit_id!r}",
            where="unit_id",
            message_id=f"tidak ada unit wilayah {unit_id!r}",
        )
    return units[units["parent_id"] == unit_id].sort_values("unit_id")


def tree(
    units: pd.DataFrame, root: str | None = None, max_level: str | None = None
) -> dict[str, Any]:
    """The hierarchy as nested dicts, for printing or JSON.

    Returns
    -------
    dict
        ``{unit_id: {"name": ..., "level": ..., "children": {...}}}`` starting at
        ``root`` (default: every unit without a parent), down to ``max_level``.
    """
    _validate_units(units)
    max_rank = LEVEL_RANK[_check_level(max_level)] if max_level else max(LEVEL_RANK.values())
    by_parent: dict[Any, list[tuple[str, str, str]]] = {}
    for uid, name, level, parent in zip(
        units["unit_id"], units["name"], units["level"], units["parent_id"], strict=True
    ):
        key = parent if isinstance(parent, str) else None
        by_parent.setdefault(key, []).append((str(uid), str(name), str(level)))

    def build(items: list[tuple[str, str, str]]) -> dict[str, Any]:
        node: dict[str, Any] = {}
        for uid, name, level in sorted(items):
            if LEVEL_RANK[level] > max_rank:
                continue
            node[uid] = {"name": name, "level": level, "children": build(by_parent.get(uid, []))}
        return node

    if root is None:
        return build(by_parent.get(None, []))
    row = units[units["unit_id"] == root]
    if row.empty:
        raise NotFoundError(
            f"no admin unit {root!r}", where="root", message_id=f"tidak ada unit wilayah {root!r}"
        )
    return build([(root, str(row["name"].iloc[0]), str(row["level"].iloc[0]))])
