"""Representative points of a layer version, cached in the bank.

Point-in-polygon analyses (buildings in flood polygons, facilities in hazard classes)
need one point per feature, not the full geometry. Reading and decoding a million
footprints costs seconds; the points of a layer version, packed as two float64 arrays
in one row of ``tg_layer_point``, load in milliseconds. The cache is filled when a new
layer is written (computed in a forked child process while the rows are inserted, so
the import barely pays for it: :class:`PendingPoints`) and otherwise on the first
request; an update of the layer makes a new version, so a cached version never goes
stale. ``shapely.point_on_surface``
is the representative point: it lies inside its polygon (a centroid may not).
"""

from __future__ import annotations

import mmap
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, delete, insert, select

from tangguh.bank import _schema as S

__all__ = ["LayerPoints", "PointsMixin"]


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
    """Representative points being computed beside a write; :meth:`result` waits for them.

    On POSIX the work runs in a forked child process: ``point_on_surface`` makes a
    shapely object per feature and so holds the GIL, which a thread would share with the
    insert it is meant to run beside. The child has the geometries already (fork copies
    the process lazily), writes the coordinates into a shared memory map and exits. If it
    fails, or fork is unavailable, the points are computed in the calling thread.
    """

    def __init__(self, geoms: NDArray[np.object_]) -> None:
        self._geoms: NDArray[np.object_] | None = geoms
        self._pid = 0
        self._buf: mmap.mmap | None = None
        self._done: tuple[NDArray[Any], NDArray[Any]] | None = None
        n = len(geoms)
        if not hasattr(os, "fork") or n == 0:
            return
        self._buf = mmap.mmap(-1, 16 * n)  # MAP_SHARED | MAP_ANONYMOUS
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
                out = np.frombuffer(self._buf, dtype=np.float64)
                out[:n] = x
                out[n:] = y
                code = 0
            finally:
                os._exit(code)
        self._pid = pid

    def result(self) -> tuple[NDArray[Any], NDArray[Any]]:
        """x, y of each geometry (waits for the child; computes here if it failed)."""
        if self._done is None:
            ok = self._reap()
            geoms = self._geoms
            assert geoms is not None
            n = len(geoms)
            if ok and self._buf is not None:
                xy = np.frombuffer(self._buf, dtype=np.float64).copy()
                self._done = (xy[:n], xy[n:])
            else:
                self._done = representative_points(geoms)
            self.close()
        return self._done

    def _reap(self) -> bool:
        if not self._pid:
            return False
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        return os.waitstatus_to_exitcode(status) == 0

    def close(self) -> None:
        """Wait for the child (if any) and free the shared map; safe to call twice."""
        if self._pid:
            self._reap()
        if self._buf is not None:
            self._buf.close()
            self._buf = None
        self._geoms = None if self._done is not None else self._geoms


def start_points(geoms: NDArray[np.object_]) -> PendingPoints:
    """Start computing :func:`representative_points` beside the caller's work."""
    return PendingPoints(geoms)


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
