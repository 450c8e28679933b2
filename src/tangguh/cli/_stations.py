"""`tangguh stations …` and `tangguh obs …`: the station registry and time series."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank
from tangguh.errors import InputError

__all__ = ["register"]

stations_app = typer.Typer(help="Station registry / Registri stasiun", no_args_is_help=True)
obs_app = typer.Typer(help="Observations / Data pengamatan", no_args_is_help=True)


@stations_app.command("import")
@handle_errors
def stations_import(
    file: Path,
    kind: str = typer.Option(
        ...,
        "--kind",
        help="river_gauge, rain_gauge, tide_gauge, pump_house, reservoir, well, air_quality, …",
    ),
    id_field: str = typer.Option(..., "--id-field", help="Column with a unique station id"),
    name_field: str | None = typer.Option(None, "--name-field"),
    river_field: str | None = typer.Option(None, "--river-field"),
    prefix: str = typer.Option("", "--prefix", help="Prefix for station ids, e.g. dsda_"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Register stations from a point file / Daftarkan stasiun dari berkas titik."""
    from tangguh.io import read_vector

    frame, report = read_vector(file)
    for col in (id_field, name_field, river_field):
        if col is not None and col not in frame.columns:
            raise InputError(
                f"no column {col!r}",
                where=str(file),
                hint=f"columns: {[c for c in frame.columns if c != 'geometry']}",
                message_id=f"tidak ada kolom {col!r}",
                hint_id=f"kolom yang ada: {[c for c in frame.columns if c != 'geometry']}",
            )
    pts = frame.geometry.representative_point()
    stations = pd.DataFrame(
        {
            "station_id": prefix + frame[id_field].astype(str),
            "name": frame[name_field] if name_field else None,
            "kind": kind,
            "lon": pts.x,
            "lat": pts.y,
            "river": frame[river_field] if river_field else None,
            "source": str(file),
        }
    )
    attrs = frame.drop(columns=[c for c in (id_field, name_field, river_field, "geometry") if c])
    stations["attributes"] = attrs.astype(object).where(attrs.notna(), None).to_dict("records")
    flagged = [i.to_json() for i in report.issues if i.kind == "null_island"]
    with use_bank(bank, create=True) as b:
        n = b.write_stations(stations)
    result = {"stations": n, "null_island": flagged}
    if as_json:
        emit_json(result)
    else:
        console.print(f"{n} stations / stasiun; [0,0] points flagged: {len(flagged)}")


@stations_app.command("list")
@handle_errors
def stations_list(
    kind: str | None = typer.Option(None, "--kind"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """List stations / Daftar stasiun."""
    with use_bank(bank) as b:
        frame = b.stations(kind=kind)
    cols = ["station_id", "name", "kind", "lon", "lat", "river"]
    if as_json:
        emit_json(frame[cols].to_dict("records"))
        return
    table = Table(title="Stations / Stasiun")
    for col in cols:
        table.add_column(col)
    for rec in frame[cols].itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in rec))
    console.print(table)


def _column_map(values: list[str] | None) -> dict[str, str]:
    out = {}
    for item in values or []:
        if "=" not in item:
            raise InputError(
                f"--column expects 'CSV COLUMN=station_id', got {item!r}",
                where="--column",
                message_id=f"--column memerlukan 'KOLOM CSV=station_id', yang diterima {item!r}",
            )
        col, sid = item.rsplit("=", 1)
        out[col] = sid
    return out


@obs_app.command("import")
@handle_errors
def obs_import(
    file: Path,
    time_column: str = typer.Option(..., "--time-column"),
    tz: str | None = typer.Option(
        None, "--tz", help="Zone of times without one, e.g. Asia/Jakarta"
    ),
    column: list[str] | None = typer.Option(None, "--column", help="'CSV COLUMN=station_id'"),
    station_column: str | None = typer.Option(None, "--station-column"),
    value_column: str | None = typer.Option(None, "--value-column"),
    parameter: str = typer.Option("water_level", "--parameter"),
    unit: str = typer.Option("cm", "--unit"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a time-series CSV (long or wide) / Impor deret waktu."""
    from tangguh.io.observations import observations_from_csv

    obs = observations_from_csv(
        file,
        time_column=time_column,
        tz=tz,
        columns=_column_map(column),
        station_column=station_column,
        value_column=value_column,
        parameter=parameter,
        unit=unit,
    )
    with use_bank(bank) as b:
        n = b.write_observations(obs)
    result = {
        "observations": n,
        "stations": sorted(obs["station_id"].unique()),
        "start": obs["t"].min().isoformat(),
        "end": obs["t"].max().isoformat(),
    }
    if as_json:
        emit_json(result)
    else:
        console.print(f"{n:,} observations / pengamatan: {result}")


@obs_app.command("query")
@handle_errors
def obs_query(
    station_id: str,
    start: datetime | None = typer.Option(
        None,
        "--start",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
    ),
    end: datetime | None = typer.Option(
        None,
        "--end",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
    ),
    tz: str = typer.Option("Asia/Jakarta", "--tz", help="Zone of --start/--end without one"),
    parameter: str | None = typer.Option(None, "--parameter"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Observations of a station in [start, end) / Data pengamatan satu stasiun."""
    bounds = []
    for value in (start, end):
        stamp = None if value is None else pd.Timestamp(value)
        if stamp is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(tz)
        bounds.append(stamp)
    with use_bank(bank) as b:
        frame = b.observations(station_id, start=bounds[0], end=bounds[1], parameter=parameter)
    frame["t"] = frame["t"].dt.tz_convert(tz)
    if as_json:
        emit_json(frame.assign(t=frame["t"].map(lambda v: v.isoformat())).to_dict("records"))
        return
    table = Table(title=f"{station_id} ({len(frame)})")
    for col in ("t", "parameter", "value", "unit", "quality"):
        table.add_column(col)
    for rec in frame.tail(50).to_dict("records"):
        table.add_row(
            rec["t"].isoformat(),
            str(rec["parameter"]),
            f"{rec['value']:g}",
            str(rec["unit"] or ""),
            str(rec["quality"] or ""),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(stations_app, name="stations")
    app.add_typer(obs_app, name="obs")
