"""The consumer bootstep that runs recovery in every worker on Redis or the embedded broker: a thread in the
worker's main process that sends heartbeats naming the tasks the worker holds and runs :func:`~fgrid.recovery.sweep.
run_pass` under a lock, one worker at a time. It lives as long as the worker (a reconnection keeps it running).

:func:`configure_worker` makes a worker ride out a restart of its result store: writes are retried for about half a
minute, where commands keep their fast failure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from celery import bootsteps
from celery.bootsteps import RUN

from fgrid.broker import connection, queues
from fgrid.broker.view import QueueView
from fgrid.recovery.sweep import (
    CONFIRM_DELAY,
    HEARTBEAT_INTERVAL,
    LOCK_TTL,
    PASS_INTERVAL,
    WORKER_TTL,
    Report,
    run_pass,
)

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("fgrid.recovery")

#: A worker retries storing a result this many times, with exponential backoff (0.2 s doubling up to 5 s between
#: tries: about half a minute), so a restart of the result store does not turn finished tasks into failures.
STORE_RETRIES = 12


def configure_worker(conf: Any = None, **_: Any) -> None:
    """Celery's ``celeryd_init`` handler: a worker retries failed stores of a result, a state or a failure."""
    conf.result_backend_always_retry = True
    conf.result_backend_max_retries = STORE_RETRIES
    conf.result_backend_base_sleep_between_retries_ms = 200
    conf.result_backend_max_sleep_between_retries_ms = 5000


def held_ids(consumer: Any) -> set[str]:
    """Ids of the tasks a worker's consumer holds: reserved, running, or waiting in its timer for their ETA."""
    from celery.worker import state
    from celery.worker.request import Request

    for _attempt in range(10):
        try:
            ids = {r.id for r in list(state.reserved_requests)} | {r.id for r in list(state.active_requests)}
            timer = getattr(consumer, "timer", None)
            schedule = getattr(timer, "schedule", None)
            for waiting in list(getattr(schedule, "queue", None) or ()):
                args = getattr(getattr(waiting, "entry", None), "args", None) or ()
                if args and isinstance(args[0], Request):
                    ids.add(args[0].id)
            return ids
        except RuntimeError:  # a set changed while being copied (the consumer runs in another thread)
            time.sleep(0.001)
    raise RuntimeError("could not read the worker's reserved tasks")


class Guardian:
    """The thread in a worker's main process that sends heartbeats and runs recovery passes."""

    def __init__(self, app: Celery, consumer: Any):
        self.app = app
        self.consumer = consumer
        self.hostname = consumer.hostname
        self.suspects: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fgrid-recovery", daemon=True)
        self._broker: QueueView | None = None
        self._conn: Any = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self._connect().forget(self.hostname)
        self._disconnect()

    def _connect(self) -> QueueView:
        if self._broker is None:
            self._broker, self._conn = queues.view(self.app, heartbeat_ttl=WORKER_TTL, lock_ttl=LOCK_TTL)
        return self._broker

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.release()
        self._broker = self._conn = None

    def _run(self) -> None:
        next_pass = time.monotonic()  # a first pass at start-up
        while not self._stop.is_set():
            try:
                broker = self._connect()
                broker.heartbeat(self.hostname, held_ids(self.consumer))
                if time.monotonic() >= next_pass:
                    next_pass = time.monotonic() + PASS_INTERVAL
                    self.run_pass(broker)
                    if self.suspects:  # look again as soon as a second sighting can confirm them
                        next_pass = time.monotonic() + CONFIRM_DELAY
            except Exception as exc:  # noqa: BLE001 - a broker outage must not end the thread; try again later
                line = connection.one_line(self.app.fgrid_settings, exc, 300)
                log.warning("fgrid recovery: %s: %s", type(exc).__name__, line)
                self._disconnect()
            self._stop.wait(HEARTBEAT_INTERVAL)

    def run_pass(self, broker: QueueView) -> Report | None:
        if not broker.lock():
            return None
        try:
            report = run_pass(self.app, broker, self.suspects)
        finally:
            broker.unlock()
        if report:
            log.warning(
                "fgrid recovery: restored %d task(s) held by dead workers, re-queued %d lost task(s), "
                "dropped %d finished, failed %d, counted %d chord part(s): %s",
                len(report.restored),
                len(report.requeued),
                len(report.dropped),
                len(report.failed),
                len(report.counted),
                " ".join(report.restored + report.requeued + report.failed + report.counted)[:2000],
            )
        return report


class Recovery(bootsteps.StartStopStep):
    """Consumer bootstep: start the :class:`Guardian` once the consumer takes tasks; stop it at shutdown."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any):
        super().__init__(parent, **kwargs)
        self.guardian: Guardian | None = None

    def start(self, parent: Any) -> None:
        if self.guardian is None:
            self.guardian = Guardian(parent.app, parent)
            self.guardian.start()

    def stop(self, parent: Any) -> None:
        if parent.blueprint.state == RUN:
            return  # a reconnection restarts the consumer: keep beating, the thread rides out the outage
        self.shutdown(parent)

    def shutdown(self, parent: Any) -> None:
        if self.guardian is not None:
            self.guardian.stop()
            self.guardian = None

    terminate = shutdown


def install(app: Celery) -> None:
    """Run recovery in ``app``'s workers where the broker needs it, and make them retry result-store writes."""
    from celery import signals

    signals.celeryd_init.connect(configure_worker, weak=False, dispatch_uid="fgrid.recovery.conf")
    if queues.recoverable(app.fgrid_settings):
        app.steps["consumer"].add(Recovery)
