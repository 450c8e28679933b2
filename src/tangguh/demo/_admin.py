"""Nested admin units of the demo city: province > kota > kecamatan > kelurahan > RW.

RW polygons are Voronoi cells of seeded points clipped to the land outline; RWs are
grouped into kelurahan, kelurahan into kecamatan and kecamatan into kota by k-means
on their centres, and each parent is the exact (coverage) union of its children, so
every level tiles the province with no gaps and no overlaps. Groups that k-means
leaves in two pieces are repaired by moving the stray children to a neighbour.

Codes mimic the two real numbering systems, which differ as they do in Jakarta:

- BPS: ``31`` / ``3171`` / ``3171010`` / ``3171010001``; kota in the BPS order of
  the real city (Selatan, Timur, Pusat, Barat, Utara), kecamatan numbered 010, 020, ...
  from south to north, kelurahan 001, 002, ... from south to north.
- Kemendagri: ``31`` / ``31.71`` / ``31.71.01`` / ``31.71.01.1001``; kota in the
  Kemendagri order (Pusat, Utara, Barat, Selatan, Timur), kecamatan and kelurahan
  numbered alphabetically by name (kelurahan numbers start at 1001 as for urban
  kelurahan).
- RW (neither system codes them): ``code_bps`` = kelurahan BPS code + 3-digit RW
  number (``3171010001005``, the prefix PetaBencana RW ids use) and
  ``code_kemendagri`` = kelurahan Kemendagri code + ``.`` + 2-digit RW number
  (``31.71.01.1001.05``); the name is ``RW 05``. RWs are numbered from north-west.

``unit_id`` is ``<level>:<BPS code>``, e.g. ``kelurahan:3171010001``.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import Polygon

from tangguh.demo._geo import KM_PER_DEG_LAT, KM_PER_DEG_LON, IntArray, kmeans
from tangguh.demo._names import normalise_name, place_names

__all__ = ["ADMIN_SIZES", "allocate", "build_admin", "group_contiguous"]

#: Target counts per size: kota, kecamatan, kelurahan, RW, total population.
ADMIN_SIZES: dict[str, dict[str, int]] = {
    "small": {"kota": 2, "kecamatan": 4, "kelurahan": 12, "rw": 60, "population": 200_000},
    "full": {"kota": 5, "kecamatan": 40, "kelurahan": 260, "rw": 2700, "population": 10_500_000},
}

_GRID = 1e-7  # degrees (~1 cm): RW vertices are snapped to it so shared edges match exactly
_BPS_KOTA_ORDER = ("Selatan", "Timur", "Pusat", "Barat", "Utara")
_KMD_KOTA_ORDER = ("Pusat", "Utara", "Barat", "Selatan", "Timur")
_COMPASS = {"Timur": 0.0, "Utara": 90.0, "Barat": 180.0, "Selatan": -90.0}

GeomArray = npt.NDArray[np.object_]


def _seed_points(outline: Polygon, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """``n`` jittered-grid points inside ``outline`` (evenly spread, seeded)."""
    minx, miny, maxx, maxy = outline.bounds
    spacing = np.sqrt(outline.area / n) * 0.93
    gx, gy = np.meshgrid(np.arange(minx, maxx, spacing), np.arange(miny, maxy, spacing))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts += rng.uniform(-0.38, 0.38, pts.shape) * spacing
    inner = outline.buffer(-spacing * 0.15)
    pts = pts[shapely.contains_xy(inner, pts[:, 0], pts[:, 1])]
    if len(pts) < n:  # pragma: no cover - spacing factor leaves a margin
        raise RuntimeError(f"demo city: only {len(pts)} RW seeds for {n}")
    keep = np.sort(rng.choice(len(pts), n, replace=False))
    return pts[keep]


def _rw_cells(outline: Polygon, pts: npt.NDArray[np.float64]) -> GeomArray:
    """Voronoi cells of ``pts`` clipped to ``outline``, in the order of ``pts``."""
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline.envelope.buffer(0.1))
    )
    tree = shapely.STRtree(cells)
    idx_pt, idx_cell = tree.query(shapely.points(pts), predicate="within")
    order = np.empty(len(pts), dtype=np.int64)
    order[idx_pt] = idx_cell
    clipped = shapely.intersection(cells[order], outline, grid_size=_GRID)
    for i in np.flatnonzero(shapely.get_type_id(clipped) != 3):
        # a coastal cell cut in two: keep the piece holding the seed, give the rest away
        parts = shapely.get_parts(clipped[i])
        clipped[i] = parts[shapely.contains_xy(parts, *pts[i])][0]
    return clipped


def _repair_orphans(outline: Polygon, cells: GeomArray) -> GeomArray:
    """Give land that no cell covers (pieces cut off a coastal cell) to a neighbour."""
    rest = shapely.difference(outline, shapely.union_all(cells), grid_size=_GRID)
    for piece in shapely.get_parts(rest):
        if piece.area == 0:
            continue
        near = shapely.STRtree(cells).query(piece, predicate="intersects")
        shared = [shapely.length(shapely.intersection(piece, cells[j])) for j in near]
        j = int(near[int(np.argmax(shared))])
        cells[j] = shapely.union(cells[j], piece, grid_size=_GRID)
    return cells


def _edge_neighbours(geoms: GeomArray) -> list[set[int]]:
    """Indices of the geometries sharing an edge (not just a corner) with each one."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="touches")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(shapely.intersection(geoms[left], geoms[right])) > 0
    out: list[set[int]] = [set() for _ in range(len(geoms))]
    for a, b in zip(left[shared].tolist(), right[shared].tolist(), strict=True):
        out[a].add(b)
        out[b].add(a)
    return out


def group_contiguous(
    geoms: GeomArray, centres: npt.NDArray[np.float64], k: int, rng: np.random.Generator
) -> tuple[IntArray, GeomArray]:
    """Group ``geoms`` into ``k`` contiguous parents; return labels and parent polygons."""
    labels = kmeans(centres, k, rng)
    neighbours = _edge_neighbours(geoms)
    for _ in range(50):
        unions = _unions(geoms, labels, k)
        moved = False
        for g in np.flatnonzero(shapely.get_type_id(unions) != 3):
            parts = shapely.get_parts(unions[g])
            main = parts[int(np.argmax(shapely.area(parts)))]
            members = np.flatnonzero(labels == g)
            stray = members[~shapely.within(shapely.point_on_surface(geoms[members]), main)]
            for child in stray.tolist():
                others = sorted({int(labels[j]) for j in neighbours[child]} - {int(g)})
                if others:
                    labels[child] = others[0]
                    moved = True
        if not moved:
            return labels, unions
    raise RuntimeError("demo city: admin groups did not become contiguous")  # pragma: no cover


def _unions(geoms: GeomArray, labels: IntArray, k: int) -> GeomArray:
    out = np.empty(k, dtype=object)
    for g in range(k):
        out[g] = shapely.coverage_union_all(geoms[labels == g])
    return shapely.normalize(out)


def _kota_directions(
    centres: npt.NDArray[np.float64], middle: npt.NDArray[np.float64]
) -> list[str]:
    """Compass names for the kota: nearest the middle is Pusat (when 5), others by angle."""
    k = len(centres)
    rel = centres - middle
    if k == 2:  # split along the longer axis between the two centres
        dx, dy = rel[1] - rel[0]
        if abs(dx) >= abs(dy):
            return ["Barat", "Timur"] if dx > 0 else ["Timur", "Barat"]
        return ["Selatan", "Utara"] if dy > 0 else ["Utara", "Selatan"]
    if k != 5:
        raise ValueError("demo city: kota names exist for 2 or 5 kota")  # pragma: no cover
    names = [""] * 5
    pusat = int(np.argmin(np.hypot(*rel.T)))
    names[pusat] = "Pusat"
    rest = [i for i in range(5) if i != pusat]
    angles = np.degrees(np.arctan2(rel[rest, 1], rel[rest, 0]))
    best: tuple[float, tuple[str, ...]] | None = None
    for perm in permutations(_COMPASS):
        cost = sum(
            abs((a - _COMPASS[d] + 180.0) % 360.0 - 180.0)
            for a, d in zip(angles, perm, strict=True)
        )
        if best is None or cost < best[0]:
            best = (cost, perm)
    assert best is not None
    for i, d in zip(rest, best[1], strict=True):
        names[i] = d
    return names


def allocate(weights: npt.NDArray[np.float64], total: int) -> IntArray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def _south_to_north(geoms: GeomArray) -> IntArray:
    c = shapely.get_coordinates(shapely.centroid(geoms))
    return np.lexsort((c[:, 0], c[:, 1])).astype(np.int64)


def build_admin(
    outline: Polygon, size: Literal["small", "full"], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Build the ``admin_units`` layer (all five levels in one frame, EPSG:4326)."""
    spec = ADMIN_SIZES[size]
    pts = _seed_points(outline, spec["rw"], rng)
    rw_geoms = _repair_orphans(outline, _rw_cells(outline, pts))
    kel_of_rw, kel_geoms = group_contiguous(rw_geoms, pts, spec["kelurahan"], rng)
    kel_c = shapely.get_coordinates(shapely.centroid(kel_geoms))
    kec_of_kel, kec_geoms = group_contiguous(kel_geoms, kel_c, spec["kecamatan"], rng)
    kec_c = shapely.get_coordinates(shapely.centroid(kec_geoms))
    kota_of_kec, kota_geoms = group_contiguous(kec_geoms, kec_c, spec["kota"], rng)
    province = shapely.normalize(shapely.coverage_union_all(kota_geoms))

    # population: denser towards the old centre, lognormal scatter per RW
    area_km2 = shapely.area(rw_geoms) * KM_PER_DEG_LAT * KM_PER_DEG_LON
    centre = np.array([106.83, -6.18])
    dist = np.hypot(*(pts - centre).T) * KM_PER_DEG_LAT
    density = np.exp(-dist / 18.0) * rng.lognormal(0.0, 0.35, len(pts))
    rw_pop = allocate(area_km2 * density, spec["population"])
    rw_hh = np.maximum(1, np.round(rw_pop / rng.uniform(3.2, 3.8, len(pts)))).astype(np.int64)

    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []

    def add(
        level: str, name: str, bps: str, kmd: str, parent: str | None, pop: int, hh: int, geom: Any
    ) -> str:
        uid = f"{level}:{bps}"
        rows.append(
            {
                "unit_id": uid,
                "level": level,
                "name": name,
                "name_norm": normalise_name(name),
                "parent_id": parent,
                "code_bps": bps,
                "code_kemendagri": kmd,
                "population": int(pop),
                "households": int(hh),
                "pop_year": 2024,
                "pop_source": "synthetic",
            }
        )
        geoms.append(geom)
        return uid

    pop_kel = np.bincount(kel_of_rw, rw_pop, len(kel_geoms)).astype(np.int64)
    hh_kel = np.bincount(kel_of_rw, rw_hh, len(kel_geoms)).astype(np.int64)
    pop_kec = np.bincount(kec_of_kel, pop_kel, len(kec_geoms)).astype(np.int64)
    hh_kec = np.bincount(kec_of_kel, hh_kel, len(kec_geoms)).astype(np.int64)
    pop_kota = np.bincount(kota_of_kec, pop_kec, len(kota_geoms)).astype(np.int64)
    hh_kota = np.bincount(kota_of_kec, hh_kec, len(kota_geoms)).astype(np.int64)

    prov_id = add(
        "province", "Demo Tangguh", "31", "31", None, pop_kota.sum(), hh_kota.sum(), province
    )
    directions = _kota_directions(
        shapely.get_coordinates(shapely.centroid(kota_geoms)), np.array(province.centroid.coords[0])
    )
    bps_rank = sorted(range(len(directions)), key=lambda i: _BPS_KOTA_ORDER.index(directions[i]))
    kmd_rank = sorted(range(len(directions)), key=lambda i: _KMD_KOTA_ORDER.index(directions[i]))
    names = iter(place_names(rng, len(kec_geoms) + len(kel_geoms)))
    for kota in bps_rank:
        kota_bps = f"31{71 + bps_rank.index(kota)}"
        kota_kmd = f"31.{71 + kmd_rank.index(kota)}"
        kota_id = add(
            "kota",
            f"Demo {directions[kota]}",
            kota_bps,
            kota_kmd,
            prov_id,
            pop_kota[kota],
            hh_kota[kota],
            kota_geoms[kota],
        )
        kecs = np.flatnonzero(kota_of_kec == kota)
        kecs = kecs[_south_to_north(kec_geoms[kecs])]
        kec_names = {int(k): next(names) for k in kecs}
        kec_alpha = sorted(kec_names, key=lambda k: kec_names[k])
        for i_kec, kec in enumerate(kecs.tolist(), start=1):
            kec_bps = f"{kota_bps}{i_kec * 10:03d}"
            kec_kmd = f"{kota_kmd}.{kec_alpha.index(kec) + 1:02d}"
            kec_id = add(
                "kecamatan",
                kec_names[kec],
                kec_bps,
                kec_kmd,
                kota_id,
                pop_kec[kec],
                hh_kec[kec],
                kec_geoms[kec],
            )
            kels = np.flatnonzero(kec_of_kel == kec)
            kels = kels[_south_to_north(kel_geoms[kels])]
            kel_names = {int(k): next(names) for k in kels}
            kel_alpha = sorted(kel_names, key=lambda k: kel_names[k])
            for i_kel, kel in enumerate(kels.tolist(), start=1):
                kel_bps = f"{kec_bps}{i_kel:03d}"
                kel_kmd = f"{kec_kmd}.{1000 + kel_alpha.index(kel) + 1}"
                kel_id = add(
                    "kelurahan",
                    kel_names[kel],
                    kel_bps,
                    kel_kmd,
                    kec_id,
                    pop_kel[kel],
                    hh_kel[kel],
                    kel_geoms[kel],
                )
                rws = np.flatnonzero(kel_of_rw == kel)
                rws = rws[np.lexsort((pts[rws, 0], -pts[rws, 1]))]
                for i_rw, rw in enumerate(rws.tolist(), start=1):
                    add(
                        "rw",
                        f"RW {i_rw:02d}",
                        f"{kel_bps}{i_rw:03d}",
                        f"{kel_kmd}.{i_rw:02d}",
                        kel_id,
                        rw_pop[rw],
                        rw_hh[rw],
                        rw_geoms[rw],
                    )

    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    return frame
