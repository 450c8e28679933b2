"""`tangguh transit access|trend|tod|network …`: SDG 11.2.1, its time series, TOD scores."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank
from tangguh.cli._transit import transit_app

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Commands of this module are added to ``transit_app`` (see ``_transit``)."""
    del app  # commands attach to transit_app at import


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{100 * float(value):.1f}%"


RoadsOption = typer.Option("roads", "--roads", help="Roads layer / Lapisan jalan")


@transit_app.command("access")
@handle_errors
def access_cmd(
    level: str = typer.Option(
        "kelurahan", "--level", help="Level shown: rw, kelurahan, kecamatan, kota / Tingkat"
    ),
    min_departures: float | None = typer.Option(
        None,
        "--min-departures",
        help="Count only stops with at least N departures in the peak hour / "
        "Hanya halte dengan minimal N keberangkatan per jam sibuk",
    ),
    roads: str = RoadsOption,
    buildings: str = typer.Option(
        "buildings", "--buildings", help="Buildings layer for population / Lapisan bangunan"
    ),
    save: bool = typer.Option(
        True, "--save/--no-save", help="Store the run (time series + layers) / Simpan"
    ),
    only_if_changed: bool = typer.Option(
        False,
        "--if-changed",
        help="Recompute only if stops, roads, buildings or units changed since the last run / "
        "Hitung ulang hanya jika data berubah",
    ),
    top: int = typer.Option(20, "--top", help="Rows to show (lowest share first) / Baris"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """SDG 11.2.1: people within 500 m walk of a stop or 1 km of a station / Akses angkutan umum."""
    from tangguh.connectivity.sdg import LEVELS, refresh_sdg, run_values, save_sdg, sdg_11_2_1
    from tangguh.errors import InputError

    if level not in LEVELS:
        raise InputError(
            f"unknown level {level!r}",
            where="--level",
            hint=f"use one of {list(LEVELS)}",
            message_id=f"tingkat {level!r} tidak dikenal",
            hint_id=f"gunakan salah satu dari {list(LEVELS)}",
        )
    with use_bank(bank) as b:
        if only_if_changed:
            result, run = refresh_sdg(b, min_departures=min_departures, roads=roads,
                                      buildings=buildings)  # fmt: skip
            if result is None:
                _, values = run_values(b, run["run_id"], level=level)
                if as_json:
                    emit_json({"recomputed": False, "run": run,
                               "values": values.to_dict("records")})  # fmt: skip
                    return
                console.print(
                    f"Unchanged since run {run['run_id']} / Tidak berubah sejak perhitungan "
                    f"{run['run_id']}: share / porsi {_pct(run['summary'].get('share'))}"
                )
                return
        else:
            result = sdg_11_2_1(b, min_departures=min_departures, roads=roads,
                                buildings=buildings)  # fmt: skip
            if save:
                save_sdg(b, result)
    if as_json:
        data = result.to_json()
        data["values"] = [v for v in data["values"] if v["level"] == level]
        emit_json(data)
        return
    s = result.summary
    console.print(
        f"[bold]SDG 11.2.1[/] {_pct(s['share'])} of {_num(s['population'])} people / penduduk "
        f"({_num(s['reached'])} reached / terjangkau); stops used / halte dipakai "
        f"{s['stops_used']:,} (low / rendah {s['stops_low']:,}, high / tinggi "
        f"{s['stops_high']:,})"
    )
    if result.run_id:
        console.print(f"run / perhitungan: {result.run_id}")
    values = result.at(level).sort_values(["share", "unit_id"], na_position="last").head(top)
    table = Table(title=f"SDG 11.2.1 per {level} (lowest first / terendah dulu)")
    for col in ("unit_id", "population / penduduk", "reached / terjangkau", "share / porsi",
                "stops / halte"):  # fmt: skip
        table.add_column(col, justify="left" if col == "unit_id" else "right")
    for rec in values.to_dict("records"):
        table.add_row(rec["unit_id"], _num(rec["population"]), _num(rec["reached"]),
                      _pct(rec["share"]), _num(rec["stops"]))  # fmt: skip
    console.print(table)
    report = result.stop_report
    if len(report):
        rep = Table(title="Stops not counted or flagged / Halte tidak dihitung atau ditandai")
        for col in ("stop_id", "name", "mode", "used", "reason", "offset_m"):
            rep.add_column(col)
        for rec in report.head(top).to_dict("records"):
            rep.add_row(str(rec["stop_id"]), str(rec["name"]), str(rec["mode"]),
                        "yes / ya" if rec["used"] else "no / tidak", str(rec["reason"]),
                        _num(rec["offset_m"], 1))  # fmt: skip
        console.print(rep)
        if len(report) > top:
            console.print(f"… {len(report) - top} more / lainnya (--json for all / untuk semua)")


@transit_app.command("trend")
@handle_errors
def trend_cmd(
    unit_id: str | None = typer.Argument(
        None, help="Unit id (e.g. kelurahan:…); default the whole city / Seluruh kota"
    ),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """SDG 11.2.1 over the stored runs / Deret waktu SDG 11.2.1."""
    from tangguh.connectivity.sdg import trend

    with use_bank(bank) as b:
        frame = trend(b, unit_id)
    if as_json:
        out = frame.assign(computed=frame["computed"].map(lambda t: t.isoformat()))
        emit_json(out.astype(object).where(out.notna(), None).to_dict("records"))
        return
    title = unit_id or "city / kota"
    table = Table(title=f"SDG 11.2.1 trend / tren: {title}")
    for col in ("computed / waktu (UTC)", "run", "stops v. / versi halte", "feeds",
                "min dep.", "share / porsi", "change / perubahan"):  # fmt: skip
        table.add_column(col)
    for rec in frame.to_dict("records"):
        change = rec["change"]
        table.add_row(
            f"{rec['computed']:%Y-%m-%d %H:%M}",
            rec["run_id"],
            _num(rec["stops_version"]),
            rec["feeds"] or "-",
            _num(rec["min_departures"]),
            _pct(rec["share"]),
            "-" if change != change else f"{100 * change:+.1f} pp",
        )
    console.print(table)


@transit_app.command("tod")
@handle_errors
def tod_cmd(
    walk_m: float = typer.Option(800.0, "--walk", help="Walk from a station, metres / Meter"),
    roads: str = RoadsOption,
    save: bool = typer.Option(
        True, "--save/--no-save", help="Write layer tod_station_areas / Simpan lapisan"
    ),
    top: int = typer.Option(20, "--top", help="Rows to show / Baris"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """TOD scores per station area (ITDP metrics) / Skor TOD per kawasan stasiun."""
    from tangguh.connectivity.tod import LAYER, save_tod, tod_scores

    with use_bank(bank) as b:
        result = tod_scores(b, walk_m=walk_m, roads=roads)
        version = save_tod(b, result) if save else None
    if as_json:
        data = result.to_json()
        data["layer"] = {"id": LAYER, "version": version} if version is not None else None
        emit_json(data)
        return
    areas = result.areas.sort_values("score_total", ascending=False)
    table = Table(title=f"TOD station areas ({walk_m:.0f} m walk) / Kawasan stasiun TOD")
    cols = {
        "name": "station / stasiun",
        "mode": "mode",
        "density_per_ha": "people/ha / jiwa/ha",
        "intersections_per_km2": "crossings/km² / simpang",
        "block_m": "block m / blok",
        "peak_departures": "dep./h / keb./jam",
        "score_total": "score / skor",
    }
    for label in cols.values():
        table.add_column(label)
    for rec in areas.head(top).to_dict("records"):
        table.add_row(*(_num(rec[c], 1) if isinstance(rec[c], float) else str(rec[c])
                        for c in cols))  # fmt: skip
    console.print(table)
    if version is not None:
        console.print(f"layer / lapisan {LAYER} version / versi {version}")


@transit_app.command("network")
@handle_errors
def network_cmd(
    roads: str = RoadsOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """The walking network: nodes, edges, km, pieces, stops off it / Jaringan jalan kaki."""
    from tangguh.connectivity.network import network_for
    from tangguh.connectivity.population import snap_points
    from tangguh.connectivity.sdg import read_stops

    with use_bank(bank) as b:
        net = network_for(b, roads)
        summary: dict[str, Any] = dict(net.summary())
        off: list[dict[str, Any]] = []
        if b.has_layer("transit_stops"):
            stops = read_stops(b)
            xy = stops.geometry
            snap = snap_points(net, xy.x.to_numpy(), xy.y.to_numpy())
            summary["stops"] = len(stops)
            summary["stops_off_network"] = int((~snap.ok).sum())
            summary["stops_far_from_street"] = int((snap.ok & (snap.offset > 100.0)).sum())
            for i in range(len(stops)):
                if not snap.ok[i] or snap.offset[i] > 100.0:
                    off.append(
                        {
                            "stop_id": str(stops["stop_id"].iloc[i]),
                            "name": stops["name"].iloc[i],
                            "offset_m": None if not snap.ok[i] else round(float(snap.offset[i]), 1),
                            "reason": "off_network" if not snap.ok[i] else "far_from_street",
                        }
                    )
    summary["stops_flagged"] = off
    if as_json:
        emit_json(summary)
        return
    console.print(
        f"[bold]Walking network / Jaringan jalan kaki[/] ({roads}): {summary['nodes']:,} nodes / "
        f"simpul, {summary['edges']:,} edges / ruas, {summary['length_km']:,.1f} km, "
        f"{summary['components']:,} pieces / bagian (largest / terbesar "
        f"{_pct(summary['main_component_share'])} of nodes / simpul)"
    )
    if "stops" in summary:
        console.print(
            f"stops / halte: {summary['stops']:,}; off the network (> 500 m) / di luar jaringan: "
            f"{summary['stops_off_network']:,}; far from a street (> 100 m) / jauh dari jalan: "
            f"{summary['stops_far_from_street']:,}"
        )
    for rec in off[:20]:
        console.print(f"  {rec['stop_id']} {rec['name']}: {rec['reason']} {rec['offset_m'] or ''}",
                      markup=False)  # fmt: skip
