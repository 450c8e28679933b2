"""Tests of tangguh.io.write_vector: every format, overwrite, CSV layout, errors."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from tangguh.errors import InputError
from tangguh.io import read_vector, write_vector

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jakarta"


def stations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"station_id": ["katulampa", "manggarai"], "siaga1_cm": [200, 950]},
        geometry=[shapely.Point(106.8367, -6.6333), shapely.Point(106.8500, -6.2083)],
        crs=4326,
    )


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [
        (".geojson", "GeoJSON"),
        (".json", "GeoJSON"),
        (".gpkg", "GPKG"),
        (".fgb", "FlatGeobuf"),
        (".shp", "ESRI Shapefile"),
    ],
)
def test_gdal_formats_by_suffix(tmp_path: Path, suffix: str, driver: str) -> None:
    path = write_vector(stations(), tmp_path / f"pos{suffix}")
    info = pyogrio.read_info(path)
    assert info["driver"] == driver
    assert info["features"] == 2
    assert info["crs"] == "EPSG:4326"


def test_geoparquet(tmp_path: Path) -> None:
    path = write_vector(stations(), tmp_path / "pos.parquet")
    back = gpd.read_parquet(path)
    assert back.crs.to_epsg() == 4326
    assert list(back["station_id"]) == ["katulampa", "manggarai"]


def test_csv_has_wkt_and_lon_lat_for_points(tmp_path: Path) -> None:
    path = write_vector(stations(), tmp_path / "pos.csv")
    table = pd.read_csv(path)
    assert list(table.columns) == ["station_id", "siaga1_cm", "wkt", "lon", "lat"]
    assert table["wkt"].iloc[0] == "POINT (106.8367 -6.6333)"
    assert table["lat"].iloc[1] == pytest.approx(-6.2083)
    frame, report = read_vector(path)  # the WKT column wins; lon/lat stay as attributes
    assert frame.geometry.iloc[0].equals(shapely.Point(106.8367, -6.6333))
    assert report.rows_kept == 2


def test_csv_polygons_reprojected_to_lonlat(tmp_path: Path) -> None:
    utm = gpd.GeoDataFrame(
        {"rw": ["01"]}, geometry=[shapely.box(700000, 9310000, 700100, 9310100)], crs=32748
    )
    path = write_vector(utm, tmp_path / "rw.csv")
    table = pd.read_csv(path)
    assert list(table.columns) == ["rw", "wkt"]
    geom = shapely.from_wkt(table["wkt"].iloc[0])
    minx, miny, maxx, maxy = geom.bounds
    assert 106 < minx < maxx < 108 and -7 < miny < maxy < -6


def test_overwrites_existing_output(tmp_path: Path) -> None:
    path = tmp_path / "pos.geojson"
    path.write_text("old content")
    write_vector(stations(), path)
    assert len(json.loads(path.read_text())["features"]) == 2
    write_vector(stations().iloc[:1], path)
    assert len(json.loads(path.read_text())["features"]) == 1
    gpkg = write_vector(stations(), tmp_path / "pos.gpkg", layer="pos")
    write_vector(stations().iloc[:1], gpkg, layer="other")
    assert [str(name) for name, _ in pyogrio.list_layers(gpkg)] == ["other"]


def test_explicit_driver_and_layer(tmp_path: Path) -> None:
    path = write_vector(stations(), tmp_path / "pos.txt", driver="GeoJSON")
    assert pyogrio.read_info(path)["driver"] == "GeoJSON"
    gpkg = write_vector(stations(), tmp_path / "bank_export.gpkg", layer="pos_pantau")
    assert [str(name) for name, _ in pyogrio.list_layers(gpkg)] == ["pos_pantau"]


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot tell the output format"):
        write_vector(stations(), tmp_path / "pos.xyz")
    with pytest.raises(InputError, match="no CRS"):
        write_vector(gpd.GeoDataFrame(geometry=[shapely.Point(0, 1)]), tmp_path / "a.gpkg")
    clash = stations().assign(wkt="x")
    with pytest.raises(InputError, match="wkt"):
        write_vector(clash, tmp_path / "a.csv")


def test_real_kecamatan_round_trip(tmp_path: Path) -> None:
    source = DATA / "admin-inasafe-2012" / "geojson" / "kecamatan_jakarta.geojson"
    if not source.exists():
        pytest.skip(f"real Jakarta data not found at {source} (../shared/data is absent)")
    frame, _ = read_vector(source)
    for suffix in (".gpkg", ".fgb", ".parquet", ".csv"):
        back, report = read_vector(write_vector(frame, tmp_path / f"kec{suffix}"))
        assert report.rows_kept == len(frame) == 42
        assert sorted(back["kec_name"]) == sorted(frame["kec_name"])
        assert shapely.area(back.geometry.to_numpy()).sum() == pytest.approx(
            shapely.area(frame.geometry.to_numpy()).sum()
        )
