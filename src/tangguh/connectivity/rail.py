"""Rail stations (KRL, MRT, LRT) from a KML into the ``transit_stops`` layer.

The KML is a Google My Maps export: one folder per line, one point placemark per
station (an interchange station appears in the folder of each line). The mode comes
from the folder name, else the placemark name (``KRL``/``Commuter`` -> krl, ``MRT`` ->
mrt, ``LRT`` -> lrt). Placemarks of one mode closer than ``merge_m`` metres are one
station whose ``route_ids`` lists every line. Stations are written into the same
``transit_stops`` layer as the GTFS stops (capacity ``high``, ``peak_departures``
unknown), so :func:`tangguh.connectivity.gtfs.load_stops` returns one set of stops.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from lxml import etree
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from tangguh.bank import Bank
from tangguh.connectivity._gtfs_read import file_sha256
from tangguh.connectivity._gtfs_store import (
    FeedImport,
    layer_meta,
    next_feed,
    slug,
    unchanged_feed,
    write_feed,
)
from tangguh.connectivity.modes import capacity_of
from tangguh.errors import ImportError_, InputError, NotFoundError

__all__ = ["RailStations", "import_rail", "read_rail_kml"]

_MODE_WORDS = (("krl", "krl"), ("commuter", "krl"), ("mrt", "mrt"), ("lrt", "lrt"))
#: Words dropped from station names ("Stasiun LRT Harjamukti" -> "Harjamukti").
_NOISE = {"stasiun", "station", "train", "mrt", "lrt", "krl"}


@dataclass
class RailStations:
    """Stations read from a KML, before storage."""

    stations: gpd.GeoDataFrame
    placemarks: int
    points: int
    skipped: int
    lines: list[str]
    document: str
    warnings: list[str] = field(default_factory=list)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _parent_tag(element: etree._Element) -> object:
    parent = element.getparent()
    return parent.tag if parent is not None else None


def _child_text(element: etree._Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _mode_of(text: str) -> str | None:
    tokens = set(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())
    for word, mode in _MODE_WORDS:
        if word in tokens:
            return mode
    return None


def _line_name(folder: str, mode: str) -> str:
    """``"KRL Commuter Lin Bogor (Jakarta Kota - Bogor/Nambo)"`` -> ``"KRL Bogor"``."""
    text = folder.split("(")[0]
    text = re.sub(r"\bcommuter\s+lin[e]?\b", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"[\s,]+", " ", text).strip()
    return text or mode.upper()


def _clean_name(name: str) -> str:
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    kept = [w for w in words if w.lower().strip("-") not in _NOISE]
    text = " ".join(kept).strip(" -–,")
    text = re.sub(r"^[-–\s]+", "", text)
    if not text:
        text = name.strip()
    if name.isupper() or name.islower():
        text = text.title()
    return text


def read_rail_kml(
    path: Path | str, *, mode: str | None = None, merge_m: float = 200.0
) -> RailStations:
    """Read the stations of a KML (points only; lines and polygons are skipped).

    Parameters
    ----------
    path:
        The ``.kml`` file.
    mode:
        Mode for placemarks whose folder and name name none (krl, mrt, lrt, …).
    merge_m:
        Placemarks of one mode closer than this (metres) are one station.
    """
    source = Path(path)
    if not source.exists():
        raise NotFoundError(
            f"KML not found: {source}",
            where=str(source),
            hint="give the path of the rail stations .kml",
            message_id=f"KML tidak ditemukan: {source}",
            hint_id="berikan path berkas .kml stasiun kereta",
        )
    try:
        tree = etree.parse(str(source), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ImportError_(
            f"{source.name} is not valid XML/KML: {exc}",
            where=f"{source.name}, line {exc.lineno}",
            hint="export the map again as KML (not KMZ), or unzip the KMZ's doc.kml",
            message_id=f"{source.name} bukan XML/KML yang sah: {exc}",
            hint_id="ekspor ulang peta sebagai KML (bukan KMZ), atau ekstrak doc.kml dari KMZ",
        ) from None
    root = tree.getroot()
    document = ""
    for element in root.iter():
        if _local(element.tag) == "Document":
            document = _child_text(element, "name")
            break
    rows: list[dict[str, object]] = []
    placemarks = skipped = 0
    for index, mark in enumerate((e for e in root.iter() if _local(e.tag) == "Placemark"), start=1):
        placemarks += 1
        name = _child_text(mark, "name") or f"placemark {index}"
        folder = ""
        parent = mark.getparent()
        while parent is not None:
            if _local(parent.tag) == "Folder":
                folder = _child_text(parent, "name")
                break
            parent = parent.getparent()
        coords = [
            e
            for e in mark.iter()
            if _local(e.tag) == "coordinates" and _local(_parent_tag(e)) == "Point"
        ]
        if not coords:
            skipped += 1
            continue
        where = f"{source.name}, placemark {index} ({name}), field coordinates"
        text = (coords[0].text or "").strip().split()
        parts = text[0].split(",") if text else []
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise ImportError_(
                f"placemark {name!r} has no readable coordinates: {' '.join(text)!r}",
                where=where,
                hint="KML coordinates are 'lon,lat[,alt]'; fix or delete the placemark",
                message_id=f"placemark {name!r} tidak memiliki koordinat yang terbaca: "
                f"{' '.join(text)!r}",
                hint_id="koordinat KML berbentuk 'lon,lat[,alt]'; perbaiki atau hapus placemark",
            ) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
            raise ImportError_(
                f"placemark {name!r} has coordinates {lon},{lat} (out of range or 0,0)",
                where=where,
                hint="KML coordinates are 'lon,lat'; fix or delete the placemark",
                message_id=f"placemark {name!r} berkoordinat {lon},{lat} "
                "(di luar rentang atau 0,0)",
                hint_id="koordinat KML berbentuk 'lon,lat'; perbaiki atau hapus placemark",
            )
        found = _mode_of(folder) or _mode_of(name) or (mode.strip().lower() if mode else None)
        if found is None:
            raise ImportError_(
                f"cannot tell the mode of placemark {name!r} (folder {folder!r})",
                where=f"{source.name}, placemark {index} ({name})",
                hint="name the folder after the line (KRL …, MRT …, LRT …) or give --mode",
                message_id=f"moda placemark {name!r} (folder {folder!r}) tidak dapat ditentukan",
                hint_id="beri nama folder sesuai jalurnya (KRL …, MRT …, LRT …) atau "
                "berikan --mode",
            )
        rows.append(
            {
                "raw_name": name,
                "name": _clean_name(name),
                "mode": found,
                "line": _line_name(folder, found) if folder else found.upper(),
                "lon": lon,
                "lat": lat,
            }
        )
    if not rows:
        raise ImportError_(
            f"{source.name} has no point placemarks (stations)",
            where=source.name,
            hint="the KML must hold one point per station",
            message_id=f"{source.name} tidak memiliki placemark titik (stasiun)",
            hint_id="KML harus berisi satu titik per stasiun",
        )
    marks = pd.DataFrame(rows)
    stations = _merge(marks, merge_m)
    lines = sorted(set(marks["line"]))
    return RailStations(
        stations=stations,
        placemarks=placemarks,
        points=len(marks),
        skipped=skipped,
        lines=lines,
        document=document,
    )


def _merge(marks: pd.DataFrame, merge_m: float) -> gpd.GeoDataFrame:
    """One row per station: placemarks of one mode within ``merge_m`` metres merged."""
    pts = gpd.GeoSeries(gpd.points_from_xy(marks["lon"], marks["lat"]), crs="EPSG:4326")
    xy = np.column_stack([pts.to_crs("EPSG:32748").x, pts.to_crs("EPSG:32748").y])
    codes = pd.factorize(marks["mode"])[0]
    pairs = cKDTree(xy).query_pairs(merge_m, output_type="ndarray")
    if len(pairs):
        # one mode, and either the same name or two lines (an interchange drawn twice)
        line = marks["line"].to_numpy()
        name = marks["name"].str.lower().to_numpy()
        a, b = pairs[:, 0], pairs[:, 1]
        pairs = pairs[(codes[a] == codes[b]) & ((line[a] != line[b]) | (name[a] == name[b]))]
    n = len(marks)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    out = []
    for label in sorted(
        set(labels.tolist()), key=lambda lab: int(np.flatnonzero(labels == lab)[0])
    ):
        members = marks[labels == label]
        name = Counter(members["name"]).most_common(1)[0][0]
        mode = str(members["mode"].iloc[0])
        out.append(
            {
                "name": name,
                "mode": mode,
                "route_ids": ",".join(sorted(set(members["line"]))),
                "placemarks": len(members),
                "lon": float(members["lon"].mean()),
                "lat": float(members["lat"].mean()),
            }
        )
    frame = pd.DataFrame(out)
    ids = [f"{m}-{slug(n, 'station')}" for m, n in zip(frame["mode"], frame["name"], strict=True)]
    seen: Counter[str] = Counter()
    unique = []
    for stop_id in ids:
        seen[stop_id] += 1
        unique.append(stop_id if seen[stop_id] == 1 else f"{stop_id}-{seen[stop_id]}")
    frame.insert(0, "stop_id", unique)
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )


def import_rail(
    bank: Bank,
    path: Path | str,
    *,
    name: str = "rail",
    mode: str | None = None,
    merge_m: float = 200.0,
    attribution: str | None = None,
    author: str | None = None,
) -> FeedImport:
    """Import rail stations from a KML into ``transit_stops`` (one transaction).

    The stations replace the earlier stations of the feed ``name`` in a new layer
    version; GTFS stops stay. The same file again (same SHA-256) writes nothing.
    """
    started = time.perf_counter()
    source = Path(path)
    if merge_m < 0:
        raise InputError(
            f"merge distance must not be negative, got {merge_m}",
            where="merge_m",
            hint="give metres, e.g. 200",
            message_id=f"jarak penggabungan tidak boleh negatif, diberikan {merge_m}",
            hint_id="berikan meter, mis. 200",
        )
    read = read_rail_kml(source, mode=mode, merge_m=merge_m)
    sha = file_sha256(source)
    name = slug(name, "rail")
    same = unchanged_feed(bank, name, sha)
    if same is not None:
        return FeedImport(
            feed_id=str(same["feed_id"]),
            name=name,
            kind="kml",
            source=source.name,
            sha256=sha,
            unchanged=True,
            version=None,
            counts=dict(same["counts"] or {}),
            warnings=list(same["warnings"] or []),
            seconds=time.perf_counter() - started,
        )
    feed_id, seq = next_feed(bank, name, "kml")
    st = read.stations
    stops = gpd.GeoDataFrame(
        {
            "stop_key": [f"{name}/{s}" for s in st["stop_id"]],
            "stop_id": st["stop_id"].to_numpy(),
            "name": st["name"].to_numpy(),
            "mode": st["mode"].to_numpy(),
            "modes": st["mode"].to_numpy(),
            "capacity": [capacity_of(m) for m in st["mode"]],
            "route_ids": st["route_ids"].to_numpy(),
            "feed": name,
            "feed_id": feed_id,
            "parent_station": None,
            "wheelchair_boarding": np.zeros(len(st), dtype=np.int64),
            "peak_departures": np.nan,
            "departures_day": np.nan,
            "service_date": None,
        },
        geometry=st.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    counts = {
        "placemarks": read.placemarks,
        "points": read.points,
        "skipped_not_points": read.skipped,
        "stations": len(st),
        "lines": len(read.lines),
    }
    for m, n in st["mode"].value_counts().sort_index().items():
        counts[f"stations_{m}"] = int(n)
    credit = attribution or (f"{read.document} ({source.name})" if read.document else source.name)
    record = {
        "feed_id": feed_id,
        "name": name,
        "kind": "kml",
        "seq": seq,
        "source": source.name,
        "sha256": sha,
        "valid_from": None,
        "valid_to": None,
        "service_date": None,
        "peak_window": None,
        "counts": counts,
        "warnings": read.warnings,
        "extra": {
            "document": read.document,
            "lines": read.lines,
            "merge_m": merge_m,
            "attribution": credit,
        },
    }
    version = write_feed(
        bank,
        record=record,
        stops=stops,
        tables=[],
        meta=layer_meta(bank, source=source.name, attribution=credit, feed_name=name),
        author=author,
        message=f"rail stations {source.name} ({feed_id})",
    )
    return FeedImport(
        feed_id=feed_id,
        name=name,
        kind="kml",
        source=source.name,
        sha256=sha,
        unchanged=False,
        version=version,
        counts={**counts, "layer_stops": len(st)},
        warnings=read.warnings,
        seconds=time.perf_counter() - started,
    )
