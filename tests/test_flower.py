"""Flower on fgrid's app: ``celery -A fgrid flower`` sees the worker and a finished fgrid task.

fgrid's workers start with task events off (Celery's default; they cost each task three publishes); Flower turns
them on in the workers it watches, as it does for any Celery app.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from fgrid import config
from tests.support import REPO
from tests.support.processes import redis_env, run_fgrid
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def poll(fetch, ok, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fetch()
            if ok(last):
                return last
        except OSError as exc:  # Flower not listening yet
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{what}: gave up after {timeout} s; last answer {str(last)[:500]}")


def test_flower_shows_the_worker_and_a_finished_fgrid_task(data_dir, redis_server, start_worker, tmp_path):
    pytest.importorskip("flower")
    env = redis_env(data_dir, redis_server, FLOWER_UNAUTHENTICATED_API="true")
    worker = start_worker(env, "-c", "1")
    port = free_port()
    with open(tmp_path / "flower.log", "wb") as log:  # the child keeps its own copy of the descriptor
        flower = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fgrid", "flower", f"--port={port}", "--address=127.0.0.1"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        workers = poll(
            lambda: get_json(f"{base}/api/workers?refresh=1"),
            lambda doc: any(name.startswith("w1@") for name in doc),
            30,
            "Flower's worker list",
        )
        name = next(n for n in workers if n.startswith("w1@"))
        assert "matchups" in {q["name"] for q in workers[name].get("active_queues", [])}
        # Flower switches the worker's task events on (every 5 s, by a broadcast the worker logs).
        poll(worker.text, lambda text: "Events of group {task} enabled by remote" in text, 30, "the worker's log")

        queued = run_fgrid(
            ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5", "--json"], env
        )
        assert queued.returncode == 0, queued.stderr
        task_id = json.loads(queued.stdout)["task_id"]
        tasks = poll(
            lambda: get_json(f"{base}/api/tasks"),
            lambda doc: doc.get(task_id, {}).get("state") == "SUCCESS",
            30,
            "Flower's task list",
        )
        task = tasks[task_id]
        assert task["name"] == config.TASK_ANALYZE and task["worker"] == name
        assert "00-0036358" in task["kwargs"] and task["runtime"] > 0  # CeeDee Lamb, by his gsis id
        detail = get_json(f"{base}/api/task/info/{task_id}")
        assert detail["state"] == "SUCCESS" and "'name': 'CeeDee Lamb'" in detail["result"]  # a (cut) repr
    finally:
        flower.terminate()
        try:
            flower.wait(10)
        except subprocess.TimeoutExpired:
            flower.kill()
            flower.wait()
