"""What every bench script shares: a private redis-server, the synced data, worker processes, statistics, the
result rows and their table.

Each measure script defines ``run(bench) -> Measure`` and runs alone with ``python bench/<measure>.py [--quick]``;
``bench/run`` runs them all against one Redis and one synced data folder and writes ``bench/results/latest.json``.
fgrid and its reference are always measured in the same run, side by side: figures from another day drift.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
if str(REPO) not in sys.path:  # the helpers the tests use too (tests/support), for bench/run and each measure alone
    sys.path.insert(0, str(REPO))

from tests.support import processes  # noqa: E402 - after the sys.path line above
from tests.support.data import SharedDataMissing, shared_data_dir  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402

RESULTS = BENCH / "results"
PYTHON = sys.executable
#: The worker flags fgrid's worker and the bare Celery worker both get (fgrid's defaults, spelled out).
QUEUES = "matchups,analysis,ai"
WORKER_FLAGS = ["-Q", QUEUES, "--loglevel", "INFO", "--max-tasks-per-child", "1000"]
#: Variables that would change how Python starts (the broker's are dropped by processes.base_env).
_DROPPED_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    """One line of the table: fgrid's figure, the reference's, their ratio, the goal and whether it is met.

    ``passed`` is None for an informative figure (no goal) and for a figure that is not available.
    """

    measure: str
    unit: str
    fgrid: float | None
    reference: float | None = None
    reference_name: str = ""
    ratio: float | None = None
    goal: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class Measure:
    """A measure's rows and the raw figures behind them."""

    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


def goal_max(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def goal_min(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b in (None, 0) else a / b


# ---------------------------------------------------------------------------------------------------------------
# Statistics and timing


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95, min, max and mean of durations in seconds, as milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 0.5),
        "p95": percentile(ms, 0.95),
        "min": min(ms),
        "max": max(ms),
        "mean": statistics.fmean(ms),
    }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return []


# ---------------------------------------------------------------------------------------------------------------
# Processes


class Proc(processes.Process):
    """A subprocess in its own process group, logging to a file, started at once; :func:`stop_all` stops it."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path = REPO):
        super().__init__(argv, env, log, cwd)
        self.spawn()
        _LIVE.append(self)

    def logged_at(self, needle: str) -> float | None:
        """Seconds from the start to the first log line containing ``needle`` (by the line's own timestamp)."""
        import datetime as dt

        for line in self.text().splitlines():
            if needle in line and line.startswith("["):
                stamp = line[1 : line.index(":", 20)]  # "[2026-11-29 15:58:08,127: INFO/..."
                when = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
                return when - self.started_wall
        return None

    def stop(self, timeout: float = 20) -> None:
        super().stop(timeout)
        if self in _LIVE:
            _LIVE.remove(self)


_LIVE: list[Proc] = []


def stop_all() -> None:
    """Stop every process this bench started and has not stopped yet."""
    for proc in list(_LIVE):
        proc.stop(timeout=5)


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = [int(x) for x in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def pss_bytes(pid: int) -> int:
    """Proportional set size of one process (shared pages split between the processes sharing them)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def tree_pss(pid: int) -> dict[str, Any]:
    """PSS of ``pid`` and of each of its descendants, and their total."""
    main = pss_bytes(pid)
    kids = {}
    for kid in children(pid):
        try:
            kids[kid] = pss_bytes(kid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return {"main": main, "children": list(kids.values()), "total": main + sum(kids.values())}


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (those that exited included, once reaped)."""

    def times(p: int, reaped: bool = False) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        used = int(fields[11]) + int(fields[12])
        return (used + (int(fields[13]) + int(fields[14]) if reaped else 0)) / _TICK

    total = times(pid, reaped=True)
    for kid in children(pid):
        try:
            total += times(kid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def own_cpu() -> float:
    """CPU seconds this process has used."""
    return time.process_time()


# ---------------------------------------------------------------------------------------------------------------
# The bench context


def shared_data() -> Path:
    """The real nflverse files: ``$FGRID_SHARED_DATA`` or the repository's ``../shared/data/nfl``."""
    try:
        return shared_data_dir()
    except SharedDataMissing as exc:
        raise SystemExit(f"bench: {exc}") from None


def fgrid_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "fgrid", *args]


class Bench:
    """One bench run: a temp folder, the synced data, a private Redis, and the processes started."""

    def __init__(self, quick: bool = False, keep: bool = False):
        self.quick = quick
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix="fgrid-bench-"))
        self.data_dir = self.tmp / "data"
        self.redis: RedisServer | None = None
        self.sync_seconds: float | None = None
        self._combos: list[dict[str, Any]] | None = None
        self._workers = 0

    # -- set-up -------------------------------------------------------------------------------------------------

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        stop_all()
        if self.redis is not None:
            self.redis.stop()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def base_env(self, data_dir: Path | None = None, **extra: str) -> dict[str, str]:
        """An environment with no inherited broker settings, bytecode caching on (as an installed program runs),
        and ``data_dir`` as fgrid's data folder. (Workers of bench/ apps run in bench/, which puts it on their path.)"""
        env = processes.base_env(data_dir or self.data_dir, **extra)
        for name in _DROPPED_ENV:
            env.pop(name, None)
        return env

    def redis_env(self, **extra: str) -> dict[str, str]:
        server = self.ensure_redis()
        return self.base_env(CELERY_BROKER_URL=server.url, CELERY_RESULT_BACKEND=server.url, **extra)

    def ensure_redis(self) -> RedisServer:
        if self.redis is None:
            self.redis = RedisServer(self.tmp / "redis").start()
        return self.redis

    def ensure_data(self) -> Path:
        """Sync the shared data into the bench's data folder once (timed: measure 7 reports it)."""
        if self.sync_seconds is None:
            env = self.base_env()
            started = time.perf_counter()
            result = subprocess.run(
                fgrid_argv("data", "sync", "--from", str(shared_data()), "--json"),
                env=env,
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=300,
            )
            self.sync_seconds = time.perf_counter() - started
            if result.returncode != 0:
                raise RuntimeError(f"fgrid data sync failed: {result.stderr.strip()[-500:]}")
        return self.data_dir

    def copy_data(self, name: str) -> Path:
        """A separate data folder with the same synced data (a fresh embedded broker and result store)."""
        self.ensure_data()
        target = self.tmp / name
        if not target.exists():
            target.mkdir()
            shutil.copytree(self.data_dir / "nfl", target / "nfl", symlinks=True)
        return target

    def settings(self, env: dict[str, str]):
        from fgrid.config import Settings

        return Settings.from_env(env)

    # -- workers ------------------------------------------------------------------------------------------------

    def _log(self, name: str) -> Path:
        self._workers += 1
        return self.tmp / "logs" / f"{self._workers:02d}-{name}.log"

    def fgrid_worker(self, env: dict[str, str], concurrency: int = 2, wait: bool = True) -> Proc:
        """A real ``fgrid worker -c N`` (fgrid's own flags: every queue, INFO, max 1000 tasks per child)."""
        proc = Proc(
            fgrid_argv("worker", "-n", f"fgrid{self._workers}@%h", "-c", str(concurrency)),
            env,
            self._log("fgrid-worker"),
        )
        if wait:
            proc.wait_for_log(" ready.")
        return proc

    def bare_worker(self, env: dict[str, str], concurrency: int = 2, wait: bool = True) -> Proc:
        """A bare Celery worker on bench/bare_app.py, with the same flags as fgrid's worker."""
        proc = Proc(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "bare_app",
                "worker",
                *WORKER_FLAGS,
                "-n",
                f"bare{self._workers}@%h",
                "-c",
                str(concurrency),
            ],
            env,
            self._log("bare-worker"),
            cwd=BENCH,
        )
        if wait:
            proc.wait_for_log(" ready.")
        return proc

    # -- data ---------------------------------------------------------------------------------------------------

    def combos(self, n: int = 50) -> list[dict[str, Any]]:
        """``n`` real analysis requests, as the task's canonical kwargs: players of every position who played
        in the latest regular season of the data, each against that week's real opponent, resolved as the CLI
        resolves them (fgrid.client.resolve_analyze)."""
        if self._combos is None:
            self._combos = real_combos(self.ensure_data(), n)
        return self._combos[:n]


def real_combos(data_dir: Path, n: int = 50, season: int | None = None) -> list[dict[str, Any]]:
    import polars as pl

    from fgrid.analysis import data
    from fgrid.config import Settings
    from fgrid.service import resolve

    settings = Settings.from_env({"FGRID_DATA_DIR": str(data_dir)})
    ds = data.load(settings.nfl_dir)
    stats = ds.stats
    season = season or int(stats["season"].max())
    rows = (
        stats.filter(
            (pl.col("season") == season)
            & pl.col("position").is_in(["QB", "RB", "WR", "TE"])
            & pl.col("opponent").is_not_null()
            & (pl.col("week") <= 18)
        )
        .select("player_id", "position", "opponent", "season", "week")
        .sort("player_id", "week")
    )
    # Spread the picks over positions and weeks, deterministically: the same n requests in every run.
    per_pos = {pos: rows.filter(pl.col("position") == pos) for pos in ("QB", "RB", "WR", "TE")}
    picks: list[dict[str, Any]] = []
    i = 0
    while len(picks) < n:
        for _pos, frame in per_pos.items():
            if len(picks) >= n:
                break
            row = frame.row((i * 7919 + len(picks) * 104729) % frame.height, named=True)
            try:
                picks.append(
                    resolve.analyze_request(
                        settings,
                        player=row["player_id"],
                        opponent=row["opponent"],
                        season=row["season"],
                        week=row["week"],
                    )
                )
            except Exception:
                continue
        i += 1
        if i > 50 * n:
            raise RuntimeError(f"could not resolve {n} real analysis requests from {data_dir}")
    return picks


# ---------------------------------------------------------------------------------------------------------------
# Output


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit in ("x", "×"):
        return f"{value:.2f}×"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
    return f"{text} {unit}".strip()


def table(measures: Sequence[Measure], title: str = "fgrid bench"):
    from rich.table import Table
    from rich.text import Text

    tab = Table(title=title, title_justify="left")
    for name, justify in (
        ("measure", "left"),
        ("fgrid", "right"),
        ("reference", "right"),
        ("ratio", "right"),
        ("goal", "left"),
        ("pass", "center"),
    ):
        tab.add_column(name, justify=justify, overflow="fold")
    for measure in measures:
        if measure.error:
            tab.add_row(
                Text(measure.name),
                Text("error"),
                Text(""),
                Text(""),
                Text(measure.error[:80]),
                Text("ERROR", style="bold red"),
            )
        for row in measure.rows:
            ref = fmt(row.reference, row.unit) if row.reference is not None else ""
            if row.reference_name:
                ref = f"{ref} ({row.reference_name})" if ref else row.reference_name
            value = fmt(row.fgrid, row.unit) if row.fgrid is not None else (row.note or "not available")
            verdict = (
                Text("yes", style="green")
                if row.passed
                else Text("NO", style="bold red")
                if row.passed is False
                else Text("n/a" if row.goal else "info", style="dim")
            )
            tab.add_row(Text(row.measure), Text(value), Text(ref), Text(fmt(row.ratio, "×")), Text(row.goal), verdict)
    return tab


def print_table(measures: Sequence[Measure], title: str = "fgrid bench") -> None:
    from rich.console import Console

    Console(highlight=False, markup=False, emoji=False, width=max(shutil.get_terminal_size().columns, 150)).print(
        table(measures, title)
    )


def to_json(measures: Sequence[Measure], started: float, quick: bool) -> dict[str, Any]:
    import celery

    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "quick": quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "celery": celery.__version__,
            "platform": platform.platform(),
            "load_average_end": load_average(),
        },
        "measures": {
            m.name: {
                "rows": [asdict(r) for r in m.rows],
                "details": m.details,
                "seconds": round(m.seconds, 1),
                "error": m.error,
            }
            for m in measures
        },
    }


def write_json(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def run_measure(name: str, func: Callable[[Bench], Measure], bench: Bench) -> Measure:
    """Run one measure; an exception becomes the measure's error (the other measures still run)."""
    import traceback

    started = time.perf_counter()
    try:
        measure = func(bench)
    except Exception as exc:
        measure = Measure(name, error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        measure.details["traceback"] = traceback.format_exc()
        sys.stderr.write(measure.details["traceback"])
    finally:
        stop_all()
    measure.seconds = time.perf_counter() - started
    return measure


def standalone(name: str, func: Callable[[Bench], Measure]) -> None:
    """``python bench/<measure>.py [--quick] [--keep]``: run one measure, print its table, write its JSON."""
    parser = argparse.ArgumentParser(description=f"fgrid bench: {name}")
    parser.add_argument("--quick", action="store_true", help="fewer tasks and repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs) after the run")
    args = parser.parse_args()
    started = time.time()
    with Bench(quick=args.quick, keep=args.keep) as bench:
        measure = run_measure(name, func, bench)
        if args.keep:
            print(f"temp folder kept: {bench.tmp}", file=sys.stderr)
    print_table([measure], f"fgrid bench: {name}")
    write_json(to_json([measure], started, args.quick), RESULTS / f"{name}.json")
    sys.exit(1 if measure.error else 0)
