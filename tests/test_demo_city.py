"""Tests of the synthetic demo city (tangguh.demo)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.bank.base import THEMES
from tangguh.demo import LAYER_IDS, DemoCity, build_city, layer_meta, load_city
from tangguh.demo._services_data import SERVICE_LAYER_IDS
from tangguh.errors import InputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
JAKARTA_BBOX = (106.68, -6.38, 106.98, -6.09)
LEVELS = ("province", "kota", "kecamatan", "kelurahan", "rw")
M_PER_DEG = 110_600.0


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return build_city("small", seed=0)


def _province(city: DemoCity) -> Any:
    admin = city.layers["admin_units"]
    return admin.loc[admin["level"] == "province", "geometry"].iloc[0]


def _digest(city: DemoCity) -> str:
    """Hash of the WKB and attributes of every layer, the stations and observations."""
    h = hashlib.sha256()
    for lid in sorted(city.layers):
        frame = city.layers[lid]
        h.update(lid.encode())
        h.update(b"".join(w or b"-" for w in shapely.to_wkb(frame.geometry.values)))
        attrs = frame.drop(columns="geometry")
        h.update(pd.util.hash_pandas_object(attrs, index=True).to_numpy().tobytes())
        h.update(",".join(attrs.columns).encode())
    stations = city.stations.assign(attributes=city.stations["attributes"].map(json.dumps))
    h.update(pd.util.hash_pandas_object(stations, index=True).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(city.observations, index=True).to_numpy().tobytes())
    h.update(json.dumps(city.meta, sort_keys=True, default=str).encode())
    return h.hexdigest()


# -- layers in general ---------------------------------------------------------------


def test_layers_are_complete_valid_and_in_jakarta(city: DemoCity) -> None:
    assert tuple(city.layers) == LAYER_IDS
    minx, miny, maxx, maxy = JAKARTA_BBOX
    for lid, frame in city.layers.items():
        assert len(frame) > 0, lid
        assert frame.crs is not None and frame.crs.to_epsg() == 4326, lid
        assert frame.geometry.name == "geometry", lid
        geoms = frame.geometry[frame.geometry.notna()]
        # Service records (desludging visits, collection schedules) are tables.
        assert len(geoms) > 0 or lid in SERVICE_LAYER_IDS, lid
        assert shapely.is_valid(geoms.values).all(), lid
        assert not geoms.is_empty.any(), lid
        if len(geoms):
            x0, y0, x1, y1 = geoms.total_bounds
            assert minx <= x0 and x1 <= maxx and miny <= y0 and y1 <= maxy, lid
        # Optional service attributes (a hydrant has no depth) may be missing.
        complete = lid != "admin_units" and lid not in SERVICE_LAYER_IDS
        assert not complete or not frame.drop(columns="geometry").isna().any().any(), lid
    assert city.meta["synthetic"] is True
    assert city.meta["size"] == "small" and city.meta["seed"] == 0


def test_small_counts(city: DemoCity) -> None:
    s = city.summary()
    assert s["admin_levels"] == {
        "province": 1,
        "kota": 2,
        "kecamatan": 4,
        "kelurahan": 12,
        "rw": 60,
    }
    assert s["population"] == 200_000
    assert s["layers"]["buildings"] == 3000
    assert s["layers"]["rivers"] == 3
    assert 300 <= s["layers"]["roads"] <= 2000
    for lid in ("shelters", "hospitals", "schools", "markets", "transit_stops", "tps"):
        assert 3 <= s["layers"][lid] <= 200, lid
    assert 2 <= s["layers"]["water_service_zones"] <= 10
    assert s["stations"]["river_gauge"] == 9
    assert s["stations"]["tide_gauge"] == 1
    assert {"rain_gauge", "pump_house", "reservoir"} <= set(s["stations"])
    assert s["observations"] == len(city.observations) == 13 * 8784


def test_points_and_lines_lie_on_land(city: DemoCity) -> None:
    land = _province(city)
    shapely.prepare(land)
    for lid in ("shelters", "hospitals", "schools", "markets", "transit_stops", "tps", "roads"):
        geoms = city.layers[lid].geometry.values
        assert shapely.covers(land, geoms).all(), lid


# -- admin units -------------------------------------------------------------------------


def test_admin_levels_tile_the_province_exactly(city: DemoCity) -> None:
    admin = city.layers["admin_units"]
    province = _province(city)
    geom = admin.set_index("unit_id")["geometry"]
    for level in LEVELS[1:]:
        parts = admin.loc[admin["level"] == level, "geometry"].values
        assert (shapely.get_type_id(parts) == 3).all(), f"{level}: not all Polygons"
        assert shapely.coverage_is_valid(parts), f"{level} units overlap"
        union = shapely.coverage_union_all(parts)
        assert shapely.symmetric_difference(union, province).area < 1e-12, f"{level} has gaps"
    for parent_id, children in admin[admin["parent_id"].notna()].groupby("parent_id"):
        union = shapely.coverage_union_all(children.geometry.values)
        diff = shapely.symmetric_difference(union, geom[parent_id]).area
        assert diff <= 1e-9 * geom[parent_id].area, parent_id


def test_admin_attributes_sum_and_link(city: DemoCity) -> None:
    admin = city.layers["admin_units"].set_index("unit_id", drop=False)
    rank = {lvl: i for i, lvl in enumerate(LEVELS)}
    assert admin["unit_id"].is_unique
    assert (admin["pop_year"] == 2024).all() and (admin["pop_source"] == "synthetic").all()
    assert admin["population"].dtype.kind == "i" and admin["households"].dtype.kind == "i"
    assert (admin["name_norm"] == admin["name"].str.upper().str.split().str.join(" ")).all()
    assert (admin["unit_id"] == admin["level"] + ":" + admin["code_bps"]).all()
    rows = admin[admin["parent_id"].notna()]
    assert admin.loc[admin["parent_id"].isna(), "level"].tolist() == ["province"]
    parent_level = admin.loc[rows["parent_id"], "level"].to_numpy()
    assert all(rank[p] == rank[c] - 1 for p, c in zip(parent_level, rows["level"], strict=True))
    for col in ("population", "households"):
        sums = rows.groupby("parent_id")[col].sum()
        assert (admin.loc[sums.index, col] == sums).all(), col
    assert not rows.duplicated(["parent_id", "name_norm"]).any()
    rw = admin[admin["level"] == "rw"]
    ratio = rw["population"] / rw["households"]
    assert ratio.between(3.0, 4.0).all()
    assert (rw["population"] > 0).all()


def test_admin_codes_follow_bps_and_kemendagri(city: DemoCity) -> None:
    admin = city.layers["admin_units"]
    bps = {"province": r"31", "kota": r"317\d", "kecamatan": r"317\d\d\d0",
           "kelurahan": r"317\d{7}", "rw": r"317\d{10}"}  # fmt: skip
    kel = r"31\.7\d\.\d\d\.1\d\d\d"
    kmd = {"province": r"31", "kota": r"31\.7\d", "kecamatan": r"31\.7\d\.\d\d",
           "kelurahan": kel, "rw": kel + r"\.\d\d"}  # fmt: skip
    for row in admin.itertuples():
        assert re.fullmatch(bps[row.level], row.code_bps), row.code_bps
        assert re.fullmatch(kmd[row.level], row.code_kemendagri), row.code_kemendagri
    assert admin["code_bps"].is_unique and admin["code_kemendagri"].is_unique
    kota = admin[admin["level"] == "kota"]
    # the two systems number the kota differently, as in Jakarta
    assert (kota["code_bps"].str[2:] != kota["code_kemendagri"].str[3:]).any()
    # children carry their parent's code as prefix
    codes = admin.set_index("unit_id")
    child = admin[admin["parent_id"].notna()]
    parent_code = codes.loc[child["parent_id"], "code_bps"].to_numpy()
    assert all(c.startswith(p) for c, p in zip(child["code_bps"], parent_code, strict=True))


def test_admin_code_lengths_match_real_bps_files(city: DemoCity) -> None:
    folder = SHARED / "jakarta" / "admin-codes-bps"
    if not folder.exists():
        pytest.skip(f"real BPS code files not found at {folder}")
    real = {
        "kota": pd.read_csv(folder / "dki_regencies_bps.csv", header=None, dtype=str)[0],
        "kecamatan": pd.read_csv(folder / "dki_districts_bps.csv", header=None, dtype=str)[0],
        "kelurahan": pd.read_csv(folder / "dki_villages_bps.csv", header=None, dtype=str)[0],
    }
    admin = city.layers["admin_units"]
    for level, codes in real.items():
        ours = admin.loc[admin["level"] == level, "code_bps"]
        assert set(ours.str.len()) == set(codes.str.len()), level
        assert set(ours.str[:4]) <= set(codes.str[:4]), level


# -- rivers, roads, buildings -------------------------------------------------------------


def test_rivers_flow_north_into_the_sea(city: DemoCity) -> None:
    rivers = city.layers["rivers"]
    land = _province(city)
    assert (rivers.geom_type == "LineString").all()
    assert rivers["name"].str.startswith("Kali ").all() and rivers["name"].is_unique
    start = shapely.get_coordinates(shapely.get_point(rivers.geometry.values, 0))
    end = shapely.get_coordinates(shapely.get_point(rivers.geometry.values, -1))
    assert (end[:, 1] > start[:, 1] + 0.04).all()
    assert (shapely.distance(shapely.points(end), land.exterior) < 1e-6).all()  # ~10 cm
    assert (end[:, 1] > -6.13).all()  # the mouth is on the northern coast
    assert shapely.covers(land.buffer(1e-6), rivers.geometry.values).all()


def test_roads_form_one_connected_network(city: DemoCity) -> None:
    roads = city.layers["roads"]
    assert set(roads["highway"]) == {"primary", "secondary", "tertiary", "residential", "footway"}
    assert roads["oneway"].dtype == bool and roads["road_id"].is_unique
    ends = shapely.get_coordinates(roads.geometry.values).reshape(-1, 2, 2)
    keys = [tuple(p) for p in ends.reshape(-1, 2).tolist()]  # exact coordinates
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    adj: dict[int, list[int]] = {}
    for a, b in zip(keys[0::2], keys[1::2], strict=True):
        adj.setdefault(ids[a], []).append(ids[b])
        adj.setdefault(ids[b], []).append(ids[a])
    seen = {0}
    queue = deque([0])
    while queue:
        for nxt in adj[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert len(seen) == len(ids), "road network is not connected"
    rivers = shapely.union_all(city.layers["rivers"].geometry.values)
    crossing = roads[shapely.intersects(roads.geometry.values, rivers)]
    assert len(crossing) > 0 and crossing["bridge"].all()
    assert set(crossing["highway"]) <= {"primary", "secondary"}


def test_buildings_fit_their_rw_without_overlap(city: DemoCity) -> None:
    b = city.layers["buildings"]
    admin = city.layers["admin_units"].set_index("unit_id")
    rw_geom = admin.loc[b["unit_id"], "geometry"].to_numpy()
    assert shapely.within(b.geometry.values, rw_geom).all()
    area = shapely.area(b.geometry.values)
    assert shapely.union_all(b.geometry.values).area == pytest.approx(area.sum(), rel=1e-9)
    x0, y0, x1, y1 = shapely.bounds(b.geometry.values).T
    sides = np.concatenate([(x1 - x0) * M_PER_DEG, (y1 - y0) * M_PER_DEG])
    assert sides.min() >= 7.9 and sides.max() <= 25.2
    assert (b["levels"] >= 1).all() and b["levels"].dtype.kind == "i"
    assert {"residential", "commercial", "school", "hospital", "market"} <= set(b["building"])
    per_rw = b.groupby("unit_id").size()
    pop = admin.loc[per_rw.index, "population"]
    assert np.corrcoef(per_rw.to_numpy(), pop.to_numpy())[0, 1] > 0.7


def test_facility_attributes(city: DemoCity) -> None:
    L = city.layers
    assert (L["shelters"]["capacity"] > 0).all() and L["shelters"]["capacity"].dtype.kind == "i"
    assert (L["hospitals"]["beds"] > 0).all()
    assert set(L["schools"]["level"]) == {"SD", "SMP", "SMA"}
    assert set(L["transit_stops"]["mode"]) == {"BRT", "bus", "rail"}
    assert L["transit_stops"]["route_ids"].str.len().gt(0).all()
    assert (L["tps"]["capacity_m3"] > 0).all()
    for lid in ("shelters", "hospitals", "schools", "markets", "transit_stops", "tps"):
        assert L[lid]["name"].is_unique, lid
        assert (L[lid].geom_type == "Point").all(), lid
    zones = L["water_service_zones"]
    assert zones["coverage_pct"].between(0, 100).all()
    assert set(zones["operator"]) == {"PAM Demo Barat", "PAM Demo Timur"}
    assert shapely.coverage_is_valid(zones.geometry.values)
    union = shapely.coverage_union_all(zones.geometry.values)
    assert shapely.symmetric_difference(union, _province(city)).area < 1e-12
    # schools are at the centroids of school buildings
    school_buildings = L["buildings"].query("building == 'school'").geometry.values
    expected = shapely.get_coordinates(shapely.centroid(school_buildings))
    got = shapely.get_coordinates(L["schools"].geometry.values)
    np.testing.assert_array_equal(np.unique(expected, axis=0), np.unique(got, axis=0))


# -- stations and observations -------------------------------------------------------------


def test_stations_table(city: DemoCity) -> None:
    st = city.stations
    assert list(st.columns) == [
        "station_id",
        "name",
        "kind",
        "lon",
        "lat",
        "river",
        "attributes",
        "source",
    ]
    assert st["station_id"].is_unique and (st["source"] == "synthetic").all()
    land = _province(city)
    assert shapely.contains_xy(land, st["lon"].to_numpy(), st["lat"].to_numpy()).all()
    gauges = st[st["kind"] == "river_gauge"]
    ids = set(gauges["station_id"])
    rivers = city.layers["rivers"].set_index("name")
    for row in gauges.itertuples():
        a = row.attributes
        assert a["siaga3"] < a["siaga2"] < a["siaga1"]
        assert a["datum"] == "local gauge zero"
        assert a["downstream"] in ids or a["downstream"] == "sea"
        assert isinstance(a["lead_time_h"], int) and a["lead_time_h"] > 0
        line = rivers.loc[row.river, "geometry"]
        assert shapely.distance(shapely.Point(row.lon, row.lat), line) < 1e-5


def test_observations_are_hourly_2024_utc(city: DemoCity) -> None:
    obs = city.observations
    assert list(obs.columns) == [
        "station_id",
        "parameter",
        "t",
        "value",
        "unit",
        "quality",
        "source",
    ]
    assert isinstance(obs["t"].dtype, pd.DatetimeTZDtype) and str(obs["t"].dt.tz) == "UTC"
    assert (obs["quality"] == "good").all() and (obs["source"] == "synthetic").all()
    assert (obs["value"] >= 0).all()
    kinds = city.stations.set_index("station_id")["kind"]
    pairs = obs[["parameter", "unit"]].drop_duplicates().itertuples(index=False)
    assert {tuple(p) for p in pairs} == {("water_level", "cm"), ("rainfall", "mm/h")}
    for sid, series in obs.groupby("station_id"):
        assert kinds[sid] in ("river_gauge", "rain_gauge")
        t = series["t"]
        assert len(t) == 8784 and t.is_monotonic_increasing
        assert t.iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
        assert t.iloc[-1] == pd.Timestamp("2024-12-31 23:00", tz="UTC")
        assert (t.diff().dropna() == pd.Timedelta(hours=1)).all()


def _series(city: DemoCity, sid: str) -> pd.Series:
    obs = city.observations
    return obs.loc[obs["station_id"] == sid].set_index("t")["value"]


def test_flood_events_reach_siaga_with_downstream_lag(city: DemoCity) -> None:
    floods = [e for e in city.meta["events"] if e["kind"] == "flood"]
    assert len(floods) >= 4
    assert any(g["siaga"] == 1 for e in floods for g in e["gauges"].values())
    attrs = city.stations.set_index("station_id")["attributes"]
    for ev in floods:
        rain_peak = pd.Timestamp(ev["rain_peak"])
        rain = city.observations.query("parameter == 'rainfall'")
        assert rain.loc[rain["t"] == rain_peak, "value"].max() > 10
        for sid, g in ev["gauges"].items():
            assert g["siaga"] == g["expected_siaga"], (ev["name"], sid)
            assert _series(city, sid)[pd.Timestamp(g["peak_t"])] == g["peak_cm"]
            nxt = attrs[sid]["downstream"]
            if g["siaga"] and nxt != "sea":
                lag = pd.Timestamp(ev["gauges"][nxt]["peak_t"]) - pd.Timestamp(g["peak_t"])
                assert lag == pd.Timedelta(hours=attrs[sid]["lead_time_h"]), (ev["name"], sid)
            if attrs[sid]["position"] == "up" and g["siaga"]:
                assert pd.Timestamp(g["peak_t"]) > rain_peak


def test_every_siaga_crossing_is_a_documented_event_or_glitch(city: DemoCity) -> None:
    events = city.meta["events"]
    gauges = city.stations[city.stations["kind"] == "river_gauge"]
    for row in gauges.itertuples():
        s = _series(city, row.station_id)
        above = s.index[s >= row.attributes["siaga3"]]
        allowed = pd.Series(False, index=above)
        for ev in events:
            if ev["kind"] == "flood" and ev["gauges"][row.station_id]["siaga"]:
                peak = pd.Timestamp(ev["gauges"][row.station_id]["peak_t"])
                allowed |= (above >= peak - pd.Timedelta(hours=24)) & (
                    above <= peak + pd.Timedelta(hours=48)
                )
            if ev["kind"] == "glitch_spike" and ev["station_id"] == row.station_id:
                allowed |= above == pd.Timestamp(ev["t"])
        assert allowed.all(), (
            f"{row.station_id}: undocumented Siaga crossing at {above[~allowed.to_numpy()]}"
        )


def test_planted_glitches(city: DemoCity) -> None:
    glitches = {(e["kind"], e["parameter"]): e for e in city.meta["events"] if e["kind"] != "flood"}
    spike = glitches[("glitch_spike", "water_level")]
    s = _series(city, spike["station_id"])
    t = pd.Timestamp(spike["t"])
    hour = pd.Timedelta(hours=1)
    assert s[t] == spike["value"] and s[t] - max(s[t - hour], s[t + hour]) >= 100
    flat = glitches[("glitch_flatline", "water_level")]
    window = _series(city, flat["station_id"])[
        pd.Timestamp(flat["start"]) : pd.Timestamp(flat["end"])
    ]
    assert len(window) == flat["hours"] == 36 and (window == flat["value"]).all()
    rain = glitches[("glitch_spike", "rainfall")]
    assert _series(city, rain["station_id"])[pd.Timestamp(rain["t"])] == 150.0


# -- determinism, arguments, metadata ----------------------------------------------------------


def test_same_seed_same_city_other_seed_other_city(city: DemoCity) -> None:
    again = build_city("small", seed=0)
    assert _digest(again) == _digest(city)
    other = build_city("small", seed=1)
    assert _digest(other) != _digest(city)
    assert not shapely.equals(
        other.layers["buildings"].geometry.values[:10],
        city.layers["buildings"].geometry.values[:10],
    ).all()


def test_bad_arguments_raise_input_error() -> None:
    with pytest.raises(InputError, match="size"):
        build_city("medium")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="seed"):
        build_city("small", seed=-1)


def test_layer_meta_is_bilingual_and_synthetic(city: DemoCity) -> None:
    for lid in LAYER_IDS:
        meta = layer_meta(lid, city)
        assert meta.title_id and meta.title_en and meta.title_id != meta.title_en
        assert meta.description_id and meta.description_en
        assert meta.theme in THEMES
        assert meta.synthetic is True and meta.licence == "CC0-1.0"
        assert meta.source == "Tangguh demo generator"
        assert "synthetic" in meta.keywords
        json.dumps(meta.to_dict())  # the catalogue stores it as JSON


def test_load_city_into_embedded_bank(city: DemoCity, tmp_path: Path) -> None:
    bank_mod = pytest.importorskip("tangguh.bank")
    messages: list[str] = []
    bank = bank_mod.open_bank(tmp_path / "demo.gpkg")
    try:
        load_city(bank, city, progress=messages.append)
        infos = {i.id: i for i in bank.layers()}
        assert set(infos) == set(LAYER_IDS)
        for lid in LAYER_IDS:
            assert infos[lid].feature_count == len(city.layers[lid]), lid
            assert infos[lid].synthetic
        assert len(bank.stations()) == len(city.stations)
        obs = bank.observations("wl_01_up", parameter="water_level")
        assert len(obs) == 8784
    finally:
        bank.close()
    assert messages[-1] == "demo city loaded"


@pytest.mark.slow
def test_full_city() -> None:
    full = build_city("full", seed=0)
    s = full.summary()
    assert s["admin_levels"] == {
        "province": 1,
        "kota": 5,
        "kecamatan": 40,
        "kelurahan": 260,
        "rw": 2700,
    }
    assert s["population"] == 10_500_000
    assert s["layers"]["buildings"] == 1_000_000
    assert 30_000 <= s["layers"]["roads"] <= 60_000
    assert s["layers"]["rivers"] == 6 and s["stations"]["river_gauge"] == 18
    for lid, frame in full.layers.items():
        geoms = frame.geometry[frame.geometry.notna()]
        assert shapely.is_valid(geoms.values).all(), lid
    per_rw = full.layers["buildings"].groupby("unit_id").size()
    admin_pop = full.layers["admin_units"].set_index("unit_id").loc[per_rw.index, "population"]
    assert len(per_rw) == 2700
    assert np.corrcoef(per_rw.to_numpy(), admin_pop.to_numpy())[0, 1] > 0.8
    admin = full.layers["admin_units"]
    for level in LEVELS[1:]:
        assert shapely.coverage_is_valid(admin.loc[admin["level"] == level, "geometry"].values)
    kota = admin[admin["level"] == "kota"].set_index("name")
    assert (
        kota.loc["Demo Selatan", "code_bps"] == "3171"
        and kota.loc["Demo Pusat", "code_kemendagri"] == "31.71"
    )
