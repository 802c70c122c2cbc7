"""HTTP API under /api: health, shipments and tickets."""

from fastapi import APIRouter

from backend.api import health, shipments, tickets

router = APIRouter(prefix="/api")
router.include_router(health.router)
router.include_router(shipments.router)
router.include_router(tickets.router)

__all__ = ["router"]
