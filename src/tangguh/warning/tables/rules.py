"""Tables of the warning stage 'rules' (created by migration 5).

- ``tg_threshold``: Siaga thresholds per station and parameter, versioned by ``valid_from``
  (a new version never overwrites an older one, so replays use the thresholds in force).
- ``tg_rule``: rules beyond the plain threshold rule (rate of rise, rainfall, combined) and
  per-station settings of the level rule (hysteresis margin, minimum dwell).
- ``tg_rule_state``: live state of each (station, parameter) state machine.
- ``tg_river_link``: upstream -> downstream gauges with the travel time of the flood wave.
- ``tg_station_area``: the admin units (kelurahan, RW) each station warns.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from tangguh.bank import _schema as S

__all__ = [
    "TABLES",
    "tg_river_link",
    "tg_rule",
    "tg_rule_state",
    "tg_station_area",
    "tg_threshold",
]

tg_threshold = Table(
    "tg_threshold",
    S.metadata,
    Column("station_id", String(128), nullable=False),
    Column("parameter", String(64), nullable=False),
    #: Siaga level 1..3 whose lower bound this is (Siaga 4 = below the Siaga 3 value)
    Column("level", Integer, nullable=False),
    Column("value", Float, nullable=False),
    #: e.g. "local gauge zero", "peil"
    Column("datum", Text),
    Column("valid_from", S.UTCInstant, nullable=False),
    Column("source", Text),
    Column("created", S.UTCInstant, nullable=False),
    Column("author", Text),
    PrimaryKeyConstraint("station_id", "parameter", "level", "valid_from"),
)

tg_rule = Table(
    "tg_rule",
    S.metadata,
    Column("rule_id", String(128), primary_key=True),
    #: level | rate | rain | combined
    Column("kind", String(16), nullable=False),
    Column("station_id", String(128), nullable=False),
    Column("parameter", String(64), nullable=False),
    Column("config", S._JSON, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created", S.UTCInstant, nullable=False),
)

tg_rule_state = Table(
    "tg_rule_state",
    S.metadata,
    Column("station_id", String(128), nullable=False),
    Column("parameter", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    #: when the current level was entered
    Column("since", S.UTCInstant),
    #: time of the last reading that drove the state machine
    Column("last_t", S.UTCInstant),
    #: {"1": micros, "2": …}: start of the current run below (threshold - margin) per level
    Column("below_since", S._JSON),
    #: {"1": rule_id, …}: the rule that raised each active level
    Column("raised_by", S._JSON),
    Column("updated", S.UTCInstant, nullable=False),
    PrimaryKeyConstraint("station_id", "parameter"),
)

tg_river_link = Table(
    "tg_river_link",
    S.metadata,
    Column("upstream_station", String(128), nullable=False),
    Column("downstream_station", String(128), nullable=False),
    Column("lead_minutes", Integer, nullable=False),
    Column("river", Text),
    Column("source", Text),
    PrimaryKeyConstraint("upstream_station", "downstream_station"),
)

tg_station_area = Table(
    "tg_station_area",
    S.metadata,
    Column("station_id", String(128), nullable=False),
    Column("unit_id", String(128), nullable=False),
    #: travel time from the station to this unit (0 = the station's own reach)
    Column("lead_minutes", Integer, nullable=False, default=0),
    Column("source", Text),
    PrimaryKeyConstraint("station_id", "unit_id"),
)

TABLES: list[Table] = [tg_threshold, tg_rule, tg_rule_state, tg_river_link, tg_station_area]
