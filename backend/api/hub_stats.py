"""GET /api/hub/stats: the hub's step timings (backend/hub/timings.py), for `make bench`'s hub breakdown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from backend.api.deps import require_token
from backend.hub import timings

router = APIRouter(tags=["hub"])


@router.get("/api/hub/stats")
def hub_stats(_token: Annotated[None, Depends(require_token)]) -> dict[str, dict[str, float]]:
    """The hub's step timings (behind the API token): for the benchmark's breakdown."""
    return timings.timings()
