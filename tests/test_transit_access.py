"""SDG 11.2.1 along the walking network, its time series, TOD scores (issue 7 §2-4).

The small demo city on both backends (only the layers these use are written, so the test
does not depend on the rest of the demo), plus the real TransJakarta stops and rail
stations, the real OSM roads and the real kelurahan population when ../shared is present.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import SHARED
from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.connectivity.network import Snap
from tangguh.connectivity.population import (
    building_weights,
    population_points,
    snap_points,
    snapped_population,
)
from tangguh.connectivity.sdg import (
    read_stops,
    refresh_sdg,
    run_values,
    runs,
    save_sdg,
    sdg_11_2_1,
    trend,
)
from tangguh.connectivity.tables.access import tg_transit_access_run, tg_transit_access_value
from tangguh.connectivity.tod import LAYER as TOD_LAYER
from tangguh.connectivity.tod import save_tod, score, tod_scores
from tangguh.demo.city import build_city
from tangguh.errors import InputError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))

LAYERS = ("admin_units", "roads", "buildings", "transit_stops", "schools", "markets", "hospitals")
KEYS = {"admin_units": "unit_id", "roads": "road_id", "transit_stops": "stop_id"}
_CITY = build_city("small")
runner = CliRunner()


def seed(bank: Bank) -> None:
    for layer in LAYERS:
        bank.write_layer(layer, _CITY.layers[layer], key=KEYS.get(layer))


@pytest.fixture
def city(bank: Bank) -> Bank:
    seed(bank)
    return bank


def _two_runs(bank: Bank, **kwargs: float) -> np.ndarray:
    """Reached people points by two separate limited walks (low 500 m, high 1 km)."""
    sp = snapped_population(bank, **kwargs)
    stops = read_stops(bank)
    reach = np.zeros(len(sp.points), dtype=bool)
    for cap, limit in (("low", 500.0), ("high", 1000.0)):
        sel = stops[(stops["capacity"] == cap).to_numpy()]
        snap = sp.network.snap(sel.geometry)
        walk, _ = sp.network.distances(snap, limit=limit).to_points(sp.snap)
        reach |= np.isfinite(walk)
    return reach


def test_one_dijkstra_equals_two_walk_limits_and_rolls_up(city: Bank) -> None:
    result = sdg_11_2_1(city, point_mask=True, straight_line=True)
    assert result.reached_points is not None
    expected = _two_runs(city)
    assert 0 < expected.sum() < len(expected)
    assert np.array_equal(result.reached_points, expected)
    points = snapped_population(city).points
    assert result.summary["reached"] == pytest.approx(points.people[expected].sum(), abs=0.2)
    assert result.summary["population"] == pytest.approx(200_000, rel=1e-9)
    v = result.values
    assert set(v["level"]) == {"rw", "kelurahan", "kecamatan", "kota"}
    assert v["share"].between(0, 1).all()
    # Every level sums to the city; walking never beats the straight line.
    for level in ("rw", "kelurahan", "kecamatan", "kota"):
        part = result.at(level)
        assert part["population"].sum() == pytest.approx(200_000, rel=1e-9)
        assert part["reached"].sum() == pytest.approx(result.summary["reached"], abs=0.1)
        assert (part["share"] <= part["share_straight"] + 1e-12).all()
        assert part["stops"].sum() == result.summary["stops_used"] == 78
    assert result.summary["share"] < result.summary["share_straight"]
    # Population placed on residential buildings only, in proportion to floor area.
    assert result.summary["population_method"] == {"buildings": 60}
    assert len(points) == int((_CITY.layers["buildings"]["building"] == "residential").sum())


def test_counts_without_the_point_mask_equal_the_mask(city: Bank) -> None:
    """The per-unit counts (no mask) agree with the per-point mask, dry and flooded."""
    sp = snapped_population(city)
    stops = read_stops(city)
    centre = stops.to_crs("EPSG:32748").geometry.iloc[3].buffer(600.0)
    wet = sp.network.without(sp.network.edges_within(gpd.GeoSeries([centre], crs="EPSG:32748")))
    for network in (None, wet):
        fast = sdg_11_2_1(city, network=network)
        masked = sdg_11_2_1(city, network=network, point_mask=True)
        assert masked.reached_points is not None
        people = snapped_population(city).points.people
        assert fast.summary["reached"] == pytest.approx(
            people[masked.reached_points].sum(), abs=0.2
        )
        a, b = fast.at("rw"), masked.at("rw")
        assert np.allclose(a["reached"].to_numpy(), b["reached"].to_numpy(), atol=1e-6)


def test_population_weights_floor_area_levels_and_homes() -> None:
    frame = gpd.GeoDataFrame(
        {
            "building": ["residential", "yes", "commercial", None],
            "TYPE": [None, "Residential", None, "Place of Worship - Islam"],
            "LEVELS": ["2", "10+", "4-7", None],
        },
        geometry=[shapely.box(0, 0, 10, 10)] * 4,
        crs="EPSG:32748",
    )
    floor, homes = building_weights(frame)
    assert floor == pytest.approx([200.0, 1000.0, 550.0, 100.0])
    assert homes.tolist() == [True, True, False, False]


def test_population_falls_back_to_a_grid_without_buildings(bank: Bank) -> None:
    bank.write_layer("admin_units", _CITY.layers["admin_units"], key="unit_id")
    pts = population_points(bank, grid_m=200.0)
    assert set(pts.method) == {"grid"}
    assert pts.leaf_population.sum() == pytest.approx(200_000)
    lone = population_points(bank, grid_m=None)
    assert len(lone) == 60 and set(lone.method) == {"unit_point"}
    with pytest.raises(InputError):
        population_points(bank, grid_m=-1)


def test_min_departures_filter_and_error_without_departures(city: Bank) -> None:
    with pytest.raises(InputError) as err:
        sdg_11_2_1(city, min_departures=4)
    assert "departures" in str(err.value)
    stops = read_stops(city).copy()
    # Half the bus stops run 2 an hour, the rest 12; rail has no count (kept).
    low = np.flatnonzero(stops["capacity"].to_numpy() == "low")
    stops["peak_departures"] = np.where(stops["capacity"] == "low", 12.0, np.nan)
    stops.loc[low[::2], "peak_departures"] = 2.0
    every = sdg_11_2_1(city, stops=stops)
    frequent = sdg_11_2_1(city, stops=stops, min_departures=4)
    assert frequent.summary["stops_few_departures"] == len(low[::2])
    assert frequent.summary["stops_without_departures_kept"] == 4
    assert frequent.summary["stops_used"] == 78 - len(low[::2])
    assert frequent.summary["share"] < every.summary["share"]
    few = frequent.stop_report[frequent.stop_report["reason"] == "few_departures"]
    assert set(few["stop_id"]) == set(stops["stop_id"].iloc[low[::2]])
    assert not few["used"].any()
    with pytest.raises(InputError):
        sdg_11_2_1(city, min_departures=-1)


def test_stops_off_the_network_are_listed_not_counted(city: Bank) -> None:
    stops = read_stops(city).copy()
    base = sdg_11_2_1(city, stops=stops)
    far = gpd.GeoDataFrame(
        {"stop_id": ["lost-1", "far-2"], "name": ["Halte di laut", "Halte jauh"],
         "mode": ["bus", "brt"]},
        geometry=[shapely.Point(106.70, -5.90), None],
        crs="EPSG:4326",
    )  # fmt: skip
    # A stop 250 m beyond the northernmost street: used (the offset is walked), flagged.
    roads = _CITY.layers["roads"].to_crs("EPSG:32748")
    top = roads.geometry.iloc[int(roads.bounds["maxy"].to_numpy().argmax())]
    tip = shapely.get_coordinates(top)[shapely.get_coordinates(top)[:, 1].argmax()]
    off = gpd.GeoSeries([shapely.Point(tip[0], tip[1] + 250.0)], crs="EPSG:32748").to_crs(4326)
    near = gpd.GeoDataFrame({"stop_id": ["near-3"], "name": ["x"], "mode": ["bus"]},
                            geometry=off.to_numpy(), crs="EPSG:4326")  # fmt: skip
    more = pd.concat([stops, far, near], ignore_index=True)
    result = sdg_11_2_1(city, stops=gpd.GeoDataFrame(more, geometry="geometry", crs=4326))
    rep = result.stop_report.set_index("stop_id")
    assert rep.loc["lost-1", "reason"] == "off_network" and not rep.loc["lost-1", "used"]
    assert rep.loc["far-2", "reason"] == "off_network"
    assert result.summary["stops_off_network"] == 2
    assert rep.loc["near-3", "offset_m"] == pytest.approx(250.0, abs=1.0)
    assert rep.loc["near-3", "reason"] == "far_from_street" and rep.loc["near-3", "used"]
    assert result.summary["stops_far_from_street"] == 1
    assert result.summary["share"] >= base.summary["share"]


def test_flooded_streets_make_stops_unusable_and_cut_access(city: Bank) -> None:
    sp = snapped_population(city)
    stops = read_stops(city)
    centre = stops.to_crs("EPSG:32748").geometry.iloc[0].buffer(700.0)
    blocked = sp.network.edges_within(gpd.GeoSeries([centre], crs="EPSG:32748"))
    wet = sp.network.without(blocked)
    dry = sdg_11_2_1(city)
    flood = sdg_11_2_1(city, network=wet)
    assert flood.summary["stops_flooded_street"] >= 1
    assert flood.summary["share"] < dry.summary["share"]
    assert set(flood.stop_report["reason"]) >= {"flooded_street"}
    assert flood.parameters["custom_network"] is True
    merged = dry.at("kelurahan").merge(flood.at("kelurahan"), on="unit_id")
    assert (merged["share_y"] <= merged["share_x"] + 1e-12).all()
    with pytest.raises(InputError):  # what-ifs are not stored in the time series
        save_sdg(city, flood)
    with city.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tg_transit_access_run)).scalar() == 0


def test_snap_points_matches_network_snap(city: Bank) -> None:
    net = snapped_population(city).network
    pts = _CITY.layers["buildings"].geometry.representative_point().iloc[:400]
    fast = snap_points(net, pts.x.to_numpy(), pts.y.to_numpy())
    slow = net.snap(pts)
    assert np.allclose(fast.offset, slow.offset)
    assert np.array_equal(fast.ok, slow.ok)


def test_runs_are_a_time_series_recomputed_when_the_feed_changes(city: Bank) -> None:
    first, run = refresh_sdg(city)
    assert first is not None and run["run_id"] == first.run_id
    assert run["stops_version"] == 1 and run["inputs"]["transit_stops"] == 1
    again, same = refresh_sdg(city)
    assert again is None and same["run_id"] == run["run_id"]
    layer = city.read_layer("sdg_11_2_1_kelurahan")
    assert len(layer) == 12 and layer["share"].between(0, 1).all()
    assert set(layer["run_id"]) == {run["run_id"]}
    # A new feed drops a third of the stops: recomputed, lower, trend shows the change.
    stops = _CITY.layers["transit_stops"]
    city.write_layer("transit_stops", stops.iloc[::3], key="stop_id")
    second, run2 = refresh_sdg(city)
    assert second is not None and run2["stops_version"] == 2
    assert second.summary["share"] < first.summary["share"]
    series = trend(city)
    assert list(series["run_id"]) == [run["run_id"], run2["run_id"]]
    assert series["change"].iloc[1] == pytest.approx(
        second.summary["share"] - first.summary["share"], abs=1e-6
    )
    unit = trend(city, "kelurahan:3171010001")
    assert len(unit) == 2 and unit["share"].between(0, 1).all()
    meta, values = run_values(city, level="kota")
    assert meta["run_id"] == run2["run_id"] and len(values) == 2
    assert [r["run_id"] for r in runs(city)] == [run2["run_id"], run["run_id"]]
    assert len(city.history("sdg_11_2_1_rw")) == 2
    with city.connect() as conn:
        n = conn.execute(select(func.count()).select_from(tg_transit_access_value)).scalar()
    assert n == 2 * (60 + 12 + 4 + 2)


def test_tod_scores_formulas_and_layer(city: Bank) -> None:
    assert score("density", [0, 100, 400]).tolist() == [0.0, 50.0, 100.0]
    assert score("block_m", [300, 180, 100]).tolist() == [0.0, 50.0, 100.0]
    assert np.isnan(score("frequency", [np.nan]))[0]
    result = tod_scores(city)
    areas = result.areas
    stops = read_stops(city)
    stations = stops[(stops["capacity"] == "high") | (stops["mode"] == "brt")]
    assert 0 < len(areas) <= len(stations)
    for col in [c for c in areas.columns if c.startswith("score_")]:
        vals = areas[col].dropna()
        assert vals.between(0, 100).all(), col
    assert areas["score_frequency"].isna().all()  # the demo has no departures
    assert (areas["scores_used"] == 5).all()
    assert (areas["area_ha"] > 0).all() and (areas["area_ha"] < 800 * 800 * 3.2 / 1e4).all()
    # Density is people in the area over its hectares.
    assert np.allclose(areas["density_per_ha"], areas["people"] / areas["area_ha"], rtol=0.01)
    assert areas.geometry.within(
        shapely.box(*_CITY.layers["roads"].total_bounds).buffer(0.01)
    ).all()
    version = save_tod(city, result)
    assert version == 1
    assert len(city.read_layer(TOD_LAYER)) == len(areas)
    with pytest.raises(InputError):
        tod_scores(city, walk_m=0)


def test_cli_access_trend_tod_network(city: Bank) -> None:
    url = city.url
    out = runner.invoke(app, ["transit", "access", "--bank", url, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["run_id"] and {v["level"] for v in data["values"]} == {"kelurahan"}
    out = runner.invoke(app, ["transit", "access", "--bank", url, "--if-changed", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["recomputed"] is False
    out = runner.invoke(app, ["transit", "access", "--bank", url, "--level", "rw", "--top", "3"])
    assert out.exit_code == 0 and "SDG 11.2.1" in out.stdout
    out = runner.invoke(app, ["transit", "access", "--bank", url, "--min-departures", "4"])
    assert out.exit_code == 2 and "departures" in out.output
    out = runner.invoke(app, ["transit", "trend", "--bank", url, "--json"])
    assert out.exit_code == 0 and len(json.loads(out.stdout)) == 2
    out = runner.invoke(app, ["transit", "trend", "kelurahan:3171010001", "--bank", url])
    assert out.exit_code == 0 and "kelurahan:3171010001" in out.stdout
    out = runner.invoke(app, ["transit", "tod", "--bank", url, "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["layer"]["id"] == TOD_LAYER
    out = runner.invoke(app, ["transit", "network", "--bank", url, "--json"])
    assert out.exit_code == 0
    net = json.loads(out.stdout)
    assert net["nodes"] > 0 and net["stops"] == 78 and net["stops_off_network"] == 0


def test_http_access_trend_tod_stops(city: Bank) -> None:
    from tangguh.web import create_app

    url = city.url
    with TestClient(create_app(url)) as c:
        r = c.get("/api/v1/transit/access?level=kelurahan")
        assert r.status_code == 404 and "tangguh transit access" in r.text
        refresh_sdg(city)
        save_tod(city, tod_scores(city))
        r = c.get("/api/v1/transit/access?level=kelurahan")
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["features"]) == 12 and body["run"]["share"] > 0
        f = body["features"][0]
        assert f["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        assert 0 <= f["properties"]["share"] <= 1
        assert c.get("/api/v1/transit/access?level=desa").status_code == 400
        trend_rows = c.get("/api/v1/transit/access/trend?unit_id=kelurahan:3171010001").json()
        assert len(trend_rows) == 1 and trend_rows[0]["share"] == pytest.approx(
            next(x["properties"]["share"] for x in body["features"]
                 if x["id"] == "kelurahan:3171010001"))  # fmt: skip
        tod = c.get("/api/v1/transit/tod").json()
        assert tod["features"] and "score_total" in tod["features"][0]["properties"]
        stops = c.get("/api/v1/transit/stops").json()
        assert len(stops["features"]) == 78
        assert {f["properties"]["capacity"] for f in stops["features"]} == {"low", "high"}


# -- the real data: TransJakarta + rail, OSM roads, kelurahan population -----------------
MONAS = (106.8272, -6.1754)


@pytest.fixture(scope="module")
def real_bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bank]:
    jakarta = SHARED / "jakarta"
    feed = jakarta / "transit-transjakarta-gtfs"
    roads = jakarta / "osm-inasafe" / "jakarta_roads.geojson"
    if not (feed.exists() and roads.exists()):
        pytest.skip(f"real Jakarta data not found at {jakarta}")
    from tangguh.admin.store import import_jakarta
    from tangguh.connectivity.gtfs import import_gtfs
    from tangguh.connectivity.rail import import_rail

    path = tmp_path_factory.mktemp("real") / "bank.gpkg"
    bank = open_bank(str(path))
    import_jakarta(bank, jakarta)
    bank.write_layer("roads", gpd.read_file(roads))
    import_gtfs(bank, feed / "transjakarta_gtfs_2024-06.zip")
    import_rail(bank, feed / "jabodetabek_rail_stations_lines.kml")
    try:
        yield bank
    finally:
        bank.close()


def test_real_jakarta_sdg_per_kelurahan_along_streets(real_bank: Bank) -> None:
    result = sdg_11_2_1(real_bank, straight_line=True, grid_m=150.0, levels=["kelurahan", "kota"])
    s = result.summary
    assert s["stops_high"] > 50 and s["stops_low"] > 3000
    assert 0.3 < s["share"] < 1.0
    kel = result.at("kelurahan").dropna(subset=["share"])
    assert len(kel) > 250
    assert kel["share"].between(0, 1).all()
    # Walking along streets never reaches more people than straight-line circles.
    assert (kel["share"] <= kel["share_straight"] + 1e-9).all()
    assert kel["share"].mean() < kel["share_straight"].mean()
    # Central kelurahan are better served than the periphery, on average.
    units = real_bank.read_layer("admin_units")
    cent = units.set_index("unit_id").geometry.reindex(kel["unit_id"]).to_crs("EPSG:32748")
    monas = gpd.GeoSeries([shapely.Point(*MONAS)], crs=4326).to_crs("EPSG:32748").iloc[0]
    dist = cent.centroid.distance(monas).to_numpy()
    share = kel["share"].to_numpy()
    near, far = dist <= np.quantile(dist, 1 / 3), dist >= np.quantile(dist, 2 / 3)
    assert share[near].mean() > share[far].mean() + 0.1
    # One handicapped Dijkstra = the 500 m and 1 km walks, point by point, on real streets
    # (stops sit mid-street here, so walks along a stop's own street count).
    masked = sdg_11_2_1(real_bank, grid_m=150.0, levels=["kota"], point_mask=True)
    assert masked.reached_points is not None
    assert np.array_equal(masked.reached_points, _two_runs(real_bank, grid_m=150.0))
    assert masked.summary["reached"] == pytest.approx(s["reached"], abs=1.0)
    # Stops of the feed outside the city's streets are listed, not silently used.
    assert s["stops_off_network"] == int((result.stop_report["reason"] == "off_network").sum())
    assert s["stops_off_network"] > 0
    # The stored departures allow a frequency filter.
    frequent = sdg_11_2_1(real_bank, min_departures=6, grid_m=150.0, levels=["kota"])
    assert frequent.summary["stops_few_departures"] > 0
    assert frequent.summary["share"] <= s["share"]


def test_real_stops_beyond_the_streets_are_off_the_network(real_bank: Bank) -> None:
    stops = read_stops(real_bank)
    sp = snapped_population(real_bank, grid_m=150.0)
    x, y = stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy()
    snap = snap_points(sp.network, x, y)
    assert isinstance(snap, Snap) and snap.ok.mean() > 0.8
    # The feed reaches Bodetabek, beyond the DKI roads: those stops are > 500 m away.
    far = sp.network.snap(np.column_stack([x, y])[~snap.ok], max_distance=50_000.0)
    assert (far.offset > 500.0).all()
