"""The web widget (deep-chat) and the demo carrier page. (Being built.)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["web"])
