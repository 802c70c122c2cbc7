"""The channels hub: the only router between shippers' channels, Rasa and agents (ARCHITECTURE.md)."""

from backend.hub.hub import Hub
from backend.hub.records import Button, Inbound, InboundFile, Outbound

__all__ = ["Button", "Hub", "Inbound", "InboundFile", "Outbound"]
