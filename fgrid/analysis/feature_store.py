"""The feature store: every player's and team's pre-game state before each of their games, as numpy arrays.

:func:`build` turns a dataset's weekly player stats and schedules into a :class:`FeatureStore`, once per
(dataset, scoring); :func:`store` caches it on the :class:`~fgrid.analysis.dataset.Dataset` (or finds it there,
read from the version's precomputed copy, :mod:`fgrid.analysis.precomputed`). :mod:`fgrid.analysis.features`
evaluates the features of any target from it.

No leakage by construction: a row's state at (season, week) comes only from games with a smaller key
``season * 100 + week`` (earlier weeks of its season, earlier seasons and their playoffs).

Units: points are fantasy points in the store's scoring (``ppr``, ``half`` or ``standard``) per game; shares are
fractions of the team's total over the games the player played (rebuilt from team-week totals, since the 2019-2020
files lack share columns); volumes are per team game.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from fgrid.analysis.scoring import points_expr

if TYPE_CHECKING:
    from fgrid.analysis.dataset import Dataset

#: Positions the engine analyses, in the order of every per-position array.
POSITIONS = ("QB", "RB", "WR", "TE")
POS_INDEX = {p: i for i, p in enumerate(POSITIONS)}

#: A game's ordering key is ``season * KEY_SEASON + week``; an entity's rows are keyed ``index * BLOCK + key``.
KEY_SEASON = 100
BLOCK = 1_000_000
#: Key of the sentinel row closing each player's and team's block: "after every game in the data".
SENTINEL_KEY = BLOCK - 1

#: The naive baseline (and the engine's anchor): exponentially weighted mean of the player's earlier games,
#: weight 0.85 per game back, over his last 16 games (REG and POST, any season, in date order).
BASELINE_DECAY = 0.85
BASELINE_WINDOW = 16
#: Longer-run form: 0.95 per game back over 32 games (steadier; points are noisy week to week).
LONG_DECAY = 0.95
LONG_WINDOW = 32
#: The mean of PPR points over a player's last RECENT_WINDOW games (``mean8_ppr``: a backtest's eligibility).
RECENT_WINDOW = 8
#: Usage (shares of team targets, carries, air yards, pass attempts and points) is weighted 0.8 per game back
#: over 10 games: roles change faster than points settle.
USAGE_DECAY = 0.8
USAGE_WINDOW = 10
#: Usage trend: the last TREND_WINDOW games, equally weighted, against the weighted usage.
TREND_WINDOW = 3
#: A team's volume per game (targets, carries, air yards, pass attempts, points): 0.8 per game back over 12.
TEAM_DECAY = 0.8
TEAM_WINDOW = 12

#: Defence vs position: points a defence allowed to a position over what its opponents' offences usually score
#: there (the schedule adjustment), shrunk toward a prior by DEF_PRIOR_GAMES games' worth of evidence, so early in
#: a season it stays near the prior. The prior is last season's final ratio regressed DEF_CARRYOVER of the way
#: from 1 (rosters and schemes change).
DEF_PRIOR_GAMES = 4.0
DEF_CARRYOVER = 0.35
#: An offence's average points at a position is shrunk by OFF_PRIOR_GAMES games of league average.
OFF_PRIOR_GAMES = 2.0
#: Weeks per season in the tables (REG up to 18, POST up to 22), plus one "end of season" slot.
MAX_WEEK = 23

#: Roofs under which wind and temperature do not reach the field.
INDOOR_ROOFS = frozenset({"dome", "closed"})

_USAGE_STATS = ("targets", "carries", "receiving_air_yards", "attempts")
#: Team volumes per game, in each team row's state (and the columns of ``FeatureStore.t_matrix``).
TEAM_STATS = ("team_tgt", "team_car", "team_ay", "team_att", "team_pts")
#: Player-state arrays copied into every feature row (and the columns of ``FeatureStore.p_matrix``).
STATE_FEATURES = (
    "n_prev",
    "ewm_pts",
    "ewm_long",
    "mean8_ppr",
    "tgt_share",
    "car_share",
    "ay_share",
    "att_share",
    "pts_share",
    "tgt_share_recent",
    "car_share_recent",
    "ay_share_recent",
)
_CACHE_PREFIX = "features.store."


@dataclass(frozen=True)
class GameContext:
    """One team's view of one scheduled game: pre-game columns only (plus ids, date and names)."""

    season: int
    week: int
    team: str
    opponent: str
    game_id: str | None
    game_type: str | None
    gameday: dt.date | None
    home: int  # +1 home, -1 away, 0 at a neutral site
    nominal_home: bool  # the schedule's home side (also at a neutral site)
    neutral: bool
    implied: float  # Vegas implied team total, points (nan when unknown)
    spread: float  # the team's line, points, > 0 when it is favoured (nan when unknown)
    total: float  # the game's over/under, points (nan when unknown)
    roof: str | None
    surface: str | None
    temp: float  # degrees F at kickoff; nan when unknown or indoors
    wind: float  # mph at kickoff; nan when unknown or indoors
    rest: float  # days since the team's previous game (nan when unknown)
    opp_rest: float
    stadium_id: str | None
    stadium: str | None
    kickoff_time: str | None = None  # "13:00", US Eastern (the schedule's gametime)

    @property
    def key(self) -> int:
        """The game's ordering key."""
        return self.season * KEY_SEASON + self.week

    @property
    def indoor(self) -> bool:
        """True under a dome or a closed roof."""
        return self.roof in INDOOR_ROOFS


@dataclass
class FeatureStore:
    """Everything :func:`fgrid.analysis.features.compute` needs, as numpy arrays and dicts; built once per
    (dataset, scoring)."""

    scoring: str
    version: str
    teams: list[str]
    team_index: dict[str, int]
    player_ids: list[str]
    player_index: dict[str, int]
    player_names: list[str]
    # Player blocks: one row per game sorted by (player, key), then one sentinel row per player.
    p_comb: np.ndarray  # player index * BLOCK + key
    p_key: np.ndarray
    p_team: np.ndarray  # team index of the row's game (the sentinel: the player's latest team)
    p_pos: np.ndarray  # position index of the row's game, -1 if not QB/RB/WR/TE (sentinel: latest)
    p_start: np.ndarray  # first row of each player's block
    p_state: dict[str, np.ndarray]  # each row's pre-game state, from strictly earlier games
    p_game: dict[str, np.ndarray]  # each row's own game (pts, ppr, gameday); nan/-1 on sentinels
    # Team blocks, same layout.
    t_comb: np.ndarray
    t_key: np.ndarray
    t_state: dict[str, np.ndarray]
    # Defence vs position as of the start of each (season, week): ratio[season - first_season, week, team, pos].
    first_season: int
    def_ratio: np.ndarray
    def_games: np.ndarray
    contexts: dict[tuple[int, int, str], GameContext]
    # Every (season, week) key with stats, sorted, and the date of its last game: "data through" as of a key.
    week_keys: np.ndarray
    week_last_day: list[dt.date | None]
    first_stats_season: int
    last_stats_season: int
    last_key: int  # key of the last game with stats
    last_day: dt.date | None  # date of the last game with stats
    #: Derived tables other modules cache here (indexes, the engine), keyed by their name (or a (name, arguments)
    #: tuple for tables that depend on arguments).
    extras: dict[str | tuple[Any, ...], Any] = field(default_factory=dict)
    #: Row-major copies of the state (one row per player or team row) for :func:`fgrid.analysis.features.compute_one`.
    p_matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    t_matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        if self.p_matrix.size == 0 and self.p_state:
            self.p_matrix = np.column_stack([self.p_state[n] for n in STATE_FEATURES])
            self.t_matrix = np.column_stack([self.t_state[n] for n in TEAM_STATS])

    def context(self, season: int, week: int, team: str) -> GameContext | None:
        """The scheduled game of ``team`` in (season, week), if any."""
        return self.contexts.get((season, week, team))

    def data_through(self, key: int) -> dt.date | None:
        """Date of the last game with stats before ``key`` (the newest game an analysis at ``key`` can use)."""
        i = int(np.searchsorted(self.week_keys, key)) - 1
        return self.week_last_day[i] if i >= 0 else None

    def player_rows(self, pidx: int) -> slice:
        """The rows of one player's block (his games, then the sentinel)."""
        stop = self.p_start[pidx + 1] if pidx + 1 < len(self.p_start) else len(self.p_key)
        return slice(int(self.p_start[pidx]), int(stop))


def game_key(season: int, week: int) -> int:
    """The ordering key of (season, week)."""
    return season * KEY_SEASON + week


def store_key(scoring: str) -> str:
    """The key of the store of ``scoring`` in ``Dataset.derived``."""
    return _CACHE_PREFIX + scoring


def store(ds: Dataset, scoring: str = "ppr") -> FeatureStore:
    """The :class:`FeatureStore` of ``ds`` in ``scoring``, built on first use (or read from the version's precomputed
    copy, see :mod:`fgrid.analysis.precomputed`) and kept on the dataset."""
    name = store_key(scoring)
    found = ds.derived.get(name)
    if found is None:
        found = ds.derived.setdefault(name, build(ds.stats, ds.schedules, scoring, version=str(ds.version)))
    return found


def points(stats: pl.DataFrame, scoring: str) -> np.ndarray:
    """Fantasy points of every stats row in ``scoring`` (:mod:`fgrid.analysis.scoring`'s rules)."""
    return stats.select(points_expr(scoring))[:, 0].fill_null(0.0).to_numpy().astype(np.float64)


# ---------------------------------------------------------------------------------------------------------------
# Lagged statistics within blocks


def _block_starts(entity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each block, first row of each row's block) for rows sorted by ``entity``."""
    n = len(entity)
    first = np.r_[0, np.flatnonzero(np.diff(entity)) + 1] if n else np.zeros(0, dtype=np.int64)
    return first, np.repeat(first, np.diff(np.r_[first, n]))


def _lagged(x: np.ndarray, start: np.ndarray, decay: float, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(sum of w*x, sum of w) over the ``window`` previous rows of the same block, w = decay**(k-1) k rows back."""
    n = len(x)
    num = np.zeros(n)
    den = np.zeros(n)
    idx = np.arange(n)
    for k in range(1, window + 1):
        j = idx - k
        ok = j >= start
        if not ok.any():
            break
        w = decay ** (k - 1)
        num[ok] += w * x[j[ok]]
        den[ok] += w
    return num, den


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _ewm(x: np.ndarray, start: np.ndarray, decay: float, window: int) -> np.ndarray:
    return _ratio(*_lagged(x, start, decay, window))


# ---------------------------------------------------------------------------------------------------------------
# Building the store


def _contexts(schedules: pl.DataFrame) -> dict[tuple[int, int, str], GameContext]:
    """Both teams' view of every scheduled game, keyed (season, week, team)."""
    cols = set(schedules.columns)
    wanted = (
        "game_id",
        "season",
        "week",
        "game_type",
        "gameday",
        "away_team",
        "home_team",
        "location",
        "spread_line",
        "total_line",
        "roof",
        "surface",
        "temp",
        "wind",
        "away_rest",
        "home_rest",
        "stadium_id",
        "stadium",
        "gametime",
    )
    frame = schedules.select([pl.col(c) if c in cols else pl.lit(None).alias(c) for c in wanted])
    out: dict[tuple[int, int, str], GameContext] = {}
    for row in frame.iter_rows():
        (
            gid,
            season,
            week,
            gtype,
            gameday,
            away,
            home,
            location,
            spread,
            total,
            roof,
            surface,
            temp,
            wind,
            a_rest,
            h_rest,
            sid,
            sname,
            gametime,
        ) = row
        if season is None or week is None or not away or not home:
            continue
        if isinstance(gameday, str):
            gameday = dt.date.fromisoformat(gameday[:10])
        neutral = str(location or "").strip().lower() == "neutral"
        roof = str(roof).strip().lower() or None if roof is not None else None
        surface = str(surface).strip().lower() or None if surface is not None else None
        indoor = roof in INDOOR_ROOFS
        total_f = np.nan if total is None else float(total)
        spread_f = np.nan if spread is None else float(spread)
        for team, opp, is_home in ((home, away, True), (away, home, False)):
            sign = 1.0 if is_home else -1.0
            rest, opp_rest = (h_rest, a_rest) if is_home else (a_rest, h_rest)
            out[(int(season), int(week), team)] = GameContext(
                season=int(season),
                week=int(week),
                team=team,
                opponent=opp,
                game_id=gid,
                game_type=gtype,
                gameday=gameday,
                home=0 if neutral else (1 if is_home else -1),
                nominal_home=is_home,
                neutral=neutral,
                # nflverse's spread_line > 0 means the HOME team is favoured.
                implied=total_f / 2 + sign * spread_f / 2,
                spread=sign * spread_f,
                total=total_f,
                roof=roof,
                surface=surface,
                temp=np.nan if indoor or temp is None else float(temp),
                wind=np.nan if indoor or wind is None else float(wind),
                rest=np.nan if rest is None else float(rest),
                opp_rest=np.nan if opp_rest is None else float(opp_rest),
                stadium_id=sid,
                stadium=sname,
                kickoff_time=str(gametime)[:5] if gametime else None,
            )
    return out


def build(stats: pl.DataFrame, schedules: pl.DataFrame, scoring: str = "ppr", version: str = "") -> FeatureStore:
    """Precompute every pre-game state from ``stats`` (one row per player-game) and ``schedules`` (one per game).

    ``stats`` has :mod:`fgrid.analysis.data.schema`'s normalized columns (player_id, player_display_name, position,
    team, opponent, season, week, game_id, gameday and the stat columns); ``schedules`` nflverse's games columns.
    """
    pts = points(stats, scoring)
    ppr = pts if scoring == "ppr" else points(stats, "ppr")
    contexts = _contexts(schedules)
    base = (
        stats.select(
            pl.col("player_id"),
            pl.coalesce("player_display_name", "player_name").alias("name"),
            "position",
            "team",
            "season",
            "week",
            "game_id",
            "gameday",
            *[pl.col(c).cast(pl.Float64).fill_null(0.0) for c in _USAGE_STATS],
            pl.Series("pts", pts),
            pl.Series("ppr", ppr),
        )
        .filter(pl.col("player_id").is_not_null() & pl.col("team").is_not_null() & pl.col("season").is_not_null())
        .with_columns(key=pl.col("season") * KEY_SEASON + pl.col("week"))
    )
    teams = sorted({t for (_s, _w, t) in contexts} | set(base["team"].unique().to_list()))
    team_index = {t: i for i, t in enumerate(teams)}
    player_ids = sorted(base["player_id"].unique().to_list())
    player_index = {p: i for i, p in enumerate(player_ids)}
    base = base.with_columns(
        tidx=pl.col("team").replace_strict(team_index, return_dtype=pl.Int64),
        pidx=pl.col("player_id").replace_strict(player_index, return_dtype=pl.Int64),
        pos=pl.col("position").replace_strict(POS_INDEX, default=-1, return_dtype=pl.Int64),
    )

    # Team-game totals: every player on the team counts toward its targets, carries, air yards and attempts.
    team_games = base.group_by("tidx", "key", maintain_order=False).agg(
        pl.col("game_id").first(),
        pl.col("season").first(),
        pl.col("week").first(),
        team_tgt=pl.col("targets").sum(),
        team_car=pl.col("carries").sum(),
        team_ay=pl.col("receiving_air_yards").sum(),
        team_att=pl.col("attempts").sum(),
        **{f"pos_pts_{p}": pl.col("pts").filter(pl.col("pos") == i).sum() for i, p in enumerate(POSITIONS)},
    )
    team_games = team_games.join(_team_scores(schedules, team_index), on=["game_id", "tidx"], how="left")
    opponents = pl.DataFrame(
        [(s_, w_, team_index[t], team_index[c.opponent]) for (s_, w_, t), c in contexts.items()],
        schema={"season": pl.Int64, "week": pl.Int64, "tidx": pl.Int64, "oidx": pl.Int64},
        orient="row",
    )
    team_games = (
        team_games.join(opponents, on=["season", "week", "tidx"], how="left")
        .with_columns(pl.col("oidx").fill_null(-1))
        .sort("tidx", "key")
    )
    base = base.join(team_games.select("tidx", "key", *TEAM_STATS), on=["tidx", "key"], how="left")

    # ---- player blocks: games sorted by key, then a sentinel "after everything" row per player --------------
    base = base.sort("pidx", "key")
    latest = base.group_by("pidx", maintain_order=True).agg(
        pl.col("tidx").last(), pl.col("pos").last(), pl.col("name").last()
    )
    sentinel = latest.select("pidx", "tidx", "pos", key=pl.lit(SENTINEL_KEY, dtype=pl.Int64))
    cols = ["pidx", "key", "tidx", "pos", "pts", "ppr", *_USAGE_STATS, *TEAM_STATS, "gameday"]
    prow = pl.concat([base.select(cols), sentinel], how="diagonal_relaxed").sort("pidx", "key")
    pidx = prow["pidx"].to_numpy()
    p_key = prow["key"].to_numpy()
    first, start = _block_starts(pidx)
    n = len(pidx)
    g = {c: prow[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in ("pts", "ppr", *_USAGE_STATS, *TEAM_STATS)}
    for c in (*_USAGE_STATS, *TEAM_STATS):
        g[c] = np.nan_to_num(g[c])
    pts_lag = np.nan_to_num(g["pts"])

    state: dict[str, np.ndarray] = {}
    idx = np.arange(n)
    state["n_prev"] = (idx - start).astype(np.float64)
    state["ewm_pts"] = _ewm(pts_lag, start, BASELINE_DECAY, BASELINE_WINDOW)
    state["ewm_long"] = _ewm(pts_lag, start, LONG_DECAY, LONG_WINDOW)
    ppr_sum, ppr_n = _lagged(np.nan_to_num(g["ppr"]), start, 1.0, RECENT_WINDOW)
    state["mean8_ppr"] = _ratio(ppr_sum, ppr_n)
    usage = {c: _lagged(g[c], start, USAGE_DECAY, USAGE_WINDOW)[0] for c in (*_USAGE_STATS, *TEAM_STATS)}
    usage["pts"] = _lagged(pts_lag, start, USAGE_DECAY, USAGE_WINDOW)[0]
    state["tgt_share"] = _ratio(usage["targets"], usage["team_tgt"])
    state["car_share"] = _ratio(usage["carries"], usage["team_car"])
    state["ay_share"] = _ratio(usage["receiving_air_yards"], usage["team_ay"])
    state["att_share"] = _ratio(usage["attempts"], usage["team_att"])
    state["pts_share"] = _ratio(usage["pts"], usage["team_pts"])
    recent = {
        c: _lagged(g[c], start, 1.0, TREND_WINDOW)[0]
        for c in ("targets", "carries", "receiving_air_yards", "team_tgt", "team_car", "team_ay")
    }
    state["tgt_share_recent"] = _ratio(recent["targets"], recent["team_tgt"])
    state["car_share_recent"] = _ratio(recent["carries"], recent["team_car"])
    state["ay_share_recent"] = _ratio(recent["receiving_air_yards"], recent["team_ay"])
    state["prev_key"] = np.where(idx > start, p_key[np.maximum(idx - 1, 0)], -1).astype(np.int64)
    gameday = prow["gameday"]
    p_game = {
        "pts": g["pts"],
        "ppr": g["ppr"],
        "gameday": gameday.cast(pl.Int64).fill_null(-1).to_numpy(),  # days since 1970-01-01
    }

    # ---- team blocks -----------------------------------------------------------------------------------------
    trow = pl.concat(
        [
            team_games.select("tidx", "key", *TEAM_STATS),
            pl.DataFrame(
                {
                    "tidx": np.arange(len(teams), dtype=np.int64),
                    "key": np.full(len(teams), SENTINEL_KEY, dtype=np.int64),
                }
            ),
        ],
        how="diagonal_relaxed",
    ).sort("tidx", "key")
    t_idx = trow["tidx"].to_numpy()
    t_key = trow["key"].to_numpy()
    _t_first, t_start = _block_starts(t_idx)
    t_state = {"n_prev": (np.arange(len(t_idx)) - t_start).astype(np.float64)}
    for c in TEAM_STATS:
        x = trow[c].cast(pl.Float64).to_numpy()
        valid = ~np.isnan(x)
        num, _ = _lagged(np.nan_to_num(x), t_start, TEAM_DECAY, TEAM_WINDOW)
        den, _ = _lagged(valid.astype(np.float64), t_start, TEAM_DECAY, TEAM_WINDOW)
        t_state[c] = _ratio(num, den)

    # ---- defence vs position ---------------------------------------------------------------------------------
    seasons_all = [s for (s, _w, _t) in contexts] + base["season"].to_list()
    first_season, last_season = int(min(seasons_all)), int(max(seasons_all))
    def_ratio, def_games = _defence_tables(team_games, len(teams), first_season, last_season)
    weeks = base.group_by("key").agg(pl.col("gameday").max()).sort("key")
    # polars types a Series' min/max as any Python literal; these columns are Int64 and Date.
    through = cast("dt.date | None", base["gameday"].max())
    return FeatureStore(
        scoring=scoring,
        version=version,
        teams=teams,
        team_index=team_index,
        player_ids=player_ids,
        player_index=player_index,
        player_names=latest["name"].to_list(),
        p_comb=pidx * BLOCK + p_key,
        p_key=p_key,
        p_team=prow["tidx"].to_numpy(),
        p_pos=prow["pos"].to_numpy(),
        p_start=first,
        p_state=state,
        p_game=p_game,
        t_comb=t_idx * BLOCK + t_key,
        t_key=t_key,
        t_state=t_state,
        first_season=first_season,
        def_ratio=def_ratio,
        def_games=def_games,
        contexts=contexts,
        week_keys=weeks["key"].to_numpy(),
        week_last_day=weeks["gameday"].to_list(),
        first_stats_season=int(cast(int, base["season"].min())),
        last_stats_season=int(cast(int, base["season"].max())),
        last_key=int(cast(int, base["key"].max())),
        last_day=through,
    )


def _team_scores(schedules: pl.DataFrame, team_index: dict[str, int]) -> pl.DataFrame:
    """Points each team scored in each game (the schedules' final scores), by (game_id, team index)."""
    home = schedules.select("game_id", team="home_team", team_pts=pl.col("home_score").cast(pl.Float64))
    away = schedules.select("game_id", team="away_team", team_pts=pl.col("away_score").cast(pl.Float64))
    both = pl.concat([home, away]).filter(pl.col("team").is_in(list(team_index)))
    return both.select("game_id", "team_pts", tidx=pl.col("team").replace_strict(team_index, return_dtype=pl.Int64))


def _defence_tables(
    team_games: pl.DataFrame, n_teams: int, first_season: int, last_season: int
) -> tuple[np.ndarray, np.ndarray]:
    """Schedule-adjusted points allowed to each position, as of the start of each (season, week).

    ``ratio[s, w, d, p]``: defence d's points allowed to position p in its games of season s before week w, over
    what the offences it faced scored at p on average in their games before week w (1.0 is average; 1.2 allows
    20% more), shrunk toward last season's final ratio regressed toward 1. ``w = MAX_WEEK`` is the season's end;
    ``s = last_season - first_season + 1`` is the season after the data (prior only). The league average an
    offence is shrunk toward is as of the same moment too, so no later game moves an earlier ratio.
    """
    n_seasons = last_season - first_season + 1
    npos = len(POSITIONS)
    ratio = np.ones((n_seasons + 1, MAX_WEEK + 1, n_teams, npos))
    games = np.zeros((n_seasons + 1, MAX_WEEK + 1, n_teams))
    tg = team_games.filter(pl.col("oidx") >= 0)
    pos_pts = tg.select([f"pos_pts_{p}" for p in POSITIONS]).to_numpy().astype(np.float64).reshape(-1, npos)
    seasons = tg["season"].to_numpy()
    weeks = np.clip(tg["week"].to_numpy(), 0, MAX_WEEK - 1)
    off = tg["tidx"].to_numpy()
    dfn = tg["oidx"].to_numpy()
    prior = np.ones((n_teams, npos))
    league_sum = np.zeros(npos)
    league_n = 0
    for s_i in range(n_seasons + 1):
        m = seasons == first_season + s_i
        if not m.any():
            ratio[s_i] = prior
            continue
        w_s, o_s, d_s, p_s = weeks[m], off[m], dfn[m], pos_pts[m]
        # Cumulative per-week sums, so "before week w" is a lookup.
        off_pts = np.zeros((MAX_WEEK + 1, n_teams, npos))
        off_n = np.zeros((MAX_WEEK + 1, n_teams))
        np.add.at(off_pts, (w_s + 1, o_s), p_s)
        np.add.at(off_n, (w_s + 1, o_s), 1.0)
        off_pts = off_pts.cumsum(axis=0)
        off_n = off_n.cumsum(axis=0)
        for w in range(MAX_WEEK + 1):
            before = w_s < w
            n_before = int(before.sum())
            if n_before == 0:
                ratio[s_i, w] = prior
                continue
            league = (league_sum + p_s[before].sum(axis=0)) / (league_n + n_before)
            league = np.where(league > 0, league, 1.0)
            off_avg = (off_pts[w] + OFF_PRIOR_GAMES * league) / (off_n[w] + OFF_PRIOR_GAMES)[:, None]
            allowed = np.zeros((n_teams, npos))
            expected = np.zeros((n_teams, npos))
            np.add.at(allowed, d_s[before], p_s[before])
            np.add.at(expected, d_s[before], off_avg[o_s[before]])
            k = DEF_PRIOR_GAMES * league
            ratio[s_i, w] = (allowed + k * prior) / (expected + k)
            games[s_i, w] = np.bincount(d_s[before], minlength=n_teams)
        league_sum += p_s.sum(axis=0)
        league_n += len(p_s)
        prior = 1.0 + DEF_CARRYOVER * (ratio[s_i, MAX_WEEK] - 1.0)
    return ratio, games
