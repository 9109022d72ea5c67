"""fgrid on RabbitMQ (``CELERY_BROKER_URL=amqp://...``, quorum queues) with a private Redis as the result store, tested
as Redis is: the end-to-end path and the operating commands, a worker's process group SIGKILLed mid-batch, hostile
queue content, a broker restart with messages waiting, and a broker that is down.

Tests that leave the broker running use a private virtual host on the machine's shared RabbitMQ (created and deleted
around the test; a private node when no shared one answers); the test that stops and restarts the broker starts its
own ``rabbitmq-server`` on free ports. Each skips, saying why, only where RabbitMQ cannot be run here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fgrid import config
from tests.faults.conftest import LAMB_AT_SF, count_final, expected_for, metas, mix_kwargs, report, submit_many
from tests.support import REPO
from tests.support.processes import base_env, run_fgrid, run_json
from tests.support.rabbitmq import RabbitServer, SharedVhost, installed, shared_available
from tests.support.relay import Relay
from tests.support.servers import free_port
from tests.support.waiting import HANG, wait_for

ANALYZE = "/api/tasks/analyze-player"
LAMB_AT_SF_BODY = {"player_id": "CeeDee Lamb", "opponent_id": "SF", "season": 2023, "week": 5}


@pytest.fixture(scope="module")
def rabbit_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitServer | None]:
    """The node private virtual hosts are made on: None for the machine's shared RabbitMQ (never stopped here), else
    one private node for the whole module."""
    if shared_available():
        yield None
        return
    if (why := installed()) is not None:
        pytest.skip(why)
    node = RabbitServer(tmp_path_factory.mktemp("rabbitmq")).start()
    yield node
    node.stop()


@pytest.fixture
def amqp_url(rabbit_node: RabbitServer | None) -> Iterator[str]:
    """The URL of a virtual host of this test's own, deleted (with its queues and messages) afterwards."""
    if rabbit_node is None:
        vhost = SharedVhost().create()
        yield vhost.url
        vhost.delete()
        return
    name = f"fgrid-test-{time.monotonic_ns()}"
    rabbit_node.ctl("add_vhost", name)
    rabbit_node.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield rabbit_node.url.rstrip("/") + f"/{name}"
    try:
        rabbit_node.ctl("delete_vhost", name)
    except RuntimeError:
        pass


@pytest.fixture
def rabbit_server(tmp_path: Path) -> Iterator[RabbitServer]:
    """A private rabbitmq-server node on free ports, for a test that stops and restarts it."""
    if (why := installed()) is not None:
        pytest.skip(why)
    node = RabbitServer(tmp_path / "rabbitmq").start()
    yield node
    node.stop()


def amqp_env(data_dir: Path, broker: str, redis_server, **extra: str) -> dict[str, str]:
    return base_env(data_dir, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=redis_server.url, **extra)


def queue_types(amqp_url: str, rabbit_node: RabbitServer | None) -> dict[str, str]:
    vhost = amqp_url.rsplit("/", 1)[1]
    args = ("list_queues", "-p", vhost, "--quiet", "--no-table-headers", "name", "type")
    out = rabbit_node.ctl(*args) if rabbit_node else SharedVhost.ctl(*args)
    return dict(line.split()[:2] for line in out.splitlines() if line.strip())


def test_end_to_end_and_operations_on_rabbitmq(data_dir, amqp_url, rabbit_node, redis_server, workers, tmp_path):
    env = amqp_env(data_dir, amqp_url, redis_server, FLOWER_UNAUTHENTICATED_API="true", TERM="xterm-256color")
    worker = workers(env, "-c", "2", name="rmq")
    # Every fgrid queue is a durable quorum queue.
    types = queue_types(amqp_url, rabbit_node)
    assert {q: types.get(q) for q in config.QUEUES} == dict.fromkeys(config.QUEUES, "quorum")

    done = run_json(
        ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5", "--wait", "--json"],
        env,
    )
    assert done["status"] == "SUCCESS" and done["result"]["player"]["name"] == "CeeDee Lamb"
    ranked = run_json(
        [
            "compare",
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
    assert ranked["status"] == "SUCCESS" and len(ranked["result"]["start"]) == 1

    rows = {row["queue"]: row for row in run_json(["queues", "--json"], env)["queues"]}
    assert set(rows) == set(config.QUEUES) and all(rows[q]["consumers"] == 1 for q in config.QUEUES)
    listed = run_json(["workers", "--json"], env)["workers"]
    assert [w["hostname"].split("@")[0] for w in listed] == ["rmq"]
    doctor = run_json(["doctor", "--json"], env)
    failed = [c["check"] for c in doctor["checks"] if not c["ok"] and c["check"] != "ai model present"]
    assert failed == [], doctor

    # `fgrid top` draws the queues and the worker, and q quits.
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "fgrid", "top", "--interval", "0.5"],
        env=env,
        cwd=str(REPO),
        dimensions=(50, 160),
        encoding="utf-8",
        codec_errors="replace",
        timeout=20,
    )
    try:
        for name in config.QUEUES:
            child.expect(name)
        child.expect("rmq@")
        child.send("q")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        if child.isalive():
            child.terminate(force=True)

    # Flower sees the worker and a finished task.
    port = free_port()
    with open(tmp_path / "flower.log", "wb") as log:
        flower = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fgrid", "flower", f"--port={port}", "--address=127.0.0.1"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        import httpx

        def flower_workers() -> dict:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return {}

        wait_for(lambda: any(n.startswith("rmq@") for n in flower_workers()), 30, "Flower's worker list")
        wait_for(lambda: "enabled by remote" in worker.text(), 30, "Flower turning the worker's events on")
        task_id = run_json(
            ["analyze-player", "CeeDee Lamb", "--opponent", "LAC", "--season", "2023", "--week", "6", "--json"], env
        )["task_id"]

        def flower_state() -> str | None:
            try:
                doc = httpx.get(f"http://127.0.0.1:{port}/api/tasks", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                return None
            return doc.get(task_id, {}).get("state")

        wait_for(lambda: flower_state() == "SUCCESS", 30, "Flower's task list")
    finally:
        flower.terminate()
        try:
            flower.wait(10)
        except subprocess.TimeoutExpired:
            flower.kill()
            flower.wait()
    text = worker.text()
    assert "Traceback" not in text, text[-3000:]


def test_the_api_submits_over_the_connection_it_holds_and_a_broker_gone_since_is_a_503(
    data_dir, amqp_url, redis_server, serve
):
    # The submit's broker check opened an AMQP connection of its own each time (a handshake of several round
    # trips, a connection opened and closed on the broker per request): 2.4 times slower than with the held one.
    # The held connection is checked by the publish: a broker gone since is still a 503, and nothing is recorded.
    address = urlsplit(amqp_url)
    with Relay((address.hostname or "127.0.0.1", address.port or 5672)) as relay:
        relayed = address._replace(netloc=f"{address.username}:{address.password}@127.0.0.1:{relay.port}").geturl()
        env = amqp_env(data_dir, relayed, redis_server)
        server = serve(env)
        with server.client() as http:
            ids = []
            for _ in range(20):
                answer = http.post(ANALYZE, json=LAMB_AT_SF_BODY)
                assert answer.status_code == 202, answer.text
                ids.append(answer.json()["task_id"])
            assert len(set(ids)) == 20
            assert relay.accepted <= 3, f"{relay.accepted} connections to the broker for 20 requests"

            relay.down()
            started = time.monotonic()
            answer = http.post(ANALYZE, json=LAMB_AT_SF_BODY)
            assert answer.status_code == 503, answer.text
            assert answer.json()["detail"].startswith("cannot reach the broker at amqp://"), answer.text
            assert address.password not in answer.text
            assert time.monotonic() - started < HANG

            relay.up()
            answer = http.post(ANALYZE, json=LAMB_AT_SF_BODY)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["task_id"])
        listed = {row["task_id"] for row in run_json(["tasks", "--json", "--limit", "50"], env)["tasks"]}
        assert listed == set(ids), "the request answered 503 left a record behind"


def test_a_refused_login_or_an_unknown_virtual_host_says_which_and_what_to_fix(data_dir, amqp_url, redis_server):
    # A wrong password said "is the server running?", and an unknown virtual host was an unexpected error (exit 1).
    address = urlsplit(amqp_url)
    at = f"{address.hostname}:{address.port or 5672}"
    wrong = address._replace(netloc=f"{address.username}:not-the-password@{at}").geturl()
    missing = address._replace(path="/fgrid-no-such-vhost").geturl()
    for broker, fix in (
        (wrong, "the server refused the user or password: check them in CELERY_BROKER_URL"),
        (missing, "the virtual host 'fgrid-no-such-vhost' does not exist or this user may not use it"),
    ):
        env = amqp_env(data_dir, broker, redis_server)
        for args in (
            ["queues"],
            ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023"],
            ["worker", "-c", "1"],  # at once, not a worker that starts and then stops with a traceback
        ):
            result = run_fgrid(args, env, timeout=60)
            assert result.returncode == 3, result.stderr
            last = result.stderr.strip().splitlines()[-1]
            assert last.startswith("error: cannot reach the broker") and fix in last, result.stderr
            assert "Traceback" not in result.stderr
            assert "not-the-password" not in result.stderr
        doctor = run_fgrid(["doctor", "--json"], env, timeout=60)
        assert doctor.returncode == 3, doctor.stderr
        (broker_check,) = [c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "broker reachable"]
        assert broker_check["fix"].startswith(fix), broker_check


def test_a_queue_declared_otherwise_is_one_line_before_the_worker_starts(data_dir, amqp_url, redis_server):
    # A classic queue of the same name, left by another app on the virtual host: RabbitMQ refuses fgrid's quorum
    # declare, and the worker stopped with a traceback (and `fgrid worker` said exit 0).
    from kombu import Connection, Exchange, Queue

    with Connection(amqp_url) as conn:
        classic = Queue("matchups", Exchange("matchups", type="direct"), routing_key="matchups")
        classic.bind(conn.default_channel).declare()
    vhost = urlsplit(amqp_url).path.lstrip("/")
    env = amqp_env(data_dir, amqp_url, redis_server)
    for args in (["worker", "-c", "1"], ["worker", "--detach", "-Q", "matchups", "-n", "classic@%h"]):
        result = run_fgrid(args, env, timeout=60)
        assert result.returncode == 1, result.stderr
        said = (
            "error: RabbitMQ already has a queue 'matchups' declared otherwise ('x-queue-type' differs from fgrid's): "
            f"once it is unused, delete it (`rabbitmqctl delete_queue matchups -p {vhost}`), or give fgrid a virtual "
            "host of its own"
        )
        assert result.stderr.strip().splitlines() == [said], result.stderr


def test_fgrid_worker_exits_with_its_workers_status_after_an_unrecoverable_error(data_dir, amqp_url, redis_server):
    # Celery's worker_main drops its worker's exit status: `fgrid worker` said 0 after "Unrecoverable error". Here
    # the error is Celery's remote-control exchange declared otherwise (by hand) on the virtual host.
    from kombu import Connection, Exchange

    with Connection(amqp_url) as conn:
        Exchange("celery.pidbox", type="direct", durable=True).bind(conn.default_channel).declare()
    result = run_fgrid(["worker", "-c", "1"], amqp_env(data_dir, amqp_url, redis_server), timeout=60)
    assert "Unrecoverable error: PreconditionFailed" in result.stderr, result.stderr[-2000:]
    assert result.returncode == 1, result.stderr[-2000:]


def test_purge_counts_the_waiting_messages(data_dir, amqp_url, redis_server, workers):
    env = amqp_env(data_dir, amqp_url, redis_server)
    workers(env, "-Q", "matchups", "-c", "1", name="m")  # declares the queues; nobody consumes `ai`
    submit_many(env, config.TASK_AI_PREDICT, [dict(LAMB_AT_SF)] * 3)
    waiting = lambda: {r["queue"]: r["waiting"] for r in run_json(["queues", "--json"], env)["queues"]}  # noqa: E731
    wait_for(lambda: waiting()["ai"] == 3, 10, "three waiting ai tasks")
    purged = run_fgrid(["purge", "ai", "--yes"], env)
    assert purged.returncode == 0, purged.stderr
    assert "3" in purged.stdout + purged.stderr
    assert waiting()["ai"] == 0


def test_worker_process_group_killed_mid_batch_loses_nothing(data_dir, amqp_url, redis_server, workers, analysis_mix):
    env = amqp_env(data_dir, amqp_url, redis_server)
    first = workers(env, "-c", "2", name="doomed")
    kwargs = mix_kwargs(analysis_mix, 600)
    ids = submit_many(env, config.TASK_ANALYZE, kwargs)
    wait_for(lambda: count_final(env, ids) >= 100, 60, "100 analyses done")
    first.kill()  # SIGKILL to the whole process group, mid-batch
    killed_at = time.monotonic()
    done_at_kill = count_final(env, ids)
    workers(env, "-c", "2", name="heir")
    wait_for(lambda: count_final(env, ids) == len(ids), 90, "every analysis done after the kill")
    after = time.monotonic() - killed_at
    found = metas(env, ids)
    assert all(found[i]["status"] == "SUCCESS" for i in ids)
    assert all(found[i]["result"] == expected_for(analysis_mix, kw) for i, kw in zip(ids, kwargs, strict=True))
    report("rabbitmq worker killed", tasks=len(ids), done_at_kill=done_at_kill, all_done_after_kill_s=round(after, 1))


def test_hostile_messages_are_dropped_and_the_worker_goes_on(data_dir, amqp_url, redis_server, workers):
    from kombu import Connection, Exchange

    env = amqp_env(data_dir, amqp_url, redis_server)
    worker = workers(env, "-Q", "matchups", "-c", "1", name="h")
    good_headers = {"task": config.TASK_ANALYZE, "id": "hostile-1", "lang": "py"}
    hostile = [
        (b"\xff\xfe not json at all", "application/json", {}),
        (b"[1, 2", "application/json", good_headers),
        (b'"just a string"', "application/json", good_headers),
        (b"cos\nsystem\n(S'true'\ntR.", "application/x-python-serialize", good_headers),  # pickle: never loaded
        (json.dumps([[], {}, {}]).encode(), "application/json", {"task": 42, "id": "hostile-2"}),
        (json.dumps([[], {}, {}]).encode(), "application/json", {"task": "not.an.fgrid.task", "id": "hostile-3"}),
        (json.dumps({"args": 1}).encode(), "application/json", {**good_headers, "id": "hostile-4"}),
        (
            json.dumps([[], {"player": "x" * 10_000}, {}]).encode(),
            "application/json",
            {**good_headers, "id": "hostile-5", "retries": "many", "timelimit": "soon"},
        ),
    ]
    with Connection(amqp_url) as conn:
        producer = conn.Producer()
        for body, content_type, headers in hostile:
            producer.publish(
                body,
                exchange=Exchange("matchups", type="direct"),
                routing_key="matchups",
                content_type=content_type,
                content_encoding="utf-8",
                headers=headers,
                declare=[],
                delivery_mode=2,
            )
    done = run_json(
        ["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5", "--wait", "--json"],
        env,
        timeout=60,
    )
    assert done["status"] == "SUCCESS"
    assert worker.proc.poll() is None
    wait_for(lambda: run_json(["queues", "--json"], env)["queues"][0]["waiting"] == 0, 10, "an empty queue")


def test_broker_restart_keeps_waiting_messages_and_a_down_broker_exits_3(
    data_dir, rabbit_server, redis_server, workers, analysis_mix
):
    env = amqp_env(data_dir, rabbit_server.url, redis_server)
    # A worker declares the queues, then goes: the messages wait in the broker through its restart.
    workers(env, "-c", "1", name="declare").stop()
    kwargs = mix_kwargs(analysis_mix, 300)
    ids = submit_many(env, config.TASK_ANALYZE, kwargs)
    rabbit_server.stop()

    # The broker is down: a command says so in one masked line, exit 3, in seconds.
    started = time.monotonic()
    down = run_fgrid(["analyze-player", "CeeDee Lamb", "--opponent", "SF", "--season", "2023", "--week", "5"], env)
    took = time.monotonic() - started
    assert down.returncode == 3, down.stderr
    error = [line for line in down.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "cannot reach the broker at amqp://" in error[0] and "127.0.0.1" in error[0]
    assert "guest:guest" not in down.stderr and "Traceback" not in down.stderr
    assert took < HANG, f"took {took:.1f} s"
    queues_down = run_fgrid(["queues"], env)
    assert queues_down.returncode == 3, queues_down.stderr

    rabbit_server.start()
    back = time.monotonic()
    rows = {r["queue"]: r for r in run_json(["queues", "--json"], env)["queues"]}
    assert rows["matchups"]["waiting"] == len(ids)  # durable queue, persistent messages: all still there
    workers(env, "-c", "2", name="after")
    wait_for(lambda: count_final(env, ids) == len(ids), 90, "every waiting analysis done after the restart")
    found = metas(env, ids)
    assert all(found[i]["result"] == expected_for(analysis_mix, kw) for i, kw in zip(ids, kwargs, strict=True))
    report(
        "rabbitmq restart",
        waiting=len(ids),
        down_exit_s=round(took, 2),
        all_done_after_restart_s=round(time.monotonic() - back, 1),
    )
