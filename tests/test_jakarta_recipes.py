"""Recipes for the real Jakarta data (tangguh.io.jakarta) on ../shared/data/jakarta."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.admin.units import LinkReport, ancestors, lookup_points, rollup
from tangguh.errors import NotFoundError
from tangguh.io.jakarta import (
    admin_units_from_inasafe,
    apply_bps_codes,
    apply_population,
    clean_floodprone,
    codes_from_bps,
    population_from_csv,
    population_from_dukcapil,
    shared_data_dir,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
JAKARTA = SHARED / "jakarta"
pytestmark = pytest.mark.skipif(
    not JAKARTA.is_dir(), reason=f"shared Jakarta data not found at {JAKARTA}"
)


@pytest.fixture(scope="module")
def inasafe() -> tuple[gpd.GeoDataFrame, LinkReport]:
    return admin_units_from_inasafe(JAKARTA / "admin-inasafe-2012")


def test_shared_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TANGGUH_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.setenv("TANGGUH_SHARED_DATA", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    assert shared_data_dir().resolve() == SHARED.resolve()  # found beside the repository


def test_inasafe_counts_and_links(inasafe: tuple[gpd.GeoDataFrame, LinkReport]) -> None:
    units, report = inasafe
    assert units["level"].value_counts().to_dict() == {
        "rw": 2685,
        "kelurahan": 261,
        "kecamatan": 42,
        "kota": 5,
        "province": 1,
    }
    assert units["unit_id"].is_unique
    assert set(units.loc[units["level"] == "kota", "name_norm"]) == {
        "JAKARTA BARAT", "JAKARTA PUSAT", "JAKARTA SELATAN", "JAKARTA TIMUR", "JAKARTA UTARA",
    }  # fmt: skip
    # Every unit below the province has a parent, found by containment.
    assert units.loc[units["level"] != "province", "parent_id"].notna().all()
    assert report.orphans == []
    assert report.methods["rw"] == {"contains": 2685}
    # Parent-name disagreements measured: 7 RW of Cilandak Timur say "PASAR MINGGU"
    # and one unnamed RW says "TMII" (in Ceger); TANAH SERAL / JAKATA UTARA are variants.
    fields = sorted(d["field_value"] for d in report.disagreements)
    assert fields == ["PASAR MINGGU"] * 7 + ["TMII"]
    assert all(".cilandak-timur." in d["unit_id"] for d in report.disagreements[:7])
    # 35 RW without a label; duplicate RW labels made unique and reported.
    assert len(report.empty_names) == 35
    assert len(report.duplicates) == 48
    assert len(report.repaired) == 4  # 1 kota, 2 kecamatan, 1 RW invalid polygons
    rw = units[units["level"] == "rw"]
    assert rw["name_norm"].str.fullmatch(r"\d{2}|KAWASAN INDUSTRI PULOGADUNG|").all()
    # FLOODPRONE cleaned: YES 996 + Yes 8 = True, NO = False, '' and '0' = NA.
    assert rw["floodprone"].sum() == 1004
    assert (rw["floodprone"] == False).sum() == 1460  # noqa: E712
    assert rw["floodprone"].isna().sum() == 221
    assert units.loc[units["level"] != "rw", "floodprone"].isna().all()


def test_clean_floodprone_values() -> None:
    out = clean_floodprone(pd.Series(["YES", "Yes", "NO", "", "0", None, " no "]))
    assert out.tolist() == [True, True, False, pd.NA, pd.NA, pd.NA, False]
    assert out.attrs["raw_counts"][""] == 2


def test_rollup_rw_count_to_kota(inasafe: tuple[gpd.GeoDataFrame, LinkReport]) -> None:
    units, _ = inasafe
    rw_ids = units.loc[units["level"] == "rw", "unit_id"]
    counts = rollup(units, pd.Series(1, index=rw_ids.to_numpy()), to_level="kota", how="count")
    assert counts.sum() == 2685
    assert counts["kota:jakarta-timur"] == 701
    assert counts.attrs["missing_total"] == 0 and counts.attrs["unlinked"] == []


def test_lookup_points_on_known_rw(inasafe: tuple[gpd.GeoDataFrame, LinkReport]) -> None:
    units, _ = inasafe
    rw = units[units["level"] == "rw"].iloc[::250]
    points = gpd.GeoSeries(shapely.point_on_surface(rw.geometry.values), crs="EPSG:4326")
    found = lookup_points(units, points)
    expected = ancestors(units).loc[rw["unit_id"]]
    assert found.to_numpy().tolist() == expected[found.columns].to_numpy().tolist()
    # A named example: the representative point of RW 01 Kebon Bawang, Tanjung Priok.
    kb = units[units["unit_id"] == "rw:jakarta-utara.tanjung-priok.kebon-bawang.01"]
    one = lookup_points(units, shapely.get_coordinates(kb.geometry.representative_point()))
    assert one.iloc[0].tolist() == [
        "province:dki-jakarta",
        "kota:jakarta-utara",
        "kecamatan:jakarta-utara.tanjung-priok",
        "kelurahan:jakarta-utara.tanjung-priok.kebon-bawang",
        "rw:jakarta-utara.tanjung-priok.kebon-bawang.01",
    ]
    # Monas (106.8272 E, 6.1754 S) is in Gambir; a point in the Java Sea is nowhere.
    far = lookup_points(units, np.array([[106.8272, -6.1754], [106.8, -5.9]]), levels=["kota"])
    assert far["kota"].tolist() == ["kota:jakarta-pusat", None]


def test_population_csv_2024(inasafe: tuple[gpd.GeoDataFrame, LinkReport]) -> None:
    units, _ = inasafe
    pop = population_from_csv(JAKARTA / "kelurahan-population/kelurahan_population_2024.csv")
    assert len(pop) == 267 and int(pop["population"].sum()) == 11_038_216
    out, result = apply_population(units, pop, year=2024, source="Satu Data Jakarta 2024")
    # Measured: all 261 InaSAFE kelurahan get population; the 6 Kepulauan Seribu rows
    # have no polygon and are reported unmatched.
    assert len(result.matched) == 261 and result.unmatched_units.empty
    assert len(result.unmatched_rows) == 6
    assert result.unmatched_rows["kelurahan"].str.startswith("PULAU").all()
    # 7 InaSAFE names needed the variant table (PAPANGO, KREDANG, WIJAYA KESUMA, ...).
    variants = result.matched[result.matched["method"] == "variant"]
    assert len(variants) == 7
    assert "kelurahan:jakarta-utara.tanjung-priok.papanggo" in set(variants["unit_id"])
    kel = out[out["level"] == "kelurahan"]
    assert kel["population"].notna().sum() == 261
    # Roll-up to kota equals the sum over that kota's kelurahan.
    anc = ancestors(out)
    by_kota = kel.groupby(anc.loc[kel["unit_id"], "kota"].to_numpy())["population"].sum()
    kota = out[out["level"] == "kota"].set_index("unit_id")["population"]
    assert kota.sort_index().tolist() == by_kota.sort_index().tolist()
    # Province total equals the sum of the matched rows.
    matched_sum = int(pop.loc[result.matched.index, "population"].sum())
    assert matched_sum == 11_038_216 - int(pop["population"].iloc[-6:].sum())
    assert int(out.loc[out["level"] == "province", "population"].iloc[0]) == matched_sum
    assert set(out.loc[out["level"] != "rw", "pop_year"]) == {2024}
    assert out.loc[out["level"] == "rw", "population"].isna().all()
    assert result.notes == []  # no unit summed with gaps


def test_population_dukcapil(inasafe: tuple[gpd.GeoDataFrame, LinkReport]) -> None:
    units, _ = inasafe
    duk = population_from_dukcapil(
        JAKARTA / "kelurahan-population/kelurahan_dukcapil_demografi.geojson"
    )
    assert len(duk) == 253 and int(duk["population"].sum()) == 10_825_928
    assert {"households", "male", "female", "age_over_60", "luas_raw"} <= set(duk.columns)
    out, result = apply_population(units, duk, year=2020, source="Dukcapil")
    assert len(result.matched) == 253
    # Kecamatan Tebet (7 kelurahan) and Kel. Setia Budi have no Dukcapil row: reported.
    assert len(result.unmatched_units) == 8
    assert any("tebet (7)" in n for n in result.notes)
    tebet = out[out["unit_id"] == "kecamatan:jakarta-selatan.tebet"]
    assert tebet["population"].isna().all()
    assert out.loc[out["level"] == "kelurahan", "households"].notna().sum() == 253


def test_bps_codes(inasafe: tuple[gpd.GeoDataFrame, LinkReport]) -> None:
    units, _ = inasafe
    codes = codes_from_bps(JAKARTA / "admin-codes-bps")
    assert codes["level"].value_counts().to_dict() == {"kelurahan": 254, "kecamatan": 44, "kota": 6}
    out, result = apply_bps_codes(units, codes)
    code = out.set_index("unit_id")["code_bps"]
    assert code["kota:jakarta-selatan"] == "3171"
    assert code["kota:jakarta-pusat"] == "3173"
    assert code["province:dki-jakarta"] == "31"
    # Measured: 5 kota, 42 kecamatan and 248 kelurahan get a code; the 13 kelurahan
    # the BPS list lacks (MENTENG, SENEN, KLENDER, ...) are reported.
    levels = out[out["code_bps"].notna()]["level"].value_counts().to_dict()
    assert levels == {"kelurahan": 248, "kecamatan": 42, "kota": 5, "province": 1}
    missing = {u.rsplit(".", 1)[1] for u in result.unmatched_units["unit_id"]}
    assert {"menteng", "senen", "klender"} <= missing and len(missing) == 13
    # Kepulauan Seribu codes have no polygon: 9 rows unmatched.
    assert len(result.unmatched_rows) == 9
    assert code["kelurahan:jakarta-utara.tanjung-priok.papanggo"].startswith("3175")


def test_missing_files_raise(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        population_from_csv(tmp_path / "nope.csv")
    with pytest.raises(NotFoundError):
        admin_units_from_inasafe(tmp_path)
    with pytest.raises(NotFoundError):
        codes_from_bps(tmp_path)
