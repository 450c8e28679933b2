"""`tangguh admin …`: the admin-unit hierarchy (build, import, tree, lookup, match, roll-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.table import Table
from rich.tree import Tree

from tangguh.cli._common import (
    BankOption,
    JsonOption,
    console,
    emit_json,
    handle_errors,
    msg,
    use_bank,
)
from tangguh.errors import InputError

__all__ = ["register"]

admin_app = typer.Typer(
    help="Admin units: kota → kecamatan → kelurahan → RW / Wilayah administrasi",
    no_args_is_help=True,
)

LevelSpec = typer.Option(None, help="FILE:NAME_FIELD[:CODE_FIELD[:PARENT_NAME_FIELD]]")


@admin_app.command("import-jakarta")
@handle_errors
def import_jakarta_cmd(
    folder: Path | None = typer.Argument(None, help="The shared data/jakarta folder"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Import the real Jakarta boundaries, population and BPS codes / Impor data Jakarta."""
    from tangguh.admin.store import import_jakarta

    with use_bank(bank, create=True) as b:
        result = import_jakarta(b, folder)
    if as_json:
        emit_json(result.to_json())
        return
    console.print(f"{msg('imported')}: admin_units v{result.version.version} {result.counts}")
    console.print(f"population / penduduk: {result.population.summary()}")
    console.print(f"BPS codes / kode BPS: {result.codes.summary()}")
    if result.link.disagreements:
        console.print(
            f"parent-name disagreements / nama induk tidak cocok: "
            f"{len(result.link.disagreements)} (see --json)"
        )


def _spec(value: str | None, level: str) -> tuple[Path, str, str | None, str | None] | None:
    if value is None:
        return None
    parts = value.split(":")
    if len(parts) < 2 or not parts[1]:
        raise InputError(
            f"--{level} expects FILE:NAME_FIELD, got {value!r}",
            where=f"--{level}",
            hint=f"e.g. --{level} rw_jakarta.shp:RW",
            message_id=f"--{level} memerlukan BERKAS:KOLOM_NAMA, yang diterima {value!r}",
            hint_id=f"mis. --{level} rw_jakarta.shp:RW",
        )
    return (
        Path(parts[0]),
        parts[1],
        (parts[2] or None) if len(parts) > 2 else None,
        (parts[3] or None) if len(parts) > 3 else None,
    )


@admin_app.command("build")
@handle_errors
def build_cmd(
    province: str | None = LevelSpec,
    kota: str | None = LevelSpec,
    kecamatan: str | None = LevelSpec,
    kelurahan: str | None = LevelSpec,
    rw: str | None = LevelSpec,
    rt: str | None = LevelSpec,
    source: str = typer.Option("user files", "--source"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Build the hierarchy from one polygon file per level / Bangun hierarki wilayah."""
    from tangguh.admin import units_from_frames
    from tangguh.admin.store import save_units
    from tangguh.io import read_vector

    specs = {
        lvl: _spec(val, lvl)
        for lvl, val in (
            ("province", province),
            ("kota", kota),
            ("kecamatan", kecamatan),
            ("kelurahan", kelurahan),
            ("rw", rw),
            ("rt", rt),
        )
    }
    frames, names, codes, parents = {}, {}, {}, {}
    for level, spec in specs.items():
        if spec is None:
            continue
        path, name_field, code_field, parent_field = spec
        frame, _ = read_vector(path)
        lookup = {c.lower(): c for c in frame.columns}
        for fld in (name_field, code_field, parent_field):
            if fld is not None and fld.lower() not in lookup:
                raise InputError(
                    f"no field {fld!r} in {path}",
                    where=f"--{level}",
                    hint=f"fields: {[c for c in frame.columns if c != 'geometry']}",
                    message_id=f"tidak ada kolom {fld!r} di {path}",
                    hint_id=f"kolom yang ada: {[c for c in frame.columns if c != 'geometry']}",
                )
        frames[level] = frame
        names[level] = lookup[name_field.lower()]
        if code_field:
            codes[level] = lookup[code_field.lower()]
        if parent_field:
            parents[level] = lookup[parent_field.lower()]
    if not frames:
        raise InputError(
            "give at least one level",
            hint="e.g. --kelurahan kel.shp:NAME --rw rw.shp:RW",
            message_id="berikan setidaknya satu tingkat wilayah",
            hint_id="mis. --kelurahan kel.shp:NAME --rw rw.shp:RW",
        )
    units, report = units_from_frames(
        frames, name_fields=names, code_fields=codes, parent_name_fields=parents, source=source
    )
    with use_bank(bank, create=True) as b:
        version = save_units(b, units, source=source)
    result = {"version": version.to_json(), "link": report.to_json()}
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"admin_units v{version.version}: {report.counts}; "
            f"orphans {len(report.orphans)}, disagreements {len(report.disagreements)}"
        )


@admin_app.command("tree")
@handle_errors
def tree_cmd(
    root: str | None = typer.Option(None, "--root", help="Start at this unit_id"),
    max_level: str = typer.Option("kecamatan", "--max-level", help="Deepest level to show"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Print the hierarchy / Tampilkan hierarki."""
    from tangguh.admin import tree
    from tangguh.admin.store import load_units

    with use_bank(bank) as b:
        units = load_units(b)
    data = tree(units, root=root, max_level=max_level)
    if as_json:
        emit_json(data)
        return
    pop = units.set_index("unit_id")["population"]

    def add(node: Tree, items: dict[str, Any]) -> None:
        for uid, item in items.items():
            people = pop.get(uid)
            label = f"[bold]{item['name']}[/] ({item['level']}, {uid})"
            if people is not None and not pd.isna(people):
                label += f" — {int(people):,}"
            add(node.add(label), item["children"])

    top = Tree("Wilayah / Units")
    add(top, data)
    console.print(top)


@admin_app.command("lookup")
@handle_errors
def lookup_cmd(
    lon: float = typer.Option(..., "--lon", help="Longitude (EPSG:4326)"),
    lat: float = typer.Option(..., "--lat", help="Latitude, e.g. -6.2088"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Which unit contains a point, at every level / Cari wilayah untuk satu titik."""
    from tangguh.admin.store import load_units
    from tangguh.admin.units import lookup_points

    with use_bank(bank) as b:
        units = load_units(b)
    row = lookup_points(units, [(lon, lat)]).iloc[0]
    names = units.set_index("unit_id")["name"]
    result = {
        lvl: (None if uid is None or pd.isna(uid) else {"unit_id": uid, "name": names.get(uid)})
        for lvl, uid in row.items()
    }
    if as_json:
        emit_json(result)
        return
    if all(v is None for v in result.values()):
        bbox = units.total_bounds
        console.print(
            f"{lon}, {lat}: outside every unit / di luar semua wilayah "
            f"(units cover {bbox[0]:.3f},{bbox[1]:.3f} – {bbox[2]:.3f},{bbox[3]:.3f})"
        )
        return
    table = Table(title=f"{lon}, {lat}")
    table.add_column("level")
    table.add_column("unit_id")
    table.add_column("name")
    for lvl, val in result.items():
        table.add_row(str(lvl), val["unit_id"] if val else "-", str(val["name"]) if val else "-")
    console.print(table)


@admin_app.command("match")
@handle_errors
def match_cmd(
    table_file: Path = typer.Argument(..., help="CSV table to match"),
    level: str = typer.Option(..., "--level", help="kota, kecamatan, kelurahan or rw"),
    name: str | None = typer.Option(None, "--name-column"),
    code: str | None = typer.Option(None, "--code-column"),
    parent_name: str | None = typer.Option(None, "--parent-column"),
    parent_level: str | None = typer.Option(None, "--parent-level"),
    out: Path | None = typer.Option(None, "--out", help="Write the table with unit_id to this CSV"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Match a table to units by code or normalised name and report what did not match."""
    from tangguh.admin import match_units
    from tangguh.admin.store import load_units

    try:
        table = pd.read_csv(table_file, encoding="utf-8-sig", dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(
            f"cannot read the table: {exc}",
            where=str(table_file),
            hint="give a UTF-8 CSV with a header row",
            message_id=f"tabel tidak dapat dibaca: {exc}",
            hint_id="berikan CSV UTF-8 dengan baris judul kolom",
        ) from exc
    with use_bank(bank) as b:
        units = load_units(b)
    result = match_units(
        table,
        units,
        level=level,
        code=code,
        name=name,
        parent_name=parent_name,
        parent_level=parent_level,
    )
    if out is not None:
        table.join(result.matched[["unit_id", "method"]]).to_csv(out, index=False)
    if as_json:
        emit_json(result.to_json())
        return
    console.print(result.summary())
    if len(result.unmatched_rows):
        t = Table(title=msg("unmatched"))
        t.add_column("line")
        t.add_column("reason")
        for idx, reason in result.unmatched_rows["reason"].items():
            t.add_row(str(int(idx) + 2), str(reason))  # type: ignore[call-overload]
        console.print(t)


@admin_app.command("rollup")
@handle_errors
def rollup_cmd(
    attribute: str = typer.Argument(..., help="population, households or a stored attribute"),
    to_level: str = typer.Option("kota", "--to"),
    from_level: str | None = typer.Option(None, "--from"),
    how: str = typer.Option("sum", "--how", help="sum, mean, min, max, count"),
    bank: str | None = BankOption,
    as_json: bool = JsonOption,
) -> None:
    """Roll a numeric attribute up the hierarchy / Agregasi ke tingkat lebih tinggi."""
    from tangguh.admin.store import load_units, rollup_attribute

    with use_bank(bank) as b:
        values = rollup_attribute(b, attribute, to_level=to_level, from_level=from_level, how=how)
        names = load_units(b).set_index("unit_id")["name"]
    rows = [
        {"unit_id": uid, "name": names.get(uid), "value": float(v)} for uid, v in values.items()
    ]
    if as_json:
        emit_json(
            {
                "attribute": attribute,
                "to": to_level,
                "values": rows,
                "missing": {k: v for k, v in values.attrs.items() if k != "missing"},
            }
        )
        return
    table = Table(title=f"{attribute} → {to_level} ({how})")
    for col in ("unit_id", "name", "value"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["unit_id"], str(row["name"]), f"{row['value']:,.0f}")
    console.print(table)


@admin_app.command("attributes")
@handle_errors
def attributes_cmd(bank: str | None = BankOption, as_json: bool = JsonOption) -> None:
    """Numeric attributes stored per unit / Atribut numerik per wilayah."""
    with use_bank(bank) as b:
        rows = b.admin_attributes()
    summary = (
        rows.groupby("attribute")
        .agg(units=("unit_id", "count"), year=("year", "max"), source=("source", "first"))
        .reset_index()
    )
    if as_json:
        emit_json(summary.to_dict("records"))
        return
    table = Table(title="Attributes / Atribut")
    for col in summary.columns:
        table.add_column(str(col))
    for rec in summary.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
