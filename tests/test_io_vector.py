"""Tests of tangguh.io.read_vector: real Jakarta files and small bad files made here."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from tangguh.errors import ImportError_, InputError
from tangguh.io import (
    ImportReport,
    Issue,
    load_mapping,
    read_vector,
    sanitize_columns,
    write_vector,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jakarta"
ADMIN = DATA / "admin-inasafe-2012"

# Monas, Jakarta (lon, lat)
MONAS = (106.827153, -6.175392)
BOWTIE = [[[106.80, -6.20], [106.81, -6.21], [106.81, -6.20], [106.80, -6.21], [106.80, -6.20]]]


def needs_data(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real Jakarta data not found at {path} (../shared/data is absent)")
    return path


def feature(geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def square(x: float, y: float, d: float = 0.01) -> dict[str, Any]:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


# -- real data ------------------------------------------------------------------------


def test_real_rw_shapefile_and_geojson_twin() -> None:
    shp = needs_data(ADMIN / "shapefile" / "rw_jakarta.shp")
    frame, report = read_vector(shp)
    twin, twin_report = read_vector(ADMIN / "geojson" / "rw_jakarta.geojson")
    assert len(frame) == len(twin) == 2685
    assert report.rows_read == report.rows_kept == 2685
    assert report.source_crs == "EPSG:4326"
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.name == "geometry"
    assert {"kab_name", "kec_name", "kel_name", "rw", "floodprone"} <= set(frame.columns)
    assert report.renamed["KEL_NAME"] == "kel_name"
    assert sorted(frame["kel_name"].unique()) == sorted(twin["kel_name"].unique())
    assert bool(frame.geometry.is_valid.all())
    # the one self-intersecting RW is repaired and reported, in both files
    assert report.counts() == twin_report.counts()
    repaired = [i.row for i in report.issues if i.kind == "repaired"]
    assert repaired == [i.row for i in twin_report.issues if i.kind == "repaired"]
    minx, miny, maxx, maxy = frame.total_bounds
    assert 106.6 < minx < maxx < 107.0 and -6.4 < miny < maxy < -6.0
    json.dumps(report.to_json())


def test_real_zipped_kelurahan_shapefile(tmp_path: Path) -> None:
    shp = needs_data(ADMIN / "shapefile" / "kelurahan_jakarta.shp")
    archive = tmp_path / "kelurahan.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(shp.with_suffix(suffix), f"data/kelurahan_jakarta{suffix}")
    frame, report = read_vector(archive)
    assert len(frame) == report.rows_kept == 261
    assert report.layer == "kelurahan_jakarta"
    assert "kel_name1" in frame.columns


def test_real_dsda_reservoirs_null_island_kept() -> None:
    path = needs_data(DATA / "water-level-gauges" / "dsda_waduk_reservoirs.geojson")
    frame, report = read_vector(path)
    flagged = [i.row for i in report.issues if i.kind == "null_island"]
    assert len(flagged) == 4
    assert len(frame) == report.rows_read == 73
    assert all(frame.loc[row].geometry.equals(shapely.Point(0, 0)) for row in flagged)


# -- formats ---------------------------------------------------------------------------


def test_utm48s_file_is_reprojected(tmp_path: Path) -> None:
    to_utm = Transformer.from_crs(4326, 32748, always_xy=True)
    x, y = to_utm.transform(*MONAS)
    frame = gpd.GeoDataFrame({"name": ["Monas"]}, geometry=[shapely.Point(x, y)], crs=32748)
    path = write_vector(frame, tmp_path / "monas_utm.gpkg")
    out, report = read_vector(path)
    assert report.source_crs == "EPSG:32748"
    assert out.crs.to_epsg() == 4326
    assert abs(out.geometry.iloc[0].x - MONAS[0]) < 1e-6
    assert abs(out.geometry.iloc[0].y - MONAS[1]) < 1e-6


@pytest.mark.parametrize(("lon", "lat"), [("Longitude", "Latitude"), ("bujur", "lintang")])
def test_csv_lon_lat_detected(tmp_path: Path, lon: str, lat: str) -> None:
    path = tmp_path / "posko.csv"
    path.write_text(f"Nama Posko,{lon},{lat}\nPosko A,106.8,-6.2\nPosko B,106.9,-6.1\n")
    frame, report = read_vector(path)
    assert list(frame.columns) == ["nama_posko", "geometry"]
    assert frame.geometry.iloc[1].equals(shapely.Point(106.9, -6.1))
    assert report.source_crs == "EPSG:4326"
    assert report.renamed == {"Nama Posko": "nama_posko"}


def test_csv_wkt_column(tmp_path: Path) -> None:
    path = tmp_path / "zones.csv"
    path.write_text(
        'id;WKT\n1;"POLYGON ((106.8 -6.2, 106.81 -6.2, 106.81 -6.19, 106.8 -6.2))"\n'
        '2;"POINT (106.8 -6.2)"\n'
    )
    with pytest.raises(ImportError_, match="mixes geometry types"):
        read_vector(path)
    frame, report = read_vector(path, geometry_type="Polygon")
    assert len(frame) == 1 and frame.geometry.iloc[0].geom_type == "Polygon"
    assert [(i.row, i.kind) for i in report.issues] == [(1, "geometry_type")]
    assert "line 3" in report.issues[0].message


def test_kml_round_trip(tmp_path: Path) -> None:
    if not {"KML", "LIBKML"} & set(pyogrio.list_drivers(write=True)):
        pytest.skip("GDAL has no KML driver that can write")
    frame = gpd.GeoDataFrame(
        {"name": ["Monas", "Kota Tua"]},
        geometry=[shapely.Point(*MONAS), shapely.Point(106.8133, -6.1352)],
        crs=4326,
    )
    path = write_vector(frame, tmp_path / "places.kml")
    out, report = read_vector(path)
    assert report.rows_kept == 2
    assert out.geometry.iloc[0].equals_exact(shapely.Point(*MONAS), 1e-9)
    assert not out.geometry.has_z.any()
    name_col = "name" if "name" in out.columns else "src_name"
    assert list(out[name_col]) == ["Monas", "Kota Tua"]


@pytest.mark.parametrize("suffix", [".fgb", ".parquet", ".gpkg", ".geojson"])
def test_round_trip_write_then_read(tmp_path: Path, suffix: str) -> None:
    frame = gpd.GeoDataFrame(
        {"kelurahan": ["Gambir", "Menteng"], "population": [15000, 68000], "area": [2.6, 6.5]},
        geometry=[
            shapely.box(106.81, -6.18, 106.83, -6.16),
            shapely.box(106.83, -6.2, 106.85, -6.18),
        ],
        crs=4326,
    )
    out, report = read_vector(write_vector(frame, tmp_path / f"kel{suffix}"))
    assert report.rows_kept == 2 and report.issues == []
    out = out.sort_values("kelurahan")  # FlatGeobuf's spatial index may reorder features
    assert list(out["kelurahan"]) == ["Gambir", "Menteng"]
    assert list(out["population"]) == [15000, 68000]
    assert np.allclose(out["area"], [2.6, 6.5])
    assert all(a.equals(b) for a, b in zip(out.geometry, frame.geometry, strict=True))


def test_geopackage_layers(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    pts = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(*MONAS)], crs=4326)
    pyogrio.write_dataframe(pts, path, layer="pos")
    pyogrio.write_dataframe(pts, path, layer="pompa", append=False)
    with pytest.raises(ImportError_, match="2 layers: pos, pompa") as err:
        read_vector(path)
    assert "--layer" in str(err.value.hint)
    frame, report = read_vector(path, layer="pompa")
    assert report.layer == "pompa" and len(frame) == 1
    with pytest.raises(ImportError_, match="layer 'nope'"):
        read_vector(path, layer="nope")


# -- bad input ---------------------------------------------------------------------------


def test_truncated_geojson(tmp_path: Path) -> None:
    path = tmp_path / "cut.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "prop')
    with pytest.raises(ImportError_) as err:
        read_vector(path)
    assert "cut.geojson" in str(err.value)
    assert "line 1" in str(err.value) or "character" in str(err.value)
    assert "truncated" in str(err.value.hint)


def test_shapefile_without_prj(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(*MONAS)], crs=4326)
    path = write_vector(frame, tmp_path / "noprj.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(ImportError_, match="does not say its CRS") as err:
        read_vector(path)
    assert "--crs EPSG:" in str(err.value.hint)
    assert ".prj" in str(err.value.where)
    out, report = read_vector(path, crs="EPSG:4326")
    assert report.source_crs == "EPSG:4326" and len(out) == 1


def test_geopackage_without_srs(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(*MONAS)])
    path = tmp_path / "nosrs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        pyogrio.write_dataframe(frame, path)  # GDAL writes the layer with an undefined SRS
    with pytest.raises(ImportError_, match="does not say its CRS"):
        read_vector(path)


def test_wrong_crs_utm_values_declared_as_lonlat(tmp_path: Path) -> None:
    path = geojson(tmp_path / "utm.geojson", [feature(point(700000, 9300000), nama="Pos")])
    with pytest.raises(ImportError_, match="cannot be in the declared CRS") as err:
        read_vector(path)
    assert "EPSG:32748" in str(err.value.hint) and "--crs" in str(err.value.hint)
    frame, report = read_vector(path, crs="EPSG:32748")
    assert 106 < frame.geometry.iloc[0].x < 108 and -7 < frame.geometry.iloc[0].y < -6
    assert report.counts() == {"crs_override": 1}


def test_wrong_crs_lonlat_declared_as_utm(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(*MONAS)], crs=4326)
    path = write_vector(frame, tmp_path / "lonlat.gpkg")
    with pytest.raises(ImportError_, match="cannot be in the declared CRS") as err:
        read_vector(path, crs="EPSG:32748")
    assert "EPSG:4326" in str(err.value.hint)


def test_non_utf8_geojson(tmp_path: Path) -> None:
    path = tmp_path / "pasar.geojson"
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                feature(point(106.85, -6.30), nama="Kramat Jati"),
                feature(point(106.86, -6.31), nama="Pasar Rebo XX"),
            ],
        }
    )
    path.write_bytes(text.encode().replace(b"XX", b"\xe9"))
    with pytest.raises(ImportError_, match="not valid UTF-8") as err:
        read_vector(path)
    assert "row 1" in str(err.value) and "'nama'" in str(err.value)
    assert "--encoding latin-1" in str(err.value.hint)
    frame, _ = read_vector(path, encoding="latin-1")
    assert frame["nama"].iloc[1] == "Pasar Rebo é"


def test_non_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "pasar.csv"
    path.write_bytes(b"nama,lon,lat\nKramat Jati,106.85,-6.30\nPasar Rebo \xe9,106.86,-6.31\n")
    with pytest.raises(ImportError_, match="not valid UTF-8") as err:
        read_vector(path)
    assert "line 3" in str(err.value) and "'nama'" in str(err.value)
    assert "--encoding latin-1" in str(err.value.hint)
    frame, _ = read_vector(path, encoding="latin-1")
    assert frame["nama"].iloc[1] == "Pasar Rebo é"


def test_non_utf8_shapefile_cpg_honoured(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"nama": ["Kramat Jati", "Pasar Rebo é"]},
        geometry=[shapely.Point(106.85, -6.30), shapely.Point(106.86, -6.31)],
        crs=4326,
    )
    path = tmp_path / "pasar.shp"
    pyogrio.write_dataframe(frame, path, encoding="ISO-8859-1")
    assert path.with_suffix(".cpg").read_text().strip() == "ISO-8859-1"
    assert read_vector(path)[0]["nama"].iloc[1] == "Pasar Rebo é"
    path.with_suffix(".cpg").unlink()  # now nothing says the encoding: UTF-8 is tried
    with pytest.raises(ImportError_, match="not valid UTF-8") as err:
        read_vector(path)
    assert "row 1" in str(err.value) and "'nama'" in str(err.value)
    assert "--encoding latin-1" in str(err.value.hint)
    assert read_vector(path, encoding="latin-1")[0]["nama"].iloc[1] == "Pasar Rebo é"


def test_empty_layer(tmp_path: Path) -> None:
    path = geojson(tmp_path / "empty.geojson", [])
    with pytest.raises(ImportError_, match="no features") as err:
        read_vector(path)
    assert "empty.geojson" in str(err.value.where)


def test_bowtie_repaired_or_rejected(tmp_path: Path) -> None:
    bowtie = {"type": "Polygon", "coordinates": BOWTIE}
    path = geojson(
        tmp_path / "rw.geojson",
        [feature(square(106.8, -6.2), rw="01"), feature(bowtie, rw="02")],
    )
    frame, report = read_vector(path)
    assert [(i.row, i.kind) for i in report.issues] == [(1, "repaired")]
    assert "Self-intersection" in report.issues[0].message
    assert bool(frame.geometry.is_valid.all())
    # the bow-tie becomes two triangles, so the layer is promoted to MultiPolygon
    assert set(frame.geometry.geom_type) == {"MultiPolygon"}
    assert frame.geometry.iloc[1].area == pytest.approx(0.01 * 0.01 / 2)
    with pytest.raises(ImportError_, match="invalid geometr") as err:
        read_vector(path, on_invalid="reject")
    assert "row 1" in str(err.value.where)


def test_mixed_geometry_types(tmp_path: Path) -> None:
    path = geojson(
        tmp_path / "mixed.geojson",
        [
            feature(point(106.8, -6.2), nama="pos"),
            feature(square(106.8, -6.2), nama="rw 01"),
            feature(square(106.9, -6.2), nama="rw 02"),
        ],
    )
    with pytest.raises(ImportError_, match=r"Point: 1, Polygon: 2") as err:
        read_vector(path)
    assert "geometry_type" in str(err.value.hint)
    frame, report = read_vector(path, geometry_type="Polygon")
    assert list(frame.index) == [1, 2]
    assert [(i.row, i.kind) for i in report.issues] == [(0, "geometry_type")]
    points, report = read_vector(path, geometry_type="point")
    assert list(points.index) == [0] and report.counts() == {"geometry_type": 2}


def test_polygon_multipolygon_mix_is_promoted(tmp_path: Path) -> None:
    multi = {"type": "MultiPolygon", "coordinates": [square(106.9, -6.2)["coordinates"]]}
    path = geojson(
        tmp_path / "kel.geojson", [feature(square(106.8, -6.2), k=1), feature(multi, k=2)]
    )
    frame, report = read_vector(path)
    assert report.issues == []
    assert list(frame.geometry.geom_type) == ["MultiPolygon", "MultiPolygon"]


def test_csv_missing_and_non_numeric_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "pos.csv"
    path.write_text("nama,lon,lat\nA,106.8,-6.2\nB,,-6.2\nC,106.9,-6.1\nD,106.7,\n")
    with pytest.raises(ImportError_, match="'lon' is empty on 1 row") as err:
        read_vector(path)
    assert "line 3" in str(err.value.where)
    path.write_text('nama,lon,lat\nA,106.8,-6.2\nB,"106,8",-6.2\n')
    with pytest.raises(ImportError_, match="not a number") as err:
        read_vector(path)
    assert "line 3" in str(err.value.where) and "106,8" in str(err.value)


def test_zip_without_shapefile(tmp_path: Path) -> None:
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    with pytest.raises(ImportError_, match=r"data\.zip holds no shapefile.*readme\.txt"):
        read_vector(archive)


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="does not exist"):
        read_vector(tmp_path / "nothing.geojson")
    odd = tmp_path / "data.xyz"
    odd.write_text("1 2 3")
    with pytest.raises(ImportError_, match=r"unknown file type '\.xyz'") as err:
        read_vector(odd)
    assert ".gpkg" in str(err.value.hint)


def test_empty_geometries_null_island_and_duplicates(tmp_path: Path) -> None:
    path = geojson(
        tmp_path / "pompa.geojson",
        [
            feature(point(106.8, -6.2), nama="A"),
            feature(None, nama="B"),
            feature(point(0, 0), nama="C"),
            feature(point(106.8, -6.2), nama="A"),
            feature(point(106.8, -6.2), nama="A2"),
        ],
    )
    frame, report = read_vector(path)
    assert report.rows_read == 5 and report.rows_kept == 4
    assert list(frame.index) == [0, 2, 3, 4]
    kinds = {(i.row, i.kind) for i in report.issues}
    assert kinds == {(1, "empty_geometry"), (2, "null_island"), (3, "duplicate")}
    dup = next(i for i in report.issues if i.kind == "duplicate")
    assert "row 0" in dup.message
    assert report.counts() == {"empty_geometry": 1, "null_island": 1, "duplicate": 1}


def test_rename_and_types(tmp_path: Path) -> None:
    path = tmp_path / "kel.csv"
    path.write_text(
        "Nama Kel,jumlah,banjir,tanggal,lon,lat\n"
        "Gambir,1500,ya,2024-02-01,106.81,-6.17\n"
        "Menteng,,tidak,2024-02-02,106.83,-6.19\n"
    )
    types = {"jumlah": "int", "banjir": "bool", "tanggal": "date"}
    frame, report = read_vector(path, rename={"Nama Kel": "kelurahan"}, types=types)
    assert report.renamed == {"Nama Kel": "kelurahan"}
    assert list(frame["kelurahan"]) == ["Gambir", "Menteng"]
    assert frame["jumlah"].iloc[0] == 1500 and frame["jumlah"].isna().iloc[1]
    assert list(frame["banjir"]) == [True, False]
    assert frame["tanggal"].iloc[1].day == 2
    path.write_text("nama,jumlah,lon,lat\nA,10,106.8,-6.2\nB,sepuluh,106.9,-6.1\n")
    with pytest.raises(ImportError_, match="cannot be read as int") as err:
        read_vector(path, types={"jumlah": "int"})
    assert "line 3" in str(err.value.where) and "'jumlah'" in str(err.value.where)
    with pytest.raises(ImportError_, match="not in the file"):
        read_vector(path, rename={"Nope": "x"})
    with pytest.raises(InputError, match="unknown column type"):
        read_vector(path, types={"jumlah": "complex"})


def test_sanitize_columns() -> None:
    frame = gpd.GeoDataFrame(
        {
            "Nama Kelurahan": [1],
            "nama_kelurahan": [2],
            "fid": [3],
            "GEOM": [4],
            "tg_version": [5],
            "2020 Penduduk": [6],
            "popTotal": [7],
            "x" * 80: [8],
        },
        geometry=[shapely.Point(*MONAS)],
        crs=4326,
    )
    out, renamed = sanitize_columns(frame)
    assert list(out.columns) == [
        "nama_kelurahan",
        "nama_kelurahan_2",
        "src_fid",
        "src_geom",
        "src_tg_version",
        "f_2020_penduduk",
        "pop_total",
        "x" * 63,
        "geometry",
    ]
    assert renamed["Nama Kelurahan"] == "nama_kelurahan" and "popTotal" in renamed
    assert out.geometry.name == "geometry"


def test_load_mapping(tmp_path: Path) -> None:
    csv = tmp_path / "pos.csv"
    csv.write_text("Nama,Easting,Northing\nMonas,701000,9317000\n")
    toml = tmp_path / "mapping.toml"
    toml.write_text(
        'crs = "EPSG:32748"\nlon = "Easting"\nlat = "Northing"\n[rename]\nNama = "nama_pos"\n'
    )
    options = load_mapping(toml)
    frame, report = read_vector(csv, **options)
    assert report.source_crs == "EPSG:32748" and list(frame.columns) == ["nama_pos", "geometry"]
    assert 106.8 < frame.geometry.iloc[0].x < 106.9
    as_json = tmp_path / "mapping.json"
    as_json.write_text(json.dumps({"types": {"a": "int"}, "crs": "EPSG:4326"}))
    assert load_mapping(as_json) == {"types": {"a": "int"}, "crs": "EPSG:4326"}
    as_json.write_text(json.dumps({"colour": "red"}))
    with pytest.raises(InputError, match="unknown key 'colour'"):
        load_mapping(as_json)
    as_json.write_text("{not json")
    with pytest.raises(InputError, match="cannot be parsed"):
        load_mapping(as_json)


def test_report_json() -> None:
    report = ImportReport(
        source="x.geojson",
        layer="x",
        rows_read=2,
        rows_kept=1,
        source_crs="EPSG:4326",
        issues=[Issue(1, None, "empty_geometry", "row 1 has no geometry; dropped")],
    )
    data = report.to_json()
    assert data["counts"] == {"empty_geometry": 1}
    assert data["issues"][0]["row"] == 1
    assert json.loads(json.dumps(data)) == data
