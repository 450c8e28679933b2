"""Hazard classifications: boundaries, displacement, built-ins, user files, bad files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tangguh.errors import InputError, NotFoundError
from tangguh.risk import (
    Classification,
    builtin_classifications,
    load_classification,
    validate_classification,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HKV = SHARED / "jakarta" / "flood-inasafe-2007-hkv"
BPBD_2024 = SHARED / "jakarta" / "flood-events-2024-bpbd" / "banjir_kelurahan_2024.csv"

BUILTINS = {
    "flood_petabencana",
    "flood_petabencana_state",
    "flood_hkv_2007",
    "generic_3class",
    "earthquake_mmi_3class",
    "earthquake_mmi_scale",
}


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared Jakarta data not found: {path}")
    return path


# --------------------------------------------------------------------------- semantics


def test_petabencana_depth_boundaries_are_min_exclusive_max_inclusive() -> None:
    flood = load_classification("flood_petabencana")
    assert flood.unit == "cm" and flood.closed == "right"
    depths = [0, 5, 10, 69.9, 70, 70.5, 150, 151, math.nan, -3, math.inf]
    keys = flood.classify(depths)
    assert keys.tolist() == [
        None,  # dry ground is no class
        "use_caution",
        "use_caution",  # 10 cm is the top of "use caution"
        "low",
        "low",  # 70 cm is still low: the issue's "71-150" starts above 70
        "medium",
        "medium",  # 150 cm is medium; high is "> 150"
        "high",
        None,  # NaN: no class, not a guess
        None,
        "high",  # open-ended top class
    ]
    assert flood.class_index(depths).tolist() == [-1, 0, 0, 1, 1, 2, 2, 3, -1, -1, 3]


def test_left_closed_earthquake_classes() -> None:
    quake = load_classification("earthquake_mmi_3class")
    assert quake.closed == "left"
    keys = quake.classify(np.array([5.99, 6.0, 6.99, 7.0, 7.5, 8.0, 12.0, np.nan]))
    assert keys.tolist() == [None, "low", "low", "medium", "medium", "high", "high", None]
    scale = load_classification("earthquake_mmi_scale")
    # InaSAFE 5 rule min < x <= max: 6.5 is VI, 6.51 is VII; X is open-ended.
    assert scale.classify([0.4, 1.0, 6.5, 6.51, 9.6, 11.0]).tolist() == [
        None,
        "I",
        "VI",
        "VII",
        "X",
        "X",
    ]


def test_classify_keeps_shape_and_works_on_series_and_scalars() -> None:
    flood = load_classification("flood_petabencana")
    grid = flood.classify(np.array([[0.0, 20.0], [100.0, 200.0]]))
    assert grid.shape == (2, 2)
    assert grid.tolist() == [[None, "low"], ["medium", "high"]]
    assert flood.classify(pd.Series([12.0, 160.0])).tolist() == ["low", "high"]
    assert flood.classify(75.0).item() == "medium"


def test_continuous_classification_refuses_text() -> None:
    with pytest.raises(InputError, match="needs numbers") as info:
        load_classification("flood_petabencana").classify(["deep", "10"])
    assert info.value.message_id and "angka" in info.value.message_id


def test_categorical_codes_match_numbers_and_text() -> None:
    generic = load_classification("generic_3class")
    assert generic.classify([1, 2, 3, 0, 4]).tolist() == ["low", "medium", "high", None, None]
    assert generic.classify(np.array([1.0, 3.0, np.nan])).tolist() == ["low", "high", None]
    mixed = np.array(["1", " 2 ", "3.0", None, "high", 2], dtype=object)
    assert generic.classify(mixed).tolist() == ["low", "medium", "high", None, None, "medium"]


def test_displacement_rates_follow_the_classes() -> None:
    flood = load_classification("flood_petabencana")
    keys = flood.classify([0, 5, 50, 100, 200, math.nan])
    rates = flood.displacement(keys)
    assert rates.tolist() == [0.0, 0.0, 0.01, 0.03, 0.05, 0.0]
    people = np.array([1000, 1000, 1000, 1000, 1000, 1000])
    assert float((people * rates).sum()) == pytest.approx(90.0)
    # The index route gives the same rates without key strings (fast path for engines).
    index = flood.class_index([0, 5, 50, 100, 200, math.nan])
    assert flood.rates[index].tolist() == rates.tolist()
    with pytest.raises(InputError, match="unknown class key") as info:
        flood.displacement(["low", "very_high"])
    assert "very_high" in info.value.text("id")[0]


def test_to_unit_converts_length_bounds_exactly() -> None:
    flood = load_classification("flood_petabencana")
    metres = flood.to_unit("m")
    assert [(c.min, c.max) for c in metres.classes] == [
        (0.0, 0.1),
        (0.1, 0.7),
        (0.7, 1.5),
        (1.5, None),
    ]
    assert metres.classify([0.7, 0.71, 1.5, 1.51]).tolist() == ["low", "medium", "medium", "high"]
    assert metres.to_unit("cm") == flood
    with pytest.raises(InputError, match="cannot convert"):
        load_classification("earthquake_mmi_3class").to_unit("m")


# --------------------------------------------------------------------------- built-ins


def test_every_builtin_loads_and_round_trips(tmp_path: Path) -> None:
    builtins = builtin_classifications()
    assert set(builtins) >= BUILTINS
    for key, cls in builtins.items():
        assert isinstance(cls, Classification)
        assert load_classification(key) == cls
        assert cls.source and cls.title_id and cls.title_en
        assert all(c.label_id and c.label_en for c in cls.classes)
        assert all(0.0 <= c.displacement_rate <= 1.0 for c in cls.classes)
        path = tmp_path / f"{key}.toml"
        path.write_text(cls.to_toml(), encoding="utf-8")
        assert load_classification(path) == cls, key
        assert load_classification(str(path)) == cls


def test_builtin_values_are_those_of_the_issue() -> None:
    flood = load_classification("flood_petabencana")
    rates = {c.key: c.displacement_rate for c in flood.classes}
    assert rates == {"use_caution": 0.0, "low": 0.01, "medium": 0.03, "high": 0.05}
    state = load_classification("flood_petabencana_state")
    assert state.classify([1, 2, 3, 4]).tolist() == list(flood.keys)
    assert [c.displacement_rate for c in state.classes] == list(rates.values())


def test_user_file_round_trip_with_edits(tmp_path: Path) -> None:
    flood = load_classification("flood_petabencana")
    text = flood.to_toml().replace('key = "flood_petabencana"', 'key = "bpbd_own"', 1)
    text = text.replace("displacement_rate = 0.05", "displacement_rate = 0.2")
    path = tmp_path / "bpbd_own.toml"
    path.write_text(text, encoding="utf-8")
    own = load_classification(path)
    assert own.key == "bpbd_own"
    assert own.get("high").displacement_rate == 0.2
    assert own.classify([150, 151]).tolist() == ["medium", "high"]


def test_unknown_key_or_missing_file() -> None:
    with pytest.raises(NotFoundError, match="no built-in classification") as info:
        load_classification("flood_bnpb_nonexistent")
    assert "flood_petabencana" in (info.value.hint or "")
    assert info.value.message_id and "klasifikasi" in info.value.message_id


# --------------------------------------------------------------------------- real data


def test_hkv_category_raster_classified_by_codes() -> None:
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(_need(HKV / "jakarta_flood_category_123.asc")) as src:
        band = src.read(1, masked=True)
    values = band.filled(-9999)
    hkv = load_classification("flood_hkv_2007")
    keys = hkv.classify(values)
    counts = pd.Series(keys[keys != None]).value_counts()  # noqa: E711 - object array
    for code, key in (("1", "low"), ("2", "medium"), ("3", "high")):
        assert counts[key] == int((values == int(code)).sum())
    assert int((keys == None).sum()) == int(band.mask.sum())  # noqa: E711
    displaced = hkv.displacement(keys)
    assert displaced.max() == 0.05 and displaced[band.mask].max() == 0.0


def test_depth_raster_in_metres_reproduces_hkv_categories(tmp_path: Path) -> None:
    # HKV's own 1/2/3 raster equals its depth raster cut at (0, 0.5], (0.5, 1], (1, ...)
    # metres: a right-closed user classification reproduces it cell by cell.
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(_need(HKV / "Flood_Current_Depth_Jakarta_geographic.asc")) as src:
        depth = src.read(1, masked=True).filled(np.nan)
    with rasterio.open(HKV / "jakarta_flood_category_123.asc") as src:
        category = src.read(1, masked=True).filled(0)
    path = tmp_path / "hkv_depth.toml"
    path.write_text(
        'key = "hkv_depth"\ntitle_id = "Kedalaman HKV"\ntitle_en = "HKV depth"\n'
        'hazard = "flood"\nunit = "m"\nkind = "continuous"\nclosed = "right"\n'
        'source = "HKV SOURCE.txt: 1=10-50cm 2=50cm-1m 3=>1m"\n'
        + "".join(
            f'\n[[classes]]\nkey = "c{code}"\nlabel_id = "K{code}"\nlabel_en = "C{code}"\n'
            f"{bounds}displacement_rate = 0\n"
            for code, bounds in (
                (1, "min = 0\nmax = 0.5\n"),
                (2, "min = 0.5\nmax = 1.0\n"),
                (3, "min = 1.0\n"),
            )
        ),
        encoding="utf-8",
    )
    cls = load_classification(path)
    index = cls.class_index(depth)
    assert np.array_equal(index + 1, category), "depth classes differ from HKV's raster"
    # The PetaBencana classes (cm) apply to the same metres after conversion.
    flood_m = load_classification("flood_petabencana").to_unit("m")
    keys = flood_m.classify(depth)
    assert int((keys == "high").sum()) == int((depth > 1.5).sum())
    assert int((keys == None).sum()) == int((~(depth > 0)).sum())  # noqa: E711


def test_bpbd_2024_water_heights_classified() -> None:
    table = pd.read_csv(_need(BPBD_2024))
    flood = load_classification("flood_petabencana")
    keys = flood.classify(table["tinggi_air_max"])
    assert len(keys) == len(table) == 260
    for key, height in zip(keys, table["tinggi_air_max"], strict=True):
        if key is None:
            assert not height > 0
            continue
        cls = flood.get(key)
        assert cls.min is not None and cls.min < height
        assert cls.max is None or height <= cls.max


# --------------------------------------------------------------------------- bad files

_HEAD = (
    'key = "bad"\ntitle_id = "Buruk"\ntitle_en = "Bad"\nhazard = "flood"\nunit = "cm"\n'
    'kind = "continuous"\nsource = "test"\n'
)


def _class(key: str, extra: str, rate: str = "0.01") -> str:
    return (
        f'\n[[classes]]\nkey = "{key}"\nlabel_id = "{key} id"\nlabel_en = "{key} en"\n'
        f'{extra}displacement_rate = {rate}\ncolour = "#ff0000"\n'
    )


@pytest.mark.parametrize(
    ("name", "body", "match", "class_named"),
    [
        (
            "gap",
            _HEAD + _class("low", "min = 0\nmax = 50\n") + _class("high", "min = 60\n"),
            "gap between classes",
            "low",
        ),
        (
            "overlap",
            _HEAD + _class("low", "min = 0\nmax = 80\n") + _class("high", "min = 70\n"),
            "classes overlap",
            "high",
        ),
        (
            "open_inner",
            _HEAD + _class("low", "min = 0\n") + _class("high", "min = 70\n"),
            "classes overlap",
            "low",
        ),
        (
            "min_max",
            _HEAD + _class("low", "min = 50\nmax = 50\n"),
            "min 50 is not below max 50",
            "low",
        ),
        (
            "rate",
            _HEAD + _class("low", "min = 0\nmax = 50\n", rate="1.5"),
            "outside 0..1",
            "low",
        ),
        (
            "negative_rate",
            _HEAD + _class("low", "min = 0\nmax = 50\n", rate="-0.1"),
            "outside 0..1",
            "low",
        ),
        (
            "duplicate",
            _HEAD + _class("low", "min = 0\nmax = 50\n") + _class("low", "min = 50\n"),
            "duplicate class key",
            "low",
        ),
        (
            "categorical_no_value",
            _HEAD.replace("continuous", "categorical") + _class("one", ""),
            "needs a value",
            "one",
        ),
        (
            "duplicate_value",
            _HEAD.replace("continuous", "categorical")
            + _class("one", 'value = "1"\n')
            + _class("uno", "value = 1\n"),
            "duplicate class value",
            "uno",
        ),
        (
            "typo",
            _HEAD + _class("low", "min = 0\ndisplacment_rate = 0.1\n"),
            "unknown field",
            "low",
        ),
        (
            "text_number",
            _HEAD + _class("low", 'min = "0"\n'),
            "must be a number",
            "low",
        ),
    ],
)
def test_bad_classification_files(
    tmp_path: Path, name: str, body: str, match: str, class_named: str
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        load_classification(path)
    error = info.value
    assert error.where is not None
    assert str(path) in error.where and f"'{class_named}'" in error.where
    message_id, hint_id = error.text("id")
    assert message_id != error.message and hint_id and hint_id != error.hint


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (_HEAD, "no classes"),
        (_HEAD.replace('"flood"', '"volcano"') + _class("a", "min = 0\n"), "hazard"),
        (_HEAD.replace('"continuous"', '"ranges"') + _class("a", "min = 0\n"), "kind"),
        (_HEAD + "classes = 3\n", "no classes"),
        (_HEAD + _class("a", "min = 0\n").replace("#ff0000", "red"), "colour"),
        ('key = "x"\nclasses = [', "invalid TOML"),
    ],
)
def test_bad_top_level_fields(tmp_path: Path, body: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        load_classification(path)
    assert info.value.where is not None and str(path) in info.value.where
    assert info.value.message_id


def test_validate_sorts_classes_given_in_any_order() -> None:
    data = {
        "key": "desc",
        "title_id": "Urutan menurun",
        "title_en": "Descending order",
        "hazard": "subsidence",
        "unit": "cm/yr",
        "kind": "continuous",
        "source": "test",
        "classes": [
            {"key": "fast", "label_id": "Cepat", "label_en": "Fast", "min": 10,
             "displacement_rate": 0},
            {"key": "slow", "label_id": "Lambat", "label_en": "Slow", "min": 0, "max": 10,
             "displacement_rate": 0},
        ],
    }  # fmt: skip
    cls = validate_classification(data, where="dict")
    assert cls.keys == ("slow", "fast")
    assert cls.classify([0, 9.9, 10, 25]).tolist() == ["slow", "slow", "fast", "fast"]
    assert cls.to_dict()["classes"][1]["max"] is None
