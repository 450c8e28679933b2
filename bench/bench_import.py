"""Import 1,000,000 polygons into the embedded bank vs pyogrio read + plain GeoPackage write.

Target (issue 2): Tangguh's import (read, validate, reproject, write a versioned,
R-tree-indexed GeoPackage layer with its catalogue entry) within 1.5x the time pyogrio
alone takes to read the same file and write a plain GeoPackage (Arrow path, GDAL's own
R-tree). Both run in fresh processes, best of N, in the same run.

    python bench/bench_import.py [--n 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import best_of, measure


def make_source(path: Path, n: int, seed: int = 1) -> None:
    """n small building-like rectangles over Jakarta with a few attributes (a GeoPackage)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(106.69, 106.97, n)
    y = rng.uniform(-6.37, -6.09, n)
    w = rng.uniform(0.00007, 0.0002, n)
    h = rng.uniform(0.00007, 0.0002, n)
    frame = gpd.GeoDataFrame(
        {
            "building": rng.choice(["residential", "commercial", "school", "yes"], n),
            "levels": rng.integers(1, 12, n),
            "height": rng.uniform(3, 40, n).round(1),
        },
        geometry=shapely.box(x, y, x + w, y + h),
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(frame, path, layer="buildings", use_arrow=True)


def baseline(src: Path, out: Path) -> int:
    meta, table = pyogrio.read_arrow(src)
    pyogrio.write_arrow(
        table,
        out,
        layer="buildings",
        driver="GPKG",
        geometry_name=meta["geometry_name"] or "geom",
        geometry_type=meta["geometry_type"],
        crs=meta["crs"],
    )
    return int(table.num_rows)


def baseline_frames(src: Path, out: Path) -> int:
    """pyogrio's everyday API: read_dataframe + write_dataframe (GeoDataFrame in between)."""
    frame = pyogrio.read_dataframe(src, use_arrow=True)
    pyogrio.write_dataframe(frame, out, layer="buildings", driver="GPKG", use_arrow=True)
    return len(frame)


def tangguh_import(src: Path, bank_path: Path) -> int:
    from tangguh.bank import LayerMeta, open_bank
    from tangguh.io import read_vector

    frame, _report = read_vector(src)
    with open_bank(bank_path) as bank:
        info = bank.write_layer("buildings", frame, LayerMeta(theme="exposure"))
    return info.feature_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / "source.gpkg"
        # In a child process: the million geometries it makes would otherwise stay in
        # this process's heap, which every measured (forked) run inherits copy-on-write.
        measure(make_source, src, args.n)
        runs = []
        for _ in range(args.runs):
            base = best_of(1, baseline, src, tmpdir / "plain.gpkg")
            frames = best_of(1, baseline_frames, src, tmpdir / "frames.gpkg")
            ours = best_of(1, tangguh_import, src, tmpdir / "bank.gpkg")
            runs.append((base, ours, frames))
            for out in tmpdir.iterdir():  # every run writes a new file, as the first did
                if out != src:
                    out.unlink()
        base_t = min(r[0][0] for r in runs)
        ours_t = min(r[1][0] for r in runs)
        frames_t = min(r[2][0] for r in runs)
        base_mem = min(r[0][1] for r in runs)
        ours_mem = min(r[1][1] for r in runs)
        print(f"polygons: {args.n:,}")
        print(
            f"baseline pyogrio read_arrow + write_arrow GPKG: {base_t:.2f} s, "
            f"peak {base_mem:.0f} MiB"
        )
        print(
            f"tangguh import (read_vector + write_layer):     {ours_t:.2f} s, "
            f"peak {ours_mem:.0f} MiB"
        )
        print(f"pyogrio read_dataframe + write_dataframe (GeoDataFrame path): {frames_t:.2f} s")
        print(f"ratio tangguh/baseline (Arrow path): {ours_t / base_t:.2f}x (target <= 1.5x)")
        print(f"ratio tangguh/GeoDataFrame path:     {ours_t / frames_t:.2f}x")


if __name__ == "__main__":
    main()
