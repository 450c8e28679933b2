"""`tangguh evacuate …` (routes to shelters) and `tangguh transit cascade` (flood cascade)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.cli._common import BankOption, JsonOption, console, emit_json, handle_errors, use_bank
from tangguh.cli._transit import transit_app

__all__ = ["evacuate_app", "register"]

evacuate_app = typer.Typer(
    help="Evacuation routes to shelters that avoid flooded roads / "
    "Rute evakuasi ke tempat pengungsian yang menghindari jalan tergenang",
    no_args_is_help=True,
)

FloodOption = typer.Option(
    None,
    "--flood",
    help="Flood polygon layer id (a hazard layer) / ID lapisan poligon banjir",
)
FloodFieldOption = typer.Option(
    None,
    "--flood-field",
    help="Column of the flood layer: a flag, or a value with --flood-min / Kolom lapisan banjir",
)
FloodMinOption = typer.Option(
    None, "--flood-min", help="Least value of --flood-field counted as flooded / Nilai minimum"
)
RwStatesOption = typer.Option(
    None,
    "--rw-states",
    min=1,
    max=4,
    help="Use the current RW flood states >= N (1-4) instead of a layer / "
    "Pakai status banjir RW saat ini >= N",
)
RoadsOption = typer.Option("roads", "--roads", help="Roads layer id / ID lapisan jalan")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _reason(code: Any) -> str:
    from tangguh.connectivity.evacuate import REASONS, SHELTER_REASONS

    if code is None or code != code:
        return "-"
    text = REASONS.get(str(code)) or SHELTER_REASONS.get(str(code))
    return f"{code}: {text[0]} / {text[1]}" if text else str(code)


def _print_summary(plan: dict[str, Any]) -> None:
    s = plan["summary"]
    flood = plan["flood"]
    console.print(f"[bold]Evacuation plan / Rencana evakuasi[/] {plan['plan_id']}")
    console.print(f"flood / banjir: {flood.get('key')} ({flood.get('polygons', '-')} polygons)")
    p = plan["params"]
    console.print(
        f"max walk / jarak maks: {p['max_walk_m']:,.0f} m; speed / kecepatan: "
        f"{p['speed_mps']:g} m/s; demand / yang mengungsi: {p['demand']}; "
        f"solver / pemecah: {p['solver']}"
    )
    table = Table(title="Summary / Ringkasan")
    table.add_column("")
    table.add_column("", justify="right")
    rows = [
        ("RW with evacuees / RW dengan pengungsi", s["rw"]),
        ("evacuees / pengungsi", s["evacuees"]),
        ("placed in a shelter / mendapat tempat", s["placed"]),
        ("shortfall / kekurangan tempat", s["shortfall"]),
        ("RW without a safe route / RW tanpa rute aman", s["rw_without_route"]),
        ("shelters usable / tempat pengungsian dapat dipakai", s["shelters_usable"]),
        ("shelters flooded / tempat pengungsian tergenang", s["shelters_flooded"]),
        ("usable capacity / kapasitas dapat dipakai", s["capacity_usable"]),
        ("flooded street edges / ruas jalan tergenang", s["edges_flooded"]),
        ("routes / rute", s["routes"]),
        ("mean walk, min / rata-rata jalan kaki, menit", s["mean_minutes"]),
        ("longest walk, min / jalan kaki terlama, menit", s["max_minutes"]),
    ]
    for label, value in rows:
        table.add_row(label, _cell(value))
    console.print(table)
    for code, count in (s.get("reasons") or {}).items():
        console.print(f"  {count} RW: {_reason(code)}", markup=False)


def _print_shortfall(rows: list[dict[str, Any]], title: str, top: int) -> None:
    table = Table(title=title)
    for col in ("RW", "name / nama", "evacuees / pengungsi", "placed / dapat tempat",
                "shortfall / kekurangan", "reason / alasan"):  # fmt: skip
        table.add_column(col)
    for r in rows[:top]:
        table.add_row(
            r["unit_id"],
            _cell(r.get("name")),
            _cell(r["evacuees"]),
            _cell(r["placed"]),
            _cell(r["shortfall"]),
            _reason(r.get("reason")),
        )
    console.print(table)
    if len(rows) > top:
        console.print(f"… {len(rows) - top} more / lainnya (--top, --json)")


@evacuate_app.command("plan")
@handle_errors
def plan_cmd(
    shelters: str = typer.Option("shelters", "--shelters", help="Shelter layer id / ID lapisan"),
    capacity: str = typer.Option(
        "capacity", "--capacity", help="Capacity column (people) / Kolom kapasitas (orang)"
    ),
    flood: str | None = FloodOption,
    flood_field: str | None = FloodFieldOption,
    flood_min: float | None = FloodMinOption,
    rw_states: int | None = RwStatesOption,
    roads: str = RoadsOption,
    buildings: str = typer.Option(
        "buildings", "--buildings", help="Buildings layer for population / Lapisan bangunan"
    ),
    max_walk: float = typer.Option(
        3000.0, "--max-walk", help="Longest walk to a shelter, m / Jarak jalan kaki maks, m"
    ),
    max_offset: float = typer.Option(
        500.0,
        "--max-offset",
        help="Longest straight walk (wading) to an open street, m / Jarak maks ke jalan terbuka",
    ),
    speed: float = typer.Option(1.0, "--speed", help="Walking speed, m/s / Kecepatan, m/dtk"),
    demand: str = typer.Option(
        "flooded",
        "--demand",
        help="flooded: people whose homes are flooded; all: everyone / Siapa yang mengungsi",
    ),
    solver: str = typer.Option("highs", "--solver", help="highs (optimal) or greedy"),
    save: bool = typer.Option(True, "--save/--no-save", help="Store the plan / Simpan rencana"),
    out: Path | None = typer.Option(None, "--out", help="Write the routes (GeoJSON, GPKG, …)"),
    top: int = typer.Option(15, "--top", help="Shortfall rows to show / Baris ditampilkan"),
    author: str | None = typer.Option(None, "--author", help="Who made the plan / Pembuat"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Assign evacuees to shelters over open streets, with routes / Rencana evakuasi."""
    from tangguh.connectivity.evacuate import flood_scenario, plan_evacuation

    with use_bank(bank) as b:
        scenario = flood_scenario(
            b, flood=flood, rw_states=rw_states, field=flood_field, min_value=flood_min
        )
        plan = plan_evacuation(
            b,
            scenario,
            shelters=shelters,
            capacity=capacity,
            roads=roads,
            buildings=buildings,
            max_walk=max_walk,
            max_offset=max_offset,
            speed=speed,
            demand=demand,  # type: ignore[arg-type]
            solver=solver,  # type: ignore[arg-type]
            save=save,
            author=author,
        )
    if out is not None:
        from tangguh.io.export import write_vector

        write_vector(plan.routes, out)
    data = plan.to_json()
    if as_json:
        if out is not None:
            data["out"] = str(out)
        emit_json(data)
        return
    _print_summary(data)
    short = [r for r in data["rw"] if r["shortfall"] > 0]
    short.sort(key=lambda r: (-r["shortfall"], r["unit_id"]))
    if short:
        _print_shortfall(short, "Shortfall per RW / Kekurangan tempat per RW", top)
    if out is not None:
        console.print(f"routes / rute: {out}")
    if not save:
        console.print("not stored (--no-save) / tidak disimpan")


@evacuate_app.command("plans")
@handle_errors
def plans_cmd(
    flood_key: str | None = typer.Option(None, "--flood-key", help="Only this flood scenario"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Stored evacuation plans, newest first / Rencana evakuasi tersimpan."""
    from tangguh.connectivity.evacuate import plans

    with use_bank(bank) as b:
        found = plans(b, flood_key=flood_key)
    if as_json:
        emit_json(found)
        return
    table = Table(title="Evacuation plans / Rencana evakuasi")
    for col in ("plan", "created / dibuat", "flood / banjir", "evacuees / pengungsi",
                "placed / dapat tempat", "shortfall / kekurangan"):  # fmt: skip
        table.add_column(col)
    for p in found:
        s = p["summary"]
        table.add_row(
            p["plan_id"],
            str(p["created"])[:19],
            p["flood_key"],
            _cell(s["evacuees"]),
            _cell(s["placed"]),
            _cell(s["shortfall"]),
        )
    console.print(table)


@evacuate_app.command("routes")
@handle_errors
def routes_cmd(
    plan: str | None = typer.Option(None, "--plan", help="Plan id (default: the newest)"),
    out: Path | None = typer.Option(None, "--out", help="Write the routes (GeoJSON, GPKG, …)"),
    top: int = typer.Option(30, "--top", help="Rows to show / Baris ditampilkan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Routes of a plan: RW, shelter, people, metres, minutes / Rute sebuah rencana."""
    from tangguh.connectivity.evacuate import plan_routes

    with use_bank(bank) as b:
        routes = plan_routes(b, plan)
    if out is not None:
        from tangguh.io.export import write_vector

        write_vector(routes, out)
    cols = ["plan_id", "unit_id", "rw_name", "shelter_id", "shelter_name", "people", "metres",
            "minutes", "wade_m"]  # fmt: skip
    cols = [c for c in cols if c in routes.columns]
    records = routes[cols].to_dict("records")
    if as_json:
        emit_json(records)
        return
    table = Table(title="Evacuation routes / Rute evakuasi")
    for col in cols[1:]:
        table.add_column(col)
    for r in records[:top]:
        table.add_row(*(_cell(r[c]) for c in cols[1:]))
    console.print(table)
    if len(records) > top:
        console.print(f"… {len(records) - top} more / lainnya (--top, --json, --out)")
    if out is not None:
        console.print(f"routes / rute: {out}")


@evacuate_app.command("shortfall")
@handle_errors
def shortfall_cmd(
    plan: str | None = typer.Option(None, "--plan", help="Plan id (default: the newest)"),
    top: int = typer.Option(30, "--top", help="Rows to show / Baris ditampilkan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """RWs with people without a place, and why / RW dengan warga tanpa tempat, dan alasannya."""
    from tangguh.connectivity.evacuate import plan_shortfall

    with use_bank(bank) as b:
        frame = plan_shortfall(b, plan)
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    ]
    if as_json:
        emit_json({"plan_id": frame.attrs.get("plan_id"), "rw": records})
        return
    if not records:
        console.print("every evacuee has a place / semua pengungsi mendapat tempat")
        return
    title = (
        f"Shortfall per RW, {frame.attrs.get('plan_id')} / Kekurangan tempat per RW "
        f"(total {int(frame['shortfall'].sum()):,})"
    )
    _print_shortfall(records, title, top)


@transit_app.command("cascade")
@handle_errors
def cascade_cmd(
    flood: str | None = FloodOption,
    flood_field: str | None = FloodFieldOption,
    flood_min: float | None = FloodMinOption,
    rw_states: int | None = RwStatesOption,
    roads: str = RoadsOption,
    hospitals: str = typer.Option("hospitals", "--hospitals", help="Hospital layer id"),
    markets: str = typer.Option("markets", "--markets", help="Market layer id"),
    hospital_walk: float = typer.Option(
        2000.0, "--hospital-walk", help="Walk to a hospital, m / Jarak ke rumah sakit, m"
    ),
    market_walk: float = typer.Option(
        1000.0, "--market-walk", help="Walk to a market, m / Jarak ke pasar, m"
    ),
    top: int = typer.Option(15, "--top", help="Rows to show / Baris ditampilkan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """A flood's cascade: unusable stops, SDG 11.2.1 drop, RWs losing a hospital or market /
    Dampak berantai banjir pada transportasi dan akses fasilitas."""
    from tangguh.connectivity.cascade import flood_cascade
    from tangguh.connectivity.evacuate import flood_scenario

    with use_bank(bank) as b:
        scenario = flood_scenario(
            b, flood=flood, rw_states=rw_states, field=flood_field, min_value=flood_min
        )
        result = flood_cascade(
            b,
            scenario,
            roads=roads,
            hospitals=hospitals,
            markets=markets,
            hospital_walk=hospital_walk,
            market_walk=market_walk,
        )
    data = result.to_json()
    if as_json:
        emit_json(data)
        return
    s = data["summary"]
    console.print(f"[bold]Flood cascade / Dampak berantai banjir[/]: {data['flood']['key']}")
    table = Table(title="Summary / Ringkasan")
    table.add_column("")
    table.add_column("", justify="right")
    for label, key in (
        ("stops unusable / halte tidak dapat dipakai", "stops_unusable"),
        ("stops / halte", "stops"),
        ("flooded street edges / ruas jalan tergenang", "edges_flooded"),
        ("SDG 11.2.1 before, % / sebelum", "sdg_before_pct"),
        ("SDG 11.2.1 after, % / sesudah", "sdg_after_pct"),
        ("people losing transit access / warga kehilangan akses", "people_losing_transit"),
        ("RW losing a hospital / RW kehilangan akses rumah sakit", "rw_losing_hospital"),
        ("RW losing a market / RW kehilangan akses pasar", "rw_losing_market"),
    ):
        table.add_row(label, _cell(s.get(key)))
    console.print(table)
    kel = sorted(data["sdg"], key=lambda r: -(r["drop_pct"] or 0))
    if kel:
        t2 = Table(title="SDG 11.2.1 drop per kelurahan / Penurunan per kelurahan")
        for col in ("kelurahan", "name / nama", "before % / sebelum", "after % / sesudah",
                    "drop, points / turun, poin"):  # fmt: skip
            t2.add_column(col)
        for r in kel[:top]:
            t2.add_row(
                r["unit_id"],
                _cell(r.get("name")),
                _cell(r["before_pct"]),
                _cell(r["after_pct"]),
                _cell(r["drop_pct"]),
            )
        console.print(t2)
    lost = [r for r in data["rw"] if r["loses_hospital"] or r["loses_market"]]
    if lost:
        t3 = Table(title="RW losing walking access / RW kehilangan akses jalan kaki")
        for col in ("RW", "name / nama", "hospital / rumah sakit", "market / pasar"):
            t3.add_column(col)
        for r in lost[:top]:
            t3.add_row(
                r["unit_id"],
                _cell(r.get("name")),
                "lost / hilang" if r["loses_hospital"] else "-",
                "lost / hilang" if r["loses_market"] else "-",
            )
        console.print(t3)
        if len(lost) > top:
            console.print(f"… {len(lost) - top} more / lainnya (--top, --json)")


def register(app: typer.Typer) -> None:
    """Add the ``evacuate`` command group to ``app``."""
    app.add_typer(evacuate_app, name="evacuate")
