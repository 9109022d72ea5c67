"""The options several commands share, declared once, and what turns their values into settings, seasons, weeks
and opponents. Imports only typer and fgrid's light modules, so ``fgrid --help`` stays fast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fgrid import config, validation
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.config import Settings

#: Seconds between refreshes of ``--watch`` and ``top``.
REFRESH_SECONDS = 1.0
#: The states a task can be in (``fgrid tasks --state``), as the service knows them.
STATES = ("PENDING", "RECEIVED", "STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE", "REVOKED")

TaskIdArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID", help="A task id, or its first characters (8 are shown; any unique prefix of 4 or more works)."
    ),
]
QueueOption = Annotated[
    str | None,
    typer.Option("--queue", "-q", metavar="QUEUE", help=f"Only tasks of this queue: {', '.join(config.QUEUES)}."),
]

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", envvar=config.ENV_DATA_DIR, help="Data folder.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", "-j", help="Print one JSON document on stdout.")]
WaitOption = Annotated[bool, typer.Option("--wait", "-w", help="Follow the task until it ends, then show the result.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout", metavar="SECONDS", help="With --wait: give up after this many seconds (the task keeps running)."
    ),
]
SeasonOption = Annotated[
    int | None, typer.Option("--season", help="Season of the week (default: the week after the data).")
]
WeekOption = Annotated[int | None, typer.Option("--week", help="Week (default: the week after the data).")]
ScoringOption = Annotated[
    str,
    typer.Option(
        "--scoring", metavar="[" + "|".join(validation.SCORINGS) + "]", help="Scoring: ppr, half or standard."
    ),
]
LocationOption = Annotated[str | None, typer.Option("--location", help='Venue city, e.g. "Santa Clara, CA".')]
OpponentsOption = Annotated[
    str | None,
    typer.Option(
        "--opponents",
        "-o",
        help="Opponents, comma-separated: one per player, or one (default: "
        "each player's scheduled opponent that week).",
    ),
]
WhatIfOption = Annotated[
    bool,
    typer.Option(
        "--what-if", help="A hypothetical game against the opponent given, when the schedule has none that week."
    ),
]
WatchOption = Annotated[bool, typer.Option("--watch", help="Refresh a live table until Ctrl-C.")]
IntervalOption = Annotated[
    float, typer.Option("--interval", metavar="SECONDS", help="Seconds between refreshes.", min=0.2, max=60)
]
InspectTimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Give up after this many seconds (waiting for the workers' answers).",
        min=0.1,
        max=60,
    ),
]


def settings_from(data_dir: Path | None = None, watch: bool = False, as_json: bool = False) -> Settings:
    """The settings for a command: ``--data-dir`` over the environment over the defaults.

    ``watch`` and ``as_json`` are the command's ``--watch`` and ``--json``, which cannot be combined.
    """
    from fgrid.config import Settings

    if watch and as_json:
        raise InputError("--watch and --json cannot be combined: --json prints one document")
    if data_dir is not None and str(data_dir) == os.environ.get(config.ENV_DATA_DIR):
        data_dir = None  # Typer filled it from the variable: let Settings say so
    return Settings.from_env(data_dir=data_dir)


def parse_seasons(text: str, most: int = 50) -> list[int]:
    """Parse ``2019-2024`` or ``2022,2023`` into a sorted list of at most ``most`` seasons."""
    bad = InputError(
        f"bad seasons {text[:40]!r}; use e.g. 2019-2024 or 2022,2023 (at most {most} seasons, "
        f"{validation.MIN_SEASON}-{validation.MAX_SEASON})"
    )
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
    if not validation.MIN_WEEK <= first <= last <= validation.MAX_WEEK:
        raise InputError(f"bad weeks {text!r}; weeks run from {validation.MIN_WEEK} to {validation.MAX_WEEK}")
    return first, last


def split_opponents(text: str | None) -> list[str]:
    """The opponents of ``--opponents``: comma-separated, blanks dropped (resolving them is the service's job)."""
    return [o for o in (text or "").split(",") if o.strip()]
