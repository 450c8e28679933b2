"""Representative points of a layer version, cached in the bank.

Point-in-polygon analyses (buildings in flood polygons, facilities in hazard classes)
need one point per feature, not the full geometry. Reading and decoding a million
footprints costs seconds; the points of a layer version, packed as two float64 arrays
in one row of ``tg_layer_point``, load in milliseconds. The cache is filled when a new
layer is written (computed in a forked child process while the rows are inserted, so
the import barely pays for it: :class:`PendingPoints`) and otherwise on the first
request; an update of the layer makes a new version, so a cached version never goes
stale. ``shapely.point_on_surface`` is the representative point: it lies inside its
polygon (a centroid may not).
"""

from __future__ import annotations

import mmap
import os
import signal
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, delete, insert, select

from tangguh.bank import _schema as S
from tangguh.bank._rtree import PACK_MIN, Packed, pack

__all__ = ["LayerPoints", "PendingPoints", "PointsMixin", "start_points"]

#: How long the child computing points may take before it is given up on.
_CHILD_SECONDS = 60.0
_CHILD_SECONDS_PER_FEATURE = 60e-6


@dataclass(frozen=True)
class LayerPoints:
    """One representative point per feature: ``fids[i]`` lies at ``(x[i], y[i])``."""

    fids: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.fids)

    def points(self) -> NDArray[np.object_]:
        """The points as shapely geometries (EPSG:4326)."""
        return np.asarray(shapely.points(self.x, self.y), dtype=object)

    def within(self, bbox: tuple[float, float, float, float]) -> LayerPoints:
        minx, miny, maxx, maxy = bbox
        keep = (self.x >= minx) & (self.x <= maxx) & (self.y >= miny) & (self.y <= maxy)
        return LayerPoints(self.fids[keep], self.x[keep], self.y[keep])


def representative_points(geoms: NDArray[np.object_]) -> tuple[NDArray[Any], NDArray[Any]]:
    """x, y of ``point_on_surface`` of each geometry (NaN for missing or empty)."""
    pts = shapely.point_on_surface(geoms)
    return shapely.get_x(pts), shapely.get_y(pts)


class PendingPoints:
    """Representative points (and a packed R-tree) computed beside a write.

    On POSIX the work runs in a forked child process: ``point_on_surface`` makes a
    shapely object per feature and so holds the GIL, which a thread would share with the
    insert it is meant to run beside. The child has the geometries already (fork copies
    the process lazily), writes the coordinates into a shared memory map and exits. With
    ``rtree_size`` (the GeoPackage's R*Tree node size) it also packs the layer's spatial
    index for features numbered 1..n (:func:`tangguh.bank._rtree.pack`). If it fails, or
    fork is unavailable, the caller computes the points itself and packs the index as
    usual; :meth:`close` always reaps the child.
    """

    def __init__(self, geoms: NDArray[np.object_], rtree_size: int | None = None) -> None:
        self._geoms: NDArray[np.object_] | None = geoms
        self._pid = 0
        self._ok = False
        self._buf: mmap.mmap | None = None
        self._done: tuple[NDArray[Any], NDArray[Any]] | None = None
        self._tree: Packed | None = None
        n = len(geoms)
        self._size = rtree_size
        tree_bytes = 0 if rtree_size is None else 8 + Packed.nbytes(n, rtree_size)
        if not hasattr(os, "fork") or n == 0:
            return
        self._buf = mmap.mmap(-1, 16 * n + tree_bytes)  # MAP_SHARED | MAP_ANONYMOUS
        try:
            pid = os.fork()
        except OSError:
            self._buf.close()
            self._buf = None
            return
        if pid == 0:  # the child: compute, write, leave without any cleanup
            code = 1
            try:
                x, y = representative_points(geoms)
                out = np.frombuffer(self._buf, dtype=np.float64, count=2 * n)
                out[:n] = x
                out[n:] = y
                if rtree_size is not None:
                    self._pack_in_child(geoms, rtree_size)
                code = 0
            finally:
                os._exit(code)
        self._pid = pid

    def _pack_in_child(self, geoms: NDArray[np.object_], size: int) -> None:
        assert self._buf is not None
        n = len(geoms)
        bounds = shapely.bounds(geoms)
        ok = ~np.isnan(bounds[:, 0])
        m = int(ok.sum())
        area = np.frombuffer(self._buf, dtype=np.uint8, offset=16 * n)
        if m > PACK_MIN:
            ids = np.arange(1, n + 1, dtype=np.int64)[ok]
            pack(ids, bounds[ok], size).to_buffer(area[8:])
        area[:8] = np.frombuffer(np.int64(m).tobytes(), dtype=np.uint8)

    def _wait(self) -> None:
        """Reap the child; one that outlives a generous deadline (it should take about
        1.5 s per million features) is killed and its work done here instead."""
        if not self._pid:
            return
        n = 0 if self._geoms is None else len(self._geoms)
        deadline = time.monotonic() + _CHILD_SECONDS + n * _CHILD_SECONDS_PER_FEATURE
        while True:
            pid, status = os.waitpid(self._pid, os.WNOHANG)
            if pid:
                self._ok = os.waitstatus_to_exitcode(status) == 0
                break
            if time.monotonic() > deadline:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
                self._ok = False
                break
            time.sleep(0.002)
        self._pid = 0

    def rtree(self) -> Packed | None:
        """The spatial index packed in the child for features 1..n, or None (no
        ``rtree_size``, too few features, or the child failed)."""
        if self._tree is None and self._size is not None:
            self._wait()
            if self._ok and self._buf is not None and self._geoms is not None:
                n = len(self._geoms)
                area = np.frombuffer(self._buf, dtype=np.uint8, offset=16 * n)
                m = int(area[:8].view(np.int64)[0])
                if m > PACK_MIN:
                    self._tree = Packed.from_buffer(area[8:], m, self._size)
        return self._tree

    def result(self) -> tuple[NDArray[Any], NDArray[Any]]:
        """x, y of each geometry (waits for the child; computes here if it failed)."""
        if self._done is None:
            self._wait()
            geoms = self._geoms
            assert geoms is not None
            n = len(geoms)
            if self._ok and self._buf is not None:
                xy = np.frombuffer(self._buf, dtype=np.float64, count=2 * n).copy()
                self._done = (xy[:n], xy[n:])
            else:
                self._done = representative_points(geoms)
        return self._done

    def close(self) -> None:
        """Wait for the child (if any) and free the shared map; safe to call twice."""
        self._wait()
        if self._buf is not None:
            self._buf.close()
            self._buf = None
        self._geoms = None


def start_points(geoms: NDArray[np.object_], rtree_size: int | None = None) -> PendingPoints:
    """Start computing :func:`representative_points` (and, with ``rtree_size``, packing
    the spatial index) beside the caller's work."""
    return PendingPoints(geoms, rtree_size)


class PointsMixin:
    """layer_points() and the cache table behind it."""

    def _tx(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def layer(self, layer_id: str) -> Any:  # provided by CatalogueMixin
        raise NotImplementedError

    def layer_points(
        self,
        layer_id: str,
        *,
        version: int | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> LayerPoints:
        """A representative point per feature of ``layer_id`` (current or given version)."""
        info = self.layer(layer_id)
        version = int(info.current_version if version is None else version)
        with self._read() as conn:
            row = conn.execute(
                select(S.tg_layer_point.c.fids, S.tg_layer_point.c.xy).where(
                    and_(
                        S.tg_layer_point.c.layer_id == layer_id,
                        S.tg_layer_point.c.version == version,
                    )
                )
            ).first()
        if row is not None:
            fids = np.frombuffer(row[0], dtype="<i8").astype(np.int64)
            xy = np.frombuffer(row[1], dtype="<f8").reshape(2, -1)
            points = LayerPoints(fids, xy[0].copy(), xy[1].copy())
        else:
            frame = self.read_layer(layer_id, version=version, columns=[])  # type: ignore[attr-defined]
            fids = np.asarray(frame.index, dtype=np.int64)
            x, y = representative_points(frame.geometry.to_numpy())
            points = LayerPoints(fids, x, y)
            with self._tx() as conn:
                self._store_points(conn, layer_id, version, points)
        return points if bbox is None else points.within(bbox)

    def _store_points(
        self, conn: Connection, layer_id: str, version: int, points: LayerPoints
    ) -> None:
        """Keep the cache of one version per layer: the one just computed."""
        conn.execute(delete(S.tg_layer_point).where(S.tg_layer_point.c.layer_id == layer_id))
        xy = np.concatenate([points.x, points.y]).astype("<f8")
        conn.execute(
            insert(S.tg_layer_point).values(
                layer_id=layer_id,
                version=version,
                n=len(points),
                fids=points.fids.astype("<i8").tobytes(),
                xy=xy.tobytes(),
            )
        )

    def _drop_points(self, conn: Connection, layer_id: str) -> None:
        conn.execute(delete(S.tg_layer_point).where(S.tg_layer_point.c.layer_id == layer_id))
