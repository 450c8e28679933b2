"""OGC API – Features served by `tangguh serve`: real server, real clients, both backends.

A real uvicorn server runs `tangguh serve` in a subprocess over a bank holding the small
demo city plus a layer with a time column; GDAL's OAPIF driver (through pyogrio), OWSLib
and plain HTTP read it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from typer.testing import CliRunner

from tangguh.bank import LayerMeta, open_bank
from tangguh.cli.main import app as cli_app

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
PROBLEM = "application/problem+json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reports(n: int = 40) -> gpd.GeoDataFrame:
    """Citizen flood reports: points with a report time, a date, depth and a flag."""
    rng = np.random.default_rng(3)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    times = [start + timedelta(hours=int(h)) for h in np.sort(rng.integers(0, 24 * 60, n))]
    return gpd.GeoDataFrame(
        {
            "report_id": np.arange(1, n + 1),
            "reported_at": pd.to_datetime(times, utc=True),
            "depth_cm": rng.uniform(0, 150, n).round(1),
            "verified": rng.integers(0, 2, n).astype(bool),
            "kelurahan": rng.choice(["Pluit", "Penjaringan", "Kapuk Muara"], n),
        },
        geometry=shapely.points(rng.uniform(106.80, 106.86, n), rng.uniform(-6.17, -6.10, n)),
        crs="EPSG:4326",
    )


class Server:
    def __init__(self, url: str, bank_url: str, backend: str) -> None:
        self.url = url
        self.bank_url = bank_url
        self.backend = backend
        self.http = httpx.Client(base_url=url, timeout=60)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def json(self, path: str, **params: Any) -> Any:
        resp = self.get(path, **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def layer(self, layer_id: str) -> gpd.GeoDataFrame:
        with open_bank(self.bank_url) as bank:
            return bank.read_layer(layer_id)


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    from conftest import drop_pg_schema, new_pg_url
    from tangguh.demo import build_city, load_city

    tmp = tmp_path_factory.mktemp(f"web_{request.param}")
    bank_url = (
        str(tmp / "bank.gpkg") if request.param == "gpkg" else new_pg_url() + f"&rasters={tmp}"
    )
    try:
        with open_bank(bank_url) as bank:
            load_city(bank, build_city("small", seed=0))
            bank.write_layer(
                "flood_reports",
                _reports(),
                LayerMeta(
                    title_id="Laporan banjir warga (uji)",
                    title_en="Citizen flood reports (test)",
                    theme="hazard",
                    licence="CC-BY-4.0",
                    keywords=["banjir", "flood"],
                ),
            )
        port = _free_port()
        log = tmp / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from tangguh.cli.main import app; app()",
                    "serve",
                    "--bank",
                    bank_url,
                    "--port",
                    str(port),
                    "--threads",
                    "4",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start: {log.read_text()}")
            time.sleep(0.3)
        srv = Server(url, bank_url, request.param)
        try:
            yield srv
        finally:
            srv.http.close()
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        if request.param == "postgis":
            drop_pg_schema(bank_url)


# -- core endpoints -------------------------------------------------------------------------------
def test_landing_conformance_and_openapi_30(server: Server) -> None:
    import jsonschema_rs
    from schemathesis.specs.openapi.definitions import OPENAPI_30

    landing = server.json("/")
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"service-desc", "service-doc", "conformance", "data", "self"} <= set(rels)
    assert all("type" in link for link in landing["links"])
    classes = server.json("/conformance")["conformsTo"]
    for part in ("core", "geojson", "html", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{part}" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    api = server.get("/api")
    assert api.status_code == 200
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = api.json()
    assert doc["openapi"] == "3.0.3"
    errors = [e.message for e in jsonschema_rs.Draft4Validator(OPENAPI_30).iter_errors(doc)]
    assert errors == []
    items_op = doc["paths"]["/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items_op["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}
    assert "400" in items_op["responses"] and "422" not in items_op["responses"]


def test_collections_carry_catalogue_metadata(server: Server) -> None:
    with open_bank(server.bank_url) as bank:
        catalogue = {i.id: i for i in bank.layers() if i.kind == "vector"}
    doc = server.json("/collections")
    colls = {c["id"]: c for c in doc["collections"]}
    assert set(colls) == set(catalogue)
    for cid, info in catalogue.items():
        c = colls[cid]
        assert c["itemType"] == "feature"
        assert c["title"] == info.title_en
        assert c["tangguh"]["title_id"] == info.title_id
        assert c["keywords"] == info.keywords
        assert CRS84 in c["crs"] and EPSG + "4326" in c["crs"] and EPSG + "3857" in c["crs"]
        assert EPSG + "32748" in c["crs"]
        assert c["storageCrs"] == CRS84
        assert c["extent"]["spatial"]["bbox"][0] == pytest.approx(list(info.bbox))
        assert {"self", "items", "alternate"} <= {link["rel"] for link in c["links"]}
        assert server.json(f"/collections/{cid}")["id"] == cid
    assert colls["buildings"]["license"] == "CC0-1.0"
    assert colls["admin_units"]["extent"]["temporal"]["interval"] == [
        ["2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z"]
    ]
    reports = colls["flood_reports"]
    assert reports["tangguh"]["time_column"] == "reported_at"
    first, last = reports["extent"]["temporal"]["interval"][0]
    assert first.startswith("2024-01") and last.startswith("2024-0")
    indonesian = server.http.get("/collections/buildings", headers={"Accept-Language": "id"})
    assert indonesian.json()["title"] == catalogue["buildings"].title_id
    q = server.get("/collections/flood_reports/queryables")
    assert q.headers["content-type"].startswith("application/schema+json")
    props = q.json()["properties"]
    assert props["reported_at"]["format"] == "date-time" and props["depth_cm"]["type"] == "number"


# -- real clients ---------------------------------------------------------------------------------
def _same_geoms(a: gpd.GeoSeries, b: gpd.GeoSeries) -> bool:
    """Equal geometries; a feature without geometry (null in GeoJSON) on both sides too."""
    x, y = a.to_numpy(), b.to_numpy()
    missing_x, missing_y = shapely.is_missing(x), shapely.is_missing(y)
    if not (missing_x == missing_y).all():
        return False
    both = ~missing_x
    return bool(shapely.equals_exact(x[both], y[both], tolerance=1e-9).all())


def test_gdal_oapif_reads_every_layer(server: Server) -> None:
    with open_bank(server.bank_url) as bank:
        ids = {i.id: i.feature_count for i in bank.layers() if i.kind == "vector"}
    listed = {str(name) for name, _ in pyogrio.list_layers(f"OAPIF:{server.url}")}
    assert listed == set(ids)
    for layer_id, count in ids.items():
        got = pyogrio.read_dataframe(f"OAPIF:{server.url}", layer=layer_id)
        assert len(got) == count, layer_id
        want = server.layer(layer_id)
        key = next(c for c in want.columns if c.endswith("_id") and want[c].is_unique)
        got = got.sort_values(key).reset_index(drop=True)
        want = want.sort_values(key).reset_index(drop=True)
        assert list(got[key]) == list(want[key])
        assert _same_geoms(got.geometry, want.geometry), layer_id
    # A spatial filter is sent to the server as bbox.
    box = (106.82, -6.14, 106.83, -6.13)
    filtered = pyogrio.read_dataframe(f"OAPIF:{server.url}", layer="buildings", bbox=box)
    expected = server.layer("buildings")
    assert len(filtered) == int(expected.intersects(shapely.box(*box)).sum())


def test_owslib_lists_and_reads(server: Server) -> None:
    from owslib.ogcapi.features import Features

    api = Features(server.url)
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    with open_bank(server.bank_url) as bank:
        ids = {i.id for i in bank.layers() if i.kind == "vector"}
    assert set(api.feature_collections()) == ids
    page = api.collection_items("buildings", limit=5)
    assert page["numberReturned"] == 5 and page["numberMatched"] == 3000
    assert len(page["features"]) == 5
    box = [106.82, -6.14, 106.83, -6.13]
    hits = api.collection_items("buildings", bbox=box, limit=10000)
    expected = server.layer("buildings")
    assert hits["numberMatched"] == int(expected.intersects(shapely.box(*box)).sum())
    one = api.collection_item("buildings", str(page["features"][0]["id"]))
    assert one["id"] == page["features"][0]["id"]
    assert {link["rel"] for link in one["links"]} >= {"self", "alternate", "collection"}


# -- CRS ------------------------------------------------------------------------------------------
def test_crs_of_items_and_bbox(server: Server) -> None:
    base = server.json("/collections/shelters/items", limit=3)
    lonlat = [f["geometry"]["coordinates"] for f in base["features"]]
    for code in ("4326", "3857", "32748"):
        resp = server.get("/collections/shelters/items", limit=3, crs=EPSG + code)
        assert resp.status_code == 200
        assert resp.headers["content-crs"] == f"<{EPSG}{code}>"
        coords = [f["geometry"]["coordinates"] for f in resp.json()["features"]]
        tr = pyproj.Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # CRS axis order
        for (lon, lat), got in zip(lonlat, coords, strict=True):
            assert got == pytest.approx(list(tr.transform(lon, lat)), rel=1e-9, abs=1e-6)
    lat, lon = server.json("/collections/shelters/items", limit=1, crs=EPSG + "4326")["features"][
        0
    ]["geometry"]["coordinates"]
    assert -7 < lat < -6 and 106 < lon < 107  # EPSG:4326 is latitude first
    one = server.get(f"/collections/shelters/items/{base['features'][0]['id']}", crs=EPSG + "3857")
    assert one.headers["content-crs"] == f"<{EPSG}3857>"
    assert server.get("/collections/shelters/items").headers["content-crs"] == f"<{CRS84}>"

    box = (106.815, -6.15, 106.835, -6.12)
    ref = {
        f["id"]
        for f in server.json(
            "/collections/buildings/items", bbox=",".join(map(str, box)), limit=10000
        )["features"]
    }
    assert ref
    latlon = f"{box[1]},{box[0]},{box[3]},{box[2]}"
    got = server.json(
        "/collections/buildings/items", bbox=latlon, limit=10000, **{"bbox-crs": EPSG + "4326"}
    )
    assert {f["id"] for f in got["features"]} == ref
    merc = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3857")
    x0, y0 = merc.transform(box[0], box[1])
    x1, y1 = merc.transform(box[2], box[3])
    got = server.json(
        "/collections/buildings/items",
        bbox=f"{x0},{y0},{x1},{y1}",
        limit=10000,
        **{"bbox-crs": EPSG + "3857"},
    )
    assert {f["id"] for f in got["features"]} == ref
    # UTM 48S: the box is not a lon/lat rectangle; compare with an exact test here.
    utm = pyproj.Transformer.from_crs("EPSG:32748", "OGC:CRS84")
    e0, n0, e1, n1 = 700_000.0, 9_320_000.0, 702_000.0, 9_322_000.0
    area = shapely.transform(
        shapely.segmentize(shapely.box(e0, n0, e1, n1), 50),
        lambda x, y: utm.transform(x, y),
        interleaved=False,
    )
    layer = server.layer("buildings")
    expected = int(layer.intersects(area).sum())
    got = server.json(
        "/collections/buildings/items",
        bbox=f"{e0},{n0},{e1},{n1}",
        limit=10000,
        **{"bbox-crs": EPSG + "32748"},
    )
    assert got["numberMatched"] == expected == len(got["features"])


# -- paging, filters, sorting, time ---------------------------------------------------------------
def _walk(server: Server, path: str, **params: Any) -> list[dict[str, Any]]:
    page = server.json(path, **params)
    features = list(page["features"])
    while True:
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            return features
        resp = server.http.get(nxt[0])
        assert resp.status_code == 200
        page = resp.json()
        features += page["features"]


def test_next_links_walk_the_layer_exactly_once(server: Server) -> None:
    features = _walk(server, "/collections/buildings/items", limit=700)
    ids = [f["id"] for f in features]
    assert len(ids) == 3000 == len(set(ids))
    assert ids == sorted(ids)
    # prev from the second page gives the first page back
    first = server.json("/collections/buildings/items", limit=700)
    second = server.http.get(
        next(lk["href"] for lk in first["links"] if lk["rel"] == "next")
    ).json()
    back = server.http.get(next(lk["href"] for lk in second["links"] if lk["rel"] == "prev")).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    # sorted walk (offset paging) is complete and ordered
    roads = _walk(server, "/collections/roads/items", limit=400, sortby="-length_m")
    lengths = [f["properties"]["length_m"] for f in roads]
    assert len(roads) == len({f["id"] for f in roads}) == len(server.layer("roads"))
    assert lengths == sorted(lengths, reverse=True)
    # filtered walk
    box = "106.80,-6.15,106.84,-6.12"
    walked = _walk(server, "/collections/buildings/items", limit=100, bbox=box)
    matched = server.json("/collections/buildings/items", limit=1, bbox=box)["numberMatched"]
    assert len(walked) == len({f["id"] for f in walked}) == matched
    # a limit above the maximum is clamped, not refused
    assert server.json("/collections/buildings/items", limit=50_000)["numberReturned"] == 3000


def test_property_filters_and_sortby(server: Server) -> None:
    layer = server.layer("buildings")
    got = server.json(
        "/collections/buildings/items", building="residential", levels="2", limit=10000
    )
    want = layer[(layer["building"] == "residential") & (layer["levels"] == 2)]
    assert got["numberMatched"] == len(want) == len(got["features"]) > 0
    assert all(f["properties"]["levels"] == 2 for f in got["features"])
    page = server.json("/collections/buildings/items", sortby="-levels,+building_id", limit=50)
    keys = [(-f["properties"]["levels"], f["properties"]["building_id"]) for f in page["features"]]
    assert keys == sorted(keys)
    assert page["features"][0]["properties"]["levels"] == layer["levels"].max()
    verified = server.json("/collections/flood_reports/items", verified="true", limit=100)
    assert verified["numberMatched"] == int(server.layer("flood_reports")["verified"].sum())


def test_datetime_filter(server: Server) -> None:
    reports = server.layer("flood_reports")
    t = reports["reported_at"]

    def count(value: str) -> int:
        return int(
            server.json("/collections/flood_reports/items", datetime=value, limit=1)[
                "numberMatched"
            ]
        )

    start, end = datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 2, 1, 12, tzinfo=UTC)
    assert (
        count("2024-01-10T00:00:00Z/2024-02-01T12:00:00Z")
        == int(((t >= start) & (t <= end)).sum())
        > 0
    )
    assert count("../2024-01-10T00:00:00Z") == int((t <= start).sum())
    assert count("2024-02-01T19:00:00+07:00/..") == int((t >= end).sum())
    instant = t.iloc[5].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert count(instant) == int((t == t.iloc[5]).sum()) >= 1
    day = t.iloc[7].strftime("%Y-%m-%d")
    assert count(day) == int((t.dt.strftime("%Y-%m-%d") == day).sum())
    # layers without a time column use the catalogue's temporal extent, or ignore datetime
    assert (
        server.json("/collections/admin_units/items", datetime="2023-05-01", limit=1)[
            "numberMatched"
        ]
        == 0
    )
    assert (
        server.json("/collections/admin_units/items", datetime="2024-05-01", limit=1)[
            "numberMatched"
        ]
        == 79
    )
    assert (
        server.json("/collections/buildings/items", datetime="2024-05-01", limit=1)["numberMatched"]
        == 3000
    )


# -- downloads, HTML ------------------------------------------------------------------------------
def test_downloads_open_and_match(server: Server, tmp_path: Path) -> None:
    box = "106.80,-6.15,106.84,-6.12"
    page = server.json("/collections/buildings/items", bbox=box, limit=10000)
    want = {f["id"]: f for f in page["features"]}
    layer = server.layer("buildings")
    for fmt in ("csv", "gpkg", "fgb"):
        resp = server.get("/collections/buildings/items", bbox=box, f=fmt)
        assert resp.status_code == 200, resp.text
        assert f"buildings.{fmt}" in resp.headers["content-disposition"]
        path = tmp_path / f"dl.{fmt}"
        path.write_bytes(resp.content)
        if fmt == "csv":
            table = pd.read_csv(path)
            got = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries.from_wkt(table["wkt"]), crs=4326)
        else:
            got = pyogrio.read_dataframe(path, fid_as_index=True)
            if fmt == "gpkg":  # GDAL makes the fid column the GeoPackage's own fid
                got = got.rename_axis("fid").reset_index()
        assert len(got) == len(want) == page["numberMatched"]
        assert set(got["fid"]) == set(want)
        ref = layer.set_index("building_id").loc[got["building_id"]].geometry
        assert _same_geoms(got.geometry.reset_index(drop=True), ref.reset_index(drop=True))
    whole = server.get("/collections/shelters/items", f="gpkg", crs=EPSG + "32748")
    path = tmp_path / "shelters.gpkg"
    path.write_bytes(whole.content)
    info = pyogrio.read_info(path)
    assert info["features"] == len(server.layer("shelters"))
    assert "32748" in info["crs"]


def test_html_pages_are_bilingual(server: Server) -> None:
    for path in (
        "/",
        "/collections",
        "/collections/buildings",
        "/collections/buildings/items",
        "/collections/buildings/items/1",
        "/conformance",
        "/api",
    ):
        resp = server.get(path, f="html")
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].startswith("text/html")
        assert "<html" in resp.text and " / " in resp.text
    browser = server.http.get(
        "/collections", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert "Koleksi data" in browser.text and "Collections" in browser.text
    items = server.get("/collections/buildings/items", f="html", limit=5).text
    assert "berikutnya / next" in items and items.count("<tr>") == 6


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/collections/nope", {}, 404),
        ("/collections/nope/items", {}, 404),
        ("/collections/buildings/items/999999", {}, 404),
        ("/collections/buildings/items/abc", {}, 404),
        ("/no/such/path", {}, 404),
        ("/collections/buildings/items", {"bbox": "1,2,3"}, 400),
        ("/collections/buildings/items", {"bbox": "a,b,c,d"}, 400),
        ("/collections/buildings/items", {"bbox": "106.9,-6.1,106.8,-6.2"}, 400),
        ("/collections/buildings/items", {"bbox": "106.8,-95,106.9,-6"}, 400),
        ("/collections/buildings/items", {"bbox": "nan,1,2,3"}, 400),
        (
            "/collections/buildings/items",
            {"bbox": "106.8,-6.2,106.9,-6.1", "bbox-crs": "EPSG:1"},
            400,
        ),
        ("/collections/buildings/items", {"crs": "EPSG:9999"}, 400),
        ("/collections/buildings/items/1", {"crs": "urn:nothing"}, 400),
        ("/collections/buildings/items", {"datetime": "yesterday"}, 400),
        ("/collections/buildings/items", {"datetime": "2024-13-45"}, 400),
        ("/collections/buildings/items", {"datetime": "2024-02-01T00:00:00"}, 400),
        ("/collections/buildings/items", {"datetime": "2024-03-01/2024-01-01"}, 400),
        ("/collections/buildings/items", {"datetime": "a/b/c"}, 400),
        ("/collections/buildings/items", {"limit": "-1"}, 400),
        ("/collections/buildings/items", {"limit": "0"}, 400),
        ("/collections/buildings/items", {"limit": "ten"}, 400),
        ("/collections/buildings/items", {"offset": "-5"}, 400),
        ("/collections/buildings/items", {"after": "x"}, 400),
        ("/collections/buildings/items", {"after": "1", "before": "9"}, 400),
        ("/collections/buildings/items", {"after": "1", "sortby": "levels"}, 400),
        ("/collections/buildings/items", {"sortby": "nothing"}, 400),
        ("/collections/buildings/items", {"levels": "many"}, 400),
        ("/collections/buildings/items", {"unknown_param": "1"}, 400),
        ("/collections/buildings/items", {"f": "shp"}, 400),
        ("/collections", {"f": "xml"}, 400),
        ("/collections", {"limit": "5"}, 400),
        ("/", {"x": "1"}, 400),
    ],
)
def test_bad_input_is_a_problem_never_a_500(
    server: Server, path: str, params: dict[str, str], status: int
) -> None:
    resp = server.get(path, **params)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["status"] == status and body["detail"] and body["detail_id"]
    assert body["title"] and body["title_id"]


def test_wrong_method_is_a_problem(server: Server) -> None:
    resp = server.http.post("/collections")
    assert resp.status_code == 405 and resp.headers["content-type"].startswith(PROBLEM)


# -- CLI / app construction -----------------------------------------------------------------------
def test_serve_refuses_bad_options_and_missing_bank(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["serve", "--bank", str(tmp_path / "none.gpkg"), "--port", "0"])
    assert result.exit_code == 2
    result = runner.invoke(cli_app, ["serve", "--bank", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 5  # BankError: no bank there
    from tangguh.errors import InputError
    from tangguh.web import create_app

    with pytest.raises(InputError, match="unknown web settings"):
        create_app(str(tmp_path / "none.gpkg"), colour="red")
