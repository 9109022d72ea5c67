"""fgrid.analysis is pure Python: no Celery, Redis, Typer or Rich, and no import of the layers above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fgrid.analysis

ANALYSIS_DIR = Path(fgrid.analysis.__file__).parent
#: Top-level packages the analysis must never import (the queue and terminal stacks).
FORBIDDEN = {"celery", "kombu", "billiard", "redis", "typer", "click", "rich", "flower"}
#: fgrid modules the analysis may import: itself and the dependency-free errors, settings and atomic files.
ALLOWED_FGRID = {"fgrid.analysis", "fgrid.errors", "fgrid.config", "fgrid.files"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in ``path`` names (at any depth, including inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside fgrid.analysis
                base = "fgrid.analysis" + ("." + node.module if node.module else "")
                found.append((node.lineno, base if node.level == 1 else "fgrid." + (node.module or "")))
            elif node.module:
                found.append((node.lineno, node.module))
                if node.module == "fgrid":
                    found.extend((node.lineno, f"fgrid.{alias.name}") for alias in node.names)
    return found


def test_analysis_modules_import_nothing_from_the_queue_or_terminal_stacks() -> None:
    modules = sorted(ANALYSIS_DIR.rglob("*.py"))
    found = {p.relative_to(ANALYSIS_DIR).as_posix() for p in modules}
    assert found >= {"features.py", "matchup/analysis.py", "model/training.py", "data/store.py", "compare.py"}
    bad = []
    for path in modules:
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN:
                bad.append(f"{path.relative_to(ANALYSIS_DIR)}:{line} imports {name}")
            if (
                top == "fgrid"
                and name != "fgrid"
                and not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_FGRID)
            ):
                bad.append(f"{path.relative_to(ANALYSIS_DIR)}:{line} imports {name} (a layer above the analysis)")
    assert not bad, "\n".join(bad)


def test_importing_the_analysis_loads_no_queue_or_terminal_package() -> None:
    code = (
        "import sys, pkgutil, importlib, fgrid.analysis as a\n"
        "for m in pkgutil.walk_packages(a.__path__, 'fgrid.analysis.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(set({sorted(FORBIDDEN)!r}) & {{n.split('.')[0] for n in sys.modules}})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
