"""Tangguh: city resilience platform (data bank, risk, early warning, services, connectivity)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tangguh")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
