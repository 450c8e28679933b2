"""`tangguh transit …`: GTFS and rail stations import, stops, departures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank
from tangguh.errors import InputError

__all__ = ["register", "transit_app"]

transit_app = typer.Typer(
    help="Transit: GTFS, stops, access (SDG 11.2.1), TOD / "
    "Transportasi umum: GTFS, halte, akses (SDG 11.2.1), TOD",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``transit`` command group to ``app``."""
    app.add_typer(transit_app, name="transit")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_import(result: Any, as_json: bool) -> None:
    from tangguh.connectivity.gtfs import FeedImport

    assert isinstance(result, FeedImport)
    if as_json:
        emit_json(result.to_json())
        return
    if result.unchanged:
        console.print(
            f"[bold]Unchanged / Tidak berubah[/]: {result.source} is already feed "
            f"{result.feed_id} (same SHA-256) / sudah menjadi feed {result.feed_id}; "
            "nothing written / tidak ada yang ditulis"
        )
        return
    version = result.version.version if result.version else "-"
    console.print(
        f"[bold]Imported / Diimpor[/]: {result.source} -> feed {result.feed_id}, "
        f"layer / lapisan transit_stops v{version} ({result.seconds:.2f} s)"
    )
    if result.service_date is not None:
        console.print(
            f"service date / tanggal layanan: {result.service_date.isoformat()}; valid / "
            f"berlaku: {_cell(result.valid_from)} .. {_cell(result.valid_to)}"
        )
    table = Table(title="Counts / Jumlah")
    table.add_column("item")
    table.add_column("n", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, _cell(value))
    console.print(table)
    for warning in result.warnings:
        console.print(f"  warning / peringatan: {warning}", markup=False)


def _mode_map(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        desc, sep, mode = item.partition("=")
        if not sep or not desc.strip() or not mode.strip():
            raise InputError(
                f"invalid --mode-map {item!r}",
                where="--mode-map",
                hint="give ROUTE_DESC=MODE, e.g. --mode-map Rusun=bus",
                message_id=f"--mode-map {item!r} tidak sah",
                hint_id="berikan ROUTE_DESC=MODA, mis. --mode-map Rusun=bus",
            )
        out[desc.strip()] = mode.strip()
    return out


@transit_app.command("import-gtfs")
@handle_errors
def import_gtfs_cmd(
    feed: Path = typer.Argument(..., help="GTFS .zip"),
    name: str | None = typer.Option(
        None, "--name", help="Feed name (default: agency) / Nama feed (bawaan: operator)"
    ),
    day: str = typer.Option(
        "weekday",
        "--day",
        help="Service date for departures: YYYY-MM-DD, weekday, monday…sunday / "
        "Tanggal layanan untuk keberangkatan",
    ),
    peak: str = typer.Option(
        "06:00-09:00,16:00-19:00", "--peak", help="Peak window, whole hours / Jam sibuk"
    ),
    mode_map: list[str] = typer.Option(
        [], "--mode-map", help="ROUTE_DESC=MODE override, repeatable / Ganti moda"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a GTFS feed: validate, classify stops, departures / Impor feed GTFS."""
    from tangguh.connectivity.gtfs import import_gtfs

    mapping = _mode_map(mode_map)
    with use_bank(bank) as b:
        result = import_gtfs(b, feed, name=name, day=day, peak=peak, mode_map=mapping)
    _print_import(result, as_json)


@transit_app.command("import-rail")
@handle_errors
def import_rail_cmd(
    kml: Path = typer.Argument(..., help="Rail stations .kml (folders per line)"),
    name: str = typer.Option("rail", "--name", help="Feed name / Nama feed"),
    mode: str | None = typer.Option(
        None, "--mode", help="Mode when the folder names none (krl, mrt, lrt) / Moda"
    ),
    merge_m: float = typer.Option(
        200.0, "--merge-m", help="Merge interchange points closer than this (m) / Gabung (m)"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Import KRL/MRT/LRT stations from a KML / Impor stasiun KRL/MRT/LRT dari KML."""
    from tangguh.connectivity.rail import import_rail

    with use_bank(bank) as b:
        result = import_rail(b, kml, name=name, mode=mode, merge_m=merge_m)
    _print_import(result, as_json)


@transit_app.command("feeds")
@handle_errors
def feeds_cmd(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Imported feeds and their versions / Feed yang sudah diimpor."""
    from tangguh.connectivity.gtfs import feeds

    with use_bank(bank) as b:
        frame = feeds(b)
    records = frame.to_dict("records")
    if as_json:
        emit_json(records)
        return
    table = Table(title="Transit feeds / Feed angkutan umum")
    for col in (
        "feed id",
        "kind / jenis",
        "source / sumber",
        "imported / diimpor",
        "service date / tgl layanan",
        "layer v",
        "stops / halte",
        "current / kini",
    ):
        table.add_column(col)  # fmt: skip
    for rec in records:
        counts = rec["counts"] or {}
        table.add_row(
            str(rec["feed_id"]),
            str(rec["kind"]),
            str(rec["source"]),
            f"{rec['imported']:%Y-%m-%d %H:%M} UTC",
            _cell(rec["service_date"]),
            _cell(rec["layer_version"]),
            _cell(counts.get("layer_stops")),
            "yes / ya" if rec["current"] else "-",
        )
    console.print(table)


@transit_app.command("stops")
@handle_errors
def stops_cmd(
    mode: str | None = typer.Option(None, "--mode", help="Only this mode / Hanya moda ini"),
    capacity: str | None = typer.Option(
        None, "--capacity", help="low or high / rendah (low) atau tinggi (high)"
    ),
    min_peak: float | None = typer.Option(
        None, "--min-peak", help="At least N departures in the peak hour / Minimal N per jam"
    ),
    stop: list[str] = typer.Option(
        [], "--stop", help="Only these stop ids, repeatable / Hanya ID halte ini"
    ),
    limit: int = typer.Option(20, "--limit", help="Rows to list / Baris yang ditampilkan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """All stops with mode, capacity class and peak departures / Semua halte dan kelasnya.

    With --json every matching stop is printed (--limit only shortens the table).
    """
    from tangguh.connectivity.gtfs import load_stops

    with use_bank(bank) as b:
        stops = load_stops(b, min_peak_departures=min_peak)
    if mode:
        stops = stops[stops["mode"] == mode.strip().lower()]
    if capacity:
        stops = stops[stops["capacity"] == capacity.strip().lower()]
    if stop:
        stops = stops[stops["stop_id"].isin(stop)]
    stops = stops.sort_values(["peak_departures", "stop_id"], ascending=[False, True])
    if as_json:
        frame = stops.assign(lon=stops.geometry.x, lat=stops.geometry.y).drop(columns="geometry")
        emit_json(frame.astype(object).where(frame.notna(), None).to_dict("records"))
        return
    summary = Table(title=f"Stops / Halte: {len(stops):,}")
    for col in ("mode / moda", "capacity / kapasitas", "stops / halte", "median peak / median"):
        summary.add_column(col)
    for (m, c), group in stops.groupby(["mode", "capacity"]):
        summary.add_row(
            str(m), str(c), f"{len(group):,}", _cell(float(group["peak_departures"].median()))
        )
    console.print(summary)
    table = Table(title="Busiest peak hour / Jam sibuk tersibuk")
    for col in (
        "stop_id",
        "name / nama",
        "mode / moda",
        "capacity",
        "peak / jam sibuk",
        "routes / rute",
    ):
        table.add_column(col)  # fmt: skip
    for rec in stops.head(limit).to_dict("records"):
        table.add_row(
            str(rec["stop_id"]), str(rec["name"]), str(rec["mode"]), str(rec["capacity"]),
            _cell(rec["peak_departures"]), _cell(rec["route_ids"]),
        )  # fmt: skip
    console.print(table)


@transit_app.command("departures")
@handle_errors
def departures_cmd(
    stop: list[str] = typer.Option(
        [], "--stop", help="Stop id, repeatable / ID halte, boleh berulang"
    ),
    feed: str | None = typer.Option(None, "--feed", help="Feed id (default: current)"),
    day: str | None = typer.Option(
        None,
        "--day",
        help="YYYY-MM-DD, weekday, monday…sunday (default: the import's date) / "
        "Tanggal atau hari (bawaan: tanggal saat impor)",
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Departures per stop and hour / Keberangkatan per halte dan jam."""
    from tangguh.connectivity.gtfs import departures

    with use_bank(bank) as b:
        frame = departures(b, feed, day, stop_ids=stop or None)
    if as_json:
        emit_json(frame.assign(service_date=frame["service_date"].astype(str)).to_dict("records"))
        return
    dates = sorted({str(d) for d in frame["service_date"]})
    title = f"Departures per hour / Keberangkatan per jam, {', '.join(dates) or '-'}"
    table = Table(title=title)
    table.add_column("hour / jam", justify="right")
    if stop:
        pivot = frame.pivot_table(
            index="hour", columns="stop_id", values="departures", aggfunc="sum", fill_value=0
        ).reindex(index=range(24), columns=list(dict.fromkeys(stop)), fill_value=0)
        for col in pivot.columns:
            table.add_column(str(col), justify="right")
        for hour, row in pivot.iterrows():
            table.add_row(f"{int(hour):02d}:00", *(f"{int(v):,}" for v in row))  # type: ignore[call-overload]
    else:
        per_hour = frame.groupby("hour").agg(
            departures=("departures", "sum"), stops=("stop_id", "nunique")
        )
        per_hour = per_hour.reindex(range(24), fill_value=0)
        table.add_column("departures / keberangkatan", justify="right")
        table.add_column("stops served / halte dilayani", justify="right")
        for hour, row in per_hour.iterrows():
            table.add_row(
                f"{int(hour):02d}:00",  # type: ignore[call-overload]
                f"{int(row['departures']):,}",
                f"{int(row['stops']):,}",
            )
    console.print(table)
    console.print(f"total / jumlah: {int(frame['departures'].sum()):,}")
