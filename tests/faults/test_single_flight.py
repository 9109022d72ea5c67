"""Single flight for training: a second delivery of a training that is running (a broker restart, a worker taken
for dead) waits for the running copy and returns its result instead of training a second model at once; a delivery
after it finished returns the stored result. The task's result and the model registry agree, and the stored progress
never goes backwards. On Redis (a lease key) and on the embedded default (a file lock)."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import app_of
from tests.support.processes import base_env, redis_env, run_json
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("broker", ["redis", "embedded"])
def test_a_training_delivered_twice_runs_once(broker, data_dir, server, workers):
    from fgrid.recovery.ledger import TaskLedger, republish
    from fgrid.service import lifecycle

    env = redis_env(data_dir, server) if broker == "redis" else base_env(data_dir)
    worker = workers(env, "-Q", "ai", "-c", "2")
    task_id = run_json(["train", "--seasons", "2022", "--json"], env)["task_id"]
    app = app_of(env)
    from fgrid.config import Settings

    settings = Settings.from_env(env)
    wait_for(lambda: lifecycle.task_state(settings, task_id)["state"] == "PROGRESS", 60, "the training to start")
    republish(app, task_id, TaskLedger(app).lookup(task_id))  # the same task, delivered again
    seen: list[float] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        info = lifecycle.task_state(settings, task_id)
        if info["state"] == "PROGRESS" and (info["progress"] or {}).get("percent") is not None:
            seen.append(info["progress"]["percent"])
        if info["state"] == "SUCCESS":
            break
        time.sleep(0.05)
    assert info["state"] == "SUCCESS", info
    wait_for(lambda: worker.text().count(f"fgrid.ai.train[{task_id}] succeeded") == 2, 60, "both deliveries to end")
    assert "delivered again while a copy runs" in worker.text()
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    models = run_json(["model", "list", "--json"], env)
    assert len(models) == 1, models  # one model trained, not two
    assert models[0]["latest"] and models[0]["model_id"] == info["result"]["model_id"]
    # A delivery after it finished: the stored result, no third model.
    republish(app, task_id, TaskLedger(app).lookup(task_id))
    wait_for(lambda: worker.text().count(f"fgrid.ai.train[{task_id}] succeeded") == 3, 60, "the late delivery")
    assert len(run_json(["model", "list", "--json"], env)) == 1
