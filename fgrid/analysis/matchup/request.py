"""Resolve a matchup request: what a user typed (a player, an opponent, maybe a location, season and week) to one
game, as a :class:`MatchupRequest`, or an InputError saying what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from fgrid.analysis import players, teams, venues
from fgrid.analysis.feature_store import (
    BLOCK,
    KEY_SEASON,
    POS_INDEX,
    POSITIONS,
    FeatureStore,
    GameContext,
    game_key,
    store,
)
from fgrid.analysis.features import compute_one
from fgrid.analysis.scoring import check as check_scoring
from fgrid.analysis.venues import Venue
from fgrid.errors import InputError

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset


@dataclass(frozen=True)
class MatchupRequest:
    """A resolved request: who, against whom, which game (or a hypothetical one), where, in which scoring."""

    player_id: str
    player_name: str
    position: str
    team: str
    opponent: str
    season: int
    week: int
    home: bool | None  # the schedule's home side; None for a hypothetical game at no known venue
    neutral: bool  # a neutral site: no home-field effect
    venue: Venue | None
    game_id: str | None  # None for a hypothetical game (no scheduled game between the teams that week)
    gameday: date | None
    scoring: str
    location: str | None  # the location asked for (as a stadium id), if any

    def task_kwargs(self) -> dict[str, Any]:
        """The canonical kwargs of the analysis task (player id, opponent code, season, week resolved)."""
        return {
            "player": self.player_id,
            "opponent": self.opponent,
            "location": self.location,
            "season": self.season,
            "week": self.week,
            "scoring": self.scoring,
        }


def team_meetings(st: FeatureStore) -> dict[tuple[str, str], list[int]]:
    """Keys of every scheduled game between two teams, sorted, by (team, opponent)."""
    found = st.extras.get("meetings")
    if found is None:
        found = {}
        for (season, week, team), ctx in st.contexts.items():
            found.setdefault((team, ctx.opponent), []).append(game_key(season, week))
        for keys in found.values():
            keys.sort()
        reg = sorted({c.key for c in st.contexts.values() if c.game_type == "REG"})
        st.extras["reg_keys"] = np.array(reg, dtype=np.int64)
        weeks: dict[int, int] = {}
        for season, week, _team in st.contexts:
            weeks[season] = max(weeks.get(season, 0), week)
        st.extras["season_weeks"] = weeks
        st.extras["meetings"] = found  # last: its presence means the others are there
    return found


def _team_at(st: FeatureStore, pidx: int, key: int) -> tuple[int, int]:
    """(team index, position index) of the player for a game at ``key``: that game's row if he has one, else his
    last game before it, else his first game after it."""
    rows = st.player_rows(pidx)
    r = int(np.searchsorted(st.p_comb[rows], pidx * BLOCK + key)) + rows.start
    if st.p_key[r] == key or r == rows.start:
        return int(st.p_team[r]), int(st.p_pos[r])
    return int(st.p_team[r - 1]), int(st.p_pos[r - 1])


def _next_reg_key(st: FeatureStore) -> int:
    """The first regular-season week after the data's last game (or week 1 of the season after)."""
    team_meetings(st)
    reg = st.extras["reg_keys"]
    i = int(np.searchsorted(reg, st.last_key, side="right"))
    return int(reg[i]) if i < len(reg) else game_key(st.last_stats_season + 1, 1)


def resolve_request(
    ds: Dataset,
    player: str,
    opponent: str,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
) -> MatchupRequest:
    """Resolve a matchup request against the data, or raise InputError saying what is wrong.

    ``player`` is a name or an id (:func:`players.resolve_player`), ``opponent`` a team code, city or nickname,
    ``location`` a city (``Santa Clara, CA``), stadium name or stadium id. With neither ``season`` nor ``week``,
    the game is the next scheduled one between the player's team and the opponent after the data's last game,
    else a hypothetical game in the first regular-season week after the data. With ``season`` only, it is the
    teams' first meeting that season (after the data's last game, if any is). A week with no game between the
    teams is an error in a season the schedules cover; ``location`` must be the game's venue (or, for a
    hypothetical game, either team's home or a neutral site) and sets home or away.
    """
    scoring = check_scoring(scoring)
    st = store(ds, scoring)
    meetings = team_meetings(st)
    season_weeks: dict[int, int] = st.extras["season_weeks"]
    found = players.resolve_player(ds, str(player), season=season)
    pidx = st.player_index.get(found.id)
    if pidx is None:
        raise InputError(f"no games for {found.name} in the synced data")
    opp = teams.resolve_team(str(opponent)).code
    if opp not in st.team_index:
        raise InputError(f"no games for team {opp} in the synced data")

    first, last = st.first_stats_season, max(max(season_weeks, default=0), st.last_stats_season + 1)
    if season is not None and not first <= season <= last:
        raise InputError(f"season {season} is out of range; the data covers {first}-{last}")
    if week is not None and season is not None:
        max_week = season_weeks.get(season, 18)
        if not 1 <= week <= max_week:
            raise InputError(f"week {week} is out of range for {season} (1-{max_week})")

    latest_team = st.teams[int(st.p_team[st.player_rows(pidx).stop - 1])]
    # A hypothetical game (no scheduled game between the teams) only by default, or in a season not scheduled.
    hypothetical_ok = False
    if season is None and week is None:
        later = [k for k in meetings.get((latest_team, opp), []) if k > st.last_key]
        hypothetical_ok = not later
        key = later[0] if later else _next_reg_key(st)
    elif week is None:
        assert season is not None
        tidx_s, _ = _team_at(st, pidx, game_key(season, 1))
        keys = [k for k in meetings.get((st.teams[tidx_s], opp), []) if k // KEY_SEASON == season]
        keys = keys or [k for k in meetings.get((latest_team, opp), []) if k // KEY_SEASON == season]
        if keys:
            later = [k for k in keys if k > st.last_key]
            key = later[0] if later else keys[0]
        elif season in season_weeks:
            raise InputError(f"{st.teams[tidx_s]} and {opp} do not play each other in {season}; give a week")
        else:
            hypothetical_ok = True
            key = game_key(season, 1)
    else:
        if season is None:
            season = _next_reg_key(st) // KEY_SEASON
            if not 1 <= week <= season_weeks.get(season, 18):
                raise InputError(f"week {week} is out of range for {season} (1-{season_weeks.get(season, 18)})")
        hypothetical_ok = season not in season_weeks
        key = game_key(season, week)
    season, week = key // KEY_SEASON, key % KEY_SEASON

    tidx, pos_idx = _team_at(st, pidx, key)
    team = st.teams[tidx]
    position = POSITIONS[pos_idx] if pos_idx >= 0 else found.position
    if position not in POSITIONS:
        raise InputError(f"{found.name} is a {position}; fgrid projects QB, RB, WR and TE")
    if team == opp:
        raise InputError(f"{opp} is {found.name}'s own team in {season}; pick another opponent")
    ctx = st.context(season, week, team)
    if ctx is None or ctx.opponent != opp:
        if not hypothetical_ok:
            what = f"{team} plays {ctx.opponent}" if ctx else f"{team} has no game"
            raise InputError(f"no {team}-{opp} game in {season} week {week} ({what} that week)")
        ctx = None

    venue = None
    asked = None
    if location is not None and str(location).strip():
        venue = venues.resolve_location(str(location))
        asked = venue.stadium_id
    if ctx is not None:
        game_venue = venues.get_venue(ctx.stadium_id) if ctx.stadium_id else None
        if venue is not None:
            home_side = team if ctx.nominal_home else opp
            same = venue.stadium_id == ctx.stadium_id or (not ctx.neutral and home_side in venue.home_teams)
            if not same:
                where = f"{ctx.stadium} ({game_venue.location})" if game_venue else ctx.stadium or ctx.stadium_id
                raise InputError(
                    f"the {season} week {week} {team}-{opp} game is at {where}, not at {venue.name} ({venue.location})"
                )
        venue = game_venue or venue
        home: bool | None = ctx.nominal_home
        neutral = ctx.neutral
        game_id, gameday = ctx.game_id, ctx.gameday
    else:
        game_id, gameday, home, neutral = None, None, None, False
        if venue is not None:
            if team in venue.home_teams:
                home = True
            elif opp in venue.home_teams:
                home = False
            elif venue.neutral:
                neutral = True
            else:
                raise InputError(
                    f"{venue.name} ({venue.location}) is neither {team}'s nor {opp}'s home, nor a neutral site"
                )
    return MatchupRequest(
        player_id=found.id, player_name=found.name, position=position, team=team, opponent=opp, season=season,
        week=week, home=home, neutral=neutral, venue=venue, game_id=game_id, gameday=gameday, scoring=scoring,
        location=asked,
    )


def features_for_request(st: FeatureStore, req: MatchupRequest) -> tuple[dict[str, float], GameContext | None]:
    """The features of :func:`fgrid.analysis.features.compute_one` for ``req``, and its scheduled game (None for a
    hypothetical one, whose home side and roof come from the request)."""
    ctx = st.context(req.season, req.week, req.team) if req.game_id else None
    if ctx is not None:
        home, implied, indoor, temp, wind, rest = ctx.home, ctx.implied, ctx.indoor, ctx.temp, ctx.wind, ctx.rest
    else:
        nan = float("nan")
        home = 0 if req.home is None or req.neutral else (1 if req.home else -1)
        indoor = req.venue is not None and req.venue.roof == "dome"
        implied, temp, wind, rest = nan, nan, nan, nan
    feats = compute_one(
        st,
        st.player_index[req.player_id],
        st.team_index[req.team],
        st.team_index[req.opponent],
        req.season,
        req.week,
        POS_INDEX[req.position],
        home=float(home),
        implied=float(implied),
        indoor=bool(indoor),
        temp=float(temp),
        wind=float(wind),
        rest=float(rest),
    )
    return feats, ctx
