"""Fixtures for the analysis tests: the shared nflverse data, synced once per session into a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fgrid.analysis.data import load, sync_from_dir
from fgrid.analysis.dataset import Dataset


@pytest.fixture(scope="session")
def shared_data(shared_nfl: Path) -> Path:
    """Return the shared (read-only) nflverse files' folder (``$FGRID_SHARED_DATA``, else ``../shared/data/nfl``;
    tests/conftest.py's ``shared_nfl``, which fails loudly if it is missing: CI has it)."""
    return shared_nfl


@pytest.fixture(scope="session")
def synced(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Sync the shared data once per session; return (nfl_dir, sync report)."""
    nfl_dir = tmp_path_factory.mktemp("nfl")
    report = sync_from_dir(shared_data, nfl_dir)
    return nfl_dir, report


@pytest.fixture(scope="session")
def nfl_dir(synced: tuple[Path, dict[str, Any]]) -> Path:
    """Return the session-wide synced copy of the shared data (2019-2023 stats); treat it as read-only."""
    return synced[0]


@pytest.fixture(scope="session")
def sync_report(synced: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    """Return the report of the session-wide sync."""
    return synced[1]


@pytest.fixture(scope="session")
def dataset(nfl_dir: Path) -> Dataset:
    """Return ``load(nfl_dir)`` of the session-wide synced copy of the shared data."""
    return load(nfl_dir)
