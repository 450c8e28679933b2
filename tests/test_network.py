"""The walking network: graph build, snapping, limited multi-source distances, routes,
flooded streets — checked against networkx on the same graph and on the real OSM roads."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod

from conftest import SHARED
from tangguh.bank import Bank
from tangguh.connectivity.network import Snap, WalkNetwork, network_for
from tangguh.demo.city import build_city
from tangguh.errors import InputError

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def real_roads() -> gpd.GeoDataFrame:
    path = SHARED / "jakarta" / "osm-inasafe" / "jakarta_roads.geojson"
    if not path.exists():
        pytest.skip(f"real roads not found at {path} (set TANGGUH_SHARED_DATA)")
    return gpd.read_file(path)


@pytest.fixture(scope="module")
def real_net(real_roads: gpd.GeoDataFrame) -> WalkNetwork:
    return WalkNetwork.from_roads(real_roads)


def _nx_graph(net: WalkNetwork) -> nx.Graph:
    g = nx.Graph()
    for u, v, length in zip(net.edge_u, net.edge_v, net.edge_length, strict=True):
        if g.has_edge(int(u), int(v)) and g[int(u)][int(v)]["w"] <= length:
            continue
        g.add_edge(int(u), int(v), w=float(length))
    return g


def _nx_walk(net: WalkNetwork, g: nx.Graph, a: Snap, i: int, b: Snap, j: int) -> float:
    """Shortest walk between snapped point a[i] and b[j] by networkx."""
    best = np.inf
    ea, eb = int(a.edge[i]), int(b.edge[j])
    ends_a = ((net.edge_u[ea], a.along[i]), (net.edge_v[ea], net.edge_length[ea] - a.along[i]))
    ends_b = ((net.edge_u[eb], b.along[j]), (net.edge_v[eb], net.edge_length[eb] - b.along[j]))
    for na, da in ends_a:
        lengths = nx.single_source_dijkstra_path_length(g, int(na), weight="w")
        for nb, db in ends_b:
            if int(nb) in lengths:
                best = min(best, lengths[int(nb)] + da + db)
    if ea == eb:
        best = min(best, abs(a.along[i] - b.along[j]))
    return float(best + a.offset[i] + b.offset[j])


def test_real_roads_graph_matches_networkx(real_net: WalkNetwork) -> None:
    s = real_net.summary()
    # OSM ways cut at shared vertices: ~33,600 nodes for the 18,574 real road lines.
    assert 30_000 < s["nodes"] < 37_000
    assert s["edges"] > s["nodes"]
    assert s["main_component_share"] > 0.95
    rng = np.random.default_rng(1)
    main = np.flatnonzero(real_net.component == real_net.main)
    xy = real_net.node_xy[rng.choice(main, 600, replace=False)]
    pts = gpd.GeoSeries(shapely.points(xy + rng.normal(0, 30, xy.shape)), crs="EPSG:32748")
    snap = real_net.snap(pts)
    assert snap.ok.all()
    assert (snap.offset < 200).all()
    stops, homes = snap.subset(np.arange(60)), snap.subset(np.arange(60, 600))
    dist = real_net.distances(stops, limit=1000.0, predecessors=True)
    walk, src = dist.to_points(homes)
    reached = np.flatnonzero(np.isfinite(walk))
    assert 20 < len(reached) < len(homes)
    assert (walk[reached] <= 1000.0).all()
    g = _nx_graph(real_net)
    for i in reached[:12]:
        expect = _nx_walk(real_net, g, stops, int(src[i]), homes, int(i))
        assert walk[i] == pytest.approx(expect, abs=1e-6)
        # No other stop is nearer.
        others = [_nx_walk(real_net, g, stops, k, homes, int(i)) for k in range(0, 60, 7)]
        assert walk[i] <= min(others) + 1e-6
        # The route drawn has the length walked along the streets.
        route = real_net.route(dist, homes, int(i))
        assert route is not None
        on_street = walk[i] - stops.offset[src[i]] - homes.offset[i]
        assert GEOD.geometry_length(route) == pytest.approx(on_street, rel=0.01, abs=1.0)
    # Beyond the limit: unreached, no source, no route.
    far = np.flatnonzero(~np.isfinite(walk))[0]
    assert src[far] == -1
    assert real_net.route(dist, homes, int(far)) is None


def test_points_far_from_streets_are_off_the_network(real_net: WalkNetwork) -> None:
    snap = real_net.snap(np.array([[106.8456, -6.2088], [0.0, 0.0], [106.9, -5.5]]))
    assert snap.ok.tolist() == [True, False, False]
    assert np.isinf(snap.offset[1:]).all()
    d = real_net.distances(snap, limit=500.0)
    walk, src = d.to_points(snap)
    assert walk[0] == pytest.approx(2 * snap.offset[0])
    assert src[0] == 0
    assert np.isinf(walk[1:]).all()


def test_flooded_streets_are_avoided_and_can_cut_access() -> None:
    city = build_city("small")
    net = WalkNetwork.from_roads(city.layers["roads"])
    stops = net.snap(city.layers["shelters"].geometry.iloc[:3])
    homes = net.snap(city.layers["buildings"].geometry.representative_point().iloc[:500])
    dry = net.distances(stops, limit=3000.0)
    walk_dry, _ = dry.to_points(homes)
    # Flood a disc around the first shelter: the streets there carry no walk any more.
    centre = city.layers["shelters"].to_crs("EPSG:32748").geometry.iloc[0]
    flood = gpd.GeoSeries([centre.buffer(400.0)], crs="EPSG:32748")
    blocked = net.edges_within(flood)
    assert 0 < blocked.sum() < net.n_edges
    wet = net.without(blocked)
    walk_wet, _ = wet.distances(stops, limit=3000.0).to_points(homes)
    assert (walk_wet >= walk_dry - 1e-6).all()  # never shorter with streets closed
    assert (walk_wet > walk_dry + 1e-6).any()
    # A home whose street is flooded is snapped onto an open street instead.
    moved = wet.snap_open(city.layers["buildings"].geometry.representative_point().iloc[:500])
    assert not wet.blocked[moved.edge[moved.ok]].any()
    with pytest.raises(InputError) as err:
        net.without(np.zeros(3, dtype=bool))
    assert err.value.message_id


def test_no_walkable_roads_is_a_clear_error() -> None:
    roads = gpd.GeoDataFrame(
        {"highway": ["motorway"]},
        geometry=[shapely.LineString([(106.8, -6.2), (106.81, -6.2)])],
        crs="EPSG:4326",
    )
    with pytest.raises(InputError) as err:
        WalkNetwork.from_roads(roads)
    assert "walkable" in str(err.value)
    assert err.value.message_id and err.value.hint_id
    # The same road is walkable when motorways are not excluded.
    assert WalkNetwork.from_roads(roads, exclude=set()).n_edges == 1


def test_network_for_caches_per_layer_version(bank: Bank) -> None:
    city = build_city("small")
    bank.write_layer("roads", city.layers["roads"])
    first = network_for(bank, "roads")
    assert network_for(bank, "roads") is first
    assert first.n_edges >= len(city.layers["roads"])


def test_route_between_points_at_the_same_spot_is_a_zero_length_line() -> None:
    city = build_city("small")
    net = WalkNetwork.from_roads(city.layers["roads"])
    here = city.layers["shelters"].geometry.iloc[:1]
    snap = net.snap(here)
    dist = net.distances(snap, limit=100.0, predecessors=True)
    route = net.route(dist, snap, 0)
    assert route is not None and route.length == 0.0
