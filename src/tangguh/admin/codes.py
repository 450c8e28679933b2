"""BPS and Kemendagri admin codes.

Indonesia has two official numberings of its admin units:

* **BPS** (Badan Pusat Statistik, the statistics office; also used by PetaBencana):
  digits only, province ``31``, kota ``3171`` (4), kecamatan ``3171010`` (7),
  kelurahan/desa ``3171010001`` (10).
* **Kemendagri** (Ministry of Home Affairs; used by Dukcapil): dotted, province ``31``,
  kota ``31.71``, kecamatan ``31.71.01``, kelurahan ``31.71.01.1001``.

**The two systems number DKI Jakarta's kota differently**: BPS ``3171`` is Jakarta
Selatan while Kemendagri ``31.71`` is Jakarta Pusat (see :data:`KOTA_CODES`). The
kecamatan and kelurahan numbers below them differ too. A code is therefore never
converted from one system to the other by reformatting: a crosswalk goes through the
units' names (:func:`tangguh.admin.match.match_units`). The system of a code is told
from its format: dotted means Kemendagri, digits only mean BPS. A Kemendagri code
written without dots must be passed to :func:`format_kemendagri` explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tangguh.errors import InputError

__all__ = [
    "BPS_LENGTHS",
    "DKI_PROVINCE_CODE",
    "KEMENDAGRI_LENGTHS",
    "KOTA_CODES",
    "AdminCode",
    "KotaCode",
    "format_bps",
    "format_kemendagri",
    "kota_by_code",
    "parent_code",
    "parse_code",
]

System = Literal["bps", "kemendagri"]

#: BPS code length (digits) per level.
BPS_LENGTHS: dict[int, str] = {2: "province", 4: "kota", 7: "kecamatan", 10: "kelurahan"}
#: Kemendagri code length (digits, without dots) per level: 2 + 2 + 2 + 4.
KEMENDAGRI_LENGTHS: dict[int, str] = {2: "province", 4: "kota", 6: "kecamatan", 10: "kelurahan"}
_KEMENDAGRI_PARTS = (2, 2, 2, 4)

DKI_PROVINCE_CODE = "31"  # the same in both systems


@dataclass(frozen=True)
class KotaCode:
    """One kota (or the kabupaten Kepulauan Seribu) of DKI with its code in both systems."""

    name: str
    bps: str
    kemendagri: str


#: DKI's kota in both systems. BPS from admin-codes-bps/dki_regencies_bps.csv
#: (mfdonline.bps.go.id, 2018); Kemendagri from Permendagri 72/2019 (kode wilayah).
KOTA_CODES: tuple[KotaCode, ...] = (
    KotaCode("KEPULAUAN SERIBU", "3101", "31.01"),
    KotaCode("JAKARTA SELATAN", "3171", "31.74"),
    KotaCode("JAKARTA TIMUR", "3172", "31.75"),
    KotaCode("JAKARTA PUSAT", "3173", "31.71"),
    KotaCode("JAKARTA BARAT", "3174", "31.73"),
    KotaCode("JAKARTA UTARA", "3175", "31.72"),
)

_DIGITS = re.compile(r"^\d+$")
_DOTTED = re.compile(r"^\d+(\.\d+)+$")


@dataclass(frozen=True)
class AdminCode:
    """A parsed admin code.

    Attributes
    ----------
    system:
        ``"bps"`` or ``"kemendagri"``.
    code:
        The canonical form (BPS digits, Kemendagri dotted).
    digits:
        The code without dots.
    level:
        ``"province"``, ``"kota"``, ``"kecamatan"`` or ``"kelurahan"``.
    """

    system: System
    code: str
    digits: str
    level: str

    @property
    def parent(self) -> AdminCode | None:
        """The code of the parent unit in the same system (``None`` for a province)."""
        lengths = sorted(BPS_LENGTHS if self.system == "bps" else KEMENDAGRI_LENGTHS)
        shorter = [n for n in lengths if n < len(self.digits)]
        if not shorter:
            return None
        digits = self.digits[: shorter[-1]]
        return _make(self.system, digits)

    def parents(self) -> dict[str, str]:
        """Codes of all ancestors by level, e.g. ``{"province": "31", "kota": "3171"}``."""
        out: dict[str, str] = {}
        node = self.parent
        while node is not None:
            out[node.level] = node.code
            node = node.parent
        return out


def _dotted(digits: str) -> str:
    parts: list[str] = []
    pos = 0
    for size in _KEMENDAGRI_PARTS:
        if pos >= len(digits):
            break
        parts.append(digits[pos : pos + size])
        pos += size
    return ".".join(parts)


def _make(system: System, digits: str) -> AdminCode:
    if system == "bps":
        return AdminCode("bps", digits, digits, BPS_LENGTHS[len(digits)])
    return AdminCode("kemendagri", _dotted(digits), digits, KEMENDAGRI_LENGTHS[len(digits)])


def _bad(code: object, why: str, why_id: str) -> InputError:
    """The error for a string that is no admin code.

    ``why`` says what is wrong in English, ``why_id`` in Bahasa Indonesia.
    """
    return InputError(
        f"not an admin code: {code!r} ({why})",
        where="admin code",
        hint="BPS codes are 2, 4, 7 or 10 digits (e.g. 3171010001); Kemendagri codes are "
        "dotted (e.g. 31.71.01.1001)",
        message_id=f"bukan kode wilayah: {code!r} ({why_id})",
        hint_id="kode BPS terdiri atas 2, 4, 7 atau 10 angka (mis. 3171010001); kode "
        "Kemendagri memakai titik (mis. 31.71.01.1001)",
    )


def parse_code(code: str | int) -> AdminCode:
    """Parse a BPS or Kemendagri code, telling the system from its format.

    Parameters
    ----------
    code:
        ``"3171"``, ``"3171010"``, ``"3171010001"`` (BPS) or ``"31.71"``,
        ``"31.71.01"``, ``"31.71.01.1001"`` (Kemendagri). Surrounding spaces are ignored;
        an integer is read as BPS digits.

    Raises
    ------
    InputError
        When the code fits neither format.
    """
    text = str(code).strip()
    if _DIGITS.match(text):
        if len(text) not in BPS_LENGTHS:
            raise _bad(code, f"{len(text)} digits", f"{len(text)} angka")
        return _make("bps", text)
    if _DOTTED.match(text):
        parts = text.split(".")
        sizes = tuple(len(p) for p in parts)
        if sizes != _KEMENDAGRI_PARTS[: len(parts)]:
            raise _bad(
                code,
                "Kemendagri parts must be 2.2.2.4 digits",
                "bagian kode Kemendagri harus 2.2.2.4 angka",
            )
        return _make("kemendagri", "".join(parts))
    raise _bad(code, "neither digits nor dotted digits", "bukan angka dan bukan angka bertitik")


def format_bps(code: str | int) -> str:
    """Return the canonical BPS form (digits) of a BPS code.

    A dotted (Kemendagri) code is refused: the systems number kota differently, so
    removing the dots would give a wrong unit.
    """
    parsed = parse_code(code)
    if parsed.system != "bps":
        raise InputError(
            f"{code!r} is a Kemendagri code, not a BPS code",
            where="admin code",
            hint="BPS and Kemendagri numbers differ (BPS 3171 = Jakarta Selatan, Kemendagri "
            "31.71 = Jakarta Pusat); cross-walk through names with match_units",
            message_id=f"{code!r} adalah kode Kemendagri, bukan kode BPS",
            hint_id="nomor BPS dan Kemendagri berbeda (BPS 3171 = Jakarta Selatan, Kemendagri "
            "31.71 = Jakarta Pusat); cocokkan melalui nama dengan match_units",
        )
    return parsed.code


def format_kemendagri(code: str | int) -> str:
    """Return the dotted form of a Kemendagri code given dotted or as plain digits.

    Plain digits (2, 4, 6 or 10 of them) are taken as a Kemendagri code written without
    dots (as Dukcapil exports often do); the caller asserts the system by calling this.
    """
    text = str(code).strip()
    if _DIGITS.match(text):
        if len(text) not in KEMENDAGRI_LENGTHS:
            raise _bad(
                code,
                f"{len(text)} digits is no Kemendagri length (2, 4, 6, 10)",
                f"{len(text)} angka bukan panjang kode Kemendagri (2, 4, 6, 10)",
            )
        return _make("kemendagri", text).code
    parsed = parse_code(text)
    if parsed.system != "kemendagri":  # pragma: no cover - digits handled above
        raise _bad(code, "not Kemendagri", "bukan kode Kemendagri")
    return parsed.code


def parent_code(code: str | int) -> str | None:
    """The parent's code in the same system and format (``None`` for a province)."""
    parent = parse_code(code).parent
    return parent.code if parent is not None else None


def kota_by_code(code: str | int) -> KotaCode:
    """The DKI kota of a kota code (or of any code below it), in either system.

    Raises
    ------
    InputError
        When the code is not a DKI kota code or below one.
    """
    parsed = parse_code(code)
    kota = parsed if parsed.level == "kota" else None
    if kota is None:
        parents = parsed.parents()
        kota = parse_code(parents["kota"]) if "kota" in parents else None
    if kota is not None:
        for entry in KOTA_CODES:
            if kota.code == (entry.bps if parsed.system == "bps" else entry.kemendagri):
                return entry
    raise InputError(
        f"{code!r} is not a DKI Jakarta kota code or below one",
        where="admin code",
        hint="see tangguh.admin.codes.KOTA_CODES",
        message_id=f"{code!r} bukan kode kota DKI Jakarta atau wilayah di bawahnya",
        hint_id="lihat tangguh.admin.codes.KOTA_CODES",
    )
