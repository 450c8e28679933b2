"""`tangguh serve`: the HTTP server (OGC API – Features over the bank; see docs/web.md)."""

from __future__ import annotations

import os

import typer

from tangguh.cli._common import BankOption, err_console, handle_errors
from tangguh.errors import InputError

__all__ = ["register"]


@handle_errors
def serve_cmd(
    bank: str | None = BankOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on / Alamat"),
    port: int = typer.Option(8000, "--port", "-p", help="Port / Porta"),
    workers: int = typer.Option(
        1, "--workers", help="Server processes (one per CPU core) / Jumlah proses server"
    ),
    threads: int = typer.Option(
        8, "--threads", help="Query threads per process / Utas kueri per proses"
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Public URL for links (behind a proxy) / URL publik untuk tautan"
    ),
    access_log: bool = typer.Option(
        False, "--access-log/--no-access-log", help="Log every request / Catat setiap permintaan"
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
) -> None:
    """Serve the bank over HTTP: OGC API – Features for every layer / Sajikan bank data
    melalui HTTP: OGC API – Features untuk setiap lapisan.

    Open http://127.0.0.1:8000 in a browser, or add the URL in QGIS as an
    "OGC API - Features" (WFS) connection.
    """
    import uvicorn

    from tangguh.bank import resolve_bank_url
    from tangguh.web import create_app

    if not 1 <= port <= 65535:
        raise InputError(
            f"invalid port {port}",
            where="--port",
            hint="use 1-65535, e.g. 8000",
            message_id=f"porta {port} tidak sah",
            hint_id="gunakan 1-65535, mis. 8000",
        )
    if workers < 1 or threads < 1:
        raise InputError(
            "--workers and --threads must be at least 1",
            where="--workers/--threads",
            hint="e.g. --workers 2 --threads 8",
            message_id="--workers dan --threads paling sedikit 1",
            hint_id="mis. --workers 2 --threads 8",
        )
    url = resolve_bank_url(bank)
    err_console.print(
        f"Tangguh: http://{host}:{port}  (bank / bank data: {url}; "
        "Ctrl+C untuk berhenti / to stop)",
        markup=False,
        highlight=False,
    )
    if workers == 1:
        app = create_app(url, threads=threads, base_url=base_url)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=access_log,
            server_header=False,
        )
        return
    # Several processes: each builds its own app from the environment.
    create_app(url, threads=1).state.tangguh.close()  # check the bank opens before forking
    os.environ["TANGGUH_BANK"] = url
    os.environ["TANGGUH_WEB_THREADS"] = str(threads)
    if base_url:
        os.environ["TANGGUH_WEB_BASE_URL"] = base_url
    uvicorn.run(
        "tangguh.web:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("serve")(serve_cmd)
