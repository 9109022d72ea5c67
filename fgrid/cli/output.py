"""Where commands write: data (tables, ``--json``) on stdout, diagnostics and live views on stderr."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that never reads markup or emoji in what it prints: names are user data."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, markup=False, emoji=False)


def print_json(doc: Any) -> None:
    """Print ``doc`` as one JSON document on one line of stdout."""
    sys.stdout.write(json.dumps(doc, default=str) + "\n")
    sys.stdout.flush()
