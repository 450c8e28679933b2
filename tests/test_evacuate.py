"""Evacuation (issue 7 §5, §9): flood-avoiding routes, capacity-aware assignment, shortfall,
RWs without a safe route, bad shelter layers; Python API and CLI, both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from conftest import drop_pg_schema, new_pg_url
from tangguh.bank import Bank, open_bank
from tangguh.bank.base import LayerMeta
from tangguh.cli.main import app
from tangguh.connectivity import evacuate as ev
from tangguh.connectivity.tables.evacuate import tg_evac_plan, tg_evac_rw
from tangguh.demo import build_city, load_city
from tangguh.errors import InputError, NotFoundError

runner = CliRunner()


def _city(bank: Bank) -> gpd.GeoDataFrame:
    """The small demo city plus a flood layer of every fourth RW (with a depth column)."""
    load_city(bank, build_city("small"))
    units = bank.read_layer("admin_units")
    rws = units[units["level"] == "rw"].sort_values("unit_id")
    flood = rws.iloc[::4][["unit_id", "geometry"]].copy()
    flood["depth_cm"] = np.arange(len(flood), dtype=float) * 10.0
    bank.write_layer("flood_test", flood, LayerMeta(theme="hazard"))
    return flood


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def city_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One demo city per backend for the whole module (tests add layers with own names)."""
    if request.param == "gpkg":
        url = str(tmp_path_factory.mktemp("evac") / "bank.gpkg")
    else:
        url = new_pg_url() + f"&rasters={tmp_path_factory.mktemp('evac_r')}"
    try:
        with open_bank(url) as b:
            _city(b)
        yield url
    finally:
        if request.param != "gpkg":
            drop_pg_schema(url)


@pytest.fixture
def city(city_url: str) -> Iterator[Bank]:
    with open_bank(city_url) as b:
        yield b


def _write_shelters(bank: Bank, layer: str, frame: gpd.GeoDataFrame) -> None:
    bank.write_layer(layer, frame, LayerMeta(theme="facilities"))


def _plan_count(bank: Bank) -> int:
    with bank.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tg_evac_plan)).scalar() or 0)


def test_routes_avoid_the_flood_and_no_shelter_is_over_capacity(city: Bank) -> None:
    bank = city
    scenario = ev.flood_from_layer(bank, "flood_test")
    assert scenario.key.startswith("layer:flood_test@")
    plan = ev.plan_evacuation(bank, scenario, max_walk=4000.0)
    s = plan.summary
    assert s["routes"] > 0 and s["placed"] > 0 and s["edges_flooded"] > 0
    flood = shapely.union_all(np.asarray(scenario.areas.geometry.values, dtype=object))
    routes = ev.plan_routes(bank, plan.plan_id)
    assert len(routes) == s["routes"]
    for line in routes.geometry:
        xy = shapely.get_coordinates(line)
        # The first segment is the origin's own wade to the open street; after it the
        # route never touches the flood (streets touching it were removed).
        assert not shapely.intersects(shapely.linestrings(xy[1:]), flood)
    # Travel times follow the walking speed (1.0 m/s by default).
    np.testing.assert_allclose(
        routes["minutes"].to_numpy(float), routes["metres"].to_numpy(float) / 60.0, atol=0.051
    )
    sh = plan.shelters.set_index("shelter_id")
    assert (sh["load"] <= sh["capacity"]).all()
    assert (sh.loc[~sh["usable"], "load"] == 0).all()
    # Flooded shelters are listed unusable.
    assert (sh["reason"] == "flooded").sum() == s["shelters_flooded"] > 0
    load = routes.groupby("shelter_id")["people"].sum()
    assert (load <= sh["capacity"].reindex(load.index)).all()
    # Stored: the plan record and its rows, read back through the public API.
    stored = ev.load_plan(bank, plan.plan_id)
    assert stored["plan_id"] == plan.plan_id and stored["summary"] == s
    assert sum(r["placed"] for r in stored["rw"]) == s["placed"]
    assert bank.layer(ev.ROUTES_LAYER).current_version == stored["routes_version"]


def test_shortfall_is_people_minus_places_when_capacity_is_short(city: Bank) -> None:
    bank = city
    count = _plan_count(bank)
    scenario = ev.flood_from_layer(bank, "flood_test")
    # Every RW walks, shelters reachable from anywhere: capacity (about 1,500) is short.
    plan = ev.plan_evacuation(bank, scenario, demand="all", max_walk=30_000, save=False)
    s = plan.summary
    assert s["evacuees"] == pytest.approx(200_000, abs=60)
    assert s["placed"] == s["capacity_usable"]  # every usable place is filled
    assert plan.rw["shortfall"].sum() == s["evacuees"] - s["capacity_usable"] == s["shortfall"]
    assert (plan.rw["placed"] + plan.rw["shortfall"] == plan.rw["evacuees"]).all()
    assert plan.rw.loc[plan.rw["shortfall"] > 0, "reason"].notna().all()
    assert "shelters_full" in set(plan.rw["reason"])
    assert _plan_count(bank) == count  # save=False


def test_solver_places_most_people_then_fewest_metres() -> None:
    # Origin 0 (10 people) is 1 m from shelter 0 and 2 m from shelter 1; origin 1
    # (10 people) reaches only shelter 0, 1.5 m away. Both shelters hold 10.
    demand, capacity = [10, 10], [10, 10]
    o, s, d = [0, 0, 1], [0, 1, 0], [1.0, 2.0, 1.5]
    best = ev.solve_assignment(demand, capacity, o, s, d)
    assert best.tolist() == [0, 10, 10]  # all 20 placed, 35 person-metres
    greedy = ev.greedy_assignment(demand, capacity, o, s, d)
    assert greedy.tolist() == [10, 0, 0]  # nearest first strands origin 1
    # Splitting an RW over shelters when one is too small.
    split = ev.solve_assignment([15], [10, 10], [0, 0], [0, 1], [5.0, 9.0])
    assert split.tolist() == [10, 5]


def test_isolated_rw_is_listed_with_its_reason(city: Bank) -> None:
    bank = city
    units = bank.read_layer("admin_units")
    rw = units[units["unit_id"] == "rw:3172010003004"]
    ring = rw.copy()
    ring["geometry"] = rw.to_crs(32748).buffer(150).to_crs(4326).to_numpy()
    bank.write_layer("flood_island", ring[["unit_id", "geometry"]], LayerMeta(theme="hazard"))
    scenario = ev.flood_from_layer(bank, "flood_island")
    # The wade out of the water is longer than 60 m: no open street.
    stuck = ev.plan_evacuation(bank, scenario, max_offset=60.0, save=False)
    row = stuck.rw.set_index("unit_id").loc["rw:3172010003004"]
    assert row["reason"] == "no_open_street" and row["placed"] == 0
    assert "rw:3172010003004" in set(stuck.without_route["unit_id"])
    # It can wade out, but no shelter is within 100 m of walk.
    far = ev.plan_evacuation(bank, scenario, max_walk=100.0, save=False)
    row = far.rw.set_index("unit_id").loc["rw:3172010003004"]
    assert row["reason"] == "beyond_limit" and row["shortfall"] == row["evacuees"] > 0
    # Every reachable shelter full: capacities 0.
    sh = bank.read_layer("shelters")
    sh["capacity"] = 0
    _write_shelters(bank, "shelters_full", sh)
    full = ev.plan_evacuation(bank, scenario, shelters="shelters_full", save=False)
    row = full.rw.set_index("unit_id").loc["rw:3172010003004"]
    assert row["reason"] == "shelters_full" and row["placed"] == 0
    assert full.summary["reasons"] == {"shelters_full": len(full.rw)}


def test_empty_or_bad_shelter_layers_fail_clearly_and_store_nothing(city: Bank) -> None:
    bank = city
    count = _plan_count(bank)
    routes_before = bank.has_layer(ev.ROUTES_LAYER) and bank.layer(ev.ROUTES_LAYER).current_version
    scenario = ev.flood_from_layer(bank, "flood_test")
    empty = gpd.GeoDataFrame(
        {"shelter_id": [], "capacity": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326")
    )
    _write_shelters(bank, "shelters_empty", empty)
    with pytest.raises(InputError, match="shelter layer 'shelters_empty' is empty") as err:
        ev.plan_evacuation(bank, scenario, shelters="shelters_empty")
    assert err.value.message_id and "kosong" in err.value.message_id
    sh = bank.read_layer("shelters")
    sh["capacity"] = sh["capacity"].astype(object)
    sh.loc[sh.index[2], "capacity"] = "banyak"
    sh.loc[sh.index[5], "capacity"] = None
    _write_shelters(bank, "shelters_bad", sh)
    with pytest.raises(InputError, match="2 shelters have no valid capacity") as err:
        ev.plan_evacuation(bank, scenario, shelters="shelters_bad")
    assert "shelter_0003" in str(err.value.where) and "shelter_0006" in str(err.value.where)
    with pytest.raises(InputError, match="no capacity column 'kapasitas'"):
        ev.plan_evacuation(bank, scenario, capacity="kapasitas")
    with pytest.raises(NotFoundError, match="no evacuation plan 'evac-none'"):
        ev.load_plan(bank, "evac-none")
    assert _plan_count(bank) == count
    routes_after = bank.has_layer(ev.ROUTES_LAYER) and bank.layer(ev.ROUTES_LAYER).current_version
    assert routes_after == routes_before


def test_flood_from_rw_states_and_thresholds(city: Bank) -> None:
    from tangguh.web.tables import tg_web_rw_state

    bank = city
    with pytest.raises(InputError, match="no RW has a flood state of 2"):
        ev.flood_from_rw_states(bank, 2)
    now = datetime.now(UTC)
    with bank.begin() as conn:
        conn.execute(
            insert(tg_web_rw_state),
            [
                {"unit_id": "rw:3171010001001", "state": 3, "t": now, "actor": "test"},
                {"unit_id": "rw:3171010001002", "state": 1, "t": now, "actor": "test"},
            ],
        )
    scenario = ev.flood_from_rw_states(bank, 2)
    assert scenario.key == "rw-states>=2" and list(scenario.areas["unit_id"]) == [
        "rw:3171010001001"
    ]
    plan = ev.plan_evacuation(bank, scenario)
    assert set(plan.rw["unit_id"]) == {"rw:3171010001001"}
    with bank.connect() as conn:
        keys = (
            conn.execute(select(tg_evac_rw.c.unit_id).where(tg_evac_rw.c.plan_id == plan.plan_id))
            .scalars()
            .all()
        )
    assert keys == ["rw:3171010001001"]
    deep = ev.flood_from_layer(bank, "flood_test", field="depth_cm", min_value=50)
    assert len(deep.areas) == len(bank.read_layer("flood_test")) - 5
    with pytest.raises(InputError, match="no column 'state'"):
        ev.flood_from_layer(bank, "flood_test", field="state")


def test_cli_plan_routes_shortfall(city_url: str, tmp_path: Path) -> None:
    bank_url = city_url
    out = tmp_path / "routes.geojson"
    result = runner.invoke(
        app,
        ["evacuate", "plan", "--flood", "flood_test", "--out", str(out), "--json",
         "--bank", bank_url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    plan_id = data["plan_id"]
    assert data["summary"]["routes"] == len(json.loads(out.read_text())["features"]) > 0
    result = runner.invoke(app, ["evacuate", "routes", "--json", "--bank", bank_url])
    assert result.exit_code == 0, result.output
    routes = json.loads(result.output)
    assert {r["plan_id"] for r in routes} == {plan_id}
    assert sum(r["people"] for r in routes) == data["summary"]["placed"]
    result = runner.invoke(app, ["evacuate", "shortfall", "--json", "--bank", bank_url])
    short = json.loads(result.output)
    assert sum(r["shortfall"] for r in short["rw"]) == data["summary"]["shortfall"]
    text = runner.invoke(app, ["evacuate", "shortfall", "--bank", bank_url]).output
    assert "Kekurangan" in text
    text = runner.invoke(app, ["evacuate", "plan", "--rw-states", "4", "--bank", bank_url])
    assert text.exit_code == 2 and "no RW has a flood state of 4" in text.output
    listed = runner.invoke(app, ["evacuate", "plans", "--json", "--bank", bank_url])
    assert plan_id in {p["plan_id"] for p in json.loads(listed.output)}
    assert (
        "Rencana evakuasi" in runner.invoke(app, ["evacuate", "plans", "--bank", bank_url]).output
    )
