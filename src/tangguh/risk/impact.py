"""Flood impact: hazard polygons x population and buildings x an admin level.

The InaSAFE questions ("in the event of this flood, how many people and buildings are
affected per RW, how many will be displaced, what do they need?") answered headless,
at whole-city scale, with every run stored as a replayable analysis record.

Method (written into each record's ``parameters["method"]``):

- Hazard polygons are classified with a :class:`~tangguh.risk.Classification` (a
  depth field in the classification's unit, or a class-code field). Where polygons
  overlap, the most severe class wins.
- Population: each unit's population is spread evenly over its area (InaSAFE's
  aggregate-population assumption); affected = population x (area of the unit in the
  class / area of the unit), areas in UTM 48S (EPSG:32748). When the level has no
  population (e.g. the real RW), the nearest ancestor's population is shared among
  its descendants at the level by area, and the record says so.
- Buildings: a building is affected when its representative point lies in a class;
  only affected buildings are located in a unit (point lookup), which keeps a million
  buildings fast.
- Displaced = sum over classes of affected x the class's displacement rate; needs from
  a :class:`~tangguh.risk.NeedsProfile`, rounded up for counted items.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from tangguh._gc import paused_gc
from tangguh._spatial import points_in_polygons
from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.admin.units import LEVELS, ancestors, lookup_points
from tangguh.bank import RESULT_COLUMNS, AnalysisRecord, Bank
from tangguh.errors import InputError
from tangguh.risk.classification import (
    Classification,
    load_classification,
    validate_classification,
)
from tangguh.risk.needs import NeedsProfile, load_profile, validate_profile

__all__ = [
    "GROUPS",
    "Assembled",
    "ImpactResult",
    "assemble",
    "flood_impact",
    "group_shares",
    "inputs_for",
    "long_rows",
    "replay",
    "same_results",
    "units_at",
]

_METRIC_CRS = "EPSG:32748"  # WGS 84 / UTM 48S: metric areas over Jakarta


@dataclass
class ImpactResult:
    """One analysis: its record, the long results and a wide per-area table."""

    record: AnalysisRecord
    results: pd.DataFrame
    areas: pd.DataFrame
    needs: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> dict[str, Any]:
        return dict(self.record.summary)


def _population_at(units: gpd.GeoDataFrame, level: str) -> tuple[pd.Series, str]:
    """Population per unit of ``level`` and how it was obtained."""
    at = units[units["level"] == level].set_index("unit_id")
    own = pd.to_numeric(at["population"], errors="coerce")
    if own.notna().all():
        return own.astype(float), f"{level} population as stored"
    anc = ancestors(units)
    rank = LEVELS.index(level)
    areas = gpd.GeoSeries(at.geometry, crs="EPSG:4326").to_crs(_METRIC_CRS).area
    pop_all = pd.to_numeric(units.set_index("unit_id")["population"], errors="coerce")
    for parent_level in reversed(LEVELS[:rank]):
        if parent_level not in anc.columns:
            continue
        parents = anc.loc[at.index, parent_level]
        parent_pop = pop_all.reindex(parents.to_numpy())
        if parent_pop.notna().sum() == 0:
            continue
        share = areas / areas.groupby(parents.to_numpy()).transform("sum")
        estimate = share * parent_pop.to_numpy()
        filled = own.fillna(estimate)
        return filled.astype(float), (
            f"{level} population estimated from {parent_level} population shared by area"
        )
    raise InputError(
        f"no population at level {level!r} or above",
        message_id=f"tidak ada data penduduk pada tingkat {level!r} atau di atasnya",
        where=ADMIN_LAYER,
        hint="import population first (tangguh admin import-jakarta, or the demo city)",
        hint_id="impor data penduduk dulu (tangguh admin import-jakarta, atau kota demo)",
    )


def _classified_hazard(
    hazard: gpd.GeoDataFrame,
    classification: Classification,
    *,
    depth_field: str | None,
    class_field: str | None,
    layer: str,
) -> gpd.GeoDataFrame:
    if (depth_field is None) == (class_field is None):
        raise InputError(
            "give exactly one of a depth field or a class field",
            message_id="berikan tepat satu: kolom kedalaman atau kolom kelas",
            where=f"layer {layer}",
            hint="e.g. --depth-field depth_cm, or --class-field state",
            hint_id="mis. --depth-field depth_cm, atau --class-field state",
        )
    column = depth_field or class_field
    assert column is not None
    if column not in hazard.columns:
        raise InputError(
            f"layer {layer!r} has no column {column!r}",
            message_id=f"lapisan {layer!r} tidak memiliki kolom {column!r}",
            where=f"layer {layer}",
            hint=f"columns: {[c for c in hazard.columns if c != 'geometry']}",
            hint_id=f"kolom: {[c for c in hazard.columns if c != 'geometry']}",
        )
    polygonal = shapely.get_type_id(hazard.geometry.to_numpy()) >= 0
    kinds = set(hazard.geometry.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"hazard layer {layer!r} must hold polygons, it has {sorted(kinds)}",
            message_id=f"lapisan bahaya {layer!r} harus berisi poligon, isinya {sorted(kinds)}",
            where=f"layer {layer}",
            hint="use flood polygons (or a raster hazard)",
            hint_id="gunakan poligon banjir (atau bahaya raster)",
        )
    values = hazard[column].to_numpy()
    if depth_field is not None:
        numeric = pd.to_numeric(hazard[column], errors="coerce")
        bad = numeric.isna() & hazard[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"depth {hazard[column].iloc[row]!r} is not a number",
                message_id=f"kedalaman {hazard[column].iloc[row]!r} bukan angka",
                where=f"layer {layer}, row {row}, field {column}",
                hint="fix the value or use --class-field",
                hint_id="perbaiki nilainya atau gunakan --class-field",
            )
        values = numeric.to_numpy(float)
    index = classification.class_index(values)
    out = gpd.GeoDataFrame(
        {"class_index": index}, geometry=hazard.geometry.to_numpy(), crs="EPSG:4326"
    )
    return out[(index >= 0) & polygonal].reset_index(drop=True)


@dataclass
class _Zones:
    """The pieces unit ∩ class zone (UTM 48S), with the unit position and class of each."""

    geoms: np.ndarray
    unit: np.ndarray
    klass: np.ndarray


def _class_areas(
    units: gpd.GeoDataFrame, hazard: gpd.GeoDataFrame, n_classes: int
) -> tuple[pd.DataFrame, pd.Series, _Zones]:
    """Area (m²) of each unit in each class (most severe class wins on overlaps).

    Also returns the pieces themselves, so points (buildings) are placed in a unit and
    a class by one point-in-polygon pass over the same geometry.
    """
    metric_units = units.to_crs(_METRIC_CRS)
    unit_geoms = shapely.make_valid(metric_units.geometry.to_numpy())
    unit_area = pd.Series(shapely.area(unit_geoms), index=units["unit_id"].to_numpy())
    hz = hazard.to_crs(_METRIC_CRS)
    hz_geoms = shapely.make_valid(hz.geometry.to_numpy())
    covered = None
    columns = {}
    zone_geoms: list[np.ndarray] = []
    zone_unit: list[np.ndarray] = []
    zone_class: list[np.ndarray] = []
    tree = shapely.STRtree(unit_geoms)
    for k in range(n_classes - 1, -1, -1):
        parts = hz_geoms[hz["class_index"].to_numpy() == k]
        area = np.zeros(len(unit_geoms))
        if len(parts):
            zone = shapely.union_all(parts)
            if covered is not None:
                zone = shapely.difference(zone, covered)
            covered = zone if covered is None else shapely.union(covered, zone)
            # Intersect each unit only with the (disjoint) pieces of the zone near it:
            # one big multipolygon against every unit costs far more.
            pieces = shapely.get_parts(zone)
            pairs = tree.query(pieces, predicate="intersects")
            if pairs.shape[1]:
                inter = shapely.intersection(unit_geoms[pairs[1]], pieces[pairs[0]])
                np.add.at(area, pairs[1], shapely.area(inter))
                keep = ~shapely.is_empty(inter)
                zone_geoms.append(inter[keep])
                zone_unit.append(pairs[1][keep])
                zone_class.append(np.full(int(keep.sum()), k))
        columns[k] = area
    frame = pd.DataFrame({k: columns[k] for k in range(n_classes)}, index=unit_area.index)
    zones = _Zones(
        np.concatenate(zone_geoms) if zone_geoms else np.empty(0, dtype=object),
        np.concatenate(zone_unit) if zone_unit else np.empty(0, dtype=np.intp),
        np.concatenate(zone_class) if zone_class else np.empty(0, dtype=np.int64),
    )
    return frame, unit_area, zones


def _place(
    x: np.ndarray, y: np.ndarray, zones: _Zones, unit_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Class (-1: none) and unit id of lon/lat points, from the unit ∩ zone pieces.

    A point on a shared edge takes the most severe class, then the lowest unit_id
    (as :func:`tangguh.admin.units.lookup_points`).
    """
    utm = pyproj.Transformer.from_crs("EPSG:4326", _METRIC_CRS, always_xy=True)
    ux, uy = utm.transform(x, y)
    pt, piece = points_in_polygons(
        np.asarray(ux), np.asarray(uy), zones.geoms, predicate="intersects"
    )
    klass = np.full(len(x), -1, dtype=np.int64)
    where = np.full(len(x), None, dtype=object)
    if pt.size:
        k = zones.klass[piece]
        rank = pd.Series(unit_ids).rank(method="first").to_numpy()[zones.unit[piece]]
        order = np.lexsort((rank, -k, pt))
        first_pt, first = np.unique(pt[order], return_index=True)
        chosen = piece[order][first]
        klass[first_pt] = zones.klass[chosen]
        where[first_pt] = unit_ids[zones.unit[chosen]]
    return klass, where


#: Population groups broken down when the bank has them per unit (Dukcapil profile).
GROUPS = (
    "male",
    "female",
    "age_0_5",
    "age_6_15",
    "age_16_20",
    "age_21_30",
    "age_31_40",
    "age_41_60",
    "age_over_60",
)


def group_shares(bank: Bank, all_units: gpd.GeoDataFrame, level: str) -> pd.DataFrame | None:
    """Share of each group (:data:`GROUPS`) in each unit's population, or None.

    Taken from the admin attribute long table at the unit's own level, else from its
    nearest ancestor that has them (e.g. RW get their kelurahan's shares). Shares are
    relative to the groups' own total per dimension (sex, age), so they add up to 1
    even where a source's total differs from the unit's population.
    """
    rows = bank.admin_attributes()
    rows = rows[rows["attribute"].isin(GROUPS)]
    if rows.empty:
        return None
    table = rows.pivot_table(index="unit_id", columns="attribute", values="value", aggfunc="first")
    shares = pd.DataFrame(index=table.index)
    sex = [g for g in ("male", "female") if g in table.columns]
    ages = [g for g in GROUPS if g.startswith("age_") and g in table.columns]
    for dims in (sex, ages):
        if dims:
            total = table[dims].sum(axis=1).replace(0, np.nan)
            for g in dims:
                shares[g] = table[g] / total
    units = all_units[all_units["level"] == level]["unit_id"]
    anc = ancestors(all_units).reindex(units.to_numpy())
    out = pd.DataFrame(np.nan, index=units.to_numpy(), columns=shares.columns)
    for lvl in reversed(LEVELS[: LEVELS.index(level) + 1]):
        if lvl not in anc.columns:
            continue
        source = shares.reindex(anc[lvl].to_numpy())
        source.index = out.index
        out = out.fillna(source)
    return out if out.notna().any().any() else None


def _locate(
    xy: tuple[np.ndarray, np.ndarray],
    hz: gpd.GeoDataFrame,
    all_units: gpd.GeoDataFrame,
    level: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Hazard class index (-1: none; most severe wins) and unit of each point in a class.

    ``xy`` are lon/lat arrays (representative points); no point geometries are made.
    """
    x, y = xy
    pt, poly = points_in_polygons(x, y, np.asarray(hz.geometry.to_numpy(), dtype=object))
    klass = np.full(len(x), -1, dtype=np.int64)
    np.maximum.at(klass, pt, hz["class_index"].to_numpy()[poly])
    where = np.full(len(x), None, dtype=object)
    hit = np.flatnonzero(klass >= 0)
    if len(hit):
        found = lookup_points(all_units, np.column_stack([x[hit], y[hit]]), levels=[level])
        where[hit] = found[level].to_numpy()
    return klass, where


def _names(frame: gpd.GeoDataFrame) -> np.ndarray:
    """A label per feature: its ``name``/``nama`` column, else the first text column."""
    for column in ("name", "nama", "nama_rs", "nama_sekolah"):
        if column in frame.columns:
            return frame[column].astype(str).to_numpy()
    text = [c for c in frame.columns if c != "geometry" and frame[c].dtype == object]
    if text:
        return frame[text[0]].astype(str).to_numpy()
    return np.array([str(i) for i in frame.index], dtype=object)


def inputs_for(
    classification: str | Path | Classification, needs: str | Path | NeedsProfile, level: str
) -> tuple[Classification, NeedsProfile]:
    """Load the classification and needs profile (keys, files or objects); check the level."""
    cls = (
        classification
        if isinstance(classification, Classification)
        else load_classification(classification)
    )
    profile = needs if isinstance(needs, NeedsProfile) else load_profile(needs)
    if level not in LEVELS:
        raise InputError(
            f"unknown level {level!r}",
            message_id=f"tingkat {level!r} tidak dikenal",
            hint=f"use one of {list(LEVELS)}",
            hint_id=f"gunakan salah satu dari {list(LEVELS)}",
        )
    return cls, profile


def units_at(all_units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """The units of one level, or an error listing the levels the bank has."""
    units = all_units[all_units["level"] == level].reset_index(drop=True)
    if units.empty:
        raise InputError(
            f"the bank has no admin units at level {level!r}",
            message_id=f"bank data tidak memiliki wilayah pada tingkat {level!r}",
            where=ADMIN_LAYER,
            hint=f"levels present: {sorted(set(all_units['level']))}",
            hint_id=f"tingkat yang ada: {sorted(set(all_units['level']))}",
        )
    return units


@paused_gc()  # bulk work: see tangguh._gc
def flood_impact(
    bank: Bank,
    *,
    hazard: str,
    level: str = "rw",
    classification: str | Path | Classification = "flood_petabencana",
    depth_field: str | None = None,
    class_field: str | None = None,
    buildings: str | None = "buildings",
    facilities: Sequence[str] = (),
    needs: str | Path | NeedsProfile = "bnpb_perka_7_2008",
    question: str | None = None,
    versions: dict[str, int] | None = None,
    save: bool = True,
) -> ImpactResult:
    """Affected population and buildings per unit and class, displaced people and needs.

    Parameters
    ----------
    hazard:
        Layer id of flood polygons (EPSG:4326 in the bank).
    level:
        Admin level to aggregate to (``rw``, ``kelurahan``, ``kecamatan``, ``kota``,
        ``province``).
    classification, needs:
        Built-in key, TOML file, or object.
    depth_field, class_field:
        Exactly one: a depth column (in the classification's unit) or a class code.
    buildings:
        Layer id of building footprints or points, or None to skip buildings.
    facilities:
        Layer ids of facilities (hospitals, schools, shelters, markets …): counted per
        unit and class, and listed by name per class in the summary.
    versions:
        Layer id -> version to read (default: current); used by :func:`replay`.
    save:
        Store the run as an analysis record in the bank.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    versions = dict(versions or {})
    cls, profile = inputs_for(classification, needs, level)

    def read(
        layer_id: str,
        columns: list[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> gpd.GeoDataFrame:
        info = bank.layer(layer_id)
        version = versions.setdefault(layer_id, info.current_version)
        return bank.read_layer(layer_id, version=version, columns=columns, bbox=bbox)

    all_units = read(ADMIN_LAYER) if ADMIN_LAYER in versions else load_units(bank)
    versions.setdefault(ADMIN_LAYER, bank.layer(ADMIN_LAYER).current_version)
    units = units_at(all_units, level)
    hz_raw = read(hazard)
    hz = _classified_hazard(
        hz_raw, cls, depth_field=depth_field, class_field=class_field, layer=hazard
    )
    if hz.empty:
        raise InputError(
            f"no polygon of {hazard!r} falls in any class of {cls.key!r}",
            message_id=f"tidak ada poligon {hazard!r} yang masuk kelas {cls.key!r}",
            where=f"layer {hazard}",
            hint="check the field, its unit and the classification",
            hint_id="periksa kolom, satuannya, dan klasifikasinya",
        )
    hz_box = shapely.box(*hz.total_bounds)
    if not shapely.intersects(hz_box, shapely.box(*units.total_bounds)):
        raise InputError(
            f"hazard {hazard!r} does not overlap the admin units",
            message_id=f"bahaya {hazard!r} tidak bertampalan dengan wilayah administrasi",
            where=f"layer {hazard}",
            hint="check the hazard's CRS and extent",
            hint_id="periksa CRS dan cakupan lapisan bahaya",
        )
    timings["read"] = time.perf_counter() - started

    t0 = time.perf_counter()
    population, pop_method = _population_at(all_units, level)
    areas, unit_area, zones = _class_areas(units, hz, len(cls.classes))
    share = areas.div(unit_area.replace(0, np.nan), axis=0).fillna(0).clip(upper=1)
    affected = share.mul(population.reindex(areas.index).fillna(0), axis=0)
    timings["population"] = time.perf_counter() - t0

    building_counts = pd.DataFrame(0, index=areas.index, columns=areas.columns)
    if buildings is not None:
        t0 = time.perf_counter()
        # One representative point per building (the bank caches them per layer
        # version), only those within the hazard's extent.
        minx, miny, maxx, maxy = (float(v) for v in hz.total_bounds)
        version = versions.setdefault(buildings, bank.layer(buildings).current_version)
        points = bank.layer_points(buildings, version=version, bbox=(minx, miny, maxx, maxy))
        klass, where = _place(points.x, points.y, zones, units["unit_id"].to_numpy())
        hit = klass >= 0
        if hit.any():
            table = pd.DataFrame({"unit": where[hit], "k": klass[hit]}).dropna()
            counts = table.groupby(["unit", "k"]).size().unstack(fill_value=0)
            building_counts = building_counts.add(
                counts.reindex(index=areas.index, columns=areas.columns, fill_value=0),
                fill_value=0,
            ).astype(int)
        timings["buildings"] = time.perf_counter() - t0

    facility_rows: list[pd.DataFrame] = []
    facility_lists: dict[str, dict[str, list[str]]] = {}
    for layer_id in facilities:
        frame = read(layer_id)
        points = shapely.point_on_surface(frame.geometry.to_numpy())
        xy = (shapely.get_x(points), shapely.get_y(points))
        klass, where = _locate(xy, hz, all_units, level)
        names = _names(frame)
        hit = klass >= 0
        facility_lists[layer_id] = {
            cls.keys[k]: sorted(names[hit & (klass == k)].tolist())
            for k in range(len(cls.classes))
            if (hit & (klass == k)).any()
        }
        if hit.any():
            table = pd.DataFrame({"unit": where[hit], "k": klass[hit]}).dropna()
            counts = table.groupby(["unit", "k"]).size().reset_index(name="n")
            for k, part in counts.groupby("k"):
                facility_rows.append(
                    long_rows(
                        pd.Index(part["unit"]),
                        cls.keys[int(str(k))],
                        f"facility:{layer_id}",
                        "affected",
                        part["n"],
                    )
                )

    t0 = time.perf_counter()
    extra = [long_rows(areas.index, key, "area", "m2", areas[k]) for k, key in enumerate(cls.keys)]
    extra += facility_rows
    assembled = assemble(
        all_units=all_units,
        keys=list(cls.keys),
        rates=np.asarray(cls.rates, dtype=float),
        affected=affected,
        population=population,
        profile=profile,
        buildings=building_counts if buildings is not None else None,
        extra=extra,
        shares=group_shares(bank, all_units, level),
    )
    assembled.summary["population_method"] = pop_method
    if facilities:
        assembled.summary["facilities"] = facility_lists
    timings["results"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    results, wide, need_table, summary = (
        assembled.results,
        assembled.areas,
        assembled.needs,
        assembled.summary,
    )
    inputs = {
        "hazard": {"layer": hazard, "version": versions[hazard]},
        "admin_units": {"layer": ADMIN_LAYER, "version": versions[ADMIN_LAYER]},
    }
    if buildings is not None:
        inputs["buildings"] = {"layer": buildings, "version": versions[buildings]}
    for layer_id in facilities:
        inputs[f"facility:{layer_id}"] = {"layer": layer_id, "version": versions[layer_id]}
    record = AnalysisRecord(
        kind="flood_impact",
        question=question
        or f"Banjir {hazard!r}: siapa dan apa yang terdampak per {level}? / "
        f"Flood {hazard!r}: who and what is affected per {level}?",
        inputs=inputs,
        parameters={
            "level": level,
            "depth_field": depth_field,
            "class_field": class_field,
            "facilities": list(facilities),
            "classification": cls.to_dict(),
            "needs": profile.to_dict(),
            "method": __doc__.split("Method", 1)[1].strip() if __doc__ else "",
        },
        level=level,
        timings={k: round(v, 4) for k, v in timings.items()},
        summary=summary,
    )
    if save:
        bank.save_analysis(record, results)
    return ImpactResult(record=record, results=results, areas=wide, needs=need_table)


@dataclass
class Assembled:
    """Results of an impact run in the three shapes the callers need."""

    results: pd.DataFrame
    areas: pd.DataFrame
    needs: pd.DataFrame
    summary: dict[str, Any]


def long_rows(
    units: pd.Index, hazard_class: str, exposure: str, metric: str, values: Any
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": np.asarray(units, dtype=object).astype(str),
            "hazard_class": hazard_class,
            "exposure": exposure,
            "metric": metric,
            "value": np.asarray(values, dtype=float),
        }
    )


def assemble(
    *,
    all_units: gpd.GeoDataFrame,
    keys: list[str],
    rates: np.ndarray,
    affected: pd.DataFrame,
    population: pd.Series,
    profile: NeedsProfile,
    buildings: pd.DataFrame | None = None,
    extra: list[pd.DataFrame] | None = None,
    shares: pd.DataFrame | None = None,
) -> Assembled:
    """Displaced, needs, the long results, the wide per-area table and the totals.

    ``affected`` (and ``buildings``) are indexed by unit_id with one column per class
    index; ``population`` is the total per unit.
    """
    index = affected.index
    displaced = (affected * rates[list(affected.columns)]).sum(axis=1)
    need_table = profile.needs_for(displaced.rename_axis("unit_id"))
    long = list(extra or [])
    for k, key in enumerate(keys):
        long.append(long_rows(index, key, "population", "affected", affected[k]))
        if buildings is not None:
            long.append(long_rows(index, key, "buildings", "affected", buildings[k]))
    long.append(long_rows(index, "", "population", "displaced", displaced))
    by_group: dict[str, float] = {}
    if shares is not None:
        total_affected = affected.sum(axis=1)
        for group in shares.columns:
            values = total_affected * shares[group].reindex(index).to_numpy()
            long.append(long_rows(index, "", "population", f"affected_{group}", values))
            by_group[str(group)] = float(np.nansum(values))
    long.append(long_rows(index, "", "population", "total", population.reindex(index)))
    for need in need_table.columns:
        long.append(long_rows(need_table.index, "", "needs", str(need), need_table[need]))
    results = pd.concat(long, ignore_index=True)[list(RESULT_COLUMNS)]
    results = results[(results["value"] != 0) | (results["metric"] == "total")]
    results = results.reset_index(drop=True)

    by_id = all_units.set_index("unit_id")
    names = by_id["name"]
    parents = by_id["parent_id"].reindex(index).to_numpy()
    wide = pd.DataFrame(
        {
            "unit_id": index,
            "name": names.reindex(index).to_numpy(),
            "parent": names.reindex(parents).to_numpy(),
            "population": population.reindex(index).to_numpy(),
        }
    )
    for k, key in enumerate(keys):
        wide[f"affected_{key}"] = affected[k].to_numpy()
    wide["affected"] = affected.sum(axis=1).to_numpy()
    wide["displaced"] = displaced.to_numpy()
    if buildings is not None:
        for k, key in enumerate(keys):
            wide[f"buildings_{key}"] = buildings[k].to_numpy()
        wide["buildings"] = buildings.sum(axis=1).to_numpy()
    wide = wide[wide["affected"] > 0].sort_values("affected", ascending=False)

    summary: dict[str, Any] = {
        "units_affected": int((affected.sum(axis=1) > 0).sum()),
        "population_affected": float(affected.to_numpy().sum()),
        "displaced": float(displaced.sum()),
        "affected_by_class": {key: float(affected[k].sum()) for k, key in enumerate(keys)},
    }
    if buildings is not None:
        summary["buildings_affected"] = int(buildings.to_numpy().sum())
        summary["buildings_by_class"] = {key: int(buildings[k].sum()) for k, key in enumerate(keys)}
    summary["needs"] = {str(c): float(need_table[c].sum()) for c in need_table.columns}
    if by_group:
        summary["affected_by_group"] = by_group
    return Assembled(
        results=results, areas=wide.reset_index(drop=True), needs=need_table, summary=summary
    )


def replay(bank: Bank, analysis_id: str, *, save: bool = False) -> tuple[ImpactResult, bool]:
    """Run a stored analysis again on the same layer versions and parameters.

    Returns the new result and whether its results equal the stored ones.
    """
    record, stored = bank.analysis(analysis_id)
    p = record.parameters
    where = f"analysis {analysis_id}"
    if record.kind == "risk_index":
        from tangguh.risk.index import replay_risk_index

        return replay_risk_index(bank, record, stored)
    if record.kind == "loss_return_periods":
        from tangguh.risk.returns import replay_return_periods

        return replay_return_periods(bank, record, stored)
    cls = validate_classification(p["classification"], where=where)
    profile = validate_profile(p["needs"], where=where)
    common: dict[str, Any] = {
        "hazard": record.inputs["hazard"]["layer"],
        "level": p["level"],
        "classification": cls,
        "needs": profile,
        "question": record.question,
        "save": save,
    }
    # Raster layers are never replaced in place, so their content is the recorded one.
    rasters = {
        "exposure": record.inputs.get("exposure", {}).get("layer"),
        "density": p.get("density"),
        "density_unit_km2": p.get("density_unit_km2"),
    }
    if record.kind == "flood_impact":
        result = flood_impact(
            bank,
            **common,
            depth_field=p["depth_field"],
            class_field=p["class_field"],
            buildings=record.inputs.get("buildings", {}).get("layer"),
            facilities=p.get("facilities", []),
            versions={v["layer"]: int(v["version"]) for v in record.inputs.values()},
        )
    elif record.kind == "raster_flood_impact":
        from tangguh.risk.raster_impact import raster_flood_impact

        result = raster_flood_impact(bank, **common, **rasters)
    elif record.kind == "hazard_impact":
        from tangguh.risk.exposures import replay_hazard_impact

        result = replay_hazard_impact(bank, record, common)
    elif record.kind == "earthquake_impact":
        from tangguh.risk.earthquake import earthquake_impact

        result = earthquake_impact(bank, **common, **rasters, model=p["model"])
    else:
        raise InputError(
            f"analysis {analysis_id!r} is a {record.kind!r}, which cannot be replayed yet",
            message_id=f"analisis {analysis_id!r} berjenis {record.kind!r}, belum dapat "
            "dijalankan ulang",
        )
    return result, same_results(stored, result.results)


def same_results(stored: pd.DataFrame, again: pd.DataFrame) -> bool:
    """Whether two long result tables hold the same rows and values (rtol 1e-9)."""
    key = ["unit_id", "hazard_class", "exposure", "metric"]
    a = stored.set_index(key)["value"].astype(float).sort_index()
    b = again.set_index(key)["value"].astype(float).sort_index()
    same = a.index.equals(b.index) and np.allclose(
        a.to_numpy(), b.to_numpy(), rtol=1e-9, equal_nan=True
    )
    return bool(same)
