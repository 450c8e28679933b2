"""Format readers for :func:`tangguh.io.vector.read_vector`: GDAL formats and GeoParquet.

GDAL formats (GeoJSON, GeoPackage, Shapefile, zipped shapefile, FlatGeobuf, KML) are read
with pyogrio, through Arrow when the attributes are UTF-8. Read errors become
:class:`tangguh.errors.ImportError_` saying what, where (file, layer, row, field) and what
to do.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyogrio
import shapely

from tangguh.bank._gpkgblob import remember_wkb, usable_wkb
from tangguh.errors import ImportError_
from tangguh.io._csv import _encoding_error
from tangguh.io._encoding import (
    _assert_utf8,
    _dbf_ldid,
    _gdal_encoding,
    _is_utf8,
    _locate_bad_text,
    _zip_member,
)

__all__ = ["CRS_HINT", "CRS_HINT_ID"]

#: What to do when a file's CRS is missing or unreadable (English).
CRS_HINT = (
    "pass --crs EPSG:XXXX (crs='EPSG:XXXX'); Jakarta data is usually EPSG:4326 (lon/lat), "
    "EPSG:32748 (WGS 84 / UTM 48S) or EPSG:23834 (DGN95 / UTM 48S)"
)
#: :data:`CRS_HINT` in Bahasa Indonesia.
CRS_HINT_ID = (
    "berikan --crs EPSG:XXXX (crs='EPSG:XXXX'); data Jakarta biasanya EPSG:4326 (lon/lat), "
    "EPSG:32748 (WGS 84 / UTM 48S) atau EPSG:23834 (DGN95 / UTM 48S)"
)


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
        frame = (
            _read_keeping_wkb(gdal_path, layer, gdal_encoding)
            if use_arrow and driver != "KML"
            else None
        )
        if frame is None:
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


def _read_keeping_wkb(
    gdal_path: str, layer: str | None, encoding: str | None
) -> gpd.GeoDataFrame | None:
    """pyogrio's Arrow read, keeping the WKB it read so the bank need not make it again.

    The same frame ``pyogrio.read_dataframe(use_arrow=True)`` gives for layers without
    date/time or JSON fields (``None`` for those: the caller reads them the usual way).
    The WKB is handed to :func:`tangguh.bank._gpkgblob.remember_wkb`.
    """
    info = pyogrio.read_info(gdal_path, layer=layer, encoding=encoding)
    dtypes = [str(d) for d in info.get("dtypes", [])]
    subtypes = [str(s) for s in info.get("ogr_subtypes", []) or []]
    if any(d.startswith("datetime") for d in dtypes) or "OFSTJSON" in subtypes:
        return None
    meta, table = pyogrio.read_arrow(gdal_path, layer=layer, encoding=encoding)
    geometry_name = meta["geometry_name"] or "wkb_geometry"
    if geometry_name not in table.column_names:
        return None
    column = table.column(geometry_name)
    if isinstance(column.type, pyarrow.BaseExtensionType):
        column = column.cast(column.type.storage_type)
    # One chunk (the usual case) is used as it is; combining would copy all the WKB.
    flat = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if isinstance(flat, pyarrow.ExtensionArray):
        flat = flat.storage
    if flat.type == pyarrow.large_binary():
        offsets = np.frombuffer(flat.buffers()[1], dtype=np.int64)
    elif flat.type == pyarrow.binary():
        offsets = np.frombuffer(flat.buffers()[1], dtype=np.int32)
    else:
        return None
    offsets = offsets[flat.offset : flat.offset + len(flat) + 1]
    data_buf = flat.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    valid = ~np.asarray(flat.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    usable = usable_wkb(offsets, data, valid)
    wkb = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=object)
    table = table.drop_columns([geometry_name])
    df = table.to_pandas(self_destruct=True)
    del table
    geoms = np.asarray(shapely.from_wkb(wkb), dtype=object)
    frame = gpd.GeoDataFrame(df, geometry=geoms, crs=meta["crs"])
    remember_wkb(frame.geometry.to_numpy(), wkb, usable)
    return frame


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
