"""Mapping between pandas column dtypes and the column types of the two backends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from tangguh.errors import InputError

__all__ = ["KINDS", "column_kinds", "columns_frame", "plain_list", "restore_dtypes", "to_db_values"]

#: Tangguh column kinds -> (GeoPackage type, PostgreSQL type)
KINDS: dict[str, tuple[str, str]] = {
    "int": ("INTEGER", "BIGINT"),
    "float": ("REAL", "DOUBLE PRECISION"),
    "bool": ("BOOLEAN", "BOOLEAN"),
    "datetime": ("DATETIME", "TIMESTAMPTZ"),
    "date": ("DATE", "DATE"),
    "time": ("TEXT", "TIME"),
    "str": ("TEXT", "TEXT"),
    "json": ("TEXT", "JSONB"),
}


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    sample = series.dropna()
    if len(sample):
        first = sample.iloc[0]
        if isinstance(first, dict | list):
            return "json"
        if isinstance(first, bool | np.bool_):
            return "bool"
        if isinstance(first, dt.datetime):
            return "datetime"
        if isinstance(first, dt.date):
            return "date"
        if isinstance(first, dt.time):
            return "time"
    return "str"


def column_kinds(frame: gpd.GeoDataFrame) -> list[tuple[str, str]]:
    """(column, kind) for every attribute column of ``frame`` (not the geometry)."""
    geom = frame.geometry.name
    return [(str(c), _kind(frame[c])) for c in frame.columns if c != geom]


def to_db_values(series: pd.Series, kind: str, *, dialect: str) -> list[Any]:
    """Python values ready for a DB-API driver (None for missing)."""
    if kind == "json":
        out: list[Any] = []
        for row, v in enumerate(series):
            try:
                out.append(None if v is None else json.dumps(v, ensure_ascii=False))
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"value cannot be stored as JSON: {exc}",
                    where=f"row {row}, field {series.name}",
                    hint="use lists, dicts, strings and numbers only",
                    message_id=f"nilai tidak dapat disimpan sebagai JSON: {exc}",
                    hint_id="gunakan hanya list, dict, string dan angka",
                ) from exc
        return out
    if kind == "datetime":
        stamps = pd.to_datetime(series)
        if stamps.dt.tz is None:
            stamps = stamps.dt.tz_localize("UTC")
        if dialect == "sqlite":
            text = stamps.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            return [None if pd.isna(v) else v for v in text]
        return [None if pd.isna(v) else v.to_pydatetime() for v in stamps]
    if kind == "time":
        return [None if v is None or pd.isna(v) else v.isoformat() for v in series]
    if kind == "date":
        return [None if pd.isna(v) else str(v)[:10] for v in series]
    mask = series.isna().to_numpy()
    if kind == "str":
        values: np.ndarray[Any, Any] = series.to_numpy(dtype=object)
        if mask.any():
            values = values.copy()
            values[mask] = None
        if len(values) and not all(isinstance(v, str) for v in values[~mask][:1000]):
            return [None if m else str(v) for v, m in zip(values, mask, strict=True)]
        return values.tolist()
    if kind == "int":
        if not mask.any():
            return series.to_numpy(dtype=np.int64).tolist()
        return [None if m else int(v) for v, m in zip(series.to_numpy(object), mask, strict=True)]
    if kind == "float":
        floats = series.to_numpy(dtype=np.float64, na_value=np.nan)
        out_f: list[Any] = floats.tolist()
        if mask.any():
            for i in np.flatnonzero(mask):
                out_f[i] = None
        return out_f
    # bool
    return [None if m else bool(v) for v, m in zip(series.to_numpy(object), mask, strict=True)]


def columns_frame(rows: list[Any], names: list[str]) -> pd.DataFrame:
    """A DataFrame from DB-API row tuples, built column by column (much faster than
    ``DataFrame.from_records`` for a million rows of mixed types)."""
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    table = np.empty((len(rows), len(names)), dtype=object)
    table[:] = rows
    return pd.DataFrame({n: table[:, i] for i, n in enumerate(names)})


def plain_list(series: pd.Series) -> list[Any]:
    """Python values of a column for a DB-API driver, missing values as None (fast paths)."""
    mask = series.isna().to_numpy()
    if series.dtype.kind == "f":
        out: list[Any] = series.to_numpy(np.float64).tolist()
    else:
        out = series.to_numpy(dtype=object).tolist()
    if mask.any():
        for i in np.flatnonzero(mask):
            out[i] = None
    return out


def restore_dtypes(frame: pd.DataFrame, kinds: list[tuple[str, str]]) -> pd.DataFrame:
    """Give columns read back from the database the dtypes they were written with."""
    for name, kind in kinds:
        if name not in frame.columns:
            continue
        col = frame[name]
        if kind == "int":
            frame[name] = col.astype("Int64") if col.isna().any() else col.astype("int64")
        elif kind == "float":
            frame[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif kind == "bool":
            frame[name] = col.map(lambda v: None if v is None else bool(v)).astype(
                "boolean" if col.isna().any() else "bool"
            )
        elif kind == "datetime":
            frame[name] = pd.to_datetime(col, utc=True, format="ISO8601")
        elif kind == "time":
            frame[name] = col.map(lambda v: dt.time.fromisoformat(v) if isinstance(v, str) else v)
        elif kind == "date":
            frame[name] = col.map(lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v)
        elif kind == "json":
            frame[name] = col.map(lambda v: json.loads(v) if isinstance(v, str) else v)
    return frame
