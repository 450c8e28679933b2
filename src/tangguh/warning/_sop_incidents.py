"""Incidents and their tasks, opened and escalated from alerts; every write is audited.

Semantics (see docs/warning-sop.md):

* One open incident per hazard and station (per alert when the alert has no station),
  enforced by a unique ``open_key``. An alert version is processed once
  (``tg_incident_alert``), so calling :func:`open_incident` twice is harmless.
* A new incident gets the tasks of every level from Siaga 4 down to the alert's level;
  an escalation adds the tasks of each level between the incident's most severe level
  and the alert's; a less severe alert is recorded but keeps the tasks; a Cancel (or a
  cancelled/expired alert) is recorded and leaves the incident open for an operator.
* Deadlines are ``now`` + the playbook task's ``deadline_minutes``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, or_, select, update

from tangguh.bank.base import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.warning._sop_audit import check_actor, write_audit
from tangguh.warning._sop_playbooks import PlaybookSet, ensure_playbooks, read_playbooks
from tangguh.warning.model import AlertRecord, more_severe
from tangguh.warning.tables.sop import tg_incident, tg_incident_alert, tg_task

__all__ = [
    "INCIDENT_STATUSES",
    "TASK_STATUSES",
    "Incident",
    "Task",
    "acknowledge_task",
    "assign_task",
    "cancel_task",
    "close_incident",
    "complete_task",
    "get_incident",
    "list_incidents",
    "open_incident",
    "overdue_tasks",
]

INCIDENT_STATUSES = ("open", "closed")
TASK_STATUSES = ("open", "assigned", "acknowledged", "done", "cancelled")
_ACTIVE = ("open", "assigned", "acknowledged")

#: action -> (statuses it may start from, status it leads to, audit action, words id/en)
_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str, str, str]] = {
    "assign": (_ACTIVE, "assigned", "task_assigned", "menugaskan", "assign"),
    "acknowledge": (
        ("open", "assigned"),
        "acknowledged",
        "task_acknowledged",
        "mengonfirmasi",
        "acknowledge",
    ),
    "complete": (_ACTIVE, "done", "task_done", "menyelesaikan", "complete"),
    "cancel": (_ACTIVE, "cancelled", "task_cancelled", "membatalkan", "cancel"),
}


@dataclass
class Incident:
    """An incident: a hazard event at a station (or of an alert) and its response."""

    incident_id: str
    hazard: str
    #: most severe Siaga level reached (1 highest)
    level: int
    #: level of the latest alert version seen
    current_level: int
    status: str
    opened: datetime
    updated: datetime
    closed: datetime | None = None
    station_id: str | None = None
    alert_id: str | None = None
    alert_status: str | None = None
    unit_ids: list[str] = field(default_factory=list)
    title_id: str | None = None
    title_en: str | None = None
    playbook_version: int | None = None
    close_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("opened", "updated", "closed"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass
class Task:
    """A task of an incident, made from a playbook task."""

    task_id: str
    incident_id: str
    playbook_task_id: str
    level: int
    title_id: str
    title_en: str
    agency: str
    due: datetime
    status: str
    created: datetime
    assignee: str | None = None
    assigned_at: datetime | None = None
    acknowledged_at: datetime | None = None
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    note: str | None = None
    checklist: dict[str, list[str]] = field(default_factory=dict)

    def is_overdue(self, now: datetime) -> bool:
        return self.status in _ACTIVE and self.due < now

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for key in ("due", "created", "assigned_at", "acknowledged_at", "done_at", "cancelled_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


# -- helpers --------------------------------------------------------------------------


def _instant(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError(
            f"time {now.isoformat()} has no time zone",
            message_id=f"waktu {now.isoformat()} tidak memiliki zona waktu",
            where="now",
            hint="pass a tz-aware datetime, e.g. datetime.now(UTC)",
            hint_id="berikan datetime dengan zona waktu, mis. datetime.now(UTC)",
        )
    return now.astimezone(UTC)


def _incident_from(row: Any) -> Incident:
    return Incident(
        incident_id=row["incident_id"],
        hazard=row["hazard"],
        level=int(row["level"]),
        current_level=int(row["current_level"]),
        status=row["status"],
        opened=row["opened"],
        updated=row["updated"],
        closed=row["closed"],
        station_id=row["station_id"],
        alert_id=row["alert_id"],
        alert_status=row["alert_status"],
        unit_ids=list(row["unit_ids"] or []),
        title_id=row["title_id"],
        title_en=row["title_en"],
        playbook_version=row["playbook_version"],
        close_note=row["close_note"],
    )


def _task_from(row: Any) -> Task:
    return Task(
        task_id=row["task_id"],
        incident_id=row["incident_id"],
        playbook_task_id=row["playbook_task_id"],
        level=int(row["level"]),
        title_id=row["title_id"],
        title_en=row["title_en"],
        agency=row["agency"],
        due=row["due"],
        status=row["status"],
        created=row["created"],
        assignee=row["assignee"],
        assigned_at=row["assigned_at"],
        acknowledged_at=row["acknowledged_at"],
        done_at=row["done_at"],
        cancelled_at=row["cancelled_at"],
        note=row["note"],
        checklist=dict(row["checklist"] or {}),
    )


def _load_incident(conn: Connection, incident_id: str) -> Incident:
    row = (
        conn.execute(select(tg_incident).where(tg_incident.c.incident_id == incident_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(
            f"no incident {incident_id!r}",
            message_id=f"tidak ada insiden {incident_id!r}",
            where="incident",
            hint="list them with `tangguh incidents list`",
            hint_id="lihat daftarnya dengan `tangguh incidents list`",
        )
    return _incident_from(row)


def _load_task(conn: Connection, task_id: str) -> Task:
    row = conn.execute(select(tg_task).where(tg_task.c.task_id == task_id)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"no task {task_id!r}",
            message_id=f"tidak ada tugas {task_id!r}",
            where="task",
            hint="see the tasks of an incident with `tangguh incidents show ID`",
            hint_id="lihat tugas suatu insiden dengan `tangguh incidents show ID`",
        )
    return _task_from(row)


def _require_open(incident: Incident) -> None:
    if incident.status != "open":
        raise InputError(
            f"incident {incident.incident_id} is closed; it cannot be changed",
            message_id=f"insiden {incident.incident_id} sudah ditutup; tidak dapat diubah",
            where=f"incident {incident.incident_id}",
            hint="a new alert opens a new incident; see `tangguh incidents list --status open`",
            hint_id="peringatan baru membuka insiden baru; "
            "lihat `tangguh incidents list --status open`",
        )


def _levels_between(start_exclusive: int | None, end_inclusive: int) -> list[int]:
    """Siaga levels from just above ``start`` down to ``end``: (4, 2) -> [3, 2]."""
    first = 4 if start_exclusive is None else start_exclusive - 1
    return list(range(first, end_inclusive - 1, -1))


def _add_tasks(
    conn: Connection,
    incident_id: str,
    books: PlaybookSet,
    hazard: str,
    levels: list[int],
    *,
    actor: str,
    now: datetime,
) -> tuple[list[str], list[int]]:
    """Insert the tasks of ``levels``; return (task ids created, levels without playbook)."""
    existing = set(
        conn.execute(
            select(tg_task.c.task_id).where(tg_task.c.incident_id == incident_id)
        ).scalars()
    )
    created: list[str] = []
    missing: list[int] = []
    for level in levels:
        book = books.get(hazard, level)
        if book is None:
            missing.append(level)
            continue
        for pt in book.tasks:
            task_id = f"{incident_id}:{pt.id}"
            if task_id in existing:
                continue
            due = now + timedelta(minutes=pt.deadline_minutes)
            checklist = {"id": list(pt.checklist_id), "en": list(pt.checklist_en)}
            conn.execute(
                insert(tg_task).values(
                    task_id=task_id,
                    incident_id=incident_id,
                    playbook_task_id=pt.id,
                    level=level,
                    title_id=pt.title_id,
                    title_en=pt.title_en,
                    agency=pt.agency,
                    checklist=checklist,
                    due=due,
                    status="open",
                    created=now,
                )
            )
            write_audit(
                conn,
                at=now,
                actor=actor,
                action="task_created",
                object_type="task",
                object_id=task_id,
                incident_id=incident_id,
                detail={"level": level, "agency": pt.agency, "due": due.isoformat()},
            )
            created.append(task_id)
    return created, missing


def _find_open(conn: Connection, alert: AlertRecord, open_key: str | None) -> Incident | None:
    """The open incident linked to the alert's id, or (``open_key``) of its hazard/station."""
    linked = select(tg_incident_alert.c.incident_id).where(
        tg_incident_alert.c.alert_id == alert.alert_id
    )
    match: ColumnElement[bool] = tg_incident.c.incident_id.in_(linked)
    if open_key is not None:
        match = or_(match, tg_incident.c.open_key == open_key)
    query = (
        select(tg_incident)
        .where(tg_incident.c.status == "open")
        .where(match)
        .order_by(tg_incident.c.opened.desc())
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _incident_from(row)


def _open_key(alert: AlertRecord) -> str:
    anchor = alert.station_id if alert.station_id else f"alert:{alert.alert_id}"
    return f"{alert.hazard}|{anchor}"[:190]


def _link(conn: Connection, alert: AlertRecord, incident_id: str, now: datetime) -> None:
    conn.execute(
        insert(tg_incident_alert).values(
            alert_id=alert.alert_id,
            alert_version=alert.version,
            incident_id=incident_id,
            msg_type=alert.msg_type,
            level=alert.level,
            at=now,
        )
    )


def _alert_detail(alert: AlertRecord) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "version": alert.version,
        "identifier": alert.identifier,
        "msg_type": alert.msg_type,
        "status": alert.status,
        "level": alert.level,
    }


# -- incidents ------------------------------------------------------------------------


def open_incident(
    bank: Bank, alert: AlertRecord, *, actor: str = "rules", now: datetime | None = None
) -> Incident:
    """Open, escalate or update the incident of ``alert``; return it.

    * An open incident of the same hazard and station (or linked to the same
      ``alert_id``) is reused: a more severe level adds the tasks of every level in
      between (Siaga 4 -> 2 adds Siaga 3 and 2), due from ``now``; a less severe level
      is recorded in the audit log and the tasks stay.
    * Otherwise a new incident is opened with the tasks of all levels from Siaga 4 down
      to the alert's level, using the latest stored playbooks (the seeded Jakarta ones
      are imported on first use); the incident records that playbook version.
    * A Cancel (``msg_type`` "Cancel", or status cancelled/expired) is recorded on the
      incident(s) linked to the same ``alert_id`` (an open one, else the latest closed
      one), which stays open until an operator closes it.
    * The same alert version twice changes nothing (idempotent).

    Raises
    ------
    InputError
        The alert's level is not 1..4, or ``now`` has no time zone.
    NotFoundError
        A Cancel for an alert that never opened an incident.
    """
    actor = check_actor(actor)
    now = _instant(now)
    if isinstance(alert.level, bool) or alert.level not in (1, 2, 3, 4):
        raise InputError(
            f"alert {alert.alert_id} has Siaga level {alert.level!r}; expected 1..4",
            message_id=f"peringatan {alert.alert_id} memiliki level Siaga {alert.level!r}; "
            "seharusnya 1..4",
            where=f"alert {alert.alert_id} v{alert.version}, field level",
            hint="map the alert's severity onto Siaga 4 (normal) .. 1 (highest)",
            hint_id="petakan tingkat keparahan peringatan ke Siaga 4 (normal) .. 1 (tertinggi)",
        )
    cancel = alert.msg_type == "Cancel" or alert.status in ("cancelled", "expired")
    open_key = _open_key(alert)
    with bank.begin() as conn:
        seen = conn.execute(
            select(tg_incident_alert.c.incident_id).where(
                (tg_incident_alert.c.alert_id == alert.alert_id)
                & (tg_incident_alert.c.alert_version == alert.version)
            )
        ).scalar()
        if seen is not None:
            return _load_incident(conn, str(seen))
        if cancel:
            # A cancel touches only incidents this alert opened or joined.
            linked = _find_open(conn, alert, None)
            return _record_cancel(conn, alert, linked, actor=actor, now=now)
        incident = _find_open(conn, alert, open_key)
        if incident is None:
            return _create(conn, alert, open_key, actor=actor, now=now)
        return _update(conn, alert, incident, actor=actor, now=now)


def _create(
    conn: Connection, alert: AlertRecord, open_key: str, *, actor: str, now: datetime
) -> Incident:
    books = ensure_playbooks(conn, actor=actor, now=now)
    incident_id = f"inc-{now:%Y%m%d}-{uuid.uuid4().hex[:6]}"
    conn.execute(
        insert(tg_incident).values(
            incident_id=incident_id,
            hazard=alert.hazard,
            level=alert.level,
            current_level=alert.level,
            status="open",
            opened=now,
            updated=now,
            station_id=alert.station_id,
            alert_id=alert.alert_id,
            alert_status=alert.status,
            unit_ids=list(alert.unit_ids),
            title_id=alert.headline_id,
            title_en=alert.headline_en,
            playbook_version=books.version,
            open_key=open_key,
        )
    )
    write_audit(
        conn,
        at=now,
        actor=actor,
        action="incident_opened",
        object_type="incident",
        object_id=incident_id,
        incident_id=incident_id,
        detail={**_alert_detail(alert), "playbook_version": books.version},
    )
    _created, missing = _add_tasks(
        conn,
        incident_id,
        books,
        alert.hazard,
        _levels_between(None, alert.level),
        actor=actor,
        now=now,
    )
    if missing:
        write_audit(
            conn,
            at=now,
            actor=actor,
            action="playbook_missing",
            object_type="incident",
            object_id=incident_id,
            incident_id=incident_id,
            detail={"hazard": alert.hazard, "levels": missing, "version": books.version},
        )
    _link(conn, alert, incident_id, now)
    return _load_incident(conn, incident_id)


def _update(
    conn: Connection, alert: AlertRecord, incident: Incident, *, actor: str, now: datetime
) -> Incident:
    units = list(dict.fromkeys([*incident.unit_ids, *alert.unit_ids]))
    values: dict[str, Any] = {
        "current_level": alert.level,
        "alert_status": alert.status,
        "unit_ids": units,
        "updated": now,
    }
    detail = {**_alert_detail(alert), "from_level": incident.level}
    if more_severe(alert.level, incident.level):
        books = None
        if incident.playbook_version is not None:
            books = read_playbooks(conn, incident.playbook_version)
        if books is None:
            books = ensure_playbooks(conn, actor=actor, now=now)
        values.update(level=alert.level, title_id=alert.headline_id, title_en=alert.headline_en)
        levels = _levels_between(incident.level, alert.level)
        write_audit(
            conn,
            at=now,
            actor=actor,
            action="incident_escalated",
            object_type="incident",
            object_id=incident.incident_id,
            incident_id=incident.incident_id,
            detail={**detail, "to_level": alert.level, "levels_added": levels},
        )
        _created, missing = _add_tasks(
            conn, incident.incident_id, books, incident.hazard, levels, actor=actor, now=now
        )
        if missing:
            write_audit(
                conn,
                at=now,
                actor=actor,
                action="playbook_missing",
                object_type="incident",
                object_id=incident.incident_id,
                incident_id=incident.incident_id,
                detail={"hazard": incident.hazard, "levels": missing, "version": books.version},
            )
    else:
        action = "alert_recorded" if alert.level == incident.level else "incident_level_lowered"
        write_audit(
            conn,
            at=now,
            actor=actor,
            action=action,
            object_type="incident",
            object_id=incident.incident_id,
            incident_id=incident.incident_id,
            detail={**detail, "current_level": alert.level},
        )
    conn.execute(
        update(tg_incident)
        .where(tg_incident.c.incident_id == incident.incident_id)
        .values(**values)
    )
    _link(conn, alert, incident.incident_id, now)
    return _load_incident(conn, incident.incident_id)


def _record_cancel(
    conn: Connection, alert: AlertRecord, incident: Incident | None, *, actor: str, now: datetime
) -> Incident:
    if incident is None:
        # Closed incidents of this alert: record the cancel on the most recent one.
        row = (
            conn.execute(
                select(tg_incident)
                .where(
                    tg_incident.c.incident_id.in_(
                        select(tg_incident_alert.c.incident_id).where(
                            tg_incident_alert.c.alert_id == alert.alert_id
                        )
                    )
                )
                .order_by(tg_incident.c.opened.desc())
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError(
                f"alert {alert.alert_id} v{alert.version} is a {alert.msg_type or 'cancel'} "
                "but no incident was ever opened for it",
                message_id=f"peringatan {alert.alert_id} v{alert.version} adalah pembatalan "
                "tetapi belum pernah ada insiden untuknya",
                where=f"alert {alert.alert_id}",
                hint="nothing to cancel; open incidents only from issued alerts",
                hint_id="tidak ada yang dibatalkan; buka insiden hanya dari peringatan yang terbit",
            )
        incident = _incident_from(row)
    else:
        conn.execute(
            update(tg_incident)
            .where(tg_incident.c.incident_id == incident.incident_id)
            .values(alert_status="cancelled", updated=now)
        )
    write_audit(
        conn,
        at=now,
        actor=actor,
        action="alert_cancelled",
        object_type="incident",
        object_id=incident.incident_id,
        incident_id=incident.incident_id,
        detail={**_alert_detail(alert), "incident_status": incident.status},
    )
    _link(conn, alert, incident.incident_id, now)
    return _load_incident(conn, incident.incident_id)


def close_incident(
    bank: Bank,
    incident_id: str,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Close an open incident; its tasks not yet done are cancelled (each audited)."""
    actor = check_actor(actor)
    now = _instant(now)
    with bank.begin() as conn:
        incident = _load_incident(conn, incident_id)
        _require_open(incident)
        active = (
            conn.execute(
                select(tg_task.c.task_id).where(
                    (tg_task.c.incident_id == incident_id) & tg_task.c.status.in_(_ACTIVE)
                )
            )
            .scalars()
            .all()
        )
        for task_id in active:
            conn.execute(
                update(tg_task)
                .where(tg_task.c.task_id == task_id)
                .values(status="cancelled", cancelled_at=now, note="incident closed")
            )
            write_audit(
                conn,
                at=now,
                actor=actor,
                action="task_cancelled",
                object_type="task",
                object_id=task_id,
                incident_id=incident_id,
                detail={"reason": "incident_closed"},
            )
        conn.execute(
            update(tg_incident)
            .where(tg_incident.c.incident_id == incident_id)
            .values(status="closed", closed=now, updated=now, close_note=note, open_key=None)
        )
        write_audit(
            conn,
            at=now,
            actor=actor,
            action="incident_closed",
            object_type="incident",
            object_id=incident_id,
            incident_id=incident_id,
            detail={"note": note, "tasks_cancelled": len(active)},
        )
        return _load_incident(conn, incident_id)


def list_incidents(bank: Bank, status: str | None = None) -> list[Incident]:
    """Incidents, newest first; ``status`` "open" or "closed" filters."""
    if status is not None and status not in INCIDENT_STATUSES:
        raise InputError(
            f"unknown incident status {status!r}",
            message_id=f"status insiden {status!r} tidak dikenal",
            where="status",
            hint=f"use one of {list(INCIDENT_STATUSES)}",
            hint_id=f"gunakan salah satu dari {list(INCIDENT_STATUSES)}",
        )
    query = select(tg_incident).order_by(tg_incident.c.opened.desc(), tg_incident.c.incident_id)
    if status is not None:
        query = query.where(tg_incident.c.status == status)
    with bank.connect() as conn:
        return [_incident_from(r) for r in conn.execute(query).mappings()]


def _tasks_of(conn: Connection, incident_id: str) -> list[Task]:
    query = (
        select(tg_task)
        .where(tg_task.c.incident_id == incident_id)
        .order_by(tg_task.c.level.desc(), tg_task.c.due, tg_task.c.task_id)
    )
    return [_task_from(r) for r in conn.execute(query).mappings()]


def get_incident(bank: Bank, incident_id: str) -> tuple[Incident, list[Task]]:
    """An incident and its tasks (Siaga 4 tasks first, then by due time)."""
    with bank.connect() as conn:
        return _load_incident(conn, incident_id), _tasks_of(conn, incident_id)


def overdue_tasks(bank: Bank, now: datetime | None = None) -> list[Task]:
    """Tasks of open incidents not done or cancelled whose due time is before ``now``."""
    now = _instant(now)
    query = (
        select(tg_task)
        .join(tg_incident, tg_incident.c.incident_id == tg_task.c.incident_id)
        .where(tg_incident.c.status == "open")
        .where(tg_task.c.status.in_(_ACTIVE))
        .where(tg_task.c.due < now)
        .order_by(tg_task.c.due, tg_task.c.task_id)
    )
    with bank.connect() as conn:
        return [_task_from(r) for r in conn.execute(query).mappings()]


# -- tasks ----------------------------------------------------------------------------


def _act(
    bank: Bank,
    task_id: str,
    action: str,
    *,
    actor: str,
    now: datetime | None,
    assignee: str | None = None,
    note: str | None = None,
) -> Task:
    actor = check_actor(actor)
    at = _instant(now)
    allowed, target, audit_action, word_id, word_en = _TRANSITIONS[action]
    with bank.begin() as conn:
        task = _load_task(conn, task_id)
        incident = _load_incident(conn, task.incident_id)
        _require_open(incident)
        if task.status not in allowed:
            raise InputError(
                f"cannot {word_en} task {task_id}: it is {task.status}",
                message_id=f"tidak dapat {word_id} tugas {task_id}: statusnya {task.status}",
                where=f"task {task_id}",
                hint=f"only a task that is {' or '.join(allowed)} can be changed this way",
                hint_id=f"hanya tugas berstatus {' atau '.join(allowed)} yang dapat diubah begini",
            )
        values: dict[str, Any] = {"status": target}
        detail: dict[str, Any] = {"from": task.status, "to": target}
        if action == "assign":
            values.update(assignee=assignee, assigned_at=at)
            detail["assignee"] = assignee
        elif action == "acknowledge":
            values.update(acknowledged_at=at, assignee=task.assignee or actor)
            detail["assignee"] = task.assignee or actor
        elif action == "complete":
            values["done_at"] = at
        else:
            values["cancelled_at"] = at
        if note is not None:
            values["note"] = note
            detail["note"] = note
        conn.execute(update(tg_task).where(tg_task.c.task_id == task_id).values(**values))
        write_audit(
            conn,
            at=at,
            actor=actor,
            action=audit_action,
            object_type="task",
            object_id=task_id,
            incident_id=task.incident_id,
            detail=detail,
        )
        return _load_task(conn, task_id)


def assign_task(
    bank: Bank, task_id: str, assignee: str, *, actor: str, now: datetime | None = None
) -> Task:
    """Assign (or reassign) a task to a person or team."""
    name = (assignee or "").strip()
    if not name or len(name) > 128:
        raise InputError(
            f"invalid assignee {assignee!r}",
            message_id=f"penerima tugas {assignee!r} tidak sah",
            where=f"task {task_id}, assignee",
            hint="give a name, team or radio call sign (1-128 characters)",
            hint_id="berikan nama, tim atau kode panggil radio (1-128 karakter)",
        )
    return _act(bank, task_id, "assign", actor=actor, now=now, assignee=name)


def acknowledge_task(bank: Bank, task_id: str, *, actor: str, now: datetime | None = None) -> Task:
    """The assignee (or ``actor``, who becomes the assignee) confirms the task."""
    return _act(bank, task_id, "acknowledge", actor=actor, now=now)


def complete_task(
    bank: Bank,
    task_id: str,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Task:
    """Mark a task done, with an optional note (what was done)."""
    return _act(bank, task_id, "complete", actor=actor, now=now, note=note)


def cancel_task(
    bank: Bank,
    task_id: str,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Task:
    """Cancel a task that is no longer needed (why, in ``note``)."""
    return _act(bank, task_id, "cancel", actor=actor, now=now, note=note)
