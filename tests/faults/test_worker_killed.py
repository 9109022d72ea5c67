"""A worker killed with SIGKILL in the middle of a batch loses no task: every task ends SUCCESS with its correct
result, under its one id, once another worker runs (fgrid.recovery re-queues what the dead worker held or lost).
A warm shutdown (SIGTERM) lets the running tasks finish and gives the rest back."""

from __future__ import annotations

import json
import re
import signal
import time

import pytest

from tests.faults.conftest import (
    FINAL,
    app_of,
    count_final,
    expected_for,
    metas,
    mix_kwargs,
    report,
    submit_many,
)
from tests.support.processes import base_env, redis_env, run_fgrid
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # slow: started first in a parallel run

BATCH = 2000
RECOVERED = re.compile(r"fgrid recovery: restored (\d+) task\(s\) held by dead workers, re-queued (\d+) lost")


def recovered_ids(*logs: str) -> set[str]:
    """Ids that recovery put back (restored or re-queued), from its log lines."""
    lines = [line for text in logs for line in text.splitlines() if "fgrid recovery: restored" in line]
    return {task_id for line in lines for task_id in re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", line.split(": ", 2)[-1])}


def unfinished_on(worker, env: dict, ids: list[str]) -> set[str]:
    """Tasks the (killed) worker had taken and not finished."""
    received = set(re.findall(r"Task fgrid\.analyze_player\[([0-9a-f-]{36})\] received", worker.text()))
    done = {i for i, m in metas(env, list(received & set(ids))).items() if m["status"] in FINAL}
    return received - done


def recovered_counts(*logs: str) -> tuple[int, int]:
    restored = requeued = 0
    for text in logs:
        for match in RECOVERED.finditer(text):
            restored += int(match[1])
            requeued += int(match[2])
    return restored, requeued


def check_all_correct(env: dict, ids: list[str], kwargs_list: list[dict], analysis_mix: dict) -> None:
    found = metas(env, ids)
    states = {}
    for meta in found.values():
        states[meta["status"]] = states.get(meta["status"], 0) + 1
    assert states == {"SUCCESS": len(ids)}, states
    for task_id, kwargs in zip(ids, kwargs_list, strict=False):
        assert found[task_id]["result"] == expected_for(analysis_mix, kwargs), task_id


def holding(log: str) -> bool:
    received = re.findall(r"Task fgrid\.analyze_player\[([0-9a-f-]{36})\] received", log)
    return bool(set(received) - set(succeeded_ids(log)))


def _kill_while_holding(worker, batch: list[str], timeout: float = 120) -> bool:
    """SIGKILL ``worker`` at a look at its log that finds a third of ``batch`` done and a message held; False if
    the whole batch finished without such a look."""
    wanted = set(batch)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = worker.text()
        done = wanted.intersection(succeeded_ids(log))
        if len(done) >= len(wanted) // 3 and holding(log):
            worker.kill()
            return True
        if done == wanted:
            return False
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout:g} s waiting for a third of the batch to be done")


def succeeded_ids(*logs: str) -> list[str]:
    return [m for text in logs for m in re.findall(r"Task fgrid\.analyze_player\[([0-9a-f-]{36})\] succeeded", text)]


@pytest.mark.xdist_group("heavy")  # thousands of tasks: both cores busy
def test_sigkill_mid_batch_loses_nothing(data_dir, server, workers, analysis_mix):
    env = redis_env(data_dir, server)
    w1 = workers(env, "-c", "2")
    kwargs_list = mix_kwargs(analysis_mix, BATCH)
    started = time.monotonic()
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
    submitted = time.monotonic() - started
    redis = server.client()
    # A third of the batch taken (one LLEN: reading the results takes long enough on a busy machine for the worker to
    # finish the whole batch in between).
    wait_for(lambda: redis.llen("matchups") <= BATCH - BATCH // 3, 120, "a third of the batch", interval=0.02)
    w1.kill()
    killed_at = time.monotonic()
    before_kill = {
        "done": len(set(succeeded_ids(w1.text()))),
        "queued": redis.llen("matchups"),
        "unacked": redis.hlen("unacked"),
    }
    unfinished = unfinished_on(w1, env, ids)
    w2 = workers(env, "-c", "2")
    ready = time.monotonic() - killed_at
    wait_for(lambda: count_final(env, ids) == BATCH, 90, "every task of the batch", interval=0.2)
    all_done = time.monotonic() - killed_at
    check_all_correct(env, ids, kwargs_list, analysis_mix)

    # One result per task: no other id was created, and nothing is left in the broker.
    assert len(list(redis.scan_iter("celery-task-meta-*", count=1000))) == BATCH
    assert redis.llen("matchups") == 0
    # The killed worker's entry for a task it finished but could not acknowledge is dropped once it is seen dead.
    wait_for(lambda: redis.hlen("unacked") == 0, 40, "nothing left unacknowledged")
    restored, requeued = recovered_counts(w2.text())
    twice = len(succeeded_ids(w1.text(), w2.text())) - len(set(succeeded_ids(w1.text(), w2.text())))
    report(
        "sigkill mid-batch (redis)",
        tasks=BATCH,
        submit_s=round(submitted, 1),
        **before_kill,
        unfinished_on_killed=len(unfinished),
        restored=restored,
        requeued_lost=requeued,
        ran_twice=twice,
        new_worker_ready_s=round(ready, 1),
        all_done_after_kill_s=round(all_done, 1),
    )
    assert unfinished <= recovered_ids(w2.text()), "recovery should have put back what the killed worker held"
    assert all_done - ready < 60
    # The status a user reads is the one result.
    doc = json.loads(run_fgrid(["status", ids[0], "--json"], env).stdout)
    assert doc["status"] == "SUCCESS" and doc["result"] == expected_for(analysis_mix, kwargs_list[0])


def test_message_taken_by_a_dead_consumer_is_requeued(data_dir, server, workers, analysis_mix):
    """The hole Celery leaves: BRPOP removed the message from the queue, and the worker died before kombu copied
    it into ``unacked``. Reproduced exactly: messages are popped (as BRPOP does) and never acknowledged. One was
    submitted by fgrid's client (replayed from its recorded arguments), one by another client such as
    ``celery call`` (replayed from the message fgrid recorded as it was published)."""
    env = redis_env(data_dir, server)
    kwargs_list = mix_kwargs(analysis_mix, 5)
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list[:4])
    other = app_of(env).send_task("fgrid.analyze_player", kwargs=kwargs_list[4]).id  # recorded by the signal
    ids.append(other)
    redis = server.client()
    lost = {ids[0], other}
    kept = []
    while lost:
        raw = redis.rpop("matchups")  # what BRPOP hands a consumer
        task_id = json.loads(raw)["headers"]["id"]
        if task_id in lost:
            lost.discard(task_id)
        else:
            kept.append(raw)
    for raw in kept:
        redis.rpush("matchups", raw)
    assert redis.llen("matchups") == 3 and not redis.exists("unacked")
    w1 = workers(env, "-c", "1")
    took = wait_for(lambda: count_final(env, ids) == 5, 60, "the lost tasks to be re-queued and run")
    check_all_correct(env, ids, kwargs_list, analysis_mix)
    requeued = re.findall(r"re-queued (\d+) lost task\(s\)[^\n]*", w1.text())
    assert sum(int(n) for n in requeued) == 2
    assert ids[0] in w1.text() and other in w1.text()
    report("lost between BRPOP and unacked (redis)", lost=2, recovered_s=round(took, 1))


def test_embedded_broker_sigkill_loses_nothing(data_dir, workers, analysis_mix):
    """The file broker deletes a message file as a worker takes it: a killed worker's messages exist only in
    fgrid's record, from which recovery publishes them again."""
    env = base_env(data_dir)
    n = 300
    w1 = workers(env, "-c", "2")
    ids: list[str] = []
    kwargs_list: list[dict] = []
    # Kill once a third of a batch is done, while the worker holds a message it has taken (received, not
    # finished), as a kill at random mostly does. Both read from one look at the worker's log: reading the result
    # files takes long enough on a busy machine for the worker to finish the batch in between. A look can miss
    # every such moment of a batch (each lasts a fraction of a millisecond): then another batch is sent.
    for _ in range(5):
        batch_kwargs = mix_kwargs(analysis_mix, n)
        batch = submit_many(env, "fgrid.analyze_player", batch_kwargs)
        ids, kwargs_list = ids + batch, kwargs_list + batch_kwargs
        if _kill_while_holding(w1, batch):
            break
    else:
        raise AssertionError("five batches ran without a look at the log finding the worker holding a message")
    n = len(ids)
    killed_at = time.monotonic()
    lost = unfinished_on(w1, env, ids)  # taken by the killed worker: gone from the folder, in its memory only
    w2 = workers(env, "-c", "2")
    wait_for(lambda: count_final(env, ids) == n, 90, "every task of the batch", interval=0.2)
    all_done = time.monotonic() - killed_at
    check_all_correct(env, ids, kwargs_list, analysis_mix)
    _, requeued = recovered_counts(w2.text())
    report(
        "sigkill mid-batch (embedded)",
        tasks=n,
        lost_with_the_worker=len(lost),
        requeued_lost=requeued,
        all_done_after_kill_s=round(all_done, 1),
    )
    assert lost <= recovered_ids(w2.text())
    assert not list((data_dir / "broker" / "queue").glob("*.msg"))


def test_embedded_message_taken_by_a_dead_consumer_is_requeued(data_dir, workers, analysis_mix):
    env = base_env(data_dir)
    kwargs_list = mix_kwargs(analysis_mix, 3)
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
    files = sorted((data_dir / "broker" / "queue").glob("*.matchups.msg"))
    assert len(files) == 3
    lost_id = json.loads(files[0].read_bytes())["headers"]["id"]
    files[0].unlink()  # what the file transport does as it hands a message over
    w1 = workers(env, "-c", "1")
    wait_for(lambda: count_final(env, ids) == 3, 60, "the lost task to be re-queued and run")
    check_all_correct(env, ids, kwargs_list, analysis_mix)
    assert lost_id in w1.text()


def test_warm_shutdown_finishes_running_tasks_and_gives_back_the_rest(data_dir, server, workers, analysis_mix):
    env = redis_env(data_dir, server)
    w1 = workers(env, "-c", "2")
    kwargs_list = mix_kwargs(analysis_mix, 600)
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
    redis = server.client()
    wait_for(lambda: redis.llen("matchups") <= len(ids) - 100, 60, "some tasks taken", interval=0.02)  # one LLEN
    stopping = time.monotonic()
    w1.proc.send_signal(signal.SIGTERM)  # the main process only: Celery's warm shutdown
    # Usually 2 s; up to 30 s more when a task ends at the very moment of the SIGTERM (billiard's pool process
    # then waits 30 s for the main process to read its result, which it no longer does).
    assert w1.proc.wait(45) == 0
    shutdown_s = time.monotonic() - stopping
    log = w1.text()
    assert "WorkerLostError" not in log and "Traceback" not in log, log[-2000:]
    received = set(re.findall(r"Task fgrid\.analyze_player\[([0-9a-f-]{36})\] received", log))
    done = {i for i, m in metas(env, ids).items() if m["status"] in FINAL}
    # What the stopped worker took either finished there or went back to the queue untouched: at most what two
    # processes hold with a prefetch of one.
    assert done <= received and len(received - done) <= 4
    assert (
        not received
        - done
        - set(
            re.findall(
                rb'"id": "([0-9a-f-]{36})"'.decode(), " ".join(r.decode() for r in redis.lrange("matchups", 0, -1))
            )
        )
    )
    workers(env, "-c", "2")
    wait_for(lambda: count_final(env, ids) == len(ids), 60, "the rest of the batch")
    check_all_correct(env, ids, kwargs_list, analysis_mix)
    wait_for(lambda: redis.hlen("unacked") == 0, 40, "nothing left unacknowledged")
    report(
        "warm shutdown",
        tasks=len(ids),
        done_by_first_worker=len(done),
        received_by_first=len(received),
        shutdown_s=round(shutdown_s, 1),
    )


def test_sigkill_during_comparisons_loses_none(data_dir, server, workers, analysis_mix):
    """Comparisons fan out (a chord of analyses, then a ranking under the comparison's id): a killed worker's
    parts are replayed from the messages fgrid recorded, chord membership included, and every comparison ends
    with the right ranking."""
    from fgrid.analysis import compare

    env = redis_env(data_dir, server)
    w1 = workers(env, "-c", "2")
    keys = mix_kwargs(analysis_mix, 300)
    requests = [keys[i : i + 3] for i in range(0, 300, 3)]
    ids = submit_many(env, "fgrid.compare_players", [{"requests": r, "slots": 1} for r in requests])
    wait_for(lambda: count_final(env, ids) >= 30, 120, "some comparisons done", interval=0.05)
    redis = server.client()
    wait_for(lambda: redis.hlen("unacked") > 0, 30, "the worker to hold messages", interval=0.001)
    w1.kill()
    killed_at = time.monotonic()
    w2 = workers(env, "-c", "2")
    wait_for(lambda: count_final(env, ids) == len(ids), 90, "every comparison", interval=0.5)
    found = metas(env, ids)
    assert {m["status"] for m in found.values()} == {"SUCCESS"}
    for task_id, reqs in zip(ids, requests, strict=False):
        expected = json.loads(json.dumps(compare.rank([expected_for(analysis_mix, r) for r in reqs], slots=1)))
        assert found[task_id]["result"] == expected, task_id
    restored, requeued = recovered_counts(w2.text())
    report(
        "sigkill during comparisons",
        comparisons=len(ids),
        parts=300,
        restored=restored,
        requeued_lost=requeued,
        all_done_after_kill_s=round(time.monotonic() - killed_at, 1),
    )


def publish_chord(app, requests: list[dict]) -> tuple[str, str, list[str]]:
    """Publish a comparison's chord as compare_players builds it (no worker yet: its parts are published and
    recorded); the ids of its ranking, its group and its parts."""
    from celery import chord

    from fgrid import config

    parts = [app.signature(config.TASK_ANALYZE, kwargs=kw) for kw in requests]
    ranking = chord(parts)(app.signature(config.TASK_RANK, kwargs={"slots": 1}))
    ids = ranking.id, ranking.parent.id, [part.id for part in ranking.parent.results]
    # Celery's result objects of a group subscribe to their tasks and unsubscribe when the last one goes, which
    # could be in a later test, its Redis stopped: end the subscriptions now.
    for task_id in (ids[0], *ids[2]):
        app.backend.result_consumer.cancel_for(task_id)
    return ids


def test_a_chord_part_stored_by_a_worker_killed_before_counting_it_still_completes_the_chord(
    data_dir, server, workers, analysis_mix
):
    """The narrowest kill of a comparison: a part's worker stored its result and died before counting it in the
    chord. Recovery counts it (Celery's Redis chord counts a part and publishes the callback once, whoever calls),
    and the ranking runs under the comparison's id."""
    from celery.app.task import Context

    from fgrid import config
    from fgrid.analysis import compare
    from fgrid.broker import queues
    from fgrid.recovery import chords, sweep
    from fgrid.recovery.ledger import TaskLedger

    env = redis_env(data_dir, server)
    app = app_of(env)
    requests = mix_kwargs(analysis_mix, 2)
    ranking_id, group, part_ids = publish_chord(app, requests)
    redis = server.client()
    assert redis.llen("matchups") == 2
    redis.delete("matchups")  # taken by a worker ...
    for index, (part_id, kw) in enumerate(zip(part_ids, requests, strict=True)):
        # ... which ran both, stored their results and was killed before counting them in the chord.
        request = Context(
            id=part_id,
            group=group,
            group_index=index,
            task=config.TASK_ANALYZE,
            args=[],
            kwargs=kw,
            hostname="dead@host",
            retries=0,
            delivery_info={"routing_key": "matchups"},
        )
        app.backend.store_result(part_id, expected_for(analysis_mix, kw), "SUCCESS", request=request)
    assert redis.llen("analysis") == 0  # the ranking is never published: the chord waits for good

    broker, conn = queues.view(app, heartbeat_ttl=sweep.WORKER_TTL, lock_ttl=sweep.LOCK_TTL)
    try:
        later = time.time() + sweep.SUBMIT_GRACE + 1
        done = sweep.run_pass(app, broker, {}, now=later)
        assert sorted(done.counted) == sorted(part_ids)
        assert redis.llen("analysis") == 1  # the ranking, published once
        for part_id in part_ids:  # counting again changes nothing
            chords.count_part(app, part_id, TaskLedger(app).lookup(part_id))
        assert redis.llen("analysis") == 1
        assert not sweep.run_pass(app, broker, {}, now=later + 1).counted
    finally:
        conn.release()

    workers(env, "-c", "1")
    wait_for(lambda: metas(env, [ranking_id])[ranking_id]["status"] == "SUCCESS", 30, "the ranking")
    expected = json.loads(json.dumps(compare.rank([expected_for(analysis_mix, kw) for kw in requests], slots=1)))
    assert metas(env, [ranking_id])[ranking_id]["result"] == expected


def test_embedded_sigkill_during_comparisons_loses_none(data_dir, workers, analysis_mix):
    """On the file result store a comparison's chord completes through Celery's ``celery.chord_unlock`` task, which
    polls the parts every second, waiting in its worker's memory between polls: fgrid records it too, so the
    ranking comes even when the worker holding it is killed."""
    from fgrid.analysis import compare

    env = base_env(data_dir)
    w1 = workers(env, "-c", "2")
    keys = mix_kwargs(analysis_mix, 60)
    requests = [keys[i : i + 3] for i in range(0, 60, 3)]
    ids = submit_many(env, "fgrid.compare_players", [{"requests": r, "slots": 1} for r in requests])
    wait_for(lambda: "celery.chord_unlock" in w1.text(), 60, "a chord waiting to be unlocked", interval=0.05)
    w1.kill()
    killed_at = time.monotonic()
    assert count_final(env, ids) < len(ids)
    w2 = workers(env, "-c", "2")
    wait_for(lambda: count_final(env, ids) == len(ids), 90, "every comparison", interval=0.5)
    found = metas(env, ids)
    assert {m["status"] for m in found.values()} == {"SUCCESS"}
    for task_id, reqs in zip(ids, requests, strict=True):
        expected = json.loads(json.dumps(compare.rank([expected_for(analysis_mix, r) for r in reqs], slots=1)))
        assert found[task_id]["result"] == expected, task_id
    listed = json.loads(run_fgrid(["tasks", "--json", "--limit", "500"], env).stdout)["tasks"]
    assert {row["name"] for row in listed} <= {"fgrid.compare_players", "fgrid.analyze_player", "fgrid.rank_comparison"}
    report(
        "sigkill during comparisons (embedded)",
        comparisons=len(ids),
        all_done_after_kill_s=round(time.monotonic() - killed_at, 1),
        recovered=len(recovered_ids(w2.text())),
    )


def test_a_comparison_killed_before_publishing_its_parts_is_published_again(data_dir, server, workers, analysis_mix):
    """A comparison stores PROGRESS with its parts' ids, then publishes them; killed in between, it is published
    again (its parts were never recorded), and ends with its ranking."""
    from fgrid import config
    from fgrid.analysis import compare
    from fgrid.broker import queues
    from fgrid.recovery import sweep

    env = redis_env(data_dir, server)
    app = app_of(env)
    requests = mix_kwargs(analysis_mix, 3)
    (task_id,) = submit_many(env, config.TASK_COMPARE, [{"requests": requests, "slots": 1}])
    redis = server.client()
    redis.delete("analysis")  # taken by a worker, which stored PROGRESS and was killed before publishing the parts
    app.backend.store_result(
        task_id, {"done": 0, "total": 3, "children": ["never-1", "never-2", "never-3"]}, "PROGRESS"
    )
    broker, conn = queues.view(app, heartbeat_ttl=sweep.WORKER_TTL, lock_ttl=sweep.LOCK_TTL)
    try:
        suspects: dict[str, float] = {}
        later = time.time() + sweep.SUBMIT_GRACE + 1
        assert not sweep.run_pass(app, broker, suspects, now=later).requeued  # first seen nowhere
        assert sweep.run_pass(app, broker, suspects, now=later + sweep.CONFIRM_DELAY).requeued == [task_id]
    finally:
        conn.release()
    workers(env, "-c", "1")
    wait_for(lambda: metas(env, [task_id])[task_id]["status"] == "SUCCESS", 30, "the comparison")
    expected = json.loads(json.dumps(compare.rank([expected_for(analysis_mix, r) for r in requests], slots=1)))
    assert metas(env, [task_id])[task_id]["result"] == expected
