"""Shock and loss database: event records in the DesInventar/Sendai shape.

Events are stored in the bank layer ``loss_events`` (theme ``hazard``, keyed by
``event_id``), one row per event and admin unit, with the columns of
:data:`EVENT_COLUMNS` plus any free fields a source brings (e.g. water heights in cm).
The geometry is the **representative point** of the event's admin unit (EPSG:4326),
so QGIS maps every event whatever its level; the unit polygon is one join away
(``admin_units.unit_id``).

Counts follow DesInventar: a missing value (NaN) means *not recorded*, which is not
the same as 0; summaries keep that distinction (``min_count=1``) and the Sendai
indicators report "not available" instead of 0. Times are tz-aware and shown in WIB
(Asia/Jakarta, UTC+7); the bank stores instants.

The hourly RW flood states of PetaBencana.id live in ``rw_flood_states`` (see
:mod:`tangguh.risk._loss_import`); :func:`replay_states` replays them hour by hour.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from tangguh.admin.store import load_units
from tangguh.admin.units import ancestors
from tangguh.bank import Bank, LayerMeta, VersionInfo
from tangguh.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from tangguh.risk._loss_import import LossImport

__all__ = [
    "BOOL_COLUMNS",
    "COUNT_COLUMNS",
    "EVENT_COLUMNS",
    "LOSS_LAYER",
    "STATES_LAYER",
    "STATE_LABELS",
    "WIB",
    "events_summary",
    "import_bpbd",
    "import_petabencana",
    "load_events",
    "replay_states",
    "save_events",
    "sendai_indicators",
    "validate_events",
]

#: Layer of event records.
LOSS_LAYER = "loss_events"
#: Layer of hourly RW flood states (PetaBencana.id).
STATES_LAYER = "rw_flood_states"
#: Jakarta's time zone (WIB, UTC+7).
WIB = "Asia/Jakarta"
_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")

#: Loss counts (people, houses) and the economic loss in rupiah; NaN = not recorded.
COUNT_COLUMNS = (
    "deaths",
    "missing",
    "injured",
    "affected",
    "evacuated",
    "relocated",
    "houses_destroyed",
    "houses_damaged",
    "economic_loss_idr",
)
#: Sector flags (DesInventar ``acueducto``/``alcantarillado``); NA = not recorded.
BOOL_COLUMNS = ("water_supply", "sewerage")
#: The documented column set of ``loss_events`` (free fields may follow).
EVENT_COLUMNS = (
    "event_id",
    "hazard_type",
    "start",
    "end",
    "unit_id",
    *COUNT_COLUMNS,
    *BOOL_COLUMNS,
    "source",
)
#: PetaBencana.id flood states: state -> (label in Bahasa Indonesia, label in English).
STATE_LABELS: dict[int, tuple[str, str]] = {
    1: ("tidak diketahui - waspada", "unknown - use caution"),
    2: ("ringan 10-70 cm", "minor 10-70 cm"),
    3: ("sedang 71-150 cm", "moderate 71-150 cm"),
    4: ("berat > 150 cm", "severe > 150 cm"),
}


def _bad(row: Any, field: str, en: str, idn: str, hint: str, hint_id: str) -> InputError:
    return InputError(
        f"event row {row}: {en}",
        where=f"row {row}, field {field}",
        hint=hint,
        message_id=f"baris kejadian {row}: {idn}",
        hint_id=hint_id,
    )


def _as_wib(values: pd.Series, field: str) -> pd.Series:
    """Parse ``values`` as tz-aware instants in WIB; naive times are refused."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(WIB)
    naive = pd.api.types.is_datetime64_dtype(values.dtype)
    if not naive:
        for v in values.dropna():
            if isinstance(v, datetime):
                naive = v.tzinfo is None
            else:
                naive = _ZONE.search(str(v).strip()) is None
            if naive:
                break
    if naive:
        raise InputError(
            f"column {field!r} has times without a time zone",
            where=f"field {field}",
            hint="localise them first, e.g. .dt.tz_localize('Asia/Jakarta') for WIB",
            message_id=f"kolom {field!r} berisi waktu tanpa zona waktu",
            hint_id="tetapkan zonanya dulu, mis. .dt.tz_localize('Asia/Jakarta') untuk WIB",
        )
    try:
        stamps = pd.to_datetime(values, format="ISO8601", utc=True)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"column {field!r} holds values that are not times: {exc}",
            where=f"field {field}",
            hint="give ISO 8601 times with a zone, e.g. 2024-01-01T00:00+07:00",
            message_id=f"kolom {field!r} berisi nilai yang bukan waktu: {exc}",
            hint_id="berikan waktu ISO 8601 dengan zona, mis. 2024-01-01T00:00+07:00",
        ) from exc
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise _bad(row, field, f"{field} is empty", f"{field} kosong", "fill it", "isi nilainya")
    return stamps.dt.tz_convert(WIB)


def validate_events(frame: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Check event records and return them with the documented dtypes.

    Refused (:class:`InputError` naming the row and field): a missing required
    column, an empty or duplicate ``event_id``, an empty ``hazard_type``, a negative
    count, naive or unparsable times, ``end`` before ``start``, a ``unit_id`` that
    is not in ``units``. Missing counts stay NaN (not recorded).
    """
    required = ("event_id", "hazard_type", "start", "end", "unit_id")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"event table lacks column(s) {missing}",
            where="event table",
            hint=f"required: {list(required)}; optional: {list(COUNT_COLUMNS + BOOL_COLUMNS)}",
            message_id=f"tabel kejadian tidak memiliki kolom {missing}",
            hint_id=f"wajib: {list(required)}; opsional: {list(COUNT_COLUMNS + BOOL_COLUMNS)}",
        )
    out = pd.DataFrame(frame).reset_index(drop=True).copy()
    for col in ("event_id", "hazard_type", "unit_id"):
        blank = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0])
            raise _bad(row, col, f"{col} is empty", f"{col} kosong", "fill it", "isi nilainya")
        out[col] = out[col].astype(str)
    dup = out["event_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise _bad(
            row,
            "event_id",
            f"event_id {out.at[row, 'event_id']!r} repeats an earlier row",
            f"event_id {out.at[row, 'event_id']!r} mengulang baris sebelumnya",
            "give every event its own id",
            "berikan id unik untuk setiap kejadian",
        )
    for col in COUNT_COLUMNS:
        values = (
            pd.to_numeric(out[col], errors="coerce")
            if col in out.columns
            else pd.Series(np.nan, index=out.index)
        )
        if col in out.columns:
            unreadable = values.isna() & out[col].notna()
            if unreadable.any():
                row = int(np.flatnonzero(unreadable.to_numpy())[0])
                raise _bad(
                    row,
                    col,
                    f"{col} is not a number: {out.at[row, col]!r}",
                    f"{col} bukan angka: {out.at[row, col]!r}",
                    "use a number, or leave it empty when not recorded",
                    "gunakan angka, atau kosongkan bila tidak tercatat",
                )
        negative = values < 0
        if negative.any():
            row = int(np.flatnonzero(negative.to_numpy())[0])
            raise _bad(
                row,
                col,
                f"{col} is negative ({values.iloc[row]})",
                f"{col} bernilai negatif ({values.iloc[row]})",
                "counts and losses are 0 or more; leave empty when not recorded",
                "jumlah dan kerugian bernilai 0 atau lebih; kosongkan bila tidak tercatat",
            )
        out[col] = values.astype("float64")
    for col in BOOL_COLUMNS:
        out[col] = (out[col] if col in out.columns else pd.Series(pd.NA, index=out.index)).astype(
            "boolean"
        )
    out["start"] = _as_wib(out["start"], "start")
    out["end"] = _as_wib(out["end"], "end")
    backwards = out["end"] < out["start"]
    if backwards.any():
        row = int(np.flatnonzero(backwards.to_numpy())[0])
        t0, t1 = out["start"].iloc[row].isoformat(), out["end"].iloc[row].isoformat()
        raise _bad(
            row,
            "end",
            f"end {t1} is before start {t0}",
            f"akhir {t1} sebelum awal {t0}",
            "swap or correct the times",
            "tukar atau perbaiki waktunya",
        )
    known = out["unit_id"].isin(set(units["unit_id"].astype(str)))
    if not known.all():
        row = int(np.flatnonzero(~known.to_numpy())[0])
        raise _bad(
            row,
            "unit_id",
            f"unknown admin unit {out.at[row, 'unit_id']!r}",
            f"unit wilayah {out.at[row, 'unit_id']!r} tidak dikenal",
            "use a unit_id of the admin_units layer (`tangguh admin list`)",
            "gunakan unit_id dari lapisan admin_units (`tangguh admin list`)",
        )
    first = [c for c in EVENT_COLUMNS if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


def save_events(
    bank: Bank,
    frame: pd.DataFrame,
    *,
    source: str,
    author: str | None = None,
    message: str | None = None,
) -> VersionInfo:
    """Validate ``frame`` and write it into ``loss_events`` as one new layer version.

    Rows whose ``event_id`` is already stored are replaced (so a re-import is a
    no-op), other stored events are kept. ``source`` fills empty ``source`` cells.
    Geometry: the representative point of each row's admin unit. Atomic: a bad row
    raises :class:`InputError` and the bank is unchanged.
    """
    units = load_units(bank)
    new = pd.DataFrame(frame).copy()
    if "source" not in new.columns:
        new["source"] = source
    new["source"] = new["source"].fillna(source)
    events = validate_events(new, units)
    with bank.transaction():
        if bank.has_layer(LOSS_LAYER):
            old = pd.DataFrame(bank.read_layer(LOSS_LAYER).drop(columns="geometry"))
            old = old.drop(columns=[c for c in ("fid", "tg_version") if c in old.columns])
            old = old[~old["event_id"].isin(set(events["event_id"]))]
            if len(old):
                events = validate_events(pd.concat([old, events], ignore_index=True), units)
        points = units.set_index("unit_id").geometry.representative_point()
        layer = gpd.GeoDataFrame(
            events, geometry=points.reindex(events["unit_id"]).to_numpy(), crs="EPSG:4326"
        )
        meta = LayerMeta(
            title_id="Basis data kejadian dan kerugian bencana",
            title_en="Disaster event and loss database",
            description_id="Catatan kejadian bentuk DesInventar/Sendai per unit wilayah; "
            "titik = titik representatif unit wilayah; kosong = tidak tercatat.",
            description_en="DesInventar/Sendai-shaped event records per admin unit; "
            "point = the unit's representative point; empty = not recorded.",
            theme="hazard",
            source=", ".join(sorted(set(layer["source"].astype(str)))),
            keywords=["loss", "sendai", "desinventar", *sorted(set(layer["hazard_type"]))],
            temporal_start=layer["start"].min().isoformat(),
            temporal_end=layer["end"].max().isoformat(),
        )
        return bank.write_layer(
            LOSS_LAYER, layer, meta, key="event_id", author=author, message=message or source
        )


def load_events(bank: Bank, *, version: int | None = None) -> pd.DataFrame:
    """The stored events (times in WIB), or NotFoundError saying how to import some.

    ``version``: a past version of the ``loss_events`` layer (default: current).
    """
    if not bank.has_layer(LOSS_LAYER):
        raise NotFoundError(
            "the bank has no loss events",
            where=bank.url,
            hint="import some: `tangguh losses import-bpbd CSV` or "
            "`tangguh losses import-petabencana FOLDER`",
            message_id="bank data belum memiliki catatan kejadian bencana",
            hint_id="impor dulu: `tangguh losses import-bpbd CSV` atau "
            "`tangguh losses import-petabencana FOLDER`",
        )
    events = pd.DataFrame(bank.read_layer(LOSS_LAYER, version=version))
    for col in ("start", "end"):
        events[col] = pd.to_datetime(events[col], utc=True).dt.tz_convert(WIB)
    return events


def _kelurahan_of(bank: Bank, unit_ids: pd.Series, level: str = "kelurahan") -> pd.Series:
    """The ancestor of each unit at ``level`` (NA for units above that level)."""
    anc = ancestors(load_units(bank))
    if level not in anc.columns:
        raise InputError(
            f"no admin units at level {level!r}",
            where="level",
            hint=f"levels in the bank: {list(anc.columns)}",
            message_id=f"tidak ada unit wilayah pada tingkat {level!r}",
            hint_id=f"tingkat yang ada di bank data: {list(anc.columns)}",
        )
    return pd.Series(anc[level].reindex(unit_ids).to_numpy(), index=unit_ids.index)


def events_summary(
    bank: Bank, *, by: Literal["year", "month", "kelurahan"] = "year"
) -> pd.DataFrame:
    """Events and losses per year, month (``YYYY-MM`` of the start, WIB) or kelurahan.

    Per group: ``events``, ``units`` (distinct admin units), the sum of every count
    of :data:`COUNT_COLUMNS` (NaN when no event of the group recorded it) and the
    hazard types. ``by="kelurahan"`` puts RW events under their kelurahan; events
    recorded above kelurahan level fall in the group ``(above kelurahan)``.
    """
    events = load_events(bank)
    if by == "year":
        key = events["start"].dt.year.astype(str)
    elif by == "month":
        key = events["start"].dt.strftime("%Y-%m")
    elif by == "kelurahan":
        key = _kelurahan_of(bank, events["unit_id"]).fillna("(above kelurahan)")
    else:
        raise InputError(
            f"unknown summary key {by!r}",
            where="by",
            hint="use year, month or kelurahan",
            message_id=f"kunci ringkasan {by!r} tidak dikenal",
            hint_id="gunakan year, month atau kelurahan",
        )
    grouped = events.groupby(key.rename(by), sort=True)
    out = grouped[list(COUNT_COLUMNS)].sum(min_count=1)
    out.insert(0, "units", grouped["unit_id"].nunique())
    out.insert(0, "events", grouped.size())
    out["hazard_types"] = grouped["hazard_type"].agg(lambda s: ",".join(sorted(set(s))))
    if by == "kelurahan":
        names = load_units(bank).set_index("unit_id")["name"]
        out.insert(0, "name", [names.get(k, k) for k in out.index])
    return out.reset_index()


def sendai_indicators(bank: Bank) -> pd.DataFrame:
    """Sendai Framework indicators A-D that the stored events allow.

    Columns: ``code``, ``indicator``, ``value``, ``per_100k`` (using the population
    of the province units, when stored), ``available`` and ``note``. An indicator
    whose inputs no event recorded has ``available=False`` and an empty value: not 0.
    """
    events = load_events(bank)
    units = load_units(bank)
    top = units[units["level"] == units["level"].iloc[0]]
    population = float(pd.to_numeric(top["population"], errors="coerce").sum(min_count=1))
    if not np.isfinite(population) or population <= 0:
        kel = units[units["level"] == "kelurahan"]
        population = float(pd.to_numeric(kel["population"], errors="coerce").sum(min_count=1))

    def total(*cols: str) -> float | None:
        values = events[list(cols)].apply(pd.to_numeric, errors="coerce")
        if values.notna().sum().sum() == 0:
            return None
        return float(np.nansum(values.to_numpy(dtype=float)))

    def flags() -> float | None:
        present = events[list(BOOL_COLUMNS)].astype("boolean")
        if present.notna().sum().sum() == 0:
            return None
        return float(present.fillna(False).any(axis=1).sum())

    rows: list[tuple[str, str, float | None, bool, str]] = [
        ("A-1", "deaths and missing persons", total("deaths", "missing"), True, ""),
        ("A-2", "deaths", total("deaths"), True, ""),
        ("A-3", "missing persons", total("missing"), True, ""),
        ("B-1", "directly affected people", total("affected", "injured"), True,
         "affected + injured; evacuated/relocated are assumed to be inside 'affected'"),
        ("B-2", "injured or ill", total("injured"), True, ""),
        ("B-3", "damaged dwellings (houses, not people)", total("houses_damaged"), False, ""),
        ("B-4", "destroyed dwellings (houses, not people)", total("houses_destroyed"), False, ""),
        ("C-1", "direct economic loss (IDR; GDP share not available)",
         total("economic_loss_idr"), False, ""),
        ("D-5", "events disrupting basic services (water supply, sewerage)", flags(), False,
         "events with a water_supply or sewerage flag"),
    ]  # fmt: skip
    out = []
    for code, name, value, per_capita, note in rows:
        per = value / population * 1e5 if value is not None and per_capita and population else None
        out.append(
            {
                "code": code,
                "indicator": name,
                "value": value,
                "per_100k": per,
                "available": value is not None,
                "note": note if value is not None else "not available: no event recorded it",
            }
        )
    for code, name in (
        ("D-2", "destroyed or damaged health facilities"),
        ("D-3", "destroyed or damaged educational facilities"),
    ):
        out.append(
            {
                "code": code,
                "indicator": name,
                "value": None,
                "per_100k": None,
                "available": False,
                "note": "not available: no such column in the event records",
            }
        )
    return pd.DataFrame(out)


def replay_states(
    bank: Bank,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    level: str = "kelurahan",
) -> pd.DataFrame:
    """Replay the stored RW flood states hour by hour.

    Parameters
    ----------
    start, end:
        Keep snapshot hours in ``[start, end]`` (a naive time is read as WIB).
    level:
        Admin level counted as flooded when any of its RWs is flooded.

    Returns
    -------
    pandas.DataFrame
        One row per snapshot hour (``t`` in WIB, also hours with no flooded RW):
        ``rw_flooded``, ``state_1`` … ``state_4`` (RWs per PetaBencana state),
        ``max_state`` (0 when nothing is flooded) and ``<level>_flooded``.
    """
    if not bank.has_layer(STATES_LAYER):
        raise NotFoundError(
            "the bank has no RW flood states",
            where=bank.url,
            hint="import them: `tangguh losses import-petabencana FOLDER`",
            message_id="bank data belum memiliki status banjir RW",
            hint_id="impor dulu: `tangguh losses import-petabencana FOLDER`",
        )
    info = bank.layer(STATES_LAYER)
    states = pd.DataFrame(bank.read_layer(STATES_LAYER, columns=["unit_id", "t", "state"]))
    states["t"] = pd.to_datetime(states["t"], utc=True).dt.tz_convert(WIB)
    hours = pd.DatetimeIndex(
        pd.to_datetime(info.extra.get("snapshots", []), utc=True), name="t"
    ).tz_convert(WIB)
    hours = hours.union(pd.DatetimeIndex(states["t"].unique())).rename("t")

    def bound(value: pd.Timestamp | str) -> pd.Timestamp:
        stamp = pd.Timestamp(value)
        return stamp.tz_localize(WIB) if stamp.tzinfo is None else stamp.tz_convert(WIB)

    if start is not None:
        hours = hours[hours >= bound(start)]
    if end is not None:
        hours = hours[hours <= bound(end)]
    states = states[states["t"].isin(hours)]
    counts = states.pivot_table(index="t", columns="state", values="unit_id", aggfunc="count")
    out = pd.DataFrame(index=hours)
    for s in STATE_LABELS:
        out[f"state_{s}"] = counts[s].reindex(hours).fillna(0).astype(int) if s in counts else 0
    out.insert(0, "rw_flooded", out[[f"state_{s}" for s in STATE_LABELS]].sum(axis=1))
    out["max_state"] = states.groupby("t")["state"].max().reindex(hours).fillna(0).astype(int)
    states["area"] = _kelurahan_of(bank, states["unit_id"], level).to_numpy()
    out[f"{level}_flooded"] = (
        states.groupby("t")["area"].nunique().reindex(hours).fillna(0).astype(int)
    )
    return out.reset_index()


def import_bpbd(
    bank: Bank, csv: Path | str, *, year: int = 2024, author: str | None = None
) -> LossImport:
    """Import BPBD DKI's per-kelurahan monthly flood table (``banjir_kelurahan_2024.csv``).

    One event per kelurahan-month row with events; unmatched names are reported in
    the result, not written. Column mapping: :mod:`tangguh.risk._loss_import`.
    """
    from tangguh.risk._loss_import import import_bpbd as run

    return run(bank, csv, year=year, author=author)


def import_petabencana(
    bank: Bank, folder: Path | str, *, min_overlap: float = 0.5, author: str | None = None
) -> LossImport:
    """Import PetaBencana.id's hourly RW flood states (Feb 2017) and their episodes.

    Writes ``rw_flood_states`` (replacing it) and one ``loss_events`` row per RW flood
    episode; source RWs without a bank RW are reported. Details:
    :mod:`tangguh.risk._loss_import`.
    """
    from tangguh.risk._loss_import import import_petabencana as run

    return run(bank, folder, min_overlap=min_overlap, author=author)
