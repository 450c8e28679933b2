"""Analysis records: every impact run stored with its inputs, parameters and results.

Mixed into :class:`tangguh.bank._sqlbank.SqlBank`. A record keeps what is needed to
reproduce the run (``tangguh impact replay ID``): the input layers with the versions
read, the parameters (classification and needs profile in full, not only by name), the
software version and the timings; results are a long table (unit, hazard class,
exposure, metric, value) so any analysis kind fits.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select

from tangguh.bank import _schema as S
from tangguh.bank.base import RESULT_COLUMNS, AnalysisRecord
from tangguh.errors import InputError, NotFoundError

__all__ = ["AnalysesMixin"]


class AnalysesMixin:
    """save_analysis(), analyses(), analysis()."""

    url: str

    def _tx(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def save_analysis(self, record: AnalysisRecord, results: pd.DataFrame) -> str:
        """Store a record and its results in one transaction; return the record id."""
        missing = [c for c in RESULT_COLUMNS if c not in results.columns]
        if missing:
            raise InputError(
                f"analysis results lack columns {missing}",
                message_id=f"hasil analisis tidak memiliki kolom {missing}",
                hint=f"give {list(RESULT_COLUMNS)}",
                hint_id=f"berikan {list(RESULT_COLUMNS)}",
            )
        values = pd.to_numeric(results["value"], errors="coerce")
        hazard = results["hazard_class"]
        rows = list(
            zip(
                [record.id] * len(results),
                results["unit_id"].astype(str),
                np.where(hazard.isna(), "", hazard.astype(str)).tolist(),
                results["exposure"].astype(str),
                results["metric"].astype(str),
                [None if pd.isna(v) else float(v) for v in values],
                strict=True,
            )
        )
        head = record.to_json()
        head["created"] = record.created
        with self._tx() as conn:
            conn.execute(insert(S.tg_analysis).values(**head))
            if rows:
                # Plain driver executemany: tens of thousands of result rows per run,
                # where SQLAlchemy's per-row parameter processing would dominate.
                sql = (
                    "INSERT INTO tg_analysis_result (analysis_id, unit_id, hazard_class, "
                    "exposure, metric, value) VALUES (?, ?, ?, ?, ?, ?)"
                )
                if conn.dialect.paramstyle != "qmark":
                    sql = sql.replace("?", "%s")
                conn.exec_driver_sql(sql, rows)
        return record.id

    def analyses(self, *, kind: str | None = None) -> list[AnalysisRecord]:
        """Stored analyses, newest first."""
        query = select(S.tg_analysis).order_by(S.tg_analysis.c.created.desc())
        if kind is not None:
            query = query.where(S.tg_analysis.c.kind == kind)
        with self._read() as conn:
            return [AnalysisRecord(**dict(r)) for r in conn.execute(query).mappings()]

    def analysis(self, analysis_id: str) -> tuple[AnalysisRecord, pd.DataFrame]:
        """One record and its results (a frame with :data:`RESULT_COLUMNS`)."""
        with self._read() as conn:
            row = (
                conn.execute(select(S.tg_analysis).where(S.tg_analysis.c.id == analysis_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFoundError(
                    f"no analysis {analysis_id!r}",
                    message_id=f"tidak ada analisis {analysis_id!r}",
                    where=self.url,
                    hint="list them with `tangguh impact list`",
                    hint_id="lihat daftarnya dengan `tangguh impact list`",
                )
            results = conn.execute(
                select(*(S.tg_analysis_result.c[c] for c in RESULT_COLUMNS)).where(
                    S.tg_analysis_result.c.analysis_id == analysis_id
                )
            ).all()
        frame = pd.DataFrame([tuple(r) for r in results], columns=list(RESULT_COLUMNS))
        return AnalysisRecord(**dict(row)), frame

    def delete_analysis(self, analysis_id: str) -> None:
        self.analysis(analysis_id)
        with self._tx() as conn:
            conn.execute(
                delete(S.tg_analysis_result).where(
                    S.tg_analysis_result.c.analysis_id == analysis_id
                )
            )
            conn.execute(delete(S.tg_analysis).where(S.tg_analysis.c.id == analysis_id))
