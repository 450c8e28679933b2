"""Stored analyses (``bank.analyses()``/``bank.analysis()``) and their HTML report."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tangguh.bank import Bank
from tangguh.risk.report import html_report
from tangguh.web.api._core import PREFIX, call
from tangguh.web.api._models import AnalysisOut

__all__ = ["router"]

router = APIRouter(tags=["analyses"])


def _record(rec: Any) -> dict[str, Any]:
    data: dict[str, Any] = rec.to_json()
    data["report_url"] = f"{PREFIX}/analyses/{rec.id}/report.html"
    return data


def _list(bank: Bank, kind: str | None) -> list[dict[str, Any]]:
    return [_record(r) for r in bank.analyses(kind=kind)]


def _one(bank: Bank, analysis_id: str, limit: int) -> dict[str, Any]:
    rec, results = bank.analysis(analysis_id)
    data = _record(rec)
    rows = []
    for u, h, e, m, v in results.head(limit).itertuples(index=False):
        value = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        rows.append(
            {"unit_id": u, "hazard_class": h or None, "exposure": e, "metric": m, "value": value}
        )
    data["results"] = rows
    data["result_count"] = len(results)
    data["truncated"] = len(results) > limit
    return data


@router.get(
    "/analyses",
    response_model=list[AnalysisOut],
    summary="Stored analyses / Analisis tersimpan",
    description="Newest first; filter by kind.",
)
async def analyses(
    request: Request, kind: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    return await call(request, _list, kind)


@router.get(
    "/analyses/{analysis_id}",
    response_model=AnalysisOut,
    summary="One analysis with its results / Satu analisis beserta hasilnya",
)
async def analysis(
    request: Request,
    analysis_id: str,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
) -> dict[str, Any]:
    return await call(request, _one, analysis_id, limit)


@router.get(
    "/analyses/{analysis_id}/report.html",
    response_class=HTMLResponse,
    summary="HTML report of an analysis / Laporan HTML analisis",
)
async def report(request: Request, analysis_id: str) -> HTMLResponse:
    return HTMLResponse(await call(request, html_report, analysis_id))
