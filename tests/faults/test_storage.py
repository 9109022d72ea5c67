"""The data folder on a full or read-only disk (a small tmpfs mounted for the test): every command that meets it
says so in one line naming the path and the cause, exits 4, and leaves nothing in a wrong state; reads still work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.faults.conftest import LAMB
from tests.support.processes import base_env, run_fgrid

pytestmark = pytest.mark.faults

ANALYZE = ["analyze-player", LAMB, "--opponent", "SF", "--season", "2023", "--week", "5"]


def mount(target: Path, *options: str) -> None:
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")


@pytest.fixture
def small_disk(tmp_path: Path, synced_template: Path):
    """A data folder on a 16 MiB tmpfs holding the synced data, then filled to the last byte."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "disk"
    folder.mkdir()
    mount(folder, "size=16m", "mode=0700")
    try:
        data = folder / "data"
        shutil.copytree(synced_template, data, symlinks=True)
        assert run_fgrid(["config"], base_env(data)).returncode == 0  # the embedded folders exist
        filler = folder / "filler"
        with open(filler, "wb") as out:
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        yield data, filler, folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_one_line_exit_4_and_leaves_no_ghost(small_disk):
    data, filler, _ = small_disk
    env = base_env(data)
    # Reading still works: an unknown id is "never submitted" (exit 2), not a broken result store.
    read = run_fgrid(["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"], env)
    assert read.returncode == 2 and "never submitted" in read.stderr, read.stderr
    refused = run_fgrid(ANALYZE, env)
    assert refused.returncode == 4, refused.stderr
    assert refused.stderr.count("\n") == 1 and "no space left on the device" in refused.stderr
    assert str(data) in refused.stderr and "Traceback" not in refused.stderr
    sync = run_fgrid(["data", "sync", "--from", os.environ.get("FGRID_SHARED_DATA", "../shared/data/nfl")], env)
    assert sync.returncode == 4 and "no space left on the device" in sync.stderr, sync.stderr
    filler.unlink()  # space again: nothing was left half-done
    assert (
        json.loads(run_fgrid(["tasks", "--json"], env).stdout) == {"tasks": []}
        or json.loads(run_fgrid(["tasks", "--json"], env).stdout).get("tasks") == []
    )
    assert not list((data / "nfl" / "versions").glob("*.tmp"))
    assert run_fgrid(["data", "info"], env).returncode == 0  # the previous version is still the current one
    queued = run_fgrid([*ANALYZE, "--json"], env)
    assert queued.returncode == 0, queued.stderr


def test_a_read_only_disk_is_one_line_exit_4(small_disk):
    data, filler, folder = small_disk
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    refused = run_fgrid(ANALYZE, base_env(data))
    assert refused.returncode == 4, refused.stderr
    assert "read-only" in refused.stderr and refused.stderr.count("\n") == 1
