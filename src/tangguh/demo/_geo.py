"""Shared geometry helpers of the demo city: the land outline, the coastline, k-means.

All coordinates are lon/lat degrees (EPSG:4326). The outline sits in the real
Jakarta bounding box (about 106.68-106.98 E, 6.37-6.09 S) with the sea to the north,
so maps of the synthetic city look like maps of Jakarta without copying it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Polygon

__all__ = [
    "KM_PER_DEG_LAT",
    "KM_PER_DEG_LON",
    "Extent",
    "coast_y",
    "extent_for",
    "kmeans",
    "outline_for",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Kilometres per degree at 6.2 deg S (good to 0.5 % over the city).
KM_PER_DEG_LAT = 110.6
KM_PER_DEG_LON = 110.7


@dataclass(frozen=True)
class Extent:
    """The rectangle a demo city is drawn in (degrees)."""

    west: float
    east: float
    south: float


def extent_for(size: Literal["small", "full"]) -> Extent:
    """Extent of the land of a ``small`` (one coastal district) or ``full`` city."""
    if size == "small":
        return Extent(west=106.800, east=106.865, south=-6.168)
    return Extent(west=106.690, east=106.975, south=-6.365)


def coast_y(x: FloatArray) -> FloatArray:
    """Latitude of the coastline at longitude ``x`` (a fixed wavy line near 6.10 S)."""
    u = (x - 106.68) * 2.0 * np.pi
    return -6.108 + 0.006 * np.sin(u / 0.13) + 0.003 * np.sin(u / 0.047 + 0.7)


def _side(p: tuple[float, float], q: tuple[float, float], amp: float, waves: int) -> FloatArray:
    """Points from ``p`` to ``q`` (excluding ``q``) displaced by a sine along the normal."""
    t = np.linspace(0.0, 1.0, 40, endpoint=False)
    d = np.array(q) - np.array(p)
    normal = np.array([-d[1], d[0]]) / np.hypot(*d)
    offset = amp * np.sin(np.pi * waves * t)
    return np.array(p) + t[:, None] * d + offset[:, None] * normal


def outline_for(size: Literal["small", "full"]) -> Polygon:
    """The land polygon of the demo province (fixed shape, independent of the seed)."""
    ext = extent_for(size)
    xs = np.linspace(ext.west, ext.east, 160)
    coast = np.column_stack([xs, coast_y(xs)])
    if size == "small":
        corners = [
            (ext.east, float(coast_y(np.array([ext.east]))[0])),
            (ext.east - 0.002, ext.south),
            (ext.west + 0.001, ext.south - 0.001),
            (ext.west, float(coast_y(np.array([ext.west]))[0])),
        ]
        amps = [(0.0012, 3), (0.0010, 4), (0.0012, 3)]
    else:
        corners = [
            (ext.east, float(coast_y(np.array([ext.east]))[0])),
            (106.968, -6.20),
            (106.955, -6.29),
            (106.925, ext.south),
            (106.770, ext.south - 0.004),
            (106.725, -6.30),
            (106.700, -6.20),
            (ext.west, float(coast_y(np.array([ext.west]))[0])),
        ]
        amps = [(0.004, 3), (0.003, 2), (0.003, 1), (0.004, 4), (0.003, 1), (0.003, 2), (0.004, 3)]
    # east to west along the coast, then west -> south -> east round the land
    parts = [coast[::-1][:-1]]
    ring_corners = corners[::-1]
    amps_rev = amps[::-1]
    for (p, q), (amp, waves) in zip(pairwise(ring_corners), amps_rev, strict=True):
        parts.append(_side(p, q, amp, waves))
    ring = np.concatenate(parts)
    poly = shapely.normalize(shapely.make_valid(Polygon(ring)))
    if not isinstance(poly, Polygon):  # pragma: no cover - fixed shape, checked in tests
        raise RuntimeError("demo outline is not a simple polygon")
    return poly


def kmeans(points: FloatArray, k: int, rng: np.random.Generator, iters: int = 30) -> IntArray:
    """Cluster ``points`` (n x 2) into ``k`` groups; return a label per point.

    Deterministic for a given generator state. Centres start by farthest-point
    sampling (so clusters are spread evenly); an emptied cluster is re-seeded at the
    point farthest from its centre.
    """
    n = len(points)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    centres = np.empty((k, 2))
    centres[0] = points[rng.integers(n)]
    dist = np.hypot(*(points - centres[0]).T)
    for i in range(1, k):
        centres[i] = points[int(np.argmax(dist))]
        dist = np.minimum(dist, np.hypot(*(points - centres[i]).T))
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iters):
        d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(d2, axis=1).astype(np.int64)
        counts = np.bincount(new, minlength=k)
        for empty in np.flatnonzero(counts == 0):
            far = int(np.argmax(d2[np.arange(n), new]))
            new[far] = empty
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for axis in (0, 1):
            centres[:, axis] = np.bincount(labels, points[:, axis], k) / np.bincount(
                labels, None, k
            )
    return labels
