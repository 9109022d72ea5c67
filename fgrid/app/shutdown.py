"""How a prefork pool process takes SIGTERM, so that a SIGTERM to the worker's whole process group (what Heroku,
``kill -- -PGID``, supervisord's ``stopasgroup`` and systemd's default ``KillMode=control-group`` send) is a warm
shutdown, as a SIGTERM to the main process alone is.

By default a pool process exits on SIGTERM wherever it is: a running task is cut short (and handed out again), and an
idle process killed while it holds the task queue's lock can leave the main process, shutting down, waiting on that
lock for good. Here pool processes ignore SIGTERM, as Celery already makes them ignore SIGINT: the main process gets
the same signal, shuts down warm, lets the running tasks finish and ends its pool processes itself. (Stopping one
running task is ``fgrid cancel --terminate``, which sends SIGKILL; Celery's hard time limit follows its SIGTERM with
SIGKILL by itself; SIGKILL to the group still ends everything at once.)

A pool process that is leaving (replaced after ``--max-tasks-per-child`` tasks, or ended by its main process) takes
SIGTERM again: billiard has it report its exit and then sleep a second, and its main process cuts that sleep short
with a SIGTERM. Ignored, that second would leave the process's slot in the pool empty: with ``-c 2`` and both
processes replaced together, a worker ran nothing for a second every 1,000 tasks per process (about a third of
its throughput on no-op-sized tasks).
"""

from __future__ import annotations

import signal
from typing import Any


def ignore_sigterm(**_: Any) -> None:
    """Celery's ``worker_process_init`` handler: this pool process ignores SIGTERM (billiard keeps an ignored
    signal ignored when it sets up the process's other handlers)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def default_sigterm(**_: Any) -> None:
    """Celery's ``worker_process_shutdown`` handler: a pool process that is leaving (its last task done) ends on
    SIGTERM again, so that its main process can end it at once."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def connect() -> None:
    """Make every pool process a worker starts ignore SIGTERM until it leaves."""
    from celery import signals

    signals.worker_process_init.connect(ignore_sigterm, weak=False, dispatch_uid="fgrid.shutdown")
    signals.worker_process_shutdown.connect(default_sigterm, weak=False, dispatch_uid="fgrid.shutdown.leaving")
