"""The prefork pool's upkeep: a pool process that leaves is replaced at once.

Celery's prefork pool replaces a process that leaves (after ``--max-tasks-per-child`` tasks) when the process's
sentinel becomes readable. At that moment the process's exit status is sometimes not there yet, so the pool finds
no process to replace, and nothing looks again until the next event of another process. Meanwhile the task the pool
had already handed to the leaving process waits: up to 4.6 s measured, and on a ``-c 1`` worker the whole worker
waits. A bare Celery worker shows the same stall. Here a worker step asks the pool to look again every
:data:`REAP_INTERVAL`, through Celery's own ``maintain_pool`` (a look is one ``waitpid`` per pool process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import bootsteps

if TYPE_CHECKING:
    from celery import Celery

#: Seconds between two looks for pool processes that have left but are not yet replaced.
REAP_INTERVAL = 0.1


class ReplaceLeavers(bootsteps.StartStopStep):
    """Worker step: every :data:`REAP_INTERVAL`, replace the pool processes that have exited (prefork pool only)."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timer: Any = None

    def start(self, worker: Any) -> None:
        maintain = getattr(getattr(worker.pool, "_pool", None), "maintain_pool", None)
        if worker.hub is None or maintain is None:
            return  # the solo or threads pool, or a worker without an event loop: no process to replace
        self.timer = worker.hub.call_repeatedly(REAP_INTERVAL, maintain)

    def stop(self, worker: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def install(app: Celery) -> None:
    """Add the step to ``app``'s workers."""
    app.steps["worker"].add(ReplaceLeavers)
