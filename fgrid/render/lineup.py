"""Views of a lineup: starters by slot, the bench with its gaps, players out; and the lineup backtest's figures.

The lineup view fits 80 columns: short columns, names cut with an ellipsis when squeezed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fgrid.render.text import RangeChart, cut, number, plain

#: Width the lineup view is laid out for.
LINEUP_WIDTH = 80
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def game_text(row: dict[str, Any], compact: bool = False) -> str:
    """ "vs SF" (home), "@CLE" (away), "v NYG (n)" (neutral), "v NYG ?" (hypothetical at no venue); ``compact``:
    "SF" at home, as fantasy sites print it, "@CLE" away, "NYG*" neutral, "NYG?" at no known venue."""
    opp = (row.get("opponent") or {}).get("code", "")
    game = row.get("game") or {}
    home = game.get("home")
    if compact:
        return f"{opp}*" if game.get("neutral") else opp if home else f"@{opp}" if home is False else f"{opp}?"
    if game.get("neutral"):
        return f"v {opp} (n)"
    return f"vs {opp}" if home else f"@{opp}" if home is False else f"v {opp} ?"


def kickoff_text(game: dict[str, Any] | None) -> str:
    """ "Sun 13:00" from a game's kickoff date and Eastern time; "what-if" for a hypothetical game."""
    game = game or {}
    if game.get("hypothetical"):
        return "what-if"
    day = game.get("kickoff")
    if not day:
        return ""
    import datetime as dt

    try:
        weekday = _DAYS[dt.date.fromisoformat(str(day)).weekday()]
    except ValueError:
        return str(day)
    return f"{weekday} {game.get('kickoff_time') or ''}".strip()


def lineup_title(result: dict[str, Any]) -> str:
    """ "lineup 2024 week 1, PPR, engine"."""
    week = f"{result.get('season')} week {result.get('week')}" if result.get("season") else "lineup"
    return f"lineup {week}, {str(result.get('scoring') or '').upper()}, {result.get('model')}"


def lineup_table(result: dict[str, Any]) -> Group:
    """Starters by slot (slot, player, pos, game, kickoff, projection and range), the bench (gap to the starter he
    would replace), players out, every projection's 80% range as a bar on one scale (starters, then the bench),
    with the week and how it stands against the data."""
    starters = Table(title=lineup_title(result), title_justify="left")
    for col in ("slot", "player", "pos", "game", "kickoff", "proj", "80% range"):
        starters.add_column(
            col,
            justify="right" if col in ("proj", "80% range") else "left",
            no_wrap=col != "player",
            max_width=22 if col == "player" else None,
        )
    for s in result.get("starters", []):
        proj = s["projection"]
        starters.add_row(
            plain(s["slot"], "bold"),
            cut(s["player"]["name"]),
            plain(s["player"]["position"]),
            plain(game_text(s)),
            plain(kickoff_text(s.get("game"))),
            plain(f"{proj['points']:.1f}"),
            plain(f"{proj['low']:.1f}-{proj['high']:.1f}"),
        )
    for slot in result.get("empty_slots", []):
        starters.add_row(plain(slot, "bold"), plain("(nobody eligible)", "dim"), *[plain("")] * 5)
    parts: list[Any] = [starters]
    if result.get("bench"):
        bench = Table(title="bench", title_justify="left")
        for col in ("player", "pos", "game", "proj", "gap", "would replace"):
            bench.add_column(
                col,
                justify="right" if col in ("proj", "gap") else "left",
                no_wrap=col not in ("player", "would replace"),
                max_width=22 if col in ("player", "would replace") else None,
            )
        for b in result["bench"]:
            gap = b.get("gap")
            bench.add_row(
                cut(b["player"]["name"]),
                plain(b["player"]["position"]),
                plain(game_text(b)),
                plain(f"{b['projection']['points']:.1f}"),
                plain(f"-{gap:.1f}" if isinstance(gap, (int, float)) else "", "red"),
                cut(b.get("replaces") or b.get("note") or ""),
            )
        parts.append(bench)
    if result.get("out"):
        out = Table(title="out", title_justify="left")
        out.add_column("player", max_width=28)
        out.add_column("pos")
        out.add_column("why")
        for o in result["out"]:
            out.add_row(cut(o["player"]["name"]), plain(o["player"].get("position")), plain(o.get("reason")))
        parts.append(out)
    slot_w = max([2] + [len(str(s["slot"])) for s in result.get("starters", [])])
    chart = [
        (_chart_label(s["slot"], s["player"]["name"], slot_w), s["projection"]) for s in result.get("starters", [])
    ]
    chart += [(_chart_label("BN", b["player"]["name"], slot_w), b["projection"]) for b in result.get("bench", [])]
    if chart:
        parts += [Text(""), RangeChart(chart)]
    foot = Text()
    foot.append(str(result.get("summary") or ""))
    if result.get("when"):
        foot.append(f"\n{result['when']}", style="dim")
    parts.append(foot)
    return Group(*parts)


def _chart_label(slot: str, name: str, width: int) -> Text:
    """ "WR   CeeDee Lamb": the slot (BN for the bench) padded to ``width``, then the name (data, not markup)."""
    label = Text(f"{slot:<{width}} ", style="bold")
    label.append(name)
    return label


def lineup_backtest_table(report: dict[str, Any]) -> Group:
    """The lineup backtest: mean starters' points of the chosen lineup, the baseline's and the best in hindsight;
    and the share of same-position pairs each projection ordered right."""
    weeks = report.get("weeks") or []
    span = f"weeks {weeks[0]}-{weeks[-1]}" if weeks else "no weeks"
    table = Table(
        title=f"lineups {report.get('season')} {span}, {str(report.get('scoring')).upper()}: "
        f"{report.get('lineups')} team-weeks, {','.join(report.get('slots') or [])}",
        title_justify="left",
    )
    for col in ("lineup", "points a week", "share of best", "same as best"):
        table.add_column(col, justify="left" if col == "lineup" else "right")
    points, share, perfect = report.get("points", {}), report.get("share_of_best", {}), report.get("perfect", {})
    for key, label in (
        ("chosen", f"chosen ({report.get('predictor', 'engine')})"),
        ("baseline", "baseline"),
        ("best", "best in hindsight"),
    ):
        table.add_row(
            plain(label),
            plain(number(points.get(key))),
            plain(number(share.get(key, 1.0 if key == "best" else None))),
            plain(number(perfect.get(key, 1.0 if key == "best" else None))),
        )
    parts: list[Any] = [table]
    pairs = report.get("pairs")
    if pairs:
        acc = Table(title="same-position pairs ordered right", title_justify="left")
        for col in ("position", "pairs", "projection", "baseline"):
            acc.add_column(col, justify="left" if col == "position" else "right")
        for group, row in pairs["projection"].items():
            acc.add_row(
                plain(group),
                plain(f"{row['pairs']:,}"),
                plain(number(row["accuracy"])),
                plain(number(pairs["baseline"][group]["accuracy"])),
            )
        parts.append(acc)
    beats = report.get("beats_baseline")
    if beats is not None:
        parts.append(
            plain(f"the chosen lineup outscored the baseline's in {beats:.0%} of team-weeks (ties half)", "dim")
        )
    return Group(*parts)
