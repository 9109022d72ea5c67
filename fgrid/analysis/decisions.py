"""How often the advice would have been right: the start/sit decisions a projection makes, scored on past weeks.

- :func:`pair_accuracy` (kept in :mod:`fgrid.analysis.backtest`, whose summary reports it): of two players at
  the same position in the same week, did the one projected higher score more? (Pairs whose scores tie are left
  out; a tie in projection counts half.) This is the question "A or B?".
- :func:`lineup_backtest`: every team's real roster-of-N each week (its top :data:`ROSTER` by PPR points a game
  over their last 8 games, among the players who played that week: inactive players are known before kickoff)
  gets a lineup (:func:`fgrid.analysis.lineup.assign`) chosen by the projection, by the naive baseline (the
  recent weighted average), and in hindsight (by the points actually scored); each lineup scores its starters'
  actual points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from fgrid.analysis import backtest as bt
from fgrid.analysis.backtest import pair_accuracy, pair_counts
from fgrid.analysis.feature_store import POSITIONS
from fgrid.analysis.features import player_game_features
from fgrid.analysis.lineup import DEFAULT_SLOTS, assign

__all__ = ["ROSTER", "lineup_backtest", "pair_accuracy", "pair_counts", "rosters"]

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: A roster-of-N: players per position taken from each team each week (a 13-man fantasy roster's shape).
ROSTER = {"QB": 2, "RB": 4, "WR": 5, "TE": 2}


def rosters(frame: pl.DataFrame, sizes: dict[str, int] | None = None) -> pl.DataFrame:
    """Each (season, week, team)'s roster-of-N from ``frame`` (rows of players who played): its top ``sizes``
    players per position by ``mean8_ppr`` (ties by id), with a ``roster`` column naming the team-week."""
    sizes = sizes or ROSTER
    ranked = frame.with_columns(pl.col("mean8_ppr").fill_nan(None).fill_null(0.0).alias("_form")).sort(
        ["season", "week", "team", "position", "_form", "player_id"],
        descending=[False, False, False, False, True, False],
    )
    ranked = ranked.with_columns(pl.int_range(pl.len()).over("season", "week", "team", "position").alias("_rank"))
    limit = pl.col("position").replace_strict(sizes, default=0, return_dtype=pl.Int64)
    return ranked.filter(pl.col("_rank") < limit).drop("_form", "_rank")


def lineup_backtest(
    ds: Dataset,
    season: int,
    weeks: Sequence[int] | None = None,
    scoring: str = "ppr",
    predictor: bt.Predictor | None = None,
    slots: Sequence[str] = DEFAULT_SLOTS,
    sizes: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Replay every team's roster-of-N each week of ``season`` (``weeks``, default all with stats): the lineup the
    projection picks, the baseline's pick and the best in hindsight, each scored by its starters' actual points.

    Returns {season, weeks, scoring, slots, roster, lineups (team-weeks), points {chosen, baseline, best} (mean
    starters' points per lineup), share_of_best {chosen, baseline}, beats_baseline (share of lineups where the
    projection's pick outscored the baseline's; ties half), perfect {chosen, baseline} (share of lineups equal to
    the best)}.
    """
    st = bt._check(ds, season, scoring)
    available = bt.season_weeks(ds, season, scoring)
    weeks = available if weeks is None else [w for w in sorted(set(weeks)) if w in available]
    frame = player_game_features(st).filter(
        (pl.col("season") == season)
        & pl.col("week").is_in(list(weeks))
        & (pl.col("game_type") == "REG")
        & (pl.col("n_prev") >= 1)
        & pl.col("position").is_in(list(POSITIONS))
    )
    frame = rosters(frame, sizes).sort("season", "week", "team", "position", "player_id")
    pred = bt._predict(ds, st, frame, predictor)
    frame = frame.with_columns(pl.Series("projected", pred["projected"]), pl.col("ewm_pts").alias("baseline"))
    totals = {"chosen": [], "baseline": [], "best": []}  # type: dict[str, list[float]]
    for _key, group in frame.group_by("week", "team", maintain_order=True):
        pos = group["position"].to_list()
        actual = np.maximum(group["actual"].to_numpy(), 0.0)
        for name, col in (("chosen", "projected"), ("baseline", "baseline"), ("best", "actual")):
            values = actual if col == "actual" else np.nan_to_num(group[col].to_numpy())
            chosen = assign(pos, values.tolist(), list(slots))
            totals[name].append(float(sum(actual[i] for i in chosen if i is not None)))
    arr = {k: np.array(v) for k, v in totals.items()}
    n = len(arr["best"])

    def mean(x: np.ndarray) -> float | None:
        return round(float(x.mean()), 2) if n else None

    best_sum = float(arr["best"].sum()) or 1.0
    wins = (arr["chosen"] > arr["baseline"]).sum() + 0.5 * (arr["chosen"] == arr["baseline"]).sum()
    return {
        "season": season,
        "weeks": list(weeks),
        "scoring": st.scoring,
        "slots": list(slots),
        "roster": dict(sizes or ROSTER),
        "lineups": n,
        "points": {k: mean(v) for k, v in arr.items()},
        "share_of_best": {k: round(float(arr[k].sum()) / best_sum, 4) for k in ("chosen", "baseline")},
        "beats_baseline": round(float(wins) / n, 4) if n else None,
        "perfect": {
            k: round(float(np.isclose(arr[k], arr["best"]).mean()), 4) if n else None for k in ("chosen", "baseline")
        },
    }
