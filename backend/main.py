"""The backend ASGI app: `uvicorn backend.main:app` (settings are read at start-up, not import)."""

from __future__ import annotations

from fastapi import FastAPI

from backend.api import router as api_router
from backend.api.lifespan import make_lifespan
from backend.channels import telegram, web
from backend.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Assemble the app; pass settings to override the environment (tests do)."""
    app = FastAPI(title="Logistics customer service backend", lifespan=make_lifespan(settings))
    app.include_router(api_router)
    app.include_router(telegram.router)
    app.include_router(web.router)
    return app


app = create_app()
