"""The bank contract, run against both backends (GeoPackage and PostGIS)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.bank import Bank, LayerMeta, open_bank
from tangguh.errors import BankVersionError, InputError, NotFoundError


def _frame(n: int = 5, *, offset: float = 0.0) -> gpd.GeoDataFrame:
    xs = 106.8 + np.arange(n) * 0.01 + offset
    return gpd.GeoDataFrame(
        {
            "code": [f"K{i:03d}" for i in range(n)],
            "name": [f"Unit {i}" for i in range(n)],
            "population": np.arange(n, dtype=np.int64) * 1000,
            "share": np.linspace(0, 1, n),
            "floodprone": [i % 2 == 0 for i in range(n)],
        },
        geometry=shapely.box(xs, -6.2, xs + 0.005, -6.195),
        crs="EPSG:4326",
    )


def test_write_and_read_round_trip_keeps_values_and_types(bank: Bank) -> None:
    frame = _frame()
    frame["observed"] = pd.to_datetime(["2024-01-01T07:00+07:00"] * 5)
    frame["tags"] = [{"rw": i} for i in range(5)]
    frame["day"] = [date(2024, 2, i + 1) for i in range(5)]
    frame["at"] = [time(7, i) for i in range(5)]
    frame.loc[2, "name"] = None
    meta = LayerMeta(
        title_id="Batas RW",
        title_en="RW boundaries",
        theme="admin",
        licence="ODbL-1.0",
        keywords=["rw", "admin"],
    )
    version = bank.write_layer("rw", frame, meta, author="tester", message="first")
    assert (version.version, version.added, version.changed, version.removed) == (1, 5, 0, 0)
    back = bank.read_layer("rw")
    assert list(back.columns) == [c for c in frame.columns if c != "geometry"] + ["geometry"]
    assert back["population"].dtype == np.int64
    assert back["floodprone"].tolist() == frame["floodprone"].tolist()
    assert back["share"].tolist() == pytest.approx(frame["share"].tolist())
    assert back["name"].isna().tolist() == [False, False, True, False, False]
    assert back["observed"].iloc[0] == pd.Timestamp("2024-01-01T00:00Z")
    assert back["tags"].iloc[3] == {"rw": 3}
    assert back["day"].iloc[1] == date(2024, 2, 2) and back["at"].iloc[4] == time(7, 4)
    assert shapely.equals(back.geometry.to_numpy(), frame.geometry.to_numpy()).all()
    info = bank.layer("rw")
    assert (
        info.title_id == "Batas RW" and info.theme == "admin" and info.keywords == ["rw", "admin"]
    )
    assert info.feature_count == 5 and info.geometry_type == "POLYGON"
    assert info.bbox is not None
    assert info.bbox[0] == pytest.approx(106.8, abs=1e-4)
    assert info.created is not None and info.created.tzinfo is not None


def test_reprojects_to_wgs84(bank: Bank) -> None:
    frame = gpd.GeoDataFrame(
        {"id": [1]}, geometry=[shapely.Point(700000, 9300000)], crs="EPSG:32748"
    )
    bank.write_layer("pts", frame)
    back = bank.read_layer("pts")
    expected = frame.to_crs(4326).geometry.iloc[0]
    assert back.geometry.iloc[0].distance(expected) < 1e-9
    assert 106 < back.geometry.iloc[0].x < 107


def test_missing_crs_is_refused(bank: Bank) -> None:
    frame = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(1, 1)])
    with pytest.raises(InputError, match="no CRS"):
        bank.write_layer("nocrs", frame)
    assert bank.layers() == []


def test_keyed_versions_count_changes_and_read_back(bank: Bank) -> None:
    v1 = _frame(5)
    bank.write_layer("units", v1, key="code")
    v2 = v1.drop(index=[0]).copy()
    v2.loc[1, "population"] = 99
    v2 = pd.concat([v2, _frame(7).iloc[[5, 6]]])
    info = bank.write_layer("units", gpd.GeoDataFrame(v2, crs=4326), author="op")
    assert (info.version, info.added, info.changed, info.removed) == (2, 2, 1, 1)
    assert info.feature_count == 6
    old = bank.read_layer("units", version=1)
    assert sorted(old["code"]) == sorted(v1["code"])
    assert old.set_index("code").loc["K001", "population"] == 1000
    new = bank.read_layer("units")
    assert new.set_index("code").loc["K001", "population"] == 99
    hist = bank.history("units")
    assert [h.version for h in hist] == [2, 1]
    assert hist[0].author == "op"
    assert bank.layer_versions() == {"units": 2}
    with bank.transaction():  # inside a write: the open transaction's view
        bank.write_layer("more", _frame(2))
        assert bank.layer_versions() == {"units": 2, "more": 1}


def test_twelve_versions_all_readable(bank: Bank) -> None:
    frames = []
    for v in range(12):
        frame = _frame(3 + v % 4)
        frame["population"] = frame["population"] + v
        frames.append(frame)
        bank.write_layer("series", frame, key="code")
    assert len(bank.history("series")) == 12
    for v, frame in enumerate(frames, start=1):
        back = bank.read_layer("series", version=v).sort_values("code")
        assert back["population"].tolist() == frame["population"].tolist()
    with pytest.raises(NotFoundError):
        bank.read_layer("series", version=13)


def test_unkeyed_diff_matches_by_content(bank: Bank) -> None:
    bank.write_layer("plain", _frame(4))
    changed = _frame(4)
    changed.loc[3, "name"] = "renamed"
    info = bank.write_layer("plain", changed)
    assert (info.added, info.changed, info.removed) == (1, 0, 1)
    same = bank.write_layer("plain", changed)
    assert (same.added, same.changed, same.removed) == (0, 0, 0)


def test_append_and_schema_change(bank: Bank) -> None:
    bank.write_layer("grow", _frame(2))
    info = bank.write_layer("grow", _frame(2, offset=1.0), mode="append")
    assert info.added == 2 and info.feature_count == 4
    nxt = _frame(2).drop(columns=["share"])
    nxt["kind"] = "new"
    bank.write_layer("grow", nxt)
    current = bank.read_layer("grow")
    assert "share" not in current.columns and set(current["kind"]) == {"new"}
    first = bank.read_layer("grow", version=1)
    assert "share" in first.columns and len(first) == 2


def test_type_change_is_refused(bank: Bank) -> None:
    bank.write_layer("typed", _frame(2))
    bad = _frame(2)
    bad["population"] = ["many", "few"]
    with pytest.raises(InputError, match="population"):
        bank.write_layer("typed", bad)
    assert bank.layer("typed").current_version == 1


def test_filters(bank: Bank) -> None:
    bank.write_layer("f", _frame(10))
    inside = bank.read_layer("f", bbox=(106.795, -6.21, 106.822, -6.19))
    assert sorted(inside["code"]) == ["K000", "K001", "K002"]
    only = bank.read_layer("f", where={"floodprone": True}, columns=["code"])
    assert list(only.columns) == ["code", "geometry"] and len(only) == 5
    with pytest.raises(InputError, match="no column"):
        bank.read_layer("f", where={"nope": 1})


def test_failed_write_leaves_bank_unchanged(bank: Bank) -> None:
    bank.write_layer("keep", _frame(3))
    bad = _frame(3)
    bad["payload"] = [{"ok": 1}, {"bad": {1, 2}}, None]  # a set cannot be stored as JSON
    with pytest.raises(InputError, match="row 1, field payload"):
        bank.write_layer("broken", bad)
    with pytest.raises(InputError):
        bank.write_layer("keep", bad)
    assert [i.id for i in bank.layers()] == ["keep"]
    assert bank.layer("keep").current_version == 1
    assert len(bank.read_layer("keep")) == 3
    assert "payload" not in bank.read_layer("keep").columns


def test_transaction_groups_writes(bank: Bank) -> None:
    with pytest.raises(InputError), bank.transaction():
        bank.write_layer("a", _frame(2))
        bank.write_layer("b", gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)]))
    assert bank.layers() == []


def test_readers_see_old_or_new_never_half(bank_url: str) -> None:
    writer = open_bank(bank_url)
    reader = open_bank(bank_url)
    try:
        writer.write_layer("live", _frame(3), key="code")
        with writer.transaction():
            writer.write_layer("live", _frame(6), key="code")
            assert len(reader.read_layer("live")) == 3
            assert reader.layer("live").current_version == 1
        assert len(reader.read_layer("live")) == 6
    finally:
        writer.close()
        reader.close()


def test_invalid_layer_id_and_not_found(bank: Bank) -> None:
    with pytest.raises(InputError, match="invalid layer id"):
        bank.write_layer("Bad-Name", _frame(1))
    bank.write_layer("roads", _frame(1))
    with pytest.raises(NotFoundError, match="roads"):
        bank.layer("raods")
    bank.delete_layer("roads")
    assert bank.layers() == []


def test_stations_and_observation_ranges(bank: Bank) -> None:
    stations = pd.DataFrame(
        {
            "station_id": ["katulampa", "manggarai"],
            "name": ["Bendung Katulampa", "PA Manggarai"],
            "kind": ["river_gauge", "river_gauge"],
            "lon": [106.837, 106.849],
            "lat": [-6.633, -6.208],
            "river": ["Ciliwung", "Ciliwung"],
            "siaga3": [80, 750],
        }
    )
    assert bank.write_stations(stations) == 2
    got = bank.stations(kind="river_gauge")
    assert list(got["station_id"]) == ["katulampa", "manggarai"]
    assert got.set_index("station_id").loc["manggarai", "attributes"]["siaga3"] == 750
    t = pd.date_range("2024-02-01", periods=48, freq="h", tz="Asia/Jakarta")
    obs = pd.DataFrame(
        {
            "station_id": "manggarai",
            "parameter": "water_level",
            "t": t,
            "value": np.arange(48.0),
            "unit": "cm",
        }
    )
    assert bank.write_observations(obs) == 48
    sel = bank.observations(
        "manggarai",
        start=datetime(2024, 2, 1, 5, tzinfo=UTC),
        end=datetime(2024, 2, 1, 8, tzinfo=UTC),
    )
    # 2024-02-01T00:00+07:00 = 2024-01-31T17:00Z, so 05:00Z is the 12th reading.
    assert sel["value"].tolist() == [12.0, 13.0, 14.0]
    assert str(sel["t"].dt.tz) == "UTC"
    obs2 = obs.iloc[[12]].assign(value=500.0, quality="suspect")
    bank.write_observations(obs2)
    again = bank.observations("manggarai", start=t[12], end=t[13])
    assert again["value"].tolist() == [500.0] and again["quality"].tolist() == ["suspect"]
    with pytest.raises(InputError, match="time zone"):
        bank.write_observations(obs.assign(t=t.tz_localize(None)))
    with pytest.raises(InputError, match="unknown stations"):
        bank.write_observations(obs.assign(station_id="depok"))


def test_admin_attributes(bank: Bank) -> None:
    rows = pd.DataFrame(
        {
            "unit_id": ["kelurahan:1", "kelurahan:2"],
            "attribute": "population",
            "value": [10.0, 20.0],
            "year": 2024,
            "source": "test",
        }
    )
    bank.write_admin_attributes(rows)
    bank.write_admin_attributes(rows.assign(value=[11.0, 21.0]))
    got = bank.admin_attributes("population")
    assert got["value"].tolist() == [11.0, 21.0]


def test_register_rasters(bank: Bank, tmp_path: Path) -> None:
    asc = tmp_path / "depth.asc"
    asc.write_text(
        "ncols 4\nnrows 3\nxllcorner 106.8\nyllcorner -6.2\ncellsize 0.01\n"
        "NODATA_value -9999\n0 1 2 3\n4 5 6 7\n8 9 10 -9999\n"
    )
    with pytest.raises(Exception, match="no CRS"):
        bank.register_raster("depth", asc)
    assert bank.layers() == []
    asc.with_suffix(".prj").write_text(
        'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
    )
    info = bank.register_raster("depth", asc, LayerMeta(theme="hazard", title_en="Depth"))
    assert info.kind == "raster" and info.theme == "hazard"
    assert info.bbox == pytest.approx((106.8, -6.2, 106.84, -6.17))
    import rasterio

    with rasterio.open(bank.raster_path("depth")) as src:
        assert src.read(1)[2, 3] == -9999 and src.read(1)[0, 1] == 1
    bank.delete_layer("depth")
    assert not bank.raster_path.__self__.raster_dir().joinpath("depth.tif").exists()  # type: ignore[attr-defined]


def test_old_schema_needs_upgrade(bank_url: str) -> None:
    bank = open_bank(bank_url)
    bank.write_layer("kept", _frame(2))
    from sqlalchemy import text

    with bank._tx() as conn:  # type: ignore[attr-defined]
        conn.execute(text("DROP TABLE tg_source"))
        conn.execute(text("UPDATE tg_meta SET value = '1' WHERE key = 'schema_version'"))
    bank.close()
    old = open_bank(bank_url)
    with pytest.raises(BankVersionError, match="db upgrade"):
        old.layers()
    from tangguh.bank._schema import SCHEMA_VERSION

    assert old.upgrade() == list(range(2, SCHEMA_VERSION + 1))
    assert old.schema_version() == SCHEMA_VERSION
    assert len(old.read_layer("kept")) == 2
    old.close()


def test_bulk_loaded_spatial_index_is_valid(tmp_path: Path) -> None:
    """The R-tree written node by node passes SQLite's own check and answers like GDAL."""
    import sqlite3

    import pyogrio

    rng = np.random.default_rng(3)
    x = rng.uniform(106.7, 107.0, 20_000)
    y = rng.uniform(-6.4, -6.1, 20_000)
    frame = gpd.GeoDataFrame(
        {"i": np.arange(20_000)}, geometry=shapely.box(x, y, x + 1e-3, y + 1e-3), crs="EPSG:4326"
    )
    path = tmp_path / "idx.gpkg"
    with open_bank(path) as bank:
        bank.write_layer("boxes", frame)
        info = bank.layer("boxes")
        ours = bank.read_layer("boxes", bbox=(106.8, -6.3, 106.81, -6.29))
    con = sqlite3.connect(path)
    assert con.execute("SELECT rtreecheck('rtree_boxes_geom')").fetchone()[0] == "ok"
    con.close()
    expected = shapely.intersects(
        frame.geometry.to_numpy(), shapely.box(106.8, -6.3, 106.81, -6.29)
    )
    assert sorted(ours["i"]) == sorted(frame.loc[expected, "i"])
    gdal = pyogrio.read_dataframe(path, layer="boxes", bbox=(106.8, -6.3, 106.81, -6.29))
    assert sorted(gdal["i"]) == sorted(ours["i"])
    assert info.bbox == pytest.approx(tuple(frame.total_bounds), abs=1e-5)


def test_analysis_records_round_trip_and_are_atomic(bank: Bank) -> None:
    from tangguh.bank import AnalysisRecord

    record = AnalysisRecord(
        kind="flood_impact",
        question="Who is affected by the 2007 flood, per RW?",
        inputs={"hazard": {"layer": "flood_2007", "version": 1}},
        parameters={"classification": {"key": "petabencana_flood_depth"}},
        level="rw",
        timings={"total": 1.5},
        summary={"affected": 30.0},
    )
    results = pd.DataFrame(
        {
            "unit_id": ["rw:1", "rw:1", "rw:2"],
            "hazard_class": ["low", "high", None],
            "exposure": "population",
            "metric": "affected",
            "value": [10.0, 20.0, 0.0],
        }
    )
    assert bank.save_analysis(record, results) == record.id
    stored, back = bank.analysis(record.id)
    assert stored.question == record.question and stored.inputs == record.inputs
    assert stored.created.tzinfo is not None and stored.level == "rw"
    assert back.sort_values(["unit_id", "hazard_class"])["value"].tolist() == [20.0, 10.0, 0.0]
    assert [a.id for a in bank.analyses(kind="flood_impact")] == [record.id]
    duplicate = pd.concat([results, results.iloc[[0]]])
    again = AnalysisRecord(
        kind="flood_impact", question="dup", inputs={}, parameters={}, level="rw"
    )
    with pytest.raises(Exception):  # noqa: B017 - the driver's integrity error
        bank.save_analysis(again, duplicate)
    assert [a.id for a in bank.analyses()] == [record.id]  # nothing half-written
    bank.delete_analysis(record.id)
    with pytest.raises(NotFoundError):
        bank.analysis(record.id)


def test_int_and_float_versions_keep_the_layer_column_type(bank: Bank) -> None:
    bank.write_layer("counts", _frame(3), key="code")
    floats = _frame(3)
    floats["population"] = floats["population"].astype(float) + 1.0
    floats["share"] = [1, 2, 3]  # ints into a float column
    info = bank.write_layer("counts", floats)
    assert info.changed == 3
    back = bank.read_layer("counts")
    assert back["population"].tolist() == [1, 1001, 2001]
    assert back["share"].dtype == np.float64
    fractional = _frame(3).assign(population=[0.5, 1.0, 2.0])
    with pytest.raises(InputError, match="whole numbers"):
        bank.write_layer("counts", fractional)
    assert bank.layer("counts").current_version == 2


def test_layer_points_match_the_geometries_and_are_cached(bank: Bank) -> None:
    """Representative points of every version; a big new layer is cached at write time."""
    import numpy as np
    import shapely
    from sqlalchemy import text

    rng = np.random.default_rng(3)
    n = 60_000
    x, y = rng.uniform(106.7, 106.9, n), rng.uniform(-6.3, -6.1, n)
    frame = gpd.GeoDataFrame(
        {"k": np.arange(n)}, geometry=shapely.box(x, y, x + 1e-4, y + 2e-4), crs="EPSG:4326"
    )
    bank.write_layer("boxes", frame, key="k")
    with bank.connect() as conn:
        cached = conn.execute(
            text("SELECT version, n FROM tg_layer_point WHERE layer_id = 'boxes'")
        ).all()
    assert [tuple(r) for r in cached] == [(1, n)]
    from tangguh.bank.gpkg import GpkgBank

    if isinstance(bank, GpkgBank):  # its spatial index was packed beside the insert
        with bank.connect() as conn:
            check = conn.exec_driver_sql("SELECT rtreecheck('rtree_boxes_geom')").scalar()
        assert check == "ok"
        inside = bank.read_layer("boxes", bbox=(106.75, -6.25, 106.76, -6.24), columns=["k"])
        expected_in = shapely.intersects(
            frame.geometry.to_numpy(), shapely.box(106.75, -6.25, 106.76, -6.24)
        )
        assert sorted(inside["k"]) == sorted(frame.loc[expected_in, "k"])
    pts = bank.layer_points("boxes")
    back = bank.read_layer("boxes", columns=["k"])
    expected = shapely.point_on_surface(back.geometry.to_numpy())
    assert np.array_equal(pts.fids, back.index.to_numpy())
    assert np.allclose(pts.x, shapely.get_x(expected)) and np.allclose(
        pts.y, shapely.get_y(expected)
    )
    assert shapely.contains(back.geometry.to_numpy(), pts.points()).all()
    # An update is a new version: its points differ; the old version stays readable.
    moved = frame.iloc[:10].copy()
    moved["geometry"] = moved.geometry.translate(0.5, 0)
    bank.write_layer("boxes", moved, key="k")
    v2 = bank.layer_points("boxes")
    assert len(v2) == 10 and (v2.x > 107.1).all()
    assert len(bank.layer_points("boxes", version=1)) == n
    box = (106.7, -6.3, 106.75, -6.25)
    sub = bank.layer_points("boxes", version=1, bbox=box)
    assert 0 < len(sub) < n and (sub.x <= 106.75).all()
    bank.delete_layer("boxes")
    with bank.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tg_layer_point")).scalar() == 0


def test_big_import_uses_a_rollback_journal_only_when_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big write leaves WAL for its transaction only when no one else has the file open,
    comes back to WAL, and never makes a reader that opens the bank meanwhile wait."""
    import sqlite3
    import time as clock

    from tangguh.bank import gpkg

    monkeypatch.setattr(gpkg, "BULK_JOURNAL_ROWS", 10)
    path = tmp_path / "bulk.gpkg"
    modes: list[str] = []
    real_set = gpkg._set_journal

    def spy(conn: sqlite3.Connection, mode: str) -> bool:
        ok = real_set(conn, mode)
        modes.append(f"{mode}:{ok}")
        return ok

    monkeypatch.setattr(gpkg, "_set_journal", spy)
    with open_bank(path) as bank:
        modes.clear()
        bank.write_layer("alone", _frame(20))
        assert modes == ["delete:True", "wal:True"]
        assert len(bank.read_layer("alone")) == 20
        # Someone else reading the file: the write keeps WAL and does not wait for them.
        other = sqlite3.connect(path)
        assert other.execute("SELECT count(*) FROM alone").fetchone()[0] == 20
        modes.clear()
        start = clock.perf_counter()
        bank.write_layer("shared", _frame(30))
        assert clock.perf_counter() - start < 10
        assert modes == ["delete:False"]
        assert other.execute("SELECT count(*) FROM shared").fetchone()[0] == 30
        other.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT rtreecheck('rtree_alone_geom')").fetchone()[0] == "ok"
    # A writer holding the file in rollback mode: a new connection of an open bank neither
    # waits for it nor fails, and reads the old version.
    reader = open_bank(path)
    reader._engine.dispose()  # type: ignore[attr-defined]  # the next read connects anew
    assert con.execute("PRAGMA journal_mode = delete").fetchone()[0] == "delete"
    con.isolation_level = None
    con.execute("BEGIN IMMEDIATE")
    con.execute("DELETE FROM alone")
    start = clock.perf_counter()
    assert len(reader.read_layer("alone")) == 20
    assert clock.perf_counter() - start < 10
    con.execute("ROLLBACK")
    con.close()
    reader.close()


def test_points_beside_a_write_come_from_a_child_or_fall_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Points computed in a forked child equal point_on_surface; a failing child makes the
    caller compute them itself; closing early leaves no child behind."""
    import os

    from tangguh.bank import _points

    xs = np.linspace(106.7, 106.9, 2_000)
    geoms = np.asarray(shapely.box(xs, -6.2, xs + 1e-4, -6.19), dtype=object)
    expected = shapely.point_on_surface(geoms)
    x, y = _points.start_points(geoms).result()
    assert np.array_equal(x, shapely.get_x(expected)) and np.array_equal(y, shapely.get_y(expected))
    parent = os.getpid()
    real = _points.representative_points

    def child_fails(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return real(g)

    # With a node size the child also packs the spatial index, as pack() would here.
    from tangguh.bank._rtree import pack

    pending = _points.start_points(geoms, rtree_size=1228)
    packed = pending.rtree()
    pending.close()
    assert packed is not None
    here = pack(np.arange(1, len(geoms) + 1), shapely.bounds(geoms), 1228)
    assert np.array_equal(packed.node_data, here.node_data)
    assert np.array_equal(packed.rowids, here.rowids)
    monkeypatch.setattr(_points, "representative_points", child_fails)
    pending = _points.start_points(geoms, rtree_size=1228)
    x, y = pending.result()
    assert np.array_equal(x, shapely.get_x(expected))
    assert pending.rtree() is None  # the caller packs the index itself
    pending.close()
    # A child that hangs is killed after the deadline and the caller does the work.
    import time as clock

    def child_hangs(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if os.getpid() != parent:
            clock.sleep(60)
        return real(g)

    monkeypatch.setattr(_points, "representative_points", child_hangs)
    monkeypatch.setattr(_points, "_CHILD_SECONDS", 0.3)
    monkeypatch.setattr(_points, "_CHILD_SECONDS_PER_FEATURE", 0.0)
    start = clock.perf_counter()
    x, y = _points.start_points(geoms).result()
    assert clock.perf_counter() - start < 10
    assert np.array_equal(y, shapely.get_y(expected))
    pending = _points.start_points(geoms)
    pid = pending._pid
    assert pid > 0
    pending.close()
    pending.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left
