"""Sanity check of coordinates against their declared CRS, for
:func:`tangguh.io.vector.read_vector`.

A bounding box outside the CRS's area of use (or outside lon/lat range for a geographic
CRS) means the declared CRS is wrong; the error guesses the likely one (for Jakarta:
UTM 48S, EPSG:32748 or EPSG:23834, or swapped lon/lat).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from tangguh.errors import ImportError_

__all__ = ["check_crs_bounds"]

_AREA_MARGIN = 2.0  # degrees of slack around a CRS's area of use
_JAKARTA_UTM = (
    "they look like metres in UTM; Jakarta is UTM zone 48S: pass --crs EPSG:32748 "
    "(WGS 84 / UTM 48S) or --crs EPSG:23834 (DGN95 / UTM 48S)",
    "koordinat tampak seperti meter dalam UTM; Jakarta berada di zona UTM 48S: berikan "
    "--crs EPSG:32748 (WGS 84 / UTM 48S) atau --crs EPSG:23834 (DGN95 / UTM 48S)",
)


def _guess_crs(bounds: tuple[float, float, float, float], crs: CRS) -> tuple[str, str]:
    """Guess the CRS the coordinates really use; the hint in English and Bahasa Indonesia."""
    xmin, ymin, xmax, ymax = bounds
    utm_like = 100_000 <= xmin <= xmax <= 900_000 and 0 <= ymin <= ymax <= 10_000_000
    if utm_like:
        if ymin > 5_000_000:
            return _JAKARTA_UTM
        return (
            "they look like metres in a northern UTM zone: pass --crs EPSG:326NN",
            "koordinat tampak seperti meter dalam zona UTM utara: berikan --crs EPSG:326NN",
        )
    if crs.is_geographic and -90 <= xmin <= xmax <= 90 and -180 <= ymin <= ymax <= 180:
        return (
            "longitude and latitude look swapped: Jakarta is about lon 106.8, lat -6.2",
            "bujur dan lintang tampak tertukar: Jakarta kira-kira di lon 106.8, lat -6.2",
        )
    if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        return (
            "they look like degrees of longitude/latitude: pass --crs EPSG:4326",
            "koordinat tampak seperti derajat bujur/lintang: berikan --crs EPSG:4326",
        )
    return (
        "pass the CRS the data really uses with --crs EPSG:XXXX",
        "berikan CRS yang benar-benar dipakai data dengan --crs EPSG:XXXX",
    )


def check_crs_bounds(geoms: npt.NDArray[Any], crs: CRS, *, source: str) -> None:
    """Raise when the coordinates cannot be in ``crs``.

    Geographic CRSs need lon in [-180, 180] and lat in [-90, 90]; every CRS with an area
    of use needs the data's bounding box, turned into lon/lat, within that area plus
    2 degrees. [0, 0] geometries (already flagged as null island) are left out. The hint
    guesses the likely CRS (Jakarta: UTM 48S, EPSG:32748 or EPSG:23834).
    """
    bounds = shapely.bounds(geoms)
    usable = np.all(np.isfinite(bounds), axis=1) & ~np.all(bounds == 0.0, axis=1)
    if not usable.any():
        return
    box = bounds[usable]
    xmin, ymin = float(box[:, 0].min()), float(box[:, 1].min())
    xmax, ymax = float(box[:, 2].max()), float(box[:, 3].max())
    extent = f"x {xmin:.6g}..{xmax:.6g}, y {ymin:.6g}..{ymax:.6g}"
    problem = problem_id = None
    if crs.is_geographic and (xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90):
        problem = "are outside the longitude/latitude range"
        problem_id = "berada di luar rentang bujur/lintang"
    area = crs.area_of_use
    if problem is None and area is not None and area.west <= area.east:
        try:
            if crs.is_geographic:
                lon_lat = (xmin, ymin, xmax, ymax)
            else:
                to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
                lon_lat = to_lonlat.transform_bounds(xmin, ymin, xmax, ymax)
            inside = np.all(np.isfinite(lon_lat)) and (
                lon_lat[0] >= area.west - _AREA_MARGIN
                and lon_lat[2] <= area.east + _AREA_MARGIN
                and lon_lat[1] >= area.south - _AREA_MARGIN
                and lon_lat[3] <= area.north + _AREA_MARGIN
            )
        except ProjError:
            inside = False
        if not inside:
            problem = f"fall outside the area where it is used ({area.name})"
            problem_id = f"berada di luar wilayah penggunaannya ({area.name})"
    if problem is not None:
        name = crs.to_string()
        guess, guess_id = _guess_crs((xmin, ymin, xmax, ymax), crs)
        raise ImportError_(
            f"the coordinates ({extent}) {problem}, so they cannot be in the declared CRS {name}",
            where=source,
            hint=guess + " (--crs overrides the declared CRS)",
            message_id=f"koordinat ({extent}) {problem_id}, jadi tidak mungkin berada dalam "
            f"CRS yang dinyatakan {name}",
            hint_id=guess_id + " (--crs menggantikan CRS yang dinyatakan)",
        )
