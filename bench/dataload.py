#!/usr/bin/env python3
"""Measure 7, data: ``fgrid data sync --from <shared nflverse files>`` and the first analysis of a fresh process.

* sync: wall time of the CLI command into an empty data folder (the bench's own set-up, timed);
* cold first analysis: a fresh Python process imports the analysis, loads the synced data and runs one analysis
  with nothing built yet (what a worker process does before its first task when nothing warmed it), then a second
  one (warm). Median of a few fresh processes. No goal: these say where a worker's start-up goes.
"""

from __future__ import annotations

import json
import statistics
import subprocess

from _common import PYTHON, REPO, Bench, Measure, Row, standalone

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from fgrid.analysis import data, matchup
t1 = time.perf_counter()
ds = data.load(Path(sys.argv[1]))
t2 = time.perf_counter()
req = json.loads(sys.argv[2])
matchup.analyze(ds, **req)
t3 = time.perf_counter()
matchup.analyze(ds, **req)
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_analysis_s": t3 - t2, "second_analysis_s": t4 - t3}))
"""


def run(bench: Bench) -> Measure:
    measure = Measure("data")
    data_dir = bench.ensure_data()
    measure.add(Row("`fgrid data sync --from shared/data/nfl` (s)", "s", bench.sync_seconds))
    request = bench.combos(1)[0]
    probes = []
    for _ in range(bench.n(3, 1)):
        out = subprocess.run(
            [PYTHON, "-c", PROBE, str(data_dir / "nfl"), json.dumps(request)],
            env=bench.base_env(),
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            timeout=300,
        )
        probes.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(p[k] for p in probes) for k in probes[0]}
    cold = med["import_s"] + med["load_s"] + med["first_analysis_s"]
    measure.add(Row("fresh process: import + load + first analysis (s)", "s", cold))
    measure.add(Row("  import fgrid.analysis (s)", "s", med["import_s"]))
    measure.add(Row("  load the synced data (s)", "s", med["load_s"]))
    measure.add(Row("  first analysis, cold (s)", "s", med["first_analysis_s"]))
    measure.add(Row("  second analysis, warm (ms)", "ms", med["second_analysis_s"] * 1000))
    measure.details = {"sync_s": bench.sync_seconds, "probes": probes, "request": request}
    return measure


if __name__ == "__main__":
    standalone("data", run)
