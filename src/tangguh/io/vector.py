"""Read any vector file into a GeoDataFrame in EPSG:4326 plus an :class:`ImportReport`.

Formats: GeoJSON, GeoPackage, Shapefile (also zipped), FlatGeobuf, GeoParquet, KML and
CSV (lon/lat columns or a WKT column). GDAL formats are read with pyogrio (Arrow where it
can), so a million polygons load in seconds; all checks are vectorised
(:mod:`tangguh.io._checks`). Bad input raises :class:`tangguh.errors.ImportError_` that
says what, where (file, row, field) and what to do.
"""

from __future__ import annotations

import codecs
import json
import tomllib
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import pyarrow
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

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
from tangguh.io._csv import _encoding_error, _read_csv

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
CRS_HINT = (
    "pass --crs EPSG:XXXX (crs='EPSG:XXXX'); Jakarta data is usually EPSG:4326 (lon/lat), "
    "EPSG:32748 (WGS 84 / UTM 48S) or EPSG:23834 (DGN95 / UTM 48S)"
)
#: :data:`CRS_HINT` in Bahasa Indonesia.
CRS_HINT_ID = (
    "berikan --crs EPSG:XXXX (crs='EPSG:XXXX'); data Jakarta biasanya EPSG:4326 (lon/lat), "
    "EPSG:32748 (WGS 84 / UTM 48S) atau EPSG:23834 (DGN95 / UTM 48S)"
)
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


def _gdal_encoding(encoding: str) -> str:
    """Python codec name -> the spelling GDAL's iconv knows (``latin-1`` -> ``ISO-8859-1``)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputError(
            f"unknown encoding {encoding!r}",
            where="encoding",
            hint="use e.g. utf-8, latin-1 or cp1252",
            message_id=f"encoding {encoding!r} tidak dikenal",
            hint_id="gunakan mis. utf-8, latin-1 atau cp1252",
        ) from exc
    if name.startswith("iso8859-"):
        return "ISO-8859-" + name.split("-", 1)[1]
    return name.upper()


def _is_utf8(encoding: str | None) -> bool:
    return encoding is None or codecs.lookup(encoding).name == "utf-8"


def _locate_bad_text(frame: pd.DataFrame) -> tuple[str, str] | None:
    """In a frame read as latin-1, find the first value whose bytes are not UTF-8.

    Returns where it is in English and in Bahasa Indonesia, or None when all is UTF-8.
    """
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind not in "OSU" and not isinstance(values.dtype, pd.StringDtype):
            continue
        text = values.dropna().astype(str)
        suspicious = text[text.str.contains(r"[^\x00-\x7f]", regex=True)]
        for row, value in suspicious.items():
            try:
                value.encode("latin-1").decode("utf-8")
            except (UnicodeDecodeError, UnicodeEncodeError):
                return (
                    f"row {row}, field {column!r}, value {value!r} as latin-1",
                    f"baris {row}, kolom {column!r}, nilai {value!r} sebagai latin-1",
                )
    return None


def _assert_utf8(frame: pd.DataFrame) -> None:
    """Arrow string columns may hold invalid UTF-8 bytes GDAL passed through; check them
    all at once (``validate(full=True)`` raises ``ArrowInvalid``)."""
    for column in frame.columns:
        to_arrow = getattr(frame[column].array, "__arrow_array__", None)
        if to_arrow is not None:
            to_arrow().validate(full=True)


def _choose_layer(gdal_path: str, layer: str | None, source: str, driver: str) -> str | None:
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(gdal_path)]
    except pyogrio.errors.DataSourceError as exc:
        raise _cannot_read(source, exc, driver) from exc
    if layer is not None:
        if layer not in layers:
            raise ImportError_(
                f"layer {layer!r} is not in the file",
                where=source,
                hint=f"layers are: {', '.join(layers)}",
                message_id=f"lapisan {layer!r} tidak ada di berkas",
                hint_id=f"lapisan yang ada: {', '.join(layers)}",
            )
        return layer
    if len(layers) > 1:
        raise ImportError_(
            f"the file has {len(layers)} layers: {', '.join(layers)}",
            where=source,
            hint="choose one with --layer NAME (layer='NAME')",
            message_id=f"berkas ini memiliki {len(layers)} lapisan: {', '.join(layers)}",
            hint_id="pilih salah satu dengan --layer NAME (layer='NAME')",
        )
    return layers[0] if layers else None


def _cannot_read(source: str, exc: BaseException, driver: str | None = None) -> ImportError_:
    """The error for a file GDAL cannot read; the hint is specific for GeoJSON."""
    hint = "check that the file is complete and in the format its name says; re-export it"
    hint_id = "periksa bahwa berkas itu lengkap dan formatnya sesuai dengan namanya; ekspor ulang"
    if driver == "GeoJSON":
        hint = "the JSON is truncated or malformed at the position given; re-export or "
        hint += "re-download it and check it with a JSON validator"
        hint_id = (
            "JSON terpotong atau rusak pada posisi yang disebut; ekspor atau unduh ulang "
            "lalu periksa dengan validator JSON"
        )
    return ImportError_(
        f"cannot read {Path(source).name}: {exc}",
        where=source,
        hint=hint,
        message_id=f"{Path(source).name} tidak dapat dibaca: {exc}",
        hint_id=hint_id,
    )


def _zip_member(path: Path, layer: str | None) -> tuple[str, list[str]]:
    """The .shp inside a zip (chosen by ``layer`` if several) and all member names."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise ImportError_(
            f"{path.name} is not a valid zip file",
            where=str(path),
            hint="re-download it",
            message_id=f"{path.name} bukan berkas zip yang sah",
            hint_id="unduh ulang berkas itu",
        ) from exc
    shps = [n for n in names if n.lower().endswith(".shp") and "__MACOSX" not in n]
    if not shps:
        raise ImportError_(
            f"{path.name} holds no shapefile (.shp); it contains: {', '.join(names) or 'nothing'}",
            where=str(path),
            hint="zip the .shp together with its .shx, .dbf and .prj (and .cpg), or unzip it "
            "and import the file inside directly",
            message_id=f"{path.name} tidak berisi shapefile (.shp); isinya: "
            f"{', '.join(names) or 'kosong'}",
            hint_id="zip berkas .shp bersama .shx, .dbf dan .prj (serta .cpg), atau ekstrak zip "
            "itu "
            "lalu impor berkas di dalamnya secara langsung",
        )
    if len(shps) > 1:
        chosen = [n for n in shps if Path(n).stem == layer]
        if not chosen:
            raise ImportError_(
                f"{path.name} holds {len(shps)} shapefiles: {', '.join(shps)}",
                where=str(path),
                hint="choose one with --layer STEM (layer='STEM'), e.g. "
                f"--layer {Path(shps[0]).stem}",
                message_id=f"{path.name} berisi {len(shps)} shapefile: {', '.join(shps)}",
                hint_id="pilih salah satu dengan --layer STEM (layer='STEM'), mis. "
                f"--layer {Path(shps[0]).stem}",
            )
        return chosen[0], names
    return shps[0], names


def _dbf_ldid(read: Any) -> int:
    """Language driver id (byte 29 of the .dbf header); 0 means unknown encoding."""
    try:
        head: bytes = read()
    except (OSError, KeyError):
        return 0
    return head[29] if len(head) > 29 else 0


def _read_gdal(
    path: Path, driver: str, layer: str | None, encoding: str | None
) -> tuple[gpd.GeoDataFrame, str | None, str]:
    """Read a GDAL-supported file; return (frame, layer name, source label)."""
    source = str(path)
    gdal_path = str(path)
    read_encoding = encoding
    if driver == "zip" or driver == "ESRI Shapefile":
        if driver == "zip":
            member, names = _zip_member(path, layer)
            gdal_path = f"/vsizip/{path.resolve()}/{member}"
            source = f"{path}!{member}"
            stem = member[:-4]
            has_cpg = any(n.lower() == f"{stem.lower()}.cpg" for n in names)
            dbfs = [n for n in names if n.lower() == f"{stem.lower()}.dbf"]

            def read_head() -> bytes:
                with zipfile.ZipFile(path) as archive, archive.open(dbfs[0]) as fh:
                    return fh.read(32)

            ldid = _dbf_ldid(read_head) if dbfs else 0
        else:
            has_cpg = path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists()
            ldid = _dbf_ldid(lambda: path.with_suffix(".dbf").read_bytes()[:32])
        layer = None
        if encoding is None and not has_cpg and ldid == 0:
            read_encoding = "utf-8"  # GDAL would guess ISO-8859-1; we try UTF-8 and say so
    else:
        layer = _choose_layer(gdal_path, layer, source, driver)
    use_arrow = _is_utf8(read_encoding)
    gdal_encoding = _gdal_encoding(read_encoding) if read_encoding is not None else None
    try:
        frame = pyogrio.read_dataframe(
            gdal_path, layer=layer, use_arrow=use_arrow, encoding=gdal_encoding
        )
        if use_arrow:
            _assert_utf8(frame)
    except (UnicodeDecodeError, pyarrow.ArrowException) as exc:
        text = str(exc)
        if isinstance(exc, pyarrow.ArrowException) and not ("Wrapping" in text or "UTF8" in text):
            raise _cannot_read(source, exc, driver) from exc
        try:
            latin = pyogrio.read_dataframe(gdal_path, layer=layer, encoding="ISO-8859-1")
            detail, detail_id = _locate_bad_text(pd.DataFrame(latin)) or (str(exc), str(exc))
        except Exception:  # only to improve the message; the original error stands
            detail = detail_id = str(exc)
        raise _encoding_error(source, detail, detail_id) from exc
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _cannot_read(source, exc, driver) from exc
    except pyogrio.errors.CRSError as exc:
        raise ImportError_(
            f"the file's CRS cannot be read: {exc}",
            where=source,
            hint=CRS_HINT,
            message_id=f"CRS berkas ini tidak dapat dibaca: {exc}",
            hint_id=CRS_HINT_ID,
        ) from exc
    if driver == "KML":  # KML stores altitude 0 by default; keep lon/lat only
        frame = frame.set_geometry(shapely.force_2d(frame.geometry.to_numpy()), crs=frame.crs)
    if layer is None:
        layer = Path(gdal_path).stem
    return frame, layer, source


def _read_parquet(path: Path) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_parquet(path)
    except (ValueError, OSError, pyarrow.ArrowException) as exc:
        raise ImportError_(
            f"cannot read {path.name} as GeoParquet: {exc}",
            where=str(path),
            hint="the file must be GeoParquet (Parquet with 'geo' metadata); write it with "
            "GeoPandas to_parquet or GDAL",
            message_id=f"{path.name} tidak dapat dibaca sebagai GeoParquet: {exc}",
            hint_id="berkas harus GeoParquet (Parquet dengan metadata 'geo'); tulis dengan "
            "to_parquet GeoPandas atau GDAL",
        ) from exc
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame


def crs_label(crs: CRS | None) -> str | None:
    """``"EPSG:32748"`` style label of a CRS (authority code if any, else its name)."""
    if crs is None:
        return None
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    authority = crs.to_authority()
    return ":".join(authority) if authority else str(crs.name)


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
