"""The monthly customer-class job in the backend: it runs at start-up and the demo keeps its classes."""

from __future__ import annotations

import time
from datetime import date, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.main import create_app
from backend.models import Customer, ScheduledJobRun
from backend.services import customer_classes as classes
from tests.backend.factories import CARRIER_TZ, settings_for

# ../shared/design/DEMO_DATA.md fixes these.
DEMO_CLASSES = {"C001": "A", "C002": "B", "C003": "C", "C004": "A"}


def test_the_job_runs_at_start_up_and_the_demo_keeps_its_classes(
    db_url: str, seeded_today: date, db_factory: sessionmaker[Session]
) -> None:
    period = classes.period_of(datetime.now(CARRIER_TZ), CARRIER_TZ)
    app = create_app(settings_for(db_url))
    with TestClient(app):
        job = app.state.customer_classes
        deadline = time.monotonic() + 20
        while job.last is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # This process ran it, or an earlier backend on this database already had this month.
        assert job.last is not None and job.last.period == period
    assert job._task is None  # stopped with the app
    with session_scope(db_factory) as session:
        assert session.get(ScheduledJobRun, (classes.JOB_NAME, period)) is not None
        for cid, expected in DEMO_CLASSES.items():
            customer = session.get(Customer, cid)
            assert customer is not None
            assert customer.customer_class == expected, cid
            # The data's own verdict is recorded beside the demo's pinned class.
            assert customer.pinned_class == expected and customer.computed_class in ("A", "B", "C")
            assert customer.class_computed_by == classes.JOB_ACTOR
    off = create_app(settings_for(db_url, customer_classes_job=False))
    with TestClient(off):
        assert off.state.customer_classes._task is None
