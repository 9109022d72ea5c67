"""Helpers of the fault tests: Redis servers that can be crashed and restarted on the same port, real workers
(``fgrid worker`` or Celery's own ``celery -A fgrid worker`` for flags fgrid does not expose), bulk submission
through fgrid's own record-then-publish path, and the real analyses to check results against. (The servers and
workers themselves are ``tests.support``'s.) Every test here is marked ``faults`` (by tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import RedisServer

LAMB = "CeeDee Lamb"
#: DAL played at SF in week 5 of 2023.
LAMB_AT_SF = {"player": LAMB, "opponent": "SF", "location": None, "season": 2023, "week": 5, "scoring": "ppr"}
FINAL = frozenset({"SUCCESS", "FAILURE", "REVOKED"})


@pytest.fixture
def workers(start_worker):
    """Start workers: ``workers(env, *args, celery=False, name=None, wait_ready=True)`` (tests/conftest.py's
    ``start_worker``)."""
    return start_worker


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server with the append-only file on, so a restart keeps queues and results."""
    server = RedisServer(tmp_path / "redis-aof", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server (no persistence) that can be crashed."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def settings_of(env: dict[str, str]):
    from fgrid.config import Settings

    return Settings.from_env(env)


def app_of(env: dict[str, str]):
    from fgrid.app import get_app

    return get_app(settings_of(env))


def submit_many(env: dict[str, str], task_name: str, kwargs_list: list[dict[str, Any]]) -> list[str]:
    """Submit many tasks as fgrid does each (:func:`fgrid.recovery.ledger.submit`: record, then publish by name),
    on one producer and without the per-call broker check, so thousands take seconds."""
    from fgrid.recovery import ledger

    app = app_of(env)
    ids = []
    with app.producer_or_acquire() as producer:
        for kwargs in kwargs_list:
            task_id = str(uuid.uuid4())
            ledger.submit(app, task_name, kwargs, task_id, producer=producer)
            ids.append(task_id)
    return ids


def metas(env: dict[str, str], ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored state (and result) of each task id, read in bulk from the result store."""
    app = app_of(env)
    backend = app.backend
    out: dict[str, dict[str, Any]] = {}
    if type(backend).__name__.startswith("Redis"):
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for task_id, raw in zip(
                chunk, backend.client.mget([backend.get_key_for_task(i) for i in chunk]), strict=False
            ):
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


@pytest.fixture(scope="session")
def analysis_mix(synced_template: Path) -> dict[tuple, dict[str, Any]]:
    """Real requests (top fantasy players of 2023, each against the opponents of his games) with their expected
    results, computed in this process by the same analysis the workers run: {kwargs as a tuple: result}."""
    import json

    import polars as pl

    from fgrid.analysis import data, matchup

    ds = data.load(synced_template / "nfl")
    stats = ds.stats.filter(
        (pl.col("season") == 2023)
        & (pl.col("season_type") == "REG")
        & pl.col("position").is_in(["QB", "RB", "WR", "TE"])
    )
    top = (
        stats.group_by("player_id")
        .agg(pl.col("fantasy_points_ppr").sum().alias("points"))
        .sort("points", descending=True)
        .head(40)
    )
    games = (
        stats.join(top.select("player_id"), on="player_id")
        .select("player_id", "player_display_name", "opponent", "week")
        .sort("player_id", "week")
        .rows()
    )
    expected: dict[tuple, dict[str, Any]] = {}
    for player_id, _name, opponent, week in games[:200]:
        kwargs = {
            "player": player_id,
            "opponent": opponent,
            "location": None,
            "season": 2023,
            "week": week,
            "scoring": "ppr",
        }
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
