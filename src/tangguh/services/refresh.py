"""Regular refresh of service layers with history (issue 6 §3).

Sources are named data files (an http(s) URL or a local path) that feed one bank layer
each, on a schedule. A *run* re-pulls sources, writes changed content as a new layer
version, recomputes the coverage indicators and stores them as a *snapshot*, so "what
changed since last month" and trends per unit are queries over snapshots.

Rules (see docs/services-refresh.md):

- A URL is downloaded with :func:`tangguh.fetch.fetch` into ``<cache>/services``
  (conditional GET when the server sent an ETag/Last-Modified, else a full download);
  a path is read in place. Unchanged bytes (same SHA-256 as the last good import, and
  the layer still at the version that import wrote) are not read again. Changed bytes
  are read with :func:`tangguh.io.vector.read_vector` and written with
  ``bank.write_layer``; a write that would add, change and remove nothing is rolled
  back, so unchanged content never makes a new layer version.
- A source that fails (download, read, checks, write) leaves its layer as it was (the
  last good version), is recorded in the run and raises an operator notice.
- Status of a run: ``ok`` (every source and the indicators succeeded), ``partial``
  (some sources failed, the snapshot was stored), ``failed`` (every source failed, or
  the indicators could not be computed). The snapshot, the run's counts, the sources'
  state and the notices are written in one transaction.
- Schedules: ``"30m"``, ``"6h"``, ``"1d"``, ``"2w"`` (an interval after the last
  attempt), ``"daily 02:00"``, ``"weekly mon 02:00"``, ``"monthly 1 02:00"`` (clock
  times in WIB, Asia/Jakarta). A source never run is due at once; a failed source is
  tried again after its ``retry`` interval when that comes before the next scheduled
  time.
"""

from __future__ import annotations

import importlib
import re
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update

from tangguh.bank.base import Bank, LayerMeta, validate_layer_id
from tangguh.errors import FetchError, InputError, NotFoundError, TangguhError
from tangguh.services.tables.refresh import (
    tg_svc_notice,
    tg_svc_run,
    tg_svc_snapshot,
    tg_svc_source,
)

__all__ = [
    "LEVELS",
    "WIB",
    "Changes",
    "IndicatorFn",
    "Notice",
    "RunRecord",
    "Schedule",
    "ServiceSource",
    "Snapshot",
    "SourceOutcome",
    "SourceState",
    "acknowledge",
    "add_sources",
    "changes",
    "coverage_indicators",
    "due_sources",
    "feature_count_indicators",
    "get_run",
    "get_source",
    "indicator_catalogue",
    "list_sources",
    "load_sources",
    "next_wake",
    "notices",
    "parse_schedule",
    "parse_sources",
    "parse_when",
    "refresh",
    "remove_source",
    "run_due",
    "run_scheduler",
    "runs",
    "snapshot_at",
    "snapshot_times",
    "trend",
]

#: Jakarta time (WIB, UTC+7, no daylight saving): the zone of schedule clock times.
WIB = ZoneInfo("Asia/Jakarta")
#: Admin levels a snapshot holds, coarse to fine.
LEVELS = ("kota", "kecamatan", "kelurahan", "rw")
#: Columns of an indicator table (the long table a snapshot stores).
TABLE_COLUMNS = ("unit_id", "level", "indicator", "value")

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_AUTHOR = "tangguh services refresh"

#: An indicator computation: ``fn(bank, at)`` -> a long table (:data:`TABLE_COLUMNS`),
#: or an object with ``.table`` and optionally ``.underserved`` (unit_id, level, reasons),
#: such as :class:`tangguh.services.coverage.CoverageResult`.
IndicatorFn = Callable[[Bank, datetime], Any]


# -- schedules ----------------------------------------------------------------------------

_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DAYS = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "sen": 0, "sel": 1, "rab": 2, "kam": 3, "jum": 4, "sab": 5, "min": 6,
}  # fmt: skip
_INTERVAL = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_CLOCK = r"([01]?\d|2[0-3]):([0-5]\d)"
_DAILY = re.compile(rf"^daily\s+{_CLOCK}$")
_WEEKLY = re.compile(rf"^weekly\s+([a-z]{{3}})[a-z]*\s+{_CLOCK}$")
_MONTHLY = re.compile(rf"^monthly\s+(\d{{1,2}})\s+{_CLOCK}$")


@dataclass(frozen=True)
class Schedule:
    """When a source is due.

    Attributes
    ----------
    text:
        The schedule as written (normalised to lower case).
    kind:
        ``interval``, ``daily``, ``weekly`` or ``monthly``.
    every:
        The interval (``kind == "interval"``).
    at:
        Clock time in WIB (daily, weekly, monthly).
    weekday:
        0 = Monday … 6 = Sunday (weekly).
    day:
        Day of the month 1-28 (monthly).
    """

    text: str
    kind: Literal["interval", "daily", "weekly", "monthly"]
    every: timedelta | None = None
    at: clock | None = None
    weekday: int | None = None
    day: int | None = None

    def next_after(self, last: datetime) -> datetime:
        """The first due time strictly after ``last`` (UTC)."""
        if self.kind == "interval":
            assert self.every is not None
            return (last + self.every).astimezone(UTC)
        assert self.at is not None
        local = last.astimezone(WIB)
        if self.kind == "daily":
            cand = datetime.combine(local.date(), self.at, WIB)
            if cand <= local:
                cand += timedelta(days=1)
        elif self.kind == "weekly":
            assert self.weekday is not None
            ahead = (self.weekday - local.weekday()) % 7
            cand = datetime.combine(local.date() + timedelta(days=ahead), self.at, WIB)
            if cand <= local:
                cand += timedelta(days=7)
        else:
            assert self.day is not None
            cand = datetime.combine(local.date().replace(day=self.day), self.at, WIB)
            if cand <= local:
                year, month = (
                    (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
                )
                cand = cand.replace(year=year, month=month)
        return cand.astimezone(UTC)


def _schedule_error(text: str, where: str) -> InputError:
    return InputError(
        f"invalid schedule {text!r}",
        where=where,
        hint="use an interval like '30m', '6h', '1d', '2w', or a WIB clock time: "
        "'daily 02:00', 'weekly mon 02:00', 'monthly 1 02:00' (day 1-28)",
        message_id=f"jadwal {text!r} tidak sah",
        hint_id="gunakan selang waktu seperti '30m', '6h', '1d', '2w', atau jam WIB: "
        "'daily 02:00', 'weekly sen 02:00', 'monthly 1 02:00' (tanggal 1-28)",
    )


def parse_schedule(text: str, *, where: str = "schedule") -> Schedule:
    """Parse a schedule string (see the module docstring); InputError names ``where``."""
    if not isinstance(text, str):
        raise _schedule_error(str(text), where)
    norm = " ".join(text.strip().lower().split())
    if m := _INTERVAL.match(norm):
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
        if seconds < 60 or seconds > 366 * 86_400:
            raise _schedule_error(text, where)
        return Schedule(norm, "interval", every=timedelta(seconds=seconds))
    if m := _DAILY.match(norm):
        return Schedule(norm, "daily", at=clock(int(m.group(1)), int(m.group(2))))
    if (m := _WEEKLY.match(norm)) and m.group(1) in _DAYS:
        at = clock(int(m.group(2)), int(m.group(3)))
        return Schedule(norm, "weekly", at=at, weekday=_DAYS[m.group(1)])
    if (m := _MONTHLY.match(norm)) and 1 <= int(m.group(1)) <= 28:
        at = clock(int(m.group(2)), int(m.group(3)))
        return Schedule(norm, "monthly", at=at, day=int(m.group(1)))
    raise _schedule_error(text, where)


def parse_when(value: str | datetime | None, *, where: str) -> datetime | None:
    """A time from the user: ISO 8601, a date (its start), naive = WIB; returned in UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(
                f"unreadable time {value!r}",
                where=where,
                hint="use a date (2024-05-01) or an ISO 8601 time (2024-05-01T07:00+07:00); "
                "times without a zone are WIB",
                message_id=f"waktu {value!r} tidak terbaca",
                hint_id="gunakan tanggal (2024-05-01) atau waktu ISO 8601 "
                "(2024-05-01T07:00+07:00); waktu tanpa zona dianggap WIB",
            ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=WIB)
    return stamp.astimezone(UTC)


# -- sources ------------------------------------------------------------------------------

_READ_KEYS = {
    "layer", "crs", "rename", "types", "lon", "lat", "wkt", "encoding", "geometry_type",
    "on_invalid",
}  # fmt: skip
_META_KEYS = (
    "title_id", "title_en", "description_id", "description_en", "theme", "licence",
    "attribution",
)  # fmt: skip
_SOURCE_KEYS = {
    "url", "path", "layer", "kind", "schedule", "enabled", "key", "format", "retry",
    "sha256", "read", "allow_overlaps", "strict", *_META_KEYS,
}  # fmt: skip


@dataclass(frozen=True)
class ServiceSource:
    """A configured source: where the data is, the layer it feeds, when to pull it.

    Attributes
    ----------
    source_id:
        Name of the source (lower case, ``[a-z0-9._-]``).
    layer:
        Bank layer the source feeds (a new version per changed pull).
    schedule:
        When the source is due (:func:`parse_schedule`).
    url, path:
        Exactly one: an http(s) URL (downloaded with :mod:`tangguh.fetch`) or a file.
    kind:
        Service layer kind (``tps``, ``water_zones`` …) for the kind's checks.
    enabled:
        Disabled sources are listed but never run by the scheduler.
    key:
        Key column of the layer (rows with the same key are diffed as changed).
    format:
        File suffix to use when the URL has none (``geojson``, ``gpkg``, ``csv`` …).
    retry:
        After a failure, try again this soon (when before the next scheduled time).
    sha256:
        Pinned checksum of a URL's file (a different file fails the pull).
    read:
        Options of :func:`tangguh.io.vector.read_vector` (``crs``, ``rename``, …).
    meta:
        Catalogue fields of the layer (title_id/en, description_id/en, theme,
        licence, attribution).
    """

    source_id: str
    layer: str
    schedule: Schedule
    url: str | None = None
    path: str | None = None
    kind: str | None = None
    enabled: bool = True
    key: str | None = None
    format: str | None = None
    retry: Schedule | None = None
    sha256: str | None = None
    read: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    allow_overlaps: bool = False
    strict: bool = False

    def config(self) -> dict[str, Any]:
        """What is stored in ``tg_svc_source.config`` (besides the columns)."""
        return {
            "key": self.key,
            "format": self.format,
            "retry": self.retry.text if self.retry else None,
            "sha256": self.sha256,
            "read": self.read,
            "meta": self.meta,
            "allow_overlaps": self.allow_overlaps,
            "strict": self.strict,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "layer": self.layer,
            "kind": self.kind,
            "url": self.url,
            "path": self.path,
            "schedule": self.schedule.text,
            "enabled": self.enabled,
            **self.config(),
        }


def _bad(message: str, message_id: str, where: str, hint: str, hint_id: str) -> InputError:
    return InputError(message, where=where, hint=hint, message_id=message_id, hint_id=hint_id)


def _source_from_entry(source_id: str, entry: Any, where: str, base: Path | None) -> ServiceSource:
    here = f"{where} [sources.{source_id}]"
    if not _ID.match(source_id):
        raise _bad(
            f"invalid source name {source_id!r}",
            f"nama sumber {source_id!r} tidak sah",
            here,
            "use lower-case letters, digits, '.', '_' and '-' (at most 80 characters)",
            "gunakan huruf kecil, angka, '.', '_' dan '-' (paling banyak 80 karakter)",
        )
    if not isinstance(entry, dict):
        raise _bad(
            "a source must be a table",
            "sebuah sumber harus berupa tabel",
            here,
            "write [sources.NAME] with url or path, layer and schedule",
            "tulis [sources.NAME] dengan url atau path, layer dan schedule",
        )
    unknown = sorted(set(entry) - _SOURCE_KEYS)
    if unknown:
        raise _bad(
            f"unknown key(s) {', '.join(unknown)}",
            f"kunci tidak dikenal: {', '.join(unknown)}",
            here,
            f"allowed keys: {', '.join(sorted(_SOURCE_KEYS))}",
            f"kunci yang diizinkan: {', '.join(sorted(_SOURCE_KEYS))}",
        )
    for name in ("url", "path", "layer", "kind", "schedule", "key", "format", "retry", "sha256",
                 *_META_KEYS):  # fmt: skip
        if name in entry and not isinstance(entry[name], str):
            raise _bad(
                f"{name} must be a string",
                f"{name} harus berupa string",
                f"{here} {name}",
                f'write {name} = "…"',
                f'tulis {name} = "…"',
            )
    url = (entry.get("url") or "").strip() or None
    path = (entry.get("path") or "").strip() or None
    if (url is None) == (path is None):
        raise _bad(
            "a source needs exactly one of url and path",
            "sebuah sumber memerlukan tepat satu dari url dan path",
            here,
            'give url = "https://…" for a download or path = "…" for a file',
            'isi url = "https://…" untuk unduhan atau path = "…" untuk berkas',
        )
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad(
                f"url must be http(s): {url!r}",
                f"url harus http(s): {url!r}",
                f"{here} url",
                "give a full https:// URL, or use path for a local file",
                "berikan URL https:// lengkap, atau gunakan path untuk berkas lokal",
            )
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_absolute() and base is not None:
            p = base / p
        path = str(p.resolve())
    kind = (entry.get("kind") or "").strip() or None
    _check_kind(kind, f"{here} kind")
    layer = (entry.get("layer") or "").strip()
    if not layer and kind is not None:
        from tangguh.services.model import service_kind

        layer = service_kind(kind).layer_id
    if not layer:
        raise _bad(
            "missing layer",
            "layer belum diisi",
            f"{here} layer",
            'name the bank layer the source feeds, e.g. layer = "tps", or give its kind',
            'sebutkan lapisan bank yang diisi sumber ini, mis. layer = "tps", atau jenisnya',
        )
    try:
        validate_layer_id(layer)
    except InputError as exc:
        raise InputError(
            exc.message,
            where=f"{here} layer",
            hint=exc.hint,
            message_id=exc.message_id,
            hint_id=exc.hint_id,
        ) from None
    if "schedule" not in entry:
        raise _bad(
            "missing schedule",
            "schedule belum diisi",
            f"{here} schedule",
            'e.g. schedule = "1d" or schedule = "daily 02:00" (WIB)',
            'mis. schedule = "1d" atau schedule = "daily 02:00" (WIB)',
        )
    schedule = parse_schedule(entry["schedule"], where=f"{here} schedule")
    retry = None
    if entry.get("retry"):
        retry = parse_schedule(entry["retry"], where=f"{here} retry")
        if retry.kind != "interval":
            raise _schedule_error(entry["retry"], f"{here} retry")
    flags: dict[str, bool] = {}
    for name, default in (("enabled", True), ("allow_overlaps", False), ("strict", False)):
        value = entry.get(name, default)
        if not isinstance(value, bool):
            raise _bad(
                f"{name} must be true or false",
                f"{name} harus true atau false",
                f"{here} {name}",
                f"write {name} = {str(default).lower()}",
                f"tulis {name} = {str(default).lower()}",
            )
        flags[name] = value
    sha = (entry.get("sha256") or "").strip().lower() or None
    if sha is not None and not _SHA256.match(sha):
        raise _bad(
            "sha256 must be 64 hexadecimal digits",
            "sha256 harus terdiri atas 64 digit heksadesimal",
            f"{here} sha256",
            "compute it with `sha256sum FILE`, or leave it out for live files",
            "hitung dengan `sha256sum FILE`, atau hapus untuk berkas yang terus berubah",
        )
    read = entry.get("read", {})
    bad_read = sorted(set(read) - _READ_KEYS) if isinstance(read, dict) else ["read"]
    if bad_read:
        raise _bad(
            f"unknown read option(s) {', '.join(bad_read)}",
            f"opsi read tidak dikenal: {', '.join(bad_read)}",
            f"{here} read",
            f"[sources.{source_id}.read] allows {', '.join(sorted(_READ_KEYS))}",
            f"[sources.{source_id}.read] mengizinkan {', '.join(sorted(_READ_KEYS))}",
        )
    fmt = (entry.get("format") or "").strip().lstrip(".").lower() or None
    meta = {k: str(entry[k]) for k in _META_KEYS if entry.get(k)}
    return ServiceSource(
        source_id=source_id,
        layer=layer,
        schedule=schedule,
        url=url,
        path=path,
        kind=kind,
        enabled=flags["enabled"],
        key=(entry.get("key") or "").strip() or None,
        format=fmt,
        retry=retry,
        sha256=sha,
        read=dict(read),
        meta=meta,
        allow_overlaps=flags["allow_overlaps"],
        strict=flags["strict"],
    )


def _service_kinds() -> set[str] | None:
    """Kinds of :mod:`tangguh.services.model`, or None when the model is not available."""
    try:
        model = importlib.import_module("tangguh.services.model")
    except ImportError:
        return None
    kinds = getattr(model, "KINDS", None)
    return {str(k) for k in kinds} if isinstance(kinds, Mapping) else None


def _check_kind(kind: str | None, where: str) -> None:
    if kind is None:
        return
    known = _service_kinds()
    if known is not None and kind not in known:
        raise _bad(
            f"unknown service layer kind {kind!r}",
            f"jenis lapisan layanan {kind!r} tidak dikenal",
            where,
            f"use one of {', '.join(sorted(known))}, or leave kind out",
            f"gunakan salah satu dari {', '.join(sorted(known))}, atau hapus kind",
        )


def parse_sources(
    text: str, *, where: str = "<sources>", base: Path | None = None
) -> dict[str, ServiceSource]:
    """Parse a sources TOML text (``[sources.NAME]`` tables) into sources by name.

    Parameters
    ----------
    text:
        The TOML text.
    where:
        Name of the file, for messages.
    base:
        Folder that relative ``path`` values are resolved against.

    Raises
    ------
    InputError
        Invalid TOML, or a source with a missing/unknown key or a bad value (the
        message names the source and the field).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"invalid TOML: {exc}",
            where=where,
            hint="check quotes and [sources.NAME] headers",
            message_id=f"TOML tidak sah: {exc}",
            hint_id="periksa tanda kutip dan judul [sources.NAME]",
        ) from exc
    unknown = sorted(set(data) - {"sources"})
    tables = data.get("sources", {})
    if unknown or not isinstance(tables, dict):
        raise InputError(
            f"unknown top-level key(s) {', '.join(unknown) or 'sources'}",
            where=where,
            hint="put every source under [sources.NAME]",
            message_id=f"kunci tingkat atas tidak dikenal: {', '.join(unknown) or 'sources'}",
            hint_id="letakkan setiap sumber di bawah [sources.NAME]",
        )
    return {name: _source_from_entry(name, entry, where, base) for name, entry in tables.items()}


def load_sources(path: Path | str) -> dict[str, ServiceSource]:
    """Read a sources TOML file (relative paths are resolved against its folder)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read the sources file: {exc.strerror or exc}",
            where=str(path),
            hint="check the path of the TOML file",
            message_id=f"berkas sumber tidak dapat dibaca: {exc.strerror or exc}",
            hint_id="periksa path berkas TOML",
        ) from exc
    return parse_sources(text, where=str(path), base=path.resolve().parent)


@dataclass(frozen=True)
class SourceState:
    """A stored source with what the runs recorded about it."""

    source: ServiceSource
    created: datetime
    updated: datetime
    last_attempt: datetime | None
    last_status: str | None
    last_ok: datetime | None
    last_sha256: str | None
    last_version: int | None

    def next_due(self) -> datetime | None:
        """When the source is next due (None: never run, so due at once)."""
        if self.last_attempt is None:
            return None
        due = self.source.schedule.next_after(self.last_attempt)
        if self.last_status == "failed" and self.source.retry is not None:
            due = min(due, self.source.retry.next_after(self.last_attempt))
        return due

    def is_due(self, now: datetime) -> bool:
        due = self.next_due()
        return self.source.enabled and (due is None or due <= now)

    def to_json(self) -> dict[str, Any]:
        due = self.next_due()
        return {
            **self.source.to_json(),
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "last_attempt": _iso(self.last_attempt),
            "last_status": self.last_status,
            "last_ok": _iso(self.last_ok),
            "last_sha256": self.last_sha256,
            "last_version": self.last_version,
            "next_due": _iso(due),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _now() -> datetime:
    return datetime.now(UTC)


def _source_from_row(row: Any) -> SourceState:
    cfg = dict(row["config"] or {})
    where = f"tg_svc_source {row['source_id']}"
    retry = cfg.get("retry")
    src = ServiceSource(
        source_id=row["source_id"],
        layer=row["layer_id"],
        schedule=parse_schedule(row["schedule"], where=f"{where} schedule"),
        url=row["url"],
        path=row["path"],
        kind=row["kind"],
        enabled=bool(row["enabled"]),
        key=cfg.get("key"),
        format=cfg.get("format"),
        retry=parse_schedule(retry, where=f"{where} retry") if retry else None,
        sha256=cfg.get("sha256"),
        read=dict(cfg.get("read") or {}),
        meta=dict(cfg.get("meta") or {}),
        allow_overlaps=bool(cfg.get("allow_overlaps", False)),
        strict=bool(cfg.get("strict", False)),
    )
    return SourceState(
        source=src,
        created=row["created"],
        updated=row["updated"],
        last_attempt=row["last_attempt"],
        last_status=row["last_status"],
        last_ok=row["last_ok"],
        last_sha256=row["last_sha256"],
        last_version=row["last_version"],
    )


def add_sources(
    bank: Bank, sources: Mapping[str, ServiceSource] | Iterable[ServiceSource]
) -> list[str]:
    """Store sources (insert, or update the configuration of a known one; its state stays).

    All sources are written in one transaction. Returns the ids written.
    """
    items = list(sources.values()) if isinstance(sources, Mapping) else list(sources)
    now = _now()
    with bank.begin() as conn:
        for src in items:
            values = {
                "layer_id": src.layer,
                "kind": src.kind,
                "url": src.url,
                "path": src.path,
                "schedule": src.schedule.text,
                "enabled": src.enabled,
                "config": src.config(),
                "updated": now,
            }
            known = conn.execute(
                select(tg_svc_source.c.source_id).where(tg_svc_source.c.source_id == src.source_id)
            ).first()
            if known is None:
                conn.execute(
                    insert(tg_svc_source).values(source_id=src.source_id, created=now, **values)
                )
            else:
                conn.execute(
                    update(tg_svc_source)
                    .where(tg_svc_source.c.source_id == src.source_id)
                    .values(**values)
                )
    return [s.source_id for s in items]


def _unknown_source(source_id: str) -> NotFoundError:
    return NotFoundError(
        f"no configured source {source_id!r}",
        where="source",
        hint="list sources with `tangguh services sources list`",
        message_id=f"tidak ada sumber terkonfigurasi {source_id!r}",
        hint_id="lihat daftar sumber dengan `tangguh services sources list`",
    )


def remove_source(bank: Bank, source_id: str) -> None:
    """Forget a source (its layer, runs and snapshots stay)."""
    with bank.begin() as conn:
        gone = conn.execute(
            delete(tg_svc_source).where(tg_svc_source.c.source_id == source_id)
        ).rowcount
        if not gone:
            raise _unknown_source(source_id)


def list_sources(bank: Bank) -> list[SourceState]:
    """Stored sources, by id."""
    with bank.connect() as conn:
        rows = conn.execute(select(tg_svc_source).order_by(tg_svc_source.c.source_id)).mappings()
        return [_source_from_row(r) for r in rows]


def get_source(bank: Bank, source_id: str) -> SourceState:
    with bank.connect() as conn:
        row = (
            conn.execute(select(tg_svc_source).where(tg_svc_source.c.source_id == source_id))
            .mappings()
            .first()
        )
    if row is None:
        raise _unknown_source(source_id)
    return _source_from_row(row)


def due_sources(bank: Bank, now: datetime | None = None) -> list[SourceState]:
    """Enabled sources due at ``now`` (default: the current time)."""
    now = now or _now()
    return [s for s in list_sources(bank) if s.is_due(now)]


# -- indicators ---------------------------------------------------------------------------


def coverage_indicators(bank: Bank, at: datetime) -> Any:
    """The default indicators: :func:`tangguh.services.coverage.compute_coverage`."""
    try:
        from tangguh.services.coverage import compute_coverage
    except ImportError as exc:
        raise InputError(
            f"the coverage indicators are not available: {exc}",
            where="tangguh.services.coverage",
            hint="install a Tangguh version with tangguh.services.coverage",
            message_id=f"indikator cakupan tidak tersedia: {exc}",
            hint_id="pasang versi Tangguh yang memiliki tangguh.services.coverage",
        ) from exc
    return compute_coverage(bank, at=at)


def feature_count_indicators(layers: Sequence[str]) -> IndicatorFn:
    """Indicators ``count.<layer>``: features of each layer per unit (kota … RW).

    Each feature counts in the unit holding its representative point (the bank's
    cached points, a grid point-in-polygon join); coarser levels come from the
    hierarchy. Units with no feature get 0.
    """
    layer_ids = [validate_layer_id(layer) for layer in layers]

    def compute(bank: Bank, at: datetime) -> pd.DataFrame:
        from tangguh.admin.store import load_units
        from tangguh.admin.units import lookup_points

        del at  # counts describe the current layer versions
        units = load_units(bank)
        levels = [lv for lv in LEVELS if (units["level"] == lv).any()]
        parts = []
        for layer_id in layer_ids:
            if not bank.has_layer(layer_id):
                raise NotFoundError(
                    f"no layer {layer_id!r} to count",
                    where=f"indicator count.{layer_id}",
                    hint="import the layer or configure its source first",
                    message_id=f"tidak ada lapisan {layer_id!r} untuk dihitung",
                    hint_id="impor lapisan itu atau atur sumbernya terlebih dahulu",
                )
            pts = bank.layer_points(layer_id)
            xy = np.column_stack([pts.x, pts.y])
            found = lookup_points(units, xy, levels=levels)
            for level in levels:
                ids = units.loc[units["level"] == level, "unit_id"].astype(str)
                counts = found[level].dropna().astype(str).value_counts()
                values = counts.reindex(ids, fill_value=0).astype(float)
                parts.append(
                    pd.DataFrame(
                        {
                            "unit_id": ids.to_numpy(),
                            "level": level,
                            "indicator": f"count.{layer_id}",
                            "value": values.to_numpy(),
                        }
                    )
                )
        if not parts:
            return pd.DataFrame(columns=list(TABLE_COLUMNS))
        return pd.concat(parts, ignore_index=True)

    return compute


def _indicator_table(result: Any) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The long table and the underserved list of an indicator function's result."""
    table = result if isinstance(result, pd.DataFrame) else getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            "the indicator function returned no table",
            where="indicators",
            hint="return a DataFrame (unit_id, level, indicator, value) or an object with .table",
            message_id="fungsi indikator tidak menghasilkan tabel",
            hint_id="kembalikan DataFrame (unit_id, level, indicator, value) atau objek "
            "dengan .table",
        )
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"the indicator table lacks {', '.join(missing)}",
            where="indicators",
            hint="columns must be unit_id, level, indicator, value",
            message_id=f"tabel indikator tidak memiliki {', '.join(missing)}",
            hint_id="kolom harus unit_id, level, indicator, value",
        )
    table = table[list(TABLE_COLUMNS)].copy()
    table["value"] = pd.to_numeric(table["value"], errors="coerce").astype(float)
    table = table.drop_duplicates(["indicator", "unit_id"], keep="last")
    under: list[dict[str, Any]] = []
    frame = getattr(result, "underserved", None)
    if isinstance(frame, pd.DataFrame) and len(frame):
        for rec in frame.to_dict("records"):
            reasons = rec.get("reasons")
            if isinstance(reasons, np.ndarray):
                reasons = reasons.tolist()
            if not isinstance(reasons, (list, tuple)):
                reasons = [] if reasons is None else [reasons]
            under.append(
                {
                    "unit_id": str(rec.get("unit_id")),
                    "level": None if rec.get("level") is None else str(rec.get("level")),
                    "reasons": [r if isinstance(r, (str, dict)) else str(r) for r in reasons],
                }
            )
    return table, under


# -- runs ---------------------------------------------------------------------------------


@dataclass
class SourceOutcome:
    """What one source did in a run."""

    source_id: str
    layer: str
    status: Literal["ok", "failed"]
    changed: bool = False
    features_read: int = 0
    layer_version: int | None = None
    sha256: str | None = None
    from_cache: bool = False
    #: codes of the data flags the kind's checks raised (kept, not refused)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error_en: str | None = None
    error_id: str | None = None
    hint_en: str | None = None
    hint_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """One refresh run as stored in ``tg_svc_run``."""

    run_id: str
    started: datetime
    finished: datetime | None
    status: str
    trigger: str
    sources_ok: int
    sources_failed: int
    features_read: int
    layers_changed: int
    indicators: int
    snapshot_rows: int
    taken_at: datetime | None
    message_en: str | None
    message_id: str | None
    sources: list[dict[str, Any]]
    underserved: list[dict[str, Any]]
    timings: dict[str, float]

    @property
    def seconds(self) -> float | None:
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()

    def to_json(self, *, underserved: bool = False) -> dict[str, Any]:
        data = asdict(self)
        for k in ("started", "finished", "taken_at"):
            data[k] = _iso(data[k])
        data["seconds"] = self.seconds
        data["underserved_count"] = len(self.underserved)
        if not underserved:
            del data["underserved"]
        return data


def _run_from_row(row: Any) -> RunRecord:
    return RunRecord(
        run_id=row["run_id"],
        started=row["started"],
        finished=row["finished"],
        status=row["status"],
        trigger=row["trigger"],
        sources_ok=int(row["sources_ok"] or 0),
        sources_failed=int(row["sources_failed"] or 0),
        features_read=int(row["features_read"] or 0),
        layers_changed=int(row["layers_changed"] or 0),
        indicators=int(row["indicators"] or 0),
        snapshot_rows=int(row["snapshot_rows"] or 0),
        taken_at=row["taken_at"],
        message_en=row["message_en"],
        message_id=row["message_id"],
        sources=list(row["sources"] or []),
        underserved=list(row["underserved"] or []),
        timings=dict(row["timings"] or {}),
    )


class _Unchanged(Exception):
    """Raised inside a layer write that changed nothing, to roll it back."""


def _cache_root(cache_dir: Path | None) -> Path:
    import os

    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("TANGGUH_CACHE")
    return (Path(env) if env else Path.home() / ".cache" / "tangguh") / "services"


def _download(
    src: ServiceSource, cache_dir: Path, client: httpx.Client | None
) -> tuple[Path, str, bool]:
    """Download a URL source; returns (file, sha256, from_cache)."""
    from tangguh.fetch import Source, fetch, read_meta

    assert src.url is not None
    suffix = "".join(PurePosixPath(urlsplit(src.url).path).suffixes[-2:])
    if src.format:
        suffix = f".{src.format}"
    if not suffix:
        raise InputError(
            f"cannot tell the file type of {src.url!r}",
            where=f"source {src.source_id} url",
            hint='add format = "geojson" (or gpkg, csv, zip, fgb, parquet, kml) to the source',
            message_id=f"jenis berkas {src.url!r} tidak dapat ditentukan",
            hint_id='tambahkan format = "geojson" (atau gpkg, csv, zip, fgb, parquet, kml) '
            "pada sumber",
        )
    entry = Source(
        name=src.source_id,
        url=src.url,
        format=(src.format or suffix.lstrip(".")),
        licence=src.meta.get("licence", "unknown"),
        attribution=src.meta.get("attribution", src.url),
        description=src.meta.get("description_en", f"service source {src.source_id}"),
        sha256=src.sha256,
        filename=f"{src.source_id}{suffix}",
    )
    target = cache_dir / entry.cache_name
    meta = read_meta(target) or {}
    # With validators the server says whether the file changed (304 costs nothing);
    # without them the file is downloaded again and compared by its checksum.
    has_validators = bool(meta.get("etag") or meta.get("last_modified"))
    result = fetch(
        src.source_id,
        cache_dir=cache_dir,
        registry={src.source_id: entry},
        client=client,
        revalidate=True,
        force=not has_validators,
    )
    return result.path, result.sha256, result.from_cache


def _local_file(src: ServiceSource) -> tuple[Path, str]:
    from tangguh.fetch import file_sha256

    assert src.path is not None
    path = Path(src.path)
    if not path.is_file():
        raise FetchError(
            f"source file {path} does not exist",
            where=f"source {src.source_id} path",
            hint="check the path in the source configuration, or whether the share is mounted",
            message_id=f"berkas sumber {path} tidak ada",
            hint_id="periksa path di konfigurasi sumber, atau apakah folder bersama terpasang",
        )
    return path, file_sha256(path)


def _pull(
    bank: Bank,
    state: SourceState,
    *,
    cache_dir: Path,
    client: httpx.Client | None,
    run_id: str,
) -> SourceOutcome:
    """Re-pull one source into its layer; errors become a failed outcome."""
    from tangguh.io.vector import read_vector

    src = state.source
    out = SourceOutcome(src.source_id, src.layer, "ok")
    t0 = time.perf_counter()
    try:
        if src.url is not None:
            file, sha, out.from_cache = _download(src, cache_dir, client)
        else:
            file, sha = _local_file(src)
        out.sha256 = sha
        exists = bank.has_layer(src.layer)
        current = bank.layer(src.layer).current_version if exists else None
        if exists and sha == state.last_sha256 and current == state.last_version:
            out.layer_version = current
            return out
        frame, report = read_vector(file, **src.read)
        out.features_read = int(report.rows_read)
        meta = None
        if not exists or src.meta or src.kind is not None:
            meta = LayerMeta(
                title_id=src.meta.get("title_id"),
                title_en=src.meta.get("title_en"),
                description_id=src.meta.get("description_id"),
                description_en=src.meta.get("description_en"),
                theme=src.meta.get("theme", "services"),
                source=src.url or src.path,
                licence=src.meta.get("licence"),
                attribution=src.meta.get("attribution"),
                update_frequency=src.schedule.text,
            )
        try:
            message = f"refresh {run_id} from source {src.source_id}"
            with bank.transaction():
                if src.kind is not None:
                    # the kind's checks (columns, overlapping zones, households served
                    # above households living …) and its catalogue fields
                    from tangguh.services.importers import import_service_frame

                    imported = import_service_frame(
                        bank,
                        frame,
                        src.kind,
                        layer_id=src.layer,
                        allow_overlaps=src.allow_overlaps,
                        strict=src.strict,
                        meta=meta,
                        author=_AUTHOR,
                        message=message,
                        source=f"source {src.source_id}",
                    )
                    assert imported.version is not None
                    info = imported.version
                    out.flags = [f.code for f in imported.flags]
                else:
                    info = bank.write_layer(
                        src.layer, frame, meta, key=src.key, author=_AUTHOR, message=message
                    )
                if exists and info.added == info.changed == info.removed == 0:
                    raise _Unchanged
            out.changed = True
            out.layer_version = info.version
        except _Unchanged:
            out.layer_version = current
    except TangguhError as exc:
        out.status = "failed"
        out.error_en, out.hint_en = exc.text("en")
        out.error_id, out.hint_id = exc.text("id")
    except Exception as exc:  # a broken file or library error must not stop the run
        out.status = "failed"
        out.error_en = f"{type(exc).__name__}: {exc}"
        out.error_id = f"{type(exc).__name__}: {exc}"
        out.hint_en = "check the file of the source; the last good layer version was kept"
        out.hint_id = "periksa berkas sumber; versi lapisan terakhir yang baik tetap dipakai"
    finally:
        out.seconds = round(time.perf_counter() - t0, 4)
    return out


def refresh(
    bank: Bank,
    *,
    source_ids: Sequence[str] | None = None,
    now: datetime | None = None,
    trigger: str = "manual",
    indicators: IndicatorFn | None = None,
    cache_dir: Path | None = None,
    client: httpx.Client | None = None,
) -> RunRecord:
    """Run a refresh: pull the sources, recompute the indicators, store the snapshot.

    Parameters
    ----------
    bank:
        The bank.
    source_ids:
        Sources to pull (stored ones, enabled or not); ``None`` = every enabled source;
        an empty list recomputes the indicators only.
    now:
        The time of the run (tz-aware; default the clock): the run's start, the
        sources' last attempt and the snapshot's ``taken_at``.
    trigger:
        ``manual``, ``scheduler`` or ``api`` (recorded).
    indicators:
        ``fn(bank, at)`` computing the indicators (default :func:`coverage_indicators`).
    cache_dir:
        Download cache (default ``$TANGGUH_CACHE/services`` or ``~/.cache/tangguh/services``).
    client:
        An httpx client for downloads (proxies, tests).

    Returns
    -------
    RunRecord
        The stored run. Source failures do not raise: they are in the record, the
        run's status and the notices.
    """
    started = (now or _now()).astimezone(UTC)
    if now is not None and now.tzinfo is None:
        raise InputError(
            "the run time has no time zone",
            where="now",
            hint="give a tz-aware time, e.g. datetime.now(UTC)",
            message_id="waktu proses tidak memiliki zona waktu",
            hint_id="berikan waktu dengan zona, mis. datetime.now(UTC)",
        )
    stored = {s.source.source_id: s for s in list_sources(bank)}
    if source_ids is None:
        chosen = [s for s in stored.values() if s.source.enabled]
    else:
        missing = [sid for sid in source_ids if sid not in stored]
        if missing:
            raise _unknown_source(missing[0])
        chosen = [stored[sid] for sid in dict.fromkeys(source_ids)]
    fn = indicators or coverage_indicators
    run_id = started.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    clock0 = time.perf_counter()
    with bank.begin() as conn:
        conn.execute(
            insert(tg_svc_run).values(
                run_id=run_id, started=started, status="running", trigger=trigger
            )
        )
    cache = _cache_root(cache_dir)
    outcomes = [_pull(bank, s, cache_dir=cache, client=client, run_id=run_id) for s in chosen]
    t_sources = time.perf_counter() - clock0
    table: pd.DataFrame | None = None
    under: list[dict[str, Any]] = []
    ind_error: TangguhError | None = None
    t1 = time.perf_counter()
    try:
        table, under = _indicator_table(fn(bank, started))
    except TangguhError as exc:
        ind_error = exc
    except Exception as exc:
        ind_error = InputError(
            f"the indicators could not be computed: {type(exc).__name__}: {exc}",
            where="indicators",
            hint="check the service layers; the previous snapshot stays in force",
            message_id=f"indikator tidak dapat dihitung: {type(exc).__name__}: {exc}",
            hint_id="periksa lapisan layanan; snapshot sebelumnya tetap berlaku",
        )
    t_indicators = time.perf_counter() - t1
    ok = [o for o in outcomes if o.status == "ok"]
    failed = [o for o in outcomes if o.status == "failed"]
    if ind_error is not None or (outcomes and not ok):
        status = "failed"
    elif failed:
        status = "partial"
    else:
        status = "ok"
    message_en, message_id = _run_message(status, ok, failed, table, ind_error)
    t2 = time.perf_counter()
    rows = 0
    with bank.begin() as conn:
        if table is not None and len(table):
            records = [
                {
                    "run_id": run_id,
                    "taken_at": started,
                    "unit_id": str(r[0]),
                    "level": str(r[1]),
                    "indicator": str(r[2]),
                    "value": None if r[3] != r[3] else float(r[3]),
                }
                for r in table.itertuples(index=False, name=None)
            ]
            conn.execute(insert(tg_svc_snapshot), records)
            rows = len(records)
        for o in outcomes:
            values: dict[str, Any] = {"last_attempt": started, "last_status": o.status}
            if o.status == "ok":
                values.update(last_ok=started, last_sha256=o.sha256, last_version=o.layer_version)
            conn.execute(
                update(tg_svc_source)
                .where(tg_svc_source.c.source_id == o.source_id)
                .values(**values)
            )
        for o in failed:
            _notice(
                conn,
                started,
                o.source_id,
                run_id,
                f"source {o.source_id} failed; layer {o.layer} keeps its last good version: "
                f"{o.error_en}",
                f"sumber {o.source_id} gagal; lapisan {o.layer} tetap memakai versi terakhir "
                f"yang baik: {o.error_id}",
                o.hint_en,
                o.hint_id,
            )
        if ind_error is not None:
            hint_en = ind_error.text("en")[1]
            hint_id = ind_error.text("id")[1]
            _notice(
                conn,
                started,
                None,
                run_id,
                f"indicators not computed, no snapshot stored: {ind_error.text('en')[0]}",
                f"indikator tidak dihitung, snapshot tidak disimpan: {ind_error.text('id')[0]}",
                hint_en,
                hint_id,
            )
        finished = started + timedelta(seconds=time.perf_counter() - clock0)
        timings = {
            "sources": round(t_sources, 4),
            "indicators": round(t_indicators, 4),
            "store": round(time.perf_counter() - t2, 4),
        }
        conn.execute(
            update(tg_svc_run)
            .where(tg_svc_run.c.run_id == run_id)
            .values(
                finished=finished,
                status=status,
                sources_ok=len(ok),
                sources_failed=len(failed),
                features_read=sum(o.features_read for o in outcomes),
                layers_changed=len({o.layer for o in outcomes if o.changed}),
                indicators=0 if table is None else int(table["indicator"].nunique()),
                snapshot_rows=rows,
                taken_at=started if rows else None,
                message_en=message_en,
                message_id=message_id,
                sources=[o.to_json() for o in outcomes],
                underserved=under,
                timings=timings,
            )
        )
    return get_run(bank, run_id)


def _run_message(
    status: str,
    ok: list[SourceOutcome],
    failed: list[SourceOutcome],
    table: pd.DataFrame | None,
    ind_error: TangguhError | None,
) -> tuple[str, str]:
    changed = sum(1 for o in ok if o.changed)
    en = f"{len(ok)} source(s) ok ({changed} changed), {len(failed)} failed"
    id_ = f"{len(ok)} sumber berhasil ({changed} berubah), {len(failed)} gagal"
    if failed:
        names = ", ".join(o.source_id for o in failed)
        en += f" ({names}); their layers keep the last good version"
        id_ += f" ({names}); lapisannya tetap memakai versi terakhir yang baik"
    if ind_error is not None:
        en += f"; indicators failed: {ind_error.text('en')[0]}"
        id_ += f"; indikator gagal: {ind_error.text('id')[0]}"
    elif table is not None:
        n = int(table["indicator"].nunique())
        en += f"; {n} indicator(s) for {table['unit_id'].nunique()} units stored"
        id_ += f"; {n} indikator untuk {table['unit_id'].nunique()} wilayah disimpan"
    return en, id_


def _notice(
    conn: Connection,
    t: datetime,
    source_id: str | None,
    run_id: str,
    message_en: str,
    message_id: str,
    hint_en: str | None,
    hint_id: str | None,
) -> None:
    conn.execute(
        insert(tg_svc_notice).values(
            t=t,
            source_id=source_id,
            run_id=run_id,
            message_en=message_en,
            message_id=message_id,
            hint_en=hint_en,
            hint_id=hint_id,
            acknowledged=False,
        )
    )


def run_due(
    bank: Bank,
    now: datetime | None = None,
    *,
    indicators: IndicatorFn | None = None,
    cache_dir: Path | None = None,
    client: httpx.Client | None = None,
    trigger: str = "scheduler",
) -> RunRecord | None:
    """Run the sources due at ``now`` (one run for all of them); None when none is due."""
    now = now or _now()
    due = due_sources(bank, now)
    if not due:
        return None
    return refresh(
        bank,
        source_ids=[s.source.source_id for s in due],
        now=now,
        trigger=trigger,
        indicators=indicators,
        cache_dir=cache_dir,
        client=client,
    )


def next_wake(bank: Bank, now: datetime) -> datetime | None:
    """The earliest next due time of the enabled sources (None: no enabled source)."""
    times = []
    for s in list_sources(bank):
        if not s.source.enabled:
            continue
        due = s.next_due()
        times.append(now if due is None else due)
    return min(times) if times else None


def run_scheduler(
    bank: Bank,
    stop: Any,
    *,
    poll_seconds: float = 60.0,
    indicators: IndicatorFn | None = None,
    cache_dir: Path | None = None,
    on_run: Callable[[RunRecord], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> int:
    """Loop until ``stop`` (a :class:`threading.Event`) is set: run sources when due.

    Sleeps until the earliest next due time, at most ``poll_seconds`` (so sources added
    while it runs are seen). An unexpected error of one iteration is reported to
    ``on_error`` and the loop goes on. Returns the number of runs made.
    """
    count = 0
    while not stop.is_set():
        try:
            record = run_due(bank, _now(), indicators=indicators, cache_dir=cache_dir)
            if record is not None:
                count += 1
                if on_run is not None:
                    on_run(record)
            wake = next_wake(bank, _now())
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc)
            wake = None
        wait = poll_seconds
        if wake is not None:
            wait = max(0.0, min(poll_seconds, (wake - _now()).total_seconds()))
        stop.wait(wait if wait > 0 else 0.01)
    return count


# -- reading runs, notices and snapshots ------------------------------------------------------


def get_run(bank: Bank, run_id: str) -> RunRecord:
    with bank.connect() as conn:
        row = (
            conn.execute(select(tg_svc_run).where(tg_svc_run.c.run_id == run_id)).mappings().first()
        )
    if row is None:
        raise NotFoundError(
            f"no refresh run {run_id!r}",
            where="run_id",
            hint="list runs with `tangguh services runs`",
            message_id=f"tidak ada proses pembaruan {run_id!r}",
            hint_id="lihat daftar proses dengan `tangguh services runs`",
        )
    return _run_from_row(row)


def runs(
    bank: Bank, *, limit: int = 50, status: str | None = None, source_id: str | None = None
) -> list[RunRecord]:
    """Runs, newest first (optionally one status, or runs that pulled one source)."""
    query = select(tg_svc_run).order_by(tg_svc_run.c.started.desc())
    if status is not None:
        query = query.where(tg_svc_run.c.status == status)
    if source_id is None:
        query = query.limit(limit)
    with bank.connect() as conn:
        out = [_run_from_row(r) for r in conn.execute(query).mappings()]
    if source_id is not None:
        out = [r for r in out if any(s.get("source_id") == source_id for s in r.sources)][:limit]
    return out


@dataclass(frozen=True)
class Notice:
    """An operator notice (a failed source or failed indicators)."""

    notice_id: int
    t: datetime
    source_id: str | None
    run_id: str | None
    message_en: str
    message_id: str
    hint_en: str | None
    hint_id: str | None
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["t"] = self.t.isoformat()
        data["acknowledged_at"] = _iso(self.acknowledged_at)
        return data


def notices(bank: Bank, *, open_only: bool = True, limit: int = 200) -> list[Notice]:
    """Operator notices, newest first (only unacknowledged ones unless ``open_only=False``)."""
    query = select(tg_svc_notice).order_by(
        tg_svc_notice.c.t.desc(), tg_svc_notice.c.notice_id.desc()
    )
    if open_only:
        query = query.where(tg_svc_notice.c.acknowledged.is_(False))
    with bank.connect() as conn:
        rows = conn.execute(query.limit(limit)).mappings().all()
    fields_ = [k for k in Notice.__dataclass_fields__ if k != "acknowledged"]
    return [
        Notice(**{k: r[k] for k in fields_}, acknowledged=bool(r["acknowledged"])) for r in rows
    ]


def acknowledge(bank: Bank, notice_id: int, *, by: str) -> Notice:
    """Mark a notice as seen by ``by``."""
    with bank.begin() as conn:
        done = conn.execute(
            update(tg_svc_notice)
            .where(tg_svc_notice.c.notice_id == notice_id)
            .values(acknowledged=True, acknowledged_by=by, acknowledged_at=_now())
        ).rowcount
    if not done:
        raise NotFoundError(
            f"no notice {notice_id}",
            where="notice_id",
            hint="list notices with `tangguh services notices --all`",
            message_id=f"tidak ada pemberitahuan {notice_id}",
            hint_id="lihat daftar pemberitahuan dengan `tangguh services notices --all`",
        )
    return next(
        n for n in notices(bank, open_only=False, limit=100_000) if n.notice_id == notice_id
    )


@dataclass(frozen=True)
class Snapshot:
    """The indicators of one run."""

    run_id: str
    taken_at: datetime
    table: pd.DataFrame
    underserved: list[dict[str, Any]] = field(default_factory=list)


def snapshot_times(bank: Bank) -> pd.DataFrame:
    """Runs that stored a snapshot: run_id, taken_at (UTC), status, oldest first."""
    query = (
        select(tg_svc_run.c.run_id, tg_svc_run.c.taken_at, tg_svc_run.c.status)
        .where(tg_svc_run.c.snapshot_rows > 0)
        .order_by(tg_svc_run.c.taken_at)
    )
    with bank.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(
        [(r[0], pd.Timestamp(r[1]), r[2]) for r in rows], columns=["run_id", "taken_at", "status"]
    )


def _run_in_force(conn: Connection, at: datetime | None) -> Any:
    query = select(tg_svc_run.c.run_id, tg_svc_run.c.taken_at, tg_svc_run.c.underserved).where(
        tg_svc_run.c.snapshot_rows > 0
    )
    if at is not None:
        query = query.where(tg_svc_run.c.taken_at <= at)
    query = query.order_by(tg_svc_run.c.taken_at.desc()).limit(1)
    return conn.execute(query).mappings().first()


def _snapshot_rows(
    conn: Connection, run_id: str, level: str | None, indicator: str | None
) -> pd.DataFrame:
    t = tg_svc_snapshot
    query = select(t.c.unit_id, t.c.level, t.c.indicator, t.c.value).where(t.c.run_id == run_id)
    if level is not None:
        query = query.where(t.c.level == level)
    if indicator is not None:
        query = query.where(t.c.indicator == indicator)
    rows = conn.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(TABLE_COLUMNS))
    frame["value"] = frame["value"].astype(float)
    return frame.sort_values(["indicator", "level", "unit_id"], ignore_index=True)


def snapshot_at(
    bank: Bank,
    at: datetime | None = None,
    *,
    level: str | None = None,
    indicator: str | None = None,
) -> Snapshot | None:
    """The snapshot in force at ``at`` (the latest taken at or before it; default: latest).

    None when no snapshot was taken by then.
    """
    with bank.connect() as conn:
        run = _run_in_force(conn, at)
        if run is None:
            return None
        table = _snapshot_rows(conn, run["run_id"], level, indicator)
    under = list(run["underserved"] or [])
    if level is not None:
        under = [u for u in under if u.get("level") in (None, level)]
    return Snapshot(run["run_id"], run["taken_at"], table, under)


@dataclass(frozen=True)
class Changes:
    """Differences between two snapshots per unit and indicator."""

    before: Snapshot
    after: Snapshot
    #: unit_id, level, indicator, before, after, delta, abs_delta; by abs_delta, largest first
    table: pd.DataFrame
    since: datetime | None = None

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        rows = self.table if limit is None else self.table.head(limit)
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        return {
            "since": _iso(self.since),
            "before": {"run_id": self.before.run_id, "taken_at": self.before.taken_at.isoformat()},
            "after": {"run_id": self.after.run_id, "taken_at": self.after.taken_at.isoformat()},
            "count": len(self.table),
            "changes": records,
        }


def changes(
    bank: Bank,
    since: datetime | None = None,
    *,
    until: datetime | None = None,
    level: str | None = None,
    indicator: str | None = None,
    include_unchanged: bool = False,
) -> Changes | None:
    """What changed between the snapshot in force at ``since`` and the one at ``until``.

    ``since`` defaults to one calendar month (in WIB) before the later snapshot: "what
    changed since last month". When no snapshot was in force at ``since`` yet, the
    earliest snapshot is the base. Rows: units and indicators whose value differs
    (a unit present in only one snapshot has a missing ``before`` or ``after``),
    sorted by the size of the change. None when the bank holds no snapshot.
    """
    with bank.connect() as conn:
        after_run = _run_in_force(conn, until)
        if after_run is None:
            return None
        if since is None:
            local = pd.Timestamp(after_run["taken_at"]).tz_convert(WIB)
            since = (local - pd.DateOffset(months=1)).to_pydatetime().astimezone(UTC)
        before_run = _run_in_force(conn, since)
        if before_run is None:
            first = (
                conn.execute(
                    select(tg_svc_run.c.run_id, tg_svc_run.c.taken_at, tg_svc_run.c.underserved)
                    .where(tg_svc_run.c.snapshot_rows > 0)
                    .order_by(tg_svc_run.c.taken_at)
                    .limit(1)
                )
                .mappings()
                .first()
            )
            assert first is not None
            before_run = first
        a = _snapshot_rows(conn, before_run["run_id"], level, indicator)
        b = _snapshot_rows(conn, after_run["run_id"], level, indicator)
    keys = ["unit_id", "level", "indicator"]
    merged = a.rename(columns={"value": "before"}).merge(
        b.rename(columns={"value": "after"}), on=keys, how="outer"
    )
    merged["delta"] = merged["after"] - merged["before"]
    merged["abs_delta"] = merged["delta"].abs()
    one_sided = merged["before"].isna() != merged["after"].isna()
    if not include_unchanged:
        merged = merged[(merged["abs_delta"] > 1e-12) | one_sided]
    merged = merged.sort_values(
        ["abs_delta", "indicator", "unit_id"], ascending=[False, True, True], na_position="last"
    ).reset_index(drop=True)
    before = Snapshot(before_run["run_id"], before_run["taken_at"], a)
    after = Snapshot(after_run["run_id"], after_run["taken_at"], b)
    return Changes(before, after, merged, since)


def trend(
    bank: Bank,
    unit_id: str,
    indicator: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The time series of one unit's indicator: taken_at (UTC), run_id, value."""
    t = tg_svc_snapshot
    query = (
        select(t.c.taken_at, t.c.run_id, t.c.value)
        .where(t.c.unit_id == unit_id, t.c.indicator == indicator)
        .order_by(t.c.taken_at)
    )
    if start is not None:
        query = query.where(t.c.taken_at >= start)
    if end is not None:
        query = query.where(t.c.taken_at <= end)
    with bank.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(
        [(pd.Timestamp(r[0]), r[1], r[2]) for r in rows], columns=["taken_at", "run_id", "value"]
    )
    frame["value"] = frame["value"].astype(float)
    return frame


def indicator_ids(bank: Bank) -> list[str]:
    """Indicator ids present in any snapshot."""
    with bank.connect() as conn:
        return [
            str(r[0])
            for r in conn.execute(
                select(tg_svc_snapshot.c.indicator).distinct().order_by(tg_svc_snapshot.c.indicator)
            )
        ]


_UNIT_ID = {
    "people": "jiwa",
    "households": "rumah tangga",
    "incidents": "kejadian",
    "per week": "per minggu",
    "features": "fitur",
}


def _coverage_catalogue() -> dict[str, dict[str, str]]:
    """Titles and units the coverage module publishes (``INDICATORS``), if any."""
    try:
        coverage = importlib.import_module("tangguh.services.coverage")
    except ImportError:
        return {}
    raw = getattr(coverage, "INDICATORS", None)
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, dict[str, str]] = {}
    for key, value in raw.items():
        data = value.to_json() if hasattr(value, "to_json") else value
        if not isinstance(data, Mapping):
            continue
        unit = str(data.get("unit") or "")
        out[str(key)] = {
            "title_en": str(data.get("title_en") or data.get("en") or key),
            "title_id": str(data.get("title_id") or data.get("id_text") or key),
            "unit_en": unit,
            "unit_id": _UNIT_ID.get(unit, unit),
        }
    return out


def _describe(ind: str, published: Mapping[str, dict[str, str]]) -> dict[str, str]:
    if ind in published:
        return dict(published[ind])
    for key, info in published.items():
        if "<layer>" not in key:
            continue
        head, tail = key.split("<layer>", 1)
        m = re.fullmatch(re.escape(head) + r"([a-z0-9_]+?)" + re.escape(tail), ind)
        if m:
            return {k: v.replace("<layer>", m.group(1)) for k, v in info.items()}
    if ind.startswith("count."):
        layer = ind.split(".", 1)[1]
        return {
            "title_en": f"number of {layer} features",
            "title_id": f"jumlah fitur {layer}",
            "unit_en": "features",
            "unit_id": "fitur",
        }
    unit = "%" if ind.endswith("_pct") else ""
    return {"title_en": ind, "title_id": ind, "unit_en": unit, "unit_id": unit}


def indicator_catalogue(bank: Bank) -> list[dict[str, Any]]:
    """Indicators in snapshots or published by the coverage module, with titles and units.

    Each: ``id``, ``title_id``, ``title_en``, ``unit_id``/``unit_en`` (measurement unit
    in Bahasa Indonesia / English, e.g. ``rumah tangga`` / ``households``),
    ``in_snapshots``. Templates such as ``access.<layer>_pct`` describe the stored
    ids they match (``access.hospitals_pct``).
    """
    published = _coverage_catalogue()
    stored = set(indicator_ids(bank))
    ids = stored | {k for k in published if "<layer>" not in k}
    return [
        {"id": ind, **_describe(ind, published), "in_snapshots": ind in stored}
        for ind in sorted(ids)
    ]
