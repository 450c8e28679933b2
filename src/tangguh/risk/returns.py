"""Empirical return periods from the loss database (issue 3 §6, "where history allows").

Method (written into each record's ``parameters["method"]``):

- Observation years: the distinct years (WIB) in which the loss database holds any
  event, or the years the user declares complete (``years=``). A unit with no event
  in an observation year counts as *not flooded* that year. n = number of years.
- Events are rolled up to the level asked (RW events to their kelurahan); events
  recorded above that level are left out and counted. Event counts: a BPBD monthly
  row counts its ``occurrences`` (events that month), any other row 1.
- Severity of an event = maximum water height in cm: BPBD ``water_height_max_cm``;
  PetaBencana episodes map their ``max_state`` to the lower bound of its depth range
  (2 -> 10 cm, 3 -> 71 cm, 4 -> 151 cm; state 1 "unknown" -> no severity).
- Annual maxima series per unit: for each observation year the largest severity
  (0 when the unit was not flooded; unknown when flooded with no severity recorded).
- Weibull plotting positions: the annual maxima are ranked in descending order and
  the value x gets the return period ``T(x) = (n + 1) / m(x)``, with ``m(x)`` the
  number of years whose maximum is >= x (ties share that rank). For the event
  "flooded in a year", m = k, the years with any flood: ``T = (n + 1) / k`` and the
  annual probability ``p = k / (n + 1)``. Units never flooded get no T (it is longer
  than n + 1 years, which the record cannot resolve). Severity return periods use the
  years with a known maximum only (n_known in place of n).
- The same for the whole city: a year is flooded when any unit was.
- With one or two years of history (Jakarta: 2017 and 2024 in the shared records),
  every T lies between 1 and n + 1 = 3 years: the numbers are crude, and a short
  record biases them down for rare severe floods. The record states n and the years.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tangguh.admin.store import load_units
from tangguh.bank import RESULT_COLUMNS, AnalysisRecord, Bank
from tangguh.errors import InputError
from tangguh.risk.impact import ImpactResult, same_results
from tangguh.risk.losses import LOSS_LAYER, _kelurahan_of, load_events

__all__ = ["STATE_DEPTH_CM", "ReturnPeriods", "return_periods", "weibull_return_periods"]

#: PetaBencana state -> lower bound of its depth range in cm (state 1 = unknown).
STATE_DEPTH_CM: dict[int, float] = {2: 10.0, 3: 71.0, 4: 151.0}
_CITY = "(city)"


@dataclass
class ReturnPeriods:
    """Result of :func:`return_periods`.

    Attributes
    ----------
    units:
        One row per unit: ``unit_id``, ``name``, ``years_flooded`` (k), ``events``,
        ``events_per_year``, ``p_flooded`` (k / (n + 1)), ``rp_flooded_years``
        ((n + 1) / k, NaN when k = 0), ``max_severity_cm``, ``rp_max_severity_years``.
    annual:
        One row per unit and observation year: ``events``, ``flooded``,
        ``max_severity_cm`` (0 when dry, NaN when unknown), ``rank``, ``rp_years``.
    city:
        One row per observation year for the whole city: ``units_flooded``,
        ``events``, ``max_severity_cm``, ``rank``, ``rp_years`` (of the number of
        units flooded).
    """

    record: AnalysisRecord
    results: pd.DataFrame
    units: pd.DataFrame
    annual: pd.DataFrame
    city: pd.DataFrame
    years: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return dict(self.record.summary)


def weibull_return_periods(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Rank (``m`` = years with a value >= this one) and T = (n + 1) / m of each value.

    NaN values are left out (n = the number of known values); values <= 0 (dry years)
    get no return period.
    """
    known = values.dropna()
    n = len(known)
    rank = known.rank(ascending=False, method="max")
    period = (n + 1) / rank
    period[known <= 0] = np.nan
    return rank.reindex(values.index), period.reindex(values.index)


def _severity(events: pd.DataFrame) -> pd.Series:
    out = pd.Series(np.nan, index=events.index, dtype=float)
    if "water_height_max_cm" in events.columns:
        out = pd.to_numeric(events["water_height_max_cm"], errors="coerce").astype(float)
    if "max_state" in events.columns:
        state = pd.to_numeric(events["max_state"], errors="coerce").map(STATE_DEPTH_CM)
        out = out.fillna(state.astype(float))
    return out


def _counts(events: pd.DataFrame) -> pd.Series:
    if "occurrences" not in events.columns:
        return pd.Series(1.0, index=events.index)
    occ = pd.to_numeric(events["occurrences"], errors="coerce").astype(float)
    return occ.where(occ > 0, 1.0)


def _rows(units: pd.Index, hazard_class: str, metric: str, values: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": np.asarray(units, dtype=object).astype(str),
            "hazard_class": hazard_class,
            "exposure": "flood_history",
            "metric": metric,
            "value": np.asarray(values, dtype=float),
        }
    )


def return_periods(
    bank: Bank,
    *,
    level: str = "kelurahan",
    years: Sequence[int] | None = None,
    hazard_type: str = "flood",
    version: int | None = None,
    question: str | None = None,
    save: bool = True,
) -> ReturnPeriods:
    """Empirical return periods of "flooded in a year" and of severity, per unit and city.

    Parameters
    ----------
    level:
        ``kelurahan`` (default), ``kecamatan`` or ``kota``.
    years:
        Observation years declared complete (default: the years with any event).
    hazard_type:
        Events of this type only (default ``flood``).
    version:
        Version of ``loss_events`` to read (default: current; used by replay).
    save:
        Store the run as an analysis record (kind ``loss_return_periods``).
    """
    started = time.perf_counter()
    if level not in ("kelurahan", "kecamatan", "kota"):
        raise InputError(
            f"return periods need level kelurahan, kecamatan or kota, not {level!r}",
            message_id=f"periode ulang memerlukan tingkat kelurahan, kecamatan atau kota, "
            f"bukan {level!r}",
            where="level",
            hint="BPBD records are per kelurahan: RW cannot be resolved",
            hint_id="catatan BPBD per kelurahan: RW tidak dapat diuraikan",
        )
    events = load_events(bank, version=version)
    used_version = version if version is not None else bank.layer(LOSS_LAYER).current_version
    events = events[events["hazard_type"].astype(str) == hazard_type].copy()
    if events.empty:
        raise InputError(
            f"the loss database has no {hazard_type!r} events",
            message_id=f"basis data kerugian tidak memiliki kejadian {hazard_type!r}",
            where=LOSS_LAYER,
            hint="import records first (tangguh losses import-bpbd / import-petabencana)",
            hint_id="impor catatan dulu (tangguh losses import-bpbd / import-petabencana)",
        )
    events["area"] = _kelurahan_of(bank, events["unit_id"], level).to_numpy()
    events["year"] = events["start"].dt.year.astype(int)
    above = int(events["area"].isna().sum())
    events = events.dropna(subset=["area"])
    observed = sorted({int(y) for y in events["year"]})
    if years is not None:
        chosen = sorted({int(y) for y in years})
        if not chosen:
            raise InputError(
                "no observation year given",
                message_id="tidak ada tahun pengamatan yang diberikan",
                where="years",
                hint="e.g. --years 2017,2024",
                hint_id="mis. --years 2017,2024",
            )
    else:
        chosen = observed
    outside = int((~events["year"].isin(chosen)).sum())
    events = events[events["year"].isin(chosen)]
    n = len(chosen)
    events["count"] = _counts(events)
    events["severity"] = _severity(events)

    all_units = load_units(bank)
    at = all_units[all_units["level"] == level].sort_values("unit_id")
    ids = pd.Index(at["unit_id"].astype(str), name="unit_id")
    names = at.set_index("unit_id")["name"]

    grid = pd.MultiIndex.from_product([ids, chosen], names=["unit_id", "year"])
    grouped = events.groupby(["area", "year"])
    annual = pd.DataFrame(index=grid)
    annual["events"] = grouped["count"].sum().reindex(grid).fillna(0.0).to_numpy()
    annual["flooded"] = annual["events"] > 0
    known = grouped["severity"].max().reindex(grid)
    annual["max_severity_cm"] = np.where(annual["flooded"], known.to_numpy(), 0.0)
    ranks, periods = [], []
    for _, part in annual.groupby(level="unit_id", sort=False):
        r, t = weibull_return_periods(part["max_severity_cm"])
        ranks.append(r)
        periods.append(t)
    annual["rank"] = pd.concat(ranks).reindex(grid)
    annual["rp_years"] = pd.concat(periods).reindex(grid)
    annual = annual.reset_index()

    per_unit = annual.groupby("unit_id", sort=True)
    k = per_unit["flooded"].sum().reindex(ids).astype(int)
    units = pd.DataFrame(index=ids)
    units["name"] = names.reindex(ids).to_numpy()
    units["years_flooded"] = k
    units["events"] = per_unit["events"].sum().reindex(ids)
    units["events_per_year"] = units["events"] / n
    units["p_flooded"] = k / (n + 1)
    units["rp_flooded_years"] = ((n + 1) / k.astype(float).where(k > 0)).astype(float)
    units["max_severity_cm"] = per_unit["max_severity_cm"].max().reindex(ids)
    top = annual.sort_values(["unit_id", "max_severity_cm"], ascending=[True, False])
    units["rp_max_severity_years"] = top.groupby("unit_id")["rp_years"].first().reindex(ids)
    units = units.reset_index()

    city = annual.groupby("year").agg(units_flooded=("flooded", "sum"), events=("events", "sum"))
    city["max_severity_cm"] = annual.groupby("year")["max_severity_cm"].max()
    city_rank, city_rp = weibull_return_periods(city["units_flooded"].astype(float))
    city["rank"], city["rp_years"] = city_rank, city_rp
    city = city.reset_index()
    k_city = int((city["units_flooded"] > 0).sum())

    long = [
        _rows(ids, "", metric, units[metric])
        for metric in (
            "years_flooded",
            "events",
            "events_per_year",
            "rp_flooded_years",
            "max_severity_cm",
            "rp_max_severity_years",
        )
    ]
    for year, part in annual.groupby("year"):
        for metric in ("events", "max_severity_cm", "rp_years"):
            long.append(_rows(pd.Index(part["unit_id"]), str(year), metric, part[metric]))
    for metric in ("units_flooded", "events", "max_severity_cm", "rp_years"):
        long.append(_rows(pd.Index([_CITY] * len(city)), "", metric, city[metric]))
        long[-1]["hazard_class"] = city["year"].astype(str).to_numpy()
    results = pd.concat(long, ignore_index=True)[list(RESULT_COLUMNS)]
    results = results.dropna(subset=["value"]).reset_index(drop=True)

    ever = units[units["years_flooded"] > 0]
    summary: dict[str, Any] = {
        "years": chosen,
        "n_years": n,
        "max_return_period_years": n + 1,
        "events_used": len(events),
        "events_above_level": above,
        "events_outside_years": outside,
        "units": len(units),
        "units_ever_flooded": len(ever),
        "units_flooded_every_year": int((units["years_flooded"] == n).sum()),
        "city_years_flooded": k_city,
        "city_rp_flooded_years": (n + 1) / k_city if k_city else None,
        "city_by_year": {
            str(int(r["year"])): {
                "units_flooded": int(r["units_flooded"]),
                "events": float(r["events"]),
                "max_severity_cm": None
                if pd.isna(r["max_severity_cm"])
                else float(r["max_severity_cm"]),
            }
            for r in city.to_dict("records")
        },
        "caution": f"{n} year(s) of history ({', '.join(map(str, chosen))}): return periods "
        f"can only range from 1 to {n + 1} years and are crude / {n} tahun data: periode "
        f"ulang hanya 1 sampai {n + 1} tahun dan bersifat kasar",
    }
    if observed != chosen:
        summary["years_with_events"] = observed
    record = AnalysisRecord(
        kind="loss_return_periods",
        question=question
        or f"Seberapa sering {level} kebanjiran? / How often is each {level} flooded?",
        inputs={"events": {"layer": LOSS_LAYER, "version": int(used_version)}},
        parameters={
            "level": level,
            "years": chosen if years is not None else None,
            "hazard_type": hazard_type,
            "state_depth_cm": {str(s): v for s, v in STATE_DEPTH_CM.items()},
            "method": __doc__.split("Method", 1)[1].strip() if __doc__ else "",
        },
        level=level,
        timings={"total": round(time.perf_counter() - started, 4)},
        summary=summary,
    )
    if save:
        bank.save_analysis(record, results)
    return ReturnPeriods(
        record=record, results=results, units=units, annual=annual, city=city, years=chosen
    )


def replay_return_periods(
    bank: Bank, record: AnalysisRecord, stored: pd.DataFrame
) -> tuple[ImpactResult, bool]:
    """Run a stored ``loss_return_periods`` record again on its loss_events version."""
    p = record.parameters
    again = return_periods(
        bank,
        level=p["level"],
        years=p.get("years"),
        hazard_type=p.get("hazard_type", "flood"),
        version=int(record.inputs["events"]["version"]),
        question=record.question,
        save=False,
    )
    result = ImpactResult(record=again.record, results=again.results, areas=again.units)
    return result, same_results(stored, again.results)
