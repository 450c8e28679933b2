"""Read any vector file into a GeoDataFrame in EPSG:4326 plus an :class:`ImportReport`.

Formats: GeoJSON, GeoPackage, Shapefile (also zipped), FlatGeobuf, GeoParquet, KML and
CSV (lon/lat columns or a WKT column). GDAL formats are read with pyogrio (Arrow where it
can), so a million polygons load in seconds; all checks are vectorised
(:mod:`tangguh.io._checks`). Bad input raises :class:`tangguh.errors.ImportError_` that
says what, where (file, row, field) and what to do.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from tangguh._gc import paused_gc
from tangguh.errors import ImportError_, InputError
from tangguh.io._checks import (
    Issue,
    cast_types,
    check_crs_bounds,
    check_geometries,
    sanitize_columns,
)
from tangguh.io._csv import LAT_NAMES as LAT_NAMES
from tangguh.io._csv import LON_NAMES as LON_NAMES
from tangguh.io._csv import WKT_NAMES as WKT_NAMES
from tangguh.io._csv import _read_csv
from tangguh.io._readers import CRS_HINT as CRS_HINT
from tangguh.io._readers import CRS_HINT_ID as CRS_HINT_ID
from tangguh.io._readers import _read_gdal, _read_parquet

__all__ = ["ImportReport", "load_mapping", "read_vector"]

#: File suffix -> format name (GDAL driver name, or "CSV"/"Parquet"/"zip").
FORMATS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".zip": "zip",
    ".fgb": "FlatGeobuf",
    ".parquet": "Parquet",
    ".geoparquet": "Parquet",
    ".kml": "KML",
    ".kmz": "KML",
    ".csv": "CSV",
}
_MAPPING_KEYS: dict[str, type] = {
    "rename": dict,
    "types": dict,
    "crs": str,
    "lon": str,
    "lat": str,
    "wkt": str,
    "encoding": str,
    "layer": str,
    "geometry_type": str,
    "on_invalid": str,
}


@dataclass
class ImportReport:
    """What happened while reading one file.

    ``rows_read`` counts the features in the source; ``rows_kept`` those in the returned
    frame. ``issues`` lists every repaired, flagged or dropped row; ``renamed`` maps
    source column names to the names in the frame.
    """

    source: str
    layer: str | None
    rows_read: int
    rows_kept: int
    source_crs: str | None
    issues: list[Issue] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Number of issues per kind."""
        return dict(Counter(issue.kind for issue in self.issues))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the report."""
        return {
            "source": self.source,
            "layer": self.layer,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "source_crs": self.source_crs,
            "counts": self.counts(),
            "issues": [issue.to_json() for issue in self.issues],
            "renamed": dict(self.renamed),
        }


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Read a small TOML or JSON mapping file whose keys are :func:`read_vector` options.

    Keys: ``rename`` and ``types`` (tables of column -> name/type), ``crs``, ``lon``,
    ``lat``, ``wkt``, ``encoding``, ``layer``, ``geometry_type``, ``on_invalid``. Use it as
    ``read_vector(data, **load_mapping(mapping))``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"mapping file {path} does not exist",
            where=str(path),
            message_id=f"berkas pemetaan {path} tidak ada",
        )
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"mapping file cannot be parsed: {exc}",
            where=str(path),
            hint='write it as TOML (.toml) or JSON, e.g. [rename] / "Nama Kel" = "kelurahan"',
            message_id=f"berkas pemetaan tidak dapat diurai: {exc}",
            hint_id='tulis sebagai TOML (.toml) atau JSON, mis. [rename] / "Nama Kel" = '
            '"kelurahan"',
        ) from exc
    if not isinstance(data, dict):
        raise InputError(
            "mapping file must hold a table/object",
            where=str(path),
            message_id="berkas pemetaan harus berisi tabel/objek",
        )
    for key, value in data.items():
        if key not in _MAPPING_KEYS:
            raise InputError(
                f"unknown key {key!r} in mapping file",
                where=str(path),
                hint=f"known keys: {', '.join(_MAPPING_KEYS)}",
                message_id=f"kunci {key!r} tidak dikenal di berkas pemetaan",
                hint_id=f"kunci yang dikenal: {', '.join(_MAPPING_KEYS)}",
            )
        expected = _MAPPING_KEYS[key]
        ok = isinstance(value, expected)
        if ok and expected is dict:
            ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        if not ok:
            kind = "a table of text values" if expected is dict else "text"
            kind_id = "tabel berisi nilai teks" if expected is dict else "teks"
            raise InputError(
                f"{key!r} must be {kind}",
                where=f"{path}, key {key!r}",
                message_id=f"{key!r} harus berupa {kind_id}",
            )
    return dict(data)


def crs_label(crs: CRS | None) -> str | None:
    """``"EPSG:32748"`` style label of a CRS (authority code if any, else its name)."""
    if crs is None:
        return None
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    authority = crs.to_authority()
    return ":".join(authority) if authority else str(crs.name)


@paused_gc()  # bulk work: see tangguh._gc
def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    rename: Mapping[str, str] | None = None,
    types: Mapping[str, str] | None = None,
    lon: str | None = None,
    lat: str | None = None,
    wkt: str | None = None,
    encoding: str | None = None,
    on_invalid: Literal["repair", "reject"] = "repair",
    geometry_type: str | None = None,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read a vector file into a GeoDataFrame in EPSG:4326 (lon/lat) and an import report.

    Parameters
    ----------
    path:
        GeoJSON, GeoPackage, Shapefile (or a .zip holding one), FlatGeobuf, GeoParquet,
        KML or CSV file.
    layer:
        Layer of a multi-layer file (GeoPackage, KML) or shapefile stem inside a zip.
    crs:
        CRS of the coordinates (e.g. ``"EPSG:32748"``); assigned, overriding what the
        file declares. Needed when the file has none. A CSV without it is lon/lat.
    rename, types:
        Source column -> new name, and column -> ``int``/``float``/``str``/``bool``/
        ``date``/``datetime`` (applied after renaming; keys may be old or new names).
    lon, lat, wkt:
        CSV coordinate columns; detected from common names when not given.
    encoding:
        Text encoding of the attributes (default UTF-8; a shapefile's .cpg or .dbf
        language id is honoured).
    on_invalid:
        ``"repair"`` invalid geometries with make_valid (reported), or ``"reject"`` (raise).
    geometry_type:
        Keep only this kind of geometry when the file mixes kinds (others are reported).

    Returns
    -------
    (frame, report)
        ``frame`` has a ``geometry`` column in EPSG:4326, sanitised column names and an
        index of 0-based source row numbers (the ``row`` of each :class:`Issue`).
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise ImportError_(
            f"file {path} does not exist",
            where=source,
            hint="check the path and its spelling",
            message_id=f"berkas {path} tidak ada",
            hint_id="periksa path dan ejaannya",
        )
    if path.is_dir():
        raise ImportError_(
            f"{path} is a folder, not a file",
            where=source,
            hint="give one file (a .shp, .gpkg, .geojson, ... or a .zip of a shapefile)",
            message_id=f"{path} adalah folder, bukan berkas",
            hint_id="berikan satu berkas (.shp, .gpkg, .geojson, ... atau .zip berisi shapefile)",
        )
    driver = FORMATS.get(path.suffix.lower())
    if driver is None:
        raise ImportError_(
            f"unknown file type {path.suffix or '(no extension)'!r}",
            where=source,
            hint=f"supported: {', '.join(sorted(FORMATS))}",
            message_id=f"jenis berkas {path.suffix or '(tanpa ekstensi)'!r} tidak dikenal",
            hint_id=f"yang didukung: {', '.join(sorted(FORMATS))}",
        )
    target_crs = _parse_crs(crs) if crs is not None else None
    line_offset: int | None = None
    declared: CRS | None
    layer_name: str | None
    if driver == "CSV":
        frame = _read_csv(path, encoding, lon, lat, wkt)
        declared, layer_name, line_offset = CRS.from_epsg(4326), path.stem, 2
    elif driver == "Parquet":
        frame = _read_parquet(path)
        declared, layer_name = frame.crs, path.stem
    else:
        frame, layer_name, source = _read_gdal(path, driver, layer, encoding)
        declared = frame.crs
    rows_read = len(frame)
    if rows_read == 0:
        raise ImportError_(
            "the layer has no features",
            where=f"{source}" + (f", layer {layer_name!r}" if layer_name else ""),
            hint="check that you exported the right layer, or choose another with --layer",
            message_id="lapisan tidak memiliki fitur",
            hint_id="periksa bahwa lapisan yang diekspor sudah benar, atau pilih lapisan lain "
            "dengan --layer",
        )
    issues: list[Issue] = []
    if target_crs is not None:
        if declared is not None and driver != "CSV" and not declared.equals(target_crs):
            issues.append(
                Issue(
                    None,
                    None,
                    "crs_override",
                    f"file declares {crs_label(declared)}; --crs {crs} assigned instead",
                )
            )
        declared = target_crs
    if declared is None:
        shapefile = driver in ("ESRI Shapefile", "zip")
        where = source + (" (no .prj file beside it)" if shapefile else "")
        raise ImportError_(
            "the file does not say its CRS",
            where=where,
            hint=CRS_HINT,
            message_id="berkas ini tidak menyebutkan CRS-nya",
            hint_id=CRS_HINT_ID,
        )
    frame = frame.set_crs(declared, allow_override=True)
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")

    renamed = _apply_rename(frame, rename, source)
    frame = frame.rename(columns=renamed)
    frame, sanitized = sanitize_columns(frame)
    renamed = _compose(renamed, sanitized)
    if types:
        frame = cast_types(
            frame,
            {renamed.get(k, k): v for k, v in types.items()},
            source=source,
            line_offset=line_offset,
        )
    frame, geometry_issues = check_geometries(
        frame,
        source=source,
        on_invalid=on_invalid,
        geometry_type=geometry_type,
        line_offset=line_offset,
    )
    issues.extend(geometry_issues)
    check_crs_bounds(frame.geometry.to_numpy(), declared, source=source)
    if declared.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        frame = frame.set_crs(4326, allow_override=True)
    else:
        frame = frame.to_crs(4326)
    report = ImportReport(
        source=source,
        layer=layer_name,
        rows_read=rows_read,
        rows_kept=len(frame),
        source_crs=crs_label(declared),
        issues=issues,
        renamed=renamed,
    )
    return frame, report


def _parse_crs(crs: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InputError(
            f"unknown CRS {crs!r}: {exc}",
            where="crs",
            hint="give an EPSG code such as EPSG:4326 or EPSG:32748",
            message_id=f"CRS {crs!r} tidak dikenal: {exc}",
            hint_id="berikan kode EPSG seperti EPSG:4326 atau EPSG:32748",
        ) from exc


def _apply_rename(
    frame: pd.DataFrame, rename: Mapping[str, str] | None, source: str
) -> dict[str, str]:
    if not rename:
        return {}
    missing = [old for old in rename if old not in frame.columns]
    if missing:
        raise ImportError_(
            f"rename names column(s) not in the file: {', '.join(missing)}",
            where=source,
            hint=f"columns are: {', '.join(map(str, frame.columns))}",
            message_id=f"rename menyebut kolom yang tidak ada di berkas: {', '.join(missing)}",
            hint_id=f"kolom yang ada: {', '.join(map(str, frame.columns))}",
        )
    return {old: new for old, new in rename.items() if old != new}


def _compose(first: dict[str, str], second: dict[str, str]) -> dict[str, str]:
    """Source name -> final name after a user rename then sanitising."""
    out = {old: second.get(new, new) for old, new in first.items()}
    targets = set(first.values())
    for old, new in second.items():
        if old not in targets:
            out[old] = new
    return {old: new for old, new in out.items() if old != new}
