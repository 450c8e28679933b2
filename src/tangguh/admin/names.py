"""Normalisation of Indonesian admin-unit names (province, kota, kecamatan, kelurahan, RW).

Jakarta's sources spell the same unit in different ways: upper or title case, with or
without a level prefix ("KELURAHAN GAMBIR", "Kec. Gambir"), with or without spaces
("RAWABADAK UTARA" / "RAWA BADAK UTARA") and with a few genuine spelling variants and
typos ("PAPANGO" / "PAPANGGO", "JAKATA UTARA"). Matching goes in two steps:

1. :func:`normalize_name` gives an upper-case, accent-free, punctuation-free name
   without level prefix, with the known spelling variants of :data:`NAME_VARIANTS`
   replaced by their canonical form;
2. :func:`name_key` removes the spaces of that name, which is the general rule that
   makes "KRAMAT JATI" and "KRAMATJATI" equal without listing every such pair.

RW labels ("RW 01", "RW 2", "RW13", "02") are numbers: :func:`normalize_rw` gives
the zero-padded two-digit form ("02").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "NAME_VARIANTS",
    "SPACING_VARIANTS_SEEN",
    "NameVariant",
    "name_key",
    "normalize_name",
    "normalize_rw",
]

_SOURCES = {
    "inasafe": "admin-inasafe-2012 (InaSAFE boundaries, about 2012)",
    "bps": "admin-codes-bps (BPS MFD code list, 2018)",
    "csv2024": "kelurahan-population/kelurahan_population_2024.csv (Satu Data Jakarta)",
    "dukcapil": "kelurahan-population/kelurahan_dukcapil_demografi.geojson (Dukcapil, ~2020)",
    "bpbd": "flood-events-2024-bpbd/banjir_kelurahan_2024.csv (BPBD DKI)",
    "geovest": "kelurahan-population/kota_bps_population_2017_2020.geojson (ids jakpus...)",
}


@dataclass(frozen=True)
class NameVariant:
    """One known spelling variant and its canonical form.

    Parameters
    ----------
    variant:
        The variant as it appears in a source (already upper case).
    canonical:
        The spelling used by the most recent official source (Satu Data Jakarta 2024
        population CSV and the Dukcapil profile), which :func:`normalize_name` returns.
    levels:
        Levels at which the replacement applies (``None``: any level).
    sources:
        Keys of the sources where the variant was seen (see ``_SOURCES`` in the module).
    """

    variant: str
    canonical: str
    levels: tuple[str, ...] | None
    sources: tuple[str, ...]


#: Spelling variants found by comparing the kelurahan/kecamatan/kota names of
#: admin-inasafe-2012, admin-codes-bps, kelurahan-population (CSV 2024 and Dukcapil)
#: and flood-events-2024-bpbd (shared/data/jakarta). Pairs that differ only by spaces
#: are *not* listed: :func:`name_key` handles them (see :data:`SPACING_VARIANTS_SEEN`).
NAME_VARIANTS: tuple[NameVariant, ...] = (
    # kota
    NameVariant("JAKATA UTARA", "JAKARTA UTARA", ("kota",), ("inasafe",)),  # rw KAB_NAME x2
    NameVariant("JAKPUS", "JAKARTA PUSAT", ("kota",), ("geovest",)),
    NameVariant("JAKUT", "JAKARTA UTARA", ("kota",), ("geovest",)),
    NameVariant("JAKBAR", "JAKARTA BARAT", ("kota",), ("geovest",)),
    NameVariant("JAKSEL", "JAKARTA SELATAN", ("kota",), ("geovest",)),
    NameVariant("JAKTIM", "JAKARTA TIMUR", ("kota",), ("geovest",)),
    # kelurahan: vowel / double-letter / dropped-letter variants
    NameVariant("PAPANGO", "PAPANGGO", ("kelurahan",), ("inasafe", "bps")),
    NameVariant("HARAPAN MULYA", "HARAPAN MULIA", ("kelurahan",), ("inasafe", "bps")),
    NameVariant("KAMPUNG TENGAH", "TENGAH", ("kelurahan",), ("inasafe", "bps")),
    NameVariant("KREDANG", "KRENDANG", ("kelurahan",), ("inasafe",)),
    NameVariant("PAL MERIEM", "PALMERIAM", ("kelurahan",), ("inasafe", "bps")),
    NameVariant("TANJUNG PRIUK", "TANJUNG PRIOK", ("kecamatan", "kelurahan"), ("inasafe", "bps")),
    NameVariant("WIJAYA KESUMA", "WIJAYA KUSUMA", ("kelurahan",), ("inasafe", "bps")),
    NameVariant("HALIM PERDANA KUSUMAH", "HALIM PERDANA KUSUMA", ("kelurahan",), ("bps", "bpbd")),
    NameVariant("TANAH SERAL", "TANAH SEREAL", ("kelurahan",), ("inasafe",)),  # KEL_NAME_1, rw
)

#: Pairs seen in the same sources that differ only by spaces (documentation and tests;
#: :func:`name_key` makes them equal, no table entry is needed).
SPACING_VARIANTS_SEEN: tuple[tuple[str, str], ...] = (
    ("RAWABADAK UTARA", "RAWA BADAK UTARA"),
    ("RAWABADAK SELATAN", "RAWA BADAK SELATAN"),
    ("KRAMAT JATI", "KRAMATJATI"),
    ("PINANG RANTI", "PINANGRANTI"),
    ("KALI BARU", "KALIBARU"),
    ("JATI PULO", "JATIPULO"),
    ("BALE KAMBANG", "BALEKAMBANG"),
    ("KALIANYAR", "KALI ANYAR"),
    ("SUKA PURA", "SUKAPURA"),
    ("RAWA JATI", "RAWAJATI"),
    ("RAWASARI", "RAWA SARI"),
    ("KALI DERES", "KALIDERES"),
    ("PALMERAH", "PAL MERAH"),
    ("PULO GADUNG", "PULOGADUNG"),
    ("SETIA BUDI", "SETIABUDI"),
)

# Level prefixes, written without punctuation (punctuation is turned into spaces first).
_PREFIXES: dict[str, tuple[str, ...]] = {
    "province": ("PROVINSI ", "PROV "),
    "kota": (
        "KOTA ADMINISTRASI ",
        "KOTA ADM ",
        "KOTAMADYA ",
        "KOTA ",
        "KABUPATEN ADMINISTRASI ",
        "KABUPATEN ADM ",
        "KAB ADMINISTRASI ",
        "KAB ADM ",
        "KABUPATEN ",
        "KAB ",
    ),
    "kecamatan": ("KECAMATAN ", "KEC "),
    "kelurahan": ("KELURAHAN ", "KEL ", "DESA "),
}
# Abbreviations expanded at the start of a name (after prefix removal).
_LEADING_ABBREVIATIONS = (("KEP ", "KEPULAUAN "), ("P ", "PULAU "))
_PROVINCE_NAMES = {"DKIJAKARTA", "DAERAHKHUSUSIBUKOTAJAKARTA", "JAKARTA", "DKI"}
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_RW_NUMBER = re.compile(r"^(?:RW)?\s*0*(\d+)$")

_VARIANT_BY_KEY: dict[str, NameVariant] = {v.variant.replace(" ", ""): v for v in NAME_VARIANTS}


def _basic(name: str) -> str:
    """Upper case, accents removed, every run of non-alphanumerics turned into one space."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    return _NON_ALNUM.sub(" ", text).strip()


def _strip_prefixes(text: str, level: str | None) -> str:
    """Remove level prefixes; "KOTA " only when it is the kota level or before JAKARTA.

    "KOTA BAMBU SELATAN" is a kelurahan, so "KOTA " is not a prefix there.
    """
    levels = [level] if level in _PREFIXES else list(_PREFIXES) if level is None else []
    changed = True
    while changed:
        changed = False
        for lev in levels:
            for prefix in _PREFIXES[lev]:
                if not text.startswith(prefix) or len(text) == len(prefix):
                    continue
                rest = text[len(prefix) :]
                bare_kota = prefix.startswith("KOTA") and lev == "kota" and level != "kota"
                if bare_kota and not rest.startswith("JAKARTA"):
                    continue
                text = rest
                changed = True
                break
    return text


def normalize_name(name: str | None, *, level: str | None = None, variants: bool = True) -> str:
    """Normalise an admin-unit name for comparison and storage (``name_norm``).

    Parameters
    ----------
    name:
        The name as written in a source; ``None`` or NaN gives ``""``.
    level:
        The unit's level (``"kota"``, ``"kecamatan"``, ``"kelurahan"``, ``"rw"``, ...).
        Decides which prefixes are removed and which variants apply; ``"rw"`` delegates
        to :func:`normalize_rw`. With ``None`` every prefix except a bare "KOTA " (kept
        unless followed by "JAKARTA") is removed and every variant applies.
    variants:
        Apply :data:`NAME_VARIANTS` (``False`` is used to tell that a match needed one).

    Returns
    -------
    str
        Upper case, no accents, single spaces, no punctuation, no level prefix,
        e.g. ``"Kel. Rawa Badak Utara"`` -> ``"RAWA BADAK UTARA"``,
        ``"KAB. ADM. KEP. SERIBU"`` -> ``"KEPULAUAN SERIBU"``, ``"PAPANGO"`` -> ``"PAPANGGO"``.
    """
    if name is None or (isinstance(name, float) and name != name):
        return ""
    if level == "rw":
        return normalize_rw(name)
    text = _strip_prefixes(_basic(str(name)), level)
    for short, long in _LEADING_ABBREVIATIONS:
        if text.startswith(short) and len(text) > len(short):
            text = long + text[len(short) :]
    if level == "province" and text.replace(" ", "") in _PROVINCE_NAMES:
        return "DKI JAKARTA"
    if variants:
        found = _VARIANT_BY_KEY.get(text.replace(" ", ""))
        if found is not None and (level is None or found.levels is None or level in found.levels):
            text = found.canonical
    return text


def name_key(name: str | None, *, level: str | None = None, variants: bool = True) -> str:
    """The matching key: :func:`normalize_name` with all spaces removed.

    Two names denote the same unit (within one parent) when their keys are equal, so
    "RAWABADAK UTARA" and "Rawa Badak Utara" match without a table entry.
    """
    return normalize_name(name, level=level, variants=variants).replace(" ", "")


def normalize_rw(label: str | int | None) -> str:
    """Normalise an RW label to its zero-padded number.

    ``"RW 2"``, ``"RW 02"``, ``"RW 002"``, ``"RW02"``, ``"02"`` and ``2`` all give
    ``"02"``; numbers above 99 keep their digits (``"RW 101"`` -> ``"101"``).
    A label that is not a number (e.g. "Kawasan Industri Pulogadung" in the InaSAFE RW
    layer) is returned normalised as a name; ``None``/empty gives ``""``.
    """
    if label is None or (isinstance(label, float) and label != label):
        return ""
    if isinstance(label, int | float):
        return f"{int(label):02d}"
    text = _basic(label)
    match = _RW_NUMBER.match(text)
    if match:
        return f"{int(match.group(1)):02d}"
    return text
