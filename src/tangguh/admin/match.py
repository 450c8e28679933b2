"""Match the rows of a table to admin units by code or by normalised name.

Every row ends in exactly one of ``matched``, ``unmatched_rows`` or ``ambiguous``; every
unit of the level that no row matched is listed in ``unmatched_units``. Nothing is
dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tangguh.admin.codes import parse_code
from tangguh.admin.names import name_key
from tangguh.errors import InputError

__all__ = ["MatchResult", "match_units"]


@dataclass
class MatchResult:
    """Outcome of :func:`match_units`.

    Attributes
    ----------
    level:
        The level matched (comma-separated for a combined result).
    n_rows:
        Rows in the table.
    matched:
        Indexed by the table's index: ``unit_id``, ``method`` (``code``, ``name``,
        ``name+parent`` or ``variant``) and ``note`` (e.g. a parent name that differs).
    unmatched_rows:
        The table rows with no unit, plus a ``reason`` column.
    unmatched_units:
        Units of the level that no row matched (``unit_id``, ``name``, ``parent_id``).
    ambiguous:
        Rows matching several units: ``candidates`` (list of unit_id) and ``reason``.
    notes:
        Free-text notes added by callers (e.g. partial roll-ups).
    """

    level: str
    n_rows: int
    matched: pd.DataFrame
    unmatched_rows: pd.DataFrame
    unmatched_units: pd.DataFrame
    ambiguous: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def units_matched_twice(self) -> list[str]:
        """unit_ids matched by more than one row."""
        counts = self.matched["unit_id"].value_counts()
        return sorted(str(u) for u in counts.index[counts > 1])

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: counts, methods and the unmatched/ambiguous items."""
        return {
            "level": self.level,
            "rows": self.n_rows,
            "matched": len(self.matched),
            "methods": {str(k): int(v) for k, v in self.matched["method"].value_counts().items()},
            "unmatched_rows": [
                {"row": _plain(i), "reason": str(r)}
                for i, r in zip(
                    self.unmatched_rows.index, self.unmatched_rows["reason"], strict=True
                )
            ],
            "unmatched_units": [str(u) for u in self.unmatched_units["unit_id"]],
            "ambiguous": [
                {"row": _plain(i), "candidates": list(c), "reason": str(r)}
                for i, c, r in zip(
                    self.ambiguous.index,
                    self.ambiguous["candidates"],
                    self.ambiguous["reason"],
                    strict=True,
                )
            ],
            "units_matched_twice": self.units_matched_twice,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One paragraph for a terminal or a log."""
        methods = ", ".join(
            f"{k} {v}" for k, v in sorted(self.matched["method"].value_counts().items())
        )
        lines = [
            f"{self.level}: {len(self.matched)} of {self.n_rows} rows matched ({methods or '-'}); "
            f"{len(self.unmatched_rows)} rows unmatched, {len(self.ambiguous)} ambiguous; "
            f"{len(self.unmatched_units)} units without a row"
        ]
        for idx, reason in list(
            zip(self.unmatched_rows.index, self.unmatched_rows["reason"], strict=True)
        )[:10]:
            lines.append(f"  row {idx}: {reason}")
        if len(self.unmatched_rows) > 10:
            lines.append(f"  ... and {len(self.unmatched_rows) - 10} more unmatched rows")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    @classmethod
    def combine(cls, results: Sequence[MatchResult]) -> MatchResult:
        """One result from several (e.g. one per level); table indexes must not overlap."""
        return cls(
            level=",".join(r.level for r in results),
            n_rows=sum(r.n_rows for r in results),
            matched=pd.concat([r.matched for r in results]),
            unmatched_rows=pd.concat([r.unmatched_rows for r in results]),
            unmatched_units=pd.concat([r.unmatched_units for r in results], ignore_index=True),
            ambiguous=pd.concat([r.ambiguous for r in results]),
            notes=[n for r in results for n in r.notes],
        )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == ""


def match_units(
    table: pd.DataFrame,
    units: pd.DataFrame,
    *,
    level: str,
    code: str | None = None,
    name: str | None = None,
    parent_name: str | None = None,
    parent_level: str | None = None,
) -> MatchResult:
    """Match each row of ``table`` to one unit of ``level``.

    A row is matched by its code first (column ``code``, BPS or Kemendagri, told by
    format, compared with ``code_bps`` or ``code_kemendagri``), then by name: the
    :func:`~tangguh.admin.names.name_key` of column ``name`` against the key of the
    units' ``name_norm``. When several units share the name, the parent's name (column
    ``parent_name``, compared with the unit's ancestor at ``parent_level``, default the
    units' parent level) picks one. Methods: ``code``, ``name``, ``name+parent`` (the
    parent was needed), ``variant`` (only equal after a spelling variant of
    :data:`~tangguh.admin.names.NAME_VARIANTS`).

    Parameters
    ----------
    table:
        Rows to match; its index must be unique (it identifies rows in the result).
    units:
        The admin_units frame.
    level:
        Level of the units to match against.
    code, name, parent_name:
        Column names in ``table`` (at least one of ``code`` and ``name``).
    parent_level:
        Level named by ``parent_name``.
    """
    from tangguh.admin.units import LEVEL_RANK, ancestors

    if code is None and name is None:
        raise InputError(
            "match_units needs a code or a name column",
            hint="pass code= or name=",
            message_id="match_units memerlukan kolom kode atau kolom nama",
            hint_id="berikan code= atau name=",
        )
    for col in (code, name, parent_name):
        if col is not None and col not in table.columns:
            raise InputError(
                f"column {col!r} not in the table",
                where="table",
                hint="check names",
                message_id=f"kolom {col!r} tidak ada di tabel",
                hint_id="periksa nama kolom",
            )
    if not table.index.is_unique:
        raise InputError(
            "the table's index has duplicates",
            where="table.index",
            hint="reset_index() first",
            message_id="indeks tabel memiliki duplikat",
            hint_id="jalankan reset_index() terlebih dahulu",
        )
    cand = units[units["level"] == level]
    ids = cand["unit_id"].astype(str).tolist()
    keys = {u: name_key(n, level=level) for u, n in zip(ids, cand["name_norm"], strict=True)}
    raw_names = cand["name"] if "name" in cand.columns else cand["name_norm"]
    plain_keys = {
        u: name_key(n, level=level, variants=False) for u, n in zip(ids, raw_names, strict=True)
    }
    by_key: dict[str, list[str]] = {}
    for u, k in keys.items():
        by_key.setdefault(k, []).append(u)
    by_code: dict[str, str] = {}
    for col in ("code_bps", "code_kemendagri"):
        if col in cand.columns:
            for u, c in zip(ids, cand[col], strict=True):
                if not _blank(c):
                    by_code[str(c)] = u
    parent_key: dict[str, str] = {}
    if parent_name is not None and len(cand):
        anc = ancestors(units)
        if parent_level is None:
            above = [lv for lv in anc.columns if LEVEL_RANK[lv] < LEVEL_RANK[level]]
            parent_level = above[-1] if above else None
        if parent_level is not None and parent_level not in anc.columns:
            raise InputError(
                f"no units at parent level {parent_level!r}",
                where="parent_level",
                message_id=f"tidak ada unit pada tingkat induk {parent_level!r}",
            )
        if parent_level is not None:
            names_by_id = dict(zip(units["unit_id"], units["name_norm"], strict=True))
            for u in ids:
                pid = anc.at[u, parent_level]
                parent_key[u] = name_key(names_by_id.get(pid), level=parent_level) if pid else ""

    matched: dict[Any, tuple[str, str, str]] = {}
    unmatched: dict[Any, str] = {}
    ambiguous: dict[Any, tuple[list[str], str]] = {}
    for idx, row in table.iterrows():
        reason = ""
        if code is not None and not _blank(row[code]):
            try:
                parsed = parse_code(str(row[code]))
            except InputError:
                reason = f"not a BPS or Kemendagri code: {row[code]!r}"
            else:
                if parsed.code in by_code:
                    matched[idx] = (by_code[parsed.code], "code", "")
                    continue
                reason = f"no {level} with {parsed.system} code {parsed.code}"
        if name is None or _blank(row[name]):
            unmatched[idx] = reason or "no code and no name"
            continue
        key = name_key(row[name], level=level)
        plain = name_key(row[name], level=level, variants=False)
        found = by_key.get(key, [])
        pkey = ""
        if parent_name is not None and parent_level is not None:
            pkey = name_key(row[parent_name], level=parent_level)
        if not found:
            unmatched[idx] = "; ".join(filter(None, [reason, f"no {level} named {row[name]!r}"]))
            continue
        with_parent = [u for u in found if pkey and parent_key.get(u) == pkey]
        if len(found) == 1:
            note = ""
            if pkey and not with_parent:
                note = f"parent {row[str(parent_name)]!r} differs from the unit's parent"
            method = "variant" if plain != plain_keys[found[0]] else "name"
            matched[idx] = (found[0], method, note)
        elif len(with_parent) == 1:
            method = "variant" if plain != plain_keys[with_parent[0]] else "name+parent"
            matched[idx] = (with_parent[0], method, "")
        else:
            why = "same name, no parent given" if not pkey else "same name and parent name"
            if pkey and not with_parent:
                why = f"same name, none under parent {row[str(parent_name)]!r}"
            ambiguous[idx] = (sorted(with_parent or found), why)

    matched_df = pd.DataFrame.from_dict(
        matched, orient="index", columns=["unit_id", "method", "note"]
    ).reindex([i for i in table.index if i in matched])
    unmatched_rows = table.loc[[i for i in table.index if i in unmatched]].copy()
    unmatched_rows["reason"] = [unmatched[i] for i in unmatched_rows.index]
    amb = pd.DataFrame(
        {
            "candidates": [ambiguous[i][0] for i in ambiguous],
            "reason": [v[1] for v in ambiguous.values()],
        },
        index=pd.Index(list(ambiguous), dtype=table.index.dtype),
    )
    used = set(matched_df["unit_id"])
    missing_units = cand[~cand["unit_id"].isin(used)]
    cols = [c for c in ("unit_id", "name", "parent_id") if c in missing_units.columns]
    return MatchResult(
        level=level,
        n_rows=len(table),
        matched=matched_df,
        unmatched_rows=unmatched_rows,
        unmatched_units=pd.DataFrame(missing_units[cols]).reset_index(drop=True),
        ambiguous=amb,
    )
