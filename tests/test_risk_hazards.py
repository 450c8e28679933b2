"""Hazard readers: BMKG ShakeMap grid.xml -> GeoTIFF, flood polygons -> normalised frame.

Real data: the BMKG ShakeMap grids in ../shared/data/feeds/bmkg-shakemap-grid/ and
the Jakarta flood layers in ../shared/data/jakarta/. Bad inputs are small files made
in tmp_path (cut or edited copies of a real grid).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from tangguh.errors import ImportError_, InputError
from tangguh.risk.hazards import flood_polygons, shakemap_to_raster

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHAKE = SHARED / "feeds" / "bmkg-shakemap-grid"
JAKARTA = SHARED / "jakarta"
GRIDS = sorted(SHAKE.glob("*/*grid.xml")) if SHAKE.exists() else []


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return path


def _spec(text: str) -> dict[str, float]:
    """grid_specification attributes, read with a regex (independent of the module)."""
    element = re.search(r"<grid_specification ([^>]*)/>", text)
    assert element is not None
    return {k: float(v) for k, v in re.findall(r'(\w+)="([^"]*)"', element.group(1))}


def _bilingual(err: InputError) -> None:
    message_en, _ = err.text("en")
    message_id, _ = err.text("id")
    assert err.message_id and message_id != message_en


@pytest.mark.parametrize("grid", GRIDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_shakemap_becomes_a_correct_raster(grid: Path, tmp_path: Path) -> None:
    text = grid.read_text(encoding="ascii")
    spec = _spec(text)
    event = dict(re.findall(r'(\w+)="([^"]*)"', re.search(r"<event ([^>]*)/>", text).group(1)))  # type: ignore[union-attr]
    names = re.findall(r'<grid_field index="\d+" name="(\w+)"', text)
    rows = np.array(
        text.split("<grid_data>")[1].split("</grid_data>")[0].split(), dtype=float
    ).reshape(-1, len(names))

    info = shakemap_to_raster(grid, tmp_path / "mmi.tif")

    nlat, nlon = int(spec["nlat"]), int(spec["nlon"])
    assert info.shape == (nlat, nlon)
    dx = (spec["lon_max"] - spec["lon_min"]) / (nlon - 1)
    dy = (spec["lat_max"] - spec["lat_min"]) / (nlat - 1)
    expected_bounds = (
        spec["lon_min"] - dx / 2,
        spec["lat_min"] - dy / 2,
        spec["lon_max"] + dx / 2,
        spec["lat_max"] + dy / 2,
    )
    assert info.bounds == pytest.approx(expected_bounds, abs=1e-9)
    assert info.field == "MMI" and info.units == "intensity"
    assert info.event.magnitude == float(event["magnitude"])
    assert info.event.depth_km == float(event["depth"])
    assert info.event.description == event["event_description"].strip()
    assert info.event.time.utcoffset() == timedelta(hours=7)  # "...WIB"
    assert info.event.time.isoformat()[:19] == event["event_timestamp"][:19]

    with rasterio.open(info.path) as ds:
        assert ds.crs.to_epsg() == 4326
        assert (ds.height, ds.width) == (nlat, nlon)
        assert tuple(ds.bounds) == pytest.approx(expected_bounds, abs=1e-9)
        assert ds.transform.e < 0  # north-up
        band = ds.read(1)
        assert not np.isnan(band).any()
        # The grid point nearest the epicentre, and the raster cell holding that point.
        lon_i, lat_i, mmi_i = names.index("LON"), names.index("LAT"), names.index("MMI")
        dist = (rows[:, lon_i] - info.event.lon) ** 2 + (rows[:, lat_i] - info.event.lat) ** 2
        nearest = rows[int(np.argmin(dist))]
        west, north = ds.bounds.left, ds.bounds.top
        r = int((north - nearest[lat_i]) // ds.res[1])
        c = int((nearest[lon_i] - west) // ds.res[0])
        assert band[r, c] == pytest.approx(nearest[mmi_i], abs=1e-6)
        # Every grid value lands in the cell whose centre is its point.
        rr = ((north - rows[:, lat_i]) // ds.res[1]).astype(int)
        cc = ((rows[:, lon_i] - west) // ds.res[0]).astype(int)
        assert np.allclose(band[rr, cc], rows[:, mmi_i], atol=1e-5)
        assert ds.tags()["event_id"] == info.event.event_id


def test_sumatra_2016_facts_and_other_fields(tmp_path: Path) -> None:
    grid = _need(SHAKE / "20160302231317_sw-sumatra_M5.2" / "grid.xml")
    info = shakemap_to_raster(grid, tmp_path / "mmi.tif")
    with rasterio.open(info.path) as ds:
        mmi = ds.read(1)
    # SOURCE.txt: MMI 1.39-5.66, exactly one cell >= 5.5.
    assert float(mmi.min()) == pytest.approx(1.39) and float(mmi.max()) == pytest.approx(5.66)
    assert int((mmi >= 5.5).sum()) == 1
    # The id is not the origin time (23:13:17 vs 23:08:37 WIB).
    assert info.event.event_id == "20160302231317"
    assert info.event.time.strftime("%H:%M:%S%z") == "23:08:37+0700"
    pga = shakemap_to_raster(grid, tmp_path / "pga.tif", field="pga")
    assert pga.field == "PGA" and pga.units == "pctg"
    with rasterio.open(pga.path) as ds:
        assert float(ds.read(1).max()) == pytest.approx(18.60)


def test_duplicate_minahasa_shakemaps_share_origin_time_not_id(tmp_path: Path) -> None:
    folder = _need(SHAKE / "20180220_minahasa_M5.0")
    infos = [
        shakemap_to_raster(p, tmp_path / f"{i}.tif")
        for i, p in enumerate(sorted(folder.glob("*grid.xml")))
    ]
    assert len(infos) == 2
    assert infos[0].event.time == infos[1].event.time
    assert infos[0].event.event_id != infos[1].event.event_id


def test_papua_8_field_grid_with_non_round_spacing(tmp_path: Path) -> None:
    grid = _need(SHAKE / "20131105060809_papua_M3.6" / "grid.xml")
    info = shakemap_to_raster(grid, tmp_path / "mmi.tif")
    assert info.shape == (101, 101)
    assert info.resolution[1] == pytest.approx(0.024975)
    with pytest.raises(ImportError_, match="PSA03") as exc:
        shakemap_to_raster(grid, tmp_path / "psa.tif", field="PSA03")
    assert "LON, LAT, PGA, PGV, MMI" in exc.value.message
    _bilingual(exc.value)


def _real_grid_text() -> str:
    return _need(SHAKE / "20131105060809_papua_M3.6" / "grid.xml").read_text(encoding="ascii")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t[: len(t) // 2], "malformed or truncated"),
        (
            lambda t: re.sub(r"(<grid_data>\n(?:.*\n){500})(?:.*\n)+(</grid_data>)", r"\1\2", t),
            "truncated",
        ),
        (lambda t: t.replace("139.3950 -01.1813 0 0 1", "139.3950 -01.1813 0 0 x"), "not a number"),
        (lambda t: t.replace("06:08:09WIB", "06:08:09XYZ"), "unknown time zone"),
        (lambda t: t.replace("06:08:09WIB", "06:08:09"), "time zone"),
        (lambda t: t.replace("139.3950 -01.1813", "139.3830 -01.1813"), "off the declared lattice"),
        (lambda t: t.replace("139.3950 -01.1813", "139.3700 -01.1813"), "more than once"),
        (lambda t: t.replace("shakemap_grid", "other_grid"), "not <shakemap_grid>"),
    ],
    ids=["cut", "rows-missing", "text-value", "zone", "no-zone", "off-grid", "dupe", "root"],
)
def test_bad_grids_are_refused_in_both_languages(edit: object, match: str, tmp_path: Path) -> None:
    bad = tmp_path / "grid.xml"
    bad.write_text(edit(_real_grid_text()), encoding="ascii")  # type: ignore[operator]
    out = tmp_path / "out.tif"
    with pytest.raises(ImportError_, match=match) as exc:
        shakemap_to_raster(bad, out)
    _bilingual(exc.value)
    assert not out.exists()


def test_missing_grid_file(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="not found") as exc:
        shakemap_to_raster(tmp_path / "nope.xml", tmp_path / "x.tif")
    _bilingual(exc.value)


# --------------------------------------------------------------------------- floods


def test_hkv_2007_flooded_rw_as_class_polygons() -> None:
    path = _need(JAKARTA / "flood-inasafe-2007-hkv" / "Jakarta_RW_2007flood.shp")
    frame = gpd.read_file(path)
    out = flood_polygons(frame, class_field="FLOODPRONE", keep=["KEL_NAME", "RW"])
    assert len(out) == 1009  # nothing dropped
    assert out.crs.to_epsg() == 4326
    assert list(out.columns) == ["depth_cm", "hazard_value", "KEL_NAME", "RW", "geometry"]
    # SOURCE.txt: 'YES' 1001 / 'Yes' 8; values are kept as given for the classification.
    assert out["hazard_value"].value_counts().to_dict() == {"YES": 1001, "Yes": 8}
    assert out["depth_cm"].isna().all()
    invalid = list(frame.index[~frame.is_valid])
    assert out.attrs["repaired_rows"] == invalid and len(invalid) > 0
    assert out.is_valid.all()
    assert set(out.geom_type) <= {"Polygon", "MultiPolygon"}


def test_petabencana_hourly_states_all_files() -> None:
    folder = _need(JAKARTA / "flood-petabencana-2017" / "floods")
    files = sorted(folder.glob("jkt_floods_*.geojson"))
    assert len(files) == 73
    rws: set[int] = set()
    for path in files:
        frame = gpd.read_file(path)
        if len(frame) == 0:
            with pytest.raises(InputError, match="no polygons"):
                flood_polygons(frame, class_field="state")
            continue
        out = flood_polygons(frame, class_field="state", keep=["geom_id"])
        assert len(out) == len(frame)
        assert set(out["hazard_value"]) <= {1, 2, 3, 4}
        rws.update(int(v) for v in out["geom_id"])
    assert len(rws) == 302  # SOURCE.txt: 302 distinct RWs over the event
    peak = flood_polygons(
        gpd.read_file(folder / "jkt_floods_2017-02-21T13:00:00.geojson"), class_field="state"
    )
    assert peak["hazard_value"].value_counts().to_dict() == {2: 157, 3: 9, 1: 2}


def _depth_file(tmp_path: Path, depths: list[object], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(106.80 + i * 0.01, -6.20, 106.805 + i * 0.01, -6.195)
        for i in range(len(depths))
    ]
    frame = gpd.GeoDataFrame({"kedalaman": depths}, geometry=boxes, crs="EPSG:4326").to_crs(crs)
    path = tmp_path / "depth.geojson"
    frame.to_file(path)
    return gpd.read_file(path)


def test_depth_polygons_in_metres_and_projected(tmp_path: Path) -> None:
    frame = _depth_file(tmp_path, [0.05, 0.7, 1.6], crs="EPSG:32748")
    out = flood_polygons(frame, depth_field="kedalaman", depth_unit="m")
    assert out.crs.to_epsg() == 4326
    assert out["depth_cm"].tolist() == pytest.approx([5.0, 70.0, 160.0])
    assert out["hazard_value"].tolist() == pytest.approx([5.0, 70.0, 160.0])
    assert out.geometry.iloc[0].bounds == pytest.approx((106.80, -6.20, 106.805, -6.195), abs=1e-7)


def test_bad_flood_inputs_name_the_rows(tmp_path: Path) -> None:
    frame = _depth_file(tmp_path, ["12", "dalam", "40"])
    with pytest.raises(InputError, match="not numbers") as exc:
        flood_polygons(frame, depth_field="kedalaman")
    assert exc.value.where is not None and "rows 1" in exc.value.where
    assert "'dalam'" in exc.value.message
    _bilingual(exc.value)

    negative = _depth_file(tmp_path, [10, -5])
    with pytest.raises(InputError, match="negative") as exc:
        flood_polygons(negative, depth_field="kedalaman")
    assert exc.value.where is not None and "rows 1" in exc.value.where

    empty_value = _depth_file(tmp_path, [10, None])
    with pytest.raises(InputError, match="no value") as exc:
        flood_polygons(empty_value, depth_field="kedalaman")
    _bilingual(exc.value)

    for kwargs in ({}, {"depth_field": "kedalaman", "class_field": "kedalaman"}):
        with pytest.raises(InputError, match="exactly one") as exc:
            flood_polygons(frame, **kwargs)  # type: ignore[arg-type]
        _bilingual(exc.value)
    with pytest.raises(InputError, match="no column 'depth'") as exc:
        flood_polygons(frame, depth_field="depth")
    _bilingual(exc.value)
    with pytest.raises(InputError, match="no polygons") as exc:
        flood_polygons(frame.iloc[:0], class_field="kedalaman")
    _bilingual(exc.value)
    points = frame.copy()
    points.geometry = shapely.centroid(points.geometry.to_numpy())  # type: ignore[assignment]
    with pytest.raises(InputError, match="not polygons") as exc:
        flood_polygons(points, class_field="kedalaman")
    _bilingual(exc.value)
    no_crs = frame.set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="no CRS") as exc:
        flood_polygons(no_crs, class_field="kedalaman")
    _bilingual(exc.value)
