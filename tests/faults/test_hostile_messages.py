"""Messages put straight on a queue by someone else (a kombu Producer on the private Redis) run nothing unless they
are JSON for a task fgrid has: a pickle payload is never unpickled, an unknown task name is refused, garbage is
dropped, and the worker goes on with the next real task."""

from __future__ import annotations

import json
import pickle
import uuid
from pathlib import Path

import pytest

from tests.faults.conftest import LAMB
from tests.support.processes import base_env, redis_env, run_fgrid
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults


class CreatesFile:
    """Unpickling this calls ``open(path, "w")``: the file exists if, and only if, a worker unpickled it."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def celery_headers(task: str, task_id: str) -> dict:
    return {
        "lang": "py",
        "task": task,
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "retries": 0,
        "eta": None,
        "expires": None,
        "timelimit": [None, None],
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "attacker",
        "ignore_result": False,
    }


def test_hostile_messages_run_nothing_and_the_worker_goes_on(data_dir, server, workers, tmp_path):
    from kombu import Connection, Exchange, Producer

    env = redis_env(data_dir, server)
    worker = workers(env, "-c", "1")
    marker = tmp_path / "unpickled"
    pickle_id, unknown_id, bad_json_id = (str(uuid.uuid4()) for _ in range(3))
    with Connection(server.url) as conn:
        producer = Producer(conn.channel(), exchange=Exchange("matchups", type="direct"), routing_key="matchups")
        # A pickle body for a real task name: the worker accepts JSON only.
        producer.publish(
            pickle.dumps(((), {"player": CreatesFile(marker)}, {})),
            routing_key="matchups",
            content_type="application/x-python-serialize",
            content_encoding="binary",
            headers=celery_headers("fgrid.analyze_player", pickle_id),
        )
        # JSON for a task that does not exist.
        producer.publish(
            json.dumps([[], {}, {}]),
            routing_key="matchups",
            content_type="application/json",
            content_encoding="utf-8",
            headers=celery_headers("fgrid.does_not_exist", unknown_id),
        )
        # Valid content type, body that is not JSON.
        producer.publish(
            b"{not json",
            routing_key="matchups",
            content_type="application/json",
            content_encoding="utf-8",
            headers=celery_headers("fgrid.analyze_player", bad_json_id),
        )
    # And bytes that are not even a kombu envelope.
    server.client().lpush("matchups", b"\x80\x04garbage")

    wait_for(lambda: server.client().llen("matchups") == 0, 30, "the worker to take every message")
    # The next real task succeeds on the same worker.
    result = run_fgrid(
        [
            "analyze-player",
            LAMB,
            "--opponent",
            "SF",
            "--season",
            "2023",
            "--week",
            "5",
            "--wait",
            "--json",
            "--timeout",
            "60",
        ],
        env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "SUCCESS"
    assert worker.proc.poll() is None

    assert not marker.exists(), "a pickle payload was unpickled"
    log = worker.text()
    assert "Refusing to deserialize untrusted content of type pickle" in log
    assert "fgrid.does_not_exist" in log and "unregistered task" in log.lower()
    # Nothing ran: no result for any of them but the refusal Celery records for the unknown task.
    client = server.client()
    assert not client.exists(f"celery-task-meta-{pickle_id}")
    assert not client.exists(f"celery-task-meta-{bad_json_id}")
    assert "fgrid.analyze_player[" + pickle_id not in log
    # None of them is left for later, nor resurrected by fgrid's recovery (it only replays what fgrid recorded).
    assert client.llen("matchups") == 0 and client.hlen("unacked") == 0
    assert not client.exists(f"fgrid:task:{pickle_id}")


def test_embedded_broker_survives_garbage_and_empty_message_files(data_dir, workers):
    """The file broker's queue folder: a file that is not a message, and an empty one (what a worker sees when it
    takes a message file its sender has created but not yet written)."""
    env = base_env(data_dir)
    worker = workers(env, "-c", "1")
    queue = data_dir / "broker" / "queue"
    (queue / "1_00000000-0000-0000-0000-000000000001.matchups.msg").write_bytes(b"\x80\x04garbage")
    (queue / "2_00000000-0000-0000-0000-000000000002.matchups.msg").write_bytes(b"")
    wait_for(lambda: not list(queue.glob("*.msg")), 30, "the worker to take both files")
    result = run_fgrid(
        [
            "analyze-player",
            LAMB,
            "--opponent",
            "SF",
            "--season",
            "2023",
            "--week",
            "5",
            "--wait",
            "--json",
            "--timeout",
            "60",
        ],
        env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "SUCCESS"
    assert worker.proc.poll() is None
    assert worker.text().count("dropped a queue item that is not a kombu message") == 2
