"""Stations, observations and admin attributes: the part of the bank that is time series.

Mixed into :class:`tangguh.bank._sqlbank.SqlBank`; written once with SQLAlchemy Core for
both backends, with a backend hook for the bulk observation load.
"""

from __future__ import annotations

from abc import abstractmethod
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, and_, delete, insert, select, text

from tangguh.bank import _schema as S
from tangguh.errors import InputError

__all__ = ["TimeSeriesMixin"]

_STATION_COLUMNS = ("station_id", "name", "kind", "lon", "lat", "river", "unit_id", "source")


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


class TimeSeriesMixin:
    """Station registry, observations and the admin attribute long table."""

    dialect: str

    def _tx(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Connection]:  # provided by SqlBank
        raise NotImplementedError

    # -- stations --------------------------------------------------------------------------
    def write_stations(self, stations: pd.DataFrame) -> int:
        missing = {"station_id", "kind"} - set(stations.columns)
        if missing:
            raise InputError(
                f"stations table lacks columns {sorted(missing)}",
                hint="give at least station_id and kind (and lon, lat)",
                message_id=f"tabel stasiun tidak memiliki kolom {sorted(missing)}",
                hint_id="berikan setidaknya station_id dan kind (serta lon, lat)",
            )
        if stations["station_id"].isna().any() or stations["station_id"].duplicated().any():
            bad = stations.index[
                stations["station_id"].isna() | stations["station_id"].duplicated()
            ]
            raise InputError(
                "station_id is empty or repeated",
                where=f"rows {list(bad[:5])}",
                hint="give every station a unique id",
                message_id="station_id kosong atau berulang",
                hint_id="berikan ID unik untuk setiap stasiun",
            )
        now = _now()
        records = []
        for rec in stations.to_dict("records"):
            out = {c: (None if _isna(rec.get(c)) else rec.get(c)) for c in _STATION_COLUMNS}
            attrs = rec.get("attributes")
            extra = {
                k: v
                for k, v in rec.items()
                if k not in _STATION_COLUMNS
                and k not in ("attributes", "geometry")
                and not _isna(v)
            }
            out["attributes"] = {**(attrs if isinstance(attrs, dict) else {}), **extra}
            out["station_id"] = str(out["station_id"])
            for c in ("lon", "lat"):
                value = out[c]
                out[c] = None if value is None else float(value)
            out["updated"] = now
            records.append(out)
        ids = [r["station_id"] for r in records]
        with self._tx() as conn:
            for chunk in range(0, len(ids), 500):
                conn.execute(
                    delete(S.tg_station).where(
                        S.tg_station.c.station_id.in_(ids[chunk : chunk + 500])
                    )
                )
            if records:
                conn.execute(insert(S.tg_station), records)
        return len(records)

    def stations(self, *, kind: str | None = None) -> gpd.GeoDataFrame:
        query = select(S.tg_station).order_by(S.tg_station.c.station_id)
        if kind is not None:
            query = query.where(S.tg_station.c.kind == kind)
        with self._read() as conn:
            frame = pd.DataFrame(
                conn.execute(query).mappings().all(), columns=[c.name for c in S.tg_station.columns]
            )
        geoms = shapely.points(
            frame["lon"].astype(float).to_numpy(), frame["lat"].astype(float).to_numpy()
        )
        return gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs="EPSG:4326"
        )

    def write_observations(self, observations: pd.DataFrame) -> int:
        missing = {"station_id", "parameter", "t", "value"} - set(observations.columns)
        if missing:
            raise InputError(
                f"observations lack columns {sorted(missing)}",
                hint="give station_id, parameter, t (with time zone), value",
                message_id=f"data pengamatan tidak memiliki kolom {sorted(missing)}",
                hint_id="berikan station_id, parameter, t (dengan zona waktu), value",
            )
        t = pd.to_datetime(observations["t"], errors="coerce")
        if t.isna().any():
            row = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise InputError(
                "unreadable or missing time",
                where=f"row {row}, field t",
                hint="use ISO 8601 with a zone, e.g. 2024-02-01T07:00:00+07:00",
                message_id="waktu tidak terbaca atau kosong",
                hint_id="gunakan ISO 8601 dengan zona waktu, mis. 2024-02-01T07:00:00+07:00",
            )
        if getattr(t.dt, "tz", None) is None:
            raise InputError(
                "observation times have no time zone",
                where="field t",
                hint="add a zone (Jakarta data are usually WIB: +07:00)",
                message_id="waktu pengamatan tidak memiliki zona waktu",
                hint_id="tambahkan zona waktu (data Jakarta biasanya WIB: +07:00)",
            )
        obs = pd.DataFrame(
            {
                "station_id": observations["station_id"].astype(str).to_numpy(),
                "parameter": observations["parameter"].astype(str).to_numpy(),
                "t": t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]"),
                "value": pd.to_numeric(observations["value"], errors="coerce").to_numpy(float),
            }
        )
        for col, default in (("unit", None), ("quality", "good"), ("source", None)):
            obs[col] = observations[col].to_numpy() if col in observations else default
        with self._read() as conn:
            known = set(conn.execute(select(S.tg_station.c.station_id)).scalars())
        unknown = sorted(set(obs["station_id"]) - known)
        if unknown:
            raise InputError(
                f"observations for unknown stations {unknown[:5]}",
                hint="register the stations first (write_stations / `tangguh stations import`)",
                message_id=f"pengamatan untuk stasiun yang tidak dikenal {unknown[:5]}",
                hint_id="daftarkan stasiun terlebih dahulu (write_stations / `tangguh stations "
                "import`)",
            )
        with self._tx() as conn:
            self._bulk_observations(conn, obs)
        return len(obs)

    @abstractmethod
    def _bulk_observations(self, conn: Connection, obs: pd.DataFrame) -> None:
        """Upsert observations; ``obs.t`` is datetime64[ns] UTC (naive numpy)."""

    def observations(
        self,
        station_id: str,
        *,
        start: datetime | pd.Timestamp | None = None,
        end: datetime | pd.Timestamp | None = None,
        parameter: str | None = None,
    ) -> pd.DataFrame:
        conds = ["station_id = :station"]
        params: dict[str, Any] = {"station": station_id}
        for bound, name, op in ((start, "start", ">="), (end, "end", "<")):
            if bound is None:
                continue
            stamp = pd.Timestamp(bound)
            if stamp.tzinfo is None:
                raise InputError(
                    "time bound without a time zone",
                    hint="give e.g. 2024-02-01T00:00+07:00",
                    message_id="batas waktu tanpa zona waktu",
                    hint_id="berikan mis. 2024-02-01T00:00+07:00",
                )
            value = stamp.to_pydatetime()
            params[name] = value if self.dialect == "postgresql" else S.to_micros(value)
            conds.append(f"t {op} :{name}")
        if parameter is not None:
            conds.append("parameter = :parameter")
            params["parameter"] = parameter
        # Plain SQL and one vectorised time conversion: per-row type processing would
        # dominate a query returning thousands of readings.
        query = text(
            "SELECT station_id, parameter, t, value, unit, quality, source FROM tg_observation "
            f"WHERE {' AND '.join(conds)} ORDER BY t, parameter"
        )
        names = ["station_id", "parameter", "t", "value", "unit", "quality", "source"]
        with self._read() as conn:
            rows = conn.execute(query, params).all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        frame = pd.DataFrame({n: list(col) for n, col in zip(names, columns, strict=True)})
        if self.dialect == "postgresql":
            frame["t"] = pd.to_datetime(frame["t"], utc=True)
        else:
            frame["t"] = pd.to_datetime(frame["t"].astype("int64"), unit="us", utc=True)
        frame["value"] = frame["value"].astype("float64")
        return frame

    # -- admin attributes ---------------------------------------------------------------------
    def write_admin_attributes(self, rows: pd.DataFrame) -> int:
        missing = {"unit_id", "attribute", "value"} - set(rows.columns)
        if missing:
            raise InputError(
                f"attribute rows lack columns {sorted(missing)}",
                hint="give unit_id, attribute, value (and year, source)",
                message_id=f"baris atribut tidak memiliki kolom {sorted(missing)}",
                hint_id="berikan unit_id, attribute, value (serta year, source)",
            )
        records = [
            {
                "unit_id": str(r["unit_id"]),
                "attribute": str(r["attribute"]),
                "value": None if _isna(r["value"]) else float(r["value"]),
                "year": None if _isna(r.get("year")) else int(r["year"]),
                "source": None if _isna(r.get("source")) else str(r["source"]),
            }
            for r in rows.to_dict("records")
        ]
        with self._tx() as conn:
            for rec in records:
                conn.execute(
                    delete(S.tg_admin_attribute).where(
                        and_(
                            S.tg_admin_attribute.c.unit_id == rec["unit_id"],
                            S.tg_admin_attribute.c.attribute == rec["attribute"],
                        )
                    )
                )
            if records:
                conn.execute(insert(S.tg_admin_attribute), records)
        return len(records)

    def admin_attributes(self, attribute: str | None = None) -> pd.DataFrame:
        query = select(S.tg_admin_attribute).order_by(S.tg_admin_attribute.c.unit_id)
        if attribute is not None:
            query = query.where(S.tg_admin_attribute.c.attribute == attribute)
        with self._read() as conn:
            return pd.DataFrame(
                conn.execute(query).mappings().all(),
                columns=[c.name for c in S.tg_admin_attribute.columns],
            )


def _isna(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
