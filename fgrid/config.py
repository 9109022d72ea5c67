"""fgrid's settings: one frozen object read from the environment, every default a named constant.

Precedence is command-line flag, then environment variable, then default. Nothing here connects to anything,
and nothing is read at import time: call :func:`Settings.from_env`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fgrid.errors import InputError

#: Environment variables, the public contract from the seed document (plus fgrid's own).
ENV_BROKER_URL = "CELERY_BROKER_URL"
ENV_RESULT_BACKEND = "CELERY_RESULT_BACKEND"
ENV_REDIS_URL = "REDIS_URL"
ENV_DATA_DIR = "FGRID_DATA_DIR"
ENV_DEBUG = "FGRID_DEBUG"
ENV_API_TOKEN = "FGRID_API_TOKEN"
ENV_API_CORS = "FGRID_API_CORS_ORIGINS"

#: Queue names, a public contract: workers are started with ``-Q`` on these.
QUEUE_MATCHUPS = "matchups"
QUEUE_ANALYSIS = "analysis"
QUEUE_AI = "ai"
QUEUES = (QUEUE_MATCHUPS, QUEUE_ANALYSIS, QUEUE_AI)

#: Task names, a public contract (routing, ``celery call``, Flower filters).
TASK_ANALYZE = "fgrid.analyze_player"
TASK_COMPARE = "fgrid.compare_players"
TASK_RANK = "fgrid.rank_comparison"
TASK_BACKTEST = "fgrid.backtest"
TASK_BACKTEST_WEEK = "fgrid.backtest_week"
TASK_BACKTEST_SUMMARY = "fgrid.backtest_summary"
TASK_AI_TRAIN = "fgrid.ai.train"
TASK_AI_PREDICT = "fgrid.ai.predict"
TASK_AI_GRADE = "fgrid.ai.grade"
TASK_AI_SLATE = "fgrid.ai.slate"
TASK_LINEUP = "fgrid.lineup"
TASK_LINEUP_PICK = "fgrid.lineup_pick"
#: Celery's task that completes a chord on a result store without native chords (the embedded file store): fgrid
#: records it so that recovery can publish it again, and does not list it among the tasks.
TASK_CHORD_UNLOCK = "celery.chord_unlock"
#: Message header: the last game date of the data the submitter checked the request against (a worker with older
#: data refuses the task rather than answer from stale data).
HEADER_DATA_THROUGH = "fgrid_data_through"

#: Players a comparison starts when the request does not say (``--slots``, ``"slots"``): the usual question is
#: "which one do I start?". The help, the API schema and :func:`fgrid.analysis.compare.rank` all read it.
DEFAULT_COMPARE_SLOTS = 1

#: Seconds `fgrid workers`, `queues`, `top`, `doctor` and `cancel` wait for the workers to answer by default (as
#: `celery inspect`); `--timeout` changes it for `workers` and `queues`.
INSPECT_TIMEOUT = 1.0

#: How long results, and fgrid's record of submitted task ids, are kept (seconds): one day.
DEFAULT_RESULT_EXPIRES = 24 * 3600
#: Seconds a command waits for the broker or result store before it reports them unreachable.
DEFAULT_CONNECT_TIMEOUT = 2.0
#: Soft and hard time limits (seconds) for one task; the ``ai`` training task has its own, longer ones.
DEFAULT_SOFT_TIME_LIMIT = 120
DEFAULT_TIME_LIMIT = 150
TRAIN_SOFT_TIME_LIMIT = 1800
TRAIN_TIME_LIMIT = 1900
#: Redis visibility timeout (seconds): longer than the longest task, so a slow task is never handed out twice.
DEFAULT_VISIBILITY_TIMEOUT = 2 * TRAIN_TIME_LIMIT
#: Worker defaults, as the seed recommends for memory (``--max-tasks-per-child=1000``).
DEFAULT_MAX_TASKS_PER_CHILD = 1000
DEFAULT_LOGLEVEL = "info"
#: Polling interval (seconds) of the embedded file broker and result store; kombu's default of 1 s makes a
#: round trip take a second.
EMBEDDED_POLLING_INTERVAL = 0.01


class Kind(StrEnum):
    """What serves a broker or result-store URL: fgrid's files, Redis, RabbitMQ (AMQP), or another transport."""

    FILES = "files"
    REDIS = "redis"
    AMQP = "amqp"
    OTHER = "other"


_KINDS = {
    "filesystem": Kind.FILES,
    "file": Kind.FILES,
    "redis": Kind.REDIS,
    "rediss": Kind.REDIS,
    "amqp": Kind.AMQP,
    "amqps": Kind.AMQP,
    "pyamqp": Kind.AMQP,
}


def kind_of(url: str) -> Kind:
    """The :class:`Kind` of a broker or result-store URL, from its scheme (``redis://`` and ``rediss://`` are Redis)."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    return _KINDS.get(scheme.rpartition("+")[2], Kind.OTHER)


# In text (an error message, a log line) a password runs to the last "@" before the host, so one with an unencoded
# "/", "@" or "#" is masked whole. A configured URL is masked exactly (see url_parts), spaces included.
_PASSWORD_IN_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:@/\s]*):(?P<password>\S+)@(?P<host>[^@\s/?#]+)", re.I
)
_PASSWORD_IN_QUERY = re.compile(r"(?P<key>[?&]password=)[^&\s]+", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)


def url_parts(url: str) -> tuple[str, str, str | None, str] | None:
    """A URL as (scheme://, user, password or None, the rest from the host on), splitting the user info at the LAST
    "@" (a host never holds one), so a password with unencoded "@", "/", "#" or spaces is found whole; None for
    text that is not one URL."""
    match = _SCHEME.match(url)
    if match is None or "\n" in url:
        return None
    rest = url[match.end() :]
    if "@" not in rest:
        return match.group(0), "", None, rest
    userinfo, _, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return match.group(0), user, password if colon else None, host


def mask_url(url: str) -> str:
    """Return ``url`` (or any text) with passwords replaced by ``****`` (``redis://:****@host:6379/0``)."""
    parts = url_parts(url.strip())
    if parts is not None and parts[2]:
        scheme, user, _password, host = parts
        url = f"{scheme}{user}:****@{host}"
    url = _PASSWORD_IN_URL.sub(lambda m: f"{m['scheme']}{m['user']}:****@{m['host']}", url)
    return _PASSWORD_IN_QUERY.sub(lambda m: f"{m['key']}****", url)


def mask_secrets(text: str, *secrets: str) -> str:
    """Mask every URL password in ``text`` and any of ``secrets`` that appears literally."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) >= 3:
            text = text.replace(secret, "****")
    return mask_url(text)


def url_password(url: str | None) -> str | None:
    """The password in ``url``, if it has one (so it can be scrubbed from output)."""
    if not url:
        return None
    parts = url_parts(url.strip())
    if parts is not None and parts[2]:
        return parts[2]
    match = _PASSWORD_IN_URL.search(url)
    if match:
        return match["password"]
    query = _PASSWORD_IN_QUERY.search(url)
    return query.group(0).split("=", 1)[1] if query else None


def check_url(url: str, variable: str) -> str:
    """Return ``url`` if a broker or result store can be reached by it; else raise InputError, one sentence that
    says what is wrong (the password masked) and how to write it."""
    masked = mask_url(url)
    parts = url_parts(url.strip())
    if parts is None:
        raise InputError(
            f"malformed URL in {variable}: {masked!r} has no scheme; write it as "
            f"redis://[:password@]host:port/db (or amqp://..., filesystem://)"
        )
    _scheme, _user, password, host = parts
    if password is not None and urlsplit(url.strip()).password != password:
        # What the clients will parse is not the password: an unencoded "@", "/", "#" or "?" cut it short.
        raise InputError(
            f"malformed URL in {variable} ({masked}): percent-encode the password's special characters "
            f"(a space as %20, @ as %40, / as %2F, # as %23, ? as %3F)"
        )
    address = re.split(r"[/?#]", host, maxsplit=1)[0]
    if kind_of(url) in (Kind.REDIS, Kind.AMQP):
        _hostname, colon, port = address.rpartition(":")
        if colon and port and not (port.isascii() and port.isdigit()) and not address.endswith("]"):
            raise InputError(f"malformed URL in {variable} ({masked}): port {port!r} is not a number")
    return url


def _variable(source: str, default: str) -> str:
    return source.removeprefix("env:") if source.startswith("env:") else default


def default_data_dir() -> Path:
    """The platform's user data folder for fgrid (``~/.local/share/fgrid`` on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("fgrid", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Effective configuration. ``sources`` says where each value came from: flag, env:NAME or default."""

    data_dir: Path
    broker_url: str
    result_backend: str
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    debug: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Build settings from ``flags`` (non-None values win), then ``env``, then the defaults."""
        env = os.environ if env is None else env
        sources: dict[str, str] = {}

        def pick(name: str, *env_names: str, default: Any = None) -> Any:
            if flags.get(name) is not None:
                sources[name] = "flag"
                return flags[name]
            for env_name in env_names:
                if env.get(env_name):
                    sources[name] = f"env:{env_name}"
                    return env[env_name]
            sources[name] = "default"
            return default

        data_dir = Path(pick("data_dir", ENV_DATA_DIR) or default_data_dir()).expanduser()
        broker = pick("broker_url", ENV_BROKER_URL, ENV_REDIS_URL)
        backend = pick("result_backend", ENV_RESULT_BACKEND, ENV_REDIS_URL)
        if broker is not None:
            check_url(broker, _variable(sources["broker_url"], ENV_BROKER_URL))
        if backend is not None and not str(backend).startswith("file://"):
            check_url(backend, _variable(sources["result_backend"], ENV_RESULT_BACKEND))
        if broker is None:
            broker = "filesystem://"
            sources["broker_url"] = "default (embedded, files under the data folder)"
        if backend is None:
            if kind_of(broker) is Kind.REDIS:
                # A Redis broker with no result store named: keep results on the same Redis.
                backend = broker
                sources["result_backend"] = "same as broker"
            else:
                backend = f"file://{(data_dir / 'results').as_posix()}"
                sources["result_backend"] = "default (embedded, files under the data folder)"
        debug = str(env.get(ENV_DEBUG, "")).lower() in {"1", "true", "yes", "on"}
        return cls(data_dir=data_dir, broker_url=broker, result_backend=backend, sources=sources, debug=debug)

    @property
    def broker_kind(self) -> Kind:
        """What serves the broker."""
        return kind_of(self.broker_url)

    @property
    def result_kind(self) -> Kind:
        """What serves the result store."""
        return kind_of(self.result_backend)

    @property
    def embedded(self) -> bool:
        """True when the broker is the embedded file transport (no server)."""
        return self.broker_kind is Kind.FILES

    @property
    def result_dir(self) -> Path | None:
        """Folder of a file result store (the embedded default's), else None."""
        if self.result_kind is not Kind.FILES:
            return None
        return Path(self.result_backend.partition("://")[2])

    @property
    def broker_dir(self) -> Path:
        """Folder of the embedded broker's queues."""
        return self.data_dir / "broker"

    @property
    def nfl_dir(self) -> Path:
        """Folder of the synced NFL data."""
        return self.data_dir / "nfl"

    @property
    def models_dir(self) -> Path:
        """Folder of the trained ``ai`` models."""
        return self.data_dir / "models"

    def variable(self, name: str) -> str:
        """The environment variable ``name`` (broker_url, result_backend) was set by, or the one that sets it."""
        default = {"broker_url": ENV_BROKER_URL, "result_backend": ENV_RESULT_BACKEND}[name]
        source = self.sources.get(name, "")
        if source == "same as broker":
            return self.variable("broker_url")
        return _variable(source, default)

    @property
    def run_dir(self) -> Path:
        """Folder of pid files and logs of detached workers."""
        return self.data_dir / "run"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Passwords that must never be printed."""
        found = {url_password(self.broker_url), url_password(self.result_backend)}
        for name in (ENV_BROKER_URL, ENV_RESULT_BACKEND, ENV_REDIS_URL):
            found.add(url_password(os.environ.get(name)))
        return tuple(sorted(s for s in found if s))

    def describe(self) -> list[dict[str, str]]:
        """The effective settings as rows of name, value (passwords masked) and source."""
        return [
            {"name": "broker_url", "value": mask_url(self.broker_url), "source": self.sources.get("broker_url", "")},
            {
                "name": "result_backend",
                "value": mask_url(self.result_backend),
                "source": self.sources.get("result_backend", ""),
            },
            {"name": "data_dir", "value": str(self.data_dir), "source": self.sources.get("data_dir", "")},
            {"name": "embedded", "value": str(self.embedded).lower(), "source": "derived"},
        ]
