"""Point-in-unit lookup: 1,000,000 points against ~2,700 RW, at every admin level.

Units: the real Jakarta RW hierarchy (2,685 RW) from ../shared/data when present, else
the full demo city (~2,700 RW). Baseline, same run: a bare shapely STRtree
``query(points, predicate="intersects")`` on the RW polygons (finest level only, no
parents). Prints points/s of both and the ratio.

    python bench/bench_lookup.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely


def load_units() -> tuple[str, object]:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "jakarta"
    if shared.exists():
        from tangguh.io.jakarta import admin_units_from_inasafe

        units, _ = admin_units_from_inasafe(shared / "admin-inasafe-2012")
        return "real Jakarta (admin-inasafe-2012)", units
    from tangguh.demo import build_city

    return "full demo city", build_city("full", seed=0).layers["admin_units"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    from tangguh.admin import lookup_points

    label, units = load_units()
    rw = units[units["level"] == "rw"]  # type: ignore[index]
    minx, miny, maxx, maxy = rw.total_bounds
    rng = np.random.default_rng(0)
    xy = np.column_stack([rng.uniform(minx, maxx, args.n), rng.uniform(miny, maxy, args.n)])
    points = shapely.points(xy)

    start = time.perf_counter()
    tree = shapely.STRtree(rw.geometry.to_numpy())
    pairs = tree.query(points, predicate="intersects")
    base = time.perf_counter() - start

    lookup_points(units, xy[:1000])  # warm-up (imports)
    start = time.perf_counter()
    found = lookup_points(units, xy)
    ours = time.perf_counter() - start

    inside = found["rw"].notna().sum()
    print(
        f"units: {label}, {len(rw):,} RW; points: {args.n:,} ({inside:,} inside an RW; "
        f"baseline pairs {pairs.shape[1]:,})"
    )
    print(
        f"baseline shapely STRtree.query (RW only):   {base:6.2f} s  "
        f"{args.n / base:12,.0f} points/s"
    )
    print(
        f"tangguh lookup_points (all 5 levels):       {ours:6.2f} s  "
        f"{args.n / ours:12,.0f} points/s"
    )
    print(f"ratio tangguh/baseline: {ours / base:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
