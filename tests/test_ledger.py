"""The ledger of submitted tasks, on a private redis-server: every record renews the sets' expiry, the sets are
trimmed every TRIM_EVERY records, a task's stored state and record are read together, and a submit records and
queues a task in one command when broker and result store are one Redis database (in two otherwise)."""

from __future__ import annotations

import json
import uuid

import pytest

from fgrid.app import get_app
from fgrid.config import Settings
from fgrid.recovery import ledger
from fgrid.recovery.ledger import INDEX_KEY, OPEN_KEY, TASK_KEY, TaskLedger, task_info
from tests.support.processes import base_env, redis_env


@pytest.fixture()
def app(tmp_path, redis_server):
    return get_app(Settings.from_env(redis_env(tmp_path, redis_server)))


def _record(reg: TaskLedger, task_id: str | None = None) -> str:
    task_id = task_id or str(uuid.uuid4())
    reg.record(task_id, task_info("fgrid.analyze_player", "matchups", "test", kwargs={"player": "x"}))
    return task_id


def test_every_record_renews_the_sets_expiry(app, redis_server, monkeypatch):
    monkeypatch.setattr(ledger, "_records", iter(range(1, 10**6)))  # never a trimming record
    reg = TaskLedger(app)
    redis = redis_server.client()
    first = _record(reg)
    for key in (INDEX_KEY, OPEN_KEY):
        redis.expire(key, 5)  # as if the last renewal were a day ago
    _record(reg)
    for key in (INDEX_KEY, OPEN_KEY):
        assert redis.ttl(key) > 3600, key
    assert 0 < redis.ttl(TASK_KEY + first) <= reg.expires


def test_the_sets_are_trimmed_on_every_trim_every_th_record(app, redis_server, monkeypatch):
    reg = TaskLedger(app)
    redis = redis_server.client()
    stale = str(uuid.uuid4())
    for key in (INDEX_KEY, OPEN_KEY):
        redis.zadd(key, {stale: 1.0})  # submitted in 1970: older than the expiry
    monkeypatch.setattr(ledger, "_records", iter(range(1, ledger.TRIM_EVERY + 1)))
    for _ in range(ledger.TRIM_EVERY - 1):
        _record(reg)
    assert redis.zscore(INDEX_KEY, stale) is not None  # not yet: no trimming record so far
    _record(reg)  # the TRIM_EVERY-th
    assert redis.zscore(INDEX_KEY, stale) is None and redis.zscore(OPEN_KEY, stale) is None
    assert redis.zcard(INDEX_KEY) == ledger.TRIM_EVERY


def test_state_and_record_in_one_read(app):
    reg = TaskLedger(app)
    task_id = _record(reg)
    meta, record = reg.state_and_record(task_id)
    assert meta == {"status": "PENDING", "result": None}
    assert record["name"] == "fgrid.analyze_player" and record["id"] == task_id
    app.backend.store_result(task_id, {"points": 12.5}, "SUCCESS")
    meta, record = reg.state_and_record(task_id)
    assert meta["status"] == "SUCCESS" and meta["result"] == {"points": 12.5}
    assert meta == app.backend.get_task_meta(task_id, cache=False)  # what Celery itself reads
    assert reg.state_and_record(str(uuid.uuid4())) == ({"status": "PENDING", "result": None}, None)


def _commands_sent(server, action) -> list[str]:
    """The commands clients sent to ``server`` while ``action`` ran (MONITOR; not those a script ran)."""
    marker = f"end-{uuid.uuid4()}"
    sent: list[str] = []
    watcher, other = server.client(), server.client()
    other.ping()  # connected before the watch starts
    with watcher.monitor() as monitor:
        action()
        other.echo(marker)
        for event in monitor.listen():
            if marker in event["command"]:
                return sent
            if event.get("client_type") != "lua":
                sent.append(event["command"].split()[0].upper())
    return sent


def _submit(app, kwargs: dict) -> str:
    task_id = ledger.new_task_id()
    ledger.submit(app, "fgrid.analyze_player", kwargs, task_id)
    return task_id


def test_one_database_records_and_queues_in_one_command(app, redis_server):
    redis = redis_server.client()
    _submit(app, {"player": "warm-up"})  # connects, declares the queue and loads the script
    kwargs = {"player": "00-0036358", "opponent": "SF", "season": 2023, "week": 5, "scoring": "ppr"}
    ids: list[str] = []
    assert _commands_sent(redis_server, lambda: ids.append(_submit(app, kwargs))) == ["EVALSHA"]
    task_id = ids[0]
    message = json.loads(redis.lindex("matchups", 0))
    assert message["headers"]["id"] == task_id
    # What Flower and `celery inspect` show: the arguments as Python prints them (not Celery's saferepr walk).
    assert message["headers"]["kwargsrepr"] == repr(kwargs) and message["headers"]["argsrepr"] == "()"
    record = json.loads(redis.get(TASK_KEY + task_id))
    assert record["kwargs"] == kwargs and redis.zscore(OPEN_KEY, task_id) is not None


def test_two_databases_record_then_queue(tmp_path, redis_server):
    import redis as redis_py

    store_url = redis_server.url.rsplit("/", 1)[0] + "/1"
    env = base_env(tmp_path, CELERY_BROKER_URL=redis_server.url, CELERY_RESULT_BACKEND=store_url)
    app = get_app(Settings.from_env(env))
    broker, store = redis_server.client(), redis_py.Redis.from_url(store_url)
    task_id = _submit(app, {"player": "00-0036358"})
    assert json.loads(broker.lindex("matchups", 0))["headers"]["id"] == task_id
    assert json.loads(store.get(TASK_KEY + task_id))["id"] == task_id
    assert broker.get(TASK_KEY + task_id) is None and store.llen("matchups") == 0


def test_long_arguments_are_cut_to_celerys_bound():
    text = ledger.kwargs_repr({"players": ["x" * 40] * 100})
    assert len(text) == ledger.KWARGSREPR_CHARS and text.endswith("...")
