"""``GET risk-at?lon=&lat=``: "am I at risk here?" for one point.

The answer, from what the bank holds:

- ``units``: the admin units containing the point (``tangguh.admin.store.lookup``);
- ``hazards``: every catalogue vector layer with theme ``hazard`` and polygon geometry
  whose features contain the point (read with a tiny bbox, then an exact covers test).
  For each hit: layer id and titles, and the class attribute — the first column present
  of ``hazard_class``, ``class``, ``kelas``, ``state``, ``flood_state``, ``category``,
  ``level`` — plus ``depth_cm`` when the layer has ``depth_cm`` (or ``depth_m`` ×100,
  or ``depth`` taken as cm);
- ``alerts``: active alerts (issued/updated, not cancelled or expired) whose warned
  ``unit_ids`` contain any unit of the point (RW, kelurahan, kecamatan, kota);
- ``rw_state``: the operators' current flood state of the point's RW, if any;
- ``nearest_shelter`` / ``nearest_hospital``: the nearest feature of a layer with theme
  ``facilities``, ``exposure`` or ``services`` whose id contains ``shelter``/``posko``/
  ``pengungsian`` (shelters) or ``hospital``/``rumah_sakit`` (hospitals); the search
  box grows (~2, 5, 20 km, then the whole layer) until features are found, and the
  distance is geodesic on the WGS 84 ellipsoid (``pyproj.Geod``), to the feature's
  representative point.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from pyproj import Geod
from shapely.geometry import Point

from tangguh.bank import Bank
from tangguh.warning import alerts as alerts_mod
from tangguh.web.api._core import ApiState, api_state, call, check_point
from tangguh.web.api._models import RiskAtOut
from tangguh.web.api.alerts import alert_json
from tangguh.web.api.rwstates import current_states, state_label
from tangguh.web.api.units import point_units

__all__ = ["CLASS_COLUMNS", "risk_at", "router"]

router = APIRouter(tags=["units"])

CLASS_COLUMNS = ("hazard_class", "class", "kelas", "state", "flood_state", "category", "level")
FACILITY_THEMES = ("facilities", "exposure", "services")
SHELTER_WORDS = ("shelter", "posko", "pengungsian")
HOSPITAL_WORDS = ("hospital", "rumah_sakit")
_GEOD = Geod(ellps="WGS84")
_EPS = 1e-6


def _value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def _hazards(bank: Bank, lon: float, lat: float) -> list[dict[str, Any]]:
    pt = Point(lon, lat)
    out = []
    for info in bank.layers():
        if info.theme != "hazard" or info.kind != "vector":
            continue
        if info.geometry_type and "polygon" not in info.geometry_type.lower():
            continue
        frame = bank.read_layer(info.id, bbox=(lon - _EPS, lat - _EPS, lon + _EPS, lat + _EPS))
        if frame.empty:
            continue
        hits = frame[frame.geometry.covers(pt)]
        for _, row in hits.iterrows():
            attr = next((c for c in CLASS_COLUMNS if c in row.index), None)
            depth = None
            if "depth_cm" in row.index:
                depth = _value(row["depth_cm"])
            elif "depth_m" in row.index and _value(row["depth_m"]) is not None:
                depth = float(row["depth_m"]) * 100.0
            elif "depth" in row.index:
                depth = _value(row["depth"])
            out.append(
                {
                    "layer": info.id,
                    "title_id": info.title_id,
                    "title_en": info.title_en,
                    "attribute": attr,
                    "value": _value(row[attr]) if attr else None,
                    "depth_cm": None if depth is None else float(depth),
                }
            )
    return out


def _nearest(bank: Bank, lon: float, lat: float, words: tuple[str, ...]) -> dict[str, Any] | None:
    best: dict[str, Any] | None = None
    for info in bank.layers():
        if info.kind != "vector" or info.theme not in FACILITY_THEMES:
            continue
        if not any(w in info.id.lower() for w in words):
            continue
        frame: gpd.GeoDataFrame | None = None
        for d in (0.02, 0.05, 0.2, None):
            box = None if d is None else (lon - d, lat - d, lon + d, lat + d)
            frame = bank.read_layer(info.id, bbox=box)
            if not frame.empty:
                break
        if frame is None or frame.empty:
            continue
        pts = frame.geometry.representative_point()
        xs, ys = pts.x.to_numpy(), pts.y.to_numpy()
        _, _, dist = _GEOD.inv(np.full(len(xs), lon), np.full(len(ys), lat), xs, ys)
        i = int(np.argmin(dist))
        if best is not None and dist[i] >= best["distance_m"]:
            continue
        row = frame.iloc[i]
        key = next((c for c in frame.columns if c.endswith("_id") and c != "unit_id"), None)
        best = {
            "layer": info.id,
            "feature_id": None if key is None else str(row[key]),
            "name": _value(row["name"]) if "name" in frame.columns else None,
            "lon": round(float(xs[i]), 7),
            "lat": round(float(ys[i]), 7),
            "distance_m": round(float(dist[i]), 1),
        }
    return best


def risk_at(bank: Bank, st: ApiState, lon: float, lat: float) -> dict[str, Any]:
    units = point_units(bank, st, lon, lat)
    ids = {u["unit_id"] for u in units.values() if u}
    active = [
        alert_json(a)
        for a in alerts_mod.list_alerts(bank, active_only=True)
        if ids.intersection(a.unit_ids)
    ]
    rw = units.get("rw")
    rw_state = None
    if rw:
        state = current_states(bank).get(rw["unit_id"])
        if state is not None:
            rw_state = {
                "unit_id": rw["unit_id"],
                "state": int(state["state"]),
                **state_label(int(state["state"])),
                "t": state["t"].isoformat(),
            }
    return {
        "lon": lon,
        "lat": lat,
        "units": units,
        "hazards": _hazards(bank, lon, lat),
        "alerts": active,
        "rw_state": rw_state,
        "nearest_shelter": _nearest(bank, lon, lat, SHELTER_WORDS),
        "nearest_hospital": _nearest(bank, lon, lat, HOSPITAL_WORDS),
    }


@router.get(
    "/risk-at",
    response_model=RiskAtOut,
    summary="Am I at risk here? / Apakah saya berisiko di sini?",
    description="Units, hazard classes, active alerts, RW flood state and the nearest "
    "shelter and hospital at a point.",
)
async def get_risk_at(
    request: Request,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
) -> dict[str, Any]:
    check_point(lon, lat)
    return await call(request, risk_at, api_state(request), lon, lat)
