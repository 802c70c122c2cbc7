"""The client address behind a proxy: X-Forwarded-For is believed only from TRUSTED_PROXIES."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from backend.config import Settings
from backend.security.addresses import client_address


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 5000)})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # nginx on the same machine names the shipper.
        ("127.0.0.1", ["203.0.113.7"], "127.0.0.1,::1", "203.0.113.7"),
        # Anyone else's header is ignored: a script cannot pick the address it is counted under.
        ("198.51.100.2", ["203.0.113.7"], "127.0.0.1,::1", "198.51.100.2"),
        # The client's own left-hand entries are not believed; the proxy's right-hand one is.
        ("127.0.0.1", ["1.2.3.4, 203.0.113.7"], "127.0.0.1", "203.0.113.7"),
        # Two proxies in a row (a balancer on 10.0.0.0/8, then nginx): the first address outside them.
        ("127.0.0.1", ["203.0.113.7, 10.1.2.3"], "127.0.0.1,10.0.0.0/8", "203.0.113.7"),
        ("127.0.0.1", ["203.0.113.7", "10.1.2.3"], "127.0.0.1,10.0.0.0/8", "203.0.113.7"),
        # A malformed entry stops the walk at the last good address.
        ("127.0.0.1", ["not-an-address"], "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.7, junk, 10.1.2.3"], "127.0.0.1,10.0.0.0/8", "10.1.2.3"),
        # No header: the peer.
        ("127.0.0.1", [], "127.0.0.1", "127.0.0.1"),
        ("::1", ["2001:db8::5"], "127.0.0.1,::1", "2001:db8::5"),
        ("192.0.2.9", ["203.0.113.7"], "*", "203.0.113.7"),
        ("192.0.2.9", ["203.0.113.7"], "", "192.0.2.9"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], trusted: str, expected: str) -> None:
    networks = Settings(trusted_proxies=trusted).proxy_networks
    assert client_address(_request(peer, *forwarded), networks) == expected


def test_the_default_trusts_the_proxy_on_this_machine_only() -> None:
    networks = Settings().proxy_networks
    assert client_address(_request("127.0.0.1", "203.0.113.7"), networks) == "203.0.113.7"
    assert client_address(_request("10.0.0.1", "203.0.113.7"), networks) == "10.0.0.1"


def test_a_malformed_trusted_proxies_setting_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="127.0.0.1,nginx")
