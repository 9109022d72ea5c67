"""nflverse data: sync it (from local files or online) into a versioned Parquet store, and load it.

- :mod:`~fgrid.analysis.data.schema`: the one normalized schema of every stored table.
- :mod:`~fgrid.analysis.data.normalize`: nflverse tables of any schema year to that schema, joined.
- :mod:`~fgrid.analysis.data.sources`: where the tables come from (a local folder, nflverse online).
- :mod:`~fgrid.analysis.data.store`: the versioned store (sync, publish, prune, info, load).

The package exposes what callers use: :func:`load`, :func:`info`, :func:`sync_from_dir`, :func:`sync_online`.
A loaded version is a :class:`fgrid.analysis.dataset.Dataset`.
"""

from fgrid.analysis.data.store import info, load, sync_from_dir, sync_online

__all__ = ["info", "load", "sync_from_dir", "sync_online"]
