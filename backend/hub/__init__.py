"""The channels hub: the only router between shippers' channels, Rasa and agents (ARCHITECTURE.md).

`Hub` is loaded on first use, not with the package: the services import backend.hub.broker, and through
them so does the action server, which never runs a hub; loading hub.py would bring in its whole stack
(Starlette, AnyIO, httpx for the Rasa gateway) there for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.hub.records import Button, Inbound, InboundFile, Outbound

if TYPE_CHECKING:
    from backend.hub.hub import Hub

__all__ = ["Button", "Hub", "Inbound", "InboundFile", "Outbound"]


def __getattr__(name: str) -> Any:
    if name == "Hub":
        from backend.hub.hub import Hub

        return Hub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
