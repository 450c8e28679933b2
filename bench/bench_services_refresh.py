"""A scheduled refresh run on the demo city (issue 6 §3, §6).

Builds the demo city (``--size small`` or ``full``) into a fresh GeoPackage bank and
configures one source: the TPS layer as a GeoJSON file. Then times in the same run:

- ``compute_coverage`` alone (the baseline: the indicators, nothing stored);
- a refresh run whose source changed (download-free file pull, read, checks, new layer
  version, indicators, snapshot stored in one transaction);
- a refresh run whose source did not change (checksum only, indicators, snapshot);
- the history queries on the stored snapshots: snapshot in force, changes since last
  month, one trend.

The ratio "refresh / coverage alone" is the overhead of pulling and storing.
Target (issue 6 §6): recomputing every coverage indicator for the full demo city
<= 30 s.

    python bench/bench_services_refresh.py [--size small|full]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "full"), default="small")
    args = parser.parse_args()

    from tangguh.bank import open_bank
    from tangguh.demo import build_city, load_city
    from tangguh.services import refresh as R
    from tangguh.services.coverage import compute_coverage

    tmp = Path(tempfile.mkdtemp(prefix="bench_svc_"))
    t = time.perf_counter()
    city = build_city(args.size)
    with open_bank(str(tmp / "bank.gpkg")) as bank:
        load_city(bank, city)
        print(f"demo city {args.size}: built and loaded in {time.perf_counter() - t:.1f} s")
        tps = bank.read_layer("tps").drop(columns=["unit_id"])
        data = tmp / "tps.geojson"
        data.write_bytes(tps.to_json(drop_id=True).encode())
        text = f'[sources.tps]\npath = "{data}"\nlayer = "tps"\nkind = "tps"\nschedule = "1d"\n'
        R.add_sources(bank, R.parse_sources(text))
        t0 = datetime(2024, 1, 1, tzinfo=UTC)

        t = time.perf_counter()
        baseline = compute_coverage(bank, at=t0)
        base_s = time.perf_counter() - t
        rows = len(baseline.table)
        print(f"compute_coverage alone: {base_s:.2f} s ({rows:,} values)")

        t = time.perf_counter()
        changed = R.refresh(bank, now=t0)
        changed_s = time.perf_counter() - t
        print(
            f"refresh, source changed: {changed_s:.2f} s  status {changed.status}, "
            f"{changed.features_read} features read, {changed.snapshot_rows:,} snapshot rows, "
            f"steps {changed.timings}  ratio vs coverage alone {changed_s / base_s:.2f}"
        )
        t = time.perf_counter()
        same = R.refresh(bank, now=t0 + timedelta(days=35))
        same_s = time.perf_counter() - t
        print(
            f"refresh, source unchanged: {same_s:.2f} s  status {same.status}, "
            f"layers changed {same.layers_changed}, steps {same.timings}  "
            f"ratio vs coverage alone {same_s / base_s:.2f}"
        )
        t = time.perf_counter()
        snap = R.snapshot_at(bank, t0 + timedelta(days=1))
        diff = R.changes(bank)
        unit = baseline.table["unit_id"].iloc[0]
        series = R.trend(bank, unit, baseline.table["indicator"].iloc[0])
        q_s = time.perf_counter() - t
        assert snap is not None and diff is not None
        print(
            f"history queries (snapshot in force, changes since last month, one trend): "
            f"{q_s * 1000:.0f} ms ({len(snap.table):,} rows, {len(diff.table):,} changes, "
            f"{len(series)} points)"
        )
        verdict = "meets" if changed_s <= 30 else "MISSES"
        print(f"target: a refresh run <= 30 s on the demo city: {verdict} ({changed_s:.2f} s)")


if __name__ == "__main__":
    main()
