"""The commands on the setup: ``data sync``, ``data info`` and ``config``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fgrid.cli.options import DataDirOption, JsonOption, parse_seasons, settings_from
from fgrid.cli.output import console, print_json
from fgrid.errors import InputError

#: The files a folder of nflverse data has at least one of (a season's player stats).
STATS_FILES = "player_stats_*.csv*"

data_app = typer.Typer(help="Sync and inspect the NFL data.", no_args_is_help=True)


@data_app.command("sync")
def sync(
    source: Annotated[Path | None, typer.Option("--from", help="Import local nflverse files from this folder.")] = None,
    seasons: Annotated[str, typer.Option("--seasons", help="Seasons, e.g. 2019-2024 or 2022,2023.")] = "2019-2024",
    as_json: JsonOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Fill the data folder with nflverse stats, schedules and player ids.

    Example: fgrid data sync --seasons 2019-2024
    """
    from fgrid.analysis import data
    from fgrid.render.data import sync_summary

    settings = settings_from(data_dir)
    wanted = parse_seasons(seasons)
    err = console(stderr=True)
    with err.status("syncing NFL data") as spinner:

        def progress(message: str) -> None:
            spinner.update(message)
            if message.startswith("waiting"):  # a wait is said on a line of its own, TTY or not
                err.print(message, markup=False, highlight=False)

        if source is not None:
            if not source.is_dir():
                raise InputError(f"--from {source}: no such folder")
            if not any(next(folder.glob(STATS_FILES), None) for folder in (source, source / "raw") if folder.is_dir()):
                raise InputError(
                    f"--from {source}: no nflverse data files there (player_stats_YYYY.csv[.gz], in "
                    f"the folder or its raw/ subfolder)"
                )
            report = data.sync_from_dir(source, settings.nfl_dir, seasons=wanted, progress=progress)
        else:
            report = data.sync_online(settings.nfl_dir, seasons=wanted, progress=progress)
    if as_json:
        print_json(report)
    else:
        for line in sync_summary(report, settings.nfl_dir):
            err.print(line)


@data_app.command("info")
def info(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """Show the synced seasons and weeks, rows, players, last game, source and sync time.

    Example: fgrid data info
    """
    from fgrid.analysis import data
    from fgrid.render.data import data_info_table

    found = data.info(settings_from(data_dir).nfl_dir)
    if as_json:
        print_json(found)
    else:
        console().print(data_info_table(found))


def show_config(as_json: JsonOption = False, data_dir: DataDirOption = None) -> None:
    """Show the effective settings and where each came from (passwords masked).

    Example: fgrid config --json
    """
    from fgrid.render.data import settings_table

    rows = settings_from(data_dir).describe()
    if as_json:
        print_json({row["name"]: {"value": row["value"], "source": row["source"]} for row in rows})
    else:
        console().print(settings_table(rows))
