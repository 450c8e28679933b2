"""Read a GTFS zip and validate it: every problem with its file, row, field and value.

The files are read as text (pandas, ``dtype=str``) so the row numbers of the messages
are the rows of the file: row 1 is the first record after the header (line 2).
Nothing here touches a bank; :func:`read_feed` either returns a :class:`ParsedFeed`
or raises :class:`~tangguh.errors.ImportError_` listing the problems.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import numpy as np
import numpy.typing as npt
import pandas as pd

from tangguh.errors import ImportError_, InputError, NotFoundError

__all__ = [
    "REQUIRED_FILES",
    "ParsedFeed",
    "Problem",
    "file_sha256",
    "read_feed",
    "time_to_seconds",
]

#: Files a feed must have (plus calendar.txt or calendar_dates.txt).
REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")

#: Required columns of each file Tangguh reads.
_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_name", "agency_timezone"),
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
    "calendar.txt": (
        "service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday", "start_date", "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
    "feed_info.txt": (),
}  # fmt: skip

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,3}):(\d{2}):(\d{2})$")
#: How many problems an error message lists (the count says how many there are).
_SHOWN = 8


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a feed."""

    file: str
    row: int | None
    field: str | None
    value: str | None
    reason: str
    reason_id: str

    def where(self) -> str:
        """``stops.txt, row 12 (line 13), field stop_lat``."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row} (line {self.row + 1})")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)

    def text(self, lang: str = "en") -> str:
        value = f" = {self.value!r}" if self.value is not None else ""
        reason = self.reason_id if lang == "id" else self.reason
        return f"{self.where()}{value}: {reason}"


@dataclass
class ParsedFeed:
    """A validated feed: text tables plus parsed schedule columns.

    ``stop_times`` has integer ``arrival``/``departure`` seconds (empty times
    interpolated), ``stop_sequence`` and ``pickup_type`` as integers and is sorted by
    trip and sequence; ``frequencies`` has ``start_time``/``end_time``/``headway_secs``/
    ``exact_times`` as integers; ``services`` has ``days`` (seven 0/1 characters) and
    dates; ``service_dates`` has dates and ``exception_type``.
    """

    source: Path
    sha256: str
    agency: pd.DataFrame
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    frequencies: pd.DataFrame
    services: pd.DataFrame
    service_dates: pd.DataFrame
    feed_info: pd.DataFrame | None
    files: list[str]
    #: newest modification date of a member of the zip (the feed's publication date)
    reference_date: date | None
    shape_ids: int = 0
    shape_points: int = 0
    warnings: list[Problem] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def time_to_seconds(values: pd.Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """GTFS ``HH:MM:SS`` times (hours may pass 24) -> seconds; NaN for empty values.

    Returns the seconds and a mask of the values that are not valid times (not
    ``H:MM:SS``/``HH:MM:SS``, or minutes/seconds above 59); empty values are not bad.
    """
    items = [v if isinstance(v, str) else "" for v in values.tolist()]
    seconds = np.full(len(items), np.nan)
    bad = np.zeros(len(items), dtype=bool)
    for i, text in enumerate(items):
        if not text:
            continue
        match = _TIME.match(text)
        if match is None:
            bad[i] = True
            continue
        h, m, sec = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if m > 59 or sec > 59:
            bad[i] = True
            continue
        seconds[i] = h * 3600 + m * 60 + sec
    return seconds, bad


def _members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Base name -> member name of the ``*.txt`` files (at the root or one folder down)."""
    found: dict[str, str] = {}
    for info in sorted(zf.infolist(), key=lambda i: (i.filename.count("/"), i.filename)):
        if info.is_dir():
            continue
        p = PurePosixPath(info.filename)
        if p.suffix.lower() != ".txt" or len(p.parts) > 2 or p.name.startswith("."):
            continue
        found.setdefault(p.name.lower(), info.filename)
    return found


def _read_csv(zf: zipfile.ZipFile, member: str, name: str) -> pd.DataFrame:
    """A GTFS file as text columns, index = row number (1 = first record)."""
    raw = zf.read(member)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_(
            f"{name} is not UTF-8 text (byte {exc.start})",
            where=name,
            hint="GTFS files must be UTF-8; re-save the file as UTF-8",
            message_id=f"{name} bukan teks UTF-8 (bita {exc.start})",
            hint_id="berkas GTFS harus UTF-8; simpan ulang berkas sebagai UTF-8",
        ) from None
    if not text.strip():
        return pd.DataFrame()
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=object,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise ImportError_(
            f"{name} cannot be read as CSV: {exc}",
            where=name,
            hint="check quoting and the number of commas per row",
            message_id=f"{name} tidak dapat dibaca sebagai CSV: {exc}",
            hint_id="periksa tanda kutip dan jumlah koma per baris",
        ) from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    for column in frame.columns:
        frame[column] = [v.strip() if isinstance(v, str) else "" for v in frame[column].tolist()]
    frame = frame.astype(object)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    blank = (frame == "").all(axis=1)
    return frame.loc[~blank]


def _bad_rows(
    problems: list[Problem],
    frame: pd.DataFrame,
    mask: npt.NDArray[np.bool_] | pd.Series,
    file: str,
    column: str,
    reason: str,
    reason_id: str,
) -> None:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    rows = frame.index.to_numpy()[mask]
    values = frame[column].to_numpy()[mask] if column in frame.columns else [None] * len(rows)
    for row, value in zip(rows.tolist(), list(values), strict=True):
        problems.append(Problem(file, int(row), column, value, reason, reason_id))


def _raise(problems: list[Problem], source: Path) -> None:
    first = problems[0]
    more = len(problems) - _SHOWN
    listed = "; ".join(p.text("en") for p in problems[:_SHOWN])
    listed_id = "; ".join(p.text("id") for p in problems[:_SHOWN])
    tail = f"; … and {more} more" if more > 0 else ""
    tail_id = f"; … dan {more} lagi" if more > 0 else ""
    raise ImportError_(
        f"GTFS feed {source.name} has {len(problems)} error(s): {listed}{tail}",
        where=f"{source.name}: {first.where()}",
        hint="fix the listed rows in the feed (or ask the publisher for a corrected feed) "
        "and import again; nothing was stored",
        message_id=f"feed GTFS {source.name} memiliki {len(problems)} galat: {listed_id}{tail_id}",
        hint_id="perbaiki baris yang disebut di feed (atau minta feed yang sudah diperbaiki "
        "kepada penerbit) lalu impor lagi; tidak ada yang disimpan",
    )


def _parse_dates(problems: list[Problem], frame: pd.DataFrame, file: str, column: str) -> pd.Series:
    parsed = pd.to_datetime(frame[column], format="%Y%m%d", errors="coerce")
    _bad_rows(
        problems, frame, parsed.isna().to_numpy(), file, column,
        "not a date in YYYYMMDD form", "bukan tanggal berbentuk YYYYMMDD",
    )  # fmt: skip
    return parsed.dt.date


def _int_column(
    problems: list[Problem],
    frame: pd.DataFrame,
    file: str,
    column: str,
    *,
    default: int | None = None,
    allowed: set[int] | None = None,
    minimum: int | None = None,
) -> npt.NDArray[np.int64]:
    """Parse an integer column; empty gives ``default`` (a problem when there is none)."""
    text = frame[column] if column in frame.columns else pd.Series("", index=frame.index)
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, copy=True)
    empty = (text == "").to_numpy()
    if default is not None:
        num[empty] = default
    bad = np.isnan(num) | (num != np.round(num))
    if allowed is not None:
        bad |= ~np.isin(num, list(allowed))
    if minimum is not None:
        bad |= num < minimum
    if bad.any():
        if allowed is not None:
            expect = f"one of {sorted(allowed)}"
            expect_id = f"salah satu dari {sorted(allowed)}"
        elif minimum is not None:
            expect = f"a whole number of at least {minimum}"
            expect_id = f"bilangan bulat paling kecil {minimum}"
        else:
            expect = "a whole number"
            expect_id = "bilangan bulat"
        _bad_rows(
            problems, frame.assign(**{column: text}), bad, file, column,
            f"must be {expect}", f"harus {expect_id}",
        )  # fmt: skip
    num[bad] = 0
    return num.astype(np.int64)


def _duplicates(problems: list[Problem], frame: pd.DataFrame, file: str, column: str) -> None:
    dup = frame[column].duplicated(keep="first").to_numpy()
    _bad_rows(
        problems, frame, dup, file, column,
        f"duplicate {column} (must be unique)", f"{column} ganda (harus unik)",
    )  # fmt: skip


def _unknown(
    problems: list[Problem],
    frame: pd.DataFrame,
    file: str,
    column: str,
    known: pd.Series | set[str],
    target: str,
    *,
    allow_empty: bool = False,
) -> None:
    values = frame[column]
    mask = ~values.isin(known)
    if allow_empty:
        mask &= values != ""
    _bad_rows(
        problems, frame, mask.to_numpy(), file, column,
        f"unknown {column}: not in {target}", f"{column} tidak dikenal: tidak ada di {target}",
    )  # fmt: skip


def _check_stops(problems: list[Problem], stops: pd.DataFrame) -> pd.DataFrame:
    file = "stops.txt"
    _duplicates(problems, stops, file, "stop_id")
    _bad_rows(
        problems, stops, (stops["stop_id"] == "").to_numpy(), file, "stop_id",
        "empty stop_id", "stop_id kosong",
    )  # fmt: skip
    loc = _int_column(problems, stops, file, "location_type", default=0, allowed={0, 1, 2, 3, 4})
    stops = stops.assign(location_type=loc)
    needs_xy = loc <= 2
    for column, limit in (("stop_lat", 90.0), ("stop_lon", 180.0)):
        if column not in stops.columns:
            if needs_xy.any():
                problems.append(
                    Problem(
                        file, None, column, None,
                        "missing column (stops, stations and entrances need coordinates)",
                        "kolom tidak ada (halte, stasiun dan pintu masuk memerlukan koordinat)",
                    )
                )  # fmt: skip
            stops = stops.assign(**{column: ""})
            continue
        text = stops[column]
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, copy=True)
        empty = (text == "").to_numpy()
        _bad_rows(
            problems, stops, needs_xy & empty, file, column,
            "stop without coordinates (stops, stations and entrances need stop_lat/stop_lon)",
            "halte tanpa koordinat (halte, stasiun dan pintu masuk memerlukan stop_lat/stop_lon)",
        )  # fmt: skip
        _bad_rows(
            problems, stops, ~empty & np.isnan(num), file, column,
            "not a number", "bukan angka",
        )  # fmt: skip
        _bad_rows(
            problems, stops, ~np.isnan(num) & (np.abs(num) > limit), file, column,
            f"out of range (-{limit:g}..{limit:g})", f"di luar rentang (-{limit:g}..{limit:g})",
        )  # fmt: skip
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(dtype=float)
    _bad_rows(
        problems, stops, (lat == 0) & (lon == 0), file, "stop_lat",
        "stop at 0,0 (stop_lat and stop_lon are both zero: missing coordinates)",
        "halte di 0,0 (stop_lat dan stop_lon sama-sama nol: koordinat tidak diisi)",
    )  # fmt: skip
    if "parent_station" in stops.columns:
        _unknown(
            problems, stops, file, "parent_station", set(stops["stop_id"]), "stops.txt",
            allow_empty=True,
        )  # fmt: skip
    else:
        stops = stops.assign(parent_station="")
    if "stop_name" not in stops.columns:
        stops = stops.assign(stop_name="")
    wheel = pd.to_numeric(stops.get("wheelchair_boarding", ""), errors="coerce")
    stops = stops.assign(
        stop_lat=lat,
        stop_lon=lon,
        wheelchair_boarding=np.nan_to_num(np.asarray(wheel, dtype=float)).astype(np.int64),
    )
    return stops


def _check_stop_times(
    problems: list[Problem], st: pd.DataFrame, trips: pd.DataFrame, stops: pd.DataFrame
) -> pd.DataFrame:
    file = "stop_times.txt"
    _unknown(problems, st, file, "trip_id", set(trips["trip_id"]), "trips.txt")
    _unknown(problems, st, file, "stop_id", set(stops["stop_id"]), "stops.txt")
    boarding = set(stops.loc[stops["location_type"] == 0, "stop_id"])
    not_boarding = st["stop_id"].isin(set(stops["stop_id"])) & ~st["stop_id"].isin(boarding)
    _bad_rows(
        problems, st, not_boarding.to_numpy(), file, "stop_id",
        "stop_times must use stops/platforms (location_type 0), not stations or entrances",
        "stop_times harus memakai halte/peron (location_type 0), bukan stasiun atau pintu masuk",
    )  # fmt: skip
    seq = _int_column(problems, st, file, "stop_sequence", minimum=0)
    pickup = _int_column(problems, st, file, "pickup_type", default=0, allowed={0, 1, 2, 3})
    times = {}
    for column in ("arrival_time", "departure_time"):
        seconds, bad = time_to_seconds(st[column])
        _bad_rows(
            problems, st, bad, file, column,
            "not a valid time: use HH:MM:SS with minutes and seconds 00-59 "
            "(hours may pass 24, e.g. 25:30:00)",
            "bukan waktu yang sah: gunakan HH:MM:SS dengan menit dan detik 00-59 "
            "(jam boleh lebih dari 24, mis. 25:30:00)",
        )  # fmt: skip
        times[column] = seconds
    arr = np.where(np.isnan(times["arrival_time"]), times["departure_time"], times["arrival_time"])
    dep = np.where(
        np.isnan(times["departure_time"]), times["arrival_time"], times["departure_time"]
    )
    out = pd.DataFrame(
        {
            "row": st.index.to_numpy(),
            "trip_id": st["trip_id"].to_numpy(),
            "stop_id": st["stop_id"].to_numpy(),
            "stop_sequence": seq,
            "arrival": arr,
            "departure": dep,
            "pickup_type": pickup,
        }
    )
    out = out.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    trip = out["trip_id"].to_numpy()
    first = np.r_[True, trip[1:] != trip[:-1]] if len(out) else np.zeros(0, bool)
    last = np.r_[trip[1:] != trip[:-1], True] if len(out) else np.zeros(0, bool)
    same = ~first
    seq_sorted = out["stop_sequence"].to_numpy()
    dup_seq = same & (seq_sorted == np.r_[-1, seq_sorted[:-1]])
    raw = st.loc[out["row"].to_numpy()]
    _bad_rows(
        problems, raw, dup_seq, file, "stop_sequence",
        "the trip already has this stop_sequence", "perjalanan sudah memiliki stop_sequence ini",
    )  # fmt: skip
    missing_end = (first | last) & np.isnan(out["departure"].to_numpy())
    _bad_rows(
        problems, raw, missing_end, file, "arrival_time",
        "the first and last stop of a trip need arrival_time and departure_time",
        "halte pertama dan terakhir sebuah perjalanan memerlukan arrival_time dan departure_time",
    )  # fmt: skip
    if problems:
        return out
    out = _interpolate(out, first)
    back = same & (out["arrival"].to_numpy() < np.r_[0, out["departure"].to_numpy()[:-1]])
    back |= out["departure"].to_numpy() < out["arrival"].to_numpy()
    _bad_rows(
        problems, raw, back, file, "arrival_time",
        "time goes backwards within the trip (earlier than the previous stop's departure, "
        "or departure before arrival)",
        "waktu mundur dalam perjalanan (lebih awal dari keberangkatan halte sebelumnya, "
        "atau berangkat sebelum tiba)",
    )  # fmt: skip
    return out


def _interpolate(out: pd.DataFrame, first: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """Fill empty times linearly by position between the known times of the same trip."""
    dep = out["departure"].to_numpy(dtype=float)
    known = ~np.isnan(dep)
    if not known.all():
        pos = np.arange(len(dep), dtype=float)
        idx_known = np.where(known, pos, np.nan)
        prev = pd.Series(idx_known).ffill().to_numpy().astype(np.int64)
        nxt = pd.Series(idx_known).bfill().to_numpy().astype(np.int64)
        span = np.maximum(nxt - prev, 1)
        filled = dep[prev] + (dep[nxt] - dep[prev]) * (pos - prev) / span
        dep = np.where(known, dep, np.round(filled))
    arr = out["arrival"].to_numpy(dtype=float)
    arr = np.where(np.isnan(arr), dep, arr)
    return out.assign(arrival=arr.astype(np.int64), departure=dep.astype(np.int64))


def _check_frequencies(
    problems: list[Problem], freq: pd.DataFrame, trips: pd.DataFrame
) -> pd.DataFrame:
    file = "frequencies.txt"
    _unknown(problems, freq, file, "trip_id", set(trips["trip_id"]), "trips.txt")
    parsed = {}
    for column in ("start_time", "end_time"):
        seconds, bad = time_to_seconds(freq[column])
        bad |= np.isnan(seconds) & ~bad
        _bad_rows(
            problems, freq, bad, file, column,
            "not a valid time: use HH:MM:SS with minutes and seconds 00-59 "
            "(hours may pass 24, e.g. 25:30:00)",
            "bukan waktu yang sah: gunakan HH:MM:SS dengan menit dan detik 00-59 "
            "(jam boleh lebih dari 24, mis. 25:30:00)",
        )  # fmt: skip
        parsed[column] = np.nan_to_num(seconds).astype(np.int64)
    headway = _int_column(problems, freq, file, "headway_secs", minimum=1)
    exact = _int_column(problems, freq, file, "exact_times", default=0, allowed={0, 1})
    _bad_rows(
        problems, freq, parsed["end_time"] <= parsed["start_time"], file, "end_time",
        "end_time must be later than start_time", "end_time harus lebih lambat dari start_time",
    )  # fmt: skip
    return pd.DataFrame(
        {
            "trip_id": freq["trip_id"].to_numpy(),
            "start_time": parsed["start_time"],
            "end_time": parsed["end_time"],
            "headway_secs": headway,
            "exact_times": exact,
        }
    )


def _services(
    problems: list[Problem], calendar: pd.DataFrame | None, dates: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    services = pd.DataFrame(columns=["service_id", "days", "start_date", "end_date"])
    if calendar is not None and len(calendar):
        file = "calendar.txt"
        _duplicates(problems, calendar, file, "service_id")
        flags = [
            _int_column(problems, calendar, file, day, allowed={0, 1}).astype(str)
            for day in _WEEKDAYS
        ]
        start = _parse_dates(problems, calendar, file, "start_date")
        end = _parse_dates(problems, calendar, file, "end_date")
        services = pd.DataFrame(
            {
                "service_id": calendar["service_id"].to_numpy(),
                "days": ["".join(x) for x in zip(*flags, strict=True)],
                "start_date": start.to_numpy(),
                "end_date": end.to_numpy(),
            }
        )
    exceptions = pd.DataFrame(columns=["service_id", "date", "exception_type"])
    if dates is not None and len(dates):
        file = "calendar_dates.txt"
        kind = _int_column(problems, dates, file, "exception_type", allowed={1, 2})
        exceptions = pd.DataFrame(
            {
                "service_id": dates["service_id"].to_numpy(),
                "date": _parse_dates(problems, dates, file, "date").to_numpy(),
                "exception_type": kind,
            }
        ).drop_duplicates(["service_id", "date"], keep="last")
    return services, exceptions


def read_feed(path: Path | str) -> ParsedFeed:
    """Read and validate a GTFS zip (or a folder of GTFS text files).

    Raises
    ------
    NotFoundError
        The path does not exist.
    ImportError_
        The file is not a zip, required files or columns are missing, or rows are bad
        (times, coordinates, references to unknown ids, duplicates); the message lists
        every problem with its file, row, field and value.
    """
    source = Path(path)
    if not source.exists():
        raise NotFoundError(
            f"GTFS feed not found: {source}",
            where=str(source),
            hint="give the path of a GTFS .zip file",
            message_id=f"feed GTFS tidak ditemukan: {source}",
            hint_id="berikan path berkas .zip GTFS",
        )
    if source.is_dir():
        raise InputError(
            f"{source} is a folder, not a GTFS zip",
            where=str(source),
            hint="zip the GTFS text files (zip -j feed.zip *.txt) and import the zip",
            message_id=f"{source} adalah folder, bukan zip GTFS",
            hint_id="zip berkas teks GTFS (zip -j feed.zip *.txt) lalu impor zip itu",
        )
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise ImportError_(
            f"{source.name} is not a zip file",
            where=str(source),
            hint="a GTFS feed is a .zip of text files (agency.txt, stops.txt, …)",
            message_id=f"{source.name} bukan berkas zip",
            hint_id="feed GTFS adalah .zip berisi berkas teks (agency.txt, stops.txt, …)",
        ) from None
    with zf:
        members = _members(zf)
        missing = [name for name in REQUIRED_FILES if name not in members]
        if "calendar.txt" not in members and "calendar_dates.txt" not in members:
            missing.append("calendar.txt or calendar_dates.txt")
        if missing:
            raise ImportError_(
                f"GTFS feed {source.name} lacks required file(s): {', '.join(missing)}",
                where=f"{source.name}: {', '.join(missing)}",
                hint="a GTFS feed needs agency.txt, stops.txt, routes.txt, trips.txt, "
                "stop_times.txt and calendar.txt or calendar_dates.txt; use the complete "
                "feed from the publisher",
                message_id=f"feed GTFS {source.name} tidak memiliki berkas wajib: "
                f"{', '.join(missing)}",
                hint_id="feed GTFS memerlukan agency.txt, stops.txt, routes.txt, trips.txt, "
                "stop_times.txt dan calendar.txt atau calendar_dates.txt; gunakan feed "
                "lengkap dari penerbitnya",
            )
        tables: dict[str, pd.DataFrame] = {}
        for name in _REQUIRED_COLUMNS:
            if name in members:
                tables[name] = _read_csv(zf, members[name], name)
        newest = max(
            (datetime(*info.date_time[:3]).date() for info in zf.infolist() if not info.is_dir()),
            default=None,
        )
        shape_ids = shape_points = 0
        if "shapes.txt" in members:
            shapes = pd.read_csv(
                io.BytesIO(zf.read(members["shapes.txt"])),
                dtype=str,
                usecols=lambda c: c.strip().lstrip("\ufeff") == "shape_id",
                encoding="utf-8-sig",
            )
            shape_points = len(shapes)
            shape_ids = int(shapes.iloc[:, 0].nunique()) if len(shapes.columns) else 0
        files = sorted(members)
    problems: list[Problem] = []
    for name, frame in tables.items():
        if name in REQUIRED_FILES and frame.empty:
            problems.append(
                Problem(name, None, None, None, "the file has no rows", "berkas tidak berisi baris")
            )
            continue
        for column in _REQUIRED_COLUMNS[name]:
            if column not in frame.columns and not frame.empty:
                problems.append(
                    Problem(
                        name, None, column, None,
                        "required column missing", "kolom wajib tidak ada",
                    )
                )  # fmt: skip
    if problems:
        _raise(problems, source)
    warnings: list[Problem] = []
    agency = tables["agency.txt"]
    stops = _check_stops(problems, tables["stops.txt"])
    routes = tables["routes.txt"]
    _duplicates(problems, routes, "routes.txt", "route_id")
    route_type = _int_column(problems, routes, "routes.txt", "route_type", minimum=0)
    routes = routes.assign(route_type=route_type)
    for column in ("agency_id", "route_short_name", "route_long_name", "route_desc"):
        if column not in routes.columns:
            routes = routes.assign(**{column: ""})
    trips = tables["trips.txt"]
    _duplicates(problems, trips, "trips.txt", "trip_id")
    _unknown(problems, trips, "trips.txt", "route_id", set(routes["route_id"]), "routes.txt")
    for column in ("direction_id", "shape_id"):
        if column not in trips.columns:
            trips = trips.assign(**{column: ""})
    st = _check_stop_times(problems, tables["stop_times.txt"], trips, stops)
    freq_raw = tables.get("frequencies.txt")
    if freq_raw is not None and len(freq_raw):
        freq = _check_frequencies(problems, freq_raw, trips)
    else:
        freq = pd.DataFrame(
            {c: pd.Series(dtype=np.int64) for c in ("start_time", "end_time", "headway_secs",
                                                    "exact_times")}
        ).assign(trip_id=pd.Series(dtype=object))  # fmt: skip
    services, exceptions = _services(
        problems, tables.get("calendar.txt"), tables.get("calendar_dates.txt")
    )
    if problems:
        _raise(problems, source)
    known_services = set(services["service_id"]) | set(exceptions["service_id"])
    no_service = ~trips["service_id"].isin(known_services)
    _bad_rows(
        warnings, trips, no_service.to_numpy(), "trips.txt", "service_id",
        "unknown service_id (not in calendar.txt/calendar_dates.txt): the trip never runs",
        "service_id tidak dikenal (tidak ada di calendar.txt/calendar_dates.txt): "
        "perjalanan tidak pernah berjalan",
    )  # fmt: skip
    no_times = ~trips["trip_id"].isin(set(st["trip_id"]))
    _bad_rows(
        warnings, trips, no_times.to_numpy(), "trips.txt", "trip_id",
        "trip without stop_times (ignored)", "perjalanan tanpa stop_times (diabaikan)",
    )  # fmt: skip
    if "agency_id" in agency.columns and len(agency) > 0:
        _unknown(
            warnings, routes, "routes.txt", "agency_id", set(agency["agency_id"]), "agency.txt",
            allow_empty=True,
        )  # fmt: skip
    info = tables.get("feed_info.txt")
    return ParsedFeed(
        source=source,
        sha256=file_sha256(source),
        agency=agency,
        stops=stops,
        routes=routes,
        trips=trips,
        stop_times=st.drop(columns=["row"]),
        frequencies=freq,
        services=services,
        service_dates=exceptions,
        feed_info=info if info is not None and len(info) else None,
        files=files,
        reference_date=newest,
        shape_ids=shape_ids,
        shape_points=shape_points,
        warnings=warnings,
    )
