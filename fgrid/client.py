"""What the CLI and the HTTP API do with tasks: validate, submit by name, read status, wait.

Everything here raises :mod:`fgrid.errors` exceptions with one-line messages; broker and result-store failures
become :class:`~fgrid.errors.UnavailableError` naming the URL with its password masked.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fgrid import config, validation
from fgrid.config import Settings, mask_url
from fgrid.errors import FgridError, UnavailableError, UnknownTaskError

if TYPE_CHECKING:
    from celery import Celery

#: States after which a task will not change again.
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
#: Seconds between two polls of a task's state while waiting.
POLL_INTERVAL = 0.05


def app_for(settings: Settings) -> Celery:
    """The Celery app for ``settings``."""
    from fgrid.celery_app import get_app

    return get_app(settings)


@contextlib.contextmanager
def reachable(settings: Settings, what: str = "broker") -> Iterator[None]:
    """Turn connection failures inside the block into one UnavailableError that names the URL and the fix."""
    from kombu.exceptions import OperationalError

    errors: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, socket.timeout, TimeoutError)
    try:
        import redis.exceptions

        errors += (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    from celery.exceptions import BackendError

    errors += (BackendError,)
    try:
        yield
    except FgridError:
        raise
    except errors as exc:
        raise unavailable(settings, exc, what) from exc


def unavailable(settings: Settings, exc: BaseException, what: str = "broker") -> UnavailableError:
    """An UnavailableError for ``exc``, naming the broker or result store URL (masked) and what to check."""
    url = settings.result_backend if what == "result store" else settings.broker_url
    reason = config.mask_secrets(" ".join(str(exc).split()) or type(exc).__name__, *settings.secrets)[:160]
    hint = "is Redis running? check `redis-cli ping`" if url.startswith("redis") else "is the server running?"
    return UnavailableError(f"cannot reach the {what} at {mask_url(url)}: {reason}; {hint}")


def check_broker(settings: Settings) -> None:
    """Connect to the broker and the result store once, quickly; raise UnavailableError if either is down."""
    app = app_for(settings)
    with reachable(settings, "broker"):
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
    if settings.result_backend.startswith(("redis://", "rediss://")):
        with reachable(settings, "result store"):
            app.backend.client.ping()


def submit(settings: Settings, task_name: str, kwargs: dict[str, Any]) -> str:
    """Queue ``task_name`` with ``kwargs`` (routed by name) and return its id."""
    import uuid

    from fgrid.registry import TaskRegistry
    from fgrid.signals import RECORDED_HEADER, task_info

    app = app_for(settings)
    check_broker(settings)
    task_id = str(uuid.uuid4())
    queue = app.amqp.router.route({}, task_name).get("queue")
    summary = ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and k != "requests")
    with reachable(settings, "result store"):
        TaskRegistry(app).record(task_id, task_info(task_name, getattr(queue, "name", str(queue)), summary,
                                                    kwargs=kwargs))
    with reachable(settings, "broker"):
        app.send_task(task_name, kwargs=kwargs, task_id=task_id, headers={RECORDED_HEADER: True})
    return task_id


def resolve_analyze(settings: Settings, **args: Any) -> dict[str, Any]:
    """Validate an analysis request against the data and return the task's canonical kwargs."""
    kwargs = validation.analyze_args(
        args.get("player"), args.get("opponent"), args.get("location"), args.get("season"), args.get("week"),
        args.get("scoring", "ppr"),
    )
    from fgrid.analysis import data, matchup

    ds = data.load(settings.nfl_dir)
    request = matchup.resolve_request(ds, **kwargs)
    return request.task_kwargs()


def resolve_compare(settings: Settings, players: list[str], opponents: list[str], season: int | None = None,
                    week: int | None = None, scoring: str = "ppr", slots: int | None = None) -> dict[str, Any]:
    """Validate a comparison against the data and return the compare task's kwargs."""
    pairs = validation.compare_args(players, opponents)
    resolved = [resolve_analyze(settings, player=p, opponent=o, season=season, week=week, scoring=scoring)
                for p, o in pairs]
    if slots is not None:
        slots = validation.optional_int(slots, "slots", 1, len(pairs))
    return {"requests": resolved, "slots": slots}


def task_state(settings: Settings, task_id: str) -> dict[str, Any]:
    """Everything known of a task: state, result or error, worker, times, progress; UnknownTaskError if never seen."""
    task_id = validation.task_id(task_id)
    app = app_for(settings)
    from celery.result import AsyncResult

    from fgrid.registry import TaskRegistry

    with reachable(settings, "result store"):
        res = AsyncResult(task_id, app=app)
        meta = app.backend.get_task_meta(task_id)
        record = TaskRegistry(app).lookup(task_id)
    state = meta.get("status", "PENDING")
    if state == "PENDING" and record is None:
        raise UnknownTaskError(f"unknown task id {task_id}: never submitted, or its record has expired")
    info: dict[str, Any] = {
        "task_id": task_id,
        "state": state,
        "name": meta.get("name") or (record or {}).get("name"),
        "worker": meta.get("worker"),
        "queue": meta.get("queue") or (record or {}).get("queue"),
        "submitted_at": (record or {}).get("submitted_at"),
        "date_done": str(meta["date_done"]) if meta.get("date_done") else None,
        "result": None,
        "error": None,
        "progress": None,
    }
    value = meta.get("result")
    if state == "SUCCESS":
        info["result"] = value
    elif state in ("FAILURE", "RETRY", "REVOKED"):
        info["error"] = one_line_error(value, state)
    elif state == "PROGRESS" and isinstance(value, dict):
        info["progress"] = _progress(app, value)
    elif state == "STARTED" and isinstance(value, dict):
        info["worker"] = info["worker"] or value.get("hostname")
    del res
    return info


def status(settings: Settings, task_id: str) -> dict[str, Any]:
    """The seed's status document: task_id, status, ready, successful, result (null until ready)."""
    info = task_state(settings, task_id)
    ready = info["state"] in READY_STATES
    result = info["result"] if info["state"] == "SUCCESS" else info["error"] if ready else None
    return {
        "task_id": info["task_id"],
        "status": info["state"],
        "ready": ready,
        "successful": info["state"] == "SUCCESS",
        "result": result,
    }


def wait(settings: Settings, task_id: str, timeout: float | None = None,
         on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll a task until it is ready (or ``timeout`` seconds pass); return its final ``task_state``."""
    start = time.monotonic()
    interval = POLL_INTERVAL
    while True:
        info = task_state(settings, task_id)
        info["elapsed"] = time.monotonic() - start
        if on_update:
            on_update(info)
        if info["state"] in READY_STATES:
            return info
        if timeout is not None and info["elapsed"] >= timeout:
            raise FgridError(f"task {task_id} not finished after {timeout:g} s (state {info['state']}); "
                             f"check it later with `fgrid status {task_id}`")
        time.sleep(interval)
        interval = min(interval * 1.2, 0.25)


def one_line_error(value: Any, state: str) -> str:
    """A one-line reason from a stored exception (never a traceback)."""
    if state == "REVOKED":
        return "revoked (cancelled)"
    if isinstance(value, BaseException):
        message = str(value) or type(value).__name__
        if not isinstance(value, FgridError):
            message = f"{type(value).__name__}: {message}" if str(value) else type(value).__name__
    elif isinstance(value, dict) and "exc_type" in value:
        message = f"{value.get('exc_type')}: {value.get('exc_message')}"
    else:
        message = str(value)
    return " ".join(message.split())[:300]


def _progress(app: Celery, meta: dict[str, Any]) -> dict[str, Any]:
    # A fanned-out task stores its children's ids; count the finished ones live.
    children = meta.get("children") or []
    done = meta.get("done", 0)
    if children:
        metas = [app.backend.get_task_meta(child) for child in children]
        done = sum(1 for m in metas if m.get("status") in READY_STATES)
    return {**{k: v for k, v in meta.items() if k != "children"}, "done": done, "total": meta.get("total", len(children))}



def run_backtest(settings: Settings, season: int, weeks: list[int] | None, scoring: str, model: str = "engine",
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Backtest in this process: the engine's projections, or the trained ai model's, on the same rows."""
    from fgrid.analysis import backtest, data

    ds = data.load(settings.nfl_dir)
    predictor = None
    if model == "ai":
        from fgrid.analysis import model as ai

        predictor = ai.predictor(ai.load_model(settings.models_dir))
    return backtest.run(ds, season, weeks, scoring, progress=progress, predictor=predictor)
