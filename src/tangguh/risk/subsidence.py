"""Land subsidence (and any hazard without agreed thresholds): classes from the data.

Jakarta's land subsidence is measured as a rate (cm/yr, from GPS, levelling or InSAR),
either as a raster or as measurement points. There is no national class table for it,
so the classes are built *from the data* and then kept as data: a
:class:`~tangguh.risk.Classification` with the breaks written in, saved as TOML
(``tangguh impact classify-data … --to FILE``) and stored in full in every analysis
record, like any other classification.

- :func:`classification_from_data`: ``quantile`` breaks (equal-count classes, the
  default: robust to the long tail of a few very fast-sinking points) or
  ``equal_interval`` breaks between the minimum and maximum. A ``floor`` (e.g. 0)
  leaves values at or below it out of every class (stable ground or uplift is not a
  hazard); without it the first class has no lower bound. The last class has no
  upper bound. Displacement rates default to 0: subsidence is slow-onset and
  displaces nobody by itself (give rates to model e.g. tidal flooding behind it).
- :func:`subsidence_zones`: measurement points -> Thiessen (Voronoi) polygons
  clipped to the admin area, each carrying its point's rate (nearest-measurement
  interpolation: no smoothing, no invented values between points; points at the same
  location are averaged). The polygons are written as a hazard layer, ready for
  :func:`tangguh.risk.exposures.hazard_impact` with ``depth_field="rate"``.
- ``invert=True`` turns vertical velocities (negative = sinking, the InSAR
  convention) into subsidence rates (positive = sinking).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tangguh.admin.store import load_units
from tangguh.bank import Bank, LayerMeta, VersionInfo
from tangguh.errors import InputError
from tangguh.risk.classification import HAZARDS, Classification, validate_classification
from tangguh.risk.zonal import _read

__all__ = [
    "METHODS",
    "classification_from_data",
    "classification_from_layer",
    "subsidence_zones",
]

METHODS = ("quantile", "equal_interval")
_LABELS: dict[int, list[tuple[str, str, str]]] = {
    2: [("low", "Rendah", "Low"), ("high", "Tinggi", "High")],
    3: [("low", "Rendah", "Low"), ("medium", "Sedang", "Medium"), ("high", "Tinggi", "High")],
    4: [
        ("low", "Rendah", "Low"),
        ("medium", "Sedang", "Medium"),
        ("high", "Tinggi", "High"),
        ("very_high", "Sangat tinggi", "Very high"),
    ],
    5: [
        ("very_low", "Sangat rendah", "Very low"),
        ("low", "Rendah", "Low"),
        ("medium", "Sedang", "Medium"),
        ("high", "Tinggi", "High"),
        ("very_high", "Sangat tinggi", "Very high"),
    ],
}
_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026", "#800026", "#4d0013"]


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def classification_from_data(
    values: Sequence[float] | np.ndarray | pd.Series,
    *,
    n_classes: int = 3,
    method: Literal["quantile", "equal_interval"] = "quantile",
    hazard: str = "subsidence",
    unit: str | None = "cm/yr",
    floor: float | None = None,
    key: str | None = None,
    displacement_rates: Sequence[float] | None = None,
    described: str = "data",
) -> Classification:
    """A continuous classification whose breaks come from ``values``.

    Parameters
    ----------
    values:
        Hazard values (NaN ignored).
    n_classes:
        2 to 7 classes (labels: low/medium/high for 3, very low … very high for 5).
    method:
        ``"quantile"`` or ``"equal_interval"`` (see the module docstring).
    floor:
        Values ``<= floor`` belong to no class (and are left out of the breaks).
    displacement_rates:
        One rate (0..1) per class; default all 0.
    described:
        What the values are, written into the classification's ``source``.

    Raises
    ------
    InputError
        Unknown method or hazard, fewer than 2 or more than 7 classes, no values,
        too few distinct values for the classes, wrong number of rates.
    """
    where = f"data-driven classification ({method})"
    if method not in METHODS:
        raise InputError(
            f"unknown classification method {method!r}",
            message_id=f"metode klasifikasi {method!r} tidak dikenal",
            where=where,
            hint=f"use one of {list(METHODS)}",
            hint_id=f"gunakan salah satu dari {list(METHODS)}",
        )
    if hazard not in HAZARDS:
        raise InputError(
            f"unknown hazard type {hazard!r}",
            message_id=f"jenis bahaya {hazard!r} tidak dikenal",
            where=where,
            hint=f"use one of {list(HAZARDS)}",
            hint_id=f"gunakan salah satu dari {list(HAZARDS)}",
        )
    if not 2 <= n_classes <= len(_COLOURS):
        raise InputError(
            f"n_classes must be 2..{len(_COLOURS)}, not {n_classes}",
            message_id=f"jumlah kelas harus 2..{len(_COLOURS)}, bukan {n_classes}",
            where=where,
            hint="3 (low/medium/high) is the usual choice",
            hint_id="3 (rendah/sedang/tinggi) adalah pilihan umum",
        )
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if floor is not None:
        data = data[data > floor]
    distinct = np.unique(data)
    if len(distinct) < n_classes:
        raise InputError(
            f"{len(distinct)} distinct value(s) above the floor; cannot make {n_classes} classes",
            message_id=f"{len(distinct)} nilai berbeda di atas batas bawah; tidak dapat membuat "
            f"{n_classes} kelas",
            where=where,
            hint="use fewer classes, a lower floor, or check the field/raster",
            hint_id="gunakan lebih sedikit kelas, batas bawah lebih rendah, atau periksa "
            "kolom/raster",
        )
    if method == "quantile":
        inner = np.quantile(data, [i / n_classes for i in range(1, n_classes)])
    else:
        inner = np.linspace(data.min(), data.max(), n_classes + 1)[1:-1]
    breaks = [_round(b) for b in inner]
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(breaks)) or (
        floor is not None and breaks[0] <= floor
    ):
        raise InputError(
            f"the {method} breaks {breaks} are not increasing (many equal values)",
            message_id=f"batas {method} {breaks} tidak naik (banyak nilai yang sama)",
            where=where,
            hint="use equal_interval or fewer classes",
            hint_id="gunakan equal_interval atau lebih sedikit kelas",
        )
    rates = list(displacement_rates) if displacement_rates is not None else [0.0] * n_classes
    if len(rates) != n_classes:
        raise InputError(
            f"{len(rates)} displacement rates for {n_classes} classes",
            message_id=f"{len(rates)} tingkat pengungsian untuk {n_classes} kelas",
            where=where,
            hint="give one rate per class",
            hint_id="berikan satu tingkat per kelas",
        )
    labels = _LABELS.get(n_classes) or [
        (f"class_{i}", f"Kelas {i}", f"Class {i}") for i in range(1, n_classes + 1)
    ]
    edges: list[float | None] = [floor, *breaks, None]
    colours = _COLOURS[:n_classes]
    classes = []
    for i, (class_key, label_id, label_en) in enumerate(labels):
        entry: dict[str, object] = {
            "key": class_key,
            "label_id": label_id,
            "label_en": label_en,
            "displacement_rate": float(rates[i]),
            "colour": colours[i],
        }
        if edges[i] is not None:
            entry["min"] = edges[i]
        if edges[i + 1] is not None:
            entry["max"] = edges[i + 1]
        classes.append(entry)
    quantity = f"{len(data):,} {described} values"
    return validate_classification(
        {
            "key": key or f"{hazard}_{method}_{n_classes}",
            "title_id": f"Kelas {hazard} dari data ({method}, {n_classes} kelas)",
            "title_en": f"{hazard.capitalize()} classes from the data ({method}, {n_classes})",
            "hazard": hazard,
            "unit": unit,
            "kind": "continuous",
            "closed": "left",
            "source": f"data-driven: {method} breaks {breaks} of {quantity}"
            + (f" above {floor:g}" if floor is not None else ""),
            "classes": classes,
        },
        where=where,
    )


def classification_from_layer(
    bank: Bank,
    layer: str,
    *,
    field: str | None = None,
    invert: bool = False,
    **options: object,
) -> Classification:
    """:func:`classification_from_data` on a bank layer: raster cells or a vector field."""
    info = bank.layer(layer)
    if info.kind == "raster":
        values = _read(bank.raster_path(layer), None, "hazard").values.ravel()
    else:
        frame = bank.read_layer(layer)
        if field is None or field not in frame.columns:
            columns = [c for c in frame.columns if c != "geometry"]
            raise InputError(
                f"layer {layer!r} needs a value field (got {field!r})",
                message_id=f"lapisan {layer!r} memerlukan kolom nilai (diberikan {field!r})",
                where=f"layer {layer}",
                hint=f"give --field; columns: {columns}",
                hint_id=f"berikan --field; kolom: {columns}",
            )
        values = pd.to_numeric(frame[field], errors="coerce").to_numpy(float)
    if invert:
        values = -values
    return classification_from_data(
        values,
        described=f"{layer}" + (f".{field}" if field else "") + (" (inverted)" if invert else ""),
        **options,  # type: ignore[arg-type]
    )


def subsidence_zones(
    bank: Bank,
    points: str,
    *,
    rate_field: str,
    out_layer: str,
    invert: bool = False,
    unit: str = "cm/yr",
) -> VersionInfo:
    """Thiessen polygons of subsidence measurement points, clipped to the admin area.

    Writes ``out_layer`` (polygons, columns ``rate`` in ``unit``, ``points`` = how
    many measurements were averaged) and returns its version. Raises
    :class:`InputError` for an empty layer, non-point geometry, a missing or
    non-numeric rate field, or points outside the admin area.
    """
    frame = bank.read_layer(points)
    where = f"layer {points}"
    if frame.empty:
        raise InputError(
            f"layer {points!r} is empty",
            message_id=f"lapisan {points!r} kosong",
            where=where,
            hint="import the subsidence measurement points first",
            hint_id="impor titik pengukuran penurunan tanah dulu",
        )
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds <= {"Point"}:
        raise InputError(
            f"layer {points!r} must hold points, it has {sorted(kinds)}",
            message_id=f"lapisan {points!r} harus berisi titik, isinya {sorted(kinds)}",
            where=where,
            hint="give measurement points (GPS, levelling, InSAR)",
            hint_id="berikan titik pengukuran (GPS, sipat datar, InSAR)",
        )
    if rate_field not in frame.columns:
        columns = [c for c in frame.columns if c != "geometry"]
        raise InputError(
            f"layer {points!r} has no column {rate_field!r}",
            message_id=f"lapisan {points!r} tidak memiliki kolom {rate_field!r}",
            where=where,
            hint=f"columns: {columns}",
            hint_id=f"kolom: {columns}",
        )
    rate = pd.to_numeric(frame[rate_field], errors="coerce")
    bad = rate.isna() & frame[rate_field].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"rate {frame[rate_field].iloc[row]!r} is not a number",
            message_id=f"laju {frame[rate_field].iloc[row]!r} bukan angka",
            where=f"{where}, row {row}, field {rate_field}",
            hint="fix the value or remove the point",
            hint_id="perbaiki nilainya atau hapus titiknya",
        )
    table = pd.DataFrame(
        {
            "x": shapely.get_x(frame.geometry.to_numpy()),
            "y": shapely.get_y(frame.geometry.to_numpy()),
            "rate": -rate if invert else rate,
        }
    ).dropna()
    merged = table.groupby(["x", "y"], as_index=False).agg(
        rate=("rate", "mean"), points=("rate", "size")
    )
    units = load_units(bank)
    top = units[units["level"] == units["level"].iloc[0]]
    area = shapely.union_all(shapely.make_valid(top.geometry.to_numpy()))
    pts = shapely.points(merged["x"].to_numpy(), merged["y"].to_numpy())
    inside = shapely.intersects(area, pts)
    if not inside.any():
        raise InputError(
            f"no point of {points!r} lies in the admin area",
            message_id=f"tidak ada titik {points!r} di dalam wilayah administrasi",
            where=where,
            hint="check the points' CRS and extent",
            hint_id="periksa CRS dan cakupan titik",
        )
    merged = pd.DataFrame(merged[inside]).reset_index(drop=True)
    pts = np.asarray(pts)[inside]
    if len(pts) == 1:
        cells = np.array([area], dtype=object)
    else:
        # Voronoi in a metric CRS (distances in lon/lat are anisotropic), then back.
        metric_pts = gpd.GeoSeries(pts, crs="EPSG:4326").to_crs("EPSG:32748").to_numpy()
        metric_area = gpd.GeoSeries([area], crs="EPSG:4326").to_crs("EPSG:32748").iloc[0]
        diagram = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(metric_pts), extend_to=metric_area)
        )
        owner_tree = shapely.STRtree(diagram)
        pi, ci = owner_tree.query(metric_pts, predicate="intersects")
        order = np.full(len(metric_pts), -1)
        order[pi] = ci
        clipped = shapely.intersection(diagram[order], metric_area)
        cells = gpd.GeoSeries(clipped, crs="EPSG:32748").to_crs("EPSG:4326").to_numpy()
    out = gpd.GeoDataFrame(
        {"rate": merged["rate"].to_numpy(), "points": merged["points"].to_numpy()},
        geometry=cells,
        crs="EPSG:4326",
    )
    meta = LayerMeta(
        title_id=f"Zona laju penurunan tanah ({unit}) dari {points}",
        title_en=f"Land subsidence rate zones ({unit}) from {points}",
        description_id="Poligon Thiessen (Voronoi) titik pengukuran, dipotong batas wilayah; "
        "laju = laju titik terdekat" + (" (tanda dibalik)" if invert else ""),
        description_en="Thiessen (Voronoi) polygons of the measurement points, clipped to the "
        "admin area; rate = the nearest point's rate" + (" (sign inverted)" if invert else ""),
        theme="hazard",
        keywords=["subsidence", "penurunan tanah", "voronoi"],
        extra={"points_layer": points, "rate_field": rate_field, "invert": invert, "unit": unit},
    )
    return bank.write_layer(out_layer, out, meta, message=f"subsidence zones from {points}")
