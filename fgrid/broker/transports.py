"""fgrid's kombu transports, selected by the app's ``broker_transport`` setting (never patched into kombu).

- :class:`FileTransport`, the embedded broker: kombu's filesystem transport writes a message file in place under its
  final name, so a consumer polling the folder could pick up a file still empty or half written; here a message is
  written under a name the consumer ignores, then renamed.
- :class:`RedisTransport`: kombu's Redis transport with a channel that closes cleanly when its connection died with
  a BRPOP in flight (kombu 5.7 raised out of ``Channel.close`` and a busy worker exited on a Redis restart).

Both drop, with one log line, a queue item that is not a kombu message, instead of letting it stop the worker: the
item is already off the queue and in no ``unacked`` hash, so dropping it loses nothing.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.transport.virtual import Empty
from kombu.utils.json import dumps

from fgrid.files import TMP_PREFIX

log = logging.getLogger("fgrid.broker")

#: What kombu raises while decoding a queue item that is not a message.
UNDECODABLE = (json.JSONDecodeError, UnicodeDecodeError)


def _tolerant(read: Callable[..., Any], *args: Any, **options: Any) -> Any:
    try:
        return read(*args, **options)
    except UNDECODABLE as exc:
        log.error("fgrid: dropped a queue item that is not a kombu message (%s)", type(exc).__name__)
        raise Empty() from None


class FileChannel(filesystem.Channel):
    """Filesystem channel whose puts are all-or-nothing and whose reads skip what is not a message."""

    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu's filesystem
        # Channel itself names AbstractChannel's "message" argument "payload"; this keeps kombu's signature.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: kombu's reader matches "<anything>.<queue>.msg" after the first dot, never ".tmp-...".
        tmp = os.path.join(self.data_folder_out, f"{TMP_PREFIX}{uuid.uuid4()}")
        try:
            with open(tmp, "wb") as out:
                out.write(dumps(payload).encode())
            os.replace(tmp, final)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        return _tolerant(super()._get, queue, *args, **kwargs)


class FileTransport(filesystem.Transport):
    """kombu's filesystem transport with :class:`FileChannel`."""

    Channel = FileChannel


class RedisChannel(redis.Channel):
    """Redis channel that closes on a dead connection and drops queue items that are not messages."""

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


class RedisTransport(redis.Transport):
    """kombu's Redis transport with :class:`RedisChannel`."""

    Channel = RedisChannel
