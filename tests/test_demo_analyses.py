"""The demo stores a first analysis for every operators' page (services, SDG, TOD,
evacuation), and `tangguh demo` reports them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tangguh.bank import Bank
from tangguh.cli.main import app
from tangguh.connectivity import evacuate, sdg
from tangguh.demo import build_city, load_city
from tangguh.demo.analyses import DEMO_FLOOD_LAYER, seed_demo_analyses
from tangguh.services import refresh


def test_seed_demo_analyses(bank: Bank) -> None:
    load_city(bank, build_city("small"))
    seeded = seed_demo_analyses(bank)
    # A coverage snapshot the services page can show.
    assert seeded.coverage_run and seeded.indicators > 10
    assert refresh.runs(bank)[0].run_id == seeded.coverage_run
    assert len(refresh.snapshot_times(bank)) == 1
    # SDG 11.2.1 stored as a run, with a plausible city share.
    assert seeded.sdg_run and [r["run_id"] for r in sdg.runs(bank)] == [seeded.sdg_run]
    assert seeded.sdg_share is not None and 0.0 < seeded.sdg_share < 1.0
    assert bank.has_layer("sdg_11_2_1_kelurahan") and bank.has_layer("tod_station_areas")
    # The flood scenario is a hazard layer; the plan never overfills a shelter.
    assert bank.layer(DEMO_FLOOD_LAYER).theme == "hazard"
    assert seeded.evacuation_plan is not None
    plan = evacuate.load_plan(bank, seeded.evacuation_plan)
    shelters = plan["shelters"]
    assert shelters and all(s["load"] <= s["capacity"] + 1e-6 for s in shelters)
    evac = seeded.evacuation
    assert evac["placed"] + evac["shortfall"] == evac["evacuees"] > 0
    assert bank.has_layer("evacuation_routes")
    assert all(info.synthetic for info in bank.layers())  # results of synthetic data


def test_demo_command_reports_the_analyses(tmp_path: Path) -> None:
    bank = tmp_path / "demo.gpkg"
    out = CliRunner().invoke(app, ["demo", "--bank", str(bank), "--no-serve", "--json"])
    assert out.exit_code == 0, out.output
    seeded = json.loads(out.stdout)["analyses"]
    assert seeded["coverage_run"] and seeded["sdg_run"] and seeded["evacuation_plan"]
    quick = CliRunner().invoke(
        app, ["demo", "--bank", str(tmp_path / "q.gpkg"), "--no-serve", "--no-analyses", "--json"]
    )
    assert quick.exit_code == 0 and json.loads(quick.stdout)["analyses"] is None
