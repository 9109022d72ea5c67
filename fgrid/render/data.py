"""Views of the setup: the effective settings, the synced data, and what a sync did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from fgrid.render.text import plain, span

DATA_INFO_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (("season", "right"), ("weeks", "left"), ("rows", "right"))


def settings_table(rows: list[dict[str, str]]) -> Table:
    """Effective settings: name, value (passwords masked), source."""
    table = Table(title="fgrid config", title_justify="left")
    for col in ("setting", "value", "source"):
        table.add_column(col)
    for row in rows:
        table.add_row(plain(row["name"]), plain(row["value"]), plain(row["source"], "dim"))
    return table


def data_info_table(info: dict[str, Any]) -> Group:
    """Synced data: per season, weeks and rows; then totals, source and sync time."""
    table = Table(title="fgrid data", title_justify="left")
    for col, justify in DATA_INFO_COLUMNS:
        table.add_column(col, justify=justify)
    for season in info.get("weeks", []):
        weeks = f"{season.get('min_week')}-{season.get('max_week')}"
        table.add_row(plain(season.get("season")), plain(weeks), plain(f"{season.get('rows', 0):,}"))
    skipped = sum((info.get("skipped") or {}).values())
    summary = Text(
        f"{info.get('rows', 0):,} rows, {info.get('players', 0):,} players, {info.get('games', 0):,} games; "
        f"last game {info.get('last_game_date')}; {skipped:,} rows skipped\n"
        f"source {info.get('source')}, synced {info.get('synced_at')}"
    )
    return Group(table, summary)


def sync_summary(report: dict[str, Any], folder: Path) -> list[Text]:
    """What ``fgrid data sync`` did: rows and seasons synced into ``folder``, and the rows skipped, if any."""
    seasons = [s["season"] if isinstance(s, dict) else s for s in report.get("seasons") or []]
    lines = [plain(f"synced {report.get('rows', 0):,} rows, seasons {span(seasons, empty='none')} into {folder}")]
    skipped = report.get("skipped") or {}
    if skipped:
        lines.append(plain("skipped rows: " + ", ".join(f"{k}: {v}" for k, v in skipped.items())))
    return lines
