"""Stored configuration of the rule engine: thresholds, rules, river links, station areas.

Every write is one transaction; bad input raises a bilingual :class:`InputError` before
anything is written.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import and_, delete, insert, select

from tangguh.bank import Bank
from tangguh.bank import _schema as S
from tangguh.errors import ImportError_, InputError, NotFoundError
from tangguh.warning.tables import rules as T

__all__ = [
    "ALWAYS",
    "DEFAULT_DWELL_MINUTES",
    "DEFAULT_MARGIN_PCT",
    "RULE_KINDS",
    "RiverLink",
    "Rule",
    "StationArea",
    "ThresholdVersion",
    "add_rule",
    "delete_rule",
    "import_station_thresholds",
    "import_thresholds_csv",
    "load_rules_toml",
    "parse_instant",
    "river_links",
    "rules",
    "set_river_link",
    "set_station_areas",
    "set_thresholds",
    "station_areas",
    "threshold_history",
    "thresholds_at",
    "validate_thresholds",
]

log = logging.getLogger(__name__)

#: valid_from of thresholds that hold "since always" (before any data).
ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
#: Hysteresis margin of the level rule when none is configured: 5 % of the threshold.
DEFAULT_MARGIN_PCT = 5.0
#: Minimum time below (threshold - margin) before a lower level is entered.
DEFAULT_DWELL_MINUTES = 120
RULE_KINDS = ("level", "rate", "rain", "combined")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


def _now() -> datetime:
    return datetime.now(UTC)


# -- time -------------------------------------------------------------------------------------
def parse_instant(value: datetime | pd.Timestamp | str, *, where: str = "time") -> datetime:
    """A tz-aware datetime from a datetime, Timestamp or ISO 8601 text with a zone."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"unreadable time {value!r}",
            where=where,
            hint="use ISO 8601 with a zone, e.g. 2024-02-01T07:00+07:00",
            message_id=f"waktu {value!r} tidak terbaca",
            hint_id="gunakan ISO 8601 dengan zona waktu, mis. 2024-02-01T07:00+07:00",
        ) from exc
    if pd.isna(stamp):
        raise InputError(
            "missing time",
            where=where,
            hint="give a time with a zone",
            message_id="waktu kosong",
            hint_id="berikan waktu dengan zona waktu",
        )
    if stamp.tzinfo is None:
        raise InputError(
            f"time {value!s} has no time zone",
            where=where,
            hint="add a zone (Jakarta data are WIB: +07:00)",
            message_id=f"waktu {value!s} tidak memiliki zona waktu",
            hint_id="tambahkan zona waktu (data Jakarta memakai WIB: +07:00)",
        )
    result: datetime = stamp.to_pydatetime()
    return result


# -- thresholds -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThresholdVersion:
    """The Siaga thresholds of one station and parameter from ``valid_from`` on."""

    station_id: str
    parameter: str
    valid_from: datetime
    #: {3: value, 2: value, 1: value}: lower bound of each Siaga level
    values: dict[int, float]
    datum: str | None = None
    source: str | None = None
    created: datetime | None = None
    author: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["valid_from"] = self.valid_from.isoformat()
        data["created"] = self.created.isoformat() if self.created else None
        data["values"] = {str(k): v for k, v in sorted(self.values.items(), reverse=True)}
        return data


def _level_key(key: object, where: str) -> int:
    text = str(key).strip().lower().replace(" ", "")
    for prefix in ("siaga", "level"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text in ("1", "2", "3"):
        return int(text)
    raise InputError(
        f"unknown Siaga level {key!r}",
        where=where,
        hint="give thresholds for Siaga 3, 2 and 1 (Siaga 4 is everything below Siaga 3)",
        message_id=f"level Siaga {key!r} tidak dikenal",
        hint_id="berikan ambang untuk Siaga 3, 2 dan 1 (Siaga 4 = di bawah Siaga 3)",
    )


def validate_thresholds(
    values: Mapping[Any, Any], *, where: str = "thresholds"
) -> dict[int, float]:
    """Check and normalise ``{3: 80, 2: 150, 1: 200}`` (keys may be "siaga3", "3", 3).

    Raises :class:`InputError` unless every value is a finite number and the values rise
    strictly with the alert: Siaga 3 < Siaga 2 < Siaga 1.
    """
    out: dict[int, float] = {}
    for key, raw in values.items():
        level = _level_key(key, where)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise InputError(
                f"threshold for Siaga {level} is not a number: {raw!r}",
                where=f"{where}, Siaga {level}",
                hint="give numbers in the unit of the readings (cm for water levels)",
                message_id=f"ambang Siaga {level} bukan angka: {raw!r}",
                hint_id="berikan angka dalam satuan pembacaan (cm untuk tinggi muka air)",
            )
        out[level] = value
    if not out:
        raise InputError(
            "no thresholds given",
            where=where,
            hint="give at least the Siaga 3 threshold, e.g. {3: 80, 2: 150, 1: 200}",
            message_id="tidak ada ambang yang diberikan",
            hint_id="berikan setidaknya ambang Siaga 3, mis. {3: 80, 2: 150, 1: 200}",
        )
    ordered = sorted(out.items(), reverse=True)  # Siaga 3, 2, 1
    for (lo_level, lo), (hi_level, hi) in itertools.pairwise(ordered):
        if not lo < hi:
            raise InputError(
                f"thresholds are not monotonic: Siaga {lo_level} = {lo:g} must be below "
                f"Siaga {hi_level} = {hi:g}",
                where=where,
                hint="Siaga 1 is the highest alert: use Siaga 3 < Siaga 2 < Siaga 1",
                message_id=f"ambang tidak monoton: Siaga {lo_level} = {lo:g} harus di bawah "
                f"Siaga {hi_level} = {hi:g}",
                hint_id="Siaga 1 adalah siaga tertinggi: gunakan Siaga 3 < Siaga 2 < Siaga 1",
            )
    return out


def set_thresholds(
    bank: Bank,
    station_id: str,
    parameter: str,
    values: Mapping[Any, Any],
    *,
    valid_from: datetime | pd.Timestamp | str = ALWAYS,
    datum: str | None = None,
    source: str | None = None,
    author: str | None = None,
) -> ThresholdVersion:
    """Store a new version of a station's thresholds, in force from ``valid_from``.

    Older versions stay (replays of past data use them); a version with the same
    ``valid_from`` is replaced. ``values`` maps Siaga level to its lower bound.
    """
    checked = validate_thresholds(values, where=f"thresholds of {station_id}/{parameter}")
    start = parse_instant(valid_from, where="valid_from")
    version = ThresholdVersion(
        station_id=station_id,
        parameter=parameter,
        valid_from=start,
        values=checked,
        datum=datum,
        source=source,
        created=_now(),
        author=author,
    )
    _write_versions(bank, [version])
    return version


def _write_versions(bank: Bank, versions: Sequence[ThresholdVersion]) -> None:
    t = T.tg_threshold
    with bank.begin() as conn:
        for v in versions:
            conn.execute(
                delete(t).where(
                    and_(
                        t.c.station_id == v.station_id,
                        t.c.parameter == v.parameter,
                        t.c.valid_from == v.valid_from,
                    )
                )
            )
            conn.execute(
                insert(t),
                [
                    {
                        "station_id": v.station_id,
                        "parameter": v.parameter,
                        "level": level,
                        "value": value,
                        "datum": v.datum,
                        "valid_from": v.valid_from,
                        "source": v.source,
                        "created": v.created or _now(),
                        "author": v.author,
                    }
                    for level, value in sorted(v.values.items())
                ],
            )


def all_threshold_versions(bank: Bank) -> list[ThresholdVersion]:
    """Every stored threshold version, oldest first per (station, parameter)."""
    t = T.tg_threshold
    with bank.connect() as conn:
        rows = conn.execute(select(t)).mappings().all()
    groups: dict[tuple[str, str, datetime], list[Any]] = {}
    for r in rows:
        groups.setdefault((r["station_id"], r["parameter"], r["valid_from"]), []).append(r)
    out = [
        ThresholdVersion(
            station_id=sid,
            parameter=par,
            valid_from=vf,
            values={int(r["level"]): float(r["value"]) for r in rs},
            datum=rs[0]["datum"],
            source=rs[0]["source"],
            created=rs[0]["created"],
            author=rs[0]["author"],
        )
        for (sid, par, vf), rs in groups.items()
    ]
    out.sort(key=lambda v: (v.station_id, v.parameter, v.valid_from))
    return out


def threshold_history(
    bank: Bank, station_id: str, parameter: str | None = None
) -> list[ThresholdVersion]:
    """Threshold versions of a station (optionally one parameter), newest first."""
    found = [
        v
        for v in all_threshold_versions(bank)
        if v.station_id == station_id and (parameter is None or v.parameter == parameter)
    ]
    return sorted(found, key=lambda v: v.valid_from, reverse=True)


def thresholds_at(
    bank: Bank, station_id: str, parameter: str, t: datetime | pd.Timestamp | str
) -> dict[int, float]:
    """The thresholds in force at ``t`` (``{}`` when none were in force yet).

    Falls back to the thresholds the DSDA feed published on the station
    (``attributes["dsda_thresholds"]``) when no version is stored for it.
    """
    when = parse_instant(t)
    history = threshold_history(bank, station_id, parameter)
    if not history:
        published = published_thresholds(bank).get(station_id)
        return dict(published.values) if published and parameter == published.parameter else {}
    for version in history:
        if version.valid_from <= when:
            return dict(version.values)
    return {}


def _float_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number != 0.0 else None


def published_thresholds(
    bank: Bank, *, parameter: str = "water_level"
) -> dict[str, ThresholdVersion]:
    """Thresholds the DSDA feed published on stations (``attributes["dsda_thresholds"]``).

    Keys ``siaga1``..``siaga3`` are used (``siaga4``, the top of the normal band, is not
    a threshold); missing, non-numeric or zero values count as not published. Stations
    whose published values are not monotonic are skipped with a log warning.
    """
    with bank.connect() as conn:
        rows = conn.execute(
            select(S.tg_station.c.station_id, S.tg_station.c.attributes, S.tg_station.c.updated)
        ).all()
    out: dict[str, ThresholdVersion] = {}
    for sid, attrs, updated in rows:
        raw = (attrs or {}).get("dsda_thresholds") if isinstance(attrs, dict) else None
        if not isinstance(raw, dict):
            continue
        values = {
            level: number
            for level in (1, 2, 3)
            if (number := _float_or_none(raw.get(f"siaga{level}"))) is not None
        }
        if not values:
            continue
        try:
            checked = validate_thresholds(values, where=f"station {sid} dsda_thresholds")
        except InputError as exc:
            log.warning("skipping published thresholds of %s: %s", sid, exc)
            continue
        out[str(sid)] = ThresholdVersion(
            station_id=str(sid),
            parameter=parameter,
            valid_from=ALWAYS,
            values=checked,
            datum="DSDA gauge datum",
            source="DSDA poskobanjir feed (station attributes)",
            created=updated,
        )
    return out


def import_station_thresholds(
    bank: Bank,
    station_ids: Sequence[str] | None = None,
    *,
    valid_from: datetime | pd.Timestamp | str | None = None,
    parameter: str = "water_level",
    author: str | None = None,
) -> list[ThresholdVersion]:
    """Store the thresholds the DSDA feed published on stations as threshold versions.

    A version is written only when the published values differ from those in force at
    ``valid_from`` (default: now), so polling the feed does not pile up copies.
    """
    start = _now() if valid_from is None else parse_instant(valid_from, where="valid_from")
    published = published_thresholds(bank, parameter=parameter)
    wanted = sorted(published) if station_ids is None else list(station_ids)
    missing = [s for s in wanted if s not in published]
    if station_ids is not None and missing:
        raise NotFoundError(
            f"no published DSDA thresholds on station(s) {missing}",
            where="tg_station.attributes['dsda_thresholds']",
            hint="poll the DSDA feed first, or set thresholds with `tangguh rules thresholds set`",
            message_id=f"tidak ada ambang DSDA yang dipublikasikan pada stasiun {missing}",
            hint_id="jalankan poller DSDA dahulu, atau atur ambang dengan "
            "`tangguh rules thresholds set`",
        )
    new: list[ThresholdVersion] = []
    for sid in wanted:
        pub = published[sid]
        current = {}
        for v in threshold_history(bank, sid, parameter):
            if v.valid_from <= start:
                current = v.values
                break
        if current == pub.values:
            continue
        new.append(
            ThresholdVersion(
                station_id=sid,
                parameter=parameter,
                valid_from=start,
                values=pub.values,
                datum=pub.datum,
                source=pub.source,
                created=_now(),
                author=author,
            )
        )
    if new:
        _write_versions(bank, new)
    return new


def import_thresholds_csv(
    bank: Bank,
    path: str | Path,
    station_map: Mapping[str, str] | None = None,
    *,
    valid_from: datetime | pd.Timestamp | str = ALWAYS,
    parameter: str = "water_level",
    datum: str = "local gauge zero",
    source: str | None = None,
    author: str | None = None,
) -> list[ThresholdVersion]:
    """Import a thresholds table (``Lokasi, …, Siaga 3, Siaga 2, Siaga 1``) in one transaction.

    ``station_map`` maps the location names (column ``Lokasi``, or ``station_id``/``name``)
    to station ids; without it the lower-cased name is the id. Every row is validated
    before anything is written; a name missing from ``station_map`` is an error.
    """
    path = Path(path)
    if not path.exists():
        raise ImportError_(
            f"file {path} does not exist",
            where=str(path),
            hint="check the path and its spelling",
            message_id=f"berkas {path} tidak ada",
            hint_id="periksa path dan ejaannya",
        )
    frame = pd.read_csv(path, encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    name_col = next((c for c in ("Lokasi", "station_id", "name") if c in frame.columns), None)
    level_cols = {
        c: _level_key(c, str(path))
        for c in frame.columns
        if re.fullmatch(r"(?i)siaga\s*[123]", c.strip())
    }
    if name_col is None or not level_cols:
        raise ImportError_(
            "the thresholds file needs a 'Lokasi' (or station_id) column and 'Siaga 3', "
            "'Siaga 2', 'Siaga 1' columns",
            where=str(path),
            hint=f"columns are {list(frame.columns)}",
            message_id="berkas ambang memerlukan kolom 'Lokasi' (atau station_id) dan kolom "
            "'Siaga 3', 'Siaga 2', 'Siaga 1'",
            hint_id=f"kolom yang ada: {list(frame.columns)}",
        )
    start = parse_instant(valid_from, where="valid_from")
    versions = []
    for i, row in frame.iterrows():
        name = str(row[name_col]).strip()
        line = int(str(i)) + 2
        if station_map is not None:
            if name not in station_map:
                raise ImportError_(
                    f"location {name!r} is not in the station map",
                    where=f"{path}, line {line}",
                    hint=f"map it, e.g. '{name}={name.lower()}'",
                    message_id=f"lokasi {name!r} tidak ada di peta stasiun",
                    hint_id=f"petakan, mis. '{name}={name.lower()}'",
                )
            sid = station_map[name]
        else:
            sid = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        values = {level: row[col] for col, level in level_cols.items() if pd.notna(row[col])}
        checked = validate_thresholds(values, where=f"{path}, line {line}")
        versions.append(
            ThresholdVersion(
                station_id=sid,
                parameter=parameter,
                valid_from=start,
                values=checked,
                datum=datum,
                source=source or path.name,
                created=_now(),
                author=author,
            )
        )
    _write_versions(bank, versions)
    return versions


# -- rules ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A stored rule. ``config`` depends on ``kind`` (see docs/warning-rules.md)."""

    rule_id: str
    kind: str
    station_id: str
    parameter: str
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    created: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = self.created.isoformat() if self.created else None
        return data


def _bad_config(rule_id: str, text: str, text_id: str) -> InputError:
    return InputError(
        f"rule {rule_id!r}: {text}",
        where=f"rule {rule_id}, config",
        hint="see docs/warning-rules.md for the fields of each rule kind",
        message_id=f"aturan {rule_id!r}: {text_id}",
        hint_id="lihat docs/warning-rules.md untuk isian setiap jenis aturan",
    )


def _num(cfg: Mapping[str, Any], key: str, rule_id: str, *, minimum: float = 0.0) -> float:
    try:
        value = float(cfg[key])
    except KeyError:
        raise _bad_config(rule_id, f"missing {key!r}", f"{key!r} tidak ada") from None
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= minimum:
        raise _bad_config(
            rule_id,
            f"{key!r} must be a number above {minimum:g}, got {cfg[key]!r}",
            f"{key!r} harus angka di atas {minimum:g}, yang diterima {cfg[key]!r}",
        )
    return value


def _level(cfg: Mapping[str, Any], key: str, rule_id: str) -> int:
    value = cfg.get(key)
    if value not in (1, 2, 3):
        raise _bad_config(
            rule_id,
            f"{key!r} must be a Siaga level 1, 2 or 3, got {value!r}",
            f"{key!r} harus level Siaga 1, 2 atau 3, yang diterima {value!r}",
        )
    return int(value)


def _check_condition(kind: str, cfg: Mapping[str, Any], rule_id: str) -> dict[str, Any]:
    """Validate the condition part of a rate/rain/level sub-condition."""
    if kind == "rate":
        return {
            "rise": _num(cfg, "rise", rule_id),
            "window_minutes": int(_num(cfg, "window_minutes", rule_id)),
        }
    if kind == "rain":
        return {
            "mm_per_hour": _num(cfg, "mm_per_hour", rule_id),
            "window_minutes": int(_num({"window_minutes": 60, **cfg}, "window_minutes", rule_id)),
        }
    if kind == "level":
        return {"at_least": _level(cfg, "at_least", rule_id)}
    raise _bad_config(
        rule_id,
        f"unknown condition kind {kind!r} (use level, rate or rain)",
        f"jenis kondisi {kind!r} tidak dikenal (gunakan level, rate atau rain)",
    )


def validate_rule(rule: Rule) -> Rule:
    """Check a rule's id, kind and config; return it with a normalised config."""
    rid = rule.rule_id
    if not _RULE_ID.match(rid):
        raise InputError(
            f"invalid rule id {rid!r}",
            where="rule_id",
            hint="letters, digits, '_', '.', ':', '-' (at most 128), e.g. depok-rate-30",
            message_id=f"ID aturan {rid!r} tidak sah",
            hint_id="huruf, angka, '_', '.', ':', '-' (paling banyak 128), mis. depok-rate-30",
        )
    if rule.kind not in RULE_KINDS:
        raise InputError(
            f"unknown rule kind {rule.kind!r}",
            where=f"rule {rid}, kind",
            hint=f"use one of {list(RULE_KINDS)}",
            message_id=f"jenis aturan {rule.kind!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(RULE_KINDS)}",
        )
    cfg = dict(rule.config)
    if rule.kind == "level":
        out: dict[str, Any] = {}
        if "margin_pct" in cfg and "margin_cm" in cfg:
            raise _bad_config(
                rid, "give margin_pct or margin_cm, not both", "berikan margin_pct atau margin_cm"
            )
        if "margin_cm" in cfg:
            out["margin_cm"] = _num(cfg, "margin_cm", rid, minimum=-1e-12)
        else:
            pct = _num({"margin_pct": DEFAULT_MARGIN_PCT, **cfg}, "margin_pct", rid, minimum=-1e-12)
            if pct >= 50:
                raise _bad_config(
                    rid, "margin_pct must be below 50", "margin_pct harus di bawah 50"
                )
            out["margin_pct"] = pct
        dwell = {"dwell_minutes": DEFAULT_DWELL_MINUTES, **cfg}
        out["dwell_minutes"] = int(_num(dwell, "dwell_minutes", rid, minimum=-1e-12))
    elif rule.kind in ("rate", "rain"):
        out = {**_check_condition(rule.kind, cfg, rid), "level": _level(cfg, "level", rid)}
    else:
        mode = cfg.get("mode", "all")
        if mode not in ("all", "any"):
            raise _bad_config(
                rid, f"mode must be 'all' or 'any', got {mode!r}", "mode harus 'all' atau 'any'"
            )
        subs = cfg.get("rules")
        if not isinstance(subs, list) or not subs:
            raise _bad_config(
                rid,
                "a combined rule needs a non-empty list 'rules' of conditions",
                "aturan gabungan memerlukan daftar 'rules' berisi kondisi",
            )
        conditions = []
        for sub in subs:
            if not isinstance(sub, Mapping) or "kind" not in sub:
                raise _bad_config(
                    rid,
                    "each condition needs a 'kind' (level, rate, rain)",
                    "setiap kondisi memerlukan 'kind' (level, rate, rain)",
                )
            conditions.append({"kind": sub["kind"], **_check_condition(sub["kind"], sub, rid)})
        out = {"mode": mode, "rules": conditions, "level": _level(cfg, "level", rid)}
    for text in ("description", "description_id"):
        if text in cfg:
            out[text] = str(cfg[text])
    return Rule(
        rule_id=rid,
        kind=rule.kind,
        station_id=str(rule.station_id),
        parameter=str(rule.parameter),
        config=out,
        enabled=bool(rule.enabled),
        created=rule.created,
    )


def add_rule(bank: Bank, rule: Rule) -> Rule:
    """Validate and store a rule (replacing one with the same id)."""
    return add_rules(bank, [rule])[0]


def add_rules(bank: Bank, new_rules: Sequence[Rule]) -> list[Rule]:
    """Validate every rule, then store them all in one transaction."""
    checked = [validate_rule(r) for r in new_rules]
    now = _now()
    t = T.tg_rule
    with bank.begin() as conn:
        for r in checked:
            conn.execute(delete(t).where(t.c.rule_id == r.rule_id))
            conn.execute(
                insert(t).values(
                    rule_id=r.rule_id,
                    kind=r.kind,
                    station_id=r.station_id,
                    parameter=r.parameter,
                    config=r.config,
                    enabled=r.enabled,
                    created=r.created or now,
                )
            )
    return [
        Rule(r.rule_id, r.kind, r.station_id, r.parameter, r.config, r.enabled, r.created or now)
        for r in checked
    ]


def rules(bank: Bank, *, station_id: str | None = None) -> list[Rule]:
    """Stored rules (ordered by station and id)."""
    t = T.tg_rule
    query = select(t).order_by(t.c.station_id, t.c.rule_id)
    if station_id is not None:
        query = query.where(t.c.station_id == station_id)
    with bank.connect() as conn:
        return [
            Rule(
                rule_id=r["rule_id"],
                kind=r["kind"],
                station_id=r["station_id"],
                parameter=r["parameter"],
                config=dict(r["config"] or {}),
                enabled=bool(r["enabled"]),
                created=r["created"],
            )
            for r in conn.execute(query).mappings()
        ]


def delete_rule(bank: Bank, rule_id: str) -> None:
    t = T.tg_rule
    with bank.begin() as conn:
        gone = conn.execute(delete(t).where(t.c.rule_id == rule_id)).rowcount
    if not gone:
        raise NotFoundError(
            f"no rule {rule_id!r}",
            where="tg_rule",
            hint="list them with `tangguh rules list`",
            message_id=f"tidak ada aturan {rule_id!r}",
            hint_id="lihat daftarnya dengan `tangguh rules list`",
        )


def load_rules_toml(path: str | Path) -> list[Rule]:
    """Rules from a TOML file: ``[[rules]]`` tables with rule_id, kind, station_id,
    parameter (default water_level), enabled and the kind's config fields."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportError_(
            f"file {path} does not exist",
            where=str(path),
            hint="check the path and its spelling",
            message_id=f"berkas {path} tidak ada",
            hint_id="periksa path dan ejaannya",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ImportError_(
            f"not valid TOML: {exc}",
            where=str(path),
            hint="check the syntax (https://toml.io)",
            message_id=f"bukan TOML yang sah: {exc}",
            hint_id="periksa sintaksnya (https://toml.io)",
        ) from exc
    items = data.get("rules")
    if not isinstance(items, list) or not items:
        raise ImportError_(
            "no [[rules]] tables in the file",
            where=str(path),
            hint="write one [[rules]] table per rule",
            message_id="tidak ada tabel [[rules]] di berkas",
            hint_id="tulis satu tabel [[rules]] untuk setiap aturan",
        )
    out = []
    for n, item in enumerate(items, start=1):
        missing = [k for k in ("rule_id", "kind", "station_id") if k not in item]
        if missing:
            raise ImportError_(
                f"rule #{n} lacks {missing}",
                where=f"{path}, [[rules]] #{n}",
                hint="give rule_id, kind and station_id",
                message_id=f"aturan #{n} tidak memiliki {missing}",
                hint_id="berikan rule_id, kind dan station_id",
            )
        cfg = {
            k: v
            for k, v in item.items()
            if k not in ("rule_id", "kind", "station_id", "parameter", "enabled")
        }
        out.append(
            validate_rule(
                Rule(
                    rule_id=str(item["rule_id"]),
                    kind=str(item["kind"]),
                    station_id=str(item["station_id"]),
                    parameter=str(item.get("parameter", "water_level")),
                    config=cfg,
                    enabled=bool(item.get("enabled", True)),
                )
            )
        )
    return out


# -- river links and station areas --------------------------------------------------------------
@dataclass(frozen=True)
class RiverLink:
    upstream_station: str
    downstream_station: str
    lead_minutes: int
    river: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StationArea:
    station_id: str
    unit_id: str
    lead_minutes: int = 0
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check_lead(lead: Any, where: str) -> int:
    try:
        value = int(lead)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise InputError(
            f"lead time must be a whole number of minutes >= 0, got {lead!r}",
            where=where,
            hint="e.g. 420 for 7 hours",
            message_id=f"waktu tempuh harus bilangan bulat menit >= 0, yang diterima {lead!r}",
            hint_id="mis. 420 untuk 7 jam",
        )
    return value


def set_river_links(bank: Bank, links: Sequence[RiverLink]) -> list[RiverLink]:
    """Store river links (replacing the same upstream/downstream pair) in one transaction."""
    checked = []
    for link in links:
        where = f"link {link.upstream_station} -> {link.downstream_station}"
        if link.upstream_station == link.downstream_station:
            raise InputError(
                "a river link needs two different stations",
                where=where,
                hint="give the upstream and the downstream gauge",
                message_id="tautan sungai memerlukan dua stasiun yang berbeda",
                hint_id="berikan stasiun hulu dan stasiun hilir",
            )
        checked.append(
            RiverLink(
                str(link.upstream_station),
                str(link.downstream_station),
                _check_lead(link.lead_minutes, where),
                link.river,
                link.source,
            )
        )
    t = T.tg_river_link
    with bank.begin() as conn:
        for link in checked:
            conn.execute(
                delete(t).where(
                    and_(
                        t.c.upstream_station == link.upstream_station,
                        t.c.downstream_station == link.downstream_station,
                    )
                )
            )
            conn.execute(insert(t).values(**asdict(link)))
    return checked


def set_river_link(
    bank: Bank,
    upstream: str,
    downstream: str,
    lead_minutes: int,
    *,
    river: str | None = None,
    source: str | None = None,
) -> RiverLink:
    """Store one upstream -> downstream link with the travel time in minutes."""
    return set_river_links(bank, [RiverLink(upstream, downstream, lead_minutes, river, source)])[0]


def river_links(bank: Bank) -> list[RiverLink]:
    t = T.tg_river_link
    with bank.connect() as conn:
        rows = conn.execute(
            select(t).order_by(t.c.upstream_station, t.c.downstream_station)
        ).mappings()
        return [RiverLink(**dict(r)) for r in rows]


def set_station_areas(
    bank: Bank,
    station_id: str,
    unit_ids: Sequence[str],
    *,
    lead_minutes: int = 0,
    source: str | None = None,
    replace: bool = False,
) -> int:
    """Attach admin units to a station (``replace`` drops its other units first)."""
    lead = _check_lead(lead_minutes, f"areas of {station_id}")
    ids = list(dict.fromkeys(str(u) for u in unit_ids))
    t = T.tg_station_area
    with bank.begin() as conn:
        if replace:
            conn.execute(delete(t).where(t.c.station_id == station_id))
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            conn.execute(delete(t).where(and_(t.c.station_id == station_id, t.c.unit_id.in_(part))))
        if ids:
            conn.execute(
                insert(t),
                [
                    {"station_id": station_id, "unit_id": u, "lead_minutes": lead, "source": source}
                    for u in ids
                ],
            )
    return len(ids)


def station_areas(bank: Bank, station_id: str | None = None) -> list[StationArea]:
    t = T.tg_station_area
    query = select(t).order_by(t.c.station_id, t.c.unit_id)
    if station_id is not None:
        query = query.where(t.c.station_id == station_id)
    with bank.connect() as conn:
        return [StationArea(**dict(r)) for r in conn.execute(query).mappings()]
