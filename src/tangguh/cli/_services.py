"""`tangguh services …`: basic services layers and coverage indicators.

``import`` (a file as a service layer kind, with its checks), ``coverage`` (indicators
per unit), ``underserved`` (units with their reasons) and ``layers`` (the kinds and
their columns). The refresh commands attach to the same group from
``_services_refresh``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    language,
    status,
    use_bank,
)
from tangguh.errors import InputError

__all__ = ["register", "services_app"]

services_app = typer.Typer(
    help="Basic services: water, sanitation and waste coverage per unit / "
    "Layanan dasar: cakupan air bersih, sanitasi dan sampah per wilayah",
    no_args_is_help=True,
)

_WIB = ZoneInfo("Asia/Jakarta")


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    from tangguh.cli._layers import parse_pairs

    return parse_pairs(values, option)


def _float_pairs(values: list[str] | None, option: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, text in _pairs(values, option).items():
        try:
            out[key] = float(text)
        except ValueError:
            raise InputError(
                f"{option} {key}={text!r}: the value is not a number",
                where=option,
                hint=f"e.g. {option} {key}=50",
                message_id=f"{option} {key}={text!r}: nilainya bukan angka",
                hint_id=f"mis. {option} {key}=50",
            ) from None
    return out


def _parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--at {text!r} is not an ISO date/time",
            where="--at",
            hint="e.g. --at 2024-12-31T12:00 (WIB unless a zone is given)",
            message_id=f"--at {text!r} bukan tanggal/waktu ISO",
            hint_id="mis. --at 2024-12-31T12:00 (WIB kecuali zona disebut)",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=_WIB)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


@services_app.command("layers")
@handle_errors
def layers_cmd(
    kind: str | None = typer.Argument(None, help="One kind / Satu jenis"),
    as_json: bool = JsonOption,
) -> None:
    """Service layer kinds and their columns / Jenis lapisan layanan dan kolomnya."""
    from tangguh.services.model import KINDS, service_kind

    kinds = [service_kind(kind)] if kind else list(KINDS.values())
    if as_json:
        emit_json([k.to_json() for k in kinds])
        return
    lang = language()
    if kind is None:
        table = Table(title="Service layer kinds / Jenis lapisan layanan")
        for col in ("kind / jenis", "layer id", "aliases", "geometry", "key", "required / wajib"):
            table.add_column(col)
        for k in kinds:
            table.add_row(
                k.kind,
                k.layer_id,
                ", ".join(k.aliases),
                k.geometry,
                k.key,
                ", ".join(k.required),
            )
        console.print(table)
        console.print(
            "`tangguh services layers KIND` shows the columns / menampilkan kolom", markup=False
        )
        return
    k = kinds[0]
    table = Table(title=f"{k.kind}: {k.title_en} / {k.title_id} → {k.layer_id}")
    for col in ("column / kolom", "type", "required / wajib", "range / rentang", "meaning / arti"):
        table.add_column(col)
    for c in k.columns:
        span = ""
        if c.min is not None or c.max is not None:
            span = (
                f"{'' if c.min is None else f'{c.min:g}'}–{'' if c.max is None else f'{c.max:g}'}"
            )
        if c.choices:
            span = ", ".join(c.choices)
        meaning = f"{c.id} / {c.en}" if lang == "id" else f"{c.en} / {c.id}"
        table.add_row(c.name, c.type, "yes / ya" if c.required else "", span, meaning)
    console.print(table)


@services_app.command("import")
@handle_errors
def import_cmd(
    file: Path = typer.Argument(..., help="File to import / Berkas"),
    kind: str = typer.Option(
        ..., "--kind", "-k", help="Service layer kind (`tangguh services layers`) / Jenis"
    ),
    layer: str | None = typer.Option(None, "--layer", "-l", help="Layer id (default svc_…)"),
    bank: str | None = BankOption,
    rename: list[str] | None = typer.Option(None, "--rename", help="OLD=NEW (repeatable)"),
    mapping: Path | None = typer.Option(None, "--mapping", help="TOML/JSON mapping file"),
    source_layer: str | None = typer.Option(None, "--source-layer", help="Layer inside the file"),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the data, e.g. EPSG:32748"),
    lon: str | None = typer.Option(None, "--lon", help="CSV longitude column"),
    lat: str | None = typer.Option(None, "--lat", help="CSV latitude column"),
    encoding: str | None = typer.Option(None, "--encoding", help="e.g. latin-1"),
    allow_overlaps: bool = typer.Option(
        False,
        "--allow-overlaps",
        help="Keep overlapping zones, flagged / Simpan zona bertampalan dengan tanda",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Refuse households served > households living / Tolak bila terlayani > tinggal",
    ),
    author: str | None = typer.Option(None, "--author", envvar="TANGGUH_AUTHOR"),
    message: str | None = typer.Option(None, "--message", "-m"),
    as_json: bool = JsonOption,
) -> None:
    """Import a file as a service layer, with checks / Impor berkas sebagai lapisan layanan."""
    from tangguh.services.importers import import_service_file

    with use_bank(bank, create=True) as b, status(f"importing / mengimpor {file.name}"):
        result = import_service_file(
            b,
            file,
            kind,
            layer_id=layer,
            rename=_pairs(rename, "--rename"),
            mapping=mapping,
            source_layer=source_layer,
            crs=crs,
            lon=lon,
            lat=lat,
            encoding=encoding,
            allow_overlaps=allow_overlaps,
            strict=strict,
            author=author,
            message=message,
        )
    if as_json:
        emit_json(result.to_json())
        return
    version = result.version
    console.print(
        f"Imported / Diimpor: {file} → [bold]{result.layer}[/] ({result.kind}) "
        f"v{version.version if version else '-'}: {result.rows:,} rows / baris"
    )
    if result.flags:
        lang = language()
        table = Table(title=f"Flags / Tanda ({len(result.flags)})")
        table.add_column("code / kode")
        table.add_column("message / pesan")
        for f in result.flags[:50]:
            table.add_row(f.code, f.message_id if lang == "id" else f.message)
        console.print(table)


def _coverage(
    bank: str | None,
    walk_m: float,
    at: str | None,
    levels: list[str] | None,
    layers: list[str] | None,
    facilities: list[str] | None,
    no_facilities: bool,
    thresholds: list[str] | None,
    household_size: float,
) -> Any:
    from tangguh.services.coverage import compute_coverage

    fac: dict[str, float] | None = None
    if no_facilities:
        fac = {}
    elif facilities:
        fac = {}
        for item in facilities:
            name, _, metres = item.partition("=")
            fac[name.strip()] = float(metres) if metres else walk_m
    with use_bank(bank) as b, status("computing coverage / menghitung cakupan"):
        return compute_coverage(
            b,
            walk_m=walk_m,
            at=_parse_at(at),
            levels=levels or ("rw", "kelurahan", "kecamatan", "kota"),
            layers=_pairs(layers, "--layer-for") or None,
            facilities=fac,
            thresholds=_float_pairs(thresholds, "--threshold") or None,
            household_size=household_size,
        )


_WalkOption = typer.Option(500.0, "--walk-m", help="Walking distance (m) / Jarak jalan kaki")
_AtOption = typer.Option(None, "--at", help="Judge incidents at (ISO, WIB) / Waktu acuan")
_LayerFor = typer.Option(None, "--layer-for", help="KIND=LAYER, e.g. tps=my_tps (repeatable)")
_Facility = typer.Option(
    None, "--facility", help="Facility layer, optionally =METRES (repeatable) / Fasilitas"
)
_NoFacility = typer.Option(False, "--no-facilities", help="No access-to-facility indicators")
_Threshold = typer.Option(
    None, "--threshold", help="INDICATOR=VALUE for the underserved list, e.g. "
    "water.piped_pct=50",
)  # fmt: skip
_HhSize = typer.Option(3.5, "--household-size", help="People per household where unknown")


@services_app.command("coverage")
@handle_errors
def coverage_cmd(
    level: str = typer.Option("kelurahan", "--level", help="Level shown / Tingkat ditampilkan"),
    indicator: list[str] | None = typer.Option(
        None, "--indicator", "-i", help="Indicator ids to show (repeatable; prefix ok: water.)"
    ),
    unit: str | None = typer.Option(None, "--unit", help="One unit_id / Satu unit"),
    walk_m: float = _WalkOption,
    at: str | None = _AtOption,
    layer_for: list[str] | None = _LayerFor,
    facility: list[str] | None = _Facility,
    no_facilities: bool = _NoFacility,
    threshold: list[str] | None = _Threshold,
    household_size: float = _HhSize,
    limit: int = typer.Option(30, "--limit", help="Rows shown / Baris ditampilkan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Coverage indicators per unit / Indikator cakupan layanan per wilayah.

    RW, kelurahan, kecamatan and kota percentages are weighted by households or
    population (sums rolled up, then divided).
    """
    from tangguh.admin.units import LEVELS

    if level not in LEVELS:
        raise InputError(
            f"unknown level {level!r}",
            where="--level",
            hint="use rw, kelurahan, kecamatan or kota",
            message_id=f"tingkat {level!r} tidak dikenal",
            hint_id="gunakan rw, kelurahan, kecamatan atau kota",
        )
    result = _coverage(bank, walk_m, at, [level], layer_for, facility, no_facilities, threshold,
                       household_size)  # fmt: skip
    table = result.table
    if unit is not None:
        table = table[table["unit_id"] == unit]
    if indicator:
        keep = table["indicator"].map(lambda i: any(i.startswith(p) for p in indicator))
        table = table[keep.to_numpy(dtype=bool)]
    if as_json:
        data = result.to_json()
        data["indicators"] = (
            table.astype({"value": object}).where(table.notna(), None).to_dict("records")
        )
        emit_json(data)
        return
    wide = table.pivot(index="unit_id", columns="indicator", values="value")
    if wide.empty:
        console.print("No indicators / Tidak ada indikator")
        return
    if unit is not None or len(wide.columns) > 8:
        # long form: one row per indicator
        out = Table(title=f"Coverage / Cakupan — {level} (walk {walk_m:g} m)")
        out.add_column("unit")
        out.add_column("name / nama")
        out.add_column("indicator / indikator")
        out.add_column("value / nilai", justify="right")
        for uid, row in wide.head(limit).iterrows():
            for ind, value in row.items():
                out.add_row(str(uid), result.names.get(str(uid), ""), str(ind), _cell(value))
        console.print(out)
    else:
        out = Table(title=f"Coverage / Cakupan — {level} (walk {walk_m:g} m)")
        out.add_column("unit")
        out.add_column("name / nama")
        for col in wide.columns:
            out.add_column(str(col), justify="right")
        for uid, row in wide.head(limit).iterrows():
            out.add_row(str(uid), result.names.get(str(uid), ""), *(_cell(v) for v in row))
        console.print(out)
    if len(wide) > limit:
        console.print(f"… {len(wide) - limit} more / lainnya (--limit, --json)", markup=False)
    if result.flags:
        console.print(
            f"{len(result.flags)} data flags / tanda data: "
            + ", ".join(sorted({f.code for f in result.flags}))
            + " (--json)",
            markup=False,
        )


@services_app.command("underserved")
@handle_errors
def underserved_cmd(
    level: str | None = typer.Option(None, "--level", help="Only this level / Hanya tingkat ini"),
    walk_m: float = _WalkOption,
    at: str | None = _AtOption,
    layer_for: list[str] | None = _LayerFor,
    facility: list[str] | None = _Facility,
    no_facilities: bool = _NoFacility,
    threshold: list[str] | None = _Threshold,
    household_size: float = _HhSize,
    limit: int = typer.Option(50, "--limit", help="Rows shown / Baris ditampilkan"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Underserved units with their reasons / Wilayah kurang terlayani beserta alasannya."""
    levels = [level] if level else None
    result = _coverage(bank, walk_m, at, levels, layer_for, facility, no_facilities, threshold,
                       household_size)  # fmt: skip
    under = result.underserved
    if as_json:
        emit_json(
            {
                "at": result.at.isoformat(),
                "criteria": result.parameters["criteria"],
                "underserved": [
                    {k: r[k] for k in ("unit_id", "level", "name", "reasons")}
                    for r in under.to_dict("records")
                ],
            }
        )
        return
    lang = language()
    out = Table(title=f"Underserved / Kurang terlayani ({len(under)})")
    for col in ("unit", "level / tingkat", "name / nama", "reasons / alasan"):
        out.add_column(col)
    for r in under.head(limit).to_dict("records"):
        first = r["reasons_id"] if lang == "id" else r["reasons_en"]
        second = r["reasons_en"] if lang == "id" else r["reasons_id"]
        out.add_row(r["unit_id"], r["level"], r["name"], f"{first}\n[dim]{second}[/]")
    console.print(out)
    if len(under) > limit:
        console.print(f"… {len(under) - limit} more / lainnya (--limit, --json)", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``services`` command group to ``app``."""
    app.add_typer(services_app, name="services")
