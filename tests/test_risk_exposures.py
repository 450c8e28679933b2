"""Buildings, roads, facilities, land cover on raster and polygon hazards; subsidence;
the risk index as an analysis record.

Real data: the 2007 HKV depth raster, the 2007 flooded-RW polygons, OSM roads and
buildings (osm-inasafe), hospitals and schools (facilities-petadasar), all clipped to
a box in central/north Jakarta so each test stays fast. Every count and length is
checked against an independent computation (rasterio sampling, geopandas overlay).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.features import shapes
from rasterio.windows import from_bounds
from typer.testing import CliRunner

from tangguh.admin.store import import_jakarta
from tangguh.bank import Bank, LayerMeta, open_bank
from tangguh.errors import ImportError_, InputError, TangguhError
from tangguh.risk import load_classification
from tangguh.risk.exposures import hazard_impact, hazard_zones_from_raster
from tangguh.risk.impact import flood_impact, replay
from tangguh.risk.subsidence import (
    classification_from_data,
    classification_from_layer,
    subsidence_zones,
)

BOX = (106.84, -6.20, 106.92, -6.13)  # central/north Jakarta, inside the OSM buildings
UTM = 32748


def _clip_raster(src_path: Path, out: Path, box: tuple[float, float, float, float] = BOX,
                 crs: str | None = "EPSG:4326") -> Path:  # fmt: skip
    with rasterio.open(src_path) as src:
        window = from_bounds(*box, transform=src.transform).round_offsets().round_lengths()
        data = src.read(1, window=window)
        profile = src.profile
        profile.update(
            driver="GTiff",
            width=data.shape[1],
            height=data.shape[0],
            transform=src.transform @ rasterio.Affine.translation(window.col_off, window.row_off),
            crs=crs,
        )
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(data, 1)
    return out


def _clip(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path, bbox=BOX)
    # The PetaDasar files declare EPSG:9518 (WGS 84 + EGM2008 height): use as lon/lat.
    return frame.set_crs(4326, allow_override=True)


@pytest.fixture
def jakarta(bank: Bank, shared: Path, tmp_path: Path) -> Bank:
    """Real admin units, the clipped HKV depth raster and clipped real exposures."""
    j = shared / "jakarta"
    import_jakarta(bank, j)
    depth = _clip_raster(
        j / "flood-inasafe-2007-hkv/Flood_Current_Depth_Jakarta_geographic.asc",
        tmp_path / "depth.tif",
    )
    bank.register_raster("depth_2007", depth, LayerMeta(theme="hazard"))
    bank.write_layer("roads", _clip(j / "osm-inasafe/jakarta_roads.geojson"))
    bank.write_layer("buildings", _clip(j / "osm-inasafe/jakarta_building.geojson"))
    bank.write_layer("hospitals", _clip(j / "facilities-petadasar/rumah-sakit.geojson"))
    bank.write_layer("schools", _clip(j / "facilities-petadasar/pendidikan.geojson"))
    return bank


def _sample_classes(bank: Bank, layer: str, points: gpd.GeoSeries, unit: str) -> np.ndarray:
    """Independent: rasterio samples each point, the classification classes the value."""
    cls = load_classification("flood_petabencana").to_unit(unit)
    with rasterio.open(bank.raster_path(layer)) as ds:
        values = np.array([v[0] for v in ds.sample(zip(points.x, points.y, strict=True))])
        nodata = ds.nodata
    values = values.astype(float)
    if nodata is not None:
        values[values == nodata] = np.nan
    return cls.class_index(values)


def _zones_gdf(bank: Bank, layer: str) -> gpd.GeoDataFrame:
    """Independent: classify the raster cells and polygonise them, in the test."""
    cls = load_classification("flood_petabencana").to_unit("m")
    with rasterio.open(bank.raster_path(layer)) as ds:
        data = ds.read(1, masked=True).astype(float).filled(np.nan)
        codes = cls.class_index(data).astype(np.int32)
        geoms = [
            (shapely.geometry.shape(g), int(v))
            for g, v in shapes(codes, mask=codes >= 0, transform=ds.transform)
        ]
    return gpd.GeoDataFrame(
        {"k": [v for _, v in geoms]}, geometry=[g for g, _ in geoms], crs=4326
    ).to_crs(UTM)


def test_raster_hazard_buildings_roads_facilities(jakarta: Bank) -> None:
    bank = jakarta
    result = hazard_impact(
        bank,
        hazard="depth_2007",
        hazard_unit="m",
        level="kelurahan",
        buildings="buildings",
        building_type_field="TYPE",
        roads="roads",
        facilities=["hospitals", "schools"],
    )
    s = result.record.summary
    keys = list(load_classification("flood_petabencana").keys)
    assert s["hazard_kind"] == "raster"

    # Buildings: representative point sampled on the raster.
    bld = bank.read_layer("buildings").reset_index(drop=True)
    pts = bld.geometry.representative_point()
    k = _sample_classes(bank, "depth_2007", pts, "m")
    kel = bank.read_layer("admin_units", where={"level": "kelurahan"})
    inside = gpd.sjoin(gpd.GeoDataFrame(geometry=pts, crs=4326), kel, predicate="intersects")
    in_unit = np.zeros(len(pts), dtype=bool)
    in_unit[np.unique(inside.index.to_numpy())] = True
    expected = {key: int(((k == i) & in_unit).sum()) for i, key in enumerate(keys)}
    assert s["buildings_by_class"] == expected
    assert s["buildings_affected"] == sum(expected.values()) > 500
    by_type = s["buildings_by_type"]
    assert sum(sum(v.values()) for v in by_type.values()) == s["buildings_affected"]
    assert "Residential" in by_type

    # Roads: independent geopandas overlay of roads x polygonised classes x kelurahan.
    roads = bank.read_layer("roads").to_crs(UTM)
    zones = _zones_gdf(bank, "depth_2007")
    cut = gpd.overlay(roads[["TYPE", "geometry"]], zones, how="intersection", keep_geom_type=True)
    cut = gpd.overlay(
        cut, kel[["unit_id", "geometry"]].to_crs(UTM), how="intersection", keep_geom_type=True
    )
    cut["len"] = cut.length
    for i, key in enumerate(keys):
        want = cut.loc[cut["k"] == i, "len"].sum() / 1000
        assert s["roads_km_by_class"].get(key, 0.0) == pytest.approx(want, rel=1e-6, abs=1e-6)
    assert s["roads_km"] > 100
    rows = result.results
    per_unit = (
        rows[(rows["exposure"] == "roads:residential") & (rows["metric"] == "length_m")]
        .groupby("unit_id")["value"]
        .sum()
    )
    want_unit = cut[cut["TYPE"] == "residential"].groupby("unit_id")["len"].sum()
    pd.testing.assert_series_equal(
        per_unit.sort_index(), want_unit.sort_index(), check_names=False, rtol=1e-6
    )

    # Facilities: sampled points, listed by name per class.
    hospitals = bank.read_layer("hospitals").reset_index(drop=True)
    hk = _sample_classes(bank, "depth_2007", hospitals.geometry, "m")
    listed = s["facilities"]["hospitals"]
    for i, key in enumerate(keys):
        names = sorted(hospitals.loc[hk == i, "NAMOBJ"].astype(str))
        assert listed.get(key, []) == names
    assert s["facilities_affected"]["hospitals"] == int((hk >= 0).sum()) > 0

    # People too (areal weighting of the kelurahan population), displaced and needs.
    assert s["population_affected"] > 0 and s["displaced"] > 0
    assert {"name", "buildings", "roads_km", "facilities", "affected"} <= set(result.areas)

    stored = bank.analyses(kind="hazard_impact")
    assert [a.id for a in stored] == [result.record.id]
    assert result.record.inputs["hazard"]["kind"] == "raster"
    again, same = replay(bank, result.record.id)
    assert same and again.record.summary["buildings_affected"] == s["buildings_affected"]


def test_polygon_hazard_roads_by_class_and_landcover(jakarta: Bank, shared: Path,
                                                     tmp_path: Path) -> None:  # fmt: skip
    """Real 2007 flooded-RW polygons x roads; a synthetic land-cover layer (documented)."""
    bank = jakarta
    flooded = gpd.read_file(
        shared / "jakarta/flood-inasafe-2007-hkv/Jakarta_RW_2007flood.geojson", bbox=BOX
    )
    flooded["wet"] = "wet"
    bank.write_layer("flood_2007_rw", flooded, LayerMeta(theme="hazard"))
    wet = tmp_path / "wet.toml"
    wet.write_text(
        'key = "wet_dry"\ntitle_id = "Basah"\ntitle_en = "Wet"\nhazard = "flood"\n'
        'kind = "categorical"\nsource = "test"\n[[classes]]\nkey = "wet"\n'
        'label_id = "Tergenang"\nlabel_en = "Wet"\nvalue = "wet"\ndisplacement_rate = 0.01\n'
    )
    # Synthetic land cover (no OSM landuse in the shared data): four quadrants of BOX,
    # two of them "residential", one "commercial", one "green".
    x0, y0, x1, y1 = BOX
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    landcover = gpd.GeoDataFrame(
        {"landuse": ["residential", "commercial", "green", "residential"]},
        geometry=[
            shapely.box(x0, y0, xm, ym),
            shapely.box(xm, y0, x1, ym),
            shapely.box(x0, ym, xm, y1),
            shapely.box(xm, ym, x1, y1),
        ],
        crs=4326,
    )
    bank.write_layer("landcover", landcover, LayerMeta(theme="exposure", synthetic=True))
    result = hazard_impact(
        bank,
        hazard="flood_2007_rw",
        class_field="wet",
        classification=wet,
        level="kelurahan",
        population=False,
        roads="roads",
        landcover="landcover",
        landcover_field="landuse",
    )
    s = result.record.summary
    assert s["hazard_kind"] == "vector" and s["road_class_field"] == "TYPE"

    kel = bank.read_layer("admin_units", where={"level": "kelurahan"})[["unit_id", "geometry"]]
    zone = gpd.GeoDataFrame(
        geometry=[
            shapely.union_all(
                shapely.make_valid(bank.read_layer("flood_2007_rw").to_crs(UTM).geometry.to_numpy())
            )
        ],
        crs=UTM,
    )
    roads = bank.read_layer("roads").to_crs(UTM)[["TYPE", "geometry"]]
    cut = gpd.overlay(roads, zone, how="intersection", keep_geom_type=True)
    cut = gpd.overlay(cut, kel.to_crs(UTM), how="intersection", keep_geom_type=True)
    cut["len"] = cut.length
    want = cut.groupby("TYPE")["len"].sum() / 1000
    got = {t: v["wet"] for t, v in s["roads_km_by_road_class"].items()}
    assert set(got) == set(want.index)
    for t, km in got.items():
        assert km == pytest.approx(want[t], rel=1e-6)
    # Per unit and road class in the long results.
    rows = result.results
    prim = rows[rows["exposure"] == "roads:primary"].set_index("unit_id")["value"].sort_index()
    want_prim = cut[cut["TYPE"] == "primary"].groupby("unit_id")["len"].sum().sort_index()
    pd.testing.assert_series_equal(prim, want_prim, check_names=False, rtol=1e-6)

    lc = gpd.overlay(landcover.to_crs(UTM), zone, how="intersection")
    lc = gpd.overlay(lc, kel.to_crs(UTM), how="intersection")
    lc["ha"] = lc.area / 1e4
    want_lc = lc.groupby("landuse")["ha"].sum()
    for value, per in s["landcover_ha_by_class"].items():
        assert per["wet"] == pytest.approx(want_lc[value], rel=1e-6)
    assert s["landcover_ha"] == pytest.approx(want_lc.sum(), rel=1e-6)
    m2 = rows[rows["exposure"] == "landcover"]["value"].sum()
    assert m2 / 1e4 == pytest.approx(s["landcover_ha"])
    assert "population_affected" not in s
    _, same = replay(bank, result.record.id)
    assert same


def test_bad_inputs_give_clear_errors_and_no_record(jakarta: Bank, tmp_path: Path,
                                                    shared: Path) -> None:  # fmt: skip
    bank = jakarta
    hkv = shared / "jakarta/flood-inasafe-2007-hkv/Flood_Current_Depth_Jakarta_geographic.asc"
    # A raster without CRS: the bank refuses it, and the engine refuses the file.
    bare = _clip_raster(hkv, tmp_path / "bare.tif", crs=None)
    with pytest.raises(ImportError_, match="no CRS"):
        bank.register_raster("bare", bare)
    with pytest.raises(InputError, match="no CRS") as err:
        hazard_zones_from_raster(bare, load_classification("flood_petabencana").to_unit("m"))
    assert err.value.message_id and err.value.hint_id
    # A hazard far from Jakarta.
    far = tmp_path / "far.tif"
    _clip_raster(hkv, far)
    with rasterio.open(far, "r+") as ds:
        ds.transform = ds.transform @ rasterio.Affine.translation(20000, 0)
    bank.register_raster("far", far)
    with pytest.raises(InputError, match="does not overlap"):
        hazard_impact(bank, hazard="far", hazard_unit="m", buildings="buildings")
    # An empty exposure layer, an exposure outside the hazard, no exposure at all.
    empty = bank.read_layer("roads").iloc[:0]
    bank.write_layer("no_roads", empty)
    with pytest.raises(InputError, match="is empty"):
        hazard_impact(bank, hazard="depth_2007", hazard_unit="m", roads="no_roads")
    elsewhere = bank.read_layer("schools")
    elsewhere["geometry"] = elsewhere.geometry.translate(1.0, 0)
    bank.write_layer("schools_elsewhere", elsewhere)
    with pytest.raises(InputError, match="does not overlap hazard"):
        hazard_impact(bank, hazard="depth_2007", hazard_unit="m", facilities=["schools_elsewhere"])
    with pytest.raises(InputError, match="no exposure"):
        hazard_impact(bank, hazard="depth_2007", hazard_unit="m", population=False)
    with pytest.raises(InputError, match="no column"):
        hazard_impact(bank, hazard="depth_2007", hazard_unit="m", roads="roads",
                      road_class_field="nope")  # fmt: skip
    with pytest.raises(InputError, match="class field"):
        hazard_impact(bank, hazard="depth_2007", hazard_unit="m", landcover="roads")
    # A classification in MMI cannot be converted to the raster's metres.
    with pytest.raises(InputError, match="cannot convert"):
        hazard_impact(bank, hazard="depth_2007", classification="earthquake_mmi_3class",
                      hazard_unit="m", buildings="buildings")  # fmt: skip
    assert bank.analyses() == []


def test_subsidence_points_to_classes_and_impact(bank: Bank, shared: Path,
                                                 tmp_path: Path) -> None:  # fmt: skip
    """Synthetic subsidence points (no subsidence data in shared): rates rising northward,
    0-25 cm/yr, the range reported for Jakarta (Abidin et al. 2011)."""
    import_jakarta(bank, shared / "jakarta")
    kel = bank.read_layer("admin_units", where={"level": "kelurahan"})
    rng = np.random.default_rng(3)
    pts = kel.geometry.representative_point().sample(60, random_state=1)
    north = (pts.y - pts.y.min()) / (pts.y.max() - pts.y.min())
    rate = -(north * 25 + rng.uniform(-2, 2, len(pts)))  # vertical velocity: negative = down
    frame = gpd.GeoDataFrame({"velocity": rate.round(2).to_numpy()}, geometry=pts.to_numpy(),
                             crs=4326)  # fmt: skip
    bank.write_layer("gps_subsidence", frame, LayerMeta(theme="hazard", synthetic=True))

    cls = classification_from_layer(
        bank, "gps_subsidence", field="velocity", invert=True, n_classes=3, floor=0.0
    )
    sinking = -frame["velocity"]
    q = np.quantile(sinking[sinking > 0], [1 / 3, 2 / 3])
    assert [c.max for c in cls.classes[:2]] == pytest.approx(list(q), rel=1e-5)
    assert cls.classes[0].min == 0.0 and cls.classes[-1].max is None
    assert cls.hazard == "subsidence" and cls.keys == ("low", "medium", "high")
    again = load_classification_from_toml(cls.to_toml(), tmp_path)
    assert again == cls

    version = subsidence_zones(
        bank, "gps_subsidence", rate_field="velocity", out_layer="subsidence_zones", invert=True
    )
    zones = bank.read_layer("subsidence_zones")
    assert version.feature_count == len(zones) == 60
    # Each Thiessen cell holds its own point and carries its rate.
    joined = gpd.sjoin(frame, zones, predicate="within")
    assert len(joined) == 60
    assert np.allclose(-joined["velocity"], joined["rate"])
    area = kel.to_crs(UTM).union_all().area
    assert zones.to_crs(UTM).area.sum() == pytest.approx(area, rel=1e-3)

    result = hazard_impact(bank, hazard="subsidence_zones", depth_field="rate",
                           classification=cls, level="kelurahan")  # fmt: skip
    s = result.record.summary
    by_class = s["affected_by_class"]
    total = pd.to_numeric(kel["population"], errors="coerce").sum()
    # Zones cover the whole area; only cells at or below the floor are outside classes.
    dry = zones[zones["rate"] <= 0]
    assert sum(by_class.values()) <= total * (1 + 1e-9)
    if dry.empty:
        assert sum(by_class.values()) == pytest.approx(total, rel=1e-3)
    assert s["displaced"] == 0  # subsidence displaces nobody by itself (rates 0)
    _, same = replay(bank, result.record.id)
    assert same

    # Too few values for the classes, an unknown method; generic 3-class polygons.
    with pytest.raises(InputError, match="distinct"):
        classification_from_data([1.0, 1.0, 1.0], n_classes=3)
    with pytest.raises(InputError, match="method"):
        classification_from_data([1.0, 2.0, 3.0], method="jenks")  # type: ignore[arg-type]
    generic = frame.copy()
    generic["geometry"] = zones.geometry.to_numpy()[: len(generic)]
    generic["code"] = np.where(-frame["velocity"] > 15, 3, np.where(-frame["velocity"] > 5, 2, 1))
    bank.write_layer("generic_zones", generic)
    g = hazard_impact(bank, hazard="generic_zones", class_field="code",
                      classification="generic_3class", save=False)  # fmt: skip
    gs = g.record.summary
    # Generic classes: everyone in medium and high is displaced (InaSAFE 4+ rates).
    assert gs["displaced"] == pytest.approx(
        gs["affected_by_class"]["medium"] + gs["affected_by_class"]["high"]
    )


def load_classification_from_toml(text: str, tmp_path: Path) -> object:
    path = tmp_path / "cls.toml"
    path.write_text(text, encoding="utf-8")
    return load_classification(path)


def test_risk_index_is_an_analysis_record(bank: Bank) -> None:
    from tangguh.demo import build_city, load_city
    from tangguh.risk.index import risk_index

    load_city(bank, build_city("small", seed=0))
    units = bank.read_layer("admin_units")
    minx, miny, maxx, maxy = units.total_bounds
    w, h = maxx - minx, maxy - miny
    ids = []
    for name, box in (
        ("flood_a", (minx, miny, minx + 0.7 * w, miny + 0.6 * h)),
        ("flood_b", (minx + 0.3 * w, miny + 0.4 * h, maxx, maxy)),
    ):
        bank.write_layer(
            name, gpd.GeoDataFrame({"depth_cm": [80.0]}, geometry=[shapely.box(*box)], crs=4326)
        )
        ids.append(
            flood_impact(
                bank, hazard=name, level="kelurahan", depth_field="depth_cm", buildings=None
            ).record.id
        )
    with pytest.raises(InputError):
        risk_index(bank, analyses=ids, weights={"hazard": -1})
    assert bank.analyses(kind="risk_index") == []
    result = risk_index(bank, analyses=ids, weights={"vulnerability": 0}, classes=3)
    assert result.record is not None
    stored = bank.analyses(kind="risk_index")
    assert [r.id for r in stored] == [result.record.id]
    record, rows = bank.analysis(result.record.id)
    assert record.parameters["analyses"] == ids and record.inputs["admin_units"]["version"] >= 1
    ranks = rows[rows["metric"] == "rank"].set_index("unit_id")["value"].sort_index()
    table = result.table.set_index("unit_id")["rank"].dropna().astype(float).sort_index()
    pd.testing.assert_series_equal(ranks, table, check_names=False)
    assert record.summary["layer_version"] == result.version.version  # type: ignore[union-attr]
    again, same = replay(bank, result.record.id)
    assert same and again.record.kind == "risk_index"
    # Replay recomputes without writing the layer again.
    assert len(bank.history("risk_index")) == 1


def test_cli_exposures_classify_subsidence_replay(tmp_path: Path, shared: Path) -> None:
    from tangguh.cli.main import app

    runner = CliRunner()
    path = tmp_path / "bank.gpkg"
    with open_bank(path) as b:
        import_jakarta(b, shared / "jakarta")
        hkv = shared / "jakarta/flood-inasafe-2007-hkv/Flood_Current_Depth_Jakarta_geographic.asc"
        b.register_raster("depth_2007", _clip_raster(hkv, tmp_path / "d.tif"))
        b.write_layer("roads", _clip(shared / "jakarta/osm-inasafe/jakarta_roads.geojson"))
        b.write_layer(
            "hospitals", _clip(shared / "jakarta/facilities-petadasar/rumah-sakit.geojson")
        )
    out = runner.invoke(
        app,
        ["impact", "exposures", "--hazard", "depth_2007", "--hazard-unit", "m", "--roads",
         "roads", "--facility", "hospitals", "--no-population", "--bank", str(path),
         "--csv", str(tmp_path / "areas.csv"), "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)["record"]
    assert record["kind"] == "hazard_impact" and record["summary"]["roads_km"] > 0
    assert {"name", "roads_km", "facilities"} <= set(pd.read_csv(tmp_path / "areas.csv"))
    again = runner.invoke(app, ["impact", "replay", record["id"], "--bank", str(path), "--json"])
    assert json.loads(again.stdout)["identical"] is True
    text = runner.invoke(
        app, ["impact", "exposures", "--hazard", "depth_2007", "--hazard-unit", "m",
              "--roads", "roads", "--no-save", "--bank", str(path)],
    )  # fmt: skip
    assert text.exit_code == 0 and "roads km / jalan km" in text.output
    bad = runner.invoke(
        app, ["impact", "exposures", "--hazard", "depth_2007", "--no-population",
              "--bank", str(path)],
    )  # fmt: skip
    assert bad.exit_code != 0 and "tidak ada keterpaparan" in bad.output

    toml = tmp_path / "depth_classes.toml"
    made = runner.invoke(
        app, ["impact", "classify-data", "depth_2007", "--to", str(toml), "--floor", "0",
              "--hazard-type", "flood", "--unit", "m", "--bank", str(path)],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    cls = load_classification(toml)
    assert cls.hazard == "flood" and len(cls.classes) == 3 and cls.classes[0].min == 0.0

    with open_bank(path) as b:
        kel = b.read_layer("admin_units", where={"level": "kelurahan"}).iloc[:30]
        pts = gpd.GeoDataFrame(
            {"rate": np.linspace(1, 20, 30)},
            geometry=kel.geometry.representative_point().to_numpy(),
            crs=4326,
        )
        b.write_layer("gps", pts)  # fmt: skip
    zones = runner.invoke(
        app, ["impact", "subsidence-zones", "gps", "--rate-field", "rate", "--out", "sz",
              "--bank", str(path), "--json"],
    )  # fmt: skip
    assert zones.exit_code == 0, zones.output
    assert json.loads(zones.stdout)["feature_count"] == 30
    with open_bank(path) as b:
        assert isinstance(b.read_layer("sz"), gpd.GeoDataFrame)
        assert [a.kind for a in b.analyses()] == ["hazard_impact"]
    with pytest.raises(TangguhError, match="distinct") as err:
        classification_from_data([np.nan], n_classes=2)
    assert err.value.message_id and err.value.hint_id
