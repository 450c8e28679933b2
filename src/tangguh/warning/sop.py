"""SOP playbooks, incidents, tasks and the audit log (issue 4 §6, §9).

Playbooks are data: TOML files with the tasks each agency does per hazard and Siaga
level, and the bilingual alert texts to send (the seeded DKI Jakarta flood playbooks
are ``tangguh/warning/data/playbooks_jakarta.toml``). An issued alert opens an
*incident* (:func:`open_incident`), which gets the playbook's tasks with deadlines;
operators assign, acknowledge, complete and close them. Every write adds a row to the
audit log in the same transaction. See docs/warning-sop.md.
"""

from __future__ import annotations

from tangguh.warning._sop_audit import AuditEntry, audit_log
from tangguh.warning._sop_incidents import (
    INCIDENT_STATUSES,
    TASK_STATUSES,
    Incident,
    Task,
    acknowledge_task,
    assign_task,
    cancel_task,
    close_incident,
    complete_task,
    get_incident,
    list_incidents,
    open_incident,
    overdue_tasks,
)
from tangguh.warning._sop_playbooks import (
    HAZARDS,
    PLACEHOLDERS,
    Agency,
    AlertTemplate,
    Playbook,
    PlaybookSet,
    PlaybookTask,
    agencies,
    default_agencies_path,
    default_playbooks_path,
    import_playbooks,
    load_agencies,
    load_playbooks,
    stored_playbooks,
)

__all__ = [
    "HAZARDS",
    "INCIDENT_STATUSES",
    "PLACEHOLDERS",
    "TASK_STATUSES",
    "Agency",
    "AlertTemplate",
    "AuditEntry",
    "Incident",
    "Playbook",
    "PlaybookSet",
    "PlaybookTask",
    "Task",
    "acknowledge_task",
    "agencies",
    "assign_task",
    "audit_log",
    "cancel_task",
    "close_incident",
    "complete_task",
    "default_agencies_path",
    "default_playbooks_path",
    "get_incident",
    "import_playbooks",
    "list_incidents",
    "load_agencies",
    "load_playbooks",
    "open_incident",
    "overdue_tasks",
    "stored_playbooks",
]
