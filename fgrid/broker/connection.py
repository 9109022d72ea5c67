"""Reach the broker and the result store, or fail in one line that names the URL (password masked) and the fix."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from fgrid import config, files
from fgrid.config import Kind, Settings, mask_url
from fgrid.errors import FgridError, RefusedError, UnavailableError

if TYPE_CHECKING:
    from celery import Celery

Component = Literal["broker", "result store"]
#: URL schemes that speak TLS.
TLS_SCHEMES = frozenset({"rediss", "amqps"})


def one_line(settings: Settings, exc: BaseException, limit: int | None = None) -> str:
    """The error's message on one line (its type when it has none), passwords masked, cut to ``limit``."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    masked = config.mask_secrets(message, *settings.secrets)
    return masked if limit is None else masked[:limit]


def _connection_errors() -> tuple[type[BaseException], ...]:
    import amqp.exceptions
    import redis.exceptions
    from celery.exceptions import BackendError, ImproperlyConfigured
    from kombu.exceptions import ChannelError, LimitExceeded, OperationalError

    return (
        OperationalError,
        LimitExceeded,
        ChannelError,
        ConnectionError,
        socket.timeout,
        TimeoutError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        # py-amqp's connection-level refusals (an unknown virtual host, a login refused), not the built-in kind.
        amqp.exceptions.ConnectionError,
        BackendError,
        ImproperlyConfigured,
    )


@contextlib.contextmanager
def reachable(settings: Settings, what: Component = "broker") -> Iterator[None]:
    """Turn connection failures inside the block into one UnavailableError that names the URL and the fix."""
    errors = _connection_errors()
    caught: tuple[type[BaseException], ...] = (*errors, OSError)
    try:
        yield
    except FgridError:
        raise
    except caught as exc:
        # The embedded broker and result store are files: a full disk or a read-only folder is not an outage.
        if (storage := files.storage_error(exc)) is not None:
            raise storage from exc
        if not isinstance(exc, errors):
            raise
        raise unavailable(settings, exc, what) from exc


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (kombu wraps the client's own in an OperationalError)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _refusal(exc: BaseException, url: str, variable: str) -> str | None:
    """What to fix when the server answered and refused (trying again cannot help), judged by the client's exception
    type and the server's reply code: a login refused, a virtual host that does not exist or is not this user's,
    permissions. None for anything else, a vhost that is down or a connection limit reached included."""
    import amqp.exceptions
    import redis.exceptions
    from kombu.utils.url import parse_url

    for cause in _chain(exc):
        text = str(cause).lower()
        if isinstance(
            cause, (redis.exceptions.AuthenticationError, redis.exceptions.AuthenticationWrongNumberOfArgsError)
        ):
            return f"the server refused the user or password: check them in {variable}"
        if isinstance(cause, amqp.exceptions.AccessRefused):
            if "login was refused" in text:
                return f"the server refused the user or password: check them in {variable}"
            return "the user may not do this on the virtual host: grant it with `rabbitmqctl set_permissions`"
        if isinstance(cause, amqp.exceptions.NotAllowed) and "vhost" in text:
            if "is down" in text or "limit" in text:
                return None
            vhost = parse_url(url).get("virtual_host") or "/"
            return (
                f"the virtual host {vhost!r} does not exist or this user may not use it: create it (`rabbitmqctl "
                f"add_vhost`, `set_permissions`) or fix the path at the end of {variable}"
            )
    return None


def _tls_hint(reason: str, tls: bool) -> str | None:
    """What to fix when the error reads like TLS spoken to a plain server, or plain to a TLS one; else None."""
    if tls and any(word in reason for word in ("ssl", "tls", "timeout", "timed out", "handshake", "reset")):
        return (
            "the TLS handshake failed: is the server listening for TLS on that port? (rediss:// and amqps:// need "
            "one, redis:// and amqp:// are plain)"
        )
    if not tls and any(word in reason for word in ("ssl", "tls", "reset by peer", "closed by server")):
        return "the server closed the connection: if it requires TLS, use rediss:// (or amqps://)"
    return None


def unavailable(settings: Settings, exc: BaseException, what: Component = "broker") -> UnavailableError:
    """An UnavailableError for ``exc``, naming the broker or result store URL (masked) and what to do: its ``fix``
    when the cause is known (a refusal: a RefusedError; TLS; a pool that stayed busy)."""
    url = settings.result_backend if what == "result store" else settings.broker_url
    variable = settings.variable("result_backend" if what == "result store" else "broker_url")
    reason = f"{type(exc).__name__} {exc}".lower()
    tls = url.partition("://")[0].lower() in TLS_SCHEMES
    from kombu.exceptions import LimitExceeded

    if any(isinstance(cause, LimitExceeded) for cause in _chain(exc)):  # every pooled connection stayed busy
        return UnavailableError(
            f"every connection to the {what} at {mask_url(url)} stayed busy; it may be overloaded (RabbitMQ holds "
            "publishers back at a memory or disk alarm): try again shortly",
            component=what,
        )
    fix = _refusal(exc, url, variable)
    refused = fix is not None
    if not refused:
        fix = _tls_hint(reason, tls)
    if fix is not None:
        fix = config.mask_secrets(fix, *settings.secrets)
    hint = fix or (
        "is Redis running? check `redis-cli ping`" if config.kind_of(url) is Kind.REDIS else "is the server running?"
    )
    cause = one_line(settings, exc, 160).rstrip(".")
    kind = RefusedError if refused else UnavailableError
    return kind(f"cannot reach the {what} at {mask_url(url)}: {cause}; {hint}", component=what, fix=fix)


def check_broker(app: Celery, *, pooled: bool = False) -> None:
    """Connect to the broker once, quickly; raise UnavailableError if it is down.

    ``pooled`` (a submit's check): on RabbitMQ and the file broker, a connection the app's pool already holds open
    counts, as the publish that follows uses it; a broker gone since fails that publish, which withdraws the task's
    record. Otherwise each check opened a connection of its own: an AMQP handshake per submit, several round trips
    and a connection opened and closed on the broker every time.
    """
    settings: Settings = app.fgrid_settings
    timeout = config.DEFAULT_CONNECT_TIMEOUT
    with reachable(settings, "broker"):
        if settings.broker_kind is Kind.REDIS or pooled:
            with app.pool.acquire(block=True, timeout=timeout) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
                if settings.broker_kind is Kind.REDIS:  # a ping over it: one round trip, no new connection per check
                    conn.default_channel.client.ping()
        else:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)


def check_result_store(app: Celery) -> None:
    """Reach the result store once; raise UnavailableError if it is down or (files) not writable."""
    settings: Settings = app.fgrid_settings
    if settings.result_kind is Kind.REDIS:
        with reachable(settings, "result store"):
            app.backend.client.ping()
    elif (folder := settings.result_dir) is not None and not os.access(folder, os.W_OK):
        raise UnavailableError(
            f"the result store folder {folder} is not writable; create it or fix its "
            f"permissions, or set {config.ENV_RESULT_BACKEND}",
            component="result store",
        )


def check(app: Celery) -> None:
    """Reach the broker, then the result store; the UnavailableError's ``component`` says which failed."""
    check_broker(app)
    check_result_store(app)


@contextlib.contextmanager
def control(app: Celery, timeout: float, limit: int | None = None) -> Iterator[Any]:
    """Celery's remote control (``inspect``) on a connection of its own, closed afterwards: a broadcast's replies
    are never read from a connection another thread (a server's request, a consumer) is using."""
    settings: Settings = app.fgrid_settings
    with reachable(settings, "broker"), app.connection_for_read() as conn:
        yield app.control.inspect(timeout=timeout, limit=limit, connection=conn)
