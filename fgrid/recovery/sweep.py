"""Queue again the tasks that were submitted but would never run, so that a killed worker loses no task.

Celery on Redis emulates acknowledgements. A worker takes a message with ``BRPOP``, which removes it from the queue
list, and only afterwards copies it into the ``unacked`` hash (kombu's ``QoS.append``); kombu's ``restore_visible``
puts an ``unacked`` entry back on its queue once it is older than the visibility timeout. Hence three holes:

* a worker killed between the ``BRPOP`` and that copy (the reply is in its socket, or being parsed) loses the
  message for good: it is in no list and no hash, and nothing ever restores it;
* the messages a killed worker had taken (prefetched or running) wait in ``unacked`` for the visibility timeout,
  which fgrid sets longer than its longest task (over an hour) so that a slow task is never handed out twice;
* the embedded file broker deletes a message's file as a worker takes it, so whatever a killed worker held is gone.

fgrid closes them with what only it knows: its record of every submitted task (:mod:`fgrid.recovery.ledger`, with an
"open" set of tasks not yet seen finished) and a heartbeat of every live worker. The main process of each worker runs
a :class:`~fgrid.recovery.bootstep.Guardian` thread that

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
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fgrid.broker import results
from fgrid.broker.view import QueueView
from fgrid.errors import FgridError
from fgrid.recovery import chords
from fgrid.recovery.ledger import TaskLedger, republish

if TYPE_CHECKING:
    from celery import Celery

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
FINAL_STATES = results.READY_STATES


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


def _count_requeue(ledger: TaskLedger, task_id: str, record: dict[str, Any] | None) -> int:
    """Record one more re-queue of ``task_id`` (its submission time kept); return the count."""
    if record is None:
        return 0
    count = int(record.get("requeued", 0)) + 1
    info = {k: v for k, v in record.items() if k != "id"}
    ledger.record(task_id, {**info, "requeued": count, "requeued_at": time.time()})
    return count


def _fail(app: Celery, ledger: TaskLedger, task_id: str, times: int) -> None:
    error = FgridError(f"task lost {times} times (its worker died each time); not queued again")
    app.backend.store_result(task_id, error, "FAILURE")
    ledger.close([task_id])


def run_pass(app: Celery, broker: QueueView, suspects: dict[str, float], now: float | None = None) -> Report:
    """Restore what dead workers held and publish lost tasks again; ``suspects`` carries sightings between passes."""
    now = time.time() if now is None else now
    ledger = TaskLedger(app)
    report = Report()
    open_ids = ledger.open_tasks(before=now - SUBMIT_GRACE)
    # The broker first, then the workers, then the result store: a task moves queue -> unacked -> worker -> result,
    # so reading in that order sees a task that moves meanwhile in one place or another.
    snap = broker.state()
    live = broker.live_workers()
    held = set().union(*live.values())
    found = results.metas(app, sorted(set(open_ids) | snap.unacked_ids))
    metas = {task_id: results.brief(meta) for task_id, meta in found.items()}
    report.checked = len(open_ids)

    for tag, (task_id, delivered_at) in snap.unacked.items():
        if task_id in held or delivered_at > now - UNACKED_GRACE:
            continue
        if metas[task_id]["status"] in FINAL_STATES:
            # Its worker stored the result, then died before acknowledging (and perhaps before counting it in
            # its chord).
            if metas[task_id]["group_id"]:
                chords.count_part(app, task_id, ledger.lookup(task_id))
            broker.drop(tag)
            report.dropped.append(task_id)
            continue
        record = ledger.lookup(task_id)
        if _count_requeue(ledger, task_id, record) > MAX_REQUEUES:
            broker.drop(tag)
            _fail(app, ledger, task_id, MAX_REQUEUES)
            report.failed.append(task_id)
            continue
        broker.restore(tag)
        report.restored.append(task_id)

    finished = [i for i in open_ids if metas[i]["status"] in FINAL_STATES]
    # A chord part whose worker died between storing its result and counting it in its chord would leave the chord
    # waiting for good: count it here. One whose worker lives and has not counted it yet stays open till it has.
    uncounted = set()
    for task_id in (i for i in finished if metas[i]["group_id"]):
        record = ledger.lookup(task_id)
        if chords.part_counted(app, record) is False:
            if metas[task_id]["worker"] in live:
                uncounted.add(task_id)
            elif chords.count_part(app, task_id, record):
                report.counted.append(task_id)
    finished = [i for i in finished if i not in uncounted]
    ledger.close(finished)
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
        record = ledger.lookup(task_id)
        if record is None or chords.unlocked(app, record):
            ledger.close([task_id])
            continue
        if (
            metas[task_id]["status"] == "PROGRESS"
            and metas[task_id].get("name") == record.get("name")
            and chords.fanned_out(app, ledger, task_id)
        ):
            # A task that fanned out and replaced itself (compare): its parts are tracked on their own, and the
            # step that finishes it is recorded under its id when it is published. (One killed after storing its
            # parts' ids but before publishing them all is published again, below.)
            continue
        del suspects[task_id]
        if _count_requeue(ledger, task_id, record) > MAX_REQUEUES:
            _fail(app, ledger, task_id, MAX_REQUEUES)
            report.failed.append(task_id)
            continue
        republish(app, task_id, record)
        report.requeued.append(task_id)
    return report
