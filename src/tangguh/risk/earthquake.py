"""Earthquake impact: an MMI raster x a population raster per admin unit, with fatalities.

Fatality models as InaSAFE defines them (``safe/definitions/earthquake.py``, summarised
in ``shared/reference/PEERS.md`` §2):

- **ITB** (Institut Teknologi Bandung): fatality rate ``10^(0.62275·MMI − 8.03314)``,
  0 below MMI 4.
- **PAGER** (USGS, empirical model, Jaiswal & Wald 2010): rate ``Φ(ln(MMI/θ)/β)`` with
  Indonesia's θ = 13.249, β = 0.151 (Φ the standard normal CDF).

Population is summed per unit and integer MMI level with exact cell coverage
(:func:`tangguh.risk.zonal.cross_tab`, level k = ``[k − 0.5, k + 0.5)``); fatalities =
Σ population at level k x rate(k). Affected and displaced follow a classification
(default ``earthquake_mmi_3class``); the run is stored as an analysis record.
ITB-Bayesian (InaSAFE's default) is not implemented: its coefficients are not in the
references we can cite.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.bank import AnalysisRecord, Bank
from tangguh.errors import InputError
from tangguh.risk.classification import Classification
from tangguh.risk.impact import (
    ImpactResult,
    assemble,
    group_shares,
    inputs_for,
    long_rows,
    units_at,
)
from tangguh.risk.needs import NeedsProfile
from tangguh.risk.zonal import cross_tab

__all__ = ["FATALITY_MODELS", "earthquake_impact", "itb_rate", "pager_rate"]

_MMI_LEVELS = np.arange(1, 13)  # I .. XII


def itb_rate(mmi: np.ndarray) -> np.ndarray:
    """ITB fatality rate per person at intensity ``mmi`` (0 below MMI 4)."""
    mmi = np.asarray(mmi, dtype=float)
    return np.where(mmi < 4, 0.0, 10.0 ** (0.62275 * mmi - 8.03314))


def pager_rate(mmi: np.ndarray, *, theta: float = 13.249, beta: float = 0.151) -> np.ndarray:
    """USGS PAGER empirical fatality rate for Indonesia (θ, β from InaSAFE)."""
    mmi = np.asarray(mmi, dtype=float)
    z = np.log(np.clip(mmi, 1e-9, None) / theta) / beta
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


#: Fatality models by key: rate per person as a function of MMI.
FATALITY_MODELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "itb": itb_rate,
    "pager": pager_rate,
}


def earthquake_impact(
    bank: Bank,
    *,
    hazard: str,
    exposure: str,
    level: str = "kelurahan",
    model: str = "itb",
    classification: str | Path | Classification = "earthquake_mmi_3class",
    density: bool = False,
    density_unit_km2: float = 1.0,
    needs: str | Path | NeedsProfile = "bnpb_perka_7_2008",
    question: str | None = None,
    save: bool = True,
) -> ImpactResult:
    """Population per MMI level, fatalities, affected, displaced and needs per unit.

    Parameters
    ----------
    hazard, exposure:
        Raster layer ids: an MMI grid (e.g. from :func:`~tangguh.risk.hazards.shakemap_to_raster`)
        and a population grid (counts, or a density with ``density=True``).
    model:
        ``"itb"`` or ``"pager"`` (see the module docstring).
    """
    started = time.perf_counter()
    if model not in FATALITY_MODELS:
        raise InputError(
            f"unknown fatality model {model!r}",
            message_id=f"model korban jiwa {model!r} tidak dikenal",
            hint=f"use one of {sorted(FATALITY_MODELS)}",
            hint_id=f"gunakan salah satu dari {sorted(FATALITY_MODELS)}",
        )
    cls, profile = inputs_for(classification, needs, level)
    if cls.hazard != "earthquake":
        raise InputError(
            f"classification {cls.key!r} is for {cls.hazard}, not earthquakes",
            message_id=f"klasifikasi {cls.key!r} untuk {cls.hazard}, bukan gempa bumi",
            hint="use earthquake_mmi_3class or earthquake_mmi_scale",
            hint_id="gunakan earthquake_mmi_3class atau earthquake_mmi_scale",
        )
    all_units = load_units(bank)
    units = units_at(all_units, level)
    edges = [float(k) - 0.5 for k in _MMI_LEVELS] + [float(_MMI_LEVELS[-1]) + 0.5]
    table = cross_tab(
        bank.raster_path(hazard),
        bank.raster_path(exposure),
        units[["unit_id", "geometry"]],
        zone_field="unit_id",
        hazard_bins=edges,
        density=density,
        density_unit_km2=density_unit_km2,
    )
    table.index = table.index.astype(str)
    by_level = table.iloc[:, : len(_MMI_LEVELS)].astype(float)
    by_level.columns = _MMI_LEVELS
    rates = FATALITY_MODELS[model](_MMI_LEVELS.astype(float))
    fatalities = by_level.mul(rates, axis=1).sum(axis=1)

    class_index = cls.class_index(_MMI_LEVELS.astype(float))
    affected = pd.DataFrame(0.0, index=table.index, columns=range(len(cls.classes)))
    for level_value, k in zip(_MMI_LEVELS, class_index, strict=True):
        if k >= 0:
            affected[int(k)] += by_level[level_value].to_numpy()
    population = table["total"].astype(float)
    extra = [long_rows(table.index, "", "population", f"fatalities_{model}", fatalities)]
    extra += [
        long_rows(table.index, f"mmi_{v}", "population", "exposed", by_level[v])
        for v in _MMI_LEVELS
        if by_level[v].any()
    ]
    assembled = assemble(
        all_units=all_units,
        keys=list(cls.keys),
        rates=np.asarray(cls.rates, dtype=float),
        affected=affected,
        population=population,
        profile=profile,
        extra=extra,
        shares=group_shares(bank, all_units, level),
    )
    assembled.areas["fatalities"] = fatalities.reindex(
        assembled.areas["unit_id"].astype(str)
    ).to_numpy()
    summary = assembled.summary
    summary["fatalities"] = float(fatalities.sum())
    summary["fatality_model"] = model
    summary["population_by_mmi"] = {
        int(v): float(by_level[v].sum()) for v in _MMI_LEVELS if by_level[v].any()
    }
    summary["population_total"] = float(population.sum())
    summary["population_method"] = f"population raster {exposure!r} per MMI level, exact coverage"
    record = AnalysisRecord(
        kind="earthquake_impact",
        question=question
        or f"Gempa {hazard!r}: korban jiwa dan penduduk terdampak per {level}? / "
        f"Earthquake {hazard!r}: fatalities and people affected per {level}?",
        inputs={
            "hazard": {"layer": hazard, "version": bank.layer(hazard).current_version},
            "exposure": {"layer": exposure, "version": bank.layer(exposure).current_version},
            "admin_units": {
                "layer": ADMIN_LAYER,
                "version": bank.layer(ADMIN_LAYER).current_version,
            },
        },
        parameters={
            "level": level,
            "model": model,
            "classification": cls.to_dict(),
            "needs": profile.to_dict(),
            "density": density,
            "density_unit_km2": density_unit_km2,
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
