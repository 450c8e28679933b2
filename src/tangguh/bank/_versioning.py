"""Diff a new layer content against the current one (added / changed / removed rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

__all__ = ["Diff", "diff_rows", "row_hashes"]


@dataclass
class Diff:
    """Result of comparing old rows (with fids) and new rows (positional)."""

    added: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    changed_new: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    changed_fids: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    removed_fids: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def archived_fids(self) -> NDArray[np.int64]:
        return np.concatenate([self.changed_fids, self.removed_fids])


def row_hashes(attrs: pd.DataFrame, geoms: NDArray[np.object_]) -> NDArray[np.uint64]:
    """A 64-bit content hash per row over the attributes (as given) and the geometry WKB."""
    frame = attrs.reset_index(drop=True).astype(object).where(attrs.notna().to_numpy(), None)
    frame = frame.map(lambda v: repr(v) if v is not None else "\x00")
    frame["__wkb"] = shapely.to_wkb(geoms, byte_order=1, flavor="iso")
    hashes = np.asarray(pd.util.hash_pandas_object(frame, index=False), dtype=np.uint64)
    return hashes


def _occurrence(hashes: NDArray[np.uint64]) -> pd.MultiIndex:
    occ = pd.Series(hashes).groupby(hashes).cumcount().to_numpy()
    return pd.MultiIndex.from_arrays([hashes, occ])


def diff_rows(
    old_fids: NDArray[np.int64],
    old_hashes: NDArray[np.uint64],
    new_hashes: NDArray[np.uint64],
    *,
    old_keys: NDArray[np.object_] | None = None,
    new_keys: NDArray[np.object_] | None = None,
) -> Diff:
    """Compare old and new rows.

    With keys, a key present on both sides is *changed* when its hash differs. Without
    keys, rows are matched by content (duplicates matched one to one), so an edited row
    shows as one removal and one addition.
    """
    if old_keys is not None and new_keys is not None:
        old = pd.DataFrame({"k": old_keys, "fid": old_fids, "h": old_hashes})
        new = pd.DataFrame({"k": new_keys, "pos": np.arange(len(new_hashes)), "h": new_hashes})
        joined = new.merge(old, on="k", how="outer", suffixes=("_new", "_old"))
        only_new = joined["fid"].isna()
        only_old = joined["pos"].isna()
        both = ~only_new & ~only_old
        changed = both & (joined["h_new"] != joined["h_old"])
        return Diff(
            added=joined.loc[only_new, "pos"].to_numpy(np.int64),
            changed_new=joined.loc[changed, "pos"].to_numpy(np.int64),
            changed_fids=joined.loc[changed, "fid"].to_numpy(np.int64),
            removed_fids=joined.loc[only_old, "fid"].to_numpy(np.int64),
        )
    old_idx = _occurrence(old_hashes)
    new_idx = _occurrence(new_hashes)
    keep_old = old_idx.isin(new_idx)
    keep_new = new_idx.isin(old_idx)
    return Diff(
        added=np.flatnonzero(~keep_new).astype(np.int64),
        removed_fids=old_fids[~keep_old].astype(np.int64),
    )
