"""The HTTP API under hostile bodies and load, on a real `fgrid serve` and a private redis-server: JSON that Python
parses but cannot encode back (NaN, Infinity, 1e999) is a 422 with no traceback; 1,000 health calls interleaved
with submits from several clients all answer 200; a stranger's health check shows no paths or host names."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.support.processes import redis_env

pytestmark = pytest.mark.faults

ANALYZE = "/api/tasks/analyze-player"
BODY = {"player_id": "CeeDee Lamb", "opponent_id": "SF", "season": 2023, "week": 5}


def test_bodies_json_cannot_encode_are_a_422_and_the_connection_goes_on(data_dir, redis_server, serve):
    server = serve(redis_env(data_dir, redis_server))
    with server.client() as http:  # one keep-alive connection for everything below
        for raw in (
            '{"player_id": "x", "opponent_id": "SF", "season": NaN}',
            '{"player_id": "x", "opponent_id": "SF", "week": Infinity}',
            '{"player_id": "x", "opponent_id": "SF", "week": -Infinity}',
            '{"player_id": "x", "opponent_id": "SF", "week": 1e999}',
            '{"player_id": NaN, "opponent_id": "SF"}',
        ):
            refused = http.post(ANALYZE, content=raw, headers={"content-type": "application/json"})
            assert refused.status_code == 422, refused.text
            assert all("input" not in error for error in refused.json()["detail"])
            queued = http.post(ANALYZE, json=BODY)  # the same connection still serves
            assert queued.status_code == 202, queued.text
    assert "Traceback" not in server.text() and "Exception" not in server.text()


def test_a_thousand_health_calls_interleaved_with_submits_all_answer_200(data_dir, redis_server, serve, start_worker):
    env = redis_env(data_dir, redis_server)
    start_worker(env, "-Q", "matchups", "-c", "1")
    server = serve(env)
    codes: list[int] = []
    lock = threading.Lock()

    def client(calls: int) -> None:
        with server.client() as http:
            for i in range(calls):
                response = http.get("/api/health") if i % 5 else http.post(ANALYZE, json=BODY)
                with lock:
                    codes.append(response.status_code if i % 5 else 200 + (response.status_code != 202))

    threads = [threading.Thread(target=client, args=(250,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    health_calls = sum(250 - 250 // 5 for _ in threads)
    assert len(codes) == 1250 and health_calls == 1000
    assert codes.count(200) == 1250, {code: codes.count(code) for code in set(codes)}
    with server.client() as http:
        report = http.get("/api/health").json()
    assert report["status"] == "ok" and report["workers"]["count"] == 1


def test_a_strangers_health_check_shows_no_paths_or_hosts(data_dir, redis_server, serve, start_worker):
    env = redis_env(data_dir, redis_server, FGRID_API_TOKEN="t0ken-for-the-test")
    start_worker(env, "-Q", "matchups", "-c", "1")
    server = serve(env)
    stranger = httpx.get(server.url + "/api/health", timeout=10).json()
    assert stranger["status"] == "ok" and stranger["workers"] == {"count": 1, "names": [], "error": None}
    assert str(redis_server.port) not in str(stranger) and "@" not in str(stranger)
    owner = httpx.get(
        server.url + "/api/health", headers={"Authorization": "Bearer t0ken-for-the-test"}, timeout=10
    ).json()
    assert str(redis_server.port) in owner["broker"]["url"] and len(owner["workers"]["names"]) == 1
