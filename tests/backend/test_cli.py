"""`python -m backend`: create-agent and set-password read the password from stdin; the demo logins."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.__main__ import main
from backend.config import PROJECT_ROOT, get_settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.migrate import upgrade
from backend.models import Agent, AuditEvent, Customer
from backend.security.accounts import DEMO_ACCOUNTS
from backend.security.passwords import verify_password
from backend.security.sessions import load_session, start_session
from tools.stack import Stack

PASSWORD = "a-long-enough-password"


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A fresh migrated SQLite database of its own (the demo accounts must not leak into other tests)."""
    database = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(database)
    return database


@pytest.fixture
def factory(url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def development(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings from a clean development environment (a developer's .env must not decide)."""
    monkeypatch.setenv("APP_ENV", "development")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(url: str, *argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    return main(["--url", url, *argv], stdin=io.StringIO(stdin), stdout=out), out.getvalue()


def agents(factory: sessionmaker[Session]) -> dict[str, Agent]:
    with session_scope(factory) as session:
        return {a.username: a for a in session.scalars(select(Agent))}


def test_create_agent_reads_the_password_from_stdin(url: str, factory: sessionmaker[Session]) -> None:
    code, out = run(url, "create-agent", "Li.Wei", "--role", "agent", stdin=PASSWORD + "\n")
    assert code == 0 and "created agent 'li.wei'" in out
    code, _ = run(
        url, "create-agent", "zhang", "--role", "supervisor", "--display-name", "Zhang Min", stdin=PASSWORD
    )
    assert code == 0
    found = agents(factory)
    assert (found["li.wei"].role, found["li.wei"].display_name, found["li.wei"].active) == (
        "agent",
        "li.wei",
        True,
    )
    assert (found["zhang"].role, found["zhang"].display_name) == ("supervisor", "Zhang Min")
    assert found["li.wei"].password_hash.startswith("$argon2id$")
    assert verify_password(PASSWORD, found["li.wei"].password_hash)
    assert not verify_password(PASSWORD + "\n", found["li.wei"].password_hash)
    with session_scope(factory) as session:
        created = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "agent_created")))
    assert [(e.actor, e.agent_id) for e in created] == [
        ("system:cli", found["li.wei"].id),
        ("system:cli", found["zhang"].id),
    ]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (("create-agent", "li", "--role", "agent"), "", "empty"),
        (("create-agent", "li", "--role", "agent"), "\n", "empty"),
        (("create-agent", "li", "--role", "agent"), "   \n", "empty"),
        (("create-agent", "li", "--role", "agent"), "short-pass\n", "at least 12"),
        (("create-agent", "-bad name", "--role", "agent"), PASSWORD, "not a valid name"),
        (("create-agent", "x", "--role", "agent"), PASSWORD, "not a valid name"),
    ],
)
def test_bad_input_creates_nothing(
    url: str,
    factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    code, _ = run(url, *argv, stdin=stdin)
    assert code == 1
    assert message in capsys.readouterr().err
    assert agents(factory) == {}


def test_names_are_unique_and_roles_fixed(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(url, "create-agent", "li", "--role", "agent", stdin=PASSWORD)[0] == 0
    assert run(url, "create-agent", "LI", "--role", "supervisor", stdin=PASSWORD)[0] == 1
    assert "already an account" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        run(url, "create-agent", "wang", "--role", "admin", stdin=PASSWORD)
    assert usage.value.code == 2
    with pytest.raises(SystemExit):
        run(url, "create-agent", "wang", stdin=PASSWORD)  # --role is required


def test_set_password_replaces_the_hash_and_logs_out(url: str, factory: sessionmaker[Session]) -> None:
    run(url, "create-agent", "li", "--role", "agent", stdin=PASSWORD)
    with session_scope(factory) as session:
        agent = session.scalars(select(Agent)).one()
        token, _ = start_session(session, agent=agent, client_ip="10.0.0.1", user_agent=None)
    code, out = run(url, "set-password", "li", stdin="another-long-password\n")
    assert code == 0 and "sessions were ended" in out
    stored = agents(factory)["li"].password_hash
    assert verify_password("another-long-password", stored) and not verify_password(PASSWORD, stored)
    with session_scope(factory) as session:
        assert load_session(session, token) is None
    assert run(url, "set-password", "nobody", stdin=PASSWORD)[0] == 1
    assert run(url, "set-password", "li", stdin="short\n")[0] == 1


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_demo_agents_get_random_passwords_in_files_of_mode_600(
    url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    var = tmp_path / "var"
    code, out = run(url, "ensure-demo-agents", "--var-dir", str(var))
    assert code == 0
    assert "demo agent 'demo' created" in out and "demo supervisor 'demo-supervisor' created" in out
    found = agents(factory)
    passwords = {}
    for account in DEMO_ACCOUNTS:
        path = var / account.password_file
        assert mode(path) == 0o600
        passwords[account.username] = path.read_text()
        assert len(passwords[account.username]) >= 20
        assert found[account.username].role == account.role
        assert verify_password(passwords[account.username], found[account.username].password_hash)
    assert {p.name for p in var.iterdir()} == {"demo_agent_password", "demo_supervisor_password"}
    assert passwords["demo"] != passwords["demo-supervisor"]
    assert "demo-password" not in passwords.values()

    # Again: nothing changes (make run on every start).
    code, out = run(url, "ensure-demo-agents", "--var-dir", str(var))
    assert code == 0 and out.count(" kept:") == 2
    assert agents(factory)["demo"].password_hash == found["demo"].password_hash

    # A lost file means a new password, written to a new file.
    (var / "demo_agent_password").unlink()
    code, out = run(url, "ensure-demo-agents", "--var-dir", str(var))
    assert "demo agent 'demo' password reset" in out
    renewed = (var / "demo_agent_password").read_text()
    assert renewed != passwords["demo"] and mode(var / "demo_agent_password") == 0o600
    assert verify_password(renewed, agents(factory)["demo"].password_hash)

    # A file made readable by others is closed again when it is rewritten.
    (var / "demo_supervisor_password").write_text("not the password any more")
    os.chmod(var / "demo_supervisor_password", 0o644)
    run(url, "ensure-demo-agents", "--var-dir", str(var))
    assert mode(var / "demo_supervisor_password") == 0o600


def test_no_demo_agents_in_production(
    url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    for name in ("API_TOKEN", "RASA_CHANNEL_SECRET", "WEB_SESSION_SECRET", "RASA_TOKEN"):
        monkeypatch.setenv(name, f"{name.lower()}-a-real-secret-0123456789")
    get_settings.cache_clear()
    code, out = run(url, "ensure-demo-agents", "--var-dir", str(tmp_path / "var"))
    assert code == 0 and "no demo agents in production" in out
    assert agents(factory) == {}
    assert not (tmp_path / "var").exists()
    assert run(url, "create-agent", "demo", "--role", "agent", stdin=PASSWORD)[0] == 1
    assert agents(factory) == {}
    assert run(url, "create-agent", "li.wei", "--role", "agent", stdin=PASSWORD)[0] == 0


def test_python_dash_m_backend(url: str, factory: sessionmaker[Session]) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "APP_ENV": "development"}
    argv = [sys.executable, "-m", "backend", "--url", url, "create-agent", "chen", "--role", "supervisor"]
    done = subprocess.run(
        argv, input=PASSWORD + "\n", capture_output=True, text=True, env=env, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr
    assert agents(factory)["chen"].role == "supervisor"
    short = subprocess.run(
        [*argv[:-3], "wu", "--role", "agent"],
        input="1234\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )
    assert short.returncode == 1 and "at least 12" in short.stderr
    assert PASSWORD not in done.stdout + done.stderr


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_make_run_prepares_the_demo_logins_outside_production(tmp_path: Path, app_env: str) -> None:
    stack = Stack(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        api_token="an-api-token-for-this-test-0123",
        rasa_token="a-rasa-token-for-this-test-0123",
        workdir=tmp_path,
        extra_env={"APP_ENV": app_env},
    )
    stack.prepare_database()
    engine = make_engine(stack.database_url)
    try:
        names = set(agents(make_session_factory(engine)))
    finally:
        engine.dispose()
    if app_env == "production":
        assert names == set()
        assert not (tmp_path / "demo_agent_password").exists()
        # The schema is there, and none of the demo carrier's data.
        engine = make_engine(stack.database_url)
        try:
            with Session(engine) as session:
                assert session.scalar(select(func.count()).select_from(Customer)) == 0
        finally:
            engine.dispose()
    else:
        assert names == {"demo", "demo-supervisor"}
        assert mode(tmp_path / "demo_agent_password") == mode(tmp_path / "demo_supervisor_password") == 0o600
