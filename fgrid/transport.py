"""The embedded broker: kombu's filesystem transport, with each message written atomically.

kombu writes a message file in place under its final name, so a consumer polling the folder can pick up a file
that is still empty or half written, fail to decode it and stop the worker ("Unrecoverable error:
JSONDecodeError"). Here a message is written under a temporary name the consumer ignores, then renamed.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    """Filesystem channel whose puts are all-or-nothing."""

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: kombu's reader matches "<anything>.<queue>.msg" after the first dot, never ".tmp-...".
        tmp = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4()}")
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


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel
