"""The embedded broker with two workers on one folder and the system's temp folder on another filesystem: each
message is claimed by one rename inside the data folder, so none is read twice or dropped as "not a message", and
no message file (task arguments) is left anywhere, let alone readable by other users."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile

import pytest

from tests.faults.conftest import count_final, expected_for, metas, mix_kwargs, submit_many
from tests.support.processes import base_env
from tests.support.waiting import wait_for

pytestmark = pytest.mark.faults


@pytest.fixture
def temp_elsewhere(tmp_path):
    """A temp folder on another filesystem than the data folder (tmpfs), removed afterwards."""
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no tmpfs on another filesystem than the temp folder")
    folder = tempfile.mkdtemp(dir="/dev/shm", prefix="fgrid-test-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_one_folder_temp_elsewhere(data_dir, workers, analysis_mix, temp_elsewhere):
    temp = temp_elsewhere
    env = base_env(data_dir, TMPDIR=temp)
    first, second = workers(env, "-c", "1"), workers(env, "-c", "1")
    kwargs_list = mix_kwargs(analysis_mix, 1500)
    ids = submit_many(env, "fgrid.analyze_player", kwargs_list)
    queue = data_dir / "broker" / "queue"
    modes = []
    for path in list(queue.glob("*.msg"))[:50]:
        try:  # the workers take messages meanwhile
            modes.append(stat.S_IMODE(path.stat().st_mode))
        except FileNotFoundError:
            continue
    assert modes and set(modes) == {0o600}, modes
    assert stat.S_IMODE((data_dir / "broker").stat().st_mode) == 0o700
    wait_for(lambda: count_final(env, ids) == len(ids), 180, "every task to finish")
    found = metas(env, ids)
    assert all(
        found[i]["status"] == "SUCCESS" and found[i]["result"] == expected_for(analysis_mix, k)
        for i, k in zip(ids, kwargs_list, strict=True)
    )
    for worker in (first, second):
        assert "not a kombu message" not in worker.text() and worker.proc.poll() is None
    assert "succeeded" in first.text() and "succeeded" in second.text()  # both took a share
    # kombu's move into the temp folder is gone (billiard keeps its own pymp-* folders there).
    assert [name for name in os.listdir(temp) if not name.startswith("pymp-")] == []
    assert not list((data_dir / "broker" / "inflight").iterdir())
