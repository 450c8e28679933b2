"""Admin units in the bank: the ``admin_units`` layer and the attribute long table.

The pure functions of :mod:`tangguh.admin.units` build, link, roll up and look up;
this module stores and reads their results through the :class:`~tangguh.bank.Bank`
contract, so both backends behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from tangguh.admin.match import MatchResult, match_units
from tangguh.admin.units import LEVELS, LinkReport, lookup_points, rollup
from tangguh.bank import Bank, LayerMeta, VersionInfo
from tangguh.errors import InputError, NotFoundError

__all__ = [
    "ADMIN_LAYER",
    "JakartaImport",
    "import_jakarta",
    "load_units",
    "lookup",
    "rollup_attribute",
    "save_attributes",
    "save_units",
]

#: Layer id of the admin-unit hierarchy.
ADMIN_LAYER = "admin_units"
_UNIT_VALUE_COLUMNS = ("population", "households")


def save_units(
    bank: Bank,
    units: gpd.GeoDataFrame,
    *,
    source: str,
    licence: str | None = None,
    attribution: str | None = None,
    author: str | None = None,
    message: str | None = None,
    synthetic: bool = False,
) -> VersionInfo:
    """Store ``units`` as a new version of the ``admin_units`` layer (keyed by unit_id)."""
    levels = sorted(set(units["level"]), key=LEVELS.index)
    meta = LayerMeta(
        title_id="Batas wilayah administrasi",
        title_en="Administrative units",
        description_id="Hierarki provinsi → kota → kecamatan → kelurahan → RW dengan kode BPS "
        "dan Kemendagri, penduduk dan jumlah KK.",
        description_en="Hierarchy province → kota → kecamatan → kelurahan → RW with BPS and "
        "Kemendagri codes, population and households.",
        theme="admin",
        source=source,
        licence=licence,
        attribution=attribution,
        keywords=["admin", *levels],
        synthetic=synthetic,
    )
    return bank.write_layer(ADMIN_LAYER, units, meta, key="unit_id", author=author, message=message)


def load_units(bank: Bank) -> gpd.GeoDataFrame:
    """The ``admin_units`` layer, or a NotFoundError that says how to make it."""
    if not bank.has_layer(ADMIN_LAYER):
        raise NotFoundError(
            "the bank has no admin units",
            where=bank.url,
            hint="import them: `tangguh admin import-jakarta` or "
            "`tangguh admin build`, or build the demo city",
            message_id="bank data tidak memiliki unit wilayah",
            hint_id="impor unit wilayah: `tangguh admin import-jakarta` atau "
            "`tangguh admin build`, atau buat kota demo",
        )
    return bank.read_layer(ADMIN_LAYER)


def save_attributes(
    bank: Bank,
    table: pd.DataFrame,
    *,
    unit_column: str = "unit_id",
    columns: list[str],
    year: int | None,
    source: str,
) -> int:
    """Store numeric columns of a table (one row per unit) in the attribute long table."""
    missing = [c for c in [unit_column, *columns] if c not in table.columns]
    if missing:
        raise InputError(
            f"no column(s) {missing}",
            hint=f"columns: {list(table.columns)}",
            message_id=f"kolom {missing} tidak ada",
            hint_id=f"kolom yang ada: {list(table.columns)}",
        )
    long = table[[unit_column, *columns]].melt(
        id_vars=unit_column, var_name="attribute", value_name="value"
    )
    long = long.rename(columns={unit_column: "unit_id"}).dropna(subset=["value"])
    long["year"] = year
    long["source"] = source
    return bank.write_admin_attributes(long)


def rollup_attribute(
    bank: Bank, attribute: str, *, to_level: str, from_level: str | None = None, how: str = "sum"
) -> pd.Series:
    """Roll ``attribute`` up from ``from_level`` (default: the finest level holding it).

    ``population`` and ``households`` come from the admin_units layer; any other name
    from the attribute long table. The result's ``attrs`` say how many units lacked
    a value.
    """
    units = load_units(bank)
    if attribute in _UNIT_VALUE_COLUMNS:
        values = units.set_index("unit_id")[attribute].dropna()
    else:
        rows = bank.admin_attributes(attribute)
        if rows.empty:
            raise NotFoundError(
                f"no attribute {attribute!r} in the bank",
                hint="see `tangguh admin attributes`",
                message_id=f"atribut {attribute!r} tidak ada di bank data",
                hint_id="lihat `tangguh admin attributes`",
            )
        values = rows.set_index("unit_id")["value"]
    levels = units.set_index("unit_id")["level"]
    present = levels.reindex(values.index).dropna()
    if from_level is None:
        if present.empty:
            raise NotFoundError(
                f"attribute {attribute!r} is not set on any unit",
                message_id=f"atribut {attribute!r} tidak diisi pada unit mana pun",
            )
        from_level = max(present.unique(), key=LEVELS.index)
    values = values[present[present == from_level].index]
    return rollup(
        units,
        values.astype(float),
        to_level=to_level,
        how=how,  # type: ignore[arg-type]
        from_level=from_level,
    )


def lookup(bank: Bank, points: Any) -> pd.DataFrame:
    """The unit at every level containing each (lon, lat) point."""
    return lookup_points(load_units(bank), points)


@dataclass
class JakartaImport:
    """What :func:`import_jakarta` did."""

    version: VersionInfo
    link: LinkReport
    population: MatchResult
    codes: MatchResult
    demographics: MatchResult | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version.to_json(),
            "counts": self.counts,
            "link": self.link.to_json() if hasattr(self.link, "to_json") else str(self.link),
            "population": self.population.to_json(),
            "codes": self.codes.to_json(),
            "demographics": self.demographics.to_json() if self.demographics else None,
        }


def import_jakarta(
    bank: Bank, folder: Path | None = None, *, author: str | None = None
) -> JakartaImport:
    """Import the real Jakarta boundaries, 2024 population, BPS codes and demographics.

    Reads ``admin-inasafe-2012`` (kota → RW), ``kelurahan-population`` (2024 CSV and
    the Dukcapil profile) and ``admin-codes-bps`` from ``folder`` (the shared
    ``data/jakarta`` folder by default). Everything lands in one transaction.
    """
    from tangguh.io import jakarta

    root = folder or jakarta.shared_data_dir() / "jakarta"
    units, link = jakarta.admin_units_from_inasafe(root / "admin-inasafe-2012")
    pop = jakarta.population_from_csv(
        root / "kelurahan-population" / "kelurahan_population_2024.csv"
    )
    units, pop_match = jakarta.apply_population(
        units, pop, year=2024, source="Satu Data Jakarta 2024"
    )
    codes = jakarta.codes_from_bps(root / "admin-codes-bps")
    units, code_match = jakarta.apply_bps_codes(units, codes)
    demo = jakarta.population_from_dukcapil(
        root / "kelurahan-population" / "kelurahan_dukcapil_demografi.geojson"
    )
    demo_match = match_units(
        demo,
        units,
        level="kelurahan",
        name="kelurahan",
        parent_name="kecamatan",
        parent_level="kecamatan",
    )
    matched = demo_match.matched
    demo_cols = [
        c
        for c in demo.columns
        if c not in ("kota", "kecamatan", "kelurahan", "luas_raw", "population", "households")
    ]
    with bank.transaction():
        version = save_units(
            bank,
            units,
            source="InaSAFE boundaries 2012; Satu Data Jakarta 2024 population; BPS codes",
            licence="ODbL-1.0 (boundaries)",
            attribution="© OpenStreetMap contributors; BPS; Satu Data Jakarta",
            author=author,
            message="tangguh admin import-jakarta",
        )
        if len(matched):
            table = demo.loc[matched.index, demo_cols].copy()
            table["unit_id"] = matched["unit_id"].to_numpy()
            save_attributes(bank, table, columns=demo_cols, year=2020, source="Dukcapil DKI")
    counts = units["level"].value_counts().to_dict()
    return JakartaImport(
        version=version,
        link=link,
        population=pop_match,
        codes=code_match,
        demographics=demo_match,
        counts={str(k): int(v) for k, v in counts.items()},
    )
