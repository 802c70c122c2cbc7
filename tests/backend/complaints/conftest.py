"""Fixtures for the complaint-analysis tests."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.domain import ShipmentView

from .demo import NOW, demo_shipments


@pytest.fixture
def now() -> datetime:
    """The fixed clock of the tests."""
    return NOW


@pytest.fixture
def shipments() -> dict[str, ShipmentView]:
    """The demo shipments by waybill."""
    return demo_shipments()
