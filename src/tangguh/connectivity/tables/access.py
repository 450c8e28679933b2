"""Tables of the connectivity access stage (created by migration 9).

- ``tg_transit_access_run``: one row per SDG 11.2.1 computation: when, the stops layer
  and its version (and the GTFS feeds behind it), the roads / buildings / admin layer
  versions, the parameters (minimum departures, walking limits), the city summary, the
  stops left off the network, timings.
- ``tg_transit_access_value``: the values of a run per admin unit (RW, kelurahan,
  kecamatan, kota): people, people reached, share, usable stops in the unit. The time
  series of a unit is its rows over the runs.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from tangguh.bank import _schema as S

__all__ = ["TABLES", "tg_transit_access_run", "tg_transit_access_value"]

tg_transit_access_run = Table(
    "tg_transit_access_run",
    S.metadata,
    Column("run_id", String(32), primary_key=True),
    #: sdg_11_2_1
    Column("indicator", String(32), nullable=False),
    Column("computed", S.UTCInstant, nullable=False),
    Column("stops_layer", String(64), nullable=False),
    Column("stops_version", Integer),
    #: GTFS / KML feeds that wrote the stops layer version: [feed_id, …]
    Column("feeds", S._JSON, nullable=False),
    Column("roads_layer", String(64), nullable=False),
    Column("roads_version", Integer),
    #: every input layer and its version: {layer_id: version}
    Column("inputs", S._JSON, nullable=False),
    #: min_departures, walk limits, levels, population method …
    Column("parameters", S._JSON, nullable=False),
    #: a canonical text of the parameters, to find the previous run of the same question
    Column("parameters_key", Text, nullable=False),
    #: city totals: population, reached, share, stops used, stops off network …
    Column("summary", S._JSON, nullable=False),
    #: stops not counted: [{stop_id, name, mode, reason, offset_m}]
    Column("stops_excluded", S._JSON, nullable=False),
    Column("timings", S._JSON, nullable=False),
    Column("software_version", String(32), nullable=False),
    Column("author", Text),
    Index("ix_tg_transit_access_run_computed", "indicator", "computed"),
)

tg_transit_access_value = Table(
    "tg_transit_access_value",
    S.metadata,
    Column("run_id", String(32), nullable=False),
    Column("unit_id", String(190), nullable=False),
    Column("level", String(16), nullable=False),
    Column("population", Float, nullable=False),
    Column("reached", Float, nullable=False),
    #: reached / population (NULL where nobody lives)
    Column("share", Float),
    #: usable stops located in the unit
    Column("stops", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "unit_id"),
    Index("ix_tg_transit_access_value_unit", "unit_id"),
)

TABLES: list[Table] = [tg_transit_access_run, tg_transit_access_value]
