"""Tables of the connectivity evacuate stage (created by migration 9).

- ``tg_evac_plan``: one row per evacuation plan: the flood scenario, the parameters,
  the layer versions read, the summary, the timings and the version of the
  ``evacuation_routes`` layer that holds the plan's route lines.
- ``tg_evac_rw``: per plan and RW: evacuees, people placed in a shelter, shortfall, the
  reason when the RW has no safe route, the wading metres to the nearest open street.
- ``tg_evac_shelter``: per plan and shelter: capacity, load, usable or why not.

A plan, its rows and its routes layer version are written in one transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from tangguh.bank import _schema as S

__all__ = ["TABLES", "tg_evac_plan", "tg_evac_rw", "tg_evac_shelter"]

tg_evac_plan = Table(
    "tg_evac_plan",
    S.metadata,
    #: ``evac-YYYYMMDDTHHMMSSZ-<6 hex>``
    Column("plan_id", String(64), primary_key=True),
    Column("created", S.UTCInstant, nullable=False),
    Column("author", Text),
    #: short key of the flood scenario, e.g. ``layer:flood_2007`` or ``rw-states>=2``
    Column("flood_key", String(190), nullable=False),
    #: the scenario in full (kind, layer, version, field, threshold, polygons, area)
    Column("scenario", S._JSON, nullable=False),
    #: max_walk_m, max_wade_m, speed_mps, demand, capacity column, …
    Column("params", S._JSON, nullable=False),
    #: layer id -> version read
    Column("inputs", S._JSON, nullable=False),
    Column("summary", S._JSON, nullable=False),
    Column("timings", S._JSON, nullable=False),
    Column("routes_layer", String(64), nullable=False),
    #: version of ``routes_layer`` written with the plan (NULL when it has no route)
    Column("routes_version", Integer),
)
Index("ix_tg_evac_plan_flood", tg_evac_plan.c.flood_key, tg_evac_plan.c.created)

tg_evac_rw = Table(
    "tg_evac_rw",
    S.metadata,
    Column("plan_id", String(64), nullable=False),
    Column("unit_id", String(190), nullable=False),
    Column("name", Text),
    Column("parent_id", String(190)),
    #: people to evacuate (population at homes inside the flood, or everyone)
    Column("evacuees", Integer, nullable=False),
    Column("placed", Integer, nullable=False),
    Column("shortfall", Integer, nullable=False),
    #: NULL when every evacuee is placed; else no_open_street | beyond_limit |
    #: shelters_full (partly placed: shelters_full too)
    Column("reason", String(32)),
    #: straight metres from the origin to the open street it starts on
    Column("wade_m", Float),
    #: shelters used by the RW
    Column("shelters", Integer, nullable=False),
    #: population-weighted origin (EPSG:4326)
    Column("lon", Float),
    Column("lat", Float),
    PrimaryKeyConstraint("plan_id", "unit_id"),
)

tg_evac_shelter = Table(
    "tg_evac_shelter",
    S.metadata,
    Column("plan_id", String(64), nullable=False),
    Column("shelter_id", String(190), nullable=False),
    Column("name", Text),
    Column("capacity", Integer, nullable=False),
    Column("load", Integer, nullable=False),
    Column("usable", Boolean, nullable=False),
    #: NULL when usable; else flooded | no_open_street
    Column("reason", String(32)),
    Column("lon", Float),
    Column("lat", Float),
    PrimaryKeyConstraint("plan_id", "shelter_id"),
)

TABLES: list[Table] = [tg_evac_plan, tg_evac_rw, tg_evac_shelter]
