"""Worker shutdown under the signal patterns deployment tools use: SIGTERM to the main process only (docker stop,
Kubernetes), to the whole process group (Heroku, ``kill -- -PGID``, supervisord's stopasgroup, systemd's default
control-group), and SIGTERM then SIGKILL after a grace period; with the worker busy and idle. Each is a warm shutdown
within the grace period (a running task finishes on the worker that runs it), never a hang, and no task is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from fgrid.config import TASK_AI_TRAIN
from tests.faults.conftest import count_final, metas, submit_many
from tests.support.processes import redis_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults

#: Seconds a deployment tool waits between SIGTERM and SIGKILL (Heroku's is 30; docker's 10).
GRACE = 20
#: A task that runs for about a second: a week of the walk-forward backtest (the engine refitted first).
LONG = "fgrid.backtest_week"


def long_kwargs(n: int) -> list[dict]:
    return [{"season": 2023, "week": 5 + i % 14, "scoring": "ppr", "refit": True} for i in range(n)]


@pytest.mark.parametrize("busy", [True, False], ids=["busy", "idle"])
@pytest.mark.parametrize("pattern", ["main", "group", "group-then-kill"])
def test_shutdown_is_warm_and_loses_nothing(pattern, busy, data_dir, server, workers):
    env = redis_env(data_dir, server)
    first = workers(env, "-c", "2")
    ids = submit_many(env, LONG, long_kwargs(6)) if busy else []
    if busy:
        wait_for(lambda: any(m["status"] == "STARTED" for m in metas(env, ids).values()), 60, "a task to start")
        running = {i for i, m in metas(env, ids).items() if m["status"] == "STARTED"}
    signalled = time.monotonic()
    if pattern == "main":
        os.kill(first.pid, signal.SIGTERM)
    else:
        first.signal(signal.SIGTERM)
    try:
        first.proc.wait(GRACE)
    except subprocess.TimeoutExpired:
        if pattern != "group-then-kill":
            first.kill()
            pytest.fail(f"the worker hung after SIGTERM ({pattern}): {first.text()[-3000:]}")
        first.signal(signal.SIGKILL)  # the grace period is over: what a deployment tool does next
        first.proc.wait(10)
    took = time.monotonic() - signalled
    assert took < GRACE, f"shutdown took {took:.1f} s"
    assert "Unrecoverable error" not in first.text()
    if pattern != "group-then-kill":
        assert first.proc.returncode == 0, "a warm shutdown is a clean exit"
    # No pool process outlives the worker.
    assert subprocess.run(["pgrep", "-g", str(first.pid)], capture_output=True).returncode == 1
    if busy:
        done_by_first = {i for i, m in metas(env, ids).items() if m["status"] == "SUCCESS"}
        assert running <= done_by_first, "a running task was interrupted instead of finishing"
        second = workers(env, "-c", "2")
        wait_for(lambda: count_final(env, ids) == len(ids), 120, "every task to finish after a restart")
        assert all(m["status"] == "SUCCESS" for m in metas(env, ids).values())
        assert second.proc.poll() is None


def test_cancel_terminate_still_stops_a_running_task(data_dir, server, workers):
    from tests.support.processes import run_fgrid

    env = redis_env(data_dir, server)
    worker = workers(env, "-c", "1")
    # A training (ten seconds or more): a refit backtest week (about one) can finish while the CLI starts up on a
    # busy machine, and there would be nothing left to cancel.
    (task_id,) = submit_many(env, TASK_AI_TRAIN, [{"seasons": [2022]}])
    wait_for(lambda: metas(env, [task_id])[task_id]["status"] in ("STARTED", "PROGRESS"), 60, "the task to start")
    result = run_fgrid(["cancel", task_id, "--terminate"], env, timeout=60)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: metas(env, [task_id])[task_id]["status"] == "REVOKED", 30, "the task to be revoked")
    assert worker.proc.poll() is None
    (after,) = submit_many(env, LONG, long_kwargs(1))
    wait_for(lambda: metas(env, [after])[after]["status"] == "SUCCESS", 60, "the next task to run")
