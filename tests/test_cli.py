"""The `tangguh` command line, end to end on real files (embedded bank)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from tangguh.cli.main import app

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def table_state(path: Path) -> list[tuple[str, int]]:
    """Every table of a GeoPackage with its row count: 'the bank exactly as it was'."""
    con = sqlite3.connect(path)
    names = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'rtree_%' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    state = [(n, con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names]
    con.close()
    return state


def test_import_export_history_and_gdal_agrees(tmp_path: Path, shared: Path) -> None:
    bank = tmp_path / "b.gpkg"
    hospitals = shared / "jakarta/facilities-petadasar/rumah-sakit.geojson"
    out = json.loads(
        run(
            "import",
            hospitals,
            "--layer",
            "hospitals",
            "--bank",
            bank,
            "--theme",
            "facilities",
            "--title-id",
            "Rumah sakit",
            "--title-en",
            "Hospitals",
            "--licence",
            "unknown",
            "--json",
        )
    )
    assert out["version"]["added"] == 191
    run(
        "import",
        shared / "jakarta/admin-inasafe-2012/shapefile/kecamatan_jakarta.shp",
        "--layer",
        "kecamatan",
        "--bank",
        bank,
        "--theme",
        "admin",
    )
    layers = json.loads(run("layers", "--bank", bank, "--json"))
    assert {(x["id"], x["feature_count"]) for x in layers} == {
        ("hospitals", 191),
        ("kecamatan", 42),
    }
    gdal = {
        name: pyogrio.read_info(bank, layer=name)["features"]
        for name, _ in pyogrio.list_layers(bank)
    }
    assert gdal == {x["id"]: x["feature_count"] for x in layers}
    shown = json.loads(run("layer", "show", "hospitals", "--bank", bank, "--json"))
    assert shown["title_id"] == "Rumah sakit" and shown["theme"] == "facilities"

    # A second import of the same file is a new version with nothing changed.
    run("import", hospitals, "--layer", "hospitals", "--bank", bank)
    history = json.loads(run("layer", "history", "hospitals", "--bank", bank, "--json"))
    assert [(h["version"], h["added"], h["removed"]) for h in history] == [(2, 0, 0), (1, 191, 0)]

    target = tmp_path / "subset.geojson"
    run(
        "export", "hospitals", "--bank", bank, "--to", target, "--bbox", "106.80,-6.25,106.90,-6.15"
    )
    subset = pyogrio.read_dataframe(target)
    assert 0 < len(subset) < 191
    assert subset.geometry.x.between(106.80, 106.90).all()
    for suffix in ("gpkg", "csv", "fgb", "parquet"):
        run("export", "kecamatan", "--bank", bank, "--to", tmp_path / f"kec.{suffix}")
        assert (tmp_path / f"kec.{suffix}").stat().st_size > 0


def test_bad_inputs_leave_the_bank_unchanged(tmp_path: Path) -> None:
    bank = tmp_path / "b.gpkg"
    good = tmp_path / "good.csv"
    good.write_text("name,lon,lat\nMonas,106.8272,-6.1754\n")
    run("import", good, "--layer", "points", "--bank", bank)
    before = table_state(bank)

    truncated = tmp_path / "broken.geojson"
    truncated.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geo')
    missing = tmp_path / "missing.csv"
    missing.write_text("name,lon,lat\nA,106.8,-6.2\nB,,-6.3\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,lon,lat\nPasar Rebo \xe9,106.8,-6.2\n".encode("latin-1"))
    no_shp = tmp_path / "no_shp.zip"
    import zipfile

    with zipfile.ZipFile(no_shp, "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    mixed = tmp_path / "mixed.geojson"
    mixed.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [106.8, -6.2]},
                    },
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[106.8, -6.2], [106.9, -6.2], [106.9, -6.1], [106.8, -6.2]]
                            ],
                        },
                    },
                ],
            }
        )
    )
    wrong_crs = tmp_path / "utm.csv"
    wrong_crs.write_text("name,lon,lat\nA,700000,9300000\n")
    cases = [
        (truncated, "broken.geojson"),
        (missing, "line 3"),
        (latin, "latin-1"),
        (no_shp, ".shp"),
        (empty, "no features"),
        (mixed, "geometry"),
        (wrong_crs, "EPSG:32748"),
    ]
    for path, expected in cases:
        result = runner.invoke(app, ["import", str(path), "--layer", "points", "--bank", str(bank)])
        assert result.exit_code == 3, (path, result.output)
        assert expected.lower() in " ".join(result.output.lower().split()), (path, result.output)
        assert table_state(bank) == before, path
    result = runner.invoke(
        app,
        ["import", str(latin), "--layer", "points", "--bank", str(bank), "--encoding", "latin-1"],
    )
    assert result.exit_code == 0, result.output


def test_not_found_and_db_upgrade_exit_codes(tmp_path: Path) -> None:
    bank = tmp_path / "b.gpkg"
    out = json.loads(run("db", "upgrade", "--bank", bank, "--json"))
    from tangguh.bank._schema import SCHEMA_VERSION

    assert out["schema_version"] == SCHEMA_VERSION
    assert json.loads(run("db", "upgrade", "--bank", bank, "--json"))["applied"] == []
    text = run("layer", "show", "nothing", "--bank", bank, code=4)
    assert "nothing" in text
    run("export", "nothing", "--to", tmp_path / "x.geojson", "--bank", bank, code=4)
    run("layers", "--bank", tmp_path / "absent.gpkg", code=5)


def test_stations_and_observations_cli(tmp_path: Path, shared: Path) -> None:
    bank = tmp_path / "b.gpkg"
    gauges = shared / "jakarta/water-level-gauges"
    stations = tmp_path / "stations.csv"
    stations.write_text(
        "id,name,lon,lat\nkatulampa,Bendung Katulampa,106.837141,-6.633498\n"
        "depok,Pos Depok,106.831571,-6.400541\nmanggarai,PA Manggarai,106.8497,-6.2086\n"
    )
    run(
        "stations",
        "import",
        stations,
        "--kind",
        "river_gauge",
        "--id-field",
        "id",
        "--name-field",
        "name",
        "--bank",
        bank,
    )
    out = json.loads(
        run(
            "obs",
            "import",
            gauges / "katulampa_depok_manggarai_hourly_2021-2025.csv",
            "--time-column",
            "Tanggal",
            "--tz",
            "Asia/Jakarta",
            "--column",
            "Katulampa (air)=katulampa",
            "--column",
            "Depok (air)=depok",
            "--column",
            "Manggarai (air)=manggarai",
            "--bank",
            bank,
            "--json",
        )
    )
    assert out["observations"] == 3 * 31_224
    rows = json.loads(
        run(
            "obs",
            "query",
            "manggarai",
            "--start",
            "2024-02-01",
            "--end",
            "2024-02-02",
            "--bank",
            bank,
            "--json",
        )
    )
    assert len(rows) == 24 and rows[0]["t"] == "2024-02-01T00:00:00+07:00"
    run(
        "obs",
        "import",
        gauges / "katulampa_depok_manggarai_hourly_2021-2025.csv",
        "--time-column",
        "Tanggal",
        "--column",
        "Depok (air)=depok",
        "--bank",
        bank,
        code=3,
    )
    dsda = json.loads(
        run(
            "stations",
            "import",
            gauges / "dsda_waduk_reservoirs.geojson",
            "--kind",
            "reservoir",
            "--id-field",
            "nama_waduk",
            "--prefix",
            "waduk:",
            "--bank",
            bank,
            "--json",
        )
    )
    assert len(dsda["null_island"]) == 4


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_cli_against_a_local_server(tmp_path: Path, http_root: tuple[str, Path]) -> None:
    import hashlib

    base, root = http_root
    payload = b'{"type": "FeatureCollection", "features": []}' * 100
    (root / "data.geojson").write_bytes(payload)
    registry = tmp_path / "sources.toml"
    registry.write_text(
        f'[sources.local-test]\nurl = "{base}/data.geojson"\nformat = "geojson"\n'
        f'licence = "CC0-1.0"\nattribution = "test"\ndescription = "a test file"\n'
        f'sha256 = "{hashlib.sha256(payload).hexdigest()}"\n'
    )
    cache = tmp_path / "cache"
    out = json.loads(
        run("fetch", "local-test", "--registry", registry, "--cache-dir", cache, "--json")
    )
    assert out["bytes"] == len(payload) and not out["from_cache"]
    again = json.loads(
        run("fetch", "local-test", "--registry", registry, "--cache-dir", cache, "--json")
    )
    assert again["from_cache"]
    run("fetch", "local-tset", "--registry", registry, "--cache-dir", cache, code=4)
    listed = json.loads(run("sources", "--registry", registry, "--json"))
    assert "local-test" in {s["name"] for s in listed}


def test_import_with_renames_types_and_mapping_file(tmp_path: Path) -> None:
    bank = tmp_path / "b.gpkg"
    data = tmp_path / "posko.csv"
    data.write_text("NAMA_POSKO,JML_ORANG,x,y\nPosko A,120,106.85,-6.21\nPosko B,80,106.86,-6.22\n")
    out = json.loads(
        run(
            "import",
            data,
            "--layer",
            "posko",
            "--bank",
            bank,
            "--lon",
            "x",
            "--lat",
            "y",
            "--rename",
            "NAMA_POSKO=name",
            "--type",
            "JML_ORANG=int",
            "--json",
        )
    )
    assert out["report"]["renamed"]["NAMA_POSKO"] == "name"
    frame = pyogrio.read_dataframe(bank, layer="posko")
    assert list(frame["name"]) == ["Posko A", "Posko B"]
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'lon = "x"\nlat = "y"\n[rename]\nNAMA_POSKO = "nama"\nJML_ORANG = "kapasitas"\n'
        '[types]\nkapasitas = "float"\n'
    )
    run("import", data, "--layer", "posko2", "--bank", bank, "--mapping", mapping)
    frame2 = pyogrio.read_dataframe(bank, layer="posko2")
    assert frame2["kapasitas"].dtype.kind == "f" and list(frame2["nama"]) == ["Posko A", "Posko B"]
    bad = runner.invoke(
        app,
        [
            "import",
            str(data),
            "--layer",
            "posko3",
            "--bank",
            str(bank),
            "--lon",
            "x",
            "--lat",
            "y",
            "--type",
            "NAMA_POSKO=int",
        ],
    )
    assert bad.exit_code == 3 and "nama_posko" in " ".join(bad.output.split())
