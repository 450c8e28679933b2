"""Scheduled refresh with history (issue 6 §3, §7): sources, runs, snapshots, notices.

Sources are real files (GeoJSON on disk, or served by a real HTTP server on 127.0.0.1);
indicators are the feature counts per unit of :func:`feature_count_indicators` (a real
point-in-polygon count) and, when :mod:`tangguh.services.coverage` is present, the
default coverage indicators. Times are passed explicitly, so months of history take
milliseconds.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from _file_server import FileServer, serve
from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.demo import DemoCity, build_city, layer_meta, load_city
from tangguh.errors import InputError, NotFoundError
from tangguh.services import refresh as R

T0 = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)  # 08:00 WIB
COUNT = R.feature_count_indicators(["tps_live"])
TPS = R.feature_count_indicators(["tps"])
runner = CliRunner()


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture()
def server() -> Iterator[FileServer]:
    with serve(FileServer(content_type="application/geo+json")) as state:
        yield state


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@functools.cache
def _small() -> DemoCity:
    return build_city("small")


def _load(bank: Bank) -> None:
    """The demo's admin units and TPS (all a count of TPS per unit needs)."""
    small = _small()
    for layer_id, key in (("admin_units", "unit_id"), ("tps", "tps_id")):
        bank.write_layer(layer_id, small.layers[layer_id], layer_meta(layer_id, small), key=key)


@pytest.fixture()
def city(bank: Bank) -> Bank:
    _load(bank)
    return bank


def _tps(bank: Bank) -> gpd.GeoDataFrame:
    return bank.read_layer("tps").drop(columns=["unit_id"])


def _geojson(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json(drop_id=True).encode()


def _rw(bank: Bank, tps: gpd.GeoDataFrame) -> tuple[str, Any]:
    """An RW holding at least one TPS, and its polygon."""
    units = bank.read_layer("admin_units")
    rws = units[units["level"] == "rw"].sort_values("unit_id")
    for uid, geom in zip(rws["unit_id"], rws.geometry, strict=True):
        if shapely.contains(geom, tps.geometry.to_numpy()).any():
            return str(uid), geom
    raise AssertionError("no RW holds a TPS")


def _grow(tps: gpd.GeoDataFrame, rw_geom: Any, add: int, drop: int) -> gpd.GeoDataFrame:
    """``add`` TPS inside the RW, ``drop`` TPS removed outside it."""
    outside = ~shapely.contains(rw_geom, tps.geometry.to_numpy())
    gone = tps.index[outside][:drop]
    kept = tps.drop(index=gone)
    pt = rw_geom.representative_point()
    new = gpd.GeoDataFrame(
        {
            "tps_id": [f"tps_new_{i}" for i in range(add)],
            "name": [f"TPS baru {i}" for i in range(add)],
            "capacity_m3": [6.0] * add,
        },
        geometry=[pt] * add,
        crs="EPSG:4326",
    )
    return gpd.GeoDataFrame(pd.concat([kept, new], ignore_index=True), crs="EPSG:4326")


def _file_source(path: Path, schedule: str = "daily 02:00", sid: str = "tps-dki") -> str:
    return f"""
[sources.{sid}]
path = "{path}"
layer = "tps_live"
kind = "tps"
schedule = "{schedule}"
key = "tps_id"
title_id = "TPS (pembaruan berkala)"
title_en = "TPS (regular refresh)"
licence = "CC0-1.0"
"""


# -- schedules and configuration (no bank) -----------------------------------------------------
def test_schedule_forms_and_next_due_times() -> None:
    last = datetime(2024, 5, 6, 1, 30, tzinfo=UTC)  # Monday 08:30 WIB
    assert R.parse_schedule("6h").next_after(last) == last + timedelta(hours=6)
    assert R.parse_schedule(" 30M ").next_after(last) == last + timedelta(minutes=30)
    assert R.parse_schedule("2w").next_after(last) == last + timedelta(days=14)
    # 02:00 WIB = 19:00 UTC the day before: next is Tuesday 02:00 WIB
    assert R.parse_schedule("daily 02:00").next_after(last) == datetime(
        2024, 5, 6, 19, 0, tzinfo=UTC
    )
    # later the same WIB day
    assert R.parse_schedule("daily 20:15").next_after(last) == datetime(
        2024, 5, 6, 13, 15, tzinfo=UTC
    )
    # weekly: Monday 08:30 WIB is past Monday 02:00 -> next Monday; Rabu (Wednesday) in id
    assert R.parse_schedule("weekly mon 02:00").next_after(last) == datetime(
        2024, 5, 12, 19, 0, tzinfo=UTC
    )
    assert R.parse_schedule("weekly rabu 09:00").next_after(last) == datetime(
        2024, 5, 8, 2, 0, tzinfo=UTC
    )
    # monthly on the 1st, from 6 May -> 1 June 02:00 WIB; from December -> January
    assert R.parse_schedule("monthly 1 02:00").next_after(last) == datetime(
        2024, 5, 31, 19, 0, tzinfo=UTC
    )
    dec = datetime(2024, 12, 15, 0, 0, tzinfo=UTC)
    assert R.parse_schedule("monthly 1 02:00").next_after(dec) == datetime(
        2024, 12, 31, 19, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text", ["", "6", "0h", "30s", "daily", "daily 24:00", "daily 2pm", "weekly xyz 02:00",
             "monthly 31 02:00", "every day", "400d"],
)  # fmt: skip
def test_invalid_schedule_strings_are_rejected_with_the_field(text: str) -> None:
    with pytest.raises(InputError, match="invalid schedule") as info:
        R.parse_sources(_file_source(Path("/x.geojson"), schedule=text), where="s.toml")
    assert info.value.where == "s.toml [sources.tps-dki] schedule"
    assert info.value.message_id and "jadwal" in info.value.message_id
    assert info.value.hint and "daily 02:00" in info.value.hint


def test_source_configuration_errors_name_source_and_field(tmp_path: Path) -> None:
    cases = {
        '[sources.a]\nlayer = "tps"\nschedule = "1d"\n': ("exactly one of url and path", ""),
        '[sources.a]\nurl = "ftp://x/y.geojson"\nlayer = "tps"\nschedule = "1d"\n': (
            r"url must be http\(s\)",
            " url",
        ),
        '[sources.a]\npath = "x.geojson"\nlayer = "Bad-Layer"\nschedule = "1d"\n': (
            "invalid layer id",
            " layer",
        ),
        '[sources.a]\npath = "x.geojson"\nlayer = "tps"\n': ("missing schedule", " schedule"),
        '[sources.a]\npath = "x.geojson"\nlayer = "tps"\nschedule = "1d"\n'
        'retry = "daily 01:00"\n': (
            "invalid schedule",
            " retry",
        ),
        '[sources.a]\npath = "x.geojson"\nlayer = "tps"\nschedule = "1d"\ncolour = "red"\n': (
            "unknown key",
            "",
        ),
        '[sources.a]\npath = "x.geojson"\nlayer = "tps"\nschedule = "1d"\nkind = "lake"\n': (
            "unknown service layer kind",
            " kind",
        ),
        '[sources.a]\npath = "x.geojson"\nlayer = "tps"\nschedule = "1d"\n[sources.a.read]\n'
        "bogus = 1\n": ("unknown read option", " read"),
        '[sources.A]\npath = "x.geojson"\nlayer = "tps"\nschedule = "1d"\n': (
            "invalid source name",
            "",
        ),
    }
    for text, (message, field_) in cases.items():
        with pytest.raises(InputError, match=message) as info:
            R.parse_sources(text, where="s.toml")
        assert info.value.where is not None
        assert info.value.where.startswith("s.toml [sources."), info.value.where
        assert info.value.where.endswith(f"]{field_}"), (info.value.where, field_)
        assert info.value.message_id
    # relative paths are resolved against the file's folder
    conf = tmp_path / "conf" / "sources.toml"
    conf.parent.mkdir()
    conf.write_text('[sources.a]\npath = "data/tps.geojson"\nlayer = "tps"\nschedule = "6h"\n')
    src = R.load_sources(conf)["a"]
    assert src.path == str(tmp_path / "conf" / "data" / "tps.geojson")
    assert src.schedule.every == timedelta(hours=6) and src.enabled


# -- runs on both backends ---------------------------------------------------------------------
def test_refresh_versions_snapshots_changes_and_trend(city: Bank, tmp_path: Path) -> None:
    bank = city
    tps = _tps(bank)
    rw_id, rw_geom = _rw(bank, tps)
    data = tmp_path / "tps.geojson"
    data.write_bytes(_geojson(tps))
    R.add_sources(bank, R.parse_sources(_file_source(data)))

    first = R.refresh(bank, now=T0, indicators=COUNT)
    assert first.status == "ok" and first.trigger == "manual"
    assert first.sources_ok == 1 and first.sources_failed == 0
    assert first.features_read == len(tps) and first.layers_changed == 1
    assert first.indicators == 1 and first.taken_at == T0
    info = bank.layer("tps_live")
    assert info.current_version == 1 and info.feature_count == len(tps)
    assert info.title_en == "TPS (regular refresh)" and info.theme == "services"
    assert bank.history("tps_live")[0].message == f"refresh {first.run_id} from source tps-dki"
    snap = R.snapshot_at(bank)
    assert snap is not None and snap.run_id == first.run_id
    rw_counts = snap.table[snap.table["level"] == "rw"].set_index("unit_id")["value"]
    assert rw_counts.sum() == len(tps)  # every demo TPS lies in one RW
    assert set(snap.table["level"]) == {"kota", "kecamatan", "kelurahan", "rw"}
    before_rw = float(rw_counts[rw_id])

    # Same bytes a week later: not read again, no new layer version, a snapshot anyway.
    same = R.refresh(bank, now=T0 + timedelta(days=7), indicators=COUNT)
    assert same.status == "ok" and same.features_read == 0 and same.layers_changed == 0
    assert same.sources[0]["changed"] is False and same.sources[0]["layer_version"] == 1
    assert bank.layer("tps_live").current_version == 1
    # Other bytes, same features (reformatted file): read, but the write is rolled back.
    data.write_bytes(_geojson(tps).replace(b", ", b",  "))
    reformatted = R.refresh(bank, now=T0 + timedelta(days=14), indicators=COUNT)
    assert reformatted.features_read == len(tps) and reformatted.layers_changed == 0
    assert bank.layer("tps_live").current_version == 1
    assert len(bank.history("tps_live")) == 1

    # A month later: 4 new TPS in the RW, 3 removed elsewhere.
    data.write_bytes(_geojson(_grow(tps, rw_geom, add=4, drop=3)))
    later = T0 + timedelta(days=35)
    changed = R.refresh(bank, now=later, indicators=COUNT)
    assert changed.status == "ok" and changed.layers_changed == 1
    assert bank.layer("tps_live").current_version == 2
    version = bank.history("tps_live")[0]
    assert (version.added, version.removed, version.changed) == (4, 3, 0)

    # What changed since last month (default): against the snapshot in force a month
    # before the latest one (5 April - 1 month = 5 March: the snapshot of 1 March).
    diff = R.changes(bank, level="rw")
    assert diff is not None
    assert diff.after.run_id == changed.run_id and diff.before.run_id == first.run_id
    top = diff.table.iloc[0]
    assert (top["unit_id"], top["before"], top["after"], top["delta"]) == (
        rw_id, before_rw, before_rw + 4, 4.0,
    )  # fmt: skip
    assert list(diff.table["abs_delta"]) == sorted(diff.table["abs_delta"], reverse=True)
    assert diff.table["delta"].sum() == 1.0  # +4 - 3
    assert (diff.table["delta"] != 0).all()
    # An explicit date before the first snapshot falls back to the first snapshot.
    since = R.changes(bank, datetime(2020, 1, 1, tzinfo=UTC), level="rw")
    assert since is not None and since.before.run_id == first.run_id
    week = R.changes(bank, T0 + timedelta(days=10), level="rw")
    assert week is not None and week.before.run_id == same.run_id

    # Trend of the RW: one point per snapshot.
    series = R.trend(bank, rw_id, "count.tps_live")
    assert list(series["value"]) == [before_rw] * 3 + [before_rw + 4]
    assert list(series["taken_at"]) == [
        pd.Timestamp(T0 + timedelta(days=d)) for d in (0, 7, 14, 35)
    ]
    # The snapshot in force at a time.
    at = R.snapshot_at(bank, T0 + timedelta(days=20), level="rw", indicator="count.tps_live")
    assert at is not None and at.run_id == reformatted.run_id
    assert set(at.table["level"]) == {"rw"}
    assert R.snapshot_at(bank, T0 - timedelta(seconds=1)) is None
    assert [r.run_id for r in R.runs(bank)] == [
        changed.run_id, reformatted.run_id, same.run_id, first.run_id,
    ]  # fmt: skip
    assert R.notices(bank) == []
    assert {i["id"]: i["title_en"] for i in R.indicator_catalogue(bank)}["count.tps_live"]


def test_url_source_etag_unreachable_and_bad_file_keep_last_good(
    city: Bank, server: FileServer, tmp_path: Path
) -> None:
    bank = city
    tps = _tps(bank)
    server.files["/tps.geojson"] = _geojson(tps)
    server.etags["/tps.geojson"] = '"v1"'
    cache = tmp_path / "cache"
    text = f"""
[sources.tps-web]
url = "{server.url}/tps.geojson"
layer = "tps_live"
schedule = "1d"
key = "tps_id"
"""
    R.add_sources(bank, R.parse_sources(text))
    ok = R.refresh(bank, now=T0, indicators=COUNT, cache_dir=cache)
    assert ok.status == "ok" and ok.features_read == len(tps)
    assert (cache / "tps-web.geojson").is_file()
    # Second pull: a conditional GET answered 304, nothing read, no new version.
    again = R.refresh(bank, now=T0 + timedelta(days=1), indicators=COUNT, cache_dir=cache)
    assert server.not_modified["/tps.geojson"] == 1
    assert again.sources[0]["from_cache"] is True and again.features_read == 0
    assert bank.layer("tps_live").current_version == 1

    # The server answers with a broken file: the pull fails, the layer stays.
    server.files["/tps.geojson"] = b'{"type": "FeatureCollection", "features": [ broken'
    server.etags["/tps.geojson"] = '"v2"'
    broken = R.refresh(bank, now=T0 + timedelta(days=2), indicators=COUNT, cache_dir=cache)
    assert broken.status == "failed" and broken.sources_failed == 1
    assert bank.layer("tps_live").current_version == 1
    assert bank.layer("tps_live").feature_count == len(tps)

    # The source becomes unreachable (nothing listens on the port).
    unreachable = f"http://127.0.0.1:{_closed_port()}/tps.geojson"
    R.add_sources(bank, R.parse_sources(text.replace(f"{server.url}/tps.geojson", unreachable)))
    t_fail = T0 + timedelta(days=3)
    failed = R.refresh(bank, now=t_fail, indicators=COUNT, cache_dir=cache)
    assert failed.status == "failed" and failed.sources_failed == 1
    outcome = failed.sources[0]
    assert outcome["status"] == "failed"
    assert "download of 'tps-web' failed" in outcome["error_en"]
    assert "unduhan 'tps-web' gagal" in outcome["error_id"]
    assert "keep the last good version" in (failed.message_en or "")
    # nothing lost: the layer and its features are as the last good pull left them
    assert bank.layer("tps_live").current_version == 1
    assert len(bank.read_layer("tps_live")) == len(tps)
    # the snapshot of this run describes the last good data
    assert failed.snapshot_rows > 0
    snap = R.snapshot_at(bank)
    assert snap is not None and snap.run_id == failed.run_id
    state = R.get_source(bank, "tps-web")
    assert state.last_status == "failed" and state.last_attempt == t_fail
    assert state.last_ok == T0 + timedelta(days=1) and state.last_version == 1
    # one operator notice per failure, bilingual, newest first
    open_ = R.notices(bank)
    assert [n.source_id for n in open_] == ["tps-web", "tps-web"]
    assert open_[0].run_id == failed.run_id and open_[0].t == t_fail
    assert "tps_live keeps its last good version" in open_[0].message_en
    assert "tetap memakai versi terakhir yang baik" in open_[0].message_id
    assert open_[0].hint_en and open_[0].hint_id
    done = R.acknowledge(bank, open_[0].notice_id, by="operator1")
    assert done.acknowledged and done.acknowledged_by == "operator1"
    assert [n.notice_id for n in R.notices(bank)] == [open_[1].notice_id]
    assert len(R.notices(bank, open_only=False)) == 2
    with pytest.raises(NotFoundError):
        R.acknowledge(bank, 999_999, by="x")


def test_partial_run_and_failed_indicators(city: Bank, tmp_path: Path) -> None:
    bank = city
    data = tmp_path / "tps.geojson"
    data.write_bytes(_geojson(_tps(bank)))
    text = _file_source(data) + _file_source(tmp_path / "missing.geojson", sid="tps-lost")
    R.add_sources(bank, R.parse_sources(text))
    partial = R.refresh(bank, now=T0, indicators=COUNT)
    assert partial.status == "partial"
    assert (partial.sources_ok, partial.sources_failed) == (1, 1)
    lost = next(s for s in partial.sources if s["source_id"] == "tps-lost")
    assert "does not exist" in lost["error_en"] and "tidak ada" in lost["error_id"]
    assert [n.source_id for n in R.notices(bank)] == ["tps-lost"]

    def broken(bank: Bank, at: datetime) -> pd.DataFrame:
        raise ValueError("division by zero in the demo")

    failed = R.refresh(bank, source_ids=["tps-dki"], now=T0 + timedelta(days=1), indicators=broken)
    assert failed.status == "failed" and failed.snapshot_rows == 0 and failed.taken_at is None
    assert "indicators failed" in (failed.message_en or "")
    # the previous snapshot stays in force; a notice without a source says why
    snap = R.snapshot_at(bank)
    assert snap is not None and snap.run_id == partial.run_id
    notice = R.notices(bank)[0]
    assert notice.source_id is None and "division by zero" in notice.message_en
    assert "indikator tidak dihitung" in notice.message_id
    # indicators only (no source pulled)
    only = R.refresh(bank, source_ids=[], now=T0 + timedelta(days=2), indicators=COUNT)
    assert only.status == "ok" and only.sources == [] and only.snapshot_rows > 0
    with pytest.raises(NotFoundError, match="no configured source 'nope'"):
        R.refresh(bank, source_ids=["nope"], indicators=COUNT)


def test_kind_checks_refuse_overlapping_zones_and_keep_the_last_good_layer(
    tmp_path: Path,
) -> None:
    zones = _small().layers["water_service_zones"].copy()
    data = tmp_path / "zones.geojson"
    data.write_bytes(_geojson(zones))
    text = f"""
[sources.pam-zones]
path = "{data}"
kind = "water_zones"
schedule = "monthly 1 02:00"
"""
    with open_bank(str(tmp_path / "bank.gpkg")) as bank:
        _load(bank)
        R.add_sources(bank, R.parse_sources(text))
        assert R.get_source(bank, "pam-zones").source.layer == "svc_water_zones"  # the kind's
        good = R.refresh(bank, now=T0, indicators=TPS)
        assert good.status == "ok", good.sources
        assert bank.layer("svc_water_zones").current_version == 1
        assert bank.layer("svc_water_zones").extra["service_kind"] == "water_zones"
        # the operator's next file has zone_02 grown over zone_01
        zones.loc[1, "geometry"] = zones.geometry[0].buffer(0.003)
        data.write_bytes(_geojson(zones))
        bad = R.refresh(bank, now=T0 + timedelta(days=31), indicators=TPS)
        assert bad.status == "failed"
        assert "zones overlap (zone_01 x zone_02" in bad.sources[0]["error_en"]
        assert bank.layer("svc_water_zones").current_version == 1
        before = bank.read_layer("svc_water_zones").set_index("zone_id").geometry
        assert before["zone_02"].equals(_small().layers["water_service_zones"].geometry[1])
        notice = R.notices(bank)[0]
        assert notice.source_id == "pam-zones" and "overlap" in notice.message_en
        # allowed overlaps: imported, kept as data flags of the run
        R.add_sources(bank, R.parse_sources(text + "allow_overlaps = true\n"))
        flagged = R.refresh(bank, now=T0 + timedelta(days=32), indicators=TPS)
        assert flagged.status == "ok" and "zone_overlap" in flagged.sources[0]["flags"]
        assert bank.layer("svc_water_zones").current_version == 2


def test_run_due_follows_schedules_retry_and_enabled(city: Bank, tmp_path: Path) -> None:
    bank = city
    data = tmp_path / "tps.geojson"
    data.write_bytes(_geojson(_tps(bank)))
    text = (
        _file_source(data, schedule="daily 02:00", sid="daily")
        + _file_source(data, schedule="6h", sid="six")
        + _file_source(data, schedule="1h", sid="off").replace(
            "licence", "enabled = false\nlicence"
        )
        + _file_source(tmp_path / "gone.geojson", schedule="1d", sid="flaky").replace(
            "licence", 'retry = "30m"\nlicence'
        )
    )
    R.add_sources(bank, R.parse_sources(text))
    start = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # 08:00 WIB
    first = R.run_due(bank, start, indicators=COUNT)
    assert first is not None and first.trigger == "scheduler"
    assert sorted(s["source_id"] for s in first.sources) == ["daily", "flaky", "six"]
    assert R.run_due(bank, start + timedelta(minutes=10), indicators=COUNT) is None
    # the failed source is retried after 30 minutes, alone
    retry = R.run_due(bank, start + timedelta(minutes=30), indicators=COUNT)
    assert retry is not None and [s["source_id"] for s in retry.sources] == ["flaky"]
    due = {s.source.source_id: s.next_due() for s in R.list_sources(bank)}
    assert due["six"] == start + timedelta(hours=6)
    assert due["daily"] == datetime(2024, 5, 6, 19, 0, tzinfo=UTC)  # 02:00 WIB next day
    assert due["off"] is None  # never run, but disabled: never due
    six = R.run_due(bank, start + timedelta(hours=6), indicators=COUNT)
    assert six is not None and [s["source_id"] for s in six.sources] == ["flaky", "six"]
    night = R.run_due(bank, datetime(2024, 5, 6, 19, 0, tzinfo=UTC), indicators=COUNT)
    assert night is not None
    assert sorted(s["source_id"] for s in night.sources) == ["daily", "flaky", "six"]
    assert all(s["source_id"] != "off" for r in R.runs(bank) for s in r.sources)
    assert R.next_wake(bank, start) is not None


def test_scheduler_loop_runs_when_due_and_stops(city: Bank, tmp_path: Path) -> None:
    bank = city
    data = tmp_path / "tps.geojson"
    data.write_bytes(_geojson(_tps(bank)))
    R.add_sources(bank, R.parse_sources(_file_source(data, schedule="1d")))
    stop = threading.Event()
    seen: list[R.RunRecord] = []

    def on_run(record: R.RunRecord) -> None:
        seen.append(record)
        stop.set()

    t0 = time.perf_counter()
    count = R.run_scheduler(bank, stop, poll_seconds=0.05, indicators=COUNT, on_run=on_run)
    assert count == 1 and seen[0].status == "ok" and seen[0].trigger == "scheduler"
    assert time.perf_counter() - t0 < 20


def test_default_coverage_indicators(bank: Bank) -> None:
    pytest.importorskip("tangguh.services.coverage")
    load_city(bank, _small())
    city = bank
    run = R.refresh(city, source_ids=[], now=T0)
    assert run.status == "ok", run.message_en
    snap = R.snapshot_at(city)
    assert snap is not None and snap.run_id == run.run_id
    assert {"rw", "kelurahan"} <= set(snap.table["level"])
    assert run.indicators == snap.table["indicator"].nunique() > 0
    catalogue = {i["id"]: i for i in R.indicator_catalogue(city)}
    assert set(snap.table["indicator"]) <= set(catalogue)


# -- CLI (embedded bank) ----------------------------------------------------------------------
def _cli(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def test_cli_sources_refresh_runs_changes_trend_notices(tmp_path: Path) -> None:
    bank_path = tmp_path / "bank.gpkg"
    with open_bank(str(bank_path)) as b:
        _load(b)
        tps = _tps(b)
        rw_id, rw_geom = _rw(b, tps)
    data = tmp_path / "tps.geojson"
    data.write_bytes(_geojson(tps))
    conf = tmp_path / "sources.toml"
    conf.write_text(_file_source(data) + _file_source(tmp_path / "nope.geojson", sid="lost"))
    bad = tmp_path / "bad.toml"
    bad.write_text(_file_source(data, schedule="every day"))
    b = ["--bank", bank_path]

    res = _cli("services", "sources", "add", bad, *b)
    assert res.exit_code == 2
    assert "invalid schedule 'every day'" in res.output and "schedule" in res.output
    res = _cli("services", "sources", "add", conf, *b)
    assert res.exit_code == 0, res.output
    res = _cli("services", "sources", "list", "--json", *b)
    listed = {s["source_id"]: s for s in __import__("json").loads(res.stdout)}
    assert set(listed) == {"tps-dki", "lost"} and listed["tps-dki"]["next_due"] is None

    res = _cli("services", "refresh", "--count-layer", "tps_live", *b)
    assert res.exit_code == 0, res.output  # partial: one source failed
    assert "partial" in res.output and "lost" in res.output
    res = _cli("services", "refresh", *b)  # nothing due any more
    assert res.exit_code == 0 and "Nothing due" in res.output
    data.write_bytes(_geojson(_grow(tps, rw_geom, add=2, drop=0)))
    res = _cli("services", "refresh", "--source", "tps-dki", "--count-layer", "tps_live", *b)
    assert res.exit_code == 0 and "ok" in res.output, res.output
    res = _cli("services", "refresh", "--source", "lost", "--count-layer", "tps_live", *b)
    assert res.exit_code == 7 and "failed" in res.output

    res = _cli("services", "runs", "--json", *b)
    runs = __import__("json").loads(res.stdout)
    assert [r["status"] for r in runs] == ["failed", "ok", "partial"]
    res = _cli("services", "runs", *b)
    assert res.exit_code == 0 and "partial" in res.output
    res = _cli("services", "changes", "--since", "2000-01-01", "--level", "rw", "--json", *b)
    diff = __import__("json").loads(res.stdout)
    assert diff["changes"][0]["unit_id"] == rw_id and diff["changes"][0]["delta"] == 2.0
    res = _cli("services", "changes", "--since", "2000-01-01", "--level", "rw", *b)
    assert res.exit_code == 0 and rw_id in res.output and "+2" in res.output
    res = _cli("services", "trend", "--unit", rw_id, "--indicator", "count.tps_live", "--json", *b)
    values = [p["value"] for p in __import__("json").loads(res.stdout)]
    assert values[0] + 2 == values[1] == values[2] and len(values) == 3
    res = _cli("services", "trend", "--unit", rw_id, "--indicator", "count.tps_live", *b)
    assert res.exit_code == 0 and "WIB" in res.output
    res = _cli("services", "changes", "--since", "kemarin", *b)
    assert res.exit_code == 2 and "unreadable time" in res.output

    res = _cli("services", "notices", "--json", *b)
    items = __import__("json").loads(res.stdout)
    assert len(items) == 2 and {n["source_id"] for n in items} == {"lost"}
    res = _cli("services", "notices", "--ack", items[0]["notice_id"], "--by", "budi", *b)
    assert res.exit_code == 0
    res = _cli("services", "notices", "--json", *b)
    assert len(__import__("json").loads(res.stdout)) == 1
    res = _cli("services", "sources", "remove", "lost", *b)
    assert res.exit_code == 0
    res = _cli("services", "sources", "remove", "lost", *b)
    assert res.exit_code == 4 and "no configured source 'lost'" in res.output


def test_cli_scheduler_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    bank_path = tmp_path / "bank.gpkg"
    with open_bank(str(bank_path)) as b:
        _load(b)
        tps = _tps(b)
    data = tmp_path / "tps.geojson"
    data.write_bytes(_geojson(tps))
    conf = tmp_path / "sources.toml"
    conf.write_text(_file_source(data, schedule="1d"))
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        res = _cli(
            "services", "scheduler", "--config", conf, "--poll", "0.1",
            "--count-layer", "tps_live", "--bank", bank_path,
        )  # fmt: skip
    finally:
        timer.cancel()
    assert res.exit_code == 0, res.output
    assert "scheduler stopped after 1 run(s)" in res.output
    with open_bank(str(bank_path)) as b:
        assert [r.trigger for r in R.runs(b)] == ["scheduler"]
        assert b.layer("tps_live").feature_count == len(tps)
