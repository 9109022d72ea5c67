"""fgrid: fantasy-football matchup analysis as Celery background jobs.

``celery -A fgrid ...`` finds the app as ``fgrid.celery``; it is built on first access, so importing fgrid connects
to nothing and imports no Celery. (``fgrid.app`` is the package that builds it.)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "celery":
        from fgrid.app import get_app

        return get_app()
    raise AttributeError(f"module 'fgrid' has no attribute {name!r}")
