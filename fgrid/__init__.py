"""fgrid: fantasy-football matchup analysis as Celery background jobs.

``celery -A fgrid ...`` finds the app as ``fgrid.app``; it is built on first access, so importing fgrid
connects to nothing and imports no Celery.
"""

from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("app", "celery"):
        from fgrid.celery_app import get_app

        return get_app()
    raise AttributeError(f"module 'fgrid' has no attribute {name!r}")
