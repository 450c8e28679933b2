"""Multi-hazard risk index per admin unit (issue 3 §5), saved as a map-ready layer.

Risk = hazard x exposure x vulnerability, in the spirit of INFORM, from what the bank
already holds: stored impact analyses (one per hazard), the admin units and the
Dukcapil age groups in the admin attribute long table.

Formula
-------
For each unit ``u`` at the chosen level (e.g. kelurahan):

- ``hazard_share(u)``: for each given analysis ``a`` (flood, earthquake …, all at the
  same level), ``s_a(u) = sum over classes of metric "affected" / metric "total"``
  (exposure ``population``), or ``"displaced" / "total"`` with
  ``hazard_measure="displaced"`` (weights each class by its displacement rate, i.e.
  by severity). Hazards are combined as the **mean** over analyses, so each hazard
  counts equally whatever its footprint.
- ``density(u)``: the analyses' population (metric ``"total"``) per km² of the unit
  polygon, area in WGS 84 / UTM 48S (EPSG:32748) as in the impact engine.
- ``vulnerable_share(u)``: ``(age_0_5 + age_6_15 + age_over_60) / (sum of all
  age_* groups)`` from the admin attributes (the unit's own, else its nearest
  ancestor's, as :func:`tangguh.risk.impact.group_shares`). Missing stays NaN.
- Each indicator is min-max normalised across the units that have it:
  ``X = (x - min) / (max - min)`` (0 when all units are equal), giving
  ``H``, ``E``, ``V`` in 0..1.
- ``index = (wh*H + we*E + wv*V) / (wh + we + wv)`` (weighted arithmetic mean; a
  geometric mean would zero the index of every unit at the minimum of any one
  indicator). Default weights ``wh = we = wv = 1`` (equal, as INFORM's components).
- A unit missing any indicator gets no index, rank or class and is listed in
  ``RiskIndex.missing``; it is never counted as 0. A component weighted 0 is left
  out (so a bank without age groups can rank on hazard and exposure alone); its
  column in the table stays as computed (NaN where missing).
- ``rank``: 1 = highest index (ties broken by unit_id). ``class``: equal-count
  (quantile) classes 1..N on the rank, N = highest risk.
- Sensitivity: ``draws`` weight vectors, each weight x uniform(1 - spread, 1 + spread)
  (fixed seed); per unit the min and max rank over the draws, and the Spearman
  correlation of each draw's ranking with the baseline (mean and min reported).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.bank import RESULT_COLUMNS, AnalysisRecord, Bank, LayerMeta, VersionInfo
from tangguh.errors import InputError
from tangguh.risk.impact import ImpactResult, group_shares, same_results, units_at

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "FORMULA",
    "RiskIndex",
    "class_labels",
    "normalise",
    "replay_risk_index",
    "risk_index",
    "validate_weights",
]

_METRIC_CRS = "EPSG:32748"  # WGS 84 / UTM 48S: metric areas over Jakarta
COMPONENTS = ("hazard", "exposure", "vulnerability")
DEFAULT_WEIGHTS: dict[str, float] = {"hazard": 1.0, "exposure": 1.0, "vulnerability": 1.0}
FORMULA = "index = (wh*H + we*E + wv*V) / (wh + we + wv); H, E, V min-max normalised to 0..1"
_VULNERABLE = ("age_0_5", "age_6_15", "age_over_60")

_LABELS: dict[int, list[tuple[str, str]]] = {
    3: [("rendah", "low"), ("sedang", "medium"), ("tinggi", "high")],
    5: [
        ("sangat rendah", "very low"),
        ("rendah", "low"),
        ("sedang", "medium"),
        ("tinggi", "high"),
        ("sangat tinggi", "very high"),
    ],
}


@dataclass
class RiskIndex:
    """Result of :func:`risk_index`.

    Attributes
    ----------
    table:
        One row per unit (EPSG:4326 polygons): raw indicators, normalised components,
        index, rank, class and labels, rank_min/rank_max from the sensitivity draws.
    weights:
        The weights used, normalised to sum to 1.
    sensitivity:
        ``draws``, ``spread``, ``seed``, ``spearman_mean``, ``spearman_min``.
    missing:
        Indicator -> unit_ids lacking it (those units have no index).
    """

    table: gpd.GeoDataFrame
    weights: dict[str, float]
    sensitivity: dict[str, Any]
    missing: dict[str, list[str]]
    analyses: list[str]
    level: str
    version: VersionInfo | None = None
    notes: list[str] = field(default_factory=list)
    record: AnalysisRecord | None = None
    results: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_json(self) -> dict[str, Any]:
        """Summary for reports and the CLI (no geometry)."""
        return {
            "level": self.level,
            "analyses": self.analyses,
            "formula": FORMULA,
            "weights": self.weights,
            "units": len(self.table),
            "ranked": int(self.table["rank"].notna().sum()),
            "missing": self.missing,
            "sensitivity": self.sensitivity,
            "notes": self.notes,
            "layer_version": self.version.version if self.version else None,
            "analysis_id": self.record.id if self.record else None,
        }


def validate_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults overridden by ``weights``, checked and normalised to sum to 1.

    Raises
    ------
    InputError
        Unknown component, a negative or non-finite weight, or all weights zero.
    """
    merged = dict(DEFAULT_WEIGHTS)
    for key, value in (weights or {}).items():
        if key not in COMPONENTS:
            raise InputError(
                f"unknown risk component {key!r}",
                message_id=f"komponen risiko {key!r} tidak dikenal",
                hint=f"weights are given for {list(COMPONENTS)}",
                hint_id=f"bobot diberikan untuk {list(COMPONENTS)}",
            )
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise InputError(
                f"weight of {key!r} must be a finite number >= 0, got {value!r}",
                message_id=f"bobot {key!r} harus bilangan terhingga >= 0, bukan {value!r}",
                hint="use non-negative weights, e.g. hazard=2 exposure=1 vulnerability=1",
                hint_id="gunakan bobot tidak negatif, mis. hazard=2 exposure=1 vulnerability=1",
            )
        merged[key] = number
    total = sum(merged.values())
    if total <= 0:
        raise InputError(
            "all risk weights are zero",
            message_id="semua bobot risiko bernilai nol",
            hint="give at least one component a positive weight",
            hint_id="berikan bobot positif pada sedikitnya satu komponen",
        )
    return {key: merged[key] / total for key in COMPONENTS}


def normalise(values: pd.Series) -> pd.Series:
    """Min-max normalisation to 0..1 over the non-missing values (0 if all equal)."""
    lo, hi = values.min(), values.max()
    if not np.isfinite(hi - lo) or hi == lo:
        return values.where(values.isna(), 0.0)
    return (values - lo) / (hi - lo)


def class_labels(classes: int) -> list[tuple[str, str]]:
    """(Bahasa Indonesia, English) label of each class 1..N, lowest risk first."""
    if classes in _LABELS:
        return _LABELS[classes]
    return [(f"kelas {k}", f"class {k}") for k in range(1, classes + 1)]


def _ranks(index: np.ndarray) -> np.ndarray:
    """Ordinal ranks (1 = highest) of each row, per column of a 2-D array."""
    order = np.argsort(-index, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, index.shape[0] + 1)[:, None], axis=0)
    return ranks


def _hazard_shares(
    bank: Bank, analyses: Sequence[str], level: str, measure: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Per-analysis hazard share per unit (columns = analysis ids) and the population."""
    shares: dict[str, pd.Series] = {}
    population: pd.Series | None = None
    for analysis_id in analyses:
        record, results = bank.analysis(analysis_id)
        if record.level != level:
            raise InputError(
                f"analysis {analysis_id!r} is at level {record.level!r}, not {level!r}",
                message_id=f"analisis {analysis_id!r} pada tingkat {record.level!r}, "
                f"bukan {level!r}",
                where=f"analysis {analysis_id}",
                hint=f"run every hazard's impact analysis at level {level!r}",
                hint_id=f"jalankan analisis dampak tiap bahaya pada tingkat {level!r}",
            )
        pop = results[results["exposure"] == "population"]
        total = pop[pop["metric"] == "total"].groupby("unit_id")["value"].sum()
        if total.empty:
            raise InputError(
                f"analysis {analysis_id!r} has no population results",
                message_id=f"analisis {analysis_id!r} tidak memiliki hasil penduduk",
                where=f"analysis {analysis_id}",
                hint="use a population impact analysis (flood_impact, earthquake impact)",
                hint_id="gunakan analisis dampak penduduk (flood_impact, dampak gempa)",
            )
        # Zero values are not stored, so a unit with a total but no rows has 0.
        hit = pop[pop["metric"] == measure].groupby("unit_id")["value"].sum()
        hit = hit.reindex(total.index, fill_value=0.0)
        shares[analysis_id] = (hit / total.replace(0, np.nan)).clip(upper=1.0)
        population = total if population is None else population.combine_first(total)
    assert population is not None
    return pd.DataFrame(shares), population


def risk_index(
    bank: Bank,
    *,
    analyses: Sequence[str],
    level: str = "kelurahan",
    weights: Mapping[str, float] | None = None,
    classes: int = 5,
    hazard_measure: Literal["affected", "displaced"] = "affected",
    draws: int = 200,
    spread: float = 0.5,
    seed: int = 0,
    layer_id: str = "risk_index",
    question: str | None = None,
    save: bool = True,
) -> RiskIndex:
    """Rank the units of ``level`` by multi-hazard risk (formula in the module docstring).

    Parameters
    ----------
    analyses:
        Ids of stored impact analyses, one per hazard, all at ``level``.
    weights:
        ``{"hazard", "exposure", "vulnerability"} -> weight >= 0``; missing keys keep
        the default 1. Normalised to sum to 1.
    classes:
        Number of equal-count classes (5: sangat rendah/very low … sangat
        tinggi/very high).
    hazard_measure:
        ``"affected"`` (share of population in any hazard class) or ``"displaced"``
        (share displaced: classes weighted by their displacement rate).
    draws, spread, seed:
        Sensitivity analysis: each weight x uniform(1 - spread, 1 + spread).
    save:
        Write the table as polygon layer ``layer_id`` (theme hazard, keyed by unit_id)
        and store the run as an analysis record (kind ``risk_index``, results per
        unit), in one transaction; ``tangguh impact replay ID`` recomputes it.
    """
    started = time.perf_counter()
    w = validate_weights(weights)
    if not analyses:
        raise InputError(
            "no analysis given",
            message_id="tidak ada analisis yang diberikan",
            hint="pass the ids of stored impact analyses (flood or earthquake impact runs)",
            hint_id="berikan id analisis dampak yang tersimpan (hasil dampak banjir atau gempa)",
        )
    if hazard_measure not in ("affected", "displaced"):
        raise InputError(
            f"unknown hazard measure {hazard_measure!r}",
            message_id=f"ukuran bahaya {hazard_measure!r} tidak dikenal",
            hint="use 'affected' or 'displaced'",
            hint_id="gunakan 'affected' atau 'displaced'",
        )
    if draws < 1 or not 0 <= spread < 1:
        raise InputError(
            f"draws must be >= 1 and 0 <= spread < 1 (got {draws}, {spread})",
            message_id=f"draws harus >= 1 dan 0 <= spread < 1 (diberikan {draws}, {spread})",
            hint="e.g. draws=200 spread=0.5",
            hint_id="mis. draws=200 spread=0.5",
        )
    all_units = load_units(bank)
    units = units_at(all_units, level).sort_values("unit_id").reset_index(drop=True)
    ids = units["unit_id"].astype(str).to_numpy()

    per_hazard, population = _hazard_shares(bank, analyses, level, hazard_measure)
    hazard_share = per_hazard.reindex(ids).mean(axis=1, skipna=False)
    area_km2 = pd.Series(units.to_crs(_METRIC_CRS).area.to_numpy() / 1e6, index=ids)
    density = population.reindex(ids) / area_km2.replace(0, np.nan)
    shares = group_shares(bank, all_units, level)
    if shares is not None and all(g in shares.columns for g in _VULNERABLE):
        vulnerable = shares.reindex(ids)[list(_VULNERABLE)].sum(axis=1, min_count=3)
    else:
        vulnerable = pd.Series(np.nan, index=ids)

    raw = {"hazard": hazard_share, "exposure": density, "vulnerability": vulnerable}
    # A component weighted 0 does not enter the index, so its gaps do not matter.
    used = [k for k in COMPONENTS if w[k] > 0]
    missing = {k: sorted(raw[k].index[raw[k].isna()].astype(str)) for k in used}
    missing = {k: v for k, v in missing.items() if v}
    for k, gaps in missing.items():
        if len(gaps) == len(ids):
            raise InputError(
                f"no unit at level {level!r} has a {k} indicator",
                message_id=f"tidak ada unit pada tingkat {level!r} yang memiliki indikator {k}",
                where=f"level {level}",
                hint="for vulnerability import the Dukcapil age groups "
                f"(`tangguh admin import-jakarta`), or set the {k} weight to 0",
                hint_id="untuk kerentanan impor kelompok umur Dukcapil "
                f"(`tangguh admin import-jakarta`), atau beri bobot {k} = 0",
            )
    comps = pd.DataFrame({k: normalise(v.astype(float)) for k, v in raw.items()})
    weight_vec = np.array([w[k] for k in used])
    index = pd.Series(comps[used].to_numpy() @ weight_vec, index=ids)
    ok = index.notna().to_numpy()
    n_ok = int(ok.sum())
    if n_ok < classes or classes < 2:
        raise InputError(
            f"{n_ok} unit(s) have every indicator; cannot make {classes} classes",
            message_id=f"{n_ok} unit memiliki semua indikator; tidak dapat membuat {classes} kelas",
            where=f"level {level}",
            hint=f"use 2..{max(n_ok, 2)} classes, or fill the missing indicators "
            f"({ {k: len(v) for k, v in missing.items()} } units lack them)",
            hint_id=f"gunakan 2..{max(n_ok, 2)} kelas, atau lengkapi indikator yang hilang "
            f"({ {k: len(v) for k, v in missing.items()} } unit tanpa indikator)",
        )

    comp_ok = comps[used].to_numpy()[ok]
    base_rank = _ranks(index.to_numpy()[ok][:, None])[:, 0]
    rng = np.random.default_rng(seed)
    factors = rng.uniform(1 - spread, 1 + spread, size=(draws, len(used)))
    drawn = weight_vec[None, :] * factors
    drawn /= drawn.sum(axis=1, keepdims=True)
    draw_ranks = _ranks(comp_ok @ drawn.T)
    if n_ok > 1:
        d2 = ((draw_ranks - base_rank[:, None]) ** 2).sum(axis=0)
        rho = 1 - 6 * d2 / (n_ok * (n_ok**2 - 1))
        spearman_mean, spearman_min = float(rho.mean()), float(rho.min())
    else:
        spearman_mean = spearman_min = 1.0

    labels = class_labels(classes)
    klass = 1 + ((n_ok - base_rank) * classes) // n_ok
    table = gpd.GeoDataFrame(
        {
            "unit_id": ids,
            "name": units["name"].to_numpy(),
            "hazard_share": hazard_share.to_numpy(),
            "density_km2": density.to_numpy(),
            "vulnerable_share": vulnerable.to_numpy(),
            "hazard": comps["hazard"].to_numpy(),
            "exposure": comps["exposure"].to_numpy(),
            "vulnerability": comps["vulnerability"].to_numpy(),
            "index": index.to_numpy(),
        },
        geometry=units.geometry.to_numpy(),
        crs=units.crs,
    )

    def put(values: np.ndarray, dtype: str) -> pd.Series:
        column = pd.Series(pd.NA, index=table.index, dtype=dtype)
        column[ok] = values
        return column

    table["rank"] = put(base_rank, "Int64")
    table["class"] = put(klass, "Int64")
    table["class_label_id"] = put(np.array([labels[k - 1][0] for k in klass]), "string")
    table["class_label_en"] = put(np.array([labels[k - 1][1] for k in klass]), "string")
    table["rank_min"] = put(draw_ranks.min(axis=1), "Int64")
    table["rank_max"] = put(draw_ranks.max(axis=1), "Int64")

    sensitivity = {
        "draws": draws,
        "spread": spread,
        "seed": seed,
        "spearman_mean": spearman_mean,
        "spearman_min": spearman_min,
    }
    notes = [f"{k}: all units equal, normalised to 0" for k, v in raw.items() if v.nunique() == 1]
    if missing:
        notes.append(f"units without an index (missing indicators): {missing}")
    result = RiskIndex(
        table=table,
        weights=w,
        sensitivity=sensitivity,
        missing=missing,
        analyses=list(analyses),
        level=level,
        notes=notes,
    )
    metrics = (
        "index", "rank", "class", "hazard", "exposure", "vulnerability", "hazard_share",
        "density_km2", "vulnerable_share", "rank_min", "rank_max",
    )  # fmt: skip
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "unit_id": ids,
                    "hazard_class": "",
                    "exposure": "risk",
                    "metric": metric,
                    "value": pd.to_numeric(table[metric], errors="coerce").astype(float).to_numpy(),
                }
            )
            for metric in metrics
        ],
        ignore_index=True,
    )[list(RESULT_COLUMNS)]
    result.results = long.dropna(subset=["value"]).reset_index(drop=True)
    kinds = {a: bank.analysis(a)[0].kind for a in analyses}
    result.record = AnalysisRecord(
        kind="risk_index",
        question=question
        or f"Wilayah {level} mana yang paling berisiko (multi-bahaya)? / "
        f"Which {level} are most at risk (multi-hazard)?",
        inputs={
            "admin_units": {
                "layer": ADMIN_LAYER,
                "version": bank.layer(ADMIN_LAYER).current_version,
            },
            **{f"analysis:{a}": {"analysis": a, "kind": kinds[a]} for a in analyses},
        },
        parameters={
            "analyses": list(analyses),
            "level": level,
            "weights": w,
            "classes": classes,
            "hazard_measure": hazard_measure,
            "draws": draws,
            "spread": spread,
            "seed": seed,
            "layer_id": layer_id,
            "formula": FORMULA,
            "method": (__doc__ or "").strip(),
        },
        level=level,
        timings={"total": round(time.perf_counter() - started, 4)},
        summary={
            "units": len(table),
            "ranked": n_ok,
            "weights": w,
            "sensitivity": sensitivity,
            "missing": {k: len(v) for k, v in missing.items()},
            "notes": notes,
            "top": table.dropna(subset=["rank"])
            .sort_values("rank")
            .head(10)[["unit_id", "name", "index"]]
            .assign(index=lambda f: f["index"].astype(float))
            .to_dict("records"),
        },
    )
    if save:
        meta = LayerMeta(
            title_id=f"Indeks risiko multi-bahaya per {level}",
            title_en=f"Multi-hazard risk index per {level}",
            description_id=f"Bahaya (H) x keterpaparan (E, kepadatan penduduk) x kerentanan "
            f"(V, balita, anak dan lansia). {FORMULA}. Bobot: {w}. Analisis: {list(analyses)}.",
            description_en=f"Hazard (H) x exposure (E, population density) x vulnerability "
            f"(V, children and elderly share). {FORMULA}. Weights: {w}. "
            f"Analyses: {list(analyses)}.",
            theme="hazard",
            keywords=["risk", "risiko", "multi-hazard", level],
            extra={
                "formula": FORMULA,
                "weights": w,
                "analyses": list(analyses),
                "hazard_measure": hazard_measure,
                "sensitivity": sensitivity,
                "missing": missing,
            },
        )
        # Layer and analysis record together, or neither.
        with bank.transaction():
            result.version = bank.write_layer(
                layer_id,
                table,
                meta,
                key="unit_id",
                message=f"risk index from {list(analyses)}",
            )
            result.record.summary["layer_version"] = result.version.version
            bank.save_analysis(result.record, result.results)
    return result


def replay_risk_index(
    bank: Bank, record: AnalysisRecord, stored: pd.DataFrame
) -> tuple[ImpactResult, bool]:
    """Compute a stored ``risk_index`` record again (layer not rewritten) and compare."""
    p = record.parameters
    again = risk_index(
        bank,
        analyses=p["analyses"],
        level=p["level"],
        weights=p["weights"],
        classes=int(p["classes"]),
        hazard_measure=p["hazard_measure"],
        draws=int(p["draws"]),
        spread=float(p["spread"]),
        seed=int(p["seed"]),
        layer_id=p["layer_id"],
        question=record.question,
        save=False,
    )
    assert again.record is not None
    wide = pd.DataFrame(again.table.drop(columns="geometry"))
    result = ImpactResult(record=again.record, results=again.results, areas=wide)
    return result, same_results(stored, again.results)
