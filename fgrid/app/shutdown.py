"""How a prefork pool process takes SIGTERM, so that a SIGTERM to the worker's whole process group (what Heroku,
``kill -- -PGID``, supervisord's ``stopasgroup`` and systemd's default ``KillMode=control-group`` send) is a warm
shutdown, as a SIGTERM to the main process alone is.

By default a pool process exits on SIGTERM wherever it is: a running task is cut short (and handed out again), and an
idle process killed while it holds the task queue's lock can leave the main process, shutting down, waiting on that
lock for good. Here pool processes ignore SIGTERM, as Celery already makes them ignore SIGINT: the main process gets
the same signal, shuts down warm, lets the running tasks finish and ends its pool processes itself. (Stopping one
running task is ``fgrid cancel --terminate``, which sends SIGKILL; Celery's hard time limit follows its SIGTERM with
SIGKILL by itself; SIGKILL to the group still ends everything at once.)
"""

from __future__ import annotations

import signal
from typing import Any


def ignore_sigterm(**_: Any) -> None:
    """Celery's ``worker_process_init`` handler: this pool process ignores SIGTERM (billiard keeps an ignored
    signal ignored when it sets up the process's other handlers)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def connect() -> None:
    """Make every pool process a worker starts ignore SIGTERM."""
    from celery import signals

    signals.worker_process_init.connect(ignore_sigterm, weak=False, dispatch_uid="fgrid.shutdown")
