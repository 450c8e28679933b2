"""`tangguh losses …`: the shock and loss database (import, hourly replay, summaries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank

__all__ = ["register"]

losses_app = typer.Typer(
    help="Shock and loss database: events, hourly flood replay, Sendai indicators / "
    "Basis data kejadian dan kerugian bencana",
    no_args_is_help=True,
)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_import(result: Any, as_json: bool) -> None:
    from tangguh.risk._loss_import import LossImport

    assert isinstance(result, LossImport)
    if as_json:
        emit_json(result.to_json())
        return
    console.print(f"[bold]Imported / Diimpor[/]: {result.source}")
    version = result.version.version if result.version else "-"
    console.print(
        f"rows / baris: {result.rows:,}; events / kejadian: {result.events:,}; "
        f"skipped (no events) / dilewati (tanpa kejadian): {result.skipped:,}; "
        f"layer version / versi lapisan: {version}"
    )
    for key, value in result.counts.items():
        console.print(f"  {key}: {value:,}")
    for note in result.notes:
        console.print(f"  note / catatan: {note}", markup=False)
    if len(result.unmatched):
        table = Table(
            title=f"Unmatched, not written / Tidak cocok, tidak disimpan ({len(result.unmatched)})"
        )
        cols = [c for c in ("kecamatan", "kelurahan", "bulan", "geom_id", "best_unit_id", "reason")
                if c in result.unmatched.columns]  # fmt: skip
        for col in cols:
            table.add_column(col)
        for rec in result.unmatched.to_dict("records"):
            table.add_row(*(_cell(rec[c]) for c in cols))
        console.print(table)


@losses_app.command("import-bpbd")
@handle_errors
def import_bpbd_cmd(
    csv: Path = typer.Argument(..., help="banjir_kelurahan_2024.csv"),
    year: int = typer.Option(2024, "--year", help="Year of the table / Tahun tabel"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """BPBD per-kelurahan monthly flood table -> events / Tabel banjir bulanan BPBD."""
    from tangguh.risk.losses import import_bpbd

    with use_bank(bank) as b:
        result = import_bpbd(b, csv, year=year)
    _print_import(result, as_json)


@losses_app.command("import-petabencana")
@handle_errors
def import_petabencana_cmd(
    folder: Path = typer.Argument(..., help="flood-petabencana-2017 (or its floods/)"),
    min_overlap: float = typer.Option(
        0.5, "--min-overlap", help="Least share of a source RW inside a bank RW / Porsi minimum"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """PetaBencana.id hourly RW flood states -> states + episodes / Status banjir RW per jam."""
    from tangguh.risk.losses import import_petabencana

    with use_bank(bank) as b:
        result = import_petabencana(b, folder, min_overlap=min_overlap)
    _print_import(result, as_json)


@losses_app.command("replay")
@handle_errors
def replay_cmd(
    start: str | None = typer.Option(None, "--start", help="From (WIB if no zone) / Dari"),
    end: str | None = typer.Option(None, "--end", help="Until (WIB if no zone) / Sampai"),
    level: str = typer.Option("kelurahan", "--level", help="kelurahan, kecamatan, kota"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Flooded RWs and areas hour by hour / RW dan wilayah banjir jam demi jam."""
    from tangguh.risk.losses import replay_states

    with use_bank(bank) as b:
        hours = replay_states(b, start=start, end=end, level=level)
    if as_json:
        records = hours.assign(t=hours["t"].map(lambda t: t.isoformat())).to_dict("records")
        emit_json(records)
        return
    table = Table(title="Flood replay, WIB / Putar ulang banjir, WIB")
    headers = {
        "t": "hour / jam",
        "rw_flooded": "RW flooded / RW banjir",
        "state_1": "1 unknown / tdk diketahui",
        "state_2": "2: 10-70 cm",
        "state_3": "3: 71-150 cm",
        "state_4": "4: >150 cm",
        "max_state": "max state / status maks",
        f"{level}_flooded": f"{level} flooded / banjir",
    }
    for col in headers.values():
        table.add_column(col, justify="right")
    for rec in hours.to_dict("records"):
        row = [rec["t"].strftime("%Y-%m-%d %H:%M")]
        row += [_cell(int(rec[c])) for c in list(headers)[1:]]
        table.add_row(*row)
    console.print(table)
    if len(hours):
        peak = hours.iloc[int(hours["rw_flooded"].to_numpy().argmax())]
        console.print(
            f"peak / puncak: {peak['t']:%Y-%m-%d %H:%M} WIB, {int(peak['rw_flooded'])} RW, "
            f"{int(peak[f'{level}_flooded'])} {level}"
        )


@losses_app.command("summary")
@handle_errors
def summary_cmd(
    by: str = typer.Option("year", "--by", help="kelurahan, year or month / per"),
    sendai: bool = typer.Option(
        True, "--sendai/--no-sendai", help="Also Sendai indicators A-D / Indikator Sendai"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Events and losses per year, month or kelurahan / Ringkasan kejadian dan kerugian."""
    from tangguh.risk.losses import events_summary, sendai_indicators

    with use_bank(bank) as b:
        summary = events_summary(b, by=by)  # type: ignore[arg-type]
        indicators = sendai_indicators(b) if sendai else None
    if as_json:
        emit_json(
            {
                "by": by,
                "summary": summary.astype(object).where(summary.notna(), None).to_dict("records"),
                "sendai": None
                if indicators is None
                else indicators.astype(object).where(indicators.notna(), None).to_dict("records"),
            }
        )
        return
    table = Table(title=f"Events and losses per {by} / Kejadian dan kerugian per {by}")
    cols = [
        c
        for c in (by, "name", "events", "units", "deaths", "missing", "affected", "evacuated",
                  "houses_damaged", "economic_loss_idr")
        if c in summary.columns
    ]  # fmt: skip
    for col in cols:
        table.add_column(col)
    for rec in summary.to_dict("records"):
        table.add_row(*(_cell(rec[c]) for c in cols))
    console.print(table)
    console.print("- = not recorded / tidak tercatat")
    if indicators is not None:
        ind = Table(title="Sendai indicators / Indikator Sendai")
        for col in ("code", "indicator", "value", "per_100k", "note"):
            ind.add_column(col)
        for rec in indicators.to_dict("records"):
            value = _cell(rec["value"]) if rec["available"] else "n/a / t.a."
            ind.add_row(rec["code"], rec["indicator"], value, _cell(rec["per_100k"]), rec["note"])
        console.print(ind)


@losses_app.command("return-periods")
@handle_errors
def return_periods_cmd(
    level: str = typer.Option("kelurahan", "--level", help="kelurahan, kecamatan or kota"),
    years: str | None = typer.Option(
        None, "--years", help="Observation years, e.g. 2017,2024 (default: years with events)"
    ),
    hazard_type: str = typer.Option("flood", "--hazard-type", help="Event type / Jenis kejadian"),
    save: bool = typer.Option(True, "--save/--no-save", help="Store the analysis record"),
    top: int = typer.Option(15, "--top", help="Rows to show"),
    csv: Path | None = typer.Option(None, "--csv", help="Write the per-unit table to CSV"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Empirical return periods (Weibull) per unit and city / Periode ulang empiris."""
    from tangguh.errors import InputError
    from tangguh.risk.returns import return_periods

    chosen: list[int] | None = None
    if years:
        try:
            chosen = [int(y) for y in years.replace(" ", "").split(",") if y]
        except ValueError:
            raise InputError(
                f"years must be whole numbers separated by commas, not {years!r}",
                message_id=f"tahun harus bilangan bulat dipisah koma, bukan {years!r}",
                where="--years",
                hint="e.g. --years 2017,2024",
                hint_id="mis. --years 2017,2024",
            ) from None
    with use_bank(bank) as b:
        result = return_periods(b, level=level, years=chosen, hazard_type=hazard_type, save=save)
    if csv is not None:
        result.units.to_csv(csv, index=False)
    s = result.record.summary
    if as_json:
        emit_json(
            {
                "record": result.record.to_json(),
                "units": result.units.astype(object)
                .where(result.units.notna(), None)
                .to_dict("records"),
            }
        )
        return
    table = Table(title=f"Flood return periods per {level} / Periode ulang banjir per {level}")
    cols = ["name", "years_flooded", "events", "events_per_year", "rp_flooded_years",
            "max_severity_cm", "rp_max_severity_years"]  # fmt: skip
    for col in cols:
        table.add_column(col)
    ranked = result.units.sort_values(["years_flooded", "events"], ascending=False)
    for rec in ranked.head(top).to_dict("records"):
        table.add_row(*(_cell(rec[c]) for c in cols))
    console.print(table)
    city = Table(title="City per year / Kota per tahun")
    for col in ("year", "units_flooded", "events", "max_severity_cm", "rp_years"):
        city.add_column(col)
    for rec in result.city.to_dict("records"):
        city.add_row(
            str(rec["year"]), *(_cell(rec[c]) for c in ("units_flooded", "events",
                                                        "max_severity_cm", "rp_years"))
        )  # fmt: skip
    console.print(city)
    console.print(f"caution / perhatian: {s['caution']}", markup=False, soft_wrap=True)
    saved = f"analysis / analisis {result.record.id}" if save else "not saved / tidak disimpan"
    console.print(saved)


def register(app: typer.Typer) -> None:
    """Add the ``losses`` command group to ``app``."""
    app.add_typer(losses_app, name="losses")
