"""Registry of named public data sources (``sources.toml``).

A source is one downloadable file with an honest licence and attribution, so that a
layer built from it can carry them into the catalogue. The packaged registry lists
sources relevant to Jakarta; users add or override entries with their own TOML file
(``TANGGUH_SOURCES`` or an explicit path), e.g. a pinned mirror inside BPBD's network.

File format::

    [sources.geofabrik-java]
    url = "https://download.geofabrik.de/asia/indonesia/java-latest.osm.pbf"
    format = "osm.pbf"
    licence = "ODbL-1.0"
    attribution = "© OpenStreetMap contributors"
    description = "OpenStreetMap extract of Java, updated daily"
    sha256 = ""          # optional: 64 hex digits when the file is pinned
    filename = ""        # optional: name in the cache (default: last part of the URL)
    layer_hint = "osm"   # optional: suggested layer id / reader
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tangguh.errors import InputError

__all__ = ["ENV_VAR", "Source", "load_registry", "parse_registry"]

#: Environment variable naming an extra registry file merged over the packaged one.
ENV_VAR = "TANGGUH_SOURCES"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED = ("url", "format", "licence", "attribution", "description")


@dataclass(frozen=True)
class Source:
    """One named public source: where it is, what it is, and under which terms.

    Attributes
    ----------
    name:
        Registry key, lower-case (``geofabrik-java``).
    url:
        HTTP(S) address of the file.
    format:
        File format (``osm.pbf``, ``zip``, ``json``, ``gpkg``, ``rss``, …).
    licence:
        Licence of the data (SPDX id where one exists, e.g. ``ODbL-1.0``).
    attribution:
        The credit line to show wherever the data is used.
    description:
        What the file holds and how often it changes.
    sha256:
        Expected SHA-256 (hex) when the file is pinned; ``None`` for live files.
    filename:
        File name in the cache; ``None`` means the last part of the URL path.
    layer_hint:
        Suggested layer id or reader for the file (informative only).
    """

    name: str
    url: str
    format: str
    licence: str
    attribution: str
    description: str
    sha256: str | None = None
    filename: str | None = None
    layer_hint: str | None = None

    @property
    def cache_name(self) -> str:
        """The file name used in the cache directory."""
        if self.filename:
            return self.filename
        tail = PurePosixPath(urlsplit(self.url).path).name
        return tail or f"{self.name}.{self.format}"


def _source(name: str, entry: Any, where: str) -> Source:
    """Validate one ``[sources.NAME]`` table."""
    here = f"{where} [sources.{name}]"
    if not _NAME.match(name):
        raise InputError(
            f"invalid source name {name!r}",
            where=here,
            hint="use lower-case letters, digits, '.', '_' and '-' (at most 80 characters)",
            message_id=f"nama sumber {name!r} tidak sah",
            hint_id="gunakan huruf kecil, angka, '.', '_' dan '-' (paling banyak 80 karakter)",
        )
    if not isinstance(entry, dict):
        raise InputError(
            "a source must be a table",
            where=here,
            hint="write [sources.NAME]",
            message_id="sebuah sumber harus berupa tabel",
            hint_id="tulis [sources.NAME]",
        )
    known = {f.name for f in fields(Source)} - {"name"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}",
            where=here,
            hint=f"allowed keys: {', '.join(sorted(known))}",
            message_id=f"kunci tidak dikenal: {', '.join(unknown)}",
            hint_id=f"kunci yang diizinkan: {', '.join(sorted(known))}",
        )
    missing = [key for key in _REQUIRED if not str(entry.get(key) or "").strip()]
    if missing:
        raise InputError(
            f"missing {', '.join(missing)}",
            where=here,
            hint="every source needs url, format, licence, attribution and description",
            message_id=f"belum diisi: {', '.join(missing)}",
            hint_id="setiap sumber memerlukan url, format, licence, attribution dan description",
        )
    values: dict[str, str | None] = {}
    for key in known:
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(
                f"{key} must be a string",
                where=f"{here} {key}",
                message_id=f"{key} harus berupa string",
            )
        values[key] = value.strip() if value and value.strip() else None
    url = values["url"] or ""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise InputError(
            f"url must be http(s): {url!r}",
            where=f"{here} url",
            hint="give a full https:// URL",
            message_id=f"url harus http(s): {url!r}",
            hint_id="berikan URL https:// lengkap",
        )
    sha256 = values["sha256"]
    if sha256 is not None:
        sha256 = sha256.lower()
        if not _SHA256.match(sha256):
            raise InputError(
                "sha256 must be 64 hexadecimal digits",
                where=f"{here} sha256",
                hint="compute it with `sha256sum FILE`, or leave it empty for live files",
                message_id="sha256 harus terdiri atas 64 digit heksadesimal",
                hint_id="hitung dengan `sha256sum FILE`, atau biarkan kosong untuk berkas yang "
                "terus berubah",
            )
    filename = values["filename"]
    if filename is not None and (filename in (".", "..") or "/" in filename or "\\" in filename):
        raise InputError(
            f"filename must be a plain file name: {filename!r}",
            where=f"{here} filename",
            message_id=f"filename harus berupa nama berkas biasa: {filename!r}",
        )
    return Source(
        name=name,
        url=url,
        format=values["format"] or "",
        licence=values["licence"] or "",
        attribution=values["attribution"] or "",
        description=values["description"] or "",
        sha256=sha256,
        filename=filename,
        layer_hint=values["layer_hint"],
    )


def parse_registry(text: str, *, where: str = "<registry>") -> dict[str, Source]:
    """Parse registry TOML text into sources keyed by name.

    Raises
    ------
    InputError
        Invalid TOML, or an entry with missing/unknown keys or bad values.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"invalid TOML: {exc}",
            where=where,
            hint="check quotes and [sources.NAME] headers",
            message_id=f"TOML tidak sah: {exc}",
            hint_id="periksa tanda kutip dan judul [sources.NAME]",
        ) from exc
    unknown = sorted(set(data) - {"sources"})
    if unknown:
        raise InputError(
            f"unknown top-level key(s) {', '.join(unknown)}",
            where=where,
            hint="put every source under [sources.NAME]",
            message_id=f"kunci tingkat atas tidak dikenal: {', '.join(unknown)}",
            hint_id="letakkan setiap sumber di bawah [sources.NAME]",
        )
    tables = data.get("sources", {})
    if not isinstance(tables, dict):
        raise InputError(
            "'sources' must be a table", where=where, message_id="'sources' harus berupa tabel"
        )
    return {name: _source(name, entry, where) for name, entry in tables.items()}


def _read(path: Path) -> dict[str, Source]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read source registry: {exc.strerror or exc}",
            where=str(path),
            hint=f"check the path (or unset {ENV_VAR})",
            message_id=f"daftar sumber tidak dapat dibaca: {exc.strerror or exc}",
            hint_id=f"periksa path berkas (atau hapus variabel lingkungan {ENV_VAR})",
        ) from exc
    return parse_registry(text, where=str(path))


def load_registry(path: Path | str | None = None) -> dict[str, Source]:
    """Load the packaged registry and merge a user registry over it.

    Parameters
    ----------
    path:
        A user registry TOML file. When ``None``, the file named by the
        ``TANGGUH_SOURCES`` environment variable is used if set. Entries in the user
        file add to, or replace (same name), the packaged ones.

    Returns
    -------
    dict
        Sources keyed by name, sorted by name.
    """
    packaged = resources.files("tangguh.fetch").joinpath("sources.toml")
    sources = parse_registry(
        packaged.read_text(encoding="utf-8"), where="tangguh/fetch/sources.toml"
    )
    extra: Path | None = Path(path) if path is not None else None
    if extra is None and os.environ.get(ENV_VAR):
        extra = Path(os.environ[ENV_VAR])
    if extra is not None:
        sources.update(_read(extra))
    return dict(sorted(sources.items()))
