"""``fgrid serve``: the HTTP API under uvicorn."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from fgrid import config
from fgrid.cli.options import DataDirOption, settings_from
from fgrid.errors import FgridError, InputError

#: Where `fgrid serve` listens by default: loopback only, so nothing is exposed without asking.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: uvicorn's log levels (the help names the common four).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Web server processes.")] = 1,
    log_level: Annotated[
        str, typer.Option("--log-level", metavar="[debug|info|warning|error]", help="How much uvicorn logs.")
    ] = "info",
    data_dir: DataDirOption = None,
) -> None:
    """Serve the HTTP API (POST /api/tasks/analyze-player and the rest) with uvicorn.

    Example: fgrid serve --port 8000
    """
    try:
        import fastapi  # noqa: F401 - only to say which extra is missing before anything starts
        import uvicorn
    except ModuleNotFoundError as exc:
        raise FgridError(
            f"fgrid serve needs the api extra ({exc.name} is not installed): "
            f"pip install 'fgrid[api]' (from a checkout: pip install '.[api]')"
        ) from None

    if log_level.lower() not in LOG_LEVELS:
        raise InputError(f"unknown log level {log_level!r}; use debug, info, warning or error")
    settings = settings_from(data_dir)
    if host not in LOOPBACK_HOSTS and not os.environ.get(config.ENV_API_TOKEN):
        sys.stderr.write(
            f"warning: serving on {host} without {config.ENV_API_TOKEN}: anyone who can reach "
            f"port {port} can queue tasks\n"
        )
    from fgrid import serving

    if workers == 1:
        from fgrid.api import create_api

        serving.check_port(host, port)
        uvicorn.run(create_api(settings), host=host, port=port, log_level=log_level.lower(), server_header=False)
    else:
        # Each process builds its own app from the environment, so hand the data folder on through it.
        os.environ[config.ENV_DATA_DIR] = str(settings.data_dir)
        serving.serve_processes(host, port, workers, log_level.lower())
