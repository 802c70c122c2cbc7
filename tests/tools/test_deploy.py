"""The production profile's configuration: nginx's (rendered, `nginx -t`), the launcher's processes, and
deploy/compose.yml for several machines (parsed; every part has the settings it needs)."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.config import Settings
from tools.prod import (
    COMPOSE_NGINX,
    PROXY_ADDRESS,
    Production,
    Topology,
    check_nginx,
    nginx_binary,
    render_compose_nginx,
    write_nginx,
)
from tools.stack import ROOT, lock_store_config, tracker_store_config

COMPOSE = ROOT / "deploy" / "compose.yml"


def secret() -> str:
    return secrets.token_urlsafe(24)


def test_the_nginx_configuration_passes_nginx_t_and_routes_every_pool(tmp_path: Path) -> None:
    if shutil.which(nginx_binary()) is None:
        pytest.skip("nginx is not installed (scripts/ensure-test-services.sh)")
    topology = Topology.free()
    config = write_nginx(topology, tmp_path / "nginx")  # runs `nginx -t` on it
    text = config.read_text()
    for port in topology.backends + topology.rasa + topology.actions:
        assert f"server 127.0.0.1:{port} max_fails=0;" in text
    assert f"listen 127.0.0.1:{topology.public_port};" in text
    assert f"listen 127.0.0.1:{topology.rasa_pool_port};" in text
    assert f"listen 127.0.0.1:{topology.actions_pool_port};" in text
    # WebSocket upgrade, SSE unbuffered, the client's address replaced rather than appended.
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert "proxy_buffering off;" in text
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text
    assert "daemon off;" in text  # supervised in the foreground


def test_nginx_t_really_checks_the_file(tmp_path: Path) -> None:
    if shutil.which(nginx_binary()) is None:
        pytest.skip("nginx is not installed (scripts/ensure-test-services.sh)")
    config = write_nginx(Topology.free(), tmp_path / "nginx")
    config.write_text(config.read_text().replace("proxy_buffering off;", "proxy_buffering sideways;"))
    with pytest.raises(RuntimeError, match="proxy_buffering"):
        check_nginx(config, tmp_path / "nginx")


def production(tmp_path: Path) -> Production:
    settings = {
        "DATABASE_URL": "postgresql+psycopg://carrier:pw@127.0.0.1:5432/carrier",
        "TRACKER_DATABASE_URL": "postgresql://carrier:pw@127.0.0.1:5432/carrier_tracker",
        "REDIS_URL": "redis://127.0.0.1:6391/0",
        "TRACKER_POOL_SIZE": "4",
        "API_TOKEN": secret(),
        "RASA_TOKEN": secret(),
        "RASA_CHANNEL_SECRET": secret(),
        "WEB_SESSION_SECRET": secret(),
        "TELEGRAM_MODE": "off",
        "UNRELATED": "not passed",
    }
    return Production(Topology(), settings, workdir=tmp_path)


def test_the_launcher_starts_two_of_each_behind_the_pools_with_production_guards(tmp_path: Path) -> None:
    prod = production(tmp_path)
    assert len(prod.stacks) == 2
    assert len({(s.backend_port, s.rasa_port, s.actions_port) for s in prod.stacks}) == 2
    for stack in prod.stacks:
        env = stack.env()
        assert env["APP_ENV"] == "production"
        assert env["RASA_URL"] == prod.topology.rasa_pool_url  # every backend reaches every Rasa
        assert env["ACTION_SERVER_URL"] == prod.topology.actions_pool_url
        assert env["REDIS_URL"] == "redis://127.0.0.1:6391/0"
        assert env["BACKEND_URLS"].count("http://127.0.0.1:") == 2
        assert "UNRELATED" not in stack.extra_env
        assert stack.backend_args == ("--proxy-headers", "--forwarded-allow-ips", PROXY_ADDRESS)
        # The settings the backend will read are accepted in production (tokens, secrets, Telegram).
        Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    stack = prod.stacks[0]
    assert lock_store_config(stack.extra_env["REDIS_URL"])["type"] == "redis"
    tracker = tracker_store_config(stack.tracker_url, stack.extra_env)
    assert tracker["dialect"] == "postgresql" and tracker["pool_size"] == 4


def test_the_launcher_supervises_every_process_and_nginx(tmp_path: Path) -> None:
    prod = production(tmp_path)

    class Running:
        returncode = None

        def poll(self) -> None:
            return None

    for stack in prod.stacks:
        stack.processes = {name: Running() for name in ("rasa", "actions", "backend")}  # type: ignore[misc]
    prod.nginx = Running()  # type: ignore[assignment]
    names = set(prod.supervisor().children)
    assert names == {f"{kind}-{n}" for kind in ("backend", "rasa", "actions") for n in (1, 2)} | {"nginx"}


# -- deploy/compose.yml -------------------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{(\w+)(?::[?-]([^}]*))?\}")


def compose(values: dict[str, str]) -> dict[str, Any]:
    """The compose file as Docker Compose reads it: ${NAME:?message} and ${NAME:-default} filled in."""

    def fill(match: re.Match[str]) -> str:
        name, rest = match.group(1), match.group(0)
        if name in values:
            return values[name]
        if ":-" in rest:
            return match.group(2) or ""
        raise AssertionError(f"{name} is required by deploy/compose.yml and has no value")

    return dict(yaml.safe_load(VARIABLE.sub(fill, COMPOSE.read_text())))


REQUIRED = {
    "POSTGRES_PASSWORD": secrets.token_hex(12),
    "API_TOKEN": secrets.token_urlsafe(24),
    "RASA_TOKEN": secrets.token_urlsafe(24),
    "RASA_CHANNEL_SECRET": secrets.token_urlsafe(24),
    "WEB_SESSION_SECRET": secrets.token_urlsafe(24),
}


def test_the_compose_file_refuses_to_start_without_its_secrets() -> None:
    for name in REQUIRED:
        with pytest.raises(AssertionError, match=name):
            compose({k: v for k, v in REQUIRED.items() if k != name})


def test_every_application_part_has_the_settings_it_needs_and_they_pass_production_checks() -> None:
    services = compose(REQUIRED)["services"]
    for name in ("migrate", "backend", "actions"):
        env = services[name]["environment"]
        settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
        assert settings.app_env == "production"
        assert settings.database_url.startswith("postgresql+psycopg://carrier:")
        assert settings.database_url.endswith("@postgres:5432/carrier")
        assert settings.redis_url == "redis://redis:6379/0"
        assert set(settings.process_pools) == {"backends", "rasa", "actions"}
    rasa = services["rasa"]["environment"]
    for name in (
        "RASA_TOKEN",
        "RASA_CHANNEL_SECRET",
        "TRACKER_DATABASE_URL",
        "REDIS_URL",
        "ACTION_SERVER_URL",
    ):
        assert rasa.get(name), name
    assert tracker_store_config(rasa["TRACKER_DATABASE_URL"], rasa)["db"] == "carrier_tracker"
    assert tracker_store_config(rasa["TRACKER_DATABASE_URL"], rasa)["max_overflow"] == 5
    assert lock_store_config(rasa["REDIS_URL"]) == {"type": "redis", "url": "redis", "port": 6379, "db": 0}
    command = " ".join(services["rasa"]["command"])
    assert "write_endpoints" in command and "write_credentials" in command and "--auth-token" in command


def test_the_topology_matches_the_production_profile() -> None:
    services = compose(REQUIRED)["services"]
    for name in ("backend", "rasa", "actions"):
        assert services[name]["deploy"]["replicas"] >= 2, name
    for name, service in services.items():
        # A service manager of its own: Docker restarts what dies (the one-shot migration excepted).
        assert service["restart"] == ("no" if name == "migrate" else "unless-stopped"), name
        for needed in service.get("depends_on", {}):
            assert needed in services, (name, needed)
    backend = " ".join(services["backend"]["command"])
    assert "--proxy-headers" in backend and "--forwarded-allow-ips=" in backend
    assert "--forwarded-allow-ips=*" not in backend
    mounts = {m.split(":")[1]: m.split(":")[0] for m in services["nginx"]["volumes"]}
    assert (ROOT / "deploy" / Path(mounts["/etc/nginx/nginx.conf"])).resolve() == COMPOSE_NGINX
    init = services["postgres"]["volumes"][1].split(":")[0]
    assert "carrier_tracker" in (ROOT / "deploy" / init).read_text()
    assert services["backend"]["environment"]["UPLOAD_DIR"] in " ".join(services["backend"]["volumes"])


def test_the_compose_nginx_file_is_the_template_rendered_for_the_services() -> None:
    # Edit deploy/nginx.conf.j2, then: python -m tools.prod nginx-config --compose > deploy/nginx.compose.conf
    text = COMPOSE_NGINX.read_text()
    assert text == render_compose_nginx()
    for upstream in ("server backend:8000 ", "server rasa:5005 ", "server actions:5055 "):
        assert upstream in text
    assert "daemon off;" not in text  # the official image passes it on the command line


def test_make_run_prod_starts_the_services_then_the_launcher() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun-prod:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/ensure-prod-services.sh" in recipe and "-m tools.prod run" in recipe
    script = (ROOT / "scripts" / "ensure-prod-services.sh").read_text()
    assert "source scripts/services.sh" in script
    assert "source scripts/services.sh" in (ROOT / "scripts" / "ensure-test-services.sh").read_text()
