"""fgrid's analysis: pure Python over nflverse data. No Celery, Redis, Typer or Rich is imported here.

Modules, one per concept (imports point down this list, never up):

- ``dataset``: :class:`~fgrid.analysis.dataset.Dataset`, one synced version of the data (imports nothing else here).
- ``scoring``: fantasy points (ppr, half, standard) from stat columns, nflverse's rules; ``scoring.check`` is the
  one validation of a scoring name.
- ``teams``, ``venues``, ``players``: resolve what a user types to a team code, a stadium, a player.
- ``feature_store``: every player's and team's pre-game state, as numpy arrays (built once per dataset and scoring).
- ``features``: pre-kickoff features of any player-game (usage, form, opponent, Vegas, venue, rest) from the store.
- ``precomputed``: the feature store and player index written at sync time into the version folder.
- ``data``: sync nflverse files (online, or from a local folder) into a versioned Parquet store; ``data.load``.
- ``matchup``: one matchup analysis (score 0-100, projection with an 80% interval, start/sit advice, factors).
- ``compare``: rank several analyses and say whom to start.
- ``backtest``: score the engine (or the model) on past games against a naive baseline; fit the engine.
- ``model``: the learned quantile model for the ``ai`` queue.

Errors are :mod:`fgrid.errors` exceptions with one-line messages for the user.
"""
