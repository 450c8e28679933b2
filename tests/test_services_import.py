"""Service layer import: kinds, checks of issue 6 §7 (overlapping zones, households served
above households living, missing columns, bad dates) and the bank left unchanged on failure."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from tangguh.bank import Bank
from tangguh.cli.main import app
from tangguh.demo import build_city
from tangguh.errors import ImportError_
from tangguh.services.importers import import_service_file, import_service_frame
from tangguh.services.model import KINDS, validate_frame

runner = CliRunner()


@pytest.fixture(scope="module")
def city():  # type: ignore[no-untyped-def]
    return build_city("small", seed=0)


@pytest.fixture
def demo(bank: Bank, city) -> Bank:  # type: ignore[no-untyped-def]
    """A bank with the small demo city's admin units (all the checks need)."""
    bank.write_layer("admin_units", city.layers["admin_units"], key="unit_id")
    return bank


def _zones(ids: list[str], boxes: list[tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": ids, "operator": ["PAM"] * len(ids), "coverage_pct": [60.0] * len(ids)},
        geometry=[shapely.box(*b) for b in boxes],
        crs="EPSG:4326",
    )


def test_overlapping_zones_refused_then_kept_with_flags(demo: Bank) -> None:
    x0, y0, x1, y1 = demo.read_layer("admin_units").total_bounds
    mx = (x0 + x1) / 2
    good = _zones(["z1", "z2"], [(x0, y0, mx, y1), (mx, y0, x1, y1)])
    first = import_service_frame(demo, good, "water_zones")
    assert first.version is not None and first.version.version == 1
    assert not [f for f in first.flags if f.code == "zone_overlap"]  # shared border only

    overlap = _zones(["z1", "z2"], [(x0, y0, mx + 0.01, y1), (mx, y0, x1, y1)])
    with pytest.raises(ImportError_, match=r"1 pair\(s\) of zones overlap \(z1 x z2: [\d,.]+ ha"):
        import_service_frame(demo, overlap, "water_zones")
    # nothing written: still version 1 without overlaps
    assert [v.version for v in demo.history("svc_water_zones")] == [1]

    kept = import_service_frame(demo, overlap, "water_zones", allow_overlaps=True)
    flag = next(f for f in kept.flags if f.code == "zone_overlap")
    assert flag.ids == ["z1", "z2"]
    # 0.01 degree of longitude x the height of the city, in m²
    height_m = (y1 - y0) * 110_574
    assert flag.values["area_m2"] == pytest.approx(0.01 * 110_400 * height_m, rel=0.05)
    back = demo.read_layer("svc_water_zones")
    assert back.set_index("zone_id")["overlaps"]["z1"].startswith("z2 (")
    info = demo.layer("svc_water_zones")
    assert info.extra["service_kind"] == "water_zones"
    assert info.theme == "services"


def test_households_served_above_living_is_flagged_per_unit(demo: Bank) -> None:
    units = demo.read_layer("admin_units")
    rw = units[units["level"] == "rw"].head(3)
    hh = rw["households"].to_numpy()
    frame = gpd.GeoDataFrame(
        {"unit_id": rw["unit_id"].to_numpy(), "households_served": [hh[0] + 250, hh[1], 10]},
        geometry=[None] * 3,
        crs="EPSG:4326",
    )
    result = import_service_frame(demo, frame, "water_connections")
    over = [f for f in result.flags if f.code == "households_over"]
    assert len(over) == 1
    assert over[0].ids == [rw["unit_id"].iloc[0]]
    assert over[0].values == {
        "households_served": float(hh[0] + 250),
        "households_living": pytest.approx(float(hh[0])),
    }
    assert f"{hh[0] + 250:,}" in over[0].message and f"{hh[0]:,}" in over[0].message
    with pytest.raises(ImportError_, match="households served exceed households living"):
        import_service_frame(demo, frame, "water_connections", strict=True)
    assert len(demo.history("svc_water_connections")) == 1


def test_unknown_unit_and_missing_columns_refused(demo: Bank) -> None:
    frame = gpd.GeoDataFrame(
        {"unit_id": ["rw:nowhere"], "households_served": [5]},
        geometry=[None],
        crs="EPSG:4326",
    )
    with pytest.raises(ImportError_, match="not admin units") as err:
        import_service_frame(demo, frame, "water_connections")
    assert err.value.message_id and err.value.hint_id
    no_col = frame.drop(columns=["households_served"])
    with pytest.raises(ImportError_, match=r"missing required column.*households_served"):
        import_service_frame(demo, no_col, "water_connections")
    assert not demo.has_layer("svc_water_connections")


def test_bad_dates_refused_with_row_and_field(demo: Bank, tmp_path: Path) -> None:
    csv = tmp_path / "incidents.csv"
    csv.write_text(
        "incident_id,type,start,end,lon,lat,radius_m\n"
        "a,water_cut,2024-12-01 08:00,2024-12-02 09:00,106.80,-6.20,300\n"
        "b,pipe_burst,2024-12-40 08:00,,106.81,-6.20,200\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportError_, match="'start' are not a date") as err:
        import_service_file(demo, csv, "service_incidents")
    assert "row 1" in (err.value.where or "") and "'start'" in (err.value.where or "")
    assert not demo.has_layer("svc_incidents")
    csv.write_text(
        "incident_id,type,start,end,lon,lat,radius_m\n"
        "a,water_cut,2024-12-02 08:00,2024-12-01 09:00,106.80,-6.20,300\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportError_, match="end before they start"):
        import_service_file(demo, csv, "service_incidents")


def test_incident_points_become_circles(demo: Bank, tmp_path: Path) -> None:
    csv = tmp_path / "incidents.csv"
    csv.write_text(
        "incident_id,type,start,lon,lat,radius_m\n"
        "a,tps_overflow,2024-12-01T08:00,106.80,-6.20,300\n"
        "b,water_cut,2024-12-01T08:00+00:00,106.81,-6.21,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportError_, match="points without radius_m or unit_ids"):
        import_service_file(demo, csv, "service_incidents")
    csv.write_text(
        "incident_id,type,start,lon,lat,radius_m\na,tps_overflow,2024-12-01T08:00,106.80,"
        "-6.20,300\n",
        encoding="utf-8",
    )
    result = import_service_file(demo, csv, "service_incidents")
    back = demo.read_layer("svc_incidents")
    assert back.geometry.iloc[0].geom_type == "Polygon"
    area = back.to_crs("EPSG:32748").area.iloc[0]
    assert area == pytest.approx(np.pi * 300**2, rel=0.01)
    # WIB without a zone: 08:00 WIB = 01:00 UTC
    assert back["start"].iloc[0].isoformat() == "2024-12-01T01:00:00+00:00"
    assert result.rows == 1


def test_validate_frame_types_and_choices() -> None:
    frame = gpd.GeoDataFrame(
        {"tank_id": ["t1", "t2"], "type": ["Septic_Tank", "cubluk"], "shared": ["ya", "no"]},
        geometry=shapely.points([[106.8, -6.2], [106.81, -6.2]]),
        crs="EPSG:4326",
    )
    with pytest.raises(ImportError_, match=r"'type' are not known.*cubluk"):
        validate_frame("septic_tanks", frame)
    frame.loc[1, "type"] = "pit_no_slab"
    out = validate_frame("septic_tanks", frame)
    assert out["type"].tolist() == ["septic_tank", "pit_no_slab"]
    assert out["shared"].tolist() == [True, False]
    dup = frame.assign(tank_id=["t1", "t1"])
    with pytest.raises(ImportError_, match="share a 'tank_id'"):
        validate_frame("septic_tanks", dup)
    lines = frame.set_geometry(shapely.linestrings([[[0, 0], [1, 1]], [[1, 1], [2, 2]]]))
    with pytest.raises(ImportError_, match="expected point"):
        validate_frame("septic_tanks", lines)


def test_cli_import_table_csv_and_layers(bank_url: str, city, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tangguh.bank import open_bank

    with open_bank(bank_url) as b:
        b.write_layer("admin_units", city.layers["admin_units"], key="unit_id")
    rw = city.layers["admin_units"].query("level == 'rw'").head(4)
    csv = tmp_path / "sambungan.csv"
    lines = ["Kode RW;KK Terlayani"] + [
        f"{u};{int(h) // 2}" for u, h in zip(rw["unit_id"], rw["households"], strict=True)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = runner.invoke(
        app,
        ["services", "import", str(csv), "--kind", "water_connections", "--bank", bank_url,
         "--rename", "Kode RW=unit_id", "--rename", "KK Terlayani=households_served", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["layer"] == "svc_water_connections" and data["rows"] == 4
    res = runner.invoke(
        app,
        ["services", "import", str(csv), "--kind", "water_connections", "--bank", bank_url],
    )
    assert res.exit_code == 3  # ImportError_: missing required columns
    assert "unit_id" in res.output
    res = runner.invoke(app, ["services", "layers", "--json"])
    kinds = {k["kind"]: k for k in json.loads(res.stdout)}
    assert set(kinds) == set(KINDS)
    assert "water_service_zones" in kinds["water_zones"]["aliases"]
    res = runner.invoke(app, ["services", "layers", "service_incidents"])
    assert res.exit_code == 0 and "radius_m" in res.output
