"""Observations in: QC, ingest (validation, keys, HTTP), MQTT, DSDA and BMKG pollers, CLI.

Real services: the Mosquitto broker at 127.0.0.1:1883, a real HTTP server on a free
local port serving the feeds, both bank backends. Real data: the Katulampa/Depok/
Manggarai hourly series and the BMKG RSS + CAP sample in ../shared/data (read in place).
The DSDA feed has no recorded sample: the test writes one from the real DSDA gauge
names/coordinates and the real Siaga thresholds.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.errors import FetchError, NotFoundError
from tangguh.io.observations import observations_from_csv
from tangguh.warning import ingest, pollers, qc
from tangguh.warning.model import Reading
from tangguh.warning.mqtt import MqttIngest
from tangguh.warning.tables.obs import tg_ingest_key

WIB = timezone(timedelta(hours=7))
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=WIB)
NOW = T0 + timedelta(days=1)
CSV = "jakarta/water-level-gauges/katulampa_depok_manggarai_hourly_2021-2025.csv"
runner = CliRunner()


def _stations(bank: Bank, *ids: str) -> None:
    bank.write_stations(
        pd.DataFrame(
            {
                "station_id": list(ids),
                "kind": "river_gauge",
                "lon": 106.85,
                "lat": -6.2,
                "name": [i.title() for i in ids],
            }
        )
    )


def _wl(sid: str, t: datetime, value: Any, **extra: Any) -> dict[str, Any]:
    return {"station_id": sid, "parameter": "water_level", "t": t, "value": value, **extra}


def _series(bank: Bank, sid: str = "manggarai") -> pd.DataFrame:
    return bank.observations(sid).reset_index(drop=True)


# -- QC ------------------------------------------------------------------------------------


def _real_csv(shared: Path) -> pd.DataFrame:
    return observations_from_csv(
        shared / CSV,
        time_column="Tanggal",
        tz="Asia/Jakarta",
        columns={"Katulampa (air)": "katulampa", "Manggarai (air)": "manggarai"},
    )


def test_qc_flags_the_real_manggarai_spike(shared: Path) -> None:
    obs = _real_csv(shared)
    assert len(obs) == 2 * 31_224
    out = qc.check(obs)
    assert len(out) == len(obs), "QC flags, never drops"
    m = out[out["station_id"] == "manggarai"].set_index("t")
    at = pd.Timestamp("2021-10-18 08:00", tz="Asia/Jakarta")
    hour = pd.Timedelta(hours=1)
    # The known spurious reading: 10 cm between 580 cm neighbours.
    assert m.loc[at, "value"] == 10.0 and m.loc[at, "quality"] == "spike"
    assert "580" in m.loc[at, "qc_reason"] and "lonjakan" in m.loc[at, "qc_reason_id"]
    assert m.loc[at - hour, "quality"] != "spike" and m.loc[at + hour, "quality"] != "spike"
    spikes = m[m["quality"] == "spike"]
    assert (spikes["value"] < 100).sum() == 13  # every reading < 100 cm in the series
    # A real Katulampa flood peak (10 -> 180 -> 120 -> 80 cm) is not a spike.
    k = out[out["station_id"] == "katulampa"].set_index("t")
    peak = pd.Timestamp("2022-08-14 19:00", tz="Asia/Jakarta")
    assert k.loc[peak, "value"] == 180.0 and k.loc[peak, "quality"] == "ok"


def test_qc_flat_range_and_station_override() -> None:
    t = pd.date_range("2026-01-01", periods=40, freq="h", tz="Asia/Jakarta")
    values = [300.0 + (i % 3) for i in range(10)] + [250.0] * 30
    frame = pd.DataFrame({"station_id": "s", "parameter": "water_level", "t": t, "value": values})
    frame.loc[5, "value"] = 2500.0
    out = qc.check(frame)
    assert out.loc[5, "quality"] == "range" and "2500" in out.loc[5, "qc_reason"]
    flat = out.index[out["quality"] == "flat"]
    # the run of 250 starts at row 10: flagged from 24 h later (row 34) on
    assert list(flat) == list(range(34, 40))
    assert "24" in out.loc[34, "qc_reason"] and "garis datar" in out.loc[34, "qc_reason_id"]
    attrs = {"s": {"qc": {"water_level": {"max": 3000, "flat_hours": 0}}}}
    over = qc.check(frame, stations=attrs)
    assert over.loc[5, "quality"] == "spike", "within the station's range, but a spike"
    assert set(over.drop(index=5)["quality"]) == {"ok"}
    rain = frame.assign(parameter="rainfall", value=0.0)
    assert set(qc.check(rain)["quality"]) == {"ok"}, "rain is often 0 for days"


def test_cli_obs_import_then_qc_recheck(bank_url: str, shared: Path, tmp_path: Path) -> None:
    """Bulk history goes in with `tangguh obs import`; `observe qc --recheck` flags it."""
    with open_bank(bank_url) as b:
        _stations(b, "manggarai")
    res = runner.invoke(
        app,
        [
            "obs", "import", str(shared / CSV), "--time-column", "Tanggal",
            "--tz", "Asia/Jakarta", "--column", "Manggarai (air)=manggarai",
            "--bank", bank_url, "--json",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["observations"] == 31_224
    res = runner.invoke(app, ["observe", "qc", "manggarai", "--bank", bank_url, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout) == []  # nothing flagged yet
    args = ["observe", "qc", "manggarai", "--recheck", "--write", "--bank", bank_url, "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = {r["t"]: r for r in json.loads(res.stdout)}
    assert rows["2021-10-18T08:00:00+07:00"]["quality"] == "spike"
    with open_bank(bank_url) as b:
        stored = b.observations("manggarai", start=T0.replace(year=2021, month=10, day=18))
    assert stored.set_index("t").loc["2021-10-18 01:00:00+00:00", "quality"] == "spike"


# -- ingest --------------------------------------------------------------------------------


def test_accept_rejects_bad_input_and_leaves_the_bank_unchanged(bank: Bank) -> None:
    _stations(bank, "manggarai")
    first = ingest.accept(
        bank, [_wl("manggarai", T0 + timedelta(hours=i), 600) for i in range(3)], source="t",
        now=NOW,
    )  # fmt: skip
    assert first.accepted == 3 and not first.rejected
    before = _series(bank)
    bad = [
        _wl("nowhere", T0, 600),
        _wl("manggarai", "2026-01-05T05:00:00", 600),
        _wl("manggarai", NOW + timedelta(hours=1), 600),
        _wl("manggarai", T0 + timedelta(hours=4), "tinggi"),
        _wl("manggarai", T0 + timedelta(hours=4), float("nan")),
        _wl("manggarai", T0 + timedelta(hours=4), 6.0, unit="m"),
        _wl("manggarai", "kemarin", 600),
        {"station_id": "manggarai", "t": T0, "value": 1},
        _wl("manggarai", T0 + timedelta(hours=1), 612),  # stored as 600
        "not an object",
    ]
    report = ingest.accept(bank, bad, source="t", now=NOW)
    codes = [r.code for r in report.rejected]
    assert codes == [
        "unknown_station", "naive_time", "future_time", "not_numeric", "not_numeric",
        "bad_unit", "bad_time", "bad_parameter", "conflict", "not_object",
    ]  # fmt: skip
    assert [r.row for r in report.rejected] == list(range(10))
    for r in report.rejected:
        assert r.reason_en and r.reason_id and r.reason_en != r.reason_id
    assert "tidak dikenal" in report.rejected[0].reason_id
    assert "zona waktu" in report.rejected[1].reason_id
    assert "600" in report.rejected[8].reason_en and "obs import" in report.rejected[8].reason_en
    assert report.accepted == 0
    pd.testing.assert_frame_equal(_series(bank), before)
    # The same value again is a duplicate, not an error; nothing changes either.
    again = ingest.accept(bank, [_wl("manggarai", T0, 600.0)], source="other", now=NOW)
    assert again.duplicates == 1 and again.accepted == 0 and not again.rejected
    pd.testing.assert_frame_equal(_series(bank), before)


def test_accept_qc_late_readings_and_spike_revision(bank: Bank) -> None:
    _stations(bank, "manggarai")
    seen: list[list[Reading]] = []

    def chain(_bank: Bank, readings: list[Reading]) -> None:
        seen.append(readings)

    hours = [T0 + timedelta(hours=i) for i in range(6)]
    ingest.accept(bank, [_wl("manggarai", t, 580) for t in hours], source="t", now=NOW)
    # A live drop to 10 cm: flagged spike, stored, handed on with the flag.
    r = ingest.accept(
        bank, [_wl("manggarai", T0 + timedelta(hours=6), 10)], source="t", now=NOW,
        on_accepted=chain,
    )  # fmt: skip
    assert r.accepted == 1 and r.flagged == 1 and r.flags[0]["quality"] == "spike"
    assert seen[-1][0].quality == "spike" and seen[-1][0].value == 10.0
    # The river really jumps: 580 -> 900 (flagged live) -> 905 (confirms: 900 revised to ok)
    ingest.accept(bank, [_wl("manggarai", T0 + timedelta(hours=7), 580)], source="t", now=NOW)
    r = ingest.accept(
        bank, [_wl("manggarai", T0 + timedelta(hours=8), 900)], source="t", now=NOW,
        on_accepted=chain,
    )  # fmt: skip
    assert seen[-1][0].quality == "spike"
    r = ingest.accept(
        bank, [_wl("manggarai", T0 + timedelta(hours=9), 905)], source="t", now=NOW,
        on_accepted=chain,
    )  # fmt: skip
    assert r.revised == 1 and seen[-1][0].quality == "ok"
    stored = _series(bank).set_index("t")["quality"]
    assert stored[pd.Timestamp(T0 + timedelta(hours=8))] == "ok"
    assert stored[pd.Timestamp(T0 + timedelta(hours=6))] == "spike"
    # A late reading (older than the latest stored): stored, QC'd, handed on as "late".
    r = ingest.accept(
        bank, [_wl("manggarai", T0 + timedelta(hours=2, minutes=30), 581)], source="t",
        now=NOW, on_accepted=chain,
    )  # fmt: skip
    assert r.late == 1 and r.accepted == 1 and seen[-1][0].quality == "late"
    assert (
        _series(bank).set_index("t").loc[pd.Timestamp(T0 + timedelta(hours=2.5)), "quality"] == "ok"
    )
    # A frame and Reading objects are accepted too.
    frame = pd.DataFrame([_wl("manggarai", T0 + timedelta(hours=10), 905.0)])
    assert ingest.accept(bank, frame, source="t", now=NOW).accepted == 1
    reading = Reading("manggarai", "water_level", T0 + timedelta(hours=11), 906.0)
    assert ingest.accept(bank, [reading], source="t", now=NOW).accepted == 1
    assert len(_series(bank)) == 13


def test_push_keys(bank: Bank) -> None:
    _stations(bank, "manggarai", "katulampa")
    key = ingest.create_key(bank, "sensor-ciliwung", "manggarai", note="pilot")
    open_key = ingest.create_key(bank, "bpbd-app")
    with bank.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(tg_ingest_key)).mappings()]
    assert len(rows) == 2 and all(key not in json.dumps(r, default=str) for r in rows)
    assert ingest.verify_key(bank, key, "manggarai") == "sensor-ciliwung"
    assert ingest.verify_key(bank, open_key, "katulampa") == "bpbd-app"
    with pytest.raises(ingest.KeyError_) as info:
        ingest.verify_key(bank, key, "katulampa")
    assert info.value.status == 403 and info.value.message_id
    for wrong in (None, "", "tgk_000000000000_x", key[:-1] + ("A" if key[-1] != "A" else "B")):
        with pytest.raises(ingest.KeyError_) as info:
            ingest.verify_key(bank, wrong, "manggarai")
        assert info.value.status == 401
    report = ingest.push(
        bank, key, {"station_id": "manggarai", "t": T0.isoformat(), "water_level": 640},
        now=NOW,
    )  # fmt: skip
    assert report.accepted == 1 and report.source == "sensor-ciliwung"
    assert _series(bank)["source"].tolist() == ["sensor-ciliwung"]
    # A restricted key refuses the whole body when one reading is for another station.
    with pytest.raises(ingest.KeyError_):
        ingest.push(
            bank, key,
            [_wl("manggarai", "2026-01-05T01:00:00+07:00", 641),
             _wl("katulampa", "2026-01-05T01:00:00+07:00", 50)],
            now=NOW,
        )  # fmt: skip
    assert len(_series(bank)) == 1 and bank.observations("katulampa").empty
    key_id = key.split("_")[1]
    assert [k["key_id"] for k in ingest.list_keys(bank)].count(key_id) == 1
    ingest.revoke_key(bank, key_id)
    with pytest.raises(ingest.KeyError_, match="revoked") as info:
        ingest.verify_key(bank, key, "manggarai")
    assert "dicabut" in (info.value.message_id or "")
    with pytest.raises(NotFoundError):
        ingest.revoke_key(bank, key_id)
    with pytest.raises(NotFoundError):
        ingest.create_key(bank, "x", "nowhere")


def test_http_endpoint(bank_url: str) -> None:
    with open_bank(bank_url) as b:
        _stations(b, "manggarai", "katulampa")
        key = ingest.create_key(b, "sensor", "manggarai")
    with _uvicorn(bank_url) as base, httpx.Client(base_url=base, timeout=10) as client:
        _http_checks(client, key)
    with open_bank(bank_url) as b:
        assert len(b.observations("manggarai")) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_APP = """
import sys, uvicorn
from fastapi import FastAPI
from tangguh.warning.http import observations_router
app = FastAPI()
app.include_router(observations_router(sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@contextmanager
def _uvicorn(bank_url: str) -> Iterator[str]:
    """A real uvicorn server (its own process) on a free local port."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", _APP, bank_url, str(port)])

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    try:
        assert _wait(up, 30), "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _http_checks(client: httpx.Client, key: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"station_id": "manggarai", "t": (now - timedelta(minutes=5)).isoformat(),
            "water_level": 655}  # fmt: skip
    res = client.post("/api/v1/observations", json=body, headers={"X-Tangguh-Key": key})
    assert res.status_code == 200, res.text
    assert res.json()["accepted"] == 1 and res.json()["rejected"] == []
    res = client.post("/api/v1/observations", json=body, headers={"X-Tangguh-Key": key})
    assert res.status_code == 200 and res.json()["duplicates"] == 1
    res = client.post("/api/v1/observations", json=body)
    assert res.status_code == 401
    assert res.headers["content-type"].startswith("application/problem+json")
    assert res.json()["title_id"] and res.json()["status"] == 401
    res = client.post(
        "/api/v1/observations", json=body | {"station_id": "katulampa"},
        headers={"X-Tangguh-Key": key},
    )  # fmt: skip
    assert res.status_code == 403
    res = client.post("/api/v1/observations", content=b"{not json", headers={"X-Tangguh-Key": key})
    assert res.status_code == 422 and res.json()["title_id"]
    bad = body | {"t": "2026-01-05T07:00:00", "water_level": 656}
    res = client.post("/api/v1/observations", json=bad, headers={"X-Tangguh-Key": key})
    assert res.status_code == 422
    assert res.json()["report"]["rejected"][0]["code"] == "naive_time"


# -- MQTT ----------------------------------------------------------------------------------


def _wait(predicate: Any, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _enc(data: object) -> bytes:
    return json.dumps(data).encode()


def _broker() -> None:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"no MQTT broker at 127.0.0.1:1883: {exc}")


def test_mqtt_round_trip(bank_url: str) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    _broker()
    with open_bank(bank_url) as b:
        _stations(b, "manggarai")
    prefix = f"tangguh-test/{uuid.uuid4().hex[:8]}/obs"
    got: list[Reading] = []
    sub = MqttIngest(bank_url, prefix=prefix, on_accepted=lambda _b, rs: got.extend(rs))
    sub.start()
    pub = paho.Client(CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()
    try:
        now = datetime.now(WIB).replace(microsecond=0)
        t1 = (now - timedelta(minutes=10)).isoformat()
        t2 = (now - timedelta(minutes=5)).isoformat()
        mg = f"{prefix}/manggarai"
        messages = [
            (mg, b"not json at all"),
            (mg, _enc({"t": t1, "value": 1})),  # no parameter
            (mg, _enc({"station_id": "other", "t": t1, "water_level": 1})),  # topic mismatch
            (f"{prefix}/nowhere", _enc({"t": t1, "water_level": 600})),  # unknown station
            (mg, _enc({"t": t1, "parameter": "water_level", "value": 610})),
            (mg, _enc({"t": t2, "water_level": 612})),
        ]
        for topic, payload in messages:
            pub.publish(topic, payload, qos=1).wait_for_publish(5)
        with open_bank(bank_url) as reader:
            assert _wait(lambda: len(reader.observations("manggarai")) == 2)
            stored = reader.observations("manggarai")
        assert stored["value"].tolist() == [610.0, 612.0]
        assert set(stored["source"]) == {"mqtt"}
        assert _wait(lambda: sub.stats.messages == len(messages))
        assert sub.stats.bad_messages == 1 and sub.stats.rejected == 3
        assert sub.stats.accepted == 2 and [r.value for r in got] == [610.0, 612.0]
        assert any("not JSON" in e for e in sub.stats.errors)
        assert not any("610" in e for e in sub.stats.errors), "payloads are not logged"
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.stop()


# -- pollers -------------------------------------------------------------------------------


class _Server:
    """A real HTTP server on a free local port serving ``routes`` (path -> bytes)."""

    def __init__(self, routes: dict[str, bytes]) -> None:
        self.routes = routes
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(self.path)
                body = outer.routes.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/xml")
                self.end_headers()
                self.wfile.write(body if body is not None else b"not found")

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = False  # server_close() joins the request threads
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server({})
    try:
        yield s
    finally:
        s.close()


def _dsda_xml(shared: Path, when: str) -> bytes:
    """A DSDA xmldata.xml made from real gauge names/coordinates and real thresholds."""
    gates = json.loads(
        (shared / "jakarta/water-level-gauges/dsda_pintu_air_sluice_gates.geojson").read_text()
    )["features"]
    thr = pd.read_csv(shared / "jakarta/water-level-gauges/pintu_air_siaga_thresholds.csv")
    manggarai = thr[thr["Lokasi"] == "Manggarai"].iloc[0]
    rows = []
    for f in gates:
        props = f["properties"]
        name = props["pintu_air"]["name"]
        if name not in ("Manggarai BKB", "PA. Karet", "Istiqlal"):
            continue
        lon, lat = f["geometry"]["coordinates"]
        s1, s2, s3 = (
            (manggarai["Siaga 1"], manggarai["Siaga 2"], manggarai["Siaga 3"])
            if name == "Manggarai BKB"
            else (650, 550, 450)  # PA Karet per STANDARDS §5.3 (Siaga 3 from 450); others ⚠
        )
        rows.append(
            f"""  <SP_GET_LAST_STATUS_PINTU_AIR>
    <ID_PINTU_AIR>{props["pintu_air"]["id"]}</ID_PINTU_AIR>
    <KODE_STASIUN>{props["pintu_air"]["id"]:02d}</KODE_STASIUN>
    <NAMA_PINTU_AIR>{name}</NAMA_PINTU_AIR>
    <LOKASI>{props["pintu_air"]["sistem_aliran"]}</LOKASI>
    <LATITUDE>{lat}</LATITUDE>
    <LONGITUDE>{lon}</LONGITUDE>
    <SIAGA1>{s1}</SIAGA1>
    <SIAGA2>{s2}</SIAGA2>
    <SIAGA3>{s3}</SIAGA3>
    <SIAGA4>0</SIAGA4>
    <TANGGAL>{when}</TANGGAL>
    <TINGGI_AIR>{props["ketinggian"]}</TINGGI_AIR>
    <TINGGI_AIR_SEBELUMNYA>{props["ketinggian"]}</TINGGI_AIR_SEBELUMNYA>
    <STATUS_SIAGA>Status : Normal</STATUS_SIAGA>
  </SP_GET_LAST_STATUS_PINTU_AIR>"""
        )
    return ('<?xml version="1.0" standalone="yes"?>\n<DocumentElement>\n'
            + "\n".join(rows) + "\n</DocumentElement>\n").encode()  # fmt: skip


def test_dsda_poll_from_a_local_http_server(
    bank: Bank, shared: Path, server: _Server, tmp_path: Path
) -> None:
    xml = _dsda_xml(shared, "2024-05-07 13:00:00")
    (tmp_path / "xmldata.xml").write_bytes(xml)
    server.routes["/xmldata.xml"] = (tmp_path / "xmldata.xml").read_bytes()
    _stations(bank, "dsda:6")
    bank.write_stations(
        pd.DataFrame(
            [{"station_id": "dsda:6", "kind": "river_gauge", "lon": 0.0, "lat": 0.0,
              "attributes": {"qc": {"water_level": {"max": 1500}}}}]
        )
    )  # fmt: skip
    got: list[Reading] = []
    result = pollers.poll_dsda(
        bank, server.url + "/xmldata.xml", now=NOW, on_accepted=lambda _b, rs: got.extend(rs)
    )
    assert result.stations == 3 and result.report.accepted == 3 and not result.problems
    st = bank.stations().set_index("station_id")
    mg = st.loc["dsda:6"]
    assert mg["name"] == "Manggarai BKB" and mg["lon"] == pytest.approx(106.848439)
    assert mg["attributes"]["dsda_thresholds"] == {
        "siaga1": 950.0, "siaga2": 850.0, "siaga3": 750.0, "siaga4": 0.0
    }  # fmt: skip
    assert mg["attributes"]["qc"] == {"water_level": {"max": 1500}}, "operator keys kept"
    obs = bank.observations("dsda:6")
    assert obs["value"].tolist() == [680.0]
    assert obs["t"].iloc[0] == pd.Timestamp("2024-05-07 06:00", tz="UTC"), "TANGGAL is WIB"
    assert {r.station_id for r in got} == {"dsda:5", "dsda:6", "dsda:15"}
    # The feed repeats the last status: duplicates, nothing new.
    again = pollers.poll_dsda(bank, server.url + "/xmldata.xml", now=NOW)
    assert again.report.duplicates == 3 and again.report.accepted == 0
    # Network trouble: a bilingual FetchError, the last good data stay.
    with pytest.raises(FetchError) as info:
        pollers.poll_dsda(bank, server.url + "/gone.xml", now=NOW)
    assert "404" in info.value.message and info.value.message_id
    with pytest.raises(FetchError):
        pollers.poll_dsda(bank, "http://127.0.0.1:9/xmldata.xml", timeout=2, now=NOW)
    assert len(bank.observations("dsda:6")) == 1
    # The JSON variant parses to the same.
    rows = [
        {c.tag: c.text for c in r}
        for r in etree.fromstring(xml).iter("SP_GET_LAST_STATUS_PINTU_AIR")
    ]
    feed = pollers.parse_dsda(json.dumps(rows).encode())
    assert feed.readings["value"].tolist() == [260.0, 680.0, 170.0]
    assert feed.readings["t"].iloc[0].utcoffset() == timedelta(hours=7)


def test_bmkg_cap_poll_delivers_each_item_once(
    bank_url: str, shared: Path, server: _Server
) -> None:
    folder = shared / "feeds/bmkg-cap-nowcast"
    server.routes["/alerts/nowcast/id/rss.xml"] = (
        folder / "nowcast_rss_id_2026-02-16.xml"
    ).read_bytes()
    cap = (folder / "CBT20260216004_alert.xml").read_bytes()
    server.routes["/alerts/nowcast/id/CBT20260216004_alert.xml"] = cap
    # Only the Banten CAP has a real sample; the other two links answer 404.

    def rewrite(link: str) -> str:
        return server.url + link.split("bmkg.go.id", 1)[1]

    calls: list[tuple[bytes, str]] = []
    url = server.url + "/alerts/nowcast/id/rss.xml"
    with open_bank(bank_url) as b:
        result = pollers.poll_bmkg_cap(
            url, lambda x, link: calls.append((x, link)), b, rewrite=rewrite
        )
    assert result.items == 3 and result.delivered == ["2.49.0.1.360.0.2026.02.16.16.36.004"]
    assert calls == [(cap, "https://www.bmkg.go.id/alerts/nowcast/id/CBT20260216004_alert.xml")]
    assert len(result.errors) == 2 and all("404" in e["error"] for e in result.errors)
    # A restart (a new bank object) does not deliver the item again; the failed ones retry.
    with open_bank(bank_url) as b:
        again = pollers.poll_bmkg_cap(
            url, lambda x, link: calls.append((x, link)), b, rewrite=rewrite
        )
    assert len(calls) == 1 and again.already_seen == 1 and len(again.errors) == 2
    # A handler that fails leaves the item undelivered; a set works as the memory too.
    seen: set[str] = set()

    def boom(_x: bytes, _link: str) -> None:
        raise RuntimeError("relay down")

    failed = pollers.poll_bmkg_cap(url, boom, seen, rewrite=rewrite)
    assert failed.delivered == [] and seen == set()
    assert any("relay down" in e["error"] for e in failed.errors)
    pollers.poll_bmkg_cap(url, lambda x, link: calls.append((x, link)), seen, rewrite=rewrite)
    assert len(calls) == 2 and seen == {"2.49.0.1.360.0.2026.02.16.16.36.004"}
    with pytest.raises(FetchError):
        pollers.poll_bmkg_cap(server.url + "/nothing.xml", boom, seen)


def test_poller_loop_survives_a_failed_poll() -> None:
    results: list[object] = []
    errors: list[object] = []
    state = {"n": 0}

    def task() -> int:
        state["n"] += 1
        if state["n"] == 2:
            raise FetchError("down", message_id="mati")
        return state["n"]

    p = pollers.Poller(task, 0.05, on_result=results.append, on_error=errors.append)
    p.run(iterations=3)
    assert results == [1, 3] and len(errors) == 1 and p.failures == 1


# -- CLI -----------------------------------------------------------------------------------


def test_cli_observe(bank_url: str, tmp_path: Path, shared: Path, server: _Server) -> None:
    with open_bank(bank_url) as b:
        _stations(b, "manggarai", "katulampa")

    def run(*args: Any, code: int = 0) -> str:
        res = runner.invoke(app, ["observe", *map(str, args), "--bank", bank_url])
        assert res.exit_code == code, res.output
        return res.stdout

    t = (datetime.now(WIB) - timedelta(minutes=30)).replace(microsecond=0).isoformat()
    out = json.loads(run("push", "--station", "manggarai", "--value", "640", "--t", t, "--json"))
    assert out["accepted"] == 1
    payload = tmp_path / "readings.json"
    payload.write_text(
        json.dumps(
            [
                {"station_id": "manggarai", "t": t, "water_level": 640},
                {"station_id": "katulampa", "t": "2026-01-05T07:00:00", "water_level": 50},
            ]
        )
    )
    out = json.loads(run("push", payload, "--json", code=2))
    assert out["duplicates"] == 1 and out["rejected"][0]["code"] == "naive_time"
    csv = tmp_path / "readings.csv"
    csv.write_text(f"station_id,parameter,t,value\nkatulampa,water_level,{t},55\n")
    assert "accepted / diterima: 1" in run("push", csv)
    run("push", code=2)

    key = json.loads(
        run("keys", "create", "--source", "sensor", "--station", "manggarai", "--json")
    )
    listed = json.loads(run("keys", "list", "--json"))
    assert [k["key_id"] for k in listed] == [key["key_id"]] and "key" not in listed[0]
    run("keys", "revoke", key["key_id"])
    run("keys", "revoke", key["key_id"], code=4)

    stale = json.loads(run("stale", "--max-age", "2h", "--json"))
    assert stale == []
    stale = json.loads(run("stale", "--max-age", "10m", "--json"))
    assert {s["station_id"] for s in stale} == {"manggarai", "katulampa"}
    run("stale", "--max-age", "soon", code=2)

    server.routes["/xmldata.xml"] = _dsda_xml(shared, "2024-05-07 13:00:00")
    out = json.loads(run("poll", "dsda", server.url + "/xmldata.xml", "--once", "--json"))
    assert out["stations"] == 3 and out["accepted"] == 3
    res = runner.invoke(
        app, ["observe", "poll", "dsda", server.url + "/missing", "--bank", bank_url]
    )
    assert res.exit_code == 7 and "404" in res.output

    folder = shared / "feeds/bmkg-cap-nowcast"
    server.routes["/rss.xml"] = (folder / "nowcast_rss_id_2026-02-16.xml").read_bytes()
    server.routes["/CBT20260216004_alert.xml"] = (folder / "CBT20260216004_alert.xml").read_bytes()
    out_dir = tmp_path / "cap"
    args = ["poll", "bmkg", server.url + "/rss.xml", "--out", out_dir, "--link-base", server.url]
    out = json.loads(
        run(*args, "--interval", "0.05", "--iterations", "2", "--json").split("\n}\n")[0] + "}"
    )
    assert out["delivered"] == ["2.49.0.1.360.0.2026.02.16.16.36.004"]
    assert [p.name for p in out_dir.iterdir()] == ["CBT20260216004_alert.xml"]
    assert server.hits.count("/CBT20260216004_alert.xml") == 1

    _broker()
    out = json.loads(
        run("mqtt", "--prefix", f"tangguh-test/{uuid.uuid4().hex[:8]}", "--seconds", "1", "--json")
    )
    assert out["messages"] == 0
