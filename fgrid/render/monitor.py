"""Views of the running system: queues, workers, the doctor's checks, and the ``fgrid top`` dashboard."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group, RenderableType
from rich.layout import Layout
from rich.text import Text

from fgrid.render.tasks import tasks_table
from fgrid.render.text import (
    STATE_STYLES,
    FitTable,
    ago,
    cut,
    memory,
    plain,
    seconds,
    short_id,
    state_text,
    task_label,
)

OK_MARK = "✔"
WARN_MARK = "!"
FAIL_MARK = "✘"
#: Characters of a queue's depth bar.
BAR_WIDTH = 24
QUEUES_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("queue", "left", 0),
    ("waiting", "right", 0),
    ("reserved", "right", 0),
    ("consumers", "right", 0),
    ("depth", "left", 0),
)
WORKERS_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("worker", "left", 2),
    ("queues", "left", 1),
    ("pool", "left", 0),
    ("active", "right", 0),
    ("processed", "right", 0),
    ("uptime", "right", 0),
    ("memory", "right", 0),
)


def depth_bar(count: int | None, most: int, width: int = BAR_WIDTH) -> Text:
    """A bar for a queue's depth, scaled to the deepest queue."""
    if not count:
        return Text("·" * width, style="dim")
    filled = max(1, round(count / max(most, 1) * width))
    style = "green" if count < 10 else "yellow" if count < 100 else "red"
    return Text("█" * filled, style=style) + Text("·" * (width - filled), style="dim")


def queues_table(rows: list[dict[str, Any]], title: str | None = "fgrid queues") -> FitTable:
    """Queues: waiting, reserved (delivered, not yet acknowledged), consumers and a depth bar."""
    most = max([r["waiting"] or 0 for r in rows] + [1])
    cells = []
    for row in rows:
        reserved = row.get("reserved")
        consumers = row.get("consumers", 0)
        cells.append(
            [
                plain(row["queue"], "bold"),
                plain(row["waiting"]),
                plain("-" if reserved is None else reserved),
                Text(str(consumers), style="" if consumers else "red"),
                depth_bar(row["waiting"], most),
            ]
        )
    return FitTable(list(QUEUES_COLUMNS), cells, title=title)


def queue_names(row: dict[str, Any]) -> str:
    """A worker's queues, ``all`` when it consumes every one of fgrid's."""
    return "all" if row.get("all_queues") else ",".join(row.get("queues") or []) or "-"


def workers_table(rows: list[dict[str, Any]], title: str | None = "fgrid workers") -> FitTable:
    """Workers: hostname, queues, pool and its size, active, processed, uptime, memory."""
    cells = []
    for row in rows:
        pool = " ".join(str(p) for p in (row.get("pool"), row.get("concurrency")) if p) or "-"
        cells.append(
            [
                cut(row["hostname"], "bold"),
                cut(queue_names(row)),
                plain(pool),
                plain(row["active"]),
                plain(row["processed"]),
                plain(seconds(row.get("uptime"))),
                plain(memory(row.get("max_rss_kib"))),
            ]
        )
    return FitTable(list(WORKERS_COLUMNS), cells, title=title)


def doctor_lines(checks: list[dict[str, Any]]) -> Group:
    """One line per check with ✔, ! (a warning) or ✘, the fix under each that did not pass, and a count at the end."""
    lines = []
    for check in checks:
        warning = not check["ok"] and check.get("level") == "warning"
        line = Text()
        if check["ok"]:
            line.append(OK_MARK, style="bold green")
        elif warning:
            line.append(WARN_MARK, style="bold yellow")
        else:
            line.append(FAIL_MARK, style="bold red")
        line.append(f" {check['check']}: ")
        line.append(str(check["detail"]), style="" if check["ok"] else "yellow" if warning else "red")
        lines.append(line)
        if not check["ok"] and check.get("fix"):
            lines.append(Text(f"    fix: {check['fix']}", style="yellow"))
    failed = sum(1 for c in checks if not c["ok"] and c.get("level") != "warning")
    warned = sum(1 for c in checks if not c["ok"] and c.get("level") == "warning")
    if failed:
        summary = Text(f"{failed} of {len(checks)} checks failed", style="bold red")
    elif warned:
        summary = Text(
            f"{len(checks) - warned} of {len(checks)} checks passed, {warned} warning(s)", style="bold yellow"
        )
    else:
        summary = Text(f"all {len(checks)} checks passed", style="bold green")
    if failed and warned:
        summary.append(f", {warned} warning(s)", style="yellow")
    lines.append(summary)
    return Group(*lines)


def headline(snap: dict[str, Any], rate: float | None) -> Text:
    """The dashboard's first two lines: workers, processed, rate; successes and failures, median run and wait."""
    workers = snap.get("workers") or []
    processed = sum(w["processed"] for w in workers)
    active = sum(w["active"] for w in workers)
    window = snap.get("window", 60)
    text = Text("fgrid top", style="bold")
    text.append(f"  {time.strftime('%H:%M:%S', time.localtime(snap.get('time', time.time())))}  ", style="dim")
    text.append(f"workers {len(workers)}  active {active}  processed {processed}  ")
    text.append(f"rate {rate:.2f}/s" if rate is not None else "rate -")
    text.append("\n")
    text.append(f"ok/{window}s {snap.get('succeeded_last_window', 0)}  ", style="green")
    failed = snap.get("failed_last_window", 0)
    text.append(f"failed/{window}s {failed}  ", style="red" if failed else "")
    text.append(f"median run {seconds(snap.get('median_runtime'))}  median wait {seconds(snap.get('median_wait'))}")
    states = snap.get("states") or {}
    if states:
        text.append("\ntasks ")
        for n, (state, count) in enumerate(sorted(states.items(), key=lambda kv: -kv[1])):
            text.append(" " if n else "")
            text.append(f"{state.lower()} {count}", style=STATE_STYLES.get(state, ""))
    return text


def failures_table(rows: list[dict[str, Any]]) -> FitTable:
    """Recent failures: id, task, age, error."""
    columns = [("id", "left", 0), ("task", "left", 0), ("age", "right", 0), ("error", "left", 1)]
    cells = [
        [
            plain(short_id(row["task_id"])),
            cut(task_label(row.get("name"))),
            plain(ago(row.get("submitted_at"))),
            cut(row.get("error"), "red"),
        ]
        for row in rows
    ]
    return FitTable(columns, cells, title="recent failures", caption=None if rows else "none")


def states_table(states: dict[str, int]) -> FitTable:
    """Tasks in the index per state, the commonest first."""
    cells = [[state_text(state), plain(count)] for state, count in sorted(states.items(), key=lambda kv: -kv[1])]
    return FitTable([("state", "left", 0), ("count", "right", 0)], cells, title="tasks in the index")


def dashboard(snap: dict[str, Any] | None, rate: float | None = None, error: str | None = None) -> Layout:
    """The full-screen ``fgrid top`` layout, made for 80x24 and using what a bigger screen gives: two headline
    lines, queues, workers, recent failures (when any), recent tasks (as many as fit) and the key help."""
    layout = Layout()
    footer = Text("q quit · Ctrl-C quit", style="dim")
    if error:
        footer = Text(f"{error}   ", style="bold red") + footer
    if snap is None:
        layout.split_column(
            Layout(Text("fgrid top: reading queues and workers...", style="bold"), size=1), Layout(footer, size=1)
        )
        return layout
    workers = snap.get("workers") or []
    workers_view: RenderableType = (
        workers_table(workers, title="workers")
        if workers
        else Text("workers: none answered; start one with `fgrid worker`", style="red")
    )
    failures = (snap.get("failures") or [])[:3]
    parts = [
        Layout(headline(snap, rate), size=3),
        Layout(queues_table(snap["queues"], title="queues"), size=len(snap["queues"]) + 3),
        Layout(workers_view, size=len(workers) + 3 if workers else 2),
    ]
    if failures:
        parts.append(Layout(failures_table(failures), size=len(failures) + 3))
    parts += [Layout(tasks_table(snap.get("recent") or [], title="recent tasks"), ratio=1), Layout(footer, size=1)]
    layout.split_column(*parts)
    return layout
