"""Parsing and checking the query parameters of the features endpoints.

Every bad value raises :class:`tangguh.errors.InputError` (HTTP 400 problem+json) that
says which parameter, what was wrong and what a good value looks like.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from starlette.datastructures import QueryParams

from tangguh.errors import InputError
from tangguh.web._store import Collection, day_interval
from tangguh.web.crs import CrsDef

__all__ = [
    "ITEMS_PARAMS",
    "check_params",
    "parse_bbox",
    "parse_datetime",
    "parse_format",
    "parse_int",
    "parse_limit",
    "parse_sortby",
    "parse_value",
]

#: Standard parameters of /items (property filters come on top).
ITEMS_PARAMS = (
    "f",
    "limit",
    "offset",
    "after",
    "before",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "sortby",
)


def _bad(param: str, message: str, message_id: str, hint: str, hint_id: str) -> InputError:
    return InputError(
        message,
        where=f"query parameter {param}",
        hint=hint,
        message_id=message_id,
        hint_id=hint_id,
    )


def check_params(params: QueryParams, allowed: Iterable[str]) -> None:
    """400 for a parameter the endpoint does not know (OGC API /req/core/query-param-unknown)."""
    known = set(allowed)
    unknown = sorted({k for k in params if k not in known})
    if unknown:
        listed = ", ".join(sorted(known))
        raise _bad(
            unknown[0],
            f"unknown query parameter(s): {', '.join(unknown)}",
            f"parameter kueri tidak dikenal: {', '.join(unknown)}",
            f"this endpoint accepts: {listed}",
            f"endpoint ini menerima: {listed}",
        )


_FORMAT_ALIASES = {
    "json": "json",
    "geojson": "json",
    "application/json": "json",
    "application/geo+json": "json",
    "html": "html",
    "text/html": "html",
    "csv": "csv",
    "text/csv": "csv",
    "gpkg": "gpkg",
    "geopackage": "gpkg",
    "fgb": "fgb",
    "flatgeobuf": "fgb",
}


def parse_format(params: QueryParams, accept: str, allowed: tuple[str, ...]) -> str:
    """The response format: ``f`` if given, else HTML for browsers, else JSON."""
    value = params.get("f")
    if value is None:
        accept = accept.lower()
        html, json_ = accept.find("text/html"), accept.find("json")
        return "html" if html >= 0 and (json_ < 0 or html < json_) else "json"
    fmt = _FORMAT_ALIASES.get(value.strip().lower())
    if fmt is None or fmt not in allowed:
        raise _bad(
            "f",
            f"unsupported format f={value!r}",
            f"format f={value!r} tidak didukung",
            f"use one of {', '.join(allowed)}",
            f"gunakan salah satu dari {', '.join(allowed)}",
        )
    return fmt


_INT = re.compile(r"^[+-]?\d{1,18}$")


def parse_int(params: QueryParams, name: str, *, minimum: int | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not _INT.match(value.strip()):
        raise _bad(
            name,
            f"{name} must be an integer, not {value!r}",
            f"{name} harus bilangan bulat, bukan {value!r}",
            f"e.g. {name}={max(minimum or 0, 1)}",
            f"mis. {name}={max(minimum or 0, 1)}",
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise _bad(
            name,
            f"{name} must be at least {minimum}, not {number}",
            f"{name} paling sedikit {minimum}, bukan {number}",
            f"use {name}={minimum} or more",
            f"gunakan {name}={minimum} atau lebih",
        )
    return number


def parse_limit(params: QueryParams, default: int | None, maximum: int) -> int | None:
    """``limit`` (>= 1); above the maximum it is clamped, as OGC API – Features asks."""
    value = parse_int(params, "limit", minimum=1)
    if value is None:
        return default
    return min(value, maximum)


def _numbers(param: str, value: str) -> list[float]:
    parts = value.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise _bad(
            param,
            f"{param} must be 4 (or 6) comma-separated numbers, not {value!r}",
            f"{param} harus 4 (atau 6) angka dipisah koma, bukan {value!r}",
            "e.g. bbox=106.80,-6.21,106.82,-6.19 (min lon, min lat, max lon, max lat)",
            "mis. bbox=106.80,-6.21,106.82,-6.19 (bujur min, lintang min, bujur maks, "
            "lintang maks)",
        )
    return numbers


def parse_bbox(value: str, crs: CrsDef) -> tuple[float, float, float, float]:
    """``bbox`` in ``crs`` axis order -> (min a0, min a1, max a0, max a1), checked."""
    n = _numbers("bbox", value)
    a0, b0, a1, b1 = (n[0], n[1], n[2], n[3]) if len(n) == 4 else (n[0], n[1], n[3], n[4])
    if a0 > a1 or b0 > b1:
        raise _bad(
            "bbox",
            f"bbox minimum is greater than maximum in {value!r} (boxes crossing the "
            "antimeridian are not supported)",
            f"nilai minimum bbox lebih besar daripada maksimum pada {value!r} (kotak yang "
            "melintasi antimeridian tidak didukung)",
            "give the lower corner first, then the upper corner",
            "berikan sudut bawah terlebih dahulu, lalu sudut atas",
        )
    if crs.geographic:
        lat_first = crs.code == "EPSG:4326"
        lons = (b0, b1) if lat_first else (a0, a1)
        lats = (a0, a1) if lat_first else (b0, b1)
        if not all(-180 <= v <= 180 for v in lons) or not all(-90 <= v <= 90 for v in lats):
            order = "lat,lon" if lat_first else "lon,lat"
            raise _bad(
                "bbox",
                f"bbox {value!r} is outside longitude -180..180 / latitude -90..90 "
                f"(axis order of {crs.code}: {order})",
                f"bbox {value!r} di luar bujur -180..180 / lintang -90..90 "
                f"(urutan sumbu {crs.code}: {order})",
                "check the axis order and the bbox-crs",
                "periksa urutan sumbu dan bbox-crs",
            )
    return a0, b0, a1, b1


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_DT_HINT = (
    "use RFC 3339, e.g. 2024-02-01T00:00:00Z, a date 2024-02-01, or an interval "
    "2024-02-01T00:00:00Z/2024-02-29T23:59:59Z with .. for an open end"
)
_DT_HINT_ID = (
    "gunakan RFC 3339, mis. 2024-02-01T00:00:00Z, tanggal 2024-02-01, atau selang "
    "2024-02-01T00:00:00Z/2024-02-29T23:59:59Z dengan .. untuk ujung terbuka"
)


def _instant(text: str, *, end: bool) -> datetime:
    text = text.strip()
    try:
        if _DATE.match(text):
            start, last = day_interval(date.fromisoformat(text))
            return last if end else start
        if _DATETIME.match(text):
            stamp = text.replace("z", "Z").replace("t", "T")
            if "." in stamp:  # Python takes at most 6 fraction digits
                head, tail = stamp.split(".", 1)
                digits = re.match(r"\d+", tail)
                frac = digits.group(0) if digits else ""
                stamp = head + "." + frac[:6].ljust(6, "0") + tail[len(frac) :]
            return datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError:
        pass
    raise _bad(
        "datetime",
        f"invalid datetime {text!r}",
        f"datetime {text!r} tidak sah",
        _DT_HINT,
        _DT_HINT_ID,
    )


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """An instant, a date or an interval -> inclusive (start, end) in UTC (None = open)."""
    if value.count("/") > 1 or not value.strip():
        raise _bad(
            "datetime",
            f"invalid datetime {value!r}",
            f"datetime {value!r} tidak sah",
            _DT_HINT,
            _DT_HINT_ID,
        )
    if "/" in value:
        a, b = value.split("/")
        start = None if a.strip() in ("", "..") else _instant(a, end=False)
        end = None if b.strip() in ("", "..") else _instant(b, end=True)
        if start is not None and end is not None and start > end:
            raise _bad(
                "datetime",
                f"the interval {value!r} ends before it starts",
                f"selang {value!r} berakhir sebelum dimulai",
                "give the earlier instant first",
                "berikan waktu yang lebih awal terlebih dahulu",
            )
        return start, end
    if _DATE.match(value.strip()):
        return _instant(value, end=False), _instant(value, end=True)
    instant = _instant(value, end=False)
    return instant, instant


def layer_interval(
    start: str | None, end: str | None
) -> tuple[datetime | None, datetime | None] | None:
    """The catalogue's temporal extent as instants (None when it has none or is unreadable)."""
    if not start and not end:
        return None
    try:
        lo = _instant(start, end=False) if start else None
        hi = _instant(end, end=True) if end else None
    except InputError:
        return None
    return lo, hi


def overlaps(
    a: tuple[datetime | None, datetime | None], b: tuple[datetime | None, datetime | None]
) -> bool:
    far_past = datetime(1, 1, 2, tzinfo=UTC)
    far_future = datetime(9999, 12, 30, tzinfo=UTC)
    a0, a1 = a[0] or far_past, a[1] or far_future
    b0, b1 = b[0] or far_past, b[1] or far_future
    return a0 <= b1 and b0 <= a1


def parse_sortby(value: str, coll: Collection) -> list[tuple[str, bool]]:
    """``sortby=+a,-b`` -> [(a, False), (b, True)] ('+' may arrive as a space)."""
    sortable = [n for n, _ in coll.queryables]
    out: list[tuple[str, bool]] = []
    for raw in value.split(","):
        token = raw.strip()
        desc = token.startswith("-")
        name = token.lstrip("+-").strip()
        if name in ("id", "fid") and name not in sortable:
            name = "fid"
        elif name not in sortable:
            listed = ", ".join(["id", *sortable])
            raise _bad(
                "sortby",
                f"cannot sort {coll.id} by {name!r}",
                f"{coll.id} tidak dapat diurutkan menurut {name!r}",
                f"use +name or -name with one of: {listed}",
                f"gunakan +nama atau -nama dengan salah satu dari: {listed}",
            )
        out.append((name, desc))
    return out


_TRUE = {"true", "1", "yes", "ya", "t"}
_FALSE = {"false", "0", "no", "tidak", "f"}


def parse_value(name: str, kind: str, value: str) -> Any:
    """A property filter value typed for its column (400 when it cannot be)."""
    try:
        if kind == "int":
            if not _INT.match(value.strip()):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        if kind == "bool":
            low = value.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(value)
        if kind in ("datetime", "date"):
            return _instant(value, end=False)
    except (ValueError, InputError):
        raise _bad(
            name,
            f"{name} is a {kind} property; {value!r} is not a valid value",
            f"{name} adalah properti {kind}; {value!r} bukan nilai yang sah",
            "see the property types at /collections/{id}/queryables",
            "lihat jenis properti di /collections/{id}/queryables",
        ) from None
    return value


def utc_now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
