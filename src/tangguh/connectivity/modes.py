"""Transit modes and their SDG 11.2.1 capacity classes (STANDARDS.md §5.5).

SDG 11.2.1 counts people within 500 m walking distance of a low-capacity stop (bus,
BRT, minibus, tram) or 1 km of a high-capacity one (rail: commuter rail, metro, light
rail, ferry terminals count as high as well in the UN-Habitat method).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["HIGH_CAPACITY_MODES", "LOW_CAPACITY_MODES", "WALK_LIMIT_M", "Capacity", "capacity_of"]

Capacity = Literal["low", "high"]

#: Modes counted as low-capacity (walk limit 500 m).
LOW_CAPACITY_MODES = frozenset(
    {"bus", "brt", "minibus", "mikrotrans", "angkot", "tram", "feeder", "royaltrans"}
)
#: Modes counted as high-capacity (walk limit 1 km).
HIGH_CAPACITY_MODES = frozenset(
    {"rail", "krl", "commuter_rail", "mrt", "metro", "lrt", "subway", "ferry", "airport_rail"}
)
#: Walking limit in metres of each capacity class.
WALK_LIMIT_M: dict[str, float] = {"low": 500.0, "high": 1000.0}


def capacity_of(mode: str) -> Capacity | None:
    """``"low"`` or ``"high"`` for a mode name (case-insensitive), ``None`` if unknown."""
    key = mode.strip().lower().replace("-", "_").replace(" ", "_")
    if key in HIGH_CAPACITY_MODES:
        return "high"
    if key in LOW_CAPACITY_MODES:
        return "low"
    return None
