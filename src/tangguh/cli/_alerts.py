"""`tangguh alerts …`: CAP 1.2 alerts, their approval, cancellation, feed and relay."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank
from tangguh.errors import InputError
from tangguh.warning.model import AlertRecord

__all__ = ["register"]

alerts_app = typer.Typer(
    help="CAP 1.2 alerts: list, approve, issue, cancel, feed, relay / "
    "Peringatan CAP 1.2: daftar, setujui, terbitkan, cabut, umpan, teruskan",
    no_args_is_help=True,
)

ActorOption = typer.Option(
    None,
    "--actor",
    help="Who does this (default: $USER), kept in the audit trail / "
    "Siapa yang melakukan (bawaan: $USER), dicatat di jejak audit",
)


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:
        return "operator"


def _hooks() -> None:
    """Register the chain's issue hooks (deliveries, SOP incident) before issuing."""
    from tangguh.warning import chain

    chain.install_hooks()


def _json(rec: AlertRecord) -> dict[str, Any]:
    from tangguh.warning.alerts import _to_json

    return _to_json(rec)


def _print(rec: AlertRecord) -> None:
    console.print(
        f"[bold]{rec.alert_id}[/] v{rec.version} {rec.msg_type} — {rec.status} — "
        f"Siaga {rec.level} ({rec.severity}/{rec.urgency}/{rec.certainty})"
    )
    console.print(f"  {rec.headline_id}", markup=False)
    console.print(f"  {rec.headline_en}", markup=False)


@alerts_app.command("list")
@handle_errors
def list_cmd(
    status: str | None = typer.Option(
        None, "--status", help="draft, approved, issued, updated, cancelled, expired"
    ),
    active: bool = typer.Option(
        False, "--active", help="Only issued, still valid alerts / Hanya yang berlaku"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """List alerts, newest first / Daftar peringatan, terbaru dulu."""
    from tangguh.warning import alerts

    with use_bank(bank) as b:
        records = alerts.list_alerts(b, status=status, active_only=active)
    if as_json:
        emit_json([_json(r) for r in records])
        return
    table = Table(title=f"Alerts / Peringatan ({len(records)})")
    for col in ("alert_id", "v", "status", "msgType", "Siaga", "station", "units", "headline"):
        table.add_column(col)
    for r in records:
        table.add_row(
            r.alert_id,
            str(r.version),
            r.status,
            r.msg_type,
            str(r.level),
            r.station_id or r.origin,
            str(len(r.unit_ids)),
            r.headline_id,
        )
    console.print(table)


@alerts_app.command("show")
@handle_errors
def show_cmd(
    alert_id: str,
    xml: bool = typer.Option(False, "--xml", help="Print the CAP XML / Cetak XML CAP"),
    version: int | None = typer.Option(
        None, "--version", help="Version (default: current) / Versi (bawaan: terkini)"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an alert, its versions and audit trail / Tampilkan peringatan dan riwayatnya."""
    from tangguh.warning import alerts

    with use_bank(bank) as b:
        if xml:
            sys.stdout.write(alerts.cap_xml(b, alert_id, version).decode("utf-8"))
            return
        rec = alerts.get(b, alert_id)
        versions = alerts.versions(b, alert_id)
        events = alerts.events(b, alert_id)
    if as_json:
        emit_json({"alert": _json(rec), "versions": versions, "events": events})
        return
    _print(rec)
    console.print(f"  {rec.description_id}", markup=False)
    console.print(f"  {rec.description_en}", markup=False)
    table = Table(title="Versions / Versi")
    for col in ("v", "identifier", "msgType", "status", "Siaga", "actor", "issued_by", "sent"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            str(v["version"]),
            v["identifier"],
            v["msg_type"],
            v["status"],
            str(v["level"]),
            v["actor"],
            v["issued_by"] or "",
            v["sent"].isoformat() if v["issued_at"] else "",
        )
    console.print(table)
    log = Table(title="Audit")
    for col in ("t", "v", "action", "status", "actor", "note"):
        log.add_column(col)
    for e in events:
        log.add_row(
            e["t"].isoformat(),
            str(e["version"]),
            e["action"],
            e["status"],
            e["actor"],
            e["note"] or "",
        )
    console.print(log)


@alerts_app.command("approve")
@handle_errors
def approve_cmd(
    alert_id: str,
    no_issue: bool = typer.Option(
        False, "--no-issue", help="Approve only; issue later / Setujui saja, terbitkan nanti"
    ),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Approve (and issue) a draft alert / Setujui (dan terbitkan) draf peringatan."""
    from tangguh.warning import alerts

    _hooks()

    with use_bank(bank) as b:
        rec = alerts.approve(b, alert_id, actor=_actor(actor), issue_now=not no_issue)
    _done(rec, as_json)


@alerts_app.command("issue")
@handle_errors
def issue_cmd(
    alert_id: str,
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Issue an approved alert / Terbitkan peringatan yang sudah disetujui."""
    from tangguh.warning import alerts

    _hooks()

    with use_bank(bank) as b:
        rec = alerts.issue(b, alert_id, actor=_actor(actor))
    _done(rec, as_json)


@alerts_app.command("cancel")
@handle_errors
def cancel_cmd(
    alert_id: str,
    reason: str = typer.Option(..., "--reason", help="Reason in English / Alasan (Inggris)"),
    reason_id: str | None = typer.Option(
        None, "--reason-id", help="Reason in Bahasa Indonesia / Alasan dalam Bahasa Indonesia"
    ),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Cancel an alert (CAP Cancel) / Cabut peringatan (CAP Cancel)."""
    from tangguh.warning import alerts

    _hooks()

    with use_bank(bank) as b:
        rec = alerts.cancel(
            b, alert_id, actor=_actor(actor), reason_en=reason, reason_id=reason_id or reason
        )
    _done(rec, as_json)


@alerts_app.command("expire")
@handle_errors
def expire_cmd(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Expire alerts past their expiry time / Kedaluwarsakan peringatan yang lewat waktu."""
    from tangguh.warning import alerts

    with use_bank(bank) as b:
        done = alerts.expire_due(b)
    if as_json:
        emit_json([_json(r) for r in done])
    else:
        console.print(f"{len(done)} expired / kedaluwarsa")


@alerts_app.command("feed")
@handle_errors
def feed_cmd(
    base_url: str = typer.Option(
        "http://localhost:8000", "--base-url", help="Public URL of the server / URL publik"
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to a file / Tulis ke berkas"
    ),
    bank: str | None = BankOption,
) -> None:
    """Atom feed of issued alerts / Umpan Atom peringatan yang diterbitkan."""
    from tangguh.warning import alerts

    with use_bank(bank) as b:
        data = alerts.feed(b, base_url)
    if output is not None:
        output.write_bytes(data)
        console.print(f"{output}")
    else:
        sys.stdout.write(data.decode("utf-8"))


@alerts_app.command("ingest")
@handle_errors
def ingest_cmd(
    file: Path,
    source: str | None = typer.Option(
        None, "--source", help="Where the message came from (URL, feed) / Asal pesan"
    ),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Relay an external CAP file (e.g. BMKG) if it touches the city / Teruskan CAP eksternal."""
    from tangguh.warning import alerts

    _hooks()

    if not file.is_file():
        raise InputError(
            f"no file {file}",
            message_id=f"berkas {file} tidak ada",
            where=str(file),
            hint="give the path of a CAP XML file",
            hint_id="berikan path berkas XML CAP",
        )
    with use_bank(bank) as b:
        rec = alerts.ingest_external(
            b, file.read_bytes(), source=source or str(file), actor=actor or None
        )
    if rec is None:
        if as_json:
            emit_json(None)
        else:
            console.print(
                "Not relayed: the message does not touch the city (or is not Actual) / "
                "Tidak diteruskan: pesan tidak mengenai wilayah kota (atau bukan Actual)"
            )
        return
    _done(rec, as_json)


@alerts_app.command("policy")
@handle_errors
def policy_cmd(
    set_file: Path | None = typer.Option(
        None, "--set", help="Store the policy of this TOML file / Simpan kebijakan dari TOML"
    ),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Show or set the issue policy / Tampilkan atau atur kebijakan penerbitan."""
    from tangguh.warning import alerts

    with use_bank(bank) as b:
        if set_file is not None:
            alerts.save_policy(b, alerts.IssuePolicy.from_toml(set_file), actor=_actor(actor))
        policy = alerts.load_policy(b)
    data = policy.to_dict()
    if as_json:
        emit_json(data)
        return
    table = Table(title="Issue policy / Kebijakan penerbitan")
    table.add_column("key")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(key, str(value))
    console.print(table)


def _done(rec: AlertRecord, as_json: bool) -> None:
    if as_json:
        emit_json(_json(rec))
    else:
        _print(rec)


def register(app: typer.Typer) -> None:
    """Add `tangguh alerts …` to app."""
    app.add_typer(alerts_app, name="alerts")
