"""Hazard classifications as data: value ranges or codes -> named classes.

A classification turns hazard values (flood depth, MMI, a class code) into hazard
classes, each with Indonesian and English labels, a map colour and a displacement
rate (the share of exposed people expected to leave their homes, as InaSAFE defines
it). Classifications are TOML files: the built-ins ship in ``tangguh/risk/data/``
(``hazard-*.toml``) and users write their own in the same shape::

    key = "my_flood"
    title_id = "Kelas genangan BPBD"
    title_en = "BPBD flood classes"
    hazard = "flood"            # flood | earthquake | generic | subsidence
    unit = "cm"                 # optional
    kind = "continuous"         # continuous (ranges) | categorical (codes)
    closed = "left"             # optional: left = [min, max) (default), right = (min, max]
    source = "where the thresholds come from"

    [[classes]]
    key = "low"
    label_id = "Rendah"
    label_en = "Low"
    min = 10                    # omit min on the first class for "no lower bound"
    max = 70                    # omit max on the last class for "no upper bound"
    displacement_rate = 0.01    # 0..1
    colour = "#ffd700"

Range semantics
---------------
Continuous classes are contiguous ranges sorted by ``min``; each class's ``max``
must equal the next class's ``min`` (anything else is a gap or an overlap and is
refused). With ``closed = "left"`` a class holds ``min <= x < max`` (InaSAFE 3.x,
``max - small_number``); with ``closed = "right"`` it holds ``min < x <= max``
(InaSAFE 4+/5: "minimum value IS NOT included, but maximum value IS included").
A missing ``min`` or ``max`` is an open end. Values outside every class, NaN and
missing values get no class (``None``): e.g. a depth of 0 cm under the PetaBencana
classes, whose first class is ``(0, 10]``, i.e. "dry" is not a hazard class.

Categorical classes match a ``value`` code (``"1"``, ``"2"``, ...): numbers compare
numerically (a raster's 2.0 matches ``"2"``), text compares after stripping spaces.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from tangguh.errors import InputError
from tangguh.risk._toml import (
    _as_number,
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
    "HAZARDS",
    "Classification",
    "HazardClass",
    "builtin_classifications",
    "load_classification",
    "validate_classification",
]

#: Hazard types a classification may declare.
HAZARDS = ("flood", "earthquake", "generic", "subsidence")

_KINDS = ("continuous", "categorical")
_CLOSED = ("left", "right")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TOP_KEYS = {"key", "title_id", "title_en", "hazard", "unit", "kind", "closed", "source", "classes"}
_CLASS_KEYS = {"key", "label_id", "label_en", "min", "max", "value", "displacement_rate", "colour"}
#: Length units and their size in millimetres (integers keep 70 cm -> 0.7 m exact).
_LENGTH_MM = {"mm": 1, "cm": 10, "m": 1000}
_DATA_PREFIX = "hazard-"


@dataclass(frozen=True)
class HazardClass:
    """One hazard class.

    Attributes
    ----------
    key:
        Short id, unique in its classification (``"low"``, ``"use_caution"``).
    label_id, label_en:
        Label in Bahasa Indonesia and in English, for maps and reports.
    min, max:
        Range bounds in the classification's unit (continuous only); ``None`` is an
        open end. Which bound is inclusive is set by :attr:`Classification.closed`.
    value:
        Class code for categorical hazards (``"1"``, ``"2"``, ``"3"``), else ``None``.
    displacement_rate:
        Share (0..1) of exposed people displaced in this class.
    colour:
        Map colour, ``#RRGGBB``.
    """

    key: str
    label_id: str
    label_en: str
    min: float | None
    max: float | None
    value: str | None
    displacement_rate: float
    colour: str


@dataclass(frozen=True)
class Classification:
    """A named set of hazard classes; see the module docstring for the semantics.

    Attributes
    ----------
    key, title_id, title_en:
        Id and titles (Bahasa Indonesia, English).
    hazard:
        One of :data:`HAZARDS`.
    unit:
        Unit of the hazard values (``"cm"``, ``"m"``, ``"MMI"``, ``"cm/yr"``) or ``None``.
    kind:
        ``"continuous"`` (ranges) or ``"categorical"`` (codes).
    classes:
        The classes, from least to most severe (continuous: ascending ``min``).
    source:
        Where the thresholds and rates come from.
    closed:
        ``"left"`` for ``[min, max)`` or ``"right"`` for ``(min, max]``.
    """

    key: str
    title_id: str
    title_en: str
    hazard: str
    unit: str | None
    kind: Literal["continuous", "categorical"]
    classes: tuple[HazardClass, ...]
    source: str
    closed: Literal["left", "right"] = "left"

    @property
    def keys(self) -> tuple[str, ...]:
        """Class keys in order."""
        return tuple(c.key for c in self.classes)

    def get(self, key: str) -> HazardClass:
        """Return the class ``key``; :class:`InputError` if there is none."""
        for cls in self.classes:
            if cls.key == key:
                return cls
        raise InputError(
            f"classification {self.key!r} has no class {key!r}",
            where=f"classification {self.key}",
            hint=f"use one of: {', '.join(self.keys)}",
            message_id=f"klasifikasi {self.key!r} tidak memiliki kelas {key!r}",
            hint_id=f"gunakan salah satu dari: {', '.join(self.keys)}",
        )

    def class_index(self, values: ArrayLike) -> np.ndarray:
        """Index of each value's class in :attr:`classes`, ``-1`` where none.

        Vectorised (``np.searchsorted`` on the range edges, or one comparison per
        code), so it is cheap on millions of raster cells or features.

        Parameters
        ----------
        values:
            Hazard values in :attr:`unit` (continuous) or class codes (categorical).

        Returns
        -------
        numpy.ndarray
            ``int64`` array of the same shape as ``values``.
        """
        if self.kind == "categorical":
            return self._index_categorical(values)
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"classification {self.key!r} needs numbers, got values that are not: {exc}",
                where=f"classification {self.key}",
                hint="convert the hazard field to numbers, or use a categorical classification",
                message_id=f"klasifikasi {self.key!r} memerlukan angka, ada nilai bukan angka: "
                f"{exc}",
                hint_id="ubah kolom bahaya menjadi angka, atau gunakan klasifikasi kategorikal",
            ) from exc
        lows = [-math.inf if c.min is None else c.min for c in self.classes]
        edges = np.array(
            [*lows, math.inf if self.classes[-1].max is None else self.classes[-1].max]
        )
        n = len(self.classes)
        side: Literal["left", "right"] = "right" if self.closed == "left" else "left"
        idx = np.searchsorted(edges, arr, side=side) - 1
        # Open ends hold the infinities themselves.
        if self.classes[-1].max is None:
            idx = np.where(np.isposinf(arr), n - 1, idx)
        if self.classes[0].min is None:
            idx = np.where(np.isneginf(arr), 0, idx)
        bad = (idx < 0) | (idx >= n) | np.isnan(arr)
        return np.where(bad, -1, idx).astype(np.int64)

    def _index_categorical(self, values: ArrayLike) -> np.ndarray:
        arr = np.asarray(values)
        out = np.full(arr.shape, -1, dtype=np.int64)
        if arr.dtype.kind in "biuf":
            number = arr.astype(float)
            for i, cls in enumerate(self.classes):
                code = _as_number(cls.value)
                if code is not None:
                    out[number == code] = i
            return out
        flat = pd.Series(arr.ravel(), dtype=object)
        present = flat.notna().to_numpy()
        text = flat.astype(str).str.strip().to_numpy()
        number = pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float)
        flat_out = out.ravel()
        for i, cls in enumerate(self.classes):
            mask = present & (text == cls.value)
            code = _as_number(cls.value)
            if code is not None:
                mask |= number == code
            flat_out[mask] = i
        return flat_out.reshape(arr.shape)

    def classify(self, values: ArrayLike) -> np.ndarray:
        """Class key of each value (object array; ``None`` where no class applies).

        Parameters
        ----------
        values:
            Hazard values in :attr:`unit` (continuous) or class codes (categorical).
            NaN and values outside every class get ``None``.
        """
        lookup = np.array([*self.keys, None], dtype=object)
        index = self.class_index(values)
        return lookup[index.ravel()].reshape(index.shape)  # an array even for a scalar

    def displacement(self, keys: ArrayLike) -> np.ndarray:
        """Displacement rate (0..1) for each class key; ``None``/NaN keys give 0.

        Raises
        ------
        InputError
            A key that is not a class of this classification.
        """
        flat = np.asarray(keys, dtype=object).ravel()
        # factorize hashes each distinct key once: fast on millions of features.
        codes, uniques = pd.factorize(flat, use_na_sentinel=True)
        rates = {c.key: c.displacement_rate for c in self.classes}
        unknown = sorted({str(k) for k in uniques} - set(rates))
        if unknown:
            raise InputError(
                f"unknown class key(s) for classification {self.key!r}: {', '.join(unknown)}",
                where=f"classification {self.key}",
                hint=f"use one of: {', '.join(self.keys)}",
                message_id=f"kunci kelas tidak dikenal untuk klasifikasi {self.key!r}: "
                f"{', '.join(unknown)}",
                hint_id=f"gunakan salah satu dari: {', '.join(self.keys)}",
            )
        lookup = np.array([*(rates[str(k)] for k in uniques), 0.0])
        out = lookup[np.where(codes < 0, len(uniques), codes)]
        return out.reshape(np.shape(keys))

    @property
    def rates(self) -> np.ndarray:
        """Displacement rates in class order plus a trailing 0 for "no class".

        ``classification.rates[classification.class_index(values)]`` gives the rate of
        each value without building key strings (index -1 picks the trailing 0).
        """
        return np.array([*(c.displacement_rate for c in self.classes), 0.0])

    def to_unit(self, unit: str) -> Classification:
        """Return this classification with its range bounds in another length unit.

        Only lengths convert (``mm``, ``cm``, ``m``): e.g. the PetaBencana classes in
        cm applied to the HKV depth raster in m. Categorical classifications and the
        same unit come back unchanged.
        """
        if unit == self.unit or self.kind == "categorical":
            return self
        if self.unit not in _LENGTH_MM or unit not in _LENGTH_MM:
            raise InputError(
                f"cannot convert classification {self.key!r} from {self.unit!r} to {unit!r}",
                where=f"classification {self.key}",
                hint=f"only lengths convert ({', '.join(_LENGTH_MM)}); write a classification "
                "in the data's unit",
                message_id=f"klasifikasi {self.key!r} tidak dapat diubah dari {self.unit!r} "
                f"ke {unit!r}",
                hint_id=f"hanya satuan panjang yang dapat diubah ({', '.join(_LENGTH_MM)}); "
                "tulis klasifikasi dalam satuan data",
            )
        num, den = _LENGTH_MM[self.unit], _LENGTH_MM[unit]

        def conv(v: float | None) -> float | None:
            return None if v is None else float(f"{v * num / den:.12g}")

        classes = tuple(replace(c, min=conv(c.min), max=conv(c.max)) for c in self.classes)
        return replace(self, unit=unit, classes=classes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready; ``None`` for open bounds), the shape of the TOML file."""
        return {
            "key": self.key,
            "title_id": self.title_id,
            "title_en": self.title_en,
            "hazard": self.hazard,
            "unit": self.unit,
            "kind": self.kind,
            "closed": self.closed,
            "source": self.source,
            "classes": [
                {
                    "key": c.key,
                    "label_id": c.label_id,
                    "label_en": c.label_en,
                    "min": c.min,
                    "max": c.max,
                    "value": c.value,
                    "displacement_rate": c.displacement_rate,
                    "colour": c.colour,
                }
                for c in self.classes
            ],
        }

    def to_toml(self) -> str:
        """TOML text that :func:`load_classification` reads back to an equal object."""
        data = self.to_dict()
        classes = data.pop("classes")
        return _dump_toml(data, {"classes": classes})


# --------------------------------------------------------------------------- helpers
# (shared with tangguh.risk.needs)


def _hazard_class(data: Any, i: int, kind: str, where: str) -> HazardClass:
    if not isinstance(data, Mapping):
        raise _fail(
            f"classes[{i}] must be a table",
            f"classes[{i}] harus berupa tabel",
            where,
            "write each class under a [[classes]] header",
            "tulis setiap kelas di bawah judul [[classes]]",
        )
    key = data.get("key")
    here = f"{where}, class '{key}'" if isinstance(key, str) and key else f"{where}, classes[{i}]"
    _check_keys(data, _CLASS_KEYS, here)
    key = str(_text(data, "key", here))
    rate = _number(data, "displacement_rate", here, required=True)
    assert rate is not None
    if not 0.0 <= rate <= 1.0:
        raise _fail(
            f"displacement_rate {rate} is outside 0..1",
            f"displacement_rate {rate} di luar rentang 0..1",
            f"{here}, field 'displacement_rate'",
            "give a share between 0 and 1 (3 % is 0.03)",
            "isi proporsi antara 0 dan 1 (3 % ditulis 0.03)",
        )
    colour = data.get("colour", "#9e9e9e")
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise _fail(
            f"colour {colour!r} is not #RRGGBB",
            f"warna {colour!r} bukan #RRGGBB",
            f"{here}, field 'colour'",
            'write colour = "#ff0000"',
            'tulis colour = "#ff0000"',
        )
    raw_value = data.get("value")
    value = None if raw_value is None else str(raw_value).strip()
    lo = _number(data, "min", here, required=False)
    hi = _number(data, "max", here, required=False)
    if kind == "categorical":
        if not value:
            raise _fail(
                "a categorical class needs a value (its code)",
                "kelas kategorikal memerlukan value (kodenya)",
                f"{here}, field 'value'",
                'write value = "1"',
                'tulis value = "1"',
            )
        if lo is not None or hi is not None:
            raise _fail(
                "a categorical class takes a value, not min/max",
                "kelas kategorikal memakai value, bukan min/max",
                here,
                'remove min/max, or set kind = "continuous"',
                'hapus min/max, atau tulis kind = "continuous"',
            )
    elif lo is not None and hi is not None and lo >= hi:
        raise _fail(
            f"min {lo:g} is not below max {hi:g}",
            f"min {lo:g} tidak lebih kecil dari max {hi:g}",
            here,
            "make min smaller than max",
            "buat min lebih kecil dari max",
        )
    return HazardClass(
        key=key,
        label_id=str(_text(data, "label_id", here)),
        label_en=str(_text(data, "label_en", here)),
        min=lo,
        max=hi,
        value=value,
        displacement_rate=rate,
        colour=colour,
    )


def _check_ranges(classes: list[HazardClass], where: str) -> list[HazardClass]:
    """Sort continuous classes by min and refuse gaps, overlaps and inner open ends."""
    ordered = sorted(classes, key=lambda c: -math.inf if c.min is None else c.min)
    for prev, nxt in itertools.pairwise(ordered):
        pair = f"{where}, classes '{prev.key}' and '{nxt.key}'"
        if prev.max is None or nxt.min is None or prev.max > nxt.min:
            hi = "no upper bound" if prev.max is None else f"max {prev.max:g}"
            lo = "no lower bound" if nxt.min is None else f"min {nxt.min:g}"
            hi_id = "tanpa batas atas" if prev.max is None else f"max {prev.max:g}"
            lo_id = "tanpa batas bawah" if nxt.min is None else f"min {nxt.min:g}"
            raise _fail(
                f"classes overlap: '{prev.key}' ({hi}) runs past '{nxt.key}' ({lo})",
                f"kelas tumpang tindih: '{prev.key}' ({hi_id}) melewati '{nxt.key}' ({lo_id})",
                pair,
                f"set max of '{prev.key}' equal to min of '{nxt.key}'",
                f"samakan max '{prev.key}' dengan min '{nxt.key}'",
            )
        if prev.max < nxt.min:
            raise _fail(
                f"gap between classes: nothing covers {prev.max:g} to {nxt.min:g}",
                f"ada celah antar kelas: rentang {prev.max:g} sampai {nxt.min:g} tidak tercakup",
                pair,
                f"set max of '{prev.key}' equal to min of '{nxt.key}'",
                f"samakan max '{prev.key}' dengan min '{nxt.key}'",
            )
    return ordered


def _check_unique(classes: list[HazardClass], attr: str, where: str) -> None:
    seen: set[str] = set()
    for cls in classes:
        item = getattr(cls, attr)
        if item is None:
            continue
        norm = str(_as_number(item)) if _as_number(item) is not None else item
        if norm in seen:
            raise _fail(
                f"duplicate class {attr} {item!r}",
                f"{attr} kelas {item!r} ganda",
                f"{where}, class '{cls.key}'",
                f"give every class its own {attr}",
                f"beri setiap kelas {attr} sendiri",
            )
        seen.add(norm)


def validate_classification(data: Mapping[str, Any], *, where: str) -> Classification:
    """Build a :class:`Classification` from parsed TOML, refusing anything unsound.

    Parameters
    ----------
    data:
        The parsed file (see the module docstring for the fields).
    where:
        Name of the file or object, used in error messages.

    Raises
    ------
    InputError
        Missing or unknown fields, no classes, duplicate keys or codes, min >= max,
        gaps or overlaps between consecutive ranges, a displacement rate outside 0..1,
        a bad colour. Messages name the file and the class, in English and Indonesian.
    """
    _check_keys(data, _TOP_KEYS, where)
    kind = _choice(data, "kind", _KINDS, where)
    closed = _choice({"closed": data.get("closed", "left")}, "closed", _CLOSED, where)
    raw = data.get("classes")
    if not isinstance(raw, list) or not raw:
        raise _fail(
            "the classification has no classes",
            "klasifikasi tidak memiliki kelas",
            f"{where}, field 'classes'",
            "add at least one [[classes]] table",
            "tambahkan paling sedikit satu tabel [[classes]]",
        )
    classes = [_hazard_class(item, i, kind, where) for i, item in enumerate(raw)]
    _check_unique(classes, "key", where)
    _check_unique(classes, "value", where)
    if kind == "continuous":
        classes = _check_ranges(classes, where)
    return Classification(
        key=str(_text(data, "key", where)),
        title_id=str(_text(data, "title_id", where)),
        title_en=str(_text(data, "title_en", where)),
        hazard=_choice(data, "hazard", HAZARDS, where),
        unit=_text(data, "unit", where, required=False),
        kind="continuous" if kind == "continuous" else "categorical",
        classes=tuple(classes),
        source=str(_text(data, "source", where)),
        closed="left" if closed == "left" else "right",
    )


# --------------------------------------------------------------------------- loading


@cache
def _builtins() -> dict[str, Classification]:
    return load_builtins(_DATA_PREFIX, validate_classification, lambda obj: obj.key)


def builtin_classifications() -> dict[str, Classification]:
    """The classifications shipped with Tangguh, keyed by ``key``."""
    return dict(_builtins())


def load_classification(path_or_key: str | Path) -> Classification:
    """Load a built-in classification by key, or a user TOML file by path.

    Parameters
    ----------
    path_or_key:
        A built-in key (``"flood_petabencana"``) or the path of a ``.toml`` file.

    Raises
    ------
    NotFoundError
        Neither a built-in key nor an existing file.
    InputError
        The file is unreadable or not a valid classification.
    """
    return load_builtin_or_file(
        path_or_key,
        _builtins(),
        validate_classification,
        what="classification",
        what_id="klasifikasi",
    )
