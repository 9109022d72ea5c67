"""``fgrid top`` in a real pseudo-terminal, with a real worker on a private Redis and tasks flowing."""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from fgrid import config
from tests.support import REPO
from tests.support.processes import redis_env

pytestmark = pytest.mark.e2e


def test_top_shows_queues_and_processed_tasks_and_q_quits(data_dir, redis_server, start_worker):
    pexpect = pytest.importorskip("pexpect")
    from fgrid.config import Settings
    from fgrid.service import lifecycle

    env = redis_env(data_dir, redis_server, TERM="xterm-256color")
    start_worker(env, "-c", "1")
    settings = Settings.from_env(env)
    stop = threading.Event()
    submitted: list[str] = []

    def flow() -> None:
        weeks = iter(range(1, 18))
        while not stop.is_set():
            week = next(weeks, 5)
            submitted.append(
                lifecycle.submit(
                    settings,
                    config.TASK_ANALYZE,
                    {"player": "CeeDee Lamb", "opponent": "SF", "season": 2023, "week": week},
                )
            )
            stop.wait(0.4)

    feeder = threading.Thread(target=flow, daemon=True)
    feeder.start()
    # codec_errors: a redraw cut short at the end of the run may leave half a box-drawing character in the stream.
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
        processed = 0
        deadline = time.monotonic() + 20
        while processed == 0 and time.monotonic() < deadline:
            child.expect(r"processed (\d+)")
            processed = int(child.match.group(1))
        assert processed > 0, "the dashboard never showed a processed task"
        child.expect(re.escape("w1@"))
        child.send("q")
        started = time.monotonic()
        child.expect(pexpect.EOF, timeout=10)
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        feeder.join(5)
        if child.isalive():
            child.terminate(force=True)
        child.close()
    assert child.exitstatus == 0, child.before
    assert submitted

    # Ctrl-C quits cleanly too: exit 0, no traceback.
    child = pexpect.spawn(
        sys.executable,
        ["-m", "fgrid", "top"],
        env=env,
        cwd=str(REPO),
        dimensions=(50, 160),
        encoding="utf-8",
        timeout=20,
    )
    try:
        child.expect("matchups")
        child.sendintr()
        child.expect(pexpect.EOF, timeout=10)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()
    assert child.exitstatus == 0 and "Traceback" not in child.before
