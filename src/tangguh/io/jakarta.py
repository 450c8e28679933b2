"""Recipes for the real Jakarta (DKI) datasets kept in ``shared/data/jakarta``.

Each recipe reads one source as published, fixes its known quirks openly (and says so
in the returned report) and returns plain frames; the bank layer stores them.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.admin.codes import parse_code
from tangguh.admin.match import MatchResult, match_units
from tangguh.admin.units import LinkReport, rollup, units_from_frames
from tangguh.errors import ImportError_, InputError, NotFoundError

__all__ = [
    "admin_units_from_inasafe",
    "apply_bps_codes",
    "apply_population",
    "clean_floodprone",
    "codes_from_bps",
    "population_from_csv",
    "population_from_dukcapil",
    "shared_data_dir",
]

_INASAFE_LAYERS = {
    "kota": "kabupaten_jakarta",
    "kecamatan": "kecamatan_jakarta",
    "kelurahan": "kelurahan_jakarta",
    "rw": "rw_jakarta",
}
_FLOODPRONE = {"YES": True, "Y": True, "NO": False, "N": False}


def shared_data_dir() -> Path:
    """The shared data folder (``.../shared/data``).

    Looked up in this order: the environment variable ``TANGGUH_SHARED_DATA``;
    ``../shared/data`` (and ``shared/data``) relative to the current directory;
    ``../shared/data`` relative to the repository holding this package.

    Raises
    ------
    NotFoundError
        When none exists.
    """
    env = os.environ.get("TANGGUH_SHARED_DATA")
    tried: list[Path] = []
    if env:
        tried.append(Path(env))
    cwd = Path.cwd()
    tried += [cwd.parent / "shared" / "data", cwd / "shared" / "data"]
    tried.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    for path in tried:
        if path.is_dir():
            return path
    raise NotFoundError(
        "shared data folder not found",
        where=", ".join(str(p) for p in tried),
        hint="set TANGGUH_SHARED_DATA to the folder holding jakarta/",
        message_id="folder data bersama tidak ditemukan",
        hint_id="tetapkan TANGGUH_SHARED_DATA ke folder yang berisi jakarta/",
    )


def _read(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise NotFoundError(
            f"file not found: {path}", where=str(path), message_id=f"berkas tidak ditemukan: {path}"
        )
    if path.suffix.lower() == ".shp":  # dbf strings are latin-1 (SOURCE.txt)
        return gpd.read_file(path, encoding="latin-1")
    return gpd.read_file(path)


def _layer_path(folder: Path, stem: str) -> Path:
    for candidate in (folder / "geojson" / f"{stem}.geojson", folder / "shapefile" / f"{stem}.shp"):
        if candidate.exists():
            return candidate
    raise NotFoundError(
        f"InaSAFE layer {stem} not found",
        where=str(folder),
        hint="pass the admin-inasafe-2012 folder (with geojson/ or shapefile/)",
        message_id=f"lapisan InaSAFE {stem} tidak ditemukan",
        hint_id="berikan folder admin-inasafe-2012 (yang berisi geojson/ atau shapefile/)",
    )


def clean_floodprone(values: pd.Series) -> pd.Series:
    """Clean the InaSAFE RW ``FLOODPRONE`` flag into a nullable boolean.

    'YES'/'Yes' -> True, 'NO' -> False; '' and '0' (13 RWs, no documented meaning) and
    anything else -> NA. Counts of the raw values are in ``attrs["raw_counts"]``.
    """
    raw = values.astype(object).where(values.notna(), "")
    text = raw.map(lambda v: str(v).strip().upper())
    out = pd.Series(text.map(_FLOODPRONE), index=values.index, name="floodprone", dtype="boolean")
    out.attrs["raw_counts"] = {str(k): int(v) for k, v in raw.value_counts().items()}
    return out


def admin_units_from_inasafe(folder: Path | None = None) -> tuple[gpd.GeoDataFrame, LinkReport]:
    """Admin units (province, 5 kota, 42 kecamatan, 261 kelurahan, 2,685 RW) of InaSAFE 2012.

    Reads the GeoJSON (or, if absent, the shapefiles, dbf as latin-1) of
    ``admin-inasafe-2012``. The province is the union of the kota. Kota names are
    normalised (the 'JAKATA UTARA' typo is in the RW layer's parent field and is fixed
    by :data:`~tangguh.admin.names.NAME_VARIANTS`), RW labels become two-digit numbers.
    The RW ``FLOODPRONE`` flag is returned as an extra nullable-boolean column
    ``floodprone`` (NA on other levels; see :func:`clean_floodprone`), with its raw
    value counts in the report's notes.

    Parameters
    ----------
    folder:
        The ``admin-inasafe-2012`` folder (default: ``shared_data_dir()/jakarta/...``).
    """
    folder = folder or shared_data_dir() / "jakarta" / "admin-inasafe-2012"
    frames = {lev: _read(_layer_path(folder, stem)) for lev, stem in _INASAFE_LAYERS.items()}
    kota = frames["kota"]
    union = shapely.union_all(shapely.make_valid(np.asarray(kota.geometry.values)))
    frames = {
        "province": gpd.GeoDataFrame({"name": ["DKI JAKARTA"]}, geometry=[union], crs=kota.crs),
        **frames,
    }
    units, report = units_from_frames(
        frames,
        name_fields={
            "province": "name",
            "kota": "KAB_NAME",
            "kecamatan": "KEC_NAME",
            "kelurahan": "KEL_NAME2",
            "rw": "RW",
        },
        parent_name_fields={"kecamatan": "KAB_NAME", "kelurahan": "KEC_NAME_1", "rw": "KEL_NAME"},
        source=f"InaSAFE admin boundaries 2012 ({folder.name})",
    )
    flood = clean_floodprone(frames["rw"]["FLOODPRONE"])
    by_unit = pd.Series(flood.to_numpy(), index=report.row_ids["rw"].to_numpy(), dtype="boolean")
    units["floodprone"] = by_unit.reindex(units["unit_id"]).to_numpy()
    report.notes.append(f"RW FLOODPRONE raw values: {flood.attrs['raw_counts']}")
    report.notes.append("province geometry = union of the 5 kota (no Kepulauan Seribu polygons)")
    return units, report


def population_from_csv(path: Path | None = None) -> pd.DataFrame:
    """Population 2024 per kelurahan (kelurahan_population_2024.csv, UTF-8 with BOM).

    Returns
    -------
    pandas.DataFrame
        Columns ``year``, ``kota``, ``kecamatan``, ``kelurahan``, ``population`` (Int64,
        persons), ``density_per_km2`` (float), one row per kelurahan (267 rows,
        including the 6 of Kepulauan Seribu).
    """
    path = path or shared_data_dir() / "jakarta/kelurahan-population/kelurahan_population_2024.csv"
    if not path.exists():
        raise NotFoundError(
            f"file not found: {path}", where=str(path), message_id=f"berkas tidak ditemukan: {path}"
        )
    raw = pd.read_csv(path, encoding="utf-8-sig", dtype={"district": str, "subdistrict": str})
    need = {"year", "city", "district", "subdistrict", "population"}
    if need - set(raw.columns):
        raise ImportError_(
            f"missing columns {sorted(need - set(raw.columns))}",
            where=str(path),
            hint="expected year, city, district, subdistrict, population",
            message_id=f"kolom tidak ada: {sorted(need - set(raw.columns))}",
            hint_id="kolom yang diharapkan: year, city, district, subdistrict, population",
        )
    return pd.DataFrame(
        {
            "year": raw["year"].astype("Int64"),
            "kota": raw["city"],
            "kecamatan": raw["district"],
            "kelurahan": raw["subdistrict"],
            "population": pd.to_numeric(raw["population"], errors="raise").astype("Int64"),
            "density_per_km2": pd.to_numeric(
                raw.get("population_density_per_km2", pd.Series(np.nan, index=raw.index)),
                errors="coerce",
            ),
        }
    )


_DUKCAPIL_COLUMNS = {
    "KABUPATEN/KOTA": "kota",
    "KECAMATAN": "kecamatan",
    "DESA/KELURAHAN": "kelurahan",
    "JUMLAH PENDUDUK": "population",
    "JUMLAH KK": "households",
    "LAKI-LAKI": "male",
    "PEREMPUAN": "female",
    "Balita (0-5 tahun)": "age_0_5",
    "Anak-anak (6-15 tahun)": "age_6_15",
    "Remaja (16-20 tahun)": "age_16_20",
    "Dewasa Muda (21-30 tahun)": "age_21_30",
    "Dewasa (31-40 tahun)": "age_31_40",
    "Dewasa Akhir (41-60 tahun)": "age_41_60",
    "Lansia (>60 tahun)": "age_over_60",
    "LUAS (KM2)": "luas_raw",
}


def population_from_dukcapil(path: Path | None = None) -> pd.DataFrame:
    """Dukcapil population profile per kelurahan (kelurahan_dukcapil_demografi.geojson).

    Returns 253 rows with ``kota``, ``kecamatan``, ``kelurahan``, ``population``,
    ``households`` (JUMLAH KK), ``male``, ``female``, age groups ``age_0_5`` ...
    ``age_over_60`` (persons, Int64) and ``luas_raw``. The source's 'LUAS (KM2)' is
    *not* in km² (457 for a ~4.6 km² kelurahan, likely hectares), so it is kept under a
    neutral name and its density column is dropped; compute areas from geometry instead.
    """
    path = path or (
        shared_data_dir() / "jakarta/kelurahan-population/kelurahan_dukcapil_demografi.geojson"
    )
    raw = _read(path)
    missing = sorted(set(_DUKCAPIL_COLUMNS) - set(raw.columns))
    if missing:
        raise ImportError_(
            f"missing columns {missing}", where=str(path), message_id=f"kolom tidak ada: {missing}"
        )
    out = pd.DataFrame(raw[list(_DUKCAPIL_COLUMNS)]).rename(columns=_DUKCAPIL_COLUMNS)
    for col in out.columns[3:]:
        out[col] = pd.to_numeric(out[col], errors="raise").astype("Int64")
    return out


def apply_population(
    units: gpd.GeoDataFrame, pop_table: pd.DataFrame, *, year: int, source: str
) -> tuple[gpd.GeoDataFrame, MatchResult]:
    """Set kelurahan population (and households) and roll them up to kecamatan, kota, province.

    Rows are matched to kelurahan by kelurahan name, with the kecamatan name to tell
    apart equal names. Roll-ups sum the matched kelurahan only; how many kelurahan of
    each unit lacked data is written in the result's notes, and ``pop_source`` of a
    rolled-up unit says it is a sum.

    Parameters
    ----------
    units:
        The admin_units frame (a copy is returned).
    pop_table:
        Columns ``kecamatan``, ``kelurahan``, ``population`` and optionally
        ``households`` (as from :func:`population_from_csv` or
        :func:`population_from_dukcapil`).
    year, source:
        Written to ``pop_year`` and ``pop_source``.

    Raises
    ------
    InputError
        When two rows match the same kelurahan (population would be double counted).
    """
    result = match_units(
        pop_table, units, level="kelurahan", name="kelurahan", parent_name="kecamatan",
        parent_level="kecamatan",
    )  # fmt: skip
    twice = result.units_matched_twice
    if twice:
        raise InputError(
            f"{len(twice)} kelurahan matched by more than one row, e.g. {twice[0]}",
            where="population table",
            hint="keep one row per kelurahan",
            message_id=f"{len(twice)} kelurahan cocok dengan lebih dari satu baris, mis. "
            f"{twice[0]}",
            hint_id="simpan satu baris per kelurahan",
        )
    out = units.copy()
    by_unit = pop_table.loc[result.matched.index].set_index(result.matched["unit_id"].to_numpy())
    fields = ["population"] + (["households"] if "households" in pop_table.columns else [])
    id_index = pd.Index(out["unit_id"])
    for col in fields:
        values = pd.to_numeric(by_unit[col]).astype("Int64")
        pos = id_index.get_indexer(values.index)
        out.loc[out.index[pos], col] = values.to_numpy()
        for level in ("kecamatan", "kota", "province"):
            if level not in set(out["level"]):
                continue
            summed = rollup(out, values, to_level=level, how="sum", from_level="kelurahan")
            pos = id_index.get_indexer(summed.index)
            out.loc[out.index[pos], col] = summed.astype("Int64").to_numpy()
            if col == "population" and summed.attrs["missing_total"]:
                gaps = summed.attrs["missing"]
                result.notes.append(
                    f"{level}: {len(gaps)} units summed without all kelurahan "
                    f"({summed.attrs['missing_total']} kelurahan without data): "
                    + ", ".join(f"{k} ({v})" for k, v in sorted(gaps.items()))
                )
    levels = out["level"].isin(["kelurahan", "kecamatan", "kota", "province"])
    has = levels & out["population"].notna()
    out.loc[has, "pop_year"] = year
    is_sum = has & (out["level"] != "kelurahan")
    out.loc[has & ~is_sum, "pop_source"] = source
    out.loc[is_sum, "pop_source"] = f"{source} (sum of kelurahan)"
    out["pop_year"] = out["pop_year"].astype("Int64")
    return out, result


def codes_from_bps(folder: Path | None = None) -> pd.DataFrame:
    """The BPS code list of DKI (admin-codes-bps, three CSV files without header).

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` (kota, kecamatan, kelurahan), ``code`` (BPS digits),
        ``parent_code``, ``name`` (as published) and ``parent_name`` (the parent's
        published name); 6 + 44 + 254 rows.
    """
    folder = folder or shared_data_dir() / "jakarta" / "admin-codes-bps"
    parts = []
    for level, stem in (
        ("kota", "dki_regencies_bps"),
        ("kecamatan", "dki_districts_bps"),
        ("kelurahan", "dki_villages_bps"),
    ):
        path = folder / f"{stem}.csv"
        if not path.exists():
            raise NotFoundError(
                f"file not found: {path}",
                where=str(path),
                message_id=f"berkas tidak ditemukan: {path}",
            )
        frame = pd.read_csv(path, header=None, names=["code", "parent_code", "name"], dtype=str)
        bad = [c for c in frame["code"] if parse_code(c).level != level]
        if bad:
            raise ImportError_(
                f"{len(bad)} codes are not {level} codes, e.g. {bad[0]}",
                where=str(path),
                message_id=f"{len(bad)} kode bukan kode {level}, mis. {bad[0]}",
            )
        frame.insert(0, "level", level)
        parts.append(frame)
    codes = pd.concat(parts, ignore_index=True)
    name_of = dict(zip(codes["code"], codes["name"], strict=True))
    codes["parent_name"] = codes["parent_code"].map(name_of)
    return codes


def apply_bps_codes(
    units: gpd.GeoDataFrame, codes: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, MatchResult]:
    """Set ``code_bps`` of kota, kecamatan and kelurahan units by matching names.

    Kota match by name; kecamatan and kelurahan by name with the parent's name to tell
    equal names apart. The province gets the common parent code of the matched kota
    ("31"). Units the BPS list lacks (e.g. MENTENG, SENEN, KLENDER) stay without a code
    and are listed in ``unmatched_units``; a code whose parent code differs from the
    parent unit's code is written in the notes.
    """
    out = units.copy()
    results = []
    for level, parent_level in (("kota", None), ("kecamatan", "kota"), ("kelurahan", "kecamatan")):
        table = codes[codes["level"] == level]
        result = match_units(
            table, out, level=level, name="name",
            parent_name="parent_name" if parent_level else None, parent_level=parent_level,
        )  # fmt: skip
        for uid in result.units_matched_twice:
            result.notes.append(f"{uid} matched by several BPS codes; kept the first")
        first = result.matched[~result.matched["unit_id"].duplicated()]
        code_by_unit = dict(zip(first["unit_id"], table.loc[first.index, "code"], strict=True))
        mask = out["unit_id"].isin(list(code_by_unit))
        out.loc[mask, "code_bps"] = out.loc[mask, "unit_id"].map(code_by_unit)
        results.append(result)
    code_of = dict(zip(out["unit_id"], out["code_bps"], strict=True))
    combined = MatchResult.combine(results)
    for uid, parent, code in zip(out["unit_id"], out["parent_id"], out["code_bps"], strict=True):
        pcode = code_of.get(parent) if isinstance(parent, str) else None
        if isinstance(code, str) and isinstance(pcode, str) and not code.startswith(pcode):
            combined.notes.append(f"{uid}: BPS code {code} is not under its parent's {pcode}")
    kota_codes = {
        parse_code(c).parent for c in out.loc[out["level"] == "kota", "code_bps"].dropna()
    }
    if len(kota_codes) == 1 and (only := kota_codes.pop()) is not None:
        out.loc[out["level"] == "province", "code_bps"] = only.code
    return out, combined
