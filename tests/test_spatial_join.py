"""The grid point-in-polygon join answers exactly like shapely's STRtree predicate query."""

from __future__ import annotations

import numpy as np
import shapely

from tangguh._spatial import points_in_polygons


def _expected(x: np.ndarray, y: np.ndarray, polys: np.ndarray, predicate: str) -> set:
    tree = shapely.STRtree(polys)
    pt, poly = tree.query(shapely.points(x, y), predicate=predicate)
    return set(zip(pt.tolist(), poly.tolist(), strict=True))


def test_matches_strtree_on_mixed_sizes_boundaries_and_gaps() -> None:
    rng = np.random.default_rng(7)
    n = 50_000
    x = rng.uniform(0, 10, n)
    y = rng.uniform(0, 10, n)
    # Points exactly on grid lines: on shared polygon boundaries.
    x[:500] = np.round(x[:500])
    y[:500] = np.round(y[:500], 1)
    x[500:510] = np.nan
    cx, cy = rng.uniform(0, 10, 400), rng.uniform(0, 10, 400)
    blobs = shapely.buffer(shapely.points(cx, cy), rng.uniform(0.05, 0.6, 400), quad_segs=6)
    cells = np.array(
        [shapely.box(i, j / 10, i + 1, (j + 1) / 10) for i in range(10) for j in range(100)]
    )
    big = np.array([shapely.Polygon([(0, 0), (10, 0), (0, 10)]), None, shapely.Polygon()])
    polys = np.concatenate([blobs, cells, big])
    for predicate in ("contains", "intersects"):
        pt, poly = points_in_polygons(x, y, polys, predicate=predicate)  # type: ignore[arg-type]
        got = set(zip(pt.tolist(), poly.tolist(), strict=True))
        # STRtree tests predicate(point, polygon): "within" is "polygon contains point".
        assert got == _expected(x, y, polys, "within" if predicate == "contains" else predicate)
        assert len(got) == len(pt)
    nothing = points_in_polygons(np.array([20.0]), np.array([20.0]), polys)
    assert nothing[0].size == 0
