"""A data read that fails for a while shows RETRY, is retried with backoff and succeeds; one that keeps failing ends in
FAILURE with a one-line reason after its retries, never a loop. A task past its time limit ends in FAILURE saying so,
and the worker goes on with correct results."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.faults.conftest import LAMB_AT_SF, app_of, metas, report, settings_of
from tests.support.processes import redis_env, run_fgrid, run_json
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults

ANALYZE = ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5"]


def new_version(nfl: Path, with_meta: bool) -> Path:
    """Point ``current`` at a new version folder holding the current data files; without ``meta.json`` it is a
    version caught half-copied (as by a copy or an rsync into place). Flipped the way a sync flips it."""
    current = (nfl / "current").resolve()
    target = nfl / "versions" / f"20991231T{uuid.uuid4().int % 10**12:012d}Z"
    target.mkdir()
    for path in current.iterdir():
        if path.is_dir():  # the precomputed analysis indexes
            shutil.copytree(path, target / path.name, copy_function=os.link)
        elif path.name != "meta.json" or with_meta:
            os.link(path, target / path.name)
    link = nfl / ".current.fault.tmp"
    os.symlink(Path("versions") / target.name, link)
    os.replace(link, nfl / "current")
    return target


def finish_copy(version: Path, source: Path) -> None:
    tmp = version / ".meta.json.tmp"
    shutil.copyfile(source / "meta.json", tmp)
    os.replace(tmp, version / "meta.json")


def status_json(env: dict, task_id: str) -> dict:
    return run_json(["status", task_id, "--json"], env)


def retries_logged(log: str, task_id: str) -> int:
    return len(re.findall(rf"Task fgrid\.analyze_player\[{task_id}\] retry: Retry in", log))


def submit_one(env: dict, **limits: float) -> str:
    """Submit one analysis as fgrid's client does (record, then publish), optionally with its own time limits.
    (``fgrid analyze-player`` itself reads the data to check the request, so it refuses while the data is broken;
    a client that does not, such as ``celery call``, still gets the task queued.)"""
    from fgrid.recovery import ledger

    task_id = str(uuid.uuid4())
    ledger.submit(app_of(env), "fgrid.analyze_player", LAMB_AT_SF, task_id, options=limits)
    return task_id


@pytest.fixture
def env(data_dir, server):
    return redis_env(data_dir, server)


@pytest.fixture
def baseline(env, workers) -> dict:
    """A worker, and the analysis it gives on intact data."""
    worker = workers(env, "-c", "1")
    doc = run_json([*ANALYZE, "--wait", "--json", "--timeout", "60"], env)
    assert doc["status"] == "SUCCESS"
    return {"worker": worker, "result": doc["result"]}


def test_transient_read_failure_is_retried_then_succeeds(env, data_dir, baseline):
    from fgrid.service import lifecycle

    nfl = data_dir / "nfl"
    intact = (nfl / "current").resolve()
    half = new_version(nfl, with_meta=False)
    task_id = submit_one(env)
    settings = settings_of(env)
    wait_for(lambda: lifecycle.status(settings, task_id)["status"] == "RETRY", 30, "the task to be retried", 0.02)
    # `fgrid status` shows it (one call: its retries, 1 + 2 + 4 s, are the whole window on a busy machine).
    retry = status_json(env, task_id)
    finish_copy(half, intact)
    assert retry["status"] == "RETRY" and retry["ready"] is False and retry["result"] is None, retry
    took = wait_for(lambda: lifecycle.status(settings, task_id)["ready"], 30, "the retried task to finish")
    doc = status_json(env, task_id)
    assert doc["status"] == "SUCCESS", doc
    assert doc["result"] == baseline["result"]
    retries = retries_logged(baseline["worker"].text(), task_id)
    assert 1 <= retries <= 3
    report("transient read failure", retries=retries, succeeded_after_fix_s=round(took, 1))


@pytest.mark.slow
def test_permanent_read_failure_fails_after_its_retries(env, data_dir, baseline):
    new_version(data_dir / "nfl", with_meta=False)  # never finished
    started = time.monotonic()
    task_id = submit_one(env)
    wait_for(lambda: metas(env, [task_id])[task_id]["status"] == "FAILURE", 40, "the task to fail")
    elapsed = time.monotonic() - started
    doc = status_json(env, task_id)
    assert doc["status"] == "FAILURE" and doc["ready"] and not doc["successful"]
    assert "\n" not in doc["result"] and "NFL data" in doc["result"], doc
    log = baseline["worker"].text()
    assert retries_logged(log, task_id) == 3
    assert elapsed >= 1 + 2 + 4  # backoff: 1, 2 and 4 seconds
    # Not a loop: nothing more happens to it.
    time.sleep(3)
    assert baseline["worker"].text().count(task_id) == log.count(task_id)
    assert status_json(env, task_id)["status"] == "FAILURE"
    human = run_fgrid(["status", task_id], env)
    assert human.returncode == 0 and "FAILURE" in human.stdout
    report("permanent read failure", retries=3, failed_after_s=round(elapsed, 1), reason=doc["result"][:80])


def test_missing_data_fails_at_once(env, data_dir, baseline):
    (data_dir / "nfl" / "current").unlink()
    task_id = submit_one(env)
    wait_for(lambda: metas(env, [task_id])[task_id]["status"] == "FAILURE", 20, "the task to fail")
    doc = status_json(env, task_id)
    assert "no NFL data" in doc["result"] and "\n" not in doc["result"]
    assert retries_logged(baseline["worker"].text(), task_id) == 0


def test_soft_time_limit_fails_the_task_and_the_worker_goes_on(env, data_dir, baseline):
    # A new data version makes the next analysis load and index it (over 100 ms): past a 20 ms limit.
    new_version(data_dir / "nfl", with_meta=True)
    task_id = submit_one(env, soft_time_limit=0.02)
    wait_for(lambda: metas(env, [task_id])[task_id]["status"] == "FAILURE", 30, "the task to hit its limit")
    doc = status_json(env, task_id)
    assert "time limit" in doc["result"].lower(), doc
    assert "\n" not in doc["result"]
    # The worker goes on, with the correct result (nothing half-built was kept from the interrupted task).
    after = run_json([*ANALYZE, "--wait", "--json", "--timeout", "60"], env)
    assert after["status"] == "SUCCESS" and after["result"] == baseline["result"]
    assert baseline["worker"].proc.poll() is None
    report("soft time limit exceeded", reason=doc["result"])
