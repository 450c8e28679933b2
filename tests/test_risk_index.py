"""Multi-hazard risk index: two flood analyses over the demo city, checked independently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tangguh.admin.store import save_attributes
from tangguh.bank import Bank, LayerMeta, open_bank
from tangguh.demo import build_city, load_city
from tangguh.errors import InputError
from tangguh.risk.impact import flood_impact
from tangguh.risk.index import risk_index, validate_weights

AGES = ["age_0_5", "age_6_15", "age_16_20", "age_21_30", "age_31_40", "age_41_60", "age_over_60"]


def _box_floods(units: gpd.GeoDataFrame, fx: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Two overlapping depth polygons (cm) in the part ``fx`` (fractions) of the city."""
    minx, miny, maxx, maxy = units.total_bounds
    w, h = maxx - minx, maxy - miny
    x0, y0, x1, y1 = fx
    inner = shapely.box(minx + (x0 + 0.1) * w, miny + (y0 + 0.1) * h, minx + x1 * w, miny + y1 * h)
    outer = shapely.box(minx + x0 * w, miny + y0 * h, minx + x1 * w, miny + y1 * h)
    return gpd.GeoDataFrame({"depth_cm": [40.0, 120.0]}, geometry=[outer, inner], crs="EPSG:4326")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    """A demo bank with age groups (one kelurahan left without) and two flood analyses."""
    path = tmp_path_factory.mktemp("risk") / "bank.gpkg"
    with open_bank(path) as bank:
        load_city(bank, build_city("small", seed=0))
        units = bank.read_layer("admin_units")
        kel = units[units["level"] == "kelurahan"].sort_values("unit_id")
        rng = np.random.default_rng(1)
        ages = pd.DataFrame(rng.integers(50, 500, size=(len(kel), len(AGES))), columns=AGES)
        ages["unit_id"] = kel["unit_id"].to_numpy()
        left_out = str(ages["unit_id"].iloc[-1])
        save_attributes(bank, ages.iloc[:-1], columns=AGES, year=2023, source="test")
        ids = []
        for layer, fx in (("flood_a", (0.0, 0.0, 0.7, 0.6)), ("flood_b", (0.3, 0.4, 1.0, 1.0))):
            bank.write_layer(layer, _box_floods(units, fx), LayerMeta(theme="hazard"))
            result = flood_impact(
                bank, hazard=layer, level="kelurahan", depth_field="depth_cm", buildings=None
            )
            ids.append(result.record.id)
    return path, ids, left_out


@pytest.fixture
def bank(setup: tuple[Path, list[str], str]) -> Iterator[Bank]:
    """The module's bank, opened for one test (GeoPackage backend)."""
    b = open_bank(setup[0])
    try:
        yield b
    finally:
        b.close()


def _independent(bank: Bank, ids: list[str], w: dict[str, float]) -> pd.Series:
    """The documented formula recomputed from the raw records and attributes."""
    units = bank.read_layer("admin_units")
    kel = units[units["level"] == "kelurahan"].set_index("unit_id").sort_index()
    shares = []
    for analysis_id in ids:
        _, res = bank.analysis(analysis_id)
        res = res[res["exposure"] == "population"]
        total = res[res["metric"] == "total"].set_index("unit_id")["value"]
        aff = res[(res["metric"] == "affected")].groupby("unit_id")["value"].sum()
        shares.append(aff.reindex(total.index, fill_value=0) / total)
        population = total
    h = pd.concat(shares, axis=1).mean(axis=1).reindex(kel.index)
    area = kel.to_crs(32748).area / 1e6
    e = population.reindex(kel.index) / area
    attrs = bank.admin_attributes().pivot_table(
        index="unit_id", columns="attribute", values="value"
    )
    v = (attrs["age_0_5"] + attrs["age_6_15"] + attrs["age_over_60"]) / attrs[AGES].sum(axis=1)
    v = v.reindex(kel.index)

    def mm(x: pd.Series) -> pd.Series:
        return (x - x.min()) / (x.max() - x.min())

    total_w = sum(w.values())
    return (w["hazard"] * mm(h) + w["exposure"] * mm(e) + w["vulnerability"] * mm(v)) / total_w


def test_index_ranks_classes_and_formula(bank: Bank, setup: tuple[Path, list[str], str]) -> None:
    _, ids, left_out = setup
    weights = {"hazard": 2.0, "exposure": 1.0, "vulnerability": 0.5}
    result = risk_index(bank, analyses=ids, weights=weights, save=False)
    table = result.table.set_index("unit_id")

    # The unit without age groups is reported and has no index, not a 0.
    assert result.missing == {"vulnerability": [left_out]}
    assert pd.isna(table.loc[left_out, "index"]) and pd.isna(table.loc[left_out, "rank"])

    ranked = table.dropna(subset=["index"])
    n = len(ranked)
    assert n == len(table) - 1 and n >= 5
    assert sorted(ranked["rank"].astype(int)) == list(range(1, n + 1))
    assert set(ranked["class"].astype(int)) == {1, 2, 3, 4, 5}
    top = ranked.sort_values("rank").iloc[0]
    assert top["class"] == 5 and top["class_label_en"] == "very high"
    assert top["class_label_id"] == "sangat tinggi"
    assert top["index"] == ranked["index"].max()

    expected = _independent(bank, ids, weights).drop(left_out)
    assert np.allclose(ranked["index"].sort_index(), expected.sort_index(), rtol=1e-9)
    assert result.weights == pytest.approx(
        {"hazard": 2 / 3.5, "exposure": 1 / 3.5, "vulnerability": 0.5 / 3.5}
    )

    # Sensitivity: rank ranges bracket the baseline, Spearman within [-1, 1].
    s = result.sensitivity
    assert s["draws"] == 200
    assert ranked["rank_min"].notna().sum() == n and ranked["rank_max"].notna().sum() == n
    assert -1.0 <= s["spearman_min"] <= s["spearman_mean"] <= 1.0
    assert (ranked["rank_min"] <= ranked["rank"]).all()
    assert (ranked["rank"] <= ranked["rank_max"]).all()
    again = risk_index(bank, analyses=ids, weights=weights, save=False)
    assert again.sensitivity == s  # fixed seed


def test_saved_layer_round_trips(bank: Bank, setup: tuple[Path, list[str], str]) -> None:
    _, ids, _ = setup
    result = risk_index(bank, analyses=ids, layer_id="risk_kel")
    assert result.version is not None
    back = bank.read_layer("risk_kel").set_index("unit_id").sort_index()
    mine = result.table.set_index("unit_id").sort_index()
    for column in (
        "name",
        "hazard",
        "exposure",
        "vulnerability",
        "index",
        "rank",
        "class",
        "class_label_id",
        "class_label_en",
        "rank_min",
        "rank_max",
    ):
        assert column in back.columns
    assert np.allclose(back["index"].astype(float), mine["index"].astype(float), equal_nan=True)
    got = back["rank"].dropna().astype(int)
    assert (got == mine["rank"].dropna().astype(int).reindex(got.index)).all()
    assert set(back.geom_type) <= {"Polygon", "MultiPolygon"}
    info = bank.layer("risk_kel")
    assert info.theme == "hazard" and "index =" in (info.description_en or "")


def test_weights_validation() -> None:
    with pytest.raises(InputError, match="must be a finite number >= 0") as neg:
        validate_weights({"hazard": -1.0})
    assert neg.value.message_id and neg.value.hint_id
    with pytest.raises(InputError, match="all risk weights are zero"):
        validate_weights({"hazard": 0, "exposure": 0, "vulnerability": 0})
    with pytest.raises(InputError, match="unknown risk component"):
        validate_weights({"poverty": 1.0})
    assert validate_weights(None) == pytest.approx(
        {"hazard": 1 / 3, "exposure": 1 / 3, "vulnerability": 1 / 3}
    )


def test_refuses_bad_inputs(bank: Bank, setup: tuple[Path, list[str], str]) -> None:
    _, ids, _ = setup
    with pytest.raises(InputError, match="all risk weights are zero"):
        risk_index(
            bank, analyses=ids, weights={"hazard": 0, "exposure": 0, "vulnerability": 0}, save=False
        )
    with pytest.raises(InputError, match="is at level 'kelurahan', not 'kecamatan'") as lvl:
        risk_index(bank, analyses=ids, level="kecamatan", save=False)
    assert lvl.value.message_id and "tingkat" in lvl.value.message_id
    with pytest.raises(InputError, match="no analysis given"):
        risk_index(bank, analyses=[], save=False)
    with pytest.raises(InputError, match="cannot make 500 classes"):
        risk_index(bank, analyses=ids, classes=500, save=False)


def test_bank_without_age_groups(tmp_path: Path) -> None:
    """No vulnerability data: a clear error, or a ranking on H and E with weight 0."""
    with open_bank(tmp_path / "bare.gpkg") as bank:
        load_city(bank, build_city("small", seed=0))
        units = bank.read_layer("admin_units")
        bank.write_layer("flood_a", _box_floods(units, (0.0, 0.0, 0.7, 0.6)), LayerMeta())
        ids = [
            flood_impact(
                bank, hazard="flood_a", level="kelurahan", depth_field="depth_cm", buildings=None
            ).record.id
        ]
        with pytest.raises(InputError, match="has a vulnerability indicator") as err:
            risk_index(bank, analyses=ids, save=False)
        assert err.value.hint_id and "bobot" in err.value.hint_id
        result = risk_index(bank, analyses=ids, weights={"vulnerability": 0}, classes=3)
        table = result.table
        assert result.missing == {}
        assert table["vulnerability"].isna().all() and table["index"].notna().all()
        assert sorted(table["rank"].astype(int)) == list(range(1, len(table) + 1))
        assert set(table["class_label_en"]) == {"low", "medium", "high"}
        assert table["rank_min"].notna().all() and table["rank_max"].notna().all()
        expected = (table["hazard"] + table["exposure"]) / 2
        assert np.allclose(table["index"].astype(float), expected)
        assert bank.read_layer("risk_index")["vulnerability"].isna().all()


def test_index_cli_on_real_jakarta(tmp_path: Path, shared: Path) -> None:
    """Two real HKV 2007 analyses per kelurahan -> the index layer, via the CLI."""
    import json

    from typer.testing import CliRunner

    from tangguh.admin.store import import_jakarta
    from tangguh.bank import LayerMeta, open_bank
    from tangguh.cli.main import app
    from tangguh.risk.raster_impact import raster_flood_impact

    path = tmp_path / "jkt.gpkg"
    folder = shared / "jakarta/flood-inasafe-2007-hkv"
    with open_bank(path) as bank:
        import_jakarta(bank, shared / "jakarta")
        bank.register_raster(
            "depth",
            folder / "Flood_Current_Depth_Jakarta_geographic.asc",
            LayerMeta(theme="hazard"),
        )
        bank.register_raster(
            "category", folder / "jakarta_flood_category_123.asc", LayerMeta(theme="hazard")
        )
        bank.register_raster("pop", folder / "Population_Jakarta_geographic.asc")
        ids = [
            raster_flood_impact(
                bank,
                hazard="depth",
                exposure="pop",
                hazard_unit="m",
                density=True,
                density_unit_km2=0.1,
            ).record.id,
            raster_flood_impact(
                bank,
                hazard="category",
                exposure="pop",
                classification="flood_hkv_2007",
                density=True,
                density_unit_km2=0.1,
            ).record.id,
        ]
    out = CliRunner().invoke(
        app, ["impact", "index", *ids, "--weight", "hazard=2", "--bank", str(path), "--json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["ranked"] > 200 and data["weights"]["hazard"] == 0.5
    with open_bank(path) as bank:
        layer = bank.read_layer("risk_index")
    assert set(layer["class"].dropna().astype(int)) == {1, 2, 3, 4, 5}
    bad = CliRunner().invoke(
        app, ["impact", "index", *ids, "--weight", "hazard=x", "--bank", str(path)]
    )
    assert bad.exit_code == 2
