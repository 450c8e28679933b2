"""CAP 1.2 alerts: build/validate/parse, lifecycle with issue policy, hooks, relay, feed, CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from lxml import etree
from shapely.geometry import MultiPolygon, box
from typer.testing import CliRunner

from tangguh.admin.store import save_units
from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.errors import ImportError_, InputError
from tangguh.warning import alerts
from tangguh.warning import cap as C
from tangguh.warning.model import AlertRecord, Transition, Trigger, WarnedArea

WIB = timezone(timedelta(hours=7))
T0 = datetime(2026, 2, 10, 14, 0, tzinfo=WIB)
NS = {"c": C.CAP_NS}
ATOM = {"a": "http://www.w3.org/2005/Atom"}
BMKG = "feeds/bmkg-cap-nowcast/CBT20260216004_alert.xml"


# -- fixtures --------------------------------------------------------------------------


def _units() -> gpd.GeoDataFrame:
    """A kota, a kelurahan and two RWs around Kampung Melayu (real place, made-up shapes)."""
    rows = [
        ("kota:3172", "kota", "Jakarta Timur", None, "3172", "31.72",
         (106.84, -6.25, 106.90, -6.20)),
        ("kelurahan:3172010001", "kelurahan", "Kampung Melayu", "kota:3172", "3172010001",
         "31.72.01.1001", (106.855, -6.230, 106.870, -6.215)),
        ("rw:3172010001007", "rw", "RW 07", "kelurahan:3172010001", "3172010001007", None,
         (106.855, -6.230, 106.8625, -6.2225)),
        ("rw:3172010001008", "rw", "RW 08", "kelurahan:3172010001", "3172010001008", None,
         (106.8625, -6.2225, 106.870, -6.215)),
    ]  # fmt: skip
    return gpd.GeoDataFrame(
        {
            "unit_id": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "parent_id": [r[3] for r in rows],
            "code_bps": [r[4] for r in rows],
            "code_kemendagri": [r[5] for r in rows],
        },
        geometry=[MultiPolygon([box(*r[6])]) for r in rows],
        crs="EPSG:4326",
    )


@pytest.fixture
def city(bank: Bank) -> Bank:
    save_units(bank, _units(), source="test")
    bank.write_stations(
        pd.DataFrame(
            {
                "station_id": ["dsda_manggarai"],
                "name": ["Manggarai"],
                "kind": ["river_gauge"],
                "lon": [106.8497],
                "lat": [-6.2087],
            }
        )
    )
    return bank


@pytest.fixture(autouse=True)
def _no_hooks() -> Iterator[None]:
    alerts.clear_issue_hooks()
    yield
    alerts.clear_issue_hooks()


def trigger(previous: int, level: int, value: float, t: datetime, *, eta_min: int = 90) -> Trigger:
    tr = Transition(
        station_id="dsda_manggarai",
        parameter="water_level",
        t=t,
        previous=previous,
        level=level,
        value=value,
        rule_id="level:dsda_manggarai",
        reason_en=f"level {value} cm",
        reason_id=f"tinggi {value} cm",
    )
    areas = [
        WarnedArea(u, "dsda_manggarai", eta_min, t + timedelta(minutes=eta_min))
        for u in ("rw:3172010001007", "rw:3172010001008")
    ]
    return Trigger(transition=tr, areas=areas)


def root(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(el: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in el.iterfind(path, NS)]


# -- CAP building and lifecycle ----------------------------------------------------------


def check_cap(xml: bytes, msg_type: str, status: str = "Actual") -> etree._Element:
    C.validate_cap(xml)  # the OASIS XSD + the rules it cannot express
    assert C.schema_path() is not None
    r = root(xml)
    assert r.findtext("c:msgType", namespaces=NS) == msg_type
    assert r.findtext("c:status", namespaces=NS) == status
    assert r.findtext("c:scope", namespaces=NS) == "Public"
    for when in [*texts(r, "c:sent"), *texts(r, ".//c:onset"), *texts(r, ".//c:expires")]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", when), when
    assert texts(r, "c:info/c:language") == ["id-ID", "en-US"]
    assert texts(r, "c:info/c:category") == ["Met", "Met"]
    assert texts(r, "c:info/c:senderName") == ["BPBD DKI Jakarta"] * 2
    return r


def check_areas(r: etree._Element) -> None:
    polygons = texts(r, ".//c:area/c:polygon")
    assert polygons
    for poly in polygons:
        pairs = poly.split()
        assert len(pairs) >= 4 and pairs[0] == pairs[-1]
        for pair in pairs:
            lat, lon = map(float, pair.split(","))
            assert -6.3 < lat < -6.1 and 106.8 < lon < 106.9  # latitude first
    codes = {
        (g.findtext("c:valueName", namespaces=NS), g.findtext("c:value", namespaces=NS))
        for g in r.iterfind("c:info[1]/c:area/c:geocode", NS)
    }
    assert ("tangguh:unit_id", "rw:3172010001007") in codes
    assert ("BPS", "3172010001008") in codes
    assert texts(r, "c:info[1]/c:area/c:areaDesc") == [
        "RW 07, Kampung Melayu",
        "RW 08, Kampung Melayu",
    ]


def test_lifecycle_alert_update_downgrade_cancel(city: Bank) -> None:
    issued: list[AlertRecord] = []
    alerts.register_issue_hook(lambda b, rec: issued.append(rec))

    # Siaga 3: automatic -> issued at once (Alert)
    rec = alerts.create_from_trigger(city, trigger(4, 3, 750, T0), now=T0)
    assert rec is not None
    assert (rec.status, rec.msg_type, rec.version, rec.level) == ("issued", "Alert", 1, 3)
    assert (rec.severity, rec.urgency, rec.certainty) == ("Moderate", "Expected", "Possible")
    assert [r.status for r in issued] == ["issued"]
    r1 = check_cap(alerts.cap_xml(city, rec.alert_id), "Alert")
    check_areas(r1)
    assert r1.findtext("c:sent", namespaces=NS) == "2026-02-10T14:00:00+07:00"
    assert texts(r1, "c:info/c:onset") == ["2026-02-10T15:30:00+07:00"] * 2
    assert texts(r1, "c:info/c:responseType") == ["Prepare", "Monitor"] * 2
    desc_id, desc_en = texts(r1, "c:info/c:description")
    assert "Manggarai" in desc_id and "750 cm" in desc_id and "15:30 WIB" in desc_id
    assert "Manggarai" in desc_en and "750 cm" in desc_en and "15:30 WIB" in desc_en
    assert "Siaga 3" in texts(r1, "c:info/c:headline")[0]
    params = dict(
        zip(
            texts(r1, "c:info[1]/c:parameter/c:valueName"),
            texts(r1, "c:info[1]/c:parameter/c:value"),
            strict=True,
        )
    )
    assert params["SIAGA_LEVEL"] == "3" and params["STATION"] == "dsda_manggarai"
    first_id = r1.findtext("c:identifier", namespaces=NS)

    # Siaga 2: needs BPBD approval -> a draft Update waits; the Siaga 3 message stays out
    t1 = T0 + timedelta(minutes=40)
    rec = alerts.create_from_trigger(city, trigger(3, 2, 850, t1), now=t1)
    assert rec is not None and (rec.status, rec.msg_type, rec.version) == ("draft", "Update", 2)
    assert len(issued) == 1
    check_cap(alerts.cap_xml(city, rec.alert_id), "Update", status="Draft")
    assert [a.alert_id for a in alerts.list_alerts(city, active_only=True)] == [rec.alert_id]
    assert alerts.list_alerts(city, status="draft")[0].alert_id == rec.alert_id
    with pytest.raises(InputError, match="approved"):
        alerts.issue(city, rec.alert_id, actor="budi")

    t2 = t1 + timedelta(minutes=5)
    rec = alerts.approve(city, rec.alert_id, actor="budi@bpbd", now=t2)
    assert (rec.status, rec.msg_type, rec.level, rec.severity) == ("updated", "Update", 2, "Severe")
    assert issued[-1].version == 2
    r2 = check_cap(alerts.cap_xml(city, rec.alert_id), "Update")
    refs = r2.findtext("c:references", namespaces=NS)
    assert refs == f"tangguh@bpbd.jakarta.go.id,{first_id},2026-02-10T14:00:00+07:00"
    assert r2.findtext("c:sent", namespaces=NS) == "2026-02-10T14:45:00+07:00"
    assert texts(r2, "c:info/c:responseType") == ["Prepare", "Prepare"]

    # falling to Siaga 3: downgrade, automatic
    t3 = t2 + timedelta(hours=2)
    rec = alerts.create_from_trigger(city, trigger(2, 3, 760, t3), now=t3)
    assert rec is not None and (rec.status, rec.msg_type, rec.version, rec.level) == (
        "updated",
        "Update",
        3,
        3,
    )
    r3 = check_cap(alerts.cap_xml(city, rec.alert_id), "Update")
    assert len(r3.findtext("c:references", namespaces=NS).split()) == 2

    # back to normal: Cancel referencing every issued message
    t4 = t3 + timedelta(hours=1)
    rec = alerts.create_from_trigger(city, trigger(3, 4, 600, t4), now=t4)
    assert rec is not None and (rec.status, rec.msg_type, rec.version) == ("cancelled", "Cancel", 4)
    r4 = check_cap(alerts.cap_xml(city, rec.alert_id), "Cancel")
    assert len(r4.findtext("c:references", namespaces=NS).split()) == 3
    assert texts(r4, "c:info/c:responseType") == ["AllClear", "AllClear"]
    assert [r.msg_type for r in issued] == ["Alert", "Update", "Update", "Cancel"]
    assert alerts.list_alerts(city, active_only=True) == []

    # audit trail: every change with its actor
    log = [(e["action"], e["actor"]) for e in alerts.events(city, rec.alert_id)]
    assert ("approved", "budi@bpbd") in log and ("issued", "budi@bpbd") in log
    assert log[0] == ("created", "rules") and log[-1] == ("issued", "rules")
    versions = alerts.versions(city, rec.alert_id)
    assert [v["status"] for v in versions] == ["issued"] * 4
    assert versions[1]["approved_by"] == "budi@bpbd"

    # older versions stay readable; a new rise after the cancel is a new alert
    check_cap(alerts.cap_xml(city, rec.alert_id, version=1), "Alert")
    t5 = t4 + timedelta(hours=1)
    again = alerts.create_from_trigger(city, trigger(4, 3, 752, t5), now=t5)
    assert again is not None and again.alert_id != rec.alert_id and again.version == 1

    # the Atom feed: one entry per issued version, newest first, links to CAP XML
    feed = etree.fromstring(alerts.feed(city, "https://tangguh.example/"))
    entries = feed.findall("a:entry", ATOM)
    assert len(entries) == 5
    updated = [e.findtext("a:updated", namespaces=ATOM) for e in entries]
    assert updated == sorted(updated, reverse=True)
    link = entries[1].find("a:link", ATOM)
    assert link is not None and link.get("type") == "application/cap+xml"
    assert link.get("href") == f"https://tangguh.example/alerts/{rec.alert_id}/4.xml"
    assert "Siaga" in (entries[0].findtext("a:title", namespaces=ATOM) or "")


def test_draft_escalation_and_discard(city: Bank) -> None:
    issued: list[AlertRecord] = []
    alerts.register_issue_hook(lambda b, rec: issued.append(rec))
    policy = alerts.IssuePolicy.from_dict({"siaga_3": "approval"})
    rec = alerts.create_from_trigger(city, trigger(4, 3, 750, T0), policy=policy, now=T0)
    assert rec is not None and rec.status == "draft"
    # escalation before anything went out: still an Alert, the first draft is superseded
    rec2 = alerts.create_from_trigger(
        city,
        trigger(3, 2, 850, T0 + timedelta(minutes=10)),
        policy=policy,
        now=T0 + timedelta(minutes=10),
    )
    assert rec2 is not None and (rec2.alert_id, rec2.version, rec2.msg_type) == (
        rec.alert_id,
        2,
        "Alert",
    )
    r = check_cap(alerts.cap_xml(city, rec.alert_id), "Alert", status="Draft")
    assert r.find("c:references", NS) is None
    assert [v["status"] for v in alerts.versions(city, rec.alert_id)] == ["superseded", "draft"]
    # the same level again changes nothing
    same = alerts.create_from_trigger(
        city,
        trigger(3, 2, 860, T0 + timedelta(minutes=15)),
        policy=policy,
        now=T0 + timedelta(minutes=15),
    )
    assert same is not None and same.version == 2
    # back to normal before approval: the draft is discarded, nothing is sent
    done = alerts.create_from_trigger(
        city,
        trigger(2, 4, 600, T0 + timedelta(hours=1)),
        policy=policy,
        now=T0 + timedelta(hours=1),
    )
    assert done is not None and done.status == "cancelled" and done.version == 2
    assert issued == []
    assert alerts.feed(city, "http://x").count(b"<entry>") == 0
    with pytest.raises(InputError, match="cancelled"):
        alerts.cancel(city, rec.alert_id, actor="budi", reason_en="x", reason_id="x")
    # falling to normal with no open alert: nothing to do
    assert alerts.create_from_trigger(city, trigger(3, 4, 600, T0 + timedelta(hours=2))) is None


def test_hook_error_rolls_the_issue_back(city: Bank) -> None:
    def broken(bank: Bank, rec: AlertRecord) -> None:
        raise RuntimeError("delivery queue down")

    alerts.register_issue_hook(broken)
    with pytest.raises(RuntimeError):
        alerts.create_from_trigger(city, trigger(4, 3, 750, T0), now=T0)
    assert alerts.list_alerts(city) == []  # not even the draft: one transaction

    alerts.clear_issue_hooks()
    rec = alerts.create_from_trigger(city, trigger(4, 2, 850, T0), now=T0)
    assert rec is not None and rec.status == "draft"
    alerts.register_issue_hook(broken)
    with pytest.raises(RuntimeError):
        alerts.approve(city, rec.alert_id, actor="budi", now=T0 + timedelta(minutes=3))
    after = alerts.get(city, rec.alert_id)
    assert (after.status, after.sent) == ("draft", None)
    assert [e["action"] for e in alerts.events(city, rec.alert_id)] == ["created"]


def test_hooks_see_the_issue_inside_the_transaction(city: Bank) -> None:
    seen: list[str] = []

    def hook(bank: Bank, rec: AlertRecord) -> None:
        seen.append(alerts.get(bank, rec.alert_id).status)  # same transaction: visible

    alerts.register_issue_hook(hook)
    alerts.create_from_trigger(city, trigger(4, 3, 750, T0), now=T0)
    assert seen == ["issued"]


def test_operator_cancel_and_expiry(city: Bank) -> None:
    rec = alerts.create_from_trigger(city, trigger(4, 3, 750, T0), now=T0)
    assert rec is not None and rec.expires == T0 + timedelta(hours=6)
    done = alerts.cancel(
        city,
        rec.alert_id,
        actor="sari",
        reason_en="gauge fault",
        reason_id="alat ukur rusak",
        now=T0 + timedelta(minutes=30),
    )
    assert (done.status, done.msg_type) == ("cancelled", "Cancel")
    r = check_cap(alerts.cap_xml(city, rec.alert_id), "Cancel")
    assert "alat ukur rusak" in texts(r, "c:info/c:description")[0]
    assert "gauge fault" in texts(r, "c:info/c:description")[1]

    other = alerts.create_from_trigger(
        city, trigger(4, 3, 755, T0 + timedelta(hours=1)), now=T0 + timedelta(hours=1)
    )
    assert other is not None
    assert alerts.expire_due(city, T0 + timedelta(hours=6)) == []
    expired = alerts.expire_due(city, T0 + timedelta(hours=7, minutes=1))
    assert [e.alert_id for e in expired] == [other.alert_id]
    assert alerts.get(city, other.alert_id).status == "expired"
    assert alerts.expire_due(city, T0 + timedelta(hours=8)) == []


def test_policy_from_toml_and_bank(city: Bank, tmp_path: Path) -> None:
    default = alerts.load_policy(city)
    assert [default.mode(level) for level in (1, 2, 3)] == ["approval", "approval", "automatic"]
    path = tmp_path / "policy.toml"
    path.write_text('[policy]\nsiaga_2 = "automatic"\ncap_status = "Exercise"\n', encoding="utf-8")
    policy = alerts.IssuePolicy.from_toml(path)
    alerts.save_policy(city, policy, actor="kepala")
    assert alerts.load_policy(city).to_dict() == policy.to_dict()
    rec = alerts.create_from_trigger(city, trigger(4, 2, 850, T0), now=T0)  # bank policy
    assert rec is not None and rec.status == "issued"
    check_cap(alerts.cap_xml(city, rec.alert_id), "Alert", status="Exercise")
    for bad in ({"siaga_2": "sometimes"}, {"siaga_9": "automatic"}, {"colour": "red"}):
        with pytest.raises(InputError):
            alerts.IssuePolicy.from_dict(bad)


# -- external CAP ------------------------------------------------------------------------


def test_real_bmkg_cap_parses_and_does_not_touch_jakarta(city: Bank, shared: Path) -> None:
    xml = (shared / BMKG).read_bytes()
    parsed = C.parse_cap(xml)
    assert parsed.identifier == "2.49.0.1.360.0.2026.02.16.16.36.004"
    assert parsed.sent == datetime(2026, 2, 16, 22, 50, tzinfo=WIB)
    info = parsed.infos[0]
    assert (info.language, info.severity, info.event) == ("id", "Moderate", "Hujan Lebat dan Petir")
    polys = info.areas[0].polygons
    assert len(polys) == 2 and polys[0].exterior.coords[0] == (105.994, -5.981)  # lon, lat
    assert alerts.ingest_external(city, xml, source="bmkg") is None  # Banten, not Jakarta
    assert alerts.ingest_external(city, xml, source="bmkg", city_bounds=alerts.DKI_BBOX) is None
    assert alerts.list_alerts(city) == []


def _bmkg_over_jakarta(shared: Path, tmp_path: Path) -> Path:
    """The real BMKG alert with its first polygon moved over Kampung Melayu (test copy)."""
    text = (shared / BMKG).read_text(encoding="utf-8")
    first = re.search(r"<polygon>(.*?)</polygon>", text)
    assert first is not None
    moved = "-6.225,106.858 -6.225,106.866 -6.218,106.866 -6.218,106.858 -6.225,106.858"
    path = tmp_path / "bmkg_jakarta.xml"
    path.write_text(text.replace(first.group(1), moved), encoding="utf-8")
    return path


def test_bmkg_cap_over_jakarta_is_relayed_once(city: Bank, shared: Path, tmp_path: Path) -> None:
    issued: list[AlertRecord] = []
    alerts.register_issue_hook(lambda b, rec: issued.append(rec))
    xml = _bmkg_over_jakarta(shared, tmp_path).read_bytes()
    now = datetime(2026, 2, 16, 23, 5, tzinfo=WIB)
    rec = alerts.ingest_external(
        city, xml, source="https://www.bmkg.go.id/alerts/nowcast/id", now=now
    )
    assert rec is not None
    assert rec.origin == "external:cuaca.ekstrem@bmkg.go.id"
    assert (rec.level, rec.status, rec.hazard, rec.severity) == (3, "issued", "weather", "Moderate")
    assert set(rec.unit_ids) == {"kelurahan:3172010001", "rw:3172010001007", "rw:3172010001008"}
    assert rec.expires == datetime(2026, 2, 17, 2, 0, tzinfo=WIB)
    assert len(issued) == 1
    r = check_cap(alerts.cap_xml(city, rec.alert_id), "Alert")
    assert r.findtext("c:references", namespaces=NS) == (
        "cuaca.ekstrem@bmkg.go.id,2.49.0.1.360.0.2026.02.16.16.36.004,2026-02-16T22:50:00+07:00"
    )
    assert texts(r, "c:info/c:event") == ["Hujan Lebat dan Petir"] * 2
    assert "2.49.0.1.360.0.2026.02.16.16.36.004" in texts(r, "c:info[1]/c:parameter/c:value")
    assert len(texts(r, "c:info[1]/c:area/c:polygon")) == 2  # the original areas
    # the same message again: idempotent
    again = alerts.ingest_external(city, xml, source="bmkg", now=now + timedelta(minutes=5))
    assert again is not None and again.alert_id == rec.alert_id and again.version == 1
    assert len(alerts.list_alerts(city)) == 1 and len(issued) == 1


def test_petabencana_cap_in_atom(city: Bank, shared: Path) -> None:
    atom = etree.parse(str(shared / "feeds/petabencana-api/docs_floods_cap_atom_2016-12-19.xml"))
    alert = atom.find(f".//{{{C.CAP_NS}}}alert")
    assert alert is not None
    xml = etree.tostring(alert)
    parsed = C.parse_cap(xml)
    assert parsed.infos[0].areas[0].area_desc == "RW 09, GROGOL"
    # Grogol is outside the test kota but inside DKI Jakarta
    assert alerts.ingest_external(city, xml, source="petabencana") is None
    now = datetime(2016, 12, 19, 22, 50, tzinfo=WIB)
    rec = alerts.ingest_external(
        city, xml, source="petabencana", city_bounds=alerts.DKI_BBOX, now=now
    )
    assert rec is not None and (rec.hazard, rec.level, rec.status) == ("flood", 3, "issued")
    assert rec.unit_ids == []
    check_cap(alerts.cap_xml(city, rec.alert_id), "Alert")


def _replace(text: str, old: str, new: str) -> bytes:
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


def test_malformed_cap_is_rejected_naming_the_element(city: Bank, shared: Path) -> None:
    text = (shared / BMKG).read_text(encoding="utf-8")
    cases = {
        "not XML": (b"<alert><identifier>x</alert>", "not XML"),
        "namespace": (
            _replace(
                text, "urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1"
            ),
            "not a CAP 1.2 message",
        ),
        "Z time": (_replace(text, "22:50:00+07:00", "15:50:00Z"), "<sent>"),
        "missing event": (_replace(text, "<event>Hujan Lebat dan Petir</event>", ""), "<urgency>"),
        "swapped": (
            _replace(text, "-5.981,105.994 -6.004,106.022", "105.994,-5.981 -6.004,106.022"),
            "swapped",
        ),
        "two points": (
            re.sub(
                r"<polygon>[^<]*</polygon>",
                "<polygon>-6.2,106.8 -6.3,106.9</polygon>",
                text,
                count=1,
            ).encode(),
            "<polygon>",
        ),
        "update without references": (
            _replace(text, "<msgType>Alert", "<msgType>Update"),
            "<references>",
        ),
        "bad circle": (
            _replace(text, "</area>", "<circle>-6.2,106.8 -3</circle></area>"),
            "<circle>",
        ),
    }
    for name, (xml, expected) in cases.items():
        with pytest.raises(ImportError_) as info:
            alerts.ingest_external(city, xml, source="test", city_bounds=alerts.DKI_BBOX)
        assert expected in str(info.value), (name, str(info.value))
        assert info.value.message_id and info.value.hint_id, name
    assert alerts.list_alerts(city) == []


def test_unclosed_polygon_is_closed() -> None:
    text = """<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a1</identifier>
    <sender>s@x</sender><sent>2026-02-10T14:00:00+07:00</sent><status>Actual</status>
    <msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Banjir</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <area><areaDesc>x</areaDesc><polygon>-6.2,106.8 -6.2,106.9 -6.3,106.9</polygon>
    <circle>-6.2,106.85 1.5</circle><geocode><valueName>BPS</valueName><value>3172</value></geocode>
    </area></info></alert>"""
    parsed = C.parse_cap(text.encode())
    area = parsed.infos[0].areas[0]
    assert area.polygons[0].exterior.is_closed and len(area.polygons[0].exterior.coords) == 4
    assert area.circles == [C.CapCircle(-6.2, 106.85, 1.5)]
    assert area.geocodes == [("BPS", "3172")]
    geom = area.geometry()
    assert geom is not None and geom.bounds[1] < -6.2


# -- CLI -----------------------------------------------------------------------------------


def test_cli_show_approve_cancel_feed_ingest(bank_url: str, shared: Path, tmp_path: Path) -> None:
    with open_bank(bank_url) as b:
        save_units(b, _units(), source="test")
        rec = alerts.create_from_trigger(b, trigger(4, 2, 850, T0), now=T0)
        assert rec is not None and rec.status == "draft"
    runner = CliRunner()
    env = {"USER": "operator-test"}

    out = runner.invoke(app, ["alerts", "show", rec.alert_id, "--xml", "--bank", bank_url])
    assert out.exit_code == 0, out.output
    check_cap(out.stdout.encode(), "Alert", status="Draft")

    out = runner.invoke(app, ["alerts", "list", "--json", "--status", "draft", "--bank", bank_url])
    assert out.exit_code == 0, out.output
    assert [a["alert_id"] for a in json.loads(out.stdout)] == [rec.alert_id]

    out = runner.invoke(
        app, ["alerts", "approve", rec.alert_id, "--json", "--bank", bank_url], env=env
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["status"] == "issued"

    out = runner.invoke(app, ["alerts", "approve", rec.alert_id, "--bank", bank_url])
    assert out.exit_code == 2
    assert "tidak dapat disetujui" in out.output and "cannot be approved" in out.output

    out = runner.invoke(
        app,
        ["alerts", "cancel", rec.alert_id, "--reason", "drill over",
         "--reason-id", "latihan selesai", "--actor", "sari", "--json", "--bank", bank_url],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["msg_type"] == "Cancel"

    out = runner.invoke(app, ["alerts", "show", rec.alert_id, "--json", "--bank", bank_url])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    actors = [(e["action"], e["actor"]) for e in shown["events"]]
    assert ("approved", "operator-test") in actors and ("issued", "sari") in actors
    assert [v["msg_type"] for v in shown["versions"]] == ["Alert", "Cancel"]

    out = runner.invoke(
        app, ["alerts", "feed", "--base-url", "https://t.example", "--bank", bank_url]
    )
    assert out.exit_code == 0, out.output
    assert len(etree.fromstring(out.stdout.encode()).findall("a:entry", ATOM)) == 2

    out = runner.invoke(app, ["alerts", "show", "nope", "--bank", bank_url])
    assert out.exit_code == 4 and "tidak ada peringatan" in out.output

    out = runner.invoke(app, ["alerts", "ingest", str(shared / BMKG), "--bank", bank_url])
    assert out.exit_code == 0 and "Not relayed" in out.stdout
    moved = _bmkg_over_jakarta(shared, tmp_path)
    out = runner.invoke(app, ["alerts", "ingest", str(moved), "--json", "--bank", bank_url])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["origin"] == "external:cuaca.ekstrem@bmkg.go.id"
    assert data["status"] == "expired"  # run after 17 Feb 2026 02:00 WIB: stored, not relayed
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<rss/>")
    out = runner.invoke(app, ["alerts", "ingest", str(bad), "--bank", bank_url])
    assert out.exit_code == 3 and "not a CAP 1.2 message" in out.output

    policy = tmp_path / "p.toml"
    policy.write_text('siaga_2 = "automatic"\n', encoding="utf-8")
    out = runner.invoke(
        app, ["alerts", "policy", "--set", str(policy), "--json", "--bank", bank_url]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["siaga_2"] == "automatic"
