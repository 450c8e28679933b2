"""The `tangguh` command. Each command group lives in its own module; this one wires them."""

from __future__ import annotations

import typer

from tangguh import __version__
from tangguh.cli import (
    _admin,
    _alerts,
    _demo,
    _evacuate,
    _fetch,
    _impact,
    _incidents,
    _layers,
    _losses,
    _observe,
    _reports,
    _rules,
    _serve,
    _services,
    _services_refresh,
    _stations,
    _subscribe,
    _transit,
    _transit_access,
    _users,
)

__all__ = ["app"]

app = typer.Typer(
    name="tangguh",
    help="Tangguh: Jakarta's resilience data bank and tools / Bank data ketangguhan Jakarta.\n\n"
    "Exit codes: 0 ok, 1 unexpected error, 2 bad input, 3 import failed (bank unchanged), "
    "4 not found, 5 bank error, 6 bank schema needs upgrade, 7 fetch failed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tangguh {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version"
    ),
) -> None:
    """Tangguh command line."""


app.command("layers")(_layers.layers_cmd)
app.command("import")(_layers.import_cmd)
app.command("export")(_layers.export_cmd)
app.add_typer(_layers.layer_app, name="layer")
app.add_typer(_layers.db_app, name="db")

for _group in (
    _demo,
    _admin,
    _fetch,
    _stations,
    _impact,
    _losses,
    _observe,
    _reports,
    _rules,
    _alerts,
    _subscribe,
    _incidents,
    _serve,
    _users,
    _services,
    _services_refresh,
    _reports,
    _transit,
    _transit_access,
    _evacuate,
):
    _group.register(app)
