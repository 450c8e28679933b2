"""Real Jakarta boundaries and population in both backends, rolled up RW → kota."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.admin.store import import_jakarta, load_units, lookup, rollup_attribute
from tangguh.bank import Bank


@pytest.fixture
def jakarta(bank: Bank, shared: Path) -> Bank:
    result = import_jakarta(bank, shared / "jakarta")
    assert result.counts == {
        "province": 1,
        "kota": 5,
        "kecamatan": 42,
        "kelurahan": 261,
        "rw": 2685,
    }
    assert len(result.population.matched) == 261
    assert len(result.population.unmatched_rows) == 6  # Kepulauan Seribu: no polygons
    return bank


def test_real_jakarta_rolls_up_from_rw_to_kota(jakarta: Bank) -> None:
    units = load_units(jakarta)
    rw = units[units["level"] == "rw"]
    counts = rollup_attribute_counts(units, rw)
    assert counts.sum() == 2685 and len(counts) == 5

    kota_pop = rollup_attribute(jakarta, "population", to_level="kota", from_level="kelurahan")
    kel = units[units["level"] == "kelurahan"].set_index("unit_id")
    kec_parent = units.set_index("unit_id")["parent_id"]
    kel_kota = kel["parent_id"].map(kec_parent)
    expected = kel.groupby(kel_kota)["population"].sum()
    pd.testing.assert_series_equal(
        kota_pop.sort_index(), expected.astype(float).sort_index(), check_names=False
    )
    province = rollup_attribute(jakarta, "population", to_level="province")
    assert province.iloc[0] == expected.sum()
    stored_kota = units[units["level"] == "kota"].set_index("unit_id")["population"]
    assert (stored_kota.astype(float).sort_index() == expected.astype(float).sort_index()).all()

    elderly = rollup_attribute(jakarta, "age_over_60", to_level="kota")
    assert len(elderly) == 5 and (elderly > 50_000).all()


def rollup_attribute_counts(units: pd.DataFrame, rw: pd.DataFrame) -> pd.Series:
    from tangguh.admin import rollup

    return rollup(units, pd.Series(1.0, index=rw["unit_id"]), to_level="kota", how="count")


def test_point_lookup_at_every_level(jakarta: Bank) -> None:
    units = load_units(jakarta)
    rw = units[units["level"] == "rw"].iloc[[10, 500, 2000]]
    pts = shapely.point_on_surface(rw.geometry.to_numpy())
    found = lookup(jakarta, np.column_stack([shapely.get_x(pts), shapely.get_y(pts)]))
    assert found["rw"].tolist() == rw["unit_id"].tolist()
    parents = units.set_index("unit_id")["parent_id"]
    assert found["kelurahan"].tolist() == [parents[u] for u in rw["unit_id"]]
    assert set(found["province"]) == {"province:dki-jakarta"}
    outside = lookup(jakarta, [(100.0, 0.0)])
    assert outside.isna().all(axis=None)
