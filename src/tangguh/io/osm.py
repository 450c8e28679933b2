"""Read OpenStreetMap files into Tangguh layers: buildings, roads, amenities, waterways.

OSM extracts (Geofabrik ``.osm.pbf``, JOSM/Overpass ``.osm`` XML, optionally
``.gz``/``.bz2`` compressed) are the richest open source of exposure data for
Jakarta: building footprints with levels, the road graph used for evacuation
routing, critical facilities (hospitals, schools, mosques used as shelters) and the
drainage network (kali, saluran). This module turns one file into four plain
GeoDataFrames in EPSG:4326 (OSM coordinates are WGS84 lon/lat) with tidy, typed
columns, ready for :meth:`tangguh.bank.base.Bank.write_layer`.

Reading uses pyosmium (libosmium): a streaming two-pass reader that caches node
locations and assembles (multi)polygons from closed ways and ``type=multipolygon``
relations. Objects whose geometry cannot be built (a way referencing a node that is
not in the file, a broken multipolygon ring) are skipped and *counted* in an
:class:`OsmReport`; nothing is dropped silently.

JOSM files with unsaved objects use negative ids, which libosmium's location cache
cannot hold. Ways made only of such nodes are rebuilt here from the node
coordinates; multipolygon relations with negative ids cannot be assembled and are
reported as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import osmium.filter
import pandas as pd
import shapely

from tangguh.errors import ImportError_, InputError

__all__ = [
    "AMENITY_CATEGORIES",
    "OSM_LAYERS",
    "WATERWAY_TYPES",
    "OsmReport",
    "layers_from_osm",
    "read_osm",
]

#: The layers this module can build, in the order they are returned.
OSM_LAYERS: tuple[str, ...] = ("buildings", "roads", "amenities", "waterways")

#: ``amenity=*`` values kept in the amenities layer and their normalised category.
AMENITY_CATEGORIES: dict[str, str] = {
    "hospital": "hospital",
    "clinic": "clinic",
    "doctors": "clinic",
    "school": "school",
    "kindergarten": "school",
    "college": "higher_education",
    "university": "higher_education",
    "place_of_worship": "place_of_worship",
    "marketplace": "market",
    "shelter": "shelter",
    "police": "police",
    "fire_station": "fire_station",
    "townhall": "government",
    "community_centre": "community_centre",
}

#: ``waterway=*`` values kept in the waterways layer (linear features only).
WATERWAY_TYPES: frozenset[str] = frozenset({"river", "stream", "canal", "drain", "ditch"})

_COLUMNS: dict[str, list[str]] = {
    "buildings": ["osm_id", "name", "building", "levels", "levels_raw", "height", "amenity"],
    "roads": ["osm_id", "name", "highway", "oneway", "lanes", "surface"],
    "amenities": [
        "osm_id",
        "name",
        "category",
        "amenity",
        "religion",
        "capacity",
        "shelter_type",
    ],
    "waterways": ["osm_id", "name", "waterway", "width"],
}
_KEYS = ("building", "highway", "amenity", "waterway", "emergency", "social_facility")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_MAX_PROBLEMS = 50
_PROGRESS_EVERY = 10_000
# pandas >= 3 has a NaN-missing string dtype ("str"); older pandas keeps text as object.
_TEXT_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object


@dataclass
class OsmReport:
    """What an OSM read produced and what it had to leave out.

    Attributes
    ----------
    path:
        The file that was read.
    counts:
        Features per layer after the optional bbox filter.
    skipped:
        Objects per layer whose geometry could not be built (missing nodes,
        unclosed building ways, broken multipolygons).
    outside_bbox:
        Features per layer dropped because they do not intersect ``bbox``.
    problems:
        Up to 50 examples such as ``"w12 (buildings): missing node locations"``.
    objects_read:
        Tagged OSM objects examined (nodes, ways, relations, assembled areas).
    """

    path: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    outside_bbox: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    objects_read: int = 0

    def skip(self, layer: str, osm_id: str, reason: str) -> None:
        """Count one skipped object and keep the first examples."""
        self.skipped[layer] = self.skipped.get(layer, 0) + 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"{osm_id} ({layer}): {reason}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the report."""
        return {
            "path": self.path,
            "counts": dict(self.counts),
            "skipped": dict(self.skipped),
            "outside_bbox": dict(self.outside_bbox),
            "problems": list(self.problems),
            "objects_read": self.objects_read,
        }


def parse_levels(value: str | None) -> int | None:
    """Parse ``building:levels`` into an int: ``'3'`` -> 3, ``'3;4'`` -> 4, ``'10+'`` -> 10.

    Multiple values (``;``-separated parts of one building) give the highest, the
    figure that matters for vertical evacuation; decimals are floored; values that
    hold no number or are negative give ``None``.
    """
    if not value:
        return None
    numbers = [float(m.replace(",", ".")) for m in _NUMBER.findall(value)]
    numbers = [n for n in numbers if n >= 0]
    return int(max(numbers)) if numbers else None


def parse_int(value: str | None) -> int | None:
    """Parse an OSM integer tag (``lanes``, ``capacity``); the first number wins."""
    if not value:
        return None
    match = _NUMBER.search(value)
    if match is None:
        return None
    number = float(match.group().replace(",", "."))
    return int(number) if number >= 0 else None


def parse_metres(value: str | None) -> float | None:
    """Parse a length tag (``height``, ``width``) into metres.

    OSM's default unit is metres (``'12'``, ``'12 m'``); ``ft`` / ``'`` values are
    converted (1 ft = 0.3048 m).
    """
    if not value:
        return None
    match = _NUMBER.search(value)
    if match is None:
        return None
    number = float(match.group().replace(",", "."))
    rest = value[match.end() :].strip().lower()
    if rest.startswith(("ft", "'", "feet")):
        number *= 0.3048
    return number


_SUFFIX_FORMATS = (
    (".osm.pbf", "pbf"),
    (".pbf", "pbf"),
    (".osm.gz", "osm.gz"),
    (".osm.bz2", "osm.bz2"),
    (".osm", "osm"),
    (".xml", "osm"),
    (".o5m", "o5m"),
    (".opl", "opl"),
)


def _osm_file(path: Path) -> tuple[osmium.io.File, str]:
    """Open ``path`` by extension, or by sniffing its first bytes; return (file, format)."""
    name = path.name.lower()
    for suffix, fmt in _SUFFIX_FORMATS:
        if name.endswith(suffix):
            return osmium.io.File(str(path), fmt), fmt
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.startswith(b"\x1f\x8b"):
        fmt = "osm.gz"
    elif head.startswith(b"BZh"):
        fmt = "osm.bz2"
    elif b"OSMHeader" in head:
        fmt = "pbf"
    elif head.lstrip().startswith(b"<"):
        fmt = "osm"
    else:
        raise ImportError_(
            "not an OpenStreetMap file",
            where=str(path),
            hint="give an OSM XML (.osm) or PBF (.osm.pbf) file, e.g. a Geofabrik extract",
            message_id="bukan berkas OpenStreetMap",
            hint_id="berikan berkas OSM XML (.osm) atau PBF (.osm.pbf), mis. ekstrak Geofabrik",
        )
    return osmium.io.File(str(path), fmt), fmt


def _frame(layer: str, rows: list[dict[str, Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    columns = _COLUMNS[layer]
    data = pd.DataFrame.from_records(rows, columns=columns)
    for col in ("levels", "lanes", "capacity"):
        if col in data.columns:
            data[col] = pd.array(data[col].tolist(), dtype="Int64")
    for col in ("height", "width"):
        if col in data.columns:
            data[col] = pd.to_numeric(data[col], errors="coerce").astype("float64")
    if "oneway" in data.columns:
        data["oneway"] = data["oneway"].astype(bool)
    for col in columns:
        if data[col].dtype == object:
            # text columns: one dtype whatever the content (pandas' string dtype, NaN = missing)
            data[col] = data[col].astype(_TEXT_DTYPE)
    values = np.empty(len(geoms), dtype=object)
    values[:] = geoms
    is_wkb = np.fromiter((isinstance(g, str) for g in geoms), dtype=bool, count=len(geoms))
    if is_wkb.any():
        values[is_wkb] = shapely.from_wkb(values[is_wkb].astype(str))
    geometry = gpd.GeoSeries(values, crs="EPSG:4326")
    return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def read_osm(
    path: str | Path,
    *,
    layers: Sequence[str] = OSM_LAYERS,
    bbox: tuple[float, float, float, float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], OsmReport]:
    """Read an OSM file into layers and return them with an :class:`OsmReport`.

    Parameters
    ----------
    path:
        ``.osm`` XML, ``.osm.pbf``, or ``.osm.gz`` / ``.osm.bz2``; other names are
        recognised by their first bytes.
    layers:
        Which of :data:`OSM_LAYERS` to build.
    bbox:
        ``(min_lon, min_lat, max_lon, max_lat)`` in EPSG:4326; features that do not
        intersect it are dropped (and counted in ``report.outside_bbox``).
    progress:
        Called every 10,000 tagged objects and once at the end with the number of
        tagged OSM objects examined so far (untagged nodes are not counted).

    Returns
    -------
    (layers, report)
        ``layers`` maps each requested layer name to a GeoDataFrame in EPSG:4326:

        - ``buildings``: MultiPolygon; osm_id, name, building, levels (Int64),
          levels_raw, height (float, metres), amenity.
        - ``roads``: LineString in travel direction (``oneway=-1`` ways reversed);
          osm_id, name, highway, oneway (bool), lanes (Int64), surface.
        - ``amenities``: Point (areas via a point on their surface); osm_id, name,
          category, amenity, religion, capacity (Int64), shelter_type.
        - ``waterways``: LineString; osm_id, name, waterway, width (float, metres).

        ``osm_id`` is the OSM type letter plus id: ``n6``, ``w123``, ``r45``.

    Raises
    ------
    InputError
        Unknown layer name or malformed ``bbox``.
    ImportError_
        Missing file, a file that is not OSM, or a truncated/corrupt file.
    """
    path = Path(path)
    if isinstance(layers, str):  # a single name given as a string
        layers = (layers,)
    unknown = [name for name in layers if name not in OSM_LAYERS]
    if unknown:
        raise InputError(
            f"unknown OSM layer(s): {', '.join(unknown)}",
            where="layers",
            hint=f"choose from {', '.join(OSM_LAYERS)}",
            message_id=f"lapisan OSM tidak dikenal: {', '.join(unknown)}",
            hint_id=f"pilih dari {', '.join(OSM_LAYERS)}",
        )
    if bbox is not None and not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
        raise InputError(
            f"invalid bbox {bbox}",
            where="bbox",
            hint="give (min_lon, min_lat, max_lon, max_lat) in degrees, e.g. "
            "(106.68, -6.38, 106.98, -6.08) for Jakarta",
            message_id=f"bbox {bbox} tidak sah",
            hint_id="berikan (min_lon, min_lat, max_lon, max_lat) dalam derajat, mis. "
            "(106.68, -6.38, 106.98, -6.08) untuk Jakarta",
        )
    if not path.is_file():
        raise ImportError_(
            "OSM file not found",
            where=str(path),
            hint="check the path, or download an extract with `tangguh fetch`",
            message_id="berkas OSM tidak ditemukan",
            hint_id="periksa path, atau unduh ekstrak dengan `tangguh fetch`",
        )
    from tangguh.io._osm_handler import _Collector, _NegativeNodes

    report = OsmReport(path=str(path))
    source, fmt = _osm_file(path)
    collector = _Collector(layers, report, xml=fmt.startswith("osm"))
    wanted_area_keys = ["building", "amenity", "emergency", "social_facility"]
    processor = (
        osmium.FileProcessor(source)
        .with_areas(osmium.filter.KeyFilter(*wanted_area_keys))
        .with_filter(osmium.filter.KeyFilter(*_KEYS))
    )
    if fmt.startswith("osm"):
        processor.handler_for_filtered(_NegativeNodes(collector.negative_nodes))
    try:
        for obj in processor:
            report.objects_read += 1
            if isinstance(obj, osmium.osm.Node):
                collector.node(obj)
            elif isinstance(obj, osmium.osm.Way):
                collector.way(obj)
            elif isinstance(obj, osmium.osm.Area):
                collector.area(obj)
            elif isinstance(obj, osmium.osm.Relation):
                collector.relation(obj)
            if progress is not None and report.objects_read % _PROGRESS_EVERY == 0:
                progress(report.objects_read)
    except RuntimeError as exc:
        raise ImportError_(
            f"cannot read OSM file: {exc}",
            where=str(path),
            hint="the file may be truncated or not OSM XML/PBF; download it again "
            "or check it with `osmium fileinfo`",
            message_id=f"berkas OSM tidak dapat dibaca: {exc}",
            hint_id="berkas mungkin terpotong atau bukan OSM XML/PBF; unduh ulang "
            "atau periksa dengan `osmium fileinfo`",
        ) from exc
    collector.finish()
    if progress is not None:
        progress(report.objects_read)

    frames: dict[str, gpd.GeoDataFrame] = {}
    for name in OSM_LAYERS:
        if name not in collector.want:
            continue
        frame = _frame(name, collector.rows[name], collector.geoms[name])
        if bbox is not None and len(frame):
            inside = shapely.intersects(frame.geometry.values, shapely.box(*bbox))
            report.outside_bbox[name] = int((~inside).sum())
            frame = frame.loc[inside].reset_index(drop=True)
        report.counts[name] = len(frame)
        report.skipped.setdefault(name, 0)
        frames[name] = frame
    return frames, report


def layers_from_osm(
    path: str | Path,
    *,
    layers: Sequence[str] = OSM_LAYERS,
    bbox: tuple[float, float, float, float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Read an OSM file into the layers of :data:`OSM_LAYERS` (EPSG:4326).

    Same as :func:`read_osm` but returns only the frames; the :class:`OsmReport`
    (skipped objects and why) is attached to every frame as
    ``frame.attrs["osm_report"]`` (a JSON-ready dict) so it is not lost. Use
    :func:`read_osm` when the report is needed as an object.
    """
    frames, report = read_osm(path, layers=layers, bbox=bbox, progress=progress)
    summary = report.to_json()
    for frame in frames.values():
        frame.attrs["osm_report"] = summary
    return frames
