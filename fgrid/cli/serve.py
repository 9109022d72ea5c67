"""`fgrid serve`: the HTTP API."""

# No `from __future__ import annotations`: Typer must see the real option types, one of them defined in fgrid.cli.
from typing import Annotated

import typer

#: Where `fgrid serve` listens by default: loopback only, so nothing is exposed without asking.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    from fgrid.cli import DataDirOption

    @app.command()
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).")]
        = DEFAULT_HOST,
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
        workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Web server processes.")] = 1,
        log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
        data_dir: DataDirOption = None,
    ) -> None:
        """Serve the HTTP API (POST /api/tasks/analyze-player and the rest) with uvicorn."""
        import os
        import sys

        import uvicorn

        from fgrid import config
        from fgrid.cli import _settings
        from fgrid.errors import InputError

        if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
            raise InputError(f"unknown log level {log_level!r}; use debug, info, warning or error")
        settings = _settings(data_dir)
        if host not in _LOOPBACK and not os.environ.get(config.ENV_API_TOKEN):
            sys.stderr.write(f"warning: serving on {host} without {config.ENV_API_TOKEN}: anyone who can reach "
                             f"port {port} can queue tasks\n")
        options = {"host": host, "port": port, "log_level": log_level.lower(), "server_header": False}
        if workers == 1:
            from fgrid.api import create_api

            uvicorn.run(create_api(settings), **options)
        else:
            # Each process builds its own app from the environment, so hand the data folder on through it.
            os.environ[config.ENV_DATA_DIR] = str(settings.data_dir)
            uvicorn.run("fgrid.api:create_api", factory=True, workers=workers, **options)
