"""Operating fgrid for real: tasks, queues, workers, cancel, retry, purge and doctor against real workers on a
private redis-server (and on the embedded file broker), each ``--json`` output parsed as one JSON document.

Commands that do not depend on each other run side by side (``run_all``): most of their time is spent waiting
for workers to answer a broadcast, and the whole file must stay quick on a shared two-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fgrid import config
from tests.support import REPO
from tests.support.processes import base_env, redis_env, run_fgrid
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

LAMB = ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5"]
LAMB_ID = "00-0036358"  # CeeDee Lamb's gsis id: the canonical argument the client queues


def parse(result: subprocess.CompletedProcess, code: int = 0) -> dict:
    """stdout as exactly one JSON document (json.loads rejects anything after it), after the expected exit."""
    assert result.returncode == code, f"exit {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def one_json(args: list[str], env: dict, code: int = 0) -> dict:
    return parse(run_fgrid(args, env, timeout=60), code)


def run_all(env: dict, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Run independent fgrid commands at the same time; results in order."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: run_fgrid(args, env, timeout=60), commands))


def wait_state(env: dict, task_id: str, timeout: float = 45) -> dict:
    from fgrid.config import Settings
    from fgrid.service import lifecycle

    settings = Settings.from_env(env)
    deadline = time.monotonic() + timeout
    while True:
        info = lifecycle.task_state(settings, task_id)
        if info["state"] in lifecycle.READY_STATES or time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def rows_of(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {row["task_id"]: row for row in parse(result)["tasks"]}


@pytest.mark.slow
def test_operating_fgrid_on_redis(data_dir, redis_server, start_worker):
    from fgrid.app import get_app
    from fgrid.config import Settings
    from fgrid.service import lifecycle

    env = redis_env(data_dir, redis_server)
    settings = Settings.from_env(env)
    redis = redis_server.client()

    # No worker yet: the task waits, and `fgrid workers` says in one line that nobody answered.
    submitted, workers_json, workers_plain, watch_json = run_all(
        env, [*LAMB, "--json"], ["workers", "--json"], ["workers"], ["queues", "--watch", "--json"]
    )
    task_id = parse(submitted)["task_id"]
    assert parse(workers_json) == {"workers": []}
    assert workers_plain.returncode == 0 and workers_plain.stdout == ""
    assert "no worker answered" in workers_plain.stderr
    assert watch_json.returncode == 2 and "cannot be combined" in watch_json.stderr

    first = start_worker(env, "-c", "1")
    info = wait_state(env, task_id)
    assert info["state"] == "SUCCESS", info
    first.stop()

    # A new worker (this one consumes only matchups), and a new CLI process: the index in the result store still
    # knows the task and the worker that ran it.
    start_worker(env, "-c", "2", "-Q", "matchups")
    row = rows_of(run_fgrid(["tasks", "--json", "--queue", "matchups"], env))[task_id]
    assert row["state"] == "SUCCESS" and row["name"] == config.TASK_ANALYZE and row["queue"] == "matchups"
    # Arguments by name, the same way for every task (the defect: `player=00-0036358`).
    assert row["worker"].startswith("w1@") and row["summary"] == "CeeDee Lamb vs SF, 2023 w5"
    assert LAMB_ID not in row["summary"]
    assert row["latency"] is not None and 0 < row["latency"] < 45 and row["age"] >= 0
    # The real run time (start to finish, recorded with the task's state) next to the wait for a worker.
    assert row["runtime"] is not None and row["wait"] is not None
    assert abs(row["wait"] + row["runtime"] - row["latency"]) < 0.05 and row["runtime"] < row["latency"]

    # A task from another client fails because the data is gone; once it is back, `fgrid retry` re-runs it.
    (data_dir / "nfl").rename(data_dir / "nfl-away")
    kwargs = json.dumps({"player": "CeeDee Lamb", "opponent": "SF", "season": 2023, "week": 5})
    called = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "fgrid", "call", config.TASK_ANALYZE, "--kwargs", kwargs],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert called.returncode == 0, called.stderr
    failed_id = called.stdout.strip()
    failed = wait_state(env, failed_id)
    assert failed["state"] == "FAILURE" and "no NFL data" in failed["error"]
    (data_dir / "nfl-away").rename(data_dir / "nfl")

    failures, retried, again, unknown, bad_state = run_all(
        env,
        ["tasks", "--json", "--state", "failure"],
        ["retry", failed_id, "--json"],
        ["retry", task_id[:8]],
        ["retry", "00000000-0000-0000-0000-000000000000"],
        ["tasks", "--state", "SLEEPING"],
    )
    failures = rows_of(failures)
    assert list(failures) == [failed_id] and "no NFL data" in failures[failed_id]["error"]
    retried = parse(retried)
    assert retried["retry_of"] == failed_id and retried["task_id"] != failed_id
    assert again.returncode == 2 and "only a failed or cancelled task" in again.stderr  # it succeeded
    assert unknown.returncode == 2 and "unknown task id" in unknown.stderr and "Traceback" not in unknown.stderr
    assert bad_state.returncode == 2 and "unknown state" in bad_state.stderr
    done = wait_state(env, retried["task_id"])
    assert done["state"] == "SUCCESS", done
    assert done["result"]["player"]["name"] == "CeeDee Lamb"
    assert done["result"]["game"]["season"] == 2023 and done["result"]["game"]["week"] == 5

    # Tasks for queues nobody consumes wait: three for ai (one more with a priority) and one for analysis.
    waiting = [lifecycle.submit(settings, config.TASK_AI_PREDICT, {"player": f"p{i}"}) for i in range(3)]
    app = get_app(settings)
    app.send_task(config.TASK_AI_PREDICT, kwargs={"player": "urgent"}, priority=9)  # lands in "ai\x06\x169"
    compare_id = lifecycle.submit(settings, config.TASK_COMPARE, {"requests": []})
    assert redis.llen("ai\x06\x169") == 1

    # A consumer holding a message unacknowledged makes it "reserved" (kombu's unacked hash).
    with app.connection_for_read() as conn:
        held = app.amqp.queues["analysis"].bind(conn.default_channel).get(no_ack=False)
        assert held.headers["id"] == compare_id
        queues, workers, workers_plain, tasks_plain, doctor = run_all(
            env,
            ["queues", "--json"],
            ["workers", "--json"],
            ["workers"],
            ["tasks", "--limit", "2"],
            ["doctor", "--json"],
        )
    assert redis.llen("analysis") == 1  # released when the holder closed, back in line

    queues = {q["queue"]: q for q in parse(queues)["queues"]}
    assert list(queues) == list(config.QUEUES)
    assert queues["ai"]["waiting"] == 4 and queues["ai"]["reserved"] == 0 and queues["ai"]["consumers"] == 0
    assert queues["analysis"]["waiting"] == 0 and queues["analysis"]["reserved"] == 1
    assert queues["matchups"]["consumers"] == 1 and queues["matchups"]["workers"][0].startswith("w2@")
    assert queues["matchups"]["waiting"] == 0

    (worker,) = parse(workers)["workers"]
    assert worker["hostname"].startswith("w2@") and worker["queues"] == ["matchups"]
    assert worker["concurrency"] == 2 and worker["pool"] == "prefork"
    assert worker["processed"] == 2 and worker["processed_by_task"] == {config.TASK_ANALYZE: 2}  # failed, retried
    assert worker["uptime"] >= 0 and worker["max_rss_kib"] > 10_000 and worker["active"] == 0
    assert workers_plain.returncode == 0 and "w2@" in workers_plain.stdout and "prefork" in workers_plain.stdout

    assert tasks_plain.returncode == 0, tasks_plain.stderr
    # Short ids (any command takes them), the comparison by the command's name.
    assert compare_id[:8] in tasks_plain.stdout and compare_id not in tasks_plain.stdout
    assert waiting[2][:8] not in tasks_plain.stdout  # newest two only
    assert "PENDING" in tasks_plain.stdout and "compare" in tasks_plain.stdout

    checks = parse(doctor, code=1)
    by_name = {c["check"]: c for c in checks["checks"]}
    assert checks["ok"] is False
    for name in (
        "broker reachable",
        "result store reachable",
        "worker consuming 'matchups'",
        "tasks registered",
        "NFL data present",
    ):
        assert by_name[name]["ok"], by_name[name]
    no_ai = by_name["worker consuming 'ai'"]
    assert not no_ai["ok"] and "fgrid worker -Q ai" in no_ai["fix"]
    assert "2019-2023" in by_name["NFL data present"]["detail"]
    assert not by_name["ai model present"]["ok"] and "fgrid train" in by_name["ai model present"]["fix"]

    cancelled = one_json(["cancel", waiting[0], "--json"], env)
    assert cancelled["removed_from_queue"] == 1 and cancelled["previous_state"] == "PENDING"
    assert cancelled["revoked_by"] and cancelled["revoked_by"][0].startswith("w2@")
    assert wait_state(env, waiting[0])["state"] == "REVOKED"
    assert redis.llen("ai") == 2

    again, refused, wrong = run_all(env, ["cancel", waiting[0]], ["purge", "ai"], ["purge", "nope", "--yes"])
    assert again.returncode == 2 and "already finished (REVOKED)" in again.stderr
    assert refused.returncode == 2 and "--yes" in refused.stderr and redis.llen("ai") == 2
    assert wrong.returncode == 2 and "unknown queue" in wrong.stderr
    purged = one_json(["purge", "ai", "--yes", "--json"], env)
    assert purged == {"queue": "ai", "purged": 3}  # two plain and the priority-9 one
    assert redis.llen("ai") == 0 and redis.llen("ai\x06\x169") == 0
    assert redis.llen("analysis") == 1  # only that queue was purged
    assert wait_state(env, waiting[2], timeout=5)["state"] == "REVOKED"  # a purged task says it was dropped


def test_workers_queues_and_cancel_on_the_embedded_broker(data_dir, start_worker):
    from fgrid.config import Settings
    from fgrid.service import lifecycle

    env = base_env(data_dir)
    start_worker(env, "-c", "1", "-Q", "matchups,analysis")
    waiting = lifecycle.submit(Settings.from_env(env), config.TASK_AI_PREDICT, {"player": "x"})
    assert len(list((data_dir / "broker" / "queue").glob("*.ai.msg"))) == 1

    # Remote control works over the file broker's fanout (polled: on a busy machine a reply can take over 1 s).
    workers, queues = run_all(env, ["workers", "--json", "--timeout", "5"], ["queues", "--json", "--timeout", "5"])
    (row,) = parse(workers)["workers"]
    assert row["hostname"].startswith("w1@") and row["queues"] == ["analysis", "matchups"]
    assert row["concurrency"] == 1
    queues = {q["queue"]: q for q in parse(queues)["queues"]}
    assert queues["ai"]["waiting"] == 1 and queues["ai"]["consumers"] == 0
    assert queues["matchups"]["consumers"] == 1 and queues["analysis"]["consumers"] == 1

    cancelled = one_json(["cancel", waiting, "--json"], env)
    assert cancelled["removed_from_queue"] == 1 and cancelled["revoked_by"][0].startswith("w1@")
    assert not list((data_dir / "broker" / "queue").glob("*.ai.msg"))
    row = rows_of(run_fgrid(["tasks", "--json"], env))[waiting]
    assert row["state"] == "REVOKED" and row["queue"] == "ai" and row["name"] == config.TASK_AI_PREDICT


def test_doctor_without_a_broker_fails_fast_and_names_the_fix(data_dir):
    closed = f"redis://:hunter2pw@127.0.0.1:{free_port()}/0"
    env = base_env(data_dir, CELERY_BROKER_URL=closed, CELERY_RESULT_BACKEND=closed)
    started = time.monotonic()
    result = run_fgrid(["doctor"], env, timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    assert result.returncode == 3
    assert "✘ broker reachable" in result.stdout and "redis-cli ping" in result.stdout
    assert "redis-cli ping" in result.stderr and "Traceback" not in result.stderr
    assert "✔ NFL data present" in result.stdout
    assert "hunter2pw" not in result.stdout + result.stderr and ":****@" in result.stdout

    as_json, queues = run_all(env, ["doctor", "--json"], ["queues"])
    doc = parse(as_json, code=3)
    assert doc["ok"] is False and doc["checks"][0]["check"] == "broker reachable" and doc["checks"][0]["fix"]
    assert queues.returncode == 3 and "cannot reach the broker" in queues.stderr and "Traceback" not in queues.stderr
