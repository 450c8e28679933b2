"""`tangguh layers`, `tangguh layer …`, `tangguh import`, `tangguh export`, `tangguh db …`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tangguh.bank import LayerMeta
from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    msg,
    status,
    use_bank,
)
from tangguh.errors import InputError

__all__ = ["db_app", "export_cmd", "import_cmd", "layer_app", "layers_cmd"]

layer_app = typer.Typer(
    help="One layer: show, history, delete / Satu lapisan", no_args_is_help=True
)
db_app = typer.Typer(help="Bank schema / Skema bank data", no_args_is_help=True)

RASTER_SUFFIXES = {".tif", ".tiff", ".asc", ".vrt", ".img", ".nc"}
OSM_SUFFIXES = (".osm", ".pbf", ".osm.pbf", ".osm.bz2", ".osm.gz")


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        if "=" not in item:
            raise InputError(
                f"{option} expects NAME=VALUE, got {item!r}",
                where=option,
                hint=f"e.g. {option} KEL_NAME=kelurahan",
                message_id=f"{option} memerlukan NAMA=NILAI, yang diterima {item!r}",
                hint_id=f"mis. {option} KEL_NAME=kelurahan",
            )
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


@handle_errors
def layers_cmd(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """List the catalogue / Daftar lapisan."""
    with use_bank(bank) as b:
        infos = b.layers()
    if as_json:
        emit_json([i.to_json() for i in infos])
        return
    table = Table(title=msg("layers"))
    for col in ("id", "theme", "kind", "geometry", "features", "version", "title"):
        table.add_column(col)
    for i in infos:
        table.add_row(
            i.id,
            i.theme,
            i.kind,
            i.geometry_type or "-",
            f"{i.feature_count:,}",
            str(i.current_version),
            i.title_id or i.title_en or "",
        )
    console.print(table)


@layer_app.command("show")
@handle_errors
def layer_show(layer_id: str, bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Catalogue entry of one layer / Metadata satu lapisan."""
    with use_bank(bank) as b:
        info = b.layer(layer_id)
    data = info.to_json()
    if as_json:
        emit_json(data)
        return
    table = Table(show_header=False, title=layer_id)
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)


@layer_app.command("history")
@handle_errors
def layer_history(layer_id: str, bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Versions of a layer, newest first / Riwayat versi."""
    with use_bank(bank) as b:
        versions = b.history(layer_id)
    if as_json:
        emit_json([v.to_json() for v in versions])
        return
    table = Table(title=f"{msg('history')} {layer_id}")
    for col in (
        "version",
        "created",
        "author",
        "added",
        "changed",
        "removed",
        "features",
        "message",
    ):
        table.add_column(col)
    for v in versions:
        table.add_row(
            str(v.version),
            v.created.isoformat(timespec="seconds"),
            v.author or "",
            str(v.added),
            str(v.changed),
            str(v.removed),
            str(v.feature_count),
            v.message or "",
        )
    console.print(table)


@layer_app.command("delete")
@handle_errors
def layer_delete(
    layer_id: str,
    bank: str | None = BankOption,
    yes: bool = typer.Option(False, "--yes", help="Do not ask / Tanpa konfirmasi"),
) -> None:
    """Delete a layer and its history / Hapus lapisan."""
    if not yes:
        typer.confirm(f"Delete / Hapus {layer_id}?", abort=True)
    with use_bank(bank) as b:
        b.delete_layer(layer_id)
    console.print(f"{msg('deleted')}: {layer_id}")


@handle_errors
def import_cmd(
    file: Path = typer.Argument(..., help="File to import / Berkas"),
    layer: str = typer.Option(..., "--layer", "-l", help="Layer id (prefix for OSM) / ID lapisan"),
    bank: str | None = BankOption,
    source_layer: str | None = typer.Option(None, "--source-layer", help="Layer inside the file"),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the data, e.g. EPSG:32748"),
    rename: list[str] | None = typer.Option(None, "--rename", help="OLD=NEW (repeatable)"),
    types: list[str] | None = typer.Option(
        None, "--type", help="COLUMN=int|float|str|bool|date|datetime"
    ),
    mapping: Path | None = typer.Option(None, "--mapping", help="TOML/JSON mapping file"),
    key: str | None = typer.Option(None, "--key", help="Unique key column for versions"),
    lon: str | None = typer.Option(None, "--lon", help="CSV longitude column"),
    lat: str | None = typer.Option(None, "--lat", help="CSV latitude column"),
    wkt: str | None = typer.Option(None, "--wkt", help="CSV WKT column"),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Attribute encoding, e.g. latin-1"
    ),
    on_invalid: str = typer.Option("repair", "--on-invalid", help="repair | reject"),
    geometry_type: str | None = typer.Option(None, "--geometry-type", help="Keep only this type"),
    append: bool = typer.Option(False, "--append", help="Add rows instead of replacing"),
    title_id: str | None = typer.Option(None, "--title-id"),
    title_en: str | None = typer.Option(None, "--title-en"),
    description_id: str | None = typer.Option(None, "--description-id"),
    description_en: str | None = typer.Option(None, "--description-en"),
    theme: str = typer.Option("other", "--theme", help="admin, hazard, exposure, services, …"),
    licence: str | None = typer.Option(None, "--licence"),
    attribution: str | None = typer.Option(None, "--attribution"),
    keywords: str | None = typer.Option(None, "--keywords", help="comma separated"),
    update_frequency: str | None = typer.Option(None, "--update-frequency"),
    author: str | None = typer.Option(None, "--author", envvar="TANGGUH_AUTHOR"),
    message: str | None = typer.Option(None, "--message", "-m"),
    as_json: bool = JsonOption,
) -> None:
    """Import a vector file, raster or OSM extract into the bank / Impor berkas ke bank data."""
    name = file.name.lower()
    meta = LayerMeta(
        title_id=title_id,
        title_en=title_en,
        description_id=description_id,
        description_en=description_en,
        theme=theme,
        source=str(file),
        licence=licence,
        attribution=attribution,
        keywords=[k.strip() for k in (keywords or "").split(",") if k.strip()],
        update_frequency=update_frequency,
    )
    if name.endswith("grid.xml"):
        import tempfile

        from tangguh.risk.hazards import shakemap_to_raster

        with tempfile.TemporaryDirectory() as tmp, use_bank(bank, create=True) as b:
            shake = shakemap_to_raster(file, Path(tmp) / "mmi.tif")
            meta.theme = "hazard" if meta.theme == "other" else meta.theme
            meta.extra = {"shakemap_event": str(shake.event)}
            info = b.register_raster(layer, shake.path, meta)
        _done(
            {"layer": layer, "kind": "raster", "bbox": info.bbox, "event": str(shake.event)},
            as_json,
        )
        return
    if file.suffix.lower() in RASTER_SUFFIXES:
        with use_bank(bank, create=True) as b:
            info = b.register_raster(layer, file, meta, crs=crs)  # type: ignore[call-arg]
        _done({"layer": layer, "kind": "raster", "bbox": info.bbox}, as_json)
        return
    if name.endswith(OSM_SUFFIXES):
        _import_osm(file, layer, bank, meta, author, message, as_json)
        return
    from tangguh.io import load_mapping, read_vector

    options: dict[str, Any] = load_mapping(mapping) if mapping else {}
    options.setdefault("rename", {}).update(parse_pairs(rename, "--rename"))
    options.setdefault("types", {}).update(parse_pairs(types, "--type"))
    for opt, value in (
        ("layer", source_layer),
        ("crs", crs),
        ("lon", lon),
        ("lat", lat),
        ("wkt", wkt),
        ("encoding", encoding),
        ("geometry_type", geometry_type),
    ):
        if value is not None:
            options[opt] = value
    options.setdefault("on_invalid", on_invalid)
    with status(f"reading / membaca {file.name}"):
        frame, report = read_vector(file, **options)
    meta.source_crs = report.source_crs
    with use_bank(bank, create=True) as b, status(f"writing / menulis {len(frame):,} → {layer}"):
        version = b.write_layer(
            layer,
            frame,
            meta,
            key=key,
            author=author,
            message=message,
            mode="append" if append else "replace",
        )
    result = {"layer": layer, "version": version.to_json(), "report": report.to_json()}
    if as_json:
        emit_json(result)
        return
    console.print(
        f"{msg('imported')}: {file} → [bold]{layer}[/] v{version.version}: "
        f"{version.feature_count:,} {msg('features').split(' / ')[0]} "
        f"(+{version.added} ~{version.changed} -{version.removed})"
    )
    _print_issues(report.to_json())


def _print_issues(report: dict[str, Any]) -> None:
    if not report["issues"]:
        return
    table = Table(title=msg("issues"))
    for col in ("kind", "row", "field", "message"):
        table.add_column(col)
    for issue in report["issues"][:20]:
        table.add_row(
            issue["kind"],
            "" if issue["row"] is None else str(issue["row"]),
            issue["field"] or "",
            issue["message"],
        )
    console.print(table)
    if len(report["issues"]) > 20:
        console.print(
            f"… {len(report['issues']) - 20} more; counts: {report['counts']} (use --json for all)"
        )


def _import_osm(
    file: Path,
    prefix: str,
    bank: str | None,
    meta: LayerMeta,
    author: str | None,
    message: str | None,
    as_json: bool,
) -> None:
    from tangguh.io.osm import read_osm

    with status(f"reading OSM / membaca OSM {file.name}"):
        layers, report = read_osm(file)
    results = {}
    with use_bank(bank, create=True) as b, b.transaction():
        for kind, frame in layers.items():
            if frame.empty:
                continue
            layer_meta = LayerMeta(**{**meta.to_dict(), "keywords": [*meta.keywords, "osm", kind]})
            layer_meta.title_en = meta.title_en or f"OpenStreetMap {kind}"
            layer_meta.title_id = meta.title_id or f"OpenStreetMap {kind}"
            layer_meta.licence = meta.licence or "ODbL-1.0"
            layer_meta.attribution = meta.attribution or "© OpenStreetMap contributors"
            if meta.theme == "other":
                layer_meta.theme = {
                    "buildings": "exposure",
                    "roads": "mobility",
                    "amenities": "facilities",
                    "waterways": "environment",
                }[kind]
            version = b.write_layer(
                f"{prefix}_{kind}", frame, layer_meta, key="osm_id", author=author, message=message
            )
            results[f"{prefix}_{kind}"] = version.to_json()
    _done({"layers": results, "report": report.to_json()}, as_json)


def _done(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        console.print(f"{msg('imported')}: {result}")


@handle_errors
def export_cmd(
    layer_id: str = typer.Argument(..., help="Layer id / ID lapisan"),
    to: Path = typer.Option(..., "--to", help="Output: .geojson .gpkg .csv .fgb .parquet"),
    bank: str | None = BankOption,
    bbox: str | None = typer.Option(None, "--bbox", help="minx,miny,maxx,maxy (lon/lat)"),
    where: list[str] | None = typer.Option(None, "--where", help="COLUMN=VALUE (repeatable)"),
    version: int | None = typer.Option(None, "--version", help="An earlier version"),
    as_json: bool = JsonOption,
) -> None:
    """Export a layer or a filtered subset / Ekspor lapisan."""
    from tangguh.io import write_vector

    box = None
    if bbox:
        try:
            parts = [float(v) for v in bbox.split(",")]
            if len(parts) != 4:
                raise ValueError
        except ValueError:
            raise InputError(
                f"bad --bbox {bbox!r}",
                where="--bbox",
                hint="give minx,miny,maxx,maxy in lon/lat, e.g. 106.8,-6.3,106.9,-6.1",
                message_id=f"--bbox {bbox!r} tidak sah",
                hint_id="berikan minx,miny,maxx,maxy dalam lon/lat, mis. 106.8,-6.3,106.9,-6.1",
            ) from None
        box = (parts[0], parts[1], parts[2], parts[3])
    with use_bank(bank) as b:
        frame = b.read_layer(layer_id, bbox=box, version=version)
        for col, value in parse_pairs(where, "--where").items():
            if col not in frame.columns:
                raise InputError(
                    f"layer {layer_id!r} has no column {col!r}",
                    where="--where",
                    hint=f"columns: {[c for c in frame.columns if c != 'geometry']}",
                    message_id=f"lapisan {layer_id!r} tidak memiliki kolom {col!r}",
                    hint_id=f"kolom yang ada: {[c for c in frame.columns if c != 'geometry']}",
                )
            frame = frame[frame[col].astype(str) == value]
    path = write_vector(frame, to)
    result = {"layer": layer_id, "path": str(path), "features": len(frame)}
    if as_json:
        emit_json(result)
    else:
        console.print(f"{msg('exported')}: {layer_id} → {path} ({len(frame):,})")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Create the bank or apply pending schema migrations / Perbarui skema."""
    with use_bank(bank, create=True) as b:
        applied = b.upgrade()
        version = b.schema_version()
    if as_json:
        emit_json({"applied": applied, "schema_version": version})
    elif applied:
        console.print(f"{msg('upgraded')} {version} ({applied})")
    else:
        console.print(f"{msg('uptodate')} {version}")
