"""Vectorised encode/decode of GeoPackage geometry blobs (GPKG 1.3 §2.1.3).

A blob is a header (magic ``GP``, version 0, flags, srs_id, optional envelope) followed
by ISO WKB. We write little-endian headers with an XY envelope for all non-point
geometries (GDAL does the same) and no envelope for points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["decode", "encode"]

_HEADER = np.dtype(
    [("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"), ("env", "<f8", (4,))]
)
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode(
    geoms: NDArray[np.object_], *, srs_id: int = 4326
) -> tuple[list[bytes | None], NDArray[np.float64]]:
    """Encode shapely geometries as GeoPackage blobs.

    Returns the blobs (None for missing geometries) and an (n, 4) array of bounds
    (minx, miny, maxx, maxy; NaN for missing/empty) for the R-tree.
    """
    n = len(geoms)
    wkb = shapely.to_wkb(geoms, byte_order=1, flavor="iso")
    bounds = shapely.bounds(geoms)
    is_point = shapely.get_type_id(geoms) == 0
    empty = shapely.is_empty(geoms)
    header = np.zeros(n, dtype=_HEADER)
    header["magic"] = b"GP"
    # flags: bit 0 little-endian, bits 1-3 envelope code (1 = xy), bit 4 empty.
    header["flags"] = np.where(is_point | empty, 1, 3) | np.where(empty, 16, 0)
    header["srs_id"] = srs_id
    header["env"] = bounds[:, [0, 2, 1, 3]]
    raw = header.tobytes()
    short = is_point | empty
    if not short.any() and all(w is not None for w in wkb):
        # Common case (no points, empties or missing): two C-speed comprehensions.
        heads = [raw[i : i + 40] for i in range(0, 40 * n, 40)]
        return [h + w for h, w in zip(heads, wkb, strict=True)], bounds
    blobs: list[bytes | None] = [
        None if w is None else raw[40 * i : 40 * i + (8 if pt else 40)] + w
        for i, (w, pt) in enumerate(zip(wkb, short.tolist(), strict=True))
    ]
    return blobs, bounds


def decode(blobs: Sequence[bytes | None]) -> NDArray[np.object_]:
    """Decode GeoPackage blobs (any envelope code, either byte order) to shapely geometries."""
    wkb: list[bytes | None] = []
    append = wkb.append
    for blob in blobs:
        if blob is None:
            append(None)
            continue
        flags = blob[3]
        append(bytes(blob[8 + _ENVELOPE_BYTES[(flags >> 1) & 7] :]))
    return shapely.from_wkb(np.array(wkb, dtype=object))
