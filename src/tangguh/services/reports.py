"""Citizen reports with a close-with-proof lifecycle (issue 6 §4).

Types: ``flood`` (depth in cm required), ``water_outage``, ``water_quality`` (low
pressure or dirty water), ``waste_pile``, ``blocked_drain``, ``damaged_infrastructure``.
A report is a point inside the city (inside a kelurahan of the bank's admin units), a
text and an optional photo (a real PNG or JPEG by its bytes, at most 5 MB, metadata such
as EXIF with GPS stripped before it is stored or published).

Lifecycle::

    new -> verified -> assigned -> in_progress -> resolved -> confirmed
     |        |          ^  |                       |
     v        v          |  +-- (re-assign)         v
    rejected (restore -> new)   reopened <----------+  (reporter or operator)
                                   |-> assigned / in_progress

Verifying a report assigns it at once to the responsible unit (:func:`route`: a
per-kelurahan override of its type, else the operator of the water service zone at the
point for water types, else the type's unit). Resolving needs a resolution photo;
the reporter confirms or reopens with the token returned once at submit (only its
SHA-256 is stored). Every transition is one ``tg_svc_report_event`` row (who, when,
from, to, note), written in the same transaction as the status change; a transition
that the current status does not allow is a :class:`TransitionError`.

SLA: at submit the report gets ``reach_due = t + reach_hours`` (6 h by default: reach the
responsible unit) and ``resolve_due = t + resolve_hours`` (per type). Overdue flags are
computed on read: *reach overdue* when not yet assigned after ``reach_due``, *resolve
overdue* while open (new, verified, assigned, in progress, reopened) after
``resolve_due``.

Near-duplicates: a new report joins the cluster of the nearest earlier report of the
same type within ``duplicates.metres`` and ``duplicates.hours`` (not rejected); a
cluster is named by its earliest report (the primary). Abuse flags set at submit:
``burst`` (more than ``burst_count`` reports by the reporter within ``burst_minutes``),
``ip_burst`` (the same from one client address), ``often_rejected`` (the reporter had
``rejected_count`` reports rejected within ``rejected_days``), ``photo_reused`` (the same
photo bytes are already stored with another report).

Aggregation per RW (:func:`summary`) and RW flood-state suggestions
(:func:`suggestions`): the median depth of the verified flood reports of the last
``window_hours`` classified on the PetaBencana scale (0 none, 1 caution ≤ 10 cm,
2 low ≤ 70 cm, 3 medium ≤ 150 cm, 4 high) — shown to operators, never applied.

The configuration (units, types with SLA hours, overrides, thresholds) is data: the
shipped ``tangguh/services/data/report_units.toml`` until a file is imported into the
bank (:func:`import_config`, versioned in ``tg_svc_report_config``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import statistics
import struct
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    column,
    func,
    insert,
    or_,
    select,
    table,
    update,
)
from sqlalchemy import (
    Integer as SAInteger,
)
from sqlalchemy import (
    String as SAString,
)

from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.services.tables.reports import (
    tg_svc_report,
    tg_svc_report_config,
    tg_svc_report_event,
    tg_svc_report_photo,
)

__all__ = [
    "ACTIONS",
    "MAX_PHOTO_BYTES",
    "OPEN_STATUSES",
    "PUBLIC_STATUSES",
    "STATUSES",
    "TYPES",
    "Photo",
    "PhotoError",
    "ReportConfig",
    "ReportDraft",
    "ReportType",
    "Submitted",
    "TokenError",
    "TransitionError",
    "TypeRule",
    "Unit",
    "UnitLocator",
    "abuse",
    "assign",
    "check_photo",
    "confirm",
    "current_config",
    "events",
    "get_report",
    "import_config",
    "list_reports",
    "load_config",
    "locator",
    "media_dir",
    "overdue",
    "photo_bytes",
    "reject",
    "reopen",
    "resolve",
    "restore",
    "route",
    "sniff",
    "start",
    "state_for_depth",
    "strip_metadata",
    "submit",
    "suggestions",
    "summary",
    "verify",
]


# -- types and statuses -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportType:
    """A report type with its labels; ``depth`` is True for flood reports."""

    key: str
    label_id: str
    label_en: str
    depth: bool = False


TYPES: dict[str, ReportType] = {
    t.key: t
    for t in (
        ReportType("flood", "Banjir", "Flood", depth=True),
        ReportType("water_outage", "Air PAM mati", "Water outage"),
        ReportType("water_quality", "Air kecil/keruh", "Low pressure or dirty water"),
        ReportType("waste_pile", "Tumpukan sampah", "Waste pile"),
        ReportType("blocked_drain", "Saluran tersumbat", "Blocked drain"),
        ReportType("damaged_infrastructure", "Prasarana rusak", "Damaged infrastructure"),
    )
}
STATUSES: tuple[str, ...] = (
    "new",
    "verified",
    "rejected",
    "assigned",
    "in_progress",
    "resolved",
    "confirmed",
    "reopened",
)
#: Statuses that still need work (they count for the resolve SLA).
OPEN_STATUSES: tuple[str, ...] = ("new", "verified", "assigned", "in_progress", "reopened")
#: Statuses anyone may see (rejected reports are for operators only).
PUBLIC_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != "rejected")
#: Statuses of reports that passed verification (feed the flood suggestions).
VERIFIED_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s not in ("new", "rejected"))
#: action -> (statuses it may start from, status it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "verify": (("new",), "verified"),
    "reject": (("new", "verified"), "rejected"),
    "restore": (("rejected",), "new"),
    "assign": (("verified", "assigned", "reopened"), "assigned"),
    "start": (("assigned", "reopened"), "in_progress"),
    "resolve": (("in_progress",), "resolved"),
    "confirm": (("resolved",), "confirmed"),
    "reopen": (("resolved",), "reopened"),
}
_STATUS_ID = {
    "new": "baru",
    "verified": "terverifikasi",
    "rejected": "ditolak",
    "assigned": "ditugaskan",
    "in_progress": "dikerjakan",
    "resolved": "selesai",
    "confirmed": "dikonfirmasi",
    "reopened": "dibuka kembali",
}
MAX_TEXT = 1000
MAX_DEPTH_CM = 500.0


class TransitionError(InputError):
    """An action that the report's current status does not allow (HTTP 409)."""


class TokenError(InputError):
    """A reporter token that does not match the report (HTTP 403)."""


class PhotoError(InputError):
    """A photo that is too large (``reason="size"``) or not an image (``"type"``)."""

    reason: str = "type"


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError(
            f"time {now.isoformat()} has no time zone",
            where="now",
            hint="give a tz-aware time (UTC or +07:00)",
            message_id=f"waktu {now.isoformat()} tidak memiliki zona waktu",
            hint_id="berikan waktu dengan zona (UTC atau +07:00)",
        )
    return now.astimezone(UTC)


def _check_type(kind: str) -> str:
    if kind not in TYPES:
        raise InputError(
            f"unknown report type {kind!r}",
            where="type",
            hint=f"use one of {', '.join(TYPES)}",
            message_id=f"jenis laporan {kind!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {', '.join(TYPES)}",
        )
    return kind


def _check_status(status: str) -> str:
    if status not in STATUSES:
        raise InputError(
            f"unknown report status {status!r}",
            where="status",
            hint=f"use one of {list(STATUSES)}",
            message_id=f"status laporan {status!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(STATUSES)}",
        )
    return status


# -- photos -------------------------------------------------------------------------------

MAX_PHOTO_BYTES = 5 * 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_MAX_SIDE = 65_535
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_EXT = {"image/png": "png", "image/jpeg": "jpg"}


def _png_ok(data: bytes) -> bool:
    if len(data) < 33 or data[12:16] != b"IHDR":
        return False
    width, height = struct.unpack(">II", data[16:24])
    return 0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]] | None:
    """(marker, start, end) of each segment before the scan data, or None if malformed."""
    out: list[tuple[int, int, int]] = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out.append((marker, i, i + 2))
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2 or i + 2 + length > len(data):
            return None
        out.append((marker, i, i + 2 + length))
        if marker == 0xDA:  # start of scan: the rest is image data
            return out
        i += 2 + length
    return None


def _jpeg_ok(data: bytes) -> bool:
    segments = _jpeg_segments(data)
    if not segments:
        return False
    for marker, start, _end in segments:
        if marker in _SOF:
            if start + 9 > len(data):
                return False
            height, width = struct.unpack(">HH", data[start + 5 : start + 9])
            return width > 0 and height > 0
        if marker == 0xDA:
            return False
    return False


def sniff(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg`` or None (not a readable PNG/JPEG header).

    Only the bytes decide: PNG needs its 8-byte signature and a first ``IHDR`` chunk
    with a non-zero size; JPEG needs ``FF D8 FF`` and a start-of-frame segment with a
    non-zero size before the image data. File names and declared types are ignored.
    """
    if data.startswith(_PNG) and _png_ok(data):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff") and _jpeg_ok(data):
        return "image/jpeg"
    return None


def strip_metadata(data: bytes, media_type: str) -> bytes:
    """The image without metadata (pixels untouched).

    JPEG: APP1-APP15 segments (EXIF with GPS, XMP, …) and comments are dropped; PNG:
    text, EXIF and time chunks.
    """
    if media_type == "image/jpeg":
        segments = _jpeg_segments(data)
        if not segments:
            return data
        parts = [data[:2]]
        for marker, start, end in segments:
            if 0xE1 <= marker <= 0xEF or marker == 0xFE:
                continue
            parts.append(data[start:end])
        parts.append(data[segments[-1][2] :])
        return b"".join(parts)
    if media_type == "image/png":
        parts = [data[:8]]
        i = 8
        while i + 12 <= len(data):
            (length,) = struct.unpack(">I", data[i : i + 4])
            kind = data[i + 4 : i + 8]
            end = i + 12 + length
            if end > len(data):
                return data
            if kind not in _PNG_DROP:
                parts.append(data[i:end])
            i = end
            if kind == b"IEND":
                break
        return b"".join(parts)
    return data


@dataclass(frozen=True)
class Photo:
    """A checked photo: its type by bytes and the metadata-free bytes to store."""

    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def __repr__(self) -> str:
        return f"Photo({self.media_type}, {len(self.data)} bytes)"


def check_photo(data: bytes, *, where: str = "photo") -> Photo:
    """Check a photo (size, real PNG/JPEG) and strip its metadata.

    Raises
    ------
    PhotoError
        ``reason="size"`` above :data:`MAX_PHOTO_BYTES`, ``reason="type"`` when the
        bytes are not a PNG or JPEG image (e.g. a text file renamed ``.jpg``).
    """
    mb = MAX_PHOTO_BYTES // (1024 * 1024)
    if len(data) > MAX_PHOTO_BYTES:
        err = PhotoError(
            f"the photo has {len(data):,} bytes; at most {mb} MB are accepted",
            where=where,
            hint="send a smaller photo (e.g. a 1600 px wide JPEG)",
            message_id=f"foto berukuran {len(data):,} bita; paling besar {mb} MB",
            hint_id="kirim foto yang lebih kecil (mis. JPEG lebar 1600 px)",
        )
        err.reason = "size"
        raise err
    kind = sniff(data)
    if kind is None:
        raise PhotoError(
            "the photo is not a PNG or JPEG image",
            where=where,
            hint="send a photo taken with a camera or phone (JPEG) or a PNG",
            message_id="foto bukan gambar PNG atau JPEG",
            hint_id="kirim foto dari kamera atau ponsel (JPEG) atau PNG",
        )
    return Photo(kind, strip_metadata(data, kind))


def media_dir(bank: Bank) -> Path | None:
    """``<bank>.media/reports`` for an embedded bank; None for PostGIS (bytes in the table)."""
    from tangguh.bank.gpkg import GpkgBank

    if isinstance(bank, GpkgBank):
        return Path(bank.path).with_suffix(".media") / "reports"
    return None


def _store_photo(
    conn: Connection,
    bank: Bank,
    report_id: str,
    photo_id: str,
    role: str,
    photo: Photo,
    now: datetime,
    staged: list[Path],
) -> None:
    """One photo row (and its file, staged in ``staged`` until the commit)."""
    folder = media_dir(bank)
    name = f"{photo_id}.{_EXT[photo.media_type]}"
    conn.execute(
        tg_svc_report_photo.insert(),
        {
            "photo_id": photo_id,
            "report_id": report_id,
            "role": role,
            "t": now,
            "media_type": photo.media_type,
            "size": len(photo.data),
            "sha256": photo.sha256,
            "path": name if folder is not None else None,
            "data": None if folder is not None else photo.data,
        },
    )
    if folder is not None:
        if folder not in _FOLDERS:
            folder.mkdir(parents=True, exist_ok=True)
            _FOLDERS.add(folder)
        # A fresh name ("x": never overwrite); the row commits only after the bytes are
        # written, and a failed transaction removes the file (``staged``).
        target = folder / name
        staged.append(target)
        try:
            with open(target, "xb") as out:
                out.write(photo.data)
        except FileNotFoundError:  # the folder was removed while the server ran
            folder.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as out:
                out.write(photo.data)


_FOLDERS: set[Path] = set()


def _unstage(staged: list[Path]) -> None:
    for path in staged:
        path.unlink(missing_ok=True)


# -- configuration: responsible units, SLA, thresholds --------------------------------------


@dataclass(frozen=True)
class Unit:
    """A responsible unit (agency or team)."""

    code: str
    name_id: str
    name_en: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "name_id": self.name_id, "name_en": self.name_en}


@dataclass(frozen=True)
class TypeRule:
    """Where reports of one type go, and their SLA hours."""

    type: str
    unit: str
    reach_hours: float
    resolve_hours: float
    zone_layer: str | None = None
    zone_field: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "unit": self.unit,
            "reach_hours": self.reach_hours,
            "resolve_hours": self.resolve_hours,
            "zone_layer": self.zone_layer,
            "zone_field": self.zone_field,
        }


@dataclass(frozen=True)
class Override:
    """Reports of ``types`` in ``kelurahan`` go to ``unit``."""

    kelurahan: str
    types: tuple[str, ...]
    unit: str

    def to_json(self) -> dict[str, Any]:
        return {"kelurahan": self.kelurahan, "types": list(self.types), "unit": self.unit}


_SETTINGS: dict[str, dict[str, float]] = {
    "duplicates": {"metres": 100.0, "hours": 6.0},
    "abuse": {"burst_count": 5, "burst_minutes": 10, "rejected_count": 3, "rejected_days": 30},
    "suggestions": {"window_hours": 6.0, "min_reports": 1},
}


@dataclass(frozen=True)
class ReportConfig:
    """Responsible units, per-type rules with SLA hours, overrides and thresholds."""

    units: dict[str, Unit]
    rules: dict[str, TypeRule]
    overrides: tuple[Override, ...] = ()
    settings: dict[str, dict[str, float]] = field(default_factory=dict)
    version: int | None = None
    source: str = "built-in"

    def rule(self, kind: str) -> TypeRule:
        return self.rules[_check_type(kind)]

    def setting(self, group: str, name: str) -> float:
        return float(self.settings.get(group, {}).get(name, _SETTINGS[group][name]))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source": self.source,
            "units": [u.to_json() for u in self.units.values()],
            "types": [r.to_json() for r in self.rules.values()],
            "overrides": [o.to_json() for o in self.overrides],
            "settings": {
                g: {k: self.setting(g, k) for k in names} for g, names in _SETTINGS.items()
            },
        }

    def data(self) -> dict[str, Any]:
        """The configuration as stored in the bank (TOML shape)."""
        return {
            "units": {
                u.code: {"name_id": u.name_id, "name_en": u.name_en} for u in self.units.values()
            },
            "types": {
                r.type: {k: v for k, v in r.to_json().items() if k != "type" and v is not None}
                for r in self.rules.values()
            },
            "overrides": [o.to_json() for o in self.overrides],
            **{g: {k: self.setting(g, k) for k in names} for g, names in _SETTINGS.items()},
        }


def _cfg_error(message: str, message_id: str, where: str, hint: str, hint_id: str) -> InputError:
    return InputError(message, where=where, hint=hint, message_id=message_id, hint_id=hint_id)


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _cfg_error(
            f"must be a positive number, got {value!r}",
            f"harus bilangan positif, bukan {value!r}",
            where,
            "write e.g. 6 (no quotes)",
            "tulis mis. 6 (tanpa tanda kutip)",
        )
    if not math.isfinite(float(value)):
        raise _cfg_error(
            f"must be finite, got {value!r}",
            f"harus terhingga, bukan {value!r}",
            where,
            "write e.g. 6",
            "tulis mis. 6",
        )
    return float(value)


def _validate_config(data: Mapping[str, Any], *, where: str) -> ReportConfig:
    """Check a configuration (TOML shape) and build it; every error names the field."""
    from tangguh.risk._toml import _check_keys, _text

    allowed = {"version", "sla", "units", "types", "overrides", *_SETTINGS}
    _check_keys(data, allowed, where)
    sla = data.get("sla", {})
    _check_keys(sla, {"reach_hours", "resolve_hours"}, f"{where} [sla]")
    reach_default = _positive(sla.get("reach_hours", 6), f"{where} [sla] reach_hours")
    resolve_default = _positive(sla.get("resolve_hours", 72), f"{where} [sla] resolve_hours")
    units: dict[str, Unit] = {}
    for code, body in dict(data.get("units", {})).items():
        at = f"{where} [units.{code}]"
        if not re.fullmatch(r"[a-z][a-z0-9_:-]{0,63}", str(code)):
            raise _cfg_error(
                f"invalid unit code {code!r}",
                f"kode unit {code!r} tidak sah",
                at,
                "use lower-case letters, digits and _ (e.g. dinas_lh)",
                "gunakan huruf kecil, angka dan _ (mis. dinas_lh)",
            )
        if not isinstance(body, Mapping):
            raise _cfg_error(
                "a unit must be a table with name_id and name_en",
                "unit harus berupa tabel dengan name_id dan name_en",
                at,
                'write [units.CODE] name_id = "..." name_en = "..."',
                'tulis [units.KODE] name_id = "..." name_en = "..."',
            )
        _check_keys(body, {"name_id", "name_en"}, at)
        units[str(code)] = Unit(
            str(code), str(_text(body, "name_id", at)), str(_text(body, "name_en", at))
        )
    if not units:
        raise _cfg_error(
            "no responsible units",
            "tidak ada unit penanggung jawab",
            f"{where} [units]",
            "add at least one [units.CODE] table",
            "tambahkan paling sedikit satu tabel [units.KODE]",
        )

    def known(unit: Any, at: str) -> str:
        if unit not in units:
            raise _cfg_error(
                f"unknown unit {unit!r}",
                f"unit {unit!r} tidak dikenal",
                at,
                f"use one of the [units] codes: {', '.join(units)}",
                f"gunakan salah satu kode [units]: {', '.join(units)}",
            )
        return str(unit)

    types = dict(data.get("types", {}))
    rules: dict[str, TypeRule] = {}
    for kind in TYPES:
        at = f"{where} [types.{kind}]"
        if kind not in types:
            raise _cfg_error(
                f"no rule for report type {kind}",
                f"tidak ada aturan untuk jenis laporan {kind}",
                at,
                f'add [types.{kind}] with unit = "..."',
                f'tambahkan [types.{kind}] dengan unit = "..."',
            )
        body = types.pop(kind)
        _check_keys(body, {"unit", "reach_hours", "resolve_hours", "zone_layer", "zone_field"}, at)
        zone_layer = _text(body, "zone_layer", at, required=False)
        zone_field = _text(body, "zone_field", at, required=zone_layer is not None)
        rules[kind] = TypeRule(
            kind,
            known(body.get("unit"), f"{at} unit"),
            _positive(body.get("reach_hours", reach_default), f"{at} reach_hours"),
            _positive(body.get("resolve_hours", resolve_default), f"{at} resolve_hours"),
            zone_layer,
            zone_field if zone_layer is not None else None,
        )
    if types:
        raise _cfg_error(
            f"unknown report type(s) {', '.join(sorted(types))}",
            f"jenis laporan tidak dikenal: {', '.join(sorted(types))}",
            f"{where} [types]",
            f"use {', '.join(TYPES)}",
            f"gunakan {', '.join(TYPES)}",
        )
    overrides: list[Override] = []
    for i, body in enumerate(data.get("overrides", [])):
        at = f"{where} [[overrides]] #{i + 1}"
        _check_keys(body, {"kelurahan", "types", "unit"}, at)
        kinds = body.get("types", list(TYPES))
        if isinstance(kinds, str):
            kinds = [kinds]
        for kind in kinds:
            if kind not in TYPES:
                raise _cfg_error(
                    f"unknown report type {kind!r}",
                    f"jenis laporan {kind!r} tidak dikenal",
                    f"{at} types",
                    f"use {', '.join(TYPES)}",
                    f"gunakan {', '.join(TYPES)}",
                )
        overrides.append(
            Override(str(_text(body, "kelurahan", at)), tuple(kinds), known(body.get("unit"), at))
        )
    settings: dict[str, dict[str, float]] = {}
    for group, defaults in _SETTINGS.items():
        body = data.get(group, {})
        _check_keys(body, set(defaults), f"{where} [{group}]")
        settings[group] = {
            k: _positive(body.get(k, v), f"{where} [{group}] {k}") for k, v in defaults.items()
        }
    version = data.get("version")
    return ReportConfig(
        units,
        rules,
        tuple(overrides),
        settings,
        version=version if isinstance(version, int) else None,
        source=where,
    )


def load_config(path: str | Path | None = None) -> ReportConfig:
    """The shipped configuration, or a TOML file checked field by field."""
    if path is None:
        from importlib import resources

        text = (
            resources.files("tangguh.services")
            .joinpath("data", "report_units.toml")
            .read_text(encoding="utf-8")
        )
        config = _validate_config(
            tomllib.loads(text), where="tangguh/services/data/report_units.toml"
        )
        return ReportConfig(
            config.units, config.rules, config.overrides, config.settings, None, "built-in"
        )
    from tangguh.risk._toml import _read_toml

    p = Path(path)
    if not p.is_file():
        raise NotFoundError(
            f"no configuration file {str(path)!r}",
            where=str(path),
            hint="give the path of a TOML file like tangguh/services/data/report_units.toml",
            message_id=f"tidak ada berkas konfigurasi {str(path)!r}",
            hint_id="berikan path berkas TOML seperti tangguh/services/data/report_units.toml",
        )
    return _validate_config(_read_toml(p), where=str(p))


_CONFIGS: dict[tuple[str, int | None], ReportConfig] = {}


def current_config(bank: Bank) -> ReportConfig:
    """The bank's latest imported configuration, else the shipped one (cached)."""
    with bank.connect() as conn:
        version = conn.execute(select(func.max(tg_svc_report_config.c.version))).scalar()
        key = (bank.url, None if version is None else int(version))
        cached = _CONFIGS.get(key)
        if cached is not None:
            return cached
        row = (
            conn.execute(
                select(tg_svc_report_config).where(tg_svc_report_config.c.version == version)
            )
            .mappings()
            .first()
        )
    if row is None:
        config = load_config()
    else:
        checked = _validate_config(row["data"], where=f"tg_svc_report_config v{row['version']}")
        config = ReportConfig(
            checked.units,
            checked.rules,
            checked.overrides,
            checked.settings,
            int(row["version"]),
            str(row["source"] or ""),
        )
    _CONFIGS[key] = config
    return config


def import_config(bank: Bank, path: str | Path, *, actor: str = "cli") -> ReportConfig:
    """Check a TOML file and store it as the bank's next configuration version."""
    import json

    config = load_config(path)
    data = config.data()
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    with bank.begin() as conn:
        last = conn.execute(select(func.max(tg_svc_report_config.c.version))).scalar()
        version = int(last or 0) + 1
        conn.execute(
            insert(tg_svc_report_config).values(
                version=version,
                data=data,
                source=str(path),
                digest=digest,
                imported=datetime.now(UTC),
                actor=actor[:190],
            )
        )
    _INTAKE.pop(bank.url, None)
    return ReportConfig(
        config.units, config.rules, config.overrides, config.settings, version, str(path)
    )


# -- where a point is: kelurahan, RW, water service zone -------------------------------------


@dataclass
class UnitLocator:
    """Point lookup of kelurahan/RW (and water service zones) for report intake.

    Built once per version of the admin units (and zone) layers: an STRtree over the
    kelurahan and RW polygons, so locating one report costs microseconds.
    """

    key: tuple[Any, ...]
    bounds: tuple[float, float, float, float]
    trees: dict[str, tuple[shapely.STRtree, np.ndarray]]
    parents: dict[str, str | None]
    zones: dict[str, tuple[shapely.STRtree, np.ndarray, dict[str, np.ndarray]]]

    def _first(self, name: str, point: shapely.Point) -> int | None:
        tree, _ids = self.trees[name]
        hits = tree.query(point, predicate="intersects")
        return int(hits.min()) if hits.size else None  # polygons sorted by unit_id

    def locate(self, lon: float, lat: float) -> dict[str, str | None]:
        """``{"rw": id|None, "kelurahan": id|None}`` at the point."""
        point = shapely.Point(lon, lat)
        out: dict[str, str | None] = {"rw": None, "kelurahan": None}
        if "rw" in self.trees:
            hit = self._first("rw", point)
            if hit is not None:
                rw = str(self.trees["rw"][1][hit])
                out["rw"] = rw
                out["kelurahan"] = self.parents.get(rw)
        if out["kelurahan"] is None and "kelurahan" in self.trees:
            hit = self._first("kelurahan", point)
            if hit is not None:
                out["kelurahan"] = str(self.trees["kelurahan"][1][hit])
        return out

    def zone_value(self, layer: str, field_name: str, lon: float, lat: float) -> str | None:
        """The ``field_name`` of the zone of ``layer`` containing the point, if any."""
        entry = self.zones.get(layer)
        if entry is None or field_name not in entry[2]:
            return None
        tree, order, values = entry
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        if not hits.size:
            return None
        value = values[field_name][order[int(hits.min())]]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        text = str(value).strip()
        return text or None


_LOCATORS: dict[str, UnitLocator] = {}


def _layer_versions(bank: Bank, layers: Sequence[str]) -> dict[str, int]:
    """Current version of each of ``layers`` in the catalogue (absent layers left out)."""
    from tangguh.bank import _schema as S

    with bank.connect() as conn:
        rows = conn.execute(
            select(S.tg_layer.c.id, S.tg_layer.c.current_version).where(
                S.tg_layer.c.id.in_(list(layers))
            )
        ).all()
    return {str(i): int(v) for i, v in rows}


def locator(bank: Bank, config: ReportConfig | None = None) -> UnitLocator:
    """The :class:`UnitLocator` of the bank, rebuilt when a layer it uses changes."""
    from tangguh.admin.store import ADMIN_LAYER, load_units

    cfg = config or current_config(bank)
    zone_layers = sorted({r.zone_layer for r in cfg.rules.values() if r.zone_layer})
    versions = _layer_versions(bank, [ADMIN_LAYER, *zone_layers])
    key = (versions.get(ADMIN_LAYER), *((z, versions.get(z)) for z in zone_layers))
    cached = _LOCATORS.get(bank.url)
    if cached is not None and cached.key == key:
        return cached
    if key[0] is None:
        raise NotFoundError(
            "the bank has no admin units",
            where=ADMIN_LAYER,
            hint="import admin units first (`tangguh admin import` or `tangguh demo`)",
            message_id="bank data tidak memiliki unit administrasi",
            hint_id="impor unit administrasi dahulu (`tangguh admin import` atau `tangguh demo`)",
        )
    units = load_units(bank)
    units = units[~(units.geometry.isna() | units.geometry.is_empty)]
    trees: dict[str, tuple[shapely.STRtree, np.ndarray]] = {}
    for level in ("rw", "kelurahan"):
        sel = units[units["level"] == level].sort_values("unit_id")
        if len(sel):
            geoms = np.asarray(sel.geometry.values, dtype=object)
            shapely.prepare(geoms)
            trees[level] = (shapely.STRtree(geoms), sel["unit_id"].astype(str).to_numpy())
    parents = {
        str(u): (None if p is None or (isinstance(p, float) and math.isnan(p)) else str(p))
        for u, p in zip(units["unit_id"], units["parent_id"], strict=True)
    }
    zones: dict[str, tuple[shapely.STRtree, np.ndarray, dict[str, np.ndarray]]] = {}
    for name in zone_layers:
        if name not in versions:
            continue
        frame = bank.read_layer(name)
        frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        if "zone_id" in frame.columns:
            frame = frame.sort_values("zone_id")
        geoms = np.asarray(frame.geometry.values, dtype=object)
        shapely.prepare(geoms)
        cols = {c: frame[c].to_numpy(dtype=object) for c in frame.columns if c != "geometry"}
        zones[name] = (shapely.STRtree(geoms), np.arange(len(frame)), cols)
    minx, miny, maxx, maxy = units.total_bounds
    loc = UnitLocator(
        key,
        (float(minx), float(miny), float(maxx), float(maxy)),
        trees,
        parents,
        zones,
    )
    _LOCATORS[bank.url] = loc
    return loc


#: Seconds the intake reuses the configuration and locator without checking the bank.
INTAKE_TTL = 1.0
_INTAKE: dict[str, tuple[float, ReportConfig, UnitLocator]] = {}


def _intake_context(bank: Bank) -> tuple[ReportConfig, UnitLocator]:
    """Configuration and locator for :func:`submit`, re-checked at most every second."""
    import time

    clock = time.monotonic()
    cached = _INTAKE.get(bank.url)
    if cached is not None and clock - cached[0] < INTAKE_TTL:
        return cached[1], cached[2]
    config = current_config(bank)
    loc = locator(bank, config)
    _INTAKE[bank.url] = (clock, config, loc)
    return config, loc


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "unit"


def route(
    config: ReportConfig,
    kind: str,
    kelurahan_id: str | None,
    *,
    zone_operator: str | None = None,
) -> tuple[str, str, str]:
    """``(unit code, unit name, reason)`` responsible for a report.

    Order: a per-kelurahan override of the type; for types with a ``zone_layer``, the
    operator of the zone at the point (``zone:<slug>``); else the type's unit.
    """
    rule = config.rule(kind)
    for ov in config.overrides:
        if ov.kelurahan == kelurahan_id and kind in ov.types:
            unit = config.units[ov.unit]
            return unit.code, unit.name_id, f"override for {kelurahan_id}"
    if rule.zone_layer and zone_operator:
        return f"zone:{_slug(zone_operator)}", zone_operator, f"operator of the {rule.zone_layer}"
    unit = config.units[rule.unit]
    return unit.code, unit.name_id, f"unit of type {kind}"


# -- submit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportDraft:
    """What a citizen sends (before checks)."""

    lon: float
    lat: float
    type: str = "flood"
    depth_cm: float | None = None
    text: str = ""


@dataclass(frozen=True)
class Submitted:
    """A stored report and the reporter token (returned once, never stored in clear)."""

    report: dict[str, Any]
    token: str


def _check_draft(draft: ReportDraft) -> ReportDraft:
    kind = _check_type(draft.type)
    for name, value in (("lon", draft.lon), ("lat", draft.lat)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise InputError(
                f"{name} must be a finite number, got {value!r}",
                where=name,
                hint="longitude first, e.g. lon=106.83, lat=-6.13",
                message_id=f"{name} harus bilangan terhingga, bukan {value!r}",
                hint_id="bujur dahulu, mis. lon=106.83, lat=-6.13",
            )
    depth = draft.depth_cm
    if TYPES[kind].depth:
        if depth is None or not math.isfinite(depth) or not 0 <= depth <= MAX_DEPTH_CM:
            raise InputError(
                f"a flood report needs a water depth 0-{MAX_DEPTH_CM:g} cm, got {depth!r}",
                where="depth_cm",
                hint="give the depth of the water in cm (e.g. 40 = knee high)",
                message_id=f"laporan banjir memerlukan kedalaman air 0-{MAX_DEPTH_CM:g} cm, "
                f"bukan {depth!r}",
                hint_id="isi kedalaman air dalam cm (mis. 40 = setinggi lutut)",
            )
    elif depth is not None:
        raise InputError(
            f"depth_cm applies to flood reports only, not to {kind}",
            where="depth_cm",
            hint="leave depth_cm out, or send type=flood",
            message_id=f"depth_cm hanya untuk laporan banjir, bukan {kind}",
            hint_id="kosongkan depth_cm, atau kirim type=flood",
        )
    text = (draft.text or "").strip()
    if len(text) > MAX_TEXT:
        raise InputError(
            f"the text has {len(text)} characters; at most {MAX_TEXT}",
            where="text",
            hint="shorten the description",
            message_id=f"teks berisi {len(text)} karakter; paling banyak {MAX_TEXT}",
            hint_id="persingkat uraian",
        )
    return ReportDraft(float(draft.lon), float(draft.lat), kind, depth, text)


def _outside(lon: float, lat: float, bounds: tuple[float, float, float, float]) -> InputError:
    minx, miny, maxx, maxy = bounds
    return InputError(
        f"the point lon={lon}, lat={lat} is outside the city",
        where="lon/lat",
        hint=f"the city spans lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f} "
        "(longitude first)",
        message_id=f"titik lon={lon}, lat={lat} berada di luar kota",
        hint_id=f"kota mencakup lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f} "
        "(bujur dahulu)",
    )


def _metres(lon1: float, lat1: float, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distances (haversine, R = 6,371,008.8 m)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


_r = tg_svc_report.c
_p = tg_svc_report_photo.c
_b_t = bindparam("t", type_=_r.t.type)
#: Statements of the intake, built once (bound parameters, compiled once per dialect).
_Q_NEAR = select(_r.cluster_id, _r.lon, _r.lat).where(
    _r.type == bindparam("type"),
    _r.t >= bindparam("t_from", type_=_r.t.type),
    _r.t <= _b_t,
    _r.status != "rejected",
    _r.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
    _r.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
)
_Q_REPORTER = select(
    func.coalesce(func.sum(case((_r.t >= bindparam("since", type_=_r.t.type), 1), else_=0)), 0),
    func.coalesce(
        func.sum(
            case(
                (and_(_r.status == "rejected", _r.t >= bindparam("days", type_=_r.t.type)), 1),
                else_=0,
            )
        ),
        0,
    ),
).where(_r.reporter_id == bindparam("reporter"), _r.t >= bindparam("start", type_=_r.t.type))
_Q_IP = select(func.count()).where(
    _r.ip_hash == bindparam("ip"), _r.t >= bindparam("since", type_=_r.t.type)
)
_Q_PHOTO_SEEN = select(_p.photo_id).where(_p.sha256 == bindparam("sha")).limit(1)
_Q_CLUSTER_SIZE = select(func.count()).where(
    _r.cluster_id == bindparam("cluster"), _r.status != "rejected"
)


def _cluster(
    conn: Connection, config: ReportConfig, draft: ReportDraft, now: datetime
) -> str | None:
    """The cluster of the nearest earlier report of the same type, if close enough."""
    metres = config.setting("duplicates", "metres")
    dlat = metres / 111_000.0
    dlon = dlat / max(0.01, math.cos(math.radians(draft.lat)))
    rows = conn.execute(
        _Q_NEAR,
        {
            "type": draft.type,
            "t_from": now - timedelta(hours=config.setting("duplicates", "hours")),
            "t": now,
            "lon_lo": draft.lon - dlon,
            "lon_hi": draft.lon + dlon,
            "lat_lo": draft.lat - dlat,
            "lat_hi": draft.lat + dlat,
        },
    ).all()
    if not rows:
        return None
    dist = _metres(
        draft.lon,
        draft.lat,
        np.array([row[1] for row in rows]),
        np.array([row[2] for row in rows]),
    )
    best = int(np.argmin(dist))
    return str(rows[best][0]) if dist[best] <= metres else None


def _flags(
    conn: Connection,
    config: ReportConfig,
    reporter_id: str,
    ip_hash: str | None,
    photo: Photo | None,
    now: datetime,
) -> list[str]:
    out: list[str] = []
    burst = config.setting("abuse", "burst_count")
    since = now - timedelta(minutes=config.setting("abuse", "burst_minutes"))
    days = now - timedelta(days=config.setting("abuse", "rejected_days"))
    recent, rejected = conn.execute(
        _Q_REPORTER,
        {"since": since, "days": days, "reporter": reporter_id, "start": min(since, days)},
    ).one()
    if int(recent) + 1 > burst:
        out.append("burst")
    if int(rejected) >= config.setting("abuse", "rejected_count"):
        out.append("often_rejected")
    if ip_hash:
        from_ip = conn.execute(_Q_IP, {"ip": ip_hash, "since": since}).scalar()
        if int(from_ip or 0) + 1 > burst:
            out.append("ip_burst")
    seen = photo is not None and conn.execute(_Q_PHOTO_SEEN, {"sha": photo.sha256}).first()
    if seen:
        out.append("photo_reused")
    return out


def submit(
    bank: Bank,
    draft: ReportDraft,
    *,
    reporter_id: str,
    photo: Photo | None = None,
    ip_hash: str | None = None,
    now: datetime | None = None,
    where: UnitLocator | None = None,
    staged: list[Path] | None = None,
) -> Submitted:
    """Check and store a report (one transaction: report, event, photo row and file).

    Parameters
    ----------
    bank:
        The bank (admin units needed; a water service zone layer is used when present).
    draft:
        The report; ``type`` defaults to flood (depth required).
    reporter_id:
        Private id of the reporter (a web user id, or a CLI user).
    photo:
        A photo checked with :func:`check_photo` (already metadata-free).
    ip_hash:
        Opaque hash of the client address (abuse flags), if known.
    now:
        Report time (default: now, UTC).
    where:
        A :class:`UnitLocator` (default: :func:`locator` of the bank).
    staged:
        Files written for this report are appended here, so a caller whose outer
        transaction fails can remove them; on an error inside, they are removed.

    Returns
    -------
    Submitted
        The report (private view) and the reporter token (shown once).

    Raises
    ------
    InputError
        Unknown type, missing depth, text too long, a point outside the city.
    """
    draft = _check_draft(draft)
    t = _now(now)
    config, loc = _intake_context(bank)
    loc = where or loc
    minx, miny, maxx, maxy = loc.bounds
    inside = minx <= draft.lon <= maxx and miny <= draft.lat <= maxy
    units = loc.locate(draft.lon, draft.lat) if inside else {"rw": None, "kelurahan": None}
    if units["kelurahan"] is None:
        raise _outside(draft.lon, draft.lat, loc.bounds)
    rule = config.rule(draft.type)
    rid = uuid.uuid4().hex[:16]
    token = secrets.token_urlsafe(24)
    files: list[Path] = [] if staged is None else staged
    mark = len(files)
    try:
        with bank.begin() as conn:
            cluster = _cluster(conn, config, draft, t) or rid
            flags = _flags(conn, config, reporter_id, ip_hash, photo, t)
            row = {
                "report_id": rid,
                "type": draft.type,
                "t": t,
                "lon": draft.lon,
                "lat": draft.lat,
                "depth_cm": draft.depth_cm,
                "text": draft.text or None,
                "reporter_id": reporter_id[:64],
                "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                "ip_hash": ip_hash,
                "rw_id": units["rw"],
                "kelurahan_id": units["kelurahan"],
                "status": "new",
                "updated": t,
                "reach_due": t + timedelta(hours=rule.reach_hours),
                "resolve_due": t + timedelta(hours=rule.resolve_hours),
                "cluster_id": cluster,
                "flags": flags,
                **dict.fromkeys(("unit", "unit_name", "assigned_at", "resolved_at", "closed_at")),
            }
            conn.execute(tg_svc_report.insert(), row)
            conn.execute(
                tg_svc_report_event.insert(),
                {"report_id": rid, "t": t, "action": "submit", "status_from": None,
                 "status_to": "new", "actor": "reporter", "note": None, "unit": None},
            )  # fmt: skip
            if photo is not None:
                _store_photo(conn, bank, rid, rid, "report", photo, t, files)
            size = 1
            if cluster != rid:
                size = int(conn.execute(_Q_CLUSTER_SIZE, {"cluster": cluster}).scalar() or 1)
            report = _report_json(row, size, [(rid, "report")] if photo else [], True, t)
    except BaseException:
        _unstage(files[mark:])
        raise
    return Submitted(report, token)


# -- reading --------------------------------------------------------------------------------


def reporter_key(reporter_id: str) -> str:
    """A pseudonym of the reporter for operators: same reporter, same key; no identity."""
    return hashlib.sha256(f"tangguh-reporter:{reporter_id}".encode()).hexdigest()[:12]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _sla(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    status = row["status"]
    assigned = row["assigned_at"]
    reach_due, resolve_due = row["reach_due"], row["resolve_due"]
    reach_overdue = status != "rejected" and assigned is None and now > reach_due
    resolve_overdue = status in OPEN_STATUSES and now > resolve_due
    return {
        "reach_due": _iso(reach_due),
        "resolve_due": _iso(resolve_due),
        "reached": assigned is not None,
        "reach_late": assigned is not None and assigned > reach_due,
        "reach_overdue": reach_overdue,
        "resolve_overdue": resolve_overdue,
        "overdue": reach_overdue or resolve_overdue,
    }


_PUBLIC_COLUMNS = [
    c for c in tg_svc_report.c if c.name not in ("reporter_id", "token_hash", "ip_hash", "flags")
]


def _report_json(
    row: Mapping[str, Any],
    cluster_size: int,
    photos: Sequence[tuple[str, str]],
    private: bool,
    now: datetime,
) -> dict[str, Any]:
    """The JSON view of a report row (private adds flags and the reporter pseudonym)."""
    rid = row["report_id"]
    kinds = list(photos)
    item: dict[str, Any] = {
        "report_id": rid,
        "type": row["type"],
        "t": _iso(row["t"]),
        "lon": row["lon"],
        "lat": row["lat"],
        "depth_cm": row["depth_cm"],
        "text": row["text"],
        "status": row["status"],
        "rw_id": row["rw_id"],
        "kelurahan_id": row["kelurahan_id"],
        "updated": _iso(row["updated"]),
        "unit": row["unit"],
        "unit_name": row["unit_name"],
        "assigned_at": _iso(row["assigned_at"]),
        "resolved_at": _iso(row["resolved_at"]),
        "closed_at": _iso(row["closed_at"]),
        "cluster_id": row["cluster_id"],
        "cluster_size": cluster_size,
        "primary": row["cluster_id"] == rid,
        "photo": next((pid for pid, role in kinds if role == "report"), None),
        "resolution_photos": [pid for pid, role in kinds if role == "resolution"],
        "sla": _sla(row, now),
    }
    if private:
        item["flags"] = list(row["flags"] or [])
        item["reporter_key"] = reporter_key(row["reporter_id"])
    return item


def _fetch(
    conn: Connection,
    ids: Sequence[str],
    *,
    private: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """Reports by id (in that order) with cluster sizes, photos and SLA flags."""
    if not ids:
        return []
    r = tg_svc_report
    cols = list(r.c) if private else _PUBLIC_COLUMNS
    rows: dict[str, Mapping[str, Any]] = {
        str(row["report_id"]): dict(row)
        for row in conn.execute(select(*cols).where(r.c.report_id.in_(list(ids)))).mappings()
    }
    clusters = {row["cluster_id"] for row in rows.values()}
    sizes: dict[str, int] = dict(
        conn.execute(
            select(r.c.cluster_id, func.count())
            .where(r.c.cluster_id.in_(list(clusters)), r.c.status != "rejected")
            .group_by(r.c.cluster_id)
        ).all()
    )
    p = tg_svc_report_photo.c
    photos: dict[str, list[tuple[str, str]]] = {}
    for pid, rid, role in conn.execute(
        select(p.photo_id, p.report_id, p.role)
        .where(p.report_id.in_(list(rows)))
        .order_by(p.t, p.photo_id)
    ).all():
        photos.setdefault(rid, []).append((pid, role))
    out = []
    for rid in ids:
        row = rows.get(rid)
        if row is None:
            continue
        out.append(
            _report_json(
                row, int(sizes.get(row["cluster_id"], 1)), photos.get(rid, []), private, now
            )
        )
    return out


def _not_found(report_id: str) -> NotFoundError:
    return NotFoundError(
        f"no report {report_id!r}",
        where="report_id",
        hint="list reports with `tangguh reports list` or GET /api/v1/reports",
        message_id=f"tidak ada laporan {report_id!r}",
        hint_id="lihat daftar laporan dengan `tangguh reports list` atau GET /api/v1/reports",
    )


def get_report(
    bank: Bank,
    report_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One report; a rejected report exists only for ``private`` (operator) reads and for
    its reporter (the reporter ``token``; a wrong token raises :class:`TokenError`)."""
    with bank.connect() as conn:
        found = _fetch(conn, [report_id], private=private, now=_now(now))
        if found and token is not None:
            _check_token(_load(conn, report_id), token)
    if not found or (found[0]["status"] == "rejected" and not private and token is None):
        raise _not_found(report_id)
    return found[0]


def _overdue_clause(now: datetime) -> Any:
    r = tg_svc_report.c
    return and_(
        r.status.in_(OPEN_STATUSES),
        or_(and_(r.assigned_at.is_(None), r.reach_due < now), r.resolve_due < now),
    )


def list_reports(
    bank: Bank,
    *,
    status: str | Sequence[str] | None = None,
    types: str | Sequence[str] | None = None,
    rw: str | None = None,
    kelurahan: str | None = None,
    unit: str | None = None,
    since: datetime | None = None,
    overdue_only: bool = False,
    flagged_only: bool = False,
    cluster: str | None = None,
    private: bool = False,
    limit: int = 500,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Reports, newest first, filtered; rejected ones only for ``private`` reads.

    ``status`` and ``types`` take one value or several; ``overdue_only`` keeps reports
    past an SLA due time; ``flagged_only`` those with an abuse flag (operators).
    """
    t = _now(now)
    r = tg_svc_report.c
    query = select(r.report_id).order_by(r.t.desc(), r.report_id).limit(max(1, int(limit)))
    statuses = [status] if isinstance(status, str) else list(status or [])
    for s in statuses:
        _check_status(s)
    if statuses:
        if "rejected" in statuses and not private:
            raise InputError(
                "rejected reports are shown to operators only",
                where="status",
                hint="log in as an operator",
                message_id="laporan yang ditolak hanya ditampilkan kepada operator",
                hint_id="masuk sebagai operator",
            )
        query = query.where(r.status.in_(statuses))
    elif not private:
        query = query.where(r.status != "rejected")
    kinds = [types] if isinstance(types, str) else list(types or [])
    for k in kinds:
        _check_type(k)
    if kinds:
        query = query.where(r.type.in_(kinds))
    if rw is not None:
        query = query.where(r.rw_id == rw)
    if kelurahan is not None:
        query = query.where(r.kelurahan_id == kelurahan)
    if unit is not None:
        query = query.where(r.unit == unit)
    if since is not None:
        query = query.where(r.t >= _now(since))
    if cluster is not None:
        query = query.where(r.cluster_id == cluster)
    if overdue_only:
        query = query.where(_overdue_clause(t))
    with bank.connect() as conn:
        ids = [str(x) for x in conn.execute(query).scalars()]
        out = _fetch(conn, ids, private=private, now=t)
    if flagged_only:
        out = [x for x in out if x.get("flags")]
    return out


def overdue(bank: Bank, *, now: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Open reports past an SLA due time, the most overdue (earliest due) first."""
    t = _now(now)
    r = tg_svc_report.c
    due = case((r.assigned_at.is_(None), r.reach_due), else_=r.resolve_due)
    with bank.connect() as conn:
        ids = [
            str(x)
            for x in conn.execute(
                select(r.report_id)
                .where(_overdue_clause(t))
                .order_by(due, r.t, r.report_id)
                .limit(limit)
            ).scalars()
        ]
        return _fetch(conn, ids, private=True, now=t)


def events(bank: Bank, report_id: str, *, private: bool = False) -> list[dict[str, Any]]:
    """The transitions of a report, oldest first (actors for private reads only)."""
    get_report(bank, report_id, private=private)
    e = tg_svc_report_event.c
    with bank.connect() as conn:
        rows = conn.execute(
            select(tg_svc_report_event).where(e.report_id == report_id).order_by(e.seq)
        ).mappings()
        out = []
        for row in rows:
            item = {
                "t": _iso(row["t"]),
                "action": row["action"],
                "status_from": row["status_from"],
                "status_to": row["status_to"],
                "unit": row["unit"],
            }
            if private:
                item["actor"] = row["actor"]
                item["note"] = row["note"]
            out.append(item)
    return out


def photo_bytes(
    bank: Bank, report_id: str, photo_id: str | None = None, *, private: bool = False
) -> tuple[bytes, str]:
    """``(bytes, media type)`` of the report photo (or of ``photo_id`` of the report)."""
    get_report(bank, report_id, private=private)
    p = tg_svc_report_photo.c
    query = select(tg_svc_report_photo).where(p.report_id == report_id)
    query = query.where(p.photo_id == photo_id) if photo_id else query.where(p.role == "report")
    with bank.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(
            f"report {report_id} has no photo {photo_id or ''}".strip(),
            where="photo_id" if photo_id else "report_id",
            hint="see the report's 'photo' and 'resolution_photos'",
            message_id=f"laporan {report_id} tidak memiliki foto {photo_id or ''}".strip(),
            hint_id="lihat 'photo' dan 'resolution_photos' pada laporan",
        )
    if row["data"] is not None:
        return bytes(row["data"]), str(row["media_type"])
    folder = media_dir(bank)
    if folder is None or row["path"] is None or not (folder / row["path"]).is_file():
        raise NotFoundError(
            f"the photo file of report {report_id} is missing",
            where=str(folder),
            hint="restore the <bank>.media folder from the backup",
            message_id=f"berkas foto laporan {report_id} hilang",
            hint_id="pulihkan folder <bank>.media dari cadangan",
        )
    return (folder / row["path"]).read_bytes(), str(row["media_type"])


# -- transitions ----------------------------------------------------------------------------


def _illegal(report_id: str, action: str, status: str) -> TransitionError:
    allowed, _to = ACTIONS[action]
    return TransitionError(
        f"cannot {action} report {report_id}: it is {status}; {action} needs "
        f"{' or '.join(allowed)}",
        where=f"report {report_id}",
        hint=f"the report's lifecycle: see `tangguh reports show {report_id}`",
        message_id=f"laporan {report_id} tidak dapat di-{action}: statusnya "
        f"{_STATUS_ID.get(status, status)}; {action} memerlukan status "
        f"{' atau '.join(_STATUS_ID[s] for s in allowed)}",
        hint_id=f"lihat siklus laporan dengan `tangguh reports show {report_id}`",
    )


def _step(
    conn: Connection,
    row: Mapping[str, Any],
    action: str,
    actor: str,
    note: str | None,
    now: datetime,
    **values: Any,
) -> str:
    """Move a report one step (checked against its status) and log the event."""
    allowed, to = ACTIONS[action]
    rid = row["report_id"]
    if row["status"] not in allowed:
        raise _illegal(rid, action, row["status"])
    r = tg_svc_report.c
    done = conn.execute(
        update(tg_svc_report)
        .where(r.report_id == rid, r.status == row["status"])
        .values(status=to, updated=now, **values)
    )
    if done.rowcount != 1:  # changed by someone else since it was read
        raise _illegal(rid, action, "changed by another user")
    conn.execute(
        insert(tg_svc_report_event).values(
            report_id=rid,
            t=now,
            action=action,
            status_from=row["status"],
            status_to=to,
            actor=(actor or "unknown")[:190],
            note=(note or None) and str(note)[:MAX_TEXT],
            unit=values.get("unit", row.get("unit")),
        )
    )
    return to


def _load(conn: Connection, report_id: str) -> dict[str, Any]:
    row = (
        conn.execute(select(tg_svc_report).where(tg_svc_report.c.report_id == report_id))
        .mappings()
        .first()
    )
    if row is None:
        raise _not_found(report_id)
    return dict(row)


def _assign_values(
    bank: Bank,
    config: ReportConfig,
    row: Mapping[str, Any],
    unit: str | None,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    if unit is not None:
        if unit not in config.units:
            raise InputError(
                f"unknown responsible unit {unit!r}",
                where="unit",
                hint=f"use one of {', '.join(config.units)} (see `tangguh reports units`)",
                message_id=f"unit penanggung jawab {unit!r} tidak dikenal",
                hint_id=f"gunakan salah satu dari {', '.join(config.units)} "
                "(lihat `tangguh reports units`)",
            )
        code, name, reason = unit, config.units[unit].name_id, "set by operator"
    else:
        rule = config.rule(row["type"])
        operator = None
        if rule.zone_layer and rule.zone_field:
            operator = locator(bank, config).zone_value(
                rule.zone_layer, rule.zone_field, row["lon"], row["lat"]
            )
        code, name, reason = route(config, row["type"], row["kelurahan_id"], zone_operator=operator)
    values: dict[str, Any] = {"unit": code, "unit_name": name}
    if row["assigned_at"] is None:
        values["assigned_at"] = now
    return values, reason


def _act(
    bank: Bank,
    report_id: str,
    action: str,
    actor: str,
    note: str | None,
    now: datetime | None,
    **values: Any,
) -> dict[str, Any]:
    t = _now(now)
    with bank.begin() as conn:
        row = _load(conn, report_id)
        _step(conn, row, action, actor, note, t, **values)
        return _fetch(conn, [report_id], private=True, now=t)[0]


def verify(
    bank: Bank, report_id: str, *, actor: str, note: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """new -> verified, then -> assigned to the responsible unit (:func:`route`)."""
    t = _now(now)
    config = current_config(bank)
    with bank.begin() as conn:
        row = _load(conn, report_id)
        _step(conn, row, "verify", actor, note, t)
        row["status"] = "verified"
        values, reason = _assign_values(bank, config, row, None, t)
        _step(conn, row, "assign", "system", f"automatic: {reason}", t, **values)
        return _fetch(conn, [report_id], private=True, now=t)[0]


def reject(
    bank: Bank, report_id: str, *, actor: str, note: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """new/verified -> rejected (hidden from the public)."""
    t = _now(now)
    return _act(bank, report_id, "reject", actor, note, t, closed_at=t)


def restore(
    bank: Bank, report_id: str, *, actor: str, note: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """rejected -> new (undo a rejection)."""
    return _act(bank, report_id, "restore", actor, note, now, closed_at=None)


def assign(
    bank: Bank,
    report_id: str,
    *,
    actor: str,
    unit: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """verified/assigned/reopened -> assigned: to ``unit``, or by the routing rules."""
    t = _now(now)
    config = current_config(bank)
    with bank.begin() as conn:
        row = _load(conn, report_id)
        if row["status"] not in ACTIONS["assign"][0]:
            raise _illegal(report_id, "assign", row["status"])
        values, reason = _assign_values(bank, config, row, unit, t)
        _step(conn, row, "assign", actor, note or reason, t, **values)
        return _fetch(conn, [report_id], private=True, now=t)[0]


def start(
    bank: Bank, report_id: str, *, actor: str, note: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """assigned/reopened -> in_progress (the unit works on it)."""
    return _act(bank, report_id, "start", actor, note, now)


def resolve(
    bank: Bank,
    report_id: str,
    *,
    actor: str,
    photo: Photo | None,
    note: str | None = None,
    now: datetime | None = None,
    staged: list[Path] | None = None,
) -> dict[str, Any]:
    """in_progress -> resolved, with a resolution photo (required: close with proof)."""
    if photo is None:
        raise InputError(
            f"resolving report {report_id} needs a resolution photo",
            where="photo",
            hint="send a photo of the fixed place (same angle as the report photo)",
            message_id=f"penyelesaian laporan {report_id} memerlukan foto penyelesaian",
            hint_id="kirim foto lokasi yang sudah ditangani (sudut yang sama dengan foto laporan)",
        )
    t = _now(now)
    files: list[Path] = [] if staged is None else staged
    mark = len(files)
    try:
        with bank.begin() as conn:
            row = _load(conn, report_id)
            _step(conn, row, "resolve", actor, note, t, resolved_at=t)
            pid = f"{report_id}-r{secrets.token_hex(4)}"
            _store_photo(conn, bank, report_id, pid, "resolution", photo, t, files)
            return _fetch(conn, [report_id], private=True, now=t)[0]
    except BaseException:
        _unstage(files[mark:])
        raise


def _check_token(row: Mapping[str, Any], token: str | None) -> None:
    given = hashlib.sha256((token or "").encode()).hexdigest()
    stored = row["token_hash"] or ""
    if not token or not hmac.compare_digest(given, stored):
        raise TokenError(
            f"wrong reporter token for report {row['report_id']}",
            where="token",
            hint="use the token returned when the report was sent",
            message_id=f"token pelapor untuk laporan {row['report_id']} salah",
            hint_id="gunakan token yang diberikan saat laporan dikirim",
        )


def confirm(
    bank: Bank,
    report_id: str,
    *,
    token: str,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """resolved -> confirmed by the reporter (with the reporter token)."""
    t = _now(now)
    with bank.begin() as conn:
        row = _load(conn, report_id)
        _check_token(row, token)
        _step(conn, row, "confirm", "reporter", note, t, closed_at=t)
        return _fetch(conn, [report_id], private=True, now=t)[0]


def reopen(
    bank: Bank,
    report_id: str,
    *,
    token: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """resolved -> reopened: by the reporter (token) or an operator (``actor``)."""
    t = _now(now)
    with bank.begin() as conn:
        row = _load(conn, report_id)
        if actor is None:
            _check_token(row, token)
        _step(conn, row, "reopen", actor or "reporter", note, t, resolved_at=None)
        return _fetch(conn, [report_id], private=True, now=t)[0]


# -- aggregation, suggestions, abuse ---------------------------------------------------------


def summary(
    bank: Bank,
    *,
    level: str = "rw",
    since: datetime | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per RW (or kelurahan): counts by type and status, open and overdue reports.

    Rejected reports count in ``by_status`` only (not in ``total``/``by_type``).
    """
    if level not in ("rw", "kelurahan"):
        raise InputError(
            f"reports are aggregated per rw or kelurahan, not {level!r}",
            where="level",
            hint="use level=rw or level=kelurahan",
            message_id=f"laporan dijumlahkan per rw atau kelurahan, bukan {level!r}",
            hint_id="gunakan level=rw atau level=kelurahan",
        )
    t = _now(now)
    r = tg_svc_report.c
    key = r.rw_id if level == "rw" else r.kelurahan_id
    late = func.sum(case((_overdue_clause(t), 1), else_=0))
    query = select(key, r.kelurahan_id, r.type, r.status, func.count(), late).group_by(
        key, r.kelurahan_id, r.type, r.status
    )
    if level == "kelurahan":
        query = select(key, r.type, r.status, func.count(), late).group_by(key, r.type, r.status)
    if since is not None:
        query = query.where(r.t >= _now(since))
    out: dict[str, dict[str, Any]] = {}
    with bank.connect() as conn:
        for row in conn.execute(query).all():
            unit_id = row[0] if row[0] is not None else "(none)"
            if level == "rw":
                kel, kind, status, n, n_late = row[1], row[2], row[3], row[4], row[5]
            else:
                kel, kind, status, n, n_late = row[0], row[1], row[2], row[3], row[4]
            item = out.setdefault(
                unit_id,
                {
                    "unit_id": unit_id,
                    "kelurahan_id": kel,
                    "total": 0,
                    "open": 0,
                    "overdue": 0,
                    "by_type": {},
                    "by_status": {},
                },
            )
            n = int(n)
            item["by_status"][status] = item["by_status"].get(status, 0) + n
            if status == "rejected":
                continue
            item["total"] += n
            item["by_type"][kind] = item["by_type"].get(kind, 0) + n
            if status in OPEN_STATUSES:
                item["open"] += n
            item["overdue"] += int(n_late or 0)
    return sorted(out.values(), key=lambda x: (-x["open"], -x["total"], x["unit_id"]))


_FLOOD_CLASSES: list[tuple[str, int]] | None = None


def state_for_depth(depth_cm: float | None) -> int:
    """RW flood state 0-4 (PetaBencana scale) of a depth: 0 dry, 1 ≤ 10 cm, 2 ≤ 70,
    3 ≤ 150, 4 above (classification ``flood_petabencana``, ranges closed right)."""
    from tangguh.risk.classification import load_classification

    if depth_cm is None or not math.isfinite(depth_cm) or depth_cm <= 0:
        return 0
    key = load_classification("flood_petabencana").classify([depth_cm])[0]
    states = {
        c.key: int(str(c.value))
        for c in load_classification("flood_petabencana_state").classes
        if c.value is not None
    }
    return states.get(str(key), 0) if key is not None else 0


_rw_state = table(
    "tg_web_rw_state",
    column("unit_id", SAString),
    column("state", SAInteger),
)


def suggestions(
    bank: Bank,
    *,
    window_hours: float | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Suggested RW flood states from recent verified flood reports (never applied).

    Per RW with at least ``min_reports`` verified flood reports in the window: the
    median depth (robust to one wrong report), classified by :func:`state_for_depth`;
    with the maximum depth, the count, the latest report time and the RW's current
    state (``tg_web_rw_state``, 0 when unset).
    """
    t = _now(now)
    config = current_config(bank)
    hours = (
        window_hours if window_hours is not None else config.setting("suggestions", "window_hours")
    )
    if not (isinstance(hours, int | float) and math.isfinite(hours) and hours > 0):
        raise InputError(
            f"window_hours must be a positive number, got {hours!r}",
            where="window_hours",
            hint="e.g. 6",
            message_id=f"window_hours harus bilangan positif, bukan {hours!r}",
            hint_id="mis. 6",
        )
    r = tg_svc_report.c
    with bank.connect() as conn:
        rows = conn.execute(
            select(r.rw_id, r.depth_cm, r.t, r.report_id)
            .where(
                r.type == "flood",
                r.status.in_(VERIFIED_STATUSES),
                r.t >= t - timedelta(hours=float(hours)),
                r.t <= t,
                r.rw_id.is_not(None),
            )
            .order_by(r.t)
        ).all()
        current = {
            str(u): int(s)
            for u, s in conn.execute(select(_rw_state.c.unit_id, _rw_state.c.state)).all()
        }
    groups: dict[str, list[Any]] = {}
    for row in rows:
        groups.setdefault(str(row.rw_id), []).append(row)
    need = config.setting("suggestions", "min_reports")
    out = []
    for rw, items in groups.items():
        if len(items) < need:
            continue
        depths = [float(x.depth_cm or 0.0) for x in items]
        median = float(statistics.median(depths))
        state = state_for_depth(median)
        now_state = current.get(rw, 0)
        out.append(
            {
                "rw_id": rw,
                "suggested_state": state,
                "current_state": now_state,
                "differs": state != now_state,
                "reports": len(items),
                "median_depth_cm": round(median, 1),
                "max_depth_cm": max(depths),
                "latest": _iso(items[-1][2]),
                "report_ids": [x.report_id for x in items],
            }
        )
    return sorted(out, key=lambda x: (-x["suggested_state"], -x["reports"], x["rw_id"]))


def abuse(
    bank: Bank, *, now: datetime | None = None, days: float | None = None
) -> list[dict[str, Any]]:
    """Reporters with abuse signals (pseudonymous ``reporter_key``, never the identity).

    Per reporter over the last ``days`` (default the configured ``rejected_days``):
    reports, rejected, flagged reports and the flags seen; reporters with at least
    ``rejected_count`` rejections or any flagged report are listed.
    """
    t = _now(now)
    config = current_config(bank)
    span = days if days is not None else config.setting("abuse", "rejected_days")
    r = tg_svc_report.c
    with bank.connect() as conn:
        rows = conn.execute(
            select(r.reporter_id, r.status, r.flags, r.t).where(
                r.t >= t - timedelta(days=float(span))
            )
        ).all()
    per: dict[str, dict[str, Any]] = {}
    for reporter, status, flags, when in rows:
        item = per.setdefault(
            reporter,
            {"reporter_key": reporter_key(reporter), "reports": 0, "rejected": 0,
             "flagged": 0, "flags": set(), "latest": when},
        )  # fmt: skip
        item["reports"] += 1
        item["rejected"] += status == "rejected"
        if flags:
            item["flagged"] += 1
            item["flags"].update(flags)
        item["latest"] = max(item["latest"], when)
    limit = config.setting("abuse", "rejected_count")
    out = []
    for item in per.values():
        if item["rejected"] >= limit:
            item["flags"].add("often_rejected")
        if not item["flags"]:
            continue
        out.append({**item, "flags": sorted(item["flags"]), "latest": _iso(item["latest"])})
    return sorted(out, key=lambda x: (-x["rejected"], -x["flagged"], x["reporter_key"]))
