"""Accept observations: validate, QC, store in one transaction, hand on to the chain.

:func:`accept` is the one door for readings from every source (push API, MQTT, pollers,
the CLI). Each reading is either

* **rejected** with a reason in English and Bahasa Indonesia (unknown station, missing
  or unreadable field, time without a zone, time in the future beyond a tolerance,
  value that is not a finite number, unit other than the parameter's, or a different
  value for a time already stored),
* **ignored as a duplicate** (same station, parameter and time already stored with the
  same value, or repeated in the batch), or
* **accepted**: QC'd against the stored readings around it (:mod:`tangguh.warning.qc`)
  and stored with its flag in ``quality``. Flagged readings are stored, never dropped.

A different value for a stored time is *rejected*, not applied: a push never silently
rewrites history. Corrections go through ``tangguh obs import`` (a deliberate bulk
upsert).

A reading older than the latest stored one of its station and parameter (**late**,
out of order) is stored and QC'd against both of its neighbours, but handed to
``on_accepted`` with ``quality="late"`` (unless QC flagged it) so the rule engine does
not re-trigger on old news. The flag in the bank is the QC result, so a replay over
the stored series sees it as an ordinary reading.

All accepted readings (and revised flags of neighbouring stored readings) are written in
ONE transaction; then ``on_accepted(bank, readings)`` runs with the accepted readings as
:class:`tangguh.warning.model.Reading` with ``quality`` set.

Push keys (``tg_ingest_key``): :func:`create_key` returns the plain key once; only its
SHA-256 hash is stored. :func:`verify_key` checks a key (and its station scope);
:func:`push` = verify + accept for an HTTP JSON body.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, update

from tangguh.bank import _schema as S
from tangguh.bank.base import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.warning import qc
from tangguh.warning.model import Reading
from tangguh.warning.tables.obs import tg_ingest_key

__all__ = [
    "DEFAULT_UNITS",
    "IngestReport",
    "KeyError_",
    "OnAccepted",
    "Rejection",
    "accept",
    "create_key",
    "list_keys",
    "push",
    "records_from_payload",
    "revoke_key",
    "verify_key",
]

#: Expected unit per parameter; a reading without a unit gets this one.
DEFAULT_UNITS: dict[str, str] = {
    "water_level": "cm",
    "tide_level": "cm",
    "rainfall": "mm",
    "discharge": "m3/s",
}
#: Time a reading may lie in the future (clock skew of field devices).
FUTURE_TOLERANCE = timedelta(minutes=5)
_PARAMETER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RESERVED = frozenset({"station_id", "t", "parameter", "value", "unit", "source", "quality"})

OnAccepted = Callable[[Bank, list[Reading]], object]


class KeyError_(InputError):
    """A push key is missing, unknown, revoked or not valid for the station.

    ``status`` is the HTTP status the API answers with (401, or 403 for a station
    outside the key's scope).
    """

    def __init__(self, *args: Any, status: int = 401, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status = status


@dataclass(frozen=True)
class Rejection:
    """A reading that was not stored, and why."""

    row: int
    code: str
    reason_en: str
    reason_id: str
    station_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "code": self.code,
            "station_id": self.station_id,
            "reason_en": self.reason_en,
            "reason_id": self.reason_id,
        }


@dataclass
class IngestReport:
    """What :func:`accept` did with a batch."""

    source: str
    received: int = 0
    #: stored (ok and flagged)
    accepted: int = 0
    #: stored with a QC flag
    flagged: int = 0
    duplicates: int = 0
    #: accepted readings older than the latest stored one (not re-triggering rules)
    late: int = 0
    #: stored neighbours whose spike flag QC revised now that their neighbour arrived
    revised: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    #: QC reasons of the flagged readings: {row, station_id, t, quality, reason_en, reason_id}
    flags: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "received": self.received,
            "accepted": self.accepted,
            "flagged": self.flagged,
            "duplicates": self.duplicates,
            "late": self.late,
            "revised": self.revised,
            "rejected": [r.to_json() for r in self.rejected],
            "flags": self.flags,
        }


# -- parsing -------------------------------------------------------------------------------


def _reject(row: int, code: str, en: str, id_: str, station: Any = None) -> Rejection:
    return Rejection(row, code, en, id_, None if station is None else str(station))


def _parse_time(raw: Any) -> datetime | tuple[str, str, str]:
    """A UTC datetime, or (code, en, id) of the problem."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ("missing_time", "time t is missing", "waktu t tidak ada")
    if isinstance(raw, pd.Timestamp):
        value: datetime = raw.to_pydatetime()
    elif isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            return (
                "bad_time",
                f"time {raw!r} is not ISO 8601",
                f"waktu {raw!r} bukan ISO 8601",
            )
    else:
        return ("bad_time", f"time {raw!r} is not a time", f"waktu {raw!r} bukan waktu")
    if value.tzinfo is None or value.utcoffset() is None:
        return (
            "naive_time",
            f"time {value.isoformat()} has no time zone (give e.g. +07:00 for WIB)",
            f"waktu {value.isoformat()} tidak memiliki zona waktu (berikan mis. +07:00 untuk WIB)",
        )
    return value.astimezone(UTC)


def _parse_value(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float | np.integer | np.floating):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if math.isfinite(value) else None


def records_from_payload(payload: Any) -> list[dict[str, Any] | None]:
    """Readings from a JSON body: one object or a list of objects.

    Each object is ``{"station_id", "parameter", "t", "value"[, "unit"]}`` or the short
    form ``{"station_id", "t", "water_level": 123}``, where every key other than
    station_id, t, unit and source is a parameter (one reading each). An item that is
    not an object gives ``None`` (rejected by :func:`accept` with its row).
    """
    items = payload if isinstance(payload, list) else [payload]
    out: list[dict[str, Any] | None] = []
    for item in items:
        if not isinstance(item, Mapping):
            out.append(None)
            continue
        if "parameter" in item or "value" in item:
            out.append(dict(item))
            continue
        params = [k for k in item if k not in _RESERVED]
        if not params:
            out.append({**item, "parameter": None, "value": None})
        for name in params:
            rec = {k: item[k] for k in ("station_id", "t", "unit", "source") if k in item}
            out.append({**rec, "parameter": name, "value": item[name]})
    return out


def _records(readings: Sequence[Reading] | pd.DataFrame | Iterable[Any]) -> list[Any]:
    if isinstance(readings, pd.DataFrame):
        frame = readings.astype(object).where(readings.notna(), None)
        return list(frame.to_dict("records"))
    out: list[Any] = []
    for item in readings:
        if isinstance(item, Reading):
            out.append(
                {
                    "station_id": item.station_id,
                    "parameter": item.parameter,
                    "t": item.t,
                    "value": item.value,
                    "unit": item.unit,
                }
            )
        else:
            out.append(item)
    return out


# -- accept --------------------------------------------------------------------------------


@dataclass
class _Candidate:
    row: int
    station_id: str
    parameter: str
    t: datetime
    value: float
    unit: str | None


def _validate(
    records: list[Any], known: set[str], now: datetime, tolerance: timedelta, report: IngestReport
) -> list[_Candidate]:
    out: list[_Candidate] = []
    seen: dict[tuple[str, str, datetime], float] = {}
    for row, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            report.rejected.append(
                _reject(row, "not_object", "the reading is not an object", "bacaan bukan objek")
            )
            continue
        sid = rec.get("station_id")
        if sid is None or str(sid).strip() == "":
            report.rejected.append(
                _reject(row, "missing_station", "station_id is missing", "station_id tidak ada")
            )
            continue
        sid = str(sid)
        if sid not in known:
            report.rejected.append(
                _reject(
                    row,
                    "unknown_station",
                    f"unknown station {sid!r}: register it first",
                    f"stasiun {sid!r} tidak dikenal: daftarkan terlebih dahulu",
                    sid,
                )
            )
            continue
        parameter = rec.get("parameter")
        if not isinstance(parameter, str) or not _PARAMETER.match(parameter):
            report.rejected.append(
                _reject(
                    row,
                    "bad_parameter",
                    f"parameter {parameter!r} is missing or not a lower-case name",
                    f"parameter {parameter!r} tidak ada atau bukan nama huruf kecil",
                    sid,
                )
            )
            continue
        t = _parse_time(rec.get("t"))
        if isinstance(t, tuple):
            report.rejected.append(_reject(row, t[0], t[1], t[2], sid))
            continue
        if t > now + tolerance:
            report.rejected.append(
                _reject(
                    row,
                    "future_time",
                    f"time {t.isoformat()} is in the future (now {now.isoformat()})",
                    f"waktu {t.isoformat()} ada di masa depan (sekarang {now.isoformat()})",
                    sid,
                )
            )
            continue
        value = _parse_value(rec.get("value"))
        if value is None:
            report.rejected.append(
                _reject(
                    row,
                    "not_numeric",
                    f"value {rec.get('value')!r} is not a finite number",
                    f"nilai {rec.get('value')!r} bukan angka yang sah",
                    sid,
                )
            )
            continue
        unit = rec.get("unit")
        unit = None if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
        expected = DEFAULT_UNITS.get(parameter)
        if unit is None:
            unit = expected
        elif expected is not None and unit != expected:
            report.rejected.append(
                _reject(
                    row,
                    "bad_unit",
                    f"unit {unit!r} for {parameter}: send {expected!r}",
                    f"satuan {unit!r} untuk {parameter}: kirim dalam {expected!r}",
                    sid,
                )
            )
            continue
        key = (sid, parameter, t)
        if key in seen:
            if seen[key] == value:
                report.duplicates += 1
            else:
                report.rejected.append(
                    _reject(
                        row,
                        "conflict",
                        f"another value for {sid} {parameter} at {t.isoformat()} in this batch",
                        f"nilai lain untuk {sid} {parameter} pada {t.isoformat()} dalam kiriman "
                        "ini",
                        sid,
                    )
                )
            continue
        seen[key] = value
        out.append(_Candidate(row, sid, parameter, t, value, unit))
    return out


def _neighbour_times(stored: pd.Series, new: Iterable[pd.Timestamp]) -> set[pd.Timestamp]:
    """Stored times right before and after each new time."""
    values = stored.sort_values().reset_index(drop=True)
    out: set[pd.Timestamp] = set()
    for t in new:
        i = int(values.searchsorted(t))
        if i > 0:
            out.add(values.iloc[i - 1])
        if i < len(values):
            j = i + 1 if values.iloc[i] == t else i
            if j < len(values):
                out.add(values.iloc[j])
    return out


def accept(
    bank: Bank,
    readings: Sequence[Reading] | pd.DataFrame | Iterable[Any],
    *,
    source: str,
    now: datetime | None = None,
    on_accepted: OnAccepted | None = None,
    config: qc.QCConfig | None = None,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
) -> IngestReport:
    """Validate, QC and store readings; return what happened to each.

    Parameters
    ----------
    bank:
        The bank (stations must be registered in it).
    readings:
        :class:`Reading` objects, a frame (station_id, parameter, t, value[, unit]) or
        dicts (see :func:`records_from_payload`).
    source:
        Stored in the ``source`` column (``mqtt``, ``dsda``, a push key's source …).
    now:
        The current time (tz-aware); readings after ``now + future_tolerance`` are rejected.
    on_accepted:
        Called after the commit with the accepted readings (``quality`` set; late
        readings carry ``late`` unless QC flagged them).
    config:
        QC settings (defaults: :class:`tangguh.warning.qc.QCConfig`).
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError(
            "`now` has no time zone",
            hint="give a tz-aware time",
            message_id="`now` tidak memiliki zona waktu",
            hint_id="berikan waktu dengan zona waktu",
        )
    config = config or qc.QCConfig()
    records = _records(readings)
    report = IngestReport(source=source, received=len(records))
    ids = sorted(
        {str(r["station_id"]) for r in records if isinstance(r, Mapping) and r.get("station_id")}
    )
    attrs = qc.station_attributes(bank, ids) if ids else {}
    candidates = _validate(records, set(attrs), now.astimezone(UTC), future_tolerance, report)
    if not candidates:
        return report

    cand = pd.DataFrame(
        {
            "row": [c.row for c in candidates],
            "station_id": [c.station_id for c in candidates],
            "parameter": [c.parameter for c in candidates],
            "t": pd.to_datetime([c.t for c in candidates], utc=True).as_unit("us"),
            "value": [c.value for c in candidates],
            "unit": [c.unit for c in candidates],
        }
    )
    span = config.history_span()
    with bank.transaction(), bank.connect() as conn:
        # Latest stored time per station and parameter (for late readings).
        o = S.tg_observation
        latest_q = (
            select(o.c.station_id, o.c.parameter, func.max(o.c.t))
            .where(o.c.station_id.in_(sorted(set(cand["station_id"]))))
            .group_by(o.c.station_id, o.c.parameter)
        )
        latest = {(str(r[0]), str(r[1])): pd.Timestamp(r[2]) for r in conn.execute(latest_q)}
        histories = []
        keep = np.ones(len(cand), dtype=bool)
        late = np.zeros(len(cand), dtype=bool)
        neighbours: dict[tuple[str, str], set[pd.Timestamp]] = {}
        for (sid, parameter), group in cand.groupby(["station_id", "parameter"], sort=False):
            sid, parameter = str(sid), str(parameter)
            hist = bank.observations(
                sid,
                start=group["t"].min() - span,
                end=group["t"].max() + span + pd.Timedelta(microseconds=1),
                parameter=parameter,
            )
            stored = dict(zip(hist["t"], hist["value"], strict=True))
            for i, t, value in zip(group.index, group["t"], group["value"], strict=True):
                if t in stored:
                    keep[i] = False
                    old = stored[t]
                    if old == value or (
                        not (old is None or math.isnan(old)) and math.isclose(old, value)
                    ):
                        report.duplicates += 1
                    else:
                        report.rejected.append(
                            _reject(
                                int(cand["row"].iloc[i]),
                                "conflict",
                                f"{sid} {parameter} at {t.isoformat()} is stored with value "
                                f"{old:g}, not {value:g}; correct it with `tangguh obs import`",
                                f"{sid} {parameter} pada {t.isoformat()} tersimpan dengan nilai "
                                f"{old:g}, bukan {value:g}; koreksi dengan `tangguh obs import`",
                                sid,
                            )
                        )
                elif (sid, parameter) in latest and t < latest[(sid, parameter)]:
                    late[i] = True
            new_times = group["t"][keep[group.index]]
            neighbours[(sid, parameter)] = _neighbour_times(hist["t"], new_times)
            histories.append(hist)
        good = cand[keep].copy()
        good_late = late[keep]
        if len(good) == 0:
            report.rejected.sort(key=lambda r: r.row)
            return report
        history = pd.concat(histories, ignore_index=True) if histories else None
        checked, rechecked = qc.evaluate(good, history, config, stations=attrs)

        # Revise the spike flag of stored neighbours that the new readings decide.
        revised = []
        for rec in rechecked.to_dict("records"):
            near = neighbours.get((str(rec["station_id"]), str(rec["parameter"])), set())
            if rec["t"] not in near:
                continue
            old_q = rec.get("quality_stored")
            new_q = rec["quality"]
            if (old_q == "spike" and new_q == qc.OK) or (qc.is_ok(old_q) and new_q == "spike"):
                revised.append(rec)

        frame = pd.DataFrame(
            {
                "station_id": checked["station_id"].to_numpy(),
                "parameter": checked["parameter"].to_numpy(),
                "t": checked["t"].to_numpy(),
                "value": checked["value"].to_numpy(float),
                "unit": checked["unit"].to_numpy(),
                "quality": checked["quality"].to_numpy(),
                "source": source,
            }
        )
        if revised:
            rev = pd.DataFrame(revised)
            frame = pd.concat(
                [
                    frame,
                    pd.DataFrame(
                        {
                            "station_id": rev["station_id"],
                            "parameter": rev["parameter"],
                            "t": pd.to_datetime(rev["t"], utc=True),
                            "value": rev["value"].astype(float),
                            "unit": rev["unit"],
                            "quality": rev["quality"],
                            "source": rev["source"],
                        }
                    ),
                ],
                ignore_index=True,
            )
        frame["t"] = pd.to_datetime(frame["t"], utc=True)
        bank.write_observations(frame)

    report.revised = len(revised)
    report.accepted = len(checked)
    accepted: list[Reading] = []
    for rec, is_late in zip(checked.to_dict("records"), good_late, strict=True):
        quality = str(rec["quality"])
        if quality != qc.OK:
            report.flagged += 1
            report.flags.append(
                {
                    "row": int(rec["row"]),
                    "station_id": rec["station_id"],
                    "t": rec["t"].isoformat(),
                    "quality": quality,
                    "reason_en": rec["qc_reason"],
                    "reason_id": rec["qc_reason_id"],
                }
            )
        if is_late:
            report.late += 1
            if quality == qc.OK:
                quality = "late"
        accepted.append(
            Reading(
                station_id=str(rec["station_id"]),
                parameter=str(rec["parameter"]),
                t=rec["t"].to_pydatetime(),
                value=float(rec["value"]),
                unit=rec["unit"],
                source=source,
                quality=quality,
            )
        )
    report.readings = accepted
    report.rejected.sort(key=lambda r: r.row)
    if on_accepted is not None and accepted:
        on_accepted(bank, accepted)
    return report


# -- push keys -----------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    bank: Bank, source: str, station_id: str | None = None, *, note: str | None = None
) -> str:
    """Create a push key for ``source`` (optionally only for ``station_id``).

    Returns the plain key, ``tgk_<key id>_<secret>``: show it once, it is not stored
    (only its SHA-256 hash is).
    """
    if not source or len(source) > 128:
        raise InputError(
            "the source name is empty or longer than 128 characters",
            where="source",
            hint="name the sender, e.g. 'sensor-ciliwung' or 'bpbd-app'",
            message_id="nama sumber kosong atau lebih dari 128 karakter",
            hint_id="beri nama pengirim, mis. 'sensor-ciliwung' atau 'bpbd-app'",
        )
    if station_id is not None and station_id not in qc.station_attributes(bank, [station_id]):
        raise NotFoundError(
            f"no station {station_id!r}",
            where="station_id",
            hint="list stations with `tangguh stations list`",
            message_id=f"tidak ada stasiun {station_id!r}",
            hint_id="lihat daftar stasiun dengan `tangguh stations list`",
        )
    key_id = secrets.token_hex(6)
    key = f"tgk_{key_id}_{secrets.token_urlsafe(24)}"
    with bank.begin() as conn:
        conn.execute(
            insert(tg_ingest_key).values(
                key_id=key_id,
                key_hash=_hash(key),
                source=source,
                station_id=station_id,
                note=note,
                created=datetime.now(UTC),
                revoked=None,
            )
        )
    return key


def list_keys(bank: Bank) -> list[dict[str, Any]]:
    """The push keys (id, source, station, created, revoked), never the hash."""
    k = tg_ingest_key
    query = select(k.c.key_id, k.c.source, k.c.station_id, k.c.note, k.c.created, k.c.revoked)
    with bank.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(k.c.created)).mappings()]


def revoke_key(bank: Bank, key_id: str) -> None:
    """Revoke a push key by its id (the part after ``tgk_``)."""
    with bank.begin() as conn:
        done = conn.execute(
            update(tg_ingest_key)
            .where(tg_ingest_key.c.key_id == key_id, tg_ingest_key.c.revoked.is_(None))
            .values(revoked=datetime.now(UTC))
        ).rowcount
    if not done:
        raise NotFoundError(
            f"no active push key {key_id!r}",
            where="key id",
            hint="list keys with `tangguh observe keys list`",
            message_id=f"tidak ada kunci kirim aktif {key_id!r}",
            hint_id="lihat daftar kunci dengan `tangguh observe keys list`",
        )


def verify_key(bank: Bank, key: str | None, station_id: str | None = None) -> str:
    """Return the source of a valid key; raise :class:`KeyError_` otherwise.

    With ``station_id``, a key restricted to another station is refused (status 403).
    """
    match = re.fullmatch(r"tgk_([0-9a-f]{12})_[A-Za-z0-9_\-]+", key or "")
    row = None
    if match:
        with bank.connect() as conn:
            row = (
                conn.execute(select(tg_ingest_key).where(tg_ingest_key.c.key_id == match[1]))
                .mappings()
                .first()
            )
    if row is None or not hmac.compare_digest(str(row["key_hash"]), _hash(key or "")):
        raise KeyError_(
            "missing or unknown push key",
            where="X-Tangguh-Key",
            hint="send the key from `tangguh observe keys create` in the X-Tangguh-Key header",
            message_id="kunci kirim tidak ada atau tidak dikenal",
            hint_id="kirim kunci dari `tangguh observe keys create` di header X-Tangguh-Key",
        )
    if row["revoked"] is not None:
        raise KeyError_(
            f"push key {row['key_id']} was revoked",
            where="X-Tangguh-Key",
            hint="ask the operator for a new key",
            message_id=f"kunci kirim {row['key_id']} sudah dicabut",
            hint_id="minta kunci baru kepada operator",
        )
    scope = row["station_id"]
    if station_id is not None and scope is not None and scope != station_id:
        raise KeyError_(
            f"push key {row['key_id']} is only for station {scope!r}, not {station_id!r}",
            where="station_id",
            hint="use the key of that station",
            message_id=f"kunci kirim {row['key_id']} hanya untuk stasiun {scope!r}, "
            f"bukan {station_id!r}",
            hint_id="gunakan kunci stasiun tersebut",
            status=403,
        )
    return str(row["source"])


def push(
    bank: Bank,
    key: str | None,
    payload: Any,
    *,
    now: datetime | None = None,
    on_accepted: OnAccepted | None = None,
    config: qc.QCConfig | None = None,
) -> IngestReport:
    """Verify ``key`` for every station in ``payload``, then :func:`accept` it.

    ``payload`` is a JSON body (see :func:`records_from_payload`). A key restricted to
    one station refuses the whole body if any reading is for another station; nothing
    is stored then.
    """
    source = verify_key(bank, key)
    if not isinstance(payload, dict | list) or (isinstance(payload, list) and not payload):
        raise InputError(
            "the body must be a JSON object or a non-empty list of objects",
            where="body",
            hint='send e.g. {"station_id": "manggarai", "t": "2026-01-05T07:00:00+07:00", '
            '"water_level": 650}',
            message_id="isi permintaan harus objek JSON atau daftar objek yang tidak kosong",
            hint_id='kirim mis. {"station_id": "manggarai", "t": "2026-01-05T07:00:00+07:00", '
            '"water_level": 650}',
        )
    records = records_from_payload(payload)
    stations = {str(r["station_id"]) for r in records if r and r.get("station_id") is not None}
    for sid in sorted(stations):
        verify_key(bank, key, sid)
    return accept(bank, records, source=source, now=now, on_accepted=on_accepted, config=config)
