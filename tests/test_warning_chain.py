"""The whole chain (issue 4, "Done when"): a live reading over MQTT ends as an XSD-valid
CAP alert, queued messages for the subscribed households of the warned RWs, and an
incident with its SOP tasks; an approval escalates it; a worker delivers exactly once.

Real Jakarta admin units, the seeded Ciliwung chain, real Mosquitto, both backends.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from tangguh.bank import open_bank
from tangguh.cli.main import app
from tangguh.warning import alerts, cap, chain, delivery, sop, subscriptions
from tangguh.warning.mqtt import MqttIngest
from tangguh.warning.rules import seed_jakarta, station_areas

sys.path.insert(0, str(Path(__file__).parent))
from _webhook_receiver import Receiver

WIB = timedelta(hours=7)


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def chain_bank(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    from conftest import SHARED, drop_pg_schema, new_pg_url
    from tangguh.admin.store import import_jakarta

    if not (SHARED / "jakarta").exists():
        pytest.skip("shared Jakarta data not found")
    tmp = tmp_path_factory.mktemp("chain")
    url = str(tmp / "bank.gpkg") if request.param == "gpkg" else new_pg_url() + f"&rasters={tmp}"
    with open_bank(url) as b:
        import_jakarta(b, SHARED / "jakarta")
        report = seed_jakarta(b)
        assert report.unmatched == []
    try:
        yield url
    finally:
        if request.param == "postgis":
            drop_pg_schema(url)


def _publish(topic: str, payload: dict[str, object]) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{time.time_ns()}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    info = client.publish(topic, json.dumps(payload), qos=1)
    info.wait_for_publish(timeout=10)
    client.loop_stop()
    client.disconnect()


def _wait(predicate, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the chain")


def test_mqtt_reading_to_cap_deliveries_and_incident(
    chain_bank: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANGGUH_DELIVERY_ALLOW_HTTP", "1")  # the receiver is plain http
    with open_bank(chain_bank) as bank:
        areas = station_areas(bank, "manggarai")
        warned_rw = sorted(a.unit_id for a in areas if a.unit_id.startswith("rw:"))
        warned_kel = sorted(a.unit_id for a in areas if a.unit_id.startswith("kelurahan:"))
        assert len(warned_rw) > 50 and len(warned_kel) == 8
        # Households: 40 in warned RWs, 3 by warned kelurahan, 5 elsewhere, 1 unconfirmed.
        with Receiver() as receiver:
            ours = []
            for i in range(40):
                sub = subscriptions.subscribe(
                    bank,
                    rw=warned_rw[i % len(warned_rw)],
                    language="id" if i % 2 else "en",
                    channels={"webhook": receiver.url},
                    confirmed=True,
                )
                ours.append(sub)
            for kel in warned_kel[:3]:
                ours.append(
                    subscriptions.subscribe(
                        bank,
                        kelurahan=kel,
                        language="id",
                        channels={"webhook": receiver.url},
                        confirmed=True,
                    )
                )
            elsewhere = "kelurahan:jakarta-utara.penjaringan.kamal-muara"
            for _ in range(5):
                subscriptions.subscribe(
                    bank,
                    kelurahan=elsewhere,
                    language="id",
                    channels={"webhook": receiver.url},
                    confirmed=True,
                )
            subscriptions.subscribe(
                bank, rw=warned_rw[0], language="id", channels={"webhook": receiver.url}
            )

            # A live Katulampa reading above Siaga 3 (80 cm) arrives over MQTT.
            prefix = f"tangguh/test-{time.time_ns()}"
            t = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
            ingest = MqttIngest(chain_bank, prefix=prefix, on_accepted=chain.on_accepted)
            ingest.start()
            try:
                _publish(
                    f"{prefix}/katulampa",
                    {"t": (t + WIB).isoformat()[:19] + "+07:00", "water_level": 95},
                )
                _wait(lambda: bool(alerts.list_alerts(bank)))
            finally:
                ingest.stop()

            (alert,) = alerts.list_alerts(bank)
            assert alert.status == "issued" and alert.level == 3  # Siaga 3: automatic
            assert alert.station_id == "katulampa"
            # Warned downstream: the Manggarai areas, arriving about 7 h later.
            assert set(warned_rw) <= set(alert.unit_ids)
            assert alert.eta is not None and abs(alert.eta - (t + timedelta(hours=7))) < timedelta(
                minutes=1
            )
            xml = alerts.cap_xml(bank, alert.alert_id)
            cap.validate_cap(xml)
            parsed = cap.parse_cap(xml)
            assert {i.language for i in parsed.infos} == {"id-ID", "en-US"}
            assert b"+07:00" in xml and b"Z<" not in xml
            # Queued: one message per subscribed household of the warned areas.
            report = delivery.report(bank, alert.alert_id)
            assert report["total"]["targeted"] == 43, report
            # The responders' incident with the Siaga 4 and Siaga 3 tasks.
            (incident,) = sop.list_incidents(bank, status="open")
            _, tasks = sop.get_incident(bank, incident.incident_id)
            assert {task.level for task in tasks} == {4, 3}
            assert any(task.agency.startswith("BPBD") for task in tasks)

            # Siaga 2 (150 cm) an hour later: an Update that waits for BPBD's approval.
            later = t + timedelta(hours=1)
            from tangguh.warning.model import Reading

            result = chain.process(bank, [Reading("katulampa", "water_level", later, 160.0)])
            (update,) = result.alerts
            assert update.level == 2 and update.status == "draft" and result.queued == 0
            out = CliRunner().invoke(
                app,
                [
                    "alerts",
                    "approve",
                    update.alert_id,
                    "--bank",
                    chain_bank,
                    "--actor",
                    "kalak-bpbd",
                    "--json",
                ],
            )
            assert out.exit_code == 0, out.output
            approved = alerts.get(bank, update.alert_id)
            assert approved.status == "updated" and approved.version == 2
            _, tasks = sop.get_incident(bank, incident.incident_id)
            assert {task.level for task in tasks} == {4, 3, 2}
            assert delivery.report(bank, alert.alert_id)["total"]["targeted"] == 86

            # A worker delivers: every household gets each version exactly once.
            stats = delivery.run_worker(chain_bank, stop_when_idle=True, concurrency=16)
            assert stats.sent == 86, stats
            keys = receiver.keys()
            assert len(keys) == 86 and set(keys.values()) == {1}


def test_cli_push_on_the_demo_city_runs_the_chain(tmp_path: Path) -> None:
    """`tangguh demo` seeds the gauges; `observe push` above Siaga 3 issues an alert."""
    bank = str(tmp_path / "demo.gpkg")
    runner = CliRunner()
    out = runner.invoke(app, ["demo", "--size", "small", "--bank", bank, "--json"])
    assert out.exit_code == 0, out.output
    seeded = json.loads(out.output)["warning"]
    assert seeded["gauges"] == 9 and seeded["links"] == 6
    t = (datetime.now(UTC) + WIB).replace(microsecond=0).isoformat()[:19] + "+07:00"
    out = runner.invoke(
        app,
        ["observe", "push", "--station", "wl_01_up", "--value", "95", "--t", t,
         "--bank", bank, "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    (result,) = json.loads(out.output)["chain"]
    (alert,) = result["alerts"]
    assert alert["status"] == "issued"
    assert result["incidents"] and result["transitions"][0]["to"] == 3
    with open_bank(bank) as b:
        record = alerts.get(b, alert["alert_id"])
        assert record.level == 3 and record.station_id == "wl_01_up"
        # Downstream gauges' areas are warned too, with their lead times.
        assert len(record.unit_ids) > len(station_areas(b, "wl_01_up"))
