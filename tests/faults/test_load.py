"""5,000 real analyses through a private Redis with 2 worker processes: every result present and correct under its one
id; afterwards every key fgrid or Celery wrote expires (nothing grows without bound), the queues are empty, and the
workers' memory stayed bounded (pool processes are recycled after --max-tasks-per-child tasks)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.faults.conftest import (
    count_final,
    expected_for,
    metas,
    mix_kwargs,
    report,
    submit_many,
)
from tests.support.processes import redis_env
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("heavy")]  # thousands of tasks: both cores busy

TASKS = 5000
MAX_TASKS_PER_CHILD = 1000
#: Resident memory a worker process may reach (KiB): the data and its indexes take about 200 MB.
MAX_RSS_KIB = 600 * 1024
#: Keys without a TTL that are kombu's own bookkeeping: a binding set per queue and exchange (re-created by every
#: worker at start-up) and the deadlines of expiring bindings (swept by kombu): a fixed number, never one per task.
KOMBU_PERMANENT = ("_kombu.binding",)


def group_rss(pgid: int) -> dict[int, int]:
    """Resident memory (KiB) of each process in a process group."""
    out = subprocess.run(["ps", "-o", "pid=,rss=", "-g", str(pgid)], capture_output=True, text=True, check=False).stdout
    return {int(pid): int(rss) for pid, rss in (line.split() for line in out.splitlines() if line.strip())}


def test_five_thousand_analyses(data_dir, server, workers, analysis_mix):
    env = redis_env(data_dir, server)
    worker = workers(
        env, "-c", "2", "--max-tasks-per-child", str(MAX_TASKS_PER_CHILD), "--loglevel", "warning", wait_ready=False
    )
    # --loglevel warning hides the " ready." line: wait for the worker's first heartbeat instead.
    redis = server.client()
    wait_for(lambda: list(redis.scan_iter("fgrid:worker:*")), 60, "the worker's heartbeat")

    samples: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            for pid, rss in group_rss(worker.proc.pid).items():
                samples[pid] = max(samples.get(pid, 0), rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    kwargs_list = mix_kwargs(analysis_mix, TASKS)
    started = time.monotonic()
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
    submitted = time.monotonic() - started
    try:
        wait_for(lambda: count_final(env, ids) == TASKS, 240, "all 5,000 tasks", interval=1)
    finally:
        stop.set()
        sampler.join()
    elapsed = time.monotonic() - started

    found = metas(env, ids)
    assert {m["status"] for m in found.values()} == {"SUCCESS"}
    for task_id, kwargs in zip(ids, kwargs_list, strict=False):
        assert found[task_id]["result"] == expected_for(analysis_mix, kwargs), task_id
    # One result per task, and nothing else: the user's view has exactly these 5,000 ids.
    assert len(set(ids)) == TASKS
    assert len(list(redis.scan_iter("celery-task-meta-*", count=1000))) == TASKS

    # Nothing left waiting; every key written has a TTL but kombu's fixed binding sets.
    assert not any(redis.exists(q) for q in ("matchups", "analysis", "ai"))
    wait_for(lambda: not redis.exists("unacked"), 30, "no unacknowledged message left")
    no_ttl: dict[str, str] = {}
    counts: dict[str, int] = {}
    for key in redis.scan_iter(count=1000):
        name = key.decode()
        kind = name.split(":")[0] if ":" in name else name.split("-")[0] if name.startswith("celery-") else name
        counts[kind] = counts.get(kind, 0) + 1
        if redis.ttl(key) == -1 and not name.startswith(KOMBU_PERMANENT):
            no_ttl[name] = redis.type(key).decode()
    assert no_ttl == {}, no_ttl
    permanent = [k.decode() for k in redis.scan_iter("_kombu.binding*")]
    assert len(permanent) < 20, permanent  # per queue and exchange, not per task

    children = {pid: rss for pid, rss in samples.items() if pid != worker.proc.pid}
    main_rss = samples.get(worker.proc.pid, 0)
    assert max(samples.values()) < MAX_RSS_KIB, samples
    # 5,000 tasks over 2 processes recycled every 1,000 tasks: at least 5 processes took turns.
    assert len(children) >= TASKS // MAX_TASKS_PER_CHILD, children
    report(
        "load",
        tasks=TASKS,
        submit_s=round(submitted, 1),
        all_done_s=round(elapsed, 1),
        tasks_per_s=round(TASKS / elapsed),
        pool_processes=len(children),
        max_child_rss_mb=round(max(children.values()) / 1024),
        main_rss_mb=round(main_rss / 1024),
        keys=counts,
        permanent_kombu_keys=sorted(permanent),
    )
    assert Path(worker.log).exists()
