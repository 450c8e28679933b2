"""Admin-unit hierarchy of Jakarta: names, codes, matching, units, roll-up and point lookup.

The functions are pure (frames in, frames out); the bank stores their results as the
``admin_units`` layer.
"""

from tangguh.admin.codes import (
    KOTA_CODES,
    AdminCode,
    KotaCode,
    format_bps,
    format_kemendagri,
    kota_by_code,
    parent_code,
    parse_code,
)
from tangguh.admin.match import MatchResult, match_units
from tangguh.admin.names import NAME_VARIANTS, name_key, normalize_name, normalize_rw
from tangguh.admin.units import (
    LEVEL_RANK,
    LEVELS,
    UNIT_COLUMNS,
    LinkReport,
    ancestors,
    children,
    lookup_points,
    rollup,
    tree,
    units_from_frames,
)

__all__ = [
    "KOTA_CODES",
    "LEVELS",
    "LEVEL_RANK",
    "NAME_VARIANTS",
    "UNIT_COLUMNS",
    "AdminCode",
    "KotaCode",
    "LinkReport",
    "MatchResult",
    "ancestors",
    "children",
    "format_bps",
    "format_kemendagri",
    "kota_by_code",
    "lookup_points",
    "match_units",
    "name_key",
    "normalize_name",
    "normalize_rw",
    "parent_code",
    "parse_code",
    "rollup",
    "tree",
    "units_from_frames",
]
