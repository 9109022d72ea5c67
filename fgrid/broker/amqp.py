"""RabbitMQ (AMQP 0-9-1) as fgrid uses it: durable quorum queues, one per fgrid queue, read and purged over AMQP.

RabbitMQ keeps a delivered message until its consumer acknowledges it and delivers it again when that consumer's
connection closes (a worker killed, a host lost once its heartbeat is missed), so fgrid's recovery does not run
here (:func:`fgrid.broker.queues.recoverable`). AMQP cannot say how many messages are delivered but not yet
acknowledged (only the management plugin's HTTP API can), nor take one message out of the middle of a queue: the
reserved counts come from the workers themselves, and a cancelled task's message is left to the revoke.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fgrid import config
from fgrid.errors import FgridError

if TYPE_CHECKING:
    from celery import Celery

#: The queue type fgrid declares its queues with: replicated (on a cluster), durable, and poison-message aware;
#: they take no priorities, and Celery holds a task with a countdown in the worker until it is due.
QUEUE_TYPE = "quorum"
#: Seconds between AMQP heartbeats: a host lost without closing its connection (power, network) is seen as gone,
#: and its unacknowledged messages delivered again, after about two missed beats (Celery's default is 120 s).
HEARTBEAT = 10


def queue_arguments() -> dict[str, Any]:
    """The ``x-`` arguments fgrid's queues are declared with on RabbitMQ."""
    return {"x-queue-type": QUEUE_TYPE}


def transport_options() -> dict[str, Any]:
    """kombu's py-amqp transport options: publisher confirms, so `queued` means the broker has the message (on a
    quorum queue: written on a majority of the nodes), not that it left this process."""
    return {"confirm_publish": True}


def _declared(app: Celery, conn: Any, queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of ``queue`` by a passive declare on a channel of its own: a queue no worker has
    declared yet is empty (RabbitMQ answers 404 and closes the channel)."""
    from amqp.exceptions import NotFound

    channel = conn.channel()
    try:
        declared = app.amqp.queues[queue].bind(channel).queue_declare(passive=True)
        return int(declared.message_count), int(declared.consumer_count)
    except NotFound:
        return 0, 0
    finally:
        try:
            channel.close()
        except Exception:  # noqa: BLE001 - a channel the 404 already closed: nothing left to close
            pass


def depths(app: Celery) -> dict[str, dict[str, int | None]]:
    """Per queue: messages ready (waiting), and None for the delivered ones (AMQP does not tell)."""
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        return {q: {"waiting": _declared(app, conn, q)[0], "reserved": None} for q in config.QUEUES}


def purge(app: Celery, queue: str) -> int:
    """Delete every waiting message of ``queue``; return how many (RabbitMQ purges and counts in one call)."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        if _declared(app, conn, queue) == (0, 0):
            return 0
        return int(app.amqp.queues[queue].bind(conn.default_channel).purge() or 0)


def declare(app: Celery, queues: list[str]) -> None:
    """Declare ``queues`` as fgrid does (a worker does it next, on its own); FgridError naming the queue and what to do
    when the virtual host already has one of that name declared otherwise, such as a classic queue another app made
    (RabbitMQ refuses the declare, and Celery's worker would stop with a traceback)."""
    from amqp.exceptions import PreconditionFailed

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=config.DEFAULT_CONNECT_TIMEOUT)
        vhost = conn.virtual_host or "/"
        for name in queues:
            channel = conn.channel()
            try:
                app.amqp.queues[name].bind(channel).declare()
            except PreconditionFailed as exc:
                # "inequivalent arg 'x-queue-type' for queue 'matchups' in vhost ...", or "... for exchange ..."
                said = re.search(r"inequivalent arg '([^']+)' for (queue|exchange) '([^']+)'", str(exc))
                arg, kind, taken = said.groups() if said else ("an argument", "queue", name)
                raise FgridError(
                    f"RabbitMQ already has {'an exchange' if kind == 'exchange' else 'a queue'} {taken!r} declared "
                    f"otherwise ({arg!r} differs from fgrid's): once it is unused, delete it (`rabbitmqctl "
                    f"delete_{kind} {taken} -p {vhost}`), or give fgrid a virtual host of its own"
                ) from None
            finally:
                try:
                    channel.close()
                except Exception:  # noqa: BLE001 - a channel the refusal already closed: nothing left to close
                    pass
