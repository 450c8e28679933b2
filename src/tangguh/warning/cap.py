"""CAP 1.2 (OASIS Common Alerting Protocol): build, validate, parse; Atom feed of alerts.

- :func:`build_cap` writes an :class:`~tangguh.warning.model.AlertRecord` as a CAP 1.2
  message with two ``<info>`` blocks (``id-ID`` and ``en-US``), elements in the strict
  XSD order, times in WIB (``+07:00``, never ``Z``) and ``<area>`` blocks made by
  :func:`areas_for_units` (one area per warned admin unit: simplified polygons with
  ``lat,lon`` pairs, geocodes ``tangguh:unit_id``, ``BPS`` and ``KEMENDAGRI``).
- :func:`validate_cap` checks a message against the OASIS XSD (see :func:`schema_path`)
  and the rules the XSD cannot express (polygon closure and ranges, circle radius,
  references on Update/Cancel).
- :func:`parse_cap` reads an external message (e.g. a BMKG nowcast) into
  :class:`ParsedCap`, after :func:`validate_cap`.
- :func:`atom_feed` lists issued alert versions as an Atom 1.0 feed, newest first.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import shapely
from lxml import etree
from shapely import affinity
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from tangguh.errors import ImportError_, InputError
from tangguh.warning.model import AlertRecord

__all__ = [
    "CAP_NS",
    "HAZARD_EVENTS",
    "MAX_POINTS",
    "WIB",
    "CapArea",
    "CapCircle",
    "ParsedCap",
    "ParsedInfo",
    "areas_for_units",
    "atom_feed",
    "build_cap",
    "cap_time",
    "cap_url",
    "parse_cap",
    "reference",
    "schema_path",
    "validate_cap",
]

log = logging.getLogger(__name__)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
_C = f"{{{CAP_NS}}}"
#: Western Indonesia Time, the zone of every time Tangguh writes in CAP.
WIB = timezone(timedelta(hours=7), "WIB")
#: Most vertices over all polygons of one info block; above it polygons are simplified more.
MAX_POINTS = 4000
#: First simplification tolerance in degrees (about 11 m in Jakarta).
_TOLERANCE = 0.0001

#: hazard -> (event in Bahasa Indonesia, event in English, CAP category).
#: CAP 1.2 defines ``Met`` as "Meteorological (inc. flood)", ``Geo`` as "Geophysical
#: (inc. landslide)"; river and tidal (rob) flooding are therefore ``Met``.
HAZARD_EVENTS: dict[str, tuple[str, str, str]] = {
    "flood": ("Banjir", "Flood", "Met"),
    "tide": ("Banjir rob", "Coastal flood", "Met"),
    "rain": ("Hujan lebat", "Heavy rain", "Met"),
    "weather": ("Cuaca ekstrem", "Severe weather", "Met"),
    "landslide": ("Tanah longsor", "Landslide", "Geo"),
    "earthquake": ("Gempa bumi", "Earthquake", "Geo"),
    "tsunami": ("Tsunami", "Tsunami", "Geo"),
    "fire": ("Kebakaran", "Fire", "Fire"),
    "air_quality": ("Kualitas udara buruk", "Poor air quality", "Env"),
}

#: Siaga level -> CAP responseType (Cancel messages use AllClear).
_RESPONSE = {1: ["Evacuate"], 2: ["Prepare"], 3: ["Prepare", "Monitor"], 4: ["AllClear"]}


# -- time and geometry helpers ---------------------------------------------------------


def cap_time(value: datetime) -> str:
    """``value`` as a CAP dateTime in WIB: ``2026-02-10T14:00:00+07:00`` (no Z, no fraction)."""
    if value.tzinfo is None:
        raise InputError(
            f"naive time {value.isoformat()} in a CAP message",
            message_id=f"waktu tanpa zona {value.isoformat()} dalam pesan CAP",
            where="CAP time",
            hint="give tz-aware times (WIB is +07:00)",
            hint_id="berikan waktu dengan zona (WIB adalah +07:00)",
        )
    return value.astimezone(WIB).replace(microsecond=0).isoformat()


def reference(sender: str, identifier: str, sent: datetime) -> str:
    """One CAP ``references`` triplet ``sender,identifier,sent``."""
    return f"{sender},{identifier},{cap_time(sent)}"


def cap_url(base_url: str, alert_id: str, version: int) -> str:
    """Where the CAP XML of an alert version is published (the feed links to it)."""
    return f"{base_url.rstrip('/')}/alerts/{alert_id}/{version}.xml"


@dataclass(frozen=True)
class CapCircle:
    """A CAP circle: centre ``lat,lon`` and radius in kilometres."""

    lat: float
    lon: float
    radius_km: float

    def geometry(self) -> BaseGeometry:
        """An approximate polygon (lon/lat degrees) of the circle."""
        dlat = self.radius_km / 111.32
        dlon = dlat / max(math.cos(math.radians(self.lat)), 1e-6)
        disc = Point(0.0, 0.0).buffer(1.0, 32)
        return affinity.affine_transform(disc, [dlon, 0, 0, dlat, self.lon, self.lat])

    def text(self) -> str:
        return f"{self.lat:.5f},{self.lon:.5f} {self.radius_km:g}"


@dataclass
class CapArea:
    """A CAP ``<area>``: description, polygons (shapely, lon/lat), circles, geocodes."""

    area_desc: str
    polygons: list[Polygon] = field(default_factory=list)
    circles: list[CapCircle] = field(default_factory=list)
    #: (valueName, value) pairs
    geocodes: list[tuple[str, str]] = field(default_factory=list)

    def geometry(self) -> BaseGeometry | None:
        """Union of polygons and circles, or None when the area has only geocodes."""
        parts: list[BaseGeometry] = [*self.polygons, *(c.geometry() for c in self.circles)]
        if not parts:
            return None
        return shapely.union_all(parts)


def _rings(geom: BaseGeometry | None) -> list[Polygon]:
    """The polygons of ``geom`` without holes (CAP polygons are simple rings)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [Polygon(geom.exterior)]
    out: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        out.extend(_rings(part))
    return out


def _polygon_text(poly: Polygon) -> str:
    """``lat,lon lat,lon …`` of the exterior ring, closed, 5 decimals (about 1 m)."""
    pairs: list[str] = []
    for lon, lat in poly.exterior.coords:
        pair = f"{lat:.5f},{lon:.5f}"
        if not pairs or pairs[-1] != pair:
            pairs.append(pair)
    if pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    return " ".join(pairs)


def _distinct(poly: Polygon) -> int:
    """Distinct vertices of the ring at the 5 decimals written to CAP."""
    return len({(round(x, 5), round(y, 5)) for x, y in poly.exterior.coords})


def _simplified(polys: list[Polygon], tolerance: float) -> list[Polygon]:
    """Simplified parts; parts under 1% of the largest one and rings that collapse at
    5 decimals are dropped; a unit left without any keeps its bounding box."""
    if not polys:
        return []
    largest = max(p.area for p in polys)
    out = []
    for poly in polys:
        if poly.area < 0.01 * largest:
            continue
        simple = shapely.simplify(poly, tolerance, preserve_topology=True)
        ok = [r for r in _rings(simple) if r.area > 0 and _distinct(r) >= 3]
        if not ok and _distinct(poly) >= 3:
            ok = [Polygon(poly.exterior)]
        out.extend(ok)
    if not out:
        envelope = shapely.envelope(shapely.union_all(polys))
        out = [envelope] if isinstance(envelope, Polygon) and _distinct(envelope) >= 3 else []
    return out


def areas_for_units(
    units: Any, unit_ids: Sequence[str], *, max_points: int = MAX_POINTS, dissolve_above: int = 50
) -> list[CapArea]:
    """One :class:`CapArea` per warned unit, from the bank's ``admin_units`` frame.

    Each unit's (multi)polygon becomes one CAP polygon per part (exterior ring only),
    simplified with a tolerance of 0.0001° (≈11 m) that doubles until all areas together
    have at most ``max_points`` vertices. Geocodes: ``tangguh:unit_id`` always, ``BPS``
    and ``KEMENDAGRI`` when the unit has those codes. A unit missing from ``units``
    gets a geocode-only area. More than ``dissolve_above`` units become a single area:
    the dissolved outline of all of them with every unit's geocodes (keeps a
    city-wide alert small).
    """
    frame = units.set_index("unit_id", drop=False) if len(units) else units
    names = frame["name"].to_dict() if "name" in frame.columns else {}
    parents = frame["parent_id"].to_dict() if "parent_id" in frame.columns else {}
    plan: list[tuple[str, list[Polygon], list[tuple[str, str]]]] = []
    for unit_id in dict.fromkeys(unit_ids):
        codes: list[tuple[str, str]] = [("tangguh:unit_id", unit_id)]
        if len(frame) == 0 or unit_id not in frame.index:
            plan.append((unit_id, [], codes))
            continue
        row = frame.loc[unit_id]
        for name, column in (("BPS", "code_bps"), ("KEMENDAGRI", "code_kemendagri")):
            value = row.get(column) if hasattr(row, "get") else None
            if value is not None and str(value) not in ("", "nan", "None"):
                codes.append((name, str(value)))
        desc = str(names.get(unit_id) or unit_id)
        parent = parents.get(unit_id)
        if parent is not None and str(parent) in names and str(parent) != "nan":
            desc = f"{desc}, {names[str(parent)]}"
        plan.append((desc, _rings(row.geometry), codes))
    if len(plan) > dissolve_above:
        # one area: the dissolved outline of all units, with every unit's geocodes
        outline = shapely.union_all([p for _, polys, _ in plan for p in polys])
        shown = ", ".join(d for d, _, _ in plan[:10])
        desc = f"{shown} (+{len(plan) - 10})"
        plan = [(desc, _rings(outline), [c for _, _, codes in plan for c in codes])]
    tolerance = _TOLERANCE
    while True:
        simplified = [(d, _simplified(p, tolerance), c) for d, p, c in plan]
        total = sum(len(p.exterior.coords) for _, polys, _ in simplified for p in polys)
        if total <= max_points or tolerance > 0.05:
            break
        tolerance *= 2
    return [CapArea(area_desc=d, polygons=p, geocodes=c) for d, p, c in simplified]


# -- building ----------------------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, _C + tag)
    if text is not None:
        el.text = text
    return el


def _pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    el = _sub(parent, tag)
    _sub(el, "valueName", name)
    _sub(el, "value", value)


def build_cap(
    alert: AlertRecord,
    *,
    sender: str,
    areas: list[CapArea],
    references: list[str],
    web: str | None,
    status: str = "Actual",
    sender_name: str = "BPBD DKI Jakarta",
    event: tuple[str, str] | None = None,
    category: str | None = None,
    parameters: Sequence[tuple[str, str]] = (),
    note: str | None = None,
    source: str | None = None,
    validate: bool = True,
) -> bytes:
    """``alert`` as a CAP 1.2 message (UTF-8 bytes), XSD-validated unless ``validate=False``.

    ``status`` is the CAP status (Actual, Exercise, Test, Draft); ``msgType`` comes from
    ``alert.msg_type``; ``references`` are ``sender,identifier,sent`` triplets of the
    messages this one updates or cancels; ``event`` (id, en) and ``category`` default
    from :data:`HAZARD_EVENTS`. Both info blocks carry the same areas and parameters
    (``SIAGA_LEVEL``, ``STATION``, ``ALERT_ID``, ``VERSION`` plus ``parameters``).
    """
    hazard = HAZARD_EVENTS.get(alert.hazard, (alert.hazard, alert.hazard, "Other"))
    ev_id, ev_en = event or (hazard[0], hazard[1])
    cat = category or hazard[2]
    sent = alert.sent or alert.updated
    root = etree.Element(_C + "alert", nsmap={None: CAP_NS})  # type: ignore[dict-item]
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(sent))
    _sub(root, "status", status)
    _sub(root, "msgType", alert.msg_type)
    if source:
        _sub(root, "source", source)
    _sub(root, "scope", "Public")
    if note:
        _sub(root, "note", note)
    if references:
        _sub(root, "references", " ".join(references))
    response = _RESPONSE[4] if alert.msg_type == "Cancel" else _RESPONSE.get(alert.level, [])
    params = [("SIAGA_LEVEL", str(alert.level))]
    if alert.station_id:
        params.append(("STATION", alert.station_id))
    params += [("ALERT_ID", alert.alert_id), ("VERSION", str(alert.version)), *parameters]
    for lang, ev, head, desc, instr in (
        ("id-ID", ev_id, alert.headline_id, alert.description_id, alert.instruction_id),
        ("en-US", ev_en, alert.headline_en, alert.description_en, alert.instruction_en),
    ):
        info = _sub(root, "info")
        _sub(info, "language", lang)
        _sub(info, "category", cat)
        _sub(info, "event", ev)
        for rt in response:
            _sub(info, "responseType", rt)
        _sub(info, "urgency", alert.urgency)
        _sub(info, "severity", alert.severity)
        _sub(info, "certainty", alert.certainty)
        if alert.onset is not None and alert.msg_type != "Cancel":
            _sub(info, "onset", cap_time(alert.onset))
        if alert.expires is not None:
            _sub(info, "expires", cap_time(alert.expires))
        _sub(info, "senderName", sender_name)
        _sub(info, "headline", head)
        _sub(info, "description", desc)
        if instr:
            _sub(info, "instruction", instr)
        if web:
            _sub(info, "web", web)
        for name, value in params:
            _pair(info, "parameter", name, value)
        for area in areas:
            block = _sub(info, "area")
            _sub(block, "areaDesc", area.area_desc)
            for poly in area.polygons:
                _sub(block, "polygon", _polygon_text(poly))
            for circle in area.circles:
                _sub(block, "circle", circle.text())
            for name, value in area.geocodes:
                _pair(block, "geocode", name, value)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if validate:
        validate_cap(xml)
    return xml


# -- schema and validation -----------------------------------------------------------------


def schema_path() -> Path | None:
    """The CAP 1.2 XSD: ``$TANGGUH_CAP_XSD``, else ``$TANGGUH_SHARED_DATA/cap/CAP-v1.2.xsd``,
    else ``../shared/data/cap/CAP-v1.2.xsd`` next to the source checkout; None if absent."""
    candidates: list[Path] = []
    if os.environ.get("TANGGUH_CAP_XSD"):
        candidates.append(Path(os.environ["TANGGUH_CAP_XSD"]))
    if os.environ.get("TANGGUH_SHARED_DATA"):
        candidates.append(Path(os.environ["TANGGUH_SHARED_DATA"]) / "cap" / "CAP-v1.2.xsd")
    repo = Path(__file__).resolve().parents[3]
    candidates.append(repo.parent / "shared" / "data" / "cap" / "CAP-v1.2.xsd")
    return next((p for p in candidates if p.is_file()), None)


@lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


_warned_no_schema = False


def _bad(
    message: str, message_id: str, where: str, hint: str | None = None, hint_id: str | None = None
) -> ImportError_:
    return ImportError_(
        message,
        message_id=message_id,
        where=where,
        hint=hint or "fix the message; CAP 1.2 is defined by OASIS CAP-v1.2.xsd",
        hint_id=hint_id or "perbaiki pesannya; CAP 1.2 didefinisikan oleh OASIS CAP-v1.2.xsd",
    )


def _load(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise _bad(
            f"not XML: {exc.msg}",
            f"bukan XML: {exc.msg}",
            f"line {exc.lineno}" if exc.lineno else "CAP message",
            "give a CAP 1.2 XML message",
            "berikan pesan XML CAP 1.2",
        ) from None
    if root.tag != _C + "alert":
        qname = etree.QName(root)
        raise _bad(
            f"not a CAP 1.2 message: root element {qname.localname!r} in namespace "
            f"{qname.namespace!r}, expected 'alert' in {CAP_NS!r}",
            f"bukan pesan CAP 1.2: elemen akar {qname.localname!r} dengan namespace "
            f"{qname.namespace!r}, seharusnya 'alert' dengan {CAP_NS!r}",
            f"<{qname.localname}> (line {root.sourceline})",
        )
    return root


def _xsd_check(root: etree._Element) -> None:
    global _warned_no_schema
    path = schema_path()
    if path is None:
        if not _warned_no_schema:
            log.warning(
                "CAP-v1.2.xsd not found (set TANGGUH_CAP_XSD); CAP messages are checked "
                "without the XSD"
            )
            _warned_no_schema = True
        return
    schema = _schema(str(path))
    if schema.validate(root):
        return
    err = schema.error_log.last_error  # type: ignore[attr-defined]
    element = err.message.split("'")[1].split("}")[-1] if "'" in err.message else "alert"
    text = err.message.replace("{" + CAP_NS + "}", "")
    raise _bad(
        f"CAP message fails the CAP 1.2 schema at <{element}>: {text}",
        f"pesan CAP tidak sah menurut skema CAP 1.2 pada <{element}>: {text}",
        f"<{element}> (line {err.line})",
    )


def _where(el: etree._Element) -> str:
    return f"<{etree.QName(el).localname}> (line {el.sourceline})"


def _required(root: etree._Element) -> None:
    for tag in ("identifier", "sender", "sent", "status", "msgType", "scope"):
        if root.find(_C + tag) is None or not (root.findtext(_C + tag) or "").strip():
            raise _bad(
                f"CAP message lacks <{tag}>",
                f"pesan CAP tidak memiliki <{tag}>",
                f"<alert> (line {root.sourceline})",
            )
    for info in root.findall(_C + "info"):
        for tag in ("category", "event", "urgency", "severity", "certainty"):
            if info.find(_C + tag) is None:
                raise _bad(
                    f"CAP <info> lacks <{tag}>",
                    f"<info> CAP tidak memiliki <{tag}>",
                    _where(info),
                )


def _check_ident(root: etree._Element) -> None:
    for tag in ("identifier", "sender"):
        el = root.find(_C + tag)
        value = (el.text or "") if el is not None else ""
        if el is not None and (any(c.isspace() for c in value) or "," in value):
            raise _bad(
                f"CAP <{tag}> {value!r} contains a space or a comma",
                f"<{tag}> CAP {value!r} berisi spasi atau koma",
                _where(el),
                "CAP 1.2 forbids spaces and commas in identifier and sender",
                "CAP 1.2 melarang spasi dan koma pada identifier dan sender",
            )
    msg_type = root.findtext(_C + "msgType")
    refs = root.find(_C + "references")
    if msg_type in ("Update", "Cancel") and (refs is None or not (refs.text or "").strip()):
        raise _bad(
            f"CAP {msg_type} message without <references>",
            f"pesan CAP {msg_type} tanpa <references>",
            f"<msgType> (line {root.find(_C + 'msgType').sourceline})",  # type: ignore[union-attr]
            "an Update or Cancel names the messages it replaces: 'sender,identifier,sent …'",
            "Update atau Cancel menyebut pesan yang digantikannya: 'sender,identifier,sent …'",
        )
    if refs is not None:
        for token in (refs.text or "").split():
            if token.count(",") != 2:
                raise _bad(
                    f"CAP <references> item {token!r} is not 'sender,identifier,sent'",
                    f"butir <references> CAP {token!r} bukan 'sender,identifier,sent'",
                    _where(refs),
                )


def _latlon(text: str, el: etree._Element) -> tuple[float, float]:
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise _bad(
            f"CAP coordinate {text!r} is not 'lat,lon'",
            f"koordinat CAP {text!r} bukan 'lat,lon'",
            _where(el),
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        raise _bad(
            f"CAP coordinate {text!r} is outside the world (latitude must be within ±90, "
            "longitude ±180): are latitude and longitude swapped?",
            f"koordinat CAP {text!r} di luar bumi (lintang harus dalam ±90, bujur ±180): "
            "apakah lintang dan bujur tertukar?",
            _where(el),
            "CAP polygons and circles are 'lat,lon' (latitude first), e.g. '-6.2,106.8'",
            "poligon dan lingkaran CAP ditulis 'lat,lon' (lintang dulu), mis. '-6.2,106.8'",
        )
    return lat, lon


def _polygon(el: etree._Element) -> Polygon:
    pts = [_latlon(token, el) for token in (el.text or "").split()]
    distinct = list(dict.fromkeys(pts))
    if len(distinct) < 3:
        raise _bad(
            f"CAP <polygon> has {len(distinct)} distinct points; a polygon needs at least 3 "
            "(4 pairs with the first repeated at the end)",
            f"<polygon> CAP memiliki {len(distinct)} titik berbeda; poligon perlu minimal 3 "
            "(4 pasangan dengan titik pertama diulang di akhir)",
            _where(el),
        )
    if pts[0] != pts[-1]:
        # Real feeds (BMKG) are reported to carry unclosed rings: close them.
        log.info("closing an unclosed CAP polygon at line %s", el.sourceline)
        pts.append(pts[0])
    poly = Polygon([(lon, lat) for lat, lon in pts])
    if not poly.is_valid:
        rings = _rings(shapely.make_valid(poly))
        poly = max(rings, key=lambda p: p.area) if rings else Polygon()
    return poly


def _circle(el: etree._Element) -> CapCircle:
    parts = (el.text or "").split()
    if len(parts) != 2:
        raise _bad(
            f"CAP <circle> {el.text!r} is not 'lat,lon radius'",
            f"<circle> CAP {el.text!r} bukan 'lat,lon radius'",
            _where(el),
        )
    lat, lon = _latlon(parts[0], el)
    try:
        radius = float(parts[1])
    except ValueError:
        radius = -1.0
    if not radius >= 0:
        raise _bad(
            f"CAP <circle> radius {parts[1]!r} is not a number of kilometres >= 0",
            f"jari-jari <circle> CAP {parts[1]!r} bukan angka kilometer >= 0",
            _where(el),
        )
    return CapCircle(lat, lon, radius)


def _areas(info: etree._Element) -> list[CapArea]:
    out = []
    for block in info.findall(_C + "area"):
        out.append(
            CapArea(
                area_desc=(block.findtext(_C + "areaDesc") or "").strip(),
                polygons=[_polygon(p) for p in block.findall(_C + "polygon")],
                circles=[_circle(c) for c in block.findall(_C + "circle")],
                geocodes=[
                    (
                        (g.findtext(_C + "valueName") or "").strip(),
                        (g.findtext(_C + "value") or "").strip(),
                    )
                    for g in block.findall(_C + "geocode")
                ],
            )
        )
    return out


def validate_cap(xml: bytes) -> None:
    """Raise :class:`~tangguh.errors.ImportError_` (naming the element and line) unless
    ``xml`` is a valid CAP 1.2 message.

    Checks: well-formed XML, root ``alert`` in the CAP 1.2 namespace, the OASIS XSD
    (skipped with a logged warning when the XSD cannot be found, see
    :func:`schema_path`), required elements, no space/comma in identifier and sender,
    ``references`` triplets (required on Update/Cancel), polygon and circle syntax,
    coordinates inside the world (swapped lat/lon), at least 3 distinct polygon points.
    """
    root = _load(xml)
    _xsd_check(root)
    _required(root)
    _check_ident(root)
    for info in root.findall(_C + "info"):
        _areas(info)


# -- parsing ----------------------------------------------------------------------------------


def _time(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    return datetime.fromisoformat(text.strip())


@dataclass
class ParsedInfo:
    """One ``<info>`` block of a parsed CAP message."""

    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: list[str] = field(default_factory=list)
    event_codes: list[tuple[str, str]] = field(default_factory=list)
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: list[tuple[str, str]] = field(default_factory=list)
    areas: list[CapArea] = field(default_factory=list)


@dataclass
class ParsedCap:
    """A CAP 1.2 message read by :func:`parse_cap`."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: list[str] = field(default_factory=list)
    note: str | None = None
    source: str | None = None
    infos: list[ParsedInfo] = field(default_factory=list)

    @property
    def referenced_identifiers(self) -> list[str]:
        """The identifiers named in ``references`` (middle of each triplet)."""
        return [r.split(",")[1] for r in self.references]

    def areas(self) -> list[CapArea]:
        return [a for info in self.infos for a in info.areas]

    def geometry(self) -> BaseGeometry | None:
        """Union of all polygons and circles of all info blocks (None if there are none)."""
        parts = [g for a in self.areas() if (g := a.geometry()) is not None]
        return shapely.union_all(parts) if parts else None

    def info(self, language: str) -> ParsedInfo | None:
        """The first info block whose language starts with ``language`` (``id``, ``en``)."""
        return next((i for i in self.infos if i.language.lower().startswith(language)), None)


def parse_cap(xml: bytes) -> ParsedCap:
    """Validate (:func:`validate_cap`) and read a CAP 1.2 message.

    Polygons become shapely polygons in lon/lat (unclosed rings are closed), circles
    :class:`CapCircle`, geocodes ``(valueName, value)`` pairs; times are tz-aware.
    """
    validate_cap(xml)
    root = _load(xml)

    def text(el: etree._Element, tag: str) -> str | None:
        value = el.findtext(_C + tag)
        return value.strip() if value is not None else None

    infos = []
    for el in root.findall(_C + "info"):
        infos.append(
            ParsedInfo(
                language=text(el, "language") or "en-US",
                categories=[(c.text or "").strip() for c in el.findall(_C + "category")],
                event=text(el, "event") or "",
                urgency=text(el, "urgency") or "Unknown",
                severity=text(el, "severity") or "Unknown",
                certainty=text(el, "certainty") or "Unknown",
                response_types=[(c.text or "").strip() for c in el.findall(_C + "responseType")],
                event_codes=[
                    (text(c, "valueName") or "", text(c, "value") or "")
                    for c in el.findall(_C + "eventCode")
                ],
                effective=_time(text(el, "effective")),
                onset=_time(text(el, "onset")),
                expires=_time(text(el, "expires")),
                sender_name=text(el, "senderName"),
                headline=text(el, "headline"),
                description=text(el, "description"),
                instruction=text(el, "instruction"),
                web=text(el, "web"),
                contact=text(el, "contact"),
                parameters=[
                    (text(c, "valueName") or "", text(c, "value") or "")
                    for c in el.findall(_C + "parameter")
                ],
                areas=_areas(el),
            )
        )
    sent = _time(text(root, "sent"))
    assert sent is not None  # checked by _required
    return ParsedCap(
        identifier=text(root, "identifier") or "",
        sender=text(root, "sender") or "",
        sent=sent,
        status=text(root, "status") or "",
        msg_type=text(root, "msgType") or "",
        scope=text(root, "scope") or "",
        references=(text(root, "references") or "").split(),
        note=text(root, "note"),
        source=text(root, "source"),
        infos=infos,
    )


# -- Atom feed ----------------------------------------------------------------------------------


def atom_feed(
    alerts: Iterable[AlertRecord],
    *,
    base_url: str,
    title: str = "Peringatan dini BPBD DKI Jakarta / Early warnings, BPBD DKI Jakarta",
    author: str = "BPBD DKI Jakarta",
) -> bytes:
    """An Atom 1.0 feed with one entry per given alert version, newest first.

    Each entry: ``id`` = the CAP URL of the version (:func:`cap_url`), title
    "headline_id / headline_en", ``updated`` = the version's ``sent`` (WIB), a
    ``link rel="alternate" type="application/cap+xml"`` to the CAP XML, categories
    ``msgType`` and ``siaga-<level>``, and both descriptions as the summary.
    """
    items = sorted(
        alerts,
        key=lambda a: ((a.sent or a.updated), a.version, a.alert_id),
        reverse=True,
    )
    base = base_url.rstrip("/")
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(a + "feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]
    etree.SubElement(feed, a + "id").text = f"{base}/alerts/feed.atom"
    etree.SubElement(feed, a + "title").text = title
    newest = items[0].sent or items[0].updated if items else datetime.now(WIB)
    etree.SubElement(feed, a + "updated").text = cap_time(newest)
    who = etree.SubElement(feed, a + "author")
    etree.SubElement(who, a + "name").text = author
    etree.SubElement(feed, a + "link", rel="self", href=f"{base}/alerts/feed.atom")
    for rec in items:
        url = cap_url(base, rec.alert_id, rec.version)
        entry = etree.SubElement(feed, a + "entry")
        etree.SubElement(entry, a + "id").text = url
        etree.SubElement(entry, a + "title").text = f"{rec.headline_id} / {rec.headline_en}"
        etree.SubElement(entry, a + "updated").text = cap_time(rec.sent or rec.updated)
        etree.SubElement(entry, a + "published").text = cap_time(rec.sent or rec.updated)
        etree.SubElement(entry, a + "link", rel="alternate", type="application/cap+xml", href=url)
        etree.SubElement(entry, a + "category", term=rec.msg_type)
        etree.SubElement(entry, a + "category", term=f"siaga-{rec.level}")
        etree.SubElement(
            entry, a + "summary"
        ).text = f"{rec.description_id}\n\n{rec.description_en}"
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
