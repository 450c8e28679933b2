"""Import a file or a frame as a basic-services layer, with the checks of its kind.

The file is read with :func:`tangguh.io.read_vector` (any vector format; a CSV
without coordinates is read as a plain table for kinds whose rows need no geometry:
connections per unit, schedules, desludging records, landfill trips). Columns are
mapped (``rename``), checked and typed by :func:`tangguh.services.model.validate_frame`,
then checked against each other and against the bank:

- **overlapping zones** (``water_zones``, ``sewer_areas``): every pair of zones that
  overlaps by more than ``overlap_tolerance_m2`` (UTM 48S) is listed with both ids and
  the overlap area. The import is **refused** unless ``allow_overlaps=True``; then
  the layer is kept, each overlapping zone gets an ``overlaps`` column
  (``"zone_02 (1.52 ha)"``) and the result carries a ``zone_overlap`` flag per pair.
  Coverage gives a household inside two zones to the first one only.
- **households served > households living there** (``water_connections`` per unit,
  ``water_zones`` and ``sewer_areas`` per zone, against the admin units' households;
  a zone's households are the units' households by the share of each unit's area
  inside it): **kept with a flag** per unit/zone carrying both numbers (coverage
  then counts all households as served), or refused with ``strict=True``.
- unit ids not in the admin units (connections, incidents): refused for
  connections (the rows could not be placed), flagged for incidents.
- missing columns, bad numbers, **bad dates**, an end before its start, duplicate
  keys, geometries of the wrong kind: refused with the rows and field.

A refused import raises :class:`~tangguh.errors.ImportError_` before anything is
written; the write itself is one transaction (``bank.write_layer``). So a failed
import leaves the bank as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.admin.store import ADMIN_LAYER
from tangguh.bank import Bank, LayerMeta, VersionInfo, validate_layer_id
from tangguh.errors import ImportError_
from tangguh.services.access import UTM_CRS, leaf_counts
from tangguh.services.model import (
    Flag,
    LayerKind,
    service_kind,
    split_ids,
    validate_frame,
)

__all__ = [
    "ServiceImport",
    "check_service_frame",
    "import_service_file",
    "import_service_frame",
    "zone_overlaps",
]

_MAX_FLAGS_IN_CATALOGUE = 200


@dataclass
class ServiceImport:
    """The outcome of one service-layer import."""

    kind: str
    layer: str
    rows: int
    version: VersionInfo | None
    flags: list[Flag] = field(default_factory=list)
    report: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layer": self.layer,
            "rows": self.rows,
            "version": self.version.to_json() if self.version else None,
            "flags": [f.to_json() for f in self.flags],
            "report": self.report,
        }


def zone_overlaps(frame: gpd.GeoDataFrame, key: str, *, tolerance_m2: float = 1.0) -> pd.DataFrame:
    """Pairs of polygons that overlap by more than ``tolerance_m2`` square metres.

    Returns
    -------
    pandas.DataFrame
        ``a``, ``b`` (key values, ``a`` < ``b`` by row order), ``area_m2``; ``attrs``
        holds nothing. Shared borders (zero area) are not overlaps.
    """
    geoms = np.asarray(frame.to_crs(UTM_CRS).geometry.values, dtype=object)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    tree = shapely.STRtree(geoms[valid])
    pos = np.flatnonzero(valid)
    i, j = tree.query(geoms[valid], predicate="intersects")
    keep = i < j
    i, j = pos[i[keep]], pos[j[keep]]
    area = shapely.area(shapely.intersection(geoms[i], geoms[j])) if len(i) else np.empty(0)
    big = area > tolerance_m2
    ids = frame[key].astype(str).to_numpy()
    return pd.DataFrame({"a": ids[i[big]], "b": ids[j[big]], "area_m2": area[big]})


def _households_in_zones(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray[Any, Any]:
    """Households living in each zone: leaf households x share of the leaf's area inside."""
    counts = leaf_counts(units)
    by_id = units.set_index(units["unit_id"].astype(str))
    leaf = gpd.GeoSeries(by_id.geometry.reindex(counts.index).to_numpy(), crs="EPSG:4326")
    leaf_m = np.asarray(leaf.to_crs(UTM_CRS).values, dtype=object)
    zone_m = np.asarray(zones.to_crs(UTM_CRS).geometry.values, dtype=object)
    zi, li = shapely.STRtree(leaf_m).query(zone_m, predicate="intersects")
    if len(zi) == 0:
        return np.zeros(len(zones))
    share = shapely.area(shapely.intersection(zone_m[zi], leaf_m[li])) / np.maximum(
        shapely.area(leaf_m[li]), 1e-9
    )
    hh = counts["households"].to_numpy(dtype=float)[li] * share
    return np.bincount(zi, weights=hh, minlength=len(zones))


def _unit_households(units: gpd.GeoDataFrame) -> pd.Series:
    """Households of every unit: leaf households summed up the hierarchy."""
    from tangguh.admin.units import ancestors

    counts = leaf_counts(units)
    anc = ancestors(units).reindex(counts.index)
    out = pd.Series(0.0, index=units["unit_id"].astype(str).to_numpy())
    for level in anc.columns:
        out = out.add(counts["households"].groupby(anc[level].to_numpy()).sum(), fill_value=0.0)
    return out


def check_service_frame(
    kind: str | LayerKind,
    frame: gpd.GeoDataFrame,
    *,
    units: gpd.GeoDataFrame | None = None,
    allow_overlaps: bool = False,
    strict: bool = False,
    overlap_tolerance_m2: float = 1.0,
    source: str = "frame",
) -> tuple[gpd.GeoDataFrame, list[Flag]]:
    """Validate ``frame`` as ``kind`` and run the checks between rows and against units.

    Returns the typed frame (with an ``overlaps`` column when overlaps were allowed)
    and the flags; raises :class:`ImportError_` on anything refused (see the module).
    """
    k = service_kind(kind) if isinstance(kind, str) else kind
    out = validate_frame(k, frame, source=source)
    flags: list[Flag] = []
    if k.kind == "service_incidents":
        out, point_flags = _incident_areas(out, source)
        flags += point_flags
    if k.kind in ("water_zones", "sewer_areas") and len(out):
        pairs = zone_overlaps(out, k.key, tolerance_m2=overlap_tolerance_m2)
        if len(pairs):
            listed = "; ".join(
                f"{a} x {b}: {m2 / 10_000:,.2f} ha"
                for a, b, m2 in pairs.head(10).itertuples(index=False)
            )
            if not allow_overlaps:
                raise ImportError_(
                    f"{k.kind}: {len(pairs)} pair(s) of zones overlap ({listed})",
                    where=f"{source}, field {k.key!r}",
                    hint="fix the zone boundaries so each place is in one zone, or import "
                    "with --allow-overlaps (allow_overlaps=True) to keep them flagged",
                    message_id=f"{k.kind}: {len(pairs)} pasang zona bertampalan ({listed})",
                    hint_id="perbaiki batas zona agar setiap tempat hanya di satu zona, atau "
                    "impor dengan --allow-overlaps (allow_overlaps=True) agar tetap disimpan "
                    "dengan tanda",
                )
            note: dict[str, list[str]] = {}
            for a, b, m2 in pairs.itertuples(index=False):
                flags.append(
                    Flag(
                        "zone_overlap",
                        f"zones {a} and {b} overlap by {m2 / 10_000:,.2f} ha",
                        f"zona {a} dan {b} bertampalan seluas {m2 / 10_000:,.2f} ha",
                        ids=[str(a), str(b)],
                        values={"area_m2": float(m2)},
                    )
                )
                note.setdefault(str(a), []).append(f"{b} ({m2 / 10_000:,.2f} ha)")
                note.setdefault(str(b), []).append(f"{a} ({m2 / 10_000:,.2f} ha)")
            out["overlaps"] = out[k.key].astype(str).map(lambda z: ", ".join(note.get(z, [])))
    if units is not None and len(units):
        flags += _check_units(k, out, units, strict=strict, source=source)
    return out, flags


def _incident_areas(frame: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, list[Flag]]:
    """Incident points become areas: a circle of ``radius_m`` (UTM 48S), or, with
    ``unit_ids``, nothing (the units are the area). A bare point is refused."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    is_point = np.isin(shapely.get_type_id(geoms), [0, 4])
    if not is_point.any():
        return frame, []
    radius = (
        pd.to_numeric(frame["radius_m"], errors="coerce").to_numpy(dtype=float)
        if "radius_m" in frame
        else np.full(len(frame), np.nan)
    )
    has_units = (
        split_ids(frame["unit_ids"]).map(len).to_numpy() > 0
        if "unit_ids" in frame
        else np.zeros(len(frame), dtype=bool)
    )
    circle = is_point & np.isfinite(radius) & (radius > 0)
    bare = np.flatnonzero(is_point & ~circle & ~has_units)
    if len(bare):
        rows = ", ".join(str(frame.index[r]) for r in bare[:10])
        raise ImportError_(
            f"service_incidents: {len(bare)} incident(s) are points without radius_m or "
            "unit_ids, so their affected area is unknown",
            where=f"{source}, row {rows}",
            hint="draw the affected area as a polygon, give radius_m (metres) or list the "
            "affected unit_ids",
            message_id=f"service_incidents: {len(bare)} gangguan berupa titik tanpa radius_m "
            "atau unit_ids, sehingga area terdampaknya tidak diketahui",
            hint_id="gambar area terdampak sebagai poligon, berikan radius_m (meter) atau "
            "sebutkan unit_ids yang terdampak",
        )
    out = frame.copy()
    geoms = geoms.copy()
    if circle.any():
        utm = gpd.GeoSeries(geoms[circle], crs=frame.crs or "EPSG:4326").to_crs(UTM_CRS)
        geoms[circle] = np.asarray(
            utm.buffer(radius[circle], quad_segs=16).to_crs(frame.crs or "EPSG:4326").values,
            dtype=object,
        )
    flags: list[Flag] = []
    by_units = np.flatnonzero(is_point & ~circle)
    if len(by_units):
        geoms[by_units] = None
        flags.append(
            Flag(
                "incident_point_dropped",
                f"{len(by_units)} incident point(s) without radius_m use their unit_ids as "
                "the affected area; the point was not kept",
                f"{len(by_units)} titik gangguan tanpa radius_m memakai unit_ids sebagai area "
                "terdampak; titiknya tidak disimpan",
                ids=[str(v) for v in frame["incident_id"].to_numpy()[by_units]],
            )
        )
    out = out.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return out, flags


def _over(code: str, ident: str, served: float, living: float) -> Flag:
    return Flag(
        code,
        f"{ident}: {served:,.0f} households served > {living:,.0f} households living there",
        f"{ident}: {served:,.0f} rumah tangga terlayani > {living:,.0f} rumah tangga yang "
        "tinggal di sana",
        ids=[ident],
        values={"households_served": float(served), "households_living": float(living)},
    )


def _check_units(
    k: LayerKind, frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, strict: bool, source: str
) -> list[Flag]:
    flags: list[Flag] = []
    known = set(units["unit_id"].astype(str))
    if k.kind == "water_connections":
        ids = frame["unit_id"].astype(str)
        unknown = sorted(set(ids) - known)
        if unknown:
            rows = np.flatnonzero(~ids.isin(known).to_numpy())
            raise ImportError_(
                f"water_connections: {len(unknown)} unit_id(s) are not admin units "
                f"(first: {unknown[0]!r})",
                where=f"{source}, row {', '.join(str(frame.index[r]) for r in rows[:10])}, "
                "field 'unit_id'",
                hint="use the unit_id of the bank's admin units (`tangguh admin units`)",
                message_id=f"water_connections: {len(unknown)} unit_id bukan unit wilayah "
                f"(pertama: {unknown[0]!r})",
                hint_id="gunakan unit_id dari unit wilayah di bank data (`tangguh admin units`)",
            )
        living = _unit_households(units)
        served = pd.to_numeric(frame["households_served"], errors="coerce").groupby(
            ids.to_numpy()
        ).sum()  # fmt: skip
        for unit in served.index:
            if served[unit] > living.get(unit, 0.0) + 0.5:
                flags.append(_over("households_over", str(unit), served[unit], living[unit]))
    elif k.kind in ("water_zones", "sewer_areas"):
        col = "households_served" if k.kind == "water_zones" else "households_connected"
        if col in frame and frame[col].notna().any():
            in_zone = _households_in_zones(units, frame)
            zone_served = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            zone_ids = frame[k.key].astype(str).to_numpy()
            for i in np.flatnonzero(zone_served > in_zone + 0.5):
                flags.append(_over("households_over", str(zone_ids[i]), zone_served[i], in_zone[i]))
    elif k.kind == "service_incidents" and "unit_ids" in frame:
        named = {u for lst in split_ids(frame["unit_ids"]) for u in lst}
        unknown = sorted(named - known)
        if unknown:
            flags.append(
                Flag(
                    "unknown_unit",
                    f"{len(unknown)} unit_ids of incidents are not admin units (ignored): "
                    f"{', '.join(unknown[:10])}",
                    f"{len(unknown)} unit_ids gangguan bukan unit wilayah (diabaikan): "
                    f"{', '.join(unknown[:10])}",
                    ids=unknown,
                )
            )
    over = [f for f in flags if f.code == "households_over"]
    if strict and over:
        listed = "; ".join(
            f"{f.ids[0]}: {f.values['households_served']:,.0f} > "
            f"{f.values['households_living']:,.0f}"
            for f in over[:10]
        )
        raise ImportError_(
            f"{k.kind}: households served exceed households living there in {len(over)} "
            f"unit(s)/zone(s) ({listed})",
            where=f"{source}, field "
            + ("'households_connected'" if k.kind == "sewer_areas" else "'households_served'"),
            hint="check the figures and their year against the admin units' households, or "
            "import without --strict to keep them flagged",
            message_id=f"{k.kind}: rumah tangga terlayani melebihi rumah tangga yang tinggal di "
            f"{len(over)} wilayah/zona ({listed})",
            hint_id="periksa angka dan tahunnya terhadap jumlah rumah tangga unit wilayah, atau "
            "impor tanpa --strict agar tetap disimpan dengan tanda",
        )
    return flags


def import_service_frame(
    bank: Bank,
    frame: gpd.GeoDataFrame,
    kind: str,
    *,
    layer_id: str | None = None,
    allow_overlaps: bool = False,
    strict: bool = False,
    overlap_tolerance_m2: float = 1.0,
    meta: LayerMeta | None = None,
    author: str | None = None,
    message: str | None = None,
    source: str = "frame",
    report: dict[str, Any] | None = None,
) -> ServiceImport:
    """Check ``frame`` as ``kind`` and write it as a new version of its layer.

    Parameters
    ----------
    bank:
        Target bank; its admin units (when present) are used for the household checks.
    frame:
        Rows with the kind's column names (EPSG:4326 or any CRS set on the frame).
    kind:
        A kind of :data:`tangguh.services.model.KINDS`.
    layer_id:
        Layer to write (default: the kind's ``svc_…`` id).
    allow_overlaps, strict, overlap_tolerance_m2:
        See the module docstring.
    meta:
        Catalogue metadata; ``theme`` becomes ``services`` and ``extra`` records
        ``service_kind`` and the flags, so coverage finds the layer by kind.
    """
    k = service_kind(kind)
    layer = validate_layer_id(layer_id or k.layer_id)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    units = bank.read_layer(ADMIN_LAYER) if bank.has_layer(ADMIN_LAYER) else None
    checked, flags = check_service_frame(
        k,
        frame,
        units=units,
        allow_overlaps=allow_overlaps,
        strict=strict,
        overlap_tolerance_m2=overlap_tolerance_m2,
        source=source,
    )
    if units is None:
        flags.append(
            Flag(
                "units_not_checked",
                "the bank has no admin units: households were not checked",
                "bank data tidak memiliki unit wilayah: jumlah rumah tangga tidak diperiksa",
            )
        )
    meta = meta or LayerMeta()
    if meta.theme == "other":
        meta.theme = "services"
    meta.title_en = meta.title_en or k.title_en
    meta.title_id = meta.title_id or k.title_id
    meta.extra = {
        **meta.extra,
        "service_kind": k.kind,
        "flags": [f.to_json() for f in flags[:_MAX_FLAGS_IN_CATALOGUE]],
        "flag_count": len(flags),
    }
    checked = checked.reset_index(drop=True)
    version = bank.write_layer(
        layer, checked, meta, key=k.key, author=author, message=message or f"{k.kind} import"
    )
    return ServiceImport(
        kind=k.kind, layer=layer, rows=len(checked), version=version, flags=flags, report=report
    )


def _read_table(path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    with path.open("rb") as fh:
        head = fh.readline()
    sep = max((",", ";", "\t", "|"), key=lambda s: head.count(s.encode()))
    try:
        table = pd.read_csv(
            path, sep=sep, encoding=encoding or "utf-8-sig", dtype=str, keep_default_na=False
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportError_(
            f"cannot read {path.name} as a CSV table: {exc}",
            where=str(path),
            hint="save it as UTF-8 CSV with one header line (or pass --encoding)",
            message_id=f"{path.name} tidak dapat dibaca sebagai tabel CSV: {exc}",
            hint_id="simpan sebagai CSV UTF-8 dengan satu baris judul (atau berikan --encoding)",
        ) from exc
    if table.empty:
        raise ImportError_(
            f"{path.name} has no rows",
            where=str(path),
            hint="check that you exported the right table",
            message_id=f"{path.name} tidak memiliki baris",
            hint_id="periksa bahwa tabel yang diekspor sudah benar",
        )
    table = table.replace("", None)
    table.columns = [str(c).strip() for c in table.columns]
    return gpd.GeoDataFrame(table, geometry=[None] * len(table), crs="EPSG:4326")


def import_service_file(
    bank: Bank,
    path: str | Path,
    kind: str,
    *,
    layer_id: str | None = None,
    rename: Mapping[str, str] | None = None,
    mapping: str | Path | None = None,
    source_layer: str | None = None,
    crs: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    wkt: str | None = None,
    encoding: str | None = None,
    allow_overlaps: bool = False,
    strict: bool = False,
    overlap_tolerance_m2: float = 1.0,
    meta: LayerMeta | None = None,
    author: str | None = None,
    message: str | None = None,
) -> ServiceImport:
    """Read a file and import it as ``kind`` (see :func:`import_service_frame`).

    ``rename`` maps source column names to the kind's names (applied before the
    checks); ``mapping`` is a TOML/JSON file of :func:`tangguh.io.read_vector` options
    (its ``rename`` table is merged with ``rename``).
    """
    from tangguh.io import load_mapping, read_vector
    from tangguh.io.vector import LAT_NAMES, LON_NAMES, WKT_NAMES

    k = service_kind(kind)
    path = Path(path)
    options: dict[str, Any] = load_mapping(mapping) if mapping else {}
    renames = {**options.pop("rename", {}), **dict(rename or {})}
    table_csv = False
    if path.suffix.lower() == ".csv" and path.is_file() and k.geometry == "optional":
        with path.open("rb") as fh:
            header = fh.readline().decode("utf-8-sig", errors="replace").lower()
        names = {c.strip().strip('"') for c in header.replace(";", ",").replace("\t", ",")
                 .split(",")}  # fmt: skip
        table_csv = (lon is None and lat is None and wkt is None) and not (
            (names & set(LON_NAMES) and names & set(LAT_NAMES)) or names & set(WKT_NAMES)
        )
    report: dict[str, Any] | None = None
    if table_csv:
        frame = _read_table(path, encoding or options.get("encoding"))
        missing = [old for old in renames if old not in frame.columns]
        if missing:
            raise ImportError_(
                f"rename names column(s) not in the file: {', '.join(missing)}",
                where=str(path),
                hint=f"columns are: {', '.join(map(str, frame.columns[:-1]))}",
                message_id=f"rename menyebut kolom yang tidak ada di berkas: {', '.join(missing)}",
                hint_id=f"kolom yang ada: {', '.join(map(str, frame.columns[:-1]))}",
            )
        frame = frame.rename(columns=renames)
    else:
        for opt, value in (
            ("layer", source_layer),
            ("crs", crs),
            ("lon", lon),
            ("lat", lat),
            ("wkt", wkt),
            ("encoding", encoding),
        ):
            if value is not None:
                options[opt] = value
        frame, rep = read_vector(path, rename=renames or None, **options)
        report = rep.to_json()
    meta = meta or LayerMeta()
    meta.source = meta.source or str(path)
    return import_service_frame(
        bank,
        frame,
        k.kind,
        layer_id=layer_id,
        allow_overlaps=allow_overlaps,
        strict=strict,
        overlap_tolerance_m2=overlap_tolerance_m2,
        meta=meta,
        author=author,
        message=message,
        source=str(path),
        report=report,
    )
