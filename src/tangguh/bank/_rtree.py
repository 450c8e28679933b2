"""Bulk-load an empty SQLite R*Tree (the GeoPackage spatial index) in one pass.

Inserting rows one by one into an SQLite R*Tree costs about 20 µs each (node splits and
reinsertion), which dominates a million-feature import. Like GDAL, we instead build the
tree in memory, here with Sort-Tile-Recursive packing, and write its nodes straight into
the R*Tree's shadow tables (``<name>_node``, ``<name>_rowid``, ``<name>_parent``) in the
format of SQLite's ``rtree.c``: big-endian; a node is a 2-byte depth (root only), a
2-byte cell count and cells of (int64 id, float32 minx, maxx, miny, maxy); coordinates
rounded outwards to float32. ``rtreecheck()`` verifies the result in the tests.
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
from numpy.typing import NDArray

__all__ = ["CELL_DTYPE", "bulk_load"]

#: One R*Tree cell: id (rowid or child node), then minx, maxx, miny, maxy (big-endian).
CELL_DTYPE = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])
_CELL = CELL_DTYPE


def _round_out(
    lo: NDArray[np.float64], hi: NDArray[np.float64]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    lo32 = lo.astype(np.float32)
    hi32 = hi.astype(np.float32)
    lo32 = np.where(lo32 > lo, np.nextafter(lo32, np.float32(-np.inf)), lo32)
    hi32 = np.where(hi32 < hi, np.nextafter(hi32, np.float32(np.inf)), hi32)
    return lo32.astype(np.float32), hi32.astype(np.float32)


def _str_order(boxes: NDArray[np.float32], cap: int) -> NDArray[np.intp]:
    """Sort-Tile-Recursive order: vertical slices by x centre, each sorted by y centre."""
    n = len(boxes)
    leaves = math.ceil(n / cap)
    slices = max(1, math.ceil(math.sqrt(leaves)))
    cx = boxes[:, 0].astype(np.float64) + boxes[:, 1]
    cy = boxes[:, 2].astype(np.float64) + boxes[:, 3]
    by_x = np.argsort(cx)
    slice_of = np.empty(n, dtype=np.float64)
    slice_of[by_x] = np.arange(n) // (slices * cap)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    # One sort on (slice, y): the slice number times a span wider than any y centre;
    # ties from float64 rounding only reorder boxes within a slice (packing, not result).
    low = float(cy.min())
    span = float(cy.max()) - low + 1.0
    return np.argsort(slice_of * span + (cy - low))


def bulk_load(
    raw: sqlite3.Connection, name: str, ids: NDArray[np.int64], bounds: NDArray[np.float64]
) -> None:
    """Fill the empty R*Tree ``name`` with ``ids`` and their (minx, miny, maxx, maxy)."""
    q = '"' + name.replace('"', '""')
    size = raw.execute(f'SELECT length(data) FROM {q}_node" WHERE nodeno = 1').fetchone()[0]
    cap = (int(size) - 4) // _CELL.itemsize
    minx, maxx = _round_out(bounds[:, 0], bounds[:, 2])
    miny, maxy = _round_out(bounds[:, 1], bounds[:, 3])
    entry_ids = np.asarray(ids, dtype=np.int64)
    boxes = np.column_stack([minx, maxx, miny, maxy]).astype(np.float32)

    levels: list[tuple[NDArray[np.int64], NDArray[np.float32], int]] = []
    while True:
        order = _str_order(boxes, cap)
        entry_ids, boxes = entry_ids[order], boxes[order]
        count = math.ceil(len(entry_ids) / cap)
        levels.append((entry_ids, boxes, count))
        if count == 1:
            break
        starts = np.arange(count) * cap
        boxes = np.column_stack(
            [
                np.minimum.reduceat(boxes[:, 0], starts),
                np.maximum.reduceat(boxes[:, 1], starts),
                np.minimum.reduceat(boxes[:, 2], starts),
                np.maximum.reduceat(boxes[:, 3], starts),
            ]
        ).astype(np.float32)
        entry_ids = np.arange(count, dtype=np.int64)  # node indices of the level below

    # Node numbers: the root is 1, then the levels from the top down.
    numbers: list[NDArray[np.int64]] = []
    nxt = 1
    for _, _, count in reversed(levels):
        numbers.append(np.arange(nxt, nxt + count, dtype=np.int64))
        nxt += count
    numbers.reverse()  # numbers[i] = node numbers of level i (0 = leaves)
    depth = len(levels) - 1

    nodes: list[tuple[int, bytes]] = []
    parents: list[tuple[int, int]] = []
    rowids: NDArray[np.int64] | None = None
    for level, (entries, level_boxes, count) in enumerate(levels):
        cells = np.empty(len(entries), dtype=_CELL)
        cells["id"] = entries if level == 0 else numbers[level - 1][entries]
        cells["box"] = level_boxes
        raw_cells = cells.tobytes()
        node_of_entry = np.arange(len(entries)) // cap
        if level == 0:
            rowids = numbers[0][node_of_entry]
        else:
            parents.extend(
                zip(
                    numbers[level - 1][entries].tolist(),
                    numbers[level][node_of_entry].tolist(),
                    strict=True,
                )
            )
        for k in range(count):
            lo, hi = k * cap, min((k + 1) * cap, len(entries))
            head = np.array([depth if level == depth else 0, hi - lo], dtype=">u2").tobytes()
            body = head + raw_cells[lo * _CELL.itemsize : hi * _CELL.itemsize]
            nodes.append((int(numbers[level][k]), body + bytes(int(size) - len(body))))
    assert rowids is not None
    raw.execute(f'DELETE FROM {q}_node"')
    raw.execute(f'DELETE FROM {q}_rowid"')
    raw.execute(f'DELETE FROM {q}_parent"')
    raw.executemany(f'INSERT INTO {q}_node" (nodeno, data) VALUES (?, ?)', nodes)
    raw.executemany(f'INSERT INTO {q}_parent" (nodeno, parentnode) VALUES (?, ?)', parents)
    leaf_ids = levels[0][0]
    first = int(leaf_ids.min())
    if int(leaf_ids.max()) - first + 1 == len(leaf_ids):
        # Contiguous ids (a new layer): one C-side statement instead of a Python row each.
        by_id = np.empty(len(leaf_ids), dtype=np.int64)
        by_id[leaf_ids - first] = rowids
        raw.execute(
            f'INSERT INTO {q}_rowid" (rowid, nodeno) SELECT key + ?, value FROM json_each(?)',
            (first, json.dumps(by_id.tolist())),
        )
    else:
        raw.executemany(
            f'INSERT INTO {q}_rowid" (rowid, nodeno) VALUES (?, ?)',
            zip(leaf_ids.tolist(), rowids.tolist(), strict=True),
        )
