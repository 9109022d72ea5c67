"""What every fgrid command module shares: common options, consoles, settings, JSON output, submitting and
following a task, and parsing of season and week ranges. Imports only typer at module level."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from fgrid import config
from fgrid.errors import FgridError, InputError

if TYPE_CHECKING:
    from rich.console import Console

    from fgrid.config import Settings

DataDirOption = Annotated[
    Optional[Path], typer.Option("--data-dir", envvar=config.ENV_DATA_DIR, help="Data folder.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
WaitOption = Annotated[bool, typer.Option("--wait", help="Follow the task until it ends, then show the result.")]
TimeoutOption = Annotated[Optional[float], typer.Option("--timeout", help="Seconds to wait with --wait.")]
SeasonOption = Annotated[Optional[int], typer.Option("--season", help="Season of the game (default: next game).")]
WeekOption = Annotated[Optional[int], typer.Option("--week", help="Week of the game (default: next game).")]
ScoringOption = Annotated[str, typer.Option("--scoring", help="ppr, half or standard.")]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False)


def _settings(data_dir: Path | None = None) -> Settings:
    from fgrid.config import Settings

    if data_dir is not None and str(data_dir) == os.environ.get(config.ENV_DATA_DIR):
        data_dir = None  # Typer filled it from the variable: let Settings say so
    return Settings.from_env(data_dir=data_dir)


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, default=str) + "\n")
    sys.stdout.flush()


def _submit_and_report(settings: Settings, task_name: str, kwargs: dict[str, Any], wait: bool, timeout: float | None,
                       as_json: bool, follow: Callable[..., dict[str, Any]] | None = None) -> None:
    """Queue a task; print its id and `queued`, or with ``wait`` follow it (``follow``: the live view) and render it."""
    from fgrid.render import analysis as render
    from fgrid.service import lifecycle

    task_id = lifecycle.submit(settings, task_name, kwargs)
    if not wait:
        if as_json:
            _print_json({"task_id": task_id, "status": "queued"})
        else:
            out = _console()
            out.print(task_id)
            out.print("queued")
        return
    info = (follow or _follow)(settings, task_id, timeout, show=not as_json)
    doc = lifecycle.status(settings, task_id)
    if as_json:
        _print_json(doc)
    elif info["state"] == "SUCCESS":
        result = info["result"]
        out = _console()
        out.print(render.result(result) or render.status_table(doc))
    if info["state"] != "SUCCESS":
        raise FgridError(f"task {task_id} {info['state']}: {info.get('error') or 'no result'}")


def _follow(settings: Settings, task_id: str, timeout: float | None, show: bool = True) -> dict[str, Any]:
    """Wait for a task, refreshing a live table on stderr (so stdout keeps only data)."""
    from fgrid.render import analysis as render
    from fgrid.service import lifecycle

    if not show:
        return lifecycle.wait(settings, task_id, timeout)
    from rich.live import Live

    err = _console(stderr=True)
    with Live(render.task_table([]), console=err, refresh_per_second=10, transient=False) as live:
        return lifecycle.wait(settings, task_id, timeout,
                           on_update=lambda info: live.update(render.task_table([info])))


def parse_seasons(text: str, most: int = 50) -> list[int]:
    """Parse ``2019-2024`` or ``2022,2023`` into a sorted list of at most ``most`` seasons."""
    from fgrid import validation

    bad = InputError(f"bad seasons {text[:40]!r}; use e.g. 2019-2024 or 2022,2023 (at most {most} seasons, "
                     f"{validation.MIN_SEASON}-{validation.MAX_SEASON})")
    seasons: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            low, dash, high = part.partition("-")
            first, last = int(low), int(high if dash else low)
            # Bounds before the range is built: `2019-999999999` must not allocate a billion seasons.
            if not validation.MIN_SEASON <= first <= last <= validation.MAX_SEASON:
                raise bad
            seasons.update(range(first, last + 1))
            if len(seasons) > most:
                raise bad
    except ValueError:
        raise bad from None
    if not seasons:
        raise bad
    return sorted(seasons)


def parse_weeks(text: str | None) -> tuple[int, int] | None:
    """Parse ``5-18`` (or ``7``) into a first and last week."""
    if not text:
        return None
    try:
        low, _, high = text.partition("-")
        first, last = int(low), int(high or low)
    except ValueError:
        raise InputError(f"bad weeks {text!r}; use e.g. 5-18") from None
    from fgrid import validation

    if not validation.MIN_WEEK <= first <= last <= validation.MAX_WEEK:
        raise InputError(f"bad weeks {text!r}; weeks run from {validation.MIN_WEEK} to {validation.MAX_WEEK}")
    return first, last
