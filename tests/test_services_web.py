"""HTTP endpoints of basic services (``/api/v1/services/…``) and the dashboard page
``/dashboard/services`` (issue 6 §3, §5).

The HTTP tests run on both backends with FastAPI's TestClient over a bank holding the
small demo city's admin units and TPS, a file source and three refresh runs (counts of
TPS per unit; the last one with a failed source and its notice). The browser test runs a
real uvicorn server over the whole small demo city refreshed with the default coverage
indicators, driven by Playwright and Debian's Chromium.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely

from tangguh.bank import Bank, open_bank
from tangguh.demo import DemoCity, build_city, layer_meta, load_city
from tangguh.services import refresh as R
from tangguh.web import create_app
from tangguh.web.api import security

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from conftest import drop_pg_schema, new_pg_url

V1 = "/api/v1/services"
PASSWORD = "kata-sandi-rahasia-123"
T0 = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
COUNT = R.feature_count_indicators(["tps_live"])
CHROMIUM = "/usr/bin/chromium"


@functools.cache
def _small() -> DemoCity:
    return build_city("small")


def _geojson(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json(drop_id=True).encode()


@dataclass
class World:
    url: str
    rw: str
    runs: list[str]
    key: str
    before: float


def _grown(bank: Bank, rw_geom: Any, add: int) -> gpd.GeoDataFrame:
    tps = bank.read_layer("tps").drop(columns=["unit_id"], errors="ignore")
    pt = rw_geom.representative_point()
    new = gpd.GeoDataFrame(
        {"tps_id": [f"tps_new_{i}" for i in range(add)], "name": ["TPS baru"] * add,
         "capacity_m3": [6.0] * add},
        geometry=[pt] * add,
        crs="EPSG:4326",
    )  # fmt: skip
    return gpd.GeoDataFrame(pd.concat([tps, new], ignore_index=True), crs="EPSG:4326")


def _source(path: Path, sid: str = "tps-dki") -> str:
    return f'[sources.{sid}]\npath = "{path}"\nlayer = "tps_live"\nkind = "tps"\nschedule = "1d"\n'


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("svcweb")
    url = str(tmp / "bank.gpkg") if request.param == "gpkg" else new_pg_url() + f"&rasters={tmp}"
    try:
        with open_bank(url) as bank:
            small = _small()
            for layer_id, key in (("admin_units", "unit_id"), ("tps", "tps_id")):
                bank.write_layer(
                    layer_id, small.layers[layer_id], layer_meta(layer_id, small), key=key
                )
            units = bank.read_layer("admin_units")
            tps = bank.read_layer("tps")
            rws = units[units["level"] == "rw"].sort_values("unit_id")
            hit = [shapely.contains(g, tps.geometry.to_numpy()).any() for g in rws.geometry]
            rw = rws[hit].iloc[0]
            data = tmp / "tps.geojson"
            data.write_bytes(_geojson(tps.drop(columns=["unit_id"])))
            R.add_sources(bank, R.parse_sources(_source(data)))
            first = R.refresh(bank, now=T0, indicators=COUNT)
            before = R.snapshot_at(bank, level="rw").table.set_index("unit_id")["value"][
                rw["unit_id"]
            ]
            data.write_bytes(_geojson(_grown(bank, rw.geometry, 3)))
            second = R.refresh(bank, now=T0 + timedelta(days=35), indicators=COUNT)
            R.add_sources(bank, R.parse_sources(_source(tmp / "gone.geojson", "lost")))
            third = R.refresh(bank, now=T0 + timedelta(days=36), indicators=COUNT)
            assert (first.status, second.status, third.status) == ("ok", "ok", "partial")
            security.add_user(bank, "operator-budi", PASSWORD, role="operator")
            _, key = security.create_key(bank, "services test", role="operator")
        yield World(url, str(rw["unit_id"]), [first.run_id, second.run_id, third.run_id], key,
                    float(before))  # fmt: skip
    finally:
        if request.param == "postgis":
            drop_pg_schema(url)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.url)
    app.state.tangguh_services_indicators = COUNT
    with TestClient(app) as c:
        yield c


def _op(world: World) -> dict[str, str]:
    return {"X-API-Key": world.key}


def test_indicators_and_snapshot_dates(client: TestClient, world: World) -> None:
    r = client.get(f"{V1}/indicators")
    assert r.status_code == 200
    found = {i["id"]: i for i in r.json()}
    assert found["count.tps_live"]["in_snapshots"] is True
    assert found["count.tps_live"]["title_id"] and found["count.tps_live"]["title_en"]
    assert found["count.tps_live"]["unit_en"] == "features"
    r = client.get(f"{V1}/snapshots")
    assert [s["run_id"] for s in r.json()] == world.runs
    assert r.json()[0]["taken_at"] == T0.isoformat()


def test_coverage_geojson_at_a_time(client: TestClient, world: World) -> None:
    r = client.get(f"{V1}/coverage", params={"level": "rw", "indicator": "count.tps_live"})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["run_id"] == world.runs[-1]
    feats = {f["id"]: f for f in body["features"]}
    assert len(feats) == 60  # every RW of the demo, with its polygon
    target = feats[world.rw]
    assert target["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert target["properties"]["value"] == world.before + 3
    assert target["properties"]["name"]
    assert body["max"] >= world.before + 3 and body["min"] == 0
    # the snapshot in force on 15 March is the first one
    at = (T0 + timedelta(days=14)).isoformat()
    old = client.get(
        f"{V1}/coverage", params={"level": "rw", "indicator": "count.tps_live", "at": at}
    )
    assert old.json()["run_id"] == world.runs[0]
    assert {f["id"]: f for f in old.json()["features"]}[world.rw]["properties"][
        "value"
    ] == world.before
    # without an indicator, every value per unit; kelurahan level
    kel = client.get(f"{V1}/coverage", params={"level": "kelurahan"}).json()
    assert all("count.tps_live" in f["properties"]["values"] for f in kel["features"])
    # before the first snapshot: the units, no values
    none = client.get(f"{V1}/coverage", params={"level": "kota", "at": "2020-01-01"}).json()
    assert none["run_id"] is None and all(not f["properties"]["values"] for f in none["features"])
    bad = client.get(f"{V1}/coverage", params={"level": "provinsi"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert "tingkat 'provinsi' tidak dikenal" in bad.text
    bad = client.get(f"{V1}/coverage", params={"at": "kemarin"})
    assert bad.status_code == 400


def test_changes_trend_runs_underserved(client: TestClient, world: World) -> None:
    r = client.get(f"{V1}/changes", params={"level": "rw"})  # since last month
    body = r.json()
    assert body["before"]["run_id"] == world.runs[0] and body["after"]["run_id"] == world.runs[-1]
    top = body["changes"][0]
    assert (top["unit_id"], top["delta"], top["indicator"]) == (world.rw, 3.0, "count.tps_live")
    assert body["count"] == 1
    since = (T0 + timedelta(days=35, hours=1)).isoformat()
    assert client.get(f"{V1}/changes", params={"since": since}).json()["count"] == 0
    r = client.get(f"{V1}/trend", params={"unit_id": world.rw, "indicator": "count.tps_live"})
    pts = r.json()["points"]
    assert [p["value"] for p in pts] == [world.before, world.before + 3, world.before + 3]
    assert [p["run_id"] for p in pts] == world.runs and r.json()["name"]
    runs = client.get(f"{V1}/runs").json()
    assert [x["status"] for x in runs] == ["partial", "ok", "ok"]
    assert runs[0]["sources_failed"] == 1 and runs[0]["seconds"] >= 0
    one = client.get(f"{V1}/runs/{world.runs[0]}").json()
    assert one["features_read"] == 30 and one["underserved"] == []
    assert client.get(f"{V1}/runs/nope").status_code == 404
    under = client.get(f"{V1}/underserved", params={"level": "rw"}).json()
    assert under["run_id"] == world.runs[-1] and under["units"] == []


def test_notices_and_refresh_need_an_operator(client: TestClient, world: World) -> None:
    assert client.get(f"{V1}/notices").status_code == 401
    assert client.post(f"{V1}/refresh", json={}).status_code == 401
    items = client.get(f"{V1}/notices", headers=_op(world)).json()
    assert [n["source_id"] for n in items] == ["lost"]
    assert "tidak ada" in items[0]["message_id"] and "does not exist" in items[0]["message_en"]
    r = client.post(f"{V1}/notices/{items[0]['notice_id']}/ack", headers=_op(world))
    assert r.status_code == 200 and r.json()["acknowledged"] is True
    assert client.get(f"{V1}/notices", headers=_op(world)).json() == []
    assert len(client.get(f"{V1}/notices", params={"all": True}, headers=_op(world)).json()) == 1
    # a refresh now: every source (one fails again), indicators recomputed
    r = client.post(f"{V1}/refresh", json={"all": True}, headers=_op(world))
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "partial" and run["trigger"] == "api" and run["snapshot_rows"] > 0
    assert client.get(f"{V1}/snapshots").json()[-1]["run_id"] == run["run_id"]
    r = client.post(f"{V1}/refresh", json={"sources": ["nope"]}, headers=_op(world))
    assert r.status_code == 404 and "nope" in r.text
    with open_bank(world.url) as bank:
        from sqlalchemy import select

        from tangguh.web.tables import tg_web_audit

        with bank.connect() as conn:
            paths = [row[0] for row in conn.execute(select(tg_web_audit.c.path))]
    assert paths.count(f"{V1}/refresh") >= 3  # refused, done, not found: all audited


# -- the page in a browser (embedded bank) ---------------------------------------------------------
def _playwright_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright not installed"
    return None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    reason = _playwright_reason()
    if reason:
        pytest.skip(reason)
    import socket

    import uvicorn

    tmp = tmp_path_factory.mktemp("svcui")
    url = str(tmp / "bank.gpkg")
    with open_bank(url) as bank:
        load_city(bank, _small())
        units = bank.read_layer("admin_units")
        rw = units[units["level"] == "rw"].sort_values("unit_id").iloc[7]
        tps = bank.read_layer("tps").drop(columns=["unit_id"])
        data = tmp / "tps.geojson"
        data.write_bytes(_geojson(tps))
        text = _source(data).replace('layer = "tps_live"\n', 'layer = "tps"\n')
        R.add_sources(bank, R.parse_sources(text + _source(tmp / "gone.geojson", "lost")))
        now = datetime.now(UTC)
        first = R.refresh(bank, source_ids=["tps-dki"], now=now - timedelta(days=40))
        data.write_bytes(_geojson(_grown(bank, rw.geometry, 4)))
        second = R.refresh(bank, now=now - timedelta(days=5))
        assert first.status == "ok" and second.status == "partial", second.message_en
        security.add_user(bank, "operator-budi", PASSWORD, role="operator")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", url, str(rw["unit_id"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_services_page_map_slider_trend_and_notices(served: tuple[str, str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base, bank_url, rw = served
    Path("/tmp/tangguh_screens").mkdir(exist_ok=True)
    snaps = httpx.get(f"{base}{V1}/snapshots").json()
    assert len(snaps) == 2
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            closing: list[bool] = []  # requests cut off by closing are not page errors
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" and not closing else None,
            )
            page.on("pageerror", lambda e: None if closing else errors.append(str(e)))
            page.goto(f"{base}/dashboard/services")
            page.wait_for_selector("body[data-ready='1']")
            assert page.get_attribute("#map", "data-units") == "60"
            assert page.locator("#map path.leaflet-interactive").count() >= 60
            assert page.get_attribute("#map", "data-run") == snaps[-1]["run_id"]
            assert page.locator("#indicator option").count() >= 5
            assert "Layanan Dasar" in page.locator("header h1").inner_text()
            assert page.locator("#legend i").count() >= 3
            assert page.locator("#runs .run").count() == 2
            assert page.locator("#runs .run[data-status='partial']").count() == 1
            assert page.locator("#underserved .unit-row").count() > 0  # default coverage
            page.screenshot(path="/tmp/tangguh_screens/services.png")
            # another indicator, then back in time with the slider
            values = page.eval_on_selector_all("#indicator option", "els => els.map(e => e.value)")
            other = next(v for v in values if v != page.get_attribute("#map", "data-indicator"))
            page.select_option("#indicator", other)
            page.wait_for_function(
                f"document.getElementById('map').dataset.indicator === '{other}'"
            )
            page.locator("#time").fill("0")
            page.wait_for_function(
                f"document.getElementById('map').dataset.run === '{snaps[0]['run_id']}'"
            )
            # a click on a unit draws its trend (one point per snapshot)
            page.evaluate(
                """(id) => {
                  const s = window.tangguhServices;
                  const l = s.state.units[id];
                  s.map.fitBounds(l.getBounds(), {animate: false});
                  l.fire('click');
                }""",
                rw,
            )
            page.wait_for_selector(f"#trend[data-unit='{rw}'] svg polyline", state="attached")
            assert page.get_attribute("#trend", "data-points") == "2"
            assert page.locator("#trend svg circle").count() == 2
            page.screenshot(path="/tmp/tangguh_screens/services_trend.png")
            # English
            page.click("#lang")
            assert page.locator("header h1").inner_text().startswith("Basic services")
            # operator: open notices, acknowledge one
            page.fill("#login input[name=username]", "operator-budi")
            page.fill("#login input[name=password]", PASSWORD)
            page.click("#login button[type=submit]")
            page.wait_for_selector("#notices .notice")
            assert "lost" in page.locator("#notices .notice").first.inner_text()
            page.locator("#notices .notice button.ack").first.click()
            page.wait_for_selector("#notices .notice", state="detached")
        finally:
            closing.append(True)
            browser.close()
    assert errors == [], errors
    with open_bank(bank_url) as bank:
        assert R.notices(bank) == [] and len(R.notices(bank, open_only=False)) == 1
