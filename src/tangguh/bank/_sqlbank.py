"""Behaviour both backends share: catalogue, versions, stations, observations, attributes.

A backend subclass supplies the feature-table primitives (``_create_feature_tables``,
``_insert_features``, ``_select_features``, …) and bulk paths; everything else is here,
written once with SQLAlchemy Core.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, insert, inspect, select, update

from tangguh import __version__
from tangguh._gc import paused_gc
from tangguh.bank import _schema as S
from tangguh.bank._analyses import AnalysesMixin
from tangguh.bank._catalogue import CatalogueMixin
from tangguh.bank._columns import column_kinds, restore_dtypes
from tangguh.bank._points import LayerPoints, PendingPoints, PointsMixin, start_points
from tangguh.bank._prepare import (
    coerce_numeric,
    merge_geometry_type,
    merge_kinds,
    prepare_geometry,
)
from tangguh.bank._raster import RasterMixin
from tangguh.bank._timeseries import TimeSeriesMixin
from tangguh.bank._versioning import diff_rows, row_hashes
from tangguh.bank.base import Bank, LayerMeta, VersionInfo, validate_layer_id
from tangguh.bank.migrations import MIGRATIONS
from tangguh.errors import BankVersionError, InputError, NotFoundError

__all__ = ["SqlBank"]


#: New layers with at least this many (non-point) features get their representative
#: points cached at write time; smaller ones are cached on first use.
_POINTS_AT_WRITE = 50_000


def _now() -> datetime:
    return datetime.now(UTC)


class SqlBank(CatalogueMixin, TimeSeriesMixin, RasterMixin, AnalysesMixin, PointsMixin, Bank):
    """A bank stored in a SQL database through SQLAlchemy (shared by both backends)."""

    dialect: str

    def __init__(self, engine: Engine, url: str, *, create: bool = True) -> None:
        self.url = url
        self._engine = engine
        self._conn: Connection | None = None
        self._depth = 0
        self._init_storage(create=create)

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._tx():
            yield

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A connection inside a transaction; nested calls share the outermost one."""
        if self._conn is not None:
            self._depth += 1
            try:
                yield self._conn
            finally:
                self._depth -= 1
            return
        with self._engine.begin() as conn:
            self._conn = conn
            self._after_begin(conn)
            try:
                yield conn
            finally:
                self._conn = None

    def begin(self) -> AbstractContextManager[Connection]:
        """A SQLAlchemy connection in a write transaction (nested calls share it).

        For modules that keep their own tables in the bank (``tangguh.warning``): they
        use Core statements on the tables they define, so both backends work.
        """
        return self._tx()

    def connect(self) -> AbstractContextManager[Connection]:
        """A SQLAlchemy connection for reading (inside the open transaction, if any)."""
        return self._read()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
            return
        with self._engine.connect() as conn:
            yield conn

    def layer_versions(self) -> dict[str, int]:
        # Called on every warm indicator run: a plain DB-API query on a pooled
        # connection (or the open transaction's), without building Core statements.
        sql = "SELECT id, current_version FROM tg_layer"
        if self._conn is not None:
            rows = self._conn.exec_driver_sql(sql).all()
        else:
            raw = self._engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute(sql)
                rows = cur.fetchall()
                cur.close()
            finally:
                raw.close()  # back to the pool (rolled back there)
        return {str(r[0]): int(r[1] or 0) for r in rows}

    def _after_begin(self, conn: Connection) -> None:
        """Backend hook run at the start of every write transaction."""

    def _init_storage(self, *, create: bool) -> None:
        with self._tx() as conn:
            existing = inspect(conn).has_table("tg_meta")
            if not existing:
                if not create:
                    raise BankVersionError(
                        "not a Tangguh bank",
                        where=self.url,
                        hint="create one with `tangguh db upgrade --bank …`",
                        message_id="bukan bank data Tangguh",
                        hint_id="buat bank data dengan `tangguh db upgrade --bank …`",
                    )
                self._init_backend(conn)
                self._migrate(conn, 0)
                conn.execute(insert(S.tg_meta).values(key="created_with", value=__version__))
        version = self.schema_version()
        if version > S.SCHEMA_VERSION:
            raise BankVersionError(
                f"the bank has schema version {version}, newer than this Tangguh "
                f"({__version__}, schema {S.SCHEMA_VERSION})",
                where=self.url,
                hint="upgrade Tangguh (pip install -U tangguh)",
                message_id=f"skema bank data versi {version}, lebih baru daripada Tangguh ini "
                f"({__version__}, skema {S.SCHEMA_VERSION})",
                hint_id="perbarui Tangguh (pip install -U tangguh)",
            )

    def _check_current(self) -> None:
        version = self.schema_version()
        if version < S.SCHEMA_VERSION:
            raise BankVersionError(
                f"the bank has schema version {version}; this Tangguh needs {S.SCHEMA_VERSION}",
                where=self.url,
                hint=f"run `tangguh db upgrade --bank {self.url}` (keeps your data)",
                message_id=f"skema bank data versi {version}; Tangguh ini memerlukan versi "
                f"{S.SCHEMA_VERSION}",
                hint_id=f"jalankan `tangguh db upgrade --bank {self.url}` (data Anda tetap utuh)",
            )

    @abstractmethod
    def _init_backend(self, conn: Connection) -> None:
        """Create what the backend needs before the Tangguh tables (GPKG core, PostGIS)."""

    def _migrate(self, conn: Connection, current: int) -> list[int]:
        applied = []
        for version, step in MIGRATIONS:
            if version > current:
                step(conn)
                applied.append(version)
        if applied:
            value = str(applied[-1])
            found = conn.execute(
                select(S.tg_meta.c.value).where(S.tg_meta.c.key == "schema_version")
            ).first()
            if found is None:
                conn.execute(insert(S.tg_meta).values(key="schema_version", value=value))
            else:
                conn.execute(
                    update(S.tg_meta).where(S.tg_meta.c.key == "schema_version").values(value=value)
                )
        return applied

    def schema_version(self) -> int:
        with self._read() as conn:
            value = conn.execute(
                select(S.tg_meta.c.value).where(S.tg_meta.c.key == "schema_version")
            ).scalar()
        return int(value or 0)

    def upgrade(self) -> list[int]:
        with self._tx() as conn:
            return self._migrate(conn, self.schema_version())

    # -- vector layers -----------------------------------------------------------------
    def write_layer(
        self,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        meta: LayerMeta | None = None,
        *,
        key: str | None = None,
        author: str | None = None,
        message: str | None = None,
        mode: Literal["replace", "append"] = "replace",
    ) -> VersionInfo:
        with paused_gc():  # bulk work: see tangguh._gc
            return self._write_layer(
                layer_id, frame, meta, key=key, author=author, message=message, mode=mode
            )

    def _write_layer(
        self,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        meta: LayerMeta | None,
        *,
        key: str | None,
        author: str | None,
        message: str | None,
        mode: Literal["replace", "append"],
    ) -> VersionInfo:
        validate_layer_id(layer_id)
        self._check_current()
        if not isinstance(frame, gpd.GeoDataFrame):
            raise InputError(
                "write_layer needs a GeoDataFrame",
                where=f"layer {layer_id}",
                message_id="write_layer memerlukan GeoDataFrame",
            )
        frame, geometry_type = prepare_geometry(frame, layer_id)
        frame = frame.reset_index(drop=True)
        kinds = column_kinds(frame)
        for name, _ in kinds:
            if name.lower() in ("fid", "geom", "tg_version", "tg_vto"):
                raise InputError(
                    f"column name {name!r} is reserved",
                    where=f"layer {layer_id}",
                    hint="rename the column (e.g. --rename fid=source_fid)",
                    message_id=f"nama kolom {name!r} sudah dipakai oleh sistem",
                    hint_id="ganti nama kolom (mis. --rename fid=source_fid)",
                )
        if key is not None and key not in frame.columns:
            raise InputError(
                f"key column {key!r} is not in the data",
                where=f"layer {layer_id}",
                hint=f"choose one of {[k for k, _ in kinds]}",
                message_id=f"kolom kunci {key!r} tidak ada di data",
                hint_id=f"pilih salah satu dari {[k for k, _ in kinds]}",
            )
        if key is not None and frame[key].duplicated().any():
            dup = frame.loc[frame[key].duplicated(), key].iloc[0]
            raise InputError(
                f"key column {key!r} has duplicate values (e.g. {dup!r})",
                where=f"layer {layer_id}, column {key}",
                hint="choose a unique key column or import without --key",
                message_id=f"kolom kunci {key!r} memiliki nilai ganda (mis. {dup!r})",
                hint_id="pilih kolom kunci yang unik atau impor tanpa --key",
            )
        now = _now()
        with self._tx() as conn:
            row = self._layer_row(conn, layer_id)
            if row is not None and row["kind"] != "vector":
                raise InputError(
                    f"layer {layer_id!r} is a raster layer",
                    where=f"layer {layer_id}",
                    hint="delete it first or use another layer id",
                    message_id=f"lapisan {layer_id!r} adalah lapisan raster",
                    hint_id="hapus lapisan itu terlebih dahulu atau gunakan ID lapisan lain",
                )
            if row is None:
                version = 1
                self._create_feature_tables(conn, layer_id, kinds, geometry_type)
                all_kinds = kinds
                added, changed, removed = len(frame), 0, 0
                # Representative points of a big new layer, computed beside the insert.
                points = (
                    start_points(
                        frame.geometry.to_numpy(),
                        rtree_size=self._rtree_node_size(conn, layer_id),
                    )
                    if len(frame) >= _POINTS_AT_WRITE and geometry_type != "Point"
                    else None
                )
                try:
                    self._insert_features(
                        conn, layer_id, frame, kinds, version, fids=None, pending=points
                    )
                    if points is not None:
                        x, y = points.result()
                        fids = np.arange(1, len(frame) + 1, dtype=np.int64)
                        self._store_points(conn, layer_id, version, LayerPoints(fids, x, y))
                finally:
                    if points is not None:
                        points.close()
                values = (meta or LayerMeta()).to_dict()
                values.update(
                    id=layer_id,
                    kind="vector",
                    geometry_type=geometry_type,
                    crs="EPSG:4326",
                    created=now,
                    updated=now,
                    current_version=version,
                    key_column=key,
                    columns=[list(k) for k in kinds],
                )
                values["extra"] = {
                    **values.get("extra", {}),
                    "history_columns": [list(k) for k in kinds],
                }
                conn.execute(insert(S.tg_layer).values(**values))
            else:
                version = int(row["current_version"]) + 1
                old_kinds = [tuple(k) for k in row["columns"]]
                key = key if key is not None else row["key_column"]
                geometry_type = merge_geometry_type(row["geometry_type"], geometry_type, layer_id)
                all_kinds, new_cols, dropped = merge_kinds(old_kinds, kinds, layer_id, mode=mode)
                frame, kinds = coerce_numeric(frame, old_kinds, kinds, layer_id)
                extra = dict(row["extra"] or {})
                hist_kinds = [tuple(k) for k in extra.get("history_columns", old_kinds)]
                hist_new = [k for k in kinds if k[0] not in {h[0] for h in hist_kinds}]
                self._add_columns(conn, layer_id, new_cols, hist_new)
                if mode == "append":
                    self._insert_features(conn, layer_id, frame, kinds, version, fids=None)
                    added, changed, removed = len(frame), 0, 0
                else:
                    added, changed, removed = self._replace(
                        conn, layer_id, frame, all_kinds, kinds, key, version
                    )
                if dropped:
                    self._drop_columns(conn, layer_id, dropped)
                extra["history_columns"] = [list(k) for k in hist_kinds + hist_new]
                values = meta.to_dict() if meta is not None else {}
                values.update(
                    updated=now,
                    current_version=version,
                    geometry_type=geometry_type,
                    key_column=key,
                    columns=[list(k) for k in all_kinds if k[0] not in dropped],
                )
                if meta is not None:
                    values["extra"] = {**extra, **meta.extra}
                else:
                    values["extra"] = extra
                conn.execute(update(S.tg_layer).where(S.tg_layer.c.id == layer_id).values(**values))
            previous = 0 if row is None else int(row["feature_count"])
            count = previous + added - removed
            bbox = self._extent(conn, layer_id)
            conn.execute(
                update(S.tg_layer)
                .where(S.tg_layer.c.id == layer_id)
                .values(
                    feature_count=count,
                    minx=bbox[0] if bbox else None,
                    miny=bbox[1] if bbox else None,
                    maxx=bbox[2] if bbox else None,
                    maxy=bbox[3] if bbox else None,
                )
            )
            info = VersionInfo(
                layer_id=layer_id,
                version=version,
                created=now,
                author=author,
                message=message,
                added=added,
                changed=changed,
                removed=removed,
                feature_count=count,
            )
            conn.execute(insert(S.tg_layer_version).values(**asdict(info)))
            self._sync_catalogue(conn, layer_id)
        return info

    def _replace(
        self,
        conn: Connection,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        all_kinds: list[tuple[str, str]],
        kinds: list[tuple[str, str]],
        key: str | None,
        version: int,
    ) -> tuple[int, int, int]:
        names = [n for n, _ in all_kinds]
        old = self._select_features(conn, layer_id, all_kinds, with_fid=True)
        new_attrs = frame.reindex(columns=names)
        old_attrs = old.reindex(columns=names)
        new_h = row_hashes(new_attrs, frame.geometry.to_numpy())
        old_h = row_hashes(old_attrs, old.geometry.to_numpy())
        diff = diff_rows(
            old["fid"].to_numpy(np.int64),
            old_h,
            new_h,
            old_keys=old[key].to_numpy(object) if key else None,
            new_keys=frame[key].to_numpy(object) if key else None,
        )
        archived = diff.archived_fids
        if len(archived):
            self._archive(conn, layer_id, archived, version)
        if len(diff.changed_new):
            self._insert_features(
                conn, layer_id, frame.iloc[diff.changed_new], kinds, version, fids=diff.changed_fids
            )
        if len(diff.added):
            self._insert_features(conn, layer_id, frame.iloc[diff.added], kinds, version, fids=None)
        return len(diff.added), len(diff.changed_new), len(diff.removed_fids)

    def read_layer(
        self,
        layer_id: str,
        *,
        version: int | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        where: Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
    ) -> gpd.GeoDataFrame:
        with self._read() as conn:
            row = self._layer_row(conn, layer_id)
            if row is None:
                raise self._not_found(layer_id)
            if row["kind"] != "vector":
                raise InputError(
                    f"layer {layer_id!r} is a raster",
                    hint=f"its file is {self.raster_path(layer_id)}",
                    message_id=f"lapisan {layer_id!r} adalah raster",
                    hint_id=f"berkasnya adalah {self.raster_path(layer_id)}",
                )
            current = int(row["current_version"])
            if version is not None and not 1 <= version <= current:
                raise NotFoundError(
                    f"layer {layer_id!r} has versions 1..{current}, not {version}",
                    hint=f"see `tangguh layer history {layer_id}`",
                    message_id=f"lapisan {layer_id!r} memiliki versi 1..{current}, bukan {version}",
                    hint_id=f"lihat `tangguh layer history {layer_id}`",
                )
            kinds = [tuple(k) for k in row["columns"]]
            if version is not None and version < current:
                kinds = [tuple(k) for k in (row["extra"] or {}).get("history_columns", kinds)]
            known = {n for n, _ in kinds}
            for name in list(columns or []) + list(where or {}):
                if name not in known:
                    raise InputError(
                        f"layer {layer_id!r} has no column {name!r}",
                        hint=f"columns: {sorted(known)}",
                        message_id=f"lapisan {layer_id!r} tidak memiliki kolom {name!r}",
                        hint_id=f"kolom yang ada: {sorted(known)}",
                    )
            sel = [k for k in kinds if columns is None or k[0] in columns]
            frame = self._select_features(
                conn,
                layer_id,
                sel,
                with_fid=False,
                version=None if version is None or version == current else version,
                bbox=bbox,
                where=where,
            )
        return frame

    def _decorate(
        self, frame: pd.DataFrame, kinds: Sequence[tuple[str, str]], geoms: Any, *, with_fid: bool
    ) -> gpd.GeoDataFrame:
        frame = restore_dtypes(frame, list(kinds))
        out = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs="EPSG:4326"
        )
        if not with_fid and "fid" in out.columns:
            out = out.set_index("fid").rename_axis(None)
        return out

    # -- backend primitives ------------------------------------------------------------------
    @abstractmethod
    def _create_feature_tables(
        self, conn: Connection, layer_id: str, kinds: list[tuple[str, str]], geometry_type: str
    ) -> None: ...

    @abstractmethod
    def _add_columns(
        self,
        conn: Connection,
        layer_id: str,
        main: list[tuple[str, str]],
        history: list[tuple[str, str]],
    ) -> None: ...

    @abstractmethod
    def _drop_columns(self, conn: Connection, layer_id: str, names: list[str]) -> None: ...

    def _rtree_node_size(self, conn: Connection, layer_id: str) -> int | None:
        """Bytes per node of the layer's new, empty R*Tree, when the backend packs one
        (the GeoPackage); its packing may then run beside the insert."""
        return None

    @abstractmethod
    def _insert_features(
        self,
        conn: Connection,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        kinds: list[tuple[str, str]],
        version: int,
        fids: np.ndarray[Any, Any] | None,
        pending: PendingPoints | None = None,
    ) -> None: ...

    @abstractmethod
    def _archive(
        self, conn: Connection, layer_id: str, fids: np.ndarray[Any, Any], version: int
    ) -> None:
        """Copy rows to ``<layer>__history`` with ``tg_vto = version`` and delete them."""

    @abstractmethod
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
    ) -> gpd.GeoDataFrame: ...

    @abstractmethod
    def _extent(self, conn: Connection, layer_id: str) -> tuple[float, float, float, float] | None:
        """The bbox of the layer's current rows (None when it has no geometry)."""

    @abstractmethod
    def _drop_feature_tables(self, conn: Connection, layer_id: str) -> None: ...

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        with self._read() as conn:
            from sqlalchemy import func

            out["observations"] = int(
                conn.execute(select(func.count()).select_from(S.tg_observation)).scalar() or 0
            )
        out["schema_version"] = self.schema_version()
        return out
