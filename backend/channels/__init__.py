"""The shippers' channels served by the backend: each module parses its wire format into the hub's
records (`Inbound`) and sends the hub's `Outbound` records back; nothing else knows a wire format."""
