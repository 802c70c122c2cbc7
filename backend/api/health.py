"""GET /api/health: the backend, its database, Rasa and the action server."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.api.deps import HttpClientDep, SettingsDep, get_session_factory

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
HEALTH_TIMEOUT_S = 2.0


def _database_ok(factory: sessionmaker[Session]) -> bool:
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ok"; the reason goes to the log, not the response
        logger.warning("health: database check failed", exc_info=True)
        return False


async def _http_ok(client: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await client.get(url, timeout=HEALTH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        logger.info("health: %s unreachable: %s", url, exc.__class__.__name__)
        return False
    return response.status_code < 400


@router.get("/health")
async def health(
    settings: SettingsDep,
    client: HttpClientDep,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> JSONResponse:
    """200 {"status": "ok"} when the database, Rasa and the action server all answer, else 503."""
    database, rasa, actions = await asyncio.gather(
        run_in_threadpool(_database_ok, factory),
        _http_ok(client, settings.rasa_url.rstrip("/") + "/"),
        _http_ok(client, settings.action_server_url.rstrip("/") + "/health"),
    )
    checks = {
        name: "ok" if ok else "down"
        for name, ok in (("database", database), ("rasa", rasa), ("actions", actions))
    }
    healthy = database and rasa and actions
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )
