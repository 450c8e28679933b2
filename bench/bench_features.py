"""OGC API – Features speed: small random bboxes on 1,000,000 buildings (issue 5 §8).

Serves the buildings of the full demo city (1,000,000 footprints) and fires
``/collections/buildings/items?bbox=…`` with small random boxes (default 0.002° ≈ 220 m,
default page size 10) from N concurrent aiohttp clients for T seconds, against:

- ``tangguh serve`` on the embedded bank (GeoPackage),
- ``tangguh serve`` on a PostGIS bank (schema ``bench_features`` of the test database),
- pygeoapi 0.21 (the baseline) serving the same buildings exported to a plain GeoPackage
  through its ``SQLiteGPKG`` provider, in the same run.

Reports requests/s, p50/p95 latency, the ratio to pygeoapi and the idle memory (RSS) of
our server. Goal: >= 50x pygeoapi's throughput and p95 <= 50 ms on both backends.

Setup done by the script when missing (cached under ``--cache``, default
/tmp/tangguh_bench): the full demo bank (``build_city("full")`` + ``load_city``; ~30 s
here), its PostGIS copy, the exported buildings GeoPackage, and pygeoapi itself, which
is installed into a SEPARATE virtualenv (``python3 -m venv /tmp/pga && /tmp/pga/bin/pip
install pygeoapi==0.21.0 uvicorn starlette``), never into the project's. pygeoapi's SQLite provider
needs ``mod_spatialite`` (Debian ``libsqlite3-mod-spatialite``; installed with apt-get
when missing and running as root).

    python bench/bench_features.py [--clients 8] [--seconds 20] [--no-pg] [--no-pygeoapi]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FULL_BUILDINGS = 1_000_000
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/tangguh_test?schema=bench_features"
PGA_VENV = Path("/tmp/pga")
PGA_PACKAGES = ("pygeoapi==0.21.0", "uvicorn", "starlette")
SPATIALITE = Path("/usr/lib/x86_64-linux-gnu/mod_spatialite.so")


def log(text: str) -> None:
    print(text, flush=True)


# -- data -----------------------------------------------------------------------------------
def _city() -> Any:
    from tangguh.demo import build_city

    return build_city("full", seed=0)


def ensure_gpkg(cache: Path, city_box: list[Any]) -> Path:
    """The full demo bank as a GeoPackage (built once, then reused and upgraded)."""
    from tangguh.bank import open_bank
    from tangguh.demo import load_city

    path = cache / "full_demo.gpkg"
    if path.exists():
        with open_bank(path, create=False) as bank:
            bank.upgrade()
            if bank.layer("buildings").feature_count == FULL_BUILDINGS:
                return path
        path.unlink()
    start = time.perf_counter()
    if not city_box:
        city_box.append(_city())
    tmp = cache / "full_demo.tmp.gpkg"
    for extra in ("", "-wal", "-shm"):
        Path(f"{tmp}{extra}").unlink(missing_ok=True)
    with open_bank(tmp) as bank:
        load_city(bank, city_box[0])
    tmp.rename(path)
    log(f"built the full demo bank (GeoPackage) in {time.perf_counter() - start:.0f} s")
    return path


def ensure_pg(url: str, city_box: list[Any]) -> str:
    """The full demo city in PostGIS (schema from the URL), loaded once."""
    from tangguh.bank import open_bank
    from tangguh.demo import load_city

    with open_bank(url) as bank:
        bank.upgrade()
        if bank.has_layer("buildings") and bank.layer("buildings").feature_count == FULL_BUILDINGS:
            return url
    import psycopg

    schema = url.split("schema=")[1].split("&")[0]
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    start = time.perf_counter()
    if not city_box:
        city_box.append(_city())
    with open_bank(url) as bank:
        load_city(bank, city_box[0])
    log(f"loaded the full demo city into PostGIS in {time.perf_counter() - start:.0f} s")
    return url


def export_buildings(bank: Path, cache: Path) -> Path:
    """buildings -> a plain GeoPackage for pygeoapi (`tangguh export`, another process)."""
    out = cache / "buildings_pygeoapi.gpkg"
    if out.exists() and out.stat().st_mtime >= bank.stat().st_mtime:
        return out
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from tangguh.cli.main import app; app()",
            "export",
            "buildings",
            "--bank",
            str(bank),
            "--to",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


# -- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server did not start: {url}")


def start_tangguh(bank: str, workers: int, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tangguh.cli.main import app; app()",
            "serve",
            "--bank",
            bank,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/collections/buildings", proc)
    return proc, url


_CAN_LOAD = "import sqlite3; sqlite3.connect(':memory:').enable_load_extension(True)"


def _loads_extensions(python: str) -> bool:
    """pygeoapi's SQLite provider loads mod_spatialite: the Python must allow that
    (Debian's does; a pyenv build often does not)."""
    return subprocess.run([python, "-c", _CAN_LOAD], capture_output=True).returncode == 0


def ensure_pygeoapi() -> bool:
    """pygeoapi 0.21 in its own venv, and mod_spatialite; False when they cannot be had."""
    venv_python = str(PGA_VENV / "bin" / "python")
    if (PGA_VENV / "bin" / "pygeoapi").exists() and not _loads_extensions(venv_python):
        shutil.rmtree(PGA_VENV)  # built on a Python without SQLite extension loading
    if (PGA_VENV / "bin" / "pygeoapi").exists():
        check = [venv_python, "-c", "import pygeoapi, starlette, uvicorn"]
        if subprocess.run(check, capture_output=True).returncode:
            pip = str(PGA_VENV / "bin" / "pip")
            subprocess.run([pip, "install", "-q", *PGA_PACKAGES], check=False)
    if not (PGA_VENV / "bin" / "pygeoapi").exists():
        base = next(
            (
                p
                for p in ("/usr/bin/python3", "python3")
                if shutil.which(p) and _loads_extensions(p)
            ),
            None,
        )
        if base is None:
            log("no Python with SQLite extension loading for pygeoapi: no baseline")
            return False
        log(f"installing pygeoapi 0.21.0 into {PGA_VENV} (separate venv, {base}) …")
        subprocess.run([base, "-m", "venv", str(PGA_VENV)], check=True)
        done = subprocess.run(
            [str(PGA_VENV / "bin" / "pip"), "install", "-q", *PGA_PACKAGES], check=False
        )
        if done.returncode:
            log("pygeoapi could not be installed: no baseline")
            return False
    if not SPATIALITE.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        log("installing libsqlite3-mod-spatialite (apt-get) for pygeoapi's SQLite provider …")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "libsqlite3-mod-spatialite"], check=False
        )
    if not SPATIALITE.exists():
        log("mod_spatialite is missing (apt-get install libsqlite3-mod-spatialite): no baseline")
        return False
    return True


_PGA_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging:
  level: ERROR
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: http://example.org
  license: {{name: CC0, url: "https://creativecommons.org/publicdomain/zero/1.0/"}}
  provider: {{name: bench, url: "http://example.org"}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x,
    postalcode: x, country: x, phone: x, fax: x, email: bench@example.org,
    url: "http://example.org", hours: x, instructions: x, role: pointOfContact}}
resources:
  buildings:
    type: collection
    title: Buildings
    description: Buildings of the full demo city
    keywords: [buildings]
    links: []
    extents:
      spatial:
        bbox: [{bbox}]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: SQLiteGPKG
        data: {data}
        id_field: fid
        table: {table}
"""


def start_pygeoapi(
    data: Path, bbox: tuple[float, ...], cache: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = cache / "pygeoapi.yml"
    config.write_text(
        _PGA_CONFIG.format(
            port=port, data=data, table=data.stem, bbox=", ".join(f"{v:.6f}" for v in bbox)
        )
    )
    openapi = cache / "pygeoapi-openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run(
        [
            str(PGA_VENV / "bin" / "pygeoapi"),
            "openapi",
            "generate",
            str(config),
            "--output-file",
            str(openapi),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    proc = subprocess.Popen(
        [
            str(PGA_VENV / "bin" / "uvicorn"),
            "pygeoapi.starlette_app:APP",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/collections/buildings?f=json", proc)
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (worker processes), MiB."""
    import psutil

    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        total += child.memory_info().rss
    return total / 2**20


# -- load -------------------------------------------------------------------------------------
def boxes(extent: tuple[float, ...], size: float, n: int, seed: int = 42) -> list[str]:
    rng = random.Random(seed)
    x0, y0, x1, y1 = extent
    out = []
    for _ in range(n):
        x = rng.uniform(x0, x1 - size)
        y = rng.uniform(y0, y1 - size)
        out.append(f"{x:.6f},{y:.6f},{x + size:.6f},{y + size:.6f}")
    return out


async def _load(
    url: str, bboxes: list[str], clients: int, seconds: float, extra: str
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    features = 0
    counter = iter(range(10**9))
    stop_at = 0.0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors, features
        while time.perf_counter() < stop_at:
            box = bboxes[next(counter) % len(bboxes)]
            start = time.perf_counter()
            async with session.get(
                f"{url}/collections/buildings/items?bbox={box}{extra}",
                headers={"Accept": "application/geo+json"},
            ) as resp:
                body = await resp.read()
                if resp.status != 200:
                    errors += 1
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                else:
                    features += body.count(b'"Feature"')
            latencies.append(time.perf_counter() - start)

    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        stop_at = time.perf_counter() + min(3.0, seconds / 5)  # warm-up
        await asyncio.gather(*(client(session) for _ in range(clients)))
        latencies.clear()
        statuses.clear()
        errors = features = 0
        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "errors": errors,
        "statuses": dict(sorted(statuses.items())),
        "features_per_request": features / max(1, len(lat)),
    }


def load(
    url: str, bboxes: list[str], clients: int, seconds: float, extra: str = ""
) -> dict[str, Any]:
    return asyncio.run(_load(url, bboxes, clients, seconds, extra))


def show(name: str, r: dict[str, Any], base: dict[str, Any] | None, mem: float | None) -> None:
    ratio = f"  {r['rps'] / base['rps']:6.0f}x pygeoapi" if base and base["rps"] else ""
    memory = f"  idle RSS {mem:.0f} MiB" if mem is not None else ""
    log(
        f"{name:<28} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms"
        f"  {r['features_per_request']:5.1f} features/req  errors {r['errors']}"
        f"{' ' + str(r['statuses']) if r['statuses'] else ''}{ratio}{memory}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=20, help="measuring time per server")
    parser.add_argument("--size", type=float, default=0.002, help="bbox side in degrees")
    parser.add_argument("--limit", type=int, default=None, help="page size (default: server's 10)")
    parser.add_argument("--workers", type=int, default=1, help="tangguh serve --workers")
    parser.add_argument("--threads", type=int, default=8, help="tangguh serve --threads")
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostGIS bank URL")
    parser.add_argument("--no-pg", action="store_true", help="skip PostGIS")
    parser.add_argument("--no-pygeoapi", action="store_true", help="skip the pygeoapi baseline")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/tangguh_bench"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    extra = f"&limit={args.limit}" if args.limit else ""

    city: list[Any] = []
    gpkg = ensure_gpkg(args.cache, city)
    from tangguh.bank import open_bank

    with open_bank(gpkg, create=False) as bank:
        extent = bank.layer("buildings").bbox
    assert extent is not None
    bboxes = boxes(extent, args.size, 20_000)
    log(
        f"{args.clients} clients, {args.seconds:.0f} s each, bbox {args.size}° "
        f"(≈{args.size * 111_000:.0f} m), buildings {FULL_BUILDINGS:,}"
    )

    base = None
    if not args.no_pygeoapi and ensure_pygeoapi():
        data = export_buildings(gpkg, args.cache)
        proc, url = start_pygeoapi(data, extent, args.cache)
        try:
            base = load(url, bboxes, args.clients, args.seconds, extra)
            show("pygeoapi 0.21 SQLiteGPKG", base, None, None)
        finally:
            stop(proc)

    targets = [("tangguh serve, GeoPackage", str(gpkg))]
    if not args.no_pg:
        targets.append(("tangguh serve, PostGIS", ensure_pg(args.pg, city)))
    results = {}
    for name, bank_url in targets:
        proc, url = start_tangguh(bank_url, args.workers, args.threads)
        try:
            time.sleep(1.0)
            idle = rss_mb(proc.pid)
            results[name] = load(url, bboxes, args.clients, args.seconds, extra)
            show(name, results[name], base, idle)
        finally:
            stop(proc)
    for name, r in results.items():
        ok_ratio = base is None or r["rps"] >= 50 * base["rps"]
        ok_p95 = r["p95_ms"] <= 50
        log(
            f"goal {name}: >=50x pygeoapi {'OK' if ok_ratio else 'MISSED'}, "
            f"p95 <= 50 ms {'OK' if ok_p95 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
