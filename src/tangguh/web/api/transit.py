"""Transit endpoints: SDG 11.2.1 access (latest run, trend), TOD station areas, stops.

- ``GET transit/access?level=`` — the latest stored SDG 11.2.1 run as GeoJSON units with
  ``population``, ``reached``, ``share``, ``stops`` (run id and time in ``run``).
- ``GET transit/access/trend?unit_id=`` — the time series of a unit (or the city).
- ``GET transit/tod`` — the ``tod_station_areas`` layer as GeoJSON.
- ``GET transit/stops`` — every stop with its capacity class and peak departures.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request

from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.web.api._core import ApiState, api_state, call, iso
from tangguh.web.api.units import units_frame

__all__ = ["router"]

router = APIRouter(tags=["transit"])


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return iso(value)


def _feature(fid: str, geom: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": None if geom is None else json.loads(shapely.to_geojson(geom)),
        "properties": {k: _plain(v) for k, v in props.items()},
    }


def _access(bank: Bank, st: ApiState, level: str, run_id: str | None) -> dict[str, Any]:
    from tangguh.connectivity.sdg import LEVELS, run_values

    if level not in LEVELS:
        raise InputError(
            f"unknown level {level!r}",
            where="level",
            hint=f"use one of {list(LEVELS)}",
            message_id=f"tingkat {level!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(LEVELS)}",
        )
    run, values = run_values(bank, run_id, level=level)
    units = units_frame(bank, st).set_index("unit_id")
    features = []
    for rec in values.to_dict("records"):
        uid = str(rec["unit_id"])
        geom = units.geometry.get(uid)
        name = units["name"].get(uid) if "name" in units.columns else None
        features.append(_feature(uid, geom, {"unit_id": uid, "name": name, **{
            k: rec[k] for k in ("level", "population", "reached", "share", "stops")}}))  # fmt: skip
    summary = run.get("summary") or {}
    return {
        "type": "FeatureCollection",
        "features": features,
        "run": {
            "run_id": run["run_id"],
            "computed": run["computed"],
            "stops_version": run["stops_version"],
            "roads_version": run["roads_version"],
            "feeds": run["feeds"],
            "parameters": run["parameters"],
            "share": summary.get("share"),
            "population": summary.get("population"),
            "reached": summary.get("reached"),
            "stops_excluded": run.get("stops_excluded") or [],
        },
    }


def _trend(bank: Bank, unit_id: str | None) -> list[dict[str, Any]]:
    from tangguh.connectivity.sdg import trend

    frame = trend(bank, unit_id)
    return [{str(k): _plain(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def _tod(bank: Bank) -> dict[str, Any]:
    from tangguh.connectivity.tod import LAYER

    if not bank.has_layer(LAYER):
        raise NotFoundError(
            "no TOD scores stored",
            where=f"layer {LAYER}",
            hint="compute them: `tangguh transit tod`",
            message_id="belum ada skor TOD tersimpan",
            hint_id="hitung dulu: `tangguh transit tod`",
        )
    frame = bank.read_layer(LAYER)
    props = [c for c in frame.columns if c != "geometry"]
    return {
        "type": "FeatureCollection",
        "features": [
            _feature(str(row["station_id"]), row.geometry, {c: row[c] for c in props})
            for _, row in frame.iterrows()
        ],
    }


def _stops(bank: Bank) -> dict[str, Any]:
    from tangguh.connectivity.sdg import read_stops

    frame = read_stops(bank)
    cols = [c for c in ("stop_id", "name", "mode", "capacity", "peak_departures", "feed_id")
            if c in frame.columns]  # fmt: skip
    return {
        "type": "FeatureCollection",
        "features": [
            _feature(str(row["stop_id"]), row.geometry, {c: row[c] for c in cols})
            for _, row in frame.iterrows()
        ],
    }


@router.get(
    "/transit/access",
    summary="SDG 11.2.1 per unit, latest run (GeoJSON) / SDG 11.2.1 per wilayah",
    description="Share of people within 500 m walk of a low-capacity stop or 1 km of a "
    "high-capacity station, per unit of the level, from the latest stored run (or run_id).",
)
async def access(
    request: Request,
    level: Annotated[str, Query(max_length=16)] = "kelurahan",
    run_id: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return await call(request, _access, api_state(request), level, run_id)


@router.get(
    "/transit/access/trend",
    summary="SDG 11.2.1 over the stored runs / Deret waktu SDG 11.2.1",
    description="One row per run, oldest first, for a unit (unit_id) or the whole city.",
)
async def access_trend(
    request: Request,
    unit_id: Annotated[str | None, Query(max_length=190)] = None,
) -> list[dict[str, Any]]:
    return await call(request, _trend, unit_id)


@router.get(
    "/transit/tod",
    summary="TOD station areas and scores (GeoJSON) / Kawasan stasiun TOD dan skornya",
)
async def tod(request: Request) -> dict[str, Any]:
    return await call(request, _tod)


@router.get(
    "/transit/stops",
    summary="Transit stops with capacity class and peak departures (GeoJSON) / Halte",
)
async def stops(request: Request) -> dict[str, Any]:
    return await call(request, _stops)
