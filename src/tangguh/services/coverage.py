"""Coverage indicators of basic services per RW, kelurahan, kecamatan and kota.

:func:`compute_coverage` reads the service layers of a bank (see
:mod:`tangguh.services.model`), the admin units and (when present) the buildings, and
returns a :class:`CoverageResult`: a long table ``(unit_id, level, indicator, value)``
plus the underserved units with their reasons and the data flags met on the way.

How it works: people are placed on points (each leaf unit's population spread over
its buildings, :mod:`tangguh.services.access`); every indicator is first a *sum* per
leaf unit (households with piped water, people within walking distance of a TPS …)
and is rolled up by summing over the leaves under each unit, then divided once. So a
kelurahan's percentage is weighted by its RWs' households or population, never an
average of RW percentages. The indicator ids are in :data:`INDICATORS`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from tangguh._spatial import points_in_polygons
from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.admin.units import LEVELS, ancestors
from tangguh.bank import Bank
from tangguh.errors import InputError
from tangguh.services import jmp
from tangguh.services.access import (
    UTM_CRS,
    DistanceFunction,
    PopulationPoints,
    facility_points,
    leaf_counts,
    nearest_access,
    population_points,
)
from tangguh.services.model import KINDS, Flag, split_ids

__all__ = [
    "DEFAULT_CRITERIA",
    "DEFAULT_FACILITIES",
    "DEFAULT_LEVELS",
    "INDICATORS",
    "CoverageResult",
    "Criterion",
    "Indicator",
    "compute_coverage",
    "resolve_layers",
]

WIB = ZoneInfo("Asia/Jakarta")
DEFAULT_LEVELS: tuple[str, ...] = ("rw", "kelurahan", "kecamatan", "kota")
#: Facility layers used for access indicators when present in the bank.
DEFAULT_FACILITIES: tuple[str, ...] = ("hospitals", "schools", "markets")
#: Incident types that stop piped water being "available when needed".
WATER_INCIDENTS = frozenset({"water_cut", "pipe_burst", "low_pressure", "dirty_water"})
_DAYS = {
    "mon": 1, "tue": 1, "wed": 1, "thu": 1, "fri": 1, "sat": 1, "sun": 1,
    "sen": 1, "sel": 1, "rab": 1, "kam": 1, "jum": 1, "sab": 1, "min": 1,
}  # fmt: skip
_DAILY = {"daily", "everyday", "setiap hari", "tiap hari", "harian"}


@dataclass(frozen=True)
class Indicator:
    """An indicator id with its unit and meaning in English and Bahasa Indonesia."""

    id: str
    unit: str
    en: str
    id_text: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "unit": self.unit, "en": self.en, "id_text": self.id_text}


def _indicators() -> dict[str, Indicator]:
    items = [
        Indicator("base.population", "people", "population (leaf units summed)",
                  "jumlah penduduk"),
        Indicator("base.households", "households", "households", "jumlah rumah tangga"),
        Indicator("water.piped_households", "households", "households with piped water",
                  "rumah tangga dengan air perpipaan"),
        Indicator("water.piped_pct", "%", "households with piped water (of households with "
                  "data)", "rumah tangga dengan air perpipaan (dari rumah tangga yang berdata)"),
    ]  # fmt: skip
    names = {
        "safely_managed": ("safely managed", "dikelola secara aman"),
        "basic": ("basic", "dasar"),
        "limited": ("limited", "terbatas"),
        "unimproved": ("unimproved", "tidak layak"),
        "surface_water": ("surface water", "air permukaan"),
        "open_defecation": ("open defecation", "buang air besar sembarangan"),
        "no_data": ("no data", "tanpa data"),
        "at_least_basic": ("at least basic (safely managed + basic, of households with data)",
                           "minimal dasar (aman + dasar, dari rumah tangga berdata)"),
    }  # fmt: skip
    for sector, ladder, en_s, id_s in (
        ("water", jmp.WATER_LADDER, "drinking water", "air minum"),
        ("sanitation", jmp.SANITATION_LADDER, "sanitation", "sanitasi"),
    ):
        for level in (*ladder, "no_data", "at_least_basic"):
            en, idt = names[level]
            items.append(
                Indicator(f"{sector}.jmp.{level}_pct", "%", f"households, JMP {en_s}: {en}",
                          f"rumah tangga, tangga JMP {id_s}: {idt}")
            )  # fmt: skip
    items += [
        Indicator("waste.tps_walk_pct", "%", "population within walking distance of a TPS",
                  "penduduk dalam jarak jalan kaki dari TPS"),
        Indicator("waste.tps_mean_m", "m", "mean distance to the nearest TPS",
                  "jarak rata-rata ke TPS terdekat"),
        Indicator("waste.collections_per_week", "per week", "collections per week at the "
                  "nearest TPS (population-weighted)",
                  "pengangkutan per minggu di TPS terdekat (berbobot penduduk)"),
        Indicator("incidents.open_count", "incidents", "open service incidents touching the "
                  "unit", "gangguan layanan terbuka di wilayah"),
        Indicator("incidents.households_affected", "households", "households affected by "
                  "open incidents", "rumah tangga terdampak gangguan terbuka"),
        Indicator("incidents.households_affected_pct", "%", "households affected by open "
                  "incidents", "rumah tangga terdampak gangguan terbuka"),
        Indicator("access.<layer>_pct", "%", "population within walking distance of a "
                  "facility of <layer> (hospitals, schools, markets, …)",
                  "penduduk dalam jarak jalan kaki dari fasilitas <layer>"),
        Indicator("access.<layer>_mean_m", "m", "mean distance to the nearest facility of "
                  "<layer>", "jarak rata-rata ke fasilitas <layer> terdekat"),
    ]  # fmt: skip
    return {i.id: i for i in items}


#: Every indicator id (``access.<layer>_…`` stands for one id per facility layer).
INDICATORS: dict[str, Indicator] = _indicators()


@dataclass(frozen=True)
class Criterion:
    """An underserved rule: a unit is underserved when ``indicator op value`` holds."""

    indicator: str
    op: Literal["<", ">"]
    value: float
    en: str
    id: str

    def hit(self, values: pd.Series) -> pd.Series:
        return values < self.value if self.op == "<" else values > self.value


#: Default underserved rules; change a threshold with ``thresholds={indicator: value}``.
DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion("water.piped_pct", "<", 60.0, "piped water for {value:.0f}% of households "
              "(below {threshold:g}%)",
              "air perpipaan untuk {value:.0f}% rumah tangga (di bawah {threshold:g}%)"),
    Criterion("water.jmp.at_least_basic_pct", "<", 80.0, "at least basic drinking water for "
              "{value:.0f}% of households (below {threshold:g}%)",
              "air minum minimal dasar untuk {value:.0f}% rumah tangga (di bawah {threshold:g}%)"),
    Criterion("sanitation.jmp.at_least_basic_pct", "<", 80.0, "at least basic sanitation for "
              "{value:.0f}% of households (below {threshold:g}%)",
              "sanitasi minimal dasar untuk {value:.0f}% rumah tangga (di bawah {threshold:g}%)"),
    Criterion("sanitation.jmp.open_defecation_pct", ">", 0.0, "open defecation by {value:.1f}% "
              "of households", "buang air besar sembarangan oleh {value:.1f}% rumah tangga"),
    Criterion("waste.tps_walk_pct", "<", 50.0, "{value:.0f}% of people within walking "
              "distance of a TPS (below {threshold:g}%)",
              "{value:.0f}% penduduk dalam jarak jalan kaki dari TPS (di bawah {threshold:g}%)"),
    Criterion("waste.collections_per_week", "<", 3.0, "waste collected {value:.1f} times a "
              "week (below {threshold:g})",
              "sampah diangkut {value:.1f} kali seminggu (di bawah {threshold:g})"),
    Criterion("incidents.households_affected", ">", 0.0, "{value:,.0f} households affected by "
              "open service incidents", "{value:,.0f} rumah tangga terdampak gangguan layanan "
              "terbuka"),
)  # fmt: skip


@dataclass
class CoverageResult:
    """Indicators per unit, underserved units and data flags of one computation.

    Attributes
    ----------
    table:
        Long table: ``unit_id``, ``level``, ``indicator``, ``value`` (float).
    underserved:
        ``unit_id``, ``level``, ``name``, ``reasons`` (list of dicts: ``indicator``,
        ``value``, ``threshold``, ``en``, ``id``), ``reasons_en``, ``reasons_id``.
    flags:
        Data problems met (households served above households living, …).
    layers:
        Kind (or ``facility:<layer>``, ``admin``, ``buildings``) -> ``{"layer", "version"}``.
    parameters:
        Everything needed to run it again.
    timings:
        Seconds per step.
    at:
        The instant incidents were judged open at (UTC).
    """

    table: pd.DataFrame
    underserved: pd.DataFrame
    flags: list[Flag]
    layers: dict[str, dict[str, Any]]
    parameters: dict[str, Any]
    timings: dict[str, float]
    at: datetime
    names: dict[str, str] = field(default_factory=dict)

    def value(self, unit_id: str, indicator: str) -> float:
        """One value (NaN when the unit has no value for the indicator)."""
        t = self.table
        hit = t[(t["unit_id"] == unit_id) & (t["indicator"] == indicator)]
        return float(hit["value"].iloc[0]) if len(hit) else float("nan")

    def wide(self, level: str) -> pd.DataFrame:
        """One row per unit of ``level``, one column per indicator."""
        part = self.table[self.table["level"] == level]
        return part.pivot(index="unit_id", columns="indicator", values="value")

    def indicators(self) -> list[str]:
        return sorted(set(self.table["indicator"]))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN values become ``None``)."""
        table = self.table.astype({"value": object}).where(self.table.notna(), None)
        under = [
            {
                "unit_id": r["unit_id"],
                "level": r["level"],
                "name": r["name"],
                "reasons": r["reasons"],
            }
            for r in self.underserved.to_dict("records")
        ]
        return {
            "at": self.at.isoformat(),
            "parameters": self.parameters,
            "layers": self.layers,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "indicators": table.to_dict("records"),
            "underserved": under,
            "flags": [f.to_json() for f in self.flags],
        }


def resolve_layers(bank: Bank, layers: Mapping[str, str] | None = None) -> dict[str, str]:
    """Kind -> layer id of every service layer present in ``bank``.

    A layer given in ``layers`` wins; otherwise a catalogue entry whose ``extra``
    names the kind (``service_kind``, set by the importer), then the kind's default
    id, then its aliases (``water_service_zones``, ``tps``).
    """
    infos = bank.layers()
    present = {i.id for i in infos}
    tagged: dict[str, str] = {}
    for info in infos:
        kind = (info.extra or {}).get("service_kind")
        if isinstance(kind, str) and kind in KINDS:
            tagged.setdefault(kind, info.id)
    given = dict(layers or {})
    out: dict[str, str] = {}
    for kind, spec in KINDS.items():
        if kind in given:
            if given[kind] not in present:
                raise InputError(
                    f"layer {given[kind]!r} given for {kind} is not in the bank",
                    where=f"layers[{kind!r}]",
                    hint="`tangguh layers` lists the bank's layers",
                    message_id=f"lapisan {given[kind]!r} untuk {kind} tidak ada di bank data",
                    hint_id="`tangguh layers` menampilkan lapisan bank data",
                )
            out[kind] = given[kind]
            continue
        for candidate in (tagged.get(kind), spec.layer_id, *spec.aliases):
            if candidate is not None and candidate in present:
                out[kind] = candidate
                break
    unknown = sorted(set(given) - set(KINDS))
    if unknown:
        raise InputError(
            f"unknown service layer kind(s) {unknown}",
            where="layers",
            hint=f"kinds: {', '.join(KINDS)}",
            message_id=f"jenis lapisan layanan tidak dikenal: {unknown}",
            hint_id=f"jenis: {', '.join(KINDS)}",
        )
    return out


def _as_utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=WIB)
    return at.astimezone(UTC)


def _per_week(schedules: pd.DataFrame) -> pd.Series:
    """Collections per week per tps_id: ``per_week``, else the number of listed days."""
    per = (
        pd.to_numeric(schedules["per_week"], errors="coerce")
        if "per_week" in schedules
        else pd.Series(np.nan, index=schedules.index)
    )
    if "days" in schedules:

        def count(text: object) -> float:
            if not isinstance(text, str) or not text.strip():
                return float("nan")
            low = text.strip().lower()
            if low in _DAILY:
                return 7.0
            tokens = {t.strip()[:3] for t in re.split(r"[,;/ ]+", low) if t.strip()}
            return float(len(tokens))

        per = per.fillna(schedules["days"].map(count))
    out = pd.Series(per.to_numpy(dtype=float), index=schedules["tps_id"].astype(str).to_numpy())
    return out.groupby(level=0).sum(min_count=1)


def compute_coverage(
    bank: Bank,
    *,
    walk_m: float = 500.0,
    at: datetime | None = None,
    levels: Sequence[str] = DEFAULT_LEVELS,
    layers: Mapping[str, str] | None = None,
    facilities: Sequence[str] | Mapping[str, float] | None = None,
    buildings: str | None = "buildings",
    thresholds: Mapping[str, float] | None = None,
    criteria: Sequence[Criterion] | None = None,
    household_size: float = 3.5,
    desludge_years: float = 3.0,
    distance: DistanceFunction | None = None,
) -> CoverageResult:
    """Every coverage indicator for every unit of ``levels``.

    Parameters
    ----------
    bank:
        The bank with ``admin_units`` and any service layers.
    walk_m:
        Walking distance (metres) for TPS access and, unless ``facilities`` says
        otherwise, facility access.
    at:
        The instant incidents are judged open at (default now; without a zone: WIB).
        An incident is open when ``start <= at`` and its end is empty or after ``at``.
    levels:
        Admin levels to report (default RW, kelurahan, kecamatan, kota).
    layers:
        Kind -> layer id, overriding :func:`resolve_layers` (e.g.
        ``{"water_zones": "water_service_zones"}``).
    facilities:
        Facility layers for ``access.<layer>_…`` indicators; a mapping gives each its
        own distance in metres. Default: those of :data:`DEFAULT_FACILITIES` in the
        bank, at ``walk_m``. ``[]`` for none.
    buildings:
        Buildings layer over which each unit's population is spread (``None`` or
        absent: unit representative points).
    thresholds:
        Indicator id -> threshold, overriding values of the underserved criteria.
    criteria:
        Replace the underserved criteria altogether (default :data:`DEFAULT_CRITERIA`).
    household_size:
        People per household where the admin units give no households.
    desludge_years:
        A septic tank emptied (and the sludge treated) within this many years before
        ``at`` counts as safely managed.
    distance:
        Distance function (default straight line in UTM 48S); see
        :data:`tangguh.services.access.DistanceFunction`.
    """
    timings: dict[str, float] = {}
    started = t0 = time.perf_counter()
    at_utc = _as_utc(at)
    levels = list(levels)
    bad_levels = [lev for lev in levels if lev not in LEVELS]
    if bad_levels:
        raise InputError(
            f"unknown level(s) {bad_levels}",
            where="levels",
            hint=f"use some of {', '.join(LEVELS)}",
            message_id=f"tingkat tidak dikenal: {bad_levels}",
            hint_id=f"gunakan beberapa dari {', '.join(LEVELS)}",
        )
    if desludge_years <= 0:
        raise InputError(
            f"desludge_years must be positive, got {desludge_years}",
            where="desludge_years",
            hint="e.g. 3",
            message_id=f"desludge_years harus positif, yang diterima {desludge_years}",
            hint_id="mis. 3",
        )
    kinds = resolve_layers(bank, layers)
    used: dict[str, dict[str, Any]] = {}

    def read(kind_or_layer: str, layer_id: str) -> gpd.GeoDataFrame:
        info = bank.layer(layer_id)
        used[kind_or_layer] = {"layer": layer_id, "version": info.current_version}
        return bank.read_layer(layer_id, version=info.current_version)

    units = load_units(bank)
    used["admin"] = {"layer": ADMIN_LAYER, "version": bank.layer(ADMIN_LAYER).current_version}
    counts = leaf_counts(units, household_size=household_size)
    has_buildings = buildings is not None and bank.has_layer(buildings)
    points = population_points(
        bank if has_buildings else None,
        units,
        buildings=buildings,
        counts=counts,
        household_size=household_size,
    )
    if has_buildings and buildings is not None:
        used["buildings"] = {"layer": buildings, "version": bank.layer(buildings).current_version}
    leaf_ids = points.leaf_ids
    leaf_geoms = np.asarray(
        units.set_index(units["unit_id"].astype(str)).geometry.reindex(leaf_ids).to_numpy(),
        dtype=object,
    )
    timings["population"] = time.perf_counter() - t0

    n_leaf = len(leaf_ids)
    hh_pt = points.households
    flags: list[Flag] = []
    sums = pd.DataFrame(
        {
            "population": counts["population"].to_numpy(dtype=float),
            "households": counts["households"].to_numpy(dtype=float),
        },
        index=leaf_ids,
    )
    specs: list[tuple[str, str, str | None, float]] = [
        ("base.population", "population", None, 1.0),
        ("base.households", "households", None, 1.0),
    ]

    def leaf_sum(weights: NDArray[Any]) -> NDArray[np.float64]:
        return np.asarray(
            np.bincount(points.leaf, weights=weights, minlength=n_leaf), dtype=np.float64
        )

    def locate(frame: gpd.GeoDataFrame) -> NDArray[np.intp]:
        """Leaf position of each row's representative point (-1 outside every leaf)."""
        x, y = facility_points(frame)
        pt, poly = points_in_polygons(x, y, leaf_geoms, predicate="intersects")
        out = np.full(len(frame), -1, dtype=np.intp)
        first = np.unique(pt, return_index=True)[1]
        out[pt[first]] = poly[first]
        return out

    def zone_of_points(polys: NDArray[np.object_]) -> NDArray[np.intp]:
        """Position of the first polygon containing each population point (-1: none)."""
        pt, poly = points_in_polygons(points.x, points.y, polys, predicate="intersects")
        out = np.full(len(points), -1, dtype=np.intp)
        order = np.lexsort((poly, pt))
        first = np.unique(pt[order], return_index=True)[1]
        out[pt[order][first]] = poly[order][first]
        return out

    # -- incidents first: they decide whether piped water is "available" ------------
    t0 = time.perf_counter()
    affected_any = np.zeros(len(points), dtype=bool)
    affected_water = np.zeros(len(points), dtype=bool)
    incident_leaf: list[pd.DataFrame] = []
    if "service_incidents" in kinds:
        inc = read("service_incidents", kinds["service_incidents"])
        affected_any, affected_water, incident_leaf = _incidents(
            inc, at_utc, points, units, leaf_ids, leaf_geoms, zone_of_points, locate
        )
        sums["inc_households"] = leaf_sum(np.where(affected_any, hh_pt, 0.0))
        specs += [
            ("incidents.households_affected", "inc_households", None, 1.0),
            ("incidents.households_affected_pct", "inc_households", "households", 100.0),
        ]
    timings["incidents"] = time.perf_counter() - t0

    # -- drinking water ------------------------------------------------------------------
    t0 = time.perf_counter()
    piped_frac = np.full(len(points), np.nan)
    quality_ok = np.ones(len(points), dtype=bool)
    if "water_zones" in kinds:
        zones = read("water_zones", kinds["water_zones"])
        zone_pos = zone_of_points(np.asarray(zones.geometry.values, dtype=object))
        inside = zone_pos >= 0
        living = np.bincount(zone_pos[inside], weights=hh_pt[inside], minlength=len(zones))
        frac = np.full(len(zones), np.nan)
        if "coverage_pct" in zones:
            frac = pd.to_numeric(zones["coverage_pct"], errors="coerce").to_numpy(float) / 100
        if "households_served" in zones:
            served = pd.to_numeric(zones["households_served"], errors="coerce").to_numpy(float)
            has = np.isfinite(served)
            frac = np.where(has, np.divide(served, living, out=np.zeros(len(zones)),
                                           where=living > 0), frac)  # fmt: skip
            zone_ids = zones["zone_id"].astype(str).to_numpy() if "zone_id" in zones else (
                np.arange(len(zones)).astype(str))  # fmt: skip
            for i in np.flatnonzero(has & (served > living + 0.5)):
                flags.append(_over_flag("zone_households_over", str(zone_ids[i]), served[i],
                                        living[i]))  # fmt: skip
        frac = np.clip(np.nan_to_num(frac, nan=0.0), 0.0, 1.0)
        piped_frac = np.where(inside, frac[np.maximum(zone_pos, 0)], 0.0)
        if "quality_ok" in zones:
            ok = zones["quality_ok"].astype("boolean").fillna(True).to_numpy(dtype=bool)
            quality_ok = np.where(inside, ok[np.maximum(zone_pos, 0)], True)
    if "water_connections" in kinds:
        conn = read("water_connections", kinds["water_connections"])
        leaf_piped, conn_flags = _connections(conn, units, sums["households"])
        flags += conn_flags
        known = leaf_piped.reindex(leaf_ids).to_numpy(dtype=float)
        leaf_frac = np.divide(known, sums["households"].to_numpy(), out=np.zeros(n_leaf),
                              where=sums["households"].to_numpy() > 0)  # fmt: skip
        leaf_frac = np.where(np.isfinite(known), np.clip(leaf_frac, 0, 1), np.nan)
        from_conn = leaf_frac[points.leaf]
        piped_frac = np.where(np.isfinite(from_conn), from_conn, piped_frac)
    has_water = any(k in kinds for k in ("water_zones", "water_connections", "water_sources"))
    if has_water:
        data = np.isfinite(piped_frac)
        piped = np.where(data, piped_frac * hh_pt, 0.0)
        safe = piped * (quality_ok & ~affected_water)
        sums["w_data_hh"] = leaf_sum(np.where(data, hh_pt, 0.0))
        sums["w_piped"] = leaf_sum(piped)
        first_levels = pd.DataFrame(
            {"safely_managed": leaf_sum(safe), "basic": leaf_sum(piped - safe)}, index=leaf_ids
        )
        rest = pd.DataFrame(0.0, index=leaf_ids, columns=list(jmp.WATER_LADDER))
        if "water_sources" in kinds:
            src = read("water_sources", kinds["water_sources"])
            rest, src_flags = _source_levels(src, locate(src), leaf_ids)
            flags += src_flags
        ladder, scale = jmp.allocate(
            sums["households"], sums["w_piped"], first_levels, rest, jmp.WATER_LADDER
        )
        flags += _scale_flags("water_sources_over", scale, rest, sums, "w_piped")
        for level in ladder.columns:
            sums[f"w_{level}"] = ladder[level].to_numpy()
        sums["w_at_least_basic"] = ladder["safely_managed"] + ladder["basic"]
        sums["w_ladder_hh"] = sums["households"] - ladder["no_data"]
        specs += [
            ("water.piped_households", "w_piped", None, 1.0),
            ("water.piped_pct", "w_piped", "w_data_hh", 100.0),
        ]
        for level in ladder.columns:
            specs.append((f"water.jmp.{level}_pct", f"w_{level}", "households", 100.0))
        specs.append(("water.jmp.at_least_basic_pct", "w_at_least_basic", "w_ladder_hh", 100.0))
    timings["water"] = time.perf_counter() - t0

    # -- sanitation -------------------------------------------------------------------
    t0 = time.perf_counter()
    if "sewer_areas" in kinds or "septic_tanks" in kinds:
        sewered = np.zeros(n_leaf)
        if "sewer_areas" in kinds:
            areas = read("sewer_areas", kinds["sewer_areas"])
            sewered, sewer_flags = _sewered(areas, points, zone_of_points)
            flags += sewer_flags
        rest = pd.DataFrame(0.0, index=leaf_ids, columns=list(jmp.SANITATION_LADDER))
        if "septic_tanks" in kinds:
            tanks = read("septic_tanks", kinds["septic_tanks"])
            records = read("desludging", kinds["desludging"]) if "desludging" in kinds else None
            rest, tank_flags = _tank_levels(
                tanks, locate(tanks), leaf_ids, records, at_utc, desludge_years
            )
            flags += tank_flags
        sewer = pd.Series(np.minimum(sewered, sums["households"].to_numpy()), index=leaf_ids)
        ladder, scale = jmp.allocate(
            sums["households"], sewer, pd.DataFrame({"safely_managed": sewer}), rest,
            jmp.SANITATION_LADDER,
        )  # fmt: skip
        sums["s_sewer"] = sewer
        flags += _scale_flags("sanitation_over", scale, rest, sums, "s_sewer")
        for level in ladder.columns:
            sums[f"s_{level}"] = ladder[level].to_numpy()
        sums["s_at_least_basic"] = ladder["safely_managed"] + ladder["basic"]
        sums["s_ladder_hh"] = sums["households"] - ladder["no_data"]
        for level in ladder.columns:
            specs.append((f"sanitation.jmp.{level}_pct", f"s_{level}", "households", 100.0))
        specs.append(
            ("sanitation.jmp.at_least_basic_pct", "s_at_least_basic", "s_ladder_hh", 100.0)
        )
    timings["sanitation"] = time.perf_counter() - t0

    # -- solid waste: TPS within walking distance, collections per week -------------------
    t0 = time.perf_counter()
    if "tps" in kinds:
        tps = read("tps", kinds["tps"])
        fx, fy = facility_points(tps)
        acc = nearest_access(points, fx, fy, walk_m=walk_m, distance=distance)
        sums["t_within"] = acc.per_leaf["within"].to_numpy()
        sums["t_dist"] = acc.per_leaf["distance_x_pop"].to_numpy()
        sums["t_found"] = acc.per_leaf["found_pop"].to_numpy()
        specs += [
            ("waste.tps_walk_pct", "t_within", "population", 100.0),
            ("waste.tps_mean_m", "t_dist", "t_found", 1.0),
        ]
        if "waste_schedules" in kinds:
            sched = read("waste_schedules", kinds["waste_schedules"])
            per_week = _per_week(sched)
            tps_ids = tps["tps_id"].astype(str).to_numpy() if "tps_id" in tps else None
            if tps_ids is not None:
                freq = per_week.reindex(tps_ids).to_numpy(dtype=float)
                unknown = sorted(set(per_week.index) - set(tps_ids))
                if unknown:
                    flags.append(Flag(
                        "schedule_unknown_tps",
                        f"{len(unknown)} schedules name a TPS not in layer {kinds['tps']}: "
                        f"{', '.join(unknown[:10])}",
                        f"{len(unknown)} jadwal menyebut TPS yang tidak ada di lapisan "
                        f"{kinds['tps']}: {', '.join(unknown[:10])}",
                        ids=unknown,
                    ))  # fmt: skip
                pf = np.where(acc.nearest >= 0, freq[np.maximum(acc.nearest, 0)], np.nan)
                known = np.isfinite(pf)
                sums["t_freq"] = leaf_sum(np.where(known, pf * points.population, 0.0))
                sums["t_freq_pop"] = leaf_sum(np.where(known, points.population, 0.0))
                specs.append(("waste.collections_per_week", "t_freq", "t_freq_pop", 1.0))
    timings["waste"] = time.perf_counter() - t0

    # -- access to facilities ------------------------------------------------------------
    t0 = time.perf_counter()
    if facilities is None:
        fac: dict[str, float] = {f: walk_m for f in DEFAULT_FACILITIES if bank.has_layer(f)}
    elif isinstance(facilities, Mapping):
        fac = {str(k): float(v) for k, v in facilities.items()}
    else:
        fac = {str(f): walk_m for f in facilities}
    for layer_id, metres in fac.items():
        frame = read(f"facility:{layer_id}", layer_id)
        fx, fy = facility_points(frame)
        acc = nearest_access(points, fx, fy, walk_m=metres, distance=distance)
        slug = re.sub(r"[^a-z0-9_]", "_", layer_id.lower())
        sums[f"a_{slug}_within"] = acc.per_leaf["within"].to_numpy()
        sums[f"a_{slug}_dist"] = acc.per_leaf["distance_x_pop"].to_numpy()
        sums[f"a_{slug}_found"] = acc.per_leaf["found_pop"].to_numpy()
        specs += [
            (f"access.{slug}_pct", f"a_{slug}_within", "population", 100.0),
            (f"access.{slug}_mean_m", f"a_{slug}_dist", f"a_{slug}_found", 1.0),
        ]
    timings["access"] = time.perf_counter() - t0

    # -- roll-up: sum over the leaves under each unit, then divide once ----------------------
    t0 = time.perf_counter()
    anc = ancestors(units).reindex(leaf_ids)
    parts: list[pd.DataFrame] = []
    for level in levels:
        if level not in anc.columns:
            continue
        key = anc[level]
        keep = key.notna().to_numpy()
        if not keep.any():
            continue
        grouped = sums[keep].groupby(key[keep].to_numpy()).sum()
        values: dict[str, NDArray[Any]] = {}
        for ind, num, den, factor in specs:
            n = grouped[num].to_numpy(dtype=float)
            if den is None:
                values[ind] = n * factor
            else:
                d = grouped[den].to_numpy(dtype=float)
                ratio = np.divide(n * factor, d, out=np.full(len(n), np.nan), where=d > 0)
                # shares: sums of float shares may overshoot 100 by rounding
                values[ind] = np.minimum(ratio, 100.0) if factor == 100.0 else ratio
        wide = pd.DataFrame(values, index=grouped.index)
        if incident_leaf:
            wide["incidents.open_count"] = _incident_counts(incident_leaf, anc[level], wide.index)
        elif "service_incidents" in kinds:
            wide["incidents.open_count"] = 0.0
        long = wide.reset_index(names="unit_id").melt(
            id_vars="unit_id", var_name="indicator", value_name="value"
        )
        long.insert(1, "level", level)
        parts.append(long)
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["unit_id", "level", "indicator", "value"])
    )
    table["value"] = table["value"].astype(float)
    table["unit_id"] = table["unit_id"].astype(str)
    timings["rollup"] = time.perf_counter() - t0

    names = dict(zip(units["unit_id"].astype(str), units["name"].astype(str), strict=True))
    chosen = list(criteria) if criteria is not None else list(DEFAULT_CRITERIA)
    over = dict(thresholds or {})
    unknown_thr = sorted(set(over) - {c.indicator for c in chosen})
    if unknown_thr:
        raise InputError(
            f"no underserved criterion for indicator(s) {unknown_thr}",
            where="thresholds",
            hint="thresholds apply to: " + ", ".join(c.indicator for c in chosen),
            message_id=f"tidak ada kriteria kurang terlayani untuk indikator {unknown_thr}",
            hint_id="ambang berlaku untuk: " + ", ".join(c.indicator for c in chosen),
        )
    chosen = [
        Criterion(c.indicator, c.op, float(over[c.indicator]), c.en, c.id)
        if c.indicator in over
        else c
        for c in chosen
    ]
    underserved = _underserved(table, chosen, names)
    timings["total"] = time.perf_counter() - started
    parameters = {
        "walk_m": float(walk_m),
        "at": at_utc.isoformat(),
        "levels": levels,
        "layers": dict(kinds),
        "facilities": fac,
        "buildings": buildings if has_buildings else None,
        "household_size": household_size,
        "desludge_years": desludge_years,
        "population_method": points.method,
        "criteria": [{"indicator": c.indicator, "op": c.op, "value": c.value} for c in chosen],
        "distance": getattr(distance, "__name__", type(distance).__name__)
        if distance is not None
        else "straight_line",
    }
    return CoverageResult(
        table=table,
        underserved=underserved,
        flags=flags,
        layers=used,
        parameters=parameters,
        timings=timings,
        at=at_utc,
        names=names,
    )


def _over_flag(code: str, unit: str, served: float, living: float) -> Flag:
    return Flag(
        code,
        f"{unit}: {served:,.0f} households served > {living:,.0f} households living there; "
        "counted as all households",
        f"{unit}: {served:,.0f} rumah tangga terlayani > {living:,.0f} rumah tangga yang "
        "tinggal di sana; dihitung sebagai seluruh rumah tangga",
        ids=[unit],
        values={"households_served": float(served), "households_living": float(living)},
    )


def _connections(
    conn: pd.DataFrame, units: pd.DataFrame, leaf_households: pd.Series
) -> tuple[pd.Series, list[Flag]]:
    """Households with piped water per leaf from connection rows (NaN: no row covers it).

    Rows on a leaf unit are used as given; a row on a coarser unit is spread over its
    leaves without a row of their own, by households (the coarser figure minus the
    leaves' own rows). Finer rows are applied first.
    """
    flags: list[Flag] = []
    unit_ids = conn["unit_id"].astype(str)
    served = pd.to_numeric(conn["households_served"], errors="coerce").astype(float)
    per_unit = served.groupby(unit_ids.to_numpy()).sum()
    level_of = units.set_index(units["unit_id"].astype(str))["level"].astype(str)
    unknown = sorted(set(per_unit.index) - set(level_of.index))
    if unknown:
        flags.append(Flag(
            "unknown_unit",
            f"{len(unknown)} connection rows name units not in admin_units (ignored): "
            f"{', '.join(unknown[:10])}",
            f"{len(unknown)} baris sambungan menyebut wilayah yang tidak ada di admin_units "
            f"(diabaikan): {', '.join(unknown[:10])}",
            ids=unknown,
        ))  # fmt: skip
        per_unit = per_unit.drop(unknown)
    leaves = leaf_households.index
    anc = ancestors(units).reindex(leaves)
    all_hh = pd.Series(0.0, index=level_of.index)
    for level in anc.columns:
        all_hh = all_hh.add(leaf_households.groupby(anc[level].to_numpy()).sum(), fill_value=0.0)
    living = all_hh.reindex(per_unit.index).fillna(0.0)
    for unit in per_unit.index[per_unit > living + 0.5]:
        flags.append(_over_flag("households_over", str(unit), per_unit[unit], living[unit]))
    out = pd.Series(np.nan, index=leaves)
    direct = per_unit.reindex(leaves)
    out[direct.notna()] = np.minimum(direct[direct.notna()], leaf_households[direct.notna()])
    for level in reversed([lev for lev in LEVELS if lev in anc.columns]):
        rows = per_unit[level_of.reindex(per_unit.index).to_numpy() == level]
        rows = rows[~rows.index.isin(leaves)]
        if rows.empty:
            continue
        key = anc[level]
        under = key.isin(rows.index).to_numpy()
        have = out.notna().to_numpy()
        taken = out.where(have, 0.0)[under].groupby(key[under].to_numpy()).sum()
        open_hh = leaf_households.where(~have, 0.0)[under].groupby(key[under].to_numpy()).sum()
        remaining = (rows - taken.reindex(rows.index).fillna(0.0)).clip(lower=0.0)
        fill = under & ~have
        k = key[fill].to_numpy()
        share = np.divide(
            leaf_households[fill].to_numpy(),
            open_hh.reindex(k).to_numpy(),
            out=np.zeros(int(fill.sum())),
            where=open_hh.reindex(k).to_numpy() > 0,
        )
        out[fill] = np.minimum(remaining.reindex(k).to_numpy() * share,
                               leaf_households[fill].to_numpy())  # fmt: skip
    return out, flags


def _source_levels(
    src: gpd.GeoDataFrame, leaf_pos: NDArray[np.intp], leaf_ids: pd.Index
) -> tuple[pd.DataFrame, list[Flag]]:
    """Households per leaf and water-ladder level from alternative sources."""
    flags: list[Flag] = []
    types = src["type"].astype(str)
    level = jmp.water_source_level(types, src.get("round_trip_min"))
    hh = (
        pd.to_numeric(src["households"], errors="coerce")
        if "households" in src
        else pd.Series(np.nan, index=src.index)
    )
    own = types.isin(list(jmp.HOUSEHOLD_SOURCES))
    hh = hh.where(hh.notna() | ~own, 1.0)
    uncounted = int((hh.isna()).sum())
    if uncounted:
        flags.append(Flag(
            "sources_without_households",
            f"{uncounted} shared water sources (kiosk, hydrant, …) give no households; they "
            "are not counted in the ladder",
            f"{uncounted} sumber air bersama (kios, hidran, …) tanpa jumlah rumah tangga; tidak "
            "dihitung dalam tangga JMP",
        ))  # fmt: skip
    outside = int((leaf_pos < 0).sum())
    if outside:
        flags.append(Flag(
            "sources_outside",
            f"{outside} water sources lie outside every admin unit (ignored)",
            f"{outside} sumber air berada di luar semua wilayah (diabaikan)",
        ))  # fmt: skip
    keep = (leaf_pos >= 0) & hh.notna().to_numpy() & level.notna().to_numpy()
    table = pd.DataFrame(
        {"leaf": leaf_ids[leaf_pos[keep]], "level": level[keep].to_numpy(),
         "hh": hh[keep].to_numpy(dtype=float)}
    )  # fmt: skip
    rest = table.pivot_table(index="leaf", columns="level", values="hh", aggfunc="sum")
    return rest.reindex(index=leaf_ids, columns=list(jmp.WATER_LADDER)).fillna(0.0), flags


def _sewered(
    areas: gpd.GeoDataFrame, points: PopulationPoints, zone_of_points: Any
) -> tuple[NDArray[np.float64], list[Flag]]:
    """Households connected to a sewer per leaf, spread over the points of each area."""
    flags: list[Flag] = []
    n_leaf = len(points.leaf_ids)
    pos = zone_of_points(np.asarray(areas.geometry.values, dtype=object))
    inside = pos >= 0
    hh = points.households
    living = np.bincount(pos[inside], weights=hh[inside], minlength=len(areas))
    frac = np.full(len(areas), np.nan)
    if "coverage_pct" in areas:
        frac = pd.to_numeric(areas["coverage_pct"], errors="coerce").to_numpy(float) / 100
    ids = areas["area_id"].astype(str).to_numpy() if "area_id" in areas else (
        np.arange(len(areas)).astype(str))  # fmt: skip
    if "households_connected" in areas:
        conn = pd.to_numeric(areas["households_connected"], errors="coerce").to_numpy(float)
        has = np.isfinite(conn)
        frac = np.where(has, np.divide(conn, living, out=np.zeros(len(areas)),
                                       where=living > 0), frac)  # fmt: skip
        for i in np.flatnonzero(has & (conn > living + 0.5)):
            flags.append(_over_flag("sewer_households_over", str(ids[i]), conn[i], living[i]))
    missing = np.flatnonzero(~np.isfinite(frac))
    if len(missing):
        flags.append(Flag(
            "sewer_area_no_count",
            f"{len(missing)} sewer areas give neither households_connected nor coverage_pct; "
            "counted as 0: " + ", ".join(ids[missing][:10]),
            f"{len(missing)} area IPAL tanpa households_connected maupun coverage_pct; "
            "dihitung 0: " + ", ".join(ids[missing][:10]),
            ids=[str(i) for i in ids[missing]],
        ))  # fmt: skip
    frac = np.clip(np.nan_to_num(frac, nan=0.0), 0.0, 1.0)
    w = np.where(inside, frac[np.maximum(pos, 0)] * hh, 0.0)
    return np.asarray(np.bincount(points.leaf, weights=w, minlength=n_leaf), dtype=float), flags


def _tank_levels(
    tanks: gpd.GeoDataFrame,
    leaf_pos: NDArray[np.intp],
    leaf_ids: pd.Index,
    records: pd.DataFrame | None,
    at: datetime,
    years: float,
) -> tuple[pd.DataFrame, list[Flag]]:
    """Households per leaf and sanitation level from septic tanks and toilets."""
    flags: list[Flag] = []
    tank_ids = tanks["tank_id"].astype(str)
    emptied = pd.Series(False, index=tanks.index)
    if records is not None and len(records):
        date = pd.to_datetime(records["date"], errors="coerce")
        if getattr(date.dt, "tz", None) is not None:
            date = date.dt.tz_localize(None)
        at_day = pd.Timestamp(at.astimezone(WIB).replace(tzinfo=None))
        since = at_day - pd.Timedelta(days=365.25 * years)
        treated = (
            records["treated"].astype("boolean")
            if "treated" in records
            else pd.Series(pd.NA, index=records.index, dtype="boolean")
        )
        dest = (
            records["destination"].astype("string").str.strip().fillna("")
            if "destination" in records
            else pd.Series("", index=records.index)
        )
        safe = treated.fillna(dest.ne("")).astype(bool)
        ok = safe & (date >= since) & (date <= at_day)
        emptied = tank_ids.isin(set(records.loc[ok.to_numpy(), "tank_id"].astype(str)))
        unknown = sorted(set(records["tank_id"].astype(str)) - set(tank_ids))
        if unknown:
            flags.append(Flag(
                "desludging_unknown_tank",
                f"{len(unknown)} desludging records name tanks not in the septic tank layer: "
                f"{', '.join(unknown[:10])}",
                f"{len(unknown)} catatan penyedotan menyebut tangki yang tidak ada di lapisan "
                f"tangki septik: {', '.join(unknown[:10])}",
                ids=unknown,
            ))  # fmt: skip
    shared = (
        tanks["shared"].astype("boolean")
        if "shared" in tanks
        else pd.Series(pd.NA, index=tanks.index, dtype="boolean")
    )
    level = jmp.sanitation_level(tanks["type"].astype(str), shared, emptied)
    hh = (
        pd.to_numeric(tanks["households"], errors="coerce").fillna(1.0)
        if "households" in tanks
        else pd.Series(1.0, index=tanks.index)
    )
    keep = (leaf_pos >= 0) & level.notna().to_numpy()
    table = pd.DataFrame(
        {"leaf": leaf_ids[leaf_pos[keep]], "level": level[keep].to_numpy(),
         "hh": hh[keep].to_numpy(dtype=float)}
    )  # fmt: skip
    rest = table.pivot_table(index="leaf", columns="level", values="hh", aggfunc="sum")
    return rest.reindex(index=leaf_ids, columns=list(jmp.SANITATION_LADDER)).fillna(0.0), flags


def _scale_flags(
    code: str, scale: pd.Series, rest: pd.DataFrame, sums: pd.DataFrame, first: str
) -> list[Flag]:
    out = []
    for unit in scale.index[scale < 0.999]:
        total = float(rest.loc[unit].sum())
        room = float(sums.loc[unit, "households"] - sums.loc[unit, first])
        out.append(Flag(
            code,
            f"{unit}: facility rows account for {total:,.0f} households but only {room:,.0f} "
            f"remain after the main service; scaled by {scale[unit]:.2f}",
            f"{unit}: baris fasilitas mencakup {total:,.0f} rumah tangga tetapi hanya "
            f"{room:,.0f} tersisa setelah layanan utama; diskalakan {scale[unit]:.2f}",
            ids=[str(unit)],
            values={"households_rows": total, "households_left": room,
                    "scale": float(scale[unit])},
        ))  # fmt: skip
    return out


def _incidents(
    inc: gpd.GeoDataFrame,
    at: datetime,
    points: PopulationPoints,
    units: pd.DataFrame,
    leaf_ids: pd.Index,
    leaf_geoms: NDArray[np.object_],
    zone_of_points: Any,
    locate: Any,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], list[pd.DataFrame]]:
    """Points affected by open incidents (any, water supply) and (incident, leaf) pairs."""
    n = len(points)
    affected = np.zeros(n, dtype=bool)
    water = np.zeros(n, dtype=bool)
    start = pd.to_datetime(inc["start"], utc=True, errors="coerce")
    end = (
        pd.to_datetime(inc["end"], utc=True, errors="coerce")
        if "end" in inc
        else pd.Series(pd.NaT, index=inc.index, dtype="datetime64[ns, UTC]")
    )
    stamp = pd.Timestamp(at)
    open_ = ((start <= stamp) & (end.isna() | (end > stamp))).to_numpy(dtype=bool)
    inc = inc[open_]
    if inc.empty:
        return affected, water, []
    ids = inc["incident_id"].astype(str).to_numpy()
    is_water = inc["type"].astype(str).isin(list(WATER_INCIDENTS)).to_numpy()
    geoms = np.asarray(inc.geometry.values, dtype=object)
    radius = (
        pd.to_numeric(inc["radius_m"], errors="coerce").to_numpy(float)
        if "radius_m" in inc
        else np.full(len(inc), np.nan)
    )
    has_geom = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    is_point = has_geom & np.isin(shapely.get_type_id(geoms), [0, 4])
    buffered = is_point & np.isfinite(radius) & (radius > 0)
    if buffered.any():
        utm = gpd.GeoSeries(geoms[buffered], crs="EPSG:4326").to_crs(UTM_CRS)
        geoms = geoms.copy()
        geoms[buffered] = np.asarray(
            utm.buffer(radius[buffered]).to_crs("EPSG:4326").values, dtype=object
        )
    area = has_geom & (~is_point | buffered)
    pairs_inc: list[NDArray[Any]] = []
    pairs_pt: list[NDArray[Any]] = []
    if area.any():
        pt, poly = points_in_polygons(points.x, points.y, geoms[area], predicate="intersects")
        sel = np.flatnonzero(area)[poly]
        pairs_inc.append(sel)
        pairs_pt.append(pt)
    # Units named by id: every point in their leaves; a bare point: its leaf.
    anc = ancestors(units).reindex(leaf_ids)
    unit_lists = split_ids(inc["unit_ids"]) if "unit_ids" in inc else None
    leaf_rows: list[tuple[int, int]] = []
    if unit_lists is not None:
        for i, names in enumerate(unit_lists.to_numpy()):
            for uid in names:
                hit = np.flatnonzero((anc == uid).any(axis=1).to_numpy())
                leaf_rows += [(i, int(h)) for h in hit]
    bare = np.flatnonzero(is_point & ~buffered)
    if bare.size:
        pos = locate(gpd.GeoDataFrame(geometry=geoms[bare], crs="EPSG:4326"))
        leaf_rows += [(int(bare[j]), int(p)) for j, p in enumerate(pos) if p >= 0]
    if leaf_rows:
        lr = np.asarray(leaf_rows, dtype=np.intp)
        # Every point of those leaves.
        order = np.argsort(points.leaf, kind="stable")
        starts = np.searchsorted(points.leaf[order], lr[:, 1], side="left")
        stops = np.searchsorted(points.leaf[order], lr[:, 1], side="right")
        lengths = stops - starts
        pt = order[np.repeat(starts, lengths) + (np.arange(lengths.sum()) -
                   np.repeat(np.cumsum(lengths) - lengths, lengths))]  # fmt: skip
        pairs_inc.append(np.repeat(lr[:, 0], lengths))
        pairs_pt.append(pt)
    if not pairs_inc:
        return affected, water, []
    all_inc = np.concatenate(pairs_inc)
    all_pt = np.concatenate(pairs_pt)
    affected[all_pt] = True
    water[all_pt[is_water[all_inc]]] = True
    pairs = pd.DataFrame(
        {"incident": ids[all_inc], "leaf": leaf_ids[points.leaf[all_pt]]}
    ).drop_duplicates()
    return affected, water, [pairs]


def _incident_counts(pairs: list[pd.DataFrame], key: pd.Series, index: pd.Index) -> NDArray[Any]:
    """Distinct open incidents touching each unit of one level."""
    table = pd.concat(pairs, ignore_index=True)
    table["unit"] = key.reindex(table["leaf"]).to_numpy()
    counts = table.dropna(subset=["unit"]).drop_duplicates(["incident", "unit"]).groupby(
        "unit"
    ).size()  # fmt: skip
    return counts.reindex(index).fillna(0).to_numpy(dtype=float)


def _underserved(
    table: pd.DataFrame, criteria: Sequence[Criterion], names: Mapping[str, str]
) -> pd.DataFrame:
    """Units meeting at least one criterion, with a bilingual reason for each."""
    reasons: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in criteria:
        part = table[table["indicator"] == c.indicator].dropna(subset=["value"])
        hit = part[c.hit(part["value"]).to_numpy()]
        for unit, level, value in zip(hit["unit_id"], hit["level"], hit["value"], strict=True):
            reasons.setdefault((unit, level), []).append(
                {
                    "indicator": c.indicator,
                    "value": float(value),
                    "threshold": c.value,
                    "op": c.op,
                    "en": c.en.format(value=value, threshold=c.value),
                    "id": c.id.format(value=value, threshold=c.value),
                }
            )
    rows = [
        {
            "unit_id": unit,
            "level": level,
            "name": names.get(unit, unit),
            "reasons": items,
            "reasons_en": "; ".join(r["en"] for r in items),
            "reasons_id": "; ".join(r["id"] for r in items),
        }
        for (unit, level), items in reasons.items()
    ]
    frame = pd.DataFrame(
        rows, columns=["unit_id", "level", "name", "reasons", "reasons_en", "reasons_id"]
    )
    if len(frame):
        rank = {lev: i for i, lev in enumerate(LEVELS)}
        frame["_r"] = frame["level"].map(rank)
        frame["_n"] = frame["reasons"].map(len)
        frame = frame.sort_values(["_r", "_n", "unit_id"], ascending=[True, False, True])
        frame = frame.drop(columns=["_r", "_n"]).reset_index(drop=True)
    return frame
