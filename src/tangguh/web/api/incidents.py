"""Incidents and their SOP tasks (operator): list, view, assign, acknowledge, complete.

Through :mod:`tangguh.warning.sop`, which writes its own ``tg_audit`` row; the web
audit row is written in the same transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from tangguh.bank import Bank
from tangguh.warning import sop
from tangguh.web.api._core import call, require, write
from tangguh.web.api._models import AssignIn, IncidentOut, NoteIn, TaskOut
from tangguh.web.api.security import Principal

__all__ = ["router"]

router = APIRouter(tags=["incidents"])

Operator = Depends(require("operator"))


def _list(bank: Bank, status: str | None) -> list[dict[str, Any]]:
    return [i.to_json() for i in sop.list_incidents(bank, status)]


def _one(bank: Bank, incident_id: str) -> dict[str, Any]:
    incident, tasks = sop.get_incident(bank, incident_id)
    data = incident.to_json()
    data["tasks"] = [t.to_json() for t in tasks]
    return data


@router.get(
    "/incidents",
    response_model=list[IncidentOut],
    summary="Incidents (operator) / Insiden (operator)",
)
async def incidents(
    request: Request,
    status: Annotated[str | None, Query(max_length=16)] = None,
    principal: Principal = Operator,
) -> list[dict[str, Any]]:
    return await call(request, _list, status)


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentOut,
    summary="One incident with its tasks (operator) / Satu insiden dan tugasnya (operator)",
)
async def incident(
    request: Request, incident_id: str, principal: Principal = Operator
) -> dict[str, Any]:
    return await call(request, _one, incident_id)


@router.post(
    "/tasks/{task_id}/assign",
    response_model=TaskOut,
    summary="Assign a task (operator) / Tugaskan (operator)",
)
async def assign(
    request: Request, task_id: str, body: AssignIn, principal: Principal = Operator
) -> dict[str, Any]:
    task = await write(
        request,
        principal,
        lambda bank: sop.assign_task(bank, task_id, body.assignee, actor=principal.actor),
        object_id=task_id,
    )
    return task.to_json()


@router.post(
    "/tasks/{task_id}/ack",
    response_model=TaskOut,
    summary="Acknowledge a task (operator) / Terima tugas (operator)",
)
async def ack(request: Request, task_id: str, principal: Principal = Operator) -> dict[str, Any]:
    task = await write(
        request,
        principal,
        lambda bank: sop.acknowledge_task(bank, task_id, actor=principal.actor),
        object_id=task_id,
    )
    return task.to_json()


@router.post(
    "/tasks/{task_id}/done",
    response_model=TaskOut,
    summary="Complete a task (operator) / Selesaikan tugas (operator)",
)
async def done(
    request: Request, task_id: str, body: NoteIn | None = None, principal: Principal = Operator
) -> dict[str, Any]:
    note = body.note if body is not None else None
    task = await write(
        request,
        principal,
        lambda bank: sop.complete_task(bank, task_id, actor=principal.actor, note=note),
        object_id=task_id,
    )
    return task.to_json()
