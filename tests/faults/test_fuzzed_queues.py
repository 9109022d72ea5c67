"""Hostile queue content, in general: any JSON value and any byte string dropped into a queue (the embedded
broker's folder, a Redis list) while real tasks run. The worker logs one line per item, goes on, and every real
task finishes with the right result. Hypothesis draws the content; each example is a batch against one worker."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.conftest import count_final, expected_for, metas, mix_kwargs, submit_many
from tests.support.processes import base_env, redis_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
#: Envelopes that look like kombu's but break it: no properties, a body that is not base64, odd headers.
ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "body": st.text(max_size=30) | st.integers(),
        "headers": st.none() | st.integers() | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
        "properties": st.none()
        | st.fixed_dictionaries(
            {"delivery_tag": st.text(max_size=8)},
            optional={"body_encoding": st.just("base64"), "delivery_info": st.integers() | st.none()},
        ),
        "content-type": st.sampled_from(["application/json", "text/plain"]),
    },
)
ITEMS = st.lists(
    JSON.map(lambda v: json.dumps(v).encode())
    | ENVELOPES.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=60),
    min_size=20,
    max_size=40,
)
FIXED = [
    b"{}",
    b"[]",
    b'"x"',
    b"null",
    b"",
    b"\x80\x04garbage",
    json.dumps(
        {"body": "not base64!", "properties": {"delivery_tag": "t", "body_encoding": "base64"}, "headers": {}}
    ).encode(),
    json.dumps(
        {
            "body": base64.b64encode(b"[1]").decode(),
            "properties": {"delivery_tag": "t", "body_encoding": "base64"},
            "headers": {"task": "fgrid.analyze_player", "id": "x"},
            "content-type": "application/json",
            "content-encoding": "utf-8",
        }
    ).encode(),
]
EXAMPLES = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_survived(env, worker, ids, analysis_mix, kwargs_list) -> None:
    wait_for(lambda: count_final(env, ids) == len(ids), 90, "every real task to finish")
    found = metas(env, ids)
    for task_id, kwargs in zip(ids, kwargs_list, strict=True):
        assert found[task_id]["status"] == "SUCCESS", found[task_id]
        assert found[task_id]["result"] == expected_for(analysis_mix, kwargs)
    assert worker.proc.poll() is None, worker.text()[-3000:]
    assert "Unrecoverable error" not in worker.text()


def run_batches(env, worker, analysis_mix, push, drained) -> None:
    """Hypothesis draws batches of queue items; each is pushed (``push(index, item)``) among 20 real tasks, then
    every real task must finish right and the queue drain (``drained()``)."""

    @given(items=ITEMS)
    @EXAMPLES
    def batch(items: list[bytes]) -> None:
        kwargs_list = mix_kwargs(analysis_mix, 20)
        ids: list[str] = []
        for i, item in enumerate(FIXED + items):
            push(i, item)
            if i % 3 == 0 and kwargs_list[len(ids) :]:
                ids += submit_many(env, "fgrid.analyze_player", [kwargs_list[len(ids)]])
        ids += submit_many(env, "fgrid.analyze_player", kwargs_list[len(ids) :])
        check_survived(env, worker, ids, analysis_mix, kwargs_list)
        wait_for(drained, 30, "every item taken")

    batch()
    assert "not a kombu message" in worker.text()


def test_fuzzed_redis_queues(data_dir, server, workers, analysis_mix):
    env = redis_env(data_dir, server)
    worker = workers(env, "-c", "1")
    client = server.client()
    run_batches(
        env, worker, analysis_mix, lambda _i, item: client.lpush("matchups", item), lambda: client.llen("matchups") == 0
    )
    assert client.hlen("unacked") == 0  # nothing half-delivered


def test_fuzzed_embedded_queue_folder(data_dir, workers, analysis_mix):
    env = base_env(data_dir)
    worker = workers(env, "-c", "1")
    queue = data_dir / "broker" / "queue"
    run_batches(
        env,
        worker,
        analysis_mix,
        lambda i, item: (queue / f"{i}_{uuid.uuid4()}.matchups.msg").write_bytes(item),
        lambda: not list(queue.glob("*.msg")),
    )
    assert not list((data_dir / "broker" / "inflight").iterdir())  # nothing left behind
