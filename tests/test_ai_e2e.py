"""The ai queue for real: a worker on `-Q ai` trains a model, serves predict and grade through the CLI, and a
training run killed midway leaves the previous model in use. Stock Celery's `inspect active` sees the training."""

from __future__ import annotations

import signal
import socket
import time

import pytest

from fgrid.app import get_app
from fgrid.config import Settings
from tests.support.processes import redis_env, run_fgrid, run_json

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("heavy")]  # trains models: both cores busy


def wait_until(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def test_ai_queue_trains_predicts_grades_and_survives_a_killed_training(data_dir, redis_server, start_worker):
    env = redis_env(data_dir, redis_server)

    # No model yet: a clear error naming `fgrid train`, exit 2, nothing queued.
    refused = run_fgrid(["predict", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5"], env)
    assert refused.returncode == 2 and "fgrid train" in refused.stderr
    assert redis_server.client().llen("ai") == 0

    worker = start_worker(env, "-Q", "ai", "-c", "1")
    queued = run_json(["train", "--seasons", "2022", "--json"], env)
    active = wait_until(lambda: _active_names(env, f"w1@{socket.gethostname()}"), timeout=60)
    assert active and "fgrid.ai.train" in active  # stock Celery lists the running task
    doc = run_json(["status", queued["task_id"], "--watch", "--json"], env, timeout=600)
    assert doc["status"] == "SUCCESS", doc
    first = doc["result"]["model_id"]

    models = run_json(["model", "list", "--json"], env)
    assert [m["model_id"] for m in models] == [first] and models[0]["latest"]

    predicted = run_json(
        ["predict", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5", "--wait", "--json"], env
    )
    assert predicted["status"] == "SUCCESS", predicted
    result = predicted["result"]
    assert result["player"]["name"] == "CeeDee Lamb" and result["model_id"] == first
    assert result["projection"]["low"] <= result["projection"]["points"] <= result["projection"]["high"]
    assert result["explanation"] and all("points" in item for item in result["explanation"])

    graded = run_json(
        [
            "grade",
            "CeeDee Lamb",
            "Tyreek Hill",
            "--opponents",
            "SF,NYG",
            "--season",
            "2023",
            "--week",
            "5",
            "--wait",
            "--json",
        ],
        env,
    )
    assert graded["status"] == "SUCCESS", graded
    grades = graded["result"]["grades"]
    assert [g["player"]["name"] for g in grades] == ["CeeDee Lamb", "Tyreek Hill"]
    assert all(g["grade"] in ("A+", "A", "B", "C", "D", "F") or g["grade"][0] in "ABCDF" for g in grades)

    # The week's schedule knows the opponent (issue #13): predict and grade without one.
    inferred = run_json(["predict", "CeeDee Lamb", "--season", "2023", "--week", "5", "--wait", "--json"], env)
    assert inferred["status"] == "SUCCESS", inferred
    assert inferred["result"]["opponent"]["code"] == "SF" and inferred["result"]["game"]["week"] == 5
    graded_inferred = run_json(
        ["grade", "CeeDee Lamb", "Tyreek Hill", "--season", "2023", "--week", "5", "--wait", "--json"], env
    )
    assert graded_inferred["status"] == "SUCCESS", graded_inferred
    # A game the schedule cannot answer is refused before anything is queued.
    client = redis_server.client()
    refused = run_fgrid(["predict", "Tyreek Hill", "--opponent", "NYG"], env)
    assert refused.returncode == 2 and "does not play NYG" in refused.stderr, refused.stderr
    assert client.llen("ai") == 0

    # The HTTP API queues the same on `ai` once a model exists (409 before: tests/test_api.py).
    from fastapi.testclient import TestClient

    from fgrid.api import create_api

    with TestClient(create_api(env=env)) as http:
        body = {"player_id": "CeeDee Lamb", "opponent_id": "SF", "season": 2023, "week": 5}
        posted = http.post("/api/tasks/predict", json=body)
        assert posted.status_code == 202, posted.text
        via_api = run_json(["status", posted.json()["task_id"], "--watch", "--json"], env, timeout=120)
        assert via_api["status"] == "SUCCESS" and via_api["result"]["model_id"] == first
        graded_api = http.post(
            "/api/tasks/grade", json={"player_ids": ["CeeDee Lamb"], "opponent_ids": ["SF"], "season": 2023, "week": 5}
        )
        assert graded_api.status_code == 202, graded_api.text
        readme_body = {
            "player_ids": ["CeeDee Lamb", "Tyreek Hill"],
            "opponent_ids": ["SF", "NYG"],
            "season": 2023,
            "week": 5,
        }
        assert http.post("/api/tasks/grade", json=readme_body).status_code == 202
        no_game = http.post("/api/tasks/predict", json={"player_id": "Tyreek Hill", "opponent_id": "NYG"})
        assert no_game.status_code == 400 and "does not play NYG" in no_game.json()["detail"]

    # A second training, killed midway: the first model stays the latest and keeps serving.
    from fgrid.config import Settings
    from fgrid.service import lifecycle

    second = run_json(["train", "--seasons", "2022", "--json"], env)
    settings = Settings.from_env(env)

    def fitting() -> bool:  # past building the features, not yet saving: the models are being fit
        info = lifecycle.task_state(settings, second["task_id"])
        return info["state"] == "PROGRESS" and 5 <= (info["progress"] or {}).get("percent", 0) < 90

    assert wait_until(fitting, 60, interval=0.02), lifecycle.task_state(settings, second["task_id"])
    worker.signal(signal.SIGKILL)
    worker.proc.wait(10)
    models = run_json(["model", "list", "--json"], env)
    assert [m["model_id"] for m in models] == [first]
    # Two processes: the redelivered training takes one, the prediction need not wait behind it on the other.
    start_worker(env, "-Q", "ai", "-c", "2")
    again = run_json(
        [
            "predict",
            "CeeDee Lamb",
            "--opponent",
            "SF",
            "--season",
            "2023",
            "--week",
            "5",
            "--wait",
            "--json",
            "--timeout",
            "120",
        ],
        env,
        timeout=300,
    )
    assert again["status"] == "SUCCESS"
    # The killed training is redelivered (at-least-once) and may finish first: either way a complete model serves.
    assert again["result"]["model_id"] in {m["model_id"] for m in run_json(["model", "list", "--json"], env)}


def _active_names(env: dict, worker: str) -> str | None:
    """The tasks ``worker`` is running, as Celery's own remote control (``celery inspect active``) lists them.

    Asked from this process: a ``celery inspect`` subprocess spends seconds importing Celery and the app on a busy
    machine, long enough to miss a training of ten seconds. Asked of one worker, it returns as soon as that answers.
    """
    replies = get_app(Settings.from_env(env)).control.inspect(destination=[worker], timeout=10).active() or {}
    return " ".join(task["name"] for tasks in replies.values() for task in tasks) or None
