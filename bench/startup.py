#!/usr/bin/env python3
"""Measure 4, start-up.

* ``fgrid --help`` and ``fgrid status --help`` against ``celery --help``, a one-command Typer app
  (bench/typer_one.py) and ``python -c pass``: median wall time of N runs, the commands interleaved round-robin
  (on a shared machine, a busy moment then slows every command alike; hyperfine runs each command's runs in one
  block). Goals: ``fgrid --help`` <= 0.6 x ``celery --help`` and <= 1.2 x the Typer app.
* worker start: from launching ``fgrid worker -c 2`` to the result of its first analysis (queued before the
  launch, so the data must be loaded), against a bare Celery worker's first no-op. Goal: fgrid <= 1.5 s.

Bytecode caching is on, as for an installed program (the bench drops PYTHONDONTWRITEBYTECODE), and each command
runs a few times untimed first.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from _common import BENCH, PYTHON, Bench, Measure, Row, goal_max, ratio, standalone

GOAL_VS_CELERY = 0.6
GOAL_VS_TYPER = 1.2
GOAL_WORKER_S = 1.5


def _script(name: str) -> list[str]:
    path = Path(PYTHON).parent / name
    return [str(path)] if path.exists() else [PYTHON, "-m", name]


def commands() -> dict[str, list[str]]:
    fgrid = _script("fgrid")
    return {
        "fgrid --help": [*fgrid, "--help"],
        "fgrid status --help": [*fgrid, "status", "--help"],
        "celery --help": [*_script("celery"), "--help"],
        "typer one-command --help": [PYTHON, str(BENCH / "typer_one.py"), "--help"],
        "python -c pass": [PYTHON, "-c", "pass"],
    }


def by_hand(cmds: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for i in range(runs + 3):  # interleaved, so a busy moment slows every command alike
        for name, cmd in cmds.items():
            started = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if i >= 3:
                times[name].append(time.perf_counter() - started)
    return {
        name: {
            "median_ms": statistics.median(t) * 1000,
            "mean_ms": statistics.fmean(t) * 1000,
            "min_ms": min(t) * 1000,
            "runs": len(t),
        }
        for name, t in times.items()
    }


def first_task_seconds(bench: Bench, kind: str) -> dict[str, float]:
    """Queue one task, launch a worker, and time launch -> the task's result (and -> the worker's ready line)."""
    from fgrid import config
    from fgrid.service import lifecycle

    env = bench.redis_env()
    bench.redis.flush()
    if kind == "fgrid":
        settings = bench.settings(env)
        task_id = lifecycle.submit(settings, config.TASK_ANALYZE, bench.combos(1)[0])
        worker = bench.fgrid_worker(env, wait=False)
        info = lifecycle.wait(settings, task_id, timeout=120)
        done = time.perf_counter() - worker.started
        if info["state"] != "SUCCESS":
            raise RuntimeError(f"first analysis ended {info['state']}: {info.get('error')}")
    else:
        from bare_app import make_app

        url = bench.redis.url
        app = make_app(url, url)
        result = app.tasks["bare.noop"].apply_async()
        worker = bench.bare_worker(env, wait=False)
        result.get(timeout=120)
        done = time.perf_counter() - worker.started
        app.close()
    worker.wait_for_log(" ready.")
    ready = worker.logged_at(" ready.")
    worker.stop()
    return {"first_task_s": done, "ready_line_s": ready}


def run(bench: Bench) -> Measure:
    measure = Measure("startup")
    env = bench.base_env()
    cmds = commands()
    runs = bench.n(25, 8)
    figures = by_hand(cmds, env, runs)
    method = "wall time of each run, the commands interleaved round-robin, median"
    med = {name: f["median_ms"] for name, f in figures.items()}
    help_ms = med["fgrid --help"]
    r = ratio(help_ms, med["celery --help"])
    measure.add(
        Row(
            "`fgrid --help` vs `celery --help` (ms)",
            "ms",
            help_ms,
            med["celery --help"],
            "celery --help",
            r,
            f"<= {GOAL_VS_CELERY}× celery",
            goal_max(r, GOAL_VS_CELERY),
        )
    )
    r = ratio(help_ms, med["typer one-command --help"])
    measure.add(
        Row(
            "`fgrid --help` vs one-command Typer app (ms)",
            "ms",
            help_ms,
            med["typer one-command --help"],
            "typer app --help",
            r,
            f"<= {GOAL_VS_TYPER}× typer app",
            goal_max(r, GOAL_VS_TYPER),
        )
    )
    measure.add(
        Row(
            "`fgrid status --help` (ms)",
            "ms",
            med["fgrid status --help"],
            med["typer one-command --help"],
            "typer app --help",
            ratio(med["fgrid status --help"], med["typer one-command --help"]),
        )
    )
    measure.add(Row("`python -c pass` (ms)", "ms", None, med["python -c pass"], "python -c pass", note="(floor)"))

    reps = bench.n(3, 1)
    starts: dict[str, list[dict[str, float]]] = {"bare": [], "fgrid": []}
    for _ in range(reps):
        starts["bare"].append(first_task_seconds(bench, "bare"))
        starts["fgrid"].append(first_task_seconds(bench, "fgrid"))
    first = {k: statistics.median(s["first_task_s"] for s in v) for k, v in starts.items()}
    measure.add(
        Row(
            "worker start -> first task done, data loaded (s)",
            "s",
            first["fgrid"],
            first["bare"],
            "bare worker, no-op",
            ratio(first["fgrid"], first["bare"]),
            f"<= {GOAL_WORKER_S:g} s",
            goal_max(first["fgrid"], GOAL_WORKER_S),
        )
    )
    measure.details = {
        "method": method,
        "runs": runs,
        "commands": {k: " ".join(v) for k, v in cmds.items()},
        "help_ms": figures,
        "worker_start": starts,
    }
    return measure


if __name__ == "__main__":
    standalone("startup", run)
