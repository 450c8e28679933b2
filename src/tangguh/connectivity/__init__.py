"""Connectivity (issue 7): walking network, GTFS transit access (SDG 11.2.1), TOD scores,
flood-aware evacuation and the flood cascade. See docs/architecture.md."""
