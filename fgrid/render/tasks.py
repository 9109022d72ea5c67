"""Views of tasks: those being followed, one task's status, the task index, and what a cancellation did.

Every table fits 80 columns: ids are short (the first 8 characters, which every command accepts), headers are never
cut, and the free-text columns (arguments, worker, error) give way first and take the room a wider screen has.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fgrid.render.results import result
from fgrid.render.text import (
    FitTable,
    ago,
    compact_json,
    cut,
    plain,
    progress_text,
    seconds,
    short_id,
    state_text,
    task_label,
)

#: The task index's columns: (header, justify, share of the free room; 0 for a fixed column).
TASKS_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "left", 0),
    ("task", "left", 0),
    ("arguments", "left", 2),
    ("state", "left", 0),
    ("worker", "left", 1),
    ("wait", "right", 0),
    ("run", "right", 0),
    ("age", "right", 0),
)


def task_table(rows: list[dict[str, Any]], title: str | None = None) -> FitTable:
    """Tasks being followed: id, task, state, progress (when any), worker, elapsed."""
    show_progress = any(row.get("progress") for row in rows)
    columns = [("id", "left", 0), ("task", "left", 0), ("state", "left", 0)]
    if show_progress:
        columns.append(("progress", "left", 2))
    columns += [("worker", "left", 1), ("elapsed", "right", 0)]
    cells_of: list[list[Text]] = []
    for row in rows:
        elapsed = row.get("elapsed")
        cells: list[Text] = [
            plain(short_id(row.get("task_id"))),
            cut(task_label(row.get("name"))),
            state_text(row.get("state", "")),
        ]
        if show_progress:
            cells.append(progress_text(row.get("progress")))
        cells += [cut(row.get("worker") or "-"), plain(f"{elapsed:.1f}s" if elapsed is not None else "")]
        cells_of.append(cells)
    return FitTable(columns, cells_of, title=title)


def status_table(doc: dict[str, Any]) -> Table:
    """A task's status document as a two-column table, its result shown by its shape."""
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("task id", plain(doc["task_id"]))
    table.add_row("status", state_text(doc["status"]))
    if doc.get("progress"):
        table.add_row("progress", progress_text(doc["progress"]))
    table.add_row("ready", plain(str(doc["ready"]).lower()))
    table.add_row("successful", plain(str(doc["successful"]).lower()))
    value = doc.get("result")
    if value is not None and not isinstance(value, dict):
        table.add_row("result", plain(value if isinstance(value, str) else compact_json(value)))
    elif isinstance(value, dict) and result(value) is None:
        table.add_row("result", plain(compact_json(value)))
    return table


def status_view(info: dict[str, Any]) -> RenderableType:
    """One task in full, as ``--wait`` shows it: what it is and where it stands, then its result's own view (the
    analysis panel, the ranking, the model's explanation)."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("task", Text(short_id(info["task_id"]), style="bold") + Text(f"  {info['task_id']}", style="dim"))
    table.add_row("asked", cut(" ".join(filter(None, (task_label(info.get("name")), info.get("summary"))))))
    state = state_text(info["state"])
    if info.get("progress"):
        state = state + Text("  ") + progress_text(info["progress"])
    table.add_row("state", state)
    where = [
        f"on {info['worker']}" if info.get("worker") else None,
        f"queue {info['queue']}" if info.get("queue") else None,
        f"submitted {ago(info.get('submitted_at'))} ago" if info.get("submitted_at") else None,
    ]
    if any(where):
        table.add_row("where", plain(", ".join(w for w in where if w)))
    if info.get("error"):
        table.add_row("error", plain(info["error"], "red"))
    value = info.get("result")
    view = result(value) if info["state"] == "SUCCESS" else None
    if view is None and info["state"] == "SUCCESS" and value is not None:
        table.add_row("result", plain(value if isinstance(value, str) else compact_json(value)))
    return Group(table, view) if view is not None else table


def tasks_table(rows: list[dict[str, Any]], title: str | None = "fgrid tasks", now: float | None = None) -> FitTable:
    """The task index: id, task, arguments, state, worker, wait (queued), run (started to done), age; an error
    column when a task failed. ``now``: the clock for the ages (default: the time)."""
    show_error = any(row.get("error") for row in rows)
    # The error says more than where it happened.
    show_wait = any(row.get("wait") is not None for row in rows)  # known once starts are recorded
    columns = [c for c in TASKS_COLUMNS if not (show_error and c[0] == "worker") and (show_wait or c[0] != "wait")]
    if show_error:
        columns.append(("error", "left", 5))
    cells_of: list[list[Text]] = []
    for row in rows:
        state = state_text(row["state"])
        if row.get("progress"):
            state.append(" " + _brief_progress(row["progress"]))
        cells = [plain(short_id(row["task_id"])), cut(task_label(row.get("name"))), cut(row.get("summary")), state]
        if not show_error:
            cells.append(cut(_host(row.get("worker"))))
        if show_wait:
            cells.append(plain(seconds(row["wait"]) if row.get("wait") is not None else "-"))
        cells += [plain(_run(row)), plain(ago(row.get("submitted_at"), now))]
        if show_error:
            cells.append(cut(_reason(row.get("error")), "red"))
        cells_of.append(cells)
    return FitTable(columns, cells_of, title=title, caption=None if rows else "no tasks in the index")


def _reason(error: Any) -> str:
    # fgrid's messages say what is wrong on their own: the exception's type is room the reason needs.
    text = "" if error is None else str(error)
    kind, sep, rest = text.partition(": ")
    return rest if sep and kind.isidentifier() and kind.endswith(("Error", "Exception")) else text


def _brief_progress(progress: dict[str, Any]) -> str:
    # The state column's share of a running task's progress: 77% (training), 3/8 (a fan-out's parts).
    if progress.get("done") is not None and progress.get("total"):
        return f"{progress['done']}/{progress['total']}"
    return f"{progress['percent']:.0f}%" if progress.get("percent") is not None else ""


def _host(worker: Any) -> str:
    # `w1@build-host-7`: the node name says which worker; the host is the same for most.
    return str(worker).partition("@")[0] or str(worker) if worker else "-"


def _run(row: dict[str, Any]) -> str:
    # Start to finish when the start is known; otherwise submission to finish (the wait included), marked with ~.
    if row.get("runtime") is not None:
        return seconds(row["runtime"])
    if row.get("latency") is not None:
        return "~" + seconds(row["latency"])
    return "-"


def cancel_summary(doc: dict[str, Any]) -> Text:
    """What ``fgrid cancel`` did, in one line."""
    text = Text(f"task {short_id(doc['task_id'])} ")
    text.append("terminated" if doc["terminated"] else "revoked", style="bold red")
    text.append(f" (was {doc['previous_state']})")
    if doc.get("parts"):
        text.append(f", with its {len(doc['parts'])} parts")
    if doc["removed_from_queue"]:
        text.append(", removed from its queue")
    if doc["revoked_by"]:
        text.append(f"; acknowledged by {', '.join(doc['revoked_by'])}")
    else:
        text.append(
            "; no worker answered (a worker started later will not run it: it is no longer queued)"
            if doc["removed_from_queue"]
            else "; no worker answered"
        )
    return text


def retry_summary(doc: dict[str, Any]) -> Text:
    """What ``fgrid retry`` did, in one line: the new task and how to follow it."""
    new = short_id(doc["task_id"])
    return Text(
        f"task {short_id(doc['retry_of'])} queued again as {new} ({task_label(doc.get('name'))}); "
        f"follow it with `fgrid status {new} --watch`"
    )
