"""Service layer kinds: what each basic-services layer holds and how it is checked.

A *kind* (``water_zones``, ``tps``, ``service_incidents`` …) names one sort of
basic-services data. Each kind has a default layer id with the ``svc_`` prefix, older
or demo layer ids it also answers to (``water_service_zones``, ``tps``), the geometry
it expects, a key column, and typed columns that are required or optional, with
ranges and allowed values. Everything is data (:data:`KINDS`), so the CLI
(``tangguh services layers``), the importers and the docs read the same table.

:func:`validate_frame` applies a kind to a frame: it finds the required columns,
casts every known column to its type (refusing values that cannot be read, with the
rows), checks ranges, allowed values and start/end order, and checks the geometry
family. Relations between rows and other layers (overlapping zones, households served
above households living) are checked by :mod:`tangguh.services.importers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.errors import ImportError_, InputError

__all__ = [
    "INCIDENT_TYPES",
    "KINDS",
    "SANITATION_TYPES",
    "WATER_SOURCE_TYPES",
    "ColumnType",
    "Flag",
    "GeometryKind",
    "LayerKind",
    "ServiceColumn",
    "kind_for_layer",
    "kinds_table",
    "layer_candidates",
    "service_kind",
    "split_ids",
    "validate_frame",
]

ColumnType = Literal["str", "int", "float", "bool", "date", "datetime"]
GeometryKind = Literal["point", "line", "polygon", "area", "optional"]

_SHOWN = 10  # row numbers shown in one message
_ZONED = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_TRUE = {"1", "true", "t", "yes", "y", "ya", "benar"}
_FALSE = {"0", "false", "f", "no", "n", "tidak", "salah"}
#: Geometry families accepted for each GeometryKind (shapely type ids, Multi* included).
_FAMILIES: dict[str, set[int]] = {
    "point": {0, 4},
    "line": {1, 5},
    "polygon": {3, 6},
    "area": {0, 3, 4, 6},  # incidents: affected polygons, or a point (with radius_m)
}


@dataclass(frozen=True)
class ServiceColumn:
    """One column of a service layer kind.

    Attributes
    ----------
    name:
        Column name in the bank (after any mapping of the source's names).
    type:
        ``str``, ``int``, ``float``, ``bool``, ``date`` (calendar day) or
        ``datetime`` (an instant; values without a zone are read as WIB, UTC+7).
    required:
        The import is refused when the column is missing or a value is empty.
    min, max:
        Inclusive bounds of numeric values.
    choices:
        Allowed values of a text column (compared in lower case).
    en, id:
        What the column means, in English and Bahasa Indonesia.
    """

    name: str
    type: ColumnType
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    en: str = ""
    id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices else None,
            "en": self.en,
            "id": self.id,
        }


@dataclass(frozen=True)
class LayerKind:
    """One kind of basic-services layer.

    Attributes
    ----------
    kind:
        Name of the kind (``water_zones``).
    layer_id:
        Default layer id in the bank (``svc_water_zones``).
    aliases:
        Other layer ids read as this kind when the default is absent (the demo's
        ``water_service_zones`` and ``tps``).
    geometry:
        ``point``, ``line``, ``polygon``, ``area`` (polygons or points) or
        ``optional`` (a table: rows may have no geometry).
    key:
        Column that identifies a row across versions.
    columns:
        The known columns; other columns of a file are kept as they are.
    sector:
        ``water``, ``sanitation``, ``waste`` or ``incidents``.
    """

    kind: str
    layer_id: str
    geometry: GeometryKind
    key: str
    columns: tuple[ServiceColumn, ...]
    sector: str
    title_en: str
    title_id: str
    aliases: tuple[str, ...] = ()
    starts_ends: tuple[str, str] | None = None

    def column(self, name: str) -> ServiceColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "layer_id": self.layer_id,
            "aliases": list(self.aliases),
            "geometry": self.geometry,
            "key": self.key,
            "sector": self.sector,
            "title_en": self.title_en,
            "title_id": self.title_id,
            "columns": [c.to_json() for c in self.columns],
        }


@dataclass
class Flag:
    """A data problem that was kept, not refused (or the detail of a refusal).

    ``code`` is stable (``zone_overlap``, ``households_over``, ``sources_over``,
    ``sanitation_over``, ``desludging_unknown_tank`` …); ``ids`` names the rows or units
    involved; ``values`` carries the numbers (both households counts, an overlap area).
    """

    code: str
    message: str
    message_id: str
    ids: list[str] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "message_id": self.message_id,
            "ids": list(self.ids),
            "values": dict(self.values),
        }


def _c(
    name: str,
    type_: ColumnType,
    en: str,
    id_: str,
    *,
    required: bool = False,
    min: float | None = None,
    max: float | None = None,
    choices: Sequence[str] | None = None,
) -> ServiceColumn:
    return ServiceColumn(
        name, type_, required, min, max, tuple(choices) if choices else None, en, id_
    )


_STATUS = ("active", "inactive", "planned", "damaged")
#: Water source types and their JMP meaning (see tangguh.services.jmp).
WATER_SOURCE_TYPES = (
    "borehole",  # sumur bor: improved
    "well_protected",  # sumur gali terlindung: improved
    "well_unprotected",  # sumur gali tidak terlindung: unimproved
    "spring_protected",
    "spring_unprotected",
    "kiosk",  # kios air / depot: improved (delivered water)
    "hydrant",  # hidran umum / terminal air: improved (public tap)
    "tanker",  # mobil tangki: improved (delivered water)
    "rainwater",
    "packaged",  # air kemasan / isi ulang
    "surface",  # river, canal, pond
)
SANITATION_TYPES = (
    "septic_tank",  # tangki septik (on-site, emptied by desludging)
    "communal_plant",  # IPAL komunal: household toilets piped to a small plant
    "shared_toilet",  # MCK: toilet block shared by households
    "pit_slab",  # pit latrine with slab
    "pit_no_slab",  # cubluk: pit without slab
    "hanging",  # toilet over a river or drain (helikopter)
    "open",  # no facility: open defecation
)
INCIDENT_TYPES = (
    "water_cut",
    "pipe_burst",
    "low_pressure",
    "dirty_water",
    "tps_overflow",
    "sewer_overflow",
    "other",
)

#: Every service layer kind, by name.
KINDS: dict[str, LayerKind] = {
    k.kind: k
    for k in (
        LayerKind(
            "water_network", "svc_water_pipes", "line", "pipe_id",
            (
                _c("pipe_id", "str", "pipe id", "id pipa", required=True),
                _c("diameter_mm", "float", "inner diameter (mm)", "diameter dalam (mm)",
                   min=10, max=5000),
                _c("material", "str", "pipe material", "bahan pipa"),
                _c("operator", "str", "water operator", "operator air"),
                _c("install_year", "int", "year laid", "tahun dipasang", min=1850, max=2100),
                _c("status", "str", "status", "status", choices=_STATUS),
            ),
            "water", "Piped-water network", "Jaringan pipa air",
        ),
        LayerKind(
            "water_zones", "svc_water_zones", "polygon", "zone_id",
            (
                _c("zone_id", "str", "zone id", "id zona", required=True),
                _c("name", "str", "zone name", "nama zona"),
                _c("operator", "str", "water operator", "operator air"),
                _c("households_served", "int", "households with a connection in the zone",
                   "rumah tangga tersambung di zona", min=0),
                _c("coverage_pct", "float", "share of households connected (%)",
                   "persentase rumah tangga tersambung", min=0, max=100),
                _c("quality_ok", "bool", "water meets quality standards (Permenkes)",
                   "kualitas air memenuhi baku mutu (Permenkes)"),
            ),
            "water", "Piped-water service zones", "Zona layanan air perpipaan",
            aliases=("water_service_zones",),
        ),
        LayerKind(
            "water_connections", "svc_water_connections", "optional", "unit_id",
            (
                _c("unit_id", "str", "admin unit (RW or kelurahan) unit_id",
                   "unit_id wilayah (RW atau kelurahan)", required=True),
                _c("households_served", "int", "households with a piped connection",
                   "rumah tangga dengan sambungan perpipaan", required=True, min=0),
                _c("connections", "int", "number of connections (meters)",
                   "jumlah sambungan (meter)", min=0),
                _c("operator", "str", "water operator", "operator air"),
                _c("year", "int", "year of the figures", "tahun data", min=1900, max=2100),
            ),
            "water", "Piped-water connections per unit", "Sambungan air perpipaan per wilayah",
        ),
        LayerKind(
            "water_sources", "svc_water_sources", "point", "source_id",
            (
                _c("source_id", "str", "source id", "id sumber", required=True),
                _c("type", "str", "source type", "jenis sumber", required=True,
                   choices=WATER_SOURCE_TYPES),
                _c("households", "int", "households using it as main source",
                   "rumah tangga pengguna (sumber utama)", min=0),
                _c("round_trip_min", "float", "collection time, round trip incl. queue (min)",
                   "waktu ambil air pulang-pergi termasuk antre (menit)", min=0, max=1440),
                _c("on_premises", "bool", "on the household's premises", "di dalam pekarangan"),
                _c("name", "str", "name", "nama"),
                _c("status", "str", "status", "status", choices=_STATUS),
            ),
            "water", "Alternative water sources (wells, kiosks, hydrants)",
            "Sumber air alternatif (sumur, kios air, hidran)",
        ),
        LayerKind(
            "sewer_network", "svc_sewer_pipes", "line", "pipe_id",
            (
                _c("pipe_id", "str", "pipe id", "id pipa", required=True),
                _c("diameter_mm", "float", "diameter (mm)", "diameter (mm)", min=10, max=5000),
                _c("status", "str", "status", "status", choices=_STATUS),
            ),
            "sanitation", "Sewer network", "Jaringan perpipaan air limbah",
        ),
        LayerKind(
            "sewer_areas", "svc_sewer_areas", "polygon", "area_id",
            (
                _c("area_id", "str", "service area id", "id area layanan", required=True),
                _c("plant", "str", "treatment plant (IPAL)", "instalasi pengolahan (IPAL)"),
                _c("households_connected", "int", "households connected to the sewer",
                   "rumah tangga tersambung ke perpipaan limbah", min=0),
                _c("coverage_pct", "float", "share of households connected (%)",
                   "persentase rumah tangga tersambung", min=0, max=100),
            ),
            "sanitation", "Treatment-plant service areas", "Area layanan IPAL",
        ),
        LayerKind(
            "septic_tanks", "svc_septic_tanks", "point", "tank_id",
            (
                _c("tank_id", "str", "tank or facility id", "id tangki atau fasilitas",
                   required=True),
                _c("type", "str", "facility type", "jenis fasilitas", required=True,
                   choices=SANITATION_TYPES),
                _c("households", "int", "households using it", "rumah tangga pengguna", min=0),
                _c("shared", "bool", "toilet shared by two or more households",
                   "toilet dipakai bersama dua rumah tangga atau lebih"),
                _c("unit_id", "str", "admin unit unit_id", "unit_id wilayah"),
                _c("built_year", "int", "year built", "tahun dibangun", min=1900, max=2100),
            ),
            "sanitation", "Septic tanks and toilets", "Tangki septik dan jamban",
        ),
        LayerKind(
            "desludging", "svc_desludging", "optional", "record_id",
            (
                _c("record_id", "str", "record id", "id catatan", required=True),
                _c("tank_id", "str", "septic tank emptied", "tangki septik yang disedot",
                   required=True),
                _c("date", "date", "date emptied", "tanggal penyedotan", required=True),
                _c("volume_m3", "float", "sludge volume (m³)", "volume lumpur (m³)", min=0,
                   max=100),
                _c("destination", "str", "where the sludge went (IPLT)", "tujuan lumpur (IPLT)"),
                _c("treated", "bool", "delivered to a treatment plant", "dibawa ke IPLT"),
            ),
            "sanitation", "Desludging records", "Catatan penyedotan lumpur tinja",
        ),
        LayerKind(
            "tps", "svc_tps", "point", "tps_id",
            (
                _c("tps_id", "str", "TPS id", "id TPS", required=True),
                _c("name", "str", "name", "nama"),
                _c("capacity_m3", "float", "capacity (m³)", "kapasitas (m³)", min=0, max=10000),
                _c("unit_id", "str", "admin unit unit_id", "unit_id wilayah"),
            ),
            "waste", "Waste collection points (TPS)", "Tempat penampungan sementara (TPS)",
            aliases=("tps",),
        ),
        LayerKind(
            "waste_schedules", "svc_waste_schedules", "optional", "tps_id",
            (
                _c("tps_id", "str", "TPS id", "id TPS", required=True),
                _c("days", "str", "collection days, e.g. mon,wed,fri",
                   "hari pengangkutan, mis. sen,rab,jum"),
                _c("per_week", "float", "collections per week", "pengangkutan per minggu",
                   min=0, max=21),
            ),
            "waste", "Waste collection schedules", "Jadwal pengangkutan sampah",
        ),
        LayerKind(
            "waste_routes", "svc_waste_routes", "line", "route_id",
            (
                _c("route_id", "str", "route id", "id rute", required=True),
                _c("tps_ids", "str", "TPS served, comma separated", "TPS yang dilayani, koma"),
                _c("vehicle", "str", "vehicle", "kendaraan"),
                _c("per_week", "float", "trips per week", "ritase per minggu", min=0, max=50),
            ),
            "waste", "Waste collection routes", "Rute pengangkutan sampah",
        ),
        LayerKind(
            "landfill_trips", "svc_landfill_trips", "optional", "trip_id",
            (
                _c("trip_id", "str", "trip id", "id ritase", required=True),
                _c("date", "datetime", "arrival at the landfill", "tiba di TPA/TPST",
                   required=True),
                _c("tonnes", "float", "waste weighed (t)", "berat sampah (ton)", required=True,
                   min=0, max=100),
                _c("route_id", "str", "route id", "id rute"),
                _c("vehicle", "str", "vehicle", "kendaraan"),
                _c("landfill", "str", "landfill (e.g. TPST Bantargebang)",
                   "TPA/TPST (mis. TPST Bantargebang)"),
            ),
            "waste", "Trips to the landfill", "Ritase ke TPA/TPST",
        ),
        LayerKind(
            "service_incidents", "svc_incidents", "area", "incident_id",
            (
                _c("incident_id", "str", "incident id", "id gangguan", required=True),
                _c("type", "str", "incident type", "jenis gangguan", required=True,
                   choices=INCIDENT_TYPES),
                _c("start", "datetime", "start (WIB if no zone)", "mulai (WIB bila tanpa zona)",
                   required=True),
                _c("end", "datetime", "end; empty while open", "selesai; kosong selama terbuka"),
                _c("unit_ids", "str", "affected unit_ids, comma separated",
                   "unit_id terdampak, dipisah koma"),
                _c("radius_m", "float", "affected radius around a point (m)",
                   "radius terdampak di sekitar titik (m)", min=0, max=50000),
                _c("households_affected", "int", "households affected, if counted",
                   "rumah tangga terdampak, bila dihitung", min=0),
                _c("description", "str", "description", "uraian"),
            ),
            "incidents", "Service incidents (water cut, pipe burst, TPS overflow)",
            "Gangguan layanan (air mati, pipa pecah, TPS meluap)",
            starts_ends=("start", "end"),
        ),
    )
}  # fmt: skip


def service_kind(kind: str) -> LayerKind:
    """The :class:`LayerKind` called ``kind``, or an InputError listing the kinds."""
    found = KINDS.get(kind)
    if found is None:
        raise InputError(
            f"unknown service layer kind {kind!r}",
            where="kind",
            hint=f"use one of: {', '.join(KINDS)} (`tangguh services layers` lists them)",
            message_id=f"jenis lapisan layanan {kind!r} tidak dikenal",
            hint_id=f"gunakan salah satu: {', '.join(KINDS)} (`tangguh services layers` "
            "menampilkan daftarnya)",
        )
    return found


def layer_candidates(kind: str) -> tuple[str, ...]:
    """Layer ids read as ``kind``, in order: the default id, then the aliases."""
    k = service_kind(kind)
    return (k.layer_id, *k.aliases)


def kind_for_layer(layer_id: str) -> LayerKind | None:
    """The kind whose default id or alias is ``layer_id`` (None if none)."""
    for k in KINDS.values():
        if layer_id == k.layer_id or layer_id in k.aliases:
            return k
    return None


def _rows(rows: np.ndarray[Any, Any], index: pd.Index) -> str:
    labels = [str(index[r]) for r in rows[:_SHOWN]]
    more = f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
    return ", ".join(labels) + more


def _blank(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return values.isna() | text.isna() | (text == "")


def _cast(
    values: pd.Series, col: ServiceColumn, source: str, zone: str
) -> tuple[pd.Series, np.ndarray[Any, Any]]:
    """Values as ``col.type`` and the rows that could not be read (not blank, not valid)."""
    blank = _blank(values).to_numpy()
    if col.type == "str":
        out = values.astype("string").str.strip().where(~blank, None).astype(object)
        return out, np.empty(0, dtype=np.intp)
    if col.type in ("int", "float"):
        num = pd.to_numeric(values.where(~blank), errors="coerce")
        bad = np.flatnonzero(num.isna().to_numpy() & ~blank)
        if col.type == "int":
            frac = num.notna() & (num != np.floor(num.fillna(0)))
            bad = np.union1d(bad, np.flatnonzero(frac.to_numpy()))
            return num.round().astype("Int64"), bad
        return num.astype("float64"), bad
    if col.type == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.astype("boolean"), np.empty(0, dtype=np.intp)
        text = values.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False).to_numpy()] = True
        out[text.isin(_FALSE).fillna(False).to_numpy()] = False
        bad = np.flatnonzero(out.isna().to_numpy() & ~blank)
        return out, bad
    # date / datetime
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed_ok = pd.Series(values, index=values.index)
        if col.type == "datetime" and getattr(parsed_ok.dt, "tz", None) is None:
            parsed_ok = parsed_ok.dt.tz_localize(zone)
    else:
        text = values.astype("string").str.strip().where(~blank, None)
        # Values with their own zone are read as such, the others in ``zone``.
        aware = text.str.contains(_ZONED, regex=True).fillna(False).to_numpy(dtype=bool)
        naive = pd.to_datetime(text.where(~aware, None), errors="coerce", format="mixed")
        if col.type == "datetime":
            naive = naive.dt.tz_localize(zone).dt.tz_convert("UTC")
        parsed_ok = naive
        if aware.any():
            zoned = pd.to_datetime(text.where(aware, None), errors="coerce", format="mixed",
                                   utc=True)  # fmt: skip
            if col.type == "date":
                zoned = zoned.dt.tz_convert(zone).dt.tz_localize(None)
            parsed_ok = zoned.where(aware, naive)
    bad = np.flatnonzero(parsed_ok.isna().to_numpy() & ~blank)
    if col.type == "date":
        if getattr(parsed_ok.dt, "tz", None) is not None:
            parsed_ok = parsed_ok.dt.tz_convert(zone).dt.tz_localize(None)
        return parsed_ok.dt.normalize().astype("datetime64[us]"), bad
    if getattr(parsed_ok.dt, "tz", None) is None:
        parsed_ok = parsed_ok.dt.tz_localize(zone)
    return parsed_ok.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), bad


def validate_frame(
    kind: str | LayerKind,
    frame: gpd.GeoDataFrame,
    *,
    source: str = "frame",
    zone: str = "Asia/Jakarta",
) -> gpd.GeoDataFrame:
    """Check ``frame`` against a kind and return it with typed columns.

    Parameters
    ----------
    kind:
        A kind name or :class:`LayerKind`.
    frame:
        The rows (column names already mapped to the kind's names). Its index is used
        for row numbers in messages (``read_vector`` gives 0-based source rows).
    source:
        File or layer name for the ``where`` of errors.
    zone:
        Time zone of ``datetime`` values given without one (default WIB).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the kind's columns cast to their types (``date`` as naive
        midnight, ``datetime`` as UTC instants), text choices in lower case.

    Raises
    ------
    ImportError_
        Missing required columns or values, values that cannot be read as their type
        (bad numbers, bad dates), values out of range or not among the choices, an end
        before its start, duplicate keys, or geometries of the wrong kind.
    """
    k = service_kind(kind) if isinstance(kind, str) else kind
    out = frame.copy()
    missing = [c for c in k.required if c not in out.columns]
    if missing:
        cols = ", ".join(map(str, (c for c in out.columns if c != out.geometry.name)))
        raise ImportError_(
            f"{k.kind}: missing required column(s) {', '.join(missing)}",
            where=f"{source}, columns: {cols}",
            hint="rename the source's columns to these names (--rename OLD=NEW or a mapping "
            "file); `tangguh services layers` lists each kind's columns",
            message_id=f"{k.kind}: kolom wajib tidak ada: {', '.join(missing)}",
            hint_id="ganti nama kolom sumber ke nama ini (--rename LAMA=BARU atau berkas "
            "pemetaan); `tangguh services layers` menampilkan kolom setiap jenis",
        )
    for col in k.columns:
        if col.name not in out.columns:
            continue
        values, bad = _cast(out[col.name], col, source, zone)
        if len(bad):
            first = out[col.name].iloc[bad[0]]
            what = "a date" if col.type in ("date", "datetime") else f"of type {col.type}"
            what_id = "tanggal" if col.type in ("date", "datetime") else f"bertipe {col.type}"
            raise ImportError_(
                f"{k.kind}: {len(bad)} value(s) of {col.name!r} are not {what} (first: {first!r})",
                where=f"{source}, row {_rows(bad, out.index)}, field {col.name!r}",
                hint="write dates as YYYY-MM-DD (times as YYYY-MM-DDTHH:MM, WIB unless a "
                "zone is given), numbers with a dot, booleans as true/false",
                message_id=f"{k.kind}: {len(bad)} nilai {col.name!r} bukan {what_id} "
                f"(pertama: {first!r})",
                hint_id="tulis tanggal sebagai YYYY-MM-DD (waktu YYYY-MM-DDTHH:MM, WIB kecuali "
                "zona disebut), angka dengan titik, boolean sebagai true/false",
            )
        if col.required:
            empty = np.flatnonzero(pd.isna(values).to_numpy())
            if len(empty):
                raise ImportError_(
                    f"{k.kind}: {len(empty)} row(s) have no {col.name!r}",
                    where=f"{source}, row {_rows(empty, out.index)}, field {col.name!r}",
                    hint="fill in the value or remove those rows",
                    message_id=f"{k.kind}: {len(empty)} baris tidak memiliki {col.name!r}",
                    hint_id="isi nilainya atau hapus baris tersebut",
                )
        if col.choices is not None:
            values = values.str.lower() if len(values) else values
            bad_choice = np.flatnonzero(
                (values.notna() & ~values.isin(col.choices)).to_numpy(dtype=bool)
            )
            if len(bad_choice):
                raise ImportError_(
                    f"{k.kind}: {len(bad_choice)} value(s) of {col.name!r} are not known "
                    f"(first: {values.iloc[bad_choice[0]]!r})",
                    where=f"{source}, row {_rows(bad_choice, out.index)}, field {col.name!r}",
                    hint=f"use one of: {', '.join(col.choices)}",
                    message_id=f"{k.kind}: {len(bad_choice)} nilai {col.name!r} tidak dikenal "
                    f"(pertama: {values.iloc[bad_choice[0]]!r})",
                    hint_id=f"gunakan salah satu: {', '.join(col.choices)}",
                )
        if col.min is not None or col.max is not None:
            num = pd.to_numeric(values, errors="coerce").astype("float64")
            low = num < col.min if col.min is not None else num != num
            high = num > col.max if col.max is not None else num != num
            out_range = np.flatnonzero((low | high).fillna(False).to_numpy(dtype=bool))
            if len(out_range):
                raise ImportError_(
                    f"{k.kind}: {len(out_range)} value(s) of {col.name!r} are outside "
                    f"[{col.min}, {col.max}] (first: {num.iloc[out_range[0]]})",
                    where=f"{source}, row {_rows(out_range, out.index)}, field {col.name!r}",
                    hint="correct the values (check the unit of the column)",
                    message_id=f"{k.kind}: {len(out_range)} nilai {col.name!r} di luar "
                    f"[{col.min}, {col.max}] (pertama: {num.iloc[out_range[0]]})",
                    hint_id="perbaiki nilainya (periksa satuan kolom)",
                )
        out[col.name] = values
    dup: np.ndarray[Any, Any] = (
        np.flatnonzero(out[k.key].duplicated(keep=False).to_numpy())
        if k.key in out
        else np.empty(0, dtype=np.intp)
    )
    if len(dup):
        raise ImportError_(
            f"{k.kind}: {len(dup)} rows share a {k.key!r} (first: {out[k.key].iloc[dup[0]]!r})",
            where=f"{source}, row {_rows(np.asarray(dup), out.index)}, field {k.key!r}",
            hint=f"give every row its own {k.key}",
            message_id=f"{k.kind}: {len(dup)} baris memakai {k.key!r} yang sama "
            f"(pertama: {out[k.key].iloc[dup[0]]!r})",
            hint_id=f"beri setiap baris {k.key} sendiri",
        )
    if k.starts_ends is not None:
        s, e = k.starts_ends
        if s in out.columns and e in out.columns:
            before = np.flatnonzero((out[e] < out[s]).fillna(False).to_numpy(dtype=bool))
            if len(before):
                raise ImportError_(
                    f"{k.kind}: {len(before)} row(s) end before they start",
                    where=f"{source}, row {_rows(before, out.index)}, field {e!r}",
                    hint=f"check {s!r} and {e!r} (leave {e!r} empty while still open)",
                    message_id=f"{k.kind}: {len(before)} baris selesai sebelum mulai",
                    hint_id=f"periksa {s!r} dan {e!r} (kosongkan {e!r} selama masih terbuka)",
                )
    if k.kind == "waste_schedules" and "per_week" not in out.columns and "days" not in out:
        raise ImportError_(
            "waste_schedules: give 'days' or 'per_week'",
            where=source,
            hint="add a column days (e.g. mon,wed,fri) or per_week (e.g. 3)",
            message_id="waste_schedules: berikan 'days' atau 'per_week'",
            hint_id="tambahkan kolom days (mis. sen,rab,jum) atau per_week (mis. 3)",
        )
    _check_geometry(k, out, source)
    return out


def _check_geometry(k: LayerKind, frame: gpd.GeoDataFrame, source: str) -> None:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if k.geometry == "optional":
        return
    if k.kind == "service_incidents":
        # An incident may name its units instead of drawing its area.
        has_units = _blank(frame["unit_ids"]) if "unit_ids" in frame else None
        missing = missing & (has_units.to_numpy() if has_units is not None else True)
    empty = np.flatnonzero(missing)
    if len(empty):
        raise ImportError_(
            f"{k.kind}: {len(empty)} row(s) have no geometry",
            where=f"{source}, row {_rows(empty, frame.index)}",
            hint="every row needs a location"
            + (" (or unit_ids)" if k.kind == "service_incidents" else ""),
            message_id=f"{k.kind}: {len(empty)} baris tidak memiliki geometri",
            hint_id="setiap baris memerlukan lokasi"
            + (" (atau unit_ids)" if k.kind == "service_incidents" else ""),
        )
    types = shapely.get_type_id(geoms)
    allowed = _FAMILIES[k.geometry]
    wrong = np.flatnonzero(~np.isin(types, list(allowed)) & ~shapely.is_missing(geoms))
    if len(wrong):
        names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint",
                 5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}  # fmt: skip
        got = names.get(int(types[wrong[0]]), "?")
        raise ImportError_(
            f"{k.kind}: {len(wrong)} geometries are {got}, expected {k.geometry}",
            where=f"{source}, row {_rows(wrong, frame.index)}",
            hint=f"import this file as another kind, or keep only {k.geometry} features "
            "(--geometry-type)",
            message_id=f"{k.kind}: {len(wrong)} geometri bertipe {got}, seharusnya {k.geometry}",
            hint_id=f"impor berkas ini sebagai jenis lain, atau simpan hanya fitur {k.geometry} "
            "(--geometry-type)",
        )


def split_ids(values: pd.Series) -> pd.Series:
    """A comma/semicolon separated text column as lists of stripped ids."""
    return (
        values.fillna("")
        .astype(str)
        .map(lambda text: [p.strip() for p in text.replace(";", ",").split(",") if p.strip()])
    )


def kinds_table(kinds: Mapping[str, LayerKind] | None = None) -> list[dict[str, Any]]:
    """Every kind as JSON (for `tangguh services layers --json` and the docs)."""
    return [k.to_json() for k in (kinds or KINDS).values()]
