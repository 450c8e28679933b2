"""Citizen reports over HTTP (issue 6 §4, §5, §7) on both backends, and the operators'
report queue page (/dashboard/reports) in Chromium via Playwright."""

from __future__ import annotations

import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tangguh.bank import open_bank
from tangguh.demo import build_city, load_city
from tangguh.services.tables.reports import tg_svc_report, tg_svc_report_photo
from tangguh.web import create_app
from tangguh.web.api import security

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from conftest import drop_pg_schema, new_pg_url
from test_reports_lifecycle import GPS_LAT, jpeg

V1 = "/api/v1"
PASSWORD = "kata-sandi-laporan-1"


@dataclass
class World:
    url: str
    backend: str
    point: tuple[float, float]
    rw: str
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("reportsweb")
    url = str(tmp / "bank.gpkg") if request.param == "gpkg" else new_pg_url() + f"&rasters={tmp}"
    try:
        with open_bank(url) as bank:
            load_city(bank, build_city("small"))
            units = bank.read_layer("admin_units")
            rw = units[units["level"] == "rw"].sort_values("unit_id").iloc[7]
            pt = rw.geometry.representative_point()
            tokens = {}
            for role in ("citizen", "operator"):
                security.add_user(bank, f"{role}-laporan", PASSWORD, role=role)
                user = security.authenticate(bank, f"{role}-laporan", PASSWORD)
                assert user is not None
                tokens[role] = security.issue_token(bank, user, ttl=timedelta(hours=1))[0]
        headers = {role: {"Authorization": f"Bearer {tok}"} for role, tok in tokens.items()}
        yield World(url, request.param, (float(pt.x), float(pt.y)), str(rw["unit_id"]), headers)
    finally:
        if request.param == "postgis":
            drop_pg_schema(url)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.url)) as c:
        yield c


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["detail"] and body["detail_id"]
    return body


def count(world: World, table: Any) -> int:
    with open_bank(world.url) as bank, bank.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_lifecycle_over_http(world: World, client: TestClient) -> None:
    cit, op = world.headers["citizen"], world.headers["operator"]
    lon, lat = world.point
    fields = {"type": "blocked_drain", "lon": str(lon), "lat": str(lat), "text": "got mampet"}
    r = client.post(
        f"{V1}/reports", data=fields, files={"photo": ("a.jpg", jpeg(), "image/jpeg")}, headers=cit
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    token, rid = rep["token"], rep["report_id"]
    assert rep["type"] == "blocked_drain" and rep["rw_id"] == world.rw and rep["depth_cm"] is None
    assert "reporter_key" not in rep and "flags" not in rep
    photo = client.get(rep["photo_url"])
    assert photo.headers["content-type"] == "image/jpeg" and GPS_LAT not in photo.content
    public = client.get(f"{V1}/reports/{rid}").json()
    assert "token" not in public and "reporter_key" not in public and public["status"] == "new"
    # Roles: a citizen cannot verify; the operator can; illegal steps are 409.
    problem(client.post(f"{V1}/reports/{rid}/verify", headers=cit), 403)
    problem(client.post(f"{V1}/reports/{rid}/start", headers=op), 409)
    got = client.post(f"{V1}/reports/{rid}/verify", json={"note": "ok"}, headers=op)
    assert got.status_code == 200 and got.json()["status"] == "assigned"
    assert got.json()["unit"] == "dinas_sda" and "reporter_key" in got.json()
    assert client.post(f"{V1}/reports/{rid}/start", headers=op).json()["status"] == "in_progress"
    problem(client.post(f"{V1}/reports/{rid}/resolve", json={"note": "x"}, headers=op), 400)
    problem(
        client.post(
            f"{V1}/reports/{rid}/resolve",
            files={"photo": ("x.jpg", b"not an image at all" * 10, "image/jpeg")},
            headers=op,
        ),
        415,
    )
    done = client.post(
        f"{V1}/reports/{rid}/resolve",
        data={"note": "sudah dibersihkan"},
        files={"photo": ("fixed.jpg", jpeg(seed=5), "image/jpeg")},
        headers=op,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved" and done.json()["resolution_photo_urls"]
    assert client.get(done.json()["resolution_photo_urls"][0]).content.startswith(b"\xff\xd8")
    problem(client.post(f"{V1}/reports/{rid}/confirm", json={"token": "wrong"}), 403)
    ok = client.post(f"{V1}/reports/{rid}/confirm", json={"token": token, "note": "terima kasih"})
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed"
    events = client.get(f"{V1}/reports/{rid}/events").json()
    assert [e["action"] for e in events] == [
        "submit", "verify", "assign", "start", "resolve", "confirm",
    ]  # fmt: skip
    assert all("actor" not in e for e in events)
    op_events = client.get(f"{V1}/reports/{rid}/events", headers=op).json()
    assert op_events[1]["actor"] == "user:operator-laporan"
    # Review (the web issue's endpoint) still works: reject, then restore.
    other = client.post(
        f"{V1}/reports", json={"lon": lon, "lat": lat, "depth_cm": 25}, headers=cit
    ).json()
    assert other["type"] == "flood"
    rv = client.post(f"{V1}/reports/{other['report_id']}/review", json={"status": "rejected"},
                     headers=op)  # fmt: skip
    assert rv.json()["status"] == "rejected"
    problem(client.get(f"{V1}/reports/{other['report_id']}"), 404)
    back = client.post(f"{V1}/reports/{other['report_id']}/review", json={"status": "new"},
                       headers=op)  # fmt: skip
    assert back.json()["status"] == "new"


def test_queue_summary_suggestions_and_filters(world: World, client: TestClient) -> None:
    cit, op = world.headers["citizen"], world.headers["operator"]
    lon, lat = world.point
    ids = [
        client.post(
            f"{V1}/reports", json={"lon": lon, "lat": lat, "depth_cm": d}, headers=cit
        ).json()["report_id"]
        for d in (80, 120)
    ]
    for rid in ids:
        client.post(f"{V1}/reports/{rid}/verify", headers=op)
    floods = client.get(f"{V1}/reports", params={"type": "flood"}).json()
    assert {x["report_id"] for x in floods} >= set(ids)
    assert all(x["type"] == "flood" for x in floods)
    assert floods[0]["cluster_size"] >= 2
    problem(client.get(f"{V1}/reports", params={"type": "volcano"}), 400)
    problem(client.get(f"{V1}/reports", params={"status": "rejected"}), 403)
    problem(client.get(f"{V1}/reports/suggestions"), 401)
    sugg = client.get(f"{V1}/reports/suggestions", headers=op).json()
    mine = next(s for s in sugg if s["rw_id"] == world.rw)
    assert mine["suggested_state"] == 3 and mine["current_state"] == 0
    # Suggestions are not applied: the RW has no state until an operator sets it.
    assert world.rw not in {f["id"] for f in client.get(f"{V1}/rw-states").json()["features"]}
    summary = {r["unit_id"]: r for r in client.get(f"{V1}/reports/summary").json()}
    assert summary[world.rw]["by_type"]["flood"] >= 2
    units = client.get(f"{V1}/reports/units").json()
    assert {u["code"] for u in units["units"]} >= {"bpbd", "pam_jaya", "dinas_lh", "dinas_sda"}
    assert client.get(f"{V1}/reports/overdue", headers=op).status_code == 200
    problem(client.get(f"{V1}/reports/abuse", headers=cit), 403)
    assert isinstance(client.get(f"{V1}/reports/abuse", headers=op).json(), list)


def test_bad_reports_are_refused_and_nothing_is_stored(world: World, client: TestClient) -> None:
    cit = world.headers["citizen"]
    lon, lat = world.point
    before = (count(world, tg_svc_report), count(world, tg_svc_report_photo))
    fields = {"type": "waste_pile", "lon": str(lon), "lat": str(lat)}
    body = problem(
        client.post(
            f"{V1}/reports", data=fields,
            files={"photo": ("x.jpg", b"%PDF-1.4 not a photo" * 40, "image/jpeg")}, headers=cit,
        ),
        415,
    )  # fmt: skip
    assert "PNG or JPEG" in body["detail"] and "bukan gambar" in body["detail_id"]
    out = problem(
        client.post(f"{V1}/reports", json={"type": "waste_pile", "lon": 107.5, "lat": -6.9},
                    headers=cit),
        400,
    )  # fmt: skip
    assert "outside the city" in out["detail"] and "di luar kota" in out["detail_id"]
    problem(client.post(f"{V1}/reports", json={"lon": lon, "lat": lat}, headers=cit), 400)
    problem(
        client.post(f"{V1}/reports", json={"type": "flood_x", "lon": lon, "lat": lat},
                    headers=cit),
        400,
    )  # fmt: skip
    assert (count(world, tg_svc_report), count(world, tg_svc_report_photo)) == before


def test_rate_limit_per_reporter(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGGUH_WEB_RATE_BURST", "2")
    monkeypatch.setenv("TANGGUH_WEB_RATE_PER_MINUTE", "1")
    lon, lat = world.point
    body = {"type": "waste_pile", "lon": lon, "lat": lat}
    with TestClient(create_app(world.url)) as c:
        cit = world.headers["citizen"]
        assert c.post(f"{V1}/reports", json=body, headers=cit).status_code == 201
        assert c.post(f"{V1}/reports", json=body, headers=cit).status_code == 201
        r = c.post(f"{V1}/reports", json=body, headers=cit)
        problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1


# -- the report queue page in a browser -----------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


def _browser_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright not installed"
    return None


@pytest.mark.skipif(_browser_reason() is not None, reason=str(_browser_reason()))
def test_report_queue_page(tmp_path: Path) -> None:
    import socket

    import uvicorn
    from playwright.sync_api import sync_playwright

    from tangguh.services import reports as R

    url = str(tmp_path / "bank.gpkg")
    with open_bank(url) as bank:
        load_city(bank, build_city("small"))
        security.add_user(bank, "operator-ui", PASSWORD, role="operator")
        units = bank.read_layer("admin_units")
        rws = units[units["level"] == "rw"].sort_values("unit_id")
        made = []
        for i, kind in enumerate(("flood", "waste_pile", "water_outage")):
            pt = rws.iloc[5 + 10 * i].geometry.representative_point()
            depth = 60.0 if kind == "flood" else None
            made.append(
                R.submit(bank, R.ReportDraft(pt.x, pt.y, kind, depth, f"uji {kind}"),
                         reporter_id="w", photo=R.check_photo(jpeg(seed=i))).report
            )  # fmt: skip
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
        assert time.monotonic() < deadline
        time.sleep(0.05)
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            closing: list[bool] = []  # requests cut off by closing are not page errors
            page.on(
                "console",
                lambda m: errors.append(m.text) if m.type == "error" and not closing else None,
            )
            page.on("pageerror", lambda e: None if closing else errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/dashboard/reports")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            assert "operator" in page.locator("#reports").inner_text().lower()
            page.fill("#login input[name=username]", "operator-ui")
            page.fill("#login input[name=password]", PASSWORD)
            page.click("#login button[type=submit]")
            page.wait_for_selector(f".report[data-report='{made[0]['report_id']}']")
            assert page.locator(".report").count() == 3
            assert page.locator(".leaflet-interactive").count() >= 3
            # Filter by type, then verify the flood report: it is assigned to BPBD.
            page.select_option("#f-type", "flood")
            page.wait_for_function("document.querySelectorAll('.report').length === 1")
            card = page.locator(f".report[data-report='{made[0]['report_id']}']")
            card.locator("button.verify").click()
            page.wait_for_selector(
                f".report[data-report='{made[0]['report_id']}'][data-status='assigned']"
            )
            assert (
                "BPBD"
                in page.locator(f".report[data-report='{made[0]['report_id']}']").inner_text()
            )
            page.wait_for_selector(".suggestion[data-suggested='2']")
            page.click("#lang")
            page.wait_for_function("document.getElementById('title').textContent.includes('queue')")
            page.screenshot(path=str(tmp_path / "reports_queue.png"))
            closing.append(True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert errors == [], errors
    with open_bank(url) as bank:
        assert R.get_report(bank, made[0]["report_id"])["unit"] == "bpbd"


def test_reporter_sees_own_rejected_report_with_token(world: World, client: TestClient) -> None:
    cit, op = world.headers["citizen"], world.headers["operator"]
    lon, lat = world.point
    body = {"type": "waste_pile", "lon": lon, "lat": lat, "text": "sampah"}
    r = client.post(f"{V1}/reports", json=body, headers=cit)
    assert r.status_code == 201, r.text
    rid, token = r.json()["report_id"], r.json()["token"]
    r = client.post(f"{V1}/reports/{rid}/review", json={"status": "rejected"}, headers=op)
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    problem(client.get(f"{V1}/reports/{rid}"), 404)  # the public sees nothing
    own = client.get(f"{V1}/reports/{rid}", params={"token": token})
    assert own.status_code == 200 and own.json()["status"] == "rejected"
    assert "token" not in own.json() and "reporter_key" not in own.json()
    problem(client.get(f"{V1}/reports/{rid}", params={"token": "wrong-token"}), 403)
