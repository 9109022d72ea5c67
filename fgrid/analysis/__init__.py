"""fgrid's analysis: pure Python over nflverse data. No Celery, Redis, Typer or Rich is imported here.

Modules, one per concept:

- ``data``: sync nflverse files (online via nflreadpy, or from a local folder) into a versioned Parquet store;
  ``load(nfl_dir)`` returns the :class:`~fgrid.analysis.data.Dataset`, cached once per process.
- ``scoring``: fantasy points (ppr, half, standard) from stat columns, nflverse's rules.
- ``players``, ``teams``, ``venues``: resolve what a user types to a player, a team code, a stadium.
- ``features``: pre-kickoff features for every player-game (usage, form, opponent, Vegas, venue, rest).
- ``matchup``: one matchup analysis (score 0-100, projection with an 80% interval, start/sit advice, factors).
- ``compare``: rank several analyses and say whom to start.
- ``backtest``: score the engine (or the model) on past games against a naive baseline.
- ``model``: the learned quantile model for the ``ai`` queue.

Errors are :mod:`fgrid.errors` exceptions with one-line messages for the user.
"""
