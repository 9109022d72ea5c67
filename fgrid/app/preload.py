"""Load the analysis in every worker before its first task: in the main process before a prefork pool forks (every
pool process then shares one copy), or in each process the pool starts when that was not possible."""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

from fgrid.app.tasks import dataset, warm_up
from fgrid.errors import FgridError

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("fgrid")
_state: dict[str, Any] = {}


def connect(app: Celery) -> None:
    """Connect the warm-up to Celery's worker signals for ``app`` (the latest app built in this process wins)."""
    from celery import signals

    _state["app"] = app
    signals.worker_process_init.connect(_warm_up, weak=False, dispatch_uid="fgrid.warm")
    signals.worker_init.connect(_warm_up_single_process, weak=False, dispatch_uid="fgrid.warm1")


def _warm_up(**_: Any) -> None:
    # Each worker process has the data loaded and its indexes built before its first task: inherited from the main
    # process when that preloaded the precomputed indexes, else built here (and written for the next start).
    from fgrid.analysis import feature_store, precomputed

    try:
        ds = dataset(_state["app"])
        built = feature_store.store_key(precomputed.SCORING) not in ds.derived
        if built:  # another pool process may have written the precomputed indexes since the main process looked
            ds.derived.update(precomputed.read(ds.path) or {})
            built = feature_store.store_key(precomputed.SCORING) not in ds.derived
        warm_up(_state["app"])
        if built:
            precomputed.write(ds)
    except FgridError as exc:
        log.warning("fgrid: data not loaded at start-up (%s); tasks will report it", exc)
    except OSError as exc:  # e.g. a read-only data folder: each start builds the indexes again
        log.warning("fgrid: precomputed analysis indexes not written (%s)", exc)


def _warm_up_single_process(sender: Any = None, **_: Any) -> None:
    # The solo and threads pools run tasks in the main process, which gets no worker_process_init.
    pool = getattr(sender, "pool_cls", None)
    name = pool if isinstance(pool, str) else getattr(pool, "__module__", "") or ""
    if "solo" in name or "thread" in name:
        _warm_up()
    else:
        _preload()


def _preload() -> None:
    # Prefork: load the analysis in the main process, before the pool forks, so that every pool process (and every
    # replacement after --max-tasks-per-child) starts with it and they all share one copy of its memory. Only
    # numpy and json run here: polars code would leave the pool processes a thread pool with no threads (they
    # would hang), so the data comes from the version's precomputed indexes; without them, each pool process builds it.
    try:
        import fgrid.analysis.backtest
        import fgrid.analysis.compare  # noqa: F401
        from fgrid.analysis import feature_store, matchup, precomputed
    except ImportError as exc:
        log.warning("fgrid: analysis not preloaded (%s)", exc)
        return

    try:
        ds = dataset(_state["app"])
    except FgridError as exc:
        log.warning("fgrid: data not loaded at start-up (%s); tasks will report it", exc)
        return
    if feature_store.store_key(precomputed.SCORING) in ds.derived:
        matchup.warm(ds, scorings=(precomputed.SCORING,))
    # What the main process holds now is shared with the pool processes: keep the collector off it, so it does not
    # write to (and so copy) those pages in each of them.
    gc.freeze()
