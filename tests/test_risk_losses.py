"""Shock and loss database: real BPBD 2024 and PetaBencana 2017 imports, replay, summaries."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from tangguh.admin.store import import_jakarta
from tangguh.bank import Bank, open_bank
from tangguh.cli._losses import register
from tangguh.errors import InputError
from tangguh.risk.losses import (
    EVENT_COLUMNS,
    LOSS_LAYER,
    STATES_LAYER,
    events_summary,
    import_bpbd,
    import_petabencana,
    load_events,
    replay_states,
    save_events,
    sendai_indicators,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
JAKARTA = SHARED / "jakarta"
BPBD_CSV = JAKARTA / "flood-events-2024-bpbd" / "banjir_kelurahan_2024.csv"
PETABENCANA = JAKARTA / "flood-petabencana-2017"


@pytest.fixture(scope="module")
def admin_bank_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GeoPackage bank holding the real Jakarta admin units (built once per module)."""
    if not JAKARTA.exists():
        pytest.skip(f"shared Jakarta data not found at {JAKARTA}")
    path = tmp_path_factory.mktemp("losses") / "admin.gpkg"
    bank = open_bank(str(path))
    try:
        import_jakarta(bank, JAKARTA)
    finally:
        bank.close()
    return path


@pytest.fixture
def bank_path(admin_bank_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "bank.gpkg"
    shutil.copy(admin_bank_file, path)
    return path


@pytest.fixture
def bank(bank_path: Path) -> Iterator[Bank]:
    b = open_bank(str(bank_path))
    try:
        yield b
    finally:
        b.close()


def test_bpbd_import_counts_and_unmatched_report(bank: Bank) -> None:
    result = import_bpbd(bank, BPBD_CSV)
    assert result.rows == 260
    assert result.skipped == 0
    # Kepulauan Seribu is not in the 2012 boundaries: its 5 rows are reported, not written.
    assert result.events == 255
    assert len(result.unmatched) == 5
    assert set(result.unmatched["kecamatan"].str[:11]) == {"Kep. Seribu"}
    assert all(result.unmatched["reason"].str.contains("no kelurahan named"))
    events = load_events(bank)
    assert len(events) == 255
    assert list(events.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert events["unit_id"].str.startswith("kelurahan:").all()
    assert events["unit_id"].nunique() == result.counts["kelurahan"] == 87
    # Totals of the source (13,035 affected, 1,545 displaced) survive the import.
    assert events["affected"].sum() == 13035
    assert events["evacuated"].sum() == 1545
    assert events["occurrences"].sum() == 500 - result.unmatched["jumlah_kejadian"].sum()
    assert events["deaths"].isna().all()  # not recorded, not 0
    assert str(events["start"].dt.tz) == "Asia/Jakarta"
    jan = events[events["event_id"].str.startswith("bpbd-2024-01:")]
    assert (jan["start"] == pd.Timestamp("2024-01-01", tz="Asia/Jakarta")).all()
    assert (jan["end"] == pd.Timestamp("2024-02-01", tz="Asia/Jakarta")).all()
    # Re-import: same event ids, the layer does not grow.
    import_bpbd(bank, BPBD_CSV)
    assert bank.layer(LOSS_LAYER).feature_count == 255
    by_month = events_summary(bank, by="month").set_index("month")
    assert by_month["events"].sum() == 255
    assert by_month.loc["2024-01", "events"] == 54


def test_petabencana_import_replay_and_summaries(bank: Bank) -> None:
    result = import_petabencana(bank, PETABENCANA)
    assert result.counts["snapshots"] == 73
    assert result.counts["source_rw"] == 302
    assert result.counts["matched_rw"] == 297
    assert len(result.unmatched) == 302 - 297
    assert (result.unmatched["share"] < 0.5).all()
    assert result.counts["bank_rw"] == 290
    states = bank.read_layer(STATES_LAYER)
    assert len(states) == result.counts["state_rows"] == 3414
    assert set(states["state"]) <= {1, 2, 3, 4}
    assert states["unit_id"].str.startswith("rw:").all()

    hours = replay_states(bank)
    assert len(hours) == 73
    peak = hours.loc[hours["rw_flooded"].idxmax()]
    assert peak["t"] == pd.Timestamp("2017-02-21 13:00", tz="Asia/Jakarta")
    assert peak["rw_flooded"] == 161
    assert (peak["state_1"], peak["state_2"], peak["state_3"], peak["state_4"]) == (2, 150, 9, 0)
    assert peak["kelurahan_flooded"] == 96
    assert (
        hours["rw_flooded"] == hours[["state_1", "state_2", "state_3", "state_4"]].sum(axis=1)
    ).all()
    first = hours.iloc[0]
    assert first["t"] == pd.Timestamp("2017-02-20 00:00", tz="Asia/Jakarta")
    window = replay_states(bank, start="2017-02-21 08:00", end="2017-02-21 14:00", level="kota")
    assert len(window) == 7
    assert window["kota_flooded"].max() <= 5

    events = load_events(bank)
    assert len(events) == result.events == 331
    assert (events["end"] >= events["start"]).all()
    assert events["hours_flooded"].min() >= 1
    by_kel = events_summary(bank, by="kelurahan")
    assert by_kel["events"].sum() == 331
    assert "(above kelurahan)" not in set(by_kel["kelurahan"])
    indicators = sendai_indicators(bank).set_index("code")
    assert not indicators.loc["A-1", "available"]  # PetaBencana records no deaths
    assert pd.isna(indicators.loc["A-1", "value"])


def test_sendai_with_bpbd_counts(bank: Bank) -> None:
    import_bpbd(bank, BPBD_CSV)
    ind = sendai_indicators(bank).set_index("code")
    assert ind.loc["B-1", "available"]
    assert ind.loc["B-1", "value"] == 13035
    assert ind.loc["B-1", "per_100k"] > 0
    assert not ind.loc["C-1", "available"]
    assert not ind.loc["D-5", "available"]
    by_year = events_summary(bank, by="year").set_index("year")
    assert by_year.loc["2024", "affected"] == 13035
    assert pd.isna(by_year.loc["2024", "deaths"])


def _event(unit_id: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": "test-1",
        "hazard_type": "flood",
        "start": pd.Timestamp("2020-01-01 06:00", tz="Asia/Jakarta"),
        "end": pd.Timestamp("2020-01-02 06:00", tz="Asia/Jakarta"),
        "unit_id": unit_id,
        "deaths": 1,
        "affected": 100,
        "water_supply": True,
    }
    row.update(values)
    return row


def test_bad_rows_are_refused_and_bank_unchanged(bank: Bank) -> None:
    import_bpbd(bank, BPBD_CSV)
    before = bank.layer(LOSS_LAYER)
    unit = str(load_events(bank)["unit_id"].iloc[0])
    bad_rows = {
        "deaths": _event(unit, deaths=-1),
        "end": _event(unit, end=pd.Timestamp("2019-12-31", tz="Asia/Jakarta")),
        "unit_id": _event("kelurahan:nowhere"),
        "start": _event(unit, start=pd.Timestamp("2020-01-01 06:00")),
    }
    for field, bad in bad_rows.items():
        frame = pd.DataFrame([_event(unit, event_id="good-0"), {**bad, "event_id": "bad-1"}])
        with pytest.raises(InputError) as info:
            save_events(bank, frame, source="test")
        assert field in str(info.value)
        assert info.value.message_id
        if field != "start":
            assert "row 1" in str(info.value)
    after = bank.layer(LOSS_LAYER)
    assert after.current_version == before.current_version
    assert after.feature_count == before.feature_count
    assert not load_events(bank)["event_id"].isin(["good-0", "bad-1"]).any()
    # A good row goes in, with the Sendai sector flag.
    save_events(bank, pd.DataFrame([_event(unit)]), source="test")
    ind = sendai_indicators(bank).set_index("code")
    assert ind.loc["A-2", "value"] == 1
    assert ind.loc["D-5", "value"] == 1


def test_bad_files(bank: Bank, tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("bulan,kelurahan\nJanuari,Pluit\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a BPBD flood table"):
        import_bpbd(bank, csv)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no GeoJSON snapshots"):
        import_petabencana(bank, empty)
    assert not bank.has_layer(LOSS_LAYER)


def test_cli(bank_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    runner = CliRunner()
    url = str(bank_path)
    res = runner.invoke(app, ["losses", "import-bpbd", str(BPBD_CSV), "--bank", url])
    assert res.exit_code == 0, res.output
    assert "P. Harapan" in res.output  # unmatched rows are shown
    res = runner.invoke(
        app, ["losses", "import-petabencana", str(PETABENCANA), "--bank", url, "--json"]
    )
    assert res.exit_code == 0, res.output
    assert '"matched_rw": 297' in res.output
    res = runner.invoke(
        app,
        [
            "losses",
            "replay",
            "--bank",
            url,
            "--start",
            "2017-02-21 12:00",
            "--end",
            "2017-02-21 14:00",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "2017-02-21 13:00" in res.output and "161" in res.output
    res = runner.invoke(app, ["losses", "summary", "--by", "year", "--bank", url])
    assert res.exit_code == 0, res.output
    assert "2024" in res.output and "2017" in res.output and "B-1" in res.output
    res = runner.invoke(app, ["losses", "summary", "--by", "kelurahan", "--bank", url, "--json"])
    assert res.exit_code == 0, res.output
    assert '"kelurahan"' in res.output
    res = runner.invoke(app, ["losses", "summary", "--by", "decade", "--bank", url])
    assert res.exit_code == 2
