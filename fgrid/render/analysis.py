"""Pure rendering: data in, Rich renderables out. No I/O, no loops; the CLI refreshes them.

Player and team names are user data: they go into ``Text`` objects, never into markup strings.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fgrid.render.common import plain, state_text

VERDICT_STYLES = {"START": "bold green", "FLEX": "bold yellow", "SIT": "bold red"}


def task_table(rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """A table of tasks being followed: id, task, state, progress (when any), worker, elapsed."""
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
        progress = row.get("progress") or {}
        elapsed = row.get("elapsed")
        cells = [plain(row.get("task_id")), plain(str(row.get("name") or "").removeprefix("fgrid.")),
                 state_text(row.get("state", ""))]
        if show_progress:
            done = (f"{progress['done']}/{progress['total']}" if "done" in progress else
                    f"{progress.get('stage', '')} {progress.get('percent', '')}%" if progress else "")
            cells.append(plain(done))
        cells += [plain(row.get("worker") or "-"), plain(f"{elapsed:.1f}s" if elapsed is not None else "")]
        table.add_row(*cells)
    return table


def status_table(doc: dict[str, Any]) -> Table:
    """The status document as a two-column table."""
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
        table.add_row("result", result(value) or plain(value if isinstance(value, str) else _compact(value)))
    return table


def _compact(value: Any) -> str:
    import json

    text = json.dumps(value, default=str)
    return text if len(text) < 400 else text[:397] + "..."


def analysis_summary(result: dict[str, Any]) -> Text:
    """One line: player vs opponent, score, projection and verdict."""
    p, o, proj, rec = result["player"], result["opponent"], result["projection"], result["recommendation"]
    line = Text()
    line.append(f"{p['name']} ({p['position']}, {p['team']}) vs {o['code']}: ")
    line.append(f"matchup {result['matchup_score']:.0f}/100, ")
    line.append(f"{proj['points']:.1f} pts ({proj['low']:.1f}-{proj['high']:.1f}), ")
    line.append(rec["verdict"], style=VERDICT_STYLES.get(rec["verdict"], ""))
    return line


def analysis_panel(result: dict[str, Any]) -> Panel:
    """A matchup analysis: header, projection with its range, verdict, reasons and factors."""
    p, o, g = result["player"], result["opponent"], result["game"]
    proj, rec = result["projection"], result["recommendation"]
    head = Text()
    head.append(f"{p['name']}", style="bold")
    head.append(f"  {p['position']}, {p['team']}  vs  ")
    head.append(f"{o['code']} ({o['name']})", style="bold")
    where = "neutral site" if g.get("neutral") else {True: "home", False: "away"}.get(g.get("home"), "venue unknown")
    venue = g.get("venue") or {}
    venue_name = venue.get("name") if isinstance(venue, dict) else venue
    head.append(f"\n{g['season']} week {g['week']}, {where}" + (f", {venue_name}" if venue_name else ""))

    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("matchup score", Text(f"{result['matchup_score']:.0f} / 100  ") + score_bar(result["matchup_score"]))
    summary.add_row("projection", plain(f"{proj['points']:.1f} {result.get('scoring', 'ppr').upper()} points "
                                     f"(80%: {proj['low']:.1f} to {proj['high']:.1f})"))
    summary.add_row("verdict", Text(rec["verdict"], style=VERDICT_STYLES.get(rec["verdict"], "")) +
                    plain(f"  (confidence {rec['confidence']:.0%})"))

    reasons = Text()
    for reason in rec.get("reasons", []):
        reasons.append("• ")
        reasons.append(str(reason))
        reasons.append("\n")

    factors = Table(title="factors", title_justify="left", expand=False)
    factors.add_column("factor")
    factors.add_column("value", justify="right")
    factors.add_column("effect (pts)", justify="right")
    for f in result.get("factors", []):
        effect = f.get("effect")
        style = "green" if effect and effect > 0 else "red" if effect and effect < 0 else ""
        value = f.get("value")
        factors.add_row(plain(f.get("name")), plain(f"{value:.3g}" if isinstance(value, float) else value),
                        Text(f"{effect:+.2f}" if isinstance(effect, (int, float)) else "", style=style))
    footer = plain(f"data through {result.get('data_through')}", "dim")
    return Panel(Group(head, Text(""), summary, Text(""), reasons, factors, footer), title="matchup analysis",
                 expand=False)


def score_bar(score: float, width: int = 20) -> Text:
    """A bar for a 0-100 score, green above 50, red below."""
    filled = max(0, min(width, round(score / 100 * width)))
    style = "green" if score >= 55 else "red" if score <= 45 else "yellow"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def ranking_table(result: dict[str, Any]) -> Table:
    """A comparison, ranked: rank, player, opponent, projection and range, score, verdict, start."""
    table = Table(title="comparison", title_justify="left")
    for col, justify in (("#", "right"), ("player", "left"), ("pos", "left"), ("opp", "left"),
                         ("proj", "right"), ("80% range", "right"), ("matchup", "right"), ("verdict", "left"),
                         ("start", "left")):
        table.add_column(col, justify=justify)
    for row in result.get("ranking", []):
        a = row.get("analysis", row)
        rec = a["recommendation"]
        table.add_row(
            plain(row.get("rank")), plain(a["player"]["name"]), plain(a["player"]["position"]), plain(a["opponent"]["code"]),
            plain(f"{a['projection']['points']:.1f}"), plain(f"{a['projection']['low']:.1f}-{a['projection']['high']:.1f}"),
            plain(f"{a['matchup_score']:.0f}"), Text(rec["verdict"], style=VERDICT_STYLES.get(rec["verdict"], "")),
            Text("✔ start" if row.get("start") else "", style="bold green"),
        )
    return table


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
    for col, justify in (("season", "right"), ("weeks", "left"), ("rows", "right")):
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


def backtest_table(report: dict[str, Any]) -> Table:
    """MAE per position beside the naive baseline's on the same rows, their ratio, and interval coverage."""
    weeks = report.get("weeks") or []
    span = f"weeks {weeks[0]}-{weeks[-1]}" if weeks else "no weeks"
    table = Table(title=f"backtest {report.get('season')} {span}, {str(report.get('scoring')).upper()}, "
                        f"{report.get('predictor')} vs baseline", title_justify="left")
    for col in ("position", "rows", "MAE", "baseline MAE", "ratio", "80% coverage"):
        table.add_column(col, justify="left" if col == "position" else "right")
    for group, row in report["summary"]["by_position"].items():
        ratio = row.get("ratio")
        style = "" if ratio is None else "green" if ratio < 1 else "red"
        table.add_row(
            plain(group, "bold" if group == "ALL" else ""), plain(f"{row['rows']:,}"),
            plain(f"{row['mae']:.3f}" if row["mae"] is not None else "-"),
            plain(f"{row['baseline_mae']:.3f}" if row["baseline_mae"] is not None else "-"),
            plain(f"{ratio:.3f}" if ratio is not None else "-", style),
            plain(f"{row['coverage']:.3f}" if row["coverage"] is not None else "-"),
        )
    return table


def _all_metrics(metrics: Any) -> dict[str, Any]:
    if not isinstance(metrics, dict):
        return {}
    groups = metrics.get("by_position") or (metrics.get("validation") or {}).get("by_position") or metrics
    return groups if isinstance(groups, dict) else {}


def model_table(models: list[dict[str, Any]], title: str = "models", metrics: bool = False) -> Group:
    """Trained models: id, scoring, seasons, validation ratio to the baseline and coverage (ALL)."""
    table = Table(title=title, title_justify="left")
    for col in ("model", "scoring", "seasons", "validation MAE / baseline", "80% coverage", "latest"):
        table.add_column(col)
    for m in models:
        overall = _all_metrics(m.get("metrics")).get("ALL") or {}
        seasons = m.get("seasons") or []
        table.add_row(plain(m.get("model_id")), plain(m.get("scoring")),
                      plain(f"{min(seasons)}-{max(seasons)}" if seasons else "-"),
                      plain(f"{overall['ratio']:.3f}" if overall.get("ratio") is not None else "-"),
                      plain(f"{overall['coverage']:.3f}" if overall.get("coverage") is not None else "-"),
                      plain("✔" if m.get("latest", True) else ""))
    parts: list[Any] = [table]
    if metrics and models:
        detail = Table(title="validation by position", title_justify="left")
        for col in ("position", "rows", "MAE", "baseline MAE", "ratio", "coverage"):
            detail.add_column(col, justify="left" if col == "position" else "right")
        for group, row in _all_metrics(models[0].get("metrics")).items():
            if not isinstance(row, dict) or "mae" not in row:
                continue
            fmt = (lambda v: "-" if v is None else f"{v:.3f}")
            detail.add_row(plain(group), plain(row.get("rows")), plain(fmt(row.get("mae"))), plain(fmt(row.get("baseline_mae"))),
                           plain(fmt(row.get("ratio"))), plain(fmt(row.get("coverage"))))
        parts.append(detail)
    return Group(*parts)


def prediction_panel(result: dict[str, Any]) -> Panel:
    """The ai model's prediction: projection with range, grade and percentile, and the factors behind it."""
    p, o, proj = result["player"], result["opponent"], result["projection"]
    head = Text()
    head.append(str(p["name"]), style="bold")
    head.append(f"  {p['position']}, {p['team']}  vs  {o['code']}")
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
        factors.add_row(plain(item.get("factor")), Text(f"{pts:+.2f}", style="green" if pts > 0 else "red"),
                        plain(item.get("detail", "")))
    return Panel(Group(head, body, factors), title=f"ai prediction ({result.get('model_id', '')})", expand=False)


def grade_table(result: dict[str, Any]) -> Table:
    """Grades A+ to F per player and matchup, with the projection and the main reason."""
    table = Table(title="matchup grades", title_justify="left")
    for col in ("player", "opp", "grade", "percentile", "proj", "why"):
        table.add_column(col)
    for g in result.get("grades", []):
        reasons = g.get("reasons") or [""]
        table.add_row(plain(g["player"]["name"]), plain(g["opponent"]["code"]), plain(g.get("grade"), "bold"),
                      plain(f"{g.get('percentile', 0):.0f}"), plain(f"{g['projection']['points']:.1f}"),
                      plain(reasons[1] if len(reasons) > 1 else reasons[0]))
    return table


def slate_table(result: dict[str, Any]) -> Table:
    """A week's slate ranked by the model's projection, with a bar for each projection."""
    rows = result.get("slate", [])
    top = max((r["projection"]["high"] for r in rows), default=1.0) or 1.0
    table = Table(title=f"{result.get('season')} week {result.get('week')} slate"
                        + (f", {result['position']}" if result.get("position") else ""), title_justify="left")
    for col in ("#", "player", "pos", "team", "opp", "proj", "80% range", "", "grade"):
        table.add_column(col)
    for r in rows:
        proj = r["projection"]
        width = 20
        bar = Text("█" * round(proj["points"] / top * width), style="cyan")
        table.add_row(plain(r.get("rank")), plain(r.get("name")), plain(r.get("position")), plain(r.get("team")),
                      plain(r.get("opponent")), plain(f"{proj['points']:.1f}"), plain(f"{proj['low']:.1f}-{proj['high']:.1f}"),
                      bar, plain(r.get("grade")))
    return table


def result(value: Any) -> Any:
    """The renderable for a task's result, by its shape (None if it has no special one)."""
    if not isinstance(value, dict):
        return None
    if "ranking" in value:
        return ranking_table(value)
    if "matchup_score" in value:
        return analysis_panel(value)
    if "explanation" in value:
        return prediction_panel(value)
    if "grades" in value:
        return grade_table(value)
    if "slate" in value:
        return slate_table(value)
    if "summary" in value and "by_position" in value.get("summary", {}):
        return backtest_table(value)
    if "model_id" in value and "metrics" in value:
        return model_table([value], title="trained model", metrics=True)
    return None
