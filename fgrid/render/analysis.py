"""Views of the matchup engine's results: one analysis (with his recent weeks as a sparkline), a ranked comparison
(with each 80% range as a bar on a shared scale, and the advice), a backtest (with its calibration)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, JustifyMethod
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fgrid.render.lineup import game_text, kickoff_text
from fgrid.render.text import RangeChart, cut, number, plain, points_range, sparkline, verdict_text

#: Characters of the matchup score's bar.
SCORE_BAR_WIDTH = 20
RANKING_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("#", "right"),
    ("player", "left"),
    ("pos", "left"),
    ("opp", "left"),
    ("proj", "right"),
    ("80% range", "right"),
    ("matchup", "right"),
    ("verdict", "left"),
    ("start", "left"),
)


def analysis_summary(result: dict[str, Any]) -> Text:
    """One line: player vs opponent, score, projection and verdict."""
    p, proj, rec = result["player"], result["projection"], result["recommendation"]
    line = Text()
    g = result.get("game") or {}
    line.append(
        f"{p['name']} ({p['position']}, {p['team']}) {game_text(result)}, {g.get('season')} week "
        f"{g.get('week')}{' (hypothetical)' if result.get('hypothetical') else ''}: "
    )
    line.append(f"matchup {result['matchup_score']:.0f}/100, ")
    line.append(f"{proj['points']:.1f} pts ({proj['low']:.1f}-{proj['high']:.1f}), ")
    line.append_text(verdict_text(rec["verdict"]))
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
    kickoff = f", {kickoff_text(g)} ET {g.get('kickoff')}" if g.get("kickoff") else ""
    head.append(f"\n{g['season']} week {g['week']}{kickoff}, {where}" + (f", {venue_name}" if venue_name else ""))
    if result.get("hypothetical"):
        head.append("\nhypothetical game (--what-if): not on the schedule", style="yellow")
    if g.get("when"):
        head.append(f"\n{g['when']}", style="dim")

    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column()
    score = result["matchup_score"]
    summary.add_row("matchup score", Text(f"{score:.0f} / 100  ") + score_bar(score))
    summary.add_row(
        "projection",
        plain(
            f"{proj['points']:.1f} {result.get('scoring', 'ppr').upper()} points "
            f"(80%: {proj['low']:.1f} to {proj['high']:.1f})"
        ),
    )
    recent = result.get("recent_points")
    if recent:
        summary.add_row(f"last {len(recent)} games", recent_text(recent))
    note = (result.get("interval") or {}).get("note")
    if note:
        summary.add_row("interval", plain(note, "dim"))
    summary.add_row("verdict", verdict_text(rec["verdict"]) + plain(f"  (confidence {rec['confidence']:.0%})"))

    # A bullet column of its own: a reason that wraps goes on under its own text, not under the bullet.
    reasons = Table.grid(padding=(0, 1))
    reasons.add_column(no_wrap=True)
    reasons.add_column()
    for reason in rec.get("reasons", []):
        reasons.add_row("•", plain(str(reason)))

    factors = Table(title="factors", title_justify="left", expand=False)
    factors.add_column("factor")
    factors.add_column("value", justify="right")
    factors.add_column("effect (pts)", justify="right")
    for f in result.get("factors", []):
        effect = f.get("effect")
        style = "green" if effect and effect > 0 else "red" if effect and effect < 0 else ""
        value = f.get("value")
        factors.add_row(
            plain(f.get("name")),
            plain(f"{value:.3g}" if isinstance(value, float) else value),
            Text(f"{effect:+.2f}" if isinstance(effect, (int, float)) else "", style=style),
        )
    footer = plain(f"data through {result.get('data_through')}", "dim")
    return Panel(
        Group(head, Text(""), summary, Text(""), reasons, Text(""), factors, footer),
        title="matchup analysis",
        expand=False,
    )


def recent_text(points: list[float]) -> Text:
    """A player's recent weekly points as a sparkline, oldest first, then their range and mean:
    ``▆▄▄▆▃█▃▄  10.2-25.3, mean 17.3``."""
    values = [float(v) for v in points]
    line = sparkline(values)
    line.append(f"  {min(values):.1f}-{max(values):.1f}, mean {sum(values) / len(values):.1f}", style="")
    return line


def score_bar(score: float, width: int = SCORE_BAR_WIDTH) -> Text:
    """A bar for a 0-100 score, green above 55, red at 45 and below."""
    filled = max(0, min(width, round(score / 100 * width)))
    style = "green" if score >= 55 else "red" if score <= 45 else "yellow"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def ranking_table(result: dict[str, Any]) -> Table:
    """A comparison, ranked: rank, player, opponent, projection and range, score, verdict, start."""
    week = f" {result['season']} week {result['week']}" if result.get("season") else ""
    what_if = " (hypothetical games)" if result.get("hypothetical") else ""
    kickoffs: dict[str, str] = {}
    for row in result.get("ranking", []):
        a = row.get("analysis", row)
        team, when = a["player"].get("team"), kickoff_text(a.get("game"))
        if when:
            kickoffs.setdefault(f"{team} {game_text(a)}", when)
    caption = "; ".join(filter(None, [result.get("when"), ", ".join(f"{g} {k}" for g, k in kickoffs.items())]))
    caption += "; opp: @ away, * neutral site" if caption else ""
    table = Table(
        title=f"comparison{week}{what_if}", title_justify="left", caption=plain(caption, "dim"), caption_justify="left"
    )
    for col, justify in RANKING_COLUMNS:
        table.add_column(col, justify=justify)
    for row in result.get("ranking", []):
        a = row.get("analysis", row)
        proj = a["projection"]
        table.add_row(
            plain(row.get("rank")),
            plain(a["player"]["name"]),
            plain(a["player"]["position"]),
            plain(game_text(a, compact=True)),
            plain(f"{proj['points']:.1f}"),
            plain(points_range(proj)),
            plain(f"{a['matchup_score']:.0f}"),
            verdict_text(a["recommendation"]["verdict"]),
            Text("✔ start" if row.get("start") else "", style="bold green"),
        )
    return table


def comparison_view(result: dict[str, Any]) -> Group:
    """A comparison: the ranking, each projection's 80% range on one scale, and the advice (the result's summary)."""
    parts: list[Any] = [ranking_table(result)]
    rows = [
        (cut(row.get("analysis", row)["player"]["name"]), row.get("analysis", row)["projection"])
        for row in result.get("ranking", [])
    ]
    if rows:
        parts += [Text(""), RangeChart(rows)]
    if result.get("summary"):
        parts += [Text(""), plain(result["summary"], "bold")]
    return Group(*parts)


def backtest_table(report: dict[str, Any]) -> Table:
    """MAE per position beside the naive baseline's on the same rows, their ratio, and interval coverage."""
    weeks = report.get("weeks") or []
    weeks_text = f"weeks {weeks[0]}-{weeks[-1]}" if weeks else "no weeks"
    table = Table(
        title=f"backtest {report.get('season')} {weeks_text}, {str(report.get('scoring')).upper()}, "
        f"{report.get('predictor')} vs baseline",
        title_justify="left",
    )
    for col in ("position", "rows", "MAE", "baseline MAE", "ratio", "80% coverage", "pairs right", "baseline's"):
        table.add_column(col, justify="left" if col == "position" else "right")
    for group, row in report["summary"]["by_position"].items():
        ratio = row.get("ratio")
        style = "" if ratio is None else "green" if ratio < 1 else "red"
        table.add_row(
            plain(group, "bold" if group == "ALL" else ""),
            plain(f"{row['rows']:,}"),
            plain(number(row["mae"])),
            plain(number(row["baseline_mae"])),
            plain(number(ratio), style),
            plain(number(row["coverage"])),
            plain(number(row.get("pair_accuracy"))),
            plain(number(row.get("baseline_pair_accuracy"))),
        )
    return table


#: Characters of a calibration bar; and the shares an 80% interval should leave below and above it.
CALIBRATION_BAR_WIDTH = 30
IDEAL_OUTSIDE = 0.10


def calibration_bar(below: float, above: float, width: int = CALIBRATION_BAR_WIDTH) -> Text:
    """Where actual points fell against the 80% interval, as one bar: ``▒`` below it (left), ``█`` inside, ``▒``
    above it (right); a calibrated interval is about 10% / 80% / 10%."""
    n_below, n_above = round(below * width), round(above * width)
    n_inside = max(0, width - n_below - n_above)
    return (
        Text("▒" * n_below, style="red")
        + Text("█" * n_inside, style="green")
        + Text("▒" * (width - n_below - n_inside), style="yellow")
    )


def calibration_table(report: dict[str, Any]) -> Table | None:
    """Per position, the share of actual points below, inside and above the predicted 80% interval, as numbers and
    a bar (None when the summary has no such shares)."""
    groups = {
        g: row
        for g, row in report["summary"]["by_position"].items()
        if row.get("rows") and row.get("below") is not None and row.get("above") is not None
    }
    if not groups:
        return None
    table = Table(
        title="calibration: actual points against the 80% interval",
        title_justify="left",
        caption=f"a calibrated interval: {IDEAL_OUTSIDE:.0%} below, {1 - 2 * IDEAL_OUTSIDE:.0%} inside, "
        f"{IDEAL_OUTSIDE:.0%} above",
        caption_justify="left",
        box=None,
        pad_edge=False,
    )
    for col, justify in (
        ("position", "left"),
        ("below", "right"),
        ("inside", "right"),
        ("above", "right"),
        ("below ▒ inside █ above ▒", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for group, row in groups.items():
        below, above = float(row["below"]), float(row["above"])
        table.add_row(
            plain(group, "bold" if group == "ALL" else ""),
            plain(f"{below:.1%}"),
            plain(f"{1 - below - above:.1%}"),
            plain(f"{above:.1%}"),
            calibration_bar(below, above),
        )
    return table


def backtest_view(report: dict[str, Any]) -> Group:
    """A backtest: the accuracy table, then the interval's calibration (when the summary has it)."""
    parts: list[Any] = [backtest_table(report)]
    calibration = calibration_table(report)
    if calibration is not None:
        parts += [Text(""), calibration]
    return Group(*parts)
