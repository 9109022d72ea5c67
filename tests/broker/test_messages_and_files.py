"""Reading raw kombu messages, the broker kind of a URL, and the file broker's queue folder, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fgrid import config
from fgrid.broker import files, messages
from fgrid.config import Kind, kind_of


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://localhost:6379/0", Kind.REDIS),
        ("rediss://:pw@host:6380/1", Kind.REDIS),
        ("REDIS://h", Kind.REDIS),
        ("filesystem://", Kind.FILES),
        ("file:///tmp/results", Kind.FILES),
        ("amqp://guest@localhost//", Kind.AMQP),
        ("pyamqp://h", Kind.AMQP),
        ("sqla+sqlite:///x.db", Kind.OTHER),
        ("redis//localhost", Kind.OTHER),
        ("", Kind.OTHER),
    ],
)
def test_kind_of_a_url(url, kind):
    assert kind_of(url) is kind


def message(task_id: str) -> bytes:
    return json.dumps(
        {
            "body": "e30=",
            "headers": {"id": task_id, "task": "fgrid.analyze_player"},
            "properties": {"delivery_info": {"routing_key": "matchups"}},
        }
    ).encode()


@pytest.mark.parametrize(
    "raw", [b"", b"{}", b"[]", b'"x"', b"null", b"\xff\xfe", b'{"headers": 3}', b'{"headers": {"id": 7}}', b"not json"]
)
def test_anything_that_is_not_a_task_message_has_no_task_id(raw):
    assert messages.task_id(raw) is None
    assert messages.unacked(raw) == (None, None)


def test_task_id_and_the_queue_of_an_unacked_entry():
    assert messages.task_id(message("abc")) == "abc"
    entry = json.dumps([json.loads(message("abc")), "matchups", "matchups"])
    assert messages.unacked(entry) == ("abc", "matchups")
    by_delivery = json.dumps([json.loads(message("abc")), "", "elsewhere"])
    assert messages.unacked(by_delivery) == ("abc", "matchups")


def test_the_file_broker_folder_counts_takes_and_removes_only_messages(tmp_path: Path):
    folder = files.queue_folder(tmp_path)
    folder.mkdir(parents=True)
    for i, queue in enumerate(["matchups", "matchups", "analysis", "ai"]):
        (folder / f"{i}_id{i}.{queue}.msg").write_bytes(message(f"id{i}"))
    (folder / ".tmp-half-written").write_bytes(b"{")  # a message being written: never counted or taken
    (folder / "7_x.unknownqueue.msg").write_bytes(message("other"))
    assert files.depths(tmp_path) == {
        q: {"waiting": n, "reserved": None} for q, n in zip(config.QUEUES, (2, 1, 1), strict=True)
    }
    assert files.remove(tmp_path, {"id2"}) == 1
    assert sorted(messages.task_id(raw) for raw in files.take_all(tmp_path, "matchups")) == ["id0", "id1"]
    assert files.depths(tmp_path)["matchups"]["waiting"] == 0
    assert files.FileQueues(tmp_path, heartbeat_ttl=15).state().queued == {"id3"}
