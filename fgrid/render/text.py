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
    return text if len(text) < COMPACT_JSON_CHARS else text[:COMPACT_JSON_CHARS - 3] + "..."


def seconds(value: float | None) -> str:
    """A duration as 0.42s, 12s, 3.0m or 2.0h."""
    if value is None:
        return "-"
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
