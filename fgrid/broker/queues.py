"""The queues as the rest of fgrid sees them, whatever the broker: depths, taking and removing messages, and the
view of queued and unacknowledged messages that recovery reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fgrid import config
from fgrid.broker import amqp, connection, files, redis
from fgrid.broker.view import QueueView
from fgrid.config import Kind, Settings

if TYPE_CHECKING:
    from celery import Celery

#: Per queue: messages waiting, and messages delivered but not acknowledged (None where the broker cannot say).
Depths = dict[str, dict[str, int | None]]


def recoverable(settings: Settings) -> bool:
    """Whether fgrid's recovery applies: Redis and the file broker lose messages a killed worker held; RabbitMQ
    keeps unacknowledged messages itself and redelivers them when a consumer's connection dies."""
    return settings.broker_kind in (Kind.REDIS, Kind.FILES)


def view(app: Celery, heartbeat_ttl: int, lock_ttl: int) -> tuple[QueueView, Any]:
    """The recovery view of ``app``'s broker and the connection to release with it (None for the file broker);
    heartbeats expire after ``heartbeat_ttl`` seconds, the pass lock after ``lock_ttl``."""
    settings: Settings = app.fgrid_settings
    if settings.embedded:
        return files.FileQueues(settings.broker_dir, heartbeat_ttl), None
    conn = app.connection_for_write()
    try:
        return redis.RedisQueues(conn.default_channel, heartbeat_ttl, lock_ttl), conn
    except BaseException:
        conn.release()
        raise


def depths(app: Celery) -> Depths:
    """Per queue: messages waiting in the broker and messages delivered but not yet acknowledged."""
    settings: Settings = app.fgrid_settings
    if settings.embedded:
        return files.depths(settings.broker_dir)
    with connection.reachable(settings, "broker"):
        if settings.broker_kind is Kind.REDIS:
            return redis.depths(app)
        if settings.broker_kind is Kind.AMQP:
            return amqp.depths(app)
        out: Depths = {}
        with app.connection_for_read() as conn:
            channel = conn.default_channel
            for queue in config.QUEUES:
                declared = app.amqp.queues[queue].bind(channel).queue_declare(passive=True)
                out[queue] = {"waiting": declared.message_count, "reserved": None}
        return out


def take_all(app: Celery, queue: str) -> list[bytes] | int:
    """Take every waiting message of ``queue`` off the broker: the raw messages, or (a broker that cannot list them)
    only how many were purged."""
    settings: Settings = app.fgrid_settings
    with connection.reachable(settings, "broker"):
        if settings.embedded:
            return files.take_all(settings.broker_dir, queue)
        if settings.broker_kind is Kind.REDIS:
            return redis.take_all(app, queue)
        if settings.broker_kind is Kind.AMQP:
            return amqp.purge(app, queue)
        with app.connection_for_write() as conn:
            return int(app.amqp.queues[queue].bind(conn.default_channel).purge() or 0)


def remove(app: Celery, task_ids: set[str]) -> int:
    """Delete the waiting messages of ``task_ids`` from the queues; return how many were removed (0 where the broker
    cannot remove one message: the revoke covers it)."""
    settings: Settings = app.fgrid_settings
    if settings.embedded:
        return files.remove(settings.broker_dir, task_ids)
    if settings.broker_kind is Kind.REDIS:
        with connection.reachable(settings, "broker"):
            return redis.remove(app, task_ids)
    return 0


def live_workers(app: Celery, heartbeat_ttl: int) -> dict[str, set[str]] | None:
    """The workers whose recovery heartbeat is fresh (hostname -> ids of the tasks each holds), read from the broker
    over a pooled connection of the caller's own; None where workers send none (RabbitMQ: ask them instead)."""
    settings: Settings = app.fgrid_settings
    if settings.embedded:
        return files.FileQueues(settings.broker_dir, heartbeat_ttl).live_workers()
    if settings.broker_kind is not Kind.REDIS:
        return None
    with connection.reachable(settings, "broker"), app.pool.acquire(block=True) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        return redis.RedisQueues(conn.default_channel, heartbeat_ttl, heartbeat_ttl).live_workers()
