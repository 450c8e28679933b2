"""Synthetic basic-services layers for the demo city (issue 6).

Built from the city's admin units, buildings, water service zones and TPS:

- ``svc_water_connections``: households with a piped connection per RW, drawn around
  the coverage of the RW's service zone; a few RW are **over-served** on purpose
  (households served above households living: a planted glitch the checks flag).
- ``svc_water_sources``: boreholes, protected and unprotected wells, water kiosks,
  hydrants and (rarely) surface water for the households without a connection, one
  record per RW and type (``households`` = how many use it), placed on a building.
- ``svc_sewer_areas``: one (small) or two (full) small treatment-plant service areas
  inland, as Jakarta's sewer covers only a few percent of the city.
- ``svc_septic_tanks`` and ``svc_desludging``: sanitation facilities per RW (private
  and shared septic tanks, MCK, cubluk, toilets over the river, a little open
  defecation) and emptying records, some delivered to the IPLT and some not.
- ``svc_waste_schedules``: collections per week per TPS (fewer near the coast).
- ``svc_incidents``: six service incidents in December 2024, three still open.

Same inputs and generator state give identical output.
"""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh._spatial import points_in_polygons

__all__ = ["SERVICE_LAYER_IDS", "SERVICE_LAYER_SPECS", "build_service_layers"]

#: Layer ids in the order they are built.
SERVICE_LAYER_IDS = (
    "svc_water_connections",
    "svc_water_sources",
    "svc_sewer_areas",
    "svc_septic_tanks",
    "svc_desludging",
    "svc_waste_schedules",
    "svc_incidents",
)
#: key column, title (id, en), description (id, en), keywords — for the demo catalogue.
SERVICE_LAYER_SPECS: dict[str, tuple[str, str, str, str, str, tuple[str, ...]]] = {
    "svc_water_connections": (
        "unit_id", "Sambungan air perpipaan per RW (demo)",
        "Piped-water connections per RW (demo)",
        "Rumah tangga dengan sambungan air perpipaan per RW; beberapa RW sengaja melebihi "
        "jumlah rumah tangga.",
        "Households with a piped-water connection per RW; a few RW deliberately exceed the "
        "households living there.",
        ("water", "air bersih", "PAM", "connections"),
    ),
    "svc_water_sources": (
        "source_id", "Sumber air alternatif (demo)", "Alternative water sources (demo)",
        "Sumur bor, sumur gali, kios air, hidran umum dan air permukaan dengan jumlah rumah "
        "tangga pengguna.",
        "Boreholes, dug wells, water kiosks, public hydrants and surface water with the "
        "households using them.",
        ("water", "sumur", "kios air", "hidran", "JMP"),
    ),
    "svc_sewer_areas": (
        "area_id", "Area layanan IPAL (demo)", "Treatment-plant service areas (demo)",
        "Area layanan perpipaan air limbah dengan persentase rumah tangga tersambung.",
        "Sewer service areas with the share of households connected.",
        ("sanitation", "sanitasi", "IPAL", "sewer"),
    ),
    "svc_septic_tanks": (
        "tank_id", "Tangki septik dan jamban (demo)", "Septic tanks and toilets (demo)",
        "Fasilitas sanitasi per RW: tangki septik pribadi dan bersama, MCK, cubluk, jamban di "
        "atas sungai.",
        "Sanitation facilities per RW: private and shared septic tanks, MCK, pits, toilets "
        "over the river.",
        ("sanitation", "sanitasi", "tangki septik", "JMP"),
    ),
    "svc_desludging": (
        "record_id", "Catatan penyedotan lumpur tinja (demo)", "Desludging records (demo)",
        "Penyedotan tangki septik dengan tanggal, volume dan tujuan (IPLT).",
        "Septic tank emptying with date, volume and destination (IPLT).",
        ("sanitation", "LLTT", "IPLT", "desludging"),
    ),
    "svc_waste_schedules": (
        "tps_id", "Jadwal pengangkutan sampah (demo)", "Waste collection schedules (demo)",
        "Hari dan frekuensi pengangkutan per TPS.", "Collection days and frequency per TPS.",
        ("waste", "sampah", "TPS", "schedule"),
    ),
    "svc_incidents": (
        "incident_id", "Gangguan layanan (demo)", "Service incidents (demo)",
        "Air mati, pipa pecah, tekanan rendah dan TPS meluap dengan waktu mulai/selesai dan "
        "area terdampak.",
        "Water cuts, pipe bursts, low pressure and TPS overflows with start/end and affected "
        "areas.",
        ("incident", "gangguan", "water cut", "air mati"),
    ),
}  # fmt: skip

_SEWER_COUNT = {"small": 1, "full": 2}
_SEWER_RADIUS_DEG = {"small": 0.006, "full": 0.012}
#: Share of households without a connection using each source type (the rest: no data).
_SOURCE_SHARE = (
    ("borehole", 0.48),
    ("well_protected", 0.12),
    ("well_unprotected", 0.07),
    ("kiosk", 0.14),
    ("hydrant", 0.05),
    ("surface", 0.01),
)
_DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYS_FOR = {
    1: "wed",
    2: "mon,thu",
    3: "mon,wed,fri",
    6: "mon,tue,wed,thu,fri,sat",
    7: "daily",
}
_UTC = "UTC"


def _points_on_buildings(
    buildings: gpd.GeoDataFrame, rw_ids: np.ndarray[Any, Any], k: int, rng: np.random.Generator
) -> dict[str, np.ndarray[Any, Any]]:
    """Up to ``k`` random building points per RW (``unit_id`` of the buildings)."""
    unit = buildings["unit_id"].astype(str).to_numpy()
    order = np.lexsort((rng.random(len(unit)), unit))
    sorted_units = unit[order]
    out: dict[str, np.ndarray[Any, Any]] = {}
    starts = np.searchsorted(sorted_units, rw_ids, side="left")
    stops = np.searchsorted(sorted_units, rw_ids, side="right")
    picks = [order[s : min(e, s + k)] for s, e in zip(starts, stops, strict=True)]
    flat = np.concatenate(picks) if picks else np.empty(0, dtype=np.intp)
    pts = shapely.point_on_surface(np.asarray(buildings.geometry.values, dtype=object)[flat])
    pos = 0
    for rw, p in zip(rw_ids, picks, strict=True):
        out[str(rw)] = pts[pos : pos + len(p)]
        pos += len(p)
    return out


def build_service_layers(
    city_layers: dict[str, gpd.GeoDataFrame],
    size: Literal["small", "full"],
    rng: np.random.Generator,
) -> dict[str, gpd.GeoDataFrame]:
    """The synthetic service layers of the demo city, keyed by layer id.

    Parameters
    ----------
    city_layers:
        The city's layers; uses ``admin_units``, ``buildings``, ``water_service_zones``
        and ``tps``.
    size:
        ``"small"`` or ``"full"``.
    rng:
        The random stream of this part (e.g. ``numpy.random.default_rng([seed, 11])``).

    Returns
    -------
    dict[str, geopandas.GeoDataFrame]
        Layer id (:data:`SERVICE_LAYER_IDS`) -> frame in EPSG:4326.
    """
    admin = city_layers["admin_units"]
    buildings = city_layers["buildings"]
    zones = city_layers["water_service_zones"]
    tps = city_layers["tps"]
    rw = admin[admin["level"] == "rw"].sort_values("unit_id").reset_index(drop=True)
    rw_ids = rw["unit_id"].astype(str).to_numpy()
    hh = rw["households"].to_numpy(dtype=float)
    rep = np.asarray(shapely.point_on_surface(np.asarray(rw.geometry.values, dtype=object)))
    rx, ry = shapely.get_x(rep), shapely.get_y(rep)
    n = len(rw)

    # -- piped connections per RW, around the zone's coverage -------------------------------
    pt, zpos = points_in_polygons(rx, ry, np.asarray(zones.geometry.values, dtype=object),
                                  predicate="intersects")  # fmt: skip
    zone_of = np.full(n, -1)
    zone_of[pt[::-1]] = zpos[::-1]  # first zone wins
    cov = np.where(zone_of >= 0, zones["coverage_pct"].to_numpy(float)[zone_of] / 100, 0.0)
    cov = np.clip(cov * rng.normal(1.0, 0.12, n), 0.0, 1.0)
    served = np.round(hh * cov)
    n_glitch = max(1, round(0.02 * n))
    glitch = np.sort(rng.choice(n, n_glitch, replace=False))
    served[glitch] = np.round(hh[glitch] * rng.uniform(1.15, 1.4, n_glitch))
    operator = np.where(zone_of >= 0, zones["operator"].to_numpy()[np.maximum(zone_of, 0)], None)
    connections = gpd.GeoDataFrame(
        {
            "unit_id": rw_ids,
            "households_served": served.astype(np.int64),
            "connections": np.round(served * rng.uniform(0.85, 1.0, n)).astype(np.int64),
            "operator": operator,
            "year": np.full(n, 2024, dtype=np.int64),
        },
        geometry=rep,
        crs="EPSG:4326",
    )
    keep = served > 0
    connections = connections[keep].reset_index(drop=True)

    # -- alternative water sources for the rest -----------------------------------------------
    spots = _points_on_buildings(buildings, rw_ids, 8, rng)
    rest = np.maximum(hh - np.minimum(served, hh), 0.0)
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    coast = ry < np.quantile(ry, 0.0) + 0.35 * (ry.max() - ry.min())  # south = inland
    for i, unit in enumerate(rw_ids):
        places = spots.get(unit)
        if places is None or len(places) == 0:
            continue
        for j, (kind, share) in enumerate(_SOURCE_SHARE):
            if kind == "surface" and not coast[i]:
                continue
            count = round(rest[i] * share * rng.uniform(0.7, 1.3))
            if count <= 0:
                continue
            far = kind in ("kiosk", "hydrant")
            rows.append(
                {
                    "source_id": f"src_{i + 1:05d}_{j + 1}",
                    "type": kind,
                    "households": count,
                    "round_trip_min": float(np.round(rng.uniform(5, 45), 0)) if far else np.nan,
                    "on_premises": kind in ("borehole", "well_protected", "well_unprotected"),
                    "name": None,
                    "status": "active",
                }
            )
            geoms.append(places[j % len(places)])
    sources = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")

    # -- sewer service areas: small circles inland -------------------------------------------
    kel = admin[admin["level"] == "kelurahan"].sort_values("unit_id")
    kc = shapely.centroid(np.asarray(kel.geometry.values, dtype=object))
    inland = np.argsort(shapely.get_y(kc))  # southernmost first
    n_sewer = _SEWER_COUNT[size]
    picks = inland[:: max(1, len(inland) // (n_sewer + 1))][:n_sewer]
    centres = kc[picks]
    sewer = gpd.GeoDataFrame(
        {
            "area_id": [f"ipal_{i + 1:02d}" for i in range(n_sewer)],
            "plant": [f"IPAL Demo {kel['name'].to_numpy()[p]}" for p in picks],
            "coverage_pct": np.round(rng.uniform(55, 85, n_sewer), 1),
        },
        geometry=shapely.buffer(centres, _SEWER_RADIUS_DEG[size], quad_segs=16),
        crs="EPSG:4326",
    )

    # -- septic tanks and toilets per RW, and desludging records -------------------------------
    spt, spos = points_in_polygons(rx, ry, np.asarray(sewer.geometry.values, dtype=object),
                                   predicate="intersects")  # fmt: skip
    sewered = np.zeros(n)
    sewered[spt] = sewer["coverage_pct"].to_numpy(float)[spos] / 100
    left = hh * (1 - sewered)
    # Shares of the households outside the sewer, close to DKI's (BPS: over 90 % with
    # improved sanitation); toilets over the river and open defecation only in a few
    # riverside kampung RWs.
    shares = (
        ("septic_tank", False, 0.26, True),  # emptied regularly
        ("septic_tank", False, 0.52, False),
        ("septic_tank", True, 0.07, False),
        ("shared_toilet", True, 0.05, False),
        ("pit_slab", False, 0.03, False),
        ("pit_no_slab", False, 0.02, False),
        ("hanging", False, 0.02, False),
        ("open", False, 0.01, False),
    )
    kampung = rng.random(n) < 0.15
    tank_rows: list[dict[str, Any]] = []
    tank_geoms: list[Any] = []
    sludge: list[dict[str, Any]] = []
    day0 = pd.Timestamp("2021-01-01")
    for i, unit in enumerate(rw_ids):
        places = spots.get(unit)
        if places is None or len(places) == 0:
            continue
        for j, (kind, shared, share, emptied) in enumerate(shares):
            if kind in ("hanging", "open") and not kampung[i]:
                continue
            count = round(left[i] * share * rng.uniform(0.7, 1.3))
            if count <= 0:
                continue
            tank_id = f"tank_{i + 1:05d}_{j + 1}"
            tank_rows.append(
                {
                    "tank_id": tank_id,
                    "type": kind,
                    "households": count,
                    "shared": shared,
                    "unit_id": unit,
                    "built_year": int(rng.integers(1985, 2023)),
                }
            )
            tank_geoms.append(places[(j + 3) % len(places)])
            if emptied or (kind == "septic_tank" and rng.random() < 0.15):
                # emptied tanks: mostly to the IPLT; a few dumped (no destination)
                to_plant = emptied and rng.random() > 0.1
                sludge.append(
                    {
                        "record_id": f"lltt_{len(sludge) + 1:06d}",
                        "tank_id": tank_id,
                        "date": day0 + pd.Timedelta(days=int(rng.integers(0, 4 * 365))),
                        "volume_m3": float(np.round(rng.uniform(2, 6), 1)),
                        "destination": "IPLT Demo Pulo Gebang" if to_plant else None,
                        "treated": bool(to_plant),
                    }
                )
    tanks = gpd.GeoDataFrame(tank_rows, geometry=tank_geoms, crs="EPSG:4326")
    # Each record sits at its tank (maps and OGC clients need a place for every row).
    tank_at = dict(zip(tanks["tank_id"], tanks.geometry, strict=True))
    desludging = gpd.GeoDataFrame(
        pd.DataFrame(sludge, columns=["record_id", "tank_id", "date", "volume_m3",
                                      "destination", "treated"]),
        geometry=[tank_at[str(r["tank_id"])] for r in sludge],
        crs="EPSG:4326",
    )  # fmt: skip
    desludging["date"] = pd.to_datetime(desludging["date"]).astype("datetime64[us]")

    # -- collection schedules per TPS -------------------------------------------------------
    ty = shapely.get_y(np.asarray(tps.geometry.values, dtype=object))
    north = (ty - ty.min()) / max(float(ty.max() - ty.min()), 1e-9)  # 1 at the coast
    choice = np.where(
        rng.random(len(tps)) < 0.25 + 0.5 * north,
        rng.choice(np.array([1, 2, 3]), len(tps)),
        rng.choice(np.array([3, 6, 7]), len(tps)),
    )
    schedules = gpd.GeoDataFrame(
        {
            "tps_id": tps["tps_id"].astype(str).to_numpy(),
            "days": [_DAYS_FOR[int(c)] for c in choice],
            "per_week": choice.astype(float),
        },
        geometry=np.asarray(tps.geometry.values, dtype=object),  # at the TPS
        crs="EPSG:4326",
    )

    # -- service incidents, December 2024 -------------------------------------------------------
    pick = rng.choice(n, 4, replace=False)
    kel_ids = kel["unit_id"].astype(str).to_numpy()
    tps_pick = rng.choice(len(tps), 2, replace=False)
    # TPS overflows: the area within 300 m of the TPS (one geometry type per layer).
    tps_pts = np.asarray(
        gpd.GeoSeries(np.asarray(tps.geometry.values, dtype=object)[tps_pick], crs="EPSG:4326")
        .to_crs("EPSG:32748")
        .buffer(300.0, quad_segs=16)
        .to_crs("EPSG:4326")
        .values,
        dtype=object,
    )
    circle = shapely.buffer(rep[pick[:2]], 0.004, quad_segs=12)
    t = pd.Timestamp
    incidents = gpd.GeoDataFrame(
        {
            "incident_id": [f"inc_{i:03d}" for i in range(1, 7)],
            "type": ["water_cut", "pipe_burst", "tps_overflow", "water_cut", "low_pressure",
                     "tps_overflow"],
            "start": [t("2024-12-20T01:00Z"), t("2024-12-28T03:30Z"), t("2024-12-30T23:00Z"),
                      t("2024-12-02T02:00Z"), t("2024-12-10T05:00Z"), t("2024-12-15T00:00Z")],
            "end": [pd.NaT, pd.NaT, pd.NaT, t("2024-12-03T10:00Z"), t("2024-12-11T12:00Z"),
                    t("2024-12-16T08:00Z")],
            "unit_ids": [None, str(kel_ids[int(rng.integers(len(kel_ids)))]), None, None,
                         str(rw_ids[pick[2]]), None],
            "radius_m": [np.nan, np.nan, 300.0, np.nan, np.nan, 300.0],
            "description": ["Air mati: perbaikan reservoir", "Pipa transmisi pecah",
                            "TPS meluap setelah libur", "Air mati terjadwal",
                            "Tekanan rendah", "TPS meluap"],
        },
        geometry=[circle[0], None, tps_pts[0], circle[1], None, tps_pts[1]],
        crs="EPSG:4326",
    )  # fmt: skip
    for col in ("start", "end"):
        incidents[col] = pd.to_datetime(incidents[col], utc=True).astype("datetime64[us, UTC]")
    return {
        "svc_water_connections": connections,
        "svc_water_sources": sources,
        "svc_sewer_areas": sewer,
        "svc_septic_tanks": tanks,
        "svc_desludging": desludging,
        "svc_waste_schedules": schedules,
        "svc_incidents": incidents,
    }
