"""The pure parts of operating fgrid: a task's row from its record and stored meta, the dashboard's rates, queue
and worker rows from remote-control replies."""

from __future__ import annotations

import pytest

from fgrid.errors import InputError
from fgrid.service import monitor, operations


def test_a_task_row_joins_the_record_and_the_meta():
    record = {
        "id": "t1",
        "name": "fgrid.analyze_player",
        "queue": "matchups",
        "summary": "player=x",
        "submitted_at": 100.0,
        "started_at": 101.0,
    }
    meta = {"status": "SUCCESS", "date_done": "1970-01-01T00:01:43+00:00", "worker": "w1@h"}
    row = operations.task_row(record, meta, now=110.0)
    assert row["state"] == "SUCCESS" and row["worker"] == "w1@h" and row["queue"] == "matchups"
    assert row["runtime"] == 2.0 and row["latency"] == 3.0 and row["age"] == 10.0 and row["error"] is None


def test_a_failed_task_row_has_a_one_line_error():
    meta = {"status": "FAILURE", "result": {"exc_type": "FgridError", "exc_message": "no game\nat all"}}
    row = operations.task_row({"id": "t1", "submitted_at": 1.0}, meta, now=2.0)
    assert row["error"] == "FgridError: no game at all"


def test_a_pending_task_without_meta():
    row = operations.task_row({"id": "t1", "name": "fgrid.compare_players", "submitted_at": 5.0}, {}, now=6.0)
    assert row["state"] == "PENDING" and row["name"] == "fgrid.compare_players" and row["latency"] is None


@pytest.mark.parametrize("bad", ["nope", "DONE", ""])
def test_an_unknown_state_filter_is_refused(bad):
    with pytest.raises(InputError, match="unknown state"):
        operations.list_tasks(None, state=bad)  # refused before anything is read


def test_dashboard_rates_and_latency():
    rows = [
        {"state": "SUCCESS", "date_done": 95.0, "runtime": 0.5, "latency": 1.0},
        {"state": "SUCCESS", "date_done": 99.0, "runtime": 1.5, "latency": 3.0},
        {"state": "FAILURE", "date_done": 98.0, "runtime": None, "latency": 2.0},
        {"state": "SUCCESS", "date_done": 10.0, "runtime": 9.0, "latency": 9.0},
    ]  # outside the window
    stats = monitor.task_stats(rows, now=100.0, window=60)
    assert stats["succeeded_last_window"] == 2 and stats["failed_last_window"] == 1
    assert stats["median_runtime"] == 1.0 and stats["median_latency"] == 2.0
    assert stats["states"] == {"SUCCESS": 3, "FAILURE": 1} and len(stats["failures"]) == 1
    before = {"time": 0.0, "workers": [{"hostname": "a", "processed": 10}]}
    after = {"time": 2.0, "workers": [{"hostname": "a", "processed": 20}, {"hostname": "b", "processed": 5}]}
    assert monitor.rate(before, after) == 5.0 and monitor.rate(None, after) is None


def test_queue_and_worker_rows_from_remote_control_replies():
    stats = {
        "pool": {"implementation": "celery.concurrency.prefork:TaskPool", "max-concurrency": 2},
        "total": {"fgrid.analyze_player": 7},
        "pid": 42,
    }
    active = [{"id": "t1", "name": "fgrid.analyze_player", "delivery_info": {"routing_key": "matchups"}}]
    worker = monitor.worker_row("w1@h", stats, active, [], [{"name": "matchups"}, {"name": "analysis"}])
    assert worker["pool"] == "prefork" and worker["concurrency"] == 2 and worker["processed"] == 7
    assert worker["queues"] == ["analysis", "matchups"] and worker["by_queue"] == {"matchups": 1}
    depths = {
        "matchups": {"waiting": 3, "reserved": None},
        "analysis": {"waiting": 0, "reserved": 1},
        "ai": {"waiting": 0, "reserved": None},
    }
    rows = {r["queue"]: r for r in monitor.queue_rows(depths, [worker])}
    assert rows["matchups"]["reserved"] == 1 and rows["matchups"]["workers"] == ["w1@h"]
    assert rows["analysis"]["reserved"] == 1 and rows["ai"]["consumers"] == 0
