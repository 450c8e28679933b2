"""The deterministic synthetic demo city (`tangguh demo`).

:func:`build_city` draws a city with the shape of Jakarta's problems but none of its
data: a province on a northern coastline inside the real Jakarta bounding box,
nested admin units (province > kota > kecamatan > kelurahan > RW) with population,
rivers flowing north into the sea with gauges and a year of hourly readings
including floods that reach Siaga 1, buildings, roads, and the facilities a
resilience platform works with. Everything is EPSG:4326 and marked synthetic.

Same ``size`` and ``seed`` give byte-identical output: every part draws from its own
random stream (``numpy.random.default_rng([seed, part])``), so changing one part
never shifts the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from tangguh.demo._admin import build_admin
from tangguh.demo._buildings import build_buildings, facilities_from_buildings
from tangguh.demo._gauges import build_observations, build_stations
from tangguh.demo._geo import outline_for
from tangguh.demo._network import build_rivers, build_roads
from tangguh.demo._services import build_tps, build_transit_stops, build_water_zones
from tangguh.demo._services_data import SERVICE_LAYER_IDS, build_service_layers
from tangguh.errors import InputError

__all__ = ["LAYER_IDS", "SIZES", "DemoCity", "build_city"]

SIZES = ("small", "full")
#: Layer ids in the order they are built and loaded.
LAYER_IDS = (
    "admin_units",
    "rivers",
    "buildings",
    "roads",
    "shelters",
    "hospitals",
    "schools",
    "markets",
    "transit_stops",
    "water_service_zones",
    "tps",
    *SERVICE_LAYER_IDS,
)
#: One random stream per part (the second element of the seed sequence).
_STREAMS = {
    "admin": 1, "rivers": 2, "roads": 3, "buildings": 4, "facilities": 5, "transit": 6,
    "tps": 7, "water": 8, "stations": 9, "observations": 10, "services": 11,
}  # fmt: skip


@dataclass
class DemoCity:
    """A generated demo city.

    Attributes
    ----------
    layers:
        Layer id -> GeoDataFrame in EPSG:4326 (geometry column ``geometry``); ids in
        :data:`LAYER_IDS`.
    stations:
        One row per station: station_id, name, kind (river_gauge, rain_gauge,
        tide_gauge, pump_house, reservoir), lon, lat (degrees), river (name or
        None), attributes (dict; river gauges carry ``siaga3``/``siaga2``/``siaga1``
        in cm above the local gauge zero, ``downstream`` and ``lead_time_h``), source.
    observations:
        Long table: station_id, parameter (``water_level`` in cm or ``rainfall`` in
        mm/h), t (tz-aware UTC), value, unit, quality, source. Hourly, all of 2024.
    meta:
        ``size``, ``seed``, ``synthetic`` (True), ``crs``, ``bbox``, ``events`` (flood
        events and planted glitches with their times), ``pop_year``,
        ``observation_period``.
    """

    layers: dict[str, gpd.GeoDataFrame]
    stations: pd.DataFrame
    observations: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Feature counts per layer and per admin level, station and observation counts."""
        admin = self.layers["admin_units"]
        return {
            "size": self.meta.get("size"),
            "seed": self.meta.get("seed"),
            "synthetic": True,
            "layers": {lid: len(frame) for lid, frame in self.layers.items()},
            "admin_levels": {str(k): int(v) for k, v in admin["level"].value_counts().items()},
            "population": int(admin.loc[admin["level"] == "province", "population"].sum()),
            "stations": {str(k): int(v) for k, v in self.stations["kind"].value_counts().items()},
            "observations": len(self.observations),
            "events": len(self.meta.get("events", [])),
        }


def build_city(size: Literal["small", "full"] = "small", *, seed: int = 0) -> DemoCity:
    """Generate the demo city.

    Parameters
    ----------
    size:
        ``"small"`` (one coastal district: 2 kota, 4 kecamatan, 12 kelurahan, 60 RW,
        200,000 people, 3,000 buildings; builds in about a second) or ``"full"``
        (5 kota, 40 kecamatan, 260 kelurahan, 2,700 RW, 10.5 million people,
        1,000,000 buildings, ~50,000 road segments; builds in well under a minute).
    seed:
        Non-negative integer; the same size and seed give identical output.

    Returns
    -------
    DemoCity
        Layers, stations, observations and metadata, all marked synthetic.

    Raises
    ------
    InputError
        When ``size`` or ``seed`` is not valid.
    """
    if size not in SIZES:
        raise InputError(
            f"unknown demo city size {size!r}",
            where="size",
            hint="use 'small' or 'full'",
            message_id=f"ukuran kota demo {size!r} tidak dikenal",
            hint_id="gunakan 'small' atau 'full'",
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(
            f"invalid seed {seed!r}",
            where="seed",
            hint="use a non-negative integer, e.g. 0",
            message_id=f"seed {seed!r} tidak sah",
            hint_id="gunakan bilangan bulat tidak negatif, mis. 0",
        )

    def rng(part: str) -> np.random.Generator:
        return np.random.default_rng([int(seed), _STREAMS[part]])

    outline = outline_for(size)
    admin = build_admin(outline, size, rng("admin"))
    rivers = build_rivers(outline, size, rng("rivers"))
    grid = build_roads(outline, rivers, size, rng("roads"))
    buildings = build_buildings(admin, grid.roads, rivers, size, rng("buildings"))
    facilities = facilities_from_buildings(buildings, admin, size, rng("facilities"))
    layers: dict[str, gpd.GeoDataFrame] = {
        "admin_units": admin,
        "rivers": rivers,
        "buildings": buildings,
        "roads": grid.roads,
        "shelters": facilities["shelters"],
        "hospitals": facilities["hospitals"],
        "schools": facilities["schools"],
        "markets": facilities["markets"],
        "transit_stops": build_transit_stops(grid, admin, size),
        "water_service_zones": build_water_zones(admin, size, rng("water")),
        "tps": build_tps(grid, admin, size, rng("tps")),
    }
    layers.update(build_service_layers(layers, size, rng("services")))
    stations = build_stations(admin, rivers, size, rng("stations"))
    observations, events = build_observations(stations, size, rng("observations"))
    meta: dict[str, Any] = {
        "size": size,
        "seed": int(seed),
        "synthetic": True,
        "crs": "EPSG:4326",
        "bbox": tuple(float(v) for v in outline.bounds),
        "pop_year": 2024,
        "observation_period": ("2024-01-01T00:00:00+00:00", "2024-12-31T23:00:00+00:00"),
        "events": events,
    }
    return DemoCity(layers=layers, stations=stations, observations=observations, meta=meta)
