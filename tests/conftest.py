"""Shared fixtures: a bank of each backend, the shared Jakarta data folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tangguh.bank import Bank, open_bank

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TANGGUH_SHARED_DATA", REPO.parent / "shared" / "data"))
PG_URL = os.environ.get("TANGGUH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/tangguh_test")
REQUIRE_PG = os.environ.get("TANGGUH_REQUIRE_PG") == "1"


def _pg_available() -> str | None:
    """None if PostGIS is usable at PG_URL, else the reason it is not."""
    try:
        import psycopg

        with psycopg.connect(PG_URL.split("?")[0], connect_timeout=3, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except Exception as exc:
        return f"PostgreSQL+PostGIS not reachable at {PG_URL}: {exc}"
    return None


_PG_REASON: str | bool | None = False


def pg_reason() -> str | None:
    global _PG_REASON
    if _PG_REASON is False:
        _PG_REASON = _pg_available()
    return _PG_REASON  # type: ignore[return-value]


def new_pg_url() -> str:
    reason = pg_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"TANGGUH_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)
    return f"{PG_URL}?schema=t_{uuid.uuid4().hex[:12]}"


def drop_pg_schema(url: str) -> None:
    import psycopg

    schema = url.split("schema=")[1].split("&")[0]
    with psycopg.connect(PG_URL.split("?")[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["gpkg", "postgis"])
def bank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty bank URL of each backend (the same tests run on both)."""
    if request.param == "gpkg":
        yield str(tmp_path / "bank.gpkg")
        return
    url = new_pg_url() + f"&rasters={tmp_path / 'rasters'}"
    try:
        yield url
    finally:
        drop_pg_schema(url)


@pytest.fixture
def bank(bank_url: str) -> Iterator[Bank]:
    b = open_bank(bank_url)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip(f"shared data folder not found at {SHARED} (set TANGGUH_SHARED_DATA)")
    return SHARED
