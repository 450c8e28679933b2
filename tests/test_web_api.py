"""The JSON API under /api/v1 (issue 5 §3, §4, §9), through HTTP, on both backends.

A module-scoped "world" per backend: the small demo city, a hazard layer, thresholds
and a live reading that issues a Siaga 3 alert through the chain (alert, deliveries,
incident with tasks), a draft Siaga 2 alert waiting for approval, users of every role
and an operator API key. Tests talk to ``create_app`` with FastAPI's TestClient.
"""

from __future__ import annotations

import os
import re
import struct
import sys
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from lxml import etree
from pyproj import Geod
from sqlalchemy import func, select

from tangguh.bank import LayerMeta, open_bank
from tangguh.bank.base import AnalysisRecord
from tangguh.services.tables.reports import tg_svc_report, tg_svc_report_photo
from tangguh.warning import alerts, cap, chain
from tangguh.warning.model import Reading, Transition, Trigger, WarnedArea
from tangguh.warning.rules import set_station_areas, set_thresholds
from tangguh.web import create_app
from tangguh.web.api import security
from tangguh.web.tables import tg_web_user

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from conftest import drop_pg_schema, new_pg_url

V1 = "/api/v1"
PROBLEM = "application/problem+json"
PASSWORD = "kata-sandi-rahasia-123"
#: Private strings: none may ever appear in a public response.
CONTACTS = ("+6281299990001", "warga.rahasia@example.org", "+6281388887777")


def png(width: int = 4, height: int = 3, text: bytes | None = None) -> bytes:
    """A real, decodable PNG (optionally with a tEXt metadata chunk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    out = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    )
    if text:
        out += chunk(b"tEXt", text)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@dataclass
class World:
    url: str
    backend: str
    point: tuple[float, float]
    rw: str
    kelurahan: str
    draft_alert: str
    issued_alert: str
    key: str
    analysis_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)


def _auth(world: World, role: str) -> dict[str, str]:
    if role == "public":
        return {}
    return {"Authorization": f"Bearer {world.tokens[role]}"}


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    from tangguh.demo import build_city, load_city

    tmp = tmp_path_factory.mktemp("webapi")
    url = str(tmp / "bank.gpkg") if request.param == "gpkg" else new_pg_url() + f"&rasters={tmp}"
    try:
        with open_bank(url) as bank:
            load_city(bank, build_city("small"))
            units = bank.read_layer("admin_units")
            rws = units[units["level"] == "rw"].sort_values("unit_id")
            rw_row = rws.iloc[len(rws) // 2]
            pt = rw_row.geometry.representative_point()
            kel = units[units["unit_id"] == rw_row["parent_id"]].iloc[0]
            # A hazard layer: the kelurahan of the point, medium flood class, 100 cm.
            hazard = gpd.GeoDataFrame(
                {"zone_id": ["z1"], "hazard_class": ["medium"], "depth_cm": [100.0]},
                geometry=[kel.geometry],
                crs="EPSG:4326",
            )
            bank.write_layer(
                "flood_hazard_test",
                hazard,
                LayerMeta(title_id="Zona banjir uji", title_en="Test flood zone", theme="hazard"),
            )
            # The chain: a reading above Siaga 3 issues an alert automatically.
            set_thresholds(bank, "wl_02_up", "water_level", {3: 100.0, 2: 150.0, 1: 200.0})
            set_station_areas(bank, "wl_02_up", [rw_row["unit_id"]])
            now = datetime.now(UTC)
            result = chain.process(bank, [Reading("wl_02_up", "water_level", now, 120.0, "cm")])
            assert result.alerts and result.alerts[0].status == "issued", result.to_json()
            issued = result.alerts[0].alert_id
            # A Siaga 2 draft waits for BPBD approval (default policy).
            tr = Transition(
                "wl_01_up", "water_level", now, 4, 2, 180.0, "level:wl_01_up",
                "level 180 cm", "tinggi 180 cm",
            )  # fmt: skip
            draft = alerts.create_from_trigger(
                bank,
                Trigger(tr, areas=[WarnedArea(rw_row["unit_id"], "wl_01_up", 30, now)]),
            )
            assert draft is not None and draft.status == "draft"
            # A stored analysis (what `tangguh impact` saves) for the analyses endpoints.
            kels = units[units["level"] == "kelurahan"]["unit_id"].tolist()
            results = pd.DataFrame(
                [
                    (u, "medium", "population", metric, value)
                    for u in kels
                    for metric, value in (
                        ("total", 1000.0),
                        ("affected", 100.0),
                        ("displaced", 3.0),
                    )
                ],
                columns=["unit_id", "hazard_class", "exposure", "metric", "value"],
            )
            record = AnalysisRecord(
                kind="flood_impact",
                question="Berapa warga terdampak? / How many people are affected?",
                inputs={"admin_units": {"layer": "admin_units", "version": 1}},
                parameters={},
                level="kelurahan",
                summary={"affected": 100.0 * len(kels)},
            )
            analysis_id = bank.save_analysis(record, results)
            users = {}
            for role in ("citizen", "operator", "admin"):
                users[role] = security.add_user(bank, f"{role}-budi", PASSWORD, role=role).user_id
            _, key = security.create_key(bank, "test dashboard", role="operator")
        old = {k: os.environ.get(k) for k in ("TANGGUH_WEB_RATE_BURST",)}
        os.environ["TANGGUH_WEB_RATE_BURST"] = "100000"
        w = World(
            url,
            request.param,
            (float(pt.x), float(pt.y)),
            str(rw_row["unit_id"]),
            str(kel["unit_id"]),
            draft.alert_id,
            issued,
            key,
            analysis_id,
            users=users,
        )
        try:
            yield w
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        if request.param == "postgis":
            drop_pg_schema(url)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    app = create_app(world.url)
    with TestClient(app) as c:
        for role in ("citizen", "operator", "admin"):
            r = c.post(f"{V1}/auth/token", data={"username": f"{role}-budi", "password": PASSWORD})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["token_type"] == "bearer" and body["role"] == role
            world.tokens[role] = body["access_token"]
        yield c


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["detail"] and body["detail_id"]
    return body


# -- public reads ---------------------------------------------------------------------


def test_units_lookup_and_stations(world: World, client: TestClient) -> None:
    kelurahan = client.get(f"{V1}/units", params={"level": "kelurahan"}).json()
    assert len(kelurahan) == 12 and all(u["level"] == "kelurahan" for u in kelurahan)
    rws = client.get(f"{V1}/units", params={"parent": world.kelurahan}).json()
    assert world.rw in {u["unit_id"] for u in rws}
    one = client.get(f"{V1}/units/{world.kelurahan}").json()
    assert one["geometry"]["type"] in ("Polygon", "MultiPolygon") and world.rw in one["children"]
    lon, lat = world.point
    found = client.get(f"{V1}/lookup", params={"lon": lon, "lat": lat}).json()
    assert found["units"]["rw"]["unit_id"] == world.rw
    assert found["units"]["kelurahan"]["unit_id"] == world.kelurahan

    stations = client.get(f"{V1}/stations", params={"kind": "river_gauge"}).json()
    assert stations and {s["kind"] for s in stations} == {"river_gauge"}
    obs = client.get(
        f"{V1}/stations/wl_01_up/observations",
        params={"parameter": "water_level", "start": "2024-01-02T00:00:00+07:00",
                "end": "2024-01-03T00:00:00+07:00"},
    ).json()  # fmt: skip
    assert obs["count"] == 24 and not obs["truncated"]
    times = [datetime.fromisoformat(o["t"]) for o in obs["observations"]]
    assert times == sorted(times) and times[0] == datetime(2024, 1, 1, 17, tzinfo=UTC)
    limited = client.get(f"{V1}/stations/wl_01_up/observations", params={"limit": 5}).json()
    assert limited["count"] == 5 and limited["truncated"]
    state = client.get(f"{V1}/stations/wl_02_up/state").json()
    assert state["level"] == 3 and state["label_id"] == "Siaga 3"


def test_risk_at_a_point_in_a_hazard(world: World, client: TestClient) -> None:
    lon, lat = world.point
    data = client.get(f"{V1}/risk-at", params={"lon": lon, "lat": lat}).json()
    assert data["units"]["rw"]["unit_id"] == world.rw
    hz = [h for h in data["hazards"] if h["layer"] == "flood_hazard_test"]
    assert hz == [
        {
            "layer": "flood_hazard_test",
            "title_id": "Zona banjir uji",
            "title_en": "Test flood zone",
            "attribute": "hazard_class",
            "value": "medium",
            "depth_cm": 100.0,
        }
    ]
    assert world.issued_alert in {a["alert_id"] for a in data["alerts"]}
    assert world.draft_alert not in {a["alert_id"] for a in data["alerts"]}  # not issued
    geod = Geod(ellps="WGS84")
    with open_bank(world.url) as bank:
        for key, layer in (("nearest_shelter", "shelters"), ("nearest_hospital", "hospitals")):
            frame = bank.read_layer(layer)
            _, _, d = geod.inv(
                np.full(len(frame), lon),
                np.full(len(frame), lat),
                frame.geometry.x,
                frame.geometry.y,
            )
            got = data[key]
            assert got["layer"] == layer
            assert got["distance_m"] == pytest.approx(float(np.min(d)), abs=0.2)
    # Outside every hazard: no hazard entries, still units.
    far = client.get(f"{V1}/risk-at", params={"lon": 100.0, "lat": 0.0}).json()
    assert far["hazards"] == [] and far["units"]["kelurahan"] is None


def test_analyses_and_report(world: World, client: TestClient) -> None:
    listed = client.get(f"{V1}/analyses").json()
    assert [a["id"] for a in listed] == [world.analysis_id]
    assert client.get(f"{V1}/analyses", params={"kind": "other"}).json() == []
    one = client.get(f"{V1}/analyses/{world.analysis_id}").json()
    assert one["kind"] == "flood_impact" and one["result_count"] == 36 and not one["truncated"]
    assert {r["metric"] for r in one["results"]} == {"total", "affected", "displaced"}
    part = client.get(f"{V1}/analyses/{world.analysis_id}", params={"limit": 5}).json()
    assert len(part["results"]) == 5 and part["truncated"]
    html = client.get(one["report_url"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "How many people are affected?" in html.text and "<svg" in html.text


# -- roles -------------------------------------------------------------------------------

WRITES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    # method, path, minimum role, json body
    ("PUT", "/rw-states/{rw}", "operator", {"state": 1, "note": "matrix"}),
    ("POST", "/alerts/no-such-alert/approve", "operator", None),
    ("POST", "/alerts/no-such-alert/cancel", "operator", {"reason_en": "x", "reason_id": "x"}),
    ("POST", "/tasks/no-such-task/ack", "operator", None),
    ("POST", "/reports/no-such-report/review", "operator", {"status": "verified"}),
    ("GET", "/incidents", "operator", None),
    ("POST", "/reports", "citizen", {"lon": 0.0, "lat": 0.0, "depth_cm": 10}),
    ("GET", "/admin/users", "admin", None),
    ("POST", "/admin/keys", "admin", {"label": "matrix key", "role": "citizen"}),
    ("DELETE", "/admin/keys/no-such-key", "admin", None),
    ("GET", "/admin/audit", "admin", None),
]


@pytest.mark.parametrize(("method", "path", "minimum", "body"), WRITES)
def test_role_matrix(
    world: World, client: TestClient, method: str, path: str, minimum: str, body: Any
) -> None:
    path = V1 + path.format(rw=world.rw)
    for role in security.ROLES:
        resp = client.request(method, path, json=body, headers=_auth(world, role))
        if security.rank(role) < security.rank(minimum):
            expected = 401 if role == "public" else 403
            problem(resp, expected)
            if expected == 401:
                assert resp.headers["www-authenticate"].startswith("Bearer")
        else:
            # Allowed: a 2xx, or the 4xx of the resource itself (unknown id, a point
            # outside the city), never 401/403.
            assert resp.status_code not in (401, 403), (role, resp.text)
            assert resp.status_code < 500, resp.text


def test_api_key_and_bad_credentials(world: World, client: TestClient) -> None:
    me = client.get(f"{V1}/auth/me", headers={"X-API-Key": world.key}).json()
    assert me == {"kind": "key", "role": "operator", "name": "test dashboard"}
    ok = client.put(
        f"{V1}/rw-states/{world.rw}", json={"state": 2}, headers={"X-API-Key": world.key}
    )
    assert ok.status_code == 200 and ok.json()["state"] == 2
    problem(client.get(f"{V1}/auth/me", headers={"X-API-Key": "tgk_forged"}), 401)
    forged = "A" * 43
    problem(client.get(f"{V1}/incidents", headers={"Authorization": f"Bearer {forged}"}), 401)
    problem(client.get(f"{V1}/auth/me", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401)
    # A forged token on a public endpoint is refused too, not silently downgraded.
    problem(client.get(f"{V1}/reports", headers={"Authorization": f"Bearer {forged}"}), 401)
    problem(
        client.post(f"{V1}/auth/token", data={"username": "admin-budi", "password": "salah"}), 401
    )
    problem(client.post(f"{V1}/auth/token", data={"username": "nobody", "password": "x" * 12}), 401)
    problem(client.post(f"{V1}/auth/token", json={"username": "admin-budi"}), 400)
    # An expired token and a revoked key.
    with open_bank(world.url) as bank:
        user = security.get_user(bank, "operator-budi")
        expired, _ = security.issue_token(bank, user, ttl=timedelta(seconds=-1))
        record, key = security.create_key(bank, "to revoke", role="admin")
        security.revoke_key(bank, record.key_id)
    body = problem(
        client.get(f"{V1}/incidents", headers={"Authorization": f"Bearer {expired}"}), 401
    )
    assert "expired" in body["detail"] and "kedaluwarsa" in body["detail_id"]
    problem(client.get(f"{V1}/admin/users", headers={"X-API-Key": key}), 401)


def test_passwords_are_scrypt_hashed(world: World, client: TestClient) -> None:
    with open_bank(world.url) as bank, bank.connect() as conn:
        rows = conn.execute(select(tg_web_user.c.username, tg_web_user.c.password_hash)).all()
        tokens = conn.execute(select(func.count()).select_from(security.tg_web_token)).scalar()
    assert rows and tokens
    for _username, stored in rows:
        assert PASSWORD not in stored
        assert re.fullmatch(r"scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}", stored)
    stored = rows[0][1]
    assert security.verify_password(PASSWORD, stored)
    assert not security.verify_password(PASSWORD + "x", stored)
    assert security.hash_password(PASSWORD) != security.hash_password(PASSWORD)  # salted
    for token in world.tokens.values():  # tokens are stored as hashes only
        with open_bank(world.url) as bank, bank.connect() as conn:
            assert not conn.execute(
                select(security.tg_web_token).where(security.tg_web_token.c.token_hash == token)
            ).first()


def test_citizen_self_registration(world: World, client: TestClient) -> None:
    r = client.post(f"{V1}/auth/register", json={"username": "warga-baru", "password": PASSWORD})
    assert r.status_code == 201 and r.json()["role"] == "citizen"
    problem(
        client.post(f"{V1}/auth/register", json={"username": "warga-baru", "password": PASSWORD}),
        400,
    )
    problem(client.post(f"{V1}/auth/register", json={"username": "x", "password": "short"}), 400)
    # A registration cannot ask for a higher role.
    problem(
        client.post(
            f"{V1}/auth/register",
            json={"username": "sneaky", "password": PASSWORD, "role": "admin"},
        ),
        400,
    )
    tok = client.post(f"{V1}/auth/token", data={"username": "warga-baru", "password": PASSWORD})
    assert tok.json()["role"] == "citizen"


# -- alerts ------------------------------------------------------------------------------


def test_alert_approve_cap_feed_and_incident_tasks(world: World, client: TestClient) -> None:
    op = _auth(world, "operator")
    listed = client.get(f"{V1}/alerts", params={"status": "draft"}).json()
    assert world.draft_alert in {a["alert_id"] for a in listed}
    approved = client.post(f"{V1}/alerts/{world.draft_alert}/approve", headers=op)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "issued" and approved.json()["level"] == 2
    problem(client.post(f"{V1}/alerts/{world.draft_alert}/approve", headers=op), 400)  # twice
    active = {a["alert_id"] for a in client.get(f"{V1}/alerts", params={"active": True}).json()}
    assert {world.draft_alert, world.issued_alert} <= active

    xml = client.get(f"{V1}/alerts/{world.draft_alert}/cap.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/cap+xml")
    cap.validate_cap(xml.content)
    root = etree.fromstring(xml.content)
    assert root.findtext(f"{{{cap.CAP_NS}}}msgType") == "Alert"
    v1 = client.get(f"{V1}/alerts/{world.draft_alert}/1.xml")
    assert v1.status_code == 200
    problem(client.get(f"{V1}/alerts/{world.draft_alert}/99.xml"), 404)
    problem(client.get(f"{V1}/alerts/{world.draft_alert}/x.xml"), 400)

    feed = client.get(f"{V1}/alerts/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    atom = etree.fromstring(feed.content)
    links = [e.get("href") for e in atom.iter("{http://www.w3.org/2005/Atom}link")]
    mine = [h for h in links if h and f"/alerts/{world.draft_alert}/" in h]
    assert mine and mine[0].startswith("http://testserver/api/v1/alerts/")
    # The feed's links resolve on this server.
    assert client.get(mine[0].replace("http://testserver", "")).status_code == 200

    incidents = client.get(f"{V1}/incidents", headers=op).json()
    ours = [i for i in incidents if i["alert_id"] == world.draft_alert]
    assert ours, incidents
    detail = client.get(f"{V1}/incidents/{ours[0]['incident_id']}", headers=op).json()
    task = detail["tasks"][0]["task_id"]
    r = client.post(f"{V1}/tasks/{task}/assign", json={"assignee": "Tim SDA"}, headers=op)
    assert r.status_code == 200 and r.json()["assignee"] == "Tim SDA"
    assert client.post(f"{V1}/tasks/{task}/ack", headers=op).json()["status"] == "acknowledged"
    done = client.post(f"{V1}/tasks/{task}/done", json={"note": "selesai"}, headers=op).json()
    assert done["status"] == "done"
    problem(client.post(f"{V1}/tasks/{task}/done", headers=op), 400)


# -- subscriptions, reports, privacy ---------------------------------------------------------


def test_subscriptions_self_service(world: World, client: TestClient) -> None:
    lon, lat = world.point
    r = client.post(
        f"{V1}/subscriptions",
        json={"lon": lon, "lat": lat, "language": "id", "channels": {"sms": CONTACTS[0]}},
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["rw_id"] == world.rw and sub["status"] == "pending" and sub["channels"] == ["sms"]
    assert CONTACTS[0] not in r.text
    token = sub["token"]
    me = client.get(f"{V1}/subscriptions/me", params={"token": token}).json()
    assert me["status"] == "pending"
    confirmed = client.get(sub["confirm_url"])
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "active"
    r2 = client.post(
        f"{V1}/subscriptions",
        json={
            "kelurahan": world.kelurahan,
            "channels": {"email": CONTACTS[1], "whatsapp": CONTACTS[2]},
        },
    )
    assert r2.status_code == 201
    gone = client.post(f"{V1}/subscriptions/unsubscribe", params={"token": r2.json()["token"]})
    assert gone.json()["status"] == "unsubscribed"
    problem(client.get(f"{V1}/subscriptions/me", params={"token": "not-a-real-token"}), 404)
    problem(
        client.post(f"{V1}/subscriptions", json={"lon": lon, "channels": {"sms": CONTACTS[0]}}), 400
    )
    problem(
        client.post(f"{V1}/subscriptions", json={"rw": world.rw, "channels": {"sms": "12"}}), 400
    )
    problem(
        client.post(
            f"{V1}/subscriptions", json={"rw": "rw:none", "channels": {"sms": CONTACTS[0]}}
        ),
        404,
    )
    problem(
        client.post(
            f"{V1}/subscriptions",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        400,
    )


def _count(world: World, table: Any) -> int:
    with open_bank(world.url) as bank, bank.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_reports_with_photos(world: World, client: TestClient) -> None:
    cit, op = _auth(world, "citizen"), _auth(world, "operator")
    lon, lat = world.point
    fields = {"lon": str(lon), "lat": str(lat), "depth_cm": "35", "text": "Air masuk rumah"}
    photo = png(text=b"Author\x00citizen-budi")
    r = client.post(
        f"{V1}/reports", data=fields, files={"photo": ("a.png", photo, "image/png")}, headers=cit
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["rw_id"] == world.rw and rep["kelurahan_id"] == world.kelurahan
    assert rep["status"] == "new" and rep["photo_url"]
    got = client.get(rep["photo_url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content.startswith(b"\x89PNG") and b"citizen-budi" not in got.content  # stripped
    assert b"tEXt" not in got.content and b"IDAT" in got.content
    if world.backend == "gpkg":
        media = Path(world.url).with_suffix(".media") / "reports" / f"{rep['report_id']}.png"
        assert media.read_bytes() == got.content
    else:
        with open_bank(world.url) as bank, bank.connect() as conn:
            data = conn.execute(
                select(tg_svc_report_photo.c.data).where(
                    tg_svc_report_photo.c.report_id == rep["report_id"]
                )
            ).scalar()
        assert bytes(data) == got.content
    plain = client.post(f"{V1}/reports", json={"lon": lon, "lat": lat, "depth_cm": 0}, headers=cit)
    assert plain.status_code == 201 and plain.json()["photo_url"] is None

    before = (_count(world, tg_svc_report), _count(world, tg_svc_report_photo))
    fake = b"this is not a photo, just text pretending to be one\n" * 10
    problem(
        client.post(
            f"{V1}/reports",
            data=fields,
            files={"photo": ("x.jpg", fake, "image/jpeg")},
            headers=cit,
        ),
        415,
    )
    truncated_jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
    problem(
        client.post(
            f"{V1}/reports",
            data=fields,
            files={"photo": ("y.jpg", truncated_jpeg, "image/jpeg")},
            headers=cit,
        ),
        415,
    )
    big = png() + b"\x00" * (5 * 1024 * 1024)
    problem(
        client.post(
            f"{V1}/reports",
            data=fields,
            files={"photo": ("big.png", big, "image/png")},
            headers=cit,
        ),
        413,
    )
    problem(
        client.post(f"{V1}/reports", json={"lon": 100.0, "lat": 0.0, "depth_cm": 10}, headers=cit),
        400,
    )
    problem(
        client.post(f"{V1}/reports", json={"lon": lon, "lat": lat, "depth_cm": 501}, headers=cit),
        400,
    )
    problem(
        client.post(
            f"{V1}/reports",
            json={"lon": lon, "lat": lat, "depth_cm": 5, "text": "x" * 1001},
            headers=cit,
        ),
        400,
    )
    problem(
        client.post(f"{V1}/reports", json={"lon": "abc", "lat": lat, "depth_cm": 5}, headers=cit),
        400,
    )
    problem(client.post(f"{V1}/reports", json=[1, 2], headers=cit), 400)
    problem(
        client.post(
            f"{V1}/reports", content=b"lon=1", headers={**cit, "Content-Type": "text/plain"}
        ),
        415,
    )
    assert (
        _count(world, tg_svc_report),
        _count(world, tg_svc_report_photo),
    ) == before  # nothing stored
    if world.backend == "gpkg":
        folder = Path(world.url).with_suffix(".media") / "reports"
        assert len(list(folder.iterdir())) == 1  # no stray files

    # Review: operators verify or reject; rejected ones leave the public list.
    ok = client.post(
        f"{V1}/reports/{plain.json()['report_id']}/review", json={"status": "rejected"}, headers=op
    )
    assert ok.status_code == 200 and ok.json()["status"] == "rejected"
    public = {x["report_id"] for x in client.get(f"{V1}/reports").json()}
    assert rep["report_id"] in public and plain.json()["report_id"] not in public
    problem(client.get(f"{V1}/reports", params={"status": "rejected"}), 403)
    ops = client.get(f"{V1}/reports", params={"status": "rejected"}, headers=op).json()
    assert [x["report_id"] for x in ops] == [plain.json()["report_id"]]
    problem(client.get(f"{V1}/reports/{plain.json()['report_id']}"), 404)


def test_rw_states_set_log_geojson(world: World, client: TestClient) -> None:
    op = _auth(world, "operator")
    t0 = datetime.now(UTC)
    r = client.put(f"{V1}/rw-states/{world.rw}", json={"state": 3, "note": "air 80 cm"}, headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == 3 and r.json()["class"] == "medium"
    fc = client.get(f"{V1}/rw-states").json()
    assert fc["type"] == "FeatureCollection"
    feat = next(f for f in fc["features"] if f["id"] == world.rw)
    assert feat["properties"]["state"] == 3 and feat["geometry"]["type"] in (
        "Polygon",
        "MultiPolygon",
    )
    assert "actor" not in feat["properties"]
    log = client.get(
        f"{V1}/rw-states/log", params={"unit_id": world.rw, "since": t0.isoformat()}
    ).json()
    assert log[0]["state"] == 3 and log[0]["note"] == "air 80 cm" and "actor" not in log[0]
    op_log = client.get(f"{V1}/rw-states/log", params={"unit_id": world.rw}, headers=op).json()
    assert op_log[0]["actor"] == "user:operator-budi"
    r0 = client.put(f"{V1}/rw-states/{world.rw}", json={"state": 0}, headers=op)
    assert r0.json()["previous"] == 3
    assert world.rw not in {f["id"] for f in client.get(f"{V1}/rw-states").json()["features"]}
    problem(client.put(f"{V1}/rw-states/{world.rw}", json={"state": 5}, headers=op), 400)
    problem(client.put(f"{V1}/rw-states/{world.rw}", json={"state": "high"}, headers=op), 400)
    problem(client.put(f"{V1}/rw-states/rw:unknown", json={"state": 1}, headers=op), 404)
    problem(client.put(f"{V1}/rw-states/{world.kelurahan}", json={"state": 1}, headers=op), 400)
    problem(client.get(f"{V1}/rw-states/log", params={"since": "yesterday"}), 400)
    problem(client.get(f"{V1}/rw-states/log", params={"since": "2024-01-01T00:00:00"}), 400)


def test_audit_log_rows(world: World, client: TestClient) -> None:
    op, adm = _auth(world, "operator"), _auth(world, "admin")
    client.put(f"{V1}/rw-states/{world.rw}", json={"state": 1, "note": "audit"}, headers=op)
    client.put(f"{V1}/rw-states/{world.rw}", json={"state": 1})  # refused: no login
    rows = client.get(f"{V1}/admin/audit", params={"limit": 50}, headers=adm).json()
    ok = next(r for r in rows if r["method"] == "PUT" and r["outcome"] == "ok")
    assert ok["actor"] == "user:operator-budi" and ok["object_id"] == world.rw
    assert ok["role"] == "operator" and ok["status"] == 200
    assert ok["ip_hash"] and "testclient" not in ok["ip_hash"]
    denied = next(r for r in rows if r["outcome"] == "denied")
    assert denied["actor"] == "anonymous" and denied["status"] == 401
    only = client.get(f"{V1}/admin/audit", params={"outcome": "denied"}, headers=adm).json()
    assert only and {r["outcome"] for r in only} == {"denied"}
    # Every write so far has a row: logins, subscriptions, reports, approvals.
    methods = {(r["method"], r["path"].split("/")[3]) for r in client.get(
        f"{V1}/admin/audit", params={"limit": 10_000}, headers=adm).json()}  # fmt: skip
    assert ("POST", "auth") in methods and ("PUT", "rw-states") in methods


def test_privacy_no_contacts_or_reporters_in_public_responses(
    world: World, client: TestClient
) -> None:
    cit = _auth(world, "citizen")
    lon, lat = world.point
    client.post(f"{V1}/subscriptions", json={"rw": world.rw, "channels": {"sms": CONTACTS[0]}})
    client.post(
        f"{V1}/reports",
        json={"lon": lon, "lat": lat, "depth_cm": 20, "text": "banjir"},
        headers=cit,
    )
    reports = client.get(f"{V1}/reports").json()
    assert reports
    ids = {
        "unit_id": world.rw,
        "station_id": "wl_01_up",
        "alert_id": world.issued_alert,
        "report_id": reports[0]["report_id"],
        "analysis_id": world.analysis_id,
        "incident_id": "none",
    }
    spec = client.get("/api").json()
    secrets_ = [*CONTACTS, *world.users.values(), "citizen-budi"]
    scanned = 0
    for path, item in spec["paths"].items():
        if not path.startswith(V1) or "get" not in item or "subscriptions/" in path:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)
        params = {"lon": lon, "lat": lat} if path.endswith(("lookup", "risk-at")) else {}
        resp = client.get(url, params=params)
        scanned += 1
        assert resp.status_code < 500, (url, resp.text)
        for s in secrets_:
            assert s not in resp.text, (url, s)
    assert scanned >= 20
    # The subscriber's own view (with the token) has no contact either.
    sub = client.post(
        f"{V1}/subscriptions", json={"rw": world.rw, "channels": {"sms": CONTACTS[2]}}
    ).json()
    for url in (f"{V1}/subscriptions/me", f"{V1}/subscriptions/confirm"):
        assert CONTACTS[2] not in client.get(url, params={"token": sub["token"]}).text


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/lookup", {"lon": "abc", "lat": "-6.1"}, 400),
        ("/lookup", {"lon": "nan", "lat": "-6.1"}, 400),
        ("/lookup", {"lon": "500", "lat": "-6.1"}, 400),
        ("/lookup", {"lon": "106.8"}, 400),
        ("/risk-at", {"lon": "inf", "lat": "1"}, 400),
        ("/units", {"level": "galaxy"}, 400),
        ("/units/rw:nope", {}, 404),
        ("/stations/nope", {}, 404),
        ("/stations/nope/state", {}, 404),
        ("/stations/wl_01_up/observations", {"start": "31/12/2024"}, 400),
        (
            "/stations/wl_01_up/observations",
            {"start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
            400,
        ),
        ("/stations/wl_01_up/observations", {"limit": "0"}, 400),
        ("/stations/wl_01_up/observations", {"start": "99999-01-01T00:00:00Z"}, 400),
        ("/alerts", {"status": "maybe"}, 400),
        ("/alerts", {"active": "perhaps"}, 400),
        ("/alerts/nope", {}, 404),
        ("/alerts/nope/cap.xml", {}, 404),
        ("/analyses/nope", {}, 404),
        ("/analyses/nope/report.html", {}, 404),
        ("/reports/nope", {}, 404),
        ("/reports/nope/photo", {}, 404),
        ("/reports", {"status": "lost"}, 400),
        ("/reports", {"limit": "-1"}, 400),
        ("/subscriptions/me", {"token": "short"}, 400),
        ("/nothing-here", {}, 404),
    ],
)
def test_bad_input_is_a_problem_not_a_crash(
    client: TestClient, path: str, params: dict[str, str], status: int
) -> None:
    problem(client.get(V1 + path, params=params), status)


def test_rate_limit_and_cors(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGGUH_WEB_RATE_BURST", "2")
    monkeypatch.setenv("TANGGUH_WEB_RATE_PER_MINUTE", "1")
    monkeypatch.setenv("TANGGUH_WEB_CORS_ORIGINS", "https://peta.example.org")
    body = {"rw": world.rw, "channels": {"sms": CONTACTS[0]}}
    with TestClient(create_app(world.url)) as c:
        assert c.post(f"{V1}/subscriptions", json=body).status_code == 201
        assert c.post(f"{V1}/subscriptions", json=body).status_code == 201
        r = c.post(f"{V1}/subscriptions", json=body)
        problem(r, 429)
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "1" in r.json()["detail_id"] or "detik" in r.json()["detail_id"]
        # Another bucket is independent; register has its own.
        assert (
            c.post(
                f"{V1}/auth/register", json={"username": "rate-1", "password": PASSWORD}
            ).status_code
            == 201
        )
        pre = c.options(
            f"{V1}/reports",
            headers={"Origin": "https://peta.example.org", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization"},
        )  # fmt: skip
        assert pre.headers["access-control-allow-origin"] == "https://peta.example.org"
        other = c.get(f"{V1}/alerts", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
    with open_bank(world.url) as bank:
        from tangguh.web.api.admin import audit_log

        assert any(r["outcome"] == "rate_limited" for r in audit_log(bank, outcome="rate_limited"))
    monkeypatch.delenv("TANGGUH_WEB_CORS_ORIGINS")
    with TestClient(create_app(world.url)) as c:
        r = c.get(f"{V1}/alerts", headers={"Origin": "https://peta.example.org"})
        assert "access-control-allow-origin" not in r.headers  # same-origin only by default


def test_observation_push_route_is_mounted(client: TestClient) -> None:
    r = client.post(f"{V1}/observations", json={"station_id": "wl_01_up", "value": 1})
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/api").json()
    assert spec["openapi"].startswith("3.0")
    paths = spec["paths"]
    wanted = ["/units", "/risk-at", "/alerts/{alert_id}/approve", "/reports"]
    wanted += ["/rw-states/{unit_id}", "/auth/token", "/admin/audit"]
    for path in wanted:
        assert V1 + path in paths, path
    for path, item in paths.items():
        if path.startswith(V1):
            for method, op in item.items():
                assert op.get("summary"), (method, path)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["type"] == "oauth2"
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"


def test_schemathesis_get_endpoints_never_5xx(world: World, client: TestClient) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    if world.backend != "gpkg":
        pytest.skip("one backend is enough for the fuzzing run (the same handlers)")
    schema = schemathesis.openapi.from_asgi("/api", client.app)
    errors: list[str] = []
    ops = [
        op.ok()
        for op in schema.get_all_operations()
        if op.ok().method.upper() == "GET" and op.ok().path.startswith(V1)
    ]
    assert len(ops) >= 20

    def run(op: Any) -> None:
        @settings(
            max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=op.as_strategy())
        def check(case: Any) -> None:
            calls.append(1)
            resp = case.call()
            if resp.status_code >= 500:
                errors.append(f"{op.method} {case.formatted_path} {case.query}: {resp.status_code}")

        check()

    calls: list[int] = []
    for op in ops:
        run(op)
    assert len(calls) > 2 * len(ops)
    assert not errors, errors
