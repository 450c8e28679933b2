"""JSON API of basic services monitoring: coverage snapshots, history, runs, notices.

Everything a map or chart needs is read from the stored snapshots
(:mod:`tangguh.services.refresh`): ``GET services/coverage`` gives the snapshot in force
at a time as GeoJSON of the units of one level; ``snapshots`` the dates for a time
slider; ``changes`` and ``trend`` the history. ``POST services/refresh`` (operator)
runs a refresh now; notices of failed sources are for operators.

The indicator computation of ``POST services/refresh`` is
:func:`tangguh.services.refresh.coverage_indicators` unless the app sets another
``IndicatorFn`` in ``app.state.tangguh_services_indicators``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tangguh.admin.units import LEVELS as ADMIN_LEVELS
from tangguh.bank import Bank, open_bank
from tangguh.errors import InputError
from tangguh.services import refresh as svc
from tangguh.web._context import context
from tangguh.web.api._core import ApiState, api_state, call, mark_write, parse_time, require
from tangguh.web.api.security import Principal
from tangguh.web.api.units import units_frame

__all__ = ["router"]

router = APIRouter(tags=["services"])


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class IndicatorOut(_Open):
    id: str
    title_id: str
    title_en: str
    unit_id: str = ""
    unit_en: str = ""
    in_snapshots: bool = False


class SnapshotOut(_Open):
    run_id: str
    taken_at: str
    status: str


class CoverageOut(_Open):
    type: str = "FeatureCollection"
    run_id: str | None = None
    taken_at: str | None = None
    level: str
    indicator: str | None = None
    features: list[dict[str, Any]]


class UnderservedOut(_Open):
    run_id: str | None = None
    taken_at: str | None = None
    units: list[dict[str, Any]]


class RunOut(_Open):
    run_id: str
    started: str
    finished: str | None = None
    status: str
    trigger: str


class ChangesOut(_Open):
    since: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    count: int = 0
    changes: list[dict[str, Any]]


class TrendOut(_Open):
    unit_id: str
    indicator: str
    name: str | None = None
    points: list[dict[str, Any]]


class NoticeOut(_Open):
    notice_id: int
    t: str
    source_id: str | None = None
    message_en: str
    message_id: str
    acknowledged: bool


class RefreshIn(BaseModel):
    """Which sources to pull: given ids, every enabled source (``all``), the due ones
    (default), or none (``indicators_only``: recompute and store a snapshot)."""

    sources: list[str] | None = Field(default=None, max_length=200)
    all: bool = False
    indicators_only: bool = False


_LEVELS = svc.LEVELS


def _check_level(level: str) -> str:
    if level not in _LEVELS:
        raise InputError(
            f"unknown level {level!r}",
            where="level",
            hint=f"use one of {list(_LEVELS)}",
            message_id=f"tingkat {level!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(_LEVELS)}",
        )
    return level


def _num(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return None if math.isnan(out) else out


def _names(bank: Bank, st: ApiState) -> dict[str, str]:
    units = units_frame(bank, st)
    return {str(k): str(v) for k, v in zip(units["unit_id"], units["name"], strict=False)}


def _unit_geojson(bank: Bank, st: ApiState, level: str) -> list[dict[str, Any]]:
    """Units of one level as features without values (cached per admin layer version)."""
    units = units_frame(bank, st)
    key = f"services.units.{level}"
    cached = st.cache.get(key)
    if cached is not None and cached[0] is units:
        out: list[dict[str, Any]] = cached[1]
        return out
    sel = units[units["level"] == level].sort_values("unit_id")
    feats = []
    for uid, name, parent, geom in zip(
        sel["unit_id"], sel["name"], sel["parent_id"], sel.geometry, strict=False
    ):
        feats.append(
            {
                "type": "Feature",
                "id": str(uid),
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6))),
                "properties": {
                    "unit_id": str(uid),
                    "name": None if name is None else str(name),
                    "parent_id": None if parent is None else str(parent),
                },
            }
        )
    st.cache[key] = (units, feats)
    return feats


def _coverage(
    bank: Bank, st: ApiState, level: str, indicator: str | None, at: datetime | None
) -> dict[str, Any]:
    snap = svc.snapshot_at(bank, at, level=level, indicator=indicator)
    values: dict[str, dict[str, float | None]] = {}
    if snap is not None:
        for uid, ind, value in zip(
            snap.table["unit_id"], snap.table["indicator"], snap.table["value"], strict=False
        ):
            values.setdefault(str(uid), {})[str(ind)] = _num(value)
    under = {u["unit_id"]: u.get("reasons", []) for u in (snap.underserved if snap else [])}
    features = []
    present = [v for row in values.values() for v in row.values() if v is not None]
    for feat in _unit_geojson(bank, st, level):
        uid = feat["id"]
        props = dict(feat["properties"])
        row = values.get(uid, {})
        if indicator is not None:
            props["value"] = row.get(indicator)
        else:
            props["values"] = row
        props["underserved"] = uid in under
        if uid in under:
            props["reasons"] = under[uid]
        features.append({**feat, "properties": props})
    return {
        "type": "FeatureCollection",
        "run_id": snap.run_id if snap else None,
        "taken_at": snap.taken_at.isoformat() if snap else None,
        "level": level,
        "indicator": indicator,
        "min": min(present) if present else None,
        "max": max(present) if present else None,
        "features": features,
    }


def _underserved(
    bank: Bank, st: ApiState, level: str | None, at: datetime | None
) -> dict[str, Any]:
    snap = svc.snapshot_at(bank, at, level=level, indicator="__none__")
    if snap is None:
        return {"run_id": None, "taken_at": None, "units": []}
    names = _names(bank, st)
    frame = units_frame(bank, st)
    parents = {str(k): v for k, v in zip(frame["unit_id"], frame["parent_id"], strict=False)}
    rank = {lv: i for i, lv in enumerate(ADMIN_LEVELS)}
    units = sorted(
        snap.underserved,
        key=lambda u: (rank.get(str(u.get("level")), 99), -len(u.get("reasons") or []),
                       u["unit_id"]),
    )  # fmt: skip
    return {
        "run_id": snap.run_id,
        "taken_at": snap.taken_at.isoformat(),
        "units": [
            {
                **u,
                "name": names.get(u["unit_id"]),
                "parent_name": names.get(str(parents.get(u["unit_id"]))),
            }
            for u in units
        ],
    }


def _changes(
    bank: Bank,
    since: datetime | None,
    until: datetime | None,
    level: str | None,
    indicator: str | None,
    limit: int,
) -> dict[str, Any]:
    result = svc.changes(bank, since, until=until, level=level, indicator=indicator)
    if result is None:
        return {"since": None, "before": None, "after": None, "count": 0, "changes": []}
    return result.to_json(limit=limit)


def _trend(bank: Bank, st: ApiState, unit_id: str, indicator: str) -> dict[str, Any]:
    series = svc.trend(bank, unit_id, indicator)
    return {
        "unit_id": unit_id,
        "indicator": indicator,
        "name": _names(bank, st).get(unit_id),
        "points": [
            {"taken_at": t.isoformat(), "run_id": r, "value": _num(v)}
            for t, r, v in zip(series["taken_at"], series["run_id"], series["value"], strict=False)
        ],
    }


def _snapshots(bank: Bank) -> list[dict[str, Any]]:
    frame = svc.snapshot_times(bank)
    return [
        {"run_id": r, "taken_at": t.isoformat(), "status": s}
        for r, t, s in zip(frame["run_id"], frame["taken_at"], frame["status"], strict=False)
    ]


@router.get(
    "/services/indicators",
    response_model=list[IndicatorOut],
    summary="Coverage indicators / Indikator cakupan layanan",
    description="Indicator ids with titles in Bahasa Indonesia and English and their units.",
)
async def indicators(request: Request) -> list[dict[str, Any]]:
    return await call(request, svc.indicator_catalogue)


@router.get(
    "/services/snapshots",
    response_model=list[SnapshotOut],
    summary="Dates of stored snapshots / Tanggal snapshot tersimpan",
    description="Runs that stored indicators, oldest first (the stops of a time slider).",
)
async def snapshots(request: Request) -> list[dict[str, Any]]:
    return await call(request, _snapshots)


@router.get(
    "/services/coverage",
    response_model=CoverageOut,
    summary="Coverage per unit, as GeoJSON / Cakupan layanan per wilayah (GeoJSON)",
    description="The units of one level with the values of the snapshot in force at `at` "
    "(default: the latest). With `indicator`, each feature has `value`; without, `values` "
    "holds every indicator. `underserved` and `reasons` mark underserved units.",
)
async def coverage(
    request: Request,
    level: Annotated[str, Query(max_length=16)] = "rw",
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    at: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    when = parse_time(at, "at")
    return await call(request, _coverage, api_state(request), _check_level(level), indicator, when)


@router.get(
    "/services/underserved",
    response_model=UnderservedOut,
    summary="Underserved units with reasons / Wilayah kurang terlayani dan alasannya",
)
async def underserved(
    request: Request,
    level: Annotated[str | None, Query(max_length=16)] = None,
    at: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    when = parse_time(at, "at")
    lv = None if level is None else _check_level(level)
    return await call(request, _underserved, api_state(request), lv, when)


@router.get(
    "/services/runs",
    response_model=list[RunOut],
    summary="Refresh runs, newest first / Proses pembaruan, terbaru dahulu",
)
async def list_runs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> list[dict[str, Any]]:
    records = await call(request, lambda bank: svc.runs(bank, limit=limit, status=status))
    return [r.to_json() for r in records]


@router.get(
    "/services/runs/{run_id}",
    response_model=RunOut,
    summary="One refresh run / Satu proses pembaruan",
)
async def get_run(request: Request, run_id: str) -> dict[str, Any]:
    record = await call(request, svc.get_run, run_id)
    return record.to_json(underserved=True)


@router.get(
    "/services/changes",
    response_model=ChangesOut,
    summary="What changed between snapshots / Apa yang berubah antar-snapshot",
    description="Per unit and indicator, largest change first. `since` defaults to one "
    "month before the latest snapshot.",
)
async def list_changes(
    request: Request,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    level: Annotated[str | None, Query(max_length=16)] = None,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 500,
) -> dict[str, Any]:
    start, end = parse_time(since, "since"), parse_time(until, "until")
    lv = None if level is None else _check_level(level)
    return await call(request, _changes, start, end, lv, indicator, limit)


@router.get(
    "/services/trend",
    response_model=TrendOut,
    summary="An indicator of one unit over time / Tren indikator satu wilayah",
)
async def get_trend(
    request: Request,
    unit_id: Annotated[str, Query(max_length=190)],
    indicator: Annotated[str, Query(max_length=64)],
) -> dict[str, Any]:
    return await call(request, _trend, api_state(request), unit_id, indicator)


@router.get(
    "/services/notices",
    response_model=list[NoticeOut],
    summary="Operator notices of failed sources (operator) / Pemberitahuan sumber gagal",
)
async def list_notices(
    request: Request,
    all: bool = False,
    principal: Principal = Depends(require("operator")),
) -> list[dict[str, Any]]:
    del principal
    items = await call(request, lambda bank: svc.notices(bank, open_only=not all))
    return [n.to_json() for n in items]


@router.post(
    "/services/notices/{notice_id}/ack",
    response_model=NoticeOut,
    summary="Acknowledge a notice (operator) / Tandai pemberitahuan sudah dibaca",
)
async def ack_notice(
    request: Request,
    notice_id: int,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    mark_write(request, str(notice_id))
    notice = await call(request, lambda bank: svc.acknowledge(bank, notice_id, by=principal.actor))
    return notice.to_json()


def _run_refresh(bank_url: str, body: RefreshIn, indicators: Any) -> dict[str, Any]:
    # Its own bank: a refresh downloads and writes for a while, and must not hold the
    # API's bank (and its lock) meanwhile.
    with open_bank(bank_url) as bank:
        ids: list[str] | None
        if body.indicators_only:
            ids = []
        elif body.sources:
            ids = list(body.sources)
        elif body.all:
            ids = None
        else:
            ids = [s.source.source_id for s in svc.due_sources(bank)]
        record = svc.refresh(bank, source_ids=ids, trigger="api", indicators=indicators)
    return record.to_json()


@router.post(
    "/services/refresh",
    response_model=RunOut,
    summary="Run a refresh now (operator) / Jalankan pembaruan sekarang (operator)",
    description="Pulls the due sources (or `sources`, or `all`), recomputes the "
    "indicators and stores a snapshot; answers with the run record. A failed source "
    "does not fail the request: see `status` and the notices.",
)
async def post_refresh(
    request: Request,
    body: RefreshIn | None = None,
    principal: Principal = Depends(require("operator")),
) -> dict[str, Any]:
    del principal
    ctx = context(request)
    mark_write(request)
    indicators = getattr(request.app.state, "tangguh_services_indicators", None)
    result = await ctx.run(_run_refresh, ctx.bank_url, body or RefreshIn(), indicators)
    request.state.tangguh_object = result["run_id"]
    return result
