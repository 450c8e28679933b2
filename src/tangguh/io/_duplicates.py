"""Exact duplicate features (same geometry WKB and attributes), found vectorised.

Used by :func:`tangguh.io._checks.check_geometries`, which reports each duplicate as an
:class:`tangguh.io._checks.Issue` (kind ``duplicate``) and keeps it.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

__all__ = ["duplicate_rows"]


def _geometry_keys(geoms: npt.NDArray[Any], bounds: npt.NDArray[np.float64] | None) -> pd.Series:
    """Cheap 64-bit fingerprint of each geometry (type, coordinate count, bounds): equal
    geometries have equal keys, so only rows whose keys repeat need the exact (slower)
    WKB comparison. A collision (same type, count and bounds) only adds a candidate."""
    if bounds is None:
        bounds = shapely.bounds(geoms)
    keys = pd.DataFrame(
        {
            "type": shapely.get_type_id(geoms),
            "count": shapely.get_num_coordinates(geoms),
            "x0": bounds[:, 0],
            "y0": bounds[:, 1],
            "x1": bounds[:, 2],
            "y1": bounds[:, 3],
        }
    )
    return pd.util.hash_pandas_object(keys, index=False)


def duplicate_rows(
    frame: gpd.GeoDataFrame, bounds: npt.NDArray[np.float64] | None = None
) -> list[tuple[int, int]]:
    """Rows of ``frame`` that repeat an earlier row exactly (geometry WKB and attributes).

    ``bounds`` (n, 4) of the geometries may be passed when the caller has them.

    Returns
    -------
    list of (row, original)
        Index labels (0-based source rows) of each later copy and of the first row it
        repeats, in frame order.
    """
    if len(frame) < 2:
        return []
    geoms = frame.geometry.to_numpy()
    candidates = _geometry_keys(geoms, bounds).duplicated(keep=False).to_numpy()
    if not candidates.any():
        return []
    table = pd.DataFrame(frame.loc[candidates].drop(columns=frame.geometry.name))
    table["__wkb"] = shapely.to_wkb(geoms[candidates], hex=True)
    try:
        dup = table.duplicated(keep="first")
    except TypeError:  # unhashable cells (lists, dicts): compare their text
        dup = table.astype(str).duplicated(keep="first")
    if not bool(dup.any()):
        return []
    subset = table.loc[table.astype(str).duplicated(keep=False)].astype(str)
    group = subset.groupby(list(subset.columns), sort=False, dropna=False).ngroup()
    first: dict[int, Any] = {}
    for row, key in group.items():
        first.setdefault(int(key), row)
    return [(int(row), int(first[int(group[row])])) for row in dup[dup].index]
