"""Depth raster x population raster per RW: tangguh cross_tab vs bare exactextract.

Data (real, from ../shared/data/jakarta): the HKV 2007 flood depth grid and the HKV
population density grid (638 x 649 cells of ~50 m, people per 0.1 km²), and the
2,685 RW polygons of admin-inasafe-2012.

* tangguh: ``cross_tab(depth, population, rw, hazard_bins=[0.1, 0.5, 1, inf],
  density=True, density_unit_km2=0.1)``: people per RW in each depth bin, plus the
  people outside the bins, without hazard data and in all (density converted to
  counts with the geodesic cell area).
* baseline, same run: one bare ``exactextract.exact_extract(depth, rw, ["weighted_sum",
  "weighted_mean"], weights=population, output="pandas")`` on the same files (the
  population-weighted depth per RW: one pass over both rasters, no bins, no density
  conversion), with exactextract's default strategy (feature-sequential) and with
  raster-sequential. The ratio is taken against the faster of the two.

Each measurement runs in a fresh process (best of N); it includes reading the rasters,
not reading the RW file. Target (issue 3): within 1.3x bare exactextract.

    python bench/bench_zonal.py [--runs 3]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import best_of

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "jakarta"
HKV = SHARED / "flood-inasafe-2007-hkv"
DEPTH = HKV / "Flood_Current_Depth_Jakarta_geographic.asc"
POPULATION = HKV / "Population_Jakarta_geographic.asc"
RW = SHARED / "admin-inasafe-2012" / "geojson" / "rw_jakarta.geojson"
BINS = [0.1, 0.5, 1.0, math.inf]


def bare(rw: gpd.GeoDataFrame, strategy: str) -> Any:
    from exactextract import exact_extract

    out = exact_extract(
        str(DEPTH),
        rw,
        ["weighted_sum", "weighted_mean"],
        weights=str(POPULATION),
        include_cols=["OBJECTID"],
        strategy=strategy,
        output="pandas",
    )
    return len(out)


def ours(rw: gpd.GeoDataFrame) -> Any:
    from tangguh.risk.zonal import cross_tab

    out = cross_tab(
        DEPTH,
        POPULATION,
        rw,
        zone_field="OBJECTID",
        hazard_bins=BINS,
        density=True,
        density_unit_km2=0.1,
    )
    flooded = out[["0.1-0.5", "0.5-1", "1-inf"]].sum().sum()
    return len(out), float(flooded), float(out["total"].sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for path in (DEPTH, POPULATION, RW):
        if not path.exists():
            print(f"shared data not found: {path}", file=sys.stderr)
            return 2
    rw = gpd.read_file(RW)
    # Warm-up (imports, GDAL driver registration, file cache) outside the timings.
    ours(rw.iloc[:5])
    bare(rw.iloc[:5], "feature-sequential")

    t_fs, mem_fs, n_fs = best_of(args.runs, bare, rw, "feature-sequential")
    t_rs, mem_rs, _ = best_of(args.runs, bare, rw, "raster-sequential")
    t_ours, mem_ours, (n, flooded, total) = best_of(args.runs, ours, rw)
    base = min(t_fs, t_rs)
    print(f"RW: {len(rw):,} (rows out: bare {n_fs:,}, tangguh {n:,}); grid 638 x 649")
    print(f"bare exactextract, feature-sequential: {t_fs:6.2f} s  peak {mem_fs:6.0f} MiB")
    print(f"bare exactextract, raster-sequential:  {t_rs:6.2f} s  peak {mem_rs:6.0f} MiB")
    print(f"tangguh cross_tab (4 bins + density):  {t_ours:6.2f} s  peak {mem_ours:6.0f} MiB")
    print(f"people in RW: {total:,.0f}; in water >= 10 cm: {flooded:,.0f}")
    print(f"ratio tangguh/bare (faster strategy): {t_ours / base:.2f}x (target <= 1.3x)")
    print(f"ratio tangguh/bare (default strategy): {t_ours / t_fs:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
