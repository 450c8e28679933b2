"""Empirical return periods from the real BPBD 2024 and PetaBencana 2017 records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tangguh.admin.store import import_jakarta
from tangguh.bank import Bank, open_bank
from tangguh.errors import InputError
from tangguh.risk.impact import replay
from tangguh.risk.losses import _kelurahan_of, import_bpbd, import_petabencana, load_events
from tangguh.risk.returns import return_periods, weibull_return_periods

BPBD = "jakarta/flood-events-2024-bpbd/banjir_kelurahan_2024.csv"
PETABENCANA = "jakarta/flood-petabencana-2017/floods"


def _load(bank: Bank, shared: Path) -> None:
    import_jakarta(bank, shared / "jakarta")
    import_bpbd(bank, shared / BPBD)
    import_petabencana(bank, shared / PETABENCANA)


def test_weibull_plotting_positions() -> None:
    values = pd.Series([120.0, 0.0, 120.0, 40.0, np.nan])
    rank, period = weibull_return_periods(values)
    # 4 known years: 120 is reached or passed in 2 of them -> T = 5 / 2.
    assert rank.tolist()[:4] == [2.0, 4.0, 2.0, 3.0]
    assert period.tolist()[0] == pytest.approx(2.5) and period.tolist()[3] == pytest.approx(5 / 3)
    assert np.isnan(period.iloc[1]) and np.isnan(period.iloc[4])  # dry year, unknown year


def test_return_periods_from_real_records(bank: Bank, shared: Path) -> None:
    _load(bank, shared)
    result = return_periods(bank)
    s = result.record.summary
    assert s["years"] == [2017, 2024] and s["n_years"] == 2
    assert s["max_return_period_years"] == 3 and "crude" in s["caution"]
    assert s["city_years_flooded"] == 2 and s["city_rp_flooded_years"] == pytest.approx(1.5)

    # Independent: flooded years per kelurahan straight from the stored events.
    events = load_events(bank)
    events["kel"] = _kelurahan_of(bank, events["unit_id"]).to_numpy()
    years = events.groupby("kel")["start"].agg(lambda t: t.dt.year.nunique())
    units = result.units.set_index("unit_id")
    pd.testing.assert_series_equal(
        units.loc[years.index, "years_flooded"].astype(int).sort_index(),
        years.astype(int).sort_index(),
        check_names=False,
    )
    flooded = units[units["years_flooded"] > 0]
    assert np.allclose(flooded["rp_flooded_years"], 3 / flooded["years_flooded"])
    assert units.loc[units["years_flooded"] == 0, "rp_flooded_years"].isna().all()
    assert s["units_ever_flooded"] == len(years) > 100
    assert s["units_flooded_every_year"] == int((years == 2).sum())

    # Severity: a kelurahan flooded both years, deeper in 2024 (BPBD) than in 2017.
    annual = result.annual.set_index(["unit_id", "year"])
    both = annual.reset_index().pivot(index="unit_id", columns="year", values="max_severity_cm")
    deeper = both[(both[2024] > both[2017]) & (both[2017] > 0)].index[0]
    assert annual.loc[(deeper, 2024), "rp_years"] == pytest.approx(3.0)
    assert annual.loc[(deeper, 2017), "rp_years"] == pytest.approx(1.5)
    bpbd = events[(events["kel"] == deeper) & (events["start"].dt.year == 2024)]
    assert annual.loc[(deeper, 2024), "max_severity_cm"] == bpbd["water_height_max_cm"].max()
    # PetaBencana states map to the lower bound of their depth range.
    pb = events[(events["kel"] == deeper) & (events["start"].dt.year == 2017)]
    depth = {2: 10.0, 3: 71.0, 4: 151.0}
    assert annual.loc[(deeper, 2017), "max_severity_cm"] == max(
        depth.get(int(x), np.nan) for x in pb["max_state"]
    )

    stored = bank.analyses(kind="loss_return_periods")
    assert [r.id for r in stored] == [result.record.id]
    assert stored[0].inputs["events"]["layer"] == "loss_events"
    _, same = replay(bank, result.record.id)
    assert same

    # Declaring a longer complete record: 2017-2024 (8 years, 6 of them without events).
    longer = return_periods(bank, years=range(2017, 2025), save=False)
    assert longer.record.summary["n_years"] == 8
    lu = longer.units.set_index("unit_id")
    assert np.allclose(lu.loc[flooded.index, "rp_flooded_years"], 9 / flooded["years_flooded"])

    with pytest.raises(InputError, match="level") as err:
        return_periods(bank, level="rw")
    assert err.value.message_id and err.value.hint_id
    assert len(bank.analyses(kind="loss_return_periods")) == 1


def test_return_periods_cli_and_empty_bank(tmp_path: Path, shared: Path) -> None:
    from tangguh.cli.main import app

    path = tmp_path / "bank.gpkg"
    with open_bank(path) as bank:
        import_jakarta(bank, shared / "jakarta")
    runner = CliRunner()
    empty = runner.invoke(app, ["losses", "return-periods", "--bank", str(path)])
    assert empty.exit_code != 0 and "loss events" in empty.output
    with open_bank(path) as bank:
        import_bpbd(bank, shared / BPBD)
    out = runner.invoke(
        app,
        ["losses", "return-periods", "--bank", str(path), "--csv", str(tmp_path / "rp.csv"),
         "--json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["record"]["summary"]["years"] == [2024]
    assert data["record"]["summary"]["max_return_period_years"] == 2
    table = pd.read_csv(tmp_path / "rp.csv")
    assert set(table.loc[table["years_flooded"] > 0, "rp_flooded_years"]) == {2.0}
    text = runner.invoke(
        app, ["losses", "return-periods", "--years", "2020,2024", "--no-save", "--bank", str(path)]
    )
    assert text.exit_code == 0 and "Periode ulang" in text.output and "3 years" in text.output
    bad = runner.invoke(app, ["losses", "return-periods", "--years", "x", "--bank", str(path)])
    assert bad.exit_code != 0 and "--years" in bad.output
    again = runner.invoke(
        app, ["impact", "replay", data["record"]["id"], "--bank", str(path), "--json"]
    )
    assert json.loads(again.stdout)["identical"] is True
