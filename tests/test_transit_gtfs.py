"""Transit data (issue 7 §1, §9): GTFS import, stop classes, departures, rail KML, bad feeds.

The real TransJakarta feed and the rail KML come from ../shared/data (skipped when
absent); bad feeds are made from the real one by editing the zip in tmp_path.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tangguh.bank import Bank, open_bank
from tangguh.cli.main import app
from tangguh.connectivity.gtfs import departures, feeds, import_gtfs, load_stops, route_mode
from tangguh.connectivity.rail import import_rail, read_rail_kml
from tangguh.connectivity.tables.transit import TABLES
from tangguh.demo import build_city, layer_meta
from tangguh.errors import ImportError_, NotFoundError

FOLDER = "jakarta/transit-transjakarta-gtfs"
runner = CliRunner()


@pytest.fixture
def gtfs_zip(shared: Path) -> Path:
    path = shared / FOLDER / "transjakarta_gtfs_2024-06.zip"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture
def rail_kml(shared: Path) -> Path:
    path = shared / FOLDER / "jabodetabek_rail_stations_lines.kml"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


# -- helpers: the raw files, read independently of tangguh ----------------------------


@functools.cache
def _rows(zip_path: Path, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _secs(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def _raw_departures(zip_path: Path, stop_id: str, day: date) -> dict[int, int]:
    """Departures per hour at one stop on one date, straight from the CSVs."""
    weekday = day.strftime("%A").lower()
    ymd = day.strftime("%Y%m%d")
    running = {
        r["service_id"]
        for r in _rows(zip_path, "calendar.txt")
        if r[weekday] == "1" and r["start_date"] <= ymd <= r["end_date"]
    }
    for r in _rows(zip_path, "calendar_dates.txt"):
        if r["date"] == ymd:
            (running.add if r["exception_type"] == "1" else running.discard)(r["service_id"])
    trips = {r["trip_id"] for r in _rows(zip_path, "trips.txt") if r["service_id"] in running}
    by_trip: dict[str, list[tuple[int, int, str, str]]] = defaultdict(list)
    for r in _rows(zip_path, "stop_times.txt"):
        if r["trip_id"] in trips:
            by_trip[r["trip_id"]].append(
                (
                    int(r["stop_sequence"]),
                    _secs(r["departure_time"]),
                    r["stop_id"],
                    r.get("pickup_type", ""),
                )
            )
    freqs: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in _rows(zip_path, "frequencies.txt"):
        freqs[r["trip_id"]].append(r)
    hours: Counter[int] = Counter()
    for trip, times in by_trip.items():
        times.sort()
        first = times[0][1]
        for _, dep, stop, pickup in times:
            if stop != stop_id or pickup == "1":
                continue
            if trip not in freqs:
                hours[(dep // 3600) % 24] += 1
                continue
            for f in freqs[trip]:
                t, end, step = _secs(f["start_time"]), _secs(f["end_time"]), int(f["headway_secs"])
                while t < end:
                    hours[((t + dep - first) // 3600) % 24] += 1
                    t += step
    return dict(hours)


def _edit_zip(src: Path, dst: Path, edits: dict[str, Callable[[str], str] | None]) -> Path:
    """Copy a zip, removing members mapped to None and rewriting the others."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if info.filename in edits and edits[info.filename] is None:
                continue
            data = zin.read(info.filename)
            edit = edits.get(info.filename)
            if edit is not None:
                data = edit(data.decode("utf-8-sig")).encode("utf-8")
            info.compress_type = zipfile.ZIP_STORED
            zout.writestr(info, data)
    return dst


def _set_field(row: int, column: str, value: str) -> Callable[[str], str]:
    """An edit that sets ``column`` of data row ``row`` (1 = first record)."""

    def edit(text: str) -> str:
        records = list(csv.reader(io.StringIO(text)))
        records[row][records[0].index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(records)
        return out.getvalue()

    return edit


def _state(bank: Bank) -> tuple[dict[str, int], dict[str, int]]:
    """Layer versions and the row count of every transit table."""
    versions = {info.id: info.current_version for info in bank.layers()}
    with bank.connect() as conn:
        counts = {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in TABLES
        }
    return versions, counts


# -- the real feed ---------------------------------------------------------------------


def test_real_feed_counts_classes_and_departures(bank: Bank, gtfs_zip: Path) -> None:
    result = import_gtfs(bank, gtfs_zip)
    assert not result.unchanged and result.version is not None
    assert result.feed_id == "transjakarta-1" and result.version.version == 1
    stops_raw = _rows(gtfs_zip, "stops.txt")
    location = Counter(r["location_type"] or "0" for r in stops_raw)
    stop_times = _rows(gtfs_zip, "stop_times.txt")
    c = result.counts
    assert c["routes"] == len(_rows(gtfs_zip, "routes.txt")) == 244
    assert c["stops_total"] == len(stops_raw) == 8043
    assert (c["stations"], c["entrances"], c["stops"]) == (281, 465, 7297)
    assert (location["1"], location["2"], location["0"]) == (281, 465, 7297)
    assert c["trips"] == len(_rows(gtfs_zip, "trips.txt")) == 579
    assert c["stop_times"] == len(stop_times)
    assert c["frequencies"] == len(_rows(gtfs_zip, "frequencies.txt")) == 595
    assert c["shape_points"] == 155_004
    boarding = {r["stop_id"] for r in stops_raw if (r["location_type"] or "0") == "0"}
    served = {r["stop_id"] for r in stop_times} & boarding
    assert c["served_stops"] == len(served)

    stops = load_stops(bank)
    assert len(stops) == len(served) and set(stops["stop_id"]) == served
    assert list(stops.columns[:5]) == ["stop_id", "name", "mode", "capacity", "peak_departures"]
    assert set(stops["capacity"]) == {"low"}  # every TransJakarta mode is low-capacity
    # a BRT platform (served by a BRT route) is "brt"; a Mikrotrans-only stop "mikrotrans"
    routes = {r["route_id"]: r for r in _rows(gtfs_zip, "routes.txt")}
    trip_route = {r["trip_id"]: r["route_id"] for r in _rows(gtfs_zip, "trips.txt")}
    descs: dict[str, set[str]] = defaultdict(set)
    for r in stop_times:
        descs[r["stop_id"]].add(routes[trip_route[r["trip_id"]]]["route_desc"])
    by_id = stops.set_index("stop_id")
    brt = [s for s, d in descs.items() if "BRT" in d]
    mikro = [s for s, d in descs.items() if d == {"Mikrotrans"}]
    assert (by_id.loc[brt, "mode"] == "brt").all() and len(brt) == c["stops_brt"]
    assert (by_id.loc[mikro, "mode"] == "mikrotrans").all()
    assert route_mode(3, "Angkutan Umum Integrasi") == "bus"
    assert route_mode(3, "Royaltrans") == "royaltrans"
    assert route_mode(1, "", "M", "MRT Lebak Bulus") == "mrt"
    assert route_mode(2, "KRL Commuter Line") == "krl"
    assert route_mode(3, "", "", "Pulo Gadung - LRT Velodrome") == "bus"  # LRT on a bus name

    # departures of the busiest stop, checked against the raw CSVs
    busiest = Counter(r["stop_id"] for r in stop_times).most_common(1)[0][0]
    assert result.service_date == date(2024, 6, 3)  # the Monday the feed was published
    for day in ("weekday", "sunday", date(2024, 6, 8)):
        got = departures(bank, day=day, stop_ids=[busiest])
        service_date = got["service_date"].iloc[0]
        expected = _raw_departures(gtfs_zip, busiest, service_date)
        assert dict(zip(got["hour"], got["departures"], strict=True)) == expected
    weekday = departures(bank, stop_ids=[busiest]).set_index("hour")["departures"]
    peak = max(weekday.get(h, 0) for h in (6, 7, 8, 16, 17, 18))
    assert by_id.loc[busiest, "peak_departures"] == peak
    assert 10 <= peak <= 600 and weekday.get(8, 0) > weekday.get(3, 0)
    everything = departures(bank)
    assert int(everything["departures"].sum()) == c["departures_day"]

    # the same file again: nothing new
    again = import_gtfs(bank, gtfs_zip)
    assert again.unchanged and again.version is None and again.feed_id == "transjakarta-1"
    assert bank.layer("transit_stops").current_version == 1
    record = feeds(bank).iloc[0]
    assert record["sha256"] == hashlib.sha256(gtfs_zip.read_bytes()).hexdigest()
    assert record["source"] == gtfs_zip.name and record["kind"] == "gtfs"
    assert (record["valid_from"], record["valid_to"]) == (date(2004, 1, 15), date(2027, 12, 31))
    assert record["service_date"] == date(2024, 6, 3)
    assert record["peak_window"] == "06:00-09:00,16:00-19:00"
    assert isinstance(record["imported"], datetime) and record["imported"].tzinfo is not None
    assert record["layer_id"] == "transit_stops" and record["layer_version"] == 1
    assert len(feeds(bank)) == 1


def test_changed_feed_new_version_and_rail_stations(
    bank: Bank, gtfs_zip: Path, rail_kml: Path, tmp_path: Path
) -> None:
    import_gtfs(bank, gtfs_zip)
    rail = import_rail(bank, rail_kml)
    assert rail.counts["placemarks"] == 123 and rail.counts["stations"] == 118
    assert rail.version is not None and rail.version.version == 2
    assert rail.version.added == 118 and rail.version.removed == 0

    # a changed feed: one headway run now lasts until 25:30:00 (valid: hours pass 24)
    freq = _rows(gtfs_zip, "frequencies.txt")
    changed = _edit_zip(
        gtfs_zip,
        tmp_path / "changed.zip",
        {"frequencies.txt": _set_field(1, "end_time", "25:30:00")},
    )
    second = import_gtfs(bank, changed)
    assert second.feed_id == "transjakarta-2" and second.version is not None
    assert second.version.version == 3
    first_trip = freq[0]["trip_id"]
    trip_stops = {
        r["stop_id"] for r in _rows(gtfs_zip, "stop_times.txt") if r["trip_id"] == first_trip
    }
    night = departures(bank, "transjakarta-2", stop_ids=sorted(trip_stops))
    before = departures(bank, "transjakarta-1", stop_ids=sorted(trip_stops))
    late = night[night["stop_id"].isin(trip_stops) & (night["hour"] == 0)]["departures"].sum()
    late_before = before[before["stop_id"].isin(trip_stops) & (before["hour"] == 0)]
    assert late > late_before["departures"].sum()

    # one set of stops: bus stops (low) and rail stations (high), the rail kept
    stops = load_stops(bank)
    assert Counter(stops["capacity"]) == {"low": 7249, "high": 118}
    high = stops[stops["capacity"] == "high"]
    assert set(high["mode"]) == {"krl", "mrt", "lrt"} and high["peak_departures"].isna().all()
    manggarai = high.set_index("stop_id").loc["krl-manggarai-jakarta"]
    assert manggarai["route_ids"] == "KRL Bogor,KRL Lingkar Cikarang"
    assert set(stops.loc[stops["capacity"] == "low", "feed_id"]) == {"transjakarta-2"}
    # the earlier version still has the first feed's stops (for the SDG trend)
    old = load_stops(bank, version=2)
    assert set(old.loc[old["capacity"] == "low", "feed_id"]) == {"transjakarta-1"}
    frequent = load_stops(bank, min_peak_departures=20)
    assert 0 < (frequent["capacity"] == "low").sum() < 7249
    assert (frequent["capacity"] == "high").sum() == 118  # unknown frequency kept
    listed = feeds(bank)
    assert list(listed["feed_id"]) == ["transjakarta-2", "rail-1", "transjakarta-1"]
    assert list(listed["current"]) == [True, True, False]


def test_bad_feeds_give_clear_errors_and_leave_the_bank_unchanged(
    bank: Bank, gtfs_zip: Path, rail_kml: Path, tmp_path: Path
) -> None:
    import_rail(bank, rail_kml)
    before = _state(bank)
    cases: list[tuple[str, dict[str, Callable[[str], str] | None], list[str]]] = [
        ("missing", {"stops.txt": None}, ["lacks required file", "stops.txt"]),
        (
            "bad_time",
            {"stop_times.txt": _set_field(5, "arrival_time", "25:61:00")},
            [
                "stop_times.txt, row 5 (line 6), field arrival_time",
                "'25:61:00'",
                "not a valid time",
            ],
        ),
        (
            "unknown_stop",
            {"stop_times.txt": _set_field(3, "stop_id", "NOPE")},
            ["stop_times.txt, row 3 (line 4), field stop_id", "'NOPE'", "unknown stop_id"],
        ),
        (
            "null_island",
            {
                "stops.txt": lambda t: _set_field(2, "stop_lon", "0")(
                    _set_field(2, "stop_lat", "0")(t)
                )
            },
            ["stops.txt, row 2 (line 3), field stop_lat", "stop at 0,0"],
        ),
        (
            "no_coordinates",
            {"stops.txt": _set_field(7, "stop_lat", "")},
            ["stops.txt, row 7 (line 8), field stop_lat", "without coordinates"],
        ),
        (
            "unknown_route",
            {"trips.txt": _set_field(1, "route_id", "XX")},
            ["trips.txt, row 1 (line 2), field route_id", "unknown route_id"],
        ),
        (
            "unknown_trip",
            {"frequencies.txt": _set_field(4, "trip_id", "GHOST")},
            ["frequencies.txt, row 4 (line 5), field trip_id", "unknown trip_id"],
        ),
    ]
    for label, edits, expected in cases:
        bad = _edit_zip(gtfs_zip, tmp_path / f"{label}.zip", edits)
        with pytest.raises(ImportError_) as info:
            import_gtfs(bank, bad)
        text = str(info.value)
        for part in expected:
            assert part in text, (label, part, text)
        assert info.value.where and info.value.message_id and info.value.hint_id
        assert _state(bank) == before, label
    # (25:30:00 is valid: see test_changed_feed_new_version_and_rail_stations)
    with pytest.raises(NotFoundError):
        import_gtfs(bank, tmp_path / "absent.zip")
    not_zip = tmp_path / "feed.zip"
    not_zip.write_text("agency_id,agency_name\n")
    with pytest.raises(ImportError_, match="not a zip"):
        import_gtfs(bank, not_zip)


def _mini_feed(path: Path, stop_times: str) -> Path:
    """A tiny metro feed: calendar_dates only, one station with two platforms."""
    files = {
        "agency.txt": "agency_name,agency_url,agency_timezone\nMRT Jakarta,https://x,Asia/Jakarta\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,"
        "wheelchair_boarding\n"
        "ST,Blok M,-6.2440,106.7980,1,,1\n"
        "P1,Blok M 1,-6.2441,106.7981,0,ST,0\n"
        "P2,Blok M 2,-6.2442,106.7982,0,ST,2\n"
        "E1,Pintu A,-6.2443,106.7983,2,ST,\n"
        "S2,Senayan,-6.2270,106.8020,0,,\n",
        "routes.txt": "route_id,route_short_name,route_long_name,route_desc,route_type\n"
        "M,M,Lebak Bulus - Bundaran HI,,1\n",
        "trips.txt": "route_id,service_id,trip_id\nM,WK,A\nM,WK,B\nM,OTHER,C\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type\n"
        + stop_times,
        "calendar_dates.txt": "service_id,date,exception_type\nWK,20240604,1\nOTHER,20240605,1\n",
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_small_feed_explicit_trips_and_interpolation(bank: Bank, tmp_path: Path) -> None:
    times = (
        "A,08:00:00,08:00:00,P1,1,0\n"
        "A,,,S2,2,0\n"  # interpolated: 08:05
        "A,08:10:00,08:10:00,P2,3,0\n"
        "B,24:30:00,24:30:00,P1,1,0\n"  # after midnight: hour 0
        "B,24:40:00,24:40:00,S2,2,1\n"  # no pickup: not a departure
        "C,09:00:00,09:00:00,P1,1,0\n"  # runs on another date
        "C,09:10:00,09:10:00,S2,2,0\n"
    )
    result = import_gtfs(bank, _mini_feed(tmp_path / "mrt.zip", times), peak="08:00-09:00")
    assert result.name == "mrt-jakarta" and result.service_date == date(2024, 6, 4)
    assert result.counts["stations"] == 1 and result.counts["entrances"] == 1
    stops = load_stops(bank).set_index("stop_id")
    assert sorted(stops.index) == ["P1", "P2", "S2"]  # platforms, not the station/entrance
    assert set(stops["mode"]) == {"mrt"} and set(stops["capacity"]) == {"high"}
    got = departures(bank)
    assert sorted(zip(got["stop_id"], got["hour"], got["departures"], strict=True)) == [
        ("P1", 0, 1),
        ("P1", 8, 1),
        ("P2", 8, 1),
        ("S2", 8, 1),
    ]
    assert stops.loc["P1", "peak_departures"] == 1
    other = departures(bank, day="2024-06-05")
    assert sorted(zip(other["stop_id"], other["hour"], strict=True)) == [("P1", 9), ("S2", 9)]
    layer = bank.read_layer("transit_stops").set_index("stop_id")
    assert layer.loc["P1", "wheelchair_boarding"] == 1  # inherited from station ST
    assert layer.loc["P2", "wheelchair_boarding"] == 2
    backwards = times.replace("A,08:10:00,08:10:00,P2", "A,07:50:00,07:50:00,P2")
    with pytest.raises(ImportError_, match="time goes backwards"):
        import_gtfs(bank, _mini_feed(tmp_path / "bad.zip", backwards))


# -- rail KML, demo compatibility ------------------------------------------------------


def test_rail_kml_stations(rail_kml: Path, tmp_path: Path) -> None:
    read = read_rail_kml(rail_kml)
    text = rail_kml.read_text(encoding="utf-8")
    assert read.placemarks == text.count("<Placemark>") == 123
    assert read.points == 123 and read.skipped == 0
    assert read.lines == [
        "KRL Bogor",
        "KRL Lingkar Cikarang",
        "KRL Rangkasbitung",
        "KRL Tangerang",
        "KRL Tanjung Priok",
        "LRT Jabodebek",
        "LRT Jakarta",
        "MRT Jakarta",
    ]
    st = read.stations
    # interchanges drawn once per line are one station (5 of them on the KRL lines)
    assert len(st) == 118 and int(st["placemarks"].sum()) == 123
    assert dict(Counter(st["mode"])) == {"krl": 81, "mrt": 13, "lrt": 24}
    assert st["stop_id"].is_unique
    names = set(st["name"])
    assert {"Manggarai Jakarta", "Harjamukti", "Bundaran HI", "Klender Baru"} <= names
    minx, miny, maxx, maxy = st.total_bounds
    assert minx > 106.2 and maxx < 107.2 and miny > -6.7 and maxy < -6.0
    bad = tmp_path / "bad.kml"
    bad.write_text(text.replace("107.145128,-6.2553325,0", "0,0,0"), encoding="utf-8")
    with pytest.raises(ImportError_, match="placemark 'Cikarang Station'"):
        read_rail_kml(bad)


def test_demo_stops_load_and_real_import_replaces_them(bank: Bank, rail_kml: Path) -> None:
    city = build_city("small")
    demo = city.layers["transit_stops"]
    bank.write_layer("transit_stops", demo, layer_meta("transit_stops", city), key="stop_id")
    stops = load_stops(bank)
    assert len(stops) == len(demo)
    expected = {"brt": "low", "bus": "low", "rail": "high"}
    assert all(expected[m] == c for m, c in zip(stops["mode"], stops["capacity"], strict=True))
    assert stops["peak_departures"].isna().all()
    with pytest.raises(NotFoundError, match="no GTFS feed"):
        departures(bank)
    import_rail(bank, rail_kml)
    info = bank.layer("transit_stops")
    assert not info.synthetic and info.current_version == 2
    assert set(load_stops(bank)["mode"]) == {"krl", "mrt", "lrt"}


# -- CLI -------------------------------------------------------------------------------


def test_cli_transit_commands(
    bank_url: str, gtfs_zip: Path, rail_kml: Path, tmp_path: Path
) -> None:
    open_bank(bank_url).close()
    out = runner.invoke(
        app,
        [
            "transit",
            "import-gtfs",
            str(gtfs_zip),
            "--bank",
            bank_url,
            "--json",
            "--day",
            "2024-06-04",
            "--peak",
            "07:00-08:00",
            "--mode-map",
            "Rusun=minibus",
        ],
    )
    assert out.exit_code == 0, out.output
    imported = json.loads(out.stdout)
    assert imported["feed_id"] == "transjakarta-1" and imported["counts"]["routes"] == 244
    assert imported["counts"]["routes_minibus"] == 16  # the 16 Rusun routes
    out = runner.invoke(app, ["transit", "import-rail", str(rail_kml), "--bank", bank_url])
    assert out.exit_code == 0, out.output
    assert "rail-1" in out.stdout and "118" in out.stdout
    out = runner.invoke(app, ["transit", "import-gtfs", str(gtfs_zip), "--bank", bank_url])
    assert out.exit_code == 0 and "Unchanged / Tidak berubah" in out.stdout
    out = runner.invoke(app, ["transit", "feeds", "--bank", bank_url, "--json"])
    assert [f["feed_id"] for f in json.loads(out.stdout)] == ["rail-1", "transjakarta-1"]
    out = runner.invoke(
        app, ["transit", "stops", "--bank", bank_url, "--capacity", "high", "--json"]
    )
    high = json.loads(out.stdout)
    assert len(high) == 118 and {s["mode"] for s in high} == {"krl", "mrt", "lrt"}
    out = runner.invoke(app, ["transit", "stops", "--bank", bank_url, "--limit", "3"])
    assert out.exit_code == 0 and "mikrotrans" in out.stdout
    out = runner.invoke(
        app, ["transit", "departures", "--bank", bank_url, "--stop", "B05728P", "--json"]
    )
    rows = json.loads(out.stdout)
    assert rows and {r["stop_id"] for r in rows} == {"B05728P"}
    assert all(r["service_date"] == "2024-06-04" for r in rows)  # the day given at import
    at_7 = [r["departures"] for r in rows if r["hour"] == 7]
    out = runner.invoke(
        app, ["transit", "stops", "--bank", bank_url, "--json", "--stop", "B05728P"]
    )
    (terminal,) = json.loads(out.stdout)
    assert terminal["peak_departures"] == at_7[0]  # peak window 07:00-08:00
    out = runner.invoke(
        app, ["transit", "stops", "--bank", bank_url, "--mode", "minibus", "--limit", "2"]
    )
    assert out.exit_code == 0 and "minibus" in out.stdout  # --mode-map Rusun=minibus
    out = runner.invoke(app, ["transit", "departures", "--bank", bank_url, "--day", "sunday"])
    assert out.exit_code == 0 and "2024-06-09" in out.stdout
    bad = _edit_zip(
        gtfs_zip,
        tmp_path / "bad.zip",
        {"stop_times.txt": _set_field(5, "departure_time", "25:61:00")},
    )
    out = runner.invoke(app, ["transit", "import-gtfs", str(bad), "--bank", bank_url])
    assert out.exit_code == 3
    assert "stop_times.txt, row 5 (line 6), field departure_time" in out.output
    out = runner.invoke(app, ["transit", "departures", "--bank", bank_url, "--day", "someday"])
    assert out.exit_code == 2 and "invalid day" in out.output
