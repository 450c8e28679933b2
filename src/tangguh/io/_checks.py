"""Vectorised checks of imported features: geometry repair/reject, [0,0] flags, mixed
geometry types, duplicates, column names and attribute types.

Every check works on whole arrays (shapely 2 ufuncs, numpy masks, pandas); Python loops
run only over the few rows that have a problem, to write their :class:`Issue`. Nothing is
dropped without an Issue.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from tangguh.errors import ImportError_, InputError
from tangguh.io._crs import check_crs_bounds as check_crs_bounds
from tangguh.io._duplicates import duplicate_rows

__all__ = [
    "RESERVED_COLUMNS",
    "Issue",
    "cast_types",
    "check_crs_bounds",
    "check_geometries",
    "row_label",
    "sanitize_columns",
]

#: Column names the data bank uses itself (``fid``, ``geom``, ``tg_version``) or that
#: GeoPandas uses for the geometry column.
RESERVED_COLUMNS = frozenset({"fid", "geom", "geometry", "tg_version"})
_MAX_NAME = 63  # PostgreSQL identifier limit, also fine for GeoPackage
_SHOWN = 10  # row numbers shown in one error message

# shapely type ids -> geometry family (the simple type that a Multi* is made of)
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
_FAMILY_NAMES = {0: "point", 1: "line", 3: "polygon", 7: "collection"}
_MULTI: dict[int, Any] = {
    0: shapely.multipoints,
    1: shapely.multilinestrings,
    3: shapely.multipolygons,
}


@dataclass
class Issue:
    """One problem found while importing a file.

    Attributes
    ----------
    row:
        0-based feature/row index in the source (``None`` for file-level issues). For a
        CSV the message also gives the 1-based line number (header = line 1).
    field:
        Column the issue is about, if any.
    kind:
        ``"repaired"``, ``"rejected"``, ``"null_island"`` (a [0, 0] geometry),
        ``"duplicate"``, ``"empty_geometry"``, ``"geometry_type"`` (dropped because of
        ``geometry_type=``), ``"crs_override"``.
    message:
        Human-readable description.
    """

    row: int | None
    field: str | None
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def row_label(row: int, line_offset: int | None) -> str:
    """``"row 3"``, or ``"row 3 (line 5)"`` when rows map to text lines (CSV)."""
    if line_offset is None:
        return f"row {row}"
    return f"row {row} (line {row + line_offset})"


def _rows_text(rows: npt.ArrayLike, line_offset: int | None) -> str:
    values = [int(r) for r in np.asarray(rows)]
    if line_offset is not None:
        shown = ", ".join(str(r + line_offset) for r in values[:_SHOWN])
        text = f"line{'s' if len(values) > 1 else ''} {shown}"
    else:
        shown = ", ".join(str(r) for r in values[:_SHOWN])
        text = f"row{'s' if len(values) > 1 else ''} {shown}"
    if len(values) > _SHOWN:
        text += f" and {len(values) - _SHOWN} more"
    return text


# -- column names -------------------------------------------------------------------


def _snake(name: object) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not text:
        text = "column"
    if text[0].isdigit():
        text = f"f_{text}"
    return text[:_MAX_NAME]


def sanitize_columns(frame: pd.DataFrame) -> tuple[Any, dict[str, str]]:
    """Rename columns to unique ``lower_snake_case`` names the bank can store.

    Names are ASCII-folded (``Kecamatan Ñame`` -> ``kecamatan_name``), camelCase is
    split, anything else becomes ``_``, a leading digit gets ``f_``, names are cut to
    63 characters and made unique with ``_2``, ``_3``... Attribute columns that would
    collide with the bank's own (``fid``, ``geom``, ``geometry``, ``tg_version``,
    anything starting with ``tg_``) get the prefix ``src_``. The active geometry column
    of a GeoDataFrame becomes ``geometry``.

    Returns
    -------
    (frame, renamed)
        A renamed copy of ``frame`` and ``{old: new}`` for every column whose name changed.
    """
    geom_name: str | None = None
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns:
        geom_name = str(frame._geometry_column_name)
    used: set[str] = {"geometry"} if geom_name is not None else set()
    mapping: dict[Any, str] = {}
    for col in frame.columns:
        if geom_name is not None and col == geom_name:
            mapping[col] = "geometry"
            continue
        name = _snake(col)
        if name in RESERVED_COLUMNS or name.startswith("tg_"):
            name = f"src_{name}"[:_MAX_NAME]
        base, k = name, 2
        while name in used:
            suffix = f"_{k}"
            name = base[: _MAX_NAME - len(suffix)] + suffix
            k += 1
        used.add(name)
        mapping[col] = name
    renamed = {str(old): new for old, new in mapping.items() if str(old) != new}
    if not renamed:
        return frame, {}
    out: Any = frame.rename(columns=mapping)
    if geom_name is not None and geom_name != "geometry":
        out = out.set_geometry("geometry")
    return out, renamed


# -- attribute types ----------------------------------------------------------------

_TRUE = frozenset({"true", "t", "yes", "y", "ya", "1", "benar", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "tidak", "0", "salah", "0.0"})
TYPE_NAMES = ("int", "float", "str", "bool", "date", "datetime")


def _blank(values: pd.Series) -> pd.Series:
    """True where a value is missing or an empty/blank string."""
    return values.isna() | values.astype(str).str.strip().eq("")


def _cast_one(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """Cast one column; return (new values, mask of values that failed)."""
    base, _, fmt = kind.partition(":")
    blank = _blank(values)
    if base in ("int", "float"):
        numbers = pd.to_numeric(values.where(~blank), errors="coerce")
        bad = numbers.isna() & ~blank
        if base == "int":
            bad |= numbers.notna() & (numbers != np.floor(numbers))
            return numbers.where(~bad).astype("Int64"), bad
        return numbers.astype("float64"), bad
    if base == "str":
        return values.astype(pd.StringDtype()), pd.Series(False, index=values.index)
    if base == "bool":
        text = values.astype(str).str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE) & ~blank] = True
        out[text.isin(_FALSE) & ~blank] = False
        return out, out.isna() & ~blank
    if base in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(values):
            stamps = values
        else:
            stamps = pd.to_datetime(values.where(~blank), errors="coerce", format=fmt or "ISO8601")
        bad = stamps.isna() & ~blank
        return (stamps.dt.normalize() if base == "date" else stamps), bad
    raise InputError(
        f"unknown column type {kind!r}",
        where="types",
        hint=f"use one of {', '.join(TYPE_NAMES)} (date/datetime may add a format, "
        "e.g. 'date:%d/%m/%Y')",
        message_id=f"jenis kolom {kind!r} tidak dikenal",
        hint_id=f"gunakan salah satu dari {', '.join(TYPE_NAMES)} (date/datetime boleh diberi "
        "format, "
        "mis. 'date:%d/%m/%Y')",
    )


def cast_types(
    frame: pd.DataFrame,
    types: Mapping[str, str],
    *,
    source: str,
    line_offset: int | None = None,
) -> pd.DataFrame:
    """Cast columns to ``int`` (nullable Int64), ``float``, ``str``, ``bool``, ``date`` or
    ``datetime`` (ISO 8601 unless a format follows a colon, e.g. ``"date:%d/%m/%Y"``).

    Blank cells become missing values. A value that cannot be cast raises
    :class:`ImportError_` naming the rows (0-based; lines for a CSV) and the field.
    """
    out = frame.copy()
    for column, kind in types.items():
        if column not in out.columns:
            raise ImportError_(
                f"types names column {column!r}, which is not in the file",
                where=source,
                hint=f"columns are: {', '.join(map(str, out.columns))}",
                message_id=f"types menyebut kolom {column!r}, yang tidak ada di berkas",
                hint_id=f"kolom yang ada: {', '.join(map(str, out.columns))}",
            )
        new, bad = _cast_one(out[column], kind.strip().lower())
        if bool(bad.any()):
            rows = np.flatnonzero(bad.to_numpy())
            first = out[column].iloc[rows[0]]
            raise ImportError_(
                f"{int(bad.sum())} value(s) of column {column!r} cannot be read as "
                f"{kind} (first: {first!r})",
                where=f"{source}, {_rows_text(rows, line_offset)}, field {column!r}",
                hint=f"fix those cells, or pass another type for {column!r} "
                "(e.g. types={'" + column + "': 'str'})",
                message_id=f"{int(bad.sum())} nilai di kolom {column!r} tidak dapat dibaca sebagai "
                f"{kind} (pertama: {first!r})",
                hint_id=f"perbaiki sel-sel itu, atau berikan jenis lain untuk {column!r} "
                "(mis. types={'" + column + "': 'str'})",
            )
        out[column] = new
    return out


# -- geometries ---------------------------------------------------------------------


def _family_of(geometry_type: str) -> int:
    key = geometry_type.strip().lower().removeprefix("multi")
    lookup = {"point": 0, "linestring": 1, "line": 1, "polygon": 3}
    if key not in lookup:
        raise InputError(
            f"unknown geometry_type {geometry_type!r}",
            where="geometry_type",
            hint="use Point, LineString or Polygon (or their Multi* forms)",
            message_id=f"geometry_type {geometry_type!r} tidak dikenal",
            hint_id="gunakan Point, LineString atau Polygon (atau bentuk Multi*-nya)",
        )
    return lookup[key]


def _families(type_ids: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Geometry family of each shapely type id: 0 point, 1 line, 3 polygon, 7 other."""
    return np.select(
        [np.isin(type_ids, [0, 4]), np.isin(type_ids, [1, 2, 5]), np.isin(type_ids, [3, 6])],
        [0, 1, 3],
        default=7,
    )


def _only_family(geoms: npt.NDArray[Any], family: int) -> npt.NDArray[Any]:
    """Keep the parts of ``family`` of each geometry (for make_valid output).

    Returns one geometry per input: the single part, a Multi* of several parts, or
    ``None`` where nothing of that family is left.
    """
    parts, idx = shapely.get_parts(geoms, return_index=True)
    parts2, idx2 = shapely.get_parts(parts, return_index=True)  # unpack GC members
    idx = idx[idx2]
    keep = (_families(shapely.get_type_id(parts2)) == family) & ~shapely.is_empty(parts2)
    parts2, idx = parts2[keep], idx[keep]
    out = np.full(len(geoms), None, dtype=object)
    if len(parts2):
        groups, compact = np.unique(idx, return_inverse=True)
        multi = _MULTI[family](parts2, indices=compact)
        single = shapely.get_num_geometries(multi) == 1
        multi[single] = shapely.get_geometry(multi[single], 0)
        out[groups] = multi
    return out


def check_geometries(
    frame: gpd.GeoDataFrame,
    *,
    source: str,
    on_invalid: Literal["repair", "reject"] = "repair",
    geometry_type: str | None = None,
    line_offset: int | None = None,
) -> tuple[gpd.GeoDataFrame, list[Issue]]:
    """Validate the geometries of ``frame`` (index = 0-based source row).

    In order: null/empty geometries are dropped and reported (``empty_geometry``);
    mixed geometry families (points, lines, polygons) raise unless ``geometry_type``
    says which to keep (the others are dropped and reported, kind ``geometry_type``);
    invalid geometries are repaired with :func:`shapely.make_valid` keeping only parts of
    the layer's family (``repaired``; ``rejected`` if nothing is left) or, with
    ``on_invalid="reject"``, raise; a mix of single and Multi* types is promoted to
    Multi*; [0, 0] geometries are flagged (``null_island``) and kept; exact duplicates
    (same WKB and attributes) are flagged (``duplicate``) and kept.
    """
    issues: list[Issue] = []
    geoms = frame.geometry.to_numpy()
    rows = frame.index.to_numpy()

    # 1. null / empty
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(empty):
        what = "no geometry" if geoms[i] is None else "an empty geometry"
        issues.append(
            Issue(
                int(rows[i]),
                None,
                "empty_geometry",
                f"{row_label(int(rows[i]), line_offset)} has {what}; dropped",
            )
        )
    keep = ~empty

    # 2. geometry families
    type_ids = shapely.get_type_id(geoms)
    family = _families(type_ids)
    present = np.unique(family[keep])
    wanted = _family_of(geometry_type) if geometry_type is not None else None
    if wanted is None and len(present) > 1:
        names, counts = np.unique(type_ids[keep], return_counts=True)
        listing = ", ".join(
            f"{_TYPE_NAMES[int(n)]}: {int(c)}" for n, c in zip(names, counts, strict=True)
        )
        raise ImportError_(
            f"the file mixes geometry types ({listing})",
            where=source,
            hint="a layer holds one kind of geometry: pass geometry_type= (--geometry-type) "
            "Point, LineString or Polygon to keep one kind; the others are reported",
            message_id=f"berkas ini mencampur jenis geometri ({listing})",
            hint_id="satu lapisan hanya berisi satu jenis geometri: berikan geometry_type= "
            "(--geometry-type) "
            "Point, LineString atau Polygon untuk menyimpan satu jenis; jenis lainnya dilaporkan",
        )
    if wanted is not None:
        other = keep & (family != wanted)
        for i in np.flatnonzero(other):
            issues.append(
                Issue(
                    int(rows[i]),
                    None,
                    "geometry_type",
                    f"{row_label(int(rows[i]), line_offset)} is a {_TYPE_NAMES[int(type_ids[i])]}, "
                    f"not a {_FAMILY_NAMES[wanted]} (geometry_type={geometry_type!r}); dropped",
                )
            )
        keep &= ~other
        target = wanted
    else:
        target = int(present[0]) if len(present) else 3

    # 3. validity
    invalid = keep & ~_is_valid(geoms)
    bad = np.flatnonzero(invalid)
    if len(bad):
        reasons = shapely.is_valid_reason(geoms[bad])
        if on_invalid == "reject":
            raise ImportError_(
                f"{len(bad)} invalid geometr{'y' if len(bad) == 1 else 'ies'} "
                f"(first: {reasons[0]})",
                where=f"{source}, {_rows_text(rows[bad], None)}",
                hint="fix them in a GIS, or import with on_invalid='repair' (--repair) to "
                "repair them with make_valid",
                message_id=f"{len(bad)} geometri tidak sah (pertama: {reasons[0]})",
                hint_id="perbaiki di aplikasi GIS, atau impor dengan on_invalid='repair' "
                "(--repair) untuk "
                "memperbaikinya dengan make_valid",
            )
        if target == 7:
            fixed = shapely.make_valid(geoms[bad])
        else:
            fixed = _only_family(shapely.make_valid(geoms[bad]), target)
        geoms = geoms.copy()
        geoms[bad] = fixed
        for i, reason, geom in zip(bad, reasons, fixed, strict=True):
            label = row_label(int(rows[i]), line_offset)
            if geom is None or shapely.is_empty(geom):
                keep[i] = False
                msg = f"{label} is invalid ({reason}) and repair left no {_FAMILY_NAMES[target]}"
                issues.append(Issue(int(rows[i]), None, "rejected", msg + "; dropped"))
            else:
                msg = f"{label} was invalid ({reason}); repaired as {geom.geom_type}"
                issues.append(Issue(int(rows[i]), None, "repaired", msg))
        type_ids = shapely.get_type_id(geoms)

    # 4. promote a single/Multi* mix to Multi*
    kept_ids = np.unique(type_ids[keep])
    multi_asked = geometry_type is not None and geometry_type.lower().startswith("multi")
    if target in _MULTI and (len(kept_ids) > 1 or multi_asked):
        single = keep & np.isin(type_ids, [0, 1, 2, 3])
        if single.any():
            geoms = geoms.copy()
            idx = np.flatnonzero(single)
            geoms[idx] = _MULTI[target](geoms[idx], indices=np.arange(len(idx)))

    # The caller's frame is not used after this: a shallow copy saves copying every column.
    out = frame.copy(deep=False) if keep.all() else frame.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(geoms[keep], index=out.index, crs=frame.crs))
    out_geoms = geoms[keep]
    out_rows = rows[keep]

    # 5. null island
    bounds = shapely.bounds(out_geoms)
    zero = np.all(bounds == 0.0, axis=1)
    for i in np.flatnonzero(zero):
        issues.append(
            Issue(
                int(out_rows[i]),
                None,
                "null_island",
                f"{row_label(int(out_rows[i]), line_offset)} lies at [0, 0] (null island), "
                "usually a missing location; kept",
            )
        )

    # 6. exact duplicates (geometry WKB + attributes)
    issues.extend(_duplicates(out, bounds, line_offset))
    return out, issues


#: Geometries per thread below which validity is checked in one call.
_VALID_CHUNK = 50_000
_VALID_POOL: ThreadPoolExecutor | None = None


def _is_valid(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    """``shapely.is_valid`` over the machine's cores: GEOS releases the GIL while it
    checks, so two threads check a million polygons in about half the time."""
    global _VALID_POOL
    workers = min(os.cpu_count() or 1, 4, len(geoms) // _VALID_CHUNK)
    if workers < 2:
        return np.asarray(shapely.is_valid(geoms), dtype=bool)
    if _VALID_POOL is None:
        _VALID_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tangguh-valid")
    parts = list(_VALID_POOL.map(shapely.is_valid, np.array_split(geoms, workers)))
    return np.concatenate(parts).astype(bool)


def _duplicates(
    frame: gpd.GeoDataFrame, bounds: npt.NDArray[np.float64], line_offset: int | None
) -> list[Issue]:
    """One ``duplicate`` Issue per row that repeats an earlier one (kept)."""
    return [
        Issue(
            row,
            None,
            "duplicate",
            f"{row_label(row, line_offset)} repeats {row_label(original, line_offset)} "
            "(same geometry and attributes); kept",
        )
        for row, original in duplicate_rows(frame, bounds)
    ]
