"""Download a named source into a cache directory, with progress, checksum and ETag.

The download streams to a temporary file beside the target and is renamed over it
only when complete (and, for pinned sources, when its SHA-256 matches), so a broken
connection or a tampered mirror never replaces a good cached copy. A JSON sidecar
``<file>.meta.json`` records url, sha256, size, time and the server's ETag /
Last-Modified, which lets a later call skip the download or ask the server whether
the file changed (conditional GET; a ``304 Not Modified`` costs no transfer).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tangguh import __version__ as _tangguh_version
from tangguh.errors import FetchError, NotFoundError
from tangguh.fetch.registry import Source, load_registry

__all__ = ["FetchResult", "fetch", "file_sha256", "read_meta"]

_CHUNK = 1 << 16
_TIMEOUT = httpx.Timeout(30.0, read=120.0)
_USER_AGENT = f"tangguh/{_tangguh_version} (Jakarta resilience data bank)"

#: progress(bytes_received, total_bytes_or_None)
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class FetchResult:
    """The outcome of :func:`fetch`.

    Attributes
    ----------
    path:
        The cached file.
    sha256:
        Its SHA-256 (hex).
    bytes:
        Its size in bytes.
    from_cache:
        True when no new content was downloaded (cache hit or ``304 Not Modified``).
    source:
        The registry entry.
    """

    path: Path
    sha256: str
    bytes: int
    from_cache: bool
    source: Source


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 64 KiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _meta_path(target: Path) -> Path:
    return target.with_name(target.name + ".meta.json")


def read_meta(target: Path) -> dict[str, Any] | None:
    """The sidecar of a cached file, or None when absent or unreadable."""
    try:
        data = json.loads(_meta_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_meta(target: Path, meta: dict[str, Any]) -> None:
    """Write the sidecar atomically (temp file + rename)."""
    path = _meta_path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".meta")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _lookup(name: str, registry: Mapping[str, Source]) -> Source:
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, list(registry), n=3, cutoff=0.5)
    if close:
        hint = f"did you mean {', '.join(close)}?"
        hint_id = f"mungkin maksud Anda {', '.join(close)}?"
    else:
        hint = "list the known sources with `tangguh fetch --list`"
        hint_id = "lihat daftar sumber yang dikenal dengan `tangguh fetch --list`"
    raise NotFoundError(
        f"unknown source {name!r}",
        where="source registry",
        hint=hint,
        message_id=f"sumber {name!r} tidak dikenal",
        hint_id=hint_id,
    )


def _cached(target: Path, source: Source) -> str | None:
    """SHA-256 of a usable cached copy, or None when there is none.

    A pinned source's copy must match its pinned checksum; an unpinned one must match
    the checksum recorded in its sidecar (so a half-written or edited file is refetched).
    """
    if not target.is_file():
        return None
    digest = file_sha256(target)
    if source.sha256 is not None:
        return digest if digest == source.sha256 else None
    meta = read_meta(target)
    return digest if meta is not None and meta.get("sha256") == digest else None


def _http_error(source: Source, response: httpx.Response) -> FetchError:
    status = response.status_code
    if status == 404:
        hint = "the file has moved or been removed; check the url in the registry"
        hint_id = "berkas telah dipindah atau dihapus; periksa url di daftar sumber"
    elif status in (401, 403):
        hint = "the server refuses access; the source may need a login or a different mirror"
        hint_id = "server menolak akses; sumber ini mungkin memerlukan login atau mirror lain"
    elif status == 429 or status >= 500:
        hint = "the server is busy or down; try again later"
        hint_id = "server sedang sibuk atau mati; coba lagi nanti"
    else:
        hint = "check the url in the registry"
        hint_id = "periksa url di daftar sumber"
    return FetchError(
        f"download of {source.name!r} failed: HTTP {status} {response.reason_phrase}",
        where=source.url,
        hint=hint,
        message_id=f"unduhan {source.name!r} gagal: HTTP {status} {response.reason_phrase}",
        hint_id=hint_id,
    )


def fetch(
    name: str,
    *,
    cache_dir: Path,
    registry: Mapping[str, Source] | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
    force: bool = False,
    revalidate: bool = False,
) -> FetchResult:
    """Download the named source into ``cache_dir`` (or reuse the cached copy).

    Parameters
    ----------
    name:
        A registry name, e.g. ``"bmkg-autogempa"``.
    cache_dir:
        Directory of cached downloads (created if missing).
    registry:
        Sources to use; default :func:`tangguh.fetch.registry.load_registry`.
    client:
        An httpx client (proxies, certificates, tests); one is made when omitted.
    progress:
        Called as ``progress(bytes_received, total)`` while downloading; ``total`` is
        the Content-Length or None when the server does not send one.
    force:
        Download again even when a valid cached copy exists.
    revalidate:
        With a valid cached copy, ask the server whether the file changed (conditional
        GET with the stored ETag / Last-Modified) instead of using the copy unseen.
        Useful for live feeds (BMKG); without ``revalidate`` and ``force`` a valid
        cached copy is returned without any network access.

    Returns
    -------
    FetchResult

    Raises
    ------
    NotFoundError
        ``name`` is not in the registry (the hint lists close names).
    FetchError
        HTTP error, timeout, connection failure, or checksum mismatch. The previous
        cached copy, if any, is left untouched and no partial file remains.
    """
    sources = load_registry() if registry is None else registry
    source = _lookup(name, sources)
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(
            f"cannot create cache directory: {exc.strerror or exc}",
            where=str(cache_dir),
            hint="choose a writable --cache directory",
            message_id=f"direktori cache tidak dapat dibuat: {exc.strerror or exc}",
            hint_id="pilih direktori --cache yang dapat ditulisi",
        ) from exc
    target = cache_dir / source.cache_name
    meta = read_meta(target) or {}
    cached_sha = None if force else _cached(target, source)
    validators = {k: meta.get(k) for k in ("etag", "last_modified") if meta.get(k)}
    if cached_sha is not None and not (revalidate and validators):
        return FetchResult(target, cached_sha, target.stat().st_size, True, source)

    headers = {"User-Agent": _USER_AGENT}
    if cached_sha is not None:
        if "etag" in validators:
            headers["If-None-Match"] = str(validators["etag"])
        if "last_modified" in validators:
            headers["If-Modified-Since"] = str(validators["last_modified"])

    own_client = client is None
    http = client if client is not None else httpx.Client(timeout=_TIMEOUT)
    try:
        return _download(http, source, target, headers, cached_sha, progress)
    except httpx.TimeoutException as exc:
        raise FetchError(
            f"download of {source.name!r} timed out ({type(exc).__name__})",
            where=source.url,
            hint="the server is slow or unreachable; try again, or use a mirror via "
            "TANGGUH_SOURCES",
            message_id=f"unduhan {source.name!r} melewati batas waktu ({type(exc).__name__})",
            hint_id="server lambat atau tidak dapat dijangkau; coba lagi, atau gunakan mirror "
            "melalui "
            "TANGGUH_SOURCES",
        ) from exc
    except httpx.HTTPError as exc:
        raise FetchError(
            f"download of {source.name!r} failed: {exc}",
            where=source.url,
            hint="check the network connection or proxy settings (HTTPS_PROXY)",
            message_id=f"unduhan {source.name!r} gagal: {exc}",
            hint_id="periksa koneksi jaringan atau pengaturan proxy (HTTPS_PROXY)",
        ) from exc
    finally:
        if own_client:
            http.close()


def _download(
    http: httpx.Client,
    source: Source,
    target: Path,
    headers: dict[str, str],
    cached_sha: str | None,
    progress: Progress | None,
) -> FetchResult:
    """Stream the URL to a temp file, verify, and rename it over ``target``."""
    with http.stream("GET", source.url, headers=headers, follow_redirects=True) as response:
        if response.status_code == 304 and cached_sha is not None:
            meta = read_meta(target) or {}
            meta["checked_at"] = datetime.now(UTC).isoformat()
            _write_meta(target, meta)
            return FetchResult(target, cached_sha, target.stat().st_size, True, source)
        if response.status_code >= 400 or response.status_code == 304:
            raise _http_error(source, response)
        length = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        # with gzip transfer encoding, Content-Length counts compressed bytes: no total
        total = int(length) if length and length.isdigit() and not encoded else None
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(size, total)
            sha = digest.hexdigest()
            if source.sha256 is not None and sha != source.sha256:
                raise FetchError(
                    f"checksum mismatch for {source.name!r}: expected {source.sha256}, got {sha}",
                    where=source.url,
                    hint="the file changed upstream or the download was tampered with; the "
                    "cached copy was kept. Update sha256 in the registry only if the new "
                    "file is trusted",
                    message_id=f"checksum {source.name!r} tidak cocok: seharusnya "
                    f"{source.sha256}, diperoleh {sha}",
                    hint_id="berkas berubah di sumbernya atau unduhan telah diubah pihak lain; "
                    "salinan di cache "
                    "tetap disimpan. Perbarui sha256 di daftar sumber hanya jika berkas baru itu "
                    "tepercaya",
                )
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _write_meta(
            target,
            {
                "name": source.name,
                "url": source.url,
                "final_url": str(response.url),
                "sha256": sha,
                "bytes": size,
                "fetched_at": datetime.now(UTC).isoformat(),
                "etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified"),
                "licence": source.licence,
                "attribution": source.attribution,
            },
        )
    return FetchResult(target, sha, size, False, source)
