"""Compiled inner loops (numba) of the walking-access indicators.

:meth:`tangguh.connectivity.population.SnappedPopulation.reached` decides, after every
Dijkstra, which of ~1 million population points lie within the walking limit. Done with
numpy it is some forty passes over arrays of every group and every point; here it is one
pass over the groups that touches the points only of groups that are partly reached.
Compiled once per machine (``cache=True``: the machine code is kept beside this file, or
in numba's user cache when that folder is read-only) and run without the GIL.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["reach_groups"]


@numba.njit(cache=True, nogil=True)
def _reach(
    node_cost: Any,
    limit: float,
    groups: Any,
    thresholds: Any,
    pts: Any,
    on_src: Any,
    blocked: Any,
    n_leaf: int,
    with_mask: bool,
) -> Any:
    """People reached per leaf, per point hits (``with_mask``) and candidates."""
    g_u, g_v, g_edge, g_start, g_stop, g_leaf, g_people = groups
    full_u, full_v, none_u, none_v = thresholds
    n_groups = g_u.shape[0]
    weight = np.zeros(n_groups)
    hit = np.zeros(pts.shape[0] if with_mask else 0, dtype=np.bool_)
    has_src = on_src.shape[0] > 0
    cand = np.empty(pts.shape[0] if has_src else 0, dtype=np.int64)
    cand_group = np.empty(pts.shape[0] if has_src else 0, dtype=np.int64)
    has_blocked = blocked.shape[0] > 0
    nc = 0
    for g in range(n_groups):
        if has_blocked and blocked[g_edge[g]]:
            continue
        hu = node_cost[g_u[g]]
        hv = node_cost[g_v[g]]
        if hu <= full_u[g] or hv <= full_v[g]:
            weight[g] = g_people[g]
            if with_mask:
                hit[g_start[g] : g_stop[g]] = True
            continue
        src = has_src and on_src[g_edge[g]]
        if not src and hu > none_u[g] and hv > none_v[g]:
            continue
        xu = limit - hu
        xv = limit - hv
        s = 0.0
        if src or with_mask:
            for i in range(g_start[g], g_stop[g]):
                if pts[i, 0] <= xu or pts[i, 1] <= xv:
                    s += pts[i, 2]
                    if with_mask:
                        hit[i] = True
                elif src:
                    cand[nc] = i
                    cand_group[nc] = g
                    nc += 1
        else:  # the common case: no branch per point
            for i in range(g_start[g], g_stop[g]):
                s += pts[i, 2] * ((pts[i, 0] <= xu) | (pts[i, 1] <= xv))
        weight[g] = s
    per_leaf = np.zeros(n_leaf)
    for g in range(n_groups):
        per_leaf[g_leaf[g]] += weight[g]
    return per_leaf, hit, cand[:nc], cand_group[:nc]


def reach_groups(
    node_cost: np.ndarray[Any, Any],
    limit: float,
    groups: tuple[np.ndarray[Any, Any], ...],
    thresholds: tuple[np.ndarray[Any, Any], ...],
    pts: np.ndarray[Any, Any],
    *,
    on_src: np.ndarray[Any, Any] | None,
    blocked: np.ndarray[Any, Any] | None,
    n_leaf: int,
    with_mask: bool,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """People reached per leaf, the per-point hits (``with_mask``), and the points of
    groups with a source on their edge that no node reaches (index, group), which the
    caller checks along the edge.

    ``groups`` is (in this order) ``g_u, g_v, g_edge, g_start, g_stop, g_leaf, g_people``;
    ``thresholds`` the node costs under which a group is wholly reached from u / v and
    reached at all from u / v; ``pts`` the (points, 3) costs to u, to v and people, in
    group order. ``on_src`` (per edge) marks edges with a source on them, ``blocked``
    (per edge) edges nobody can use.
    """
    empty = np.zeros(0, dtype=np.bool_)
    args = (
        np.ascontiguousarray(node_cost, dtype=np.float64),
        float(limit),
        groups,
        tuple(thresholds),
        pts,
        empty if on_src is None else np.ascontiguousarray(on_src, dtype=np.bool_),
        empty if blocked is None else np.ascontiguousarray(blocked, dtype=np.bool_),
        int(n_leaf),
        bool(with_mask),
    )
    per_leaf, hit, cand, cand_group = _reach(*args)
    return per_leaf, hit, cand, cand_group
