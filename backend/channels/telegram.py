"""Telegram (python-telegram-bot 22): polling for local use, webhook in production. (Being built.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from backend.config import Settings
from backend.hub import Hub

router = APIRouter(tags=["telegram"])


@asynccontextmanager
async def running(app: FastAPI, settings: Settings, hub: Hub) -> AsyncIterator[None]:
    """Runs the Telegram channel for the app's lifetime (nothing when TELEGRAM_MODE is off)."""
    yield
