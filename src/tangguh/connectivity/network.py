"""The walking network: streets as a graph, points snapped onto it, distances along it.

A roads layer (any LineStrings; OSM-style ``highway`` or InaSAFE-style ``TYPE`` class
column) is projected to UTM 48S (metres) and cut into edges at every vertex shared by two
or more lines and at every line end, as a routing graph needs (OSM ways cross at shared
vertices, not at their ends). Nodes are those vertices; edges keep their polyline and
length. Walking ignores ``oneway``; motorways are left out by default (Jakarta's toll
roads have no footway).

Points (stops, homes, shelters) are *snapped onto edges*, not to the nearest node: a
snap records the edge, the position along it and the straight offset from the point to
the street, and both count in distances. Distances come from one multi-source Dijkstra
(``scipy.sparse.csgraph.dijkstra`` with ``min_only``) over the graph extended by one
virtual node per source, joined to both ends of its edge with the partial lengths; the
virtual nodes have no incoming edges, so no path passes through them, and
``sources`` tells which source is nearest to every node.

Examples
--------
>>> net = WalkNetwork.from_roads(roads)                       # doctest: +SKIP
>>> stops = net.snap(stop_points)                              # doctest: +SKIP
>>> homes = net.snap(home_points)                              # doctest: +SKIP
>>> d = net.distances(stops, limit=500.0)                      # doctest: +SKIP
>>> walk = d.to_points(homes)  # metres, inf beyond the limit  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely import ops

from tangguh.errors import InputError

if TYPE_CHECKING:
    from tangguh.bank import Bank

__all__ = [
    "METRIC_CRS",
    "NOT_WALKABLE",
    "Distances",
    "Snap",
    "WalkNetwork",
    "network_for",
    "to_metric",
]

#: Projected CRS of every network computation (UTM zone 48S, metres).
METRIC_CRS = "EPSG:32748"
#: Road classes left out of the walking network by default.
NOT_WALKABLE = frozenset({"motorway", "motorway_link", "toll", "jalan tol"})
#: Columns that may hold the road class, in order of preference.
_CLASS_COLUMNS = ("highway", "TYPE", "type", "fclass", "class")
#: Vertices closer than this (metres) are the same node.
_NODE_TOLERANCE_M = 0.01
#: Shortest edge weight (csgraph would read an explicit 0 as "no edge" in some paths).
_MIN_WEIGHT = 1e-3

_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def to_metric(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Shapely geometries in EPSG:4326 -> the same geometries in :data:`METRIC_CRS`."""
    arr = np.asarray(geoms, dtype=object)
    return np.asarray(
        shapely.transform(
            arr, lambda xy: np.column_stack(_TO_METRIC.transform(xy[:, 0], xy[:, 1]))
        ),
        dtype=object,
    )


def _to_wgs84(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    arr = np.asarray(geoms, dtype=object)
    return np.asarray(
        shapely.transform(arr, lambda xy: np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1]))),
        dtype=object,
    )


@dataclass(frozen=True)
class Snap:
    """Points snapped onto the network's edges.

    Attributes
    ----------
    edge:
        Edge index per point, ``-1`` where no edge is within the snap distance.
    along:
        Metres from the edge's first node along the edge to the snapped position.
    offset:
        Straight metres from the point to the edge (walked too).
    """

    edge: npt.NDArray[np.int64]
    along: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        """True where the point is on the network."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def subset(self, mask: npt.ArrayLike) -> Snap:
        """The snaps selected by a boolean mask or an index array."""
        sel = np.asarray(mask)
        return Snap(self.edge[sel], self.along[sel], self.offset[sel])


@dataclass(frozen=True)
class Distances:
    """Result of :meth:`WalkNetwork.distances`: per node, the walk to the nearest source.

    Attributes
    ----------
    node:
        Metres from the nearest source to every node (``inf`` beyond the limit).
    source:
        Index (into the sources' :class:`Snap`) of that nearest source, ``-1`` if none.
    predecessor:
        Previous node on the shortest path (``-9999`` at a source's virtual node or
        where unreached); values ``>= n_nodes`` are sources' virtual nodes.
    limit:
        The distance limit used (metres).
    """

    network: WalkNetwork
    sources: Snap
    node: npt.NDArray[np.float64]
    source: npt.NDArray[np.int64]
    predecessor: npt.NDArray[np.int32] | None
    limit: float

    def to_points(self, targets: Snap) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Walking metres from the nearest source to each snapped point, and that source.

        The walk is source offset + along the streets + the target's offset; points off
        the network or beyond the limit get ``inf`` and source ``-1``. Sources on the
        same edge as a target are reached directly along that edge.
        """
        net = self.network
        ok = targets.ok
        e = np.where(ok, targets.edge, 0)
        u = net.edge_u[e]
        v = net.edge_v[e]
        along = targets.along
        rest = net.edge_length[e] - along
        via_u = self.node[u] + along
        via_v = self.node[v] + rest
        use_v = via_v < via_u
        dist = np.where(use_v, via_v, via_u) + targets.offset
        src = np.where(use_v, self.source[v], self.source[u])
        # Sources on the target's own edge: walk straight along it.
        same = ok & np.isin(e, self.sources.edge)
        if same.any():
            dist, src = _same_edge(dist, src, targets, np.flatnonzero(same), self.sources)
        bad = ~ok | ~(dist <= self.limit)
        dist = np.where(bad, np.inf, dist)
        src = np.where(bad, -1, src)
        return dist, src.astype(np.int64)

    def path_nodes(self, node: int) -> list[int]:
        """Nodes from the nearest source's edge to ``node`` (source end first)."""
        if self.predecessor is None:
            raise InputError(
                "distances were computed without predecessors",
                where="Distances.path_nodes",
                hint="call WalkNetwork.distances(..., predecessors=True)",
                message_id="jarak dihitung tanpa predecessor",
                hint_id="panggil WalkNetwork.distances(..., predecessors=True)",
            )
        n = self.network.n_nodes
        out: list[int] = []
        cur = int(node)
        pred = self.predecessor
        while 0 <= cur < n:
            out.append(cur)
            cur = int(pred[cur])
        out.reverse()
        return out


def _same_edge(
    dist: npt.NDArray[np.float64],
    src: npt.NDArray[np.int64],
    targets: Snap,
    idx: npt.NDArray[np.int64],
    sources: Snap,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    dist = dist.copy()
    src = src.copy()
    order = np.argsort(sources.edge, kind="stable")
    s_edge = sources.edge[order]
    t_edge = targets.edge[idx]
    lo = np.searchsorted(s_edge, t_edge, side="left")
    hi = np.searchsorted(s_edge, t_edge, side="right")
    counts = hi - lo
    rep = np.repeat(np.arange(len(idx)), counts)
    pos = (
        np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)]) if len(rep) else rep
    )
    s = order[pos]
    cand = (
        np.abs(targets.along[idx[rep]] - sources.along[s])
        + targets.offset[idx[rep]]
        + sources.offset[s]
    )
    # Keep, per target, the best candidate.
    best = np.full(len(idx), np.inf)
    np.minimum.at(best, rep, cand)
    winner = np.full(len(idx), -1, dtype=np.int64)
    is_best = cand <= best[rep]
    winner[rep[is_best]] = s[is_best]
    better = best < dist[idx]
    dist[idx[better]] = best[better]
    src[idx[better]] = winner[better]
    return dist, src


class WalkNetwork:
    """A street graph for walking distances (see the module docstring).

    Attributes
    ----------
    node_xy:
        ``(n, 2)`` node coordinates in :data:`METRIC_CRS`.
    edge_u, edge_v:
        End nodes of each edge (``edge_u`` is the first vertex of the edge's line).
    edge_length:
        Metres along each edge.
    edge_road:
        Row position, in the roads frame given to :meth:`from_roads`, of each edge's line.
    edge_geometry:
        The edges' LineStrings in :data:`METRIC_CRS`.
    component:
        Connected-component label of each node; ``main`` is the largest one.
    """

    def __init__(
        self,
        node_xy: npt.NDArray[np.float64],
        edge_u: npt.NDArray[np.int64],
        edge_v: npt.NDArray[np.int64],
        edge_length: npt.NDArray[np.float64],
        edge_road: npt.NDArray[np.int64],
        edge_geometry: npt.NDArray[np.object_],
    ) -> None:
        self.node_xy = node_xy
        self.edge_u = edge_u
        self.edge_v = edge_v
        self.edge_length = edge_length
        self.edge_road = edge_road
        self.edge_geometry = edge_geometry
        n = len(node_xy)
        self.graph, self._edge_of = _graph(n, edge_u, edge_v, edge_length)
        if n:
            _, self.component = connected_components(self.graph, directed=False)
            self.main = int(np.bincount(self.component).argmax())
        else:
            self.component = np.zeros(0, dtype=np.int32)
            self.main = 0
        self._tree: shapely.STRtree | None = None
        self._main_tree: tuple[shapely.STRtree, npt.NDArray[np.int64]] | None = None

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_roads(
        cls,
        roads: gpd.GeoDataFrame,
        *,
        exclude: frozenset[str] | set[str] | None = None,
        class_column: str | None = None,
    ) -> WalkNetwork:
        """Build the network from a roads layer.

        Parameters
        ----------
        roads:
            LineStrings (MultiLineStrings are split into their parts), any CRS with a
            CRS set (EPSG:4326 is assumed when none is).
        exclude:
            Road classes left out (default :data:`NOT_WALKABLE`); compared in lower case.
        class_column:
            The road-class column; default the first of ``highway``, ``TYPE``, ``type``,
            ``fclass``, ``class`` present, else every road is walkable.

        Raises
        ------
        InputError
            When there is no line to build a network from.
        """
        if roads.crs is None:
            roads = roads.set_crs("EPSG:4326")
        keep = np.ones(len(roads), dtype=bool)
        col = class_column or next((c for c in _CLASS_COLUMNS if c in roads.columns), None)
        if col is not None and col not in roads.columns:
            raise InputError(
                f"the roads layer has no column {col!r}",
                where=f"roads.{col}",
                hint=f"use one of: {', '.join(map(str, roads.columns))}",
                message_id=f"lapisan jalan tidak punya kolom {col!r}",
                hint_id=f"gunakan salah satu: {', '.join(map(str, roads.columns))}",
            )
        if col is not None:
            drop = {s.lower() for s in (NOT_WALKABLE if exclude is None else exclude)}
            cls_vals = roads[col].astype("string").str.strip().str.lower()
            keep &= ~cls_vals.isin(drop).fillna(False).to_numpy(dtype=bool)
        geoms = np.asarray(roads.geometry.values, dtype=object)
        kinds = shapely.get_type_id(geoms)
        keep &= np.isin(kinds, (1, 5)) & ~shapely.is_empty(geoms)
        rows = np.flatnonzero(keep)
        if len(rows) == 0:
            raise InputError(
                "no walkable road line to build a network from",
                where="roads",
                hint="import a roads layer (LineStrings), e.g. OSM roads",
                message_id="tidak ada garis jalan yang bisa dilalui untuk membangun jaringan",
                hint_id="impor lapisan jalan (LineString), mis. jalan OSM",
            )
        parts, part_idx = shapely.get_parts(geoms[rows], return_index=True)
        road_of_part = rows[part_idx]
        if roads.crs.to_epsg() == 32748:
            lines = np.asarray(parts, dtype=object)
        elif roads.crs.to_epsg() == 4326:
            lines = to_metric(parts)
        else:
            lines = np.asarray(
                gpd.GeoSeries(parts, crs=roads.crs).to_crs(METRIC_CRS).values, dtype=object
            )
        return cls._from_lines(lines, road_of_part.astype(np.int64))

    @classmethod
    def _from_lines(
        cls, lines: npt.NDArray[np.object_], road_of_line: npt.NDArray[np.int64]
    ) -> WalkNetwork:
        coords, line = shapely.get_coordinates(lines, return_index=True)
        keys = np.round(coords / _NODE_TOLERANCE_M).astype(np.int64)
        _, vid = np.unique(keys, axis=0, return_inverse=True)
        vid = vid.ravel()
        nv = int(vid.max()) + 1
        first = np.r_[True, line[1:] != line[:-1]]
        last = np.r_[line[1:] != line[:-1], True]
        # A vertex is a node when it ends a line or appears more than once overall.
        uses = np.bincount(vid, minlength=nv)
        is_node_v = uses > 1
        is_node_v[vid[first]] = True
        is_node_v[vid[last]] = True
        at_node = is_node_v[vid]
        # Cumulative length along each line.
        step = np.zeros(len(coords))
        step[1:] = np.hypot(*(coords[1:] - coords[:-1]).T)
        step[first] = 0.0
        cum = np.cumsum(step)
        pos = np.flatnonzero(at_node)
        same_line = line[pos[1:]] == line[pos[:-1]]
        a = pos[:-1][same_line]
        b = pos[1:][same_line]
        length = cum[b] - cum[a]
        u_v, v_v = vid[a], vid[b]
        good = u_v != v_v  # a closed ring piece returning to its start carries no walk
        a, b, length, u_v, v_v = a[good], b[good], length[good], u_v[good], v_v[good]
        # Edge polylines: the coordinates a..b of each edge.
        counts = b - a + 1
        starts = np.repeat(a - np.r_[0, np.cumsum(counts)[:-1]], counts)
        take = np.arange(int(counts.sum())) + starts
        edge_geom = np.asarray(
            shapely.linestrings(coords[take], indices=np.repeat(np.arange(len(a)), counts)),
            dtype=object,
        )
        node_vids, inverse = np.unique(np.r_[u_v, v_v], return_inverse=True)
        node_id = inverse.ravel()
        ne = len(a)
        node_xy = np.zeros((len(node_vids), 2))
        node_xy[node_id[:ne]] = coords[a]
        node_xy[node_id[ne:]] = coords[b]
        return cls(
            node_xy=node_xy,
            edge_u=node_id[:ne].astype(np.int64),
            edge_v=node_id[ne:].astype(np.int64),
            edge_length=length.astype(np.float64),
            edge_road=road_of_line[line[a]],
            edge_geometry=edge_geom,
        )

    # -- basic facts --------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.edge_u)

    def summary(self) -> dict[str, Any]:
        """Nodes, edges, total km, components and the share of nodes in the largest."""
        n = self.n_nodes
        return {
            "nodes": n,
            "edges": self.n_edges,
            "length_km": round(float(self.edge_length.sum()) / 1000.0, 3),
            "components": int(self.component.max()) + 1 if n else 0,
            "main_component_share": round(float((self.component == self.main).mean()), 4)
            if n
            else 0.0,
        }

    def edges_frame(self) -> gpd.GeoDataFrame:
        """The edges as a GeoDataFrame in EPSG:4326 (u, v, length_m, road_row)."""
        return gpd.GeoDataFrame(
            {
                "u": self.edge_u,
                "v": self.edge_v,
                "length_m": self.edge_length,
                "road_row": self.edge_road,
            },
            geometry=_to_wgs84(self.edge_geometry),
            crs="EPSG:4326",
        )

    # -- snapping -----------------------------------------------------------------------
    def snap(
        self,
        points: gpd.GeoSeries | gpd.GeoDataFrame | npt.ArrayLike,
        *,
        max_distance: float = 500.0,
        main_only: bool = True,
    ) -> Snap:
        """Snap points onto the nearest edge.

        Parameters
        ----------
        points:
            Shapely points (a GeoSeries/GeoDataFrame in any CRS, or an array of points in
            EPSG:4326, or an ``(n, 2)`` array of lon/lat).
        max_distance:
            Points farther than this (metres) from every edge are left off the network
            (``edge == -1``): a stop 2 km from any street is a data error, not a stop.
        main_only:
            Snap only onto edges of the largest connected piece of the network, so a
            point is never stranded on an island of a few segments.
        """
        xy = self._metric_xy(points)
        n = len(xy)
        edge = np.full(n, -1, dtype=np.int64)
        along = np.zeros(n)
        offset = np.full(n, np.inf)
        if n == 0 or self.n_edges == 0:
            return Snap(edge, along, offset)
        tree, edge_ids = self._snap_tree(main_only)
        pts = np.asarray(shapely.points(xy), dtype=object)
        valid = np.isfinite(xy).all(axis=1)
        qi, ei = tree.query_nearest(
            pts[valid], max_distance=max_distance, all_matches=False, return_distance=False
        )
        idx = np.flatnonzero(valid)[qi]
        e = edge_ids[ei]
        geo = self.edge_geometry[e]
        edge[idx] = e
        along[idx] = shapely.line_locate_point(geo, pts[idx])
        offset[idx] = shapely.distance(geo, pts[idx])
        return Snap(edge, along, offset)

    def _metric_xy(
        self, points: gpd.GeoSeries | gpd.GeoDataFrame | npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        if isinstance(points, gpd.GeoDataFrame):
            points = points.geometry
        if isinstance(points, gpd.GeoSeries):
            series = points if points.crs is not None else points.set_crs("EPSG:4326")
            if series.crs.to_epsg() != 32748:
                if series.crs.to_epsg() == 4326:
                    lonlat = shapely.get_coordinates(np.asarray(series.values, dtype=object))
                    return self._lonlat_xy(lonlat, series)
                series = series.to_crs(METRIC_CRS)
            return np.asarray(shapely.get_coordinates(np.asarray(series.values, dtype=object)))
        arr = np.asarray(points)
        if arr.dtype == object:
            return self._lonlat_xy(shapely.get_coordinates(arr), arr)
        arr = np.asarray(arr, dtype=np.float64).reshape(-1, 2)
        x, y = _TO_METRIC.transform(arr[:, 0], arr[:, 1])
        return np.column_stack([x, y])

    @staticmethod
    def _lonlat_xy(lonlat: npt.NDArray[np.float64], original: Any) -> npt.NDArray[np.float64]:
        if len(lonlat) != len(original):
            raise InputError(
                "every point to snap must be a single non-empty Point",
                where="points",
                hint="use representative points of polygons; drop empty geometries",
                message_id="setiap titik yang di-snap harus satu Point yang tidak kosong",
                hint_id="gunakan titik representatif poligon; buang geometri kosong",
            )
        x, y = _TO_METRIC.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([x, y])

    def _snap_tree(self, main_only: bool) -> tuple[shapely.STRtree, npt.NDArray[np.int64]]:
        if main_only:
            if self._main_tree is None:
                ids = np.flatnonzero(self.component[self.edge_u] == self.main).astype(np.int64)
                self._main_tree = (shapely.STRtree(self.edge_geometry[ids]), ids)
            return self._main_tree
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_geometry)
        return self._tree, np.arange(self.n_edges, dtype=np.int64)

    # -- distances ----------------------------------------------------------------------
    def distances(
        self,
        sources: Snap,
        *,
        limit: float = np.inf,
        predecessors: bool = False,
    ) -> Distances:
        """Walk from the nearest of ``sources`` to every node, up to ``limit`` metres.

        Sources off the network (``edge == -1``) are ignored. With ``predecessors`` the
        shortest-path tree is kept for :meth:`route`.
        """
        n = self.n_nodes
        use = np.flatnonzero(sources.ok & (sources.offset <= limit))
        if len(use) == 0:
            return Distances(
                self,
                sources,
                np.full(n, np.inf),
                np.full(n, -1, dtype=np.int64),
                np.full(n, -9999, dtype=np.int32) if predecessors else None,
                float(limit),
            )
        graph = self._with_sources(sources, use)
        k = len(use)
        virtual = np.arange(n, n + k)
        lim = float(limit) if np.isfinite(limit) else np.inf
        result = dijkstra(
            graph,
            directed=True,
            indices=virtual,
            limit=lim,
            min_only=True,
            return_predecessors=True,
        )
        dist, pred, src = result
        src = np.asarray(src)[:n]
        source = np.where(src >= n, use[np.clip(src - n, 0, k - 1)], -1).astype(np.int64)
        return Distances(
            self,
            sources,
            np.asarray(dist)[:n],
            source,
            np.asarray(pred, dtype=np.int32) if predecessors else None,
            float(limit),
        )

    def _with_sources(self, sources: Snap, use: npt.NDArray[np.int64]) -> csr_matrix:
        """The graph plus one virtual node per used source, joined to its edge's ends."""
        n = self.n_nodes
        k = len(use)
        e = sources.edge[use]
        along = sources.along[use]
        off = sources.offset[use]
        w_u = np.maximum(off + along, _MIN_WEIGHT)
        w_v = np.maximum(off + self.edge_length[e] - along, _MIN_WEIGHT)
        base = self.graph
        data = np.concatenate([base.data, np.column_stack([w_u, w_v]).ravel()])
        cols = np.concatenate(
            [base.indices, np.column_stack([self.edge_u[e], self.edge_v[e]]).ravel()]
        ).astype(np.int32)
        indptr = np.concatenate([base.indptr, base.indptr[-1] + 2 * np.arange(1, k + 1)]).astype(
            np.int32
        )
        return csr_matrix((data, cols, indptr), shape=(n + k, n + k))

    # -- routes -------------------------------------------------------------------------
    def route(self, dist: Distances, target: Snap, i: int = 0) -> shapely.LineString | None:
        """The walking route (EPSG:4326) from the nearest source to target point ``i``.

        ``dist`` must come from :meth:`distances` with ``predecessors=True``. ``None``
        when the target is not reached within the limit.
        """
        one = target.subset([i])
        d, s = dist.to_points(one)
        if not np.isfinite(d[0]) or s[0] < 0:
            return None
        e_t = int(one.edge[0])
        src_snap = dist.sources.subset([int(s[0])])
        e_s = int(src_snap.edge[0])
        if (
            e_t == e_s
            and abs(float(one.along[0]) - float(src_snap.along[0]))
            + float(one.offset[0])
            + float(src_snap.offset[0])
            <= float(d[0]) + 1e-6
        ):
            a, b = sorted((float(src_snap.along[0]), float(one.along[0])))
            piece = ops.substring(self.edge_geometry[e_t], a, b)
            return _one_wgs84(piece)
        u, v = int(self.edge_u[e_t]), int(self.edge_v[e_t])
        along = float(one.along[0])
        via_u = dist.node[u] + along
        via_v = dist.node[v] + self.edge_length[e_t] - along
        end = u if via_u <= via_v else v
        nodes = dist.path_nodes(end)
        pieces: list[npt.NDArray[np.float64]] = []
        # From the source's position on its edge to the first node.
        first = nodes[0]
        geo_s = self.edge_geometry[e_s]
        pos_s = float(src_snap.along[0])
        if first == int(self.edge_u[e_s]):
            pieces.append(_coords(ops.substring(geo_s, pos_s, 0.0)))
        else:
            pieces.append(_coords(ops.substring(geo_s, pos_s, self.edge_length[e_s])))
        for a_node, b_node in itertools.pairwise(nodes):
            pieces.append(self._edge_coords(a_node, b_node))
        geo_t = self.edge_geometry[e_t]
        if end == u:
            pieces.append(_coords(ops.substring(geo_t, 0.0, along)))
        else:
            pieces.append(_coords(ops.substring(geo_t, self.edge_length[e_t], along)))
        xy = np.concatenate([p for p in pieces if len(p)])
        if len(xy) < 2:
            xy = np.vstack([xy, xy])
        return _one_wgs84(shapely.linestrings(xy))

    def _edge_coords(self, a: int, b: int) -> npt.NDArray[np.float64]:
        """Coordinates of the shortest edge between nodes a and b, from a to b."""
        lo, hi = self.graph.indptr[a], self.graph.indptr[a + 1]
        cols = self.graph.indices[lo:hi]
        hit = np.flatnonzero(cols == b)
        e = int(self._edge_of[lo + hit[0]])
        xy = _coords(self.edge_geometry[e])
        return xy if int(self.edge_u[e]) == a else xy[::-1]

    # -- flooded streets ----------------------------------------------------------------
    def edges_within(self, areas: gpd.GeoSeries | gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
        """True for every edge that touches one of ``areas`` (polygons, any CRS)."""
        if isinstance(areas, gpd.GeoDataFrame):
            areas = areas.geometry
        series = areas if areas.crs is not None else areas.set_crs("EPSG:4326")
        series = series[~series.is_empty & series.notna()]
        mask = np.zeros(self.n_edges, dtype=bool)
        if len(series) == 0 or self.n_edges == 0:
            return mask
        if series.crs.to_epsg() == 4326:
            polys = to_metric(series.values)
        else:
            polys = np.asarray(series.to_crs(METRIC_CRS).values, dtype=object)
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_geometry)
        _, hit = self._tree.query(polys, predicate="intersects")
        mask[hit] = True
        return mask

    def without(self, blocked: npt.ArrayLike) -> WalkNetwork:
        """The same nodes with the ``blocked`` edges (boolean mask) removed.

        Edge indices stay the same (removed edges keep their geometry but carry no
        walk), so snaps made on this network stay valid on the result.
        """
        mask = np.asarray(blocked, dtype=bool)
        if mask.shape != (self.n_edges,):
            raise InputError(
                f"blocked mask has {mask.size} values for {self.n_edges} edges",
                where="blocked",
                hint="pass one boolean per edge, e.g. from edges_within(flood_areas)",
                message_id=f"masker blokir berisi {mask.size} nilai untuk {self.n_edges} ruas",
                hint_id="berikan satu boolean per ruas, mis. dari edges_within(area_banjir)",
            )
        net = WalkNetwork.__new__(WalkNetwork)
        net.node_xy = self.node_xy
        net.edge_u = self.edge_u
        net.edge_v = self.edge_v
        net.edge_length = self.edge_length
        net.edge_road = self.edge_road
        net.edge_geometry = self.edge_geometry
        open_ = ~mask
        net.graph, net._edge_of = _graph(
            self.n_nodes, self.edge_u, self.edge_v, self.edge_length, keep=open_
        )
        net.component = self.component
        net.main = self.main
        net.blocked = mask
        net._tree = self._tree
        net._main_tree = None
        return net

    #: Edges removed by :meth:`without` (all False on a network built from roads).
    blocked: npt.NDArray[np.bool_] | None = None

    def snap_open(self, points: Any, *, max_distance: float = 500.0) -> Snap:
        """Like :meth:`snap`, but only onto edges that are not blocked."""
        snap = self.snap(points, max_distance=max_distance)
        if self.blocked is None or not self.blocked.any():
            return snap
        bad = snap.ok & self.blocked[np.where(snap.ok, snap.edge, 0)]
        if not bad.any():
            return snap
        xy = self._metric_xy(points)[bad]
        open_ids = np.flatnonzero(~self.blocked & (self.component[self.edge_u] == self.main))
        tree = shapely.STRtree(self.edge_geometry[open_ids])
        pts = np.asarray(shapely.points(xy), dtype=object)
        qi, ei = tree.query_nearest(pts, max_distance=max_distance, all_matches=False)
        edge = snap.edge.copy()
        along = snap.along.copy()
        offset = snap.offset.copy()
        idx = np.flatnonzero(bad)
        edge[idx] = -1
        offset[idx] = np.inf
        hit = idx[qi]
        e = open_ids[ei]
        edge[hit] = e
        along[hit] = shapely.line_locate_point(self.edge_geometry[e], pts[qi])
        offset[hit] = shapely.distance(self.edge_geometry[e], pts[qi])
        return Snap(edge, along, offset)


def _one_wgs84(geom: Any) -> shapely.LineString:
    if isinstance(geom, shapely.Point):  # source and target at the same spot
        geom = shapely.LineString([geom, geom])
    out = _to_wgs84(np.array([geom], dtype=object))[0]
    assert isinstance(out, shapely.LineString)
    return out


def _coords(geom: Any) -> npt.NDArray[np.float64]:
    return np.asarray(shapely.get_coordinates(geom), dtype=np.float64)


def _graph(
    n: int,
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    length: npt.NDArray[np.float64],
    *,
    keep: npt.NDArray[np.bool_] | None = None,
) -> tuple[csr_matrix, npt.NDArray[np.int64]]:
    """Symmetric CSR of the shortest edge between each node pair (both directions), and
    the edge index of each stored entry."""
    eid = np.arange(len(u), dtype=np.int64)
    if keep is not None:
        eid = eid[keep]
    rows = np.concatenate([u[eid], v[eid]])
    cols = np.concatenate([v[eid], u[eid]])
    w = np.maximum(np.concatenate([length[eid], length[eid]]), _MIN_WEIGHT)
    ids = np.concatenate([eid, eid])
    # Parallel edges: keep the shortest of each (row, col) pair.
    order = np.lexsort((w, cols, rows))
    rows, cols, w, ids = rows[order], cols[order], w[order], ids[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    rows, cols, w, ids = rows[first], cols[first], w[first], ids[first]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return csr_matrix((w, cols.astype(np.int32), indptr), shape=(n, n)), ids


# -- cache per bank layer version -------------------------------------------------------
_CACHE: OrderedDict[tuple[str, str, int], WalkNetwork] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 4


def network_for(bank: Bank, layer: str = "roads", *, version: int | None = None) -> WalkNetwork:
    """The walking network of a roads layer of ``bank``, built once per layer version.

    Raises
    ------
    NotFoundError
        When the layer does not exist (from the bank).
    InputError
        When the layer has no walkable line.
    """
    info = bank.layer(layer)
    ver = int(version if version is not None else info.current_version)
    key = (str(bank.url), layer, ver)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    roads = bank.read_layer(layer, version=ver)
    net = WalkNetwork.from_roads(roads)
    with _CACHE_LOCK:
        _CACHE[key] = net
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return net
