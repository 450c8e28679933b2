"""Delivery of alerts to subscribed households: outbox fan-out, channels, workers.

See ``docs/warning-delivery.md``. The alerts stage calls :func:`enqueue` when it issues
an alert version (inside its transaction); workers (:func:`run_worker`, ``tangguh
worker``) send, retry and record; :func:`report` tells what reached whom per channel.
"""

from __future__ import annotations

from tangguh.warning.delivery.outbox import (
    BYPASS_QUIET_LEVELS,
    acknowledge,
    enqueue,
    idempotency_key,
    report,
)
from tangguh.warning.delivery.worker import WorkerConfig, WorkerStats, run_worker

__all__ = [
    "BYPASS_QUIET_LEVELS",
    "WorkerConfig",
    "WorkerStats",
    "acknowledge",
    "enqueue",
    "idempotency_key",
    "report",
    "run_worker",
]
