"""Importers of Jakarta's real flood records into the loss database.

BPBD 2024 per-kelurahan monthly table (``banjir_kelurahan_2024.csv``), one event per
row with ``jumlah_kejadian > 0``:

================================  ==========================================
BPBD column                       loss_events column
================================  ==========================================
bulan (Indonesian month name)     start = 1st of the month 00:00 WIB,
                                  end = 1st of the next month 00:00 WIB,
                                  ``date_precision`` = "month"
kelurahan, kecamatan              unit_id (match_units, kecamatan as parent)
jumlah_kejadian                   occurrences (events counted that month)
tinggi_air_min/max/avg (cm)       water_height_min_cm / _max_cm / _avg_cm
jumlah_rw_terdampak               rw_affected
jumlah_kk_terdampak               households_affected
jumlah_jiwa_terdampak             affected
jumlah_pengungsi                  evacuated (people in shelters)
jumlah_tempat_pengungsian         shelters
(not in the table)                deaths, missing, injured, relocated, houses_*,
                                  economic_loss_idr, water_supply, sewerage: NA
================================  ==========================================

PetaBencana.id February 2017 (``floods/jkt_floods_<time>.geojson``): the time in the
file name is the snapshot hour in **WIB** (the archive's README: "All timestamps are
UTC+7"; ``export-floods.sh`` is called with ``…+0700`` and converts ``changed`` to
ICT). Each source RW polygon is matched to the bank's RW unit that covers the largest
share of its area (computed in UTM 48S, EPSG:32748, metres); RW numbers were
renumbered between the 2012 boundaries and 2017, so names and numbers are only a
cross-check. A share below ``min_overlap`` leaves the RW unmatched: reported, not
written. An episode is a run of consecutive snapshots in which an RW is flooded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.admin.match import match_units
from tangguh.admin.store import load_units
from tangguh.bank import Bank, LayerMeta, VersionInfo
from tangguh.errors import ImportError_, InputError
from tangguh.risk.losses import STATE_LABELS, STATES_LAYER, WIB, save_events

__all__ = ["LossImport", "import_bpbd", "import_petabencana"]

_MONTH_NAMES = (
    "januari",
    "februari",
    "maret",
    "april",
    "mei",
    "juni",
    "juli",
    "agustus",
    "september",
    "oktober",
    "november",
    "desember",
)
MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_BPBD_COLUMNS = {
    "jumlah_kejadian": "occurrences",
    "tinggi_air_min": "water_height_min_cm",
    "tinggi_air_max": "water_height_max_cm",
    "tinggi_air_avg": "water_height_avg_cm",
    "jumlah_rw_terdampak": "rw_affected",
    "jumlah_kk_terdampak": "households_affected",
    "jumlah_jiwa_terdampak": "affected",
    "jumlah_pengungsi": "evacuated",
    "jumlah_tempat_pengungsian": "shelters",
}
_SNAPSHOT = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)")
_UTM48S = "EPSG:32748"


@dataclass
class LossImport:
    """What an import did: rows read, events written, and every row not written."""

    source: str
    rows: int
    events: int
    version: VersionInfo | None
    unmatched: pd.DataFrame
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (unmatched rows as records)."""
        return {
            "source": self.source,
            "rows": self.rows,
            "events": self.events,
            "version": self.version.version if self.version else None,
            "skipped": self.skipped,
            "counts": self.counts,
            "unmatched": json.loads(self.unmatched.to_json(orient="records", date_format="iso")),
            "notes": self.notes,
        }


def _numbers(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() & out[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImportError_(
                f"{col} is not a number: {out[col].iloc[row]!r}",
                where=f"{path}, row {row + 2}, field {col}",
                hint="fix the cell or leave it empty",
                message_id=f"{col} bukan angka: {out[col].iloc[row]!r}",
                hint_id="perbaiki sel atau kosongkan",
            )
        out[col] = values
    return out


def import_bpbd(
    bank: Bank, csv: Path | str, *, year: int = 2024, author: str | None = None
) -> LossImport:
    """Import BPBD DKI's per-kelurahan monthly flood table (one event per row with events).

    Names are matched to the bank's kelurahan with
    :func:`~tangguh.admin.match.match_units` (kecamatan as parent). Unmatched and
    ambiguous rows are returned in ``unmatched`` (with a reason) and not written;
    rows with no events are counted in ``skipped``. One transaction.
    """
    path = Path(csv)
    if not path.is_file():
        raise InputError(
            f"no such file: {path}",
            where=str(path),
            hint="give the path of banjir_kelurahan_2024.csv",
            message_id=f"berkas tidak ditemukan: {path}",
            hint_id="berikan path banjir_kelurahan_2024.csv",
        )
    table = pd.read_csv(path, dtype={"kelurahan": str, "kecamatan": str, "bulan": str})
    needed = ["bulan", "kecamatan", "kelurahan", *_BPBD_COLUMNS]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ImportError_(
            f"not a BPBD flood table: no column(s) {missing}",
            where=str(path),
            hint=f"expected columns: {needed}",
            message_id=f"bukan tabel banjir BPBD: kolom {missing} tidak ada",
            hint_id=f"kolom yang diharapkan: {needed}",
        )
    table = _numbers(table, list(_BPBD_COLUMNS), path)
    month = table["bulan"].astype(str).str.strip().str.lower().map(MONTHS)
    if month.isna().any():
        row = int(np.flatnonzero(month.isna().to_numpy())[0])
        raise ImportError_(
            f"unknown month name {table['bulan'].iloc[row]!r}",
            where=f"{path}, row {row + 2}, field bulan",
            hint="use Indonesian month names (Januari … Desember)",
            message_id=f"nama bulan {table['bulan'].iloc[row]!r} tidak dikenal",
            hint_id="gunakan nama bulan bahasa Indonesia (Januari … Desember)",
        )
    table["month"] = month.astype(int)
    with_events = table["jumlah_kejadian"].fillna(0) > 0
    rows = table[with_events]
    units = load_units(bank)
    match = match_units(
        rows, units, level="kelurahan", name="kelurahan", parent_name="kecamatan",
        parent_level="kecamatan",
    )  # fmt: skip
    unmatched = match.unmatched_rows.copy()
    if len(match.ambiguous):
        amb = rows.loc[match.ambiguous.index].copy()
        amb["reason"] = [
            f"ambiguous: {r} ({', '.join(c)})"
            for r, c in zip(match.ambiguous["reason"], match.ambiguous["candidates"], strict=True)
        ]
        unmatched = pd.concat([unmatched, amb])
    ok = rows.loc[match.matched.index].copy()
    ok["unit_id"] = match.matched["unit_id"].to_numpy()
    starts = pd.to_datetime({"year": year, "month": ok["month"], "day": 1}).dt.tz_localize(WIB)
    events = ok.rename(columns=_BPBD_COLUMNS)[["unit_id", *_BPBD_COLUMNS.values()]].copy()
    events["event_id"] = [
        f"bpbd-{year}-{m:02d}:{u}" for m, u in zip(ok["month"], ok["unit_id"], strict=True)
    ]
    dup = events["event_id"].duplicated(keep="first")
    if dup.any():
        extra = rows.loc[events.index[dup]].copy()
        extra["reason"] = "a second row for the same kelurahan and month (first row kept)"
        unmatched = pd.concat([unmatched, extra])
        events, starts = events[~dup], starts[~dup]
    events["hazard_type"] = "flood"
    events["start"] = starts.to_numpy()
    events["end"] = (starts + pd.offsets.MonthBegin(1)).to_numpy()
    events["start"] = pd.to_datetime(events["start"], utc=True).dt.tz_convert(WIB)
    events["end"] = pd.to_datetime(events["end"], utc=True).dt.tz_convert(WIB)
    events["date_precision"] = "month"
    events["source_row"] = (events.index.to_numpy() + 2).astype(int)
    source = f"BPBD DKI Jakarta, Data Kejadian Bencana Banjir {year} ({path.name})"
    version = None
    if len(events):
        version = save_events(
            bank, events.reset_index(drop=True), source=source, author=author,
            message=f"tangguh losses import-bpbd {path.name}",
        )  # fmt: skip
    return LossImport(
        source=source,
        rows=len(table),
        events=len(events),
        version=version,
        unmatched=unmatched,
        skipped=int((~with_events).sum()),
        counts={"matched_rows": len(match.matched), "kelurahan": int(ok["unit_id"].nunique())},
        notes=[
            f"{len(match.matched)} rows matched by {dict(match.matched['method'].value_counts())}"
        ],
    )


def _read_snapshots(folder: Path) -> tuple[list[pd.Timestamp], gpd.GeoDataFrame]:
    files = sorted(folder.glob("*.geojson"))
    frames: list[gpd.GeoDataFrame] = []
    hours: list[pd.Timestamp] = []
    for f in files:
        found = _SNAPSHOT.search(f.name)
        if not found:
            raise ImportError_(
                f"no snapshot time in the file name {f.name!r}",
                where=str(f),
                hint="names look like jkt_floods_2017-02-21T13:00:00.geojson (time in WIB)",
                message_id=f"tidak ada waktu snapshot pada nama berkas {f.name!r}",
                hint_id="nama berkas seperti jkt_floods_2017-02-21T13:00:00.geojson (waktu WIB)",
            )
        t = pd.Timestamp(found.group(1)).tz_localize(WIB)
        hours.append(t)
        data = json.loads(f.read_text(encoding="utf-8"))
        features = data.get("features") or []
        if features:
            frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
            frame["t"] = t
            frames.append(frame)
    if not hours:
        raise InputError(
            f"no GeoJSON snapshots in {folder}",
            where=str(folder),
            hint="give the floods/ folder of flood-petabencana-2017",
            message_id=f"tidak ada snapshot GeoJSON di {folder}",
            hint_id="berikan folder floods/ dari flood-petabencana-2017",
        )
    if not frames:
        return hours, gpd.GeoDataFrame({"geom_id": [], "state": [], "t": []}, geometry=[])
    return hours, gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def _match_rw(source: gpd.GeoDataFrame, rw: gpd.GeoDataFrame, min_overlap: float) -> pd.DataFrame:
    """For each source RW: the bank RW covering the largest share of its area."""
    src = source.to_crs(_UTM48S)
    dst = rw[["unit_id", "geometry"]].to_crs(_UTM48S)
    src_geom = shapely.make_valid(src.geometry.to_numpy())
    dst_geom = shapely.make_valid(dst.geometry.to_numpy())
    left, right = shapely.STRtree(dst_geom).query(src_geom, predicate="intersects")
    share = shapely.area(shapely.intersection(src_geom[left], dst_geom[right]))
    share = share / np.maximum(shapely.area(src_geom[left]), 1e-9)
    pairs = pd.DataFrame({"i": left, "unit_id": dst["unit_id"].to_numpy()[right], "share": share})
    best = pairs.sort_values("share").groupby("i").tail(1).set_index("i")
    out = pd.DataFrame({"geom_id": source["geom_id"].to_numpy()})
    out["unit_id"] = best["unit_id"].reindex(out.index)
    out["share"] = best["share"].reindex(out.index).fillna(0.0)
    out["matched"] = out["share"] >= min_overlap
    return out


def _episodes(states: pd.DataFrame, hours: list[pd.Timestamp], source: str) -> pd.DataFrame:
    """One event per run of consecutive snapshots in which an RW is flooded."""
    grid = pd.DatetimeIndex(sorted(hours))
    wide = states.pivot_table(index="t", columns="unit_id", values="state", aggfunc="max")
    wide = wide.reindex(grid).fillna(0).astype(int)
    records: list[dict[str, Any]] = []
    for unit_id in wide.columns:
        col = wide[unit_id].to_numpy()
        flooded = np.concatenate([[False], col > 0, [False]])
        edges = np.flatnonzero(np.diff(flooded.astype(int)))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            end = grid[b] if b < len(grid) else grid[-1]
            censored = ",".join(x for x, c in (("start", a == 0), ("end", b >= len(grid))) if c)
            records.append(
                {
                    "event_id": f"petabencana:{unit_id}@{grid[a]:%Y-%m-%dT%H}",
                    "hazard_type": "flood",
                    "start": grid[a],
                    "end": end,
                    "unit_id": unit_id,
                    "max_state": int(col[a:b].max()),
                    "hours_flooded": int(b - a),
                    "censored": censored,
                    "date_precision": "hour",
                    "source": source,
                }
            )
    return pd.DataFrame(records)


def import_petabencana(
    bank: Bank, folder: Path | str, *, min_overlap: float = 0.5, author: str | None = None
) -> LossImport:
    """Import PetaBencana.id hourly RW flood states and derive one event per episode.

    Writes ``rw_flood_states`` (keyed by ``row_id`` = unit and hour; unit_id, t,
    state, state_label_id/en, the source geom_id and ``changed``; geometry = the bank
    RW polygon; the snapshot hours in the catalogue's ``extra.snapshots``) and the
    episodes into ``loss_events``, in one transaction. Source RWs overlapping no bank
    RW by at least ``min_overlap`` of their area are reported in ``unmatched``.
    """
    root = Path(folder)
    if (root / "floods").is_dir():
        root = root / "floods"
    if not root.is_dir():
        raise InputError(
            f"no such folder: {root}",
            where=str(root),
            hint="give the flood-petabencana-2017 folder or its floods/ subfolder",
            message_id=f"folder tidak ditemukan: {root}",
            hint_id="berikan folder flood-petabencana-2017 atau subfolder floods/",
        )
    hours, raw = _read_snapshots(root)
    raw["geom_id"] = raw["geom_id"].astype("int64").astype(str)
    raw["state"] = pd.to_numeric(raw["state"], errors="coerce")
    bad = ~raw["state"].isin(list(STATE_LABELS))
    if bad.any():
        row = raw[bad].iloc[0]
        raise ImportError_(
            f"flood state {row['state']!r} is not 1-4",
            where=f"{root}, snapshot {row['t']}, geom_id {row['geom_id']}",
            hint="PetaBencana states: 1 unknown, 2 10-70 cm, 3 71-150 cm, 4 > 150 cm",
            message_id=f"status banjir {row['state']!r} bukan 1-4",
            hint_id="status PetaBencana: 1 tidak diketahui, 2 10-70 cm, 3 71-150 cm, 4 > 150 cm",
        )
    units = load_units(bank)
    rw = units[units["level"] == "rw"]
    distinct = raw.drop_duplicates("geom_id").reset_index(drop=True)
    match = _match_rw(distinct, rw, min_overlap).set_index("geom_id")
    kel_code = units.set_index("unit_id")["code_bps"]
    parent = rw.set_index("unit_id")["parent_id"]
    ok = match[match["matched"]]
    same_kel = sum(
        str(kel_code.get(parent.get(u), "")) == g[:10]
        for g, u in zip(ok.index, ok["unit_id"], strict=True)
    )
    raw["unit_id"] = raw["geom_id"].map(match["unit_id"].where(match["matched"]))
    unmatched = distinct[~distinct["geom_id"].map(match["matched"])][["geom_id"]].copy()
    unmatched["best_unit_id"] = unmatched["geom_id"].map(match["unit_id"])
    unmatched["share"] = unmatched["geom_id"].map(match["share"]).round(3)
    unmatched["reason"] = [f"largest overlap with a bank RW is {s:.0%}" for s in unmatched["share"]]
    states = raw.dropna(subset=["unit_id"]).copy()
    states = (
        states.sort_values("state")
        .groupby(["unit_id", "t"], as_index=False)
        .agg(state=("state", "max"), geom_id=("geom_id", ",".join), changed=("changed", "max"))
    )
    merged = int((raw.dropna(subset=["unit_id"]).groupby(["unit_id", "t"]).size() > 1).sum())
    states["state"] = states["state"].astype(int)
    states["state_label_id"] = states["state"].map(lambda s: STATE_LABELS[s][0])
    states["state_label_en"] = states["state"].map(lambda s: STATE_LABELS[s][1])
    states["changed"] = pd.to_datetime(states["changed"], format="ISO8601").dt.tz_localize(WIB)
    states["row_id"] = [
        f"{u}@{t:%Y-%m-%dT%H}" for u, t in zip(states["unit_id"], states["t"], strict=True)
    ]
    source = f"PetaBencana.id / MIT Urban Risk Lab, BPBD DKI flooded RW ({root.name})"
    geoms = rw.set_index("unit_id").geometry
    layer = gpd.GeoDataFrame(
        states[
            [
                "row_id",
                "unit_id",
                "t",
                "state",
                "state_label_id",
                "state_label_en",
                "geom_id",
                "changed",
            ]
        ],
        geometry=geoms.reindex(states["unit_id"]).to_numpy(),
        crs="EPSG:4326",
    )
    events = _episodes(states, hours, source)
    meta = LayerMeta(
        title_id="Status banjir RW per jam",
        title_en="Hourly RW flood states",
        description_id="RW yang ditandai banjir oleh BPBD DKI di PetaBencana.id, per jam (WIB); "
        "status 1 tidak diketahui, 2 10-70 cm, 3 71-150 cm, 4 > 150 cm.",
        description_en="RWs marked flooded by BPBD DKI on PetaBencana.id, hourly (WIB); "
        "state 1 unknown, 2 10-70 cm, 3 71-150 cm, 4 > 150 cm.",
        theme="hazard",
        source=source,
        attribution="PetaBencana.id, MIT Urban Risk Lab, BPBD DKI Jakarta",
        keywords=["flood", "petabencana", "rw", "hourly"],
        temporal_start=min(hours).isoformat(),
        temporal_end=max(hours).isoformat(),
        extra={"snapshots": [t.isoformat() for t in sorted(hours)], "min_overlap": min_overlap},
    )
    with bank.transaction():
        version = bank.write_layer(
            STATES_LAYER, layer, meta, key="row_id", author=author,
            message=f"tangguh losses import-petabencana {root}",
        )  # fmt: skip
        if len(events):
            save_events(bank, events, source=source, author=author, message=meta.title_en)
    return LossImport(
        source=source,
        rows=len(raw),
        events=len(events),
        version=version,
        unmatched=unmatched.reset_index(drop=True),
        counts={
            "snapshots": len(hours),
            "source_rw": len(distinct),
            "matched_rw": int(match["matched"].sum()),
            "bank_rw": int(states["unit_id"].nunique()),
            "state_rows": len(states),
            "same_kelurahan_code": int(same_kel),
        },
        notes=[
            f"{merged} unit-hours where several source RWs fell on one bank RW (max state kept)",
            f"{same_kel} of {len(ok)} matched RWs lie in the kelurahan whose BPS code starts "
            "their geom_id",
        ],
    )
