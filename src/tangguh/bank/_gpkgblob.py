"""Vectorised encode/decode of GeoPackage geometry blobs (GPKG 1.3 §2.1.3).

A blob is a header (magic ``GP``, version 0, flags, srs_id, optional envelope) followed
by ISO WKB. We write little-endian headers with an XY envelope for all non-point
geometries (GDAL does the same) and no envelope for points.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["decode", "encode", "remember_wkb"]

_HEADER = np.dtype(
    [("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"), ("env", "<f8", (4,))]
)
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


# The WKB a reader already had for the geometries it returned (one slot): encode reuses it
# for every geometry that is still the very object read, instead of serialising again.
_SOURCE: tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.bool_]] | None = None
_SOURCE_LOCK = threading.Lock()
_HEAD = np.dtype([("order", "u1"), ("type", "<u4")])


def usable_wkb(
    offsets: NDArray[np.integer[Any]], data: NDArray[np.uint8], valid: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Which WKB values of an Arrow binary column (offsets, data bytes, validity) are 2D
    little-endian WKB of a simple feature type — what :func:`encode` would write."""
    start = np.asarray(offsets[:-1], dtype=np.int64)
    size = np.asarray(offsets[1:], dtype=np.int64) - start
    ok = valid & (size >= 5)
    at = np.where(ok, start, 0)
    if len(data) < 5:
        return np.zeros(len(start), dtype=bool)
    at = np.minimum(at, len(data) - 5)
    order = data[at]
    kind = (
        data[at + 1].astype(np.uint32)
        | (data[at + 2].astype(np.uint32) << 8)
        | (data[at + 3].astype(np.uint32) << 16)
        | (data[at + 4].astype(np.uint32) << 24)
    )
    return ok & (order == 1) & (kind >= 1) & (kind <= 7)


def remember_wkb(
    geoms: NDArray[np.object_], wkb: NDArray[np.object_], usable: NDArray[np.bool_] | None = None
) -> None:
    """Remember that ``wkb[i]`` is the little-endian ISO WKB of ``geoms[i]``.

    Only 2D WKB of simple feature types in little-endian order is reused (that is what
    :func:`encode` writes; ``usable`` says which, else it is worked out here), and never
    for an empty geometry. The slot holds one read at a time and is emptied when
    :func:`encode` uses it.
    """
    global _SOURCE
    n = len(geoms)
    if n == 0 or len(wkb) != n:
        return
    wkb = np.asarray(wkb, dtype=object)
    if usable is None:
        missing = np.fromiter((w is None for w in wkb), dtype=bool, count=n)
        heads = np.frombuffer(
            b"".join(b"\x00\x00\x00\x00\x00" if w is None else w[:5] for w in wkb),
            dtype=_HEAD,
        )
        usable = ~missing & (heads["order"] == 1) & (heads["type"] >= 1) & (heads["type"] <= 7)
    geoms = np.asarray(geoms, dtype=object)
    ok = np.asarray(usable, dtype=bool) & ~shapely.is_empty(geoms)
    with _SOURCE_LOCK:
        _SOURCE = (geoms.copy(), wkb, ok)


def _reusable(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.object_], NDArray[np.intp]] | None:
    """The remembered WKB for ``geoms`` and the positions that must be encoded anew."""
    global _SOURCE
    with _SOURCE_LOCK:
        entry = _SOURCE
        if entry is None or len(entry[0]) != len(geoms):
            return None
        _SOURCE = None
    ref, wkb, ok = entry
    same = np.fromiter(map(operator.is_, geoms, ref), dtype=bool, count=len(geoms))
    reuse = same & ok
    if not reuse.any():
        return None
    return wkb, np.flatnonzero(~reuse)


def encode(
    geoms: NDArray[np.object_], *, srs_id: int = 4326
) -> tuple[list[bytes | None], NDArray[np.float64]]:
    """Encode shapely geometries as GeoPackage blobs.

    Returns the blobs (None for missing geometries) and an (n, 4) array of bounds
    (minx, miny, maxx, maxy; NaN for missing/empty) for the R-tree.
    """
    n = len(geoms)
    known = _reusable(geoms)
    wkb: NDArray[np.object_]
    if known is None:
        wkb = np.asarray(shapely.to_wkb(geoms, byte_order=1, flavor="iso"), dtype=object)
    else:
        wkb, todo = known  # the slot is emptied: its array is ours to change
        if len(todo):
            wkb[todo] = shapely.to_wkb(geoms[todo], byte_order=1, flavor="iso")
    bounds = shapely.bounds(geoms)
    is_point = shapely.get_type_id(geoms) == 0
    empty = shapely.is_empty(geoms)
    header = np.zeros(n, dtype=_HEADER)
    header["magic"] = b"GP"
    # flags: bit 0 little-endian, bits 1-3 envelope code (1 = xy), bit 4 empty.
    header["flags"] = np.where(is_point | empty, 1, 3) | np.where(empty, 16, 0)
    header["srs_id"] = srs_id
    header["env"] = bounds[:, [0, 2, 1, 3]]
    short = is_point | empty
    if not short.any() and all(w is not None for w in wkb):
        # Common case (no points, empties or missing): header + WKB, both loops in C.
        heads = header.view("V40").tolist()  # 40-byte bytes objects, NULs kept
        return list(map(bytes.__add__, heads, wkb)), bounds
    raw = header.tobytes()
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
