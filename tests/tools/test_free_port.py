"""tools.stack.free_port: the test and bench stacks' ports never collide with each other or with outgoing
connections (a server that lost its port to one failed the production-profile tests' set-up)."""

from __future__ import annotations

import socket

from tools.stack import _ephemeral_start, free_port


def test_ports_are_distinct_bindable_and_below_the_outgoing_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 < port < _ephemeral_start() for port in ports)
    for port in ports[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_something_listens_on_is_never_given() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", free_port()))
        listening.listen()
        taken = listening.getsockname()[1]
        assert taken not in {free_port() for _ in range(300)}
