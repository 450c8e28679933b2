"""Citizen reports (issue 6 §4, §7): lifecycle, routing, SLA, clusters, abuse flags,
per-RW aggregation and flood suggestions, through the Python API and the CLI, on both
backends, on the small demo city."""

from __future__ import annotations

import json
import struct
import tempfile
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from tangguh.bank import Bank
from tangguh.cli.main import app
from tangguh.demo import build_city, load_city
from tangguh.errors import InputError, NotFoundError
from tangguh.services import reports as R
from tangguh.services.tables.reports import (
    after_create,
    tg_svc_report,
    tg_svc_report_event,
    tg_svc_report_photo,
)

T0 = datetime(2025, 1, 20, 1, 0, tzinfo=UTC)  # 08:00 WIB
GPS_LAT = b"\x06\x00\x00\x00\x01\x00\x00\x00"  # the degrees rational of the EXIF latitude


def jpeg(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A real JPEG (GDAL's JPEG driver) with an EXIF APP1 segment holding a GPS position."""
    import rasterio
    import rasterio.shutil
    from rasterio.errors import NotGeoreferencedWarning

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (3, height, width), dtype="uint8")
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        src, out = Path(tmp) / "a.tif", Path(tmp) / "a.jpg"
        with rasterio.open(
            src, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8"
        ) as ds:
            ds.write(pixels)
        rasterio.shutil.copy(src, out, driver="JPEG")
        data = out.read_bytes()
    # EXIF: IFD0 -> GPS IFD with GPSLatitudeRef S and GPSLatitude 6/1 12/1 0/1.
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, 26) + b"\x00" * 4
    tiff += struct.pack("<H", 2) + struct.pack("<HHI4s", 1, 2, 2, b"S\x00\x00\x00")
    tiff += struct.pack("<HHII", 2, 5, 3, 56) + b"\x00" * 4
    tiff += GPS_LAT + struct.pack("<IIII", 12, 1, 0, 1)
    body = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def city(bank: Bank) -> gpd.GeoDataFrame:
    load_city(bank, build_city("small"))
    return bank.read_layer("admin_units")


def inside(units: gpd.GeoDataFrame, unit_id: str) -> tuple[float, float]:
    pt = units.loc[units["unit_id"] == unit_id].geometry.iloc[0].representative_point()
    return float(pt.x), float(pt.y)


def rws(units: gpd.GeoDataFrame) -> list[str]:
    return sorted(units.loc[units["level"] == "rw", "unit_id"])


def count(bank: Bank, table: Any) -> int:
    with bank.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_whole_lifecycle_with_photos_and_events(bank: Bank) -> None:
    units = city(bank)
    rw = rws(units)[10]
    lon, lat = inside(units, rw)
    photo = R.check_photo(jpeg())
    assert GPS_LAT not in photo.data and b"Exif" not in photo.data  # GPS stripped
    sent = R.submit(
        bank, R.ReportDraft(lon, lat, "flood", 45, "Air setinggi lutut"),
        reporter_id="warga-1", photo=photo, now=T0,
    )  # fmt: skip
    rep = sent.report
    assert rep["status"] == "new" and rep["rw_id"] == rw and rep["type"] == "flood"
    assert rep["kelurahan_id"] == units.loc[units["unit_id"] == rw, "parent_id"].iloc[0]
    assert rep["cluster_size"] == 1 and rep["primary"] and rep["photo"] == rep["report_id"]
    rid, token = rep["report_id"], sent.token
    stored, kind = R.photo_bytes(bank, rid)
    assert kind == "image/jpeg" and stored == photo.data and GPS_LAT not in stored
    # The public view has no reporter identity; a wrong order of steps is refused.
    public = R.get_report(bank, rid)
    assert "reporter_key" not in public and "flags" not in public
    with pytest.raises(R.TransitionError, match="cannot resolve") as err:
        R.resolve(bank, rid, actor="op", photo=photo, now=T0)
    assert err.value.message_id and "selesai" not in err.value.message
    with pytest.raises(R.TransitionError):
        R.confirm(bank, rid, token=token, now=T0)
    # verify -> assigned to BPBD (floods) at once
    done = R.verify(
        bank, rid, actor="user:op-budi", note="cek lapangan", now=T0 + timedelta(hours=1)
    )
    assert done["status"] == "assigned" and done["unit"] == "bpbd"
    assert done["assigned_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert done["sla"]["reached"] and not done["sla"]["reach_late"]
    with pytest.raises(R.TransitionError):
        R.verify(bank, rid, actor="op")
    R.start(bank, rid, actor="user:bpbd", now=T0 + timedelta(hours=2))
    with pytest.raises(InputError, match="needs a resolution photo"):
        R.resolve(bank, rid, actor="user:bpbd", photo=None)
    fixed = R.resolve(
        bank, rid, actor="user:bpbd", photo=R.check_photo(jpeg(seed=3)), note="pompa",
        now=T0 + timedelta(hours=5),
    )  # fmt: skip
    assert fixed["status"] == "resolved" and len(fixed["resolution_photos"]) == 1
    data, _ = R.photo_bytes(bank, rid, fixed["resolution_photos"][0])
    assert data.startswith(b"\xff\xd8") and GPS_LAT not in data
    with pytest.raises(R.TokenError):
        R.confirm(bank, rid, token="not-the-token")
    # The reporter reopens, the unit works again, resolves, the reporter confirms.
    again = R.reopen(bank, rid, token=token, note="masih banjir", now=T0 + timedelta(hours=6))
    assert again["status"] == "reopened" and again["resolved_at"] is None
    R.start(bank, rid, actor="user:bpbd", now=T0 + timedelta(hours=7))
    R.resolve(
        bank, rid, actor="user:bpbd", photo=R.check_photo(jpeg(seed=4)), now=T0 + timedelta(hours=8)
    )
    closed = R.confirm(bank, rid, token=token, now=T0 + timedelta(hours=9))
    assert closed["status"] == "confirmed" and closed["closed_at"]
    assert not closed["sla"]["overdue"]
    with pytest.raises(R.TransitionError):
        R.reopen(bank, rid, token=token)
    log = R.events(bank, rid, private=True)
    assert [e["action"] for e in log] == [
        "submit", "verify", "assign", "start", "resolve", "reopen", "start", "resolve", "confirm",
    ]  # fmt: skip
    assert log[1]["actor"] == "user:op-budi" and log[1]["note"] == "cek lapangan"
    assert log[2]["actor"] == "system" and log[2]["unit"] == "bpbd"
    assert log[5]["actor"] == "reporter" and log[5]["note"] == "masih banjir"
    assert all("actor" not in e for e in R.events(bank, rid))
    assert count(bank, tg_svc_report_photo) == 3


def test_routing_zone_operator_overrides_and_config(bank: Bank, tmp_path: Path) -> None:
    units = city(bank)
    zones = bank.read_layer("water_service_zones")
    rw = rws(units)[3]
    lon, lat = inside(units, rw)
    hit = zones[zones.geometry.intersects(shapely.Point(lon, lat))].sort_values("zone_id")
    assert len(hit), "the demo zones cover the test point"
    water = R.submit(bank, R.ReportDraft(lon, lat, "water_outage", None, "air mati"),
                     reporter_id="w", now=T0).report  # fmt: skip
    got = R.verify(bank, water["report_id"], actor="op", now=T0)
    assert got["unit_name"] == hit["operator"].iloc[0] and got["unit"].startswith("zone:")
    waste = R.submit(bank, R.ReportDraft(lon, lat, "waste_pile"), reporter_id="w", now=T0).report
    assert R.verify(bank, waste["report_id"], actor="op", now=T0)["unit"] == "dinas_lh"
    # A configuration with a kelurahan override and a 1-hour reach target for waste.
    kel = water["kelurahan_id"]
    text = (Path(R.__file__).parent / "data" / "report_units.toml").read_text(encoding="utf-8")
    text = text.replace('[types.waste_pile]\nunit = "dinas_lh"',
                        '[types.waste_pile]\nunit = "dinas_lh"\nreach_hours = 1')  # fmt: skip
    text += (
        '\n[units.ppsu_test]\nname_id = "PPSU Kelurahan Uji"\nname_en = "PPSU test team"\n'
        f'\n[[overrides]]\nkelurahan = "{kel}"\ntypes = ["waste_pile"]\nunit = "ppsu_test"\n'
    )
    cfg = tmp_path / "units.toml"
    cfg.write_text(text, encoding="utf-8")
    stored = R.import_config(bank, cfg, actor="admin")
    assert stored.version == 1 and R.current_config(bank).version == 1
    second = R.submit(bank, R.ReportDraft(lon, lat, "waste_pile"), reporter_id="x", now=T0).report
    assert second["sla"]["reach_due"] == (T0 + timedelta(hours=1)).isoformat()
    routed = R.verify(bank, second["report_id"], actor="op", now=T0)
    assert routed["unit"] == "ppsu_test" and routed["unit_name"] == "PPSU Kelurahan Uji"
    # Manual re-assignment to a known unit; an unknown unit is refused.
    moved = R.assign(bank, second["report_id"], actor="op", unit="dinas_sda", now=T0)
    assert moved["unit"] == "dinas_sda" and moved["assigned_at"] == routed["assigned_at"]
    with pytest.raises(InputError, match="unknown responsible unit"):
        R.assign(bank, second["report_id"], actor="op", unit="nobody")
    # Bad configuration files: each names the field; nothing stored.
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('unit = "dinas_bm"', 'unit = "dinas_xx"'), encoding="utf-8")
    with pytest.raises(InputError, match="unknown unit 'dinas_xx'") as err:
        R.import_config(bank, bad)
    assert "types.damaged_infrastructure" in str(err.value.where)
    bad.write_text(text.replace("reach_hours = 6", "reach_hours = -6"), encoding="utf-8")
    with pytest.raises(InputError, match="positive"):
        R.import_config(bank, bad)
    assert R.current_config(bank).version == 1


def test_sla_overdue_flags_and_listing(bank: Bank) -> None:
    units = city(bank)
    lon, lat = inside(units, rws(units)[0])
    a = R.submit(bank, R.ReportDraft(lon, lat, "blocked_drain"), reporter_id="a", now=T0).report
    b = R.submit(bank, R.ReportDraft(lon, lat, "flood", depth_cm=30), reporter_id="b",
                 now=T0 + timedelta(minutes=30)).report  # fmt: skip
    at5 = T0 + timedelta(hours=5)
    assert R.overdue(bank, now=at5) == []
    at7 = T0 + timedelta(hours=7)
    late = R.overdue(bank, now=at7)
    assert [x["report_id"] for x in late] == [a["report_id"], b["report_id"]]  # earliest due first
    assert all(x["sla"]["reach_overdue"] and not x["sla"]["resolve_overdue"] for x in late)
    # Verified late: reached after the 6 h target (flagged) and no longer reach-overdue.
    done = R.verify(bank, a["report_id"], actor="op", now=at7)
    assert done["sla"]["reach_late"] and not done["sla"]["overdue"]
    # Floods must be resolved within 24 h, blocked drains within 72 h (shipped config).
    assert b["sla"]["resolve_due"] == (T0 + timedelta(minutes=30, hours=24)).isoformat()
    at30 = T0 + timedelta(hours=30)
    ids = [x["report_id"] for x in R.overdue(bank, now=at30)]
    assert ids == [b["report_id"]]
    listed = R.list_reports(bank, overdue_only=True, now=at30, private=True)
    assert [x["report_id"] for x in listed] == ids
    R.reject(bank, b["report_id"], actor="op", now=at30)
    assert R.overdue(bank, now=at30) == []
    with pytest.raises(NotFoundError):
        R.get_report(bank, b["report_id"])  # rejected: operators only
    assert R.get_report(bank, b["report_id"], private=True)["status"] == "rejected"
    assert R.restore(bank, b["report_id"], actor="op")["status"] == "new"


def test_clusters_and_abuse_flags(bank: Bank) -> None:
    units = city(bank)
    lon, lat = inside(units, rws(units)[20])
    d = 30 / 111_000  # ~30 m north
    first = R.submit(bank, R.ReportDraft(lon, lat, "flood", 20), reporter_id="r1", now=T0).report
    near = [
        R.submit(
            bank,
            R.ReportDraft(lon, lat + d * (i + 1), "flood", 30),
            reporter_id=f"r{i + 2}",
            now=T0 + timedelta(minutes=10 * (i + 1)),
        ).report
        for i in range(2)
    ]
    assert {x["cluster_id"] for x in near} == {first["report_id"]}
    assert near[-1]["cluster_size"] == 3 and not near[-1]["primary"]
    assert R.get_report(bank, first["report_id"])["cluster_size"] == 3
    other_type = R.submit(bank, R.ReportDraft(lon, lat, "waste_pile"), reporter_id="r9", now=T0)
    far = R.submit(bank, R.ReportDraft(lon, lat + 0.005, "flood", 20), reporter_id="r9", now=T0)
    later = R.submit(bank, R.ReportDraft(lon, lat, "flood", 20), reporter_id="r9",
                     now=T0 + timedelta(hours=7))  # fmt: skip
    for alone in (other_type, far, later):
        assert alone.report["cluster_id"] == alone.report["report_id"]
    # Abuse: the same photo twice, a burst of reports, many rejections.
    photo = R.check_photo(jpeg(seed=7))
    R.submit(bank, R.ReportDraft(lon, lat, "blocked_drain"), reporter_id="s", photo=photo, now=T0)
    again = R.submit(bank, R.ReportDraft(lon, lat, "blocked_drain"), reporter_id="t", photo=photo,
                     now=T0)  # fmt: skip
    assert "photo_reused" in again.report["flags"]
    burst = [
        R.submit(
            bank,
            R.ReportDraft(lon, lat, "damaged_infrastructure"),
            reporter_id="spam",
            ip_hash="ip1",
            now=T0 + timedelta(seconds=i),
        ).report
        for i in range(6)
    ]
    assert burst[4]["flags"] == [] and set(burst[5]["flags"]) == {"burst", "ip_burst"}
    for x in burst[:3]:
        R.reject(bank, x["report_id"], actor="op", now=T0 + timedelta(minutes=1))
    flagged = R.submit(bank, R.ReportDraft(lon, lat, "waste_pile"), reporter_id="spam",
                       now=T0 + timedelta(hours=1)).report  # fmt: skip
    assert flagged["flags"] == ["often_rejected"]
    seen = {x["reporter_key"]: x for x in R.abuse(bank, now=T0 + timedelta(hours=1))}
    spam = seen[R.reporter_key("spam")]
    assert spam["rejected"] == 3 and {"burst", "often_rejected"} <= set(spam["flags"])
    assert "spam" not in json.dumps(list(seen.values()))
    only = R.list_reports(bank, flagged_only=True, private=True, now=T0)
    assert {x["report_id"] for x in only} >= {again.report["report_id"], burst[5]["report_id"]}


def test_summary_and_flood_suggestions(bank: Bank) -> None:
    from tangguh.web.tables import tg_web_rw_state

    units = city(bank)
    rw_a, rw_b = rws(units)[5], rws(units)[30]
    (la, pa), (lb, pb) = inside(units, rw_a), inside(units, rw_b)
    ids = []
    for depth in (20, 40, 100):
        ids.append(R.submit(bank, R.ReportDraft(la, pa, "flood", depth), reporter_id="a", now=T0))
    ids.append(R.submit(bank, R.ReportDraft(lb, pb, "flood", 160), reporter_id="b", now=T0))
    R.submit(bank, R.ReportDraft(lb, pb, "flood", 5), reporter_id="b", now=T0)  # not verified
    R.submit(bank, R.ReportDraft(lb, pb, "waste_pile"), reporter_id="b", now=T0)
    for s in ids:
        R.verify(bank, s.report["report_id"], actor="op", now=T0)
    with bank.begin() as conn:
        conn.execute(insert(tg_web_rw_state).values(unit_id=rw_a, state=2, t=T0, actor="op"))
    got = {s["rw_id"]: s for s in R.suggestions(bank, now=T0 + timedelta(hours=1))}
    assert set(got) == {rw_a, rw_b}
    assert got[rw_a]["median_depth_cm"] == 40 and got[rw_a]["suggested_state"] == 2
    assert got[rw_a]["current_state"] == 2 and not got[rw_a]["differs"]
    assert got[rw_b]["suggested_state"] == 4 and got[rw_b]["differs"] and got[rw_b]["reports"] == 1
    assert R.suggestions(bank, now=T0 + timedelta(hours=7)) == []  # outside the 6 h window
    assert [R.state_for_depth(d) for d in (0, 5, 10, 11, 70, 70.5, 150, 151)] == [
        0, 1, 1, 2, 2, 3, 3, 4,
    ]  # fmt: skip
    with bank.connect() as conn:  # suggestions never change the RW states
        assert conn.execute(select(func.count()).select_from(tg_web_rw_state)).scalar() == 1
    per_rw = {r["unit_id"]: r for r in R.summary(bank, now=T0 + timedelta(hours=7))}
    b = per_rw[rw_b]
    assert b["total"] == 3 and b["by_type"] == {"flood": 2, "waste_pile": 1}
    assert b["by_status"] == {"assigned": 1, "new": 2} and b["open"] == 3
    assert b["overdue"] == 2  # the two unverified ones, not at a unit after 6 h
    kel = R.summary(bank, level="kelurahan")
    assert sum(r["total"] for r in kel) == 6
    with pytest.raises(InputError):
        R.summary(bank, level="kota")


def test_bad_input_stores_nothing(bank: Bank) -> None:
    units = city(bank)
    lon, lat = inside(units, rws(units)[1])
    before = (count(bank, tg_svc_report), count(bank, tg_svc_report_event))
    with pytest.raises(InputError, match="outside the city") as err:
        R.submit(bank, R.ReportDraft(110.0, -7.0, "flood", 10), reporter_id="x")
    assert "di luar kota" in str(err.value.message_id) and err.value.hint_id
    for text in (b"just text pretending to be a photo\n" * 20, b"\xff\xd8\xff\xe0\x00\x10JFIF"):
        with pytest.raises(R.PhotoError, match="not a PNG or JPEG") as perr:
            R.check_photo(text)
        assert perr.value.reason == "type" and perr.value.message_id
    with pytest.raises(R.PhotoError) as big:
        R.check_photo(jpeg() + b"\x00" * R.MAX_PHOTO_BYTES)
    assert big.value.reason == "size"
    with pytest.raises(InputError, match="needs a water depth"):
        R.submit(bank, R.ReportDraft(lon, lat, "flood"), reporter_id="x")
    with pytest.raises(InputError, match="flood reports only"):
        R.submit(bank, R.ReportDraft(lon, lat, "waste_pile", 10), reporter_id="x")
    with pytest.raises(InputError, match="unknown report type"):
        R.submit(bank, R.ReportDraft(lon, lat, "volcano"), reporter_id="x")
    with pytest.raises(InputError, match="at most 1000"):
        R.submit(bank, R.ReportDraft(lon, lat, "waste_pile", text="x" * 1001), reporter_id="x")
    with pytest.raises(NotFoundError):
        R.verify(bank, "nope", actor="op")
    assert (count(bank, tg_svc_report), count(bank, tg_svc_report_event)) == before
    folder = R.media_dir(bank)
    assert folder is None or not folder.exists() or not any(folder.iterdir())


def test_migration_copies_web_reports(bank: Bank) -> None:
    from tangguh.web.tables import tg_web_photo, tg_web_report

    with bank.begin() as conn:
        conn.execute(
            insert(tg_web_report),
            [
                {"report_id": "old1", "t": T0, "lon": 106.8, "lat": -6.13, "depth_cm": 30.0,
                 "text": "lama", "reporter_id": "u1", "rw_id": "rw:1", "kelurahan_id": "kel:1",
                 "status": "verified", "reviewed_by": "user:op", "reviewed_at": T0,
                 "photo_type": "image/png"},
                {"report_id": "old2", "t": T0, "lon": 106.8, "lat": -6.13, "depth_cm": 0.0,
                 "text": None, "reporter_id": "u2", "rw_id": None, "kelurahan_id": "kel:1",
                 "status": "new", "reviewed_by": None, "reviewed_at": None, "photo_type": None},
            ],
        )  # fmt: skip
        conn.execute(
            insert(tg_web_photo).values(
                report_id="old1", media_type="image/png", size=3, sha256="a" * 64,
                path=None, data=b"png",
            )
        )  # fmt: skip
        after_create(conn)
    got = R.get_report(bank, "old1", private=True)
    assert got["type"] == "flood" and got["status"] == "verified" and got["photo"] == "old1"
    assert R.photo_bytes(bank, "old1") == (b"png", "image/png")
    assert [e["action"] for e in R.events(bank, "old1", private=True)] == ["submit", "verify"]
    assert R.get_report(bank, "old2")["status"] == "new"


# -- CLI ------------------------------------------------------------------------------------------


def _cli(*args: str, ok: bool = True) -> Any:
    result = CliRunner().invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_cli_lifecycle(bank: Bank, bank_url: str, tmp_path: Path) -> None:
    units = city(bank)
    lon, lat = inside(units, rws(units)[12])
    sent = R.submit(bank, R.ReportDraft(lon, lat, "flood", 60), reporter_id="c", now=T0)
    R.submit(bank, R.ReportDraft(lon, lat, "waste_pile"), reporter_id="c", now=T0)
    rid, token = sent.report["report_id"], sent.token
    b = ["--bank", bank_url]
    rows = json.loads(_cli("reports", "list", *b, "--json").stdout)
    assert {r["type"] for r in rows} == {"flood", "waste_pile"}
    assert "spam" not in _cli("reports", "list", *b, "--type", "flood").stdout
    listed = json.loads(_cli("reports", "list", *b, "--type", "flood", "--json").stdout)
    assert [r["report_id"] for r in listed] == [rid]
    assert json.loads(_cli("reports", "overdue", *b, "--json").stdout)  # T0 is long past
    out = json.loads(_cli("reports", "verify", rid, *b, "--actor", "op-cli", "--json").stdout)
    assert out["status"] == "assigned" and out["unit"] == "bpbd"
    out = json.loads(_cli("reports", "assign", rid, *b, "--unit", "dinas_sda", "--json").stdout)
    assert out["unit"] == "dinas_sda"
    _cli("reports", "start", rid, *b, "--note", "tim berangkat")
    photo = tmp_path / "fixed.jpg"
    photo.write_bytes(jpeg(seed=9))
    notimg = tmp_path / "fake.jpg"
    notimg.write_text("not an image")
    bad = _cli("reports", "resolve", rid, *b, "--photo", str(notimg), ok=False)
    assert bad.exit_code == 2 and "not a PNG or JPEG" in bad.output
    out = json.loads(_cli("reports", "resolve", rid, *b, "--photo", str(photo), "--json").stdout)
    assert out["status"] == "resolved" and out["resolution_photos"]
    wrong = _cli("reports", "confirm", rid, *b, "--token", "wrong", ok=False)
    assert wrong.exit_code == 2 and "wrong reporter token" in wrong.output
    _cli("reports", "reopen", rid, *b, "--note", "belum beres")
    _cli("reports", "start", rid, *b)
    _cli("reports", "resolve", rid, *b, "--photo", str(photo))
    out = json.loads(_cli("reports", "confirm", rid, *b, "--token", token, "--json").stdout)
    assert out["status"] == "confirmed"
    illegal = _cli("reports", "start", rid, *b, ok=False)
    assert illegal.exit_code == 2 and "cannot start" in illegal.output
    shown = json.loads(_cli("reports", "show", rid, *b, "--json").stdout)
    assert [e["action"] for e in shown["events"]][:3] == ["submit", "verify", "assign"]
    assert "Lifecycle" in _cli("reports", "show", rid, *b).stdout
    summary = json.loads(_cli("reports", "summary", *b, "--json").stdout)
    assert summary[0]["total"] == 2
    assert "Reports per rw" in _cli("reports", "summary", *b).stdout
    sugg = json.loads(
        _cli("reports", "suggestions", *b, "--window-hours", "100000", "--json").stdout
    )
    assert sugg[0]["suggested_state"] == 2
    units_out = json.loads(_cli("reports", "units", *b, "--json").stdout)
    assert {t["type"] for t in units_out["types"]} == set(R.TYPES)
    cfg = tmp_path / "u.toml"
    cfg.write_text((Path(R.__file__).parent / "data" / "report_units.toml").read_text())
    assert "v1" in _cli("reports", "units", *b, "--import", str(cfg)).stdout
    missing = _cli("reports", "show", "nope", *b, ok=False)
    assert missing.exit_code == 4
    rej = _cli("reports", "reject", rows[0]["report_id"] if rows[0]["report_id"] != rid
               else rows[1]["report_id"], *b, "--json")  # fmt: skip
    assert json.loads(rej.stdout)["status"] == "rejected"
