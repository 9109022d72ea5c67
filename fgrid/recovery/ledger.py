"""The ledger: fgrid's record of submitted tasks, kept in the result store beside Celery's results and expiring
with them. A task is recorded, then published (:func:`submit`, the one way fgrid queues a task), so a task that was
accepted is never unknown to recovery.

Celery reports PENDING for any id it has never seen; this record tells a task that waits from an id that was never
submitted, and gives ``fgrid tasks`` an index that outlives the CLI, the workers and Flower.
On Redis: one key per task (``fgrid:task:<id>``) and a bounded sorted set ``fgrid:tasks`` by submission time.
On the embedded file store: one JSON file per task under ``<results>/fgrid-tasks/``.
Tasks not yet known to be finished are also kept in an "open" set (``fgrid:open``, or empty files under
``<results>/fgrid-open/``), which :mod:`fgrid.recovery.sweep` checks to re-queue tasks whose message was lost.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fgrid import config
from fgrid.broker import connection, results, transports
from fgrid.files import write_atomic

if TYPE_CHECKING:
    from celery import Celery

#: Most tasks kept in the index; older entries are trimmed when new ones are recorded.
INDEX_MAX_ENTRIES = 10_000
TASK_KEY = "fgrid:task:"
INDEX_KEY = "fgrid:tasks"
OPEN_KEY = "fgrid:open"
#: Every how many records a process trims the index and the open set (counted per process).
TRIM_EVERY = 50
_records = itertools.count()
OPEN_FOLDER = "fgrid-open"
#: Characters of the argument summary kept in the record.
SUMMARY_CHARS = 120
#: Message header set on tasks fgrid recorded before publishing them (the publish hook records the others).
RECORDED_HEADER = "fgrid_recorded"
#: Tasks recorded when published by other clients (name prefixes): fgrid's, and the task that completes a chord on
#: the embedded default's file store (it waits in its worker's memory between polls, so a killed worker would lose it).
RECORDED_TASKS = ("fgrid.", config.TASK_CHORD_UNLOCK)
#: Longest argument text put in a message's ``kwargsrepr`` header (Celery's own bound).
KWARGSREPR_CHARS = 1024
#: The steps that end a fan-out under the id of the task that was asked for.
FAN_IN_TASKS = frozenset({config.TASK_RANK, config.TASK_BACKTEST_SUMMARY, config.TASK_LINEUP_PICK})


#: The record on Redis (keys: the open set, the index, the task's record, and the queue's list when the task's
#: message is pushed with it; arguments: the id, the time, the seconds to keep, the record, the message or "", and
#: when the sets are trimmed the index's bound and the oldest time kept).
_RECORD_SCRIPT = b"""
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[3])
if ARGV[6] then
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[6]) - 1)
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[7])
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[7])
end
if KEYS[4] then
    redis.call('LPUSH', KEYS[4], ARGV[5])
end
"""


def new_task_id(now: float | None = None) -> str:
    """A task id that says when it was made, so that an id unknown to the ledger can be told from one lost with a
    result store that restarted empty: a UUID of version 8 (RFC 9562's own layout) whose last 48 bits are the
    milliseconds since the epoch and whose other 74 bits are random, the first ones included, so that the short ids
    people read (the first 8 characters) stay distinct."""
    millis = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 used
    high, middle, low = rand >> 32, (rand >> 20) & 0xFFF, (rand >> 6) & 0x3FFF
    value = (high << 80) | (0x8 << 76) | (middle << 64) | (0b10 << 62) | (low << 48) | millis
    return str(uuid.UUID(int=value))


def submitted_at(task_id: str) -> float | None:
    """When a task id from :func:`new_task_id` was made (epoch seconds); None for other ids."""
    try:
        value = uuid.UUID(task_id)
    except ValueError:
        return None
    return (value.int & ((1 << 48) - 1)) / 1000 if value.version == 8 else None


def task_info(name: str, queue: str, summary: str, root_id: str | None = None, **replay: Any) -> dict[str, Any]:
    """The record kept for a submitted task; ``replay`` (``kwargs=`` or ``message=``) lets it be queued again."""
    return {"name": name, "queue": queue, "summary": summary[:SUMMARY_CHARS], "root_id": root_id, **replay}


def summarize(kwargs: dict[str, Any]) -> str:
    """A task's keyword arguments in one short line (a comparison's requests left out)."""
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and k != "requests")


def kwargs_repr(kwargs: dict[str, Any]) -> str:
    """The message's ``kwargsrepr`` header (what Flower and ``celery inspect`` show): Python's ``repr``, cut to
    Celery's bound. fgrid's arguments are checked JSON values (no recursion, nothing costly to print), so the plain
    ``repr`` is safe, and it saves Celery's ``saferepr``, which walks the value piece by piece on every submit.

    >>> kwargs_repr({"player": "00-0033040", "week": 5})
    "{'player': '00-0033040', 'week': 5}"
    """
    text = repr(kwargs)
    return text if len(text) <= KWARGSREPR_CHARS else text[: KWARGSREPR_CHARS - 3] + "..."


def queue_of(app: Celery, task_name: str) -> str:
    """The queue ``task_name`` is routed to."""
    queue = app.amqp.router.route({}, task_name).get("queue")
    return getattr(queue, "name", str(queue))


def submit(
    app: Celery,
    task_name: str,
    kwargs: dict[str, Any],
    task_id: str,
    *,
    producer: Any = None,
    options: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Record ``task_id`` in the ledger (with what it takes to publish it again), then publish it by name; with one
    Redis server and database for both, record and message are written by one script.

    Recording first (or at once) means a task whose publish is lost (a client killed in between, a broker restart)
    is found by recovery, and no worker meets a task that has no record yet. A publish that fails removes the record
    again, so the task is neither listed as waiting nor published later behind the caller's back. ``extra`` is kept
    in the record (``retry_of``...); ``producer`` publishes on a producer the caller holds (bulk submits);
    ``options`` are Celery's publish options (``soft_time_limit``...); ``headers`` go with the message (and with it
    again if recovery publishes it). An unreachable store or broker raises UnavailableError naming it.
    """
    settings = app.fgrid_settings
    ledger = TaskLedger(app)
    replay: dict[str, Any] = {"kwargs": kwargs, **({"headers": headers} if headers else {})}
    info = {**task_info(task_name, queue_of(app, task_name), summarize(kwargs), **replay), **extra}
    # With one Redis server and database for both, fgrid's Redis channel lets the record's script push the message
    # too: recorded and queued at once, in one round trip.
    together = settings.broker_url == settings.result_backend and ledger.on_redis
    pushed: list[bool] = []

    def push(client: Any, key: str, message: str) -> None:
        ledger.record(task_id, info, client=client, push=(key, message))
        pushed.append(True)

    if not together:
        with connection.reachable(settings, "result store"):
            ledger.record(task_id, info)
    try:
        pushing = transports.pushing_with(push) if together else contextlib.nullcontext()
        with connection.reachable(settings, "broker"), pushing:
            app.send_task(
                task_name,
                kwargs=kwargs,
                task_id=task_id,
                headers={**(headers or {}), RECORDED_HEADER: True},
                producer=producer,
                **{"argsrepr": "()", "kwargsrepr": kwargs_repr(kwargs), **(options or {})},
            )
        if together and not pushed:  # published by a channel that does not take the push: recorded now
            with connection.reachable(settings, "broker"):
                ledger.record(task_id, info)
    except BaseException:
        # Not queued: no record either, or `fgrid tasks` would list it as waiting and recovery publish it later.
        with contextlib.suppress(Exception):
            ledger.forget(task_id)
        raise


def republish(app: Celery, task_id: str, record: dict[str, Any]) -> None:
    """Publish ``task_id`` again from its record (same id, same arguments, same queue)."""
    queue = record.get("queue") or None
    if record.get("message"):
        # Recorded from the published message (a chord's part, `celery call`): publish that message again.
        message = record["message"]
        headers = {**message["headers"], RECORDED_HEADER: True}
        declare = [app.amqp.queues[queue]] if queue in app.amqp.queues else None
        with app.producer_or_acquire() as producer:
            producer.publish(
                message["body"],
                exchange=message.get("exchange") or "",
                routing_key=message.get("routing_key") or queue,
                headers=headers,
                serializer="json",
                correlation_id=task_id,
                reply_to="",
                delivery_mode=2,
                declare=declare,
                retry=True,
            )
    elif "kwargs" in record:
        # Submitted by fgrid, which sends the task by name with keyword arguments only.
        app.send_task(
            record["name"],
            kwargs=record["kwargs"],
            task_id=task_id,
            queue=queue,
            headers={**(record.get("headers") or {}), RECORDED_HEADER: True},
        )
    else:
        raise ValueError(f"the record of task {task_id} cannot be replayed")


def connect(app: Celery) -> None:
    """Record the tasks other clients publish (``celery call``, a chord's parts) when ``app`` publishes them."""
    from celery import signals

    def record_published(
        sender: str | None = None,
        headers: dict | None = None,
        routing_key: str = "",
        body: Any = None,
        exchange: str = "",
        **_: Any,
    ) -> None:
        # fgrid's own submit records first and marks the message, so that a failure to record stops the
        # submission (Celery only logs a handler's error).
        if not sender or not sender.startswith(RECORDED_TASKS) or not headers or headers.get(RECORDED_HEADER):
            return
        summary = f"{headers.get('argsrepr') or ''} {headers.get('kwargsrepr') or ''}".strip()
        if sender in FAN_IN_TASKS:
            # The step that ends a fan-out inherits the id of what was asked (a comparison): keep its summary.
            asked = TaskLedger(app).lookup(headers["id"])
            summary = (asked or {}).get("summary") or summary
        # The whole message is kept, so that recovery can publish it again if it is lost (a chord's part carries
        # its chord in the body and its group in the headers).
        message = {"body": body, "headers": headers, "exchange": exchange, "routing_key": routing_key}
        TaskLedger(app).record(
            headers["id"], task_info(sender, routing_key, summary, headers.get("root_id"), message=message)
        )

    # The latest app built in this process records: one handler, replaced by each new app (Celery keeps the first
    # receiver of a dispatch_uid, so the old one is disconnected first).
    signals.before_task_publish.disconnect(dispatch_uid="fgrid.ledger.record")
    signals.before_task_publish.connect(record_published, weak=False, dispatch_uid="fgrid.ledger.record")


class TaskLedger:
    """Record and look up submitted tasks in the app's result store."""

    def __init__(self, app: Celery):
        self.app = app
        self.expires = int(app.conf.result_expires or 86400)

    @property
    def _redis(self) -> Any:
        return results.redis_client(self.app)

    @property
    def _folder(self) -> Path | None:
        path = getattr(self.app.backend, "path", None)
        return Path(os.fsdecode(path)) / "fgrid-tasks" if path else None

    @property
    def on_redis(self) -> bool:
        """Whether the records are kept on Redis."""
        return self._redis is not None

    def record(
        self, task_id: str, info: dict[str, Any], *, client: Any = None, push: tuple[str, str] | None = None
    ) -> None:
        """Record ``task_id`` as submitted, with a JSON-ready ``info`` (name, queue, summary). ``push`` (a list's key
        and a message, Redis only) is pushed in the same script, on ``client`` (the broker's, which must be the
        result store's server and database)."""
        entry = {"id": task_id, "submitted_at": time.time(), **info}
        payload = json.dumps(entry, default=str)
        client = client if client is not None else self._redis
        if client is not None:
            now = entry["submitted_at"]
            keys = [OPEN_KEY, INDEX_KEY, TASK_KEY + task_id, *([push[0]] if push else [])]
            args: list[Any] = [task_id, now, self.expires, payload, push[1] if push else ""]
            if next(_records) % TRIM_EVERY == 0:
                # The sets' bounds, kept on every TRIM_EVERY-th record of a process (the first included): the trims
                # cost more than the record itself, and a set only has to stay near its bound.
                args += [INDEX_MAX_ENTRIES, now - self.expires]
            # One command, applied whole by the server (a script runs atomically): one round trip and one reply.
            client.register_script(_RECORD_SCRIPT)(keys=keys, args=args)
            return
        folder = self._folder
        if folder is not None:
            # Open first: a writer killed in between leaves an open id without a record, which the sweep closes,
            # never a record that no sweep looks at (the record's atomic write is the longer step).
            opened = folder.parent / OPEN_FOLDER
            opened.mkdir(parents=True, exist_ok=True)
            (opened / task_id).touch()
            folder.mkdir(exist_ok=True)
            write_atomic(folder / f"{task_id}.json", payload)
            return
        self.app.backend.set(f"fgrid-task-{task_id}", payload)

    def state_and_record(self, task_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The task's stored state (what the result store's ``get_task_meta`` gives) and its record; on Redis, where
        both live in the result store, in one round trip."""
        client = self._redis
        backend = self.app.backend
        if client is None:
            return backend.get_task_meta(task_id), self.lookup(task_id)
        raw_meta, raw_record = client.mget([backend.get_key_for_task(task_id), TASK_KEY + task_id])
        meta = backend.decode_result(raw_meta) if raw_meta else {"status": "PENDING", "result": None}
        return meta, json.loads(raw_record) if raw_record else None

    def lookup(self, task_id: str) -> dict[str, Any] | None:
        """The record of ``task_id``, or None if it was never submitted (or has expired)."""
        client = self._redis
        if client is not None:
            raw = client.get(TASK_KEY + task_id)
        elif (folder := self._folder) is not None:
            path = folder / f"{task_id}.json"
            try:
                if time.time() - path.stat().st_mtime > self.expires:
                    return None
                raw = path.read_bytes()
            except FileNotFoundError:
                return None
        else:
            raw = self.app.backend.get(f"fgrid-task-{task_id}")
        return json.loads(raw) if raw else None

    def open_tasks(self, before: float) -> list[str]:
        """Ids of recorded tasks not yet seen finished, recorded (or re-queued) before ``before`` (epoch seconds)."""
        client = self._redis
        if client is not None:
            low = time.time() - self.expires
            return [i.decode() if isinstance(i, bytes) else i for i in client.zrangebyscore(OPEN_KEY, low, before)]
        folder = self._folder
        opened = folder.parent / OPEN_FOLDER if folder is not None else None
        if opened is None or not opened.exists():
            return []
        ids = []
        for path in opened.iterdir():
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue
            if mtime < time.time() - self.expires:
                path.unlink(missing_ok=True)
            elif mtime <= before:
                ids.append(path.name)
        return ids

    def forget(self, task_id: str) -> None:
        """Remove ``task_id``'s record altogether (a submission that was refused: it never existed)."""
        client = self._redis
        if client is not None:
            with client.pipeline(transaction=False) as pipe:
                pipe.delete(TASK_KEY + task_id).zrem(INDEX_KEY, task_id).zrem(OPEN_KEY, task_id).execute()
            return
        folder = self._folder
        if folder is not None:
            (folder / f"{task_id}.json").unlink(missing_ok=True)
            (folder.parent / OPEN_FOLDER / task_id).unlink(missing_ok=True)

    def close(self, task_ids: list[str]) -> None:
        """Forget ``task_ids`` from the open set (they finished)."""
        if not task_ids:
            return
        client = self._redis
        if client is not None:
            client.zrem(OPEN_KEY, *task_ids)
            return
        folder = self._folder
        if folder is not None:
            for task_id in task_ids:
                (folder.parent / OPEN_FOLDER / task_id).unlink(missing_ok=True)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recently submitted tasks, newest first (not Celery's chord-unlock steps, recorded for recovery)."""
        return [e for e in self._recent(limit) if e.get("name") != config.TASK_CHORD_UNLOCK]

    def _recent(self, limit: int) -> list[dict[str, Any]]:
        client = self._redis
        if client is not None:
            ids = [i.decode() if isinstance(i, bytes) else i for i in client.zrevrange(INDEX_KEY, 0, limit - 1)]
            raws = client.mget([TASK_KEY + i for i in ids]) if ids else []
            return [json.loads(r) for r in raws if r]
        folder = self._folder
        if folder is None or not folder.exists():
            return []
        now = time.time()
        entries = []
        for path in folder.glob("*.json"):
            try:
                stat = path.stat()
                if now - stat.st_mtime > self.expires:
                    path.unlink(missing_ok=True)
                    continue
                entries.append((stat.st_mtime, path))
            except FileNotFoundError:
                continue
        entries.sort(reverse=True)
        out = []
        for _, path in entries[:limit]:
            try:
                out.append(json.loads(path.read_bytes()))
            except (FileNotFoundError, ValueError):
                continue
        return out

    def ids_starting(self, prefix: str, limit: int = 10) -> list[str]:
        """Ids of recorded tasks that start with ``prefix`` (lower-case hex and dashes), at most ``limit``: how a
        short id people read (the first 8 characters) is turned back into a task id."""
        client = self._redis
        if client is not None:
            found = []
            for item in client.zscan_iter(INDEX_KEY, match=prefix + "*", count=1000):
                member = item[0]
                found.append(member.decode() if isinstance(member, bytes) else member)
                if len(found) >= limit:
                    break
            return found
        folder = self._folder
        if folder is None or not folder.exists():
            return []
        return [path.stem for path in itertools.islice(folder.glob(prefix + "*.json"), limit)]
