"""Copy a raster into the bank's raster store as a tiled, compressed GeoTIFF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds

from tangguh.errors import ImportError_

__all__ = ["raster_to_store"]


def raster_to_store(src_path: Path, dst_path: Path, *, crs: str | None = None) -> dict[str, Any]:
    """Convert ``src_path`` (GeoTIFF, ESRI ASCII grid, any GDAL raster) to ``dst_path``.

    Returns the raster's metadata; ``bbox`` is in EPSG:4326. A raster without a CRS
    (e.g. an ``.asc`` without ``.prj``) is refused unless ``crs`` is given.
    """
    if not src_path.exists():
        raise ImportError_(
            f"raster file not found: {src_path}", where=str(src_path), hint="check the path"
        )
    try:
        with rasterio.open(src_path) as src:
            source_crs = src.crs
            if source_crs is None and crs is None:
                raise ImportError_(
                    "the raster has no CRS",
                    where=str(src_path),
                    hint="pass --crs EPSG:XXXX (or put a .prj file beside an .asc grid)",
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
        ) from exc
