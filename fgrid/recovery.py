"""Queue again the tasks that were submitted but would never run, so that a killed worker loses no task.

Celery on Redis emulates acknowledgements. A worker takes a message with ``BRPOP``, which removes it from the queue
list, and only afterwards copies it into the ``unacked`` hash (kombu's ``QoS.append``); kombu's ``restore_visible``
puts an ``unacked`` entry back on its queue once it is older than the visibility timeout. Hence three holes:

* a worker killed between the ``BRPOP`` and that copy (the reply is in its socket, or being parsed) loses the
  message for good: it is in no list and no hash, and nothing ever restores it;
* the messages a killed worker had taken (prefetched or running) wait in ``unacked`` for the visibility timeout,
  which fgrid sets longer than its longest task (over an hour) so that a slow task is never handed out twice;
* the embedded file broker deletes a message's file as a worker takes it, so whatever a killed worker held is gone.

fgrid closes them with what only it knows: its record of every submitted task (:mod:`fgrid.registry`, with an
"open" set of tasks not yet seen finished) and a heartbeat of every live worker. The main process of each worker runs
a :class:`Guardian` thread that

* every :data:`HEARTBEAT_INTERVAL` seconds writes the ids of the tasks the worker holds (reserved, running, waiting
  for their ETA), kept :data:`WORKER_TTL` seconds, so a worker whose heartbeat has expired is known to be dead;
* at start-up and every :data:`PASS_INTERVAL` seconds, under a lock (one worker at a time), runs
  :func:`recovery_pass`:

  - an ``unacked`` entry that no live worker holds and that is older than :data:`UNACKED_GRACE` goes back to the head
    of its queue (kombu's own transactional ``restore_by_tag``), or is only dropped if its task has finished;
  - an open task older than :data:`SUBMIT_GRACE` with no final state, in no queue, not in ``unacked`` and held by no
    live worker, seen so by two passes at least :data:`CONFIRM_DELAY` apart, is published again from its record
    with the same id.

A task may thus run twice (at-least-once execution), but is never lost; fgrid's tasks are idempotent and a result is
stored under its task's id, so the user sees one result. A task queued again :data:`MAX_REQUEUES` times ends in
FAILURE rather than loop.

:func:`install` also makes every worker ride out a restart of Redis: result-store writes are retried for about half
a minute (commands keep their fast failure), and two narrow fixes to kombu 5.7's consumer keep the worker alive when
its connection dies with a BRPOP in flight, or when a queue holds an item that is not a message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from fgrid import config
from fgrid.registry import TaskRegistry

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger("fgrid.recovery")

#: Seconds between two heartbeats of a worker.
HEARTBEAT_INTERVAL = 2.0
#: Seconds a heartbeat is kept: a worker silent this long is dead (several missed beats, not one slow one).
WORKER_TTL = 15
#: Seconds between two recovery passes (one worker at a time runs a pass).
PASS_INTERVAL = 10.0
#: A task recorded less than this many seconds ago is left alone: its client may still be publishing it.
SUBMIT_GRACE = 10.0
#: An ``unacked`` entry younger than this is left alone: its worker may not have sent a heartbeat naming it yet.
UNACKED_GRACE = 15.0
#: A task must be found nowhere by two passes at least this many seconds apart before it is published again
#: (the file broker's worker holds a message unseen until its next heartbeat).
CONFIRM_DELAY = 2 * HEARTBEAT_INTERVAL + 1
#: After this many re-queues a task ends in FAILURE instead (a task that kills its worker must not loop).
MAX_REQUEUES = 5
#: Seconds the pass lock is kept if its holder dies.
LOCK_TTL = 60
#: Ids looked up in the result store per round trip.
CHUNK = 500
#: A worker retries storing a result this many times, with exponential backoff (jittered, 0.2 s doubling up to 5 s
#: between tries: about half a minute), so a Redis restart does not turn finished tasks into failures.
STORE_RETRIES = 12

HEARTBEAT_KEY = "fgrid:worker:"
LOCK_KEY = "fgrid:recovery:lock"
HEARTBEAT_FOLDER = "fgrid-workers"
LOCK_FILE = "fgrid-recovery.lock"
FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})

_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass
class Snapshot:
    """Where the broker's messages are: ids waiting in queues, and ``unacked`` entries (tag -> id, delivered at)."""

    queued: set[str]
    unacked: dict[str, tuple[str, float]]

    @property
    def unacked_ids(self) -> set[str]:
        return {task_id for task_id, _ in self.unacked.values()}


@dataclass
class Report:
    """What one pass did."""

    checked: int = 0
    closed: int = 0
    restored: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: Finished chord parts counted in their chord for a worker that died before it did.
    counted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.restored or self.dropped or self.requeued or self.failed or self.counted)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _message_id(raw: bytes | str) -> str | None:
    """The task id in a raw kombu message (JSON envelope with the task's headers), or None if unreadable."""
    try:
        payload = json.loads(raw)
        return payload["headers"]["id"]
    except (ValueError, TypeError, KeyError):
        return None


class RedisBroker:
    """The Redis broker's queues, ``unacked`` hash, heartbeats and pass lock, through a kombu channel."""

    def __init__(self, channel: Any):
        self.channel = channel
        self.client = channel.client
        self._token = uuid.uuid4().hex

    def snapshot(self) -> Snapshot:
        ch = self.channel
        keys = [ch._q_for_pri(queue, pri) for queue in config.QUEUES for pri in ch.priority_steps]
        # One transaction, so a message moving between a queue and `unacked` is seen in one of them.
        with self.client.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.lrange(key, 0, -1)
            pipe.hgetall(ch.unacked_key)
            pipe.zrange(ch.unacked_index_key, 0, -1, withscores=True)
            *lists, unacked, index = pipe.execute()
        queued = {task_id for raws in lists for raw in raws if (task_id := _message_id(raw))}
        delivered = {_text(tag): score for tag, score in index}
        entries: dict[str, tuple[str, float]] = {}
        for tag, raw in unacked.items():
            try:
                task_id = json.loads(raw)[0]["headers"]["id"]
            except (ValueError, TypeError, KeyError, IndexError):
                continue
            entries[_text(tag)] = (task_id, delivered.get(_text(tag), 0.0))
        return Snapshot(queued, entries)

    def restore(self, tag: str) -> None:
        # kombu's own restore: in one transaction, out of `unacked` and back to the head of its queue.
        self.channel.qos.restore_by_tag(tag, leftmost=True)

    def drop(self, tag: str) -> None:
        with self.client.pipeline() as pipe:
            pipe.zrem(self.channel.unacked_index_key, tag).hdel(self.channel.unacked_key, tag).execute()

    def heartbeat(self, hostname: str, ids: Iterable[str]) -> None:
        doc = {"hostname": hostname, "pid": os.getpid(), "at": time.time(), "ids": sorted(ids)}
        self.client.set(HEARTBEAT_KEY + hostname, json.dumps(doc), ex=WORKER_TTL)

    def forget(self, hostname: str) -> None:
        self.client.delete(HEARTBEAT_KEY + hostname)

    def live_workers(self) -> dict[str, set[str]]:
        keys = list(self.client.scan_iter(match=HEARTBEAT_KEY + "*", count=200))
        docs = self.client.mget(keys) if keys else []
        out: dict[str, set[str]] = {}
        for raw in docs:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                doc = json.loads(raw)
                out[doc["hostname"]] = set(doc["ids"])
        return out

    def lock(self) -> bool:
        return bool(self.client.set(LOCK_KEY, self._token, nx=True, ex=LOCK_TTL))

    def unlock(self) -> None:
        self.client.eval(_UNLOCK, 1, LOCK_KEY, self._token)


class FileBroker:
    """The embedded file broker's queue folder, with heartbeats and the pass lock as files beside it."""

    def __init__(self, broker_dir: Path):
        self.queue_dir = broker_dir / "queue"
        self.beats = broker_dir / HEARTBEAT_FOLDER
        self.lock_path = broker_dir / LOCK_FILE
        self._lock_fd: int | None = None

    def snapshot(self) -> Snapshot:
        suffixes = tuple(f".{queue}.msg" for queue in config.QUEUES)
        queued: set[str] = set()
        with os.scandir(self.queue_dir) as entries:
            for entry in entries:
                if not entry.name.endswith(suffixes):
                    continue
                try:
                    raw = Path(entry.path).read_bytes()
                except FileNotFoundError:  # taken by a worker meanwhile
                    continue
                if task_id := _message_id(raw):
                    queued.add(task_id)
        # The file broker has no `unacked`: a worker holds what it took in memory only.
        return Snapshot(queued, {})

    def restore(self, tag: str) -> None:  # pragma: no cover - no unacked entries on this broker
        raise NotImplementedError

    drop = restore

    def _beat_path(self, hostname: str) -> Path:
        return self.beats / (re.sub(r"[^A-Za-z0-9@._-]", "_", hostname) + ".json")

    def heartbeat(self, hostname: str, ids: Iterable[str]) -> None:
        self.beats.mkdir(parents=True, exist_ok=True)
        doc = {"hostname": hostname, "pid": os.getpid(), "at": time.time(), "ids": sorted(ids)}
        path = self._beat_path(hostname)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)

    def forget(self, hostname: str) -> None:
        self._beat_path(hostname).unlink(missing_ok=True)

    def live_workers(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        if not self.beats.exists():
            return out
        for path in self.beats.glob("*.json"):
            try:
                doc = json.loads(path.read_text())
            except (FileNotFoundError, ValueError):
                continue
            if doc.get("at", 0) < time.time() - WORKER_TTL:
                path.unlink(missing_ok=True)
                continue
            out[doc["hostname"]] = set(doc.get("ids") or ())
        return out

    def lock(self) -> bool:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None


def task_metas(app: Celery, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each task's stored state and name (``{"status": "PENDING"}`` when nothing is stored), in few round trips."""
    backend = app.backend
    client = getattr(backend, "client", None) if type(backend).__name__.startswith("Redis") else None
    out: dict[str, dict[str, Any]] = {}
    if client is None:
        for task_id in task_ids:
            meta = backend.get_task_meta(task_id)
            out[task_id] = _brief(meta)
        return out
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start:start + CHUNK]
        for task_id, raw in zip(chunk, client.mget([backend.get_key_for_task(i) for i in chunk])):
            meta = backend.decode(raw) if raw else {}
            out[task_id] = _brief(meta)
    return out


def _brief(meta: dict[str, Any]) -> dict[str, Any]:
    return {"status": meta.get("status", "PENDING"), "name": meta.get("name"), "worker": meta.get("worker"),
            "group_id": meta.get("group_id")}


def chord_part_counted(app: Celery, record: dict[str, Any] | None) -> bool | None:
    """Whether a finished chord part (from its recorded message) is counted in its chord on Celery's Redis result
    store; None if the task is no chord part there (a file result store's chord counts stored results itself)."""
    part = _chord_part(app, record)
    if part is None:
        return None
    backend, headers, _chord = part
    group, index = headers["group"], headers.get("group_index")
    client = backend.client
    member = f"{headers['id']}:{'+inf' if index is None else index}"
    done, counted = client.get(backend.get_key_for_group(group, ".c")), client.sismember(
        backend.get_key_for_group(group, ".d"), member)
    return bool(counted) or done in (b"done", "done")


def count_chord_part(app: Celery, task_id: str, record: dict[str, Any] | None) -> bool:
    """Count a finished chord part in its chord, as its worker does after storing the result (and publish the
    chord's callback if it was the last part): for a worker killed between the two. Celery's Redis chord counts a
    part once and publishes the callback once, however often this is called. Returns whether it was a chord part."""
    part = _chord_part(app, record)
    if part is None:
        return False
    backend, headers, chord = part
    meta = backend.get_task_meta(task_id, cache=False)
    if meta.get("status") not in FINAL_STATES:
        return False
    request = SimpleNamespace(id=task_id, group=headers["group"], group_index=headers.get("group_index"),
                              chord=chord)
    backend.on_chord_part_return(request, meta["status"], meta.get("result"))
    return True


def _fanned_out(app: Celery, registry: TaskRegistry, task_id: str) -> bool:
    """Whether a task in PROGRESS published every part it stored the id of (each part is recorded as published)."""
    progress = app.backend.get_task_meta(task_id, cache=False).get("result")
    children = progress.get("children") if isinstance(progress, dict) else None
    return bool(children) and all(registry.lookup(child) is not None for child in children)


def _chord_unlocked(app: Celery, record: dict[str, Any]) -> bool:
    """Whether ``record`` is Celery's chord-unlock task whose chord is done (the task stores no result of its own:
    its chord's callback, the comparison's ranking, has a final state)."""
    if record.get("name") != config.TASK_CHORD_UNLOCK:
        return False
    body = (record.get("message") or {}).get("body")
    try:
        callback_id = body[0][1]["options"]["task_id"]
    except (TypeError, IndexError, KeyError):
        return False
    return task_metas(app, [callback_id])[callback_id]["status"] in FINAL_STATES


def _chord_part(app: Celery, record: dict[str, Any] | None) -> tuple[Any, dict[str, Any], dict[str, Any]] | None:
    backend = app.backend
    message = (record or {}).get("message") or {}
    headers, body = message.get("headers") or {}, message.get("body")
    if type(backend).__name__ != "RedisBackend" or not headers.get("group") or not headers.get("id"):
        return None
    embed = body[2] if isinstance(body, list) and len(body) > 2 and isinstance(body[2], dict) else {}
    return (backend, headers, embed["chord"]) if embed.get("chord") else None


def republish(app: Celery, task_id: str, record: dict[str, Any]) -> None:
    """Publish ``task_id`` again from its record (same id, same arguments, same queue)."""
    from fgrid.signals import RECORDED_HEADER

    queue = record.get("queue") or None
    if record.get("message"):
        # Recorded from the published message (a chord's part, `celery call`): publish that message again.
        message = record["message"]
        headers = {**message["headers"], RECORDED_HEADER: True}
        declare = [app.amqp.queues[queue]] if queue in app.amqp.queues else None
        with app.producer_or_acquire() as producer:
            producer.publish(message["body"], exchange=message.get("exchange") or "",
                             routing_key=message.get("routing_key") or queue, headers=headers, serializer="json",
                             correlation_id=task_id, reply_to="", delivery_mode=2, declare=declare, retry=True)
    elif "kwargs" in record:
        # Submitted by fgrid's client, which sends the task by name with keyword arguments only.
        app.send_task(record["name"], kwargs=record["kwargs"], task_id=task_id, queue=queue,
                      headers={RECORDED_HEADER: True})
    else:
        raise ValueError(f"the record of task {task_id} cannot be replayed")


def _count_requeue(registry: TaskRegistry, task_id: str, record: dict[str, Any] | None) -> int:
    """Record one more re-queue of ``task_id`` (its submission time kept); return the count."""
    if record is None:
        return 0
    count = int(record.get("requeued", 0)) + 1
    info = {k: v for k, v in record.items() if k != "id"}
    registry.record(task_id, {**info, "requeued": count, "requeued_at": time.time()})
    return count


def _fail(app: Celery, registry: TaskRegistry, task_id: str, times: int) -> None:
    from fgrid.errors import FgridError

    error = FgridError(f"task lost {times} times (its worker died each time); not queued again")
    app.backend.store_result(task_id, error, "FAILURE")
    registry.close([task_id])


def recovery_pass(app: Celery, broker: RedisBroker | FileBroker, suspects: dict[str, float],
                  now: float | None = None) -> Report:
    """Restore what dead workers held and publish lost tasks again; ``suspects`` carries sightings between passes."""
    now = time.time() if now is None else now
    registry = TaskRegistry(app)
    report = Report()
    open_ids = registry.open_tasks(before=now - SUBMIT_GRACE)
    # The broker first, then the workers, then the result store: a task moves queue -> unacked -> worker -> result,
    # so reading in that order sees a task that moves meanwhile in one place or another.
    snap = broker.snapshot()
    live = broker.live_workers()
    held = set().union(*live.values())
    metas = task_metas(app, sorted(set(open_ids) | snap.unacked_ids))
    report.checked = len(open_ids)

    for tag, (task_id, delivered_at) in snap.unacked.items():
        if task_id in held or delivered_at > now - UNACKED_GRACE:
            continue
        if metas[task_id]["status"] in FINAL_STATES:
            # Its worker stored the result, then died before acknowledging (and perhaps before counting it in
            # its chord).
            if metas[task_id]["group_id"]:
                count_chord_part(app, task_id, registry.lookup(task_id))
            broker.drop(tag)
            report.dropped.append(task_id)
            continue
        record = registry.lookup(task_id)
        if _count_requeue(registry, task_id, record) > MAX_REQUEUES:
            broker.drop(tag)
            _fail(app, registry, task_id, MAX_REQUEUES)
            report.failed.append(task_id)
            continue
        broker.restore(tag)
        report.restored.append(task_id)

    finished = [i for i in open_ids if metas[i]["status"] in FINAL_STATES]
    # A chord part whose worker died between storing its result and counting it in its chord would leave the chord
    # waiting for good: count it here. One whose worker lives and has not counted it yet stays open till it has.
    uncounted = set()
    for task_id in (i for i in finished if metas[i]["group_id"]):
        record = registry.lookup(task_id)
        if chord_part_counted(app, record) is False:
            if metas[task_id]["worker"] in live:
                uncounted.add(task_id)
            elif count_chord_part(app, task_id, record):
                report.counted.append(task_id)
    finished = [i for i in finished if i not in uncounted]
    registry.close(finished)
    report.closed = len(finished)
    seen = snap.queued | snap.unacked_ids | held | set(report.restored)
    nowhere = {i for i in open_ids if metas[i]["status"] not in FINAL_STATES and i not in seen}
    for task_id in list(suspects):
        if task_id not in nowhere:
            del suspects[task_id]
    for task_id in sorted(nowhere):
        first_seen = suspects.setdefault(task_id, now)
        if now - first_seen < CONFIRM_DELAY:
            continue
        record = registry.lookup(task_id)
        if record is None or _chord_unlocked(app, record):
            registry.close([task_id])
            continue
        if (metas[task_id]["status"] == "PROGRESS" and metas[task_id].get("name") == record.get("name")
                and _fanned_out(app, registry, task_id)):
            # A task that fanned out and replaced itself (compare): its parts are tracked on their own, and the
            # step that finishes it is recorded under its id when it is published. (One killed after storing its
            # parts' ids but before publishing them all is published again, below.)
            continue
        del suspects[task_id]
        if _count_requeue(registry, task_id, record) > MAX_REQUEUES:
            _fail(app, registry, task_id, MAX_REQUEUES)
            report.failed.append(task_id)
            continue
        republish(app, task_id, record)
        report.requeued.append(task_id)
    return report


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


def broker_for(app: Celery) -> tuple[RedisBroker | FileBroker, Any]:
    """The broker view for ``app`` and the connection to close with it (None for the file broker)."""
    settings = app.fgrid_settings
    if settings.embedded:
        return FileBroker(settings.broker_dir), None
    conn = app.connection_for_write()
    try:
        return RedisBroker(conn.default_channel), conn
    except BaseException:
        conn.release()
        raise


class Guardian:
    """The thread in a worker's main process that sends heartbeats and runs recovery passes."""

    def __init__(self, app: Celery, consumer: Any):
        self.app = app
        self.consumer = consumer
        self.hostname = consumer.hostname
        self.suspects: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fgrid-recovery", daemon=True)
        self._broker: RedisBroker | FileBroker | None = None
        self._conn: Any = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            if self._connect() is not None:
                self._broker.forget(self.hostname)
        self._disconnect()

    def _connect(self) -> RedisBroker | FileBroker:
        if self._broker is None:
            self._broker, self._conn = broker_for(self.app)
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
                log.warning("fgrid recovery: %s", _one_line(self.app, exc))
                self._disconnect()
            self._stop.wait(HEARTBEAT_INTERVAL)

    def run_pass(self, broker: RedisBroker | FileBroker) -> Report | None:
        if not broker.lock():
            return None
        try:
            report = recovery_pass(self.app, broker, self.suspects)
        finally:
            broker.unlock()
        if report:
            log.warning("fgrid recovery: restored %d task(s) held by dead workers, re-queued %d lost task(s), "
                        "dropped %d finished, failed %d, counted %d chord part(s): %s", len(report.restored),
                        len(report.requeued), len(report.dropped), len(report.failed), len(report.counted),
                        " ".join(report.restored + report.requeued + report.failed + report.counted)[:2000])
        return report


def _one_line(app: Celery, exc: BaseException) -> str:
    settings = app.fgrid_settings
    text = " ".join(str(exc).split()) or type(exc).__name__
    return config.mask_secrets(f"{type(exc).__name__}: {text}", *settings.secrets)[:300]


_guardian: dict[str, Guardian] = {}


def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    settings = getattr(sender.app, "fgrid_settings", None)
    if settings is None or not (settings.embedded or settings.broker_url.startswith(("redis://", "rediss://"))):
        # Recovery reads Redis's queues and unacked hash, or the embedded broker's folders; RabbitMQ keeps
        # unacknowledged messages itself and redelivers them when a consumer's connection dies.
        log.info("fgrid recovery: not needed on this broker (%s)", getattr(sender.app.conf, "broker_transport", ""))
        return
    guardian = Guardian(sender.app, sender)
    _guardian["current"] = guardian
    guardian.start()


def _on_worker_shutdown(**_: Any) -> None:
    guardian = _guardian.pop("current", None)
    if guardian is not None:
        guardian.stop()


def _worker_conf(conf: Any = None, **_: Any) -> None:
    # Commands give up on a down result store in seconds (their retry policy is short); a worker instead rides
    # out a restart: Celery retries a failed store of a result, a state or a failure on connection errors.
    conf.result_backend_always_retry = True
    conf.result_backend_max_retries = STORE_RETRIES
    conf.result_backend_base_sleep_between_retries_ms = 200
    conf.result_backend_max_sleep_between_retries_ms = 5000
    if str(conf.broker_url).startswith(("redis://", "rediss://")):
        _close_after_lost_brpop()
    _drop_undecodable_messages()


def _close_after_lost_brpop() -> None:
    """Let kombu's Redis channel close when its connection died with a BRPOP in flight.

    kombu 5.7's ``Channel.close`` first reads the pending BRPOP reply; on a dead connection that raises, the channel
    is left open, the connection's transport is then torn down, and the next close tries to put the unacknowledged
    messages back through a transport that is gone: an AttributeError that Celery treats as unrecoverable, so a
    busy worker exited on a Redis restart (2 runs in 9 here). Reading that reply is only a courtesy on a dead
    connection: skip it, and close as usual.
    """
    from kombu.transport import redis as kombu_redis

    close = kombu_redis.Channel.close
    if getattr(close, "fgrid_patched", False):
        return

    def close_tolerant(self: Any) -> None:
        self._closing = True
        if self._in_poll:
            try:
                self._brpop_read()
            except Exception:  # noqa: BLE001 - Empty, or the connection is gone: nothing left to read either way
                self._in_poll = None
        close(self)

    close_tolerant.fgrid_patched = True  # type: ignore[attr-defined]
    kombu_redis.Channel.close = close_tolerant


def _drop_undecodable_messages() -> None:
    """Drop, with a log line, a queue item that is not a kombu message, instead of letting it stop the worker.

    kombu decodes each item BRPOP returns as JSON before anything else; an item that is not JSON (anyone who can
    write to Redis can push one) raised out of the event loop, and Celery stopped the worker as for an
    unrecoverable error. The item is already off the queue and not yet in ``unacked``: dropping it loses nothing.
    """
    import json as _json

    from kombu.transport import filesystem as kombu_files
    from kombu.transport import redis as kombu_redis
    from kombu.transport.virtual import Empty

    # The file broker's reader has the same flaw: a file in the queue folder that is not a message (fgrid's own
    # senders write theirs atomically, see fgrid/transport.py; anything else may not) stopped the worker.
    for channel, name in ((kombu_redis.Channel, "_brpop_read"), (kombu_files.Channel, "_get")):
        read = getattr(channel, name)
        if getattr(read, "fgrid_patched", False):
            continue

        def read_tolerant(self: Any, *args: Any, _read: Any = read, **options: Any) -> Any:
            try:
                return _read(self, *args, **options)
            except (_json.JSONDecodeError, UnicodeDecodeError) as exc:
                log.error("fgrid: dropped a queue item that is not a kombu message (%s)", type(exc).__name__)
                raise Empty() from None

        read_tolerant.fgrid_patched = True  # type: ignore[attr-defined]
        setattr(channel, name, read_tolerant)


def install() -> None:
    """Run a :class:`Guardian` in every worker's main process (connected to Celery's worker signals), and make
    workers retry result-store writes through a restart of the store."""
    from celery import signals

    signals.celeryd_init.connect(_worker_conf, weak=False, dispatch_uid="fgrid.recovery.conf")
    signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="fgrid.recovery.ready")
    signals.worker_shutdown.connect(_on_worker_shutdown, weak=False, dispatch_uid="fgrid.recovery.shutdown")
