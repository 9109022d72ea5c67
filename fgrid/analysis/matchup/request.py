"""Resolve a matchup request: what a user typed (a player, an opponent, maybe a location, season and week) to one
game, as a :class:`MatchupRequest`, or an InputError saying what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from fgrid.analysis import players, schedule, teams, venues
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

    @property
    def hypothetical(self) -> bool:
        """True for a what-if game: no scheduled game between the teams that week."""
        return self.game_id is None

    def task_kwargs(self) -> dict[str, Any]:
        """The canonical kwargs of the analysis task (player id, opponent code, season, week resolved; ``what_if``
        only for a hypothetical game, so a scheduled game's message reads as before)."""
        kwargs: dict[str, Any] = {
            "player": self.player_id,
            "opponent": self.opponent,
            "location": self.location,
            "season": self.season,
            "week": self.week,
            "scoring": self.scoring,
        }
        return {**kwargs, "what_if": True} if self.hypothetical else kwargs


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


def team_at(st: FeatureStore, pidx: int, key: int) -> tuple[int, int]:
    """(team index, position index) of player ``pidx`` for a game at ``key`` (see :func:`_team_at`)."""
    return _team_at(st, pidx, key)


def _next_reg_key(st: FeatureStore) -> int:
    """The first regular-season week after the data's last game (or week 1 of the season after)."""
    return schedule.next_week(st).key


def resolve_request(
    ds: Dataset,
    player: str,
    opponent: str | None = None,
    location: str | None = None,
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    what_if: bool = False,
) -> MatchupRequest:
    """Resolve a matchup request against the data and the schedule, or raise InputError with one sentence that
    helps (naming the team's next games).

    ``player`` is a name or an id (:func:`players.resolve_player`), ``opponent`` a team code, city or nickname
    (None: the scheduled opponent that week), ``location`` a city (``Santa Clara, CA``), stadium name or stadium id.
    The week: with neither ``season`` nor ``week``, the week after the data (:func:`schedule.next_week`), or with an
    opponent the teams' next meeting in that week's season; with ``season`` only, the teams' first meeting that
    season; ``week`` alone is in the season of the week after the data. The game must be on the schedule: a week in
    which the player's team has a bye or plays someone else is an error, unless ``what_if``, which builds a
    hypothetical game against ``opponent`` (at ``location``: home, away or neutral from the venue). ``location``
    must be a scheduled game's venue.
    """
    scoring = check_scoring(scoring)
    st = store(ds, scoring)
    team_meetings(st)
    found = players.resolve_player(ds, str(player), season=season)
    pidx = st.player_index.get(found.id)
    if pidx is None:
        raise InputError(f"no games for {found.name} in the synced data")
    opp = teams.resolve_team(str(opponent)).code if opponent is not None and str(opponent).strip() else None
    if opp is not None and opp not in st.team_index:
        raise InputError(f"no games for team {opp} in the synced data")

    upcoming = schedule.next_week(st)
    first, last = st.first_stats_season, max(upcoming.season, max(st.extras["season_weeks"], default=0))
    if season is not None and not first <= season <= last:
        raise InputError(f"season {season} is out of range; the data covers {first}-{last}")
    if week is not None:
        in_season = upcoming.season if season is None else season
        max_week = schedule.season_weeks(st, in_season)
        if not 1 <= week <= max_week:
            raise InputError(f"week {week} is out of range for {in_season} (1-{max_week})")

    if season is None and week is None:
        key = upcoming.key
        if opp is not None:
            team_now = st.teams[_team_at(st, pidx, key)[0]]
            if team_now == opp:
                raise InputError(f"{opp} is {found.name}'s own team in {upcoming.season}; pick another opponent")
            later = [c.key for c in schedule.meetings(st, team_now, opp, upcoming.season) if c.key >= key]
            if later:
                key = later[0]
            elif not what_if:
                upcoming_games = schedule.next_games(st, team_now, upcoming.season, upcoming.week)
                raise InputError(
                    f"{team_now} does not play {opp} in {upcoming.season} after your data (through "
                    f"{schedule.data_end(st)}); {upcoming_games}; add --what-if for a hypothetical game"
                )
    elif week is None:
        assert season is not None
        team_s = st.teams[_team_at(st, pidx, game_key(season, 1))[0]]
        if opp is None:
            if season != upcoming.season:
                raise InputError(f"give a week with season {season}: a decision is about one week")
            key = upcoming.key
        else:
            if team_s == opp:
                raise InputError(f"{opp} is {found.name}'s own team in {season}; pick another opponent")
            games = schedule.meetings(st, team_s, opp, season)
            later = [c.key for c in games if c.key > st.last_key]
            if games:
                key = later[0] if later else games[0].key
            elif what_if:
                key = upcoming.key if season == upcoming.season else game_key(season, 1)
            else:
                raise InputError(
                    f"{team_s} does not play {opp} in {season}; {schedule.next_games(st, team_s, season)}"
                    "; add --what-if for a hypothetical game"
                )
    else:
        key = game_key(upcoming.season if season is None else season, week)
    season, week = key // KEY_SEASON, key % KEY_SEASON

    tidx, pos_idx = _team_at(st, pidx, key)
    team = st.teams[tidx]
    position = POSITIONS[pos_idx] if pos_idx >= 0 else found.position
    if position not in POSITIONS:
        raise InputError(f"{found.name} is a {position}; fgrid projects QB, RB, WR and TE")
    ctx = st.context(season, week, team)
    if opp is None:
        if ctx is None:
            why = schedule.bye_or_other(st, team, season, week)
            raise InputError(
                f"{found.name}'s team {why} in {season} week {week}; "
                f"{schedule.next_games(st, team, season, week)}; or name an opponent with --what-if"
            )
        opp = ctx.opponent
    if team == opp:
        raise InputError(f"{opp} is {found.name}'s own team in {season}; pick another opponent")
    if ctx is None or ctx.opponent != opp:
        if not what_if:
            why = schedule.bye_or_other(st, team, season, week)
            raise InputError(
                f"{team} does not play {opp} in {season} week {week} ({why} that week); "
                f"{schedule.next_games(st, team, season, week)}; add --what-if for a hypothetical game"
            )
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
        player_id=found.id,
        player_name=found.name,
        position=position,
        team=team,
        opponent=opp,
        season=season,
        week=week,
        home=home,
        neutral=neutral,
        venue=venue,
        game_id=game_id,
        gameday=gameday,
        scoring=scoring,
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


def decision_week(
    ds: Dataset, season: int | None = None, week: int | None = None, scoring: str = "ppr"
) -> schedule.Week:
    """The one week of a decision (a comparison, grades, a lineup) about several players: the week after the data
    (:func:`schedule.next_week`) without ``season`` and ``week``; ``week`` alone is in that week's season; a
    ``season`` alone is that same week if it is its season, else an InputError asking for a week."""
    st = store(ds, check_scoring(scoring))
    upcoming = schedule.next_week(st)
    if season is None and week is None:
        return upcoming
    if week is None:
        if season != upcoming.season:
            raise InputError(
                f"give a week with season {season}: a comparison, grades or a lineup are about one week "
                f"for all players (without either, {upcoming.season} week {upcoming.week}, "
                f"{upcoming.note})"
            )
        return upcoming
    season = upcoming.season if season is None else season
    return schedule.Week(season, week, schedule.describe(st, season, week).split(", ", 1)[1])


def resolve_week(
    ds: Dataset,
    players_: list[str],
    opponents: list[str | None],
    season: int | None = None,
    week: int | None = None,
    scoring: str = "ppr",
    what_if: bool = False,
) -> list[MatchupRequest]:
    """Resolve several players' games in ONE week (:func:`decision_week`): each against his scheduled opponent
    (an opponent of None), or the one given, which must be the scheduled one unless ``what_if``. InputError (the
    sentence of :func:`resolve_request`) for the first player the schedule cannot answer."""
    chosen = decision_week(ds, season, week, scoring)
    return [
        resolve_request(ds, p, o, None, chosen.season, chosen.week, scoring, what_if=what_if)
        for p, o in zip(players_, opponents, strict=True)
    ]
