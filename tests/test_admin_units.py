"""Building, walking and querying the admin-unit hierarchy (tangguh.admin.units).

Synthetic frames made here: a 4 x 2 km toy city in UTM 48S so reprojection is exercised.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.admin.units import (
    LEVEL_RANK,
    LEVELS,
    UNIT_COLUMNS,
    LinkReport,
    ancestors,
    children,
    lookup_points,
    rollup,
    tree,
    units_from_frames,
)
from tangguh.errors import InputError, NotFoundError

X0, Y0 = 700_000.0, 9_300_000.0  # metres, EPSG:32748 (UTM 48S, Jakarta)


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0 * 1000, Y0 + y0 * 1000, X0 + x1 * 1000, Y0 + y1 * 1000)


def _frames() -> dict[str, gpd.GeoDataFrame]:
    crs = "EPSG:32748"
    kota = gpd.GeoDataFrame(
        {"nm": ["Kota Adm. Jakarta Utara"]}, geometry=[_box(0, 0, 4, 2)], crs=crs
    )
    kec = gpd.GeoDataFrame(
        {"nm": ["West", "East"], "kota": ["JAKATA UTARA", "Jakarta Utara"]},
        geometry=[_box(0, 0, 2, 2), _box(2, 0, 4, 2)],
        crs=crs,
    )
    bowtie = shapely.Polygon(
        [(X0 + 2000, Y0), (X0 + 4000, Y0 + 2000), (X0 + 4000, Y0), (X0 + 2000, Y0 + 2000)]
    )
    kel = gpd.GeoDataFrame(
        {
            "nm": ["Angke", "Bali", "Cikini", "Far"],
            "kec": ["West", "EAST", "East", "East"],  # Bali's field names the wrong kecamatan
        },
        geometry=[_box(0, 0, 2, 2), _box(2, 0, 4, 1), bowtie, _box(10, 10, 11, 11)],
        crs=crs,
    )
    rw = gpd.GeoDataFrame(
        {"rw": ["RW 1", "RW 01", "RW 2", "RW 3", None]},
        geometry=[_box(0, 0, 1, 1), _box(0, 1, 1, 2), _box(1, 0, 2, 1), _box(2, 0, 3, 1), None],
        crs=crs,
    )
    return {"kota": kota, "kecamatan": kec, "kelurahan": kel, "rw": rw}


def _build() -> tuple[gpd.GeoDataFrame, LinkReport]:
    return units_from_frames(
        _frames(),
        name_fields={"kota": "nm", "kecamatan": "nm", "kelurahan": "nm", "rw": "rw"},
        parent_name_fields={"kecamatan": "kota", "kelurahan": "kec"},
        source="toy",
    )


def test_levels() -> None:
    assert LEVELS[0] == "province" and LEVEL_RANK["rt"] == 6


def test_units_from_frames_schema_and_links() -> None:
    units, report = units_from_frames(
        _frames(),
        name_fields={"kota": "nm", "kecamatan": "nm", "kelurahan": "nm", "rw": "rw"},
        parent_name_fields={"kecamatan": "kota", "kelurahan": "kec"},
        source="toy",
    )
    assert tuple(units.columns) == UNIT_COLUMNS
    assert units.crs.equals("EPSG:4326")
    assert set(units.geometry.dropna().geom_type) == {"MultiPolygon"}
    by_id = units.set_index("unit_id")
    assert by_id.loc["kota:jakarta-utara", "name_norm"] == "JAKARTA UTARA"
    assert by_id.loc["kecamatan:jakarta-utara.west", "parent_id"] == "kota:jakarta-utara"
    assert by_id.loc["rw:jakarta-utara.west.angke.01", "name"] == "RW 01"
    assert by_id.loc["kelurahan:jakarta-utara.west.angke", "name"] == "Angke"
    # Two RW labelled 01 in Angke: both kept, ids made unique deterministically (by position).
    assert "rw:jakarta-utara.west.angke.01-2" in by_id.index
    assert report.duplicates[0]["unit_id"] == "rw:jakarta-utara.west.angke.01"
    # JAKATA UTARA is a known kota typo -> no disagreement; Bali's "EAST" agrees too.
    assert not [d for d in report.disagreements if d["unit_id"].startswith("kecamatan")]
    # Far lies outside every kecamatan: linked by its kecamatan field, and reported.
    assert report.methods["kelurahan"] == {"contains": 3, "name": 1}
    assert (
        by_id.loc["kelurahan:jakarta-utara.east.far", "parent_id"] == "kecamatan:jakarta-utara.east"
    )
    # The RW without geometry and name has no parent: orphan, reported.
    assert report.orphans == [{"unit_id": "rw:unnamed", "level": "rw", "name": ""}]
    assert report.empty_names == [{"unit_id": "rw:unnamed", "level": "rw"}]
    # The self-intersecting polygon was repaired and reported; the missing RW geometry too.
    problems = [r["problem"] for r in report.repaired]
    assert any("repaired" in p for p in problems) and any("missing" in p for p in problems)
    assert report.methods["rw"]["orphan"] == 1
    assert report.row_ids["rw"].tolist() == units[units["level"] == "rw"]["unit_id"].tolist()
    js = report.to_json()
    assert js["counts"] == {"kota": 1, "kecamatan": 2, "kelurahan": 4, "rw": 5}
    assert "orphans 1" in report.summary()


def test_parent_name_disagreement_is_reported() -> None:
    frames = _frames()
    frames["kelurahan"].loc[0, "kec"] = "East"  # Angke lies in West
    _, report = units_from_frames(
        frames,
        name_fields={"kota": "nm", "kecamatan": "nm", "kelurahan": "nm", "rw": "rw"},
        parent_name_fields={"kelurahan": "kec"},
        source="toy",
    )
    assert [d["name"] for d in report.disagreements] == ["Angke"]
    assert report.disagreements[0]["parent_id"] == "kecamatan:jakarta-utara.west"


def test_units_from_frames_rejects_bad_input() -> None:
    frames = _frames()
    with pytest.raises(InputError, match="name field"):
        units_from_frames(frames, name_fields={"kota": "nm"}, source="x")
    with pytest.raises(InputError, match="level"):
        units_from_frames({"district": frames["kota"]}, name_fields={"district": "nm"}, source="x")
    no_crs = frames["kota"].set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="CRS"):
        units_from_frames({"kota": no_crs}, name_fields={"kota": "nm"}, source="x")


def test_ancestors_and_tree() -> None:
    units, _ = _build()
    anc = ancestors(units)
    assert list(anc.columns) == ["kota", "kecamatan", "kelurahan", "rw"]
    row = anc.loc["rw:jakarta-utara.west.angke.02"]
    assert row.tolist() == [
        "kota:jakarta-utara",
        "kecamatan:jakarta-utara.west",
        "kelurahan:jakarta-utara.west.angke",
        "rw:jakarta-utara.west.angke.02",
    ]
    assert pd.isna(anc.loc["kecamatan:jakarta-utara.west", "kelurahan"])
    kids = children(units, "kecamatan:jakarta-utara.east")
    assert kids["name"].tolist() == ["Bali", "Cikini", "Far"]
    with pytest.raises(NotFoundError):
        children(units, "kota:nowhere")
    t = tree(units, max_level="kelurahan")
    assert set(t) == {"kota:jakarta-utara"}
    assert set(t["kota:jakarta-utara"]["children"]["kecamatan:jakarta-utara.west"]["children"]) == {
        "kelurahan:jakarta-utara.west.angke"
    }
    sub = tree(units, root="kelurahan:jakarta-utara.west.angke")
    assert len(sub["kelurahan:jakarta-utara.west.angke"]["children"]) == 3


def test_ancestors_refuses_inverted_parent() -> None:
    units = pd.DataFrame(
        {"unit_id": ["kota:a", "kecamatan:b"], "level": ["kota", "kecamatan"],
         "parent_id": ["kecamatan:b", None]}
    )  # fmt: skip
    with pytest.raises(InputError, match="higher level"):
        ancestors(units)


def test_rollup_sum_mean_count_and_missing() -> None:
    units, _ = _build()
    rw = units[units["level"] == "rw"]["unit_id"].tolist()
    values = pd.Series([10, 20, 30, 40, None], index=rw, name="people", dtype="Float64")
    by_kel = rollup(units, values, to_level="kelurahan")
    assert by_kel["kelurahan:jakarta-utara.west.angke"] == 60
    assert pd.isna(by_kel["kelurahan:jakarta-utara.east.far"])  # no child value: NA, not 0
    by_kota = rollup(units, values, to_level="kota")
    assert by_kota["kota:jakarta-utara"] == 100
    # The RW without geometry has no parent: reported as unlinked, not dropped silently.
    assert by_kota.attrs["unlinked"] == [rw[4]]
    mean = rollup(units, values, to_level="kecamatan", how="mean")
    assert mean["kecamatan:jakarta-utara.west"] == pytest.approx(20)
    count = rollup(units, pd.Series(1, index=rw[:3]), to_level="kota", how="count")
    assert count["kota:jakarta-utara"] == 3
    assert count.attrs["missing_total"] == 1  # rw[3] is linked and has no value
    assert count.attrs["missing"] == {"kota:jakarta-utara": 1}
    same = rollup(units, values, to_level="rw")
    assert same.sum() == 100


def test_rollup_errors() -> None:
    units, _ = _build()
    with pytest.raises(InputError, match="not admin units"):
        rollup(units, pd.Series([1], index=["rw:nope"]), to_level="kota")
    with pytest.raises(InputError, match="down"):
        rollup(units, pd.Series([1], index=["kota:jakarta-utara"]), to_level="rw")
    with pytest.raises(InputError, match="one level"):
        two = ["kota:jakarta-utara", "kecamatan:jakarta-utara.west"]
        rollup(units, pd.Series([1, 2], index=two), to_level="kota")
    with pytest.raises(InputError, match="aggregation"):
        rollup(units, pd.Series([1], index=["kecamatan:jakarta-utara.west"]), to_level="kota",
               how="median")  # type: ignore[arg-type]  # fmt: skip
    empty = rollup(units, pd.Series([], dtype=float), to_level="kota", from_level="rw")
    assert pd.isna(empty["kota:jakarta-utara"]) and empty.attrs["missing_total"] == 4


def test_lookup_points_levels_boundaries_and_gaps() -> None:
    units, report = _build()
    utm = gpd.GeoSeries(
        [
            shapely.Point(X0 + 500, Y0 + 500),  # RW 01 of Kel A
            shapely.Point(X0 + 1000, Y0 + 500),  # on the RW 01 | RW 02 boundary
            shapely.Point(X0 + 3500, Y0 + 1500),  # Kel C area, no RW there (gap)
            shapely.Point(X0 + 9000, Y0 + 9000),  # outside everything
            None,
        ],
        index=list("abcde"),
        crs="EPSG:32748",
    )
    found = lookup_points(units, utm)
    first_rw = report.row_ids["rw"].iloc[0]  # the RW 1 polygon (one of two "01")
    assert list(found.index) == list("abcde")
    assert found.loc["a"].tolist() == [
        "kota:jakarta-utara",
        "kecamatan:jakarta-utara.west",
        "kelurahan:jakarta-utara.west.angke",
        first_rw,
    ]
    # boundary between the first RW and RW 02: lowest unit_id
    assert found.loc["b", "rw"] == min(first_rw, "rw:jakarta-utara.west.angke.02")
    # gap in the RW layer: coarser levels still answered
    assert found.loc["c", "rw"] is None
    assert found.loc["c", "kecamatan"] == "kecamatan:jakarta-utara.east"
    assert found.loc["d"].isna().all() and found.loc["e"].isna().all()
    # lon/lat array input, subset of levels
    lonlat = np.array(shapely.get_coordinates(utm.iloc[:1].to_crs("EPSG:4326")))
    sub = lookup_points(units, lonlat, levels=["kota", "kelurahan"])
    assert sub.iloc[0].tolist() == ["kota:jakarta-utara", "kelurahan:jakarta-utara.west.angke"]
    with pytest.raises(InputError):
        lookup_points(units, np.zeros((2, 3)))
    with pytest.raises(InputError):
        lookup_points(units, lonlat, levels=["rt"])
