"""The bot's side of proactive notices: a look-up is remembered for the conversation, "stop updates" and
"resume updates" are recorded and confirmed in the shipper's language."""

from __future__ import annotations

from rasa_sdk.events import FollowupAction
from sqlalchemy import select

from backend.models import ShipmentInquiry
from backend.services import conversations as conv
from backend.services import notices
from bot.actions.client import transaction
from bot.actions.notices import ActionResumeUpdates, ActionStopUpdates
from bot.actions.shipments import ActionAnswerShipment
from tests.bot.trackers import make_tracker, new_sender, run


def hub_conversation() -> str:
    """A conversation the hub knows (it writes the row when the shipper's first message arrives)."""
    cid = new_sender()
    with transaction() as session:
        conv.ensure_conversation(session, cid)
    return cid


def inquiries(cid: str) -> list[str]:
    with transaction() as session:
        return list(
            session.scalars(select(ShipmentInquiry.waybill).where(ShipmentInquiry.conversation_id == cid))
        )


def test_a_status_question_remembers_who_asked_about_which_waybill() -> None:
    cid = hub_conversation()
    run(
        ActionAnswerShipment(), make_tracker("where is EA100000025CN", intent="track_shipment", sender_id=cid)
    )
    # Asked again in other words: still one row.
    run(ActionAnswerShipment(), make_tracker("ea 1000 0002 5 cn eta?", intent="ask_eta", sender_id=cid))
    assert inquiries(cid) == ["EA100000025CN"]
    # A number not in the store, and a mistyped one, are not remembered.
    run(ActionAnswerShipment(), make_tracker("EA100000153CN", intent="track_shipment", sender_id=cid))
    run(ActionAnswerShipment(), make_tracker("EA100000018CN", intent="track_shipment", sender_id=cid))
    assert inquiries(cid) == ["EA100000025CN"]


def test_stop_updates_is_recorded_and_confirmed_in_english() -> None:
    cid = hub_conversation()
    _, texts = run(ActionStopUpdates(), make_tracker("stop updates", intent="stop_updates", sender_id=cid))
    assert texts == [notices.STOPPED_TEXT]
    with transaction() as session:
        assert notices.has_stopped(session, cid)
    _, again = run(ActionStopUpdates(), make_tracker("unsubscribe", intent="stop_updates", sender_id=cid))
    assert again == [notices.ALREADY_STOPPED_TEXT]
    _, resumed = run(
        ActionResumeUpdates(), make_tracker("resume updates", intent="resume_updates", sender_id=cid)
    )
    assert "let you know" in resumed[0]
    with transaction() as session:
        assert not notices.has_stopped(session, cid)


def test_stop_updates_in_chinese() -> None:
    cid = hub_conversation()
    _, texts = run(
        ActionStopUpdates(),
        make_tracker("退订", intent="stop_updates", sender_id=cid, slots={"language": "zh"}),
    )
    assert texts == [
        "好的，以后不再给您发送运单动态。您仍然可以随时向我查询任何运单；如需恢复，请回复“恢复通知”。"
    ]
    _, resumed = run(
        ActionResumeUpdates(),
        make_tracker("恢复通知", intent="resume_updates", sender_id=cid, slots={"language": "zh"}),
    )
    assert "通知您" in resumed[0]


def test_a_yes_to_the_offer_of_a_complaint_read_as_stop_updates_starts_the_complaint() -> None:
    """A grievance about notices ("yes, and you never notify anyone") is no opt-out: the offer is taken."""
    cid = hub_conversation()
    for text, lang in (("是的，你们从来都不通知", "zh"), ("yes, and you never notify anyone", "en")):
        events, texts = run(
            ActionStopUpdates(),
            make_tracker(
                text,
                intent="stop_updates",
                sender_id=cid,
                slots={"language": lang, "awaiting": "complaint_offer"},
            ),
        )
        assert events == [FollowupAction("action_start_complaint")] and texts == []
    with transaction() as session:
        assert not notices.has_stopped(session, cid)
    # Outside the offer the same intent is the opt-out it says.
    _, texts = run(ActionStopUpdates(), make_tracker("stop updates", intent="stop_updates", sender_id=cid))
    assert texts == [notices.STOPPED_TEXT]
    with transaction() as session:
        assert notices.has_stopped(session, cid)
