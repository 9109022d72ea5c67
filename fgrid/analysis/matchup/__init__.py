"""Matchups: a player against an opponent in one game, as of before its kickoff.

- :mod:`~fgrid.analysis.matchup.request`: resolve what a user typed to one game (:class:`MatchupRequest`).
- :mod:`~fgrid.analysis.matchup.engine`: the engine (a median regression in log space) and its terms.
- :mod:`~fgrid.analysis.matchup.constants`: the engine's fitted constants, as data.
- :mod:`~fgrid.analysis.matchup.analysis`: the analysis itself (score, projection, verdict, factors, reasons).

The package exposes what callers use: :func:`resolve_request`, :func:`analyze`, :func:`analyze_request`, :func:`warm`
and :class:`MatchupRequest`.
"""

from fgrid.analysis.matchup.analysis import analyze, analyze_request, warm
from fgrid.analysis.matchup.request import MatchupRequest, resolve_request

__all__ = ["MatchupRequest", "analyze", "analyze_request", "resolve_request", "warm"]
