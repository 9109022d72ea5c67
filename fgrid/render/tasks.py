"""Views of tasks: those being followed, one task's status, the task index, and what a cancellation did."""

from __future__ import annotations

from typing import Any

from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from fgrid.render.analysis import analysis_summary
from fgrid.render.results import result
from fgrid.render.text import ago, compact_json, cut, plain, seconds, state_text

TASKS_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("task id", "left"), ("task", "left"), ("arguments", "left"), ("state", "left"), ("worker", "left"),
    ("runtime", "right"), ("age", "right"),
)


def task_table(rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """Tasks being followed: id, task, state, progress (when any), worker, elapsed."""
    show_progress = any(row.get("progress") for row in rows)
    table = Table(title=title, expand=False)
    table.add_column("task id", no_wrap=True, min_width=36)
    table.add_column("task", no_wrap=True)
    table.add_column("state", no_wrap=True, min_width=8)
    if show_progress:
        table.add_column("progress", no_wrap=True)
    table.add_column("worker", no_wrap=True)
    table.add_column("elapsed", no_wrap=True, justify="right")
    for row in rows:
        elapsed = row.get("elapsed")
        cells = [plain(row.get("task_id")), plain(str(row.get("name") or "").removeprefix("fgrid.")),
                 state_text(row.get("state", ""))]
        if show_progress:
            cells.append(plain(_progress(row.get("progress") or {})))
        cells += [plain(row.get("worker") or "-"), plain(f"{elapsed:.1f}s" if elapsed is not None else "")]
        table.add_row(*cells)
    return table


def _progress(progress: dict[str, Any]) -> str:
    # Fan-outs report parts done of total; training reports a stage and a percentage.
    if "done" in progress:
        return f"{progress['done']}/{progress['total']}"
    return f"{progress.get('stage', '')} {progress.get('percent', '')}%" if progress else ""


def status_table(doc: dict[str, Any]) -> Table:
    """A task's status document as a two-column table, its result shown by its shape."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("task id", plain(doc["task_id"]))
    table.add_row("status", state_text(doc["status"]))
    table.add_row("ready", plain(str(doc["ready"]).lower()))
    table.add_row("successful", plain(str(doc["successful"]).lower()))
    value = doc.get("result")
    if isinstance(value, dict) and "matchup_score" in value:
        table.add_row("result", analysis_summary(value))
    elif value is not None:
        table.add_row("result", result(value) or plain(value if isinstance(value, str) else compact_json(value)))
    return table


def tasks_table(rows: list[dict[str, Any]], title: str | None = "fgrid tasks", now: float | None = None) -> Table:
    """The task index: id, task, arguments, state, worker, runtime, age (from ``now``, default the clock)."""
    table = Table(title=title, title_justify="left")
    # Ids must stay whole (they are what cancel and retry take); the arguments give way first on a narrow screen.
    for col, justify in TASKS_COLUMNS:
        table.add_column(col, justify=justify, no_wrap=col in ("task id", "state", "runtime", "age"),
                         max_width=60 if col == "arguments" else None)
    for row in rows:
        table.add_row(plain(row["task_id"]), cut(row.get("name")), cut(row.get("summary")), state_text(row["state"]),
                      cut(row.get("worker") or "-"), plain(_duration(row)), plain(ago(row.get("submitted_at"), now)))
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
