"""`tangguh fetch NAME` and `tangguh sources`: named public sources."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from tangguh.cli._common import JsonOption, console, emit_json, err_console, handle_errors, msg

__all__ = ["register"]


def _cache_dir(value: Path | None) -> Path:
    if value is not None:
        return value
    env = os.environ.get("TANGGUH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tangguh"


@handle_errors
def fetch_cmd(
    name: str = typer.Argument(..., help="Source name (see `tangguh sources`)"),
    cache_dir: Path | None = typer.Option(
        None,
        "--cache-dir",
        envvar="TANGGUH_CACHE",
        help="Download cache (default ~/.cache/tangguh)",
    ),
    registry: Path | None = typer.Option(
        None, "--registry", envvar="TANGGUH_SOURCES", help="Extra registry TOML file"
    ),
    force: bool = typer.Option(False, "--force", help="Download again / Unduh ulang"),
    revalidate: bool = typer.Option(
        False, "--revalidate", help="Ask the server whether the cached copy changed"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Download a named source with a progress bar, cache and verify it / Unduh sumber data."""
    from tangguh.fetch import fetch, load_registry

    sources = load_registry(registry)
    with Progress(
        TextColumn(name),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
        disable=as_json or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(name, total=None)

        def report(received: int, total: int | None) -> None:
            progress.update(task, completed=received, total=total)

        result = fetch(
            name,
            cache_dir=_cache_dir(cache_dir),
            registry=sources,
            progress=report,
            force=force,
            revalidate=revalidate,
        )
    data = {
        "name": name,
        "path": str(result.path),
        "sha256": result.sha256,
        "bytes": result.bytes,
        "from_cache": result.from_cache,
        "licence": result.source.licence,
        "attribution": result.source.attribution,
    }
    if as_json:
        emit_json(data)
    else:
        label = msg("cached") if result.from_cache else msg("fetched")
        console.print(
            f"{label}: {name} → {result.path} ({result.bytes:,} bytes, "
            f"sha256 {result.sha256[:12]}…)\n{result.source.licence}; "
            f"{result.source.attribution}"
        )


@handle_errors
def sources_cmd(
    registry: Path | None = typer.Option(None, "--registry", envvar="TANGGUH_SOURCES"),
    as_json: bool = JsonOption,
) -> None:
    """List the named public sources / Daftar sumber data publik."""
    from tangguh.fetch import load_registry

    sources = load_registry(registry)
    if as_json:
        emit_json(
            [
                {
                    "name": s.name,
                    "url": s.url,
                    "format": s.format,
                    "licence": s.licence,
                    "sha256": s.sha256,
                    "description": s.description,
                }
                for s in sources.values()
            ]
        )
        return
    table = Table(title="Sources / Sumber data")
    for col in ("name", "format", "licence", "pinned", "description"):
        table.add_column(col)
    for s in sources.values():
        table.add_row(s.name, s.format, s.licence, "yes" if s.sha256 else "", s.description)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("fetch")(fetch_cmd)
    app.command("sources")(sources_cmd)
