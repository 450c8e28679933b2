"""Ordered schema migrations of the Tangguh tables.

A bank records its schema version in ``tg_meta``. Creating a bank runs every migration
from 0, so the upgrade path is exercised on every new bank. ``tangguh db upgrade`` runs
the ones a bank made by an older version lacks. Each step receives a connection inside
the upgrade transaction: a failed upgrade leaves the bank as it was.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

from tangguh.bank import _schema as S

__all__ = ["MIGRATIONS"]


def _v1_core(conn: Connection) -> None:
    """Catalogue, versions, rasters, admin attributes, stations, observations."""
    tables = [
        S.tg_meta,
        S.tg_layer,
        S.tg_layer_version,
        S.tg_raster,
        S.tg_admin_attribute,
        S.tg_station,
        S.tg_observation,
    ]
    S.metadata.create_all(conn, tables=tables)


def _v2_sources(conn: Connection) -> None:
    """Registry of fetched sources, and an index on station kind."""
    S.metadata.create_all(conn, tables=[S.tg_source])
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_tg_station_kind ON tg_station (kind)"))


def _v3_observation_time_index(conn: Connection) -> None:
    """Range queries over all parameters of a station: index (station_id, t).

    The primary key (station_id, parameter, t) serves queries for one parameter; without
    a parameter filter SQLite would scan every reading of the station.
    """
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_tg_observation_station_t "
            "ON tg_observation (station_id, t)"
        )
    )


def _v4_analyses(conn: Connection) -> None:
    """Analysis records and their long result tables (risk engine, issue 3)."""
    S.metadata.create_all(conn, tables=[S.tg_analysis, S.tg_analysis_result])


def _v5_warning(conn: Connection) -> None:
    """Tables of the early-warning chain (issue 4): see ``tangguh.warning.tables``."""
    from tangguh.warning.tables import TABLES

    S.metadata.create_all(conn, tables=TABLES)


def _v6_layer_points(conn: Connection) -> None:
    """Cache of representative points per layer version (fast point-in-polygon work)."""
    S.metadata.create_all(conn, tables=[S.tg_layer_point])


def _v7_web(conn: Connection) -> None:
    """Tables of the web layer (issue 5): see ``tangguh.web.tables``."""
    from tangguh.web.tables import TABLES

    S.metadata.create_all(conn, tables=TABLES)


def _v8_services(conn: Connection) -> None:
    """Tables of basic services monitoring (issue 6): see ``tangguh.services.tables``."""
    from tangguh.services.tables import upgrade

    upgrade(conn)


def _v9_connectivity(conn: Connection) -> None:
    """Tables of connectivity (issue 7): see ``tangguh.connectivity.tables``."""
    from tangguh.connectivity.tables import upgrade

    upgrade(conn)


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _v1_core),
    (2, _v2_sources),
    (3, _v3_observation_time_index),
    (4, _v4_analyses),
    (5, _v5_warning),
    (6, _v6_layer_points),
    (7, _v7_web),
    (8, _v8_services),
    (9, _v9_connectivity),
]
