"""Pure rendering for the operating commands: rows in, Rich renderables out (no I/O, no loops).

Task summaries and worker names are data: they go into ``Text`` objects, never into markup strings.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fgrid.render import ago, state_text

OK_MARK = "✔"
FAIL_MARK = "✘"
BAR_WIDTH = 24


def _t(value: Any, style: str = "") -> Text:
    return Text("" if value is None else str(value), style=style)


def _cut(value: Any, style: str = "") -> Text:
    # One line, cut with an ellipsis when the column is squeezed (the column itself may shrink).
    return Text("" if value is None else str(value), style=style, no_wrap=True, overflow="ellipsis")


def seconds(value: float | None) -> str:
    """A duration as 0.42s, 12s, 3m or 2h."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}s"


def memory(kib: int | None) -> str:
    """KiB as MiB."""
    return "-" if kib is None else f"{kib / 1024:.0f} MiB"


def depth_bar(count: int | None, most: int, width: int = BAR_WIDTH) -> Text:
    """A bar for a queue's depth, scaled to the deepest queue."""
    if not count:
        return Text("·" * width, style="dim")
    filled = max(1, round(count / max(most, 1) * width))
    style = "green" if count < 10 else "yellow" if count < 100 else "red"
    return Text("█" * filled, style=style) + Text("·" * (width - filled), style="dim")


def tasks_table(rows: list[dict[str, Any]], title: str | None = "fgrid tasks", now: float | None = None) -> Table:
    """Recent tasks: id, task, arguments, state, worker, runtime, age."""
    table = Table(title=title, title_justify="left")
    # Ids must stay whole (they are what cancel and retry take); the arguments give way first on a narrow screen.
    for col, justify in (("task id", "left"), ("task", "left"), ("arguments", "left"), ("state", "left"),
                         ("worker", "left"), ("runtime", "right"), ("age", "right")):
        table.add_column(col, justify=justify, no_wrap=col in ("task id", "state", "runtime", "age"),
                         max_width=60 if col == "arguments" else None)
    for row in rows:
        table.add_row(_t(row["task_id"]), _cut(row.get("name")), _cut(row.get("summary")), state_text(row["state"]),
                      _cut(row.get("worker") or "-"), _t(_duration(row)), _t(ago(row.get("submitted_at"))))
    if not rows:
        table.caption = "no tasks in the index"
    return table


def _duration(row: dict[str, Any]) -> str:
    # Runtime when the start is known; otherwise submission to finish, marked with ~.
    if row.get("runtime") is not None:
        return seconds(row["runtime"])
    if row.get("latency") is not None:
        return "~" + seconds(row["latency"])
    return "-"


def queues_table(rows: list[dict[str, Any]], title: str | None = "fgrid queues") -> Table:
    """Queues: waiting, reserved (delivered, not yet acknowledged), consumers and a depth bar."""
    table = Table(title=title, title_justify="left")
    for col, justify in (("queue", "left"), ("waiting", "right"), ("reserved", "right"), ("consumers", "right"),
                         ("depth", "left")):
        table.add_column(col, justify=justify, no_wrap=True)
    most = max([r["waiting"] or 0 for r in rows] + [1])
    for row in rows:
        reserved = row.get("reserved")
        consumers = row.get("consumers", 0)
        table.add_row(_t(row["queue"], "bold"), _t(row["waiting"]), _t("-" if reserved is None else reserved),
                      Text(str(consumers), style="" if consumers else "red"), depth_bar(row["waiting"], most))
    return table


def workers_table(rows: list[dict[str, Any]], title: str | None = "fgrid workers") -> Table:
    """Workers: hostname, queues, pool and concurrency, active, processed, uptime, memory."""
    table = Table(title=title, title_justify="left")
    for col, justify in (("worker", "left"), ("queues", "left"), ("pool", "left"), ("concurrency", "right"),
                         ("active", "right"), ("processed", "right"), ("uptime", "right"), ("memory", "right")):
        table.add_column(col, justify=justify, no_wrap=justify == "right", min_width=len(col) if justify == "right"
                         else None)
    for row in rows:
        table.add_row(_cut(row["hostname"], "bold"), _cut(",".join(row["queues"])), _cut(row.get("pool") or "-"),
                      _t(row.get("concurrency") or "-"), _t(row["active"]), _t(row["processed"]),
                      _t(seconds(row.get("uptime"))), _t(memory(row.get("max_rss_kib"))))
    return table


def doctor_lines(checks: list[dict[str, Any]]) -> Group:
    """One line per check with ✔ or ✘, and the fix under each failed one."""
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


def cancel_summary(doc: dict[str, Any]) -> Text:
    """What ``fgrid cancel`` did, in one line."""
    text = Text(f"{doc['task_id']} ")
    text.append("terminated" if doc["terminated"] else "revoked", style="bold red")
    text.append(f" (was {doc['previous_state']})")
    if doc.get("parts"):
        text.append(f", with its {len(doc['parts'])} parts")
    if doc["removed_from_queue"]:
        text.append(", removed from its queue")
    if doc["revoked_by"]:
        text.append(f"; acknowledged by {', '.join(doc['revoked_by'])}")
    else:
        text.append("; no worker answered (a worker started later will not run it: it is no longer queued)"
                    if doc["removed_from_queue"] else "; no worker answered")
    return text


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
        table.add_row(_t(row["task_id"]), _t(row.get("name")), _t(ago(row.get("submitted_at"))),
                      _t(row.get("error"), "red"))
    if not rows:
        table.caption = "none"
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
                       Layout(_states(snap.get("states") or {}), ratio=1))
    workers = snap.get("workers") or []
    workers_view = workers_table(workers, title="workers") if workers else Panel(
        Text("no worker answered; start one with `fgrid worker`", style="red"), title="workers")
    layout.split_column(
        Layout(headline(snap, rate), size=1),
        Layout(body_top, size=len(snap["queues"]) + 5),
        Layout(workers_view, size=max(len(workers), 1) + 5),
        Layout(tasks_table(snap.get("recent") or [], title="recent tasks"), size=len(snap.get("recent") or []) + 5),
        Layout(failures_table(snap.get("failures") or [])),
        Layout(footer, size=1),
    )
    return layout


def _states(states: dict[str, int]) -> Table:
    table = Table(title="tasks in the index", title_justify="left")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in sorted(states.items(), key=lambda kv: -kv[1]):
        table.add_row(state_text(state), _t(count))
    return table
