"""`tangguh impact …`: flood impact per admin unit, stored analyses, replay."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    status,
    use_bank,
)

if TYPE_CHECKING:  # imported lazily at run time: the CLI starts without the risk engine
    import pandas as pd

    from tangguh.risk.impact import ImpactResult

__all__ = ["register"]

impact_app = typer.Typer(
    help="Impact analysis: hazard x exposure per admin unit / Analisis dampak",
    no_args_is_help=True,
)


def _data_ref(value: str) -> str | Path:
    """A built-in key stays a key; a value ending in .toml is a user file."""
    return Path(value) if value.endswith(".toml") else value


NeedsOption = typer.Option("bnpb_perka_7_2008", "--needs", help="Needs profile key or TOML")
SaveOption = typer.Option(True, "--save/--no-save", help="Store the analysis record")
TopOption = typer.Option(15, "--top", help="Rows to show")
CsvOption = typer.Option(None, "--csv", help="Write the per-area table to CSV")


def _print_areas(areas: pd.DataFrame, limit: int) -> None:
    table = Table(title="Most affected areas / Wilayah paling terdampak")
    cols = [
        c
        for c in ("name", "parent", "population", "affected", "displaced", "buildings")
        if c in areas.columns
    ]
    for col in cols:
        table.add_column(col)
    for rec in areas.head(limit).to_dict("records"):
        table.add_row(
            *(f"{rec[c]:,.0f}" if isinstance(rec[c], int | float) else str(rec[c]) for c in cols)
        )
    console.print(table)


@impact_app.command("flood")
@handle_errors
def flood_cmd(
    hazard: str = typer.Option(..., "--hazard", help="Flood polygon layer id"),
    level: str = typer.Option("rw", "--level", help="rw, kelurahan, kecamatan, kota, province"),
    depth_field: str | None = typer.Option(None, "--depth-field", help="Depth column"),
    class_field: str | None = typer.Option(None, "--class-field", help="Class-code column"),
    classification: str = typer.Option(
        "flood_petabencana", "--classification", help="Built-in key or TOML file"
    ),
    buildings: str | None = typer.Option(
        "buildings", "--buildings", help="Building layer id ('' to skip)"
    ),
    facilities: list[str] | None = typer.Option(
        None, "--facility", help="Facility layer id (repeatable): hospitals, schools, …"
    ),
    needs: str = NeedsOption,
    save: bool = SaveOption,
    top: int = TopOption,
    csv: Path | None = CsvOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Affected people and buildings, displaced and needs per unit / Dampak banjir per wilayah."""
    from tangguh.risk.impact import flood_impact

    started = time.perf_counter()
    with use_bank(bank) as b, status(f"flood impact / dampak banjir: {hazard} × {level}"):
        result = flood_impact(
            b,
            hazard=hazard,
            level=level,
            depth_field=depth_field,
            class_field=class_field,
            classification=_data_ref(classification),
            buildings=buildings or None,
            facilities=facilities or (),
            needs=_data_ref(needs),
            save=save,
        )
    _report(result, top, csv, as_json, save, started, level)


@impact_app.command("raster")
@handle_errors
def raster_cmd(
    hazard: str = typer.Option(..., "--hazard", help="Hazard raster layer id (e.g. depth)"),
    exposure: str = typer.Option(..., "--exposure", help="Population raster layer id"),
    level: str = typer.Option("kelurahan", "--level"),
    classification: str = typer.Option("flood_petabencana", "--classification"),
    hazard_unit: str | None = typer.Option(
        None, "--hazard-unit", help="Unit of the hazard values, e.g. m"
    ),
    density: bool = typer.Option(
        False, "--density/--counts", help="Population raster holds a density"
    ),
    density_unit_km2: float = typer.Option(
        1.0, "--density-unit-km2", help="Area the density refers to (HKV: 0.1)"
    ),
    needs: str = NeedsOption,
    save: bool = SaveOption,
    top: int = TopOption,
    csv: Path | None = CsvOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Hazard raster x population raster per unit / Dampak raster bahaya atas raster penduduk."""
    from tangguh.risk.raster_impact import raster_flood_impact

    started = time.perf_counter()
    with use_bank(bank) as b, status(f"raster impact / dampak raster: {hazard} × {exposure}"):
        result = raster_flood_impact(
            b,
            hazard=hazard,
            exposure=exposure,
            level=level,
            classification=_data_ref(classification),
            hazard_unit=hazard_unit,
            density=density,
            density_unit_km2=density_unit_km2,
            needs=_data_ref(needs),
            save=save,
        )
    _report(result, top, csv, as_json, save, started, level)


def _report(
    result: ImpactResult,
    top: int,
    csv: Path | None,
    as_json: bool,
    save: bool,
    started: float,
    level: str,
) -> None:
    if csv is not None:
        result.areas.merge(result.needs, left_on="unit_id", right_index=True, how="left").to_csv(
            csv, index=False
        )
    if as_json:
        emit_json({"record": result.record.to_json(), "areas": result.areas.to_dict("records")})
        return
    s = result.record.summary
    console.print(f"[bold]{result.record.question}[/]")
    _print_areas(result.areas, top)
    console.print(
        f"affected / terdampak: {s['population_affected']:,.0f} people in "
        f"{s['units_affected']:,} {level}; displaced / mengungsi: {s['displaced']:,.0f}"
        + (
            f"; buildings / bangunan: {s['buildings_affected']:,}"
            if "buildings_affected" in s
            else ""
        )
    )
    console.print("needs / kebutuhan: " + ", ".join(f"{k} {v:,.0f}" for k, v in s["needs"].items()))
    console.print(f"population / penduduk: {s['population_method']}")
    saved = f"analysis / analisis {result.record.id}" if save else "not saved / tidak disimpan"
    console.print(f"{saved}; {time.perf_counter() - started:.2f} s")


@impact_app.command("exposures")
@handle_errors
def exposures_cmd(
    hazard: str = typer.Option(..., "--hazard", help="Hazard layer id: polygons or a raster"),
    level: str = typer.Option("kelurahan", "--level", help="rw, kelurahan, kecamatan, kota"),
    classification: str = typer.Option(
        "flood_petabencana", "--classification", help="Built-in key or TOML file"
    ),
    depth_field: str | None = typer.Option(
        None, "--depth-field", help="Polygon hazard: value column (depth, rate …)"
    ),
    class_field: str | None = typer.Option(
        None, "--class-field", help="Polygon hazard: class-code column"
    ),
    hazard_unit: str | None = typer.Option(
        None, "--hazard-unit", help="Unit of the hazard values, e.g. m / Satuan nilai bahaya"
    ),
    population: bool = typer.Option(
        True, "--population/--no-population", help="Also people affected / Juga penduduk"
    ),
    buildings: str | None = typer.Option(None, "--buildings", help="Building layer id"),
    building_type_field: str | None = typer.Option(
        None, "--building-type-field", help="Building type column, e.g. TYPE"
    ),
    roads: str | None = typer.Option(None, "--roads", help="Road line layer id"),
    road_class_field: str | None = typer.Option(
        None, "--road-class-field", help="Road class column (default highway/TYPE)"
    ),
    facilities: list[str] | None = typer.Option(
        None, "--facility", help="Facility layer id (repeatable) / Lapisan fasilitas"
    ),
    landcover: str | None = typer.Option(None, "--landcover", help="Land-cover polygon layer"),
    landcover_field: str | None = typer.Option(
        None, "--landcover-field", help="Land-cover class column, e.g. landuse"
    ),
    needs: str = NeedsOption,
    save: bool = SaveOption,
    top: int = TopOption,
    csv: Path | None = CsvOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Buildings, roads, facilities, land cover (and people) per unit and hazard class /
    Bangunan, jalan, fasilitas, tutupan lahan terdampak per wilayah."""
    from tangguh.risk.exposures import hazard_impact

    started = time.perf_counter()
    with use_bank(bank) as b, status(f"exposures / keterpaparan: {hazard} × {level}"):
        result = hazard_impact(
            b,
            hazard=hazard,
            level=level,
            classification=_data_ref(classification),
            depth_field=depth_field,
            class_field=class_field,
            hazard_unit=hazard_unit,
            population=population,
            buildings=buildings,
            building_type_field=building_type_field,
            roads=roads,
            road_class_field=road_class_field,
            facilities=facilities or (),
            landcover=landcover,
            landcover_field=landcover_field,
            needs=_data_ref(needs),
            save=save,
        )
    if csv is not None:
        result.areas.to_csv(csv, index=False)
    if as_json:
        emit_json({"record": result.record.to_json(), "areas": result.areas.to_dict("records")})
        return
    s = result.record.summary
    console.print(f"[bold]{result.record.question}[/]")
    table = Table(title="Most affected areas / Wilayah paling terdampak")
    cols = [
        c
        for c in ("name", "parent", "affected", "displaced", "buildings", "roads_km",
                  "facilities", "landcover_ha", "hazard_area_ha")
        if c in result.areas.columns
    ]  # fmt: skip
    for col in cols:
        table.add_column(col)
    for rec in result.areas.head(top).to_dict("records"):
        table.add_row(
            *(f"{rec[c]:,.1f}" if isinstance(rec[c], float) else str(rec[c]) for c in cols)
        )
    console.print(table)
    lines = [f"units affected / wilayah terdampak: {s['units_affected']:,} {level}"]
    if "population_affected" in s:
        lines.append(
            f"people / penduduk: {s['population_affected']:,.0f}; displaced / mengungsi: "
            f"{s['displaced']:,.0f}"
        )
    if "buildings_by_class" in s:
        lines.append(f"buildings / bangunan: {s['buildings_by_class']}")
    if "roads_km_by_class" in s:
        km = {k: round(v, 2) for k, v in s["roads_km_by_class"].items()}
        lines.append(f"roads km / jalan km ({s['road_class_field']}): {km}")
    if "facilities_affected" in s:
        lines.append(f"facilities / fasilitas: {s['facilities_affected']}")
    if "landcover_ha_by_class" in s:
        lines.append(f"land cover ha / tutupan lahan ha: {s['landcover_ha_by_class']}")
    for line in lines:
        console.print(line, markup=False)
    saved = f"analysis / analisis {result.record.id}" if save else "not saved / tidak disimpan"
    console.print(f"{saved}; {time.perf_counter() - started:.2f} s")


@impact_app.command("classify-data")
@handle_errors
def classify_data_cmd(
    layer: str = typer.Argument(..., help="Raster or vector layer id / Lapisan"),
    to: Path = typer.Option(..., "--to", help="TOML classification file to write"),
    field: str | None = typer.Option(None, "--field", help="Vector layer: value column"),
    method: str = typer.Option("quantile", "--method", help="quantile or equal_interval"),
    n_classes: int = typer.Option(3, "--classes", help="Number of classes / Jumlah kelas"),
    hazard: str = typer.Option("subsidence", "--hazard-type", help="flood, earthquake, …"),
    unit: str | None = typer.Option("cm/yr", "--unit", help="Unit of the values"),
    floor: float | None = typer.Option(
        None, "--floor", help="Values <= floor are in no class (e.g. 0) / Batas bawah"
    ),
    invert: bool = typer.Option(
        False, "--invert", help="Flip the sign (vertical velocity -> sinking rate)"
    ),
    key: str | None = typer.Option(None, "--key", help="Key of the classification"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Classes from the data (quantile / equal interval) as a TOML file /
    Kelas dari data, disimpan sebagai TOML."""
    from tangguh.risk.subsidence import classification_from_layer

    with use_bank(bank) as b:
        cls = classification_from_layer(
            b,
            layer,
            field=field,
            invert=invert,
            n_classes=n_classes,
            method=method,
            hazard=hazard,
            unit=unit,
            floor=floor,
            key=key,
        )
    to.write_text(cls.to_toml(), encoding="utf-8")
    if as_json:
        emit_json(cls.to_dict())
        return
    for c in cls.classes:
        console.print(f"{c.key}: {c.min} .. {c.max} {cls.unit or ''} ({c.label_id} / {c.label_en})")
    console.print(f"classification / klasifikasi: {to}")


@impact_app.command("subsidence-zones")
@handle_errors
def subsidence_zones_cmd(
    points: str = typer.Argument(..., help="Point layer of subsidence measurements"),
    rate_field: str = typer.Option(..., "--rate-field", help="Rate column (cm/yr)"),
    out: str = typer.Option(..., "--out", help="Polygon layer to write / Lapisan keluaran"),
    invert: bool = typer.Option(
        False, "--invert", help="Flip the sign (vertical velocity -> sinking rate)"
    ),
    unit: str = typer.Option("cm/yr", "--unit"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Subsidence points -> Thiessen zones clipped to the admin area /
    Titik penurunan tanah -> zona Thiessen."""
    from tangguh.risk.subsidence import subsidence_zones

    with use_bank(bank) as b:
        version = subsidence_zones(
            b, points, rate_field=rate_field, out_layer=out, invert=invert, unit=unit
        )
    if as_json:
        emit_json(version.to_json())
        return
    console.print(
        f"layer / lapisan {out} v{version.version}: {version.feature_count:,} zones / zona"
    )


@impact_app.command("earthquake")
@handle_errors
def earthquake_cmd(
    hazard: str = typer.Option(..., "--hazard", help="MMI raster layer id"),
    exposure: str = typer.Option(..., "--exposure", help="Population raster layer id"),
    level: str = typer.Option("kelurahan", "--level"),
    model: str = typer.Option("itb", "--model", help="Fatality model: itb or pager"),
    classification: str = typer.Option("earthquake_mmi_3class", "--classification"),
    density: bool = typer.Option(False, "--density/--counts"),
    density_unit_km2: float = typer.Option(1.0, "--density-unit-km2"),
    needs: str = NeedsOption,
    save: bool = SaveOption,
    top: int = TopOption,
    csv: Path | None = CsvOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """MMI raster x population: fatalities (ITB/PAGER), affected, needs / Dampak gempa."""
    from tangguh.risk.earthquake import earthquake_impact

    started = time.perf_counter()
    with use_bank(bank) as b, status(f"earthquake impact / dampak gempa: {hazard}"):
        result = earthquake_impact(
            b,
            hazard=hazard,
            exposure=exposure,
            level=level,
            model=model,
            classification=_data_ref(classification),
            density=density,
            density_unit_km2=density_unit_km2,
            needs=_data_ref(needs),
            save=save,
        )
    _report(result, top, csv, as_json, save, started, level)
    if not as_json:
        s = result.record.summary
        console.print(f"fatalities / korban jiwa ({model}): {s['fatalities']:,.0f}")


@impact_app.command("report")
@handle_errors
def report_cmd(
    analysis_id: str,
    to: Path = typer.Option(..., "--to", help="Report file: .html, or .pdf (needs Chromium)"),
    bank: str | None = BankOption,
) -> None:
    """Write a stored analysis as an HTML or PDF report (id + en) / Tulis laporan analisis."""
    import tempfile

    from tangguh.risk.report import html_report, pdf_from_html

    with use_bank(bank) as b:
        text = html_report(b, analysis_id)
    if to.suffix.lower() == ".pdf":
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "report.html"
            page.write_text(text, encoding="utf-8")
            pdf_from_html(page, to)
    else:
        to.write_text(text, encoding="utf-8")
    console.print(f"report / laporan: {to} ({to.stat().st_size:,} bytes)")


@impact_app.command("index")
@handle_errors
def index_cmd(
    analyses: list[str] = typer.Argument(..., help="Analysis ids (one per hazard)"),
    level: str = typer.Option("kelurahan", "--level"),
    weight: list[str] | None = typer.Option(
        None, "--weight", help="COMPONENT=W for hazard, exposure, vulnerability (repeatable)"
    ),
    classes: int = typer.Option(5, "--classes"),
    layer: str = typer.Option("risk_index", "--layer", help="Layer to write"),
    top: int = TopOption,
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Multi-hazard risk index per unit, ranks, classes, weight sensitivity / Indeks risiko."""
    from tangguh.cli._layers import parse_pairs
    from tangguh.errors import InputError
    from tangguh.risk.index import risk_index

    weights: dict[str, float] | None = None
    if weight:
        try:
            weights = {k: float(v) for k, v in parse_pairs(weight, "--weight").items()}
        except ValueError:
            raise InputError(
                "weights must be numbers",
                message_id="bobot harus berupa angka",
                where="--weight",
                hint="e.g. --weight hazard=2",
                hint_id="mis. --weight hazard=2",
            ) from None
    with use_bank(bank) as b, status("risk index / indeks risiko"):
        result = risk_index(
            b, analyses=analyses, level=level, weights=weights, classes=classes, layer_id=layer
        )
    if as_json:
        emit_json(result.to_json())
        return
    table = Table(title="Risk index / Indeks risiko")
    cols = ["rank", "name", "index", "class_label_id", "class_label_en", "rank_min", "rank_max"]
    cols = [c for c in cols if c in result.table.columns]
    for col in cols:
        table.add_column(col)
    ranked = result.table.dropna(subset=["rank"]).sort_values("rank")
    for rec in ranked.head(top).to_dict("records"):
        table.add_row(*(f"{rec[c]:.3f}" if c == "index" else str(rec[c]) for c in cols))
    console.print(table)
    s = result.sensitivity
    console.print(
        f"weights / bobot: {result.weights}; layer / lapisan: {layer}; sensitivity / kepekaan: {s}"
    )
    if result.record is not None:
        console.print(f"analysis / analisis {result.record.id}")


@impact_app.command("list")
@handle_errors
def list_cmd(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Stored analyses, newest first / Daftar analisis."""
    with use_bank(bank) as b:
        records = b.analyses()
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    table = Table(title="Analyses / Analisis")
    for col in ("id", "kind", "level", "created", "question"):
        table.add_column(col)
    for r in records:
        table.add_row(r.id, r.kind, r.level, r.created.isoformat(timespec="seconds"), r.question)
    console.print(table)


@impact_app.command("show")
@handle_errors
def show_cmd(
    analysis_id: str,
    csv: Path | None = typer.Option(None, "--csv", help="Write the results (long table) to CSV"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """One stored analysis with its inputs, parameters and totals / Rincian analisis."""
    with use_bank(bank) as b:
        record, results = b.analysis(analysis_id)
    if csv is not None:
        results.to_csv(csv, index=False)
    if as_json:
        emit_json({"record": record.to_json(), "results": len(results)})
        return
    console.print(f"[bold]{record.question}[/] ({record.kind}, {record.level})")
    console.print(f"inputs / masukan: {record.inputs}")
    console.print(f"software {record.software_version}; timings {record.timings}")
    for key, value in record.summary.items():
        console.print(f"  {key}: {value}")


@impact_app.command("replay")
@handle_errors
def replay_cmd(analysis_id: str, bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Run a stored analysis again on the same layer versions / Jalankan ulang analisis."""
    from tangguh.risk.impact import replay

    with use_bank(bank) as b, status(f"replay / ulang {analysis_id}"):
        result, same = replay(b, analysis_id)
    if as_json:
        emit_json(
            {
                "analysis": analysis_id,
                "kind": result.record.kind,
                "identical": same,
                "summary": result.record.summary,
            }
        )
        return
    verdict = (
        "identical / identik"
        if same
        else "DIFFERENT from the stored results / BERBEDA dari hasil tersimpan"
    )
    console.print(f"{analysis_id}: {verdict}; {result.record.timings.get('total', 0):.2f} s")
    if not same:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(impact_app, name="impact")
