"""Views of the ai model: trained models and their metrics, a prediction, grades, a week's slate."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fgrid.render.lineup import game_text, kickoff_text
from fgrid.render.text import number, plain, points_range, span

#: Characters of the longest projection's bar in a slate.
SLATE_BAR_WIDTH = 20


def _by_position(metrics: Any) -> dict[str, Any]:
    # Metrics are stored either as {"by_position": ...}, under "validation", or as the groups themselves.
    if not isinstance(metrics, dict):
        return {}
    groups = metrics.get("by_position") or (metrics.get("validation") or {}).get("by_position") or metrics
    return groups if isinstance(groups, dict) else {}


def model_table(models: list[dict[str, Any]], title: str = "models", metrics: bool = False) -> Group:
    """Trained models: id, scoring, seasons, validation ratio to the baseline and coverage (ALL); with ``metrics``,
    the first model's validation by position under it."""
    table = Table(title=title, title_justify="left")
    for col in ("model", "scoring", "seasons", "validation MAE / baseline", "80% coverage", "latest"):
        table.add_column(col)
    for m in models:
        overall = _by_position(m.get("metrics")).get("ALL") or {}
        table.add_row(
            plain(m.get("model_id")),
            plain(m.get("scoring")),
            plain(span(m.get("seasons") or [])),
            plain(number(overall.get("ratio"))),
            plain(number(overall.get("coverage"))),
            plain("✔" if m.get("latest", True) else ""),
        )
    parts: list[RenderableType] = [table]
    if metrics and models:
        parts.append(_validation_table(_by_position(models[0].get("metrics"))))
    return Group(*parts)


def _validation_table(groups: dict[str, Any]) -> Table:
    table = Table(title="validation by position", title_justify="left")
    for col in ("position", "rows", "MAE", "baseline MAE", "ratio", "coverage"):
        table.add_column(col, justify="left" if col == "position" else "right")
    for group, row in groups.items():
        if not isinstance(row, dict) or "mae" not in row:
            continue
        table.add_row(
            plain(group),
            plain(row.get("rows")),
            plain(number(row.get("mae"))),
            plain(number(row.get("baseline_mae"))),
            plain(number(row.get("ratio"))),
            plain(number(row.get("coverage"))),
        )
    return table


def prediction_panel(result: dict[str, Any]) -> Panel:
    """The ai model's prediction: projection with range, grade and percentile, and the factors behind it."""
    p, proj = result["player"], result["projection"]
    head = Text()
    head.append(str(p["name"]), style="bold")
    g = result.get("game") or {}
    head.append(f"  {p['position']}, {p['team']}  {game_text(result)}")
    head.append(f"\n{g.get('season')} week {g.get('week')}, {kickoff_text(g)}", style="dim")
    if result.get("hypothetical"):
        head.append("\nhypothetical game (--what-if): not on the schedule", style="yellow")
    body = Table(show_header=False, box=None)
    body.add_column(style="bold")
    body.add_column()
    body.add_row("projection", plain(f"{proj['points']:.1f} pts (80%: {proj['low']:.1f} to {proj['high']:.1f})"))
    body.add_row("grade", plain(f"{result.get('grade')}  ({result.get('percentile', 0):.0f}th percentile)"))
    factors = Table(title="why", title_justify="left")
    factors.add_column("factor")
    factors.add_column("points", justify="right")
    factors.add_column("detail")
    for item in result.get("explanation", []):
        pts = item.get("points", 0.0)
        factors.add_row(
            plain(item.get("factor")),
            Text(f"{pts:+.2f}", style="green" if pts > 0 else "red"),
            plain(item.get("detail", "")),
        )
    return Panel(Group(head, body, factors), title=f"ai prediction ({result.get('model_id', '')})", expand=False)


def grade_table(result: dict[str, Any]) -> Table:
    """Grades A+ to F per player and matchup, with the projection and the main reason."""
    games = [g.get("game") or {} for g in result.get("grades", [])]
    weeks = {(x.get("season"), x.get("week")) for x in games}
    week = (
        f" {games[0].get('season')} week {games[0].get('week')}" if len(weeks) == 1 and games[0].get("season") else ""
    )
    table = Table(title=f"matchup grades{week}", title_justify="left")
    for col in ("player", "game", "kickoff", "grade", "percentile", "proj", "why"):
        table.add_column(col)
    for g in result.get("grades", []):
        reasons = g.get("reasons") or [""]
        table.add_row(
            plain(g["player"]["name"]),
            plain(game_text(g)),
            plain(kickoff_text(g.get("game"))),
            plain(g.get("grade"), "bold"),
            plain(f"{g.get('percentile', 0):.0f}"),
            plain(f"{g['projection']['points']:.1f}"),
            plain(reasons[1] if len(reasons) > 1 else reasons[0]),
        )
    return table


def slate_table(result: dict[str, Any]) -> Table:
    """A week's slate ranked by the model's projection, with a bar for each projection."""
    rows = result.get("slate", [])
    top = max((r["projection"]["high"] for r in rows), default=1.0) or 1.0
    table = Table(
        title=f"{result.get('season')} week {result.get('week')} slate"
        + (f", {result['position']}" if result.get("position") else ""),
        title_justify="left",
    )
    for col in ("#", "player", "pos", "team", "opp", "proj", "80% range", "", "grade"):
        table.add_column(col)
    for r in rows:
        proj = r["projection"]
        bar = Text("█" * round(proj["points"] / top * SLATE_BAR_WIDTH), style="cyan")
        table.add_row(
            plain(r.get("rank")),
            plain(r.get("name")),
            plain(r.get("position")),
            plain(r.get("team")),
            plain(r.get("opponent")),
            plain(f"{proj['points']:.1f}"),
            plain(points_range(proj)),
            bar,
            plain(r.get("grade")),
        )
    return table
