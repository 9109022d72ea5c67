"""The service layer in-process on the embedded default (files under a temp folder, no server, no worker): submit
records then queues, status tells a waiting task from an unknown id, and health names the component that is down."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from fgrid import config
from fgrid.broker import files, messages
from fgrid.config import Settings
from fgrid.errors import InputError, UnavailableError, UnknownTaskError
from fgrid.recovery.ledger import TaskLedger
from fgrid.service import health, lifecycle


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data")


def test_a_submit_that_finds_every_broker_connection_busy_is_unavailable_and_queues_nothing(settings):
    # kombu's pool raises its own LimitExceeded when no connection comes free: a traceback (a 500 from the API) before.
    from fgrid.app import get_app

    app = get_app(settings)
    held = [app.pool.acquire() for _ in range(app.pool.limit)]
    try:
        with pytest.raises(UnavailableError, match=r"every connection to the broker at .* stayed busy"):
            lifecycle.submit(settings, config.TASK_ANALYZE, {"player": "00-0033040", "opponent": "SF"})
    finally:
        for conn in held:
            conn.release()
    assert files.take_all(settings.broker_dir, config.QUEUE_MATCHUPS) == []


def test_submit_records_then_queues_and_status_says_pending(settings):
    kwargs = {"player": "00-0033040", "opponent": "SF", "season": 2023, "week": 5, "scoring": "ppr"}
    task_id = lifecycle.submit(settings, config.TASK_ANALYZE, kwargs)
    raws = files.take_all(settings.broker_dir, config.QUEUE_MATCHUPS)
    assert [messages.task_id(raw) for raw in raws] == [task_id]
    from fgrid.app import get_app

    record = TaskLedger(get_app(settings)).lookup(task_id)
    assert record["kwargs"] == kwargs and record["queue"] == config.QUEUE_MATCHUPS
    assert lifecycle.status(settings, task_id) == {
        "task_id": task_id,
        "status": "PENDING",
        "ready": False,
        "successful": False,
        "result": None,
        "progress": None,
    }


def test_an_unknown_or_malformed_id_is_refused(settings):
    with pytest.raises(UnknownTaskError, match="never submitted"):
        lifecycle.status(settings, str(uuid.uuid4()))
    with pytest.raises(InputError, match="malformed task id"):
        lifecycle.status(settings, "../../etc/passwd")


def test_a_wait_that_times_out_names_the_status_command(settings):
    task_id = lifecycle.submit(settings, config.TASK_ANALYZE, {"player": "x", "opponent": "SF"})
    with pytest.raises(Exception, match=f"fgrid status {task_id[:8]}"):
        lifecycle.wait(settings, task_id, timeout=0.05)


def test_health_on_the_embedded_default_is_ok_with_no_worker(settings):
    report = health.health(settings)
    assert report["status"] == "ok" and report["broker"]["ok"] and report["result_store"]["ok"]
    assert report["workers"] == {"count": 0, "names": [], "error": None}


def test_health_names_a_result_store_folder_that_cannot_be_written(tmp_path):
    missing = tmp_path / "no" / "such" / "folder"
    settings = Settings.from_env({config.ENV_RESULT_BACKEND: f"file://{missing}"}, data_dir=tmp_path / "data")
    report = health.health(settings)
    assert report["broker"]["ok"] and not report["result_store"]["ok"]
    assert str(missing) in report["result_store"]["error"]


def test_health_names_the_component_that_is_down_not_by_its_wording(tmp_path):
    down = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    broker_down = Settings.from_env(
        {config.ENV_BROKER_URL: down, config.ENV_RESULT_BACKEND: f"file://{tmp_path / 'results'}"}, data_dir=tmp_path
    )
    (tmp_path / "results").mkdir()
    report = health.health(broker_down)
    assert not report["broker"]["ok"] and report["result_store"]["ok"], report
    assert report["workers"]["error"] == "broker unreachable"
    store_down = Settings.from_env({config.ENV_RESULT_BACKEND: down}, data_dir=tmp_path / "d2")
    report = health.health(store_down)
    assert report["broker"]["ok"] and not report["result_store"]["ok"], report
    assert "s3cret" not in str(report)


def test_an_unreachable_broker_is_one_unavailable_error_naming_it(tmp_path):
    settings = Settings.from_env({config.ENV_BROKER_URL: "redis://:s3cret@127.0.0.1:1/0"}, data_dir=tmp_path)
    with pytest.raises(UnavailableError) as caught:
        lifecycle.submit(settings, config.TASK_ANALYZE, {"player": "x", "opponent": "SF"})
    assert caught.value.component == "broker"
    assert "s3cret" not in str(caught.value) and "redis://:****@127.0.0.1:1/0" in str(caught.value)
