"""Diagnostic only: fgrid's own app with some settings changed (JSON in ``FGRID_BENCH_CONF``), to show what a
feature costs (``celery -A fgrid_variant worker`` with fgrid's worker flags). Never a figure with a goal."""

from __future__ import annotations

import json
import os

from fgrid.app import create_app

app = create_app()
app.conf.update(json.loads(os.environ.get("FGRID_BENCH_CONF") or "{}"))
