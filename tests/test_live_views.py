"""The live views in a real pseudo-terminal of 80x24, on a private Redis: ``train --wait``, ``status --watch`` and
``top`` show a training task's real progress (as its worker stores it), no header or id is cut; ``--wait`` names the
task first, says when no worker consumes its queue, rides out a Redis restart, and Ctrl-C leaves the task running."""

from __future__ import annotations

import io
import re
import sys
import time

import pytest

from tests.support import REPO
from tests.support.processes import redis_env
from tests.support.servers import RedisServer

pytestmark = pytest.mark.e2e
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def spawn(pexpect, args: list[str], env: dict[str, str]):
    # codec_errors: a redraw cut short may leave half a box-drawing character in the stream.
    child = pexpect.spawn(
        sys.executable,
        ["-m", "fgrid", *args],
        env=env,
        cwd=str(REPO),
        dimensions=(24, 80),
        encoding="utf-8",
        codec_errors="replace",
        timeout=30,
    )
    child.logfile_read = io.StringIO()  # everything it wrote, to read back
    return child


def screen_text(child) -> str:
    """All the child wrote so far, escape sequences removed."""
    return ANSI.sub("", child.logfile_read.getvalue())


def test_live_views_follow_a_trainings_progress_at_80x24(data_dir, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    from fgrid.app import get_app
    from fgrid.config import Settings
    from fgrid.service import lifecycle

    # Append-only, so the task's record survives the restart below.
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    children = []
    try:
        env = redis_env(data_dir, server, TERM="xterm-256color")
        env.pop("COLUMNS")  # the terminal's own size
        settings = Settings.from_env(env)
        backend = get_app(settings).backend

        # No worker at all: the wait names the task first, then says nobody consumes the ai queue, once.
        wait = spawn(pexpect, ["train", "--seasons", "2022", "--wait"], env)
        children.append(wait)
        wait.expect(r"task ([0-9a-f]{8}) queued")
        short = wait.match.group(1)
        task_id = lifecycle.resolve_id(settings, short)
        wait.expect("no worker consumes the 'ai' queue", timeout=20)
        wait.expect(r"fgrid worker -Q ai")

        # What the training task's update_state stores as it runs.
        backend.store_result(task_id, {"stage": "fit", "percent": 77}, "PROGRESS")
        wait.expect("fit")
        wait.expect("77%")

        watch = spawn(pexpect, ["status", short, "--watch"], env)
        children.append(watch)
        watch.expect("77%")
        seen = screen_text(watch)
        assert short in seen and "0/0" not in seen

        top = spawn(pexpect, ["top", "--interval", "0.5"], env)
        children.append(top)
        top.expect("PROGRESS 77%")
        top.expect("q quit")
        seen = screen_text(top)
        for headers in (r"queue\s+waiting\s+reserved\s+consumers\s+depth", r"id\s+task\s+arguments\s+state"):
            assert re.search(headers, seen), seen
        assert short in seen and "2022" in seen and "train" in seen
        top.send("q")
        top.expect(pexpect.EOF, timeout=10)

        # A Redis restart: the wait says it retries, then that it reconnected, and keeps following.
        server.kill()
        wait.expect("retrying for up to 30 s", timeout=20)
        time.sleep(1.0)
        server.start()
        wait.expect("reconnected", timeout=20)
        backend.store_result(task_id, {"stage": "save", "percent": 100}, "PROGRESS")
        backend.store_result(task_id, {"trained": "yes"}, "SUCCESS")
        wait.expect(pexpect.EOF, timeout=20)
        wait.close()
        assert wait.exitstatus == 0, screen_text(wait)
        watch.expect(pexpect.EOF, timeout=20)
        watch.close()
        assert watch.exitstatus == 0

        # Ctrl-C during a wait: the task keeps its place in the queue, and the way back to it is printed.
        again = spawn(pexpect, ["train", "--seasons", "2022", "--wait"], env)
        children.append(again)
        again.expect(r"task ([0-9a-f]{8}) queued")
        other = again.match.group(1)
        time.sleep(0.5)
        again.sendintr()
        again.expect(f"task {other} continues: fgrid status {other}")
        again.expect(pexpect.EOF, timeout=10)
        again.close()
        assert again.exitstatus == 130
        assert lifecycle.task_state(settings, other)["state"] == "PENDING"
    finally:
        for child in children:
            if child.isalive():
                child.terminate(force=True)
        server.stop()
