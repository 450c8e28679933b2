"""Pollers: the DSDA "Posko Banjir" gauge feed and the BMKG CAP nowcast RSS.

DSDA (``https://poskobanjir.dsdadki.web.id/xmldata.xml``, STANDARDS.md §5.3): an XML
``DocumentElement`` with one ``SP_GET_LAST_STATUS_PINTU_AIR`` row per gauge (or the JSON
variant ``datatmalaststatus.json`` with the same keys). :func:`parse_dsda` turns it into
stations, ``dsda:<ID_PINTU_AIR>``, with the published thresholds in
``attributes["dsda_thresholds"]`` (``siaga1`` … ``siaga4``), and readings (``TANGGAL``
is WIB: a time without a zone gets +07:00). :func:`poll_dsda` fetches, upserts the
stations (keeping attributes set by operators) and feeds the readings to
:func:`tangguh.warning.ingest.accept`. Units: the feed is taken to be in cm; one client
divides by 10 (mm?), so ``value_scale`` converts when a live check shows otherwise.

BMKG (``https://www.bmkg.go.id/alerts/nowcast/id/rss.xml``): :func:`poll_bmkg_cap`
fetches the RSS index and, for each item not delivered before, the CAP XML it links to,
and calls ``handler(xml_bytes, link)`` once per item. Delivered items are remembered in
``tg_poll_state`` (or a set), so a restart does not deliver them again. An item whose
CAP cannot be fetched, or whose handler raises, is not remembered and is retried next
time. Parsing the CAP and relaying it is :mod:`tangguh.warning.cap` / ``alerts``.

Fetching uses httpx with timeouts; a network error or an HTTP error status raises a
bilingual :class:`tangguh.errors.FetchError` and changes nothing in the bank.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pandas as pd
from lxml import etree
from sqlalchemy import insert, select

from tangguh.bank.base import Bank
from tangguh.errors import FetchError, InputError, TangguhError
from tangguh.warning import ingest, qc
from tangguh.warning.tables.obs import tg_poll_state

__all__ = [
    "BmkgPollResult",
    "DsdaFeed",
    "DsdaPollResult",
    "Poller",
    "fetch",
    "parse_bmkg_rss",
    "parse_dsda",
    "poll_bmkg_cap",
    "poll_dsda",
]

log = logging.getLogger(__name__)

WIB = timezone(timedelta(hours=7), "WIB")
USER_AGENT = "tangguh-poller (+https://github.com/tangguh)"
_ROW = "SP_GET_LAST_STATUS_PINTU_AIR"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def fetch(url: str, *, timeout: float = 10.0, client: httpx.Client | None = None) -> bytes:
    """GET ``url`` and return the body; raise :class:`FetchError` on any failure."""
    try:
        if client is not None:
            response = client.get(url, timeout=timeout)
        else:
            with httpx.Client(
                timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
            ) as own:
                response = own.get(url)
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        code = exc.response.status_code
        raise FetchError(
            f"{url} answered HTTP {code}",
            where=url,
            hint="check the URL; the last data fetched stay in the bank",
            message_id=f"{url} menjawab HTTP {code}",
            hint_id="periksa URL; data terakhir yang berhasil diambil tetap di bank",
        ) from exc
    except httpx.HTTPError as exc:
        raise FetchError(
            f"cannot fetch {url}: {type(exc).__name__}: {exc}",
            where=url,
            hint="check the network and the URL; the last data fetched stay in the bank",
            message_id=f"tidak dapat mengambil {url}: {type(exc).__name__}: {exc}",
            hint_id="periksa jaringan dan URL; data terakhir yang berhasil diambil tetap di bank",
        ) from exc
    return response.content


# -- DSDA ----------------------------------------------------------------------------------


@dataclass
class DsdaFeed:
    """A parsed DSDA feed: ``stations`` (for ``bank.write_stations``), ``readings``."""

    stations: pd.DataFrame
    readings: pd.DataFrame
    problems: list[str] = field(default_factory=list)


def _dsda_rows(content: bytes) -> list[dict[str, Any]]:
    text = content.lstrip()
    if text[:1] in (b"{", b"["):
        data = json.loads(text.decode("utf-8-sig"))
        if isinstance(data, Mapping):
            data = data.get("DocumentElement", data)
            if isinstance(data, Mapping):
                data = data.get(_ROW, data.get("data", []))
        if isinstance(data, Mapping):
            data = [data]
        if not isinstance(data, list):
            raise ValueError("JSON is not a list of rows")
        return [dict(r) for r in data if isinstance(r, Mapping)]
    root = etree.fromstring(content, _parser())
    rows = []
    for row in root.iter():
        if not isinstance(row.tag, str) or etree.QName(row).localname != _ROW:
            continue
        rows.append(
            {
                etree.QName(c).localname: (c.text or "").strip()
                for c in row
                if isinstance(c.tag, str)
            }
        )
    return rows


def _number(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int | float):
        return float(raw)
    text = str(raw).strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _dsda_time(raw: Any) -> datetime | None:
    """TANGGAL: ISO (with or without offset) or ``dd/mm/yyyy HH:MM``; WIB if no zone."""
    text = str(raw or "").strip()
    if not text:
        return None
    m = _DMY.match(text)
    if m:
        d, mo, y, h, mi, s = m.groups()
        value = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    else:
        try:
            value = datetime.fromisoformat(text.replace("WIB", "").strip())
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value


def parse_dsda(content: bytes, *, value_scale: float = 1.0, prefix: str = "dsda:") -> DsdaFeed:
    """Parse a DSDA Posko Banjir feed (XML or JSON) into stations and readings."""
    try:
        rows = _dsda_rows(content)
    except (etree.XMLSyntaxError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"the DSDA feed cannot be read: {exc}",
            where="DSDA feed",
            hint="check the URL gives xmldata.xml or datatmalaststatus.json",
            message_id=f"umpan DSDA tidak dapat dibaca: {exc}",
            hint_id="periksa bahwa URL memberikan xmldata.xml atau datatmalaststatus.json",
        ) from exc
    stations: list[dict[str, Any]] = []
    readings: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        ident = str(row.get("ID_PINTU_AIR") or row.get("KODE_STASIUN") or "").strip()
        if not ident:
            problems.append(f"row {i}: no ID_PINTU_AIR / baris {i}: tanpa ID_PINTU_AIR")
            continue
        sid = f"{prefix}{ident}"
        if sid in seen:
            problems.append(f"row {i}: {sid} repeated / baris {i}: {sid} berulang")
            continue
        seen.add(sid)
        thresholds = {
            f"siaga{k}": (None if (v := _number(row.get(f"SIAGA{k}"))) is None else v * value_scale)
            for k in (1, 2, 3, 4)
        }
        lon, lat = _number(row.get("LONGITUDE")), _number(row.get("LATITUDE"))
        stations.append(
            {
                "station_id": sid,
                "name": str(row.get("NAMA_PINTU_AIR") or ident).strip(),
                "kind": "river_gauge",
                "lon": lon,
                "lat": lat,
                "source": "dsda",
                "attributes": {
                    "dsda_id": str(row.get("ID_PINTU_AIR") or ""),
                    "kode_stasiun": str(row.get("KODE_STASIUN") or ""),
                    "lokasi": str(row.get("LOKASI") or ""),
                    "dsda_thresholds": thresholds,
                    "dsda_status": str(row.get("STATUS_SIAGA") or ""),
                },
            }
        )
        t = _dsda_time(row.get("TANGGAL"))
        value = _number(row.get("TINGGI_AIR"))
        if t is None or value is None:
            problems.append(
                f"row {i} ({sid}): no usable TANGGAL/TINGGI_AIR / "
                f"baris {i} ({sid}): TANGGAL/TINGGI_AIR tidak dapat dipakai"
            )
            continue
        readings.append(
            {
                "station_id": sid,
                "parameter": "water_level",
                "t": t,
                "value": value * value_scale,
                "unit": "cm",
            }
        )
    return DsdaFeed(
        pd.DataFrame(
            stations, columns=["station_id", "name", "kind", "lon", "lat", "source", "attributes"]
        ),
        pd.DataFrame(readings, columns=["station_id", "parameter", "t", "value", "unit"]),
        problems,
    )


@dataclass
class DsdaPollResult:
    stations: int
    report: ingest.IngestReport
    problems: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"stations": self.stations, "problems": self.problems, **self.report.to_json()}


def _upsert_stations(bank: Bank, stations: pd.DataFrame) -> int:
    """Write stations, merging attributes into the stored ones (operators' keys stay)."""
    if stations.empty:
        return 0
    existing = qc.station_attributes(bank, list(stations["station_id"]))
    frame = stations.copy()
    merged: list[dict[str, Any]] = [
        {**existing.get(sid, {}), **attrs}
        for sid, attrs in zip(frame["station_id"], frame["attributes"], strict=True)
    ]
    frame["attributes"] = pd.Series(merged, index=frame.index, dtype=object)
    return bank.write_stations(frame)


def poll_dsda(
    bank: Bank,
    url: str,
    *,
    timeout: float = 10.0,
    value_scale: float = 1.0,
    now: datetime | None = None,
    on_accepted: ingest.OnAccepted | None = None,
    client: httpx.Client | None = None,
) -> DsdaPollResult:
    """Fetch the DSDA feed, upsert its stations and ingest its readings (source ``dsda``).

    A reading already stored (the feed repeats the last status until the next one) is
    counted as a duplicate.
    """
    feed = parse_dsda(fetch(url, timeout=timeout, client=client), value_scale=value_scale)
    n = _upsert_stations(bank, feed.stations)
    report = ingest.accept(bank, feed.readings, source="dsda", now=now, on_accepted=on_accepted)
    return DsdaPollResult(n, report, feed.problems)


# -- BMKG CAP ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RssItem:
    guid: str | None
    link: str
    title: str | None
    pub_date: str | None

    @property
    def key(self) -> str:
        return (self.guid or self.link)[:190]


def parse_bmkg_rss(content: bytes) -> list[RssItem]:
    """Items of an RSS 2.0 index (BMKG nowcast): guid, link, title, pubDate."""
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(
            f"the RSS index is not XML: {exc}",
            where="RSS",
            hint="check the URL gives the BMKG nowcast rss.xml",
            message_id=f"indeks RSS bukan XML: {exc}",
            hint_id="periksa bahwa URL memberikan rss.xml nowcast BMKG",
        ) from exc
    items = []
    for item in root.iter("item"):
        link = (item.findtext("link") or "").strip()
        if not link:
            continue
        guid = (item.findtext("guid") or "").strip() or None
        items.append(RssItem(guid, link, item.findtext("title"), item.findtext("pubDate")))
    return items


@dataclass
class BmkgPollResult:
    items: int = 0
    delivered: list[str] = field(default_factory=list)
    already_seen: int = 0
    #: items not delivered this time (retried next poll): {item, link, error}
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "delivered": self.delivered,
            "already_seen": self.already_seen,
            "errors": self.errors,
        }


def feed_name(url: str, kind: str = "bmkg-cap") -> str:
    """The ``tg_poll_state.feed`` of a URL: ``<kind>:<16 hex of its SHA-256>``."""
    return f"{kind}:{hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]}"


def _seen_in_bank(bank: Bank, feed: str) -> set[str]:
    with bank.connect() as conn:
        query = select(tg_poll_state.c.item).where(tg_poll_state.c.feed == feed)
        return {str(r[0]) for r in conn.execute(query)}


def poll_bmkg_cap(
    url: str,
    handler: Callable[[bytes, str], object],
    seen: set[str] | Bank,
    *,
    feed: str | None = None,
    timeout: float = 10.0,
    rewrite: Callable[[str], str] | None = None,
    client: httpx.Client | None = None,
) -> BmkgPollResult:
    """Deliver each new CAP alert of a BMKG RSS index to ``handler(xml_bytes, link)``.

    Parameters
    ----------
    url:
        The RSS index.
    handler:
        Called once per new item with the CAP XML bytes and the item's link.
    seen:
        A set of delivered item keys (updated in place) or a bank (``tg_poll_state``,
        feed ``feed`` or :func:`feed_name` of ``url``).
    rewrite:
        Maps an item's link to the URL fetched (a mirror, or a test server).
    """
    items = parse_bmkg_rss(fetch(url, timeout=timeout, client=client))
    name = feed or feed_name(url)
    known = _seen_in_bank(seen, name) if isinstance(seen, Bank) else seen
    result = BmkgPollResult(items=len(items))
    for item in items:
        if item.key in known:
            result.already_seen += 1
            continue
        target = rewrite(item.link) if rewrite else item.link
        try:
            xml = fetch(target, timeout=timeout, client=client)
            handler(xml, item.link)
        except TangguhError as exc:
            result.errors.append({"item": item.key, "link": item.link, "error": exc.message})
            log.warning("BMKG item %s not delivered: %s", item.key, exc.message)
            continue
        except Exception as exc:  # the handler's own failure: retry next poll
            result.errors.append(
                {"item": item.key, "link": item.link, "error": f"{type(exc).__name__}: {exc}"}
            )
            log.exception("BMKG handler failed on %s", item.key)
            continue
        if isinstance(seen, Bank):
            with seen.begin() as conn:
                conn.execute(
                    insert(tg_poll_state).values(
                        feed=name, item=item.key, seen=datetime.now(UTC), detail=item.link
                    )
                )
        else:
            seen.add(item.key)
        known.add(item.key)
        result.delivered.append(item.key)
    return result


# -- run loop ------------------------------------------------------------------------------


class Poller:
    """Run ``task()`` every ``interval`` seconds; a failed poll is logged, not fatal.

    ``run(iterations=N)`` stops after N polls (tests, ``--once``); ``stop()`` from another
    thread ends the loop at the next tick.
    """

    def __init__(
        self,
        task: Callable[[], object],
        interval: float,
        *,
        on_result: Callable[[object], object] | None = None,
        on_error: Callable[[TangguhError], object] | None = None,
    ) -> None:
        if interval <= 0:
            raise InputError(
                f"interval must be positive, got {interval}",
                where="--interval",
                hint="give seconds, e.g. 300",
                message_id=f"interval harus positif, yang diterima {interval}",
                hint_id="berikan detik, mis. 300",
            )
        self.task = task
        self.interval = interval
        self.on_result = on_result
        self.on_error = on_error
        self.polls = 0
        self.failures = 0
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self, iterations: int | None = None) -> None:
        next_at = time.monotonic()
        while not self._stop and (iterations is None or self.polls < iterations):
            self.polls += 1
            try:
                result = self.task()
            except TangguhError as exc:
                self.failures += 1
                log.warning("poll failed: %s", exc)
                if self.on_error is not None:
                    self.on_error(exc)
            else:
                if self.on_result is not None:
                    self.on_result(result)
            if iterations is not None and self.polls >= iterations:
                break
            next_at += self.interval
            while not self._stop and time.monotonic() < next_at:
                time.sleep(min(0.2, max(0.0, next_at - time.monotonic())))
