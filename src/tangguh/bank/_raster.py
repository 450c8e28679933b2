"""Raster layers: a tiled, compressed GeoTIFF in the bank's raster store + a catalogue entry."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from abc import abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from sqlalchemy import Connection, insert, select

from tangguh.bank import _schema as S
from tangguh.bank.base import LayerInfo, LayerMeta, validate_layer_id
from tangguh.errors import ImportError_, InputError, NotFoundError

__all__ = ["RasterMixin", "raster_to_store"]


def raster_to_store(src_path: Path, dst_path: Path, *, crs: str | None = None) -> dict[str, Any]:
    """Convert ``src_path`` (GeoTIFF, ESRI ASCII grid, any GDAL raster) to ``dst_path``.

    Returns the raster's metadata; ``bbox`` is in EPSG:4326. A raster without a CRS
    (e.g. an ``.asc`` without ``.prj``) is refused unless ``crs`` is given.
    """
    if not src_path.exists():
        raise ImportError_(
            f"raster file not found: {src_path}",
            where=str(src_path),
            hint="check the path",
            message_id=f"berkas raster tidak ditemukan: {src_path}",
            hint_id="periksa path berkas",
        )
    try:
        with rasterio.open(src_path) as src:
            source_crs = src.crs
            if source_crs is None and crs is None:
                raise ImportError_(
                    "the raster has no CRS",
                    where=str(src_path),
                    hint="pass --crs EPSG:XXXX (or put a .prj file beside an .asc grid)",
                    message_id="raster tidak memiliki CRS",
                    hint_id="berikan --crs EPSG:XXXX (atau letakkan berkas .prj di samping grid "
                    ".asc)",
                )
            out_crs = rasterio.crs.CRS.from_user_input(crs) if crs else source_crs
            profile = src.profile.copy()
            profile.update(
                driver="GTiff",
                crs=out_crs,
                compress="deflate",
                tiled=True,
                blockxsize=256,
                blockysize=256,
                BIGTIFF="IF_SAFER",
            )
            if src.width < 256 or src.height < 256:
                profile.update(tiled=False)
                profile.pop("blockxsize")
                profile.pop("blockysize")
            with rasterio.open(dst_path, "w", **profile) as dst:
                for _, window in src.block_windows(1):
                    dst.write(src.read(window=window), window=window)
            bounds = transform_bounds(out_crs, "EPSG:4326", *src.bounds)
            return {
                "driver": src.driver,
                "width": src.width,
                "height": src.height,
                "count": src.count,
                "dtype": src.dtypes[0],
                "nodata": None if src.nodata is None else float(src.nodata),
                "crs": out_crs.to_string(),
                "transform": list(src.transform)[:6],
                "bbox": tuple(float(b) for b in bounds),
            }
    except RasterioIOError as exc:
        raise ImportError_(
            f"cannot read the raster: {exc}",
            where=str(src_path),
            hint="give a GeoTIFF or ESRI ASCII grid (.asc) file",
            message_id=f"raster tidak dapat dibaca: {exc}",
            hint_id="berikan berkas GeoTIFF atau grid ESRI ASCII (.asc)",
        ) from exc


class RasterMixin:
    """register_raster / raster_path over the raster store directory of a backend."""

    url: str

    def _tx(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _layer_row(self, conn: Connection, layer_id: str) -> Mapping[str, Any] | None:
        raise NotImplementedError

    def layer(self, layer_id: str) -> LayerInfo:
        raise NotImplementedError

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
                message_id=f"tidak ada lapisan raster {layer_id!r}",
                hint_id="lihat daftar lapisan dengan `tangguh layers`",
            )
        return self.raster_dir() / path

    def register_raster(
        self, layer_id: str, path: Path, meta: LayerMeta | None = None, *, crs: str | None = None
    ) -> LayerInfo:
        validate_layer_id(layer_id)
        store = self.raster_dir()
        store.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=store) as tmp:
            staged = Path(tmp) / f"{layer_id}.tif"
            info = raster_to_store(Path(path), staged, crs=crs)
            digest = hashlib.sha256(staged.read_bytes()).hexdigest()
            now = datetime.now(UTC)
            final = store / f"{layer_id}.tif"
            with self._tx() as conn:
                if self._layer_row(conn, layer_id) is not None:
                    raise InputError(
                        f"layer {layer_id!r} already exists",
                        where=self.url,
                        hint="delete it first or choose another id",
                        message_id=f"lapisan {layer_id!r} sudah ada",
                        hint_id="hapus lapisan itu terlebih dahulu atau pilih ID lain",
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
