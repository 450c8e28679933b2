"""Text encodings and zipped shapefiles for :func:`tangguh.io.vector.read_vector`.

Maps Python codec names to GDAL's, finds the first value that is not UTF-8 (to name the
row and field in the error), checks Arrow string columns for invalid UTF-8, picks the
shapefile inside a .zip and reads a .dbf's language driver id (which says whether GDAL
knows the attribute encoding).
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from tangguh.errors import ImportError_, InputError


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
