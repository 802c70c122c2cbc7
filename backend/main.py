"""The backend ASGI app: `uvicorn backend.main:app` (settings are read at start-up, not import)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from backend.api import hub_stats
from backend.api import router as api_router
from backend.api.deps import domain_error_handler
from backend.api.lifespan import make_lifespan
from backend.channels import telegram, web
from backend.config import Settings
from backend.console import api as console_api
from backend.console import (
    care_pages,
    care_report_pages,
    conversation_pages,
    owner_pages,
    volume_pages,
    webhook_pages,
)
from backend.console import pages as console_pages
from backend.console.auth import router as console_auth_router
from backend.errors import DomainError

CONSOLE_STATIC = Path(__file__).resolve().parent / "console" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Assemble the app; pass settings to override the environment (tests do)."""
    app = FastAPI(title="Logistics customer service backend", lifespan=make_lifespan(settings))
    # One place turns a refused use case into HTTP, for the JSON API and the console's pages alike.
    app.add_exception_handler(DomainError, domain_error_handler)
    app.include_router(api_router)
    app.include_router(hub_stats.router)
    app.include_router(telegram.router)
    app.include_router(web.router)
    app.include_router(console_auth_router)
    app.include_router(console_api.router)
    app.include_router(console_pages.router)
    app.include_router(webhook_pages.router)
    app.include_router(owner_pages.router)
    app.include_router(conversation_pages.router)
    app.include_router(volume_pages.router)
    app.include_router(care_pages.router)
    app.include_router(care_report_pages.router)
    # Mounted last: routes under /console/static (the vendored scripts) are matched before it.
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC), name="console_static")
    return app


app = create_app()
