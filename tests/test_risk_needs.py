"""Minimum-needs profiles: built-in values, needs per area, user files, bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tangguh.errors import InputError, NotFoundError
from tangguh.risk import NeedsProfile, builtin_profiles, load_profile, validate_profile

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BPBD_2024 = SHARED / "jakarta" / "flood-events-2024-bpbd" / "banjir_kelurahan_2024.csv"


def test_bnpb_profile_is_perka_7_2008_as_in_the_issue() -> None:
    bnpb = load_profile("bnpb_perka_7_2008")
    needs = {n.key: n for n in bnpb.needs}
    assert list(needs) == ["rice", "drinking_water", "clean_water", "family_kit", "toilet"]
    weekly = {k: (n.amount, n.unit) for k, n in needs.items() if n.frequency == "week"}
    assert weekly == {
        "rice": (2.8, "kg"),
        "drinking_water": (17.5, "l"),
        "clean_water": (67.0, "l"),
        "family_kit": (1.0, "kit"),
    }
    kit, toilet = needs["family_kit"], needs["toilet"]
    assert (kit.per, kit.per_count, kit.count) == ("persons", 5, True)
    assert (toilet.per, toilet.per_count, toilet.frequency, toilet.count) == (
        "persons",
        20,
        "once",
        True,
    )


def test_every_builtin_loads_and_round_trips(tmp_path: Path) -> None:
    profiles = builtin_profiles()
    assert {"bnpb_perka_7_2008", "sphere_2018"} <= set(profiles)
    for key, profile in profiles.items():
        assert isinstance(profile, NeedsProfile)
        assert load_profile(key) == profile
        assert profile.source and all(n.label_id and n.label_en for n in profile.needs)
        path = tmp_path / f"{key}.toml"
        path.write_text(profile.to_toml(), encoding="utf-8")
        assert load_profile(path) == profile, key
    sphere = {n.key: n for n in profiles["sphere_2018"].needs}
    assert (sphere["water"].amount, sphere["water"].frequency) == (15.0, "day")
    assert (sphere["toilet"].amount, sphere["toilet"].per_count) == (1.0, 20)


def test_needs_per_area_round_kits_and_toilets_up() -> None:
    bnpb = load_profile("bnpb_perka_7_2008")
    displaced = pd.Series(
        [0, 1, 5, 19, 20, 21, 100],
        index=pd.Index(["A", "B", "C", "D", "E", "F", "G"], name="rw"),
        name="displaced",
    )
    table = bnpb.needs_for(displaced)
    assert list(table.index) == list(displaced.index) and table.index.name == "rw"
    assert table["rice"].tolist() == pytest.approx([2.8 * n for n in displaced])
    assert table["drinking_water"].tolist() == pytest.approx([17.5 * n for n in displaced])
    assert table["clean_water"].tolist() == pytest.approx([67 * n for n in displaced])
    assert table["family_kit"].tolist() == [0, 1, 1, 4, 4, 5, 20]
    assert table["toilet"].tolist() == [0, 1, 1, 1, 1, 2, 5]
    assert table.attrs["units"]["rice"] == "kg"
    assert table.attrs["labels_id"]["toilet"] == "Jamban"


def test_weeks_scale_consumables_not_one_off_items() -> None:
    bnpb = load_profile("bnpb_perka_7_2008")
    one = bnpb.needs_for(pd.Series([40.0]))
    three = bnpb.needs_for(pd.Series([40.0]), weeks=3)
    assert three["rice"].iloc[0] == pytest.approx(3 * one["rice"].iloc[0])
    assert three["family_kit"].iloc[0] == 24  # 8 kits a week
    assert three["toilet"].iloc[0] == one["toilet"].iloc[0] == 2
    sphere = load_profile("sphere_2018").needs_for(pd.Series([40.0]), weeks=0.5)
    assert sphere["water"].iloc[0] == pytest.approx(15 * 7 * 0.5 * 40)
    assert sphere["covered_space"].iloc[0] == pytest.approx(3.5 * 40)
    assert sphere["water_container"].iloc[0] == 16  # 2 per household of 5


def test_single_total_and_unknown_counts() -> None:
    bnpb = load_profile("bnpb_perka_7_2008")
    # InaSAFE's Jakarta 2007 report: 979,000 evacuees -> 65,593,000 l of clean water.
    total = bnpb.needs_for(979_000)
    assert list(total.index) == ["total"]
    assert total.loc["total", "clean_water"] == pytest.approx(65_593_000)
    unknown = bnpb.needs_for(pd.Series([10.0, np.nan]))
    assert math.isnan(unknown["toilet"].iloc[1]) and unknown["toilet"].iloc[0] == 1


@pytest.mark.parametrize(
    ("displaced", "weeks", "match"),
    [
        (pd.Series([5, -1], index=["x", "y"]), 1, "negative displaced"),
        (pd.Series(["5", "many"]), 1, "must be numbers"),
        (pd.Series([5]), 0, "weeks must be"),
        (pd.Series([5]), -2, "weeks must be"),
    ],
)
def test_bad_displaced_counts(displaced: pd.Series, weeks: float, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        load_profile("bnpb_perka_7_2008").needs_for(displaced, weeks=weeks)
    assert info.value.message_id and info.value.hint_id


def test_real_bpbd_2024_displaced_per_kelurahan() -> None:
    if not BPBD_2024.exists():
        pytest.skip(f"shared Jakarta data not found: {BPBD_2024}")
    table = pd.read_csv(BPBD_2024)
    displaced = table.groupby("kelurahan")["jumlah_pengungsi"].sum()
    assert int(displaced.sum()) == 1545  # SOURCE.txt total
    needs = load_profile("bnpb_perka_7_2008").needs_for(displaced)
    assert len(needs) == displaced.size
    assert needs["rice"].sum() == pytest.approx(2.8 * 1545)
    # Rounding up per kelurahan never gives fewer toilets than the city-wide ratio.
    assert needs["toilet"].sum() >= math.ceil(1545 / 20)
    assert (needs.loc[displaced > 0, "toilet"] >= 1).all()
    assert (needs.loc[displaced == 0, "toilet"] == 0).all()


def test_user_profile_round_trip_with_edits(tmp_path: Path) -> None:
    bnpb = load_profile("bnpb_perka_7_2008")
    text = bnpb.to_toml().replace("amount = 67.0", "amount = 105.0")
    text = text.replace('key = "bnpb_perka_7_2008"', 'key = "bpbd_dki"', 1)
    path = tmp_path / "bpbd_dki.toml"
    path.write_text(text, encoding="utf-8")
    own = load_profile(path)
    assert own.key == "bpbd_dki"
    assert own.needs_for(10.0)["clean_water"].iloc[0] == pytest.approx(1050.0)
    path2 = tmp_path / "again.toml"
    path2.write_text(own.to_toml(), encoding="utf-8")
    assert load_profile(str(path2)) == own
    assert own.to_frame().loc["clean_water", "amount"] == 105.0


def test_unknown_profile() -> None:
    with pytest.raises(NotFoundError, match="no built-in needs profile") as info:
        load_profile("perka_99")
    assert "bnpb_perka_7_2008" in (info.value.hint or "")


_HEAD = 'key = "bad"\ntitle_id = "Buruk"\ntitle_en = "Bad"\nsource = "test"\nhousehold_size = 5\n'


def _need(key: str, **fields: object) -> str:
    values: dict[str, object] = {
        "key": key,
        "label_id": f"{key} id",
        "label_en": f"{key} en",
        "unit": "kg",
        "amount": 1.0,
        "per": "person",
        "frequency": "week",
    }
    values.update(fields)
    body = "".join(
        f"{k} = {v!r}\n".replace("'", '"') if isinstance(v, str) else f"{k} = {v}\n"
        for k, v in values.items()
    )
    return f"\n[[needs]]\n{body}"


@pytest.mark.parametrize(
    ("name", "body", "match", "need_named"),
    [
        ("negative", _HEAD + _need("rice", amount=-2.8), "amount must be above 0", "rice"),
        ("zero", _HEAD + _need("rice", amount=0), "amount must be above 0", "rice"),
        ("per", _HEAD + _need("kit", per="family"), "field 'per' must be one of", "kit"),
        ("freq", _HEAD + _need("rice", frequency="monthly"), "'frequency' must be", "rice"),
        ("dup", _HEAD + _need("rice") + _need("rice"), "duplicate need key", "rice"),
        ("per_count", _HEAD + _need("kit", per="persons", per_count=0), "per_count", "kit"),
        ("person_count", _HEAD + _need("kit", per_count=5), "takes no per_count", "kit"),
        ("typo", _HEAD + _need("rice", ammount=2), "unknown field", "rice"),
        ("count", _HEAD + _need("kit", count="yes"), "count must be true", "kit"),
    ],
)
def test_bad_profile_files(
    tmp_path: Path, name: str, body: str, match: str, need_named: str
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        load_profile(path)
    error = info.value
    assert error.where is not None
    assert str(path) in error.where and f"'{need_named}'" in error.where
    message_id, hint_id = error.text("id")
    assert message_id != error.message and hint_id and hint_id != error.hint


def test_bad_profile_top_level() -> None:
    with pytest.raises(InputError, match="no needs"):
        validate_profile({"key": "x", "household_size": 5}, where="x.toml")
    with pytest.raises(InputError, match="household_size must be above 0") as info:
        validate_profile(
            {
                "key": "x",
                "title_id": "X",
                "title_en": "X",
                "source": "s",
                "household_size": 0,
                "needs": [
                    {"key": "r", "label_id": "R", "label_en": "R", "unit": "kg",
                     "amount": 1, "per": "household", "frequency": "once"}
                ],
            },
            where="x.toml",
        )  # fmt: skip
    assert info.value.where == "x.toml, field 'household_size'"


def test_count_defaults_from_unit() -> None:
    profile = validate_profile(
        {
            "key": "units",
            "title_id": "Satuan",
            "title_en": "Units",
            "source": "test",
            "household_size": 4,
            "needs": [
                {"key": "tent", "label_id": "Tenda", "label_en": "Tent", "unit": "tent",
                 "amount": 1, "per": "household", "frequency": "once"},
                {"key": "mat", "label_id": "Tikar", "label_en": "Mat", "unit": "m2",
                 "amount": 1, "per": "household", "frequency": "once"},
            ],
        },
        where="dict",
    )  # fmt: skip
    table = profile.needs_for(pd.Series([9.0]))
    assert table["tent"].iloc[0] == 3  # 9 persons / 4 per household, rounded up
    assert table["mat"].iloc[0] == pytest.approx(2.25)
