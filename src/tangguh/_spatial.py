"""Point-in-polygon joins on coordinate arrays, without making point geometries.

Creating a million shapely points costs more than the join itself, and cached
representative points (``bank.layer_points``) are plain x/y arrays. This join bins the
points into a regular grid, pairs each polygon with the points of the cells its
bounding box covers (a spatial hash join, all in numpy), then tests the candidate
pairs with ``contains_xy``/``intersects_xy`` on prepared polygons.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["points_in_polygons"]

#: Above this many candidate pairs the grid would be too coarse: use an STRtree instead.
_MAX_PAIRS = 20_000_000


def points_in_polygons(
    x: NDArray[np.floating[Any]],
    y: NDArray[np.floating[Any]],
    polygons: NDArray[np.object_],
    *,
    predicate: Literal["contains", "intersects"] = "contains",
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Pairs ``(point index, polygon index)`` where the polygon contains the point.

    ``predicate="contains"`` leaves points on a boundary out (as ``within``);
    ``"intersects"`` counts them. Missing coordinates (NaN) and missing or empty
    polygons never match.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    polygons = np.asarray(polygons, dtype=object)
    empty: tuple[NDArray[np.intp], NDArray[np.intp]] = (
        np.empty(0, dtype=np.intp),
        np.empty(0, dtype=np.intp),
    )
    ok_pt = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    bounds = shapely.bounds(polygons)
    ok_poly = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    if ok_pt.size == 0 or ok_poly.size == 0:
        return empty
    px, py = x[ok_pt], y[ok_pt]
    b = bounds[ok_poly]
    x0, y0 = min(px.min(), b[:, 0].min()), min(py.min(), b[:, 1].min())
    x1, y1 = max(px.max(), b[:, 2].max()), max(py.max(), b[:, 3].max())
    # Cell: half the median polygon size (few wasted candidates, few cells per polygon),
    # but no finer than ~4 points per cell.
    size = np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])) / 2
    span = max(x1 - x0, y1 - y0, 1e-12)
    cell = max(float(size), span / max(np.sqrt(len(px) / 4), 1.0), span / 4096)
    ny = int((y1 - y0) / cell) + 1
    # Points sorted by cell; start/end of each cell's run.
    pcell = ((px - x0) // cell).astype(np.int64) * ny + ((py - y0) // cell).astype(np.int64)
    order = np.argsort(pcell, kind="stable")
    sorted_cells = pcell[order]
    # Cells covered by each polygon's bounding box.
    cx0 = ((b[:, 0] - x0) // cell).astype(np.int64)
    cx1 = ((b[:, 2] - x0) // cell).astype(np.int64)
    cy0 = ((b[:, 1] - y0) // cell).astype(np.int64)
    cy1 = ((b[:, 3] - y0) // cell).astype(np.int64)
    wx, wy = cx1 - cx0 + 1, cy1 - cy0 + 1
    ncells = wx * wy
    if int(ncells.sum()) > _MAX_PAIRS:
        return _strtree(px, py, ok_pt, polygons, ok_poly, predicate)
    poly_of = np.repeat(np.arange(len(b)), ncells)
    k = np.arange(len(poly_of)) - np.repeat(np.cumsum(ncells) - ncells, ncells)
    cells = (cx0[poly_of] + k // wy[poly_of]) * ny + (cy0[poly_of] + k % wy[poly_of])
    start = np.searchsorted(sorted_cells, cells, side="left")
    stop = np.searchsorted(sorted_cells, cells, side="right")
    counts = stop - start
    total = int(counts.sum())
    if total == 0:
        return empty
    if total > _MAX_PAIRS:
        return _strtree(px, py, ok_pt, polygons, ok_poly, predicate)
    pair_poly = np.repeat(poly_of, counts)
    # Position of each pair in the sorted points: its cell's start + its rank in the run.
    first = np.cumsum(counts) - counts
    pos = np.arange(total, dtype=np.int64)
    pos += np.repeat(start - first, counts)
    pair_pt = order[pos]
    # Exact bounding-box filter, then the exact test on prepared polygons.
    qx, qy = px[pair_pt], py[pair_pt]
    inbox = (
        (qx >= b[pair_poly, 0])
        & (qx <= b[pair_poly, 2])
        & (qy >= b[pair_poly, 1])
        & (qy <= b[pair_poly, 3])
    )
    pair_pt, pair_poly, qx, qy = pair_pt[inbox], pair_poly[inbox], qx[inbox], qy[inbox]
    geoms = polygons[ok_poly]
    shapely.prepare(geoms)
    test = shapely.contains_xy if predicate == "contains" else shapely.intersects_xy
    hit = test(geoms[pair_poly], qx, qy)
    return ok_pt[pair_pt[hit]], ok_poly[pair_poly[hit]]


def _test(
    px: NDArray[Any],
    py: NDArray[Any],
    ok_pt: NDArray[np.intp],
    polygons: NDArray[np.object_],
    ok_poly: NDArray[np.intp],
    pair_pt: NDArray[np.intp],
    pair_poly: NDArray[np.intp],
    predicate: str,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    geoms = polygons[ok_poly]
    shapely.prepare(geoms)
    test = shapely.contains_xy if predicate == "contains" else shapely.intersects_xy
    hit = test(geoms[pair_poly], px[pair_pt], py[pair_pt])
    return ok_pt[pair_pt[hit]], ok_poly[pair_poly[hit]]


def _strtree(
    px: NDArray[Any],
    py: NDArray[Any],
    ok_pt: NDArray[np.intp],
    polygons: NDArray[np.object_],
    ok_poly: NDArray[np.intp],
    predicate: str,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Fallback for very uneven polygon sizes: STRtree bounding-box candidates."""
    pt, poly = shapely.STRtree(polygons[ok_poly]).query(shapely.points(px, py))
    return _test(px, py, ok_pt, polygons, ok_poly, pt, poly, predicate)
