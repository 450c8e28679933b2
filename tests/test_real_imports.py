"""The real files in ../shared/data/jakarta import cleanly, with what is odd reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tangguh.bank import Bank, LayerMeta
from tangguh.io import read_vector

REAL_FILES = [
    ("facilities-petadasar/rumah-sakit.geojson", "hospitals", 191),
    ("facilities-petadasar/pendidikan.geojson", "schools", 4736),
    ("facilities-petadasar/pusat-perbelanjaan.geojson", "markets", 424),
    ("water-infrastructure-petabencana-2016/floodgates.geojson", "floodgates", 28),
    ("water-infrastructure-petabencana-2016/pumps.geojson", "pumps", 67),
    ("water-infrastructure-petabencana-2016/waterways.geojson", "waterways", 209),
    ("water-level-gauges/dsda_pintu_air_sluice_gates.geojson", "dsda_floodgates", 18),
    ("water-level-gauges/dsda_rumah_pompa_pump_houses.geojson", "dsda_pumps", 184),
    ("water-level-gauges/dsda_waduk_reservoirs.geojson", "dsda_reservoirs", 73),
    ("osm-inasafe/jakarta_roads.shp", "osm_roads", 18574),
    ("osm-inasafe/jakarta_building.gpkg", "osm_buildings", 7689),
    ("admin-inasafe-2012/shapefile/rw_jakarta.shp", "rw", 2685),
    ("kelurahan-population/kelurahan_dukcapil_demografi.geojson", "kelurahan_pop", 253),
    ("kelurahan-population/kota_bps_population_2017_2020.geojson", "kota_pop", 5),
    ("flood-events-2024-bpbd/kecamatan_42.geojson", "kecamatan_42", 42),
    ("flood-inasafe-2007-hkv/Jakarta_RW_2007flood.shp", "rw_flood_2007", 1009),
]


@pytest.mark.parametrize(("relpath", "layer", "count"), REAL_FILES)
def test_real_vector_files_import(
    tmp_path: Path, shared: Path, relpath: str, layer: str, count: int
) -> None:
    from tangguh.bank import open_bank

    frame, report = read_vector(shared / "jakarta" / relpath)
    dropped = report.counts().get("empty_geometry", 0) + report.counts().get("rejected", 0)
    assert report.rows_read == count
    assert report.rows_kept == count - dropped
    with open_bank(tmp_path / "bank.gpkg") as bank:
        info = bank.write_layer(layer, frame, LayerMeta(source=relpath))
        assert info.feature_count == report.rows_kept
        back = bank.read_layer(layer)
        assert len(back) == report.rows_kept
        assert back.geometry.is_valid.all()


def test_null_island_reservoirs_are_flagged(shared: Path) -> None:
    _, report = read_vector(shared / "jakarta/water-level-gauges/dsda_waduk_reservoirs.geojson")
    assert report.counts()["null_island"] == 4


def test_real_rasters_register_in_both_backends(bank: Bank, shared: Path) -> None:
    folder = shared / "jakarta/flood-inasafe-2007-hkv"
    info = bank.register_raster(
        "flood_depth_2007",
        folder / "Flood_Current_Depth_Jakarta_geographic.asc",
        LayerMeta(theme="hazard", title_en="Flood depth 2007 (HKV)"),
    )
    assert info.kind == "raster" and info.crs == "EPSG:4326"
    assert info.bbox is not None and 106.6 < info.bbox[0] < 106.8
    import rasterio

    with rasterio.open(bank.raster_path("flood_depth_2007")) as src:
        assert (src.width, src.height) == (638, 649)


def test_real_buildings_and_roads_into_postgis_too(bank: Bank, shared: Path) -> None:
    roads, _ = read_vector(shared / "jakarta/osm-inasafe/jakarta_roads.shp")
    info = bank.write_layer("roads", roads, LayerMeta(theme="mobility"))
    assert info.feature_count == 18574
    sub = bank.read_layer("roads", bbox=(106.82, -6.20, 106.84, -6.18))
    assert 0 < len(sub) < 18574
