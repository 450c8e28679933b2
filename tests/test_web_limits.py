"""Oversized API writes: a 413 problem before the body is read, nothing stored, audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tangguh.bank import open_bank
from tangguh.demo import build_city, load_city
from tangguh.warning.tables.delivery import tg_subscriber
from tangguh.web import create_app
from tangguh.web.tables import tg_web_audit

V1 = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def bank_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("limits") / "bank.gpkg"
    with open_bank(str(path)) as bank:
        load_city(bank, build_city("small"))
    return path


@pytest.fixture()
def client(bank_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("TANGGUH_WEB_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("TANGGUH_WEB_RATE_BURST", "1000")
    with TestClient(create_app(str(bank_path))) as c:
        yield c


def _counts(path: Path) -> tuple[int, int]:
    with open_bank(str(path)) as bank, bank.connect() as conn:
        subs = conn.execute(select(func.count()).select_from(tg_subscriber)).scalar_one()
        audit = conn.execute(select(func.count()).select_from(tg_web_audit)).scalar_one()
    return int(subs), int(audit)


def _big_subscription() -> bytes:
    return json.dumps(
        {"lon": 106.8, "lat": -6.2, "language": "id", "channels": {"sms": "+62" + "1" * 8000}}
    ).encode()


def test_declared_oversized_json_is_refused(client: TestClient, bank_path: Path) -> None:
    subs, audit = _counts(bank_path)
    body = _big_subscription()
    r = client.post(
        f"{V1}/subscriptions", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert "4,096" in problem["detail"] and problem["detail_id"] and problem["hint_id"]
    new_subs, new_audit = _counts(bank_path)
    assert new_subs == subs  # nothing stored
    assert new_audit == audit + 1  # the refusal is in the audit log


def test_chunked_oversized_body_is_refused_while_streaming(
    client: TestClient, bank_path: Path
) -> None:
    subs, _ = _counts(bank_path)
    body = _big_subscription()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    r = client.post(
        f"{V1}/subscriptions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert r.json()["status"] == 413
    assert _counts(bank_path)[0] == subs


def test_small_bodies_and_reads_pass(client: TestClient) -> None:
    r = client.post(
        f"{V1}/subscriptions",
        json={"lon": 106.8, "lat": -6.2, "language": "id", "channels": {"sms": "+6281234"}},
    )
    assert r.status_code != 413
    assert client.get(f"{V1}/units", params={"level": "kota"}).status_code == 200
    # Multipart bodies (a report with its photo) have the photo's own, larger limit.
    files = {"photo": ("p.jpg", b"\xff\xd8\xff" + b"0" * 20_000, "image/jpeg")}
    r = client.post(f"{V1}/reports", data={"lon": "106.8", "lat": "-6.2"}, files=files)
    assert r.status_code != 413
