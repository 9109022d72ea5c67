"""Bad input is refused before anything is queued: one line on stderr, exit 2, the queue untouched (LLEN on the
private Redis) and no task recorded. Generated input (hypothesis) through the CLI's parsing and the tasks' argument
checks never gives a traceback: only an InputError (exit 2) or success."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.conftest import LAMB
from tests.support.processes import redis_env, run_fgrid
from tests.support.servers import RedisServer

pytestmark = pytest.mark.faults

ANALYZE = ["analyze-player"]
CASES = {
    "unknown player": [*ANALYZE, "Nobody Atall", "--opponent", "SF"],
    "ambiguous player": [*ANALYZE, "Ryan Griffin", "--opponent", "SF"],
    "unknown team": [*ANALYZE, LAMB, "--opponent", "XYZ"],
    "unknown location": [*ANALYZE, LAMB, "--opponent", "SF", "--location", "Atlantis, ZZ"],
    "season before the data": [*ANALYZE, LAMB, "--opponent", "SF", "--season", "1990"],
    "season after the data": [*ANALYZE, LAMB, "--opponent", "SF", "--season", "2030"],
    "week 0": [*ANALYZE, LAMB, "--opponent", "SF", "--season", "2023", "--week", "0"],
    "week 30": [*ANALYZE, LAMB, "--opponent", "SF", "--season", "2023", "--week", "30"],
    "week not a number": [*ANALYZE, LAMB, "--opponent", "SF", "--season", "2023", "--week", "five"],
    "no game between the teams that week": [*ANALYZE, LAMB, "--opponent", "SF", "--season", "2023", "--week", "10"],
    "malformed task id": ["status", "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e2Z"],
    "task id with markup": ["status", "[red]x[/red]"],
    "compare with no players": ["compare", "--opponents", "SF"],
    "compare with an empty player": ["compare", "", "--opponents", "SF"],
    # No opponents: each player's scheduled one, so a player on a bye that week is refused.
    "compare with no opponents, on a bye": ["compare", LAMB, "--opponents", ",", "--season", "2023", "--week", "7"],
    "3 players, 2 opponents": ["compare", LAMB, "Tyreek Hill", "Justin Jefferson", "--opponents", "SF,LAR"],
    "10,000 players": ["compare", *[f"Player {i}" for i in range(10_000)], "--opponents", "SF"],
    "10,000-character name": [*ANALYZE, "x" * 10000, "--opponent", "SF"],
    "control character": [*ANALYZE, "Cee\x07Dee Lamb", "--opponent", "SF"],
    "terminal escape": [*ANALYZE, "\x1b[31mCeeDee Lamb", "--opponent", "SF"],
    "rich markup in a name": [*ANALYZE, "[bold]CeeDee Lamb[/bold]", "--opponent", "SF"],
    "rich markup in a team": [*ANALYZE, LAMB, "--opponent", "[red]SF[/red]"],
}


def queued(server) -> dict[str, int]:
    client = server.client()
    return {
        "matchups": client.llen("matchups"),
        "analysis": client.llen("analysis"),
        "ai": client.llen("ai"),
        "records": client.zcard("fgrid:tasks"),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server for the module: each test compares the queues before and after its command."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, synced_template, server) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("bad-input") / "data"
    shutil.copytree(synced_template, data_dir, symlinks=True)
    env = redis_env(data_dir, server)
    # A valid request is queued, so the refusals below are the input's doing, not a broken broker.
    ok = run_fgrid([*ANALYZE, LAMB, "--opponent", "SF", "--season", "2023", "--week", "5", "--json"], env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "queued"
    return env


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_before_queueing(env, server, case):
    before = queued(server)
    result = run_fgrid(CASES[case], env)
    assert result.returncode == 2, (case, result.returncode, result.stderr[-500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-500:]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert len(lines[0]) < 400
    assert queued(server) == before


def test_names_are_printed_literally(env):
    result = run_fgrid(CASES["rich markup in a name"], env)
    assert "[bold]CeeDee Lamb[/bold]" in result.stderr  # not read as markup
    result = run_fgrid(CASES["terminal escape"], env)
    assert "\x1b" not in result.stderr


# --- generated input -----------------------------------------------------------------------------------------

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=200),
    st.binary(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
NAMES = st.one_of(
    st.text(max_size=120),
    st.sampled_from(
        ["CeeDee Lamb", "Ryan Griffin", "SF", "san francisco", "Santa Clara, CA", "[bold]x[/bold]", "", " ", "\x00"]
    ),
)


@settings(max_examples=400, deadline=None)
@given(player=ANY, opponent=ANY, location=ANY, season=ANY, week=ANY, scoring=ANY)
def test_task_argument_checks_raise_only_input_errors(player, opponent, location, season, week, scoring):
    from fgrid import validation
    from fgrid.errors import InputError

    try:
        args = validation.analyze_args(player, opponent, location, season, week, scoring)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert set(args) == {"player", "opponent", "location", "season", "week", "scoring"}
    for call in (
        lambda: validation.compare_args(player, opponent),
        lambda: validation.task_id(player),
        lambda: validation.optional_int(season, "season", 1999, 2100),
        lambda: validation.scoring(scoring),
    ):
        try:
            call()
        except InputError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    player=NAMES,
    opponent=NAMES,
    location=st.one_of(st.none(), NAMES),
    season=st.one_of(st.none(), st.integers(-5, 3000).map(str), st.text(max_size=6)),
    week=st.one_of(st.none(), st.integers(-5, 40).map(str), st.text(max_size=4)),
    command=st.sampled_from(["analyze-player", "compare"]),
)
def test_cli_parsing_of_generated_input(env, monkeypatch, player, opponent, location, season, week, command):
    """The CLI in-process (CliRunner): every outcome is success or an InputError / usage error, never a crash."""
    import typer.testing

    from fgrid import cli
    from fgrid.errors import InputError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = [command, player, "--opponent" if command == "analyze-player" else "--opponents", opponent]
    for flag, value in (("--location", location), ("--season", season), ("--week", week)):
        if value is not None and (flag != "--location" or command == "analyze-player"):
            args += [flag, value]
    result = typer.testing.CliRunner().invoke(cli.app, args, standalone_mode=False)
    exc = result.exception
    if exc is None:
        return
    usage_error = type(exc).__name__ in (
        "UsageError",
        "BadParameter",
        "NoSuchOption",
        "MissingParameter",
        "BadOptionUsage",
        "BadArgumentUsage",
    )
    assert isinstance(exc, InputError) or usage_error, repr(exc)
    assert (isinstance(exc, InputError) and "\n" not in str(exc)) or usage_error
