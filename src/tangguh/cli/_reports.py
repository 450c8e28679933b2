"""`tangguh reports …`: citizen reports and their lifecycle (tangguh.services.reports)."""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    language,
    use_bank,
)
from tangguh.errors import InputError

__all__ = ["register", "reports_app"]

reports_app = typer.Typer(
    help="Citizen reports: review, assign, resolve, SLA / "
    "Laporan warga: verifikasi, penugasan, penyelesaian, SLA",
    no_args_is_help=True,
)

ActorOption = typer.Option(
    None, "--actor", help="Who does this (default $USER) / Siapa yang melakukan (bawaan $USER)"
)
NoteOption = typer.Option(None, "--note", help="A note for the log / Catatan untuk log")
_WIB = ZoneInfo("Asia/Jakarta")


def register(app: typer.Typer) -> None:
    """Add the ``reports`` command group to ``app``."""
    app.add_typer(reports_app, name="reports")


def _bi(id_text: str, en_text: str) -> str:
    return f"{id_text} / {en_text}" if language() == "id" else f"{en_text} / {id_text}"


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{os.environ.get('USER') or getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _time(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(_WIB).strftime("%Y-%m-%d %H:%M")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        stamp = None
    if stamp is None:
        raise InputError(
            f"unreadable time {value!r}",
            where="--since",
            hint="use ISO 8601, e.g. 2025-01-31 or 2025-01-31T07:00+07:00",
            message_id=f"waktu {value!r} tidak terbaca",
            hint_id="gunakan ISO 8601, mis. 2025-01-31 atau 2025-01-31T07:00+07:00",
        )
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=_WIB)


def _sla_text(item: dict[str, Any]) -> str:
    sla = item["sla"]
    if sla["reach_overdue"]:
        return _bi("TERLAMBAT (6 j ke unit)", "OVERDUE (reach unit)")
    if sla["resolve_overdue"]:
        return _bi("TERLAMBAT (penyelesaian)", "OVERDUE (resolution)")
    return _bi("tepat waktu", "on time")


def _table(rows: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    for header in (
        "ID",
        _bi("Jenis", "Type"),
        "Status",
        "RW",
        _bi("Unit", "Unit"),
        _bi("Waktu (WIB)", "Time (WIB)"),
        "SLA",
        _bi("Klaster", "Cluster"),
        _bi("Tanda", "Flags"),
    ):
        table.add_column(header)
    for r in rows:
        table.add_row(
            r["report_id"],
            r["type"] + (f" {r['depth_cm']:g} cm" if r.get("depth_cm") is not None else ""),
            r["status"],
            r["rw_id"] or r["kelurahan_id"] or "",
            r["unit"] or "",
            _time(r["t"]),
            _sla_text(r),
            f"{r['cluster_size']}{' *' if r['primary'] and r['cluster_size'] > 1 else ''}",
            ", ".join(r.get("flags", [])),
        )
    console.print(table)


def _one(item: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(item)
        return
    _table([item], _bi("Laporan", "Report"))


@reports_app.command("list")
@handle_errors
def list_(
    status: str | None = typer.Option(None, "--status", help="Status / Status"),
    kind: str | None = typer.Option(None, "--type", help="Report type / Jenis laporan"),
    rw: str | None = typer.Option(None, "--rw", help="RW unit id / Id unit RW"),
    kelurahan: str | None = typer.Option(None, "--kelurahan", help="Kelurahan unit id"),
    unit: str | None = typer.Option(None, "--unit", help="Responsible unit / Unit"),
    since: str | None = typer.Option(None, "--since", help="From (ISO 8601, WIB if no zone)"),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue / Hanya terlambat"),
    flagged: bool = typer.Option(False, "--flagged", help="Only with abuse flags / Bertanda"),
    limit: int = typer.Option(100, "--limit", min=1, help="At most / Paling banyak"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """List reports, newest first / Daftar laporan, terbaru dahulu."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        rows = reports.list_reports(
            b,
            status=status,
            types=kind,
            rw=rw,
            kelurahan=kelurahan,
            unit=unit,
            since=_since(since),
            overdue_only=overdue,
            flagged_only=flagged,
            private=True,
            limit=limit,
        )
    if as_json:
        emit_json(rows)
        return
    _table(rows, _bi(f"Laporan warga ({len(rows)})", f"Citizen reports ({len(rows)})"))


@reports_app.command("show")
@handle_errors
def show(
    report_id: str = typer.Argument(..., help="Report id / Id laporan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """One report with its lifecycle log / Satu laporan dengan riwayatnya."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        item = reports.get_report(b, report_id, private=True)
        log = reports.events(b, report_id, private=True)
    if as_json:
        emit_json({**item, "events": log})
        return
    _table([item], _bi("Laporan", "Report"))
    if item.get("text"):
        console.print(item["text"], markup=False)
    console.print(f"SLA: {_time(item['sla']['reach_due'])} / {_time(item['sla']['resolve_due'])}")
    table = Table(title=_bi("Riwayat", "Lifecycle"))
    for header in (_bi("Waktu (WIB)", "Time (WIB)"), _bi("Aksi", "Action"), "Status",
                   _bi("Oleh", "By"), _bi("Catatan", "Note")):  # fmt: skip
        table.add_column(header)
    for e in log:
        table.add_row(
            _time(e["t"]),
            e["action"],
            f"{e['status_from'] or ''} → {e['status_to']}",
            e.get("actor") or "",
            e.get("note") or "",
        )
    console.print(table)


def _action(name: str, doc: str) -> None:
    def command(
        report_id: str = typer.Argument(..., help="Report id / Id laporan"),
        actor: str | None = ActorOption,
        note: str | None = NoteOption,
        bank: str | None = BankOption,
        as_json: bool = JsonOption,
    ) -> None:
        from tangguh.services import reports

        fn = getattr(reports, name)
        with use_bank(bank) as b:
            item = fn(b, report_id, actor=_actor(actor), note=note)
        _one(item, as_json)

    command.__doc__ = doc
    command.__name__ = f"reports_{name}"
    reports_app.command(name)(handle_errors(command))


_action("verify", "Verify and assign to the responsible unit / Verifikasi dan tugaskan ke unit.")
_action("reject", "Reject a report / Tolak laporan.")
_action("start", "Work started on a report / Laporan mulai dikerjakan.")


@reports_app.command("assign")
@handle_errors
def assign(
    report_id: str = typer.Argument(..., help="Report id / Id laporan"),
    unit: str | None = typer.Option(
        None, "--unit", help="Unit code (default: routing rules) / Kode unit (bawaan: aturan)"
    ),
    actor: str | None = ActorOption,
    note: str | None = NoteOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Assign (or re-assign) to a responsible unit / Tugaskan ke unit penanggung jawab."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        item = reports.assign(b, report_id, actor=_actor(actor), unit=unit, note=note)
    _one(item, as_json)


@reports_app.command("resolve")
@handle_errors
def resolve(
    report_id: str = typer.Argument(..., help="Report id / Id laporan"),
    photo: Path = typer.Option(
        ..., "--photo", help="Resolution photo (JPEG/PNG) / Foto penyelesaian (JPEG/PNG)"
    ),
    actor: str | None = ActorOption,
    note: str | None = NoteOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Resolve with a photo of the fixed place / Selesaikan dengan foto lokasi."""
    from tangguh.services import reports

    try:
        data = photo.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the photo: {exc}",
            where=str(photo),
            hint="check the path of --photo",
            message_id=f"foto tidak dapat dibaca: {exc}",
            hint_id="periksa path --photo",
        ) from exc
    checked = reports.check_photo(data, where=str(photo))
    with use_bank(bank) as b:
        item = reports.resolve(b, report_id, actor=_actor(actor), photo=checked, note=note)
    _one(item, as_json)


@reports_app.command("confirm")
@handle_errors
def confirm(
    report_id: str = typer.Argument(..., help="Report id / Id laporan"),
    token: str = typer.Option(..., "--token", help="Reporter token / Token pelapor"),
    note: str | None = NoteOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """The reporter confirms the fix / Pelapor mengonfirmasi penyelesaian."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        item = reports.confirm(b, report_id, token=token, note=note)
    _one(item, as_json)


@reports_app.command("reopen")
@handle_errors
def reopen(
    report_id: str = typer.Argument(..., help="Report id / Id laporan"),
    token: str | None = typer.Option(
        None, "--token", help="Reporter token (else as operator) / Token pelapor"
    ),
    actor: str | None = ActorOption,
    note: str | None = NoteOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Reopen a resolved report / Buka kembali laporan yang selesai."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        item = reports.reopen(
            b, report_id, token=token, actor=None if token else _actor(actor), note=note
        )
    _one(item, as_json)


@reports_app.command("overdue")
@handle_errors
def overdue(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Reports past an SLA due time / Laporan yang melewati SLA."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        rows = reports.overdue(b)
    if as_json:
        emit_json(rows)
        return
    _table(rows, _bi(f"Laporan terlambat ({len(rows)})", f"Overdue reports ({len(rows)})"))


@reports_app.command("units")
@handle_errors
def units(
    import_file: Path | None = typer.Option(
        None, "--import", help="Store a TOML configuration in the bank / Simpan konfigurasi"
    ),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Responsible units, routing and SLA per type / Unit penanggung jawab dan SLA."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        if import_file is not None:
            config = reports.import_config(b, import_file, actor=_actor(actor))
        else:
            config = reports.current_config(b)
    data = config.to_json()
    if as_json:
        emit_json(data)
        return
    names = {u["code"]: u for u in data["units"]}
    table = Table(title=_bi("Unit penanggung jawab", "Responsible units")
                  + f" (v{data['version'] or '-'}: {data['source']})")  # fmt: skip
    for header in (_bi("Jenis", "Type"), "Unit", _bi("Ke unit (jam)", "Reach (h)"),
                   _bi("Selesai (jam)", "Resolve (h)"), _bi("Zona", "Zone")):  # fmt: skip
        table.add_column(header)
    for rule in data["types"]:
        unit = names[rule["unit"]]
        table.add_row(
            rule["type"],
            f"{rule['unit']}: {unit['name_id'] if language() == 'id' else unit['name_en']}",
            f"{rule['reach_hours']:g}",
            f"{rule['resolve_hours']:g}",
            f"{rule['zone_layer']}.{rule['zone_field']}" if rule["zone_layer"] else "",
        )
    console.print(table)
    for ov in data["overrides"]:
        console.print(f"override: {ov['kelurahan']} {','.join(ov['types'])} → {ov['unit']}")


@reports_app.command("summary")
@handle_errors
def summary(
    level: str = typer.Option("rw", "--level", help="rw or kelurahan / rw atau kelurahan"),
    since: str | None = typer.Option(None, "--since", help="From (ISO 8601) / Sejak"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Reports per RW: by type and status, open, overdue / Laporan per RW."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        rows = reports.summary(b, level=level, since=_since(since))
    if as_json:
        emit_json(rows)
        return
    table = Table(title=_bi(f"Laporan per {level}", f"Reports per {level}"))
    for header in ("Unit", "Total", _bi("Terbuka", "Open"), _bi("Terlambat", "Overdue"),
                   _bi("Per jenis", "By type"), _bi("Per status", "By status")):  # fmt: skip
        table.add_column(header)
    for r in rows:
        table.add_row(
            r["unit_id"],
            str(r["total"]),
            str(r["open"]),
            str(r["overdue"]),
            ", ".join(f"{k} {v}" for k, v in sorted(r["by_type"].items())),
            ", ".join(f"{k} {v}" for k, v in sorted(r["by_status"].items())),
        )
    console.print(table)


@reports_app.command("suggestions")
@handle_errors
def suggestions(
    window_hours: float | None = typer.Option(
        None, "--window-hours", help="Hours of reports to use / Jam laporan yang dipakai"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Suggested RW flood states from verified flood reports / Saran status banjir RW."""
    from tangguh.services import reports

    with use_bank(bank) as b:
        rows = reports.suggestions(b, window_hours=window_hours)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=_bi("Saran status banjir RW (tidak diterapkan otomatis)",
                            "Suggested RW flood states (never applied automatically)"))  # fmt: skip
    for header in ("RW", _bi("Saran", "Suggested"), _bi("Sekarang", "Current"),
                   _bi("Laporan", "Reports"), _bi("Median cm", "Median cm"), "Max cm"):  # fmt: skip
        table.add_column(header)
    for r in rows:
        table.add_row(
            r["rw_id"],
            str(r["suggested_state"]) + (" *" if r["differs"] else ""),
            str(r["current_state"]),
            str(r["reports"]),
            f"{r['median_depth_cm']:g}",
            f"{r['max_depth_cm']:g}",
        )
    console.print(table)
