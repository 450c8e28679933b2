"""The import path reuses the WKB the reader had, and never for a geometry that changed."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from tangguh.bank import _gpkgblob, open_bank
from tangguh.io import read_vector


def _source(path: Path, n: int = 500) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    x = rng.uniform(106.7, 106.9, n)
    y = rng.uniform(-6.3, -6.1, n)
    frame = gpd.GeoDataFrame(
        {"name": [f"b{i}" for i in range(n)], "levels": rng.integers(1, 9, n)},
        geometry=shapely.box(x, y, x + 0.0002, y + 0.0001),
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(frame, path, layer="b", use_arrow=True)
    return frame


def test_wkb_of_the_read_is_reused_and_round_trips(tmp_path: Path) -> None:
    original = _source(tmp_path / "src.gpkg")
    frame, _ = read_vector(tmp_path / "src.gpkg")
    assert _gpkgblob._SOURCE is not None  # the reader kept its WKB
    with open_bank(tmp_path / "bank.gpkg") as bank:
        bank.write_layer("b", frame)
        assert _gpkgblob._SOURCE is None  # ... and the write used it
        back = bank.read_layer("b")
    assert list(shapely.to_wkb(back.geometry.values)) == list(
        shapely.to_wkb(original.geometry.values)
    )


def test_changed_geometries_are_encoded_again(tmp_path: Path) -> None:
    _source(tmp_path / "src.gpkg")
    frame, _ = read_vector(tmp_path / "src.gpkg")
    moved = shapely.box(106.8, -6.2, 106.801, -6.199)
    frame.loc[0, "geometry"] = moved  # edited in place after the read
    frame.loc[7, "geometry"] = shapely.affinity.translate(frame.geometry.iloc[7], 0.001, 0)
    expect = shapely.to_wkb(frame.geometry.values)
    with open_bank(tmp_path / "bank.gpkg") as bank:
        bank.write_layer("b", frame)
        back = bank.read_layer("b")
    assert back.geometry.iloc[0].equals_exact(moved, 0)
    assert list(shapely.to_wkb(back.geometry.values)) == list(expect)


def test_a_filtered_or_reprojected_frame_is_written_correctly(tmp_path: Path) -> None:
    _source(tmp_path / "src.gpkg")
    frame, _ = read_vector(tmp_path / "src.gpkg")
    subset = frame[frame["levels"] > 4]
    with open_bank(tmp_path / "bank.gpkg") as bank:
        bank.write_layer("subset", subset)
        got = bank.read_layer("subset")
        assert list(shapely.to_wkb(got.geometry.values)) == list(
            shapely.to_wkb(subset.geometry.values)
        )
        frame2, _ = read_vector(tmp_path / "src.gpkg")
        bank.write_layer("utm", frame2.to_crs(32748))  # the bank stores EPSG:4326
        utm = bank.read_layer("utm")
    assert np.allclose(utm.total_bounds, frame2.total_bounds, atol=1e-7)
