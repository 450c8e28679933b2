"""Evacuation and cascade over HTTP (issue 7 §7) on both backends, and the connectivity
dashboard page in a real browser (Playwright + Debian's Chromium)."""

from __future__ import annotations

import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tangguh.bank import Bank, open_bank
from tangguh.bank.base import LayerMeta
from tangguh.connectivity import evacuate as ev
from tangguh.demo import build_city, load_city
from tangguh.web import create_app
from tangguh.web.api import security

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from conftest import drop_pg_schema, new_pg_url

V1 = "/api/v1"
CHROMIUM = "/usr/bin/chromium"


def _prepare(bank: Bank) -> str:
    load_city(bank, build_city("small"))
    units = bank.read_layer("admin_units")
    rws = units[units["level"] == "rw"].sort_values("unit_id")
    bank.write_layer("flood_test", rws.iloc[::4][["unit_id", "geometry"]], LayerMeta())
    _, key = security.create_key(bank, "connectivity test", role="operator")
    return str(key)


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    if request.param == "gpkg":
        url = str(tmp_path_factory.mktemp("conn") / "bank.gpkg")
    else:
        url = new_pg_url() + f"&rasters={tmp_path_factory.mktemp('conn_r')}"
    try:
        with open_bank(url) as bank:
            key = _prepare(bank)
        yield url, key
    finally:
        if request.param != "gpkg":
            drop_pg_schema(url)


def test_evacuation_endpoints(world: tuple[str, str]) -> None:
    url, key = world
    with TestClient(create_app(url)) as client:
        missing = client.get(f"{V1}/evacuation/plan")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert client.post(f"{V1}/evacuation/plan", json={"flood": "flood_test"}).status_code == 401
        bad = client.post(
            f"{V1}/evacuation/plan", json={"flood": "flood_test", "shelters": "hospitals"},
            headers={"X-API-Key": key},
        )  # fmt: skip
        assert bad.status_code == 400 and "capacity" in bad.json()["detail"]
        made = client.post(
            f"{V1}/evacuation/plan", json={"flood": "flood_test", "max_walk": 4000},
            headers={"X-API-Key": key},
        )  # fmt: skip
        assert made.status_code == 200, made.text
        plan = made.json()
        assert plan["author"] and plan["summary"]["routes"] > 0
        latest = client.get(f"{V1}/evacuation/plan").json()
        assert latest["plan_id"] == plan["plan_id"] and latest["summary"] == plan["summary"]
        routes = client.get(f"{V1}/evacuation/routes").json()
        assert len(routes["features"]) == plan["summary"]["routes"]
        props = routes["features"][0]["properties"]
        assert {"unit_id", "shelter_id", "people", "metres", "minutes"} <= set(props)
        assert routes["features"][0]["geometry"]["type"] == "LineString"
        shelters = client.get(f"{V1}/evacuation/shelters").json()["features"]
        assert all(f["properties"]["load"] <= f["properties"]["capacity"] for f in shelters)
        short = client.get(f"{V1}/evacuation/shortfall").json()
        assert short["shortfall"] == plan["summary"]["shortfall"]
        assert all(r["reason_en"] and r["reason_id"] for r in short["rw"])
        streets = client.get(f"{V1}/evacuation/flooded-streets").json()
        assert len(streets["features"]) == plan["summary"]["edges_flooded"]
        listed = client.get(f"{V1}/evacuation/plans").json()
        assert plan["plan_id"] in {p["plan_id"] for p in listed}
        cascade = client.get(f"{V1}/transit/cascade", params={"flood": "flood_test"})
        assert cascade.status_code == 200, cascade.text
        c = cascade.json()
        assert c["summary"]["sdg_after_pct"] < c["summary"]["sdg_before_pct"]
        both = client.get(f"{V1}/transit/cascade", params={"flood": "x", "rw_states": 2})
        assert both.status_code == 400


# -- the page in a browser ------------------------------------------------------------------
def _playwright_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright not installed"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    url = str(tmp_path_factory.mktemp("conn_ui") / "bank.gpkg")
    with open_bank(url) as bank:
        _prepare(bank)
        ev.plan_evacuation(bank, ev.flood_from_layer(bank, "flood_test"), max_walk=4000.0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    uv = uvicorn.Server(
        uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.mark.skipif(_playwright_reason() is not None, reason=str(_playwright_reason()))
def test_connectivity_page_shows_routes_shelters_and_cascade(server: str) -> None:
    from playwright.sync_api import sync_playwright

    plan = httpx.get(f"{server}{V1}/evacuation/plan").json()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page: Any = browser.new_page(viewport={"width": 1400, "height": 900})
            closing: list[bool] = []  # requests cut off by closing are not page errors
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" and not closing else None,
            )
            page.on("pageerror", lambda e: None if closing else errors.append(str(e)))
            page.goto(f"{server}/dashboard/connectivity")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            page.wait_for_selector("#cascade[data-ready='1']", timeout=30_000)
            el = page.locator("#map")
            assert int(el.get_attribute("data-routes") or 0) == plan["summary"]["routes"]
            assert int(el.get_attribute("data-shelters") or 0) == plan["summary"]["shelters"]
            assert int(el.get_attribute("data-streets") or 0) == plan["summary"]["edges_flooded"]
            assert int(el.get_attribute("data-noroute") or 0) == plan["summary"]["rw_without_route"]
            assert page.locator("#map path.leaflet-interactive").count() > 60
            assert page.locator("#shortfall .entry").count() == plan["summary"]["rw_with_shortfall"]
            assert page.locator("header h1").inner_text() == "Konektivitas dan Evakuasi"
            assert "Pengungsi" in page.locator("#plan-summary").inner_text()
            page.screenshot(path=str(Path("/tmp") / "tangguh_connectivity.png"))
            page.click("#lang")
            assert page.locator("header h1").inner_text() == "Connectivity and Evacuation"
            assert "Evacuees" in page.locator("#plan-summary").inner_text()
            assert "SDG 11.2.1 before" in page.locator("#cascade").inner_text()
        finally:
            closing.append(True)
            browser.close()
    assert errors == []
