"""Views of the running system: queues, workers, the doctor's checks, and the ``fgrid top`` dashboard."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group, JustifyMethod, RenderableType
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fgrid.render.tasks import tasks_table
from fgrid.render.text import ago, cut, memory, plain, seconds, state_text

OK_MARK = "✔"
FAIL_MARK = "✘"
#: Characters of a queue's depth bar.
BAR_WIDTH = 24
QUEUES_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("queue", "left"), ("waiting", "right"), ("reserved", "right"), ("consumers", "right"), ("depth", "left"),
)
WORKERS_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("worker", "left"), ("queues", "left"), ("pool", "left"), ("concurrency", "right"), ("active", "right"),
    ("processed", "right"), ("uptime", "right"), ("memory", "right"),
)


def depth_bar(count: int | None, most: int, width: int = BAR_WIDTH) -> Text:
    """A bar for a queue's depth, scaled to the deepest queue."""
    if not count:
        return Text("·" * width, style="dim")
    filled = max(1, round(count / max(most, 1) * width))
    style = "green" if count < 10 else "yellow" if count < 100 else "red"
    return Text("█" * filled, style=style) + Text("·" * (width - filled), style="dim")


def queues_table(rows: list[dict[str, Any]], title: str | None = "fgrid queues") -> Table:
    """Queues: waiting, reserved (delivered, not yet acknowledged), consumers and a depth bar."""
    table = Table(title=title, title_justify="left")
    for col, justify in QUEUES_COLUMNS:
        table.add_column(col, justify=justify, no_wrap=True)
    most = max([r["waiting"] or 0 for r in rows] + [1])
    for row in rows:
        reserved = row.get("reserved")
        consumers = row.get("consumers", 0)
        table.add_row(plain(row["queue"], "bold"), plain(row["waiting"]), plain("-" if reserved is None else reserved),
                      Text(str(consumers), style="" if consumers else "red"), depth_bar(row["waiting"], most))
    return table


def workers_table(rows: list[dict[str, Any]], title: str | None = "fgrid workers") -> Table:
    """Workers: hostname, queues, pool and concurrency, active, processed, uptime, memory."""
    table = Table(title=title, title_justify="left")
    for col, justify in WORKERS_COLUMNS:
        table.add_column(col, justify=justify, no_wrap=justify == "right", min_width=len(col) if justify == "right"
                         else None)
    for row in rows:
        table.add_row(cut(row["hostname"], "bold"), cut(",".join(row["queues"])), cut(row.get("pool") or "-"),
                      plain(row.get("concurrency") or "-"), plain(row["active"]), plain(row["processed"]),
                      plain(seconds(row.get("uptime"))), plain(memory(row.get("max_rss_kib"))))
    return table


def doctor_lines(checks: list[dict[str, Any]]) -> Group:
    """One line per check with ✔ or ✘, the fix under each failed one, and a count at the end."""
    lines = []
    for check in checks:
        line = Text()
        line.append(OK_MARK if check["ok"] else FAIL_MARK, style="bold green" if check["ok"] else "bold red")
        line.append(f" {check['check']}: ")
        line.append(str(check["detail"]), style="" if check["ok"] else "red")
        lines.append(line)
        if not check["ok"] and check.get("fix"):
            lines.append(Text(f"    fix: {check['fix']}", style="yellow"))
    failed = sum(1 for c in checks if not c["ok"])
    lines.append(Text(f"all {len(checks)} checks passed" if not failed else f"{failed} of {len(checks)} checks failed",
                      style="bold green" if not failed else "bold red"))
    return Group(*lines)


def headline(snap: dict[str, Any], rate: float | None) -> Text:
    """The dashboard's first line: workers, processed, rates, latency."""
    workers = snap.get("workers") or []
    processed = sum(w["processed"] for w in workers)
    active = sum(w["active"] for w in workers)
    text = Text("fgrid top", style="bold")
    text.append(f"  {time.strftime('%H:%M:%S', time.localtime(snap.get('time', time.time())))}  ", style="dim")
    text.append(f"workers {len(workers)}  active {active}  processed {processed}  ")
    text.append(f"rate {rate:.2f}/s  " if rate is not None else "rate -  ")
    text.append(f"ok/{snap.get('window', 60)}s {snap.get('succeeded_last_window', 0)}  ", style="green")
    failed = snap.get("failed_last_window", 0)
    text.append(f"failed/{snap.get('window', 60)}s {failed}  ", style="red" if failed else "")
    text.append(f"median runtime {seconds(snap.get('median_runtime'))}  "
                f"median latency {seconds(snap.get('median_latency'))}")
    return text


def failures_table(rows: list[dict[str, Any]]) -> Table:
    """Recent failures: id, task, age, error."""
    table = Table(title="recent failures", title_justify="left", expand=True)
    table.add_column("task id", no_wrap=True)
    table.add_column("task", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("error", overflow="ellipsis", no_wrap=True, ratio=1)
    for row in rows:
        table.add_row(plain(row["task_id"]), plain(row.get("name")), plain(ago(row.get("submitted_at"))),
                      plain(row.get("error"), "red"))
    if not rows:
        table.caption = "none"
    return table


def states_table(states: dict[str, int]) -> Table:
    """Tasks in the index per state, the commonest first."""
    table = Table(title="tasks in the index", title_justify="left")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in sorted(states.items(), key=lambda kv: -kv[1]):
        table.add_row(state_text(state), plain(count))
    return table


def dashboard(snap: dict[str, Any] | None, rate: float | None = None, error: str | None = None) -> Layout:
    """The full-screen ``fgrid top`` layout: headline, queues, workers, recent tasks, failures, key help."""
    layout = Layout()
    footer = Text("q quit · Ctrl-C quit", style="dim")
    if error:
        footer = Text(f"{error}   ", style="bold red") + footer
    if snap is None:
        layout.split_column(Layout(Text("fgrid top: reading queues and workers...", style="bold"), size=1),
                            Layout(footer, size=1))
        return layout
    body_top = Layout(name="top")
    body_top.split_row(Layout(queues_table(snap["queues"], title="queues"), ratio=2),
                       Layout(states_table(snap.get("states") or {}), ratio=1))
    workers = snap.get("workers") or []
    workers_view: RenderableType = workers_table(workers, title="workers") if workers else Panel(
        Text("no worker answered; start one with `fgrid worker`", style="red"), title="workers")
    recent = snap.get("recent") or []
    layout.split_column(
        Layout(headline(snap, rate), size=1),
        Layout(body_top, size=len(snap["queues"]) + 5),
        Layout(workers_view, size=max(len(workers), 1) + 5),
        Layout(tasks_table(recent, title="recent tasks"), size=len(recent) + 5),
        Layout(failures_table(snap.get("failures") or [])),
        Layout(footer, size=1),
    )
    return layout
