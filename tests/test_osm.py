"""Tests of tangguh.io.osm on small OSM files made here and on real Surabaya OSM files."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import geopandas as gpd
import osmium
import pandas as pd
import pytest
import shapely

from tangguh.errors import ImportError_, InputError
from tangguh.io.osm import (
    OSM_LAYERS,
    layers_from_osm,
    parse_int,
    parse_levels,
    parse_metres,
    read_osm,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SURABAYA = DATA / "feeds" / "osm-surabaya-pdc"

# A small piece of "Jakarta": a 3-storey building, a mall with a courtyard (multipolygon
# relation with a hole), a one-way street drawn against its travel direction, a
# hospital node, a school area, a kali (river), and a road with a missing node.
OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="tangguh-test">
  <node id="1" lat="-6.2000" lon="106.8000"/>
  <node id="2" lat="-6.2000" lon="106.8010"/>
  <node id="3" lat="-6.2010" lon="106.8010"/>
  <node id="4" lat="-6.2010" lon="106.8000"/>
  <node id="11" lat="-6.2100" lon="106.8100"/>
  <node id="12" lat="-6.2100" lon="106.8140"/>
  <node id="13" lat="-6.2140" lon="106.8140"/>
  <node id="14" lat="-6.2140" lon="106.8100"/>
  <node id="21" lat="-6.2110" lon="106.8110"/>
  <node id="22" lat="-6.2110" lon="106.8120"/>
  <node id="23" lat="-6.2120" lon="106.8120"/>
  <node id="24" lat="-6.2120" lon="106.8110"/>
  <node id="31" lat="-6.2200" lon="106.8200"/>
  <node id="32" lat="-6.2200" lon="106.8250"/>
  <node id="33" lat="-6.2210" lon="106.8300"/>
  <node id="40" lat="-6.1900" lon="106.8400">
    <tag k="amenity" v="hospital"/><tag k="name" v="RSUD Tarakan"/>
    <tag k="capacity" v="250"/>
  </node>
  <node id="41" lat="-6.1950" lon="106.8450">
    <tag k="emergency" v="assembly_point"/><tag k="name" v="Titik Kumpul RW 05"/>
  </node>
  <node id="51" lat="-6.2300" lon="106.8500"/>
  <node id="52" lat="-6.2300" lon="106.8510"/>
  <node id="53" lat="-6.2310" lon="106.8510"/>
  <node id="54" lat="-6.2310" lon="106.8500"/>
  <node id="61" lat="-6.1500" lon="106.7000"/>
  <node id="62" lat="-6.1600" lon="106.7100"/>
  <node id="63" lat="-6.1700" lon="106.7150"/>
  <way id="100">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="building" v="yes"/><tag k="building:levels" v="3"/><tag k="height" v="10.5"/>
  </way>
  <way id="101"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/></way>
  <way id="102"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="24"/><nd ref="21"/></way>
  <way id="110">
    <nd ref="31"/><nd ref="32"/><nd ref="33"/>
    <tag k="highway" v="secondary"/><tag k="oneway" v="-1"/><tag k="name" v="Jl. Salemba"/>
    <tag k="lanes" v="2"/><tag k="surface" v="asphalt"/>
  </way>
  <way id="111">
    <nd ref="1"/><nd ref="31"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/>
  </way>
  <way id="112">
    <nd ref="2"/><nd ref="32"/>
    <tag k="highway" v="service"/>
  </way>
  <way id="120">
    <nd ref="51"/><nd ref="52"/><nd ref="53"/><nd ref="54"/><nd ref="51"/>
    <tag k="amenity" v="school"/><tag k="name" v="SDN 01 Kenari"/>
  </way>
  <way id="130">
    <nd ref="61"/><nd ref="62"/><nd ref="63"/>
    <tag k="waterway" v="river"/><tag k="name" v="Kali Ciliwung"/><tag k="width" v="25"/>
  </way>
  <way id="140">
    <nd ref="3"/><nd ref="999"/><nd ref="33"/>
    <tag k="highway" v="tertiary"/><tag k="name" v="Broken road"/>
  </way>
  <relation id="200">
    <member type="way" ref="101" role="outer"/>
    <member type="way" ref="102" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="building" v="retail"/>
    <tag k="building:levels" v="10+"/><tag k="name" v="Plaza Kenari"/>
  </relation>
</osm>
"""


@pytest.fixture()
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "kenari.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def _check_layers(frames: dict[str, gpd.GeoDataFrame]) -> None:
    assert list(frames) == list(OSM_LAYERS)
    for frame in frames.values():
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        assert "osm_id" in frame.columns and "name" in frame.columns

    buildings = frames["buildings"].set_index("osm_id")
    assert sorted(buildings.index) == ["r200", "w100"]
    assert set(buildings.geometry.geom_type) == {"MultiPolygon"}
    assert buildings.loc["w100", "building"] == "yes"
    assert buildings.loc["w100", "levels"] == 3
    assert buildings.loc["w100", "height"] == pytest.approx(10.5)
    mall = buildings.loc["r200"]
    assert mall["building"] == "retail"
    assert mall["levels"] == 10 and mall["levels_raw"] == "10+"
    assert mall["name"] == "Plaza Kenari"
    polygon = mall.geometry.geoms[0]
    assert len(polygon.interiors) == 1  # the courtyard is a hole
    outer = shapely.Polygon(polygon.exterior)
    assert mall.geometry.area == pytest.approx(outer.area - 0.001 * 0.001, rel=1e-6)

    roads = frames["roads"].set_index("osm_id")
    assert sorted(roads.index) == ["w110", "w111", "w112"]  # w140 is broken
    assert set(roads.geometry.geom_type) == {"LineString"}
    salemba = roads.loc["w110"]
    assert bool(salemba["oneway"]) is True
    # oneway=-1: the line now runs in the travel direction, from node 33 to node 31
    assert list(salemba.geometry.coords) == [(106.83, -6.221), (106.825, -6.22), (106.82, -6.22)]
    assert salemba["lanes"] == 2 and salemba["surface"] == "asphalt"
    assert salemba["highway"] == "secondary"
    assert bool(roads.loc["w111", "oneway"]) is True
    assert roads.loc["w111"].geometry.coords[0] == (106.8, -6.2)
    assert bool(roads.loc["w112", "oneway"]) is False
    assert pd.isna(roads.loc["w112", "lanes"])

    amenities = frames["amenities"].set_index("osm_id")
    assert set(amenities.geometry.geom_type) == {"Point"}
    assert amenities.loc["n40", "category"] == "hospital"
    assert amenities.loc["n40", "capacity"] == 250
    assert amenities.loc["n41", "category"] == "assembly_point"
    assert pd.isna(amenities.loc["n41", "amenity"])
    school = amenities.loc["w120"]
    assert school["category"] == "school" and school["name"] == "SDN 01 Kenari"
    school_area = shapely.box(106.85, -6.231, 106.851, -6.23)
    assert school_area.contains(school.geometry)
    assert len(amenities) == 3

    waterways = frames["waterways"]
    assert waterways["osm_id"].tolist() == ["w130"]
    assert waterways.geometry.iloc[0].geom_type == "LineString"
    assert waterways["waterway"].iloc[0] == "river"
    assert waterways["width"].iloc[0] == pytest.approx(25.0)


def test_xml_layers(osm_file: Path) -> None:
    frames, report = read_osm(osm_file)
    _check_layers(frames)
    assert report.counts == {"buildings": 2, "roads": 3, "amenities": 3, "waterways": 1}
    assert report.skipped["roads"] == 1
    assert any(p.startswith("w140 (roads)") for p in report.problems)
    assert report.skipped["buildings"] == 0


def test_pbf_roundtrip_gives_same_layers(osm_file: Path, tmp_path: Path) -> None:
    pbf = tmp_path / "kenari.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(osm_file)):
            writer.add(obj)
    finally:
        writer.close()
    assert pbf.read_bytes()[:64].find(b"OSMHeader") >= 0
    frames, report = read_osm(pbf)
    _check_layers(frames)
    xml_frames, _ = read_osm(osm_file)
    for name in OSM_LAYERS:
        pd.testing.assert_frame_equal(
            frames[name].sort_values("osm_id").reset_index(drop=True),
            xml_frames[name].sort_values("osm_id").reset_index(drop=True),
        )
    assert report.skipped["roads"] == 1


@pytest.mark.parametrize(
    ("suffix", "compress"), [(".osm.gz", gzip.compress), (".osm.bz2", bz2.compress)]
)
def test_compressed_xml(osm_file: Path, tmp_path: Path, suffix: str, compress: object) -> None:
    path = tmp_path / f"kenari{suffix}"
    assert callable(compress)
    path.write_bytes(compress(osm_file.read_bytes()))
    _check_layers(layers_from_osm(path))


def test_unknown_extension_is_sniffed(osm_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(osm_file.read_bytes())
    frames = layers_from_osm(path, layers=["roads"])
    assert list(frames) == ["roads"]
    assert len(frames["roads"]) == 3


def test_report_attached_and_progress(osm_file: Path) -> None:
    seen: list[int] = []
    frames = layers_from_osm(osm_file, progress=seen.append)
    assert seen and seen[-1] > 0 and seen == sorted(seen)
    report = frames["roads"].attrs["osm_report"]
    assert report["skipped"]["roads"] == 1
    assert report["counts"]["buildings"] == 2


def test_layer_subset_and_bbox(osm_file: Path) -> None:
    # a box around the mall and the first building only
    frames, report = read_osm(
        osm_file, layers=("buildings", "amenities"), bbox=(106.79, -6.215, 106.815, -6.195)
    )
    assert set(frames) == {"buildings", "amenities"}
    assert sorted(frames["buildings"]["osm_id"]) == ["r200", "w100"]
    assert len(frames["amenities"]) == 0
    assert report.outside_bbox["amenities"] == 3


def test_broken_building_and_unclosed_way_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "broken.osm"
    path.write_text(
        """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="-6.2" lon="106.8"/>
  <node id="2" lat="-6.2" lon="106.801"/>
  <node id="3" lat="-6.201" lon="106.801"/>
  <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="77"/><nd ref="1"/>
    <tag k="building" v="house"/></way>
  <way id="2"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="building" v="yes"/></way>
</osm>
""",
        encoding="utf-8",
    )
    frames, report = read_osm(path, layers=["buildings"])
    assert len(frames["buildings"]) == 0
    assert report.skipped["buildings"] == 2
    assert any(p == "w2 (buildings): building way is not closed" for p in report.problems)


def test_josm_negative_ids(tmp_path: Path) -> None:
    """Unsaved JOSM objects have negative ids, which libosmium's location cache refuses."""
    path = tmp_path / "josm.osm"
    path.write_text(
        """<?xml version='1.0' encoding='UTF-8'?>
<osm version='0.6' upload='false' generator='JOSM'>
  <node id='-1' action='modify' lat='-6.2' lon='106.8'/>
  <node id='-2' action='modify' lat='-6.2' lon='106.801'/>
  <node id='-3' action='modify' lat='-6.201' lon='106.801'/>
  <node id='-4' action='modify' lat='-6.201' lon='106.8'/>
  <way id='-5' action='modify'>
    <nd ref='-1'/><nd ref='-2'/><nd ref='-3'/><nd ref='-4'/><nd ref='-1'/>
    <tag k='building' v='school'/><tag k='amenity' v='school'/><tag k='building:levels' v='2'/>
  </way>
  <way id='-6' action='modify'><nd ref='-1'/><nd ref='-3'/><tag k='highway' v='footway'/></way>
</osm>
""",
        encoding="utf-8",
    )
    frames, report = read_osm(path)
    assert frames["buildings"]["osm_id"].tolist() == ["w-5"]
    assert frames["buildings"]["levels"].iloc[0] == 2
    assert frames["buildings"].geometry.iloc[0].area == pytest.approx(1e-6)
    assert frames["amenities"]["category"].tolist() == ["school"]
    assert frames["roads"]["osm_id"].tolist() == ["w-6"]
    assert sum(report.skipped.values()) == 0


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportError_) as info:
        layers_from_osm(tmp_path / "nothing.osm.pbf")
    assert info.value.where is not None and "nothing.osm.pbf" in info.value.where
    assert info.value.hint


def test_not_osm(tmp_path: Path) -> None:
    text = tmp_path / "notes.osm"
    text.write_text("this is not xml\n", encoding="utf-8")
    with pytest.raises(ImportError_) as info:
        layers_from_osm(text)
    assert info.value.hint and str(text) == info.value.where
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"\x00\x01\x02 random")
    with pytest.raises(ImportError_, match="not an OpenStreetMap file"):
        layers_from_osm(binary)


def test_truncated_xml(osm_file: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.osm"
    cut.write_bytes(osm_file.read_bytes()[: len(OSM_XML) // 2])
    with pytest.raises(ImportError_, match="cannot read OSM file") as info:
        layers_from_osm(cut)
    assert info.value.where == str(cut)


def test_bad_arguments(osm_file: Path) -> None:
    with pytest.raises(InputError, match="unknown OSM layer"):
        layers_from_osm(osm_file, layers=["buildings", "rivers"])
    with pytest.raises(InputError, match="invalid bbox"):
        layers_from_osm(osm_file, bbox=(107.0, -6.0, 106.0, -7.0))


@pytest.mark.parametrize(
    ("raw", "levels"),
    [("3", 3), ("3;4", 4), ("10+", 10), ("2.5", 2), ("", None), ("banyak", None), ("-1", None)],
)
def test_parse_levels(raw: str, levels: int | None) -> None:
    assert parse_levels(raw) == levels


def test_parse_numbers() -> None:
    assert parse_int("2;3") == 2
    assert parse_int("n/a") is None
    assert parse_metres("12 m") == pytest.approx(12.0)
    assert parse_metres("40 ft") == pytest.approx(12.192)
    assert parse_metres("3,5") == pytest.approx(3.5)
    assert parse_metres(None) is None


def _surabaya(name: str) -> Path:
    path = SURABAYA / name
    if not path.is_file():
        pytest.skip(f"real OSM data not available: {path}")
    return path


def test_real_surabaya_pois() -> None:
    """391 JOSM POI nodes (negative ids); amenity counts are listed in SOURCE.txt."""
    frames, report = read_osm(_surabaya("surabaya_infrastructure_pois.osm"))
    amenities = frames["amenities"]
    counts = amenities["category"].value_counts().to_dict()
    assert counts == {
        "school": 147,
        "place_of_worship": 91,
        "market": 22,
        "clinic": 16,
        "police": 12,
    }
    assert amenities["osm_id"].str.startswith("n-").all()
    worship = amenities[amenities["category"] == "place_of_worship"]
    assert (worship["religion"] == "muslim").sum() == 66
    bounds = amenities.total_bounds
    assert 112.5 < bounds[0] < bounds[2] < 112.9
    assert -7.4 < bounds[1] < bounds[3] < -7.1
    assert sum(report.skipped.values()) == 0


def test_real_surabaya_boundaries_have_no_layer_features() -> None:
    """The boundary file holds only admin relations: every layer is empty, nothing fails."""
    frames, report = read_osm(_surabaya("surabaya_kelurahan_kecamatan_boundaries.osm"))
    assert report.counts == dict.fromkeys(OSM_LAYERS, 0)
    assert all(len(frame) == 0 for frame in frames.values())
    assert sum(report.skipped.values()) == 0
