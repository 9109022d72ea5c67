"""The reference: a bare Celery app with fgrid's broker, result store, serializer, acknowledgement and prefetch
settings, and nothing else (no fgrid signals, no task record, no events, no data).

``celery -A bare_app worker`` (with bench/ on the path) builds it from the environment: ``CELERY_BROKER_URL`` and
``CELERY_RESULT_BACKEND``; ``BARE_DURABLE=1`` on RabbitMQ declares its queue as a quorum queue and publishes with
confirms, as fgrid does there (Celery's defaults are a classic queue and no confirms).
"""

from __future__ import annotations

import os
import time

from celery import Celery
from kombu import Exchange, Queue


def noop() -> None:
    """Do nothing: what remains is Celery's own cost per task."""


def work(ms: float = 1.0) -> int:
    """Spin for ``ms`` milliseconds of Python work (the cost of a small real task)."""
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def make_app(broker: str, backend: str, durable: bool = False) -> Celery:
    """A bare app on ``broker`` and ``backend`` with fgrid's delivery settings and the two tasks above (``durable``:
    a quorum queue and publisher confirms, Celery's own settings for them)."""
    app = Celery("bare", broker=broker, backend=backend, set_as_current=False)
    if durable:
        app.conf.update(
            task_queues=[
                Queue(
                    "matchups",
                    Exchange("matchups", type="direct"),
                    routing_key="matchups",
                    queue_arguments={"x-queue-type": "quorum"},
                )
            ],
            broker_transport_options={"confirm_publish": True},
        )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="matchups",
        broker_connection_retry_on_startup=True,
    )
    app.task(name="bare.noop")(noop)
    app.task(name="bare.work")(work)
    return app


def from_env() -> Celery | None:
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        return None
    return make_app(broker, os.environ.get("CELERY_RESULT_BACKEND") or broker, os.environ.get("BARE_DURABLE") == "1")


app = from_env()
