"""Flood cascade (issue 7 §6): unusable stops, SDG 11.2.1 drop per kelurahan, RWs losing
walking access to a hospital or a market; demo city on both backends, real Jakarta data."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from conftest import drop_pg_schema, new_pg_url
from tangguh.bank import Bank, open_bank
from tangguh.bank.base import LayerMeta
from tangguh.cli.main import app
from tangguh.connectivity import evacuate as ev
from tangguh.connectivity.cascade import flood_cascade
from tangguh.connectivity.sdg import sdg_11_2_1
from tangguh.demo import build_city, load_city

runner = CliRunner()


def _demo(bank: Bank) -> None:
    load_city(bank, build_city("small"))
    units = bank.read_layer("admin_units")
    rws = units[units["level"] == "rw"].sort_values("unit_id")
    bank.write_layer("flood_test", rws.iloc[::4][["unit_id", "geometry"]], LayerMeta())


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def demo_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One flooded demo city per backend for the module."""
    if request.param == "gpkg":
        url = str(tmp_path_factory.mktemp("cascade") / "bank.gpkg")
    else:
        url = new_pg_url() + f"&rasters={tmp_path_factory.mktemp('cascade_r')}"
    try:
        with open_bank(url) as b:
            _demo(b)
        yield url
    finally:
        if request.param != "gpkg":
            drop_pg_schema(url)


def test_demo_cascade_drops_and_losses(demo_url: str) -> None:
    with open_bank(demo_url) as bank:
        _check_demo(bank)


def _check_demo(bank: Bank) -> None:
    scenario = ev.flood_from_layer(bank, "flood_test")
    result = flood_cascade(bank, scenario)
    s = result.summary
    flood = shapely.union_all(np.asarray(scenario.areas.geometry.values, dtype=object))
    stops = bank.read_layer("transit_stops").set_index("stop_id")
    wet = result.stops[result.stops["reason"] == "flooded"]["stop_id"]
    assert len(wet) == s["stops_flooded"] > 0
    assert all(shapely.intersects(stops.geometry[sid], flood) for sid in wet)
    dry = result.stops[result.stops["usable"]]["stop_id"]
    assert not any(shapely.intersects(stops.geometry[sid], flood) for sid in dry)
    # "Before" is the SDG 11.2.1 of the sdg module, per kelurahan.
    plain = sdg_11_2_1(bank, levels=("kelurahan",)).at("kelurahan").set_index("unit_id")
    kel = result.sdg.set_index("unit_id")
    np.testing.assert_allclose(
        kel["before_pct"], 100 * plain["share"].reindex(kel.index), atol=0.01
    )
    assert (kel["drop_pct"] >= -1e-9).all() and (kel["drop_pct"] > 0).sum() > 0
    assert s["sdg_after_pct"] < s["sdg_before_pct"]
    # Fully flooded RWs are not served after (their people are evacuees).
    rw = result.rw.set_index("unit_id")
    flooded_rw = rw[rw["flooded_people"] >= rw["population"]]
    assert len(flooded_rw) and (flooded_rw["after_pct"] == 0).all()
    lost = rw[rw["loses_hospital"]]
    assert (lost["hospital_before_pct"] >= 50).all() and (lost["hospital_after_pct"] < 50).all()
    assert s["rw_losing_hospital"] == len(lost) > 0
    fac = result.facilities
    assert set(fac["kind"]) == {"hospital", "market"}
    assert (fac.loc[fac["reason"] == "flooded", "usable"] == False).all()  # noqa: E712


def test_cascade_cli_and_bad_walk(demo_url: str) -> None:
    bank_url = demo_url
    result = runner.invoke(
        app, ["transit", "cascade", "--flood", "flood_test", "--json", "--bank", bank_url]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["flood"]["key"].startswith("layer:flood_test@")
    assert len(data["sdg"]) == 12 and data["summary"]["stops_unusable"] > 0
    text = runner.invoke(app, ["transit", "cascade", "--flood", "flood_test", "--bank", bank_url])
    assert text.exit_code == 0 and "Penurunan per kelurahan" in text.output
    bad = runner.invoke(
        app,
        ["transit", "cascade", "--flood", "flood_test", "--market-walk", "-5", "--bank", bank_url],
    )
    assert bad.exit_code == 2 and "market_walk must be a positive number" in bad.output


def _real_stops(shared: Path) -> gpd.GeoDataFrame:
    with zipfile.ZipFile(
        shared / "transit-transjakarta-gtfs" / "transjakarta_gtfs_2024-06.zip"
    ) as z:
        name = next(n for n in z.namelist() if n.endswith("stops.txt"))
        with z.open(name) as f:
            stops = pd.read_csv(f, dtype={"stop_id": str})
    stops = stops.dropna(subset=["stop_lon", "stop_lat"])
    return gpd.GeoDataFrame(
        {
            "stop_id": stops["stop_id"].to_numpy(),
            "name": stops["stop_name"].to_numpy(),
            "mode": "bus",
            "capacity": "low",
        },
        geometry=gpd.points_from_xy(stops["stop_lon"], stops["stop_lat"]),
        crs="EPSG:4326",
    )


def _read(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path)
    return frame.set_crs("EPSG:4326", allow_override=True)


def test_real_jakarta_2007_flood_cascade(tmp_path: Path, shared: Path) -> None:
    from tangguh.admin.store import import_jakarta

    j = shared / "jakarta"
    roads = _read(j / "osm-inasafe" / "jakarta_roads.geojson")
    flood = _read(j / "flood-inasafe-2007-hkv" / "Jakarta_RW_2007flood.geojson")
    hospitals = _read(j / "facilities-petadasar" / "rumah-sakit.geojson")
    markets = _read(j / "facilities-petadasar" / "pusat-perbelanjaan.geojson")
    stops = _real_stops(j)
    with open_bank(str(tmp_path / "jakarta.gpkg")) as bank:
        import_jakarta(bank, j)
        bank.write_layer("roads", roads, LayerMeta(theme="mobility"))
        bank.write_layer("flood_2007", flood, LayerMeta(theme="hazard"))
        bank.write_layer("hospitals", hospitals, LayerMeta(theme="facilities"))
        bank.write_layer("markets", markets, LayerMeta(theme="facilities"))
        scenario = ev.flood_from_layer(bank, "flood_2007", field="FLOODPRONE")
        assert len(scenario.areas) == 1009
        result = flood_cascade(bank, scenario, stops=stops)
    s = result.summary
    kel = result.sdg
    assert len(kel) > 250
    assert 0.2 < s["stops_unusable"] / s["stops"] < 0.6
    assert 20 < s["sdg_before_pct"] < 95 and s["sdg_after_pct"] < s["sdg_before_pct"]
    assert (kel["drop_pct"] >= -1e-9).all() and (kel["drop_pct"] <= 100).all()
    share = kel["flooded_people"] / kel["population"].replace(0, np.nan)
    wet = kel[share > 0.5]
    dry = kel[share == 0]
    assert len(wet) > 20 and len(dry) > 20
    # Kelurahan mostly under water lose far more access than dry ones.
    wet_mean, dry_mean = wet["drop_pct"].mean(), dry["drop_pct"].mean()
    assert wet_mean > 20 and wet_mean > 2 * dry_mean and dry["drop_pct"].median() < 15, (
        wet_mean,
        dry_mean,
    )
    rw = result.rw
    assert 0 < s["rw_losing_hospital"] < len(rw) / 2
    assert 0 < s["rw_losing_market"] < len(rw) / 2
    assert s["hospitals_unusable"] > 0 and s["markets_unusable"] > 0
