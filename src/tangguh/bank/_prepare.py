"""Checks and conversions before a frame becomes a layer version (both backends)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.errors import InputError

__all__ = ["coerce_numeric", "merge_geometry_type", "merge_kinds", "prepare_geometry"]

_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def prepare_geometry(frame: gpd.GeoDataFrame, layer_id: str) -> tuple[gpd.GeoDataFrame, str]:
    """Reproject to EPSG:4326, promote single/multi mixes, return the GPKG geometry type."""
    if frame.crs is None:
        raise InputError(
            f"layer {layer_id!r}: the data have no CRS",
            where=f"layer {layer_id}",
            hint="set one (GeoDataFrame.set_crs) or pass --crs EPSG:XXXX when importing",
            message_id=f"lapisan {layer_id!r}: data tidak memiliki CRS",
            hint_id="tetapkan CRS (GeoDataFrame.set_crs) atau berikan --crs EPSG:XXXX saat "
            "mengimpor",
        )
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    if not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.to_numpy()
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    names = {_TYPE_NAMES[int(t)] for t in pd.unique(shapely.get_type_id(present))}
    if not names:
        return frame, "GEOMETRY"
    if len(names) == 1:
        return frame, names.pop().upper()
    singles = {n for n in names if n in _MULTI}
    multis = {n for n in names if n not in _MULTI}
    if len(singles) == 1 and multis == {_MULTI[next(iter(singles))]}:
        multi = _MULTI[next(iter(singles))]
        promote: Any = {
            "MultiPoint": shapely.multipoints,
            "MultiLineString": shapely.multilinestrings,
            "MultiPolygon": shapely.multipolygons,
        }[multi]
        is_single = (
            shapely.get_type_id(geoms)
            == {"MultiPoint": 0, "MultiLineString": 1, "MultiPolygon": 3}[multi]
        )
        out = geoms.copy()
        if is_single.any():
            out[is_single] = [promote([g]) for g in geoms[is_single]]
        frame = frame.set_geometry(gpd.GeoSeries(out, index=frame.index, crs=frame.crs))
        return frame, multi.upper()
    raise InputError(
        f"layer {layer_id!r}: mixed geometry types {sorted(names)}",
        where=f"layer {layer_id}",
        hint="split the data into one layer per geometry type (e.g. --geometry-type Polygon)",
        message_id=f"lapisan {layer_id!r}: jenis geometri bercampur {sorted(names)}",
        hint_id="pisahkan data menjadi satu lapisan per jenis geometri (mis. --geometry-type "
        "Polygon)",
    )


def merge_geometry_type(old: str | None, new: str, layer_id: str) -> str:
    if old in (None, "GEOMETRY") or new == "GEOMETRY" or old == new:
        return old if old not in (None, "GEOMETRY") else new
    if old.startswith("MULTI") and old[5:] == new:
        return old  # singles are promoted on insert
    raise InputError(
        f"layer {layer_id!r} holds {old} geometries, the new data are {new}",
        where=f"layer {layer_id}",
        hint="import into another layer id, or delete the layer first (`tangguh layer delete`)",
        message_id=f"lapisan {layer_id!r} berisi geometri {old}, data baru berisi {new}",
        hint_id="impor ke ID lapisan lain, atau hapus lapisan itu terlebih dahulu (`tangguh "
        "layer delete`)",
    )


def coerce_numeric(
    frame: gpd.GeoDataFrame,
    old: list[tuple[str, str]],
    new: list[tuple[str, str]],
    layer_id: str,
) -> tuple[gpd.GeoDataFrame, list[tuple[str, str]]]:
    """Give int/float columns the kind the layer already has (both backends' column types).

    Floats into an integer column must be whole numbers (1.0, not 1.5); ints into a
    float column become floats.
    """
    old_map = dict(old)
    kinds = []
    for name, kind in new:
        target = old_map.get(name, kind)
        if {target, kind} == {"int", "float"}:
            values = pd.to_numeric(frame[name], errors="coerce")
            if target == "int":
                fractional = values.notna() & (values != values.round())
                if fractional.any():
                    row = int(np.flatnonzero(fractional.to_numpy())[0])
                    raise InputError(
                        f"column {name!r} holds whole numbers in this layer; "
                        f"{values.iloc[row]!r} is not one",
                        message_id=f"kolom {name!r} berisi bilangan bulat di lapisan ini; "
                        f"{values.iloc[row]!r} bukan bilangan bulat",
                        where=f"layer {layer_id}, row {row}, column {name}",
                        hint="round the values, or import into a new layer with float values",
                        hint_id="bulatkan nilainya, atau impor ke lapisan baru dengan nilai "
                        "pecahan",
                    )
                frame[name] = values.astype("Int64")
            else:
                frame[name] = values.astype("float64")
            kind = target
        kinds.append((name, kind))
    return frame, kinds


def merge_kinds(
    old: list[tuple[str, str]], new: list[tuple[str, str]], layer_id: str, *, mode: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    old_map = dict(old)
    for name, kind in new:
        if (
            name in old_map
            and old_map[name] != kind
            and not ({old_map[name], kind} <= {"int", "float"})
        ):
            raise InputError(
                f"column {name!r} was {old_map[name]} and is now {kind}",
                where=f"layer {layer_id}, column {name}",
                hint="cast it back (--type name=KIND) or rename the column",
                message_id=f"kolom {name!r} sebelumnya {old_map[name]} dan sekarang {kind}",
                hint_id="kembalikan jenisnya (--type name=KIND) atau ganti nama kolom",
            )
    new_cols = [k for k in new if k[0] not in old_map]
    new_names = {n for n, _ in new}
    dropped = [n for n, _ in old if n not in new_names] if mode == "replace" else []
    return old + new_cols, new_cols, dropped
