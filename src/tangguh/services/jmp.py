"""JMP service ladders for drinking water and sanitation (SDG 6.1.1 / 6.2.1), as data.

The WHO/UNICEF Joint Monitoring Programme ranks household services on ladders
(washdata.org; STANDARDS.md §5.4):

- drinking water: safely managed > basic > limited > unimproved > surface water;
- sanitation: safely managed > basic > limited > unimproved > open defecation.

JMP ranks households from survey answers; a city has layers instead. The rules below
say which layer rows put how many households on which step; they are tables
(:data:`WATER_RULES`, :data:`SANITATION_RULES`), so the docs, the CLI and the code
read the same text. Households no layer accounts for are ``no_data`` — never guessed.
When the households put on steps outside the main service (piped water, sewer) exceed
what is left in a unit, they are scaled down to fit and the unit is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "SANITATION_LADDER",
    "SANITATION_RULES",
    "WATER_LADDER",
    "WATER_RULES",
    "LadderRule",
    "allocate",
    "ladder_rules",
    "sanitation_level",
    "water_source_level",
]

WATER_LADDER = ("safely_managed", "basic", "limited", "unimproved", "surface_water")
SANITATION_LADDER = ("safely_managed", "basic", "limited", "unimproved", "open_defecation")

#: Round trip (minutes, including queueing) above which an improved source is "limited".
ROUND_TRIP_MIN = 30.0


@dataclass(frozen=True)
class LadderRule:
    """One rule: households of ``what`` go to ``level`` when ``when`` holds."""

    ladder: str
    what: str
    level: str
    when: str
    en: str
    id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ladder": self.ladder,
            "what": self.what,
            "level": self.level,
            "when": self.when,
            "en": self.en,
            "id": self.id,
        }


_W = "water"
_S = "sanitation"
#: Drinking-water rules, best first.
WATER_RULES: tuple[LadderRule, ...] = (
    LadderRule(_W, "piped", "safely_managed", "zone quality_ok is not false and no open "
               "water_cut/pipe_burst/low_pressure/dirty_water incident covers the household",
               "Piped water on premises, available (no open supply incident) and meeting "
               "quality standards (the zone is not marked quality_ok = false).",
               "Air perpipaan di rumah, tersedia (tidak ada gangguan pasokan terbuka) dan "
               "memenuhi baku mutu (zona tidak ditandai quality_ok = false)."),
    LadderRule(_W, "piped", "basic", "otherwise",
               "Piped water with an open supply incident or a zone failing quality: improved "
               "source, but not available when needed or not known to be safe.",
               "Air perpipaan dengan gangguan pasokan terbuka atau zona tidak memenuhi baku "
               "mutu: sumber layak, tetapi tidak tersedia saat dibutuhkan atau belum tentu aman."),
    LadderRule(_W, "borehole, well_protected, spring_protected, rainwater, kiosk, hydrant, "
               "tanker, packaged", "basic", f"round_trip_min <= {ROUND_TRIP_MIN:g} or unknown",
               "Improved source, collection within 30 minutes round trip (unknown times count "
               "as within: most are on premises). Groundwater is not counted as safely "
               "managed: quality is not monitored.",
               "Sumber layak, waktu ambil ≤ 30 menit pulang-pergi (waktu tak diketahui dianggap "
               "≤ 30 menit: kebanyakan di pekarangan). Air tanah tidak dihitung aman dikelola: "
               "kualitasnya tidak dipantau."),
    LadderRule(_W, "borehole, well_protected, spring_protected, rainwater, kiosk, hydrant, "
               "tanker, packaged", "limited", f"round_trip_min > {ROUND_TRIP_MIN:g}",
               "Improved source, more than 30 minutes round trip including queueing.",
               "Sumber layak, lebih dari 30 menit pulang-pergi termasuk antre."),
    LadderRule(_W, "well_unprotected, spring_unprotected", "unimproved", "always",
               "Unprotected dug well or spring.", "Sumur gali atau mata air tidak terlindung."),
    LadderRule(_W, "surface", "surface_water", "always",
               "River, canal, pond or other surface water.",
               "Sungai, kanal, kolam atau air permukaan lain."),
)  # fmt: skip

#: Sanitation rules, best first.
SANITATION_RULES: tuple[LadderRule, ...] = (
    LadderRule(_S, "sewer", "safely_managed", "always",
               "Connected to a sewer of a treatment-plant service area: excreta treated "
               "off-site.",
               "Tersambung ke perpipaan limbah area layanan IPAL: tinja diolah di luar lokasi."),
    LadderRule(_S, "communal_plant", "safely_managed", "always",
               "Toilet piped to a communal treatment plant (IPAL komunal).",
               "Jamban tersambung ke IPAL komunal."),
    LadderRule(_S, "septic_tank, pit_slab", "limited", "shared = true",
               "Improved facility shared by two or more households.",
               "Fasilitas layak dipakai bersama dua rumah tangga atau lebih."),
    LadderRule(_S, "septic_tank, pit_slab", "safely_managed",
               "not shared and emptied within desludge_years (default 3) with the sludge "
               "delivered to a treatment plant (desludging record treated = true, or a "
               "destination when treated is empty)",
               "Improved facility, not shared, emptied regularly and the sludge treated "
               "off-site (IPLT).",
               "Fasilitas layak, tidak dipakai bersama, disedot berkala dan lumpurnya diolah di "
               "IPLT."),
    LadderRule(_S, "septic_tank, pit_slab", "basic", "otherwise",
               "Improved facility not shared, with no record of safe emptying.",
               "Fasilitas layak tidak dipakai bersama, tanpa catatan penyedotan yang aman."),
    LadderRule(_S, "shared_toilet", "limited", "always",
               "Shared toilet block (MCK).", "MCK (jamban umum dipakai bersama)."),
    LadderRule(_S, "pit_no_slab, hanging", "unimproved", "always",
               "Pit without slab (cubluk) or toilet over a river or drain.",
               "Cubluk tanpa lantai atau jamban di atas sungai/saluran (helikopter)."),
    LadderRule(_S, "open", "open_defecation", "always",
               "No facility: open defecation.", "Tanpa fasilitas: buang air besar sembarangan."),
)  # fmt: skip

#: Water source type -> (level within the round-trip limit or unknown, level beyond).
_SOURCE_LEVEL: dict[str, tuple[str, str]] = {
    **{t: ("basic", "limited") for t in ("borehole", "well_protected", "spring_protected",
                                          "rainwater", "kiosk", "hydrant", "tanker", "packaged")},
    "well_unprotected": ("unimproved", "unimproved"),
    "spring_unprotected": ("unimproved", "unimproved"),
    "surface": ("surface_water", "surface_water"),
}  # fmt: skip
#: Source types a household has on its premises: one household each when not counted.
HOUSEHOLD_SOURCES = frozenset(
    {"borehole", "well_protected", "well_unprotected", "spring_protected", "rainwater"}
)
_SANITATION_LEVEL: dict[str, str] = {
    "communal_plant": "safely_managed",
    "shared_toilet": "limited",
    "pit_no_slab": "unimproved",
    "hanging": "unimproved",
    "open": "open_defecation",
}


def ladder_rules() -> list[dict[str, Any]]:
    """Every rule of both ladders as JSON (for the CLI, the API and the docs)."""
    return [r.to_json() for r in (*WATER_RULES, *SANITATION_RULES)]


def water_source_level(types: pd.Series, round_trip_min: pd.Series | None = None) -> pd.Series:
    """The water-ladder level of each source row (``None`` for an unknown type)."""
    near = types.map(lambda t: _SOURCE_LEVEL.get(str(t), (None, None))[0])
    far = types.map(lambda t: _SOURCE_LEVEL.get(str(t), (None, None))[1])
    if round_trip_min is None:
        return near
    trip = pd.to_numeric(round_trip_min, errors="coerce")
    return far.where(trip > ROUND_TRIP_MIN, near)


def sanitation_level(types: pd.Series, shared: pd.Series, safely_emptied: pd.Series) -> pd.Series:
    """The sanitation-ladder level of each facility row (sewer is handled separately)."""
    t = types.astype(str)
    level = t.map(_SANITATION_LEVEL)
    improved = t.isin(["septic_tank", "pit_slab"])
    is_shared = shared.fillna(False).astype(bool)
    emptied = safely_emptied.fillna(False).astype(bool)
    level = level.where(~improved, "basic")
    level = level.mask(improved & emptied & ~is_shared, "safely_managed")
    level = level.mask(improved & is_shared, "limited")
    return level


def allocate(
    households: pd.Series,
    first: pd.Series,
    first_levels: pd.DataFrame,
    rest: pd.DataFrame,
    ladder: tuple[str, ...],
) -> tuple[pd.DataFrame, pd.Series]:
    """Households per unit on each step of a ladder.

    Parameters
    ----------
    households:
        Households per unit (index: unit_id).
    first:
        Households of the main service (piped water, sewer) per unit, already capped at
        ``households``.
    first_levels:
        How ``first`` splits over the ladder (columns: levels; rows sum to ``first``).
    rest:
        Households per unit and level from other rows (sources, septic tanks); scaled
        down where ``first + rest`` would exceed ``households``.
    ladder:
        The ladder's levels, best first.

    Returns
    -------
    (counts, scale)
        ``counts``: households per unit and level plus ``no_data``; ``scale``: the
        factor applied to ``rest`` per unit (1 where it fit).
    """
    idx = households.index
    hh = households.astype(float)
    out = pd.DataFrame(0.0, index=idx, columns=[*ladder, "no_data"])
    fl = first_levels.reindex(index=idx, columns=list(ladder)).fillna(0.0)
    out[list(ladder)] += fl
    room = np.maximum(hh - first.reindex(idx).fillna(0.0), 0.0)
    r = rest.reindex(index=idx, columns=list(ladder)).fillna(0.0)
    total = r.sum(axis=1)
    scale = pd.Series(
        np.where(total > room, np.divide(room, total.where(total > 0, 1.0)), 1.0), index=idx
    )
    out[list(ladder)] += r.mul(scale, axis=0)
    out["no_data"] = np.maximum(hh - out[list(ladder)].sum(axis=1), 0.0)
    return out, scale
