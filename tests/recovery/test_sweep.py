"""The recovery sweep in-process, on the embedded file store and broker, with the broker view and the clock
injected: what a pass restores, drops, closes, publishes again or gives up on (no worker, no server)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest

from fgrid import config
from fgrid.app import create_app
from fgrid.broker import files
from fgrid.broker.view import BrokerState
from fgrid.config import Settings
from fgrid.recovery import ledger, sweep
from fgrid.recovery.ledger import TaskLedger

KWARGS = {"player": "00-0033040", "opponent": "SF", "location": None, "season": 2023, "week": 5, "scoring": "ppr"}


class FakeQueues:
    """A broker view whose messages and live workers the test sets; it records what the pass did to it."""

    def __init__(
        self,
        queued: Iterable[str] = (),
        unacked: dict[str, tuple[str, float]] | None = None,
        live: dict[str, set[str]] | None = None,
    ):
        self.queued, self.unacked, self.live = set(queued), dict(unacked or {}), dict(live or {})
        self.restored: list[str] = []
        self.dropped: list[str] = []

    def state(self) -> BrokerState:
        return BrokerState(set(self.queued), dict(self.unacked))

    def restore(self, tag: str) -> None:
        self.restored.append(tag)
        self.unacked.pop(tag)

    def drop(self, tag: str) -> None:
        self.dropped.append(tag)
        self.unacked.pop(tag)

    def heartbeat(self, hostname: str, ids: Iterable[str]) -> None:
        self.live[hostname] = set(ids)

    def forget(self, hostname: str) -> None:
        self.live.pop(hostname, None)

    def live_workers(self) -> dict[str, set[str]]:
        return self.live

    def lock(self) -> bool:
        return True

    def unlock(self) -> None:
        pass


@pytest.fixture
def app(tmp_path: Path):
    return create_app(Settings.from_env({}, data_dir=tmp_path / "data"))


def submitted(app, task_id: str | None = None) -> str:
    """A task recorded and published as fgrid submits it, its message then taken off the queue (as a worker
    killed with it would have taken it)."""
    task_id = task_id or str(uuid.uuid4())
    ledger.submit(app, config.TASK_ANALYZE, KWARGS, task_id)
    assert files.take_all(app.fgrid_settings.broker_dir, config.QUEUE_MATCHUPS)
    return task_id


def queued_ids(app) -> set[str]:
    return files.FileQueues(app.fgrid_settings.broker_dir, sweep.WORKER_TTL).state().queued


def test_a_task_found_nowhere_twice_is_published_again_with_its_id(app):
    task_id = submitted(app)
    later = time.time() + sweep.SUBMIT_GRACE + 1
    suspects: dict[str, float] = {}
    first = sweep.run_pass(app, FakeQueues(), suspects, now=later)
    assert not first.requeued and task_id in suspects  # seen nowhere once: not yet
    second = sweep.run_pass(app, FakeQueues(), suspects, now=later + sweep.CONFIRM_DELAY)
    assert second.requeued == [task_id]
    assert queued_ids(app) == {task_id}
    assert TaskLedger(app).lookup(task_id)["requeued"] == 1


def test_a_task_a_live_worker_holds_or_that_waits_in_a_queue_is_left_alone(app):
    held, waiting = submitted(app), submitted(app)
    later = time.time() + sweep.SUBMIT_GRACE + 1
    view = FakeQueues(queued=[waiting], live={"w1@host": {held}})
    suspects: dict[str, float] = {}
    for step in range(3):
        report = sweep.run_pass(app, view, suspects, now=later + step * sweep.CONFIRM_DELAY)
        assert not report.requeued
    assert not suspects


def test_a_recent_submission_is_not_suspected(app):
    task_id = submitted(app)
    report = sweep.run_pass(app, FakeQueues(), {}, now=time.time())
    assert report.checked == 0 and task_id not in queued_ids(app)


def test_a_finished_task_is_closed(app):
    task_id = submitted(app)
    app.backend.store_result(task_id, {"ok": True}, "SUCCESS")
    later = time.time() + sweep.SUBMIT_GRACE + 1
    report = sweep.run_pass(app, FakeQueues(), {}, now=later)
    assert report.closed == 1
    assert task_id not in TaskLedger(app).open_tasks(before=later)


def test_unacked_entries_of_dead_workers_are_restored_finished_ones_dropped(app):
    running, finished, young, held = (submitted(app) for _ in range(4))
    app.backend.store_result(finished, {"ok": True}, "SUCCESS")
    now = time.time() + sweep.SUBMIT_GRACE + 1
    old = now - sweep.UNACKED_GRACE - 1
    view = FakeQueues(
        unacked={"t1": (running, old), "t2": (finished, old), "t3": (young, now), "t4": (held, old)},
        live={"w1@host": {held}},
    )
    report = sweep.run_pass(app, view, {}, now=now)
    assert view.restored == ["t1"] and report.restored == [running]
    assert view.dropped == ["t2"] and report.dropped == [finished]
    assert set(view.unacked) == {"t3", "t4"}  # too young to judge; held by a live worker


def test_a_task_lost_too_often_fails_instead_of_looping(app):
    task_id = submitted(app)
    record = TaskLedger(app).lookup(task_id)
    TaskLedger(app).record(task_id, {**{k: v for k, v in record.items() if k != "id"}, "requeued": sweep.MAX_REQUEUES})
    later = time.time() + sweep.SUBMIT_GRACE + 1
    suspects: dict[str, float] = {}
    sweep.run_pass(app, FakeQueues(), suspects, now=later)
    report = sweep.run_pass(app, FakeQueues(), suspects, now=later + sweep.CONFIRM_DELAY)
    assert report.failed == [task_id] and not report.requeued
    meta = app.backend.get_task_meta(task_id)
    assert meta["status"] == "FAILURE" and "not queued again" in str(meta["result"])
    assert task_id not in queued_ids(app)


class Killed(BaseException):
    """The submitting process dying at this point (nothing after it runs, no handler catches it)."""


def test_a_submitter_killed_while_recording_leaves_nothing_unseen(app, monkeypatch):
    # A chord's part is recorded by the publish hook of the worker that fans out; killed between the open mark and
    # the record (the widest window, the record's write), it must leave an open id the sweep closes, never a record
    # outside the open set that no sweep looks at (its comparison would then wait for good).
    def die(*_args, **_kwargs):
        raise Killed

    monkeypatch.setattr(ledger, "write_atomic", die)
    task_id = str(uuid.uuid4())
    with pytest.raises(Killed):
        ledger.submit(app, config.TASK_ANALYZE, KWARGS, task_id)
    monkeypatch.undo()
    later = time.time() + sweep.SUBMIT_GRACE + 1
    assert TaskLedger(app).open_tasks(before=later) == [task_id] and TaskLedger(app).lookup(task_id) is None
    assert task_id not in queued_ids(app)  # recorded first, so never published
    suspects: dict[str, float] = {}
    sweep.run_pass(app, FakeQueues(), suspects, now=later)
    sweep.run_pass(app, FakeQueues(), suspects, now=later + sweep.CONFIRM_DELAY)
    assert TaskLedger(app).open_tasks(before=later + sweep.CONFIRM_DELAY) == []
    assert task_id not in queued_ids(app)
