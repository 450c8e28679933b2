"""Stations, their observations (time ranges) and their current Siaga level."""

from __future__ import annotations

import math
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request

from tangguh.bank import Bank
from tangguh.errors import InputError, NotFoundError
from tangguh.warning.model import Siaga
from tangguh.warning.rules import RuleEngine
from tangguh.web.api._core import call, parse_time
from tangguh.web.api._models import ObservationsOut, StationOut, StationStateOut

__all__ = ["router"]

router = APIRouter(tags=["stations"])


def _v(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _station_json(row: pd.Series) -> dict[str, Any]:
    out = {
        k: _v(row.get(k)) for k in ("station_id", "name", "kind", "lon", "lat", "river", "source")
    }
    attrs = row.get("attributes")
    out["attributes"] = attrs if isinstance(attrs, dict) else {}
    return out


def _stations(bank: Bank, kind: str | None) -> list[dict[str, Any]]:
    frame = bank.stations(kind=kind)
    return [_station_json(row) for _, row in frame.sort_values("station_id").iterrows()]


def _station(bank: Bank, station_id: str) -> dict[str, Any]:
    frame = bank.stations()
    hit = frame[frame["station_id"] == station_id]
    if hit.empty:
        raise NotFoundError(
            f"no station {station_id!r}",
            where="station_id",
            hint="list stations with GET /api/v1/stations",
            message_id=f"tidak ada stasiun {station_id!r}",
            hint_id="lihat daftar stasiun dengan GET /api/v1/stations",
        )
    return _station_json(hit.iloc[0])


def _observations(
    bank: Bank,
    station_id: str,
    parameter: str | None,
    start: Any,
    end: Any,
    limit: int,
) -> dict[str, Any]:
    _station(bank, station_id)
    if start is not None and end is not None and end < start:
        raise InputError(
            "end is before start",
            where="start/end",
            hint="give start <= end",
            message_id="end lebih awal dari start",
            hint_id="berikan start <= end",
        )
    frame = bank.observations(station_id, start=start, end=end, parameter=parameter)
    truncated = len(frame) > limit
    if truncated:
        frame = frame.iloc[-limit:]  # the newest ones
    rows = [
        {
            "t": pd.Timestamp(r.t).isoformat(),  # type: ignore[arg-type]
            "parameter": str(r.parameter),
            "value": _v(r.value),
            "unit": _v(getattr(r, "unit", None)),
            "quality": _v(getattr(r, "quality", None)),
        }
        for r in frame.itertuples(index=False)
    ]
    return {
        "station_id": station_id,
        "parameter": parameter,
        "start": start.isoformat() if start is not None else None,
        "end": end.isoformat() if end is not None else None,
        "count": len(rows),
        "truncated": truncated,
        "observations": rows,
    }


def _state(bank: Bank, station_id: str, parameter: str) -> dict[str, Any]:
    _station(bank, station_id)
    data = RuleEngine(bank).state(station_id, parameter).to_json()
    level = Siaga(int(data["level"]))
    data["label_id"] = level.label_id
    data["label_en"] = level.label_en
    return data


@router.get(
    "/stations",
    response_model=list[StationOut],
    summary="Stations / Stasiun",
    description="River, rain and tide gauges, pump houses, … (filter by kind).",
)
async def stations(
    request: Request, kind: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    return await call(request, _stations, kind)


@router.get(
    "/stations/{station_id}", response_model=StationOut, summary="One station / Satu stasiun"
)
async def station(request: Request, station_id: str) -> dict[str, Any]:
    return await call(request, _station, station_id)


@router.get(
    "/stations/{station_id}/observations",
    response_model=ObservationsOut,
    summary="Observations of a station / Data pengamatan stasiun",
    description="Readings in [start, end) (ISO 8601 with a zone; a date means its start, "
    "UTC), oldest first; at most `limit`, the newest kept when there are more.",
)
async def observations(
    request: Request,
    station_id: str,
    parameter: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[str | None, Query(max_length=64)] = None,
    end: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> dict[str, Any]:
    t0, t1 = parse_time(start, "start"), parse_time(end, "end")
    return await call(request, _observations, station_id, parameter, t0, t1, limit)


@router.get(
    "/stations/{station_id}/state",
    response_model=StationStateOut,
    summary="Current Siaga level of a station / Level Siaga stasiun saat ini",
)
async def state(
    request: Request,
    station_id: str,
    parameter: Annotated[str, Query(max_length=64)] = "water_level",
) -> dict[str, Any]:
    return await call(request, _state, station_id, parameter)
