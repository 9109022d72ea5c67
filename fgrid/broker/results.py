"""Reading tasks' stored states from the result store: many at once (one round trip on Redis), and following one
task's changes (Celery's Redis store announces every state it stores)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from fgrid.broker import connection
from fgrid.config import Kind, Settings

if TYPE_CHECKING:
    from celery import Celery

#: States after which a task will not change again.
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
#: Ids looked up per round trip.
CHUNK = 500


def redis_client(app: Celery) -> Any:
    """The Redis client of ``app``'s result store, or None when the store is not Redis."""
    settings: Settings = app.fgrid_settings
    return app.backend.client if settings.result_kind is Kind.REDIS else None


def metas(app: Celery, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each task's stored meta (state, result, worker, args...), ``{"status": "PENDING"}`` when nothing is stored;
    read in one round trip per :data:`CHUNK` ids where the store can."""
    backend = app.backend
    client = redis_client(app)
    if client is None:
        return {task_id: backend.get_task_meta(task_id) for task_id in task_ids}
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start : start + CHUNK]
        for task_id, raw in zip(chunk, client.mget([backend.get_key_for_task(i) for i in chunk]), strict=True):
            if not raw:
                out[task_id] = {"status": "PENDING", "result": None}
                continue
            try:
                out[task_id] = backend.decode_result(raw)
            except Exception:  # noqa: BLE001 - one unreadable result must not hide the others
                out[task_id] = {"status": "UNKNOWN", "result": None}
    return out


def brief(meta: dict[str, Any]) -> dict[str, Any]:
    """The part of a stored meta that recovery needs: state, task name, worker, group."""
    return {
        "status": meta.get("status", "PENDING"),
        "name": meta.get("name"),
        "worker": meta.get("worker"),
        "group_id": meta.get("group_id"),
    }


def states(app: Celery, task_ids: list[str]) -> list[str]:
    """The stored state of each task, in order."""
    found = metas(app, task_ids)
    return [found[task_id].get("status", "PENDING") for task_id in task_ids]


class StateChanges:
    """Wait for a change of one task's stored state: Celery's Redis result store publishes every state it stores
    on the task's key, so a subscriber wakes as soon as the task moves; other stores are polled."""

    #: One subscriber connection per thread and result store, kept between waits (a new one costs a connect).
    _local = threading.local()

    def __init__(self, app: Celery, task_id: str):
        self.settings: Settings = app.fgrid_settings
        self.pubsub = None
        self.backend = app.backend
        if redis_client(app) is not None:
            key = self.backend.get_key_for_task(task_id)
            self.channel = key if isinstance(key, bytes) else key.encode()
            kept = getattr(self._local, "kept", None)
            with connection.reachable(self.settings, "result store"):
                if kept is None or kept[0] is not self.backend:
                    self._forget()
                    kept = self._local.kept = (self.backend, self.backend.client.pubsub(ignore_subscribe_messages=True))
                self.pubsub = kept[1]
                try:
                    self.pubsub.subscribe(self.channel)
                except Exception:
                    self._forget()
                    raise

    @property
    def announced(self) -> bool:
        return self.pubsub is not None

    def wait(self, seconds: float) -> dict[str, Any] | None:
        """Wait up to ``seconds`` for the task's state to change; return the announced state as stored ({} if
        unreadable), or None if nothing was announced."""
        if self.pubsub is None:
            time.sleep(seconds)
            return None
        deadline = time.monotonic() + seconds
        with connection.reachable(self.settings, "result store"):
            try:
                while (left := deadline - time.monotonic()) > 0:
                    message = self.pubsub.get_message(timeout=left)  # None for (un)subscription confirmations
                    if message is None or message.get("type") != "message":
                        continue
                    channel = message.get("channel")
                    if (channel.encode() if isinstance(channel, str) else channel) != self.channel:
                        continue  # a late message for a task waited on before
                    try:
                        # As get_task_meta decodes it (a stored exception becomes an exception again).
                        return self.backend.meta_from_decoded(self.backend.decode(message["data"]))
                    except (ValueError, TypeError, AttributeError, KeyError):
                        return {}
            except Exception:
                self._forget()
                raise
        return None

    def close(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.unsubscribe(self.channel)
            except Exception:  # noqa: BLE001 - a broken subscriber is dropped; the next wait makes a new one
                self._forget()

    @classmethod
    def _forget(cls) -> None:
        kept = getattr(cls._local, "kept", None)
        cls._local.kept = None
        if kept is not None:
            with contextlib.suppress(Exception):
                kept[1].close()


def store_started_at(app: Celery) -> float | None:
    """When the Redis result store last started (epoch seconds); None for other stores."""
    client = redis_client(app)
    if client is None:
        return None
    uptime = client.info("server").get("uptime_in_seconds")
    return time.time() - float(uptime) if uptime is not None else None
