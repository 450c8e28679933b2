"""`tangguh demo`: build the deterministic synthetic city into a bank and summarise it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import JsonOption, console, emit_json, err_console, handle_errors, msg
from tangguh.errors import InputError

__all__ = ["register"]


@handle_errors
def demo_cmd(
    size: str = typer.Option(
        "small",
        "--size",
        help="small (tests, seconds) or full (~10.5 M people, 1 M buildings) / ukuran kota",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed; same seed, same city"),
    bank: str = typer.Option(
        "demo.gpkg",
        "--bank",
        "-b",
        envvar="TANGGUH_BANK",
        help="Bank to write (.gpkg path or postgresql:// URL)",
    ),
    replace: bool = typer.Option(
        True, "--replace/--keep", help="Start from an empty bank file (GeoPackage only)"
    ),
    serve: bool = typer.Option(
        False,
        "--serve/--no-serve",
        help="Then serve the dashboard, portal and open data / Lalu sajikan dasbor dan portal",
    ),
    analyses: bool = typer.Option(
        True,
        "--analyses/--no-analyses",
        help="Also store a coverage snapshot, SDG 11.2.1, TOD scores and an evacuation plan "
        "for a synthetic river flood / Simpan juga cakupan layanan, SDG 11.2.1, TOD dan "
        "rencana evakuasi untuk banjir sungai sintetis",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="With --serve: address / alamat"),
    port: int = typer.Option(8000, "--port", "-p", help="With --serve: port / porta"),
    as_json: bool = JsonOption,
) -> None:
    """Build the synthetic demo city into a bank and print its summary / Bangun kota demo.

    The demo's river gauges get their Siaga thresholds, river links and warned RWs, so
    the warning chain runs on it. With ``--serve`` the dashboard follows.
    """
    from tangguh.bank import open_bank
    from tangguh.demo import build_city, load_city
    from tangguh.demo.analyses import seed_demo_analyses
    from tangguh.demo.warning import seed_demo_warning

    if size not in ("small", "full"):
        raise InputError(
            f"unknown size {size!r}",
            where="--size",
            hint="use small or full",
            message_id=f"ukuran {size!r} tidak dikenal",
            hint_id="gunakan small atau full",
        )
    started = time.perf_counter()
    if replace and not bank.startswith(("postgresql://", "postgres://")):
        path = Path(bank.removeprefix("gpkg://"))
        for extra in ("", "-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
    with err_console.status(f"demo {size} seed {seed}…"):
        city = build_city(size, seed=seed)  # type: ignore[arg-type]
        built = time.perf_counter() - started
        with open_bank(bank) as b:
            load_city(
                b,
                city,
                progress=lambda step: err_console.log(step) if err_console.is_terminal else None,
            )
            warning = seed_demo_warning(b)
            seeded = seed_demo_analyses(b) if analyses else None
            summary: dict[str, Any] = b.summary()
    summary.update(
        warning={"gauges": warning.gauges, "links": warning.links, "areas": warning.areas},
        analyses=None if seeded is None else seeded.to_json(),
        city=city.summary(),
        seconds={"build": round(built, 2), "total": round(time.perf_counter() - started, 2)},
    )
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary, bank)
    if serve:
        from tangguh.cli._serve import serve_cmd

        err_console.print(
            f"Dasbor / dashboard: http://{host}:{port}/dashboard  ·  "
            f"Portal warga / citizens' portal: http://{host}:{port}/portal  ·  "
            "operator: tangguh users add NAME --role operator",
            markup=False,
            highlight=False,
        )
        serve_cmd(
            bank=bank,
            host=host,
            port=port,
            workers=1,
            threads=8,
            base_url=None,
            access_log=False,
            log_level="warning",
        )


def _print_summary(summary: dict[str, Any], bank: str) -> None:
    table = Table(title=f"{msg('demo_built')}: {bank} (synthetic / sintetis)")
    for col in ("layer", "theme", "features"):
        table.add_column(col)
    for layer in summary["layers"]:
        table.add_row(layer["id"], layer["theme"], f"{layer['features']:,}")
    console.print(table)
    admin = summary["city"].get("admin_levels") or {}
    if admin:
        console.print("admin units / wilayah: " + ", ".join(f"{k} {v:,}" for k, v in admin.items()))
    people = summary["city"].get("population")
    if people:
        console.print(f"population / penduduk: {people:,}")
    console.print(
        f"stations / stasiun: {summary['stations']:,}; observations / pengamatan: "
        f"{summary['observations']:,}; {summary['seconds']['total']} s"
    )
    warning = summary["warning"]
    console.print(
        f"warning chain / rantai peringatan: {warning['gauges']} gauges with Siaga thresholds, "
        f"{warning['links']} river links"
    )
    seeded = summary.get("analyses")
    if seeded:
        evac = seeded.get("evacuation") or {}
        share = seeded.get("sdg_share")
        console.print(
            f"analyses / analisis: {seeded['indicators']} coverage indicators / indikator "
            f"cakupan; SDG 11.2.1 {'-' if share is None else f'{share:.0%}'}; "
            f"{seeded['tod_areas']} TOD areas / kawasan TOD; evacuation / evakuasi: "
            f"{evac.get('placed', 0):,} of / dari {evac.get('evacuees', 0):,} people placed / "
            "orang mendapat tempat"
        )
    console.print(
        "Open it in QGIS or GDAL / Buka di QGIS atau GDAL: "
        f"ogrinfo {bank}  ·  tangguh layers --bank {bank}  ·  tangguh serve --bank {bank}"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
