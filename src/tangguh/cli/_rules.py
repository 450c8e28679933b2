"""`tangguh rules …` (thresholds, rules, river links) and `tangguh replay`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    language,
    use_bank,
)
from tangguh.errors import InputError

__all__ = ["register"]

rules_app = typer.Typer(
    help="Siaga rules: thresholds, rules, river links / Aturan Siaga: ambang, aturan, tautan "
    "sungai",
    no_args_is_help=True,
)
thresholds_app = typer.Typer(
    help="Versioned Siaga thresholds / Ambang Siaga berversi", no_args_is_help=True
)
links_app = typer.Typer(
    help="River links and warned areas / Tautan sungai dan wilayah peringatan",
    no_args_is_help=True,
)

_TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]


def _h(text_id: str, text_en: str) -> str:
    """A bilingual header, the user's language first."""
    return f"{text_id} / {text_en}" if language() == "id" else f"{text_en} / {text_id}"


def _stamp(value: datetime | str | None, tz: str) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(tz) if stamp.tzinfo is None else stamp


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out = {}
    for item in values or []:
        if "=" not in item:
            raise InputError(
                f"{option} expects 'NAME=station_id', got {item!r}",
                where=option,
                hint=f"e.g. {option} 'Katulampa=katulampa'",
                message_id=f"{option} memerlukan 'NAMA=station_id', yang diterima {item!r}",
                hint_id=f"mis. {option} 'Katulampa=katulampa'",
            )
        key, sid = item.rsplit("=", 1)
        out[key.strip()] = sid.strip()
    return out


# -- thresholds ---------------------------------------------------------------------------------
@thresholds_app.command("set")
@handle_errors
def thresholds_set(
    station_id: str,
    siaga3: float | None = typer.Option(None, "--siaga3", help="Lower bound of Siaga 3"),
    siaga2: float | None = typer.Option(None, "--siaga2", help="Lower bound of Siaga 2"),
    siaga1: float | None = typer.Option(None, "--siaga1", help="Lower bound of Siaga 1"),
    parameter: str = typer.Option("water_level", "--parameter"),
    valid_from: datetime | None = typer.Option(
        None, "--valid-from", formats=_TIME_FORMATS, help="In force from (default: now)"
    ),
    tz: str = typer.Option("Asia/Jakarta", "--tz", help="Zone of --valid-from without one"),
    datum: str | None = typer.Option(None, "--datum", help="e.g. 'local gauge zero', 'peil'"),
    source: str | None = typer.Option(None, "--source"),
    author: str | None = typer.Option(None, "--author"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Store a new threshold version / Simpan versi ambang baru."""
    from tangguh.warning.rules import set_thresholds

    values = {lv: v for lv, v in ((3, siaga3), (2, siaga2), (1, siaga1)) if v is not None}
    start = _stamp(valid_from, tz) or pd.Timestamp.now(tz="UTC")
    with use_bank(bank) as b:
        version = set_thresholds(
            b,
            station_id,
            parameter,
            values,
            valid_from=start,
            datum=datum,
            source=source,
            author=author,
        )
    if as_json:
        emit_json(version.to_json())
    else:
        console.print(f"{station_id}/{parameter}: {version.to_json()['values']} (>= {start})")


def _versions_table(title: str, versions: list[Any], tz: str) -> Table:
    table = Table(title=title)
    for col in (
        _h("Stasiun", "Station"),
        _h("Parameter", "Parameter"),
        _h("Berlaku sejak", "Valid from"),
        "Siaga 3",
        "Siaga 2",
        "Siaga 1",
        _h("Datum", "Datum"),
        _h("Sumber", "Source"),
    ):
        table.add_column(col)
    for v in versions:
        table.add_row(
            v.station_id,
            v.parameter,
            pd.Timestamp(v.valid_from).tz_convert(tz).isoformat(),
            *(f"{v.values[lv]:g}" if lv in v.values else "-" for lv in (3, 2, 1)),
            v.datum or "",
            v.source or "",
        )
    return table


@thresholds_app.command("list")
@handle_errors
def thresholds_list(
    station: str | None = typer.Option(None, "--station"),
    tz: str = typer.Option("Asia/Jakarta", "--tz"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Thresholds in force now / Ambang yang berlaku sekarang."""
    from tangguh.warning._rules_store import all_threshold_versions

    now = pd.Timestamp.now(tz="UTC")
    with use_bank(bank) as b:
        current: dict[tuple[str, str], Any] = {}
        for v in all_threshold_versions(b):
            if (station is None or v.station_id == station) and v.valid_from <= now:
                current[(v.station_id, v.parameter)] = v
    versions = [current[k] for k in sorted(current)]
    if as_json:
        emit_json([v.to_json() for v in versions])
        return
    console.print(
        _versions_table(_h("Ambang Siaga berlaku", "Siaga thresholds in force"), versions, tz)
    )


@thresholds_app.command("history")
@handle_errors
def thresholds_history(
    station_id: str,
    parameter: str | None = typer.Option(None, "--parameter"),
    tz: str = typer.Option("Asia/Jakarta", "--tz"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """All threshold versions of a station, newest first / Riwayat ambang satu stasiun."""
    from tangguh.warning.rules import threshold_history

    with use_bank(bank) as b:
        versions = threshold_history(b, station_id, parameter)
    if as_json:
        emit_json([v.to_json() for v in versions])
        return
    console.print(_versions_table(_h("Riwayat ambang", "Threshold history"), versions, tz))


@thresholds_app.command("import")
@handle_errors
def thresholds_import(
    file: Path | None = typer.Argument(None, help="CSV: Lokasi, Siaga 3, Siaga 2, Siaga 1"),
    station_map: list[str] | None = typer.Option(
        None, "--map", help="'Lokasi=station_id', repeatable (default: lower-cased name)"
    ),
    dsda: bool = typer.Option(
        False, "--dsda", help="Import the thresholds the DSDA feed published on the stations"
    ),
    parameter: str = typer.Option("water_level", "--parameter"),
    valid_from: datetime | None = typer.Option(None, "--valid-from", formats=_TIME_FORMATS),
    tz: str = typer.Option("Asia/Jakarta", "--tz"),
    datum: str = typer.Option("local gauge zero", "--datum"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Import thresholds from a CSV or the DSDA feed / Impor ambang dari CSV atau feed DSDA."""
    from tangguh.warning.rules import ALWAYS, import_station_thresholds, import_thresholds_csv

    if (file is None) == (not dsda):
        raise InputError(
            "give either a CSV file or --dsda",
            where="arguments",
            hint="e.g. `tangguh rules thresholds import pintu_air_siaga_thresholds.csv`",
            message_id="berikan berkas CSV atau --dsda (salah satu)",
            hint_id="mis. `tangguh rules thresholds import pintu_air_siaga_thresholds.csv`",
        )
    start = _stamp(valid_from, tz)
    with use_bank(bank) as b:
        if file is not None:
            versions = import_thresholds_csv(
                b,
                file,
                _pairs(station_map, "--map") or None,
                valid_from=start if start is not None else ALWAYS,
                parameter=parameter,
                datum=datum,
            )
        else:
            versions = import_station_thresholds(b, valid_from=start, parameter=parameter)
    if as_json:
        emit_json([v.to_json() for v in versions])
        return
    console.print(_versions_table(_h("Ambang diimpor", "Thresholds imported"), versions, tz))


# -- rules -----------------------------------------------------------------------------------------
@rules_app.command("list")
@handle_errors
def rules_list(
    station: str | None = typer.Option(None, "--station"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Stored rules / Aturan yang tersimpan."""
    from tangguh.warning.rules import rules

    with use_bank(bank) as b:
        found = rules(b, station_id=station)
    if as_json:
        emit_json([r.to_json() for r in found])
        return
    table = Table(title=_h("Aturan Siaga", "Siaga rules"))
    for col in (
        _h("Aturan", "Rule"),
        _h("Jenis", "Kind"),
        _h("Stasiun", "Station"),
        _h("Parameter", "Parameter"),
        _h("Aktif", "Enabled"),
        _h("Konfigurasi", "Config"),
    ):
        table.add_column(col)
    for r in found:
        table.add_row(
            r.rule_id,
            r.kind,
            r.station_id,
            r.parameter,
            "ya/yes" if r.enabled else "-",
            str(r.config),
        )
    console.print(table)


@rules_app.command("add")
@handle_errors
def rules_add(
    file: Path | None = typer.Option(None, "--file", help="TOML file with [[rules]] tables"),
    rule_id: str | None = typer.Option(None, "--id"),
    kind: str | None = typer.Option(None, "--kind", help="level | rate | rain (combined: --file)"),
    station: str | None = typer.Option(None, "--station"),
    parameter: str = typer.Option("water_level", "--parameter"),
    level: int | None = typer.Option(None, "--level", help="Siaga level the rule raises (1-3)"),
    rise: float | None = typer.Option(None, "--rise", help="rate: rise (e.g. cm) within window"),
    mm_per_hour: float | None = typer.Option(None, "--mm-per-hour", help="rain: intensity"),
    window: int | None = typer.Option(None, "--window", help="rate/rain: window in minutes"),
    margin_pct: float | None = typer.Option(None, "--margin-pct", help="level: hysteresis %"),
    margin_cm: float | None = typer.Option(None, "--margin-cm", help="level: hysteresis in cm"),
    dwell: int | None = typer.Option(None, "--dwell", help="level: minimum dwell in minutes"),
    disabled: bool = typer.Option(False, "--disabled"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Add rules from a TOML file or options / Tambah aturan dari berkas TOML atau opsi."""
    from tangguh.warning.rules import Rule, add_rules, load_rules_toml

    if file is not None:
        new = load_rules_toml(file)
    else:
        if not (rule_id and kind and station):
            raise InputError(
                "give --file, or --id, --kind and --station",
                where="options",
                hint="e.g. --id depok-rate --kind rate --station depok --rise 50 --window 180 "
                "--level 2",
                message_id="berikan --file, atau --id, --kind dan --station",
                hint_id="mis. --id depok-rate --kind rate --station depok --rise 50 --window 180 "
                "--level 2",
            )
        options = {
            "level": level,
            "rise": rise,
            "mm_per_hour": mm_per_hour,
            "window_minutes": window,
            "margin_pct": margin_pct,
            "margin_cm": margin_cm,
            "dwell_minutes": dwell,
        }
        config = {k: v for k, v in options.items() if v is not None}
        new = [Rule(rule_id, kind, station, parameter, config, enabled=not disabled)]
    with use_bank(bank) as b:
        stored = add_rules(b, new)
    if as_json:
        emit_json([r.to_json() for r in stored])
    else:
        for r in stored:
            console.print(f"{r.rule_id} ({r.kind}, {r.station_id}/{r.parameter}): {r.config}")


@rules_app.command("state")
@handle_errors
def rules_state(
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Live Siaga state per station / Status Siaga terkini per stasiun."""
    from tangguh.warning.rules import rule_states

    with use_bank(bank) as b:
        states = rule_states(b)
    if as_json:
        emit_json([s.to_json() for s in states])
        return
    table = Table(title=_h("Status Siaga", "Siaga state"))
    for col in (
        _h("Stasiun", "Station"),
        _h("Parameter", "Parameter"),
        "Siaga",
        _h("Sejak", "Since"),
        _h("Pembacaan terakhir", "Last reading"),
    ):
        table.add_column(col)
    for s in states:
        table.add_row(
            s.station_id,
            s.parameter,
            str(s.level),
            s.since.isoformat() if s.since else "",
            s.last_t.isoformat() if s.last_t else "",
        )
    console.print(table)


# -- links ---------------------------------------------------------------------------------------
@links_app.command("list")
@handle_errors
def links_list(
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """River links and warned areas / Tautan sungai dan wilayah peringatan."""
    from tangguh.warning.rules import river_links, station_areas

    with use_bank(bank) as b:
        links = river_links(b)
        areas = station_areas(b)
    if as_json:
        emit_json({"links": [x.to_json() for x in links], "areas": [a.to_json() for a in areas]})
        return
    table = Table(title=_h("Tautan sungai", "River links"))
    for col in (
        _h("Hulu", "Upstream"),
        _h("Hilir", "Downstream"),
        _h("Waktu tempuh (menit)", "Lead (min)"),
        _h("Sungai", "River"),
        _h("Sumber", "Source"),
    ):
        table.add_column(col)
    for x in links:
        table.add_row(
            x.upstream_station,
            x.downstream_station,
            str(x.lead_minutes),
            x.river or "",
            x.source or "",
        )
    console.print(table)
    per: dict[str, list[str]] = {}
    for a in areas:
        per.setdefault(a.station_id, []).append(a.unit_id)
    area_table = Table(title=_h("Wilayah peringatan per stasiun", "Warned areas per station"))
    for col in (_h("Stasiun", "Station"), "kelurahan", "RW", _h("Contoh", "Examples")):
        area_table.add_column(col)
    for sid, units in sorted(per.items()):
        kel = [u for u in units if u.startswith("kelurahan:")]
        rw = [u for u in units if u.startswith("rw:")]
        area_table.add_row(sid, str(len(kel)), str(len(rw)), ", ".join(kel[:3]))
    console.print(area_table)


@links_app.command("seed")
@handle_errors
def links_seed(
    file: Path | None = typer.Option(
        None, "--file", help="Seed TOML (default: the packaged Jakarta Ciliwung chain)"
    ),
    no_thresholds: bool = typer.Option(
        False, "--no-thresholds", help="Do not set thresholds of stations without any"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Seed Jakarta's Ciliwung chain / Isi rantai Ciliwung Jakarta."""
    from tangguh.warning.rules import seed_jakarta

    with use_bank(bank, create=True) as b:
        report = seed_jakarta(b, file, thresholds=not no_thresholds)
    if as_json:
        emit_json(report.to_json())
        return
    console.print(
        f"{_h('Stasiun baru', 'New stations')}: {report.stations_added}\n"
        f"{_h('Ambang ditetapkan', 'Thresholds set')}: {report.thresholds_set}\n"
        f"{_h('Tautan', 'Links')}: {report.links}\n"
        f"{_h('Kelurahan cocok', 'Kelurahan matched')}: {len(report.matched)}, RW: {report.rw}\n"
        f"{_h('Tidak cocok', 'Unmatched')}: {report.unmatched}"
    )
    for note in report.notes:
        console.print(note, markup=False)


# -- replay --------------------------------------------------------------------------------------
def _series_from_csv(
    path: Path,
    time_column: str | None,
    tz: str,
    columns: dict[str, str],
    station_column: str | None,
    value_column: str | None,
    parameter: str,
) -> pd.DataFrame:
    from tangguh.io.observations import observations_from_csv

    head = pd.read_csv(path, nrows=0, encoding="utf-8-sig") if path.exists() else pd.DataFrame()
    names = [str(c) for c in head.columns]
    if time_column is None:
        time_column = next((c for c in ("Tanggal", "t", "time", "timestamp") if c in names), "t")
    if not columns and not (station_column and value_column):
        # The DSDA gauge history: "Katulampa (air)" -> katulampa
        columns = {
            c: c.split("(")[0].strip().lower().replace(" ", "_")
            for c in names
            if c.endswith("(air)")
        }
    return observations_from_csv(
        path,
        time_column=time_column,
        tz=tz,
        columns=columns or None,
        station_column=station_column,
        value_column=value_column,
        parameter=parameter,
    )


def replay_cmd(
    csv: Path | None = typer.Option(
        None, "--csv", help="CSV history (default: the bank's stored observations)"
    ),
    station: list[str] | None = typer.Option(None, "--station", help="Only these stations"),
    start: datetime | None = typer.Option(None, "--from", formats=_TIME_FORMATS),
    end: datetime | None = typer.Option(None, "--to", formats=_TIME_FORMATS),
    tz: str = typer.Option(
        "Asia/Jakarta", "--tz", help="Zone of CSV times, --from/--to and of the output"
    ),
    time_column: str | None = typer.Option(None, "--time-column"),
    column: list[str] | None = typer.Option(
        None, "--column", help="'CSV COLUMN=station_id' (default: every '<Name> (air)' column)"
    ),
    station_column: str | None = typer.Option(None, "--station-column"),
    value_column: str | None = typer.Option(None, "--value-column"),
    parameter: str = typer.Option("water_level", "--parameter"),
    limit: int = typer.Option(0, "--limit", help="Show only the last N transitions (0 = all)"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Replay the Siaga rules over a series / Putar ulang aturan Siaga atas deret waktu."""
    from tangguh.warning.rules import replay

    series = None
    if csv is not None:
        series = _series_from_csv(
            csv,
            time_column,
            tz,
            _pairs(column, "--column"),
            station_column,
            value_column,
            parameter,
        )
    with use_bank(bank) as b:
        result = replay(
            b, series, stations=station or None, start=_stamp(start, tz), end=_stamp(end, tz)
        )
    if as_json:
        emit_json(result.to_json())
        return
    shown = result.transitions[-limit:] if limit > 0 else result.transitions
    table = Table(
        title=_h("Perubahan Siaga", "Siaga transitions") + f" ({len(result.transitions)})"
    )
    for col in (
        _h("Waktu", "Time"),
        _h("Stasiun", "Station"),
        _h("Dari", "From"),
        _h("Ke", "To"),
        _h("Nilai", "Value"),
        _h("Aturan", "Rule"),
        _h("Alasan", "Reason"),
    ):
        table.add_column(col)
    for x in shown:
        arrow = "▲" if x.rising else "▼"
        table.add_row(
            pd.Timestamp(x.t).tz_convert(tz).strftime("%Y-%m-%d %H:%M"),
            x.station_id,
            str(x.previous),
            f"{arrow} {x.level}",
            "" if x.value is None else f"{x.value:g}",
            x.rule_id,
            x.reason_id if language() == "id" else x.reason_en,
        )
    console.print(table)
    alerts = result.alerts if limit <= 0 else result.alerts[-limit:]
    alert_table = Table(
        title=_h("Peringatan yang akan dikeluarkan", "Alerts that would be raised")
        + f" ({len(result.alerts)})"
    )
    for col in (
        _h("Waktu", "Time"),
        _h("Stasiun", "Station"),
        "Siaga",
        _h("Wilayah", "Areas"),
        _h("Perkiraan tiba", "Expected arrival"),
        _h("Contoh wilayah", "Example units"),
    ):
        alert_table.add_column(col)
    for tr in alerts:
        x = tr.transition
        etas = [a.eta for a in tr.areas if a.eta is not None]
        alert_table.add_row(
            pd.Timestamp(x.t).tz_convert(tz).strftime("%Y-%m-%d %H:%M"),
            x.station_id,
            str(x.level),
            str(len(tr.areas)),
            pd.Timestamp(min(etas)).tz_convert(tz).strftime("%Y-%m-%d %H:%M") if etas else "-",
            ", ".join(a.unit_id for a in tr.areas if a.unit_id.startswith("kelurahan:"))[:80],
        )
    console.print(alert_table)
    console.print(
        f"{_h('Pembacaan', 'Readings')}: {result.readings}; "
        f"{_h('dilewati (QC)', 'skipped (QC)')}: {result.skipped}"
    )


def register(app: typer.Typer) -> None:
    """Add `tangguh rules …` and `tangguh replay`."""
    rules_app.add_typer(thresholds_app, name="thresholds")
    rules_app.add_typer(links_app, name="links")
    app.add_typer(rules_app, name="rules")
    app.command("replay")(handle_errors(replay_cmd))
