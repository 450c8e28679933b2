"""SDG 11.2.1 for every RW, end to end, against a bare scipy multi-source Dijkstra (issue 7 §8).

Builds the full demo city (2,700 RW, 1,000,000 buildings, ~51,000 road segments, 2,386
stops) into a GeoPackage bank (cached in the temp folder between runs; ``--rebuild``
makes it again), then times in one process:

- **cold preparation** (once per roads / buildings / admin layer versions, cached in
  the process afterwards): the walking network from the roads layer, the population
  points (1M buildings' cached representative points, floor areas, point-in-polygon
  into RW), snapping them onto the network;
- **warm, end to end from the bank** (what the 2x target is about): ``sdg_11_2_1(bank)``
  reads the layer versions (one catalogue query), takes the stops snapped once per
  (stops, roads) layer versions, runs the network distances (one Dijkstra for both
  capacity classes) and the population shares per RW, kelurahan, kecamatan and kota;
- **warm, stops as a frame**: ``sdg_11_2_1(bank, stops=frame)``, which classifies and
  snaps the stops afresh on every call (the what-if path of the flood cascade);
- **baseline**: bare ``scipy.sparse.csgraph.dijkstra(graph, indices=stop_nodes,
  min_only=True, limit=…)`` over the same network's CSR, from the node nearest to each
  stop: limit 1000 (all stops), limit 500 (all stops), and the two runs SDG needs
  without the handicap trick (low stops 500 m + high stops 1 km).

Each warm time is the median of ``--repeat`` runs. Target: end to end <= 2x the bare
Dijkstra with a 1 km limit. With the real data present (``../shared/data/jakarta``), the
same is timed on the real OSM roads, the real TransJakarta stops and rail stations and
the real kelurahan population.

    python bench/bench_sdg.py [--repeat 15] [--rebuild] [--no-real]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "jakarta"


def median_time(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls (after one warm-up call) and the last result."""
    out = func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def full_bank(rebuild: bool) -> Path:
    """The full demo city in a GeoPackage bank, built once and kept in the temp folder."""
    from tangguh.bank import open_bank
    from tangguh.demo import build_city, load_city

    path = Path(tempfile.gettempdir()) / "tangguh_bench_sdg_full.gpkg"
    if path.exists() and not rebuild:
        return path
    for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    t0 = time.perf_counter()
    tmp = path.with_suffix(".building.gpkg")
    tmp.unlink(missing_ok=True)
    with open_bank(tmp) as bank:
        load_city(bank, build_city("full", seed=0))
    tmp.rename(path)
    print(f"setup: full demo city written to {path} in {time.perf_counter() - t0:.1f} s")
    return path


def bare_dijkstra(net: Any, snap: Any, capacity: np.ndarray, repeat: int) -> dict[str, float]:
    """Median seconds of bare multi-source Dijkstra runs from the stops' nearest nodes."""
    from scipy.sparse.csgraph import dijkstra

    ok = snap.ok
    e = snap.edge[ok]
    near_u = snap.along[ok] <= net.edge_length[e] / 2
    nodes = np.where(near_u, net.edge_u[e], net.edge_v[e])
    cap = capacity[ok]
    every = np.unique(nodes)
    low = np.unique(nodes[cap == "low"])
    high = np.unique(nodes[cap == "high"])
    graph = net.graph

    def run(indices: np.ndarray, limit: float) -> Callable[[], Any]:
        return lambda: dijkstra(graph, directed=True, indices=indices, limit=limit, min_only=True)

    def two() -> Any:
        a = dijkstra(graph, directed=True, indices=low, limit=500.0, min_only=True)
        b = dijkstra(graph, directed=True, indices=high, limit=1000.0, min_only=True)
        return a, b

    out = {
        "limit_1000": median_time(run(every, 1000.0), repeat)[0],
        "limit_500": median_time(run(every, 500.0), repeat)[0],
        "two_runs": median_time(two, repeat)[0],
    }
    return out


def measure(bank: Any, repeat: int, label: str) -> None:
    """Cold preparation, warm runs and the bare baseline on one bank; print them."""
    from tangguh.connectivity import population as P
    from tangguh.connectivity.network import network_for
    from tangguh.connectivity.sdg import read_stops, sdg_11_2_1

    t0 = time.perf_counter()
    net = network_for(bank)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    points = P.population_points(bank)
    t_pts = time.perf_counter() - t0
    t0 = time.perf_counter()
    sp = P.snapped_population(bank, net)
    t_snap = time.perf_counter() - t0
    cold = t_net + t_pts + t_snap
    print(f"\n== {label} ==")
    s = net.summary()
    print(
        f"network: {s['nodes']:,} nodes, {s['edges']:,} edges, {s['length_km']:,.0f} km; "
        f"population: {len(points):,} points in {len(points.leaf_ids):,} leaf units "
        f"({dict(points.method.value_counts())})"
    )
    print(
        f"cold preparation (once per layer versions): {cold:.2f} s = network {t_net:.2f} s "
        f"+ population points {t_pts:.2f} s + snapping them {t_snap:.2f} s"
    )
    stops = read_stops(bank)
    t0 = time.perf_counter()
    first = sdg_11_2_1(bank)
    print(f"first sdg_11_2_1(bank) after preparation: {time.perf_counter() - t0:.3f} s")
    compute, result = median_time(lambda: sdg_11_2_1(bank, stops=stops), repeat)
    from_bank, _ = median_time(lambda: sdg_11_2_1(bank), repeat)
    snap = sp.network.snap(stops.geometry, max_distance=500.0)
    bare = bare_dijkstra(net, snap, stops["capacity"].to_numpy(dtype=object), repeat)
    t = result.timings
    f = first.timings
    print(
        f"warm, end to end from the bank (layer versions, cached stop snaps, one Dijkstra, "
        f"shares for {len(first.at('rw')):,} RW and up): {from_bank * 1000:.1f} ms "
        f"(first run after preparation: distances {f['distances'] * 1000:.1f} ms, "
        f"shares {f['shares'] * 1000:.1f} ms)"
    )
    print(
        f"warm, stops given as a frame (classified and snapped afresh each call): "
        f"{compute * 1000:.1f} ms (stops {t['stops'] * 1000:.1f} ms, distances "
        f"{t['distances'] * 1000:.1f} ms, shares {t['shares'] * 1000:.1f} ms)"
    )
    print(
        f"bare scipy dijkstra from the stops' nearest nodes: limit 1000 m "
        f"{bare['limit_1000'] * 1000:.1f} ms, limit 500 m {bare['limit_500'] * 1000:.1f} ms, "
        f"low 500 m + high 1000 m {bare['two_runs'] * 1000:.1f} ms"
    )
    print(
        f"ratio end to end / bare (limit 1000): {from_bank / bare['limit_1000']:.2f}x "
        f"(target <= 2x); / bare two runs: {from_bank / bare['two_runs']:.2f}x; "
        f"with stops snapped every call: {compute / bare['limit_1000']:.2f}x"
    )
    print(
        f"city SDG 11.2.1 share: {result.summary['share']:.3f} "
        f"(first run {first.summary['share']:.3f}); stops off network "
        f"{result.summary['stops_off_network']}"
    )


def real_bank(tmp: Path) -> Path | None:
    """Real kelurahan population, OSM roads, TransJakarta GTFS and rail stations."""
    if not SHARED.exists():
        return None
    import geopandas as gpd

    from tangguh.admin.store import import_jakarta
    from tangguh.bank import LayerMeta, open_bank

    path = tmp / "real.gpkg"
    t0 = time.perf_counter()
    with open_bank(path) as bank:
        import_jakarta(bank, SHARED)
        roads = gpd.read_file(SHARED / "osm-inasafe" / "jakarta_roads.geojson")
        bank.write_layer("roads", roads, LayerMeta(theme="mobility"))
        feed = SHARED / "transit-transjakarta-gtfs"
        from tangguh.connectivity.gtfs import import_gtfs

        import_gtfs(bank, feed / "transjakarta_gtfs_2024-06.zip")
        try:
            from tangguh.connectivity.rail import import_rail

            import_rail(bank, feed / "jabodetabek_rail_stations_lines.kml")
        except ImportError:
            print("rail import not available: TransJakarta stops only")
    print(f"setup: real Jakarta bank in {time.perf_counter() - t0:.1f} s")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached demo bank")
    parser.add_argument("--no-real", action="store_true", help="skip the real Jakarta data")
    args = parser.parse_args()
    from tangguh.bank import open_bank

    path = full_bank(args.rebuild)
    with open_bank(path) as bank:
        measure(bank, args.repeat, "full demo city (2,700 RW, 1,000,000 buildings)")
    if args.no_real:
        return
    with tempfile.TemporaryDirectory() as tmp:
        real = real_bank(Path(tmp))
        if real is None:
            print(f"\nreal Jakarta data not found at {SHARED}: skipped")
            return
        with open_bank(real) as bank:
            measure(bank, args.repeat, "real Jakarta: OSM roads, TransJakarta + rail, kelurahan")


if __name__ == "__main__":
    main()
