"""Redis restarted (append-only file on, same port): an idle worker reconnects and consumes again, and tasks that
were waiting or running when it went down all end SUCCESS with readable results."""

from __future__ import annotations

import json
import time

import pytest

from tests.faults.conftest import (
    LAMB,
    count_final,
    expected_for,
    metas,
    mix_kwargs,
    report,
    submit_many,
)
from tests.support.processes import redis_env, run_fgrid
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # slow: started first in a parallel run

ANALYZE = ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5"]


def test_idle_worker_reconnects_after_restart(data_dir, aof_redis, workers):
    env = redis_env(data_dir, aof_redis)
    w1 = workers(env, "-c", "1")
    first = json.loads(run_fgrid([*ANALYZE, "--wait", "--json", "--timeout", "30"], env).stdout)
    assert first["status"] == "SUCCESS"

    aof_redis.stop()
    time.sleep(1)
    aof_redis.start()
    restarted = time.monotonic()
    # A command right after the restart is queued, and the worker comes back for it by itself.
    result = run_fgrid([*ANALYZE, "--wait", "--json", "--timeout", "90"], env, timeout=120)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "SUCCESS" and doc["result"] == first["result"]
    # The earlier result survived the restart (append-only file).
    assert json.loads(run_fgrid(["status", first["task_id"], "--json"], env).stdout)["status"] == "SUCCESS"
    report("redis restart, idle worker", back_to_result_s=round(time.monotonic() - restarted, 1))
    assert w1.proc.poll() is None


def test_waiting_and_running_tasks_survive_a_restart(data_dir, aof_redis, workers, analysis_mix):
    env = redis_env(data_dir, aof_redis)
    workers(env, "-c", "2")
    n = 1000
    kwargs_list = mix_kwargs(analysis_mix, n)
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
    # Some tasks taken (one LLEN: reading the results takes long enough on a busy machine for the worker to finish
    # the whole batch in between).
    queue = aof_redis.client()
    wait_for(lambda: queue.llen("matchups") <= n - 200, 60, "some tasks taken", interval=0.02)
    # Tasks wait as it stops (read just before: once it is back, the workers may take them all before any read). A
    # worker drains the queue about as fast as one client fills it, so it is topped up until 200 wait.
    for _top_up in range(10):
        waiting = queue.llen("matchups")
        if waiting >= 200:
            break
        more = mix_kwargs(analysis_mix, 2000)
        ids += submit_many(env, "fgrid.analyze_player", more)
        kwargs_list += more
        n += len(more)
    aof_redis.stop()
    down_at = time.monotonic()
    assert waiting > 0, "the restart should happen while tasks wait"
    time.sleep(2)
    aof_redis.start()
    back = time.monotonic()
    wait_for(lambda: count_final(env, ids) == n, 90, "every task after the restart", interval=0.5)
    found = metas(env, ids)
    assert {m["status"] for m in found.values()} == {"SUCCESS"}
    for task_id, kwargs in zip(ids, kwargs_list, strict=False):
        assert found[task_id]["result"] == expected_for(analysis_mix, kwargs)
    doc = json.loads(run_fgrid(["status", ids[-1], "--json"], env).stdout)
    assert doc["status"] == "SUCCESS"
    client = aof_redis.client()
    assert client.llen("matchups") == 0
    # A task that finished while the broker was away could not be acknowledged; recovery drops its entry.
    wait_for(lambda: client.hlen("unacked") == 0, 60, "unacknowledged entries of finished tasks to be dropped")
    report(
        "redis restart with tasks waiting",
        tasks=n,
        waiting_after_restart=waiting,
        down_s=round(back - down_at, 1),
        all_done_after_restart_s=round(time.monotonic() - back, 1),
    )


def test_an_id_lost_with_a_redis_restart_says_so(data_dir, server):
    from tests.support.processes import run_fgrid

    env = redis_env(data_dir, server)
    queued = run_fgrid(["analyze-player", LAMB, "--opponent", "SF", "--season", "2023", "--week", "5", "--json"], env)
    assert queued.returncode == 0, queued.stderr
    task_id = json.loads(queued.stdout)["task_id"]
    server.kill()  # no persistence: the queue, the result and fgrid's record are gone
    time.sleep(1.1)  # the new server's start is measured in whole seconds
    server.start()
    lost = run_fgrid(["status", task_id], env)
    assert lost.returncode == 2
    assert "before the result store restarted without keeping its data" in lost.stderr and "submit it" in lost.stderr
    never = run_fgrid(["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"], env)
    assert never.returncode == 2 and "never submitted" in never.stderr
