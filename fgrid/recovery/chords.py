"""Chord upkeep: a comparison fans out into parts whose last finisher publishes the ranking. A worker killed
between storing a part's result and counting it in its chord would leave the chord waiting for good; these read and
finish that count, and tell when a fanned-out task or Celery's chord-unlock step needs nothing more."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from fgrid import config
from fgrid.broker import results
from fgrid.recovery.ledger import TaskLedger

if TYPE_CHECKING:
    from celery import Celery


def part(app: Celery, record: dict[str, Any] | None) -> tuple[Any, dict[str, Any], dict[str, Any]] | None:
    """The result store, headers and chord of a chord part (from its recorded message), on Celery's Redis result
    store; None otherwise (a file result store's chord counts stored results itself)."""
    message = (record or {}).get("message") or {}
    headers, body = message.get("headers") or {}, message.get("body")
    if results.redis_client(app) is None or not headers.get("group") or not headers.get("id"):
        return None
    embed = body[2] if isinstance(body, list) and len(body) > 2 and isinstance(body[2], dict) else {}
    return (app.backend, headers, embed["chord"]) if embed.get("chord") else None


def part_counted(app: Celery, record: dict[str, Any] | None) -> bool | None:
    """Whether a finished chord part is counted in its chord; None if the task is no chord part there."""
    found = part(app, record)
    if found is None:
        return None
    backend, headers, _chord = found
    group, index = headers["group"], headers.get("group_index")
    client = backend.client
    member = f"{headers['id']}:{'+inf' if index is None else index}"
    done = client.get(backend.get_key_for_group(group, ".c"))
    counted = client.sismember(backend.get_key_for_group(group, ".d"), member)
    return bool(counted) or done in (b"done", "done")


def count_part(app: Celery, task_id: str, record: dict[str, Any] | None) -> bool:
    """Count a finished chord part in its chord, as its worker does after storing the result (and publish the
    chord's callback if it was the last part). Celery's Redis chord counts a part once and publishes the callback
    once, however often this is called. Returns whether it was a chord part."""
    found = part(app, record)
    if found is None:
        return False
    backend, headers, chord = found
    meta = backend.get_task_meta(task_id, cache=False)
    if meta.get("status") not in results.READY_STATES:
        return False
    request = SimpleNamespace(id=task_id, group=headers["group"], group_index=headers.get("group_index"), chord=chord)
    backend.on_chord_part_return(request, meta["status"], meta.get("result"))
    return True


def fanned_out(app: Celery, ledger: TaskLedger, task_id: str) -> bool:
    """Whether a task in PROGRESS published every part it stored the id of (each part is recorded as published)."""
    progress = app.backend.get_task_meta(task_id, cache=False).get("result")
    children = progress.get("children") if isinstance(progress, dict) else None
    return bool(children) and all(ledger.lookup(child) is not None for child in children or ())


def unlocked(app: Celery, record: dict[str, Any]) -> bool:
    """Whether ``record`` is Celery's chord-unlock step whose chord is done (the step stores no result of its own:
    its chord's callback, the comparison's ranking, has a final state)."""
    if record.get("name") != config.TASK_CHORD_UNLOCK:
        return False
    body: Any = (record.get("message") or {}).get("body")
    try:
        callback_id = body[0][1]["options"]["task_id"]
    except (TypeError, IndexError, KeyError):
        return False
    return results.states(app, [callback_id])[0] in results.READY_STATES
