"""Write a GeoDataFrame (a layer or a filtered subset of one) to a vector file.

Formats by suffix: GeoJSON (.geojson/.json), GeoPackage (.gpkg), CSV (.csv: a ``wkt``
column, plus ``lon``/``lat`` for point layers), FlatGeobuf (.fgb), GeoParquet (.parquet),
KML (.kml) and Shapefile (.shp); or any GDAL driver pyogrio can write via ``driver=``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from tangguh.errors import InputError

__all__ = ["DRIVERS", "write_vector"]

#: Output suffix -> driver ("CSV" and "Parquet" are written by pandas/GeoPandas).
DRIVERS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".csv": "CSV",
    ".fgb": "FlatGeobuf",
    ".parquet": "Parquet",
    ".geoparquet": "Parquet",
    ".kml": "KML",
    ".shp": "ESRI Shapefile",
}
_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qpj")
_LONLAT_ONLY = ("CSV", "KML", "LIBKML")  # formats that carry no CRS: written in EPSG:4326


def _kml_driver() -> str:
    drivers = pyogrio.list_drivers(write=True)
    return "LIBKML" if "LIBKML" in drivers else "KML"


def _remove(path: Path, driver: str) -> None:
    """Remove an existing output (and a shapefile's sidecar files) so it is overwritten."""
    if path.is_dir():
        raise InputError(
            f"{path} is a directory",
            where=str(path),
            hint="give a file name",
            message_id=f"{path} adalah direktori",
            hint_id="berikan nama berkas",
        )
    path.unlink(missing_ok=True)
    if driver == "ESRI Shapefile":
        for suffix in _SIDECARS:
            path.with_suffix(suffix).unlink(missing_ok=True)


def _write_csv(frame: gpd.GeoDataFrame, path: Path) -> None:
    geoms = frame.geometry.to_numpy()
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    added = ["wkt"]
    points = bool(len(geoms)) and bool((shapely.get_type_id(geoms) == 0).all())
    if points:
        added += ["lon", "lat"]
    clash = [name for name in added if name in table.columns]
    if clash:
        raise InputError(
            f"the frame already has column(s) {', '.join(clash)} that the CSV writer adds",
            where=str(path),
            hint="rename those columns before exporting to CSV",
            message_id=f"kerangka data sudah memiliki kolom {', '.join(clash)} yang ditambahkan "
            "oleh penulis CSV",
            hint_id="ganti nama kolom-kolom itu sebelum mengekspor ke CSV",
        )
    table["wkt"] = shapely.to_wkt(geoms, rounding_precision=-1)
    if points:
        table["lon"] = shapely.get_x(geoms)
        table["lat"] = shapely.get_y(geoms)
    table.to_csv(path, index=False, encoding="utf-8")


def write_vector(
    frame: gpd.GeoDataFrame,
    path: str | Path,
    *,
    driver: str | None = None,
    layer: str | None = None,
) -> Path:
    """Write ``frame`` to ``path``, replacing any existing file there.

    Parameters
    ----------
    frame:
        Features with a CRS (EPSG:4326 in the bank). CSV and KML are written in
        EPSG:4326 (reprojected if needed) since they carry no CRS; other formats keep
        the frame's CRS.
    path:
        Output file; the suffix chooses the format unless ``driver`` is given.
    driver:
        GDAL driver name (``"GPKG"``, ``"GeoJSON"``, ``"FlatGeobuf"``, ...) or ``"CSV"`` /
        ``"Parquet"``.
    layer:
        Layer name inside a GeoPackage or KML (default: the file stem).

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    chosen = driver or DRIVERS.get(path.suffix.lower())
    if chosen is None:
        raise InputError(
            f"cannot tell the output format from {path.suffix or '(no extension)'!r}",
            where=str(path),
            hint=f"use one of {', '.join(sorted(DRIVERS))}, or pass driver=",
            message_id="format keluaran tidak dapat ditentukan dari "
            f"{path.suffix or '(tanpa ekstensi)'!r}",
            hint_id=f"gunakan salah satu dari {', '.join(sorted(DRIVERS))}, atau berikan driver=",
        )
    if chosen in ("KML", "LIBKML"):
        chosen = _kml_driver()
    if frame.crs is None:
        raise InputError(
            "the frame has no CRS",
            where=str(path),
            hint="set one with frame.set_crs(...)",
            message_id="kerangka data tidak memiliki CRS",
            hint_id="tetapkan CRS dengan frame.set_crs(...)",
        )
    if chosen in _LONLAT_ONLY and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove(path, chosen)
    if chosen == "CSV":
        _write_csv(frame, path)
    elif chosen == "Parquet":
        frame.to_parquet(path, index=False)
    else:
        try:
            pyogrio.write_dataframe(frame, path, driver=chosen, layer=layer or path.stem)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError) as exc:
            raise InputError(
                f"cannot write {path.name}: {exc}",
                where=str(path),
                message_id=f"{path.name} tidak dapat ditulis: {exc}",
            ) from exc
    return path
