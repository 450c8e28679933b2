"""Any hazard (polygons or a raster) x buildings, roads, facilities, land cover, population.

The engine behind ``tangguh impact exposures``: one hazard layer, classified with a
:class:`~tangguh.risk.Classification`, crossed with any of the exposures below and
aggregated to one admin level, stored as one analysis record (kind
``hazard_impact``) that ``tangguh impact replay`` reproduces.

Method (written into each record's ``parameters["method"]``):

- Hazard zones. A polygon hazard is classified per polygon (a depth/rate field in
  the classification's unit, or a class-code field); where polygons overlap the most
  severe class wins (zones are made disjoint). A raster hazard is classified per
  cell on its own grid (no resampling of values), then the classified cells are
  polygonised (``rasterio.features.shapes``), which gives disjoint zones. All
  lengths and areas are measured in WGS 84 / UTM 48S (EPSG:32748).
- Buildings: a building is in the class of its representative point
  (``point_on_surface``; points are used as they are). On a raster hazard the point
  samples the cell it falls in (reprojected to the raster's CRS first), so a raster
  and the polygonised raster give the same counts. Buildings are counted whole
  (not split by area): an area-weighted class would give fractional buildings, and
  at a ~50 m grid most footprints lie in one cell. Optional breakdown by a type field.
- Roads: lines are cut by the hazard zones and then by the admin units; the length
  (m) of each piece is summed per unit, hazard class and road class (OSM
  ``highway`` or a given field).
- Facilities (hospitals, schools, markets, ...): points (representative points of
  polygons) sampled like buildings; counted per unit and class and listed by name
  per class.
- Land cover: polygons with a class field, cut by the hazard zones and the admin
  units; area (m²; ha in summaries) per unit, hazard class and land-cover class.
- Population (optional): each unit's population spread evenly over its area (as in
  :func:`tangguh.risk.impact.flood_impact`); affected = population x share of the
  unit's area in the class; displaced and needs from the classification and profile.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import shapes

from tangguh.admin.store import ADMIN_LAYER, load_units
from tangguh.admin.units import lookup_points
from tangguh.bank import RESULT_COLUMNS, AnalysisRecord, Bank
from tangguh.errors import InputError
from tangguh.risk.classification import Classification
from tangguh.risk.impact import (
    ImpactResult,
    _classified_hazard,
    _population_at,
    assemble,
    group_shares,
    inputs_for,
    long_rows,
    units_at,
)
from tangguh.risk.needs import NeedsProfile
from tangguh.risk.zonal import _Grid, _read

__all__ = [
    "HazardZones",
    "classify_points",
    "hazard_impact",
    "hazard_zones_from_raster",
    "hazard_zones_from_vector",
    "overlay_measure",
]

_METRIC_CRS = "EPSG:32748"  # WGS 84 / UTM 48S: metric lengths and areas over Jakarta
#: Road class columns tried in order when no field is given.
ROAD_CLASS_FIELDS = ("highway", "HIGHWAY", "TYPE", "type", "fclass", "class")
#: Name columns tried in order for facility lists.
NAME_FIELDS = ("name", "NAME", "nama", "NAMA", "NAMOBJ", "nama_rs", "nama_sekolah")


@dataclass
class HazardZones:
    """A classified hazard: disjoint zones per class and, for a raster, its grid.

    Attributes
    ----------
    classification:
        The classification applied (already converted to the hazard's unit).
    pieces, piece_class:
        Disjoint polygons in EPSG:32748 and the class index of each.
    grid, codes:
        For a raster hazard: the grid and the class index of each cell (-1: none).
    bounds:
        Extent of the classified zones in EPSG:4326 (minx, miny, maxx, maxy).
    """

    classification: Classification
    pieces: np.ndarray
    piece_class: np.ndarray
    bounds: tuple[float, float, float, float]
    grid: _Grid | None = None
    codes: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return "raster" if self.grid is not None else "vector"


def _no_class(layer: str, cls: Classification) -> InputError:
    return InputError(
        f"no part of hazard {layer!r} falls in any class of {cls.key!r}",
        message_id=f"tidak ada bagian bahaya {layer!r} yang masuk kelas {cls.key!r}",
        where=f"layer {layer}",
        hint="check the field or raster values, their unit (--hazard-unit) and the classification",
        hint_id="periksa kolom atau nilai raster, satuannya (--hazard-unit), dan klasifikasinya",
    )


def _bounds4326(pieces: np.ndarray) -> tuple[float, float, float, float]:
    box = gpd.GeoSeries(pieces, crs=_METRIC_CRS).to_crs("EPSG:4326").total_bounds
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def hazard_zones_from_vector(
    frame: gpd.GeoDataFrame,
    classification: Classification,
    *,
    depth_field: str | None = None,
    class_field: str | None = None,
    layer: str = "hazard",
) -> HazardZones:
    """Classify hazard polygons and make them disjoint (most severe class wins)."""
    if frame.empty:
        raise InputError(
            f"hazard layer {layer!r} is empty",
            message_id=f"lapisan bahaya {layer!r} kosong",
            where=f"layer {layer}",
            hint="import hazard polygons first",
            hint_id="impor poligon bahaya dulu",
        )
    hz = _classified_hazard(
        frame, classification, depth_field=depth_field, class_field=class_field, layer=layer
    )
    if hz.empty:
        raise _no_class(layer, classification)
    metric = hz.to_crs(_METRIC_CRS)
    geoms = shapely.make_valid(metric.geometry.to_numpy())
    klass = metric["class_index"].to_numpy()
    pieces: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    covered = None
    for k in range(len(classification.classes) - 1, -1, -1):
        parts = geoms[klass == k]
        if not len(parts):
            continue
        zone = shapely.union_all(parts)
        if covered is not None:
            zone = shapely.difference(zone, covered)
        covered = zone if covered is None else shapely.union(covered, zone)
        found = shapely.get_parts(zone)
        found = found[shapely.get_type_id(found) == 3]  # polygons only
        found = found[shapely.area(found) > 0]
        pieces.append(found)
        owners.append(np.full(len(found), k, dtype=np.int64))
    all_pieces = np.concatenate(pieces) if pieces else np.array([], dtype=object)
    if not len(all_pieces):
        raise _no_class(layer, classification)
    return HazardZones(
        classification=classification,
        pieces=all_pieces,
        piece_class=np.concatenate(owners),
        bounds=_bounds4326(all_pieces),
    )


def hazard_zones_from_raster(
    raster: Path | str, classification: Classification, *, layer: str = "hazard"
) -> HazardZones:
    """Classify a hazard raster per cell and polygonise the classified cells.

    Raises :class:`InputError` for an unreadable raster, a raster without a CRS, or a
    raster with no cell in any class.
    """
    grid = _read(raster, None, "hazard")
    codes = classification.class_index(grid.values)
    codes[np.isnan(grid.values)] = -1
    if not (codes >= 0).any():
        raise _no_class(layer, classification)
    geoms: list[Any] = []
    owners: list[int] = []
    for geom, value in shapes(
        codes.astype(np.int32), mask=codes >= 0, transform=grid.transform, connectivity=4
    ):
        geoms.append(shapely.geometry.shape(geom))
        owners.append(int(value))
    metric = gpd.GeoSeries(geoms, crs=grid.crs).to_crs(_METRIC_CRS).to_numpy()
    metric = shapely.make_valid(metric)
    return HazardZones(
        classification=classification,
        pieces=metric,
        piece_class=np.asarray(owners, dtype=np.int64),
        bounds=_bounds4326(metric),
        grid=grid,
        codes=codes,
    )


def classify_points(points: gpd.GeoSeries, zones: HazardZones) -> np.ndarray:
    """Class index of each point (-1: in no class); EPSG:4326 or any CRS in.

    Raster hazards: the point samples the cell it falls in, in the raster's CRS.
    Polygon hazards: the zone that contains it.
    """
    out = np.full(len(points), -1, dtype=np.int64)
    if not len(points):
        return out
    if zones.grid is not None and zones.codes is not None:
        local = points.to_crs(zones.grid.crs)
        x, y = shapely.get_x(local.to_numpy()), shapely.get_y(local.to_numpy())
        t = zones.grid.transform
        col = np.floor((x - t.c) / t.a)
        row = np.floor((y - t.f) / t.e)
        height, width = zones.grid.shape
        ok = np.isfinite(col) & np.isfinite(row)
        ok &= (col >= 0) & (col < width) & (row >= 0) & (row < height)
        out[ok] = zones.codes[row[ok].astype(np.int64), col[ok].astype(np.int64)]
        return out
    metric = points.to_crs(_METRIC_CRS).to_numpy()
    tree = shapely.STRtree(zones.pieces)
    pairs = tree.query(metric, predicate="within")
    np.maximum.at(out, pairs[0], zones.piece_class[pairs[1]])
    return out


def overlay_measure(
    geoms: np.ndarray, zones: HazardZones, units: np.ndarray, *, measure: str
) -> pd.DataFrame:
    """Cut features by the hazard zones and the units; measure each piece.

    Parameters
    ----------
    geoms:
        Lines or polygons in EPSG:32748.
    units:
        Admin unit polygons in EPSG:32748.
    measure:
        ``"length"`` (m) or ``"area"`` (m²).

    Returns
    -------
    pandas.DataFrame
        ``item`` (position in ``geoms``), ``unit`` (position in ``units``), ``k``
        (class index) and ``value``; one row per piece.
    """
    empty = pd.DataFrame({"item": [], "unit": [], "k": [], "value": []})
    if not len(geoms):
        return empty
    fn = shapely.length if measure == "length" else shapely.area
    ia, ib = shapely.STRtree(zones.pieces).query(geoms, predicate="intersects")
    if not len(ia):
        return empty
    cut = shapely.intersection(geoms[ia], zones.pieces[ib])
    keep = fn(cut) > 0
    cut, item, klass = cut[keep], ia[keep], zones.piece_class[ib[keep]]
    ja, jb = shapely.STRtree(units).query(cut, predicate="intersects")
    if not len(ja):
        return empty
    value = fn(shapely.intersection(cut[ja], units[jb]))
    frame = pd.DataFrame({"item": item[ja], "unit": jb, "k": klass[ja], "value": value})
    return frame[frame["value"] > 0].reset_index(drop=True)


def _pick_field(frame: pd.DataFrame, given: str | None, candidates: Sequence[str], layer: str,
                what: str, what_id: str) -> str:  # fmt: skip
    columns = [c for c in frame.columns if c != "geometry"]
    if given is not None:
        if given not in frame.columns:
            raise InputError(
                f"layer {layer!r} has no column {given!r}",
                message_id=f"lapisan {layer!r} tidak memiliki kolom {given!r}",
                where=f"layer {layer}",
                hint=f"columns: {columns}",
                hint_id=f"kolom: {columns}",
            )
        return given
    for name in candidates:
        if name in frame.columns:
            return name
    raise InputError(
        f"layer {layer!r} has no {what} column (tried {list(candidates)})",
        message_id=f"lapisan {layer!r} tidak memiliki kolom {what_id} (dicoba {list(candidates)})",
        where=f"layer {layer}",
        hint=f"name the column; columns: {columns}",
        hint_id=f"sebutkan kolomnya; kolom: {columns}",
    )


def _labels(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].astype(object).where(frame[column].notna(), None)
    return np.array(
        [str(v).strip() if v is not None and str(v).strip() else "(none)" for v in values],
        dtype=object,
    )


def _names(frame: pd.DataFrame) -> np.ndarray:
    for column in NAME_FIELDS:
        if column in frame.columns:
            return _labels(frame, column)
    text = [c for c in frame.columns if c != "geometry" and pd.api.types.is_string_dtype(frame[c])]
    if text:
        return _labels(frame, text[0])
    return np.array([str(i) for i in frame.index], dtype=object)


def _check_kind(frame: gpd.GeoDataFrame, layer: str, kinds: set[str], what: str,
                what_id: str) -> None:  # fmt: skip
    found = set(frame.geometry.geom_type.dropna())
    if not found <= kinds:
        raise InputError(
            f"layer {layer!r} should hold {what}, it has {sorted(found)}",
            message_id=f"lapisan {layer!r} seharusnya berisi {what_id}, isinya {sorted(found)}",
            where=f"layer {layer}",
            hint=f"give a layer of {what}",
            hint_id=f"berikan lapisan {what_id}",
        )


def _k(value: object) -> int:
    """A class index from a pandas group key."""
    return int(str(value))


def _metric(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(shapely.make_valid(frame.to_crs(_METRIC_CRS).geometry.to_numpy()))


def _points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.point_on_surface(frame.geometry.to_numpy()), crs=frame.crs)


def hazard_impact(
    bank: Bank,
    *,
    hazard: str,
    level: str = "kelurahan",
    classification: str | Path | Classification = "flood_petabencana",
    depth_field: str | None = None,
    class_field: str | None = None,
    hazard_unit: str | None = None,
    population: bool = True,
    buildings: str | None = None,
    building_type_field: str | None = None,
    roads: str | None = None,
    road_class_field: str | None = None,
    facilities: Sequence[str] = (),
    landcover: str | None = None,
    landcover_field: str | None = None,
    needs: str | Path | NeedsProfile = "bnpb_perka_7_2008",
    question: str | None = None,
    versions: dict[str, int] | None = None,
    save: bool = True,
) -> ImpactResult:
    """Affected buildings, road length, facilities, land cover (and people) per unit and class.

    Parameters
    ----------
    hazard:
        A polygon layer (give ``depth_field`` or ``class_field``) or a raster layer
        (flood depth, MMI, subsidence rate, class codes) in the bank.
    hazard_unit:
        Unit of the hazard values when it differs from the classification's (e.g.
        ``"m"`` for the HKV depth raster with the PetaBencana classes in cm).
    population:
        Also count affected and displaced people and their needs (areal weighting of
        the admin population).
    buildings, building_type_field:
        Building layer (polygons or points) and an optional type column.
    roads, road_class_field:
        Road lines and their class column (default: the first of
        :data:`ROAD_CLASS_FIELDS` present).
    facilities:
        Point (or polygon) layers: hospitals, schools, markets, shelters ...
    landcover, landcover_field:
        Land-cover polygons and their class column.
    versions:
        Layer id -> version to read (default: current); used by replay.
    save:
        Store the run as an analysis record (one transaction, nothing on error).

    Raises
    ------
    InputError
        No exposure asked for, empty layers, a raster without CRS, no overlap between
        the hazard and the admin units or an exposure layer, fields that do not exist.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    versions = dict(versions or {})
    cls, profile = inputs_for(classification, needs, level)
    if hazard_unit is not None:
        cls = cls.to_unit(hazard_unit)
    if not (population or buildings or roads or facilities or landcover):
        raise InputError(
            "no exposure given",
            message_id="tidak ada keterpaparan yang diberikan",
            hint="give --buildings, --roads, --facility, --landcover or --population",
            hint_id="berikan --buildings, --roads, --facility, --landcover atau --population",
        )
    if landcover is not None and landcover_field is None:
        raise InputError(
            "a land-cover layer needs its class field",
            message_id="lapisan tutupan lahan memerlukan kolom kelasnya",
            where=f"layer {landcover}",
            hint="e.g. --landcover-field landuse",
            hint_id="mis. --landcover-field landuse",
        )

    def read(layer_id: str, bbox: tuple[float, float, float, float] | None = None,
             columns: list[str] | None = None) -> gpd.GeoDataFrame:  # fmt: skip
        info = bank.layer(layer_id)
        version = versions.setdefault(layer_id, info.current_version)
        return bank.read_layer(layer_id, version=version, bbox=bbox, columns=columns)

    all_units = read(ADMIN_LAYER) if ADMIN_LAYER in versions else load_units(bank)
    versions.setdefault(ADMIN_LAYER, bank.layer(ADMIN_LAYER).current_version)
    units = units_at(all_units, level)
    info = bank.layer(hazard)
    if info.kind == "raster":
        versions.setdefault(hazard, info.current_version)
        zones = hazard_zones_from_raster(bank.raster_path(hazard), cls, layer=hazard)
    else:
        zones = hazard_zones_from_vector(
            read(hazard), cls, depth_field=depth_field, class_field=class_field, layer=hazard
        )
    box = shapely.box(*zones.bounds)
    if not shapely.intersects(box, shapely.box(*units.total_bounds)):
        raise InputError(
            f"hazard {hazard!r} does not overlap the admin units",
            message_id=f"bahaya {hazard!r} tidak bertampalan dengan wilayah administrasi",
            where=f"layer {hazard}",
            hint="check the hazard's CRS and extent",
            hint_id="periksa CRS dan cakupan lapisan bahaya",
        )
    timings["hazard"] = time.perf_counter() - started

    ids = units["unit_id"].astype(str).to_numpy()
    unit_geoms = _metric(units)
    keys = list(cls.keys)
    n = len(keys)
    extra: list[pd.DataFrame] = []
    summary_extra: dict[str, Any] = {"hazard_kind": zones.kind}
    wide = pd.DataFrame(index=pd.Index(ids, name="unit_id"))

    def exposure_layer(layer_id: str) -> gpd.GeoDataFrame:
        frame = read(layer_id, bbox=zones.bounds)
        if frame.empty:
            if bank.layer(layer_id).feature_count == 0:
                raise InputError(
                    f"exposure layer {layer_id!r} is empty",
                    message_id=f"lapisan keterpaparan {layer_id!r} kosong",
                    where=f"layer {layer_id}",
                    hint="import the exposure data first",
                    hint_id="impor data keterpaparan dulu",
                )
            raise InputError(
                f"exposure layer {layer_id!r} does not overlap hazard {hazard!r}",
                message_id=f"lapisan keterpaparan {layer_id!r} tidak bertampalan dengan "
                f"bahaya {hazard!r}",
                where=f"layer {layer_id}",
                hint="check both layers' extent and CRS",
                hint_id="periksa cakupan dan CRS kedua lapisan",
            )
        return frame

    def per_unit_points(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        points = _points(frame)
        klass = classify_points(points, zones)
        where = np.full(len(points), None, dtype=object)
        hit = np.flatnonzero(klass >= 0)
        if len(hit):
            found = lookup_points(all_units, points.iloc[hit], levels=[level])
            where[hit] = found[level].to_numpy()
        return klass, where

    def count_rows(table: pd.DataFrame, exposure: str) -> None:
        counts = table.groupby(["unit", "k"]).size().reset_index(name="n")
        for k, part in counts.groupby("k"):
            extra.append(
                long_rows(pd.Index(part["unit"]), keys[_k(k)], exposure, "affected", part["n"])
            )

    if buildings is not None:
        t0 = time.perf_counter()
        frame = exposure_layer(buildings)
        klass, where = per_unit_points(frame)
        hit = (klass >= 0) & pd.notna(where)
        table = pd.DataFrame({"unit": where[hit], "k": klass[hit]})
        count_rows(table, "buildings")
        wide["buildings"] = table.groupby("unit").size().reindex(ids).fillna(0).astype(int)
        summary_extra["buildings_affected"] = int(hit.sum())
        summary_extra["buildings_by_class"] = {
            keys[k]: int((klass[hit] == k).sum()) for k in range(n)
        }
        if building_type_field is not None:
            column = _pick_field(frame, building_type_field, (), buildings, "type", "jenis")
            types = _labels(frame, column)[hit]
            table["type"] = types
            for btype, part in table.groupby("type"):
                count_rows(part, f"buildings:{btype}")
            summary_extra["buildings_by_type"] = {
                str(t): {keys[_k(k)]: int(v) for k, v in part.groupby("k").size().items()}
                for t, part in table.groupby("type")
            }
        timings["buildings"] = time.perf_counter() - t0

    if roads is not None:
        t0 = time.perf_counter()
        frame = exposure_layer(roads)
        _check_kind(frame, roads, {"LineString", "MultiLineString"}, "lines", "garis")
        column = _pick_field(frame, road_class_field, ROAD_CLASS_FIELDS, roads, "road class",
                             "kelas jalan")  # fmt: skip
        road_field_used = column
        road_class = _labels(frame, column)
        cut = overlay_measure(_metric(frame), zones, unit_geoms, measure="length")
        cut["road_class"] = road_class[cut["item"].to_numpy()]
        cut["unit"] = ids[cut["unit"].to_numpy()]
        for (k, rc), part in cut.groupby(["k", "road_class"]):
            sums = part.groupby("unit")["value"].sum()
            extra.append(long_rows(sums.index, keys[_k(k)], f"roads:{rc}", "length_m", sums))
        for k, part in cut.groupby("k"):
            sums = part.groupby("unit")["value"].sum()
            extra.append(long_rows(sums.index, keys[_k(k)], "roads", "length_m", sums))
        wide["roads_km"] = cut.groupby("unit")["value"].sum().reindex(ids).fillna(0) / 1000
        summary_extra["roads_km"] = float(cut["value"].sum() / 1000)
        summary_extra["road_class_field"] = road_field_used
        summary_extra["roads_km_by_class"] = {
            keys[_k(k)]: float(v / 1000) for k, v in cut.groupby("k")["value"].sum().items()
        }
        summary_extra["roads_km_by_road_class"] = {
            str(rc): {keys[_k(k)]: float(v / 1000) for k, v in part.groupby("k")["value"].sum()
                      .items()}
            for rc, part in cut.groupby("road_class")
        }  # fmt: skip
        timings["roads"] = time.perf_counter() - t0

    if facilities:
        t0 = time.perf_counter()
        lists: dict[str, dict[str, list[str]]] = {}
        total = pd.Series(0, index=ids)
        for layer_id in facilities:
            frame = exposure_layer(layer_id)
            klass, where = per_unit_points(frame)
            hit = (klass >= 0) & pd.notna(where)
            names = _names(frame)
            lists[layer_id] = {
                keys[k]: sorted(names[hit & (klass == k)].tolist())
                for k in range(n)
                if (hit & (klass == k)).any()
            }
            table = pd.DataFrame({"unit": where[hit], "k": klass[hit]})
            count_rows(table, f"facility:{layer_id}")
            total = total.add(table.groupby("unit").size().reindex(ids).fillna(0), fill_value=0)
        wide["facilities"] = total.astype(int)
        summary_extra["facilities"] = lists
        summary_extra["facilities_affected"] = {
            layer: sum(len(v) for v in per.values()) for layer, per in lists.items()
        }
        timings["facilities"] = time.perf_counter() - t0

    if landcover is not None:
        t0 = time.perf_counter()
        frame = exposure_layer(landcover)
        _check_kind(frame, landcover, {"Polygon", "MultiPolygon"}, "polygons", "poligon")
        column = _pick_field(frame, landcover_field, (), landcover, "land-cover", "tutupan lahan")
        lc = _labels(frame, column)
        cut = overlay_measure(_metric(frame), zones, unit_geoms, measure="area")
        cut["lc"] = lc[cut["item"].to_numpy()]
        cut["unit"] = ids[cut["unit"].to_numpy()]
        for (k, value), part in cut.groupby(["k", "lc"]):
            sums = part.groupby("unit")["value"].sum()
            extra.append(long_rows(sums.index, keys[_k(k)], f"landcover:{value}", "area_m2", sums))
        for k, part in cut.groupby("k"):
            sums = part.groupby("unit")["value"].sum()
            extra.append(long_rows(sums.index, keys[_k(k)], "landcover", "area_m2", sums))
        wide["landcover_ha"] = cut.groupby("unit")["value"].sum().reindex(ids).fillna(0) / 1e4
        summary_extra["landcover_ha"] = float(cut["value"].sum() / 1e4)
        summary_extra["landcover_ha_by_class"] = {
            str(v): {keys[_k(k)]: float(a / 1e4) for k, a in part.groupby("k")["value"].sum()
                     .items()}
            for v, part in cut.groupby("lc")
        }  # fmt: skip
        timings["landcover"] = time.perf_counter() - t0

    # Area of each unit in each class (always: it is what the population estimate uses).
    t0 = time.perf_counter()
    ua, zb = shapely.STRtree(zones.pieces).query(unit_geoms, predicate="intersects")
    overlap = shapely.area(shapely.intersection(unit_geoms[ua], zones.pieces[zb]))
    class_area = (
        pd.DataFrame({"unit": ua, "k": zones.piece_class[zb], "value": overlap})
        .groupby(["unit", "k"])["value"].sum().unstack(fill_value=0)
        .reindex(index=range(len(ids)), columns=range(n), fill_value=0.0)
    )  # fmt: skip
    class_area.index = pd.Index(ids)
    for k, key in enumerate(keys):
        if class_area[k].any():
            extra.append(long_rows(class_area.index, key, "area", "m2", class_area[k]))
    wide["hazard_area_ha"] = class_area.sum(axis=1) / 1e4
    timings["areas"] = time.perf_counter() - t0

    if population:
        t0 = time.perf_counter()
        pop, pop_method = _population_at(all_units, level)
        unit_area = pd.Series(shapely.area(unit_geoms), index=ids)
        share = class_area.div(unit_area.replace(0, np.nan), axis=0).fillna(0).clip(upper=1)
        affected = share.mul(pop.reindex(ids).fillna(0).to_numpy(), axis=0)
        assembled = assemble(
            all_units=all_units,
            keys=keys,
            rates=np.asarray(cls.rates, dtype=float),
            affected=affected,
            population=pop.reindex(ids),
            profile=profile,
            extra=extra,
            shares=group_shares(bank, all_units, level),
        )
        results, need_table, summary = assembled.results, assembled.needs, assembled.summary
        summary["population_method"] = pop_method
        pop_wide = assembled.areas.set_index("unit_id")[["population", "affected", "displaced"]]
        wide = wide.join(pop_wide, how="left")
        timings["population"] = time.perf_counter() - t0
    else:
        results = (
            pd.concat(extra, ignore_index=True)
            if extra
            else pd.DataFrame(columns=list(RESULT_COLUMNS))
        )
        results = results[list(RESULT_COLUMNS)]
        results = results[results["value"] != 0].reset_index(drop=True)
        need_table = pd.DataFrame()
        summary = {}
    summary.update(summary_extra)
    summary["hazard_area_ha_by_class"] = {
        key: float(class_area[k].sum() / 1e4) for k, key in enumerate(keys)
    }
    summary["units_affected"] = int((wide.fillna(0).drop(columns=["population"], errors="ignore")
                                     .sum(axis=1) > 0).sum())  # fmt: skip

    by_id = all_units.set_index("unit_id")
    wide.insert(0, "name", by_id["name"].reindex(wide.index).to_numpy())
    parents = by_id["parent_id"].reindex(wide.index).to_numpy()
    wide.insert(1, "parent", by_id["name"].reindex(parents).to_numpy())
    measures = [c for c in wide.columns if c not in ("name", "parent", "population")]
    wide = wide[wide[measures].fillna(0).sum(axis=1) > 0]
    sort_by = next(
        (c for c in ("affected", "buildings", "roads_km", "landcover_ha", "facilities")
         if c in wide.columns), "hazard_area_ha")  # fmt: skip
    wide = wide.sort_values(sort_by, ascending=False).reset_index()
    timings["total"] = time.perf_counter() - started

    inputs: dict[str, Any] = {
        "hazard": {"layer": hazard, "version": versions[hazard], "kind": zones.kind},
        "admin_units": {"layer": ADMIN_LAYER, "version": versions[ADMIN_LAYER]},
    }
    for role, given in (("buildings", buildings), ("roads", roads), ("landcover", landcover)):
        if given is not None:
            inputs[role] = {"layer": given, "version": versions[given]}
    for facility in facilities:
        inputs[f"facility:{facility}"] = {"layer": facility, "version": versions[facility]}
    asked = [
        name
        for name, given in (
            ("penduduk/population", population),
            ("bangunan/buildings", buildings),
            ("jalan/roads", roads),
            ("fasilitas/facilities", facilities),
            ("tutupan lahan/land cover", landcover),
        )
        if given
    ]
    record = AnalysisRecord(
        kind="hazard_impact",
        question=question
        or f"Bahaya {hazard!r} ({cls.hazard}): {', '.join(asked)} terdampak per {level}? / "
        f"Hazard {hazard!r} ({cls.hazard}): {', '.join(asked)} affected per {level}?",
        inputs=inputs,
        parameters={
            "level": level,
            "depth_field": depth_field,
            "class_field": class_field,
            "hazard_unit": hazard_unit,
            "population": population,
            "building_type_field": building_type_field,
            "road_class_field": summary.get("road_class_field", road_class_field),
            "facilities": list(facilities),
            "landcover_field": landcover_field,
            "classification": cls.to_dict(),
            "needs": profile.to_dict(),
            "method": __doc__.split("Method", 1)[1].strip() if __doc__ else "",
        },
        level=level,
        timings={k: round(v, 4) for k, v in timings.items()},
        summary=summary,
    )
    if save:
        bank.save_analysis(record, results)
    return ImpactResult(record=record, results=results, areas=wide, needs=need_table)


def replay_hazard_impact(
    bank: Bank, record: AnalysisRecord, common: dict[str, Any]
) -> ImpactResult:
    """Run a stored ``hazard_impact`` record again on its recorded layer versions."""
    p = record.parameters
    inputs = record.inputs
    return hazard_impact(
        bank,
        **common,
        depth_field=p.get("depth_field"),
        class_field=p.get("class_field"),
        population=bool(p.get("population", True)),
        buildings=inputs.get("buildings", {}).get("layer"),
        building_type_field=p.get("building_type_field"),
        roads=inputs.get("roads", {}).get("layer"),
        road_class_field=p.get("road_class_field"),
        facilities=p.get("facilities", []),
        landcover=inputs.get("landcover", {}).get("layer"),
        landcover_field=p.get("landcover_field"),
        versions={
            v["layer"]: int(v["version"]) for v in inputs.values() if v.get("kind") != "raster"
        },
    )
