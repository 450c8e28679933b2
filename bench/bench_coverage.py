"""Every coverage indicator for the full demo city (issue 6 §6).

Builds the full demo city (2,700 RW, 1,000,000 buildings, 1,200 TPS) and its synthetic
service layers (connections per RW, water sources, sewer areas, septic tanks,
desludging records, TPS schedules, incidents) into a GeoPackage bank, then times in
the same run:

- tangguh ``compute_coverage`` (all indicators: piped water, both JMP ladders, TPS
  access and collections per week, open incidents, access to hospitals, schools and
  markets; RW, kelurahan, kecamatan, kota; underserved list), reading everything from
  the bank;
- a plain geopandas baseline that does much less, on frames already in memory:
  building points ``sjoin`` RW, a KD-tree nearest distance to the TPS in UTM 48S and a
  ``groupby`` share of buildings within 500 m per RW.

Target: tangguh <= 30 s.

    python bench/bench_coverage.py [--bank PATH]   # an existing PATH is reused
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

LAYERS = {
    "admin_units": "unit_id",
    "buildings": "building_id",
    "tps": "tps_id",
    "water_service_zones": "zone_id",
    "hospitals": "hospital_id",
    "schools": "school_id",
    "markets": "market_id",
}


def build(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """Write the full demo city's layers and service layers into a new bank at ``path``."""
    from tangguh.bank import open_bank
    from tangguh.demo import build_city, layer_meta
    from tangguh.demo._services_data import build_service_layers
    from tangguh.services.importers import import_service_frame
    from tangguh.services.model import kind_for_layer

    city = build_city("full", seed=0)
    services = build_service_layers(city.layers, "full", np.random.default_rng([0, 11]))
    with open_bank(path) as bank:
        with bank.transaction():
            for lid, key in LAYERS.items():
                bank.write_layer(lid, city.layers[lid], layer_meta(lid, city), key=key)
        for lid, frame in services.items():
            kind = kind_for_layer(lid)
            assert kind is not None
            import_service_frame(bank, frame, kind.kind)
    return {lid: city.layers[lid] for lid in ("admin_units", "buildings", "tps")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bank", type=Path, default=None, help="bank file (reused if present)")
    args = parser.parse_args()
    from tangguh.bank import open_bank
    from tangguh.services.coverage import compute_coverage

    with tempfile.TemporaryDirectory() as tmp:
        path = args.bank or Path(tmp) / "coverage.gpkg"
        start = time.perf_counter()
        if path.exists():
            with open_bank(path) as bank:
                frames = {lid: bank.read_layer(lid) for lid in ("admin_units", "buildings", "tps")}
            print(f"reusing {path}: {time.perf_counter() - start:.1f} s to read frames")
        else:
            frames = build(path)
            print(f"setup (full demo city + service layers): {time.perf_counter() - start:.1f} s")

        runs = []
        with open_bank(path) as bank:
            for _ in range(2):
                t0 = time.perf_counter()
                result = compute_coverage(bank)
                runs.append(time.perf_counter() - t0)
        ours = min(runs)

        from scipy.spatial import cKDTree

        units, buildings, tps = frames["admin_units"], frames["buildings"], frames["tps"]
        rw = units[units["level"] == "rw"][["unit_id", "geometry"]]
        t0 = time.perf_counter()
        pts = gpd.GeoDataFrame(geometry=buildings.geometry.representative_point(), crs=4326)
        joined = gpd.sjoin(pts, rw, predicate="within")
        xy = joined.geometry.to_crs(32748)
        txy = tps.geometry.to_crs(32748)
        tree = cKDTree(np.column_stack([txy.x, txy.y]))
        dist, _ = tree.query(np.column_stack([xy.x, xy.y]), k=1)
        share = (dist <= 500).astype(float)
        per_rw = joined.assign(near=share).groupby("unit_id")["near"].mean()
        plain = time.perf_counter() - t0

        n_ind = result.table["indicator"].nunique()
        print(
            f"tangguh compute_coverage (all {n_ind} indicators x 4 levels, "
            f"{len(result.table):,} values, {len(result.underserved):,} underserved): "
            f"{ours:.2f} s (runs {', '.join(f'{r:.2f}' for r in runs)}); "
            f"steps { ({k: round(v, 2) for k, v in result.timings.items()}) }"
        )
        print(
            f"plain geopandas sjoin + KD-tree nearest TPS + groupby (one indicator): "
            f"{plain:.2f} s ({len(per_rw):,} RW)"
        )
        print(f"ratio tangguh/plain: {ours / plain:.2f}x; target tangguh <= 30 s")


if __name__ == "__main__":
    main()
