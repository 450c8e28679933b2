"""Hazard inputs normalised for the impact engine: ShakeMap grids and flood polygons.

Two readers live here:

* :func:`shakemap_to_raster` turns a BMKG/USGS ShakeMap ``grid.xml`` (ShakeMap 3.5
  ``shakemap_grid``) into a float32 GeoTIFF in EPSG:4326, so earthquakes go through
  the same raster x polygon code (:mod:`tangguh.risk.zonal`) as flood depth grids.
* :func:`flood_polygons` checks and normalises flood polygons (RW flagged as flooded,
  PetaBencana states, modelled depth polygons) to ``depth_cm``, ``hazard_value`` and
  geometry in EPSG:4326.

Classification of ``hazard_value`` into hazard classes is *not* done here: classes
are data (see the risk classifications), so this module keeps the values as given.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import Affine

from tangguh.errors import ImportError_, InputError

__all__ = [
    "RasterInfo",
    "ShakeEvent",
    "flood_polygons",
    "shakemap_to_raster",
]

#: Indonesian time-zone labels BMKG writes after ShakeMap timestamps, plus UTC names.
_ZONE_OFFSETS_H: dict[str, int] = {"WIB": 7, "WITA": 8, "WIT": 9, "UTC": 0, "GMT": 0, "Z": 0}
_TIMESTAMP = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s*"
    r"(?P<zone>[A-Za-z]+|[+-]\d{2}:?\d{2})?\s*$"
)
#: How many offending rows an error message names before summarising.
_SHOW = 10


@dataclass(frozen=True)
class ShakeEvent:
    """Earthquake described by a ShakeMap ``<event>`` element.

    Attributes
    ----------
    event_id:
        ShakeMap id (BMKG ids look like origin times but are not; never derive the
        time from it).
    magnitude:
        Magnitude as given by the ShakeMap.
    depth_km:
        Hypocentre depth in km.
    lat, lon:
        Epicentre in degrees (WGS84).
    time:
        Origin time, time-zone aware (BMKG's ``WIB`` suffix is UTC+7).
    description:
        Region text, trailing spaces removed.
    """

    event_id: str
    magnitude: float
    depth_km: float
    lat: float
    lon: float
    time: datetime
    description: str


@dataclass(frozen=True)
class RasterInfo:
    """The GeoTIFF written by :func:`shakemap_to_raster` and what it holds.

    Attributes
    ----------
    path:
        The GeoTIFF (float32, EPSG:4326, north-up, one band, nodata NaN).
    event:
        The earthquake.
    field:
        ShakeMap field written (e.g. ``MMI``, ``PGA``).
    units:
        Units the ShakeMap declares for ``field`` (``intensity``, ``pctg`` = % of g...).
    bounds:
        ``(west, south, east, north)`` of the cell *edges* in degrees: ShakeMap points
        are cell centres, so the raster reaches half a cell beyond the grid's
        ``lon_min``/``lat_min``/``lon_max``/``lat_max``.
    shape:
        ``(nlat, nlon)``: rows, columns.
    resolution:
        ``(dx, dy)`` cell size in degrees.
    """

    path: Path
    event: ShakeEvent
    field: str
    units: str
    bounds: tuple[float, float, float, float]
    shape: tuple[int, int]
    resolution: tuple[float, float]


def _local(tag: str) -> str:
    """Element name without its namespace (BMKG and USGS use different ones)."""
    return tag.rsplit("}", 1)[-1]


def _bad_grid(path: Path, what: str, what_id: str, where: str | None = None) -> ImportError_:
    return ImportError_(
        f"not a usable ShakeMap grid.xml: {what}",
        where=f"{path}" + (f": {where}" if where else ""),
        hint="use the grid.xml of a ShakeMap 3.x delivery (inside the BMKG .out.zip, "
        "output/grid.xml), complete and unmodified",
        message_id=f"grid.xml ShakeMap tidak dapat dipakai: {what_id}",
        hint_id="gunakan grid.xml dari kiriman ShakeMap 3.x (di dalam .out.zip BMKG, "
        "output/grid.xml), lengkap dan tidak diubah",
    )


def _parse_time(text: str, path: Path) -> datetime:
    """ShakeMap ``event_timestamp`` as an aware datetime (``...WIB`` = UTC+7)."""
    match = _TIMESTAMP.match(text)
    zone = match.group("zone") if match else None
    if match is None or zone is None:
        raise _bad_grid(
            path,
            f"event_timestamp {text!r} has no recognisable date, time and time zone",
            f"event_timestamp {text!r} tidak memiliki tanggal, jam dan zona waktu yang dikenali",
            "event/@event_timestamp",
        )
    naive = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
    if zone[0] in "+-":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return naive.replace(tzinfo=timezone(sign * offset))
    hours = _ZONE_OFFSETS_H.get(zone.upper())
    if hours is None:
        raise _bad_grid(
            path,
            f"unknown time zone {zone!r} in event_timestamp {text!r} "
            f"(known: {', '.join(_ZONE_OFFSETS_H)})",
            f"zona waktu {zone!r} pada event_timestamp {text!r} tidak dikenal "
            f"(yang dikenal: {', '.join(_ZONE_OFFSETS_H)})",
            "event/@event_timestamp",
        )
    return naive.replace(tzinfo=timezone(timedelta(hours=hours)))


def _number(attrs: dict[str, str], key: str, path: Path, element: str) -> float:
    try:
        value = float(attrs[key])
    except (KeyError, ValueError):
        raise _bad_grid(
            path,
            f"attribute {key!r} missing or not a number ({attrs.get(key)!r})",
            f"atribut {key!r} tidak ada atau bukan angka ({attrs.get(key)!r})",
            f"{element}/@{key}",
        ) from None
    if not math.isfinite(value):
        raise _bad_grid(
            path,
            f"attribute {key!r} is not finite ({value})",
            f"atribut {key!r} tidak terhingga ({value})",
            f"{element}/@{key}",
        )
    return value


def _read_grid(
    path: Path,
) -> tuple[dict[str, str], dict[str, str], dict[str, str], list[tuple[str, str]], str]:
    """Root attributes, event, grid_specification, [(field, units)] and grid_data text."""
    if not path.is_file():
        raise ImportError_(
            "ShakeMap grid file not found",
            where=str(path),
            hint="check the path; for a BMKG .out.zip delivery unzip it and pass output/grid.xml",
            message_id="berkas grid ShakeMap tidak ditemukan",
            hint_id="periksa path; untuk kiriman .out.zip BMKG, ekstrak dan berikan "
            "output/grid.xml",
        )
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise _bad_grid(
            path,
            f"XML is malformed or truncated ({exc})",
            f"XML rusak atau terpotong ({exc})",
            f"line {exc.position[0]}",
        ) from None
    if _local(root.tag) != "shakemap_grid":
        raise _bad_grid(
            path,
            f"root element is <{_local(root.tag)}>, not <shakemap_grid>",
            f"elemen akar adalah <{_local(root.tag)}>, bukan <shakemap_grid>",
        )
    parts: dict[str, ET.Element] = {}
    fields: list[tuple[int, str, str]] = []
    for child in root:
        name = _local(child.tag)
        if name == "grid_field":
            try:
                index = int(child.attrib["index"])
            except (KeyError, ValueError):
                raise _bad_grid(
                    path,
                    "a grid_field has no integer index",
                    "sebuah grid_field tidak memiliki indeks bilangan bulat",
                    "grid_field/@index",
                ) from None
            fields.append((index, child.attrib.get("name", ""), child.attrib.get("units", "")))
        elif name in ("event", "grid_specification", "grid_data"):
            parts[name] = child
    for needed in ("event", "grid_specification", "grid_data"):
        if needed not in parts:
            raise _bad_grid(path, f"no <{needed}> element", f"tidak ada elemen <{needed}>")
    fields.sort()
    if [i for i, _, _ in fields] != list(range(1, len(fields) + 1)):
        raise _bad_grid(
            path,
            f"grid_field indexes are not 1..n: {[i for i, _, _ in fields]}",
            f"indeks grid_field bukan 1..n: {[i for i, _, _ in fields]}",
        )
    return (
        dict(root.attrib),
        dict(parts["event"].attrib),
        dict(parts["grid_specification"].attrib),
        [(name, units) for _, name, units in fields],
        parts["grid_data"].text or "",
    )


def shakemap_to_raster(grid_xml: Path, out_tif: Path, *, field: str = "MMI") -> RasterInfo:
    """Write one field of a ShakeMap ``grid.xml`` as a float32 GeoTIFF in EPSG:4326.

    Parameters
    ----------
    grid_xml:
        ShakeMap 3.x ``grid.xml`` from BMKG or USGS (either XML namespace). Grid rows
        are ``LON LAT <fields>`` on a regular lon/lat lattice; each point is a cell
        *centre*.
    out_tif:
        GeoTIFF to write (overwritten). North-up, one band, nodata NaN, event metadata
        in the dataset tags.
    field:
        Name of the ShakeMap field to write (case-insensitive): ``MMI`` (intensity),
        ``PGA`` / ``PSA*`` (% of g), ``PGV`` (cm/s), ``SVEL`` (Vs30, m/s)...

    Returns
    -------
    RasterInfo
        The path, the event, units, bounds (cell edges), shape ``(nlat, nlon)`` and
        resolution.

    Raises
    ------
    ImportError_
        Malformed or truncated XML, a field that is not in the grid, non-numeric or
        missing grid values, points off the declared lattice, a timestamp without a
        known time zone.

    Notes
    -----
    The cell size is ``(lon_max - lon_min) / (nlon - 1)`` (same for latitude), not the
    rounded ``nominal_*_spacing`` (BMKG writes 0.024975 for 0.0249750...). Each point
    is placed by its own coordinates, so the order of the rows does not matter, but
    every lattice cell must be given exactly once.
    """
    path = Path(grid_xml)
    root_attrs, event_attrs, spec, fields, data_text = _read_grid(path)
    names = [name.upper() for name, _ in fields]
    if field.upper() not in names:
        raise _bad_grid(
            path,
            f"field {field!r} is not in the grid (fields: {', '.join(names)})",
            f"kolom {field!r} tidak ada di grid (kolom: {', '.join(names)})",
            "grid_field",
        )
    for axis in ("LON", "LAT"):
        if axis not in names:
            raise _bad_grid(
                path, f"no {axis} grid_field", f"tidak ada grid_field {axis}", "grid_field"
            )
    col_value, col_lon, col_lat = names.index(field.upper()), names.index("LON"), names.index("LAT")

    lon_min = _number(spec, "lon_min", path, "grid_specification")
    lon_max = _number(spec, "lon_max", path, "grid_specification")
    lat_min = _number(spec, "lat_min", path, "grid_specification")
    lat_max = _number(spec, "lat_max", path, "grid_specification")
    nlon_f = _number(spec, "nlon", path, "grid_specification")
    nlat_f = _number(spec, "nlat", path, "grid_specification")
    nlon, nlat = int(nlon_f), int(nlat_f)
    if nlon != nlon_f or nlat != nlat_f or nlon < 2 or nlat < 2:
        raise _bad_grid(
            path,
            f"nlon/nlat must be whole numbers >= 2 (got {nlon_f}, {nlat_f})",
            f"nlon/nlat harus bilangan bulat >= 2 (diberikan {nlon_f}, {nlat_f})",
            "grid_specification",
        )
    if not (lon_max > lon_min and lat_max > lat_min):
        raise _bad_grid(
            path,
            "lon_max/lat_max must be greater than lon_min/lat_min",
            "lon_max/lat_max harus lebih besar dari lon_min/lat_min",
            "grid_specification",
        )
    dx = (lon_max - lon_min) / (nlon - 1)
    dy = (lat_max - lat_min) / (nlat - 1)

    try:
        flat = np.array(data_text.split(), dtype=np.float64)
    except ValueError:
        bad = next(tok for tok in data_text.split() if not _is_float(tok))
        raise _bad_grid(
            path,
            f"grid_data holds a value that is not a number: {bad[:40]!r}",
            f"grid_data berisi nilai yang bukan angka: {bad[:40]!r}",
            "grid_data",
        ) from None
    ncol = len(fields)
    expected = nlon * nlat
    if flat.size % ncol or flat.size // ncol != expected:
        raise _bad_grid(
            path,
            f"grid_data has {flat.size} numbers; expected {expected} rows x {ncol} fields "
            f"= {expected * ncol} (truncated or wrong field count)",
            f"grid_data berisi {flat.size} angka; seharusnya {expected} baris x {ncol} kolom "
            f"= {expected * ncol} (terpotong atau jumlah kolom salah)",
            "grid_data",
        )
    rows = flat.reshape(expected, ncol)
    col = np.rint((rows[:, col_lon] - lon_min) / dx).astype(np.int64)
    row = np.rint((lat_max - rows[:, col_lat]) / dy).astype(np.int64)
    off_lattice = (
        (col < 0)
        | (col >= nlon)
        | (row < 0)
        | (row >= nlat)
        | (np.abs(rows[:, col_lon] - (lon_min + col * dx)) > dx / 4)
        | (np.abs(rows[:, col_lat] - (lat_max - row * dy)) > dy / 4)
    )
    if off_lattice.any():
        first = int(np.flatnonzero(off_lattice)[0])
        raise _bad_grid(
            path,
            f"{int(off_lattice.sum())} grid points are off the declared lattice, first "
            f"({rows[first, col_lon]}, {rows[first, col_lat]})",
            f"{int(off_lattice.sum())} titik grid berada di luar kisi yang dinyatakan, pertama "
            f"({rows[first, col_lon]}, {rows[first, col_lat]})",
            f"grid_data row {first + 1}",
        )
    cell = row * nlon + col
    if np.unique(cell).size != expected:
        raise _bad_grid(
            path,
            f"{expected - np.unique(cell).size} lattice cells are given more than once "
            "(and as many are missing)",
            f"{expected - np.unique(cell).size} sel kisi diberikan lebih dari sekali "
            "(dan sebanyak itu hilang)",
            "grid_data",
        )
    flat_grid = np.full(expected, np.nan, dtype=np.float32)
    flat_grid[cell] = rows[:, col_value]
    grid = flat_grid.reshape(nlat, nlon)

    event = ShakeEvent(
        event_id=root_attrs.get("event_id") or event_attrs.get("event_id") or "",
        magnitude=_number(event_attrs, "magnitude", path, "event"),
        depth_km=_number(event_attrs, "depth", path, "event"),
        lat=_number(event_attrs, "lat", path, "event"),
        lon=_number(event_attrs, "lon", path, "event"),
        time=_parse_time(event_attrs.get("event_timestamp", ""), path),
        description=event_attrs.get("event_description", "").strip(),
    )
    west, north = lon_min - dx / 2, lat_max + dy / 2
    bounds = (west, lat_min - dy / 2, lon_max + dx / 2, north)
    out = Path(out_tif)
    out.parent.mkdir(parents=True, exist_ok=True)
    units = fields[col_value][1]
    with rasterio.open(
        out,
        "w",
        driver="GTiff",
        width=nlon,
        height=nlat,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(dx, 0.0, west, 0.0, -dy, north),
        nodata=float("nan"),
        compress="deflate",
    ) as dst:
        dst.write(grid, 1)
        dst.update_tags(
            shakemap_field=names[col_value],
            shakemap_units=units,
            event_id=event.event_id,
            magnitude=str(event.magnitude),
            depth_km=str(event.depth_km),
            lat=str(event.lat),
            lon=str(event.lon),
            time=event.time.isoformat(),
            description=event.description,
            source=path.name,
        )
    return RasterInfo(
        path=out,
        event=event,
        field=names[col_value],
        units=units,
        bounds=bounds,
        shape=(nlat, nlon),
        resolution=(dx, dy),
    )


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _rows(labels: Sequence[object]) -> str:
    shown = ", ".join(repr(label) for label in labels[:_SHOW])
    more = f" and {len(labels) - _SHOW} more" if len(labels) > _SHOW else ""
    return shown + more


def _check_polygons(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries, list[object]]:
    """Polygonal geometries of ``frame`` in EPSG:4326 (invalid ones repaired), repaired rows."""
    if len(frame) == 0:
        raise InputError(
            "the flood layer has no polygons",
            where="flood layer",
            hint="check the file or the filter that produced it",
            message_id="lapisan banjir tidak memiliki poligon",
            hint_id="periksa berkas atau filter yang menghasilkannya",
        )
    if frame.crs is None:
        raise InputError(
            "the flood layer has no CRS",
            where="flood layer",
            hint="set it first, e.g. frame.set_crs('EPSG:4326')",
            message_id="lapisan banjir tidak memiliki CRS",
            hint_id="tetapkan dulu, mis. frame.set_crs('EPSG:4326')",
        )
    geoms = frame.geometry
    missing = geoms.isna() | geoms.is_empty
    if missing.any():
        labels = list(frame.index[missing.to_numpy()])
        raise InputError(
            f"{len(labels)} flood rows have no geometry",
            where=f"rows {_rows(labels)}",
            hint="remove those rows or give them a polygon",
            message_id=f"{len(labels)} baris banjir tidak memiliki geometri",
            hint_id="hapus baris tersebut atau beri poligon",
        )
    polygonal = geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        labels = list(frame.index[~polygonal.to_numpy()])
        kinds = sorted(set(geoms[~polygonal].geom_type))
        raise InputError(
            f"{len(labels)} flood rows are not polygons ({', '.join(kinds)})",
            where=f"rows {_rows(labels)}",
            hint="flood hazard must be polygons; buffer points/lines first or use a raster",
            message_id=f"{len(labels)} baris banjir bukan poligon ({', '.join(kinds)})",
            hint_id="bahaya banjir harus berupa poligon; buffer titik/garis dulu "
            "atau gunakan raster",
        )
    out = geoms.to_crs("EPSG:4326")
    invalid = ~out.is_valid
    if invalid.any():
        fixed = shapely.make_valid(
            out[invalid].to_numpy(), method="structure", keep_collapsed=False
        )
        out = out.copy()
        out[invalid] = fixed
    return out, list(frame.index[invalid.to_numpy()])


def flood_polygons(
    frame: gpd.GeoDataFrame,
    *,
    depth_field: str | None = None,
    class_field: str | None = None,
    depth_unit: str = "cm",
    keep: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Normalise flood polygons to ``depth_cm``, ``hazard_value`` and geometry (EPSG:4326).

    Parameters
    ----------
    frame:
        Flood polygons in any CRS (reprojected to EPSG:4326).
    depth_field:
        Column with the water depth (numbers, in ``depth_unit``). Give exactly one of
        ``depth_field`` and ``class_field``.
    class_field:
        Column with a flood class or state (e.g. PetaBencana ``state`` 1-4, the
        ``FLOODPRONE`` flag of the 2007 flooded-RW layer). Values are kept as given
        (strings stripped): mapping them to hazard classes is the classification's job.
    depth_unit:
        ``"cm"`` or ``"m"``: unit of ``depth_field``.
    keep:
        Other columns to carry over (e.g. PetaBencana ``geom_id`` = RW id).

    Returns
    -------
    geopandas.GeoDataFrame
        Same index as ``frame``; columns ``depth_cm`` (float, NaN when the layer gives
        classes only), ``hazard_value`` (the depth in cm, or the class value), the
        ``keep`` columns and ``geometry`` in EPSG:4326. Invalid polygons are repaired
        (``shapely.make_valid``, polygonal part kept); their row labels are listed in
        ``result.attrs["repaired_rows"]``.

    Raises
    ------
    InputError
        No polygons, no CRS, rows without geometry or with non-polygonal geometry,
        both or neither of ``depth_field``/``class_field``, a missing column, empty,
        non-numeric or negative depths, empty classes (each naming the rows).
    """
    if (depth_field is None) == (class_field is None):
        raise InputError(
            "give exactly one of depth_field and class_field",
            where="flood_polygons",
            hint="depth_field for water depth numbers, class_field for a class/state column",
            message_id="berikan tepat satu dari depth_field dan class_field",
            hint_id="depth_field untuk angka kedalaman air, class_field untuk kolom kelas/status",
        )
    if depth_unit not in ("cm", "m"):
        raise InputError(
            f"depth_unit must be 'cm' or 'm', not {depth_unit!r}",
            where="depth_unit",
            message_id=f"depth_unit harus 'cm' atau 'm', bukan {depth_unit!r}",
        )
    field_name = depth_field if depth_field is not None else class_field
    assert field_name is not None
    for column in (field_name, *keep):
        if column not in frame.columns:
            raise InputError(
                f"the flood layer has no column {column!r}",
                where=f"columns: {', '.join(map(str, frame.columns))}",
                hint="pass one of the columns listed",
                message_id=f"lapisan banjir tidak memiliki kolom {column!r}",
                hint_id="berikan salah satu kolom yang tercantum",
            )
    geometry, repaired = _check_polygons(frame)
    raw = frame[field_name]
    empty = raw.isna() | raw.astype("string").str.strip().eq("").fillna(False).astype(bool)
    if empty.any():
        labels = list(frame.index[empty.to_numpy()])
        raise InputError(
            f"{len(labels)} flood rows have no value in {field_name!r}",
            where=f"rows {_rows(labels)}, field {field_name!r}",
            hint="fill the value or remove the rows (unknown depth: use a class instead)",
            message_id=f"{len(labels)} baris banjir tidak memiliki nilai di {field_name!r}",
            hint_id="isi nilainya atau hapus barisnya (kedalaman tidak diketahui: pakai kelas)",
        )
    if depth_field is not None:
        depth = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = depth.isna()
        if bad.any():
            labels = list(frame.index[bad.to_numpy()])
            values = _rows([raw[label] for label in labels])
            raise InputError(
                f"{len(labels)} flood depths are not numbers ({values})",
                where=f"rows {_rows(labels)}, field {depth_field!r}",
                hint=f"give depths as numbers in {depth_unit}",
                message_id=f"{len(labels)} kedalaman banjir bukan angka ({values})",
                hint_id=f"berikan kedalaman sebagai angka dalam {depth_unit}",
            )
        negative = depth < 0
        if negative.any():
            labels = list(frame.index[negative.to_numpy()])
            raise InputError(
                f"{len(labels)} flood depths are negative",
                where=f"rows {_rows(labels)}, field {depth_field!r}",
                hint="depth is water above ground, 0 or more",
                message_id=f"{len(labels)} kedalaman banjir bernilai negatif",
                hint_id="kedalaman adalah air di atas tanah, 0 atau lebih",
            )
        depth_cm = depth * (100.0 if depth_unit == "m" else 1.0)
        hazard_value: pd.Series = depth_cm.copy()
    else:
        depth_cm = pd.Series(np.nan, index=frame.index, dtype=float)
        hazard_value = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    data = {"depth_cm": depth_cm.to_numpy(), "hazard_value": hazard_value.to_numpy()}
    for column in keep:
        data[column] = frame[column].to_numpy()
    out = gpd.GeoDataFrame(data, geometry=geometry.to_numpy(), crs="EPSG:4326", index=frame.index)
    out.attrs["repaired_rows"] = repaired
    return out
