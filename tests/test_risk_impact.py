"""Flood impact engine: checked against an independent geopandas computation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.bank import Bank, LayerMeta
from tangguh.demo import build_city, load_city
from tangguh.errors import InputError
from tangguh.risk import load_classification
from tangguh.risk.impact import flood_impact, replay


@pytest.fixture
def city_bank(bank: Bank) -> Bank:
    load_city(bank, build_city("small", seed=0))
    return bank


def _floods(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Three overlapping depth polygons over the city, in cm."""
    minx, miny, maxx, maxy = units.total_bounds
    w, h = maxx - minx, maxy - miny
    boxes = [
        shapely.box(minx, miny, minx + 0.6 * w, miny + 0.5 * h),
        shapely.box(minx + 0.3 * w, miny + 0.2 * h, minx + 0.8 * w, miny + 0.7 * h),
        shapely.box(minx + 0.1 * w, miny + 0.6 * h, minx + 0.4 * w, maxy),
    ]
    return gpd.GeoDataFrame({"depth_cm": [40.0, 120.0, 5.0]}, geometry=boxes, crs="EPSG:4326")


def _independent_affected(units: gpd.GeoDataFrame, floods: gpd.GeoDataFrame, level: str) -> float:
    """Population in flooded area of each unit (any class), areal weighting in UTM 48S."""
    zone = shapely.union_all(floods.to_crs(32748).geometry.to_numpy())
    at = units[units["level"] == level].to_crs(32748)
    share = shapely.area(shapely.intersection(at.geometry.to_numpy(), zone)) / at.area
    return float((share * at["population"]).sum())


def test_flood_impact_matches_an_independent_computation(city_bank: Bank) -> None:
    units = city_bank.read_layer("admin_units")
    floods = _floods(units)
    city_bank.write_layer("flood_scenario", floods, LayerMeta(theme="hazard"))
    result = flood_impact(
        city_bank,
        hazard="flood_scenario",
        level="rw",
        depth_field="depth_cm",
        buildings="buildings",
    )

    # Independent: most severe class wins, areal weighting of RW population in UTM 48S.
    cls = load_classification("flood_petabencana")
    rw = units[units["level"] == "rw"].to_crs(32748)
    fl = floods.to_crs(32748)
    k = cls.class_index(fl["depth_cm"].to_numpy())
    high = fl.geometry.iloc[1]
    low = shapely.difference(fl.geometry.iloc[0], high)
    caution = shapely.difference(fl.geometry.iloc[2], shapely.union(high, low))
    zones = {cls.keys[k[1]]: high, cls.keys[k[0]]: low, cls.keys[k[2]]: caution}
    expected_total = 0.0
    expected_displaced = 0.0
    for key, zone in zones.items():
        share = shapely.area(shapely.intersection(rw.geometry.to_numpy(), zone)) / rw.area
        aff = (share * rw["population"]).sum()
        expected_total += aff
        expected_displaced += aff * cls.get(key).displacement_rate
    summary = result.record.summary
    assert summary["population_affected"] == pytest.approx(expected_total, rel=1e-6)
    assert summary["displaced"] == pytest.approx(expected_displaced, rel=1e-6)
    assert summary["population_method"] == "rw population as stored"

    bld = city_bank.read_layer("buildings")
    pts = gpd.GeoDataFrame(geometry=bld.geometry.representative_point(), crs=4326)
    inside = gpd.sjoin(pts, floods[floods["depth_cm"] > 0], predicate="within")
    assert summary["buildings_affected"] == inside.index.nunique()

    # Needs follow BNPB Perka 7/2008 from the displaced counts per RW.
    rice = result.needs["rice"].sum() if "rice" in result.needs else None
    assert rice is not None and rice == pytest.approx(
        2.8 * result.areas["displaced"].sum(), rel=0.01, abs=3
    )
    assert (result.areas["affected"] > 0).all()

    stored = city_bank.analyses(kind="flood_impact")
    assert [a.id for a in stored] == [result.record.id]
    again, same = replay(city_bank, result.record.id)
    assert same and again.record.summary["displaced"] == pytest.approx(summary["displaced"])


def test_kelurahan_level_and_bad_inputs(city_bank: Bank, tmp_path: Path) -> None:
    units = city_bank.read_layer("admin_units")
    floods = _floods(units)
    city_bank.write_layer("flood_scenario", floods, LayerMeta(theme="hazard"))
    kel = flood_impact(
        city_bank,
        hazard="flood_scenario",
        level="kelurahan",
        depth_field="depth_cm",
        buildings=None,
        save=False,
    )
    rw = flood_impact(
        city_bank,
        hazard="flood_scenario",
        level="rw",
        depth_field="depth_cm",
        buildings=None,
        save=False,
    )
    # Each level spreads its own population by area, so the two estimates differ a little
    # but both equal the independent areal computation at their level.
    for result, level in ((kel, "kelurahan"), (rw, "rw")):
        assert result.record.summary["population_affected"] == pytest.approx(
            _independent_affected(units, floods, level), rel=1e-6
        )
    assert city_bank.analyses() == []

    far = floods.copy()
    far["geometry"] = far.geometry.translate(5, 5)
    city_bank.write_layer("far_flood", far)
    with pytest.raises(InputError, match="does not overlap"):
        flood_impact(city_bank, hazard="far_flood", depth_field="depth_cm")
    with pytest.raises(InputError, match="exactly one"):
        flood_impact(city_bank, hazard="flood_scenario")
    with pytest.raises(InputError, match="no column"):
        flood_impact(city_bank, hazard="flood_scenario", depth_field="nope")
    bad = floods.assign(depth_cm=["deep", "1", "2"])
    city_bank.write_layer("bad_flood", bad)
    with pytest.raises(InputError, match="row 0"):
        flood_impact(city_bank, hazard="bad_flood", depth_field="depth_cm")
    assert city_bank.analyses() == []


def test_real_2007_flooded_rw_with_real_population(
    bank: Bank, shared: Path, tmp_path: Path
) -> None:
    from tangguh.admin.store import import_jakarta
    from tangguh.io import read_vector

    import_jakarta(bank, shared / "jakarta")
    flooded, _ = read_vector(shared / "jakarta/flood-inasafe-2007-hkv/Jakarta_RW_2007flood.shp")
    flooded["wet"] = "wet"
    bank.write_layer("flood_2007_rw", flooded, LayerMeta(theme="hazard"))
    wet_dry = tmp_path / "wet.toml"
    wet_dry.write_text(
        'key = "wet_dry"\ntitle_id = "Basah/kering"\ntitle_en = "Wet/dry"\n'
        'hazard = "flood"\nkind = "categorical"\nsource = "test: every flagged RW is wet; '
        'displacement rate chosen for the test"\n'
        '[[classes]]\nkey = "wet"\nlabel_id = "Tergenang"\nlabel_en = "Wet"\nvalue = "wet"\n'
        'displacement_rate = 0.01\ncolour = "#1f78b4"\n'
    )
    result = flood_impact(
        bank,
        hazard="flood_2007_rw",
        level="kelurahan",
        classification=wet_dry,
        class_field="wet",
        buildings=None,
    )
    summary = result.record.summary
    assert 100 < summary["units_affected"] <= 261
    total = load_total = float(
        bank.read_layer("admin_units", where={"level": "province"})["population"].iloc[0]
    )
    assert 0 < summary["population_affected"] < total == load_total
    assert summary["displaced"] == pytest.approx(summary["population_affected"] * 0.01)
    top = result.areas.iloc[0]
    assert top["affected"] == result.areas["affected"].max()
    assert np.isfinite(result.areas["displaced"]).all()
    assert isinstance(result.results, pd.DataFrame)


def test_impact_cli_flood_list_show_replay(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tangguh.bank import open_bank
    from tangguh.cli.main import app

    runner = CliRunner()
    path = tmp_path / "city.gpkg"
    with open_bank(path) as bank:
        load_city(bank, build_city("small", seed=1))
        bank.write_layer("flood_cli", _floods(bank.read_layer("admin_units")))
    out = runner.invoke(
        app,
        [
            "impact",
            "flood",
            "--hazard",
            "flood_cli",
            "--depth-field",
            "depth_cm",
            "--level",
            "kelurahan",
            "--bank",
            str(path),
            "--csv",
            str(tmp_path / "areas.csv"),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)["record"]
    assert record["level"] == "kelurahan" and record["summary"]["displaced"] > 0
    table = pd.read_csv(tmp_path / "areas.csv")
    assert {"name", "affected", "displaced", "rice"} <= set(table.columns)
    listed = json.loads(
        runner.invoke(app, ["impact", "list", "--bank", str(path), "--json"]).stdout
    )
    assert [r["id"] for r in listed] == [record["id"]]
    shown = runner.invoke(
        app,
        ["impact", "show", record["id"], "--bank", str(path), "--csv", str(tmp_path / "long.csv")],
    )
    assert shown.exit_code == 0 and len(pd.read_csv(tmp_path / "long.csv")) > 0
    again = json.loads(
        runner.invoke(app, ["impact", "replay", record["id"], "--bank", str(path), "--json"]).stdout
    )
    assert again["identical"] is True
    missing = runner.invoke(app, ["impact", "show", "nope", "--bank", str(path)])
    assert missing.exit_code == 4


def test_hkv_2007_depth_raster_over_population_per_kelurahan(bank: Bank, shared: Path) -> None:
    """Issue 3 'done when': the 2007 HKV rasters with the real kelurahan, counts and needs."""
    from tangguh.admin.store import import_jakarta
    from tangguh.risk.raster_impact import raster_flood_impact

    folder = shared / "jakarta/flood-inasafe-2007-hkv"
    import_jakarta(bank, shared / "jakarta")
    bank.register_raster(
        "flood_depth_2007",
        folder / "Flood_Current_Depth_Jakarta_geographic.asc",
        LayerMeta(theme="hazard"),
    )
    bank.register_raster(
        "population_hkv", folder / "Population_Jakarta_geographic.asc", LayerMeta(theme="exposure")
    )
    result = raster_flood_impact(
        bank,
        hazard="flood_depth_2007",
        exposure="population_hkv",
        level="kelurahan",
        hazard_unit="m",
        density=True,
        density_unit_km2=0.1,
    )
    s = result.record.summary
    # The HKV grid holds about 8.4-8.8 M people inside the mainland kelurahan (SOURCE.txt).
    assert 8.0e6 < s["population_total"] < 9.2e6
    by_class = s["affected_by_class"]
    assert sum(by_class.values()) == pytest.approx(s["population_affected"])
    assert s["population_affected"] + s["population_outside_classes"] == pytest.approx(
        s["population_total"], rel=1e-9
    )
    assert 1.0e6 < s["population_affected"] < 5.0e6
    rates = {c.key: c.displacement_rate for c in load_classification("flood_petabencana").classes}
    assert s["displaced"] == pytest.approx(sum(by_class[k] * rates[k] for k in by_class))
    assert result.needs["rice"].sum() == pytest.approx(2.8 * s["displaced"], rel=0.01, abs=300)
    assert 150 < s["units_affected"] <= 261
    _, same = replay(bank, result.record.id)
    assert same


def test_breakdowns_by_sex_and_age_from_dukcapil(bank: Bank, shared: Path) -> None:
    """RW get their kelurahan's Dukcapil shares; the groups add up to the affected."""
    from tangguh.admin.store import import_jakarta
    from tangguh.risk.raster_impact import raster_flood_impact

    folder = shared / "jakarta/flood-inasafe-2007-hkv"
    import_jakarta(bank, shared / "jakarta")
    bank.register_raster("depth", folder / "Flood_Current_Depth_Jakarta_geographic.asc")
    bank.register_raster("pop", folder / "Population_Jakarta_geographic.asc")
    result = raster_flood_impact(
        bank,
        hazard="depth",
        exposure="pop",
        level="rw",
        hazard_unit="m",
        density=True,
        density_unit_km2=0.1,
        save=False,
    )
    s = result.record.summary
    groups = s["affected_by_group"]
    # 8 kelurahan have no Dukcapil row (Tebet, Setia Budi): their people have no shares.
    sexes = groups["male"] + groups["female"]
    assert 0.9 * s["population_affected"] < sexes <= s["population_affected"] * (1 + 1e-9)
    ages = sum(v for k, v in groups.items() if k.startswith("age_"))
    assert ages == pytest.approx(sexes, rel=1e-9)
    assert 0.4 < groups["female"] / sexes < 0.6


def test_facilities_listed_by_class(city_bank: Bank) -> None:
    units = city_bank.read_layer("admin_units")
    floods = _floods(units)
    city_bank.write_layer("flood_scenario", floods, LayerMeta(theme="hazard"))
    result = flood_impact(
        city_bank,
        hazard="flood_scenario",
        depth_field="depth_cm",
        buildings=None,
        facilities=["schools", "hospitals"],
    )
    listed = result.record.summary["facilities"]
    schools = city_bank.read_layer("schools")
    pts = gpd.GeoDataFrame(geometry=schools.geometry.representative_point(), crs=4326)
    wet = gpd.sjoin(pts, floods[floods["depth_cm"] > 0], predicate="within")
    assert sum(len(v) for v in listed["schools"].values()) == wet.index.nunique()
    rows = result.results[result.results["exposure"] == "facility:schools"]
    assert rows["value"].sum() == wet.index.nunique()
    assert "facility:schools" in result.record.inputs
    _, same = replay(city_bank, result.record.id)
    assert same
