"""GTFS import with validation, stop classification and departures per stop and hour.

:func:`import_gtfs` reads a GTFS zip, validates it (missing files, bad times,
coordinates, unknown ids: every problem with file, row, field and value, nothing
stored), assigns each route a mode and each stop a mode and an SDG 11.2.1 capacity
class (:mod:`tangguh.connectivity.modes`), counts departures per stop and hour on a
representative service date (stop_times plus frequencies.txt), and writes in one
transaction a new version of the ``transit_stops`` layer, the feed record and the
schedule (``tangguh.connectivity.tables.transit``). The same file again (same SHA-256)
writes nothing.

:func:`load_stops` is the one entry point downstream code (SDG 11.2.1, TOD, cascade)
uses: every stop of the layer with its capacity class, GTFS stops and rail stations
(:mod:`tangguh.connectivity.rail`) alike. :func:`departures` gives departures per stop
and hour for any service date of a stored feed. See docs/transit.md.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Table, select

from tangguh.bank import Bank
from tangguh.connectivity._gtfs_read import ParsedFeed, file_sha256, read_feed
from tangguh.connectivity._gtfs_schedule import (
    DEFAULT_PEAK,
    active_services,
    departures_by_hour,
    parse_peak,
    resolve_day,
)
from tangguh.connectivity._gtfs_store import (
    LAYER,
    FeedImport,
    feed_records,
    layer_meta,
    next_feed,
    slug,
    unchanged_feed,
    write_feed,
)
from tangguh.connectivity.modes import capacity_of
from tangguh.connectivity.tables.transit import (
    tg_transit_departure,
    tg_transit_frequency,
    tg_transit_route,
    tg_transit_service,
    tg_transit_service_date,
    tg_transit_stop_time,
    tg_transit_trip,
)
from tangguh.errors import InputError, NotFoundError

__all__ = [
    "DEFAULT_PEAK",
    "LAYER",
    "MODE_PRIORITY",
    "FeedImport",
    "departures",
    "feeds",
    "import_gtfs",
    "load_stops",
    "route_mode",
]

#: Base mode of each basic GTFS route_type.
_ROUTE_TYPES: dict[int, str] = {
    0: "tram", 1: "mrt", 2: "rail", 3: "bus", 4: "ferry", 5: "tram", 6: "aerial_lift",
    7: "funicular", 11: "bus", 12: "monorail",
}  # fmt: skip
#: Base mode of the extended route types, by hundreds (100 = railway service, …).
_EXTENDED: dict[int, str] = {
    1: "rail", 2: "bus", 4: "mrt", 7: "bus", 8: "bus", 9: "tram", 10: "ferry", 12: "ferry",
    13: "aerial_lift", 14: "funicular",
}  # fmt: skip
#: Words in route_desc / names that refine a bus-like or rail-like base mode.
_BUS_WORDS = (("brt", "brt"), ("mikrotrans", "mikrotrans"), ("royaltrans", "royaltrans"),
              ("angkot", "angkot"), ("minibus", "minibus"))  # fmt: skip
_RAIL_WORDS = (("krl", "krl"), ("commuter", "krl"), ("mrt", "mrt"), ("lrt", "lrt"))
_RAIL_BASES = frozenset({"rail", "mrt", "tram", "monorail"})
#: A stop served by several modes takes the first of this list as its ``mode``.
MODE_PRIORITY = (
    "mrt", "lrt", "krl", "rail", "monorail", "ferry", "brt", "royaltrans", "bus", "tram",
    "mikrotrans", "angkot", "minibus", "aerial_lift", "funicular", "other",
)  # fmt: skip


def route_mode(
    route_type: int,
    route_desc: str = "",
    short_name: str = "",
    long_name: str = "",
    mode_map: Mapping[str, str] | None = None,
) -> str:
    """The mode of a route.

    ``mode_map`` (route_desc -> mode, case-insensitive) wins. Otherwise the GTFS
    ``route_type`` gives a base mode (3 bus, 1 metro -> ``mrt``, 2 rail, 0 tram, 4 ferry;
    extended types by hundreds) and a word of ``route_desc``, then the short and long
    names, refines it within its family: bus -> ``brt``/``mikrotrans``/``royaltrans``/
    ``angkot``; rail -> ``krl``/``mrt``/``lrt``. TransJakarta's categories: BRT ->
    brt, Mikrotrans -> mikrotrans, Royaltrans -> royaltrans, Angkutan Umum Integrasi,
    Rusun, Transjabodetabek and Bus Wisata -> bus.
    """
    if mode_map:
        lowered = {k.strip().lower(): v for k, v in mode_map.items()}
        if route_desc.strip().lower() in lowered:
            return lowered[route_desc.strip().lower()].strip().lower()
    base = _ROUTE_TYPES.get(route_type) or _EXTENDED.get(route_type // 100, "other")
    words = _RAIL_WORDS if base in _RAIL_BASES else _BUS_WORDS if base == "bus" else ()
    for text in (route_desc, short_name, long_name):
        tokens = set("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())
        for word, mode in words:
            if word in tokens:
                return mode
    return base


def _rank(mode: str) -> int:
    return MODE_PRIORITY.index(mode) if mode in MODE_PRIORITY else len(MODE_PRIORITY)


def _validity(feed: ParsedFeed) -> tuple[date | None, date | None]:
    info = feed.feed_info
    if info is not None:
        found = []
        for column in ("feed_start_date", "feed_end_date"):
            value = str(info[column].iloc[0]) if column in info.columns else ""
            parsed = pd.to_datetime(value, format="%Y%m%d", errors="coerce")
            found.append(None if pd.isna(parsed) else parsed.date())
        if found[0] is not None and found[1] is not None:
            return found[0], found[1]
    starts = list(feed.services["start_date"]) + list(feed.service_dates["date"])
    ends = list(feed.services["end_date"]) + list(feed.service_dates["date"])
    return (min(starts) if starts else None, max(ends) if ends else None)


def _default_name(feed: ParsedFeed) -> str:
    names = [n for n in feed.agency["agency_name"].tolist() if n]
    if len(names) == 1:
        return slug(names[0])
    return slug(feed.source.stem)


def _stops_frame(
    feed: ParsedFeed,
    routes: pd.DataFrame,
    per_hour: pd.DataFrame,
    *,
    name: str,
    feed_id: str,
    peak_hours: Sequence[int],
    service_date: date,
) -> gpd.GeoDataFrame:
    """The boarding stops served by at least one trip, classified."""
    served = (
        feed.stop_times[["trip_id", "stop_id"]]
        .drop_duplicates()
        .merge(feed.trips[["trip_id", "route_id"]], on="trip_id")
        .merge(routes[["route_id", "mode"]], on="route_id")[["stop_id", "route_id", "mode"]]
        .drop_duplicates()
        .sort_values(["stop_id", "route_id"])
    )
    joined_routes: dict[str, list[str]] = {}
    joined_modes: dict[str, set[str]] = {}
    for stop, route, mode in zip(
        served["stop_id"].tolist(), served["route_id"].tolist(), served["mode"].tolist(),
        strict=True,
    ):  # fmt: skip
        joined_routes.setdefault(stop, []).append(route)
        joined_modes.setdefault(stop, set()).add(mode)
    route_ids = pd.Series({k: ",".join(v) for k, v in joined_routes.items()}, dtype=object)
    modes = pd.Series(
        {k: ",".join(sorted(v, key=_rank)) for k, v in joined_modes.items()}, dtype=object
    )
    stops = feed.stops[(feed.stops["location_type"] == 0)]
    stops = stops[stops["stop_id"].isin(route_ids.index)].copy()
    parents = feed.stops.set_index("stop_id")["wheelchair_boarding"]
    parent = stops["parent_station"]
    inherit = (stops["wheelchair_boarding"] == 0) & (parent != "")
    stops.loc[inherit, "wheelchair_boarding"] = (
        parents.reindex(parent[inherit]).fillna(0).astype(np.int64).to_numpy()
    )
    stop_modes = modes.reindex(stops["stop_id"]).to_numpy()
    main = [m.split(",")[0] for m in stop_modes]
    capacity = []
    for all_modes in stop_modes:
        classes = {capacity_of(m) for m in all_modes.split(",")}
        capacity.append("high" if "high" in classes else "low" if "low" in classes else None)
    peak = per_hour[per_hour["hour"].isin(list(peak_hours))]
    peak_max = peak.groupby("stop_id")["departures"].max()
    day_total = per_hour.groupby("stop_id")["departures"].sum()
    ids = stops["stop_id"]
    return gpd.GeoDataFrame(
        {
            "stop_key": (name + "/" + ids).to_numpy(),
            "stop_id": ids.to_numpy(),
            "name": stops["stop_name"].to_numpy(),
            "mode": main,
            "modes": stop_modes,
            "capacity": capacity,
            "route_ids": route_ids.reindex(ids).to_numpy(),
            "feed": name,
            "feed_id": feed_id,
            "parent_station": stops["parent_station"].replace("", None).to_numpy(),
            "wheelchair_boarding": stops["wheelchair_boarding"].to_numpy(np.int64),
            "peak_departures": peak_max.reindex(ids).fillna(0).to_numpy(float),
            "departures_day": day_total.reindex(ids).fillna(0).to_numpy(float),
            "service_date": service_date.isoformat(),
        },
        geometry=gpd.points_from_xy(stops["stop_lon"], stops["stop_lat"]),
        crs="EPSG:4326",
    )


def import_gtfs(
    bank: Bank,
    path: Path | str,
    *,
    name: str | None = None,
    day: date | str = "weekday",
    peak: str = DEFAULT_PEAK,
    mode_map: Mapping[str, str] | None = None,
    author: str | None = None,
) -> FeedImport:
    """Import a GTFS zip into the bank (one transaction; nothing on any error).

    Parameters
    ----------
    bank:
        The bank.
    path:
        The GTFS ``.zip``.
    name:
        Feed name (successive imports of one feed share it; default: the agency name,
        e.g. ``transjakarta``). A changed file under the same name replaces the feed's
        stops in a new layer version; the same file (same SHA-256) writes nothing.
    day:
        Service date of the stored departures and of ``peak_departures``: a date, or
        ``weekday`` (default), ``monday`` … ``sunday`` for the busiest date of that
        kind in the feed's validity (see :func:`~._gtfs_schedule.resolve_day`).
    peak:
        Peak window, whole hours local time (default ``06:00-09:00,16:00-19:00``).
    mode_map:
        route_desc -> mode overrides, e.g. ``{"Rusun": "bus"}``.
    author:
        Recorded with the layer version and the feed.

    Returns
    -------
    FeedImport
        Feed id, counts, warnings, layer version (``None`` when unchanged).
    """
    started = time.perf_counter()
    window = parse_peak(peak)
    source = Path(path)
    if source.is_file():
        same = unchanged_feed(bank, slug(name) if name else None, file_sha256(source))
        if same is not None:
            return FeedImport(
                feed_id=str(same["feed_id"]),
                name=str(same["name"]),
                kind="gtfs",
                source=source.name,
                sha256=str(same["sha256"]),
                unchanged=True,
                version=None,
                counts=dict(same["counts"] or {}),
                warnings=list(same["warnings"] or []),
                service_date=same["service_date"],
                valid_from=same["valid_from"],
                valid_to=same["valid_to"],
                seconds=time.perf_counter() - started,
            )
    feed = read_feed(source)
    name = slug(name) if name else _default_name(feed)
    valid_from, valid_to = _validity(feed)
    feed_id, seq = next_feed(bank, name, "gtfs")
    r = feed.routes
    modes = [
        route_mode(int(t), d, s, lng, mode_map)
        for t, d, s, lng in zip(
            r["route_type"], r["route_desc"], r["route_short_name"], r["route_long_name"],
            strict=True,
        )
    ]  # fmt: skip
    routes = pd.DataFrame(
        {
            "feed_id": feed_id,
            "route_id": r["route_id"].to_numpy(),
            "agency_id": r["agency_id"].replace("", None).to_numpy(),
            "short_name": r["route_short_name"].to_numpy(),
            "long_name": r["route_long_name"].to_numpy(),
            "route_desc": r["route_desc"].to_numpy(),
            "route_type": r["route_type"].to_numpy(np.int64),
            "mode": modes,
            "capacity": [capacity_of(m) for m in modes],
        }
    )
    reference = feed.reference_date
    service_date = resolve_day(
        day, feed.services, feed.service_dates, feed.trips,
        valid_from=valid_from, valid_to=valid_to, reference=reference,
    )  # fmt: skip
    running = active_services(feed.services, feed.service_dates, service_date)
    per_hour = departures_by_hour(feed.trips, feed.stop_times, feed.frequencies, running)
    stops = _stops_frame(
        feed, routes, per_hour, name=name, feed_id=feed_id, peak_hours=window.hours,
        service_date=service_date,
    )  # fmt: skip
    loc = feed.stops["location_type"]
    counts = {
        "agencies": len(feed.agency),
        "routes": len(feed.routes),
        "trips": len(feed.trips),
        "stop_times": len(feed.stop_times),
        "frequencies": len(feed.frequencies),
        "stops_total": len(feed.stops),
        "stops": int((loc == 0).sum()),
        "stations": int((loc == 1).sum()),
        "entrances": int((loc == 2).sum()),
        "other_locations": int((loc > 2).sum()),
        "served_stops": len(stops),
        "unserved_stops": int((loc == 0).sum()) - len(stops),
        "services": len(feed.services),
        "service_dates": len(feed.service_dates),
        "shapes": feed.shape_ids,
        "shape_points": feed.shape_points,
        "departures_day": int(per_hour["departures"].sum()),
        "trips_day": int(feed.trips["service_id"].isin(running).sum()),
    }
    for mode, n in pd.Series(stops["mode"]).value_counts().sort_index().items():
        counts[f"stops_{mode}"] = int(n)
    for mode, n in pd.Series(modes).value_counts().sort_index().items():
        counts[f"routes_{mode}"] = int(n)
    warnings = [w.text("en") for w in feed.warnings[:50]]
    if len(feed.warnings) > 50:
        warnings.append(f"… and {len(feed.warnings) - 50} more")
    agencies = ", ".join(a for a in feed.agency["agency_name"] if a)
    attribution = f"© {agencies}" if agencies else ""
    record = {
        "feed_id": feed_id,
        "name": name,
        "kind": "gtfs",
        "seq": seq,
        "source": feed.source.name,
        "sha256": feed.sha256,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "service_date": service_date,
        "peak_window": window.text,
        "counts": counts,
        "warnings": warnings,
        "extra": {
            "agencies": list(feed.agency["agency_name"]),
            "timezone": str(feed.agency["agency_timezone"].iloc[0]),
            "reference_date": reference.isoformat() if reference else None,
            "files": feed.files,
            "attribution": attribution,
            "day": day.isoformat() if isinstance(day, date) else day,
        },
    }
    tables = _schedule_tables(feed, feed_id, routes, per_hour, service_date)
    version = write_feed(
        bank,
        record=record,
        stops=stops,
        tables=tables,
        meta=layer_meta(bank, source=feed.source.name, attribution=attribution, feed_name=name),
        author=author,
        message=f"GTFS {feed.source.name} ({feed_id})",
    )
    return FeedImport(
        feed_id=feed_id,
        name=name,
        kind="gtfs",
        source=feed.source.name,
        sha256=feed.sha256,
        unchanged=False,
        version=version,
        counts={**counts, "layer_stops": len(stops)},
        warnings=warnings,
        service_date=service_date,
        valid_from=valid_from,
        valid_to=valid_to,
        seconds=time.perf_counter() - started,
    )


def _schedule_tables(
    feed: ParsedFeed,
    feed_id: str,
    routes: pd.DataFrame,
    per_hour: pd.DataFrame,
    service_date: date,
) -> list[tuple[Table, pd.DataFrame]]:
    """The schedule rows of one feed, per table."""
    trips = feed.trips
    direction = pd.to_numeric(trips["direction_id"], errors="coerce")
    return [
        (tg_transit_route, routes),
        (
            tg_transit_service,
            feed.services.assign(feed_id=feed_id)[
                ["feed_id", "service_id", "days", "start_date", "end_date"]
            ],
        ),
        (
            tg_transit_service_date,
            feed.service_dates.assign(feed_id=feed_id)[
                ["feed_id", "service_id", "date", "exception_type"]
            ],
        ),
        (
            tg_transit_trip,
            pd.DataFrame(
                {
                    "feed_id": feed_id,
                    "trip_id": trips["trip_id"].to_numpy(),
                    "route_id": trips["route_id"].to_numpy(),
                    "service_id": trips["service_id"].to_numpy(),
                    "direction_id": direction.astype("Int64").to_numpy(),
                    "shape_id": trips["shape_id"].replace("", None).to_numpy(),
                }
            ),
        ),
        (
            tg_transit_stop_time,
            feed.stop_times.assign(feed_id=feed_id)[
                [
                    "feed_id",
                    "trip_id",
                    "stop_sequence",
                    "stop_id",
                    "arrival",
                    "departure",
                    "pickup_type",
                ]
            ],
        ),
        (
            tg_transit_frequency,
            feed.frequencies.assign(feed_id=feed_id)[
                ["feed_id", "trip_id", "start_time", "end_time", "headway_secs", "exact_times"]
            ],
        ),
        (
            tg_transit_departure,
            per_hour.assign(feed_id=feed_id, service_date=service_date)[
                ["feed_id", "service_date", "stop_id", "hour", "departures"]
            ],
        ),
    ]


def feeds(bank: Bank) -> pd.DataFrame:
    """Every imported feed (GTFS and rail KML), newest first, with a ``current`` flag.

    ``current`` is true for the feeds whose stops are in the current ``transit_stops``
    layer.
    """
    records = feed_records(bank)
    current = _current_feed_ids(bank)
    return records.assign(current=records["feed_id"].isin(current))


def _current_feed_ids(bank: Bank) -> set[str]:
    if not bank.has_layer(LAYER):
        return set()
    try:
        frame = bank.read_layer(LAYER, columns=["feed_id"])
    except InputError:  # a layer without feeds (the demo city, or imported by hand)
        return set()
    return {str(f) for f in frame["feed_id"].dropna().unique()}


def load_stops(
    bank: Bank,
    *,
    version: int | None = None,
    min_peak_departures: float | None = None,
    include_unknown: bool = False,
) -> gpd.GeoDataFrame:
    """All transit stops with their SDG 11.2.1 capacity class, as one GeoDataFrame.

    GTFS stops and rail stations come from the one ``transit_stops`` layer (also the
    demo city's layer, whose capacity is derived from its ``mode``).

    Parameters
    ----------
    bank:
        The bank.
    version:
        A version of the ``transit_stops`` layer (default: current), to recompute an
        indicator on the stops of an earlier feed.
    min_peak_departures:
        Keep only stops with at least this many departures in their busiest peak
        hour; stops whose frequency is unknown (``NaN``: rail stations from a KML,
        the demo city) are kept.
    include_unknown:
        Keep stops whose mode has no capacity class (``capacity`` None); they are
        not counted by SDG 11.2.1, so they are dropped by default.

    Returns
    -------
    geopandas.GeoDataFrame
        ``stop_id``, ``name``, ``mode`` (lower case), ``capacity`` (``"low"``/
        ``"high"``), ``peak_departures`` (float, NaN if unknown), ``route_ids``,
        ``feed_id`` and the Point geometry (EPSG:4326).
    """
    if not bank.has_layer(LAYER):
        raise NotFoundError(
            "the bank has no transit stops",
            where=f"{bank.url}: layer {LAYER}",
            hint="import them: `tangguh transit import-gtfs FEED.zip` and "
            "`tangguh transit import-rail STATIONS.kml`, or build the demo city",
            message_id="bank data tidak memiliki halte angkutan umum",
            hint_id="impor halte: `tangguh transit import-gtfs FEED.zip` dan "
            "`tangguh transit import-rail STASIUN.kml`, atau buat kota demo",
        )
    layer = bank.read_layer(LAYER, version=version)
    mode = layer["mode"].astype(str).str.strip().str.lower() if "mode" in layer else None
    if mode is None:
        raise InputError(
            f"layer {LAYER} has no mode column",
            where=f"layer {LAYER}, field mode",
            hint="re-import the stops with `tangguh transit import-gtfs`",
            message_id=f"lapisan {LAYER} tidak memiliki kolom mode",
            hint_id="impor ulang halte dengan `tangguh transit import-gtfs`",
        )
    if "capacity" in layer.columns:
        capacity = layer["capacity"].astype(object).where(layer["capacity"].notna(), None)
    else:
        capacity = pd.Series([None] * len(layer), index=layer.index, dtype=object)
    derived = [capacity_of(m) for m in mode]
    capacity = capacity.where(capacity.notna(), pd.Series(derived, index=layer.index))

    def column(name: str, fill: Any) -> Any:
        return layer[name].to_numpy() if name in layer.columns else fill

    out = gpd.GeoDataFrame(
        {
            "stop_id": layer["stop_id"].astype(str).to_numpy(),
            "name": column("name", None),
            "mode": mode.to_numpy(),
            "capacity": capacity.to_numpy(),
            "peak_departures": pd.to_numeric(
                pd.Series(column("peak_departures", np.nan), index=layer.index),
                errors="coerce",
            ).to_numpy(float),
            "route_ids": column("route_ids", None),
            "feed_id": column("feed_id", None),
        },
        geometry=layer.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    if not include_unknown:
        out = out[out["capacity"].notna()]
    if min_peak_departures is not None:
        peak = out["peak_departures"]
        out = out[peak.isna() | (peak >= min_peak_departures)]
    return out.reset_index(drop=True)


def _schedule(bank: Bank, feed_id: str, parts: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Stored schedule tables of one feed (only ``parts``)."""
    tables = {
        "services": tg_transit_service,
        "exceptions": tg_transit_service_date,
        "trips": tg_transit_trip,
        "stop_times": tg_transit_stop_time,
        "frequencies": tg_transit_frequency,
    }
    out = {}
    with bank.connect() as conn:
        for part in parts:
            table = tables[part]
            rows = conn.execute(select(table).where(table.c.feed_id == feed_id)).all()
            out[part] = pd.DataFrame([tuple(r) for r in rows], columns=list(table.c.keys()))
    return out


def departures(
    bank: Bank,
    feed_id: str | None = None,
    day: date | str | None = None,
    *,
    stop_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Departures per stop and hour of a stored GTFS feed on one service date.

    Parameters
    ----------
    bank:
        The bank.
    feed_id:
        A feed id (see :func:`feeds`); default: every GTFS feed in the current stops.
    day:
        ``None`` (default): the feed's representative service date chosen at import
        (the date of ``peak_departures``), read from the departures table. Else a date,
        or ``weekday``/``monday`` … ``sunday`` (the busiest date of that kind in the
        feed's validity, as at import); a date other than the stored one is computed
        from the stored schedule.
    stop_ids:
        Only these stops.

    Returns
    -------
    pandas.DataFrame
        ``feed_id``, ``service_date``, ``stop_id``, ``hour`` (0..23), ``departures``;
        only stop-hours with departures.
    """
    records = feed_records(bank)
    gtfs = records[records["kind"] == "gtfs"]
    if feed_id is None:
        current = _current_feed_ids(bank)
        chosen = gtfs[gtfs["feed_id"].isin(current)]
        if chosen.empty:
            raise NotFoundError(
                "no GTFS feed in the bank's transit stops",
                where=f"{bank.url}: layer {LAYER}",
                hint="import one: `tangguh transit import-gtfs FEED.zip`",
                message_id="tidak ada feed GTFS pada halte di bank data",
                hint_id="impor satu: `tangguh transit import-gtfs FEED.zip`",
            )
    else:
        chosen = gtfs[gtfs["feed_id"] == feed_id]
        if chosen.empty:
            raise NotFoundError(
                f"no GTFS feed {feed_id!r}",
                where="feed_id",
                hint="see `tangguh transit feeds`",
                message_id=f"tidak ada feed GTFS {feed_id!r}",
                hint_id="lihat `tangguh transit feeds`",
            )
    frames = []
    for rec in chosen.to_dict("records"):
        fid = str(rec["feed_id"])
        if day is None:
            service_date = rec["service_date"]
        else:
            sched = _schedule(bank, fid, ("services", "exceptions", "trips"))
            reference = (rec.get("extra") or {}).get("reference_date")
            service_date = resolve_day(
                day, sched["services"], sched["exceptions"], sched["trips"],
                valid_from=rec["valid_from"], valid_to=rec["valid_to"],
                reference=date.fromisoformat(reference) if reference else None,
            )  # fmt: skip
        if service_date == rec["service_date"]:
            with bank.connect() as conn:
                t = tg_transit_departure
                query = select(t.c.stop_id, t.c.hour, t.c.departures).where(
                    (t.c.feed_id == fid) & (t.c.service_date == service_date)
                )
                if stop_ids is not None and len(stop_ids) <= 500:
                    query = query.where(t.c.stop_id.in_(list(stop_ids)))
                rows = conn.execute(query).all()
            per_hour = pd.DataFrame(
                [tuple(r) for r in rows], columns=["stop_id", "hour", "departures"]
            )
        else:
            sched = _schedule(
                bank, fid, ("services", "exceptions", "trips", "stop_times", "frequencies")
            )
            running = active_services(sched["services"], sched["exceptions"], service_date)
            per_hour = departures_by_hour(
                sched["trips"], sched["stop_times"], sched["frequencies"], running
            )
        if stop_ids is not None:
            per_hour = per_hour[per_hour["stop_id"].isin(list(stop_ids))]
        frames.append(per_hour.assign(feed_id=fid, service_date=service_date))
    out = pd.concat(frames, ignore_index=True)
    out = out.astype({"hour": np.int64, "departures": np.int64})
    return out[["feed_id", "service_date", "stop_id", "hour", "departures"]].sort_values(
        ["feed_id", "stop_id", "hour"], ignore_index=True
    )
