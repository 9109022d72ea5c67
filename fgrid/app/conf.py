"""Celery's configuration for fgrid, from :class:`fgrid.config.Settings`; every entry says why it is set."""

from __future__ import annotations

import ssl
from typing import Any

from kombu import Exchange, Queue

from fgrid import config
from fgrid.broker import amqp
from fgrid.config import Kind, Settings


def result_backend(settings: Settings) -> str:
    """The result store's URL, through fgrid's subclass of Celery's store for Redis and files (fgrid/broker/
    backends.py: each state says when its task started; files are written atomically)."""
    if settings.result_kind is Kind.FILES:
        return f"fgrid.broker.backends:AtomicFilesystemBackend+{settings.result_backend}"
    if settings.result_kind is Kind.REDIS:
        return f"fgrid.broker.backends:RedisResultStore+{settings.result_backend}"
    return settings.result_backend


def celery_config(settings: Settings) -> dict[str, Any]:
    """Return Celery's configuration for ``settings``; every entry says why it is set."""
    timeout = config.DEFAULT_CONNECT_TIMEOUT
    conf: dict[str, Any] = {
        "broker_url": settings.broker_url,
        # The embedded file store goes through fgrid's atomic-write subclass of Celery's file backend.
        "result_backend": result_backend(settings),
        # JSON only, in and out: a pickle message could run code on the worker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Acknowledge after the task ran, and re-queue it if the worker process dies, so a kill loses nothing.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message per process at a time: long tasks do not hold back short ones behind a busy process.
        "worker_prefetch_multiplier": 1,
        # Report STARTED, so `fgrid status` tells waiting from running.
        "task_track_started": True,
        # Store name, args, worker and queue with each result, for `fgrid status`, `fgrid tasks` and Flower.
        "result_extended": True,
        # Keep results (and fgrid's record of submitted ids) for a day, then let them expire.
        "result_expires": config.DEFAULT_RESULT_EXPIRES,
        # Bounded publishing retries, so a command fails fast when the broker is down instead of hanging.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 1,
            "interval_start": 0.2,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # Seconds to wait for a broker connection before giving up on it.
        "broker_connection_timeout": timeout,
        # The worker keeps trying at start-up (a broker may come up after it), as Celery 6 will require.
        "broker_connection_retry_on_startup": True,
        "broker_connection_retry": True,
        # Tasks running when the broker connection drops run to the end. Celery's alternative (cancel them for
        # redelivery) marks them REVOKED, for good, when the result store is down too (the same Redis restarting):
        # it stores RETRY before noting the cancel, that store fails, and the killed task is then taken as revoked.
        # A running task's unacknowledged message is dealt with by fgrid's recovery (dropped if the task finished,
        # re-queued if not).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Soft limit raises SoftTimeLimitExceeded in the task (a clean FAILURE); the hard limit kills the process.
        "task_soft_time_limit": config.DEFAULT_SOFT_TIME_LIMIT,
        "task_time_limit": config.DEFAULT_TIME_LIMIT,
        # Task events off, as in Celery: they cost each task three more publishes. Flower
        # turns them on in the workers it watches, and `fgrid worker -E` starts a worker with them on. No SENT
        # event either: fgrid's own task record already shows queued tasks (`fgrid tasks`, `fgrid top`).
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        # Queues are declared explicitly; a task is routed by its (stable, public) name.
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in config.QUEUES],
        "task_default_queue": config.QUEUE_MATCHUPS,
        "task_routes": {
            config.TASK_ANALYZE: {"queue": config.QUEUE_MATCHUPS},
            config.TASK_COMPARE: {"queue": config.QUEUE_ANALYSIS},
            config.TASK_RANK: {"queue": config.QUEUE_ANALYSIS},
            config.TASK_LINEUP: {"queue": config.QUEUE_ANALYSIS},
            config.TASK_LINEUP_PICK: {"queue": config.QUEUE_ANALYSIS},
            "fgrid.backtest*": {"queue": config.QUEUE_ANALYSIS},
            "fgrid.ai.*": {"queue": config.QUEUE_AI},
        },
        # The seed's advice against memory growth; `fgrid worker --max-tasks-per-child` overrides it.
        "worker_max_tasks_per_child": config.DEFAULT_MAX_TASKS_PER_CHILD,
        # Keep the worker's log free of colour codes and the module path of fgrid's log lines short.
        "worker_redirect_stdouts_level": "INFO",
        "imports": ["fgrid.app.tasks"],
    }
    if settings.broker_kind is Kind.REDIS:
        # kombu's Redis transport with fgrid's channel (fgrid/broker/transports.py).
        conf["broker_transport"] = "fgrid.broker.transports:RedisTransport"
        conf["broker_transport_options"] = {
            # Longer than the longest task (training included), so a running task is never delivered twice.
            "visibility_timeout": config.DEFAULT_VISIBILITY_TIMEOUT,
            # Socket timeouts, so a dead broker is reported in seconds; no second try of a connection that timed out
            # (a TLS handshake with a plain server times out): kombu and Celery reconnect a worker themselves.
            "socket_timeout": 10,
            "socket_connect_timeout": timeout,
            "retry_on_timeout": False,
            "health_check_interval": 10,
        }
    elif settings.broker_kind is Kind.AMQP:
        # RabbitMQ: durable quorum queues (replicated on a cluster; a message survives a broker restart), publisher
        # confirms, and heartbeats short enough that a lost host's tasks go back to the queue in about 20-30 s.
        # Global QoS does not exist on quorum queues: Celery sees that and keeps the prefetch per consumer. The
        # exchanges stay direct: a retry's countdown (1-4 s) is held by its worker, not by Celery's native delayed
        # delivery, which needs every queue bound by every worker (a worker for one queue cannot bind the others).
        conf["broker_transport"] = "fgrid.broker.transports:AmqpTransport"
        conf["task_queues"] = [
            Queue(name, Exchange(name, type="direct"), routing_key=name, queue_arguments=amqp.queue_arguments())
            for name in config.QUEUES
        ]
        conf["broker_transport_options"] = amqp.transport_options()
        conf["broker_heartbeat"] = amqp.HEARTBEAT
    elif settings.embedded:
        # kombu's filesystem transport, with messages written atomically (fgrid/broker/transports.py).
        conf["broker_transport"] = "fgrid.broker.transports:FileTransport"
        folder = settings.broker_dir
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            # kombu polls the folder once a second by default; 10 ms makes a round trip take milliseconds.
            "polling_interval": config.EMBEDDED_POLLING_INTERVAL,
        }
    if settings.result_kind is Kind.REDIS:
        conf["redis_socket_connect_timeout"] = timeout
        conf["redis_socket_timeout"] = 10
        # A command fails fast; a worker retries its stores itself (fgrid.recovery.bootstep).
        conf["redis_retry_on_timeout"] = False
        # Celery retries a failed result-store call 20 times by default: a down store would hang a command.
        conf["result_backend_transport_options"] = {"retry_policy": {"max_retries": 1, "interval_start": 0.2}}
    # By key, not by which URL it is: with REDIS_URL alone, the broker and the result store share one URL.
    for key, url in (("broker_use_ssl", settings.broker_url), ("redis_backend_use_ssl", settings.result_backend)):
        if url.lower().startswith("rediss://") and "ssl_cert_reqs" not in url:
            # rediss:// with no ssl_cert_reqs in the URL: verify the server certificate (the safe default).
            conf[key] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    return conf
