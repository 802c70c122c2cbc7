"""Console access over HTTP: login and logout, cookie flags, CSRF, roles, throttling, production refusal."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings, get_settings
from backend.console.auth import safe_next
from backend.console.deps import (
    get_throttle_policy,
)
from backend.db import session_scope
from backend.main import create_app
from backend.models import Agent, AuditEvent, ConsoleSession, LoginAttempt, utcnow
from backend.security import throttle
from backend.security.sessions import SessionPolicy, load_session, start_session, token_digest
from tests.backend.console.clients import (
    CSRF_INPUT,
    CSRF_META,
    WEB_SECRET,
    build_app,
    client_for,
    fresh_ip,
    from_address,
    log_in,
    login_form,
    post_login,
)
from tests.backend.factories import new_account

REAL_SECRETS = {
    "api_token": "k3J9-a-real-random-token",
    "rasa_channel_secret": "Qv8-another-real-secret",
    "rasa_token": "Rt5-a-fourth-real-secret",
    "web_session_secret": WEB_SECRET,
}


def cookie_header(response: Any, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert headers, response.headers
    return headers[-1]


def audit(factory: sessionmaker[Session], action: str, **data: str) -> list[AuditEvent]:
    with session_scope(factory) as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    return [r for r in rows if all((r.data or {}).get(k) == v for k, v in data.items())]


# -- login, logout, cookies ------------------------------------------------------------------------------


def test_login_page_has_the_form_contract(client: TestClient) -> None:
    page = client.get("/console/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="username"' in page.text and 'name="password"' in page.text
    field, token = CSRF_INPUT.search(page.text).groups()  # type: ignore[union-attr]
    assert field.startswith("csrf") and len(token) >= 32
    meta = CSRF_META.search(page.text)
    assert meta and meta.group(1) == token
    nonce_cookie = cookie_header(page, "console_login_csrf").lower()
    assert "httponly" in nonce_cookie and "samesite=strict" in nonce_cookie
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/console/static/console.css").status_code == 200


def test_login_and_logout(
    client: TestClient, agent: tuple[str, str], db_factory: sessionmaker[Session]
) -> None:
    response = post_login(client, *agent, next="/console/probe/page")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/probe/page"
    session_cookie = cookie_header(response, "console_session")
    flags = [part.strip().lower() for part in session_cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # a local run is plain http

    assert client.get("/console/api/probe/me").json() == {"username": agent[0], "role": "agent"}
    page = client.get("/console/probe/page")
    assert page.status_code == 200
    token = CSRF_META.search(page.text).group(1)  # type: ignore[union-attr]
    assert f"Agent {agent[0]}" in page.text
    assert '<form method="post" action="/console/logout"' in page.text
    assert f'<input type="hidden" name="csrf_token" value="{token}">' in page.text
    # The database keeps a digest of the cookie's token, never the token.
    raw = client.cookies.get("console_session")
    assert raw
    with session_scope(db_factory) as session:
        assert session.get(ConsoleSession, raw) is None
        assert session.get(ConsoleSession, token_digest(raw)) is not None

    assert client.post("/console/logout").status_code == 403  # no CSRF field
    out = client.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert "console_session=" in cookie_header(out, "console_session")
    # The old cookie is worth nothing now, even if the browser kept it.
    client.cookies.set("console_session", raw)
    assert client.get("/console/api/probe/me").status_code == 401

    (login,) = [e for e in audit(db_factory, "login") if e.actor == f"agent:{agent[0]}"]
    (logout,) = [e for e in audit(db_factory, "logout") if e.actor == f"agent:{agent[0]}"]
    assert login.agent_id == logout.agent_id is not None and login.at <= logout.at


def test_session_cookie_is_secure_in_production(
    db_url: str, seeded_today: date, agent: tuple[str, str]
) -> None:
    app = build_app(db_url, app_env="production", **REAL_SECRETS)
    with client_for(app, base_url="https://testserver") as c:
        assert "secure" in cookie_header(c.get("/console/login"), "console_login_csrf").lower()
        response = post_login(c, *agent)
        assert response.status_code == 303
        flags = [part.strip().lower() for part in cookie_header(response, "console_session").split(";")]
        assert {"secure", "httponly", "samesite=strict"} <= set(flags)


def test_wrong_password_and_unknown_name_look_the_same(client: TestClient, agent: tuple[str, str]) -> None:
    wrong = post_login(client, agent[0], "not-the-password-at-all")
    unknown = post_login(client, f"nobody-{uuid.uuid4().hex[:6]}", "not-the-password-at-all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password." in wrong.text and "Wrong name or password." in unknown.text
    assert "console_session" not in wrong.headers.get("set-cookie", "")


def test_login_needs_its_csrf_token(
    client: TestClient, other_client: TestClient, agent: tuple[str, str]
) -> None:
    client.get("/console/login")
    missing = client.post("/console/login", data={"username": agent[0], "password": agent[1]})
    assert missing.status_code == 403
    forged = client.post(
        "/console/login", data={"username": agent[0], "password": agent[1], "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    # A token from another browser's form does not fit this browser's cookie.
    _, foreign = login_form(other_client)
    stolen = client.post(
        "/console/login", data={"username": agent[0], "password": agent[1], "csrf_token": foreign}
    )
    assert stolen.status_code == 403
    assert post_login(client, *agent).status_code == 303


def test_inactive_agents_are_out(client: TestClient, db_factory: sessionmaker[Session]) -> None:
    account = new_account(db_factory)
    log_in(client, account)
    with session_scope(db_factory) as session:
        session.scalars(select(Agent).where(Agent.username == account[0])).one().active = False
    assert client.get("/console/api/probe/me").status_code == 401
    assert post_login(client, *account).status_code == 401


def test_a_new_login_replaces_the_old_session(client: TestClient, agent: tuple[str, str]) -> None:
    log_in(client, agent)
    first = client.cookies.get("console_session")
    assert first
    # The browser still holds the old cookie when it posts the login form again.
    client.cookies.delete("console_session")
    field, token = login_form(client)
    nonce = client.cookies.get("console_login_csrf")
    again = client.post(
        "/console/login",
        data={"username": agent[0], "password": agent[1], field: token},
        headers={"Cookie": f"console_session={first}; console_login_csrf={nonce}"},
    )
    assert again.status_code == 303
    second = client.cookies.get("console_session")
    assert second and first != second
    old_cookie = {"Cookie": f"console_session={first}"}
    assert client.get("/console/api/probe/me", headers=old_cookie).status_code == 401
    assert client.get("/console/api/probe/me").status_code == 200


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/conversations/web%3A1?x=1", "/console/conversations/web%3A1?x=1"),
        ("/console", "/console"),
        ("", "/console"),
        ("//evil.example/console", "/console"),
        ("https://evil.example/console", "/console"),
        ("/\\evil.example", "/console"),
        ("/api/tickets", "/console"),
        ("/console/login", "/console"),
        ("/consolexyz", "/console"),
    ],
)
def test_after_login_only_console_paths(target: str, expected: str) -> None:
    assert safe_next(target) == expected


# -- anonymous, CSRF, roles ------------------------------------------------------------------------------


def test_anonymous_gets_401_on_the_api_and_the_login_page_on_pages(client: TestClient) -> None:
    assert client.get("/console/api/probe/me").status_code == 401
    assert client.post("/console/api/probe/change", headers={"X-CSRF-Token": "x"}).status_code == 401
    assert client.post("/console/api/probe/supervise").status_code == 401
    for path in ("/console/probe/page", "/console/probe/reports"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/console/login?next={path.replace('/', '%2F')}"
    assert (
        client.post("/console/probe/form", data={"note": "x"})
        .headers["location"]
        .startswith("/console/login")
    )
    assert client.post("/console/logout").headers["location"].startswith("/console/login")


def test_csrf_is_required_on_every_change(client: TestClient, agent: tuple[str, str]) -> None:
    token = log_in(client, agent)
    assert client.post("/console/api/probe/change").status_code == 403
    assert client.post("/console/api/probe/change", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/console/api/probe/change", headers={"X-CSRF-Token": ""}).status_code == 403
    ok = client.post("/console/api/probe/change", headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json() == {"changed_by": agent[0]}
    # JSON bodies too; the token goes in the header.
    assert client.post("/console/api/probe/change", json={"csrf_token": token}).status_code == 403
    # Forms carry it in their hidden field; the route still reads its own fields.
    assert client.post("/console/probe/form", data={"note": "hi"}).status_code == 403
    assert client.post("/console/probe/form", data={"note": "hi", "csrf_token": "nope"}).status_code == 403
    posted = client.post("/console/probe/form", data={"note": "hi", "csrf_token": token})
    assert posted.status_code == 200 and posted.json() == {"note": "hi"}
    multipart = client.post("/console/probe/form", files={"x": ("a.txt", b"a")}, data={"csrf_token": token})
    assert multipart.status_code == 200
    # Reads need no token.
    assert client.get("/console/api/probe/me").status_code == 200


def test_another_sessions_token_does_not_fit(
    client: TestClient, other_client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    mine = log_in(client, new_account(db_factory))
    theirs = log_in(other_client, new_account(db_factory))
    assert other_client.post("/console/api/probe/change", headers={"X-CSRF-Token": mine}).status_code == 403
    assert other_client.post("/console/api/probe/change", headers={"X-CSRF-Token": theirs}).status_code == 200


@pytest.mark.parametrize(("role", "allowed"), [("agent", False), ("supervisor", True)])
def test_supervisor_routes_are_closed_to_agents(
    client: TestClient, db_factory: sessionmaker[Session], role: str, allowed: bool
) -> None:
    account = new_account(db_factory, role)
    token = log_in(client, account)
    api = client.post("/console/api/probe/supervise", headers={"X-CSRF-Token": token})
    page = client.get("/console/probe/reports")
    # Both roles may do what agents do.
    assert client.post("/console/api/probe/change", headers={"X-CSRF-Token": token}).status_code == 200
    if allowed:
        assert api.status_code == 200 and api.json() == {"supervised_by": account[0]}
        assert page.status_code == 200 and 'href="/console/reports"' in page.text
    else:
        assert api.status_code == page.status_code == 403
        # Without the CSRF token the answer is 403 as well, before the role is even looked at.
        assert client.post("/console/api/probe/supervise").status_code == 403
        assert 'href="/console/reports"' not in client.get("/console/probe/page").text


# -- throttling ------------------------------------------------------------------------------------------


def test_the_eleventh_wrong_password_in_a_minute_is_throttled(
    client: TestClient, other_client: TestClient, agent: tuple[str, str], db_factory: sessionmaker[Session]
) -> None:
    started = utcnow()
    for attempt in range(10):
        response = post_login(client, agent[0], f"guess-{attempt}-wrong")
        assert response.status_code == 401, (attempt, response.text)
    assert "paused" in response.text  # the tenth says what happens next
    eleventh = post_login(client, agent[0], f"guess-{attempt}-wrong")
    assert eleventh.status_code == 429
    assert 14 * 60 <= int(eleventh.headers["retry-after"]) <= 15 * 60
    assert "Too many failed logins" in eleventh.text
    # Locked means locked: the right password is refused too, and not even counted.
    assert post_login(client, *agent).status_code == 429
    assert utcnow() - started < timedelta(minutes=1)
    with session_scope(db_factory) as session:
        tries = session.scalar(select(func.count()).where(LoginAttempt.username == agent[0]))
    assert tries == 10
    locks = audit(db_factory, "login_locked", scope="username_at_client")
    (locked,) = [lock for lock in locks if str((lock.data or {})["key"]).startswith(f"{agent[0]}@")]
    assert locked.actor == "system:login_throttle" and locked.data is not None
    assert locked.data["failures"] == 10 and locked.at >= started
    # The name is locked from the guesser's address only: the agent at their own desk logs in.
    assert not audit(db_factory, "login_locked", scope="username", key=agent[0])
    assert post_login(other_client, *agent).status_code == 303


def test_a_guesser_cannot_lock_a_named_agent_out_for_everyone(
    app: FastAPI, agent: tuple[str, str], db_factory: sessionmaker[Session]
) -> None:
    """Guesses for one name from a few addresses: each address is stopped, the agent is not."""
    for _ in range(3):
        with client_for(app) as guesser:
            for attempt in range(10):
                assert post_login(guesser, agent[0], f"wrong-{attempt}").status_code == 401
            assert post_login(guesser, *agent).status_code == 429
    with client_for(app) as desk:
        assert post_login(desk, *agent).status_code == 303


def test_a_guesser_on_many_addresses_meets_the_names_softer_limit(db_session: Session) -> None:
    name, now = f"spread-{uuid.uuid4().hex[:8]}", utcnow()
    policy = throttle.ThrottlePolicy()
    (rule, *_) = policy.name_rules
    results = [
        throttle.begin_attempt(
            db_session, username=name, client_ip=fresh_ip(), now=now + timedelta(seconds=i), policy=policy
        )
        for i in range(rule.failures)
    ]
    # Ten a minute from one address lock that address; the name alone takes five times as many.
    assert rule.failures >= 5 * policy.rules[0].failures
    assert all(r.locked is None for r in results) and not any(r.would_lock for r in results[:-1])
    assert [lock.scope for lock in results[-1].would_lock] == ["username"]
    refused = throttle.begin_attempt(
        db_session, username=name, client_ip=fresh_ip(), now=now + timedelta(minutes=1), policy=policy
    )
    assert refused.locked is not None and refused.locked.scope == "username"


def test_one_address_trying_many_names_is_throttled(
    client: TestClient, other_client: TestClient, db_factory: sessionmaker[Session]
) -> None:
    for attempt in range(10):
        assert post_login(client, f"who-{uuid.uuid4().hex[:8]}", f"guess-{attempt}").status_code == 401
    assert post_login(client, f"who-{uuid.uuid4().hex[:8]}", "guess").status_code == 429
    # The same names from another address are fine: it is this address that is locked.
    account = new_account(db_factory)
    assert post_login(client, *account).status_code == 429
    assert post_login(other_client, *account).status_code == 303
    assert len(audit(db_factory, "login_locked", scope="client")) >= 1


def test_behind_the_proxy_each_shipper_address_is_counted_apart(
    app: FastAPI, agent: tuple[str, str], db_factory: sessionmaker[Session]
) -> None:
    """nginx on 127.0.0.1 forwards every login: the address it names is the one that is counted."""
    proxy = from_address(app, "127.0.0.1")
    guesser = {"X-Forwarded-For": fresh_ip()}
    with TestClient(proxy, follow_redirects=False, headers=guesser) as via_proxy:
        for attempt in range(10):
            assert post_login(via_proxy, f"who-{uuid.uuid4().hex[:8]}", f"g{attempt}").status_code == 401
        assert post_login(via_proxy, *agent).status_code == 429
    with TestClient(proxy, follow_redirects=False, headers={"X-Forwarded-For": fresh_ip()}) as colleague:
        assert post_login(colleague, *agent).status_code == 303
    (locked,) = audit(db_factory, "login_locked", scope="client", key=guesser["X-Forwarded-For"])
    assert locked.data is not None


def test_a_forwarded_address_from_anyone_but_the_proxy_is_not_believed(
    app: FastAPI, agent: tuple[str, str]
) -> None:
    with TestClient(from_address(app, fresh_ip()), follow_redirects=False) as direct:
        for attempt in range(10):
            direct.headers["X-Forwarded-For"] = fresh_ip()  # a new made-up address each time
            assert post_login(direct, f"who-{uuid.uuid4().hex[:8]}", f"g{attempt}").status_code == 401
        direct.headers["X-Forwarded-For"] = fresh_ip()
        assert post_login(direct, *agent).status_code == 429


def test_failures_slow_down_before_the_lock(db_url: str, seeded_today: date, agent: tuple[str, str]) -> None:
    app = build_app(db_url)
    app.dependency_overrides[get_throttle_policy] = lambda: throttle.ThrottlePolicy(
        delay_step_s=0.2, max_delay_s=0.4
    )
    with client_for(app) as c:
        timings = []
        for attempt in range(4):
            field, token = login_form(c)
            began = time.monotonic()
            c.post("/console/login", data={"username": agent[0], "password": f"x{attempt}", field: token})
            timings.append(time.monotonic() - began)
    # The third failure waits at least 0.2 s, the fourth at least 0.4 s (lower bounds only: how fast the
    # first answers depends on the machine, so no comparison between wall-clock times).
    assert timings[2] >= 0.2 and timings[3] >= 0.4


def test_the_hold_back_grows_with_failures_up_to_its_cap() -> None:
    policy = throttle.ThrottlePolicy(delay_step_s=0.2, max_delay_s=0.4)
    assert [policy.delay_for(n) for n in range(1, 6)] == [0.0, 0.0, 0.2, 0.4, 0.4]


def test_throttle_rules_over_time(db_session: Session) -> None:
    name, ip = f"t-{uuid.uuid4().hex[:8]}", fresh_ip()
    policy = throttle.ThrottlePolicy()
    now = utcnow()

    def attempt(at_s: float, *, ok: bool = False, who: str = name, where: str = ip) -> throttle.Attempt:
        result = throttle.begin_attempt(
            db_session, username=who, client_ip=where, now=now + timedelta(seconds=at_s), policy=policy
        )
        if result.attempt_id is not None:
            throttle.finish_attempt(db_session, result, success=ok)
        return result

    first = [attempt(i) for i in range(10)]
    assert [a.delay_s for a in first[:4]] == [0.0, 0.0, 0.25, 0.5] and first[-1].delay_s == 2.0
    assert [bool(a.would_lock) for a in first] == [False] * 9 + [True]
    assert {lock.scope for lock in first[-1].would_lock} == {"username_at_client", "client"}
    locked = attempt(30)
    assert locked.attempt_id is None and locked.locked is not None
    assert locked.locked.until == now + timedelta(seconds=9, minutes=15)
    # Fifteen minutes after the tenth failure the lock is over, and the old failures fell out of the minute.
    after = attempt(9 + 15 * 60 + 1)
    assert after.attempt_id is not None and not after.would_lock
    # A correct password clears the name's count...
    attempt(9 + 15 * 60 + 2, ok=True)
    other_ip = fresh_ip()
    for i in range(9):
        assert attempt(2000 + i, where=other_ip).locked is None
    assert {lock.scope for lock in attempt(2009, where=other_ip).would_lock} == {
        "username_at_client",
        "client",
    }
    # ...but not its address's: one good account must not let its owner keep guessing others.
    shared_ip, names = fresh_ip(), [f"n-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for i in range(9):
        attempt(3000 + i, who=names[0], where=shared_ip)
    attempt(3009, ok=True, who=names[1], where=shared_ip)
    last = attempt(3010, who=names[2], where=shared_ip)
    assert [lock.scope for lock in last.would_lock] == ["client"]


def test_twenty_failures_in_an_hour_lock_for_an_hour(db_session: Session) -> None:
    name, ip = f"slow-{uuid.uuid4().hex[:8]}", fresh_ip()
    now = utcnow()
    # Nine a minute, every six minutes: never ten in a minute, twenty within the hour.
    times = [now + timedelta(minutes=6 * (i // 9), seconds=i % 9) for i in range(20)]
    lock = None
    for at in times:
        result = throttle.begin_attempt(db_session, username=name, client_ip=ip, now=at)
        assert result.locked is None
        lock = result.would_lock
    assert lock and lock[0].until == times[-1] + timedelta(hours=1)
    assert throttle.begin_attempt(
        db_session, username=name, client_ip=ip, now=times[-1] + timedelta(minutes=59)
    ).locked
    # The same twenty from twenty addresses lock nothing: the name's own limit is softer.
    spread = f"spread-{uuid.uuid4().hex[:8]}"
    for at in times:
        assert not throttle.begin_attempt(
            db_session, username=spread, client_ip=fresh_ip(), now=at
        ).would_lock


def test_delays_grow_and_stop_growing() -> None:
    policy = throttle.ThrottlePolicy()
    assert [policy.delay_for(n) for n in range(1, 12)] == [
        0,
        0,
        0.25,
        0.5,
        0.75,
        1.0,
        1.25,
        1.5,
        1.75,
        2.0,
        2.0,
    ]


# -- sessions --------------------------------------------------------------------------------------------


def test_sessions_expire_when_idle_and_after_their_lifetime(
    db_session: Session, db_factory: sessionmaker[Session]
) -> None:
    name, _ = new_account(db_factory)
    agent = db_session.scalars(select(Agent).where(Agent.username == name)).one()
    policy = SessionPolicy(idle=timedelta(hours=2), lifetime=timedelta(hours=12))
    now = utcnow()
    token, row = start_session(
        db_session, agent=agent, client_ip="10.0.0.1", user_agent="pytest", now=now, policy=policy
    )
    assert row.expires_at == now + timedelta(hours=12)
    assert load_session(db_session, token, now=now + timedelta(minutes=119), policy=policy) is row
    # Kept alive by use: each visit moves the idle clock (at most once a minute).
    for hour in range(1, 12):
        assert load_session(db_session, token, now=now + timedelta(hours=hour), policy=policy) is row
    assert load_session(db_session, token, now=now + timedelta(hours=12), policy=policy) is None
    token2, _ = start_session(
        db_session, agent=agent, client_ip=None, user_agent=None, now=now, policy=policy
    )
    assert load_session(db_session, token2, now=now + timedelta(hours=2, seconds=1), policy=policy) is None
    assert load_session(db_session, "not-a-token", now=now, policy=policy) is None
    assert load_session(db_session, None, now=now, policy=policy) is None


# -- production ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"web_session_secret": "change-me-to-a-long-random-string"},
        {"web_session_secret": None},
        {"api_token": "change-me-to-a-long-random-string"},
        {"rasa_channel_secret": "change-me-to-a-long-random-string"},
        {"session_secret": "change-me-to-a-long-random-string"},
        {"session_secret": "change_me_to_a_long_random_string_2"},
        {"session_secret": "short"},
        {"rasa_token": "change-me-too"},
    ],
)
def test_production_refuses_placeholder_secrets(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="production"):
        Settings(_env_file=None, app_env="production", **{**REAL_SECRETS, **overrides})  # type: ignore[call-arg]


def test_production_backend_does_not_start_with_the_example_secret(
    monkeypatch: pytest.MonkeyPatch, db_url: str, seeded_today: date
) -> None:
    for name, value in {**REAL_SECRETS, "DATABASE_URL": db_url, "APP_ENV": "production"}.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("WEB_SESSION_SECRET", "change-me-to-a-long-random-string")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="WEB_SESSION_SECRET"), TestClient(create_app()):
            pass
    finally:
        get_settings.cache_clear()


def test_demo_logins_are_refused_in_production(
    db_url: str, seeded_today: date, db_factory: sessionmaker[Session]
) -> None:
    with session_scope(db_factory) as session:
        known = session.scalars(select(Agent).where(Agent.username == "demo")).one_or_none()
    password = "a-demo-password-for-this-test"
    if known is None:
        new_account(db_factory, "agent", username="demo")
    from backend.security.accounts import set_agent_password

    with session_scope(db_factory) as session:
        set_agent_password(session, username="demo", password=password)
    production = build_app(db_url, app_env="production", **REAL_SECRETS)
    with client_for(production, base_url="https://testserver") as c:
        assert post_login(c, "demo", password).status_code == 401
    with client_for(build_app(db_url)) as c:
        assert post_login(c, "demo", password).status_code == 303


def test_an_old_weaker_hash_is_redone_at_login(client: TestClient, db_factory: sessionmaker[Session]) -> None:
    from argon2 import PasswordHasher

    name, password = new_account(db_factory)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(password)
    with session_scope(db_factory) as session:
        session.scalars(select(Agent).where(Agent.username == name)).one().password_hash = weak
    assert post_login(client, name, password).status_code == 303
    with session_scope(db_factory) as session:
        stored = session.scalars(select(Agent.password_hash).where(Agent.username == name)).one()
    assert stored != weak and stored.startswith("$argon2id$") and "m=65536" in stored


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_api_docs_are_not_public_in_production(db_url: str, seeded_today: date, path: str) -> None:
    with client_for(build_app(db_url, app_env="production", **REAL_SECRETS)) as production:
        assert production.get(path).status_code == 404
    with client_for(build_app(db_url)) as development:
        assert development.get(path).status_code == 200
