"""action_escalate and action_ticket_status: a person takes over, and "how is my complaint going?"."""

from __future__ import annotations

from datetime import datetime

from rasa_sdk.events import ConversationPaused, SlotSet

from backend.models import Conversation
from backend.services.tickets import get_ticket, list_tickets
from bot.actions.client import transaction
from bot.actions.complaints import ActionAcceptRemedy, ActionAnalyseComplaint, ActionStartComplaint
from bot.actions.escalation import business_calendar, local_time_text, who_answers_text
from bot.actions.handoff import ActionEscalate, ActionTicketStatus
from tests.bot.actions.stories import DELAY_STORY, VOUCHER
from tests.bot.trackers import applied, make_tracker, new_sender, run
from tests.text_checks import latin_words

ESCALATE = ActionEscalate()
STATUS = ActionTicketStatus()


def test_escalate_without_a_complaint_opens_a_handoff_ticket(now: datetime) -> None:
    sender = new_sender()
    tracker = make_tracker(
        "I want to talk to a person",
        intent="human_handoff",
        sender_id=sender,
        slots={"waybill": "EA100000017CN"},
    )
    events, texts = run(ESCALATE, tracker)
    number = events[0]["value"]
    assert events == [SlotSet("ticket_number", number), SlotSet("awaiting", None), ConversationPaused()]
    assert texts == [
        f"Of course. I'm passing you to a person now (reference {number}). "
        + who_answers_text("P3", now)
        + " Everything you've told me stays in this chat, so you won't need to repeat it."
    ]
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.kind, ticket.status, ticket.priority, ticket.channel, ticket.conversation_id) == (
            "handoff",
            "escalated",
            "P3",
            "telegram",
            sender,
        )
        assert ticket.waybill == "EA100000017CN"
        assert ticket.summary == "Customer asked to talk to a person about EA100000017CN."
        assert ticket.description == "I want to talk to a person"
        assert ticket.sla_due_at == business_calendar().sla_due("P3", now)
        conversation = session.get(Conversation, sender)
        assert conversation is not None
        assert (conversation.state, conversation.handoff_reason) == ("queued", "customer asked for a person")


def test_escalate_retried_with_the_same_message_opens_one_ticket() -> None:
    sender = new_sender()
    first, _ = run(ESCALATE, make_tracker("agent", sender_id=sender, message_id="msg-7"))
    second, _ = run(ESCALATE, make_tracker("agent", sender_id=sender, message_id="msg-7"))
    assert first == second
    with transaction() as session:
        [ticket] = list_tickets(session, conversation_id=sender)
        assert (ticket.waybill, ticket.summary) == (None, "Customer asked to talk to a person.")


def test_escalate_during_a_complaint_escalates_the_complaint(now: datetime) -> None:
    sender = new_sender()
    started, _ = run(ActionStartComplaint(), make_tracker(DELAY_STORY, intent="complain", sender_id=sender))
    slots = applied(started)
    events, texts = run(ESCALATE, make_tracker("agent please", sender_id=sender, slots=slots))
    number = events[0]["value"]
    assert events == [SlotSet("ticket_number", number), SlotSet("awaiting", "done"), ConversationPaused()]
    assert texts == [
        f"I've registered your complaint as {number} and passed it to a colleague who can decide on it. "
        + who_answers_text("P3", now)
        + " They will see everything you've told me, so you won't need to repeat it."
    ]
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        assert (ticket.kind, ticket.status, ticket.category, ticket.waybill, ticket.stage_reached) == (
            "complaint",
            "escalated",
            "delay",
            "EA100000034CN",
            "confirm",
        )
        conversation = session.get(Conversation, sender)
        assert conversation is not None
        assert (conversation.state, conversation.handoff_reason) == (
            "queued",
            "the customer asked for a person",
        )


def test_escalate_during_negotiation_escalates_the_same_ticket() -> None:
    sender = new_sender()
    started, _ = run(ActionStartComplaint(), make_tracker(DELAY_STORY, intent="complain", sender_id=sender))
    slots = applied(started)
    offered, _ = run(
        ActionAnalyseComplaint(), make_tracker("yes", intent="affirm", sender_id=sender, slots=slots)
    )
    slots = applied(offered, slots)
    events, _ = run(ESCALATE, make_tracker("let me talk to your manager", sender_id=sender, slots=slots))
    assert events[0] == SlotSet("ticket_number", slots["ticket_number"])
    with transaction() as session:
        [ticket] = list_tickets(session, conversation_id=sender)
        assert (ticket.status, ticket.stage_reached, ticket.remedy_offered) == (
            "escalated",
            "negotiate",
            VOUCHER,
        )


def test_escalate_after_a_finished_complaint_is_a_plain_handoff() -> None:
    sender = new_sender()
    slots = {"complaint_id": "abc123", "awaiting": "done", "ticket_number": "T-202611-00001"}
    events, texts = run(ESCALATE, make_tracker("agent", sender_id=sender, slots=slots))
    assert texts[0].startswith("Of course. I'm passing you to a person now")
    with transaction() as session:
        [ticket] = list_tickets(session, conversation_id=sender)
        assert ticket.kind == "handoff" and events[0] == SlotSet("ticket_number", ticket.number)


# --- action_ticket_status ---------------------------------------------------------------------------


def test_ticket_status_by_conversation_and_by_number() -> None:
    sender = new_sender()
    events, _ = run(ESCALATE, make_tracker("agent", sender_id=sender, slots={"waybill": "EA100000034CN"}))
    number = events[0]["value"]
    with transaction() as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and ticket.sla_due_at is not None
        due = local_time_text(ticket.sla_due_at)
    expected = (
        f"Your request {number} about EA100000034CN: "
        "it is waiting for one of our colleagues to pick it up. "
        f"We aim to answer by {due} (China time)."
    )
    assert run(STATUS, make_tracker("how is my complaint going?", sender_id=sender)) == ([], [expected])
    period, serial = number[2:8], number[9:]
    typed = f"any news on t {period} {serial}?"
    assert run(STATUS, make_tracker(typed, sender_id=sender)) == ([], [expected])


def test_a_ticket_of_another_conversation_shows_its_state_only() -> None:
    events, _ = run(
        ESCALATE, make_tracker("agent", sender_id=new_sender(), slots={"waybill": "EA100000034CN"})
    )
    number = events[0]["value"]
    _, texts = run(STATUS, make_tracker(f"status of {number}", sender_id=new_sender()))
    assert texts == [
        f"Request {number}: it is waiting for one of our colleagues to pick it up. "
        "For the details, please ask in the chat where it was opened."
    ]
    assert "EA100000034CN" not in texts[0]


def test_ticket_status_after_an_agreed_remedy() -> None:
    sender = new_sender()
    started, _ = run(ActionStartComplaint(), make_tracker(DELAY_STORY, intent="complain", sender_id=sender))
    slots = applied(started)
    offered, _ = run(
        ActionAnalyseComplaint(), make_tracker("yes", intent="affirm", sender_id=sender, slots=slots)
    )
    number = applied(offered)["ticket_number"]
    assert run(STATUS, make_tracker(f"status of {number}", sender_id=sender)) == (
        [],
        [f"Your complaint {number} about EA100000034CN: we are waiting for your answer."],
    )
    run(
        ActionAcceptRemedy(),
        make_tracker("ok", intent="affirm", sender_id=sender, slots=applied(offered, slots)),
    )
    assert run(STATUS, make_tracker("and now?", sender_id=sender)) == (
        [],
        [
            f"Your complaint {number} about EA100000034CN: "
            f"the remedy we agreed is being carried out. Agreed: {VOUCHER}"
        ],
    )
    # A Chinese shipper hears the same remedy in Chinese (it is kept as a code and its facts).
    _, (chinese,) = run(STATUS, make_tracker("现在怎么样了？", sender_id=sender, slots={"language": "zh"}))
    assert "已商定的处理方案：" in chinese and "36.00 元" in chinese, chinese
    assert not latin_words(chinese.replace(number, "").replace("EA100000034CN", "")), chinese


def test_ticket_status_unknown_number() -> None:
    assert run(STATUS, make_tracker("status of T-209901-00001")) == (
        [],
        [
            "I couldn't find a complaint numbered T-209901-00001. "
            "Could you check the number? It looks like T-202611-00042."
        ],
    )


def test_ticket_status_without_a_number_or_a_ticket_asks_for_the_number() -> None:
    assert run(STATUS, make_tracker("how is my complaint going?")) == (
        [],
        [
            "What's your complaint number? It looks like T-202611-00042. "
            "If you'd like to make a new complaint, just tell me what happened."
        ],
    )
