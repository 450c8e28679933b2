"""The demo city's first analyses, so every operators' page has something to show.

After the demo city is loaded, this stores: a coverage snapshot of the basic services
(an indicators-only refresh run), an SDG 11.2.1 run with its layers, the TOD scores of
its station areas, and an evacuation plan for a synthetic flood — the land within
``flood_m`` of the demo rivers, written as the hazard layer ``demo_flood`` — with the
routes layer ``evacuation_routes``. All of it is marked synthetic like the city.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd

from tangguh.bank.base import Bank, LayerMeta

__all__ = ["DEMO_FLOOD_LAYER", "DemoAnalyses", "seed_demo_analyses"]

#: Hazard layer of the demo flood scenario.
DEMO_FLOOD_LAYER = "demo_flood"
_AUTHOR = "demo (synthetic)"


@dataclass
class DemoAnalyses:
    """What :func:`seed_demo_analyses` stored (ids and headline numbers)."""

    coverage_run: str | None = None
    indicators: int = 0
    sdg_run: str | None = None
    sdg_share: float | None = None
    tod_areas: int = 0
    evacuation_plan: str | None = None
    evacuation: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def demo_flood(bank: Bank, *, flood_m: float = 250.0) -> gpd.GeoDataFrame:
    """The synthetic flood: land within ``flood_m`` metres of the demo rivers."""
    rivers = bank.read_layer("rivers")
    wet = rivers.to_crs("EPSG:32748").buffer(flood_m, quad_segs=8).to_crs("EPSG:4326")
    return gpd.GeoDataFrame(
        {
            "zone_id": [f"flood_{i + 1:02d}" for i in range(len(rivers))],
            "river": rivers["name"].astype(str).to_numpy(),
            "hazard_class": "high",
            "depth_cm": 80.0,
        },
        geometry=wet.values,
        crs="EPSG:4326",
    )


def seed_demo_analyses(bank: Bank, *, flood_m: float = 250.0) -> DemoAnalyses:
    """Store the demo's coverage snapshot, SDG 11.2.1 run, TOD scores and evacuation plan.

    Parameters
    ----------
    bank:
        A bank holding the demo city (``tangguh.demo.load_city``).
    flood_m:
        Width of the synthetic flood on each side of the rivers, in metres.
    """
    from tangguh.connectivity import evacuate, sdg, tod
    from tangguh.services import refresh

    out = DemoAnalyses()
    before = {info.id for info in bank.layers()}
    run = refresh.refresh(bank, source_ids=[], trigger="demo")
    out.coverage_run, out.indicators = run.run_id, run.indicators

    result, _ = sdg.refresh_sdg(bank, force=True, author=_AUTHOR)
    if result is not None:
        out.sdg_run = result.run_id
        share = result.summary.get("share")
        out.sdg_share = None if share is None else round(float(share), 4)
    scores = tod.tod_scores(bank)
    out.tod_areas = tod.save_tod(bank, scores, author=_AUTHOR)

    bank.write_layer(
        DEMO_FLOOD_LAYER,
        demo_flood(bank, flood_m=flood_m),
        LayerMeta(
            title_id="Banjir contoh di sepanjang sungai (demo)",
            title_en="Example flood along the rivers (demo)",
            description_id=f"Daratan dalam {flood_m:g} m dari sungai kota demo. Data sintetis.",
            description_en=f"Land within {flood_m:g} m of the demo rivers. Synthetic data.",
            theme="hazard",
            source=_AUTHOR,
            synthetic=True,
        ),
        author=_AUTHOR,
    )
    plan = evacuate.plan_evacuation(
        bank, evacuate.flood_from_layer(bank, DEMO_FLOOD_LAYER), author=_AUTHOR
    )
    out.evacuation_plan = plan.plan_id
    out.evacuation = dict(plan.summary)
    for info in bank.layers():  # results of synthetic data are synthetic too
        if info.id not in before and not info.synthetic:
            bank.update_meta(info.id, synthetic=True)
    return out
