"""Feature rows -> GeoJSON text and download files.

GeoJSON is assembled as text: GEOS writes the geometries (``shapely.to_geojson``, one
vectorised call per page), ``json.dumps`` the properties, and the feature collection is
joined from those fragments, so no per-feature Python dict of coordinates is ever built.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.bank._columns import restore_dtypes
from tangguh.web._store import Collection, Row
from tangguh.web.crs import CrsDef, transform_geoms

__all__ = ["DOWNLOADS", "feature_strings", "geometries", "properties", "write_download"]

#: f= value -> (file suffix, media type, GDAL driver / writer)
DOWNLOADS: dict[str, tuple[str, str, str]] = {
    "csv": (".csv", "text/csv; charset=utf-8", "CSV"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3", "GPKG"),
    "fgb": (".fgb", "application/flatgeobuf", "FlatGeobuf"),
}

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _float(v: Any) -> Any:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _bool(v: Any) -> Any:
    return None if v is None else bool(v)


def _json(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _temporal(v: Any) -> Any:
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    return v


def _converters(coll: Collection) -> list[Callable[[Any], Any] | None]:
    table: dict[str, Callable[[Any], Any] | None] = {
        "int": None,
        "str": None,
        "float": _float,
        "bool": _bool,
        "json": _json,
        "datetime": _temporal,
        "date": _temporal,
        "time": _temporal,
    }
    return [table.get(kind, _temporal) for _, kind in coll.columns]


def properties(coll: Collection, row: Row) -> dict[str, Any]:
    """The properties of one row as a JSON-ready dict."""
    out: dict[str, Any] = {}
    for (name, _), conv, value in zip(coll.columns, _converters(coll), row[2:], strict=True):
        out[name] = conv(value) if conv is not None and value is not None else value
    return out


def geometries(rows: Sequence[Row], crs: CrsDef) -> np.ndarray[Any, Any]:
    """The rows' geometries (shapely), transformed to ``crs``."""
    geoms = shapely.from_wkb(np.array([r[1] for r in rows], dtype=object))
    return transform_geoms(geoms, crs)


def feature_strings(coll: Collection, rows: Sequence[Row], crs: CrsDef) -> list[str]:
    """One GeoJSON Feature (text) per row."""
    if not rows:
        return []
    geo = shapely.to_geojson(geometries(rows, crs))
    names = [n for n, _ in coll.columns]
    convs = _converters(coll)
    active = [(i, c) for i, c in enumerate(convs) if c is not None]
    out = []
    for row, g in zip(rows, geo, strict=True):
        values = list(row[2:])
        for i, conv in active:
            if values[i] is not None:
                values[i] = conv(values[i])
        props = _dumps(dict(zip(names, values, strict=True)))
        out.append(
            f'{{"type":"Feature","id":{int(row[0])},"geometry":{g or "null"},"properties":{props}}}'
        )
    return out


def frame(coll: Collection, rows: Sequence[Row], crs: CrsDef) -> gpd.GeoDataFrame:
    """Rows as a GeoDataFrame with the column types the layer was written with."""
    names = [n for n, _ in coll.columns]
    data = pd.DataFrame(
        {n: pd.Series([r[2 + i] for r in rows], dtype=object) for i, n in enumerate(names)}
    )
    data.insert(0, "fid", pd.Series([int(r[0]) for r in rows], dtype="int64"))
    data = restore_dtypes(data, list(coll.columns))
    for name, kind in coll.columns:
        if kind == "bool" and data[name].dtype == object:
            data[name] = data[name].astype("boolean")
    # Files keep x = easting/longitude (GDAL's "traditional GIS order"), so a geographic
    # CRS is written as EPSG:4326 with lon/lat coordinates, whatever axis order it defines.
    if crs.geographic:
        geoms = shapely.from_wkb(np.array([r[1] for r in rows], dtype=object))
        code = "EPSG:4326"
    else:
        geoms = geometries(rows, crs)
        code = crs.code
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms), crs=code)


def write_download(
    coll: Collection, rows: Sequence[Row], crs: CrsDef, fmt: str
) -> tuple[Path, Path]:
    """Write the rows to a new temporary file; returns (file, its temporary folder).

    Reuses :func:`tangguh.io.export.write_vector`. The file is a new one, never the bank,
    so GDAL writing it in this process is safe (see the same-process GDAL caveat).
    """
    from tangguh.io.export import write_vector

    suffix, _, driver = DOWNLOADS[fmt]
    folder = Path(tempfile.mkdtemp(prefix="tangguh-dl-"))
    target = folder / f"{coll.id}{suffix}"
    out = frame(coll, rows, crs)
    write_vector(out, target, driver=driver, layer=coll.id)
    return target, folder
