#!/usr/bin/env python3
"""Measure 1, throughput: tasks a second end to end (submit all, then wait for every result) through Redis.

fgrid: N ``fgrid.analyze_player`` tasks (50 real requests, cycling) submitted with ``fgrid.client.submit`` and
awaited with ``fgrid.client.wait`` (what the CLI and the HTTP API call), run by ``fgrid worker -c 2``.
Reference: N no-op tasks of the bare Celery app (bench/bare_app.py: same broker, result store, serializer, acks and
prefetch settings), run by a bare ``celery worker`` with the same flags; also, for scale, N tasks of 1 ms of Python
work each, and (full runs, diagnostic) fgrid with its task events off and/or its pool processes kept for 100000
tasks instead of 1000. Goal: fgrid >= 0.8 x bare no-op.

Only the side being timed runs: each round of a side starts a fresh worker on a flushed Redis, waits until it is
ready, runs a short warm-up batch (not timed), times N tasks and stops the worker before the next side starts (an
idle worker still polls its broker and, fgrid's, sends heartbeats and runs recovery passes: on 2 cores the timed
side would pay for it). The sides alternate; a full run has three rounds and keeps each side's best one (other
users of the shared cores only ever slow a round down). The CPU each task took (this client plus the
worker's processes) is reported too: on a shared machine it is steadier than tasks/s.
"""

from __future__ import annotations

import json
import time
from typing import Any

from _common import (
    BENCH,
    PYTHON,
    WORKER_FLAGS,
    Bench,
    Measure,
    Proc,
    Row,
    goal_min,
    own_cpu,
    ratio,
    standalone,
    tree_cpu,
)

from fgrid.config import Settings

GOAL = 0.8
WARM_UP = 20


def run_bare(app: Any, name: str, n: int, kwargs: dict | None = None) -> dict[str, float]:
    started = time.perf_counter()
    results = [app.send_task(name, kwargs=kwargs or {}) for _ in range(n)]
    submitted = time.perf_counter()
    failed = 0
    for res in results:
        res.get(timeout=300, propagate=False)
        failed += res.state != "SUCCESS"
    total = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"{failed} of {n} bare {name} tasks failed")
    return {"n": n, "submit_s": submitted - started, "total_s": total, "tasks_per_s": n / total}


def run_fgrid(settings: Any, combos: list[dict[str, Any]], n: int) -> dict[str, float]:
    from fgrid import config
    from fgrid.service import lifecycle

    started = time.perf_counter()
    ids = [lifecycle.submit(settings, config.TASK_ANALYZE, combos[i % len(combos)]) for i in range(n)]
    submitted = time.perf_counter()
    failed = [
        info
        for info in (lifecycle.wait(settings, task_id, timeout=300) for task_id in ids)
        if info["state"] != "SUCCESS"
    ]
    total = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} fgrid analyses failed, e.g. {failed[0].get('error')}")
    return {"n": n, "submit_s": submitted - started, "total_s": total, "tasks_per_s": n / total}


#: Diagnostic variants of fgrid's worker (full runs only), never a figure with a goal: what task events (off by
#: default, as in Celery; Flower or `fgrid worker -E` turn them on), the STARTED state and fgrid's default of
#: replacing a pool process every 1000 tasks cost. Settings, worker flag.
VARIANTS: dict[str, tuple[dict[str, Any], int]] = {
    "task events on": ({"worker_send_task_events": True}, 1000),
    "no extended results": ({"result_extended": False}, 1000),
    "--max-tasks-per-child 100000": ({}, 100_000),
}


class Side:
    """One side of the comparison: its worker, on a Redis database of its own, and how to run N tasks on it."""

    def __init__(
        self, bench: Bench, name: str, db: int, conf: dict[str, Any] | None = None, max_tasks_per_child: int = 1000
    ):
        self.name, self.conf = name, conf
        self.url = f"{bench.ensure_redis().url.rsplit('/', 1)[0]}/{db}"
        self.env = bench.base_env(CELERY_BROKER_URL=self.url, CELERY_RESULT_BACKEND=self.url)
        if name == "bare":
            from bare_app import make_app

            self.app = make_app(self.url, self.url)
            self.worker = bench.bare_worker(self.env, wait=False)
        elif conf is None:
            self.worker = bench.fgrid_worker(self.env, wait=False)
        else:
            # fgrid's app and worker flags with `conf` applied (also to this client, around its rounds).
            flags = [*WORKER_FLAGS[:-1], str(max_tasks_per_child)]  # WORKER_FLAGS ends with that flag's 1000
            self.worker = Proc(
                [PYTHON, "-m", "celery", "-A", "fgrid_variant", "worker", *flags, "-n", f"variant{db}@%h", "-c", "2"],
                dict(self.env, FGRID_BENCH_CONF=json.dumps(conf)),
                bench._log(f"variant-{db}"),
                cwd=BENCH,
            )

    def run(
        self,
        n: int,
        combos: list[dict[str, Any]],
        name: str = "bare.noop",
        kwargs: dict | None = None,
        warm_up: bool = True,
    ) -> dict[str, float]:
        """Run N tasks; also count the CPU they took, in this client and in the worker's processes (steadier than
        wall time on a shared machine: what each task costs, whoever else is running)."""
        if self.name == "bare":
            if warm_up:
                run_bare(self.app, name, WARM_UP, kwargs)
            return self._counted(lambda: run_bare(self.app, name, n, kwargs), n)
        from fgrid.app import get_app

        settings = Settings.from_env(self.env)
        app = get_app(settings)  # built once per side and round (the client's app follows the settings)
        if self.conf:
            app.conf.update(self.conf)
        if warm_up:
            run_fgrid(settings, combos, WARM_UP)
        return self._counted(lambda: run_fgrid(settings, combos, n), n)

    def _counted(self, func: Any, n: int) -> dict[str, float]:
        client0, worker0 = own_cpu(), tree_cpu(self.worker.pid)
        figures = func()
        client_ms = (own_cpu() - client0) / n * 1000
        worker_ms = (tree_cpu(self.worker.pid) - worker0) / n * 1000
        return {**figures, "client_cpu_ms": client_ms, "worker_cpu_ms": worker_ms, "cpu_ms": client_ms + worker_ms}

    def pool_processes(self) -> int:
        """How many pool processes the worker has started so far (more than -c: some were replaced after
        --max-tasks-per-child tasks, and each replacement loads and warms the data again)."""
        import re

        return max((int(n) for n in re.findall(r"ForkPoolWorker-(\d+)", self.worker.text())), default=0)

    def close(self) -> None:
        self.worker.stop()
        if self.name == "bare":
            self.app.close()


def run(bench: Bench) -> Measure:
    measure = Measure("throughput")
    n = bench.n(2000, 300)
    rounds = bench.n(3, 1)
    combos = bench.combos(50)
    # Only the side being timed runs: each round of each side starts a fresh worker on a flushed Redis, waits for
    # it to be ready, warms it up, times N tasks and stops it before the next side starts. An idle worker elsewhere
    # still wakes for its broker polls, heartbeats and recovery passes, which a timed side would pay for on 2 cores.
    specs: list[tuple[str, dict[str, Any] | None, int]] = [("bare", None, 1000), ("fgrid", None, 1000)]
    if not bench.quick:
        specs += [(name, conf, tasks) for name, (conf, tasks) in VARIANTS.items()]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in specs}
    processes: dict[str, list[int]] = {name: [] for name, _, _ in specs}
    for round_ in range(rounds):
        order = specs if round_ % 2 == 0 else [specs[1], specs[0], *specs[2:]]
        for name, conf, tasks in order:
            bench.ensure_redis().flush()
            side = Side(bench, name, 0, conf, tasks)
            try:
                side.worker.wait_for_log(" ready.")
                runs[name].append(side.run(n, combos))
                if name == "bare" and round_ == 0:
                    runs["bare 1 ms"] = [side.run(n, combos, "bare.work", {"ms": 1.0}, warm_up=False)]
            finally:
                processes[name].append(side.pool_processes())
                side.close()
    best = {k: max(r["tasks_per_s"] for r in v) for k, v in runs.items()}
    cpu = {k: min(r["cpu_ms"] for r in v) for k, v in runs.items()}
    measure.details = {
        "tasks": n,
        "rounds": rounds,
        "runs": runs,
        "requests": len(combos),
        "pool_processes_started": processes,
    }
    r = ratio(best["fgrid"], best["bare"])
    measure.add(
        Row(
            f"throughput, {n} analyses, -c 2 (tasks/s)",
            "/s",
            best["fgrid"],
            best["bare"],
            "bare no-op",
            r,
            f">= {GOAL}× bare",
            goal_min(r, GOAL),
        )
    )
    measure.add(
        Row(
            "  CPU per task, client + worker (ms)",
            "ms",
            cpu["fgrid"],
            cpu["bare"],
            "bare no-op",
            ratio(cpu["fgrid"], cpu["bare"]),
        )
    )
    measure.add(Row("  bare Celery, 1 ms tasks (tasks/s)", "/s", None, best["bare 1 ms"], "bare 1 ms", note="(scale)"))
    for name in VARIANTS:
        if name in best:
            measure.add(
                Row(
                    f"  diagnostic, fgrid with {name} (tasks/s)",
                    "/s",
                    best[name],
                    best["bare"],
                    "bare no-op",
                    ratio(best[name], best["bare"]),
                )
            )
            measure.add(
                Row(
                    f"  diagnostic, fgrid with {name}: CPU per task (ms)",
                    "ms",
                    cpu[name],
                    cpu["bare"],
                    "bare no-op",
                    ratio(cpu[name], cpu["bare"]),
                )
            )
    return measure


if __name__ == "__main__":
    standalone("throughput", run)
