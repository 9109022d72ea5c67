"""The Redis broker as kombu lays it out: a list per queue (and per priority step), the ``unacked`` hash and its
index of delivery times; plus fgrid's worker heartbeats and recovery lock beside them."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fgrid import config
from fgrid.broker import messages
from fgrid.broker.view import BrokerState

if TYPE_CHECKING:
    from celery import Celery

HEARTBEAT_KEY = "fgrid:worker:"
#: The workers that sent a heartbeat, scored by when: found without a SCAN of every key (with 100,000 tasks in the
#: store, a SCAN for the heartbeat keys took 1,000 round trips, on every sweep and every `fgrid queues`).
WORKERS_KEY = "fgrid:workers"
LOCK_KEY = "fgrid:recovery:lock"

_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def queue_keys(channel: Any, queue: str) -> list[str]:
    """The Redis lists of ``queue``: a message with a priority goes to a sub-list ``<queue>\\x06\\x16<step>``."""
    return [channel._q_for_pri(queue, pri) for pri in channel.priority_steps]


class RedisQueues:
    """The Redis broker's queues, ``unacked`` hash, heartbeats and pass lock, through a kombu channel."""

    def __init__(self, channel: Any, heartbeat_ttl: int, lock_ttl: int):
        self.channel = channel
        self.client = channel.client
        self.heartbeat_ttl = heartbeat_ttl
        self.lock_ttl = lock_ttl
        self._token = uuid.uuid4().hex

    def state(self) -> BrokerState:
        ch = self.channel
        keys = [key for queue in config.QUEUES for key in queue_keys(ch, queue)]
        # One transaction, so a message moving between a queue and `unacked` is seen in one of them.
        with self.client.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.lrange(key, 0, -1)
            pipe.hgetall(ch.unacked_key)
            pipe.zrange(ch.unacked_index_key, 0, -1, withscores=True)
            *lists, unacked, index = pipe.execute()
        queued = {task_id for raws in lists for raw in raws if (task_id := messages.task_id(raw))}
        delivered = {messages.text(tag): score for tag, score in index}
        entries: dict[str, tuple[str, float]] = {}
        for tag, raw in unacked.items():
            task_id, _queue = messages.unacked(raw)
            if task_id is not None:
                entries[messages.text(tag)] = (task_id, delivered.get(messages.text(tag), 0.0))
        return BrokerState(queued, entries)

    def restore(self, tag: str) -> None:
        # kombu's own restore: in one transaction, out of `unacked` and back to the head of its queue.
        self.channel.qos.restore_by_tag(tag, leftmost=True)

    def drop(self, tag: str) -> None:
        with self.client.pipeline() as pipe:
            pipe.zrem(self.channel.unacked_index_key, tag).hdel(self.channel.unacked_key, tag).execute()

    def heartbeat(self, hostname: str, ids: Iterable[str]) -> None:
        now = time.time()
        doc = {"hostname": hostname, "pid": os.getpid(), "at": now, "ids": sorted(ids)}
        with self.client.pipeline(transaction=False) as pipe:
            pipe.set(HEARTBEAT_KEY + hostname, json.dumps(doc), ex=self.heartbeat_ttl)
            pipe.zadd(WORKERS_KEY, {hostname: now})
            pipe.zremrangebyscore(WORKERS_KEY, "-inf", now - self.heartbeat_ttl)
            pipe.expire(WORKERS_KEY, self.heartbeat_ttl)
            pipe.execute()

    def forget(self, hostname: str) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.delete(HEARTBEAT_KEY + hostname).zrem(WORKERS_KEY, hostname).execute()

    def live_workers(self) -> dict[str, set[str]]:
        names = self.client.zrangebyscore(WORKERS_KEY, time.time() - self.heartbeat_ttl, "+inf")
        keys = [HEARTBEAT_KEY + (n.decode() if isinstance(n, bytes) else n) for n in names]
        docs = [raw for raw in self.client.mget(keys) if raw] if keys else []
        out: dict[str, set[str]] = {}
        for raw in docs:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                doc = json.loads(raw)
                out[doc["hostname"]] = set(doc["ids"])
        return out

    def lock(self) -> bool:
        return bool(self.client.set(LOCK_KEY, self._token, nx=True, ex=self.lock_ttl))

    def unlock(self) -> None:
        self.client.eval(_UNLOCK, 1, LOCK_KEY, self._token)


def depths(app: Celery) -> dict[str, dict[str, int | None]]:
    """Per queue: messages waiting (all priority steps) and messages in ``unacked`` (delivered, not acknowledged)."""
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        channel = conn.default_channel
        names = {q: queue_keys(channel, q) for q in config.QUEUES}
        with channel.client.pipeline() as pipe:
            for q in config.QUEUES:
                for name in names[q]:
                    pipe.llen(name)
            pipe.hvals(channel.unacked_key)
            replies = pipe.execute()
    unacked = replies.pop()
    out: dict[str, dict[str, int | None]] = {}
    for q in config.QUEUES:
        out[q] = {"waiting": sum(replies[: len(names[q])]), "reserved": 0}
        replies = replies[len(names[q]) :]
    for raw in unacked:
        _task_id, queue = messages.unacked(raw)
        if queue in out:
            out[queue]["reserved"] = (out[queue]["reserved"] or 0) + 1
    return out


def take_all(app: Celery, queue: str) -> list[bytes]:
    """Take every waiting message of ``queue`` (all priority steps) off the broker."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        channel = conn.default_channel
        # Read and delete in one transaction, so a message published meanwhile is either read here or kept.
        with channel.client.pipeline(transaction=True) as pipe:
            for name in queue_keys(channel, queue):
                pipe.lrange(name, 0, -1)
                pipe.delete(name)
            replies = pipe.execute()
    return [raw for raws in replies[::2] for raw in raws]


def remove(app: Celery, task_ids: set[str]) -> int:
    """Delete the waiting messages of ``task_ids``; return how many were removed."""
    removed = 0
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in config.QUEUES:
            for name in queue_keys(channel, queue):
                for raw in channel.client.lrange(name, 0, -1):
                    if messages.task_id(raw) in task_ids:
                        # LREM by value: a message a worker popped meanwhile is simply not found.
                        removed += channel.client.lrem(name, 1, raw)
    return removed
