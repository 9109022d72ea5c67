"""The bench runs: every measure of ``bench/run --quick`` completes and writes its figures (timings not asserted: they
depend on the machine; `bench/run` itself compares them with their goals).

The measures run in a few batches (``bench/run --quick --only ...``), one test each, so that a parallel test run
spreads them over its workers instead of waiting minutes for one long run. The measures are read from bench/run
itself: one added there is run here, in a batch of its own until it is given a place below.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from tests.support import REPO
from tests.support.data import shared_data_dir

BENCH_RUN = REPO / "bench" / "run"
#: Batches of roughly equal length (about half a minute each on two idle cores).
BATCHES = [
    ("startup", "data", "compute"),
    ("scale_out", "throughput"),
    ("rabbitmq", "round_trip", "memory"),
    ("backlog", "api"),
    ("hosts",),
]


def bench_measures() -> list[str]:
    """The names in bench/run's ``MEASURES`` dict, read from its source (importing it would run the bench's set-up)."""
    for node in ast.walk(ast.parse(BENCH_RUN.read_text())):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "MEASURES" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return [key.value for key in node.value.keys if isinstance(key, ast.Constant)]
    raise AssertionError("no MEASURES dict in bench/run")


def batches() -> list[tuple[str, ...]]:
    known = bench_measures()
    planned = [tuple(name for name in batch if name in known) for batch in BATCHES]
    placed = {name for batch in planned for name in batch}
    return [batch for batch in planned if batch] + [(name,) for name in known if name not in placed]


def test_every_measure_is_in_one_batch():
    names = [name for batch in batches() for name in batch]
    assert sorted(names) == sorted(set(bench_measures())) and len(names) == len(set(names))


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("batch", batches(), ids=lambda batch: ",".join(batch))
def test_quick_bench_runs_each_measure_and_writes_its_json(tmp_path, batch):
    out = tmp_path / "bench.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL", "FGRID_DATA_DIR")
    }
    env["FGRID_SHARED_DATA"] = str(shared_data_dir())
    result = subprocess.run(
        [sys.executable, str(BENCH_RUN), "--quick", "--only", ",".join(batch), "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=580,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert set(doc["measures"]) == set(batch)
    for name, measure in doc["measures"].items():
        assert measure["error"] is None, (name, measure["error"])
        assert measure["rows"], name
        for row in measure["rows"]:
            assert set(row) >= {"measure", "unit", "fgrid", "reference", "ratio", "goal", "passed"}, row
    # Every goal-bearing figure that is not explicitly skipped was measured (a number, not a placeholder).
    for name, measure in doc["measures"].items():
        for row in measure["rows"]:
            if row["goal"] and row["fgrid"] is None:
                # Skipped, or a count of failures that is zero (shown as nothing, and met).
                assert row["note"] in ("not available", "skipped (--quick)") or (
                    row["goal"] == "0" and row["passed"] is True
                ), (name, row)
            if row["fgrid"] is not None:
                assert isinstance(row["fgrid"], (int, float)) and row["fgrid"] > 0, (name, row)
    # The table went to stdout, with each goal's verdict.
    assert "fgrid bench (quick)" in result.stdout
    for name, label in (("throughput", "throughput"), ("round_trip", "round trip")):
        if name in batch:
            assert label in result.stdout
