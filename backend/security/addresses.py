"""Who is asking: the client address of a request, believing X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.requests import HTTPConnection

UNKNOWN = "unknown"
Networks = Sequence[IPv4Network | IPv6Network] | None


def _trusted(address: str, networks: Networks) -> bool:
    if networks is None:  # TRUSTED_PROXIES=*
        return True
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(connection: HTTPConnection, networks: Networks) -> str:
    """The address to count a request against.

    The peer itself, unless it is a trusted proxy: then X-Forwarded-For is read from the right (each
    proxy appends the address it saw), skipping trusted proxies, and the first other address is the
    client. Entries further left were written by the client and could say anything. When uvicorn
    already resolved the header (--forwarded-allow-ips with the same list), the peer is the client
    and this changes nothing.
    """
    peer = connection.client.host if connection.client else UNKNOWN
    if not _trusted(peer, networks):
        return peer
    headers = connection.headers.getlist("x-forwarded-for")
    hops = [hop.strip() for value in headers for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            break  # a malformed entry: the last good one counts, never a made-up name
        client = hop
        if not _trusted(hop, networks):
            break
    return client
