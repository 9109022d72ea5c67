"""What recovery reads on any broker: where each message is, the workers' heartbeats, and one pass lock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass
class BrokerState:
    """Where the broker's messages are: ids waiting in queues, and ``unacked`` entries (tag -> id, delivered at)."""

    queued: set[str]
    unacked: dict[str, tuple[str, float]]

    @property
    def unacked_ids(self) -> set[str]:
        return {task_id for task_id, _ in self.unacked.values()}


class QueueView(Protocol):
    """What recovery reads and changes on a broker: its messages, the workers' heartbeats, one pass lock."""

    def state(self) -> BrokerState: ...
    def restore(self, tag: str) -> None: ...
    def drop(self, tag: str) -> None: ...
    def heartbeat(self, hostname: str, ids: Iterable[str]) -> None: ...
    def forget(self, hostname: str) -> None: ...
    def live_workers(self) -> dict[str, set[str]]: ...
    def lock(self) -> bool: ...
    def unlock(self) -> None: ...
