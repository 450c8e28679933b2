"""The embedded bank: one OGC GeoPackage 1.3 file that GDAL and QGIS open directly.

Layers are ordinary GeoPackage feature tables (``gpkg_contents``,
``gpkg_geometry_columns``, an R-tree per layer with the standard triggers). Tangguh's
own ``tg_*`` tables and the ``<layer>__history`` tables sit beside them unregistered, so
GIS tools list exactly the catalogue's vector layers. The file runs in WAL mode:
readers see the old or the new version during an import, never half of one. A big
import with nobody else on the file uses a rollback journal for its one transaction
(:meth:`GpkgBank._bulk_journal`): the same atomicity, each page written once.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, create_engine, event

from tangguh.bank import _gpkgblob
from tangguh.bank._columns import KINDS, columns_frame, plain_list, to_db_values
from tangguh.bank._points import PendingPoints
from tangguh.bank._rtree import CELL_DTYPE as _CELL_DTYPE
from tangguh.bank._rtree import PACK_MIN, bulk_load, node_size, write_packed
from tangguh.bank._sqlbank import SqlBank
from tangguh.bank.base import LayerMeta, VersionInfo
from tangguh.errors import BankError

__all__ = ["BULK_JOURNAL_ROWS", "GpkgBank"]

_APPLICATION_ID = 0x47504B47  # "GPKG"
_USER_VERSION = 10300  # GeoPackage 1.3.0

_CORE_DDL = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,
    srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER
    NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
    data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL,
    column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
    z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name,
    column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn
    FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gc_srs
    FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT,
    extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
]

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
_SRS_ROWS = [
    (
        "Undefined cartesian SRS",
        -1,
        "NONE",
        -1,
        "undefined",
        "undefined cartesian coordinate reference system",
    ),
    (
        "Undefined geographic SRS",
        0,
        "NONE",
        0,
        "undefined",
        "undefined geographic coordinate reference system",
    ),
    (
        "WGS 84 geodetic",
        4326,
        "EPSG",
        4326,
        _WGS84_WKT,
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    ),
]


#: The WKB inside a GeoPackage blob, cut out by SQLite (C speed): skip the 8-byte header
#: and the envelope, whose size the flags byte gives (GPKG 1.3 §2.1.3.1.1).
_WKB_SQL = (
    'substr("geom", 9 + CASE ((coalesce(unicode(substr("geom", 4, 1)), 0) >> 1) & 7) '
    "WHEN 0 THEN 0 WHEN 1 THEN 32 WHEN 4 THEN 64 ELSE 48 END)"
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GPKG blob, from its header or its geometry."""
    if blob is None:
        return None
    flags = blob[3]
    if flags & 16:
        return None
    if (flags >> 1) & 7:
        fmt = "<4d" if flags & 1 else ">4d"
        minx, maxx, miny, maxy = struct.unpack(fmt, blob[8:40])
        return minx, maxx, miny, maxy
    geom = _gpkgblob.decode([blob])[0]
    x0, y0, x1, y1 = shapely.bounds(geom)
    return x0, x1, y0, y1


def _st(index: int) -> Any:
    def func(blob: bytes | None) -> float | None:
        env = _envelope(blob)
        return None if env is None else env[index]

    return func


def _st_is_empty(blob: bytes | None) -> int | None:
    return None if blob is None else int(bool(blob[3] & 16))


#: Writes of at least this many features use a rollback journal when they can (see
#: :meth:`GpkgBank._bulk_journal`).
BULK_JOURNAL_ROWS = 100_000
_BUSY_MS = 30_000


def _set_journal(conn: sqlite3.Connection, mode: str) -> bool:
    """Try ``PRAGMA journal_mode = mode`` without waiting for locks; True if now in it."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        row = conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()
    except sqlite3.OperationalError:  # another connection holds the file: keep the mode
        row = None
    finally:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
    return row is not None and str(row[0]).lower() == mode


def _register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the GeoPackage R-tree triggers call (GDAL defines the same)."""
    for name, idx in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        conn.create_function(name, 1, _st(idx), deterministic=True)
    conn.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)


class GpkgBank(SqlBank):
    """A bank in one GeoPackage file (the default)."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise BankError(
                f"no bank at {self.path}",
                where=str(self.path),
                hint="create one with `tangguh demo` or `tangguh db upgrade`",
                message_id=f"tidak ada bank data di {self.path}",
                hint_id="buat bank data dengan `tangguh demo` atau `tangguh db upgrade`",
            )
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    raise BankError(
                        "the file is not a GeoPackage/SQLite database",
                        where=str(self.path),
                        hint="give a .gpkg path",
                        message_id="berkas ini bukan basis data GeoPackage/SQLite",
                        hint_id="berikan path berkas .gpkg",
                    )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{self.path}", pool_size=2, max_overflow=8)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            _register_functions(dbapi_conn)
            # WAL, unless a big import holds the file in rollback mode right now: then
            # this connection reads in that mode rather than wait for it (_bulk_journal).
            _set_journal(dbapi_conn, "wal")
            dbapi_conn.execute("PRAGMA synchronous = NORMAL")
            dbapi_conn.execute("PRAGMA cache_size = -200000")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if self._writing else "BEGIN")

        self._writing = False
        is_new = not self.path.exists() or self.path.stat().st_size == 0
        super().__init__(engine, str(self.path), create=create)
        if is_new:
            # GDAL recognises a GeoPackage by the application_id in the file header; in
            # WAL mode that page stays in the -wal file until a checkpoint, so write it
            # into the main file now for tools that open the bank while it is in use.
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def write_layer(
        self,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        meta: LayerMeta | None = None,
        **options: Any,
    ) -> VersionInfo:
        if self._conn is None and len(frame) >= BULK_JOURNAL_ROWS:
            with self._bulk_journal():
                return super().write_layer(layer_id, frame, meta, **options)
        return super().write_layer(layer_id, frame, meta, **options)

    @contextmanager
    def _bulk_journal(self) -> Iterator[None]:
        """A big write with nobody else on the file: a rollback journal instead of WAL.

        In WAL mode every page of an import is written twice (into the ``-wal`` file,
        then into the bank at the checkpoint); with a rollback journal new pages are
        written once and only changed old pages are saved for a rollback. SQLite leaves
        WAL only when no other connection has the file open, so a bank that a server or
        another process is reading stays in WAL. A reader that opens the bank during the
        write sees the old version until the commit (and waits while it is written). WAL
        is set again afterwards, or by the next connection that finds the file idle.
        """

        def switch(mode: str) -> bool:
            fairy = self._engine.raw_connection()
            try:
                return _set_journal(fairy.driver_connection, mode)  # type: ignore[arg-type]
            finally:
                fairy.close()

        switched = switch("delete")
        try:
            yield
        finally:
            if switched:
                switch("wal")

    def _tx(self) -> Any:
        # The outermost write transaction takes the write lock up front (BEGIN IMMEDIATE),
        # so two writers queue on busy_timeout instead of failing on lock upgrade.
        if self._conn is None:
            self._writing = True
        return super()._tx()

    def _read(self) -> Any:
        if self._conn is None:
            self._writing = False
        return super()._read()

    @staticmethod
    def _raw(conn: Connection) -> sqlite3.Connection:
        return conn.connection.driver_connection  # type: ignore[return-value]

    def _init_backend(self, conn: Connection) -> None:
        raw = self._raw(conn)
        for ddl in _CORE_DDL:
            raw.execute(ddl)
        raw.executemany(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _SRS_ROWS
        )
        raw.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        raw.execute(f"PRAGMA user_version = {_USER_VERSION}")

    def _migrate(self, conn: Connection, current: int) -> list[int]:
        applied = super()._migrate(conn, current)
        raw = self._raw(conn)
        for (table,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tg\\_%' ESCAPE '\\'"
        ).fetchall():
            self._hide(raw, table)
        return applied

    @staticmethod
    def _hide(raw: sqlite3.Connection, table: str) -> None:
        """Register an internal table with an extension data_type so GIS tools skip it.

        GDAL lists unregistered tables as layers; tables registered with a data_type it
        does not know (GeoPackage allows extension-defined values) are not listed.
        """
        raw.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, srs_id) VALUES (?, 'x-tangguh', ?, 'Tangguh internal table', 0)",
            (table, table),
        )

    def raster_dir(self) -> Path:
        return self.path.with_suffix(".rasters")

    # -- feature tables -------------------------------------------------------------------
    def _triggers(self, layer_id: str) -> list[str]:
        t, r = _q(layer_id), _q(f"rtree_{layer_id}_geom")
        n = f"rtree_{layer_id}_geom"
        vals = (
            'NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), '
            'ST_MaxY(NEW."geom")'
        )
        return [
            f'CREATE TRIGGER {_q(n + "_insert")} AFTER INSERT ON {t} WHEN (NEW."geom" NOT NULL '
            f'AND NOT ST_IsEmpty(NEW."geom")) BEGIN INSERT OR REPLACE INTO {r} '
            f"VALUES ({vals}); END",
            f'CREATE TRIGGER {_q(n + "_update1")} AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = '
            f'NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN INSERT OR '
            f"REPLACE INTO {r} VALUES ({vals}); END",
            f'CREATE TRIGGER {_q(n + "_update2")} AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = '
            f'NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM {r} '
            f'WHERE id = OLD."fid"; END',
            f'CREATE TRIGGER {_q(n + "_update3")} AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" '
            f'AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM {r} WHERE '
            f'id = OLD."fid"; INSERT OR REPLACE INTO {r} VALUES ({vals}); END',
            f'CREATE TRIGGER {_q(n + "_update4")} AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" '
            f'AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM {r} WHERE id IN '
            f'(OLD."fid", NEW."fid"); END',
            f'CREATE TRIGGER {_q(n + "_delete")} AFTER DELETE ON {t} WHEN OLD."geom" NOT NULL '
            f'BEGIN DELETE FROM {r} WHERE id = OLD."fid"; END',
        ]

    def _create_feature_tables(
        self, conn: Connection, layer_id: str, kinds: list[tuple[str, str]], geometry_type: str
    ) -> None:
        raw = self._raw(conn)
        cols = "".join(f", {_q(n)} {KINDS[k][0]}" for n, k in kinds)
        raw.execute(
            f'CREATE TABLE {_q(layer_id)} ("fid" INTEGER PRIMARY KEY NOT NULL, '
            f'"geom" {geometry_type}{cols}, "tg_version" INTEGER NOT NULL)'
        )
        raw.execute(
            f'CREATE TABLE {_q(layer_id + "__history")} ("fid" INTEGER NOT NULL, '
            f'"geom" BLOB{cols}, "tg_version" INTEGER NOT NULL, "tg_vto" INTEGER NOT NULL)'
        )
        raw.execute(
            f"CREATE INDEX {_q(layer_id + '__history_v')} ON "
            f'{_q(layer_id + "__history")} ("tg_version", "tg_vto")'
        )
        raw.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "srs_id) VALUES (?, 'features', ?, '', 4326)",
            (layer_id, layer_id),
        )
        self._hide(raw, layer_id + "__history")
        raw.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)",
            (layer_id, geometry_type),
        )
        raw.execute(
            f"CREATE VIRTUAL TABLE {_q(f'rtree_{layer_id}_geom')} USING "
            "rtree(id, minx, maxx, miny, maxy)"
        )
        raw.execute(
            "INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
            "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            (layer_id,),
        )
        for ddl in self._triggers(layer_id):
            raw.execute(ddl)

    def _add_columns(
        self,
        conn: Connection,
        layer_id: str,
        main: list[tuple[str, str]],
        history: list[tuple[str, str]],
    ) -> None:
        raw = self._raw(conn)
        for table, cols in ((layer_id, main), (layer_id + "__history", history)):
            for name, kind in cols:
                raw.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {_q(name)} {KINDS[kind][0]}")

    def _drop_columns(self, conn: Connection, layer_id: str, names: list[str]) -> None:
        raw = self._raw(conn)
        for name in names:
            raw.execute(f"ALTER TABLE {_q(layer_id)} DROP COLUMN {_q(name)}")

    def _main_columns(self, raw: sqlite3.Connection, table: str) -> list[str]:
        return [r[1] for r in raw.execute(f"PRAGMA table_info({_q(table)})")]

    def _rtree_node_size(self, conn: Connection, layer_id: str) -> int | None:
        return node_size(self._raw(conn), f"rtree_{layer_id}_geom")

    def _insert_features(
        self,
        conn: Connection,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        kinds: list[tuple[str, str]],
        version: int,
        fids: np.ndarray[Any, Any] | None,
        pending: PendingPoints | None = None,
    ) -> None:
        raw = self._raw(conn)
        n = len(frame)
        if n == 0:
            return
        if fids is None:
            start = (
                raw.execute(
                    "SELECT max(m) FROM (SELECT max(fid) AS m FROM "
                    + _q(layer_id)
                    + " UNION ALL SELECT max(fid) FROM "
                    + _q(layer_id + "__history")
                    + ")"
                ).fetchone()[0]
                or 0
            )
            fid_list = list(range(int(start) + 1, int(start) + 1 + n))
        else:
            fid_list = [int(f) for f in fids]
        blobs, bounds = _gpkgblob.encode(frame.geometry.to_numpy())
        columns = [to_db_values(frame[name], kind, dialect="sqlite") for name, kind in kinds]
        trigger = _q(f"rtree_{layer_id}_geom_insert")
        raw.execute(f"DROP TRIGGER {trigger}")
        main_max = raw.execute(f"SELECT max(fid) FROM {_q(layer_id)}").fetchone()[0] or 0
        # New rows numbered right after the table's last fid: let SQLite number them
        # (INTEGER PRIMARY KEY = max + 1), which saves binding a value per row.
        auto_fid = fids is None and fid_list[0] == int(main_max) + 1
        names = ", ".join(
            [*([] if auto_fid else ["fid"]), "geom", *(_q(c) for c, _ in kinds), "tg_version"]
        )
        marks = ", ".join(["?"] * (len(kinds) + (1 if auto_fid else 2)) + [str(int(version))])
        rows = (
            zip(blobs, *columns, strict=True)
            if auto_fid
            else zip(fid_list, blobs, *columns, strict=True)
        )
        raw.executemany(f"INSERT INTO {_q(layer_id)} ({names}) VALUES ({marks})", rows)
        ok = ~np.isnan(bounds[:, 0])
        fid_arr = np.asarray(fid_list, dtype=np.int64)
        rtree = f"rtree_{layer_id}_geom"
        empty = raw.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {_q(rtree)})").fetchone()[0]
        packed = pending.rtree() if pending is not None and empty else None
        if packed is not None and np.array_equal(np.sort(packed.leaf_ids), fid_arr[ok]):
            write_packed(raw, rtree, packed)  # packed beside the insert (_points)
        elif empty and ok.sum() > PACK_MIN:
            bulk_load(raw, rtree, fid_arr[ok], bounds[ok])
        else:
            raw.executemany(
                f"INSERT INTO {_q(rtree)} VALUES (?, ?, ?, ?, ?)",
                zip(
                    fid_arr[ok].tolist(),
                    bounds[ok, 0].tolist(),
                    bounds[ok, 2].tolist(),
                    bounds[ok, 1].tolist(),
                    bounds[ok, 3].tolist(),
                    strict=True,
                ),
            )
        raw.execute(self._triggers(layer_id)[0])

    def _stage_fids(self, raw: sqlite3.Connection, fids: np.ndarray[Any, Any]) -> None:
        raw.execute("CREATE TEMP TABLE IF NOT EXISTS _tg_fids (fid INTEGER PRIMARY KEY)")
        raw.execute("DELETE FROM _tg_fids")
        raw.executemany("INSERT INTO _tg_fids VALUES (?)", ((int(f),) for f in fids))

    def _archive(
        self, conn: Connection, layer_id: str, fids: np.ndarray[Any, Any], version: int
    ) -> None:
        raw = self._raw(conn)
        self._stage_fids(raw, fids)
        cols = ", ".join(_q(c) for c in self._main_columns(raw, layer_id))
        raw.execute(
            f"INSERT INTO {_q(layer_id + '__history')} ({cols}, tg_vto) SELECT {cols}, ? "
            f"FROM {_q(layer_id)} WHERE fid IN (SELECT fid FROM _tg_fids)",
            (version,),
        )
        raw.execute(f"DELETE FROM {_q(layer_id)} WHERE fid IN (SELECT fid FROM _tg_fids)")

    def _select_features(
        self,
        conn: Connection,
        layer_id: str,
        kinds: Sequence[tuple[str, str]],
        *,
        with_fid: bool,
        version: int | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> gpd.GeoDataFrame:
        raw = self._raw(conn)
        main_cols = set(self._main_columns(raw, layer_id))
        names = [n for n, _ in kinds]
        params: list[Any] = []
        conds = []
        for name, value in (where or {}).items():
            conds.append(f"{_q(name)} = ?")
            params.append(int(value) if isinstance(value, bool | np.bool_) else value)

        def part(table: str, cols: set[str], extra: str) -> str:
            sel = ", ".join(_q(n) if n in cols else f"NULL AS {_q(n)}" for n in names)
            clause = " AND ".join(c for c in (extra, *conds) if c)
            return f'SELECT "fid", {_WKB_SQL}{", " + sel if sel else ""} FROM {_q(table)}' + (
                f" WHERE {clause}" if clause else ""
            )

        if version is None:
            extra = ""
            if bbox is not None:
                extra = (
                    f'"fid" IN (SELECT id FROM {_q(f"rtree_{layer_id}_geom")} WHERE '
                    f"minx <= {float(bbox[2])!r} AND maxx >= {float(bbox[0])!r} AND "
                    f"miny <= {float(bbox[3])!r} AND maxy >= {float(bbox[1])!r})"
                )
            sql = part(layer_id, main_cols, extra) + ' ORDER BY "fid"'
            args = params
        else:
            hist_cols = set(self._main_columns(raw, layer_id + "__history"))
            sql = (
                part(layer_id, main_cols, f'"tg_version" <= {int(version)}')
                + " UNION ALL "
                + part(
                    layer_id + "__history",
                    hist_cols,
                    f'"tg_version" <= {int(version)} AND "tg_vto" > {int(version)}',
                )
                + ' ORDER BY "fid"'
            )
            args = params + params
        rows = raw.execute(sql, args).fetchall()
        frame = columns_frame(rows, ["fid", "geom", *names])
        geoms = shapely.from_wkb(frame.pop("geom").to_numpy(object))
        if version is not None and bbox is not None and len(frame):
            keep = shapely.intersects(geoms, shapely.box(*bbox))
            frame, geoms = frame[keep].reset_index(drop=True), geoms[keep]
        return self._decorate(frame, kinds, geoms, with_fid=with_fid)

    def _extent(self, conn: Connection, layer_id: str) -> tuple[float, float, float, float] | None:
        """The layer's bbox from the R-tree's root node: its cells cover the whole tree.

        O(1) instead of a scan; float32 coordinates rounded outwards, as in the index.
        """
        raw = self._raw(conn)
        node = raw.execute(
            f"SELECT data FROM {_q(f'rtree_{layer_id}_geom_node')} WHERE nodeno = 1"
        ).fetchone()
        count = int.from_bytes(node[0][2:4], "big") if node else 0
        if count == 0:
            return None
        cells = np.frombuffer(node[0], dtype=_CELL_DTYPE, count=count, offset=4)
        box = cells["box"].astype(np.float64)
        return (
            float(box[:, 0].min()),
            float(box[:, 2].min()),
            float(box[:, 1].max()),
            float(box[:, 3].max()),
        )

    def _sync_catalogue(self, conn: Connection, layer_id: str) -> None:
        raw = self._raw(conn)
        row = raw.execute(
            "SELECT kind, title_en, title_id, description_en, minx, miny, maxx, "
            "maxy FROM tg_layer WHERE id = ?",
            (layer_id,),
        ).fetchone()
        if row is None or row[0] != "vector":
            return
        raw.execute(
            "UPDATE gpkg_contents SET identifier = ?, description = ?, min_x = ?, min_y = ?, "
            "max_x = ?, max_y = ?, last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
            "WHERE table_name = ?",
            (row[1] or row[2] or layer_id, row[3] or "", row[4], row[5], row[6], row[7], layer_id),
        )

    def _drop_feature_tables(self, conn: Connection, layer_id: str) -> None:
        raw = self._raw(conn)
        raw.execute(f"DROP TABLE IF EXISTS {_q(f'rtree_{layer_id}_geom')}")
        raw.execute(f"DROP TABLE IF EXISTS {_q(layer_id)}")
        raw.execute(f"DROP TABLE IF EXISTS {_q(layer_id + '__history')}")
        for table in ("gpkg_extensions", "gpkg_geometry_columns", "gpkg_contents"):
            raw.execute(
                f"DELETE FROM {table} WHERE table_name IN (?, ?)",
                (layer_id, layer_id + "__history"),
            )

    def _bulk_observations(self, conn: Connection, obs: pd.DataFrame) -> None:
        raw = self._raw(conn)
        micros = obs["t"].to_numpy("datetime64[us]").astype(np.int64).tolist()
        raw.executemany(
            "INSERT OR REPLACE INTO tg_observation (station_id, parameter, t, value, unit, "
            "quality, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
            zip(
                *(plain_list(obs[c]) for c in ("station_id", "parameter")),
                micros,
                plain_list(obs["value"]),
                *(plain_list(obs[c]) for c in ("unit", "quality", "source")),
                strict=True,
            ),
        )
