"""The lineup command: the best lineup of a roster for one week, by projection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fgrid import config
from fgrid.cli.analysis import say_week
from fgrid.cli.live import submit_and_report
from fgrid.cli.options import (
    DataDirOption,
    JsonOption,
    ScoringOption,
    SeasonOption,
    TimeoutOption,
    WaitOption,
    WeekOption,
    settings_from,
)
from fgrid.errors import InputError

#: Slots when --slots is not given (the same as fgrid.analysis.lineup.DEFAULT_SLOTS, kept here so that `--help`
#: does not import the analysis).
DEFAULT_SLOTS = "QB,RB,RB,WR,WR,TE,FLEX"
#: Largest roster file read (bytes).
MAX_ROSTER_FILE = 16 * 1024


def read_roster(path: Path) -> list[str]:
    """The players of a roster file: one name or id a line; blank lines and lines starting with # skipped."""
    try:
        if path.stat().st_size > MAX_ROSTER_FILE:
            raise InputError(f"--file {path}: larger than {MAX_ROSTER_FILE} bytes; a roster is one player a line")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        raise InputError(f"--file {path}: not UTF-8 text") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def lineup(
    players: Annotated[
        list[str] | None, typer.Argument(help="The roster: player names or ids.", show_default=False)
    ] = None,
    roster_file: Annotated[Path | None, typer.Option("--file", "-f", help="Roster file: one player a line.")] = None,
    slots: Annotated[
        str,
        typer.Option(
            "--slots", help="Slots: QB, RB, WR, TE, FLEX (RB/WR/TE), SUPERFLEX (QB/RB/WR/TE) or A/B such as WR/TE."
        ),
    ] = DEFAULT_SLOTS,
    season: SeasonOption = None,
    week: WeekOption = None,
    model: Annotated[
        str, typer.Option("--model", help="engine (the matchup engine) or ai (the trained model).")
    ] = "engine",
    scoring: ScoringOption = "ppr",
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Queue the best lineup of a roster for one week: starters by slot, bench gaps, players on a bye apart."""
    from fgrid.service import resolve

    roster = list(players or []) + (read_roster(roster_file) if roster_file is not None else [])
    settings = settings_from(data_dir)
    kwargs = resolve.lineup_request(settings, roster, slots, season, week, scoring, model)
    say_week(
        settings, {"season": kwargs["season"], "week": kwargs["week"]}, as_json, chosen=season is None or week is None
    )
    submit_and_report(settings, config.TASK_LINEUP, kwargs, wait, timeout, as_json)
