"""GET /api/health: the backend, its database, its upload store, Rasa and the action server; with the
production profile's processes listed in the settings (BACKEND_URLS, RASA_URLS, ACTION_SERVER_URLS),
every one of them with its state, Rasa's tracker store, PostgreSQL and Redis. GET /api/health/live:
this process answers (a liveness probe that does not fail because another process is down)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from backend.api.deps import HttpClientDep, SettingsDep, get_session_factory
from backend.config import Settings
from backend.storage import StoreUnavailable, UploadStore

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
HEALTH_TIMEOUT_S = 2.0


def _uploads_ok(uploads: UploadStore | None) -> bool:
    if uploads is None:  # an app built without its lifespan (tests of single routes)
        return True
    try:
        uploads.check()
    except StoreUnavailable as error:
        logger.warning("health: %s", error)
        return False
    return True


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


async def _tracker_store(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """One Rasa process: up or down, and its tracker store's state (bot/stores/failsafe.py's route)."""
    try:
        response = await client.get(f"{url}/webhooks/tracker_store/", timeout=HEALTH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        logger.info("health: %s unreachable: %s", url, exc.__class__.__name__)
        return {"url": url, "state": "down"}
    try:
        body = response.json()
    except ValueError:
        body = {}
    store = body.get("tracker_store") if isinstance(body, dict) else None
    if response.status_code >= 500 and store is None:
        return {"url": url, "state": "down"}
    state = "ok" if store == "ok" and response.status_code < 400 else "degraded"
    return {"url": url, "state": state, "tracker_store": store or "unknown"}


async def _listed(client: httpx.AsyncClient, url: str, path: str) -> dict[str, Any]:
    return {"url": url, "state": "ok" if await _http_ok(client, url + path) else "down"}


async def _redis_ok(url: str) -> bool:
    import redis.asyncio as redis

    connection = redis.Redis.from_url(url, socket_timeout=HEALTH_TIMEOUT_S, socket_connect_timeout=2)
    try:
        return bool(await connection.ping())
    except Exception:  # any failure means "down"; the reason goes to the log
        logger.warning("health: Redis check failed", exc_info=True)
        return False
    finally:
        await connection.aclose()


async def _processes(settings: Settings, client: httpx.AsyncClient, database: bool) -> dict[str, Any]:
    """Every listed process with its state, and the engines they share."""
    pools = settings.process_pools
    checks: dict[str, Any] = {
        "backends": asyncio.gather(
            *(_listed(client, url, "/api/health/live") for url in pools.get("backends", []))
        ),
        "rasa": asyncio.gather(*(_tracker_store(client, url) for url in pools.get("rasa", []))),
        "actions": asyncio.gather(*(_listed(client, url, "/health") for url in pools.get("actions", []))),
    }
    listed: dict[str, Any] = {}
    for kind, pending in checks.items():
        listed[kind] = list(await pending)
    if settings.database_url.startswith("postgresql"):
        listed["postgresql"] = {"state": "ok" if database else "down"}
    if settings.redis_url:
        listed["redis"] = {"state": "ok" if await _redis_ok(settings.redis_url) else "down"}
    return listed


def _all_ok(listed: dict[str, Any]) -> bool:
    for value in listed.values():
        entries = value if isinstance(value, list) else [value]
        if any(entry.get("state") != "ok" for entry in entries):
            return False
    return True


@router.get("/health/live")
async def live() -> dict[str, str]:
    """This backend process answers (no dependency checked)."""
    return {"status": "ok"}


@router.get("/health")
async def health(
    settings: SettingsDep,
    client: HttpClientDep,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    request: Request,
) -> JSONResponse:
    """200 {"status": "ok"} when the database, the upload store, Rasa and the action server all answer,
    else 503."""
    database, uploads, rasa, actions = await asyncio.gather(
        run_in_threadpool(_database_ok, factory),
        run_in_threadpool(_uploads_ok, getattr(request.app.state, "uploads", None)),
        _http_ok(client, settings.rasa_url.rstrip("/") + "/"),
        _http_ok(client, settings.action_server_url.rstrip("/") + "/health"),
    )
    checks = {
        name: "ok" if ok else "down"
        for name, ok in (("database", database), ("uploads", uploads), ("rasa", rasa), ("actions", actions))
    }
    healthy = database and uploads and rasa and actions
    body: dict[str, Any] = {"checks": checks}
    if settings.process_pools:
        listed = await _processes(settings, client, database)
        healthy = healthy and _all_ok(listed)
        body.update(listed)
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **body}, status_code=200 if healthy else 503
    )
