"""The catalogue part of the bank: layer entries, metadata edits, deletion, history.

Mixed into :class:`tangguh.bank._sqlbank.SqlBank`; SQLAlchemy Core, both backends.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select, update

from tangguh.bank import _schema as S
from tangguh.bank.base import LayerInfo, LayerMeta, VersionInfo
from tangguh.errors import InputError, NotFoundError

__all__ = ["CatalogueMixin"]


def _now() -> datetime:
    return datetime.now(UTC)


class CatalogueMixin:
    """layers(), layer(), update_meta(), delete_layer(), history()."""

    url: str

    def _tx(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _check_current(self) -> None:  # provided by SqlBank
        raise NotImplementedError

    def _drop_feature_tables(self, conn: Connection, layer_id: str) -> None:
        raise NotImplementedError

    def raster_dir(self) -> Path:
        raise NotImplementedError

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
        known = [i.id for i in self.layers()]
        close = difflib.get_close_matches(layer_id, known, n=3)
        if close:
            hint = f"did you mean {', '.join(close)}?"
            hint_id = f"mungkin maksud Anda {', '.join(close)}?"
        else:
            hint = "list layers with `tangguh layers`"
            hint_id = "lihat daftar lapisan dengan `tangguh layers`"
        return NotFoundError(
            f"no layer {layer_id!r} in the bank",
            where=self.url,
            hint=hint,
            message_id=f"tidak ada lapisan {layer_id!r} di bank data",
            hint_id=hint_id,
        )

    def update_meta(self, layer_id: str, **values: Any) -> LayerInfo:
        allowed = {f.name for f in fields(LayerMeta)}
        unknown = set(values) - allowed
        if unknown:
            raise InputError(
                f"unknown catalogue fields {sorted(unknown)}",
                hint=f"use one of {sorted(allowed)}",
                message_id=f"kolom katalog tidak dikenal: {sorted(unknown)}",
                hint_id=f"gunakan salah satu dari {sorted(allowed)}",
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
                conn.execute(
                    delete(S.tg_layer_point).where(S.tg_layer_point.c.layer_id == layer_id)
                )
            else:
                conn.execute(delete(S.tg_raster).where(S.tg_raster.c.layer_id == layer_id))
            conn.execute(
                delete(S.tg_layer_version).where(S.tg_layer_version.c.layer_id == layer_id)
            )
            conn.execute(delete(S.tg_layer).where(S.tg_layer.c.id == layer_id))
        if row["kind"] == "raster":
            self.raster_dir().joinpath(f"{layer_id}.tif").unlink(missing_ok=True)

    def history(self, layer_id: str) -> list[VersionInfo]:
        with self._read() as conn:
            if self._layer_row(conn, layer_id) is None:
                raise self._not_found(layer_id)
            rows = conn.execute(
                select(S.tg_layer_version)
                .where(S.tg_layer_version.c.layer_id == layer_id)
                .order_by(S.tg_layer_version.c.version.desc())
            ).mappings()
            names = [f.name for f in fields(VersionInfo)]
            return [VersionInfo(**{k: r[k] for k in names}) for r in rows]
