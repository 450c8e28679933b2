"""CSV files for :func:`tangguh.io.vector.read_vector`: points from lon/lat or WKT columns.

Private to :mod:`tangguh.io.vector`. The separator is guessed from the header line; the
encoding defaults to UTF-8 (a BOM is skipped). Coordinates are taken as given (no CRS
is set here; ``read_vector`` assigns EPSG:4326 lon/lat unless told otherwise). Errors
name the file line (row + 2: one header line, 1-based) and field.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.errors import ImportError_
from tangguh.io._checks import _blank

__all__ = ["LAT_NAMES", "LON_NAMES", "WKT_NAMES"]

#: Column names (lower case) recognised as longitude, latitude and WKT geometry.
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "bujur")
LAT_NAMES = ("lat", "latitude", "y", "lintang")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom")


def _encoding_error(source: str, detail: str, detail_id: str | None = None) -> ImportError_:
    """The error for text that is not UTF-8 (CSV and GDAL files alike).

    ``detail`` says where the bad bytes are, in English; ``detail_id`` says it in
    Bahasa Indonesia (defaults to ``detail``, e.g. a decoder's own message).
    """
    return ImportError_(
        f"text is not valid UTF-8 ({detail})",
        where=source,
        hint="pass the file's encoding, e.g. --encoding latin-1 (encoding='latin-1') or "
        "--encoding cp1252; for a shapefile a .cpg file naming the encoding also works",
        message_id=f"teks bukan UTF-8 yang sah ({detail_id or detail})",
        hint_id="berikan encoding berkas, mis. --encoding latin-1 (encoding='latin-1') atau "
        "--encoding cp1252; untuk shapefile, berkas .cpg yang menyebut encoding-nya juga bisa",
    )


def _find_column(frame: pd.DataFrame, given: str | None, names: tuple[str, ...]) -> str | None:
    """The column ``given`` (exact, then case-insensitive) or the first of ``names``."""
    lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    if given is not None:
        if given in frame.columns:
            return given
        return lower.get(given.strip().lower())
    for name in names:
        if name in lower:
            return lower[name]
    return None


def _read_csv_frame(path: Path, encoding: str | None) -> pd.DataFrame:
    with path.open("rb") as fh:
        head = fh.readline()
    sep = max((",", ";", "\t", "|"), key=lambda s: head.count(s.encode()))
    try:
        return pd.read_csv(path, sep=sep, encoding=encoding or "utf-8-sig", low_memory=False)
    except UnicodeDecodeError as exc:
        detail = str(exc)
        detail_id = None
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                try:
                    line.decode(encoding or "utf-8")
                except UnicodeDecodeError as line_exc:
                    cells = line.decode("latin-1").rstrip("\r\n").split(sep)
                    header = head.decode("latin-1").strip().split(sep)
                    col = next(
                        (i for i, c in enumerate(cells) if c.encode("latin-1") != c.encode()),
                        None,
                    )
                    known = col is not None and col < len(header)
                    fld = f", field {header[col]!r}" if known and col is not None else ""
                    fld_id = f", kolom {header[col]!r}" if known and col is not None else ""
                    detail = f"line {number}{fld}, byte {line_exc.start} of the line"
                    detail_id = f"baris {number}{fld_id}, bita ke-{line_exc.start} pada baris itu"
                    break
        raise _encoding_error(str(path), detail, detail_id) from exc
    except pd.errors.EmptyDataError as exc:
        raise ImportError_(
            f"{path.name} is empty", where=str(path), message_id=f"{path.name} kosong"
        ) from exc
    except pd.errors.ParserError as exc:
        raise ImportError_(
            f"cannot parse {path.name} as CSV: {exc}",
            where=str(path),
            hint="check quoting and that every line has the same number of separators",
            message_id=f"{path.name} tidak dapat diurai sebagai CSV: {exc}",
            hint_id="periksa tanda kutip dan pastikan setiap baris memiliki jumlah pemisah yang "
            "sama",
        ) from exc


def _read_csv(
    path: Path, encoding: str | None, lon: str | None, lat: str | None, wkt: str | None
) -> gpd.GeoDataFrame:
    """CSV -> GeoDataFrame (no CRS yet) from lon/lat or WKT columns; lines = row + 2."""
    frame = _read_csv_frame(path, encoding)
    source = str(path)
    columns = ", ".join(map(str, frame.columns))
    wkt_col = _find_column(frame, wkt, WKT_NAMES) if lon is None and lat is None else None
    if wkt is not None and wkt_col is None:
        raise ImportError_(
            f"no WKT column {wkt!r}",
            where=source,
            hint=f"columns: {columns}",
            message_id=f"tidak ada kolom WKT {wkt!r}",
            hint_id=f"kolom yang ada: {columns}",
        )
    if wkt_col is not None:
        text = frame[wkt_col]
        blank = _blank(text)
        geoms = shapely.from_wkt(text.where(~blank, None).to_numpy(), on_invalid="ignore")
        bad = np.flatnonzero(shapely.is_missing(geoms) & ~blank.to_numpy())
        if len(bad):
            lines = ", ".join(str(r + 2) for r in bad[:10])
            raise ImportError_(
                f"{len(bad)} value(s) of column {wkt_col!r} are not WKT "
                f"(first: {str(text.iloc[bad[0]])[:60]!r})",
                where=f"{source}, line {lines}, field {wkt_col!r}",
                hint="write geometries as WKT, e.g. 'POINT (106.8456 -6.2088)'",
                message_id=f"{len(bad)} nilai di kolom {wkt_col!r} bukan WKT "
                f"(pertama: {str(text.iloc[bad[0]])[:60]!r})",
                hint_id="tulis geometri sebagai WKT, mis. 'POINT (106.8456 -6.2088)'",
            )
        return gpd.GeoDataFrame(frame.drop(columns=[wkt_col]), geometry=geoms)
    lon_col = _find_column(frame, lon, LON_NAMES)
    lat_col = _find_column(frame, lat, LAT_NAMES)
    if lon_col is None or lat_col is None:
        raise ImportError_(
            f"{path.name} has no coordinate columns (looked for lon/lat and WKT columns)",
            where=f"{source}, columns: {columns}",
            hint="name the columns with --lon/--lat (lon=, lat=) or --wkt (wkt=)",
            message_id=f"{path.name} tidak memiliki kolom koordinat (dicari kolom lon/lat dan WKT)",
            hint_id="sebutkan kolomnya dengan --lon/--lat (lon=, lat=) atau --wkt (wkt=)",
        )
    coords = []
    for col in (lon_col, lat_col):
        raw = frame[col]
        missing = _blank(raw).to_numpy()
        numbers = pd.to_numeric(raw.where(~missing), errors="coerce").to_numpy(dtype=float)
        for mask, what, hint, what_id, hint_id in (
            (
                missing,
                "is empty",
                "fill in the coordinates on those lines or remove them",
                "kosong",
                "isi koordinat pada baris-baris itu atau hapus baris tersebut",
            ),
            (
                np.isnan(numbers) & ~missing,
                "is not a number",
                "write decimal degrees with a dot, e.g. 106.8456 (not '106,8456' or 6°12'S)",
                "bukan angka",
                "tulis derajat desimal dengan titik, mis. 106.8456 (bukan '106,8456' atau 6°12'S)",
            ),
        ):
            rows = np.flatnonzero(mask)
            if len(rows):
                lines = ", ".join(str(r + 2) for r in rows[:10])
                more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
                first = "" if what == "is empty" else f" (first: {raw.iloc[rows[0]]!r})"
                first_id = "" if what == "is empty" else f" (pertama: {raw.iloc[rows[0]]!r})"
                raise ImportError_(
                    f"coordinate column {col!r} {what} on {len(rows)} row(s){first}",
                    where=f"{source}, line {lines}{more}, field {col!r}",
                    hint=hint,
                    message_id=f"kolom koordinat {col!r} {what_id} pada {len(rows)} "
                    f"baris{first_id}",
                    hint_id=hint_id,
                )
        coords.append(numbers)
    geometry = gpd.points_from_xy(coords[0], coords[1])
    return gpd.GeoDataFrame(frame.drop(columns=[lon_col, lat_col]), geometry=geometry)
