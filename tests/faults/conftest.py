"""Helpers of the fault tests: Redis servers that can be crashed and restarted on the same port, real workers
(``fgrid worker`` or Celery's own ``celery -A fgrid worker`` for flags fgrid does not expose), bulk submission
through fgrid's own record-then-publish path, and the real analyses to check results against."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, RedisServer, Worker

LAMB = "CeeDee Lamb"
#: DAL played at SF in week 5 of 2023.
LAMB_AT_SF = {"player": LAMB, "opponent": "SF", "location": None, "season": 2023, "week": 5, "scoring": "ppr"}
FINAL = frozenset({"SUCCESS", "FAILURE", "REVOKED"})


class Server(RedisServer):
    """A private redis-server that can also be crashed (SIGKILL); ``start()`` after ``stop()`` reuses its port."""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def running(self) -> bool:
        return bool(self.proc and self.proc.poll() is None)


class CeleryWorker(Worker):
    """Celery's own worker on fgrid's app (``celery -A fgrid worker``), for flags ``fgrid worker`` does not have."""

    def start(self, wait_ready: bool = True, timeout: float = 60) -> Worker:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "fgrid", "worker", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=REPO)
        if wait_ready:
            wait_for(lambda: " ready." in self.text() or self.proc.poll() is not None, timeout, "worker ready")
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.text()[-2000:]}")
        return self


@pytest.fixture
def workers(tmp_path: Path) -> Iterator:
    """Start workers: ``workers(env, *args, celery=False)``; every one is stopped (or killed) at the end."""
    started: list[Worker] = []

    def start(env: dict[str, str], *args: str, celery: bool = False, name: str | None = None,
              wait_ready: bool = True) -> Worker:
        name = name or f"w{len(started) + 1}"
        cls = CeleryWorker if celery else Worker
        worker = cls(env, tmp_path / "logs" / f"{name}.log", ["-n", f"{name}@%h", *args])
        started.append(worker)
        return worker.start(wait_ready=wait_ready)

    yield start
    for worker in started:
        worker.stop(timeout=20)


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[Server]:
    """A private redis-server with the append-only file on, so a restart keeps queues and results."""
    server = Server(tmp_path / "redis-aof", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A private redis-server (no persistence) that can be crashed."""
    server = Server(tmp_path / "redis").start()
    yield server
    server.stop()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``predicate`` until true; return the seconds it took (fail the test after ``timeout``)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


def settings_of(env: dict[str, str]):
    from fgrid.config import Settings

    return Settings.from_env(env)


def app_of(env: dict[str, str]):
    from fgrid import client

    return client.app_for(settings_of(env))


def submit_many(env: dict[str, str], task_name: str, kwargs_list: list[dict[str, Any]]) -> list[str]:
    """Submit many tasks the way :func:`fgrid.client.submit` does each (record, then publish by name with the
    recorded header), on one producer and without its per-call broker check, so thousands take seconds."""
    from fgrid.registry import TaskRegistry
    from fgrid.signals import RECORDED_HEADER, task_info

    app = app_of(env)
    registry = TaskRegistry(app)
    queue = app.amqp.router.route({}, task_name)["queue"].name
    ids = []
    with app.producer_or_acquire() as producer:
        for kwargs in kwargs_list:
            task_id = str(uuid.uuid4())
            registry.record(task_id, task_info(task_name, queue, "bulk", kwargs=kwargs))
            app.send_task(task_name, kwargs=kwargs, task_id=task_id, headers={RECORDED_HEADER: True},
                          producer=producer)
            ids.append(task_id)
    return ids


def metas(env: dict[str, str], ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored state (and result) of each task id, read in bulk from the result store."""
    app = app_of(env)
    backend = app.backend
    out: dict[str, dict[str, Any]] = {}
    if type(backend).__name__.startswith("Redis"):
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for task_id, raw in zip(chunk, backend.client.mget([backend.get_key_for_task(i) for i in chunk])):
                out[task_id] = backend.decode(raw) if raw else {"status": "PENDING"}
        return out
    for task_id in ids:
        path = Path(os.fsdecode(backend.path)) / f"celery-task-meta-{task_id}"
        try:
            out[task_id] = backend.decode(path.read_bytes())
        except (FileNotFoundError, ValueError):
            out[task_id] = {"status": "PENDING"}
    return out


def count_final(env: dict[str, str], ids: list[str]) -> int:
    return sum(1 for m in metas(env, ids).values() if m["status"] in FINAL)


def killpg(worker: Worker) -> None:
    """SIGKILL a worker's whole process group (main process and pool children) and reap it."""
    worker.signal(signal.SIGKILL)
    worker.proc.wait()


@pytest.fixture(scope="session")
def analysis_mix(synced_template: Path) -> dict[tuple, dict[str, Any]]:
    """Real requests (top fantasy players of 2023, each against the opponents of his games) with their expected
    results, computed in this process by the same analysis the workers run: {kwargs as a tuple: result}."""
    import json

    import polars as pl

    from fgrid.analysis import data, matchup

    ds = data.load(synced_template / "nfl")
    stats = ds.stats.filter((pl.col("season") == 2023) & (pl.col("season_type") == "REG")
                            & pl.col("position").is_in(["QB", "RB", "WR", "TE"]))
    top = (stats.group_by("player_id").agg(pl.col("fantasy_points_ppr").sum().alias("points"))
           .sort("points", descending=True).head(40))
    games = (stats.join(top.select("player_id"), on="player_id")
             .select("player_id", "player_display_name", "opponent", "week").sort("player_id", "week").rows())
    expected: dict[tuple, dict[str, Any]] = {}
    for player_id, _name, opponent, week in games[:200]:
        kwargs = {"player": player_id, "opponent": opponent, "location": None, "season": 2023, "week": week,
                  "scoring": "ppr"}
        # The task's JSON round trip, so that results compare equal.
        expected[tuple(sorted(kwargs.items()))] = json.loads(json.dumps(matchup.analyze(ds, **kwargs)))
    return expected


def mix_kwargs(analysis_mix: dict[tuple, dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` requests cycling through the mix."""
    keys = list(analysis_mix)
    return [dict(keys[i % len(keys)]) for i in range(n)]


def expected_for(analysis_mix: dict[tuple, dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
    return analysis_mix[tuple(sorted(kwargs.items()))]


def report(name: str, **figures: Any) -> None:
    """Print a test's figures (shown with ``pytest -s``) and append them to $FGRID_FAULT_FIGURES if set."""
    line = f"[faults] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    path = os.environ.get("FGRID_FAULT_FIGURES")
    if path:
        with open(path, "a") as out:
            out.write(line + "\n")
