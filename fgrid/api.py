"""The seed's HTTP API on fgrid's job system: queue analyses, read a task's status, check health.

Each endpoint hands its blocking work (the checks against the data, the Celery and Redis calls) to the thread pool
in one trip, so the event loop never stalls; FastAPI then checks the response on the loop (a plain ``def`` endpoint
would cost a second trip, for that check). Requests are validated by the service layer the CLI uses too
(:mod:`fgrid.service`), and fgrid's exceptions become status codes in one handler. Building the app reads the
environment once and connects to nothing.

Serve it with ``fgrid serve``, ``uvicorn fgrid.api:app`` or
``gunicorn fgrid.api:app -k uvicorn.workers.UvicornWorker`` (``app`` is built on first access).
"""

from __future__ import annotations

import gc
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fgrid import __version__, config
from fgrid.app import get_app
from fgrid.broker import connection
from fgrid.config import Settings
from fgrid.errors import (
    FgridError,
    InputError,
    NoDataError,
    NoModelError,
    StorageError,
    TransientDataError,
    UnavailableError,
    UnknownTaskError,
)
from fgrid.service import health as health_service
from fgrid.service import lifecycle, resolve

log = logging.getLogger("fgrid.api")

#: Largest request body accepted (bytes); larger ones are refused with 413 before an endpoint reads them.
MAX_BODY_BYTES = 64 * 1024
HEALTH_PATH = "/api/health"
EXAMPLE_TASK_ID = "3f1c9e5e-8d1b-4c1e-9a53-2b8f0c6d7e21"
#: Paths served without the bearer token: the health check (for load balancers) and the API's own documentation.
OPEN_PATHS = frozenset({HEALTH_PATH, "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

#: fgrid's exceptions and their status codes, most specific first. Missing data on the server is not the
#: client's fault (503, like an unreachable broker); no trained model is a conflict with the server's state (409,
#: until someone trains one); any other FgridError is the server's (500).
STATUS_CODES: tuple[tuple[type[FgridError], int], ...] = (
    (UnknownTaskError, 404),
    (NoModelError, 409),
    (NoDataError, 503),
    (InputError, 400),
    (UnavailableError, 503),
    (TransientDataError, 503),
    (StorageError, 507),
    (FgridError, 500),
)


# ---------------------------------------------------------------------------------------------------------------
# Request and response documents


class _Body(BaseModel):
    # Strict JSON types and no unknown fields: a typo such as "seasn" is a 422 naming it, not a silent default.
    model_config = ConfigDict(extra="forbid", strict=True)


class AnalyzeRequest(_Body):
    """One player against one opponent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "player_id": "CeeDee Lamb",
                    "opponent_id": "SF",
                    "location": "Santa Clara, CA",
                    "season": 2023,
                    "week": 5,
                },
            ]
        }
    )

    player_id: str = Field(description="Player: name, gsis id (00-0036358), Sleeper or ESPN id.")
    opponent_id: str | None = Field(
        None,
        description="Opponent: team code (SF), city or nickname (default: the "
        "scheduled one that week; must match it unless what_if).",
    )
    location: str | None = Field(None, description='Venue, e.g. "Santa Clara, CA" (default: the scheduled one).')
    season: int | None = Field(None, description="Season of the game (default: the week after the data).")
    week: int | None = Field(
        None,
        description="Week of the game (default: the week after the data, or with an opponent the teams' next meeting).",
    )
    scoring: str = Field("ppr", description="Scoring format: ppr, half or standard.")
    what_if: bool = Field(
        False,
        description="A hypothetical game against opponent_id when the schedule has none "
        'that week (the result says "hypothetical": true).',
    )


class PredictRequest(AnalyzeRequest):
    """One player against one opponent, projected by the trained ``ai`` model."""


class CompareRequest(_Body):
    """Players, each against an opponent (one per player, or one for all), to rank."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "player_ids": ["CeeDee Lamb", "Tyreek Hill", "Justin Jefferson"],
                    "opponent_ids": ["SF", "NYG", "KC"],
                    "season": 2023,
                    "week": 5,
                },
            ]
        }
    )

    player_ids: list[str] = Field(description="Players: names or ids.")
    opponent_ids: list[str] = Field(
        [],
        description="Opponents: one per player, or one for all (default: each player's scheduled opponent that week).",
    )
    season: int | None = Field(None, description="Season of the week (default: the week after the data).")
    week: int | None = Field(
        None, description="The one week of every player's game (default: the week after the data)."
    )
    scoring: str = Field("ppr", description="Scoring format: ppr, half or standard.")
    slots: int | None = Field(
        None, description=f"Players to start, at most the number compared (default: {config.DEFAULT_COMPARE_SLOTS})."
    )
    what_if: bool = Field(False, description="Hypothetical games against the opponents given.")


class GradeRequest(_Body):
    """Players, each against an opponent, to grade with the trained ``ai`` model."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "player_ids": ["CeeDee Lamb", "Tyreek Hill"],
                    "opponent_ids": ["SF", "NYG"],
                    "season": 2023,
                    "week": 5,
                },
            ]
        }
    )

    player_ids: list[str] = Field(description="Players: names or ids.")
    opponent_ids: list[str] = Field(
        [],
        description="Opponents: one per player, or one for all (default: each player's scheduled opponent that week).",
    )
    season: int | None = Field(None, description="Season of the week (default: the week after the data).")
    week: int | None = Field(
        None, description="The one week of every player's game (default: the week after the data)."
    )
    what_if: bool = Field(False, description="Hypothetical games against the opponents given.")


class LineupRequest(_Body):
    """A roster and the league's slots, for one week: the best lineup by projection."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "player_ids": [
                        "Josh Allen",
                        "Christian McCaffrey",
                        "Bijan Robinson",
                        "Tony Pollard",
                        "CeeDee Lamb",
                        "Tyreek Hill",
                        "Mike Evans",
                        "Sam LaPorta",
                        "Travis Kelce",
                    ],
                    "slots": ["QB", "RB", "RB", "WR", "WR", "TE", "FLEX"],
                    "season": 2023,
                    "week": 5,
                },
            ]
        }
    )

    player_ids: list[str] = Field(description="The roster: names or ids.")
    slots: list[str] | None = Field(
        None,
        description="Slots: QB, RB, WR, TE, FLEX (RB/WR/TE), SUPERFLEX "
        "(QB/RB/WR/TE) or A/B (default QB,RB,RB,WR,WR,TE,FLEX).",
    )
    season: int | None = Field(None, description="Season of the week (default: the week after the data).")
    week: int | None = Field(None, description="The week (default: the week after the data).")
    scoring: str = Field("ppr", description="Scoring format: ppr, half or standard.")
    model: Literal["engine", "ai"] = Field(
        "engine", description="Projections of the matchup engine or the trained ai model."
    )


class TaskQueued(BaseModel):
    """A task accepted and queued; follow it at ``/api/tasks/status/{task_id}``."""

    task_id: str
    status: Literal["queued"]


class TaskStatus(BaseModel):
    """The seed's status document."""

    task_id: str
    status: str = Field(description="PENDING, STARTED, PROGRESS, RETRY, SUCCESS, FAILURE or REVOKED.")
    ready: bool = Field(description="True once the task will not change again.")
    successful: bool
    result: Any = Field(
        None, description="The result once SUCCESS, a one-line error once FAILURE or REVOKED, else null."
    )
    progress: dict[str, Any] | None = Field(
        None, description="While PROGRESS: stage, done and total parts, percent (each null when not reported)."
    )


class ErrorBody(BaseModel):
    """What went wrong, in one line."""

    detail: str


class Component(BaseModel):
    ok: bool
    url: str = Field(description="Where it is (password masked).")
    error: str | None = None


class WorkersReport(BaseModel):
    count: int = Field(description="Workers alive now (a recovery heartbeat in the last 15 s, or a ping's answer).")
    names: list[str]
    error: str | None = None


class Health(BaseModel):
    """Whether tasks can be queued (broker and result store reachable) and which workers answer."""

    status: Literal["ok", "unavailable"]
    broker: Component
    result_store: Component
    workers: WorkersReport


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_UNAUTHORIZED = _error("Missing or wrong bearer token (only when FGRID_API_TOKEN is set).")
_UNAVAILABLE = _error("Broker or result store unreachable (URL masked), or no synced NFL data on the server.")
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Unknown player, team or location, or a value out of range (the CLI's message)."),
    401: _UNAUTHORIZED,
    413: _error(f"Request body larger than {MAX_BODY_BYTES} bytes."),
    503: _UNAVAILABLE,
}
AI_RESPONSES: dict[int | str, dict[str, Any]] = {
    **SUBMIT_RESPONSES,
    409: _error("No trained ai model on the server: run `fgrid train` first."),
}
STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed task id (not a UUID)."),
    401: _UNAUTHORIZED,
    404: _error("Unknown task id: never submitted, or its record has expired."),
    503: _UNAVAILABLE,
}


# ---------------------------------------------------------------------------------------------------------------
# The app


def create_api(settings: Settings | None = None, *, env: Mapping[str, str] | None = None) -> FastAPI:
    """Build the HTTP API for ``settings`` (from the environment when None); connects to nothing.

    ``env`` (default ``os.environ``) supplies the optional bearer token (FGRID_API_TOKEN) and CORS origins
    (FGRID_API_CORS_ORIGINS, comma-separated; CORS is off without it).
    """
    env = os.environ if env is None else env
    settings = settings or Settings.from_env(env)
    token = env.get(config.ENV_API_TOKEN) or None
    origins = [o.strip() for o in env.get(config.ENV_API_CORS, "").split(",") if o.strip()]

    api = FastAPI(
        title="fgrid",
        version=__version__,
        summary="Fantasy-football matchup analysis as background jobs.",
        description="Queue an analysis, get a task id back at once (202), then poll its status until it is ready.",
        lifespan=_lifespan(settings),
    )
    api.add_exception_handler(FgridError, _error_handler(settings))  # type: ignore[arg-type]  # Starlette types
    # handlers for Exception only; FastAPI calls this one with an FgridError.
    api.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]  # as above
    # The token is checked by the guard middleware, before the body is read; this dependency only documents the
    # bearer scheme in the OpenAPI schema, and only when a token is actually required.
    secured = [Depends(HTTPBearer(auto_error=False, description="FGRID_API_TOKEN"))] if token else []

    async def queued(task_name: str, checked: Callable[[], dict[str, Any]]) -> TaskQueued:
        """Check the request (``checked`` gives the task's kwargs) and queue the task, off the event loop."""

        def submit() -> TaskQueued:
            return TaskQueued(task_id=lifecycle.submit(settings, task_name, checked()), status="queued")

        return await run_in_threadpool(submit)

    @api.post(
        "/api/tasks/analyze-player",
        status_code=202,
        response_model=TaskQueued,
        responses=SUBMIT_RESPONSES,
        dependencies=secured,
        tags=["tasks"],
    )
    async def analyze_player(body: AnalyzeRequest) -> TaskQueued:
        """Queue a matchup analysis of one player against one opponent (queue `matchups`)."""
        return await queued(config.TASK_ANALYZE, partial(analysis_kwargs, settings, body))

    @api.post(
        "/api/tasks/compare-players",
        status_code=202,
        response_model=TaskQueued,
        responses=SUBMIT_RESPONSES,
        dependencies=secured,
        tags=["tasks"],
    )
    async def compare_players(body: CompareRequest) -> TaskQueued:
        """Queue a comparison of players, each against an opponent, ranked by projection (queue `analysis`)."""
        checked = partial(
            resolve.compare_request,
            settings,
            body.player_ids,
            body.opponent_ids,
            body.season,
            body.week,
            body.scoring,
            body.slots,
            what_if=body.what_if,
        )
        return await queued(config.TASK_COMPARE, checked)

    @api.post(
        "/api/tasks/lineup",
        status_code=202,
        response_model=TaskQueued,
        responses=AI_RESPONSES,
        dependencies=secured,
        tags=["tasks"],
    )
    async def lineup(body: LineupRequest) -> TaskQueued:
        """Queue the best lineup of a roster for one week: one projection per player, then the exact assignment
        of players to slots, the bench with each player's gap, and players on a bye apart (queue `analysis`)."""
        checked = partial(
            resolve.lineup_request,
            settings,
            body.player_ids,
            body.slots,
            body.season,
            body.week,
            body.scoring,
            body.model,
        )
        return await queued(config.TASK_LINEUP, checked)

    @api.post(
        "/api/tasks/predict",
        status_code=202,
        response_model=TaskQueued,
        responses=AI_RESPONSES,
        dependencies=secured,
        tags=["ai"],
    )
    async def predict(body: PredictRequest) -> TaskQueued:
        """Queue a projection of one player against one opponent by the trained model (queue `ai`)."""

        def checked() -> dict[str, Any]:
            resolve.require_model(settings)
            return analysis_kwargs(settings, body)

        return await queued(config.TASK_AI_PREDICT, checked)

    @api.post(
        "/api/tasks/grade",
        status_code=202,
        response_model=TaskQueued,
        responses=AI_RESPONSES,
        dependencies=secured,
        tags=["ai"],
    )
    async def grade(body: GradeRequest) -> TaskQueued:
        """Queue grades of players, each against an opponent, by the trained model (queue `ai`)."""

        def checked() -> dict[str, Any]:
            resolve.require_model(settings)
            kwargs = resolve.compare_request(
                settings, body.player_ids, body.opponent_ids, body.season, body.week, what_if=body.what_if
            )
            return {"requests": kwargs["requests"]}

        return await queued(config.TASK_AI_GRADE, checked)

    @api.get(
        "/api/tasks/status/{task_id}",
        response_model=TaskStatus,
        responses=STATUS_RESPONSES,
        dependencies=secured,
        tags=["tasks"],
    )
    async def task_status(
        task_id: str = Path(
            description="The id returned when the task was queued (a UUID).",
            examples=[EXAMPLE_TASK_ID],
            json_schema_extra={"format": "uuid"},
        ),
    ) -> TaskStatus:
        """Show a task's state and, once it is ready, its result (or its error)."""
        return TaskStatus(**await run_in_threadpool(lifecycle.status, settings, task_id))

    @api.get(
        HEALTH_PATH,
        response_model=Health,
        responses={503: {"model": Health, "description": "Unavailable."}},
        tags=["health"],
    )
    async def health(request: Request) -> JSONResponse:
        """Say whether the broker and result store are reachable (200, else 503) and how many workers are alive;
        where they are and the workers' names only with the bearer token (when one is set)."""
        report = await run_in_threadpool(health_service.health, settings)
        if token is not None and not _bearer_matches(request.headers.get("authorization", ""), token):
            report = _redacted(report)
        return JSONResponse(Health(**report).model_dump(), status_code=200 if report["status"] == "ok" else 503)

    api.add_middleware(Guard, token=token, max_body=MAX_BODY_BYTES)
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        # Outermost, so preflight requests (which carry no token) are answered before the guard.
        api.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return api


def analysis_kwargs(settings: Settings, body: AnalyzeRequest | PredictRequest) -> dict[str, Any]:
    """The analysis task's kwargs for an analyze or predict request, checked against the data."""
    return resolve.analyze_request(
        settings,
        player=body.player_id,
        opponent=body.opponent_id,
        location=body.location,
        season=body.season,
        week=body.week,
        scoring=body.scoring,
        what_if=body.what_if,
    )


def _lifespan(settings: Settings) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_api: FastAPI) -> Any:
        await run_in_threadpool(_warm, settings)
        yield

    return lifespan


def _warm(settings: Settings) -> None:
    # Build the Celery app and read the data before the first request, so concurrent first requests do not race
    # to build them; neither connects to anything. A problem here is reported by the requests that meet it.
    get_app(settings)
    try:
        from fgrid.analysis import data

        data.load(settings.nfl_dir)
    except FgridError as exc:
        log.warning("fgrid api: %s", config.mask_secrets(str(exc), *settings.secrets))
    # Keep the collector off what the process holds for good (the data, the app): a full collection of that heap
    # takes tens of milliseconds, during which the process answers nobody.
    gc.collect()
    gc.freeze()


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _redacted(report: dict[str, Any]) -> dict[str, Any]:
    """The health report a stranger sees: up or down, and how many workers; no paths, hosts or errors."""
    hidden = "(hidden: send the bearer token)"
    return {
        "status": report["status"],
        **{part: {"ok": report[part]["ok"], "url": hidden, "error": None} for part in ("broker", "result_store")},
        "workers": {"count": report["workers"]["count"], "names": [], "error": None},
    }


async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and what is wrong with it, without echoing the input: the input may hold what JSON
    cannot encode (NaN, Infinity, 1e999 parsed as inf) or what nobody should see in a reply."""
    errors = [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _error_handler(settings: Settings) -> Callable[[Request, FgridError], Awaitable[JSONResponse]]:
    async def handle(_request: Request, exc: FgridError) -> JSONResponse:
        code = next(code for kind, code in STATUS_CODES if isinstance(exc, kind))
        detail = _one_line(settings, exc)
        if code >= 500:
            log.error("fgrid api: %s", detail, exc_info=settings.debug)
        return JSONResponse({"detail": detail}, status_code=code)

    return handle


def _one_line(settings: Settings, exc: BaseException) -> str:
    """The error's message on one line, passwords masked."""
    return connection.one_line(settings, exc)


# ---------------------------------------------------------------------------------------------------------------
# The guard: bearer token and body size, checked before any endpoint runs


class Guard:
    """ASGI middleware: refuse requests without the bearer token (when one is set) and bodies over ``max_body``.

    Both are checked before FastAPI parses anything, so a stranger's request is never read and a malformed
    unauthenticated body is a 401, not a 422. The body is buffered (it is small) and replayed to the app.
    """

    def __init__(self, app: ASGIApp, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if self.token is not None and not self._authorized(scope, headers):
            await _reply(
                send,
                401,
                "missing or wrong bearer token; send the header Authorization: Bearer <token>",
                [(b"www-authenticate", b'Bearer realm="fgrid"')],
            )
            return
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _reply(send, 400, "malformed Content-Length header")
                return
            if int(declared) > self.max_body:
                await _reply(send, 413, self._too_large())
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # a chunked body, or one longer than its Content-Length said
                await _reply(send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                message, body = body, None
                return message
            return await receive()

        await self.app(scope, replay, send)

    def _authorized(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if path in OPEN_PATHS:
            return True
        scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token or b"")

    def _too_large(self) -> str:
        return f"request body too large: at most {self.max_body} bytes"


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    response = JSONResponse({"detail": detail}, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": [*response.raw_headers, *(headers or [])]})
    await send({"type": "http.response.body", "body": response.body})


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    # `uvicorn fgrid.api:app` and `gunicorn fgrid.api:app` find the app here, built from the environment on
    # first access (importing this module builds nothing).
    global _app
    if name == "app":
        if _app is None:
            _app = create_api()
        return _app
    raise AttributeError(f"module 'fgrid.api' has no attribute {name!r}")
