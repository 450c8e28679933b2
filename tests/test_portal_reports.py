"""The citizens' portal report flow in a real browser (issue 6 §4): report types, the
reporter token kept in the browser, "my reports" with status and SLA flags, and the
reporter confirming or reopening a resolved report.

A real uvicorn server over a GeoPackage bank with the small demo city; Debian's Chromium
driven by Playwright on a phone-size viewport. Operators act through the HTTP API and the
CLI, as they would. Screenshots are saved in the test's tmp dir.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from tangguh.bank import open_bank
from tangguh.cli.main import app as cli
from tangguh.demo import build_city, load_city
from tangguh.services import reports as svc
from tangguh.web import create_app
from tangguh.web.api import security

sys.path.insert(0, str(Path(__file__).parent))
from conftest import drop_pg_schema, new_pg_url
from test_reports_lifecycle import GPS_LAT, jpeg

CHROMIUM = "/usr/bin/chromium"
OPERATOR = ("petugas-portal", "Petugas-pass-2024!")
CITIZEN = ("warga-portal", "Warga-pass-2024!")
V1 = "/api/v1"
UNKNOWN = "0000000000000000"  # a report id that does not exist


def _playwright_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (apt install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright not installed"
    return None


pytestmark = pytest.mark.skipif(_playwright_reason() is not None, reason=str(_playwright_reason()))


# -- server, browser, photos ----------------------------------------------------------------------
@dataclass
class Server:
    url: str
    bank_url: str
    water: tuple[float, float]  # a point in a water service zone
    water_operator: str
    flood: tuple[float, float]  # a point in another RW


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The app under uvicorn over a GeoPackage bank (photos in ``<bank>.media``) or a
    PostGIS bank (photos in a bytea column)."""
    tmp = tmp_path_factory.mktemp("portal_reports")
    if request.param == "gpkg":
        bank_url = str(tmp / "bank.gpkg")
    else:
        bank_url = new_pg_url() + f"&rasters={tmp}"
    try:
        yield from _serve(bank_url)
    finally:
        if request.param == "postgis":
            drop_pg_schema(bank_url)


def _serve(bank_url: str) -> Iterator[Server]:
    with open_bank(bank_url) as bank:
        load_city(bank, build_city("small"))
        security.add_user(bank, OPERATOR[0], OPERATOR[1], role="operator")
        security.add_user(bank, CITIZEN[0], CITIZEN[1], role="citizen")
        units = bank.read_layer("admin_units")
        zones = bank.read_layer("water_service_zones")
    rws = units[units["level"] == "rw"].sort_values("unit_id")
    points = rws.geometry.representative_point()
    zone_of = [zones[zones.contains(p)] for p in points]
    i = next(k for k, z in enumerate(zone_of) if len(z))
    j = next(k for k in range(len(rws) - 1, -1, -1) if k != i)
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(
            create_app(bank_url),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield Server(
            f"http://127.0.0.1:{port}",
            bank_url,
            (float(points.iloc[i].x), float(points.iloc[i].y)),
            str(zone_of[i]["operator"].iloc[0]),
            (float(points.iloc[j].x), float(points.iloc[j].y)),
        )
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 390x844 page that fails the test on any browser console error (except the 404 of
    the unknown report the test asks for on purpose)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    errors: list[str] = []

    def console(m: Any) -> None:
        if m.type == "error" and not str(m.location.get("url", "")).endswith(f"/{UNKNOWN}"):
            errors.append(f"{m.text} {m.location.get('url', '')}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def _png(width: int = 320, height: int = 180) -> bytes:
    """A resolution photo: sky over a cleared street (RGB rows, no metadata)."""
    rows = []
    for y in range(height):
        if y < height * 0.45:
            rgb = bytes((120 + y // 3, 170 + y // 4, 230))
        else:
            rgb = bytes((96 - (y - height // 2) // 6, 100, 104))
        rows.append(b"\x00" + rgb * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


# -- helpers ------------------------------------------------------------------------------------
def _operator(server: Server) -> dict[str, str]:
    r = httpx.post(
        f"{server.url}{V1}/auth/token",
        data={"grant_type": "password", "username": OPERATOR[0], "password": OPERATOR[1]},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _open_portal(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/portal")
    page.wait_for_selector("body[data-ready='1']")


def _tap(page: Any, lon: float, lat: float) -> None:
    """Tap the map at (lon, lat) like a finger would."""
    x, y = page.evaluate(
        """([lon, lat]) => {
          const m = window.tangguhPortal.map;
          m.setView([lat, lon], 15, {animate: false});
          const p = m.latLngToContainerPoint([lat, lon]);
          const r = document.getElementById('map').getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }""",
        [lon, lat],
    )
    page.mouse.click(x, y)
    page.wait_for_selector("#risk-panel", timeout=15_000)


def _login_citizen(page: Any) -> None:
    page.fill("#citizen-login input[name=username]", CITIZEN[0])
    page.fill("#citizen-login input[name=password]", CITIZEN[1])
    page.click("#citizen-login button[type=submit]")
    page.wait_for_selector("#citizen-login", state="detached")


def _stored(page: Any) -> list[dict[str, Any]]:
    raw = page.evaluate("localStorage.getItem('tangguh.myreports')")
    return list(json.loads(raw or "[]"))


def _my_reports(page: Any) -> None:
    page.click("[data-tab=report]")
    page.click("[data-view=mine]")
    page.wait_for_selector("#report-mine:not([hidden])")


def _card(report_id: str, status: str) -> str:
    return f".myreport[data-report='{report_id}'][data-status='{status}']"


# -- the full flow ------------------------------------------------------------------------------
def test_water_outage_reported_resolved_and_confirmed(
    server: Server, phone: Any, tmp_path: Path
) -> None:
    page = phone
    photo = tmp_path / "pipa.jpg"
    photo.write_bytes(jpeg(320, 240, seed=3))  # with an EXIF GPS position
    _open_portal(page, server)
    _tap(page, *server.water)
    page.click("[data-tab=report]")
    _login_citizen(page)

    # flood is the default type and asks for the depth; a water outage does not
    assert page.input_value("#report-type") == "flood"
    assert page.is_visible("#report-depth")
    page.select_option("#report-type", "water_outage")
    assert page.is_hidden("#report-depth")
    assert "24 jam" in page.inner_text("#report-sla")  # the SLA of the type, from the API
    page.fill("#report-text", "Air PAM mati sejak pagi")
    page.set_input_files("#report-photo", str(photo))
    page.locator("#report-type").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "portal_report_form.png"))
    page.click("#report button[type=submit]")
    ok = page.wait_for_selector("#report-ok", timeout=15_000)
    assert ok is not None
    report_id = ok.get_attribute("data-report") or ""
    assert ok.get_attribute("data-status") == "new"
    ok.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "portal_report_sent.png"))
    assert "Baru" in ok.inner_text()

    # the token is kept in the browser and is the reporter's token
    stored = _stored(page)
    assert [e["id"] for e in stored] == [report_id] and stored[0]["type"] == "water_outage"
    token = stored[0]["token"]
    assert len(token) >= 32
    assert page.text_content("#report-token") == token
    report = httpx.get(f"{server.url}{V1}/reports/{report_id}").json()
    assert report["type"] == "water_outage" and report["depth_cm"] is None
    assert report["status"] == "new" and report["text"] == "Air PAM mati sejak pagi"
    sent = httpx.get(server.url + report["photo_url"]).content
    assert sent[:3] == b"\xff\xd8\xff" and GPS_LAT not in sent  # the GPS position is gone

    # my reports: the status and the SLA times from the API; the map gives way to the list
    page.click("#report-to-mine")
    card = page.wait_for_selector(_card(report_id, "new"))
    assert card is not None
    text = card.inner_text()
    assert "Air PAM mati" in text and "Menunggu verifikasi" in text
    assert "Target sampai ke unit" in text and "Target selesai" in text
    assert page.is_hidden("#map")
    assert page.text_content("#mine-count") == "1"

    # an operator verifies (the zone's operator gets it) and starts, over HTTP
    op = _operator(server)
    verified = httpx.post(f"{server.url}{V1}/reports/{report_id}/verify", json={}, headers=op)
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "assigned"
    assert verified.json()["unit_name"] == server.water_operator
    page.click("#mine-refresh")
    card = page.wait_for_selector(_card(report_id, "assigned"))
    assert card is not None and f"Ditangani oleh: {server.water_operator}" in card.inner_text()
    started = httpx.post(f"{server.url}{V1}/reports/{report_id}/start", json={}, headers=op)
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    # confirming before the fix is refused by the server, not only hidden by the page
    early = httpx.post(f"{server.url}{V1}/reports/{report_id}/confirm", json={"token": token})
    assert early.status_code == 409
    resolved = httpx.post(
        f"{server.url}{V1}/reports/{report_id}/resolve",
        data={"note": "pipa diganti"},
        files={"photo": ("after.png", _png(), "image/png")},
        headers=op,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    # the citizen comes back later (new page load): resolved, with the resolution photo
    _open_portal(page, server)
    _my_reports(page)
    card = page.wait_for_selector(_card(report_id, "resolved"))
    assert card is not None
    assert "Selesai dikerjakan" in card.inner_text()
    page.wait_for_function(
        "(id) => { const i = document.querySelector(`.myreport[data-report='${id}'] "
        "img.resolution-photo`); return i && i.complete && i.naturalWidth === 320; }",
        arg=report_id,
    )
    assert "attention" in (page.get_attribute("#mine-count", "class") or "")
    page.locator(_card(report_id, "resolved")).scroll_into_view_if_needed()
    shot = tmp_path / "portal_my_reports_resolved.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # history: the public events, without actors or notes
    page.click(f"{_card(report_id, 'resolved')} details summary")
    page.wait_for_selector(f"{_card(report_id, 'resolved')} ol.events li >> nth=4")
    history = page.inner_text(f"{_card(report_id, 'resolved')} ol.events")
    assert "Sedang dikerjakan" in history and "pipa diganti" not in history

    # the reporter confirms (selesai) with a note
    page.fill(f"{_card(report_id, 'resolved')} textarea.note", "Air sudah mengalir lagi")
    page.click(f"{_card(report_id, 'resolved')} button.confirm")
    card = page.wait_for_selector(_card(report_id, "confirmed"))
    assert card is not None and "Selesai (dikonfirmasi)" in card.inner_text()
    assert page.locator(f"{_card(report_id, 'confirmed')} button.confirm").count() == 0
    page.screenshot(path=str(tmp_path / "portal_my_reports_confirmed.png"))
    events = httpx.get(f"{server.url}{V1}/reports/{report_id}/events", headers=op).json()
    assert [e["status_to"] for e in events][-1] == "confirmed"
    assert events[-1]["actor"] == "reporter" and events[-1]["note"] == "Air sudah mengalir lagi"


def test_flood_report_reopened_in_english_and_overdue_flags(
    server: Server, phone: Any, tmp_path: Path
) -> None:
    page = phone
    _open_portal(page, server)
    page.click("#lang")  # English
    _tap(page, *server.flood)
    page.click("[data-tab=report]")
    _login_citizen(page)
    assert page.text_content("#report-send h2") == "Report a problem"
    page.fill("#report-depth", "35")
    page.fill("#report-text", "Water in the street")
    page.click("#report button[type=submit]")
    ok = page.wait_for_selector("#report-ok", timeout=15_000)
    assert ok is not None
    report_id = ok.get_attribute("data-report") or ""
    assert "New" in ok.inner_text()
    assert httpx.get(f"{server.url}{V1}/reports/{report_id}").json()["depth_cm"] == 35

    # operators act through the CLI on the same bank
    after = tmp_path / "kering.png"
    after.write_bytes(_png(200, 120))
    runner = CliRunner()
    for args in (
        ["verify", report_id],
        ["start", report_id],
        ["resolve", report_id, "--photo", str(after), "--note", "pompa dinyalakan"],
    ):
        result = runner.invoke(
            cli, ["reports", *args, "--bank", server.bank_url, "--actor", "cli:bpbd"]
        )
        assert result.exit_code == 0, result.output

    # a report sent 8 h ago on another device, never verified: added with its code
    with open_bank(server.bank_url) as bank:
        old = svc.submit(
            bank,
            svc.ReportDraft(*server.flood, type="blocked_drain", text="got mampet"),
            reporter_id="other-device",
            now=datetime.now(UTC) - timedelta(hours=8),
        )
    old_id = str(old.report["report_id"])

    _my_reports(page)
    page.click("#mine-add summary")
    page.fill("#mine-add-id", old_id)
    page.fill("#mine-add-token", old.token)
    page.click("#mine-add-form button[type=submit]")
    overdue = page.wait_for_selector(_card(old_id, "new"))
    assert overdue is not None
    assert overdue.query_selector("[data-flag='reach_overdue']") is not None
    assert "Overdue: not at the unit yet" in overdue.inner_text()
    assert "Blocked drain" in overdue.inner_text()
    # an unknown report (e.g. rejected) can be removed from the list
    page.click("#mine-add summary")
    page.fill("#mine-add-id", UNKNOWN)
    page.fill("#mine-add-token", "x" * 32)
    page.click("#mine-add-form button[type=submit]")
    gone = page.wait_for_selector(f".myreport[data-report='{UNKNOWN}'][data-status='gone']")
    assert gone is not None and "Report not found" in gone.inner_text()
    page.click(f".myreport[data-report='{UNKNOWN}'] button.forget")
    page.wait_for_selector(f".myreport[data-report='{UNKNOWN}']", state="detached")
    assert {e["id"] for e in _stored(page)} == {report_id, old_id}

    # resolved: reopening needs a note; with one, the report goes back to the unit
    card = page.wait_for_selector(_card(report_id, "resolved"))
    assert card is not None and "Resolved" in card.inner_text()
    assert "Handled by: Jakarta Disaster Management Agency (BPBD)" in card.inner_text()
    page.click(f"{_card(report_id, 'resolved')} button.reopen")
    page.wait_for_selector(".toast.error")
    assert httpx.get(f"{server.url}{V1}/reports/{report_id}").json()["status"] == "resolved"
    page.fill(f"{_card(report_id, 'resolved')} textarea.note", "Air masih setinggi lutut")
    page.click(f"{_card(report_id, 'resolved')} button.reopen")
    card = page.wait_for_selector(_card(report_id, "reopened"))
    assert card is not None and "Reopened" in card.inner_text()
    page.screenshot(path=str(tmp_path / "portal_my_reports_reopened.png"))
    with open_bank(server.bank_url) as bank:
        events = svc.events(bank, report_id, private=True)
    assert events[-1]["status_to"] == "reopened" and events[-1]["actor"] == "reporter"
    assert events[-1]["note"] == "Air masih setinggi lutut"
    # the token of a report is not accepted for another one
    wrong = httpx.post(f"{server.url}{V1}/reports/{report_id}/confirm", json={"token": old.token})
    assert wrong.status_code == 403
