"""Siaga rule engine: versioned thresholds, level / rate-of-rise / rainfall / combined rules
with hysteresis and minimum dwell, river links with lead times, live evaluation and replay.

Public surface (see docs/warning-rules.md)::

    set_thresholds(bank, "katulampa", "water_level", {3: 80, 2: 150, 1: 200},
                   valid_from="2021-01-01T00:00+07:00", datum="local gauge zero", source="DSDA")
    seed_jakarta(bank)                       # Ciliwung gauges, links, warned kelurahan
    RuleEngine(bank).evaluate(readings)      # -> list[Trigger], state in tg_rule_state
    replay(bank, series)                     # -> ReplayResult (pure, no state written)
"""

from __future__ import annotations

from tangguh.warning._rules_engine import (
    GOOD_QUALITY,
    ReplayResult,
    RuleEngine,
    StationState,
    replay,
    rule_states,
)
from tangguh.warning._rules_seed import JAKARTA_RULES, SeedReport, seed_jakarta
from tangguh.warning._rules_store import (
    ALWAYS,
    DEFAULT_DWELL_MINUTES,
    DEFAULT_MARGIN_PCT,
    RULE_KINDS,
    RiverLink,
    Rule,
    StationArea,
    ThresholdVersion,
    add_rule,
    add_rules,
    delete_rule,
    import_station_thresholds,
    import_thresholds_csv,
    load_rules_toml,
    published_thresholds,
    river_links,
    rules,
    set_river_link,
    set_river_links,
    set_station_areas,
    set_thresholds,
    station_areas,
    threshold_history,
    thresholds_at,
    validate_rule,
    validate_thresholds,
)

__all__ = [
    "ALWAYS",
    "DEFAULT_DWELL_MINUTES",
    "DEFAULT_MARGIN_PCT",
    "GOOD_QUALITY",
    "JAKARTA_RULES",
    "RULE_KINDS",
    "ReplayResult",
    "RiverLink",
    "Rule",
    "RuleEngine",
    "SeedReport",
    "StationArea",
    "StationState",
    "ThresholdVersion",
    "add_rule",
    "add_rules",
    "delete_rule",
    "import_station_thresholds",
    "import_thresholds_csv",
    "load_rules_toml",
    "published_thresholds",
    "replay",
    "river_links",
    "rule_states",
    "rules",
    "seed_jakarta",
    "set_river_link",
    "set_river_links",
    "set_station_areas",
    "set_thresholds",
    "station_areas",
    "threshold_history",
    "thresholds_at",
    "validate_rule",
    "validate_thresholds",
]
