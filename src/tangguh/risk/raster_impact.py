"""Raster flood impact: a hazard raster x a population raster per admin unit.

InaSAFE's raster-on-raster case (e.g. the HKV 2007 depth grid over the HKV population
density grid) at whole-city scale: exposure is summed per unit and hazard class with
exact cell coverage (exactextract, :func:`tangguh.risk.zonal.cross_tab`), so units
that cut cells count their share of them; grids with different resolution or CRS are
resampled by area, not refused. Displaced people and needs as in
:func:`tangguh.risk.impact.flood_impact`; the run is stored as an analysis record.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.bank import AnalysisRecord, Bank
from tangguh.errors import InputError
from tangguh.risk.classification import Classification
from tangguh.risk.impact import ImpactResult, assemble, group_shares, inputs_for, units_at
from tangguh.risk.needs import NeedsProfile
from tangguh.risk.zonal import cross_tab

__all__ = ["class_bins", "raster_flood_impact"]


def class_bins(cls: Classification) -> tuple[list[float], list[int]]:
    """Bin edges for :func:`cross_tab` and the class index of each bin.

    Continuous classes become their ranges (right-closed classes shifted by one ULP,
    as ``cross_tab`` bins are ``[lo, hi)``); categorical codes ``c`` become ``[c, c+1)``.
    """
    if cls.kind == "categorical":
        codes = []
        for k, c in enumerate(cls.classes):
            try:
                codes.append((float(str(c.value)), k))
            except ValueError:
                raise InputError(
                    f"class {c.key!r} has a non-numeric code {c.value!r}; rasters hold numbers",
                    message_id=f"kelas {c.key!r} berkode bukan angka {c.value!r}; "
                    "raster berisi angka",
                    where=f"classification {cls.key}",
                    hint="use a classification with numeric codes for rasters",
                    hint_id="gunakan klasifikasi berkode angka untuk raster",
                ) from None
        codes.sort()
        edges: list[float] = []
        owners: list[int] = []
        for value, k in codes:
            if edges and edges[-1] > value:
                continue
            if edges and edges[-1] < value:
                owners.append(-1)  # gap between codes: a bin of no class
                edges.append(value)
            if not edges:
                edges.append(value)
            edges.append(value + 1)
            owners.append(k)
        return edges, owners
    lows = [c.min if c.min is not None else -1e30 for c in cls.classes]
    highs = [c.max if c.max is not None else math.inf for c in cls.classes]
    edges = [*lows, highs[-1]]
    if cls.closed == "right":
        edges = [float(np.nextafter(e, math.inf)) if math.isfinite(e) else e for e in edges]
    return edges, list(range(len(cls.classes)))


def raster_flood_impact(
    bank: Bank,
    *,
    hazard: str,
    exposure: str,
    level: str = "kelurahan",
    classification: str | Path | Classification = "flood_petabencana",
    hazard_unit: str | None = None,
    density: bool = False,
    density_unit_km2: float = 1.0,
    needs: str | Path | NeedsProfile = "bnpb_perka_7_2008",
    question: str | None = None,
    save: bool = True,
) -> ImpactResult:
    """People affected per unit and hazard class from a hazard and a population raster.

    Parameters
    ----------
    hazard, exposure:
        Raster layer ids in the bank (e.g. a flood depth grid and a population grid).
    hazard_unit:
        Unit of the hazard raster's values when it differs from the classification's
        (e.g. ``"m"`` for the HKV depth grid with the PetaBencana classes in cm).
    density, density_unit_km2:
        The population raster holds people per ``density_unit_km2`` km² (the HKV grid:
        people per 0.1 km²), converted to counts with geodesic cell areas.
    """
    started = time.perf_counter()
    cls, profile = inputs_for(classification, needs, level)
    if hazard_unit is not None:
        cls = cls.to_unit(hazard_unit)
    all_units = load_units(bank)
    units = units_at(all_units, level)
    edges, owners = class_bins(cls)
    table = cross_tab(
        bank.raster_path(hazard),
        bank.raster_path(exposure),
        units[["unit_id", "geometry"]],
        zone_field="unit_id",
        hazard_bins=edges,
        density=density,
        density_unit_km2=density_unit_km2,
    )
    bins = table.iloc[:, : len(owners)]
    affected = pd.DataFrame(0.0, index=table.index.astype(str), columns=range(len(cls.classes)))
    for position, k in enumerate(owners):
        if k >= 0:
            affected[k] += bins.iloc[:, position].to_numpy(float)
    population = table["total"].astype(float)
    population.index = affected.index
    assembled = assemble(
        all_units=all_units,
        keys=list(cls.keys),
        rates=np.asarray(cls.rates, dtype=float),
        affected=affected,
        population=population,
        profile=profile,
        shares=group_shares(bank, all_units, level),
    )
    summary = assembled.summary
    summary["population_method"] = (
        f"population raster {exposure!r} summed per {level} with exact cell coverage"
        + (f" (density per {density_unit_km2:g} km², geodesic cell areas)" if density else "")
    )
    summary["population_total"] = float(population.sum())
    summary["population_outside_classes"] = float(table[["other", "no_hazard"]].sum().sum())
    layer_version = {lid: bank.layer(lid).current_version for lid in (hazard, exposure)}
    record = AnalysisRecord(
        kind="raster_flood_impact",
        question=question
        or f"Banjir {hazard!r} atas penduduk {exposure!r} per {level}? / "
        f"Flood {hazard!r} over population {exposure!r} per {level}?",
        inputs={
            "hazard": {"layer": hazard, "version": layer_version[hazard]},
            "exposure": {"layer": exposure, "version": layer_version[exposure]},
            "admin_units": {
                "layer": ADMIN_LAYER,
                "version": bank.layer(ADMIN_LAYER).current_version,
            },
        },
        parameters={
            "level": level,
            "classification": cls.to_dict(),
            "needs": profile.to_dict(),
            "density": density,
            "density_unit_km2": density_unit_km2,
            "bins": [e if math.isfinite(e) else None for e in edges],
            "method": (__doc__ or "").strip(),
        },
        level=level,
        timings={"total": round(time.perf_counter() - started, 4)},
        summary=summary,
    )
    if save:
        bank.save_analysis(record, assembled.results)
    return ImpactResult(
        record=record, results=assembled.results, areas=assembled.areas, needs=assembled.needs
    )
