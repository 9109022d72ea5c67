"""Is fgrid ready to work? ``fgrid doctor``'s checks (the seed's troubleshooting, each with its fix) and the HTTP
API's health probe share the same reads of the broker, the result store and the workers."""

from __future__ import annotations

from typing import Any

from fgrid import config
from fgrid.app import get_app
from fgrid.broker import connection, queues
from fgrid.config import Kind, Settings, mask_url
from fgrid.errors import FgridError, UnavailableError
from fgrid.recovery import sweep
from fgrid.service import monitor

#: Checks that are warnings when they do not pass: fgrid works without them, but not its ai commands.
WARNING_CHECKS = frozenset({"ai model present", f"worker consuming {config.QUEUE_AI!r}"})
#: Seconds the health probe waits for workers to answer a ping.
WORKER_PING_TIMEOUT = 1.0


def live_workers(app: Any) -> set[str]:
    """The workers alive now: from their recovery heartbeats where they send them (one read, no broadcast), else
    those that answer a ping within :data:`WORKER_PING_TIMEOUT`."""
    beating = queues.live_workers(app, sweep.WORKER_TTL)
    if beating is not None:
        return set(beating)
    with connection.control(app, WORKER_PING_TIMEOUT) as inspect:
        return set(inspect.ping() or {})


def health(settings: Settings) -> dict[str, Any]:
    """Probe the broker and the result store (as every submission does) and count the live workers: a JSON-ready report
    with ``status`` "ok" or "unavailable" and, for each component, ``ok``, its masked URL and the error."""
    app = get_app(settings)
    broker_error = store_error = None
    try:
        connection.check_broker(app)
    except UnavailableError as exc:
        broker_error = connection.one_line(settings, exc)
    try:
        connection.check_result_store(app)
    except UnavailableError as exc:
        store_error = connection.one_line(settings, exc)
    workers: dict[str, Any] = {"count": 0, "names": [], "error": "broker unreachable" if broker_error else None}
    if broker_error is None:
        try:
            names = sorted(live_workers(app))
            workers = {"count": len(names), "names": names, "error": None}
        except UnavailableError as exc:
            workers["error"] = connection.one_line(settings, exc)
    ok = broker_error is None and store_error is None
    return {
        "status": "ok" if ok else "unavailable",
        "broker": {"ok": broker_error is None, "url": mask_url(settings.broker_url), "error": broker_error},
        "result_store": {"ok": store_error is None, "url": mask_url(settings.result_backend), "error": store_error},
        "workers": workers,
    }


def doctor(settings: Settings, timeout: float = config.INSPECT_TIMEOUT) -> list[dict[str, Any]]:
    """The seed's troubleshooting as checks: each with ok, what was found and, when it fails, the fix."""
    checks: list[dict[str, Any]] = []

    def add(name: str, ok: bool, detail: str, fix: str | None = None) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail, "fix": None if ok else fix})

    start_redis = (
        "start Redis (`redis-server`, or `docker run -d -p 6379:6379 redis:alpine`) so that "
        "`redis-cli ping` answers PONG, and check CELERY_BROKER_URL / REDIS_URL"
    )
    app = get_app(settings)
    try:
        # The `redis-cli ping` of the seed's troubleshooting: one connection attempt, bounded in time.
        connection.check_broker(app)
        broker_ok = True
        add("broker reachable", True, mask_url(settings.broker_url))
    except UnavailableError as exc:
        broker_ok = False
        fix = exc.fix or (
            start_redis if settings.broker_kind is Kind.REDIS else f"check {settings.variable('broker_url')}"
        )
        add("broker reachable", False, str(exc), fix)
    if not broker_ok and settings.result_backend == settings.broker_url:
        # One server for both, already found unreachable: not asked twice (a down server costs a timeout each).
        add(
            "result store reachable",
            False,
            "the same server as the broker (above)",
            "make the broker reachable first (see above)",
        )
    else:
        checks.append(_result_store_check(settings))

    start_worker = "start one: `fgrid worker -Q {queues}` (see deploy/README.md for one worker per queue)"
    if broker_ok:
        try:
            workers = monitor.inspect_workers(settings, timeout)
        except UnavailableError as exc:
            workers = []
            add("workers answer", False, str(exc), start_redis)
        for q in config.QUEUES:
            consumers = [w["hostname"] for w in workers if q in w["queues"]]
            add(
                f"worker consuming {q!r}",
                bool(consumers),
                ", ".join(consumers) if consumers else "no worker consumes this queue; its tasks wait forever",
                start_worker.format(queues=q if workers else ",".join(config.QUEUES)),
            )
        if workers:
            checks.append(_registered_check(settings, timeout, len(workers)))
        else:
            add(
                "tasks registered",
                False,
                "no worker answered `inspect registered`",
                start_worker.format(queues=",".join(config.QUEUES)),
            )
    else:
        first = "make the broker reachable first (see above)"
        for q in config.QUEUES:
            add(f"worker consuming {q!r}", False, "not checked: the broker is unreachable", first)
        add("tasks registered", False, "not checked: the broker is unreachable", first)

    checks.append(_data_check(settings))
    checks.append(_model_check(settings))
    for check in checks:
        # A fresh setup can work without these: the ai commands wait for a model and a worker on `ai`.
        optional = check["check"] in WARNING_CHECKS and check.get("detail", "").find("not checked") < 0
        check["level"] = None if check["ok"] else "warning" if optional else "failure"
    return checks


def _result_store_check(settings: Settings) -> dict[str, Any]:
    name, url = "result store reachable", mask_url(settings.result_backend)
    try:
        connection.check_result_store(get_app(settings))
    except UnavailableError as exc:
        fix = exc.fix or (
            f"start Redis so that `redis-cli ping` answers PONG, and check {settings.variable('result_backend')}"
            if settings.result_kind is Kind.REDIS
            else None
        )
        return {"check": name, "ok": False, "detail": str(exc), "fix": fix or str(exc).partition("; ")[2]}
    checked = "" if settings.result_kind in (Kind.REDIS, Kind.FILES) else " (not checked: neither Redis nor files)"
    return {"check": name, "ok": True, "detail": url + checked, "fix": None}


def _registered_check(settings: Settings, timeout: float, workers: int) -> dict[str, Any]:
    app = get_app(settings)
    expected = sorted(name for name in app.tasks if name.startswith("fgrid."))
    fix = "restart the workers on this version of fgrid (`fgrid worker`), so they load the same tasks"
    try:
        with connection.control(app, timeout, limit=workers) as inspect:
            replies = inspect.registered() or {}
    except UnavailableError as exc:
        return {"check": "tasks registered", "ok": False, "detail": str(exc), "fix": fix}
    known = {name.split()[0] for names in replies.values() for name in names}
    missing = [name for name in expected if name not in known]
    if missing:
        return {
            "check": "tasks registered",
            "ok": False,
            "detail": f"not registered on any worker: {', '.join(missing)}",
            "fix": fix,
        }
    return {
        "check": "tasks registered",
        "ok": True,
        "detail": f"{len(expected)} fgrid tasks on {len(replies)} worker(s)",
        "fix": None,
    }


def _data_check(settings: Settings) -> dict[str, Any]:
    from fgrid.analysis import data

    fix = "sync it: `fgrid data sync` (or `fgrid data sync --from <folder of nflverse files>`)"
    try:
        info = data.info(settings.nfl_dir)
    except FgridError as exc:  # NoDataError, or data from another fgrid version
        return {"check": "NFL data present", "ok": False, "detail": str(exc), "fix": fix}
    seasons = [s["season"] if isinstance(s, dict) else s for s in info.get("seasons") or []]
    span = f"seasons {min(seasons)}-{max(seasons)}, " if seasons else ""
    return {
        "check": "NFL data present",
        "ok": True,
        "detail": f"{span}last game {info.get('last_game_date')}, synced {info.get('synced_at')}",
        "fix": None,
    }


def _model_check(settings: Settings) -> dict[str, Any]:
    name, fix = "ai model present", "train one: `fgrid train` (the ai queue's tasks need a model)"
    try:
        from fgrid.analysis import model

        models = model.list_models(settings.models_dir)  # newest first
    except ImportError as exc:  # the ai extras (lightgbm...) not installed
        return {
            "check": name,
            "ok": False,
            "detail": f"the ai model code cannot be loaded: {exc}",
            "fix": "install fgrid with its dependencies (`pip install -e .`)",
        }
    except FgridError as exc:
        return {"check": name, "ok": False, "detail": str(exc), "fix": fix}
    usable = [m for m in models if m.get("loadable", True)]
    if not usable:
        detail = (
            f"{len(models)} model(s) in {settings.models_dir}, none loadable by this fgrid version"
            if models
            else f"no model in {settings.models_dir}"
        )
        return {"check": name, "ok": False, "detail": detail, "fix": fix}
    latest = next((m for m in usable if m.get("latest")), usable[0])
    return {
        "check": name,
        "ok": True,
        "fix": None,
        "detail": f"{len(usable)} model(s); latest {latest['model_id']} ({latest.get('scoring')}, "
        f"created {latest.get('created_at')})",
    }
