"""Where the real nflverse files are: ``$FGRID_SHARED_DATA``, else ``../shared/data/nfl`` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import REPO

#: Set to a folder laid out like ``shared/data/nfl`` to test (or bench) against other data.
SHARED_DATA_ENV = "FGRID_SHARED_DATA"


class SharedDataMissing(FileNotFoundError):
    """The shared NFL data is not where it should be."""


def shared_data_dir() -> Path:
    """The folder of the shared (read-only) nflverse files; raise :class:`SharedDataMissing` naming the fix."""
    env = os.environ.get(SHARED_DATA_ENV)
    path = Path(env) if env else REPO.parent / "shared" / "data" / "nfl"
    if not (path / "raw").is_dir():
        raise SharedDataMissing(f"the shared NFL data is missing at {path}; set {SHARED_DATA_ENV}")
    return path
