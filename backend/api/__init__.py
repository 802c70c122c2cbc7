"""HTTP API under /api: health, shipments and tickets; the integration API under /api/v1."""

from fastapi import APIRouter

from backend.api import health, integration, shipments, tickets

router = APIRouter(prefix="/api")
router.include_router(health.router)
router.include_router(shipments.router)
router.include_router(tickets.router)
router.include_router(integration.router)

__all__ = ["router"]
