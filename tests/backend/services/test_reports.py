"""The monthly report's figures, its six-month trend and its two CSV files, as a supervisor reads them."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from backend.models import Shipment, Ticket
from backend.services.reports import COUNT_UNITS, monthly_report, months_before, report_csv, tickets_csv
from backend.waybill import make_waybill
from tests.backend.factories import a_ticket

CARRIER_TZ = ZoneInfo("Asia/Shanghai")
LONG_CAUSE = (
    "Held at the Guiyang sorting centre because the linehaul truck to Chengdu broke down on the expressway "
    "and the replacement vehicle only arrived the next evening"
)


def rows_of(text: str) -> list[list[str]]:
    """The CSV as Excel reads it: the BOM says UTF-8 and is not part of the first cell."""
    raw = text.encode("utf-8")
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def complaint(session: Session, opened: datetime, **fields: Any) -> Ticket:
    """A complaint opened at `opened`, with first response, resolution and the rest set as given."""
    later = {k: fields.pop(k) for k in ("first_responded_at", "resolved_at") if k in fields}
    ticket = a_ticket(session, now=opened, **{"category": "delay", "priority": "P3", **fields})
    for name, value in later.items():
        setattr(ticket, name, value)
    session.flush()
    return ticket


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=CARRIER_TZ)


def test_months_before_crosses_the_year() -> None:
    assert months_before("2026-02", 6) == [
        "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02",
    ]  # fmt: skip


def test_the_months_figures_the_trend_and_one_unit_per_chart(db_session: Session) -> None:
    # 2033: a year no other test writes to. The report's month is July, the trend runs from January.
    waybill = make_waybill("EZ", 33070001)
    customer = "C002"
    db_session.add(
        Shipment(
            waybill=waybill,
            customer_id=customer,
            origin="Nanning",
            destination="Chengdu",
            status="in_transit",
            delay_reason=LONG_CAUSE,
        )
    )
    # Two resolved complaints on the same shipment: (day, first response, resolution in hours, score).
    for day, answered, resolved, score in ((10, 2, 10, 4), (12, 1, 4, 5)):
        opened = local(2033, 7, day)
        complaint(
            db_session,
            opened,
            waybill=waybill,
            customer_id=customer,
            sla_due_at=opened + timedelta(hours=4),
            resolution_due_at=opened + timedelta(hours=8),  # the first is resolved late, the second in time
            first_responded_at=opened + timedelta(hours=answered),
            resolved_at=opened + timedelta(hours=resolved),
            status="resolved",
            satisfaction=score,
        )
    complaint(db_session, local(2033, 7, 31, 23), category="damage", language="zh")  # still open
    # Not the month's complaints: someone trying `make chat`, a request for a person, the next month.
    complaint(db_session, local(2033, 7, 15), conversation_id=f"cli:{uuid.uuid4()}", category="loss")
    a_ticket(db_session, now=local(2033, 7, 15), kind="handoff", status="escalated")
    complaint(db_session, local(2033, 8, 1, 0))
    # The trend: two complaints in May, one in January (six months back), one before the trend starts.
    complaint(db_session, local(2033, 5, 3))
    complaint(db_session, local(2033, 5, 30))
    complaint(db_session, local(2033, 1, 1, 0))
    complaint(db_session, local(2032, 12, 31, 23))

    report = monthly_report(db_session, "2033-07", tz=CARRIER_TZ)

    assert report.complaints == 3
    assert dict(report.table("category").rows) == {"Late delivery": 2, "Damaged goods": 1}
    assert report.months == ["2033-01", "2033-02", "2033-03", "2033-04", "2033-05", "2033-06", "2033-07"]
    assert report.headline("complaints").values == list(
        zip(report.months, [1, 0, 0, 0, 2, 0, 3], strict=True)
    )
    assert report.headline("first_response").current == 1.5  # median of 2 h and 1 h
    assert report.headline("resolution").current == 7.0  # median of 10 h and 4 h
    assert report.headline("resolved_in_time").current == 50
    assert report.headline("satisfaction").current == 4.5
    assert report.headline("repeat").current == 2
    # A month without answers has no average, rather than an average of 0.
    assert report.headline("satisfaction").values[0] == ("2033-01", None)

    # One unit per table: the hours chart holds hours only, the share is a headline figure, and the
    # satisfaction chart counts answers per score with no average bar beside them.
    assert [label for label, _ in report.table("timing").rows] == ["first response", "resolution"]
    assert report.table("timing").unit == "hours"
    assert dict(report.table("sla").rows) == {
        "first response in time": 2,
        "first response late": 0,
        "resolved in time": 1,
        "resolved late": 1,
        "not yet resolved": 1,
    }
    assert report.table("satisfaction").rows == [("1", 0), ("2", 0), ("3", 0), ("4", 1), ("5", 1)]
    for table in report.tables:
        if table.counts:
            assert all(isinstance(value, int) for _, value in table.rows), table.key
    assert {t.unit for t in report.tables if t.counts} <= COUNT_UNITS
    # Causes are whole: a chart wraps them, nothing cuts them.
    assert dict(report.table("cause").rows)[LONG_CAUSE] == 2
    assert report.table("cause").long_labels

    # The whole report's CSV: BOM, the tables, and the trend with one row per figure and month.
    rows = rows_of(report_csv(report))
    assert rows[0] == ["Month", "Table", "Label", "Value", "Unit"]
    assert ["2033-07", "By cause", LONG_CAUSE, "2", "complaints"] in rows
    assert ["2033-05", "Headline figures", "Complaints", "2", "complaints"] in rows
    assert ["2033-01", "Headline figures", "Satisfaction, average", "", "average score (1 to 5)"] in rows
    assert ["2033-07", "By language", "Chinese", "1", "complaints"] in rows
    assert ["2033-07", "By status", "resolved", "2", "complaints"] in rows
    assert not any(row[1] == "Headline figures" for row in rows_of(report_csv(report, "category")))

    # The report in Chinese: titles and units from the catalog.
    chinese = monthly_report(db_session, "2033-07", tz=CARRIER_TZ, language="zh")
    assert chinese.table("category").unit == "投诉数"
    assert chinese.headline("complaints").title == "投诉数量"
    # ... and so are the rows' words: categories, statuses, languages, causes read from the record.
    assert dict(chinese.table("category").rows) == {"延误": 2, "货物破损": 1}
    assert dict(chinese.table("status").rows) == {"已解决": 2, "处理中": 1}
    assert dict(chinese.table("language").rows) == {"英文": 2, "中文": 1}
    chinese_csv = rows_of(report_csv(chinese))
    assert chinese_csv[0] == ["月份", "表", "项目", "数值", "单位"]
    assert ["2033-05", "主要指标", "投诉数量", "2", "投诉数"] in chinese_csv


def test_the_months_tickets_file_has_one_row_per_ticket_with_its_fields(db_session: Session) -> None:
    # 2034-03: a month no other test writes to.
    opened = local(2034, 3, 5, 9)
    first = complaint(
        db_session,
        opened,
        waybill="EA100000034CN",
        customer_id="C002",
        language="zh",
        description='=HYPERLINK("http://evil") 我的快递说好前天到，现在还卡在武汉',
        customer_wants="退款",
        declared_value=Decimal("400"),
        compensation_cny=Decimal("36.5"),
        first_responded_at=opened + timedelta(minutes=90),
        resolved_at=opened + timedelta(hours=6),
        status="resolved",
        satisfaction=5,
        satisfaction_comment="谢谢，处理得很快",
    )
    handoff = a_ticket(
        db_session,
        now=local(2034, 3, 20),
        kind="handoff",
        status="escalated",
        conversation_id=f"web:{uuid.uuid4()}",
    )
    complaint(db_session, local(2034, 3, 21), conversation_id=f"cli:{uuid.uuid4()}")  # `make chat`: left out
    complaint(db_session, local(2034, 4, 1, 0))  # next month

    rows = rows_of(tickets_csv(db_session, "2034-03", tz=CARRIER_TZ))
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == [first.number, handoff.number]
    row = dict(zip(header, body[0], strict=True))
    assert row["Kind"] == "Complaint"
    assert row["Opened"] == "2034-03-05 09:00"
    assert row["Customer"] == "Wang's Hardware" and row["Customer class"] == "B"
    assert row["Waybill"] == "EA100000034CN" and row["Shipper's language"] == "Chinese"
    # A shipper's text that looks like a formula stays text in a spreadsheet; Chinese stays Chinese.
    assert row["Shipper's account"] == '\'=HYPERLINK("http://evil") 我的快递说好前天到，现在还卡在武汉'
    assert row["Customer wants"] == "退款"
    assert row["Declared value (CNY)"] == "400.00" and row["Compensation (CNY)"] == "36.50"
    assert row["First response"] == "2034-03-05 10:30" and row["Hours to first response"] == "1.5"
    assert row["Resolved"] == "2034-03-05 15:00" and row["Hours to resolution"] == "6.0"
    assert row["Satisfaction (1 to 5)"] == "5" and row["Satisfaction comment"] == "谢谢，处理得很快"
    assert row["Cause"].startswith("Held at Wuhan hub")
    handoff_row = dict(zip(header, body[1], strict=True))
    assert handoff_row["Kind"] == "Handover to an agent" and handoff_row["Channel"] == "Web chat"

    # Headers in the reader's language.
    chinese = rows_of(tickets_csv(db_session, "2034-03", tz=CARRIER_TZ, language="zh"))
    assert chinese[0][:3] == ["工单编号", "类型", "创建时间"]
    assert len(chinese) == 3
    # ... and the codes in its words: kind, language, category, status, the record's cause.
    first_zh = dict(zip(chinese[0], chinese[1], strict=True))
    assert (first_zh["类型"], first_zh["投诉类别"], first_zh["状态"]) == ("投诉", "延误", "已解决")
    assert first_zh[chinese[0][5]] == "中文"
    assert first_zh[chinese[0][14]].startswith("暂扣在武汉转运中心")


def test_a_formula_behind_a_tab_or_carriage_return_stays_text(db_session: Session) -> None:
    """Spreadsheets skip a leading tab or carriage return and read the formula behind it."""
    texts = ['\t=HYPERLINK("http://evil")', '\r=cmd|"/c calc"!A1', "+86 138 0013 8000", "@SUM(A1)"]
    for day, text in enumerate(texts, start=2):
        complaint(db_session, local(2035, 7, day), description=text)
    rows = rows_of(tickets_csv(db_session, "2035-07", tz=CARRIER_TZ))
    column = rows[0].index("Shipper's account")
    assert [row[column] for row in rows[1:]] == ["'" + text for text in texts]
