"""The data bank contract shared by the embedded (GeoPackage) and PostGIS backends."""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

from tangguh import __version__
from tangguh.errors import InputError

__all__ = [
    "RESULT_COLUMNS",
    "THEMES",
    "AnalysisRecord",
    "Bank",
    "LayerInfo",
    "LayerMeta",
    "VersionInfo",
    "validate_layer_id",
]

#: Catalogue themes. Users may use others; these are the ones the platform knows.
THEMES = (
    "admin",
    "hazard",
    "exposure",
    "services",
    "mobility",
    "environment",
    "infrastructure",
    "facilities",
    "observations",
    "other",
)

_LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RESERVED_PREFIXES = ("gpkg_", "rtree_", "tg_", "sqlite_", "spatial_ref_sys", "geometry_columns")


def validate_layer_id(layer_id: str) -> str:
    """Return ``layer_id`` if it is a valid layer id, else raise :class:`InputError`."""
    if not _LAYER_ID.match(layer_id) or "__" in layer_id or layer_id.startswith(_RESERVED_PREFIXES):
        raise InputError(
            f"invalid layer id {layer_id!r}",
            where="layer id",
            hint="use lower-case letters, digits and single underscores, starting with a letter "
            "(at most 63 characters; not starting with gpkg_, rtree_, tg_), e.g. 'rw_boundaries'",
            message_id=f"ID lapisan {layer_id!r} tidak sah",
            hint_id="gunakan huruf kecil, angka dan garis bawah tunggal, diawali huruf "
            "(paling banyak 63 karakter; tidak diawali gpkg_, rtree_, tg_), mis. 'rw_boundaries'",
        )
    return layer_id


@dataclass
class LayerMeta:
    """Catalogue fields a user supplies for a layer (all optional)."""

    title_id: str | None = None
    title_en: str | None = None
    description_id: str | None = None
    description_en: str | None = None
    theme: str = "other"
    source: str | None = None
    source_crs: str | None = None
    licence: str | None = None
    attribution: str | None = None
    keywords: list[str] = field(default_factory=list)
    temporal_start: str | None = None
    temporal_end: str | None = None
    update_frequency: str | None = None
    synthetic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LayerInfo(LayerMeta):
    """A catalogue entry: the user's metadata plus what the bank computes."""

    id: str = ""
    kind: Literal["vector", "raster"] = "vector"
    geometry_type: str | None = None
    crs: str = "EPSG:4326"
    created: datetime | None = None
    updated: datetime | None = None
    feature_count: int = 0
    bbox: tuple[float, float, float, float] | None = None
    current_version: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        data = asdict(self)
        for key in ("created", "updated"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["bbox"] = list(self.bbox) if self.bbox is not None else None
        return data


@dataclass(frozen=True)
class VersionInfo:
    """One version of a layer: who wrote it, when, and what it changed."""

    layer_id: str
    version: int
    created: datetime
    author: str | None
    message: str | None
    added: int
    changed: int
    removed: int
    feature_count: int

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = self.created.isoformat()
        return data


#: Columns of an analysis result table.
RESULT_COLUMNS = ("unit_id", "hazard_class", "exposure", "metric", "value")


@dataclass
class AnalysisRecord:
    """What an analysis was asked and how it ran.

    ``inputs`` maps a role (``hazard``, ``exposure:buildings`` …) to
    ``{"layer": id, "version": n}``; ``parameters`` holds everything else needed to
    run it again; ``timings`` are seconds per step.
    """

    kind: str
    question: str
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    level: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    software_version: str = __version__
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created"] = self.created.isoformat()
        return data


class Bank(ABC):
    """A Tangguh data bank.

    Implementations: :class:`tangguh.bank.gpkg.GpkgBank` (one GeoPackage file, the
    default) and :class:`tangguh.bank.postgis.PostgisBank` (PostgreSQL + PostGIS).
    All geometries are stored in EPSG:4326.
    """

    url: str

    # -- lifecycle -------------------------------------------------------------
    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Bank:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group several writes into one atomic unit (nests: only the outermost commits)."""

    @abstractmethod
    def begin(self) -> AbstractContextManager[Connection]:
        """A SQLAlchemy connection in a write transaction (nests like :meth:`transaction`)."""

    @abstractmethod
    def connect(self) -> AbstractContextManager[Connection]:
        """A SQLAlchemy connection for reading."""

    @abstractmethod
    def layer_points(
        self,
        layer_id: str,
        *,
        version: int | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> Any:
        """A representative point per feature (``tangguh.bank._points.LayerPoints``), cached."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def upgrade(self) -> list[int]:
        """Apply pending schema migrations; return the versions applied."""

    # -- catalogue -------------------------------------------------------------
    @abstractmethod
    def layers(self) -> list[LayerInfo]: ...

    @abstractmethod
    def layer(self, layer_id: str) -> LayerInfo:
        """Return the catalogue entry, or raise NotFoundError."""

    def has_layer(self, layer_id: str) -> bool:
        return any(info.id == layer_id for info in self.layers())

    def layer_versions(self) -> dict[str, int]:
        """Current version of every layer (one catalogue query): the cache key of
        analyses that reuse work while their input layers are unchanged."""
        return {info.id: int(info.current_version or 0) for info in self.layers()}

    @abstractmethod
    def update_meta(self, layer_id: str, **fields: Any) -> LayerInfo: ...

    @abstractmethod
    def delete_layer(self, layer_id: str) -> None: ...

    # -- vector layers -----------------------------------------------------------
    @abstractmethod
    def write_layer(
        self,
        layer_id: str,
        frame: gpd.GeoDataFrame,
        meta: LayerMeta | None = None,
        *,
        key: str | None = None,
        author: str | None = None,
        message: str | None = None,
        mode: Literal["replace", "append"] = "replace",
    ) -> VersionInfo:
        """Write ``frame`` as a new version of ``layer_id`` (creating the layer if needed).

        ``frame`` must have a CRS; it is reprojected to EPSG:4326. ``mode="replace"``
        makes the frame the whole new content; ``"append"`` adds its rows. With ``key``
        (a column name), rows with the same key are diffed as changed/unchanged.
        The write is atomic: on any error the bank is unchanged.
        """

    @abstractmethod
    def read_layer(
        self,
        layer_id: str,
        *,
        version: int | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        where: Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
    ) -> gpd.GeoDataFrame:
        """Read a layer (the current version, or ``version``) as a GeoDataFrame in EPSG:4326.

        ``bbox`` (minx, miny, maxx, maxy, lon/lat) keeps features whose envelope
        intersects it; ``where`` keeps rows whose columns equal the given values.
        """

    @abstractmethod
    def history(self, layer_id: str) -> list[VersionInfo]:
        """Versions of a layer, newest first."""

    # -- rasters -----------------------------------------------------------------
    @abstractmethod
    def register_raster(
        self, layer_id: str, path: Path, meta: LayerMeta | None = None
    ) -> LayerInfo:
        """Copy a raster (GeoTIFF, ESRI ASCII grid, …) into the bank's raster store."""

    @abstractmethod
    def raster_path(self, layer_id: str) -> Path: ...

    # -- stations and observations -------------------------------------------------
    @abstractmethod
    def write_stations(self, stations: pd.DataFrame) -> int:
        """Insert or update stations (columns: station_id, name, kind, lon, lat, …)."""

    @abstractmethod
    def stations(self, *, kind: str | None = None) -> gpd.GeoDataFrame: ...

    @abstractmethod
    def write_observations(self, observations: pd.DataFrame) -> int:
        """Insert or replace observations.

        Columns: station_id, parameter, t (tz-aware), value, unit, quality, source.
        """

    @abstractmethod
    def observations(
        self,
        station_id: str,
        *,
        start: datetime | pd.Timestamp | None = None,
        end: datetime | pd.Timestamp | None = None,
        parameter: str | None = None,
    ) -> pd.DataFrame:
        """Observations of one station in ``[start, end)``, ordered by time (UTC)."""

    # -- admin attributes (long table) ---------------------------------------------
    @abstractmethod
    def write_admin_attributes(self, rows: pd.DataFrame) -> int:
        """Upsert numeric attributes of admin units (unit_id, attribute, value, year, source)."""

    @abstractmethod
    def admin_attributes(self, attribute: str | None = None) -> pd.DataFrame: ...

    # -- analysis records ------------------------------------------------------------
    @abstractmethod
    def save_analysis(self, record: AnalysisRecord, results: pd.DataFrame) -> str:
        """Store an analysis record and its results (:data:`RESULT_COLUMNS`) atomically."""

    @abstractmethod
    def analyses(self, *, kind: str | None = None) -> list[AnalysisRecord]:
        """Stored analysis records, newest first."""

    @abstractmethod
    def analysis(self, analysis_id: str) -> tuple[AnalysisRecord, pd.DataFrame]:
        """One record and its results, or NotFoundError."""

    @abstractmethod
    def delete_analysis(self, analysis_id: str) -> None: ...

    # -- helpers -------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts per layer plus stations and observations (for `tangguh demo`/`layers`)."""
        return {
            "bank": self.url,
            "layers": [
                {"id": i.id, "theme": i.theme, "kind": i.kind, "features": i.feature_count}
                for i in self.layers()
            ],
            "stations": len(self.stations()),
        }

    def iter_layer_ids(self) -> Iterator[str]:
        for info in self.layers():
            yield info.id
