"""Starts and stops the three processes (Rasa, action server, backend) on one machine.

Used by `make run`, `make chat`, the end-to-end tests and the benchmark, so that all of them start
the product the same way. Runs in the application environment (.venv); Rasa runs from .venv-rasa.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy.engine import make_url

from backend.security.accounts import DEMO_ACCOUNTS
from tools.supervise import Supervisor, shielded_shutdown

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
APP_BIN = ROOT / ".venv" / "bin"
RASA_BIN = ROOT / ".venv-rasa" / "bin"
DEFAULT_MODEL = ROOT / "models" / "carrier.tar.gz"
# The budgets of the public doors (backend.security.limits), all set to 0 (off) in test stacks.
DOOR_LIMITS = (
    "LIMIT_SESSIONS_PER_ADDRESS_HOUR",
    "LIMIT_MESSAGES_PER_CONVERSATION_MINUTE",
    "LIMIT_MESSAGES_PER_ADDRESS_MINUTE",
    "LIMIT_UPLOADS_PER_CONVERSATION_DAY",
    "LIMIT_UPLOAD_MB_PER_CONVERSATION_DAY",
)
# How often `make run` looks for a process that died.
SUPERVISE_EVERY_S = 1.0
# The environment every Rasa command runs with: no telemetry (it would try to reach the internet),
# and quiet TensorFlow and SQLAlchemy deprecation banners.
RASA_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
# First on the Rasa server's PYTHONPATH: Python runs its sitecustomize.py at start-up, which keeps
# TensorFlow from importing jax and jaxlib (about 26 MiB per Rasa process; the file says why).
RASA_STARTUP = ROOT / "bot" / "startup"


def _ephemeral_start() -> int:
    """Where the kernel starts picking the local ports of outgoing connections (Linux: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_LISTEN_PORTS = range(20000, max(_ephemeral_start(), 20001))
_GIVEN: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for test and benchmark stacks).

    Taken below the kernel's range for outgoing connections, and never one this process gave before: a
    port the kernel hands out for `bind(0)` may become an outgoing connection's local port (Rasa's, the
    test's) or be handed out again before the server that was meant to listen on it starts, and that
    server then fails with "address already in use".
    """
    for _ in range(500):
        port = secrets.choice(_LISTEN_PORTS)
        if port in _GIVEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free TCP port on 127.0.0.1 below the ephemeral range")


def kill_group(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """Stops a child started in its own session, with everything it started."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def run_timed(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float) -> float:
    """Runs a command in its own process group, its output to log; returns the wall time in seconds."""
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            kill_group(process, grace=5)
    elapsed = time.monotonic() - started
    if returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{' '.join(argv[:3])} failed with {returncode} (log {log}):\n{tail}")
    return elapsed


def read_dotenv(path: Path = ROOT / ".env") -> dict[str, str]:
    """KEY=VALUE lines of .env (the process environment wins over them)."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def token(name: str, env: Mapping[str, str]) -> str:
    """A secret from the environment or .env, else the one kept in var/<name>, made once."""
    if env.get(name.upper()):
        value = env[name.upper()]
    else:
        path = VAR / name
        if not path.exists():
            VAR.mkdir(exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        value = path.read_text().strip()
    # make run writes the API token it uses, whichever source it came from (ARCHITECTURE.md).
    if name == "api_token":
        kept = VAR / "api_token"
        VAR.mkdir(exist_ok=True)
        kept.touch(mode=0o600)
        kept.chmod(0o600)  # a file made earlier with looser bits, too
        kept.write_text(value)
    return value


# Rasa's SQL tracker store, the same table, without the per-turn replay and row count (issue 17).
TRACKER_STORE_TYPE = "bot.stores.tracker.KeptSQLTrackerStore"


# The tracker store's pool per Rasa process on PostgreSQL (bot.stores.tracker's defaults when unset).
TRACKER_POOL_SETTINGS = {"TRACKER_POOL_SIZE": "pool_size", "TRACKER_MAX_OVERFLOW": "max_overflow"}


def tracker_store_config(url: str, env: Mapping[str, str] | None = None) -> dict[str, object]:
    """The tracker store section for a SQLAlchemy URL (SQLite file or PostgreSQL).

    On a server database the pool settings (TRACKER_POOL_SIZE, TRACKER_MAX_OVERFLOW) and the URL's
    query (`?sslmode=require`) go with it."""
    parsed = make_url(url)
    dialect = parsed.drivername.split("+", 1)[0]
    if dialect == "sqlite":
        return {"type": TRACKER_STORE_TYPE, "dialect": "sqlite", "db": parsed.database}
    config: dict[str, object] = {
        "type": TRACKER_STORE_TYPE,
        "dialect": dialect,
        "url": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "db": parsed.database,
    }
    if parsed.username:
        config["username"] = parsed.username
    if parsed.password:
        config["password"] = parsed.password
    if parsed.query:
        config["query"] = dict(parsed.query)
    for name, key in TRACKER_POOL_SETTINGS.items():
        if (env or {}).get(name):
            config[key] = int((env or {})[name])
    return config


def use_wal(tracker_url: str) -> Path | None:
    """Puts a SQLite tracker file in WAL journal mode before Rasa opens it; the file, or None if not SQLite.

    Rasa's SQL tracker store has no setting for connection pragmas, but the WAL mode is stored in the
    database file itself, so every connection Rasa opens later uses it: commits cost one fsync of the log
    instead of the journal and the database, and reading a conversation never waits for a write.
    """
    parsed = make_url(tracker_url)
    database = parsed.database
    if parsed.drivername.split("+", 1)[0] != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database)
    if not path.is_absolute():
        path = ROOT / path  # Rasa runs in the project root
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    return path


# What a Redis URL's query may carry for Rasa's RedisLockStore (redis-py's own names).
REDIS_LOCK_OPTIONS = ("ssl_certfile", "ssl_keyfile", "ssl_ca_certs", "key_prefix", "socket_timeout")


def lock_store_config(redis_url: str | None) -> dict[str, object]:
    """Rasa's lock store: in memory for one Rasa process, else Redis with all of REDIS_URL.

    `rediss://user:password@host:6380/2?key_prefix=carrier&ssl_ca_certs=/etc/ssl/ca.pem`: TLS from the
    scheme, the database number from the path, user, password and the query's options all reach Rasa.
    """
    if not redis_url:
        return {"type": "in_memory"}
    parsed = make_url(redis_url)
    if parsed.drivername not in ("redis", "rediss"):
        raise ValueError(f"REDIS_URL must start with redis:// or rediss://, not {parsed.drivername}://")
    host, port = parsed.host or "127.0.0.1", parsed.port or 6379
    lock: dict[str, object] = {"type": "redis", "url": host, "port": port}
    if parsed.database:
        lock["db"] = int(parsed.database)
    if parsed.username:
        lock["username"] = parsed.username
    if parsed.password:
        lock["password"] = parsed.password
    if parsed.drivername == "rediss":
        lock["use_ssl"] = True
    for name in REDIS_LOCK_OPTIONS:
        value = parsed.query.get(name)
        if isinstance(value, str):
            lock[name] = float(value) if name == "socket_timeout" else value
    return lock


def write_endpoints(
    path: Path,
    *,
    action_url: str,
    tracker_url: str,
    redis_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """The endpoints file Rasa is started with, from the same settings the backend reads.

    Written by a YAML library: a password with `#` or `: ` in it stays one string.
    """
    config = {
        "action_endpoint": {"url": f"{action_url}/webhook"},
        "tracker_store": tracker_store_config(tracker_url, env),
        "lock_store": lock_store_config(redis_url),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


# Rasa's tracker-store status route (bot.stores.failsafe): `GET /webhooks/tracker_store/`.
STATUS_CHANNEL = "bot.stores.failsafe.TrackerStoreStatusInput"


def write_credentials(path: Path, source: Path = ROOT / "credentials.yml") -> Path:
    """The channels Rasa is started with: credentials.yml's, plus the tracker store's status route.

    Registering that channel also makes a turn whose tracker store failed answer 503 instead of an
    empty 200 (bot/stores/failsafe.py).
    """
    channels = yaml.safe_load(source.read_text()) or {}
    channels.setdefault(STATUS_CHANNEL, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(channels, sort_keys=False))
    return path


@dataclass
class Stack:
    """One running copy of the product: ports, databases and the three child processes."""

    database_url: str
    tracker_url: str
    api_token: str
    rasa_token: str
    channel_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    web_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    model: Path = DEFAULT_MODEL
    backend_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    workdir: Path = VAR
    extra_env: dict[str, str] = field(default_factory=dict)
    # The public doors' budgets (LIMIT_* settings). Off for the tests' and the benchmark's stacks, which
    # send from one address faster than any person; make run keeps the defaults (or what is set).
    door_limits: bool = False
    # Behind a balancer (make run-prod): the backend reaches Rasa and Rasa the actions through its pools,
    # not this stack's own processes; the backend gets extra uvicorn arguments (proxy headers).
    rasa_pool_url: str | None = None
    actions_pool_url: str | None = None
    backend_args: tuple[str, ...] = ()
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def rest_headers(self) -> dict[str, str]:
        """What a tool sends to Rasa's REST channel: the channel secret."""
        return {"Authorization": f"Bearer {self.channel_secret}"}

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, **self.extra_env}
        if not self.door_limits:
            env.update({name: "0" for name in DOOR_LIMITS if name not in self.extra_env})
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=self.database_url,
            API_TOKEN=self.api_token,
            RASA_TOKEN=self.rasa_token,
            RASA_CHANNEL_SECRET=self.channel_secret,
            WEB_SESSION_SECRET=self.web_secret,
            RASA_URL=self.rasa_pool_url or self.rasa_url,
            ACTION_SERVER_URL=self.actions_pool_url or self.actions_url,
            SANIC_HOST="127.0.0.1",
            **RASA_ENV,
        )
        return env

    def prepare_database(self) -> None:
        """Migrates; outside production, seeds the demo carrier and the demo logins (all idempotent).

        The demo logins `demo` and `demo-supervisor` get random passwords in the workdir (var/ for make run).
        """
        env = self.env()
        if env.get("APP_ENV", "").strip().lower() == "production":
            # A production database gets the schema only: the demo carrier is not the carrier's data.
            subprocess.run([str(APP_BIN / "python"), "-m", "backend.migrate"], cwd=ROOT, env=env, check=True)
        else:
            subprocess.run([str(APP_BIN / "python"), "-m", "backend.seed"], cwd=ROOT, env=env, check=True)
            # The command refuses production by itself too (APP_ENV may come from .env alone).
            subprocess.run(
                [
                    str(APP_BIN / "python"),
                    "-m",
                    "backend",
                    "ensure-demo-agents",
                    "--var-dir",
                    str(self.workdir),
                ],
                cwd=ROOT,
                env=env,
                check=True,
            )

    def start_rasa(self) -> None:
        use_wal(self.tracker_url)
        endpoints = write_endpoints(
            self.workdir / "endpoints.yml",
            action_url=self.actions_pool_url or self.actions_url,
            tracker_url=self.tracker_url,
            redis_url=self.extra_env.get("REDIS_URL"),
            env=self.extra_env,
        )
        self._spawn(
            "rasa",
            [
                str(RASA_BIN / "rasa"),
                "run",
                "--enable-api",
                # One argument: a token that starts with "-" must not be read as an option.
                f"--auth-token={self.rasa_token}",
                "-i",
                "127.0.0.1",
                "-p",
                str(self.rasa_port),
                "-m",
                str(self.model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(write_credentials(self.workdir / "credentials.yml")),
            ],
        )

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [
                str(APP_BIN / "python"),
                "-m",
                "bot.action_server",
                "--actions",
                "bot.actions",
                "-p",
                str(self.actions_port),
            ],
        )

    def start_backend(self) -> None:
        self._spawn(
            "backend",
            [
                str(APP_BIN / "uvicorn"),
                "backend.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.backend_port),
                "--no-access-log",
                # No permessage-deflate on the widget's WebSocket: its frames are short JSON (a line of
                # chat, an ack) that compression barely shrinks, and it was about a tenth of a busy
                # backend's CPU in a profile of the load run.
                "--ws-per-message-deflate",
                "false",
                *self.backend_args,
            ],
        )

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start_actions()
        self.start_backend()
        self.start_rasa()

    def process_env(self, name: str) -> dict[str, str]:
        """The environment of one of the three processes: `env()`, and for Rasa its start-up hook."""
        env = self.env()
        if name == "rasa":
            env["PYTHONPATH"] = os.pathsep.join((str(RASA_STARTUP), env["PYTHONPATH"]))
        return env

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.process_env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self, timeout: float = 240.0) -> None:
        """Waits until /api/health says ok (Rasa loads its model last and slowest)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {self.workdir}/{name}.log"
                    )
            try:
                response = httpx.get(f"{self.backend_url}/api/health", timeout=3)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as error:
                last = str(error)
            time.sleep(1)
        raise TimeoutError(f"the stack did not become healthy in {timeout:.0f} s: {last}")

    @classmethod
    def throwaway(cls, workdir: Path, extra_env: dict[str, str] | None = None) -> Stack:
        """A copy of the product on free ports with its own SQLite files and secrets in `workdir` (the
        end-to-end tests, the screenshots), not yet started."""
        return cls(
            database_url=f"sqlite:///{workdir / 'app.db'}",
            tracker_url=f"sqlite:///{workdir / 'tracker.db'}",
            api_token=secrets.token_urlsafe(16),
            rasa_token=secrets.token_urlsafe(16),
            backend_port=free_port(),
            rasa_port=free_port(),
            actions_port=free_port(),
            workdir=workdir,
            extra_env=extra_env or {},
        )

    def start_seeded(self, timeout: float = 300.0) -> None:
        """Migrate and seed, start the three processes and wait until healthy (stopped again on failure)."""
        self.prepare_database()
        self.start()
        try:
            self.wait_healthy(timeout=timeout)
        except BaseException:
            self.stop()
            raise

    def supervisor(self) -> Supervisor:
        """Watches the running children; one that dies is started again the same way (make run)."""
        starts = {"rasa": self.start_rasa, "actions": self.start_actions, "backend": self.start_backend}
        supervisor = Supervisor()
        for name, process in self.processes.items():
            supervisor.add(name, self._restarter(name, starts[name]), process)
        return supervisor

    def _restarter(self, name: str, start: Callable[[], None]) -> Callable[[], subprocess.Popen[bytes]]:
        def restart() -> subprocess.Popen[bytes]:
            start()
            return self.processes[name]

        return restart

    def stop(self, names: tuple[str, ...] | None = None) -> None:
        for name in names or tuple(self.processes):
            process = self.processes.pop(name, None)
            if process is not None:
                kill_group(process)


PASSED_SETTINGS = frozenset(
    {
        "REDIS_URL",
        "TIMEZONE",
        "APP_ENV",
        "BUSINESS_HOURS_START",
        "BUSINESS_HOURS_END",
        "BUSINESS_DAYS",
        "UPLOAD_DIR",
        "UPLOAD_MAX_BYTES",
        "RASA_TIMEOUT_S",
        *TRACKER_POOL_SETTINGS,
    }
)


def stack_from_environment() -> Stack:
    """The default stack of `make run`: SQLite files under var/ unless the environment says otherwise."""
    env = {**read_dotenv(), **os.environ}
    return Stack(
        database_url=env.get("DATABASE_URL", f"sqlite:///{VAR / 'app.db'}"),
        tracker_url=env.get("TRACKER_DATABASE_URL", f"sqlite:///{VAR / 'rasa_tracker.db'}"),
        api_token=token("api_token", env),
        rasa_token=token("rasa_token", env),
        channel_secret=token("rasa_channel_secret", env),
        web_secret=token("web_session_secret", env),
        backend_port=int(env.get("BACKEND_PORT", 8000)),
        rasa_port=int(env.get("RASA_PORT", 5005)),
        actions_port=int(env.get("ACTIONS_PORT", 5055)),
        # Everything else of ours (Telegram, business hours, uploads, ...) reaches the backend as set.
        extra_env={
            k: v for k, v in env.items() if k in PASSED_SETTINGS or k.startswith(("TELEGRAM_", "LIMIT_"))
        },
        door_limits=True,
    )


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: stop like Ctrl-C does."""


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def telegram_line(env: Mapping[str, str]) -> str:
    """How Telegram is served, for the start-up banner (never the token)."""
    if not env.get("TELEGRAM_BOT_TOKEN"):
        return "off (set TELEGRAM_BOT_TOKEN to connect a bot)"
    mode = env.get("TELEGRAM_MODE") or "polling"
    if mode == "webhook":
        return f"webhook at {env.get('TELEGRAM_WEBHOOK_URL') or '/telegram/webhook'}"
    return mode


def start_banner(stack: Stack) -> str:
    """Where everything is, printed once `make run` is up: the widget, the console and its demo logins."""
    env = stack.env()
    console = f"{stack.backend_url}/console"
    lines = [
        "",
        "The carrier's customer service is up:",
        f"  web widget       {stack.backend_url}/  (the demo carrier page with the chat)",
        f"  agent console    {console}",
    ]
    if env.get("APP_ENV", "").strip().lower() != "production":
        # The demo logins exist outside production only (prepare_database made them).
        for account in DEMO_ACCOUNTS:
            where = stack.workdir / account.password_file
            shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
            login = f"{account.role:<10} log in as {account.username:<16} password in {shown}"
            lines.append(" " * 19 + login)
    lines += [
        f"  backend and API  {stack.backend_url}  (health: {stack.backend_url}/api/health)",
        f"  Telegram         {telegram_line(env)}",
        f"  Rasa REST        {stack.rasa_url}/webhooks/rest/webhook"
        "  (with the secret in var/rasa_channel_secret)",
        f"  action server    {stack.actions_url}",
        "  API token        in var/api_token",
        "  logs             var/*.log",
        "A process that dies is started again. Talk to the bot with `make chat` in another terminal. "
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def serve(bring_up: Callable[[], Supervisor], stop: Callable[[], None]) -> int:
    """Runs a launcher in the foreground (make run, make run-prod): `bring_up` starts the processes and
    returns their supervisor, which then keeps them up; Ctrl-C, SIGTERM or SIGHUP end it with `stop`."""
    # make forwards SIGTERM to this process; the children run in their own sessions, so only an
    # orderly stop here ends them.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    try:
        supervisor = bring_up()
        while True:
            time.sleep(SUPERVISE_EVERY_S)
            supervisor.check()
    except (KeyboardInterrupt, Stopped):
        return 0
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as error:
        print(f"start-up failed: {error}", file=sys.stderr)
        return 1
    finally:
        # A second signal (Ctrl-C again, a kill to the whole process group) must not cut the stop
        # short and leave servers running.
        with shielded_shutdown():
            stop()


def run_foreground() -> int:
    """`make run`: start everything, print the URLs, keep it up, stop everything on Ctrl-C or SIGTERM."""
    stack = stack_from_environment()

    def bring_up() -> Supervisor:
        stack.prepare_database()
        stack.start()
        stack.wait_healthy()
        print(start_banner(stack), flush=True)
        return stack.supervisor()

    return serve(bring_up, stack.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.parse_args(argv)
    return run_foreground()


if __name__ == "__main__":
    sys.exit(main())
