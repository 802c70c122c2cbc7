"""The hub's kept-alive connections to Rasa are closed when the app shuts down, not left to the GC."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from backend.migrate import upgrade
from tests.backend.factories import settings_for


class FakeRasa(ThreadingHTTPServer):
    """Answers every POST with no bot messages on kept-alive HTTP/1.1; records when a client hangs up."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.opened = 0
        self.hung_up = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeRasa

    def setup(self) -> None:
        super().setup()
        self.server.opened += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps([]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def finish(self) -> None:
        # handle() returns when the client closed the connection (an empty read), never on its own:
        # every answer is kept alive.
        super().finish()
        self.server.hung_up.set()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    server = FakeRasa()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_kept_alive_connection_to_rasa_is_closed_when_the_app_stops(
    fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    host, port = fake_rasa.server_address[:2]
    app = create_app(settings_for(url, rasa_url=f"http://{host}:{port}"))
    with TestClient(app) as client:
        gateway = app.state.hub._rasa
        for _ in range(2):
            assert client.portal.call(gateway.send, "shutdown-test", "hello") == []
        assert fake_rasa.opened == 1  # both turns on one kept-alive connection
        assert not fake_rasa.hung_up.wait(0.3)  # and it stays open while the app runs
    # Rasa sees the hub hang up once the lifespan has ended.
    assert fake_rasa.hung_up.wait(5)
