"""`tangguh users …` and `tangguh keys …`: web API accounts and API keys.

Passwords are asked for on the terminal (hidden, twice) or read from
``TANGGUH_PASSWORD``; they are stored only as scrypt hashes. An API key is printed
once when created; only its SHA-256 is stored.
"""

from __future__ import annotations

import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank

__all__ = ["register"]

users_app = typer.Typer(help="Web API users / Pengguna API web", no_args_is_help=True)
keys_app = typer.Typer(help="Web API keys / Kunci API web", no_args_is_help=True)

RoleOption = typer.Option(
    "citizen",
    "--role",
    help="citizen, operator or admin / warga, operator atau admin",
)
PasswordOption = typer.Option(
    ...,
    "--password",
    prompt="Password / Kata sandi",
    hide_input=True,
    confirmation_prompt=True,
    envvar="TANGGUH_PASSWORD",
    help="At least 10 characters (asked when not given; or TANGGUH_PASSWORD) / "
    "Paling sedikit 10 karakter (ditanyakan bila tidak diberikan; atau TANGGUH_PASSWORD)",
)


@users_app.command("add")
@handle_errors
def users_add(
    username: str = typer.Argument(..., help="Login name / Nama pengguna"),
    role: str = RoleOption,
    password: str = PasswordOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a user / Buat pengguna."""
    from tangguh.web.api.security import add_user

    with use_bank(bank) as b:
        user = add_user(b, username, password, role=role, created_by="cli")
    if as_json:
        emit_json(user.to_json())
    else:
        console.print(f"User created / Pengguna dibuat: {user.username} ({user.role})")


@users_app.command("list")
@handle_errors
def users_list(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """List users / Daftar pengguna."""
    from tangguh.web.api.security import list_users

    with use_bank(bank) as b:
        users = list_users(b)
    if as_json:
        emit_json([u.to_json() for u in users])
        return
    table = Table(title="Users / Pengguna")
    for col in ("username", "role", "created", "disabled"):
        table.add_column(col)
    for u in users:
        table.add_row(u.username, u.role, u.created.isoformat(timespec="seconds"), str(u.disabled))
    console.print(table)


@users_app.command("passwd")
@handle_errors
def users_passwd(
    username: str = typer.Argument(..., help="Login name / Nama pengguna"),
    password: str = PasswordOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Set a new password (logs the user out) / Atur kata sandi baru (sesi keluar)."""
    from tangguh.web.api.security import set_password

    with use_bank(bank) as b:
        user = set_password(b, username, password)
    if as_json:
        emit_json({"username": user.username, "password_changed": True})
    else:
        console.print(f"Password changed / Kata sandi diubah: {user.username}")


@users_app.command("disable")
@handle_errors
def users_disable(
    username: str = typer.Argument(..., help="Login name / Nama pengguna"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Disable a user (login refused) / Nonaktifkan pengguna (tidak bisa masuk)."""
    from tangguh.web.api.security import disable_user

    with use_bank(bank) as b:
        user = disable_user(b, username)
    if as_json:
        emit_json(user.to_json())
    else:
        console.print(f"User disabled / Pengguna dinonaktifkan: {user.username}")


@keys_app.command("create")
@handle_errors
def keys_create(
    label: str = typer.Option(..., "--label", help="Who uses it / Siapa yang memakai"),
    role: str = typer.Option(
        "operator", "--role", help="citizen, operator or admin / warga, operator atau admin"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Create an API key, printed once / Buat kunci API, ditampilkan sekali."""
    from tangguh.web.api.security import create_key

    with use_bank(bank) as b:
        record, secret = create_key(b, label, role=role, created_by="cli")
    if as_json:
        emit_json({**record.to_json(), "key": secret})
        return
    console.print(f"API key {record.key_id} ({record.role}, {record.label}):")
    console.print(secret, markup=False, soft_wrap=True)
    console.print(
        "Store it now; it is not shown again. / Simpan sekarang; kunci tidak ditampilkan lagi."
    )


@keys_app.command("list")
@handle_errors
def keys_list(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """List API keys (never the keys themselves) / Daftar kunci API (tanpa kuncinya)."""
    from tangguh.web.api.security import list_keys

    with use_bank(bank) as b:
        keys = list_keys(b)
    if as_json:
        emit_json([k.to_json() for k in keys])
        return
    table = Table(title="API keys / Kunci API")
    for col in ("key_id", "label", "role", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        table.add_row(
            k.key_id,
            k.label,
            k.role,
            k.created.isoformat(timespec="seconds"),
            k.revoked.isoformat(timespec="seconds") if k.revoked else "",
        )
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(
    key_id: str = typer.Argument(..., help="Key id, e.g. k3f9a… / ID kunci"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Revoke an API key at once / Cabut kunci API seketika."""
    from tangguh.web.api.security import revoke_key

    with use_bank(bank) as b:
        record = revoke_key(b, key_id)
    if as_json:
        emit_json(record.to_json())
    else:
        console.print(f"API key revoked / Kunci API dicabut: {record.key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
