"""Synthetic Indonesian-looking place and street names for the demo city.

Names are built from generic word parts ("Suka" + "maju", "Rawa" + "Indah") that
occur all over Java, so they look plausible while naming no real place of Jakarta
in particular. Every draw is made from a seeded :class:`numpy.random.Generator`,
so the same seed gives the same names.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["normalise_name", "place_names", "street_names"]

_PREFIXES = (
    "Suka", "Mekar", "Cipta", "Karya", "Tanah", "Kebon", "Rawa", "Pondok", "Tegal",
    "Cempaka", "Kampung", "Pulo", "Bukit", "Duren", "Kali", "Pasir", "Sawah", "Jati",
    "Gunung", "Bambu", "Kelapa", "Pinang", "Mangga", "Tanjung", "Sumber", "Harja",
    "Wana", "Sari", "Taman", "Lebak",
)  # fmt: skip
_SUFFIXES = (
    "maju", "sari", "jaya", "makmur", "asih", "mulya", "indah", "baru", "lama",
    "tengah", "raya", "permai", "harapan", "wangi", "rejo", "mukti", "luhur", "damai",
    "sentosa", "abadi", "kencana", "mekar", "tirta", "rahayu",
)  # fmt: skip
#: Suffixes that read better as a separate word ("Rawa Indah", not "Rawaindah").
_SEPARATE = frozenset({"indah", "baru", "lama", "tengah", "raya", "permai", "harapan", "damai"})

_STREET_WORDS = (
    "Melati", "Kenanga", "Mawar", "Anggrek", "Flamboyan", "Cendana", "Beringin",
    "Kamboja", "Teratai", "Dahlia", "Merpati", "Rajawali", "Garuda", "Kutilang",
    "Cenderawasih", "Nusa Indah", "Bougenville", "Asem", "Salak", "Duku", "Rambutan",
    "Manggis", "Sawo", "Nangka", "Belimbing", "Jambu", "Kemuning", "Seroja", "Sakura",
    "Pelita", "Swadaya", "Gotong Royong", "Pemuda", "Pendidikan", "Kesehatan",
    "Perintis", "Pahlawan", "Merdeka", "Bahari", "Nelayan", "Pelabuhan", "Industri",
    "Pasar", "Masjid", "Sekolah", "Kebun", "Sungai", "Irigasi", "Waduk", "Bendungan",
)  # fmt: skip
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")

_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Upper-case ``name`` and collapse runs of white space to single spaces.

    This is the ``name_norm`` rule of the ``admin_units`` layer (the full matcher in
    :mod:`tangguh.admin.names` also handles prefixes and known variants).
    """
    return _SPACES.sub(" ", name).strip().upper()


def _all_place_names() -> list[str]:
    names = []
    for prefix in _PREFIXES:
        for suffix in _SUFFIXES:
            if suffix == prefix.lower():
                continue
            if suffix in _SEPARATE:
                names.append(f"{prefix} {suffix.capitalize()}")
            else:
                names.append(prefix + suffix)
    return names


_PLACE_NAMES = tuple(_all_place_names())


def place_names(rng: np.random.Generator, count: int) -> list[str]:
    """Return ``count`` distinct place names ("Sukamaju", "Rawa Indah", ...).

    When more names are asked than the word parts give (about 700), a Roman
    numeral suffix ("Sukamaju II") keeps them distinct.
    """
    order = rng.permutation(len(_PLACE_NAMES))
    out: list[str] = []
    round_ = 0
    while len(out) < count:
        suffix = "" if round_ == 0 else f" {_ROMAN[min(round_, len(_ROMAN) - 1)]}"
        out.extend(_PLACE_NAMES[i] + suffix for i in order[: count - len(out)])
        round_ += 1
    return out


def street_names(rng: np.random.Generator, count: int) -> list[str]:
    """Return ``count`` distinct street base names ("Melati", "Kenanga Raya", "Mawar III")."""
    base = list(_STREET_WORDS) + [f"{w} Raya" for w in _STREET_WORDS]
    base += [f"{w} {r}" for r in _ROMAN[1:] for w in _STREET_WORDS]
    base += [f"Pos {n}" for n in _PLACE_NAMES]
    if count > len(base):
        base += [f"Baru {i}" for i in range(count - len(base))]
    order = rng.permutation(len(base))[:count]
    return [base[i] for i in order]
