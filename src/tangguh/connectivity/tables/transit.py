"""Tables of the connectivity transit stage (created by migration 9).

- ``tg_transit_feed``: one row per import of a GTFS feed or a rail-station KML: feed id,
  feed name, source file and its SHA-256, when, validity dates, the representative
  service date, counts, warnings and the ``transit_stops`` layer version it wrote.
- ``tg_transit_route``, ``tg_transit_service``, ``tg_transit_service_date``,
  ``tg_transit_trip``, ``tg_transit_stop_time``, ``tg_transit_frequency``: the schedule
  of each GTFS feed (times in seconds after midnight of the service day; hours may pass
  24), so departures for any service date can be computed from the bank later.
- ``tg_transit_departure``: departures per stop and hour of the day on the feed's
  representative service date, computed at import.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from tangguh.bank import _schema as S

__all__ = [
    "TABLES",
    "tg_transit_departure",
    "tg_transit_feed",
    "tg_transit_frequency",
    "tg_transit_route",
    "tg_transit_service",
    "tg_transit_service_date",
    "tg_transit_stop_time",
    "tg_transit_trip",
]

tg_transit_feed = Table(
    "tg_transit_feed",
    S.metadata,
    #: ``<name>-<seq>``, e.g. ``transjakarta-2``
    Column("feed_id", String(96), primary_key=True),
    #: the feed's name (slug): successive imports of one feed share it
    Column("name", String(64), nullable=False),
    #: gtfs | kml
    Column("kind", String(16), nullable=False),
    #: 1, 2, … per name
    Column("seq", Integer, nullable=False),
    #: source file name (no folder)
    Column("source", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("imported", S.UTCInstant, nullable=False),
    Column("author", Text),
    #: validity of the feed (feed_info, else calendar / calendar_dates)
    Column("valid_from", Date),
    Column("valid_to", Date),
    #: service date of the stored departures and of peak_departures
    Column("service_date", Date),
    #: e.g. "06:00-09:00,16:00-19:00"
    Column("peak_window", Text),
    Column("layer_id", String(64), nullable=False),
    Column("layer_version", Integer),
    Column("counts", S._JSON, nullable=False),
    Column("warnings", S._JSON, nullable=False),
    #: agencies, time zone, feed_version, …
    Column("extra", S._JSON),
)
Index("ix_tg_transit_feed_name", tg_transit_feed.c.name, tg_transit_feed.c.seq)

tg_transit_route = Table(
    "tg_transit_route",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("route_id", String(128), nullable=False),
    Column("agency_id", String(128)),
    Column("short_name", Text),
    Column("long_name", Text),
    Column("route_desc", Text),
    Column("route_type", Integer, nullable=False),
    #: the mode Tangguh assigned (brt, bus, mikrotrans, royaltrans, krl, mrt, lrt, …)
    Column("mode", String(32), nullable=False),
    #: SDG 11.2.1 class: low | high | NULL (not counted)
    Column("capacity", String(8)),
    PrimaryKeyConstraint("feed_id", "route_id"),
)

tg_transit_service = Table(
    "tg_transit_service",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("service_id", String(128), nullable=False),
    #: seven 0/1 characters, Monday first
    Column("days", String(7), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    PrimaryKeyConstraint("feed_id", "service_id"),
)

tg_transit_service_date = Table(
    "tg_transit_service_date",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("service_id", String(128), nullable=False),
    Column("date", Date, nullable=False),
    #: 1 = service added on the date, 2 = removed
    Column("exception_type", Integer, nullable=False),
    PrimaryKeyConstraint("feed_id", "service_id", "date"),
)

tg_transit_trip = Table(
    "tg_transit_trip",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("trip_id", String(128), nullable=False),
    Column("route_id", String(128), nullable=False),
    Column("service_id", String(128), nullable=False),
    Column("direction_id", Integer),
    Column("shape_id", String(128)),
    PrimaryKeyConstraint("feed_id", "trip_id"),
)

tg_transit_stop_time = Table(
    "tg_transit_stop_time",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("trip_id", String(128), nullable=False),
    Column("stop_sequence", Integer, nullable=False),
    Column("stop_id", String(128), nullable=False),
    #: seconds after midnight of the service day (empty times interpolated at import)
    Column("arrival", Integer, nullable=False),
    Column("departure", Integer, nullable=False),
    #: GTFS pickup_type: 1 = no pickup (not counted as a departure)
    Column("pickup_type", Integer, nullable=False),
    PrimaryKeyConstraint("feed_id", "trip_id", "stop_sequence"),
)

tg_transit_frequency = Table(
    "tg_transit_frequency",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("trip_id", String(128), nullable=False),
    #: seconds after midnight of the service day
    Column("start_time", Integer, nullable=False),
    Column("end_time", Integer, nullable=False),
    Column("headway_secs", Integer, nullable=False),
    Column("exact_times", Integer, nullable=False),
    PrimaryKeyConstraint("feed_id", "trip_id", "start_time"),
)

tg_transit_departure = Table(
    "tg_transit_departure",
    S.metadata,
    Column("feed_id", String(96), nullable=False),
    Column("service_date", Date, nullable=False),
    Column("stop_id", String(128), nullable=False),
    #: hour of the day 0..23 (GTFS times past 24:00 fold onto the early hours)
    Column("hour", Integer, nullable=False),
    Column("departures", Integer, nullable=False),
    PrimaryKeyConstraint("feed_id", "service_date", "stop_id", "hour"),
)

TABLES: list[Table] = [
    tg_transit_feed,
    tg_transit_route,
    tg_transit_service,
    tg_transit_service_date,
    tg_transit_trip,
    tg_transit_stop_time,
    tg_transit_frequency,
    tg_transit_departure,
]
