"""Behaviour both backends share: catalogue, versions, stations, observations, attributes.

A backend subclass supplies the feature-table primitives (``_create_feature_tables``,
``_insert_features``, ``_select_features``, …) and bulk paths; everything else is here,
written once with SQLAlchemy Core.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, and_, delete, insert, inspect, select, text, update

from tangguh import __version__
from tangguh.bank import _schema as S
from tangguh.bank._columns import column_kinds, restore_dtypes
from tangguh.bank._versioning import diff_rows, row_hashes
from tangguh.bank.base import Bank, LayerInfo, LayerMeta, VersionInfo, validate_layer_id
from tangguh.bank.migrations import MIGRATIONS
from tangguh.errors import BankVersionError, InputError, NotFoundError

__all__ = ["SqlBank"]

_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
_STATION_COLUMNS = ("station_id", "name", "kind", "lon", "lat", "river", "unit_id", "source")


def _now() -> datetime:
    return datetime.now(UTC)


def _prepare_geometry(frame: gpd.GeoDataFrame, layer_id: str) -> tuple[gpd.GeoDataFrame, str]:
    """Reproject to EPSG:4326, promote single/multi mixes, return the GPKG geometry type."""
    if frame.crs is None:
        raise InputError(
            f"layer {layer_id!r}: the data have no CRS",
            where=f"layer {layer_id}",
            hint="set one (GeoDataFrame.set_crs) or pass --crs EPSG:XXXX when importing",
        )
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    if not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.to_numpy()
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    names = {_TYPE_NAMES[int(t)] for t in pd.unique(shapely.get_type_id(present))}
    if not names:
        return frame, "GEOMETRY"
    if len(names) == 1:
        return frame, names.pop().upper()
    singles = {n for n in names if n in _MULTI}
    multis = {n for n in names if n not in _MULTI}
    if len(singles) == 1 and multis == {_MULTI[next(iter(singles))]}:
        multi = _MULTI[next(iter(singles))]
        promote: Any = {
            "MultiPoint": shapely.multipoints,
            "MultiLineString": shapely.multilinestrings,
            "MultiPolygon": shapely.multipolygons,
        }[multi]
        is_single = (
            shapely.get_type_id(geoms)
            == {"MultiPoint": 0, "MultiLineString": 1, "MultiPolygon": 3}[multi]
        )
        out = geoms.copy()
        if is_single.any():
            out[is_single] = [promote([g]) for g in geoms[is_single]]
        frame = frame.set_geometry(gpd.GeoSeries(out, index=frame.index, crs=frame.crs))
        return frame, multi.upper()
    raise InputError(
        f"layer {layer_id!r}: mixed geometry types {sorted(names)}",
        where=f"layer {layer_id}",
        hint="split the data into one layer per geometry type (e.g. --geometry-type Polygon)",
    )


class SqlBank(Bank):
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

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
            return
        with self._engine.connect() as conn:
            yield conn

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
            )

    def _check_current(self) -> None:
        version = self.schema_version()
        if version < S.SCHEMA_VERSION:
            raise BankVersionError(
                f"the bank has schema version {version}; this Tangguh needs {S.SCHEMA_VERSION}",
                where=self.url,
                hint=f"run `tangguh db upgrade --bank {self.url}` (keeps your data)",
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

    # -- catalogue -------------------------------------------------------------------
    @staticmethod
    def _info(row: Mapping[str, Any]) -> LayerInfo:
        bbox = None
        if row["minx"] is not None:
            bbox = (row["minx"], row["miny"], row["maxx"], row["maxy"])
        meta = {f.name: row[f.name] for f in fields(LayerMeta) if f.name in row}
        meta["keywords"] = list(meta.get("keywords") or [])
        meta["extra"] = dict(meta.get("extra") or {})
        meta["synthetic"] = bool(meta.get("synthetic"))
        return LayerInfo(
            **meta,
            id=row["id"],
            kind=row["kind"],
            geometry_type=row["geometry_type"],
            crs=row["crs"],
            created=row["created"],
            updated=row["updated"],
            feature_count=int(row["feature_count"]),
            bbox=bbox,
            current_version=int(row["current_version"]),
        )

    def _layer_row(self, conn: Connection, layer_id: str) -> Mapping[str, Any] | None:
        row = conn.execute(select(S.tg_layer).where(S.tg_layer.c.id == layer_id)).mappings().first()
        return None if row is None else dict(row)

    def layers(self) -> list[LayerInfo]:
        self._check_current()
        with self._read() as conn:
            rows = conn.execute(select(S.tg_layer).order_by(S.tg_layer.c.theme, S.tg_layer.c.id))
            return [self._info(dict(r)) for r in rows.mappings()]

    def layer(self, layer_id: str) -> LayerInfo:
        with self._read() as conn:
            row = self._layer_row(conn, layer_id)
        if row is None:
            raise self._not_found(layer_id)
        return self._info(row)

    def _not_found(self, layer_id: str) -> NotFoundError:
        import difflib

        known = [i.id for i in self.layers()]
        close = difflib.get_close_matches(layer_id, known, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "list layers with `tangguh layers`"
        return NotFoundError(f"no layer {layer_id!r} in the bank", where=self.url, hint=hint)

    def update_meta(self, layer_id: str, **values: Any) -> LayerInfo:
        allowed = {f.name for f in fields(LayerMeta)}
        unknown = set(values) - allowed
        if unknown:
            raise InputError(
                f"unknown catalogue fields {sorted(unknown)}", hint=f"use one of {sorted(allowed)}"
            )
        with self._tx() as conn:
            if self._layer_row(conn, layer_id) is None:
                raise self._not_found(layer_id)
            conn.execute(
                update(S.tg_layer)
                .where(S.tg_layer.c.id == layer_id)
                .values(**values, updated=_now())
            )
            self._sync_catalogue(conn, layer_id)
        return self.layer(layer_id)

    def _sync_catalogue(self, conn: Connection, layer_id: str) -> None:
        """Backend hook: mirror catalogue fields into backend metadata (gpkg_contents)."""

    def delete_layer(self, layer_id: str) -> None:
        with self._tx() as conn:
            row = self._layer_row(conn, layer_id)
            if row is None:
                raise self._not_found(layer_id)
            if row["kind"] == "vector":
                self._drop_feature_tables(conn, layer_id)
            else:
                conn.execute(delete(S.tg_raster).where(S.tg_raster.c.layer_id == layer_id))
            conn.execute(
                delete(S.tg_layer_version).where(S.tg_layer_version.c.layer_id == layer_id)
            )
            conn.execute(delete(S.tg_layer).where(S.tg_layer.c.id == layer_id))
        if row["kind"] == "raster":
            self.raster_dir().joinpath(f"{layer_id}.tif").unlink(missing_ok=True)

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
        validate_layer_id(layer_id)
        self._check_current()
        if not isinstance(frame, gpd.GeoDataFrame):
            raise InputError("write_layer needs a GeoDataFrame", where=f"layer {layer_id}")
        frame, geometry_type = _prepare_geometry(frame, layer_id)
        frame = frame.reset_index(drop=True)
        kinds = column_kinds(frame)
        for name, _ in kinds:
            if name.lower() in ("fid", "geom", "tg_version", "tg_vto"):
                raise InputError(
                    f"column name {name!r} is reserved",
                    where=f"layer {layer_id}",
                    hint="rename the column (e.g. --rename fid=source_fid)",
                )
        if key is not None and key not in frame.columns:
            raise InputError(
                f"key column {key!r} is not in the data",
                where=f"layer {layer_id}",
                hint=f"choose one of {[k for k, _ in kinds]}",
            )
        if key is not None and frame[key].duplicated().any():
            dup = frame.loc[frame[key].duplicated(), key].iloc[0]
            raise InputError(
                f"key column {key!r} has duplicate values (e.g. {dup!r})",
                where=f"layer {layer_id}, column {key}",
                hint="choose a unique key column or import without --key",
            )
        now = _now()
        with self._tx() as conn:
            row = self._layer_row(conn, layer_id)
            if row is not None and row["kind"] != "vector":
                raise InputError(
                    f"layer {layer_id!r} is a raster layer",
                    where=f"layer {layer_id}",
                    hint="delete it first or use another layer id",
                )
            if row is None:
                version = 1
                self._create_feature_tables(conn, layer_id, kinds, geometry_type)
                all_kinds = kinds
                added, changed, removed = len(frame), 0, 0
                self._insert_features(conn, layer_id, frame, kinds, version, fids=None)
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
                geometry_type = self._merge_geometry_type(
                    row["geometry_type"], geometry_type, layer_id
                )
                all_kinds, new_cols, dropped = self._merge_kinds(
                    old_kinds, kinds, layer_id, mode=mode
                )
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
            conn.execute(
                insert(S.tg_layer_version).values(
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
            )
            self._sync_catalogue(conn, layer_id)
        return info

    @staticmethod
    def _merge_geometry_type(old: str | None, new: str, layer_id: str) -> str:
        if old in (None, "GEOMETRY") or new == "GEOMETRY" or old == new:
            return old if old not in (None, "GEOMETRY") else new
        if old.startswith("MULTI") and old[5:] == new:
            return old  # singles are promoted on insert
        raise InputError(
            f"layer {layer_id!r} holds {old} geometries, the new data are {new}",
            where=f"layer {layer_id}",
            hint="import into another layer id, or delete the layer first (`tangguh layer delete`)",
        )

    @staticmethod
    def _merge_kinds(
        old: list[tuple[str, str]], new: list[tuple[str, str]], layer_id: str, *, mode: str
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
        old_map = dict(old)
        for name, kind in new:
            if (
                name in old_map
                and old_map[name] != kind
                and not ({old_map[name], kind} <= {"int", "float"})
            ):
                raise InputError(
                    f"column {name!r} was {old_map[name]} and is now {kind}",
                    where=f"layer {layer_id}, column {name}",
                    hint="cast it back (--type name=KIND) or rename the column",
                )
        new_cols = [k for k in new if k[0] not in old_map]
        new_names = {n for n, _ in new}
        dropped = [n for n, _ in old if n not in new_names] if mode == "replace" else []
        return old + new_cols, new_cols, dropped

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
                )
            current = int(row["current_version"])
            if version is not None and not 1 <= version <= current:
                raise NotFoundError(
                    f"layer {layer_id!r} has versions 1..{current}, not {version}",
                    hint=f"see `tangguh layer history {layer_id}`",
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

    def history(self, layer_id: str) -> list[VersionInfo]:
        with self._read() as conn:
            if self._layer_row(conn, layer_id) is None:
                raise self._not_found(layer_id)
            rows = conn.execute(
                select(S.tg_layer_version)
                .where(S.tg_layer_version.c.layer_id == layer_id)
                .order_by(S.tg_layer_version.c.version.desc())
            ).mappings()
            return [
                VersionInfo(
                    **{
                        k: r[k]
                        for k in (
                            "layer_id",
                            "version",
                            "created",
                            "author",
                            "message",
                            "added",
                            "changed",
                            "removed",
                            "feature_count",
                        )
                    }
                )
                for r in rows
            ]

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

    @abstractmethod
    def _insert_features(
        self,
        conn: Connection,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        kinds: list[tuple[str, str]],
        version: int,
        fids: np.ndarray[Any, Any] | None,
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

    # -- rasters -------------------------------------------------------------------------
    @abstractmethod
    def raster_dir(self) -> Path: ...

    def raster_path(self, layer_id: str) -> Path:
        with self._read() as conn:
            path = conn.execute(
                select(S.tg_raster.c.path).where(S.tg_raster.c.layer_id == layer_id)
            ).scalar()
        if path is None:
            raise NotFoundError(
                f"no raster layer {layer_id!r}",
                where=self.url,
                hint="list layers with `tangguh layers`",
            )
        return self.raster_dir() / path

    def register_raster(
        self, layer_id: str, path: Path, meta: LayerMeta | None = None, *, crs: str | None = None
    ) -> LayerInfo:
        from tangguh.bank._raster import raster_to_store

        validate_layer_id(layer_id)
        store = self.raster_dir()
        store.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=store) as tmp:
            staged = Path(tmp) / f"{layer_id}.tif"
            info = raster_to_store(Path(path), staged, crs=crs)
            digest = hashlib.sha256(staged.read_bytes()).hexdigest()
            now = _now()
            final = store / f"{layer_id}.tif"
            with self._tx() as conn:
                if self._layer_row(conn, layer_id) is not None:
                    raise InputError(
                        f"layer {layer_id!r} already exists",
                        where=self.url,
                        hint="delete it first or choose another id",
                    )
                values = (meta or LayerMeta()).to_dict()
                values.setdefault("source", str(path))
                if not values.get("source"):
                    values["source"] = str(path)
                values.update(
                    id=layer_id,
                    kind="raster",
                    geometry_type=None,
                    crs=info["crs"],
                    source_crs=values.get("source_crs") or info["crs"],
                    created=now,
                    updated=now,
                    current_version=1,
                    feature_count=0,
                    minx=info["bbox"][0],
                    miny=info["bbox"][1],
                    maxx=info["bbox"][2],
                    maxy=info["bbox"][3],
                    columns=[],
                )
                conn.execute(insert(S.tg_layer).values(**values))
                conn.execute(
                    insert(S.tg_raster).values(
                        layer_id=layer_id,
                        path=final.name,
                        driver=info["driver"],
                        width=info["width"],
                        height=info["height"],
                        band_count=info["count"],
                        dtype=info["dtype"],
                        nodata=info["nodata"],
                        crs=info["crs"],
                        transform=info["transform"],
                        sha256=digest,
                    )
                )
                conn.execute(
                    insert(S.tg_layer_version).values(
                        layer_id=layer_id,
                        version=1,
                        created=now,
                        author=None,
                        message="raster",
                        added=0,
                        changed=0,
                        removed=0,
                        feature_count=0,
                    )
                )
                shutil.move(staged, final)
        return self.layer(layer_id)

    # -- stations --------------------------------------------------------------------------
    def write_stations(self, stations: pd.DataFrame) -> int:
        missing = {"station_id", "kind"} - set(stations.columns)
        if missing:
            raise InputError(
                f"stations table lacks columns {sorted(missing)}",
                hint="give at least station_id and kind (and lon, lat)",
            )
        if stations["station_id"].isna().any() or stations["station_id"].duplicated().any():
            bad = stations.index[
                stations["station_id"].isna() | stations["station_id"].duplicated()
            ]
            raise InputError(
                "station_id is empty or repeated",
                where=f"rows {list(bad[:5])}",
                hint="give every station a unique id",
            )
        now = _now()
        records = []
        for rec in stations.to_dict("records"):
            out = {c: (None if _isna(rec.get(c)) else rec.get(c)) for c in _STATION_COLUMNS}
            attrs = rec.get("attributes")
            extra = {
                k: v
                for k, v in rec.items()
                if k not in _STATION_COLUMNS
                and k not in ("attributes", "geometry")
                and not _isna(v)
            }
            out["attributes"] = {**(attrs if isinstance(attrs, dict) else {}), **extra}
            out["station_id"] = str(out["station_id"])
            for c in ("lon", "lat"):
                value = out[c]
                out[c] = None if value is None else float(value)
            out["updated"] = now
            records.append(out)
        ids = [r["station_id"] for r in records]
        with self._tx() as conn:
            for chunk in range(0, len(ids), 500):
                conn.execute(
                    delete(S.tg_station).where(
                        S.tg_station.c.station_id.in_(ids[chunk : chunk + 500])
                    )
                )
            if records:
                conn.execute(insert(S.tg_station), records)
        return len(records)

    def stations(self, *, kind: str | None = None) -> gpd.GeoDataFrame:
        query = select(S.tg_station).order_by(S.tg_station.c.station_id)
        if kind is not None:
            query = query.where(S.tg_station.c.kind == kind)
        with self._read() as conn:
            frame = pd.DataFrame(
                conn.execute(query).mappings().all(), columns=[c.name for c in S.tg_station.columns]
            )
        geoms = shapely.points(
            frame["lon"].astype(float).to_numpy(), frame["lat"].astype(float).to_numpy()
        )
        return gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs="EPSG:4326"
        )

    def write_observations(self, observations: pd.DataFrame) -> int:
        missing = {"station_id", "parameter", "t", "value"} - set(observations.columns)
        if missing:
            raise InputError(
                f"observations lack columns {sorted(missing)}",
                hint="give station_id, parameter, t (with time zone), value",
            )
        t = pd.to_datetime(observations["t"], errors="coerce")
        if t.isna().any():
            row = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise InputError(
                "unreadable or missing time",
                where=f"row {row}, field t",
                hint="use ISO 8601 with a zone, e.g. 2024-02-01T07:00:00+07:00",
            )
        if getattr(t.dt, "tz", None) is None:
            raise InputError(
                "observation times have no time zone",
                where="field t",
                hint="add a zone (Jakarta data are usually WIB: +07:00)",
            )
        obs = pd.DataFrame(
            {
                "station_id": observations["station_id"].astype(str).to_numpy(),
                "parameter": observations["parameter"].astype(str).to_numpy(),
                "t": t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]"),
                "value": pd.to_numeric(observations["value"], errors="coerce").to_numpy(float),
            }
        )
        for col, default in (("unit", None), ("quality", "good"), ("source", None)):
            obs[col] = observations[col].to_numpy() if col in observations else default
        with self._read() as conn:
            known = set(conn.execute(select(S.tg_station.c.station_id)).scalars())
        unknown = sorted(set(obs["station_id"]) - known)
        if unknown:
            raise InputError(
                f"observations for unknown stations {unknown[:5]}",
                hint="register the stations first (write_stations / `tangguh stations import`)",
            )
        with self._tx() as conn:
            self._bulk_observations(conn, obs)
        return len(obs)

    @abstractmethod
    def _bulk_observations(self, conn: Connection, obs: pd.DataFrame) -> None:
        """Upsert observations; ``obs.t`` is datetime64[ns] UTC (naive numpy)."""

    def observations(
        self,
        station_id: str,
        *,
        start: datetime | pd.Timestamp | None = None,
        end: datetime | pd.Timestamp | None = None,
        parameter: str | None = None,
    ) -> pd.DataFrame:
        conds = ["station_id = :station"]
        params: dict[str, Any] = {"station": station_id}
        for bound, name, op in ((start, "start", ">="), (end, "end", "<")):
            if bound is None:
                continue
            stamp = pd.Timestamp(bound)
            if stamp.tzinfo is None:
                raise InputError(
                    "time bound without a time zone", hint="give e.g. 2024-02-01T00:00+07:00"
                )
            value = stamp.to_pydatetime()
            params[name] = value if self.dialect == "postgresql" else S.to_micros(value)
            conds.append(f"t {op} :{name}")
        if parameter is not None:
            conds.append("parameter = :parameter")
            params["parameter"] = parameter
        # Plain SQL and one vectorised time conversion: per-row type processing would
        # dominate a query returning thousands of readings.
        query = text(
            "SELECT station_id, parameter, t, value, unit, quality, source FROM tg_observation "
            f"WHERE {' AND '.join(conds)} ORDER BY t, parameter"
        )
        names = ["station_id", "parameter", "t", "value", "unit", "quality", "source"]
        with self._read() as conn:
            rows = conn.execute(query, params).all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        frame = pd.DataFrame({n: list(col) for n, col in zip(names, columns, strict=True)})
        if self.dialect == "postgresql":
            frame["t"] = pd.to_datetime(frame["t"], utc=True)
        else:
            frame["t"] = pd.to_datetime(frame["t"].astype("int64"), unit="us", utc=True)
        frame["value"] = frame["value"].astype("float64")
        return frame

    # -- admin attributes ---------------------------------------------------------------------
    def write_admin_attributes(self, rows: pd.DataFrame) -> int:
        missing = {"unit_id", "attribute", "value"} - set(rows.columns)
        if missing:
            raise InputError(
                f"attribute rows lack columns {sorted(missing)}",
                hint="give unit_id, attribute, value (and year, source)",
            )
        records = [
            {
                "unit_id": str(r["unit_id"]),
                "attribute": str(r["attribute"]),
                "value": None if _isna(r["value"]) else float(r["value"]),
                "year": None if _isna(r.get("year")) else int(r["year"]),
                "source": None if _isna(r.get("source")) else str(r["source"]),
            }
            for r in rows.to_dict("records")
        ]
        with self._tx() as conn:
            for rec in records:
                conn.execute(
                    delete(S.tg_admin_attribute).where(
                        and_(
                            S.tg_admin_attribute.c.unit_id == rec["unit_id"],
                            S.tg_admin_attribute.c.attribute == rec["attribute"],
                        )
                    )
                )
            if records:
                conn.execute(insert(S.tg_admin_attribute), records)
        return len(records)

    def admin_attributes(self, attribute: str | None = None) -> pd.DataFrame:
        query = select(S.tg_admin_attribute).order_by(S.tg_admin_attribute.c.unit_id)
        if attribute is not None:
            query = query.where(S.tg_admin_attribute.c.attribute == attribute)
        with self._read() as conn:
            return pd.DataFrame(
                conn.execute(query).mappings().all(),
                columns=[c.name for c in S.tg_admin_attribute.columns],
            )

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        with self._read() as conn:
            from sqlalchemy import func

            out["observations"] = int(
                conn.execute(select(func.count()).select_from(S.tg_observation)).scalar() or 0
            )
        out["schema_version"] = self.schema_version()
        return out


def _isna(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
