"""Playbooks and agencies: TOML data, validation, versioned storage in the bank.

A playbook file holds ``[[playbook]]`` entries (one per hazard and Siaga level) with
``[[playbook.task]]`` tasks, a ``[messages]`` table of bilingual texts that the
playbooks' ``templates`` reference by key, and optionally ``[[agency]]`` entries that add
to the known agencies. The seeded Jakarta files live in ``tangguh/warning/data/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from tangguh.bank.base import Bank
from tangguh.errors import InputError
from tangguh.warning._sop_audit import check_actor, write_audit
from tangguh.warning.tables.sop import tg_agency, tg_playbook

__all__ = [
    "HAZARDS",
    "PLACEHOLDERS",
    "Agency",
    "AlertTemplate",
    "Playbook",
    "PlaybookSet",
    "PlaybookTask",
    "agencies",
    "default_agencies_path",
    "default_playbooks_path",
    "import_playbooks",
    "load_agencies",
    "load_playbooks",
    "stored_playbooks",
]

#: Hazards a playbook may be written for (the ``hazard`` of alerts and triggers).
HAZARDS = (
    "flood",
    "coastal_flood",
    "heavy_rain",
    "weather",
    "earthquake",
    "tsunami",
    "landslide",
    "fire",
    "air_quality",
    "volcano",
    "other",
)
#: Placeholders a message text may use; filled from the alert by :meth:`AlertTemplate.render`.
PLACEHOLDERS = ("station", "units", "eta", "headline")

_TASK_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


@dataclass(frozen=True)
class Agency:
    """An agency tasks are assigned to (``code`` is what playbooks reference)."""

    code: str
    name_id: str
    name_en: str
    short_id: str | None = None
    short_en: str | None = None
    kind: str | None = None
    parent: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlaybookTask:
    """A task of a playbook; ``deadline_minutes`` counts from when the level is reached."""

    id: str
    title_id: str
    title_en: str
    agency: str
    deadline_minutes: int
    checklist_id: tuple[str, ...] = ()
    checklist_en: tuple[str, ...] = ()
    notes_id: str | None = None
    notes_en: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checklist_id"] = list(self.checklist_id)
        data["checklist_en"] = list(self.checklist_en)
        return data


@dataclass(frozen=True)
class AlertTemplate:
    """A message to send at a level: channel, text key and the texts in both languages."""

    channel: str
    key: str
    text_id: str
    text_en: str

    def render(self, lang: str = "id", **values: str) -> str:
        """The text in ``lang`` ("id" or "en") with placeholders filled (missing: "-")."""
        text = self.text_id if lang == "id" else self.text_en
        filled = {name: values.get(name, "-") for name in PLACEHOLDERS}
        return text.format(**filled)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Playbook:
    """What to do for one hazard at one Siaga level."""

    hazard: str
    level: int
    title_id: str
    title_en: str
    tasks: tuple[PlaybookTask, ...] = ()
    templates: tuple[AlertTemplate, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "hazard": self.hazard,
            "level": self.level,
            "title_id": self.title_id,
            "title_en": self.title_en,
            "tasks": [t.to_json() for t in self.tasks],
            "templates": [t.to_json() for t in self.templates],
        }


@dataclass
class PlaybookSet:
    """Playbooks keyed by ``(hazard, level)`` with the agencies they may reference.

    ``version`` is the bank version the set was read from (``None`` for a file).
    """

    playbooks: dict[tuple[str, int], Playbook]
    agencies: dict[str, Agency]
    source: str = ""
    version: int | None = None
    title_id: str | None = None
    title_en: str | None = None
    extra_agencies: dict[str, Agency] = field(default_factory=dict)

    def get(self, hazard: str, level: int) -> Playbook | None:
        return self.playbooks.get((hazard, int(level)))

    def hazards(self) -> list[str]:
        return sorted({h for h, _ in self.playbooks})

    def ordered(self) -> list[Playbook]:
        """Playbooks by hazard, then from Siaga 4 down to Siaga 1."""
        return [self.playbooks[k] for k in sorted(self.playbooks, key=lambda k: (k[0], -k[1]))]

    def digest(self) -> str:
        """SHA-256 of the playbooks' content (same content, same digest)."""
        text = json.dumps([p.to_json() for p in self.ordered()], sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- files ----------------------------------------------------------------------------


def default_playbooks_path() -> Path:
    """The seeded Jakarta playbook file."""
    return Path(str(resources.files("tangguh.warning").joinpath("data/playbooks_jakarta.toml")))


def default_agencies_path() -> Path:
    """The seeded Jakarta agency file."""
    return Path(str(resources.files("tangguh.warning").joinpath("data/agencies_jakarta.toml")))


def _bad(where: str, message: str, message_id: str, hint: str, hint_id: str) -> InputError:
    return InputError(message, message_id=message_id, where=where, hint=hint, hint_id=hint_id)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read file: {exc}",
            message_id=f"berkas tidak dapat dibaca: {exc}",
            where=str(path),
            hint="check the path and that the file is UTF-8 text",
            hint_id="periksa path dan pastikan berkas berupa teks UTF-8",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"invalid TOML: {exc}",
            message_id=f"TOML tidak sah: {exc}",
            where=str(path),
            hint="check quotes, '=' signs and [[...]] headers",
            hint_id="periksa tanda kutip, tanda '=' dan judul [[...]]",
        ) from exc


def _check_keys(data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _bad(
            where,
            f"unknown fields {unknown}",
            f"kolom tidak dikenal {unknown}",
            f"allowed fields: {sorted(allowed)}",
            f"kolom yang boleh: {sorted(allowed)}",
        )


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(
            f"{where}, field {key}",
            f"field {key!r} must be a non-empty text",
            f"kolom {key!r} harus berupa teks yang tidak kosong",
            f'add {key} = "..."',
            f'tambahkan {key} = "..."',
        )
    return value.strip()


def _text_list(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(
            f"{where}, field {key}",
            f"field {key!r} must be a list of texts",
            f"kolom {key!r} harus berupa daftar teks",
            f'write {key} = ["...", "..."]',
            f'tulis {key} = ["...", "..."]',
        )
    return tuple(v.strip() for v in value)


def _agencies_from(raw: Any, where: str) -> dict[str, Agency]:
    if not isinstance(raw, list):
        raise _bad(
            where,
            "[[agency]] must be an array of tables",
            "[[agency]] harus berupa larik tabel",
            "write each agency under its own [[agency]] header",
            "tulis setiap instansi di bawah judul [[agency]] sendiri",
        )
    out: dict[str, Agency] = {}
    for i, item in enumerate(raw, start=1):
        at = f"{where}: agency #{i}"
        fields = ("code", "name_id", "name_en", "short_id", "short_en", "kind", "parent")
        _check_keys(item, fields, at)
        code = _text(item, "code", at) or ""
        if not _CODE.match(code):
            raise _bad(
                f"{at}, field code",
                f"invalid agency code {code!r}",
                f"kode instansi {code!r} tidak sah",
                "use upper-case letters, digits and underscores, e.g. SUDIN_SDA_JT",
                "gunakan huruf besar, angka dan garis bawah, mis. SUDIN_SDA_JT",
            )
        if code in out:
            raise _bad(
                f"{at}, field code",
                f"duplicate agency code {code!r}",
                f"kode instansi {code!r} ganda",
                "give every agency its own code",
                "berikan kode tersendiri untuk setiap instansi",
            )
        out[code] = Agency(
            code=code,
            name_id=_text(item, "name_id", at) or "",
            name_en=_text(item, "name_en", at) or "",
            short_id=_text(item, "short_id", at, required=False),
            short_en=_text(item, "short_en", at, required=False),
            kind=_text(item, "kind", at, required=False),
            parent=_text(item, "parent", at, required=False),
        )
    return out


def load_agencies(path: Path | str | None = None) -> dict[str, Agency]:
    """Agencies of a TOML file (``[[agency]]`` entries), keyed by code.

    ``None`` reads the seeded Jakarta file.
    """
    file = Path(path) if path is not None else default_agencies_path()
    data = _read_toml(file)
    return _agencies_from(data.get("agency", []), str(file))


def _messages(raw: Any, where: str) -> dict[str, tuple[str, str]]:
    if not isinstance(raw, dict):
        raise _bad(
            where,
            "[messages] must be a table of texts",
            "[messages] harus berupa tabel teks",
            'write [messages."KEY"] with text_id and text_en',
            'tulis [messages."KEY"] dengan text_id dan text_en',
        )
    out: dict[str, tuple[str, str]] = {}
    for key, item in raw.items():
        at = f"{where}: messages.{key}"
        if not isinstance(item, dict):
            raise _bad(
                at,
                f"message {key!r} must have text_id and text_en",
                f"pesan {key!r} harus memiliki text_id dan text_en",
                'write [messages."KEY"] with text_id = "..." and text_en = "..."',
                'tulis [messages."KEY"] dengan text_id = "..." dan text_en = "..."',
            )
        _check_keys(item, ("text_id", "text_en"), at)
        texts = (_text(item, "text_id", at) or "", _text(item, "text_en", at) or "")
        for text in texts:
            try:
                names = {n for _, n, _, _ in string.Formatter().parse(text) if n is not None}
            except ValueError as exc:
                raise _bad(
                    at,
                    f"bad placeholder in message {key!r}: {exc}",
                    f"placeholder pada pesan {key!r} salah: {exc}",
                    "write placeholders as {station}; double braces {{ }} for literal ones",
                    "tulis placeholder sebagai {station}; kurung ganda {{ }} untuk kurung biasa",
                ) from exc
            unknown = sorted(names - set(PLACEHOLDERS))
            if unknown:
                raise _bad(
                    at,
                    f"message {key!r} uses unknown placeholders {unknown}",
                    f"pesan {key!r} memakai placeholder tidak dikenal {unknown}",
                    f"use only {list(PLACEHOLDERS)}",
                    f"gunakan hanya {list(PLACEHOLDERS)}",
                )
        out[str(key)] = texts
    return out


def _level(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in {1, 2, 3, 4}:
        raise _bad(
            f"{where}, field level",
            f"unknown Siaga level {value!r}",
            f"level Siaga {value!r} tidak dikenal",
            "use 4 (normal), 3, 2 or 1 (highest)",
            "gunakan 4 (normal), 3, 2 atau 1 (tertinggi)",
        )
    return value


def _task(
    item: Any, where: str, playbook: str, known: Mapping[str, Agency], seen: dict[str, str]
) -> PlaybookTask:
    if not isinstance(item, dict):
        raise _bad(
            where,
            "a task must be a table",
            "tugas harus berupa tabel",
            "write each task under [[playbook.task]]",
            "tulis setiap tugas di bawah [[playbook.task]]",
        )
    fields = (
        "id",
        "title_id",
        "title_en",
        "agency",
        "deadline_minutes",
        "checklist_id",
        "checklist_en",
        "notes_id",
        "notes_en",
    )
    _check_keys(item, fields, where)
    task_id = _text(item, "id", where) or ""
    at = f"{where} ({task_id})"
    if not _TASK_ID.match(task_id):
        raise _bad(
            f"{at}, field id",
            f"invalid task id {task_id!r}",
            f"ID tugas {task_id!r} tidak sah",
            "use lower-case letters, digits, '-', '_' or '.', at most 64, e.g. flood-s3-dws",
            "gunakan huruf kecil, angka, '-', '_' atau '.', paling banyak 64, mis. flood-s3-dws",
        )
    if task_id in seen:
        raise _bad(
            f"{at}, field id",
            f"duplicate task id {task_id!r} (also in playbook {seen[task_id]})",
            f"ID tugas {task_id!r} ganda (juga ada di playbook {seen[task_id]})",
            "task ids must be unique in the whole file",
            "ID tugas harus unik di seluruh berkas",
        )
    seen[task_id] = playbook
    agency = _text(item, "agency", at) or ""
    if agency not in known:
        raise _bad(
            f"{at}, field agency",
            f"playbook {playbook}, task {task_id!r}: unknown agency {agency!r}; "
            f"known agencies: {', '.join(sorted(known))}",
            f"playbook {playbook}, tugas {task_id!r}: instansi {agency!r} tidak dikenal; "
            f"instansi yang dikenal: {', '.join(sorted(known))}",
            "use one of the known codes or add the agency under [[agency]] in the file",
            "gunakan salah satu kode yang dikenal atau tambahkan instansi di [[agency]] berkas",
        )
    deadline = item.get("deadline_minutes")
    if isinstance(deadline, bool) or not isinstance(deadline, int) or deadline < 0:
        raise _bad(
            f"{at}, field deadline_minutes",
            f"playbook {playbook}, task {task_id!r}: deadline_minutes must be a whole number "
            f">= 0, got {deadline!r}",
            f"playbook {playbook}, tugas {task_id!r}: deadline_minutes harus bilangan bulat "
            f">= 0, yang diberikan {deadline!r}",
            "give the minutes after the level is reached, e.g. deadline_minutes = 30",
            "berikan menit sejak level tercapai, mis. deadline_minutes = 30",
        )
    checklist_id = _text_list(item, "checklist_id", at)
    checklist_en = _text_list(item, "checklist_en", at)
    if checklist_id and checklist_en and len(checklist_id) != len(checklist_en):
        raise _bad(
            f"{at}, field checklist_en",
            f"checklist_id has {len(checklist_id)} items but checklist_en {len(checklist_en)}",
            f"checklist_id berisi {len(checklist_id)} butir, "
            f"checklist_en {len(checklist_en)} butir",
            "give the same items in both languages",
            "berikan butir yang sama dalam kedua bahasa",
        )
    return PlaybookTask(
        id=task_id,
        title_id=_text(item, "title_id", at) or "",
        title_en=_text(item, "title_en", at) or "",
        agency=agency,
        deadline_minutes=deadline,
        checklist_id=checklist_id,
        checklist_en=checklist_en,
        notes_id=_text(item, "notes_id", at, required=False),
        notes_en=_text(item, "notes_en", at, required=False),
    )


def _templates(
    raw: Any, where: str, messages: Mapping[str, tuple[str, str]]
) -> list[AlertTemplate]:
    if not isinstance(raw, list):
        raise _bad(
            f"{where}, field templates",
            "templates must be a list of {channel, key}",
            "templates harus berupa daftar {channel, key}",
            'write templates = [{ channel = "sms", key = "flood.s3.sms" }]',
            'tulis templates = [{ channel = "sms", key = "flood.s3.sms" }]',
        )
    out = []
    for item in raw:
        if not isinstance(item, dict):
            item = {"?": item}
        _check_keys(item, ("channel", "key"), f"{where}, templates")
        channel = _text(item, "channel", f"{where}, templates") or ""
        key = _text(item, "key", f"{where}, templates") or ""
        if key not in messages:
            raise _bad(
                f"{where}, templates",
                f"template key {key!r} is not in [messages]; known: {sorted(messages)}",
                f"kunci templat {key!r} tidak ada di [messages]; yang ada: {sorted(messages)}",
                f'add [messages."{key}"] with text_id and text_en',
                f'tambahkan [messages."{key}"] dengan text_id dan text_en',
            )
        out.append(AlertTemplate(channel, key, *messages[key]))
    return out


def load_playbooks(
    path: Path | str | None = None, *, agencies: Mapping[str, Agency] | None = None
) -> PlaybookSet:
    """Read and validate a playbook file; ``None`` reads the seeded Jakarta playbooks.

    Parameters
    ----------
    agencies:
        Agencies the tasks may reference; default the seeded Jakarta agencies. Agencies
        defined in the file under ``[[agency]]`` are added to them.

    Raises
    ------
    InputError
        Naming the file, playbook and task: an unknown agency (listing the known codes),
        a duplicate task id, a negative deadline, an unknown hazard or level, a template
        key without a message, an unknown field.
    """
    file = Path(path) if path is not None else default_playbooks_path()
    where = str(file)
    data = _read_toml(file)
    _check_keys(
        data, ("key", "title_id", "title_en", "source", "messages", "playbook", "agency"), where
    )
    own = _agencies_from(data.get("agency", []), where)
    known = {**(dict(agencies) if agencies is not None else load_agencies()), **own}
    messages = _messages(data.get("messages", {}), where)
    raw = data.get("playbook", [])
    if not isinstance(raw, list) or not raw:
        raise _bad(
            where,
            "no [[playbook]] entries",
            "tidak ada entri [[playbook]]",
            "add [[playbook]] with hazard, level, title_id, title_en and [[playbook.task]]",
            "tambahkan [[playbook]] dengan hazard, level, title_id, title_en dan [[playbook.task]]",
        )
    books: dict[tuple[str, int], Playbook] = {}
    seen: dict[str, str] = {}
    for i, item in enumerate(raw, start=1):
        at = f"{where}: playbook #{i}"
        _check_keys(item, ("hazard", "level", "title_id", "title_en", "templates", "task"), at)
        hazard = _text(item, "hazard", at) or ""
        if hazard not in HAZARDS:
            raise _bad(
                f"{at}, field hazard",
                f"unknown hazard {hazard!r}",
                f"jenis bahaya {hazard!r} tidak dikenal",
                f"use one of {list(HAZARDS)}",
                f"gunakan salah satu dari {list(HAZARDS)}",
            )
        level = _level(item.get("level"), at)
        name = f"{hazard}/Siaga {level}"
        at = f"{where}: playbook {name}"
        if (hazard, level) in books:
            raise _bad(
                at,
                f"playbook {name} is defined twice",
                f"playbook {name} didefinisikan dua kali",
                "merge the two [[playbook]] entries",
                "gabungkan kedua entri [[playbook]]",
            )
        tasks_raw = item.get("task", [])
        if not isinstance(tasks_raw, list):
            tasks_raw = [tasks_raw]
        tasks = [
            _task(t, f"{at}, task #{j}", name, known, seen) for j, t in enumerate(tasks_raw, 1)
        ]
        books[(hazard, level)] = Playbook(
            hazard=hazard,
            level=level,
            title_id=_text(item, "title_id", at) or "",
            title_en=_text(item, "title_en", at) or "",
            tasks=tuple(tasks),
            templates=tuple(_templates(item.get("templates", []), at, messages)),
        )
    return PlaybookSet(
        playbooks=books,
        agencies=known,
        source=str(data.get("source") or file.name),
        title_id=data.get("title_id"),
        title_en=data.get("title_en"),
        extra_agencies=own,
    )


# -- bank -----------------------------------------------------------------------------


def _playbook_from_row(row: Any) -> Playbook:
    tasks = tuple(
        PlaybookTask(
            **{
                **t,
                "checklist_id": tuple(t.get("checklist_id") or ()),
                "checklist_en": tuple(t.get("checklist_en") or ()),
            }
        )
        for t in row["tasks"] or []
    )
    templates = tuple(AlertTemplate(**t) for t in row["templates"] or [])
    return Playbook(
        hazard=row["hazard"],
        level=int(row["level"]),
        title_id=row["title_id"] or "",
        title_en=row["title_en"] or "",
        tasks=tasks,
        templates=templates,
    )


def _stored_agencies(conn: Connection) -> dict[str, Agency]:
    rows = conn.execute(select(tg_agency).order_by(tg_agency.c.code)).mappings().all()
    return {
        r["code"]: Agency(
            code=r["code"],
            name_id=r["name_id"],
            name_en=r["name_en"],
            short_id=r["short_id"],
            short_en=r["short_en"],
            kind=r["kind"],
            parent=r["parent"],
        )
        for r in rows
    }


def latest_version(conn: Connection) -> int | None:
    value = conn.execute(select(func.max(tg_playbook.c.version))).scalar()
    return None if value is None else int(value)


def read_playbooks(conn: Connection, version: int | None = None) -> PlaybookSet | None:
    """The stored set of ``version`` (default the latest) on ``conn``; ``None`` if absent."""
    if version is None:
        version = latest_version(conn)
        if version is None:
            return None
    rows = (
        conn.execute(select(tg_playbook).where(tg_playbook.c.version == version)).mappings().all()
    )
    if not rows:
        return None
    books = {(r["hazard"], int(r["level"])): _playbook_from_row(r) for r in rows}
    return PlaybookSet(
        playbooks=books,
        agencies=_stored_agencies(conn),
        source=str(rows[0]["source"] or ""),
        version=version,
    )


def stored_playbooks(bank: Bank, version: int | None = None) -> PlaybookSet | None:
    """The playbooks stored in the bank (default the latest version); ``None`` if none."""
    with bank.connect() as conn:
        return read_playbooks(conn, version)


def agencies(bank: Bank) -> list[Agency]:
    """Agencies stored in the bank (filled by the first playbook import)."""
    with bank.connect() as conn:
        return list(_stored_agencies(conn).values())


def store_playbooks(conn: Connection, new: PlaybookSet, *, actor: str, now: datetime) -> int:
    """Store ``new`` as the next version on ``conn``; return the version now current.

    The hazards of ``new`` replace those of the latest version; the other hazards are
    carried over. Nothing is written when the result equals the latest version.
    """
    current = read_playbooks(conn)
    books = dict(current.playbooks) if current is not None else {}
    for key in [k for k in books if k[0] in set(new.hazards())]:
        del books[key]
    books.update(new.playbooks)
    merged = PlaybookSet(playbooks=books, agencies=new.agencies, source=new.source)
    digest = merged.digest()
    if current is not None and current.digest() == digest and current.version is not None:
        return current.version
    version = (current.version or 0) + 1 if current is not None else 1
    old_sources: dict[tuple[str, int], str | None] = {}
    if current is not None:
        old = conn.execute(
            select(tg_playbook.c.hazard, tg_playbook.c.level, tg_playbook.c.source).where(
                tg_playbook.c.version == current.version
            )
        ).all()
        old_sources = {(h, int(lv)): src for h, lv, src in old}
    # Agencies: every agency the set may reference, inserted or updated.
    stored = _stored_agencies(conn)
    for code, agency in new.agencies.items():
        values = {k: v for k, v in agency.to_json().items() if k != "code"}
        if code not in stored:
            conn.execute(insert(tg_agency).values(code=code, updated=now, **values))
        elif stored[code] != agency:
            conn.execute(
                update(tg_agency).where(tg_agency.c.code == code).values(updated=now, **values)
            )
    rows = [
        {
            "version": version,
            "hazard": p.hazard,
            "level": p.level,
            "title_id": p.title_id,
            "title_en": p.title_en,
            "tasks": [t.to_json() for t in p.tasks],
            "templates": [t.to_json() for t in p.templates],
            "source": new.source
            if p.hazard in new.hazards()
            else old_sources.get((p.hazard, p.level)),
            "digest": digest,
            "imported": now,
            "actor": actor,
        }
        for p in merged.ordered()
    ]
    conn.execute(insert(tg_playbook), rows)
    write_audit(
        conn,
        at=now,
        actor=actor,
        action="playbooks_imported",
        object_type="playbook",
        object_id=f"v{version}",
        detail={
            "version": version,
            "source": new.source,
            "hazards": new.hazards(),
            "playbooks": len(rows),
            "digest": digest,
        },
    )
    return version


def import_playbooks(
    bank: Bank,
    source: Path | str | PlaybookSet | None = None,
    *,
    actor: str = "rules",
    now: datetime | None = None,
) -> int:
    """Validate a playbook file (default the seeded Jakarta one) and store it as a version.

    The file may reference the seeded agencies, the agencies already in the bank and
    its own ``[[agency]]`` entries. Validation happens before any write, so a bad file
    leaves the bank unchanged. Returns the version now current (unchanged when the
    content equals the latest stored version).
    """
    actor = check_actor(actor)
    now = now or datetime.now(UTC)
    if isinstance(source, PlaybookSet):
        new = source
    else:
        with bank.connect() as conn:
            known = {**load_agencies(), **_stored_agencies(conn)}
        new = load_playbooks(source, agencies=known)
    with bank.begin() as conn:
        return store_playbooks(conn, new, actor=actor, now=now)


def ensure_playbooks(conn: Connection, *, actor: str, now: datetime) -> PlaybookSet:
    """The latest stored set; the seeded Jakarta playbooks are imported when none is."""
    current = read_playbooks(conn)
    if current is not None:
        return current
    store_playbooks(conn, load_playbooks(), actor=actor, now=now)
    stored = read_playbooks(conn)
    assert stored is not None
    return stored
