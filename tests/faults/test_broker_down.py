"""A broker or result store that is down is reported in seconds, in one line that names it (password masked) and
says what to check: exit 3, no hang, no traceback."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import LAMB
from tests.support.processes import base_env, run_fgrid
from tests.support.servers import free_port
from tests.support.waiting import HANG

pytestmark = pytest.mark.faults

PASSWORD = "broker-pw-7731"
COMMANDS = {
    "analyze-player": ["analyze-player", LAMB, "--opponent", "SF", "--season", "2023", "--week", "5"],
    "compare": ["compare", LAMB, "Tyreek Hill", "--opponents", "SF,NYG", "--season", "2023", "--week", "5"],
    "status": ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"],
}


def check_unavailable(result, elapsed: float, what: str, port: int) -> None:
    assert result.returncode == 3, (result.returncode, result.stderr)
    # A hang check, not a speed goal (tests share a busy machine; alone each of these takes under a second).
    assert elapsed < HANG, f"took {elapsed:.1f} s"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert f"cannot reach the {what} at redis://:****@127.0.0.1:{port}/0" in line
    assert "redis-cli ping" in line
    assert PASSWORD not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", list(COMMANDS))
def test_broker_down_exits_3_in_seconds(data_dir, command):
    port = free_port()  # nothing listens there
    env = base_env(data_dir, CELERY_BROKER_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    started = time.monotonic()
    result = run_fgrid(COMMANDS[command], env, timeout=30)
    check_unavailable(result, time.monotonic() - started, "broker" if command != "status" else "result store", port)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_result_store_down_exits_3_in_seconds(data_dir, server, command):
    port = free_port()
    env = base_env(
        data_dir, CELERY_BROKER_URL=server.url, CELERY_RESULT_BACKEND=f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    )
    started = time.monotonic()
    result = run_fgrid(COMMANDS[command], env, timeout=30)
    check_unavailable(result, time.monotonic() - started, "result store", port)
    # Nothing was queued for a task whose result could not be kept.
    assert server.client().llen("matchups") == 0 and server.client().llen("analysis") == 0


def test_tls_against_a_plain_server_names_tls_in_seconds(data_dir, redis_server):
    # rediss:// against a plain Redis: the handshake never completes. One line that names TLS, exit 3, in seconds.
    url = f"rediss://127.0.0.1:{redis_server.port}/0"
    for args in (COMMANDS["analyze-player"], COMMANDS["status"], ["doctor"]):
        started = time.monotonic()
        result = run_fgrid(args, base_env(data_dir, CELERY_BROKER_URL=url), timeout=60)
        elapsed = time.monotonic() - started
        assert result.returncode == 3, (args, result.stderr)
        assert elapsed < HANG, f"{args[0]} took {elapsed:.1f} s"  # alone: 2-3 s (one 2 s connect timeout)
        assert "TLS" in result.stderr and result.stderr.count("\n") == 1, result.stderr
