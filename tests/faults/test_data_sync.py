"""Syncs of the data folder, two at once or killed midway (SIGKILL), never leave a worker reading partial data: the
worker keeps answering, correctly, throughout, and the folder is whole afterwards."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.faults.conftest import (
    FINAL,
    expected_for,
    metas,
    mix_kwargs,
    report,
    submit_many,
)
from tests.support import REPO
from tests.support.processes import FGRID, redis_env, run_fgrid, run_json
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # slow: started first in a parallel run


def test_concurrent_and_killed_syncs_never_show_partial_data(data_dir, server, workers, analysis_mix, shared_nfl):
    env = redis_env(data_dir, server)
    workers(env, "-c", "2")
    kwargs_list = mix_kwargs(analysis_mix, 20)
    stop = threading.Event()
    answered: list[int] = []
    wrong: list[str] = []

    def keep_asking() -> None:
        while not stop.is_set():
            ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
            try:
                wait_for(
                    lambda ids=ids: all(m["status"] in FINAL for m in metas(env, ids).values()),
                    60,
                    "a round",
                    interval=0.05,
                )
            except AssertionError as exc:
                wrong.append(str(exc))
                return
            for task_id, kwargs in zip(ids, kwargs_list, strict=False):
                meta = metas(env, [task_id])[task_id]
                if meta["status"] != "SUCCESS" or meta["result"] != expected_for(analysis_mix, kwargs):
                    wrong.append(f"{task_id}: {meta['status']} {str(meta.get('result'))[:200]}")
            answered.append(len(ids))

    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    sync = [*FGRID, "data", "sync", "--from", str(shared_nfl)]
    try:
        wait_for(lambda: answered, 60, "the first answers")
        concurrent = []
        for _ in range(3):  # two syncs at once: each publishes a whole version, one after the other
            procs = [
                subprocess.Popen(sync, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for _ in range(2)
            ]
            for proc in procs:
                _, err = proc.communicate(timeout=120)  # reads stderr to the end and closes it
                concurrent.append((proc.returncode, err.decode(errors="replace")[-500:]))
        assert [code for code, _ in concurrent] == [0] * 6, concurrent
        versions = data_dir / "nfl" / "versions"
        killed = 0
        half_written: set[str] = set()
        for stage in ("reading", "reading", "writing", "writing", "writing"):
            proc = subprocess.Popen(sync, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if stage == "reading":  # while it imports and parses the source files
                time.sleep(0.3)
            else:  # the moment its new version folder appears, before it is complete and renamed
                known = {p.name for p in versions.glob("*.tmp")}
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    fresh = {p.name for p in versions.glob("*.tmp")} - known
                    if fresh:
                        half_written |= fresh
                        break
                    time.sleep(0.001)
            proc.kill()
            killed += proc.wait() == -9
            assert run_fgrid(["data", "info", "--json"], env).returncode == 0  # the folder is whole
            time.sleep(0.3)
        before = sum(answered)
        wait_for(lambda: sum(answered) > before, 60, "answers after the syncs")
    finally:
        stop.set()
        asker.join(90)
    assert wrong == []
    assert killed >= 3, "most syncs should have been killed before they finished"
    assert half_written, "no sync was killed while writing its version"
    # A last sync publishes a new version and clears what the killed ones left behind.
    last = run_fgrid(sync[len(FGRID) :], env)
    assert last.returncode == 0, last.stderr
    nfl = data_dir / "nfl"
    versions = sorted(p.name for p in (nfl / "versions").iterdir())
    assert len(versions) <= 2 and not any(v.endswith(".tmp") for v in versions), versions
    assert not list(nfl.glob(".current.*.tmp"))
    info = run_json(["data", "info", "--json"], env)
    assert info["version"] == (nfl / "current").resolve().name
    report(
        "data sync faults",
        answered=sum(answered),
        concurrent_syncs=6,
        killed_syncs=killed,
        killed_while_writing=len(half_written),
    )


def test_a_second_sync_says_it_waits_and_for_whom(data_dir, shared_nfl):
    import fcntl
    import os
    import subprocess
    import time

    from tests.support.processes import FGRID, REPO, base_env

    lock = data_dir / "nfl" / ".sync.lock"
    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.seek(0)
        held.truncate()
        held.write(f"{os.getpid()} 2026-01-01T00:00:00+00:00\n")
        held.flush()
        sync = subprocess.Popen(
            [*FGRID, "data", "sync", "--from", str(shared_nfl)],
            env=base_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        deadline = time.monotonic() + 60
        said = ""
        while time.monotonic() < deadline and "waiting for another sync" not in said:
            time.sleep(0.2)
            said = ((data_dir / "nfl").exists() and sync.poll() is None and _peek(sync)) or said
        assert sync.poll() is None, "the second sync did not wait"
        fcntl.flock(held, fcntl.LOCK_UN)
    _out, err = sync.communicate(timeout=120)
    assert sync.returncode == 0, err
    assert f"waiting for another sync of {data_dir / 'nfl'} to finish (pid and start: {os.getpid()} " in said + err


def _peek(proc) -> str:
    """What a running process has written to stderr so far (non-blocking)."""
    import os
    import select

    chunks = []
    while select.select([proc.stderr], [], [], 0)[0]:
        data = os.read(proc.stderr.fileno(), 65536)
        if not data:
            break
        chunks.append(data.decode(errors="replace"))
    _peek.seen = getattr(_peek, "seen", "") + "".join(chunks)
    return _peek.seen
