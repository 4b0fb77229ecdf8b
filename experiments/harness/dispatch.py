"""Where the runs of a sweep go: this process, a local Ray instance, or a Ray cluster.

``--workers 1`` runs them one after another in this process; ``--workers K`` runs them as Ray
tasks (one CPU each) on a local Ray instance of K CPUs started for the sweep; ``--address
HOST:PORT`` (or ``auto``) sends the same tasks to a running Ray cluster instead, whose workers must
see this repository at the same path (a shared file system) and the same environment (``make
setup`` on each node). Results stream back to the calling process, which alone writes them, so a
sweep interrupted on a cluster resumes like a local one.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any


def dispatch(function: Callable[[Any], Any], items: Sequence[Any], workers: int,
             address: str | None = None) -> Iterator[tuple[Any, Any]]:
    """(item, function(item) or the exception it raised) as each finishes: in this process when
    workers == 1 and no address is given, else as Ray tasks (:func:`ray_map`)."""
    if workers <= 1 and address is None:
        for item in items:
            try:
                yield item, function(item)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # noqa: BLE001 - reported, the other items go on
                yield item, error
        return
    yield from ray_map(function, items, workers, address)


def ray_map(function: Callable[[Any], Any], items: Sequence[Any], workers: int,
            address: str | None = None) -> Iterator[tuple[Any, Any]]:
    """(item, function(item) or the exception it raised) as each finishes, computed as Ray tasks
    of one CPU each: on a local Ray instance of `workers` CPUs, or on the cluster at `address`.
    `function` must be importable by name (module-level). A task lost with its worker or node is
    reported as a Ray error, not retried: the sweep's next invocation redoes it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=0)(importable(function))
    pending = {task.remote(item): item for item in items}
    try:
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(ready)
            try:
                yield item, ray.get(ready)
            except ray.exceptions.RayTaskError as error:
                yield item, error.as_instanceof_cause()
            except ray.exceptions.RayError as error:  # a lost worker or node: reported, retried next time
                yield item, error
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def importable(function: Callable) -> Callable:
    """`function`, or where it was defined in ``__main__`` (a module run as ``python -m
    experiments.<name>``) the same function of that module by its import name: Ray's worker
    processes cannot unpickle functions of ``__main__``."""
    if getattr(function, "__module__", None) != "__main__":
        return function
    name = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", None)
    if not name or name == "__main__":
        return function
    return getattr(importlib.import_module(name), function.__name__)
