"""fgrid's kombu transports, selected by the app's ``broker_transport`` setting (never patched into kombu).

- :class:`FileTransport`, the embedded broker: kombu's filesystem transport writes a message file in place under its
  final name, so a consumer polling the folder could pick up a file still empty or half written; here a message is
  written (owner-only) under a name the consumer ignores, then renamed. kombu takes a message by moving it into the
  system's temp folder (a copy and a delete when that is another filesystem: two consumers could both read it, and
  the copy was left readable by every user); here a consumer claims it with one rename into the broker's own
  ``inflight`` folder, which only one consumer can win.
- :class:`RedisTransport`: kombu's Redis transport with a channel that closes cleanly when its connection died with
  a BRPOP in flight (kombu 5.7 raised out of ``Channel.close`` and a busy worker exited on a Redis restart), and
  that lets a publisher push a message together with its own writes (:func:`pushing_with`: fgrid's ledger records
  a task and queues it in one round trip).

- :class:`AmqpTransport`: kombu's py-amqp transport for RabbitMQ, whose channel screens what reaches Celery's consumer
  from fgrid's task queues: a message whose body or task headers Celery would choke on (a JSON body that is not
  ``[args, kwargs, options]`` stops the whole worker, and RabbitMQ then hands it to the next one) is acknowledged
  and dropped.

All drop, with one log line, any queue item that is not a kombu message (not JSON, not an envelope, a body that
does not decode), instead of letting it stop the worker: the item is already off the queue and in no ``unacked``
hash, so dropping it loses nothing, and no task could have been built from it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, pyamqp, redis
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from fgrid import config
from fgrid.broker.files import INFLIGHT_FOLDER
from fgrid.files import TMP_PREFIX

log = logging.getLogger("fgrid.broker")

#: What kombu raises while decoding a queue item that is not JSON.
UNDECODABLE = (json.JSONDecodeError, UnicodeDecodeError)


def _tolerant(read: Callable[..., Any], *args: Any, **options: Any) -> Any:
    try:
        return read(*args, **options)
    except UNDECODABLE as exc:
        log.error("fgrid: dropped a queue item that is not a kombu message (%s)", type(exc).__name__)
        raise Empty() from None


def envelope_problem(payload: Any) -> str | None:
    """Why a decoded queue item is not a message kombu can deliver (None if it is one): the envelope kombu builds
    its Message from, with a delivery tag and a text body in its declared encoding."""
    if not isinstance(payload, dict):
        return f"a JSON {type(payload).__name__}, not an envelope"
    properties = payload.get("properties")
    if not isinstance(properties, dict) or not isinstance(properties.get("delivery_tag"), str | int):
        return "no properties with a delivery tag"
    if not isinstance(payload.get("headers"), dict | None) or not isinstance(
        properties.get("delivery_info"), dict | None
    ):
        return "headers or delivery info that are not objects"
    if not all(isinstance(payload.get(key), str | None) for key in ("content-type", "content-encoding")):
        return "a content type that is not text"
    body = payload.get("body")
    if not isinstance(body, str):
        return "no text body"
    if properties.get("body_encoding") not in (None, "base64"):
        return "an unknown body encoding"
    if body and properties.get("body_encoding") == "base64":
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return "a body that is not base64"
    return None


#: Celery's task-message headers (protocol 2) that its consumer reads before a task runs, and the types they take.
_TASK_HEADERS: dict[str, tuple[type, ...]] = {
    "task": (str,),
    "id": (str,),
    "root_id": (str, type(None)),
    "parent_id": (str, type(None)),
    "group": (str, type(None)),
    "group_index": (int, type(None)),
    "eta": (str, type(None)),
    "expires": (str, type(None)),
    "retries": (int, type(None)),
    "argsrepr": (str, type(None)),
    "kwargsrepr": (str, type(None)),
    "origin": (str, type(None)),
    "shadow": (str, type(None)),
    "lang": (str, type(None)),
    "ignore_result": (bool, type(None)),
    "replaced_task_nesting": (int, type(None)),
}


def task_message_problem(payload: dict[str, Any]) -> str | None:
    """Why an envelope on one of fgrid's task queues is not a task message Celery's consumer can take (None if it
    is one): protocol 2, its headers of the types Celery reads them as."""
    headers = payload.get("headers") or {}
    if not isinstance(headers.get("task"), str):
        return "no task name in its headers"
    for key, types in _TASK_HEADERS.items():
        if (key in headers and not isinstance(headers[key], types)) or (key in ("task", "id") and key not in headers):
            return f"a task header {key!r} of the wrong type"
    limits = headers.get("timelimit")
    if limits is not None and not (
        isinstance(limits, list | tuple) and len(limits) == 2 and all(isinstance(x, int | float | None) for x in limits)
    ):
        return "a malformed time limit"
    for key in ("eta", "expires"):
        if isinstance(headers.get(key), str):
            try:
                datetime.fromisoformat(headers[key])
            except ValueError:
                return f"a task header {key!r} that is not a date"
    if payload.get("content-type") == "application/json":
        # Celery unpacks a JSON body into (args, kwargs, embed) in the consumer, before any task runs.
        body: Any = payload["body"]
        try:
            raw = base64.b64decode(body) if payload["properties"].get("body_encoding") == "base64" else body
            body = json.loads(raw)
        except ValueError:
            return "a body that is not JSON"
        if not (
            isinstance(body, list)
            and len(body) == 3
            and isinstance(body[0], list)
            and isinstance(body[1], dict)
            and isinstance(body[2], dict | None)
        ):
            return "a body that is not [args, kwargs, options]"
    return None


class _Screening:
    """Transport mixin: deliver only queue items that are messages; drop the rest with one log line."""

    def _deliver(self, message: Any, queue: str) -> None:
        problem = envelope_problem(message)
        if problem is None and queue in config.QUEUES:
            problem = task_message_problem(message)
        if problem is not None:
            log.error("fgrid: dropped a queue item from %r that is not a kombu message (%s)", queue, problem)
            return
        super()._deliver(message, queue)  # type: ignore[misc]  # kombu's virtual Transport, next in the MRO


class FileChannel(filesystem.Channel):
    """Filesystem channel whose puts are all-or-nothing and whose reads skip what is not a message."""

    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu's filesystem
        # Channel itself names AbstractChannel's "message" argument "payload"; this keeps kombu's signature.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: kombu's reader matches "<anything>.<queue>.msg" after the first dot, never ".tmp-...".
        tmp = os.path.join(self.data_folder_out, f"{TMP_PREFIX}{uuid.uuid4()}")
        try:
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(dumps(payload).encode())
            os.replace(tmp, final)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    @property
    def inflight_folder(self) -> str:
        return os.path.join(os.path.dirname(os.path.normpath(self.data_folder_in)), INFLIGHT_FOLDER)

    def _get(self, queue: str, timeout: Any = None) -> Any:
        """Claim the oldest message of ``queue`` with one rename into the in-flight folder, read it, delete it."""
        inflight = self.inflight_folder
        os.makedirs(inflight, mode=0o700, exist_ok=True)
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(inflight, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)  # one consumer wins; the others skip it
            except OSError:
                continue
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
            finally:
                try:
                    os.unlink(claimed)
                except OSError:
                    pass
            return _tolerant(lambda raw: loads(bytes_to_str(raw)), payload)
        raise Empty()


class FileTransport(_Screening, filesystem.Transport):
    """kombu's filesystem transport with :class:`FileChannel`."""

    Channel = FileChannel


#: How the message published in this context reaches its Redis list, when a caller writes it together with
#: something of its own (see :func:`pushing_with`).
_PUSH: ContextVar[Callable[[Any, str, str], None] | None] = ContextVar("fgrid_push", default=None)


@contextmanager
def pushing_with(push: Callable[[Any, str, str], None]) -> Iterator[None]:
    """While in this block, a task message published on fgrid's Redis channel is not pushed by the channel:
    ``push(client, key, message)`` is called with the channel's Redis client, the list's key and the message text,
    and writes it (with the caller's own keys, in one round trip). Other transports ignore it."""
    token = _PUSH.set(push)
    try:
        yield
    finally:
        _PUSH.reset(token)


class RedisChannel(redis.Channel):
    """Redis channel that closes on a dead connection, drops queue items that are not messages, and lets a
    publisher write its own keys in the same round trip as a message (:func:`pushing_with`)."""

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        push = _PUSH.get()
        if push is None or kwargs.get("_publish_batch") is not None or (self._expires and queue in self._expires):
            super()._put(queue, message, **kwargs)
            return
        key = self._q_for_pri(queue, self._get_message_priority(message, reverse=False))
        with self.conn_or_acquire() as client:
            push(client, key, dumps(message))

    def close(self) -> None:
        self._closing = True
        if self._in_poll:
            # kombu first reads the pending BRPOP reply; on a dead connection that raises and the channel is left
            # open, so a later close tries to restore messages through a transport that is gone (an error Celery
            # treats as unrecoverable). Reading that reply is only a courtesy on a dead connection.
            try:
                self._brpop_read()
            except Exception:  # noqa: BLE001 - Empty, or the connection is gone: nothing left to read either way
                self._in_poll = False
        super().close()

    def _brpop_read(self, **options: Any) -> Any:
        return _tolerant(super()._brpop_read, **options)


class RedisTransport(_Screening, redis.Transport):
    """kombu's Redis transport with :class:`RedisChannel`."""

    Channel = RedisChannel


def amqp_message_problem(raw: Any) -> str | None:
    """Why a message delivered by RabbitMQ from one of fgrid's task queues is not a task Celery's consumer can take
    (None if it is one); a content type other than JSON is left to Celery, which refuses it without loading it."""
    properties = getattr(raw, "properties", None) or {}
    headers = properties.get("application_headers")
    if not isinstance(headers, dict | None):
        return "headers that are not a table"
    body = raw.body
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            body = bytes(body).decode(properties.get("content_encoding") or "utf-8")
        except (UnicodeDecodeError, LookupError):
            return "a body that does not decode"
    return task_message_problem(
        {"headers": headers or {}, "content-type": properties.get("content_type"), "body": body, "properties": {}}
    )


class AmqpChannel(pyamqp.Channel):
    """py-amqp channel whose consumers on fgrid's task queues never see a message Celery cannot take."""

    def basic_consume(self, queue: str = "", *args: Any, callback: Any = None, **kwargs: Any) -> Any:
        if callback is not None and queue in config.QUEUES:
            callback = self._screened(queue, callback)
        return super().basic_consume(queue, *args, callback=callback, **kwargs)

    def _screened(self, queue: str, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def screen(raw: Any) -> Any:
            problem = amqp_message_problem(raw)
            if problem is None:
                return callback(raw)
            log.error("fgrid: dropped a message from %r that is not a task message (%s)", queue, problem)
            # Acknowledged: rejected with requeue it would come back for good, and no task could be built from it.
            self.basic_ack(raw.delivery_tag)
            return None

        return screen


class AmqpConnection(pyamqp.Connection):
    Channel = AmqpChannel


class AmqpTransport(pyamqp.Transport):
    """kombu's py-amqp transport with :class:`AmqpChannel`."""

    Connection = AmqpConnection
