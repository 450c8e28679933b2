"""Admin units and point lookup: ``GET units``, ``GET units/{unit_id}``, ``GET lookup``."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request

from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.admin.units import LEVELS, lookup_points
from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.web.api._core import ApiState, api_state, call, check_point
from tangguh.web.api._models import LookupOut, UnitDetail, UnitOut

__all__ = ["city_bounds", "point_units", "router", "units_frame"]

router = APIRouter(tags=["units"])

_FIELDS = ("unit_id", "level", "name", "parent_id", "code_bps", "code_kemendagri")


def units_frame(bank: Bank, st: ApiState) -> gpd.GeoDataFrame:
    """The admin units (``tangguh.admin.store.load_units``), cached per layer version."""
    version = bank.layer(ADMIN_LAYER).current_version if bank.has_layer(ADMIN_LAYER) else None
    cached = st.cache.get("units")
    if cached is not None and cached[0] == version:
        frame: gpd.GeoDataFrame = cached[1]
        return frame
    frame = load_units(bank)
    st.cache["units"] = (version, frame)
    return frame


def city_bounds(bank: Bank, st: ApiState) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = units_frame(bank, st).total_bounds
    return float(minx), float(miny), float(maxx), float(maxy)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def unit_json(row: pd.Series, *, geometry: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {k: _clean(row.get(k)) for k in _FIELDS}
    for k in ("population", "households"):
        v = _clean(row.get(k))
        out[k] = float(v) if v is not None else None
    geom = row.get("geometry")
    if geom is not None and not geom.is_empty:
        out["bbox"] = [round(float(v), 7) for v in geom.bounds]
        if geometry:
            out["geometry"] = json.loads(shapely.to_geojson(geom))
    return out


def point_units(bank: Bank, st: ApiState, lon: float, lat: float) -> dict[str, Any]:
    """``{level: {unit_id, name} | None}`` for the point, every level of the bank."""
    units = units_frame(bank, st)
    found = lookup_points(units, [(lon, lat)]).iloc[0]
    names = units.set_index("unit_id")["name"]
    out: dict[str, Any] = {}
    for level in LEVELS:
        if level not in found.index:
            continue
        uid = _clean(found[level])
        out[level] = None if uid is None else {"unit_id": str(uid), "name": _clean(names.get(uid))}
    return out


def _list(bank: Bank, st: ApiState, level: str | None, parent: str | None) -> list[dict[str, Any]]:
    if level is not None and level not in LEVELS:
        raise InputError(
            f"unknown level {level!r}",
            where="level",
            hint=f"use one of {list(LEVELS)}",
            message_id=f"tingkat {level!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(LEVELS)}",
        )
    units = units_frame(bank, st)
    sel = units
    if level is not None:
        sel = sel[sel["level"] == level]
    if parent is not None:
        sel = sel[sel["parent_id"] == parent]
    return [unit_json(row) for _, row in sel.sort_values("unit_id").iterrows()]


def _not_found(unit_id: str) -> NotFoundError:
    return NotFoundError(
        f"no admin unit {unit_id!r}",
        where="unit_id",
        hint="list units with GET /api/v1/units?level=kelurahan",
        message_id=f"tidak ada unit wilayah {unit_id!r}",
        hint_id="lihat daftar unit dengan GET /api/v1/units?level=kelurahan",
    )


def get_unit(bank: Bank, st: ApiState, unit_id: str) -> pd.Series:
    units = units_frame(bank, st)
    hit = units[units["unit_id"] == unit_id]
    if hit.empty:
        raise _not_found(unit_id)
    return hit.iloc[0]


def _detail(bank: Bank, st: ApiState, unit_id: str) -> dict[str, Any]:
    row = get_unit(bank, st, unit_id)
    units = units_frame(bank, st)
    out = unit_json(row, geometry=True)
    out["children"] = sorted(units.loc[units["parent_id"] == unit_id, "unit_id"].astype(str))
    return out


@router.get(
    "/units",
    response_model=list[UnitOut],
    summary="Admin units / Unit wilayah",
    description="Admin units (no geometry), filtered by level and parent.",
)
async def list_units(
    request: Request,
    level: Annotated[str | None, Query(max_length=32)] = None,
    parent: Annotated[str | None, Query(max_length=190)] = None,
) -> list[dict[str, Any]]:
    return await call(request, _list, api_state(request), level, parent)


@router.get(
    "/units/{unit_id}",
    response_model=UnitDetail,
    summary="One admin unit with its geometry / Satu unit wilayah dengan geometrinya",
)
async def unit(request: Request, unit_id: str) -> dict[str, Any]:
    return await call(request, _detail, api_state(request), unit_id)


@router.get(
    "/lookup",
    response_model=LookupOut,
    summary="Units containing a point / Unit wilayah di suatu titik",
)
async def lookup(
    request: Request,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
) -> dict[str, Any]:
    check_point(lon, lat)
    found = await call(request, point_units, api_state(request), lon, lat)
    return {"lon": lon, "lat": lat, "units": found}
