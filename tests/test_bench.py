"""The bench runs: ``bench/run --quick`` completes and writes a figure for every measure (timings not asserted:
they depend on the machine; `bench/run` itself compares them with their goals)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import REPO
from tests.support.data import shared_data_dir

MEASURES = {"data", "compute", "startup", "round_trip", "throughput", "memory", "scale_out", "hosts", "rabbitmq",
            "backlog", "api"}


@pytest.mark.e2e
@pytest.mark.xdist_group("heavy")  # the bench keeps both cores busy
@pytest.mark.timeout(600)
def test_quick_bench_runs_every_measure_and_writes_its_json(tmp_path):
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL", "FGRID_DATA_DIR")}
    env["FGRID_SHARED_DATA"] = str(shared_data_dir())
    result = subprocess.run([sys.executable, str(REPO / "bench" / "run"), "--quick", "--json", str(out)], env=env,
                            capture_output=True, text=True, timeout=580, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    assert set(doc["measures"]) == MEASURES
    for name, measure in doc["measures"].items():
        assert measure["error"] is None, (name, measure["error"])
        assert measure["rows"], name
        for row in measure["rows"]:
            assert set(row) >= {"measure", "unit", "fgrid", "reference", "ratio", "goal", "passed"}, row
    # Every goal-bearing figure that is not explicitly skipped was measured (a number, not a placeholder).
    for name, measure in doc["measures"].items():
        for row in measure["rows"]:
            if row["goal"] and row["fgrid"] is None:
                assert row["note"] in ("not available", "skipped (--quick)"), (name, row)
            if row["fgrid"] is not None:
                assert isinstance(row["fgrid"], (int, float)) and row["fgrid"] > 0, (name, row)
    # The table went to stdout, with each goal's verdict.
    assert "throughput" in result.stdout and "round trip" in result.stdout
