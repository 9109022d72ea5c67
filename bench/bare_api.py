"""The HTTP API's reference: a bare FastAPI app that only hands a request to Celery (``send_task`` on the broker of
``CELERY_BROKER_URL``) and reads a state back (``AsyncResult``), with fgrid's two routes and no checks, no ledger,
no data. ``uvicorn --factory bare_api:create --workers 2`` (with bench/ on the path) serves it as ``fgrid serve``
serves fgrid's app.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class Analyze(BaseModel):
    player_id: str
    opponent_id: str
    location: str | None = None
    season: int | None = None
    week: int | None = None
    scoring: str = "ppr"


def create() -> FastAPI:
    from bare_app import make_app

    broker = os.environ["CELERY_BROKER_URL"]
    celery = make_app(broker, os.environ.get("CELERY_RESULT_BACKEND") or broker)
    api = FastAPI()

    # Plain functions, as fgrid's routes are: Starlette runs them on its thread pool.
    @api.post("/api/tasks/analyze-player", status_code=202)
    def analyze_player(body: Analyze) -> dict[str, Any]:
        kwargs = {
            "player": body.player_id,
            "opponent": body.opponent_id,
            "location": body.location,
            "season": body.season,
            "week": body.week,
            "scoring": body.scoring,
        }
        result = celery.send_task("fgrid.analyze_player", kwargs=kwargs)
        return {"task_id": result.id, "status": "queued"}

    @api.get("/api/tasks/status/{task_id}")
    def status(task_id: str) -> dict[str, Any]:
        result = celery.AsyncResult(task_id)
        state = result.state
        return {
            "task_id": task_id,
            "status": state,
            "ready": state in ("SUCCESS", "FAILURE", "REVOKED"),
            "successful": state == "SUCCESS",
            "result": result.result if state == "SUCCESS" else None,
        }

    return api
