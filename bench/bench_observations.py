"""Range queries over millions of observations in the embedded bank.

Loads N hourly readings (default 5,000,000: 60 stations x ~9.5 years) into a fresh
GeoPackage bank, then times range queries (one station, one day / one month) against a
baseline measured in the same run: numpy ``searchsorted`` on the same readings held
sorted in memory per station (the fastest bare way to cut a time range). Prints the
load rate and the query ratio.

    python bench/bench_observations.py [--n 5000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000_000)
    parser.add_argument("--stations", type=int, default=60)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    from tangguh.bank import open_bank

    per = args.n // args.stations
    t = pd.date_range("2016-01-01", periods=per, freq="h", tz="UTC")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp, open_bank(Path(tmp) / "obs.gpkg") as bank:
        ids = [f"g{i:03d}" for i in range(args.stations)]
        bank.write_stations(
            pd.DataFrame({"station_id": ids, "kind": "river_gauge", "lon": 106.8, "lat": -6.2})
        )
        start = time.perf_counter()
        memory: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for sid in ids:
            values = rng.normal(100, 20, per)
            bank.write_observations(
                pd.DataFrame(
                    {
                        "station_id": sid,
                        "parameter": "water_level",
                        "t": t,
                        "value": values,
                        "unit": "cm",
                    }
                )
            )
            memory[sid] = (t.as_unit("ns").asi8, values)
        load = time.perf_counter() - start
        print(
            f"observations: {per * args.stations:,} ({args.stations} stations); "
            f"load {load:.1f} s = {per * args.stations / load:,.0f} rows/s"
        )
        for label, span in (("1 day", pd.Timedelta("1D")), ("1 month", pd.Timedelta("31D"))):
            picks = rng.integers(0, per - int(span / pd.Timedelta("1h")), args.queries)
            stations = rng.choice(ids, args.queries)
            begin = time.perf_counter()
            rows = 0
            for sid, p in zip(stations, picks, strict=True):
                rows += len(bank.observations(str(sid), start=t[p], end=t[p] + span))
            ours = (time.perf_counter() - begin) / args.queries
            begin = time.perf_counter()
            base_rows = 0
            for sid, p in zip(stations, picks, strict=True):
                stamps, values = memory[str(sid)]
                lo = np.searchsorted(stamps, t[p].as_unit("ns").value)
                hi = np.searchsorted(stamps, (t[p] + span).as_unit("ns").value)
                frame = pd.DataFrame(
                    {"t": pd.to_datetime(stamps[lo:hi], utc=True), "value": values[lo:hi]}
                )
                base_rows += len(frame)
            base = (time.perf_counter() - begin) / args.queries
            assert rows == base_rows
            print(
                f"range query {label:8s}: tangguh {ours * 1000:7.2f} ms, in-memory numpy "
                f"{base * 1000:6.2f} ms, ratio {ours / base:6.1f}x"
            )


if __name__ == "__main__":
    main()
