"""`make screenshots`: the pictures the README shows, who looks at each, and the scenario behind them."""

from __future__ import annotations

import re

from tools.screenshots import (
    AGENT,
    CHROMIUM_ARGS,
    COMPENSATION,
    DOCS,
    OTHERS,
    PAGES,
    SETTLED,
    SUPERVISOR,
    VIEWPORT,
    WORKED,
)

README = (DOCS.parent / "README.md").read_text(encoding="utf-8")
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_tool_makes_exactly_the_three_pictures_the_readme_shows() -> None:
    shown = re.findall(r"!\[[^\]]*\]\(docs/(console-[a-z-]+\.png)\)", README)
    assert sorted(shown) == sorted(page.file for page in PAGES)
    assert [page.file for page in PAGES] == [
        "console-queue.png",
        "console-conversation.png",
        "console-report.png",
    ]
    assert "make screenshots" in README


def test_the_report_is_seen_by_the_supervisor_and_the_work_by_the_chinese_agent() -> None:
    assert [page.viewer for page in PAGES] == [AGENT, AGENT, SUPERVISOR]
    assert (AGENT.display_name, AGENT.role) == ("李伟", "agent")
    assert (SUPERVISOR.display_name, SUPERVISOR.role) == ("王主管", "supervisor")
    assert VIEWPORT == {"width": 1280, "height": 900}


def test_the_worked_complaint_is_chinese_and_its_compensation_is_above_the_agents_limit() -> None:
    assert WORKED.language == "zh" and all(CJK.search(line) for line in WORKED.lines)
    assert float(COMPENSATION["compensation_cny"]) > 500  # the agent's limit: the request must wait
    languages = {complaint.language for complaint in (WORKED, *OTHERS)}
    assert languages == {"zh", "en"}


def test_the_settled_complaints_are_real_ones_rated_on_the_follow_ups_scale() -> None:
    for index, reply, resolution, (rating, _comment) in SETTLED:
        assert 0 <= index < len(OTHERS)
        assert reply and resolution and rating in {"1", "2", "3", "4", "5"}
        # The agent writes in the shipper's language.
        assert bool(CJK.search(reply)) == (OTHERS[index].language == "zh")
    assert len({index for index, *_ in SETTLED}) == len(SETTLED)


def test_chromium_is_chinese_and_headless_and_never_downloaded() -> None:
    assert "--lang=zh-CN" in CHROMIUM_ARGS and "--headless" in CHROMIUM_ARGS
    source = (DOCS.parent / "tools" / "screenshots.py").read_text(encoding="utf-8")
    assert "executable_path=str(CHROMIUM)" in source
