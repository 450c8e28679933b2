"""Citizen report intake over HTTP on loopback, with photos stored (issue 6 §6).

Builds the small demo city into a fresh GeoPackage bank, adds a citizen user, starts
``tangguh serve``'s app (``tangguh.web.create_app``) under uvicorn in its own process on
127.0.0.1, and posts reports concurrently with aiohttp: multipart with a ~100 KB JPEG
(EXIF with GPS inside, stripped by the server), a random point inside a random RW, a
random type (flood with a depth). Every report is checked, stored (report row, event,
photo row, photo file, audit row) in one transaction.

Baseline in the same run, same client: a bare FastAPI endpoint (own process, same
uvicorn settings) that reads the multipart body with the same parser and writes the
photo to a file — no login, no checks, no database.

The rate limits are raised for the run (TANGGUH_WEB_RATE_BURST/PER_MINUTE): a load test
from one address is exactly what they are there to stop.

Target: >= 200 reports/s.

    python bench/bench_reports.py [--reports 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

USER = ("bench-warga", "bench-password-2024")


def jpeg(width: int, height: int, *, seed: int, quality: int = 85) -> bytes:
    """A real JPEG (GDAL's JPEG driver) of a noisy gradient, with an EXIF GPS segment."""
    import rasterio
    import rasterio.shutil
    from rasterio.errors import NotGeoreferencedWarning

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)])
    pixels = np.clip(base + rng.normal(0, 28, base.shape), 0, 255).astype("uint8")
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        src, out = Path(tmp) / "a.tif", Path(tmp) / "a.jpg"
        with rasterio.open(
            src, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8"
        ) as ds:
            ds.write(pixels)
        rasterio.shutil.copy(src, out, driver="JPEG", QUALITY=quality)
        data = out.read_bytes()
    return with_gps_exif(data, -6.2001, 106.8167)


def with_gps_exif(data: bytes, lat: float, lon: float) -> bytes:
    """``data`` (a JPEG) with an APP1 EXIF segment holding a GPS position."""
    import struct

    def rational(v: float) -> bytes:
        d, m = int(v), int((v % 1) * 60)
        s = round(((v % 1) * 60 % 1) * 60 * 100)
        return struct.pack("<IIIIII", d, 1, m, 1, s, 100)

    # TIFF header, IFD0 with one entry (GPS IFD pointer), GPS IFD with 4 entries.
    ifd0 = 8
    gps = ifd0 + 2 + 12 + 4
    values = gps + 2 + 4 * 12 + 4
    tiff = b"II*\x00" + struct.pack("<I", ifd0)
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps) + b"\x00" * 4
    tiff += struct.pack("<H", 4)
    tiff += struct.pack("<HHI4s", 1, 2, 2, b"S\x00\x00\x00")
    tiff += struct.pack("<HHII", 2, 5, 3, values)
    tiff += struct.pack("<HHI4s", 3, 2, 2, b"E\x00\x00\x00")
    tiff += struct.pack("<HHII", 4, 5, 3, values + 24)
    tiff += b"\x00" * 4 + rational(abs(lat)) + rational(abs(lon))
    body = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_TANGGUH = """
import uvicorn
from tangguh.web import create_app
uvicorn.run(create_app({bank!r}), host="127.0.0.1", port={port}, log_level="warning",
            access_log=False)
"""

_BARE = """
import os, secrets
import uvicorn
from fastapi import FastAPI, Request
from tangguh.web.api.reports import parse_multipart

app = FastAPI()
folder = {folder!r}

@app.post("/upload", status_code=201)
async def upload(request: Request) -> dict:
    body = await request.body()
    fields, files = parse_multipart(request.headers["content-type"], body)
    name = secrets.token_hex(8)
    with open(os.path.join(folder, name + ".jpg"), "wb") as f:
        f.write(files["photo"])
    return {{"id": name, "lon": float(fields["lon"])}}

uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def _serve(code: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TANGGUH_WEB_RATE_BURST": "1000000",
        "TANGGUH_WEB_RATE_PER_MINUTE": "1000000",
    }
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError("server exited at start")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _points(bank_url: str, n: int, seed: int) -> list[tuple[float, float]]:
    """n random points, each inside a random RW of the bank."""
    import shapely

    from tangguh.bank import open_bank

    with open_bank(bank_url) as bank:
        units = bank.read_layer("admin_units")
    rws = units[units["level"] == "rw"].geometry.to_numpy()
    rng = random.Random(seed)
    out: list[tuple[float, float]] = []
    while len(out) < n:
        poly = rws[rng.randrange(len(rws))]
        minx, miny, maxx, maxy = poly.bounds
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            out.append((x, y))
    return out


async def _post_all(
    url: str,
    photos: list[bytes],
    points: list[tuple[float, float]],
    concurrency: int,
    token: str | None,
) -> tuple[float, int]:
    """Post len(points) reports with ``concurrency`` in flight; (seconds, failures)."""
    import aiohttp

    types = ["flood", "water_outage", "water_quality", "waste_pile", "blocked_drain",
             "damaged_infrastructure"]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(points)):
        queue.put_nowait(i)
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            i = queue.get_nowait()
            kind = types[i % len(types)]
            form = aiohttp.FormData()
            form.add_field("type", kind)
            form.add_field("lon", repr(points[i][0]))
            form.add_field("lat", repr(points[i][1]))
            if kind == "flood":
                form.add_field("depth_cm", str(10 + i % 120))
            form.add_field("text", f"laporan uji {i}")
            form.add_field("photo", photos[i % len(photos)], filename="foto.jpg",
                           content_type="image/jpeg")  # fmt: skip
            async with session.post(url, data=form, headers=headers) as resp:
                await resp.read()
                if resp.status != 201:
                    failures += 1
                    if failures <= 3:
                        print("  failed:", resp.status, (await resp.text())[:300])

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - start, failures


def _login(base: str) -> str:
    import httpx

    r = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"grant_type": "password", "username": USER[0], "password": USER[1]},
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from tangguh.bank import open_bank
    from tangguh.demo import build_city, load_city
    from tangguh.services.tables.reports import tg_svc_report, tg_svc_report_photo
    from tangguh.web.api import security

    # Distinct photos (~100 KB each) so the "photo reused" check sees real hashes.
    photos = [jpeg(600, 420, seed=s) for s in range(8)]
    sizes = [len(p) for p in photos]
    print(f"photos: {len(photos)} JPEGs of {min(sizes) // 1024}-{max(sizes) // 1024} KB "
          "(with EXIF GPS)")  # fmt: skip
    n, warm = args.reports, args.warmup
    with tempfile.TemporaryDirectory() as tmp:
        bank_url = str(Path(tmp) / "bench.gpkg")
        with open_bank(bank_url) as bank:
            load_city(bank, build_city("small"))
            security.add_user(bank, USER[0], USER[1], role="citizen")
        points = _points(bank_url, n + warm, seed=1)

        # -- Tangguh --------------------------------------------------------------------
        port = _free_port()
        proc = _serve(_TANGGUH.format(bank=bank_url, port=port), port)
        try:
            base = f"http://127.0.0.1:{port}"
            token = _login(base)
            url = f"{base}/api/v1/reports"
            asyncio.run(_post_all(url, photos, points[:warm], args.concurrency, token))
            secs, failed = asyncio.run(
                _post_all(url, photos, points[warm:], args.concurrency, token)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        rate = n / secs
        with open_bank(bank_url) as bank, bank.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(tg_svc_report)).scalar()
            with_photo = conn.execute(
                select(func.count()).select_from(tg_svc_report_photo)
            ).scalar()
        files = len(list((Path(tmp) / "bench.media" / "reports").glob("*.jpg")))
        stripped = all(
            b"Exif" not in p.read_bytes()[:4096]
            for p in list((Path(tmp) / "bench.media" / "reports").glob("*.jpg"))[:50]
        )
        print(f"tangguh POST /api/v1/reports: {n} reports in {secs:.2f} s = {rate:.0f} reports/s "
              f"(concurrency {args.concurrency}, failures {failed})")  # fmt: skip
        print(f"  stored: {stored} reports, {with_photo} photo rows, {files} photo files, "
              f"EXIF stripped: {stripped}")  # fmt: skip

        # -- baseline --------------------------------------------------------------------
        folder = Path(tmp) / "bare"
        folder.mkdir()
        port = _free_port()
        proc = _serve(_BARE.format(folder=str(folder), port=port), port)
        try:
            url = f"http://127.0.0.1:{port}/upload"
            asyncio.run(_post_all(url, photos, points[:warm], args.concurrency, None))
            base_secs, base_failed = asyncio.run(
                _post_all(url, photos, points[warm:], args.concurrency, None)
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        base_rate = n / base_secs
        print(f"baseline bare FastAPI multipart -> file: {n} in {base_secs:.2f} s = "
              f"{base_rate:.0f} requests/s (failures {base_failed})")  # fmt: skip
        print(f"ratio tangguh / baseline: {rate / base_rate:.2f}  "
              f"(target: >= 200 reports/s: {'met' if rate >= 200 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
