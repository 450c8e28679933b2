"""The pyosmium handlers behind :func:`tangguh.io.osm.read_osm`.

Private to :mod:`tangguh.io.osm`. :class:`_Collector` is fed every tagged object of
the file (nodes, ways, relations and the areas libosmium assembles) and keeps one list
of attribute rows and one list of lon/lat geometries (EPSG:4326; WKB hex or shapely
objects) per layer; objects whose geometry cannot be built are counted in the
:class:`~tangguh.io.osm.OsmReport`. :class:`_NegativeNodes` keeps the locations of
negative-id (JOSM) nodes, which libosmium's location cache cannot hold.

This module imports :mod:`tangguh.io.osm` (tags, constants, report); ``read_osm``
imports it back only when called, so there is no import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import osmium
import shapely
from shapely.geometry.base import BaseGeometry

from tangguh.io.osm import (
    AMENITY_CATEGORIES,
    OSM_LAYERS,
    WATERWAY_TYPES,
    OsmReport,
    parse_int,
    parse_levels,
    parse_metres,
)

_ONEWAY_TRUE = frozenset({"yes", "1", "true"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})


def _oneway(tags: osmium.osm.TagList) -> tuple[bool, bool]:
    """Return (oneway, reverse) for a highway way."""
    value = (tags.get("oneway") or "").strip().lower()
    if value in _ONEWAY_REVERSE:
        return True, True
    if value in _ONEWAY_TRUE:
        return True, False
    if not value and tags.get("junction") in ("roundabout", "circular"):
        return True, False
    return False, False


def _amenity_category(tags: osmium.osm.TagList) -> str | None:
    category = AMENITY_CATEGORIES.get(tags.get("amenity") or "")
    if category is not None:
        return category
    if tags.get("emergency") == "assembly_point":
        return "assembly_point"
    if tags.get("social_facility") == "shelter":
        return "shelter"
    return None


def _amenity_row(osm_id: str, tags: osmium.osm.TagList, category: str) -> dict[str, Any]:
    return {
        "osm_id": osm_id,
        "name": tags.get("name"),
        "category": category,
        "amenity": tags.get("amenity"),
        "religion": tags.get("religion"),
        "capacity": parse_int(tags.get("capacity")),
        "shelter_type": tags.get("shelter_type"),
    }


def _geometry(geom: str | BaseGeometry) -> BaseGeometry:
    """A shapely geometry from WKB (hex) or a geometry."""
    return shapely.from_wkb(geom) if isinstance(geom, str) else geom


class _NegativeNodes:
    """Fallback handler for untagged nodes of XML files: keeps negative-id locations.

    Only installed for XML input (JOSM files): PBF extracts never hold negative ids
    and are too large for a Python call per node.
    """

    def __init__(self, store: dict[int, tuple[float, float]]) -> None:
        self.store = store

    def node(self, node: osmium.osm.Node) -> None:
        if node.id < 0 and node.location.valid():
            self.store[node.id] = (node.location.lon, node.location.lat)


class _Collector:
    """Accumulates rows (attribute dicts + geometries) per layer while streaming."""

    def __init__(self, layers: Sequence[str], report: OsmReport, *, xml: bool) -> None:
        self.want = set(layers)
        self.xml = xml  # only XML (JOSM) files can hold negative ids
        self.report = report
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in OSM_LAYERS}
        # geometries as WKB (hex str, decoded in one vectorised call) or shapely objects
        self.geoms: dict[str, list[Any]] = {name: [] for name in OSM_LAYERS}
        self.factory = osmium.geom.WKBFactory()
        # libosmium cannot cache negative ids (JOSM files): keep those node locations here.
        self.negative_nodes: dict[int, tuple[float, float]] = {}
        # building ways/relations waiting for their assembled area; areas follow their
        # way within one buffer, so this set stays small even for country extracts.
        self.pending: dict[str, str] = {}

    def add(self, layer: str, row: dict[str, Any], geom: Any) -> None:
        self.rows[layer].append(row)
        self.geoms[layer].append(geom)

    # -- nodes -------------------------------------------------------------------
    def node(self, node: osmium.osm.Node) -> None:
        if node.id < 0 and node.location.valid():
            self.negative_nodes[node.id] = (node.location.lon, node.location.lat)
        if "amenities" not in self.want:
            return
        category = _amenity_category(node.tags)
        if category is not None and node.location.valid():
            point = shapely.Point(node.location.lon, node.location.lat)
            self.add("amenities", _amenity_row(f"n{node.id}", node.tags, category), point)

    # -- ways ----------------------------------------------------------------------
    def _negative_coords(self, way: osmium.osm.Way) -> list[tuple[float, float]] | None:
        """Coordinates of a way, taking negative-id nodes from our own cache."""
        coords: list[tuple[float, float]] = []
        for ref in way.nodes:
            if ref.location.valid():
                coords.append((ref.location.lon, ref.location.lat))
            elif (cached := self.negative_nodes.get(ref.ref)) is not None:
                coords.append(cached)
            else:
                return None
        return coords if len(coords) >= 2 else None

    def _way_line(self, way: osmium.osm.Way, *, reverse: bool = False) -> str | BaseGeometry | None:
        """The way as a lon/lat line (WKB, or a geometry for JOSM ways), None when broken.

        ``reverse`` gives the line from the last node to the first (``oneway=-1``).
        """
        direction = osmium.geom.BACKWARD if reverse else osmium.geom.FORWARD
        try:
            return self.factory.create_linestring(way, direction=direction)
        except (osmium.InvalidLocationError, RuntimeError):
            coords = self._negative_coords(way)
            if coords is None:
                return None
            return shapely.LineString(coords[::-1] if reverse else coords)

    def way(self, way: osmium.osm.Way) -> None:
        tags = way.tags
        osm_id = f"w{way.id}"
        closed = len(way.nodes) >= 4 and way.is_closed()
        is_building = "buildings" in self.want and tags.get("building", "no") != "no"
        category = _amenity_category(tags) if "amenities" in self.want else None
        if is_building and not closed:
            self.report.skip("buildings", osm_id, "building way is not closed")
        if closed and (is_building or category is not None):
            if self.xml and any(ref.ref < 0 for ref in way.nodes):
                self._negative_area(osm_id, way, tags, is_building, category)
            elif is_building:
                self.pending[osm_id] = "missing node locations or broken ring"
        highway = tags.get("highway")
        is_road = (
            "roads" in self.want
            and highway is not None
            and tags.get("area") != "yes"
            and not (closed and highway == "pedestrian")
        )
        waterway = tags.get("waterway")
        is_water = "waterways" in self.want and waterway in WATERWAY_TYPES
        is_open_amenity = category is not None and not closed
        if not (is_road or is_water or is_open_amenity):
            return
        line = self._way_line(way)
        if line is None:
            for layer, flag in (
                ("roads", is_road),
                ("waterways", is_water),
                ("amenities", is_open_amenity),
            ):
                if flag:
                    self.report.skip(layer, osm_id, "missing node locations")
            return
        if is_road:
            oneway, reverse = _oneway(tags)
            row: dict[str, Any] = {
                "osm_id": osm_id,
                "name": tags.get("name"),
                "highway": highway,
                "oneway": oneway,
                "lanes": parse_int(tags.get("lanes")),
                "surface": tags.get("surface"),
            }
            self.add("roads", row, self._way_line(way, reverse=True) if reverse else line)
        if is_water:
            row = {
                "osm_id": osm_id,
                "name": tags.get("name"),
                "waterway": waterway,
                "width": parse_metres(tags.get("width")),
            }
            self.add("waterways", row, line)
        if is_open_amenity and category is not None:
            point = shapely.point_on_surface(_geometry(line))
            self.add("amenities", _amenity_row(osm_id, tags, category), point)

    def _negative_area(
        self,
        osm_id: str,
        way: osmium.osm.Way,
        tags: osmium.osm.TagList,
        is_building: bool,
        category: str | None,
    ) -> None:
        """Build the polygon of a closed JOSM way with negative node ids ourselves."""
        coords = self._negative_coords(way)
        polygon = shapely.Polygon(coords) if coords is not None and len(coords) >= 4 else None
        if polygon is None or not polygon.is_valid:
            for layer, flag in (("buildings", is_building), ("amenities", category is not None)):
                if flag:
                    self.report.skip(layer, osm_id, "missing node locations or invalid ring")
            return
        self._emit_area(osm_id, tags, shapely.MultiPolygon([polygon]), is_building, category)

    # -- relations and areas ---------------------------------------------------------
    def relation(self, relation: osmium.osm.Relation) -> None:
        tags = relation.tags
        if (
            "buildings" in self.want
            and tags.get("type") == "multipolygon"
            and tags.get("building", "no") != "no"
        ):
            self.pending[f"r{relation.id}"] = "multipolygon could not be assembled"

    def area(self, area: osmium.osm.Area) -> None:
        tags = area.tags
        osm_id = f"{'w' if area.from_way() else 'r'}{area.orig_id()}"
        is_building = "buildings" in self.want and tags.get("building", "no") != "no"
        category = _amenity_category(tags) if "amenities" in self.want else None
        if not is_building and category is None:
            return
        self.pending.pop(osm_id, None)
        try:
            geom: str | BaseGeometry = self.factory.create_multipolygon(area)
        except (osmium.InvalidLocationError, RuntimeError):
            for layer, flag in (("buildings", is_building), ("amenities", category is not None)):
                if flag:
                    self.report.skip(layer, osm_id, "area geometry could not be built")
            return
        self._emit_area(osm_id, tags, geom, is_building, category)

    def _emit_area(
        self,
        osm_id: str,
        tags: osmium.osm.TagList,
        geom: str | BaseGeometry,
        is_building: bool,
        category: str | None,
    ) -> None:
        if is_building:
            levels_raw = tags.get("building:levels")
            row = {
                "osm_id": osm_id,
                "name": tags.get("name"),
                "building": tags.get("building"),
                "levels": parse_levels(levels_raw),
                "levels_raw": levels_raw,
                "height": parse_metres(tags.get("height")),
                "amenity": tags.get("amenity"),
            }
            self.add("buildings", row, geom)
        if category is not None:
            point = shapely.point_on_surface(_geometry(geom))
            self.add("amenities", _amenity_row(osm_id, tags, category), point)

    def finish(self) -> None:
        """Count building ways/relations that never produced an area."""
        for osm_id, reason in sorted(self.pending.items()):
            self.report.skip("buildings", osm_id, reason)
        self.pending.clear()
