"""What every view shares: plain text that is never read as markup, and one way to show a state, a verdict, a
number, a range of points, a duration, a memory size and an age.

Player and team names, task summaries and worker names are data: they go into ``Text`` objects, never into markup.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from rich.text import Text

STATE_STYLES = {
    "PENDING": "yellow",
    "STARTED": "cyan",
    "PROGRESS": "cyan",
    "RETRY": "magenta",
    "SUCCESS": "green",
    "FAILURE": "red",
    "REVOKED": "red",
}
VERDICT_STYLES = {"START": "bold green", "FLEX": "bold yellow", "SIT": "bold red"}
#: Characters of a JSON value shown in a table cell before it is cut with "...".
COMPACT_JSON_CHARS = 400


def plain(value: Any, style: str = "") -> Text:
    """``value`` as text that Rich never reads as markup (None as empty)."""
    return Text("" if value is None else str(value), style=style)


def cut(value: Any, style: str = "") -> Text:
    """``value`` on one line, cut with an ellipsis when its column is squeezed."""
    return Text("" if value is None else str(value), style=style, no_wrap=True, overflow="ellipsis")


def state_text(state: str) -> Text:
    """A task state, coloured."""
    return Text(state, style=STATE_STYLES.get(state, ""))


def verdict_text(verdict: str) -> Text:
    """START, FLEX or SIT, coloured."""
    return Text(verdict, style=VERDICT_STYLES.get(verdict, ""))


def number(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or - when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def points_range(projection: dict[str, Any]) -> str:
    """A projection's 80% interval as low-high points."""
    return f"{projection['low']:.1f}-{projection['high']:.1f}"


def span(values: Iterable[int], empty: str = "-") -> str:
    """The first and last of ``values`` as 2019-2023 (``empty`` when there are none)."""
    values = list(values)
    return f"{min(values)}-{max(values)}" if values else empty


def compact_json(value: Any) -> str:
    """``value`` as one line of JSON, cut to fit a table cell."""
    text = json.dumps(value, default=str)
    return text if len(text) < COMPACT_JSON_CHARS else text[: COMPACT_JSON_CHARS - 3] + "..."


def seconds(value: float | None) -> str:
    """A duration as 4ms, 0.42s, 12s, 3.0m or 2.0h."""
    if value is None:
        return "-"
    if value < 0.1:
        return f"{value * 1000:.0f}ms"
    if value < 10:
        return f"{value:.2f}s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}s"


def memory(kib: int | None) -> str:
    """KiB as MiB."""
    return "-" if kib is None else f"{kib / 1024:.0f} MiB"


def ago(timestamp: float | None, now: float | None = None) -> str:
    """Seconds from ``timestamp`` to ``now`` (default: the clock) as 3s, 4m or 2h."""
    if not timestamp:
        return "-"
    elapsed = max(0.0, (time.time() if now is None else now) - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if elapsed >= size:
            return f"{elapsed / size:.0f}{unit}"
    return f"{elapsed:.0f}s"


#: Characters of a short task id (as git and docker show ids).
SHORT_ID = 8
#: Names people use for fgrid's tasks: the command that queues each (a comparison's ranking step is the comparison).
TASK_LABELS = {
    "fgrid.analyze_player": "analyze",
    "fgrid.compare_players": "compare",
    "fgrid.rank_comparison": "compare",
    "fgrid.backtest": "backtest",
    "fgrid.backtest_week": "backtest week",
    "fgrid.backtest_summary": "backtest",
    "fgrid.ai.train": "train",
    "fgrid.ai.predict": "predict",
    "fgrid.ai.grade": "grade",
    "fgrid.ai.slate": "slate",
}
SPARK_CHARS = "▁▂▃▄▅▆▇█"


def short_id(task_id: Any) -> str:
    """The first :data:`SHORT_ID` characters of a task id (any command taking an id accepts them)."""
    return "" if task_id is None else str(task_id)[:SHORT_ID]


def task_label(name: Any) -> str:
    """A task's name as people know it: the command that queued it (``compare``, ``train``)."""
    if not name:
        return "-"
    name = str(name)
    return TASK_LABELS.get(name) or name.removeprefix("fgrid.").replace("ai.", "").replace("_", "-")


def progress_text(progress: dict[str, Any] | None, bar_width: int = 10) -> Text:
    """What a running task reports: ``fit ███████░░░ 77%`` for a stage and a percentage, ``3/8 parts`` for a
    fan-out; empty when it reports nothing."""
    if not progress:
        return Text("")
    text = Text()
    stage, done, total, percent = (progress.get(k) for k in ("stage", "done", "total", "percent"))
    if stage:
        text.append(f"{stage} ")
    if done is not None and total:
        text.append(f"{done}/{total} parts ")
    if percent is not None and bar_width:
        filled = max(0, min(bar_width, round(float(percent) / 100 * bar_width)))
        text.append("█" * filled, style="cyan")
        text.append("░" * (bar_width - filled), style="dim")
        text.append(f" {float(percent):.0f}%")
    text.rstrip()
    return text


def sparkline(values: Iterable[float | None]) -> Text:
    """``values`` as a one-line chart of block characters, scaled from 0 to the largest (a gap as a space)."""
    values = list(values)
    top = max([v for v in values if v is not None] + [0.0])
    text = Text(style="cyan")
    for value in values:
        if value is None:
            text.append(" ")
        else:
            level = 0 if top <= 0 else round(max(value, 0) / top * (len(SPARK_CHARS) - 1))
            text.append(SPARK_CHARS[level])
    return text


def range_bar(low: float, mean: float, high: float, scale: tuple[float, float], width: int = 24) -> Text:
    """An interval ``low``-``high`` with its ``mean`` as a bar on a shared ``scale`` (lowest, highest), ``width``
    characters: ``····━━━━●━━━━······``. Bars on one scale compare at a glance."""
    lo, hi = scale
    span_ = (hi - lo) or 1.0

    def at(value: float) -> int:
        return max(0, min(width - 1, round((value - lo) / span_ * (width - 1))))

    start, middle, end = at(low), at(mean), at(high)
    text = Text()
    for i in range(width):
        if i == middle:
            text.append("●", style="bold")
        elif start <= i <= end:
            text.append("━", style="cyan")
        else:
            text.append("·", style="dim")
    return text


class FitTable:
    """A table that fits the screen: fixed columns keep their width, the flexible ones (a ``ratio``) share what is
    left, never narrower than their header, so no header and no id is ever cut; a wider screen widens the flexible
    columns up to their content. No borders: a column costs its content and two spaces.

    ``columns``: (header, justify, ratio) with ratio 0 for a fixed column; ``rows``: one Text per column.
    """

    GAP = 2

    def __init__(
        self,
        columns: list[tuple[str, str, int]],
        rows: list[list[Text]],
        title: str | None = None,
        caption: str | None = None,
    ):
        self.columns = columns
        self.rows = rows
        self.title = title
        self.caption = caption

    def widths(self, width: int) -> list[int]:
        """Each column's width for a screen ``width`` characters wide."""
        natural = [
            max([len(header), *(row[i].cell_len for row in self.rows)]) for i, (header, _, _) in enumerate(self.columns)
        ]
        flexible = [i for i, (_, _, ratio) in enumerate(self.columns) if ratio]
        widths = [len(header) if ratio else natural[i] for i, (header, _, ratio) in enumerate(self.columns)]
        room = width - sum(widths) - self.GAP * (len(self.columns) - 1)
        growing = [i for i in flexible if widths[i] < natural[i]]
        while room > 0 and growing:
            total = sum(self.columns[i][2] for i in growing)
            given = 0
            for i in growing:
                share = max(1, room * self.columns[i][2] // total)
                add = min(share, natural[i] - widths[i], room - given)
                widths[i] += add
                given += add
            room -= given
            growing = [i for i in growing if widths[i] < natural[i]]
            if not given:
                break
        return widths

    def table(self, width: int) -> Any:
        from rich.table import Table

        table = Table(
            title=self.title,
            title_justify="left",
            title_style="bold",
            caption=self.caption,
            caption_justify="left",
            box=None,
            padding=(0, self.GAP // 2),
            pad_edge=False,
            header_style="bold",
            show_edge=False,
        )
        for (header, justify, _), cells in zip(self.columns, self.widths(width), strict=True):
            table.add_column(header, justify=justify, no_wrap=True, overflow="ellipsis", width=cells)  # type: ignore[arg-type]
        for row in self.rows:
            table.add_row(*row)
        return table

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.table(options.max_width)

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        natural = self.widths(10_000)
        total = sum(natural) + self.GAP * (len(self.columns) - 1)
        return Measurement(min(total, options.max_width), min(total, options.max_width))


class RangeChart:
    """Each projection's 80% interval as a :func:`range_bar` on one shared scale (0 to the highest ``high``), one
    row per player: label, bar and low-high, with the scale's ends above the bars. The bars take what the screen
    leaves after the labels, between :attr:`MIN_BAR` and :attr:`MAX_BAR` characters.

    ``rows``: (label, projection {points, low, high}) in the order to show."""

    MIN_BAR = 12
    MAX_BAR = 40
    #: Widest label before it is cut with an ellipsis.
    MAX_LABEL = 28
    GAP = 2

    def __init__(self, rows: list[tuple[Text, dict[str, Any]]], title: str = "80% range, points (● projection)"):
        self.rows = rows
        self.title = title

    def scale(self) -> tuple[float, float]:
        """0 to the highest ``high``, rounded up to a multiple of 5 points."""
        top = max([float(p["high"]) for _label, p in self.rows] + [5.0])
        return 0.0, float(-(-top // 5) * 5)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.table import Table

        if not self.rows:
            return
        yield Text(self.title, style="bold", no_wrap=True, overflow="ellipsis")
        label_w = min(self.MAX_LABEL, max(label.cell_len for label, _p in self.rows))
        ranges = [points_range(p) for _label, p in self.rows]
        range_w = max(len(r) for r in ranges)
        label_w = max(1, min(label_w, options.max_width - range_w - self.MIN_BAR - 2 * self.GAP))
        bar_w = max(self.MIN_BAR, min(self.MAX_BAR, options.max_width - label_w - range_w - 2 * self.GAP))
        lo, hi = self.scale()
        table = Table.grid(padding=(0, self.GAP // 2), pad_edge=False)
        table.add_column(width=label_w, no_wrap=True, overflow="ellipsis")
        table.add_column(width=bar_w, no_wrap=True)
        table.add_column(width=range_w, justify="right", no_wrap=True)
        ends = Text(f"{lo:g}" + f"{hi:g}".rjust(bar_w - len(f"{lo:g}")), style="dim")
        table.add_row(Text(""), ends, Text(""))
        for (label, proj), shown in zip(self.rows, ranges, strict=True):
            table.add_row(
                label,
                range_bar(float(proj["low"]), float(proj["points"]), float(proj["high"]), (lo, hi), width=bar_w),
                Text(shown),
            )
        yield table
