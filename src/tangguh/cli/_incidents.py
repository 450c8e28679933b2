"""`tangguh playbooks …` and `tangguh incidents …`: SOP playbooks, incidents, tasks, audit."""

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
from tangguh.errors import InputError, NotFoundError

__all__ = ["register"]

playbooks_app = typer.Typer(
    help="SOP playbooks: tasks per hazard and Siaga level / Playbook SOP: tugas per bahaya "
    "dan level Siaga",
    no_args_is_help=True,
)
incidents_app = typer.Typer(
    help="Incidents, tasks and the audit log / Insiden, tugas dan log audit",
    no_args_is_help=True,
)
task_app = typer.Typer(
    help="Act on a task of an incident / Tindakan atas tugas insiden", no_args_is_help=True
)

ActorOption = typer.Option(
    None,
    "--actor",
    help="Who does this (default $USER) / Siapa yang melakukan (bawaan $USER)",
)
TzOption = typer.Option(
    "Asia/Jakarta", "--tz", help="Zone to show times in / Zona waktu tampilan (bawaan WIB)"
)
_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"]


def _bi(id_text: str, en_text: str) -> str:
    """A header in the user's language first, then the other: 'Tugas / Task'."""
    return f"{id_text} / {en_text}" if language() == "id" else f"{en_text} / {id_text}"


def _pick(id_text: str | None, en_text: str | None) -> str:
    first, second = (id_text, en_text) if language() == "id" else (en_text, id_text)
    return first or second or ""


def _actor(actor: str | None) -> str:
    """--actor, else $USER, else the login name ("" when unknown: rejected as invalid)."""
    if actor is not None:
        return actor
    if os.environ.get("USER"):
        return os.environ["USER"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except Exception as exc:
        raise InputError(
            f"unknown time zone {tz!r}",
            message_id=f"zona waktu {tz!r} tidak dikenal",
            where="--tz",
            hint="use an IANA name such as Asia/Jakarta or UTC",
            hint_id="gunakan nama IANA seperti Asia/Jakarta atau UTC",
        ) from exc


def _fmt(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _at(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _level(level: int) -> int:
    if level not in (1, 2, 3, 4):
        raise InputError(
            f"unknown Siaga level {level}",
            message_id=f"level Siaga {level} tidak dikenal",
            where="LEVEL",
            hint="use 4 (normal), 3, 2 or 1 (highest)",
            hint_id="gunakan 4 (normal), 3, 2 atau 1 (tertinggi)",
        )
    return level


# -- playbooks ------------------------------------------------------------------------


def _playbook_set(file: Path | None, bank: str | None) -> Any:
    """A playbook set from --file, else the bank's latest, else the seeded defaults."""
    from tangguh.warning import sop

    if file is not None:
        return sop.load_playbooks(file)
    with use_bank(bank) as b:
        stored = sop.stored_playbooks(b)
    return stored if stored is not None else sop.load_playbooks()


@playbooks_app.command("list")
@handle_errors
def playbooks_list(
    file: Path | None = typer.Option(None, "--file", help="Read a playbook file / Baca berkas"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """List playbooks (bank's latest version, else the Jakarta defaults) / Daftar playbook."""
    books = _playbook_set(file, bank)
    if as_json:
        emit_json(
            {
                "version": books.version,
                "source": books.source,
                "playbooks": [p.to_json() for p in books.ordered()],
            }
        )
        return
    version = books.version if books.version is not None else _bi("bawaan", "default")
    table = Table(title=_bi("Playbook", "Playbooks") + f" (v{version}: {books.source})")
    for header in (
        _bi("Bahaya", "Hazard"),
        "Siaga",
        _bi("Judul", "Title"),
        _bi("Tugas", "Tasks"),
        _bi("Templat", "Templates"),
    ):
        table.add_column(header)
    for p in books.ordered():
        table.add_row(
            p.hazard,
            str(p.level),
            _pick(p.title_id, p.title_en),
            str(len(p.tasks)),
            ", ".join(t.channel for t in p.templates),
        )
    console.print(table)


@playbooks_app.command("show")
@handle_errors
def playbooks_show(
    hazard: str,
    level: int,
    file: Path | None = typer.Option(None, "--file", help="Read a playbook file / Baca berkas"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Tasks and alert texts of one playbook / Tugas dan teks peringatan satu playbook."""
    books = _playbook_set(file, bank)
    book = books.get(hazard, _level(level))
    if book is None:
        known = [f"{h}/{lv}" for h, lv in sorted(books.playbooks)]
        raise NotFoundError(
            f"no playbook for {hazard} at Siaga {level}",
            message_id=f"tidak ada playbook untuk {hazard} pada Siaga {level}",
            where=books.source,
            hint=f"known: {known}",
            hint_id=f"yang ada: {known}",
        )
    if as_json:
        emit_json({"version": books.version, **book.to_json()})
        return
    table = Table(title=f"{book.hazard} Siaga {book.level}: {_pick(book.title_id, book.title_en)}")
    table.add_column("ID", no_wrap=True)
    for header in (
        _bi("Instansi", "Agency"),
        _bi("Tenggat (menit)", "Deadline (min)"),
        _bi("Tugas", "Task"),
    ):
        table.add_column(header)
    for t in book.tasks:
        table.add_row(t.id, t.agency, str(t.deadline_minutes), _pick(t.title_id, t.title_en))
    console.print(table)
    for tpl in book.templates:
        console.print(f"[bold]{tpl.channel}[/] ({tpl.key})", highlight=False)
        console.print(f"  id: {tpl.text_id}", markup=False, highlight=False)
        console.print(f"  en: {tpl.text_en}", markup=False, highlight=False)


@playbooks_app.command("check")
@handle_errors
def playbooks_check(
    file: Path,
    bank: str | None = typer.Option(
        None,
        "--bank",
        "-b",
        help="Also accept agencies stored in this bank / Terima juga instansi di bank ini",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Validate a playbook file without storing it / Periksa berkas playbook tanpa menyimpan."""
    from tangguh.warning import sop

    known = sop.load_agencies()
    if bank is not None:
        with use_bank(bank) as b:
            known.update({a.code: a for a in sop.agencies(b)})
    books = sop.load_playbooks(file, agencies=known)
    tasks = sum(len(p.tasks) for p in books.playbooks.values())
    result = {
        "file": str(file),
        "valid": True,
        "playbooks": len(books.playbooks),
        "tasks": tasks,
        "hazards": books.hazards(),
        "digest": books.digest(),
    }
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"OK: {len(books.playbooks)} playbooks, {tasks} {_bi('tugas', 'tasks')} "
            f"({', '.join(books.hazards())})",
            highlight=False,
        )


@playbooks_app.command("import")
@handle_errors
def playbooks_import(
    file: Path,
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate and store a playbook file as a new version / Simpan playbook sebagai versi baru.

    The file's hazards replace those hazards; other hazards are kept.
    """
    from tangguh.warning import sop

    with use_bank(bank, create=True) as b:
        version = sop.import_playbooks(b, file, actor=_actor(actor))
        books = sop.stored_playbooks(b, version)
    count = len(books.playbooks) if books is not None else 0
    if as_json:
        emit_json({"version": version, "playbooks": count, "file": str(file)})
    else:
        console.print(f"{_bi('Versi playbook', 'Playbook version')}: {version} ({count} playbooks)")


@playbooks_app.command("agencies")
@handle_errors
def playbooks_agencies(
    file: Path | None = typer.Option(None, "--file", help="Read an agency file / Baca berkas"),
    as_json: bool = JsonOption,
) -> None:
    """Agencies playbooks may reference / Instansi yang dapat dirujuk playbook."""
    from tangguh.warning import sop

    items = list(sop.load_agencies(file).values())
    if as_json:
        emit_json([a.to_json() for a in items])
        return
    table = Table(title=_bi("Instansi", "Agencies"))
    for header in (_bi("Kode", "Code"), _bi("Nama", "Name"), _bi("Induk", "Parent")):
        table.add_column(header)
    for a in items:
        table.add_row(a.code, _pick(a.name_id, a.name_en), a.parent or "")
    console.print(table)


# -- incidents ------------------------------------------------------------------------


def _task_table(title: str, tasks: list[Any], zone: ZoneInfo, now: datetime) -> Table:
    table = Table(title=title)
    table.add_column(_bi("Tugas", "Task"), no_wrap=True)
    for header in (
        "Siaga",
        _bi("Instansi", "Agency"),
        _bi("Tenggat", "Due"),
        "Status",
        _bi("Petugas", "Assignee"),
        _bi("Judul", "Title"),
    ):
        table.add_column(header)
    for t in tasks:
        due = _fmt(t.due, zone) + (" !" if t.is_overdue(now) else "")
        table.add_row(
            t.task_id,
            str(t.level),
            t.agency,
            due,
            t.status,
            t.assignee or "",
            _pick(t.title_id, t.title_en),
        )
    return table


@incidents_app.command("list")
@handle_errors
def incidents_list(
    status: str | None = typer.Option(None, "--status", help="open | closed"),
    tz: str = TzOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """List incidents, newest first / Daftar insiden, terbaru dahulu."""
    from tangguh.warning import sop

    zone = _zone(tz)
    with use_bank(bank) as b:
        items = sop.list_incidents(b, status=status)
    if as_json:
        emit_json([i.to_json() for i in items])
        return
    table = Table(title=_bi("Insiden", "Incidents") + f" ({len(items)})")
    table.add_column("ID", no_wrap=True)
    for header in (
        _bi("Bahaya", "Hazard"),
        "Siaga",
        "Status",
        _bi("Dibuka", "Opened"),
        _bi("Stasiun", "Station"),
        _bi("Judul", "Title"),
    ):
        table.add_column(header)
    for i in items:
        table.add_row(
            i.incident_id,
            i.hazard,
            f"{i.level} ({i.current_level})" if i.current_level != i.level else str(i.level),
            i.status,
            _fmt(i.opened, zone),
            i.station_id or "",
            _pick(i.title_id, i.title_en),
        )
    console.print(table)


@incidents_app.command("show")
@handle_errors
def incidents_show(
    incident_id: str,
    tz: str = TzOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """An incident and its tasks / Satu insiden dan tugas-tugasnya."""
    from tangguh.warning import sop

    zone = _zone(tz)
    with use_bank(bank) as b:
        incident, tasks = sop.get_incident(b, incident_id)
    if as_json:
        emit_json({"incident": incident.to_json(), "tasks": [t.to_json() for t in tasks]})
        return
    console.print(
        f"[bold]{incident.incident_id}[/] {incident.hazard} Siaga {incident.level} "
        f"({_bi('saat ini', 'current')} {incident.current_level}) {incident.status}\n"
        f"{_pick(incident.title_id, incident.title_en)}\n"
        f"{_bi('Dibuka', 'Opened')}: {_fmt(incident.opened, zone)}  "
        f"{_bi('Ditutup', 'Closed')}: {_fmt(incident.closed, zone)}  "
        f"{_bi('Stasiun', 'Station')}: {incident.station_id or '-'}  "
        f"alert: {incident.alert_id or '-'} ({incident.alert_status or '-'})  "
        f"playbook v{incident.playbook_version}",
        highlight=False,
    )
    now = datetime.now(zone)
    console.print(_task_table(_bi("Tugas", "Tasks") + f" ({len(tasks)})", tasks, zone, now))


@incidents_app.command("close")
@handle_errors
def incidents_close(
    incident_id: str,
    note: str | None = typer.Option(None, "--note", help="Why / Alasan"),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Close an incident; unfinished tasks are cancelled / Tutup insiden."""
    from tangguh.warning import sop

    with use_bank(bank) as b:
        incident = sop.close_incident(b, incident_id, actor=_actor(actor), note=note)
    if as_json:
        emit_json(incident.to_json())
    else:
        console.print(f"{_bi('Ditutup', 'Closed')}: {incident.incident_id}")


@incidents_app.command("overdue")
@handle_errors
def incidents_overdue(
    at: datetime | None = typer.Option(
        None, "--at", formats=_TIME_FORMATS, help="Instead of now (zone --tz) / Sebagai ganti kini"
    ),
    tz: str = TzOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Tasks past their deadline / Tugas yang melewati tenggat."""
    from tangguh.warning import sop

    zone = _zone(tz)
    now = _at(at, zone) or datetime.now(zone)
    with use_bank(bank) as b:
        tasks = sop.overdue_tasks(b, now)
    if as_json:
        emit_json([t.to_json() for t in tasks])
        return
    console.print(_task_table(_bi("Terlambat", "Overdue") + f" ({len(tasks)})", tasks, zone, now))


@incidents_app.command("audit")
@handle_errors
def incidents_audit(
    object_id: str | None = typer.Argument(None, help="Incident or task id / ID insiden/tugas"),
    tz: str = TzOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """The audit log: who did what, when / Log audit: siapa melakukan apa, kapan."""
    from tangguh.warning import sop

    zone = _zone(tz)
    with use_bank(bank) as b:
        entries = sop.audit_log(b, object_id)
    if as_json:
        emit_json([e.to_json() for e in entries])
        return
    table = Table(title=_bi("Log audit", "Audit log") + f" ({len(entries)})")
    for header in (
        "#",
        _bi("Waktu", "When"),
        _bi("Pelaku", "Actor"),
        _bi("Tindakan", "Action"),
        _bi("Objek", "Object"),
        _bi("Rincian", "Detail"),
    ):
        table.add_column(header)
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items() if v is not None)
        table.add_row(str(e.seq), _fmt(e.at, zone), e.actor, e.action, e.object_id, detail)
    console.print(table)


# -- tasks ----------------------------------------------------------------------------


def _task_result(task: Any, as_json: bool) -> None:
    if as_json:
        emit_json(task.to_json())
    else:
        console.print(f"{task.task_id}: {task.status} {task.assignee or ''}", highlight=False)


@task_app.command("assign")
@handle_errors
def task_assign(
    task_id: str,
    to: str = typer.Option(..., "--to", help="Person or team / Orang atau tim"),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Assign a task / Tugaskan."""
    from tangguh.warning import sop

    with use_bank(bank) as b:
        task = sop.assign_task(b, task_id, to, actor=_actor(actor))
    _task_result(task, as_json)


@task_app.command("ack")
@handle_errors
def task_ack(
    task_id: str,
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Acknowledge a task / Konfirmasi tugas diterima."""
    from tangguh.warning import sop

    with use_bank(bank) as b:
        task = sop.acknowledge_task(b, task_id, actor=_actor(actor))
    _task_result(task, as_json)


@task_app.command("done")
@handle_errors
def task_done(
    task_id: str,
    note: str | None = typer.Option(None, "--note", help="What was done / Apa yang dikerjakan"),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Mark a task done / Tandai tugas selesai."""
    from tangguh.warning import sop

    with use_bank(bank) as b:
        task = sop.complete_task(b, task_id, actor=_actor(actor), note=note)
    _task_result(task, as_json)


@task_app.command("cancel")
@handle_errors
def task_cancel(
    task_id: str,
    note: str | None = typer.Option(None, "--note", help="Why / Alasan"),
    actor: str | None = ActorOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Cancel a task no longer needed / Batalkan tugas."""
    from tangguh.warning import sop

    with use_bank(bank) as b:
        task = sop.cancel_task(b, task_id, actor=_actor(actor), note=note)
    _task_result(task, as_json)


incidents_app.add_typer(task_app, name="task")


def register(app: typer.Typer) -> None:
    """Add `tangguh playbooks …` and `tangguh incidents …` to app."""
    app.add_typer(playbooks_app, name="playbooks")
    app.add_typer(incidents_app, name="incidents")
