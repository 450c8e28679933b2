"""Earthquake impact: MMI raster x population raster, ITB and PAGER fatalities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from tangguh.bank import Bank, LayerMeta
from tangguh.errors import InputError
from tangguh.risk.earthquake import earthquake_impact, itb_rate, pager_rate


def test_fatality_models_follow_their_formulas() -> None:
    assert itb_rate(np.array([3.9]))[0] == 0.0
    assert itb_rate(np.array([8.0]))[0] == pytest.approx(10 ** (0.62275 * 8 - 8.03314))
    z = math.log(8 / 13.249) / 0.151
    assert pager_rate(np.array([8.0]))[0] == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))))
    assert np.all(np.diff(pager_rate(np.arange(4.0, 11.0))) > 0)


def _constant_mmi(path: Path, value: float) -> Path:
    """An MMI grid over all of Jakarta holding one value (0.01° cells)."""
    transform = Affine(0.01, 0, 106.60, 0, -0.01, -6.00)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=45,
        height=45,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=transform,
        nodata=-1,
    ) as dst:
        dst.write(np.full((1, 45, 45), value, dtype="float32"))
    return path


@pytest.mark.parametrize("model", ["itb", "pager"])
def test_constant_mmi_over_real_population(
    bank: Bank, shared: Path, tmp_path: Path, model: str
) -> None:
    from tangguh.admin.store import import_jakarta

    import_jakarta(bank, shared / "jakarta")
    bank.register_raster(
        "mmi_7", _constant_mmi(tmp_path / "mmi.tif", 7.0), LayerMeta(theme="hazard")
    )
    pop = shared / "jakarta/flood-inasafe-2007-hkv/Population_Jakarta_geographic.asc"
    bank.register_raster("population_hkv", pop, LayerMeta(theme="exposure"))
    result = earthquake_impact(
        bank,
        hazard="mmi_7",
        exposure="population_hkv",
        level="kota",
        model=model,
        density=True,
        density_unit_km2=0.1,
    )
    s = result.record.summary
    total = s["population_total"]
    assert 8.0e6 < total < 9.2e6
    assert s["population_by_mmi"] == {7: pytest.approx(total)}
    rate = (itb_rate if model == "itb" else pager_rate)(np.array([7.0]))[0]
    assert s["fatalities"] == pytest.approx(total * rate, rel=1e-9)
    assert s["population_affected"] == pytest.approx(total)  # MMI 7 is in a class
    assert len(result.areas) == 5 and result.areas["fatalities"].sum() == pytest.approx(
        s["fatalities"]
    )
    stored, rows = bank.analysis(result.record.id)
    assert stored.kind == "earthquake_impact"
    assert rows[rows["metric"] == f"fatalities_{model}"]["value"].sum() == pytest.approx(
        s["fatalities"]
    )
    with pytest.raises(InputError, match="fatality model"):
        earthquake_impact(bank, hazard="mmi_7", exposure="population_hkv", model="nope")
    with pytest.raises(InputError, match="not earthquakes"):
        earthquake_impact(
            bank, hazard="mmi_7", exposure="population_hkv", classification="flood_petabencana"
        )


def test_shakemap_import_and_earthquake_cli(tmp_path: Path, shared: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tangguh.cli.main import app

    runner = CliRunner()
    bank = tmp_path / "eq.gpkg"
    grid = shared / "feeds/bmkg-shakemap-grid/20160302231317_sw-sumatra_M5.2/grid.xml"
    out = runner.invoke(
        app, ["import", str(grid), "--layer", "mmi_sumatra", "--bank", str(bank), "--json"]
    )
    assert out.exit_code == 0, out.output
    info = json.loads(
        runner.invoke(app, ["layer", "show", "mmi_sumatra", "--bank", str(bank), "--json"]).stdout
    )
    assert info["kind"] == "raster" and info["theme"] == "hazard"
    assert "shakemap_event" in info["extra"]
    # The grid is off Sumatra, far from Jakarta's units: a clear error, nothing stored.
    runner.invoke(app, ["admin", "import-jakarta", str(shared / "jakarta"), "--bank", str(bank)])
    pop = shared / "jakarta/flood-inasafe-2007-hkv/Population_Jakarta_geographic.asc"
    runner.invoke(app, ["import", str(pop), "--layer", "population_hkv", "--bank", str(bank)])
    far = runner.invoke(
        app,
        [
            "impact",
            "earthquake",
            "--hazard",
            "mmi_sumatra",
            "--exposure",
            "population_hkv",
            "--density",
            "--density-unit-km2",
            "0.1",
            "--bank",
            str(bank),
        ],
    )
    assert far.exit_code != 0
    _constant_mmi(tmp_path / "mmi8.tif", 8.0)
    runner.invoke(
        app,
        [
            "import",
            str(tmp_path / "mmi8.tif"),
            "--layer",
            "mmi_8",
            "--theme",
            "hazard",
            "--bank",
            str(bank),
        ],
    )
    ok = runner.invoke(
        app,
        [
            "impact",
            "earthquake",
            "--hazard",
            "mmi_8",
            "--exposure",
            "population_hkv",
            "--density",
            "--density-unit-km2",
            "0.1",
            "--model",
            "pager",
            "--level",
            "kota",
            "--bank",
            str(bank),
            "--json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    record = json.loads(ok.stdout)["record"]
    assert record["summary"]["fatalities"] > 0
    again = json.loads(
        runner.invoke(app, ["impact", "replay", record["id"], "--bank", str(bank), "--json"]).stdout
    )
    assert again["identical"] is True
