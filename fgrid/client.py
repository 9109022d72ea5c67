"""What the CLI and the HTTP API do with tasks: validate, submit by name, read status, wait.

Everything here raises :mod:`fgrid.errors` exceptions with one-line messages; broker and result-store failures
become :class:`~fgrid.errors.UnavailableError` naming the URL with its password masked.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fgrid import config, validation
from fgrid.config import Settings, mask_url
from fgrid.errors import FgridError, InputError, UnavailableError, UnknownTaskError

if TYPE_CHECKING:
    from celery import Celery

#: States after which a task will not change again.
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
#: Seconds between two polls of a task's state while waiting: the first gap, growing by POLL_GROWTH up to
#: POLL_INTERVAL_MAX. A Redis result store also announces each change, which ends a gap at once.
POLL_INTERVAL = 0.002
POLL_GROWTH = 1.25
POLL_INTERVAL_MAX = 0.25


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
        if settings.broker_url.startswith(("redis://", "rediss://")):
            # A ping over the app's pooled connection: one round trip. A new connection per check cost several
            # milliseconds (redis-py reads its package metadata for every connection it makes).
            with app.pool.acquire(block=True, timeout=config.DEFAULT_CONNECT_TIMEOUT) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
                conn.default_channel.client.ping()
        else:
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
    # With one server for both, recording the task (the first call below) is the check: it fails, naming the
    # broker, before anything is queued, and saves the check's round trips on every submit.
    one_server = settings.broker_url == settings.result_backend
    if not one_server:
        check_broker(settings)
    task_id = str(uuid.uuid4())
    queue = app.amqp.router.route({}, task_name).get("queue")
    summary = ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and k != "requests")
    registry = TaskRegistry(app)
    with reachable(settings, "broker" if one_server else "result store"):
        registry.record(task_id, task_info(task_name, getattr(queue, "name", str(queue)), summary, kwargs=kwargs))
    try:
        with reachable(settings, "broker"):
            app.send_task(task_name, kwargs=kwargs, task_id=task_id, headers={RECORDED_HEADER: True})
    except BaseException:
        # Reported as not queued: take it off the open set, or recovery would publish it once the broker is back.
        with contextlib.suppress(Exception):
            registry.close([task_id])
        raise
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


def task_state(settings: Settings, task_id: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything known of a task: state, result or error, worker, times, progress; UnknownTaskError if never seen.

    ``meta`` is the task's stored state when the caller already has it (as announced by the result store).
    """
    task_id = validation.task_id(task_id)
    app = app_for(settings)
    from fgrid.registry import TaskRegistry

    with reachable(settings, "result store"):
        if meta is None:
            meta, record = TaskRegistry(app).state_and_record(task_id)
        else:
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
        with reachable(settings, "result store"):
            info["progress"] = _progress(app, value)
    elif state == "STARTED" and isinstance(value, dict):
        info["worker"] = info["worker"] or value.get("hostname")
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
    changes: _StateChanges | None = None  # set up once a poll finds the task unfinished
    final: dict[str, Any] | None = None  # the final state, when the result store announced it
    try:
        while True:
            info = task_state(settings, task_id, final)
            info["elapsed"] = time.monotonic() - start
            if on_update:
                on_update(info)
            if info["state"] in READY_STATES:
                return info
            if timeout is not None and info["elapsed"] >= timeout:
                raise FgridError(f"task {task_id} not finished after {timeout:g} s (state {info['state']}); "
                                 f"check it later with `fgrid status {task_id}`")
            if changes is None:
                changes = _StateChanges(settings, task_id)
                continue  # poll again at once: the state may have changed before the subscription
            while True:
                # With announcements, polling is only a fallback (a message is lost if the connection drops).
                gap = POLL_INTERVAL_MAX if changes.announced else interval
                if timeout is not None:
                    gap = max(min(gap, timeout - (time.monotonic() - start)), 0.0)
                announced = changes.wait(gap)
                interval = min(interval * POLL_GROWTH, POLL_INTERVAL_MAX)
                state = (announced or {}).get("status")
                if state in READY_STATES:
                    final = announced  # the announcement carries the stored result: no need to read it again
                    break
                # An announced STARTED or PROGRESS needs no poll unless someone displays it.
                if on_update is not None or state is None or gap == 0.0:
                    break
    finally:
        if changes is not None:
            changes.close()


class _StateChanges:
    """Wait for a change of one task's stored state: Celery's Redis result store publishes every state it stores
    on the task's key, so a subscriber wakes as soon as the task moves; other stores are polled."""

    #: One subscriber connection per thread and result store, kept between waits (a new one costs a connect).
    _local = threading.local()

    def __init__(self, settings: Settings, task_id: str):
        self.settings = settings
        self.pubsub = None
        self.backend = app_for(settings).backend
        if type(self.backend).__name__ == "RedisBackend":
            key = self.backend.get_key_for_task(task_id)
            self.channel = key if isinstance(key, bytes) else key.encode()
            kept = getattr(self._local, "kept", None)
            with reachable(settings, "result store"):
                if kept is None or kept[0] is not self.backend:
                    self._forget()
                    kept = self._local.kept = (self.backend, self.backend.client.pubsub(ignore_subscribe_messages=True))
                self.pubsub = kept[1]
                try:
                    self.pubsub.subscribe(self.channel)
                except Exception:
                    self._forget()
                    raise

    @property
    def announced(self) -> bool:
        return self.pubsub is not None

    def wait(self, seconds: float) -> dict[str, Any] | None:
        """Wait up to ``seconds`` for the task's state to change; return the announced state as stored ({} if
        unreadable), or None if nothing was announced."""
        if self.pubsub is None:
            time.sleep(seconds)
            return None
        deadline = time.monotonic() + seconds
        with reachable(self.settings, "result store"):
            try:
                while (left := deadline - time.monotonic()) > 0:
                    message = self.pubsub.get_message(timeout=left)  # None for (un)subscription confirmations
                    if message is None or message.get("type") != "message":
                        continue
                    channel = message.get("channel")
                    if (channel.encode() if isinstance(channel, str) else channel) != self.channel:
                        continue  # a late message for a task waited on before
                    try:
                        # As get_task_meta decodes it (a stored exception becomes an exception again).
                        return self.backend.meta_from_decoded(self.backend.decode(message["data"]))
                    except (ValueError, TypeError, AttributeError, KeyError):
                        return {}
            except Exception:
                self._forget()
                raise
        return None

    def close(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.unsubscribe(self.channel)
            except Exception:  # noqa: BLE001 - a broken subscriber is dropped; the next wait makes a new one
                self._forget()

    @classmethod
    def _forget(cls) -> None:
        kept = getattr(cls._local, "kept", None)
        cls._local.kept = None
        if kept is not None:
            with contextlib.suppress(Exception):
                kept[1].close()


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
    # A fanned-out task stores its children's ids; count the finished ones live (one read for all on Redis).
    children = meta.get("children") or []
    done = meta.get("done", 0)
    if children:
        backend = app.backend
        if hasattr(backend, "client") and hasattr(backend, "get_key_for_task"):
            raws = backend.client.mget([backend.get_key_for_task(child) for child in children])
            states = [backend.decode_result(raw).get("status") if raw else "PENDING" for raw in raws]
        else:
            states = [backend.get_task_meta(child).get("status") for child in children]
        done = sum(1 for state in states if state in READY_STATES)
    return {**{k: v for k, v in meta.items() if k != "children"}, "done": done, "total": meta.get("total", len(children))}


def resolve_backtest(settings: Settings, season: int, weeks: list[int] | None, scoring: str,
                     refit: bool = False) -> dict[str, Any]:
    """Check a backtest request against the data (season and weeks present, ``refit`` possible); return the task's
    kwargs (``refit`` only when set)."""
    from fgrid.analysis import backtest, data

    season = validation.optional_int(season, "season", validation.MIN_SEASON, validation.MAX_SEASON)
    ds = data.load(settings.nfl_dir)
    available = backtest.season_weeks(ds, season, scoring)
    refit = backtest.check_refit(ds, season, refit, scoring)
    missing = sorted(set(weeks or []) - set(available))
    if not available or missing:
        span = f"{available[0]}-{available[-1]}" if available else "none"
        raise InputError(f"no regular-season stats for {season} week(s) {missing or ''}; available: {span}")
    kwargs = {"season": season, "weeks": sorted(set(weeks)) if weeks else None, "scoring": scoring}
    return {**kwargs, "refit": True} if refit else kwargs


def run_backtest(settings: Settings, season: int, weeks: list[int] | None, scoring: str, model: str = "engine",
                 progress: Callable[[int, int], None] | None = None, refit: bool = False) -> dict[str, Any]:
    """Backtest in this process: the engine's projections (``refit``: walk forward, the engine refitted before each
    week on earlier games), or the trained ai model's, on the same rows."""
    from fgrid.analysis import backtest, data

    if refit and model != "engine":
        raise InputError("refit applies to the engine's backtest, not to the ai model's")
    ds = data.load(settings.nfl_dir)
    predictor = None
    if model == "ai":
        from fgrid.analysis import model as ai

        trained = ai.load_model(settings.models_dir)
        predictor = ai.backtest_predictor(trained)
        predictor.__name__ = f"ai model {trained.model_id}"
    return backtest.run(ds, season, weeks, scoring, progress=progress, predictor=predictor, refit=refit)


def require_model(settings: Settings) -> None:
    """Raise NoDataError, naming `fgrid train`, when no trained model is in the data folder."""
    from fgrid.analysis import model as ai
    from fgrid.errors import NoDataError

    if not ai.list_models(settings.models_dir):
        raise NoDataError(f"no trained model in {settings.models_dir}; run `fgrid train` first")
