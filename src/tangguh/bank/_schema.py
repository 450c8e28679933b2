"""SQLAlchemy Core tables that both backends share (Tangguh's own tables, ``tg_*``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["SCHEMA_VERSION", "UTCInstant", "metadata", "to_micros"]

#: Current schema version of the Tangguh tables; see migrations.py.
SCHEMA_VERSION = 9


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch (UTC) of a tz-aware datetime."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (Jakarta data are usually WIB, +07:00)")
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class UTCInstant(TypeDecorator[datetime]):
    """A tz-aware instant: integer microseconds (UTC) in SQLite, ``timestamptz`` in PostgreSQL.

    Integers keep the SQLite observation index small and range scans fast.
    """

    impl = BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value.astimezone(UTC)  # type: ignore[no-any-return,unused-ignore]
        return datetime(1970, 1, 1, tzinfo=UTC) + _micros(int(value))


def _micros(value: int) -> Any:
    from datetime import timedelta

    return timedelta(microseconds=value)


_JSON = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

tg_meta = Table(
    "tg_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

tg_layer = Table(
    "tg_layer",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("kind", String(16), nullable=False, default="vector"),
    Column("title_id", Text),
    Column("title_en", Text),
    Column("description_id", Text),
    Column("description_en", Text),
    Column("theme", String(32), nullable=False, default="other"),
    Column("geometry_type", String(32)),
    Column("crs", String(32), nullable=False, default="EPSG:4326"),
    Column("source_crs", Text),
    Column("source", Text),
    Column("licence", Text),
    Column("attribution", Text),
    Column("keywords", _JSON),
    Column("temporal_start", Text),
    Column("temporal_end", Text),
    Column("update_frequency", Text),
    Column("created", UTCInstant, nullable=False),
    Column("updated", UTCInstant, nullable=False),
    Column("feature_count", BigInteger, nullable=False, default=0),
    Column("minx", Float),
    Column("miny", Float),
    Column("maxx", Float),
    Column("maxy", Float),
    Column("current_version", Integer, nullable=False, default=0),
    Column("synthetic", Boolean, nullable=False, default=False),
    Column("key_column", Text),
    Column("columns", _JSON),
    Column("extra", _JSON),
)

tg_layer_version = Table(
    "tg_layer_version",
    metadata,
    Column("layer_id", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created", UTCInstant, nullable=False),
    Column("author", Text),
    Column("message", Text),
    Column("added", BigInteger, nullable=False),
    Column("changed", BigInteger, nullable=False),
    Column("removed", BigInteger, nullable=False),
    Column("feature_count", BigInteger, nullable=False),
    PrimaryKeyConstraint("layer_id", "version"),
)

tg_raster = Table(
    "tg_raster",
    metadata,
    Column("layer_id", String(63), primary_key=True),
    Column("path", Text, nullable=False),
    Column("driver", Text),
    Column("width", Integer),
    Column("height", Integer),
    Column("band_count", Integer),
    Column("dtype", Text),
    Column("nodata", Float),
    Column("crs", Text),
    Column("transform", _JSON),
    Column("sha256", Text),
)

tg_admin_attribute = Table(
    "tg_admin_attribute",
    metadata,
    Column("unit_id", String(128), nullable=False),
    Column("attribute", String(128), nullable=False),
    Column("value", Float),
    Column("year", Integer),
    Column("source", Text),
    PrimaryKeyConstraint("unit_id", "attribute"),
)

tg_station = Table(
    "tg_station",
    metadata,
    Column("station_id", String(128), primary_key=True),
    Column("name", Text),
    Column("kind", String(32), nullable=False),
    Column("lon", Float),
    Column("lat", Float),
    Column("river", Text),
    Column("unit_id", String(128)),
    Column("attributes", _JSON),
    Column("source", Text),
    Column("updated", UTCInstant),
)

# WITHOUT ROWID in SQLite: the primary key is the table, so a range query on one station
# and parameter reads a contiguous slice of the B-tree.
tg_observation = Table(
    "tg_observation",
    metadata,
    Column("station_id", String(128), nullable=False),
    Column("parameter", String(64), nullable=False),
    Column("t", UTCInstant, nullable=False),
    Column("value", Float),
    Column("unit", String(32)),
    Column("quality", String(16)),
    Column("source", Text),
    PrimaryKeyConstraint("station_id", "parameter", "t"),
    sqlite_with_rowid=False,
)

tg_analysis = Table(
    "tg_analysis",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("question", Text),
    Column("level", String(32)),
    Column("created", UTCInstant, nullable=False),
    Column("software_version", String(32)),
    Column("inputs", _JSON),
    Column("parameters", _JSON),
    Column("timings", _JSON),
    Column("summary", _JSON),
)

tg_analysis_result = Table(
    "tg_analysis_result",
    metadata,
    Column("analysis_id", String(64), nullable=False),
    Column("unit_id", String(128), nullable=False),
    Column("hazard_class", String(64), nullable=False),
    Column("exposure", String(64), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("analysis_id", "unit_id", "hazard_class", "exposure", "metric"),
)

tg_source = Table(
    "tg_source",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("url", Text, nullable=False),
    Column("sha256", Text),
    Column("fetched", UTCInstant),
    Column("path", Text),
)

# Representative points of one version per layer (see _points.py): fids as int64 and
# x then y as float64, little-endian, packed in two blobs.
tg_layer_point = Table(
    "tg_layer_point",
    metadata,
    Column("layer_id", String(63), nullable=False),
    Column("version", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("fids", LargeBinary, nullable=False),
    Column("xy", LargeBinary, nullable=False),
    PrimaryKeyConstraint("layer_id", "version"),
)
