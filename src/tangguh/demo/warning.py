"""The demo city's warning chain: thresholds, river links and warned RWs of its gauges.

The synthetic river gauges carry their Siaga thresholds, the next gauge downstream and
the travel time in their attributes (see ``_gauges.py``). This turns them into the
rule engine's data, so the dashboard shows live Siaga levels and a pushed reading runs
the whole chain on the demo bank: versioned thresholds (source "demo (synthetic)"),
river links with lead times, and as warned areas the RWs within ``radius_m`` of each
gauge (lead 0) — a downstream gauge's areas are reached through the links.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely

from tangguh.admin.store import load_units
from tangguh.bank.base import Bank
from tangguh.warning.rules import set_river_link, set_station_areas, set_thresholds

__all__ = ["DemoWarning", "seed_demo_warning"]

SOURCE = "demo (synthetic)"


@dataclass
class DemoWarning:
    gauges: int = 0
    links: int = 0
    areas: dict[str, int] = field(default_factory=dict)


def seed_demo_warning(bank: Bank, *, radius_m: float = 1500.0) -> DemoWarning:
    """Thresholds, links and warned RWs for every river gauge of the demo city."""
    stations = bank.stations(kind="river_gauge")
    units = load_units(bank)
    rws = units[units["level"] == "rw"]
    utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32748", always_xy=True)
    rw_geoms = shapely.transform(
        np.asarray(rws.geometry.to_numpy(), dtype=object),
        lambda xy: np.column_stack(utm.transform(xy[:, 0], xy[:, 1])),
    )
    tree = shapely.STRtree(rw_geoms)
    rw_ids = rws["unit_id"].to_numpy()
    out = DemoWarning()
    with bank.transaction():
        for row in stations.itertuples():
            attrs = row.attributes if isinstance(row.attributes, dict) else {}
            if not {"siaga3", "siaga2", "siaga1"} <= set(attrs):
                continue
            set_thresholds(
                bank,
                str(row.station_id),
                "water_level",
                {3: attrs["siaga3"], 2: attrs["siaga2"], 1: attrs["siaga1"]},
                datum=str(attrs.get("datum", "local gauge zero")),
                source=SOURCE,
            )
            out.gauges += 1
            downstream = attrs.get("downstream")
            if downstream and downstream != "sea":
                set_river_link(
                    bank,
                    str(row.station_id),
                    str(downstream),
                    int(float(attrs.get("lead_time_h", 0)) * 60),
                    river=None if row.river is None else str(row.river),
                    source=SOURCE,
                )
                out.links += 1
            x, y = utm.transform(float(row.lon), float(row.lat))
            near = tree.query(shapely.Point(x, y).buffer(radius_m), predicate="intersects")
            ids = sorted(str(u) for u in rw_ids[near])
            out.areas[str(row.station_id)] = set_station_areas(
                bank, str(row.station_id), ids, source=SOURCE, replace=True
            )
    return out
