"""`tangguh demo` end to end: the bank GDAL opens has the layers and counts Tangguh lists."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio
from typer.testing import CliRunner

from tangguh.bank import open_bank
from tangguh.cli.main import app

runner = CliRunner()


def test_demo_small_gpkg_matches_gdal(tmp_path: Path) -> None:
    bank = tmp_path / "demo.gpkg"
    result = runner.invoke(app, ["demo", "--size", "small", "--bank", str(bank), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["city"]["synthetic"] is True
    assert summary["observations"] > 8_760  # a year of hourly readings, several stations
    listed = runner.invoke(app, ["layers", "--bank", str(bank), "--json"])
    layers = {x["id"]: x["feature_count"] for x in json.loads(listed.stdout)}
    gdal = {
        str(name): pyogrio.read_info(bank, layer=str(name))["features"]
        for name, _ in pyogrio.list_layers(bank)
    }
    assert gdal == layers
    assert {
        "admin_units",
        "buildings",
        "roads",
        "shelters",
        "hospitals",
        "schools",
        "markets",
        "transit_stops",
        "water_service_zones",
        "tps",
        "rivers",
    } <= set(layers)
    for info in json.loads(listed.stdout):
        assert info["synthetic"] is True and info["title_id"] and info["title_en"]
    frame = pyogrio.read_dataframe(bank, layer="admin_units")
    assert set(frame["level"]) >= {"province", "kota", "kecamatan", "kelurahan", "rw"}


def test_demo_is_deterministic_and_loads_into_postgis(tmp_path: Path, bank_url: str) -> None:
    from tangguh.demo import build_city, load_city

    city = build_city("small", seed=7)
    with open_bank(bank_url) as bank:
        load_city(bank, city)
        counts = {i.id: i.feature_count for i in bank.layers()}
        assert counts == {k: len(v) for k, v in city.layers.items()}
        gauges = bank.stations(kind="river_gauge")
        assert len(gauges) >= 3
        first = gauges["station_id"].iloc[0]
        obs = bank.observations(first, parameter="water_level")
        assert len(obs) == 366 * 24  # 2024 is a leap year
        units = bank.read_layer("admin_units")
        prov = units.loc[units["level"] == "province", "population"].iloc[0]
        assert prov == units.loc[units["level"] == "rw", "population"].sum()
