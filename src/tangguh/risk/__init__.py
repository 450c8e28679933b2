"""Risk information: hazard classifications, minimum needs (issue 3).

Classifications and needs profiles are data (TOML files in ``tangguh/risk/data/``
or written by users), validated on load.
"""

from tangguh.risk.classification import (
    HAZARDS,
    Classification,
    HazardClass,
    builtin_classifications,
    load_classification,
    validate_classification,
)
from tangguh.risk.needs import (
    COUNT_UNITS,
    Need,
    NeedsProfile,
    builtin_profiles,
    load_profile,
    validate_profile,
)

__all__ = [
    "COUNT_UNITS",
    "HAZARDS",
    "Classification",
    "HazardClass",
    "Need",
    "NeedsProfile",
    "builtin_classifications",
    "builtin_profiles",
    "load_classification",
    "load_profile",
    "validate_classification",
    "validate_profile",
]
