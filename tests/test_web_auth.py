"""Accounts and keys: `tangguh users …` / `tangguh keys …` and what they mean for the API.

Both backends (the ``bank_url`` fixture). The CLI is tested on a local Typer app with
``register`` until the lead wires it into ``tangguh.cli.main``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import timedelta

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from tangguh.bank import open_bank
from tangguh.cli._users import register
from tangguh.web import create_app
from tangguh.web.api import security
from tangguh.web.tables import tg_web_key, tg_web_user

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

V1 = "/api/v1"
PASSWORD = "frasa sandi yang panjang"
runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def bank_path(bank_url: str) -> Iterator[str]:
    with open_bank(bank_url):
        pass  # a new, empty bank (all migrations)
    yield bank_url


def _login(client: TestClient, username: str, password: str) -> int:
    r = client.post(f"{V1}/auth/token", data={"username": username, "password": password})
    return r.status_code


def test_users_cli_and_login(cli: typer.Typer, bank_path: str) -> None:
    b = ["--bank", bank_path]
    # Password asked twice on the terminal (hidden).
    r = runner.invoke(cli, ["users", "add", "sri.operator", "--role", "operator", *b, "--json"],
                      input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout[r.stdout.index("{") :])
    assert added["role"] == "operator" and added["username"] == "sri.operator"
    r = runner.invoke(cli, ["users", "add", "andi", *b], env={"TANGGUH_PASSWORD": PASSWORD})
    assert r.exit_code == 0, r.output
    # Bad role, short password, taken name: exit code 2 (input error), in both languages.
    bad = runner.invoke(
        cli, ["users", "add", "x1y", "--role", "root", *b], env={"TANGGUH_PASSWORD": PASSWORD}
    )
    assert bad.exit_code != 0 and "peran" in bad.output + (bad.stderr or "")
    short = runner.invoke(cli, ["users", "add", "pendek", *b], env={"TANGGUH_PASSWORD": "123"})
    assert short.exit_code != 0
    dup = runner.invoke(cli, ["users", "add", "andi", *b], env={"TANGGUH_PASSWORD": PASSWORD})
    assert dup.exit_code != 0 and "sudah dipakai" in dup.output + (dup.stderr or "")

    listed = json.loads(runner.invoke(cli, ["users", "list", *b, "--json"]).stdout)
    assert {u["username"]: u["role"] for u in listed} == {
        "andi": "citizen",
        "sri.operator": "operator",
    }
    with open_bank(bank_path) as bank, bank.connect() as conn:
        hashes = [h for (h,) in conn.execute(select(tg_web_user.c.password_hash))]
    assert all(h.startswith("scrypt$16384$8$1$") and PASSWORD not in h for h in hashes)

    with TestClient(create_app(bank_path)) as client:
        assert _login(client, "sri.operator", PASSWORD) == 200
        token = client.post(
            f"{V1}/auth/token", data={"username": "sri.operator", "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get(f"{V1}/auth/me", headers=auth).json()["role"] == "operator"
        # A new password logs the user out everywhere.
        r = runner.invoke(cli, ["users", "passwd", "sri.operator", *b],
                          env={"TANGGUH_PASSWORD": PASSWORD + "!"})  # fmt: skip
        assert r.exit_code == 0, r.output
        assert client.get(f"{V1}/auth/me", headers=auth).status_code == 401
        assert _login(client, "sri.operator", PASSWORD) == 401
        assert _login(client, "sri.operator", PASSWORD + "!") == 200
        # Disabled users cannot log in.
        assert runner.invoke(cli, ["users", "disable", "andi", *b]).exit_code == 0
        assert _login(client, "andi", PASSWORD) == 401
    missing = runner.invoke(cli, ["users", "disable", "nobody", *b])
    assert missing.exit_code != 0


def test_keys_cli(cli: typer.Typer, bank_path: str) -> None:
    b = ["--bank", bank_path]
    r = runner.invoke(
        cli, ["keys", "create", "--label", "dashboard BPBD", "--role", "admin", *b, "--json"]
    )
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    key = created["key"]
    assert key.startswith(f"tgk_{created['key_id']}_") and len(key) > 48
    listed = runner.invoke(cli, ["keys", "list", *b, "--json"])
    assert key not in listed.stdout
    assert [k["label"] for k in json.loads(listed.stdout)] == ["dashboard BPBD"]
    with open_bank(bank_path) as bank, bank.connect() as conn:
        stored = conn.execute(select(tg_web_key.c.key_hash)).scalar()
    assert stored != key and len(str(stored)) == 64
    with TestClient(create_app(bank_path)) as client:
        ok = client.get(f"{V1}/admin/users", headers={"X-API-Key": key})
        assert ok.status_code == 200
        assert runner.invoke(cli, ["keys", "revoke", created["key_id"], *b]).exit_code == 0
        gone = client.get(f"{V1}/admin/users", headers={"X-API-Key": key})
        assert gone.status_code == 401
        assert gone.headers["content-type"].startswith("application/problem+json")
    assert runner.invoke(cli, ["keys", "revoke", "knope", *b]).exit_code != 0
    assert runner.invoke(cli, ["keys", "create", "--label", " ", *b]).exit_code != 0


def test_token_lifetime_from_settings(bank_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGGUH_WEB_TOKEN_MINUTES", "0.0001")  # 6 ms
    with open_bank(bank_path) as bank:
        security.add_user(bank, "cepat", PASSWORD, role="admin")
    with TestClient(create_app(bank_path)) as client:
        r = client.post(f"{V1}/auth/token", data={"username": "cepat", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["expires_in"] == 0
        import time

        time.sleep(0.05)
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        expired = client.get(f"{V1}/admin/users", headers=headers)
        assert expired.status_code == 401
        assert "kedaluwarsa" in expired.json()["detail_id"]
    monkeypatch.setenv("TANGGUH_WEB_TOKEN_MINUTES", "-5")
    with pytest.raises(Exception, match="TANGGUH_WEB_TOKEN_MINUTES"):
        create_app(bank_path)


def test_scrypt_parameters_and_token_expiry_in_the_store(bank_path: str) -> None:
    with open_bank(bank_path) as bank:
        user = security.add_user(bank, "pemeriksa", PASSWORD, role="citizen")
        token, _expires = security.issue_token(bank, user, ttl=timedelta(hours=1))
        assert security.principal_for_token(bank, token) == security.Principal(
            "user", "citizen", user.user_id, "pemeriksa"
        )
        old, _ = security.issue_token(bank, user, ttl=timedelta(seconds=-1))
        assert security.principal_for_token(bank, old) is None
        assert security.principal_for_token(bank, token + "x") is None
        assert security.authenticate(bank, "pemeriksa", PASSWORD) is not None
        assert security.authenticate(bank, "pemeriksa", "salah sekali ya") is None
    stored = security.hash_password("abc")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    import base64

    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert not security.verify_password("abc", "md5$whatever")
    assert not security.verify_password("abc", "garbage")
