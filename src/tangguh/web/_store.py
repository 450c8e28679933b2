"""Fast read paths from the bank for the features endpoints.

``bank.read_layer`` builds a GeoDataFrame, which is right for analyses but too slow for
serving many small requests. Here each backend gets a direct SQL path that returns plain
rows ``(fid, wkb, *values)``:

- GeoPackage: one read-only ``sqlite3`` connection per worker thread (WAL mode lets them
  read while the bank writes), the layer's R-tree ``rtree_<layer>_geom`` for bbox queries,
  the WKB cut out of the GeoPackage blob by SQLite itself;
- PostGIS: one psycopg connection per worker thread, ``&&`` / ``ST_Intersects`` on the
  GiST index, ``ST_AsBinary``.

bbox semantics are exact (geometry intersects the box, as OGC API – Features asks): the
index gives the candidates; features whose envelope lies inside the box are accepted at
once, only the ones crossing its edge are tested exactly (GEOS for the GeoPackage,
``ST_Intersects`` for PostGIS).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import numpy as np
import shapely
from sqlalchemy import select

from tangguh.bank import Bank
from tangguh.bank import _schema as S
from tangguh.bank.base import LayerInfo
from tangguh.errors import InputError, NotFoundError

__all__ = [
    "Catalogue",
    "Collection",
    "FeatureSource",
    "GpkgSource",
    "PostgisSource",
    "Query",
    "make_source",
]

#: Column kinds (tangguh.bank._columns.KINDS) that can be filtered and sorted on.
QUERYABLE_KINDS = ("int", "float", "bool", "str", "date", "datetime")

Row = tuple[Any, ...]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Collection:
    """A vector layer of the catalogue as the API sees it."""

    info: LayerInfo
    columns: tuple[tuple[str, str], ...]
    time_column: str | None = None

    @property
    def id(self) -> str:
        return self.info.id

    def kind(self, name: str) -> str | None:
        for col, kind in self.columns:
            if col == name:
                return kind
        return None

    @property
    def queryables(self) -> list[tuple[str, str]]:
        return [(n, k) for n, k in self.columns if k in QUERYABLE_KINDS]

    @property
    def time_kind(self) -> str | None:
        return self.kind(self.time_column) if self.time_column else None


def _time_column(info: LayerInfo, columns: Sequence[tuple[str, str]]) -> str | None:
    """The column ``datetime`` filters on: ``extra["time_column"]`` in the catalogue if it
    names a datetime/date column, else the first datetime column, else the first date one."""
    kinds = dict(columns)
    chosen = info.extra.get("time_column") if isinstance(info.extra, dict) else None
    if isinstance(chosen, str) and kinds.get(chosen) in ("datetime", "date"):
        return chosen
    for wanted in ("datetime", "date"):
        for name, kind in columns:
            if kind == wanted:
                return name
    return None


class Catalogue:
    """The bank's vector layers, re-read at most every ``ttl`` seconds (thread-safe)."""

    def __init__(self, bank: Bank, ttl: float = 5.0) -> None:
        self.bank = bank
        self.ttl = ttl
        self._lock = threading.Lock()
        self._items: dict[str, Collection] = {}
        self._loaded = -1e18

    def _refresh(self) -> None:
        infos = [i for i in self.bank.layers() if i.kind == "vector"]
        with self.bank.connect() as conn:
            rows = conn.execute(select(S.tg_layer.c.id, S.tg_layer.c.columns)).all()
        cols = {r[0]: tuple((str(n), str(k)) for n, k in (r[1] or [])) for r in rows}
        items = {}
        for info in infos:
            columns = cols.get(info.id, ())
            items[info.id] = Collection(info, columns, _time_column(info, columns))
        self._items = items
        self._loaded = time.monotonic()

    @property
    def fresh(self) -> bool:
        """True when :meth:`all` / :meth:`get` will not touch the database."""
        return time.monotonic() - self._loaded <= self.ttl

    def all(self) -> list[Collection]:
        with self._lock:
            if time.monotonic() - self._loaded > self.ttl:
                self._refresh()
            return list(self._items.values())

    def get(self, collection_id: str) -> Collection:
        items = {c.id: c for c in self.all()}
        found = items.get(collection_id)
        if found is not None:
            return found
        close = difflib.get_close_matches(collection_id, list(items), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see the list at /collections"
        hint_id = (
            f"mungkin maksud Anda {', '.join(close)}?" if close else "lihat daftar di /collections"
        )
        raise NotFoundError(
            f"no collection {collection_id!r}",
            where="path /collections/{collectionId}",
            hint=hint,
            message_id=f"tidak ada koleksi {collection_id!r}",
            hint_id=hint_id,
        )


@dataclass
class Query:
    """What the items request selects (everything in CRS84 / UTC)."""

    coll: Collection
    #: Search bounds (minx, miny, maxx, maxy) in CRS84.
    bbox: tuple[float, float, float, float] | None = None
    #: WKB of the exact search area in CRS84 when it is not the ``bbox`` rectangle.
    region: bytes | None = None
    #: Inclusive time interval; None ends are open.
    interval: tuple[datetime | None, datetime | None] | None = None
    #: Property filters: column -> accepted values (already typed).
    where: list[tuple[str, list[Any]]] = field(default_factory=list)
    #: (column, descending) pairs; ties are broken by fid.
    sortby: list[tuple[str, bool]] = field(default_factory=list)
    #: True when the request is known to match nothing (e.g. outside the layer's time).
    empty: bool = False
    #: Per-request memo of backend work shared by count() and rows().
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def filtered(self) -> bool:
        return bool(self.bbox or self.interval or self.where or self.empty)


def _iso_utc(value: datetime) -> str:
    """The text form the GeoPackage bank stores datetimes in (sortable as text)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FeatureSource(ABC):
    """Rows of one backend: ``(fid, wkb, *values)`` with values in ``coll.columns`` order."""

    placeholder = "?"

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()
        self._extents: dict[tuple[str, int], tuple[str | None, str | None]] = {}

    # -- connections -------------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Any: ...

    def conn(self) -> Any:
        found = getattr(self._local, "conn", None)
        if found is None:
            found = self._local.conn = self._connect()
            with self._all_lock:
                self._all.append(found)
        return found

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(Exception):  # closing on shutdown
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def _execute(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(self.conn().execute(sql, params).fetchall())

    def _features(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Feature rows ``(fid, wkb, *values)`` with the WKB as ``bytes``."""
        return self._execute(sql, params)

    # -- SQL pieces ----------------------------------------------------------------------
    @abstractmethod
    def _spatial(self, q: Query) -> tuple[str, list[str], list[Any]]:
        """(FROM clause, conditions, parameters) for the bbox of ``q``."""

    @abstractmethod
    def _select_list(self, coll: Collection) -> str: ...

    @abstractmethod
    def _time_value(self, kind: str, value: datetime) -> Any: ...

    def _nulls_last(self, desc: bool) -> str:
        return (" DESC" if desc else " ASC") + " NULLS LAST"

    def _conditions(self, q: Query) -> tuple[str, list[str], list[Any]]:
        src, conds, params = self._spatial(q)
        p = self.placeholder
        if q.empty:
            conds.append("1 = 0")
        if q.interval is not None and q.coll.time_column:
            col = f"t.{_q(q.coll.time_column)}"
            kind = q.coll.time_kind or "datetime"
            start, end = q.interval
            conds.append(f"{col} IS NOT NULL")
            if start is not None:
                conds.append(f"{col} >= {p}")
                params.append(self._time_value(kind, start))
            if end is not None:
                conds.append(f"{col} <= {p}")
                params.append(self._time_value(kind, end))
        for name, values in q.where:
            conds.append(f"t.{_q(name)} IN ({', '.join([p] * len(values))})")
            params.extend(values)
        return src, conds, params

    # -- public reads ----------------------------------------------------------------------
    def count(self, q: Query) -> int:
        if not q.filtered:
            return int(q.coll.info.feature_count)
        src, conds, params = self._conditions(q)
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        return int(self._execute(f"SELECT count(*) FROM {src}{where}", params)[0][0])

    def rows(
        self,
        q: Query,
        *,
        limit: int | None,
        offset: int = 0,
        after: int | None = None,
        before: int | None = None,
    ) -> list[Row]:
        """Selected rows in order (``before``: the ``limit`` rows just before that fid,
        returned in ascending order)."""
        src, conds, params = self._conditions(q)
        p = self.placeholder
        if after is not None:
            conds.append(f't."fid" > {p}')
            params.append(int(after))
        if before is not None:
            conds.append(f't."fid" < {p}')
            params.append(int(before))
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        if before is not None:
            order = 't."fid" DESC'
        else:
            order = ", ".join(
                [f"t.{_q(c)}{self._nulls_last(d)}" for c, d in q.sortby] + ['t."fid" ASC']
            )
        sql = f"SELECT {self._select_list(q.coll)} FROM {src}{where} ORDER BY {order}"
        if limit is not None or offset:
            sql += f" LIMIT {int(limit) if limit is not None else -1 if p == '?' else 'ALL'}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        out = self._features(sql, params)
        if before is not None:
            out.reverse()
        return out

    def row(self, coll: Collection, fid: int) -> Row | None:
        p = self.placeholder
        found = self._features(
            f'SELECT {self._select_list(coll)} FROM {_q(coll.id)} t WHERE t."fid" = {p}', [fid]
        )
        return found[0] if found else None

    def time_extent(self, coll: Collection) -> tuple[str | None, str | None]:
        """(first, last) of the time column as ISO text, cached per layer version."""
        if not coll.time_column:
            return (None, None)
        key = (coll.id, coll.info.current_version)
        if key not in self._extents:
            col = _q(coll.time_column)
            lo, hi = self._execute(f"SELECT min({col}), max({col}) FROM {_q(coll.id)}", [])[0]
            self._extents[key] = (_iso(lo), _iso(hi))
        return self._extents[key]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if len(text) > 19 and text[10] == "T":  # GeoPackage text: drop the microseconds
        return text[:19] + "Z"
    return text


#: The WKB inside a GeoPackage blob, cut out by SQLite: skip the 8-byte header and the
#: envelope whose size the flags byte gives (GPKG 1.3 §2.1.3.1.1).
_GPKG_WKB = (
    'substr(t."geom", 9 + CASE ((coalesce(unicode(substr(t."geom", 4, 1)), 0)'
    " >> 1) & 7) WHEN 0 THEN 0 WHEN 1 THEN 32 WHEN 4 THEN 64 ELSE 48 END)"
)


class GpkgSource(FeatureSource):
    """Reads an embedded (GeoPackage) bank with plain sqlite3."""

    def __init__(self, catalogue: Catalogue, path: str) -> None:
        super().__init__(catalogue)
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only = 1")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA mmap_size = 4294967296")
        conn.execute("PRAGMA cache_size = -65536")
        return conn

    def _select_list(self, coll: Collection) -> str:
        cols = "".join(f", t.{_q(n)}" for n, _ in coll.columns)
        return f't."fid", {_GPKG_WKB}{cols}'

    def _spatial(self, q: Query) -> tuple[str, list[str], list[Any]]:
        table = _q(q.coll.id)
        if q.bbox is None:
            return f"{table} t", [], []
        x0, y0, x1, y1 = (float(v) for v in q.bbox)
        rtree = _q(f"rtree_{q.coll.id}_geom")
        src = f'{rtree} r JOIN {table} t ON t."fid" = r.id'
        conds = ["r.minx <= ?", "r.maxx >= ?", "r.miny <= ?", "r.maxy >= ?"]
        params: list[Any] = [x1, x0, y1, y0]
        excluded = self._excluded(q)
        if excluded:
            conds.append('t."fid" NOT IN (SELECT value FROM json_each(?))')
            params.append(json.dumps(excluded))
        return src, conds, params

    def _excluded(self, q: Query) -> list[int]:
        """Ids of the index candidates whose geometry does not really intersect the area.

        Only candidates whose index box crosses the edge of the query box need the exact
        test (all of them for a non-rectangular area); they are read in one query and
        tested in one vectorised GEOS call. Doing this in Python instead of in an SQL
        function keeps SQLite from calling back into Python (taking the GIL) per row.
        """
        if "gpkg_excluded" in q.cache:
            return list(q.cache["gpkg_excluded"])
        assert q.bbox is not None
        x0, y0, x1, y1 = (float(v) for v in q.bbox)
        rtree = _q(f"rtree_{q.coll.id}_geom")
        sql = (
            f"SELECT r.id, {_GPKG_WKB} FROM {rtree} r JOIN {_q(q.coll.id)} t "
            'ON t."fid" = r.id WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?'
        )
        params: list[Any] = [x1, x0, y1, y0]
        if q.region is None:
            sql += " AND NOT (r.minx >= ? AND r.maxx <= ? AND r.miny >= ? AND r.maxy <= ?)"
            params += [x0, x1, y0, y1]
            area: Any = shapely.box(x0, y0, x1, y1)
        else:
            area = shapely.from_wkb(q.region)
        rows = self._execute(sql, params)
        excluded: list[int] = []
        if rows:
            geoms = shapely.from_wkb(
                np.array([r[1] for r in rows], dtype=object), on_invalid="ignore"
            )
            hits = shapely.intersects(area, geoms)
            excluded = [int(r[0]) for r, h in zip(rows, hits.tolist(), strict=True) if not h]
        q.cache["gpkg_excluded"] = excluded
        return excluded

    def _time_value(self, kind: str, value: datetime) -> Any:
        if kind == "date":
            return value.astimezone(UTC).date().isoformat()
        return _iso_utc(value)


class PostgisSource(FeatureSource):
    """Reads a PostGIS bank with psycopg (one connection per worker thread)."""

    placeholder = "%s"

    def __init__(self, catalogue: Catalogue, url: str, schema: str) -> None:
        super().__init__(catalogue)
        parts = urlsplit(url)
        query = {k: v for k, v in parse_qs(parts.query).items() if k not in ("schema", "rasters")}
        scheme = "postgresql"
        self.conninfo = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query, True), ""))
        self.schema = schema

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.conninfo, autocommit=True)
        conn.execute(f"SET search_path TO {_q(self.schema)}, public")
        conn.execute("SET default_transaction_read_only = on")
        return conn

    def _features(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return [
            (r[0], bytes(r[1]) if r[1] is not None else None, *r[2:])
            for r in self._execute(sql, params)
        ]

    def _select_list(self, coll: Collection) -> str:
        cols = "".join(f", t.{_q(n)}" for n, _ in coll.columns)
        return f't."fid", ST_AsBinary(t."geom"){cols}'

    def _spatial(self, q: Query) -> tuple[str, list[str], list[Any]]:
        src = f"{_q(q.coll.id)} t"
        if q.bbox is None:
            return src, [], []
        x0, y0, x1, y1 = (float(v) for v in q.bbox)
        if q.region is None:
            return (
                src,
                ['ST_Intersects(t."geom", ST_MakeEnvelope(%s, %s, %s, %s, 4326))'],
                [
                    x0,
                    y0,
                    x1,
                    y1,
                ],
            )
        return (
            src,
            [
                't."geom" && ST_MakeEnvelope(%s, %s, %s, %s, 4326)',
                't."geom" && ST_GeomFromWKB(%s, 4326)',
                'ST_Intersects(t."geom", ST_GeomFromWKB(%s, 4326))',
            ],
            [x0, y0, x1, y1, q.region, q.region],
        )

    def _time_value(self, kind: str, value: datetime) -> Any:
        if kind == "date":
            return value.astimezone(UTC).date()
        return value


def make_source(bank: Bank, url: str, catalogue: Catalogue) -> FeatureSource:
    """The fast source for ``bank`` (opened from ``url``)."""
    from tangguh.bank.gpkg import GpkgBank
    from tangguh.bank.postgis import PostgisBank

    if isinstance(bank, GpkgBank):
        return GpkgSource(catalogue, str(bank.path))
    if isinstance(bank, PostgisBank):
        return PostgisSource(catalogue, url, bank.schema)
    raise InputError(
        f"the web server does not support the bank type {type(bank).__name__}",
        where=bank.url,
        message_id=f"server web tidak mendukung jenis bank data {type(bank).__name__}",
    )


def day_interval(day: date) -> tuple[datetime, datetime]:
    """A calendar day (UTC) as an inclusive interval of instants."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1) - timedelta(microseconds=1)
