"""`tangguh services refresh|scheduler|runs|changes|trend|notices|sources …`: scheduled
refresh of service layers with history (see docs/services-refresh.md)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    err_console,
    handle_errors,
    language,
    use_bank,
)
from tangguh.cli._services import services_app
from tangguh.errors import EXIT_CODES, FetchError

__all__ = ["register", "sources_app"]

sources_app = typer.Typer(
    help="Configured sources of service layers (TOML) / Sumber data lapisan layanan",
    no_args_is_help=True,
)
services_app.add_typer(sources_app, name="sources")

_STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red", "running": "cyan"}


def _wib(value: datetime | None) -> str:
    if value is None:
        return "-"
    from tangguh.services.refresh import WIB

    return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _pick(en: str | None, id_: str | None) -> str:
    first, second = (id_, en) if language() == "id" else (en, id_)
    return first or second or ""


def _indicators_fn(count_layers: list[str] | None) -> Any:
    if not count_layers:
        return None
    from tangguh.services.refresh import feature_count_indicators

    layers = [p.strip() for item in count_layers for p in item.split(",") if p.strip()]
    return feature_count_indicators(layers)


CountOption = typer.Option(
    None,
    "--count-layer",
    help="Instead of the coverage indicators, count the features of these layers per unit "
    "(repeatable) / Hitung fitur lapisan ini per wilayah, bukan indikator cakupan",
)
CacheOption = typer.Option(
    None,
    "--cache-dir",
    envvar="TANGGUH_CACHE",
    help="Download cache (default ~/.cache/tangguh) / Cache unduhan",
)


def _cache(value: Path | None) -> Path | None:
    return None if value is None else Path(value) / "services"


# -- sources ------------------------------------------------------------------------------


@sources_app.command("list")
@handle_errors
def sources_list_cmd(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Configured sources with their schedule and state / Daftar sumber dan jadwalnya."""
    from tangguh.services.refresh import list_sources

    with use_bank(bank) as b:
        states = list_sources(b)
    if as_json:
        emit_json([s.to_json() for s in states])
        return
    table = Table(title="Service sources / Sumber data layanan")
    cols = ("source / sumber", "layer / lapisan", "from / dari", "schedule / jadwal",
            "enabled / aktif", "last / terakhir", "status", "next due")  # fmt: skip
    for col in cols:
        table.add_column(col)
    for s in states:
        src = s.source
        due = s.next_due()
        table.add_row(
            src.source_id,
            src.layer,
            src.url or src.path or "",
            src.schedule.text,
            "yes / ya" if src.enabled else "no / tidak",
            _wib(s.last_attempt),
            s.last_status or "-",
            "now / sekarang" if due is None else _wib(due),
        )
    console.print(table)
    if not states:
        console.print("No sources yet / Belum ada sumber: `tangguh services sources add FILE.toml`")


@sources_app.command("add")
@handle_errors
def sources_add_cmd(
    config: Path = typer.Argument(..., help="Sources TOML ([sources.NAME] tables)"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Add or update sources from a TOML file / Tambah atau perbarui sumber dari berkas TOML."""
    from tangguh.services.refresh import add_sources, load_sources

    sources = load_sources(config)
    with use_bank(bank) as b:
        ids = add_sources(b, sources)
    if as_json:
        emit_json({"stored": ids})
        return
    console.print(f"[bold]Stored / Disimpan[/]: {', '.join(ids) or '-'}")


@sources_app.command("remove")
@handle_errors
def sources_remove_cmd(
    source_id: str = typer.Argument(..., help="Source name / Nama sumber"),
    bank: str | None = BankOption,
) -> None:
    """Forget a source (its layer and history stay) / Hapus sumber (lapisan dan riwayat tetap)."""
    from tangguh.services.refresh import remove_source

    with use_bank(bank) as b:
        remove_source(b, source_id)
    console.print(f"[bold]Removed / Dihapus[/]: {source_id}")


# -- runs ---------------------------------------------------------------------------------


def _print_run(record: Any, as_json: bool) -> None:
    if as_json:
        emit_json(record.to_json())
        return
    style = _STATUS_STYLE.get(record.status, "white")
    console.print(
        f"[bold]Run / Proses[/] {record.run_id}: [{style}]{record.status}[/] "
        f"({record.seconds or 0:.2f} s)"
    )
    console.print(_pick(record.message_en, record.message_id), markup=False)
    if record.sources:
        table = Table()
        for col in ("source / sumber", "status", "changed / berubah", "features read / fitur",
                    "version / versi", "s", "error / galat"):  # fmt: skip
            table.add_column(col)
        for s in record.sources:
            table.add_row(
                s["source_id"],
                s["status"],
                "yes / ya" if s["changed"] else "no / tidak",
                _num(s["features_read"]),
                _num(s["layer_version"]),
                f"{s['seconds']:.2f}",
                _pick(s.get("error_en"), s.get("error_id")) or "",
            )
        console.print(table)


@services_app.command("refresh")
@handle_errors
def refresh_cmd(
    all_sources: bool = typer.Option(
        False, "--all", help="Every enabled source, due or not / Semua sumber aktif"
    ),
    source: list[str] = typer.Option(
        None, "--source", help="Only this source (repeatable) / Hanya sumber ini"
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Store the sources of this TOML first / Simpan sumber dari TOML"
    ),
    indicators_only: bool = typer.Option(
        False,
        "--indicators-only",
        help="Pull nothing; recompute the indicators and store a snapshot / "
        "Hanya hitung ulang indikator",
    ),
    count_layer: list[str] = CountOption,
    cache_dir: Path | None = CacheOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Run the due sources now (or --all, --source ID) and store a snapshot /
    Jalankan sumber yang jatuh tempo sekarang dan simpan snapshot."""
    from tangguh.services.refresh import add_sources, due_sources, load_sources, refresh

    with use_bank(bank) as b:
        if config is not None:
            add_sources(b, load_sources(config))
        ids: list[str] | None
        if indicators_only:
            ids = []
        elif source:
            ids = list(source)
        elif all_sources:
            ids = None
        else:
            ids = [s.source.source_id for s in due_sources(b)]
            if not ids:
                if as_json:
                    emit_json({"run": None, "due": []})
                else:
                    console.print("Nothing due / Tidak ada sumber yang jatuh tempo")
                return
        record = refresh(
            b,
            source_ids=ids,
            indicators=_indicators_fn(count_layer),
            cache_dir=_cache(cache_dir),
        )
    _print_run(record, as_json)
    if record.status == "failed":
        raise typer.Exit(EXIT_CODES[FetchError])


@services_app.command("scheduler")
@handle_errors
def scheduler_cmd(
    poll: float = typer.Option(
        60.0, "--poll", min=0.05, help="Seconds between checks at most / Detik antarpemeriksaan"
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Store the sources of this TOML first / Simpan sumber dari TOML"
    ),
    count_layer: list[str] = CountOption,
    cache_dir: Path | None = CacheOption,
    bank: str | None = BankOption,
) -> None:
    """Run forever: pull each source when due; stops on Ctrl-C / SIGTERM /
    Berjalan terus: tarik sumber saat jatuh tempo; berhenti dengan Ctrl-C / SIGTERM."""
    from tangguh.services.refresh import add_sources, load_sources, run_scheduler

    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        del frame
        err_console.print(f"signal {signum}: stopping / berhenti")
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with use_bank(bank) as b:
            if config is not None:
                add_sources(b, load_sources(config))
            err_console.print(
                f"scheduler started / penjadwal berjalan: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            )

            def on_run(record: Any) -> None:
                _print_run(record, False)

            def on_error(exc: Exception) -> None:
                err_console.print(f"[red]error / galat:[/] {exc}")

            count = run_scheduler(
                b,
                stop,
                poll_seconds=poll,
                indicators=_indicators_fn(count_layer),
                cache_dir=_cache(cache_dir),
                on_run=on_run,
                on_error=on_error,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print(
        f"scheduler stopped after {count} run(s) / penjadwal berhenti setelah {count} proses"
    )


@services_app.command("runs")
@handle_errors
def runs_cmd(
    limit: int = typer.Option(20, "--limit", min=1, help="Rows / Baris"),
    status: str | None = typer.Option(None, "--status", help="ok, partial, failed, running"),
    source: str | None = typer.Option(None, "--source", help="Runs that pulled this source"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Refresh runs, newest first / Riwayat proses pembaruan, terbaru dahulu."""
    from tangguh.services.refresh import runs

    with use_bank(bank) as b:
        records = runs(b, limit=limit, status=status, source_id=source)
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    table = Table(title="Refresh runs / Proses pembaruan")
    table.add_column("run / proses", no_wrap=True)
    table.add_column("started / mulai")
    table.add_column("status", no_wrap=True, min_width=7)
    for col in ("s", "sources ok/failed", "features / fitur", "layers / lapisan",
                "indicators / indikator"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in records:
        style = _STATUS_STYLE.get(r.status, "white")
        table.add_row(
            r.run_id,
            _wib(r.started),
            f"[{style}]{r.status}[/]",
            "-" if r.seconds is None else f"{r.seconds:.2f}",
            f"{r.sources_ok}/{r.sources_failed}",
            _num(r.features_read),
            _num(r.layers_changed),
            _num(r.indicators),
        )
    console.print(table)


def _when(value: str | None, where: str) -> datetime | None:
    from tangguh.services.refresh import parse_when

    return parse_when(value, where=where)


@services_app.command("changes")
@handle_errors
def changes_cmd(
    since: str | None = typer.Option(
        None, "--since", help="Date or time (WIB if no zone); default one month before / Sejak"
    ),
    until: str | None = typer.Option(None, "--until", help="Date or time; default latest"),
    level: str | None = typer.Option(None, "--level", help="rw, kelurahan, kecamatan, kota"),
    indicator: str | None = typer.Option(None, "--indicator", help="Indicator id"),
    top: int = typer.Option(20, "--top", min=1, help="Rows to show / Baris"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """What changed between two snapshots, largest change first /
    Apa yang berubah antara dua snapshot, perubahan terbesar dahulu."""
    from tangguh.services.refresh import changes

    with use_bank(bank) as b:
        result = changes(
            b,
            _when(since, "--since"),
            until=_when(until, "--until"),
            level=level,
            indicator=indicator,
        )
    if result is None:
        if as_json:
            emit_json(None)
        else:
            console.print("No snapshot yet / Belum ada snapshot: `tangguh services refresh --all`")
        return
    if as_json:
        emit_json(result.to_json(limit=top))
        return
    console.print(
        f"[bold]From / Dari[/] {_wib(result.before.taken_at)} ({result.before.run_id}) "
        f"[bold]to / ke[/] {_wib(result.after.taken_at)} ({result.after.run_id}): "
        f"{len(result.table):,} change(s) / perubahan"
    )
    table = Table()
    table.add_column("unit\nwilayah", no_wrap=True)
    table.add_column("indicator\nindikator", no_wrap=True)
    for col in ("before\nsebelum", "after\nsesudah", "delta"):
        table.add_column(col, justify="right", no_wrap=True)
    for rec in result.table.head(top).to_dict("records"):
        delta = rec["delta"]
        table.add_row(
            rec["unit_id"],
            rec["indicator"],
            _num(rec["before"]),
            _num(rec["after"]),
            "-" if delta != delta else f"{delta:+,.2f}",
        )
    console.print(table)


@services_app.command("trend")
@handle_errors
def trend_cmd(
    unit: str = typer.Option(..., "--unit", help="Unit id, e.g. rw:3171010001001"),
    indicator: str = typer.Option(..., "--indicator", help="Indicator id"),
    since: str | None = typer.Option(None, "--since", help="From (WIB if no zone) / Dari"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """An indicator of one unit over the snapshots / Tren indikator satu wilayah."""
    from tangguh.services.refresh import trend

    with use_bank(bank) as b:
        series = trend(b, unit, indicator, start=_when(since, "--since"))
    if as_json:
        emit_json(
            [
                {"taken_at": r["taken_at"].isoformat(), "run_id": r["run_id"],
                 "value": None if r["value"] != r["value"] else r["value"]}
                for r in series.to_dict("records")
            ]
        )  # fmt: skip
        return
    table = Table(title=f"{indicator} — {unit}")
    for col in ("taken / diambil", "run / proses", "value / nilai"):
        table.add_column(col)
    for rec in series.to_dict("records"):
        table.add_row(_wib(rec["taken_at"].to_pydatetime()), rec["run_id"], _num(rec["value"]))
    console.print(table)
    if series.empty:
        console.print("No values / Tidak ada nilai", markup=False)


@services_app.command("notices")
@handle_errors
def notices_cmd(
    show_all: bool = typer.Option(False, "--all", help="Also acknowledged / Termasuk yang dibaca"),
    ack: list[int] = typer.Option(
        None, "--ack", help="Acknowledge this notice id (repeatable) / Tandai sudah dibaca"
    ),
    by: str = typer.Option("cli", "--by", help="Who acknowledges / Siapa yang menandai"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Operator notices of failed sources / Pemberitahuan operator tentang sumber yang gagal."""
    from tangguh.services.refresh import acknowledge, notices

    with use_bank(bank) as b:
        for notice_id in ack or []:
            acknowledge(b, notice_id, by=by)
        items = notices(b, open_only=not show_all)
    if as_json:
        emit_json([n.to_json() for n in items])
        return
    table = Table(title="Notices / Pemberitahuan")
    for col in ("id", "time / waktu", "source / sumber", "message / pesan", "ack / dibaca"):
        table.add_column(col)
    for n in items:
        table.add_row(
            str(n.notice_id),
            _wib(n.t),
            n.source_id or "indicators / indikator",
            _pick(n.message_en, n.message_id),
            "yes / ya" if n.acknowledged else "no / tidak",
        )
    console.print(table)
    if not items:
        console.print("No open notices / Tidak ada pemberitahuan terbuka")


def register(app: typer.Typer) -> None:
    """Commands of this module are added to ``services_app`` (see ``_services``)."""
    del app  # commands attach to services_app at import
