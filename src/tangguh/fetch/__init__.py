"""Named public sources: a registry (``sources.toml``) and a cached, verified downloader.

Example (needs network access)::

    from tangguh.fetch import fetch
    result = fetch("bmkg-autogempa", cache_dir=Path("~/.cache/tangguh").expanduser())
    print(result.path, result.sha256, result.source.attribution)
"""

from tangguh.fetch.download import FetchResult, fetch, file_sha256, read_meta
from tangguh.fetch.registry import ENV_VAR, Source, load_registry, parse_registry

__all__ = [
    "ENV_VAR",
    "FetchResult",
    "Source",
    "fetch",
    "file_sha256",
    "load_registry",
    "parse_registry",
    "read_meta",
]
