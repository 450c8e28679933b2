"""Name normalisation, admin codes and table matching (tangguh.admin.names/codes/match)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tangguh.admin.codes import (
    KOTA_CODES,
    format_bps,
    format_kemendagri,
    kota_by_code,
    parent_code,
    parse_code,
)
from tangguh.admin.match import MatchResult, match_units
from tangguh.admin.names import (
    NAME_VARIANTS,
    SPACING_VARIANTS_SEEN,
    name_key,
    normalize_name,
    normalize_rw,
)
from tangguh.admin.units import units_from_frames
from tangguh.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jakarta"


# -- names -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "level", "expected"),
    [
        ("Kelurahan Grogol Selatan", "kelurahan", "GROGOL SELATAN"),
        ("KEL. RAWA BADAK UTARA", "kelurahan", "RAWA BADAK UTARA"),
        ("Kecamatan Kebayoran Lama", "kecamatan", "KEBAYORAN LAMA"),
        ("KEC. KRAMAT JATI", None, "KRAMAT JATI"),
        ("KOTA JAKARTA SELATAN", "kota", "JAKARTA SELATAN"),
        ("Kota Adm. Jakarta Pusat", None, "JAKARTA PUSAT"),
        ("KOTA ADMINISTRASI JAKARTA TIMUR", "kota", "JAKARTA TIMUR"),
        ("KABUPATEN KEPULAUAN SERIBU", "kota", "KEPULAUAN SERIBU"),
        ("Kab. Adm. Kep. Seribu", "kota", "KEPULAUAN SERIBU"),
        ("KEP. SERIBU SELATAN", "kecamatan", "KEPULAUAN SERIBU SELATAN"),
        ("P. Untung Jawa", "kelurahan", "PULAU UNTUNG JAWA"),
        ("JAKATA UTARA", "kota", "JAKARTA UTARA"),
        ("jakpus", "kota", "JAKARTA PUSAT"),
        ("PAPANGO", "kelurahan", "PAPANGGO"),
        ("Pal Meriem", "kelurahan", "PALMERIAM"),
        ("TANAH SERAL", "kelurahan", "TANAH SEREAL"),
        ("HALIM PERDANA KUSUMAH", "kelurahan", "HALIM PERDANA KUSUMA"),
        ("KAMPUNG TENGAH", "kelurahan", "TENGAH"),
        ("Tanjung Priuk", "kecamatan", "TANJUNG PRIOK"),
        ("  Cengkareng   Barat ", "kelurahan", "CENGKARENG BARAT"),
        ("Kebon-Jeruk", "kelurahan", "KEBON JERUK"),
        ("Pondok Labú", "kelurahan", "PONDOK LABU"),
        ("DKI Jakarta", "province", "DKI JAKARTA"),
        ("Provinsi DKI Jakarta", "province", "DKI JAKARTA"),
        (None, "kelurahan", ""),
    ],
)
def test_normalize_name(raw: str | None, level: str | None, expected: str) -> None:
    assert normalize_name(raw, level=level) == expected


def test_kota_prefix_is_not_stripped_from_kota_bambu() -> None:
    # "KOTA BAMBU SELATAN" is a kelurahan in Palmerah: "KOTA " is not a prefix there.
    assert normalize_name("KOTA BAMBU SELATAN", level="kelurahan") == "KOTA BAMBU SELATAN"
    assert normalize_name("Kelurahan Kota Bambu Utara") == "KOTA BAMBU UTARA"


def test_variant_levels_and_switch() -> None:
    assert normalize_name("PAPANGO", variants=False) == "PAPANGO"
    # Kota-only variants do not touch other levels.
    assert normalize_name("JAKUT", level="kelurahan") == "JAKUT"
    assert all(v.canonical == normalize_name(v.canonical) for v in NAME_VARIANTS)


@pytest.mark.parametrize(("a", "b"), SPACING_VARIANTS_SEEN)
def test_spacing_variants_share_a_key(a: str, b: str) -> None:
    assert normalize_name(a) != normalize_name(b)
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("label", ["RW 2", "RW 02", "02", "RW02", "RW 002", "rw-2", 2, "RW 2 "])
def test_normalize_rw(label: str | int) -> None:
    assert normalize_rw(label) == "02"


def test_normalize_rw_odd_labels() -> None:
    assert normalize_rw("RW 010") == "10"
    assert normalize_rw("RW13") == "13"
    assert normalize_rw("RW 101") == "101"
    assert normalize_rw("") == ""
    assert normalize_rw(None) == ""
    assert normalize_rw("Kawasan Industri Pulogadung") == "KAWASAN INDUSTRI PULOGADUNG"
    assert normalize_name("RW 7", level="rw") == "07"


def _names(path: Path, column: int | str, **kw: object) -> set[str]:
    frame = pd.read_csv(path, dtype=str, **kw)  # type: ignore[call-overload]
    return set(frame[column].dropna())


def test_real_kelurahan_name_variants_resolve() -> None:
    """Every mainland kelurahan of the 2024 CSV matches an InaSAFE, BPS or Dukcapil name."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    csv = _names(DATA / "kelurahan-population/kelurahan_population_2024.csv", "subdistrict",
                 encoding="utf-8-sig")  # fmt: skip
    inasafe = gpd.read_file(
        DATA / "admin-inasafe-2012/geojson/kelurahan_jakarta.geojson", columns=["KEL_NAME2"]
    )
    ina = set(inasafe["KEL_NAME2"])
    bps = _names(DATA / "admin-codes-bps/dki_villages_bps.csv", 2, header=None)
    bpbd = _names(DATA / "flood-events-2024-bpbd/banjir_kelurahan_2024.csv", "kelurahan")
    key = lambda n: name_key(n, level="kelurahan")  # noqa: E731
    # Raw upper-case names disagree ...
    raw_ina = {n.upper() for n in ina}
    assert {"PAPANGO", "RAWABADAK UTARA", "KRAMAT JATI"} <= raw_ina - csv
    # ... normalised keys agree for all 261 mainland kelurahan.
    assert {key(n) for n in ina} <= {key(n) for n in csv}
    assert len({key(n) for n in ina}) == 261
    # BPS list: all its mainland names are known to the CSV; 13 CSV names are missing in BPS.
    assert {key(n) for n in bps} <= {key(n) for n in csv}
    missing_in_bps = {key(n) for n in csv} - {key(n) for n in bps}
    assert {"MENTENG", "SENEN", "KLENDER"} <= missing_in_bps
    assert len(missing_in_bps) == 13
    # BPBD flood table: title case, "P." abbreviations, KUSUMAH, spacing all resolve.
    assert {key(n) for n in bpbd} <= {key(n) for n in csv}


# -- codes -----------------------------------------------------------------------------
def test_parse_bps_codes() -> None:
    code = parse_code("3171010001")
    assert (code.system, code.level) == ("bps", "kelurahan")
    assert code.parents() == {"kecamatan": "3171010", "kota": "3171", "province": "31"}
    assert parse_code(" 3171 ").level == "kota"
    assert parent_code("3171010") == "3171"
    assert parent_code("31") is None
    assert format_bps(3171010) == "3171010"


def test_parse_kemendagri_codes() -> None:
    code = parse_code("31.71.01.1001")
    assert (code.system, code.level, code.digits) == ("kemendagri", "kelurahan", "3171011001")
    assert code.parents() == {"kecamatan": "31.71.01", "kota": "31.71", "province": "31"}
    assert parent_code("31.71") == "31"
    assert format_kemendagri("3171011001") == "31.71.01.1001"
    assert format_kemendagri("31.74") == "31.74"


def test_codes_are_never_converted_by_reformatting() -> None:
    with pytest.raises(InputError, match="Kemendagri"):
        format_bps("31.71")
    # Same digits, different kota in each system.
    assert kota_by_code("3171").name == "JAKARTA SELATAN"
    assert kota_by_code("31.71").name == "JAKARTA PUSAT"
    assert kota_by_code("3173070002").name == "JAKARTA PUSAT"
    assert {k.bps for k in KOTA_CODES} == {"3101", "3171", "3172", "3173", "3174", "3175"}
    with pytest.raises(InputError):
        kota_by_code("3271")


@pytest.mark.parametrize("bad", ["317", "31.7", "31.71.1", "abc", "31-71", "31.71.01.101"])
def test_bad_codes(bad: str) -> None:
    with pytest.raises(InputError):
        parse_code(bad)


def test_real_bps_codes_parse() -> None:
    path = DATA / "admin-codes-bps/dki_villages_bps.csv"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    villages = pd.read_csv(path, header=None, dtype=str)
    parsed = [parse_code(c) for c in villages[0]]
    assert {p.level for p in parsed} == {"kelurahan"}
    assert all(parent_code(c) == k for c, k in zip(villages[0], villages[1], strict=True))


# -- match -----------------------------------------------------------------------------
def _toy_units() -> gpd.GeoDataFrame:
    """Two kecamatan, each with a kelurahan called SUKAMAJU (a real-life duplicate pattern)."""
    box = shapely.box
    frames = {
        "kecamatan": gpd.GeoDataFrame(
            {"name": ["Cakung", "Kebayoran Lama"], "code": ["3172090", "31.74.03"]},
            geometry=[box(0, 0, 2, 2), box(2, 0, 4, 2)],
            crs="EPSG:4326",
        ),
        "kelurahan": gpd.GeoDataFrame(
            {"name": ["Sukamaju", "Rawabadak Utara", "Sukamaju", "Papango"]},
            geometry=[box(0, 0, 1, 2), box(1, 0, 2, 2), box(2, 0, 3, 2), box(3, 0, 4, 2)],
            crs="EPSG:4326",
        ),
    }
    units, _ = units_from_frames(
        frames,
        name_fields={"kecamatan": "name", "kelurahan": "name"},
        code_fields={"kecamatan": "code"},
        source="toy",
    )
    return units


def test_match_by_name_parent_variant_and_code() -> None:
    units = _toy_units()
    table = pd.DataFrame(
        {
            "kec": ["CAKUNG", "Kec. Kebayoran Lama", "cakung", "KEBAYORAN LAMA", None, "X"],
            "kel": ["SUKAMAJU", "Sukamaju", "RAWA BADAK UTARA", "PAPANGGO", "SUKAMAJU", "NOWHERE"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    res = match_units(table, units, level="kelurahan", name="kel", parent_name="kec")
    assert res.matched.loc[10, "method"] == "name+parent"
    assert res.matched.loc[10, "unit_id"] == "kelurahan:3172090.sukamaju"
    assert res.matched.loc[11, "unit_id"] == "kelurahan:31.74.03.sukamaju"
    assert res.matched.loc[12, "method"] == "name"  # spacing only: general rule
    assert res.matched.loc[13, "method"] == "variant"  # PAPANGO -> PAPANGGO
    assert list(res.ambiguous.index) == [14]
    assert len(res.ambiguous.loc[14, "candidates"]) == 2
    assert list(res.unmatched_rows.index) == [15]
    assert "NOWHERE" in res.unmatched_rows.loc[15, "reason"]
    assert res.unmatched_units.empty
    # every row is accounted for exactly once
    assert len(res.matched) + len(res.ambiguous) + len(res.unmatched_rows) == len(table)
    js = res.to_json()
    assert js["matched"] == 4 and js["ambiguous"][0]["row"] == 14
    assert "4 of 6 rows matched" in res.summary()


def test_match_by_code_either_system() -> None:
    units = _toy_units()
    table = pd.DataFrame({"code": ["3172090", "31.74.03", "3171010", "zz"], "n": [None] * 4})
    res = match_units(table, units, level="kecamatan", code="code", name="n")
    assert res.matched["method"].tolist() == ["code", "code"]
    assert res.matched["unit_id"].tolist() == ["kecamatan:3172090", "kecamatan:31.74.03"]
    reasons = res.unmatched_rows["reason"].tolist()
    assert "no kecamatan with bps code 3171010" in reasons[0]
    assert "not a BPS or Kemendagri code" in reasons[1]
    combined = MatchResult.combine([res])
    assert combined.to_json()["matched"] == 2


def test_match_refuses_bad_input() -> None:
    units = _toy_units()
    with pytest.raises(InputError):
        match_units(pd.DataFrame({"a": [1]}), units, level="kelurahan")
    with pytest.raises(InputError, match="index"):
        match_units(pd.DataFrame({"a": ["x", "y"]}, index=[1, 1]), units, level="kota", name="a")
