"""Exact-area zonal statistics: synthetic rasters with known answers, then the real
HKV 2007 Jakarta flood and population grids over the real kelurahan and RW polygons.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from exactextract import exact_extract
from pyproj import Geod
from rasterio.transform import Affine

from tangguh.errors import InputError
from tangguh.risk.zonal import cell_area_km2, class_fractions, cross_tab, zonal_stats

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HKV = SHARED / "jakarta" / "flood-inasafe-2007-hkv"
ADMIN = SHARED / "jakarta" / "admin-inasafe-2012" / "geojson"
GEOD = Geod(ellps="WGS84")


def _tif(
    path: Path,
    values: np.ndarray,
    *,
    west: float,
    north: float,
    cell: float,
    crs: str | None = "EPSG:32748",
    nodata: float | None = -9999.0,
) -> Path:
    """Write ``values`` (rows north->south) as a one-band float GeoTIFF."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float64",
        crs=crs,
        transform=Affine(cell, 0.0, west, 0.0, -cell, north),
        nodata=nodata,
    ) as dst:
        dst.write(values.astype("float64"), 1)
    return path


def _zones(geoms: list[shapely.Geometry], crs: str = "EPSG:32748") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"kode": [f"Z{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs)


def _bilingual(err: InputError) -> None:
    assert err.message_id and err.text("id")[0] != err.text("en")[0]


# 4x4 grid of 100 m cells in UTM 48S, values 1..16 row by row from the north-west.
W, N, CELL = 700_000.0, 9_320_000.0, 100.0
VALUES = np.arange(1, 17, dtype=float).reshape(4, 4)


def _cell(row: int, col: int, x0: float = 0.0, x1: float = 1.0) -> shapely.Polygon:
    """Part of cell (row, col) between fractions x0..x1 of its width."""
    left = W + (col + x0) * CELL
    return shapely.box(left, N - (row + 1) * CELL, W + (col + x1) * CELL, N - row * CELL)


def test_half_a_cell_and_a_cell_and_a_half(tmp_path: Path) -> None:
    raster = _tif(tmp_path / "v.tif", VALUES, west=W, north=N, cell=CELL)
    zones = _zones(
        [
            _cell(1, 2, 0.0, 0.5),  # half of the cell holding 7
            shapely.union(_cell(0, 0), _cell(0, 1, 0.0, 0.5)),  # 1 + half of 2
            shapely.box(W - 500, N - 400, W, N),  # outside, west of the raster
        ]
    )
    out = zonal_stats(raster, zones, zone_field="kode", stats=["sum", "count", "mean", "max"])
    assert list(out.index) == ["Z0", "Z1", "Z2"] and out.index.name == "kode"
    assert out.loc["Z0"].tolist() == pytest.approx([3.5, 0.5, 7.0, 7.0])
    assert out.loc["Z1", "sum"] == pytest.approx(1 + 2 * 0.5)
    assert out.loc["Z1", "count"] == pytest.approx(1.5)
    assert out.loc["Z1", "mean"] == pytest.approx((1 + 2 * 0.5) / 1.5)
    assert out.loc["Z2", "sum"] == 0 and math.isnan(out.loc["Z2", "mean"])


def test_nodata_cells_are_left_out_and_quantile_names(tmp_path: Path) -> None:
    values = VALUES.copy()
    values[0, 0] = -9999.0
    raster = _tif(tmp_path / "v.tif", values, west=W, north=N, cell=CELL)
    zones = _zones([shapely.box(W, N - 200, W + 200, N)])  # cells 1(nodata), 2, 5, 6
    out = zonal_stats(raster, zones, zone_field="kode", stats=["sum", "count", "quantile(q=0.5)"])
    assert out.loc["Z0", "sum"] == pytest.approx(2 + 5 + 6)
    assert out.loc["Z0", "count"] == pytest.approx(3)
    assert list(out.columns) == ["sum", "count", "quantile(q=0.5)"]
    assert out.loc["Z0", "quantile(q=0.5)"] == pytest.approx(5)


def test_weighted_mean_with_a_weight_raster(tmp_path: Path) -> None:
    raster = _tif(tmp_path / "v.tif", VALUES, west=W, north=N, cell=CELL)
    weights = _tif(tmp_path / "w.tif", np.where(VALUES > 8, 3.0, 1.0), west=W, north=N, cell=CELL)
    zones = _zones([shapely.box(W, N - 400, W + 100, N)])  # column 0: 1, 5, 9, 13
    out = zonal_stats(
        raster, zones, zone_field="kode", stats=["weighted_mean", "mean"], weights=weights
    )
    assert out.loc["Z0", "weighted_mean"] == pytest.approx((1 + 5 + 3 * 9 + 3 * 13) / 8)
    assert out.loc["Z0", "mean"] == pytest.approx((1 + 5 + 9 + 13) / 4)


def test_density_becomes_counts_with_geodesic_cell_area(tmp_path: Path) -> None:
    # 1000 people/km² on a 0.001 deg lon/lat grid around central Jakarta.
    west, north, cell = 106.75, -6.10, 0.001
    raster = _tif(
        tmp_path / "d.tif",
        np.full((150, 150), 1000.0),
        west=west,
        north=north,
        cell=cell,
        crs="EPSG:4326",
    )
    circle = shapely.Point(106.825, -6.175).buffer(0.05, quad_segs=64)
    zones = _zones([circle, shapely.box(106.76, -6.20, 106.80, -6.12)], crs="EPSG:4326")
    out = zonal_stats(raster, zones, zone_field="kode", density=True)
    for geom, people in zip(zones.geometry, out["sum"], strict=True):
        area_km2 = abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6
        assert people == pytest.approx(area_km2 * 1000, rel=0.005)
        assert people == pytest.approx(area_km2 * 1000, rel=1e-4)  # actually much closer
    # Per 0.1 km² (the HKV convention): ten times as many people.
    tenth = zonal_stats(raster, zones, zone_field="kode", density=True, density_unit_km2=0.1)
    assert tenth["sum"].to_numpy() == pytest.approx(10 * out["sum"].to_numpy())
    # Zones given in UTM are reprojected to the raster CRS, not refused.
    utm = zonal_stats(raster, zones.to_crs("EPSG:32748"), zone_field="kode", density=True)
    assert utm["sum"].to_numpy() == pytest.approx(out["sum"].to_numpy(), rel=1e-3)


def test_cell_area_matches_geod_and_projected_cells() -> None:
    transform = Affine(0.01, 0.0, 106.0, 0.0, -0.01, -6.0)
    areas = cell_area_km2(transform, 3, "EPSG:4326")
    box = shapely.box(106.0, -6.03, 106.01, -6.02)
    assert areas[2] == pytest.approx(abs(GEOD.geometry_area_perimeter(box)[0]) / 1e6, rel=1e-6)
    assert areas[0] > areas[1] > areas[2]  # cells shrink away from the equator
    assert cell_area_km2(Affine(100, 0, 0, 0, -100, 0), 2, "EPSG:32748").tolist() == [0.01, 0.01]


def test_raster_without_crs(tmp_path: Path) -> None:
    raster = _tif(tmp_path / "v.tif", VALUES, west=W, north=N, cell=CELL, crs=None)
    zones = _zones([_cell(1, 2, 0.0, 0.5)])
    with pytest.raises(InputError, match="no CRS") as exc:
        zonal_stats(raster, zones, zone_field="kode")
    _bilingual(exc.value)
    out = zonal_stats(raster, zones, zone_field="kode", raster_crs="EPSG:32748")
    assert out.loc["Z0", "sum"] == pytest.approx(3.5)


def test_bad_zonal_inputs(tmp_path: Path) -> None:
    raster = _tif(tmp_path / "v.tif", VALUES, west=W, north=N, cell=CELL)
    zones = _zones([_cell(0, 0), _cell(1, 1)])
    far = _zones([shapely.box(0, 0, 10, 10)])
    dupes = zones.assign(kode=["A", "A"])
    cases: list[tuple[dict[str, object], str]] = [
        ({"zones": far}, "do not overlap"),
        ({"zones": dupes}, "more than once"),
        ({"zones": zones.iloc[:0]}, "no zones"),
        ({"zones": zones, "zone_field": "nama"}, "no column 'nama'"),
        ({"zones": zones, "stats": ["bogus"]}, "bogus"),
        ({"zones": zones, "stats": ["weighted_mean"]}, "No weights"),
        ({"zones": zones, "density": True, "weights": raster}, "density=True"),
        ({"zones": zones, "raster": tmp_path / "none.tif"}, "cannot be read"),
        ({"zones": zones.set_crs(None, allow_override=True)}, "zones have no CRS"),
    ]
    for kwargs, match in cases:
        args = {"raster": raster, "zone_field": "kode", **kwargs}
        with pytest.raises(InputError, match=match) as exc:
            zonal_stats(**args)  # type: ignore[arg-type]
        _bilingual(exc.value)
    points = zones.copy()
    points.geometry = shapely.centroid(points.geometry.to_numpy())  # type: ignore[assignment]
    with pytest.raises(InputError, match="not polygons"):
        zonal_stats(raster, points, zone_field="kode")


def test_class_fractions_known_answer(tmp_path: Path) -> None:
    classes = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 9, 9], [3, 3, -9999, -9999]], float)
    raster = _tif(tmp_path / "c.tif", classes, west=W, north=N, cell=CELL)
    zones = _zones(
        [
            shapely.box(W + 100, N - 100, W + 300, N),  # one cell of 1, one of 2
            shapely.box(W + 150, N - 400, W + 400, N - 200),  # 2 halves of 3, 2 of 9, 2 nodata
        ]
    )
    out = class_fractions(raster, zones, zone_field="kode", classes=[1, 2, 3])
    assert out.loc["Z0", ["frac_1", "frac_2", "frac_3", "frac_other"]].tolist() == [0.5, 0.5, 0, 0]
    assert out.loc["Z0", "area_km2"] == pytest.approx(0.02)
    assert out.loc["Z0", "area_km2_1"] == pytest.approx(0.01)
    assert out.loc["Z1", "frac_3"] == pytest.approx(1 / 3)
    assert out.loc["Z1", "frac_other"] == pytest.approx(2 / 3)  # the 9s are not dropped
    assert out.loc["Z1", "area_km2"] == pytest.approx(0.03)  # nodata cells are not area


def test_cross_tab_same_grid_and_coarser_and_finer_hazard(tmp_path: Path) -> None:
    people = np.full((4, 4), 10.0)
    people[3, 3] = -9999.0  # nodata exposure = nobody
    exposure = _tif(tmp_path / "p.tif", people, west=W, north=N, cell=CELL)
    depth = np.array([[0.0, 0.3, 0.8, 2.0]] * 4)
    depth[0, 0] = -9999.0  # no hazard data here
    hazard = _tif(tmp_path / "h.tif", depth, west=W, north=N, cell=CELL)
    zones = _zones([shapely.box(W, N - 400, W + 400, N), shapely.box(W + 150, N - 100, W + 300, N)])
    bins = [0.1, 0.5, 1.0, math.inf]
    out = cross_tab(hazard, exposure, zones, zone_field="kode", hazard_bins=bins)
    assert list(out.columns) == ["0.1-0.5", "0.5-1", "1-inf", "other", "no_hazard", "total"]
    assert out.attrs["method"] == "same grid"
    assert out.loc["Z0"].tolist() == pytest.approx([40, 40, 30, 30, 10, 150])
    assert out.loc["Z1"].tolist() == pytest.approx([5, 10, 0, 0, 0, 15])

    # Hazard on a 2x coarser grid: each exposure cell takes its containing hazard cell.
    coarse = _tif(
        tmp_path / "hc.tif", np.array([[0.3, 2.0], [0.0, 0.7]]), west=W, north=N, cell=2 * CELL
    )
    out = cross_tab(coarse, exposure, zones, zone_field="kode", hazard_bins=bins)
    assert out.attrs["method"] == "resampled"
    assert out.loc["Z0"].tolist() == pytest.approx([40, 30, 40, 40, 0, 150])

    # Hazard on a 2x finer grid: each exposure cell is split among its 4 hazard cells.
    fine = np.zeros((8, 8))
    fine[:, 0::2] = 0.3  # left half of every exposure cell 0.1-0.5, right half dry
    finer = _tif(tmp_path / "hf.tif", fine, west=W, north=N, cell=CELL / 2)
    out = cross_tab(finer, exposure, zones, zone_field="kode", hazard_bins=bins)
    assert out.loc["Z0"].tolist() == pytest.approx([75, 0, 0, 75, 0, 150])
    assert out.loc["Z1"].tolist() == pytest.approx([7.5, 0, 0, 7.5, 0, 15])

    # Hazard in another CRS, reaching only the west half: the rest is "no_hazard".
    west_half = _tif(tmp_path / "hw.tif", np.full((4, 2), 0.3), west=W, north=N, cell=CELL)
    with rasterio.open(west_half) as ds:
        bounds = ds.bounds
    geo = gpd.GeoSeries([shapely.box(*bounds)], crs="EPSG:32748").to_crs("EPSG:4326").total_bounds
    step = (geo[2] - geo[0]) / 40
    lonlat = _tif(
        tmp_path / "hg.tif",
        np.full((round((geo[3] - geo[1]) / step), 40), 0.3),
        west=geo[0],
        north=geo[3],
        cell=step,
        crs="EPSG:4326",
    )
    out = cross_tab(lonlat, exposure, zones, zone_field="kode", hazard_bins=bins)
    row = out.loc["Z0"]
    assert row["0.1-0.5"] + row["no_hazard"] == pytest.approx(150)
    assert row["0.1-0.5"] == pytest.approx(80, rel=0.05)
    elsewhere = _tif(tmp_path / "hx.tif", depth, west=W + 10_000, north=N, cell=CELL)
    with pytest.raises(InputError, match="do not overlap") as exc:
        cross_tab(elsewhere, exposure, zones, zone_field="kode", hazard_bins=bins)
    _bilingual(exc.value)
    with pytest.raises(InputError, match="increasing") as exc:
        cross_tab(hazard, exposure, zones, zone_field="kode", hazard_bins=[1.0, 0.5])
    _bilingual(exc.value)


# ----------------------------------------------------------------- real HKV rasters


def _real() -> tuple[Path, Path, Path, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    if not (HKV.exists() and ADMIN.exists()):
        pytest.skip(f"shared Jakarta data not found under {SHARED}")
    kelurahan = gpd.read_file(ADMIN / "kelurahan_jakarta.geojson")
    rw = gpd.read_file(ADMIN / "rw_jakarta.geojson")
    return (
        HKV / "Flood_Current_Depth_Jakarta_geographic.asc",
        HKV / "jakarta_flood_category_123.asc",
        HKV / "Population_Jakarta_geographic.asc",
        kelurahan,
        rw,
    )


def test_real_population_per_kelurahan_matches_raster_total() -> None:
    _, _, population, kelurahan, _ = _real()
    # SOURCE.txt: people per 0.1 km²; about 8.8 M people on the grid.
    out = zonal_stats(
        population,
        kelurahan,
        zone_field="ID",
        stats=["sum", "mean"],
        density=True,
        density_unit_km2=0.1,
    )
    assert len(out) == 261 and out["sum"].notna().all()
    # Independent check: bare exactextract over the union of all kelurahan, converted
    # with the geodesic area of a cell at the grid's mid latitude.
    union = gpd.GeoDataFrame(geometry=[kelurahan.union_all()], crs="EPSG:4326")
    bare = exact_extract(str(population), union, ["sum"], output="pandas")["sum"].iloc[0]
    with rasterio.open(population) as ds:
        mid = (ds.bounds.top + ds.bounds.bottom) / 2
        dx, dy = ds.res
    cell_km2 = abs(GEOD.geometry_area_perimeter(shapely.box(0, mid, dx, mid + dy))[0]) / 1e6
    assert out["sum"].sum() == pytest.approx(bare * cell_km2 / 0.1, rel=1e-3)
    assert 8.0e6 < out["sum"].sum() < 9.0e6
    assert (out["mean"].dropna() > 300).all()  # grid values are 309..6179


def test_real_affected_population_per_rw_by_class_and_depth() -> None:
    depth, category, population, _, rw = _real()
    rw = rw.assign(rw_id=rw["OBJECTID"])
    by_class = cross_tab(
        category,
        population,
        rw,
        zone_field="rw_id",
        hazard_bins=[1, 2, 3, 4],
        density=True,
        density_unit_km2=0.1,
    )
    assert len(by_class) == 2685
    parts = by_class.drop(columns="total").sum(axis=1)
    assert np.allclose(parts, by_class["total"], rtol=1e-9, atol=1e-6)
    assert by_class["other"].sum() == pytest.approx(0, abs=1e-6)  # only classes 1-3
    affected = by_class[["1-2", "2-3", "3-4"]].sum()
    assert 0 < affected.sum() < by_class["total"].sum()
    # Same totals as zonal_stats on the same population.
    totals = zonal_stats(population, rw, zone_field="rw_id", density=True, density_unit_km2=0.1)
    assert np.allclose(totals["sum"], by_class["total"], rtol=1e-9)

    by_depth = cross_tab(
        depth,
        population,
        rw,
        zone_field="rw_id",
        hazard_bins=[0.1, 0.5, 1.0, math.inf],
        density=True,
        density_unit_km2=0.1,
    )
    assert np.allclose(by_depth.drop(columns="total").sum(axis=1), by_depth["total"])
    assert np.allclose(by_depth["total"], by_class["total"])
    # The HKV category grid is the depth grid classed (1: 10-50 cm, 2: 50 cm-1 m, 3: >1 m).
    assert by_depth["0.1-0.5"].sum() == pytest.approx(affected["1-2"], rel=0.02)
    assert by_depth["1-inf"].sum() == pytest.approx(affected["3-4"], rel=0.02)


def test_real_coarser_hazard_grid_is_resampled_not_refused(tmp_path: Path) -> None:
    depth, _, population, kelurahan, _ = _real()
    with rasterio.open(depth) as ds:
        coarse = ds.read(
            1,
            out_shape=(ds.height // 4, ds.width // 4),
            resampling=rasterio.enums.Resampling.nearest,
            masked=True,
        )
        scale_x = ds.width / coarse.shape[1]
        scale_y = ds.height / coarse.shape[0]
        transform = ds.transform @ Affine.scale(scale_x, scale_y)
    path = tmp_path / "depth_coarse.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=coarse.shape[1],
        height=coarse.shape[0],
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=transform,
        nodata=-9999.0,
    ) as dst:
        dst.write(coarse.filled(-9999.0).astype("float32"), 1)
    out = cross_tab(
        path,
        population,
        kelurahan,
        zone_field="ID",
        hazard_bins=[0.1, 0.5, 1.0, math.inf],
        density=True,
        density_unit_km2=0.1,
    )
    assert out.attrs["method"] == "resampled"
    assert np.allclose(out.drop(columns="total").sum(axis=1), out["total"], rtol=1e-6)
    same = cross_tab(
        depth,
        population,
        kelurahan,
        zone_field="ID",
        hazard_bins=[0.1, 0.5, 1.0, math.inf],
        density=True,
        density_unit_km2=0.1,
    )
    assert np.allclose(out["total"], same["total"])
    flooded = ["0.1-0.5", "0.5-1", "1-inf"]
    assert out[flooded].sum().sum() == pytest.approx(same[flooded].sum().sum(), rel=0.1)


def test_real_flood_category_shares_per_kelurahan() -> None:
    _, category, _, kelurahan, _ = _real()
    out = class_fractions(category, kelurahan, zone_field="ID", classes=[1, 2, 3])
    flooded = out[out["area_km2"] > 0]
    assert 0 < len(flooded) <= 261
    shares = flooded[["frac_1", "frac_2", "frac_3", "frac_other"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert flooded["frac_other"].max() == 0
    # Area on flooded cells per kelurahan never exceeds the kelurahan's own area.
    areas = kelurahan.set_index("ID").geometry.map(
        lambda g: abs(GEOD.geometry_area_perimeter(g)[0]) / 1e6
    )
    assert (flooded["area_km2"] <= areas.reindex(flooded.index) * 1.001).all()
    assert isinstance(out.index, pd.Index) and out.index.name == "ID"
