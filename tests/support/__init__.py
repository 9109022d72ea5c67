"""What the tests and the bench share to run fgrid for real: a private redis-server on a free loopback port
(``servers``), ``fgrid worker`` and other subprocesses in their own process groups (``processes``), the shared NFL
data (``data``) and polling for a condition (``waiting``).

Nothing here imports pytest: ``bench/`` uses these modules too (it puts the repository root on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

#: The repository root (the fgrid CLI subprocesses run there).
REPO = Path(__file__).resolve().parents[2]
