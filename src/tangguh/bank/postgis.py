"""The server bank: PostgreSQL + PostGIS, chosen by a ``postgresql://`` URL.

Same contract and tests as the GeoPackage bank. Layers are ordinary PostGIS tables
(``geometry(<type>, 4326)`` with a GiST index) that QGIS and GDAL open directly; bulk
loads go through ``COPY``. ``?schema=NAME`` in the URL keeps the bank in one schema, so
several banks can share a database. Rasters live in a directory: ``?rasters=/path`` or
``TANGGUH_RASTER_DIR`` (default ``~/.local/share/tangguh/rasters/<database>/<schema>``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.exc import OperationalError

from tangguh.bank._columns import KINDS, columns_frame, plain_list, to_db_values
from tangguh.bank._points import PendingPoints
from tangguh.bank._sqlbank import SqlBank
from tangguh.errors import BankError

__all__ = ["PostgisBank"]

_PG_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
    "GEOMETRY": "Geometry",
}
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class PostgisBank(SqlBank):
    """A bank in a PostgreSQL database with the PostGIS extension."""

    dialect = "postgresql"

    def __init__(self, url: str, *, create: bool = True) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.schema = (query.pop("schema", ["public"]) or ["public"])[0]
        if not _SCHEMA.match(self.schema):
            raise BankError(
                f"invalid schema name {self.schema!r}",
                where="bank URL ?schema=",
                hint="use lower-case letters, digits and underscores",
                message_id=f"nama skema {self.schema!r} tidak sah",
                hint_id="gunakan huruf kecil, angka dan garis bawah",
            )
        rasters = query.pop("rasters", [None])[0]
        database = parts.path.lstrip("/") or "postgres"
        self._raster_dir = Path(
            rasters
            or os.environ.get("TANGGUH_RASTER_DIR")
            or Path.home() / ".local/share/tangguh/rasters" / database / self.schema
        )
        scheme = "postgresql+psycopg"
        sa_url = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query, doseq=True), ""))
        engine = create_engine(sa_url, pool_pre_ping=True)
        schema = self.schema

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: psycopg.Connection[Any], _record: object) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET search_path TO {_q(schema)}, public")
            dbapi_conn.commit()

        try:
            super().__init__(engine, _redact(url), create=create)
        except OperationalError as exc:
            raise BankError(
                f"cannot connect to PostgreSQL: {exc.orig}",
                where=_redact(url),
                hint="check the URL, that the server runs and the database exists (createdb NAME)",
                message_id=f"tidak dapat terhubung ke PostgreSQL: {exc.orig}",
                hint_id="periksa URL, pastikan server berjalan dan basis datanya ada (createdb "
                "NAME)",
            ) from exc

    @staticmethod
    def _raw(conn: Connection) -> psycopg.Connection[Any]:
        return conn.connection.driver_connection  # type: ignore[return-value]

    def _init_backend(self, conn: Connection) -> None:
        raw = self._raw(conn)
        try:
            with raw.transaction():
                raw.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise BankError(
                f"PostGIS is not available in this database: {exc}",
                where=self.url,
                hint="install PostGIS (apt-get install postgresql-15-postgis-3) and run "
                "CREATE EXTENSION postgis as a superuser",
                message_id=f"PostGIS tidak tersedia di basis data ini: {exc}",
                hint_id="pasang PostGIS (apt-get install postgresql-15-postgis-3) lalu jalankan "
                "CREATE EXTENSION postgis sebagai superuser",
            ) from exc
        raw.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(self.schema)}")

    def raster_dir(self) -> Path:
        return self._raster_dir

    # -- feature tables ------------------------------------------------------------------
    def _create_feature_tables(
        self, conn: Connection, layer_id: str, kinds: list[tuple[str, str]], geometry_type: str
    ) -> None:
        raw = self._raw(conn)
        gtype = _PG_TYPES.get(geometry_type, "Geometry")
        cols = "".join(f", {_q(n)} {KINDS[k][1]}" for n, k in kinds)
        raw.execute(
            f"CREATE TABLE {_q(layer_id)} (fid BIGINT GENERATED BY DEFAULT AS IDENTITY "
            f"PRIMARY KEY, geom geometry({gtype}, 4326){cols}, tg_version INTEGER NOT NULL)"
        )
        raw.execute(
            f"CREATE TABLE {_q(layer_id + '__history')} (fid BIGINT NOT NULL, "
            f"geom geometry(Geometry, 4326){cols}, tg_version INTEGER NOT NULL, "
            "tg_vto INTEGER NOT NULL)"
        )
        raw.execute(
            f"CREATE INDEX {_q(layer_id + '_geom_gist')} ON {_q(layer_id)} USING GIST (geom)"
        )
        raw.execute(
            f"CREATE INDEX {_q(layer_id + '__history_v')} ON "
            f"{_q(layer_id + '__history')} (tg_version, tg_vto)"
        )

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
                raw.execute(f"ALTER TABLE {_q(table)} ADD COLUMN {_q(name)} {KINDS[kind][1]}")

    def _drop_columns(self, conn: Connection, layer_id: str, names: list[str]) -> None:
        raw = self._raw(conn)
        for name in names:
            raw.execute(f"ALTER TABLE {_q(layer_id)} DROP COLUMN {_q(name)}")

    def _main_columns(self, raw: psycopg.Connection[Any], table: str) -> list[str]:
        rows = raw.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = %s ORDER BY ordinal_position",
            (self.schema, table),
        ).fetchall()
        return [r[0] for r in rows]

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
                    f"SELECT greatest((SELECT max(fid) FROM {_q(layer_id)}), "
                    f"(SELECT max(fid) FROM {_q(layer_id + '__history')}))"
                ).fetchone()
                or (0,)
            )[0] or 0
            fid_list = list(range(int(start) + 1, int(start) + 1 + n))
        else:
            fid_list = [int(f) for f in fids]
        geoms = shapely.set_srid(frame.geometry.to_numpy(), 4326)
        ewkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
        columns = [to_db_values(frame[name], kind, dialect="postgresql") for name, kind in kinds]
        names = ", ".join(["fid", "geom", *(_q(c) for c, _ in kinds), "tg_version"])
        with raw.cursor() as cur, cur.copy(f"COPY {_q(layer_id)} ({names}) FROM STDIN") as copy:
            for row in zip(fid_list, ewkb, *columns, [version] * n, strict=True):
                copy.write_row(row)
        raw.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'fid'), "
            f"greatest((SELECT max(fid) FROM {_q(layer_id)}), 1))",
            (f"{_q(self.schema)}.{_q(layer_id)}",),
        )

    def _archive(
        self, conn: Connection, layer_id: str, fids: np.ndarray[Any, Any], version: int
    ) -> None:
        raw = self._raw(conn)
        cols = ", ".join(_q(c) for c in self._main_columns(raw, layer_id))
        ids = [int(f) for f in fids]
        raw.execute(
            f"INSERT INTO {_q(layer_id + '__history')} ({cols}, tg_vto) SELECT {cols}, %s "
            f"FROM {_q(layer_id)} WHERE fid = ANY(%s)",
            (version, ids),
        )
        raw.execute(f"DELETE FROM {_q(layer_id)} WHERE fid = ANY(%s)", (ids,))

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
        names = [n for n, _ in kinds]
        conds: list[str] = []
        params: list[Any] = []
        for name, value in (where or {}).items():
            conds.append(f"{_q(name)} = %s")
            params.append(value.item() if isinstance(value, np.generic) else value)
        if bbox is not None:
            conds.append("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)")
            params.extend(float(b) for b in bbox)

        def part(table: str, cols: set[str], extra: list[str]) -> str:
            sel = "".join(f", {_q(n)}" if n in cols else f", NULL AS {_q(n)}" for n in names)
            clause = " AND ".join(extra + conds)
            return f"SELECT fid, ST_AsBinary(geom){sel} FROM {_q(table)}" + (
                f" WHERE {clause}" if clause else ""
            )

        if version is None:
            sql = part(layer_id, set(self._main_columns(raw, layer_id)), []) + " ORDER BY fid"
            args = params
        else:
            v = int(version)
            sql = (
                part(layer_id, set(self._main_columns(raw, layer_id)), [f"tg_version <= {v}"])
                + " UNION ALL "
                + part(
                    layer_id + "__history",
                    set(self._main_columns(raw, layer_id + "__history")),
                    [f"tg_version <= {v}", f"tg_vto > {v}"],
                )
                + " ORDER BY fid"
            )
            args = params + params
        rows = raw.execute(sql, args).fetchall()
        frame = columns_frame(rows, ["fid", "geom", *names])
        wkb = frame.pop("geom").map(lambda b: None if b is None else bytes(b))
        geoms = shapely.from_wkb(wkb.to_numpy(object))
        return self._decorate(frame, kinds, geoms, with_fid=with_fid)

    def _extent(self, conn: Connection, layer_id: str) -> tuple[float, float, float, float] | None:
        raw = self._raw(conn)
        row = raw.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent(geom) AS e FROM {_q(layer_id)}) s"
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return (row[0], row[1], row[2], row[3])

    def _drop_feature_tables(self, conn: Connection, layer_id: str) -> None:
        raw = self._raw(conn)
        raw.execute(f"DROP TABLE IF EXISTS {_q(layer_id)}, {_q(layer_id + '__history')}")

    def _bulk_observations(self, conn: Connection, obs: pd.DataFrame) -> None:
        raw = self._raw(conn)
        raw.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _tg_obs (station_id TEXT, parameter TEXT, "
            "t TIMESTAMPTZ, value DOUBLE PRECISION, unit TEXT, quality TEXT, source TEXT) "
            "ON COMMIT DROP"
        )
        stamps = np.datetime_as_string(obs["t"].to_numpy("datetime64[us]"), unit="us")
        with raw.cursor() as cur, cur.copy("COPY _tg_obs FROM STDIN") as copy:
            for row in zip(
                plain_list(obs["station_id"]),
                plain_list(obs["parameter"]),
                (s + "+00" for s in stamps),
                plain_list(obs["value"]),
                *(plain_list(obs[c]) for c in ("unit", "quality", "source")),
                strict=True,
            ):
                copy.write_row(row)
        raw.execute(
            "INSERT INTO tg_observation (station_id, parameter, t, value, unit, quality, source) "
            "SELECT DISTINCT ON (station_id, parameter, t) * FROM _tg_obs "
            "ON CONFLICT (station_id, parameter, t) DO UPDATE SET value = EXCLUDED.value, "
            "unit = EXCLUDED.unit, quality = EXCLUDED.quality, source = EXCLUDED.source"
        )
        raw.execute("DROP TABLE _tg_obs")
