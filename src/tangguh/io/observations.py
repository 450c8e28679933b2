"""Read station time series from CSV files (long or wide layout) into bank observations."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from tangguh.errors import ImportError_

__all__ = ["observations_from_csv"]


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ImportError_(
            f"file {path} does not exist",
            where=str(path),
            hint="check the path and its spelling",
            message_id=f"berkas {path} tidak ada",
            hint_id="periksa path dan ejaannya",
        )
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_(
            f"the file is not UTF-8 ({exc.reason} at byte {exc.start})",
            where=str(path),
            hint="convert it to UTF-8",
            message_id=f"berkas ini bukan UTF-8 ({exc.reason} pada bita {exc.start})",
            hint_id="ubah berkas ke UTF-8",
        ) from exc
    except pd.errors.ParserError as exc:
        raise ImportError_(
            f"cannot parse the CSV: {exc}",
            where=str(path),
            hint="check quoting and the number of columns per line",
            message_id=f"CSV tidak dapat diurai: {exc}",
            hint_id="periksa tanda kutip dan jumlah kolom per baris",
        ) from exc


def _times(raw: pd.Series, tz: str | None, path: Path, column: str) -> pd.Series:
    t = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = np.flatnonzero(t.isna().to_numpy())
    if len(bad):
        line = int(bad[0]) + 2
        raise ImportError_(
            f"unreadable time {raw.iloc[bad[0]]!r} ({len(bad)} rows in all)",
            where=f"{path}, line {line}, field {column}",
            hint="use ISO 8601, e.g. 2024-02-01 07:00 or 2024-02-01T07:00+07:00",
            message_id=f"waktu {raw.iloc[bad[0]]!r} tidak terbaca ({len(bad)} baris seluruhnya)",
            hint_id="gunakan ISO 8601, mis. 2024-02-01 07:00 atau 2024-02-01T07:00+07:00",
        )
    if t.dt.tz is None:
        if tz is None:
            raise ImportError_(
                "the times have no time zone",
                where=f"{path}, field {column}",
                hint="pass --tz Asia/Jakarta (WIB) or the zone of the data",
                message_id="waktu tidak memiliki zona waktu",
                hint_id="berikan --tz Asia/Jakarta (WIB) atau zona waktu data tersebut",
            )
        t = t.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    return t


def observations_from_csv(
    path: str | Path,
    *,
    time_column: str,
    tz: str | None = None,
    columns: Mapping[str, str] | None = None,
    station_column: str | None = None,
    value_column: str | None = None,
    parameter: str = "water_level",
    unit: str | None = "cm",
    source: str | None = None,
) -> pd.DataFrame:
    """Observations (station_id, parameter, t, value, unit, quality, source) from a CSV.

    Wide layout: ``columns`` maps value columns to station ids, e.g.
    ``{"Katulampa (air)": "katulampa"}`` for the DSDA gauge history. Long layout:
    ``station_column`` and ``value_column`` name the columns. Times without a zone get
    ``tz`` (Jakarta data are WIB, ``Asia/Jakarta``); values that are not numbers are an
    error naming the line.
    """
    path = Path(path)
    frame = _read(path)
    if time_column not in frame.columns:
        raise ImportError_(
            f"no time column {time_column!r}",
            where=str(path),
            hint=f"columns are {list(frame.columns)}",
            message_id=f"tidak ada kolom waktu {time_column!r}",
            hint_id=f"kolom yang ada: {list(frame.columns)}",
        )
    t = _times(frame[time_column], tz, path, time_column)
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ImportError_(
                f"no column(s) {missing}",
                where=str(path),
                hint=f"columns are {list(frame.columns)}",
                message_id=f"kolom tidak ada: {missing}",
                hint_id=f"kolom yang ada: {list(frame.columns)}",
            )
        parts = [
            pd.DataFrame({"station_id": sid, "t": t, "raw": frame[col], "col": col})
            for col, sid in columns.items()
        ]
        long = pd.concat(parts, ignore_index=True)
        lines = np.tile(np.arange(len(frame)) + 2, len(columns))
    elif station_column and value_column:
        for col in (station_column, value_column):
            if col not in frame.columns:
                raise ImportError_(
                    f"no column {col!r}",
                    where=str(path),
                    hint=f"columns are {list(frame.columns)}",
                    message_id=f"tidak ada kolom {col!r}",
                    hint_id=f"kolom yang ada: {list(frame.columns)}",
                )
        long = pd.DataFrame(
            {
                "station_id": frame[station_column].astype(str),
                "t": t,
                "raw": frame[value_column],
                "col": value_column,
            }
        )
        lines = np.arange(len(frame)) + 2
    else:
        raise ImportError_(
            "say which columns hold values",
            where=str(path),
            hint="wide files: --column 'Katulampa (air)=katulampa'; long files: "
            "--station-column and --value-column",
            message_id="sebutkan kolom mana yang berisi nilai",
            hint_id="berkas lebar: --column 'Katulampa (air)=katulampa'; berkas panjang: "
            "--station-column dan --value-column",
        )
    value = pd.to_numeric(long["raw"], errors="coerce")
    bad = np.flatnonzero((value.isna() & long["raw"].notna()).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise ImportError_(
            f"value {long['raw'].iloc[i]!r} is not a number ({len(bad)} in all)",
            where=f"{path}, line {lines[i]}, field {long['col'].iloc[i]}",
            hint="fix or blank those cells",
            message_id=f"nilai {long['raw'].iloc[i]!r} bukan angka ({len(bad)} seluruhnya)",
            hint_id="perbaiki atau kosongkan sel-sel itu",
        )
    out = pd.DataFrame(
        {
            "station_id": long["station_id"],
            "parameter": parameter,
            "t": long["t"],
            "value": value,
            "unit": unit,
            "quality": "good",
            "source": source or path.name,
        }
    )
    return out[out["value"].notna()].reset_index(drop=True)
