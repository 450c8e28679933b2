"""RW flood states, as on BPBD's REM screen: operators set each RW's state, with a log.

States follow the PetaBencana.id / CogniCity REM codes that ``tangguh.risk`` already
uses (classification ``flood_petabencana_state``): 0 none (no flooding reported),
1 use caution / waspada (flooding, depth unknown or under 10 cm), 2 low (10-70 cm),
3 medium (71-150 cm), 4 high (> 150 cm). Every change is one row of
``tg_web_rw_state_log`` and replaces the RW's row in ``tg_web_rw_state`` in the same
transaction (with the audit row). Setting 0 clears the RW from the map.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import delete, insert, select

from tangguh.bank import Bank
from tangguh.errors import InputError
from tangguh.web.api._core import ApiState, api_state, call, iso, parse_time, require, who, write
from tangguh.web.api._models import FeatureCollection, RwLogRow, RwStateIn, RwStateOut
from tangguh.web.api.security import Principal
from tangguh.web.api.units import get_unit, units_frame
from tangguh.web.tables import tg_web_rw_state, tg_web_rw_state_log

__all__ = ["current_states", "router", "set_state", "state_label"]

router = APIRouter(tags=["rw-states"])


@lru_cache(maxsize=1)
def _labels() -> dict[int, tuple[str, str, str, str]]:
    from tangguh.risk.classification import load_classification

    out = {0: ("none", "Tidak ada banjir", "No flooding", "#ffffff")}
    for c in load_classification("flood_petabencana_state").classes:
        assert c.value is not None
        out[int(c.value)] = (c.key, c.label_id, c.label_en, c.colour)
    return out


def state_label(state: int) -> dict[str, str]:
    key, label_id, label_en, colour = _labels()[state]
    return {"class": key, "label_id": label_id, "label_en": label_en, "colour": colour}


def set_state(
    bank: Bank, st: ApiState, unit_id: str, state: int, note: str | None, actor: str
) -> dict[str, Any]:
    """Set an RW's flood state (one transaction: current row + log row)."""
    unit = get_unit(bank, st, unit_id)
    if unit["level"] != "rw":
        raise InputError(
            f"{unit_id} is a {unit['level']}, not an RW",
            where="unit_id",
            hint="flood states are set per RW (ids like rw:…)",
            message_id=f"{unit_id} adalah {unit['level']}, bukan RW",
            hint_id="status banjir diatur per RW (ID seperti rw:…)",
        )
    now = datetime.now(UTC)
    with bank.begin() as conn:
        previous = conn.execute(
            select(tg_web_rw_state.c.state).where(tg_web_rw_state.c.unit_id == unit_id)
        ).scalar()
        conn.execute(delete(tg_web_rw_state).where(tg_web_rw_state.c.unit_id == unit_id))
        conn.execute(
            insert(tg_web_rw_state).values(
                unit_id=unit_id, state=state, t=now, actor=actor, note=note
            )
        )
        conn.execute(
            insert(tg_web_rw_state_log).values(
                unit_id=unit_id, state=state, previous=previous, t=now, actor=actor, note=note
            )
        )
    return {
        "unit_id": unit_id,
        "name": unit.get("name"),
        "state": state,
        "previous": previous,
        **state_label(state),
        "t": now.isoformat(),
        "note": note,
    }


def current_states(bank: Bank) -> dict[str, dict[str, Any]]:
    """Current state per RW (only RWs with a state > 0)."""
    with bank.connect() as conn:
        rows = conn.execute(select(tg_web_rw_state).where(tg_web_rw_state.c.state > 0)).mappings()
        return {r["unit_id"]: dict(r) for r in rows}


def _geojson(bank: Bank, st: ApiState) -> dict[str, Any]:
    states = current_states(bank)
    features = []
    if states:
        units = units_frame(bank, st)
        sel = units[units["unit_id"].isin(list(states))].sort_values("unit_id")
        for _, row in sel.iterrows():
            s = states[row["unit_id"]]
            features.append(
                {
                    "type": "Feature",
                    "id": row["unit_id"],
                    "geometry": json.loads(shapely.to_geojson(row.geometry)),
                    "properties": {
                        "unit_id": row["unit_id"],
                        "name": row.get("name"),
                        "parent_id": row.get("parent_id"),
                        "state": int(s["state"]),
                        **state_label(int(s["state"])),
                        "t": iso(s["t"]),
                        "note": s["note"],
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


def _log(
    bank: Bank,
    unit_id: str | None,
    since: datetime | None,
    limit: int,
    with_actor: bool,
) -> list[dict[str, Any]]:
    t = tg_web_rw_state_log
    query = select(t).order_by(t.c.t.desc(), t.c.seq.desc()).limit(limit)
    if unit_id is not None:
        query = query.where(t.c.unit_id == unit_id)
    if since is not None:
        query = query.where(t.c.t >= since)
    with bank.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    out = []
    for r in rows:
        item = {k: iso(v) for k, v in r.items() if k != "actor" or with_actor}
        item.update(state_label(int(r["state"])))
        out.append(item)
    return out


@router.get(
    "/rw-states",
    response_model=FeatureCollection,
    summary="Current RW flood states (GeoJSON) / Status banjir RW saat ini (GeoJSON)",
    description="RWs whose current state is above 0, with their polygon.",
)
async def rw_states(request: Request) -> dict[str, Any]:
    return await call(request, _geojson, api_state(request))


@router.get(
    "/rw-states/log",
    response_model=list[RwLogRow],
    summary="Log of RW flood state changes / Log perubahan status banjir RW",
    description="Newest first. The operator who set a state is shown to operators only.",
)
async def rw_states_log(
    request: Request,
    unit_id: Annotated[str | None, Query(max_length=190)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    principal: Principal = Depends(who),
) -> list[dict[str, Any]]:
    start = parse_time(since, "since")
    return await call(request, _log, unit_id, start, limit, principal.at_least("operator"))


@router.put(
    "/rw-states/{unit_id}",
    response_model=RwStateOut,
    summary="Set an RW's flood state (operator) / Atur status banjir RW (operator)",
)
async def put_rw_state(
    request: Request,
    unit_id: str,
    body: RwStateIn,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    st = api_state(request)
    note = body.note.strip() if body.note else None
    return await write(
        request,
        principal,
        lambda bank: set_state(bank, st, unit_id, body.state, note, principal.actor),
        object_id=unit_id,
    )
