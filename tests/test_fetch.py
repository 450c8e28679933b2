"""Tests of tangguh.fetch against a real HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _file_server import FileServer, serve
from tangguh.errors import FetchError, InputError, NotFoundError
from tangguh.fetch import (
    ENV_VAR,
    FetchResult,
    Source,
    fetch,
    file_sha256,
    load_registry,
    parse_registry,
    read_meta,
)


@pytest.fixture()
def server() -> Iterator[FileServer]:
    with serve(FileServer()) as state:
        yield state


def _source(server: FileServer, path: str, **extra: str | None) -> Source:
    return Source(
        name=extra.pop("name", None) or "test-file",
        url=server.url + path,
        format="bin",
        licence="CC0-1.0",
        attribution="test",
        description="file made by the test",
        **extra,
    )


# Realistic-sized payload: 300 KB of pseudo-random bytes (several 64 KiB chunks).
PAYLOAD = hashlib.sha256(b"tangguh").digest() * (300_000 // 32)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_verify_and_cache_hit(server: FileServer, tmp_path: Path) -> None:
    server.files["/data/rw.gpkg"] = PAYLOAD
    source = _source(server, "/data/rw.gpkg", sha256=PAYLOAD_SHA)
    registry = {source.name: source}
    cache = tmp_path / "cache"

    first = fetch("test-file", cache_dir=cache, registry=registry)
    assert isinstance(first, FetchResult)
    assert first.path == cache / "rw.gpkg"
    assert first.path.read_bytes() == PAYLOAD
    assert first.sha256 == PAYLOAD_SHA and first.bytes == len(PAYLOAD)
    assert first.from_cache is False and first.source is source
    meta = read_meta(first.path)
    assert meta is not None
    assert meta["sha256"] == PAYLOAD_SHA and meta["url"] == source.url
    assert meta["fetched_at"] and meta["bytes"] == len(PAYLOAD)
    assert sorted(p.name for p in cache.iterdir()) == ["rw.gpkg", "rw.gpkg.meta.json"]
    assert server.hits["/data/rw.gpkg"] == 1

    second = fetch("test-file", cache_dir=cache, registry=registry)
    assert second.from_cache is True and second.sha256 == PAYLOAD_SHA
    assert server.hits["/data/rw.gpkg"] == 1  # no request at all

    forced = fetch("test-file", cache_dir=cache, registry=registry, force=True)
    assert forced.from_cache is False
    assert server.hits["/data/rw.gpkg"] == 2


def test_unpinned_source_uses_sidecar_checksum(server: FileServer, tmp_path: Path) -> None:
    server.files["/feed.json"] = b'{"Infogempa": {"gempa": {"Magnitude": "5.3"}}}'
    source = _source(server, "/feed.json", filename="autogempa.json")
    registry = {source.name: source}
    first = fetch("test-file", cache_dir=tmp_path, registry=registry)
    assert first.path.name == "autogempa.json" and not first.from_cache
    assert fetch("test-file", cache_dir=tmp_path, registry=registry).from_cache
    assert server.hits["/feed.json"] == 1
    # A cached file edited by hand no longer matches its sidecar: it is fetched again.
    first.path.write_bytes(b"edited")
    again = fetch("test-file", cache_dir=tmp_path, registry=registry)
    assert again.from_cache is False
    assert again.path.read_bytes() == server.files["/feed.json"]
    assert server.hits["/feed.json"] == 2


def test_checksum_mismatch_leaves_no_file(server: FileServer, tmp_path: Path) -> None:
    server.files["/java.osm.pbf"] = PAYLOAD
    source = _source(server, "/java.osm.pbf", sha256="0" * 64)
    with pytest.raises(FetchError, match="checksum mismatch") as info:
        fetch("test-file", cache_dir=tmp_path, registry={source.name: source})
    assert info.value.where == source.url
    assert info.value.hint and "cached copy was kept" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch_keeps_old_copy(server: FileServer, tmp_path: Path) -> None:
    server.files["/rw.shp"] = PAYLOAD
    good = _source(server, "/rw.shp", sha256=PAYLOAD_SHA)
    fetch("test-file", cache_dir=tmp_path, registry={good.name: good})
    server.files["/rw.shp"] = b"tampered mirror content"
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch("test-file", cache_dir=tmp_path, registry={good.name: good}, force=True)
    assert (tmp_path / "rw.shp").read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rw.shp", "rw.shp.meta.json"]
    assert file_sha256(tmp_path / "rw.shp") == PAYLOAD_SHA


def test_http_404(server: FileServer, tmp_path: Path) -> None:
    source = _source(server, "/gone.zip")
    with pytest.raises(FetchError) as info:
        fetch("test-file", cache_dir=tmp_path, registry={source.name: source})
    assert "HTTP 404" in info.value.message
    assert info.value.where == source.url
    assert info.value.hint and "moved" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_etag_conditional_get(server: FileServer, tmp_path: Path) -> None:
    server.files["/nowcast.xml"] = (
        b"<rss><channel><title>Peringatan Dini Cuaca</title></channel></rss>"
    )
    server.etags["/nowcast.xml"] = '"v1"'
    source = _source(server, "/nowcast.xml")
    registry = {source.name: source}
    first = fetch("test-file", cache_dir=tmp_path, registry=registry)
    meta = read_meta(first.path)
    assert meta is not None and meta["etag"] == '"v1"'

    checked = fetch("test-file", cache_dir=tmp_path, registry=registry, revalidate=True)
    assert checked.from_cache is True
    assert server.hits["/nowcast.xml"] == 2 and server.not_modified["/nowcast.xml"] == 1
    meta = read_meta(first.path)
    assert meta is not None and "checked_at" in meta

    server.files["/nowcast.xml"] = b"<rss><channel><title>updated</title></channel></rss>"
    server.etags["/nowcast.xml"] = '"v2"'
    changed = fetch("test-file", cache_dir=tmp_path, registry=registry, revalidate=True)
    assert changed.from_cache is False
    assert changed.path.read_bytes() == server.files["/nowcast.xml"]
    meta = read_meta(changed.path)
    assert meta is not None and meta["etag"] == '"v2"'
    assert server.not_modified["/nowcast.xml"] == 1


def test_progress_increases(server: FileServer, tmp_path: Path) -> None:
    server.files["/big.bin"] = PAYLOAD
    source = _source(server, "/big.bin")
    calls: list[tuple[int, int | None]] = []
    fetch(
        "test-file",
        cache_dir=tmp_path,
        registry={source.name: source},
        progress=lambda done, total: calls.append((done, total)),
    )
    assert len(calls) >= 3
    received = [done for done, _ in calls]
    assert received == sorted(received) and len(set(received)) == len(received)
    assert received[-1] == len(PAYLOAD)
    assert {total for _, total in calls} == {len(PAYLOAD)}


def test_truncated_response_and_timeout(server: FileServer, tmp_path: Path) -> None:
    server.files["/cut.zip"] = PAYLOAD
    server.truncate.add("/cut.zip")
    cut = _source(server, "/cut.zip", name="cut")
    with pytest.raises(FetchError, match="failed") as info:
        fetch("cut", cache_dir=tmp_path, registry={cut.name: cut})
    assert info.value.hint and "network" in info.value.hint
    assert list(tmp_path.iterdir()) == []

    server.files["/slow.json"] = b"{}"
    server.slow.add("/slow.json")
    slow = _source(server, "/slow.json", name="slow")
    with httpx.Client(timeout=0.2) as client, pytest.raises(FetchError, match="timed out"):
        fetch("slow", cache_dir=tmp_path, registry={slow.name: slow}, client=client)
    assert list(tmp_path.iterdir()) == []


def test_unknown_name_suggests(tmp_path: Path) -> None:
    registry = load_registry()
    with pytest.raises(NotFoundError) as info:
        fetch("bmkg-autogemp", cache_dir=tmp_path, registry=registry)
    assert info.value.hint and "bmkg-autogempa" in info.value.hint
    with pytest.raises(NotFoundError) as info:
        fetch("zzzz", cache_dir=tmp_path, registry=registry)
    assert info.value.hint and "--list" in info.value.hint


def test_packaged_registry() -> None:
    registry = load_registry()
    assert {"geofabrik-java", "bmkg-autogempa", "transjakarta-gtfs", "hdx-cod-ab-idn"} <= set(
        registry
    )
    for source in registry.values():
        assert source.url.startswith("https://")
        assert source.licence and source.attribution and source.description
    assert registry["geofabrik-java"].licence == "ODbL-1.0"
    assert registry["geofabrik-java"].sha256 is None  # a daily file is never pinned
    assert registry["transjakarta-gtfs"].cache_name == "transjakarta_gtfs.zip"
    assert registry["bmkg-autogempa"].cache_name == "autogempa.json"


def test_pinned_checksums_match_the_real_files() -> None:
    """Pinned InaSAFE entries must match the byte-identical copies in ../shared/data."""
    data = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jakarta"
    if not data.is_dir():
        pytest.skip(f"real Jakarta data not available: {data}")
    registry = load_registry()
    local = {
        "inasafe-rw-jakarta-shp": data / "admin-inasafe-2012" / "shapefile" / "rw_jakarta.shp",
        "inasafe-kelurahan-jakarta-dbf": data
        / "admin-inasafe-2012"
        / "shapefile"
        / "kelurahan_jakarta.dbf",
        "inasafe-jakarta-buildings": data / "osm-inasafe" / "jakarta_building.gpkg",
    }
    for name, path in local.items():
        assert registry[name].sha256 == file_sha256(path), name
        assert registry[name].cache_name == path.name


def test_user_registry_merges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        """
[sources.bpbd-posko]
url = "https://example.invalid/posko.csv"
format = "csv"
licence = "internal"
attribution = "BPBD DKI Jakarta"
description = "Posko banjir list"
sha256 = ""

[sources.bmkg-autogempa]
url = "https://mirror.example.invalid/autogempa.json"
format = "json"
licence = "BMKG"
attribution = "BMKG"
description = "local mirror"
""",
        encoding="utf-8",
    )
    merged = load_registry(user)
    assert merged["bpbd-posko"].sha256 is None
    assert merged["bmkg-autogempa"].url.startswith("https://mirror.")
    assert "geofabrik-java" in merged
    monkeypatch.setenv(ENV_VAR, str(user))
    assert load_registry()["bpbd-posko"].attribution == "BPBD DKI Jakarta"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.toml"))
    with pytest.raises(InputError, match="cannot read source registry"):
        load_registry()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sources.x\n", "invalid TOML"),
        ('[sources.x]\nurl = "https://a.b/c"\n', "missing format"),
        (
            '[sources.x]\nurl = "ftp://a.b/c"\nformat="f"\nlicence="l"\n'
            'attribution="a"\ndescription="d"\n',
            "url must be http",
        ),
        (
            '[sources.x]\nurl = "https://a.b/c"\nformat="f"\nlicence="l"\n'
            'attribution="a"\ndescription="d"\nsha256="abc"\n',
            "64 hexadecimal",
        ),
        (
            '[sources.x]\nurl = "https://a.b/c"\nformat="f"\nlicence="l"\n'
            'attribution="a"\ndescription="d"\nchecksum="abc"\n',
            "unknown key",
        ),
        ('[sources."Bad Name"]\nurl = "https://a.b/c"\n', "invalid source name"),
        ("[other]\nx = 1\n", "unknown top-level"),
    ],
)
def test_registry_validation(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_registry(text, where="bad.toml")
    assert info.value.where is not None and info.value.where.startswith("bad.toml")


def test_sidecar_is_json(server: FileServer, tmp_path: Path) -> None:
    server.files["/a.csv"] = b"kelurahan,population\nKENARI,12345\n"
    source = _source(server, "/a.csv")
    result = fetch("test-file", cache_dir=tmp_path, registry={source.name: source})
    sidecar = json.loads((tmp_path / "a.csv.meta.json").read_text(encoding="utf-8"))
    assert sidecar["sha256"] == result.sha256 == hashlib.sha256(server.files["/a.csv"]).hexdigest()
    assert sidecar["licence"] == "CC0-1.0"
