"""The import graph: the CLI's start-up path stays light, the layers import one way, and no module imports itself
back through a cycle. Import statements are read from the source (inside functions too), so a function-local import
cannot hide a dependency."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "fgrid"
#: What ``import fgrid.cli`` and every ``--help`` must not load.
HEAVY = ("celery", "kombu", "redis", "polars", "numpy", "fgrid.analysis")


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


# --- start-up ----------------------------------------------------------------------------------------------------


def test_cli_import_does_not_import_celery_or_analysis() -> None:
    result = run(f"import fgrid.cli, sys; heavy = [m for m in {HEAVY!r} if m in sys.modules]; assert not heavy, heavy")
    assert result.returncode == 0, result.stderr


def test_help_of_every_command_imports_nothing_heavy() -> None:
    # Every command and sub-command, read from the app itself, so a new command is covered without editing this.
    code = (
        "import sys, typer\n"
        "from typer.testing import CliRunner\n"
        "from fgrid.cli import app\n"
        "def walk(command, path):\n"
        "    yield path\n"
        "    for name, sub in getattr(command, 'commands', {}).items():\n"
        "        yield from walk(sub, [*path, name])\n"
        "paths = list(walk(typer.main.get_command(app), []))\n"
        "runner = CliRunner()\n"
        "for path in paths:\n"
        "    r = runner.invoke(app, [*path, '--help'])\n"
        "    assert r.exit_code == 0 and 'Usage: ' in r.output, (path, r.output)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('\\n'.join(' '.join(p) for p in paths))\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr
    commands = set(result.stdout.splitlines())
    # The walk found them all: every group and command of the CLI, including the nested ones.
    assert {
        "analyze-player",
        "compare",
        "backtest",
        "status",
        "tasks",
        "cancel",
        "retry",
        "purge",
        "queues",
        "workers",
        "top",
        "doctor",
        "worker",
        "config",
        "data",
        "data sync",
        "data info",
        "train",
        "predict",
        "grade",
        "model",
        "model list",
        "model show",
        "serve",
    } <= commands
    assert len(commands) >= 25  # the root (the empty path) and 24 commands and groups


def test_importing_the_app_connects_to_nothing() -> None:
    # A broker URL on a port where nothing listens: building the app must not try it.
    code = (
        "import os; os.environ['CELERY_BROKER_URL'] = 'redis://127.0.0.1:9/0'\n"
        "import fgrid; app = fgrid.celery\n"
        "assert app.main == 'fgrid'\n"
        "assert 'fgrid.analyze_player' in app.tasks\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr


# --- the graph, from the source ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One module an import statement of ``source`` (a file of fgrid) loads."""

    source: str
    target: str
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`: never run

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}" + (" (type only)" if self.type_only else "")


@cache
def modules() -> dict[str, Path]:
    """Every module of fgrid by dotted name (a package by its own name)."""
    found = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _resolve(name: str) -> str:
    """The fgrid module that importing ``name`` names: itself, or the package that defines it."""
    while name not in modules() and "." in name:
        name = name.rpartition(".")[0]
    return name


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return skip


@cache
def fgrid_imports() -> tuple[Import, ...]:
    """Every import of an fgrid module by an fgrid module, at module level or inside a function."""
    found: list[Import] = []
    for source, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        type_only = _type_checking_nodes(tree)
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [_resolve(alias.name) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parent, base] if base else parent)
                # `from fgrid.cli import options` loads the module fgrid.cli.options; `from fgrid.cli import app`
                # the package fgrid.cli.
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules() else _resolve(base) for a in node.names
                ]
            found.extend(
                Import(source, target, node.lineno, id(node) in type_only)
                for target in targets
                if target.split(".")[0] == "fgrid" and target != source
            )
    return tuple(found)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_graph_reads_the_whole_package() -> None:
    names = set(modules())
    assert {
        "fgrid.cli",
        "fgrid.cli.options",
        "fgrid.render.tasks",
        "fgrid.service.lifecycle",
        "fgrid.broker",
        "fgrid.analysis.matchup.analysis",
        "fgrid.recovery",
    } <= names
    found = {(i.source, i.target) for i in fgrid_imports()}
    assert ("fgrid.cli", "fgrid.cli.tasks") in found  # the root imports its leaves
    assert ("fgrid.cli.tasks", "fgrid.render.tasks") in found  # a function-local import counts


#: (layer, what it must not import, what it may import of fgrid (None: anything else)); type-only imports count.
LAYER_RULES = [
    pytest.param(
        ("fgrid.analysis",),
        (),
        ("fgrid.analysis", "fgrid.errors", "fgrid.config", "fgrid.files"),
        id="analysis-imports-no-job-system",
    ),
    pytest.param(
        ("fgrid.broker",),
        ("fgrid.cli", "fgrid.render", "fgrid.service", "fgrid.api", "fgrid.serving"),
        None,
        id="broker-imports-no-upper-layer",
    ),
    pytest.param(
        ("fgrid.service",),
        ("fgrid.cli", "fgrid.render", "fgrid.api", "fgrid.serving"),
        None,
        id="service-imports-no-interface",
    ),
    pytest.param(
        ("fgrid.recovery",),
        ("fgrid.service", "fgrid.cli", "fgrid.render", "fgrid.api", "fgrid.serving"),
        None,
        id="recovery-imports-no-upper-layer",
    ),
    pytest.param(("fgrid.render",), (), ("fgrid.render",), id="render-is-pure"),
]


@pytest.mark.parametrize(("layer", "forbidden", "allowed"), LAYER_RULES)
def test_layers_import_one_way(
    layer: tuple[str, ...], forbidden: tuple[str, ...], allowed: tuple[str, ...] | None
) -> None:
    bad = [
        str(i)
        for i in fgrid_imports()
        if _within(i.source, layer)
        and (_within(i.target, forbidden) or (allowed is not None and not _within(i.target, allowed)))
    ]
    assert not bad, "\n".join(bad)


def test_cli_leaves_never_import_the_cli_root() -> None:
    # The root (fgrid.cli) assembles the app from its leaves; a leaf reaching back would be a cycle.
    bad = [str(i) for i in fgrid_imports() if i.source.startswith("fgrid.cli.") and i.target == "fgrid.cli"]
    assert not bad, "\n".join(bad)


def test_no_import_cycle_in_the_package() -> None:
    # Run-time imports only: a type-only import never runs, so it cannot close a cycle.
    edges: dict[str, set[str]] = {name: set() for name in modules()}
    for i in fgrid_imports():
        if not i.type_only:
            edges[i.source].add(i.target)
    cycles = _cycles(edges)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
