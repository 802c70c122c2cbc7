"""Rasa's own doors, against the real server: nobody without the channel secret speaks as a shipper."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tools.stack import Stack

pytestmark = pytest.mark.e2e

CHANNELS = ("rest", "hub")


def tracker(stack: Stack, sender: str) -> dict[str, object]:
    response = httpx.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.rasa_token}, timeout=30
    )
    response.raise_for_status()
    return dict(response.json())


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("header", [None, "Bearer wrong-secret", "Basic abc"])
def test_without_the_secret_nobody_speaks_as_a_shipper(
    stack: Stack, channel: str, header: str | None
) -> None:
    sender = f"telegram:{uuid.uuid4().int % 10**9}"
    headers = {"Authorization": header} if header else {}
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/{channel}/webhook",
        json={"sender": sender, "message": "where is EA100000025CN"},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 401
    # Nothing was said in that conversation: Rasa never saw the message.
    events = tracker(stack, sender).get("events") or []
    assert not [e for e in events if isinstance(e, dict) and e.get("event") == "user"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_with_the_secret_the_bot_answers(stack: Stack, channel: str) -> None:
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/{channel}/webhook",
        json={"sender": f"rest:{uuid.uuid4()}", "message": "where is EA100000025CN"},
        headers=stack.rest_headers,
        timeout=60,
    )
    assert response.status_code == 200
    assert "Changsha" in " ".join(r.get("text", "") for r in response.json())


def test_the_hub_channel_never_reads_shipper_text_as_a_command(stack: Stack) -> None:
    sender = f"web:{uuid.uuid4()}"
    for text in ("/restart", '/provide_waybill{"waybill": "EA100000025CN"}'):
        response = httpx.post(
            f"{stack.rasa_url}/webhooks/hub/webhook",
            json={"sender": sender, "message": text},
            headers=stack.rest_headers,
            timeout=60,
        )
        assert response.status_code == 200 and response.json(), response.text
        latest = tracker(stack, sender)["latest_message"]
        assert isinstance(latest, dict)
        assert latest["text"] == text.lstrip("/")
        assert latest["intent"]["name"] not in {"restart", "provide_waybill"} or latest["entities"] == []
    events = tracker(stack, sender)["events"]
    assert isinstance(events, list)
    assert not [e for e in events if e.get("event") == "restart"]


def test_the_hub_channel_resumes_a_paused_tracker(stack: Stack) -> None:
    # The hub only sends when the database says the bot speaks: a tracker left paused (a hand-back
    # whose resume never reached Rasa) must not swallow the shipper's message.
    sender = f"web:{uuid.uuid4()}"
    httpx.post(
        f"{stack.rasa_url}/conversations/{sender}/tracker/events",
        params={"token": stack.rasa_token},
        json=[{"event": "pause"}],
        timeout=30,
    ).raise_for_status()
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/hub/webhook",
        json={"sender": sender, "message": "where is EA100000025CN"},
        headers=stack.rest_headers,
        timeout=60,
    )
    assert "Changsha" in " ".join(r.get("text", "") for r in response.json())


def test_the_bot_says_it_is_back_after_a_hand_back(stack: Stack) -> None:
    sender = f"web:{uuid.uuid4()}"
    httpx.post(
        f"{stack.rasa_url}/webhooks/hub/webhook",
        json={"sender": sender, "message": "I want to talk to a person"},
        headers=stack.rest_headers,
        timeout=60,
    ).raise_for_status()
    response = httpx.post(
        f"{stack.rasa_url}/conversations/{sender}/execute",
        params={"token": stack.rasa_token},
        json={"name": "action_back_from_agent"},
        timeout=60,
    )
    response.raise_for_status()
    texts = [m.get("text", "") for m in response.json()["messages"]]
    assert any("handed you back" in t for t in texts), texts


def test_after_a_hand_back_the_bot_answers_as_usual(stack: Stack) -> None:
    # The hub's own sequence: resume, the bot's word that it is back, then listening again.
    sender = f"web:{uuid.uuid4()}"
    hub = f"{stack.rasa_url}/webhooks/hub/webhook"
    for text in (
        "our shipment EA100000051CN to Chengdu has vanished, no updates for over a week",
        "we want compensation",
        "yes that's right",
    ):
        httpx.post(hub, json={"sender": sender, "message": text}, headers=stack.rest_headers, timeout=60)
    api = f"{stack.rasa_url}/conversations/{sender}"
    token = {"token": stack.rasa_token}
    httpx.post(f"{api}/tracker/events", params=token, json=[{"event": "resume"}], timeout=30)
    for action in ("action_back_from_agent", "action_listen"):
        httpx.post(f"{api}/execute", params=token, json={"name": action}, timeout=60).raise_for_status()
    answer = httpx.post(
        hub,
        json={"sender": sender, "message": "where is EA100000025CN"},
        headers=stack.rest_headers,
        timeout=60,
    )
    texts = " ".join(r.get("text", "") for r in answer.json())
    assert "Changsha" in texts and "registered your complaint" not in texts, texts
