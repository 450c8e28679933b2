"""Minimum-needs profiles as data: what displaced people need, per area.

A profile lists needs (rice, water, family kits, toilets, ...) with an amount per
person, per household or per N persons, given weekly, daily or once. The built-ins
ship in ``tangguh/risk/data/`` (``needs-*.toml``); users copy and edit them::

    key = "my_profile"
    title_id = "Kebutuhan minimum BPBD"
    title_en = "BPBD minimum needs"
    source = "where the amounts come from"
    household_size = 5          # persons per household (for per = "household")

    [[needs]]
    key = "family_kit"
    label_id = "Paket keluarga"
    label_en = "Family kit"
    unit = "kit"
    amount = 1
    per = "persons"             # person | household | persons (then per_count)
    per_count = 5               # 1 kit per 5 persons
    frequency = "week"          # week | day | once
    count = true                # optional: whole items, rounded up per area

Quantities: ``amount x displaced / persons-per-unit x time``, where persons-per-unit
is 1 (``person``), ``per_count`` (``persons``) or ``household_size x per_count``
(``household``), and time is ``weeks`` (``week``), ``7 x weeks`` (``day``) or 1
(``once``: a stock such as toilets, not consumed). Needs that are counts (kits,
toilets: ``count = true``, or a count unit when ``count`` is left out) are rounded
up per area, because half a toilet helps nobody.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from tangguh.errors import InputError
from tangguh.risk._toml import (
    _check_keys,
    _choice,
    _dump_toml,
    _fail,
    _number,
    _text,
    load_builtin_or_file,
    load_builtins,
)

__all__ = [
    "COUNT_UNITS",
    "Need",
    "NeedsProfile",
    "builtin_profiles",
    "load_profile",
    "validate_profile",
]

Per = Literal["person", "household", "persons"]
Frequency = Literal["week", "day", "once"]

_PER: tuple[Per, ...] = ("person", "household", "persons")
_FREQUENCY: tuple[Frequency, ...] = ("week", "day", "once")
#: Units counted in whole items when a need does not say ``count``.
COUNT_UNITS = frozenset(
    {"kit", "kits", "toilet", "toilets", "item", "items", "piece", "pieces", "pcs", "unit",
     "units", "set", "sets", "container", "containers", "tent", "tents", "bag", "bags"}
)  # fmt: skip
_TOP_KEYS = {"key", "title_id", "title_en", "source", "household_size", "needs"}
_NEED_KEYS = {
    "key", "label_id", "label_en", "unit", "amount", "per", "per_count", "frequency", "count",
    "note",
}  # fmt: skip
_DATA_PREFIX = "needs-"
_DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class Need:
    """One minimum need.

    Attributes
    ----------
    key, label_id, label_en:
        Id (unique in its profile) and labels in Bahasa Indonesia and English.
    unit:
        Unit of ``amount`` (``kg``, ``l``, ``kit``, ``toilet``, ``kcal``, ``m2``).
    amount:
        Quantity per ``per`` and ``frequency`` (> 0).
    per:
        ``"person"``, ``"household"`` or ``"persons"`` (then ``per_count`` persons).
    per_count:
        Persons (``persons``) or households (``household``) one ``amount`` serves:
        1 family kit per 5 persons is ``amount=1, per="persons", per_count=5``.
    frequency:
        ``"week"``, ``"day"`` or ``"once"``.
    count:
        Whole items (rounded up per area) rather than a divisible quantity.
    note:
        Source or caveat of this need.
    """

    key: str
    label_id: str
    label_en: str
    unit: str
    amount: float
    per: Per
    per_count: int
    frequency: Frequency
    count: bool = False
    note: str = ""

    def quantity(self, displaced: np.ndarray, weeks: float, household_size: float) -> np.ndarray:
        """Raw quantity for ``displaced`` persons over ``weeks`` (not rounded)."""
        persons = {
            "person": 1.0,
            "persons": float(self.per_count),
            "household": household_size * self.per_count,
        }[self.per]
        time = {"week": weeks, "day": _DAYS_PER_WEEK * weeks, "once": 1.0}[self.frequency]
        return self.amount * displaced / persons * time


@dataclass(frozen=True)
class NeedsProfile:
    """A named list of minimum needs; see the module docstring for the arithmetic.

    Attributes
    ----------
    key, title_id, title_en:
        Id and titles (Bahasa Indonesia, English).
    source:
        Where the amounts come from.
    needs:
        The needs, in report order.
    household_size:
        Persons per household, for needs given per household.
    """

    key: str
    title_id: str
    title_en: str
    source: str
    needs: tuple[Need, ...]
    household_size: float

    def needs_for(self, displaced: pd.Series | float, *, weeks: float = 1) -> pd.DataFrame:
        """Quantities of every need for displaced people, per area.

        Parameters
        ----------
        displaced:
            Displaced persons per area (a Series indexed by area, e.g. RW or
            kelurahan code), or one number for a single total. NaN stays NaN (an
            unknown count gives unknown needs, it is not read as zero).
        weeks:
            Duration of the displacement; scales weekly and daily needs, not
            one-off ones (``once``).

        Returns
        -------
        pandas.DataFrame
            One row per area (``displaced``'s index; ``["total"]`` for a number) and
            one column per need key; counts rounded up. ``attrs["units"]`` maps each
            column to its unit, ``attrs["labels_id"]``/``attrs["labels_en"]`` to its
            labels.

        Raises
        ------
        InputError
            Negative or non-numeric displaced counts, or ``weeks`` not > 0.
        """
        if isinstance(weeks, bool) or not isinstance(weeks, int | float) or not weeks > 0:
            raise InputError(
                f"weeks must be a number above 0, got {weeks!r}",
                where="needs_for(weeks=...)",
                hint="give the displacement duration in weeks, e.g. weeks=2",
                message_id=f"weeks harus berupa angka di atas 0, bukan {weeks!r}",
                hint_id="isi lama pengungsian dalam minggu, mis. weeks=2",
            )
        series = displaced if isinstance(displaced, pd.Series) else pd.Series([displaced])
        if not isinstance(displaced, pd.Series):
            series.index = pd.Index(["total"])
        try:
            values = pd.to_numeric(series, errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"displaced counts must be numbers: {exc}",
                where=f"displaced ({series.name or 'counts'})",
                hint="pass a numeric Series of displaced persons per area",
                message_id=f"jumlah pengungsi harus berupa angka: {exc}",
                hint_id="berikan Series angka jumlah pengungsi per wilayah",
            ) from exc
        negative = series.index[values < 0]
        if len(negative):
            shown = ", ".join(str(i) for i in negative[:5])
            raise InputError(
                f"{len(negative)} negative displaced count(s), e.g. for area(s) {shown}",
                where=f"displaced ({series.name or 'counts'})",
                hint="displaced counts cannot be below 0; check the impact results",
                message_id=f"{len(negative)} jumlah pengungsi negatif, mis. untuk wilayah {shown}",
                hint_id="jumlah pengungsi tidak boleh di bawah 0; periksa hasil analisis dampak",
            )
        columns: dict[str, np.ndarray] = {}
        for need in self.needs:
            raw = need.quantity(values, float(weeks), self.household_size)
            # Round away float noise (100 / 20 = 5.000000000000001) before ceil.
            columns[need.key] = np.ceil(np.round(raw, 9)) if need.count else raw
        frame = pd.DataFrame(columns, index=series.index)
        frame.attrs["units"] = {n.key: n.unit for n in self.needs}
        frame.attrs["labels_id"] = {n.key: n.label_id for n in self.needs}
        frame.attrs["labels_en"] = {n.key: n.label_en for n in self.needs}
        return frame

    def to_frame(self) -> pd.DataFrame:
        """The profile as a table (one row per need), for reports."""
        rows = [self._need_dict(n) for n in self.needs]
        return pd.DataFrame(rows).set_index("key")

    @staticmethod
    def _need_dict(need: Need) -> dict[str, Any]:
        return {
            "key": need.key,
            "label_id": need.label_id,
            "label_en": need.label_en,
            "unit": need.unit,
            "amount": need.amount,
            "per": need.per,
            "per_count": need.per_count,
            "frequency": need.frequency,
            "count": need.count,
            "note": need.note or None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready), the shape of the TOML file."""
        return {
            "key": self.key,
            "title_id": self.title_id,
            "title_en": self.title_en,
            "source": self.source,
            "household_size": self.household_size,
            "needs": [self._need_dict(n) for n in self.needs],
        }

    def to_toml(self) -> str:
        """TOML text that :func:`load_profile` reads back to an equal object."""
        data = self.to_dict()
        needs = data.pop("needs")
        return _dump_toml(data, {"needs": needs})


def _need(data: Any, i: int, where: str) -> Need:
    if not isinstance(data, Mapping):
        raise _fail(
            f"needs[{i}] must be a table",
            f"needs[{i}] harus berupa tabel",
            where,
            "write each need under a [[needs]] header",
            "tulis setiap kebutuhan di bawah judul [[needs]]",
        )
    key = data.get("key")
    here = f"{where}, need '{key}'" if isinstance(key, str) and key else f"{where}, needs[{i}]"
    _check_keys(data, _NEED_KEYS, here)
    amount = _number(data, "amount", here, required=True)
    assert amount is not None
    if not amount > 0 or math.isinf(amount):
        raise _fail(
            f"amount must be above 0, got {amount:g}",
            f"amount harus di atas 0, bukan {amount:g}",
            f"{here}, field 'amount'",
            "give a positive finite quantity, or remove the need",
            "isi jumlah positif yang terhingga, atau hapus kebutuhan ini",
        )
    per = _choice(data, "per", _PER, here)
    frequency = _choice(data, "frequency", _FREQUENCY, here)
    per_count = data.get("per_count", 1)
    if isinstance(per_count, bool) or not isinstance(per_count, int) or per_count < 1:
        raise _fail(
            f"per_count must be a whole number >= 1, got {per_count!r}",
            f"per_count harus bilangan bulat >= 1, bukan {per_count!r}",
            f"{here}, field 'per_count'",
            'for "1 per 5 persons" write amount = 1, per = "persons", per_count = 5',
            'untuk "1 per 5 orang" tulis amount = 1, per = "persons", per_count = 5',
        )
    if per == "person" and per_count != 1:
        raise _fail(
            'per = "person" takes no per_count',
            'per = "person" tidak memakai per_count',
            f"{here}, field 'per_count'",
            'use per = "persons" for an amount shared by several persons',
            'gunakan per = "persons" untuk jumlah yang dibagi beberapa orang',
        )
    unit = str(_text(data, "unit", here))
    count = data.get("count", unit.lower() in COUNT_UNITS)
    if not isinstance(count, bool):
        raise _fail(
            f"count must be true or false, got {count!r}",
            f"count harus true atau false, bukan {count!r}",
            f"{here}, field 'count'",
            "write count = true for whole items (kits, toilets)",
            "tulis count = true untuk barang utuh (paket, toilet)",
        )
    return Need(
        key=str(_text(data, "key", here)),
        label_id=str(_text(data, "label_id", here)),
        label_en=str(_text(data, "label_en", here)),
        unit=unit,
        amount=amount,
        per="person" if per == "person" else "household" if per == "household" else "persons",
        per_count=per_count,
        frequency="week" if frequency == "week" else "day" if frequency == "day" else "once",
        count=count,
        note=_text(data, "note", here, required=False) or "",
    )


def validate_profile(data: Mapping[str, Any], *, where: str) -> NeedsProfile:
    """Build a :class:`NeedsProfile` from parsed TOML, refusing anything unsound.

    Raises
    ------
    InputError
        Missing or unknown fields, no needs, duplicate keys, amounts <= 0, an unknown
        ``per`` or ``frequency``, a bad ``per_count`` or ``household_size``. Messages
        name the file and the need, in English and Indonesian.
    """
    _check_keys(data, _TOP_KEYS, where)
    raw = data.get("needs")
    if not isinstance(raw, list) or not raw:
        raise _fail(
            "the profile has no needs",
            "profil tidak memiliki kebutuhan",
            f"{where}, field 'needs'",
            "add at least one [[needs]] table",
            "tambahkan paling sedikit satu tabel [[needs]]",
        )
    needs = [_need(item, i, where) for i, item in enumerate(raw)]
    seen: set[str] = set()
    for need in needs:
        if need.key in seen:
            raise _fail(
                f"duplicate need key {need.key!r}",
                f"kunci kebutuhan {need.key!r} ganda",
                f"{where}, need '{need.key}'",
                "give every need its own key",
                "beri setiap kebutuhan kunci sendiri",
            )
        seen.add(need.key)
    size = _number(data, "household_size", where, required=True)
    assert size is not None
    if not size > 0 or math.isinf(size):
        raise _fail(
            f"household_size must be above 0, got {size:g}",
            f"household_size harus di atas 0, bukan {size:g}",
            f"{where}, field 'household_size'",
            "give the mean number of persons per household, e.g. 5",
            "isi rata-rata jumlah orang per rumah tangga, mis. 5",
        )
    return NeedsProfile(
        key=str(_text(data, "key", where)),
        title_id=str(_text(data, "title_id", where)),
        title_en=str(_text(data, "title_en", where)),
        source=str(_text(data, "source", where)),
        needs=tuple(needs),
        household_size=size,
    )


@cache
def _builtins() -> dict[str, NeedsProfile]:
    return load_builtins(_DATA_PREFIX, validate_profile, lambda obj: obj.key)


def builtin_profiles() -> dict[str, NeedsProfile]:
    """The minimum-needs profiles shipped with Tangguh, keyed by ``key``."""
    return dict(_builtins())


def load_profile(path_or_key: str | Path) -> NeedsProfile:
    """Load a built-in profile by key, or a user TOML file by path.

    Raises
    ------
    NotFoundError
        Neither a built-in key nor an existing file.
    InputError
        The file is unreadable or not a valid profile.
    """
    return load_builtin_or_file(
        path_or_key, _builtins(), validate_profile, what="needs profile", what_id="profil kebutuhan"
    )
