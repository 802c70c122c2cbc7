"""`make run-prod`: the production profile on one machine, behind nginx on http://127.0.0.1:8080.

PostgreSQL (tickets and Rasa's tracker store) and Redis (Rasa's lock store, live events across backends,
the door budgets) come from scripts/ensure-prod-services.sh; this launcher migrates the database (the
demo carrier only with `--seed-demo`), starts 2 backends (uvicorn trusting forwarded headers from the
proxy's address alone), 2 Rasa processes and 2 action servers, renders deploy/nginx.conf.j2 (checked
with `nginx -t`) and runs nginx in front of them, with APP_ENV=production. Every process is supervised
(tools/supervise.py: a dead one is started again with a back-off while the others keep serving) and a
SIGTERM to the launcher's process group stops them all. Rasa takes about 1 GB a process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jinja2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backend.channels.telegram import WEBHOOK_PATH
from tools.stack import PASSED_SETTINGS, ROOT, VAR, Stack, kill_group, read_dotenv, serve, token
from tools.supervise import Supervisor

PROD_DIR = VAR / "prod"
TEMPLATE = ROOT / "deploy" / "nginx.conf.j2"
SERVICES_ENV = PROD_DIR / "services.env"
DEFAULT_PORT = 8080
# The proxy's address: the only one whose X-Forwarded-For the backends believe.
PROXY_ADDRESS = "127.0.0.1"
# nginx's scratch directories, created before it starts (it does not create them itself as a worker).
NGINX_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# Settings passed to every process by their prefix (the durable turns' lease and sweep among them).
PASSED_PREFIXES = ("TELEGRAM_", "LIMIT_", "TRACKER_", "TURN_", "RASA_", "REDIS_KEY_", "UPLOAD_", "S3_")


def nginx_binary() -> str:
    """Debian's nginx (in /usr/sbin, not on an ordinary user's PATH)."""
    return shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Topology:
    """Where every process of the production profile listens (all on 127.0.0.1 but the public port)."""

    public_port: int = DEFAULT_PORT
    backends: list[int] = field(default_factory=lambda: [8101, 8102])
    rasa: list[int] = field(default_factory=lambda: [5101, 5102])
    actions: list[int] = field(default_factory=lambda: [5151, 5152])
    rasa_pool_port: int = 5100
    actions_pool_port: int = 5150
    public_host: str = "127.0.0.1"

    @property
    def public_url(self) -> str:
        return f"http://{self.public_host}:{self.public_port}"

    @property
    def rasa_pool_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_pool_port}"

    @property
    def actions_pool_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_pool_port}"

    def urls(self, ports: list[int]) -> str:
        return ",".join(f"http://127.0.0.1:{port}" for port in ports)

    @classmethod
    def free(cls) -> Topology:
        """Every port free and random (the end-to-end tests)."""
        from tools.stack import free_port

        return cls(
            public_port=free_port(),
            backends=[free_port(), free_port()],
            rasa=[free_port(), free_port()],
            actions=[free_port(), free_port()],
            rasa_pool_port=free_port(),
            actions_pool_port=free_port(),
        )


def _render(**values: object) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.from_string(TEMPLATE.read_text()).render(**values)


def render_nginx(
    topology: Topology,
    run_dir: Path,
    *,
    user: str | None,
    temp_dir: Path | None = None,
    max_body_mb: int = 16,
) -> str:
    """deploy/nginx.conf.j2 for this machine's processes."""
    return _render(
        workers=2,
        run_dir=str(run_dir),
        temp_dir=str(temp_dir or run_dir),
        foreground=True,
        user=user,
        upstream_options="max_fails=0",
        max_body_mb=max_body_mb,
        backends=[f"127.0.0.1:{port}" for port in topology.backends],
        rasa=[f"127.0.0.1:{port}" for port in topology.rasa],
        actions=[f"127.0.0.1:{port}" for port in topology.actions],
        listen=f"{topology.public_host}:{topology.public_port}",
        rasa_listen=f"127.0.0.1:{topology.rasa_pool_port}",
        actions_listen=f"127.0.0.1:{topology.actions_pool_port}",
        telegram_webhook_path=WEBHOOK_PATH,
    )


# deploy/compose.yml's nginx: the service names resolve to every replica (nginx reads them at start).
COMPOSE_NGINX = ROOT / "deploy" / "nginx.compose.conf"


def render_compose_nginx() -> str:
    """The same template for deploy/compose.yml (the official image runs it with `daemon off`)."""
    return _render(
        workers="auto",
        run_dir="/tmp",
        temp_dir="/tmp",
        foreground=False,
        user=None,
        upstream_options="max_fails=3 fail_timeout=10s",
        max_body_mb=16,
        backends=["backend:8000"],
        rasa=["rasa:5005"],
        actions=["actions:5055"],
        listen="0.0.0.0:8080",
        rasa_listen="0.0.0.0:5100",
        actions_listen="0.0.0.0:5150",
        telegram_webhook_path=WEBHOOK_PATH,
    )


def nginx_user() -> str | None:
    """The workers' user when nginx starts as root (never root itself); None otherwise (nginx keeps ours)."""
    if os.geteuid() != 0:
        return None
    return "nobody nogroup"


def write_nginx(topology: Topology, run_dir: Path) -> Path:
    """Renders the configuration into run_dir with its scratch directories, and checks it (`nginx -t`)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    user = nginx_user()
    temp_dir = run_dir
    if user is not None:
        # The workers (nobody) write request bodies there; var/prod and pytest's folders are root's
        # alone (mode 700), so the scratch space is a folder of nobody's own under /tmp.
        nobody = pwd.getpwnam("nobody")
        temp_dir = Path(tempfile.gettempdir()) / f"carrier-nginx-{topology.public_port}"
        temp_dir.mkdir(mode=0o700, exist_ok=True)
        os.chown(temp_dir, nobody.pw_uid, nobody.pw_gid)
    for name in NGINX_TEMP_DIRS:
        path = temp_dir / name
        path.mkdir(exist_ok=True)
        if user is not None:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    config = run_dir / "nginx.conf"
    config.write_text(render_nginx(topology, run_dir, user=user, temp_dir=temp_dir))
    check_nginx(config, run_dir)
    return config


def check_nginx(config: Path, run_dir: Path) -> None:
    """`nginx -t` on the file; RuntimeError with nginx's own words when it refuses it."""
    result = subprocess.run(
        [*nginx_command(config, run_dir), "-t", "-q"], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise RuntimeError(f"nginx refuses {config}:\n{result.stderr.strip()}")


def nginx_command(config: Path, run_dir: Path) -> list[str]:
    # -e: nginx opens its error log before it reads the configuration; the system's may not be ours.
    return [nginx_binary(), "-c", str(config), "-p", str(run_dir), "-e", str(run_dir / "nginx-error.log")]


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines written with bash's printf %q (scripts/ensure-prod-services.sh)."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                parts = shlex.split(value)
                values[key.strip()] = parts[0] if parts else ""
    return values


def open_connections(port: int) -> set[str]:
    """The peers (address:port, in /proc/net/tcp's hex) of the TCP connections a server on `port` has
    accepted and holds open (Linux). A new one while the server is frozen is a request in its hands."""
    peers = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                peers.add(fields[2])
    return peers


@dataclass
class Production:
    """The production profile's processes: one Stack per backend/Rasa/actions trio, and nginx."""

    topology: Topology
    settings: dict[str, str]
    workdir: Path = PROD_DIR
    seed_demo: bool = False
    door_limits: bool = True
    stacks: list[Stack] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None
    nginx_config: Path | None = None

    def __post_init__(self) -> None:
        t = self.topology
        pools = {
            "BACKEND_URLS": t.urls(t.backends),
            "RASA_URLS": t.urls(t.rasa),
            "ACTION_SERVER_URLS": t.urls(t.actions),
            "APP_ENV": "production",
        }
        # A forwarded address from anywhere but the proxy is not believed (uvicorn's own check).
        backend_args = ("--proxy-headers", "--forwarded-allow-ips", PROXY_ADDRESS)
        passed = {
            k: v for k, v in self.settings.items() if k in PASSED_SETTINGS or k.startswith(PASSED_PREFIXES)
        }
        for number, (backend, rasa, actions) in enumerate(zip(t.backends, t.rasa, t.actions, strict=True), 1):
            self.stacks.append(
                Stack(
                    database_url=self.settings["DATABASE_URL"],
                    tracker_url=self.settings["TRACKER_DATABASE_URL"],
                    api_token=self.settings["API_TOKEN"],
                    rasa_token=self.settings["RASA_TOKEN"],
                    channel_secret=self.settings["RASA_CHANNEL_SECRET"],
                    web_secret=self.settings["WEB_SESSION_SECRET"],
                    backend_port=backend,
                    rasa_port=rasa,
                    actions_port=actions,
                    workdir=self.workdir / str(number),
                    extra_env={**passed, **pools},
                    door_limits=self.door_limits,
                    rasa_pool_url=t.rasa_pool_url,
                    actions_pool_url=t.actions_pool_url,
                    backend_args=backend_args,
                )
            )

    @property
    def url(self) -> str:
        return self.topology.public_url

    def prepare_database(self) -> None:
        """Migrates (once, not per process); the demo carrier only when asked, never the demo logins."""
        first = self.stacks[0]
        first.workdir.mkdir(parents=True, exist_ok=True)
        first.prepare_database()  # APP_ENV=production: the schema only
        if self.seed_demo:
            env = {**first.env(), "APP_ENV": "development"}
            subprocess.run([sys.executable, "-m", "backend.seed"], cwd=ROOT, env=env, check=True)

    def start_nginx(self) -> subprocess.Popen[bytes]:
        run_dir = self.workdir / "nginx"
        self.nginx_config = write_nginx(self.topology, run_dir)
        log = open(run_dir / "nginx.out", "ab")  # noqa: SIM115 - the child keeps it open
        self.nginx = subprocess.Popen(
            nginx_command(self.nginx_config, run_dir),
            cwd=run_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.nginx

    def start(self) -> None:
        for stack in self.stacks:
            stack.workdir.mkdir(parents=True, exist_ok=True)
            stack.start_actions()
            stack.start_backend()
        # Rasa last: two models load at once on a small machine, each about 1 GB.
        for stack in self.stacks:
            stack.start_rasa()
        self.start_nginx()

    def wait_healthy(self, timeout: float = 400.0) -> dict[str, object]:
        """Waits until /api/health through nginx says ok for every process; returns its body."""
        deadline = time.monotonic() + timeout
        last: object = ""
        while time.monotonic() < deadline:
            for stack in self.stacks:
                for name, process in stack.processes.items():
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {process.returncode}; see {stack.workdir}/{name}.log"
                        )
            if self.nginx is not None and self.nginx.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.nginx.returncode}; see {self.workdir}/nginx/")
            try:
                response = httpx.get(f"{self.url}/api/health", timeout=5)
                body = response.json()
                if response.status_code == 200:
                    return dict(body)
                last = body
            except (httpx.HTTPError, ValueError) as error:
                last = str(error)
            time.sleep(1)
        raise TimeoutError(f"the production profile did not become healthy in {timeout:.0f} s: {last}")

    def supervisor(self) -> Supervisor:
        """Every process under one supervisor: `backend-1`, `rasa-2`, `nginx` ..."""
        supervisor = Supervisor()
        for number, stack in enumerate(self.stacks, 1):
            for name, child in stack.supervisor().children.items():
                assert child.process is not None
                supervisor.add(f"{name}-{number}", child.start, child.process)
        if self.nginx is not None:
            supervisor.add("nginx", self.start_nginx, self.nginx)
        return supervisor

    def process(self, name: str) -> subprocess.Popen[bytes]:
        """The running process called `name` in supervisor() (`backend-1`, `rasa-2`, `nginx` ...)."""
        if name == "nginx":
            assert self.nginx is not None, "nginx is not running"
            return self.nginx
        kind, _, number = name.rpartition("-")
        return self.stacks[int(number) - 1].processes[kind]

    def url_of(self, name: str) -> str:
        """Where the process called `name` listens (as /api/health lists it)."""
        kind, _, number = name.rpartition("-")
        t = self.topology
        ports = {"backend": t.backends, "rasa": t.rasa, "actions": t.actions}
        return f"http://127.0.0.1:{ports[kind][int(number) - 1]}"

    def kill(self, name: str, signum: int = signal.SIGKILL) -> int:
        """Sends `signum` (kill -9 by default) to the process group of `name`; returns its pid. A killed
        process is reaped here, and the supervisor (when one watches) starts it again."""
        process = self.process(name)
        os.killpg(process.pid, signum)
        if signum == signal.SIGKILL:
            process.wait(timeout=30)
        return process.pid

    def wait_back(self, name: str, old_pid: int, timeout: float = 240.0) -> float:
        """Waits until `name` runs under a new pid and /api/health (through nginx) lists it ok again;
        returns the seconds that took."""
        started = time.monotonic()
        deadline = started + timeout
        url, kind = self.url_of(name), name.rpartition("-")[0]
        listing = {"backend": "backends", "rasa": "rasa", "actions": "actions"}[kind]
        last: object = None
        while time.monotonic() < deadline:
            try:
                process = self.process(name)
            except KeyError:  # not started again yet
                process = None
            if process is not None and process.pid != old_pid and process.poll() is None:
                try:
                    body = httpx.get(f"{self.url}/api/health", timeout=5).json()
                    last = body.get(listing)
                    states = {entry["url"]: entry["state"] for entry in body.get(listing, [])}
                    if states.get(url) == "ok":
                        return time.monotonic() - started
                except (httpx.HTTPError, ValueError) as error:
                    last = str(error)
            time.sleep(0.5)
        raise TimeoutError(f"{name} did not come back in {timeout:.0f} s: {last}")

    def stop(self) -> None:
        # The door first: no new request reaches a process that is stopping.
        if self.nginx is not None:
            kill_group(self.nginx, grace=10)
            self.nginx = None
        for stack in self.stacks:
            stack.stop(("backend",) if "backend" in stack.processes else ())
        for stack in self.stacks:
            stack.stop()


@contextmanager
def throwaway_production(
    workdir: Path,
    *,
    postgres_url: str,
    redis_url: str,
    extra_env: Mapping[str, str] | None = None,
    seed_demo: bool = False,
    door_limits: bool = True,
) -> Iterator[Production]:
    """The production profile on free ports with two databases of its own on `postgres_url`'s server
    (dropped afterwards) and fresh secrets: the multi-process tests and `make loadtest`."""
    names = [f"carrier_{uuid.uuid4().hex[:10]}_{part}" for part in ("app", "tracker")]
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url)
    settings = {
        "DATABASE_URL": url.set(database=names[0]).render_as_string(hide_password=False),
        # Rasa's environment has psycopg2: the plain dialect, its default driver.
        "TRACKER_DATABASE_URL": url.set(drivername="postgresql", database=names[1]).render_as_string(
            hide_password=False
        ),
        "REDIS_URL": redis_url,
        "API_TOKEN": secrets.token_urlsafe(24),
        "RASA_TOKEN": secrets.token_hex(24),
        "RASA_CHANNEL_SECRET": secrets.token_urlsafe(24),
        "WEB_SESSION_SECRET": secrets.token_urlsafe(24),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "TELEGRAM_MODE": "off",
        **(extra_env or {}),
    }
    running = Production(
        Topology.free(), settings, workdir=workdir, seed_demo=seed_demo, door_limits=door_limits
    )
    try:
        running.prepare_database()
        running.start()
        running.wait_healthy(timeout=600)
        yield running
    finally:
        running.stop()
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_binary(name: str) -> str:
    """Debian's newest PostgreSQL program `name` (initdb, pg_ctl: not on PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError(
            f"no {name} under /usr/lib/postgresql (scripts/start-test-postgres.sh installs it)"
        )
    return str(found[-1])


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of one test's own (initdb into a scratch folder, on a free 127.0.0.1 port,
    trust for the local user `carrier`): it can be stopped and started again without touching the
    server the other tests share. As root, its programs run as the `postgres` user."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://carrier@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, check: bool = True) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=check, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            postgres_binary("initdb"),
            "-D",
            str(self.directory / "data"),
            "-U",
            "carrier",
            "--auth=trust",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            postgres_binary("pg_ctl"),
            "-D",
            str(self.directory / "data"),
            "-o",
            options,
            "-l",
            str(self.directory / "postgres.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(postgres_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started PrivatePostgres, removed afterwards."""
    from tools.stack import free_port

    directory = Path(tempfile.mkdtemp(prefix="carrier-pg-"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(directory, postgres.pw_uid, postgres.pw_gid)
    cluster = PrivatePostgres(directory, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def production_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings of make run-prod: .env, the environment, the services' file, and the secrets."""
    env = {**read_dotenv(), **read_env_file(SERVICES_ENV), **(environ if environ is not None else os.environ)}
    missing = [name for name in ("DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} unset: run scripts/ensure-prod-services.sh (make run-prod does)"
        )
    for name in ("api_token", "rasa_token", "rasa_channel_secret", "web_session_secret"):
        env[name.upper()] = token(name, env)
    return env


def banner(production: Production, health: Mapping[str, object]) -> str:
    t = production.topology
    return "\n".join(
        [
            "",
            "The production profile is up (APP_ENV=production):",
            f"  web widget and console  {production.url}/  and  {production.url}/console",
            f"  health                  {production.url}/api/health  ({health.get('status')})",
            f"  backends                {t.urls(t.backends)}  (uvicorn, proxy headers from {PROXY_ADDRESS})",
            f"  Rasa                    {t.urls(t.rasa)}  (pool {t.rasa_pool_url})",
            f"  action servers          {t.urls(t.actions)}  (pool {t.actions_pool_url})",
            f"  logs                    {production.workdir}/<n>/*.log, {production.workdir}/nginx/",
            "No demo logins here: make an agent with `python -m backend create-agent NAME --role agent`.",
            "A process that dies is started again; SIGTERM or Ctrl-C stops everything.",
        ]
    )


def run(seed_demo: bool) -> int:
    try:
        settings = production_settings()
    except RuntimeError as error:
        print(f"start-up failed: {error}", file=sys.stderr)
        return 1
    topology = Topology(public_port=int(settings.get("PROD_PORT") or DEFAULT_PORT))
    production = Production(topology, settings, seed_demo=seed_demo)

    def bring_up() -> Supervisor:
        production.prepare_database()
        production.start()
        print(banner(production, production.wait_healthy()), flush=True)
        # A process it starts again is recorded where stop() finds it (Stack.processes, self.nginx).
        return production.supervisor()

    return serve(bring_up, production.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run", "nginx-config"])
    parser.add_argument(
        "--seed-demo", action="store_true", help="load the demo carrier (never the demo logins)"
    )
    parser.add_argument("--compose", action="store_true", help="nginx-config: for deploy/compose.yml")
    args = parser.parse_args(argv)
    if args.command == "nginx-config":
        local = render_nginx(Topology(), PROD_DIR / "nginx", user=None)
        print(render_compose_nginx() if args.compose else local, end="")
        return 0
    return run(args.seed_demo)


if __name__ == "__main__":
    sys.exit(main())
