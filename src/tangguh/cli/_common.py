"""What every CLI command shares: bank option, output (Rich or JSON), error handling, i18n."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from tangguh.bank import Bank, open_bank, resolve_bank_url
from tangguh.errors import TangguhError, exit_code_for

__all__ = [
    "BankOption",
    "JsonOption",
    "console",
    "emit_json",
    "err_console",
    "handle_errors",
    "msg",
    "print_error",
    "status",
    "use_bank",
]

console = Console()
err_console = Console(stderr=True)

BankOption = typer.Option(
    None,
    "--bank",
    "-b",
    envvar="TANGGUH_BANK",
    help="Bank: a .gpkg path or postgresql://… URL (default tangguh.gpkg) / "
    "Bank data: berkas .gpkg atau URL postgresql://…",
)
JsonOption = typer.Option(False, "--json", help="Print JSON for scripts / Cetak JSON untuk skrip")

#: Messages in Bahasa Indonesia and English; the language comes from TANGGUH_LANG
#: (``id`` or ``en``), else from LANG, else English.
MESSAGES: dict[str, dict[str, str]] = {
    "error": {"id": "Galat", "en": "Error"},
    "where": {"id": "di", "en": "where"},
    "todo": {"id": "yang perlu dilakukan", "en": "what to do"},
    "layers": {"id": "Lapisan di bank data", "en": "Layers in the data bank"},
    "history": {"id": "Riwayat versi lapisan", "en": "Version history of layer"},
    "imported": {"id": "Diimpor", "en": "Imported"},
    "exported": {"id": "Diekspor", "en": "Exported"},
    "features": {"id": "fitur", "en": "features"},
    "issues": {"id": "Catatan impor", "en": "Import notes"},
    "upgraded": {"id": "Skema diperbarui ke versi", "en": "Schema upgraded to version"},
    "uptodate": {"id": "Skema sudah terbaru, versi", "en": "Schema already current, version"},
    "demo_built": {"id": "Kota demo dibuat", "en": "Demo city built"},
    "fetched": {"id": "Diunduh", "en": "Fetched"},
    "cached": {"id": "Dari cache", "en": "From cache"},
    "unmatched": {"id": "Tidak cocok", "en": "Unmatched"},
    "matched": {"id": "Cocok", "en": "Matched"},
    "deleted": {"id": "Dihapus", "en": "Deleted"},
}


def language() -> str:
    lang = os.environ.get("TANGGUH_LANG") or os.environ.get("LANG", "en")
    return "id" if lang.lower().startswith("id") else "en"


def msg(key: str) -> str:
    """A message in the user's language, followed by the other one: 'Lapisan / Layers'."""
    pair = MESSAGES[key]
    first = language()
    second = "en" if first == "id" else "id"
    return f"{pair[first]} / {pair[second]}"


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_error(exc: TangguhError) -> None:
    """Print ``exc`` on stderr in both languages, the user's language first.

    The labels come from :func:`msg`; the message and the hint come from
    :meth:`TangguhError.text`, so an error without an Indonesian text prints
    its English text once instead of twice.
    """
    first = language()
    second = "en" if first == "id" else "id"
    message_1, hint_1 = exc.text(first)
    message_2, hint_2 = exc.text(second)
    err_console.print(f"[bold red]{escape(msg('error'))}:[/] {escape(message_1)}", soft_wrap=True)
    if message_2 != message_1:
        err_console.print(f"  {message_2}", markup=False, soft_wrap=True)
    if exc.where:
        err_console.print(f"  {msg('where')}: {exc.where}", markup=False, soft_wrap=True)
    if hint_1:
        err_console.print(f"  {msg('todo')}: {hint_1}", markup=False, soft_wrap=True)
        if hint_2 and hint_2 != hint_1:
            err_console.print(f"    {hint_2}", markup=False, soft_wrap=True)


F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn Tangguh errors into a clear message on stderr and the documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TangguhError as exc:
            print_error(exc)
            raise typer.Exit(exit_code_for(exc)) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def use_bank(url: str | None, *, create: bool = False) -> Iterator[Bank]:
    bank = open_bank(resolve_bank_url(url), create=create)
    try:
        yield bank
    finally:
        bank.close()


@contextmanager
def status(text: str) -> Iterator[None]:
    """A spinner with ``text`` on stderr while a long step runs (only on a terminal)."""
    if not err_console.is_terminal:
        yield
        return
    with err_console.status(text):
        yield
