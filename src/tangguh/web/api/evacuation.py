"""JSON API: evacuation plans, routes, shortfall, flooded streets and the flood cascade.

Reads are public; computing a plan (``POST evacuation/plan``) is for operators and is
stored with its audit row in one transaction. The cascade is computed on request and
kept in the API's in-process cache per (scenario, layer versions).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tangguh.bank import Bank
from tangguh.connectivity import evacuate as ev
from tangguh.web.api._core import ApiState, api_state, call, require, write
from tangguh.web.api._models import FeatureCollection
from tangguh.web.api.security import Principal

__all__ = ["router"]

router = APIRouter(tags=["evacuation"])

_FloodLayer = Annotated[
    str | None, Query(max_length=64, description="Flood polygon layer id / lapisan banjir")
]
_FloodField = Annotated[str | None, Query(max_length=64, description="Column of the layer")]
_FloodMin = Annotated[float | None, Query(description="Least value of the column")]
_RwStates = Annotated[
    int | None, Query(ge=1, le=4, description="Current RW flood states >= N instead of a layer")
]
_PlanId = Annotated[str | None, Query(max_length=64, description="Plan id (default: newest)")]


class PlanIn(BaseModel):
    """Compute an evacuation plan now."""

    model_config = ConfigDict(extra="forbid")
    flood: str | None = Field(default=None, max_length=64, description="flood layer id")
    flood_field: str | None = Field(default=None, max_length=64)
    flood_min: float | None = None
    rw_states: int | None = Field(default=None, ge=1, le=4)
    shelters: str = Field(default="shelters", max_length=64)
    capacity: str = Field(default="capacity", max_length=64)
    roads: str = Field(default="roads", max_length=64)
    buildings: str | None = Field(default="buildings", max_length=64)
    max_walk: float = Field(default=ev.DEFAULT_MAX_WALK_M, gt=0, le=50_000)
    max_offset: float = Field(default=ev.DEFAULT_MAX_OFFSET_M, gt=0, le=5_000)
    speed: float = Field(default=ev.DEFAULT_SPEED_MPS, gt=0, le=5)
    demand: Literal["flooded", "all"] = "flooded"


def _feature(geom: Any, props: dict[str, Any], fid: str | None = None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": None if geom is None else json.loads(shapely.to_geojson(geom)),
        "properties": props,
    }


def _collection(frame: gpd.GeoDataFrame, id_col: str | None = None) -> dict[str, Any]:
    cols = [c for c in frame.columns if c != "geometry"]
    records = ev.frame_records(frame[cols])
    geoms = np.asarray(frame.geometry.values, dtype=object)
    return {
        "type": "FeatureCollection",
        "features": [
            _feature(g, r, None if id_col is None else str(r[id_col]))
            for g, r in zip(geoms, records, strict=True)
        ],
    }


def _plan(bank: Bank, plan_id: str | None, flood_key: str | None) -> dict[str, Any]:
    if plan_id:
        return ev.load_plan(bank, plan_id)
    return ev.latest_plan(bank, flood_key=flood_key)


def _routes(bank: Bank, plan_id: str | None) -> dict[str, Any]:
    routes = ev.plan_routes(bank, plan_id)
    if "fid" in routes.columns:
        routes = routes.drop(columns=["fid"])
    keep = [
        c
        for c in ("plan_id", "unit_id", "rw_name", "shelter_id", "shelter_name", "people",
                  "metres", "minutes", "wade_m", "geometry")
        if c in routes.columns
    ]  # fmt: skip
    return _collection(routes[keep])


def _shelters(bank: Bank, plan_id: str | None) -> dict[str, Any]:
    rec = ev.load_plan(bank, plan_id) if plan_id else ev.latest_plan(bank)
    features = []
    for r in rec["shelters"]:
        cap = r["capacity"] or 0
        props = {**r, "plan_id": rec["plan_id"], "fill": round(r["load"] / cap, 4) if cap else None}
        point = None if r["lon"] is None else shapely.Point(r["lon"], r["lat"])
        features.append(_feature(point, props, str(r["shelter_id"])))
    return {"type": "FeatureCollection", "features": features}


def _shortfall(bank: Bank, plan_id: str | None) -> dict[str, Any]:
    frame = ev.plan_shortfall(bank, plan_id)
    rows = ev.frame_records(frame)
    for r in rows:
        text = ev.REASONS.get(str(r.get("reason")))
        r["reason_en"], r["reason_id"] = text if text else (None, None)
    rec_id = frame.attrs.get("plan_id") or plan_id
    if rec_id is None:
        rec_id = ev.latest_plan(bank)["plan_id"]
    return {
        "plan_id": rec_id,
        "shortfall": int(frame["shortfall"].sum()) if len(frame) else 0,
        "rw": rows,
    }


def _scenario_of(bank: Bank, rec: dict[str, Any]) -> ev.FloodScenario:
    flood = rec["flood"]
    if flood.get("kind") == "layer":
        return ev.flood_from_layer(
            bank,
            str(flood["layer"]),
            field=flood.get("field"),
            min_value=flood.get("min_value"),
            version=int(flood["version"]),
        )
    return ev.flood_from_rw_states(bank, int(flood.get("min_state") or 1))


def _flooded_streets(bank: Bank, plan_id: str | None) -> dict[str, Any]:
    from tangguh.connectivity.network import network_for

    rec = ev.load_plan(bank, plan_id) if plan_id else ev.latest_plan(bank)
    scenario = _scenario_of(bank, rec)
    roads = str(rec["params"].get("roads", "roads"))
    version = rec["inputs"].get(roads)
    net = network_for(bank, roads, version=None if version is None else int(version))
    mask = net.edges_within(scenario.areas)
    edges = net.edges_frame()[mask]
    edges = edges.assign(length_m=np.round(edges["length_m"].to_numpy(float), 1))
    out = _collection(edges[["length_m", "geometry"]])
    out["plan_id"] = rec["plan_id"]
    out["flood_key"] = scenario.key
    return out


def _compute(bank: Bank, body: PlanIn, actor: str) -> dict[str, Any]:
    scenario = ev.flood_scenario(
        bank,
        flood=body.flood,
        rw_states=body.rw_states,
        field=body.flood_field,
        min_value=body.flood_min,
    )
    plan = ev.plan_evacuation(
        bank,
        scenario,
        shelters=body.shelters,
        capacity=body.capacity,
        roads=body.roads,
        buildings=body.buildings,
        max_walk=body.max_walk,
        max_offset=body.max_offset,
        speed=body.speed,
        demand=body.demand,
        author=actor,
    )
    return plan.to_json()


def _cascade(
    bank: Bank,
    st: ApiState,
    flood: str | None,
    rw_states: int | None,
    field: str | None,
    min_value: float | None,
) -> dict[str, Any]:
    from tangguh.connectivity.cascade import flood_cascade

    scenario = ev.flood_scenario(
        bank, flood=flood, rw_states=rw_states, field=field, min_value=min_value
    )
    versions = tuple(
        (info.id, info.current_version)
        for info in bank.layers()
        if info.id in ("admin_units", "roads", "buildings", "transit_stops", "hospitals",
                       "markets")
    )  # fmt: skip
    extra = scenario.info.get("latest_change") if scenario.info.get("kind") == "rw_states" else ""
    key = f"cascade|{bank.url}|{scenario.key}|{extra}|{versions}"
    hit = st.cache.get(key)
    if hit is not None:
        return dict(hit)
    data = flood_cascade(bank, scenario).to_json()
    st.cache[key] = data
    return data


@router.get(
    "/evacuation/plan",
    summary="Latest evacuation plan / Rencana evakuasi terbaru",
    description="The newest stored plan (of one flood scenario key with `flood`), with "
    "its summary, RW rows (evacuees, placed, shortfall, reason) and shelter rows.",
)
async def get_plan(
    request: Request,
    flood: Annotated[str | None, Query(max_length=190, description="flood key")] = None,
    plan_id: _PlanId = None,
) -> dict[str, Any]:
    return await call(request, _plan, plan_id, flood)


@router.get(
    "/evacuation/plans",
    summary="Stored evacuation plans / Rencana evakuasi tersimpan",
    description="Newest first, without their rows.",
)
async def get_plans(
    request: Request,
    flood: Annotated[str | None, Query(max_length=190, description="flood key")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    return await call(request, lambda bank: ev.plans(bank, flood_key=flood, limit=limit))


@router.get(
    "/evacuation/routes",
    response_model=FeatureCollection,
    summary="Evacuation routes (GeoJSON lines) / Rute evakuasi",
    description="One line per RW -> shelter assignment: RW, shelter, people, metres, "
    "minutes, wading metres.",
)
async def get_routes(request: Request, plan_id: _PlanId = None) -> dict[str, Any]:
    return await call(request, _routes, plan_id)


@router.get(
    "/evacuation/shelters",
    response_model=FeatureCollection,
    summary="Shelters of a plan: capacity, load, usable / Tempat pengungsian sebuah rencana",
)
async def get_shelters(request: Request, plan_id: _PlanId = None) -> dict[str, Any]:
    return await call(request, _shelters, plan_id)


@router.get(
    "/evacuation/shortfall",
    summary="RWs with people without a place / RW dengan warga tanpa tempat",
    description="Worst first, with the reason: no_open_street, beyond_limit, shelters_full.",
)
async def get_shortfall(request: Request, plan_id: _PlanId = None) -> dict[str, Any]:
    return await call(request, _shortfall, plan_id)


@router.get(
    "/evacuation/flooded-streets",
    response_model=FeatureCollection,
    summary="Street edges removed by a plan's flood / Ruas jalan tergenang sebuah rencana",
)
async def get_flooded_streets(request: Request, plan_id: _PlanId = None) -> dict[str, Any]:
    return await call(request, _flooded_streets, plan_id)


@router.post(
    "/evacuation/plan",
    summary="Compute an evacuation plan now (operator) / Hitung rencana evakuasi (operator)",
    description="Give `flood` (a flood layer, optionally `flood_field`/`flood_min`) or "
    "`rw_states` (current RW flood states >= N). The plan and its routes are stored.",
)
async def post_plan(
    request: Request,
    body: PlanIn,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    return await write(
        request,
        principal,
        lambda bank: _compute(bank, body, principal.actor),
        object_id=lambda r: str(r["plan_id"]),
    )


@router.get(
    "/transit/cascade",
    summary="A flood's cascade on transit and facility access / Dampak berantai banjir",
    description="Unusable stops, SDG 11.2.1 per kelurahan before and after, RWs losing "
    "walking access to a hospital or a market. Give `flood` or `rw_states`.",
)
async def get_cascade(
    request: Request,
    flood: _FloodLayer = None,
    rw_states: _RwStates = None,
    flood_field: _FloodField = None,
    flood_min: _FloodMin = None,
) -> dict[str, Any]:
    st = api_state(request)
    return await call(request, _cascade, st, flood, rw_states, flood_field, flood_min)
