"""Helpers for benchmarks: run a function in a fresh process, report time and peak memory."""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
from collections.abc import Callable
from typing import Any


def _child(func: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    start = time.perf_counter()
    extra = func(*args)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, peak_mb, extra))


def measure(func: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """(seconds, peak RSS in MiB, return value) of ``func(*args)`` in a fresh process.

    Dirty pages of earlier runs are flushed first (``os.sync``), so a run does not pay
    for the disk writes of the one before it.
    """
    os.sync()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(func, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"benchmark process failed with exit code {proc.exitcode}")
    return result  # type: ignore[no-any-return]


def best_of(runs: int, func: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """The fastest of ``runs`` measurements (the machines are shared and noisy)."""
    results = [measure(func, *args) for _ in range(runs)]
    return min(results, key=lambda r: r[0])
