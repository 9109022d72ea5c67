"""Reading raw kombu messages as the brokers keep them (a JSON envelope with the task's headers)."""

from __future__ import annotations

import json
from typing import Any

from fgrid import config


def text(value: Any) -> str:
    """``value`` as text (Redis replies are bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def task_id(raw: bytes | str) -> str | None:
    """The task id in a raw kombu message, or None if it is unreadable or not a task message."""
    try:
        message = json.loads(raw)
    except (ValueError, TypeError):
        return None
    headers = message.get("headers") if isinstance(message, dict) else None
    found = headers.get("id") if isinstance(headers, dict) else None
    return found if isinstance(found, str) else None


def unacked(raw: bytes | str) -> tuple[str | None, str | None]:
    """The task id and the queue of an entry of Redis's ``unacked`` hash (``[message, exchange, routing_key]``)."""
    try:
        message, exchange, routing_key = json.loads(raw)
    except (ValueError, TypeError):
        return None, None
    if not isinstance(message, dict):
        return None, None
    headers = message.get("headers")
    found = headers.get("id") if isinstance(headers, dict) else None
    # fgrid's exchanges are direct, one per queue, with the queue's name as routing key.
    if routing_key in config.QUEUES:
        queue = routing_key
    else:
        delivery = (message.get("properties") or {}).get("delivery_info") or {}
        queue = delivery.get("routing_key") or exchange
    return (found if isinstance(found, str) else None), queue
