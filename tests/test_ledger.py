"""The ledger of submitted tasks, on a private redis-server: every record renews the sets' expiry, the sets are
trimmed every TRIM_EVERY records, and a task's stored state and record are read together."""

from __future__ import annotations

import uuid

import pytest

from fgrid.app import get_app
from fgrid.config import Settings
from fgrid.recovery import ledger
from fgrid.recovery.ledger import INDEX_KEY, OPEN_KEY, TASK_KEY, TaskLedger, task_info
from tests.support.processes import redis_env


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
