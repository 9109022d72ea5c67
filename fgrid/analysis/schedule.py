"""The schedule as a fantasy player reads it: which week "the week" is, a team's games, and the sentence that says
why a request names no game.

"The week" of a request without a season or week is the first regular-season week after the data's last game with
stats (:func:`next_week`): the synced schedule may list later games with final scores (the 2024 hold-out), but an
analysis can only use games it has stats for, so the first week after them is the next one fgrid can advise on.
"""

from __future__ import annotations

from dataclasses import dataclass

from fgrid.analysis.feature_store import KEY_SEASON, FeatureStore, GameContext, game_key

#: Games listed in "X's next games: ...".
NEXT_GAMES_LISTED = 4
#: Regular-season weeks assumed for a season the schedule does not cover.
DEFAULT_SEASON_WEEKS = 18


@dataclass(frozen=True)
class Week:
    """One week of one season, and how it was chosen (``note``: a phrase a person can read)."""

    season: int
    week: int
    note: str

    @property
    def key(self) -> int:
        """The week's ordering key."""
        return game_key(self.season, self.week)


def _reg_weeks(st: FeatureStore) -> list[int]:
    """Keys of every regular-season week in the schedule, sorted."""
    found = st.extras.get("schedule.reg_weeks")
    if found is None:
        found = sorted({c.key for c in st.contexts.values() if c.game_type == "REG"})
        st.extras["schedule.reg_weeks"] = found
    return found


def season_weeks(st: FeatureStore, season: int) -> int:
    """The last week (REG or POST) the schedule has for ``season`` (:data:`DEFAULT_SEASON_WEEKS` when none)."""
    weeks = st.extras.get("schedule.season_weeks")
    if weeks is None:
        weeks = {}
        for s, w, _team in st.contexts:
            weeks[s] = max(weeks.get(s, 0), w)
        st.extras["schedule.season_weeks"] = weeks
    return int(weeks.get(season, DEFAULT_SEASON_WEEKS))


def scheduled(st: FeatureStore, season: int) -> bool:
    """True when the synced schedule has games in ``season``."""
    season_weeks(st, season)
    return season in st.extras["schedule.season_weeks"]


def data_end(st: FeatureStore) -> str:
    """The data's last week with stats, as "2023 week 18"."""
    return f"{st.last_key // KEY_SEASON} week {st.last_key % KEY_SEASON}"


def next_week(st: FeatureStore) -> Week:
    """The first regular-season week after the data's last game (week 1 of the next season if the schedule has
    none after it): "the week" of a request that names none."""
    keys = [k for k in _reg_weeks(st) if k > st.last_key]
    key = keys[0] if keys else game_key(st.last_stats_season + 1, 1)
    season, week = key // KEY_SEASON, key % KEY_SEASON
    first = (
        "the first week after your data"
        if week == 1 or key // KEY_SEASON != st.last_key // KEY_SEASON
        else "the next week after your data"
    )
    return Week(season, week, f"{first} (through {data_end(st)})")


def describe(st: FeatureStore, season: int, week: int) -> str:
    """How (``season``, ``week``) stands against the data: after it (an advice week) or played (a replay using only
    the games before it)."""
    nxt = next_week(st)
    if (season, week) == (nxt.season, nxt.week):
        return f"{season} week {week}, {nxt.note}"
    if game_key(season, week) > st.last_key:
        return f"{season} week {week}, after your data (through {data_end(st)})"
    return f"{season} week {week}, a played week: the analysis uses only the games before it"


def team_games(st: FeatureStore, team: str, season: int, from_week: int = 1) -> list[GameContext]:
    """``team``'s scheduled games of ``season`` from ``from_week`` on, in week order."""
    games = [c for (s, _w, t), c in st.contexts.items() if s == season and t == team and c.week >= from_week]
    return sorted(games, key=lambda c: c.week)


def game_phrase(ctx: GameContext) -> str:
    """ "week 1 at JAX", "week 2 vs BUF" (vs: at home; at: away; "vs ... (neutral)" at a neutral site)."""
    if ctx.neutral:
        return f"week {ctx.week} vs {ctx.opponent} (neutral site)"
    return f"week {ctx.week} {'vs' if ctx.nominal_home else 'at'} {ctx.opponent}"


def next_games(st: FeatureStore, team: str, season: int, from_week: int = 1, n: int = NEXT_GAMES_LISTED) -> str:
    """ "MIA's next games: week 1 vs JAX, week 2 vs BUF, ..." from ``from_week`` of ``season`` on (the whole
    season's first games when none are left), or that the schedule has none."""
    games = team_games(st, team, season, from_week) or team_games(st, team, season)
    if not games:
        return f"the synced schedule has no {season} games for {team}"
    listed = ", ".join(game_phrase(c) for c in games[:n])
    more = ", ..." if len(games) > n else ""
    label = "next games" if games[0].week >= from_week else f"{season} games"
    return f"{team}'s {label}: {listed}{more}"


def meetings(st: FeatureStore, team: str, opponent: str, season: int) -> list[GameContext]:
    """``team``'s scheduled games against ``opponent`` in ``season``, in week order."""
    return [c for c in team_games(st, team, season) if c.opponent == opponent]


def bye_or_other(st: FeatureStore, team: str, season: int, week: int) -> str:
    """What ``team`` does in that week instead: "MIA plays at JAX" or "MIA has a bye"."""
    ctx = st.context(season, week, team)
    if ctx is None:
        return f"{team} has a bye" if scheduled(st, season) else f"the schedule has no {season} games"
    return f"{team} plays {game_phrase(ctx).split(' ', 2)[2]}"
