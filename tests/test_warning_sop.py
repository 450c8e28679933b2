"""SOP playbooks, incidents, tasks and the audit log (issue 4 §6), on both backends."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tangguh.bank import Bank
from tangguh.cli.main import app
from tangguh.errors import InputError, NotFoundError
from tangguh.warning import sop
from tangguh.warning.model import AlertRecord

T0 = datetime(2024, 2, 8, 23, 0, tzinfo=UTC)  # 06:00 WIB


def _alert(
    level: int,
    *,
    alert_id: str = "al-manggarai-1",
    version: int = 1,
    msg_type: str = "Alert",
    status: str = "issued",
    station_id: str | None = "dsda_pa_manggarai",
    hazard: str = "flood",
    units: tuple[str, ...] = ("3174080004",),
) -> AlertRecord:
    return AlertRecord(
        alert_id=alert_id,
        version=version,
        identifier=f"tangguh-{alert_id}-v{version}",
        status=status,
        msg_type=msg_type,
        hazard=hazard,
        level=level,
        severity="Severe",
        urgency="Expected",
        certainty="Likely",
        station_id=station_id,
        unit_ids=list(units),
        headline_id=f"Siaga {level} PA Manggarai",
        headline_en=f"Alert level {level} at PA Manggarai",
        description_id="TMA naik",
        description_en="Water level rising",
        instruction_id="Waspada",
        instruction_en="Stay alert",
        origin="rules",
        created=T0,
        updated=T0,
    )


def _by_playbook_id(tasks: list[sop.Task]) -> dict[str, sop.Task]:
    return {t.playbook_task_id: t for t in tasks}


def _seed_text() -> str:
    return sop.default_playbooks_path().read_text(encoding="utf-8")


# -- playbooks ------------------------------------------------------------------------


def test_seeded_jakarta_playbooks_load_and_reference_known_agencies() -> None:
    known = sop.load_agencies()
    assert {"BPBD", "DSDA", "SUDIN_SDA", "SATPOL_PP", "DINSOS", "GUBERNUR", "PMI"} <= set(known)
    assert all(a.name_id and a.name_en for a in known.values())
    books = sop.load_playbooks()
    assert sorted(books.playbooks) == [("flood", 1), ("flood", 2), ("flood", 3), ("flood", 4)]
    used = {t.agency for p in books.playbooks.values() for t in p.tasks}
    assert used <= set(known)
    # the known Jakarta chain of command
    agencies_at = {
        lv: {t.agency for t in books.playbooks[("flood", lv)].tasks} for lv in (1, 2, 3, 4)
    }
    assert "DSDA_PA" in agencies_at[4]
    assert {"SUDIN_SDA", "BPBD_PUSDATIN"} <= agencies_at[3]
    assert "BPBD" in agencies_at[2]
    assert {"GUBERNUR", "SATPOL_PP", "DINSOS"} <= agencies_at[1]
    s3 = books.playbooks[("flood", 3)]
    assert {t.channel for t in s3.templates} == {"sms", "dws", "whatsapp"}
    sms = next(t for t in s3.templates if t.channel == "sms")
    text = sms.render("id", station="PA Manggarai", units="Kampung Melayu", eta="09:00 WIB")
    assert "PA Manggarai" in text and "Kampung Melayu" in text and "09:00 WIB" in text
    assert "{" not in sms.render("en")


def _replace_once(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('agency = "SUDIN_SDA"', 'agency = "DINAS_FIKTIF"', "unknown agency 'DINAS_FIKTIF'"),
        ('id = "flood-s3-dws"', 'id = "flood-s4-verify"', "duplicate task id 'flood-s4-verify'"),
        ("deadline_minutes = 15", "deadline_minutes = -5", "deadline_minutes must be"),
        ("level = 3", "level = 5", "unknown Siaga level 5"),
        ('hazard = "flood"', 'hazard = "banjir_bandang"', "unknown hazard 'banjir_bandang'"),
        ('key = "flood.s3.dws"', 'key = "flood.s3.nope"', "template key 'flood.s3.nope'"),
        ("{units}. Perkiraan", "{kota}. Perkiraan", "unknown placeholders ['kota']"),
    ],
)
def test_loader_rejects_bad_playbooks(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_replace_once(_seed_text(), old, new), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(expected)) as info:
        sop.load_playbooks(path)
    assert info.value.message_id and info.value.hint_id
    assert str(path) in (info.value.where or "")


def test_unknown_agency_names_playbook_task_and_known_codes(bank: Bank, tmp_path: Path) -> None:
    v1 = sop.import_playbooks(bank, actor="admin", now=T0)
    before_log = len(sop.audit_log(bank))
    path = tmp_path / "mine.toml"
    path.write_text(
        _replace_once(_seed_text(), 'agency = "SUDIN_SDA"', 'agency = "DINAS_FIKTIF"'),
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        sop.import_playbooks(bank, path, actor="admin", now=T0 + timedelta(hours=1))
    err = info.value
    assert "flood/Siaga 3" in err.message and "flood-s3-sudin-command" in err.message
    assert "DINAS_FIKTIF" in err.message and "BPBD, BPBD_PUSDATIN" in err.message
    assert err.message_id is not None and "tidak dikenal" in err.message_id
    assert "DINAS_FIKTIF" in err.message_id
    # nothing stored changed
    stored = sop.stored_playbooks(bank)
    assert stored is not None and stored.version == v1 == 1
    assert len(sop.audit_log(bank)) == before_log


def test_import_versions_replace_hazards_and_incidents_record_version(
    bank: Bank, tmp_path: Path
) -> None:
    assert sop.stored_playbooks(bank) is None
    # first use imports the seeded defaults as version 1
    first = sop.open_incident(bank, _alert(4), now=T0)
    assert first.playbook_version == 1
    # the same content again is no new version
    assert sop.import_playbooks(bank, actor="admin") == 1
    # a user file with its own agency, for another hazard: flood is carried over
    path = tmp_path / "rob.toml"
    path.write_text(
        """
source = "test"
[[agency]]
code = "PAM_JAYA"
name_id = "PAM Jaya"
name_en = "Jakarta water utility"
[[playbook]]
hazard = "coastal_flood"
level = 2
title_id = "Rob Siaga 2"
title_en = "Tidal flood level 2"
[[playbook.task]]
id = "rob-s2-water"
title_id = "Siapkan air bersih"
title_en = "Prepare clean water"
agency = "PAM_JAYA"
deadline_minutes = 90
""",
        encoding="utf-8",
    )
    assert sop.import_playbooks(bank, path, actor="admin", now=T0) == 2
    v2 = sop.stored_playbooks(bank)
    assert v2 is not None and v2.version == 2
    assert ("flood", 1) in v2.playbooks and ("coastal_flood", 2) in v2.playbooks
    assert "PAM_JAYA" in {a.code for a in sop.agencies(bank)}
    rob = sop.open_incident(bank, _alert(2, alert_id="rob-1", hazard="coastal_flood"), now=T0)
    assert rob.playbook_version == 2
    assert [t.agency for t in sop.get_incident(bank, rob.incident_id)[1]] == ["PAM_JAYA"]
    # the first incident still escalates with the version it started with
    first = sop.open_incident(bank, _alert(3, version=2), now=T0)
    assert first.playbook_version == 1
    logged = [e.action for e in sop.audit_log(bank, "v2")]
    assert logged == ["playbooks_imported"]


# -- incidents ------------------------------------------------------------------------


def test_siaga3_alert_opens_incident_with_siaga4_and_3_tasks(bank: Bank) -> None:
    inc = sop.open_incident(bank, _alert(3), now=T0)
    assert (inc.hazard, inc.level, inc.current_level, inc.status) == ("flood", 3, 3, "open")
    assert inc.station_id == "dsda_pa_manggarai" and inc.alert_id == "al-manggarai-1"
    assert inc.unit_ids == ["3174080004"] and inc.playbook_version == 1
    assert inc.title_en == "Alert level 3 at PA Manggarai"
    _, tasks = sop.get_incident(bank, inc.incident_id)
    books = sop.load_playbooks()
    expected = [t for lv in (4, 3) for t in books.playbooks[("flood", lv)].tasks]
    assert {t.playbook_task_id for t in tasks} == {t.id for t in expected}
    by_id = _by_playbook_id(tasks)
    for pt in expected:
        task = by_id[pt.id]
        assert task.agency == pt.agency
        assert task.due == T0 + timedelta(minutes=pt.deadline_minutes)
        assert task.status == "open" and task.assignee is None
    assert by_id["flood-s3-sudin-command"].agency == "SUDIN_SDA"
    assert by_id["flood-s3-dws"].due == T0 + timedelta(minutes=15)
    assert by_id["flood-s3-dws"].checklist["en"][0].startswith("Select the DWS poles")
    assert all(t.level in (3, 4) for t in tasks)
    # audit: the import of the defaults, the incident, one row per task
    actions = [e.action for e in sop.audit_log(bank, inc.incident_id)]
    assert actions[0] == "incident_opened" and actions.count("task_created") == len(expected)
    assert all(e.actor == "rules" for e in sop.audit_log(bank))


def test_escalation_to_siaga1_adds_siaga2_and_1_tasks(bank: Bank) -> None:
    inc = sop.open_incident(bank, _alert(3), now=T0)
    n3 = len(sop.get_incident(bank, inc.incident_id)[1])
    later = T0 + timedelta(hours=2)
    up = sop.open_incident(bank, _alert(1, version=2, msg_type="Update"), now=later)
    assert up.incident_id == inc.incident_id
    assert (up.level, up.current_level) == (1, 1)
    _, tasks = sop.get_incident(bank, inc.incident_id)
    books = sop.load_playbooks()
    new = [t for t in tasks if t.level in (1, 2)]
    assert len(tasks) == n3 + len(new)
    assert {t.playbook_task_id for t in new} == {
        t.id for lv in (2, 1) for t in books.playbooks[("flood", lv)].tasks
    }
    by_id = _by_playbook_id(tasks)
    governor = by_id["flood-s1-governor-declares"]
    assert governor.agency == "GUBERNUR" and governor.due == later + timedelta(minutes=60)
    assert by_id["flood-s2-bpbd-command"].agency == "BPBD"
    assert by_id["flood-s1-evacuate"].agency == "SATPOL_PP"
    # the Siaga 3 tasks keep their deadlines
    assert by_id["flood-s3-dws"].due == T0 + timedelta(minutes=15)
    esc = [e for e in sop.audit_log(bank, inc.incident_id) if e.action == "incident_escalated"]
    assert len(esc) == 1 and esc[0].detail["levels_added"] == [2, 1] and esc[0].at == later


def test_open_incident_is_idempotent(bank: Bank) -> None:
    first = sop.open_incident(bank, _alert(3), now=T0)
    log = len(sop.audit_log(bank))
    again = sop.open_incident(bank, _alert(3), now=T0 + timedelta(minutes=5))
    assert again.incident_id == first.incident_id
    assert len(sop.get_incident(bank, first.incident_id)[1]) == 10
    assert len(sop.audit_log(bank)) == log
    # a different alert for the same hazard and station joins the same incident
    other = sop.open_incident(bank, _alert(3, alert_id="al-manggarai-2"), now=T0)
    assert other.incident_id == first.incident_id
    assert len(sop.list_incidents(bank)) == 1
    # another station is another incident
    karet = sop.open_incident(
        bank, _alert(4, alert_id="al-karet", station_id="dsda_pa_karet"), now=T0
    )
    assert karet.incident_id != first.incident_id
    assert len(sop.get_incident(bank, karet.incident_id)[1]) == 3


def test_lower_level_and_cancel_are_recorded_and_keep_tasks(bank: Bank) -> None:
    inc = sop.open_incident(bank, _alert(2), now=T0)
    n = len(sop.get_incident(bank, inc.incident_id)[1])
    down = sop.open_incident(bank, _alert(3, version=2, msg_type="Update"), now=T0)
    assert (down.level, down.current_level) == (2, 3)
    cancelled = sop.open_incident(
        bank, _alert(3, version=3, msg_type="Cancel", status="cancelled"), now=T0
    )
    assert cancelled.status == "open" and cancelled.alert_status == "cancelled"
    assert len(sop.get_incident(bank, inc.incident_id)[1]) == n
    actions = [e.action for e in sop.audit_log(bank, inc.incident_id)]
    assert actions[-2:] == ["incident_level_lowered", "alert_cancelled"]
    # operators close; a later alert at the station opens a new incident
    sop.close_incident(bank, inc.incident_id, actor="kalak", note="air surut")
    again = sop.open_incident(bank, _alert(3, alert_id="al-manggarai-9"), now=T0)
    assert again.incident_id != inc.incident_id
    with pytest.raises(NotFoundError, match="no incident was ever opened"):
        sop.open_incident(bank, _alert(3, alert_id="never", msg_type="Cancel"), now=T0)


def test_task_lifecycle_is_audited(bank: Bank) -> None:
    inc = sop.open_incident(bank, _alert(3), now=T0)
    task_id = f"{inc.incident_id}:flood-s3-dws"
    t1 = T0 + timedelta(minutes=2)
    task = sop.assign_task(bank, task_id, "Regu Pusdatin A", actor="operator.budi", now=t1)
    assert (task.status, task.assignee, task.assigned_at) == ("assigned", "Regu Pusdatin A", t1)
    t2 = T0 + timedelta(minutes=4)
    task = sop.acknowledge_task(bank, task_id, actor="pusdatin.sari", now=t2)
    assert (task.status, task.acknowledged_at) == ("acknowledged", t2)
    t3 = T0 + timedelta(minutes=12)
    task = sop.complete_task(bank, task_id, actor="pusdatin.sari", note="DWS 6 tiang", now=t3)
    assert (task.status, task.done_at, task.note) == ("done", t3, "DWS 6 tiang")
    entries = sop.audit_log(bank, task_id)
    assert [(e.action, e.actor, e.at) for e in entries] == [
        ("task_created", "rules", T0),
        ("task_assigned", "operator.budi", t1),
        ("task_acknowledged", "pusdatin.sari", t2),
        ("task_done", "pusdatin.sari", t3),
    ]
    assert entries[1].detail == {"from": "open", "to": "assigned", "assignee": "Regu Pusdatin A"}
    assert entries[3].detail["note"] == "DWS 6 tiang" and entries[3].incident_id == inc.incident_id
    # acknowledging an unassigned task makes the actor the assignee
    other = sop.acknowledge_task(bank, f"{inc.incident_id}:flood-s3-jaki", actor="kominfo.dewi")
    assert other.assignee == "kominfo.dewi"
    # closing cancels what is left, audited per task
    closed = sop.close_incident(bank, inc.incident_id, actor="kalak", note="surut", now=t3)
    assert (closed.status, closed.closed, closed.close_note) == ("closed", t3, "surut")
    _, tasks = sop.get_incident(bank, inc.incident_id)
    assert {t.status for t in tasks} == {"done", "cancelled"}
    cancelled = [e for e in sop.audit_log(bank, inc.incident_id) if e.action == "task_cancelled"]
    assert len(cancelled) == len(tasks) - 1 and all(e.actor == "kalak" for e in cancelled)
    assert sop.list_incidents(bank, status="closed")[0].incident_id == inc.incident_id
    assert sop.list_incidents(bank, status="open") == []


def test_illegal_transitions_are_rejected_bilingually(bank: Bank) -> None:
    inc = sop.open_incident(bank, _alert(3), now=T0)
    task_id = f"{inc.incident_id}:flood-s3-sms-blast"
    sop.cancel_task(bank, task_id, actor="operator", note="dobel")
    log = len(sop.audit_log(bank))
    with pytest.raises(InputError, match=r"cannot complete task .* it is cancelled") as info:
        sop.complete_task(bank, task_id, actor="operator")
    assert info.value.message_id and "menyelesaikan" in info.value.message_id
    done_id = f"{inc.incident_id}:flood-s3-jaki"
    sop.complete_task(bank, done_id, actor="operator")
    with pytest.raises(InputError, match="cannot acknowledge"):
        sop.acknowledge_task(bank, done_id, actor="operator")
    with pytest.raises(InputError, match="invalid actor"):
        sop.assign_task(bank, done_id, "x", actor="  ")
    with pytest.raises(NotFoundError, match="no task"):
        sop.assign_task(bank, "nope", "x", actor="operator")
    sop.close_incident(bank, inc.incident_id, actor="kalak")
    with pytest.raises(InputError, match="is closed") as closed:
        sop.assign_task(bank, f"{inc.incident_id}:flood-s4-verify", "x", actor="operator")
    assert closed.value.message_id and "ditutup" in closed.value.message_id
    with pytest.raises(InputError, match="is closed"):
        sop.close_incident(bank, inc.incident_id, actor="kalak")
    with pytest.raises(InputError, match="Siaga level 7"):
        sop.open_incident(bank, _alert(7), now=T0)
    # failed actions wrote nothing but the close and its task cancellations
    actions = [e.action for e in sop.audit_log(bank)][log:]
    assert set(actions) == {"task_done", "task_cancelled", "incident_closed"}


def test_overdue_tasks(bank: Bank) -> None:
    inc = sop.open_incident(bank, _alert(3), now=T0)
    assert sop.overdue_tasks(bank, T0 + timedelta(minutes=10)) == []
    at20 = sop.overdue_tasks(bank, T0 + timedelta(minutes=20))
    assert {t.playbook_task_id for t in at20} == {"flood-s3-dws", "flood-s3-sms-blast"}
    sop.complete_task(bank, f"{inc.incident_id}:flood-s3-dws", actor="pusdatin")
    at20 = sop.overdue_tasks(bank, T0 + timedelta(minutes=20))
    assert [t.playbook_task_id for t in at20] == ["flood-s3-sms-blast"]
    assert len(sop.overdue_tasks(bank, T0 + timedelta(hours=3))) == 9
    with pytest.raises(InputError, match="no time zone"):
        sop.overdue_tasks(bank, datetime(2024, 2, 9, 8, 0))
    sop.close_incident(bank, inc.incident_id, actor="kalak")
    assert sop.overdue_tasks(bank, T0 + timedelta(hours=3)) == []


# -- CLI ------------------------------------------------------------------------------


def test_cli_round_trip(bank: Bank, bank_url: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--bank", bank_url], env={"USER": "tester"})
        assert result.exit_code == code, result.output
        return result.stdout

    ok = runner.invoke(app, ["playbooks", "check", str(sop.default_playbooks_path()), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["tasks"] == 27
    bad = tmp_path / "bad.toml"
    bad.write_text(_replace_once(_seed_text(), 'agency = "DINKES"', 'agency = "DINKEZ"'))
    res = runner.invoke(app, ["playbooks", "check", str(bad)])
    assert res.exit_code == 2 and "DINKEZ" in res.stderr and "tidak dikenal" in res.stderr

    assert json.loads(run("playbooks", "list", "--json"))["version"] is None  # defaults
    assert (
        json.loads(run("playbooks", "import", str(sop.default_playbooks_path()), "--json"))[
            "version"
        ]
        == 1
    )
    run("playbooks", "import", str(bad), code=2)
    show = json.loads(run("playbooks", "show", "flood", "1", "--json"))
    assert show["version"] == 1 and "GUBERNUR" in {t["agency"] for t in show["tasks"]}
    assert "GUBERNUR" in run("playbooks", "show", "flood", "1")
    run("playbooks", "show", "flood", "9", code=2)

    inc = sop.open_incident(bank, _alert(3), now=T0)
    listed = json.loads(run("incidents", "list", "--json"))
    assert [i["incident_id"] for i in listed] == [inc.incident_id]
    assert inc.incident_id in run("incidents", "list")
    task_id = f"{inc.incident_id}:flood-s3-dws"
    assigned = json.loads(run("incidents", "task", "assign", task_id, "--to", "Regu A", "--json"))
    assert assigned["status"] == "assigned" and assigned["assignee"] == "Regu A"
    run("incidents", "task", "ack", task_id, "--actor", "sari")
    run("incidents", "task", "done", task_id, "--note", "6 tiang")
    run("incidents", "task", "ack", task_id, code=2)
    shown = json.loads(run("incidents", "show", inc.incident_id, "--json"))
    dws = next(t for t in shown["tasks"] if t["task_id"] == task_id)
    assert dws["status"] == "done" and dws["note"] == "6 tiang"
    assert "flood-s3-dws" in run("incidents", "show", inc.incident_id)
    overdue = json.loads(run("incidents", "overdue", "--at", "2024-02-09T06:20", "--json"))
    assert [t["playbook_task_id"] for t in overdue] == ["flood-s3-sms-blast"]
    audit = json.loads(run("incidents", "audit", task_id, "--json"))
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("task_created", "rules"),
        ("task_assigned", "tester"),
        ("task_acknowledged", "sari"),
        ("task_done", "tester"),
    ]
    assert "task_done" in run("incidents", "audit")
    run("incidents", "close", inc.incident_id, "--note", "surut")
    run("incidents", "close", inc.incident_id, code=2)
    run("incidents", "show", "inc-nope", code=4)
    assert json.loads(run("incidents", "list", "--status", "closed", "--json"))[0]["status"] == (
        "closed"
    )


def test_alert_template_render_fills_missing_placeholders() -> None:
    tpl = sop.AlertTemplate("sms", "k", "Siaga {station} {eta}", "Alert {station} {eta}")
    assert tpl.render("en", station="Karet") == "Alert Karet -"
    assert replace(tpl, text_en="x").render("en") == "x"
