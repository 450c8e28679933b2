"""Deterministic synthetic demo city and its loader into a data bank.

>>> from tangguh.demo import build_city
>>> city = build_city("small", seed=0)
>>> city.summary()["layers"]["admin_units"]
79

:func:`load_city` writes a :class:`DemoCity` into any :class:`~tangguh.bank.base.Bank`
in one transaction, with bilingual catalogue titles and every layer marked synthetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tangguh.bank.base import Bank, LayerMeta
from tangguh.demo._services_data import SERVICE_LAYER_SPECS
from tangguh.demo.city import LAYER_IDS, SIZES, DemoCity, build_city

__all__ = ["LAYER_IDS", "SIZES", "DemoCity", "build_city", "layer_meta", "load_city"]

_SOURCE = "Tangguh demo generator"
_LICENCE = "CC0-1.0"
_AUTHOR = "tangguh demo"
_NOTE_ID = " Data sintetis untuk demo dan uji; bukan data Jakarta yang sebenarnya."
_NOTE_EN = " Synthetic data for demos and tests; not real Jakarta data."


@dataclass(frozen=True)
class _Spec:
    key: str
    theme: str
    title_id: str
    title_en: str
    description_id: str
    description_en: str
    keywords: tuple[str, ...]


_SPECS: dict[str, _Spec] = {
    "admin_units": _Spec(
        "unit_id", "admin", "Wilayah administrasi (demo)", "Administrative units (demo)",
        "Provinsi, kota, kecamatan, kelurahan dan RW bersarang dengan jumlah penduduk dan "
        "rumah tangga 2024, kode BPS dan Kemendagri.",
        "Nested province, kota, kecamatan, kelurahan and RW polygons with 2024 population "
        "and households, BPS and Kemendagri codes.",
        ("admin", "kelurahan", "RW", "population", "penduduk"),
    ),
    "rivers": _Spec(
        "river_id", "environment", "Sungai (demo)", "Rivers (demo)",
        "Sungai yang mengalir dari selatan ke laut di utara.",
        "Rivers flowing from the south into the sea in the north.",
        ("river", "sungai", "kali", "flood", "banjir"),
    ),
    "buildings": _Spec(
        "building_id", "exposure", "Bangunan (demo)", "Buildings (demo)",
        "Jejak bangunan dengan fungsi, jumlah lantai dan RW.",
        "Building footprints with use, storeys and RW.",
        ("buildings", "bangunan", "exposure"),
    ),
    "roads": _Spec(
        "road_id", "mobility", "Jaringan jalan (demo)", "Road network (demo)",
        "Jaringan jalan terhubung dengan kelas jalan, satu arah dan jembatan.",
        "Connected road network with road class, one-way flag and bridges.",
        ("roads", "jalan", "network", "mobility"),
    ),
    "shelters": _Spec(
        "shelter_id", "facilities", "Posko pengungsian (demo)", "Evacuation shelters (demo)",
        "Posko pengungsian di sekolah, masjid dan balai warga dengan kapasitas orang.",
        "Evacuation shelters in schools, mosques and community halls with capacity in people.",
        ("shelter", "posko", "evacuation", "pengungsian"),
    ),
    "hospitals": _Spec(
        "hospital_id", "facilities", "Rumah sakit (demo)", "Hospitals (demo)",
        "Rumah sakit dengan jenis dan jumlah tempat tidur.",
        "Hospitals with type and number of beds.",
        ("hospital", "rumah sakit", "health", "kesehatan"),
    ),
    "schools": _Spec(
        "school_id", "facilities", "Sekolah (demo)", "Schools (demo)",
        "Sekolah SD, SMP dan SMA dengan jumlah siswa.",
        "Primary (SD), junior (SMP) and senior (SMA) schools with pupil numbers.",
        ("school", "sekolah", "education", "pendidikan"),
    ),
    "markets": _Spec(
        "market_id", "facilities", "Pasar (demo)", "Markets (demo)",
        "Pasar tradisional dan modern.", "Traditional and modern markets.",
        ("market", "pasar", "food", "pangan"),
    ),
    "transit_stops": _Spec(
        "stop_id", "mobility", "Halte dan stasiun (demo)", "Transit stops (demo)",
        "Halte BRT, halte bus dan stasiun kereta dengan rute.",
        "BRT, bus and rail stops with route ids.",
        ("transit", "halte", "BRT", "bus", "rail", "stasiun"),
    ),
    "water_service_zones": _Spec(
        "zone_id", "services", "Zona layanan air perpipaan (demo)",
        "Piped-water service zones (demo)",
        "Zona layanan air perpipaan dengan operator dan cakupan layanan (%).",
        "Piped-water service zones with operator and coverage (%).",
        ("water", "air bersih", "PAM", "utility"),
    ),
    "tps": _Spec(
        "tps_id", "services", "Tempat penampungan sementara sampah (demo)",
        "Temporary waste collection points (demo)",
        "TPS sampah dengan kapasitas dalam meter kubik.",
        "Waste collection points (TPS) with capacity in cubic metres.",
        ("waste", "sampah", "TPS"),
    ),
}  # fmt: skip

for _lid, (_key, _tid, _ten, _did, _den, _kw) in SERVICE_LAYER_SPECS.items():
    _SPECS[_lid] = _Spec(_key, "services", _tid, _ten, _did, _den, _kw)


def layer_meta(layer_id: str, city: DemoCity) -> LayerMeta:
    """Catalogue metadata (Bahasa Indonesia and English) of one demo layer."""
    spec = _SPECS[layer_id]
    extra: dict[str, object] = {"demo_size": city.meta["size"], "demo_seed": city.meta["seed"]}
    if layer_id == "rivers":
        extra["events"] = city.meta.get("events", [])
    return LayerMeta(
        title_id=spec.title_id,
        title_en=spec.title_en,
        description_id=spec.description_id + _NOTE_ID,
        description_en=spec.description_en + _NOTE_EN,
        theme=spec.theme,
        source=_SOURCE,
        source_crs="EPSG:4326",
        licence=_LICENCE,
        attribution="Tangguh (synthetic)",
        keywords=[*spec.keywords, "demo", "synthetic", "sintetis"],
        temporal_start="2024-01-01" if layer_id == "admin_units" else None,
        temporal_end="2024-12-31" if layer_id == "admin_units" else None,
        synthetic=True,
        extra=extra,
    )


def load_city(bank: Bank, city: DemoCity, *, progress: Callable[[str], None] | None = None) -> None:
    """Write every layer, the stations and the observations of ``city`` into ``bank``.

    All writes happen inside one ``bank.transaction()``: the demo lands whole or not
    at all. Each layer is keyed by its id column (``unit_id``, ``road_id``, ...), so
    loading the same city again records versions with nothing changed.

    Parameters
    ----------
    bank:
        An open bank (GeoPackage or PostGIS).
    city:
        The output of :func:`build_city`.
    progress:
        Called with a short English message before each step (for a CLI spinner).
    """

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    message = f"demo city (size={city.meta['size']}, seed={city.meta['seed']})"
    with bank.transaction():
        for layer_id in LAYER_IDS:
            frame = city.layers[layer_id]
            say(f"writing layer {layer_id} ({len(frame):,} features)")
            bank.write_layer(
                layer_id,
                frame,
                layer_meta(layer_id, city),
                key=_SPECS[layer_id].key,
                author=_AUTHOR,
                message=message,
            )
        say(f"writing {len(city.stations):,} stations")
        bank.write_stations(city.stations)
        say(f"writing {len(city.observations):,} observations")
        bank.write_observations(city.observations)
    say("demo city loaded")
