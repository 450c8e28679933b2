"""Coordinate reference systems of the OGC API – Features endpoints (Part 2: CRS by Reference).

The bank stores every geometry in EPSG:4326 with longitude/latitude order, i.e. OGC CRS84
(the storage CRS). Responses can be given in any CRS of :data:`SUPPORTED`; coordinates are
then in the axis order that CRS defines (EPSG:4326 is latitude, longitude; the projected
ones are easting, northing), as Part 2 requires. A ``bbox`` can be given in any of them
with ``bbox-crs``, in that CRS's axis order too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from tangguh.errors import InputError

__all__ = [
    "CRS84",
    "SUPPORTED",
    "CrsDef",
    "bbox_to_crs84",
    "parse_crs",
    "transform_geoms",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class CrsDef:
    """One supported CRS: its URI, the pyproj code and whether its first axis is latitude."""

    uri: str
    code: str
    title: str
    geographic: bool

    @property
    def is_crs84(self) -> bool:
        return self.uri == CRS84


#: The CRS a client may ask for (``crs``, ``bbox-crs``), in the order they are advertised.
SUPPORTED: dict[str, CrsDef] = {
    d.uri: d
    for d in (
        CrsDef(CRS84, "OGC:CRS84", "WGS 84 longitude/latitude (CRS84)", True),
        CrsDef(_EPSG + "4326", "EPSG:4326", "WGS 84 latitude/longitude (EPSG:4326)", True),
        CrsDef(_EPSG + "3857", "EPSG:3857", "WGS 84 / Pseudo-Mercator (EPSG:3857)", False),
        CrsDef(_EPSG + "32748", "EPSG:32748", "WGS 84 / UTM zone 48S (EPSG:32748)", False),
        CrsDef(
            _EPSG + "23834", "EPSG:23834", "DGN95 / Indonesia TM-3 zone 48.2 (EPSG:23834)", False
        ),
    )
}

_ALIASES: dict[str, str] = {}
for _d in SUPPORTED.values():
    _ALIASES[_d.uri.lower()] = _d.uri
    _ALIASES[_d.code.lower()] = _d.uri
    _ALIASES[f"[{_d.code.lower()}]"] = _d.uri  # safe CURIE, e.g. [EPSG:3857]
    _ALIASES[_d.uri.lower().replace("http://", "https://")] = _d.uri
_ALIASES["crs84"] = CRS84
_ALIASES["ogc:crs84"] = CRS84


def parse_crs(value: str, *, param: str = "crs") -> CrsDef:
    """The :class:`CrsDef` named by a ``crs``/``bbox-crs`` value (URI, ``EPSG:n`` or CURIE).

    Raises :class:`InputError` (HTTP 400) for a CRS the server does not offer.
    """
    uri = _ALIASES.get(value.strip().lower())
    if uri is None:
        offered = ", ".join(SUPPORTED)
        raise InputError(
            f"unsupported {param} {value!r}",
            where=f"query parameter {param}",
            hint=f"use one of {offered}",
            message_id=f"{param} {value!r} tidak didukung",
            hint_id=f"gunakan salah satu dari {offered}",
        )
    return SUPPORTED[uri]


_local = threading.local()


def _transformer(src: str, dst: str) -> pyproj.Transformer:
    """A cached transformer in the CRSs' own axis order (one set per thread: pyproj
    transformers are not shared between threads)."""
    cache: dict[tuple[str, str], pyproj.Transformer] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = (src, dst)
    found = cache.get(key)
    if found is None:
        found = cache[key] = pyproj.Transformer.from_crs(src, dst, always_xy=False)
    return found


def transform_geoms(geoms: NDArray[np.object_], target: CrsDef) -> NDArray[np.object_]:
    """Geometries in CRS84 -> ``target`` (coordinates in its axis order)."""
    if target.is_crs84 or not len(geoms):
        return geoms
    if target.code == "EPSG:4326":
        return shapely.transform(geoms, lambda xy: xy[:, ::-1])
    tr = _transformer("OGC:CRS84", target.code)

    def forward(x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
        return tr.transform(x, y)

    return shapely.transform(geoms, cast(Any, forward), interleaved=False)


def bbox_to_crs84(
    bbox: tuple[float, float, float, float], crs: CrsDef
) -> tuple[tuple[float, float, float, float], bytes | None]:
    """A ``bbox`` given in ``crs`` (its axis order) as CRS84 search bounds.

    Returns ``(bounds, region)``: ``region`` is None when the box is a lon/lat rectangle
    (CRS84, EPSG:4326), else the WKB of the densified box outline in CRS84, which the
    exact intersection test uses (a projected rectangle is not a lon/lat rectangle).
    """
    a0, b0, a1, b1 = bbox
    if crs.is_crs84:
        return (a0, b0, a1, b1), None
    if crs.code == "EPSG:4326":
        return (b0, a0, b1, a1), None
    ring = shapely.segmentize(shapely.box(a0, b0, a1, b1), max((a1 - a0), (b1 - b0)) / 32)
    tr = _transformer(crs.code, "OGC:CRS84")

    def inverse(x: NDArray[np.float64], y: NDArray[np.float64]) -> Any:
        return tr.transform(x, y)

    poly = shapely.transform(ring, cast(Any, inverse), interleaved=False)
    if not shapely.is_valid(poly) or not np.isfinite(shapely.bounds(poly)).all():
        raise InputError(
            "the bbox cannot be transformed to longitude/latitude",
            where="query parameters bbox, bbox-crs",
            hint="give a bbox inside the area of use of bbox-crs",
            message_id="bbox tidak dapat ditransformasikan ke bujur/lintang",
            hint_id="berikan bbox di dalam wilayah penggunaan bbox-crs",
        )
    x0, y0, x1, y1 = (float(v) for v in shapely.bounds(poly))
    return (x0, y0, x1, y1), shapely.to_wkb(poly)
