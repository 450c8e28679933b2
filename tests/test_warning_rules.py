"""Siaga rule engine: thresholds, hysteresis/dwell, rules, river links, live state, replay.

The key acceptance test replays the real DSDA hourly series 2021-2025 (Katulampa, Depok,
Manggarai) and compares the engine with an independent reference implementation of the
documented rule written here as a plain loop over the CSV rows.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from typer.testing import CliRunner

from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.errors import InputError, NotFoundError
from tangguh.io.observations import observations_from_csv
from tangguh.warning.model import Reading
from tangguh.warning.rules import (
    Rule,
    RuleEngine,
    add_rule,
    import_station_thresholds,
    import_thresholds_csv,
    replay,
    seed_jakarta,
    set_river_link,
    set_station_areas,
    set_thresholds,
    threshold_history,
    thresholds_at,
)

WIB = ZoneInfo("Asia/Jakarta")
GAUGES = "jakarta/water-level-gauges"
SERIES = "katulampa_depok_manggarai_hourly_2021-2025.csv"
COLUMNS = {"Katulampa (air)": "katulampa", "Depok (air)": "depok", "Manggarai (air)": "manggarai"}
STATION_MAP = {"Katulampa": "katulampa", "Depok": "depok", "Manggarai": "manggarai"}
THRESHOLDS = {
    "katulampa": {3: 80.0, 2: 150.0, 1: 200.0},
    "depok": {3: 200.0, 2: 270.0, 1: 350.0},
    "manggarai": {3: 750.0, 2: 850.0, 1: 950.0},
}


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


# -- the documented rule, written independently of the engine ----------
def reference(
    rows: list[tuple[datetime, float, bool]],
    thresholds_at_t: Any,
    *,
    margin_pct: float = 5.0,
    dwell: timedelta = timedelta(hours=2),
) -> list[tuple[datetime, int, int]]:
    """One latch per Siaga level: set when a good reading reaches the threshold; cleared
    when good readings stay below threshold*(1 - margin) for ``dwell`` (clock from the first
    such reading). The state is the most severe set latch (4 when none)."""
    active = {1: False, 2: False, 3: False}
    below_from: dict[int, datetime | None] = {1: None, 2: None, 3: None}
    state = 4
    out = []
    for t, v, ok in rows:
        if not ok:
            continue
        thr = thresholds_at_t(t)
        for lv in (1, 2, 3):
            if v >= thr[lv]:
                active[lv] = True
                below_from[lv] = None
            elif v < thr[lv] * (1 - margin_pct / 100):
                if below_from[lv] is None:
                    below_from[lv] = t
                start = below_from[lv]
                if active[lv] and start is not None and t - start >= dwell:
                    active[lv] = False
            else:
                below_from[lv] = None
        new = min([lv for lv in (1, 2, 3) if active[lv]], default=4)
        if new != state:
            out.append((t, state, new))
            state = new
    return out


def csv_rows(path: Path, column: str) -> list[tuple[datetime, float]]:
    with path.open(encoding="utf-8") as fh:
        return [
            (
                datetime.strptime(r["Tanggal"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=WIB),
                float(r[column]),
            )
            for r in csv.DictReader(fh)
        ]


def neighbour_flags(values: list[float]) -> list[bool]:
    """A simple QC stand-in: a reading far from both neighbours that agree with each other."""
    flags = [False] * len(values)
    for i in range(1, len(values) - 1):
        prev, cur, nxt = values[i - 1], values[i], values[i + 1]
        scale = max((prev + nxt) / 2, 50.0)
        if abs(cur - (prev + nxt) / 2) > 0.3 * scale and abs(prev - nxt) < 0.1 * scale:
            flags[i] = True
    return flags


def engine_tuples(result: Any, station: str) -> list[tuple[datetime, int, int]]:
    return [
        (x.t.astimezone(WIB), x.previous, x.level)
        for x in result.transitions
        if x.station_id == station
    ]


@pytest.fixture(scope="module")
def series(request: pytest.FixtureRequest) -> pd.DataFrame:
    from conftest import SHARED

    path = SHARED / GAUGES / SERIES
    if not path.exists():
        pytest.skip(f"{path} not found")
    return observations_from_csv(path, time_column="Tanggal", tz="Asia/Jakarta", columns=COLUMNS)


def _gauge_bank(bank: Bank, shared: Path) -> Bank:
    import_thresholds_csv(bank, shared / GAUGES / "pintu_air_siaga_thresholds.csv", STATION_MAP)
    return bank


# -- acceptance: the real series ----------
def test_real_series_matches_reference(bank: Bank, shared: Path, series: pd.DataFrame) -> None:
    _gauge_bank(bank, shared)
    started = time.perf_counter()
    result = replay(bank, series)
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0, f"replay took {elapsed:.2f} s"
    for column, station in COLUMNS.items():
        rows = [(t, v, True) for t, v in csv_rows(shared / GAUGES / SERIES, column)]
        expected = reference(rows, lambda t, s=station: THRESHOLDS[s])
        assert engine_tuples(result, station) == expected, station
        assert result.readings[f"{station}/water_level"] == 31_224
    k = engine_tuples(result, "katulampa")
    assert any(level == 1 for _, _, level in k)  # Katulampa reached Siaga 1 (2022-10-09 20:00)
    assert (wib(2022, 10, 9, 20), 2, 1) in k
    assert sum(1 for x in result.transitions if x.station_id == "depok" and x.level == 1) >= 2
    # Manggarai never reached 950 cm
    assert all(x.level >= 2 for x in result.transitions if x.station_id == "manggarai")
    # alerts are the rising transitions
    assert result.alerts and all(tr.transition.rising for tr in result.alerts)
    assert len(result.alerts) == sum(1 for x in result.transitions if x.rising)
    frame = result.to_frame()
    assert len(frame) == len(result.transitions) and set(frame["station_id"]) == set(
        COLUMNS.values()
    )


def test_flagged_spikes_are_skipped(bank: Bank, shared: Path, series: pd.DataFrame) -> None:
    _gauge_bank(bank, shared)
    frame = series.copy()
    frame["quality"] = "good"
    expected_all = {}
    flagged_times: dict[str, set[datetime]] = {}
    for column, station in COLUMNS.items():
        rows = csv_rows(shared / GAUGES / SERIES, column)
        flags = neighbour_flags([v for _, v in rows])
        flagged_times[station] = {t for (t, _), f in zip(rows, flags, strict=True) if f}
        flagged_utc = pd.DatetimeIndex(sorted(flagged_times[station])).tz_convert("UTC")
        mask = (frame["station_id"] == station) & frame["t"].dt.tz_convert("UTC").isin(flagged_utc)
        frame.loc[mask, "quality"] = "spike"
        expected_all[station] = reference(
            [(t, v, not f) for (t, v), f in zip(rows, flags, strict=True)],
            lambda t, s=station: THRESHOLDS[s],
        )
    assert len(flagged_times["manggarai"]) >= 10  # e.g. 10 cm between 580 cm neighbours
    result = replay(bank, frame)
    for station in COLUMNS.values():
        assert engine_tuples(result, station) == expected_all[station]
        assert not {t for t, _, _ in engine_tuples(result, station)} & flagged_times[station]
    assert result.skipped["manggarai/water_level"] == len(flagged_times["manggarai"])

    # an upward spike (990 cm between 580 cm neighbours) raises Siaga 1 unless flagged
    spike_t = pd.Timestamp("2021-10-18 08:00", tz="Asia/Jakarta")
    one = series[series["station_id"] == "manggarai"].copy()
    one.loc[one["t"] == spike_t, "value"] = 990.0
    one["quality"] = "good"
    raised = replay(bank, one)
    assert (spike_t.to_pydatetime(), 4, 1) in engine_tuples(raised, "manggarai")
    one.loc[one["t"] == spike_t, "quality"] = "spike"
    calm = replay(bank, one)
    assert not [t for t, _, _ in engine_tuples(calm, "manggarai") if t.date() == spike_t.date()]


def test_threshold_versioning_changes_later_transitions_only(
    bank: Bank, shared: Path, series: pd.DataFrame
) -> None:
    _gauge_bank(bank, shared)
    k = series[series["station_id"] == "katulampa"]
    before = replay(bank, k)
    cut = wib(2024, 1, 1)
    set_thresholds(
        bank,
        "katulampa",
        "water_level",
        {"siaga3": 60, "siaga2": 120, "siaga1": 180},
        valid_from=cut,
        datum="local gauge zero",
        source="test: re-levelled gauge",
    )
    after = replay(bank, k)
    old = engine_tuples(before, "katulampa")
    new = engine_tuples(after, "katulampa")
    assert [x for x in new if x[0] < cut] == [x for x in old if x[0] < cut]
    assert [x for x in new if x[0] >= cut] != [x for x in old if x[0] >= cut]
    rows = [(t, v, True) for t, v in csv_rows(shared / GAUGES / SERIES, "Katulampa (air)")]
    newer = {3: 60.0, 2: 120.0, 1: 180.0}
    assert new == reference(rows, lambda t: newer if t >= cut else THRESHOLDS["katulampa"])
    # the API sees both versions
    assert (
        thresholds_at(bank, "katulampa", "water_level", wib(2023, 6, 1)) == THRESHOLDS["katulampa"]
    )
    assert thresholds_at(bank, "katulampa", "water_level", "2024-06-01T00:00+07:00") == newer
    history = threshold_history(bank, "katulampa")
    assert [v.values for v in history] == [newer, THRESHOLDS["katulampa"]]
    assert history[0].datum == "local gauge zero" and history[0].source == "test: re-levelled gauge"


def test_thresholds_must_be_monotonic(bank: Bank) -> None:
    set_thresholds(bank, "x", "water_level", {3: 80, 2: 150, 1: 200})
    with pytest.raises(InputError, match="not monotonic") as info:
        set_thresholds(
            bank, "x", "water_level", {3: 80, 2: 250, 1: 200}, valid_from=wib(2025, 1, 1)
        )
    assert info.value.message_id and "monoton" in info.value.message_id
    assert info.value.hint_id
    with pytest.raises(InputError, match="Siaga level"):
        set_thresholds(bank, "x", "water_level", {4: 10})
    with pytest.raises(InputError, match="no time zone"):
        set_thresholds(bank, "x", "water_level", {3: 1}, valid_from="2025-01-01T00:00")
    # nothing of the rejected versions was stored
    assert [v.values for v in threshold_history(bank, "x")] == [{3: 80.0, 2: 150.0, 1: 200.0}]


def test_dsda_published_thresholds(bank: Bank) -> None:
    bank.write_stations(
        pd.DataFrame(
            [
                {
                    "station_id": "dsda_karet",
                    "kind": "river_gauge",
                    "lon": 106.81,
                    "lat": -6.2,
                    "attributes": {
                        "dsda_thresholds": {
                            "siaga1": "600",
                            "siaga2": 550,
                            "siaga3": 450,
                            "siaga4": 0,
                        }
                    },
                },
                {
                    "station_id": "dsda_bad",
                    "kind": "river_gauge",
                    "attributes": {"dsda_thresholds": {"siaga1": 1, "siaga2": 5, "siaga3": 9}},
                },
            ]
        )
    )
    # read straight from the station attributes while nothing is stored
    assert thresholds_at(bank, "dsda_karet", "water_level", wib(2025, 1, 1)) == {
        1: 600.0,
        2: 550.0,
        3: 450.0,
    }
    result = replay(
        bank,
        pd.DataFrame(
            {
                "station_id": "dsda_karet",
                "parameter": "water_level",
                "t": [wib(2025, 1, 1, 10), wib(2025, 1, 1, 11)],
                "value": [400.0, 560.0],
            }
        ),
    )
    assert [(x.previous, x.level) for x in result.transitions] == [(4, 2)]
    stored = import_station_thresholds(bank, valid_from=wib(2025, 1, 1))
    assert [v.station_id for v in stored] == ["dsda_karet"]  # non-monotonic one skipped
    assert import_station_thresholds(bank, valid_from=wib(2025, 2, 1)) == []  # unchanged
    assert len(threshold_history(bank, "dsda_karet")) == 1
    with pytest.raises(NotFoundError):
        import_station_thresholds(bank, ["nope"])


# -- hysteresis and dwell ----------
def _frame(station: str, start: datetime, values: list[float], minutes: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station_id": station,
            "parameter": "water_level",
            "t": [start + timedelta(minutes=minutes * i) for i in range(len(values))],
            "value": values,
        }
    )


def test_wobbling_level_gives_one_transition_up(bank: Bank) -> None:
    set_thresholds(bank, "katulampa", "water_level", {3: 80, 2: 150, 1: 200})
    wobble = [148.0, 152.0, 149.0, 151.0] * 9  # 6 h around the Siaga 2 threshold
    values = [60.0] * 3 + wobble + [50.0] * 18  # then 3 h well below
    frame = _frame("katulampa", wib(2024, 2, 1, 6), values)
    result = replay(bank, frame)
    got = [(x.previous, x.level) for x in result.transitions]
    assert got == [(4, 3), (3, 2), (2, 4)]  # one transition into Siaga 2, not dozens
    _, up, down = result.transitions
    assert up.t == wib(2024, 2, 1, 6, 40) and up.value == 152.0 and up.rising
    first_low = wib(2024, 2, 1, 6) + timedelta(minutes=10 * (3 + len(wobble)))
    assert down.t == first_low + timedelta(hours=2)  # minimum dwell of 2 h
    assert "120 min" in down.reason_en and "menit" in down.reason_id
    # without hysteresis and dwell the same series flaps dozens of times
    add_rule(
        bank,
        Rule(
            "katulampa-raw",
            "level",
            "katulampa",
            "water_level",
            {"margin_pct": 0, "dwell_minutes": 0},
        ),
    )
    flappy = replay(bank, frame)
    assert len(flappy.transitions) > 30


def test_dwell_is_broken_by_a_reading_back_in_the_band(bank: Bank) -> None:
    set_thresholds(bank, "s", "water_level", {3: 100})
    # 100 -> 90 (below 95) for 1 h -> 96 (in the band) -> 90 for 2 h
    values = [100.0] + [90.0] * 6 + [96.0] + [90.0] * 13
    result = replay(bank, _frame("s", wib(2024, 1, 1), values))
    assert [(x.previous, x.level) for x in result.transitions] == [(4, 3), (3, 4)]
    assert result.transitions[1].t == wib(2024, 1, 1) + timedelta(minutes=10 * 8 + 120)


# -- rate, rain and combined rules ----------
def test_rate_of_rise_rule(bank: Bank) -> None:
    set_thresholds(bank, "depok", "water_level", {3: 200, 2: 270, 1: 350})
    add_rule(
        bank,
        Rule(
            "depok-rise",
            "rate",
            "depok",
            "water_level",
            {"rise": 30, "window_minutes": 180, "level": 3},
        ),
    )
    values = [100.0, 105.0, 112.0, 120.0, 140.0, 150.0] + [150.0] * 8  # hourly
    result = replay(bank, _frame("depok", wib(2024, 1, 1), values, minutes=60))
    got = [(x.t.astimezone(WIB).hour, x.previous, x.level, x.rule_id) for x in result.transitions]
    # window [t - 3 h, t]: at 04:00 140 - 105 = 35 cm >= 30 -> Siaga 3 at once; 05:00 38,
    # 06:00 30 (still met), 07:00 10 -> the condition clears at 07:00, Siaga 4 after 2 h dwell
    assert got == [(4, 4, 3, "depok-rise"), (9, 3, 4, "depok-rise")]
    assert "rose 35 cm within 180 min" in result.transitions[0].reason_en
    assert "naik 35 cm" in result.transitions[0].reason_id


def test_combined_rule(bank: Bank) -> None:
    set_thresholds(bank, "depok", "water_level", {3: 200, 2: 270, 1: 350})
    add_rule(
        bank,
        Rule(
            "depok-fast-and-high",
            "combined",
            "depok",
            "water_level",
            {
                "mode": "all",
                "level": 2,
                "rules": [
                    {"kind": "rate", "rise": 30, "window_minutes": 120},
                    {"kind": "level", "at_least": 3},
                ],
            },
        ),
    )
    values = [180.0, 190.0, 200.0, 225.0, 235.0]  # hourly: 200 reaches Siaga 3; 225 - 190 = 35
    result = replay(bank, _frame("depok", wib(2024, 1, 1), values, minutes=60))
    got = [(x.previous, x.level, x.rule_id) for x in result.transitions]
    assert got == [(4, 3, "level:depok:water_level"), (3, 2, "depok-fast-and-high")]
    assert "combined rule" in result.transitions[1].reason_en
    with pytest.raises(InputError, match="mode"):
        add_rule(
            bank,
            Rule(
                "bad", "combined", "depok", "water_level", {"mode": "most", "level": 2, "rules": []}
            ),
        )


def test_rain_rule(bank: Bank) -> None:
    add_rule(
        bank,
        Rule(
            "bogor-rain",
            "rain",
            "pch_bogor",
            "rain",
            {"mm_per_hour": 20, "window_minutes": 60, "level": 3},
        ),
    )
    # 10-minute rain amounts (mm): 2 mm per step (12 mm/h), then 5 mm per step (30 mm/h)
    frame = _frame("pch_bogor", wib(2024, 1, 1), [2.0] * 6 + [5.0] * 6 + [0.0] * 24)
    frame["parameter"] = "rain"
    result = replay(bank, frame)
    assert [(x.previous, x.level) for x in result.transitions] == [(4, 3), (3, 4)]
    up = result.transitions[0]
    # window (t-60 min, t]: at 01:20 3*2 + 3*5 = 21 mm in the last hour -> 21 mm/h >= 20
    assert up.t == wib(2024, 1, 1, 1, 20)
    assert "21 mm/h" in up.reason_en
    assert "mm/h" in up.reason_en and "mm/jam" in up.reason_id


# -- river links, live engine ----------
def test_river_link_eta(bank: Bank) -> None:
    seed_jakarta(bank)  # no admin units here: stations, thresholds, links only
    set_station_areas(bank, "manggarai", ["kelurahan:test.rawajati", "rw:test.rawajati.01"])
    set_station_areas(bank, "katulampa", ["kelurahan:bogor.katulampa"], source="test")
    triggers = RuleEngine(bank).evaluate(
        [Reading("katulampa", "water_level", wib(2024, 2, 1, 10), 85.0, "cm", "test")]
    )
    assert len(triggers) == 1
    tr = triggers[0]
    assert (tr.transition.previous, tr.transition.level) == (4, 3)
    areas = {a.unit_id: a for a in tr.areas}
    own = areas["kelurahan:bogor.katulampa"]
    assert (
        own.lead_minutes == 0 and own.eta == wib(2024, 2, 1, 10) and own.via_station == "katulampa"
    )
    down = areas["kelurahan:test.rawajati"]
    assert down.via_station == "manggarai" and down.lead_minutes == 420
    assert down.eta is not None and down.eta.astimezone(WIB) == wib(2024, 2, 1, 17)
    assert areas["rw:test.rawajati.01"].eta == down.eta
    # Depok warns Manggarai's areas 6 h ahead
    depok = RuleEngine(bank).evaluate([Reading("depok", "water_level", wib(2024, 2, 1, 12), 205.0)])
    assert {a.lead_minutes for a in depok[0].areas} == {360}
    with pytest.raises(InputError):
        set_river_link(bank, "depok", "depok", 10)


def test_live_state_persists_across_engines(bank_url: str) -> None:
    with open_bank(bank_url) as b1:
        set_thresholds(b1, "katulampa", "water_level", {3: 80, 2: 150, 1: 200})
        first = RuleEngine(b1).evaluate(
            [Reading("katulampa", "water_level", wib(2024, 2, 1, 10), 160.0)]
        )
        assert [(t.transition.previous, t.transition.level) for t in first] == [(4, 2)]
        assert first[0].transition.rule_id == "level:katulampa:water_level"
    later = [
        Reading("katulampa", "water_level", wib(2024, 2, 1, h), 100.0) for h in (13, 12, 11)
    ]  # out of order on purpose
    with open_bank(bank_url) as b2:
        engine = RuleEngine(b2)
        # dry run: nothing written
        dry = engine.evaluate(later, persist=False)
        assert [(t.transition.previous, t.transition.level) for t in dry] == [(2, 3)]
        assert engine.state("katulampa").level == 2
        got = engine.evaluate(later[2:])  # 11:00: below for 0 h
        assert got == []
        got = engine.evaluate(later[:2])  # 12:00 (1 h), 13:00 (2 h) -> Siaga 3
        assert [(t.transition.previous, t.transition.level) for t in got] == [(2, 3)]
        assert got[0].transition.t == wib(2024, 2, 1, 13)
        # a late reading does not rewrite live history
        assert (
            engine.evaluate([Reading("katulampa", "water_level", wib(2024, 2, 1, 9), 300.0)]) == []
        )
        # flagged readings never drive the state
        spike = Reading("katulampa", "water_level", wib(2024, 2, 1, 14), 300.0, quality="spike")
        assert engine.evaluate([spike]) == []
        state = engine.state("katulampa")
        assert state.level == 3 and state.last_t == wib(2024, 2, 1, 13)
    with open_bank(bank_url) as b3:
        before = RuleEngine(b3).state("katulampa")
        replay(b3, _frame("katulampa", wib(2024, 3, 1), [300.0, 10.0]))
        assert RuleEngine(b3).state("katulampa") == before  # replay is pure


def test_live_rate_rule_uses_stored_history(bank: Bank) -> None:
    set_thresholds(bank, "depok", "water_level", {3: 200, 2: 270, 1: 350})
    add_rule(
        bank,
        Rule(
            "depok-rise",
            "rate",
            "depok",
            "water_level",
            {"rise": 30, "window_minutes": 180, "level": 3},
        ),
    )
    bank.write_stations(pd.DataFrame([{"station_id": "depok", "kind": "river_gauge"}]))
    history = _frame("depok", wib(2024, 1, 1), [100.0, 110.0, 120.0], minutes=60)
    bank.write_observations(history)
    triggers = RuleEngine(bank).evaluate(
        [Reading("depok", "water_level", wib(2024, 1, 1, 3), 131.0)]
    )
    assert [(t.transition.level, t.transition.rule_id) for t in triggers] == [(3, "depok-rise")]


# -- seed with the real admin units (both backends) ----------
@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def jakarta_bank(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    from conftest import SHARED, drop_pg_schema, new_pg_url
    from tangguh.admin.store import import_jakarta

    if not (SHARED / "jakarta").exists():
        pytest.skip("shared Jakarta data not found")
    tmp = tmp_path_factory.mktemp("jkt")
    url = str(tmp / "bank.gpkg") if request.param == "gpkg" else new_pg_url() + f"&rasters={tmp}"
    with open_bank(url) as b:
        import_jakarta(b, SHARED / "jakarta")
    try:
        yield url
    finally:
        if request.param == "postgis":
            drop_pg_schema(url)


def test_seed_jakarta_matches_real_kelurahan(jakarta_bank: str) -> None:
    from tangguh.admin.store import load_units

    with open_bank(jakarta_bank) as b:
        report = seed_jakarta(b)
        assert report.unmatched == []
        assert set(report.matched) == {
            "Rawajati",
            "Kalibata",
            "Pengadegan",
            "Cawang",
            "Kebon Baru",
            "Bukit Duri",
            "Bidara Cina",
            "Kampung Melayu",
        }
        assert report.matched["Rawajati"] == "kelurahan:jakarta-selatan.pancoran.rawa-jati"
        assert report.matched["Cawang"] == "kelurahan:jakarta-timur.kramat-jati.cawang"
        units = load_units(b)
        rws = units[
            (units["level"] == "rw") & units["parent_id"].isin(list(report.matched.values()))
        ]
        assert report.rw == len(rws) > 0
        assert sorted(report.thresholds_set) == ["depok", "katulampa", "manggarai"]
        again = seed_jakarta(b)  # idempotent, keeps stored thresholds
        assert again.thresholds_set == [] and again.stations_added == []
        assert len(threshold_history(b, "katulampa")) == 1
        triggers = RuleEngine(b).evaluate(
            [Reading("katulampa", "water_level", wib(2024, 2, 1, 10), 90.0)], persist=False
        )
        warned = {a.unit_id for a in triggers[0].areas}
        assert set(report.matched.values()) <= warned
        assert set(rws["unit_id"]) <= warned
        assert {a.eta for a in triggers[0].areas} == {wib(2024, 2, 1, 17)}


# -- CLI ----------
def test_cli_replay_and_rules(tmp_path: Path, shared: Path) -> None:
    runner = CliRunner()
    bank = ["--bank", str(tmp_path / "cli.gpkg")]
    seeded = runner.invoke(app, ["rules", "links", "seed", "--json", *bank])
    assert seeded.exit_code == 0, seeded.output
    assert json.loads(seeded.output)["links"] == 3
    listed = runner.invoke(app, ["rules", "links", "list", *bank])
    assert listed.exit_code == 0 and "420" in listed.output
    th = runner.invoke(app, ["rules", "thresholds", "list", "--json", *bank])
    assert {d["station_id"] for d in json.loads(th.output)} == {"katulampa", "depok", "manggarai"}
    bad = runner.invoke(
        app, ["rules", "thresholds", "set", "depok", "--siaga3", "300", "--siaga2", "270", *bank]
    )
    assert bad.exit_code == 2 and "monoton" in bad.output
    new = runner.invoke(
        app,
        [
            "rules",
            "thresholds",
            "set",
            "depok",
            "--siaga3",
            "210",
            "--siaga2",
            "280",
            "--siaga1",
            "360",
            "--valid-from",
            "2030-01-01",
            *bank,
        ],
    )
    assert new.exit_code == 0, new.output
    hist = runner.invoke(app, ["rules", "thresholds", "history", "depok", "--json", *bank])
    assert [v["values"]["3"] for v in json.loads(hist.output)] == [210.0, 200.0]
    imported = runner.invoke(
        app,
        [
            "rules",
            "thresholds",
            "import",
            str(shared / GAUGES / "pintu_air_siaga_thresholds.csv"),
            "--map",
            "Katulampa=katulampa",
            "--map",
            "Depok=depok",
            "--map",
            "Manggarai=manggarai",
            "--json",
            *bank,
        ],
    )
    assert imported.exit_code == 0, imported.output
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        '[[rules]]\nrule_id = "depok-rise"\nkind = "rate"\nstation_id = "depok"\n'
        "rise = 50\nwindow_minutes = 180\nlevel = 2\n",
        encoding="utf-8",
    )
    added = runner.invoke(app, ["rules", "add", "--file", str(rules_file), *bank])
    assert added.exit_code == 0, added.output
    opt = runner.invoke(
        app,
        [
            "rules",
            "add",
            "--id",
            "k-level",
            "--kind",
            "level",
            "--station",
            "katulampa",
            "--margin-cm",
            "5",
            "--dwell",
            "180",
            *bank,
        ],
    )
    assert opt.exit_code == 0, opt.output
    rl = runner.invoke(app, ["rules", "list", "--json", *bank])
    assert {r["rule_id"] for r in json.loads(rl.output)} == {"depok-rise", "k-level"}

    csv_path = shared / GAUGES / SERIES
    out = runner.invoke(
        app,
        ["replay", "--csv", str(csv_path), "--from", "2022-10-09", "--to", "2022-10-11", *bank],
    )
    assert out.exit_code == 0, out.output
    for header in (
        "Siaga transitions",
        "Perubahan Siaga",
        "Alerts that would be raised",
        "Peringatan yang akan dikeluarkan",
    ):
        assert header in out.output
    assert "katulampa" in out.output and "▲" in out.output
    full = runner.invoke(app, ["replay", "--csv", str(csv_path), "--json", *bank])
    assert full.exit_code == 0
    data = json.loads(full.output)
    with open_bank(bank[1]) as b:
        api = replay(
            b,
            observations_from_csv(
                csv_path, time_column="Tanggal", tz="Asia/Jakarta", columns=COLUMNS
            ),
        )
    assert len(data["transitions"]) == len(api.transitions)
    assert data["alerts"] == len(api.alerts)
    assert "areas" in data["transitions"][0]  # no admin units in this bank: empty lists
    station = runner.invoke(
        app, ["replay", "--csv", str(csv_path), "--station", "manggarai", "--json", *bank]
    )
    assert {t["station_id"] for t in json.loads(station.output)["transitions"]} == {"manggarai"}
    missing = runner.invoke(app, ["replay", "--csv", str(tmp_path / "nope.csv"), *bank])
    assert missing.exit_code == 3


def test_replay_from_stored_observations(bank: Bank, shared: Path, series: pd.DataFrame) -> None:
    seed_jakarta(bank)  # registers the three gauges and their thresholds
    october = series[
        (series["t"] >= pd.Timestamp("2022-10-01", tz="Asia/Jakarta"))
        & (series["t"] < pd.Timestamp("2022-11-01", tz="Asia/Jakarta"))
    ]
    bank.write_observations(october)
    stored = replay(
        bank, stations=["katulampa", "depok"], start=wib(2022, 10, 5), end=wib(2022, 10, 20)
    )
    window = october[
        (october["t"] >= pd.Timestamp(wib(2022, 10, 5)))
        & (october["t"] < pd.Timestamp(wib(2022, 10, 20)))
        & october["station_id"].isin(["katulampa", "depok"])
    ]
    given = replay(bank, window)
    assert stored.transitions == given.transitions
    assert {x.station_id for x in stored.transitions} == {"katulampa", "depok"}
    assert stored.readings == {"depok/water_level": 360, "katulampa/water_level": 360}
    with pytest.raises(InputError, match="no time zone"):
        replay(bank, window.assign(t=window["t"].dt.tz_localize(None)))
