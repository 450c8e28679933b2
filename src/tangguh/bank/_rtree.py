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
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CELL_DTYPE",
    "PACK_MIN",
    "Packed",
    "bulk_load",
    "node_size",
    "pack",
    "write_packed",
]

#: Fewest entries worth packing; fewer are inserted row by row.
PACK_MIN = 1000

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


@dataclass(frozen=True)
class Packed:
    """A packed R*Tree, ready to be written into the shadow tables of an empty one.

    ``node_no[i]`` is the node number of ``node_data[i]`` (fixed-size blobs); ``parent``
    holds (node, parent node) of every node but the root; ``rowids[j]`` is the leaf
    node that holds entry ``leaf_ids[j]``.
    """

    node_no: NDArray[np.int64]
    node_data: NDArray[np.uint8]
    parent: NDArray[np.int64]
    leaf_ids: NDArray[np.int64]
    rowids: NDArray[np.int64]

    @staticmethod
    def layout(entries: int, size: int) -> list[tuple[str, tuple[int, ...], str]]:
        """Names, shapes and dtypes of the arrays packed from ``entries`` boxes into
        nodes of ``size`` bytes (the same sizes :func:`pack` makes): for a flat buffer."""
        cap = (size - 4) // _CELL.itemsize
        nodes, count = 0, entries
        while True:
            count = math.ceil(count / cap)
            nodes += count
            if count <= 1:
                break
        return [
            ("node_no", (nodes,), "<i8"),
            ("node_data", (nodes, size), "u1"),
            ("parent", (nodes - 1, 2), "<i8"),
            ("leaf_ids", (entries,), "<i8"),
            ("rowids", (entries,), "<i8"),
        ]

    @classmethod
    def nbytes(cls, entries: int, size: int) -> int:
        """Bytes of the flat buffer :meth:`to_buffer` fills."""
        return sum(
            int(np.prod(shape)) * np.dtype(dtype).itemsize
            for _, shape, dtype in cls.layout(entries, size)
        )

    def to_buffer(self, buf: NDArray[np.uint8]) -> None:
        """Write the arrays one after the other into ``buf`` (see :meth:`layout`)."""
        at = 0
        for name, _, _ in self.layout(len(self.leaf_ids), self.node_data.shape[1]):
            raw = np.ascontiguousarray(getattr(self, name)).view(np.uint8).ravel()
            buf[at : at + len(raw)] = raw
            at += len(raw)

    @classmethod
    def from_buffer(cls, buf: NDArray[np.uint8], entries: int, size: int) -> Packed:
        """The arrays :meth:`to_buffer` wrote (copied out of ``buf``)."""
        arrays: dict[str, NDArray[Any]] = {}
        at = 0
        for name, shape, dtype in cls.layout(entries, size):
            count = int(np.prod(shape)) * np.dtype(dtype).itemsize
            arrays[name] = buf[at : at + count].view(dtype).reshape(shape).copy()
            at += count
        return cls(**arrays)


def node_size(raw: sqlite3.Connection, name: str) -> int:
    """Bytes per node of the R*Tree ``name`` (SQLite sets it from the page size)."""
    q = '"' + name.replace('"', '""')
    return int(raw.execute(f'SELECT length(data) FROM {q}_node" WHERE nodeno = 1').fetchone()[0])


def bulk_load(
    raw: sqlite3.Connection, name: str, ids: NDArray[np.int64], bounds: NDArray[np.float64]
) -> None:
    """Fill the empty R*Tree ``name`` with ``ids`` and their (minx, miny, maxx, maxy)."""
    write_packed(raw, name, pack(ids, bounds, node_size(raw, name)))


def pack(ids: NDArray[np.int64], bounds: NDArray[np.float64], size: int) -> Packed:
    """Sort-Tile-Recursive packing of ``ids`` with (minx, miny, maxx, maxy) ``bounds``
    into nodes of ``size`` bytes (numpy only: it may run in another process)."""
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

    node_no: list[NDArray[np.int64]] = []
    node_data: list[NDArray[np.uint8]] = []
    parents: list[NDArray[np.int64]] = []
    rowids = np.empty(0, dtype=np.int64)
    for level, (entries, level_boxes, count) in enumerate(levels):
        # Every node of the level at once: (count, size) bytes, zero padded, each a 2-byte
        # depth (root only), a 2-byte cell count and its cells.
        cells = np.zeros(count * cap, dtype=_CELL)
        cells["id"][: len(entries)] = entries if level == 0 else numbers[level - 1][entries]
        cells["box"][: len(entries)] = level_boxes
        block = np.zeros((count, int(size)), dtype=np.uint8)
        head = np.empty((count, 2), dtype=">u2")
        head[:, 0] = depth if level == depth else 0
        head[:, 1] = np.minimum(cap, len(entries) - np.arange(count) * cap)
        block[:, :4] = head.view(np.uint8).reshape(count, 4)
        block[:, 4 : 4 + cap * _CELL.itemsize] = cells.view(np.uint8).reshape(count, -1)
        node_no.append(numbers[level])
        node_data.append(block)
        node_of_entry = np.arange(len(entries)) // cap
        if level == 0:
            rowids = numbers[0][node_of_entry]
        else:
            parents.append(
                np.column_stack([numbers[level - 1][entries], numbers[level][node_of_entry]])
            )
    return Packed(
        node_no=np.concatenate(node_no),
        node_data=np.concatenate(node_data),
        parent=(np.concatenate(parents) if parents else np.zeros((0, 2))).astype(np.int64),
        leaf_ids=levels[0][0],
        rowids=rowids,
    )


def write_packed(raw: sqlite3.Connection, name: str, packed: Packed) -> None:
    """Write a :func:`pack` result into the shadow tables of the R*Tree ``name``."""
    q = '"' + name.replace('"', '""')
    raw.execute(f'DELETE FROM {q}_node"')
    raw.execute(f'DELETE FROM {q}_rowid"')
    raw.execute(f'DELETE FROM {q}_parent"')
    raw.executemany(
        f'INSERT INTO {q}_node" (nodeno, data) VALUES (?, ?)',
        zip(packed.node_no.tolist(), map(bytes, packed.node_data), strict=True),
    )
    raw.executemany(
        f'INSERT INTO {q}_parent" (nodeno, parentnode) VALUES (?, ?)',
        map(tuple, packed.parent.tolist()),
    )
    leaf_ids, rowids = packed.leaf_ids, packed.rowids
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
