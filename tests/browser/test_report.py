"""The monthly report in a real headless Chromium: charts a person can read, files Excel can open.

The month's complaints are written straight into the running product's database (a month no other
test uses); the supervisor logs in, reads the charts as Chart.js drew them and downloads both CSVs.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import Shipment
from backend.security.accounts import create_agent
from backend.services.tickets import BusinessCalendar, open_ticket
from backend.waybill import make_waybill
from tests.browser.conftest import watch_content_policy
from tools.stack import Stack

pytestmark = pytest.mark.e2e

MONTH = "2035-06"
TZ = ZoneInfo("Asia/Shanghai")
ALWAYS_OPEN = BusinessCalendar(start_hour=0, end_hour=24, weekdays=frozenset(range(7)), holidays=())
LONG_CAUSE = (
    "Held at the Guiyang sorting centre because the linehaul truck to Chengdu broke down on the "
    "expressway and the replacement vehicle only arrived the next evening"
)


@pytest.fixture(scope="module")
def supervisor_account(stack: Stack) -> tuple[str, str]:
    """A supervisor, and the month's complaints (three on one long-delayed shipment, one more)."""
    name, password = f"boss-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            create_agent(session, username=name, password=password, role="supervisor", display_name="Boss")
            waybill = make_waybill("EZ", 35060001)
            session.add(
                Shipment(
                    waybill=waybill,
                    customer_id="C004",
                    origin="Nanning",
                    destination="Chengdu",
                    status="in_transit",
                    delay_reason=LONG_CAUSE,
                )
            )
            for day, score in ((3, 5), (4, 4), (5, None)):
                opened = datetime(2035, 6, day, 10, tzinfo=TZ)
                ticket = open_ticket(
                    session,
                    idempotency_key=f"report-test:{uuid.uuid4()}",
                    conversation_id=f"web:{uuid.uuid4()}",
                    kind="complaint",
                    status="resolved" if score else "escalated",
                    actor="bot",
                    now=opened,
                    calendar=ALWAYS_OPEN,
                    category="delay",
                    priority="P3",
                    waybill=waybill,
                    customer_id="C004",
                    satisfaction=score,
                    description="货还没到，已经晚了三天",
                )
                if score:
                    ticket.first_responded_at = opened + timedelta(hours=1)
                    ticket.resolved_at = opened + timedelta(hours=5)
    finally:
        engine.dispose()
    return name, password


@pytest.fixture
def supervisor(browser: Browser, stack: Stack, supervisor_account: tuple[str, str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    refused = watch_content_policy(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(stack.backend_url + "/console")
    page.get_by_label("Name").fill(supervisor_account[0])
    page.get_by_label("Password").fill(supervisor_account[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    yield page
    context.close()
    assert errors == [], "the report page threw"
    assert refused == [], "the Content-Security-Policy refused something the pages need"


def drawn(page: Page, canvas_id: str) -> dict[str, Any]:
    """What Chart.js drew on the canvas: its labels as shown, and its value axis (title, ticks)."""
    return dict(
        page.evaluate(
            """id => {
                const chart = Chart.getChart(document.getElementById(id));
                const valueAxis = chart.options.indexAxis === 'y' ? chart.scales.x : chart.scales.y;
                const labelAxis = chart.options.indexAxis === 'y' ? chart.scales.y : chart.scales.x;
                return {
                    labels: chart.data.labels,
                    shown: labelAxis.ticks.map(t => [].concat(t.label).join(' ')),
                    unit: valueAxis.options.title.text,
                    ticks: valueAxis.ticks.map(t => t.value),
                };
            }""",
            canvas_id,
        )
    )


def test_the_report_charts_one_unit_per_axis_whole_counts_and_whole_labels(
    supervisor: Page, stack: Stack
) -> None:
    supervisor.goto(f"{stack.backend_url}/console/reports?month={MONTH}")
    expect(supervisor.locator("#table-category")).to_contain_text("Late delivery")

    for key in ("category", "status", "sla", "satisfaction", "cause", "customers", "repeat"):
        chart = drawn(supervisor, f"chart-{key}")
        assert chart["ticks"], key
        # Counts step by whole numbers: no 0.4 of a complaint.
        assert all(float(tick).is_integer() for tick in chart["ticks"]), (key, chart["ticks"])
        assert chart["unit"] in ("complaints", "answers"), key
        # Every label is shown whole (wrapped over lines, never skipped or cut).
        assert chart["shown"] == chart["labels"], key

    timing = drawn(supervisor, "chart-timing")
    assert timing["unit"] == "hours" and timing["labels"] == ["first response", "resolution"]
    satisfaction = drawn(supervisor, "chart-satisfaction")
    assert satisfaction["labels"] == ["1", "2", "3", "4", "5"]  # no "average" bar among the counts
    cause = drawn(supervisor, "chart-cause")
    assert cause["labels"] == [LONG_CAUSE]
    assert supervisor.evaluate(
        "() => Chart.getChart(document.getElementById('chart-cause')).scales.y.ticks[0].label.length > 1"
    ), "the long cause is wrapped over lines"

    # The headline figures beside the six months before.
    months = supervisor.locator("#headlines thead th").all_inner_texts()[1:]
    assert months == ["2034-12", "2035-01", "2035-02", "2035-03", "2035-04", "2035-05", MONTH]
    expect(supervisor.locator("#headline-complaints td").last).to_have_text("3")
    expect(supervisor.locator("#headline-satisfaction td").last).to_have_text("4.5")
    expect(supervisor.locator("#headline-complaints td").first).to_have_text("0")
    trend = drawn(supervisor, "trend-satisfaction")
    assert trend["unit"] == "average score (1 to 5)" and len(trend["labels"]) == 7


def test_both_csv_files_open_in_excel_as_chinese(supervisor: Page, stack: Stack) -> None:
    supervisor.goto(f"{stack.backend_url}/console/reports?month={MONTH}")
    with supervisor.expect_download() as download:
        supervisor.get_by_role("link", name="Download the month's tickets as CSV").click()
    raw = download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel on a Chinese Windows reads GBK"
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("Ticket number,Kind,Opened,")
    assert len(lines) == 4 and all(re.match(r"T-203506-\d{5},Complaint,", line) for line in lines[1:])
    assert "货还没到，已经晚了三天" in text and LONG_CAUSE in text

    with supervisor.expect_download() as download:
        supervisor.get_by_role("link", name="Download all as CSV").click()
    raw = download.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert f"{MONTH},Headline figures,Complaints,3,complaints" in raw.decode("utf-8-sig").splitlines()
