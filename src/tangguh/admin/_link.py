"""Linking admin units to their parents: the machinery behind ``units_from_frames``.

Private to :mod:`tangguh.admin.units`, which re-exports :class:`LinkReport` and holds
the public entry :func:`tangguh.admin.units.units_from_frames`. Each level's polygons
are reprojected to EPSG:4326 (lon/lat degrees), repaired into MultiPolygons, given
stable ids (code, else slug) and linked to the next level up by containment of their
representative point, with the parent-name field as tie-breaker and fallback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from tangguh.admin.names import name_key, normalize_name
from tangguh.errors import InputError

__all__ = ["LinkReport"]

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class LinkReport:
    """What :func:`units_from_frames` found while linking units to their parents.

    Attributes
    ----------
    source:
        Where the frames came from.
    counts:
        Units per level.
    methods:
        Level -> link method -> number of units. Methods: ``root`` (top level),
        ``contains`` (representative point in exactly one parent), ``contains+name``
        (in several parents, the one named by the parent-name field), ``contains+lowest``
        (in several, lowest unit_id), ``name`` (in none, linked by the parent-name field),
        ``orphan`` (no parent).
    orphans:
        Units left without parent (below the top level).
    disagreements:
        Units whose spatial parent is not the one named in their parent-name field.
    duplicates:
        Ids given to more than one unit, and the ids they were given instead.
    empty_names, repaired, notes:
        Units without a name, geometries repaired or missing, free-text notes.
    row_ids:
        Level -> Series mapping the input frame's index to the unit_id (not in JSON).
    """

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    methods: dict[str, dict[str, int]] = field(default_factory=dict)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    empty_names: list[dict[str, Any]] = field(default_factory=list)
    repaired: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    row_ids: dict[str, pd.Series] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the report (without ``row_ids``)."""
        return {
            "source": self.source,
            "counts": dict(self.counts),
            "methods": {k: dict(v) for k, v in self.methods.items()},
            "orphans": list(self.orphans),
            "disagreements": list(self.disagreements),
            "duplicates": list(self.duplicates),
            "empty_names": list(self.empty_names),
            "repaired": list(self.repaired),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"admin units from {self.source}"]
        for level, n in self.counts.items():
            how = ", ".join(f"{k} {v}" for k, v in sorted(self.methods.get(level, {}).items()))
            lines.append(f"  {level}: {n} units ({how})")
        lines.append(
            f"  orphans {len(self.orphans)}, parent-name disagreements "
            f"{len(self.disagreements)}, duplicate ids {len(self.duplicates)}, "
            f"empty names {len(self.empty_names)}, geometries repaired {len(self.repaired)}"
        )
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-") or "unnamed"


def _to_multipolygons(geoms: NDArray[Any]) -> tuple[NDArray[Any], list[tuple[int, str]]]:
    """Repair invalid polygons (polygonal parts kept) and make every geometry a MultiPolygon."""
    problems: list[tuple[int, str]] = []
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            problems.append((i, "missing or empty geometry"))
            out[i] = None
            continue
        if not geom.is_valid:
            problems.append((i, f"invalid geometry repaired ({shapely.is_valid_reason(geom)})"))
            geom = shapely.make_valid(geom)
        parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
        polys = [q for p in parts for q in shapely.get_parts(p)]
        out[i] = shapely.MultiPolygon(polys) if polys else None
        if not polys:
            problems.append((i, f"no polygon in a {geom.geom_type}"))
    return out, problems


def _link_level(
    pts: NDArray[Any], pkeys: list[str], prev: dict[str, Any]
) -> tuple[NDArray[np.int64], list[str]]:
    """Index of each point's parent in ``prev`` (-1: none) and the method used."""
    n = len(pts)
    cands: dict[int, list[int]] = {}
    pt, poly = prev["tree"].query(pts)
    for i, j in zip(pt.tolist(), poly.tolist(), strict=True):
        cands.setdefault(i, []).append(j)
    parent = np.full(n, -1, dtype=np.int64)
    methods: list[str] = []
    ids = prev["ids"]
    for i in range(n):
        found = cands.get(i, [])
        named = [j for j in found if pkeys[i] and prev["keys"][j] == pkeys[i]]
        if len(found) == 1:
            parent[i], how = found[0], "contains"
        elif len(named) == 1:
            parent[i], how = named[0], "contains+name"
        elif found:
            parent[i], how = min(named or found, key=lambda j: ids[j]), "contains+lowest"
        else:
            by_name = prev["by_key"].get(pkeys[i], []) if pkeys[i] else []
            parent[i], how = (by_name[0], "name") if len(by_name) == 1 else (-1, "orphan")
        methods.append(how)
    return parent, methods


def _link_frames(
    frames: Mapping[str, gpd.GeoDataFrame],
    levels: list[str],
    name_fields: Mapping[str, str],
    code_fields: Mapping[str, str],
    parent_name_fields: Mapping[str, str],
    source: str,
    columns: Sequence[str],
) -> tuple[gpd.GeoDataFrame, LinkReport]:
    """Link every level to the one above; the admin_units frame and the report.

    ``levels`` is top-down; ``columns`` is the column order of the admin_units layer
    (:data:`tangguh.admin.units.UNIT_COLUMNS`, passed in to avoid a circular import).
    """
    from tangguh.admin.codes import parse_code

    report = LinkReport(source=source)
    out: list[pd.DataFrame] = []
    prev: dict[str, Any] | None = None
    for level in levels:
        frame = frames[level]
        if frame.crs is None:
            raise InputError(
                f"the {level} frame has no CRS",
                where=level,
                hint="set the CRS of the frame",
                message_id=f"kerangka data {level} tidak memiliki CRS",
                hint_id="tetapkan CRS kerangka data tersebut",
            )
        if not frame.crs.equals("EPSG:4326"):
            frame = frame.to_crs("EPSG:4326")
        n = len(frame)
        geoms, problems = _to_multipolygons(np.asarray(frame.geometry.values, dtype=object))
        raw = [None if pd.isna(v) else str(v).strip() for v in frame[name_fields[level]]]
        norms = [normalize_name(v, level=level) for v in raw]
        names = [
            f"RW {m}" if level == "rw" and m.isdigit() else (r or "")
            for r, m in zip(raw, norms, strict=True)
        ]
        pts = shapely.point_on_surface(geoms)
        pfield = parent_name_fields.get(level)
        if prev is None:
            parent, methods = np.full(n, -1, dtype=np.int64), ["root"] * n
            pkeys = [""] * n
        else:
            pkeys = [""] * n
            if pfield:
                pkeys = [name_key(v, level=prev["level"]) for v in frame[pfield]]
            parent, methods = _link_level(pts, pkeys, prev)
        # ids: code if given, else slug of the parent's slug (not the province's) + name
        codes: list[Any] = [None] * n
        if level in code_fields:
            codes = [None if pd.isna(c) else parse_code(str(c)) for c in frame[code_fields[level]]]
        base: list[str] = []
        for i in range(n):
            if codes[i] is not None:
                base.append(f"{level}:{codes[i].code}")
                continue
            prefix = prev["prefix"][parent[i]] if prev is not None and parent[i] >= 0 else ""
            base.append(f"{level}:{prefix + '.' if prefix else ''}{_slug(norms[i])}")
        xs, ys = shapely.get_x(pts), shapely.get_y(pts)
        order = sorted(range(n), key=lambda i: (base[i], np.nan_to_num(xs[i]), ys[i], i))
        ids = list(base)
        taken = set(base)
        for k, i in enumerate(order):
            if k and base[order[k - 1]] == base[i]:
                m = 2
                while f"{base[i]}-{m}" in taken:
                    m += 1
                ids[i] = f"{base[i]}-{m}"
                taken.add(ids[i])
        ids_arr = np.asarray(ids, dtype=object)
        for b in sorted({b for b in base if base.count(b) > 1}):
            report.duplicates.append(
                {"unit_id": b, "ids": sorted(ids[i] for i in range(n) if base[i] == b)}
            )
        parent_ids = [prev["ids"][p] if prev is not None and p >= 0 else None for p in parent]
        for i in range(n):
            if prev is not None and parent[i] < 0:
                report.orphans.append({"unit_id": ids[i], "level": level, "name": names[i]})
            elif prev is not None and pfield and pkeys[i] and prev["keys"][parent[i]] != pkeys[i]:
                report.disagreements.append(
                    {
                        "unit_id": ids[i],
                        "name": names[i],
                        "parent_id": parent_ids[i],
                        "field": pfield,
                        "field_value": frame[pfield].iloc[i],
                        "method": methods[i],
                    }
                )
            if not norms[i]:
                report.empty_names.append({"unit_id": ids[i], "level": level})
        report.repaired.extend({"unit_id": ids[i], "problem": why} for i, why in problems)
        report.counts[level] = n
        report.methods[level] = {m: methods.count(m) for m in sorted(set(methods))}
        report.row_ids[level] = pd.Series(ids, index=frame.index, name="unit_id")
        code_sys = [c.system if c is not None else None for c in codes]
        out.append(
            pd.DataFrame(
                {
                    "unit_id": ids,
                    "level": level,
                    "name": names,
                    "name_norm": norms,
                    "parent_id": parent_ids,
                    "code_bps": [
                        c.code if s == "bps" else None for c, s in zip(codes, code_sys, strict=True)
                    ],
                    "code_kemendagri": [
                        c.code if s == "kemendagri" else None
                        for c, s in zip(codes, code_sys, strict=True)
                    ],
                    "geometry": geoms,
                }
            )
        )
        valid = np.flatnonzero([g is not None for g in geoms])
        prev = {
            "level": level,
            "ids": ids_arr,
            "keys": [m.replace(" ", "") for m in norms],
            "prefix": ["" if level == "province" else u.split(":", 1)[1] for u in ids],
            "tree": _SubTree(geoms, valid),
            "by_key": {},
        }
        by_key: dict[str, list[int]] = prev["by_key"]
        for i, norm in enumerate(norms):
            by_key.setdefault(norm.replace(" ", ""), []).append(i)
    return _finish(out, columns), report


class _SubTree:
    """An STRtree over the non-missing geometries that answers with original positions."""

    def __init__(self, geoms: NDArray[Any], valid: NDArray[np.intp]) -> None:
        self._valid = valid
        self._tree = shapely.STRtree(geoms[valid])

    def query(self, pts: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        pt, poly = self._tree.query(pts, predicate="intersects")
        return pt, self._valid[poly]


def _finish(parts: list[pd.DataFrame], columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Concatenate the per-level frames; empty population columns; EPSG:4326."""
    frame = pd.concat(parts, ignore_index=True)
    for col in (
        "unit_id",
        "level",
        "name",
        "name_norm",
        "parent_id",
        "code_bps",
        "code_kemendagri",
    ):
        frame[col] = frame[col].astype("str")
    for col in ("population", "households", "pop_year"):
        frame[col] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["pop_source"] = pd.Series([None] * len(frame), dtype="str")
    return gpd.GeoDataFrame(frame[list(columns)], geometry="geometry", crs="EPSG:4326")
