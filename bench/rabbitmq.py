#!/usr/bin/env python3
"""Measure 11, RabbitMQ: throughput with RabbitMQ as the broker (a private virtual host on the machine's shared
RabbitMQ, created and deleted by the measure) and the private Redis as the result store, as README: Scaling out
recommends. fgrid: ``fgrid worker -c 2`` (quorum queues, publisher confirms). Reference: a bare Celery worker on the
same virtual host and Redis with the same durability (a quorum queue, publisher confirms: ``BARE_DURABLE=1``);
also, for what that durability costs, bare Celery with its defaults (a classic queue, no confirms). Each side runs
alone, the sides alternate, best of 3 rounds per side. Goal: fgrid >= 0.8 x bare with the same durability, as on Redis.
Skipped (a row saying so) where no RabbitMQ answers on 127.0.0.1:5672.
"""

from __future__ import annotations

from typing import Any

from _common import Bench, Measure, Row, goal_min, ratio, standalone
from throughput import GOAL, run_bare, run_fgrid

from tests.support.rabbitmq import SharedVhost, shared_available

#: The sides: fgrid, bare Celery with fgrid's durability on RabbitMQ, bare Celery with its defaults.
SIDES = ("fgrid", "bare_durable", "bare")


def one_side(bench: Bench, name: str, n: int, combos: list[dict[str, Any]]) -> dict[str, Any]:
    from bare_app import make_app

    server = bench.ensure_redis()
    server.flush()
    vhost = SharedVhost().create()  # a fresh one per run: no queue left from the other side
    durable = name == "bare_durable"
    try:
        env = bench.base_env(CELERY_BROKER_URL=vhost.url, CELERY_RESULT_BACKEND=server.url)
        if durable:
            env["BARE_DURABLE"] = "1"
        worker = (bench.fgrid_worker if name == "fgrid" else bench.bare_worker)(env)
        try:
            if name == "fgrid":
                settings = bench.settings(env)
                run_fgrid(settings, combos, 20)
                return run_fgrid(settings, combos, n)
            app = make_app(vhost.url, server.url, durable)
            try:
                run_bare(app, "bare.noop", 20)
                return run_bare(app, "bare.noop", n)
            finally:
                app.close()
        finally:
            worker.stop()
    finally:
        vhost.delete()


def run(bench: Bench) -> Measure:
    measure = Measure("rabbitmq")
    n = bench.n(2000, 300)
    if not shared_available():
        measure.add(
            Row(
                f"RabbitMQ broker, {n} analyses, -c 2 (tasks/s)",
                "/s",
                None,
                goal=f">= {GOAL}× bare",
                note="not available",
            )
        )
        return measure
    rounds = bench.n(3, 1)
    combos = bench.combos(50)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SIDES}
    for round_ in range(rounds):
        for name in SIDES if round_ % 2 == 0 else SIDES[::-1]:
            runs[name].append(one_side(bench, name, n, combos))
    best = {k: max(r["tasks_per_s"] for r in v) for k, v in runs.items()}
    r = ratio(best["fgrid"], best["bare_durable"])
    measure.add(
        Row(
            f"RabbitMQ broker + Redis results, {n} analyses, -c 2 (tasks/s)",
            "/s",
            best["fgrid"],
            best["bare_durable"],
            "bare no-op, quorum queue, confirms",
            r,
            f">= {GOAL}× bare",
            goal_min(r, GOAL),
        )
    )
    measure.add(
        Row(
            "  against bare Celery's defaults (classic queue, no confirms)",
            "/s",
            best["fgrid"],
            best["bare"],
            "bare no-op, Celery's defaults",
            ratio(best["fgrid"], best["bare"]),
        )
    )
    measure.details = {"tasks": n, "rounds": rounds, "runs": runs}
    return measure


if __name__ == "__main__":
    standalone("rabbitmq", run)
