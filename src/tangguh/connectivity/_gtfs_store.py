"""Storage shared by the GTFS and rail-KML imports: feed records and the stops layer.

Both importers end in :func:`write_feed`: one transaction that writes a new version of
the ``transit_stops`` layer (the rows of the imported feed replace that feed's earlier
rows, rows of other feeds stay), the feed record and the schedule tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, Table, func, insert, select

from tangguh.bank import Bank, LayerMeta, VersionInfo
from tangguh.connectivity.modes import capacity_of
from tangguh.connectivity.tables.transit import tg_transit_feed
from tangguh.errors import InputError

__all__ = [
    "LAYER",
    "LAYER_COLUMNS",
    "FeedImport",
    "feed_records",
    "layer_meta",
    "next_feed",
    "slug",
    "unchanged_feed",
    "write_feed",
]

#: The stops layer every transit import writes (and the demo city writes too).
LAYER = "transit_stops"
#: Columns of the stops layer, in order (plus the geometry).
LAYER_COLUMNS = (
    "stop_key", "stop_id", "name", "mode", "modes", "capacity", "route_ids", "feed",
    "feed_id", "parent_station", "wheelchair_boarding", "peak_departures",
    "departures_day", "service_date", "unit_id",
)  # fmt: skip
#: Rows written per INSERT statement of the schedule tables.
_CHUNK = 5000


@dataclass
class FeedImport:
    """What an import did (or found unchanged)."""

    feed_id: str
    name: str
    kind: str
    source: str
    sha256: str
    unchanged: bool
    version: VersionInfo | None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    service_date: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "feed_id": self.feed_id,
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "sha256": self.sha256,
            "unchanged": self.unchanged,
            "layer": LAYER,
            "layer_version": self.version.version if self.version else None,
            "counts": self.counts,
            "warnings": self.warnings,
            "service_date": self.service_date.isoformat() if self.service_date else None,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "seconds": round(self.seconds, 3),
        }


def slug(text: str, default: str = "feed") -> str:
    """``"LRT Jabodebek (Lin Cibubur)"`` -> ``"lrt-jabodebek-lin-cibubur"``."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:60].strip("-") or default


def feed_records(bank: Bank) -> pd.DataFrame:
    """Every feed record, newest import first."""
    with bank.connect() as conn:
        rows = conn.execute(
            select(tg_transit_feed).order_by(
                tg_transit_feed.c.imported.desc(), tg_transit_feed.c.seq.desc()
            )
        ).mappings()
        columns = list(tg_transit_feed.c.keys())
        frame = pd.DataFrame([[r[c] for c in columns] for r in rows], columns=columns)
    return frame


def _latest(conn: Connection, name: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(tg_transit_feed)
            .where(tg_transit_feed.c.name == name)
            .order_by(tg_transit_feed.c.seq.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def next_feed(bank: Bank, name: str, kind: str) -> tuple[str, int]:
    """The feed id and sequence number of the next import of ``name``."""
    with bank.connect() as conn:
        latest = _latest(conn, name)
        top = conn.execute(
            select(func.max(tg_transit_feed.c.seq)).where(tg_transit_feed.c.name == name)
        ).scalar()
    if latest is not None and latest["kind"] != kind:
        raise InputError(
            f"feed name {name!r} is already used by a {latest['kind']} import",
            where=f"feed {name}",
            hint="choose another name with --name",
            message_id=f"nama feed {name!r} sudah dipakai impor {latest['kind']}",
            hint_id="pilih nama lain dengan --name",
        )
    seq = int(top or 0) + 1
    return f"{name}-{seq}", seq


def unchanged_feed(bank: Bank, name: str | None, sha256: str) -> dict[str, Any] | None:
    """The latest record of a feed when it is this same file and its stops are current.

    With ``name`` None, any feed whose latest import has this SHA-256 matches.
    """
    records = feed_records(bank)
    if records.empty:
        return None
    latest = records.sort_values("seq").groupby("name").tail(1)
    if name is not None:
        latest = latest[latest["name"] == name]
    latest = latest[latest["sha256"] == sha256]
    if latest.empty or not bank.has_layer(LAYER):
        return None
    found = latest.iloc[0].to_dict()
    try:
        current = bank.read_layer(LAYER, where={"feed_id": found["feed_id"]}, columns=["feed_id"])
    except InputError:  # a layer without feed_id: written by something else since
        return None
    expected = int((found["counts"] or {}).get("layer_stops", 0))
    if len(current) != expected or bank.layer(LAYER).synthetic:
        return None
    return {str(k): v for k, v in found.items()}


def _unit_ids(bank: Bank, frame: gpd.GeoDataFrame) -> list[Any]:
    """The finest admin unit containing each stop (None outside, or without units)."""
    if not bank.has_layer("admin_units") or frame.empty:
        return [None] * len(frame)
    from tangguh.admin.store import lookup

    found = lookup(bank, frame.geometry)
    out = pd.Series([None] * len(frame), index=found.index, dtype=object)
    for level in reversed(list(found.columns)):
        values = found[level]
        out = out.where(out.notna(), values.where(values.notna(), None))
    return out.tolist()


def _merged(bank: Bank, name: str, new: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer's next content: rows of other feeds kept, ``name``'s rows replaced.

    Rows of a synthetic layer (the demo city) are dropped when real data arrive; rows
    without a feed (a layer imported by hand) are kept as they are.
    """
    if not bank.has_layer(LAYER) or bank.layer(LAYER).synthetic:
        return new
    old = bank.read_layer(LAYER)
    if "feed" in old.columns:
        old = old[old["feed"].isna() | (old["feed"] != name)]
    if old.empty:
        return new
    old = old.copy()
    if "stop_key" not in old.columns:
        old["stop_key"] = None
    legacy = old["stop_key"].isna()
    old.loc[legacy, "stop_key"] = old.loc[legacy, "stop_id"].astype(str)
    if "capacity" not in old.columns:
        old["capacity"] = None
    if "mode" in old.columns:
        missing = old["capacity"].isna()
        old.loc[missing, "capacity"] = [capacity_of(str(m)) for m in old.loc[missing, "mode"]]
        if "modes" not in old.columns:
            old["modes"] = old["mode"]
    for column in ("peak_departures", "departures_day"):
        if column not in old.columns:
            old[column] = np.nan
    extra = [c for c in old.columns if c not in LAYER_COLUMNS and c != old.geometry.name]
    columns = [*LAYER_COLUMNS, *extra]
    both = pd.concat(
        [old.reindex(columns=[*columns, "geometry"]), new.reindex(columns=[*columns, "geometry"])],
        ignore_index=True,
    )
    return gpd.GeoDataFrame(both, geometry="geometry", crs="EPSG:4326")


def _insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Bulk insert through the driver's ``executemany`` (tuples, no per-row compile)."""
    if frame.empty:
        return
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    columns = [str(c) for c in frame.columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    sqlite = dialect.name == "sqlite"
    data: list[list[Any]] = []
    for column in columns:
        series = frame[column]
        values = series.astype(object).where(series.notna(), None).tolist()
        if sqlite and isinstance(table.c[column].type, Date):
            values = [v.isoformat() if v is not None else None for v in values]
        data.append(values)
    rows = list(zip(*data, strict=True))
    raw: Any = conn.connection.driver_connection
    cursor = raw.cursor()
    try:
        if dialect.name == "postgresql":
            names = ", ".join(quote(c) for c in columns)
            with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            for start in range(0, len(rows), _CHUNK):
                cursor.executemany(sql, rows[start : start + _CHUNK])
    finally:
        cursor.close()


def write_feed(
    bank: Bank,
    *,
    record: dict[str, Any],
    stops: gpd.GeoDataFrame,
    tables: list[tuple[Table, pd.DataFrame]],
    meta: LayerMeta,
    author: str | None,
    message: str,
) -> VersionInfo:
    """Write the stops layer version, the feed record and the tables in one transaction."""
    stops = stops.copy()
    stops["unit_id"] = _unit_ids(bank, stops)
    merged = _merged(bank, str(record["name"]), stops)
    record = {**record, "imported": datetime.now(UTC), "author": author}
    record["counts"] = {**record["counts"], "layer_stops": len(stops)}
    with bank.transaction():
        version = bank.write_layer(
            LAYER, merged, meta, key="stop_key", author=author, message=message
        )
        record["layer_id"] = LAYER
        record["layer_version"] = version.version
        with bank.begin() as conn:
            conn.execute(insert(tg_transit_feed).values(**record))
            for table, frame in tables:
                _insert_frame(conn, table, frame)
    return version


def layer_meta(bank: Bank, *, source: str, attribution: str, feed_name: str) -> LayerMeta:
    """Catalogue entry of the stops layer, naming the sources of every feed in it."""
    sources: dict[str, tuple[str, str]] = {}
    if bank.has_layer(LAYER) and not bank.layer(LAYER).synthetic:
        records = feed_records(bank)
        for rec in records.iloc[::-1].to_dict("records"):
            extra = rec.get("extra") or {}
            sources[str(rec["name"])] = (str(rec["source"]), str(extra.get("attribution", "")))
    sources[feed_name] = (source, attribution)
    return LayerMeta(
        title_id="Halte dan stasiun angkutan umum",
        title_en="Public transport stops and stations",
        description_id="Halte/peron tempat naik dari feed GTFS dan stasiun kereta (KRL, MRT, "
        "LRT), dengan moda, kelas kapasitas SDG 11.2.1 (rendah 500 m, tinggi 1 km), rute "
        "dan jumlah keberangkatan maksimum per jam pada jam sibuk.",
        description_en="Boarding stops/platforms of GTFS feeds and rail stations (KRL, MRT, "
        "LRT), with mode, SDG 11.2.1 capacity class (low 500 m, high 1 km), routes and the "
        "most departures in one peak hour.",
        theme="mobility",
        source="; ".join(f"{name}: {src}" for name, (src, _) in sorted(sources.items())),
        attribution="; ".join(sorted({a for _, a in sources.values() if a})) or None,
        keywords=["transit", "halte", "stasiun", "GTFS", "SDG 11.2.1", "BRT", "KRL", "MRT", "LRT"],
        synthetic=False,
        extra={"key": "stop_key", "feeds": sorted(sources)},
    )
