"""The CLI's start-up path stays light, and the analysis never imports the job system."""

import subprocess
import sys


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_cli_import_does_not_import_celery_or_analysis():
    result = run("import fgrid.cli, sys; heavy = [m for m in ('celery', 'kombu', 'redis', 'polars', 'numpy', "
                 "'fgrid.analysis') if m in sys.modules]; assert not heavy, heavy")
    assert result.returncode == 0, result.stderr


def test_help_of_every_command_imports_no_celery():
    code = (
        "import sys\n"
        "from fgrid.cli import app\n"
        "from typer.testing import CliRunner\n"
        "runner = CliRunner()\n"
        "for args in ([], ['analyze-player'], ['compare'], ['status'], ['worker'], ['config'], ['data'],"
        " ['data', 'sync'], ['data', 'info']):\n"
        "    r = runner.invoke(app, [*args, '--help'])\n"
        "    assert r.exit_code == 0, (args, r.output)\n"
        "heavy = [m for m in ('celery', 'kombu', 'polars', 'fgrid.analysis') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr


def test_importing_the_app_connects_to_nothing():
    # A broker URL on a port where nothing listens: building the app must not try it.
    code = (
        "import os; os.environ['CELERY_BROKER_URL'] = 'redis://127.0.0.1:9/0'\n"
        "import fgrid; app = fgrid.celery\n"
        "assert app.main == 'fgrid'\n"
        "assert 'fgrid.analyze_player' in app.tasks\n"
    )
    result = run(code)
    assert result.returncode == 0, result.stderr
